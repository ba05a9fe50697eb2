"""The SDK matrix's planted values (tests/data/profiles/sdk.yml) and their near-miss decoys, as drivers read them.

    python -m tests.sdks.values OUT.json   # what every driver gets as its first argument

JSON shape (shared with the Node drivers, keep it stable):

    {"kinds": ["advertising_id", ...],
     "planted": {"advertising_id": "...", "android_id": "...", "email": "...", "phone": "+33...",
                 "name": "Hélène Dupont", "first_name": "Hélène", "last_name": "Dupont",
                 "location": {"lat": 44.841225, "lon": -0.570431}},
     "decoy": {same keys, near-miss values}}

A driver run for case `email` sends `planted["email"]` only; case `decoy` sends only `decoy` values. The decoys
are what a careless matcher confuses with the planted values: one phone digit changed, the e-mail with
another surname, a position 2 km north (same longitude), a name one letter off, identifiers a digit off.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

from mouchard.identify.profile import DeviceProfile, load_profile

ROOT = Path(__file__).resolve().parents[2]
PROFILE_PATH = ROOT / "tests" / "data" / "profiles" / "sdk.yml"
# The kinds a driver can be asked for, besides "decoy" (profile keys; `location` is the position).
KINDS = ("advertising_id", "android_id", "email", "phone", "name", "location")
DECOY_SHIFT_M = 2000.0  # how far north the decoy position is: well outside the profile's radius


def _split(name: str) -> tuple[str, str]:
    first, _, last = name.partition(" ")
    return first, last


def decoys() -> dict:
    """Near misses of every planted kind (see the module docstring)."""
    first, last = "Hélène", "Dupond"
    lat, lon = 44.841225 + DECOY_SHIFT_M / 111_320.0, -0.570431
    return {"advertising_id": "5f1c9a7e-3b2d-4e8f-9a61-c4d7e2b8f031", "android_id": "a3f9c2e71b4d8e60",
            "email": "Jean.Durand+news@gmail.com", "phone": "+33687412958", "name": f"{first} {last}",
            "first_name": first, "last_name": last, "location": {"lat": round(lat, 6), "lon": lon}}


def planted(profile: DeviceProfile | None = None) -> dict:
    """The profile's values by kind, the name also split in two, the position as {"lat", "lon"}."""
    profile = profile or load_profile(PROFILE_PATH)
    values: dict = {kind: profile.value(kind) for kind in KINDS if profile.value(kind)}
    values["first_name"], values["last_name"] = _split(values["name"])
    assert profile.position is not None
    values["location"] = {"lat": profile.position.lat, "lon": profile.position.lon}
    return values


def distance_m(a: dict, b: dict) -> float:
    """Great-circle distance between two {"lat", "lon"} points (haversine), in metres."""
    p1, p2 = math.radians(a["lat"]), math.radians(b["lat"])
    dp, dl = p2 - p1, math.radians(b["lon"] - a["lon"])
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_000 * math.asin(math.sqrt(h))


def values() -> dict:
    """Everything a driver needs (the JSON document of the module docstring)."""
    return {"kinds": list(KINDS), "planted": planted(), "decoy": decoys()}


def export(path: Path) -> Path:
    """Write the drivers' JSON document to `path`."""
    path.write_text(json.dumps(values(), ensure_ascii=False, indent=1), encoding="utf-8")
    return path


if __name__ == "__main__":
    export(Path(sys.argv[1]))
