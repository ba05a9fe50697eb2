"""Kill a crawl with SIGKILL mid-way and run the same command again: it resumes under the same crawl, keeps every
visit recorded before the kill, visits nothing twice, and follows the internal links sampled before the kill.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import psutil
import pytest

from test_crawler_recall import PUBLISHERS

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def crawl_command(testweb, db, site_list) -> list[str]:
    return [sys.executable, "-m", "mouchard", "crawl", "--db", str(db), "--consent", "none", "--list", str(site_list),
            "--timeout", "15", "--concurrency", "2", "--pages-per-site", "1", "--seed", "7",
            *(f"--browser-arg={flag}" for flag in testweb.chromium_args())]


def visits(db) -> list[dict]:
    if not os.path.exists(db):
        return []
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute("SELECT id, crawl_id, key, url, depth, parent_visit_id FROM visits")]
    except sqlite3.OperationalError:
        return []
    finally:
        conn.close()


def test_sigkill_then_rerun_resumes_without_loss_or_duplicate(testweb, tmp_path):
    db = tmp_path / "resume.db"
    site_list = tmp_path / "sites.csv"
    rows = [f"{testweb.url(host)},news" for host in PUBLISHERS]
    site_list.write_text("url,tags\n" + "\n".join(rows) + "\n")
    command = crawl_command(testweb, db, site_list)

    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while len(visits(db)) < 3 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.2)
    children = psutil.Process(process.pid).children(recursive=True)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    before = {v["key"]: v for v in visits(db)}
    assert 3 <= len(before) < 2 * len(PUBLISHERS), "kill came too late to test a resume"
    _, alive = psutil.wait_procs(children, timeout=15)
    assert not alive, f"browser processes outlived the killed crawl: {[p.pid for p in alive]}"

    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "resuming crawl 1" in result.stderr
    after = visits(db)
    keys = [v["key"] for v in after]
    assert len(keys) == len(set(keys)), "a page was visited twice"
    for key, visit in before.items():  # nothing recorded before the kill was lost or rewritten
        assert any(v["key"] == key and v["id"] == visit["id"] for v in after)
    landing = {v["url"] for v in after if v["depth"] == 0}
    assert landing == {testweb.url(host) for host in PUBLISHERS}

    conn = sqlite3.connect(db)
    crawls = conn.execute("SELECT id, status, config FROM crawls WHERE kind = 'web'").fetchall()
    assert [(c[0], c[1]) for c in crawls] == [(1, "finished")]
    config = json.loads(crawls[0][2])
    samples = config["samples"]
    by_key = {v["key"]: v for v in after}
    for parent_key, sample in samples.items():  # every sampled link visited once, under its landing page
        assert len(sample["chosen"]) == 1
        child = by_key[f"initial {sample['chosen'][0]}"]
        assert child["depth"] == 1 and child["parent_visit_id"] == by_key[parent_key]["id"]
    sampled_sites = {k.split()[1] for k in samples}
    assert testweb.url("www.example-news.fr") in sampled_sites  # has internal links; the clean page has none
    assert conn.execute("SELECT count(*) FROM visits WHERE depth = 1").fetchone()[0] == len(samples)
    tags = {r[0] for r in conn.execute("SELECT tags FROM visits")}
    assert tags == {'["news"]'}
    conn.close()
