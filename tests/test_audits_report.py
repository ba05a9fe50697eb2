"""report.html in real headless Chromium: nothing leaves the file, crawled strings stay inert, it prints."""

import os
import sqlite3
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml
from data.audits.synthetic import build_case

from audits.runner import run_audit
from audits.spec import parse_spec
from mouchard.browser import find_browser, launch_options

pytestmark = pytest.mark.browser

HOSTILE = {
    "cookie": '"><script>document.title="pwned-cookie"</script>',
    "url": 'https://evil.example/p?x="><img src=https://evil.example/leak.gif onerror=alert(1)>',
    "broker": "Shady <img src=https://evil.example/broker.gif> LLC",
    "argument": "</td></tr></table><iframe src=https://evil.example/frame></iframe>",
}


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("report")
    db = build_case(root / "case.db")
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE cookies SET value = ? WHERE name = '_ga'", (HOSTILE["cookie"],))
        conn.execute("UPDATE requests SET url = ? WHERE host = 'stats.g.doubleclick.net'", (HOSTILE["url"],))
        conn.execute("UPDATE brokers SET name = ? WHERE name = 'Shady Data LLC'", (HOSTILE["broker"],))
        conn.execute("UPDATE js_calls SET arguments = ?", (HOSTILE["argument"],))
    conn.close()
    (root / "case.yml").write_text(yaml.safe_dump({
        "case": "CNIL-2026-0042 <b>bold</b>", "jurisdiction": "fr",
        "targets": {"sites": ["https://www.violator.example/"]}}))
    spec = parse_spec(yaml.safe_load((root / "case.yml").read_text()), source=str(root / "case.yml"), folder=root)
    result = run_audit(spec, root / "bundle", from_db=db)
    return result.out / "report.html"


class Attributes(HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs: list[tuple[str, str, str]] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href", "srcset", "action", "data", "poster", "background", "formaction"):
                self.refs.append((tag, name, value or ""))


def test_report_has_no_external_reference_and_no_script(report):
    html = report.read_text()
    parser = Attributes()
    parser.feed(html)
    assert {tag for tag, _, _ in parser.refs} <= {"a", "img"}
    for tag, name, value in parser.refs:
        assert (tag, name) in (("a", "href"), ("img", "src")), (tag, name)
        assert value.startswith("#" if tag == "a" else "data:image/png;base64,"), value[:80]
    assert "script" not in parser.tags and "iframe" not in parser.tags and "link" not in parser.tags
    assert "default-src 'none'" in html and "@media print" in html


def test_report_shows_crawled_strings_as_text(report):
    html = report.read_text()
    for value in HOSTILE.values():
        assert value not in html  # only in escaped form
    assert "&lt;script&gt;document.title=" in html and "Shady &lt;img src=https://evil.example/broker.gif&gt; LLC" in html
    assert "CNIL-2026-0042 &lt;b&gt;bold&lt;/b&gt;" in html


def test_report_opens_in_chromium_with_no_request_leaving_the_file(report, tmp_path):
    from playwright.sync_api import sync_playwright

    # The sandboxed browser runs as an unprivileged user when the tests run as root: it reads a copy of the report
    # in a folder it may enter (pytest's own folders are private to root).
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="mouchard-report-"))
    folder.chmod(0o755)
    copy = folder / "report.html"
    shutil.copyfile(report, copy)
    copy.chmod(0o644)
    url = copy.as_uri()
    requests, dialogs = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(**launch_options(find_browser()), headless=True)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.on("request", lambda r: requests.append(r.url))

            def route(r):
                if r.request.url == url:
                    r.continue_()
                else:
                    r.abort()
            page.route("**/*", route)
            page.goto(url, wait_until="load")
            page.wait_for_timeout(300)  # let anything that would fire late do so
            title = page.title()
            text = page.inner_text("body")
            images = page.eval_on_selector_all("img", "els => els.map(e => [e.naturalWidth, e.src.slice(0, 22)])")
            shot = tmp_path / "report.png"
            page.screenshot(path=str(shot), full_page=True)
            page.emulate_media(media="print")
            pdf = page.pdf(format="A4")
        finally:
            browser.close()
            shutil.rmtree(folder, ignore_errors=True)
    assert [u for u in requests if not u.startswith("data:")] == [url]
    assert dialogs == [] and title.startswith("Audit CNIL-2026-0042")
    assert HOSTILE["cookie"][:30] in text and HOSTILE["broker"] in text and HOSTILE["argument"][:40] in text
    assert "Summary" in text and "Method" in text and "Limits" in text and "Relates to:" in text
    assert images and all(width > 0 and src == "data:image/png;base64," for width, src in images)
    assert shot.stat().st_size > 50_000
    assert pdf.startswith(b"%PDF") and pdf.count(b"/Type /Page") > 3
    if os.environ.get("MOUCHARD_REPORT_SCREENSHOT"):  # for a person to look at
        Path(os.environ["MOUCHARD_REPORT_SCREENSHOT"]).write_bytes(shot.read_bytes())


def test_each_screenshot_is_embedded_once(report):
    html = report.read_text()
    sources = [part.split('"', 1)[0] for part in html.split('<img src="')[1:]]
    assert html.count("<img ") == len(sources) == len(set(sources))
    assert "the same image is shown with <a href=\"#file-" in html
