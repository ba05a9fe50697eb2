"""How a letter says what a company received: one observed item as a sentence (`item_phrase`), the bounded list of
items in the body and the full list in the annex, TCF purposes and recipients by name; and the blocks a letter is
made of (`Doc`), rendered as plain text and as a standalone HTML document.

Every crawled string goes through words.clean before it is phrased (one item stays one line), and Doc.html escapes
every block: company names, cookie names and values are crawled from the web, hence hostile.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence

from mouchard.me.model import Company, Received
from mouchard.me.words import CONSENT_FIRST_PERSON, PURPOSES, clean, date_words, pick

MAX_ITEMS_IN_BODY = 50  # observed items quoted in the body; the rest go to the annex
MAX_ITEMS_IN_ANNEX = 1000  # bound of the annex: a letter is read by a person (and 1,000 items are ~3 s of PDF)
MAX_NAMES = 30  # recipients named in one sentence

_HASH_BY_HEX_LENGTH = {32: "MD5", 40: "SHA-1", 64: "SHA-256", 96: "SHA-384", 128: "SHA-512"}
_HASH_NAMES = (("sha512", "SHA-512"), ("sha384", "SHA-384"), ("sha256", "SHA-256"), ("sha1", "SHA-1"),
               ("md5", "MD5"))
_HEX = re.compile(r"[0-9a-fA-F]+\Z")


# --- one observed item in words ----------------------------------------------------------------------------------

def name_list(names: Iterable[str], language: str) -> str:
    names = [clean(n, 200) for n in names if n]
    shown = ", ".join(names[:MAX_NAMES])
    if len(names) > MAX_NAMES:
        more = len(names) - MAX_NAMES
        shown += pick(language, f" et {more} autres", f" and {more} more")
    return shown


def purpose_name(purpose: int, language: str) -> str:
    """`2 : Utiliser des données limitées…` / `2: Use limited data…`; unknown ids are named by number."""
    names = PURPOSES.get(purpose)
    if names is None:
        return pick(language, f"finalité n° {purpose}", f"purpose {purpose}")
    return pick(language, f"finalité {purpose} : « {names[0]} »", f"purpose {purpose}: “{names[1]}”")


def _hash_name(item: Received) -> str | None:
    hint = (item.name or "").lower().replace("-", "").replace("_", "")
    for needle, name in _HASH_NAMES:
        if needle in hint:
            return name
    value = (item.value or "").strip()
    if _HEX.match(value):
        return _HASH_BY_HEX_LENGTH.get(len(value))
    return None


def item_phrase(item: Received, language: str) -> str:
    """One observed item as the letters quote it, e.g. "le cookie `uuid2` de valeur `d950…` déposé sur `adnxs.com`
    le 6 décembre 2026, lors de ma visite de www.example-news.fr (après avoir refusé le consentement)"."""
    fr = language == "fr"
    name, value, host = clean(item.name, 512), clean(item.value), clean(item.host, 512)
    when = date_words(item.first_seen, language)
    field = (f" (champ `{name}`)" if fr else f" (field `{name}`)") if item.name else ""
    kind = item.kind
    if kind == "cookie":
        head = (f"le cookie `{name}` de valeur `{value}` déposé sur `{host}` le {when}" if fr else
                f"the cookie `{name}` with value `{value}` set on `{host}` on {when}")
    elif kind in ("advertising_id", "android_id", "imei", "email", "phone"):
        what = {"advertising_id": ("mon identifiant publicitaire", "my advertising ID"),
                "android_id": ("l'identifiant Android de mon appareil", "my device's Android ID"),
                "imei": ("le numéro IMEI de mon téléphone", "my phone's IMEI number"),
                "email": ("mon adresse e-mail", "my e-mail address"),
                "phone": ("mon numéro de téléphone", "my phone number")}[kind]
        head = (f"{what[0]} `{value}` reçu par `{host}` le {when}{field}" if fr else
                f"{what[1]} `{value}` received by `{host}` on {when}{field}")
    elif kind in ("email_hash", "phone_hash"):
        algorithm = _hash_name(item)
        if fr:
            what = "mon adresse e-mail" if kind == "email_hash" else "mon numéro de téléphone"
            how = f"hachée en {algorithm}" if algorithm else "hachée (algorithme non identifié)"
            if kind == "phone_hash":
                how = how.replace("hachée", "haché")
            head = f"{what} {how} : `{value}`, reçue par `{host}` le {when}{field}"
            if kind == "phone_hash":
                head = head.replace("reçue", "reçu")
        else:
            what = "my e-mail address" if kind == "email_hash" else "my phone number"
            how = f"hashed with {algorithm}" if algorithm else "hashed (algorithm not identified)"
            head = f"{what} {how}: `{value}`, received by `{host}` on {when}{field}"
    elif kind == "location":
        precision = ""
        if item.precision_m is not None and item.precision_m == item.precision_m and item.precision_m >= 0:
            metres = f"{item.precision_m:,.0f}".replace(",", " " if fr else ",")
            precision = f" (à environ {metres} m près)" if fr else f" (accurate to about {metres} m)"
        head = (f"ma position `{value}`{precision} reçue par `{host}` le {when}{field}" if fr else
                f"my location `{value}`{precision} received by `{host}` on {when}{field}")
    elif kind == "bid_field":
        shown = f" de valeur `{value}`" if fr else f" with value `{value}`"
        head = (f"le champ `{name}`{shown if item.value else ''} d'une demande d'enchère publicitaire reçue par "
                f"`{host}` le {when}" if fr else
                f"the field `{name}`{shown if item.value else ''} of an advertising bid request received by `{host}` "
                f"on {when}")
        if item.recipients:
            head += (f", transmise aux enchérisseurs : {name_list(item.recipients, language)}" if fr else
                     f", passed to the bidders: {name_list(item.recipients, language)}")
    elif kind == "id_sync":
        shown = f" de valeur `{value}`" if fr else f" with value `{value}`"
        head = (f"l'identifiant `{name}`{shown if item.value else ''} synchronisé avec `{host}` le {when}" if fr else
                f"the identifier `{name}`{shown if item.value else ''} synced to `{host}` on {when}")
        if item.recipients:
            head += (f", depuis ou vers : {name_list(item.recipients, language)}" if fr else
                     f", from or to: {name_list(item.recipients, language)}")
    elif kind == "page_view":
        head = (f"ma consultation de la page `{value}`, signalée à `{host}` le {when}" if fr else
                f"my visit to the page `{value}`, reported to `{host}` on {when}")
    elif kind == "connection":
        head = (f"une connexion de l'application `{clean(item.source, 512)}` à `{host}` le {when}" if fr else
                f"a connection from the app `{clean(item.source, 512)}` to `{host}` on {when}")
    else:
        label = clean(kind, 64)
        shown = f" `{name}`" if item.name else ""
        head = (f"l'identifiant de type `{label}`{shown} de valeur `{value}` reçu par `{host}` le {when}" if fr else
                f"the `{label}` identifier{shown} with value `{value}` received by `{host}` on {when}")
    parts = [head]
    if kind != "connection" and item.source:
        source = clean(item.source, 512)
        if item.source_kind == "app":
            parts.append(f", depuis l'application {source}" if fr else f", from the app {source}")
        else:
            parts.append(f", lors de ma visite de {source}" if fr else f", when I visited {source}")
    if item.times and item.times > 1:
        last = date_words(item.last_seen, language)
        parts.append(f", {item.times} fois jusqu'au {last}" if fr else f", {item.times} times until {last}")
    if item.consent in CONSENT_FIRST_PERSON:
        parts.append(f" ({CONSENT_FIRST_PERSON[item.consent][0 if fr else 1]})")
    return "".join(parts)


