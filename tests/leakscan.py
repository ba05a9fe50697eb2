"""Re-scan a capture database for a device profile's planted values: the check that nothing found was kept in clear.

    from leakscan import assert_no_planted_values, planted_findings
    checked = assert_no_planted_values(db_path, profile)      # AssertionError naming table, column, row and kind
    findings = planted_findings(db_path, profile)             # [Finding(...)] without asserting

Every text (and blob) column of every table of the database is read, including full-text-search shadow tables
(they hold copies of text), and each value is searched three ways:

1. `LeakDetector.spans`: every planted value in every precomputed wire encoding (case, URL-encoding once and twice,
   JSON escapes, hex, base64 in all alignments, hashes one and two layers deep) and every number near the planted
   position (rounded or truncated to 2 decimals and more, micro-degrees, E7);
2. `LeakDetector.scan_value`: the full decoder on the value (URL-encoded JSON, base64 of JSON, JSON in JSON strings,
   gzip in base64, JWT payloads, forms...), so a value hidden one layer down is found too;
3. an independent literal check that does not trust the detector: each identifier as planted, lower-cased and
   without separators, and the latitude and the longitude rounded and truncated to 3-7 decimals, as plain
   substrings — a position only when both are in the same value (a lone coordinate is not the position: a decoy
   2 km due north shares the longitude, a timestamp's seconds may read like a latitude's first digits).

Checks 1 and 3 also run on the value %-decoded once, twice and three times (`%2244.841225` hides a latitude from
any regex until decoded). Numbers are not searched as text (an id of 48 is not a latitude), but every row of a
table with numeric `lat` and `lon` columns must lie farther than the profile's radius from the position.

Signature kept stable for other test files (the SDK harness reuses it): `assert_no_planted_values(db, profile)`.
"""

from __future__ import annotations

import math
import re
import sqlite3
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from mouchard.identify.leakdetect import LeakDetector
from mouchard.identify.profile import DeviceProfile, load_profile
from mouchard.storage.store import readonly_uri


@dataclass(frozen=True)
class Finding:
    """One planted value found in one stored value (never the value itself beyond a short excerpt)."""

    table: str
    column: str
    rowid: int | None
    kind: str
    how: str  # "spans", "decoded:<chain>" or "literal:<form>"
    excerpt: str


def _profile(profile: DeviceProfile | str | Path) -> DeviceProfile:
    return profile if isinstance(profile, DeviceProfile) else load_profile(profile)


def _literals(profile: DeviceProfile) -> list[tuple[str, re.Pattern]]:
    """(kind, pattern) of simple written forms, searched in lower-cased text without the detector."""
    out: list[tuple[str, re.Pattern]] = []
    for kind, values in profile.needles().items():
        for value in values:
            forms = {value.lower(), re.sub(r"[-:.\s]", "", value.lower())}
            for form in forms:
                if len(form) >= 6:
                    edge = r"\d" if form.isdigit() else r"[0-9a-z]"
                    out.append((kind, re.compile(rf"(?<!{edge}){re.escape(form)}(?!{edge})")))
    position = profile.position
    if position is not None:
        for value in (position.lat, position.lon):
            forms = set()
            for decimals in range(3, 8):
                scale = 10 ** decimals
                forms.add(f"{round(value, decimals):.{decimals}f}")
                forms.add(f"{math.trunc(value * scale) / scale:.{decimals}f}")
            axis = "location:lat" if value == position.lat else "location:lon"
            for form in forms:
                out.append((axis, re.compile(rf"(?<![\d.:]){re.escape(form)}(?!\d)")))
    return out


