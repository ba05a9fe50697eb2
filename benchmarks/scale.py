"""Distributed crawl: per-worker throughput, CPU and memory, shard size per visit, and merge speed.

    .venv/bin/python benchmarks/scale.py [--pages 40] [--write]

A real redis-server on 127.0.0.1 and the test web; the pages of benchmarks/crawl.py's list (publisher homes,
articles, products, a clean page), home pages repeated with a query so that each visit has its own key. Configurations, each a fresh run of the same pages:
- `mouchard crawl` on one machine (no Redis), concurrency 2: the baseline;
- one `mouchard worker`, concurrency 2: what one worker machine does;
- two `mouchard worker` processes, concurrency 1 each, on the same machine: the distributed layer's overhead
  (same total concurrency on the same cores).
Wall time from start to the last process's exit (browser start-up included); CPU seconds of every process that
ended (workers, Playwright's driver, Chromium: `RUSAGE_CHILDREN`); peak PSS and RSS of each worker's process
tree; the machine's 1-minute load average at the end (other jobs share it).
Then `mouchard merge` of the shards. `--write` replaces the "## scale" section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from crawl import PAGES, PeakMemory  # noqa: E402  (benchmarks/crawl.py: same pages, same memory sampling)

RESULTS = ROOT / "benchmarks" / "RESULTS.md"
MiB = 1024 * 1024


from results import write_section  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def page_urls(web, count: int) -> list[str]:
    """`count` distinct test-web pages, cycling through crawl.py's pages (a query makes a home page distinct)."""
    urls = []
    for n in range(count):
        host, path = PAGES[n % len(PAGES)]
        path = path.format(n=n) if "{n}" in path else f"{path}?n={n}"
        urls.append(web.url(host, path))
    return urls


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


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_processes(commands: list[list[str]]) -> dict:
    """Start the commands together; wall time, CPU of everything that ended, peak RSS per process tree."""
    cpu0, start = children_cpu(), time.monotonic()
    processes = [subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for c in commands]
    memories = [(PeakMemory(p.pid), PeakPss(p.pid)) for p in processes]
    outputs = [p.communicate() for p in processes]
    elapsed = time.monotonic() - start
    peaks = [rss.stop() for rss, _ in memories]
    pss = [p.stop() for _, p in memories]
    for p, (out, err) in zip(processes, outputs):
        if p.returncode != 0:
            raise SystemExit(f"{' '.join(p.args[:4])} failed: {err[-2000:]}")
    return {"seconds": elapsed, "cpu": children_cpu() - cpu0, "peaks": peaks, "pss": pss, "load": os.getloadavg()[0]}


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


def measure(web, redis_url: str, urls: list[str], folder: Path, *, workers: int, concurrency: int) -> dict:
    flags = [f"--browser-arg={flag}" for flag in web.chromium_args()]
    if workers == 0:  # the single-machine baseline
        db = folder / "single.db"
        site_list = folder / "pages.txt"
        site_list.write_text("\n".join(urls) + "\n")
        run = run_processes([[sys.executable, "-m", "mouchard", "crawl", "--db", str(db), "--list", str(site_list),
                              "--concurrency", str(concurrency), "--timeout", "30", *flags]])
        shards = [db]
    else:
        from crawler.worker_cli import seed_browser_run
        from mouchard.sitelist import Target

        frontier, _ = seed_browser_run(redis_url, [Target(u) for u in urls],
                                       {"phases": ["initial"], "timeout": 30, "pages_per_site": 0, "seed": 1},
                                       run=uuid.uuid4().hex[:8])
        shards = [folder / f"w{workers}-{i}.db" for i in range(workers)]
        run = run_processes([[sys.executable, "-m", "mouchard", "worker", "--redis", redis_url, "--run", frontier.run,
                              "--db", str(shard), "--name", shard.stem, "--concurrency", str(concurrency), *flags]
                             for shard in shards])
    ok, total, requests, size = visits_and_size(shards)
    result = {"workers": workers, "concurrency": concurrency, "pages": len(urls), "ok": ok, "visits": total,
              "requests": requests, "bytes": size, **run}
    if workers:
        merged = folder / f"merged-{workers}.db"
        t0 = time.monotonic()
        subprocess.run([sys.executable, "-m", "mouchard", "merge", *map(str, shards), "--into", str(merged)],
                       check=True, capture_output=True)
        result["merge_s"] = time.monotonic() - t0
        conn = sqlite3.connect(merged)
        result["merged_rows"] = sum(conn.execute(f"SELECT count(*) FROM [{t}]").fetchone()[0]
                                    for t in ("visits", "requests", "cookies", "storage_items", "evidence_files"))
        result["merged_visits"] = conn.execute("SELECT count(*) FROM visits").fetchone()[0]
        conn.close()
    return result


