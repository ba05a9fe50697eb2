"""StoreBrokerPages: the Scrapy item pipeline writing `broker_pages` rows as the broker-site spider finds them.

One row per broker, kind and URL. When the same broker reaches a URL again with fewer clicks from its home
page (a registered rights page turns out to be linked from the home page), the row's `clicks_from_home` is
lowered instead of writing a second row.
"""

from __future__ import annotations

from crawler.pipelines.base import Pipeline
from mouchard.storage.store import Store


class StoreBrokerPages(Pipeline):
    """Write each page verdict of the broker-site crawl to the store (MOUCHARD_DB, MOUCHARD_CRAWL_ID)."""

    requires_crawl = True

    def opened(self) -> None:
        self.rows: dict[tuple[int, str, str], tuple[int, int | None]] = {}

    def process(self, item):
        assert self.store is not None
        key = (item["broker_id"], item["kind"], item["result"].url)
        clicks = item["clicks"]
        if key in self.rows:
            row_id, known = self.rows[key]
            if clicks is not None and (known is None or clicks < known):
                self.store.update("broker_pages", row_id, {"clicks_from_home": clicks})
                self.rows[key] = (row_id, clicks)
            return item
        row = item["result"].row(item["broker_id"], item["kind"], clicks, item["hosted_by"], self.crawl_id)
        if item.get("found_via"):
            row["found_via"] = item["found_via"]
            self.count("brokers/pages_repaired")
        self.rows[key] = (self.store.insert("broker_pages", row), clicks)
        self.count("brokers/pages_stored")
        if row["hidden"]:
            self.count("brokers/pages_hidden")
        if self.progress is not None:
            self.progress(row)
        return item


class StoreRegistrySnapshot(Pipeline):
    """Write each registry capture as a snapshot; its summary goes to `crawls.summary` (a list, in order)."""

    requires_crawl = True
    opens_store = False  # one short-lived store per capture (a registry crawl stores a handful)

    def process(self, item):
        from crawler.brokers.snapshots import Capture, save_snapshot

        if not isinstance(item, Capture):
            return item
        with Store(self.db) as store:
            summary = save_snapshot(store, self.crawl_id, item)
            add_snapshot_summary(store, self.crawl_id, summary)
        return item


def add_snapshot_summary(store: Store, crawl_id: int, summary: dict) -> None:
    """Append one snapshot's summary to the run's `crawls.summary` {"snapshots": [...]}."""
    import json

    current = store.rows("SELECT summary FROM crawls WHERE id = ?", (crawl_id,))
    data = json.loads(current[0]["summary"] or "{}") if current else {}
    data.setdefault("snapshots", []).append(summary)
    store.update("crawls", crawl_id, {"summary": data})
