"""The collector contract: every collector in crawler/collectors, found by its `order`; a visit's shared state
typed (no string-keyed scratch dict); every pipeline on one base class; a new detector is one module."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
import sys
import textwrap

import pytest

from crawler.collectors import discover

DEFAULTS = ["network.RecordRequests", "clock.PinClock", "script_cookies.RecordScriptCookies", "cookies.RecordCookies",
            "storage.RecordStorage", "consent.RecordConsent", "bidding.RecordBidding", "replay.DetectSessionReplay",
            "keylogging.DetectKeyLogging", "pixels.RecordPixels", "idsync.DetectIdSyncs",
            "fingerprinting.RecordFingerprinting", "evidence.KeepEvidence", "archive.RecordArchive"]


def test_the_default_collectors_are_those_of_crawler_collectors_in_their_order():
    from crawler.settings import DEFAULT_COLLECTORS, default_collectors

    assert discover() == [f"crawler.collectors.{path}" for path in DEFAULTS]
    assert DEFAULT_COLLECTORS == discover() and default_collectors() is default_collectors()


def test_no_collector_lives_outside_crawler_collectors():
    import crawler
    from crawler.collectors.base import Collector

    for info in pkgutil.walk_packages(crawler.__path__, "crawler."):
        if info.name.startswith(("crawler.collectors", "crawler.spiders.")) or info.ispkg:
            continue
        module = importlib.import_module(info.name)
        strays = [name for name, cls in inspect.getmembers(module, inspect.isclass)
                  if cls.__module__ == module.__name__ and issubclass(cls, Collector)]
        assert strays == [], info.name


def test_a_new_detector_is_one_module(tmp_path, monkeypatch):
    """Dropped into the package with an `order`, it is on, at its place; helpers without one are not."""
    package = tmp_path / "detectors_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "count_beacons.py").write_text(textwrap.dedent('''
        from crawler.collectors.base import Collector

        class CountBeacons(Collector):
            name = "beacons"
            order = 650
            tables = ()

        class Helper:  # not a collector
            order = 1
        '''))
    (package / "first.py").write_text("from crawler.collectors.base import Collector\n"
                                      "class First(Collector):\n    order = 5\n"
                                      "class NotOn(Collector):\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        assert discover("detectors_pkg") == ["detectors_pkg.first.First", "detectors_pkg.count_beacons.CountBeacons"]
    finally:
        for name in [n for n in sys.modules if n.startswith("detectors_pkg")]:
            del sys.modules[name]


def test_a_visit_shares_typed_state_not_a_scratch_dict():
    from crawler.collectors.base import VisitContext
    from crawler.collectors.state import Shared

    visit = VisitContext(key="k", url="https://www.x.fr/", site="x.fr")
    assert not hasattr(visit, "extra")
    assert {f.name for f in dataclasses.fields(Shared)} == {
        "own_scripts", "network", "calls", "consent_action_ms", "cookie_rows", "pixel_events", "script_marks",
        "withdrawal_ms", "primed_jar", "priming"}
    # a collector's private state: made once, by its class, never shared by a string key
    first = visit.own(VisitContext, dict)
    assert visit.own(VisitContext, list) is first and visit.has_own(VisitContext) and not visit.has_own(Shared)


@pytest.mark.parametrize("path", ["crawler.pipelines.classify_rows.ClassifyRows",
                                  "crawler.pipelines.judge_identifiers.JudgeIdentifiers",
                                  "crawler.pipelines.store_visits.StoreVisits",
                                  "crawler.brokers.pipeline.StoreBrokerPages",
                                  "crawler.brokers.pipeline.StoreRegistrySnapshot"])
def test_every_pipeline_is_on_the_one_base(path):
    from scrapy.utils.misc import load_object

    from crawler.pipelines.base import Pipeline

    cls = load_object(path)
    assert issubclass(cls, Pipeline) and "process_item" not in cls.__dict__


def test_the_browser_crawl_runs_exactly_these_pipelines():
    from crawler.settings import BROWSER_PIPELINES

    assert list(BROWSER_PIPELINES) == ["crawler.pipelines.classify_rows.ClassifyRows",
                                       "crawler.pipelines.judge_identifiers.JudgeIdentifiers",
                                       "crawler.pipelines.store_visits.StoreVisits"]


def test_pipeline_base_passes_other_items_and_opens_and_closes_its_store(tmp_path):
    from crawler.browser.visit import VisitRecord
    from crawler.pipelines.base import Pipeline

    seen = []

    class Note(Pipeline):
        item_type = VisitRecord

        def process(self, item):
            seen.append(item)

    pipeline = Note(str(tmp_path / "p.db"), 1)
    pipeline.open_spider()
    assert pipeline.store is not None
    other = {"not": "a visit"}
    assert pipeline.process_item(other) is other and seen == []
    pipeline.close_spider()
    assert pipeline.store is None


def test_the_documented_detector_is_one_module_that_works(tmp_path, monkeypatch):
    """docs/crawl-detectors.md "Adding a detector": its code, saved as one module, is found at its order and
    records the page URL sent to a third party (plain or URL-encoded), not the first party's own requests."""
    import asyncio
    import re
    import urllib.parse
    from pathlib import Path

    from crawler.collectors.base import Ref, VisitContext

    doc = (Path(__file__).parents[1] / "docs" / "crawl-detectors.md").read_text()
    section = doc.split("## Adding a detector", 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    package = tmp_path / "doc_detectors"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "page_url.py").write_text(code)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        assert discover("doc_detectors") == ["doc_detectors.page_url.DetectPageUrlLeaks"]
        defaults = [*discover(), "doc_detectors.page_url.DetectPageUrlLeaks"]
        from scrapy.utils.misc import load_object

        placed = sorted(defaults, key=lambda path: load_object(path).order)
        assert placed.index("doc_detectors.page_url.DetectPageUrlLeaks") == placed.index(
            "crawler.collectors.idsync.DetectIdSyncs") - 1
        detector = load_object("doc_detectors.page_url.DetectPageUrlLeaks")()
        page = "https://www.news.fr/article?id=7"
        visit = VisitContext(key="k", url=page, site="news.fr")
        visit.requests = [
            {"url": "https://t.tracker.com/c?u=" + urllib.parse.quote(page, safe=""), "host": "t.tracker.com",
             "site": "tracker.com", "_ref": 1},
            {"url": "https://t.tracker.com/p", "host": "t.tracker.com", "site": "tracker.com", "_ref": 2,
             "_body": f"ref={page}".encode()},
            {"url": "https://www.news.fr/log?u=" + urllib.parse.quote(page, safe=""), "host": "www.news.fr",
             "site": "news.fr", "_ref": 3},
        ]
        rows = asyncio.run(detector.collect(visit))["leaks"]
        assert [(r["request_id"], r["location"], r["destination_host"]) for r in rows] == [
            (Ref("requests", 1), "query", "t.tracker.com"), (Ref("requests", 2), "body", "t.tracker.com")]
    finally:
        for name in [n for n in sys.modules if n.startswith("doc_detectors")]:
            del sys.modules[name]
