"""`mouchard crawl --warc` (crawler/collectors/archive.py) and a replayed visit's clock and network
(crawler/collectors/clock.py, crawler/browser/launch.py `replay_args`).

One real crawl (`mouchard crawl --warc --screenshots`, Chromium, through the test web's proxy) of two crawler-lab
pages: each visit's WARC, read back with warcio's own reader, holds a response for every request row with a
status, the bodies the test web served, the POST bodies, the visit's metadata and its screenshot. One replayed
visit (library call, `RunSettings.replay` with a capture time in 2024) shows the page's `Date.now()` pinned and the
browser reaching the test web only through the run's proxy. The budgets and the failure paths are checked on the
collector itself with a fake target; the pure parts with hypothesis.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import sqlite3
import subprocess
import sys
import urllib.parse
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from warcio.archiveiterator import ArchiveIterator

from conftest import NO_CALLS
from crawler.browser.launch import REPLAY_ARGS, LaunchPlan, replay_args
from crawler.collectors.archive import (RecordArchive, bound_body, decode_body, expects_body, header_pairs,
                                        http_version)
from crawler.collectors.base import VisitContext
from crawler.collectors.clock import PinClock, capture_epoch_ms, clock_offset_ms
from crawler.collectors.state import Chain, Evidence, Hop, NetworkState
from demoweb.sites import crawler_lab, detectors
from mouchard.archive.records import HEADER_VALUE_MAX, HEADERS_MAX
from mouchard.net import NetworkOptions
from mouchard.settings import ReplaySettings, RunSettings

PAGES = ["/workers", "/probe"]
CAPTURED = "2024-01-02T03:04:05Z"
CAPTURED_MS = 1704164645000


def page_url(path: str, host: str = crawler_lab.HOST) -> str:
    return f"https://{host}{path}"  # portless: the crawl goes through the test web's proxy


# --- one crawl with --warc --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def crawled(testweb, tmp_path_factory):
    """(connection, database path) after `mouchard crawl --warc --screenshots` of the two lab pages."""
    db = tmp_path_factory.mktemp("warc") / "warc.db"
    args = [sys.executable, "-m", "mouchard", "crawl", "--db", str(db), "--warc", "--screenshots", "--consent", "none",
            "--dwell", "0", "--timeout", "20", "--concurrency", "2", *NO_CALLS,
            *(f"--browser-arg={flag}" for flag in testweb.chromium_args(proxy=True))]
    result = subprocess.run([*args, *(page_url(p) for p in PAGES)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    yield conn, db
    conn.close()


def visit_of(conn, path: str) -> sqlite3.Row:
    rows = [r for r in conn.execute("SELECT * FROM visits") if urllib.parse.urlsplit(r["url"]).path == path]
    assert len(rows) == 1, path
    return rows[0]


def warc_of(conn, db: Path, visit_id: int) -> tuple[sqlite3.Row, Path]:
    files = conn.execute("SELECT * FROM evidence_files WHERE visit_id = ? AND documents = 'warc'",
                         (visit_id,)).fetchall()
    assert len(files) == 1
    return files[0], Path(str(db) + ".evidence") / files[0]["path"]


def records(path: Path) -> list:
    """Every record of a WARC, read by warcio's own reader (payloads read while the record is current)."""
    out = []
    with open(path, "rb") as handle:
        for record in ArchiveIterator(handle):
            payload = record.content_stream().read()
            out.append((record, payload))
    return out


