"""`mouchard worker`: take crawl work from a shared Redis queue and record it in this machine's SQLite shard.

Also the seeding half of a distributed crawl (`seed_browser_run`, `seed_broker_run`) and `distributed_crawl`,
which `mouchard crawl --list FILE --redis URL --workers N` calls: seed the queue, start N workers on this machine,
merge their shards into --db. Workers on other machines join with `mouchard worker --redis URL`.
"""

from __future__ import annotations

import platform
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

import click

from mouchard.errors import UserError
from mouchard.lifecycle import StopSignals, run_stoppable, signal_name
from mouchard.options import browser_options, db_option, network_from, network_options
from mouchard.settings import ENV_REDIS, BrowserSettings, RunSettings

KINDS = {"browser": "web", "broker_sites": "brokers-crawl"}


# --- seeding -----------------------------------------------------------------------------------------------------

def seed_browser_run(redis_url: str, targets: Sequence, crawl_config: dict, *, run: str | None = None,
                     max_attempts: int = 3):
    """Queue one task per site of `targets` (mouchard.sitelist.Target) for the browser spider; returns
    (frontier, tasks queued). `crawl_config` is the crawl's own config (phases, timeout, pages per site, seed...):
    every worker records it, so the shards are one experiment. Like `mouchard crawl`, the same list and config
    resume the last run while it has work left; a finished run is not reopened (a new run starts)."""
    from crawler.frontier import Frontier, Task
    from crawler.spiders.browser import visit_key

    phases = crawl_config.get("phases") or ["initial"]  # one task per site and consent phase, as `mouchard crawl`
    tasks = [Task(visit_key(t.url, phase), {"key": visit_key(t.url, phase), "url": t.url, "tags": list(t.tags),
                                            "phase": phase})
             for t in targets for phase in phases]
    config = {"spider": "browser", "kind": KINDS["browser"], "max_attempts": max_attempts,
              "crawl": {k: v for k, v in crawl_config.items() if k not in ("concurrency", "user_agent", "viewport")}}
    return Frontier.seed(redis_url, config, tasks, run or Frontier.unfinished(redis_url, config))


def seed_broker_run(redis_url: str, db: str, *, registries: Sequence[str] = (), limit: int | None = None,
                    render: str = "auto", timeout: float = 30.0, run: str | None = None, max_attempts: int = 3):
    """Queue one task per broker of `db` (latest snapshot of each registry, as `mouchard brokers crawl` picks
    them) for the broker-sites spider. Each worker's shard must start as a copy of `db`: the brokers are there."""
    from crawler.frontier import Frontier, Task
    from crawler.spiders.broker_sites import load_targets
    from mouchard.store import Store

    with Store(db, create=False, readonly=True) as store:
        targets = load_targets(store, registries, limit)
    if not targets:
        raise UserError(f"no brokers in {db}: run 'mouchard brokers fetch' first")
    tasks = [Task(f"broker:{t.broker_id}", {"broker_id": t.broker_id}) for t in targets]
    config = {"spider": "broker_sites", "kind": KINDS["broker_sites"], "max_attempts": max_attempts,
              "crawl": {"registries": list(registries), "limit": limit, "render": render, "timeout": timeout}}
    return Frontier.seed(redis_url, config, tasks, run)


# --- the worker ----------------------------------------------------------------------------------------------------

@click.command("worker")
@click.option("--redis", "redis_url", required=True, envvar=ENV_REDIS, metavar="URL",
              help="Redis holding the run's queue, e.g. redis://10.0.0.5:6379/0 (env MOUCHARD_REDIS).")
@click.option("--run", "run", metavar="ID", help="Run to work on (default: the one seeded last).")
@db_option
@click.option("--name", metavar="NAME", help="Worker name recorded with each visit (default: HOST-SHARD).")
@click.option("--lease", type=click.FloatRange(2, 3600), default=120.0, show_default=True, metavar="SECONDS",
              help="If this worker stops renewing a task for this long (it died), another worker retries it.")
