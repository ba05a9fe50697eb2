"""Find a planted position in text: a latitude and a longitude near each other, however they were written.

A pair counts when both numbers are within the profile's radius of the true position, or are the true position
rounded or truncated at their own number of decimals (1 to 7 and beyond), in either order (swapped), with a
decimal point or a decimal comma, or as integer micro-degrees (×1e6) or ×1e7 (Google's E7). Geohashes of the
true position (7 to 9 characters) are needles of the multi-pattern search instead (see `geohash`).
Far-away coordinates and lone numbers never count: the two halves must sit within `WINDOW` characters.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass

from mouchard.budget import Budget
from mouchard.identify.profile import Position

WINDOW = 96  # characters between the latitude and the longitude of one pair
ROUGH_DEGREES = 0.2  # above any slack `_near` allows (a radius of a few km, or 0.1 for one decimal)
EARTH_M = 6_371_008.8
# Not after "digit:" — the seconds of a time ("07:24:44.841Z") are not a coordinate; JSON's "lat":44.8 has a quote
# before its colon.
_DECIMAL = re.compile(r"(?<![\d.])(?<!\d:)(-?)(\d{1,3})([.,])(\d{1,16})(?![\d])")
_INTEGER = re.compile(r"(?<![\d.,])(-?\d{7,10})(?![\d.])")
# the key before a number: "lat": 44.8, "lat":"44.8" (a number sent as a string), \"lat\":\"44.8 (JSON in a
# JSON string), lat=44.8, <lat>44.8
_FIELD = re.compile(r"(?:\\?\"([^\"\\]{1,40})\\?\"\s*:\s*\[?\s*(?:\\?\")?|([\w.\[\]-]{1,40})=|<([\w:-]{1,40})>)\Z")
_GEOHASH_ALPHABET = "0123456789bcdefghjkmnpqrstuvwxyz"


@dataclass(frozen=True)
class Coordinate:
    """One number in text that could be half of the position."""

    offset: int
    value: float
    form: str  # "decimals:N", "microdegrees", "e7"
    comma: bool
    is_lat: bool
    is_lon: bool
    field: str | None


@dataclass(frozen=True)
class PositionHit:
    """A latitude/longitude pair found in text; `chain` says how it was written; never the numbers themselves."""

    chain: str
    field: str | None
    precision_m: float
    start: int
    end: int


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_M * math.asin(min(1.0, math.sqrt(a)))


def geohash(lat: float, lon: float, length: int) -> str:
    """Standard geohash of a point (base32, interleaved longitude/latitude bits)."""
    lat_range, lon_range = [-90.0, 90.0], [-180.0, 180.0]
    out, bits, ch, even = [], 0, 0, True
    while len(out) < length:
        rng, value = (lon_range, lon) if even else (lat_range, lat)
        mid = (rng[0] + rng[1]) / 2
        ch <<= 1
        if value >= mid:
            ch |= 1
            rng[0] = mid
        else:
            rng[1] = mid
        even = not even
        bits += 1
        if bits == 5:
            out.append(_GEOHASH_ALPHABET[ch])
            bits, ch = 0, 0
    return "".join(out)


GEOHASH_CELL_M = {7: 110.0, 8: 27.0, 9: 3.5}  # about half the diagonal of a cell


class PositionFinder:
    """Searches text for the pairs described in the module docstring."""

    def __init__(self, position: Position):
        self.position = position
        self.lat_radius = position.radius_m / 111_320.0
        self.lon_radius = position.radius_m / (111_320.0 * max(0.01, math.cos(math.radians(position.lat))))
        # Every written form of a coordinate starts with its integer degrees: a cheap filter before the regexes.
        self._degrees = (str(int(abs(position.lat))), str(int(abs(position.lon))))

    def might_hold(self, text: str) -> bool:
        """Whether `text` holds the integer degrees of the latitude or the longitude (a cheap filter)."""
        return self._degrees[0] in text or self._degrees[1] in text

    def roughly(self, value: float) -> tuple[bool, bool]:
        """(could be the latitude, could be the longitude): `value` in degrees, micro-degrees or 1e-7 degrees
        within ROUGH_DEGREES of the position; a cheap filter on numbers already parsed (JSON leaves)."""
        lat = lon = False
        for scaled in (value, value / 1e6, value / 1e7):
            lat = lat or abs(scaled - self.position.lat) <= ROUGH_DEGREES
            lon = lon or abs(scaled - self.position.lon) <= ROUGH_DEGREES
        return lat, lon

    def geohash_needles(self) -> Iterator[tuple[str, str, float]]:
        """(needle, chain, precision_m) for the multi-pattern search."""
        for length, size in GEOHASH_CELL_M.items():
            yield geohash(self.position.lat, self.position.lon, length), f"geohash:{length}", size

    def _near(self, value: float, decimals: int | None) -> tuple[bool, bool]:
        slack = 10.0 ** -decimals if decimals is not None else 0.0
        return (abs(value - self.position.lat) <= max(self.lat_radius, slack),
                abs(value - self.position.lon) <= max(self.lon_radius, slack))

    def _near_numbers(self, text: str, budget: Budget) -> Iterator[tuple[re.Match, float, str, bool, bool]]:
        """(match, value, form, is_lat, is_lon) for each number of `text` near the latitude or the longitude:
        decimals first, then integers read as micro-degrees and as 1e-7 degrees; each number read costs a step."""
        if self._degrees[0] not in text and self._degrees[1] not in text:
            return
        if not budget.spend(bytes=len(text)):
            return
        for m in _DECIMAL.finditer(text):
            if not budget.spend(steps=1):
                return
            value = float(f"{m[1]}{m[2]}.{m[4]}")
            decimals = min(len(m[4]), 7)
            is_lat, is_lon = self._near(value, decimals)
            if is_lat or is_lon:
                yield m, value, f"decimals:{decimals}", is_lat, is_lon
        for m in _INTEGER.finditer(text):
            if not budget.spend(steps=1):
                return
            for scale, form in ((1e6, "microdegrees"), (1e7, "e7")):
                value = int(m[1]) / scale
                is_lat, is_lon = self._near(value, None)
                if is_lat or is_lon:
                    yield m, value, form, is_lat, is_lon

    def coordinates(self, text: str, budget: Budget | None = None) -> list[Coordinate]:
        """Numbers of `text` that are near the latitude or the longitude (each number read costs a step)."""
        budget = budget if budget is not None else Budget.for_input(len(text))
        return [Coordinate(m.start(), value, form, form.startswith("decimals:") and m[3] == ",", is_lat, is_lon,
                           _field_before(text, m.start()))
                for m, value, form, is_lat, is_lon in self._near_numbers(text, budget)]

    def find(self, text: str, budget: Budget | None = None) -> list[PositionHit]:
        """Every latitude/longitude pair of `text` (each latitude used once, with its nearest longitude).

        Longitudes are sorted by offset once and each latitude looks up its neighbours by bisection:
        O(n log n) in the numbers found, where comparing every pair was quadratic. Among longitudes at the same
        distance, the one read first wins (decimals before integers, in text order), as it always did.
        """
        budget = budget if budget is not None else Budget.for_input(len(text))
        coords = self.coordinates(text, budget)
        lons = sorted((c.offset, i) for i, c in enumerate(coords) if c.is_lon)
        offsets = [o for o, _ in lons]
        hits = []
        for lat in coords:
            if not lat.is_lat:
                continue
            if not budget.spend(steps=1):
                break
            best = _nearest(coords, lons, offsets, lat.offset)
            if best is None:
                continue
            lon = coords[best]
            steps = [lat.form if lat.form == lon.form else f"{lat.form}/{lon.form}"]
            if lat.comma or lon.comma:
                steps.append("comma-decimal")
            if lon.offset < lat.offset:
                steps.append("lon-first")
            precision = distance_m(lat.value, lon.value, self.position.lat, self.position.lon)
            hits.append(PositionHit(">".join(steps), lat.field, round(precision, 1),
                                    min(lat.offset, lon.offset), max(lat.offset, lon.offset)))
        return hits

    def spans(self, text: str, budget: Budget | None = None) -> list[tuple[int, int]]:
        """Character spans of every number near the latitude or longitude (for redaction, paired or not). A number
        with one decimal (11 km) counts only as half of a pair, as `find` pairs them (the other half within
        WINDOW characters): alone it is a version number as often as a coordinate."""
        budget = budget if budget is not None else Budget.for_input(len(text))
        spans: list[tuple[int, int]] = []
        coarse: list[tuple[re.Match, bool, bool]] = []
        halves: tuple[list[int], list[int]] = ([], [])  # offsets of numbers that can be a latitude, a longitude
        for m, _value, form, is_lat, is_lon in self._near_numbers(text, budget):
            if is_lat:
                halves[0].append(m.start())
            if is_lon:
                halves[1].append(m.start())
            if form.startswith("decimals:") and int(form.removeprefix("decimals:")) < 2:
                coarse.append((m, is_lat, is_lon))
            elif not spans or spans[-1] != m.span():  # an integer near at both scales is one span
                spans.append(m.span())
        for m, is_lat, is_lon in coarse:
            if (is_lat and _other_within(halves[1], m.start())) or (is_lon and _other_within(halves[0], m.start())):
                spans.append(m.span())
        return sorted(set(spans)) if coarse else spans


def _other_within(offsets: list[int], at: int) -> bool:
    """Whether sorted `offsets` holds an offset other than `at` within WINDOW characters of it."""
    i = bisect.bisect_left(offsets, at - WINDOW)
    while i < len(offsets) and offsets[i] <= at + WINDOW:
        if offsets[i] != at:
            return True
        i += 1
    return False


def _nearest(coords: list[Coordinate], lons: list[tuple[int, int]], offsets: list[int], at: int) -> int | None:
    """Index in `coords` of the longitude nearest to offset `at` (not at `at` itself) within WINDOW characters;
    ties go to the lowest index. `lons` is (offset, index) sorted, `offsets` its offsets."""
    best: tuple[int, int] | None = None  # (gap, index)
    right = bisect.bisect_right(offsets, at)  # first longitude after `at`
    left = bisect.bisect_left(offsets, at) - 1  # last longitude before `at`
    for side in (left, right):
        if not 0 <= side < len(lons):
            continue
        gap = abs(offsets[side] - at)
        if gap > WINDOW:
            continue
        # every longitude at that same offset is equally near: the earliest read wins
        lo = bisect.bisect_left(offsets, offsets[side])
        hi = bisect.bisect_right(offsets, offsets[side])
        index = min(i for _, i in lons[lo:hi])
        if best is None or (gap, index) < best:
            best = (gap, index)
    return best[1] if best is not None else None


def _field_before(text: str, offset: int) -> str | None:
    """The JSON key, parameter name or XML tag just before a number, if any."""
    m = _FIELD.search(text[max(0, offset - 48):offset])
    if not m:
        return None
    return next(g for g in m.groups() if g)
