"""Fetch data-broker registries: California's and Oregon's files, Vermont's and Texas's search portals.

Each spider yields one `Capture` per registry source (the bytes as fetched, kept as evidence, and the
registrations read from them); `StoreRegistrySnapshot` writes it. The live path and the tests run the same
code: only the base URL differs (`--from`, or a proxy / host map in front of the real host).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import scrapy
from scrapy.http import Response

from crawler.brokers import portals
from crawler.brokers.snapshots import Capture, read_capture
from crawler.settings import proxy_of
from mouchard.errors import UserError

ALL_STATUSES = [*range(200, 300), *range(400, 600)]


class _RegistrySpider(scrapy.Spider):
    """Shared plumbing: proxy from settings, every status handed to the callback, failures recorded."""

    registry = ""
    custom_settings = {"ITEM_PIPELINES": {"crawler.brokers.pipeline.StoreRegistrySnapshot": 300}}

    def __init__(self, *args, url: str = "", year: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.url = url
        self.year = int(year) if year else None
        self.errors: list[str] = []

    def request(self, url: str, callback, **kwargs) -> scrapy.Request:
        meta = {"handle_httpstatus_list": ALL_STATUSES, **kwargs.pop("meta", {})}
        if proxy_of(self.settings):
            meta["proxy"] = proxy_of(self.settings)
        return scrapy.Request(url, callback=callback, errback=self.failed, meta=meta, dont_filter=True, **kwargs)

    def failed(self, failure):
        self.record_error(f"{failure.request.url}: {type(failure.value).__name__}: {failure.value}")

    def record_error(self, message: str) -> None:
        self.errors.append(message[:300])
        self.crawler.stats.set_value("mouchard/brokers/fetch_errors", self.errors)

    def ok(self, response: Response) -> bool:
        if response.status >= 400:
            self.record_error(f"{response.url}: HTTP {response.status}")
            return False
        return True


class RegistryFileSpider(_RegistrySpider):
    """A registry published as a file: California's CSV of a year, Oregon's CSV, or a journalist's list."""

    name = "registry_file"

    def __init__(self, *args, registry: str = "ca", **kwargs):
        super().__init__(*args, **kwargs)
        self.registry = registry

    async def start(self) -> AsyncIterator[scrapy.Request]:
        yield self.request(self.url, self.parse_file)

    def parse_file(self, response: Response):
        if not self.ok(response):
            return
        try:
            capture = read_capture(self.registry, response.body, self.url, self.year)
        except UserError as exc:
            self.record_error(str(exc))
            return
        yield capture


