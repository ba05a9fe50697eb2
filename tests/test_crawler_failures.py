"""Nothing lost, nothing silent in a real crawl (Scrapy, scrapy-playwright, Chromium) of the test web's failure lab:
a collector failing in attach, in collect or with rows the store refuses leaves a `partial` visit and one
`failures` row each; a missing autoconsent package is a warning and a crawl-level row; a Prebid timeout of 1e20
is stored as text instead of rolling the visit back; POST bodies past the per-visit budget keep their hash only;
and `--retry-failed N` retries failed visits, at most N more times each, keeping every try."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from crawler.collectors.base import Collector
from demoweb.sites import failures_lab

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TESTS = Path(__file__).resolve().parent
BUDGET = 100_000  # bytes of POST bodies kept per visit in this crawl: the lab's /posts sends 5 x 60 KB


class FailingCollector(Collector):
    """Fails in attach and collect on the lab's /collector-fails page only."""

    name = "failing"

    async def attach(self, visit, target) -> None:
        if visit.url.endswith("/collector-fails") and target.type == "page":
            raise RuntimeError("planted attach failure")

    async def collect(self, visit):
        if visit.url.endswith("/collector-fails"):
            raise ValueError("planted collect failure")
        return {}


class BadRowsCollector(Collector):
    """Returns rows the store refuses (an unknown column) on /collector-fails."""

    name = "bad-rows"
    tables = ("cookies",)

    async def collect(self, visit):
        if visit.url.endswith("/collector-fails"):
            return {"cookies": [{"name": "x", "no_such_column": 1}]}
        return {}


DRIVER = """
import sys
from pathlib import Path
sys.path.insert(0, {tests!r})
import crawler.collectors.network as network
import crawler.consent.autoconsent as autoconsent
import crawler.settings as settings
autoconsent.node_modules_dirs = lambda: [Path({empty!r})]  # as if npm had not installed autoconsent
network.VISIT_BODY_BUDGET = {budget}
settings.DEFAULT_COLLECTORS[:] = [*settings.DEFAULT_COLLECTORS, "test_crawler_failures.FailingCollector",
                                  "test_crawler_failures.BadRowsCollector"]
from mouchard.cli import main
sys.argv = ["mouchard", *sys.argv[1:]]
main()
"""


def run(testweb, tmp_path: Path, db: Path, urls: list[str], *extra: str) -> subprocess.CompletedProcess:
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER.format(tests=str(TESTS), empty=str(tmp_path / "no-node-modules"), budget=BUDGET))
    args = [sys.executable, str(driver), "crawl", "--db", str(db), "--consent", "none", "--timeout", "15",
            "--concurrency", "2", *(f"--browser-arg={flag}" for flag in testweb.chromium_args()), *extra, *urls]
    return subprocess.run(args, capture_output=True, text=True, timeout=400)


@pytest.fixture(scope="module")
def crawled(testweb, tmp_path_factory):
    """Three runs of the same crawl: plain, then --retry-failed 2 twice; (db path, urls, outputs)."""
    tmp = tmp_path_factory.mktemp("failures")
    db = tmp / "failures.db"
    host = failures_lab.HOST
    urls = {name: testweb.url(host, path) for name, path in (
        ("huge", "/huge-timeout"), ("collector", "/collector-fails"), ("posts", "/posts"),
        ("flaky", f"/flaky/{uuid.uuid4().hex}"), ("broken", "/always-fails"))}
    outputs = [run(testweb, tmp, db, list(urls.values()))]
    outputs.append(run(testweb, tmp, db, list(urls.values()), "--retry-failed", "2"))
    outputs.append(run(testweb, tmp, db, list(urls.values()), "--retry-failed", "2"))
    for out in outputs:
        assert out.returncode == 0, out.stderr[-3000:]
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    yield conn, urls, outputs
    conn.close()


def visit(conn, url: str) -> sqlite3.Row:
    (row,) = conn.execute("SELECT * FROM visits WHERE key = ?", (f"initial {url}",)).fetchall()
    return row


