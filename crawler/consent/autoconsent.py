"""Drive @duckduckgo/autoconsent (npm) in an isolated world of every frame, over CDP, invisible to the page.

The package's `dist/autoconsent.playwright.js` is its content script: it talks to a "background" through two
functions, `autoconsentSendMessage(msg)` (page → us) and `autoconsentReceiveMessage(msg)` (us → page). We put
both in a named isolated world, never in the page's: `Runtime.addBinding(executionContextName=WORLD)` gives the
world a binding whose calls arrive as `Runtime.bindingCalled`, and `Page.addScriptToEvaluateOnNewDocument(
worldName=WORLD)` runs a prelude (sendMessage → binding) and the content script in that world before the page's
first script, in every frame of every attached target. Answers go back with `Runtime.evaluate` in the same
isolated context; the rules' `eval` steps (rare: they ask a CMP's JavaScript API) run in the frame's main world,
the only moment the page could notice anything.

Messages (see the package's docs/api.md): `init` → we answer `initResp` with our config (no automatic action, no
prehiding, no cosmetic hiding: hiding a banner is not a rejection) and the full rule set; `cmpDetected`,
`popupFound` → we take the banner screenshot, then send `optOut` or `optIn`; `optOutResult` / `optInResult`,
`autoconsentDone`; then `selfTest` → `selfTestResult` (autoconsent's own check of the CMP state).
"""

from __future__ import annotations

import asyncio
import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mouchard.settings import node_modules_dirs

if TYPE_CHECKING:
    from crawler.browser.targets import Target
    from crawler.collectors.base import VisitContext

PACKAGE = "@duckduckgo/autoconsent"
WORLD = "mouchard-consent"
BINDING = "mouchardConsentMessage"
PRELUDE = f"""window.autoconsentSendMessage = (message) => {{
  try {{ window.{BINDING}(JSON.stringify(message)); }} catch (e) {{}}
  return Promise.resolve();
}};
"""
CONFIG = {
    "enabled": True, "autoAction": None, "disabledCmps": [], "enablePrehide": False, "enableCosmeticRules": False,
    "enableGeneratedRules": True, "enableHeuristicDetection": False, "enablePopupMutationObserver": False,
    "detectRetries": 20, "isMainWorld": False, "prehideTimeout": 2000, "visualTest": False,
    "logs": {k: False for k in ("lifecycle", "rulesteps", "detectionsteps", "evals", "errors", "messages", "waits")},
    "performanceLoggingEnabled": False, "heuristicPopupSearchTimeout": 100, "heuristicMode": "off",
}
EVAL_TIMEOUT = 3.0
CONTEXT_GONE = ("Cannot find context", "context was destroyed", "target detached", "Target closed")


MISSING_AUTOCONSENT = (f"npm package {PACKAGE} not installed: banners are found by mouchard's own rules only "
                       "(run scripts/setup.sh)")


def split_rules(rules_text: str) -> tuple[str, str]:
    """The rule bundle for top-level documents and the (much smaller) one for iframes, as JSON texts.

    A rule runs in the main frame unless its `runContext` says `main: false`, in iframes only with `frame: true`
    (autoconsent's defaults); sending an ad iframe only the frame rules saves ~650 KB per frame.
    """
    rules = json.loads(rules_text).get("autoconsent") or []
    main = [r for r in rules if (r.get("runContext") or {}).get("main", True) is not False]
    frame = [r for r in rules if (r.get("runContext") or {}).get("frame", False) is True]
    return json.dumps({"autoconsent": main}), json.dumps({"autoconsent": frame})


@functools.lru_cache(maxsize=2)
def load_autoconsent(folder: str | None = None) -> tuple[str, str, str] | None:
    """(content script, rules JSON text, version) of the installed package, or None when npm did not install it."""
    candidates = [Path(folder)] if folder else [d / PACKAGE for d in node_modules_dirs()]
    for root in candidates:
        script, rules = root / "dist" / "autoconsent.playwright.js", root / "rules" / "rules.json"
        if script.is_file() and rules.is_file():
            try:
                version = json.loads((root / "package.json").read_text(encoding="utf-8")).get("version", "")
            except (OSError, ValueError):
                version = ""
            return script.read_text(encoding="utf-8"), rules.read_text(encoding="utf-8"), version
    return None


@dataclass
class Popup:
    """A banner autoconsent found: which CMP, in which target and isolated context."""

    cmp: str
    target: "Target"
    context_id: int
    url: str = ""


