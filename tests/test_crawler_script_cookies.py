"""Script cookies do not depend on fingerprinting: RecordScriptCookies arms the call recorder on the
`document.cookie` setter alone when RecordFingerprinting is off, and each cookie a script wrote keeps its script.

One real crawl of demoweb/sites/cookie_lab.py's page (its inline script writes four cookies) through the Python API
(`crawler.api.crawl`) with `CollectorSettings(fingerprinting=False)`; the same page crawled with fingerprinting on
is tests/test_crawler_cookie_attributes.py.
"""

from __future__ import annotations

import sqlite3
import urllib.parse

import pytest
from demoweb.sites import cookie_lab

from mouchard.detect.fingerprinting import APIS, COOKIE_WRITE

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SCRIPT_COOKIES = {"far_script": "s1", "maxage_script": "s2", "none_script": "s3", "brief_script": "s5"}


@pytest.fixture(scope="module")
def crawled(testweb, tmp_path_factory) -> sqlite3.Connection:
    from crawler.api import crawl

    db = tmp_path_factory.mktemp("script-cookies") / "c.db"
    result = crawl([testweb.url(cookie_lab.HOST)], db=str(db), consent="none", timeout=15, concurrency=1,
                   browser_args=testweb.chromium_args(), collectors={"fingerprinting": False})
    assert result.status == "finished", result
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    yield conn
    conn.close()


def test_script_cookies_keep_their_script_with_fingerprinting_off(testweb, crawled):
    assert crawled.execute("SELECT status FROM visits").fetchall()[0][0] == "ok"
    rows = {r["name"]: r for r in crawled.execute("SELECT * FROM cookies WHERE set_by = 'script'")}
    assert {name: row["value"] for name, row in rows.items()} == SCRIPT_COOKIES
    for name, row in rows.items():
        setter = urllib.parse.urlsplit(row["setter_url"] or "")
        assert (setter.hostname, setter.path) == (cookie_lab.HOST, "/"), name
    # fingerprinting is off indeed: no js_calls, no scripts rows
    assert crawled.execute("SELECT count(*) FROM js_calls").fetchone()[0] == 0
    assert crawled.execute("SELECT count(*) FROM scripts").fetchone()[0] == 0


def test_the_recorder_is_armed_on_the_union_of_the_collectors_apis():
    """One recorder per visit, whichever CallRecorders run: the cookie setter alone, or the whole catalogue."""
    from types import SimpleNamespace

    from crawler.collectors.base import VisitContext
    from crawler.collectors.fingerprinting import RecordFingerprinting
    from crawler.collectors.recorder import recorder_source
    from crawler.collectors.script_cookies import RecordScriptCookies

    def armed(*collectors) -> frozenset[int]:
        visit = VisitContext(key="k", url="https://www.x.fr/", site="x.fr")
        visit.hub = SimpleNamespace(collectors=list(collectors))
        state = collectors[0].state(visit)
        assert visit.shared.calls is state and state.source_url in visit.shared.own_scripts
        return state.apis

    assert armed(RecordScriptCookies()) == {COOKIE_WRITE}
    both = armed(RecordScriptCookies(), RecordFingerprinting())
    assert both == set(range(len(APIS))) and armed(RecordFingerprinting()) == both - {COOKIE_WRITE}
    # an API not armed has no interface in the recorder: it is never looked up, so never found nor recorded
    alone = recorder_source("_r", frozenset({COOKIE_WRITE}))
    assert alone.count('"Document"') == 1 and recorder_source("_r").count('"Document"') > 1
