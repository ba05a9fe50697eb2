"""DetectKeyLogging: type known values into a page's inputs, never submit, and find them in what the page sends.

After load and the dwell, every visible, editable text-like input and textarea of every frame (up to `max_fields`;
Playwright's frames include cross-origin, out-of-process iframes, so a widget's form is typed into too) gets a value
of its kind, typed key by key as a person would (Playwright's `press_sequentially`, real key events), then Tab
moves the focus on. Nothing is submitted: no Enter, no click. The values are fresh for every visit (a random
token), so they cannot be in any request made before typing. After a short wait for the page to send (network
quiet, at most `wait` seconds), every request since typing began is searched with the leak detector
(`mouchard.leakdetect.LeakDetector`): URL, headers, cookies and body, plain, URL-encoded, base64, hex, hashed
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

import asyncio
import secrets
import time
from typing import Any

from crawler.collectors.base import Collector, Rows, VisitContext
from crawler.collectors.wire import scan_requests, sent_requests
from mouchard.identifiers import normal_forms
from mouchard.leakdetect import LeakDetector
from mouchard.redact import Redactor

PLACEHOLDER = "[redaction failed]"

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


class DetectKeyLogging(Collector):
    """Types into inputs after load; `leaks` rows for typed values found in requests."""

    name = "keylogging"
    tables = ("leaks", "failures")

    def __init__(self, crawl_id: int | None = None, wait: float = 2.0, max_fields: int = 12):
        self.crawl_id = crawl_id
        self.wait = wait
        self.max_fields = max_fields

    @classmethod
    def from_crawler(cls, crawler: Any) -> "DetectKeyLogging":
        from scrapy.exceptions import NotConfigured

        settings = crawler.settings
        if not settings.getbool("MOUCHARD_KEYLOGGING", True):
            raise NotConfigured("MOUCHARD_KEYLOGGING is off")
        return cls(settings.getint("MOUCHARD_CRAWL_ID") or None, settings.getfloat("MOUCHARD_KEYLOGGING_WAIT", 2.0),
                   settings.getint("MOUCHARD_KEYLOGGING_FIELDS", 12))

    async def after_load(self, visit: VisitContext) -> None:
        page = visit.page
        if page is None or page.is_closed() or visit.status != "ok" or not visit.responsive:
            return
        values = typed_values()
        state = {"values": values, "started_ms": visit.elapsed_ms(), "typed": []}
        visit.extra["keylogging"] = state
        budget = visit.hook_timeout * 0.6 - self.wait  # leave time to wait for the page to send
        deadline = time.monotonic() + max(budget, 1.0)
        for frame in list(page.frames):
            if len(state["typed"]) >= self.max_fields or time.monotonic() > deadline:
                break
            try:
                await self._type_in_frame(frame, values, state, deadline)
            except Exception as exc:  # a frame that navigated or detached: the others still count
                visit.count("keylogging/frame_errors")
                visit.logger.debug("keylogging in %s: %s", frame.url, exc)
        visit.count("keylogging/fields_typed", len(state["typed"]))
        if state["typed"]:
            await self._wait_quiet(visit)

    async def _type_in_frame(self, frame: Any, values: dict[str, str], state: dict, deadline: float) -> None:
        inputs = frame.locator("input, textarea")
        for i in range(min(await inputs.count(), self.max_fields * 2)):
            if len(state["typed"]) >= self.max_fields or time.monotonic() > deadline:
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
            state["typed"].append({"kind": kind, "frame": frame.url, "name": attributes.get("name")})

    async def _wait_quiet(self, visit: VisitContext) -> None:
        start = time.monotonic()
        count, changed = len(visit.requests), start
        while time.monotonic() - start < self.wait and time.monotonic() - changed < QUIET:
            await asyncio.sleep(0.1)
            if len(visit.requests) != count:
                count, changed = len(visit.requests), time.monotonic()

    async def collect(self, visit: VisitContext) -> Rows:
        state = visit.extra.get("keylogging")
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
