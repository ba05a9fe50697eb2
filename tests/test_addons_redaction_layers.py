"""Issue #15 item 4 end to end: a Countly-style request (URL-encoded JSON with the position as strings), a Sentry
envelope and an NDJSON batch go through `mouchard import` and the real `mouchard proxy`; what is stored is redacted
inside each layer (the URL still parses and shows "lat":"[LOCATION]"), every text column of every table is searched
again for each planted value in every encoding, and the last check fails closed when a redaction misses."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest

from addons.detect_leaks import LeakStage, Redact
from addons.pipeline import Analyser
from addons.snapshots import FlowSnapshot
from leakscan import assert_no_planted_values, planted_findings
from mouchard.identify.profile import load_profile
from mouchard.identify.redact import Redactor

GAID = "38400000-8cf0-11bd-b23e-10b96e40000d"
EMAIL = "jean.dupont.mouchard@example.org"
IMEI = "356938035643809"
LAT, LON = "44.841225", "-0.570431"
PROFILE_YAML = f"""device: {{platform: android, name: Countly test phone}}
identifiers:
  advertising_id: {GAID}
  imei: "{IMEI}"
  email: {EMAIL}
location: {{lat: {LAT}, lon: {LON}, radius_m: 200}}
"""
EVENTS = [{"key": "[CLY]_view", "count": 1, "segmentation": {"name": "Map", "lat": LAT, "lon": LON}}]
COUNTLY_QUERY = (f"app_key=5f1b&device_id={GAID}&events=" + urllib.parse.quote(json.dumps(EVENTS))
                 + "&location=" + urllib.parse.quote(f"{LAT},{LON}"))
COUNTLY_STORED = (COUNTLY_QUERY.replace(GAID, "[GAID]").replace(LAT, "[LOCATION]").replace(LON, "[LOCATION]"))
ENVELOPE = "\n".join([
    json.dumps({"event_id": "9ec79c33ec9942ab8353589fcb2e04dc", "dsn": "https://k@o1.ingest.sentry.io/1"}),
    json.dumps({"type": "event", "length": len(json.dumps({"user": {"email": EMAIL}}))}),
    json.dumps({"user": {"email": EMAIL}}),
    json.dumps({"type": "attachment", "length": len(f"boot\nimei={IMEI}\n")}),
    f"boot\nimei={IMEI}\n"]) + "\n"
BATCH = "\n".join(["# sdk batch", json.dumps({"event": "geo", "properties": {"$lat": LAT, "$lon": LON}}),
                   json.dumps({"event": "id", "properties": {"$device_id": GAID}})]) + "\n"
EXPECTED_LEAKS = {
    ("countly.example.com", "location", "query", "events", "json:$[0].segmentation.lat>decimals:6"),
    ("countly.example.com", "location", "query", "location", "decimals:6"),
    ("countly.example.com", "advertising_id", "query", "device_id", "plain"),
    ("countly.example.com", "location", "body", "events", "json:$[0].segmentation.lat>decimals:6"),
    ("o1.ingest.sentry.io", "email", "body", "$.user.email", "ndjson:line3>json:$.user.email"),
    ("o1.ingest.sentry.io", "imei", "body", None, "ndjson:line5"),
    ("api.example-sdk.com", "location", "body", '$.properties["$lat"]',
     'ndjson:line2>json:$.properties["$lat"]>decimals:6'),
    ("api.example-sdk.com", "advertising_id", "body", '$.properties["$device_id"]',
     'ndjson:line3>json:$.properties["$device_id"]'),
}


@pytest.fixture(scope="module")
def profile_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("profile") / "bordeaux.yml"
    path.write_text(PROFILE_YAML)
    return path


def requests() -> list[tuple[str, str, str | None, str | None]]:
    """(method, url, body, content type) of the traffic planted values travel in."""
    return [
        ("GET", f"https://countly.example.com/i?{COUNTLY_QUERY}", None, None),
        ("POST", "https://countly.example.com/i", urllib.parse.urlencode({"app_key": "5f1b",
                                                                        "events": json.dumps(EVENTS)}),
         "application/x-www-form-urlencoded"),
        ("POST", "https://o1.ingest.sentry.io/api/1/envelope/", ENVELOPE, "application/x-sentry-envelope"),
        ("POST", "https://api.example-sdk.com/batch", BATCH, "application/x-ndjson"),
    ]


def stored(db: Path) -> tuple[set, list[dict]]:
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    leaks = {(r["destination_host"], r["identifier"], r["location"], r["field"], r["chain"])
             for r in con.execute("SELECT * FROM leaks")}
    flows = [dict(r) for r in con.execute("SELECT * FROM flows ORDER BY id")]
    con.close()
    return leaks, flows


def test_imported_countly_sentry_and_ndjson_traffic_is_stored_redacted_in_every_layer(profile_path, tmp_path):
    started = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.timezone.utc).isoformat()
    entries = []
    for method, url, body, ctype in requests():
        request = {"method": method, "url": url, "httpVersion": "HTTP/1.1", "headers": [
            {"name": "Content-Type", "value": ctype}] if ctype else [], "queryString": [], "cookies": [],
            "headersSize": -1, "bodySize": len(body or "")}
        if body is not None:
            request["postData"] = {"mimeType": ctype, "text": body}
        entries.append({"startedDateTime": started, "time": 5, "request": request, "response": {
            "status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1", "headers": [], "cookies": [],
            "content": {"size": 0, "mimeType": "text/plain", "text": ""}, "redirectURL": "", "headersSize": -1,
            "bodySize": 0}, "cache": {}, "timings": {"send": 0, "wait": 5, "receive": 0}})
    har = tmp_path / "phone.har"
    har.write_text(json.dumps({"log": {"version": "1.2", "creator": {"name": "t", "version": "1"},
                                       "entries": entries}}))
    db = tmp_path / "import.db"
    out = subprocess.run([sys.executable, "-m", "mouchard", "import", str(har), "--profile", str(profile_path),
                          "--db", str(db)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    leaks, flows = stored(db)
    assert leaks == EXPECTED_LEAKS
    assert flows[0]["url"] == f"https://countly.example.com/i?{COUNTLY_STORED}"
    events = json.loads(dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(flows[0]["url"]).query))["events"])
    assert events[0]["segmentation"] == {"name": "Map", "lat": "[LOCATION]", "lon": "[LOCATION]"}
    assert [f["analysis"] for f in flows] == ["complete"] * 4
    con = sqlite3.connect(db)
    # 44.84,-0.57 would be 140 m from the position, within its radius: maps get one decimal
    assert set(con.execute("SELECT lat, lon FROM leaks WHERE identifier = 'location'")) == {(44.8, -0.6)}
    con.close()
    assert assert_no_planted_values(db, profile_path, min_checked=40) >= 40


def test_countly_traffic_through_the_real_proxy_leaves_no_planted_value(profile_path, testweb, tmp_path):
    from test_addons_proxy import free_port, stop_tree, wait_port

    port = free_port()
    db = tmp_path / "capture.db"
    args = [sys.executable, "-m", "mouchard", "proxy", "--profile", str(profile_path), "--port", str(port),
            "--listen-host", "127.0.0.1", "--db", str(db), "--host-map", "*=127.0.0.1",
            "--ca-file", testweb.ca_pem_path, "--confdir", str(tmp_path / "conf"), "--flow-detail", "0"]
    with (tmp_path / "proxy.out").open("w") as out, (tmp_path / "proxy.err").open("w") as err:
        process = subprocess.Popen(args, stdout=out, stderr=err, text=True)
    try:
        wait_port(port, process, tmp_path / "proxy.err")
        import ssl

        import httpx

        context = ssl.create_default_context(cafile=str(tmp_path / "conf" / "mitmproxy-ca-cert.pem"))
        with httpx.Client(proxy=f"http://127.0.0.1:{port}", verify=context, timeout=60) as client:
            for method, url, body, ctype in requests():
                host, _, rest = url.removeprefix("https://").partition("/")
                client.request(method, testweb.url(host, "/" + rest), content=body,
                               headers={"Content-Type": ctype} if ctype else {})
    finally:
        stop_tree(process)  # SIGINT: the recorder writes every flow, then the run is finished
    leaks, flows = stored(db)
    assert len(flows) == 4 and {leak[1:] for leak in leaks} == {leak[1:] for leak in EXPECTED_LEAKS}
    assert flows[0]["url"] == testweb.url("countly.example.com", f"/i?{COUNTLY_STORED}")
    assert [f["analysis"] for f in flows] == ["complete"] * 4
    assert assert_no_planted_values(db, profile_path, min_checked=40) >= 40


# -- the last check ----------------------------------------------------------------------------------------------


class Passthrough(Redactor):
    """A redactor that misses everything: what a redaction bug, or a layer it cannot reach, looks like."""

    def url(self, url, matches=None, *, budget=None):
        return url

    def headers(self, pairs, matches=None, *, budget=None):
        return list(pairs)

    def text(self, value, *, budget=None):
        return value

    def _whole(self, value, location, budget):
        return value

    def json(self, value, *, budget=None):
        return value

    def cookie_value(self, value, *, budget=None):
        return value


def analyse(profile_path: Path, snap: FlowSnapshot, redactor=None):
    leaks = LeakStage(load_profile(profile_path))
    out: list = []
    analyser = Analyser([leaks, Redact(leaks)], out.extend).setup()
    if redactor is not None:
        leaks.redactor = redactor(leaks.detector, "android")
    analyser.handle(snap)
    analyser.close()
    return analyser, out[0]


def countly_snapshot(**kw) -> FlowSnapshot:
    return FlowSnapshot("k1", "http", "2025-03-01T12:00:00.000Z", method="GET",
                        url=f"https://countly.example.com/i?{COUNTLY_QUERY}", host="countly.example.com",
                        request_headers=[("User-Agent", "Countly/23.8")], status=200, **kw)


def test_last_check_replaces_a_column_a_redaction_missed_and_says_so(profile_path):
    analyser, record = analyse(profile_path, countly_snapshot(), Passthrough)
    flow = record.flow
    assert flow["url"] == "[redaction failed]" and flow["analysis"] == "redaction-failed"
    assert (flow["method"], flow["host"], flow["status"]) == ("GET", "countly.example.com", 200)
    assert flow["request_headers"] == [["User-Agent", "Countly/23.8"]]
    assert [(f["component"], f["kind"], f["detail"]) for f in record.failures] == [
        ("Redact", "redaction-failed",
         "a planted value was still found after redaction in flows.url: replaced by [redaction failed]")]
    assert analyser.summary()["mouchard/flows/redaction_failed"] == 1
    assert {(l["identifier"], l["field"]) for l in record.leaks} == {
        ("location", "events"), ("location", "location"), ("advertising_id", "device_id")}


def test_last_check_gives_a_first_pass_text_the_full_redaction(profile_path):
    """Response headers get only the first pass (the device sends leaks); one holding URL-encoded JSON with the
    position is caught by the last check and redacted in its layer, not left in clear."""
    header = urllib.parse.quote(json.dumps({"lat": LAT, "lon": LON}))
    analyser, record = analyse(profile_path, countly_snapshot(response_headers=[("X-Geo", header)]))
    assert record.flow["response_headers"] == [["X-Geo", header.replace(LAT, "[LOCATION]")
                                                .replace(LON, "[LOCATION]")]]
    assert record.flow["url"] == f"https://countly.example.com/i?{COUNTLY_STORED}"
    assert record.failures == [] and record.flow["analysis"] == "complete"


def test_leakscan_finds_a_planted_value_hidden_in_a_layer(profile_path, tmp_path):
    db = tmp_path / "t.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE t (a TEXT, b BLOB)")
    con.execute("INSERT INTO t VALUES (?, ?)", ("ok " + urllib.parse.quote(urllib.parse.quote(f'"{LAT}","{LON}"')), None))
    # a lone coordinate is not the position (a decoy due north shares the longitude; a timestamp's seconds)
    con.execute("INSERT INTO t VALUES (?, ?)", (f'{{"lat": "44.859191", "lon": "{LON}"}} 2026-12-07T07:24:{LAT[:6]}Z',
                                                None))
    con.execute("INSERT INTO t VALUES (?, ?)", ("fine", json.dumps({"d": GAID.upper()}).encode()))
    con.commit()
    con.close()
    findings, checked = planted_findings(db, load_profile(profile_path))
    assert checked == 4
    assert {(f.table, f.column, f.rowid, f.kind) for f in findings} == {("t", "a", 1, "location"),
                                                                        ("t", "b", 3, "advertising_id")}
    with pytest.raises(AssertionError, match="planted values stored in clear"):
        assert_no_planted_values(db, profile_path)


def test_leakscan_finds_a_map_position_within_the_radius(profile_path, tmp_path):
    db = tmp_path / "m.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE leaks (identifier TEXT, lat REAL, lon REAL)")
    con.executemany("INSERT INTO leaks VALUES (?, ?, ?)", [("location", 44.84, -0.57), ("location", 44.8, -0.6)])
    con.commit()
    con.close()
    findings, checked = planted_findings(db, load_profile(profile_path))
    assert checked == 2 and [(f.table, f.column, f.rowid, f.how) for f in findings] == [
        ("leaks", "lat,lon", 1, "map-position")]
