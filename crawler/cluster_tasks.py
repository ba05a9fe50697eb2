"""What a crawl on a Dask cluster plans and what its tasks run on the workers (crawler/cluster.py runs the run).

- planning, in the coordinator: chunks of sites with the sites of one vantage point together (`plan_chunks`), the
  vantage point of a site from its `vantage:XX` tag (`vantage_of`, checked: it names a Dask resource), the chunk
  size (`auto_chunk`), the run's id;
- on a worker: `visit_chunk` (the task: the one-machine crawl in a child process, into the worker's shard, named by
  `shard_name` from the worker's name: data, never a path as given), `stop_crawls` (a stop: this run's crawl
  children end `interrupted`);
- on the scheduler: `allowed_failures` (how many workers may die on a task before it fails).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import math
import re
import threading
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mouchard.errors import UserError
from mouchard.settings import RunSettings

COORDINATOR = "coordinator"  # the shard of the rows the coordinator writes itself (chunks given up)
CHUNK_MAX = 500  # sites per task at most: see docs/scale.md ("Chunk size")
TASKS_PER_WORKER = 4  # an automatic chunk size aims at this many tasks per worker, so that the load evens out
VANTAGE_TAG = "vantage:"
_VANTAGE = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
_SHARD_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_SHARD_LOCKS: dict[str, threading.Lock] = {}  # in a worker: one chunk at a time writes a shard
_LOCKS_LOCK = threading.Lock()
STOP_WAIT = 120.0  # seconds a stopped crawl child gets to finish its run `interrupted` before it is killed


# --- planning (in the coordinator) ------------------------------------------------------------------------------

def vantage_of(target: Any) -> str | None:
    """The vantage point a site asks for (its tag `vantage:XX`, XX lower-cased), or None. A malformed or second,
    different vantage tag is a one-line UserError: a site must not be visited from the wrong country."""
    found = set()
    for tag in target.tags:
        if tag.lower().startswith(VANTAGE_TAG):
            value = tag[len(VANTAGE_TAG):].strip().lower()
            if not _VANTAGE.fullmatch(value):
                raise UserError(f"{target.url[:200]}: tag {tag[:60]!r} is not vantage:XX (letters, digits, - or _, "
                                "at most 32)")
            found.add(value)
    if len(found) > 1:
        raise UserError(f"{target.url[:200]}: several vantage points ({', '.join(sorted(found))}): keep one")
    return found.pop() if found else None


def plan_chunks(targets: Sequence, chunk: int) -> list[tuple[str | None, list]]:
    """The run's tasks: (vantage point, sites) with at most `chunk` sites each, sites of one vantage together,
    in list order."""
    groups: dict[str | None, list] = {}
    for target in targets:
        groups.setdefault(vantage_of(target), []).append(target)
    return [(vantage, sites[i:i + chunk]) for vantage, sites in groups.items() for i in range(0, len(sites), chunk)]


def auto_chunk(sites: int, workers: int) -> int:
    """Sites per task: about TASKS_PER_WORKER tasks per worker (the load evens out), at most CHUNK_MAX (a dead
    worker's chunk is rerun whole; each chunk is a crawl row the merge folds into the run's row)."""
    return max(1, min(CHUNK_MAX, math.ceil(sites / (TASKS_PER_WORKER * max(1, workers)))))


def new_run_id() -> str:
    """A run's id (also its shard folder's name): UTC time and 8 random hex digits."""
    return f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"


def shard_name(worker_name: Any) -> str:
    """The shard file's stem for a Dask worker's name. The name comes from whoever started the worker: it becomes
    a file name only when it is a plain short name (never the coordinator's), else a hash of it."""
    if isinstance(worker_name, int):
        return f"worker-{worker_name}"
    text = str(worker_name)
    if _SHARD_NAME.fullmatch(text) and text != COORDINATOR and not text.endswith((".db", ".log")):
        return text
    return "worker-" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


# --- the task (on a worker) -------------------------------------------------------------------------------------

def visit_chunk(targets: list, run: RunSettings, run_id: str, folder: str) -> dict:
    """Crawl one chunk of sites into this worker's shard of the run (a Dask task). Returns where it went."""
    from distributed import get_worker

    from crawler.child import run_in_child

    name = shard_name(get_worker().name)
    shard = Path(folder) / f"{name}.db"
    with _LOCKS_LOCK:
        lock = _SHARD_LOCKS.setdefault(str(shard), threading.Lock())
    with lock:  # a worker with several threads runs one chunk at a time into its shard: one writer per file
        result = run_in_child("crawler.crawl:crawl_sites", log=Path(folder) / f"{name}.log", targets=targets,
                              run=dataclasses.replace(run, db=str(shard)),
                              distributed={"run": run_id, "worker": name})
    return {"worker": name, "shard": str(shard), "crawl_id": result.crawl_id, "status": result.status,
            "visits": result.summary.get("visits", 0)}


def stop_crawls(prefix: str, dask_worker: Any = None) -> int:
    """On a worker (`Client.run`): stop the crawl children of this run's tasks (SIGTERM: each finishes its crawl
    `interrupted`), waiting up to STOP_WAIT seconds, then kill what is left. Does nothing while the worker runs
    tasks of anything else: those children are not ours to stop. Returns the children stopped."""
    import psutil

    executing = [str(getattr(ts, "key", ts)) for ts in getattr(getattr(dask_worker, "state", None), "executing", ())]
    if not executing or not all(key.startswith(prefix) for key in executing):
        return 0
    children = [p for p in psutil.Process().children() if _is_crawl_child(p)]
    for child in children:
        try:
            child.terminate()
        except psutil.Error:
            pass
    _, alive = psutil.wait_procs(children, timeout=STOP_WAIT)
    for child in alive:
        for process in [*child.children(recursive=True), child]:
            try:
                process.kill()
            except psutil.Error:
                pass
    return len(children)


def allowed_failures(dask_scheduler: Any = None) -> int:
    """On the scheduler (`Client.run_on_scheduler`): how many workers may die on a task before it fails."""
    import dask

    found = getattr(dask_scheduler, "allowed_failures", None)
    return int(found if found is not None else dask.config.get("distributed.scheduler.allowed-failures"))


def _is_crawl_child(process: Any) -> bool:
    try:
        return "crawler.child" in process.cmdline()
    except Exception:  # noqa: BLE001  (gone, or not ours to read)
        return False
