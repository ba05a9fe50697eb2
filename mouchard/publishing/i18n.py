"""French and English for every page mouchard serves: the reader's language, and the messages in it.

French first: mouchard's first readers are French newsrooms. The language is, in order, `?lang=` on the URL, the
`mouchard_lang` cookie the page switch sets, the browser's Accept-Language, then French.

Messages live beside the code that uses them: each page module declares a `MESSAGES` dict
(`{key: {"fr": ..., "en": ...}}`) and calls `register(MESSAGES)` at import. A key registered twice with different
texts is a programming error (two modules disagree), raised at import.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qsl, quote, urlencode

LANGUAGES = ("fr", "en")
DEFAULT = "fr"
COOKIE = "mouchard_lang"

_CATALOGUE: dict[str, dict[str, str]] = {}


def register(messages: Mapping[str, Mapping[str, str]]) -> None:
    """Add a module's messages to the catalogue. Every message needs both languages."""
    for key, texts in messages.items():
        missing = [lang for lang in LANGUAGES if not texts.get(lang)]
        if missing:
            raise ValueError(f"message {key!r} has no {', '.join(missing)} text")
        known = _CATALOGUE.get(key)
        if known is not None and known != dict(texts):
            raise ValueError(f"message {key!r} is registered twice with different texts")
        _CATALOGUE[key] = dict(texts)


def t(key: str, lang: str, /, **values: object) -> str:
    """The message `key` in `lang`, with `{name}` placeholders filled from `values` (str.format: values are
    crawled data at times, so they are only ever substituted, never formatted as templates themselves)."""
    texts = _CATALOGUE.get(key)
    if texts is None:
        raise KeyError(f"no message {key!r}")
    text = texts.get(lang) or texts[DEFAULT]
    return text.format(**values) if values else text


def has(key: str) -> bool:
    """True if `key` is in the catalogue."""
    return key in _CATALOGUE


def catalogue() -> dict[str, dict[str, str]]:
    """A copy of every registered message (tests check both languages are complete)."""
    return {key: dict(texts) for key, texts in _CATALOGUE.items()}


def negotiate(query: str | None = None, cookie: str | None = None, accept_language: str | None = None) -> str:
    """The reader's language: the URL's `lang`, else the cookie, else the first supported language of the
    Accept-Language header by quality, else French. Anything unknown is ignored, never echoed."""
    for choice in (query, cookie):
        if choice and choice.strip().lower() in LANGUAGES:
            return choice.strip().lower()
    if accept_language:
        ranked: list[tuple[float, int, str]] = []
        # A header is at most a few dozen entries in practice; a hostile one is cut, not parsed forever.
        for position, part in enumerate(accept_language[:1000].split(",")[:50]):
            tag, _, params = part.strip().partition(";")
            quality = 1.0
            if params.strip().startswith("q="):
                try:
                    quality = float(params.strip()[2:])
                except ValueError:
                    continue
            primary = tag.strip().lower().split("-")[0]
            if primary in LANGUAGES and quality > 0:
                ranked.append((-quality, position, primary))
        if ranked:
            return min(ranked)[2]
    return DEFAULT


def request_language(request) -> str:
    """The language of a Datasette request (anything with `.args`, `.cookies` and `.headers`; None: French)."""
    if request is None:
        return DEFAULT
    return negotiate(request.args.get("lang"), request.cookies.get(COOKIE), request.headers.get("accept-language"))


def format_number(value: float | int, lang: str) -> str:
    """A number as its reader writes it: 12 345 and 3,5 in French, 12,345 and 3.5 in English. A float is rounded
    to one decimal first, so one that rounds to a whole number is written whole (3, not 3,0)."""
    if isinstance(value, float):
        value = round(value, 1)
    if isinstance(value, float) and not value.is_integer():
        text = f"{value:,.1f}"
    else:
        text = f"{int(value):,}"
    if lang == "fr":
        return text.replace(",", "\u202f").replace(".", ",")
    return text


def format_cell(value: float | int | None, lang: str) -> str | None:
    """A number as a table cell (`format_number`); None stays None, an empty cell."""
    return None if value is None else format_number(value, lang)


def singular(n: float | int, lang: str) -> bool:
    """Whether a count takes the singular: French puts 0 and 1 (anything under 2) there, English only 1."""
    return n < 2 if lang == "fr" else n == 1


def plural(key: str, n: float | int, lang: str, /, **values: object) -> str:
    """The message `key` in the form that agrees with the count `n`, the one pluralisation of every page.

    A counted message holds its two forms as "singular|plural" ("{n} site|{n} sites", or a whole sentence whose
    verb agrees: "{n} cookie a été déposé.|{n} cookies ont été déposés."); one without "|" has one form for
    every count. `{n}` is `n` as its reader writes it unless `values` give it. The form is chosen before any value is
    substituted, so a crawled value holding "|" stays whole."""
    one, _, other = t(key, lang).partition("|")
    form = other if other and not singular(n, lang) else one
    return form.format(**{"n": format_number(n, lang), **values})


def format_percent(share: float, lang: str) -> str:
    """A share in [0, 1] as a whole percentage: « 82 % » in French, "82%" in English."""
    whole = round(share * 100)
    return f"{whole}\u202f%" if lang == "fr" else f"{whole}%"


LANGUAGE_NAMES = {"fr": "Français", "en": "English"}  # each in its own language: the switch offers it that way

# Characters kept as they are in a path the language switch repeats: the unreserved and sub-delimiter characters,
# '/', ':', '@' and '%' (so an already %-encoded key such as a%2Fb keeps its meaning). Anything else is %-encoded.
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
MAX_SWITCH_QUERY = 4000  # a longer query string is dropped from the switch link (only `lang` is kept)


def switch_url(path: str, query_string: str, lang: str) -> str:
    """The link that shows the current page in `lang`: the same path and query, with `lang=` set (once).

    `path` is the raw request path (still %-encoded), `query_string` the raw query. The result is always a path on
    this site: leading slashes and backslashes collapse to one '/' (a `//host` or `/\\host` would leave the site),
    and characters outside `_PATH_SAFE` are %-encoded, so the link never carries markup or a scheme."""
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}")
    path = "/" + path.split("?", 1)[0].split("#", 1)[0].lstrip("/\\")
    path = quote(path, safe=_PATH_SAFE)
    pairs = []
    if len(query_string) <= MAX_SWITCH_QUERY:
        pairs = [(name, value) for name, value in parse_qsl(query_string, keep_blank_values=True) if name != "lang"]
    return f"{path}?{urlencode([*pairs, ('lang', lang)])}"


MESSAGES = {
    "i18n.skip": {"fr": "Aller au contenu", "en": "Skip to content"},
    "i18n.switch": {"fr": "Langue", "en": "Language"},
    "i18n.notfound.title": {"fr": "Page introuvable", "en": "Page not found"},
    "i18n.notfound.text": {"fr": "mouchard ne connaît rien sous ce nom : {key}.",
                           "en": "mouchard knows nothing by this name: {key}."},
    "i18n.notfound.path": {"fr": "Cette adresse ne mène à aucune page.", "en": "This address leads to no page."},
    "i18n.error.title": {"fr": "Erreur {status}", "en": "Error {status}"},
    "i18n.error.detail": {"fr": "Message de Datasette (en anglais) :", "en": "Datasette says:"},
    "i18n.home": {"fr": "Retour à l'accueil", "en": "Back to the home page"},
    "i18n.crumbs.home": {"fr": "accueil", "en": "home"},
}
register(MESSAGES)
