"""The consent cycle beyond one click: withdrawing a consent given (`revoke` phase) and carrying a refusal from one
site to the next (`second-site` phase). docs/consent.md ("Sequences") describes both and their `steps`.

- **revoke** (one profile): the collector accepts as in the accept phase, then `withdraw` reopens the consent
  UI — the CMP's own "manage cookies" link or button first (REOPEN_SELECTORS, then the texts of
  `crawler.consent.texts.REOPEN`), else the CMP's JavaScript API (REOPEN_APIS, called in the page's main world:
  the page can see that call) — clicks reject in it, and verifies from the TC string and the CMP's cookie that
  the consent was withdrawn. The withdrawal time goes to `visit.shared.withdrawal_ms`.
- **second-site** (one profile): before site B's visit is instrumented, `prime` loads site A (the next site of
  the crawl's list) in the same page, rejects on its banner with the same clicker, verifies, and snapshots the
  cookie jar as (domain, name, sha256 of the value) — never a raw value — then leaves for about:blank.

Every click is bracketed by two screenshots (evidence files of the visit, named in the steps by their SHA-256).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from crawler.consent import clicker
from crawler.consent.readers import APIS, Reading, evaluate_json
from crawler.consent.texts import REJECT_RE, REOPEN_RE
from crawler.consent.verify import verify_action
from mouchard.decode.consent import consent_cookie

if TYPE_CHECKING:
    from playwright.async_api import Page

    from crawler.collectors.base import VisitContext
    from crawler.consent.rules import CmpRule

# Controls CMPs render to reopen their choices (footer links, floating buttons), by their markup.
REOPEN_SELECTORS = (
    '[data-cc="show-preferencesModal"]', '[data-cc="c-settings"]',  # vanilla-cookieconsent v3, v2
    "#ot-sdk-btn", ".ot-sdk-show-settings", "#ot-sdk-btn-floating button",  # OneTrust
    "#tarteaucitronManager", "#tarteaucitronIcon button",  # tarteaucitron
    'a[href*="Didomi.preferences.show"]', "#didomi-persistent-consent-button",  # Didomi
    "#CookiebotWidget .CookiebotWidget-logo", 'a[href*="Cookiebot.renew"]',  # Cookiebot
    'a[href*="klaro.show"]', ".klaro .cm-toggle-manager",  # klaro
    "#usercentrics-button button", ".qc-cmp2-persistent-link",  # Usercentrics, Quantcast
)

# The CMPs' JavaScript to reopen their UI, tried in this order when no control shows (`__tcfapi` has none).
REOPEN_APIS: tuple[tuple[str, str], ...] = (
    ("Didomi.preferences.show()", "window.Didomi && Didomi.preferences && Didomi.preferences.show"),
    ("OneTrust.ToggleInfoDisplay()", "window.OneTrust && OneTrust.ToggleInfoDisplay"),
    ("tarteaucitron.userInterface.openPanel()", "window.tarteaucitron && tarteaucitron.userInterface && "
                                               "tarteaucitron.userInterface.openPanel"),
    ("klaro.show()", "window.klaro && klaro.show"),
    ("CookieConsent.showPreferences()", "window.CookieConsent && CookieConsent.showPreferences"),
    ("Cookiebot.renew()", "window.Cookiebot && Cookiebot.renew"),
    ("__cmp('displayConsentUi')", "typeof window.__cmp === 'function' && window.__cmp"),
)
JAR_LIMIT = 500  # cookies of a snapshot (a profile after one site holds a few dozen)
STEP_WAIT = 2.5  # seconds a reopened UI gets to show its controls


def reopen_expression() -> str:
    """One main-world expression: call the first CMP API present, return its name as JSON (null: none)."""
    tries = []
    for name, probe in REOPEN_APIS:
        call = "window.__cmp('displayConsentUi')" if name.startswith("__cmp") else name
        tries.append(f"if (typeof ({probe}) === 'function') {{ {call}; return {json.dumps(name)}; }}")
    body = " ".join(f"try {{ {t} }} catch (e) {{}}" for t in tries)
    return f"(() => {{ {body} return null; }})()"


def value_sha256(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def jar_entry(cookie: dict) -> tuple[str, str, str]:
    """A browser cookie as a snapshot entry: (domain without its leading dot, lowercased; name; sha256 of the
    value). The raw value never leaves this function."""
    domain = str(cookie.get("domain") or "").lstrip(".").lower()
    return domain, str(cookie.get("name") or ""), value_sha256(str(cookie.get("value") or ""))


def jar_snapshot(cookies: list[dict]) -> list[dict]:
    """The jar as sorted {domain, name, sha256} entries (at most JAR_LIMIT)."""
    entries = sorted({jar_entry(c) for c in cookies if isinstance(c, dict)})[:JAR_LIMIT]
    return [{"domain": d, "name": n, "sha256": h} for d, n, h in entries]


def file_sha256(path: str | None) -> str | None:
    if not path or not os.path.isfile(path):
        return None
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


@dataclass
class Shots:
    """Screenshots of a sequence: `take(label)` writes `<stem>-<label>.png` and remembers it for evidence_files."""

    folder: str | None
    stem: str
    files: list[tuple[str, str]] = field(default_factory=list)  # (label, path)

    async def take(self, page: "Page", label: str) -> str | None:
        """The screenshot's SHA-256 (how `steps` name it), or None when it could not be taken."""
        if self.folder is None or page is None or page.is_closed():
            return None
        path = os.path.join(self.folder, f"{self.stem}-{label}.png")
        try:
            os.makedirs(self.folder, exist_ok=True)
            await asyncio.wait_for(page.screenshot(path=path, timeout=4000, animations="disabled"), 5)
        except Exception:
            return None
        self.files.append((label, path))
        return file_sha256(path)


