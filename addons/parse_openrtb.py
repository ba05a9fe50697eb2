"""ParseOpenrtb: OpenRTB bid requests an app's ad SDK sends, and the bids that come back → `rtb`.

    mitmdump -s addons/parse_openrtb.py        # alone: logs each bid request's personal fields

Bodies are read by the shared parser `mouchard.decode.openrtb.parse_openrtb` (2.5 and 2.6, compressed or not). A bid
request gives one row (event `openrtb-request`) with the ad units, sizes, bidders and the personal fields it
carried (`device.ifa`, `device.geo`, `user.buyeruid`, `user.eids`...); a response gives one row per bid
(`openrtb-response`: seat, price, advertiser domains) or one `noBid` row.
"""

from __future__ import annotations

from addons.pipeline import FlowRecord, StageAddon, packaged

from addons.snapshots import FlowSnapshot

MAX_BODY = 4 * 1024 * 1024
NOT_OPENRTB = ("multipart/", "application/x-www-form-urlencoded", "image/", "video/", "audio/", "text/html",
               "application/x-protobuf", "application/protobuf")


def _maybe(body: bytes | None, content_type: str | None) -> bool:
    return bool(body) and len(body) <= MAX_BODY and not (content_type or "").lower().startswith(NOT_OPENRTB)


def request_rows(message, exchange: str | None) -> list[dict]:
    """One `rtb` row for a bid request (what was asked, and which personal fields went with it)."""
    bidders = sorted({b for imp in message.imps for b in imp.get("bidders") or []})
    sizes = [s for imp in message.imps for s in imp.get("sizes") or []]
    currencies = message.auction.get("cur")
    return [{
        "event": "openrtb-request", "library": "openrtb", "auction_id": message.id, "exchange": exchange,
        "bidder": ", ".join(bidders) or None,
        "ad_unit": ", ".join(filter(None, (imp.get("tagid") or imp.get("id") for imp in message.imps))) or None,
        "sizes": sizes, "timeout_ms": message.auction.get("tmax") if isinstance(message.auction.get("tmax"), int)
        else None, "currency": currencies[0] if isinstance(currencies, list) and currencies else None,
        "personal_fields": message.personal_fields,
        "fields": {"version": message.version, "app": message.app, "site": message.site, "device": message.device,
                   "user": message.user, "regs": message.regs, "source": message.source, "imps": message.imps,
                   "errors": message.errors},
    }]


def response_rows(message, exchange: str | None) -> list[dict]:
    """One `rtb` row per bid of a response, or one noBid row."""
    if not message.bids:
        return [{"event": "noBid", "library": "openrtb", "auction_id": message.id, "exchange": exchange,
                 "fields": {"nbr": message.no_bid_reason, "errors": message.errors}}]
    return [{"event": "openrtb-response", "library": "openrtb", "auction_id": message.id, "exchange": exchange,
             "bidder": bid.get("seat"), "ad_unit": bid.get("impid"), "cpm": bid.get("price"),
             "currency": bid.get("currency"), "sizes": [[bid["w"], bid["h"]]] if bid.get("w") else None,
             "fields": {k: bid.get(k) for k in ("adomain", "crid", "dealid", "cid", "adid", "media_type")}}
            for bid in message.bids]


class OpenrtbStage:
    """Stage: rtb rows for OpenRTB bodies."""

    order = 40

    def process(self, snap: FlowSnapshot, record: FlowRecord) -> None:
        from mouchard.decode.openrtb import is_openrtb_url, parse_openrtb

        if snap.kind != "http":
            return
        exchange = record.flow.get("host")
        version = snap.request_header("x-openrtb-version")
        asked = None
        ctype = snap.request_header("content-type")
        if _maybe(snap.request_body, ctype):
            asked = parse_openrtb(snap.request_body, ctype, snap.request_header("content-encoding"),
                                  openrtb_version=version)
            if asked is not None and asked.kind == "request":
                record.rtb.extend(request_rows(asked, exchange))
        rtype = snap.response_header("content-type")
        if (asked is not None or is_openrtb_url(snap.url or "")) and _maybe(snap.response_body, rtype):
            answer = parse_openrtb(snap.response_body, rtype, snap.response_header("content-encoding"),
                                   openrtb_version=snap.response_header("x-openrtb-version") or version)
            if answer is not None and answer.kind == "response":
                record.rtb.extend(response_rows(answer, exchange))

    def describe(self, record: FlowRecord):
        for row in record.rtb:
            yield f"{row['event']} at {row['exchange']}: {', '.join(row.get('personal_fields') or []) or '-'}"


class ParseOpenrtb(StageAddon):
    """Provides the OpenRTB stage (see the module docstring)."""

    def mouchard_stages(self) -> list:
        return [OpenrtbStage()]


addons = [packaged("addons.parse_openrtb", "ParseOpenrtb")]
