"""The machinery the addons share (not an addon): the analyser, the stage protocol, the hooks that feed them.

Hooks run on mitmproxy's event loop and must never block, so they only copy what the analysis needs into a
`FlowSnapshot` (`addons.snapshots`: references to the body bytes, no decoding) and hand it over. An `Analyser` runs the stages
(attribution, leak detection, cookies, OpenRTB, ID syncs, classification, redaction) in `order` and passes each
`FlowRecord` to a sink. With `RecordFlows` loaded, the analyser runs in a separate recording process
(`addons.recorder`: analysis never competes with the event loop for the interpreter) whose single thread owns
the SQLite connection and writes one transaction per small batch; a stage addon loaded alone
(`mitmdump -s addons/detect_leaks.py`) runs an analyser in a `Worker` thread and logs what it finds.

A stage is a plain picklable object with `order: int` and `process(snapshot, record)`; it may also have
`setup()` (build heavy state where it runs), `message(message, rows, budget)` (each WebSocket message),
`written(record)` (after its transaction committed), `summary()` and `describe(record)` (log lines), and
`redaction = True` when the database's redaction depends on it (leak detection, redaction).

Nothing fails silently, and redaction fails closed. Each flow gets one `mouchard.budget.Budget` (`record.budget`)
that every decoder and walker charges. A stage that raises becomes a `failures` row of its flow: `collector-error`
for an ordinary stage (the flow is kept with what the others found); `redaction-failed` for a redaction stage, or
when the budget ran out before redaction finished: then the flow keeps no raw text (`addons.seal`: URL, headers, cookie
values, OpenRTB fields, JSON paths become `[redaction failed]`; method, host, status, sizes and hashes stay), or
when the redaction stage's last check still finds a planted value in a column (that column only). A
budget that ran out, or a body cut at `SNAPSHOT_BODY_LIMIT`, is an `analysis-truncated` row; `flows.analysis`
says complete, truncated or redaction-failed, and the counts are in the run's summary.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import logging
import queue
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from addons.seal import seal
from addons.snapshots import (FlowSnapshot, MessageSnapshot, iso, snapshot_http, snapshot_message, snapshot_tcp,
                               snapshot_tls_failure, text)
from mouchard.budget import Budget, failure_detail
from mouchard.storage.store import failure_row

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
    budget: Budget = field(default_factory=Budget)  # the analysis work this flow may cost (every stage shares it)
    failures: list[dict] = field(default_factory=list)  # `failures` rows (flow_id added when written)
    sealed: tuple[str, str] | None = None  # (component, detail) of a failed redaction: no raw text kept (`seal`)


class RowRef:
    """A row id known only once written: lets an id_syncs row point at a cookie written in the same batch."""

    __slots__ = ("id",)

    def __init__(self) -> None:
        self.id: int | None = None


def new_record(snap: FlowSnapshot) -> FlowRecord:
    """The `flows` row as captured; stages refine it (app, tracker columns, redaction)."""
    from mouchard.decode.domains import host_of, site_of

    host = host_of(snap.host or snap.url or "") or (snap.host or None)
    flow = {
        "kind": snap.kind, "client": snap.client, "started_at": snap.started_at, "method": snap.method,
        "url": text(snap.url), "host": text(host), "site": text(site_of(host)) if host else None,
        "http_version": snap.http_version, "status": snap.status, "error": text(snap.error),
        "request_headers": [[text(k), text(v)] for k, v in snap.request_headers],
        "response_headers": [[text(k), text(v)] for k, v in snap.response_headers],
        "request_size": _size(snap.request_body, snap.request_full),
        "response_size": _size(snap.response_body, snap.response_full),
        "request_body_sha256": _sha256(snap.request_body, snap.request_full),
        "response_body_sha256": _sha256(snap.response_body, snap.response_full),
        "content_type": text(snap.request_header("content-type")),
        "websocket_messages": snap.websocket_messages,
        "analysis": "complete",
    }
    return FlowRecord(snap, flow, budget=Budget.for_input(snap.work))


def _size(body: bytes | None, full: tuple[int, str] | None) -> int | None:
    return full[0] if full is not None else (len(body) if body is not None else None)


def _sha256(body: bytes | None, full: tuple[int, str] | None) -> str | None:
    return full[1] if full is not None else (hashlib.sha256(body).hexdigest() if body else None)


class Analyser:
    """Runs the stages over snapshots in arrival order and hands records to `sink` in small batches.

    Synchronous: the `Worker` thread (a stage addon alone) or the recording process (RecordFlows) drives it.
    `sink(records)` writes a batch (raising on failure); `on_failure(exc)` is called once if it raises, after
    which records are counted as unrecorded. A stage that raises on one flow is logged, counted and becomes a
    `failures` row of the flow; a redaction stage that raises seals the flow (see the module docstring).
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
        self._ws_trouble: dict[str, list[tuple[str, str, str]]] = {}  # (kind, component, detail) per socket

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
            self._message(item)
            return None
        record = new_record(item)
        record.leaks.extend(self._ws_rows.pop(item.key, (None, []))[1])
        for stage in self.stages:
            record.budget.stage = type(stage).__name__
            exc = self._guard(stage, "process", item, record)
            if exc is not None:
                self._failed_stage(record, stage, "process", exc)
        record.budget.stage = None
        self._settle(record, self._ws_trouble.pop(item.key, []))
        self.stats[f"mouchard/flows/{item.kind}"] += 1
        return record

    def _message(self, item: MessageSnapshot) -> None:
        """One WebSocket message: its leak rows wait for the flow's end; so does what went wrong with it."""
        rows = self._ws_rows.setdefault(item.key, (item, []))[1]
        trouble = self._ws_trouble.setdefault(item.key, [])
        if item.full_size is not None:
            trouble.append(("analysis-truncated", "capture", f"WebSocket message {item.index} cut at "
                            f"{len(item.content)} of {item.full_size} bytes: searched up to there"))
        budget = Budget.for_input(len(item.content))
        for stage in self.stages:
            if hasattr(stage, "message"):
                budget.stage = type(stage).__name__
                exc = self._guard(stage, "message", item, rows, budget)
                if exc is not None:
                    kind = "redaction-failed" if getattr(stage, "redaction", False) else "collector-error"
                    trouble.append((kind, type(stage).__name__, failure_detail(exc, f"message {item.index}")))
        if budget.exhausted:  # messages are not stored: what was not searched is missing leaks, not raw text
            trouble.append(("analysis-truncated", budget.stage or "message",
                            f"WebSocket message {item.index}: analysis budget ran out ({budget.reason})"))

    def _failed_stage(self, record: FlowRecord, stage, method: str, exc: BaseException) -> None:
        name = type(stage).__name__
        detail = failure_detail(exc, f"{name}.{method}")
        if getattr(stage, "redaction", False):
            record.sealed = record.sealed or (name, detail)
        else:
            record.failures.append(failure_row(name, "collector-error", detail))
            self.stats["mouchard/flows/stage_errors"] += 1

    def _settle(self, record: FlowRecord, trouble: list[tuple[str, str, str]]) -> None:
        """After every stage: failures rows for what went wrong, the flow sealed if redaction failed."""
        snap, budget = record.snapshot, record.budget
        for kind, component, detail in trouble:
            if kind == "redaction-failed":
                record.sealed = record.sealed or (component, detail)
            else:
                record.failures.append(failure_row(component, kind, detail))
        for what, body, full in (("request", snap.request_body, snap.request_full),
                                 ("response", snap.response_body, snap.response_full)):
            if full is not None:
                record.failures.append(failure_row("capture", "analysis-truncated", f"{what} body cut at "
                                                   f"{len(body or b'')} of {full[0]} bytes: searched up to there"))
        if budget.exhausted:
            record.failures.append(failure_row(budget.ran_out_in or "analysis", "analysis-truncated",
                                               f"analysis budget ran out: {budget.reason}"))
        truncated = any(f["kind"] == "analysis-truncated" for f in record.failures)
        if record.sealed is not None:
            seal(record)
            record.failures.append(failure_row(*record.sealed[:1], "redaction-failed", record.sealed[1]))
            record.flow["analysis"] = "redaction-failed"
            self.stats["mouchard/flows/redaction_failed"] += 1
        elif record.flow.get("analysis") == "redaction-failed":  # the last check replaced columns (DetectLeaks)
            self.stats["mouchard/flows/redaction_failed"] += 1
        elif truncated:
            record.flow["analysis"] = "truncated"
        if truncated:
            self.stats["mouchard/flows/analysis_truncated"] += 1

    def _guard(self, stage, method: str, *args) -> BaseException | None:
        """Run one stage hook; the exception it raised (logged, counted), or None."""
        try:
            getattr(stage, method)(*args)
        except Exception as exc:  # noqa: BLE001 - becomes a failures row (see _failed_stage)
            self.stats["mouchard/analysis/errors"] += 1
            log.warning("mouchard: %s.%s failed on one flow (see its failures row)", type(stage).__name__,
                        method, exc_info=True)
            return exc
        return None

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
            for row in record.failures:
                log.warning("mouchard: %s (%s): %s", row["kind"], row["component"], row["detail"])

    def done(self) -> None:
        worker, self.worker = self.worker, None
        if worker is not None:
            worker.stop()
