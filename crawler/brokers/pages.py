"""A broker's own pages: which link leads to its privacy policy, opt-out, deletion or access page, who hosts
the page, whether a bot wall answered instead, and the page's text.

Links are recognised by their text first (what a person reads), then by URL patterns, in English, French,
Spanish and German. The most specific kind wins: "Do Not Sell or Share My Personal Information" is an opt-out
page even though it says "personal information".
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import urllib.parse
from dataclasses import dataclass

from parsel import Selector

from mouchard.classification.brokers import normalise_url
from mouchard.decode.domains import host_of, site_of, under

# Kinds of pages we look for, most specific first; the registered rights page is kind "rights" too.
RIGHTS_KINDS = ("opt-out", "deletion", "access", "rights")
PAGE_KINDS = (*RIGHTS_KINDS, "policy")

# Link text (lower case, accents removed), by kind. Word stems so "supprimer", "suppression" both match.
TEXT_PATTERNS: dict[str, tuple[str, ...]] = {
    "opt-out": (
        r"do not (sell|share)", r"don'?t (sell|share)", r"opt[ -]?out", r"your (privacy|california privacy) choices",
        r"limit the use", r"unsubscribe from (data|sale)",
        r"ne (pas )?(vendre|partager)", r"\bopposition\b", r"\bopposer\b", r"\bdesinscri",
        r"refus(er)? (de la )?(vente|partage)",
        r"no (vender|vendan|compartir)", r"exclusion voluntaria", r"oponerse|oposicion",
        r"nicht (verkaufen|weitergeben)", r"\bwiderspruch", r"\bwidersprechen", r"opt-?out",
    ),
    "deletion": (
        r"\bdelet(e|ion)\b", r"\berase\b|\berasure\b", r"remove (my|your) (info|data|record|listing|profile)",
        r"\bremoval\b", r"\bpurge\b", r"suppression", r"supprimer", r"\beffacement\b", r"\beffacer\b",
        r"\beliminar\b", r"\bsupresion\b", r"\bborrar\b", r"\bloschen\b|\bloschung\b", r"\bentfernen\b",
    ),
    "access": (
        r"right to know", r"request (to know|access|a copy)", r"access (my|your) (data|information|personal)",
        r"data (subject )?access", r"subject access", r"\bdsar\b", r"download (my|your) data",
        r"droit d'?acces", r"acceder a (vos|mes) donnees", r"\bacces a (vos|mes)\b",
        r"derecho de acceso", r"acceso a (sus|mis) datos", r"\bauskunft", r"datenauskunft",
    ),
    "rights": (
        r"(your|consumer|privacy|individual|california) rights", r"privacy (request|center|centre|portal|hub)",
        r"exercise (your )?rights", r"submit a (privacy )?request", r"\bccpa\b|\bcpra\b",
        r"vos droits", r"exercer (vos )?droits", r"\brgpd\b",
        r"(sus|tus) derechos", r"derechos arco|\barco\b", r"ihre rechte", r"betroffenenrechte",
    ),
    "policy": (
        r"privacy (policy|notice|statement)", r"\bprivacy\b", r"data protection",
        r"politique de (confidentialite|protection)", r"\bconfidentialite\b", r"donnees personnelles",
        r"protection des donnees", r"vie privee",
        r"politica de privacidad", r"aviso de privacidad", r"\bprivacidad\b", r"proteccion de datos",
        r"datenschutz",
    ),
}
URL_PATTERNS: dict[str, tuple[str, ...]] = {
    "opt-out": (r"do-?not-?sell", r"donotsell", r"dnsmpi", r"opt-?out", r"opt_out", r"privacy-?choices",
                r"opposition", r"widerspruch"),
    "deletion": (r"delet", r"remov", r"purge", r"erase", r"suppression", r"supprimer", r"eliminar", r"loeschen",
                 r"löschen"),
    "access": (r"right-?to-?know", r"request-?to-?know", r"\bdsar\b", r"data-?request", r"subject-?access",
               r"auskunft", r"droit-?d-?acces"),
    "rights": (r"privacy-?(center|centre|request|rights|portal)", r"\bccpa\b", r"\bcpra\b", r"vos-?droits",
               r"derechos", r"rechte", r"your-?rights", r"consumer-?rights"),
    "policy": (r"privacy", r"confidentialite", r"donnees-?personnelles", r"privacidad", r"datenschutz"),
}
_TEXT = {kind: re.compile("|".join(p)) for kind, p in TEXT_PATTERNS.items()}
_URL = {kind: re.compile("|".join(p), re.I) for kind, p in URL_PATTERNS.items()}

# Services that host other companies' privacy pages and request forms: a page there is not on the broker's site,
# and a noindex there is the service's default, not the broker's choice.
PRIVACY_SERVICES: dict[str, str] = {
    "onetrust.com": "OneTrust", "cookielaw.org": "OneTrust", "trustarc.com": "TrustArc", "trustarc.eu": "TrustArc",
    "truste.com": "TrustArc", "privacypillar.com": "PrivacyPillar", "osano.com": "Osano", "ketch.com": "Ketch",
    "transcend.io": "Transcend", "datagrail.io": "DataGrail", "securiti.ai": "Securiti", "didomi.io": "Didomi",
    "termly.io": "Termly", "iubenda.com": "iubenda", "clarip.com": "Clarip", "wirewheel.io": "WireWheel",
    "mineos.ai": "MineOS", "saymine.com": "MineOS", "truyo.com": "Truyo", "usercentrics.eu": "Usercentrics",
    "cookiebot.com": "Cookiebot", "axeptio.eu": "Axeptio", "zendesk.com": "Zendesk", "hsforms.com": "HubSpot",
    "hubspot.com": "HubSpot", "typeform.com": "Typeform", "jotform.com": "Jotform", "formstack.com": "Formstack",
    "surveymonkey.com": "SurveyMonkey", "wufoo.com": "Wufoo", "airtable.com": "Airtable", "box.com": "Box",
    "salesforce-sites.com": "Salesforce", "my.site.com": "Salesforce", "force.com": "Salesforce",
    "privacyportal.net": "PrivacyPortal", "privado.ai": "Privado", "consentmanager.net": "consentmanager",
}
# Hosts of big sites where only some paths are form services.
PRIVACY_SERVICE_PATHS: dict[str, tuple[str, str]] = {
    "docs.google.com": ("/forms/", "Google Forms"), "forms.gle": ("/", "Google Forms"),
    "forms.office.com": ("/", "Microsoft Forms"), "forms.microsoft.com": ("/", "Microsoft Forms"),
}

# What bot walls answer: status, then markers in headers or body (lower case).
BOT_WALL_STATUSES = (403, 429)
BOT_WALL_MARKERS: dict[str, tuple[str, ...]] = {
    "cloudflare": ("cf-chl", "challenge-platform", "attention required! | cloudflare", "just a moment..."),
    "imperva": ("_incapsula_resource", "incapsula incident", "request unsuccessful. incapsula"),
    "akamai": ("access denied</title>", "reference&#32;&#35;", "errors.edgesuite.net"),
    "perimeterx": ("px-captcha", "perimeterx", "_pxhd"),
    "datadome": ("datadome", "captcha-delivery.com"),
    "sucuri": ("sucuri website firewall",),
    "captcha": ("g-recaptcha", "h-captcha", "hcaptcha.com", "are you a robot", "unusual traffic",
                "pardon our interruption", "verify you are human", "captcha"),
}
BOT_WALL_HEADERS = {"cf-mitigated": "cloudflare", "x-datadome": "datadome", "x-iinfo": "imperva"}


@dataclass(frozen=True)
class Link:
    url: str
    text: str
    kind: str | None


def fold(text: str) -> str:
    """Lower case without accents or odd spaces: 'Politique de confidentialité' -> 'politique de confidentialite'."""
    text = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode()
    return re.sub(r"\s+", " ", text.replace("\u2019", "'")).strip().lower()


def kind_of_link(text: str, url: str) -> str | None:
    """The kind of page a link leads to, from its text, else its URL; None if it is not a privacy link."""
    folded = fold(text)
    if folded:
        for kind in PAGE_KINDS:
            if _TEXT[kind].search(folded):
                return kind
    path = urllib.parse.unquote(urllib.parse.urlsplit(url).path + "?" + urllib.parse.urlsplit(url).query)
    for kind in PAGE_KINDS:
        if _URL[kind].search(path):
            return kind
    return None


def links(base_url: str, html: str) -> list[Link]:
    """Every http(s) link of a page with its text (or title / aria-label), resolved and without fragments."""
    out, seen = [], set()
    for anchor in Selector(text=html or "<html></html>").css("a[href]"):
        href = (anchor.attrib.get("href") or "").strip()
        if not href or href.startswith(("#", "mailto:", "tel:", "javascript:")):
            continue
        url = normalise_url(urllib.parse.urljoin(base_url, href)) or ""
        if not url.startswith(("http://", "https://")):
            continue
        text = " ".join(anchor.css("::text").getall()).strip() or anchor.attrib.get("title", "") \
            or anchor.attrib.get("aria-label", "")
        key = (url, text)
        if key in seen:
            continue
        seen.add(key)
        out.append(Link(url, re.sub(r"\s+", " ", text), kind_of_link(text, url)))
    return out


def privacy_links(base_url: str, html: str, per_kind: int = 2) -> list[Link]:
    """Links to privacy pages, at most `per_kind` per kind, first in page order, one kind per URL."""
    chosen: list[Link] = []
    counts: dict[str, int] = {}
    urls: set[str] = set()
    for link in links(base_url, html):
        if link.kind is None or link.url in urls or counts.get(link.kind, 0) >= per_kind:
            continue
        counts[link.kind] = counts.get(link.kind, 0) + 1
        urls.add(link.url)
        chosen.append(link)
    return chosen


def hosted_by(url: str, broker_sites: set[str] | frozenset[str] = frozenset()) -> str | None:
    """The third-party service hosting a page ('OneTrust', 'Google Forms'...), or None if the broker does."""
    host = host_of(url)
    site = site_of(url)
    if site in broker_sites:
        return None
    path = urllib.parse.urlsplit(url).path
    if host in PRIVACY_SERVICE_PATHS:
        prefix, name = PRIVACY_SERVICE_PATHS[host]
        return name if path.startswith(prefix) else None
    for domain, name in PRIVACY_SERVICES.items():
        if under(host, domain):
            return name
    return None


def bot_wall(status: int | None, headers: dict[str, str], body: bytes) -> str | None:
    """Why the answer looks like a bot wall rather than the page ('HTTP 403', 'cloudflare'...), else None."""
    lowered = {k.lower(): v for k, v in headers.items()}
    for header, name in BOT_WALL_HEADERS.items():
        if header in lowered:
            return name
    head = body[:65536].decode("utf-8", "replace").lower()
    for name, markers in BOT_WALL_MARKERS.items():
        if any(marker in head for marker in markers):
            # A page that merely mentions a captcha (a form with reCAPTCHA) is not a wall when it answered 200
            # with a real page; walls are short pages.
            if name == "captcha" and status == 200 and len(body) > 20000:
                continue
            return name
    if status in BOT_WALL_STATUSES:
        return f"HTTP {status}"
    return None


_SKIP = "ancestor::script or ancestor::style or ancestor::noscript or ancestor::template or ancestor::svg"


def page_text(html: str) -> tuple[str | None, str]:
    """(title, visible text with whitespace collapsed) of an HTML document."""
    sel = Selector(text=html or "<html></html>")
    title = re.sub(r"\s+", " ", " ".join(sel.xpath("//title//text()").getall())).strip() or None
    parts = sel.xpath(f"//body//text()[not({_SKIP})]").getall() or sel.xpath(f"//text()[not({_SKIP})]").getall()
    text = re.sub(r"\s+", " ", " ".join(parts)).strip()
    return title, text


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def has_scripts(html: str) -> bool:
    """True if the HTML runs any script (src or inline code); JSON and JSON-LD blocks do not run."""
    for script in Selector(text=html or "<html></html>").css("script"):
        kind = (script.attrib.get("type") or "").strip().lower()
        if kind and kind not in ("text/javascript", "application/javascript", "module", "text/ecmascript"):
            continue
        if script.attrib.get("src") or "".join(script.css("::text").getall()).strip():
            return True
    return False
