"""Distributed crawls on a real redis-server: leases, retries and give-ups of the shared queue; then real workers
(`mouchard worker` processes: Scrapy, scrapy-playwright, Chromium) on the test web — every URL visited once
across workers, a killed worker's visit retried by the other, the merged shards equal to a one-machine crawl —
and the broker-sites spider, unchanged, on the same queue."""

from __future__ import annotations

import collections
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import uuid
from pathlib import Path

import pytest

from crawler.frontier import Frontier, Task
from mouchard.errors import UserError
from mouchard.merge import merge
from mouchard.sitelist import Target
from test_crawler_brokers_sites import rows as db_rows

PUBLISHERS = ["www.example-news.fr", "www.daily-example.co.uk", "shop.example-store.com", "www.clean-example.org"]
SLOW_SECONDS = 8  # long enough to kill a worker in the middle of the visit
TIMEOUT = 20


# --- a real Redis (the `redis_url` fixture: tests/conftest.py) ----------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def new_run(redis_url: str, ids: list[str], max_attempts: int = 3) -> Frontier:
    frontier, queued = Frontier.seed(redis_url, {"spider": "test", "max_attempts": max_attempts},
                                     [Task(i, {"n": i}) for i in ids], run=uuid.uuid4().hex[:8])
    assert queued == len(ids)
    return frontier


# --- the queue ------------------------------------------------------------------------------------------------------

def test_a_task_is_leased_to_one_worker_at_a_time(redis_url):
    frontier = new_run(redis_url, ["a", "b", "c"])
    first = frontier.lease(2, "w1", 60)
    second = frontier.lease(5, "w2", 60)
    assert [t.id for t in first] == ["a", "b"] and [t.id for t in second] == ["c"]
    assert frontier.lease(1, "w3", 60) == []
    assert frontier.owners() == {"a": "w1", "b": "w1", "c": "w2"}
    assert not frontier.finished()
    for task in first + second:
        assert frontier.ack(task.id, "w1" if task in first else "w2")
    assert frontier.finished() and frontier.status()["done"] == 3


def test_an_expired_lease_goes_back_first_in_the_queue_as_a_new_attempt(redis_url):
    frontier = new_run(redis_url, ["a", "b"])
    (task,) = frontier.lease(1, "dead", 0.2)
    assert task.attempt == 1 and task.data == {"n": "a"}
    assert frontier.reap(3) == (0, [])  # not expired yet
    time.sleep(0.3)
    assert frontier.reap(3) == (1, [])
    again = frontier.lease(1, "alive", 60)
    assert [(t.id, t.attempt) for t in again] == [("a", 2)]
    assert frontier.ack("a", "alive") is True
    assert frontier.ack("b", "alive") is False  # never leased: done all the same, and no longer handed out
    assert frontier.lease(1, "alive", 60) == [] and frontier.finished()


def test_a_task_whose_workers_keep_dying_is_given_up_after_max_attempts(redis_url):
    frontier = new_run(redis_url, ["killer", "fine"], max_attempts=2)
    for attempt in (1, 2):
        (task,) = frontier.lease(1, f"worker-{attempt}", 0.1)
        assert (task.id, task.attempt) == ("killer", attempt)
        time.sleep(0.15)
        requeued, given_up = frontier.reap(2)
    assert requeued == 0 and [(t.id, t.attempt) for t in given_up] == [("killer", 2)]
    assert [t.id for t in frontier.lease(5, "w", 60)] == ["fine"]  # never handed out again
    frontier.ack("fine", "w")
    assert frontier.finished()
    assert frontier.status() == {"run": frontier.run, "tasks": 2, "queued": 0, "leased": 0, "done": 1, "given_up": 1}


def test_a_slow_worker_acking_late_leaves_the_new_holder_its_lease(redis_url):
    frontier = new_run(redis_url, ["a"])
    frontier.lease(1, "slow", 0.1)
    time.sleep(0.15)
    frontier.reap(3)
    (task,) = frontier.lease(1, "fast", 60)
    assert frontier.ack("a", "slow") is False  # the slow one finished after all: the task is done...
    assert frontier.owners() == {"a": "fast"}  # ...and the new holder keeps its lease until it acks
    assert frontier.renew(["a"], "fast", 60) == []
    assert frontier.ack("a", "fast") is True and frontier.finished()
    frontier.reap(3)
    assert frontier.lease(1, "other", 60) == []  # never queued again


