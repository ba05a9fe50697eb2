"""RecordRequests: every request of a visit (page, iframes, workers, WebSockets, beacons) from CDP Network events.

Sources, per target: `requestWillBeSent` (URL, method, type, frame, initiator stack, POST body; a
`redirectResponse` closes the previous hop: redirects are rows of their own, chained by `redirect_from_id`),
`requestWillBeSentExtraInfo` / `responseReceivedExtraInfo` (the headers really sent and received, cookies
included, and the Set-Cookie lines the browser refused), `responseReceived`, `loadingFinished`/`loadingFailed`,
and `webSocketCreated` / handshake events. Request ids are browser-wide: an out-of-process iframe's document is
announced by its parent and answered in its own target, and both halves meet here.

Initiators: the `initiator` of `requestWillBeSent` as columns (`initiator_fields`): the top script frame (URL,
1-based line and column, function) and the bounded stack, async parents included. With the V8 debugger's async
stacks on (`Debugger.setAsyncCallStackDepth`, depth MOUCHARD_ASYNC_STACK_DEPTH, default 4, 0 = off), an image
inserted by `innerHTML` or `createElement` names the inserting script: its load runs in a task of its own whose
async parent ("Image") is the assignment's stack. What remains unattributable is in docs/crawl.md.

Backfill: Playwright's own request events see requests of targets that ran before our Network domain was on
(a dedicated worker's first fetch, popups); any such request the CDP record lacks becomes a row from
Playwright's data (no initiator, provisional headers), counted in `mouchard/requests/backfilled`.
URLs that are not network requests (data:, blob:, chrome:, about:...) are filtered and counted.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

from crawler.collectors.base import Collector, Ref, Rows, VisitContext
from crawler.collectors.state import Chain, Hop, NetworkState, SetCookies
from mouchard.decode.domains import host_of, site_of
from mouchard.storage.store import utcnow

if TYPE_CHECKING:
    from crawler.browser.targets import Target

NETWORK_SCHEMES = ("http:", "https:", "ws:", "wss:")
MAX_REQUESTS = 20000  # per visit; beyond, requests are counted, not kept (memory stays bounded)
MAX_BODY = 8 * 1024 * 1024  # POST bodies kept in memory up to this size (the store cuts what it keeps)
# Bytes of POST bodies kept in memory per visit, for the detectors (bidding, key logging, id syncs) and the store:
# a page posting megabytes in a loop must not grow the crawler. A body past MAX_BODY or past this budget keeps its
# SHA-256 and size only (`bodies.truncated` = 1, no content), counted and noted in `failures`.
VISIT_BODY_BUDGET = 32 * 1024 * 1024
HEADER_VALUE_MAX = 8192
WORKER_TYPES = ("worker", "shared_worker", "service_worker")
# Async stack parents kept by the browser (Debugger.setAsyncCallStackDepth): an image or iframe inserted by a
# script loads in a task of its own, whose initiator has an empty stack and the inserting script as its first
# async parent; a fetch in a setTimeout has the timer's scheduler as its parent. A few levels suffice for that;
# the depth bounds what V8 keeps per scheduled task.
MAX_ASYNC_DEPTH = 4
MAX_INITIATOR_FRAMES = 16  # frames kept per request in `initiator_stack`
URL_MAX = 2048
FUNCTION_MAX = 200
INITIATOR_COLUMNS = ("initiator_type", "initiator_url", "initiator_line", "initiator_column", "initiator_function",
                     "initiator_stack")


def _headers(headers: dict | None) -> dict:
    """Header names as sent, values cut (a hostile page can send megabytes of headers)."""
    return {str(k): str(v)[:HEADER_VALUE_MAX] for k, v in (headers or {}).items()}


def initiator_frames(initiator: dict | None) -> list[dict]:
    """The initiator's stack as frames, innermost first, async parents after their child (`async`: the parent's
    description, e.g. "Image" or "setTimeout"); at most MAX_INITIATOR_FRAMES frames over MAX_ASYNC_DEPTH + 1
    stacks, strings cut. Lines and columns are 1-based, as in a JavaScript error stack."""
    frames: list[dict] = []
    stack, depth, description = (initiator or {}).get("stack"), 0, None
    while isinstance(stack, dict) and depth <= MAX_ASYNC_DEPTH:
        calls = stack.get("callFrames")
        for frame in (calls if isinstance(calls, list) else [])[:MAX_INITIATOR_FRAMES]:
            if len(frames) >= MAX_INITIATOR_FRAMES:
                return frames
            if not isinstance(frame, dict):
                continue
            frames.append({"url": str(frame.get("url") or "")[:URL_MAX] or None,
                           "function": str(frame.get("functionName") or "")[:FUNCTION_MAX] or None,
                           "line": _one_based(frame.get("lineNumber")), "column": _one_based(frame.get("columnNumber")),
                           "async": description})
        stack, depth = stack.get("parent"), depth + 1
        description = str(stack.get("description") or "async")[:FUNCTION_MAX] if isinstance(stack, dict) else None
    return frames


def initiator_fields(initiator: dict | None) -> dict:
    """`initiator_columns` without the type (the columns a redirect hop copies from the hop before)."""
    fields = initiator_columns(initiator)
    del fields["initiator_type"]
    return fields


def initiator_columns(initiator: dict | None, *, ours: frozenset[str] | set[str] = frozenset(),
                      document_url: str | None = None) -> dict:
    """Request-row initiator columns, type included: the top script frame of the stack (async parents walked: an
    element inserted by `innerHTML` or `appendChild` loads in a task whose parent stack is the inserting script's),
    else the parser position (document URL, line, column), else only the type.

    `ours`: URLs of the scripts mouchard itself runs in pages (the call recorder's random sourceURL). Their frames
    are never an initiator: while the recorder stops on its document-start `debugger` statement, the HTML parser's
    preload scanner goes on fetching, and Chromium names the paused script as the initiator (type `script`, its
    one frame) and gives the parser position alongside (`lineNumber`, `columnNumber`, no `url`). Such a request is
    the parser's, at that position in `document_url`; without this it would be attributed to mouchard, in about
    one visit in ten (tests/test_crawler_initiators.py)."""
    initiator = initiator if isinstance(initiator, dict) else {}
    frames = initiator_frames(initiator)
    url = str(initiator.get("url") or "")[:URL_MAX] or None
    url = None if url in ours else url
    line, column = _one_based(initiator.get("lineNumber")), _one_based(initiator.get("columnNumber"))
    if ours and any(frame["url"] in ours for frame in frames):
        frames = [frame for frame in frames if frame["url"] not in ours]
        if not any(frame["url"] for frame in frames):
            return {"initiator_type": "parser", "initiator_url": (url or document_url or "")[:URL_MAX] or None,
                    "initiator_line": line,
                    "initiator_column": column, "initiator_function": None, "initiator_stack": None}
    top = next((frame for frame in frames if frame["url"]), None)
    kind = initiator.get("type")
    kind = str(kind)[:FUNCTION_MAX] if kind is not None else None
    if top is not None:
        return {"initiator_type": kind, "initiator_url": top["url"], "initiator_line": top["line"],
                "initiator_column": top["column"], "initiator_function": top["function"], "initiator_stack": frames}
    return {"initiator_type": kind, "initiator_url": url, "initiator_line": line, "initiator_column": column,
            "initiator_function": None, "initiator_stack": frames or None}


def _one_based(value: object) -> int | None:
    """CDP's 0-based line or column as 1-based; None when absent or not a number."""
    return value + 1 if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def initiator_script(initiator: dict | None) -> str | None:
    """The script URL that initiated a request: the initiator's stack (async parents too), else its url."""
    return initiator_fields(initiator)["initiator_url"]


class RecordRequests(Collector):
    """Request rows from CDP Network events in every target; exposes Set-Cookie events to RecordCookies."""

    name = "network"
    order = 100  # first: the others reference its request rows
    tables = ("requests", "failures")

    def __init__(self, max_requests: int = MAX_REQUESTS, body_budget: int = VISIT_BODY_BUDGET,
                 async_depth: int = MAX_ASYNC_DEPTH):
        self.max_requests = max_requests
        self.body_budget = body_budget
        self.async_depth = max(0, min(async_depth, MAX_ASYNC_DEPTH))  # 0: no async parents (see docs/crawl.md)

    @classmethod
    def from_crawler(cls, crawler: Any) -> "RecordRequests":
        from crawler.settings import run_settings

        limits = run_settings(crawler.settings).collectors  # None: this module's defaults (read at call time)
        return cls(MAX_REQUESTS if limits.max_requests is None else limits.max_requests,
                   VISIT_BODY_BUDGET if limits.visit_body_budget is None else limits.visit_body_budget,
                   MAX_ASYNC_DEPTH if limits.async_stack_depth is None else limits.async_stack_depth)

    # --- state -----------------------------------------------------------------------------------------------
    @staticmethod
    def state(visit: VisitContext) -> NetworkState:
        if visit.shared.network is None:
            visit.shared.network = NetworkState()
        return visit.shared.network

    async def attach(self, visit: VisitContext, target: "Target") -> None:
        state = self.state(visit)
        if not state.subscribed:
            state.subscribed = True
            for method, handler in (
                    ("Network.requestWillBeSent", self._will_be_sent),
                    ("Network.requestWillBeSentExtraInfo", self._request_extra),
                    ("Network.responseReceived", self._response),
                    ("Network.responseReceivedExtraInfo", self._response_extra),
                    ("Network.loadingFinished", self._finished),
                    ("Network.loadingFailed", self._failed),
                    ("Network.webSocketCreated", self._websocket),
                    ("Network.webSocketWillSendHandshakeRequest", self._websocket_request),
                    ("Network.webSocketHandshakeResponseReceived", self._websocket_response),
                    ("Network.webSocketFrameSent", self._websocket_frame),
                    ("Network.webSocketFrameReceived", self._websocket_frame)):
                visit.on(method, lambda t, p, h=handler, v=visit: h(v, t, p))
        if target.type in ("page", "iframe", "worker", "shared_worker", "service_worker", "auction_worklet",
                           "shared_storage_worklet"):
            await target.send("Network.enable", {"maxPostDataSize": 65536})
        if target.type in ("page", "iframe") and self.async_depth:
            # Async parents in initiators (see MAX_ASYNC_DEPTH): no pause, no breakpoint, nothing in the page; the
            # cost is V8 keeping a stack per scheduled task (docs/crawl.md). The depth is the V8 debugger's, so the
            # debugger must be on (idempotent when another collector did it).
            await target.send("Debugger.enable", {"maxScriptsCacheSize": 0})
            await target.send("Debugger.setAsyncCallStackDepth", {"maxDepth": self.async_depth})

    async def before_navigation(self, visit: VisitContext) -> None:
        state = self.state(visit)
        if visit.context is not None:
            # Playwright's view of the same traffic: the backfill source (see module docstring).
            visit.context.on("request", lambda request: state.playwright.append((visit.elapsed_ms(), request)))

    # --- CDP events ------------------------------------------------------------------------------------------
    def _keep(self, visit: VisitContext, url: str) -> bool:
        if url.startswith(NETWORK_SCHEMES):
            return True
        self.state(visit).filtered[url.split(":", 1)[0] or "none"] += 1
        visit.count(f"requests/filtered/{url.split(':', 1)[0][:20] or 'none'}")
        return False

    def _new_hop(self, visit: VisitContext, chain: Chain, target: "Target", params: dict) -> Hop | None:
        state = self.state(visit)
        if len(state.order) >= self.max_requests:
            state.dropped += 1
            visit.count("requests/dropped_over_limit")
            return None
        request = params.get("request", {})
        url = request.get("url", "")
        previous = chain.hops[-1] if chain.hops else None
        frame_id = params.get("frameId")
        main_frame = frame_id is not None and visit.hub is not None and frame_id == visit.hub.page.target_id
        worker = target.type in WORKER_TYPES
        row = {
            "browser_request_id": chain.request_id,
            "url": url,
            "host": host_of(url),
            "site": site_of(url),
            "method": request.get("method"),
            "resource_type": (params.get("type") or "other").lower(),
            "frame_url": None if worker else (params.get("documentURL") or target.url or None),
            "main_frame": int(main_frame and not worker),
            "worker_url": target.url if worker else None,
            **initiator_columns(params.get("initiator"), ours=visit.shared.own_scripts,
                                document_url=params.get("documentURL") or target.url or None),
            "third_party": int(visit.third_party(url)),
            "redirect_chain": [*(previous.row["redirect_chain"] if previous else []), url],
            "request_headers": _headers(request.get("headers")),
            "time_ms": visit.elapsed_ms(),
        }
        if previous is not None:
            row["redirect_from_id"] = Ref("requests", previous.ref)
            for key in INITIATOR_COLUMNS:
                row[key] = previous.row.get(key)
            row["initiator_type"] = "redirect"
        body = _post_body(request)
        if body is not None:
            self._keep_body(visit, row, body)
        elif request.get("hasPostData") and not worker:
            visit.hub.spawn(self._fetch_body(visit, target, chain.request_id, row))
        hop = Hop(ref=(chain.request_id, len(chain.hops)), row=row)
        row["_ref"] = hop.ref
        if len(chain.extra_requests) > len(chain.hops):
            # requestWillBeSentExtraInfo came first (it often does for cookies sent from the profile): the headers
            # as sent on the wire, Cookie included, are that event's, not the renderer's partial view.
            row["request_headers"] = _headers(chain.extra_requests[len(chain.hops)].get("headers"))
        chain.hops.append(hop)
        state.order.append(hop)
        visit.requests.append(row)
        return hop

    async def _fetch_body(self, visit: VisitContext, target: "Target", request_id: str, row: dict) -> None:
        try:
            answer = await target.send("Network.getRequestPostData", {"requestId": request_id})
        except Exception:
            visit.count("requests/post_body_unavailable")
            return
        data = answer.get("postData", "")
        body = base64.b64decode(data) if answer.get("base64Encoded") else data.encode("utf-8", "surrogatepass")
        self._keep_body(visit, row, body)

    def _keep_body(self, visit: VisitContext, row: dict, body: bytes) -> None:
        """Keep a POST body in memory within MAX_BODY and the visit's VISIT_BODY_BUDGET; beyond, its hash and size."""
        state = self.state(visit)
        row["post_body_size"] = len(body)
        kept = state.body_bytes
        if len(body) <= MAX_BODY and kept + len(body) <= self.body_budget:
            state.body_bytes = kept + len(body)
            row["_body"] = body
            return
        row["_body_sha256"] = hashlib.sha256(body).hexdigest()
        state.bodies_over_budget += 1
        visit.count("requests/post_body_over_budget")

    def _will_be_sent(self, visit: VisitContext, target: "Target", params: dict) -> None:
        url = params.get("request", {}).get("url", "")
        request_id = params.get("requestId", "")
        state = self.state(visit)
        chain = state.chains.get(request_id)
        redirect = params.get("redirectResponse")
        if chain is not None and redirect is not None and chain.hops:
            self._apply_response(chain.hops[-1], redirect)
        elif chain is not None and redirect is None and chain.hops:
            return  # announced twice (parent and out-of-process iframe): keep the first
        if not self._keep(visit, url):
            return
        if chain is None:
            chain = Chain(request_id, target)
            state.chains[request_id] = chain
        hop = self._new_hop(visit, chain, target, params)
        if hop and state.main_request_id is None and hop.row["main_frame"] \
                and hop.row["resource_type"] == "document":
            state.main_request_id = request_id

    def _request_extra(self, visit: VisitContext, target: "Target", params: dict) -> None:
        chain = self.state(visit).chains.get(params.get("requestId", ""))
        if chain is None:  # extra info may come first: keep it for the chain to come
            chain = self.state(visit).chains.setdefault(params.get("requestId", ""),
                                                            Chain(params.get("requestId", ""), target))
        chain.extra_requests.append(params)
        index = len(chain.extra_requests) - 1
        if index < len(chain.hops):
            chain.hops[index].row["request_headers"] = _headers(params.get("headers"))

    def _response(self, visit: VisitContext, target: "Target", params: dict) -> None:
        state = self.state(visit)
        chain = state.chains.get(params.get("requestId", ""))
        if chain is None or not chain.hops:
            # The request went out before our Network domain was on in this target (a worker Playwright resumed
            # first): its response still names it. The method is filled from Playwright's view at collect.
            url = params.get("response", {}).get("url", "")
            if not url.startswith(NETWORK_SCHEMES) or target.type not in WORKER_TYPES:
                return
            chain = chain or Chain(params.get("requestId", ""), target)
            state.chains[chain.request_id] = chain
            hop = self._new_hop(visit, chain, target, {"request": {"url": url}, "type": params.get("type")})
            if hop is None:
                return
            hop.row["initiator_type"] = None
            visit.count("requests/seen_from_response")
        hop = chain.hops[-1]
        self._apply_response(hop, params.get("response", {}))
        if params.get("type"):
            hop.row["resource_type"] = params["type"].lower()

    @staticmethod
    def _apply_response(hop: Hop, response: dict) -> None:
        row = hop.row
        row["status"] = response.get("status")
        _answered(row)
        if "response_headers" not in row or not row.get("_extra_response"):
            row["response_headers"] = _headers(response.get("headers"))
        row["mime_type"] = response.get("mimeType") or row.get("mime_type")
        row["remote_ip"] = response.get("remoteIPAddress") or row.get("remote_ip")
        if response.get("encodedDataLength") is not None and row.get("response_size") is None:
            row["response_size"] = response.get("encodedDataLength")

    def _response_extra(self, visit: VisitContext, target: "Target", params: dict) -> None:
        state = self.state(visit)
        request_id = params.get("requestId", "")
        chain = state.chains.get(request_id)
        if chain is None:
            chain = state.chains.setdefault(request_id, Chain(request_id, target))
        chain.extra_responses.append(params)
        index = len(chain.extra_responses) - 1
        lines = _accepted_set_cookies(params)
        if index < len(chain.hops):
            hop = chain.hops[index]
            hop.row["response_headers"] = _headers(params.get("headers"))
            hop.row["_extra_response"] = True
            if params.get("statusCode"):
                hop.row["status"] = params["statusCode"]
                _answered(hop.row)
        if lines or params.get("blockedCookies"):
            state.set_cookies.append(SetCookies(request_id, index, lines, params.get("blockedCookies") or [],
                                              visit.elapsed_ms(), time.time()))

    def _finished(self, visit: VisitContext, target: "Target", params: dict) -> None:
        chain = self.state(visit).chains.get(params.get("requestId", ""))
        if chain and chain.hops:
            chain.hops[-1].row["response_size"] = int(params.get("encodedDataLength") or 0)

    def _failed(self, visit: VisitContext, target: "Target", params: dict) -> None:
        chain = self.state(visit).chains.get(params.get("requestId", ""))
        if chain and chain.hops:
            error = params.get("errorText") or "failed"
            if params.get("blockedReason"):
                error += f" (blocked: {params['blockedReason']})"
            if params.get("canceled"):
                error += " (canceled)"
            chain.hops[-1].row["error"] = error

    def _websocket(self, visit: VisitContext, target: "Target", params: dict) -> None:
        url = params.get("url", "")
        if not self._keep(visit, url):
            return
        request_id = params.get("requestId", "")
        state = self.state(visit)
        chain = state.chains.setdefault(request_id, Chain(request_id, target))
        if chain.hops:
            return
        self._new_hop(visit, chain, target, {"request": {"url": url, "method": "GET"}, "type": "WebSocket",
                                             "initiator": params.get("initiator"), "documentURL": target.url})

    def _websocket_request(self, visit: VisitContext, target: "Target", params: dict) -> None:
        chain = self.state(visit).chains.get(params.get("requestId", ""))
        if chain and chain.hops:
            chain.hops[-1].row["request_headers"] = _headers(params.get("request", {}).get("headers"))

    def _websocket_response(self, visit: VisitContext, target: "Target", params: dict) -> None:
        chain = self.state(visit).chains.get(params.get("requestId", ""))
        if chain and chain.hops:
            response = params.get("response", {})
            chain.hops[-1].row["status"] = response.get("status")
            chain.hops[-1].row["response_headers"] = _headers(response.get("headers"))

    def _websocket_frame(self, visit: VisitContext, target: "Target", params: dict) -> None:
        visit.count("requests/websocket_frames")

    # --- rows ------------------------------------------------------------------------------------------------
    async def collect(self, visit: VisitContext) -> Rows:
        state = self.state(visit)
        rows = [hop.row for hop in state.order]
        rows.extend(self._backfill(visit, rows))
        for row in rows:
            row.pop("_extra_response", None)
        visit.count("requests/recorded", len(rows))
        over = state.bodies_over_budget
        if over:  # the bodies' hashes and sizes are kept; their content is not, so analysis of them was cut
            return {"requests": rows, "failures": [{
                "component": self.name, "kind": "analysis-truncated", "created_at": utcnow(),
                "detail": f"{over} POST body(ies) over {MAX_BODY} bytes or the visit's {self.body_budget}-byte "
                          "budget: SHA-256 and size kept, content not"}]}
        return {"requests": rows}

    def _backfill(self, visit: VisitContext, rows: list[dict]) -> list[dict]:
        """Rows for requests Playwright saw and CDP did not (matched by method and URL, as many times as seen)."""
        seen = Counter((row["method"], row["url"]) for row in rows)
        methodless = {}
        for row in rows:
            if row["method"] is None:
                methodless.setdefault(row["url"], []).append(row)
        extra = []
        for time_ms, request in self.state(visit).playwright:
            try:
                url, method = request.url, request.method
            except Exception:
                continue
            if not url.startswith(NETWORK_SCHEMES):
                continue
            key = (method, url)
            if methodless.get(url):
                methodless[url].pop(0)["method"] = method  # a request seen only by its response
                continue
            if seen[key] > 0:
                seen[key] -= 1
                continue
            worker = bool(getattr(request, "service_worker", None))
            frame_url = None
            try:
                frame_url = None if worker else request.frame.url
            except Exception:
                pass
            extra.append({
                "url": url, "host": host_of(url), "site": site_of(url), "method": method,
                "resource_type": request.resource_type, "frame_url": frame_url, "main_frame": 0,
                "worker_url": request.service_worker.url if worker else None, "initiator_type": "other",
                "third_party": int(visit.third_party(url)), "redirect_chain": [url],
                "request_headers": _headers(request.headers), "time_ms": time_ms,
            })
        if extra:
            visit.count("requests/backfilled", len(extra))
        return extra


def _answered(row: dict) -> None:
    """A response came after the page cancelled its side of the request: not a failure. A keepalive request
    (`sendBeacon`, `fetch(..., {keepalive: true})`) sent by a page that is being left is cancelled in the renderer
    (net::ERR_ABORTED, canceled) as the document unloads, and the browser still delivers it and gets the answer."""
    if str(row.get("error") or "").startswith("net::ERR_ABORTED") and "(canceled)" in str(row.get("error")):
        row["error"] = None


def _post_body(request: dict) -> bytes | None:
    entries = request.get("postDataEntries")
    if entries:
        return b"".join(base64.b64decode(e.get("bytes", "")) for e in entries)
    if request.get("postData") is not None:
        return request["postData"].encode("utf-8", "surrogatepass")
    return None


def _accepted_set_cookies(params: dict) -> list[str]:
    """Set-Cookie lines of a response the browser stored (the refused ones are in `blockedCookies`)."""
    lines: list[str] = []
    for name, value in (params.get("headers") or {}).items():
        if name.lower() == "set-cookie":
            lines.extend(line for line in str(value).split("\n") if line.strip())
    blocked = Counter(b.get("cookieLine", "") for b in params.get("blockedCookies") or [])
    accepted = []
    for line in lines:
        if blocked[line] > 0:
            blocked[line] -= 1
            continue
        accepted.append(line)
    return accepted
