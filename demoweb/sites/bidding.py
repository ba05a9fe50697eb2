"""Header bidding on the test web: a real Prebid.js build and the exchanges its adapters call.

Prebid.js ships on npm as prebuilt webpack chunks (`dist/chunks/*.js`) with their dependency graph
(`dist/chunks/dependencies.json`); its own `gulp bundle` only concatenates them (core, its dependencies, the
modules, theirs) and wraps the result. `prebid_bundle()` does the same in Python at serve time, so no bundler runs
and nothing of Prebid is copied into the repository. Publishers serve it as `/js/prebid.js?modules=a,b`.

Exchanges, on the hosts the adapters hard-code (so pages must be reached through the test web's proxy mode,
`TestWeb.chromium_args(proxy=True)`, where URLs are portless as on the real web):
- ib.adnxs.com and ib.adnxs-simple.com `POST /ut/v3/prebid` — Xandr's /ut format, as the appnexus adapter speaks
  it (the -simple host is the cookieless one the adapter picks without purpose-1 consent); answers one 0.85 USD
  banner per tag and sets `uuid2`;
- rtb.openx.net `POST /openrtbb/prebidjs` — OpenRTB 2.x from the openx adapter (Prebid's ortbConverter); answers
  a seatbid with one 1.20 USD bid per impression and sets the `i` cookie;
- example-d.openx.net (the publisher's delivery domain) and u.openx.net `GET /w/1.0/pd` — the openx user-sync
  pixel (carries gdpr / gdpr_consent / us_privacy).
"""

from __future__ import annotations

import functools
import json
import uuid

from demoweb import Request, Response, Site

from .consent_lib import NODE_MODULES
from .trackers import third_party_cookie

CHUNKS = NODE_MODULES / "prebid.js" / "dist" / "chunks"
ADNXS = Site("xandr /ut endpoint", ["ib.adnxs.com", "ib.adnxs-simple.com"], cors=True)
OPENX_SYNC_HOST = "example-d.openx.net"  # a publisher's OpenX delivery domain: the adapter's user-sync host
OPENX = Site("openx exchange", ["rtb.openx.net", "u.openx.net", OPENX_SYNC_HOST], cors=True)
SITES = [ADNXS, OPENX]
EXPECTED: dict[str, dict] = {}  # endpoints, not pages

APPNEXUS_CPM = 0.85
OPENX_CPM = 1.20
ADVERTISER = "example-advertiser.com"


@functools.lru_cache(maxsize=8)
def prebid_bundle(modules: tuple[str, ...]) -> bytes:
    """prebid-core + `modules` (e.g. "appnexusBidAdapter") + every chunk they need, wrapped like `gulp bundle`.

    Raises FileNotFoundError when prebid.js is not installed, ValueError for an unknown module.
    """
    graph = json.loads((CHUNKS / "dependencies.json").read_text(encoding="utf-8"))
    files = ["prebid-core.js", *(f"{m}.js" for m in modules)]
    unknown = [f for f in files if not (CHUNKS / f).is_file()]
    if unknown:
        raise ValueError(f"unknown Prebid modules: {unknown}")
    dependencies: list[str] = []
    for name in files:
        for dep in graph.get(name, []):
            if dep not in dependencies:
                dependencies.append(dep)
    entries = list(dict.fromkeys([files[0], *dependencies, *files[1:]]))
    version = json.loads((NODE_MODULES / "prebid.js" / "package.json").read_text(encoding="utf-8"))["version"]
    source = b"\n".join((CHUNKS / name).read_bytes() for name in entries)
    header = (f"/* prebid.js v{version} (npm dist/chunks, concatenated by the mouchard test web)\n"
              f"Modules: {', '.join(modules)} */\n"
              "if (!window.pbjs || !window.pbjs.libLoaded) {\n(function(){\n").encode()
    footer = b"\n})();\npbjs.processQueue();\n}\n"
    return header + source + footer


