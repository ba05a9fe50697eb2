"""Crawls on a real Dask cluster (crawler/cluster.py): worker processes of a LocalCluster or SpecCluster on
127.0.0.1, real Chromium, the test web. A worker SIGKILLed mid-visit has its chunk rerun elsewhere and the merged
database equals a one-machine crawl of the same list; a chunk whose worker keeps dying is recorded `crashed`;
consent phases run end to end; a run merges only its own shards; sites tagged `vantage:XX` run on the worker
offering that resource. Planning (chunks, vantage tags, shard names) is tested without a cluster, with
hypothesis on hostile tags and names."""

from __future__ import annotations

import collections
import json
import os
import signal
import sqlite3
import time
import urllib.parse
from pathlib import Path

import dask
import psutil
import pytest
from hypothesis import given
from hypothesis import strategies as st

from crawler.cluster import crawl_on_cluster
from crawler.cluster_tasks import COORDINATOR, auto_chunk, plan_chunks, shard_name, vantage_of
from mouchard.errors import UserError
from mouchard.settings import RunSettings
from mouchard.sitelist import Target

PUBLISHERS = ["www.example-news.fr", "www.daily-example.co.uk", "shop.example-store.com", "www.clean-example.org"]
GATE = "distributed"  # the slow page keeps loading while the test web holds this gate: killed mid-visit, surely
SAFETY = 180.0  # seconds before a wait gives up: a bound against hanging, not a timing assertion
TIMEOUT = 20


def rows(db, sql: str, params=()) -> list[dict]:
    con = sqlite3.connect(db, timeout=30)
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute(sql, params)]
    finally:
        con.close()


def settings(testweb, db: Path, consent: str = "none") -> RunSettings:
    return RunSettings.from_options(db=str(db), consent=consent, timeout=TIMEOUT, concurrency=1, seed=1,
                                    browser_args=testweb.chromium_args())


def slow_url(testweb) -> str:
    return testweb.url("hostile.example-bad.com", f"/held?gate={GATE}")


def site_list(testweb) -> list[Target]:
    return [Target(testweb.url(host)) for host in PUBLISHERS[:2]] + [Target(slow_url(testweb))] + \
        [Target(testweb.url(host)) for host in PUBLISHERS[2:]]


def fingerprint(db) -> dict[str, dict]:
    """What a visit saw, up to timing: per visit key, its outcome and the requests, cookies and storage names."""
    out = {}
    for visit in rows(db, "SELECT * FROM visits"):
        requests = rows(db, "SELECT url, method, third_party FROM requests WHERE visit_id = ?", [visit["id"]])
        out[visit["key"]] = {
            "status": visit["status"], "http_status": visit["http_status"], "title": visit["title"],
            "final_url": visit["final_url"], "site": visit["site"],
            "requests": sorted({(urllib.parse.urlsplit(r["url"]).hostname, urllib.parse.urlsplit(r["url"]).path,
                                 r["method"], r["third_party"]) for r in requests}),
            "cookies": sorted({(c["name"], c["domain"]) for c in rows(
                db, "SELECT name, domain FROM cookies WHERE visit_id = ?", [visit["id"]])}),
            "storage": sorted({(s["kind"], s["name"]) for s in rows(
                db, "SELECT kind, name FROM storage_items WHERE visit_id = ?", [visit["id"]])}),
        }
    return out


def spec_cluster(workers: dict[str, dict], allowed_failures: int):
    """A cluster of named worker processes (Nanny), resources per worker, on 127.0.0.1."""
    from distributed import Nanny, Scheduler, SpecCluster

    with dask.config.set({"distributed.scheduler.allowed-failures": allowed_failures}):
        return SpecCluster(
            scheduler={"cls": Scheduler, "options": {"host": "127.0.0.1", "dashboard_address": "127.0.0.1:0"}},
            workers={name: {"cls": Nanny, "options": {"nthreads": 1, "host": "127.0.0.1", **options}}
                     for name, options in workers.items()})


