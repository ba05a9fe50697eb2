"""Real third-party libraries from npm on the test web: FingerprintJS, rrweb and posthog-js, each on its own page,
and articles that carry all of them with Prebid.js (the pages of benchmarks/crawl.py).

The libraries are npm dependencies (package.json, installed by scripts/setup.sh), never copied here; they are
served from node_modules on the hosts real sites load them from, and their collectors are test-web hosts:
- www.npm-lab.fr `/fingerprintjs`: FingerprintJS (open-source, MIT) from openfpcdn.io, its public CDN
  (`/fingerprintjs/v5/iife.min.js`, the route is added to detectors_thirdparty's openfpcdn.io site); the page
  computes the visitor id (`monitoring: false`: the library's 0.1 % random install ping would make the page
  nondeterministic) and posts it to `/collect` on its own host;
- `/rrweb`: rrweb's recorder from cdn.jsdelivr.net (`/npm/rrweb@<version>/dist/rrweb.umd.min.cjs`); the page's
  `/js/replay.js` records, changes the DOM, and 300 ms after load POSTs the events as JSON to
  collect.replay-lab.io `/events`;
- `/posthog`: posthog-js (`array.full.js`, the build with the session recorder) from us-assets.i.posthog.com,
  sending to us.i.posthog.com, PostHog's US cloud hosts: remote config (`/array/<token>/config.js`), flags
  (`/flags/?v=2`), events (`/e/`) and recordings (`/s/`, gzip) are answered the way PostHog's cloud does, with
  session recording on.
- `/article/<n>`: a news article (about three screens, an ad slot, a newsletter field) that loads all three
  libraries as above and runs a Prebid.js header-bidding auction (the real build of bidding.py with the appnexus and
  openx adapters: ib.adnxs.com, rtb.openx.net and OpenX's user sync), rendering the winning ad in its slot. These are
  the "100 test-web pages that carry real third-party libraries" of the crawl benchmark; `n` only makes each URL new.
Without node_modules the library routes answer 404 (tests skip with `consent_lib.missing_packages`).
"""

from __future__ import annotations

import json
from html import escape as html_escape

from demoweb import Request, Response, Site

from .bidding import OPENX_SYNC_HOST, serve_prebid
from .consent_lib import NODE_MODULES, npm_file
from .detectors_thirdparty import FINGERPRINTING, FP_HOST

HOST = "www.npm-lab.fr"
JSDELIVR = "cdn.jsdelivr.net"
REPLAY_COLLECTOR = "collect.replay-lab.io"
POSTHOG_API, POSTHOG_ASSETS = "us.i.posthog.com", "us-assets.i.posthog.com"
POSTHOG_TOKEN = "phc_npmLabTestWebToken0123456789abcdefABCDEF"
PACKAGES = ("@fingerprintjs/fingerprintjs", "rrweb", "posthog-js")

SITE = Site("npm libraries lab", [HOST])
CDN = Site("jsdelivr npm cdn", [JSDELIVR], cors=True)
COLLECTOR = Site("rrweb collector", [REPLAY_COLLECTOR], cors=True)
POSTHOG = Site("posthog cloud", [POSTHOG_API, POSTHOG_ASSETS], cors=True)
SITES = [CDN, COLLECTOR, POSTHOG]


def version(package: str) -> str:
    """The installed version of an npm package ("0" when it is not installed: its routes then answer 404)."""
    try:
        return json.loads((NODE_MODULES / package / "package.json").read_text(encoding="utf-8"))["version"]
    except (OSError, ValueError, KeyError):
        return "0"


RRWEB_PATH = f"/npm/rrweb@{version('rrweb')}/dist/rrweb.umd.min.cjs"
FPJS_PATH = "/fingerprintjs/v5/iife.min.js"
POSTHOG_PATH = "/static/array.full.js"

