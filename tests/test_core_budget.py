"""Hostile bodies against the leak detector, the position finder and the redactor: every walk is bounded by a
counted budget (mouchard.budget), never by time; what cannot be finished says so."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
import zstandard

from demoweb import DATA as SAMPLES
from mouchard.budget import Budget, RedactionIncomplete
from mouchard.identify.leakdetect import LeakDetector
from mouchard.identify.location import PositionFinder
from mouchard.identify.profile import load_profile
from mouchard.identify.redact import Redactor

ROOT = Path(__file__).resolve().parents[1]
PROFILE = load_profile(SAMPLES / "profiles" / "android.yml")
GAID = PROFILE.value("advertising_id")
DETECTOR = LeakDetector.for_profile(PROFILE)


def deep_json(value: str, depth: int = 3000) -> bytes:
    """A JSON body nested `depth` lists deep around one string."""
    return ("[" * depth + json.dumps(value) + "]" * depth).encode()


def blob_bomb(value: str, levels: int = 5, copies: int = 64) -> bytes:
    """zstd of base64 blobs, each the zstd of `copies` blobs of the level below: a few hundred bytes whose naive
    search decodes copies**levels blobs."""
    data = value.encode()
    for _ in range(levels):
        blob = base64.b64encode(zstandard.ZstdCompressor().compress(data)).decode()
        data = " ".join([blob] * copies).encode()
    return zstandard.ZstdCompressor().compress(data)


def coordinate_body(pairs: int = 6000) -> bytes:
    """Many numbers near the planted position (72 KB): every latitude has candidates within reach."""
    return " ".join(f"{PROFILE.position.lat:.5f} {PROFILE.position.lon:.5f}" for _ in range(pairs)).encode()


def test_budget_refuses_a_charge_that_does_not_fit_and_stays_exhausted():
    budget = Budget(steps=10, bytes=100, blobs=1)
    assert budget.spend(steps=10, bytes=100, blobs=1)
    assert not budget.spend(steps=1) and budget.exhausted and "walk steps (10)" in budget.reason
    assert not budget.spend(bytes=0, steps=0)  # exhausted is sticky
    assert budget.used == {"steps": 10, "bytes": 100, "blobs": 1}


def test_deeply_nested_json_body_is_searched_without_recursion_error():
    matches = DETECTOR.scan_http("https://t.example/c", [], deep_json(GAID), "application/json")
    assert [(m.kind, m.location) for m in matches] == [("advertising_id", "body")]
    budget = Budget.for_input(30_000)
    DETECTOR.scan_http("https://t.example/c", [], deep_json(GAID), "application/json", budget=budget)
    assert not budget.exhausted


def test_deeply_nested_json_is_redacted_without_recursion_error():
    # Built and checked without json.loads/json.dumps: their C code recurses (Python 3.12 stops near 1,000 levels).
    doc: object = {"id": GAID}
    for _ in range(5000):
        doc = [doc]
    redacted = Redactor.for_profile(PROFILE, DETECTOR).json(doc)
    strings, todo = [], [redacted]
    while todo:
        node = todo.pop()
        if isinstance(node, list):
            todo.extend(node)
        elif isinstance(node, dict):
            todo.extend(node.values())
            strings.extend(node)
        else:
            strings.append(node)
    assert GAID not in strings and "[GAID]" in strings


def test_nested_blob_bomb_stops_at_its_budget_and_says_so():
    body = blob_bomb(GAID)
    assert len(body) < 1000
    budget = Budget.for_input(len(body))
    matches = DETECTOR.scan_http("https://t.example/c", [], body, "text/plain", budget=budget)
    assert budget.exhausted  # the answer is incomplete and the caller knows it
    assert all(budget.used[unit] <= budget.limits[unit] for unit in budget.limits)
    assert budget.used["blobs"] <= budget.limits["blobs"] < 2000  # not 64**5
    assert any(m.kind == "advertising_id" for m in matches)  # what fitted in the budget was still found


def test_one_level_of_blobs_is_found_in_full_within_budget():
    body = blob_bomb(GAID, levels=1, copies=8)
    budget = Budget.for_input(len(body))
    matches = DETECTOR.scan_http("https://t.example/c", [], body, "text/plain", budget=budget)
    assert not budget.exhausted and [m.kind for m in matches] == ["advertising_id"]


def test_position_pairs_in_a_large_body_cost_a_linear_number_of_steps():
    text = coordinate_body().decode()
    assert len(text) > 70_000
    budget = Budget.for_input(len(text))
    hits = PositionFinder(PROFILE.position).find(text, budget)
    assert len(hits) == 6000  # every latitude paired with its longitude
    assert not budget.exhausted
    # one step per number read and one per latitude paired: no pair-by-pair comparison
    assert budget.used["steps"] <= 3 * 12_000


def test_position_pairs_in_a_large_body_are_found_by_the_detector_within_budget():
    body = coordinate_body()
    budget = Budget.for_input(len(body))
    matches = DETECTOR.scan_http("https://t.example/c", [], body, "text/plain", budget=budget)
    assert not budget.exhausted and {m.kind for m in matches} == {"location"}


def test_redactor_fails_closed_when_its_budget_runs_out():
    redactor = Redactor.for_profile(PROFILE, DETECTOR)
    with pytest.raises(RedactionIncomplete):
        redactor.url(f"https://t.example/c?ifa={GAID}", budget=Budget(steps=2))
    with pytest.raises(RedactionIncomplete):
        redactor.headers([("X-Id", GAID)], budget=Budget(bytes=4))
    with pytest.raises(RedactionIncomplete):
        redactor.json({"a": [GAID] * 50}, budget=Budget(steps=20))
    assert redactor.url(f"https://t.example/c?ifa={GAID}") == "https://t.example/c?ifa=[GAID]"


@pytest.mark.parametrize("coding", ["gzip", "zstd"])
def test_decompression_stops_at_the_bytes_left_in_the_budget(coding):
    import gzip

    from mouchard.decode.bodies import decompress

    raw = b"a" * 1_000_000
    data = gzip.compress(raw) if coding == "gzip" else zstandard.ZstdCompressor().compress(raw)
    budget = Budget(bytes=10_000)
    out, steps = decompress(data, coding, budget=budget)
    assert len(out) <= 10_000 and budget.exhausted and budget.used["bytes"] <= 10_000
