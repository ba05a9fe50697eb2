"""The journalists' face in real Chromium (issue #17's "must show"): every reader page kind
(`mouchard.publishing.pages.KINDS`), the home page, a canned query and a table, in French and English, on the demo's
database and on a database of hostile crawled strings. Each page answers 200, logs no console error, runs no script
from the data (no dialog, no `window.__pwned`), has no serious or critical axe-core violation, shows in the reader's
language, and leaves a full-page screenshot. The demo opens on the French home page and every link from it answers.

Screenshots are kept in `test-artifacts/readers/<database>-<page>-<lang>.png` at the top of the checkout (ignored by
git, emptied at the start of each run of this file; docs/readers.md).
The demo's database is built once per test run by `mouchard demo --no-serve` (fixtures.demo_database: a few minutes,
marked slow, shared with any other test file that asks);
`MOUCHARD_TEST_DEMO_DB=<path>` reuses one already built.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import needs
from data.datasette.fixtures import HOSTILE, READER_HOSTILE, Fixture, add_reader_hostile, build, demo_database
from mouchard.browser import find_browser, launch_options
from mouchard.publishing.pages import KINDS, page_url

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[1]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = ROOT / "test-artifacts" / "readers"  # kept after the run, for people and CI to look at
LANGS = ("fr", "en")
LOCALES = {"fr": "fr-FR", "en": "en-GB"}  # the browser's language: Accept-Language and navigator.language
TARGETS = ("home", "query", "table", *KINDS)
# The demo's database is served by tests/test_demo.py, with the same checks (so that pytest-xdist's --dist loadfile
# runs its pages and the hostile ones on different workers, and the demo is built where it is tested).
DATABASES = ("hostile",)
QUERY = "companies_on_most_sites"  # a canned query whose rows are crawled company names
TABLE = "visits"  # crawled page titles and URLs
MAX_OTHER_LINKS = 30  # Datasette links checked per page beside the readers' ones (see checked_links)

# What axe-core reports as serious or critical fails a page; "moderate" and "minor" are advice.
AXE_RUN = """async () => {
    const result = await axe.run(document, {resultTypes: ['violations']});
    return result.violations.filter(v => v.impact === 'serious' || v.impact === 'critical').map(v => ({
        id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ') + ' :: ' + n.html.slice(0, 160))}));
}"""
# Anything from the data that ran or was injected: the fixtures' strings set window.__pwned, add elements with
# id "injected" or <blink>, srcdoc frames, javascript: links, or executable scripts carrying their text. A data
# block (<script type="application/json">, the charts' rows) may hold the text: the browser never runs it, and a
# string that broke out of it would have run and set window.__pwned.
INERT = """() => ({
    pwned: window.__pwned === undefined ? null : String(window.__pwned),
    injected: !!document.getElementById('injected') || document.querySelectorAll('blink, iframe[srcdoc]').length > 0,
    scriptLinks: [...document.querySelectorAll('a[href]')].filter(a => a.protocol === 'javascript:').length,
    dataScripts: [...document.scripts]
        .filter(s => !s.type || /javascript|ecmascript|module/i.test(s.type))
        .filter(s => /__pwned|alert\\(/.test(s.textContent)).length,
})"""
CLEAN = {"pwned": None, "injected": False, "scriptLinks": 0, "dataScripts": 0}


@dataclass
class Served:
    """A database served by `mouchard serve`: its name in the test ids, file, base URL and the key of a page of
    each kind (with the page's other URL parameters)."""

    name: str
    db: Path
    url: str
    keys: dict[str, tuple[str, dict[str, str]]] = field(default_factory=dict)

    def path(self, target: str) -> str:
        """The path of one target page (home, query, table or a reader page kind)."""
        if target == "home":
            return "/"
        if target == "query":
            return f"/mouchard/{QUERY}"
        if target == "table":
            return f"/mouchard/{TABLE}"
        key, query = self.keys[target]
        return page_url(target, key, **query)


@contextlib.contextmanager
def serving(db: Path) -> Iterator[str]:
    """`mouchard serve --port 0` on `db` in a subprocess; yields its base URL. Its output is drained by a thread
    (a full pipe would block the server) and shown if it does not start."""
    process = subprocess.Popen([sys.executable, "-m", "mouchard", "serve", "--db", str(db), "--port", "0"],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    seen: list[str] = []
    found = threading.Event()
    url: list[str] = []

    def drain() -> None:
        for line in process.stdout:
            seen.append(line)
            match = re.search(r"at (http://127\.0\.0\.1:\d+/)", line)
            if match and not found.is_set():
                url.append(match.group(1))
                found.set()
        found.set()  # the process ended

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        found.wait(120)
        if not url:
            pytest.fail("mouchard serve did not start: " + "".join(seen[-40:]))
        yield url[0]
    finally:
        process.terminate()
        process.wait(30)
        reader.join(30)


def build_demo(tmp_path_factory) -> Path:
    """The demo's database, as `mouchard demo` makes it, once per test run (or the one MOUCHARD_TEST_DEMO_DB
    names)."""
    given = os.environ.get("MOUCHARD_TEST_DEMO_DB")
    if given:
        return Path(given)
    demo = demo_database(tmp_path_factory)
    log = Path(f"{demo.path}.log")
    assert demo.returncode == 0, demo.output[-3000:] + (log.read_text()[-3000:] if log.exists() else "")
    return demo.path


def _one(conn: sqlite3.Connection, sql: str) -> str:
    row = conn.execute(sql).fetchone()
    assert row and row[0], sql
    return row[0]


def demo_keys(db: Path) -> dict[str, tuple[str, dict[str, str]]]:
    """The demo's busiest site, company, app and broker, and two of its site-list tags to compare."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        site = _one(conn, "SELECT v.site FROM visits v JOIN requests r ON r.visit_id = v.id WHERE v.status = 'ok' "
                          "GROUP BY v.site ORDER BY count(DISTINCT r.tracker_entity) DESC, v.site LIMIT 1")
        company = _one(conn, "SELECT tracker_entity FROM requests WHERE tracker_entity IS NOT NULL "
                             "GROUP BY tracker_entity ORDER BY count(*) DESC, tracker_entity LIMIT 1")
        app = _one(conn, "SELECT app FROM flows WHERE app IS NOT NULL GROUP BY app ORDER BY count(*) DESC, app LIMIT 1")
        broker = _one(conn, "SELECT b.key FROM brokers b JOIN broker_pages p ON p.broker_id = b.id "
                            "ORDER BY p.hidden DESC, b.key LIMIT 1")
    finally:
        conn.close()
    return {"site": (site, {}), "company": (company, {}), "app": (app, {}), "broker": (broker, {}),
            "compare": ("", {"a": "party,campaign", "b": "news"}), "changes": ("", {})}


def hostile_keys(fixture: Fixture) -> dict[str, tuple[str, dict[str, str]]]:
    """Pages whose key or content is a hostile string (see data.datasette.fixtures HOSTILE, READER_HOSTILE); the
    changes page compares the fixture's crawl with its hostile re-crawl."""
    crawls = {"before": str(fixture.ids["web_crawl"]), "after": str(fixture.ids["reader_hostile_crawl"])}
    return {"site": ("img.hostile.example", {}), "company": (READER_HOSTILE["entity"], {}),
            "app": (READER_HOSTILE["app"], {}), "broker": ("hostile reader broker", {}),
            "compare": ("", {"a": f"{READER_HOSTILE['tag']},party", "b": "news"}), "changes": ("", crawls)}


@pytest.fixture(scope="module", params=DATABASES)
def served(request, tmp_path_factory) -> Iterator[Served]:
    """The hostile fixture's database, served (the demo's: tests/test_demo.py)."""
    fixture = build(tmp_path_factory.mktemp("readers-hostile") / "mouchard.db", hostile=True)
    add_reader_hostile(fixture.path, fixture)
    with serving(fixture.path) as url:
        yield Served(request.param, fixture.path, url, hostile_keys(fixture))


@pytest.fixture(scope="module")
def browser():
    needs(None if AXE.is_file() else "axe-core", "scripts/setup.sh installs it from package-lock.json")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(**launch_options(find_browser()), headless=True)
        yield chromium
        chromium.close()


def screenshots_folder(prefix: str) -> Path:
    """The screenshots' folder, emptied of a previous run's pictures that start with `prefix` (a page that no longer
    renders leaves no old picture; the other test file's pictures stay)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in SHOTS.glob(f"{prefix}*.png"):
        old.unlink()
    return SHOTS


@pytest.fixture(scope="module")
def shots() -> Iterator[Path]:
    yield screenshots_folder("hostile-")
    screenshots_folder("crawled-hostile-")
    print(f"\nreaders' pages screenshots in {SHOTS}")


@dataclass
class Opened:
    """What one page load showed."""

    status: int
    lang: str
    heading: str
    problems: list[str]


def open_page(browser, url: str, lang: str, *, axe: bool = True, shot: Path | None = None,
              wait_until: str = "networkidle") -> Opened:
    """Load `url` in a fresh context whose browser language is `lang`, wait for the network to be quiet, and
    collect every problem: console errors, uncaught exceptions, dialogs, anything from the data that ran, and
    serious or critical axe-core violations. The screenshot is taken before anything is asserted."""
    context = browser.new_context(locale=LOCALES[lang], viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        problems: list[str] = []
        page.on("console", lambda message: message.type == "error" and problems.append(f"console: {message.text}"))
        page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
        page.on("dialog", lambda dialog: (problems.append(f"dialog: {dialog.message}"), dialog.dismiss()))
        response = page.goto(url, wait_until=wait_until)
        state = page.evaluate(INERT)
        if state != CLEAN:
            problems.append(f"data ran: {state}")
        if axe:
            page.evaluate(AXE.read_text(encoding="utf-8"))  # through DevTools: the page's CSP does not apply
            problems += [f"axe {v['impact']} {v['id']}: {v['help']} {v['nodes']}" for v in page.evaluate(AXE_RUN)]
        if shot is not None:
            page.screenshot(path=str(shot))
        return Opened(response.status, page.evaluate("document.documentElement.lang"),
                      page.evaluate("document.querySelector('h1')?.innerText ?? ''"), problems)
    finally:
        context.close()


def check_page(served: Served, browser, shots: Path, target: str, lang: str) -> None:
    """One page of `served` in Chromium in `lang`: 200, the right `<html lang>`, nothing from the data ran, no
    console error; axe-core's serious and critical violations are checked on the French page (the English one has
    the same markup, only other words)."""
    path = served.path(target)
    shot = shots / f"{served.name}-{target}-{lang}.png"
    opened = open_page(browser, served.url + path.lstrip("/"), lang, shot=shot, axe=lang == "fr")
    assert opened.status == 200, path
    assert opened.problems == [], (path, opened.problems)
    assert opened.lang == lang, path
    assert shot.stat().st_size > 5000, shot


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("target", TARGETS)
def test_every_page_renders_in_chromium_in_both_languages_with_nothing_from_the_data_running(
        served, browser, shots, target, lang):
    check_page(served, browser, shots, target, lang)


@pytest.mark.parametrize("kind", ["site", "company", "app", "broker"])
def test_a_page_for_every_hostile_key_stays_inert(served, browser, kind):
    """Every hostile string as a page key: the page answers, a company or app name is its heading, as text, and
    nothing runs; a hostile key that is in no row gets the 404 page, where nothing runs either."""
    # One hostile string of each shape per kind in Chromium; every one of them, through the in-process client, in
    # tests/test_readers_framework.py and each kind's own tests (escaped text, links that answer).
    first = next(iter(HOSTILE))
    keys = {"site": [f"{first.replace('_', '-')}.hostile.example"],
            "company": [HOSTILE[first], READER_HOSTILE["entity"]],
            "app": [HOSTILE[first], READER_HOSTILE["app"]],
            "broker": [f"hostile {first}", "hostile reader broker"]}[kind]
    for key in keys:
        # the load event is enough here: it waits for every image, so an `onerror` from the data has fired by then
        opened = open_page(browser, served.url + page_url(kind, key).lstrip("/"), "fr", axe=False, wait_until="load")
        assert opened.status == 200, (kind, key)
        assert opened.problems == [], (kind, key, opened.problems)
        if kind in ("company", "app"):
            assert key in opened.heading, (kind, key, opened.heading)
    unknown = READER_HOSTILE["tag"] + " nowhere"  # not in the database: the "nothing known" page, as inert
    opened = open_page(browser, served.url + page_url(kind, unknown).lstrip("/"), "en", axe=False, wait_until="load")
    assert opened.status == 404, kind
    # Chromium reports the 404 answer itself as a failed resource: that line is expected, nothing else is.
    assert [p for p in opened.problems if "status of 404" not in p] == [], (kind, opened.problems)


def same_origin(base: str, hrefs: list[str]) -> list[str]:
    """The distinct links among `hrefs` (resolved against `base`) to the server of `base`, without fragments."""
    origin = urlsplit(base)
    found: list[str] = []
    for href in hrefs:
        try:
            href = urldefrag(urljoin(base, href))[0]
            parts = urlsplit(href)
        except ValueError:  # not a URL at all (an unbalanced "[" host): not a link to this server either
            continue
        if (parts.scheme, parts.netloc) == (origin.scheme, origin.netloc) and href not in found:
            found.append(href)
    return found


HREFS = st.one_of(st.text(max_size=40), st.sampled_from(
    ["/site/a.example", "#top", "?lang=en", "//evil.example/x", "http://127.0.0.1:8001/company/X#s", "http://[::1",
     "javascript:alert(1)", "../../mouchard/visits/3", "HTTP://127.0.0.1:8001", "http://127.0.0.1:8002/"]))


@settings(max_examples=300, deadline=None)
@given(st.lists(HREFS, max_size=15))
def test_links_followed_are_this_servers_once_each_without_fragments(hrefs):
    base = "http://127.0.0.1:8001/site/x.example?lang=fr"
    kept = same_origin(base, hrefs)
    assert len(kept) == len(set(kept))
    for url in kept:
        parts = urlsplit(url)
        assert (parts.scheme, parts.netloc, parts.fragment) == ("http", "127.0.0.1:8001", "")
        assert page_type(url)  # every link has a type (a kind, a question or table, a row, or its path)


def links_in_browser(browser, url: str, lang: str) -> list[str]:
    """The links of the page at `url` as a reader's browser has them once its scripts ran."""
    context = browser.new_context(locale=LOCALES[lang])
    try:
        page = context.new_page()
        page.goto(url, wait_until="networkidle")
        return same_origin(url, page.evaluate("() => [...document.querySelectorAll('a[href]')].map(a => a.href)"))
    finally:
        context.close()


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs += [value for name, value in attrs if name == "href" and value]


def fetch(url: str, lang: str) -> tuple[int, list[str]]:
    """GET `url` as a reader whose language is `lang`: the status, and the same-origin links of an HTML answer as
    the server wrote them (the readers' pages and Datasette's write every link in the HTML)."""
    request = urllib.request.Request(url, headers={"Accept-Language": LOCALES[lang]})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            if not response.headers.get_content_type() == "text/html":
                return response.status, []  # a download, an image, JSON: the status is enough
            parser = _Anchors()
            parser.feed(response.read(5_000_000).decode("utf-8", "replace"))
            return response.status, same_origin(url, parser.hrefs)
    except urllib.error.HTTPError as error:
        return error.code, []


def page_type(url: str) -> str:
    """What kind of page a link leads to: a reader page kind, a Datasette query or table, a row, or another path."""
    path = urlsplit(url).path
    first, _, rest = path.strip("/").partition("/")
    if first in KINDS:
        return first
    if first == "mouchard" and rest and "." not in rest:
        name, _, row = rest.partition("/")
        return f"row of {name}" if row else f"mouchard/{name}"
    return path or "/"


def checked_links(links: list[str]) -> list[str]:
    """The links of a page whose answers are checked: every link to a readers' page or to evidence, and the first
    MAX_OTHER_LINKS others (a table page links each of its rows and sort orders: Datasette's, the same every time)."""
    ours = [url for url in links if page_type(url) in KINDS or urlsplit(url).path.startswith("/-/evidence/")]
    return ours + [url for url in links if url not in ours][:MAX_OTHER_LINKS]


def check_home_and_links(served: Served, browser) -> None:
    """`mouchard demo` opens `/` (ServeOptions.url): French for a French browser and for one that states no
    language. Every link of the home page to this server answers 200; then, one page of each type reached (a
    readers' page kind, a question, a table, a row) is opened in turn and its links answer 200 too."""
    from mouchard.publishing.serve import ServeOptions

    assert urlsplit(ServeOptions(served.db, port=8001).url).path == "/"
    with urllib.request.urlopen(served.url, timeout=120) as response:  # no Accept-Language at all
        assert re.search(r'<html[^>]*\blang="fr"', response.read().decode("utf-8")), "home page not in French"
    opened = open_page(browser, served.url, "fr", axe=False)
    assert (opened.status, opened.lang, opened.problems) == (200, "fr", [])
    home = links_in_browser(browser, served.url, "fr")
    assert {"compare", "changes"} <= {page_type(url) for url in home}  # entry points the home page must offer
    queue, seen_types, failed, checked = [("/", home)], {"/"}, {}, set()
    with ThreadPoolExecutor(4) as pool:
        while queue:
            source, links = queue.pop(0)
            todo = [url for url in checked_links(links) if url not in checked]
            checked.update(todo)
            for url, (status, found) in zip(todo, pool.map(lambda url: fetch(url, "fr"), todo)):
                if status != 200:
                    failed[url] = (status, source)
                kind = page_type(url)
                if status == 200 and kind not in seen_types and not kind.startswith("/"):
                    seen_types.add(kind)  # Datasette's own pages (search, dashboards...) are not followed
                    queue.append((url, found))
    assert failed == {}, failed
    assert set(KINDS) <= seen_types, sorted(seen_types)  # every readers' page kind is reached from the home page


@pytest.fixture(scope="module")
def crawled_hostile(testweb, tmp_path_factory) -> Iterator[Served]:
    """A real crawl of the test web's hostile pages (XSS strings in the title, cookie names and values, storage and
    URL paths; dialogs in a loop; pop-ups) and of a publisher with trackers, served: what a journalist's database
    holds when a site attacks the crawler, not strings written into a fixture."""
    from demoweb.sites import hostile
    from test_crawler_recall import run_crawl

    db = tmp_path_factory.mktemp("readers-crawled") / "mouchard.db"
    urls = [testweb.url(hostile.HOST, path) for path in ("/xss", "/alert-loop", "/popups")]
    urls.append(testweb.url("www.example-news.fr"))
    result = run_crawl(testweb, db, urls, timeout=15, concurrency=2, wait=400)
    assert result.returncode == 0, result.stderr[-3000:]
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        company = _one(conn, "SELECT tracker_entity FROM requests WHERE tracker_entity IS NOT NULL "
                             "GROUP BY tracker_entity ORDER BY count(*) DESC, tracker_entity LIMIT 1")
        xss_cookies = conn.execute("SELECT count(*) FROM cookies WHERE name = ?", (hostile.XSS_SCRIPT,)).fetchone()[0]
    finally:
        conn.close()
    assert xss_cookies >= 1  # the crawl did record the hostile strings the pages below must show inert
    with serving(db) as url:
        yield Served("crawled-hostile", db, url, {"site": ("example-bad.com", {}), "company": (company, {})})


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("path", ["/", "/site/example-bad.com", "company", "/mouchard/visits", "/mouchard/cookies",
                                  "/mouchard/storage_items"])
def test_a_crawl_of_hostile_pages_renders_inert_in_chromium(crawled_hostile, browser, shots, path, lang):
    """The pages of a crawl whose sites wrote XSS into titles, cookies, storage and URLs: 200, nothing from the data
    runs, no console error, no serious accessibility violation, in both languages."""
    if path == "company":
        path = crawled_hostile.path("company")
    name = re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") or "home"
    shot = shots / f"crawled-hostile-{name}-{lang}.png"
    opened = open_page(browser, crawled_hostile.url + path.lstrip("/"), lang, shot=shot, axe=lang == "fr")
    assert opened.status == 200, path
    assert opened.problems == [], (path, opened.problems)
    assert opened.lang == lang, path
