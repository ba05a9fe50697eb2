"""--dwell: a visit stays on the loaded page, scrolls to the bottom and back, moves the mouse, types into forms in
iframes, and records the late, scroll-, view- and mouse-triggered requests; audio fingerprinting runs.

Three real crawls (`mouchard crawl` in a subprocess) of the dwell lab (demoweb/sites/dwell_lab.py): one with
`--dwell 2` (three lab pages and a page that blocks its main thread after load), one with `--dwell 0` (the late
page alone: what a visit that leaves once the network is quiet misses), and one of the exit pages (beacons sent
when the page is hidden and left; a pagehide handler that never returns). The rest of the suite crawls with
MOUCHARD_DWELL=0 (tests/conftest.py), so only these visits pay for the dwell.
"""

from __future__ import annotations

import json
import sqlite3
import urllib.parse

import pytest
from click.testing import CliRunner

from test_crawler_recall import run_crawl
from demoweb.sites import crawler_lab, dwell_lab

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DWELL = 2  # seconds: past the late page's 1.5 s timer, short enough for the suite
LAB_PAGES = ["/late", "/audio", "/iframe-form"]


def _open(db) -> sqlite3.Connection:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    return conn


@pytest.fixture(scope="module")
def dwelled(testweb, tmp_path_factory):
    """(db connection, crawl output) after one crawl with --dwell 2."""
    db = tmp_path_factory.mktemp("dwell") / "dwell.db"
    urls = [testweb.url(dwell_lab.HOST, path) for path in LAB_PAGES]
    urls.append(testweb.url(crawler_lab.HOST, "/busy-after-load"))
    result = run_crawl(testweb, db, urls, "--dwell", str(DWELL), timeout=12)
    assert result.returncode == 0, result.stderr[-3000:]
    conn = _open(db)
    yield conn, result
    conn.close()


@pytest.fixture(scope="module")
def hurried(testweb, tmp_path_factory):
    """The db connection after one crawl of the late page with --dwell 0."""
    db = tmp_path_factory.mktemp("nodwell") / "nodwell.db"
    result = run_crawl(testweb, db, [testweb.url(dwell_lab.HOST, "/late")], "--dwell", "0")
    assert result.returncode == 0, result.stderr[-3000:]
    conn = _open(db)
    yield conn
    conn.close()


@pytest.fixture(scope="module")
def left(testweb, tmp_path_factory):
    """(db connection, db path) after one crawl of the exit pages (no dwell), with a screenshot per visit."""
    db = tmp_path_factory.mktemp("exit") / "exit.db"
    urls = [testweb.url(dwell_lab.HOST, path) for path in ("/exit", "/exit-hang")]
    result = run_crawl(testweb, db, urls, "--dwell", "0", "--screenshots")
    assert result.returncode == 0, result.stderr[-3000:]
    conn = _open(db)
    yield conn, db
    conn.close()


def visit(conn, host: str, path: str) -> sqlite3.Row:
    rows = [r for r in conn.execute("SELECT * FROM visits") if urllib.parse.urlsplit(r["url"]).hostname == host
            and urllib.parse.urlsplit(r["url"]).path == path]
    assert len(rows) == 1, f"{host}{path}: {len(rows)} visits"
    return rows[0]


def beacons(conn, path: str) -> list[tuple[str, str]]:
    """(path, query) of every request the page made to the lab's collector, sorted."""
    visit_id = visit(conn, dwell_lab.HOST, path)["id"]
    urls = [r["url"] for r in conn.execute("SELECT url FROM requests WHERE visit_id = ? AND host = ?",
                                           (visit_id, dwell_lab.COLLECT_HOST))]
    return sorted((urllib.parse.urlsplit(u).path, urllib.parse.urlsplit(u).query) for u in urls)


def test_dwell_records_late_scroll_view_and_mouse_beacons(dwelled):
    conn, _ = dwelled
    assert beacons(conn, "/late") == sorted(dwell_lab.EXPECTED[f"{dwell_lab.HOST}/late"]["beacons"])
    kinds = {r["resource_type"] for r in conn.execute(
        "SELECT resource_type FROM requests WHERE host = ?", (dwell_lab.COLLECT_HOST,))}
    assert kinds == {"ping"}


def test_without_dwell_the_scroll_view_and_mouse_beacons_are_missed(hurried):
    # The 1.5 s timer beacon is left out: whether a visit without dwell ends before it depends on the machine's
    # load (it did here, about 1.2 s after load); the beacons that need a person's scrolling and mouse never come.
    interaction = [b for b in beacons(hurried, "/late") if b[0] != "/late"]
    assert interaction == dwell_lab.EXPECTED[f"{dwell_lab.HOST}/late"]["without_dwell"]
    row = visit(hurried, dwell_lab.HOST, "/late")
    assert row["status"] == "ok" and row["dwell_ms"] == 0
    assert json.loads(hurried.execute("SELECT config FROM crawls").fetchone()["config"])["dwell"] == 0


