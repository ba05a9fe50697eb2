"""Registry files as tables: decode the bytes, find the header row, read every registration.

California's 2025 file opens with a row of filing guidance before the header; other files start with the
header; a journalist's list may be a spreadsheet export in any encoding. The header is the early row whose
cells read most like known headers.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from crawler.brokers.fields import Column, header_score, plan_columns, record_from_row
from mouchard.classification.brokers import BrokerRecord, assign_keys
from mouchard.errors import UserError

HEADER_SEARCH_ROWS = 10  # the header is among the first rows; guidance rows above it are few
MIN_KNOWN_HEADERS = 2


@dataclass
class Table:
    """A decoded registry table: header, data rows, and how each column is read."""

    header: list[str]
    rows: list[list[str]]
    plan: list[Column]
    header_row: int  # 0-based index of the header in the file

    def records(self) -> list[BrokerRecord]:
        """Every registration with a name, each with a stable `key` within this table."""
        found = [record_from_row(self.plan, row) for row in self.rows]
        return assign_keys(r for r in found if r is not None)


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), else Windows-1252: what spreadsheet exports are."""
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def read_table(data: bytes, what: str = "registry file") -> Table:
    """Parse CSV bytes into a Table; a clear UserError when no header row can be found."""
    text = decode(data)
    if not text.strip():
        raise UserError(f"{what} is empty")
    # Commas first (every registry so far); semicolons and tabs for spreadsheet exports in other locales.
    for delimiter in (",", ";", "\t"):
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
        scores = [header_score(row) for row in rows[:HEADER_SEARCH_ROWS]]
        best = max(range(len(scores)), key=lambda i: (scores[i], -i)) if scores else 0
        if scores and scores[best] >= MIN_KNOWN_HEADERS:
            break
    else:
        raise UserError(f"{what}: no header row found in the first {HEADER_SEARCH_ROWS} rows "
                        "(expected columns such as a broker name and a website)")
    header = rows[best]
    data_rows = [row for row in rows[best + 1:] if any(cell.strip() for cell in row)]
    return Table(header, data_rows, plan_columns(header, data_rows), best)
