"""Find visible consent controls in every frame of a page and click them as a person would.

Playwright resolves selectors in its own isolated world (the page's scripts cannot see the queries), pierces open
shadow roots, and reaches out-of-process iframes; its clicks are trusted input events sent through CDP. Only
visible elements are ever clicked: a control hidden by the page (or off the layout) is not something a person
could have pressed.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from crawler.consent.rules import RULES, CmpRule
from crawler.consent.texts import ACCEPT_RE, CONSENT_WORDS_RE, REJECT_RE, SAVE_RE, SETTINGS_RE

if TYPE_CHECKING:
    from playwright.async_api import Frame, Locator, Page

T = TypeVar("T")
CLICKABLE = "button, a, [role=button], [role=link], input[type=button], input[type=submit]"
MAX_FRAMES = 30
QUERY_TIMEOUT = 2.0  # seconds for one frame's query (a busy frame must not stall the visit)


@dataclass
class Control:
    """A visible control found on the page."""

    locator: "Locator"
    frame_url: str
    selector: str  # the rule selector, or "text=<pattern>" for the generic fallback
    text: str | None = None


def frames(page: "Page", url_part: str | None = None) -> list["Frame"]:
    """The page's frames, main frame first; only those whose URL contains `url_part` when given."""
    found = []
    for frame in page.frames[:MAX_FRAMES]:
        try:
            if frame.is_detached():
                continue
            if url_part and url_part not in (frame.url or ""):
                continue
        except Exception:
            continue
        found.append(frame)
    return found


async def _visible(locator: "Locator") -> "Locator | None":
    """The first visible element of `locator`, or None: one query in Playwright's isolated world (not a count and
    then a visibility check per candidate), so every match is considered, hidden ones skipped."""
    try:
        visible = locator.filter(visible=True)
        if await asyncio.wait_for(visible.count(), QUERY_TIMEOUT):
            return visible.first
    except Exception:
        return None
    return None


async def _first_in_frames(found: list["Frame"], probe: "Callable[[Frame], Awaitable[T | None]]") -> "T | None":
    """`probe` every frame at once; the first answer in frame order (main frame first). Frames are independent
    documents, often in other renderer processes: querying them one after another only added up their waits."""
    results = await asyncio.gather(*(probe(frame) for frame in found), return_exceptions=True)
    for result in results:
        if result is not None and result is not False and not isinstance(result, BaseException):
            return result
    return None


async def _text(locator: "Locator") -> str | None:
    try:
        return (await asyncio.wait_for(locator.inner_text(timeout=1000), QUERY_TIMEOUT)).strip()[:200] or None
    except Exception:
        return None


async def visible_control(page: "Page", selectors: tuple[str, ...], url_part: str | None = None) -> Control | None:
    """The first visible element matching one of `selectors`, frame by frame (main first)."""
    async def probe(frame: "Frame") -> Control | None:
        for selector in selectors:
            element = await _visible(frame.locator(selector))
            if element is not None:
                return Control(element, frame.url, selector, await _text(element))
        return None

    return await _first_in_frames(frames(page, url_part), probe)


async def present(page: "Page", selectors: tuple[str, ...], url_part: str | None = None) -> bool:
    """Whether any element matches (visible or not)."""
    async def probe(frame: "Frame") -> bool:
        for selector in selectors:
            try:
                if await asyncio.wait_for(frame.locator(selector).count(), QUERY_TIMEOUT):
                    return True
            except Exception:
                continue
        return False

    return bool(await _first_in_frames(frames(page, url_part), probe))


async def _mentions_consent(frame: "Frame") -> bool:
    return await _visible(frame.get_by_text(CONSENT_WORDS_RE)) is not None


PATTERN_LABELS = {id(REJECT_RE): "reject", id(ACCEPT_RE): "accept", id(SETTINGS_RE): "settings", id(SAVE_RE): "save"}


