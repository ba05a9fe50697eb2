"""SDK endpoints an app talks to: analytics, attribution, an OpenRTB exchange, a location beacon, an ID sync.

Not pages: a test client (standing in for a phone) sends app-like requests here through mitmproxy.
- app-measurement.com POST /a (Firebase analytics batches, any body) → 204
- graph.facebook.com POST /v17.0/<app>/activities (form: advertiser_id, anon_id...) → {"success": true}
- api2.branch.io POST /v1/open (JSON) → identity JSON and a year-long `_s` identifier cookie;
  GET /v1/sync → 302 to app.adjust.com/sync?partner=branch&uid=<the `_s` cookie>: Branch's id goes to Adjust
- app.adjust.com POST /session (form) → JSON; GET /sync → pixel, sets `adj_uid`
- ads.inmobi.com POST /openrtb/bid (OpenRTB 2.5 request, gzip or not) → one bid per impression
- t.appsflyer.com POST /api/v1/loc (a location beacon) → 204
- hostile behaviour for proxies: /bad-gzip (declares gzip, is not), /garbage (random bytes), /big (20 MiB)
"""

from __future__ import annotations

import gzip
import json
import os
import random
import zlib

from demoweb import Request, Response, Site, set_cookie

YEAR = 365 * 24 * 3600
FIREBASE = Site("firebase analytics", ["app-measurement.com"])
META = Site("meta graph api", ["graph.facebook.com"])
BRANCH = Site("branch attribution", ["api2.branch.io"])
ADJUST = Site("adjust attribution", ["app.adjust.com"])
INMOBI = Site("inmobi exchange", ["ads.inmobi.com"])
APPSFLYER = Site("appsflyer beacons", ["t.appsflyer.com"])
SITES = [FIREBASE, META, BRANCH, ADJUST, INMOBI, APPSFLYER]
EXPECTED: dict[str, dict] = {}  # app endpoints are not pages; the proxy tests plant and check their own values

BIG_BYTES = 20 * 1024 * 1024


def _body(req: Request) -> bytes:
    encoding = (req.headers.get("content-encoding") or "").lower()
    if encoding == "gzip":
        try:
            return gzip.decompress(req.body)
        except (OSError, EOFError, zlib.error):
            return b""
    return req.body


@FIREBASE.route("/a", ["POST"])
def firebase(req: Request) -> Response:
    return Response.empty(204)


@FIREBASE.route("/bad-gzip", ["GET", "POST"])
def bad_gzip(req: Request) -> Response:
    return Response(200, [("Content-Type", "application/json"), ("Content-Encoding", "gzip")], b"{not gzip at all")


@FIREBASE.route("/garbage", ["GET", "POST"])
def garbage(req: Request) -> Response:
    return Response(200, [("Content-Type", "application/octet-stream")], random.Random(7).randbytes(4096))


@FIREBASE.route("/big", ["GET", "POST"])
def big(req: Request) -> Response:
    return Response(200, [("Content-Type", "application/octet-stream")], os.urandom(1024) * (BIG_BYTES // 1024))


@META.route("/v17.0/<app>/activities", ["POST"])
def meta_activities(req: Request) -> Response:
    return Response.json({"success": True})


@BRANCH.route("/v1/open", ["POST"])
def branch_open(req: Request) -> Response:
    identity = req.cookies.get("_s") or "b7f2c9e4a1d84e0f9c3b5a6d7e8f9012"
    return Response.json({"identity_id": "1187654321098765432", "session_id": "1187654321000000001",
                          "link": "https://example.app.link/a1b2c3"},
                         headers=[set_cookie("_s", identity, max_age=YEAR, secure=True, same_site="None")])


@BRANCH.route("/v1/sync", ["GET"])
def branch_sync(req: Request) -> Response:
    uid = req.cookies.get("_s") or "none"
    return Response.redirect(req.url("app.adjust.com", f"/sync?partner=branch&uid={uid}"))


@ADJUST.route("/session", ["POST"])
def adjust_session(req: Request) -> Response:
    return Response.json({"adid": "4d2f5b2c8e0a4f6b9c1d3e5f7a9b1c3d", "message": "Session tracked"})


@ADJUST.route("/sync", ["GET"])
def adjust_sync(req: Request) -> Response:
    return Response.pixel(headers=[set_cookie("adj_uid", "a9d1c3e5f7b2d4f6", max_age=YEAR, secure=True,
                                              same_site="None")])


@INMOBI.route("/openrtb/bid", ["POST"])
def inmobi_bid(req: Request) -> Response:
    try:
        request = json.loads(_body(req) or b"{}")
    except ValueError:
        return Response.text("bad request", 400)
    bids = [{"id": f"b{i}", "impid": imp.get("id", str(i)), "price": 1.25 + i, "adomain": ["advertiser.example"],
             "crid": f"cr{i}", "w": 320, "h": 50, "adm": "<div>ad</div>"}
            for i, imp in enumerate(request.get("imp") or []) if isinstance(imp, dict)]
    if not bids:
        return Response.empty(204)
    return Response(200, [("Content-Type", "application/json"), ("x-openrtb-version", "2.5")],
                    json.dumps({"id": request.get("id"), "cur": "USD", "seatbid": [{"seat": "inmobi", "bid": bids}]}))


@APPSFLYER.route("/api/v1/loc", ["POST"])
def appsflyer_location(req: Request) -> Response:
    return Response.empty(204)
