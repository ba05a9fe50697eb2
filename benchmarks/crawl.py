"""Browser crawl throughput: instrumented `mouchard crawl` vs a bare Playwright baseline on the same pages.

    .venv/bin/python benchmarks/crawl.py [--pages 100] [--concurrency 1 4] [--dwell 5] [--latency-ms 0] [--write]
    .venv/bin/python benchmarks/crawl.py --warc [--pages 20] [--concurrency 1] [--dwell 5] [--write]

The pages are test-web articles carrying real third-party libraries from npm: FingerprintJS, rrweb, posthog-js
and a Prebid.js auction (demoweb/sites/npm_libs.py `/article/<n>`), reached through the test web's proxy. Both
sides run in their own process with the same profile strategy (a fresh persistent profile per page, third-party
cookies allowed, the same launch flags) and the same interaction, by the same functions: the dwell after load
(`--dwell`, default 5 s: `crawler.browser.dwell`, scrolling and mouse gestures), the settle (network quiet for
0.75 s, at most 3 s), typing into the page's fields and waiting for the page to send (the key-logging detector's
`type_into_fields`), leaving the page and waiting for its beacons (`crawler.browser.dwell.leave`). Never speed
bought by seeing less: the bare side does everything the crawler does to the page, and records nothing; the
instrumented side is the real crawl, called as a library user calls it (`mouchard.api.crawl`, which runs it in a
child process: Scrapy, scrapy-playwright, CDP collectors, classification, SQLite).
Peak memory is the largest sum of RSS over the process tree (the bare side's process, or the crawl's child; Python,
Playwright's driver, every Chromium process), sampled every 0.2 s. `--latency-ms` makes the test web wait that long before every response (a network
round trip; 0, the default, is the worst case for the ratio: the instrumentation's fixed costs per page and per
renderer process weigh most when pages load at loopback speed). `--write` replaces the "## crawl" section of
benchmarks/RESULTS.md.

`--warc` measures what archiving costs instead (docs/archive.md): the same pages crawled by the same instrumented
crawl twice, without and with `warc=True` (same dwell, interactions and collectors: the baseline is the full crawl,
never a lighter one), in alternating order over `--rounds`; it reports the time ratio, the time added per page, and
the disk added per page (the WARC files' bytes from `evidence_files`, documents "warc"). `--write` then replaces
the "## crawl --warc" section.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from mouchard.errors import UserError
from mouchard.detect.fingerprinting import APIS
from mouchard.commands.options import DEFAULT_DWELL

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

# Every page carries real third-party libraries from npm: FingerprintJS, rrweb, posthog-js and a Prebid.js auction
# (demoweb/sites/npm_libs.py `/article/<n>`); the exchanges' hosts are hard-coded in Prebid's adapters, so both
# sides reach the test web through its proxy, with portless URLs as on the web.
PAGE_HOST, PAGE_PATH = "www.npm-lab.fr", "/article/{n}"
SETTLE, QUIET = 3.0, 0.75


from results import write_section  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

def page_urls(web, count: int) -> list[str]:
    """`count` distinct article URLs (the number only makes each one new; every article carries the same libraries)."""
    return [f"https://{PAGE_HOST}{PAGE_PATH.format(n=n)}" for n in range(1, count + 1)]


def chromium_args(web) -> list[str]:
    """The flags both sides (and benchmarks/trc.py) give Chromium: the test web's proxy and certificate."""
    return web.chromium_args(proxy=True)


class PeakMemory:
    """Samples the RSS sum of a process and its descendants until stopped (`descendants_only`: not the process
    itself, for the child processes a call of this one starts)."""

    def __init__(self, pid: int, *, descendants_only: bool = False):
        self.root = psutil.Process(pid)
        self.descendants_only = descendants_only
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                procs = [*([] if self.descendants_only else [self.root]), *self.root.children(recursive=True)]
                total = 0
                for proc in procs:
                    try:
                        total += proc.memory_info().rss
                    except psutil.Error:
                        pass
                self.peak = max(self.peak, total)
            except psutil.Error:
                pass
            self._stop.wait(0.2)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def measure_call(call: Callable[[], Any]) -> tuple[float, int, Any]:
    """Time a call of the Python API whose work runs in child processes; the peak memory of those children."""
    start = time.monotonic()
    memory = PeakMemory(os.getpid(), descendants_only=True)
    try:
        result = call()
    finally:
        peak = memory.stop()
    return time.monotonic() - start, peak, result


