"""Dwell: stay on a loaded page for a while as a person would, scrolling to the bottom and back, moving the mouse.

Trackers fire late: on timers, when the reader scrolls deep, when an ad slot comes into view, on the first mouse
movement. A visit that ends as soon as the network is quiet after load never sees those requests. `dwell` spends
`seconds` on the page: a short look at the top, the page scrolled to the bottom in wheel steps (about 80 % of a
screen each) with pauses, a pause at the bottom, back to the top in fewer steps, and small mouse movements
between steps until the time is up.

Invisible to the page: the input is real input (Playwright's mouse, i.e. CDP `Input.dispatchMouseEvent`: trusted
`wheel`, `scroll` and `mousemove` events, as a person's), and the page's size is read with CDP
`Page.getLayoutMetrics` (no script runs in the page). Bounded: at most `MAX_STEPS` wheel steps each way, every
input and CDP call has a timeout, and a page that stops answering (main thread blocked) ends the dwell early,
which the caller sees as `DwellResult.completed` False. The bare baseline of benchmarks/crawl.py is to call this
same function (with a CDP session of its own), so both sides spend the same time and make the same gestures.

Leave: analytics send their last batch when the reader goes (GA4's engagement time, posthog-js and rrweb flushing
on `visibilitychange` to hidden and `pagehide`, `navigator.sendBeacon` or `fetch(..., {keepalive: true})`). A
visit that closes the browser under a page never sees those. `leave` navigates the tab to about:blank (CDP
`Page.navigate`, browser-initiated like a typed address: no script runs in the page), so Chromium runs the page's
`beforeunload`, `visibilitychange` (hidden), `pagehide` and `unload` handlers, then waits until the network is
quiet (as the settle). Chromium 156 runs those handlers, by default, in the old document *after* the new one
committed (RenderDocument: a new frame host per document), when the DevTools session has already moved on: the
beacons reach the server but no CDP event names them. Started with `--disable-features=RenderDocument`
(`leave_launch_args`), the same frame host unloads the page before the commit and the session sees every request
with its initiator. Checked, and not enough: `Page.setWebLifecycleState` frozen (the page stays visible: nothing
fires), another tab brought to front (headless pages stay visible), closing the page with `runBeforeUnload` (the
handlers run, the session is gone with the page).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.async_api import Page

MAX_STEPS = 30  # wheel steps each way: an endless page (infinite scroll) stops here
STEP_SHARE = 0.8  # of the viewport's height per wheel step, so every part of the page is on screen once
CALL_TIMEOUT = 2.0  # seconds one input event or CDP call may take before the page counts as unresponsive
PAUSE_MAX = 1.5  # seconds between two steps at most: a long dwell reads the page, it does not stare at it

LEAVE_NAVIGATION = 3.0  # seconds the page may take to let go (its beforeunload/pagehide/unload handlers run)
# Then the answers to what the page sent while leaving: the hide and unload handlers run before the blank page
# commits and the old document runs nothing after, so every request is already made; this short quiet lets their
# answers (status, cookies) arrive.
LEAVE_QUIET = 0.3
LEAVE_LIMIT = 2.0  # and the wait for quiet ends after this long in any case
# Features Playwright 1.65's launcher disables with its own `--disable-features`; Chromium keeps only the last
# such flag, so ours repeats them (tests/test_crawler_dwell.py checks the list against the installed driver).
PLAYWRIGHT_DISABLED_FEATURES = (
    "AvoidUnnecessaryBeforeUnloadCheckSync", "DestroyProfileOnBrowserClose", "HttpsUpgrades",
    "HttpsFirstBalancedModeAutoEnable", "LensOverlay", "MediaRouter", "PaintHolding", "ThirdPartyStoragePartitioning",
    "AvoidCorsURLLoaderRestartOnRedirect", "TcpPortRandomizationWin", "OptimizationHints",
    "NetworkTimeServiceQuerying", "AimEnabled", "PreconnectToSearch", "msForceBrowserSignIn",
    "msEdgeUpdateLaunchServicesPreferredVersion")
LEAVE_FEATURE = "RenderDocument"  # off: the page unloads in the frame host DevTools is attached to (see above)

Send = Callable[[str, dict], Awaitable[dict]]


@dataclass
class DwellResult:
    """What the dwell did: wheel steps down and up, mouse moves, whether it reached the bottom, and whether it ran
    to its end (False: the page stopped answering)."""

    steps_down: int = 0
    steps_up: int = 0
    mouse_moves: int = 0
    reached_bottom: bool = False
    completed: bool = True


async def dwell(page: "Page", send: Send, seconds: float, *, seed: str = "") -> DwellResult:
    """Spend `seconds` on `page`: scroll to the bottom and back in wheel steps, small mouse movements; `send` runs
    one CDP command on the page's session (for its size). Returns early only if the page stops answering."""
    result = DwellResult()
    if seconds <= 0:
        return result
    rng = random.Random(f"dwell:{seed}")  # the same page gets the same gestures: crawls are reproducible
    deadline = time.monotonic() + seconds
    try:
        # the way back up may run past the dwell (a few steps); anything longer is a page that stopped answering
        await asyncio.wait_for(_gestures(page, send, seconds, deadline, rng, result), seconds + 3 * CALL_TIMEOUT)
    except Exception:  # noqa: BLE001 - timed out, or a closed, crashed or blocked page: the caller probes it
        result.completed = False
    return result