@click.option("--concurrency", type=click.IntRange(1, 64), default=2, show_default=True,
              help="Browsers (or requests) in flight at once on this worker.")
@browser_options
@network_options
def worker(redis_url: str, run: str | None, db: str, name: str | None, lease: float, concurrency: int,
           browser: str | None, browser_args: tuple[str, ...], no_sandbox: bool, proxy: str | None,
           host_map: tuple[str, ...], ignore_https_errors: bool, ca_file: str | None) -> None:
    """Take crawl work from a shared Redis queue and record it in this worker's SQLite shard (--db).

    Runs until the whole run is done: when the queue is empty it waits for the other workers' tasks, and takes
    over those whose worker died. Combine the shards with `mouchard merge SHARD... --into DB`.
    """
    from crawler.frontier import Frontier

    frontier = Frontier.join(redis_url, run)
    config = frontier.config()
    net = network_from(proxy, host_map, ignore_https_errors, ca_file)
    name = name or f"{platform.node()}-{Path(db).stem}"
    options = dict(frontier=frontier, redis_url=redis_url, db=db, name=name, lease=lease, concurrency=concurrency,
                   browser=browser, browser_args=tuple(browser_args), net=net, no_sandbox=no_sandbox)
    if config.get("spider") == "browser":
        run_browser_worker(**options)
    elif config.get("spider") == "broker_sites":
        run_broker_worker(**options)
    else:
        raise UserError(f"run {frontier.run} is for spider {config.get('spider')!r}, which this mouchard cannot run")


def _distributed_record(frontier, redis_url: str, name: str) -> dict:
    from crawler.frontier import redact_url

    return {"run": frontier.run, "worker": name, "redis": redact_url(redis_url)}


def _run_spider(spider_cls, settings: dict, kwargs: dict) -> tuple[str, dict]:
    """Run one spider in this process; (crawl status, stats)."""
    from scrapy.crawler import CrawlerProcess

    process = CrawlerProcess({**settings, "LOG_INSTALL_ROOT_HANDLER": False})
    crawler = process.create_crawler(spider_cls)
    process.crawl(crawler, **kwargs)
    stopped = run_stoppable(process.start)  # Scrapy stops gracefully on SIGINT and SIGTERM; SIGHUP added
    stats = crawler.stats.get_stats() if crawler.stats else {}
    return ("finished" if stats.get("finish_reason") == "finished" and stopped is None else "interrupted"), stats


def _distributed_stats(stats: dict) -> dict:
    prefix = "mouchard/distributed/"
    return {k[len(prefix):]: v for k, v in stats.items() if k.startswith(prefix)}


