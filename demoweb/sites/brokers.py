"""Data brokers' own sites: rights pages hidden from search engines by each signal, clean ones, redirects, dead
links, a bot wall, a page on a third-party privacy portal, a French broker, and a registered rights URL with a typo
host (`www.app.`) that the crawl repairs.

`BROKERS` lists each broker as a registry (or a journalist's list) would — name, website, country, registered
rights page — with the verdict the crawl must reach for every page, keyed by `host/path` (the URL after
redirects). It is not `EXPECTED`: these pages plant no trackers, so browser recall tests must not visit them.
`POLICY_VERSION` changes what a policy page says, for the "policy changed" check between two crawls.
"""

from __future__ import annotations

from demoweb import Request, Response, Site

POLICY_VERSION = {"www.clearlist-data.com": 1}

# name, website, country, rights_url (as registered; None on a journalist's list), notes,
# pages: {host/path: {kind, hidden, reasons, status, hosted_by}}, gpc: statement's verdict, findings: rule ids.
BROKERS: list[dict] = [
    {"name": "Clear List Data, Inc.", "website": "https://www.clearlist-data.com/", "country": "USA",
     "rights_url": "https://www.clearlist-data.com/do-not-sell", "gpc": "true", "findings": [],
     "pages": {
         "www.clearlist-data.com/": {"kind": "home", "hidden": False},
         "www.clearlist-data.com/privacy": {"kind": "policy", "hidden": False, "clicks": 1},
         "www.clearlist-data.com/do-not-sell": {"kind": "opt-out", "hidden": False, "clicks": 1},
         "www.clearlist-data.com/delete": {"kind": "deletion", "hidden": False, "clicks": 1},
         "www.clearlist-data.com/access": {"kind": "access", "hidden": False, "clicks": 1},
     }},
    {"name": "Hush Meta Data LLC", "website": "https://www.hushmeta-data.com/", "country": "USA",
     "rights_url": "https://www.hushmeta-data.com/privacy-choices", "gpc": "missing",
     "findings": ["brokers.hidden-opt-out-page", "brokers.no-gpc-support"],
     "pages": {
         "www.hushmeta-data.com/privacy-choices": {"kind": "opt-out", "hidden": True, "reasons": ["meta-raw"]},
         "www.hushmeta-data.com/privacy-notice": {"kind": "policy", "hidden": False},
         "www.hushmeta-data.com/delete-request": {"kind": "deletion", "hidden": True, "reasons": ["meta-raw"]},
     }},
    {"name": "Script Veil Data Corp.", "website": "https://www.scriptveil-data.com/", "country": "USA",
     "rights_url": "https://www.scriptveil-data.com/opt-out", "gpc": "invalid",
     "findings": ["brokers.hidden-opt-out-page", "brokers.no-gpc-support"],
     "pages": {
         "www.scriptveil-data.com/opt-out": {"kind": "opt-out", "hidden": True, "reasons": ["meta-rendered"]},
         "www.scriptveil-data.com/privacy-policy": {"kind": "policy", "hidden": False},
     }},
    {"name": "Header Hide Data, Inc.", "website": "https://www.headerhide-data.com/", "country": "USA",
     "rights_url": "https://www.headerhide-data.com/do-not-sell", "gpc": "missing",
     "findings": ["brokers.hidden-opt-out-page", "brokers.no-gpc-support"],
     "pages": {
         "www.headerhide-data.com/do-not-sell": {"kind": "opt-out", "hidden": True, "reasons": ["x-robots-tag"]},
         "www.headerhide-data.com/privacy": {"kind": "policy", "hidden": False},
     }},
    {"name": "Robots Block Data LLC", "website": "https://www.robotsblock-data.com/", "country": "USA",
     "rights_url": "https://www.robotsblock-data.com/optout", "gpc": "missing",
     "findings": ["brokers.hidden-opt-out-page", "brokers.no-gpc-support"],
     "pages": {
         "www.robotsblock-data.com/optout": {"kind": "opt-out", "hidden": True, "reasons": ["robots-txt"]},
         "www.robotsblock-data.com/privacy": {"kind": "policy", "hidden": False},
     }},
    {"name": "Hop Skip Data Co.", "website": "https://www.hopskip-data.com/", "country": "USA",
     "rights_url": "https://www.hopskip-data.com/ccpa", "gpc": "missing", "findings": ["brokers.no-gpc-support"],
     "pages": {
         "hopskip-data.com/": {"kind": "home", "hidden": False,
                               "redirects": ["www.hopskip-data.com/", "hopskip-data.com/"]},
         "privacy.hopskip-data.com/requests/form": {
             "kind": "rights", "hidden": False,
             "redirects": ["www.hopskip-data.com/ccpa", "privacy.hopskip-data.com/requests",
                           "privacy.hopskip-data.com/requests/form"]},
     }},
    {"name": "Gone Fishing Data LLC", "website": "https://www.gonefishing-data.com/", "country": "USA",
     "rights_url": "https://www.gonefishing-data.com/privacy/optout", "gpc": "missing",
     "findings": ["brokers.dead-rights-link", "brokers.no-gpc-support"],
     "pages": {
         "www.gonefishing-data.com/privacy/optout": {"kind": "rights", "hidden": False, "status": "not-found"},
         "www.gonefishing-data.com/removal": {"kind": "deletion", "hidden": False, "status": "not-found"},
         "www.gonefishing-data.com/privacy": {"kind": "policy", "hidden": False},
     }},
    # The registrant typed "www." in front of a subdomain (Monevo and Fideo did in The Markup's 2025 data): no site
    # answers there; the crawl repairs the URL by its spelling (crawler/brokers/repair.py).
    {"name": "Typo Host Data Inc.", "website": "https://www.typohost-data.com/", "country": "USA",
     "rights_url": "https://www.app.typohost-data.com/your-privacy-choices", "gpc": "missing",
     "findings": ["brokers.dead-rights-link", "brokers.hidden-opt-out-page", "brokers.no-gpc-support"],
     "pages": {
         "www.app.typohost-data.com/your-privacy-choices": {"kind": "rights", "hidden": False,
                                                            "status": "not-found"},
         "app.typohost-data.com/your-privacy-choices": {"kind": "rights", "hidden": True, "reasons": ["meta-raw"]},
         "www.typohost-data.com/": {"kind": "home", "hidden": False},
     }},
    {"name": "Gatekeep Data, Inc.", "website": "https://www.gatekeep-data.com/", "country": "USA",
     "rights_url": "https://www.gatekeep-data.com/privacy-request", "gpc": None, "findings": [],
     "pages": {
         "www.gatekeep-data.com/": {"kind": "home", "hidden": False, "status": "bot-wall"},
         "www.gatekeep-data.com/privacy-request": {"kind": "rights", "hidden": False, "status": "bot-wall"},
     }},
    {"name": "Outsourced Data LLC", "website": "https://www.outsourced-data.com/", "country": "USA",
     "rights_url": "https://privacyportal.onetrust.com/webform/0a1b2c3d/4e5f6a7b", "gpc": "missing",
     "findings": ["brokers.no-gpc-support"],
     "pages": {
         "privacyportal.onetrust.com/webform/0a1b2c3d/4e5f6a7b": {
             "kind": "rights", "hidden": True, "reasons": ["meta-raw"], "hosted_by": "OneTrust"},
     }},
    {"name": "Courtier Données SAS", "website": "https://www.courtier-donnees.fr/", "country": "France",
     "rights_url": None, "gpc": "false", "notes": "Filiale de données d'un groupe postal (exemple inventé).",
     "findings": ["brokers.hidden-opt-out-page", "brokers.no-gpc-support"],
     "pages": {
         "www.courtier-donnees.fr/politique-de-confidentialite": {"kind": "policy", "hidden": False, "clicks": 1},
         "www.courtier-donnees.fr/vos-droits": {"kind": "rights", "hidden": False, "clicks": 1},
         "www.courtier-donnees.fr/opposition": {"kind": "opt-out", "hidden": True, "reasons": ["x-robots-tag"],
                                                "clicks": 1},
         "www.courtier-donnees.fr/suppression-de-vos-donnees": {"kind": "deletion", "hidden": False, "clicks": 2},
     }},
]


