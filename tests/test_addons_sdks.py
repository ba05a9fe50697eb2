"""Real analytics and attribution SDKs (pinned, from PyPI and npm) through a real `mouchard proxy` to a local sink
(tests/sdks): every planted value each SDK really sent is found with its kind, no decoy or other value is
reported, and nothing planted stays in clear in the capture databases."""

from __future__ import annotations

import base64
import gzip
import importlib.metadata
import json
import re
import shutil
import tomllib
import urllib.parse
from pathlib import Path

import pytest
from conftest import needs
from hypothesis import given, settings
from hypothesis import strategies as st
from leakscan import assert_no_planted_values
from sdks import harness
from sdks.score import (
    KINDS,
    PRECISION_TARGET,
    RECALL_TARGET,
    Score,
    carried,
    score_request,
)
from sdks.values import values as sdk_values

ROOT = Path(__file__).resolve().parents[1]
# The Python SDKs and the distribution each driver pins in pyproject.toml's test extra.
PYTHON_SDKS = {"amplitude": "amplitude-analytics", "facebook": "facebook-business", "mixpanel": "mixpanel",
               "mparticle": "mparticle", "posthog": "posthog", "rudderstack": "rudder-sdk-python",
               "segment": "segment-analytics-python", "sentry": "sentry-sdk", "snowplow": "snowplow-tracker"}
# Kinds an SDK has no way to carry (its driver sends nothing for them, and says so).
NOT_CARRIED = {"python/facebook": {"location"}, "node/facebook": {"location"}}  # CAPI user_data has no position


def _pins() -> dict[str, str]:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["test"]
    return {m[1].lower(): m[2] for m in (re.match(r"([A-Za-z0-9_.-]+)==([^;\s]+)", e) for e in extras) if m}


def _missing() -> list[str]:
    missing = []
    for dist in PYTHON_SDKS.values():
        try:
            importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            missing.append(dist)
    if not shutil.which("node"):
        missing.append("node")
    if not (ROOT / "node_modules").is_dir():
        missing.append("node_modules (the npm SDKs)")
    return missing


@pytest.fixture(scope="module")
def matrix(tmp_path_factory) -> harness.Matrix:
    needs(_missing(), "pip install -e '.[test]' and scripts/setup.sh (npm packages)")
    return harness.run_matrix(tmp_path_factory.mktemp("sdks"), lanes=3)


@pytest.mark.slow
def test_drivers_send_what_they_say_with_pinned_versions(matrix):
    """Ground truth first: every driver ran every case, said which kinds it sent, and the sink saw exactly those
    (and, in decoy runs, the decoys and nothing planted). The Python SDKs are the versions pinned."""
    names = {d.name for d in harness.drivers()}
    langs = {d.lang for d in harness.drivers()}
    assert langs == {"python", "node"} and set(PYTHON_SDKS) <= names and len(names) >= 8
    assert matrix.score.problems == []
    assert matrix.unattributed_flows == 0
    pins = _pins()
    for run in matrix.runs:
        assert run.returncode == 0 and run.output is not None, (run.sdk, run.case, run.stderr[-500:])
        if run.driver.lang == "python":
            assert run.output["version"] == pins[PYTHON_SDKS[run.driver.name]], run.sdk
        if run.case in KINDS:
            expected = [] if run.case in NOT_CARRIED.get(run.sdk, set()) else [run.case]
            assert run.sent == expected, (run.sdk, run.case, run.sent)
        if run.sent:
            assert run.requests and len(run.flows) == len(run.requests), (run.sdk, run.case)


@pytest.mark.slow
def test_planted_values_found_and_decoys_not_reported(matrix):
    """Recall ≥ 0.98 and precision ≥ 0.99 over every SDK × kind (table in the failure message)."""
    totals = matrix.score.totals()
    table = harness.report(matrix)
    planted_cells = {(sdk, kind) for (sdk, kind), cell in matrix.score.cells.items() if cell.planted}
    expected = {(f"{d.lang}/{d.name}", kind) for d in harness.drivers() for kind in KINDS
                if kind not in NOT_CARRIED.get(f"{d.lang}/{d.name}", set())}
    assert planted_cells == expected, table  # every SDK × kind it can carry was really sent and scored
    assert totals.recall is not None and totals.recall >= RECALL_TARGET, table
    assert totals.precision is not None and totals.precision >= PRECISION_TARGET, table


@pytest.mark.slow
def test_no_planted_value_stays_in_stored_text(matrix):
    """The re-scan of every stored text column of every lane's database finds no planted value, in any encoding."""
    for db in matrix.databases:
        assert_no_planted_values(db, harness.PROFILE_PATH)


# --- the ground truth itself (fast): it must see each planted value through what SDKs wrap it in, and no decoy ---
DOCUMENT = sdk_values()
WRAPPERS = ("json", "form", "base64", "gzip", "query")


def _payload(values: dict, kind: str) -> dict:
    if kind == "name":
        return {"$first_name": values["first_name"], "$last_name": values["last_name"]}
    if kind == "location":
        return {"lat": values["location"]["lat"], "lng": str(values["location"]["lon"])}
    return {"traits": {kind: values[kind]}}


def _entry(payload: dict, chain: list[str]) -> dict:
    """A sink log entry carrying `payload` wrapped as `chain` says (innermost first)."""
    body: bytes = json.dumps(payload).encode()
    url, headers = "https://api.example-sdk.com/v1/batch", {"content-type": "application/json"}
    for step in chain:
        if "content-encoding" in headers:  # gzip is the transport's: the outermost layer
            break
        if step == "form":
            body = urllib.parse.urlencode({"data": body.decode()}).encode()
        elif step == "base64":
            body = base64.urlsafe_b64encode(body).rstrip(b"=")
        elif step == "gzip":
            body, headers = gzip.compress(body), {**headers, "content-encoding": "gzip"}
        elif step == "query":
            url, body = f"{url}?{urllib.parse.urlencode({'e': body.decode()})}", b""
    return {"url": url, "headers": headers, "body": body, "method": "POST", "host": "api.example-sdk.com",
            "path": "/v1/batch"}


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(KINDS), st.lists(st.sampled_from(WRAPPERS), max_size=3).filter(lambda c: c.count("base64") <= 2))
def test_ground_truth_sees_planted_values_and_never_decoys(kind, chain):
    planted, decoy = DOCUMENT["planted"], DOCUMENT["decoy"]
    assert carried(_entry(_payload(planted, kind), chain), planted) == {kind}
    assert carried(_entry(_payload(decoy, kind), chain), planted) == set()


def test_score_counts_found_missed_and_false_positives():
    result = Score()
    score_request(result, "x", "email", {"email"}, {"email"}, {})
    score_request(result, "x", "email", {"email"}, set(), {"host": "h", "path": "/"})
    score_request(result, "x", "decoy", set(), {"phone"}, {"host": "h", "path": "/"})
    score_request(result, "x", "phone", set(), {"phone"}, {"host": "h", "path": "/"})  # not carried: not a hit
    email, phone = result.cells[("x", "email")], result.cells[("x", "phone")]
    assert (email.planted, email.found, email.recall, email.precision) == (2, 1, 0.5, 1.0)
    assert (phone.planted, phone.found, phone.false_positives, phone.precision) == (0, 0, 2, 0.0)
    assert [m["kind"] for m in result.misses] == ["email"]
    assert [(f["kind"], f["run"]) for f in result.false_positives] == [("phone", "decoy"), ("phone", "phone")]
