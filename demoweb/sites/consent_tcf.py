"""Publishers with an IAB TCF v2 CMP of our own, built on the IAB's @iabtcf/core (real TC strings) and
@iabtcf/cmpapi (a real `__tcfapi`), with Prebid.js bidding to Xandr (appnexus adapter) and OpenX (OpenRTB).

- www.tcf-news.com — violations: CONSENT STRING STORED BEFORE ANY CHOICE (a pre-ticked TC string consenting to
  every purpose and vendor is written to `euconsent-v2` and announced by `__tcfapi` while the banner is still
  shown), VENDORS CALLED WITHOUT CONSENT (Prebid has no TCF enforcement: after "Reject all" the next page still
  calls Xandr (vendor 32) and OpenX (69) with a TC string that consents to nothing), GPC IGNORED (`__uspapi` says
  "1YNN" whatever Sec-GPC says, and the auctions run the same).
- www.fair-news.org — compliant: no TC string before the choice, the auction waits for one and Prebid's
  tcfControl module enforces it (no exchange is called after a refusal), `__uspapi` answers "1YYN" under GPC,
  and /.well-known/gpc.json says so. Both banners have "Reject all" on the first layer.
The CMP's JavaScript is below (CMP_JS); the TC model uses a small vendor list of our own (GVL) naming the real
GVL ids of the bidders. The GPT used for ad-server targeting is a stand-in (`GPT_STANDIN`): Google's gpt.js is not
on npm; it implements the slot calls Prebid and the crawler make.
"""

from __future__ import annotations

import json

from demoweb import Request, Response, Site

from .bidding import OPENX_SYNC_HOST, serve_prebid
from .consent_lib import page, serve_npm

TCF_NEWS = Site("tcf publisher (violations)", ["www.tcf-news.com"])
FAIR_NEWS = Site("tcf publisher (compliant)", ["www.fair-news.org"])
SITES = [TCF_NEWS, FAIR_NEWS]
EXPECTED: dict[str, dict] = {}  # phase-dependent pages: see CONSENT_EXPECTED

CMP_ID = 300  # a CMP id of our own (the test web's CMP); both publishers use it
VENDORS = {10: "Index Exchange", 32: "Xandr", 69: "OpenX", 755: "Google Advertising Products"}
EXCHANGES = ["ib.adnxs.com", "rtb.openx.net"]
BASE_MODULES = ("appnexusBidAdapter", "openxBidAdapter", "consentManagementTcf", "consentManagementUsp")

CONSENT_EXPECTED: dict[str, dict] = {
    "www.tcf-news.com/": {
        "cmp_id": CMP_ID, "reject_first_layer": True, "consent_stored_before_choice": True,
        "before_consent_hosts": EXCHANGES, "after_reject_hosts": EXCHANGES, "after_accept_hosts": EXCHANGES,
        "accept_purposes": list(range(1, 12)), "accept_vendors": sorted(VENDORS),
        "usp_under_gpc": "1YNN",
        "violations": ["consent-stored-before-choice", "tracking-before-consent", "tracking-after-reject",
                       "vendor-without-consent", "gpc-ignored"],
    },
    "www.fair-news.org/": {
        "cmp_id": CMP_ID, "reject_first_layer": True, "consent_stored_before_choice": False,
        "before_consent_hosts": [], "after_reject_hosts": [], "after_accept_hosts": EXCHANGES,
        "accept_purposes": list(range(1, 12)), "accept_vendors": sorted(VENDORS),
        "usp_under_gpc": "1YYN", "violations": [],
    },
}


def gvl_json() -> dict:
    """A Global Vendor List (v3 format) with the four vendors the pages work with."""
    purposes = {str(i): {"id": i, "name": f"Purpose {i}", "description": "", "illustrations": []} for i in range(1, 12)}

    def vendor(vid: int, name: str) -> dict:
        return {"id": vid, "name": name, "purposes": [1, 2, 3, 4, 7], "legIntPurposes": [], "flexiblePurposes": [],
                "specialPurposes": [1, 2], "features": [], "specialFeatures": [], "usesCookies": True,
                "cookieMaxAgeSeconds": 31536000, "cookieRefresh": True, "usesNonCookieAccess": False, "urls": []}

    special = {"1": {"id": 1, "name": "Security", "description": "", "illustrations": []},
               "2": {"id": 2, "name": "Delivery", "description": "", "illustrations": []}}
    return {"gvlSpecificationVersion": 3, "vendorListVersion": 150, "tcfPolicyVersion": 5,
            "lastUpdated": "2026-01-01T00:00:00Z", "purposes": purposes, "specialPurposes": special,
            "features": {}, "specialFeatures": {"1": {"id": 1, "name": "Precise geolocation", "description": "",
                                                      "illustrations": []}},
            "stacks": {}, "dataCategories": {}, "vendors": {str(k): vendor(k, v) for k, v in VENDORS.items()}}


