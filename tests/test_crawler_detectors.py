"""The page-side detectors in a real crawl of the detector pages (demoweb/sites/detectors*.py): fingerprinting
calls and flags, session replay, key logging, pixel events and ID syncs; every planted item is found (recall) and
the clean pages give nothing (no false positives); the instrumentation stays invisible to the page.

One real crawl (`mouchard crawl` in a subprocess: Scrapy, scrapy-playwright, Chromium) shared by the tests. Until
the detectors are in `crawler.settings.DEFAULT_COLLECTORS` and their proposed columns and table in
mouchard/storage/schema.py, the subprocess adds them first (each step is a no-op once the lead has made the change).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import sys
import urllib.parse

import pytest

from demoweb.sites.detectors import EXPECTED, FLAGS, HOST

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PAGES = ["/fingerprinting", "/chart", "/replay", "/form", "/form-clean", "/pixels", "/sync", "/stackless", "/clean"]



@pytest.fixture(scope="module")
def crawled(testweb, tmp_path_factory):
    """A database after one crawl of the detector pages."""
    db = tmp_path_factory.mktemp("detectors") / "detectors.db"
    args = [sys.executable, "-m", "mouchard", "crawl", "--db", str(db), "--consent", "none", "--timeout", "20",
            "--concurrency", "2"]
    args += [f"--browser-arg={flag}" for flag in testweb.chromium_args()]
    result = subprocess.run([*args, *(testweb.url(HOST, page) for page in PAGES)], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    yield conn
    conn.close()


def visit(conn, page: str) -> sqlite3.Row:
    found = [r for r in conn.execute("SELECT * FROM visits") if urllib.parse.urlsplit(r["url"]).path == page]
    assert len(found) == 1 and found[0]["status"] == "ok", page
    return found[0]


def rows(conn, table: str, page: str) -> list[sqlite3.Row]:
    return list(conn.execute(f"SELECT * FROM [{table}] WHERE visit_id = ?", (visit(conn, page)["id"],)))


def where(url: str | None, page_url: str) -> str | None:
    """A script URL as EXPECTED names it: 'host/path' (no port), or 'page' for the page's inline scripts."""
    if url is None:
        return None
    if url == page_url:
        return "page"
    parts = urllib.parse.urlsplit(url)
    return f"{parts.hostname}{parts.path}"


def calls_by_script(conn, page: str) -> dict[str, set[str]]:
    page_url = visit(conn, page)["url"]
    found: dict[str, set[str]] = {}
    for row in rows(conn, "js_calls", page):
        found.setdefault(where(row["script_url"], page_url), set()).add(row["api"])
    return found


def test_every_planted_fingerprinting_call_is_recorded_with_its_script(crawled):
    found = calls_by_script(crawled, "/fingerprinting")
    for script, apis in EXPECTED[f"{HOST}/fingerprinting"]["js_calls"].items():
        assert set(apis) <= found.get(script, set()), f"{script}: missing {set(apis) - found.get(script, set())}"


def test_calls_of_the_first_inline_script_are_caught_before_anything_else(crawled):
    page = visit(crawled, "/fingerprinting")
    first = {r["api"]: r for r in rows(crawled, "js_calls", "/fingerprinting") if r["script_url"] == page["url"]}
    assert {"Navigator.userAgent", "HTMLCanvasElement.toDataURL"} <= set(first)
    earliest = min(r["time_ms"] for r in rows(crawled, "js_calls", "/fingerprinting"))
    assert first["Navigator.userAgent"]["time_ms"] == earliest and earliest <= page["load_ms"]


def test_frames_and_functions_borrowed_from_a_blank_frame_are_instrumented(crawled):
    page = visit(crawled, "/fingerprinting")
    calls = rows(crawled, "js_calls", "/fingerprinting")
    frames = {(where(r["script_url"], page["url"]), r["frame_url"]) for r in calls}
    assert any(s == f"{HOST}/fingerprinting/frame" for s, _ in frames)  # same site, same renderer
    assert any(s == "openfpcdn.io/fingerprintjs/frame.html" for s, _ in frames)  # cross-site: its own renderer
    borrowed = [json.loads(r["arguments"]) for r in calls if r["api"] == "HTMLCanvasElement.toDataURL"
                and r["script_url"] == page["url"] and r["frame_url"] == "about:blank"]
    assert borrowed and borrowed[0][0][0] == "image/bmp"


def test_a_dedicated_worker_is_instrumented_too(crawled):
    found = calls_by_script(crawled, "/fingerprinting")
    for script, apis in EXPECTED[f"{HOST}/fingerprinting"]["worker"].items():
        assert set(apis) <= found.get(script, set()), script


