"""RecordPixels: Meta pixel events, Google Analytics hits and Google Ads conversions of a visit, from its requests.

Each request row goes through `mouchard.detect.pixels.parse_request` (URL and POST body). Events become `pixel_events`
rows; they are also left in `visit.shared.pixel_events` for other collectors and counted in `mouchard/pixels/events`.
"""

from __future__ import annotations

from typing import Any

from crawler.collectors.base import Collector, Rows, VisitContext
from crawler.collectors.wire import sent_requests
from mouchard.detect.pixels import parse_request

TABLE = "pixel_events"

class RecordPixels(Collector):
    """pixel_events rows, one per event a tag reported, pointing at the request that carried it."""

    name = "pixels"
    order = 800  # position among the default collectors (crawler/collectors/__init__.py)
    switch = "pixels"  # the CollectorSettings field that turns it off
    tables = (TABLE,)

    @classmethod
    def from_crawler(cls, crawler: Any) -> "RecordPixels":
        from crawler.settings import require_switch

        require_switch(crawler.settings, cls)
        return cls()

    async def collect(self, visit: VisitContext) -> Rows:
        rows = []
        for request in sent_requests(visit.requests):
            for event in parse_request(request.url, request.body, request.content_type):
                rows.append(event.row(request_id=request.ref, time_ms=request.row.get("time_ms")))
        visit.shared.pixel_events = rows
        visit.count("pixels/events", len(rows))
        return {TABLE: rows}
