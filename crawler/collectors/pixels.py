"""RecordPixels: Meta pixel events, Google Analytics hits and Google Ads conversions of a visit, from its requests.

Each request row goes through `mouchard.pixels.parse_request` (URL and POST body). Events become rows of the
proposed `pixel_events` table (see docs/crawl-detectors.md) as soon as mouchard/schema.py has it; until then
they are kept in `visit.extra["pixels"]` for other collectors and counted in `mouchard/pixels/events`, and
nothing is written (a table the store does not know would fail the whole visit).
"""

from __future__ import annotations

from typing import Any

from crawler.collectors.base import Collector, Rows, VisitContext
from crawler.collectors.wire import sent_requests
from mouchard.pixels import parse_request
from mouchard.schema import BY_NAME, C, Table, flow_ref, visit_ref

TABLE = "pixel_events"

# The table proposed for mouchard/schema.py (docs/crawl-detectors.md); the app proxy can fill it too.
PIXEL_EVENTS = Table(TABLE, "Events that advertising pixels and analytics tags reported: Meta pixel, Google Analytics, "
                     "Google Ads.", (
    C("id", "integer", "Row id."), visit_ref(), flow_ref(),
    C("request_id", "integer", "The request that carried the event (requests.id).", "requests.id"),
    C("vendor", "text", "meta, google-analytics, google-ads or google-tag-manager.", index=True),
    C("tag_id", "text", "The site's account with the vendor: Meta pixel id, G-/UA-/AW-/GTM- id.", index=True),
    C("event", "text", "Event name as sent: PageView, Purchase, page_view, pageview, conversion, remarketing, tag.",
      index=True),
    C("page_url", "text", "Page the event says it happened on (dl, url)."),
    C("parameters", "text", "Event parameters as sent: cd[...], ep.*, value, currency, label (JSON)."),
    C("user_data", "text", "User data sent with the event, usually hashed: ud[em], ud[ph], em... (JSON)."),
    C("location", "text", "Where the event was: url (query) or body."),
    C("time_ms", "integer", "When the request started, from navigation start.", unit="ms"),
))


class RecordPixels(Collector):
    """pixel_events rows, one per event a tag reported, pointing at the request that carried it."""

    name = "pixels"
    tables = (TABLE,)

    @classmethod
    def from_crawler(cls, crawler: Any) -> "RecordPixels":
        from scrapy.exceptions import NotConfigured

        if not crawler.settings.getbool("MOUCHARD_PIXELS", True):
            raise NotConfigured("MOUCHARD_PIXELS is off")
        return cls()

    async def collect(self, visit: VisitContext) -> Rows:
        rows = []
        for request in sent_requests(visit.requests):
            for event in parse_request(request.url, request.body, request.content_type):
                rows.append(event.row(request_id=request.ref, time_ms=request.row.get("time_ms")))
        visit.extra["pixels"] = rows
        visit.count("pixels/events", len(rows))
        if TABLE not in BY_NAME:
            return {}
        known = {c.name for c in BY_NAME[TABLE].columns}
        return {TABLE: [{k: v for k, v in row.items() if k in known} for row in rows]}
