"""What a reader's page is made of, independent of how it is rendered.

A page module (`mouchard.publishing.pages.site`, `.company`, ...) builds a `Page` from a read-only SQLite connection;
the Datasette plugin renders every page with one template (`mouchard_page.html`). Every text here is plain text:
the template escapes it, so a crawled string (a page title, a cookie name) stays inert.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

# A section's verdict, shown as a coloured label: "bad" (tracking found), "warn" (partly, or unverified),
# "good" (looked for, not found), "none" (not measured: say so rather than imply "good").
Verdict = Literal["bad", "warn", "good", "none"]


@dataclass(frozen=True)
class Link:
    """A link to the rows or the evidence behind a statement. `url` is a path on this Datasette (never a crawled
    URL: links to the outside are shown as text)."""

    text: str
    url: str


@dataclass(frozen=True)
class Fact:
    """One plain sentence with its numbers in it, and the links that prove it."""

    text: str
    links: tuple[Link, ...] = ()


@dataclass(frozen=True)
class Table:
    """A small table on a page. A cell is text, a number or a Link."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str | int | float | Link | None, ...], ...]
    caption: str = ""


@dataclass(frozen=True)
class Chart:
    """A Vega-Lite chart: `spec` without data, `data` its rows (inlined by the renderer as JSON, never as HTML)."""

    title: str
    spec: dict
    data: tuple[dict, ...] = ()


@dataclass(frozen=True)
class Section:
    """A part of a page: a heading, a verdict, sentences, and optionally a table and a chart."""

    id: str
    heading: str
    verdict: Verdict
    verdict_text: str
    facts: tuple[Fact, ...] = ()
    table: Table | None = None
    chart: Chart | None = None


@dataclass(frozen=True)
class Page:
    """A whole page: `kind` is site, company, app, broker, compare or changes; `key` what it is about."""

    kind: str
    key: str
    lang: str
    title: str
    lede: str = ""
    sections: tuple[Section, ...] = field(default_factory=tuple)
