"""The call recorder: which script called which browser API, with what, from conditional DevTools breakpoints.

Not a collector of its own: `CallRecorder` is the base class of the collectors that need calls recorded, each
naming the catalogue entries (`mouchard.detect.fingerprinting.APIS` indices) it needs in `apis`: RecordFingerprinting
(crawler/collectors/fingerprinting.py: the whole catalogue, for `js_calls` and `scripts`) and RecordScriptCookies
(crawler/collectors/script_cookies.py: the `document.cookie` setter, for the `cookies` collector). One recorder
runs per visit whichever of them are on, armed on the union of their `apis` (the first of them to attach a target
sets it up; the others find it done), so turning fingerprinting off keeps script cookies and costs one breakpoint.

How, invisibly to the page:
1. Every new document of every attached page and frame first runs a script we register with
   `Page.addScriptToEvaluateOnNewDocument` (before any page script; CSP does not apply). It declares one
   script-scope `let` binding with a random name per visit, the recorder (crawler/collectors/recorder.py), and
   stops on a `debugger` statement. A script-scope binding is not a property of `window`: it cannot be
   enumerated, only named, and nobody can guess the name. The recorder keeps the built-ins it needs as they were
   before the page ran, so nothing the page patches later is ever called, and writes only to prototype-less
   objects.
2. While the document is stopped there, every catalogue function (`mouchard.detect.fingerprinting.APIS`) gets a
   breakpoint on call whose condition calls the recorder with the call's receiver and arguments and returns
   false: the page never pauses. One breakpoint is set with `Debugger.setBreakpointOnFunctionCall`, the others
   with the DevTools console's `debug(fn, condition)` in a single evaluation (one message instead of 120).
   Page `debugger` statements never pause: every script but ours is ignore-listed (`_quiet`).
3. Measured on Chromium 156: breakpoints are kept per renderer process, setting one costs about a millisecond
   (accessors several), and a method's function object created by a later document of the same process stops
   only after some breakpoint on a built-in is set again. So the first breakpoint doubles as a probe: set, it
   means a new process (all are set); "already exists" means a known one, and a breakpoint set and removed at
   once on a spare built-in re-arms the new document's functions. A subframe's document skips the probe: frames
   of one target share its main frame's process, which its main document armed (one command per iframe, not
   three: pages with many iframes, as ad and fingerprinting scripts make, wait that much less). A document
   created while its process is paused (an iframe committed during a pause) cannot stop on its `debugger`: it is
   re-armed before the pause ends, or as soon as its script is announced.
4. The recorders are read (`Runtime.evaluate`, by value) when a frame is about to navigate, after load and at
   the end. Calls the recorder could not attribute without running page code (`Error.prepareStackTrace`
   defined) come as real pauses, named from the paused call frames.
5. A document that goes away is read while it still exists: a breakpoint condition runs in the realm of the
   function called, so a page script reading `iframe.contentWindow.devicePixelRatio` is recorded by the iframe's
   recorder (with the page script as caller), and FingerprintJS removes such iframes as soon as it has read them
   (its `withIframe`). The recorder listens to its window's `pagehide` (fired when an iframe is removed, however,
   or a frame navigates; listeners cannot be enumerated by pages) and, only if it holds entries not read yet,
   stops on a `debugger` statement: the collector reads it on that call frame (one command) and resumes. One stop
   per vanishing document with unread calls, nothing per call; told apart from the document-start stop by its
   line (`start_line`).
Workers get the recorder through `Runtime.evaluate` while they wait for the debugger.

Limits: calls made after a document's `pagehide` stop (in page `pagehide` listeners on the window without
capture, which run after the recorder's, or in `unload` listeners) are lost if the document then vanishes, and so
are the calls of a worker after the last reading before it ended (workers have no `pagehide`). Every condition
costs tens of microseconds per call of an instrumented API.

Readers: `CallRecorder.recorded_calls(visit, api)` (reads the recorders now; empty when no such collector runs)
and `CallRecorder.calls(visit)`; the state is `visit.shared.calls` (`CallsState`).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
import time
from typing import TYPE_CHECKING, Any

from crawler.browser.targets import CDPError
from crawler.collectors.base import Collector, VisitContext
from crawler.collectors.recorder import arm_expression, condition, rearm_expression, recorder_source
from crawler.collectors.state import CallsState
from mouchard.detect.fingerprinting import APIS, ApiUse, caller_script

if TYPE_CHECKING:
    from crawler.browser.targets import Target

OBJECT_GROUP = "mouchard-calls"
LATE_CHECK = 0.3  # seconds after a document's script is announced before we check that it was armed
DOCUMENT_TARGETS = ("page", "iframe")
WORKER_TARGETS = ("worker", "shared_worker", "service_worker")
TARGET_KEY = "calls"  # the recorder's per-target state in `Target.state`


class CallRecorder(Collector):
    """Base of the collectors that need browser API calls recorded (see the module docstring)."""

    apis: frozenset[int] = frozenset()  # catalogue indices this collector needs armed
    workers: bool = True  # whether it needs workers' calls too

    @classmethod
    def state(cls, visit: VisitContext) -> CallsState:
        """The visit's recorder, made by the first call: armed on the `apis` of every CallRecorder of the visit."""
        state = visit.shared.calls
        if state is None:
            recorders = [c for c in (visit.hub.collectors if visit.hub is not None else ())
                         if isinstance(c, CallRecorder)] or [cls]
            apis = frozenset().union(*(c.apis for c in recorders))
            name = "_" + secrets.token_hex(10)
            source = recorder_source(name, apis)
            # Our script's own URL (a sourceURL comment), random: the one script not ignore-listed (see _quiet).
            source_url = f"mouchard-{secrets.token_hex(10)}"
            page_source = source + f"debugger;\n//# sourceURL={source_url}\n"
            state = visit.shared.calls = CallsState(
                name=name, source=source, page_source=page_source, source_url=source_url,
                hash=hashlib.sha256(page_source.encode("utf-8")).hexdigest(), start_line=source.count("\n"),
                apis=apis, workers=any(c.workers for c in recorders))
            visit.shared.own_scripts.add(source_url)  # never a request's initiator (network.py)
        return state

    @staticmethod
    def mine(target: "Target") -> dict:
        return target.state.setdefault(TARGET_KEY, {
            "scripts": {}, "ours": {}, "contexts": {}, "frames": {}, "pending": set(), "probe": None,
            "pausing": False})

    async def attach(self, visit: VisitContext, target: "Target") -> None:
        state = self.state(visit)
        if TARGET_KEY in target.state:
            return  # another CallRecorder of the visit is setting this target up
        if not state.subscribed:
            state.subscribed = True
            visit.on("Debugger.scriptParsed", lambda t, p: self._script_parsed(visit, t, p))
            visit.on("Page.frameNavigated", self._frame_navigated)
            for event in ("Page.frameRequestedNavigation", "Page.frameStartedNavigating"):
                visit.on(event, lambda t, p: self._drain_target(visit, t))
            visit.on_pause(lambda t, p: self._paused(visit, t, p))
        if target.type in DOCUMENT_TARGETS:
            self.mine(target)
            await target.send("Debugger.enable", {"maxScriptsCacheSize": 0})
            await self._quiet(visit, target)
            await target.send("Page.enable")
            await target.send("Page.addScriptToEvaluateOnNewDocument", {"source": state.page_source})
        elif target.type in WORKER_TARGETS and state.workers:
            mine = self.mine(target)
            await target.send("Debugger.enable", {"maxScriptsCacheSize": 0})
            await self._quiet(visit, target)
            try:
                await target.send("Runtime.evaluate", {"expression": state.source, "silent": True})
                await self._arm(visit, target, {}, probe=False)
                mine["contexts"][None] = target.url
            except CDPError:
                visit.count("fingerprinting/worker_setup_failed")

    async def _quiet(self, visit: VisitContext, target: "Target") -> None:
        """Page `debugger` statements must not pause: without DevTools they are no-ops, and a pause of a few
        milliseconds is how anti-debugging scripts detect a debugger. V8 ignores a `debugger` statement whose
        frame is ignore-listed (blackboxed), so every script is, by pattern and with `skipAnonymous` (eval'd and
        `Function()` code), except ours (its sourceURL); breakpoint conditions still run, and breakpoint pauses
        (the stackless fallback) still happen. Without this (an older Chromium) it is counted, not fatal."""
        pattern = f"^(?!{re.escape(self.state(visit).source_url)}$)"
        try:
            await target.send("Debugger.setBlackboxPatterns", {"patterns": [pattern], "skipAnonymous": True})
        except CDPError:
            visit.count("fingerprinting/debugger_statements_not_ignored")

    # --- events ----------------------------------------------------------------------------------------------
    def _script_parsed(self, visit: VisitContext, target: "Target", params: dict):
        mine = target.state.get(TARGET_KEY)
        if mine is None:
            return None
        script_id = params.get("scriptId")
        context_id = params.get("executionContextId")
        frame_id = (params.get("executionContextAuxData") or {}).get("frameId")
        mine["scripts"][script_id] = (params.get("url") or "", context_id, frame_id)
        if params.get("hash") != self.state(visit).hash:
            return None
        mine["ours"][script_id] = context_id
        mine["contexts"][context_id] = mine["frames"].get(frame_id, "")
        mine["pending"].add(context_id)
        return self._cover_late(visit, target, context_id)

    @staticmethod
    def _frame_navigated(target: "Target", params: dict) -> None:
        mine = target.state.get(TARGET_KEY)
        frame = params.get("frame") or {}
        if mine is not None and frame.get("id"):
            mine["frames"][frame["id"]] = frame.get("url", "")

    async def _paused(self, visit: VisitContext, target: "Target", params: dict) -> None:
        mine = target.state.get(TARGET_KEY)
        frames = params.get("callFrames") or []
        if mine is None or not frames:
            return
        top = frames[0]
        where = {"callFrameId": top["callFrameId"]}
        script_id = top.get("location", {}).get("scriptId")
        hits = set(params.get("hitBreakpoints") or ())
        if script_id in mine["ours"]:
            line = top.get("location", {}).get("lineNumber")
            if not hits and params.get("reason") == "other" and line != self.state(visit).start_line:
                # The recorder's `pagehide` listener: its document is going away with entries not read yet.
                await self._drain_leaving(visit, target, mine, where, mine["ours"][script_id])
                if mine["pending"]:  # documents committed since could not stop either: as below
                    await self._rearm(visit, target, mine, where)
                return
            if not hits and params.get("reason") == "other":
                frame_id = mine["scripts"].get(script_id, ("", None, None))[2]
                if mine["probe"] is not None and frame_id and frame_id != target.target_id:
                    # A subframe's document: the same target, so the renderer process of its main frame, whose
                    # document armed it. A re-arm suffices: one command while the page waits, not three.
                    await self._rearm(visit, target, mine, where)
                    return
                mine["pausing"] = True
                try:
                    await self._document_started(visit, target, mine, where, mine["ours"][script_id])
                finally:
                    mine["pausing"] = False
            return  # another pause in our script (its first statement): its `debugger` comes next
        if params.get("reason") == "debugCommand" or (mine["probe"] and mine["probe"][1] in hits):
            await self._record_pause(visit, target, mine, frames)
        if mine["pending"]:  # documents created while this one was paused could not stop: re-arm them now
            await self._rearm(visit, target, mine, where)

    async def _document_started(self, visit: VisitContext, target: "Target", mine: dict, where: dict,
                                context_id: int | None) -> None:
        """A new document stopped on our `debugger`: arm its functions before any page script runs."""
        started = time.monotonic()
        try:
            await self._arm(visit, target, where)
        except CDPError:
            visit.count("fingerprinting/setup_failed")
            return
        mine["pending"].discard(context_id)
        for _ in range(3):  # documents committed while we were arming this one
            if not mine["pending"]:
                break
            await self._rearm(visit, target, mine, where)
        visit.count("fingerprinting/documents_instrumented")
        visit.count("fingerprinting/setup_ms", int((time.monotonic() - started) * 1000))

    async def _evaluate(self, target: "Target", where: dict, expression: str, **extra: Any) -> dict:
        """Evaluate on a paused call frame (`callFrameId`), in a context (`contextId`) or the default one."""
        params = {"expression": expression, "silent": True, "objectGroup": OBJECT_GROUP, **extra, **where}
        method = "Debugger.evaluateOnCallFrame" if "callFrameId" in where else "Runtime.evaluate"
        answer = await target.send(method, params)
        if answer.get("exceptionDetails"):
            raise CDPError(f"{method}: {answer['exceptionDetails'].get('text', 'exception')}")
        return answer.get("result") or {}

    async def _arm(self, visit: VisitContext, target: "Target", where: dict, probe: bool = True) -> None:
        """Breakpoints on every armed catalogue function of the document at `where` (see the module docstring).

        The first API armed is the probe; `probe=False` (a worker's fresh isolate): every breakpoint is set with
        `debug()`.
        """
        mine = self.mine(target)
        state = self.state(visit)
        name, skip = state.name, -1
        if probe:
            skip = min(state.apis, default=-1)
            found = await self._evaluate(target, where, f"{name}(-2)[{skip}]")
            if found.get("objectId"):
                try:
                    answer = await target.send("Debugger.setBreakpointOnFunctionCall",
                                               {"objectId": found["objectId"], "condition": condition(name, skip)})
                    mine["probe"] = (skip, answer.get("breakpointId"))
                except CDPError as exc:
                    if "exists" not in str(exc):
                        raise
                    covered = set(mine["pending"])
                    await self._evaluate(target, where, rearm_expression(name), includeCommandLineAPI=True)
                    mine["pending"] -= covered
                    visit.count("fingerprinting/documents_rearmed")
                    return
        covered = set(mine["pending"])
        armed = await self._evaluate(target, where, arm_expression(name, skip), includeCommandLineAPI=True,
                                     returnByValue=True)
        mine["pending"] -= covered
        visit.count("fingerprinting/processes_armed")
        visit.count("fingerprinting/breakpoints", int(armed.get("value") or 0) + (1 if probe else 0))

    async def _rearm(self, visit: VisitContext, target: "Target", mine: dict, where: dict) -> None:
        covered = set(mine["pending"])
        try:
            await self._evaluate(target, where, rearm_expression(self.state(visit).name),
                                 includeCommandLineAPI=True)
            mine["pending"] -= covered
            visit.count("fingerprinting/documents_rearmed")
        except CDPError:
            visit.count("fingerprinting/rearm_failed")

    async def _cover_late(self, visit: VisitContext, target: "Target", context_id: int | None) -> None:
        """A document whose `debugger` did not stop us (created while its process was paused): arm it now."""
        await asyncio.sleep(LATE_CHECK)
        mine = self.mine(target)
        if context_id not in mine["pending"] or mine["pausing"] or target.detached:
            return
        try:
            await self._arm(visit, target, {"contextId": context_id})
            visit.count("fingerprinting/documents_armed_late")
        except CDPError:
            mine["pending"].discard(context_id)
            visit.count("fingerprinting/setup_failed")

    async def _record_pause(self, visit: VisitContext, target: "Target", mine: dict, frames: list[dict]) -> None:
        """A call the recorder could not attribute without a real pause: name its script from the frames."""
        name = self.state(visit).name
        try:
            index = (await self._evaluate(target, {"callFrameId": frames[0]["callFrameId"]},
                                          f'typeof {name} === "function" ? {name}(-3) : -1',
                                          returnByValue=True)).get("value")
        except CDPError:
            return
        if not isinstance(index, int) or not 0 <= index < len(APIS):
            return
        script_url, frame_id = None, None
        for frame in frames:
            url, _, frame_id_here = mine["scripts"].get(frame.get("location", {}).get("scriptId"), ("", None, None))
            frame_id = frame_id or frame_id_here
            if url:
                script_url = url
                break
        frame_url = mine["frames"].get(frame_id, "") if frame_id else None
        state = self.state(visit)
        key = (script_url, frame_url, index)
        state.paused[key] += 1
        state.paused_first.setdefault(key, visit.elapsed_ms())
        visit.count("fingerprinting/pauses")

    # --- reading the recorders -------------------------------------------------------------------------------
    @classmethod
    async def recorded_calls(cls, visit: VisitContext, api: int) -> dict[tuple[str | None, str | None], ApiUse]:
        """(script URL, frame URL) -> use of catalogue API `api` in this visit, reading the recorders now.

        For other collectors (the cookies collector reads `document.cookie` writes); empty if this one is off.
        """
        if visit.shared.calls is None:
            return {}
        if visit.responsive:
            await cls._drain_all(visit)
        return {(script, frame): use for (script, frame, index), use in cls.calls(visit).items() if index == api}

    async def _drain_leaving(self, visit: VisitContext, target: "Target", mine: dict, where: dict,
                             context_id: int | None) -> None:
        """Read the recorder of a document stopped in its `pagehide` (it still exists: the page waits)."""
        name, started = self.state(visit).name, time.monotonic()
        try:
            drained = (await self._evaluate(target, where, f"{name}(-1)", returnByValue=True)).get("value")
        except CDPError:
            visit.count("fingerprinting/leaving_read_failed")
            return
        self._keep(visit, target, mine, context_id, drained)
        visit.count("fingerprinting/documents_read_leaving")
        visit.count("fingerprinting/leaving_read_ms", int((time.monotonic() - started) * 1000))

    @classmethod
    def _keep(cls, visit: VisitContext, target: "Target", mine: dict, context_id: int | None, drained: Any) -> None:
        """Keep what a recorder returned for `-1` (entries are cumulative: a later reading replaces an earlier)."""
        if not isinstance(drained, dict):
            return
        state = cls.state(visit)
        url = drained.get("u") or mine["contexts"].get(context_id) or target.url
        for key, entry in (drained.get("e") or {}).items():
            if isinstance(entry, dict):
                state.entries[(target.target_id, context_id, key)] = (url, entry)

    @classmethod
    async def _drain_target(cls, visit: VisitContext, target: "Target") -> None:
        mine = target.state.get(TARGET_KEY)
        if mine is None or target.detached:
            return
        name = cls.state(visit).name
        for context_id in list(mine["contexts"]):
            params = {"expression": f'typeof {name} === "function" ? {name}(-1) : null', "returnByValue": True,
                      "silent": True}
            if context_id is not None:
                params["contextId"] = context_id
            try:
                answer = await target.send("Runtime.evaluate", params, timeout=2.0)
            except CDPError:
                mine["contexts"].pop(context_id, None)  # the document is gone
                continue
            cls._keep(visit, target, mine, context_id, (answer.get("result") or {}).get("value"))

    async def after_load(self, visit: VisitContext) -> None:
        state = visit.shared.calls
        if visit.responsive and state is not None and not state.read_after_load:
            state.read_after_load = True  # once, whichever CallRecorder comes first
            await self._drain_all(visit)

    @classmethod
    async def _drain_all(cls, visit: VisitContext) -> None:
        await asyncio.gather(*(cls._drain_target(visit, t) for t in visit.targets if not t.detached),
                             return_exceptions=True)

    # --- rows ------------------------------------------------------------------------------------------------
    @classmethod
    def calls(cls, visit: VisitContext) -> dict[tuple, ApiUse]:
        """(script URL, frame URL, API index) -> use, from the recorders read and the real pauses."""
        state = cls.state(visit)
        epoch_at_start_ms = time.time() * 1000 - (time.monotonic() - visit.nav_start) * 1000
        calls: dict[tuple, ApiUse] = {}
        unattributed: dict[tuple, ApiUse] = {}  # (frame URL, API index) -> calls recorded without a stack
        for frame_url, entry in state.entries.values():
            index = entry.get("i")
            if not isinstance(index, int) or not 0 <= index < len(APIS):
                continue
            caller = entry.get("s") or ""
            values, value_ms = _values(entry, epoch_at_start_ms)
            returned = [r for r in (entry.get("r") or {}) if isinstance(r, str)]
            time_ms = int(entry["t"] - epoch_at_start_ms) if isinstance(entry.get("t"), (int, float)) else None
            if caller:
                key = (caller_script(caller) if caller != "~" else None, frame_url, index)
                calls.setdefault(key, ApiUse()).add(int(entry.get("n") or 0), values, time_ms, value_ms=value_ms,
                                                    site=caller if caller != "~" else None, returned=returned)
            else:
                unattributed.setdefault((frame_url, index), ApiUse()).add(int(entry.get("n") or 0), values, time_ms,
                                                                         value_ms=value_ms, returned=returned)
        # Calls without a stack were paused (up to MAX_PAUSES): those are attributed, the rest stays anonymous.
        for (frame_url, index), use in unattributed.items():
            paused = {k: n for k, n in state.paused.items() if k[1] == frame_url and k[2] == index}
            for key, n in paused.items():
                calls.setdefault(key, ApiUse()).add(n, use.values if len(paused) == 1 else (),
                                                    state.paused_first.get(key), value_ms=use.value_ms)
            rest = use.calls - sum(paused.values())
            if rest > 0:
                calls.setdefault((None, frame_url, index), ApiUse()).add(rest, () if paused else use.values,
                                                                        use.first_ms, value_ms=use.value_ms)
        for key, n in state.paused.items():  # paused in a document that could not be read any more
            if (key[1], key[2]) not in unattributed:
                calls.setdefault(key, ApiUse()).add(n, (), state.paused_first.get(key))
        return calls




