"""What the readers' page tests (tests/test_readers_*.py) share: the fixture world built once per test module with
a read-only connection and an in-process Datasette on it, and a page's sentences, verdicts and links pulled out for
exact comparisons.

A test module declares its three module-scoped fixtures in one line:

    fixture, conn, client = module_fixtures("readers-broker", reader_crawls=True)

and tests ask for `fixture` (its `.path` and `.ids`), `conn` (read-only sqlite3) and `client` (`SyncClient`).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Iterator

import pytest

from data.datasette.client import SyncClient
from data.datasette.fixtures import Fixture, add_reader_crawls, build
from mouchard.publishing.pages import page_url
from mouchard.publishing.pages.model import Link, Page
from mouchard.publishing.serve import build_datasette
from mouchard.storage.store import connect_readonly


def world(tmp_path_factory, name: str, *, hostile: bool = True, reader_crawls: bool = False,
          then: Callable[[Fixture], None] | None = None) -> Fixture:
    """The fixture database in a fresh folder `name`: with the hostile strings (default), the two tagged reader
    crawls (`reader_crawls`), then whatever `then(fixture)` adds."""
    fixture = build(tmp_path_factory.mktemp(name) / "mouchard.db", hostile=hostile)
    if reader_crawls:
        add_reader_crawls(fixture.path, fixture)
    if then is not None:
        then(fixture)
    return fixture


def readonly(fixture: Fixture) -> Iterator:
    """A read-only connection to the fixture database, closed after the tests (a generator for a yield fixture)."""
    connection = connect_readonly(fixture.path)
    yield connection
    connection.close()


def served(fixture: Fixture) -> Iterator[SyncClient]:
    """An in-process Datasette on the fixture database, closed after the tests (a generator for a yield fixture)."""
    client = SyncClient(build_datasette(fixture.path))
    yield client
    client.close()


def module_fixtures(name: str, **options) -> tuple:
    """The `fixture`, `conn` and `client` fixtures of a readers' test module, module-scoped, on `world(name,
    **options)`. Assign them to those three names in the module: pytest finds fixtures among its attributes."""

    @pytest.fixture(scope="module", name="fixture")
    def fixture_(tmp_path_factory) -> Fixture:
        return world(tmp_path_factory, name, **options)

    @pytest.fixture(scope="module", name="conn")
    def conn_(fixture):
        yield from readonly(fixture)

    @pytest.fixture(scope="module", name="client")
    def client_(fixture):
        yield from served(fixture)

    return fixture_, conn_, client_


def facts(page: Page) -> dict[str, list[str]]:
    """The sentences of each section, by section id."""
    return {section.id: [fact.text for fact in section.facts] for section in page.sections}


def verdicts(page: Page) -> dict[str, tuple[str, str]]:
    """(verdict, verdict text) of each section, by section id."""
    return {section.id: (section.verdict, section.verdict_text) for section in page.sections}


def page_hrefs(page_html: str) -> list[str]:
    """The links of a rendered page to Datasette's rows and to the site, company and app pages (not the language
    switch, not static files)."""
    found = [html.unescape(href) for href in re.findall(r'href="([^"]+)"', page_html)]
    return [href for href in found if href.startswith("/") and not href.startswith("/-/static")
            and ("/mouchard/" in href or href.split("/")[1].split("?")[0] in ("site", "company", "app"))]


def broken_links(client: SyncClient, hrefs: Iterable[str]) -> list[tuple[str, int]]:
    """(link, status) of each link that does not answer 200."""
    statuses = [(href, client.get(href).status_code) for href in hrefs]
    return [(href, status) for href, status in statuses if status != 200]


def page_and_links(client: SyncClient, kind: str, key: str, lang: str) -> tuple[int, list[str], list[tuple[str, int]]]:
    """A readers' page fetched through Datasette: its status, its links (`page_hrefs`) and those not answering 200."""
    page = client.get(page_url(kind, key, lang))
    hrefs = page_hrefs(page.text)
    return page.status_code, hrefs, broken_links(client, hrefs)


def page_links(page: Page) -> set[str]:
    """Every link of a page: its sentences' and its tables' cells."""
    links = {link.url for section in page.sections for fact in section.facts for link in fact.links}
    links |= {cell.url for section in page.sections if section.table for row in section.table.rows for cell in row
              if isinstance(cell, Link)}
    return links