def measure_merge(visits: int) -> dict:
    """`mouchard.merge` of two shards of visit-shaped rows (benchmarks/ingest.py's), then a second pass."""
    import random

    from ingest import rows_in, visit_rows, write_with_store
    from mouchard.merge import merge
    from mouchard.store import Store

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


def report(results: list[dict], pages: int, merge_result: dict | None = None) -> str:
    lines = [
        "## scale", "",
        f"`benchmarks/scale.py --pages {pages}` on {platform.node()} ({platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}), {dt.date.today().isoformat()}: {pages} test-web pages, redis-server "
        "on 127.0.0.1. Wall time includes browser start-up; CPU is every process that ended (workers, Playwright "
        "driver, Chromium); memory is the peak of each worker's process tree, as PSS (shared pages counted once) "
        "and as the sum of RSS (benchmarks/crawl.py's measure, which counts Chromium's shared pages in every "
        "process). Machine shared with other jobs (its load average in the last column): wall time and visits/min "
        "depend on it, CPU seconds per visit much less.", "",
        "| configuration | visits ok | wall s | visits/min | CPU s per visit | peak PSS MiB per worker | "
        "peak RSS-sum MiB per worker | shard KiB per visit | load |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        name = "`mouchard crawl`, one machine" if r["workers"] == 0 else \
            f"{r['workers']} × `mouchard worker`"
        lines.append(f"| {name}, concurrency {r['concurrency']} | {r['ok']}/{r['pages']} | {r['seconds']:.1f} | "
                     f"{r['visits'] / r['seconds'] * 60:.1f} | {r['cpu'] / r['visits']:.2f} | "
                     f"{max(r['pss']) / MiB:.0f} | {max(r['peaks']) / MiB:.0f} | {r['bytes'] / r['visits'] / 1024:.0f} | "
                     f"{r['load']:.1f} |")
    lines += ["", f"Requests per visit on these pages: {results[0]['requests'] / results[0]['visits']:.1f} "
                  "(the HTTP Archive's median desktop page made 71 in 2024)."]
    merges = [r for r in results if r.get("merge_s")]
    if merges:
        lines.append("")
        for r in merges:
            lines.append(f"`mouchard merge` of the {r['workers']} shard(s): {r['merged_visits']} visits, "
                         f"{r['merged_rows']} rows in {r['merge_s']:.1f} s (command start-up included).")
    if merge_result:
        m = merge_result
        lines += ["", f"Merge of two shards of {m['visits']} visit-shaped visits in all ({m['copied']:,} rows, "
                      f"benchmarks/ingest.py's rows): **{m['rows_per_s']:,.0f} rows/s** ({m['merge_s']:.1f} s); "
                      f"merging the same shards again copies nothing in {m['again_s']:.2f} s."]
    lines.append("")
    return "\n".join(lines)



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=40)
    parser.add_argument("--merge-visits", type=int, default=1000, help="visits of the merge measurement")
    parser.add_argument("--json", type=Path, help="Also write the results here.")
    parser.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    args = parser.parse_args()
    if not shutil.which("redis-server"):
        raise SystemExit("redis-server is not installed (scripts/setup.sh installs it)")
    from web import TestWeb

    port = free_port()
    redis = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                              "--appendonly", "no"], stdout=subprocess.DEVNULL)
    web = TestWeb().start()
    results = []
    try:
        time.sleep(0.5)
        redis_url = f"redis://127.0.0.1:{port}/0"
        urls = page_urls(web, args.pages)
        with tempfile.TemporaryDirectory(prefix="mouchard-scale-") as tmp:
            for workers, concurrency in ((0, 2), (1, 2), (2, 1)):
                result = measure(web, redis_url, urls, Path(tmp), workers=workers, concurrency=concurrency)
                print(json.dumps({k: v for k, v in result.items()}, default=str), flush=True)
                results.append(result)
    finally:
        web.stop()
        redis.terminate()
        redis.wait()
    merge_result = measure_merge(args.merge_visits)
    print(json.dumps(merge_result), flush=True)
    text = report(results, args.pages, merge_result)
    print(text)
    if args.json:
        args.json.write_text(json.dumps({"crawls": results, "merge": merge_result}, indent=2))
    if args.write:
        write_section(text)


if __name__ == "__main__":
    main()
