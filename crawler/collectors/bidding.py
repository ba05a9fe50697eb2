"""RecordBidding: header bidding in the page and OpenRTB on the wire, one `rtb` row per event.

In the page, read once at the end of the visit and passively: Prebid.js keeps a log of every event since it
loaded, `pbjs.getEvents()` (auctionInit, bidRequested, bidResponse, noBid, bidTimeout, bidWon, auctionEnd), and
`pbjs.getAllWinningBids()`; Google Publisher Tag's slots (`googletag.pubads().getSlots()`: ad unit path, sizes,
targeting, where Prebid writes hb_bidder / hb_pb); Amazon's `apstag` presence. No hook, no wrapper: the page
cannot tell that its log was read (the read is one `Runtime.evaluate` in the main world at the end).
Prebid's global may be renamed: every name in `window._pbjsGlobals` is read.

On the wire: request bodies the network collector kept (`_body` of request rows) parsed by
`mouchard.decode.openrtb.parse_openrtb` → `openrtb-request` rows with the personal fields sent; response bodies of the
same requests (fetched here with `Network.getResponseBody` when they finish) → one `openrtb-response` row per
bid. Prebid Server user syncs (`/setuid`, `/cookie_sync`) and Amazon's bid requests (`/e/dtb/bid`) are rows too.
Identifiers travelling between parties are the ID-sync collector's (`id_syncs`), not repeated here.
"""

from __future__ import annotations

import base64
import json
import urllib.parse
from typing import TYPE_CHECKING, Any

from crawler.collectors.base import Collector, Rows, VisitContext
from crawler.collectors.wire import sent
from mouchard.decode.domains import host_of
from mouchard.decode.openrtb import is_cookie_sync_url, is_openrtb_url, parse_cookie_sync, parse_openrtb, parse_setuid

if TYPE_CHECKING:
    from crawler.browser.targets import Target

MAX_RESPONSE_BODY = 2 * 1024 * 1024  # bytes of a bidding response fetched from the browser
MAX_RESPONSES = 200  # response bodies fetched per visit
MAX_ROWS = 2000  # rtb rows per visit; the rest are counted
READ_TIMEOUT = 3.0

# One main-world read at the end of the visit: plain JSON out, nothing left behind.
PAGE_READ = r"""(() => {
  const SKIP = new Set(['ad', 'adm', 'renderer', 'native', 'vastXml', 'doc', 'adServerTargeting_', 'refererInfo']);
  const clean = (value, depth, parents = []) => {
    if (value === null || value === undefined) return value === undefined ? null : value;
    const t = typeof value;
    if (t === 'string') return value.length > 300 ? value.slice(0, 300) : value;
    if (t === 'number' || t === 'boolean') return value;
    if (t !== 'object' || depth > 5) return null;
    if (typeof Node !== 'undefined' && value instanceof Node) return null;
    if (parents.includes(value)) return null;  // a cycle (shared objects elsewhere are kept)
    const inner = parents.concat([value]);
    if (Array.isArray(value)) return value.slice(0, 50).map((v) => clean(v, depth + 1, inner));
    const out = {};
    let n = 0;
    for (const key of Object.keys(value)) {
      if (SKIP.has(key) || n++ > 80) continue;
      let v;
      try { v = value[key]; } catch (e) { continue; }
      if (typeof v === 'function') continue;
      out[key] = clean(v, depth + 1, inner);
    }
    return out;
  };
  const result = {prebid: [], gpt: [], apstag: null};
  const names = Array.isArray(window._pbjsGlobals) ? window._pbjsGlobals.slice(0, 5) : ['pbjs'];
  for (const name of names) {
    const pb = window[name];
    if (!pb || typeof pb.getEvents !== 'function') continue;
    const entry = {global: name, version: pb.version || null, modules: clean(pb.installedModules || [], 0)};
    try {
      entry.events = pb.getEvents().slice(-1000).map((e) => ({type: e.eventType,
        elapsed: typeof e.elapsedTime === 'number' ? Math.round(e.elapsedTime) : null, args: clean(e.args, 0)}));
    } catch (e) { entry.error = String(e && e.message || e).slice(0, 200); }
    try { entry.winning = clean(pb.getAllWinningBids(), 0); } catch (e) {}
    result.prebid.push(entry);
  }
  try {
    const gt = window.googletag;
    if (gt && typeof gt.pubads === 'function' && gt.apiReady !== false) {
      for (const slot of gt.pubads().getSlots().slice(0, 100)) {
        const targeting = {};
        try { for (const key of slot.getTargetingKeys()) targeting[key] = slot.getTargeting(key); } catch (e) {}
        let sizes = [];
        try { sizes = slot.getSizes().map((s) => typeof s.getWidth === 'function' ? [s.getWidth(), s.getHeight()] : String(s)); }
        catch (e) {}
        result.gpt.push({path: slot.getAdUnitPath(), element: slot.getSlotElementId(), sizes, targeting});
      }
    }
  } catch (e) { result.gpt_error = String(e && e.message || e).slice(0, 200); }
  if (window.apstag && typeof window.apstag === 'object') {
    result.apstag = {version: typeof window.apstag.version === 'string' ? window.apstag.version : null};
  }
  return JSON.stringify(result);
})()"""