# --- revoke ------------------------------------------------------------------------------------------------------
async def find_reopen(page: "Page") -> clicker.Control | None:
    """A visible control that reopens the consent choices: a known CMP's markup, else a link or button text."""
    control = await clicker.visible_control(page, REOPEN_SELECTORS)
    if control is not None:
        return control
    return await clicker.text_control(page, REOPEN_RE)


async def withdraw_click(page: "Page", rule: "CmpRule | None") -> list[clicker.Control]:
    """Refuse in the reopened UI: the rule's reject controls of either layer (then its save), else the generic
    path (reject texts, or settings → reject → save)."""
    clicked: list[clicker.Control] = []
    if rule is not None:
        control = await clicker.visible_control(page, (*rule.reject, *rule.reject_second), rule.frame)
        if control is not None and await clicker.click(control):
            clicked.append(control)
            await asyncio.sleep(0.3)
            save = await clicker.visible_control(page, rule.save, rule.frame) if rule.save else None
            if save is not None and await clicker.click(save):
                clicked.append(save)
            return clicked
    control = await clicker.text_control(page, REJECT_RE)
    if control is not None and await clicker.click(control):
        return [control]
    result = await clicker.act(page, "reject", rule)
    return list(result.clicked) if result.ok else clicked


def _clicked(controls: list[clicker.Control]) -> list[dict]:
    return [{"selector": c.selector, "text": c.text, "frame_url": c.frame_url} for c in controls]


async def _wait_for(probe: Callable[[], Awaitable[Any]], limit: float) -> Any:
    deadline = time.monotonic() + limit
    while True:
        found = await probe()
        if found is not None or time.monotonic() >= deadline:
            return found
        await asyncio.sleep(0.25)


