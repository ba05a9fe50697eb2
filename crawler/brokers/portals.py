"""Vermont, Texas and Oregon registries: where their portals are, what they answer, and how to read it.

None of the three publishes an annual file like California's:
- Vermont (Secretary of State, ASP.NET): a search form POSTed to `DataBrokerSearch` returns a page with an
  anti-forgery token and "Page 1 of N"; the result grid then pages through POSTs to `BusinessSearchList`
  (body `undefined&sortby=BusinessID&stype=a&pidx=N`, token in a `__RequestVerificationToken` header, grid
  `table#xhtml_grid_DBSearch`: name with a link to `DataBrokerInformation?businessID=...`, registration id,
  address, status); each broker's record is on that detail page. The list requests are established from
  public scrapers; the detail page's markup is not, so it is read as generic label/value pairs.
- Texas (Secretary of State): an Appian portal, `data-broker-registry`, whose data endpoint `_/ui` answers
  JSON only to Appian's own client headers. The grid's columns ("Registration Number", "Full Legal Name",
  "Data Broker Email Address", "Website", "Consumer Rights Link", "Submitted On") are known; the JSON
  shape is not, so the reader walks any JSON for columns with a label and a list of values.
- Oregon (DCBS): besides its licence-verification search, a CSV of registered brokers and their opt-out
  contacts, read like California's file (by header text).
Test fixtures for all three are reconstructed samples (demoweb/data/brokers/README.md), not real responses.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass

from parsel import Selector

from crawler.brokers.fields import plan_columns, record_from_row
from mouchard.classification.brokers import BrokerRecord, clean_text
from mouchard.registries import find

VT_BASE = find("vt").url or ""
VT_SEARCH = "DataBrokerSearch"
VT_LIST = "BusinessSearchList"
VT_DETAIL = "DataBrokerInformation?businessID="
# The search form as the portal's own page submits it: every registered broker, by name, "starts with" ''.
VT_SEARCH_FORM = {"rbBusinessSearch": "StartsWith", "rbBasicSearch": "BusinessName", "txtDataBrokerName": "",
                  "txtBusinessID": "", "txtFilingNumber": "", "ddlBusinessType": "BusinessType",
                  "ddlBusinessStatus": "", "btnSearch": "Search", "hdnMessage": ""}

TX_BASE = find("tx").url or ""
TX_ACCEPT = "application/vnd.appian.tv.ui+json"
# Appian answers 406 "Client not supported" without its client's feature headers; values from its JS bundle.
TX_HEADERS = {"Accept": TX_ACCEPT, "X-Appian-Features": "7ffceebc",
              "X-Appian-Features-Extended": "3fff779fffdbff7f49dc1fffceebc", "X-Appian-Ui-State": "stateful",
              "x-appian-suppress-www-authenticate": "true"}
TX_BATCH = 50



# --- Vermont ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class VtListing:
    """One row of Vermont's result grid."""

    name: str
    detail_url: str | None
    registration_id: str
    address: str
    status: str


def vt_url(base: str, path: str) -> str:
    return urllib.parse.urljoin(base if base.endswith("/") else base + "/", path)


def vt_list_body(page: int) -> str:
    """The grid's paging request body, exactly as the portal's script sends it (including 'undefined')."""
    return f"undefined&sortby=BusinessID&stype=a&pidx={page}"


def vt_search_state(html: str) -> tuple[str | None, int]:
    """(anti-forgery token, number of result pages) from the search answer."""
    sel = Selector(text=html)
    token = sel.css('input[name="__RequestVerificationToken"]::attr(value)').get()
    info = clean_text(" ".join(sel.css("#pagination-digg li.pageinfo ::text").getall()))
    match = re.search(r"\bof\s+(\d+)", info)
    pages = int(match[1]) if match else (1 if sel.css("table#xhtml_grid_DBSearch") else 0)
    return token, pages


def vt_listings(html: str, base: str) -> list[VtListing]:
    """Rows of `table#xhtml_grid_DBSearch` (the search answer's first page, or a BusinessSearchList page)."""
    out = []
    for row in Selector(text=html).css("table#xhtml_grid_DBSearch tr"):
        cells = row.css("td")
        if len(cells) < 4:
            continue  # the header row has th cells
        texts = [clean_text(" ".join(c.css("::text").getall())) for c in cells]
        href = cells[0].css("a::attr(href)").get()
        out.append(VtListing(texts[0], urllib.parse.urljoin(base, href) if href else None, texts[1], texts[2],
                             texts[3]))
    return out


