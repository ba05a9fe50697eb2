"""A real `mouchard serve` and headless Chromium on a database of hostile crawled strings: nothing from the data
runs, links stay inert, charts and the map draw, and screenshots of the home page and a chart are kept."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest

from data.datasette.fixtures import HOSTILE, build
from mouchard.browser import find_browser, launch_options

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[1]

TABLE_PAGES = ["visits", "requests", "cookies", "storage_items", "brokers", "flows", "leaks", "findings",
               "evidence_files"]
QUERY_PAGES = ["companies_on_most_sites", "tracking_cookies_before_consent", "tcf_vendors_without_consent",
               "apps_by_leaks", "location_and_advertising_id_receivers", "brokers_by_declared_data",
               "brokers_by_state", "site_profile?site=script.hostile.example", "app_profile?app=" + quote(HOSTILE["img"])]
OTHER_PAGES = ["/", "/mouchard", "/-/search?q=" + quote("<script>"), "/-/search?q=pwned", "/mouchard/visits?_search=pwned",
               "/mouchard/visits?_facet=title", "/mouchard/cookies?_facet=name"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`mouchard serve --port 0` on the hostile database, in a subprocess; yields its URL."""
    fixture = build(tmp_path_factory.mktemp("hostile") / "mouchard.db", hostile=True)
    process = subprocess.Popen([sys.executable, "-m", "mouchard", "serve", "--db", str(fixture.path), "--port", "0"],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    url, deadline, seen = None, time.monotonic() + 60, []
    while time.monotonic() < deadline and process.poll() is None:
        line = process.stdout.readline()
        seen.append(line)
        match = re.search(r"at (http://127\.0\.0\.1:\d+/)", line)
        if match:
            url = match.group(1)
            break
    if url is None:
        process.kill()
        pytest.fail("mouchard serve did not start: " + "".join(seen))
    yield fixture, url
    process.terminate()
    process.wait(30)


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(**launch_options(find_browser()), headless=True)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.dialogs = []
        page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
        yield page
        browser.close()


def assert_inert(page, path: str) -> None:
    """Nothing from the data ran or was injected, and no link in the page is a javascript: URL."""
    state = page.evaluate("""() => ({
        pwned: window.__pwned === undefined ? null : String(window.__pwned),
        injected: !!document.getElementById('injected') || document.querySelectorAll('blink, iframe[srcdoc]').length,
        scriptLinks: [...document.querySelectorAll('a[href]')].filter(a => a.protocol === 'javascript:').length,
        dataScripts: [...document.scripts].filter(s => !s.type || /javascript|ecmascript|module/i.test(s.type))
            .filter(s => s.textContent.includes('__pwned')).length,
    })""")
    assert state == {"pwned": None, "injected": False, "scriptLinks": 0, "dataScripts": 0}, (path, state)
    assert page.dialogs == [], (path, page.dialogs)


def test_table_row_and_query_pages_never_run_crawled_script(server, page):
    fixture, url = server
    paths = [f"/mouchard/{name}" for name in TABLE_PAGES] + [f"/mouchard/{name}" for name in QUERY_PAGES]
    paths += OTHER_PAGES + [f"/mouchard/visits/{fixture.ids[f'hostile_visit_{name}']}" for name in HOSTILE]
    for path in paths:
        response = page.goto(url + path.lstrip("/"), wait_until="load")
        assert response.status == 200, path
        if path.startswith("/-/search"):  # results arrive by fetch() and are drawn by script
            page.wait_for_load_state("networkidle")
        page.wait_for_timeout(150)  # an onerror handler fires after the failed image load
        assert_inert(page, path)


def test_hostile_strings_show_as_text_and_javascript_urls_are_not_links(server, page):
    _, url = server
    page.goto(url + "mouchard/visits", wait_until="networkidle")
    text = page.inner_text("table.rows-and-columns")
    assert HOSTILE["script"] in text and HOSTILE["img"] in text and HOSTILE["js_url"] in text
    js_cells = page.locator("td.col-title", has_text=HOSTILE["js_url"])
    assert js_cells.count() > 0
    assert js_cells.first.locator("a").count() == 0  # shown, not linked
    # A crawled https URL with a quote in it is a link whose href is that exact text, nothing more.
    href = page.locator("td.col-title a", has_text="https://evil.example/").first.get_attribute("href")
    assert href == HOSTILE["https_quote"]
    assert_inert(page, "visits")


def test_search_across_tables_shows_hostile_results_as_text(server, page):
    _, url = server
    page.goto(url + "-/search?q=pwned", wait_until="networkidle")
    page.wait_for_selector("#search-all-results table", timeout=15000)
    assert HOSTILE["script"] in page.inner_text("#search-all-results")
    assert_inert(page, "search")


def test_map_of_location_leaks_draws_markers(server, page):
    _, url = server
    page.goto(url + "mouchard/location_and_advertising_id_receivers?identifier=location", wait_until="networkidle")
    page.wait_for_selector(".leaflet-marker-icon, .marker-cluster", timeout=15000)
    assert_inert(page, "map")


def test_charts_draw_and_their_tooltips_stay_inert(server, page, tmp_path_factory):
    _, url = server
    shots = tmp_path_factory.mktemp("screenshots")
    page.goto(url, wait_until="networkidle")
    page.screenshot(path=str(shots / "home.png"), full_page=False)
    page.goto(url + "-/dashboards/mouchard", wait_until="networkidle")
    chart = page.locator("#chart-companies_on_most_sites")
    chart.locator("canvas, svg").first.wait_for(timeout=15000)
    box = chart.bounding_box()
    for fraction in (0.3, 0.4, 0.5, 0.6, 0.7):  # hover bars, hostile labels among them
        page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * fraction)
        page.wait_for_timeout(150)
    chart.screenshot(path=str(shots / "chart-companies.png"))
    assert_inert(page, "dashboard")
    for name in ("home.png", "chart-companies.png"):
        assert (shots / name).stat().st_size > 5000, name
    print(f"screenshots in {shots}")
