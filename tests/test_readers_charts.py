"""The charts: exact data on the fixture database, titles and axes in the reader's language, indexed queries, and
drawing in real Chromium (home page and a reader's page) with no console error and nothing from the data run."""

from __future__ import annotations

import asyncio
import importlib.machinery
import socket
import sqlite3
import sys
import threading
import types

import pytest

from data.datasette.fixtures import HOSTILE, build
from mouchard.publishing.pages import charts
from mouchard.publishing.pages.model import Chart, Page, Section
from mouchard.publishing.serve import build_datasette


@pytest.fixture(scope="module")
def conn(tmp_path_factory):
    fixture = build(tmp_path_factory.mktemp("charts") / "mouchard.db")
    conn = sqlite3.connect(f"file:{fixture.path}?mode=ro", uri=True)
    yield conn
    conn.close()


@pytest.fixture(scope="module")
def hostile_conn(tmp_path_factory):
    fixture = build(tmp_path_factory.mktemp("charts-hostile") / "mouchard.db", hostile=True)
    conn = sqlite3.connect(f"file:{fixture.path}?mode=ro", uri=True)
    yield conn
    conn.close()


def test_trackers_per_site_counts_every_site_once(conn):
    # news.example: Google, Meta, Microsoft; shop.example: Google; quiet.example: none; down.example failed.
    chart = charts.trackers_per_site(conn, "fr")
    assert chart.data == ({"companies": 0, "sites": 1}, {"companies": 1, "sites": 1}, {"companies": 2, "sites": 0},
                          {"companies": 3, "sites": 1})
    assert chart.title == "Nombre d'entreprises de suivi par site"
    assert chart.spec["encoding"]["x"]["title"] == "Entreprises de suivi contactées par le site"
    english = charts.trackers_per_site(conn, "en")
    assert english.title == "Tracker companies per site"
    assert english.spec["encoding"]["y"]["title"] == "Sites"


def test_trackers_per_site_with_hostile_sites(hostile_conn):
    assert charts.trackers_per_site(hostile_conn, "en").data == (
        {"companies": 0, "sites": 1}, {"companies": 1, "sites": 7}, {"companies": 2, "sites": 0},
        {"companies": 3, "sites": 1})


def test_companies_by_reach_ranks_by_sites_then_name(conn, hostile_conn):
    chart = charts.companies_by_reach(conn, "en")
    assert chart.data == ({"company": "Google", "sites": 2}, {"company": "Meta", "sites": 1},
                          {"company": "Microsoft", "sites": 1})
    assert chart.title == "The 20 companies on the most sites"
    assert charts.companies_by_reach(conn, "fr").title == "Les 20 entreprises présentes sur le plus de sites"
    assert charts.companies_by_reach(conn, "en", top=1).data == ({"company": "Google", "sites": 2},)
    hostile = [row["company"] for row in charts.companies_by_reach(hostile_conn, "en").data]
    assert hostile[0] == "Google" and set(HOSTILE.values()) <= set(hostile) and len(hostile) == 9


def test_consent_outcomes_per_phase(conn):
    chart = charts.consent_outcomes(conn, "en")
    table = {(row["phase"], row["outcome"]): row["visits"] for row in chart.data}
    assert table == {
        ("before any click", "choice made and verified"): 0, ("before any click", "choice made, not verified"): 0,
        ("before any click", "banner or signal found, no choice"): 1, ("before any click", "no banner found"): 2,
        ("after \u201creject\u201d", "choice made and verified"): 2,
        ("after \u201creject\u201d", "choice made, not verified"): 0,
        ("after \u201creject\u201d", "banner or signal found, no choice"): 0,
        ("after \u201creject\u201d", "no banner found"): 0,
        ("after \u201caccept\u201d", "choice made and verified"): 0,
        ("after \u201caccept\u201d", "choice made, not verified"): 0,
        ("after \u201caccept\u201d", "banner or signal found, no choice"): 0,
        ("after \u201caccept\u201d", "no banner found"): 1,
        ("with GPC", "choice made and verified"): 0, ("with GPC", "choice made, not verified"): 0,
        ("with GPC", "banner or signal found, no choice"): 0, ("with GPC", "no banner found"): 1,
    }
    assert [row["phase"] for row in chart.data[::4]] == ["before any click", "after \u201creject\u201d",
                                                         "after \u201caccept\u201d", "with GPC"]
    french = charts.consent_outcomes(conn, "fr")
    assert french.data[4] == {"phase": "après « refuser »", "order": 1, "outcome": "choix fait et vérifié",
                              "rank": 0, "visits": 2}
    assert french.spec["encoding"]["color"]["title"] == "Résultat"