# Runs as a module; CONFIG = {cmpId, prestore}, and optionally `vendors` (the CMP's vendor list: the GVL narrowed to
# these ids), `accept` / `reject` ({specialFeatureOptins, purposeLegitimateInterests, vendorLegitimateInterests}:
# what the CMP signals on that choice besides the defaults) and `segments` (e.g. ["core", "vendorsDisclosed"]).
# The stub in the page queues __tcfapi calls until here.
CMP_JS = """
import { TCModel, TCString, GVL } from "/npm/@iabtcf/core/lib/mjs/index.js";
import { CmpApi } from "/npm/@iabtcf/cmpapi/lib/mjs/index.js";

const gvl = new GVL(GVL_JSON);
if (CONFIG.vendors) { gvl.narrowVendorsTo(CONFIG.vendors); }  // the CMP's own vendor list (disclosed vendors)
const cmpApi = new CmpApi(CONFIG.cmpId, 2, true);
const encode = (consent) => {
  const model = new TCModel(gvl);
  model.cmpId = CONFIG.cmpId; model.cmpVersion = 2; model.consentScreen = 1; model.consentLanguage = "EN";
  model.publisherCountryCode = "FR"; model.isServiceSpecific = true;
  if (consent) { model.setAllPurposeConsents(); model.setAllVendorConsents(); model.setAllSpecialFeatureOptins(); }
  const signals = (consent ? CONFIG.accept : CONFIG.reject) || {};  // optional: what this CMP adds or withholds
  if (signals.specialFeatureOptins) {
    model.specialFeatureOptins.empty(); model.specialFeatureOptins.set(signals.specialFeatureOptins);
  }
  if (signals.purposeLegitimateInterests) { model.purposeLegitimateInterests.set(signals.purposeLegitimateInterests); }
  if (signals.vendorLegitimateInterests) { model.vendorLegitimateInterests.set(signals.vendorLegitimateInterests); }
  return TCString.encode(model, CONFIG.segments ? {segments: CONFIG.segments} : undefined);
};
const store = (tc) => {
  document.cookie = "euconsent-v2=" + tc + "; path=/; max-age=31536000; SameSite=Lax; Secure";
};
const stored = document.cookie.match(/(?:^|; )euconsent-v2=([^;]+)/);
const banner = document.getElementById("tcf-banner");
const choose = (consent) => {
  const tc = encode(consent);
  store(tc);
  banner.hidden = true;
  cmpApi.update(tc, false);
};
if (stored) {
  banner.hidden = true;
  cmpApi.update(stored[1], false);
} else {
  banner.hidden = false;
  if (CONFIG.prestore) {
    const tc = encode(true);  // pre-ticked: every purpose and vendor, before the visitor said anything
    store(tc);
    cmpApi.update(tc, true);
  } else {
    cmpApi.update("", true);
  }
}
document.getElementById("tcf-accept").addEventListener("click", () => choose(true));
document.getElementById("tcf-reject").addEventListener("click", () => choose(false));
"""

TCF_STUB = """<script type="importmap">{"imports": {"@iabtcf/core": "/npm/@iabtcf/core/lib/mjs/index.js"}}</script>
<script>
(function () {
  var queue = [];
  window.__tcfapi = function () { if (!arguments.length) return queue; queue.push([].slice.call(arguments)); };
})();
</script>"""

BANNER = """<div id="tcf-banner" hidden role="dialog" aria-label="Cookie consent"
     style="position:fixed;left:0;right:0;bottom:0;padding:1.5rem;background:#111827;color:#fff;font:15px sans-serif">
  <p>We and our 4 partners store and access information on your device (cookies) for personalised ads and
  measurement.</p>
  <button id="tcf-accept" type="button">Accept all</button>
  <button id="tcf-reject" type="button">Reject all</button>
</div>
<div id="ad-top" style="width:300px;height:250px"><iframe id="ad-frame" title="ad" width="300" height="250"
  style="border:0"></iframe></div>"""

# A stand-in for Google Publisher Tag (not on npm): the slot API Prebid's targeting and the crawler use.
GPT_STANDIN = """<script>
window.googletag = window.googletag || {cmd: []};
(function (gt) {
  function Slot(path, sizes, element) {
    var targeting = {};
    this.getAdUnitPath = function () { return path; };
    this.getSlotElementId = function () { return element; };
    this.getSizes = function () { return sizes.map(function (s) {
      return {getWidth: function () { return s[0]; }, getHeight: function () { return s[1]; }}; }); };
    this.setTargeting = function (k, v) { if (v === null || v === undefined) { delete targeting[k]; }
      else { targeting[k] = [].concat(v).map(String); } return this; };
    this.updateTargetingFromMap = function (map) { for (var k in map) this.setTargeting(k, map[k]); return this; };
    this.getTargeting = function (k) { return targeting[k] || []; };
    this.getTargetingKeys = function () { return Object.keys(targeting); };
    this.clearTargeting = function (k) { if (k) { delete targeting[k]; } else { targeting = {}; } return this; };
  }
  var slots = [new Slot("/1234567/news/top", [[300, 250]], "ad-top")];
  var pubads = {getSlots: function () { return slots; }, addEventListener: function () { return pubads; },
                refresh: function () {}, setTargeting: function () { return pubads; }};
  gt.pubads = function () { return pubads; };
  gt.apiReady = true;
  gt.cmd.push = function (f) { f(); return 1; };
})(window.googletag);
</script>"""

