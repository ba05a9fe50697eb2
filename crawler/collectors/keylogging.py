"""DetectKeyLogging: type known values into a page's inputs, never submit, and find them in what the page sends.

After load and the dwell, every visible, editable text-like input and textarea of every frame (up to `max_fields`;
Playwright's frames include cross-origin, out-of-process iframes, so a widget's form is typed into too) gets a value
of its kind, typed key by key as a person would (Playwright's `press_sequentially`, real key events), then Tab
moves the focus on. Nothing is submitted: no Enter, no click. The values are fresh for every visit (a random
token), so they cannot be in any request made before typing. After a short wait for the page to send (network
quiet, at most `wait` seconds), every request since typing began is searched with the leak detector
(`mouchard.identify.leakdetect.LeakDetector`): URL, headers, cookies and body, plain, URL-encoded, base64, hex, hashed
(md5, sha1, sha256...), in JSON, forms, multipart, compressed bodies. The search runs off the crawler's event
loop (`asyncio.to_thread`) with one `mouchard.budget.Budget` per request; a request whose search raised or ran
out of budget is a `failures` row (collector-error, analysis-truncated) naming only its host, and a leak's
field has the typed values replaced (`[TYPED]`), or is a placeholder if that could not be done.

Kinds (`leaks.identifier`): typed_email, typed_password, typed_phone, typed_name, typed_text (search boxes and
other text). A match is a `leaks` row pointing at the request, with its decoding chain (`base64`, `sha256`...),
where it was (query, body...), the field, and the destination; `third_party` says whether the destination is
another site. Sending typed text to the site itself before submission (search suggestions, autosave) is also
recorded: rules decide what it means.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any

from crawler.browser.dwell import wait_quiet
from crawler.collectors.base import Collector, Rows, VisitContext
from crawler.collectors.wire import scan_requests, sent_requests
from mouchard.budget import REDACTION_FAILED as PLACEHOLDER
from mouchard.identify.identifiers import normal_forms
from mouchard.identify.leakdetect import LeakDetector
from mouchard.identify.redact import Redactor


SKIPPED_TYPES = frozenset({"hidden", "submit", "button", "reset", "image", "checkbox", "radio", "file", "range",
                           "color", "date", "datetime-local", "month", "time", "week", "number"})
QUIET = 0.5  # seconds without a new request after which the page is done sending
FORMS = {"typed_email": "email", "typed_phone": "phone", "typed_name": "name"}


def field_kind(attributes: dict[str, str | None]) -> str | None:
    """The kind of value an input wants, from its type, name, id, autocomplete and placeholder; None to skip."""
    kind = (attributes.get("type") or "text").strip().lower()
    if kind in SKIPPED_TYPES:
        return None
    words = " ".join((attributes.get(k) or "") for k in ("name", "id", "autocomplete", "placeholder",
                                                            "aria-label")).lower()
    if kind == "password" or "password" in words or "passwd" in words:
        return "typed_password"
    if kind == "email" or "mail" in words:
        return "typed_email"
    if kind == "tel" or any(w in words for w in ("phone", "tel", "mobile")):
        return "typed_phone"
    if "name" in words and not any(w in words for w in ("user", "login", "company")):
        return "typed_name"
    return "typed_text"


def typed_values(token: str | None = None) -> dict[str, str]:
    """The values typed in one visit, each carrying a fresh random token."""
    token = token or secrets.token_hex(4)
    digits = "".join(str(int(c, 16) % 10) for c in token)
    return {
        "typed_email": f"camille.mouchard.{token}@example.org",
        "typed_password": f"Pw-{token}-Tr0mb0ne!",
        "typed_phone": f"+3361{digits[:7]}",
        "typed_name": f"Camille Mouchard{token[:5]}",
        "typed_text": f"mouchard keylog test {token}",
    }


def _forms(kind: str, value: str) -> list[tuple[str, str]]:
    return normal_forms(FORMS.get(kind, kind), value)


def detector_for(values: dict[str, str]) -> LeakDetector:
    """A leak detector for the typed values (e-mail lower-cased, phone in its national forms, name reversed...)."""
    return LeakDetector({kind: [value] for kind, value in values.items()}, forms=_forms)


async def type_into_fields(page: Any, values: dict[str, str], *, max_fields: int, deadline: float,
                           on_frame_error: Callable[[Any, BaseException], None] | None = None,
                           typed: list[dict] | None = None) -> list[dict]:
    """Type `values` (by kind, `typed_values`) into the visible, editable inputs of every frame of `page`, key by
    key, then Tab; never submit. At most `max_fields` fields, nothing started after `deadline` (monotonic).
    Returns what was typed where ({kind, frame, name}), appended to `typed` as it goes (so a caller cut short by a
    timeout still knows). Also the bare baseline's typing in benchmarks/crawl.py: both sides make the same
    interaction."""
    typed = [] if typed is None else typed
    for frame in list(page.frames):
        if len(typed) >= max_fields or time.monotonic() > deadline:
            break
        try:
            await _type_in_frame(frame, values, typed, max_fields, deadline)
        except Exception as exc:  # a frame that navigated or detached: the others still count
            if on_frame_error is not None:
                on_frame_error(frame, exc)
    return typed


async def _type_in_frame(frame: Any, values: dict[str, str], typed: list[dict], max_fields: int,
                         deadline: float) -> None:
    inputs = frame.locator("input, textarea")
    for i in range(min(await inputs.count(), max_fields * 2)):
        if len(typed) >= max_fields or time.monotonic() > deadline:
            return
        field = inputs.nth(i)
        if not await field.is_visible() or not await field.is_editable():
            continue
        attributes = {name: await field.get_attribute(name, timeout=1000)
                      for name in ("type", "name", "id", "autocomplete", "placeholder", "aria-label")}
        kind = field_kind(attributes)
        if kind is None:
            continue
        if await field.input_value(timeout=1000):
            await field.fill("", timeout=1000)
        await field.press_sequentially(values[kind], delay=0, timeout=3000)
        await field.press("Tab", timeout=1000)
        typed.append({"kind": kind, "frame": frame.url, "name": attributes.get("name")})


class DetectKeyLogging(Collector):
    """Types into inputs after load; `leaks` rows for typed values found in requests."""

    name = "keylogging"
    order = 700  # types into forms: after the consent click
    switch = "keylogging"  # the CollectorSettings field that turns it off
    tables = ("leaks", "failures")

    def __init__(self, crawl_id: int | None = None, wait: float = 2.0, max_fields: int = 12):
        self.crawl_id = crawl_id
        self.wait = wait
        self.max_fields = max_fields

    @classmethod
    def from_crawler(cls, crawler: Any) -> "DetectKeyLogging":
        from crawler.settings import crawl_id_of, require_switch, run_settings

        require_switch(crawler.settings, cls)
        switches = run_settings(crawler.settings).collectors
        return cls(crawl_id_of(crawler.settings), switches.keylogging_wait, switches.keylogging_fields)

    async def after_load(self, visit: VisitContext) -> None:
        page = visit.page
        if page is None or page.is_closed() or visit.status != "ok" or not visit.responsive:
            return
        values = typed_values()
        state = visit.own(DetectKeyLogging, dict)
        state.update(values=values, started_ms=visit.elapsed_ms(), typed=[])
        budget = visit.hook_timeout * 0.6 - self.wait  # leave time to wait for the page to send
        deadline = time.monotonic() + max(budget, 1.0)

        def frame_error(frame: Any, exc: BaseException) -> None:  # a frame that navigated or detached
            visit.count("keylogging/frame_errors")
            visit.logger.debug("keylogging in %s: %s", frame.url, exc)

        await type_into_fields(page, values, max_fields=self.max_fields, deadline=deadline,
                               on_frame_error=frame_error, typed=state["typed"])
        visit.count("keylogging/fields_typed", len(state["typed"]))
        if state["typed"]:
            await wait_quiet(lambda: len(visit.requests), quiet=QUIET, limit=self.wait)

    async def collect(self, visit: VisitContext) -> Rows:
        state = visit.own(DetectKeyLogging, dict)
        if not state or not state["typed"]:
            return {"leaks": [], "failures": []}
        values = {kind: value for kind, value in state["values"].items() if kind in {t["kind"] for t in state["typed"]}}
        detector = detector_for(values)
        requests = [r for r in sent_requests(visit.requests) if (r.row.get("time_ms") or 0) >= state["started_ms"]]
        scanned, failures = await scan_requests(self.name, requests, lambda request, budget: detector.scan_http(
            request.url, request.headers, request.body, request.content_type, request.content_encoding,
            budget=budget), "typed values")
        redactor = Redactor(detector)
        rows = []
        for request, matches in scanned:
            host = request.row.get("host") or visit.site_of(request.url)
            for match in matches:
                rows.append({
                    "crawl_id": self.crawl_id, "request_id": request.ref, "identifier": match.kind,
                    "chain": match.chain or None, "location": match.location,
                    "field": _field(redactor, match.field),
                    "destination_host": host, "destination_site": request.row.get("site") or visit.site_of(host),
                    "third_party": int(visit.third_party(host)) if host else None,
                })
        visit.count("keylogging/leaks", len(rows))
        visit.count("keylogging/failures", len(failures))
        return {"leaks": rows, "failures": failures}


def _field(redactor: Redactor, field: str | None) -> str | None:
    """A leak's field with typed values in it replaced (a page may use the typed text as a JSON key); fails
    closed to a placeholder."""
    if not field:
        return field
    try:
        return redactor.text(field)
    except Exception:  # noqa: BLE001 - RedactionIncomplete or worse: keep nothing of it
        return PLACEHOLDER
