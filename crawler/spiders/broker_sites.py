"""Visit data brokers' own sites: home page, privacy pages found by their links, the registered rights page, and
/.well-known/gpc.json; record each page's hidden-from-search signals, redirects and text in `broker_pages`. A
registered rights URL that fails is repaired (`start_repair`: its spellings, then the home pages' privacy-choices
links; crawler/brokers/repair.py), and the page found is checked too, with the path in `found_via`.

Plain HTTP (Scrapy) for every page; Chromium (scrapy-playwright) only to read the robots meta tags of the
rendered DOM, and only where a script could have added one (see `needs_render`). Each URL is fetched once
however many brokers point at it; rows are written per broker by `StoreBrokerPages`.
"""

from __future__ import annotations

import asyncio
import json
import urllib.parse
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass

import scrapy
from scrapy.http import Response
from twisted.internet.error import (ConnectionRefusedError, DNSLookupError, TCPTimedOutError, TimeoutError)
from twisted.python.failure import Failure

from crawler.brokers.gpc import gpc_url, read_statement
from crawler.brokers.pages import bot_wall, has_scripts, hosted_by, page_text, privacy_links, text_hash
from crawler.brokers.repair import MAX_FETCHES, choice_links, home_of, rank_choices, url_variants, went_home
from crawler.brokers.results import PageResult
from crawler.brokers.robots import MetaTag, RobotsTxt, robots_meta
from crawler.settings import db_of, proxy_of, render_context_of
from mouchard.classification.brokers import normalise_url
from mouchard.decode.domains import site_of
from mouchard.storage.store import Store

# JavaScript run in the rendered page: the robots meta tags of the DOM as scripts left it.
RENDERED_META_JS = ("() => Array.from(document.querySelectorAll('meta[name]'))"
                    ".filter(m => /^(robots|googlebot|bingbot)$/i.test(m.name.trim()))"
                    ".map(m => [m.name.trim().toLowerCase(), m.content || ''])")
ALL_STATUSES = [*range(200, 300), *range(400, 600)]  # 3xx stay with the redirect middleware
MAX_DEPTH = 2  # clicks from the home page: home -> policy -> deletion page
BROKEN = ("not-found", "http-error", "dns-error", "tls-error")  # a timeout or a bot wall proves nothing


@dataclass(frozen=True)
class BrokerTarget:
    """One broker registration to check."""

    broker_id: int
    name: str
    key: str
    registry: str
    websites: tuple[str, ...]
    rights_url: str | None

    @property
    def sites(self) -> frozenset[str]:
        """The broker's own sites (its websites'); a rights page elsewhere may be on a privacy service."""
        return frozenset(site_of(u) for u in self.websites)


@dataclass(frozen=True)
class Wanted:
    """A broker's interest in a URL: which kind of page it is for that broker, how many clicks from home."""

    target: BrokerTarget
    kind: str
    clicks: int | None
    found_via: dict | None = None  # how a repaired rights page was reached (`broker_pages.found_via`)


@dataclass
class Probe:
    """What a repair fetch learned: enough to choose, not a `broker_pages` row."""

    status: str
    http_status: int | None
    final_url: str | None
    links: list


@dataclass
class Repair:
    """One broker's search for its rights page after the registered URL failed: the queue and the path taken."""

    target: BrokerTarget
    queue: list[tuple[str, str]]
    steps: list[dict]
    tried: set[str]
    fetches: int = 0


def needs_repair(result: PageResult) -> bool:
    """The registered rights URL did not lead to a page: dead, or a moved page that sent us to the home page."""
    return result.status in BROKEN or (result.status == "ok" and went_home(result.url, result.final_url))