def measure(command: list[str]) -> tuple[float, int, subprocess.CompletedProcess]:
    start = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    memory = PeakMemory(process.pid)
    out, err = process.communicate()
    elapsed = time.monotonic() - start
    peak = memory.stop()
    return elapsed, peak, subprocess.CompletedProcess(command, process.returncode, out, err)


async def bare(urls: list[str], concurrency: int, chromium_args: list[str], dwell_s: float) -> int:
    """Navigate each URL in a fresh profile and make the crawler's interaction, recording nothing: dwell (scroll,
    mouse), settle, type into the page's fields as the key-logging detector does and wait for the page to send, leave
    the page and wait for its beacons, close. One CDP session, which the dwell uses to read the page's size and
    leaving to navigate, as the crawler's do."""
    from playwright.async_api import async_playwright

    from crawler.browser.dwell import dwell, leave, wait_quiet
    from crawler.browser.launch import LaunchPlan
    from crawler.browser.profile import new_profile, remove_profile
    from crawler.collectors.keylogging import QUIET as KEYLOG_QUIET
    from crawler.collectors.keylogging import DetectKeyLogging, type_into_fields, typed_values
    from crawler.spiders.browser import visit_key
    from mouchard.browser import find_browser

    options = LaunchPlan(find_browser(), extra_args=tuple(chromium_args)).options()
    typing = DetectKeyLogging()  # its defaults: the same number of fields and the same wait as the crawl's
    queue: asyncio.Queue[str] = asyncio.Queue()
    for url in urls:
        queue.put_nowait(url)
    done = 0

    async def worker(playwright) -> None:
        nonlocal done
        while not queue.empty():
            url = queue.get_nowait()
            profile = new_profile()
            context = await playwright.chromium.launch_persistent_context(profile, **options)
            seen = [time.monotonic()]
            context.on("request", lambda request: seen.append(time.monotonic()))
            page = context.pages[0]
            try:
                await page.goto(url, wait_until="load", timeout=30000)
                seen.append(time.monotonic())  # the crawler's settle counts quiet from the load event at the earliest
                cdp = await context.new_cdp_session(page)
                if dwell_s > 0:
                    await dwell(page, cdp.send, dwell_s, seed=visit_key(url, "initial"))
                start = time.monotonic()
                while time.monotonic() - start < SETTLE and time.monotonic() - seen[-1] < QUIET:
                    await asyncio.sleep(0.1)
                typed = await type_into_fields(page, typed_values(), max_fields=typing.max_fields,
                                               deadline=time.monotonic() + 10)
                if typed:
                    await wait_quiet(lambda: len(seen), quiet=KEYLOG_QUIET, limit=typing.wait)
                await leave(page, cdp.send, activity=lambda: len(seen))
                done += 1
            except Exception as exc:
                print(f"bare: {url}: {exc}", file=sys.stderr)
            await context.close()
            remove_profile(profile)

    async with async_playwright() as playwright:
        await asyncio.gather(*(worker(playwright) for _ in range(concurrency)))
    return done