def run_browser_worker(*, frontier, redis_url: str, db: str, name: str, lease: float, concurrency: int,
                       browser: str | None, browser_args: tuple[str, ...], net, no_sandbox: bool = False) -> None:
    """The browser spider as a worker of `frontier`'s run, writing visits into the shard `db`.

    A restarted worker starts a new crawl row in its shard (same run): what the killed process recorded stays,
    and a site it had not acknowledged is visited again by whoever takes it back; `mouchard merge` keeps one.
    """
    from crawler.browser.launch import LaunchPlan
    from crawler.browser.visit import VisitSettings
    from crawler.browser.profile import new_profile_root
    from crawler.summary import crawl_summary, print_summary, quiet_logs, warn
    from crawler.distributed import worker_settings
    from crawler.settings import browser_settings
    from crawler.spiders.browser import BrowserSpider
    from mouchard.browser import browser_version, find_browser, sandbox
    from mouchard.store import Store

    crawl = frontier.config()["crawl"]
    executable = find_browser(browser)
    version = browser_version(executable)
    plan = LaunchPlan(executable, net, browser_args, version=version, sandbox=sandbox(no_sandbox))
    warn(plan.warnings)
    timeout = float(crawl.get("timeout", 30.0))
    options = plan.options()
    with Store(db) as store:
        crawl_id = store.start_crawl(
            KINDS["browser"], config={**crawl, "concurrency": concurrency, "user_agent": options["user_agent"],
                                      "viewport": options["viewport"],
                                      "distributed": _distributed_record(frontier, redis_url, name)},
            network=net.as_record(), browser=executable, browser_version=version, browser_args=plan.args, shard=name,
            warnings=plan.warnings)
    screenshots, har = bool(crawl.get("screenshots")), bool(crawl.get("har"))
    run = RunSettings.from_record(crawl, db=db, network=net, concurrency=concurrency,  # as the crawl recorded it
                                  browser=BrowserSettings(browser, tuple(browser_args), sandbox=not no_sandbox))
    settings = worker_settings(
        browser_settings(db=db, crawl_id=crawl_id, net=net, launch_options=options, concurrency=concurrency,
                         timeout=timeout, run=run),
        redis_url=redis_url, run=frontier.run, worker=name, lease=lease)
    evidence_dir = settings["MOUCHARD_EVIDENCE_DIR"]  # as the single-machine crawl: consent banners always kept
    quiet_logs()
    profile_root = new_profile_root("mouchard-worker-")
    status = "failed"
    stats: dict = {}
    try:
        status, stats = _run_spider(BrowserSpider, settings, dict(
            specs=[], pages_per_site=int(crawl.get("pages_per_site", 0)), seed=int(crawl.get("seed", 0)),
            evidence_dir=evidence_dir, screenshots=screenshots, har=har,
            visit_settings=VisitSettings(timeout=timeout, dwell=float(crawl.get("dwell", 0.0))),
            profile_root=profile_root))
    finally:
        shutil.rmtree(profile_root, ignore_errors=True)
        with Store(db) as store:
            summary = {**crawl_summary(store, crawl_id), "distributed": _distributed_stats(stats)}
            store.finish_crawl(crawl_id, status if sys.exc_info()[0] is None else "failed", summary)
    print_summary(summary, crawl_id, db)


def run_broker_worker(*, frontier, redis_url: str, db: str, name: str, lease: float, concurrency: int,
                      browser: str | None, browser_args: tuple[str, ...], net, no_sandbox: bool = False) -> None:
    """The broker-sites spider as a worker: brokers from the queue, pages into the shard `db` (a copy of the
    database holding the brokers)."""
    from crawler.brokers_cli import check_proxy, crawl_summary, describe_crawl, scrapy_settings
    from crawler.summary import warn
    from crawler.distributed import BrokerSitesFromQueue, worker_settings
    from mouchard.browser import browser_version, find_browser, sandbox
    from mouchard.derive import derive_findings
    from mouchard.store import Store

    crawl = frontier.config()["crawl"]
    render = crawl.get("render", "auto")
    timeout = float(crawl.get("timeout", 30.0))
    check_proxy(net)
    store = Store(db, create=False)
    try:
        if not store.count("brokers"):
            raise UserError(f"no brokers in {db}: a broker worker's shard starts as a copy of the database "
                            "the run was seeded from")
        executable = find_browser(browser) if render != "never" else None
        box = sandbox(no_sandbox) if executable else None
        warn(box.warnings if box else ())
        crawl_id = store.start_crawl(
            KINDS["broker_sites"], config={**crawl, "concurrency": concurrency,
                                           "distributed": _distributed_record(frontier, redis_url, name)},
            network=net.as_record(), browser=executable,
            browser_version=browser_version(executable) if executable else None, browser_args=list(browser_args),
            shard=name, warnings=list(box.warnings) if box else [])
    finally:
        store.close()
    settings = worker_settings(
        scrapy_settings(db, crawl_id, net, concurrency=concurrency, timeout=timeout, browser=executable,
                        browser_args=browser_args, render=render != "never", box=box),
        redis_url=redis_url, run=frontier.run, worker=name, lease=lease)
    # Brokers are acknowledged when the spider is idle: lease several per request slot so that one slow broker
    # does not leave the others idle for long.
    settings["MOUCHARD_TASKS_IN_FLIGHT"] = 4 * concurrency
    status, stats = "failed", {}
    try:
        status, stats = _run_spider(BrokerSitesFromQueue, settings,
                                    dict(registries=",".join(crawl.get("registries") or []), render=render))
    finally:
        with Store(db) as store:
            findings = derive_findings(store, [crawl_id], ["brokers.*"]) if status == "finished" else []
            summary = {**crawl_summary(store, crawl_id, findings), "distributed": _distributed_stats(stats)}
            store.finish_crawl(crawl_id, status if sys.exc_info()[0] is None else "failed", summary)
    for line in describe_crawl(summary):
        click.echo(line)