async def text_control(page: "Page", pattern: re.Pattern[str]) -> Control | None:
    """A visible button or link whose whole text matches `pattern`, in a frame that visibly talks about cookies
    or consent (the generic multilingual fallback). Its `selector` reads "text:<reject|accept|settings|save>"."""
    async def probe(frame: "Frame") -> Control | None:
        element = await _visible(frame.locator(CLICKABLE).filter(has_text=pattern))
        if element is not None and await _mentions_consent(frame):
            label = PATTERN_LABELS.get(id(pattern), "text")
            return Control(element, frame.url, f"text:{label}", await _text(element))
        return None

    return await _first_in_frames(frames(page), probe)


ANY_RULE = ", ".join(selector for rule in RULES for selector in rule.detect)


async def detect_rule(page: "Page", rules: tuple[CmpRule, ...] = RULES) -> tuple[CmpRule | None, bool]:
    """(the CMP rule whose markup is on the page, whether its banner is visible); (None, False) if none."""
    if rules is RULES and not await present(page, (ANY_RULE,)):
        return None, False  # one query per frame when no known CMP is there (most pages)
    found: CmpRule | None = None
    for rule in rules:
        if await present(page, rule.detect, rule.frame):
            if await visible_control(page, rule.banner, rule.frame) is not None:
                return rule, True
            found = found or rule
    return found, False


async def click(control: Control, timeout: float = 3.0) -> bool:
    """Click like a person (scroll into view, trusted mouse events); False if the element would not take it."""
    try:
        await control.locator.click(timeout=timeout * 1000)
        return True
    except Exception:
        return False


@dataclass
class ClickResult:
    clicked: list[Control]
    method: str  # rule name or "generic"
    ok: bool


async def first_layer_reject(page: "Page", rule: CmpRule | None) -> Control | None:
    """A visible reject control on the banner's first layer (before any click)."""
    if rule is not None:
        control = await visible_control(page, rule.reject, rule.frame)
        if control is not None:
            return control
    return await text_control(page, REJECT_RE)


async def act(page: "Page", action: str, rule: CmpRule | None, settle: float = 0.6) -> ClickResult:
    """Reject or accept with `rule` (first layer, else settings → second layer → save), else with texts."""
    clicked: list[Control] = []
    method = rule.name if rule is not None else "generic"
    if rule is not None:
        first = rule.reject if action == "reject" else rule.accept
        control = await visible_control(page, first, rule.frame)
        if control is not None and await click(control):
            return ClickResult([control], method, True)
        if action == "reject" and rule.settings:
            control = await visible_control(page, rule.settings, rule.frame)
            if control is not None and await click(control):
                clicked.append(control)
                await asyncio.sleep(settle)
                second = await visible_control(page, rule.reject_second, rule.frame)
                if second is not None and await click(second):
                    clicked.append(second)
                    await asyncio.sleep(settle / 2)
                    save = await visible_control(page, rule.save, rule.frame) if rule.save else None
                    if save is not None and await click(save):
                        clicked.append(save)
                    return ClickResult(clicked, method, True)
    # Generic fallback (also when a rule's selectors no longer match its CMP's markup).
    method = "generic" if not clicked else method
    control = await text_control(page, REJECT_RE if action == "reject" else ACCEPT_RE)
    if control is not None and await click(control):
        return ClickResult([*clicked, control], method, True)
    if action == "reject":
        settings = await text_control(page, SETTINGS_RE) if not clicked else None
        if settings is not None and await click(settings):
            clicked.append(settings)
            await asyncio.sleep(settle)
        control = await text_control(page, REJECT_RE)
        if control is not None and await click(control):
            clicked.append(control)
            await asyncio.sleep(settle / 2)
            save = await text_control(page, SAVE_RE)
            if save is not None and await click(save):
                clicked.append(save)
            return ClickResult(clicked, method, True)
    return ClickResult(clicked, method, False)
