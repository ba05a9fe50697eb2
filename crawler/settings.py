"""Scrapy settings of mouchard's spiders: the shared base, the network (host map, proxy, TLS) and the browser crawl.

Every mouchard spider starts from `base_settings()` and adds `network_settings(net)` so the run's vantage point
(proxy, host map, certificates) applies to Scrapy's own HTTP as it does to Chromium and mitmproxy:
- the host map through `crawler.resolver.HostMapResolver` (setting `MOUCHARD_HOST_MAP`, rule strings);
- the proxy through request meta: `proxy_meta(net)` gives `{"proxy": URL}` for each request (HTTP proxies;
  Scrapy has no SOCKS support, so a SOCKS vantage point is refused with a clear error by `check_scrapy_proxy`);
- TLS: Scrapy does not verify certificates by default; `--ca-file` / `--ignore-https-errors` change nothing there.
Settings we add are prefixed `MOUCHARD_`; the database is `MOUCHARD_DB` (one spelling in every layer).

The run's typed settings (mouchard.settings.RunSettings) travel under one key, `MOUCHARD_SETTINGS`; components
read them, and the few per-run values that are not settings (database, crawl id, evidence folder, progress
callback, host map), through the functions below: no other module of the crawler names a `MOUCHARD_*` key when
it reads (tests/test_core_settings.py). A collector's on/off switch is its class attribute `switch`, the name of a
`CollectorSettings` field; `switched_on` says whether the run keeps it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mouchard.errors import UserError
from mouchard.settings import RunSettings, evidence_dir

if TYPE_CHECKING:
    from mouchard.net import NetworkOptions

def default_collectors() -> list[str]:
    """The page-side collectors of a browser visit, in order (import paths): every collector of crawler/collectors
    with an `order` (`crawler.collectors.discover`), found once; also `DEFAULT_COLLECTORS`."""
    found = globals().get("DEFAULT_COLLECTORS")
    if found is None:
        from crawler.collectors import discover

        found = globals()["DEFAULT_COLLECTORS"] = discover()
    return found


def __getattr__(name: str) -> Any:
    # DEFAULT_COLLECTORS is found on first use (importing every collector module is not free); the list is kept,
    # so a caller may still change it in place before the crawl starts.
    if name == "DEFAULT_COLLECTORS":
        return default_collectors()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


BROWSER_PIPELINES = {
    "crawler.pipelines.classify_rows.ClassifyRows": 200,
    "crawler.pipelines.judge_identifiers.JudgeIdentifiers": 300,
    "crawler.pipelines.store_visits.StoreVisits": 900,
}


RUN_KEY = "MOUCHARD_SETTINGS"


def run_settings(settings: Any) -> RunSettings:
    """The run's typed settings from Scrapy settings (the defaults when a spider was started without them)."""
    run = settings.get(RUN_KEY)
    return run if isinstance(run, RunSettings) else RunSettings()


def switched_on(settings: Any, component: Any) -> bool:
    """Whether the run keeps `component` (a collector class or instance): True unless its class attribute `switch`
    names a CollectorSettings field that is False."""
    switch = getattr(component, "switch", None)
    return not switch or bool(getattr(run_settings(settings).collectors, switch))


def require_switch(settings: Any, component: Any) -> None:
    """In a collector's `from_crawler`: raise NotConfigured (Scrapy's way to switch a component off) when the run
    turns it off; the spider then leaves it out."""
    if not switched_on(settings, component):
        from scrapy.exceptions import NotConfigured

        raise NotConfigured(f"collectors.{component.switch} is off")


def db_of(settings: Any) -> str | None:
    """The database the spider writes (MOUCHARD_DB)."""
    return settings.get("MOUCHARD_DB")


def crawl_id_of(settings: Any) -> int | None:
    """The `crawls.id` of this run (MOUCHARD_CRAWL_ID), None before one is started."""
    return settings.getint("MOUCHARD_CRAWL_ID") or None


def evidence_dir_of(settings: Any) -> str | None:
    """The run's evidence folder: as `browser_settings` set it, else derived from the database."""
    db = db_of(settings)
    return settings.get("MOUCHARD_EVIDENCE_DIR") or (str(evidence_dir(db)) if db else None)


def progress_of(settings: Any):
    """The callable told of each stored row (MOUCHARD_PROGRESS: the command's progress bar), or None."""
    return settings.get("MOUCHARD_PROGRESS")


def proxy_of(settings: Any) -> str | None:
    """The upstream proxy requests go through (MOUCHARD_PROXY, from `network_settings`), or None."""
    return settings.get("MOUCHARD_PROXY") or None


def render_context_of(settings: Any) -> dict:
    """Playwright context options for pages rendered by a broker spider (MOUCHARD_RENDER_CONTEXT)."""
    return settings.getdict("MOUCHARD_RENDER_CONTEXT")


