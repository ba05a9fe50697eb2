"""`mouchard brokers`: fetch data-broker registries, crawl brokers' own sites. A thin click layer over
crawler.brokers (parsing, storing) and the spiders in crawler.spiders (registries, broker_sites)."""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from pathlib import Path

import click

from mouchard.registries import NAMES, STATES, find, load
from mouchard.errors import UserError
from mouchard.settings import debug_enabled
from mouchard.options import browser_options, db_option, network_options, network_from, run_options


@click.group("brokers")
def brokers() -> None:
    """Data-broker registries (fetch) and what brokers' own sites hide (crawl)."""


@brokers.command("fetch")
@click.option("--registry", type=click.Choice([*NAMES, "all"]), default="ca", show_default=True,
              help=f"Which registry: a state's ({', '.join(STATES)}), every state's (all), or a "
                   "journalist's list.")
@click.option("--from", "source", metavar="PATH_OR_URL",
              help="Read this file or URL instead of the registry's live address (a list needs it). Lists are "
                   "CSV with columns name, website, country, notes (and optionally dba, email, rights_url).")
@click.option("--year", type=int, help="California: the registration year's file (default: the current one).")
@db_option
@network_options
@run_options
def fetch(registry: str, source: str | None, year: int | None, db: str, proxy, host_map, ignore_https_errors,
          ca_file, concurrency: int, timeout: float) -> None:
    """Fetch a data-broker registry into `brokers`, keep the file as evidence, and say what changed."""
    from crawler.brokers.ca import year_of
    from crawler.brokers.snapshots import Capture, describe, save_snapshot
    from crawler.brokers.pipeline import add_snapshot_summary
    from mouchard.store import Store

    net = network_from(proxy, host_map, ignore_https_errors, ca_file)
    check_proxy(net)
    if registry == "list" and not source:
        raise UserError("--registry list needs --from PATH_OR_URL (a CSV with name, website, country, notes)")
    if source and registry == "all":
        raise UserError(f"--from reads one registry: choose it with --registry {'|'.join(NAMES)}")
    store = Store(db)
    crawl_id = store.start_crawl("brokers-fetch", config={"registry": registry, "from": source, "year": year},
                                 network=net.as_record())
    status = "failed"
    try:
        if source and not source.startswith(("http://", "https://")):
            path = Path(source)
            if not path.is_file():
                raise UserError(f"--from {source}: no such file")
            entry = find(registry)
            if entry.parser is None:
                raise UserError(f"--registry {registry} reads a portal: give its base URL with --from, not a file")
            data = path.read_bytes()
            table = load(entry.parser)(data, source)
            year_read = year or (year_of(source) if entry.years else None)
            capture = Capture(registry, year_read, str(path.resolve()), data, table.records())
            add_snapshot_summary(store, crawl_id, save_snapshot(store, crawl_id, capture))
        else:
            jobs = [find(name).job(source, year)
                    for name in (STATES if registry == "all" else (registry,))]
            stats = run_spiders(jobs, db, crawl_id, net, concurrency=concurrency, timeout=timeout)
            for error in stats.get("mouchard/brokers/fetch_errors", []):
                click.echo(f"  error: {error}", err=True)
        summary = json.loads(store.rows("SELECT summary FROM crawls WHERE id = ?", (crawl_id,))[0]["summary"] or "{}")
        snapshots = summary.get("snapshots", [])
        for snapshot in snapshots:
            for line in describe(snapshot):
                click.echo(line)
        if not snapshots:
            raise UserError("nothing was fetched (see the errors above); no snapshot stored")
        linked = link_entities(store)
        click.echo(f"{linked} broker registrations linked to tracker entities (their site is a known tracker domain)")
        status = "finished"
    finally:
        _finish(store, crawl_id, status)


@brokers.command("crawl")
@click.option("--registry", "registries", multiple=True, type=click.Choice(NAMES),
              help="Only brokers of this registry's latest snapshot (repeatable; default: every registry's).")
@click.option("--limit", type=click.IntRange(1), help="Check at most this many brokers.")
@click.option("--render", type=click.Choice(["auto", "always", "never"]), default="auto", show_default=True,
              help="Render pages in Chromium to read robots meta tags added by scripts: 'auto' renders only "
                   "rights pages that run scripts and carry no noindex tag in their HTML.")
