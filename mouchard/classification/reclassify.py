"""Re-derive tracker entity and category in every table that has them, with the lists in force now.

Collectors classify as they record; when lists are updated (`mouchard lists update`), `mouchard classify`
rebuilds the derived columns of existing rows without re-crawling: capture raw, derive later.
"""

from __future__ import annotations

from collections.abc import Callable

from mouchard.classification.classify import Classifier, default_classifier
from mouchard.storage.schema import TABLES
from mouchard.storage.store import Store

# table -> SQL selecting (id, subject URL or host, resource type, first-party site) for each row.
SUBJECTS: dict[str, str] = {
    "requests": "SELECT r.id, r.url, r.resource_type, v.site FROM requests r LEFT JOIN visits v ON v.id = r.visit_id",
    "cookies": "SELECT c.id, c.domain, NULL, v.site FROM cookies c LEFT JOIN visits v ON v.id = c.visit_id",
    "storage_items": "SELECT s.id, s.origin, NULL, v.site FROM storage_items s LEFT JOIN visits v ON v.id = s.visit_id",
    "js_calls": "SELECT j.id, j.script_url, 'script', v.site FROM js_calls j LEFT JOIN visits v ON v.id = j.visit_id",
    "scripts": "SELECT s.id, s.script_url, 'script', v.site FROM scripts s LEFT JOIN visits v ON v.id = s.visit_id",
    "rtb": "SELECT id, coalesce(exchange, bidder), 'xhr', NULL FROM rtb",
    "flows": "SELECT id, url, NULL, NULL FROM flows",
    "leaks": "SELECT id, destination_host, NULL, NULL FROM leaks",
}
BATCH = 5000


def tables_with_tracker_columns() -> list[str]:
    return [t.name for t in TABLES if any(c.name == "tracker_entity" for c in t.columns) and t.name in SUBJECTS]


def reclassify(store: Store, classifier: Classifier | None = None,
               progress: Callable[[str, int], None] | None = None) -> dict[str, int]:
    """Recompute tracker_entity/category/list for every row; returns rows changed per table."""
    classifier = classifier or default_classifier()
    changed: dict[str, int] = {}
    for table in tables_with_tracker_columns():
        cursor = store.conn.execute(SUBJECTS[table])
        current = {row[0]: row[1:] for row in store.conn.execute(
            f"SELECT id, tracker_entity, tracker_category, tracker_list FROM [{table}]")}
        count = 0
        while batch := cursor.fetchmany(BATCH):
            updates = []
            for row_id, subject, resource_type, site in batch:
                hit = classifier.classify(subject, resource_type, site) if subject else None
                new = (hit.entity, hit.category, hit.label) if hit else (None, None, None)
                if tuple(current.get(row_id, ())) != new:
                    updates.append((*new, row_id))
            if updates:
                with store.transaction() as tx:
                    tx.conn.executemany(f"UPDATE [{table}] SET tracker_entity = ?, tracker_category = ?, "
                                        "tracker_list = ? WHERE id = ?", updates)
                count += len(updates)
            if progress:
                progress(table, len(batch))
        changed[table] = count
    return changed


def classify_database(db: str, classifier: Classifier | None = None) -> dict[str, int]:
    """The `classify` job: re-derive the tracker columns of every recorded row of `db` with the lists now in the
    cache (after `mouchard lists update`), link brokers to tracker entities, and record the run (a `crawls` row of
    kind `classify` with the lists used). Returns rows changed per table. What was captured never changes.

        >>> from mouchard.api import classify
        >>> classify("news.db")
        {'requests': 12, 'cookies': 3, ..., 'brokers': 0}
    """
    from mouchard.classification import lists
    from mouchard.classification.brokers import link_tracker_entities
    from mouchard.classification.rollups import rebuild as rebuild_rollups

    with Store(db, create=False) as store:
        classifier = classifier or default_classifier()
        lists.record(store, classifier.manifests)
        crawl_id = store.start_crawl("classify", tracker_lists=classifier.provenance())
        changed = reclassify(store, classifier)
        with store.transaction() as tx:
            changed["brokers"] = link_tracker_entities(tx.conn, classifier)
        rebuild_rollups(store)  # per-site counts follow the tracker columns just re-derived
        store.finish_crawl(crawl_id, summary={"changed": changed})
    return changed