async def withdraw(visit: "VisitContext", *, rule: "CmpRule | None", accepted: Reading, shots: Shots,
                   read: Callable[[str], Awaitable[Reading]], react: Callable[[float], Awaitable[None]],
                   left: Callable[[], float]) -> list[dict]:
    """After a verified-or-not accept: reopen the consent UI and refuse; the `reopen` and `withdraw` steps.
    `read(action)` reads the consent state, `react(limit)` lets the page react, `left()` is the time left."""
    page = visit.page
    steps: list[dict] = []
    before = await shots.take(page, "reopen-before")
    started = visit.elapsed_ms()
    control = await find_reopen(page)
    method, call = None, None
    if control is not None and await clicker.click(control):
        method = "link"
    elif visit.hub is not None and visit.hub.page is not None:
        control = None
        call = await evaluate_json(visit.hub.page, f"JSON.stringify({reopen_expression()})")
        method = "api" if isinstance(call, str) else None
    reopened = None
    if method is not None:  # the UI is open when a reject control shows
        reopened = await _wait_for(lambda: _reject_control(page, rule), min(STEP_WAIT, max(0.5, left() - 4)))
    step: dict[str, Any] = {
        "step": "reopen", "time_ms": started, "method": method, "api": call,
        "control": _clicked([control])[0] if control is not None and method == "link" else None,
        "verified": int(reopened is not None),
        "verification": ("no control or JavaScript API to reopen the consent choices was found on the page"
                         if method is None else
                         f"reopened by {'the page control' if method == 'link' else call}: a reject control shows"
                         if reopened is not None else
                         f"reopened by {'the page control' if method == 'link' else call}, but no reject control "
                         "showed"),
        "screenshot_before": before, "screenshot_after": await shots.take(page, "reopen-after"),
    }
    steps.append(step)
    if reopened is None:
        return steps
    withdrawal_ms = visit.elapsed_ms()
    visit.shared.withdrawal_ms = withdrawal_ms
    clicked = await withdraw_click(page, rule)
    await react(min(2.0, max(0.3, left() - 3)))
    after = await read("reject")
    verdict = verify_action("reject", accepted, after)
    steps.append({
        "step": "withdraw", "action": "reject", "time_ms": withdrawal_ms, "clicked": _clicked(clicked),
        "verified": verdict.verified if clicked else 0,
        "verification": verdict.text if clicked else "no reject control could be clicked in the reopened UI",
        "framework": verdict.framework,
        "screenshot_before": step["screenshot_after"], "screenshot_after": await shots.take(page, "withdraw-after"),
    })
    if not clicked:
        visit.shared.withdrawal_ms = None  # nothing was clicked: no withdrawal moment
    return steps


async def _reject_control(page: "Page", rule: "CmpRule | None") -> clicker.Control | None:
    if rule is not None:
        control = await clicker.visible_control(page, (*rule.reject, *rule.reject_second), rule.frame)
        if control is not None:
            return control
    return await clicker.text_control(page, REJECT_RE)


def accept_step(*, time_ms: int | None, method: str | None, clicked: list[dict], verdict: Any,
                before: str | None, after: str | None) -> dict:
    """The revoke sequence's first step, from what the collector did in the accept click."""
    return {"step": "accept", "action": "accept", "time_ms": time_ms, "method": method, "clicked": clicked,
            "verified": verdict.verified, "verification": verdict.text, "framework": verdict.framework,
            "screenshot_before": before, "screenshot_after": after}


def sequence_outcome(steps: list[dict]) -> tuple[int, str]:
    """(verified, verification) of a sequence's action row: verified when every step is."""
    verified = int(bool(steps) and all(s.get("verified") == 1 for s in steps))
    text = "; ".join(f"{s['step']}: {s.get('verification') or ''}".strip() for s in steps)
    return verified, text


# --- second-site -------------------------------------------------------------------------------------------------
async def page_reading(page: "Page", action: str, started: float) -> Reading:
    """The consent state of a page not instrumented yet (second-site priming): the same expressions as
    `crawler.consent.readers`, through Playwright."""
    reading = Reading(time_ms=int((time.monotonic() - started) * 1000), action=action)

    async def one(expression: str) -> Any:
        try:
            value = await asyncio.wait_for(page.evaluate(expression), 2.0)
            return json.loads(value) if isinstance(value, str) else value
        except Exception:
            return None

    results = await asyncio.gather(*(one(expr) for expr in APIS.values()))
    reading.apis = {name: value for name, value in zip(APIS, results) if value is not None}
    try:
        cookies = await asyncio.wait_for(page.context.cookies(), 3.0)
    except Exception:
        cookies = []
    reading.cookies = {c["name"]: dict(c) for c in cookies if consent_cookie(c.get("name", "")) is not None}
    return reading


