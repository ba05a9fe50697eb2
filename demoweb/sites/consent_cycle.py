"""The whole consent cycle: publishers behind vanilla-cookieconsent 3.1.0 (the npm build, served from
node_modules) for the `revoke` and `second-site` phases (crawler/consent/sequences.py). French texts; "Tout
refuser" is on every first layer.

Withdrawing (revoke phase: accept, reopen, refuse, reload):
- www.retrait-ignore.fr — TRACKING AFTER WITHDRAWAL: gtag is an `analytics` script of the CMP, but the page
  also remembers that the visitor once accepted (a `deja_accepte` cookie) and loads gtag on every later page,
  whatever the visitor chose since. A "Gérer les cookies" footer link reopens the choices.
- www.retrait-respecte.fr — compliant: the same page without the memory; after withdrawing, nothing is loaded.
- www.sans-retour.fr — WITHDRAWAL NOT OFFERED: no link reopens the choices and the CMP's API is not exposed
  (an ES module import, no `window.CookieConsent`): once the banner is gone, consent cannot be withdrawn.

Carrying a refusal to the next site (second-site phase: reject on A, then visit B in the same profile), two
pairs sharing the Meta pixel (its `fr` cookie on facebook.com):
- www.voisin-a.fr then www.voisin-b.fr — RECOGNISED AFTER REJECT: both load the pixel outside the CMP, so after
  "Tout refuser" on A the pixel has set `fr`, and B's pixel request sends it back. Their footer link reopens the
  choices; since the pixel is loaded whatever the choice, both also track after a withdrawal.
- www.partenaire-a.fr then www.partenaire-b.fr — compliant: the pixel is an `ads` script of the CMP; after a
  refusal nothing is set on A and nothing sent from B. No link: the page exposes `window.CookieConsent`, whose
  `showPreferences()` reopens the choices (the API path of the revoke phase).

The crawl order that pairs them: CYCLE_URLS (each site's site A is the next one, cyclically). `EXPECTED` holds
the findings a crawl of CYCLE_URLS with `--revoke --second-site` must give, per rule.
"""

from __future__ import annotations

import json

from demoweb import Request, Response, Site

from .consent_lib import page, serve_npm
from .trackers import TRACKERS

IGNORE = Site("consent cycle: tracking after withdrawal", ["www.retrait-ignore.fr"])
RESPECT = Site("consent cycle: withdrawal respected", ["www.retrait-respecte.fr"])
NO_WAY_BACK = Site("consent cycle: no way to withdraw", ["www.sans-retour.fr"])
VOISIN_B = Site("consent cycle: recognised after reject (B)", ["www.voisin-b.fr"])
VOISIN_A = Site("consent cycle: pixel outside the CMP (A)", ["www.voisin-a.fr"])
PARTENAIRE_B = Site("consent cycle: pixel behind the CMP (B)", ["www.partenaire-b.fr"])
PARTENAIRE_A = Site("consent cycle: pixel behind the CMP (A)", ["www.partenaire-a.fr"])
SITES = [IGNORE, RESPECT, NO_WAY_BACK, VOISIN_B, VOISIN_A, PARTENAIRE_B, PARTENAIRE_A]

# The list order a test crawl uses: site A of each site is the next one (cyclic), so voisin-b.fr comes after
# rejecting on voisin-a.fr, partenaire-b.fr after partenaire-a.fr.
CYCLE_URLS = [f"https://{site.hosts[0]}/" for site in SITES]

GOOGLE_HITS = ["stats.g.doubleclick.net", "www.google-analytics.com"]
META_HITS = ["connect.facebook.net", "www.facebook.com"]

# Findings per rule, by subject (the site): what a crawl of CYCLE_URLS with --revoke --second-site must give.
EXPECTED: dict[str, dict] = {}  # phase-dependent pages: kept out of the one-phase recall tests
CYCLE_EXPECTED: dict[str, dict] = {
    "consent.tracking-after-withdrawal": {
        "retrait-ignore.fr": {"companies": ["Google"], "hosts": GOOGLE_HITS},
        "voisin-a.fr": {"companies": ["Meta"], "hosts": META_HITS},
        "voisin-b.fr": {"companies": ["Meta"], "hosts": META_HITS},
    },
    "consent.withdrawal-not-offered": {"sans-retour.fr": {}},
    "consent.recognised-after-reject": {
        "voisin-b.fr": {"companies": ["Meta"], "cookies": ["fr (facebook.com)"], "site_a": "voisin-a.fr"},
    },
}
# How each site's consent UI is reopened in the revoke phase (steps[reopen].method).
REOPEN_METHOD = {"retrait-ignore.fr": "link", "retrait-respecte.fr": "link", "sans-retour.fr": None,
                 "voisin-b.fr": "link", "voisin-a.fr": "link", "partenaire-b.fr": "api", "partenaire-a.fr": "api"}

