"""The browser spider: each site in a fresh Chromium profile, instrumented through CDP, one VisitRecord per visit.

Requests go through scrapy-playwright with `playwright_context_kwargs["user_data_dir"]` set, so each visit gets
its own persistent context (its own browser on a fresh profile, third-party cookies allowed; see
crawler/browser/profile.py), named after the visit and closed at its end. `--pages-per-site N` follows N internal
links of each landing page, chosen by a random generator seeded with the crawl's seed and the landing URL (the
same list and seed give the same sample, whatever the order of visits); the choice is recorded in the landing
visit's row (`visits.sample`) and, once, in `crawls.config` at the end of the crawl.

`retry_failed N` (`mouchard crawl --retry-failed N`): a visit that did not end ok is tried again, up to N more
times per page in the whole crawl; each try is a row (see `crawler.pipelines.store_visits` for the ledger).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import random
import urllib.parse
from collections.abc import AsyncIterator, Iterable
from dataclasses import replace
from typing import Any

import scrapy
from scrapy.utils.misc import load_object

from crawler.browser.profile import new_profile, remove_profile
from crawler.browser.visit import VisitRecord, VisitRun, VisitSettings, VisitSpec
from crawler.consent.gpc import gpc_launch_args
from crawler.consent.sequences import Shots, prime, prime_urls, unpaired
from crawler.settings import collector_paths, crawl_id_of, db_of, run_settings, switched_on
from mouchard.decode.domains import site_of
from mouchard.settings import ReplaySettings
from mouchard.storage.store import Store, utcnow

log = logging.getLogger("mouchard.spider")

NOT_PAGES = (".pdf", ".zip", ".gz", ".jpg", ".jpeg", ".png", ".gif", ".svg", ".webp", ".mp4", ".mp3", ".exe", ".dmg",
             ".css", ".js", ".xml", ".json", ".ico", ".woff", ".woff2")
LINK_BODY_MAX = 2 * 1024 * 1024  # bytes of a landing page scanned for links
RECORDED = ("ok", "partial")  # a visit that loaded: its links are sampled (a partial one is retried too)


def visit_key(url: str, phase: str = "initial") -> str:
    """The resume-ledger key of a visit: phase and URL (a URL is visited once per phase in a crawl)."""
    return f"{phase} {url}"


def internal_links(base_url: str, hrefs: Iterable[str], site: str) -> list[str]:
    """Distinct http(s) links of `site` found on a page (fragments dropped, the page itself and files excluded)."""
    base = urllib.parse.urldefrag(base_url)[0]
    out: set[str] = set()
    for href in hrefs:
        href = (href or "").strip()
        if not href or href.startswith(("javascript:", "mailto:", "tel:", "data:", "#")):
            continue
        try:
            url = urllib.parse.urldefrag(urllib.parse.urljoin(base, href))[0]
            parts = urllib.parse.urlsplit(url)
        except ValueError:
            continue
        if parts.scheme not in ("http", "https") or url == base or parts.path.lower().endswith(NOT_PAGES):
            continue
        if site_of(url) == site:
            out.add(url)
    return sorted(out)


def sample_links(links: list[str], n: int, seed: int, landing_url: str) -> list[str]:
    """`n` links chosen by a generator seeded with the crawl seed and the landing URL (reproducible)."""
    if n <= 0 or not links:
        return []
    digest = hashlib.sha256(f"{seed}\n{landing_url}".encode()).hexdigest()
    return random.Random(int(digest[:16], 16)).sample(sorted(links), min(n, len(links)))


class BrowserSpider(scrapy.Spider):
    """Visits `specs` (landing pages) and sampled internal pages; yields one VisitRecord per visit."""

    name = "browser"

    def __init__(self, specs: list[VisitSpec], *, pending: list[VisitSpec] = (), pages_per_site: int = 0,
                 seed: int = 0, evidence_dir: str | None = None, screenshots: bool = False, har: bool = False,
                 warc: bool = False, visit_settings: VisitSettings = VisitSettings(), profile_root: str | None = None,
                 skip_keys: Iterable[str] = (), retry_failed: int = 0, **kwargs: Any):
        super().__init__(**kwargs)
        self.specs = list(specs)
        self.pending = list(pending)
        self.pages_per_site = pages_per_site
        self.seed = seed
        self.evidence_dir = evidence_dir
        self.screenshots = screenshots
        self.har = har
        self.warc = warc  # --warc: each visit's traffic archived (crawler/collectors/archive.py)
        self.replay: ReplaySettings | None = None  # set by from_crawler from the run's settings
        self.user_profile: str | None = None  # a person's own Chromium profile copied per visit (mouchard me)
        self.visit_settings = visit_settings
        self.profile_root = profile_root
        self.scheduled: set[str] = set(skip_keys)  # keys done (resume ledger) or already requested
        self.retry_failed = retry_failed  # --retry-failed: tries of a page beyond its first, in the whole crawl
        self.collectors: list = []
        # second-site phase: each site's site A, the next site of the list (crawler/consent/sequences.py)
        self.prime_urls = prime_urls([s.url for s in [*self.pending, *self.specs] if s.depth == 0])

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        from scrapy.exceptions import NotConfigured

        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.replay = run_settings(crawler.settings).replay  # a replay: per-phase proxies (visit_request)
        spider.user_profile = run_settings(crawler.settings).browser.user_profile  # a person's own (mouchard me)
        for path in collector_paths(crawler.settings):
            factory = load_object(path)
            if not switched_on(crawler.settings, factory):  # its `switch` field is off in the run's settings
                continue
            try:
                spider.collectors.append(factory.from_crawler(crawler))
            except NotConfigured:  # a collector may switch itself off (Scrapy's convention)
                continue
        return spider

    def report_missing_dependencies(self) -> None:
        """What a collector needs and could not find (an npm package): one warning line and a crawl-level
        `failures` row each, so a crawl that ran without it says so."""
        missing = [(c.name, what) for c in self.collectors for what in c.missing_dependencies()]
        if not missing:
            return
        for name, what in missing:
            log.warning("warning: %s: %s", name, what)
            self.crawler.stats.inc_value("mouchard/collectors/missing_dependencies")
        db = db_of(self.settings)
        if db:
            with Store(db) as store, store.transaction() as tx:
                for name, what in missing:
                    store.record_failure(name, "missing-dependency", what, crawl_id=crawl_id_of(self.settings), tx=tx)

    async def start(self) -> AsyncIterator[scrapy.Request]:
        self.report_missing_dependencies()
        lone = {s.key for s in unpaired([*self.pending, *self.specs], self.prime_urls)}
        if lone:
            log.warning("warning: --second-site needs at least two sites in the list: no second-site visit")
        for spec in [*self.pending, *self.specs]:
            if spec.key in self.scheduled or spec.key in lone:
                continue
            self.scheduled.add(spec.key)
            yield self.visit_request(spec)

    # --- requests ----------------------------------------------------------------------------------------------
    def _evidence_paths(self, spec: VisitSpec) -> dict:
        if not self.evidence_dir or not (self.screenshots or self.har or self.warc):
            return {}
        stem = hashlib.sha256(spec.key.encode()).hexdigest()[:16]
        folder = os.path.join(self.evidence_dir, f"crawl-{crawl_id_of(self.settings) or 0}")
        os.makedirs(folder, exist_ok=True)
        paths = {}
        if self.screenshots:
            paths["screenshot"] = os.path.join(folder, f"{stem}.png")
        if self.har:
            paths["har"] = os.path.join(folder, f"{stem}.har")
        if self.warc:  # a name made from the visit key, never from page data (mouchard.archive.warc)
            from mouchard.archive.warc import warc_name

            # a retry gets a file of its own: the earlier try keeps its row, and its file must keep its hash
            key = spec.key if spec.attempt <= 1 else f"{spec.key} attempt {spec.attempt}"
            paths["warc"] = os.path.join(folder, warc_name(key))
        return paths

    def visit_request(self, spec: VisitSpec) -> scrapy.Request:
        profile = new_profile(self.profile_root, self.user_profile)
        evidence = self._evidence_paths(spec)
        context_kwargs: dict[str, Any] = {"user_data_dir": profile}
        if evidence.get("har"):
            context_kwargs.update(record_har_path=evidence["har"], record_har_content="omit")
        launch_args = self.settings.getdict("PLAYWRIGHT_LAUNCH_OPTIONS").get("args") or []
        if spec.phase == "gpc":  # GPC from Chromium itself: a launch flag of this visit's browser only
            context_kwargs["args"] = launch_args = gpc_launch_args(launch_args)
        phase_proxy = self.replay.proxy_for(spec.phase) if self.replay is not None else None
        if phase_proxy:  # a replay: the proxy port that serves this phase's captures first (ReplaySettings)
            context_kwargs["args"] = [*(arg for arg in launch_args if not str(arg).startswith("--proxy-server=")),
                                      f"--proxy-server={phase_proxy}"]
        name = f"visit-{hashlib.sha256(f'{spec.key} {spec.attempt} {profile}'.encode()).hexdigest()[:20]}"
        return scrapy.Request(
            spec.url, callback=self.visited, errback=self.failed, dont_filter=True,
            meta={
                "playwright": True,
                "playwright_include_page": True,
                "playwright_context": name,
                "playwright_context_kwargs": context_kwargs,
                "playwright_page_init_callback": self.init_page,
                "playwright_page_goto_kwargs": {"wait_until": "load",
                                                "timeout": self.visit_settings.timeout * 1000},
                "mouchard_spec": spec,
                "mouchard_profile": profile,
                "mouchard_evidence": evidence,
            })

    async def init_page(self, page, request: scrapy.Request) -> None:
        """scrapy-playwright's page-init callback: instrument the page before it navigates (second-site phase:
        first visit site A in the same page, uninstrumented, and reject there)."""
        spec: VisitSpec = request.meta["mouchard_spec"]
        settings = self.visit_settings
        if spec.phase in ("revoke", "second-site"):  # a sequence of clicks: the consent hook needs longer
            settings = replace(settings, hook_timeout=max(settings.hook_timeout, 22.0))
        priming = await self._prime(page, spec)
        run = VisitRun(spec, self.collectors, settings,
                       stats=self.crawler.stats, evidence=request.meta["mouchard_evidence"],
                       profile_dir=request.meta["mouchard_profile"])
        if priming is not None:
            run.visit.shared.priming = priming
            run.visit.shared.primed_jar = frozenset((e["domain"], e["name"], e["sha256"]) for e in priming["jar"])
        request.meta["mouchard_run"] = run
        await run.prepare(page)

    async def _prime(self, page, spec: VisitSpec) -> dict | None:
        """second-site: reject on site A in this page before B's visit (None for other phases, or no site A)."""
        url = self.prime_urls.get(spec.site) if spec.phase == "second-site" else None
        if url is None:
            return None
        await page.unroute_all(behavior="ignoreErrors")  # as VisitRun.prepare does: site A's requests go direct
        stem = hashlib.sha1(spec.key.encode("utf-8")).hexdigest()[:16] + f"-{spec.phase}"
        shots = Shots(os.path.join(self.evidence_dir, "banners") if self.evidence_dir else None, stem)
        try:
            return await asyncio.wait_for(prime(page, url, shots=shots, timeout=self.visit_settings.timeout),
                                          self.visit_settings.timeout + 20)
        except Exception as exc:  # a failed priming is said in B's steps; B is still visited
            self.crawler.stats.inc_value("mouchard/consent/second_site_priming_failed")
            return {"site_a": None, "url_a": url, "jar": [], "files": shots.files,
                    "steps": [{"step": "visit-a", "url": url, "verified": 0,
                               "verification": f"priming failed: {type(exc).__name__}"}]}

    # --- outcomes ----------------------------------------------------------------------------------------------
    async def _finish(self, run: VisitRun, **outcome: Any) -> VisitRecord:
        """End the visit; a bug of ours still closes the browser and becomes a row, not a lost visit."""
        try:
            return await run.finish(**outcome)
        except Exception as exc:
            self.crawler.stats.inc_value("mouchard/visits/internal_errors")
            self.logger.error("visit %s: %s", run.spec.url, exc, exc_info=True)
            await run.close()
            now = utcnow()
            spec = run.spec
            return VisitRecord(spec, {
                "key": spec.key, "url": spec.url, "site": spec.site, "tags": list(spec.tags), "phase": spec.phase,
                "depth": spec.depth, "status": "crashed",
                "reason": f"mouchard error: {type(exc).__name__}: {exc}"[:300],
                "started_at": run.visit.started_at or now, "finished_at": now, "attempt": spec.attempt},
                failures=list(run.failures))

    async def visited(self, response) -> AsyncIterator[Any]:
        run: VisitRun = response.meta["mouchard_run"]
        record = await self._finish(run, http_status=response.status)
        if run.spec.depth == 0 and self.pages_per_site > 0 and record.visit["status"] in RECORDED:
            body = response.body[:LINK_BODY_MAX]
            try:
                hrefs = scrapy.Selector(text=body.decode(response.encoding or "utf-8", "replace")).css(
                    "a::attr(href)").getall()
            except Exception:
                hrefs = []
            base = record.visit.get("final_url") or run.spec.url
            record.links = internal_links(base, hrefs, site_of(base))
            record.samples = sample_links(record.links, self.pages_per_site, self.seed, run.spec.url)
        yield record
        for request in self.retry(record):
            yield request
        for url in record.samples:
            for request in self.follow(run.spec, url):
                yield request

    def retry(self, record: VisitRecord) -> list[scrapy.Request]:
        """One more try of a visit that did not end ok, while --retry-failed allows (bounded per page)."""
        spec = record.spec
        if record.visit.get("status") == "ok" or spec.retry >= self.retry_failed:
            return []
        self.crawler.stats.inc_value("mouchard/visits/retried_failed")
        return [self.visit_request(replace(spec, attempt=spec.attempt + 1, retry=spec.retry + 1))]

    def follow(self, parent: VisitSpec, url: str) -> list[scrapy.Request]:
        spec = VisitSpec(key=visit_key(url, parent.phase), url=url, tags=parent.tags, phase=parent.phase, depth=1,
                         parent_key=parent.key)
        if spec.key in self.scheduled:
            return []
        self.scheduled.add(spec.key)
        return [self.visit_request(spec)]

    async def failed(self, failure) -> AsyncIterator[Any]:
        request = failure.request
        spec: VisitSpec = request.meta["mouchard_spec"]
        run: VisitRun | None = request.meta.get("mouchard_run")
        if run is None:  # the browser did not start: nothing was instrumented; one more try, then a row
            remove_profile(request.meta.get("mouchard_profile"))
            if spec.attempt == 1:
                self.crawler.stats.inc_value("mouchard/visits/retried")
                yield self.visit_request(replace(spec, attempt=2))
                return
            error = str(failure.value).splitlines()[0][:300] if str(failure.value) else type(failure.value).__name__
            now = utcnow()
            record = VisitRecord(spec, {
                "key": spec.key, "url": spec.url, "site": spec.site, "tags": list(spec.tags), "phase": spec.phase,
                "depth": spec.depth, "status": "crashed", "reason": f"browser did not start: {error}",
                "started_at": now, "finished_at": now, "attempt": spec.attempt})
            yield record
            for retry in self.retry(record):
                yield retry
            return
        record = await self._finish(run, error=failure.value)
        if record.visit["status"] == "crashed" and spec.attempt == 1:
            self.crawler.stats.inc_value("mouchard/visits/retried")
            yield self.visit_request(replace(spec, attempt=2))
            return
        yield record
        for retry in self.retry(record):
            yield retry