@db_option
@network_options
@browser_options
@run_options
def crawl(registries: tuple[str, ...], limit: int | None, render: str, db: str, proxy, host_map, ignore_https_errors,
          ca_file, browser: str | None, browser_args: tuple[str, ...], no_sandbox: bool, concurrency: int,
          timeout: float) -> None:
    """Visit every broker's home page, privacy pages and registered rights page: hidden-from-search signals,
    redirects, dead links, bot walls, GPC statement, page text; then derive findings (the `brokers.*` rules)."""
    from crawler.summary import warn
    from mouchard.browser import browser_version, find_browser, sandbox
    from mouchard.derive import derive_findings
    from mouchard.store import Store

    net = network_from(proxy, host_map, ignore_https_errors, ca_file)
    check_proxy(net)
    store = Store(db, create=False)
    if not store.count("brokers"):
        store.close()
        raise UserError(f"no brokers in {db}: run 'mouchard brokers fetch' first")
    browser_path = None
    if render != "never":
        try:
            browser_path = find_browser(browser)
        except UserError as exc:
            if render == "always" or browser:
                raise
            click.echo(f"warning: {exc}; robots meta tags added by scripts will not be checked", err=True)
            render = "never"
    box = sandbox(no_sandbox) if browser_path else None
    warn(box.warnings if box else ())
    crawl_id = store.start_crawl(
        "brokers-crawl", config={"registries": list(registries), "limit": limit, "render": render,
                                 "concurrency": concurrency, "timeout": timeout},
        network=net.as_record(), browser=browser_path,
        browser_version=browser_version(browser_path) if browser_path else None, browser_args=list(browser_args),
        warnings=list(box.warnings) if box else [])
    status = "failed"
    try:
        with pages_progress() as advance:
            run_spiders([(BROKER_SITES, {"registries": ",".join(registries), "limit": limit or "",
                                           "render": render})],
                        db, crawl_id, net, concurrency=concurrency, timeout=timeout, browser=browser_path,
                        browser_args=browser_args, render=render != "never", progress=advance, box=box)
        findings = derive_findings(store, [crawl_id], ["brokers.*"])
        summary = crawl_summary(store, crawl_id, findings)
        store.update("crawls", crawl_id, {"summary": summary})
        for line in describe_crawl(summary):
            click.echo(line)
        status = "finished"
    finally:
        _finish(store, crawl_id, status)


def link_entities(store) -> int:
    """Fill brokers.tracker_entity from the tracker lists (shipped + downloaded), else from crawl data."""
    from mouchard.brokers import link_tracker_entities
    from mouchard.classify import default_classifier

    with store.transaction() as tx:
        return link_tracker_entities(tx.conn, default_classifier())


def crawl_summary(store, crawl_id: int, findings: list[dict]) -> dict:
    """What `crawls.summary` keeps of a broker-site crawl: counts of brokers, pages, statuses, findings."""
    from collections import Counter

    pages = store.rows("SELECT broker_id, kind, status, hidden FROM broker_pages WHERE crawl_id = ?", (crawl_id,))
    return {"brokers": len({p["broker_id"] for p in pages}), "pages": len(pages),
            "hidden_pages": sum(1 for p in pages if p["hidden"]),
            "statuses": dict(Counter(p["status"] for p in pages)),
            "findings": dict(Counter(f["rule_id"] for f in findings))}


def describe_crawl(summary: dict) -> list[str]:
    lines = [f"{summary['brokers']} brokers, {summary['pages']} pages checked, "
             f"{summary['hidden_pages']} hidden from search engines"]
    lines.append("  pages: " + ", ".join(f"{n} {s}" for s, n in sorted(summary["statuses"].items())))
    for rule, n in sorted(summary["findings"].items()):
        lines.append(f"  {rule}: {n}")
    return lines


def check_proxy(net) -> None:
    """Refuse to start when the proxy does not answer: every page would look dead from a dead vantage point."""
    if not net.proxy:
        return
    import socket
    import urllib.parse

    parts = urllib.parse.urlsplit(net.proxy)
    try:
        socket.create_connection((parts.hostname, parts.port or 8080), timeout=10).close()
    except OSError as exc:
        raise UserError(f"--proxy {net.proxy} does not answer ({exc.strerror or exc}): start it or choose another")


def _finish(store, crawl_id: int, status: str) -> None:
    """Close the run's `crawls` row, keeping its summary; called from `finally`, so it sees an exception."""
    current = store.rows("SELECT summary FROM crawls WHERE id = ?", (crawl_id,))
    summary = json.loads(current[0]["summary"] or "{}") if current else {}
    error = sys.exc_info()[0]
    if error is not None:
        status = "interrupted" if issubclass(error, KeyboardInterrupt) else "failed"
    store.finish_crawl(crawl_id, status, summary)
    store.close()


