"""Registry columns by header text: every known variant of every year and state, mapped to `brokers` fields.

Registries rename and reorder their columns every year (California: 67 columns in 2025, 77 in 2026), so a
column is recognised by what its header says, never by its position. A header nobody knows is kept: in
`declarations` when its values are yes/no, in `raw_json` always.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from mouchard.classification.brokers import (BrokerRecord, Metric, blank, clean_text, first_url, normalise_header, parse_number,
                              slug, split_websites, text_or_none, yes_no)

# (pattern on the normalised header, field). First match wins, so specific patterns come first.
# Declarations start "the data broker..." / "data broker collects..."; the free-text details that follow them
# start "if the data broker...": the `(?!if )` guards keep a detail column from taking a declaration's place.
FIELD_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"additional information.*metric", "notes"),
    (r"additional information|explanation concerning|^comments?$|^notes?$", "notes"),
    (r"if it does not comport|address.*does not comport", "address_alt"),
    (r"exercise .*rights|opt out of (the )?sale|submit requests|consumer rights link|opt ?out website|"
     r"rights (page|url)|opt[- ]out (url|link|page)|^rights_url$|method for requesting an opt-?out|"
     r"how (a )?consumers? (may|can) opt[- ]out", "rights_url"),
    (r"additional website", "websites_more"),
    (r"doing business as|^dba\b|assumed business name", "dba"),
    (r"^(data broker'?s? )?(legal |business |company |facility )?name$|^data broker name|^full legal name|"
     r"^facility name|^business name|^company name|^registrant( name)?$|^legal name", "name"),
    (r"e-?mail", "email"),
    (r"phone|telephone", "phone"),
    (r"primary website|^websites?( url| address)?$|internet address|^web ?site|^url$|^site$", "websites"),
    (r"street address|physical address|^(data broker )?(primary )?(mailing )?address( line 1)?$", "address"),
    (r"\bcity\b", "city"),
    (r"^(data broker )?state( or province)?$|^province$|^region$", "state"),
    (r"zip|postal", "postal_code"),
    (r"country", "country"),
    (r"^(?!if ).*(personal information|data) of minors|^(?!if ).*minors'? (data|personal)", "minors"),
    (r"^(?!if ).*precise geolocation", "precise_geolocation"),
    (r"^(?!if ).*reproductive health", "reproductive_health"),
    (r"^(?!if ).*regulated by.*(fair credit reporting|\(fcra\))", "fcra"),
    (r"^(?!if ).*regulated by.*(gramm-leach-bliley|\(glba\))", "glba"),
)
_COMPILED = tuple((re.compile(p), f) for p, f in FIELD_PATTERNS)

# Consumer-request metrics: request type from the header's words (first match), then the measure.
REQUEST_TYPES = (
    (re.compile(r"sold or shared.*to whom|what (personal )?information was sold"), "know-sold-shared"),
    (re.compile(r"opt[ -]?out"), "opt-out"),
    (re.compile(r"\blimit\b"), "limit"),
    (re.compile(r"\bcorrect"), "correct"),
    (re.compile(r"\bdelet"), "delete"),
    (re.compile(r"\bknow\b|\baccess\b"), "know"),
)
MEASURES = (
    (re.compile(r"\bmedian\b"), "median_days"),
    (re.compile(r"\bmean\b|\baverage\b"), "mean_days"),
    (re.compile(r"complied (with )?in whole|\bin whole\b"), "complied_whole"),
    (re.compile(r"complied (with )?in part|\bin part\b"), "complied_part"),
    (re.compile(r"\bdenied\b"), "denied"),
    (re.compile(r"rec(ei|ie)ved"), "received"),
)


def metric_of(header: str) -> tuple[str, str] | None:
    """(request_type, measure) for a metrics header, e.g. 'Number of requests to delete denied in 2023'."""
    text = normalise_header(header)
    if "request" not in text or not re.search(r"number of|^requests? to|days|^total", text):
        return None
    request_type = next((name for rx, name in REQUEST_TYPES if rx.search(text)), None)
    measure = next((name for rx, name in MEASURES if rx.search(text)), None)
    if request_type and measure:
        return request_type, measure
    return None


def field_of(header: str) -> str | None:
    """The `brokers` field a header fills, or None (then it is a declaration, a metric or raw only)."""
    text = normalise_header(header)
    for rx, name in _COMPILED:
        if rx.search(text):
            return name
    return None


@dataclass(frozen=True)
class Column:
    """How one column of a file is read: its header as written, and what it becomes."""

    index: int
    header: str
    kind: str  # field, metric, declaration, raw
    target: str | tuple[str, str] | None = None


def plan_columns(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[Column]:
    """Decide each column's role; unknown columns whose values are all yes/no/blank become declarations."""
    plan: list[Column] = []
    taken: set[str] = set()
    for index, text in enumerate(header):
        if not clean_text(text):
            plan.append(Column(index, text, "raw"))
            continue
        name = field_of(text)
        if name and (name not in taken or name in ("notes", "websites_more")):
            taken.add(name)
            plan.append(Column(index, text, "field", name))
            continue
        metric = metric_of(text)
        if metric:
            plan.append(Column(index, text, "metric", metric))
            continue
        values = [clean_text(r[index]) for r in rows if index < len(r) and not blank(r[index])]
        if values and all(yes_no(v) != "unknown" for v in values):
            plan.append(Column(index, text, "declaration", slug(text)))
        else:
            plan.append(Column(index, text, "raw"))
    return plan


def header_score(row: Sequence[str]) -> int:
    """How many cells of a row read as known headers: the header row is the best-scoring early row."""
    return sum(1 for cell in row if clean_text(cell) and (field_of(cell) or metric_of(cell)))


def record_from_row(plan: Sequence[Column], row: Sequence[str]) -> BrokerRecord | None:
    """One registration from one row; None for a row without a name (blank lines, footers)."""
    cells = [row[c.index] if c.index < len(row) else "" for c in plan]
    record = BrokerRecord(name="")
    notes: list[str] = []
    address_alt = None
    raw: dict[str, str] = {}
    for column, value in zip(plan, cells):
        key = column.header if column.header not in raw else f"{column.header} ({column.index + 1})"
        raw[key if key else f"column {column.index + 1}"] = value
        if column.kind == "metric":
            number = parse_number(value)
            if number is not None:
                record.metrics.append(Metric(column.target[0], column.target[1], number))
        elif column.kind == "declaration":
            record.declarations[column.target] = yes_no(value)
        elif column.kind == "field":
            target = column.target
            if target in ("minors", "precise_geolocation", "reproductive_health", "fcra", "glba"):
                setattr(record, target, yes_no(value))
            elif target in ("websites", "websites_more"):
                record.websites += [u for u in split_websites(value) if u not in record.websites]
            elif target == "rights_url":
                record.rights_url = record.rights_url or first_url(value)
            elif target == "notes":
                if text_or_none(value):
                    notes.append(value.strip())
            elif target == "address_alt":
                address_alt = text_or_none(value)
            elif target == "name":
                record.name = " ".join(value.split())
            else:
                setattr(record, target, text_or_none(value))
    if not record.name:
        return None
    record.address = record.address or address_alt
    record.notes = "\n\n".join(notes) or None
    record.raw = raw
    return record