def planted_findings(db: str | Path, profile: DeviceProfile | str | Path, *,
                     detector: LeakDetector | None = None) -> tuple[list[Finding], int]:
    """(findings, number of values checked) for every text or blob value of every table of `db`."""
    profile = _profile(profile)
    detector = detector or LeakDetector.for_profile(profile)
    literals = _literals(profile)
    findings: list[Finding] = []
    checked = 0
    con = sqlite3.connect(readonly_uri(db), uri=True)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                            "AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        for table in tables:
            quoted = '"' + table.replace('"', '""') + '"'
            try:
                cursor = con.execute(f"SELECT rowid, * FROM {quoted}")
                columns = [d[0] for d in cursor.description][1:]
            except sqlite3.OperationalError:  # a virtual table without rowid
                cursor = con.execute(f"SELECT NULL, * FROM {quoted}")
                columns = [d[0] for d in cursor.description][1:]
            pair = ("lat" in columns and "lon" in columns and profile.position is not None)
            for rowid, *values in cursor:
                if pair:
                    findings.extend(_map_position(profile, table, rowid, dict(zip(columns, values))))
                for column, value in zip(columns, values):
                    if isinstance(value, bytes):
                        value = value.decode("utf-8", "surrogateescape")
                    if not isinstance(value, str) or not value:
                        continue
                    checked += 1
                    findings.extend(_search(detector, literals, table, column, rowid, value))
    finally:
        con.close()
    return findings, checked


def _map_position(profile: DeviceProfile, table: str, rowid, row: dict) -> list[Finding]:
    """A numeric lat/lon pair within the profile's radius is the position itself, whatever its rounding."""
    from mouchard.identify.location import distance_m

    lat, lon = row["lat"], row["lon"]
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (lat, lon)):
        return []
    position = profile.position
    if distance_m(lat, lon, position.lat, position.lon) > position.radius_m:
        return []
    return [Finding(table, "lat,lon", rowid, "location", "map-position", f"{lat},{lon}")]


def _unquoted(value: str, times: int = 3) -> list[str]:
    """`value` and its %-decodings (a lone latitude behind `%22` is not a number to a regex until decoded)."""
    out = [value]
    for _ in range(times):
        decoded = urllib.parse.unquote(out[-1])
        if decoded == out[-1]:
            break
        out.append(decoded)
    return out


def _search(detector: LeakDetector, literals, table: str, column: str, rowid, value: str) -> list[Finding]:
    found = []
    excerpt = value[:160]
    for match in detector.scan_value(value, "stored", column):
        found.append(Finding(table, column, rowid, match.kind, f"decoded:{match.chain}", excerpt))
    for depth, text in enumerate(_unquoted(value)):
        layer = f"urlencode*{depth}:" if depth else ""
        # A position is a latitude and a longitude together: a lone coordinate is not it (a decoy 2 km due north
        # shares the planted longitude; "07:24:44.841Z" holds a latitude's first digits).
        places = set()
        for start, end, kind in detector.spans(text):
            if kind == "location":
                places.add(text[start:end])
            else:
                found.append(Finding(table, column, rowid, kind, f"{layer}spans", excerpt))
        if len(places) >= 2:
            found.append(Finding(table, column, rowid, "location", f"{layer}spans:{len(places)}", excerpt))
        lower = text.lower()
        axes = set()
        for kind, pattern in literals:
            if pattern.search(lower):
                if kind.startswith("location:"):
                    axes.add(kind)
                else:
                    found.append(Finding(table, column, rowid, kind, f"{layer}literal:{pattern.pattern}", excerpt))
        if axes == {"location:lat", "location:lon"}:
            found.append(Finding(table, column, rowid, "location", f"{layer}literal:lat+lon", excerpt))
    return found


def assert_no_planted_values(db: str | Path, profile: DeviceProfile | str | Path, *, min_checked: int = 1) -> int:
    """Fail (naming table, column, row, kind and how) if any stored value holds a planted value in any encoding;
    return how many values were checked (at least `min_checked`, so an empty database cannot pass by accident)."""
    findings, checked = planted_findings(db, profile)
    assert not findings, "planted values stored in clear:\n" + "\n".join(
        f"  {f.table}.{f.column} row {f.rowid}: {f.kind} ({f.how}) in {f.excerpt!r}" for f in findings[:20])
    assert checked >= min_checked, f"only {checked} stored values checked (expected at least {min_checked})"
    return checked
