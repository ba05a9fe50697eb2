"""The whole fingerprinting catalogue in a real crawl of one test-web page per API family
(demoweb/sites/apis_lab.py): every catalogue entry this Chromium exposes is called by some page and recorded
with exactly the calls it makes (API, arguments, calling script, line, function), large return values as their
SHA-256, the cookie names a `document.cookie` read saw; and every catalogue function, its property descriptor, the
objects holding it and the window's globals look to the page exactly as in a bare Playwright visit.

One real crawl (`mouchard crawl` in a subprocess: Scrapy, scrapy-playwright, Chromium) of the family pages, and one
bare Playwright visit of each in the same browser set-up, shared by the module.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import sqlite3
import subprocess
import sys
from urllib.parse import urlsplit

import pytest
from conftest import needs
from demoweb.sites import apis_lab
from demoweb.sites.apis_lab import ABSENT_APIS, EXPECTED_CALLS, HOST, PAGES

from mouchard.detect.fingerprinting import APIS, LISTENED_EVENTS

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def crawled(testweb, tmp_path_factory):
    """(database after one crawl of every family page, {page: its report})."""
    db = tmp_path_factory.mktemp("apis") / "apis.db"
    apis_lab.REPORTS.clear()
    for event in apis_lab.REPORTED.values():
        event.clear()
    args = [sys.executable, "-m", "mouchard", "crawl", "--db", str(db), "--consent", "none", "--timeout", "20"]
    args += [f"--browser-arg={flag}" for flag in testweb.chromium_args()]
    result = subprocess.run([*args, *(testweb.url(HOST, f"/{page}") for page in PAGES)], capture_output=True,
                            text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    # posted during each visit, before the crawl ended
    assert [page for page, event in apis_lab.REPORTED.items() if not event.is_set()] == []
    reports = {}
    for report in apis_lab.REPORTS:
        assert report["page"] not in reports, f"{report['page']} reported twice"
        reports[report["page"]] = report
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    yield conn, reports
    conn.close()


# What an instrument that wraps functions in page JavaScript (OpenWPM's way) leaves: the negative control that
# shows the probe sees such a change. A getter replaced by a JavaScript function, and one global.
WRAPPER = """(() => {
  const d = Object.getOwnPropertyDescriptor(Navigator.prototype, "userAgent");
  Object.defineProperty(Navigator.prototype, "userAgent", {...d, get: function () { return d.get.call(this); }});
  window.__instrumented = true;
})();"""
WRAPPED_PAGE = "navigator"


async def _bare_reports(testweb) -> dict[str, dict]:
    """Each family page in the crawler's browser set-up without any instrumentation (no CDP session of ours):
    {page: the report it POSTed}, read from the request itself; and under "wrapped", WRAPPED_PAGE with WRAPPER
    run before the page's scripts."""
    from playwright.async_api import async_playwright

    from crawler.browser.launch import LaunchPlan
    from crawler.browser.profile import new_profile, remove_profile
    from mouchard.browser import find_browser

    plan = LaunchPlan(find_browser(), extra_args=tuple(testweb.chromium_args()))
    profile = new_profile()
    reports = {}
    try:
        async with async_playwright() as p:
            context = await p.chromium.launch_persistent_context(profile, **plan.options())
            page = context.pages[0]
            for family in PAGES:
                async with page.expect_request(lambda r: urlsplit(r.url).path == "/report", timeout=30_000) as sent:
                    await page.goto(testweb.url(HOST, f"/{family}"))
                report = json.loads((await sent.value).post_data)
                reports[report["page"]] = report
            await page.add_init_script(WRAPPER)
            async with page.expect_request(lambda r: urlsplit(r.url).path == "/report", timeout=30_000) as sent:
                await page.goto(testweb.url(HOST, f"/{WRAPPED_PAGE}"))
            reports["wrapped"] = json.loads((await sent.value).post_data)
            await context.close()
    finally:
        remove_profile(profile)
    return reports


@pytest.fixture(scope="module")
def bare(testweb, crawled) -> dict[str, dict]:
    return asyncio.run(_bare_reports(testweb))


