"""StoreVisits: writes a visit and all its rows in one transaction: the visit is recorded whole or not at all.

Order: the visit row, then `requests` (refs become ids, POST bodies go to `bodies` by hash), then the other
tables in the order collectors produced them, evidence files (hashed now: the HAR exists only after the browser
closed), updates of earlier rows, and the visit's `failures` rows. `visits.key` is unique per crawl: the resume
ledger.

Nothing is lost silently: each collector's rows of a table go in under a savepoint; rows the store refuses (a bug
in a collector, a value it cannot hold) roll back to it alone and become a `failures` row naming the collector,
and the visit is `partial`. A retry (`--retry-failed`) keeps the earlier try: its row's key is suffixed
` #attempt N` in the same transaction that records the new try, so the ledger has one row per key, no gap.
The internal links sampled on a landing page go in its own row (`visits.sample`), not in `crawls.config`
(rewriting the crawl's config at every landing page made a crawl quadratic in its size).
"""

from __future__ import annotations

import os
import sqlite3
from itertools import groupby

from crawler.browser.visit import VisitRecord, partial_reason
from crawler.collectors.base import Ref
from crawler.pipelines.base import Pipeline
from mouchard.storage.store import Writer, failure_row

# What a row the store refuses raises: a collector's bug (unknown column, wrong type, a dangling reference).
ROW_ERRORS = (sqlite3.Error, KeyError, TypeError, ValueError, OverflowError)


ATTEMPT_SUFFIX = " #attempt "  # key of an earlier, retried try: KEY #attempt N (URLs hold no spaces)


class StoreVisits(Pipeline):
    """One transaction per VisitRecord; calls the `MOUCHARD_PROGRESS` callable after each commit."""

    item_type = VisitRecord
    worker: str | None = None

    def opened(self) -> None:
        # A crawl on a cluster names its shard after its worker (crawls.shard): each visit records that worker.
        found = self.store.conn.execute("SELECT shard FROM crawls WHERE id = ?", (self.crawl_id,)).fetchone()
        self.worker = found[0] if found else None

    def process(self, item: VisitRecord) -> VisitRecord:
        try:
            self._store(item)
        except sqlite3.IntegrityError as exc:
            if "UNIQUE" not in str(exc):
                raise
            self.count("store/duplicate_visits")  # another process of the same resumed crawl recorded it first
            return item
        self.count(f"visits/{item.visit['status']}")
        if self.progress is not None:
            self.progress(item.visit)
        return item

    def _store(self, item: VisitRecord) -> None:
        store = self.store
        with store.transaction() as tx:
            parent_id = None
            if item.spec.parent_key:
                found = store.conn.execute("SELECT id FROM visits WHERE crawl_id = ? AND key = ?",
                                           (self.crawl_id, item.spec.parent_key)).fetchone()
                parent_id = found[0] if found else None
            if item.spec.retry:
                self._keep_earlier_try(tx, item.spec.key)
            visit = {**item.visit, "crawl_id": self.crawl_id, "parent_visit_id": parent_id}
            if self.worker:
                visit["worker"] = self.worker
            if item.samples:
                visit["sample"] = {"links": len(item.links), "chosen": item.samples}
            visit_id = tx.insert("visits", visit)
            failures = list(item.failures)
            ids: dict[tuple[str, object], int] = {}
            # requests and evidence files first: other rows point at them (rtb.request_id, consent.screenshot_file_id)
            first = ("requests", "evidence_files")
            tables = [*first, *[t for t in item.rows if t not in first]]
            for table in tables:
                for collector, rows in groupby(item.rows.get(table, []), key=lambda r: r.get("_collector")):
                    failure = self._insert_group(tx, table, list(rows), visit_id, ids)
                    if failure is not None:
                        failures.append(failure_row(collector or "store", "collector-error", failure))
                        self.count(f"collectors/{collector or 'store'}/store_errors")
            for table, row_id, values in item.updates:
                tx.update(table, row_id, values)
            if failures:
                tx.insert_many("failures", [{**f, "crawl_id": self.crawl_id, "visit_id": visit_id} for f in failures])
                self.count("failures/collector-error", len(failures))
                if item.visit.get("status") in ("ok", "partial"):  # rows are missing: the visit says which
                    item.visit.update(status="partial", reason=partial_reason(failures))
                    tx.update("visits", visit_id, {"status": "partial", "reason": item.visit["reason"]})
            if tx.out_of_range:
                self.count("store/values_out_of_range", tx.out_of_range)

    def _keep_earlier_try(self, tx: Writer, key: str) -> None:
        """The try being retried gives up the ledger key (it keeps its row, under its attempt's key)."""
        tx.conn.execute("UPDATE visits SET key = key || ? || coalesce(attempt, 1) WHERE crawl_id = ? AND key = ? "
                        "AND status != 'ok'", (ATTEMPT_SUFFIX, self.crawl_id, key))

    def _insert_group(self, tx: Writer, table: str, rows: list[dict], visit_id: int,
                      ids: dict[tuple[str, object], int]) -> str | None:
        """One collector's rows of one table under a savepoint; the error in one line if the store refused them."""
        new_ids: dict[tuple[str, object], int] = {}
        tx.conn.execute("SAVEPOINT collector_rows")
        try:
            for row in rows:
                self._insert_row(tx, table, row, visit_id, ids, new_ids)
        except ROW_ERRORS as exc:
            tx.conn.execute("ROLLBACK TO collector_rows")
            tx.conn.execute("RELEASE collector_rows")
            message = str(exc).splitlines()[0][:200] if str(exc) else ""
            return f"store {table}: {type(exc).__name__}: {message} ({len(rows)} row(s) not recorded)"
        tx.conn.execute("RELEASE collector_rows")
        ids.update(new_ids)
        return None

    def _insert_row(self, tx: Writer, table: str, row: dict, visit_id: int, ids: dict, new_ids: dict) -> None:
        values = {}
        for name, value in row.items():
            if name.startswith("_"):
                continue
            if isinstance(value, Ref):
                value = ids.get((value.table, value.ref), new_ids.get((value.table, value.ref)))
                if value is None:
                    self.count("store/unresolved_refs")
            values[name] = value
        if table == "requests" and row.get("_body") is not None:
            values["post_body_sha256"] = tx.add_body(row["_body"])
            values["post_body_size"] = len(row["_body"])
        elif table == "requests" and row.get("_body_sha256"):  # over the visit's body budget: hash and size only
            values["post_body_sha256"] = tx.add_body_digest(row["_body_sha256"], row.get("post_body_size"))
        if table == "evidence_files":
            row_id = self._add_evidence(tx, row, visit_id)
            if row_id is not None and "_ref" in row:
                new_ids[(table, row["_ref"])] = row_id
            return
        if table == "failures":
            values["crawl_id"] = self.crawl_id
        if table != "bodies":
            values["visit_id"] = visit_id
        row_id = tx.insert(table, values)
        if "_ref" in row:
            new_ids[(table, row["_ref"])] = row_id

    def _add_evidence(self, tx, row: dict, visit_id: int) -> int | None:
        path = row.get("_path")
        if not path or not os.path.exists(path):
            self.count("evidence/missing")
            return None
        return self.store.add_evidence_file(path, row.get("documents") or "capture", root=self.evidence_dir,
                                            crawl_id=self.crawl_id, visit_id=visit_id,
                                            media_type=row.get("media_type"), tx=tx)