class Crawling:
    """crawl_on_cluster in a thread (the test's main thread watches and kills), with the cluster's own client."""

    def __init__(self, cluster, targets, run: RunSettings, **options):
        import threading

        from distributed import Client

        self.client = Client(cluster)
        self.result = self.error = None

        def work():
            try:
                self.result = crawl_on_cluster(targets, run, scheduler=cluster.scheduler_address, **options)
            except BaseException as exc:  # noqa: BLE001  (reported by join)
                self.error = exc

        self.thread = threading.Thread(target=work, daemon=True)
        self.thread.start()

    def worker_of_chunk(self, index: int, url: str, testweb) -> tuple[str, str]:
        """(address, name) of the worker processing task `index` of the run, once the browser has asked the test
        web for `url` (an event, not a sleep: the page is then loading)."""
        deadline = time.monotonic() + SAFETY
        parts = urllib.parse.urlsplit(url)
        while True:
            assert self.thread.is_alive(), self.error
            assert time.monotonic() < deadline, f"nobody asked for {url}"
            if any(e["path"] == parts.path for e in testweb.requests_to(parts.hostname)):
                for address, keys in self.client.processing().items():
                    if any(str(k).endswith(f"-chunk-{index}") for k in keys):
                        return address, self.client.scheduler_info(n_workers=-1)["workers"][address]["name"]
            time.sleep(0.1)

    def kill(self, address: str) -> int:
        """SIGKILL the worker process and everything below it (its crawl child, Chromium): a machine lost."""
        pid = self.client.run(os.getpid, workers=[address])[address]
        root = psutil.Process(pid)
        tree = [root, *root.children(recursive=True)]
        for process in tree:
            try:
                process.send_signal(signal.SIGKILL)
            except psutil.Error:
                pass
        psutil.wait_procs(tree, timeout=SAFETY)
        return pid

    def join(self):
        self.thread.join(SAFETY * 2)
        self.client.close()
        if self.error is not None:
            raise self.error
        assert self.result is not None, "the crawl did not end"
        return self.result


class Progress:
    """A CrawlProgress that remembers what it was told."""

    def __init__(self):
        self.total, self.urls = None, []

    def start(self, total: int, done: int) -> None:
        self.total = total

    def visit(self, row: dict) -> None:
        self.urls.append(row["url"])


# --- planning ---------------------------------------------------------------------------------------------------

def test_chunks_keep_a_vantage_point_together_and_the_list_order():
    sites = [Target("https://a.example/"), Target("https://b.example/", ("news", "vantage:FR")),
             Target("https://c.example/"), Target("https://d.example/", ("vantage:fr",)), Target("https://e.example/")]
    chunks = plan_chunks(sites, 2)
    assert [(v, [t.url[8] for t in chunk]) for v, chunk in chunks] == [
        (None, ["a", "c"]), (None, ["e"]), ("fr", ["b", "d"])]
    assert (auto_chunk(4, 2), auto_chunk(100, 4), auto_chunk(1000, 2), auto_chunk(10 ** 6, 20)) == (1, 7, 125, 500)


def test_a_bad_or_second_vantage_tag_is_refused():
    with pytest.raises(UserError, match="is not vantage:XX"):
        vantage_of(Target("https://a.example/", ("vantage:../../etc",)))
    with pytest.raises(UserError, match="several vantage points"):
        vantage_of(Target("https://a.example/", ("vantage:fr", "vantage:de")))
    assert vantage_of(Target("https://a.example/", ("vantage:fr", "VANTAGE:FR"))) == "fr"


@given(st.lists(st.text(max_size=40), max_size=4))
def test_vantage_tags_become_a_checked_resource_name_or_a_user_error(tags):
    try:
        vantage = vantage_of(Target("https://a.example/", tuple(tags)))
    except UserError:
        return
    assert vantage is None or (vantage.isascii() and 0 < len(vantage) <= 32 and "/" not in vantage
                               and "." not in vantage)


@given(st.one_of(st.integers(), st.text(max_size=100)))
def test_a_worker_name_becomes_a_plain_file_name(name):
    stem = shard_name(name)
    assert stem and len(stem) <= 64 and stem != COORDINATOR and "/" not in stem and not stem.startswith(".")
    assert stem == Path(stem).name and stem.isascii()