def recorded(conn) -> dict[tuple[str, str], sqlite3.Row]:
    """js_calls rows by (script path, API): one row per script, frame and API."""
    found: dict[tuple[str, str], sqlite3.Row] = {}
    for row in conn.execute("SELECT * FROM js_calls"):
        key = (urlsplit(row["script_url"] or "").path, row["api"])
        assert key not in found, f"two rows for {key}"
        found[key] = row
    return found


def canonical(arguments: str | None) -> set[str]:
    """js_calls.arguments (a JSON list of argument lists) as a set of canonical JSON strings."""
    return {json.dumps(v, sort_keys=True) for v in json.loads(arguments)} if arguments else set()


def test_the_pages_call_every_catalogue_entry_this_browser_has(crawled):
    _, reports = crawled
    catalogued = {api.name for api in APIS if api.js_calls}
    assert ABSENT_APIS <= catalogued
    assert {api for _, api in EXPECTED_CALLS} == catalogued - ABSENT_APIS
    # what the pages see: exactly those entries missing, in catalogue order (a Chromium that gains one fails
    # here: call it then)
    assert {page: report["facts"]["absent"] for page, report in reports.items()} == {page: [
        "Magnetometer.constructor", "AmbientLightSensor.constructor", "Window.openDatabase",
        "Document.interestCohort"] for page in PAGES}


def test_every_page_ran_its_family_without_an_error(crawled):
    _, reports = crawled
    assert {page: report["errors"] for page, report in reports.items()} == {page: [] for page in PAGES}


def test_exactly_the_expected_calls_are_recorded(crawled):
    """No call is missing, and nothing else is recorded: not the probes' own reading of the descriptors."""
    conn, _ = crawled
    assert set(recorded(conn)) == set(EXPECTED_CALLS)


@pytest.mark.parametrize("key", sorted(EXPECTED_CALLS), ids=lambda key: f"{key[0].rsplit('/', 1)[-1]}:{key[1]}")
def test_each_call_has_its_count_arguments_lines_and_function(crawled, key):
    conn, _ = crawled
    row, expected = recorded(conn)[key], EXPECTED_CALLS[key]
    sites = json.loads(row["call_sites"])
    assert row["calls"] == expected["calls"]
    assert {s["line"] for s in sites} == expected["lines"]
    assert {s["function"] for s in sites} == expected["functions"]
    assert sum(s["calls"] for s in sites) == expected["calls"]
    # the stack names the site (V8 built-ins such as Date.prototype.getTimezoneOffset show their own frame first)
    assert all(any(f"{key[0]}:{s['line']}:{s['column']}" in frame for frame in s["stack"][:2]) for s in sites)
    assert row["call_line"] in expected["lines"] and row["call_function"] in expected["functions"]
    assert canonical(row["arguments"]) == {json.dumps(json.loads(a), sort_keys=True) for a in expected["arguments"]}
    # the page that loaded the script: each family script belongs to one page
    assert urlsplit(row["frame_url"]).path == f"/{apis_lab.PAGE_OF[key[0]]}"


def test_every_listened_event_type_is_recorded_with_its_target(crawled):
    conn, _ = crawled
    types = [args[0] for (_, api), row in recorded(conn).items() if api == "EventTarget.addEventListener"
             for args in json.loads(row["arguments"])]
    assert sorted(types) == sorted(LISTENED_EVENTS)  # each once; `load`, `focusin`, `contextmenu` are not watched


def test_large_results_are_kept_as_their_sha256_and_cookie_reads_as_names(crawled):
    conn, reports = crawled
    rows, canvas = recorded(conn), "/static/canvas.js"
    data_url = hashlib.sha256(reports["canvas"]["data_url"].encode("latin-1")).hexdigest()
    pixels = hashlib.sha256(bytes(reports["canvas"]["pixels"])).hexdigest()
    offscreen = hashlib.sha256(bytes(reports["canvas"]["offscreen_pixels"])).hexdigest()
    assert json.loads(rows[canvas, "HTMLCanvasElement.toDataURL"]["returned"]) == [f"sha256:{data_url}"]
    assert json.loads(rows[canvas, "CanvasRenderingContext2D.getImageData"]["returned"]) == [f"sha256:{pixels}"]
    assert json.loads(rows[canvas, "OffscreenCanvasRenderingContext2D.getImageData"]["returned"]) == [
        f"sha256:{offscreen}"]
    cookie = rows["/static/storage.js", "Document.cookie"]
    assert json.loads(cookie["returned"]) == ["lab_id"] and cookie["operation"] == "get"  # the name, not the value
    assert not [r for r in rows.values() if "s3cr3t" in (r["returned"] or "") + (r["arguments"] or "")]
    assert sorted(api for (_, api), r in rows.items() if r["returned"]) == [
        "CanvasRenderingContext2D.getImageData", "Document.cookie", "HTMLCanvasElement.toDataURL",
        "OffscreenCanvasRenderingContext2D.getImageData"]


