"""ClassifyRows: tracker entity and category of each request, cookie and storage origin of a visit.

Uses `mouchard.classify.classify_rows` (the shipped list and whatever lists `mouchard lists update` cached);
the same derivation `mouchard classify` re-runs later when lists change.
"""

from __future__ import annotations

from crawler.browser.visit import VisitRecord

TABLES = ("requests", "cookies", "storage_items")


class ClassifyRows:
    """Fills tracker_entity, tracker_category and tracker_list in requests, cookies and storage_items rows."""

    def __init__(self, stats=None):
        self.stats = stats
        self.classifier = None

    @classmethod
    def from_crawler(cls, crawler) -> "ClassifyRows":
        return cls(crawler.stats)

    def open_spider(self, spider=None) -> None:
        from mouchard.classify import default_classifier

        self.classifier = default_classifier()  # load the lists before the first visit, not during it

    def process_item(self, item, spider=None):
        if not isinstance(item, VisitRecord):
            return item
        from mouchard.classify import classify_rows

        for table in TABLES:
            rows = item.rows.get(table)
            if rows:
                classify_rows(rows, first_party=item.spec.url, classifier=self.classifier)
                if self.stats is not None:
                    self.stats.inc_value(f"mouchard/{table}/trackers", sum(1 for r in rows if r.get("tracker_entity")))
        return item