def run_pair(web, urls: list[str], concurrency: int, folder: str, dwell_s: float) -> dict:
    site_list = Path(folder) / f"pages-{concurrency}.txt"
    site_list.write_text("\n".join(urls) + "\n")
    url_file = Path(folder) / f"urls-{concurrency}.json"
    url_file.write_text(json.dumps({"urls": urls, "args": chromium_args(web), "dwell": dwell_s}))
    bare_time, bare_peak, bare_run = measure([sys.executable, __file__, "--bare", str(url_file),
                                              "--concurrency", str(concurrency)])
    if bare_run.returncode != 0:
        raise SystemExit(f"bare run failed: {bare_run.stderr[-2000:]}")
    from mouchard import api

    db = Path(folder) / f"crawl-{concurrency}.db"
    log = Path(folder) / f"crawl-{concurrency}.log"
    try:
        crawl_time, crawl_peak, crawl_run = measure_call(lambda: api.crawl(
            list_file=site_list, log=log, db=str(db), consent="none", concurrency=concurrency, timeout=30,
            dwell=dwell_s, browser_args=tuple(chromium_args(web))))
    except (api.JobFailed, UserError) as exc:
        raise SystemExit(f"crawl failed: {exc}\n{log.read_text(errors='replace')[-2000:]}") from None
    if crawl_run.status != "finished":
        raise SystemExit(f"crawl ended {crawl_run.status}: {log.read_text(errors='replace')[-2000:]}")
    import sqlite3

    conn = sqlite3.connect(db)
    ok = conn.execute("SELECT count(*) FROM visits WHERE status = 'ok'").fetchone()[0]
    counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
              for t in ("requests", "cookies", "storage_items", "js_calls")}
    conn.close()
    return {"concurrency": concurrency, "pages": len(urls), "bare_s": bare_time, "bare_peak": bare_peak,
            "crawl_s": crawl_time, "crawl_peak": crawl_peak, "crawl_ok": ok, **counts,
            "bare_ppm": len(urls) / bare_time * 60, "crawl_ppm": len(urls) / crawl_time * 60}


def crawl_once(web, urls: list[str], concurrency: int, folder: str, dwell_s: float, *, warc: bool,
               tag: str) -> dict:
    """One instrumented crawl of `urls` (`warc` on or off), timed; what it recorded and the WARC bytes it wrote."""
    import sqlite3

    from mouchard import api

    site_list = Path(folder) / f"pages-{tag}.txt"
    site_list.write_text("\n".join(urls) + "\n")
    db = Path(folder) / f"crawl-{tag}.db"
    log = Path(folder) / f"crawl-{tag}.log"
    before = os.times()
    try:
        elapsed, peak, run = measure_call(lambda: api.crawl(
            list_file=site_list, log=log, db=str(db), consent="none", concurrency=concurrency, timeout=30,
            dwell=dwell_s, warc=warc, browser_args=tuple(chromium_args(web))))
    except (api.JobFailed, UserError) as exc:
        raise SystemExit(f"crawl failed: {exc}\n{log.read_text(errors='replace')[-2000:]}") from None
    if run.status != "finished":
        raise SystemExit(f"crawl ended {run.status}: {log.read_text(errors='replace')[-2000:]}")
    after = os.times()
    # CPU of the crawl's process tree (reaped children include their own reaped descendants: Chromium, the
    # Playwright driver): what a loaded machine inflates much less than wall time.
    cpu = (after.children_user + after.children_system) - (before.children_user + before.children_system)
    conn = sqlite3.connect(db)
    try:
        ok = conn.execute("SELECT count(*) FROM visits WHERE status = 'ok'").fetchone()[0]
        requests = conn.execute("SELECT count(*) FROM requests").fetchone()[0]
        files, size = conn.execute("SELECT count(*), coalesce(sum(size), 0) FROM evidence_files "
                                   "WHERE documents = 'warc'").fetchone()
    finally:
        conn.close()
    return {"s": elapsed, "cpu": cpu, "peak": peak, "ok": ok, "requests": requests, "warc_files": files,
            "warc_bytes": size, "db_bytes": db.stat().st_size}


def run_warc_pair(web, urls: list[str], concurrency: int, folder: str, dwell_s: float, rounds: int) -> dict:
    """The same pages crawled without and with --warc, `rounds` times each in alternating order (a machine whose
    load drifts during the run favours neither side); the sums of both sides."""
    sides = {False: [], True: []}
    for number in range(rounds):
        for warc in ((False, True) if number % 2 == 0 else (True, False)):
            sides[warc].append(crawl_once(web, urls, concurrency, folder, dwell_s, warc=warc,
                                          tag=f"{concurrency}-{number}-{'warc' if warc else 'plain'}"))
    total = {warc: {key: sum(r[key] for r in runs) for key in runs[0] if key != "peak"} | {
        "peak": max(r["peak"] for r in runs)} for warc, runs in sides.items()}
    return {"concurrency": concurrency, "pages": len(urls) * rounds, "rounds": rounds, "plain": total[False],
            "warc": total[True]}


