"""California's data-broker registry: the state's annual CSV files and how to read them.

The California Privacy Protection Agency (CPPA) publishes one CSV per registration year on
https://cppa.ca.gov/data_broker_registry/ — `registry.csv` is the current year's (no year in its name),
earlier years keep theirs (`registry2025.csv`, `registry2024.csv`); `complete-reg-data-brokers.csv` lists every
registration since 2020 with fewer columns. Columns are matched by header text (see `fields.py`).
"""

from __future__ import annotations

import re
import urllib.parse

from crawler.brokers.tables import Table, read_table
from mouchard.errors import UserError
from mouchard.registries import CPPA, find

# Registration year -> the CPPA's file for it: the registry table's (mouchard/registries.py), updated there.
CA_REGISTRY_FILES: dict[int, str] = dict(find("ca").years)
CA_HISTORICAL_FILE = CPPA + "complete-reg-data-brokers.csv"  # all years since 2020, fewer columns


def year_of(source: str) -> int | None:
    """Registration year from a file name or URL ('registry2025.csv', 'ca-registry-2025.csv'), if it says."""
    for url_year, url in CA_REGISTRY_FILES.items():
        if source == url:
            return url_year
    name = urllib.parse.unquote(urllib.parse.urlsplit(source).path if "://" in source else source)
    found = re.findall(r"(?<!\d)(20[1-9]\d)(?!\d)", name.rsplit("/", 1)[-1])
    return int(found[-1]) if found else None


def parse_ca(data: bytes, source: str = "California registry file") -> Table:
    """The registry table of a CPPA file (any year): header row detected, columns planned."""
    table = read_table(data, source)
    if not any(c.kind == "field" and c.target == "name" for c in table.plan):
        raise UserError(f"{source}: no broker-name column found; is this a California registry file?")
    return table