AUCTION_JS = """
pbjs.que.push(function () {
  pbjs.setConfig({
    consentManagement: {gdpr: CONSENT_CONFIG, usp: {cmpApi: "iab", timeout: 200}},
    bidderTimeout: 2500, enableSendAllBids: true,
    userSync: {syncEnabled: true, filterSettings: {image: {bidders: "*", filter: "include"}}, syncDelay: 200}
  });
  pbjs.addAdUnits([{code: "ad-top", mediaTypes: {banner: {sizes: [[300, 250]]}}, bids: [
    {bidder: "appnexus", params: {placementId: 13144370}},
    {bidder: "openx", params: {unit: "539439964", delDomain: "OPENX_SYNC_HOST"}}]}]);
  var auction = function () {
    pbjs.requestBids({bidsBackHandler: function () {
      pbjs.setTargetingForGPTAsync(["ad-top"]);
      var winners = pbjs.getHighestCpmBids("ad-top");
      var frame = document.getElementById("ad-frame");
      if (winners.length && frame) { pbjs.renderAd(frame.contentDocument, winners[0].adId); }
    }});
  };
  if (WAIT_FOR_CHOICE) {
    // Compliant: no auction until the visitor has chosen (a stored TC string or a fresh choice).
    __tcfapi("addEventListener", 2, function (tcData, ok) {
      if (ok && (tcData.eventStatus === "tcloaded" || tcData.eventStatus === "useractioncomplete")) { auction(); }
    });
  } else {
    auction();
  }
});
"""


def cmp_script(config: dict, gvl: dict) -> str:
    """The CMP module (`<script type="module">` body) with its `config` (see CMP_JS) and vendor list `gvl`."""
    return (CMP_JS.replace("GVL_JSON", json.dumps(gvl)).replace("CONFIG.", "CMP_CONFIG.")
            .replace("const gvl", f"const CMP_CONFIG = {json.dumps(config)};\nconst gvl", 1))


def _usp_js(honour_gpc: bool) -> str:
    """A US Privacy API (`__uspapi`) and its `usprivacy` cookie; with `honour_gpc`, GPC means opted out."""
    opt_out = "navigator.globalPrivacyControl === true" if honour_gpc else "false"
    return f"""<script>
(function () {{
  var usp = "1Y" + (({opt_out}) ? "Y" : "N") + "N";
  document.cookie = "usprivacy=" + usp + "; path=/; max-age=31536000; SameSite=Lax; Secure";
  window.__uspapi = function (command, version, callback) {{
    if (command === "getUSPData") {{ callback({{version: 1, uspString: usp}}, true); }}
  }};
}})();
</script>"""


def _publisher(req: Request, *, title: str, prestore: bool, compliant: bool) -> Response:
    modules = BASE_MODULES + (("tcfControl",) if compliant else ())
    config = {"cmpId": CMP_ID, "prestore": prestore}
    consent_config = {"cmpApi": "iab", "timeout": 3000, "defaultGdprScope": True}
    if not compliant:
        consent_config["actionTimeout"] = 300  # run the auction on the pre-ticked string without waiting
    cmp = cmp_script(config, gvl_json())
    auction = AUCTION_JS.replace("CONSENT_CONFIG", json.dumps(consent_config)).replace(
        "OPENX_SYNC_HOST", OPENX_SYNC_HOST).replace(
        "WAIT_FOR_CHOICE", "true" if compliant else "false")
    head = f"""{TCF_STUB}
{_usp_js(honour_gpc=compliant)}
{GPT_STANDIN}
<script>window.pbjs = window.pbjs || {{que: []}};</script>
<script async src="/js/prebid.js?modules={",".join(modules)}"></script>
<script>{auction}</script>"""
    body = f"{BANNER}\n<script type=\"module\">{cmp}</script>"
    return page(req, title=title, lang="en", head=head, body=body)


for _site in SITES:
    serve_npm(_site)
    serve_prebid(_site)


@TCF_NEWS.route("/", ["GET"])
def tcf_news(req: Request) -> Response:
    return _publisher(req, title="TCF News", prestore=True, compliant=False)


@FAIR_NEWS.route("/", ["GET"])
def fair_news(req: Request) -> Response:
    return _publisher(req, title="Fair News", prestore=False, compliant=True)


@FAIR_NEWS.route("/.well-known/gpc.json", ["GET"])
def fair_gpc(req: Request) -> Response:
    return Response.json({"gpc": True, "lastUpdate": "2026-01-01"})
