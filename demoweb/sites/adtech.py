"""Ad tech: the display-ad frame GPT inserts, and a cookie-sync redirect chain between two exchanges.

securepubads.g.doubleclick.net/gampad/ads is the ad iframe (third-party origin): it sets `IDE` by Set-Cookie,
writes localStorage in its own (partitioned) origin, and fires a sync pixel:
ib.adnxs.com/getuid?<rubicon URL with $UID> sets `uuid2` and 302-redirects to
pixel.rubiconproject.com/tap.php?...&put=<uuid2>, which sets `khaos`: AppNexus's id travels to Magnite in the URL.
"""

from __future__ import annotations

import html
import urllib.parse

from demoweb import Request, Response, Site, set_cookie

from .trackers import YEAR, third_party_cookie

DOUBLECLICK = Site("doubleclick ad frames", ["securepubads.g.doubleclick.net"], cors=True)
ADNXS = Site("xandr exchange", ["ib.adnxs.com"], cors=True)
RUBICON = Site("magnite exchange", ["pixel.rubiconproject.com"], cors=True)
SITES = [DOUBLECLICK, ADNXS, RUBICON]
EXPECTED: dict[str, dict] = {}  # frames are not pages of their own; publishers add AD_FRAME_FACTS

SYNC_TARGET = "/tap.php?v=7751&nid=2307&put=$UID"

AD_FRAME_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Advertisement</title></head>
<body style="margin:0;font:14px sans-serif">
<a href="{click}" target="_blank" rel="noopener"
   style="display:block;width:300px;height:250px;background:#fde68a;color:#92400e;text-align:center;line-height:250px">
Advertisement — {slot}</a>
<img src="{sync}" width="1" height="1" alt="">
<script>try {{ localStorage.setItem("google_ad_frequency", String(Date.now())); }} catch (e) {{}}</script>
</body></html>
"""

# What a page embedding GPT gets from the frame and its sync chain (added to the publisher's EXPECTED).
AD_FRAME_FACTS = {
    "third_party_hosts": ["ib.adnxs.com", "pixel.rubiconproject.com", "securepubads.g.doubleclick.net"],
    "cookies": [
        {"name": "IDE", "domain": ".doubleclick.net", "party": "third", "set_by": "header",
         "by": "securepubads.g.doubleclick.net", "max_age": YEAR},
        {"name": "uuid2", "domain": ".adnxs.com", "party": "third", "set_by": "header", "by": "ib.adnxs.com",
         "max_age": YEAR},
        {"name": "khaos", "domain": ".rubiconproject.com", "party": "third", "set_by": "header",
         "by": "pixel.rubiconproject.com", "max_age": YEAR},
        {"name": "audit", "domain": ".rubiconproject.com", "party": "third", "set_by": "header",
         "by": "pixel.rubiconproject.com", "max_age": 30 * 24 * 3600},
    ],
    "storage": [{"kind": "localStorage", "host": "securepubads.g.doubleclick.net", "key": "google_ad_frequency",
                 "by": "securepubads.g.doubleclick.net"}],
    "requests": [
        {"kind": "iframe", "host": "securepubads.g.doubleclick.net", "path": "/gampad/ads"},
        {"kind": "img", "host": "ib.adnxs.com", "path": "/getuid"},
        {"kind": "redirect", "host": "pixel.rubiconproject.com", "path": "/tap.php"},
    ],
    "id_syncs": [{"from": "ib.adnxs.com", "to": "pixel.rubiconproject.com", "cookie": "uuid2", "param": "put",
                  "via": "redirect"}],
}


@DOUBLECLICK.route("/gampad/ads")
def ad_frame(req: Request) -> Response:
    """The ad iframe: IDE cookie, frame-origin storage, and the sync pixel starting the redirect chain."""
    sync = req.url("ib.adnxs.com", "/getuid?" + req.url("pixel.rubiconproject.com", SYNC_TARGET))
    page = AD_FRAME_PAGE.format(click=html.escape(req.url("www.example-store.com", "/?utm_source=ad")),
                                slot=html.escape(req.query.get("iu", "")), sync=html.escape(sync))
    return Response.html(page, headers=[third_party_cookie(req, "IDE", "doubleclick.net", "AHWqTU")])


@ADNXS.route("/getuid")
def getuid(req: Request) -> Response:
    """AppNexus-style sync: redirect to the partner URL given as the whole query, `$UID` replaced by uuid2."""
    cookie = third_party_cookie(req, "uuid2", "adnxs.com")
    uid = cookie[1].split(";")[0].split("=", 1)[1]
    target = urllib.parse.unquote(req.raw_query)
    if not target.startswith(("http://", "https://")):
        return Response.text("getuid needs a partner URL", 400, headers=[cookie])
    return Response.redirect(target.replace("$UID", uid), headers=[cookie])


@RUBICON.route("/tap.php")
def tap(req: Request) -> Response:
    """Magnite's side of the sync: remembers the partner id (`put`) and sets its own `khaos`."""
    return Response.pixel([third_party_cookie(req, "khaos", "rubiconproject.com"),
                           set_cookie("audit", "1", domain="rubiconproject.com", max_age=30 * 24 * 3600,
                                      secure=True, same_site="None")])
