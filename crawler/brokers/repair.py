"""Repair a registered rights URL that does not lead to the page: what to try, in which order, and when to stop.

Registries publish URLs typed by hand: `www.app.example.com` (a `www.` in front of a subdomain), a page that
moved (a 404, or a redirect to the home page), a host that does not resolve. The Markup / CalMatters fixed 16 of
the 2025 California registry's by hand, "by navigating" from the broker's main site. We do what they did, bounded:
first the URL's spelling variants (`url_variants`), then the home page of the URL's host and of the broker's
site, whose own links to its privacy choices page (`choice_links`) are taken as the rights page.

URLs from a registry are data: only http(s) URLs with a plausible host name come out of here, never a path on
this machine, and never more than `MAX_VARIANTS` of them; nothing here raises on hostile input.
"""

from __future__ import annotations

import re
import urllib.parse

from crawler.brokers.pages import RIGHTS_KINDS, Link, fold, links

MAX_VARIANTS = 6  # spelling variants of one registered URL
MAX_FETCHES = 8  # fetches one broker's repair may make (variants and home pages; linked pages are the crawl's)
MAX_URL = 2048
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
# Link text or URL of a privacy choices page, on top of the rights kinds `pages.kind_of_link` knows: a
# California notice is where a broker puts its CCPA request links.
_CHOICES = re.compile(r"do ?not ?sell|your (california )?privacy choices|privacy-?choices|opt[ -]?out|privacy "
                      r"request|data request|\bccpa\b|\bcpra\b|california privacy|california-privacy|dsr")


def safe_url(url: object) -> str | None:
    """`url` if it is an http(s) URL with a plausible DNS host name (labels of letters, digits, hyphens; a dot;
    no user info, no IP literal), normalised (lower-case scheme and host, no fragment); else None."""
    if not isinstance(url, str) or len(url) > MAX_URL or any(c in url for c in "\r\n\t \\"):
        return None
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    host = (parts.hostname or "").rstrip(".")
    if parts.scheme.lower() not in ("http", "https") or parts.username or parts.password or "." not in host:
        return None
    labels = host.split(".")
    if not all(_LABEL.match(label) for label in labels) or labels[-1].isdigit():
        return None
    netloc = host + (f":{port}" if port else "")
    return urllib.parse.urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", parts.query, ""))


def url_variants(url: object) -> list[str]:
    """Other spellings of a registered URL that may be the page the registrant meant, most likely first.

    `www.` dropped or added; a doubled subdomain fixed (`www.app.x.com` -> `app.x.com`, `www.x.com`); the other
    scheme; the path with / without its trailing slash. At most `MAX_VARIANTS`, only http(s), never `url`
    itself, no duplicates; [] for anything that is not a safe URL. Never raises.
    """
    base = safe_url(url)
    if base is None:
        return []
    parts = urllib.parse.urlsplit(base)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    labels = host.split(".")
    hosts: list[str] = []
    if labels[0] == "www":
        rest = labels[1:]
        if len(rest) >= 2:
            hosts.append(".".join(rest))  # www.app.x.com -> app.x.com; www.x.com -> x.com
        if len(rest) >= 3:
            hosts.append(".".join(["www", *rest[1:]]))  # www.app.x.com -> www.x.com
    else:
        hosts.append("www." + host)
    path = parts.path or "/"
    paths = [path]
    if path != "/":
        paths.append(path[:-1] if path.endswith("/") else path + "/")
    # Host fixes first (a typo host is the commonest error), then the other trailing slash.
    pairs = [(h, path) for h in hosts] + [(h, p) for p in paths[1:] for h in [host, *hosts]]
    candidates = [urllib.parse.urlunsplit((parts.scheme, h + port, p, parts.query, "")) for h, p in pairs]
    other = "http" if parts.scheme == "https" else "https"
    candidates.append(urllib.parse.urlunsplit((other, host + port, path, parts.query, "")))
    out: list[str] = []
    for candidate in candidates:
        checked = safe_url(candidate)
        if checked and checked != base and checked not in out:
            out.append(checked)
    return out[:MAX_VARIANTS]


def home_of(url: object) -> str | None:
    """The home page (`scheme://host/`) of a safe URL, else None."""
    base = safe_url(url)
    if base is None:
        return None
    parts = urllib.parse.urlsplit(base)
    return f"{parts.scheme}://{parts.netloc}/"


def went_home(url: str, final_url: str | None) -> bool:
    """True when a deep URL ended on a home page: the page moved and the site sent the visitor to its front door."""
    if not final_url:
        return False
    asked = urllib.parse.urlsplit(url).path.strip("/")
    landed = urllib.parse.urlsplit(final_url)
    return bool(asked) and landed.path.strip("/") in ("", "index.html", "index.php", "home")


def choice_links(base_url: str, html: str, limit: int = 3) -> list[Link]:
    """Links of a home page to its privacy choices page (do not sell, your privacy choices, opt out, CCPA...):
    the most specific first (opt-out, then deletion, access, rights, then a California notice), at most `limit`."""
    return rank_choices(links(base_url, html), limit)


def rank_choices(found: list[Link], limit: int = 3) -> list[Link]:
    """`choice_links` over links already read from a page (`pages.links` or `pages.privacy_links`)."""
    ranked: list[tuple[int, int, Link]] = []
    for order, link in enumerate(found):
        if safe_url(link.url) is None:
            continue
        if link.kind in RIGHTS_KINDS:
            rank = RIGHTS_KINDS.index(link.kind)
        elif _CHOICES.search(fold(link.text)) or _CHOICES.search(urllib.parse.unquote(link.url).lower()):
            rank = len(RIGHTS_KINDS)
        else:
            continue
        ranked.append((rank, order, link))
    out: list[Link] = []
    for _, _, link in sorted(ranked, key=lambda r: (r[0], r[1])):
        if all(link.url != o.url for o in out):
            out.append(link)
    return out[:limit]
