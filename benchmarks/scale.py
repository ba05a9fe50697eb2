"""Crawls on a Dask cluster: throughput, CPU and memory of one machine vs a local cluster, shard size per visit,
merge speed, and the scheduler's cost per task (what sets the chunk size).

    .venv/bin/python benchmarks/scale.py [--pages 40] [--write]

The test web; benchmarks/crawl.py's pages (articles carrying real npm libraries: FingerprintJS, rrweb, posthog-js,
a Prebid.js auction), each visit its own URL. Configurations, each a fresh run of the same list
through the Python API:
- `crawler.api.crawl` on one machine (crawl_sites in a child process), concurrency 2: the baseline;
- `crawler.cluster.crawl_on_cluster(workers=2)`, concurrency 1 per worker: a LocalCluster of two worker processes
  on the same cores (same total concurrency), shards merged at the end: the cluster's overhead.
Wall time from the call to its return (cluster start, browser start-up and merge included); CPU seconds of this
process and of every child that ended (worker processes, crawl children, Playwright's driver, Chromium:
`RUSAGE_SELF` + `RUSAGE_CHILDREN`); peak PSS and RSS of this process's tree; the 1-minute load average at the end.
Then `mouchard.storage.merge` of the run's shards into a fresh database, merge speed on visit-shaped rows, and the
scheduler's round trip per task (no-op tasks on a LocalCluster). `--write` replaces "## scale" in
benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from crawl import PeakMemory, chromium_args, page_urls  # noqa: E402  (benchmarks/crawl.py: same pages, memory sampling)

RESULTS = ROOT / "benchmarks" / "RESULTS.md"
MiB = 1024 * 1024


from results import write_section  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

class PeakPss(PeakMemory):
    """Peak proportional set size of a process tree: shared pages (Chromium's processes share most of theirs)
    counted once in all, where summing RSS counts them in every process. Sampled each second (smaps is costly)."""

    def _run(self) -> None:
        while not self._stop.is_set():
            total = 0
            try:
                for proc in [self.root, *self.root.children(recursive=True)]:
                    try:
                        total += proc.memory_full_info().pss
                    except psutil.Error:
                        pass
            except psutil.Error:
                pass
            self.peak = max(self.peak, total)
            self._stop.wait(1.0)


def cpu_seconds() -> float:
    """CPU of this process and of every child that ended (and was waited for)."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def visits_and_size(dbs: list[Path]) -> tuple[int, int, int, int]:
    """(visits ok, visits, requests, bytes) over the databases."""
    ok = total = requests = size = 0
    for db in dbs:
        conn = sqlite3.connect(db)
        ok += conn.execute("SELECT count(*) FROM visits WHERE status = 'ok'").fetchone()[0]
        total += conn.execute("SELECT count(*) FROM visits").fetchone()[0]
        requests += conn.execute("SELECT count(*) FROM requests").fetchone()[0]
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
        size += db.stat().st_size
    return ok, total, requests, size


def measure(web, urls: list[str], folder: Path, *, workers: int, concurrency: int) -> dict:
    """One configuration through the API: `crawler.api.crawl` (workers = 0) or `crawl_on_cluster`."""
    from crawler.api import crawl
    from crawler.cluster import crawl_on_cluster
    from mouchard.storage.merge import merge
    from mouchard.settings import RunSettings
    from mouchard.sitelist import Target

    db = folder / f"run-{workers}.db"
    run = RunSettings.from_options(db=str(db), consent="none", concurrency=concurrency, timeout=30, seed=1,
                                   dwell=0, browser_args=chromium_args(web))
    rss, pss = PeakMemory(os.getpid()), PeakPss(os.getpid())
    cpu0, start = cpu_seconds(), time.monotonic()
    if workers == 0:
        result = crawl(urls, settings=run)
    else:
        result = crawl_on_cluster([Target(u) for u in urls], run, workers=workers)
    elapsed = time.monotonic() - start
    out = {"workers": workers, "concurrency": concurrency, "pages": len(urls), "status": result.status,
           "seconds": elapsed, "cpu": cpu_seconds() - cpu0, "peak_rss": rss.stop(), "peak_pss": pss.stop(),
           "load": os.getloadavg()[0]}
    shards = sorted((Path(f"{db}.shards") / result.summary["cluster"]["run"]).glob("*.db")) if workers else [db]
    out["ok"], out["visits"], out["requests"], out["bytes"] = visits_and_size(shards)
    if workers:
        again = folder / f"merged-again-{workers}.db"
        t0 = time.perf_counter()
        merged = merge(shards, again)
        out["merge_s"] = time.perf_counter() - t0
        out["merged_rows"] = sum(sum(s.copied.values()) for s in merged.shards)
        out["merged_visits"] = merged.total("copied", "visits")
    return out


def measure_overhead(tasks: int) -> dict:
    """The scheduler's cost per task: `tasks` no-op tasks on a LocalCluster of 2 processes, submitted together."""
    from distributed import Client, LocalCluster, wait

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address="127.0.0.1:0") as cluster, Client(cluster) as client:
        client.submit(int, 0).result()  # warm
        t0 = time.perf_counter()
        wait(client.map(int, range(tasks), pure=False))
        seconds = time.perf_counter() - t0
    return {"tasks": tasks, "seconds": seconds, "ms_per_task": seconds / tasks * 1000}