def exchanges(path: Path) -> tuple[list[tuple[str, str, int, bytes, str | None]], dict[str, bytes]]:
    """([(url, method, status, body, WARC-Truncated)] of the response records, each with its request's method;
    {request URL: request body})."""
    responses, methods, request_bodies = [], {}, {}
    for record, payload in records(path):
        if record.rec_type == "response":
            responses.append((record, payload))
        elif record.rec_type == "request":
            methods[record.rec_headers.get_header("WARC-Concurrent-To")] = record.http_headers.protocol
            request_bodies[record.rec_headers.get_header("WARC-Target-URI")] = payload
    pairs = [(record.rec_headers.get_header("WARC-Target-URI"), methods[record.rec_headers.get_header("WARC-Record-ID")],
              int(record.http_headers.get_statuscode()), payload, record.rec_headers.get_header("WARC-Truncated"))
             for record, payload in responses]
    return pairs, request_bodies


@pytest.mark.browser
@pytest.mark.slow
def test_every_visit_has_one_warc_hashed_in_evidence_files(crawled):
    conn, db = crawled
    assert [r["status"] for r in conn.execute("SELECT status FROM visits ORDER BY id")] == ["ok", "ok"]
    for path in PAGES:
        visit = visit_of(conn, path)
        row, file = warc_of(conn, db, visit["id"])
        data = file.read_bytes()
        assert row["sha256"] == hashlib.sha256(data).hexdigest() and row["size"] == len(data)
        assert row["media_type"] == "application/warc"
    assert conn.execute("SELECT count(*) FROM failures").fetchone()[0] == 0


LAB, AD = f"https://{crawler_lab.HOST}", f"https://{crawler_lab.AD_HOST}"
ANSWERED = {
    "/workers": {(f"{LAB}/workers", "GET", 200), (f"{LAB}/lab-worker.js", "GET", 200), (f"{AD}/beacon", "POST", 204),
                 (f"{AD}/collect", "POST", 204), (f"{AD}/hop1", "GET", 302), (f"{AD}/hop2", "GET", 302),
                 (f"{AD}/hop-end", "GET", 200), (f"{LAB}/favicon.ico", "GET", 404),
                 (f"{LAB}/from-worker", "GET", 200), (f"{LAB}/lab-sw.js", "GET", 200),
                 (f"{LAB}/from-service-worker", "GET", 200)},
    "/probe": {(f"{LAB}/probe", "GET", 200), (f"{LAB}/report", "POST", 204), (f"{LAB}/favicon.ico", "GET", 404)},
}
# the service worker's registration and fetch: answered in most crawls, seen without their answer in some (they may
# start as the page is left); the WARC follows the request rows either way
SERVICE_WORKER = {(f"{LAB}/lab-sw.js", "GET", 200), (f"{LAB}/from-service-worker", "GET", 200)}


@pytest.mark.browser
@pytest.mark.slow
def test_warc_holds_a_response_for_every_answered_request(crawled):
    """The same (URL, method, status) set as the visit's request rows with a status, and the rows are those the
    pages make (page, dedicated worker, service worker, beacon, POST, both redirect hops)."""
    conn, db = crawled
    for path in PAGES:
        visit = visit_of(conn, path)
        _, file = warc_of(conn, db, visit["id"])
        answered = {(r["url"], r["method"], r["status"]) for r in conn.execute(
            "SELECT url, method, status FROM requests WHERE visit_id = ? AND status IS NOT NULL", (visit["id"],))}
        pairs, _ = exchanges(file)
        assert {(url, method, status) for url, method, status, _, _ in pairs} == answered
        assert answered | SERVICE_WORKER == ANSWERED[path] | SERVICE_WORKER
        assert len(pairs) == len(answered)


# Bodies the browser may not give back: a dedicated worker's own script (fetched before its Network domain is on),
# and, on a loaded machine, what workers fetch (their targets come and go on their own schedule): then archived
# empty and marked `unspecified`, never wrong and never unmarked.
WORKER_BODIES = {f"{LAB}/lab-worker.js", f"{LAB}/from-worker", f"{LAB}/lab-sw.js", f"{LAB}/from-service-worker"}


