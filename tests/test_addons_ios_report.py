"""`mouchard import` of an iOS App Privacy Report (.ndjson, recognised by its content): each network activity is a
`flows` row (app from the report, tracker classification, no payload), each data or sensor access an
`app_accesses` row, each line that is not a record a `failures` row with its line number; the run says that a
report holds destinations only. The sample in tests/data/phone_captures was written here from the documented
format (Plaso's parser and its test data), with a cut line and a record without its domain."""

from __future__ import annotations

import io
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from demoweb import DATA as SAMPLES
from mouchard.budget import Budget
from mouchard.ingest.ios_report import LINE_LIMIT, NO_PAYLOAD, parse, sniff

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "tests" / "data" / "phone_captures" / "App_Privacy_Report_sample.ndjson"
PROFILE_PATH = SAMPLES / "profiles" / "android.yml"


def mouchard(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mouchard", *args], capture_output=True, text=True, timeout=120)


def rows(db: Path, sql: str) -> list[tuple]:
    con = sqlite3.connect(db)
    try:
        return list(con.execute(sql))
    finally:
        con.close()


def test_the_sample_becomes_flows_accesses_and_failures(tmp_path):
    db = tmp_path / "phone.db"
    out = mouchard("import", str(SAMPLE), "--profile", str(PROFILE_PATH), "--db", str(db))
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "run 1: 6 report",
        f"  warning: {NO_PAYLOAD}",
        "  data and sensor access: camera 1, contacts 1, location 1",
        "  2 line(s) of the report not imported: see failures"]
    assert rows(db, "SELECT kind, app, app_source, started_at, host, site, hits, analysis, url, tracker_entity, "
                    "tracker_category FROM flows ORDER BY id") == [
        ("report", "com.example.weather", "ios-privacy-report", "2026-11-30T07:14:02.512Z", "api.weather.com",
         "weather.com", 14, "no-payload", None, None, None),
        ("report", "com.example.weather", "ios-privacy-report", "2026-11-30T07:14:03.250Z", "app-measurement.com",
         "app-measurement.com", 6, "no-payload", None, "Google", "analytics"),
        ("report", "com.example.weather", "ios-privacy-report", "2026-11-30T07:14:05.730Z", "graph.facebook.com",
         "facebook.com", 2, "no-payload", None, "Meta", "advertising"),
        ("report", "com.apple.mobilesafari", "ios-privacy-report", "2026-11-30T08:02:41.016Z", "www.lemonde.fr",
         "lemonde.fr", 5, "no-payload", None, None, None),
        ("report", "com.apple.mobilesafari", "ios-privacy-report", "2026-11-30T08:02:41.877Z",
         "securepubads.g.doubleclick.net", "doubleclick.net", 3, "no-payload", None, "Google", "advertising"),
        ("report", "com.example.scanner", "ios-privacy-report", "2026-11-30T09:10:13.004Z", "api2.amplitude.com",
         "amplitude.com", 4, "no-payload", None, "Amplitude", "analytics")]
    reports = [json.loads(r[0]) for r in rows(db, "SELECT report FROM flows ORDER BY id")]
    assert reports[3] == {"last_seen": "2026-11-30T08:02:44.380Z", "initiated": "NonAppInitiated",
                          "context": "lemonde.fr", "domain_type": 2, "domain_classification": 1,
                          "context_verification_type": 2, "line": 8}
    assert reports[1]["domain_owner"] == "Google LLC" and "domain_owner" not in reports[0]  # "" is no owner
    assert rows(db, "SELECT app, app_source, accessor_type, category, access_id, started_at, ended_at, line "
                    "FROM app_accesses ORDER BY id") == [
        ("com.example.weather", "ios-privacy-report", "bundleID", "location", "6F1C2D3E-4A5B-4C6D-8E7F-901A2B3C4D5E",
         "2026-11-30T07:14:02.118Z", "2026-11-30T07:14:04.870Z", 1),
        ("com.example.weather", "ios-privacy-report", "bundleID", "contacts", "0B9A8C7D-6E5F-4A3B-9C2D-1E0F9A8B7C6D",
         "2026-11-30T07:15:30.001Z", "2026-11-30T07:15:30.412Z", 6),
        ("com.example.scanner", "ios-privacy-report", "bundleID", "camera", "C3D4E5F6-A7B8-4C9D-8E0F-1A2B3C4D5E6F",
         "2026-11-30T09:10:12.250Z", None, 12)]
    assert rows(db, "SELECT crawl_id, flow_id, component, kind, detail FROM failures ORDER BY id") == [
        (1, None, "ios-privacy-report", "decode-error", "line 7: not JSON"),
        (1, None, "ios-privacy-report", "decode-error", "line 11: no domain")]
    kind, status, config, warnings, summary = rows(db, "SELECT kind, status, config, warnings, summary FROM crawls")[0]
    assert (kind, status, json.loads(warnings)) == ("import", "finished", [NO_PAYLOAD])
    config = json.loads(config)
    assert (config["format"], config["app"], config["profile"]["platform"]) == ("ios-privacy-report", None, "android")
    assert json.loads(summary) == {
        "flows": 6, "app_accesses": 3, "failures": 2, "payloads": NO_PAYLOAD, "mouchard/ios_report/access": 5,
        "mouchard/ios_report/lines": 13, "mouchard/ios_report/networkActivity": 6,
        "mouchard/ios_report/open_accesses": 1}
    assert rows(db, "SELECT count(*) FROM leaks") == [(0,)]