def test_position_map_by_receiving_company(conn, hostile_conn):
    chart = charts.position_map(conn, "fr")
    assert chart.data == ({"company": "WeatherAds", "lat": 48.86, "lon": 2.29, "leaks": 1, "apps": 1},)
    assert chart.title == "Où sont parties les positions du téléphone"
    assert chart.spec["projection"] == {"type": "equalEarth"}
    points = chart.spec["layer"][2]["encoding"]
    assert points["color"]["title"] == "Entreprise destinataire"
    assert charts.position_map(conn, "en").spec["layer"][2]["encoding"]["color"]["title"] == "Receiving company"
    hostile = charts.position_map(hostile_conn, "en").data
    assert len(hostile) == 7 and {row["company"] for row in hostile} == {"WeatherAds", *HOSTILE.values()}


def test_home_counts(conn, hostile_conn):
    assert charts.home_counts(conn) == {"sites": 4, "companies": 5, "apps": 3, "brokers": 3}
    assert charts.home_counts(hostile_conn) == {"sites": 10, "companies": 11, "apps": 9, "brokers": 9}


def test_home_charts_leave_out_empty_ones(tmp_path):
    from mouchard.storage.store import Store

    with Store(tmp_path / "empty.db"):
        pass
    conn = sqlite3.connect(tmp_path / "empty.db")
    try:
        assert charts.home_charts(conn, "fr") == []
        assert charts.home_counts(conn) == {"sites": 0, "companies": 0, "apps": 0, "brokers": 0}
    finally:
        conn.close()


def test_data_table_uses_the_tooltip_titles_and_the_readers_numbers(conn):
    headings, rows = charts.data_table(charts.position_map(conn, "fr"), "fr")
    assert headings == ["Entreprise destinataire", "Envois", "Applications", "Latitude", "Longitude"]
    assert rows == [["WeatherAds", "1", "1", "48,86", "2,29"]]
    assert charts.data_table(charts.position_map(conn, "en"), "en")[1] == [["WeatherAds", "1", "1", "48.86", "2.29"]]


def test_embed_inlines_the_data_into_the_spec(conn):
    chart = charts.companies_by_reach(conn, "en")
    embedded = charts.embed("chart-x", chart)
    assert embedded["id"] == "chart-x"
    assert embedded["spec"]["data"] == {"values": [dict(row) for row in chart.data]}
    assert embedded["spec"]["width"] == "container" and embedded["spec"]["mark"] == chart.spec["mark"]
    assert charts.embed("m", charts.position_map(conn, "en"))["spec"]["height"] == 360


BIG = {"requests", "r", "cookies", "c", "flows", "f", "leaks", "l", "js_calls", "visits", "v"}


def test_chart_and_count_queries_ride_indexes(conn):
    """No chart or count reads a big table row by row: requests only through its covering index, visits, leaks and
    flows through indexes or primary keys, and the counts hop through indexes."""
    traced: list[str] = []
    conn.set_trace_callback(traced.append)  # the statements as run, parameters bound
    try:
        charts.home_charts(conn, "en")
        charts.home_counts(conn)
    finally:
        conn.set_trace_callback(None)
    statements = [sql for sql in traced if sql.strip().upper().startswith(("WITH", "SELECT"))]
    assert len(statements) == 12
    for sql in statements:
        for (*_, step) in conn.execute("EXPLAIN QUERY PLAN " + sql):
            words = step.split()
            if words[0] == "SCAN" and words[1] in BIG:
                assert "INDEX" in step, (step, sql[:200])


def test_charts_without_the_rollups_give_the_same_data(tmp_path, conn):
    fixture = build(tmp_path / "mouchard.db")
    plain = sqlite3.connect(fixture.path)
    try:
        plain.execute("DELETE FROM site_summary")
        plain.execute("DELETE FROM company_sites")
        assert charts.tracker_counts(plain) == charts.tracker_counts(conn) == {0: 1, 1: 1, 3: 1}
        assert charts.companies_by_reach(plain, "en").data == charts.companies_by_reach(conn, "en").data
    finally:
        plain.close()


# -- In real Chromium ---------------------------------------------------------------------------------------------


