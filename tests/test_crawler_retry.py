"""The resume ledger without a browser: sampled links are recorded in the landing visit's row (never by rewriting
`crawls.config` at each landing page, which made a crawl quadratic), and `--retry-failed N` finds the keys to try
again from the rows (bounded, every earlier try kept under a suffixed key)."""

from __future__ import annotations

import json

from crawler.browser.visit import VisitRecord, VisitSpec
from crawler.crawl import record_samples, resume_ledger
from crawler.pipelines.store_visits import StoreVisits
from mouchard.storage.store import Store, utcnow

LANDINGS = 60


def record(url: str, *, status: str = "ok", samples=(), attempt: int = 1, retry: int = 0) -> VisitRecord:
    spec = VisitSpec(f"initial {url}", url, attempt=attempt, retry=retry)
    return VisitRecord(spec, {"key": spec.key, "url": url, "site": spec.site, "phase": "initial", "depth": 0,
                              "status": status, "started_at": utcnow(), "attempt": attempt},
                       links=[f"{url}l{i}" for i in range(5)], samples=list(samples))


def test_sampled_links_do_not_rewrite_the_crawl_config_per_landing_page(tmp_path):
    db = str(tmp_path / "s.db")
    with Store(db) as store:
        crawl_id = store.start_crawl("web", config={"seed": 7})
    pipeline = StoreVisits(db, crawl_id, None)
    pipeline.open_spider()
    writes = []
    pipeline.store.conn.set_trace_callback(lambda sql: writes.append(sql) if "UPDATE [crawls]" in sql
                                           or "UPDATE crawls" in sql else None)
    for i in range(LANDINGS):
        url = f"https://site{i}.example/"
        pipeline.process_item(record(url, samples=[f"{url}l1"]))
    assert writes == []  # before: one read-modify-write of the whole config JSON per landing page
    pipeline.close_spider()
    with Store(db) as store:
        ledger = resume_ledger(store, crawl_id)
        assert len(ledger.samples) == LANDINGS
        assert ledger.samples["initial https://site3.example/"] == {"links": 5, "chosen": ["https://site3.example/l1"]}
        record_samples(store, crawl_id)  # once, at the end of the crawl
        config = json.loads(store.rows("SELECT config FROM crawls")[0]["config"])
        assert config["seed"] == 7 and len(config["samples"]) == LANDINGS


def test_retry_failed_ledger_is_bounded_and_keeps_every_try(tmp_path):
    db = str(tmp_path / "r.db")
    with Store(db) as store:
        crawl_id = store.start_crawl("web")
    pipeline = StoreVisits(db, crawl_id, None)
    pipeline.open_spider()
    ok, bad = "https://ok.example/", "https://bad.example/"
    pipeline.process_item(record(ok))
    pipeline.process_item(record(bad, status="timeout"))
    with Store(db) as store:
        assert resume_ledger(store, crawl_id).done == {f"initial {ok}", f"initial {bad}"}  # no retry asked
        ledger = resume_ledger(store, crawl_id, retry_failed=2)
        assert ledger.done == {f"initial {ok}"} and ledger.retries == {f"initial {bad}": (2, 0)}
    pipeline.process_item(record(bad, status="timeout", attempt=2, retry=1))
    pipeline.process_item(record(bad, status="http-error", attempt=3, retry=2))
    pipeline.close_spider()
    with Store(db) as store:
        keys = [(r["key"], r["attempt"], r["status"]) for r in store.rows("SELECT * FROM visits ORDER BY id")]
        assert keys == [(f"initial {ok}", 1, "ok"), (f"initial {bad} #attempt 1", 1, "timeout"),
                        (f"initial {bad} #attempt 2", 2, "timeout"), (f"initial {bad}", 3, "http-error")]
        assert resume_ledger(store, crawl_id, retry_failed=2).retries == {}  # 2 retries made: no more
        assert resume_ledger(store, crawl_id, retry_failed=3).retries == {f"initial {bad}": (4, 2)}
