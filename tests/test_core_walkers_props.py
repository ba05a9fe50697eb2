"""Property tests: the detector's decoders and walkers never raise, never exceed their budget, find planted
values when the budget allows, and pair positions exactly as the brute-force rule does."""

from __future__ import annotations

import base64
import gzip
import json
import urllib.parse
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from demoweb import DATA as SAMPLES
from mouchard.decode.bodies import decompress
from mouchard.budget import Budget
from mouchard.identify.leakdetect import LeakDetector
from mouchard.identify.location import WINDOW, PositionFinder
from mouchard.identify.profile import load_profile

ROOT = Path(__file__).resolve().parents[1]
PROFILE = load_profile(SAMPLES / "profiles" / "android.yml")
GAID = PROFILE.value("advertising_id")
DETECTOR = LeakDetector.for_profile(PROFILE)
FINDER = PositionFinder(PROFILE.position)
SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ENCODERS = {
    "base64": lambda b: base64.b64encode(b),
    "base64url": lambda b: base64.urlsafe_b64encode(b).rstrip(b"="),
    "gzip-base64": lambda b: base64.b64encode(gzip.compress(b)),
    "urlencode": lambda b: urllib.parse.quote_from_bytes(b).encode(),
    "json": lambda b: json.dumps({"v": b.decode("latin-1")}).encode(),
    "list": lambda b: b"[" + json.dumps(b.decode("latin-1")).encode() + b"]",
    "hex": lambda b: b.hex().encode(),
}


def within(budget: Budget) -> bool:
    return all(budget.used[u] <= budget.limits[u] for u in budget.limits)


@SETTINGS
@given(st.binary(max_size=2000), st.sampled_from([None, "gzip", "br", "zstd", "deflate", "gzip, br", "x"]),
       st.integers(min_value=0, max_value=5000))
def test_decompress_never_raises_and_stays_within_budget(data, coding, limit):
    budget = Budget(bytes=limit, blobs=3)
    out, steps = decompress(data, coding, budget=budget)
    assert isinstance(out, bytes) and within(budget)


@SETTINGS
@given(st.binary(max_size=3000), st.text(max_size=200),
       st.sampled_from([None, "application/json", "application/x-www-form-urlencoded", "multipart/form-data; b=x",
                        "text/plain"]),
       st.integers(min_value=1, max_value=3000))
def test_scan_of_random_requests_never_raises_and_stays_within_budget(body, query, ctype, steps):
    budget = Budget(steps=steps, bytes=steps * 20, blobs=steps // 20)
    DETECTOR.scan_http(f"https://t.example/p?q={query}", [("X-A", query)], body, ctype, budget=budget)
    assert within(budget)


@SETTINGS
@given(st.lists(st.sampled_from(sorted(ENCODERS)), max_size=4), st.text(max_size=40), st.text(max_size=40))
def test_planted_value_in_nested_encodings_is_found_when_within_budget(layers, before, after):
    data = f"{before} {GAID} {after}".encode("utf-8", "surrogatepass")
    for layer in layers:
        data = ENCODERS[layer](data)
    budget = Budget.for_input(len(data))
    matches = DETECTOR.scan_message(data, "body", budget=budget)
    assert within(budget)
    if not budget.exhausted and len(layers) < DETECTOR.max_depth - 1:
        assert "advertising_id" in {m.kind for m in matches}, (layers, data[:200])


@SETTINGS
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20) | st.just(GAID),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                    max_leaves=60), st.integers(min_value=50, max_value=5000))
def test_json_walk_never_raises_and_stays_within_budget(doc, steps):
    body = json.dumps(doc).encode()
    budget = Budget(steps=steps)
    matches = DETECTOR.scan_http("https://t.example/", [], body, "application/json", budget=budget)
    assert within(budget)
    roomy = Budget.for_input(len(body))
    found = DETECTOR.scan_http("https://t.example/", [], body, "application/json", budget=roomy)
    if GAID in body.decode() and not roomy.exhausted:
        assert any(m.kind == "advertising_id" for m in found)
    assert len(matches) <= len(found) + 1


def brute_force(coords):
    """The original pairing: each latitude with its nearest longitude (first in reading order on ties)."""
    pairs = []
    for lat in coords:
        if not lat.is_lat:
            continue
        best = None
        for lon in coords:
            if lon is lat or not lon.is_lon or lon.offset == lat.offset:
                continue
            gap = abs(lon.offset - lat.offset)
            if gap <= WINDOW and (best is None or gap < best[0]):
                best = (gap, lon)
        if best is not None:
            pairs.append((lat.offset, best[1].offset, best[1].form))
    return pairs


NUMBERS = st.sampled_from(["48.85837", "2.29448", "48,8584", "2,2945", "48858370", "22944800", "2294480",
                           "48.9", "2.3", "12.5", "-48.85837", "1.0"])


@SETTINGS
@given(st.lists(st.tuples(NUMBERS, st.text(alphabet=' ,;:"a{}[]=&', max_size=60)), max_size=30))
def test_position_pairing_equals_the_brute_force_rule(parts):
    text = "".join(n + sep for n, sep in parts)
    coords = FINDER.coordinates(text)
    expected = brute_force(coords)
    hits = FINDER.find(text)
    by_lat = {(min(a, b), max(a, b)) for a, b, _ in expected}
    assert len(hits) == len(expected)
    assert {(h.start, h.end) for h in hits} == by_lat
