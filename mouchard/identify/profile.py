"""A test phone's device profile: the honey values planted on it, read from YAML and checked once at start.

    device: {platform: android, name: Pixel test phone}
    identifiers: {advertising_id: 38400000-8cf0-11bd-b23e-10b96e40000d, idfv: ..., android_id: 9774d56d682e549c,
                  imei: "356938035643809", serial: ..., imsi: ..., wifi_mac: "02:00:5e:10:00:01",
                  bluetooth_mac: ..., ssid: ..., bssid: ..., phone: "+33612345678", email: ..., name: ...,
                  first_name: ..., last_name: ...}   # optional: the name's parts when it has more than two words
    location: {lat: 48.85837, lon: 2.29448, radius_m: 200}
    contacts: [Dominique Bernard, Claude Petit]

Any subset of these keys, exactly these names. A bad file, an unknown key or a malformed value is a one-line
`UserError`. `DeviceProfile.needles()` gives the values the leak detector searches for, keyed by kind.
`first_name` and `last_name` come together; they say how `name` splits ("Jean-Pierre" "de la Tour"), are not
needles of their own (a lone first name is not a leak, `mouchard.identify.names`) and give `name` when it is missing.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

from mouchard.errors import UserError

IDENTIFIER_KEYS = ("advertising_id", "idfv", "android_id", "imei", "serial", "imsi", "wifi_mac", "bluetooth_mac",
                   "ssid", "bssid", "phone", "email", "name", "first_name", "last_name")
NAME_PART_KEYS = ("first_name", "last_name")
TOP_KEYS = ("device", "identifiers", "location", "contacts")
DEVICE_KEYS = ("platform", "name")
LOCATION_KEYS = ("lat", "lon", "radius_m")
PLATFORMS = ("android", "ios")
DEFAULT_RADIUS_M = 200.0

_UUID = re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}\Z")
_MAC = re.compile(r"([0-9a-fA-F]{2}[:-]?){5}[0-9a-fA-F]{2}\Z|([0-9a-fA-F]{4}\.){2}[0-9a-fA-F]{4}\Z")


def _check_uuid(v: str) -> str | None:
    return None if _UUID.match(v) else "a UUID such as 38400000-8cf0-11bd-b23e-10b96e40000d"


def _check_android_id(v: str) -> str | None:
    return None if re.fullmatch(r"[0-9a-fA-F]{16}", v) else "16 hexadecimal characters"


def _check_imei(v: str) -> str | None:
    return None if re.fullmatch(r"\d{14,16}", v) else "14 to 16 digits (IMEI or IMEISV)"


def _check_imsi(v: str) -> str | None:
    return None if re.fullmatch(r"\d{6,15}", v) else "6 to 15 digits"


def _check_mac(v: str) -> str | None:
    return None if _MAC.match(v) else "a MAC address such as 02:00:5e:10:00:01"


def _check_phone(v: str) -> str | None:
    return None if re.fullmatch(r"\+[1-9]\d{6,14}", v) else "an E.164 number such as +33612345678 (no spaces)"


def _check_email(v: str) -> str | None:
    return None if re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", v) else "an email address"


def _check_text(v: str) -> str | None:
    return None if len(v.strip()) >= 4 else "at least 4 characters (shorter values match by chance)"


def _check_name_part(v: str) -> str | None:
    if len(v.strip()) < 2:
        return "at least 2 characters"
    return None if len(v) <= 100 and v.isprintable() else "one printable line of at most 100 characters"


CHECKS = {
    "advertising_id": _check_uuid, "idfv": _check_uuid, "android_id": _check_android_id, "imei": _check_imei,
    "serial": _check_text, "imsi": _check_imsi, "wifi_mac": _check_mac, "bluetooth_mac": _check_mac,
    "ssid": _check_text, "bssid": _check_mac, "phone": _check_phone, "email": _check_email, "name": _check_text,
    "first_name": _check_name_part, "last_name": _check_name_part,
}


@dataclass(frozen=True)
class Position:
    """The phone's planted position; anything within `radius_m` (or a rounding of it) counts as a leak."""

    lat: float
    lon: float
    radius_m: float = DEFAULT_RADIUS_M


@dataclass(frozen=True)
class DeviceProfile:
    """Honey values of one test device: identifiers by kind, a position, contact names."""

    platform: str | None = None
    device_name: str | None = None
    identifiers: tuple[tuple[str, str], ...] = ()  # (kind, value) in IDENTIFIER_KEYS order
    position: Position | None = None
    contacts: tuple[str, ...] = ()
    source: str | None = None  # the file it was read from

    def needles(self) -> dict[str, list[str]]:
        """Values to search for, by leak kind (`identifiers` keys, and `contact` for the contact names)."""
        found: dict[str, list[str]] = {kind: [value] for kind, value in self.identifiers
                                       if kind not in NAME_PART_KEYS}
        if self.contacts:
            found["contact"] = list(self.contacts)
        return found

    def name_parts(self) -> dict[str, list[tuple[str, str] | None]]:
        """The name's explicit parts ({"name": [(first, last)]}) for `LeakDetector(parts=...)`; {} when the
        profile lets the detector split the name itself."""
        values = dict(self.identifiers)
        if "first_name" in values and "last_name" in values:
            return {"name": [(values["first_name"], values["last_name"])]}
        return {}

    def value(self, kind: str) -> str | None:
        return dict(self.identifiers).get(kind)

    def as_data(self) -> dict:
        """The profile as the YAML mapping it is read from: `parse_profile(p.as_data())` equals `p` (its `source`
        aside). How the parsed object reaches mitmdump, another process (addons/api.py)."""
        data: dict = {}
        device = {key: value for key, value in (("platform", self.platform), ("name", self.device_name))
                  if value is not None}
        if device:
            data["device"] = device
        if self.identifiers:
            data["identifiers"] = dict(self.identifiers)
        if self.position is not None:
            data["location"] = {"lat": self.position.lat, "lon": self.position.lon,
                                "radius_m": self.position.radius_m}
        if self.contacts:
            data["contacts"] = list(self.contacts)
        return data

    def describe(self) -> dict:
        """What `crawls.config` records about the profile: which kinds were planted, never the values."""
        return {"platform": self.platform, "device": self.device_name, "kinds": [k for k, _ in self.identifiers],
                "location": self.position is not None, "contacts": len(self.contacts), "file": self.source}


