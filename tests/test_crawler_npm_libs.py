"""Real third-party libraries from npm run in the test web and are recorded doing what they are known to do:
FingerprintJS's canvas, WebGL and audio fingerprinting, rrweb's recording shipped to a collector, PostHog's
analytics events, session recording, cookie and storage.

One crawl (`mouchard crawl` in a subprocess, through the test web's proxy: portless URLs, as the libraries build
them) of demoweb/sites/npm_libs.py's three pages and one article carrying all of them with a Prebid.js auction
(the pages of benchmarks/crawl.py). JavaScript calls are asserted exactly over ASSERTED_APIS, the
catalogue of mouchard/detect/fingerprinting.py as it stood when these tests were written; APIs catalogued since are
ignored here until added to it with the calls the libraries make of them.
"""

from __future__ import annotations

import gzip
import json
import re
import sqlite3
import subprocess
import sys

import pytest
from conftest import needs
from demoweb.sites import consent_lib, npm_libs
from demoweb.sites.detectors_thirdparty import FP_HOST

from mouchard.detect.fingerprinting import BY_NAME
from mouchard.detect.replay import replay_payload

pytestmark = [pytest.mark.browser, pytest.mark.slow]
PAGES = ("/fingerprintjs", "/rrweb", "/posthog", "/article/1")
FPJS = f"https://{FP_HOST}{npm_libs.FPJS_PATH}"
RRWEB = f"https://{npm_libs.JSDELIVR}{npm_libs.RRWEB_PATH}"
REPLAY_JS = f"https://{npm_libs.HOST}/js/replay.js"
POSTHOG = f"https://{npm_libs.POSTHOG_ASSETS}{npm_libs.POSTHOG_PATH}"
TOKEN = npm_libs.POSTHOG_TOKEN

ASSERTED_APIS = frozenset({
    "AbsoluteOrientationSensor.constructor", "Accelerometer.constructor", "AmbientLightSensor.constructor",
    "AnalyserNode.getFloatFrequencyData", "AudioBuffer.getChannelData", "AudioContext.constructor",
    "BaseAudioContext.createAnalyser", "BaseAudioContext.createDynamicsCompressor",
    "BaseAudioContext.createOscillator", "CanvasRenderingContext2D.fillStyle", "CanvasRenderingContext2D.fillText",
    "CanvasRenderingContext2D.font", "CanvasRenderingContext2D.getImageData",
    "CanvasRenderingContext2D.isPointInPath", "CanvasRenderingContext2D.measureText",
    "CanvasRenderingContext2D.restore", "CanvasRenderingContext2D.save", "CanvasRenderingContext2D.strokeStyle",
    "CanvasRenderingContext2D.strokeText", "FontFaceSet.check", "GravitySensor.constructor",
    "Gyroscope.constructor", "HTMLCanvasElement.getContext", "HTMLCanvasElement.toBlob",
    "HTMLCanvasElement.toDataURL", "HTMLMediaElement.canPlayType", "Intl.DateTimeFormat.resolvedOptions",
    "LinearAccelerationSensor.constructor", "Magnetometer.constructor", "MediaDevices.enumerateDevices",
    "MediaSource.isTypeSupported", "Navigator.connection", "Navigator.cookieEnabled", "Navigator.deviceMemory",
    "Navigator.doNotTrack", "Navigator.getBattery", "Navigator.getGamepads", "Navigator.hardwareConcurrency",
    "Navigator.javaEnabled", "Navigator.language", "Navigator.languages", "Navigator.maxTouchPoints",
    "Navigator.mimeTypes", "Navigator.pdfViewerEnabled", "Navigator.platform", "Navigator.plugins",
    "Navigator.requestMediaKeySystemAccess", "Navigator.userAgent", "Navigator.userAgentData", "Navigator.vendor",
    "Navigator.webdriver", "NavigatorUAData.getHighEntropyValues", "OfflineAudioContext.constructor",
    "OfflineAudioContext.startRendering", "OffscreenCanvas.convertToBlob", "OffscreenCanvas.getContext",
    "OffscreenCanvasRenderingContext2D.fillStyle", "OffscreenCanvasRenderingContext2D.fillText",
    "OffscreenCanvasRenderingContext2D.font", "OffscreenCanvasRenderingContext2D.getImageData",
    "OffscreenCanvasRenderingContext2D.isPointInPath", "OffscreenCanvasRenderingContext2D.measureText",
    "OffscreenCanvasRenderingContext2D.restore", "OffscreenCanvasRenderingContext2D.save",
    "OffscreenCanvasRenderingContext2D.strokeText", "Permissions.query", "RTCPeerConnection.constructor",
    "RTCPeerConnection.createDataChannel", "RTCPeerConnection.createOffer", "RelativeOrientationSensor.constructor",
    "Screen.availHeight", "Screen.availWidth", "Screen.colorDepth", "Screen.height", "Screen.orientation",
    "Screen.pixelDepth", "Screen.width", "SpeechSynthesis.getVoices", "WebGL2RenderingContext.getExtension",
    "WebGL2RenderingContext.getParameter", "WebGL2RenderingContext.getShaderPrecisionFormat",
    "WebGL2RenderingContext.getSupportedExtensions", "WebGL2RenderingContext.readPixels",
    "WebGLRenderingContext.getExtension", "WebGLRenderingContext.getParameter",
    "WebGLRenderingContext.getShaderPrecisionFormat", "WebGLRenderingContext.getSupportedExtensions",
    "WebGLRenderingContext.readPixels", "Window.devicePixelRatio", "Window.matchMedia",
})