def test_renewing_keeps_a_lease_alive_and_reports_one_taken_back(redis_url):
    frontier = new_run(redis_url, ["a", "b"])
    tasks = frontier.lease(2, "w1", 0.3)
    for _ in range(3):
        time.sleep(0.15)
        assert frontier.renew([t.id for t in tasks], "w1", 0.3) == []
    assert frontier.reap(3) == (0, [])
    time.sleep(0.4)
    frontier.reap(3)
    assert sorted(frontier.renew(["a", "b"], "w1", 0.3)) == ["a", "b"]


def test_a_released_task_goes_back_without_counting_an_attempt(redis_url):
    frontier = new_run(redis_url, ["a"])
    (task,) = frontier.lease(1, "w1", 60)
    assert frontier.release(task.id)
    assert [(t.id, t.attempt) for t in frontier.lease(1, "w2", 60)] == [("a", 1)]


def test_seeding_again_queues_only_new_tasks_and_refuses_another_config(redis_url):
    run = uuid.uuid4().hex[:8]
    Frontier.seed(redis_url, {"spider": "test"}, [Task("a", {}), Task("b", {})], run=run)
    frontier, queued = Frontier.seed(redis_url, {"spider": "test"}, [Task("b", {}), Task("c", {})], run=run)
    assert queued == 1 and frontier.status()["tasks"] == 3
    with pytest.raises(UserError, match="another configuration"):
        Frontier.seed(redis_url, {"spider": "other"}, [], run=run)
    assert Frontier.join(redis_url).run == run  # the run seeded last is the default


