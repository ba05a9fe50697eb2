"""Request initiators: every request of the initiator lab names the script, function, line and column that
caused it (parser position, synchronous stack, or the async parent stack of an element inserted by a script).

One real crawl (`mouchard crawl` in a subprocess) of demoweb/sites/initiators.py's page; the expected rows are
derived from the page's source there, line for line.
"""

from __future__ import annotations

import json
import sqlite3
import urllib.parse

import pytest
from test_crawler_recall import run_crawl
from demoweb.sites import initiators

from crawler.collectors.network import initiator_fields

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def crawled(testweb, tmp_path_factory):
    """{path: request row} of one crawl of the initiator lab."""
    db = tmp_path_factory.mktemp("initiators") / "initiators.db"
    result = run_crawl(testweb, db, [testweb.url(initiators.HOST)], concurrency=1)
    assert result.returncode == 0, result.stderr[-3000:]
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    rows = {}
    for row in conn.execute("SELECT * FROM requests"):
        path = urllib.parse.urlsplit(row["url"]).path
        assert path not in rows, f"{path} requested twice"
        rows[path] = dict(row)
    conn.close()
    return rows


def at(source: str, line: int, token: str, *, after: bool = False) -> tuple[int, int]:
    """(line, column), 1-based, of `token` on `line` of `source` (`after`: the column just past it, where the
    parser reports an element: the end of its start tag)."""
    column = source.splitlines()[line - 1].index(token) + 1
    return line, column + len(token) if after else column


def frame(url: str, where: tuple[int, int], function: str | None, parent: str | None) -> dict:
    return {"url": url, "function": function, "line": where[0], "column": where[1], "async": parent}


def test_every_request_names_its_initiator_exactly(testweb, crawled):
    page = testweb.url(initiators.HOST)
    script = testweb.url(initiators.HOST, "/insert.js")
    html, js = initiators.PAGE, initiators.INSERT_JS
    listener = {call: frame(script, at(js, 12, call), None, None) for call in ("byInnerHTML", "byAppendChild",
                                                                                "setTimeout")}
    # (type, url, (line, column), function, stack) per path
    want = {
        "/": ("other", None, (None, None), None, None),
        "/favicon.ico": ("other", None, (None, None), None, None),
        # found by the parser: the document and the end of the element's start tag
        "/insert.js": ("parser", page, at(html, 3, '<script src="/insert.js">', after=True), None, None),
        "/img/parser.png": ("parser", page, at(html, 5, '<img src="/img/parser.png" alt="">', after=True), None,
                            None),
        # written by an inline script: the image loads in a task of its own whose parent is the write
        "/img/document-write.png": ("script", page, at(html, 7, "write("), None,
                                    [frame(page, at(html, 7, "write("), None, "Image")]),
        # innerHTML: same, the parent stack is the assignment's
        "/img/inner-html.png": ("script", script, at(js, 2, "= '<img"), "byInnerHTML",
                                [frame(script, at(js, 2, "= '<img"), "byInnerHTML", "Image"),
                                 {**listener["byInnerHTML"], "async": "Image"}]),
        # a script element requests synchronously, in appendChild
        "/js/appended.js": ("script", script, at(js, 7, "appendChild"), "byAppendChild",
                            [frame(script, at(js, 7, "appendChild"), "byAppendChild", None),
                             listener["byAppendChild"]]),
        # an image created by createElement starts loading when its src is set (not when it is attached)
        "/img/append-child.png": ("script", script, at(js, 8, '= "/img/append-child.png"'), "byAppendChild",
                                  [frame(script, at(js, 8, '= "/img/append-child.png"'), "byAppendChild", "Image"),
                                   {**listener["byAppendChild"], "async": "Image"}]),
        # a fetch in a timer: its own stack, then the setTimeout call as the async parent
        "/data/timeout.json": ("script", script, at(js, 10, "fetch("), "fetchLater",
                               [frame(script, at(js, 10, "fetch("), "fetchLater", None),
                                {**listener["setTimeout"], "async": "setTimeout"}]),
    }
    got = {path: (row["initiator_type"], row["initiator_url"], (row["initiator_line"], row["initiator_column"]),
                  row["initiator_function"], json.loads(row["initiator_stack"]) if row["initiator_stack"] else None)
           for path, row in crawled.items()}
    assert got == want


def test_initiator_fields_are_bounded_on_hostile_stacks():
    """A deep or long stack keeps MAX_INITIATOR_FRAMES frames over at most MAX_ASYNC_DEPTH parents, strings cut;
    garbage (non-dict parents, non-integer lines) yields empty fields, never an exception."""
    from crawler.collectors.network import (
        FUNCTION_MAX,
        MAX_ASYNC_DEPTH,
        MAX_INITIATOR_FRAMES,
        URL_MAX,
    )

    stack: dict = {"callFrames": [{"url": "https://x.test/a.js", "functionName": "f" * 10_000, "lineNumber": 0,
                                   "columnNumber": 4}] * 3}
    for _ in range(1000):
        stack = {"callFrames": [{"url": "https://x.test/" + "u" * 10_000, "lineNumber": True}], "parent": stack,
                 "description": "d" * 10_000}
    fields = initiator_fields({"type": "script", "stack": stack})
    frames = fields["initiator_stack"]
    assert len(frames) == MAX_ASYNC_DEPTH + 1 <= MAX_INITIATOR_FRAMES
    assert all(len(f["url"]) == URL_MAX and f["line"] is None for f in frames)
    assert all(f["async"] is None or len(f["async"]) == FUNCTION_MAX for f in frames)
    assert fields["initiator_url"] == frames[0]["url"] and fields["initiator_function"] is None
    wide = {"callFrames": [{"url": "https://x.test/b.js", "lineNumber": 9, "columnNumber": 0}] * 100}
    assert len(initiator_fields({"type": "script", "stack": wide})["initiator_stack"]) == MAX_INITIATOR_FRAMES
    assert initiator_fields({"type": "script", "stack": {"callFrames": "x", "parent": 3}}) == {
        "initiator_url": None, "initiator_line": None, "initiator_column": None, "initiator_function": None,
        "initiator_stack": None}
    assert initiator_fields({"type": "parser", "url": "https://x.test/", "lineNumber": 2, "columnNumber": 7}) == {
        "initiator_url": "https://x.test/", "initiator_line": 3, "initiator_column": 8, "initiator_function": None,
        "initiator_stack": None}


