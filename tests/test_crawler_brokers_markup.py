"""Reproduce The Markup / CalMatters result (August 2025): of the 2025 California registry's rights pages, 35
brokers hid theirs from search engines — 34 with a robots meta tag, 1 with robots.txt, none with X-Robots-Tag.

The test web serves the 499 pages with the signals The Markup observed (tests/web/sites/brokers_markup.py), on
their real host names behind the test web's proxy; `brokers fetch --year 2025` reads the registry from the
agency's URL and `brokers crawl` checks every broker, unchanged URLs, through `--proxy`. Plain HTTP at
concurrency 16; these pages run no script, so the rendered check (rule: only pages that run scripts) never starts.
"""

from __future__ import annotations

import csv
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from web import TestWeb
from web.sites import brokers_markup, registries

MARKUP = Path(__file__).parent / "data" / "brokers" / "markup-opt-out-pages-2025.csv"


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


def test_the_rendered_check_never_started(crawled):
    conn = sqlite3.connect(crawled)
    assert conn.execute("SELECT count(*) FROM broker_pages WHERE meta_noindex_rendered IS NOT NULL").fetchone()[0] == 0
    summary = json.loads(conn.execute("SELECT summary FROM crawls WHERE kind = 'brokers-crawl'").fetchone()[0])
    assert summary["findings"]["brokers.hidden-opt-out-page"] == 36
