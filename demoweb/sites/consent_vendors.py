"""What ad-tech vendors declare versus what they do: a Global Vendor List of the test web, each vendor's Device
Storage Disclosure, and two French publishers with the TCF CMP of consent_tcf.py (@iabtcf/core, real TC strings
with a disclosed-vendors segment) — one where each declared-versus-observed finding is planted exactly once, one
compliant control where nothing is.

The registry (what `mouchard vendors fetch` reads, at the real addresses):
- vendor-list.consensu.org `/v3/vendor-list.json` (GVL v3, version `GVL_VERSION`) and
  `/v3/archives/vendor-list-v{N}.json` (N = `CMP_GVL_VERSION` too: the version the pages' CMP was built with).
  Vendors, with their real GVL ids: Index Exchange (10), Sovrn (13), Xandr (32), OpenX (69), Google Advertising
  Products (755); and Courtier Discret (4041, fictitious), which neither CMP discloses. This list is the test web's
  own: Sovrn's deletion in `GVL_VERSION` is made up (a deleted vendor must be one mouchard.decode.consent knows by
  host, since a deleted vendor's disclosure is not fetched).
- each vendor's `deviceStorageDisclosureUrl`, on its own host (acdn.adnxs.com, www.openx.com, www.gstatic.com,
  cdn.indexww.com, www.sovrn.com, www.courtier-discret.fr), `DISCLOSURES` below.

The vendors' endpoints: Xandr's and OpenX's auctions of bidding.py (ib.adnxs.com sets `uuid2`, ib.adnxs-simple.com
sets nothing, rtb.openx.net answers OpenRTB and sets `i`), and here ad.doubleclick.net (`IDE`),
dsum-sec.casalemedia.com (`CMID`, and `CMPRO` on its /rum/match path), ap.lijit.com and sync.courtier-discret.fr
(cookieless pixels). Every call carries `gdpr=1&gdpr_consent=<TC string>`. Every cookie is set once per visit: the
pages serve their ads once per browsing session (sessionStorage), so the crawler's reload after the banner action
calls nothing again.

Publishers (nothing is called before a choice; the page calls its vendors when `__tcfapi` reports one):
- www.pub-infidele.fr — violations, one each (vendor, phase): after "Tout refuser", Xandr still receives a bid
  request (purposes without basis: 32, reject); after "Tout accepter": Index Exchange sets `CMPRO`, which its
  disclosure does not declare (10); Google sets `IDE` for 730 days where its disclosure says 365 (755); Xandr is
  called on ib.adnxs-simple.com, a host its disclosure does not list (32); the TC string signals legitimate
  interest for purpose 4, forbidden by TCF policy, with Google's LI bit (755); OpenX gets a bid request with
  device.geo 48.856614, 2.352222 while special feature 1 is not opted in (69); Courtier Discret is called
  although the CMP does not disclose it (4041); Sovrn, deleted from the current GVL, is called (13: the CMP still
  runs on the previous version, where it was not deleted, so it is disclosed and consented).
- www.pub-loyal.fr — compliant: nothing after a refusal; after acceptance the same vendors on their declared
  hosts with their declared cookies and lifetimes, LI only for purposes 2 and 7, and precise geolocation only
  with special feature 1 opted in.
`VENDOR_EXPECTED` gives, per publisher and phase, the planted traffic, the exact `vendor_conduct` facts and the
`vendors.*` findings.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

from demoweb import Request, Response, Site, set_cookie

from .consent_lib import page, serve_npm
from .consent_tcf import BANNER, CMP_ID, TCF_STUB, cmp_script

GVL_HOST = "vendor-list.consensu.org"
GVL_VERSION = 154  # the current list: what `mouchard vendors fetch` records
CMP_GVL_VERSION = 153  # the list the pages' CMP was built with (before vendor 13 was deleted)
DELETED_DATE = "2026-11-02T00:00:00Z"
DAY = 86400
YEAR = 365 * DAY
INFIDELE, LOYAL = "www.pub-infidele.fr", "www.pub-loyal.fr"

IX, DELETED, XANDR, OPENX, GOOGLE, UNDISCLOSED = 10, 13, 32, 69, 755, 4041
GEO = {"lat": 48.856614, "lon": 2.352222, "type": 1}  # Paris, to the metre (GPS)


def _vendor(vid: int, name: str, *, purposes: list[int], leg_int: tuple[int, ...] = (),
            special_features: tuple[int, ...] = (), max_age: int = YEAR, disclosure: str, privacy: str) -> dict:
    """One GVL v3 vendor entry (special purposes 1 and 2, cookies refreshed, one privacy URL in French)."""
    return {"id": vid, "name": name, "purposes": purposes, "legIntPurposes": list(leg_int), "flexiblePurposes": [],
            "specialPurposes": [1, 2], "features": [], "specialFeatures": list(special_features),
            "usesCookies": True, "cookieMaxAgeSeconds": max_age, "cookieRefresh": True, "usesNonCookieAccess": False,
            "deviceStorageDisclosureUrl": disclosure,
            "urls": [{"langId": "fr", "privacy": privacy, "legIntClaim": privacy}],
            "dataRetention": {"stdRetention": 365}, "dataDeclaration": [1, 2, 3, 4]}


# Where each vendor's Device Storage Disclosure is served (host, path), and what it says.
DISCLOSURE_AT = {XANDR: ("acdn.adnxs.com", "/gvl/1d/xandrdevicestoragedisclosures.json"),
                 OPENX: ("www.openx.com", "/device-storage.json"),
                 GOOGLE: ("www.gstatic.com", "/iabtcf/deviceStorageDisclosure.json"),
                 IX: ("cdn.indexww.com", "/device_storage_disclosure.json"),
                 DELETED: ("www.sovrn.com", "/tcf/device-storage-disclosure.json"),
                 UNDISCLOSED: ("www.courtier-discret.fr", "/tcf/disclosure.json")}


def _cookie(name: str, domain: str, max_age: int, purposes: list[int]) -> dict:
    return {"identifier": name, "type": "cookie", "maxAgeSeconds": max_age, "cookieRefresh": True, "domain": domain,
            "purposes": purposes}


DISCLOSURES: dict[int, dict] = {
    # ib.adnxs-simple.com is a Xandr host (mouchard.decode.consent.GVL_VENDORS) its disclosure does not list.
    XANDR: {"disclosures": [_cookie("uuid2", "adnxs.com", YEAR, [1, 2, 3, 4, 7])],
            "domains": [{"domain": "adnxs.com", "use": "Ad serving and bidding"}]},
    OPENX: {"disclosures": [_cookie("i", "openx.net", YEAR, [1, 2, 3, 4, 7])],
            "domains": [{"domain": "openx.net", "use": "Bidding and user sync"}]},
    GOOGLE: {"disclosures": [_cookie("IDE", "doubleclick.net", YEAR, [1, 3, 4])],
             "domains": [{"domain": "doubleclick.net", "use": "Ad serving"}]},
    # CMPRO, which dsum-sec.casalemedia.com/rum/match sets, is not declared.
    IX: {"disclosures": [_cookie("CMID", "casalemedia.com", YEAR, [1, 2, 3, 4, 7])],
         "domains": [{"domain": "casalemedia.com", "use": "User sync"}, {"domain": "indexww.com", "use": "Wrapper"}]},
    DELETED: {"disclosures": [_cookie("ljt_reader", "lijit.com", YEAR, [1, 2, 3, 4])],
              "domains": [{"domain": "lijit.com", "use": "Ad serving and user sync"}]},
    UNDISCLOSED: {"disclosures": [_cookie("cd_id", "courtier-discret.fr", 30 * DAY, [1, 2, 3, 4])],
                  "domains": [{"domain": "courtier-discret.fr", "use": "Sync pixel"}]},
}


def vendor_list(version: int = GVL_VERSION, url: Callable[[str, str], str] | None = None) -> dict:
    """The test web's Global Vendor List (v3 format), `version` GVL_VERSION or CMP_GVL_VERSION. `url(host, path)`
    writes the disclosure and privacy URLs (a request's `url`, so the port is right); by default portless."""
    url = url or (lambda host, path: f"https://{host}{path}")

    def where(vid: int) -> str:
        return url(*DISCLOSURE_AT[vid])

    purposes = {str(i): {"id": i, "name": f"Purpose {i}", "description": "", "illustrations": []} for i in range(1, 12)}
    vendors = [
        _vendor(IX, "Index Exchange Inc.", purposes=[1, 2, 3, 4, 7], disclosure=where(IX),
                privacy=url("www.indexexchange.com", "/privacy")),
        _vendor(XANDR, "Xandr, Inc.", purposes=[1, 2, 3, 4, 7], disclosure=where(XANDR),
                privacy=url("www.xandr.com", "/privacy/")),
        _vendor(OPENX, "OpenX", purposes=[1, 2, 3, 4, 7], special_features=(1,), disclosure=where(OPENX),
                privacy=url("www.openx.com", "/legal/privacy-policy/")),
        _vendor(GOOGLE, "Google Advertising Products", purposes=[1, 3, 4], leg_int=(2, 7), max_age=34190000,
                disclosure=where(GOOGLE), privacy=url("business.safety.google", "/privacy/")),
        _vendor(DELETED, "Sovrn, Inc.", purposes=[1, 2, 3, 4],
                disclosure=where(DELETED), privacy=url("www.sovrn.com", "/privacy-policy/")),
        _vendor(UNDISCLOSED, "Courtier Discret (test web)", purposes=[1, 2, 3, 4], max_age=30 * DAY,
                disclosure=where(UNDISCLOSED), privacy=url("www.courtier-discret.fr", "/confidentialite")),
    ]
    if version == GVL_VERSION:
        next(v for v in vendors if v["id"] == DELETED)["deletedDate"] = DELETED_DATE
    elif version != CMP_GVL_VERSION:
        raise ValueError(f"the test web has vendor lists {CMP_GVL_VERSION} and {GVL_VERSION}, not {version}")
    special = {"1": {"id": 1, "name": "Security", "description": "", "illustrations": []},
               "2": {"id": 2, "name": "Delivery", "description": "", "illustrations": []}}
    features = {"1": {"id": 1, "name": "Match and combine data", "description": "", "illustrations": []}}
    return {"gvlSpecificationVersion": 3, "vendorListVersion": version, "tcfPolicyVersion": 5,
            "lastUpdated": "2026-11-05T16:00:00Z" if version == GVL_VERSION else "2026-10-29T16:00:00Z",
            "purposes": purposes, "specialPurposes": special, "features": features,
            "specialFeatures": {"1": {"id": 1, "name": "Precise geolocation", "description": "", "illustrations": []},
                                "2": {"id": 2, "name": "Device scan", "description": "", "illustrations": []}},
            "stacks": {}, "dataCategories": {}, "vendors": {str(v["id"]): v for v in vendors}}


# --- the registry's hosts ------------------------------------------------------------------------------------------
GVL_SITE = Site("iab global vendor list (test web)", [GVL_HOST], cors=True)


@GVL_SITE.route("/v3/vendor-list.json", ["GET"])
def current_list(req: Request) -> Response:
    return Response.json(vendor_list(GVL_VERSION, req.url), headers=[("Cache-Control", "max-age=600")])


@GVL_SITE.route("/v3/archives/vendor-list-v<version>.json", ["GET"])
def archived_list(req: Request) -> Response:
    version = req.params["version"]
    if not version.isascii() or not version.isdigit() or int(version) not in (CMP_GVL_VERSION, GVL_VERSION):
        return Response.not_found("no such vendor list version")
    return Response.json(vendor_list(int(version), req.url), headers=[("Cache-Control", "max-age=86400")])


def _disclosure_site(vid: int) -> Site:
    """The host serving vendor `vid`'s disclosure, at its path only (two vendors use the same path)."""
    host, path = DISCLOSURE_AT[vid]
    site = Site(f"device storage disclosure of vendor {vid}", [host], cors=True)
    site.add_route(path, lambda req: Response.json(DISCLOSURES[vid], headers=[("Cache-Control", "max-age=3600")]),
                   ["GET"])
    return site


DISCLOSURE_SITES = [_disclosure_site(vid) for vid in DISCLOSURE_AT]

# --- the vendors' endpoints ---------------------------------------------------------------------------------------
GOOGLE_ADS = Site("google ad pixel (vendors lab)", ["ad.doubleclick.net"], cors=True)
INDEX = Site("index exchange sync (vendors lab)", ["dsum-sec.casalemedia.com"], cors=True)
SMALL_VENDORS = Site("cookieless vendor pixels (vendors lab)", ["ap.lijit.com", "sync.courtier-discret.fr"], cors=True)


def _id_cookie(req: Request, name: str, domain: str, max_age: int, prefix: str) -> tuple[str, str]:
    """A vendor's id cookie on `.domain` for `max_age` seconds (kept value when sent back)."""
    value = req.cookies.get(name) or prefix + uuid.uuid4().hex
    return set_cookie(name, value, domain=domain, max_age=max_age, secure=True, same_site="None")


@GOOGLE_ADS.route("/ddm/activity", ["GET"])
def google_activity(req: Request) -> Response:
    """`IDE` for one year, as Google's disclosure declares."""
    return Response.pixel([_id_cookie(req, "IDE", "doubleclick.net", YEAR, "AHWqTU")])


@GOOGLE_ADS.route("/ddm/activity/retargeting", ["GET"])
def google_retargeting(req: Request) -> Response:
    """`IDE` for two years: longer than declared (Chromium keeps 400 days; the header asked for 730)."""
    return Response.pixel([_id_cookie(req, "IDE", "doubleclick.net", 2 * YEAR, "AHWqTU")])


@INDEX.route("/rum", ["GET"])
def index_sync(req: Request) -> Response:
    """`CMID`, declared."""
    return Response.pixel([_id_cookie(req, "CMID", "casalemedia.com", YEAR, "Z")])


@INDEX.route("/rum/match", ["GET"])
def index_match(req: Request) -> Response:
    """`CMID`, and `CMPRO` for 30 days (within the GVL's cookieMaxAgeSeconds) that the disclosure omits."""
    return Response.pixel([_id_cookie(req, "CMID", "casalemedia.com", YEAR, "Z"),
                           _id_cookie(req, "CMPRO", "casalemedia.com", 30 * DAY, "")])


@SMALL_VENDORS.route("/p.gif", ["GET"])
def small_vendor_pixel(req: Request) -> Response:
    """A cookieless pixel: the call itself is what is planted (a deleted or undisclosed vendor contacted)."""
    return Response.pixel()


# --- the publishers ------------------------------------------------------------------------------------------------
PUB_INFIDELE = Site("tcf publisher, vendors beyond their declarations", [INFIDELE])
PUB_LOYAL = Site("tcf publisher, vendors as declared (control)", [LOYAL])
SITES = [GVL_SITE, *DISCLOSURE_SITES, GOOGLE_ADS, INDEX, SMALL_VENDORS, PUB_INFIDELE, PUB_LOYAL]
EXPECTED: dict[str, dict] = {}  # phase-dependent pages: see VENDOR_EXPECTED

UT_BODY = {"tags": [{"uuid": "1a2b3c", "id": 13144370, "sizes": [{"width": 300, "height": 250}],
                     "ad_types": ["banner"], "primary_size": {"width": 300, "height": 250}}],
           "sdk": {"source": "pbjs", "version": "9.0.0"}}

# What each page calls, per choice: ("pixel", host, path) or ("xandr", host) / ("openrtb", host) POSTs.
CALLS: dict[str, dict[str, list[tuple[str, str, str]]]] = {
    INFIDELE: {
        "reject": [("xandr", "ib.adnxs.com", "/ut/v3/prebid")],
        "accept": [("openrtb", "rtb.openx.net", "/openrtbb/prebidjs"),
                   ("pixel", "ad.doubleclick.net", "/ddm/activity/retargeting"),
                   ("pixel", "dsum-sec.casalemedia.com", "/rum/match"),
                   ("xandr", "ib.adnxs-simple.com", "/ut/v3/prebid"),
                   ("pixel", "ap.lijit.com", "/p.gif"),
                   ("pixel", "sync.courtier-discret.fr", "/p.gif")],
    },
    LOYAL: {
        "reject": [],
        "accept": [("openrtb", "rtb.openx.net", "/openrtbb/prebidjs"),
                   ("pixel", "ad.doubleclick.net", "/ddm/activity"),
                   ("pixel", "dsum-sec.casalemedia.com", "/rum"),
                   ("xandr", "ib.adnxs.com", "/ut/v3/prebid")],
    },
}

# The CMP's configuration (consent_tcf.CMP_JS): its vendor list, what it signals besides the defaults, and the
# disclosed-vendors segment TCF 2.2 requires (@iabtcf/core 1.5 leaves it out of service-specific strings).
CMP_CONFIG: dict[str, dict] = {
    INFIDELE: {"cmpId": CMP_ID, "prestore": False, "vendors": [IX, XANDR, OPENX, GOOGLE, DELETED],
               "segments": ["core", "vendorsDisclosed"],
               # no geolocation question: special feature 1 stays off; LI for purpose 4 (forbidden) with Google's bit
               "accept": {"specialFeatureOptins": [], "purposeLegitimateInterests": [2, 4, 7],
                          "vendorLegitimateInterests": [GOOGLE]}},
    LOYAL: {"cmpId": CMP_ID, "prestore": False, "vendors": [IX, XANDR, OPENX, GOOGLE],
            "segments": ["core", "vendorsDisclosed"],
            "accept": {"purposeLegitimateInterests": [2, 7], "vendorLegitimateInterests": [GOOGLE]}},
}

BANNER_FR = (BANNER.replace("We and our 4 partners store and access information on your device (cookies) for "
                            "personalised ads and\n  measurement.",
                            "Nous et nos partenaires stockons des informations sur votre appareil (cookies) pour des "
                            "publicités personnalisées et la mesure d'audience.")
             .replace('aria-label="Cookie consent"', 'aria-label="Consentement aux cookies"')
             .replace(">Accept all<", ">Tout accepter<").replace(">Reject all<", ">Tout refuser<"))

# Runs once a choice is known (a fresh one, or a stored one on a later page); ads are served once per session.
ADS_JS = """
(function () {
  var CALLS = CALLS_JSON, GEO = GEO_JSON, UT = UT_JSON;
  var served = false;
  function openrtb(tcData) {
    return JSON.stringify({id: "auction-" + Date.now(), at: 1, tmax: 1000, cur: ["EUR"],
      imp: [{id: "1", tagid: "ad-top", banner: {format: [{w: 300, h: 250}]}, ext: {openx: {unit: "539439964"}}}],
      site: {domain: location.hostname, page: location.href, publisher: {id: location.hostname}},
      device: {ua: navigator.userAgent, language: "fr", geo: GEO},
      user: {ext: {consent: tcData.tcString}}, regs: {ext: {gdpr: 1}}});
  }
  function call(c, tcData) {
    // The consent travels with every call, as real tags' macros put it (gdpr, gdpr_consent).
    var url = "https://" + c[1] + PORT + c[2] + "?gdpr=1&gdpr_consent=" + encodeURIComponent(tcData.tcString);
    if (c[0] === "pixel") { new Image().src = url; return; }
    var body = c[0] === "openrtb" ? openrtb(tcData) : JSON.stringify(UT);
    fetch(url, {method: "POST", body: body, credentials: "include", headers: {"Content-Type": "text/plain"}})
      .catch(function () {});
  }
  __tcfapi("addEventListener", 2, function (tcData, ok) {
    if (!ok || served || (tcData.eventStatus !== "tcloaded" && tcData.eventStatus !== "useractioncomplete")) return;
    served = true;
    if (sessionStorage.getItem("ads-served")) return;  // frequency capping: once per browsing session
    sessionStorage.setItem("ads-served", "1");
    var accepted = !!(tcData.purpose && tcData.purpose.consents && tcData.purpose.consents[1]);
    (accepted ? CALLS.accept : CALLS.reject).forEach(function (c) { call(c, tcData); });
  });
})();
"""


def _publisher(req: Request, host: str, title: str) -> Response:
    port = "" if req.portless or req.web is None else f":{req.web.https_port}"
    ads = (ADS_JS.replace("PORT", json.dumps(port)).replace("CALLS_JSON", json.dumps(CALLS[host]))
           .replace("GEO_JSON", json.dumps(GEO)).replace("UT_JSON", json.dumps(UT_BODY)))
    cmp = cmp_script(CMP_CONFIG[host], vendor_list(CMP_GVL_VERSION, req.url))
    head = f"{TCF_STUB}\n<script>{ads}</script>"
    body = f"{BANNER_FR}\n<script type=\"module\">{cmp}</script>"
    return page(req, title=title, lang="fr", head=head, body=body)


for _pub in (PUB_INFIDELE, PUB_LOYAL):
    serve_npm(_pub)


@PUB_INFIDELE.route("/", ["GET"])
def pub_infidele(req: Request) -> Response:
    return _publisher(req, INFIDELE, "Le Quotidien Infidèle")


@PUB_LOYAL.route("/", ["GET"])
def pub_loyal(req: Request) -> Response:
    return _publisher(req, LOYAL, "Le Journal Loyal")


# --- what a crawl with `--consent all` records, and what the vendors.* rules find ------------------------------------
def _conduct(hosts: list[str], *, consent: int | None, verdict: str, li: int = 0, purposes: list[int] | None = None,
             **found: object) -> dict:
    """One vendor's expected `vendor_conduct` facts (the columns that do not depend on timing or row ids)."""
    facts = {"hosts": hosts, "consent": consent, "legitimate_interest": li, "tc_string_purposes": purposes,
             "undisclosed_cookies": [], "longer_cookies": [], "undisclosed_domains": [], "purposes_without_basis": [],
             "forbidden_legitimate_interest": [], "precise_geo_without_opt_in": 0, "not_in_cmp_list": 0, "deleted": 0,
             "verdict": verdict}
    unknown = set(found) - set(facts)
    if unknown:
        raise ValueError(f"not a vendor_conduct fact: {sorted(unknown)}")
    return {**facts, **found}


ALL_PURPOSES = list(range(1, 12))
_NOTHING: dict = {"hosts": [], "cookies": [], "bid_requests": [], "tc_string": None, "conduct": {}, "findings": []}


def _tc(purposes: list[int], li: list[int], special: list[int], vendors: list[int], li_vendors: list[int],
        disclosed: list[int]) -> dict:
    return {"vendor_list_version": CMP_GVL_VERSION, "cmp_id": CMP_ID, "purposes_consent": purposes,
            "purposes_li_transparency": li, "special_feature_opt_ins": special, "vendor_consents": vendors,
            "vendor_legitimate_interests": li_vendors, "disclosed_vendors": disclosed}


_INFIDELE_CMP = sorted([IX, XANDR, OPENX, GOOGLE, DELETED])
_LOYAL_CMP = [IX, XANDR, OPENX, GOOGLE]

# Per publisher and phase: the vendor hosts called; third-party cookies (name, domain, requested lifetime in
# days); OpenRTB bid requests (exchange, bidder, device.geo); the TC string every tcf consent row of the visit
# carries after the choice (decoded fields); the vendor_conduct facts per vendor id; and the vendors.* findings
# as (rule id, vendor id, what was planted).
VENDOR_EXPECTED: dict[str, dict[str, dict]] = {
    INFIDELE: {
        "initial": _NOTHING,
        "reject": {
            "hosts": ["ib.adnxs.com"],
            "cookies": [("uuid2", ".adnxs.com", 365.0)],
            "bid_requests": [],
            "tc_string": _tc([], [], [], [], [], _INFIDELE_CMP),
            "conduct": {XANDR: _conduct(["ib.adnxs.com"], consent=0, purposes=[], verdict="without-basis",
                                        purposes_without_basis=[1, 2, 3, 4, 7])},
            "findings": [("vendors.purpose-without-basis", XANDR, [1, 2, 3, 4, 7])],
        },
        "accept": {
            "hosts": sorted(c[1] for c in CALLS[INFIDELE]["accept"]),
            "cookies": [("CMID", ".casalemedia.com", 365.0), ("CMPRO", ".casalemedia.com", 30.0),
                        ("IDE", ".doubleclick.net", 730.0), ("i", ".openx.net", 365.0)],
            "bid_requests": [("rtb.openx.net", "openx", GEO)],
            "tc_string": _tc(ALL_PURPOSES, [2, 4, 7], [], _INFIDELE_CMP, [GOOGLE], _INFIDELE_CMP),
            "conduct": {
                IX: _conduct(["dsum-sec.casalemedia.com"], consent=1, purposes=ALL_PURPOSES, verdict="beyond-declared",
                             undisclosed_cookies=["CMPRO"]),
                XANDR: _conduct(["ib.adnxs-simple.com"], consent=1, purposes=ALL_PURPOSES, verdict="beyond-declared",
                                undisclosed_domains=["ib.adnxs-simple.com"]),
                OPENX: _conduct(["rtb.openx.net"], consent=1, purposes=ALL_PURPOSES, verdict="beyond-declared",
                                precise_geo_without_opt_in=1),
                GOOGLE: _conduct(["ad.doubleclick.net"], consent=1, li=1, purposes=ALL_PURPOSES,
                                 verdict="beyond-declared", forbidden_legitimate_interest=[4],
                                 longer_cookies=[{"name": "IDE", "days": 730.0, "declared_days": 365.0}]),
                # a deleted vendor's disclosure is not fetched (mouchard.vendors.fetch): nothing to compare with
                DELETED: _conduct(["ap.lijit.com"], consent=1, purposes=ALL_PURPOSES, verdict="beyond-declared",
                                  deleted=1, undisclosed_cookies=None, longer_cookies=None,
                                  undisclosed_domains=None),
                UNDISCLOSED: _conduct(["sync.courtier-discret.fr"], consent=0, purposes=ALL_PURPOSES,
                                      verdict="beyond-declared", not_in_cmp_list=1),
            },
            "findings": [("vendors.undisclosed-cookie", IX, ["CMPRO"]),
                         ("vendors.cookie-longer-than-declared", GOOGLE, ["IDE"]),
                         ("vendors.undisclosed-domain", XANDR, ["ib.adnxs-simple.com"]),
                         ("vendors.forbidden-legitimate-interest", GOOGLE, [4]),
                         ("vendors.precise-geo-without-opt-in", OPENX, []),
                         ("vendors.not-in-cmp-list", UNDISCLOSED, []),
                         ("vendors.deleted-vendor-called", DELETED, [])],
        },
    },
    LOYAL: {
        "initial": _NOTHING,
        "reject": {**_NOTHING, "tc_string": _tc([], [], [], [], [], _LOYAL_CMP)},
        "accept": {
            "hosts": sorted(c[1] for c in CALLS[LOYAL]["accept"]),
            "cookies": [("CMID", ".casalemedia.com", 365.0), ("IDE", ".doubleclick.net", 365.0),
                        ("i", ".openx.net", 365.0), ("uuid2", ".adnxs.com", 365.0)],
            "bid_requests": [("rtb.openx.net", "openx", GEO)],  # precise, with special feature 1 opted in
            "tc_string": _tc(ALL_PURPOSES, [2, 7], [1, 2], _LOYAL_CMP, [GOOGLE], _LOYAL_CMP),
            "conduct": {
                IX: _conduct(["dsum-sec.casalemedia.com"], consent=1, purposes=ALL_PURPOSES, verdict="as-declared"),
                XANDR: _conduct(["ib.adnxs.com"], consent=1, purposes=ALL_PURPOSES, verdict="as-declared"),
                OPENX: _conduct(["rtb.openx.net"], consent=1, purposes=ALL_PURPOSES, verdict="as-declared"),
                GOOGLE: _conduct(["ad.doubleclick.net"], consent=1, li=1, purposes=ALL_PURPOSES, verdict="as-declared"),
            },
            "findings": [],
        },
    },
}