def test_unreachable_redis_and_unknown_run_are_one_line_errors(redis_url):
    with pytest.raises(UserError, match="cannot reach Redis"):
        Frontier.join(f"redis://127.0.0.1:{_free_port()}/0")
    with pytest.raises(UserError, match="no run 'nope'"):
        Frontier.join(redis_url, "nope")
    out = subprocess.run([sys.executable, "-m", "mouchard", "worker", "--redis", f"redis://127.0.0.1:{_free_port()}/0"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and "cannot reach Redis" in out.stderr and "Traceback" not in out.stderr


def test_browser_tasks_are_done_when_the_landing_page_and_its_sample_are_recorded():
    from crawler.browser.visit import VisitRecord, VisitSpec
    from crawler.distributed import BrowserTasks, _SiteTask
    from crawler.spiders.browser import visit_key

    class Stats:
        def inc_value(self, *a, **k):
            pass

    class Crawler:
        stats = Stats()

    tasks = BrowserTasks(Crawler())
    a, b = visit_key("https://a.example/"), visit_key("https://b.example/")
    for key in (a, b):
        tasks.sites[key] = _SiteTask(Task(key, {"key": key}))
        tasks._wait(key, key)
    landing = VisitRecord(VisitSpec(a, "https://a.example/"), {}, samples=["https://a.example/x", "https://a.example/y"])
    assert tasks.completed(landing) == []
    child = lambda url: VisitRecord(VisitSpec(visit_key(url), url, depth=1, parent_key=a), {})  # noqa: E731
    assert tasks.completed(child("https://a.example/x")) == []
    assert tasks.completed(VisitRecord(VisitSpec(b, "https://b.example/"), {})) == [b]  # no sample: done at once
    assert tasks.completed(child("https://a.example/y")) == [a]


# --- real workers on the test web ------------------------------------------------------------------------------

def site_list(testweb) -> list[Target]:
    slow = testweb.url("hostile.example-bad.com", f"/slow?seconds={SLOW_SECONDS}")
    return [Target(testweb.url(host)) for host in PUBLISHERS[:2]] + [Target(slow)] + \
        [Target(testweb.url(host)) for host in PUBLISHERS[2:]]


def browser_flags(testweb) -> list[str]:
    return [f"--browser-arg={flag}" for flag in testweb.chromium_args()]


CRAWL_CONFIG = {"phases": ["initial"], "timeout": TIMEOUT, "pages_per_site": 0, "seed": 1, "screenshots": False,
                "har": False}


def start_worker(redis_url: str, run: str, shard: Path, name: str, testweb, lease: float = 5) -> subprocess.Popen:
    """`mouchard worker` in its own process group (its Chromium too), so that it can be killed whole."""
    return subprocess.Popen([sys.executable, "-m", "mouchard", "worker", "--redis", redis_url, "--run", run,
                             "--db", str(shard), "--name", name, "--lease", str(lease), "--concurrency", "1",
                             *browser_flags(testweb)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def fingerprint(db) -> dict[str, dict]:
    """What a visit saw, up to timing: per visit key, its outcome and the requests, cookies and storage names."""
    out = {}
    for visit in db_rows(db, "SELECT * FROM visits"):
        requests = db_rows(db, "SELECT url, method, resource_type, third_party FROM requests WHERE visit_id = ?",
                           [visit["id"]])
        out[visit["key"]] = {
            "status": visit["status"], "http_status": visit["http_status"], "title": visit["title"],
            "final_url": visit["final_url"], "site": visit["site"],
            "requests": sorted({(urllib.parse.urlsplit(r["url"]).hostname, urllib.parse.urlsplit(r["url"]).path,
                                 r["method"], r["third_party"]) for r in requests}),
            "cookies": sorted({(c["name"], c["domain"]) for c in db_rows(
                db, "SELECT name, domain FROM cookies WHERE visit_id = ?", [visit["id"]])}),
            "storage": sorted({(s["kind"], s["name"]) for s in db_rows(
                db, "SELECT kind, name FROM storage_items WHERE visit_id = ?", [visit["id"]])}),
        }
    return out


@pytest.fixture(scope="module")
def single(testweb, tmp_path_factory) -> Path:
    """The same list crawled by `mouchard crawl` on one machine."""
    db = tmp_path_factory.mktemp("single") / "single.db"
    out = subprocess.run([sys.executable, "-m", "mouchard", "crawl", "--db", str(db), "--consent", "none", "--timeout", str(TIMEOUT),
                          "--concurrency", "2", "--seed", "1", *browser_flags(testweb),
                          *[t.url for t in site_list(testweb)]], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return db


@pytest.fixture(scope="module")
def killed_run(testweb, redis_url, tmp_path_factory) -> dict:
    """Two workers; the one that takes the slow page is killed (SIGKILL, with its browser) in the middle of it."""
    from crawler.worker_cli import seed_browser_run

    folder = tmp_path_factory.mktemp("killed")
    frontier, _ = seed_browser_run(redis_url, site_list(testweb), CRAWL_CONFIG, run=uuid.uuid4().hex[:8])
    slow_id = f"initial {site_list(testweb)[2].url}"
    shards = {name: folder / f"{name}.db" for name in ("w1", "w2")}
    workers = {name: start_worker(redis_url, frontier.run, shard, name, testweb) for name, shard in shards.items()}
    try:
        deadline = time.monotonic() + 120
        while slow_id not in frontier.owners():
            assert time.monotonic() < deadline, "no worker took the slow page"
            assert all(p.poll() is None for p in workers.values()), {n: p.communicate() for n, p in workers.items()}
            time.sleep(0.2)
        victim = frontier.owners()[slow_id]
        time.sleep(3)  # the slow page is loading in the victim's browser
        assert workers[victim].poll() is None
        os.killpg(workers[victim].pid, signal.SIGKILL)
        workers[victim].wait(30)
        survivor = next(n for n in workers if n != victim)
        out, err = workers[survivor].communicate(timeout=240)
    finally:
        for process in workers.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(30)
    merged = folder / "merged.db"
    merge(list(shards.values()), merged)
    return {"frontier": frontier, "shards": shards, "victim": victim, "survivor": survivor, "merged": merged,
            "returncode": workers[survivor].returncode, "stdout": out, "stderr": err, "slow_id": slow_id}


@pytest.mark.browser
@pytest.mark.slow
def test_when_a_worker_is_killed_mid_visit_the_other_finishes_the_queue(killed_run, testweb):
    run = killed_run
    assert run["returncode"] == 0, run["stderr"][-3000:]
    assert run["frontier"].finished()
    assert run["frontier"].status()["done"] == len(site_list(testweb))
    retried = db_rows(run["shards"][run["survivor"]], "SELECT status, attempt, worker FROM visits WHERE key = ?",
                      [run["slow_id"]])
    assert retried == [{"status": "ok", "attempt": 2, "worker": run["survivor"]}]
    killed = db_rows(run["shards"][run["victim"]], "SELECT key FROM visits")
    assert run["slow_id"] not in {v["key"] for v in killed}  # the visit in flight was lost whole, not half-written


@pytest.mark.browser
@pytest.mark.slow
def test_every_url_is_visited_exactly_once_across_workers(killed_run, testweb):
    keys = collections.Counter(v["key"] for shard in killed_run["shards"].values()
                               for v in db_rows(shard, "SELECT key FROM visits"))
    assert keys == collections.Counter(f"initial {t.url}" for t in site_list(testweb))
    workers = {v["worker"] for shard in killed_run["shards"].values() for v in db_rows(shard, "SELECT worker FROM visits")}
    assert workers <= {"w1", "w2"}


@pytest.mark.browser
@pytest.mark.slow
def test_merged_shards_equal_a_single_machine_crawl(killed_run, single):
    merged = killed_run["merged"]
    assert fingerprint(merged) == fingerprint(single)
    (crawl,) = db_rows(merged, "SELECT * FROM crawls WHERE kind = 'web'")
    assert crawl["shard"] == "w1,w2"
    assert db_rows(merged, "SELECT count(DISTINCT crawl_id) AS n FROM visits")[0]["n"] == 1


@pytest.mark.browser
@pytest.mark.slow
def test_crawl_with_local_workers_visits_each_url_once_and_merges_into_one_database(testweb, redis_url, single,
                                                                                     tmp_path):
    """The function behind `mouchard crawl --list FILE --redis URL --workers 2`."""
    from crawler.worker_cli import distributed_crawl

    db = tmp_path / "crawl.db"
    distributed_crawl(site_list(testweb), CRAWL_CONFIG, redis_url=redis_url, workers=2, db=str(db), lease=10,
                      run=uuid.uuid4().hex[:8], concurrency=1, browser=None, browser_args=testweb.chromium_args(),
                      proxy=None, host_map=(), ignore_https_errors=False, ca_file=None)
    shards = sorted(Path(f"{db}.shards").glob("*.db"))
    assert len(shards) == 2
    keys = collections.Counter(v["key"] for shard in shards for v in db_rows(shard, "SELECT key FROM visits"))
    assert keys == collections.Counter(f"initial {t.url}" for t in site_list(testweb))
    assert all(db_rows(shard, "SELECT count(*) AS n FROM visits")[0]["n"] > 0 for shard in shards)  # both worked
    assert fingerprint(db) == fingerprint(single)


@pytest.mark.browser
@pytest.mark.slow
def test_a_visit_whose_workers_keep_dying_is_recorded_crashed_after_max_attempts(testweb, redis_url, tmp_path):
    from crawler.worker_cli import seed_browser_run

    doomed, fine = Target(testweb.url("www.example-campaign.org")), Target(testweb.url("www.clean-example.org"))
    frontier, _ = seed_browser_run(redis_url, [doomed, fine], CRAWL_CONFIG, run=uuid.uuid4().hex[:8], max_attempts=2)
    # Two workers take the doomed site and die with it (their leases are never renewed).
    (task,) = frontier.lease(1, "ghost-1", 0.2)
    time.sleep(0.3)
    assert frontier.reap(2) == (1, [])
    (task,) = frontier.lease(1, "ghost-2", 2)
    assert task.attempt == 2
    shard = tmp_path / "w.db"
    worker = start_worker(redis_url, frontier.run, shard, "w", testweb, lease=4)
    out, err = worker.communicate(timeout=180)
    assert worker.returncode == 0, err[-3000:]
    visits = {v["url"]: v for v in db_rows(shard, "SELECT url, status, attempt, reason, worker FROM visits")}
    assert visits[fine.url]["status"] == "ok" and visits[fine.url]["attempt"] == 1
    assert visits[doomed.url]["status"] == "crashed" and visits[doomed.url]["attempt"] == 2
    assert "given up after 2 attempts" in visits[doomed.url]["reason"] and visits[doomed.url]["worker"] == "w"
    assert frontier.status()["given_up"] == 1 and frontier.finished()


# --- the broker-sites spider on the same queue ----------------------------------------------------------------

def run_mouchard(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mouchard", *args], capture_output=True, text=True, timeout=timeout)


@pytest.mark.browser
@pytest.mark.slow
def test_broker_sites_spider_runs_unchanged_on_two_workers(testweb, redis_url, tmp_path):
    from web.sites import brokers as broker_sites

    from crawler.worker_cli import seed_broker_run

    def with_port(url: str) -> str:
        p = urllib.parse.urlsplit(url)
        return urllib.parse.urlunsplit((p.scheme, f"{p.hostname}:{testweb.https_port}", p.path, p.query, ""))

    (tmp_path / "list.csv").write_text(broker_sites.list_csv(with_port), encoding="utf-8")
    base = tmp_path / "brokers.db"
    out = run_mouchard("brokers", "fetch", "--registry", "list", "--from", str(tmp_path / "list.csv"), "--db", str(base))
    assert out.returncode == 0, out.stderr
    network = ["--host-map", "*=127.0.0.1", "--ignore-https-errors", "--concurrency", "2"]
    single = tmp_path / "single.db"
    shutil.copy(base, single)
    out = run_mouchard("brokers", "crawl", "--db", str(single), "--render", "never", *network)
    assert out.returncode == 0, out.stderr

    frontier, queued = seed_broker_run(redis_url, str(base), render="never", run=uuid.uuid4().hex[:8])
    assert queued == len(broker_sites.BROKERS)
    shards = [tmp_path / "w1.db", tmp_path / "w2.db"]
    for shard in shards:
        shutil.copy(base, shard)  # each worker starts from the database holding the brokers
    workers = [subprocess.Popen([sys.executable, "-m", "mouchard", "worker", "--redis", redis_url, "--run",
                                 frontier.run, "--db", str(shard), "--name", shard.stem, "--lease", "10", *network],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for shard in shards]
    results = [w.communicate(timeout=240) for w in workers]
    assert [w.returncode for w in workers] == [0, 0], [err[-2000:] for _, err in results]
    assert frontier.finished()
    merge(shards, base)

    def pages(db):
        return sorted((p["name"], p["kind"], p["url"], p["final_url"], p["status"], p["hidden"], p["hidden_reasons"])
                      for p in db_rows(db, "SELECT b.name, p.* FROM broker_pages p JOIN brokers b ON b.id = p.broker_id"))

    def findings(db):
        return sorted((f["rule_id"], f["subject"]) for f in db_rows(db, "SELECT rule_id, subject FROM findings"))

    assert pages(base) == pages(single)
    assert findings(base) == findings(single)
    assert db_rows(base, "SELECT count(*) AS n FROM brokers")[0]["n"] == len(broker_sites.BROKERS)  # not copied twice
    crawls = db_rows(base, "SELECT kind, shard FROM crawls WHERE kind LIKE 'brokers-%' ORDER BY id")
    assert crawls == [{"kind": "brokers-fetch", "shard": None}, {"kind": "brokers-crawl", "shard": "w1,w2"}]


def test_seeding_the_same_crawl_resumes_its_run_until_it_is_finished(redis_url):
    from crawler.worker_cli import seed_browser_run

    targets = [Target("https://a.example/"), Target("https://b.example/")]
    config = {**CRAWL_CONFIG, "targets_sha256": uuid.uuid4().hex}
    first, queued = seed_browser_run(redis_url, targets, config)
    assert queued == 2
    again, queued = seed_browser_run(redis_url, targets, config)
    assert again.run == first.run and queued == 0
    for task in first.lease(2, "w", 60):
        first.ack(task.id, "w")
    later, queued = seed_browser_run(redis_url, targets, config)
    assert later.run != first.run and queued == 2  # a finished run is not reopened


def test_seeding_queues_one_task_per_site_and_consent_phase(redis_url):
    from crawler.worker_cli import seed_browser_run

    targets = [Target("https://a.example/"), Target("https://b.example/")]
    config = {**CRAWL_CONFIG, "phases": ["initial", "reject", "accept"], "targets_sha256": uuid.uuid4().hex}
    frontier, queued = seed_browser_run(redis_url, targets, config)
    assert queued == 6
    phases = sorted(task.data["phase"] for task in frontier.lease(6, "w", 60))
    assert phases == ["accept", "accept", "initial", "initial", "reject", "reject"]
