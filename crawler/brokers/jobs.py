"""Broker jobs as Python functions: fetch a data-broker registry into `brokers`, crawl brokers' own sites.

    >>> from crawler.brokers.jobs import crawl_brokers, fetch_brokers
    >>> fetched = fetch_brokers("ca", db="brokers.db", year=2025)
    >>> fetched.summary["snapshots"][0]["brokers"]
    535
    >>> checked = crawl_brokers(db="brokers.db", registries=("ca",), limit=50)
    >>> checked.summary["hidden_pages"], checked.summary["findings"]

`fetch_brokers` and `crawl_brokers` run Scrapy in a child process (`crawler.child.run_in_child`): Twisted's
reactor runs once per process, so a Python program can call them as often as it likes. `fetch_brokers_here` and
`crawl_brokers_here` are the same jobs in this process (once per process; `mouchard brokers` calls them, with a
progress bar). None of them prints: they return a `BrokersResult`, and a problem the caller can fix is a one-line
`UserError`. Which registries exist, and how each is fetched and read, is data: mouchard/registries.py.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mouchard.errors import UserError
from mouchard.net import NetworkOptions
from mouchard.registries import NAMES, STATES, find, load
from mouchard.settings import DEFAULT_CONCURRENCY, DEFAULT_TIMEOUT, RunSettings, _number

BROKER_SITES = "crawler.spiders.broker_sites:BrokerSitesSpider"  # registry spiders are named by mouchard.registries
RENDER_MODES = ("auto", "always", "never")
_LIVE = ("http://", "https://")


@dataclass(frozen=True)
class BrokersResult:
    """What a broker job did: its `crawls` row (id, final status, summary as stored) in database `db`.

    `errors`: registry fetches that failed (one line each); `linked`: registrations linked to a tracker entity
    (fetch); `warnings`: the run's warnings, as recorded in `crawls.warnings` (crawl); `stats`: Scrapy's stats."""

    crawl_id: int
    status: str  # finished, interrupted (a stop signal) or failed
    summary: dict
    db: str
    errors: tuple[str, ...] = ()
    linked: int | None = None
    warnings: tuple[str, ...] = ()
    stats: dict = field(default_factory=dict, repr=False)


# --- the public jobs --------------------------------------------------------------------------------------------

def fetch_brokers(registry: str = "ca", *, db: str | os.PathLike | None = None,
                  source: str | os.PathLike | None = None,
                  year: int | None = None, network: NetworkOptions | None = None,
                  concurrency: int = DEFAULT_CONCURRENCY, timeout: float = DEFAULT_TIMEOUT,
                  log: str | os.PathLike | None = None) -> BrokersResult:
    """Fetch a data-broker registry into `brokers`, keep the file as evidence, and say what changed.

    `registry`: a name of mouchard.registries (ca, vt, tx, or, list) or "all" (every state's). `source`: a file
    path or URL to read instead of the registry's live address (a journalist's list needs it). `year`: California's
    registration year (default: the current file). `db` and `network` not given: as `RunSettings` fills them
    ($MOUCHARD_DB, $MOUCHARD_PROXY..., else mouchard.db and a direct connection). A live fetch runs in a child
    process (`log`: a file for its output; default: this process's stderr); a file is read here. Raises UserError
    when nothing could be fetched.

        >>> fetch_brokers("list", db="m.db", source="filiales.csv").summary["snapshots"][0]["brokers"]
        2
    """
    source = None if source is None else os.fspath(source)
    _check_fetch(registry, source, year)
    concurrency, timeout = _check_run(concurrency, timeout)
    kwargs = dict(registry=registry, db=db, source=source, year=year, network=network,
                  concurrency=concurrency, timeout=timeout)
    if source and not source.startswith(_LIVE):
        result = fetch_brokers_here(**kwargs)  # no Scrapy: a file is read in this process
    else:
        from crawler.child import run_in_child

        result = run_in_child("crawler.brokers.jobs:fetch_brokers_here", log=log, **kwargs)
    if result.status == "failed":
        shown = "; ".join(result.errors[:3]) + (f" (and {len(result.errors) - 3} more)" if len(result.errors) > 3
                                                  else "")
        raise UserError(f"nothing was fetched ({shown or 'no answer'}); no snapshot stored")
    return result


def crawl_brokers(*, db: str | os.PathLike | None = None, registries: Sequence[str] = (), limit: int | None = None,
                  render: str = "auto", network: NetworkOptions | None = None, timeout: float = DEFAULT_TIMEOUT,
                  concurrency: int = DEFAULT_CONCURRENCY, browser: str | None = None,
                  browser_args: Sequence[str] = (), sandbox: bool = True,
                  log: str | os.PathLike | None = None) -> BrokersResult:
    """Visit every broker's home page, privacy pages and registered rights page, in a child process: hidden-from-
    search signals, redirects, dead links, bot walls, GPC statement, page text into `broker_pages`; then derive the
    `brokers.*` findings.

    `registries`: only brokers of these registries' latest snapshots (default: every registry's); `limit`: at most
    this many brokers; `render`: "auto" renders in Chromium only rights pages that run scripts and carry no noindex
    tag in their HTML, "always" every page, "never" none. `sandbox=False` runs Chromium without its sandbox (unsafe
    on hostile sites; recorded as a warning); `browser`: the Chromium (default: $MOUCHARD_BROWSER, else found).
    `db`, `network` and `log` as for `fetch_brokers`. Raises UserError when the database holds no brokers.

        >>> result = crawl_brokers(db="m.db", network=NetworkOptions.build(host_map=["*=127.0.0.1"]))
        >>> result.summary["brokers"], result.summary["hidden_pages"]
    """
    from crawler.child import run_in_child

    _check_crawl(registries, limit, render)
    concurrency, timeout = _check_run(concurrency, timeout)
    return run_in_child("crawler.brokers.jobs:crawl_brokers_here", log=log, db=db, registries=tuple(registries),
                        limit=limit, render=render, network=network, timeout=timeout, concurrency=concurrency,
                        browser=browser, browser_args=tuple(browser_args), sandbox=sandbox)


# --- the same jobs in this process ------------------------------------------------------------------------------

def fetch_brokers_here(registry: str = "ca", *, db: str | os.PathLike | None = None,
                       source: str | os.PathLike | None = None,
                       year: int | None = None, network: NetworkOptions | None = None,
                       concurrency: int = DEFAULT_CONCURRENCY, timeout: float = DEFAULT_TIMEOUT) -> BrokersResult:
    """`fetch_brokers` in this process (a live fetch runs Scrapy: once per process). Nothing fetched is not an
    exception here but a `failed` result with its `errors`, so a command can show them before it stops."""
    from crawler.brokers.pipeline import add_snapshot_summary
    from crawler.brokers.snapshots import read_capture, save_snapshot
    from mouchard.storage.store import Store

    source = None if source is None else os.fspath(source)
    _check_fetch(registry, source, year)
    concurrency, timeout = _check_run(concurrency, timeout)
    db, net = _run_defaults(db, network)
    check_proxy(net)
    store = Store(db)
    crawl_id = store.start_crawl("brokers-fetch", config={"registry": registry, "from": source, "year": year},
                                 network=net.as_record())
    status, errors, stats, linked = "failed", [], {}, None
    try:
        if source and not source.startswith(_LIVE):
            path = Path(source)
            if not path.is_file():
                raise UserError(f"--from {source}: no such file")
            capture = read_capture(registry, path.read_bytes(), source, year, source_url=str(path.resolve()))
            add_snapshot_summary(store, crawl_id, save_snapshot(store, crawl_id, capture))
            finished = True
        else:
            jobs = [find(name).job(source, year) for name in (STATES if registry == "all" else (registry,))]
            stats, finished = run_spiders(jobs, db, crawl_id, net, concurrency=concurrency, timeout=timeout)
            errors = list(stats.get("mouchard/brokers/fetch_errors", []))
        summary = _summary_of(store, crawl_id)
        if errors:
            summary["errors"] = errors
            store.update("crawls", crawl_id, {"summary": summary})
        if summary.get("snapshots"):
            linked = link_entities(store)
            status = "finished" if finished else "interrupted"
        elif not finished:
            status = "interrupted"
        else:
            detail = "nothing was fetched: " + ("; ".join(errors) or "no answer")
            store.record_failure("brokers", "run-error", detail[:300], crawl_id=crawl_id)
    finally:
        _finish(store, crawl_id, status)
    return BrokersResult(crawl_id, status, summary, db, errors=tuple(errors), linked=linked, stats=stats)


def crawl_brokers_here(*, db: str | os.PathLike | None = None, registries: Sequence[str] = (),
                       limit: int | None = None, render: str = "auto", network: NetworkOptions | None = None,
                       timeout: float = DEFAULT_TIMEOUT, concurrency: int = DEFAULT_CONCURRENCY,
                       browser: str | None = None, browser_args: Sequence[str] = (), sandbox: bool = True,
                       progress: Callable[[dict], None] | None = None,
                       on_warning: Callable[[str], None] | None = None) -> BrokersResult:
    """`crawl_brokers` in this process (Scrapy: once per process). `progress` is called with each stored
    `broker_pages` row, `on_warning` with each warning as it arises (both run in this process). Findings are
    derived when the process has the audit rules installed (`mouchard.cli.install_rules`: the command and the
    child of `crawl_brokers` do)."""
    from mouchard.browser import browser_version, find_browser, sandbox as confine
    from mouchard.detect.derive import derive_findings
    from mouchard.storage.store import Store

    _check_crawl(registries, limit, render)
    concurrency, timeout = _check_run(concurrency, timeout)
    db, net = _run_defaults(db, network)
    check_proxy(net)
    warnings: list[str] = []

    def warn(text: str) -> None:
        warnings.append(text)
        if on_warning is not None:
            on_warning(text)

    store = Store(db, create=False)
    try:
        if not store.count("brokers"):
            raise UserError(f"no brokers in {db}: run 'mouchard brokers fetch' first")
        executable = None
        if render != "never":
            try:
                executable = find_browser(browser)
            except UserError as exc:
                if render == "always" or browser:
                    raise
                warn(f"{exc}; robots meta tags added by scripts will not be checked")
                render = "never"
        box = confine(not sandbox) if executable else None
        for text in box.warnings if box else ():
            warn(text)
        crawl_id = store.start_crawl(
            "brokers-crawl", config={"registries": list(registries), "limit": limit, "render": render,
                                     "concurrency": concurrency, "timeout": timeout},
            network=net.as_record(), browser=executable,
            browser_version=browser_version(executable) if executable else None, browser_args=list(browser_args),
            warnings=warnings)
    except BaseException:
        store.close()
        raise
    status, stats = "failed", {}
    try:
        stats, finished = run_spiders(
            [(BROKER_SITES, {"registries": ",".join(registries), "limit": limit or "", "render": render})],
            db, crawl_id, net, concurrency=concurrency, timeout=timeout, browser=executable,
            browser_args=browser_args, render=render != "never", progress=progress, box=box)
        status = "finished" if finished else "interrupted"
        # The rules judge whole brokers: an interrupted crawl's missing pages would read as missing links.
        findings = derive_findings(store, [crawl_id], ["brokers.*"]) if finished else []
        summary = crawl_summary(store, crawl_id, findings)
        store.update("crawls", crawl_id, {"summary": summary})
    finally:
        _finish(store, crawl_id, status)
    return BrokersResult(crawl_id, status, summary, db, warnings=tuple(warnings), stats=stats)


# --- parts shared with the commands and the distributed crawl ---------------------------------------------------

def _run_defaults(db: str | os.PathLike | None, network: NetworkOptions | None) -> tuple[str, NetworkOptions]:
    """The database and network of a run when not given: as `RunSettings` fills them from the environment."""
    if db is not None and network is not None:
        return str(db), network
    run = RunSettings.from_options(db=None if db is None else str(db))
    return run.db, network if network is not None else run.network


def _check_run(concurrency: int, timeout: float) -> tuple[int, float]:
    """Concurrency and timeout within the command's bounds (checked by the settings module's one validator)."""
    return _number("concurrency", concurrency, 1, 64, integer=True), _number("timeout", timeout, 1, 3600)


def _check_fetch(registry: str, source: str | None, year: int | None = None) -> None:
    """The fetch's arguments, before anything is started (raises UserError)."""
    if year is not None and (isinstance(year, bool) or not isinstance(year, int)):
        raise UserError(f"--year {year!r}: expected a year such as 2025")
    if registry != "all":
        find(registry)
    if registry == "list" and not source:
        raise UserError("--registry list needs --from PATH_OR_URL (a CSV with name, website, country, notes)")
    if source and registry == "all":
        raise UserError(f"--from reads one registry: choose it with --registry {'|'.join(NAMES)}")