def test_dwell_is_recorded_per_visit_and_in_the_crawl(dwelled):
    conn, _ = dwelled
    for path in LAB_PAGES:
        row = visit(conn, dwell_lab.HOST, path)
        assert row["status"] == "ok", (path, row["reason"])
        assert row["dwell_ms"] >= DWELL * 1000  # the page was left no earlier than the dwell after its load
    assert json.loads(conn.execute("SELECT config FROM crawls").fetchone()["config"])["dwell"] == DWELL


def test_audio_fingerprinting_runs_in_onaudioprocess(dwelled):
    """--autoplay-policy=no-user-gesture-required: the AudioContext runs, so onaudioprocess code executes."""
    conn, _ = dwelled
    assert beacons(conn, "/audio") == sorted(dwell_lab.EXPECTED[f"{dwell_lab.HOST}/audio"]["beacons"])
    browser_args = json.loads(conn.execute("SELECT browser_args FROM crawls").fetchone()["browser_args"])
    assert "--autoplay-policy=no-user-gesture-required" in browser_args


def test_typing_reaches_same_and_cross_origin_iframes(dwelled):
    conn, _ = dwelled
    expected = dwell_lab.EXPECTED[f"{dwell_lab.HOST}/iframe-form"]
    assert beacons(conn, "/iframe-form") == sorted(expected["beacons"])
    visit_id = visit(conn, dwell_lab.HOST, "/iframe-form")["id"]
    leaks = conn.execute("SELECT l.identifier, l.destination_host, l.location, l.chain, r.url FROM leaks l "
                         "JOIN requests r ON r.id = l.request_id WHERE l.visit_id = ?", (visit_id,)).fetchall()
    assert sorted((r["identifier"], r["destination_host"], r["location"], r["chain"]) for r in leaks) == sorted(
        (k["identifier"], k["host"], k["location"], k["chain"]) for k in expected["keylogging"])
    assert sorted(urllib.parse.urlsplit(r["url"]).query for r in leaks) == ["frame=cross", "frame=same"]


def test_a_page_blocked_after_load_still_ends_as_a_timeout(dwelled):
    """The dwell's input events go unanswered: the dwell ends, the renderer probe marks the visit."""
    from crawler.browser.visit import UNRESPONSIVE

    conn, _ = dwelled
    row = visit(conn, crawler_lab.HOST, "/busy-after-load")
    assert (row["status"], row["reason"]) == ("timeout", UNRESPONSIVE)


def test_dwell_option_default_and_environment(monkeypatch):
    """The realistic default for real crawls; the suite's own crawls get 0 from the environment (conftest)."""
    from crawler.cli import crawl
    from mouchard.commands.options import DEFAULT_DWELL, ENV_DWELL

    option = next(p for p in crawl.params if p.name == "dwell")
    assert (option.default, option.envvar, DEFAULT_DWELL) == (5.0, ENV_DWELL, 5.0)
    monkeypatch.setenv(ENV_DWELL, "-1")
    result = CliRunner().invoke(crawl, ["https://example.org/"])
    assert result.exit_code == 2 and "--dwell" in result.output


def test_leaving_records_the_hidden_and_pagehide_beacons_with_their_script(left, testweb):
    """The tab goes to about:blank: visibilitychange (hidden) and pagehide run, and their sendBeacon and keepalive
    fetch are requests of this visit, initiated by the page's inline script."""
    conn, _ = left
    page_url = testweb.url(dwell_lab.HOST, "/exit")
    row = visit(conn, dwell_lab.HOST, "/exit")
    sent = sorted((r["method"], urllib.parse.urlsplit(r["url"]).path, urllib.parse.urlsplit(r["url"]).query,
                   r["initiator_type"], r["initiator_url"], r["frame_url"], r["post_body_size"]) for r in conn.execute(
        "SELECT * FROM requests WHERE visit_id = ? AND host = ?", (row["id"], dwell_lab.COLLECT_HOST)))
    assert sent == sorted((method, path, query, "script", page_url, page_url, len("{}"))  # string bodies kept
                          for method, path, query in dwell_lab.EXPECTED[f"{dwell_lab.HOST}/exit"]["beacons"])
    assert conn.execute("SELECT count(*) FROM requests WHERE host = ? AND visit_id != ?",
                        (dwell_lab.COLLECT_HOST, row["id"])).fetchone()[0] == 0
    assert row["status"] == "ok" and row["leave_ms"] is not None and row["leave_ms"] > 0