def sample_page(key: str, lang: str) -> Page:
    """A reader's page with a chart whose labels are hostile strings."""
    chart = Chart("Sample", {"mark": {"type": "bar", "tooltip": True},
                             "encoding": {"y": {"field": "name", "type": "nominal"},
                                          "x": {"field": "n", "type": "quantitative"},
                                          "tooltip": [{"field": "name", "type": "nominal"},
                                                      {"field": "n", "type": "quantitative"}]}},
                  tuple({"name": text, "n": index + 1} for index, text in enumerate(HOSTILE.values())))
    return Page("changes", key, lang, "Sample page", sections=(
        Section("sample", "Sample", "warn", "Partly", chart=chart),))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The hostile fixture served by uvicorn in a thread of this process (so a sample page kind can be plugged in
    through sys.modules); yields its base URL."""
    import uvicorn

    name = "mouchard.publishing.pages.changes"
    module = types.ModuleType(name)
    module.__spec__ = importlib.machinery.ModuleSpec(name, None)
    module.build = lambda conn, key, lang, query: sample_page(key, lang)
    saved = sys.modules.get(name)
    sys.modules[name] = module
    fixture = build(tmp_path_factory.mktemp("charts-browser") / "mouchard.db", hostile=True)
    datasette = build_datasette(fixture.path)
    asyncio.run(datasette.invoke_startup())
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    server = uvicorn.Server(uvicorn.Config(datasette.app(), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                pytest.fail("the server did not start")
            thread.join(0.05)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()
        if saved is None:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = saved


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    from mouchard.browser import find_browser, launch_options

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(**launch_options(find_browser()), headless=True)
        yield browser
        browser.close()


def open_page(browser, url: str):
    """A fresh page that records console errors, page errors and dialogs."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.problems = []
    page.on("console", lambda message: page.problems.append(f"console {message.type}: {message.text}")
            if message.type in ("error", "warning") else None)
    page.on("pageerror", lambda error: page.problems.append(f"pageerror: {error}"))
    page.on("dialog", lambda dialog: (page.problems.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    response = page.goto(url, wait_until="load")
    assert response.status == 200, url
    return page


def wait_for_charts(page, count: int) -> None:
    page.wait_for_function(
        f"document.querySelectorAll('.mouchard-chart-view[data-chart-state]').length === {count}", timeout=20000)
    states = page.eval_on_selector_all(".mouchard-chart-view", "els => els.map(e => e.dataset.chartState)")
    assert states == ["drawn"] * count, states
    assert page.eval_on_selector_all(".mouchard-chart-view svg", "els => els.length") >= count


def assert_nothing_ran(page) -> None:
    state = page.evaluate("""() => ({
        pwned: window.__pwned === undefined ? null : String(window.__pwned),
        injected: !!document.getElementById('injected') || document.querySelectorAll('blink, iframe[srcdoc]').length,
    })""")
    assert state == {"pwned": None, "injected": False}


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["fr", "en"])
def test_home_page_charts_draw_in_chromium(server, browser, lang, tmp_path_factory):
    page = open_page(browser, f"{server}/?lang={lang}")
    try:
        wait_for_charts(page, 4)
        assert page.evaluate("document.documentElement.lang") == lang
        # Hover every bar of the companies chart: tooltips carry hostile names and must stay text.
        box = page.locator("#chart-home-1").bounding_box()
        for step in range(10):
            page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * (step + 0.5) / 10)
        axis = page.inner_text("#chart-home-0")
        assert ("Entreprises de suivi contactées par le site" if lang == "fr"
                else "Tracker companies the site contacted") in axis
        shots = tmp_path_factory.mktemp("chart-screenshots")
        page.screenshot(path=str(shots / f"home-{lang}.png"), full_page=True)
        assert (shots / f"home-{lang}.png").stat().st_size > 5000
        assert_nothing_ran(page)
        assert page.problems == []
    finally:
        page.context.close()


@pytest.mark.browser
def test_a_readers_page_chart_draws_in_chromium(server, browser):
    page = open_page(browser, f"{server}/changes/sample?lang=en")
    try:
        wait_for_charts(page, 1)
        labels = page.inner_text("#chart-sample")  # hostile labels, drawn as text (long ones cut with "…")
        assert HOSTILE["js_url"] in labels and "<script>window.__pwned='script'</scri" in labels
        assert_nothing_ran(page)
        assert page.problems == []
    finally:
        page.context.close()