class Fields(tuple):
    """A dictionary argument kept by the recorder, as sorted (field, value) pairs (hashable, like the rest)."""


def _kept(value: Any) -> Any:
    """One recorded argument, hashable: a list `{a: {0: ...}}` as a tuple, a dictionary `{o: {...}}` as Fields."""
    if isinstance(value, dict) and isinstance(value.get("a"), dict):
        return tuple(_kept(v) for v in _tuple(value["a"]))
    if isinstance(value, dict) and isinstance(value.get("o"), dict):
        return Fields(sorted((str(k), _kept(v)) for k, v in value["o"].items()))
    if isinstance(value, dict):
        return "[object]"
    return value




def _tuple(value: dict) -> tuple:
    """A recorded argument list (an object keyed 0..n) as a tuple."""
    return tuple(_kept(value[k]) for k in sorted(value, key=lambda k: int(k) if str(k).isdigit() else 0))




def _values(entry: dict, epoch_at_start_ms: float) -> tuple[list[tuple], dict[tuple, int]]:
    """A recorder entry's argument lists, and when each was first seen (ms from navigation start)."""
    values, value_ms = [], {}
    seen = entry.get("f") if isinstance(entry.get("f"), dict) else {}
    for key, value in (entry.get("v") or {}).items():
        if not isinstance(value, dict):
            continue
        values.append(_tuple(value))
        if isinstance(seen.get(key), (int, float)):
            value_ms[values[-1]] = int(seen[key] - epoch_at_start_ms)
    return values, value_ms