def sorted_items(company: Company) -> list[Received]:
    return sorted(company.received, key=lambda r: (r.first_seen or "", r.kind or "", r.name or "", r.value or ""))


# --- blocks and rendering ----------------------------------------------------------------------------------------

class Doc:
    """A letter as blocks: ("lines", [..]) address blocks, ("h", text), ("p", text), ("ul", [items])."""

    def __init__(self) -> None:
        self.blocks: list[tuple[str, object]] = []

    def lines(self, *lines: str | None) -> None:
        kept = [line for line in lines if line]
        if kept:
            self.blocks.append(("lines", kept))

    def h(self, text: str) -> None:
        self.blocks.append(("h", text))

    def p(self, text: str) -> None:
        self.blocks.append(("p", text))

    def ul(self, items: Sequence[str]) -> None:
        if items:
            self.blocks.append(("ul", list(items)))

    def text(self) -> str:
        out = []
        for kind, body in self.blocks:
            if kind == "lines":
                out.append("\n".join(body))  # type: ignore[arg-type]
            elif kind == "h":
                out.append(f"{body}\n{'=' * min(len(str(body)), 78)}")
            elif kind == "ul":
                out.append("\n".join(f"- {item}" for item in body))  # type: ignore[union-attr]
            else:
                out.append(str(body))
        return "\n\n".join(out) + "\n"

    def html(self, title: str, language: str) -> str:
        e = html.escape
        parts = []
        for kind, body in self.blocks:
            if kind == "lines":
                parts.append('<p class="block">' + "<br>\n".join(e(line) for line in body) + "</p>")  # type: ignore
            elif kind == "h":
                parts.append(f"<h2>{e(str(body))}</h2>")
            elif kind == "ul":
                parts.append("<ul>\n" + "\n".join(f"<li>{e(item)}</li>" for item in body) + "\n</ul>")  # type: ignore
            else:
                parts.append(f"<p>{e(str(body))}</p>")
        # No external resource: the policy forbids every load, inline style only.
        return (f'<!DOCTYPE html>\n<html lang="{language}">\n<head>\n<meta charset="utf-8">\n'
                '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\'">\n'
                '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
                f"<title>{e(title)}</title>\n<style>body{{font-family:serif;max-width:42em;margin:2em auto;"
                "padding:0 1em;line-height:1.45}li{margin:.3em 0;overflow-wrap:anywhere}"
                "p{overflow-wrap:anywhere}h2{font-size:1.1em}</style>\n</head>\n<body>\n"
                + "\n".join(parts) + "\n</body>\n</html>\n")