def test_with_app_only_that_app_is_kept_and_the_rest_counted(tmp_path):
    db = tmp_path / "phone.db"
    out = mouchard("import", str(SAMPLE), "--profile", str(PROFILE_PATH), "--db", str(db),
                   "--app", "com.example.scanner")
    assert out.returncode == 0, out.stderr
    assert rows(db, "SELECT app, host FROM flows") == [("com.example.scanner", "api2.amplitude.com")]
    assert rows(db, "SELECT app, category FROM app_accesses") == [("com.example.scanner", "camera")]
    summary = json.loads(rows(db, "SELECT summary FROM crawls")[0][0])
    assert (summary["flows"], summary["app_accesses"], summary["mouchard/ios_report/other_apps_records"]) == (1, 1, 7)


def test_only_a_report_is_sniffed_as_one(tmp_path):
    har = tmp_path / "report.ndjson"  # a name says nothing: the content decides
    har.write_text(json.dumps({"log": {"version": "1.2", "entries": []}}))
    assert sniff(SAMPLE) and not sniff(har)
    shifted = tmp_path / "shifted.ndjson"  # a garbage first line does not hide a report
    shifted.write_bytes(b"\xef\xbb\xbfnot json\n" + SAMPLE.read_bytes())
    assert sniff(shifted)
    assert not sniff(tmp_path / "missing.ndjson")


def _line(record: dict) -> bytes:
    return json.dumps(record).encode()


NETWORK = {"type": "networkActivity", "bundleID": "com.example.app", "domain": "api.example.com",
           "timeStamp": "2026-11-30T08:00:00.000+01:00", "firstTimeStamp": "2026-11-30T07:59:00.000+01:00", "hits": 2}


def test_hostile_lines_are_failures_with_their_line_numbers():
    long_line = b'{"type": "networkActivity", "domain": "' + b"a" * (LINE_LIMIT + 10) + b'"}'
    lines = [
        _line(NETWORK),
        long_line,
        b"[" * 30_000 + b"]" * 30_000,  # under the line limit, too deep for the parser
        b"42",
        _line({**NETWORK, "timeStamp": "2026-11-30T08:00:00"}),
        _line({**NETWORK, "domain": "exa mple.com"}),
        _line({**NETWORK, "domain": "10.0.0.1"}),
        _line({**NETWORK, "hits": -1}),
        _line({**NETWORK, "bundleID": ["com.example.app"]}),
        _line({"type": "bluetoothActivity", "timeStamp": "2026-11-30T08:00:00Z"}),
        _line({"type": "bluetoothActivity"}),
        _line({"type": "access", "category": "location", "timeStamp": "2026-11-30T08:00:00Z"}),
        b"",
        _line({**NETWORK, "domain": "API.Example.COM."}),
    ]
    report = parse(io.BytesIO(b"\xef\xbb\xbf" + b"\r\n".join(lines) + b"\r\n"))
    assert [(r["host"], r["started_at"], r["report"]["line"]) for r in report.flows] == [
        ("api.example.com", "2026-11-30T06:59:00.000Z", 1), ("10.0.0.1", "2026-11-30T06:59:00.000Z", 7),
        ("api.example.com", "2026-11-30T06:59:00.000Z", 14)]
    assert report.failures == [
        (2, "decode-error", f"line 2: longer than {LINE_LIMIT} bytes, skipped"),
        (3, "decode-error", "line 3: JSON nested too deep"),
        (4, "decode-error", "line 4: not a JSON object"),
        (5, "decode-error", "line 5: timeStamp has no time zone"),
        (6, "decode-error", "line 6: domain is not a host name"),
        (8, "decode-error", "line 8: hits is not a count"),
        (9, "decode-error", "line 9: bundleID is not text"),
        (12, "decode-error", "line 12: no accessor"),
        (10, "decode-error", "2 record(s) of type 'bluetoothActivity' not understood (first at line 10): not imported")]
    assert (report.stats["lines"], report.stats["blank_lines"], report.stats["unknown_type"]) == (14, 1, 2)
    assert report.truncated is None