@pytest.mark.browser
@pytest.mark.slow
def test_every_body_is_what_the_test_web_served(crawled, testweb):
    """Every 200 answer's body (the page's, a script's, a pixel's, a dedicated and a service worker's fetch) equals
    what the test web serves for the same URL, unmarked; 204 and 302 answers have none; a body the browser may not
    give back (WORKER_BODIES) is then marked `WARC-Truncated: unspecified`."""
    conn, db = crawled
    with httpx.Client(proxy=testweb.proxy_url, verify=testweb.ssl_context()) as client:
        for path in PAGES:
            visit = visit_of(conn, path)
            _, file = warc_of(conn, db, visit["id"])
            pairs, _ = exchanges(file)
            for url, method, status, body, cut in pairs:
                served = client.get(url).content if status == 200 else b""
                if url in WORKER_BODIES:
                    assert (body, cut) in ((served, None), (b"", "unspecified")), (url, cut, len(body))
                elif status in (200, 204, 302):
                    assert (body, cut) == (served, None), (url, cut, len(body))


@pytest.mark.browser
@pytest.mark.slow
def test_post_bodies_and_redirect_hops_are_archived(crawled):
    conn, db = crawled
    visit = visit_of(conn, "/workers")
    _, file = warc_of(conn, db, visit["id"])
    _, request_bodies = exchanges(file)
    collect = page_url("/collect", crawler_lab.AD_HOST)
    assert request_bodies[collect] == b'{"event":"lab","uid":"u-1234567"}'
    assert request_bodies[f"{AD}/beacon"] == b"b=1"
    hops = {url: location for url, location in locations(file).items() if "/hop" in url}
    assert hops == {f"{AD}/hop1": "/hop2", f"{AD}/hop2": "/hop-end", f"{AD}/hop-end": None}


def locations(path: Path) -> dict[str, str | None]:
    """{response URL: its Location header} of a WARC's responses."""
    return {record.rec_headers.get_header("WARC-Target-URI"): record.http_headers.get_header("Location")
            for record, _ in records(path) if record.rec_type == "response"}


@pytest.mark.browser
@pytest.mark.slow
def test_metadata_record_names_the_visit_and_the_screenshot_is_a_resource(crawled):
    conn, db = crawled
    visit = visit_of(conn, "/probe")
    _, file = warc_of(conn, db, visit["id"])
    found = records(file)
    assert found[0][0].rec_type == "warcinfo"
    meta = json.loads(found[1][1])
    assert (meta["record"], meta["visit_key"], meta["phase"], meta["site"], meta["url"]) == (
        "visit", visit["key"], "initial", "cookie-lab.fr", page_url("/probe"))
    assert meta["crawl_id"] == visit["crawl_id"] and meta["started_at"] == visit["started_at"]
    assert meta["screenshot"] == "archived"
    shots = [payload for record, payload in found if record.rec_type == "resource"]
    png = conn.execute("SELECT path FROM evidence_files WHERE visit_id = ? AND documents = 'screenshot'",
                       (visit["id"],)).fetchone()["path"]
    assert shots == [(Path(str(db) + ".evidence") / png).read_bytes()]


# --- the collector on a fake target: budgets and failures ---------------------------------------------------------
class FakeHub:
    def __init__(self):
        self.handlers: dict[str, list] = {}
        self.tasks: list = []

    def on(self, method, handler):
        self.handlers.setdefault(method, []).append(handler)

    def spawn(self, coro):
        self.tasks.append(asyncio.ensure_future(coro))

    def emit(self, target, method, params):
        for handler in self.handlers.get(method, []):
            handler(target, params)


class FakeTarget:
    """A page target whose `Network.getResponseBody` answers from `bodies` (missing: a CDP error)."""

    def __init__(self, bodies: dict[str, dict]):
        self.type = "page"
        self.bodies = bodies
        self.sent: list[tuple[str, dict]] = []

    async def send(self, method, params=None, *, timeout=None):
        from crawler.browser.targets import CDPError

        self.sent.append((method, params or {}))
        if method == "Network.getResponseBody":
            if params["requestId"] not in self.bodies:
                raise CDPError("No resource with given identifier found")
            return self.bodies[params["requestId"]]
        return {}