def test_a_failing_collector_makes_the_visit_partial_with_one_failure_row_per_failure(crawled):
    conn, urls, _ = crawled
    first = conn.execute("SELECT * FROM visits WHERE key LIKE ? ORDER BY attempt",
                         (f"initial {urls['collector']}%",)).fetchall()[0]
    assert first["status"] == "partial"
    assert first["reason"] == "collector(s) failed: bad-rows, failing"
    failures = conn.execute("SELECT component, kind, detail, crawl_id FROM failures WHERE visit_id = ? ORDER BY id",
                            (first["id"],)).fetchall()
    details = {(f["component"], f["kind"], f["detail"].split(":")[0]) for f in failures}
    assert details == {("failing", "collector-error", "attach"), ("failing", "collector-error", "collect"),
                       ("bad-rows", "collector-error", "store cookies")}
    assert all(f["crawl_id"] == first["crawl_id"] for f in failures)
    assert "planted collect failure" in " ".join(f["detail"] for f in failures)
    # the other collectors' rows of that visit are all there: only the refused group was rolled back
    assert conn.execute("SELECT count(*) FROM requests WHERE visit_id = ?", (first["id"],)).fetchone()[0] >= 1
    assert conn.execute("SELECT count(*) FROM cookies WHERE visit_id = ?", (first["id"],)).fetchone()[0] == 0


def test_missing_autoconsent_is_a_warning_and_a_crawl_level_failure(crawled):
    conn, _, outputs = crawled
    assert "consent: npm package @duckduckgo/autoconsent not installed" in outputs[0].stderr
    rows = conn.execute("SELECT component, visit_id, crawl_id FROM failures WHERE kind = 'missing-dependency'").fetchall()
    assert [(r["component"], r["visit_id"], r["crawl_id"]) for r in rows][0] == ("consent", None, 1)


def test_a_prebid_timeout_of_1e20_is_stored_as_text_and_the_visit_kept(crawled):
    conn, urls, _ = crawled
    row = visit(conn, urls["huge"])
    assert row["status"] == "ok" and row["attempt"] == 1
    timeouts = [r[0] for r in conn.execute("SELECT timeout_ms FROM rtb WHERE visit_id = ? AND event = 'auctionInit'",
                                           (row["id"],))]
    assert timeouts == ["100000000000000000000 (out of range)"]
    (failure,) = conn.execute("SELECT component, kind, detail FROM failures WHERE visit_id = ?", (row["id"],)).fetchall()
    assert tuple(failure) == ("store", "value-out-of-range", "rtb.timeout_ms: integer of 21 digits stored as text")


def test_post_bodies_past_the_visit_budget_keep_their_hash_and_size_only(crawled):
    conn, urls, _ = crawled
    row = visit(conn, urls["posts"])
    bodies = conn.execute("SELECT b.size, b.truncated, b.content IS NULL AS dropped FROM requests r JOIN bodies b "
                          "ON b.sha256 = r.post_body_sha256 WHERE r.visit_id = ? AND r.method = 'POST'",
                          (row["id"],)).fetchall()
    assert len(bodies) == failures_lab.POSTS
    assert all(b["size"] == failures_lab.POST_BYTES for b in bodies)
    assert sorted(b["dropped"] for b in bodies) == [0, 1, 1, 1, 1]  # 100 KB budget: one 60 KB body kept
    (note,) = conn.execute("SELECT component, kind, detail FROM failures WHERE visit_id = ?", (row["id"],)).fetchall()
    assert (note["component"], note["kind"]) == ("network", "analysis-truncated")
    assert note["detail"].startswith("4 POST body(ies)")


def test_retry_failed_keeps_every_try_and_is_bounded(crawled):
    conn, urls, outputs = crawled
    assert "resuming crawl 1" in outputs[1].stderr
    assert [tuple(r) for r in conn.execute("SELECT id, status FROM crawls WHERE kind = 'web'")] == [(1, "finished")]
    keys = [r[0] for r in conn.execute("SELECT key FROM visits")]
    assert len(keys) == len(set(keys))
    ledger = {k for k in keys if " #attempt " not in k}
    assert ledger == {f"initial {u}" for u in urls.values()}  # one row per page holds its key: no gap

    def tries(name):
        return [tuple(r) for r in conn.execute("SELECT key, attempt, status FROM visits WHERE key LIKE ? ORDER BY "
                                               "attempt", (f"initial {urls[name]}%",))]

    key = f"initial {urls['flaky']}"
    assert tries("flaky") == [(f"{key} #attempt 1", 1, "http-error"), (key, 2, "ok")]
    key = f"initial {urls['broken']}"
    assert tries("broken") == [(f"{key} #attempt 1", 1, "http-error"), (f"{key} #attempt 2", 2, "http-error"),
                               (key, 3, "http-error")]  # 1 + 2 tries, then no more: the third run adds nothing
    assert [s for _, _, s in tries("collector")] == ["partial"] * 3
    assert [(a, s) for _, a, s in tries("huge")] == [(1, "ok")]
    summary = json.loads(conn.execute("SELECT summary FROM crawls WHERE id = 1").fetchone()[0])
    assert summary["failures"]["collector-error failing"] == 6
    assert "not recorded in full" in outputs[0].stdout