PREBID_EVENTS = ("auctionInit", "bidRequested", "bidResponse", "noBid", "bidTimeout", "bidWon", "auctionEnd")
AMAZON_BID_PATH = "/e/dtb/bid"


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _sizes(value: Any) -> list | None:
    """[[w, h], ...] from Prebid's sizes ([w, h] or [[w, h], ...]) or a "300x250" string."""
    if isinstance(value, str) and "x" in value:
        w, _, h = value.partition("x")
        return [[int(w), int(h)]] if w.isdigit() and h.isdigit() else None
    if isinstance(value, list) and len(value) == 2 and all(isinstance(v, (int, float)) for v in value):
        return [value]
    if isinstance(value, list):
        return [s for s in value if isinstance(s, list) and len(s) == 2] or None
    return None


def _float(value: Any) -> float | None:
    try:
        return float(value) if value is not None and value != "" else None
    except (TypeError, ValueError):
        return None


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _prebid_personal(bid: dict) -> list[str]:
    """Personal data a bidder is handed in a bid request: user ids, first-party data about the user."""
    found = []
    if bid.get("userIdAsEids"):
        found.append("userIdAsEids")
    if bid.get("userId"):
        found.append("userId")
    user = ((bid.get("ortb2") or {}).get("user") or {})
    for key in ("id", "buyeruid", "eids", "data", "keywords", "yob", "gender", "geo"):
        if user.get(key):
            found.append(f"ortb2.user.{key}")
    device = ((bid.get("ortb2") or {}).get("device") or {})
    for key in ("ifa", "geo", "ip"):
        if device.get(key):
            found.append(f"ortb2.device.{key}")
    return found