def report_warc(results: list[dict], pages: int, load: float, latency_ms: float, dwell_s: float) -> str:
    kib, mib = 1024, 1024 * 1024
    lines = [
        "## crawl --warc", "",
        f"`benchmarks/crawl.py --warc --pages {pages} --rounds {results[0]['rounds']} --dwell {dwell_s:g} "
        f"--latency-ms {latency_ms:g}` on "
        f"{platform.node()} ({platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}), "
        f"{dt.date.today().isoformat()}: the same {pages} test-web articles (real npm libraries: FingerprintJS, rrweb, "
        "posthog-js, a Prebid.js auction) crawled by the same instrumented crawl "
        "(`mouchard.api.crawl(consent=\"none\")`, "
        f"every default collector, dwell {dwell_s:g} s, the same interactions) without and with `warc=True`, in "
        "alternating order. With it, every response body is fetched from the browser as its request finishes and "
        "each visit is written as a gzip-per-record WARC (crawler/collectors/archive.py, mouchard.archive.warc). "
        "Disk: the WARC files' bytes as `evidence_files` registers them. "
        f"Load average at the start: {load:.1f}; the machine was shared with other jobs (other helpers' test runs): "
        "compare the two columns of one row, not runs.", "",
        "| concurrency | pages | without s/page | with s/page | time ratio | added per page | CPU s/page (without / "
        "with) | CPU ratio | WARC KiB per page | database KiB per page (without / with) | peak MiB (without / with) | "
        "recorded (without / with) |",
        "|---:|---:|---:|---:|---:|---:|---|---:|---:|---|---|---|",
    ]
    for r in results:
        plain, warc, n = r["plain"], r["warc"], r["pages"]
        added_ms = (warc["s"] - plain["s"]) / n * 1000 * r["concurrency"]
        lines.append(
            f"| {r['concurrency']} | {n} | {plain['s'] / n:.2f} | {warc['s'] / n:.2f} | {warc['s'] / plain['s']:.2f} | "
            f"{added_ms:.0f} ms | {plain['cpu'] / n:.2f} / {warc['cpu'] / n:.2f} | "
            f"{warc['cpu'] / max(plain['cpu'], 1e-9):.2f} | {warc['warc_bytes'] / max(warc['ok'], 1) / kib:.0f} | "
            f"{plain['db_bytes'] / n / kib:.0f} / {warc['db_bytes'] / n / kib:.0f} | "
            f"{plain['peak'] / mib:.0f} / {warc['peak'] / mib:.0f} | "
            f"{plain['ok']} / {warc['ok']} ok visits, {plain['requests']} / {warc['requests']} requests, "
            f"{warc['warc_files']} WARC files |")
    lines += ["", "\"Added per page\" is the extra wall time per page of one worker (at concurrency c, c pages run at "
                  "once); CPU is the crawl's whole process tree (Python, the Playwright driver, every Chromium "
                  "process); "
                  "\"WARC KiB per page\" divides the WARC bytes by the visits that ended ok.", ""]
    return "\n".join(lines)


