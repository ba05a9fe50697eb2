"""A web crawl run as tasks of a Dask cluster: `mouchard crawl --workers N` (a local cluster, zero set-up) or
`--scheduler tcp://HOST:8786` (a cluster you run: SLURM through dask-jobqueue, Kubernetes; docs/scale.md).

Why Dask (docs/scale.md has the comparison with Celery): a dead worker's tasks are rescheduled by the scheduler
itself, retries are bounded (`distributed.scheduler.allowed-failures`), its dashboard is the progress and
monitoring view, and a `LocalCluster` needs nothing installed or started beforehand.

How a run goes:
- the sites are cut into chunks (one task each), sites of one vantage point together; a task carries every
  consent phase of its sites, as the one-machine crawl does (`run.phases`);
- a task runs `crawler.crawl.crawl_sites` in a child process (`crawler.child.run_in_child`: Twisted's reactor
  runs once per process) into its worker's shard, `<db>.shards/<run id>/<worker name>.db`; the folder is the
  run's own, so a run merges only its own shards;
- a site tagged `vantage:XX` goes only to a worker started with the resource `vantage-XX`
  (`dask worker SCHEDULER --resources vantage-XX=1`); a vantage no worker offers is refused before anything runs;
- a worker that dies (killed, out of memory, machine lost) has its task rerun elsewhere by the scheduler; after
  `max_attempts` tries the task fails with `KilledWorker`, and every site of the chunk recorded nowhere becomes a
  `visits` row with status `crashed`, `attempt` = the tries and the reason (written in the coordinator's shard,
  `coordinator.db`): nothing lost, nothing silent;
- at the end the run's shards are merged into `run.db` (`mouchard.storage.merge`): one `crawls` row for the run, whose
  `shard` names every shard, a killed worker's too; a visit recorded twice (a rerun chunk) is kept once.
SIGINT, SIGTERM and SIGHUP stop the run: the crawls in flight are stopped (they finish `interrupted`), the local
cluster is closed with its worker processes, what was recorded is merged and the run ends `interrupted`.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mouchard.errors import UserError
from mouchard.settings import RunSettings

from crawler.cluster_tasks import (COORDINATOR, allowed_failures, auto_chunk, new_run_id, plan_chunks, shard_name,
                                   stop_crawls, visit_chunk)
from crawler.crawl import CrawlProgress, CrawlResult

log = logging.getLogger("mouchard.cluster")

# --- the run (in the coordinator) -------------------------------------------------------------------------------

def crawl_on_cluster(targets: Sequence, run: RunSettings, *, workers: int = 0, scheduler: str | None = None,
                     list_file: str | None = None, chunk: int | None = None, max_attempts: int = 3,
                     progress: CrawlProgress | None = None) -> CrawlResult:
    """Crawl `targets` (mouchard.sitelist.Target) as tasks of a Dask cluster and merge the shards into `run.db`.

    `workers` = N starts a local cluster of N worker processes (one thread each, dashboard on 127.0.0.1);
    `scheduler` (tcp://HOST:PORT) submits to a running cluster instead, whose workers must see the folder of
    `run.db` (a shared filesystem). `chunk`: sites per task (default: about four tasks per worker, at most 500).
    `max_attempts`: tries of a task whose worker dies (the local cluster's `allowed-failures` + 1; a cluster of
    your own has its scheduler's setting). `progress` is told of each visit as its chunk ends. Returns the merged
    run: its `crawls.id`, status (finished, or interrupted by a stop signal), summary (with `cluster`: run id,
    dashboard link, shards, chunks given up).

        >>> from crawler.cluster import crawl_on_cluster
        >>> result = crawl_on_cluster(targets, RunSettings(db="top.db"), workers=4)
    """
    if run.browser.user_profile:
        raise UserError("a crawl with a person's own browser profile runs on their machine only, not on a cluster")
    import dask
    from distributed import Client, LocalCluster

    from mouchard.lifecycle import StopSignals, Stopped
    from mouchard.settings import scheduler_address

    if not targets:
        raise UserError("nothing to crawl: no sites given")
    if bool(workers) == bool(scheduler):
        raise UserError("give either --workers N (a local cluster) or --scheduler URL (a running one)")
    if not 1 <= max_attempts <= 100:
        raise UserError(f"max_attempts {max_attempts!r}: expected 1 to 100")
    scheduler = scheduler_address(scheduler)
    run = dataclasses.replace(run, db=str(Path(run.db).resolve()), workers=workers, scheduler=scheduler)
    vantages = sorted({v for v, _ in plan_chunks(targets, 1) if v})  # tags checked before a cluster starts
    if vantages and not scheduler:
        raise UserError(f"sites tagged vantage:{vantages[0]} need workers started with --resources "
                        f"vantage-{vantages[0]}=1, which --workers does not start: run them and use --scheduler "
                        "(docs/scale.md, 'Vantage points')")
    run_id = new_run_id()
    folder = Path(f"{run.db}.shards") / run_id
    folder.mkdir(parents=True, exist_ok=False)
    cluster = client = coordinator = None
    with StopSignals() as stops:  # a stop raises Stopped here, in the main thread, wherever the run is
        try:
            try:
                if scheduler:
                    client = Client(scheduler, timeout="30s")
                else:
                    with dask.config.set({"distributed.scheduler.allowed-failures": max_attempts - 1}):
                        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                               host="127.0.0.1", dashboard_address="127.0.0.1:8787")
                    client = Client(cluster)
            except OSError as exc:
                raise UserError(f"cannot reach the Dask scheduler {scheduler}: {exc}") from None
            coordinator = Coordinator(client, targets, run, run_id, folder, chunk=chunk, progress=progress,
                                      max_attempts=max_attempts if cluster is not None else None,
                                      list_file=list_file)
            coordinator.submit()
            coordinator.wait()
        except Stopped as exc:
            stops.raising = False  # a second Ctrl-C must not break the clean-up
            if coordinator is None or not (coordinator.futures or coordinator.done or coordinator.given_up):
                _close(client, cluster, folder)
                raise
            coordinator.stopped = exc.signum
            coordinator.stop()
        except BaseException:
            _close(client, cluster, folder)
            raise
        stops.raising = False
        _close(client, cluster)
        return coordinator.finish()


def _close(client: Any, cluster: Any, folder: Path | None = None) -> None:
    """Close the client and the local cluster (its worker processes end); an unused shard folder goes."""
    if client is not None:
        client.close()
    if cluster is not None:
        cluster.close()
    if folder is not None and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()


class Coordinator:
    """One run on a cluster: its tasks, what became of them, and the merge at the end."""

    def __init__(self, client: Any, targets: Sequence, run: RunSettings, run_id: str, folder: Path, *,
                 chunk: int | None, progress: CrawlProgress | None, max_attempts: int | None,
                 list_file: str | None):
        self.client, self.targets, self.run, self.run_id, self.folder = client, list(targets), run, run_id, folder
        self.progress = progress
        self.list_file = list_file
        self.max_attempts = max_attempts or self._scheduler_attempts()
        self.workers = client.scheduler_info(n_workers=-1).get("workers", {})
        self.chunk = chunk or auto_chunk(len(self.targets), len(self.workers))
        self.chunks = plan_chunks(self.targets, self.chunk)
        self.futures: dict[str, Any] = {}
        self.done: dict[str, dict] = {}  # task key -> the task's answer
        self.given_up: dict[str, tuple[int, str]] = {}  # task key -> (tries, reason)
        self.stopped: int | None = None
        self.dashboard = client.dashboard_link

    def _scheduler_attempts(self) -> int:
        try:
            return int(self.client.run_on_scheduler(allowed_failures)) + 1
        except Exception:  # noqa: BLE001  (a scheduler that refuses: Dask's default)
            return 4

    def key(self, index: int) -> str:
        return f"mouchard-{self.run_id}-chunk-{index}"

    def submit(self) -> None:
        offered = {name for w in self.workers.values() for name in (w.get("resources") or {})}
        missing = sorted({v for v, _ in self.chunks if v is not None and f"vantage-{v}" not in offered})
        if missing:
            raise UserError(f"sites tagged vantage:{missing[0]} but no worker offers it: start workers with "
                            f"`dask worker SCHEDULER --resources vantage-{missing[0]}=1` and use --scheduler "
                            "(docs/scale.md, 'Vantage points')")
        log.warning("cluster run %s: %d sites in %d tasks on %d workers; dashboard %s", self.run_id,
                    len(self.targets), len(self.chunks), len(self.workers), self.dashboard)
        if self.progress is not None:
            self.progress.start(len(self.targets) * len(self.run.phases) * (1 + self.run.pages_per_site), 0)
        for index, (vantage, sites) in enumerate(self.chunks):
            self.futures[self.key(index)] = self.client.submit(
                visit_chunk, sites, self.run, self.run_id, str(self.folder), key=self.key(index), pure=False,
                resources={f"vantage-{vantage}": 1} if vantage else None)

    def wait(self) -> None:
        from distributed import KilledWorker, as_completed

        for future in as_completed(list(self.futures.values())):
            key = str(future.key)
            try:
                answer = future.result()
            except KilledWorker as exc:
                self.given_up[key] = (self.max_attempts, f"its worker died on each of {self.max_attempts} tries: "
                                                         f"{str(exc)[:300]}")
            except Exception as exc:  # noqa: BLE001  (a chunk's error is its sites' rows, not the run's end)
                self.given_up[key] = (1, f"{type(exc).__name__}: {str(exc)[:300]}")
            else:
                self.done[key] = answer
                self._report(answer)
            # Released at once: a result kept on a worker that dies later would make Dask run the chunk again.
            future.release()
            self.futures.pop(key, None)

    def _report(self, answer: dict) -> None:
        """Tell `progress` of each visit of a chunk that ended, read from its shard (the path derived here, from
        the worker's name, never taken from the answer)."""
        if self.progress is None:
            return
        from mouchard.storage.store import Store

        try:
            with Store(self.folder / f"{shard_name(answer['worker'])}.db", create=False, readonly=True) as store:
                rows = store.rows("SELECT url, status, phase FROM visits WHERE crawl_id = ? ORDER BY id",
                                  (int(answer["crawl_id"]),))
        except Exception as exc:  # noqa: BLE001  (progress is a view: the merge at the end counts what matters)
            log.warning("progress of a chunk could not be read: %s", exc)
            return
        for row in rows:
            self.progress.visit(row)

    def stop(self) -> None:
        """A stop signal: cancel what has not started, stop the crawls in flight (they end `interrupted`)."""
        log.warning("cluster run %s: stopping", self.run_id)
        pending = list(self.futures.values())
        try:
            self.client.cancel(pending)
            self.client.run(stop_crawls, f"mouchard-{self.run_id}-", on_error="ignore")
        except Exception as exc:  # noqa: BLE001  (the cluster may be going away: the merge still runs)
            log.warning("could not stop every task of run %s: %s", self.run_id, exc)

    def finish(self) -> CrawlResult:
        """Close the shards' stale crawls, merge, record the chunks given up, and return the run."""
        from mouchard.classification.rollups import rebuild_at_end
        from mouchard.storage.merge import merge
        from mouchard.storage.store import Store

        from crawler.summary import crawl_summary

        close_stale_crawls(self.folder)
        shards = sorted(p for p in self.folder.glob("*.db") if p.stem != COORDINATOR)
        if shards:
            merge(shards, self.run.db)
        if self.given_up or self.stopped is None and len(self.done) < len(self.chunks):
            self._record_given_up()
        status = "interrupted" if self.stopped is not None else "finished"
        with Store(self.run.db) as store:
            row = run_row(store, self.run_id)
            if row is None:  # stopped before any chunk recorded anything: the run is a row all the same
                crawl_id = store.start_crawl("web", config=self._config(), network=self.run.network.as_record())
                shards: list = []
            else:
                crawl_id = row["id"]
                shards = json.loads(row["summary"] or "{}").get("shards", [])
            # Counted again on the merged rows: shard summaries add up a rerun chunk's visits twice.
            summary = {**crawl_summary(store, crawl_id), "shards": shards,
                       "findings": dict(Counter(r["rule_id"] for r in store.rows(
                           "SELECT rule_id FROM findings WHERE crawl_id = ?", (crawl_id,)))),
                       "cluster": {"run": self.run_id, "dashboard": self.dashboard, "chunks": len(self.chunks),
                                   "chunk": self.chunk, "given_up": len(self.given_up),
                                   "shards": [p.stem for p in sorted(self.folder.glob("*.db"))]}}
            store.update("crawls", crawl_id, {"config": self._config(row)})
            # the readers' pages read the merged crawl's per-site counts
            if (failed := rebuild_at_end(store, [crawl_id])) is not None:
                summary["rollups_failed"] = failed
            store.finish_crawl(crawl_id, status, summary)
        return CrawlResult(crawl_id, status, summary, self.run.db)

    def _config(self, row: Any = None) -> dict:
        """The run's config: the whole list (a shard's crawl row describes one chunk) and the cluster."""
        from crawler.crawl import targets_digest

        config = json.loads(row["config"] or "{}") if row is not None else {}
        config.update({"targets": len(self.targets), "targets_sha256": targets_digest(self.targets),
                       "list": self.list_file, **self.run.as_record(),
                       "distributed": {"run": self.run_id, "engine": "dask", "chunks": len(self.chunks),
                                       "max_attempts": self.max_attempts}})
        return config

    def _record_given_up(self) -> None:
        """Every site of a chunk given up (or never run) that no shard recorded: a `crashed` visit per phase, in
        the coordinator's shard, merged like the others."""
        from mouchard.decode.domains import site_of
        from mouchard.storage.merge import merge
        from mouchard.storage.store import Store, utcnow

        from crawler.spiders.browser import visit_key

        with Store(self.run.db) as store:
            row = run_row(store, self.run_id)
            recorded = {r["key"] for r in store.rows("SELECT key FROM visits WHERE crawl_id = ?", (row["id"],))} \
                if row is not None else set()
        lost = dict(self.given_up)
        if self.stopped is None:
            for index in range(len(self.chunks)):
                if self.key(index) not in self.done and self.key(index) not in lost:
                    lost[self.key(index)] = (0, "the task ended without an answer")
        shard = self.folder / f"{COORDINATOR}.db"
        now = utcnow()
        with Store(shard) as store:
            crawl_id = store.start_crawl("web", config={**self._config(), "distributed": {
                "run": self.run_id, "worker": COORDINATOR}}, network=self.run.network.as_record(), shard=COORDINATOR)
            for index, (_, sites) in enumerate(self.chunks):
                if self.key(index) not in lost:
                    continue
                tries, reason = lost[self.key(index)]
                for target in sites:
                    for phase in self.run.phases:
                        key = visit_key(target.url, phase)
                        if key in recorded:
                            continue
                        store.insert("visits", {
                            "crawl_id": crawl_id, "key": key, "url": target.url, "site": site_of(target.url),
                            "tags": list(target.tags), "phase": phase, "depth": 0, "status": "crashed",
                            "reason": f"chunk {index} given up: {reason}", "started_at": now, "finished_at": now,
                            "attempt": tries})
            store.finish_crawl(crawl_id, "finished", {"visits": store.count("visits")})
        merge([shard], self.run.db)


def run_row(store: Any, run_id: str) -> Any:
    """The merged `crawls` row of cluster run `run_id` in a database, or None."""
    rows = store.rows("SELECT * FROM crawls WHERE kind = 'web' AND json_extract(config, '$.distributed.run') = ? "
                      "ORDER BY id LIMIT 1", (run_id,))
    return rows[0] if rows else None


def close_stale_crawls(folder: Path) -> None:
    """Crawl rows left `running` in the run's shards once no task runs any more (their worker died, or was closed
    by a stop): `interrupted`, with their summary, so the merged run's status says what happened."""
    from mouchard.storage.store import Store

    from crawler.summary import crawl_summary

    for shard in sorted(folder.glob("*.db")):
        with Store(shard) as store:
            for row in store.rows("SELECT id FROM crawls WHERE status = 'running'"):
                store.finish_crawl(row["id"], "interrupted", crawl_summary(store, row["id"]))
