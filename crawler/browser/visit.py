"""One visit from start to record: instrument the page before navigation, settle, leave, collect, close, classify.

scrapy-playwright creates the visit's browser (a persistent context on a fresh profile) and page, calls
`VisitRun.prepare` (its page-init callback) before `page.goto`, then the spider's callback or errback, which call
`VisitRun.finish`, which dwells on a loaded page (`--dwell`: scrolling and mouse movement, crawler/browser/dwell.py)
before the settle, and after the collectors' last reads of the live page leaves it as a person's tab does (to
about:blank: its hide and unload beacons are recorded) before they collect. Every step has a bound: CDP commands
and collector hooks have timeouts; a settled page whose renderer does not answer ends as `timeout` (its main
thread is blocked); a page that does not let go when left ends `partial`; and a watchdog kills the page's renderer
if the download handler itself hangs (with `--pages-per-site` it reads the landing page with `page.content()`,
which waits forever on a blocked main thread), so each visit ends as a row within its timeout plus fixed margins.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from crawler.browser.dwell import LEAVE_NAVIGATION, dwell, leave
from crawler.browser.profile import remove_profile
from crawler.browser.targets import TargetHub
from crawler.collectors.base import Evidence, VisitContext
from mouchard.decode.domains import site_of
from mouchard.storage.store import failure_row, utcnow

if TYPE_CHECKING:
    from playwright.async_api import Page

    from crawler.collectors.base import Collector

log = logging.getLogger("mouchard.visit")

STATUSES = ("ok", "partial", "timeout", "http-error", "dns-error", "tls-error", "crashed", "aborted")
POPUP_GRACE = 2.0  # seconds a popup may load (its requests are recorded) before we close it
RESPONSIVE_AFTER_LOAD = 3.0  # seconds a settled page's renderer may take to answer before it counts as blocked
UNRESPONSIVE = "page unresponsive after load (main thread blocked)"
CLOSE_TIMEOUT = 15.0
TITLE_MAX = 1000
LEAVE_COMPONENT = "leave"  # failures.component of a page that did not let go (see _leave)


def descendants() -> set[int]:
    """Process ids below this one (Chromium and its helpers), read now."""
    import psutil

    try:
        return {child.pid for child in psutil.Process().children(recursive=True)}
    except psutil.Error:
        return set()


def renderers_to_kill(processes: list, ours: set[int]) -> list[int]:
    """The renderer pids in a `SystemInfo.getProcessInfo` answer that are safe to SIGKILL: processes of our own
    browser only. Chromium reports id 0 for a renderer that is starting or already gone, and `kill(0)` would kill
    our own process group (the crawl itself, leaving its run `running`), `kill(-1)` every process we may signal:
    an id is killed only if it is a descendant of this process, read just before."""
    pids = []
    for process in processes:
        if not isinstance(process, dict) or process.get("type") != "renderer":
            continue
        pid = process.get("id")
        if isinstance(pid, int) and not isinstance(pid, bool) and pid > 1 and pid in ours:
            pids.append(pid)
    return pids


@dataclass(frozen=True)
class VisitSpec:
    """What to visit: the resume key and the page's identity in the crawl."""

    key: str
    url: str
    tags: tuple[str, ...] = ()
    phase: str = "initial"
    depth: int = 0
    parent_key: str | None = None
    attempt: int = 1
    retry: int = 0  # how many --retry-failed tries came before this one (0: not a retry)

    @property
    def site(self) -> str:
        return site_of(self.url)


@dataclass(frozen=True)
class VisitSettings:
    timeout: float = 30.0  # navigation, seconds
    # seconds on the page after load, scrolling and moving the mouse (late, scroll- and view-triggered traffic);
    # 0 here (a library default that adds nothing); `mouchard crawl` defaults to mouchard.commands.options.DEFAULT_DWELL
    dwell: float = 0.0
    settle: float = 3.0  # after load, at most this long waiting for the network to go quiet
    quiet: float = 0.75  # the network counts as quiet after this long without a new request
    hook_timeout: float = 10.0
    command_timeout: float = 5.0
    watchdog_margin: float = 12.0  # seconds past the navigation timeout before the renderer is killed


