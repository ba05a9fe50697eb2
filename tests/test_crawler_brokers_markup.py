"""Reproduce The Markup / CalMatters result (August 2025): of the 2025 California registry's rights pages, 35
brokers hid theirs from search engines — 34 with a robots meta tag, 1 with robots.txt, none with X-Robots-Tag.

The test web serves the 499 pages with the signals The Markup observed (demoweb/sites/brokers_markup.py), on
their real host names behind the test web's proxy; `brokers fetch --year 2025` reads the registry from the
agency's URL and `brokers crawl` checks every broker, unchanged URLs, through `--proxy`. Plain HTTP at
concurrency 16; these pages run no script, so the rendered check (rule: only pages that run scripts) never starts.
Four of the 35 are found only because the crawl repairs a wrong registry URL as The Markup did by hand: the
registry's page is gone or sends visitors home, and the real page is linked from the site's home page.
"""

from __future__ import annotations

import csv
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from demoweb import DATA as SAMPLES, TestWeb
from demoweb.sites import brokers_markup, registries

MARKUP = SAMPLES / "brokers" / "markup-opt-out-pages-2025.csv"


def run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mouchard", *args], capture_output=True, text=True, timeout=timeout)


def name(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def markup_web():
    web = TestWeb(sites=[*brokers_markup.build_sites(), *registries.SITES]).start()
    yield web
    web.stop()


@pytest.fixture(scope="module")
def crawled(markup_web, tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("markup") / "markup.db"
    out = run("brokers", "fetch", "--year", "2025", "--proxy", markup_web.proxy_url, "--db", str(db))
    assert out.returncode == 0, out.stderr
    out = run("brokers", "crawl", "--proxy", markup_web.proxy_url, "--concurrency", "16", "--db", str(db))
    assert out.returncode == 0, out.stderr
    assert "535 brokers" in out.stdout
    return db


def test_the_same_35_brokers_hide_their_rights_pages(crawled):
    with MARKUP.open(encoding="utf-8", newline="") as handle:
        markup = list(csv.DictReader(handle))
    theirs = {name(r["company_name"]): r for r in markup if r["hiding_found"] == "TRUE"}
    conn = sqlite3.connect(crawled)
    conn.row_factory = sqlite3.Row
    ours: dict[str, dict] = {}
    for row in conn.execute(
            "SELECT f.subject, p.final_url, p.hidden_reasons FROM findings f, json_each(f.evidence) e "
            "JOIN broker_pages p ON p.id = json_extract(e.value, '$.id') AND json_extract(e.value, '$.table') = "
            "'broker_pages' WHERE f.rule_id = 'brokers.hidden-opt-out-page'"):
        ours.setdefault(name(row["subject"]), {"url": row["final_url"], "reasons": json.loads(row["hidden_reasons"])})
    shared = {name(n): name(r["company_name"]) for r in theirs.values()
              for n in r["other_company_names_that_use_url_original"].split(";") if n.strip()}

    lines = [f"{'broker':44} {'The Markup':32} {'mouchard':24}"]
    for broker in sorted(set(theirs) | set(ours)):
        row = theirs.get(broker)
        markup_says = ("meta tag" if "noindex" in row["meta_tag"] else "robots.txt"
                       if row["robots_txt_restricts"] == "TRUE" else "header") if row else "-"
        we_say = ", ".join(ours[broker]["reasons"]) if broker in ours else "-"
        if broker in shared:
            markup_says = f"(shares {shared[broker][:14]}'s page)"
        lines.append(f"{broker[:44]:44} {markup_says:32} {we_say:24}")
    print("\n".join(lines))

    assert len(theirs) == 35
    assert set(theirs) - set(ours) == set(), "hiding brokers The Markup found and we did not"
    extra = set(ours) - set(theirs)
    # A registration pointing at the same page as a hiding broker (The Markup listed it once) hides it too.
    assert extra == {"PlaceIQ, Inc."} and extra <= set(shared)
    signals = [ours[b]["reasons"] for b in theirs]
    assert sum(1 for s in signals if s == ["meta-raw"]) == 34
    assert sum(1 for s in signals if s == ["robots-txt"]) == 1
    assert not any("x-robots-tag" in s for s in signals)


# The four hiding brokers whose registry URL is not the page The Markup checked (they found it "by navigating"
# from the site): the registry's page is gone or sends visitors home, and the crawl repairs it from a home page.
REPAIRED = {
    "Monevo, Inc.": ("https://app.monevo.us/privacy-policy", "not-found", "https://app.monevo.us/",
                     "https://app.monevo.us/california-privacy-policy"),
    "Fideo Intelligence, Inc.": ("https://www.fideo.ai/privacy/privacy-policy/", "not-found", "https://www.fideo.ai/",
                                 "https://app.fideo.ai/your-privacy-choices"),
    "BrightCheck Inc.": ("https://www.brightcheck.com/privacy-policy", "not-found", "https://www.brightcheck.com/",
                         "https://brightcheck.com/opt-out-preferences/"),
    "5X5 US, LLC": ("https://5x5data.com/privacy-policy/", "ok", "https://5x5data.com/",
                    "https://5x5data.com/dsr-out/"),
}


def test_the_four_wrong_registry_urls_are_repaired_from_the_home_page(crawled):
    conn = sqlite3.connect(crawled)
    conn.row_factory = sqlite3.Row
    rows = {name(r["name"]): r for r in conn.execute(
        "SELECT b.name, p.url, p.final_url, p.hidden, p.hidden_reasons, p.found_via FROM broker_pages p "
        "JOIN brokers b ON b.id = p.broker_id WHERE p.kind = 'rights' AND p.found_via IS NOT NULL")}
    for broker, (registered, answered, home, found) in REPAIRED.items():
        row = rows[broker]
        via = json.loads(row["found_via"])
        assert (via["registered"], via["found"], row["url"]) == (registered, found, found), broker
        assert via["steps"][0] == {"url": registered, "how": "registered", "status": answered,
                                   "http_status": 404 if answered == "not-found" else 200,
                                   **({"final_url": home} if answered == "ok" else {})}, broker
        homes = [s for s in via["steps"] if s["how"] == "home"]
        assert homes[-1]["url"] == home and homes[-1]["status"] == "ok", broker
        assert via["steps"][-1]["how"] == "link" and via["steps"][-1]["url"] == found, broker
        assert len([s for s in via["steps"] if s["how"] in ("variant", "home")]) <= 8, broker
        assert (row["hidden"], json.loads(row["hidden_reasons"])) == (1, ["meta-raw"]), broker
    # the registered URL's own row stays, with its failure: the repair adds a row, it does not overwrite one
    dead = {name(r[0]): (r[1], r[2]) for r in conn.execute(
        "SELECT b.name, p.url, p.status FROM broker_pages p JOIN brokers b ON b.id = p.broker_id "
        "WHERE p.kind = 'rights' AND p.found_via IS NULL")}
    assert {b: dead[b] for b in REPAIRED} == {b: (v[0], v[1]) for b, v in REPAIRED.items()}
    assert sorted(rows) == sorted(REPAIRED)  # no other registered URL of the 535 was repaired


def test_pages_on_privacy_services_are_hidden_but_not_counted(crawled):
    conn = sqlite3.connect(crawled)
    services = sorted(conn.execute("SELECT DISTINCT hosted_by FROM broker_pages WHERE hidden = 1 AND hosted_by "
                                   "IS NOT NULL").fetchall())
    # Malvern Media and Throtle (PrivacyPillar), Dun & Bradstreet (TrustArc), PureCars (Google Forms), EAB (Box):
    # noindex there, but The Markup did not count them, and neither do we.
    assert [s[0] for s in services] == ["Box", "Google Forms", "PrivacyPillar", "TrustArc"]
    counted = conn.execute("SELECT count(*) FROM findings f JOIN broker_pages p ON p.broker_id = f.broker_id "
                           "WHERE f.rule_id = 'brokers.hidden-opt-out-page' AND p.hosted_by IS NOT NULL "
                           "AND p.hidden = 1")
    assert counted.fetchone()[0] == 0


def test_the_four_are_found_only_by_the_repair(crawled):
    """Without the repair rows, Monevo and 5X5 are not found: their registered site's home page is not served and
    the registry URL is the moved page. (Fideo and BrightCheck also link it from the registered home page.)"""
    conn = sqlite3.connect(crawled)
    direct = {name(r[0]) for r in conn.execute(
        "SELECT b.name FROM broker_pages p JOIN brokers b ON b.id = p.broker_id WHERE p.hidden = 1 "
        "AND p.hosted_by IS NULL AND p.found_via IS NULL AND p.kind IN ('opt-out', 'deletion', 'access', 'rights')")}
    assert {b for b in REPAIRED if b not in direct} == {"Monevo, Inc.", "5X5 US, LLC"}


def test_the_rendered_check_never_started(crawled):
    conn = sqlite3.connect(crawled)
    assert conn.execute("SELECT count(*) FROM broker_pages WHERE meta_noindex_rendered IS NOT NULL").fetchone()[0] == 0
    summary = json.loads(conn.execute("SELECT summary FROM crawls WHERE kind = 'brokers-crawl'").fetchone()[0])
    assert summary["findings"]["brokers.hidden-opt-out-page"] == 36