def prebid_rows(entry: dict) -> list[dict]:
    """rtb rows from one Prebid global's event log (see module docstring)."""
    winning = {b.get("adId") for b in entry.get("winning") or [] if isinstance(b, dict)}
    rows: list[dict] = []
    base = {"library": "prebid"}
    meta = {"global": entry.get("global"), "version": entry.get("version")}
    for event in entry.get("events") or []:
        kind, args = event.get("type"), event.get("args")
        if kind not in PREBID_EVENTS:
            continue
        elapsed = event.get("elapsed")
        if kind == "auctionInit" and isinstance(args, dict):
            units = [{"code": u.get("code"), "sizes": _sizes((u.get("mediaTypes") or {}).get("banner", {}).get("sizes")
                                                             or u.get("sizes")),
                      "bidders": [b.get("bidder") for b in u.get("bids") or [] if isinstance(b, dict)]}
                     for u in args.get("adUnits") or [] if isinstance(u, dict)]
            rows.append({**base, "event": kind, "auction_id": args.get("auctionId"),
                         "ad_unit": ",".join(str(u["code"]) for u in units if u["code"]) or None,
                         "sizes": _json([s for u in units for s in (u["sizes"] or [])]) if units else None,
                         "timeout_ms": _int(args.get("timeout")),
                         "fields": _json({**meta, "elapsed_ms": elapsed, "ad_units": units})})
        elif kind == "bidRequested" and isinstance(args, dict):
            consent = args.get("gdprConsent") or {}
            for bid in args.get("bids") or []:
                if not isinstance(bid, dict):
                    continue
                rows.append({**base, "event": kind, "auction_id": args.get("auctionId"),
                             "bidder": bid.get("bidder") or args.get("bidderCode"), "ad_unit": bid.get("adUnitCode"),
                             "sizes": _json(_sizes(bid.get("sizes"))), "timeout_ms": _int(args.get("timeout")),
                             "personal_fields": _json(_prebid_personal(bid)),
                             "fields": _json({**meta, "elapsed_ms": elapsed, "bid_id": bid.get("bidId"),
                                              "params": bid.get("params"),
                                              "gdpr_applies": consent.get("gdprApplies"),
                                              "gdpr_consent": consent.get("consentString"),
                                              "us_privacy": args.get("uspConsent"),
                                              "gpp": (args.get("gppConsent") or {}).get("gppString"),
                                              "eid_sources": [e.get("source") for e in bid.get("userIdAsEids") or []
                                                              if isinstance(e, dict)]})})
        elif kind in ("bidResponse", "bidWon") and isinstance(args, dict):
            rows.append({**base, "event": kind, "auction_id": args.get("auctionId"),
                         "bidder": args.get("bidderCode") or args.get("bidder"), "ad_unit": args.get("adUnitCode"),
                         "sizes": _json(_sizes(args.get("size")) or ([[args["width"], args["height"]]]
                                                                     if args.get("width") else None)),
                         "cpm": _float(args.get("cpm")), "currency": args.get("currency"),
                         "won": int(kind == "bidWon" or args.get("adId") in winning),
                         "fields": _json({**meta, "elapsed_ms": elapsed, "ad_id": args.get("adId"),
                                          "request_id": args.get("requestId"), "creative_id": args.get("creativeId"),
                                          "media_type": args.get("mediaType"), "deal_id": args.get("dealId"),
                                          "net_revenue": args.get("netRevenue"),
                                          "time_to_respond_ms": args.get("timeToRespond"),
                                          "advertiser_domains": (args.get("meta") or {}).get("advertiserDomains")})})
        elif kind in ("noBid", "bidTimeout"):
            for bid in (args if isinstance(args, list) else [args]):
                if isinstance(bid, dict):
                    rows.append({**base, "event": kind, "auction_id": bid.get("auctionId"), "bidder": bid.get("bidder"),
                                 "ad_unit": bid.get("adUnitCode"), "sizes": _json(_sizes(bid.get("sizes"))),
                                 "fields": _json({**meta, "elapsed_ms": elapsed, "bid_id": bid.get("bidId")})})
        elif kind == "auctionEnd" and isinstance(args, dict):
            rows.append({**base, "event": kind, "auction_id": args.get("auctionId"),
                         "ad_unit": ",".join(str(c) for c in args.get("adUnitCodes") or []) or None,
                         "timeout_ms": _int(args.get("timeout")),
                         "fields": _json({**meta, "elapsed_ms": elapsed,
                                          "bids_received": len(args.get("bidsReceived") or []),
                                          "no_bids": len(args.get("noBids") or []),
                                          "winning_bids": len(args.get("winningBids") or []),
                                          "duration_ms": (args["auctionEnd"] - args["timestamp"])
                                          if isinstance(args.get("auctionEnd"), (int, float))
                                          and isinstance(args.get("timestamp"), (int, float)) else None})})
    return rows


def gpt_rows(slots: list[dict]) -> list[dict]:
    rows = []
    for slot in slots:
        targeting = slot.get("targeting") or {}
        first = lambda key: (targeting.get(key) or [None])[0] if isinstance(targeting.get(key), list) else targeting.get(key)  # noqa: E731
        rows.append({"library": "gpt", "event": "gpt-slot", "ad_unit": slot.get("path"),
                     "sizes": _json([s for s in slot.get("sizes") or [] if isinstance(s, list)]),
                     "bidder": first("hb_bidder"), "cpm": _float(first("hb_pb")),
                     "fields": _json({"element": slot.get("element"), "targeting": targeting})})
    return rows