def _page(title: str, body: str, head: str = "", lang: str = "en") -> str:
    return (f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title>{head}</head>'
            f"<body>{body}</body></html>")


def _gpc(value) -> Response:
    return Response.json({"gpc": value, "lastUpdate": "2025-01-15"})


def _robots(text: str) -> Response:
    return Response.text(text)


# --- Clear List: everything findable, nothing hidden, GPC supported ------------------------------------------
CLEAR = Site("broker clear", ["www.clearlist-data.com"])


@CLEAR.route("/")
def clear_home(req: Request) -> str:
    return _page("Clear List Data", '<h1>Clear List Data</h1><footer><a href="/privacy">Privacy Policy</a> '
                 '<a href="/do-not-sell">Do Not Sell or Share My Personal Information</a> '
                 '<a href="/delete">Delete my data</a> <a href="/access">Right to know</a> '
                 '<a href="/about">About us</a></footer>')


@CLEAR.route("/privacy")
def clear_policy(req: Request) -> str:
    version = POLICY_VERSION["www.clearlist-data.com"]
    extra = " We now also sell inferred household income to marketers." if version > 1 else ""
    return _page("Privacy Policy", f"<h1>Privacy Policy (version {version})</h1>"
                 f"<p>We collect names and addresses from public records.{extra}</p>")


