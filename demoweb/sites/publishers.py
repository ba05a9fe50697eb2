"""Publishers (first parties) on real public suffixes, each embedding a realistic mix of trackers.

- www.example-news.fr (news, .fr): 6 tracker scripts reaching 14 third-party hosts: sendBeacon (GA4), fetch
  (Segment), XHR (Hotjar), image pixels (Meta, Taboola), an ad iframe (GPT) with a cookie-sync redirect chain;
  two first-party cookies in one response (repeated Set-Cookie).
- www.daily-example.co.uk (news, .co.uk), shop.example-store.com (shop), blog.example-user.github.io (a blog
  on a private suffix: its site is example-user.github.io), www.example-campaign.org (a political campaign),
  www.clean-example.org (no third party at all).
Every publisher serves `/`, `/privacy`, `/static/site.css`; news and blog `/article/<n>`, the shop
`/product/<n>`, the campaign `/donate`. Article and product pages plant the same trackers as `/`.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from demoweb import Request, Response, Site, set_cookie

from ._facts import merge
from .adtech import AD_FRAME_FACTS
from .trackers import TRACKERS, YEAR, planted


@dataclass(frozen=True)
class Publisher:
    host: str
    name: str
    lang: str
    kind: str  # news, shop, blog, campaign, clean
    trackers: tuple[str, ...] = ()
    header_cookies: tuple[tuple[str, str, bool], ...] = ()  # (name, value, HttpOnly) set on `/`
    discloses: tuple[str, ...] = ()  # entities the privacy page names (the others go undisclosed)


PUBLISHERS = [
    Publisher("www.example-news.fr", "Example News", "fr", "news",
              ("gtag", "meta-pixel", "hotjar", "segment", "gpt", "taboola"),
              (("session_id", "s-7f3a9c2e41", True), ("pref_lang", "fr", False)),
              discloses=("Google", "Meta")),
    Publisher("www.daily-example.co.uk", "The Daily Example", "en-GB", "news",
              ("analytics.js", "crazyegg", "taboola", "bing-uet", "gpt"),
              (("dm_session", "d-19b2c7", True),), discloses=("Google", "Microsoft", "Taboola", "Crazy Egg")),
    Publisher("shop.example-store.com", "Example Store", "en", "shop",
              ("gtag", "meta-pixel", "segment", "fullstory", "bing-uet", "linkedin-insight"),
              (("cart", "c-0", False), ("currency", "EUR", False)), discloses=("Google",)),
    Publisher("blog.example-user.github.io", "Example User's blog", "en", "blog", ("gtag",), discloses=("Google",)),
    Publisher("www.example-campaign.org", "Example for Council", "en", "campaign",
              ("meta-pixel", "gtag", "bing-uet", "twitter-uwt")),
    Publisher("www.clean-example.org", "Clean Example", "en", "clean"),
]

PRIVACY_LABEL = {"fr": "Politique de confidentialité"}
CSS = "body{font:16px/1.5 sans-serif;max-width:48rem;margin:auto;padding:1rem}header{display:flex;gap:1rem}"
PARAGRAPH = ("Lorem ipsum dolor sit amet, consectetur adipiscing elit. Integer vitae ligula sed nibh volutpat "
             "viverra. Suspendisse potenti. Aliquam erat volutpat, sed tempus nunc at justo posuere.")


def _page(req: Request, pub: Publisher, title: str, main: str) -> str:
    """A publisher page: tracker tags in <head> at this client's ports, an ad slot when GPT is embedded."""
    tags = "\n".join(f'<script async src="{html.escape(req.url(TRACKERS[name].host, TRACKERS[name].script))}">'
                     "</script>" for name in pub.trackers)
    nav = {"news": '<a href="/article/1">1</a> <a href="/article/2">2</a> <a href="/article/3">3</a>',
           "blog": '<a href="/article/1">Posts</a>', "shop": '<a href="/product/1">Shop</a>',
           "campaign": '<a href="/donate">Donate</a>'}.get(pub.kind, "")
    ad_slot = '<div id="ad-top" class="ad"></div>' if "gpt" in pub.trackers else ""
    return f"""<!doctype html>
<html lang="{pub.lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)} — {html.escape(pub.name)}</title>
<link rel="stylesheet" href="/static/site.css">
{tags}
</head><body>
<header><a href="/"><strong>{html.escape(pub.name)}</strong></a><nav>{nav}</nav></header>
{ad_slot}
<main>{main}</main>
<footer><a href="/privacy">{PRIVACY_LABEL.get(pub.lang, "Privacy policy")}</a></footer>
</body></html>
"""


