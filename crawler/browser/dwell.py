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
