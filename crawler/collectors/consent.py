"""RecordConsent: the consent phase of a visit — the banner, the action taken on it, whether it took, and every
consent signal the page held or sent (rows of `consent`, the banner screenshot in `evidence_files`).

Phases (`visit.phase`): `initial` looks and never clicks; `reject` and `accept` find the banner, read the state,
screenshot the banner, click (autoconsent when installed, else our rules, else the generic multilingual texts),
let the page react, and verify at the end; `gpc` sends Global Privacy Control (crawler/consent/gpc.py) and never
clicks; `revoke` accepts, then reopens the consent UI and withdraws, and `second-site` rejects as `reject` does
after the spider rejected on another site in the same page (crawler/consent/sequences.py; their `steps` in the
action row). The moment of the click is published as `visit.shared.consent_action_ms` (the cookies collector marks
`before_consent` with it), the withdrawal's as `visit.shared.withdrawal_ms`. docs/consent.md describes every row.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from crawler.browser.dwell import wait_quiet
from crawler.collectors.base import Collector, Ref, Rows, VisitContext
from crawler.consent import clicker, gpc, layout, sequences
from crawler.consent.autoconsent import MISSING_AUTOCONSENT, AutoconsentRun, load_autoconsent, split_rules
from crawler.consent.readers import Reading, read_state
from crawler.consent.rows import as_json, layout_columns, reading_rows, wire_rows
from crawler.consent.rules import CmpRule
from crawler.consent.texts import ACCEPT_RE
from crawler.consent.verify import verify_action
from mouchard.decode.consent import parse_gpc_json

if TYPE_CHECKING:
    from crawler.browser.targets import Target

ACTIONS = {"reject": "reject", "accept": "accept"}
# The sequences (crawler/consent/sequences.py): revoke accepts first, second-site rejects on B after site A.
ACTIONS.update({"revoke": "accept", "second-site": "reject"})
BANNER_REF = "consent-banner"
AFTER_REF = "consent-after"  # the page once the banner reacted to the click


@dataclass
class ConsentState:
    """What the collector learnt during one visit."""

    autoconsent: AutoconsentRun | None = None
    gpc_method: str | None = None
    rule: CmpRule | None = None
    cmp: str | None = None
    detected_by: str | None = None  # autoconsent, rule, generic
    banner_visible: bool = False
    reject_first_layer: int | None = None
    screenshot: str | None = None
    before: Reading | None = None
    action: str = "none"
    action_method: str | None = None
    action_ms: int | None = None
    clicked: list[dict] = field(default_factory=list)
    banner_after: bool | None = None
    self_test: bool | None = None
    reloaded_ms: int | None = None
    notes: list[str] = field(default_factory=list)
    steps: list[dict] | None = None  # the revoke sequence's steps (crawler/consent/sequences.py)
    step_files: list[tuple[str, str]] = field(default_factory=list)  # (label, path) of its screenshots
    after: Reading | None = None  # the page's consent state read before the visit leaves it (before_leave)
    statement: dict | None = None  # the gpc phase's /.well-known/gpc.json row, fetched before leaving
    statement_read: bool = False
    layout: dict | None = None  # crawler/consent/layout.py: measured with the banner screenshot
    screenshot_after: str | None = None


class RecordConsent(Collector):
    """consent rows per visit and phase; acts on the banner in the reject and accept phases."""

    name = "consent"
    order = 400  # acts on the banner in after_load: before the collectors that read the page's final state
    tables = ("consent", "evidence_files")

    def __init__(self, *, use_autoconsent: bool = True, evidence_root: str | None = None, wait: float = 6.0,
                 react: float = 2.5, reload: bool = True):
        self.autoconsent = load_autoconsent() if use_autoconsent else None
        self.autoconsent_missing = use_autoconsent and self.autoconsent is None
        self.autoconsent_rules = split_rules(self.autoconsent[1]) if self.autoconsent else None
        self.evidence_root = evidence_root
        self.wait = wait  # seconds to wait for a banner in the reject/accept phases
        self.react = react  # seconds the page gets to react to the click (its network quiet for 0.75 s ends it)
        self.reload = reload  # load the page again after the action, as a person browsing on would

    @classmethod
    def from_crawler(cls, crawler: Any) -> "RecordConsent":
        from crawler.settings import evidence_dir_of, run_settings

        switches = run_settings(crawler.settings).collectors
        return cls(use_autoconsent=switches.autoconsent, evidence_root=evidence_dir_of(crawler.settings),
                   wait=switches.consent_wait, reload=switches.consent_reload)

    def missing_dependencies(self) -> list[str]:
        """autoconsent asked for but not installed: banners are then found by our own rules only."""
        return [MISSING_AUTOCONSENT] if self.autoconsent_missing else []

    @staticmethod
    def state(visit: VisitContext) -> ConsentState:
        return visit.own(RecordConsent, ConsentState)

    # --- before the page runs ------------------------------------------------------------------------------
    async def attach(self, visit: VisitContext, target: "Target") -> None:
        state = self.state(visit)
        if visit.phase == "gpc":
            await self._attach_gpc(visit, target, state)
        if visit.phase in ACTIONS and self.autoconsent and target.type in ("page", "iframe"):
            if state.autoconsent is None:
                script, _, version = self.autoconsent
                main_rules, frame_rules = self.autoconsent_rules
                run = state.autoconsent = AutoconsentRun(script, main_rules, version, frame_rules)
                visit.on("Runtime.bindingCalled", lambda t, p: run.binding_called(visit, t, p))
                visit.on("Runtime.executionContextCreated", run.context_created)
            await state.autoconsent.install(target)

    async def _attach_gpc(self, visit: VisitContext, target: "Target", state: ConsentState) -> None:
        if state.gpc_method is None:  # the page target comes first, on about:blank
            state.gpc_method = "chromium-feature" if await gpc.native_gpc(target) else "cdp-fallback"
            visit.count(f"consent/gpc/{state.gpc_method}")
        if state.gpc_method == "cdp-fallback":
            await gpc.install_fallback(target)

    # --- after load: find the banner, act ------------------------------------------------------------------
    async def after_load(self, visit: VisitContext) -> None:
        state = self.state(visit)
        page = visit.page
        if page is None or page.is_closed() or visit.status not in ("ok", "http-error"):
            return
        action = ACTIONS.get(visit.phase)
        budget = max(1.0, visit.hook_timeout - 1.5)
        started = time.monotonic()
        await self._find_banner(visit, state, wait=min(self.wait, budget * 0.45) if action else 0.0)
        if state.banner_visible:
            await self._screenshot(visit, state)
            reject = await clicker.first_layer_reject(page, state.rule)
            state.reject_first_layer = int(reject is not None)
            await self._measure_layout(visit, state, reject)
        if action is None or not state.banner_visible:
            return
        state.before = await read_state(visit, "none")
        remaining = budget - (time.monotonic() - started)
        await self._act(visit, state, action, max(1.0, remaining - self.react))
        if state.action == "none":
            return

        def left() -> float:
            return budget - (time.monotonic() - started)

        await self._let_page_react(visit, min(1.0, max(0.3, left())))
        await self._screenshot(visit, state, after=True)
        if state.rule is not None:
            state.banner_after = await clicker.visible_control(page, state.rule.banner, state.rule.frame) is not None
        if state.autoconsent is not None and state.action_method == "autoconsent" and state.action == "reject":
            state.self_test = await state.autoconsent.self_check(min(1.5, max(0.2, left())))
        if visit.phase == "revoke":
            await self._revoke(visit, state, left)
        if self.reload and left() > 1.0:
            # A person goes on browsing: the next page load shows whether tracking stops after a refusal.
            try:
                state.reloaded_ms = visit.elapsed_ms()
                await page.reload(wait_until="load", timeout=max(1.0, left() - 0.5) * 1000)
            except Exception as exc:
                state.notes.append(f"reload after the action failed: {str(exc).splitlines()[0][:120]}")
        await self._let_page_react(visit, min(self.react, max(0.3, left())))

    async def _find_banner(self, visit: VisitContext, state: ConsentState, wait: float) -> None:
        """Poll for a visible banner: autoconsent's popupFound, a rule's banner, or generic texts."""
        page = visit.page
        deadline = time.monotonic() + wait
        while True:
            run = state.autoconsent
            if run is not None and run.popup is not None:
                state.detected_by, state.banner_visible = "autoconsent", True
                state.rule, _ = await clicker.detect_rule(page)
                state.cmp = state.rule.name if state.rule else run.popup.cmp
                return
            rule, visible = await clicker.detect_rule(page)
            if rule is not None:
                state.rule, state.cmp = rule, rule.name
            if visible:
                state.detected_by, state.banner_visible = "rule", True
                if run is not None:  # autoconsent is preferred: give it a moment to report the same banner
                    await run.wait_for(lambda: run.popup is not None, max(0.0, min(2.0, deadline - time.monotonic())))
                    if run.popup is not None:
                        state.detected_by = "autoconsent"
                return
            # Both texts looked for at once: on the many pages without a banner, neither is found, and the two
            # searches of every frame cost one wait instead of two.
            reject, accept = await asyncio.gather(clicker.first_layer_reject(page, None),
                                                  clicker.text_control(page, ACCEPT_RE))
            generic = reject or accept
            if generic is not None and (rule is None or time.monotonic() >= deadline):
                state.detected_by, state.banner_visible = "generic", True
                return
            if time.monotonic() >= deadline:
                if run is not None and run.detected and state.cmp is None:
                    state.cmp = run.detected[0]
                return
            await asyncio.sleep(0.3)

    async def _act(self, visit: VisitContext, state: ConsentState, action: str, timeout: float) -> None:
        page = visit.page
        run = state.autoconsent
        if run is not None and run.popup is not None:
            self._mark_action(visit, state)
            result = await run.act(action, timeout=min(timeout, 5.0))
            if result:
                state.action, state.action_method = action, "autoconsent"
                state.clicked.append({"by": "autoconsent", "cmp": run.popup.cmp, "frame_url": run.popup.url})
                return
            state.notes.append(f"autoconsent {'opt-out' if action == 'reject' else 'opt-in'} "
                               f"{'failed' if result is False else 'gave no result'} on {run.popup.cmp}")
        if state.action_ms is None:
            self._mark_action(visit, state)
        result = await clicker.act(page, action, state.rule)
        state.clicked.extend({"selector": c.selector, "text": c.text, "frame_url": c.frame_url} for c in result.clicked)
        if result.ok:
            state.action, state.action_method = action, result.method
        elif not result.clicked:
            visit.shared.consent_action_ms = None  # nothing was clicked: no consent moment
            state.action_ms = None
            state.notes.append(f"no {action} control found on the banner")
        else:
            state.action, state.action_method = action, result.method
            state.notes.append(f"{action} path incomplete: clicked {len(result.clicked)} control(s)")

    async def _revoke(self, visit: VisitContext, state: ConsentState, left: Any) -> None:
        """revoke phase, after the accept click: verify it, reopen the consent UI, withdraw (the steps)."""
        shots = sequences.Shots(os.path.dirname(self._banner_path(visit) or "") or None,
                                os.path.basename(self._banner_path(visit) or "x-banner.png")[:-len("-banner.png")])
        await self._let_page_react(visit, min(self.react, max(0.3, left() - 8)))
        accepted = await read_state(visit, "accept")
        verdict = verify_action("accept", state.before, accepted, self_test=state.self_test,
                                banner_still_visible=state.banner_after)
        after_accept = await shots.take(visit.page, "accept-after")
        banner = sequences.file_sha256(state.screenshot)
        state.steps = [sequences.accept_step(time_ms=state.action_ms, method=state.action_method,
                                             clicked=list(state.clicked), verdict=verdict, before=banner,
                                             after=after_accept)]
        state.steps += await sequences.withdraw(
            visit, rule=state.rule, accepted=accepted, shots=shots, read=lambda action: read_state(visit, action),
            react=lambda limit: self._let_page_react(visit, limit), left=left)
        state.step_files = shots.files

    @staticmethod
    def _sequence(visit: VisitContext, state: ConsentState, row: dict, evidence: list[dict]) -> None:
        """The revoke and second-site action rows: `steps`, their screenshots, and (revoke) the action."""
        files: list[tuple[str, str]] = []
        if visit.phase == "revoke" and state.steps is not None:
            row["steps"] = as_json(state.steps)
            row["action"] = "revoke"
            row["verified"], row["verification"] = sequences.sequence_outcome(state.steps)
            files = state.step_files
        elif visit.phase == "second-site":
            priming = visit.shared.priming
            row["steps"] = as_json(sequences.second_site_steps(priming, visit.site))
            files = list((priming or {}).get("files") or [])
        for label, path in files:
            evidence.append({"_ref": f"consent-step-{label}", "_path": path, "documents": "consent-step",
                             "media_type": "image/png"})

    @staticmethod
    def _mark_action(visit: VisitContext, state: ConsentState) -> None:
        state.action_ms = visit.elapsed_ms()
        visit.shared.consent_action_ms = state.action_ms

    @staticmethod
    async def _let_page_react(visit: VisitContext, limit: float) -> None:
        """After the click: until the network is quiet for 0.75 s, at most `limit` seconds."""
        await wait_quiet(lambda: len(visit.requests), quiet=0.75, limit=limit)

    async def _screenshot(self, visit: VisitContext, state: ConsentState, after: bool = False) -> None:
        path = self._banner_path(visit)
        if path is None:
            return
        if after:  # the page once the banner reacted to the click, beside the banner before it
            path = path[:-len(".png")] + "-after.png"
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            await asyncio.wait_for(visit.page.screenshot(path=path, timeout=4000, animations="disabled"), 5)
            if after:
                state.screenshot_after = path
            else:
                state.screenshot = path
        except Exception:
            visit.count("consent/screenshot_failed")

    @staticmethod
    async def _measure_layout(visit: VisitContext, state: ConsentState, reject: "clicker.Control | None") -> None:
        """The banner's layout facts (crawler/consent/layout.py), in an isolated world; a failure is counted and
        recorded in the layout, never a failed visit."""
        targets = visit.hub.targets if visit.hub is not None else []
        run = state.autoconsent
        found = layout.Banner(rule=state.rule, reject=reject, detected_by=state.detected_by,
                              popup_url=run.popup.url if run is not None and run.popup is not None else None)
        state.layout = await layout.measure(visit.page, found, targets)
        visit.count("consent/layout_failed" if "error" in state.layout else "consent/layout_measured")

    def _banner_path(self, visit: VisitContext) -> str | None:
        shot = visit.evidence.screenshot
        folder = os.path.dirname(shot) if shot else None
        folder = folder or (os.path.join(self.evidence_root, "banners") if self.evidence_root else None)
        if folder is None:
            return None
        digest = hashlib.sha1(visit.key.encode("utf-8")).hexdigest()[:16]
        return os.path.join(folder, f"{digest}-{visit.phase}-banner.png")

    # --- before the page is left: its final consent state and the site's GPC statement -----------------------
    async def before_leave(self, visit: VisitContext) -> None:
        state = self.state(visit)
        if visit.page is not None and not visit.page.is_closed():
            state.after = await read_state(visit, state.action)
        if visit.phase == "gpc" and state.after is not None:
            state.statement, state.statement_read = await self._gpc_statement(visit, state.after), True

    # --- rows ----------------------------------------------------------------------------------------------
    async def collect(self, visit: VisitContext) -> Rows:
        state = self.state(visit)
        page_alive = visit.page is not None and not visit.page.is_closed()
        after = state.after
        if after is None:  # not read before leaving (the hook failed): what the page says now, if anything
            after = await read_state(visit, state.action) if page_alive else Reading(visit.elapsed_ms(), state.action)
        rows: list[dict] = []
        if state.before is not None:
            rows.extend(reading_rows(state.before, state.cmp))
        rows.extend(reading_rows(after, state.cmp))
        wire, dropped = wire_rows(visit.requests, state.action_ms, state.action, state.cmp)
        rows.extend(wire)
        if dropped:
            visit.count("consent/wire_rows_over_limit", dropped)
        if visit.phase == "gpc":
            rows.append(self._gpc_row(visit, state, after))
            statement = state.statement if state.statement_read else await self._gpc_statement(visit, after)
            if statement is not None:
                rows.append(statement)
        evidence: list[dict] = []
        if state.screenshot:
            evidence.append({"_ref": BANNER_REF, "_path": state.screenshot, "documents": "banner",
                             "media_type": "image/png"})
        if state.screenshot_after:
            evidence.append({"_ref": AFTER_REF, "_path": state.screenshot_after, "documents": "banner-after",
                             "media_type": "image/png"})
        rows.append(self._action_row(visit, state, after))
        self._sequence(visit, state, rows[-1], evidence)
        for row in rows:
            row["phase"] = visit.phase
        visit.count("consent/rows", len(rows))
        return {"consent": rows, "evidence_files": evidence}

    def _action_row(self, visit: VisitContext, state: ConsentState, after: Reading) -> dict:
        attempted = ACTIONS.get(visit.phase)
        verified, verification, framework = None, None, None
        if state.action != "none":
            verdict = verify_action(state.action, state.before, after, self_test=state.self_test,
                                    banner_still_visible=state.banner_after)
            verified, verification, framework = verdict.verified, verdict.text, verdict.framework
        elif attempted and not state.banner_visible:
            verification = "no consent banner found: nothing to " + attempted
        elif attempted:
            verification = "; ".join(state.notes) or f"no {attempted} control could be clicked"
        tcf = after.apis.get("tcf") if isinstance(after.apis.get("tcf"), dict) else {}
        run = state.autoconsent
        decoded = {
            "attempted": attempted, "banner_visible": state.banner_visible, "detected_by": state.detected_by,
            "rule": state.rule.name if state.rule else None, "clicked": state.clicked,
            "banner_after_click": state.banner_after, "notes": state.notes,
            "autoconsent": None if run is None else {
                "version": run.version, "detected": run.detected, "popup": run.popup.cmp if run.popup else None,
                "result": run.result, "self_test": run.self_test, "errors": run.errors[:5]},
            "gpc_method": state.gpc_method, "reloaded_at_ms": state.reloaded_ms,
        }
        name = None
        if state.clicked:
            last = state.clicked[-1]
            name = last.get("selector") or f"autoconsent:{last.get('cmp')}"
            if last.get("text"):
                name += f" ({last['text'][:60]})"
        return {
            "framework": framework, "source": "action", "name": name, "raw": None, "decoded": as_json(decoded),
            "cmp": state.cmp, "cmp_id": tcf.get("cmpId") if isinstance(tcf.get("cmpId"), int) else None,
            "event_status": tcf.get("eventStatus"), "action": state.action, "action_method": state.action_method,
            "verified": verified, "verification": verification, "reject_first_layer": state.reject_first_layer,
            "screenshot_file_id": Ref("evidence_files", BANNER_REF) if state.screenshot else None,
            "time_ms": state.action_ms if state.action_ms is not None else after.time_ms,
            **layout_columns(state.layout, Ref("evidence_files", AFTER_REF) if state.screenshot_after else None),
        }

    @staticmethod
    async def _gpc_statement(visit: VisitContext, after: Reading) -> dict | None:
        """The site's /.well-known/gpc.json (gpc phase only), fetched by the browser outside the page."""
        page = visit.page
        if visit.hub is None or visit.hub.page is None or page is None or page.is_closed():
            return None
        origin = "/".join((page.url or visit.url).split("/")[:3])
        try:
            status, body = await gpc.fetch_gpc_statement(visit.hub.page, visit.hub.page.target_id, origin)
        except Exception as exc:
            status, body = None, b""
            visit.count("consent/gpc_statement_failed")
            decoded = {"error": str(exc).splitlines()[0][:200]}
        else:
            decoded = parse_gpc_json(body) if status == 200 else {"gpc": None, "errors": [f"HTTP {status}"]}
        decoded["_wire"] = {"url": origin + "/.well-known/gpc.json", "status": status}
        raw = None if decoded.get("gpc") is None else str(decoded["gpc"]).lower()
        return {"framework": "gpc", "source": "well-known", "name": "/.well-known/gpc.json", "raw": raw,
                "decoded": as_json(decoded), "action": "none", "time_ms": visit.elapsed_ms()}

    @staticmethod
    def _gpc_row(visit: VisitContext, state: ConsentState, after: Reading) -> dict:
        main = next((r for r in visit.requests if r.get("main_frame") and r.get("resource_type") == "document"), None)
        headers = {k.lower(): v for k, v in ((main or {}).get("request_headers") or {}).items()}
        decoded = {"method": state.gpc_method, "header_sent": headers.get("sec-gpc") == "1",
                   "navigator": after.gpc}
        return {"framework": "gpc", "source": "navigator", "name": "navigator.globalPrivacyControl",
                "raw": None if after.gpc is None else str(after.gpc).lower(), "decoded": as_json(decoded),
                "cmp": state.cmp, "action": "none", "time_ms": after.time_ms}