def test_scheduler_addresses_are_checked():
    with pytest.raises(UserError, match="expected a Dask scheduler address"):
        RunSettings.from_options(env={}, scheduler="amqp://127.0.0.1:5672")
    with pytest.raises(UserError, match="expected a Dask scheduler address"):
        RunSettings.from_options(env={}, scheduler="tcp://user:secret@10.0.0.5:8786")
    assert RunSettings.from_options(env={"MOUCHARD_SCHEDULER": "tls://10.0.0.5:8786"}).scheduler == \
        "tls://10.0.0.5:8786"


# --- on a cluster -----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def single(testweb, tmp_path_factory) -> Path:
    """The same list crawled on one machine (crawler.api.crawl: crawl_sites in a child process)."""
    from crawler.api import crawl

    db = tmp_path_factory.mktemp("single") / "single.db"
    result = crawl([t.url for t in site_list(testweb)], settings=settings(testweb, db))
    assert result.status == "finished"
    return db


@pytest.fixture(scope="module")
def killed_run(testweb, tmp_path_factory) -> dict:
    """Two workers, one task per site; the worker whose browser is loading the slow page is SIGKILLed with its
    crawl child and Chromium; Dask reruns that chunk on a worker alive."""
    db = tmp_path_factory.mktemp("killed") / "merged.db"
    cluster = spec_cluster({"w1": {}, "w2": {}}, allowed_failures=2)
    try:
        testweb.hold(GATE)
        crawling = Crawling(cluster, site_list(testweb), settings(testweb, db), chunk=1)
        address, victim = crawling.worker_of_chunk(2, slow_url(testweb), testweb)  # chunk 2: the slow page
        crawling.kill(address)
        testweb.release(GATE)  # the rerun elsewhere loads it at once
        result = crawling.join()
    finally:
        cluster.close()
    return {"db": db, "result": result, "victim": victim}


@pytest.mark.browser
@pytest.mark.slow
def test_a_worker_killed_mid_visit_loses_no_site_and_the_merge_equals_one_machine(killed_run, single, testweb):
    db, result = killed_run["db"], killed_run["result"]
    assert result.status == "finished" and result.summary["cluster"]["given_up"] == 0
    keys = collections.Counter(v["key"] for v in rows(db, "SELECT key FROM visits"))
    assert keys == collections.Counter(f"initial {t.url}" for t in site_list(testweb))  # each site exactly once
    assert fingerprint(db) == fingerprint(single)
    (crawl,) = rows(db, "SELECT * FROM crawls WHERE kind = 'web'")
    assert crawl["shard"] == "w1,w2" and crawl["status"] == "finished"  # the killed worker's shard is named
    shards = json.loads(crawl["summary"])["shards"]
    assert killed_run["victim"] in {s["shard"] for s in shards if s["status"] == "interrupted"}, shards
    (slow,) = rows(db, "SELECT status, worker FROM visits WHERE url = ?", [slow_url(testweb)])
    assert slow["status"] == "ok" and slow["worker"] in ("w1", "w2")
    assert json.loads(crawl["config"])["targets"] == len(site_list(testweb))


@pytest.mark.browser
@pytest.mark.slow
def test_a_chunk_whose_worker_keeps_dying_is_recorded_crashed_with_its_tries(testweb, tmp_path):
    db = tmp_path / "crashed.db"
    fine = Target(testweb.url("www.clean-example.org"))
    cluster = spec_cluster({"w1": {}, "w2": {}}, allowed_failures=0)  # one try: the first death gives up
    try:
        testweb.hold(GATE)
        crawling = Crawling(cluster, [Target(slow_url(testweb)), fine], settings(testweb, db), chunk=1)
        address, _ = crawling.worker_of_chunk(0, slow_url(testweb), testweb)
        crawling.kill(address)
        testweb.release(GATE)
        result = crawling.join()
    finally:
        cluster.close()
    visits = {v["url"]: v for v in rows(db, "SELECT url, status, attempt, reason, worker FROM visits")}
    assert set(visits) == {slow_url(testweb), fine.url}
    assert visits[fine.url]["status"] == "ok"
    crashed = visits[slow_url(testweb)]
    assert (crashed["status"], crashed["attempt"], crashed["worker"]) == ("crashed", 1, None)
    assert crashed["reason"].startswith("chunk 0 given up: its worker died on each of 1 tries: ")
    assert "KilledWorker" in crashed["reason"] or "died while running it" in crashed["reason"]
    assert result.summary["cluster"]["given_up"] == 1 and result.summary["statuses"] == {"ok": 1, "crashed": 1}
    (crawl,) = rows(db, "SELECT shard, status FROM crawls WHERE kind = 'web'")
    assert crawl["status"] == "finished" and crawl["shard"].split(",")[0] == COORDINATOR