def test_async_stacks_are_set_in_documents_unless_turned_off():
    """CollectorSettings.async_stack_depth: the depth sent to pages and iframes, capped; 0 sends nothing (no debugger)."""
    import asyncio
    from types import SimpleNamespace

    from crawler.collectors.base import Shared
    from crawler.collectors.network import MAX_ASYNC_DEPTH, RecordRequests

    def attach(depth: int, kind: str) -> list[tuple]:
        sent: list[tuple] = []

        async def send(method: str, params: dict | None = None) -> dict:
            sent.append((method, params))
            return {}

        visit = SimpleNamespace(shared=Shared(), on=lambda *args: None)
        asyncio.run(RecordRequests(async_depth=depth).attach(visit, SimpleNamespace(type=kind, send=send)))
        return [s for s in sent if s[0].startswith("Debugger.")]

    assert attach(4, "page") == [("Debugger.enable", {"maxScriptsCacheSize": 0}),
                                 ("Debugger.setAsyncCallStackDepth", {"maxDepth": 4})]
    assert attach(99, "iframe")[-1] == ("Debugger.setAsyncCallStackDepth", {"maxDepth": MAX_ASYNC_DEPTH})
    assert attach(0, "page") == [] and attach(4, "worker") == []


OURS = "mouchard-ac1b2be0f496587c82c6"  # the recorder's random sourceURL, as RecordFingerprinting makes it
PAUSED_IN_OURS = {"type": "script", "lineNumber": 4, "columnNumber": 47, "stack": {"callFrames": [
    {"functionName": "", "scriptId": "4", "url": OURS, "lineNumber": 239, "columnNumber": 0}]}}


def test_a_request_fetched_while_our_recorder_is_paused_is_the_parsers():
    """Chromium's preload scanner fetches while the recorder stops on its document-start `debugger`: the initiator
    it reports (seen on Chromium 156, as above) names our paused script and carries the parser position alongside.
    The row says parser, at that position in the document; a stack with page frames keeps them, ours dropped."""
    from crawler.collectors.network import initiator_columns

    page = "https://www.initiator-lab.fr/"
    assert initiator_columns(PAUSED_IN_OURS, ours={OURS}, document_url=page) == {
        "initiator_type": "parser", "initiator_url": page, "initiator_line": 5, "initiator_column": 48,
        "initiator_function": None, "initiator_stack": None}
    # without knowing our URL (another tool's recorder, an older crawl): what Chromium said, unchanged
    assert initiator_columns(PAUSED_IN_OURS, document_url=page)["initiator_url"] == OURS
    page_frame = {"functionName": "f", "url": "https://www.initiator-lab.fr/a.js", "lineNumber": 1, "columnNumber": 2}
    mixed = {"type": "script", "stack": {"callFrames": [PAUSED_IN_OURS["stack"]["callFrames"][0], page_frame]}}
    assert initiator_columns(mixed, ours={OURS}, document_url=page) == {
        "initiator_type": "script", "initiator_url": "https://www.initiator-lab.fr/a.js", "initiator_line": 2,
        "initiator_column": 3, "initiator_function": "f",
        "initiator_stack": [{"url": "https://www.initiator-lab.fr/a.js", "function": "f", "line": 2, "column": 3,
                             "async": None}]}


def test_initiator_columns_never_raise_nor_name_our_scripts():
    """Any JSON a renderer sends as an initiator: columns of the right types, never one of our scripts' URLs."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from crawler.collectors.network import INITIATOR_COLUMNS, initiator_columns

    scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 10**6), st.text(max_size=30), st.just(OURS))
    json_values = st.recursive(scalars, lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(
            ["type", "url", "lineNumber", "columnNumber", "stack", "callFrames", "parent", "description",
             "functionName"]), inner, max_size=6)), max_leaves=40)

    @settings(max_examples=300, deadline=None)
    @given(json_values, st.one_of(st.none(), st.text(max_size=20)))
    def check(initiator, document_url):
        fields = initiator_columns(initiator, ours={OURS}, document_url=document_url)
        assert tuple(fields) == INITIATOR_COLUMNS
        assert fields["initiator_url"] != OURS
        assert all(frame["url"] != OURS for frame in fields["initiator_stack"] or ())
        for key in ("initiator_line", "initiator_column"):
            assert fields[key] is None or (isinstance(fields[key], int) and fields[key] >= 1)

    check()