def load_targets(store: Store, registries: Iterable[str] = (), limit: int | None = None) -> list[BrokerTarget]:
    """Brokers of each registry's latest snapshot (all registries, or the ones named), in id order."""
    wanted = list(registries)
    where = f"AND registry IN ({','.join('?' * len(wanted))})" if wanted else ""
    rows = store.rows(
        "SELECT * FROM brokers WHERE snapshot_id IN (SELECT max(id) FROM registry_snapshots GROUP BY registry) "
        f"{where} ORDER BY id", wanted)
    targets = []
    for row in rows[:limit] if limit else rows:
        websites = tuple(u for u in (normalise_url(w) for w in json.loads(row["websites"] or "[]")) if u)
        targets.append(BrokerTarget(row["id"], row["name"], row["key"], row["registry"], websites,
                                    normalise_url(row["rights_url"]) if row["rights_url"] else None))
    return targets


def needs_render(mode: str, result: PageResult, html: str | None) -> bool:
    """Whether to render a page in Chromium to read the meta tags scripts may add.

    'always' renders every HTML page; 'never' none; 'auto' (default) renders a page only when it loaded as HTML,
    its served HTML has no noindex meta tag already (rendering cannot un-hide it: any signal hides), and it runs
    at least one script (only a script can add a tag). Home pages are not rendered: they are not rights pages.
    """
    if mode == "never" or html is None or result.status != "ok":
        return False
    if mode == "always":
        return True
    return not any(t.noindex for t in result.signals.meta_raw) and has_scripts(html)