def label_values(html: str) -> list[tuple[str, str]]:
    """Label/value pairs of a record page: `<tr><th|td>Label</th><td>Value</td></tr>`, `<dt>/<dd>`, and
    `<label>` followed by a value element. Values keep line breaks as spaces; links keep their href."""
    sel = Selector(text=html)
    pairs: list[tuple[str, str]] = []

    def value_of(node) -> str:
        text = clean_text(" ".join(node.css("::text").getall()))
        hrefs = [h for h in node.css("a::attr(href)").getall() if h.startswith(("http://", "https://"))]
        for href in hrefs:
            if href not in text:
                text = f"{text} {href}".strip()
        return text

    for row in sel.css("tr"):
        cells = row.xpath("./th|./td")
        if len(cells) == 2:
            label = clean_text(" ".join(cells[0].css("::text").getall()))
            if label:
                pairs.append((label.rstrip(":"), value_of(cells[1])))
    for term in sel.css("dt"):
        definition = term.xpath("following-sibling::dd[1]")
        if definition:
            pairs.append((clean_text(" ".join(term.css("::text").getall())).rstrip(":"), value_of(definition[0])))
    for label in sel.css("label"):
        following = label.xpath("following-sibling::*[1]")
        if following and not following[0].root.tag == "label":
            pairs.append((clean_text(" ".join(label.css("::text").getall())).rstrip(":"), value_of(following[0])))
    return pairs


def record_from_pairs(pairs: list[tuple[str, str]], **known: str) -> BrokerRecord | None:
    """A registration from label/value pairs, read with the same header mapping as the registry files."""
    labels = [label for label, _ in pairs] + list(known)
    values = [value for _, value in pairs] + list(known.values())
    return record_from_row(plan_columns(labels, [values]), values)


def vt_record(listing: VtListing, detail_html: str | None) -> BrokerRecord | None:
    """Vermont's record of one broker: the detail page's fields, with the grid's as a fallback."""
    pairs = label_values(detail_html) if detail_html else []
    known = {"Data Broker Name": listing.name, "Registration Number": listing.registration_id,
             "Business Status": listing.status}
    if not any(label.lower().endswith("address") for label, _ in pairs):
        known["Primary Address"] = listing.address
    names = {label.lower() for label, _ in pairs}
    known = {k: v for k, v in known.items() if k.lower() not in names}
    return record_from_pairs(pairs, **known)


# --- Texas -----------------------------------------------------------------------------------------------------

def tx_page_url(base: str, start_index: int) -> str:
    """The Appian data endpoint for one page of the registry grid (1-based start index)."""
    query = urllib.parse.urlencode({"startIndex": start_index, "batchSize": TX_BATCH, "$locale": "en_US"})
    return f"{base.rstrip('/')}/_/ui?{query}"


def _grids(node) -> Iterator[dict]:
    """Every dict in a JSON tree with a list of columns that each have a label and a list of values."""
    if isinstance(node, dict):
        columns = node.get("columns")
        if isinstance(columns, list) and columns and all(isinstance(c, dict) and "label" in c for c in columns):
            yield node
        for value in node.values():
            yield from _grids(value)
    elif isinstance(node, list):
        for value in node:
            yield from _grids(value)


def _cell_text(value) -> str:
    """A grid cell: plain text, or a link component ({'label':..., 'uri'|'url':...}) as 'label uri'."""
    if isinstance(value, dict):
        parts = [str(value.get(k)) for k in ("label", "text", "value", "uri", "url") if value.get(k)]
        return " ".join(dict.fromkeys(parts))
    if isinstance(value, list):
        return " ".join(_cell_text(v) for v in value)
    return "" if value is None else str(value)


def tx_grid(data: bytes) -> tuple[list[str], list[list[str]], int | None]:
    """(column labels, rows, total count) of the registry grid in an Appian `_/ui` answer."""
    doc = json.loads(data.decode("utf-8"))
    for grid in _grids(doc):
        labels = [clean_text(str(c["label"])) for c in grid["columns"]]
        columns = [c.get("data") or c.get("values") or [] for c in grid["columns"]]
        height = max((len(c) for c in columns), default=0)
        rows = [[_cell_text(c[i]) if i < len(c) else "" for c in columns] for i in range(height)]
        total = grid.get("totalCount")
        return labels, rows, int(total) if isinstance(total, (int, float, str)) and str(total).isdigit() else None
    return [], [], None


def tx_records(labels: list[str], rows: list[list[str]]) -> list[BrokerRecord]:
    plan = plan_columns(labels, rows)
    return [r for r in (record_from_row(plan, row) for row in rows) if r is not None]
