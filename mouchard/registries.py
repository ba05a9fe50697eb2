"""What a data-broker registry is, as data: one `Registry` per source in `REGISTRIES`, the only list of them.

Each says where the registry lives (a file the state publishes, or a search portal read page by page), which
spider fetches it, which parser reads a saved copy of it, and which broker fields it fills. `mouchard brokers
fetch --registry`, `brokers crawl --registry`, audit specs and the docs take their choices from here. Adding a
registry is one entry here, its parser (crawler/brokers/) and its test.

Spider and parser are named as "module:attribute" strings: the core names the crawler's code without importing
it (arrows point into the core), and the command resolves them (`load`).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from mouchard.errors import UserError

CPPA = "https://cppa.ca.gov/data_broker_registry/"
FILE_SPIDER = "crawler.spiders.registries:RegistryFileSpider"
CSV_PARSER = "crawler.brokers.tables:read_table"


@dataclass(frozen=True)
class Registry:
    """One data-broker registry: where it is published and how it is fetched and read."""

    name: str  # the --registry choice
    title: str
    kind: str  # "file": one document (CSV) to download; "portal": a search site read page by page
    url: str | None  # the live address; None when it must be given (`--from`)
    spider: str  # "module:Class" of the Scrapy spider that fetches it
    parser: str | None  # "module:function" reading a saved file (bytes, source) -> Table; None for portals
    fields: tuple[str, ...]  # BrokerRecord fields it fills
    state: bool = True  # a state's registry (part of "all"), not a journalist's list
    years: tuple[tuple[int, str], ...] = ()  # registration year -> file, when the registry publishes one a year

    def file_url(self, year: int | None = None) -> tuple[int | None, str]:
        """(year, URL) of the live file: a year's file when the registry has one per year (default: newest)."""
        if not self.years:
            if not self.url:
                raise UserError(f"--registry {self.name} has no live address: give it with --from")
            return year, self.url
        by_year = dict(self.years)
        year = max(by_year) if year is None else year
        if year not in by_year:
            known = ", ".join(str(y) for y in sorted(by_year))
            raise UserError(f"no {self.title} registry file known for {year} (known years: {known}); "
                            "pass the file's URL or path with --from")
        return year, by_year[year]

    def job(self, source: str | None, year: int | None) -> tuple[str, dict]:
        """(spider, its arguments) fetching this registry from `source` (a URL) or its live address."""
        if self.kind == "portal":
            return self.spider, {"url": source or "", **({"year": year} if year else {})}
        if source:
            return self.spider, {"registry": self.name, "url": source, **({"year": year} if year else {})}
        year, url = self.file_url(year)
        return self.spider, {"registry": self.name, "url": url, **({"year": year} if year else {})}


_RECORD = ("name", "dba", "websites", "email", "address", "rights_url")
REGISTRIES: tuple[Registry, ...] = (
    Registry("ca", "California", "file", CPPA + "registry.csv", FILE_SPIDER, "crawler.brokers.ca:parse_ca",
             (*_RECORD, "declarations", "metrics"),
             # Update when the CPPA publishes a new year: the newest moves to registryYYYY.csv, registry.csv is next.
             years=((2024, CPPA + "registry2024.csv"), (2025, CPPA + "registry2025.csv"),
                    (2026, CPPA + "registry.csv"))),
    Registry("vt", "Vermont", "portal", "https://bizfilings.vermont.gov/online/DatabrokerInquire/",
             "crawler.spiders.registries:VermontRegistrySpider", None,
             ("name", "address", "websites", "email", "rights_url", "notes")),
    Registry("tx", "Texas", "portal", "https://texas-sos.appianportalsgov.com/data-broker-registry",
             "crawler.spiders.registries:TexasRegistrySpider", None,
             ("name", "email", "websites", "rights_url", "notes")),
    Registry("or", "Oregon", "file", "https://www4.cbs.state.or.us/ex/shared/downtemp/dfcs_db_optout.csv",
             FILE_SPIDER, CSV_PARSER, _RECORD),
    Registry("list", "a journalist's list", "file", None, FILE_SPIDER, CSV_PARSER,
             ("name", "websites", "country", "notes", "dba", "email", "rights_url"), state=False),
)
STATES: tuple[str, ...] = tuple(r.name for r in REGISTRIES if r.state)
NAMES: tuple[str, ...] = tuple(r.name for r in REGISTRIES)


def find(name: str) -> Registry:
    """The registry called `name` (a --registry choice)."""
    for found in REGISTRIES:
        if found.name == name:
            return found
    raise UserError(f"unknown registry {name!r}: choose one of {', '.join(NAMES)}")


def load(dotted: str):
    """The object a "module:attribute" string of the table names (a spider class, a parser function)."""
    module, _, attr = dotted.partition(":")
    return getattr(importlib.import_module(module), attr)
