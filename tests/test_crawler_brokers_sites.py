"""`mouchard brokers crawl` on the test web's broker sites: every page's verdict (hidden by robots meta in the
served HTML, by a meta tag a script adds, by X-Robots-Tag, by robots.txt; clean; redirected; dead; behind a bot
wall; on a privacy-portal service; a French broker), through a host map and through the proxy; the findings the
audit rules derive at the end of the crawl; a policy change between two crawls and a broker's site that ignores
Global Privacy Control in a browser crawl. Real Scrapy, real Chromium for the rendered check, real SQLite."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import urllib.parse

import pytest

from demoweb.sites import brokers as broker_sites

pytestmark = pytest.mark.browser


def run(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mouchard", *args], capture_output=True, text=True, timeout=timeout)


def rows(db, sql: str, params=()) -> list[dict]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(sql, params)]
    finally:
        conn.close()


def page_key(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.hostname}{parts.path}"


def crawl_brokers(testweb, tmp_path, mode: str) -> str:
    """Fetch the test brokers as a journalist's list, then crawl them; returns the database path."""
    db = str(tmp_path / f"{mode}.db")
    if mode == "host-map":
        # URLs carry the test web's port; every name resolves to 127.0.0.1.
        def with_port(url: str) -> str:
            p = urllib.parse.urlsplit(url)
            return urllib.parse.urlunsplit((p.scheme, f"{p.hostname}:{testweb.https_port}", p.path, p.query, ""))
        listing, network = broker_sites.list_csv(with_port), ["--host-map", "*=127.0.0.1"]
    else:
        # URLs as a registry gives them (no port); the test web is the proxy in front of every host.
        listing, network = broker_sites.list_csv(), ["--proxy", testweb.proxy_url]
    (tmp_path / "list.csv").write_text(listing, encoding="utf-8")
    out = run("brokers", "fetch", "--registry", "list", "--from", str(tmp_path / "list.csv"), "--db", db)
    assert out.returncode == 0, out.stderr
    out = run("brokers", "crawl", "--db", db, "--ignore-https-errors", "--concurrency", "4", *network)
    assert out.returncode == 0, out.stderr
    assert "11 brokers" in out.stdout
    return db


@pytest.fixture(scope="module")
def hostmap_db(testweb, tmp_path_factory) -> str:
    """One crawl through the host map, shared by the tests that only read it (they copy it to write)."""
    return crawl_brokers(testweb, tmp_path_factory.mktemp("hostmap"), "host-map")


def copy_db(db: str, tmp_path) -> str:
    target = str(tmp_path / "copy.db")
    source, copy = sqlite3.connect(db), sqlite3.connect(target)
    source.backup(copy)
    source.close()
    copy.close()
    return target


@pytest.mark.parametrize("mode", ["host-map", "proxy"])
def test_every_broker_page_gets_the_right_verdict(testweb, tmp_path, mode, request):
    db = request.getfixturevalue("hostmap_db") if mode == "host-map" else crawl_brokers(testweb, tmp_path, mode)
    crawl_id = rows(db, "SELECT min(id) id FROM crawls WHERE kind = 'brokers-crawl'")[0]["id"]
    wrong = []
    for broker in broker_sites.BROKERS:
        broker_id = rows(db, "SELECT id FROM brokers WHERE name = ?", (broker["name"],))[0]["id"]
        pages = rows(db, "SELECT * FROM broker_pages WHERE crawl_id = ? AND broker_id = ?", (crawl_id, broker_id))
        for key, expected in broker["pages"].items():
            found = [p for p in pages if page_key(p["final_url"] or p["url"]) == key and p["kind"] == expected["kind"]]
            if not found:
                wrong.append((broker["name"], key, "no row", sorted({(page_key(p["final_url"] or p["url"]), p["kind"])
                                                                     for p in pages})))
                continue
            page = found[0]
            got = {"hidden": bool(page["hidden"]), "reasons": json.loads(page["hidden_reasons"]),
                   "status": page["status"], "hosted_by": page["hosted_by"], "clicks": page["clicks_from_home"],
                   "redirects": [page_key(u) for u in json.loads(page["redirects"] or "[]")]}
            expected = {"status": "ok", "reasons": [], "hosted_by": None, **expected}
            for field, value in expected.items():
                if field != "kind" and got[field] != value:
                    wrong.append((broker["name"], key, field, value, got[field]))
        gpc = [p["gpc"] for p in pages if p["kind"] == "gpc"]
        if (gpc[0] if gpc else None) != broker["gpc"]:
            wrong.append((broker["name"], "gpc", broker["gpc"], gpc))
        rules = sorted({f["rule_id"] for f in rows(db, "SELECT rule_id FROM findings WHERE crawl_id = ? AND "
                                                       "broker_id = ?", (crawl_id, broker_id))})
        if rules != sorted(broker["findings"]):
            wrong.append((broker["name"], "findings", sorted(broker["findings"]), rules))
    assert not wrong, "\n".join(map(str, wrong))


