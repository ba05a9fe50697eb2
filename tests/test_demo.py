"""`mouchard demo`, the README's first command: the whole chain on the demo web, then the readers' pages on its
database in real Chromium (every page kind, home, a question and a table in French and English, and the home page's
links: the checks are tests/test_readers_browser.py's). One file, so the demo is built once on one pytest-xdist worker
while the other runs other files."""

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

import test_readers_browser as readers
from data.datasette.fixtures import demo_database

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_demo_builds_a_database_with_every_kind_of_record(tmp_path_factory):
    # The one demo build of the test run, shared with the readers' browser tests (tests/test_readers_browser.py).
    demo = demo_database(tmp_path_factory)
    log = demo.path.parent / "demo.db.log"
    assert demo.returncode == 0, demo.output[-4000:] + (log.read_text()[-4000:] if log.exists() else "")
    for step in ("crawling", "phone capture", "registry", "brokers' sites", "rules", "done in"):
        assert step in demo.output
    conn = sqlite3.connect(f"file:{demo.path}?mode=ro", uri=True)
    phases = {row[0] for row in conn.execute("SELECT DISTINCT phase FROM visits WHERE status = 'ok'")}
    assert phases == {"initial", "reject", "accept", "gpc"}
    for table in ("requests", "cookies", "consent", "rtb", "flows", "leaks", "brokers", "broker_pages", "findings"):
        assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] > 0, table
    rules = {row[0] for row in conn.execute("SELECT DISTINCT rule_id FROM findings")}
    assert {"consent.tracking-before-consent", "brokers.hidden-opt-out-page"} <= rules
    assert conn.execute("SELECT count(*) FROM consent WHERE source = 'action' AND verified = 1").fetchone()[0] >= 4


def test_demo_reads_only_what_ships_with_the_package():
    """No checkout needed: the demo web and its sample files are the `demoweb` package (an installed wheel runs
    them: tests/test_core_wheel.py)."""
    from demoweb import TestWeb
    from demoweb.paths import DATA
    from mouchard.commands import demo

    assert demo._demo_web()[0] is TestWeb
    for sample in (demo.CAPTURE, demo.PROFILE, demo.REGISTRY):
        assert sample.is_file() and sample.is_relative_to(DATA), sample


browser = readers.browser  # the same module-scoped Chromium fixture, one per file


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[readers.Served]:
    """The demo's database (the one build of the test run, `demo_database`), served."""
    db = readers.build_demo(tmp_path_factory)
    with readers.serving(db) as url:
        yield readers.Served("demo", db, url, readers.demo_keys(db))


@pytest.fixture(scope="module")
def shots() -> Iterator[Path]:
    yield readers.screenshots_folder("demo-")


@pytest.mark.parametrize("lang", readers.LANGS)
@pytest.mark.parametrize("target", readers.TARGETS)
def test_every_page_of_the_demo_renders_in_chromium_with_nothing_from_the_data_running(
        served, browser, shots, target, lang):
    readers.check_page(served, browser, shots, target, lang)


def test_the_demo_opens_on_the_french_home_page_and_every_link_from_it_answers(served, browser):
    readers.check_home_and_links(served, browser)
