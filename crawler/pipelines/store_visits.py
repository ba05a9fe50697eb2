"""StoreVisits: writes a visit and all its rows in one transaction: the visit is recorded whole or not at all.

Order: the visit row, then `requests` (refs become ids, POST bodies go to `bodies` by hash), then the other
tables in the order collectors produced them, evidence files (hashed now: the HAR exists only after the browser
closed), updates of earlier rows, and the sampled links in `crawls.config`. `visits.key` is unique per crawl:
the resume ledger.
"""

from __future__ import annotations

import json
import os
import sqlite3

from crawler.browser.visit import VisitRecord
from crawler.collectors.base import Ref
from mouchard.store import Store


class StoreVisits:
    """One transaction per VisitRecord; calls the `MOUCHARD_PROGRESS` callable after each commit."""

    def __init__(self, db: str, crawl_id: int, evidence_dir: str | None, progress=None, stats=None):
        self.db = db
        self.crawl_id = crawl_id
        self.evidence_dir = evidence_dir
        self.progress = progress
        self.stats = stats
        self.store: Store | None = None

    @classmethod
    def from_crawler(cls, crawler) -> "StoreVisits":
        settings = crawler.settings
        return cls(settings.get("MOUCHARD_DB"), settings.getint("MOUCHARD_CRAWL_ID"),
                   settings.get("MOUCHARD_EVIDENCE_DIR"), settings.get("MOUCHARD_PROGRESS"), crawler.stats)

    def open_spider(self, spider=None) -> None:
        self.store = Store(self.db)

    def close_spider(self, spider=None) -> None:
        if self.store is not None:
            self.store.close()

    def _count(self, key: str, n: int = 1) -> None:
        if self.stats is not None:
            self.stats.inc_value(f"mouchard/{key}", n)

    def process_item(self, item, spider=None):
        if not isinstance(item, VisitRecord):
            return item
        try:
            self._store(item)
        except sqlite3.IntegrityError as exc:
            if "UNIQUE" not in str(exc):
                raise
            self._count("store/duplicate_visits")  # another process of the same resumed crawl recorded it first
            return item
        self._count(f"visits/{item.visit['status']}")
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
            visit_id = tx.insert("visits", {**item.visit, "crawl_id": self.crawl_id, "parent_visit_id": parent_id})
            ids: dict[tuple[str, object], int] = {}
            # requests and evidence files first: other rows point at them (rtb.request_id, consent.screenshot_file_id)
            first = ("requests", "evidence_files")
            tables = [*first, *[t for t in item.rows if t not in first]]
            for table in tables:
                for row in item.rows.get(table, []):
                    values = {}
                    for name, value in row.items():
                        if name.startswith("_"):
                            continue
                        if isinstance(value, Ref):
                            value = ids.get((value.table, value.ref))
                            if value is None:
                                self._count("store/unresolved_refs")
                        values[name] = value
                    if table == "requests" and row.get("_body") is not None:
                        values["post_body_sha256"] = tx.add_body(row["_body"])
                        values["post_body_size"] = len(row["_body"])
                    if table == "evidence_files":
                        row_id = self._add_evidence(tx, row, visit_id)
                        if row_id is not None and "_ref" in row:
                            ids[(table, row["_ref"])] = row_id
                        continue
                    if table != "bodies":
                        values["visit_id"] = visit_id
                    row_id = tx.insert(table, values)
                    if "_ref" in row:
                        ids[(table, row["_ref"])] = row_id
            for table, row_id, values in item.updates:
                tx.update(table, row_id, values)
            if item.samples:
                self._record_sample(store, item)

    def _add_evidence(self, tx, row: dict, visit_id: int) -> int | None:
        path = row.get("_path")
        if not path or not os.path.exists(path):
            self._count("evidence/missing")
            return None
        return self.store.add_evidence_file(path, row.get("documents") or "capture", root=self.evidence_dir,
                                     crawl_id=self.crawl_id, visit_id=visit_id, media_type=row.get("media_type"), tx=tx)

    def _record_sample(self, store: Store, item: VisitRecord) -> None:
        """The internal links chosen from a landing page, in crawls.config (so a resumed crawl follows them)."""
        config = json.loads(store.conn.execute("SELECT config FROM crawls WHERE id = ?",
                                               (self.crawl_id,)).fetchone()[0] or "{}")
        config.setdefault("samples", {})[item.spec.key] = {"links": len(item.links), "chosen": item.samples}
        store.conn.execute("UPDATE crawls SET config = ? WHERE id = ?",
                           (json.dumps(config, ensure_ascii=False, sort_keys=True), self.crawl_id))