async def _gestures(page: "Page", send: Send, seconds: float, deadline: float, rng: random.Random,
                    result: DwellResult) -> None:
    # The dwell's time line, in shares of it: down to the bottom by 45 %, a pause there until 55 %, back to the top
    # by 75 %, then reading with the mouse moving a little. Pauses between steps spread each phase over its share
    # (input and CDP calls take time too: the pace is measured, not assumed), so short dwells scroll fast and long
    # ones at a reading pace; a phase that runs late only loses its pauses.
    start = time.monotonic()
    down_by, bottom_until, up_by = (start + seconds * share for share in (0.45, 0.55, 0.75))
    metrics = await _metrics(send)
    width, height = metrics["width"], metrics["height"]
    x, y = width * rng.uniform(0.3, 0.7), height * rng.uniform(0.3, 0.6)
    await _call(page.mouse.move(x, y, steps=rng.randint(4, 10)))
    result.mouse_moves += 1
    step = height * STEP_SHARE
    await _sleep(min(seconds * 0.05, PAUSE_MAX), deadline)  # a look at the top of the page first
    for _ in range(MAX_STEPS):
        if metrics["remaining"] <= 1:
            result.reached_bottom = True
            break
        if time.monotonic() >= deadline:  # a page too long for the dwell: the time is spent, stop where we are
            break
        await _call(page.mouse.wheel(0, round(step * rng.uniform(0.85, 1.0))))
        result.steps_down += 1
        x, y = await _jiggle(page, x, y, width, height, rng, result)
        metrics = await _metrics(send)  # lazy content makes the page longer: measured again at every step
        await _pace(down_by, metrics["remaining"] / step + 1, deadline)
    await _sleep(bottom_until - time.monotonic(), deadline)  # at the bottom, as a reader at the end of an article
    # Back up even if the dwell is over: a few large steps (MAX_STEPS at most), so the page sees the reader return.
    for _ in range(MAX_STEPS):
        if metrics["top"] <= 1:
            break
        await _call(page.mouse.wheel(0, -round(min(metrics["top"], height * 1.5))))
        result.steps_up += 1
        metrics = await _metrics(send)
        await _pace(up_by, metrics["top"] / (height * 1.5) + 1, deadline)
    for _ in range(int(seconds / 0.3) + 1):  # the rest of the dwell: the mouse moves a little now and then
        if time.monotonic() >= deadline:
            break
        x, y = await _jiggle(page, x, y, width, height, rng, result)
        await _sleep(rng.uniform(0.3, 0.8), deadline)


async def _pace(phase_end: float, steps_left: float, deadline: float) -> None:
    """The pause before the next step: the phase's time left shared by its steps left (none when late)."""
    await _sleep(min((phase_end - time.monotonic()) / max(steps_left, 1.0), PAUSE_MAX), deadline)


async def _metrics(send: Send) -> dict[str, float]:
    """The viewport's size, how far the page is scrolled, and how much is left below, in CSS pixels."""
    layout = await asyncio.wait_for(send("Page.getLayoutMetrics", {}), CALL_TIMEOUT)
    viewport = layout.get("cssVisualViewport") or layout.get("visualViewport") or {}
    content = layout.get("cssContentSize") or layout.get("contentSize") or {}
    width = float(viewport.get("clientWidth") or 800)
    height = float(viewport.get("clientHeight") or 600)
    top = float(viewport.get("pageY") or 0)
    remaining = float(content.get("height") or 0) - top - height
    return {"width": width, "height": height, "top": top, "remaining": max(remaining, 0.0)}


