"""The machinery the addons share (not an addon): flow snapshots, the analyser, the stage protocol.

Hooks run on mitmproxy's event loop and must never block, so they only copy what the analysis needs into a
`FlowSnapshot` (references to the body bytes, no decoding) and hand it over. An `Analyser` runs the stages
(attribution, leak detection, cookies, OpenRTB, ID syncs, classification, redaction) in `order` and passes each
`FlowRecord` to a sink. With `RecordFlows` loaded, the analyser runs in a separate recording process
(`addons.recorder`: analysis never competes with the event loop for the interpreter) whose single thread owns
the SQLite connection and writes one transaction per small batch; a stage addon loaded alone
(`mitmdump -s addons/detect_leaks.py`) runs an analyser in a `Worker` thread and logs what it finds.

A stage is a plain picklable object with `order: int` and `process(snapshot, record)`; it may also have
`setup()` (build heavy state where it runs), `message(message, rows)` (each WebSocket message),
`written(record)` (after its transaction committed), `summary()` and `describe(record)` (log lines).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import importlib
import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

log = logging.getLogger("mouchard")

BACKLOG_LIMIT = 512  # snapshots waiting for the worker before hooks wait (back-pressure, never drops)
BACKLOG_BYTES = 256 * 1024 * 1024
BATCH = 32  # records per transaction when the worker is behind


def packaged(module: str, name: str):
    """An instance of `module.name` imported by its package name: what each addon file gives mitmproxy.

    mitmdump loads `-s addons/x.py` as a private module; classes from there cannot be sent to the recording
    process. Taking the class from `addons.x` (the same file, imported normally) keeps the stages picklable.
    """
    return getattr(importlib.import_module(module), name)()


def iso(timestamp: float | None) -> str:
    """UTC ISO-8601 text with milliseconds, like `mouchard.store.utcnow()`."""
    moment = dt.datetime.fromtimestamp(timestamp or time.time(), dt.timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def text(value: str | bytes | None) -> str | None:
    """Text safe for SQLite and JSON: invalid UTF-8 and lone surrogates become U+FFFD."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value.encode("utf-8")
            return value  # the common case: already clean
        except UnicodeEncodeError:
            value = value.encode("utf-8", "surrogateescape" if _escaped(value) else "surrogatepass")
    return value.decode("utf-8", "replace")


def _escaped(value: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in value)