EXPECTED = {
    f"{HOST}/fingerprintjs": {"third_party_hosts": [FP_HOST],
                              "requests": [{"kind": "script", "host": FP_HOST, "path": FPJS_PATH},
                                           {"kind": "fetch", "host": HOST, "path": "/collect"}]},
    f"{HOST}/rrweb": {"third_party_hosts": [JSDELIVR, REPLAY_COLLECTOR],
                      "requests": [{"kind": "script", "host": JSDELIVR, "path": RRWEB_PATH},
                                   {"kind": "script", "host": HOST, "path": "/js/replay.js"},
                                   {"kind": "fetch", "host": REPLAY_COLLECTOR, "path": "/events"}]},
    f"{HOST}/posthog": {"third_party_hosts": [POSTHOG_API, POSTHOG_ASSETS]},
}

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
{head}
</head><body>
<h1>{title}</h1>
<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit.</p>
<form><label>Email <input id="email" type="email" name="email"></label></form>
<ul id="list"></ul>
</body></html>
"""


def page(title: str, head: str) -> Response:
    return Response.html(PAGE.format(title=title, head=head), headers=[("Cache-Control", "no-store")])


@SITE.route("/fingerprintjs")
def fingerprintjs_page(req: Request) -> Response:
    return page("FingerprintJS", f"""<script src="{req.url(FP_HOST, FPJS_PATH)}"></script>
<script>
FingerprintJS.load({{monitoring: false}}).then(function (agent) {{ return agent.get(); }}).then(function (result) {{
  fetch("/collect", {{method: "POST", body: JSON.stringify({{visitorId: result.visitorId}})}});
}});
</script>""")


REPLAY_JS = """(function () {
  var events = [];
  rrweb.record({ emit: function (event) { events.push(event); } });
  window.addEventListener("load", function () {
    var item = document.createElement("li"); item.textContent = "added after load";
    document.getElementById("list").appendChild(item);
    setTimeout(function ship() {
      fetch("__COLLECTOR__", { method: "POST", headers: { "Content-Type": "application/json" },
                               body: JSON.stringify({ session: "s-1", events: events }) });
    }, 300);
  });
})();
"""


@SITE.route("/rrweb")
def rrweb_page(req: Request) -> Response:
    return page("rrweb", f"""<script src="{req.url(JSDELIVR, RRWEB_PATH)}"></script>
<script src="/js/replay.js"></script>""")


@SITE.route("/js/replay.js")
def replay_js(req: Request) -> Response:
    return Response.js(REPLAY_JS.replace("__COLLECTOR__", req.url(REPLAY_COLLECTOR, "/events")),
                       headers=[("Cache-Control", "no-store")])


@SITE.route("/posthog")
def posthog_page(req: Request) -> Response:
    return page("PostHog", f"""<script src="{req.url(POSTHOG_ASSETS, POSTHOG_PATH)}"></script>
<script>
posthog.init("{POSTHOG_TOKEN}", {{api_host: "{req.url(POSTHOG_API, '')}", ui_host: "https://us.posthog.com",
  person_profiles: "identified_only"}});
</script>""")


PREBID_MODULES = ("appnexusBidAdapter", "openxBidAdapter")
AUCTION_JS = """
pbjs.que.push(function () {
  pbjs.setConfig({bidderTimeout: 2500, enableSendAllBids: true,
    userSync: {syncEnabled: true, filterSettings: {image: {bidders: "*", filter: "include"}}, syncDelay: 200}});
  pbjs.addAdUnits([{code: "ad-top", mediaTypes: {banner: {sizes: [[300, 250]]}}, bids: [
    {bidder: "appnexus", params: {placementId: 13144370}},
    {bidder: "openx", params: {unit: "539439964", delDomain: "__OPENX__"}}]}]);
  pbjs.requestBids({bidsBackHandler: function () {
    var winners = pbjs.getHighestCpmBids("ad-top");
    var frame = document.getElementById("ad-frame");
    if (winners.length && frame) { pbjs.renderAd(frame.contentDocument, winners[0].adId); }
  }});
});
""".replace("__OPENX__", OPENX_SYNC_HOST)
PARAGRAPH = ("<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore "
             "et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris.</p>\n")


@SITE.route("/article/<n>")
def article(req: Request) -> Response:
    """An article with FingerprintJS, rrweb, posthog-js and a Prebid.js auction (see the module docstring)."""
    n = req.params["n"][:12]
    head = f"""<script src="{req.url(FP_HOST, FPJS_PATH)}"></script>
<script src="{req.url(JSDELIVR, RRWEB_PATH)}"></script>
<script src="/js/replay.js"></script>
<script src="{req.url(POSTHOG_ASSETS, POSTHOG_PATH)}"></script>
<script>
posthog.init("{POSTHOG_TOKEN}", {{api_host: "{req.url(POSTHOG_API, '')}", ui_host: "https://us.posthog.com",
  person_profiles: "identified_only"}});