def wire_rows(request: dict, response_body: bytes | None) -> list[dict]:
    """rtb rows for one request row: OpenRTB request and response, Prebid Server syncs, Amazon bid requests."""
    carried = sent(request)  # the detectors' view of a request row: headers, body, content type and encoding
    url = carried.url
    host = request.get("host") or host_of(url)
    link = {"request_id": carried.ref} if carried.ref is not None else {}
    rows: list[dict] = []
    body = carried.body
    message = parse_openrtb(body, carried.content_type, carried.content_encoding,
                            openrtb_version=carried.header("x-openrtb-version")) if body else None
    if message is not None and message.kind == "request":
        bidders = sorted({b for imp in message.imps for b in imp.get("bidders") or []})
        rows.append({**link, "library": "openrtb", "event": "openrtb-request", "exchange": host,
                     "auction_id": message.id, "bidder": ",".join(bidders) or None,
                     "ad_unit": ",".join(str(imp.get("tagid") or imp.get("id")) for imp in message.imps) or None,
                     "sizes": _json([s for imp in message.imps for s in imp.get("sizes") or []]),
                     "timeout_ms": _int(message.auction.get("tmax")),
                     "personal_fields": _json(message.personal_fields),
                     "fields": _json({"version": message.version, "site": message.site, "app": message.app,
                                      "device": message.device, "user": message.user, "regs": message.regs,
                                      "source": message.source, "imps": message.imps, "errors": message.errors})})
    if response_body:
        answer = parse_openrtb(response_body)
        if answer is not None and answer.kind == "response":
            for bid in answer.bids or [{}]:
                rows.append({**link, "library": "openrtb", "event": "openrtb-response", "exchange": host,
                             "auction_id": answer.id, "bidder": bid.get("seat"), "ad_unit": bid.get("impid"),
                             "sizes": _json([[bid["w"], bid["h"]]] if bid.get("w") and bid.get("h") else None),
                             "cpm": bid.get("price"), "currency": bid.get("currency") or answer.currency,
                             "fields": _json({"version": answer.version, "no_bid_reason": answer.no_bid_reason,
                                              **{k: bid.get(k) for k in ("id", "adomain", "crid", "dealid", "cid",
                                                                         "media_type")},
                                              "errors": answer.errors})})
    setuid = parse_setuid(url)
    if setuid is not None:
        rows.append({**link, "library": "openrtb", "event": "setuid", "exchange": host, "bidder": setuid.get("bidder"),
                     "fields": _json({**{k: v for k, v in setuid.items() if k != "uid"},
                                      "uid_present": bool(setuid.get("uid"))})})
    if is_cookie_sync_url(url):
        for kind, raw in (("request", body), ("response", response_body)):
            sync = parse_cookie_sync(raw) if raw else None
            if sync is not None:
                rows.append({**link, "library": "openrtb", "event": f"cookie-sync-{kind}", "exchange": host,
                             "bidder": ",".join(s.get("bidder") or "" for s in sync.get("syncs", [])) or
                             (",".join(sync.get("bidders") or []) if isinstance(sync.get("bidders"), list) else None),
                             "fields": _json(sync)})
    if urllib.parse.urlsplit(url).path.startswith(AMAZON_BID_PATH):
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
        rows.append({**link, "library": "apstag", "event": "apstag", "exchange": host,
                     "fields": _json({k: query[k][:500] for k in sorted(query)})})
    return rows