def test_scripts_are_flagged_by_the_published_thresholds_and_the_chart_is_not(crawled):
    for page in ("/fingerprinting", "/chart"):
        scripts = {where(r["script_url"], visit(crawled, page)["url"]): r for r in rows(crawled, "scripts", page)}
        for script, flags in EXPECTED[f"{HOST}{page}"]["scripts"].items():
            row = scripts[script]
            assert {flag for flag in FLAGS if row[flag]} == set(flags), script
    agent = next(r for r in rows(crawled, "scripts", "/fingerprinting") if r["script_url"].endswith("/agent.js"))
    assert agent["navigator_properties"] >= 10 and agent["screen_properties"] >= 6 and agent["third_party"] == 1


def test_every_font_of_the_font_probe_is_counted(crawled):
    fonts = next(r for r in rows(crawled, "js_calls", "/fingerprinting")
                 if r["script_url"].endswith("/fonts.js") and r["api"] == "CanvasRenderingContext2D.font")
    assert fonts["calls"] == EXPECTED[f"{HOST}/fingerprinting"]["font_count"]
    assert fonts["operation"] == "set" and "Font00 Test" in fonts["arguments"]


def test_a_page_that_defines_prepare_stack_trace_is_still_attributed_and_sees_nothing(crawled):
    assert set(EXPECTED[f"{HOST}/stackless"]["js_calls"]["page"]) <= calls_by_script(crawled, "/stackless")["page"]
    report = next(r["url"] for r in rows(crawled, "requests", "/stackless") if "/report?" in r["url"])
    seen = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(report).query))
    assert seen == EXPECTED[f"{HOST}/stackless"]["report"]  # its stack formatter never ran, no global, native


def test_session_replay_scripts_are_marked_with_service_and_collector(crawled):
    page_url = visit(crawled, "/replay")["url"]
    marked = {where(r["script_url"], page_url): r for r in rows(crawled, "scripts", "/replay") if r["session_replay"]}
    for planted in EXPECTED[f"{HOST}/replay"]["session_replay"]:
        row = marked.pop(planted["script"])
        assert planted["collector"] in json.loads(row["session_replay_hosts"])
        assert (row["session_replay_service"] == "rrweb") == (planted["by"] == "payload")
    assert not marked


def test_typed_values_are_found_in_what_the_page_sends(crawled):
    leaks = rows(crawled, "leaks", "/form")
    found = {(r["identifier"], r["destination_host"], r["location"], r["chain"].split(">")[-1]) for r in leaks}
    for planted in EXPECTED[f"{HOST}/form"]["keylogging"]:
        assert (planted["identifier"], planted["host"], planted["location"], planted["chain"]) in found, planted
    assert not {r["identifier"] for r in leaks} & set(EXPECTED[f"{HOST}/form"]["never_sent"])
    assert all(r["request_id"] and r["third_party"] == 1 and r["crawl_id"] for r in leaks)


def test_nothing_is_found_on_forms_nobody_reads(crawled):
    assert rows(crawled, "leaks", "/form-clean") == []


def test_meta_pixel_and_google_events_are_recorded(crawled):
    events = rows(crawled, "pixel_events", "/pixels")
    for planted in EXPECTED[f"{HOST}/pixels"]["pixel_events"]:
        match = [e for e in events if (e["vendor"], e["tag_id"], e["event"]) ==
                 (planted["vendor"], planted["tag_id"], planted["event"])]
        assert match, planted
        parameters = json.loads(match[0]["parameters"] or "{}")
        assert planted.get("parameters", {}).items() <= parameters.items(), planted
        assert planted.get("user_data", {}).items() <= json.loads(match[0]["user_data"] or "{}").items()
        assert match[0]["request_id"]
    assert len(events) == len(EXPECTED[f"{HOST}/pixels"]["pixel_events"])


def test_an_identifier_cookie_passed_to_two_partners_is_two_id_syncs(crawled):
    syncs = rows(crawled, "id_syncs", "/sync")
    found = {(s["from_site"], s["to_site"], s["identifier_name"], s["parameter"], s["location"],
              (s["encoding"] or "").split(">")[0] or None) for s in syncs}
    planted = {(p["from"], p["to"], p["cookie"], p["param"], p["via"], p["encoding"])
               for p in EXPECTED[f"{HOST}/sync"]["id_syncs"]}
    assert found == planted
    cookie = next(r for r in rows(crawled, "cookies", "/sync") if r["name"] == "TDID")
    assert {s["identifier_sha256"] for s in syncs} == {hashlib.sha256(cookie["value"].encode()).hexdigest()}
    assert {s["cookie_id"] for s in syncs} == {cookie["id"]}  # the row of the cookie whose value was shared


def test_the_clean_page_gives_no_detector_row(crawled):
    for table in ("js_calls", "scripts", "leaks", "pixel_events", "id_syncs"):
        assert rows(crawled, table, "/clean") == [], table
    for page in ("/replay", "/form", "/pixels", "/sync"):  # detectors of one kind stay quiet on the others' pages
        assert not [r for r in rows(crawled, "scripts", page) if any(r[f] for f in FLAGS)], page
