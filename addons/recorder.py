"""The recording process of RecordFlows (not an addon): the stages and the store's single writer.

Runs beside mitmdump, fed snapshots through a multiprocessing queue, so analysis never competes with mitmproxy's
event loop for the interpreter. Lives in its own module so the process target and the stages it receives are
importable by their package names (mitmproxy loads `-s` scripts under private names a child cannot import).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import pickle
import signal
import sqlite3
import struct
import threading
from collections import Counter
from pathlib import Path

from addons.pipeline import BACKLOG_BYTES, BACKLOG_LIMIT, Analyser, FlowRecord, RowRef
from mouchard.lifecycle import note_stop_signals

RECORDER_NICENESS = 10  # added to the recording process's nice value: analysis yields the CPU to the proxy


class StoreSink:
    """Writes batches of records in one transaction each; the only user of the SQLite connection."""

    def __init__(self, store, crawl_id: int, keep_bodies: Path | None = None):
        from mouchard.storage.store import evidence_dir

        self.store = store
        self.crawl_id = crawl_id
        self.keep_bodies = keep_bodies
        # Evidence paths are relative to the database's evidence folder, where every reader looks (merge, audit,
        # Datasette); RecordFlows.configure refuses a keep_bodies folder outside it.
        self.evidence = evidence_dir(Path(store.path).resolve()).resolve()
        self.counts: Counter = Counter()

    def __call__(self, records: list[FlowRecord]) -> None:
        kept = {id(r): [self._keep(body, what, media) for body, what, media in r.evidence] for r in records}
        counts: Counter = Counter()
        with self.store.transaction() as tx:
            for record in records:
                self._write(tx, record, kept[id(record)], counts)
        self.counts.update(counts)

    def _write(self, tx, record: FlowRecord, files: list[tuple[Path, str, str | None]], counts: Counter) -> None:
        flow_id = tx.insert("flows", {**record.flow, "crawl_id": self.crawl_id})
        record.flow_id = flow_id
        counts["flows"] += 1
        for row in record.failures:  # redaction failed, analysis truncated, a stage's error (no raw text)
            tx.insert("failures", {**row, "crawl_id": self.crawl_id, "flow_id": flow_id})
        counts["failures"] += len(record.failures)
        for row in record.cookies:
            ref = row.pop("_ref", None)
            cookie_id = tx.insert("cookies", {**row, "flow_id": flow_id})
            if isinstance(ref, RowRef):
                ref.id = cookie_id
        for row in record.leaks:
            tx.insert("leaks", {**row, "crawl_id": self.crawl_id, "flow_id": flow_id})
        for row in record.rtb:
            tx.insert("rtb", {**row, "flow_id": flow_id})
        for row in record.id_syncs:
            cookie = row.get("cookie_id")
            tx.insert("id_syncs", {**row, "flow_id": flow_id,
                                   "cookie_id": cookie.id if isinstance(cookie, RowRef) else cookie})
        for path, documents, media in files:
            self.store.add_evidence_file(path, documents, root=self.evidence, crawl_id=self.crawl_id,
                                         media_type=media, tx=tx)
        counts.update({"cookies": len(record.cookies), "leaks": len(record.leaks), "rtb": len(record.rtb),
                       "id_syncs": len(record.id_syncs), "evidence_files": len(files)})

    def _keep(self, body: bytes, documents: str, media: str | None) -> tuple[Path, str, str | None]:
        """A body as an evidence file named by its hash (written once, atomically, no symlink followed); its media
        type is sniffed from its bytes (the header's claim stays in the flow's headers)."""
        from mouchard.paths import sniff_media_type, write_inside

        assert self.keep_bodies is not None
        rel = self.keep_bodies.resolve().relative_to(self.evidence).as_posix()
        name = f"{'' if rel == '.' else rel + '/'}bodies/{hashlib.sha256(body).hexdigest()}.bin"
        write_inside(self.evidence, name, body)
        return self.evidence / name, documents, sniff_media_type(body)


class RecordingProcess:
    """The recording process: stages and the store's single writer, fed snapshots through a pipe.

    Analysis runs beside mitmproxy, not in its interpreter, so the event loop never waits for it. Snapshots are
    pickled on the event loop (a copy, no analysis) and written to a non-blocking pipe in the frames of
    `multiprocessing.connection`; what the pipe cannot take yet waits in a buffer flushed when it is writable.
    No thread of ours runs in mitmdump's interpreter but a listener blocked on the process's rare messages.
    Same interface as `addons.pipeline.Worker` for the hooks (`submit`, `behind`, `room`, `failed`); `stop()`
    drains the pipe, lets the process finish the run's `crawls` row, and returns the summary.
    """

    def __init__(self, stages: list, db: str, crawl_id: int, keep_bodies: str | None, busy_timeout: int,
                 on_failure) -> None:
        import multiprocessing

        context = multiprocessing.get_context("spawn")  # never fork a process running an event loop and threads
        reader, self._writer = context.Pipe(duplex=False)
        self._outbox = context.Queue()
        self._done = context.RawValue("q", 0)  # snapshots the process has handled (one writer: no lock needed)
        self._submitted = 0
        self._buffer = bytearray()
        self._loop = asyncio.get_running_loop()
        self._watching = False
        self.failed: str | None = None
        self.summary: dict = {}
        self._on_failure = on_failure
        self._finished = threading.Event()
        # mitmdump handles SIGINT and SIGTERM but not SIGHUP: handle all three, and remember that the run was
        # stopped (it ends `interrupted`) rather than ended by itself (an import read to its end: `finished`).
        self._stopped = note_stop_signals(self._loop, _shutdown_mitmproxy)
        self._process = context.Process(target=_record, name="mouchard-recorder", daemon=True, args=(
            stages, db, crawl_id, keep_bodies, busy_timeout, reader, self._outbox, self._done))
        self._process.start()
        reader.close()
        os.set_blocking(self._writer.fileno(), False)
        threading.Thread(target=self._listen, name="mouchard-recorder-events", daemon=True).start()

    def submit(self, item) -> bool:
        if self.failed is not None:
            return False
        self._submitted += 1
        self._send(pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL))
        return True

    def _send(self, payload: bytes) -> None:
        size = len(payload)
        head = struct.pack("!i", size) if size < 0x7FFFFFFF else struct.pack("!iQ", -1, size)
        self._buffer += head
        self._buffer += payload
        self._flush()

    def _flush(self) -> None:
        while self._buffer:
            try:
                written = os.write(self._writer.fileno(), self._buffer)
            except BlockingIOError:
                break
            except OSError:  # the process is gone: the listener reports it
                self._buffer.clear()
                break
            del self._buffer[:written]
        if self._buffer and not self._watching:
            self._loop.add_writer(self._writer.fileno(), self._flush)
            self._watching = True
        elif not self._buffer and self._watching:
            self._loop.remove_writer(self._writer.fileno())
            self._watching = False

    @property
    def behind(self) -> bool:
        return self._submitted - self._done.value > BACKLOG_LIMIT or len(self._buffer) > BACKLOG_BYTES

    async def room(self) -> None:
        while self.behind and self.failed is None and self._process.is_alive():
            await asyncio.sleep(0.01)

    def _listen(self) -> None:
        import queue as queues

        while True:
            try:
                kind, payload = self._outbox.get(timeout=0.5)
            except queues.Empty:
                if self._process.is_alive():
                    continue
                kind, payload = "failed", f"the recording process died (status {self._process.exitcode})"
            except (EOFError, OSError):
                break
            if kind == "failed" and self.failed is None:
                self.failed = payload
                self._on_failure(payload)
            if kind == "done" or not self._process.is_alive():
                self.summary = payload if kind == "done" else {}
                break
        self._finished.set()

    def stop(self, timeout: float = 600.0) -> dict:
        """Send what is buffered and the end mark (blocking: the proxy is shutting down), wait for the summary."""
        if self._watching:
            self._loop.remove_writer(self._writer.fileno())
            self._watching = False
        if self._process.is_alive():
            os.set_blocking(self._writer.fileno(), True)
            try:
                self._send(pickle.dumps("interrupted" if self._stopped.received is not None else None))
            except OSError:
                pass
            self._finished.wait(timeout)
        self._writer.close()
        self._process.join(30)
        if self._process.exitcode not in (0, None) and self.failed is None:
            self.failed = f"the recording process ended with status {self._process.exitcode}"
        return self.summary


def _shutdown_mitmproxy() -> None:
    from mitmproxy import ctx

    ctx.master.shutdown()


def _record(stages, db, crawl_id, keep_bodies, busy_timeout, inbox, outbox, done) -> None:
    """Main of the recording process: analyse and write until told to stop, then finish the run."""
    import multiprocessing

    from mouchard.lifecycle import StopSignals, die_with_parent
    from mouchard.storage.store import Store

    # Ctrl-C reaches the whole process group: mitmdump shuts down and tells us; we must not die first.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # SIGTERM or SIGHUP here (the group or the machine is being stopped, or mitmdump died: the parent-death
    # signal): stop reading, write what we have, finish the run `interrupted`.
    stop = StopSignals(raising=False, signals=(signal.SIGTERM, signal.SIGHUP)).install()
    die_with_parent(multiprocessing.parent_process().pid)
    # The phone's traffic comes first: on a busy machine the proxy gets the CPU and we catch up when it idles
    # (the backlog is bounded: past BACKLOG_LIMIT snapshots the proxy waits for us, nothing is dropped).
    try:
        os.nice(RECORDER_NICENESS)
    except OSError:
        pass
    logging.basicConfig(level=logging.WARNING, format="[mouchard recorder] %(message)s")
    failed: list[str] = []

    def fail(exc) -> None:
        failed.append(str(exc))
        outbox.put(("failed", str(exc)))

    try:
        store = Store(db)
        store.conn.execute(f"PRAGMA busy_timeout={busy_timeout * 1000}")
        sink = StoreSink(store, crawl_id, Path(keep_bodies) if keep_bodies else None)
        analyser = Analyser(stages, sink, fail).setup()
    except Exception as exc:  # noqa: BLE001 - reported to the proxy, which stops
        fail(exc)
        outbox.put(("done", {}))
        return
    status = "finished"
    while True:
        if stop.received is not None:
            status = "interrupted"
            break
        if not inbox.poll(0.05):  # idle: write what is pending
            analyser.flush()
            continue
        try:
            item = pickle.loads(inbox.recv_bytes())
        except (EOFError, OSError):  # mitmdump went away without saying goodbye: keep what we have
            status = "interrupted"
            break
        if item is None or isinstance(item, str):  # the end mark: None, or the status of a stopped run
            status = item or status
            break
        analyser.handle(item)
        done.value += 1
    analyser.close()
    summary = {**sink.counts, **analyser.summary()}
    if not failed:
        try:
            store.finish_crawl(crawl_id, status, summary)
        except sqlite3.Error as exc:
            fail(exc)
    store.close()
    outbox.put(("done", summary))