# --- Scrapy --------------------------------------------------------------------------------------------------

BROKER_SITES = "crawler.spiders.broker_sites:BrokerSitesSpider"  # registry spiders are named by mouchard.registries


def scrapy_settings(db: str, crawl_id: int, net, *, concurrency: int, timeout: float, browser: str | None = None,
                    browser_args=(), render: bool = False, box=None) -> dict:
    """Settings of a broker run: the shared base and network settings, then what the broker spiders need."""
    from crawler.browser.launch import LAUNCH_KEYS, LaunchPlan, user_agent
    from crawler.settings import base_settings, check_scrapy_proxy, network_settings
    from mouchard.browser import browser_version

    check_scrapy_proxy(net)
    version = browser_version(browser) if browser else ""
    settings = {
        **base_settings(str(Path(db).resolve()), crawl_id),
        **network_settings(net),
        "CONCURRENT_REQUESTS": concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": concurrency,
        "DOWNLOAD_TIMEOUT": timeout,
        "ROBOTSTXT_OBEY": False,  # we read robots.txt; we do not let it decide what we check
        "COOKIES_ENABLED": False,  # Vermont's session cookie is carried by hand
        # A browser's user agent: broker sites put bot walls in front of self-declared crawlers, and The Markup
        # measured with a browser.
        "USER_AGENT": user_agent(version),
        "RETRY_TIMES": 1,
        "DOWNLOAD_MAXSIZE": 8 * 1024 * 1024,
    }
    if render:
        # scrapy-playwright handles only requests that ask for it (meta "playwright"); the rest stay plain HTTP.
        options = LaunchPlan(browser, net, tuple(browser_args), version=version,
                             **({"sandbox": box} if box is not None else {})).options()
        launch_keys = LAUNCH_KEYS
        handler = "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler"
        settings.update({
            "DOWNLOAD_HANDLERS": {"http": handler, "https": handler},
            "PLAYWRIGHT_BROWSER_TYPE": "chromium",
            "PLAYWRIGHT_LAUNCH_OPTIONS": {k: v for k, v in options.items() if k in launch_keys},
            # No startup context: Chromium starts at the first page that needs rendering, often never.
            "MOUCHARD_RENDER_CONTEXT": {k: v for k, v in options.items() if k not in launch_keys},
            "PLAYWRIGHT_MAX_CONTEXTS": 1,
            "PLAYWRIGHT_MAX_PAGES_PER_CONTEXT": max(1, min(concurrency, 4)),
            "PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT": timeout * 1000,
        })
    return settings


@contextmanager
def pages_progress():
    """A progress line for the terminal (pages checked, hidden, last URL); silent when not a terminal."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    progress = Progress(SpinnerColumn(), TextColumn("[bold]brokers[/] {task.completed} pages, "
                                                    "{task.fields[hidden]} hidden  {task.fields[last]}"),
                        TimeElapsedColumn(), transient=True, disable=not sys.stderr.isatty())
    task = progress.add_task("brokers", total=None, hidden=0, last="")
    hidden = 0

    def advance(row: dict) -> None:
        nonlocal hidden
        hidden += row["hidden"]
        progress.update(task, advance=1, hidden=hidden, last=f"{row['status']:<9} {row['url'][:60]}")

    with progress:
        yield advance


def run_spiders(jobs: list[tuple[str, dict]], db: str, crawl_id: int, net, progress=None, **options) -> dict:
    """Run spiders ("module:Class", kwargs) in this process (Scrapy's CrawlerProcess, one reactor per process);
    returns their stats."""
    from scrapy.crawler import CrawlerProcess

    from mouchard.lifecycle import run_stoppable

    settings = scrapy_settings(db, crawl_id, net, **options)
    if progress is not None:
        settings["MOUCHARD_PROGRESS"] = progress
    process = CrawlerProcess(settings=settings)
    crawlers = []
    for name, kwargs in jobs:
        crawler = process.create_crawler(load(name))
        crawlers.append(crawler)
        process.crawl(crawler, **kwargs)
    run_stoppable(process.start)  # SIGHUP too, and a stop before Scrapy's handlers are in place
    stats: dict = {}
    for crawler in crawlers:
        for key, value in (crawler.stats.get_stats() if crawler.stats else {}).items():
            stats[key] = stats.get(key, []) + value if isinstance(value, list) else value
    if debug_enabled():
        click.echo(json.dumps(stats, default=str, indent=1), err=True)
    return stats