def test_after_leaving_the_visit_keeps_the_pages_title_storage_cookies_and_screenshot(left, testweb):
    from mouchard.storage.store import evidence_dir

    conn, db = left
    expected = dwell_lab.EXPECTED[f"{dwell_lab.HOST}/exit"]
    row = visit(conn, dwell_lab.HOST, "/exit")
    assert (row["title"], row["final_url"]) == (expected["title"], testweb.url(dwell_lab.HOST, "/exit"))
    origin = testweb.url(dwell_lab.HOST, "/").rstrip("/")
    storage = [(r["kind"], r["name"], r["value"]) for r in conn.execute(
        "SELECT * FROM storage_items WHERE visit_id = ? AND origin = ?", (row["id"], origin))]
    assert storage == expected["storage"]
    cookies = [(r["name"], r["value"]) for r in conn.execute("SELECT * FROM cookies WHERE visit_id = ?", (row["id"],))]
    assert cookies == expected["cookies"]
    shots = conn.execute("SELECT path FROM evidence_files WHERE visit_id = ? AND documents = 'screenshot'",
                         (row["id"],)).fetchall()
    assert len(shots) == 1
    assert _png_shades((evidence_dir(db) / shots[0]["path"]).read_bytes()) > 10  # the page's text, not a blank tab


def _png_shades(png: bytes) -> int:
    """How many distinct byte values a PNG's (filtered) pixel data holds: a blank page has a handful."""
    import struct
    import zlib

    data, at = b"", 8
    while at < len(png):
        length, kind = struct.unpack(">I4s", png[at:at + 8])
        if kind == b"IDAT":
            data += png[at + 8:at + 8 + length]
        at += 12 + length
    return len(set(zlib.decompress(data)))


def test_a_page_that_never_lets_go_ends_partial_with_a_reason(left):
    """A pagehide handler that loops forever: leaving is bounded, the visit is a row with a status and a reason,
    and a `failures` row names the leave."""
    from crawler.browser.dwell import LEAVE_NAVIGATION

    conn, _ = left
    row = visit(conn, dwell_lab.HOST, "/exit-hang")
    assert row["status"] == "partial"
    assert row["reason"] == (f"the page did not let go within {LEAVE_NAVIGATION:g} s "
                             "(a beforeunload, pagehide or unload handler that does not return)")
    assert row["title"] == "Dwell lab: exit hang" and row["leave_ms"] is not None
    failures = [(r["component"], r["kind"]) for r in conn.execute("SELECT * FROM failures WHERE visit_id = ?",
                                                                   (row["id"],))]
    assert failures == [("leave", "leave-failed")]


def test_leave_launch_args_keep_playwrights_disabled_features():
    """Chromium keeps only the last --disable-features: ours repeats Playwright's list (checked against the
    installed driver) and merges any given on the command line."""
    import pathlib
    import re

    import playwright

    from crawler.browser.dwell import LEAVE_FEATURE, PLAYWRIGHT_DISABLED_FEATURES, leave_launch_args

    bundle = pathlib.Path(playwright.__file__).parent / "driver/package/lib/coreBundle.js"
    listed = re.search(r"disabledFeatures = \[(.*?)\]\.filter", bundle.read_text(encoding="utf-8"), re.DOTALL)
    assert listed, "Playwright's disabled-features list moved: check crawler/browser/dwell.py"
    names = re.findall(r'^\s*"([A-Za-z0-9]+)"', listed.group(1), re.MULTILINE)
    assert set(names) == set(PLAYWRIGHT_DISABLED_FEATURES)
    args = leave_launch_args(["--foo", "--disable-features=A,B", "--bar"])
    assert args[:2] == ["--foo", "--bar"] and len(args) == 3
    assert args[2] == "--disable-features=" + ",".join([*PLAYWRIGHT_DISABLED_FEATURES, "A", "B", LEAVE_FEATURE])


def test_leave_is_bounded_and_says_why_it_failed():
    """`leave` without a browser: a navigation the page refuses or that raises is a reason, not an exception; a
    page that reaches about:blank is left, after the network stayed quiet."""
    import asyncio

    from crawler.browser.dwell import leave

    class Page:
        def __init__(self) -> None:
            self.url = "https://www.dwell-lab.fr/exit"

        def is_closed(self) -> bool:
            return False

    async def run(send):
        return await leave(page, send, activity=lambda: 3, quiet=0.05, limit=0.5)

    async def refused(method: str, params: dict) -> dict:
        return {"errorText": "net::ERR_ABORTED"}

    async def broken(method: str, params: dict) -> dict:
        raise RuntimeError("Target closed")

    async def navigates(method: str, params: dict) -> dict:
        assert (method, params) == ("Page.navigate", {"url": "about:blank"})
        page.url = "about:blank"
        return {"frameId": "F"}

    page = Page()
    refused_result = asyncio.run(run(refused))
    assert (refused_result.left, refused_result.reason) == (False, "leaving the page failed: net::ERR_ABORTED")
    broken_result = asyncio.run(run(broken))
    assert (broken_result.left, broken_result.reason) == (False, "leaving the page failed: Target closed")
    left_result = asyncio.run(run(navigates))
    assert (left_result.left, left_result.reason) == (True, None)