@dataclass
class VisitRecord:
    """A finished visit, as the pipelines get it: the visit row and its rows per table."""

    spec: VisitSpec
    visit: dict
    rows: dict[str, list[dict]] = field(default_factory=dict)
    links: list[str] = field(default_factory=list)  # internal links sampled for --pages-per-site
    samples: list[str] = field(default_factory=list)
    updates: list[tuple[str, int, dict]] = field(default_factory=list)  # (table, id, values) for older rows
    failures: list[dict] = field(default_factory=list)  # `failures` rows of this visit (collector errors)


_NET_ERROR = re.compile(r"net::(ERR_[A-Z_0-9]+)")


def classify_failure(message: str, timeout: float) -> tuple[str, str]:
    """(status, one-line reason) for a navigation that raised."""
    first = (message or "unknown error").strip().splitlines()[0][:300]
    code = _NET_ERROR.search(message or "")
    error = code.group(1) if code else ""
    if "Timeout" in first and "exceeded" in first:
        return "timeout", f"no load event within {timeout:g} s"
    if error in ("ERR_NAME_NOT_RESOLVED", "ERR_NAME_RESOLUTION_FAILED", "ERR_ADDRESS_UNREACHABLE"):
        return "dns-error", f"{error}: host not found"
    if error.startswith(("ERR_CERT", "ERR_SSL", "ERR_BAD_SSL")) or "certificate" in first.lower():
        return "tls-error", f"{error or first}: certificate or TLS handshake refused"
    if error == "ERR_TOO_MANY_REDIRECTS":
        return "http-error", "redirect loop (ERR_TOO_MANY_REDIRECTS)"
    if "download" in first.lower():
        return "aborted", "the page is a download (cancelled, not saved)"
    if "crash" in first.lower():
        return "crashed", "the page's renderer crashed"
    if "closed" in first.lower():
        return "crashed", "the browser closed during the visit"
    if error:
        return "aborted", f"{error}: navigation failed"
    return "aborted", first