def host_map_of(settings: Any) -> list[str]:
    """The host-map rules (strings) of `network_settings`, for the DNS resolver."""
    return settings.getlist("MOUCHARD_HOST_MAP")


def collector_paths(settings: Any) -> list[str]:
    """The import paths of the page-side collectors, in order (MOUCHARD_COLLECTORS)."""
    return settings.getlist("MOUCHARD_COLLECTORS")


def apply_offline_tldextract() -> None:
    """Make Scrapy's cookie middleware use the bundled public-suffix snapshot instead of fetching it at run time."""
    from scrapy.downloadermiddlewares import cookies

    from mouchard.decode.domains import offline_tldextract

    cookies._split_domain = offline_tldextract()


def base_settings(db: str, crawl_id: int | None = None) -> dict[str, Any]:
    """What every mouchard spider needs: asyncio reactor, no remote control or telnet, quiet logs, the database."""
    apply_offline_tldextract()
    return {
        "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
        "REMOTE_CONTROL_ENABLED": False,  # Scrapy 2.19 opens a control server on 127.0.0.1 otherwise
        "TELNETCONSOLE_ENABLED": False,
        "ROBOTSTXT_OBEY": False,  # an investigator visits what a person visits
        "LOG_LEVEL": "WARNING",
        "LOG_ENABLED": True,
        "MOUCHARD_DB": db,
        "MOUCHARD_CRAWL_ID": crawl_id,
    }


def check_scrapy_proxy(net: "NetworkOptions") -> None:
    """Scrapy's HTTP client speaks to HTTP(S) proxies only."""
    if net.proxy and not net.proxy.startswith(("http://", "https://")):
        raise UserError(f"--proxy {net.proxy}: Scrapy's own requests need an http:// or https:// proxy "
                        "(SOCKS works for the browser only)")


def network_settings(net: "NetworkOptions") -> dict[str, Any]:
    """Host map for Scrapy's resolver and the proxy/TLS record; pass `proxy_meta(net)` in each request's meta."""
    return {
        "TWISTED_DNS_RESOLVER": "crawler.resolver.HostMapResolver",
        "MOUCHARD_HOST_MAP": [str(rule) for rule in net.host_map],
        "MOUCHARD_PROXY": net.proxy,
        "DNSCACHE_ENABLED": True,
    }


def proxy_meta(net: "NetworkOptions") -> dict[str, str]:
    """Request meta that sends one Scrapy request through the run's proxy (empty without a proxy)."""
    return {"proxy": net.proxy} if net.proxy else {}


def browser_settings(*, db: str, crawl_id: int, net: "NetworkOptions", launch_options: dict, concurrency: int,
                     timeout: float, collectors: list[str] | None = None,
                     run: RunSettings | None = None) -> dict[str, Any]:
    """Settings of the browser crawl: scrapy-playwright with one fresh persistent profile (browser) per visit;
    `run` (the run's typed settings: collector switches and limits) under RUN_KEY."""
    handler = "crawler.browser.handler.VisitDownloadHandler"
    return {
        RUN_KEY: run if run is not None else RunSettings(db=db, network=net, concurrency=concurrency, timeout=timeout),
        **base_settings(db, crawl_id),
        **network_settings(net),
        "DOWNLOAD_HANDLERS": {"http": handler, "https": handler},
        "PLAYWRIGHT_BROWSER_TYPE": "chromium",
        "PLAYWRIGHT_BROWSER_PROVIDER": "crawler.browser.provider.FreshProfileProvider",
        "PLAYWRIGHT_LAUNCH_OPTIONS": launch_options,
        "PLAYWRIGHT_MAX_CONTEXTS": concurrency,  # a context is a browser here: bounds memory
        "PLAYWRIGHT_MAX_PAGES_PER_CONTEXT": 1,
        "PLAYWRIGHT_PROCESS_REQUEST_HEADERS": None,  # the browser's own headers, not Scrapy's
        "PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT": timeout * 1000,
        # scrapy-playwright waits this long for a download that an aborted navigation might be: keep it short.
        "PLAYWRIGHT_DOWNLOAD_TIMEOUT": 5000,
        "CONCURRENT_REQUESTS": concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": concurrency,
        "DOWNLOAD_DELAY": 0,
        "COOKIES_ENABLED": False,  # the browser keeps the cookies
        "RETRY_ENABLED": False,  # a failed visit is a row with a status, not a retry
        "HTTPERROR_ALLOW_ALL": True,  # a 500 page is still a visit to record
        "REDIRECT_ENABLED": False,  # the browser follows redirects
        "METAREFRESH_ENABLED": False,
        "ITEM_PIPELINES": BROWSER_PIPELINES,
        "MOUCHARD_COLLECTORS": collectors if collectors is not None else default_collectors(),
        # The one derivation of the evidence folder (mouchard.storage.store.evidence_dir), so the single-machine crawl
        # and every worker keep files under the same root and record the same relative paths.
        "MOUCHARD_EVIDENCE_DIR": str(evidence_dir(db)),
    }