def _article(n: int) -> str:
    return f"<article><h1>Story {n}</h1>" + f"<p>{PARAGRAPH}</p>" * 3 + \
        f'<p><a href="/article/{n + 1}">Next story</a></p></article>'


def _build(pub: Publisher) -> Site:
    site = Site(f"publisher {pub.host}", [pub.host])

    @site.route("/", ["GET"])
    def home(req: Request) -> Response:
        main = "<h1>" + html.escape(pub.name) + "</h1>" + _article(0)
        cookies = [set_cookie(name, value, max_age=YEAR, secure=req.scheme == "https", http_only=http_only,
                              same_site="Lax") for name, value, http_only in pub.header_cookies]
        return Response.html(_page(req, pub, "Home", main), headers=cookies)

    @site.route("/privacy", ["GET"])
    def privacy(req: Request) -> Response:
        named = "".join(f"<li>{html.escape(entity)}</li>" for entity in pub.discloses)
        main = f"<h1>Privacy policy</h1><p>We share data with these partners:</p><ul>{named}</ul>" \
            if pub.trackers else "<h1>Privacy policy</h1><p>We use no third-party services and set no cookies.</p>"
        return Response.html(_page(req, pub, "Privacy", main))

    @site.route("/static/site.css", ["GET"])
    def css(req: Request) -> Response:
        return Response(200, [("Content-Type", "text/css"), ("Cache-Control", "max-age=3600")], CSS)

    @site.route("/favicon.ico", ["GET"])
    def favicon(req: Request) -> Response:
        return Response.empty(204, [("Cache-Control", "max-age=86400")])

    if pub.kind in ("news", "blog"):
        @site.route("/article/<n>", ["GET"])
        def article(req: Request) -> Response:
            n = int(req.params["n"]) if req.params["n"].isdigit() else 0
            return Response.html(_page(req, pub, f"Story {n}", _article(n)))

    if pub.kind == "shop":
        @site.route("/product/<n>", ["GET"])
        def product(req: Request) -> Response:
            main = (f"<h1>Product {html.escape(req.params['n'])}</h1><p>{PARAGRAPH}</p>"
                    '<form action="/cart" method="post"><button>Add to cart</button></form>')
            return Response.html(_page(req, pub, "Product", main))

    if pub.kind == "campaign":
        @site.route("/donate", ["GET"])
        def donate(req: Request) -> Response:
            main = ('<h1>Donate</h1><form action="/donate" method="post"><label>Name <input name="name"></label>'
                    '<label>Email <input name="email" type="email"></label>'
                    '<label>ZIP <input name="zip"></label><button>Give</button></form>')
            return Response.html(_page(req, pub, "Donate", main))

    return site


def _facts(pub: Publisher) -> dict:
    own = {"cookies": [{"name": name, "domain": pub.host, "party": "first", "set_by": "header", "by": pub.host,
                        "max_age": YEAR} for name, _, _ in pub.header_cookies],
           "requests": [{"kind": "document", "host": pub.host, "path": "/"}],
           "privacy_policy_discloses": list(pub.discloses),
           "third_party_hosts": []}
    parts = [own, planted(pub.trackers, pub.host)]
    if "gpt" in pub.trackers:
        parts.append(AD_FRAME_FACTS)
    return merge(*parts)


SITES = [_build(pub) for pub in PUBLISHERS]
EXPECTED = {f"{pub.host}/": _facts(pub) for pub in PUBLISHERS}