def _check_crawl(registries: Sequence[str], limit: int | None, render: str) -> None:
    """The crawl's arguments, before anything is started (raises UserError)."""
    if isinstance(registries, str):
        raise UserError(f"registries: expected a list of names, not the string {registries!r}")
    for name in registries:
        find(name)
    if render not in RENDER_MODES:
        raise UserError(f"--render {render!r}: choose one of {', '.join(RENDER_MODES)}")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise UserError(f"--limit {limit!r}: expected a whole number from 1")


def link_entities(store) -> int:
    """Fill brokers.tracker_entity from the tracker lists (shipped + downloaded), else from crawl data."""
    from mouchard.classification.brokers import link_tracker_entities
    from mouchard.classification.classify import default_classifier

    with store.transaction() as tx:
        return link_tracker_entities(tx.conn, default_classifier())


def crawl_summary(store, crawl_id: int, findings: list[dict]) -> dict:
    """What `crawls.summary` keeps of a broker-site crawl: counts of brokers, pages, statuses, findings."""
    pages = store.rows("SELECT broker_id, kind, status, hidden FROM broker_pages WHERE crawl_id = ?", (crawl_id,))
    return {"brokers": len({p["broker_id"] for p in pages}), "pages": len(pages),
            "hidden_pages": sum(1 for p in pages if p["hidden"]),
            "statuses": dict(Counter(p["status"] for p in pages)),
            "findings": dict(Counter(f["rule_id"] for f in findings))}