async def _jiggle(page: "Page", x: float, y: float, width: float, height: float, rng: random.Random,
                  result: DwellResult) -> tuple[float, float]:
    """A small mouse movement (a few tens of pixels, in several intermediate events), kept inside the viewport."""
    x = min(max(x + rng.uniform(-40, 40), 5), width - 5)
    y = min(max(y + rng.uniform(-30, 30), 5), height - 5)
    await _call(page.mouse.move(x, y, steps=rng.randint(3, 8)))
    result.mouse_moves += 1
    return x, y


async def _call(awaitable: Any) -> None:
    """One input event; a page that does not take it within CALL_TIMEOUT is not answering (raises)."""
    await asyncio.wait_for(awaitable, CALL_TIMEOUT)


async def _sleep(seconds: float, deadline: float) -> None:
    """Pause, but never past the end of the dwell."""
    await asyncio.sleep(max(0.0, min(seconds, deadline - time.monotonic())))


@dataclass
class LeaveResult:
    """What leaving did: whether the tab reached about:blank, how long leaving took (navigation and the wait for a
    quiet network), and why it did not (a handler that never returns, a crashed page)."""

    left: bool = False
    ms: int = 0
    reason: str | None = None


def leave_launch_args(args: list[str] | tuple[str, ...]) -> list[str]:
    """`args` with RenderDocument disabled (see the module docstring), every `--disable-features` merged into one
    that also keeps Playwright's own list (Chromium keeps only the last flag)."""
    features: list[str] = [*PLAYWRIGHT_DISABLED_FEATURES]
    out = []
    for arg in args:
        if arg.startswith("--disable-features="):
            features.extend(f for f in arg.split("=", 1)[1].split(",") if f and f not in features)
            continue
        out.append(arg)
    if LEAVE_FEATURE not in features:
        features.append(LEAVE_FEATURE)
    return [*out, "--disable-features=" + ",".join(features)]


async def leave(page: "Page", send: Send, *, activity: Callable[[], int] | None = None,
                quiet: float = LEAVE_QUIET, limit: float = LEAVE_LIMIT) -> LeaveResult:
    """Leave `page` as a person's tab does: navigate to about:blank (`send` runs one CDP command on the page's
    session), so the page's hide and unload handlers run and send their beacons; then wait until `activity()` (a
    count of requests seen) stops changing for `quiet` seconds, at most `limit`. Bounded: a page that does not let
    go within LEAVE_NAVIGATION seconds ends it, with a reason (its renderer is then likely blocked)."""
    result = LeaveResult()
    started = time.monotonic()
    try:
        answer = await asyncio.wait_for(send("Page.navigate", {"url": "about:blank"}), LEAVE_NAVIGATION)
        if answer.get("errorText"):
            result.reason = f"leaving the page failed: {str(answer['errorText'])[:200]}"
    except Exception as exc:  # noqa: BLE001 - timed out, crashed or closed page: the reason says which
        text = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        result.reason = f"leaving the page failed: {text}"
    if result.reason is None:
        # Page.navigate answers once the navigation started; the page has let go when the tab shows about:blank
        # (Playwright follows the main frame's commits).
        while page.url != "about:blank" and not page.is_closed():
            if time.monotonic() - started >= LEAVE_NAVIGATION:
                result.reason = (f"the page did not let go within {LEAVE_NAVIGATION:g} s "
                                 "(a beforeunload, pagehide or unload handler that does not return)")
                break
            await asyncio.sleep(0.05)
        if page.is_closed() and result.reason is None:
            result.reason = "the page closed while leaving"
    result.left = result.reason is None
    if result.left and activity is not None:
        await wait_quiet(activity, quiet=quiet, limit=limit)
    result.ms = int((time.monotonic() - started) * 1000)
    return result


async def wait_quiet(activity: Callable[[], int], *, quiet: float, limit: float) -> None:
    """Until `activity()` (a count of requests seen so far) has not changed for `quiet` seconds, at most `limit`
    seconds: the page has sent what it sends after a gesture (typing, a consent click, leaving)."""
    start = changed = time.monotonic()
    count = activity()
    while time.monotonic() - start < limit and time.monotonic() - changed < quiet:
        await asyncio.sleep(0.1)
        if activity() != count:
            count, changed = activity(), time.monotonic()