def test_wrong_rights_urls_are_repaired_and_the_path_is_kept(hostmap_db):
    """Typo Host's `www.app.` host answers nothing: its spelling without the `www.` is the page. Gone Fishing's
    registered page is gone: its home page's own "Delete My Information" link is taken (dead too, and said so)."""
    repaired = {r["name"]: (page_key(r["url"]), r["status"], json.loads(r["found_via"])) for r in rows(
        hostmap_db, "SELECT b.name, p.url, p.status, p.found_via FROM broker_pages p JOIN brokers b "
                    "ON b.id = p.broker_id WHERE p.found_via IS NOT NULL")}
    assert {name: (url, status) for name, (url, status, _) in repaired.items()} == {
        "Typo Host Data Inc.": ("app.typohost-data.com/your-privacy-choices", "ok"),
        "Gone Fishing Data LLC": ("www.gonefishing-data.com/removal", "not-found")}
    typo = repaired["Typo Host Data Inc."][2]
    assert [(page_key(s["url"]), s["how"], s["status"]) for s in typo["steps"]] == [
        ("www.app.typohost-data.com/your-privacy-choices", "registered", "not-found"),
        ("app.typohost-data.com/your-privacy-choices", "variant", "ok")]
    gone = repaired["Gone Fishing Data LLC"][2]
    assert [s["how"] for s in gone["steps"]][0] == "registered" and gone["steps"][-1] == {
        "url": gone["found"], "how": "link", "text": "Delete My Information"}
    assert [page_key(s["url"]) for s in gone["steps"] if s["how"] == "home"] == ["www.gonefishing-data.com/"]
    assert len([s for s in gone["steps"] if s["how"] in ("variant", "home")]) <= 8


def test_rendered_check_runs_only_where_a_script_could_add_a_tag(hostmap_db):
    db = hostmap_db
    rendered = {page_key(p["url"]) for p in rows(db, "SELECT url FROM broker_pages WHERE meta_noindex_rendered "
                                                     "IS NOT NULL")}
    # Both Script Veil pages run scripts; every other page is static HTML or already hidden by its raw HTML.
    assert rendered == {"www.scriptveil-data.com/opt-out", "www.scriptveil-data.com/privacy-policy"}
    veil = rows(db, "SELECT * FROM broker_pages WHERE url LIKE '%scriptveil-data.com%/opt-out' AND kind = 'opt-out'")[0]
    assert (veil["meta_noindex_raw"], veil["meta_noindex_rendered"], veil["hidden"]) == (0, 1, 1)


def test_findings_cite_their_evidence_and_keep_a_stable_fingerprint(hostmap_db, tmp_path):
    db = copy_db(hostmap_db, tmp_path)
    findings = rows(db, "SELECT * FROM findings WHERE rule_id = 'brokers.hidden-opt-out-page'")
    french = [f for f in findings if f["subject"] == "Courtier Données SAS"][0]
    # Derived by the audit rules with the default jurisdiction (`mouchard audit --db --jurisdiction` re-derives).
    assert french["jurisdiction"] == "eu" and "GDPR" in french["legal_reference"] and french["rule_version"] == "1"
    evidence = json.loads(french["evidence"])
    assert {e["table"] for e in evidence} == {"brokers", "broker_pages"}
    pages = [rows(db, "SELECT * FROM broker_pages WHERE id = ?", (e["id"],))[0] for e in evidence
             if e["table"] == "broker_pages"]
    assert [p["url"].rsplit("/", 1)[1] for p in pages] == ["opposition"]
    assert rows(db, "SELECT name FROM brokers WHERE id = ?", (french["broker_id"],))[0]["name"] == french["subject"]
    text = rows(db, "SELECT text, text_sha256 FROM broker_pages WHERE url LIKE '%politique-de-confidentialite'")[0]
    assert "Nous traitons vos données personnelles" in text["text"] and len(text["text_sha256"]) == 64
    searched = rows(db, "SELECT rowid FROM broker_pages_fts WHERE broker_pages_fts MATCH 'traitons'")
    assert searched
    # A second crawl of unchanged sites reports the same findings, with the same fingerprints.
    out = run("brokers", "crawl", "--db", db, "--ignore-https-errors", "--host-map", "*=127.0.0.1", "--render", "never")
    assert out.returncode == 0, out.stderr
    runs = rows(db, "SELECT crawl_id, group_concat(fingerprint) f FROM (SELECT crawl_id, fingerprint FROM findings "
                    "WHERE rule_id IN ('brokers.dead-rights-link', 'brokers.no-gpc-support') ORDER BY fingerprint) "
                    "GROUP BY crawl_id")
    assert len(runs) == 2 and runs[0]["f"] == runs[1]["f"]