@CLEAR.route("/do-not-sell")
def clear_opt_out(req: Request) -> str:
    return _page("Do Not Sell", "<h1>Do not sell or share my personal information</h1><form></form>")


@CLEAR.route("/delete")
def clear_delete(req: Request) -> str:
    return _page("Delete", "<h1>Request deletion</h1><form></form>")


@CLEAR.route("/access")
def clear_access(req: Request) -> str:
    return _page("Access", "<h1>Request to know</h1><form></form>")


@CLEAR.route("/about")
def clear_about(req: Request) -> str:
    return _page("About", "<h1>About</h1>")


CLEAR.add_route("/.well-known/gpc.json", lambda req: _gpc(True))
CLEAR.add_route("/robots.txt", lambda req: _robots("User-agent: *\nDisallow: /admin/\n"))

# --- Hush Meta: robots meta tags in the served HTML ---------------------------------------------------------------
HUSH = Site("broker meta raw", ["www.hushmeta-data.com"])
HUSH.add_route("/", lambda req: _page("Hush Meta Data", '<a href="/privacy-notice">Privacy Notice</a> '
                                      '<a href="/privacy-choices">Your Privacy Choices</a> '
                                      '<a href="/delete-request">Request deletion</a>'))
HUSH.add_route("/privacy-choices", lambda req: _page(
    "Your Privacy Choices", "<h1>Opt out</h1><form></form>", '<meta name="robots" content="noindex, nofollow">'))
HUSH.add_route("/delete-request", lambda req: _page(
    "Deletion", "<h1>Delete</h1><form></form>", '<meta name="GoogleBot" content="NOINDEX">'))
HUSH.add_route("/privacy-notice", lambda req: _page(
    "Privacy Notice", "<h1>Privacy Notice</h1>", '<meta name="robots" content="index, follow">'))

# --- Script Veil: the noindex tag only exists after a script ran --------------------------------------------
VEIL = Site("broker meta by script", ["www.scriptveil-data.com"])
VEIL.add_route("/", lambda req: _page("Script Veil", '<a href="/privacy-policy">Privacy Policy</a> '
                                      '<a href="/opt-out">Do Not Sell My Info</a>'))