def test_every_catalogue_function_looks_native(crawled):
    _, reports = crawled
    present = len([api for api in APIS if api.name not in ABSENT_APIS])
    assert {page: (r["checked"], r["not_native"]) for page, r in reports.items()} == {
        page: (present, []) for page in PAGES}


def test_the_page_sees_what_it_sees_without_the_crawler(crawled, bare):
    """For every catalogue entry: its descriptor, its function (source text, name, length, own properties,
    prototype, extensibility), the own properties of every object holding one; the window's globals; Error's
    stack machinery; whether console.debug reads an error's stack. Same digest, computed by the page, as in a
    bare Playwright visit of the same page."""
    _, reports = crawled
    assert set(bare) == {*PAGES, "wrapped"}
    for page in PAGES:
        crawl_facts, bare_facts = reports[page]["facts"], bare[page]["facts"]
        differing = sorted(k for k in set(crawl_facts) | set(bare_facts) if crawl_facts.get(k) != bare_facts.get(k))
        assert differing == [], page
        entries = {k for k in set(crawl_facts["entries"]) | set(bare_facts["entries"])
                   if crawl_facts["entries"].get(k) != bare_facts["entries"].get(k)}
        assert entries == set(), page
        assert reports[page]["digest"] == bare[page]["digest"], page


def test_the_probe_sees_a_function_wrapped_in_page_javascript(bare):
    """The negative control: the same probe, with the userAgent getter wrapped as OpenWPM-style instruments do."""
    plain, wrapped = bare[WRAPPED_PAGE], bare["wrapped"]
    label = next(f"{i}:Navigator.userAgent:get" for i, api in enumerate(APIS) if api.name == "Navigator.userAgent")
    assert wrapped["not_native"] == [label] and wrapped["digest"] != plain["digest"]
    assert sorted(set(wrapped["facts"]["globals"]) - set(plain["facts"]["globals"])) == ["__instrumented"]
    differing = {k for k in plain["facts"]["entries"] if plain["facts"]["entries"][k] != wrapped["facts"]["entries"][k]}
    assert differing == {label}
    # a function expression has its own `prototype` (Playwright runs init scripts as strict code: no own
    # `arguments` or `caller`), a built-in accessor only length and name
    assert wrapped["facts"]["entries"][label]["fn"]["own"] == ["length", "name", "prototype"]


def test_the_recorders_sha256_matches_hashlib_at_every_padding_boundary():
    needs(None if shutil.which("node") else "node", "Node.js runs the recorder outside a browser: scripts/setup.sh")
    from crawler.collectors.recorder import recorder_source

    # a test-only command -5 exposing the recorder's sha256 over a string's code units
    source = recorder_source("_rec").replace(
        "if (i === -4) return spare;",
        "if (i === -4) return spare;\n    if (i === -5) return sha256((p) => receiver.charCodeAt(p) & 0xff, receiver.length);")
    assert source.count("i === -5") == 1
    cases = ["", "a", "x" * 55, "x" * 56, "x" * 63, "x" * 64, "x" * 65, "y" * 119, "z" * 1000, "data:image/png;base64,A"]
    script = ("const self = globalThis; globalThis.location = {href: 'about:blank'};\n" + source
              + f"\nconsole.log(JSON.stringify({json.dumps(cases)}.map((c) => _rec(-5, c, []))));")
    result = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=60,
                            check=False)
    assert json.loads(result.stdout) == [f"sha256:{hashlib.sha256(c.encode()).hexdigest()}" for c in cases]