def fake_visit(tmp_path: Path, hops: list[dict]) -> VisitContext:
    visit = VisitContext(key="initial https://www.example.org/", url="https://www.example.org/",
                         site="example.org", hook_timeout=10)
    visit.hub = FakeHub()
    visit.started_at = "2026-01-01T00:00:00.000Z"
    visit.evidence = Evidence(warc=str(tmp_path / "crawl-3" / "v.warc.gz"))
    state = visit.shared.network = NetworkState()
    for number, row in enumerate(hops):
        request_id = f"r{number}"
        hop = Hop((request_id, 0), {"method": "GET", "time_ms": 10 * number, "request_headers": {},
                                    "response_headers": {"Content-Type": "text/plain"}, **row})
        state.chains[request_id] = Chain(request_id, None, [hop])
        state.order.append(hop)
    return visit


async def run_collector(collector: RecordArchive, visit: VisitContext, target: FakeTarget, finished: list[str]):
    await collector.attach(visit, target)
    for request_id in finished:
        visit.hub.emit(target, "Network.loadingFinished", {"requestId": request_id, "encodedDataLength": 100})
    return await collector.collect(visit)


def test_bodies_past_the_budgets_are_cut_and_marked(tmp_path):
    """Body budget 10 bytes, visit budget 25: the first body is cut to 10, a 2xx body that could not be read is
    marked unspecified, the third (base64) is cut to 10, the fourth keeps the 5 bytes left, the fifth none; a 204
    expects no body; the buffers were raised."""
    urls = [f"https://www.example.org/{n}" for n in range(6)]
    visit = fake_visit(tmp_path, [{"url": u, "status": 200, "response_size": 100} for u in urls[:5]]
                       + [{"url": urls[5], "status": 204, "response_size": 0}])
    text = {"body": "x" * 40, "base64Encoded": False}
    target = FakeTarget({"r0": text, "r2": {"body": base64.b64encode(b"y" * 40).decode(), "base64Encoded": True},
                         "r3": text, "r4": text})
    collector = RecordArchive(body_max=10, visit_max=25, crawl_id=3)

    async def run():
        rows = await run_collector(collector, visit, target, ["r0", "r1", "r2", "r3", "r4"])
        return rows, collector.archive_of(visit)

    rows, archive = asyncio.run(run())
    assert [(e.body, e.truncated) for e in archive.exchanges] == [
        (b"x" * 10, "length"), (None, "unspecified"), (b"y" * 10, "length"), (b"x" * 5, "length"), (None, "length"),
        (None, None)]
    assert archive.crawl_id == 3 and archive.visit_key == visit.key
    assert ("Network.enable", {"maxTotalBufferSize": 45, "maxResourceBufferSize": 21,
                               "maxPostDataSize": 65536}) in target.sent
    assert rows == {"evidence_files": [{"_path": visit.evidence.warc, "documents": "warc",
                                        "media_type": "application/warc"}]}
    found = records(Path(visit.evidence.warc))
    cuts = [r.rec_headers.get_header("WARC-Truncated") for r, _ in found if r.rec_type == "response"]
    assert cuts == ["length", "unspecified", "length", "length", "length", None]