async def prime(page: "Page", url: str, *, shots: Shots, wait: float = 6.0, timeout: float = 30.0) -> dict:
    """Visit site A at `url` in `page`, reject on its banner, snapshot the jar, leave for about:blank.
    Returns {"site_a", "steps", "jar": [...], "files": [(label, path)]}; never raises."""
    from mouchard.decode.domains import site_of

    started = time.monotonic()
    steps: list[dict] = []
    result: dict[str, Any] = {"site_a": site_of(url), "url_a": url, "steps": steps, "jar": [], "files": shots.files}
    try:
        await page.goto(url, wait_until="load", timeout=timeout * 1000)
    except Exception as exc:
        steps.append({"step": "visit-a", "url": url, "verified": 0,
                      "verification": f"site A did not load: {str(exc).splitlines()[0][:160]}"})
        await _blank(page)
        return result
    steps.append({"step": "visit-a", "url": url, "time_ms": int((time.monotonic() - started) * 1000)})

    async def banner() -> tuple | None:
        rule, visible = await clicker.detect_rule(page)
        if visible:
            return rule, "rule"
        control = await clicker.first_layer_reject(page, None)
        return (rule, "generic") if control is not None else None

    found = await _wait_for(banner, wait)
    if found is None:
        steps.append({"step": "reject-on-a", "action": "reject", "verified": 0,
                      "verification": "no consent banner found on site A: nothing to reject"})
    else:
        rule, detected_by = found
        before_reading = await page_reading(page, "none", started)
        before = await shots.take(page, "a-reject-before")
        time_ms = int((time.monotonic() - started) * 1000)
        clicked = await clicker.act(page, "reject", rule)
        try:
            await page.wait_for_load_state("networkidle", timeout=3000)
        except Exception:
            pass
        after_reading = await page_reading(page, "reject", started)
        verdict = verify_action("reject", before_reading, after_reading)
        steps.append({
            "step": "reject-on-a", "action": "reject", "time_ms": time_ms, "cmp": rule.name if rule else None,
            "detected_by": detected_by, "clicked": _clicked(clicked.clicked),
            "verified": verdict.verified if clicked.clicked else 0,
            "verification": verdict.text if clicked.clicked else "no reject control could be clicked on site A",
            "framework": verdict.framework,
            "screenshot_before": before, "screenshot_after": await shots.take(page, "a-reject-after")})
    try:
        cookies = await asyncio.wait_for(page.context.cookies(), 5.0)
    except Exception:
        cookies = []
    result["jar"] = jar_snapshot(cookies)
    steps.append({"step": "jar", "time_ms": int((time.monotonic() - started) * 1000),
                  "cookies": len(result["jar"]), "sites": sorted({site_of("https://" + e["domain"] + "/")
                                                                 for e in result["jar"] if e["domain"]})})
    await _blank(page)
    return result


async def _blank(page: "Page") -> None:
    try:
        await page.goto("about:blank", timeout=5000)
    except Exception:
        pass


def second_site_steps(priming: dict | None, site_b: str) -> list[dict]:
    """B's action-row steps: A's steps, the jar snapshot, then the visit of B."""
    if priming is None:
        return [{"step": "visit-a", "verified": 0, "verification": "no other site in the crawl's list: B was "
                 "visited without a first site"}]
    steps = [dict(s) for s in priming["steps"]]
    for step in steps:
        if step["step"] == "jar":
            step["snapshot"] = priming["jar"]
            step["site_a"] = priming["site_a"]
    return [*steps, {"step": "visit-b", "site": site_b}]


def unpaired(specs: list, prime: dict[str, str]) -> list:
    """The second-site visits that have no site A (a list of one site): the spider drops them, with a warning."""
    return [s for s in specs if s.phase == "second-site" and s.site not in prime]


def prime_urls(urls: list[str]) -> dict[str, str]:
    """For each site of the crawl's list (in order), the URL of the next site (cyclic): its site A. Empty with
    fewer than two sites."""
    from mouchard.decode.domains import site_of

    order: list[tuple[str, str]] = []
    for url in urls:
        site = site_of(url)
        if site and site not in {s for s, _ in order}:
            order.append((site, url))
    if len(order) < 2:
        return {}
    return {site: order[(i + 1) % len(order)][1] for i, (site, _) in enumerate(order)}