def describe_crawl(summary: dict) -> list[str]:
    """A broker-site crawl's summary as lines for the terminal."""
    lines = [f"{summary['brokers']} brokers, {summary['pages']} pages checked, "
             f"{summary['hidden_pages']} hidden from search engines"]
    lines.append("  pages: " + ", ".join(f"{n} {s}" for s, n in sorted(summary["statuses"].items())))
    for rule, n in sorted(summary["findings"].items()):
        lines.append(f"  {rule}: {n}")
    return lines


def check_proxy(net: NetworkOptions) -> None:
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


def _summary_of(store, crawl_id: int) -> dict:
    current = store.rows("SELECT summary FROM crawls WHERE id = ?", (crawl_id,))
    return json.loads(current[0]["summary"] or "{}") if current else {}


def _finish(store, crawl_id: int, status: str) -> None:
    """Close the run's `crawls` row, keeping its summary; called from `finally`, so it sees an exception: a stop
    makes the run `interrupted`, an error `failed` with a `failures` row saying why."""
    error = sys.exc_info()[1]
    if error is not None:
        status = "interrupted" if isinstance(error, KeyboardInterrupt) else "failed"
        if status == "failed":
            store.record_failure("brokers", "run-error", f"{type(error).__name__}: {str(error)[:300]}",
                                 crawl_id=crawl_id)
    store.finish_crawl(crawl_id, status, _summary_of(store, crawl_id))
    store.close()