# --- the observed items in a letter ------------------------------------------------------------------------------

def quote_items(doc: Doc, company: Company, language: str, *, intro: str) -> bool:
    """The observed items, bounded in the body; returns True when an annex must follow."""
    items = sorted_items(company)
    if not items:
        return False
    doc.p(intro)
    doc.ul([item_phrase(r, language) for r in items[:MAX_ITEMS_IN_BODY]])
    if len(items) > MAX_ITEMS_IN_BODY:
        more = len(items) - MAX_ITEMS_IN_BODY
        doc.p(pick(language, f"… et {more} autres éléments, tous listés en annexe.",
                   f"… and {more} more items, all listed in the annex."))
        return True
    return False


def add_annex(doc: Doc, company: Company, language: str) -> None:
    items = sorted_items(company)
    doc.h(pick(language, f"Annexe : les {len(items)} éléments observés", f"Annex: the {len(items)} items observed"))
    doc.ul([item_phrase(r, language) for r in items[:MAX_ITEMS_IN_ANNEX]])
    if len(items) > MAX_ITEMS_IN_ANNEX:
        doc.p(pick(language, f"(et {len(items) - MAX_ITEMS_IN_ANNEX} autres, non listés)",
                   f"(and {len(items) - MAX_ITEMS_IN_ANNEX} more, not listed)"))

