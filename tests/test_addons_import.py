"""`mouchard import`: a saved capture (.mitm from mitmproxy, .har from a browser or mitmproxy) goes through the same
addons as a live capture, offline, and ends with a summary."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from demoweb import DATA as SAMPLES
from mouchard.identify.profile import load_profile

ROOT = Path(__file__).resolve().parents[1]
PROFILE_PATH = SAMPLES / "profiles" / "android.yml"
PROFILE = load_profile(PROFILE_PATH)
GAID = PROFILE.value("advertising_id")


def mouchard(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mouchard", *args], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def capture_mitm(tmp_path_factory) -> Path:
    """A mitmproxy dump with an ad request, an attribution call setting a cookie and a WebSocket."""
    from mitmproxy import io
    from mitmproxy.test import tflow
    from mitmproxy.websocket import WebSocketMessage

    flows = []
    ad = tflow.tflow(resp=True)
    ad.request.url = "https://ads.inmobi.com/openrtb/bid"
    ad.request.method = "POST"
    ad.request.headers["User-Agent"] = "com.example.game/2.4.1 (Linux; U; Android 13)"
    ad.request.headers["Content-Type"] = "application/json"
    ad.request.headers["Content-Encoding"] = "gzip"
    ad.request.raw_content = gzip.compress(json.dumps({"id": "a1", "imp": [{"id": "1"}],
                                                   "device": {"ifa": GAID, "geo": {"lat": 48.8584, "lon": 2.2945}}}
                                                  ).encode())
    ad.response.status_code = 204
    ad.response.content = b""
    flows.append(ad)
    attribution = tflow.tflow(resp=True)
    attribution.request.url = f"https://app.adjust.com/session?android_id={PROFILE.value('android_id').upper()}"
    attribution.response.headers["Set-Cookie"] = "adj_uid=a9d1c3e5f7b2d4f6; Max-Age=31536000; Secure"
    flows.append(attribution)
    socket = tflow.twebsocketflow()
    socket.request.url = "https://rt.example-sdk.com/socket"
    socket.websocket.messages = [WebSocketMessage(1, True, json.dumps({"imei": PROFILE.value("imei")}).encode()),
                                 WebSocketMessage(1, False, b"ok")]
    flows.append(socket)
    path = tmp_path_factory.mktemp("captures") / "phone.mitm"
    with path.open("wb") as handle:
        writer = io.FlowWriter(handle)
        for flow in flows:
            writer.add(flow)
    return path


@pytest.fixture(scope="module")
def capture_har(tmp_path_factory) -> Path:
    started = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.timezone.utc).isoformat()

    def entry(url: str, method: str = "GET", body: str | None = None, headers=()) -> dict:
        request = {"method": method, "url": url, "httpVersion": "HTTP/2", "headers": [
            {"name": k, "value": v} for k, v in headers], "queryString": [], "cookies": [], "headersSize": -1,
            "bodySize": len(body or "")}
        if body is not None:
            request["postData"] = {"mimeType": "application/json", "text": body}
        return {"startedDateTime": started, "time": 12, "request": request,
                "response": {"status": 200, "statusText": "OK", "httpVersion": "HTTP/2", "headers": [
                    {"name": "Content-Type", "value": "application/json"}], "cookies": [],
                    "content": {"size": 2, "mimeType": "application/json", "text": "{}"}, "redirectURL": "",
                    "headersSize": -1, "bodySize": 2}, "cache": {}, "timings": {"send": 0, "wait": 12, "receive": 0}}

    har = {"log": {"version": "1.2", "creator": {"name": "test", "version": "1"}, "entries": [
        entry("https://t.appsflyer.com/api/v1/loc", "POST", json.dumps({"lat": 48.85837, "lng": 2.29448}),
              [("Content-Type", "application/json"), ("X-Requested-With", "com.example.maps")]),
        entry(f"https://graph.facebook.com/v17.0/1/activities?advertiser_id={GAID}"),
    ]}}
    path = tmp_path_factory.mktemp("captures") / "browser.har"
    path.write_text(json.dumps(har))
    return path


def test_import_of_a_mitm_capture_records_flows_leaks_and_cookies(capture_mitm, tmp_path):
    db = tmp_path / "import.db"
    out = mouchard("import", str(capture_mitm), "--profile", str(PROFILE_PATH), "--db", str(db))
    assert out.returncode == 0, out.stderr[-2000:]
    assert "run 1: 2 http, 1 websocket" in out.stdout and "advertising_id: 1 leak(s) to 1 site(s)" in out.stdout
    con = sqlite3.connect(db)
    crawl = con.execute("SELECT kind, status, config FROM crawls").fetchone()
    assert crawl[:2] == ("import", "finished") and json.loads(crawl[2])["format"] == "mitm"
    leaks = set(con.execute("SELECT identifier, location, chain, destination_host FROM leaks"))
    assert leaks == {("advertising_id", "body", "gzip>json:$.device.ifa", "ads.inmobi.com"),
                     ("location", "body", "gzip>json:$.device.geo.lat>decimals:4", "ads.inmobi.com"),
                     ("android_id", "query", "plain", "app.adjust.com"),
                     ("imei", "websocket", "json:$.imei", "rt.example-sdk.com")}
    assert con.execute("SELECT app FROM flows WHERE host = 'ads.inmobi.com'").fetchone() == ("com.example.game/2.4.1",)
    assert con.execute("SELECT name, identifier FROM cookies").fetchall() == [("adj_uid", 1)]
    assert con.execute("SELECT event FROM rtb").fetchall() == [("openrtb-request",)]
    assert con.execute("SELECT url FROM flows WHERE host = 'app.adjust.com'").fetchone()[0].endswith(
        "android_id=[ANDROID_ID]")


def test_import_of_a_har_file_with_an_app_name(capture_har, tmp_path):
    db = tmp_path / "har.db"
    out = mouchard("import", str(capture_har), "--profile", str(PROFILE_PATH), "--db", str(db), "--app", "Maps")
    assert out.returncode == 0, out.stderr[-2000:]
    assert "run 1: 2 http" in out.stdout
    con = sqlite3.connect(db)
    assert set(con.execute("SELECT identifier, location, chain FROM leaks")) == {
        ("location", "body", "json:$.lat>decimals:5"), ("advertising_id", "query", "plain")}
    assert set(con.execute("SELECT app, app_source FROM flows")) == {("Maps", "option")}
    assert json.loads(con.execute("SELECT config FROM crawls").fetchone()[0])["format"] == "har"


@pytest.mark.parametrize("content, message", [
    (b'{"not": "a har"}', "is not a HAR file"),
    (b"GIF89a....", "neither a mitmproxy capture"),
])
def test_import_of_a_bad_file_is_a_one_line_error(tmp_path, content, message):
    path = tmp_path / "bad.capture"
    path.write_bytes(content)
    out = mouchard("import", str(path), "--profile", str(PROFILE_PATH), "--db", str(tmp_path / "x.db"))
    assert out.returncode == 1 and message in out.stderr and "Traceback" not in out.stderr


def test_import_with_a_bad_profile_is_a_one_line_error(capture_har, tmp_path):
    profile = tmp_path / "device.yml"
    profile.write_text("identifiers: {gaid: x}\n")
    out = mouchard("import", str(capture_har), "--profile", str(profile), "--db", str(tmp_path / "x.db"))
    assert out.returncode == 1 and "unknown key identifiers.gaid" in out.stderr
    assert out.stderr.count("\n") == 1


MITMDUMP = Path(sys.executable).parent / "mitmdump"
ALONE = {  # addon file -> (extra options, a line it must log for the capture)
    "attribute_apps.py": ([], "com.example.game/2.4.1 (user-agent) -> https://ads.inmobi.com/openrtb/bid"),
    "classify_destinations.py": ([], "ads.inmobi.com: InMobi (advertising)"),
    "detect_id_syncs.py": ([], None),
    "detect_leaks.py": ([f"mouchard_profile={PROFILE_PATH}"], "leak: imei to rt.example-sdk.com in websocket"),
    "map_hosts.py": (["mouchard_host_map=*=127.0.0.1"], None),
    "parse_openrtb.py": ([], "openrtb-request at ads.inmobi.com: device.geo, device.ifa"),
    "record_flows.py": ([], "recording into"),
    "store_cookies.py": ([], "cookie adj_uid of app.adjust.com (header): identifier"),
}


@pytest.mark.parametrize("script", sorted(ALONE))
def test_every_addon_runs_alone_under_mitmdump(script, capture_mitm, tmp_path):
    options, line = ALONE[script]
    args = [str(MITMDUMP), "-n", "-r", str(capture_mitm), "-s", str(ROOT / "addons" / script),
            "--set", f"confdir={tmp_path / 'conf'}", "--set", "flow_detail=0", "--set", f"mouchard_db={tmp_path / 'a.db'}"
            ] if script == "record_flows.py" else [
            str(MITMDUMP), "-n", "-r", str(capture_mitm), "-s", str(ROOT / "addons" / script),
            "--set", f"confdir={tmp_path / 'conf'}", "--set", "flow_detail=0"]
    for option in options:
        args += ["--set", option]
    out = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "Traceback" not in out.stdout + out.stderr, out.stdout[-2000:] + out.stderr[-2000:]
    if line:
        assert line in out.stdout, out.stdout[-2000:]


def test_all_addons_load_together_from_the_bundle(capture_mitm, tmp_path):
    out = subprocess.run([str(MITMDUMP), "-n", "-r", str(capture_mitm), "-s", str(ROOT / "addons" / "mouchard_addons.py"),
                          "--set", f"confdir={tmp_path / 'conf'}", "--set", f"mouchard_db={tmp_path / 'b.db'}",
                          "--set", f"mouchard_profile={PROFILE_PATH}", "--set", "flow_detail=0"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout[-2000:]
    assert "with AttributionStage, LeakStage, CookieStage, OpenrtbStage, IdSyncStage, ClassifyStage, Redact" \
        in out.stdout
    assert sqlite3.connect(tmp_path / "b.db").execute("SELECT count(*) FROM leaks").fetchone()[0] == 4
