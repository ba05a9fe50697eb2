"""Fingerprinting calls made through temporary iframes (demoweb/sites/frames_lab.py), as FingerprintJS's
`withIframe` makes them: a page script reads an iframe window's APIs, then removes the iframe at once. The calls
run in the iframe's realm, so its recorder holds them; the recorder's `pagehide` stop lets the collector read
them before the iframe is gone (crawler/collectors/fingerprinting.py).

One real crawl (`mouchard crawl` in a subprocess: Scrapy, scrapy-playwright, Chromium).
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import urllib.parse

import pytest
from demoweb.sites.frames_lab import EXPECTED, HOST

pytestmark = [pytest.mark.browser, pytest.mark.slow]
PAGES = ["/temporary", "/temporary-cross"]


@pytest.fixture(scope="module")
def crawled(testweb, tmp_path_factory):
    """A database after one crawl of the temporary-frame pages."""
    db = tmp_path_factory.mktemp("frames") / "frames.db"
    testweb.clear_log()
    args = [sys.executable, "-m", "mouchard", "crawl", "--db", str(db), "--consent", "none", "--timeout", "20",
            "--concurrency", "2"]
    args += [f"--browser-arg={flag}" for flag in testweb.chromium_args()]
    pages = [testweb.url(HOST, page) for page in PAGES]
    result = subprocess.run([*args, *pages], capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    yield conn
    conn.close()


def portless(url: str | None) -> str | None:
    """A URL as EXPECTED names it: the test web's port dropped (about: URLs unchanged)."""
    if url is None or not url.startswith("https://"):
        return url
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, parts.hostname, parts.path, parts.query, ""))


def js_calls(conn, page: str) -> list[sqlite3.Row]:
    visits = [r for r in conn.execute("SELECT * FROM visits") if urllib.parse.urlsplit(r["url"]).path == page]
    assert [r["status"] for r in visits] == ["ok"], page
    return list(conn.execute("SELECT * FROM js_calls WHERE visit_id = ?", (visits[0]["id"],)))


def test_calls_through_iframes_removed_at_once_are_recorded_with_script_line_and_frame(crawled, testweb):
    # The page ran to its end: it posts what it read after removing both iframes.
    assert [r["method"] for r in testweb.requests_to(HOST) if r["path"] == "/done"] == ["POST", "POST"]
    calls = js_calls(crawled, "/temporary")
    assert {(portless(r["script_url"]), r["frame_url"], r["api"], r["call_line"]) for r in calls} == \
        EXPECTED[f"{HOST}/temporary"]["js_calls"]
    assert len(calls) == len(EXPECTED[f"{HOST}/temporary"]["js_calls"])
    assert {(r["calls"], r["call_function"], r["third_party"]) for r in calls} == {(1, "frame.onload", 0)}
    canvas = [r["arguments"] for r in calls if r["api"] == "HTMLCanvasElement.getContext"]
    assert canvas == ['[["2d", 300, 150]]', '[["2d", 300, 150]]']


def test_calls_of_a_cross_site_iframe_removed_on_load_are_recorded(crawled):
    calls = js_calls(crawled, "/temporary-cross")
    assert {(portless(r["script_url"]), portless(r["frame_url"]), r["api"], r["call_line"]) for r in calls} == \
        EXPECTED[f"{HOST}/temporary-cross"]["js_calls"]
    assert [(r["calls"], r["third_party"]) for r in calls] == [(1, 1)] * 3