@pytest.fixture(scope="module")
def crawled(testweb, tmp_path_factory):
    needs(consent_lib.missing_packages(npm_libs.PACKAGES), "run scripts/setup.sh (npm install)")
    db = tmp_path_factory.mktemp("npmlibs") / "npmlibs.db"
    args = [sys.executable, "-m", "mouchard", "crawl", "--db", str(db), "--consent", "none", "--timeout", "20",
            "--concurrency", "2", "--dwell", "3"]
    args += [f"--browser-arg={flag}" for flag in testweb.chromium_args(proxy=True)]  # portless, as on the web
    result = subprocess.run([*args, *(f"https://{npm_libs.HOST}{page}" for page in PAGES)], capture_output=True,
                            text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    yield conn
    conn.close()


def visit(conn, page: str) -> int:
    rows = conn.execute("SELECT id, status FROM visits WHERE url = ?", (f"https://{npm_libs.HOST}{page}",)).fetchall()
    assert [r["status"] for r in rows] == ["ok"], page
    return rows[0]["id"]


def requests(conn, page: str) -> list[tuple]:
    """(method, url, resource_type, initiator_url, status) of a visit, page and favicon left out."""
    return sorted((r["method"], r["url"], r["resource_type"], r["initiator_url"], r["status"]) for r in conn.execute(
        "SELECT * FROM requests WHERE visit_id = ? AND resource_type != 'document' AND url NOT LIKE '%/favicon.ico'",
        (visit(conn, page),)))


def calls(conn, page: str, script: str) -> dict[str, str | None]:
    """{api: arguments} of one script in a visit, over ASSERTED_APIS."""
    return {r["api"]: r["arguments"] for r in conn.execute(
        "SELECT api, arguments FROM js_calls WHERE visit_id = ? AND script_url = ?", (visit(conn, page), script))
        if r["api"] in ASSERTED_APIS}


def script_row(conn, page: str, script: str) -> dict:
    rows = conn.execute("SELECT * FROM scripts WHERE visit_id = ? AND script_url = ?",
                        (visit(conn, page), script)).fetchall()
    assert len(rows) == 1, script
    return dict(rows[0])


def body(conn, page: str, method: str, url: str) -> bytes:
    rows = conn.execute("SELECT b.content FROM requests r JOIN bodies b ON b.sha256 = r.post_body_sha256 "
                        "WHERE r.visit_id = ? AND r.method = ? AND r.url = ?", (visit(conn, page), method, url))
    found = [r["content"] for r in rows]
    assert len(found) == 1, url
    return found[0]


def test_asserted_apis_are_still_catalogued():
    assert ASSERTED_APIS <= set(BY_NAME)


def test_fingerprintjs_canvas_webgl_audio_and_navigator_calls(crawled):
    got = calls(crawled, "/fingerprintjs", FPJS)
    assert set(got) == {
        # canvas: the winding test, then the text and geometry images read back
        "HTMLCanvasElement.getContext", "CanvasRenderingContext2D.isPointInPath", "CanvasRenderingContext2D.fillText",
        "CanvasRenderingContext2D.fillStyle", "CanvasRenderingContext2D.font", "HTMLCanvasElement.toDataURL",
        # WebGL basics and extensions
        "WebGLRenderingContext.getParameter", "WebGLRenderingContext.getExtension",
        "WebGLRenderingContext.getSupportedExtensions", "WebGLRenderingContext.getShaderPrecisionFormat",
        # audio: an oscillator through a compressor, rendered offline and read
        "OfflineAudioContext.constructor", "BaseAudioContext.createOscillator",
        "BaseAudioContext.createDynamicsCompressor", "OfflineAudioContext.startRendering",
        "AudioBuffer.getChannelData",
        # navigator, screen (devicePixelRatio: read in its temporary iframes), media queries, time zone
        "Navigator.userAgentData", "NavigatorUAData.getHighEntropyValues", "Navigator.vendor", "Navigator.connection",
        "Navigator.language", "Navigator.languages", "Navigator.hardwareConcurrency", "Navigator.deviceMemory",
        "Navigator.platform", "Navigator.plugins", "Navigator.maxTouchPoints", "Navigator.pdfViewerEnabled",
        "Screen.width", "Screen.height", "Screen.availWidth", "Screen.availHeight", "Screen.colorDepth",
        "Window.devicePixelRatio", "Window.matchMedia", "Intl.DateTimeFormat.resolvedOptions"}
    # FingerprintJS's own constants: a 1x1 2d canvas for winding and a WebGL one; images of 240x60 (text) and
    # 122x110 (geometry); the text; a 1-channel 5000-frame 44.1 kHz offline context
    assert json.loads(got["HTMLCanvasElement.getContext"]) == [["2d", 1, 1], ["webgl", 300, 150]]
    assert json.loads(got["HTMLCanvasElement.toDataURL"]) == [[None, None, 240, 60], [None, None, 122, 110]]
    assert {args[0] for args in json.loads(got["CanvasRenderingContext2D.fillText"])} == {"Cwm fjordbank gly \U0001f603"}
    assert json.loads(got["OfflineAudioContext.constructor"]) == [[1, 5000, 44100]]
    assert ["WEBGL_debug_renderer_info"] in json.loads(got["WebGLRenderingContext.getExtension"])
    row = script_row(crawled, "/fingerprintjs", FPJS)
    assert (row["canvas_fingerprinting"], row["webgl_fingerprinting"], row["audio_fingerprinting"],
            row["session_replay"], row["third_party"]) == (1, 1, 1, 0, 1)


def test_fingerprintjs_visitor_id_is_posted_by_the_page(crawled):
    page = f"https://{npm_libs.HOST}/fingerprintjs"
    assert requests(crawled, "/fingerprintjs") == [
        ("GET", FPJS, "script", page, 200),
        ("POST", f"https://{npm_libs.HOST}/collect", "fetch", page, 204)]
    sent = json.loads(body(crawled, "/fingerprintjs", "POST", f"https://{npm_libs.HOST}/collect"))
    assert list(sent) == ["visitorId"] and len(sent["visitorId"]) == 32 and int(sent["visitorId"], 16) >= 0


def test_rrweb_recording_is_shipped_and_detected(crawled):
    page = f"https://{npm_libs.HOST}/rrweb"
    collector = f"https://{npm_libs.REPLAY_COLLECTOR}/events"
    assert requests(crawled, "/rrweb") == sorted([
        ("GET", RRWEB, "script", page, 200), ("GET", REPLAY_JS, "script", page, 200),
        ("OPTIONS", collector, "preflight", collector, 204), ("POST", collector, "fetch", REPLAY_JS, 200)])
    events = json.loads(body(crawled, "/rrweb", "POST", collector))["events"]
    # rrweb's stream: DOMContentLoaded (0), Load (1), Meta (4), FullSnapshot (2), then incremental snapshots (3):
    # the DOM mutation (source 0) adding the list item, mouse moves (source 1) from the crawler's dwell
    assert [e["type"] for e in events[:4]] == [0, 1, 4, 2]
    added = [a for e in events if e["type"] == 3 and e["data"]["source"] == 0 for a in e["data"]["adds"]]
    assert any(a["node"].get("textContent") == "added after load" for a in added)
    payload = replay_payload(body(crawled, "/rrweb", "POST", collector), "application/json")
    assert payload is not None and payload.snapshots == 1 and payload.mutations >= 1
    row = script_row(crawled, "/rrweb", REPLAY_JS)
    assert (row["session_replay"], row["session_replay_service"], json.loads(row["session_replay_hosts"])) == (
        1, "rrweb", [npm_libs.REPLAY_COLLECTOR])
    assert calls(crawled, "/rrweb", RRWEB) == {"Navigator.userAgent": None}
    assert script_row(crawled, "/rrweb", RRWEB)["session_replay"] == 0


def test_posthog_events_recording_cookie_and_storage(crawled):
    page = f"https://{npm_libs.HOST}/posthog"
    api = f"https://{npm_libs.POSTHOG_API}"
    config = f"https://{npm_libs.POSTHOG_ASSETS}/array/{TOKEN}/config.js"
    got = requests(crawled, "/posthog")
    assert [r for r in got if r[2] != "ping"] == sorted([
        ("GET", POSTHOG, "script", page, 200), ("GET", config, "script", POSTHOG, 200),
        ("POST", f"{api}/e/", "fetch", POSTHOG, 200), ("POST", f"{api}/s/", "fetch", POSTHOG, 200)])
    # When the visit leaves the page, posthog-js flushes its recording ($snapshot) and sends $pageleave by
    # sendBeacon; whether DevTools sees their answers races with the page's unload (status may be empty).
    assert sorted(r[:4] for r in got if r[2] == "ping") == sorted([
        ("POST", f"{api}/s/", "ping", POSTHOG), ("POST", f"{api}/i/v0/e/", "ping", POSTHOG)])
    # one $snapshot event: Meta (4) then the full snapshot (2), its data gzipped by posthog-js ("cv" 2024-10)
    recording = json.loads(gzip.decompress(body(crawled, "/posthog", "POST", f"{api}/s/")))
    assert [event["event"] for event in recording] == ["$snapshot"]
    snapshot = recording[0]["properties"]["$snapshot_data"]
    assert [e["type"] for e in snapshot[:2]] == [4, 2] and snapshot[1]["cv"] == "2024-10"
    assert json.loads(gzip.decompress(snapshot[1]["data"].encode("latin-1")))["node"]["type"] == 0  # Document
    payload = replay_payload(body(crawled, "/posthog", "POST", f"{api}/s/"), "text/plain")
    assert payload is not None and payload.snapshots == 1
    row = script_row(crawled, "/posthog", POSTHOG)
    assert (row["session_replay"], row["session_replay_service"], json.loads(row["session_replay_hosts"]),
            row["tracker_entity"], row["tracker_category"]) == (1, "rrweb", [npm_libs.POSTHOG_API], "PostHog",
                                                               "analytics")
    assert set(calls(crawled, "/posthog", POSTHOG)) == {
        "Navigator.userAgent", "Navigator.userAgentData", "NavigatorUAData.getHighEntropyValues",
        "Navigator.webdriver", "Navigator.vendor", "Navigator.maxTouchPoints", "Navigator.language",
        "Screen.width", "Screen.height", "Window.devicePixelRatio", "Intl.DateTimeFormat.resolvedOptions"}
    vid = visit(crawled, "/posthog")
    cookies = {(r["name"], r["domain"], r["set_by"], r["setter_url"]) for r in crawled.execute(
        "SELECT * FROM cookies WHERE visit_id = ?", (vid,))}
    # posthog-js finds the registrable domain by writing a 3-second `dmn_chk_<uuid>` cookie on each parent domain
    # until one sticks: `.fr` is a public suffix (refused, no row), `.npm-lab.fr` is kept for those 3 seconds
    site = f".{npm_libs.HOST.split('.', 1)[1]}"
    probes = {c for c in cookies if c[0].startswith("dmn_chk_")}
    assert [(c[1:], re.fullmatch(r"dmn_chk_[0-9a-f-]{36}", c[0]) is not None) for c in probes] == [
        ((site, "script", POSTHOG), True)]
    assert cookies - probes == {(f"ph_{TOKEN}_posthog", site, "script", POSTHOG)}
    storage = {(r["kind"], r["name"]) for r in crawled.execute("SELECT * FROM storage_items WHERE visit_id = ?",
                                                               (vid,))}
    assert storage == {("local", f"ph_{TOKEN}_posthog"), ("session", f"ph_{TOKEN}_posthog"),
                       ("session", f"ph_{TOKEN}_window_id"), ("session", f"ph_{TOKEN}_primary_window_exists"),
                       ("session", f"ph_{TOKEN}_session_registered_properties")}



def test_an_article_with_all_the_libraries_records_each_one(crawled):
    """The benchmark's page: FingerprintJS, rrweb, posthog-js and a Prebid.js auction together, each recorded as
    on its own page (the same calls from FingerprintJS, the same traffic)."""
    page = f"https://{npm_libs.HOST}/article/1"
    prebid = f"https://{npm_libs.HOST}/js/prebid.js?modules={','.join(npm_libs.PREBID_MODULES)}"
    api, collector = f"https://{npm_libs.POSTHOG_API}", f"https://{npm_libs.REPLAY_COLLECTOR}/events"
    got = requests(crawled, "/article/1")
    assert sorted({r[:2] for r in got}) == sorted({
        ("GET", FPJS), ("GET", RRWEB), ("GET", REPLAY_JS), ("GET", POSTHOG), ("GET", prebid),
        ("GET", f"https://{npm_libs.POSTHOG_ASSETS}/array/{TOKEN}/config.js"),
        ("POST", f"https://{npm_libs.HOST}/collect"), ("OPTIONS", collector), ("POST", collector),
        ("POST", f"{api}/e/"), ("POST", f"{api}/s/"), ("POST", f"{api}/i/v0/e/"),
        ("POST", "https://ib.adnxs.com/ut/v3/prebid"), ("POST", "https://rtb.openx.net/openrtbb/prebidjs"),
        ("GET", "https://example-d.openx.net/w/1.0/pd"), ("GET", "https://px.ads.linkedin.com/setuid?partner=appNexus")})
    initiators = {r[1]: (r[2], r[3]) for r in got if r[0] == "POST" and "posthog" not in r[1]}
    assert initiators == {f"https://{npm_libs.HOST}/collect": ("fetch", page), collector: ("fetch", REPLAY_JS),
                          "https://ib.adnxs.com/ut/v3/prebid": ("fetch", prebid),
                          "https://rtb.openx.net/openrtbb/prebidjs": ("fetch", prebid)}
    assert calls(crawled, "/article/1", FPJS) == calls(crawled, "/fingerprintjs", FPJS)
    vid = visit(crawled, "/article/1")
    auction = sorted((r["event"], r["bidder"] or "", r["cpm"], r["currency"] or "") for r in crawled.execute(
        "SELECT * FROM rtb WHERE visit_id = ? AND library = 'prebid'", (vid,)))
    assert auction == sorted([
        ("auctionInit", "", None, ""), ("bidRequested", "appnexus", None, ""), ("bidRequested", "openx", None, ""),
        ("bidResponse", "appnexus", 0.85, "USD"), ("bidResponse", "openx", 1.2, "USD"), ("auctionEnd", "", None, ""),
        ("bidWon", "openx", 1.2, "USD")])
    flags = {r["script_url"]: (r["canvas_fingerprinting"], r["webgl_fingerprinting"], r["audio_fingerprinting"],
                               r["session_replay"]) for r in crawled.execute(
        "SELECT * FROM scripts WHERE visit_id = ?", (vid,))}
    assert flags[FPJS] == (1, 1, 1, 0) and flags[REPLAY_JS] == (0, 0, 0, 1)


def test_posthog_compressed_snapshot_counts_as_a_snapshot():
    """posthog-js gzips each snapshot's data into a latin-1 string; the replay detector inflates it."""
    document = {"node": {"type": 0, "childNodes": []}, "initialOffset": {"top": 0, "left": 0}}
    snapshot = {"type": 2, "data": gzip.compress(json.dumps(document).encode()).decode("latin-1"), "timestamp": 2,
                "cv": "2024-10"}
    batch = [{"event": "$snapshot", "properties": {"$snapshot_data": [
        {"type": 4, "data": {"href": "https://x.test/"}, "timestamp": 1}, snapshot]}}]
    payload = replay_payload(gzip.compress(json.dumps(batch).encode()), "text/plain")
    assert (payload.events, payload.snapshots, payload.mutations, payload.inputs) == (2, 1, 0, 0)
    broken = {**snapshot, "data": "\x1f\x8b" + "\u20ac" * 10}  # not latin-1: left alone, not an error
    assert replay_payload(json.dumps([broken]).encode()) is None
