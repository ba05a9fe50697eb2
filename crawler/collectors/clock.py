"""PinClock: a replayed visit's page clock starts at the archived visit's capture time (`mouchard audit --replay`).

On only in a replay (`RunSettings.replay`), and for a visit whose phase and URL were archived
(`ReplaySettings.capture_time`): every document of the visit's pages and iframes first runs
`mouchard.archive.clock.clock_script(offset_ms)` (`Page.addScriptToEvaluateOnNewDocument`, before any page script;
CSP does not apply), so `Date.now()`, `new Date()` and `Date()` read the capture time plus the time spent in the
visit; timers, `performance` and `Math.random` are left alone. Workers get the same script through
`Runtime.evaluate` while they wait for the debugger (a worker that starts before we are attached, as Playwright
sometimes resumes dedicated workers, may run its first instants on the real clock). The offset is computed once
per visit, from the first target attached, and the visit counts it (`mouchard/clock/pinned`, the offsets' range
in `mouchard/clock/offset_ms_min` / `_max`).

Order: the call recorder (crawler/collectors/calls.py) keeps the `Date.now` it finds for its call times: it must
find the real one, or every `js_calls.time_ms` of a replay is off by the offset (measured: -92 507 812 554 ms).
So the page target's script is registered in `before_navigation`, when every collector's `attach` of the page
(the recorder's script among them) is done: the recorder's script runs first in each document, then the clock's,
then the page's. Out-of-process iframes and workers exist only in `attach`, whose hooks run side by side: there the
clock's command is the collector's first (order 120, before the recorder's 150), so in those the recorder's times
are shifted (a known limit: see docs/archive.md).
"""

from __future__ import annotations

import datetime as dt
import time
from typing import TYPE_CHECKING, Any

from crawler.collectors.base import Collector, VisitContext
from mouchard.archive.clock import OFFSET_MAX_MS, clock_script

if TYPE_CHECKING:
    from crawler.browser.targets import Target

DOCUMENT_TARGETS = ("page", "iframe")
WORKER_TARGETS = ("worker", "shared_worker", "service_worker")


def capture_epoch_ms(when: str) -> int | None:
    """An ISO 8601 capture time ('2024-01-02T03:04:05Z', offsets and fractions allowed) as epoch milliseconds;
    None when it is not one (a naive time counts as UTC)."""
    if not isinstance(when, str) or not 0 < len(when) <= 64:
        return None
    text = when.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return int(moment.timestamp() * 1000)


def clock_offset_ms(when: str, now_ms: int) -> int | None:
    """Milliseconds to add to the real clock so that it reads `when` at `now_ms`; None for a time that is not one
    or lies implausibly far (mouchard.archive.clock.OFFSET_MAX_MS, which `clock_script` refuses)."""
    epoch = capture_epoch_ms(when)
    if epoch is None:
        return None
    offset = epoch - now_ms
    return offset if abs(offset) <= OFFSET_MAX_MS else None


class PinClock(Collector):
    """The replayed visit's page clock set to its capture time (see the module docstring)."""

    name = "clock"
    order = 120  # among the first: in an out-of-process iframe its script runs before any page script
    tables = ()

    def __init__(self, replay: Any = None):
        self.replay = replay

    @classmethod
    def from_crawler(cls, crawler: Any) -> "PinClock":
        """On only when the run replays an archive (`RunSettings.replay`)."""
        from scrapy.exceptions import NotConfigured

        from crawler.settings import run_settings

        replay = run_settings(crawler.settings).replay
        if replay is None:
            raise NotConfigured("the run replays no archive")
        return cls(replay)

    def script(self, visit: VisitContext) -> str | None:
        """This visit's clock script (None: no archived twin, the real clock stays), made once per visit."""
        return visit.own(PinClock, lambda: self._script(visit))

    def _script(self, visit: VisitContext) -> str | None:
        when = self.replay.capture_time(visit.phase, visit.url) if self.replay is not None else None
        if when is None:
            visit.count("clock/not_archived")
            return None
        offset = clock_offset_ms(when, int(time.time() * 1000))
        if offset is None:
            visit.count("clock/bad_capture_time")
            return None
        try:
            source = clock_script(offset)
        except ValueError:
            visit.count("clock/bad_capture_time")
            return None
        visit.count("clock/pinned")
        if visit.stats is not None:
            visit.stats.min_value("mouchard/clock/offset_ms_min", offset)
            visit.stats.max_value("mouchard/clock/offset_ms_max", offset)
        return source

    async def attach(self, visit: VisitContext, target: "Target") -> None:
        # The page's own target is done in before_navigation (see there); an out-of-process iframe or a worker
        # exists only here, paused until the attach hooks are done.
        if target.type not in ("iframe", *WORKER_TARGETS):
            return
        source = self.script(visit)
        if source is None:
            return
        if target.type == "iframe":
            await target.send("Page.addScriptToEvaluateOnNewDocument", {"source": source})
        else:
            await target.send("Runtime.evaluate", {"expression": source, "silent": True})

    async def before_navigation(self, visit: VisitContext) -> None:
        """The page's documents (and its same-process iframes'): registered once every collector's attach hook of
        the page is done, so after the call recorder's script and before any page script (nothing has loaded)."""
        source = self.script(visit)
        if source is not None and visit.hub is not None and visit.hub.page is not None:
            await visit.hub.page.send("Page.addScriptToEvaluateOnNewDocument", {"source": source})
