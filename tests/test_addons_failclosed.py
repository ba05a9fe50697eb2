"""Redaction fails closed in the proxy's pipeline: a flow whose leak detection or redaction failed, or whose
analysis budget ran out, keeps no raw text; a failures row and the run's summary say so."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from addons.detect_leaks import LeakStage, Redact
from addons.pipeline import Analyser
from addons.snapshots import FlowSnapshot
from demoweb import DATA as SAMPLES
from mouchard.identify.profile import load_profile

ROOT = Path(__file__).resolve().parents[1]
PROFILE_PATH = SAMPLES / "profiles" / "android.yml"
PROFILE = load_profile(PROFILE_PATH)
GAID = PROFILE.value("advertising_id")
PLACEHOLDER = "[redaction failed]"
URL = f"https://ads.example-sdk.com/v1/track?ifa={GAID}"


def deep_json(value: str, depth: int = 3000) -> bytes:
    return ("[" * depth + json.dumps(value) + "]" * depth).encode()


def snapshot(body: bytes | None = None, url: str = URL) -> FlowSnapshot:
    return FlowSnapshot("k1", "http", "2025-03-01T12:00:00.000Z", method="POST", url=url,
                        host="ads.example-sdk.com", request_headers=[("Content-Type", "application/json"),
                                                                     ("X-Device", GAID)],
                        request_body=body, status=200, response_headers=[("Content-Type", "text/plain")])


def analyse(snap: FlowSnapshot, *extra) -> tuple[Analyser, dict, list]:
    leaks = LeakStage(PROFILE)
    out: list = []
    analyser = Analyser([leaks, Redact(leaks), *extra], out.extend).setup()
    analyser.handle(snap)
    analyser.close()
    return analyser, out[0], out[0].failures


def test_deeply_nested_json_body_still_gets_its_leak_rows_and_a_redacted_url():
    analyser, record, failures = analyse(snapshot(deep_json(GAID)))
    assert GAID not in json.dumps(record.flow)
    assert record.flow["url"].endswith("ifa=[GAID]")
    assert {(leak["identifier"], leak["location"]) for leak in record.leaks} >= {("advertising_id", "body")}
    assert failures == [] and record.flow["analysis"] == "complete"


class Boom:
    """A stage that fails on every flow, quoting the flow in its message."""

    order = 60

    def __init__(self, redaction: bool):
        self.redaction = redaction

    def process(self, snap, record):
        raise KeyError(snap.url)


def test_a_failing_redaction_stage_seals_the_flow():
    analyser, record, failures = analyse(snapshot(b'{"a": 1}'), Boom(redaction=True))
    flow = record.flow
    assert GAID not in json.dumps(flow) and GAID not in json.dumps(failures)
    assert flow["url"] == PLACEHOLDER and flow["request_headers"] == [[PLACEHOLDER, PLACEHOLDER]]
    assert (flow["method"], flow["host"], flow["status"], flow["request_size"]) == ("POST", "ads.example-sdk.com",
                                                                                     200, 8)
    assert flow["analysis"] == "redaction-failed"
    assert [(f["component"], f["kind"]) for f in failures] == [("Boom", "redaction-failed")]
    assert "KeyError" in failures[0]["detail"]
    assert analyser.summary()["mouchard/flows/redaction_failed"] == 1


def test_a_failing_ordinary_stage_is_a_collector_error_row_and_the_flow_stays_redacted():
    analyser, record, failures = analyse(snapshot(b'{"a": 1}'), Boom(redaction=False))
    assert record.flow["url"].endswith("ifa=[GAID]") and record.flow["analysis"] == "complete"
    assert [(f["component"], f["kind"]) for f in failures] == [("Boom", "collector-error")]
    assert GAID not in failures[0]["detail"]
    assert analyser.summary()["mouchard/flows/stage_errors"] == 1


def test_a_flow_whose_budget_runs_out_is_truncated_and_sealed():
    from tests.test_core_budget import blob_bomb

    analyser, record, failures = analyse(snapshot(blob_bomb(GAID)))
    assert GAID not in json.dumps(record.flow) and record.flow["url"] == PLACEHOLDER
    assert {f["kind"] for f in failures} == {"analysis-truncated", "redaction-failed"}
    assert record.flow["analysis"] == "redaction-failed"
    assert all(budget_ok(record.budget) for _ in [0])


def budget_ok(budget) -> bool:
    return all(budget.used[u] <= budget.limits[u] for u in budget.limits)


def test_a_body_cut_at_the_snapshot_limit_keeps_the_whole_size_and_hash(monkeypatch):
    import hashlib

    import addons.snapshots as snapshots

    monkeypatch.setattr(snapshots, "SNAPSHOT_BODY_LIMIT", 1000)
    body = b'{"pad": "' + b"x" * 5000 + b'"}'
    held, full = snapshots.bounded(body)
    assert len(held) == 1000 and full == (len(body), hashlib.sha256(body).hexdigest())
    snap = snapshot(held)
    snap.request_full = full
    analyser, record, failures = analyse(snap)
    assert record.flow["request_size"] == len(body)
    assert record.flow["request_body_sha256"] == hashlib.sha256(body).hexdigest()
    assert record.flow["analysis"] == "truncated" and record.flow["url"].endswith("ifa=[GAID]")
    assert [f["kind"] for f in failures] == ["analysis-truncated"]


def test_import_of_a_hostile_capture_stores_no_raw_identifier_and_counts_it(tmp_path):
    """End to end through `mouchard import` (mitmdump, the recording process, the store)."""
    from mitmproxy import io
    from mitmproxy.test import tflow

    from tests.test_core_budget import blob_bomb

    flows = []
    for body in (deep_json(GAID), blob_bomb(GAID)):
        flow = tflow.tflow(resp=True)
        flow.request.url = URL
        flow.request.method = "POST"
        flow.request.headers["X-Device"] = GAID
        flow.request.raw_content = body
        flows.append(flow)
    capture = tmp_path / "hostile.mitm"
    with capture.open("wb") as handle:
        writer = io.FlowWriter(handle)
        for flow in flows:
            writer.add(flow)
    db = tmp_path / "hostile.db"
    out = subprocess.run([sys.executable, "-m", "mouchard", "import", str(capture), "--profile", str(PROFILE_PATH),
                          "--db", str(db)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    con = sqlite3.connect(db)
    for table in ("flows", "leaks", "failures"):
        for row in con.execute(f"SELECT * FROM {table}"):
            assert GAID not in json.dumps(row), (table, row)
    assert con.execute("SELECT url, analysis FROM flows ORDER BY id").fetchall() == [
        (URL.replace(GAID, "[GAID]"), "complete"), (PLACEHOLDER, "redaction-failed")]
    kinds = {row[0] for row in con.execute("SELECT kind FROM failures WHERE flow_id = 2")}
    assert kinds == {"analysis-truncated", "redaction-failed"}
    summary = json.loads(con.execute("SELECT summary FROM crawls").fetchone()[0])
    assert summary["mouchard/flows/redaction_failed"] == 1 and summary["failures"] == 2


@pytest.mark.parametrize("kind", ["keylogging", "idsync"])
def test_crawler_scans_run_off_the_event_loop_and_report_truncation(kind, monkeypatch):
    """The key-logging and ID-sync searches run in a thread; a request whose budget runs out is a failures row."""
    import asyncio
    import threading

    from mouchard.identify.leakdetect import LeakDetector
    from tests.test_core_budget import blob_bomb

    loop_threads = []
    real = LeakDetector.scan_http

    def scan_http(self, *args, **kw):
        loop_threads.append(threading.current_thread())
        return real(self, *args, **kw)

    monkeypatch.setattr(LeakDetector, "scan_http", scan_http)
    if kind == "keylogging":
        from crawler.collectors.keylogging import DetectKeyLogging, typed_values

        values = typed_values("abcd1234")
        collector = DetectKeyLogging()
        extra = {"keylogging": {"values": values, "started_ms": 0,
                                "typed": [{"kind": "typed_email", "frame": "", "name": "e"}]}}
        payload = values["typed_email"]
    else:
        from crawler.collectors.idsync import DetectIdSyncs

        collector = DetectIdSyncs()
        payload = "uid-8237981234987123"
        extra = {"cookie_rows": [{"site": "adnxs.com", "name": "uuid2", "value": payload, "lifetime_days": 365,
                                  "set_by": "header", "_ref": 1}]}
    requests = [{"url": f"https://sync.example.org/s?u={payload}", "host": "sync.example.org",
                 "site": "example.org", "time_ms": 5, "_ref": 1, "request_headers": {}},
                {"url": "https://sync.example.org/b", "host": "sync.example.org", "site": "example.org",
                 "time_ms": 6, "_ref": 2, "_body": blob_bomb(payload),
                 "request_headers": {"content-type": "text/plain"}}]

    class Visit:
        site = "news.example"
        stats = None

        def __init__(self):  # the typed shared state of crawler/collectors/base.py, as the collector reads it
            from crawler.collectors.base import Shared

            self.requests, self.shared = requests, Shared(cookie_rows=extra.get("cookie_rows"))

        def own(self, key, factory):
            return extra.get("keylogging", factory())

        def count(self, *a):
            pass

        @staticmethod
        def site_of(host):
            from mouchard.decode.domains import site_of
            return site_of(host)

        @staticmethod
        def third_party(host):
            return True

    rows = asyncio.run(collector.collect(Visit()))
    main = threading.main_thread()
    assert loop_threads and all(t is not main for t in loop_threads)
    table = "leaks" if kind == "keylogging" else "id_syncs"
    assert rows[table]  # the plain request was searched in full
    assert [f["kind"] for f in rows["failures"]] == ["analysis-truncated"]
    assert payload not in json.dumps(rows["failures"]) and "sync.example.org" in rows["failures"][0]["detail"]