def measure_merge(visits: int) -> dict:
    """`mouchard.storage.merge` of two shards of visit-shaped rows (benchmarks/ingest.py's), then a second pass."""
    import random

    from ingest import rows_in, visit_rows, write_with_store
    from mouchard.storage.merge import merge
    from mouchard.storage.store import Store

    rng = random.Random(2)
    with tempfile.TemporaryDirectory(prefix="mouchard-merge-") as tmp:
        shards, rows = [], 0
        for i in range(2):
            shard = Path(tmp) / f"w{i}.db"
            with Store(shard) as store:
                store.start_crawl("web", config={"distributed": {"run": "bench", "worker": f"w{i}"}}, shard=f"w{i}")
            batch = [visit_rows(rng, 1, i * visits + n) for n in range(visits // 2)]
            rows += sum(rows_in(v) for v in batch)
            write_with_store(shard, batch)
            shards.append(shard)
        into = Path(tmp) / "merged.db"
        t0 = time.perf_counter()
        result = merge(shards, into)
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        merge(shards, into)
        again = time.perf_counter() - t0
    copied = sum(sum(s.copied.values()) for s in result.shards)
    return {"visits": visits, "rows": rows, "copied": copied, "merge_s": first, "rows_per_s": copied / first,
            "again_s": again}


def report(results: list[dict], pages: int, merge_result: dict, overhead: dict) -> str:
    lines = [
        "## scale", "",
        f"`benchmarks/scale.py --pages {pages}` on {platform.node()} ({platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}), {dt.date.today().isoformat()}: {pages} test-web pages through the "
        "Python API. Wall time includes cluster and browser start-up and, on the cluster, the merge; CPU is this "
        "process and every child (worker processes, crawl children, Playwright driver, Chromium); memory is the "
        "peak of the process tree, as PSS (shared pages counted once) and as the sum of RSS. Machine shared with "
        "other jobs (its load average in the last column): wall time and visits/min depend on it, CPU seconds per "
        "visit much less.", "",
        "| configuration | visits ok | wall s | visits/min | CPU s per visit | peak PSS MiB | peak RSS-sum MiB | "
        "shard KiB per visit | load |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        name = "`crawl`, one machine" if r["workers"] == 0 else f"`crawl_on_cluster`, {r['workers']} workers"
        lines.append(f"| {name}, concurrency {r['concurrency']} | {r['ok']}/{r['pages']} | {r['seconds']:.1f} | "
                     f"{r['visits'] / r['seconds'] * 60:.1f} | {r['cpu'] / r['visits']:.2f} | "
                     f"{r['peak_pss'] / MiB:.0f} | {r['peak_rss'] / MiB:.0f} | {r['bytes'] / r['visits'] / 1024:.0f} | "
                     f"{r['load']:.1f} |")
    lines += ["", f"Requests per visit on these pages: {results[0]['requests'] / results[0]['visits']:.1f} "
                  "(the HTTP Archive's median desktop page made 71 in 2024)."]
    for r in results:
        if r.get("merge_s"):
            lines += ["", f"`mouchard.storage.merge` of the {r['workers']} shards into a new database: {r['merged_visits']} "
                          f"visits, {r['merged_rows']} rows in {r['merge_s']:.2f} s."]
    m = merge_result
    lines += ["", f"Merge of two shards of {m['visits']} visit-shaped visits in all ({m['copied']:,} rows, "
                  f"benchmarks/ingest.py's rows): **{m['rows_per_s']:,.0f} rows/s** ({m['merge_s']:.1f} s); "
                  f"merging the same shards again copies nothing in {m['again_s']:.2f} s.",
              "", f"Dask scheduler: {overhead['tasks']} no-op tasks on a LocalCluster of 2 processes in "
                  f"{overhead['seconds']:.2f} s: **{overhead['ms_per_task']:.2f} ms per task**.", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=40)
    parser.add_argument("--merge-visits", type=int, default=1000, help="visits of the merge measurement")
    parser.add_argument("--tasks", type=int, default=2000, help="no-op tasks of the scheduler measurement")
    parser.add_argument("--json", type=Path, help="Also write the results here.")
    parser.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    args = parser.parse_args()
    from demoweb import TestWeb

    web = TestWeb().start()
    results = []
    try:
        urls = page_urls(web, args.pages)
        with tempfile.TemporaryDirectory(prefix="mouchard-scale-") as tmp:
            for workers, concurrency in ((0, 2), (2, 1)):
                result = measure(web, urls, Path(tmp), workers=workers, concurrency=concurrency)
                print(json.dumps(result, default=str), flush=True)
                results.append(result)
    finally:
        web.stop()
    merge_result = measure_merge(args.merge_visits)
    print(json.dumps(merge_result), flush=True)
    overhead = measure_overhead(args.tasks)
    print(json.dumps(overhead), flush=True)
    text = report(results, args.pages, merge_result, overhead)
    print(text)
    if args.json:
        args.json.write_text(json.dumps({"crawls": results, "merge": merge_result, "scheduler": overhead}, indent=2))
    if args.write:
        write_section(text)


if __name__ == "__main__":
    main()