def report(results: list[dict], pages: int, load: float, latency_ms: float, dwell_s: float) -> str:
    mib = 1024 * 1024
    lines = [
        "## crawl", "",
        f"`benchmarks/crawl.py --pages {pages} --dwell {dwell_s:g} --latency-ms {latency_ms:g}` on {platform.node()} "
        f"({platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}), "
        f"{dt.date.today().isoformat()}: {pages} test-web articles, each carrying real third-party libraries from npm "
        "(FingerprintJS 5, rrweb 2 recording and shipping its events, posthog-js with session recording, and a "
        "Prebid.js auction with the appnexus and openx adapters and their user syncs), each visited in a fresh "
        f"persistent profile; the test web answers after {latency_ms:g} ms, through its proxy. "
        f"Both sides dwell {dwell_s:g} s on each page after load with the same scrolling and mouse gestures "
        "(`crawler.browser.dwell`), then leave it the same way. "
        "Bare: Playwright launches the same browser on the same kind of profile, navigates to `load`, dwells, settles "
        f"(network quiet {QUIET} s, at most {SETTLE:g} s), types into the page's fields as the key-logging detector "
        "does and waits for the page to send, leaves the page (about:blank) and waits for its beacons, and closes: "
        "the crawler's interaction, without recording. Instrumented: `mouchard.api.crawl(consent=\"none\")` "
        "(Scrapy, scrapy-playwright, every default collector: requests with initiators and stacks, cookies requested "
        f"and effective with their setting script, storage, the {len(APIS)}-entry JavaScript API catalogue with arguments and "
        "call sites, consent reading, bidding, session replay, key logging, pixels, ID syncs; classification; one "
        "SQLite transaction per visit). Peak memory: sum of RSS over the whole process tree (shared pages counted in "
        f"every process). Load average at the start: {load:.1f}. Machine shared with other jobs: compare rows of "
        "one run, not runs.", "",
        "| concurrency | bare pages/min | instrumented pages/min | time ratio | added per page | bare peak MiB | "
        "instrumented peak MiB | memory ratio | recorded |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        added_ms = (r["crawl_s"] - r["bare_s"]) / r["pages"] * 1000 * r["concurrency"]
        lines.append(
            f"| {r['concurrency']} | {r['bare_ppm']:.1f} | {r['crawl_ppm']:.1f} | "
            f"{r['crawl_s'] / r['bare_s']:.2f} | {added_ms:.0f} ms | "
            f"{r['bare_peak'] / mib:.0f} | {r['crawl_peak'] / mib:.0f} | {r['crawl_peak'] / r['bare_peak']:.2f} | "
            f"{r['crawl_ok']} ok visits, {r['requests']} requests, {r['cookies']} cookies, "
            f"{r['storage_items']} storage items, {r['js_calls']} API calls |")
    time_ratio = max(r["crawl_s"] / r["bare_s"] for r in results)
    memory_ratio = max(r["crawl_peak"] / r["bare_peak"] for r in results)
    first = [r for r in results if r["concurrency"] == 1]
    added = (first[0]["crawl_s"] - first[0]["bare_s"]) / first[0]["pages"] * 1000 if first else None

    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    lines += ["", f"Worst time ratio **{time_ratio:.2f}x** (target <= 1.25x: {verdict(time_ratio <= 1.25)}); "
                  + (f"added per page at concurrency 1 **{added:.0f} ms** (target <= 250 ms: "
                     f"{verdict(added <= 250)}); " if added is not None else "")
                  + f"worst memory ratio **{memory_ratio:.2f}x** (target <= 1.5x: {verdict(memory_ratio <= 1.5)}). "
                  "\"Added per page\" is the extra wall time per page of one worker (at concurrency c, c pages run "
                  "at once).", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--latency-ms", type=float, default=0.0, help="test web's delay before every response")
    parser.add_argument("--dwell", type=float, default=DEFAULT_DWELL,
                        help="seconds on each page after load, the same on both sides")
    parser.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    parser.add_argument("--warc", action="store_true",
                        help="compare the crawl without and with --warc (time and disk per page) instead of bare")
    parser.add_argument("--rounds", type=int, default=1, help="with --warc: crawls of each side, alternating")
    parser.add_argument("--bare", metavar="URLS_JSON", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare:
        spec = json.loads(Path(args.bare).read_text())
        done = asyncio.run(bare(spec["urls"], args.concurrency[0], spec["args"], spec["dwell"]))
        print(done)
        return
    from demoweb import TestWeb

    load = os.getloadavg()[0]
    web = TestWeb(latency=args.latency_ms / 1000).start()
    try:
        urls = page_urls(web, args.pages)
        with tempfile.TemporaryDirectory(prefix="mouchard-bench-") as folder:
            if args.warc:
                results = [run_warc_pair(web, urls, c, folder, args.dwell, max(1, args.rounds))
                           for c in args.concurrency]
            else:
                results = [run_pair(web, urls, c, folder, args.dwell) for c in args.concurrency]
    finally:
        web.stop()
    text = (report_warc if args.warc else report)(results, args.pages, load, args.latency_ms, args.dwell)
    print(text)
    if args.write:
        write_section(text)


if __name__ == "__main__":
    main()