def test_a_report_larger_than_the_budget_is_read_up_to_it_and_says_so():
    data = b"\n".join([_line(NETWORK)] * 10) + b"\n"
    report = parse(io.BytesIO(data), Budget(steps=4, bytes=10_000, blobs=0))
    assert len(report.flows) == 4 and report.stats["lines"] == 4
    assert report.failures == [(5, "analysis-truncated", "stopped at line 5: the report is larger than the "
                                                          "import's budget (walk steps (4))")]


RECORDS = st.one_of(
    st.fixed_dictionaries({"type": st.just("networkActivity")}, optional={
        "bundleID": st.one_of(st.text(max_size=20), st.integers(), st.none()),
        "domain": st.one_of(st.sampled_from(["api.example.com", "10.0.0.1", "::1", "a..b", "-x.com", ""]),
                            st.text(max_size=30)),
        "timeStamp": st.one_of(st.sampled_from(["2026-11-30T08:00:00.000+01:00", "2026-11-30T08:00:00Z",
                                                "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+01:00"]),
                               st.text(max_size=30)),
        "firstTimeStamp": st.one_of(st.none(), st.text(max_size=30)),
        "hits": st.one_of(st.integers(), st.floats(), st.booleans(), st.none()),
        "domainOwner": st.one_of(st.text(max_size=300), st.lists(st.integers(), max_size=2)),
        "context": st.text(max_size=20)}),
    st.fixed_dictionaries({"type": st.just("access")}, optional={
        "accessor": st.one_of(st.fixed_dictionaries({"identifier": st.text(max_size=20)}), st.text(max_size=5)),
        "category": st.sampled_from(["location", "contacts", "camera", ""]),
        "identifier": st.sampled_from(["A", "B", None]),
        "kind": st.sampled_from(["intervalBegin", "intervalEnd", "event"]),
        "timeStamp": st.sampled_from(["2026-11-30T08:00:00Z", "yesterday"])}),
    st.dictionaries(st.text(max_size=10), st.integers(), max_size=3),
)
LINES = st.lists(st.one_of(RECORDS.map(_line), st.binary(max_size=200).filter(lambda b: b"\n" not in b and b"\r" not in b)),
                 max_size=25)


@settings(max_examples=300, deadline=None)
@given(LINES)
def test_every_line_is_a_record_a_failure_or_blank(lines):
    data = b"\n".join(lines) + (b"\n" if lines else b"")
    report = parse(io.BytesIO(data))
    per_line = [f for f in report.failures if f[2].startswith("line ")]
    assert report.stats["lines"] == len(lines)
    assert (len(report.flows) + report.stats["access"] + len(per_line) + report.stats["unknown_type"]
            + report.stats["blank_lines"]) == len(lines)
    for row in report.flows:
        assert row["host"] and row["site"] and row["started_at"].endswith("Z") and row["analysis"] == "no-payload"
    for row in report.accesses:
        assert row["app"] and row["category"]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_raise(data):
    report = parse(io.BytesIO(data))
    assert report.stats["lines"] <= data.count(b"\n") + 1
    assert len(report.flows) + len(report.accesses) <= report.stats["lines"]
