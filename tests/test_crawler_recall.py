"""The browser crawl on the test web: every planted third party, cookie and storage item is recorded (recall), the
clean page yields nothing, third-party cookies survive and are sent back, and the page cannot see the crawler.

One real crawl (`mouchard crawl` in a subprocess: real Scrapy, scrapy-playwright, Chromium) of the publishers and
the crawler lab, shared by the tests of this module.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
import urllib.parse

import pytest

from demoweb.sites import crawler_lab, expected

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PUBLISHERS = ["www.example-news.fr", "www.daily-example.co.uk", "shop.example-store.com",
              "blog.example-user.github.io", "www.example-campaign.org", "www.clean-example.org"]
LAB_PAGES = ["/third-party-cookie", "/workers", "/probe"]
KIND_TO_TYPE = {"document": {"document"}, "script": {"script"}, "img": {"image"}, "beacon": {"ping"},
                "xhr": {"xhr"}, "fetch": {"fetch"}, "iframe": {"document"}, "redirect": None,
                "worker": {"fetch"}, "service_worker": {"fetch", "other"}}
STORAGE_KIND = {"localStorage": "local", "sessionStorage": "session", "indexedDB": "indexeddb"}


def run_crawl(testweb, db, urls: list[str], *extra: str, timeout: float = 15, concurrency: int = 2,
              wait: float = 240) -> subprocess.CompletedProcess:
    """`mouchard crawl` against the test web (its resolver rules and certificate pins as browser flags)."""
    args = [sys.executable, "-m", "mouchard", "crawl", "--db", str(db), "--consent", "none", "--timeout", str(timeout),
            "--concurrency", str(concurrency)]
    for flag in testweb.chromium_args():
        args.append(f"--browser-arg={flag}")
    return subprocess.run([*args, *extra, *urls], capture_output=True, text=True, timeout=wait)


@pytest.fixture(scope="module")
def crawled(testweb, tmp_path_factory):
    """(db connection, crawl output, test-web log of the crawl) after one crawl of publishers and lab pages."""
    db = tmp_path_factory.mktemp("recall") / "recall.db"
    urls = [testweb.url(host) for host in PUBLISHERS] + [testweb.url(crawler_lab.HOST, p) for p in LAB_PAGES]
    start = len(testweb.log)
    result = run_crawl(testweb, db, urls, "--screenshots", "--har")
    assert result.returncode == 0, result.stderr[-3000:]
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    yield conn, result, testweb.log[start:]
    conn.close()


def visit_of(conn, host: str, path: str = "/") -> sqlite3.Row:
    rows = [r for r in conn.execute("SELECT * FROM visits") if urllib.parse.urlsplit(r["url"]).hostname == host
            and urllib.parse.urlsplit(r["url"]).path == path]
    assert len(rows) == 1, f"{host}{path}: {len(rows)} visits"
    return rows[0]


def rows(conn, table: str, visit_id: int) -> list[sqlite3.Row]:
    return list(conn.execute(f"SELECT * FROM {table} WHERE visit_id = ?", (visit_id,)))


def path_of(url: str) -> str:
    return urllib.parse.urlsplit(url).path


def test_every_visit_is_recorded_ok_once(crawled):
    conn, result, _ = crawled
    statuses = [r["status"] for r in conn.execute("SELECT status FROM visits")]
    assert statuses == ["ok"] * (len(PUBLISHERS) + len(LAB_PAGES))
    crawl = conn.execute("SELECT * FROM crawls").fetchone()
    assert crawl["status"] == "finished" and crawl["kind"] == "web"
    assert "Chromium" in crawl["browser_version"] or "Chrome" in crawl["browser_version"]
    assert "--disable-blink-features=AutomationControlled" in json.loads(crawl["browser_args"])
    assert json.loads(crawl["summary"])["visits"] == len(statuses)
    assert "crawl 1:" in result.stdout and "top trackers:" in result.stdout


@pytest.mark.parametrize("host", [h for h in PUBLISHERS if h != "www.clean-example.org"])
def test_publisher_third_parties_cookies_and_storage_are_all_recorded(crawled, host):
    conn, _, _ = crawled
    facts = expected()[f"{host}/"]
    visit = visit_of(conn, host)
    requests = rows(conn, "requests", visit["id"])
    hosts = {r["host"] for r in requests if r["third_party"]}
    assert set(facts["third_party_hosts"]) <= hosts, set(facts["third_party_hosts"]) - hosts

    for want in facts.get("requests", []):
        found = [r for r in requests if r["host"] == want["host"] and path_of(r["url"]) == want["path"]]
        assert found, f"no request {want}"
        types = KIND_TO_TYPE[want["kind"]]
        if types:
            assert any(r["resource_type"] in types for r in found), (want, [r["resource_type"] for r in found])

    cookies = rows(conn, "cookies", visit["id"])
    for want in facts.get("cookies", []):
        found = [c for c in cookies if c["name"] == want["name"] and c["domain"] == want["domain"]]
        assert found, f"cookie {want['name']} on {want['domain']} not recorded"
        assert any(c["set_by"] == want["set_by"] for c in found), (want, [dict(c) for c in found])
        assert all(c["third_party"] == (want["party"] == "third") for c in found), want
        setters = {urllib.parse.urlsplit(c["setter_url"] or "").hostname for c in found if c["set_by"] == want["set_by"]}
        assert want["by"] in setters, (want, setters)

    storage = rows(conn, "storage_items", visit["id"])
    for want in facts.get("storage", []):
        assert any(s["kind"] == STORAGE_KIND[want["kind"]] and s["name"] == want["key"]
                   and urllib.parse.urlsplit(s["origin"]).hostname == want["host"] for s in storage), want


def test_clean_page_has_no_third_party_request_and_no_tracker_cookie(crawled):
    conn, _, _ = crawled
    visit = visit_of(conn, "www.clean-example.org")
    requests = rows(conn, "requests", visit["id"])
    assert requests and not [r["url"] for r in requests if r["third_party"] or r["tracker_entity"]]
    assert rows(conn, "cookies", visit["id"]) == []
    assert rows(conn, "storage_items", visit["id"]) == []


def test_trackers_are_classified_and_cookies_judged(crawled):
    conn, _, _ = crawled
    visit = visit_of(conn, "www.example-news.fr")
    entities = {r["tracker_entity"] for r in rows(conn, "requests", visit["id"]) if r["third_party"]}
    assert {"Google", "Meta", "Hotjar"} <= entities
    cookies = {c["name"]: c for c in rows(conn, "cookies", visit["id"])}
    assert cookies["_ga"]["identifier"] == 1 and cookies["uuid2"]["identifier"] == 1
    assert cookies["pref_lang"]["identifier"] == 0 and "characters" in cookies["pref_lang"]["identifier_reason"]
    assert cookies["_hjSession_3456789"]["identifier"] == 0  # 30 minutes: not long-lived
    assert cookies["session_id"]["http_only"] == 1 and cookies["uuid2"]["same_site"] == "None"
    assert 364 <= cookies["uuid2"]["lifetime_days"] <= 366


def test_identifier_verdict_compares_fresh_profiles(crawled):
    """IDE (.doubleclick.net) is set on several publishers, each visit in a fresh profile: its values differ, so it
    is judged an identifier by comparison, and rows judged earlier on entropy alone are updated."""
    conn, _, _ = crawled
    ide = list(conn.execute("SELECT visit_id, identifier, identifier_reason FROM cookies WHERE name = 'IDE'"))
    assert len({r["visit_id"] for r in ide}) >= 3
    assert all(r["identifier"] == 1 for r in ide), [r["identifier_reason"] for r in ide]
    assert all("differs between fresh profiles" in r["identifier_reason"] for r in ide)


def test_third_party_cookie_is_kept_and_sent_back(crawled):
    conn, _, log = crawled
    visit = visit_of(conn, crawler_lab.HOST, "/third-party-cookie")
    cookies = {c["name"]: c for c in rows(conn, "cookies", visit["id"])}
    assert cookies["lab_uid"]["third_party"] == 1 and cookies["lab_uid"]["set_by"] == "header"
    assert cookies["lab_uid"]["request_id"] is not None
    for want in expected()[f"{crawler_lab.HOST}/third-party-cookie"]["sent_back"]:
        sent = [e for e in log if e["host"] == want["host"] and e["path"] == want["path"]]
        assert sent, f"no request to {want['path']}"
        assert want["cookie"] + "=" in sent[-1]["headers"].get("cookie", ""), sent[-1]["headers"]


def test_workers_beacons_redirects_and_post_bodies_are_recorded(crawled):
    conn, _, _ = crawled
    visit = visit_of(conn, crawler_lab.HOST, "/workers")
    requests = rows(conn, "requests", visit["id"])
    by_path = {}
    for r in requests:
        by_path.setdefault(path_of(r["url"]), []).append(r)
    assert by_path["/from-worker"][0]["worker_url"].endswith("/lab-worker.js")
    assert by_path["/from-service-worker"][0]["worker_url"].endswith("/lab-sw.js")
    assert by_path["/beacon"][0]["resource_type"] == "ping" and by_path["/beacon"][0]["method"] == "POST"
    hop1, hop2, end = by_path["/hop1"][0], by_path["/hop2"][0], by_path["/hop-end"][0]
    assert (hop1["status"], hop2["status"], end["status"]) == (302, 302, 200)
    assert hop2["redirect_from_id"] == hop1["id"] and end["redirect_from_id"] == hop2["id"]
    assert [path_of(u) for u in json.loads(end["redirect_chain"])] == ["/hop1", "/hop2", "/hop-end"]
    assert all(r["initiator_url"] and r["initiator_url"].endswith("/workers") for r in (hop1, hop2, end))
    post = by_path["/collect"][0]
    body = conn.execute("SELECT content FROM bodies WHERE sha256 = ?", (post["post_body_sha256"],)).fetchone()
    assert body[0] == b'{"event":"lab","uid":"u-1234567"}'
    assert post["initiator_type"] == "script" and post["third_party"] == 1
    assert json.loads(post["request_headers"]).get("Content-Type", "").startswith("text/plain")
    storage = {(s["kind"], s["name"]) for s in rows(conn, "storage_items", visit["id"])}
    assert {("local", "lab_local"), ("session", "lab_session"), ("indexeddb", "lab-db")} <= storage


def test_evidence_files_are_kept_and_hashed(crawled, tmp_path_factory):
    conn, _, _ = crawled
    files = list(conn.execute("SELECT * FROM evidence_files"))
    kinds = {f["documents"] for f in files}
    assert kinds == {"screenshot", "har"}
    assert len(files) == 2 * (len(PUBLISHERS) + len(LAB_PAGES))
    db_path = conn.execute("PRAGMA database_list").fetchone()[2]
    import hashlib
    import pathlib

    for f in files:
        data = (pathlib.Path(db_path + ".evidence") / f["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == f["sha256"] and len(data) == f["size"]


def _reports(log) -> list[dict]:
    return [json.loads(e["body"]) for e in log if e["host"] == crawler_lab.HOST and e["path"] == "/report"]


async def _bare_probe(testweb) -> None:
    """The probe page in the same browser set-up, without any instrumentation (no CDP session at all)."""
    from playwright.async_api import async_playwright

    from crawler.browser.launch import LaunchPlan
    from crawler.browser.profile import new_profile, remove_profile
    from mouchard.browser import find_browser

    plan = LaunchPlan(find_browser(), extra_args=tuple(testweb.chromium_args()))
    profile = new_profile()
    async with async_playwright() as p:
        context = await p.chromium.launch_persistent_context(profile, **plan.options())
        page = context.pages[0]
        await page.goto(testweb.url(crawler_lab.HOST, "/probe"))
        await page.wait_for_timeout(500)
        await context.close()
    remove_profile(profile)


def test_page_sees_a_person_browser_and_no_instrumentation(crawled, testweb):
    _, _, log = crawled
    crawl_report = _reports(log)[-1]
    assert crawl_report["webdriver"] is False
    assert "Headless" not in crawl_report["user_agent"] and "Chrome/" in crawl_report["user_agent"]
    assert crawl_report["brands"] is None or not any("Headless" in b for b in crawl_report["brands"])
    assert crawl_report["languages"][0] == "en-US"
    assert (crawl_report["width"], crawl_report["height"]) == (1366, 768)
    assert crawl_report["cookie_accessors_native"] and not crawl_report["document_own_cookie"]
    assert crawl_report["fetch_native"] and crawl_report["to_string_native"]

    start = len(testweb.log)
    asyncio.run(_bare_probe(testweb))
    bare_report = _reports(testweb.log[start:])[-1]
    assert crawl_report["globals"] == bare_report["globals"]


def test_script_cookie_of_the_probe_names_the_page_as_setter(crawled):
    conn, _, _ = crawled
    visit = visit_of(conn, crawler_lab.HOST, "/probe")
    cookie = [c for c in rows(conn, "cookies", visit["id"]) if c["name"] == "probe"][0]
    assert cookie["set_by"] == "script" and path_of(cookie["setter_url"]) == "/probe"


def test_script_cookie_writes_are_rows_as_the_browser_took_them(crawled):
    """A refused write and a deletion make no row; a cookie set then deleted or overwritten keeps each value set."""
    conn, _, _ = crawled
    visit = visit_of(conn, crawler_lab.HOST, "/probe")
    written = {(c["name"], c["value"]) for c in rows(conn, "cookies", visit["id"]) if c["name"].startswith("probe_")}
    assert written == {("probe_gone", "1"), ("probe_twice", "a"), ("probe_twice", "b")}
    setters = {path_of(c["setter_url"]) for c in rows(conn, "cookies", visit["id"]) if c["name"].startswith("probe_")}
    assert setters == {"/probe"}
