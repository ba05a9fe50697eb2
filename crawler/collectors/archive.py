"""RecordArchive: each visit's traffic, response bodies included, written as a WARC file (`--warc`, docs/archive.md).

The requests, their headers, statuses and POST bodies are RecordRequests' hops (`visit.shared.network.order`: one
exchange per hop, redirects included); what this collector adds is the response bodies. A body lives in the
renderer's buffer only until the page navigates or the buffer is full, so each one is fetched as soon as its
request finishes (`Network.loadingFinished` -> `Network.getResponseBody` on the target that loaded it), and the
buffers are raised when a target is attached (`Network.enable` again, idempotent, with sizes derived from the
budgets) so that bodies are not evicted before they are read.

Bounded (mouchard.archive.records): a body keeps at most `body_max` bytes (beyond: its first bytes, marked
`WARC-Truncated: length`), a visit at most `visit_max` bytes of bodies (beyond: no body, the same mark); a body
that was expected (a 2xx answer with bytes on the wire) but could not be read (evicted, the target gone) is
archived empty and marked `unspecified`. Nothing is dropped silently: the counts are stats
(`mouchard/archive/...`). The file is written in `collect` (the screenshot, taken in KeepEvidence's
`before_leave`, goes in as a resource record), off the event loop; it becomes an `evidence_files` row hashed by
the store pipeline. A write that fails is a `failures` row (component "archive", kind "archive-failed") and no
evidence row: the visit's database rows are complete, so the visit keeps its status.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from crawler.collectors.base import Collector, Rows, VisitContext
from mouchard.archive.records import BODY_MAX, HEADER_VALUE_MAX, HEADERS_MAX, VISIT_MAX, Exchange, VisitArchive
from mouchard.storage.store import failure_row

if TYPE_CHECKING:
    from crawler.browser.targets import Target

ARCHIVED_TARGETS = ("page", "iframe", "worker", "shared_worker", "service_worker")
# RecordRequests enables Network with this POST data size (crawler/collectors/network.py): Network.enable sets
# every parameter again, so enabling it a second time with bigger buffers must repeat it.
POST_DATA_SIZE = 65536
FETCHES_IN_FLIGHT = 6  # Network.getResponseBody calls at once per visit: bounds the memory of answers in transit
WAIT_SHARE = 0.4  # share of the collect hook's time spent waiting for bodies still being read; the rest writes
TRUNCATED_LENGTH = "length"
TRUNCATED_UNSPECIFIED = "unspecified"


@dataclass
class ArchiveState:
    """One visit's bodies and response facts, by browser request id (the body of a chain's last hop)."""

    subscribed: bool = False
    bodies: dict[str, tuple[bytes | None, str | None]] = field(default_factory=dict)  # id -> (body, truncated)
    lengths: dict[str, int] = field(default_factory=dict)  # id -> encodedDataLength at loadingFinished
    responses: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)  # (id, url) -> (protocol, text)
    kept: int = 0  # body bytes kept so far
    unavailable: int = 0
    pending: int = 0  # body reads started and not ended
    idle: asyncio.Event | None = None  # set while no read is pending
    gate: asyncio.Semaphore | None = None


def bound_body(body: bytes, kept: int, body_max: int = BODY_MAX,
               visit_max: int = VISIT_MAX) -> tuple[bytes | None, str | None]:
    """A body within the budgets: (what is kept, the WARC-Truncated reason or None). `kept` is what the visit
    already archived; the body keeps at most `body_max` bytes and what is left of `visit_max`."""
    room = visit_max - kept
    if room <= 0:
        return None, TRUNCATED_LENGTH
    limit = min(body_max, room)
    if len(body) > limit:
        return body[:limit], TRUNCATED_LENGTH
    return body, None


def decode_body(answer: Any, limit: int) -> tuple[bytes, bool]:
    """`Network.getResponseBody`'s answer as bytes, at most `limit` + 1 of them decoded (more is only known to be
    more): (bytes, whether the answer was readable). Base64 is decoded leniently (the browser's own encoding)."""
    if not isinstance(answer, dict) or not isinstance(answer.get("body"), str):
        return b"", False
    text = answer["body"]
    if answer.get("base64Encoded"):
        chunk = text[:((limit + 1 + 2) // 3 + 1) * 4]
        chunk = "".join(chunk.split())
        chunk = chunk[:len(chunk) - len(chunk) % 4]
        try:
            return base64.b64decode(chunk, validate=False)[:limit + 1], True
        except ValueError:
            return b"", False
    return text[:limit + 1].encode("utf-8", "surrogatepass")[:limit + 1], True


def expects_body(status: Any, encoded_length: Any, method: Any = "GET") -> bool:
    """Whether a response should have had a body: a 2xx answer other than 204/205 to a request other than HEAD,
    unless the browser reported no bytes at all (an unknown length counts as expected: nothing goes unmarked)."""
    if not isinstance(status, int) or isinstance(status, bool) or not 200 <= status <= 299 or status in (204, 205):
        return False
    if str(method).upper() == "HEAD":
        return False
    return encoded_length is None or (isinstance(encoded_length, int) and encoded_length > 0)


def header_pairs(headers: Any) -> tuple[tuple[str, str], ...]:
    """CDP headers (name -> value, repeated headers joined by newlines) as (name, value) pairs, bounded; HTTP/2
    pseudo-headers (`:path`...) and characters that would break a header line are left out."""
    pairs: list[tuple[str, str]] = []
    if not isinstance(headers, dict):
        return ()
    for name, value in headers.items():
        name = "".join(ch for ch in str(name) if 32 < ord(ch) < 127 and ch != ":")[:256] \
            if not str(name).startswith(":") else ""
        if not name:
            continue
        for line in str(value).split("\n"):
            line = "".join(ch for ch in line if ch not in "\r\n\x00")[:HEADER_VALUE_MAX]
            if len(pairs) >= HEADERS_MAX:
                return tuple(pairs)
            pairs.append((name, line))
    return tuple(pairs)


def http_version(protocol: str) -> str:
    """The HTTP version of a response as the WARC writer takes it: "HTTP/1.1" / "HTTP/1.0" for those protocols
    (and when unknown), else the browser's name for it ("h2", "h3")."""
    name = protocol.strip().lower()
    if name in ("", "http/1.1"):
        return "HTTP/1.1"
    if name == "http/1.0":
        return "HTTP/1.0"
    return name[:20]


def iso_at(epoch_seconds: float) -> str:
    """UTC ISO 8601 with milliseconds (as mouchard.storage.store.utcnow writes it)."""
    moment = dt.datetime.fromtimestamp(max(epoch_seconds, 0.0), dt.timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class RecordArchive(Collector):
    """A WARC file of the visit's exchanges and bodies, with its `evidence_files` row (see the module docstring)."""

    name = "archive"
    order = 1200  # after KeepEvidence (1100): its screenshot goes in the archive
    tables = ("evidence_files", "failures")

    def __init__(self, body_max: int = BODY_MAX, visit_max: int = VISIT_MAX, crawl_id: int | None = None):
        self.body_max = max(0, int(body_max))
        self.visit_max = max(0, int(visit_max))
        self.crawl_id = crawl_id

    @classmethod
    def from_crawler(cls, crawler: Any) -> "RecordArchive":
        """On only when the run archives its visits (`RunSettings.warc`, `mouchard crawl --warc`)."""
        from scrapy.exceptions import NotConfigured

        from crawler.settings import crawl_id_of, run_settings

        if not run_settings(crawler.settings).warc:
            raise NotConfigured("the run does not archive visits (--warc)")
        return cls(crawl_id=crawl_id_of(crawler.settings))

    @staticmethod
    def state(visit: VisitContext) -> ArchiveState:
        return visit.own(RecordArchive, ArchiveState)

    # --- bodies as they finish ---------------------------------------------------------------------------------
    async def attach(self, visit: VisitContext, target: "Target") -> None:
        state = self.state(visit)
        if not state.subscribed:
            state.subscribed = True
            state.gate = asyncio.Semaphore(FETCHES_IN_FLIGHT)
            state.idle = asyncio.Event()
            state.idle.set()
            visit.on("Network.loadingFinished", lambda t, p: self._finished(visit, t, p))
            visit.on("Network.responseReceived", lambda t, p: self._response(state, p.get("requestId"),
                                                                             p.get("response")))
            visit.on("Network.requestWillBeSent", lambda t, p: self._response(state, p.get("requestId"),
                                                                              p.get("redirectResponse")))
        if target.type in ARCHIVED_TARGETS:
            # Bodies stay in the renderer until read: a resource buffer that holds a body past the budget (its first
            # bytes are kept) and a total that holds a visit's worth while the reads catch up.
            await target.send("Network.enable", {"maxTotalBufferSize": self.visit_max + 2 * self.body_max,
                                                 "maxResourceBufferSize": 2 * self.body_max + 1,
                                                 "maxPostDataSize": POST_DATA_SIZE})

    @staticmethod
    def _response(state: ArchiveState, request_id: Any, response: Any) -> None:
        """The protocol and status text of a response (the request rows keep neither)."""
        if isinstance(response, dict) and isinstance(request_id, str) and len(state.responses) < 100_000:
            state.responses[(request_id, str(response.get("url") or ""))] = (
                str(response.get("protocol") or "")[:20], str(response.get("statusText") or "")[:200])

    def _finished(self, visit: VisitContext, target: "Target", params: dict) -> None:
        request_id = params.get("requestId")
        network = visit.shared.network
        if not isinstance(request_id, str) or network is None or request_id not in network.chains \
                or target.type not in ARCHIVED_TARGETS:
            return
        state = self.state(visit)
        length = params.get("encodedDataLength")
        state.lengths[request_id] = int(length) if isinstance(length, (int, float)) else 0
        if request_id in state.bodies:
            return
        self._claim(visit, state, target, request_id)

    def _claim(self, visit: VisitContext, state: ArchiveState, target: "Target", request_id: str) -> None:
        """Read this request's body in the background (once: a second loadingFinished does not read it again)."""
        state.bodies[request_id] = (None, None)
        state.pending += 1
        assert state.idle is not None
        state.idle.clear()
        # the hub's background work: its drains (after load, after leaving the page) wait for the reads too
        visit.hub.spawn(self._read(visit, state, target, request_id))

    async def _read(self, visit: VisitContext, state: ArchiveState, target: "Target", request_id: str) -> None:
        try:
            await self._fetch(visit, state, target, request_id)
        finally:
            state.pending -= 1
            if state.pending <= 0 and state.idle is not None:
                state.idle.set()

    async def _fetch(self, visit: VisitContext, state: ArchiveState, target: "Target", request_id: str) -> None:
        assert state.gate is not None
        async with state.gate:
            if state.kept >= self.visit_max:
                state.bodies[request_id] = (None, TRUNCATED_LENGTH)
                visit.count("archive/bodies_over_visit_budget")
                return
            try:
                answer = await target.send("Network.getResponseBody", {"requestId": request_id})
            except Exception:  # evicted, a redirect, a target gone: archived without a body (see collect)
                state.unavailable += 1
                del state.bodies[request_id]
                return
            data, readable = decode_body(answer, self.body_max)
            if not readable:
                state.unavailable += 1
                del state.bodies[request_id]
                return
            body, truncated = bound_body(data, state.kept, self.body_max, self.visit_max)
            state.kept += len(body or b"")
            state.bodies[request_id] = (body, truncated)

    async def before_leave(self, visit: VisitContext) -> None:
        """Catch up, while the page and its workers are still there, on the answered requests whose end we did not
        see (a worker's script, fetched before its Network domain was on): one read each on the target that made
        them; then wait (bounded) for the reads in flight, since leaving the page drops its bodies."""
        state, network = self.state(visit), visit.shared.network
        if network is None or visit.hub is None or state.idle is None:
            return
        for request_id, chain in list(network.chains.items()):
            row = chain.hops[-1].row if chain.hops else {}
            target = chain.target
            if request_id in state.bodies or target is None or getattr(target, "detached", True) \
                    or getattr(target, "type", None) not in ARCHIVED_TARGETS \
                    or not expects_body(row.get("status"), None, row.get("method")):
                continue
            visit.count("archive/late_reads")
            self._claim(visit, state, target, request_id)
        if state.pending:
            try:
                await asyncio.wait_for(state.idle.wait(), visit.hook_timeout * WAIT_SHARE)
            except asyncio.TimeoutError:
                pass

    # --- the file ------------------------------------------------------------------------------------------------
    async def collect(self, visit: VisitContext) -> Rows:
        path = visit.evidence.warc
        if not path:
            return {}
        state = self.state(visit)
        if state.pending and state.idle is not None:  # bodies still being read: bounded, the rest writes the file
            try:
                await asyncio.wait_for(state.idle.wait(), visit.hook_timeout * WAIT_SHARE)
            except asyncio.TimeoutError:
                visit.count("archive/reads_abandoned", state.pending)
        archive = self.archive_of(visit)
        write_timeout = max(visit.hook_timeout * (1 - WAIT_SHARE) - 0.5, 0.5)
        try:
            written = await self._write(path, archive, write_timeout)
        except Exception as exc:  # the database rows are complete: the visit keeps its status, the failure is said
            visit.count("archive/failed")
            detail = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300]
            return {"failures": [failure_row(self.name, "archive-failed", f"WARC not written: {detail}")]}
        visit.count("archive/visits")
        visit.count("archive/exchanges", written.exchanges)
        visit.count("archive/truncated", written.truncated)
        visit.count("archive/bytes", written.size)
        return {"evidence_files": [{"_path": written.path, "documents": "warc", "media_type": "application/warc"}]}

    @staticmethod
    async def _write(path: str, archive: VisitArchive, timeout: float):
        """`write_visit_warc` in a thread, bounded; a write still running at the bound is abandoned, and its file
        removed once it ends (a file without its evidence row would be unaccounted evidence)."""
        import os

        from mouchard.archive.warc import write_visit_warc

        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(None, write_visit_warc, path, archive)
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout)
        except asyncio.TimeoutError:
            def discard(done: asyncio.Future) -> None:
                if not done.cancelled() and done.exception() is None:
                    try:
                        os.remove(path)
                    except OSError:
                        pass
            future.add_done_callback(discard)
            raise TimeoutError(f"writing took over {timeout:g} s") from None

    def archive_of(self, visit: VisitContext) -> VisitArchive:
        """The visit's VisitArchive: one exchange per recorded hop, in request order, with the bodies read."""
        state = self.state(visit)
        network = visit.shared.network
        # wall-clock epoch of navigation start: every hop's time_ms counts from it
        start = time.time() - (time.monotonic() - visit.nav_start)
        exchanges: list[Exchange] = []
        protocols: dict[str, int] = {}
        truncated_count = 0
        for hop in (network.order if network is not None else []):
            row = hop.row
            request_id, index = hop.ref
            chain = network.chains.get(request_id)
            last = chain is not None and index == len(chain.hops) - 1
            status = row.get("status") if isinstance(row.get("status"), int) else None
            body, truncated = (state.bodies.get(request_id, (None, None)) if last else (None, None))
            if last and body is None and truncated is None \
                    and expects_body(status, state.lengths.get(request_id, row.get("response_size")), row.get("method")):
                truncated = TRUNCATED_UNSPECIFIED
            protocol, status_text = state.responses.get((request_id, str(row.get("url") or "")), ("", ""))
            if protocol:
                protocols[protocol] = protocols.get(protocol, 0) + 1
            truncated_count += truncated is not None
            request_body = row.get("_body")
            time_ms = row.get("time_ms") if isinstance(row.get("time_ms"), (int, float)) else 0
            exchanges.append(Exchange(
                url=str(row.get("url") or ""), method=str(row.get("method") or "GET"),
                request_headers=header_pairs(row.get("request_headers")),
                request_body=request_body if isinstance(request_body, bytes) else None,
                status=status, status_text=status_text,
                # the record is a reconstruction from what the browser reported: the writer keeps an HTTP/1.1
                # status line whatever the protocol (h2, h3: `WARC-Protocol`; their counts in the metadata record)
                http_version=http_version(protocol),
                response_headers=header_pairs(row.get("response_headers")) if status is not None else (),
                body=body, truncated=truncated, remote_ip=row.get("remote_ip") or None,
                captured_at=iso_at(start + time_ms / 1000), error=row.get("error") or None,
                resource_type=row.get("resource_type") or None))
        if state.unavailable:
            visit.count("archive/bodies_unavailable", state.unavailable)
        shot = visit.evidence.screenshot if visit.evidence.screenshot_taken else None
        return VisitArchive(
            crawl_id=self.crawl_id, visit_key=visit.key, url=visit.url, site=visit.site, phase=visit.phase,
            started_at=visit.started_at or iso_at(start), exchanges=tuple(exchanges), screenshot=shot,
            extra={"status": visit.status, "final_url": _final_url(network),
                   "protocols": protocols, "bodies_truncated": truncated_count,
                   "requests_dropped": network.dropped if network is not None else 0})


def _final_url(network: Any) -> str | None:
    """The main document's last hop URL (where its redirects ended), None before any."""
    chain = network.chains.get(network.main_request_id or "") if network is not None else None
    return str(chain.hops[-1].row.get("url") or "") or None if chain is not None and chain.hops else None