FingerprintJS.load({{monitoring: false}}).then(function (agent) {{ return agent.get(); }}).then(function (result) {{
  fetch("/collect", {{method: "POST", body: JSON.stringify({{visitorId: result.visitorId}})}});
}});
window.pbjs = window.pbjs || {{que: []}};
</script>
<script async src="/js/prebid.js?modules={",".join(PREBID_MODULES)}"></script>
<script>{AUCTION_JS}</script>"""
    body = (f"<h1>Article {html_escape(n)}</h1>\n" + PARAGRAPH * 6
            + '<div id="ad-top"><iframe id="ad-frame" width="300" height="250" title="ad"></iframe></div>\n'
            + PARAGRAPH * 12
            + '<form><label>Newsletter <input id="email" type="email" name="email"></label></form>\n'
            + '<ul id="list"></ul>\n')
    return Response.html(f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Article {html_escape(n)}</title>
{head}
</head><body>
{body}</body></html>
""", headers=[("Cache-Control", "no-store")])


serve_prebid(SITE)


@SITE.route("/collect", ["POST"])
def collect(req: Request) -> Response:
    return Response.empty(204)


@SITE.route("/favicon.ico")
def favicon(req: Request) -> Response:
    return Response.empty(204, [("Cache-Control", "max-age=86400")])


@CDN.route("/npm/<package>@<version>/<path:rest>")
def jsdelivr(req: Request) -> Response:
    """jsDelivr's `/npm/<package>@<version>/<file>`: the installed package's file when the version matches."""
    package = req.params["package"]
    if version(package) != req.params["version"]:
        return Response.not_found("version not installed")
    return npm_file(f"{package}/{req.params['rest']}")


@COLLECTOR.route("/events", ["POST"])
def replay_events(req: Request) -> Response:
    return Response.json({"ok": True})


def fingerprintjs_iife(req: Request) -> Response:
    return npm_file("@fingerprintjs/fingerprintjs/dist/fp.min.js")


FINGERPRINTING.add_route(FPJS_PATH, fingerprintjs_iife, ["GET"])

# --- PostHog cloud ------------------------------------------------------------------------------------------------
# What PostHog's cloud answers for a project with session recording on (its public /array/<token>/config shape).
POSTHOG_CONFIG = {
    "token": POSTHOG_TOKEN, "supportedCompression": ["gzip", "gzip-js"], "hasFeatureFlags": False,
    "captureDeadClicks": False, "capturePerformance": False, "autocapture_opt_out": True,
    "autocaptureExceptions": False, "analytics": {"endpoint": "/i/v0/e/"}, "elementsChainAsString": True,
    "sessionRecording": {"endpoint": "/s/", "consoleLogRecordingEnabled": False, "recorderVersion": "v2",
                         "sampleRate": None, "minimumDurationMilliseconds": None, "linkedFlag": None,
                         "networkPayloadCapture": None, "urlTriggers": [], "urlBlocklist": [], "eventTriggers": [],
                         "scriptConfig": None},
    "heatmaps": False, "surveys": False, "defaultIdentifiedOnly": True, "siteApps": [],
}


@POSTHOG.route("/static/<name>")
def posthog_static(req: Request) -> Response:
    return npm_file(f"posthog-js/dist/{req.params['name']}")


@POSTHOG.route("/array/<token>/config.js")
def posthog_config_js(req: Request) -> Response:
    config = json.dumps({"config": POSTHOG_CONFIG, "siteApps": []})
    return Response.js(f"(function(){{window._POSTHOG_REMOTE_CONFIG=window._POSTHOG_REMOTE_CONFIG||{{}};"
                       f"window._POSTHOG_REMOTE_CONFIG[{json.dumps(POSTHOG_TOKEN)}]={config};}})();",
                       headers=[("Cache-Control", "no-store")])


@POSTHOG.route("/array/<token>/config")
def posthog_config(req: Request) -> Response:
    return Response.json(POSTHOG_CONFIG)


@POSTHOG.route("/flags/", ["POST", "GET"])
def posthog_flags(req: Request) -> Response:
    return Response.json({"flags": {}, "errorsWhileComputingFlags": False, "quotaLimited": [],
                          "requestId": "00000000-0000-4000-8000-000000000000"})


@POSTHOG.route("/<path:rest>", ["POST"])
def posthog_ingest(req: Request) -> Response:
    """Events (/e/, /i/v0/e/, /batch/) and recordings (/s/): accepted, as PostHog's capture endpoint answers."""
    return Response.json({"status": 1})
