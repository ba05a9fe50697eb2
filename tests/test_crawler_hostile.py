"""Hostile pages: each ends as a visit row with the right status within the timeout, and the crawl goes on.

One real crawl of every hostile page of the test web (plus a bad certificate, an unknown host and a bad line in
the list) at concurrency 2 with a 12-second timeout.
"""

from __future__ import annotations

import sqlite3
import urllib.parse

import pytest

from test_crawler_recall import run_crawl
from demoweb.sites import crawler_lab, hostile

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TIMEOUT = 12  # generous: CI shares 2 cores between two test workers and their browsers
# Past the navigation timeout: settle, collectors (bounded CDP calls), browser close.
MARGIN_S = 25
STATUS = {"timeout": {"timeout"}, "redirect_loop": {"http-error"}, "dialogs": {"timeout", "ok"}, "popups": {"ok"},
          "oversize": {"ok", "timeout"}, "download": {"aborted"}, "http_error": {"http-error"},
          "decompression_bomb": {"ok", "timeout", "aborted", "crashed"}, "busy_script": {"timeout"}, "xss": {"ok"},
          "tls_error": {"tls-error"}, "dns_error": {"dns-error"}}


@pytest.fixture(scope="module")
def hostile_crawl(testweb, tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    pages = list(hostile.EXPECTED)
    lines = [testweb.url(page.split("/", 1)[0], "/" + page.split("/", 1)[1]) for page in pages]
    site_list = folder / "hostile.txt"
    busy_after_load = testweb.url(crawler_lab.HOST, "/busy-after-load")
    site_list.write_text("\n".join([*lines[:3], "javascript:alert(1)", *lines[3:], busy_after_load]) + "\n")
    db = folder / "hostile.db"
    result = run_crawl(testweb, db, [], "--list", str(site_list), timeout=TIMEOUT, concurrency=2, wait=400)
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    yield conn, result, {**dict(zip(lines, pages)), busy_after_load: f"{crawler_lab.HOST}/busy-after-load"}
    conn.close()


def test_crawl_survives_every_hostile_page(hostile_crawl):
    conn, result, pages = hostile_crawl
    assert result.returncode == 0, result.stderr[-2000:]
    assert "not an http(s) URL, skipped: 'javascript:alert(1)'" in result.stderr
    assert conn.execute("SELECT status FROM crawls").fetchone()[0] == "finished"
    assert {r["url"] for r in conn.execute("SELECT url FROM visits")} == set(pages)


@pytest.mark.parametrize("page", list(hostile.EXPECTED))
def test_hostile_page_ends_with_its_status_within_the_timeout(hostile_crawl, page):
    conn, _, pages = hostile_crawl
    url = next(u for u, p in pages.items() if p == page)
    visit = conn.execute("SELECT * FROM visits WHERE url = ?", (url,)).fetchone()
    outcome = hostile.EXPECTED[page]["outcome"]
    assert visit["status"] in STATUS[outcome], (visit["status"], visit["reason"])
    assert visit["duration_ms"] <= (TIMEOUT + MARGIN_S) * 1000
    if visit["status"] != "ok":
        assert visit["reason"] and "\n" not in visit["reason"]
    if outcome == "http_error":
        assert visit["http_status"] == hostile.EXPECTED[page]["status"]
    if outcome == "redirect_loop":
        assert "redirect" in visit["reason"]
        assert conn.execute("SELECT count(*) FROM requests WHERE visit_id = ? AND redirect_from_id IS NOT NULL",
                            (visit["id"],)).fetchone()[0] >= 5
    if outcome == "download":
        assert "download" in visit["reason"]


def test_page_that_blocks_its_main_thread_after_load_still_ends(hostile_crawl):
    """Once settled, the page's renderer does not answer: the visit says so and ends."""
    conn, _, pages = hostile_crawl
    url = next(u for u, p in pages.items() if p.endswith("/busy-after-load"))
    visit = conn.execute("SELECT * FROM visits WHERE url = ?", (url,)).fetchone()
    assert (visit["status"], visit["reason"]) == ("timeout", "page unresponsive after load (main thread blocked)")
    assert visit["duration_ms"] <= (TIMEOUT + MARGIN_S) * 1000


def test_a_blocked_page_read_for_its_links_is_ended_by_the_watchdog(testweb, tmp_path):
    """With --pages-per-site, scrapy-playwright reads the landing page after load and would wait forever on a
    blocked main thread: the watchdog kills the renderer and the visit still ends as a row."""
    db = tmp_path / "busy.db"
    result = run_crawl(testweb, db, [testweb.url(crawler_lab.HOST, "/busy-after-load")], "--pages-per-site", "1",
                       timeout=TIMEOUT, concurrency=1, wait=200)
    assert result.returncode == 0, result.stderr[-2000:]
    conn = sqlite3.connect(db)
    visit = conn.execute("SELECT status, reason, duration_ms FROM visits").fetchone()
    conn.close()
    assert visit[:2] == ("timeout", "page unresponsive after load (main thread blocked)")
    assert visit[2] <= (TIMEOUT + MARGIN_S) * 1000


def test_popups_are_closed_and_their_requests_recorded(hostile_crawl):
    conn, _, pages = hostile_crawl
    url = next(u for u, p in pages.items() if p.endswith("/popups"))
    visit = conn.execute("SELECT * FROM visits WHERE url = ?", (url,)).fetchone()
    popup_requests = [r[0] for r in conn.execute("SELECT url FROM requests WHERE visit_id = ?", (visit["id"],))
                      if urllib.parse.urlsplit(r[0]).path == "/popup"]
    assert len(popup_requests) >= hostile.POPUPS // 2


def test_xss_strings_are_stored_as_text(hostile_crawl):
    conn, _, pages = hostile_crawl
    url = next(u for u, p in pages.items() if p.endswith("/xss"))
    visit = conn.execute("SELECT * FROM visits WHERE url = ?", (url,)).fetchone()
    assert visit["title"] == hostile.EXPECTED[f"{hostile.HOST}/xss"]["title"]
    cookies = {(c["name"], c["value"], c["set_by"]) for c in conn.execute(
        "SELECT name, value, set_by FROM cookies WHERE visit_id = ?", (visit["id"],))}
    assert (hostile.XSS_SCRIPT, hostile.XSS_IMG, "header") in cookies
    assert ("xss_script", hostile.XSS_SCRIPT, "script") in cookies
    names = {r[0] for r in conn.execute("SELECT name FROM storage_items WHERE visit_id = ?", (visit["id"],))}
    assert hostile.XSS_SCRIPT in names
