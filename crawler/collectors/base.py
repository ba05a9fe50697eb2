"""The collector interface: how page-side instrumentation plugs into a browser visit.

A collector records one kind of fact during a visit (requests, cookies, storage, fingerprinting calls, consent...)
through the DevTools protocol (CDP), never through page-side scripts a site could see. The browser spider builds
the collectors listed in the `MOUCHARD_COLLECTORS` setting (ordered, import paths; by default every collector of
this package with an integer `order`, in that order: crawler/collectors/__init__.py) once per crawl with
`from_crawler(crawler)` (a `switch` class attribute names the CollectorSettings field that turns it off), and for
every visit calls, in order:

1. `attach(visit, target)` for the page and then for every target the browser auto-attaches (out-of-process
   iframes, dedicated/shared/service workers) *while that target waits for the debugger*: enable domains, set
   breakpoints here and nothing scripted runs before you are done. Return quickly: the target is paused. The
   collectors' attach hooks of one target run concurrently (their commands are pipelined): do not rely on another
   collector's attach having finished.
2. `before_navigation(visit)` once the page's CDP session is ready, before `page.goto`.
3. `after_load(visit)` when the page has loaded and settled (or timed out: look at `visit.status`).
4. `before_leave(visit)` after every collector's `after_load`, while the page is still there: read here what needs
   the live page (DOM, storage, page-side state, a screenshot). The tab then leaves the page as a person's does
   (crawler/browser/dwell.py `leave`: `visibilitychange` to hidden, `pagehide`, `unload`; the beacons sent then
   are recorded), so in `collect` the page is about:blank; the browser context (cookie jar) is still there.
5. `collect(visit)` before the browser closes: return rows per table,
   `{"cookies": [{...}, ...], "js_calls": [...]}`. Rows omit `id` and `visit_id` (the pipeline fills them).

Every hook has a default that does nothing, so a collector overrides only what it needs. A hook that raises is
logged, counted in stats (`mouchard/collectors/<name>/errors`) and the visit goes on; a hook that takes longer
than `visit.hook_timeout` seconds is abandoned the same way (a page that blocks its main thread must not hang
the crawl). CDP calls go through `target.send()`, which has its own timeout. Nothing of it is silent: each such
failure, and each group of a collector's rows the store refuses, is a `failures` row of the visit (component =
the collector's name, kind `collector-error`), and a visit that would have been `ok` is `partial` instead.
A collector that runs without something it needs (an npm package) says so in `missing_dependencies()`: the
spider warns once and records a crawl-level `failures` row (kind `missing-dependency`).

Rows may reference rows of other tables of the same visit before they have ids: give a row a `"_ref"` key
(any hashable, unique within its table) and put `Ref(table, ref)` as the value of an id column elsewhere, e.g.
`{"request_id": Ref("requests", request_ref)}`. The pipeline inserts `requests` first, then the other tables in
collector order, and replaces each `Ref` by the row id (an unknown ref becomes NULL and is counted). Other
private keys: `"_body": bytes` on a `requests` row (stored in `bodies` by hash, sets post_body_sha256/size);
`"_path": str` on an `evidence_files` row (hashed and stored relative to the evidence folder).

CDP events: `visit.on("Network.requestWillBeSent", handler)` calls `handler(target, params)` for that event from
*every* attached target (page, iframes, workers); handlers may be plain functions or coroutines. Subscribe in
`attach` or `before_navigation`. Debugger pauses are shared: register with `visit.on_pause(handler)`; every
handler sees each `Debugger.paused` (as `handler(target, params)`, awaited in registration order) and the core
resumes the target once, after the last handler. Never call `Debugger.resume` yourself.

API hooks before any page script: `visit.on_new_context(handler)` calls `await handler(target, context,
call_frame)` for every main-world JavaScript context of the page and its frames (a new document, a same-process
iframe), while it is paused at its first script statement (DevTools' "script first statement" instrumentation
breakpoint, set by the hub on page and iframe targets once a collector asks). Resolve the functions to watch
with `Runtime.evaluate({"expression": "document", "contextId": context["id"]})` and `Runtime.getProperties` on
the prototype chain (no page function runs: a page cannot see or spoof it), then
`Debugger.setBreakpointOnFunctionCall`; your `on_pause` handler sees the hits (`params["hitBreakpoints"]`).
`target.script_url(call_frames)` names the calling script (script ids are tracked per target) and
`target.context_of(call_frames)` its context. Evaluating `arguments` is not possible at a native-function
breakpoint (the top frame is the caller's); read state with `Debugger.evaluateOnCallFrame` instead.

Shared state: what one collector hands another is a typed field of `visit.shared` (crawler/collectors/state.py
says who writes and who reads each); a collector's own per-visit state is `visit.own(ItsClass, factory)`.

Time: `visit.elapsed_ms()` is milliseconds since navigation start, the unit of every `*_ms` column. The first
party is `visit.site` (registrable domain of the requested URL); `visit.third_party(url_or_host)` applies the
project's rule (`mouchard.decode.domains.is_third_party`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from crawler.collectors.state import Evidence, Shared
from mouchard.decode.domains import is_third_party, site_of

if TYPE_CHECKING:
    from playwright.async_api import BrowserContext, Page
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

    from crawler.browser.targets import Target, TargetHub

EventHandler = Callable[["Target", dict], "Awaitable[None] | None"]
Rows = dict[str, list[dict]]


@dataclass(frozen=True)
class Ref:
    """A reference to another row of the same visit, resolved to its id when the visit is stored."""

    table: str
    ref: Any


@dataclass
class VisitContext:
    """What a collector sees of one visit: identity, the browser objects, CDP targets, timings, rows so far."""

    key: str  # visits.key: the resume ledger entry
    url: str  # URL requested
    site: str  # registrable domain of `url`: the first party
    phase: str = "initial"  # consent phase (initial, reject, accept, gpc)
    depth: int = 0
    tags: tuple[str, ...] = ()
    timeout: float = 30.0  # navigation timeout, seconds
    hook_timeout: float = 10.0  # budget of one collector hook, seconds
    page: "Page | None" = None
    context: "BrowserContext | None" = None
    hub: "TargetHub | None" = None  # the CDP sessions: page first, then auto-attached targets
    stats: "StatsCollector | None" = None
    logger: logging.Logger = field(default_factory=lambda: logging.getLogger("mouchard.visit"))
    nav_start: float = field(default_factory=time.monotonic)  # monotonic seconds at navigation start
    started_at: str = ""  # UTC ISO time of navigation start
    timings: dict[str, int] = field(default_factory=dict)  # e.g. load_ms, settle_ms
    status: str = "ok"  # may change to timeout, http-error... before after_load/collect run
    reason: str | None = None
    final_url: str | None = None
    requests: list[dict] = field(default_factory=list)  # request rows captured so far (network collector)
    evidence: Evidence = field(default_factory=Evidence)
    # the page's renderer stopped answering (a script blocks its main thread); set by the visit, read via responsive
    unresponsive: bool = False
    shared: Shared = field(default_factory=Shared)  # what collectors hand each other, typed
    _own: dict[Any, Any] = field(default_factory=dict, repr=False)

    @property
    def responsive(self) -> bool:
        """False when the page's renderer stopped answering (a script blocks its main thread): collectors should
        then skip CDP calls that need the renderer (DOM, storage reads, evaluations) and keep browser-side ones."""
        return not self.unresponsive

    def own(self, key: Any, factory: Callable[[], Any]) -> Any:
        """A collector's private state for this visit, made by `factory()` on first use; `key` is the collector's
        class (no string keys: two collectors cannot collide)."""
        if key not in self._own:
            self._own[key] = factory()
        return self._own[key]

    def has_own(self, key: Any) -> bool:
        """Whether `own(key, ...)` was called in this visit (the collector ran)."""
        return key in self._own

    # --- time and parties ------------------------------------------------------------------------------------
    def elapsed_ms(self, monotonic: float | None = None) -> int:
        """Milliseconds from navigation start to now (or to a `time.monotonic()` value)."""
        return int(((time.monotonic() if monotonic is None else monotonic) - self.nav_start) * 1000)

    def third_party(self, url_or_host: str) -> bool:
        return is_third_party(url_or_host, self.site)

    @staticmethod
    def site_of(url_or_host: str) -> str:
        return site_of(url_or_host)

    # --- CDP -------------------------------------------------------------------------------------------------
    @property
    def targets(self) -> list["Target"]:
        """Every target attached so far, the page first (detached ones included: their events were kept)."""
        return self.hub.targets if self.hub else []

    @property
    def page_target(self) -> "Target":
        assert self.hub is not None, "no CDP session yet"
        return self.hub.page

    def on(self, method: str, handler: EventHandler) -> None:
        """Call `handler(target, params)` for CDP event `method` from every attached target."""
        assert self.hub is not None, "subscribe in attach() or before_navigation()"
        self.hub.on(method, handler)

    def on_pause(self, handler: EventHandler) -> None:
        """Call `handler(target, params)` on every `Debugger.paused`; the core resumes after all handlers."""
        assert self.hub is not None, "subscribe in attach() or before_navigation()"
        self.hub.on_pause(handler)

    def on_new_context(self, handler) -> None:
        """`await handler(target, context, call_frame)` for each page or frame main-world JavaScript context, while
        it is paused before its first script runs: the place to set `Debugger.setBreakpointOnFunctionCall` hooks."""
        assert self.hub is not None, "subscribe in attach() or before_navigation()"
        self.hub.on_new_context(handler)

    def count(self, key: str, n: int = 1) -> None:
        """Increment stats key `mouchard/<key>`."""
        if self.stats is not None:
            self.stats.inc_value(f"mouchard/{key}", n)


class Collector:
    """One kind of fact recorded during a visit. Subclass, set `name`, override the hooks you need."""

    name: str = "collector"
    # On by default, in this order among the others (crawler/collectors/__init__.py `discover`); None: only when
    # listed in MOUCHARD_COLLECTORS
    order: int | None = None
    # The CollectorSettings field that turns it off (crawler/settings.py `switched_on`); None: always on
    switch: str | None = None
    # Tables whose rows `collect` may return; the pipeline refuses others (a typo must not vanish silently).
    tables: tuple[str, ...] = ()

    @classmethod
    def from_crawler(cls, crawler: "Crawler") -> "Collector":
        """Build once per crawl; read settings from `crawler.settings` (raise NotConfigured to switch off)."""
        return cls()

    async def attach(self, visit: VisitContext, target: "Target") -> None:
        """A target (page, iframe, worker) is attached and paused before its first script."""

    async def before_navigation(self, visit: VisitContext) -> None:
        """The page's CDP session is ready; the page has not navigated yet."""

    async def after_load(self, visit: VisitContext) -> None:
        """The page loaded and settled (or the navigation failed: see `visit.status`)."""

    async def before_leave(self, visit: VisitContext) -> None:
        """The page is still loaded, about to be left: read what needs the live page (collect comes after)."""

    async def collect(self, visit: VisitContext) -> Rows:
        """Rows per table for this visit, gathered after the page was left, before the browser closes."""
        return {}

    def missing_dependencies(self) -> list[str]:
        """One line per thing this collector needs and did not find (it runs without): asked once per crawl."""
        return []
