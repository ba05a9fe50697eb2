"""Read the consent state a page holds at one moment: __tcfapi, __gpp, __uspapi, GPC, and consent cookies.

Page-side APIs are called with one `Runtime.evaluate` per API in the page's main world (where the CMP's functions
live): the expression passes a callback, waits for it once and returns plain JSON. Nothing is left behind: no
global, no prototype change; a TCF event listener is removed as soon as it has answered. The call is visible to
the page only while it runs (a CMP could log that someone called `ping`). To keep even that out of the page's
view during the visit, the collector reads at two moments only: just before its click, and at the end.
Cookies come from the browser (Playwright's context, through CDP), never from `document.cookie`.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mouchard.decode.consent import consent_cookie

if TYPE_CHECKING:
    from crawler.browser.targets import Target
    from crawler.collectors.base import VisitContext

API_TIMEOUT = 1.5  # seconds one API may take to call back (a stub whose CMP never loads never answers)

# Each expression resolves to a JSON string (or null when the API is absent).
TCF_PING = """(() => typeof window.__tcfapi !== 'function' ? null : new Promise((resolve) => {
  try { window.__tcfapi('ping', 2, (r) => resolve(JSON.stringify(r === undefined ? null : r))); }
  catch (e) { resolve(JSON.stringify({error: String(e && e.message || e).slice(0, 200)})); }
}))()"""

TCF_DATA = """(() => typeof window.__tcfapi !== 'function' ? null : new Promise((resolve) => {
  let answered = false;
  try {
    window.__tcfapi('addEventListener', 2, (d, ok) => {
      if (answered) return;
      answered = true;
      d = d || {};
      if (d.listenerId !== undefined && d.listenerId !== null) {
        try { window.__tcfapi('removeEventListener', 2, () => {}, d.listenerId); } catch (e) {}
      }
      resolve(JSON.stringify({success: ok, eventStatus: d.eventStatus, cmpStatus: d.cmpStatus, cmpId: d.cmpId,
        cmpVersion: d.cmpVersion, gdprApplies: d.gdprApplies, tcString: d.tcString,
        tcfPolicyVersion: d.tcfPolicyVersion, isServiceSpecific: d.isServiceSpecific,
        publisherCC: d.publisherCC}));
    });
  } catch (e) { resolve(JSON.stringify({error: String(e && e.message || e).slice(0, 200)})); }
}))()"""

GPP_PING = """(() => typeof window.__gpp !== 'function' ? null : new Promise((resolve) => {
  let answered = false;
  const pick = (d) => { d = d || {}; return JSON.stringify({gppVersion: d.gppVersion, cmpStatus: d.cmpStatus,
    cmpDisplayStatus: d.cmpDisplayStatus, signalStatus: d.signalStatus, cmpId: d.cmpId,
    supportedAPIs: d.supportedAPIs, sectionList: d.sectionList, applicableSections: d.applicableSections,
    gppString: d.gppString}); };
  try {
    const r = window.__gpp('ping', (d) => { if (!answered) { answered = true; resolve(pick(d)); } });
    if (r && typeof r === 'object' && !answered) { answered = true; resolve(pick(r)); }  // GPP 1.0 returns it
  } catch (e) { resolve(JSON.stringify({error: String(e && e.message || e).slice(0, 200)})); }
}))()"""

USP_DATA = """(() => typeof window.__uspapi !== 'function' ? null : new Promise((resolve) => {
  try { window.__uspapi('getUSPData', 1, (d, ok) => resolve(JSON.stringify({success: ok,
    uspString: d && d.uspString, version: d && d.version}))); }
  catch (e) { resolve(JSON.stringify({error: String(e && e.message || e).slice(0, 200)})); }
}))()"""

GPC_VALUE = "navigator.globalPrivacyControl === undefined ? null : navigator.globalPrivacyControl"

APIS = {"tcf_ping": TCF_PING, "tcf": TCF_DATA, "gpp": GPP_PING, "usp": USP_DATA}


@dataclass
class Reading:
    """The consent state at one moment of a visit (`time_ms` from navigation start)."""

    time_ms: int
    action: str  # the action in force when read: none (no click yet), reject or accept
    apis: dict[str, Any] = field(default_factory=dict)  # tcf_ping, tcf, gpp, usp: what each API answered
    cookies: dict[str, dict] = field(default_factory=dict)  # consent cookie name -> browser cookie
    gpc: bool | None = None

    @property
    def tc_string(self) -> str | None:
        """The TC string the page holds: from __tcfapi, else from the euconsent-v2 cookie."""
        tcf = self.apis.get("tcf") or {}
        if isinstance(tcf, dict) and tcf.get("tcString"):
            return tcf["tcString"]
        cookie = self.cookies.get("euconsent-v2")
        return cookie["value"] if cookie else None


async def evaluate_json(target: "Target", expression: str, timeout: float = API_TIMEOUT) -> Any:
    """Run `expression` in the target's main world; its JSON-string result parsed, or None (absent, error)."""
    try:
        answer = await target.send("Runtime.evaluate", {"expression": expression, "awaitPromise": True,
                                                        "returnByValue": True, "silent": True},
                                   timeout=timeout)
    except Exception:
        return None
    value = (answer.get("result") or {}).get("value")
    if answer.get("exceptionDetails") or value is None:
        return None
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


async def consent_cookies(visit: "VisitContext") -> dict[str, dict]:
    """Every cookie of the browser whose name is a known consent cookie (mouchard.decode.consent.CONSENT_COOKIES)."""
    if visit.context is None:
        return {}
    try:
        cookies = await asyncio.wait_for(visit.context.cookies(), 3.0)
    except Exception:
        return {}
    return {c["name"]: dict(c) for c in cookies if consent_cookie(c.get("name", "")) is not None}


async def read_state(visit: "VisitContext", action: str) -> Reading:
    """Everything the page says about consent now, read without leaving a trace (see module docstring)."""
    reading = Reading(time_ms=visit.elapsed_ms(), action=action)
    if visit.hub is not None and visit.hub.page is not None and not visit.hub.page.detached:
        target = visit.hub.page
        results = await asyncio.gather(*(evaluate_json(target, expr) for expr in APIS.values()))
        reading.apis = {name: value for name, value in zip(APIS, results) if value is not None}
        reading.gpc = await evaluate_json(target, GPC_VALUE)
    reading.cookies = await consent_cookies(visit)
    return reading