def test_a_warc_that_cannot_be_written_is_a_failure_row_not_evidence(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the folder should be")
    visit = fake_visit(tmp_path, [{"url": "https://www.example.org/", "status": 200, "response_size": 3}])
    visit.evidence = Evidence(warc=str(blocker / "crawl-1" / "v.warc.gz"))
    rows = asyncio.run(run_collector(RecordArchive(), visit, FakeTarget({"r0": {"body": "abc"}}), ["r0"]))
    assert list(rows) == ["failures"] and len(rows["failures"]) == 1
    failure = rows["failures"][0]
    assert (failure["component"], failure["kind"]) == ("archive", "archive-failed")
    assert failure["detail"].startswith("WARC not written: ") and "\n" not in failure["detail"]


def test_no_warc_path_no_rows(tmp_path):
    visit = fake_visit(tmp_path, [])
    visit.evidence = Evidence()
    assert asyncio.run(RecordArchive().collect(visit)) == {}


# --- the pure parts -------------------------------------------------------------------------------------------
@given(st.binary(max_size=64), st.integers(0, 100), st.integers(0, 40), st.integers(0, 100))
def test_bound_body_never_exceeds_either_budget(body, kept, body_max, visit_max):
    out, cut = bound_body(body, kept, body_max, visit_max)
    room = visit_max - kept
    if room <= 0:
        assert (out, cut) == (None, "length")
        return
    assert out == body[:min(body_max, room)]
    assert cut == ("length" if len(body) > min(body_max, room) else None)


@given(st.binary(max_size=200), st.integers(0, 300), st.booleans())
def test_decode_body_reads_what_the_browser_encoded(data, limit, as_base64):
    if as_base64:
        answer = {"body": base64.b64encode(data).decode(), "base64Encoded": True}
        assert decode_body(answer, limit) == (data[:limit + 1], True)
    else:
        text = data.decode("latin-1")
        assert decode_body({"body": text}, limit) == (text.encode("utf-8")[:limit + 1], True)


@given(st.one_of(st.none(), st.integers(), st.text(max_size=20), st.lists(st.integers(), max_size=3),
                 st.dictionaries(st.text(max_size=5), st.integers(), max_size=3)))
def test_decode_body_refuses_what_is_not_an_answer(answer):
    assert decode_body(answer, 10) == (b"", False)


@given(st.dictionaries(st.text(max_size=30), st.text(max_size=300), max_size=40))
def test_header_pairs_are_single_bounded_lines(headers):
    pairs = header_pairs(headers)
    assert len(pairs) <= HEADERS_MAX
    for name, value in pairs:
        assert name and not name.startswith(":") and all(32 < ord(c) < 127 and c != ":" for c in name)
        assert len(value) <= HEADER_VALUE_MAX and not set(value) & {"\r", "\n", "\x00"}


def test_header_pairs_split_repeated_headers():
    assert header_pairs({"Set-Cookie": "a=1\nb=2", ":path": "/", "X": "y\r"}) == (
        ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"), ("X", "y"))
    assert header_pairs([("a", "b")]) == ()
    assert header_pairs({f"h{i}": "v" for i in range(HEADERS_MAX + 5)})[-1] == (f"h{HEADERS_MAX - 1}", "v")


def test_expected_bodies_and_versions():
    cases = [(200, 5, "GET"), (204, 240, "POST"), (205, 9, "GET"), (302, 10, "GET"), (200, 0, "GET"),
             (200, None, "GET"), (200, 5, "HEAD"), (None, 5, "GET"), ("200", 5, "GET"), (True, 5, "GET")]
    assert [expects_body(*case) for case in cases] == [True, False, False, False, False, True, False, False, False,
                                                        False]
    assert [http_version(p) for p in ["", "http/1.1", "HTTP/1.0", "h2", "h3"]] == [
        "HTTP/1.1", "HTTP/1.1", "HTTP/1.0", "h2", "h3"]


@given(st.text(max_size=80))
def test_capture_times_parse_or_are_refused(text):
    epoch = capture_epoch_ms(text)
    assert epoch is None or isinstance(epoch, int)


def test_capture_time_offsets():
    assert capture_epoch_ms(CAPTURED) == CAPTURED_MS
    assert capture_epoch_ms("2024-01-02T04:04:05+01:00") == CAPTURED_MS
    assert capture_epoch_ms("2024-01-02T03:04:05") == CAPTURED_MS  # naive: UTC
    assert clock_offset_ms(CAPTURED, CAPTURED_MS + 5000) == -5000
    assert [clock_offset_ms(t, 0) for t in ("yesterday", "", "9999-99-99", "5000-01-01T00:00:00Z")] == [None] * 4


FLAGS = st.sampled_from(["--proxy-server=http://evil:1", "--proxy-bypass-list=*", "--host-resolver-rules=MAP * x",
                         "--proxy-pac-url=http://p", "--no-proxy-server", "--PROXY-SERVER=socks5://x",
                         "--force-webrtc-ip-handling-policy=default", "--lang=fr", "--mute-audio",
                         "--ignore-certificate-errors-spki-list=abc"])


@given(st.lists(FLAGS, max_size=12))
def test_replay_args_keep_no_route_around_the_proxy(args):
    out = replay_args(args)
    assert out[-len(REPLAY_ARGS):] == list(REPLAY_ARGS)
    kept = out[:-len(REPLAY_ARGS)]
    assert kept == [a for a in args if a.split("=")[0].lower() in ("--lang", "--mute-audio",
                                                                   "--ignore-certificate-errors-spki-list")]


def test_a_replay_plan_reaches_only_its_proxy():
    plan = LaunchPlan("/usr/bin/chromium", NetworkOptions.build("http://127.0.0.1:9", (), False, None),
                      ("--proxy-server=http://elsewhere:1", "--host-resolver-rules=MAP * 1.2.3.4", "--lang=fr"),
                      version="Chromium 156.0.0.0", replay=True)
    args = plan.args
    assert [a for a in args if a.startswith(("--proxy", "--host-resolver"))] == [
        "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>"]
    assert "--lang=fr" in args
    from mouchard.errors import UserError

    with pytest.raises(UserError, match="replay proxy"):
        LaunchPlan("/usr/bin/chromium", replay=True, version="Chromium 156.0.0.0").options()


def test_pin_clock_switches_off_without_a_replay():
    from scrapy.exceptions import NotConfigured
    from scrapy.settings import Settings

    from crawler.settings import RUN_KEY

    class Crawler:
        settings = Settings({RUN_KEY: RunSettings()})

    with pytest.raises(NotConfigured):
        PinClock.from_crawler(Crawler())
    with pytest.raises(NotConfigured):
        RecordArchive.from_crawler(Crawler())
    Crawler.settings = Settings({RUN_KEY: RunSettings(warc=True, replay=ReplaySettings("b", ()))})
    assert isinstance(PinClock.from_crawler(Crawler()), PinClock)
    assert isinstance(RecordArchive.from_crawler(Crawler()), RecordArchive)


# --- a replayed visit: clock pinned, network through the proxy only -----------------------------------------------
@pytest.mark.browser
@pytest.mark.slow
def test_replayed_visit_sees_the_capture_time_and_only_the_proxy(testweb, tmp_path):
    """The pixel page sends `ts=Date.now()` to Meta's pixel host: under replay it is the capture time (plus the
    seconds of the visit), the host map of the browser args is dropped and every request came through the proxy."""
    from crawler.api import crawl

    url = page_url("/pixels", detectors.HOST)
    run = RunSettings.from_options(
        db=str(tmp_path / "replay.db"), consent="none", dwell=0, timeout=20, proxy=testweb.proxy_url,
        ca_file=testweb.ca_pem_path, browser_args=tuple(testweb.chromium_args()),
        collectors={"fingerprinting": False}, replay=ReplaySettings("sha256-of-bundle", (("initial", url, CAPTURED),)))
    start = len(testweb.log)
    result = crawl([url], settings=run)
    assert result.status == "finished"
    conn = sqlite3.connect(run.db)
    conn.row_factory = sqlite3.Row
    crawl_row = conn.execute("SELECT * FROM crawls").fetchone()
    assert any(w.startswith("replay of bundle sha256-of-bundle:") for w in json.loads(crawl_row["warnings"]))
    args = json.loads(crawl_row["browser_args"])
    assert not [a for a in args if a.startswith("--host-resolver-rules")]
    assert f"--proxy-server={testweb.proxy_url}" in args and "--proxy-bypass-list=<-loopback>" in args
    pixel = [r["url"] for r in conn.execute("SELECT url FROM requests") if "/tr/" in r["url"] and "ts=" in r["url"]]
    assert len(pixel) == 1
    ts = int(urllib.parse.parse_qs(urllib.parse.urlsplit(pixel[0]).query)["ts"][0])
    assert CAPTURED_MS <= ts < CAPTURED_MS + 10 * 60 * 1000
    conn.close()
    served = [e for e in testweb.log[start:] if e["host"] == detectors.HOST and e["path"] == "/pixels"]
    assert len(served) == 1 and served[0]["via"]


def test_the_spider_gives_each_try_of_a_visit_its_own_warc(tmp_path):
    """The WARC's path is made from the visit key (never page data), in the crawl's evidence folder; a retry gets
    another file (the earlier try keeps its row, whose hash must still match); with --warc the spider runs
    RecordArchive and, without a replay, no PinClock."""
    from dataclasses import replace

    from scrapy.utils.test import get_crawler

    from crawler.browser.visit import VisitSpec
    from crawler.settings import browser_settings
    from crawler.spiders.browser import BrowserSpider
    from mouchard.archive.warc import warc_name

    settings = browser_settings(db=str(tmp_path / "x.db"), crawl_id=4, net=NetworkOptions(), launch_options={},
                                concurrency=1, timeout=5.0, run=RunSettings(db=str(tmp_path / "x.db"), warc=True))
    spider = BrowserSpider.from_crawler(get_crawler(BrowserSpider, settings), specs=[], evidence_dir=str(tmp_path),
                                        warc=True)
    names = [c.name for c in spider.collectors]
    assert "archive" in names and "clock" not in names
    spec = VisitSpec("initial https://www.example.org/", "https://www.example.org/")
    first, second = spider._evidence_paths(spec), spider._evidence_paths(replace(spec, attempt=2))
    assert first == {"warc": str(tmp_path / "crawl-4" / warc_name(spec.key))}
    assert second == {"warc": str(tmp_path / "crawl-4" / warc_name(f"{spec.key} attempt 2"))}


def test_pin_clock_registers_once_per_target_and_only_for_archived_visits(tmp_path, monkeypatch):
    """The page's script goes in before_navigation (after every attach hook, so after the call recorder's), an
    out-of-process iframe's in attach, a worker's by evaluation; a visit with no archived twin keeps the real clock."""
    import crawler.collectors.clock as clock

    monkeypatch.setattr(clock.time, "time", lambda: (CAPTURED_MS + 60_000) / 1000)
    url = "https://www.example.org/"
    collector = PinClock(ReplaySettings("b", (("initial", url, CAPTURED),)))
    visit = fake_visit(tmp_path, [])
    page, frame, worker = FakeTarget({}), FakeTarget({}), FakeTarget({})
    frame.type, worker.type = "iframe", "worker"
    visit.hub.page = page

    async def run(visit):
        await collector.attach(visit, page)
        await collector.attach(visit, frame)
        await collector.attach(visit, worker)
        await collector.before_navigation(visit)

    asyncio.run(run(visit))
    script = clock.clock_script(-60_000)
    assert page.sent == [("Page.addScriptToEvaluateOnNewDocument", {"source": script})]
    assert frame.sent == [("Page.addScriptToEvaluateOnNewDocument", {"source": script})]
    assert worker.sent == [("Runtime.evaluate", {"expression": script, "silent": True})]
    other = fake_visit(tmp_path, [])
    other.phase = "reject"  # archived in phase initial only
    other.hub.page = page = FakeTarget({})
    asyncio.run(collector.attach(other, page))
    asyncio.run(collector.before_navigation(other))
    assert page.sent == []
