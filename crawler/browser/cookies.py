"""RecordCookies: every cookie set during a visit, by Set-Cookie header or by script, and by which response or script.

Header cookies come from `Network.responseReceivedExtraInfo` (RecordRequests keeps them): the raw Set-Cookie lines
minus those the browser refused (`blockedCookies`), tied to the response's request row.

Script cookies: a DevTools breakpoint on the `document.cookie` setter of every page and frame (main world only:
`Debugger.setBreakpointOnFunctionCall`, set while each new document is paused at its first script statement and
found through `Runtime.getProperties` on the prototype chain of `document`, so no page function runs and nothing
changes that a page can see). A write pauses the page; we note the calling script (first frame of the call stack
with a URL) and read `document.cookie` while paused. The cookie a write set is the difference between that
reading and the next one in the same document (the next write's, or the final one at the end of the visit), so
name and value come from the page's own view.
Limits: `cookieStore.set()` is not hooked (its cookies are still recorded from the final jar, with `setter_url`
empty, as are cookies of a document that navigated away before the end); HttpOnly cookies cannot come from
scripts; a header cookie arriving between two writes of the same document could be credited to the script
(header lines are excluded by name and value to avoid it); each script start costs one pause (about a
millisecond), each cookie write two CDP round trips.

Finally the browser's cookie jar (`context.cookies()`, all domains and partitions) completes the rows: the
domain as the browser stored it, the expiry, the partition; jar cookies nothing explains become rows too
(`setter_url` empty) and are counted in `mouchard/cookies/unattributed`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import TYPE_CHECKING, Any

from crawler.browser.targets import CDPError
from crawler.collectors.base import Collector, Ref, Rows, VisitContext
from mouchard.cookies import cookie_key, from_browser, parse_set_cookie

if TYPE_CHECKING:
    from crawler.browser.targets import Target

MAX_SCRIPT_WRITES = 500  # document.cookie writes followed per visit; later ones are left to the final jar


def parse_document_cookie(text: str | None) -> dict[str, str]:
    """`document.cookie` ("a=1; b=2") as a dict; a nameless cookie is keyed ''."""
    out: dict[str, str] = {}
    for part in (text or "").split(";"):
        name, sep, value = part.strip().partition("=")
        if not sep:
            name, value = "", name
        if name or value:
            out[name] = value
    return out


def _utc(epoch: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, dt.timezone.utc)


class RecordCookies(Collector):
    """Cookie rows: header cookies, script cookies with their script, and the final jar."""

    name = "cookies"
    tables = ("cookies",)

    def __init__(self, follow_scripts: bool = True):
        self.follow_scripts = follow_scripts

    @classmethod
    def from_crawler(cls, crawler: Any) -> "RecordCookies":
        return cls(crawler.settings.getbool("MOUCHARD_COOKIE_SCRIPTS", True))

    @staticmethod
    def state(visit: VisitContext) -> dict:
        return visit.extra.setdefault("cookies", {"writes": [], "subscribed": False})

    # --- script writes ---------------------------------------------------------------------------------------
    async def attach(self, visit: VisitContext, target: "Target") -> None:
        if not self.follow_scripts or target.type not in ("page", "iframe"):
            return
        state = self.state(visit)
        if not state["subscribed"]:
            state["subscribed"] = True
            visit.on_new_context(lambda t, context, frame: self._hook_setter(visit, t, context))
            visit.on_pause(lambda t, p: self._paused(visit, t, p))
        target.state["cookies"] = {"breakpoints": set()}

    async def _hook_setter(self, visit: VisitContext, target: "Target", context: dict) -> None:
        """Breakpoint on Document.prototype.cookie's setter in a new (paused) context, without running page code."""
        found = await target.send("Runtime.evaluate", {"expression": "document", "contextId": context["id"],
                                                       "objectGroup": "mouchard", "silent": True})
        object_id = found.get("result", {}).get("objectId")
        for _ in range(4):  # document -> HTMLDocument.prototype -> Document.prototype
            if not object_id:
                break
            props = await target.send("Runtime.getProperties", {"objectId": object_id, "ownProperties": True})
            cookie = next((p for p in props.get("result", []) if p.get("name") == "cookie"), None)
            if cookie and (cookie.get("set") or {}).get("objectId"):
                bp = await target.send("Debugger.setBreakpointOnFunctionCall", {"objectId": cookie["set"]["objectId"]})
                target.state["cookies"]["breakpoints"].add(bp.get("breakpointId"))
                visit.count("cookies/setter_hooked")
                return
            proto = next((p for p in props.get("internalProperties", []) if p.get("name") == "[[Prototype]]"), None)
            object_id = ((proto or {}).get("value") or {}).get("objectId")
        visit.count("cookies/setter_hook_failed")

    async def _paused(self, visit: VisitContext, target: "Target", params: dict) -> None:
        mine = target.state.get("cookies")
        if mine is None or not set(params.get("hitBreakpoints") or ()) & mine["breakpoints"]:
            return
        state = self.state(visit)
        if len(state["writes"]) >= MAX_SCRIPT_WRITES:
            visit.count("cookies/script_writes_not_followed")
            return
        frames = params.get("callFrames") or []
        context_id = target.context_of(frames)
        snapshot = None
        if frames:
            try:
                answer = await target.send("Debugger.evaluateOnCallFrame", {
                    "callFrameId": frames[0]["callFrameId"], "expression": "document.cookie", "returnByValue": True,
                    "silent": True, "objectGroup": "mouchard"})
                snapshot = (answer.get("result") or {}).get("value")
            except CDPError:
                pass
        state["writes"].append({"target": target, "context": context_id, "script": target.script_url(frames),
                                "time_ms": visit.elapsed_ms(), "wall": time.time(), "before": snapshot,
                                "origin": (target.contexts.get(context_id) or {}).get("origin")})
        visit.count("cookies/script_writes")

    async def _final_snapshots(self, visit: VisitContext) -> dict:
        """`document.cookie` now, in every context that wrote (main world; no page function is called)."""
        finals = {}
        for target, context_id in {(w["target"], w["context"]) for w in self.state(visit)["writes"] if w["context"]}:
            try:
                answer = await target.send("Runtime.evaluate", {
                    "expression": "document.cookie", "contextId": context_id, "returnByValue": True, "silent": True},
                    timeout=2.0)
                finals[(target, context_id)] = (answer.get("result") or {}).get("value")
            except CDPError:
                pass
        return finals

    def _script_cookies(self, visit: VisitContext, finals: dict, header_pairs: set) -> list[dict]:
        """(name, value, script, time) of each cookie a followed write set."""
        found = []
        by_context: dict[tuple, list[dict]] = {}
        for write in self.state(visit)["writes"]:
            by_context.setdefault((write["target"], write["context"]), []).append(write)
        for key, writes in by_context.items():
            writes.sort(key=lambda w: w["time_ms"])
            readings = [w["before"] for w in writes[1:]] + [finals.get(key)]
            for write, after in zip(writes, readings):
                if write["before"] is None or after is None:
                    continue
                before, now = parse_document_cookie(write["before"]), parse_document_cookie(after)
                for name, value in now.items():
                    if before.get(name) != value and (name, value) not in header_pairs:
                        found.append({"name": name, "value": value, "script": write["script"],
                                      "time_ms": write["time_ms"], "wall": write["wall"], "origin": write["origin"]})
        return found

    # --- rows ------------------------------------------------------------------------------------------------
    async def collect(self, visit: VisitContext) -> Rows:
        network = visit.extra.get("network", {})
        chains = network.get("chains", {})
        rows: list[dict] = []
        header_pairs: set[tuple[str, str]] = set()
        before_consent_ms = visit.extra.get("consent_action_ms")

        def finish(row: dict, time_ms: int) -> dict:
            row["set_at_ms"] = time_ms
            row["before_consent"] = int(before_consent_ms is None or time_ms < before_consent_ms)
            return row

        for event in network.get("set_cookies", []):
            chain = chains.get(event["request_id"])
            hop = chain.hops[event["hop"]] if chain and event["hop"] < len(chain.hops) else None
            url = hop.row["url"] if hop else ""
            for line in event["lines"]:
                row = parse_set_cookie(line, url, _utc(event["wall"]), first_party=visit.site)
                if row is None:
                    continue
                if row["lifetime_days"] is not None and row["lifetime_days"] <= 0:
                    visit.count("cookies/deleted_by_header")
                    continue
                header_pairs.add((row["name"], row["value"]))
                if hop is not None:
                    row["request_id"] = Ref("requests", hop.ref)
                rows.append(finish(row, event["time_ms"]))
            if event["blocked"]:
                visit.count("cookies/refused_by_browser", len(event["blocked"]))

        jar = await self._jar(visit)
        jar_by_name: dict[tuple[str, str], list[dict]] = {}
        for cookie in jar:
            jar_by_name.setdefault((cookie.get("name", ""), cookie.get("value", "")), []).append(cookie)

        finals = await self._final_snapshots(visit) if self.state(visit)["writes"] and visit.responsive else {}
        for found in self._script_cookies(visit, finals, header_pairs):
            candidates = jar_by_name.get((found["name"], found["value"]), [])
            cookie = _closest(candidates, found["origin"])
            set_at = _utc(found["wall"])
            if cookie is not None:
                row = from_browser(cookie, set_at, first_party=visit.site)
            else:  # overwritten or deleted since: what the page saw, without the attributes
                row = {"name": found["name"], "value": found["value"], "domain": _host(found["origin"]),
                       "site": visit.site_of(found["origin"] or ""),
                       "third_party": int(visit.third_party(found["origin"] or ""))}
            row.update(set_by="script", setter_url=found["script"])
            rows.append(finish(row, found["time_ms"]))

        # The jar completes what the events said: browser-normalised domain, expiry and partition.
        explained = {cookie_key(r) for r in rows}
        explained_values = {(r["name"], r.get("value")) for r in rows}
        now = dt.datetime.now(dt.timezone.utc)
        for cookie in jar:
            row = from_browser(cookie, now, first_party=visit.site)
            for recorded in rows:
                if cookie_key(recorded) == cookie_key(row) or (
                        (recorded["name"], recorded.get("value")) == (row["name"], row["value"])
                        and _domain_match(row["domain"], recorded.get("domain") or "")):
                    recorded["partitioned"] = row["partitioned"]
                    if recorded.get("set_by") == "header":
                        recorded["domain"] = row["domain"]
            if cookie_key(row) in explained or (row["name"], row["value"]) in explained_values:
                continue
            row.update(set_by="header" if row["http_only"] else "script", setter_url=None)
            rows.append(finish(row, visit.elapsed_ms()))
            visit.count("cookies/unattributed")
        rows = _dedupe(rows)
        visit.count("cookies/recorded", len(rows))
        return {"cookies": rows}

    async def _jar(self, visit: VisitContext) -> list[dict]:
        if visit.context is None:
            return []
        try:
            return await asyncio.wait_for(visit.context.cookies(), 5.0)
        except Exception:
            visit.count("cookies/jar_unavailable")
            return []


def _host(origin: str | None) -> str:
    from mouchard.domains import host_of

    return host_of(origin or "")


def _domain_match(cookie_domain: str, host_or_domain: str) -> bool:
    a, b = cookie_domain.lstrip(".").lower(), host_or_domain.lstrip(".").lower()
    return a == b or b.endswith("." + a) or a.endswith("." + b)


def _closest(candidates: list[dict], origin: str | None) -> dict | None:
    host = _host(origin)
    for cookie in candidates:
        if _domain_match(cookie.get("domain", ""), host):
            return cookie
    return candidates[0] if candidates else None


def _dedupe(rows: list[dict]) -> list[dict]:
    """One row per cookie setting: the same name, domain, path and value from the same setter counts once."""
    seen: set = set()
    out = []
    for row in rows:
        key = (*cookie_key(row), row.get("value"), row.get("set_by"), row.get("setter_url"))
        if key in seen:
            continue
        seen.add(key)
        out.append(row)
    return out
