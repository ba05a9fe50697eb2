"""ClassifyRows: tracker entity and category of each request, cookie, storage origin and script of a visit,
and the companies on both sides of each ID sync.

Uses `mouchard.classification.classify.classify_rows` (the shipped list and whatever lists `mouchard lists update` cached);
the same derivation `mouchard classify` re-runs later when lists change.
"""

from __future__ import annotations

from crawler.browser.visit import VisitRecord
from crawler.pipelines.base import Pipeline

TABLES = ("requests", "cookies", "storage_items", "js_calls", "scripts")


class ClassifyRows(Pipeline):
    """Fills tracker_entity/category/list in requests, cookies, storage_items, js_calls and scripts rows, and
    from_entity/to_entity in id_syncs rows."""

    item_type = VisitRecord
    opens_store = False
    classifier = None

    def opened(self) -> None:
        from mouchard.classification.classify import default_classifier

        self.classifier = default_classifier()  # load the lists before the first visit, not during it

    def process(self, item: VisitRecord) -> VisitRecord:
        from mouchard.classification.classify import classify_rows

        for table in TABLES:
            rows = item.rows.get(table)
            if rows:
                classify_rows(rows, first_party=item.spec.url, classifier=self.classifier)
                self.count(f"{table}/trackers", sum(1 for r in rows if r.get("tracker_entity")))
        for row in item.rows.get("id_syncs", []):
            for side in ("from", "to"):
                found = self.classifier.classify(row.get(f"{side}_site") or "", None, item.spec.url)
                row[f"{side}_entity"] = found.entity if found else None
        return item