VEIL.add_route("/opt-out", lambda req: _page(
    "Opt out", "<h1>Opt out</h1><form></form><script>var m = document.createElement('meta'); m.name = 'robots'; "
    "m.content = 'noindex'; document.head.appendChild(m);</script>"))
VEIL.add_route("/privacy-policy", lambda req: _page(
    "Privacy Policy", "<h1>Privacy Policy</h1><script>document.title = 'Privacy Policy | Script Veil';</script>"))
VEIL.add_route("/.well-known/gpc.json", lambda req: Response(200, [("Content-Type", "application/json")],
                                                              "{gpc: yes}"))

# --- Header Hide: X-Robots-Tag, agent-prefixed ------------------------------------------------------------------
HEADER = Site("broker x-robots-tag", ["www.headerhide-data.com"])
HEADER.add_route("/", lambda req: _page("Header Hide", '<a href="/privacy">Privacy</a> '
                                        '<a href="/do-not-sell">Do Not Sell</a>'))
HEADER.add_route("/do-not-sell", lambda req: Response.html(
    _page("Do Not Sell", "<h1>Opt out</h1>"),
    headers=[("X-Robots-Tag", "googlebot: noindex, nofollow"), ("X-Robots-Tag", "max-snippet: 50")]))
HEADER.add_route("/privacy", lambda req: Response.html(
    _page("Privacy", "<h1>Privacy</h1>"), headers=[("X-Robots-Tag", "otherbot: noindex")]))

# --- Robots Block: robots.txt keeps Bingbot off the opt-out page -------------------------------------------------
ROBOTS = Site("broker robots.txt", ["www.robotsblock-data.com"])
ROBOTS.add_route("/", lambda req: _page("Robots Block", '<a href="/privacy">Privacy</a> <a href="/optout">Opt-out</a>'))
ROBOTS.add_route("/optout", lambda req: _page("Opt out", "<h1>Opt out</h1>"))
ROBOTS.add_route("/privacy", lambda req: _page("Privacy", "<h1>Privacy</h1>"))
ROBOTS.add_route("/robots.txt", lambda req: _robots("User-agent: Bingbot\nDisallow: /optout\n\nUser-agent: *\n"
                                                    "Allow: /\n"))

# --- Hop Skip: redirects, across hosts ------------------------------------------------------------------------
HOP = Site("broker redirects", ["www.hopskip-data.com", "hopskip-data.com", "privacy.hopskip-data.com"])


@HOP.route("/")
def hop_home(req: Request) -> Response | str:
    if req.host == "www.hopskip-data.com":
        return Response.redirect(req.url("hopskip-data.com", "/"), 301)
    return _page("Hop Skip", '<a href="/about">About</a>')


@HOP.route("/ccpa")
def hop_ccpa(req: Request) -> Response:
    return Response.redirect(req.url("privacy.hopskip-data.com", "/requests"), 301)


@HOP.route("/requests")
def hop_requests(req: Request) -> Response:
    return Response.redirect("/requests/form", 302)


@HOP.route("/requests/form")
def hop_form(req: Request) -> str:
    return _page("Privacy requests", "<h1>Submit a privacy request</h1><form></form>")


# --- Gone Fishing: dead rights links ----------------------------------------------------------------------------
GONE = Site("broker dead links", ["www.gonefishing-data.com"])
GONE.add_route("/", lambda req: _page("Gone Fishing", '<a href="/privacy">Privacy Policy</a> '
                                      '<a href="/removal">Delete My Information</a>'))
GONE.add_route("/privacy", lambda req: _page("Privacy", "<h1>Privacy</h1>"))
GONE.add_route("/removal", lambda req: Response.html(_page("Gone", "<h1>Gone</h1>"), status=410))