def browser_crawl_with_gpc(db: str, site: str, gpc_trackers: list[str]) -> None:
    """What `mouchard crawl --gpc` of a broker's home page records: a visit per phase, its tracker requests."""
    from mouchard.storage.store import Store

    with Store(db) as store:
        web = store.start_crawl("web")
        for phase, trackers in (("initial", ["Criteo", "Google"]), ("gpc", gpc_trackers)):
            visit = store.insert("visits", {"crawl_id": web, "url": f"https://www.{site}/", "site": site,
                                            "final_site": site, "phase": phase, "depth": 0, "status": "ok"})
            store.insert_many("requests", [{"visit_id": visit, "url": f"https://ads.{t.lower()}.com/b",
                                            "host": f"ads.{t.lower()}.com", "third_party": 1, "tracker_entity": t,
                                            "tracker_category": "advertising"} for t in trackers])
        store.finish_crawl(web)


def test_the_next_crawl_reports_a_changed_policy_and_a_site_ignoring_gpc(hostmap_db, tmp_path):
    db = copy_db(hostmap_db, tmp_path)
    browser_crawl_with_gpc(db, "clearlist-data.com", ["Criteo"])
    broker_sites.POLICY_VERSION["www.clearlist-data.com"] = 2
    try:
        out = run("brokers", "crawl", "--db", db, "--ignore-https-errors", "--host-map", "*=127.0.0.1",
                  "--render", "never")
    finally:
        broker_sites.POLICY_VERSION["www.clearlist-data.com"] = 1
    assert out.returncode == 0, out.stderr
    second = rows(db, "SELECT max(id) id FROM crawls WHERE kind = 'brokers-crawl'")[0]["id"]
    changed = rows(db, "SELECT * FROM findings WHERE rule_id = 'brokers.policy-changed'")
    assert [(f["subject"], f["severity"], f["crawl_id"]) for f in changed] == [
        ("Clear List Data, Inc.", "info", second)]
    pages = [e for e in json.loads(changed[0]["evidence"]) if e["table"] == "broker_pages"]
    assert "/privacy" in changed[0]["detail"] and len(pages) == 2  # the page before and after
    ignored = rows(db, "SELECT * FROM findings WHERE rule_id = 'brokers.gpc-ignored'")
    assert [(f["subject"], f["crawl_id"]) for f in ignored] == [("Clear List Data, Inc.", second)]
    assert "Criteo" in ignored[0]["detail"] and "Without the signal: Criteo, Google." in ignored[0]["detail"]
    # The summary counts what the rules found; the audit that derived them is recorded as a run of its own.
    assert "  brokers.gpc-ignored: 1" in out.stdout and "  brokers.policy-changed: 1" in out.stdout
    summary = json.loads(rows(db, "SELECT summary FROM crawls WHERE id = ?", (second,))[0]["summary"])
    assert summary["findings"]["brokers.gpc-ignored"] == 1
    audit = rows(db, "SELECT config FROM crawls WHERE kind = 'audit' ORDER BY id DESC LIMIT 1")[0]
    assert json.loads(audit["config"])["scope"] == [second]


def test_crawl_without_brokers_says_what_to_do(tmp_path):
    db = tmp_path / "empty.db"
    sqlite3.connect(db).close()
    out = run("brokers", "crawl", "--db", str(db))
    assert out.returncode == 1 and "run 'mouchard brokers fetch' first" in out.stderr


def test_a_dead_proxy_stops_the_run_before_any_page_looks_dead(hostmap_db, tmp_path):
    db = copy_db(hostmap_db, tmp_path)
    out = run("brokers", "crawl", "--db", db, "--proxy", "http://127.0.0.1:9", "--render", "never")
    assert out.returncode == 1 and "does not answer" in out.stderr and out.stderr.count("\n") == 1
    assert rows(db, "SELECT count(*) n FROM crawls WHERE kind = 'brokers-crawl'")[0]["n"] == 1