@dataclass
class AutoconsentRun:
    """autoconsent's side of one visit: messages received and what they said."""

    script: str
    rules_json: str
    version: str
    frame_rules_json: str | None = None  # rules for iframes (split_rules); all rules when None
    messages: list[dict] = field(default_factory=list)
    detected: list[str] = field(default_factory=list)
    popup: Popup | None = None
    result: bool | None = None
    done: bool = False
    self_test: bool | None = None
    errors: list[str] = field(default_factory=list)
    # target id -> {isolated context id -> frame id}, {frame id -> main-world context id}
    contexts: dict[str, dict[str, dict]] = field(default_factory=dict)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    # --- set-up, per target --------------------------------------------------------------------------------
    async def install(self, target: "Target") -> None:
        """Binding and content script in our isolated world of this target's frames (before its first script)."""
        await target.send("Runtime.enable")
        await target.send("Runtime.addBinding", {"name": BINDING, "executionContextName": WORLD})
        await target.send("Page.addScriptToEvaluateOnNewDocument", {
            "source": PRELUDE + self.script, "worldName": WORLD, "runImmediately": True})

    def context_created(self, target: "Target", params: dict) -> None:
        context = params.get("context") or {}
        aux = context.get("auxData") or {}
        frames = self.contexts.setdefault(target.target_id, {"isolated": {}, "main": {}})
        if aux.get("isDefault"):
            frames["main"][aux.get("frameId")] = context.get("id")
        elif context.get("name") == WORLD:
            frames["isolated"][context.get("id")] = aux.get("frameId")

    # --- messages ------------------------------------------------------------------------------------------
    async def binding_called(self, visit: "VisitContext", target: "Target", params: dict) -> None:
        if params.get("name") != BINDING:
            return
        try:
            message = json.loads(params.get("payload") or "{}")
        except ValueError:
            return
        context_id = params.get("executionContextId")
        kind = message.get("type")
        if kind != "report":
            self.messages.append({k: v for k, v in message.items() if k != "code"} | {"time_ms": visit.elapsed_ms()})
        if kind == "init":
            rules = self.rules_json
            if self.frame_rules_json is not None and not self._is_main_frame(target, context_id):
                rules = self.frame_rules_json
            await self.reply(target, context_id, {"type": "initResp", "config": CONFIG, "rules": _RawJson(rules)})
        elif kind == "eval":
            result = await self._eval_in_main_world(target, context_id, message.get("code") or "")
            await self.reply(target, context_id, {"type": "evalResp", "id": message.get("id"), "result": result})
        elif kind == "cmpDetected":
            self.detected.append(message.get("cmp", ""))
        elif kind == "popupFound" and self.popup is None:
            self.popup = Popup(message.get("cmp", ""), target, context_id, message.get("url", ""))
        elif kind in ("optOutResult", "optInResult"):
            self.result = bool(message.get("result"))
        elif kind == "autoconsentDone":
            self.done = True
        elif kind == "selfTestResult":
            self.self_test = bool(message.get("result"))
        elif kind == "autoconsentError":
            self.errors.append(str(message.get("details"))[:300])
        self.changed.set()

    def _is_main_frame(self, target: "Target", context_id: int | None) -> bool:
        """The page's top-level document (a page target's main frame has the target's id)."""
        frame_id = self.contexts.get(target.target_id, {}).get("isolated", {}).get(context_id)
        if frame_id is None:
            return target.type == "page"
        return target.type == "page" and frame_id == target.target_id

    async def reply(self, target: "Target", context_id: int | None, message: dict) -> None:
        text = _dumps(message)
        params: dict[str, Any] = {"expression": f"window.autoconsentReceiveMessage({text})", "silent": True,
                                  "awaitPromise": False}
        if context_id is not None:
            params["contextId"] = context_id
        try:
            await target.send("Runtime.evaluate", params, timeout=EVAL_TIMEOUT)
        except Exception as exc:
            if not any(gone in str(exc) for gone in CONTEXT_GONE):  # the frame navigated away: nothing to answer
                self.errors.append(f"reply {message.get('type')}: {exc}"[:300])

    async def _eval_in_main_world(self, target: "Target", isolated_id: int | None, code: str) -> Any:
        frames = self.contexts.get(target.target_id, {"isolated": {}, "main": {}})
        frame_id = frames["isolated"].get(isolated_id)
        main_id = frames["main"].get(frame_id) if frame_id else None
        params: dict[str, Any] = {"expression": code, "returnByValue": True, "awaitPromise": True, "silent": True}
        if main_id is not None:
            params["contextId"] = main_id
        try:
            answer = await target.send("Runtime.evaluate", params, timeout=EVAL_TIMEOUT)
        except Exception:
            return False
        return (answer.get("result") or {}).get("value", False)

    # --- driving -------------------------------------------------------------------------------------------
    async def wait_for(self, predicate, timeout: float) -> bool:
        """Wait until `predicate()` holds (re-checked on every message), at most `timeout` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), remaining)
            except asyncio.TimeoutError:
                return predicate()
        return True

    async def act(self, action: str, timeout: float) -> bool | None:
        """Send optOut/optIn to the frame that found the popup; the result (None if none came in time)."""
        if self.popup is None:
            return None
        await self.reply(self.popup.target, self.popup.context_id, {"type": "optOut" if action == "reject" else "optIn"})
        await self.wait_for(lambda: self.result is not None, timeout)
        return self.result

    async def self_check(self, timeout: float) -> bool | None:
        if self.popup is None or self.result is None:
            return None
        await self.reply(self.popup.target, self.popup.context_id, {"type": "selfTest"})
        await self.wait_for(lambda: self.self_test is not None, timeout)
        return self.self_test


class _RawJson:
    """Pre-serialised JSON (the 700 KB rule set is read once, never re-encoded per frame)."""

    def __init__(self, text: str):
        self.text = text


def _dumps(message: dict) -> str:
    raw = {k: v for k, v in message.items() if isinstance(v, _RawJson)}
    if not raw:
        return json.dumps(message)
    plain = json.dumps({k: v for k, v in message.items() if k not in raw})
    extra = ",".join(f"{json.dumps(k)}:{v.text}" for k, v in raw.items())
    return plain[:-1] + ("," if plain != "{}" else "") + extra + "}"