def load_profile(path: str | Path) -> DeviceProfile:
    """Read and validate a device profile YAML file (raises UserError with one line on any problem)."""
    import yaml

    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read profile {file}: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise UserError(f"profile {file} is not valid YAML{where}: {getattr(exc, 'problem', None) or exc}") from None
    return parse_profile(data, source=str(file))


def parse_profile(data: object, source: str = "profile") -> DeviceProfile:
    """Validate already-parsed YAML data (a dict) into a DeviceProfile."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise UserError(f"{source}: expected a mapping with keys {', '.join(TOP_KEYS)}")
    _no_unknown(data, TOP_KEYS, source, "")
    device = _mapping(data.get("device"), source, "device")
    _no_unknown(device, DEVICE_KEYS, source, "device.")
    platform = device.get("platform")
    if platform is not None:
        platform = str(platform).strip().lower()
        if platform not in PLATFORMS:
            raise UserError(f"{source}: device.platform must be one of {', '.join(PLATFORMS)}, not {platform!r}")
    identifiers = _mapping(data.get("identifiers"), source, "identifiers")
    _no_unknown(identifiers, IDENTIFIER_KEYS, source, "identifiers.")
    pairs = []
    for key in IDENTIFIER_KEYS:
        if identifiers.get(key) is None:
            continue
        value = identifiers[key]
        if isinstance(value, bool) or not isinstance(value, (str, int)) or (key == "phone" and isinstance(value, int)):
            # YAML reads +33612345678 as a number and drops the "+": only quotes keep a value as written
            raise UserError(f"{source}: identifiers.{key} must be text (put it in quotes), not {value!r}")
        value = str(value).strip()
        problem = CHECKS[key](value)
        if problem:
            raise UserError(f"{source}: identifiers.{key} must be {problem}, not {value!r}")
        pairs.append((key, value))
    pairs = _name_parts(pairs, source)
    position = _position(data.get("location"), source)
    contacts = data.get("contacts") or []
    if not isinstance(contacts, list) or not all(isinstance(c, str) and c.strip() for c in contacts):
        raise UserError(f"{source}: contacts must be a list of names, e.g. [Dominique Bernard, Claude Petit]")
    for contact in contacts:
        if _check_text(contact):
            raise UserError(f"{source}: contact {contact!r} is too short (at least 4 characters)")
    name = device.get("name")
    return DeviceProfile(platform, str(name) if name is not None else None, tuple(pairs), position,
                         tuple(c.strip() for c in contacts), source)


def _name_parts(pairs: list[tuple[str, str]], source: str) -> list[tuple[str, str]]:
    """first_name and last_name together or not at all; they give `name` when it is missing."""
    values = dict(pairs)
    given = [k for k in NAME_PART_KEYS if k in values]
    if len(given) == 1:
        other = NAME_PART_KEYS[1 - NAME_PART_KEYS.index(given[0])]
        raise UserError(f"{source}: identifiers.{given[0]} needs identifiers.{other} too (both parts, or neither)")
    if given and "name" not in values:
        whole = f"{values['first_name']} {values['last_name']}"
        at = next(i for i, (k, _) in enumerate(pairs) if k in NAME_PART_KEYS)
        pairs = pairs[:at] + [("name", whole)] + pairs[at:]
    return pairs


def _mapping(value: object, source: str, key: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise UserError(f"{source}: {key} must be a mapping (key: value), not {type(value).__name__}")
    return value


def _no_unknown(data: dict, allowed: tuple[str, ...], source: str, prefix: str) -> None:
    for key in data:
        if key not in allowed:
            raise UserError(f"{source}: unknown key {prefix}{key} (allowed: {', '.join(allowed)})")


def _position(value: object, source: str) -> Position | None:
    loc = _mapping(value, source, "location")
    if not loc:
        return None
    _no_unknown(loc, LOCATION_KEYS, source, "location.")
    numbers = {}
    for key, low, high in (("lat", -90, 90), ("lon", -180, 180), ("radius_m", 1, 100_000)):
        raw = loc.get(key, DEFAULT_RADIUS_M if key == "radius_m" else None)
        if raw is None:
            raise UserError(f"{source}: location.{key} is missing (location needs lat and lon)")
        if isinstance(raw, bool) or not isinstance(raw, (int, float)) or math.isnan(raw) or not low <= raw <= high:
            raise UserError(f"{source}: location.{key} must be a number between {low} and {high}, not {raw!r}")
        numbers[key] = float(raw)
    return Position(numbers["lat"], numbers["lon"], numbers["radius_m"])