# --- Scrapy -----------------------------------------------------------------------------------------------------

def scrapy_settings(db: str, crawl_id: int, net: NetworkOptions, *, concurrency: int, timeout: float,
                    browser: str | None = None, browser_args: Sequence[str] = (), render: bool = False,
                    box=None) -> dict:
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
        handler = "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler"
        settings.update({
            "DOWNLOAD_HANDLERS": {"http": handler, "https": handler},
            "PLAYWRIGHT_BROWSER_TYPE": "chromium",
            "PLAYWRIGHT_LAUNCH_OPTIONS": {k: v for k, v in options.items() if k in LAUNCH_KEYS},
            # No startup context: Chromium starts at the first page that needs rendering, often never.
            "MOUCHARD_RENDER_CONTEXT": {k: v for k, v in options.items() if k not in LAUNCH_KEYS},
            "PLAYWRIGHT_MAX_CONTEXTS": 1,
            "PLAYWRIGHT_MAX_PAGES_PER_CONTEXT": max(1, min(concurrency, 4)),
            "PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT": timeout * 1000,
        })
    return settings


def run_spiders(jobs: list[tuple[str, dict]], db: str, crawl_id: int, net: NetworkOptions,
                progress: Callable[[dict], None] | None = None, **options) -> tuple[dict, bool]:
    """Run spiders ("module:Class", kwargs) in this process (Scrapy's CrawlerProcess, one reactor per process);
    returns their merged stats and whether every one finished (False: a stop signal ended them)."""
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
    stopped = run_stoppable(process.start)  # SIGHUP too, and a stop before Scrapy's handlers are in place
    stats: dict = {}
    reasons = []
    for crawler in crawlers:
        own = crawler.stats.get_stats() if crawler.stats else {}
        reasons.append(own.get("finish_reason"))
        for key, value in own.items():
            stats[key] = stats.get(key, []) + value if isinstance(value, list) else value
    return stats, stopped is None and all(reason == "finished" for reason in reasons)