def header_pairs(fields: Iterable[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    """mitmproxy's raw header fields as text pairs (non-UTF-8 bytes kept as surrogate escapes for scanning)."""
    return [(k.decode("utf-8", "surrogateescape"), v.decode("utf-8", "surrogateescape")) for k, v in fields]


def header(pairs: list[tuple[str, str]], name: str) -> str | None:
    name = name.lower()
    return next((v for k, v in pairs if k.lower() == name), None)


@dataclass
class FlowSnapshot:
    """What the worker needs from one flow, copied on the event loop; no mitmproxy object crosses threads."""

    key: str
    kind: str  # http, websocket, tls-failure, tcp
    started_at: str
    client: str | None = None
    method: str | None = None
    url: str | None = None
    host: str | None = None
    port: int | None = None
    http_version: str | None = None
    request_headers: list[tuple[str, str]] = field(default_factory=list)
    request_body: bytes | None = None
    status: int | None = None
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    response_body: bytes | None = None
    error: str | None = None
    websocket_messages: int | None = None

    @property
    def size(self) -> int:
        return len(self.request_body or b"") + len(self.response_body or b"")

    def request_header(self, name: str) -> str | None:
        return header(self.request_headers, name)

    def response_header(self, name: str) -> str | None:
        return header(self.response_headers, name)


@dataclass
class MessageSnapshot:
    """One WebSocket message."""

    key: str  # the flow's key
    index: int
    from_client: bool
    content: bytes
    url: str | None = None
    host: str | None = None


@dataclass
class FlowRecord:
    """The rows one flow produces; `flow` is the `flows` row, child rows get `flow_id` when written."""

    snapshot: FlowSnapshot
    flow: dict
    leaks: list[dict] = field(default_factory=list)
    cookies: list[dict] = field(default_factory=list)
    rtb: list[dict] = field(default_factory=list)
    id_syncs: list[dict] = field(default_factory=list)
    evidence: list[tuple[bytes, str, str | None]] = field(default_factory=list)  # (body, documents, media type)
    matches: list = field(default_factory=list)  # leak detector matches, for later stages
    notes: dict = field(default_factory=dict)  # stage-to-stage facts (e.g. first_party_site)
    flow_id: int | None = None


class RowRef:
    """A row id known only once written: lets an id_syncs row point at a cookie written in the same batch."""

    __slots__ = ("id",)

    def __init__(self) -> None:
        self.id: int | None = None


def new_record(snap: FlowSnapshot) -> FlowRecord:
    """The `flows` row as captured; stages refine it (app, tracker columns, redaction)."""
    from mouchard.domains import host_of, site_of

    host = host_of(snap.host or snap.url or "") or (snap.host or None)
    flow = {
        "kind": snap.kind, "client": snap.client, "started_at": snap.started_at, "method": snap.method,
        "url": text(snap.url), "host": text(host), "site": text(site_of(host)) if host else None,
        "http_version": snap.http_version, "status": snap.status, "error": text(snap.error),
        "request_headers": [[text(k), text(v)] for k, v in snap.request_headers],
        "response_headers": [[text(k), text(v)] for k, v in snap.response_headers],
        "request_size": len(snap.request_body) if snap.request_body is not None else None,
        "response_size": len(snap.response_body) if snap.response_body is not None else None,
        "request_body_sha256": hashlib.sha256(snap.request_body).hexdigest() if snap.request_body else None,
        "response_body_sha256": hashlib.sha256(snap.response_body).hexdigest() if snap.response_body else None,
        "content_type": text(snap.request_header("content-type")),
        "websocket_messages": snap.websocket_messages,
    }
    return FlowRecord(snap, flow)


class Analyser:
    """Runs the stages over snapshots in arrival order and hands records to `sink` in small batches.

    Synchronous: the `Worker` thread (a stage addon alone) or the recording process (RecordFlows) drives it.
    `sink(records)` writes a batch (raising on failure); `on_failure(exc)` is called once if it raises, after
    which records are counted as unrecorded. A stage that raises on one flow is logged and counted; the flow is
    still recorded with what the other stages found.
    """

    def __init__(self, stages: Iterable, sink: Callable[[list[FlowRecord]], None],
                 on_failure: Callable[[BaseException], None] | None = None, batch: int = BATCH):
        self.stages = sorted(stages, key=lambda s: getattr(s, "order", 50))
        self.sink = sink
        self.on_failure = on_failure
        self.batch = batch
        self.stats: Counter = Counter()
        self.failed: BaseException | None = None
        self._pending: list[FlowRecord] = []
        self._ws_rows: dict[str, tuple[MessageSnapshot, list[dict]]] = {}

    def setup(self) -> "Analyser":
        """Let stages build their heavy state (detectors, classifiers) where they will run."""
        for stage in self.stages:
            if hasattr(stage, "setup"):
                stage.setup()
        return self

    def handle(self, item: FlowSnapshot | MessageSnapshot) -> None:
        if self.failed is not None:
            self.stats["mouchard/flows/unrecorded"] += isinstance(item, FlowSnapshot)
            return
        try:
            record = self._analyse(item)
        except Exception:  # a snapshot nothing could be made of: counted and logged, never fatal
            self.stats["mouchard/flows/unreadable"] += 1
            log.warning("mouchard: one flow could not be analysed", exc_info=True)
            return
        if record is not None:
            self._pending.append(record)
            if len(self._pending) >= self.batch:
                self.flush()

    def flush(self) -> None:
        records, self._pending = self._pending, []
        if records:
            self._write(records)

    def close(self) -> None:
        """Flush, then record WebSockets still open (their leaks so far, on a row that says so)."""
        self.flush()
        for key, (first, _) in list(self._ws_rows.items()):
            self.handle(FlowSnapshot(key, "websocket", iso(None), url=first.url, host=first.host,
                                     error="still open when the capture ended"))
        self.flush()

    def summary(self) -> dict:
        found = dict(self.stats)
        for stage in self.stages:
            if hasattr(stage, "summary"):
                found.update(stage.summary())
        return found

    def _analyse(self, item: FlowSnapshot | MessageSnapshot) -> FlowRecord | None:
        if isinstance(item, MessageSnapshot):
            rows = self._ws_rows.setdefault(item.key, (item, []))[1]
            for stage in self.stages:
                if hasattr(stage, "message"):
                    self._guard(stage, "message", item, rows)
            return None
        record = new_record(item)
        record.leaks.extend(self._ws_rows.pop(item.key, (None, []))[1])
        for stage in self.stages:
            self._guard(stage, "process", item, record)
        self.stats[f"mouchard/flows/{item.kind}"] += 1
        return record

    def _guard(self, stage, method: str, *args) -> None:
        try:
            getattr(stage, method)(*args)
        except Exception:
            self.stats["mouchard/analysis/errors"] += 1
            log.warning("mouchard: %s.%s failed on one flow (recorded without it)", type(stage).__name__,
                        method, exc_info=True)

    def _write(self, records: list[FlowRecord]) -> None:
        if self.failed is not None:
            self.stats["mouchard/flows/unrecorded"] += len(records)
            return
        try:
            self.sink(records)
        except BaseException as exc:  # the store failed: stop rather than let traffic pass unrecorded
            self.failed = exc
            self.stats["mouchard/flows/unrecorded"] += len(records)
            if self.on_failure is not None:
                self.on_failure(exc)
            return
        for record in records:
            for stage in self.stages:
                if hasattr(stage, "written"):
                    self._guard(stage, "written", record)


class Worker:
    """A thread driving an `Analyser`: used by stage addons loaded without RecordFlows (they log)."""

    def __init__(self, stages: Iterable, sink: Callable[[list[FlowRecord]], None],
                 on_failure: Callable[[BaseException], None] | None = None):
        self.analyser = Analyser(stages, sink, on_failure)
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._backlog = 0
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def failed(self) -> BaseException | None:
        return self.analyser.failed

    def start(self) -> "Worker":
        self._thread = threading.Thread(target=self._run, name="mouchard-worker", daemon=True)
        self._thread.start()
        return self

    def submit(self, item: FlowSnapshot | MessageSnapshot) -> bool:
        with self._lock:
            self._backlog += 1
        self._queue.put(item)
        return True

    @property
    def behind(self) -> bool:
        return self._backlog > BACKLOG_LIMIT

    async def room(self) -> None:
        """Wait (without blocking the loop) while the worker is too far behind: slower, never lossy."""
        while self.behind and self.failed is None:
            await asyncio.sleep(0.01)

    def stop(self, timeout: float | None = None) -> dict:
        """Process everything queued, end the thread, and return the summary."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout)
            self._thread = None
        return self.analyser.summary()

    def _run(self) -> None:
        self.analyser.setup()
        while True:
            item = self._queue.get()
            if item is None:
                self.analyser.close()
                return
            self.analyser.handle(item)
            with self._lock:
                self._backlog -= 1
            if self._queue.empty():
                self.analyser.flush()


# -- from mitmproxy objects (event loop side) -------------------------------------------------------------------


def snapshot_http(flow, kind: str = "http") -> FlowSnapshot:
    """An HTTP (or WebSocket) flow as the worker sees it: raw (still encoded) bodies, headers as sent."""
    req, resp = flow.request, flow.response
    peer = flow.client_conn.peername
    return FlowSnapshot(
        key=flow.id, kind=kind, started_at=iso(req.timestamp_start), client=peer[0] if peer else None,
        method=req.method, url=req.pretty_url, host=req.pretty_host, port=req.port,
        http_version=req.http_version, request_headers=header_pairs(req.headers.fields),
        request_body=req.raw_content, status=resp.status_code if resp is not None else None,
        response_headers=header_pairs(resp.headers.fields) if resp is not None else [],
        response_body=resp.raw_content if resp is not None else None,
        error=flow.error.msg if flow.error is not None else None,
        websocket_messages=len(flow.websocket.messages) if flow.websocket is not None else None)


def snapshot_message(flow) -> MessageSnapshot:
    """The WebSocket message that just arrived (the last one of the flow)."""
    message = flow.websocket.messages[-1]
    return MessageSnapshot(flow.id, len(flow.websocket.messages) - 1, message.from_client, message.content,
                           flow.request.pretty_url, flow.request.pretty_host)


def snapshot_tls_failure(data) -> FlowSnapshot:
    """A client that refused our certificate: most often certificate pinning."""
    client = data.context.client
    server = data.context.server
    host = client.sni or (server.address[0] if server.address else None)
    error = data.conn.error or "handshake failed"
    return FlowSnapshot(
        key=f"tls-{client.id}", kind="tls-failure", started_at=iso(client.timestamp_start),
        client=client.peername[0] if client.peername else None, host=host,
        port=server.address[1] if server.address else None,
        error=f"client refused the proxy's certificate (likely certificate pinning): {error}")


def snapshot_tcp(flow) -> FlowSnapshot:
    """A raw TCP stream mitmproxy could not read as HTTP (MQTT, custom protocols): what the device sent is
    searched like a body; what it received is only counted."""
    server = flow.server_conn
    peer = flow.client_conn.peername
    sent = b"".join(m.content for m in flow.messages if m.from_client)
    received = b"".join(m.content for m in flow.messages if not m.from_client)
    return FlowSnapshot(
        key=flow.id, kind="tcp", started_at=iso(flow.client_conn.timestamp_start), client=peer[0] if peer else None,
        host=server.sni or (server.address[0] if server.address else None),
        port=server.address[1] if server.address else None, request_body=sent, response_body=received,
        error=flow.error.msg if flow.error is not None else None)


class Tap:
    """mitmproxy hooks that turn flows into snapshots for `self.worker` (None: the hooks do nothing)."""

    worker: Worker | None = None

    def _feed(self, snapshot: Callable, *args):
        worker = self.worker
        if worker is None:  # most instances: a stage addon next to RecordFlows
            return None
        worker.submit(snapshot(*args))
        return worker.room() if worker.behind else None

    def response(self, flow):
        if flow.websocket is None:
            return self._feed(snapshot_http, flow)

    def error(self, flow):
        if flow.websocket is None:
            return self._feed(snapshot_http, flow)

    def websocket_message(self, flow):
        return self._feed(snapshot_message, flow)

    def websocket_end(self, flow):
        return self._feed(snapshot_http, flow, "websocket")

    def tls_failed_client(self, data):
        return self._feed(snapshot_tls_failure, data)

    def tcp_end(self, flow):
        return self._feed(snapshot_tcp, flow)

    def tcp_error(self, flow):
        return self._feed(snapshot_tcp, flow)


class StageAddon(Tap):
    """Base of the addons that provide stages. Next to RecordFlows they only provide them (`mouchard_stages`,
    plain picklable objects: they run in the recording process); loaded alone they run their own worker thread
    and log what their stages found (each stage's `describe(record)`)."""

    def mouchard_stages(self) -> list:
        return []

    def running(self) -> None:
        from mitmproxy import ctx

        if self.worker is None and ctx.master.addons.get("recordflows") is None:
            stages = self.mouchard_stages()
            self.worker = Worker(stages, lambda records: self._log(stages, records)).start()

    @staticmethod
    def _log(stages: list, records: list[FlowRecord]) -> None:
        for record in records:
            for stage in stages:
                for line in getattr(stage, "describe", lambda r: ())(record):
                    log.info("mouchard: %s", line)

    def done(self) -> None:
        worker, self.worker = self.worker, None
        if worker is not None:
            worker.stop()
