"""CDP sessions of one visit: the page, and every target the browser auto-attaches below it.

Playwright's client CDP session drops messages of flattened child sessions, so children are attached the
non-flattened way: `Target.setAutoAttach(flatten=False)`, commands through `Target.sendMessageToTarget`, answers
and events through `Target.receivedMessageFromTarget`. That works at any depth (a worker in an out-of-process
iframe) and needs no debugging port, which a page could find by scanning localhost.

Every target is paused when it starts (`waitForDebuggerOnStart`) until the collectors' `attach` hooks ran.
Caveat measured on Chromium 156: Playwright attaches too and resumes dedicated workers as soon as it is ready,
so a worker's very first request can happen before our Network domain is on (see network.py's backfill).

Only targets of the visit's page tree are attached: the browser's own traffic (updates, safe browsing, component
updater) belongs to no such target and is never seen here.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from playwright.async_api import CDPSession

log = logging.getLogger("mouchard.targets")
PAUSE_COMMANDS = 4  # command timeouts a pause handler gets in all (it sends a short sequence while the page waits)

EventHandler = Callable[["Target", dict], "Awaitable[None] | None"]
ContextHandler = Callable[["Target", dict, dict], Awaitable[None]]
AUTO_ATTACH = {"autoAttach": True, "waitForDebuggerOnStart": True, "flatten": False}
# Target types whose network and storage belong to the visit. Others (e.g. "other", "webview") are resumed
# and detached at once, and counted.
VISIT_TARGET_TYPES = ("page", "iframe", "worker", "shared_worker", "service_worker", "auction_worklet",
                      "shared_storage_worklet")


class HubVisit(Protocol):
    """What the hub needs of a visit (`crawler.collectors.base.VisitContext` is one): the contract's module uses
    this one, never the other way round."""

    hook_timeout: float

    def count(self, key: str, n: int = 1) -> None: ...


class HubCollector(Protocol):
    """What the hub needs of a collector (`crawler.collectors.base.Collector` is one): a name and `attach`."""

    name: str

    async def attach(self, visit: Any, target: "Target") -> None: ...


class CDPError(Exception):
    """A CDP command failed, timed out, or its target went away."""


class Target:
    """One attached target. `send()` works for the page (direct) and for children (through the parent)."""

    _ids = itertools.count(1)

    def __init__(self, hub: "TargetHub", target_id: str, type_: str, url: str, *,
                 session_id: str | None = None, parent: "Target | None" = None, cdp: "CDPSession | None" = None):
        self.hub = hub
        self.target_id = target_id
        self.type = type_
        self.url = url
        self.session_id = session_id
        self.parent = parent
        self.cdp = cdp  # only the page target talks to Playwright's session directly
        self.children: dict[str, Target] = {}
        self.scripts: dict[str, tuple[str, int | None]] = {}  # scriptId -> (URL, executionContextId)
        self.contexts: dict[int, dict] = {}  # executionContextId -> Runtime.ExecutionContextDescription
        self.hooked_contexts: set[int] = set()
        self.debugging = False
        self.detached = False
        self._pending: dict[int, asyncio.Future] = {}
        self.state: dict[str, Any] = {}  # per-target scratch space for collectors, keyed by collector name

    def __repr__(self) -> str:
        return f"Target({self.type} {self.url[:80]!r})"

    async def send(self, method: str, params: dict | None = None, *, timeout: float | None = None) -> dict:
        """Run a CDP command on this target; raises CDPError on protocol error, timeout or detach."""
        timeout = self.hub.command_timeout if timeout is None else timeout
        if self.detached:
            raise CDPError(f"{method}: target detached")
        try:
            if self.cdp is not None:
                return await asyncio.wait_for(self.cdp.send(method, params or {}), timeout)
            return await asyncio.wait_for(self._send_child(method, params or {}), timeout)
        except asyncio.TimeoutError:
            raise CDPError(f"{method}: no answer within {timeout:g} s") from None
        except CDPError:
            raise
        except Exception as exc:  # Playwright's Error/TargetClosedError
            raise CDPError(f"{method}: {exc}".splitlines()[0]) from None

    async def _send_child(self, method: str, params: dict) -> dict:
        assert self.parent is not None and self.session_id is not None
        message_id = next(self._ids)
        future = asyncio.get_running_loop().create_future()
        self._pending[message_id] = future
        try:
            await self.parent.send("Target.sendMessageToTarget", {
                "sessionId": self.session_id,
                "message": json.dumps({"id": message_id, "method": method, "params": params})})
            return await future
        finally:
            self._pending.pop(message_id, None)

    def _deliver(self, message: dict) -> None:
        """A message from this child target: an answer to one of our commands, or an event."""
        if "id" in message:
            future = self._pending.get(message["id"])
            if future is not None and not future.done():
                if "error" in message:
                    future.set_exception(CDPError(f"{message['error'].get('message', 'error')}"))
                else:
                    future.set_result(message.get("result", {}))
            return
        method = message.get("method")
        if method:
            self.hub.dispatch(self, method, message.get("params") or {})

    def script_url(self, call_frames: list[dict]) -> str | None:
        """URL of the first script with one on a paused call stack (inline scripts carry the document's URL)."""
        for frame in call_frames:
            url = self.scripts.get(frame.get("location", {}).get("scriptId"), ("", None))[0] or frame.get("url")
            if url:
                return url
        return None

    def context_of(self, call_frames: list[dict]) -> int | None:
        """Execution context of the top call frame."""
        if not call_frames:
            return None
        return self.scripts.get(call_frames[0].get("location", {}).get("scriptId"), ("", None))[1]

    def _detach(self) -> None:
        self.detached = True
        for future in self._pending.values():
            if not future.done():
                future.set_exception(CDPError("target detached"))
        for child in self.children.values():
            child._detach()


class TargetHub:
    """Owns the visit's CDP targets, dispatches their events to collectors, and coordinates debugger pauses."""

    def __init__(self, visit: HubVisit, collectors: list[HubCollector], *, command_timeout: float = 5.0,
                 on_hook_error: Callable[[str, str, BaseException], None] | None = None):
        self.visit = visit
        self.collectors = collectors
        self.command_timeout = command_timeout
        self.on_hook_error = on_hook_error or (lambda name, hook, exc: log.warning("%s.%s: %s", name, hook, exc))
        # class name -> collector name, base classes too (a CallRecorder's handlers are named after the base)
        self._collector_names: dict[str, str] = {}
        for collector in collectors:
            for cls in type(collector).__mro__[:-1]:
                self._collector_names.setdefault(cls.__name__, collector.name)
        self.targets: list[Target] = []
        self.page: Target | None = None
        self._handlers: dict[str, list[EventHandler]] = {}
        self._pause_handlers: list[EventHandler] = []
        self._context_handlers: list[ContextHandler] = []
        self._page_subscribed: set[str] = set()
        self._tasks: set[asyncio.Task] = set()
        self.closed = False

    # --- set-up ----------------------------------------------------------------------------------------------
    async def start(self, cdp: "CDPSession") -> Target:
        """Attach to the page through Playwright's CDP session, run `attach` hooks, turn on auto-attach."""
        info = await asyncio.wait_for(cdp.send("Target.getTargetInfo"), self.command_timeout)
        target_info = info.get("targetInfo", {})
        self.page = Target(self, target_info.get("targetId", ""), "page", target_info.get("url", ""), cdp=cdp)
        self.targets.append(self.page)
        for method in ("Target.attachedToTarget", "Target.detachedFromTarget", "Target.receivedMessageFromTarget",
                       "Debugger.paused", "Debugger.scriptParsed", "Runtime.executionContextCreated", *self._handlers):
            self._subscribe_page(method)
        await self._attach_hooks(self.page)
        await self.page.send("Target.setAutoAttach", AUTO_ATTACH)
        return self.page

    def _subscribe_page(self, method: str) -> None:
        if method in self._page_subscribed or self.page is None or self.page.cdp is None:
            return
        self._page_subscribed.add(method)
        page = self.page
        # Straight on Playwright's implementation object when there is one: its public `on` wraps every handler in a
        # function that runs `inspect.signature` on each event, and a page whose scripts call watched APIs
        # thousands of times sends thousands of `Debugger.scriptParsed` (one per breakpoint condition evaluated).
        emitter = getattr(page.cdp, "_impl_obj", page.cdp)
        emitter.on(method, lambda params, m=method: self.dispatch(page, m, params))

    def on(self, method: str, handler: EventHandler) -> None:
        self._handlers.setdefault(method, []).append(handler)
        self._subscribe_page(method)

    def on_pause(self, handler: EventHandler) -> None:
        self._pause_handlers.append(handler)

    def on_new_context(self, handler: ContextHandler) -> None:
        """`await handler(target, context, call_frame)` for each page or frame main-world JavaScript context,
        while it is paused at its first script statement (DevTools' "script first statement" breakpoint)."""
        self._context_handlers.append(handler)

    # --- events ----------------------------------------------------------------------------------------------
    def spawn(self, coro: Awaitable) -> None:
        """Run a coroutine in the background, kept until `drain()` (handlers' async work)."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None and not self.closed:
            exc = task.exception()
            if not isinstance(exc, CDPError):
                self.on_hook_error("hub", "event", exc)

    async def drain(self, timeout: float) -> None:
        """Wait (bounded) for background work started by event handlers."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout)

    def dispatch(self, target: Target, method: str, params: dict) -> None:
        """Route one event: child-session plumbing first, then collectors' handlers (sync or async)."""
        if self.closed:
            return
        if method == "Target.receivedMessageFromTarget":
            child = target.children.get(params.get("sessionId", ""))
            if child is not None:
                try:
                    message = json.loads(params.get("message") or "{}")
                except ValueError:
                    return
                child._deliver(message)
            return
        if method == "Target.attachedToTarget":
            self.spawn(self._attached(target, params))
            return
        if method == "Target.detachedFromTarget":
            child = target.children.get(params.get("sessionId", ""))
            if child is not None:
                child._detach()
            return
        if method == "Debugger.paused":
            self.spawn(self._paused(target, params))
            return
        if method == "Debugger.scriptParsed":
            target.scripts[params.get("scriptId", "")] = (params.get("url") or "", params.get("executionContextId"))
        elif method == "Runtime.executionContextCreated":
            context = params.get("context") or {}
            target.contexts[context.get("id")] = context
        for handler in self._handlers.get(method, ()):
            try:
                result = handler(target, params)
            except Exception as exc:  # a collector's bug must not stop the visit
                self.on_hook_error(self._owner(handler), method, exc)
                continue
            if asyncio.iscoroutine(result):
                self.spawn(result)

    async def _attached(self, parent: Target, params: dict) -> None:
        info = params.get("targetInfo", {})
        child = Target(self, info.get("targetId", ""), info.get("type", "other"), info.get("url", ""),
                       session_id=params.get("sessionId"), parent=parent)
        parent.children[child.session_id or ""] = child
        if child.type not in VISIT_TARGET_TYPES:
            self.visit.count(f"targets/ignored/{child.type}")
            await self._resume(child)
            try:
                await parent.send("Target.detachFromTarget", {"sessionId": child.session_id})
            except CDPError:
                pass
            child._detach()
            return
        self.targets.append(child)
        self.visit.count(f"targets/{child.type}")
        await self._attach_hooks(child)
        if child.type in ("iframe", "page", "worker", "shared_worker", "service_worker"):
            try:  # children of children: workers of an out-of-process iframe, nested iframes
                await child.send("Target.setAutoAttach", AUTO_ATTACH)
            except CDPError:
                pass
        await self._resume(child)

    async def _resume(self, target: Target) -> None:
        try:
            await target.send("Runtime.runIfWaitingForDebugger")
        except CDPError:
            pass

    async def _attach_hooks(self, target: Target) -> None:
        # The collectors' attach hooks run side by side: their CDP commands are pipelined, not one round trip after
        # another, while the target waits. Each starts in collector order and subscribes before its first await.
        async def attach(collector: HubCollector) -> None:
            try:
                await asyncio.wait_for(collector.attach(self.visit, target), self.visit.hook_timeout)
            except Exception as exc:
                if not target.detached:
                    self.on_hook_error(collector.name, "attach", exc)

        await asyncio.gather(*(attach(collector) for collector in self.collectors))
        if self._context_handlers and target.type in ("page", "iframe"):
            await self.debug(target)

    async def debug(self, target: Target) -> None:
        """Debugger and Runtime on, and a pause at every script's first statement (idempotent)."""
        if target.debugging:
            return
        target.debugging = True
        try:
            await target.send("Runtime.enable")
            await target.send("Debugger.enable", {"maxScriptsCacheSize": 0})
            await target.send("DOMDebugger.setInstrumentationBreakpoint", {"eventName": "scriptFirstStatement"})
        except CDPError as exc:
            if not target.detached:
                self.on_hook_error("hub", "debug", exc)

    def _owner(self, handler: Callable) -> str:
        """The name of the collector a handler belongs to (its class, from the handler's qualified name), for
        `failures.component`: `fingerprinting`, not `RecordFingerprinting.attach.<locals>.<lambda>`."""
        owner = str(getattr(handler, "__qualname__", "hub")).split(".")[0]
        return self._collector_names.get(owner, owner)

    async def _paused(self, target: Target, params: dict) -> None:
        """New contexts get their hooks first; every pause handler sees the pause; the target resumes once.

        A handler sends a few commands in sequence while the page waits (arming a new document: a probe, a
        breakpoint, the catalogue's breakpoints, re-arms), so it gets PAUSE_COMMANDS command timeouts in all:
        one command's bound for the whole sequence ended visits as partial on a loaded machine."""
        frames = params.get("callFrames") or []
        context_id = target.context_of(frames)
        if context_id is not None and context_id not in target.hooked_contexts and self._context_handlers:
            context = target.contexts.get(context_id) or {}
            target.hooked_contexts.add(context_id)
            if (context.get("auxData") or {}).get("isDefault") and str(context.get("origin", "")).startswith("http"):
                for handler in self._context_handlers:
                    try:
                        await asyncio.wait_for(handler(target, context, frames[0]),
                                               self.command_timeout * PAUSE_COMMANDS)
                    except Exception as exc:
                        if not target.detached and not isinstance(exc, CDPError):
                            self.on_hook_error(self._owner(handler), "new context", exc)
        for handler in self._pause_handlers:
            try:
                result = handler(target, params)
                if asyncio.iscoroutine(result):
                    await asyncio.wait_for(result, self.command_timeout * PAUSE_COMMANDS)
            except Exception as exc:
                if not target.detached and not isinstance(exc, CDPError):
                    self.on_hook_error(self._owner(handler), "Debugger.paused", exc)
        try:
            await target.send("Debugger.resume")
        except CDPError:
            pass

    def close(self) -> None:
        """Stop dispatching; pending commands fail fast."""
        self.closed = True
        for target in self.targets:
            target._detach()
        for task in list(self._tasks):
            task.cancel()
