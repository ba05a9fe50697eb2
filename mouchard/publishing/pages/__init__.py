"""The readers' pages: one per site, company, app and broker, plus groups compared and changes over time.

Each kind is a module with `build(conn, key, lang, query) -> Page | None` (None: nothing known by that key, a 404),
where `conn` is a read-only sqlite3 connection and `query` the page's other URL parameters (a dict of str). The
Datasette plugin `mouchard_pages` routes `/{kind}/{key}` to it; `page_url` is the only way links to pages are made.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from urllib.parse import quote, urlencode

KINDS = ("site", "company", "app", "broker", "compare", "changes")


def page_url(kind: str, key: str = "", lang: str | None = None, **query: str) -> str:
    """The path of a reader's page. `key` is quoted whole (a company name may hold '/' or '?')."""
    if kind not in KINDS:
        raise ValueError(f"unknown page kind {kind!r}")
    path = f"/{kind}/{quote(key, safe='')}" if key else f"/{kind}"
    params = {**({"lang": lang} if lang else {}), **{k: v for k, v in query.items() if v is not None}}
    return f"{path}?{urlencode(params)}" if params else path


def builder(kind: str) -> Callable:
    """The `build` function of a page kind."""
    if kind not in KINDS:
        raise KeyError(kind)
    return importlib.import_module(f"mouchard.publishing.pages.{kind}").build
