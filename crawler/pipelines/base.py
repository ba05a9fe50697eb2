"""The base of every mouchard item pipeline: the run's database, crawl id and stats, one Store opened and closed.

Scrapy builds each pipeline once per crawl through `from_crawler`; this base reads what a pipeline needs of the
run through crawler/settings.py's accessors (database, crawl id, evidence folder, progress callback) and the
crawl's stats, opens a `mouchard.storage.store.Store` on the database in `open_spider` (unless `opens_store` is False)
and closes it in `close_spider`, passes on items that are not its `item_type` untouched, and counts under
`mouchard/` in stats. A pipeline overrides `process(item)` (and `opened()` for set-up once the store is open):

    class CountVisits(Pipeline):
        item_type = VisitRecord
        opens_store = False

        def process(self, item):
            self.count("visits/seen")

`process` returns the item to pass on, or None for the same item. With `requires_crawl`, a run without a database
and crawl id switches the pipeline off (NotConfigured), as the broker pipelines need.
"""

from __future__ import annotations

from typing import Any

from mouchard.storage.store import Store


class Pipeline:
    """One Scrapy item pipeline of a mouchard run (see the module docstring)."""

    item_type: type | tuple[type, ...] | None = None  # the items it processes; None: every item
    opens_store: bool = True  # open a Store on the run's database for the crawl's duration
    requires_crawl: bool = False  # NotConfigured without a database and crawl id

    def __init__(self, db: str | None = None, crawl_id: int | None = None, evidence_dir: str | None = None,
                 progress: Any = None, stats: Any = None):
        self.db = db
        self.crawl_id = crawl_id
        self.evidence_dir = evidence_dir
        self.progress = progress  # called with each stored row or visit (the command's progress bar), if any
        self.stats = stats
        self.store: Store | None = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> "Pipeline":
        from crawler.settings import crawl_id_of, db_of, evidence_dir_of, progress_of

        settings = crawler.settings
        db, crawl_id = db_of(settings), crawl_id_of(settings)
        if cls.requires_crawl and (not db or not crawl_id):
            from scrapy.exceptions import NotConfigured

            raise NotConfigured(f"{cls.__name__} needs MOUCHARD_DB and MOUCHARD_CRAWL_ID")
        return cls(db, crawl_id, evidence_dir_of(settings), progress_of(settings), crawler.stats)

    def open_spider(self, spider: Any = None) -> None:
        if self.opens_store and self.db:
            self.store = Store(self.db)
        self.opened()

    def opened(self) -> None:
        """Set-up once the store (if any) is open, before the first item."""

    def close_spider(self, spider: Any = None) -> None:
        if self.store is not None:
            self.store.close()
            self.store = None

    def count(self, key: str, n: int = 1) -> None:
        """Increment stats key `mouchard/<key>`."""
        if self.stats is not None:
            self.stats.inc_value(f"mouchard/{key}", n)

    def process_item(self, item: Any, spider: Any = None) -> Any:
        if self.item_type is not None and not isinstance(item, self.item_type):
            return item
        result = self.process(item)
        return item if result is None else result

    def process(self, item: Any) -> Any:
        """Do the pipeline's work on one item of its `item_type`; return the item to pass on (None: the same)."""
        raise NotImplementedError