class BrokerSitesSpider(scrapy.Spider):
    """Check every broker's home page, privacy pages and registered rights page."""

    name = "broker_sites"
    custom_settings = {"ITEM_PIPELINES": {"crawler.brokers.pipeline.StoreBrokerPages": 300}}

    def __init__(self, *args, registries: str = "", limit: int | None = None, render: str = "auto", **kwargs):
        super().__init__(*args, **kwargs)
        self.registries = [r for r in registries.split(",") if r]
        self.limit = int(limit) if limit else None
        self.render_mode = render
        self.results: dict[str, PageResult] = {}
        self.pending: dict[str, list[Wanted]] = {}
        self.found: dict[int, set[str]] = {}
        self.robots: dict[str, asyncio.Future] = {}
        self.repairs: dict[int, Repair] = {}
        self.probes: dict[str, Probe] = {}

    @property
    def proxy(self) -> str | None:
        return proxy_of(self.settings)

    async def start(self) -> AsyncIterator[scrapy.Request]:
        store = Store(db_of(self.settings), create=False, readonly=True)
        try:
            targets = load_targets(store, self.registries, self.limit)
        finally:
            store.close()
        self.crawler.stats.set_value("mouchard/brokers/targets", len(targets))
        for target in targets:
            if target.websites:
                for request in self.want(target.websites[0], target, "home", 0):
                    yield request
            else:
                for request in self.after_home(target, None):
                    yield request

    # --- scheduling -------------------------------------------------------------------------------------------
    def request(self, url: str, callback, errback=None, **meta) -> scrapy.Request:
        meta = {"handle_httpstatus_list": ALL_STATUSES, "page_url": url, **meta}
        if self.proxy:
            meta["proxy"] = self.proxy
        return scrapy.Request(url, callback=callback, errback=errback or self.failed, meta=meta, dont_filter=True)

    def want(self, url: str, target: BrokerTarget, kind: str, clicks: int | None,
             found_via: dict | None = None) -> list:
        """Ask for `url` as `kind` for `target`: a request the first time, a row at once if already fetched."""
        wanted = Wanted(target, kind, clicks, found_via)
        if url in self.results:
            return [self.item(self.results[url], wanted), *self.follow_up(wanted, self.results[url])]
        if url in self.pending:
            self.pending[url].append(wanted)
            return []
        self.pending[url] = [wanted]
        callback = self.parse_gpc if kind == "gpc" else self.parse_page
        return [self.request(url, callback)]

    def item(self, result: PageResult, wanted: Wanted) -> dict:
        hosted = hosted_by(result.final_url or result.url, wanted.target.sites)
        return {"result": result, "broker_id": wanted.target.broker_id, "kind": wanted.kind,
                "clicks": wanted.clicks, "hosted_by": hosted, "found_via": wanted.found_via}

    def after_home(self, target: BrokerTarget, home: PageResult | None) -> list:
        """Once the home page is known: its privacy links, the registered rights page, the GPC statement."""
        out: list = []
        linked: dict[str, int] = {}
        if home is not None and home.status == "ok" and home.final_url:
            out += self.follow_links(target, home, 0, linked)
            out += self.want(gpc_url(home.final_url), target, "gpc", None)
        if target.rights_url:
            out += self.want(target.rights_url, target, "rights", linked.get(target.rights_url))
        return out

    def follow_links(self, target: BrokerTarget, page: PageResult, depth: int, linked: dict[str, int]) -> list:
        out: list = []
        found = self.found.setdefault(target.broker_id, set())
        for link in page.links:
            if depth > 0 and link.kind in found:
                continue  # deeper pages only for kinds the home page did not link
            linked.setdefault(link.url, depth + 1)
            found.add(link.kind)
            out += self.want(link.url, target, link.kind, depth + 1)
        return out

    # --- pages ---------------------------------------------------------------------------------------------------
    async def parse_page(self, response: Response):
        url = response.meta["page_url"]
        result, html = self.examine(url, response)
        if needs_render(self.render_mode, result, html) and not self._only_home(url):
            await self.render(result)
        result.signals.robots = await self.robots_verdicts(url, result.final_url)
        wanted = self.pending.pop(url, [])
        self.results[url] = result
        result.links = privacy_links(result.final_url, html) if html and result.status == "ok" else []
        for w in wanted:
            yield self.item(result, w)
        for w in wanted:
            for request in self.follow_up(w, result):
                yield request

    def follow_up(self, wanted: Wanted, result: PageResult) -> list:
        """What a page leads to for one broker: after its home page, the rest; after a policy page, its links."""
        if wanted.kind == "home":
            return self.after_home(wanted.target, result)
        if wanted.kind == "policy" and wanted.clicks is not None and wanted.clicks < MAX_DEPTH:
            return self.follow_links(wanted.target, result, wanted.clicks, {})
        if wanted.kind == "rights" and wanted.found_via is None and needs_repair(result):
            return self.start_repair(wanted.target, result)
        return []

    # --- repairing a wrong rights URL ------------------------------------------------------------------------------
    def start_repair(self, target: BrokerTarget, result: PageResult) -> list:
        """The registered rights URL failed: try its spellings, then the home pages' links to privacy choices."""
        if target.broker_id in self.repairs or not target.rights_url:
            return []
        registered = target.rights_url
        homes = [home_of(registered), home_of(result.final_url), *(home_of(w) for w in target.websites[:1])]
        queue = [(u, "variant") for u in url_variants(registered)]
        queue += [(h, "home") for h in dict.fromkeys(h for h in homes if h)]
        step = {"url": registered, "how": "registered", "status": result.status, "http_status": result.http_status}
        if result.final_url and result.final_url != registered:
            step["final_url"] = result.final_url
        job = Repair(target, queue, [step], {registered})
        self.repairs[target.broker_id] = job
        self.crawler.stats.inc_value("mouchard/brokers/repair/started")
        return self.repair_next(job)

    def repair_next(self, job: Repair) -> list:
        """The next step of a repair: a cached answer decides at once; else one fetch, within `MAX_FETCHES`."""
        while job.queue:
            url, how = job.queue.pop(0)
            if url in job.tried:
                continue
            job.tried.add(url)
            probe = self.probes.get(url) or self._probe_from_results(url)
            if probe is not None:
                out = self.repair_step(job, url, how, probe)
                if out is not None:
                    return out
                continue
            if job.fetches >= MAX_FETCHES:
                job.queue.clear()
                break
            job.fetches += 1
            return [self.request(url, self.parse_probe, errback=self.probe_failed, repair=job.target.broker_id,
                                 how=how)]
        job.steps.append({"how": "gave-up", "fetches": job.fetches})
        self.crawler.stats.inc_value("mouchard/brokers/repair/failed")
        return []

    def _probe_from_results(self, url: str) -> Probe | None:
        """A page the crawl already fetched (a home page) serves as a probe: its privacy links are known."""
        result = self.results.get(url)
        if result is None or result.gpc is not None:
            return None
        return Probe(result.status, result.http_status, result.final_url, None)

    def repair_step(self, job: Repair, url: str, how: str, probe: Probe) -> list | None:
        """Record one try; a variant that answers with a page, or a home page's privacy-choices link, ends it."""
        step = {"url": url, "how": how, "status": probe.status, "http_status": probe.http_status}
        if probe.final_url and probe.final_url != url:
            step["final_url"] = probe.final_url
        job.steps.append(step)
        if how == "variant" and probe.status == "ok" and not went_home(url, probe.final_url):
            return self.accept(job, probe.final_url or url)
        if how == "home" and probe.status == "ok":
            links = probe.links if probe.links is not None else self._choice_links_of(url)
            for link in links:
                if link.url not in job.tried:
                    job.steps.append({"url": link.url, "how": "link", "text": link.text[:200]})
                    return self.accept(job, link.url)
        return None

    def _choice_links_of(self, url: str) -> list:
        return rank_choices(self.results[url].links) if url in self.results else []

    def accept(self, job: Repair, url: str) -> list:
        """The rights page found: checked as the broker's `rights` page, with the path that led to it."""
        self.crawler.stats.inc_value("mouchard/brokers/repair/found")
        via = {"registered": job.target.rights_url, "found": url, "steps": job.steps}
        job.queue.clear()
        return self.want(url, job.target, "rights", None, via)

    def parse_probe(self, response: Response):
        url = response.meta["page_url"]
        result, html = self.examine(url, response)
        found = choice_links(result.final_url or url, html) if html and result.status == "ok" else []
        self.probes[url] = Probe(result.status, result.http_status, result.final_url, found)
        yield from self.repair_continue(response.meta["repair"], url, response.meta["how"])

    def probe_failed(self, failure: Failure):
        url = failure.request.meta["page_url"]
        status, _ = describe_failure(failure)
        self.probes[url] = Probe(status, None, None, [])
        yield from self.repair_continue(failure.request.meta["repair"], url, failure.request.meta["how"])

    def repair_continue(self, broker_id: int, url: str, how: str) -> list:
        job = self.repairs[broker_id]
        out = self.repair_step(job, url, how, self.probes[url])
        return out if out is not None else self.repair_next(job)

    def _only_home(self, url: str) -> bool:
        return all(w.kind == "home" for w in self.pending.get(url, []))

    def examine(self, url: str, response: Response) -> tuple[PageResult, str | None]:
        """Status, redirects, served meta tags, X-Robots-Tag values and text of a response."""
        headers = {k.decode("latin-1"): v[-1].decode("latin-1", "replace") for k, v in response.headers.items()}
        body = response.body or b""
        result = PageResult(url, final_url=response.url, http_status=response.status,
                            redirects=[*response.meta.get("redirect_urls", []), response.url]
                            if response.meta.get("redirect_urls") else [])
        wall = bot_wall(response.status, headers, body)
        if wall:
            result.status, result.reason = "bot-wall", wall
        elif response.status in (404, 410):
            result.status, result.reason = "not-found", f"HTTP {response.status}"
        elif response.status >= 400:
            result.status, result.reason = "http-error", f"HTTP {response.status}"
        result.signals.x_robots_tag = [v.decode("latin-1", "replace")
                                       for v in response.headers.getlist("X-Robots-Tag")]
        html = None
        content_type = headers.get("Content-Type", "").lower()
        if "html" in content_type or body.lstrip()[:1] == b"<":
            html = response.text if hasattr(response, "text") else body.decode("utf-8", "replace")
            result.html = True
            result.signals.meta_raw = robots_meta(html)
            result.title, result.text = page_text(html)
            result.text_sha256 = text_hash(result.text)
        return result, html

    async def render(self, result: PageResult) -> None:
        """Load the page in Chromium and read the robots meta tags of the DOM (scripts ran)."""
        from scrapy_playwright.page import PageMethod

        request = self.request(result.final_url or result.url, None, playwright=True,
                               playwright_context_kwargs=render_context_of(self.settings),
                               playwright_page_methods=[PageMethod("wait_for_load_state", "load"),
                                                        PageMethod("evaluate", RENDERED_META_JS)])
        try:
            response = await self.crawler.engine.download_async(request)
        except Exception as exc:  # a page that crashes the renderer keeps its raw verdict; say why
            self.crawler.stats.inc_value("mouchard/brokers/render_failed")
            result.reason = (result.reason + "; " if result.reason else "") + f"render failed: {exc!s:.200}"
            return
        methods = response.meta.get("playwright_page_methods") or []
        tags = methods[-1].result if methods else []
        result.signals.meta_rendered = [MetaTag(name, content) for name, content in tags or []]
        result.rendered = True
        self.crawler.stats.inc_value("mouchard/brokers/rendered")

    async def robots_verdicts(self, url: str, final_url: str | None) -> list[dict]:
        """robots.txt verdicts for the final URL, and for the requested URL when it is on another origin."""
        verdicts = []
        checked_origins: set[str] = set()
        for checked in (u for u in (final_url, url) if u):
            if _origin(checked) in checked_origins:
                continue
            checked_origins.add(_origin(checked))
            verdict = (await self.robots_txt(checked)).verdict(checked)
            verdicts.append({"url": checked, **verdict})
        return verdicts

    async def robots_txt(self, url: str) -> RobotsTxt:
        """The origin's robots.txt, fetched once per crawl (concurrent callers share the fetch)."""
        origin = _origin(url)
        if origin not in self.robots:
            future = asyncio.get_running_loop().create_future()
            self.robots[origin] = future
            robots_url = origin + "/robots.txt"
            try:
                response = await self.crawler.engine.download_async(self.request(robots_url, None))
                body = response.body.decode("utf-8", "replace") if response.status < 300 else ""
                future.set_result(RobotsTxt(robots_url, response.status, body))
            except Exception as exc:
                future.set_result(RobotsTxt(robots_url, None, error=f"{type(exc).__name__}: {exc!s:.200}"))
        return await asyncio.shield(self.robots[origin])

    # --- GPC -----------------------------------------------------------------------------------------------------
    def parse_gpc(self, response: Response):
        url = response.meta["page_url"]
        result = PageResult(url, final_url=response.url, http_status=response.status)
        result.gpc = read_statement(url, response.status, response.body)
        if response.status in (404, 410):
            result.status = "not-found"
        elif response.status >= 400:
            result.status = "http-error"
        if result.gpc.gpc != "true":
            result.reason = f"gpc.json {result.gpc.gpc} (HTTP {response.status})"
        self.results[url] = result
        for wanted in self.pending.pop(url, []):
            yield self.item(result, wanted)

    # --- failures ----------------------------------------------------------------------------------------------
    def failed(self, failure: Failure):
        url = failure.request.meta["page_url"]
        status, reason = describe_failure(failure)
        result = PageResult(url, status=status, reason=reason)
        wanted = self.pending.pop(url, [])
        if any(w.kind == "gpc" for w in wanted):
            result.gpc = read_statement(url, None, None)
        self.results[url] = result
        self.crawler.stats.inc_value(f"mouchard/brokers/failed/{status}")
        for w in wanted:
            yield self.item(result, w)
        for w in wanted:
            yield from self.follow_up(w, result)


def _origin(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def describe_failure(failure: Failure) -> tuple[str, str]:
    """(status, one-line reason) for a request that got no response."""
    from scrapy.core.downloader.handlers.http11 import TunnelError

    exc = failure.value
    text = f"{type(exc).__name__}: {exc}"[:300]
    if failure.check(DNSLookupError):
        return "dns-error", text
    if failure.check(TimeoutError, TCPTimedOutError) or "timeout" in type(exc).__name__.lower() \
            or "took longer than" in str(exc):
        return "timeout", text
    if failure.check(TunnelError) and "502" in str(exc):
        return "dns-error", text  # the proxy could not reach the host: almost always a name that did not resolve
    if "ssl" in type(exc).__module__.lower() or "SSL" in type(exc).__name__ or "certificate" in str(exc).lower():
        return "tls-error", text
    if failure.check(ConnectionRefusedError):
        return "http-error", text
    return "http-error", text