# --- Typo Host: the registered rights URL's host has a "www." too many --------------------------------------------
TYPO = Site("broker typo host", ["www.typohost-data.com", "app.typohost-data.com"])
TYPO.add_route("/", lambda req: _page("Typo Host", "<h1>Typo Host Data</h1><a href='/about'>About us</a>"))
TYPO.add_route("/about", lambda req: _page("About", "<h1>About</h1>"))
TYPO.add_route("/your-privacy-choices", lambda req: Response.html(_page(
    "Your Privacy Choices", "<h1>Your Privacy Choices</h1><p>Opt out of the sale of your data.</p>",
    head='<meta name="robots" content="noindex, nofollow">') if req.host == "app.typohost-data.com"
    else _page("Not found", "<h1>Not found</h1>"), status=200 if req.host == "app.typohost-data.com" else 404))

# --- Gatekeep: a bot wall answers every page ---------------------------------------------------------------------
GATE = Site("broker bot wall", ["www.gatekeep-data.com"])
GATE.add_route("/*", lambda req: Response.html(
    _page("Just a moment...", "<h1>Checking your browser</h1><div id='challenge-platform'></div>"),
    status=403, headers=[("cf-mitigated", "challenge"), ("Server", "cloudflare")]))

# --- Outsourced: the rights page lives on a privacy-portal service ------------------------------------------
OUT = Site("broker on a privacy portal", ["www.outsourced-data.com", "privacyportal.onetrust.com"])


@OUT.route("/")
def out_home(req: Request) -> str:
    return _page("Outsourced Data", req.render(
        '<a href="{{https://privacyportal.onetrust.com/webform/0a1b2c3d/4e5f6a7b}}">Do Not Sell</a>'))


@OUT.route("/webform/0a1b2c3d/4e5f6a7b")
def out_form(req: Request) -> str:
    return _page("Privacy Request", "<h1>Submit a request</h1>", '<meta name="robots" content="noindex">')


# --- Courtier Données: a French broker ------------------------------------------------------------------------
FR = Site("broker french", ["www.courtier-donnees.fr"])
FR.add_route("/", lambda req: _page(
    "Courtier Données", "<h1>Courtier Données</h1><footer><a href='/politique-de-confidentialite'>Politique de "
    "confidentialité</a> · <a href='/vos-droits'>Vos droits</a> · <a href='/opposition'>Opposition</a> · "
    "<a href='/mentions-legales'>Mentions légales</a></footer>", lang="fr"))
FR.add_route("/politique-de-confidentialite", lambda req: _page(
    "Politique de confidentialité", "<h1>Politique de confidentialité</h1><p>Nous traitons vos données "
    "personnelles.</p><a href='/suppression-de-vos-donnees'>Suppression de vos données</a>", lang="fr"))
FR.add_route("/vos-droits", lambda req: _page("Vos droits", "<h1>Exercer vos droits (RGPD)</h1>", lang="fr"))
FR.add_route("/opposition", lambda req: Response.html(
    _page("Opposition", "<h1>Droit d'opposition</h1>", lang="fr"), headers=[("X-Robots-Tag", "noindex")]))
FR.add_route("/suppression-de-vos-donnees", lambda req: _page(
    "Suppression", "<h1>Suppression de vos données</h1>", lang="fr"))
FR.add_route("/mentions-legales", lambda req: _page("Mentions légales", "<h1>Mentions légales</h1>", lang="fr"))
FR.add_route("/.well-known/gpc.json", lambda req: _gpc(False))

SITES = [CLEAR, HUSH, VEIL, HEADER, ROBOTS, HOP, GONE, TYPO, GATE, OUT, FR]


def list_csv(url=lambda u: u) -> str:
    """The brokers as a journalist's list (name, website, country, notes, rights_url); `url` maps each URL
    (e.g. to add the test web's port)."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["name", "website", "country", "notes", "rights_url"])
    for broker in BROKERS:
        writer.writerow([broker["name"], url(broker["website"]), broker["country"], broker.get("notes", ""),
                         url(broker["rights_url"]) if broker["rights_url"] else ""])
    return out.getvalue()