# --- the crawl command's distributed mode -------------------------------------------------------------------------

def worker_argv(*, concurrency: int, browser: str | None, browser_args: Sequence[str], proxy: str | None,
                host_map: Sequence[str], ignore_https_errors: bool, ca_file: str | None,
                no_sandbox: bool = False) -> list[str]:
    """The command-line options a local worker inherits from `mouchard crawl`."""
    argv = ["--concurrency", str(concurrency)]
    if browser:
        argv += ["--browser", browser]
    argv += [f"--browser-arg={arg}" for arg in browser_args]
    if no_sandbox:
        argv.append("--no-sandbox")
    if proxy:
        argv += ["--proxy", proxy]
    for rule in host_map:
        argv += ["--host-map", rule]
    if ignore_https_errors:
        argv.append("--ignore-https-errors")
    if ca_file:
        argv += ["--ca-file", ca_file]
    return argv


def distributed_crawl(targets: Sequence, crawl_config: dict, *, redis_url: str, workers: int, db: str,
                      lease: float = 120.0, run: str | None = None, **worker_options) -> None:
    """`mouchard crawl --redis URL --workers N`: seed the queue, run N local workers (shards in `<db>.shards/`),
    then merge the shards into `db`. With N = 0, seed only and say how to start workers elsewhere."""
    from mouchard.merge import merge

    frontier, queued = seed_browser_run(redis_url, targets, crawl_config, run=run)
    status = frontier.status()
    click.echo(f"run {frontier.run}: {queued} sites queued ({status['queued']} waiting, {status['done']} done)")
    if workers == 0:
        click.echo(f"start workers with: mouchard worker --redis {redis_url} --run {frontier.run} --db SHARD.db; "
                   f"then: mouchard merge SHARD.db... --into {db}")
        return
    folder = Path(f"{db}.shards")
    folder.mkdir(parents=True, exist_ok=True)
    argv = worker_argv(**worker_options)
    shards = [folder / f"worker-{i}.db" for i in range(1, workers + 1)]
    with StopSignals() as stop:  # a stop is passed on: each worker hands its tasks back to the queue as it stops
        processes = [stop.start([sys.executable, "-m", "mouchard", "worker", "--redis", redis_url, "--run",
                                 frontier.run, "--db", str(shard), "--name", f"{platform.node()}-{i}",
                                 "--lease", str(lease), *argv])
                     for i, shard in enumerate(shards, 1)]
        codes = stop.wait(processes)
    if stop.received is not None:
        raise UserError(f"stopped by {signal_name(stop.received)}: the workers' shards are kept in {folder}; run "
                        f"the same command again to resume run {frontier.run}, or merge them with `mouchard merge`")
    failed = [str(s) for s, code in zip(shards, codes) if code != 0]
    if failed:
        click.echo(f"mouchard: {len(failed)} worker(s) failed: {', '.join(failed)}; merging what they recorded", err=True)
    result = merge([s for s in shards if s.exists()], db)
    click.echo(f"run {frontier.run}: {result.total('copied', 'visits')} visits merged from {len(shards)} shards "
               f"into {db}")

