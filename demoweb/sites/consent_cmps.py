"""Publishers behind real consent banners, one CMP library each, served from the repository's node_modules.

- www.journal-exemple.fr — tarteaucitron.js (French texts). Plants TRACKING BEFORE CONSENT and TRACKING AFTER
  REJECT: Google's gtag is in the page unconditionally (it sets _ga cookies and sends hits in every phase). The
  Meta pixel is a tarteaucitron service and loads only after "Tout accepter". "Tout refuser" is on the first layer.
- www.klaro-beispiel.de — klaro (German texts). Compliant: gtag is a klaro service (`type="text/plain"`, runs
  only after consent); "Ich lehne ab" is on the first layer.
- www.cookie-example.com — vanilla-cookieconsent v3. Plants NO REJECT ON THE FIRST LAYER: the first layer offers
  "Accept all" and "Manage preferences"; "Reject all" is only in the preferences. gtag runs only after consent.
`CONSENT_EXPECTED` says, per page, what a crawl must find in each phase.
"""

from __future__ import annotations

import json

from demoweb import Request, Response, Site

from .consent_lib import page, serve_npm
from .trackers import TRACKERS

TARTE = Site("tarteaucitron publisher", ["www.journal-exemple.fr"])
KLARO = Site("klaro publisher", ["www.klaro-beispiel.de"])
VANILLA = Site("vanilla-cookieconsent publisher", ["www.cookie-example.com"])
SITES = [TARTE, KLARO, VANILLA]
EXPECTED: dict[str, dict] = {}  # phase-dependent pages: see CONSENT_EXPECTED (kept out of the one-phase recall tests)

GTAG_HITS = ["www.google-analytics.com", "stats.g.doubleclick.net"]
META_HITS = ["www.facebook.com"]

CONSENT_EXPECTED: dict[str, dict] = {
    "www.journal-exemple.fr/": {
        "cmp": "tarteaucitron", "consent_cookie": "tarteaucitron", "reject_first_layer": True,
        "before_consent_hosts": GTAG_HITS, "after_reject_hosts": GTAG_HITS, "after_accept_hosts": META_HITS,
        "before_consent_cookies": ["_ga"], "violations": ["tracking-before-consent", "tracking-after-reject"],
    },
    "www.klaro-beispiel.de/": {
        "cmp": "klaro", "consent_cookie": "klaro", "reject_first_layer": True,
        "before_consent_hosts": [], "after_reject_hosts": [], "after_accept_hosts": GTAG_HITS,
        "before_consent_cookies": [], "violations": [],
    },
    "www.cookie-example.com/": {
        "cmp": "vanilla-cookieconsent", "consent_cookie": "cc_cookie", "reject_first_layer": False,
        "before_consent_hosts": [], "after_reject_hosts": [], "after_accept_hosts": GTAG_HITS,
        "before_consent_cookies": [], "violations": ["no-reject-on-first-layer"],
    },
}


def _tracker_url(req: Request, name: str) -> str:
    tracker = TRACKERS[name]
    return req.url(tracker.host, tracker.script)


for _site in SITES:
    serve_npm(_site)


@TARTE.route("/", ["GET"])
def tarte_home(req: Request) -> Response:
    config = {"privacyUrl": "/confidentialite", "hashtag": "#tarteaucitron", "cookieName": "tarteaucitron",
              "orientation": "middle", "showAlertSmall": False, "cookieslist": False, "removeCredit": True,
              "DenyAllCta": True, "AcceptAllCta": True, "highPrivacy": True, "handleBrowserDNTRequest": False,
              "mandatory": True, "useExternalCss": False, "showIcon": False}
    head = f"""<script>var tarteaucitronForceLanguage = 'fr';</script>
<script src="/npm/tarteaucitronjs/tarteaucitron.js"></script>
<script>
tarteaucitron.init({json.dumps(config)});
tarteaucitron.services.metapixel = {{
  key: "metapixel", type: "ads", name: "Meta Pixel", uri: "https://www.facebook.com/privacy/policy/",
  needConsent: true, cookies: ["_fbp"],
  js: function () {{ tarteaucitron.addScript({json.dumps(_tracker_url(req, "meta-pixel"))}); }}
}};
(tarteaucitron.job = tarteaucitron.job || []).push("metapixel");
</script>
<!-- planted: analytics outside the CMP, in every phase -->
<script async src="{_tracker_url(req, "gtag")}"></script>"""
    return page(req, title="Le Journal Exemple", lang="fr", head=head)


KLARO_CONFIG = {
    "version": 1, "elementID": "klaro", "storageMethod": "cookie", "cookieName": "klaro",
    "cookieExpiresAfterDays": 365, "default": False, "mustConsent": False, "acceptAll": True,
    "hideDeclineAll": False, "hideLearnMore": False, "noticeAsModal": False, "lang": "de",
    "services": [{"name": "googleAnalytics", "title": "Google Analytics", "purposes": ["analytics"],
                  "cookies": ["^_ga"], "required": False, "default": False, "optOut": False}],
    "translations": {"de": {"purposes": {"analytics": "Statistik"},
                            "googleAnalytics": {"description": "Besucherstatistik"}}},
}


@KLARO.route("/", ["GET"])
def klaro_home(req: Request) -> Response:
    head = f"""<script>var klaroConfig = {json.dumps(KLARO_CONFIG)};</script>
<script defer src="/npm/klaro/dist/klaro.js"></script>
<script type="text/plain" data-type="application/javascript" data-name="googleAnalytics"
        data-src="{_tracker_url(req, "gtag")}"></script>"""
    return page(req, title="Beispiel Zeitung", lang="de", head=head)


VANILLA_CONFIG = {
    "guiOptions": {"consentModal": {"layout": "box", "position": "bottom right"}},
    "categories": {"necessary": {"enabled": True, "readOnly": True}, "analytics": {}},
    "language": {"default": "en", "translations": {"en": {
        # planted: no acceptNecessaryBtn here, so the first layer has no way to refuse
        "consentModal": {"title": "We use cookies", "description": "We and our partners use cookies for analytics.",
                         "acceptAllBtn": "Accept all", "showPreferencesBtn": "Manage preferences"},
        "preferencesModal": {"title": "Cookie preferences", "acceptAllBtn": "Accept all",
                             "acceptNecessaryBtn": "Reject all", "savePreferencesBtn": "Save preferences",
                             "sections": [{"title": "Analytics", "description": "Audience measurement.",
                                           "linkedCategory": "analytics"}]}}}},
}


@VANILLA.route("/", ["GET"])
def vanilla_home(req: Request) -> Response:
    head = f"""<link rel="stylesheet" href="/npm/vanilla-cookieconsent/dist/cookieconsent.css">
<script type="module">
import * as CookieConsent from "/npm/vanilla-cookieconsent/dist/cookieconsent.esm.js";
CookieConsent.run({json.dumps(VANILLA_CONFIG)});
</script>
<script type="text/plain" data-category="analytics" data-service="gtag" src="{_tracker_url(req, "gtag")}"></script>"""
    return page(req, title="Cookie Example", lang="en", head=head)