class RecordBidding(Collector):
    """rtb rows: Prebid.js / GPT / apstag state at the end of the visit, and OpenRTB on the wire."""

    name = "bidding"
    order = 500  # position among the default collectors (crawler/collectors/__init__.py)
    tables = ("rtb",)

    @staticmethod
    def state(visit: VisitContext) -> dict:
        return visit.own(RecordBidding, lambda: {"methods": {}, "candidates": {}, "bodies": {}})

    async def attach(self, visit: VisitContext, target: "Target") -> None:
        state = self.state(visit)
        if state.get("subscribed"):
            return
        state["subscribed"] = True
        visit.on("Network.requestWillBeSent", lambda t, p: self._will_be_sent(state, p))
        visit.on("Network.responseReceived", lambda t, p: self._response(state, t, p))
        visit.on("Network.loadingFinished", lambda t, p: self._finished(visit, state, t, p))

    @staticmethod
    def _will_be_sent(state: dict, params: dict) -> None:
        request = params.get("request") or {}
        state["methods"][params.get("requestId")] = (request.get("method"), request.get("url", ""))

    @staticmethod
    def _response(state: dict, target: "Target", params: dict) -> None:
        response = params.get("response") or {}
        url, mime = response.get("url", ""), (response.get("mimeType") or "").lower()
        method, _ = state["methods"].get(params.get("requestId"), (None, url))
        if ("json" in mime or "text/plain" in mime) and (method == "POST" or is_openrtb_url(url)
                                                         or is_cookie_sync_url(url)):
            state["candidates"][params.get("requestId")] = target

    def _finished(self, visit: VisitContext, state: dict, target: "Target", params: dict) -> None:
        request_id = params.get("requestId")
        owner = state["candidates"].pop(request_id, None)
        if owner is None or len(state["bodies"]) >= MAX_RESPONSES:
            return
        if (params.get("encodedDataLength") or 0) > MAX_RESPONSE_BODY:
            visit.count("rtb/response_too_large")
            return
        visit.hub.spawn(self._fetch(visit, state, owner, request_id))

    @staticmethod
    async def _fetch(visit: VisitContext, state: dict, target: "Target", request_id: str) -> None:
        try:
            answer = await target.send("Network.getResponseBody", {"requestId": request_id})
        except Exception:
            visit.count("rtb/response_body_unavailable")
            return
        data = answer.get("body", "")
        state["bodies"][request_id] = base64.b64decode(data) if answer.get("base64Encoded") else data.encode("utf-8")

    async def before_leave(self, visit: VisitContext) -> None:
        self.state(visit)["page"] = await self._read_page(visit)  # the page's ad libraries, before it is left

    async def collect(self, visit: VisitContext) -> Rows:
        state = self.state(visit)
        rows: list[dict] = []
        page = state["page"] if "page" in state else await self._read_page(visit)
        for entry in page.get("prebid") or []:
            rows.extend(prebid_rows(entry))
        rows.extend(gpt_rows(page.get("gpt") or []))
        if page.get("apstag") is not None:
            rows.append({"library": "apstag", "event": "apstag", "fields": _json({"in_page": page["apstag"]})})
        for request in visit.requests:
            response = state["bodies"].get(request.get("browser_request_id")) if self._last_hop(request) else None
            if request.get("_body") is None and response is None and "setuid" not in (request.get("url") or "") \
                    and AMAZON_BID_PATH not in (request.get("url") or ""):
                continue
            rows.extend(wire_rows(request, response))
        if len(rows) > MAX_ROWS:
            visit.count("rtb/dropped_over_limit", len(rows) - MAX_ROWS)
            rows = rows[:MAX_ROWS]
        visit.count("rtb/rows", len(rows))
        return {"rtb": rows}

    @staticmethod
    def _last_hop(request: dict) -> bool:
        """A redirect chain shares one browser request id: the response body belongs to its last hop."""
        status = request.get("status")
        return not (isinstance(status, int) and 300 <= status < 400)

    @staticmethod
    async def _read_page(visit: VisitContext) -> dict:
        if visit.hub is None or visit.hub.page is None or visit.hub.page.detached or visit.status not in ("ok", "http-error"):
            return {}
        try:
            answer = await visit.hub.page.send("Runtime.evaluate", {"expression": PAGE_READ, "returnByValue": True,
                                                                    "silent": True}, timeout=READ_TIMEOUT)
            value = (answer.get("result") or {}).get("value")
            return json.loads(value) if isinstance(value, str) else {}
        except Exception:
            visit.count("rtb/page_read_failed")
            return {}