class VisitRun:
    """The life of one visit; created in the page-init callback, ended by the spider's callback or errback."""

    def __init__(self, spec: VisitSpec, collectors: list["Collector"], settings: VisitSettings, *, stats=None,
                 evidence: dict | None = None, profile_dir: str | None = None,
                 on_hook_error=None):
        self.spec = spec
        self.settings = settings
        self.collectors = collectors
        self.profile_dir = profile_dir
        self.visit = VisitContext(key=spec.key, url=spec.url, site=spec.site, phase=spec.phase, depth=spec.depth,
                                  tags=spec.tags, timeout=settings.timeout, hook_timeout=settings.hook_timeout,
                                  stats=stats, logger=log)
        self.visit.evidence = Evidence.of(evidence)
        self._on_hook_error = on_hook_error
        self.dialogs = 0
        self.popups = 0
        self.downloads: list[str] = []
        self.watchdog_fired = False
        self.handler_done = False
        self._watchdog: asyncio.Task | None = None
        self._started = time.monotonic()
        self.failures: list[dict] = []  # one `failures` row per collector hook that raised or timed out

    def hook_error(self, name: str, hook: str, exc: BaseException) -> None:
        """A collector hook raised (or ran out of time): counted, logged, and a `failures` row of the visit."""
        self.visit.count(f"collectors/{name}/errors")
        message = str(exc).splitlines()[0][:200] if str(exc) else ""
        self.failures.append(failure_row(name, "collector-error", f"{hook}: {type(exc).__name__}: {message}"))
        log.warning("visit %s: %s.%s failed: %s", self.spec.url, name, hook, str(exc).splitlines()[0][:300]
                    if str(exc) else type(exc).__name__)
        if self._on_hook_error:
            self._on_hook_error(name, hook, exc)

    # --- before navigation -------------------------------------------------------------------------------------
    async def prepare(self, page: "Page") -> None:
        """Page created, not navigated: hook dialogs, popups, downloads, attach CDP, run before_navigation."""
        visit = self.visit
        visit.page, visit.context = page, page.context
        # scrapy-playwright routes every request through Python to override the first one's method and headers;
        # our requests are plain GETs with the browser's own headers, and interception would slow every request.
        await page.unroute_all(behavior="ignoreErrors")
        for other in list(page.context.pages):
            if other is not page:
                await other.close()
        page.on("dialog", self._dialog)
        page.on("download", self._download)
        page.context.on("page", self._popup)
        hub = TargetHub(visit, self.collectors, command_timeout=self.settings.command_timeout,
                        on_hook_error=self.hook_error)
        visit.hub = hub
        hub.on("Page.loadEventFired", self._loaded)
        cdp = await page.context.new_cdp_session(page)
        page_target = await hub.start(cdp)
        await page_target.send("Page.enable")
        for collector in self.collectors:
            await self._hook(collector, "before_navigation")
        visit.nav_start = time.monotonic()
        visit.started_at = utcnow()
        self._watchdog = asyncio.ensure_future(self._watch())

    def _loaded(self, target, params) -> None:
        if target is self.visit.hub.page and "load_ms" not in self.visit.timings:
            self.visit.timings["load_ms"] = self.visit.elapsed_ms()

    def _dialog(self, dialog) -> None:
        if dialog.type == "beforeunload":  # "leave this page?" while leaving: a person leaving confirms
            self.visit.count("visits/beforeunload_accepted")
            asyncio.ensure_future(_quietly(dialog.accept()))
            return
        self.dialogs += 1
        self.visit.count("visits/dialogs_dismissed")
        asyncio.ensure_future(_quietly(dialog.dismiss()))

    def _download(self, download) -> None:
        self.downloads.append(download.url)
        self.visit.count("visits/downloads_cancelled")
        asyncio.ensure_future(_quietly(download.cancel()))

    def _popup(self, popup) -> None:
        if popup is self.visit.page:
            return
        self.popups += 1
        self.visit.count("visits/popups_closed")
        popup.on("dialog", self._dialog)
        asyncio.ensure_future(self._close_popup(popup))

    async def _close_popup(self, popup) -> None:
        try:
            await asyncio.wait_for(popup.wait_for_load_state("load"), POPUP_GRACE)
        except Exception:
            pass
        await _quietly(popup.close())

    async def _watch(self) -> None:
        """If scrapy-playwright has not handed the page back long after the timeout, kill the renderer."""
        await asyncio.sleep(self.settings.timeout + self.settings.watchdog_margin)
        if self.handler_done or self.visit.context is None:
            return
        self.watchdog_fired = True
        self.visit.count("visits/watchdog_kills")
        try:
            browser = self.visit.context.browser
            session = await browser.new_browser_cdp_session()
            info = await asyncio.wait_for(session.send("SystemInfo.getProcessInfo"), 5)
            for pid in renderers_to_kill(info.get("processInfo", []), descendants()):
                os.kill(pid, signal.SIGKILL)
        except Exception as exc:
            log.warning("visit %s: watchdog could not kill the renderer: %s", self.spec.url, exc)
            await _quietly(self.visit.context.close())

    async def _hook(self, collector: "Collector", hook: str):
        try:
            return await asyncio.wait_for(getattr(collector, hook)(self.visit), self.settings.hook_timeout)
        except Exception as exc:
            self.hook_error(collector.name, hook, exc)
            return None

    # --- after navigation --------------------------------------------------------------------------------------
    async def finish(self, *, http_status: int | None = None, error: BaseException | None = None) -> VisitRecord:
        """Settle, run after_load and collect, close the browser, and build the visit row."""
        self.handler_done = True
        if self._watchdog is not None:
            self._watchdog.cancel()
        visit = self.visit
        nav_ms = visit.elapsed_ms()
        if error is not None:
            visit.status, visit.reason = classify_failure(str(error), self.settings.timeout)
            if self.watchdog_fired:
                visit.status, visit.reason = "timeout", UNRESPONSIVE
            elif self.downloads and visit.status == "aborted":
                visit.reason = f"the page is a download (cancelled, not saved): {self.downloads[0][:200]}"
        else:
            visit.status = "ok"
        visit.timings.setdefault("nav_ms", nav_ms)
        if visit.status == "ok" or (visit.status == "http-error" and error is None):
            await self._dwell()
            await self._settle()
            # A page that blocks its main thread after load: collectors could read nothing, the visit says so.
            if visit.hub is not None and visit.hub.page is not None:
                await self._probe_renderer(RESPONSIVE_AFTER_LOAD)
                if not visit.responsive:
                    visit.status, visit.reason = "timeout", UNRESPONSIVE
        elif visit.hub is not None and visit.hub.page is not None:
            await self._probe_renderer()
        for collector in self.collectors:
            await self._hook(collector, "after_load")
        if visit.hub is not None:
            await visit.hub.drain(1.0)
        # What needs the live page is read now: collectors' snapshots, then the page's own facts; then the tab
        # leaves the page (its hide and unload beacons are this visit's requests) and the collectors collect.
        for collector in self.collectors:
            await self._hook(collector, "before_leave")
        final_url, title = await self._page_facts()
        if error is None:  # a failed navigation left no page of the site to leave
            await self._leave()
        rows: dict[str, list[dict]] = {}
        for collector in self.collectors:
            produced = await self._hook(collector, "collect") or {}
            for table, table_rows in produced.items():
                if collector.tables and table not in collector.tables:
                    self.hook_error(collector.name, "collect", ValueError(f"undeclared table {table}"))
                    continue
                for row in table_rows:  # whose row it is: a row the store refuses is that collector's failure
                    row["_collector"] = collector.name
                rows.setdefault(table, []).extend(table_rows)
        main_status = self._main_status()
        status = http_status if http_status is not None else main_status
        if error is None and status is not None and status >= 400:
            visit.status, visit.reason = "http-error", f"HTTP {status}"
        if visit.status == "ok" and self.dialogs:
            visit.reason = f"{self.dialogs} dialog(s) dismissed"
        if visit.status == "ok" and self.failures:
            visit.status, visit.reason = "partial", partial_reason(self.failures)
        await self.close()
        finished = time.monotonic()
        row = {
            "key": self.spec.key, "url": self.spec.url, "final_url": final_url, "site": self.spec.site,
            "final_site": site_of(final_url) if final_url else None, "tags": list(self.spec.tags),
            "phase": self.spec.phase, "depth": self.spec.depth, "status": visit.status, "reason": visit.reason,
            "http_status": status, "title": title, "started_at": visit.started_at or utcnow(),
            "finished_at": utcnow(), "load_ms": visit.timings.get("load_ms"),
            "duration_ms": int((finished - visit.nav_start) * 1000), "attempt": self.spec.attempt,
            "dwell_ms": visit.timings.get("dwell_ms", 0), "leave_ms": visit.timings.get("leave_ms"),
        }
        if self.popups:
            visit.count("visits/with_popups")
        return VisitRecord(self.spec, row, rows, failures=list(self.failures))

    async def _dwell(self) -> None:
        """Stay on the loaded page `dwell` seconds from its load event, scrolling and moving the mouse (real input
        events); a page that stops answering ends it early (the renderer probe after the settle then says so)."""
        visit, seconds = self.visit, self.settings.dwell
        if seconds <= 0 or visit.page is None or visit.page.is_closed() or visit.hub is None \
                or visit.hub.page is None:
            return
        loaded_at = visit.nav_start + visit.timings.get("load_ms", visit.elapsed_ms()) / 1000
        # The handler's own time after load counts, but a slow handler does not cancel the gestures: at least a
        # second (or the whole dwell if shorter) is spent scrolling and moving the mouse.
        left = max(seconds - (time.monotonic() - loaded_at), min(seconds, 1.0))
        target = visit.hub.page

        async def send(method: str, params: dict) -> dict:
            return await target.send(method, params, timeout=self.settings.command_timeout)

        result = await dwell(visit.page, send, left, seed=self.spec.key)
        visit.timings["dwell_ms"] = int((time.monotonic() - loaded_at) * 1000)
        visit.count("visits/dwell_scroll_steps", result.steps_down + result.steps_up)
        if not result.completed:
            visit.count("visits/dwell_interrupted")
            log.debug("visit %s: dwell ended early (page not answering)", self.spec.url)

    async def _leave(self) -> None:
        """Leave the loaded page as a person's tab does (crawler/browser/dwell.py `leave`), then wait for the network
        to be quiet and for the handlers' background work. Only a page that loaded and still answers is left; a page
        that does not let go is a `failures` row and a `partial` visit, and counts as unresponsive from then on."""
        visit = self.visit
        if visit.status not in ("ok", "http-error") or not visit.responsive or visit.page is None \
                or visit.page.is_closed() or visit.hub is None or visit.hub.page is None:
            return
        target = visit.hub.page

        async def send(method: str, params: dict) -> dict:
            return await target.send(method, params, timeout=LEAVE_NAVIGATION)

        result = await leave(visit.page, send, activity=lambda: len(visit.requests))
        visit.timings["leave_ms"] = result.ms
        if result.left:
            visit.count("visits/left")
            await visit.hub.drain(1.0)
            return
        visit.count("visits/leave_failed")
        visit.unresponsive = True  # its renderer is stuck in a handler: collectors read nothing more
        self.failures.append(failure_row(LEAVE_COMPONENT, "leave-failed", result.reason or "leaving the page failed"))
        log.warning("visit %s: %s", self.spec.url, result.reason)

    async def _settle(self) -> None:
        """Let the page's after-load traffic happen: until the network is quiet (`quiet` seconds without a new
        request since the load event; after a dwell that may already be so), at most `settle` seconds."""
        start, visit = time.monotonic(), self.visit
        loaded_at = visit.nav_start + visit.timings.get("load_ms", visit.elapsed_ms(start)) / 1000
        while True:
            now = time.monotonic()
            if now - start >= self.settings.settle:
                break
            rows = visit.requests
            last = max(loaded_at, visit.nav_start + rows[-1]["time_ms"] / 1000) if rows else loaded_at
            if now - last >= self.settings.quiet:
                break
            await asyncio.sleep(0.1)
        self.visit.timings["settle_ms"] = int((time.monotonic() - start) * 1000)

    async def _probe_renderer(self, timeout: float = 1.0) -> None:
        """Can the page's renderer still answer (after a failed navigation, or once settled)? Collectors skip it if
        not."""
        try:
            await self.visit.hub.page.send("Runtime.evaluate", {"expression": "0", "returnByValue": True},
                                           timeout=timeout)
        except Exception:
            self.visit.unresponsive = True
            self.visit.count("visits/unresponsive_renderer")

    def _main_status(self) -> int | None:
        network = self.visit.shared.network
        return network.main_status() if network is not None else None

    async def _page_facts(self) -> tuple[str | None, str | None]:
        page = self.visit.page
        if page is None or page.is_closed():
            return None, None
        final_url = page.url if page.url and page.url != "about:blank" else None
        title = None
        if self.visit.unresponsive:
            return final_url, title
        try:  # Playwright reads the title in its own isolated world: the page sees nothing
            title = (await asyncio.wait_for(page.title(), 2.0))[:TITLE_MAX] or None
        except Exception:
            pass
        return final_url, title

    async def close(self) -> None:
        """Close the visit's browser (persistent context) and delete its profile."""
        if self._watchdog is not None:
            self._watchdog.cancel()
        if self.visit.hub is not None:
            self.visit.hub.close()
        if self.visit.context is not None:
            try:
                await asyncio.wait_for(self.visit.context.close(), CLOSE_TIMEOUT)
            except Exception as exc:
                self.visit.count("visits/close_failed")
                log.warning("visit %s: closing the browser failed: %s", self.spec.url, exc)
        # Hundreds of small files: deleted in a thread, not on the event loop that drives the other visits, and not
        # waited for: the next visit need not wait for the disk (the run's profile folder is removed whole at its
        # end, with whatever a thread has not deleted yet).
        asyncio.get_running_loop().run_in_executor(None, remove_profile, self.profile_dir)


def partial_reason(failures: list[dict]) -> str:
    """The reason of a `partial` visit: a page that did not let go (its detail), and which collectors failed
    (details in `failures`)."""
    left = [f["detail"] for f in failures if f["component"] == LEAVE_COMPONENT][:1]
    names = sorted({f["component"] for f in failures if f["component"] != LEAVE_COMPONENT})
    return "; ".join([*left, *([f"collector(s) failed: {', '.join(names)}"] if names else [])])[:300]


async def _quietly(awaitable: Any) -> None:
    try:
        await awaitable
    except Exception:
        pass