class VermontRegistrySpider(_RegistrySpider):
    """Vermont's portal: the search form, then every page of the result grid, then each broker's record."""

    name = "registry_vt"
    registry = "vt"

    async def start(self) -> AsyncIterator[scrapy.Request]:
        base = self.url or portals.VT_BASE
        self.base = base if base.endswith("/") else base + "/"
        self.listings: dict[str, portals.VtListing] = {}
        self.details: dict[str, str | None] = {}
        self.raw: list[dict] = []
        self.outstanding = 0
        self.emitted = False
        yield self.request(portals.vt_url(self.base, portals.VT_SEARCH), self.parse_search, method="POST",
                           body=_form(portals.VT_SEARCH_FORM),
                           headers={"Content-Type": "application/x-www-form-urlencoded"})

    def request(self, url: str, callback, **kwargs) -> scrapy.Request:
        self.outstanding += 1
        return super().request(url, callback, **kwargs)

    def answered(self, response: Response) -> bool:
        self.outstanding -= 1
        self.raw.append({"url": response.url, "status": response.status,
                         "body": response.body.decode("utf-8", "replace")})
        return self.ok(response)

    def parse_search(self, response: Response):
        if self.answered(response):
            token, pages = portals.vt_search_state(response.text)
            cookie = "; ".join(c.split(b";", 1)[0].decode("latin-1") for c in response.headers.getlist("Set-Cookie"))
            self.add_listings(response.text)
            if pages > 1 and not token:
                self.record_error("Vermont search answered without an anti-forgery token: only page 1 read")
            for page in range(2, pages + 1):
                yield self.request(portals.vt_url(self.base, portals.VT_LIST), self.parse_list, method="POST",
                                   body=portals.vt_list_body(page),
                                   headers={"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8",
                                            "X-Requested-With": "XMLHttpRequest",
                                            "__RequestVerificationToken": token or "", "Cookie": cookie})
            yield from self.detail_requests()
        yield from self.finish()

    def parse_list(self, response: Response):
        if self.answered(response):
            self.add_listings(response.text)
            yield from self.detail_requests()
        yield from self.finish()

    def parse_detail(self, response: Response):
        if self.answered(response):
            self.details[response.meta["key"]] = response.text
        yield from self.finish()

    def failed(self, failure):
        self.outstanding -= 1
        super().failed(failure)
        yield from self.finish()

    def add_listings(self, html: str) -> None:
        for listing in portals.vt_listings(html, self.base):
            self.listings.setdefault(listing.registration_id or listing.name, listing)

    def detail_requests(self):
        for key, listing in self.listings.items():
            if key not in self.details and listing.detail_url:
                self.details[key] = None
                yield self.request(listing.detail_url, self.parse_detail, meta={"key": key})

    def finish(self):
        """Once every grid page and record page has answered: one capture of the whole portal."""
        if self.outstanding or self.emitted:
            return
        self.emitted = True
        records = [r for r in (portals.vt_record(listing, self.details.get(key))
                               for key, listing in self.listings.items()) if r is not None]
        unread = [f"record page of {self.listings[k].name}" for k, v in self.details.items() if v is None]
        yield Capture(self.registry, self.year, self.base, _raw_bytes(self.raw), records, ".json", "application/json",
                      unread + self.errors)


class TexasRegistrySpider(_RegistrySpider):
    """Texas's Appian portal: the registry grid, page by page, from the portal's `_/ui` data endpoint."""

    name = "registry_tx"
    registry = "tx"

    async def start(self) -> AsyncIterator[scrapy.Request]:
        self.base = (self.url or portals.TX_BASE).rstrip("/")
        self.labels: list[str] = []
        self.rows: list[list[str]] = []
        self.raw: list[dict] = []
        yield self.page(1)

    def page(self, start_index: int) -> scrapy.Request:
        return self.request(portals.tx_page_url(self.base, start_index), self.parse_grid,
                            headers=portals.TX_HEADERS, meta={"start": start_index})

    def parse_grid(self, response: Response):
        self.raw.append({"url": response.url, "status": response.status,
                         "body": response.body.decode("utf-8", "replace")})
        if not self.ok(response):
            return self.finish()
        try:
            labels, rows, total = portals.tx_grid(response.body)
        except ValueError as exc:
            self.record_error(f"{response.url}: not the JSON the reader knows ({exc})")
            return self.finish()
        if not labels:
            self.record_error(f"{response.url}: no registry grid in the answer")
            return self.finish()
        self.labels = self.labels or labels
        self.rows += rows
        if rows and total and len(self.rows) < total:
            return [self.page(response.meta["start"] + len(rows))]
        return self.finish()

    def failed(self, failure):
        super().failed(failure)
        return self.finish()

    def finish(self):
        records = portals.tx_records(self.labels, self.rows) if self.labels else []
        return [Capture(self.registry, self.year, self.base, _raw_bytes(self.raw), records, ".json", "application/json",
                        list(self.errors))]


def _form(fields: dict[str, str]) -> str:
    import urllib.parse

    return urllib.parse.urlencode(fields)


def _raw_bytes(pages: list[dict]) -> bytes:
    """Every answer of a portal, in order, as one JSON document: the snapshot's evidence."""
    return json.dumps(pages, ensure_ascii=False, indent=1).encode("utf-8")
