"""RecordFlows: every HTTP exchange, WebSocket, raw TCP stream and refused TLS handshake → `flows` in SQLite.

    mitmdump -s addons/record_flows.py --set mouchard_db=capture.db

Hooks copy flows into snapshots; a recording process (`addons.recorder`) runs every stage the other mouchard
addons provide (leaks, cookies, OpenRTB, ID syncs, classification, redaction) and, as the store's only writer,
writes each flow with its rows in one transaction (batched when behind). If a write fails, the proxy is stopped
and later flows are killed: at most the flows in flight pass unrecorded, and mitmdump exits with status 1.
Raw bodies never enter the database; with `mouchard_keep_bodies` (the database's evidence folder or a folder in
it) they are kept as evidence files named by their hash, recorded in `evidence_files` with a media type sniffed
from their bytes.
"""

from __future__ import annotations

import logging
import sqlite3
import sys
from pathlib import Path
from typing import Optional

from mitmproxy import ctx, exceptions

from addons.pipeline import FlowRecord, Tap, packaged
from addons.recorder import RecordingProcess

log = logging.getLogger("mouchard")


class RecordFlows(Tap):
    """Records flows, WebSockets, raw TCP and refused TLS handshakes (see the module docstring)."""

    def __init__(self) -> None:
        self.worker: RecordingProcess | None = None
        self.crawl_id: int | None = None
        self.db: str | None = None

    def load(self, loader) -> None:
        from mouchard.storage.store import default_db_path

        loader.add_option("mouchard_db", str, default_db_path(),
                          "mouchard SQLite database the flows are recorded in (env MOUCHARD_DB).")
        loader.add_option("mouchard_crawl_id", int, 0,
                          "Record under this crawls.id (set by `mouchard proxy`/`import`); 0 starts a new run.")
        loader.add_option("mouchard_keep_bodies", Optional[str], None,
                          "Folder where raw request and response bodies are kept as hashed evidence files "
                          "(never in the database, which holds redacted data only): the database's evidence "
                          "folder <db>.evidence/ or a folder inside it.")
        loader.add_option("mouchard_busy_timeout", int, 60,
                          "Seconds a write may wait for a lock held by another process before the capture stops.")
        loader.add_option("mouchard_kind", str, "app", "crawls.kind of a run this addon starts: app or import.")

    def configure(self, updated) -> None:
        if "mouchard_db" in updated:
            folder = Path(ctx.options.mouchard_db).expanduser().resolve().parent
            if not folder.is_dir():
                raise exceptions.OptionsError(f"mouchard_db: folder {folder} does not exist")
        if ({"mouchard_keep_bodies", "mouchard_db"} & set(updated)) and ctx.options.mouchard_keep_bodies:
            from mouchard.storage.store import evidence_dir

            keep = Path(ctx.options.mouchard_keep_bodies).expanduser()
            if keep.exists() and not keep.is_dir():
                raise exceptions.OptionsError(f"mouchard_keep_bodies: {keep} is not a folder")
            # Evidence paths are relative to the database's evidence folder, the only place readers look.
            root = evidence_dir(Path(ctx.options.mouchard_db).expanduser().resolve()).resolve()
            if keep.resolve() != root and root not in keep.resolve().parents:
                raise exceptions.OptionsError(f"mouchard_keep_bodies: {keep} must be the database's evidence folder "
                                              f"{root} or a folder inside it")
        if "mouchard_busy_timeout" in updated and ctx.options.mouchard_busy_timeout <= 0:
            raise exceptions.OptionsError("mouchard_busy_timeout must be positive")

    def running(self) -> None:
        from mouchard.errors import UserError
        from mouchard.storage.store import Store

        if self.worker is not None:
            return
        self.db = str(Path(ctx.options.mouchard_db).expanduser().resolve())
        try:  # the run's row is created here; the recording process is the only writer from then on
            with Store(self.db) as store:
                self.crawl_id = ctx.options.mouchard_crawl_id or None
                if self.crawl_id is None:
                    self.crawl_id = store.start_crawl(ctx.options.mouchard_kind, config=self._config())
                elif not store.count("crawls", "id = ?", [self.crawl_id]):
                    raise UserError(f"mouchard_crawl_id {self.crawl_id}: no such run in {store.path}")
        except (UserError, sqlite3.Error, OSError) as exc:
            log.error("mouchard: cannot open the database: %s", exc)
            ctx.master.shutdown()
            return
        keep = ctx.options.mouchard_keep_bodies
        stages = []
        for addon in list(ctx.master.addons.lookup.values()):
            provide = getattr(addon, "mouchard_stages", None)
            if callable(provide) and addon is not self:
                stages.extend(provide())
        if keep:
            stages.append(KeepBodies())
            keep = str(Path(keep).expanduser().resolve())
        self.worker = RecordingProcess(stages, self.db, self.crawl_id, keep, ctx.options.mouchard_busy_timeout,
                                       self._failed)
        log.info("mouchard: recording into %s (run %s) with %s", self.db, self.crawl_id,
                 ", ".join(type(s).__name__ for s in sorted(stages, key=lambda s: s.order)) or "no analysis stage")

    def _config(self) -> dict:
        names = [n for n in ctx.options.keys() if n.startswith("mouchard_")]
        return {n: getattr(ctx.options, n) for n in names}

    def _failed(self, reason: str) -> None:
        """Called from the listener thread: stop the proxy (thread-safe) rather than let traffic pass."""
        log.error("mouchard: cannot write to %s (%s): stopping the proxy so no traffic passes unrecorded",
                  self.db, reason)
        ctx.master.shutdown()

    def request(self, flow) -> None:
        if self.worker is not None and self.worker.failed is not None:
            flow.kill()

    def done(self) -> None:
        worker, self.worker = self.worker, None
        if worker is None:
            return
        summary = worker.stop()
        log.info("mouchard: %s", ", ".join(f"{k} {v}" for k, v in sorted(summary.items())) or "no flows")
        if worker.failed is not None:
            # Like mitmproxy's own `save` addon: a capture that could not be recorded must not look successful.
            sys.exit(1)


class KeepBodies:
    """Stage: queue raw bodies as evidence files (only with `mouchard_keep_bodies`)."""

    order = 95

    def process(self, snap, record: FlowRecord) -> None:
        if snap.request_body:
            record.evidence.append((snap.request_body, "request-body", snap.request_header("content-type")))
        if snap.response_body:
            record.evidence.append((snap.response_body, "response-body", snap.response_header("content-type")))


addons = [packaged("addons.record_flows", "RecordFlows")]
