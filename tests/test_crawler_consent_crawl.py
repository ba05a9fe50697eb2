"""`mouchard crawl --consent all --gpc` end to end: real Scrapy, scrapy-playwright, Chromium, SQLite. Each page is
visited once per phase, every row of the visit carries the phase through its visit, the consent and rtb rows
land in the database with their links (banner screenshot, request) resolved, and cookies know the consent moment.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import pytest

from conftest import NO_CALLS, needs
from demoweb.sites.consent_lib import missing_packages

pytestmark = [pytest.mark.browser, pytest.mark.slow]

HOSTS = ["www.tcf-news.com", "www.klaro-beispiel.de"]
PHASES = {"initial", "reject", "accept", "gpc"}


@pytest.fixture(scope="module")
def db(testweb, tmp_path_factory):
    needs(missing_packages())
    path = tmp_path_factory.mktemp("consent-crawl") / "consent.db"
    args = [sys.executable, "-m", "mouchard", "crawl", "--db", str(path), "--consent", "all", "--gpc",
            "--timeout", "20", "--concurrency", "2", *NO_CALLS]
    args += [f"--browser-arg={flag}" for flag in testweb.chromium_args(proxy=True)]
    result = subprocess.run([*args, *(f"https://{host}/" for host in HOSTS)], capture_output=True, text=True,
                            timeout=400)
    assert result.returncode == 0, result.stderr[-3000:]
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    yield conn
    conn.close()


def test_each_page_is_visited_once_per_phase(db):
    rows = db.execute("SELECT url, phase, status FROM visits").fetchall()
    assert {(r["url"], r["phase"]) for r in rows} == {(f"https://{h}/", p) for h in HOSTS for p in PHASES}
    assert {r["status"] for r in rows} == {"ok"}
    config = json.loads(db.execute("SELECT config FROM crawls").fetchone()["config"])
    assert config["phases"] == ["initial", "reject", "accept", "gpc"]


def test_consent_rows_carry_their_visit_phase_and_resolved_screenshots(db):
    rows = db.execute("SELECT c.*, v.phase AS visit_phase, v.url FROM consent c JOIN visits v ON v.id = c.visit_id "
                      "WHERE c.source = 'action'").fetchall()
    assert len(rows) == len(HOSTS) * len(PHASES)
    for row in rows:
        assert row["phase"] == row["visit_phase"]
        if row["visit_phase"] in ("reject", "accept"):
            assert row["verified"] == 1, (row["url"], row["phase"], row["verification"])
            banner = db.execute("SELECT * FROM evidence_files WHERE id = ?", (row["screenshot_file_id"],)).fetchone()
            assert banner["documents"] == "banner" and banner["visit_id"] == row["visit_id"] and banner["sha256"]
    folder = db.execute("PRAGMA database_list").fetchone()["file"] + ".evidence"
    paths = [r["path"] for r in db.execute("SELECT path FROM evidence_files WHERE documents = 'banner'")]
    assert paths and all(os.path.exists(os.path.join(folder, p)) for p in paths)


def test_rtb_rows_link_to_their_requests(db):
    rows = db.execute("SELECT r.event, q.host FROM rtb r JOIN requests q ON q.id = r.request_id "
                      "WHERE r.event LIKE 'openrtb-%'").fetchall()
    assert {"openrtb-request", "openrtb-response"} <= {r["event"] for r in rows}
    assert {r["host"] for r in rows} == {"rtb.openx.net"}


def test_cookies_know_the_consent_moment(db):
    accepted = db.execute("SELECT c.name, c.before_consent FROM cookies c JOIN visits v ON v.id = c.visit_id "
                          "WHERE v.phase = 'accept' AND v.url LIKE '%klaro%'").fetchall()
    assert ("klaro", 0) in {(r["name"], r["before_consent"]) for r in accepted}
    assert ("_ga", 0) in {(r["name"], r["before_consent"]) for r in accepted}
    initial = db.execute("SELECT count(*) FROM cookies c JOIN visits v ON v.id = c.visit_id "
                         "WHERE v.phase = 'initial' AND v.url LIKE '%klaro%'").fetchone()[0]
    assert initial == 0  # klaro's page sets nothing before a choice