CONFIG = {
    "guiOptions": {"consentModal": {"layout": "box", "position": "bottom right"}},
    "categories": {"necessary": {"enabled": True, "readOnly": True}, "analytics": {}, "ads": {}},
    "language": {"default": "fr", "translations": {"fr": {
        "consentModal": {"title": "Nous utilisons des cookies",
                         "description": "Nous et nos partenaires utilisons des cookies pour la mesure d'audience "
                                        "et la publicité.",
                         "acceptAllBtn": "Tout accepter", "acceptNecessaryBtn": "Tout refuser",
                         "showPreferencesBtn": "Personnaliser"},
        "preferencesModal": {"title": "Préférences cookies", "acceptAllBtn": "Tout accepter",
                             "acceptNecessaryBtn": "Tout refuser", "savePreferencesBtn": "Enregistrer",
                             "sections": [{"title": "Mesure d'audience", "description": "Statistiques de visite.",
                                           "linkedCategory": "analytics"},
                                          {"title": "Publicité", "description": "Publicité ciblée.",
                                           "linkedCategory": "ads"}]}}}},
}
LINK = '<footer><p><a href="#" data-cc="show-preferencesModal">Gérer les cookies</a></p></footer>'


def _tracker_url(req: Request, name: str) -> str:
    tracker = TRACKERS[name]
    return req.url(tracker.host, tracker.script)


def _page(req: Request, title: str, *, link: bool, expose: bool, tags: str, remember: bool = False) -> Response:
    config = dict(CONFIG)
    script = ['import * as CookieConsent from "/npm/vanilla-cookieconsent/dist/cookieconsent.esm.js";']
    if expose:
        script.append("window.CookieConsent = CookieConsent;")
    if remember:
        # planted: the first consent is remembered in a cookie of the site's own, and honoured for ever
        script.append("const config = " + json.dumps(config) + ";")
        script.append("config.onConsent = ({cookie}) => { if ((cookie.categories || []).includes('analytics')) "
                      "document.cookie = 'deja_accepte=1; max-age=31536000; path=/; Secure; SameSite=Lax'; };")
        script.append("CookieConsent.run(config);")
    else:
        script.append(f"CookieConsent.run({json.dumps(config)});")
    head = ('<link rel="stylesheet" href="/npm/vanilla-cookieconsent/dist/cookieconsent.css">\n'
            '<script type="module">\n' + "\n".join(script) + "\n</script>\n" + tags)
    if remember:
        gtag = json.dumps(_tracker_url(req, "gtag"))
        head += ("\n<script>if (document.cookie.split('; ').includes('deja_accepte=1')) {"
                 f" const s = document.createElement('script'); s.async = true; s.src = {gtag};"
                 " document.head.appendChild(s); }</script>")
    return page(req, title=title, lang="fr", head=head, body=LINK if link else "")


def _gtag_behind_cmp(req: Request) -> str:
    return (f'<script type="text/plain" data-category="analytics" data-service="gtag" '
            f'src="{_tracker_url(req, "gtag")}"></script>')


def _pixel_behind_cmp(req: Request) -> str:
    return (f'<script type="text/plain" data-category="ads" data-service="meta" '
            f'src="{_tracker_url(req, "meta-pixel")}"></script>')


def _pixel_always(req: Request) -> str:
    return ('<!-- planted: the pixel outside the CMP -->\n'
            f'<script async src="{_tracker_url(req, "meta-pixel")}"></script>')


for _site in SITES:
    serve_npm(_site)


@IGNORE.route("/", ["GET"])
def ignore_home(req: Request) -> Response:
    return _page(req, "Retrait ignoré", link=True, expose=False, tags=_gtag_behind_cmp(req), remember=True)


@RESPECT.route("/", ["GET"])
def respect_home(req: Request) -> Response:
    return _page(req, "Retrait respecté", link=True, expose=False, tags=_gtag_behind_cmp(req))


@NO_WAY_BACK.route("/", ["GET"])
def no_way_back_home(req: Request) -> Response:
    return _page(req, "Sans retour", link=False, expose=False, tags=_gtag_behind_cmp(req))


@VOISIN_A.route("/", ["GET"])
def voisin_a_home(req: Request) -> Response:
    return _page(req, "Le Voisin A", link=True, expose=False, tags=_pixel_always(req))


@VOISIN_B.route("/", ["GET"])
def voisin_b_home(req: Request) -> Response:
    return _page(req, "Le Voisin B", link=True, expose=False, tags=_pixel_always(req))


@PARTENAIRE_A.route("/", ["GET"])
def partenaire_a_home(req: Request) -> Response:
    return _page(req, "Partenaire A", link=False, expose=True, tags=_pixel_behind_cmp(req))


@PARTENAIRE_B.route("/", ["GET"])
def partenaire_b_home(req: Request) -> Response:
    return _page(req, "Partenaire B", link=False, expose=True, tags=_pixel_behind_cmp(req))
