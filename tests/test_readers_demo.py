"""The readers' pages on the demo's database (`mouchard demo`, the README's first command) in real Chromium: every
page kind, home, a question and a table in French and English, and the home page's links.

The checks are tests/test_readers_browser.py's (imported from it); this file only serves another database, so that
pytest-xdist's --dist loadfile runs the demo's pages and the hostile ones on different workers.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import test_readers_browser as readers

pytestmark = [pytest.mark.browser, pytest.mark.slow]
browser = readers.browser  # the same module-scoped Chromium fixture, one per file


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[readers.Served]:
    """The demo's database (built once per test run, shared with tests/test_demo.py), served."""
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