def serve_prebid(site: Site) -> None:
    """Add `/js/prebid.js?modules=a,b` (a Prebid build with those modules) to a publisher site."""

    def bundle(req: Request) -> Response:
        modules = tuple(m for m in req.query.get("modules", "").split(",") if m)
        try:
            body = prebid_bundle(modules)
        except (OSError, ValueError) as exc:
            return Response.text(f"no Prebid build: {exc}", 404)
        return Response(200, [("Content-Type", "application/javascript; charset=utf-8"),
                              ("Cache-Control", "max-age=3600")], body)

    site.add_route("/js/prebid.js", bundle, ["GET"])


def _creative(bidder: str, cpm: float) -> str:
    return (f'<div style="width:300px;height:250px;background:#bfdbfe;font:14px sans-serif;text-align:center;'
            f'line-height:250px">{bidder} ad at {cpm:.2f} USD</div>')


@ADNXS.route("/ut/v3/prebid", ["POST"])
def appnexus_auction(req: Request) -> Response:
    """Xandr's /ut answer: one rtb banner ad per tag, keyed by the tag's uuid (what the adapter matches)."""
    try:
        body = json.loads(req.body or b"{}")
    except ValueError:
        return Response.json({"error": "invalid JSON"}, 400)
    tags = []
    for tag in body.get("tags") or []:
        size = (tag.get("sizes") or [{"width": 300, "height": 250}])[0]
        tags.append({"uuid": tag.get("uuid"), "tag_id": tag.get("id"), "auction_id": str(uuid.uuid4().int)[:19],
                     "nobid": False, "no_ad_url": "", "timeout_ms": 0,
                     "ads": [{"content_source": "rtb", "ad_type": "banner", "buyer_member_id": 958,
                              "creative_id": 29681110, "media_type_id": 1, "media_subtype_id": 1,
                              "cpm": APPNEXUS_CPM, "cpm_publisher_currency": APPNEXUS_CPM,
                              "publisher_currency_code": "$", "client_initiated_ad_counting": True,
                              "adomain": ADVERTISER, "viewability": {"config": ""},
                              "rtb": {"banner": {"content": _creative("appnexus", APPNEXUS_CPM),
                                                 "width": size.get("width", 300), "height": size.get("height", 250)},
                                      "trackers": [{"impression_urls": [], "video_events": {}}]}}]})
    headers = [] if req.host == "ib.adnxs-simple.com" else [third_party_cookie(req, "uuid2", "adnxs.com")]
    return Response.json({"version": "3.0.0", "tags": tags}, headers=headers)


@OPENX.route("/openrtbb/prebidjs", ["POST"])
def openx_auction(req: Request) -> Response:
    """An OpenRTB 2.x bid response: one seat, one banner bid per impression."""
    try:
        request = json.loads(req.body or b"{}")
    except ValueError:
        return Response.empty(204)
    bids = []
    for imp in request.get("imp") or []:
        formats = ((imp.get("banner") or {}).get("format") or [{"w": 300, "h": 250}])
        bids.append({"id": uuid.uuid4().hex[:12], "impid": imp.get("id"), "price": OPENX_CPM,
                     "adm": _creative("openx", OPENX_CPM), "adomain": [ADVERTISER], "crid": "ox-crid-5541",
                     "w": formats[0].get("w", 300), "h": formats[0].get("h", 250), "mtype": 1})
    answer = {"id": request.get("id"), "cur": "USD", "seatbid": [{"seat": "openx", "bid": bids}]} if bids else \
        {"id": request.get("id"), "nbr": 2}
    return Response.json(answer, headers=[third_party_cookie(req, "i", "openx.net")])


@OPENX.route("/w/1.0/pd", ["GET"])
def openx_sync(req: Request) -> Response:
    """OpenX's user-sync pixel: keeps its `i` cookie (the consent parameters arrive in the query)."""
    return Response.pixel([third_party_cookie(req, "i", "openx.net")])