@pytest.mark.browser
@pytest.mark.slow
def test_consent_phases_on_a_local_cluster_and_a_run_merges_only_its_own_shards(testweb, tmp_path):
    """`mouchard crawl --workers 2 --consent all` on two home-made banners (demoweb consent_generic), then a run
    into the same path after deleting the database: it merges its own shards only (a second run used to merge the
    earlier run's visits left in <db>.shards/)."""
    db = tmp_path / "consent.db"
    sites = [Target(testweb.url(host)) for host in ("www.petit-site.fr", "www.hidden-reject.com")]
    first = crawl_on_cluster(sites, settings(testweb, db, consent="all"), workers=2, chunk=1)
    assert first.status == "finished"
    assert collections.Counter(v["key"] for v in rows(db, "SELECT key FROM visits")) == collections.Counter(
        f"{phase} {t.url}" for t in sites for phase in ("initial", "reject", "accept"))
    assert {v["status"] for v in rows(db, "SELECT status FROM visits")} == {"ok"}
    assert {v["worker"] for v in rows(db, "SELECT worker FROM visits")} <= {"worker-0", "worker-1"}
    actions = rows(db, "SELECT v.url, v.phase, c.action, c.verified FROM consent c JOIN visits v ON v.id = c.visit_id "
                       "WHERE c.source = 'action' ORDER BY v.url, v.phase")
    petit, hidden = (t.url for t in sites)
    assert [(a["url"], a["phase"], a["action"], a["verified"]) for a in actions] == [
        (hidden, "accept", "accept", 0), (hidden, "initial", "none", None), (hidden, "reject", "reject", 0),
        (petit, "accept", "accept", 1), (petit, "initial", "none", None), (petit, "reject", "reject", 1)]
    db.unlink()
    second = crawl_on_cluster(sites[:1], settings(testweb, db, consent="none"), workers=2, chunk=1)
    assert [v["key"] for v in rows(db, "SELECT key FROM visits")] == [f"initial {sites[0].url}"]
    (crawl,) = rows(db, "SELECT * FROM crawls WHERE kind = 'web'")
    run = json.loads(crawl["config"])["distributed"]["run"]
    assert run == second.summary["cluster"]["run"] != first.summary["cluster"]["run"]
    assert sorted(p.name for p in Path(f"{db}.shards").iterdir()) == sorted([first.summary["cluster"]["run"], run])
    (shard,) = (Path(f"{db}.shards") / run).glob("*.db")  # one task: one worker wrote
    assert crawl["shard"] == shard.stem and shard.stem in ("worker-0", "worker-1")


@pytest.mark.browser
@pytest.mark.slow
def test_sites_tagged_with_a_vantage_point_run_on_the_worker_offering_it(testweb, tmp_path):
    db = tmp_path / "vantage.db"
    french = [Target(testweb.url(h), ("vantage:fr",)) for h in ("www.example-news.fr", "www.clean-example.org")]
    other = [Target(testweb.url("www.daily-example.co.uk"))]
    cluster = spec_cluster({"paris": {"resources": {"vantage-fr": 1}}, "anywhere": {}}, allowed_failures=2)
    try:
        with pytest.raises(UserError, match="no worker offers it"):
            crawl_on_cluster([Target(testweb.url("www.example-news.fr"), ("vantage:de",))],
                             settings(testweb, tmp_path / "nowhere.db"), scheduler=cluster.scheduler_address)
        progress = Progress()
        result = crawl_on_cluster(french + other, settings(testweb, db), scheduler=cluster.scheduler_address,
                                  chunk=1, progress=progress)
    finally:
        cluster.close()
    assert result.status == "finished"
    assert progress.total == 3 and sorted(progress.urls) == sorted(t.url for t in french + other)
    workers = {v["url"]: v["worker"] for v in rows(db, "SELECT url, worker FROM visits")}
    assert {workers[t.url] for t in french} == {"paris"}
    assert workers[other[0].url] in ("paris", "anywhere")
