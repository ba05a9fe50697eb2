"""The person's local page: one static HTML file saying which companies received data about them, what, when, from
which site or app and under which consent state, with links to their letters and where their requests stand.

Everything on the page comes from the private database (read by pagedata), and the database holds crawled strings:
every one is escaped, links are made only for http(s) URLs and for plain file names in the page's own folder, and a
strict Content-Security-Policy forbids scripts and every external resource (the page works opened from disk). The
page is bounded (pagedata): MAX_SHOWN items per company in view, the rest (up to MAX_ITEMS) in a <details>, then a
count. The words it shares with the letters (purposes, consent states, letter kinds, dates) are in words.
"""

from __future__ import annotations

import datetime as dt
import html
import math
import re
import sqlite3
from pathlib import Path
from urllib.parse import urlsplit

from mouchard.errors import UserError
from mouchard.me.model import LANGUAGES, LETTER_KINDS, REQUEST_KINDS
from mouchard.me.pagedata import MAX_SHOWN, MAX_TEXT, PageData, date_of, int_of, json_list, letter_files, plain
from mouchard.me.words import (AUTHORITIES, CONSENT_SECOND_PERSON, FILE_FORMATS, LANGUAGE_NAMES, LETTER_NAMES,
                                PURPOSES, REQUEST_STATUSES, date_words, period_words)

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
SENT_COMMAND = "mouchard me sent {key} {kind}"
LETTERS_FOLDER = "letters"  # mouchard.me.jobs writes the letters' files there, next to the page
# A letter file is linked only by a plain name of the page's folder: no slash, no scheme, not "." or "..".
_FILE_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}\Z")
_SLUG = re.compile(r"[a-z0-9][a-z0-9._-]{0,99}\Z")
STYLE = """
body{font:16px/1.5 system-ui,sans-serif;max-width:60em;margin:0 auto;padding:1em;color:#222;background:#fff}
h1{font-size:1.6em;line-height:1.25}h2{margin-top:2em;border-top:1px solid #ccc;padding-top:1em}
code{background:#f3f3f3;padding:0 .2em;overflow-wrap:anywhere}.meta,.small{color:#555;font-size:.92em}
.warn{color:#a00;font-weight:600}li{margin:.4em 0}section.todo{background:#f6f8ff;padding:.5em 1em;border-radius:6px}
"""


def _e(value: object, limit: int = MAX_TEXT) -> str:
    return html.escape(plain(value, limit), quote=True)


def _code(value: object) -> str:
    return f"<code>{_e(value)}</code>"


def _url(value: object) -> str:
    """A URL shown as text, and as a link too when it is a plain http(s) URL."""
    text = plain(value, 2000)
    try:
        parts = urlsplit(text)
        linkable = parts.scheme.lower() in ("http", "https") and bool(parts.netloc) and not re.search(r"\s", text)
    except ValueError:
        linkable = False
    if not linkable:
        return _code(text)
    escaped = html.escape(text, quote=True)
    return f'<a href="{escaped}" rel="noreferrer noopener">{escaped}</a>'


def _identified(company: dict, lang: str) -> list[str]:
    fr = lang == "fr"
    words = []
    sources = json_list(company.get("sources"))
    for source in sources:
        kind, _, rest = source.partition(":")
        if kind == "trackers":
            words.append(f"la liste de traceurs {_code(rest)}" if fr else f"the tracker list {_code(rest)}")
        elif kind == "gvl":
            words.append(f"la liste des fournisseurs IAB (TCF), n° {_e(rest)}" if fr
                         else f"the IAB vendor list (TCF), id {_e(rest)}")
        elif kind == "broker":
            words.append(f"le registre des courtiers en données américain {_code(rest)}" if fr
                         else f"the US data-broker registry {_code(rest)}")
        elif source == "domain":
            words.append("son nom de domaine" if fr else "its domain name")
        else:
            words.append(_code(source))
    vendor = int_of(company.get("gvl_vendor_id"))
    if vendor is not None and not any(s.startswith("gvl:") for s in sources):
        words.append(f"la liste des fournisseurs IAB (TCF), n° {vendor}" if fr
                     else f"the IAB vendor list (TCF), id {vendor}")
    for registry in json_list(company.get("broker_registries")):
        if f"broker:{registry}" not in sources:
            words.append(f"le registre des courtiers en données américain {_code(registry)}" if fr
                         else f"the US data-broker registry {_code(registry)}")
    return words


def _what(item: dict, lang: str) -> str:
    """What was received, in plain words: 'Le cookie uuid2 avec la valeur 8234'."""
    fr = lang == "fr"
    kind, name, value = plain(item.get("kind")), item.get("name"), item.get("value")
    has_name, has_value = bool(plain(name)), bool(plain(value))
    v = f" {_code(value)}" if has_value else ""
    if kind == "cookie":
        text = ("Le cookie" if fr else "The cookie") + (f" {_code(name)}" if has_name else "")
        return text + ((" avec la valeur " if fr else " with the value ") + _code(value) if has_value else "")
    if kind in ("bid_field", "id_sync"):
        lead = {("bid_field", True): "Dans une demande d'enchère publicitaire, le champ",
                ("bid_field", False): "In an ad auction bid request, the field",
                ("id_sync", True): ("Un identifiant partagé avec une autre entreprise (synchronisation "
                                    "d'identifiants),"),
                ("id_sync", False): "An id synced with another company,"}[(kind, fr)]
        return lead + (f" {_code(name)}" if has_name else "") + (f" : {_code(value)}" if fr and has_value else
                                                                  f": {_code(value)}" if has_value else "")
    if kind == "location":
        text = ("Votre position" if fr else "Your position") + v
        try:
            precision = float(item.get("precision_m"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            precision = math.nan
        if math.isfinite(precision) and 0 <= precision < 1e8:
            metres = f"{round(precision):,}".replace(",", "\u202f" if fr else ",")
            text += f", précise à {metres} m près" if fr else f", precise to within {metres} m"
        return text
    said = {
        "advertising_id": ("Votre identifiant publicitaire", "Your advertising id"),
        "android_id": ("L'identifiant Android de votre téléphone", "Your phone's Android id"),
        "imei": ("Le numéro IMEI de votre téléphone", "Your phone's IMEI number"),
        "email": ("Votre adresse e-mail", "Your e-mail address"),
        "email_hash": ("Votre adresse e-mail, hachée :", "Your e-mail address, hashed:"),
        "phone": ("Votre numéro de téléphone", "Your phone number"),
        "phone_hash": ("Votre numéro de téléphone, haché :", "Your phone number, hashed:"),
        "page_view": ("La page que vous consultiez :", "The page you were viewing:"),
        "connection": ("Une connexion de votre appareil", "A connection from your device"),
    }.get(kind)
    text = (said[0] if fr else said[1]) if said else (
        f"Un identifiant de type {_code(kind)}" if fr else f"An identifier of kind {_code(kind)}")
    text += v
    if has_name:
        text += f" (dans {_code(name)})" if fr else f" (in {_code(name)})"
    return text


def _meta(item: dict, lang: str) -> str:
    """Who received it, when, how often, from which site or app, under which consent state."""
    fr = lang == "fr"
    parts = []
    if plain(item.get("host")):
        parts.append(("reçu par " if fr else "received by ") + _code(item.get("host")))
    first, last = date_of(item.get("first_seen")), date_of(item.get("last_seen"))
    if first or last:
        parts.append(period_words(first or last, last or first, lang, between=False))  # type: ignore[arg-type]
    times = int_of(item.get("times"))
    if times and times > 1:
        parts.append(f"{times} fois" if fr else f"{times} times")
    source, source_kind = item.get("source"), plain(item.get("source_kind"))
    if plain(source):
        where = {("app", True): "dans l'application", ("app", False): "in the app",
                 ("site", True): "sur le site", ("site", False): "on the site"}.get((source_kind, fr),
                                                                                    "depuis" if fr else "from")
        parts.append(f"{where} {_code(source)}")
    consent = plain(item.get("consent"))
    if consent in CONSENT_SECOND_PERSON:
        phrase = CONSENT_SECOND_PERSON[consent][0 if fr else 1]
        parts.append(f'<span class="warn">{phrase}</span>' if consent in ("refused", "gpc") else phrase)
    elif consent:
        parts.append(("état du consentement : " if fr else "consent state: ") + _code(consent))
    text = ", ".join(parts)
    return _capital(text) + "." if text else ""


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _lower(text: str) -> str:
    return text[:1].lower() + text[1:]


def _names(values: list[str]) -> str:
    return ", ".join(_e(v) for v in values)


def _item(item: dict, lang: str) -> str:
    lines = [_what(item, lang)]
    meta = _meta(item, lang)
    if meta:
        lines.append(f'<br><span class="meta">{meta}</span>')
    recipients = json_list(item.get("recipients"))
    if recipients:
        lines.append('<br><span class="meta">' + ("Transmis ensuite à : " if lang == "fr" else "Passed on to: ")
                     + _names(recipients) + "</span>")
    return "<li>" + "".join(lines) + "</li>"


def _contact(company: dict, data: PageData, lang: str) -> str:
    fr = lang == "fr"
    lines = []
    if plain(company.get("contact_email")):
        lines.append(("E-mail : " if fr else "E-mail: ") + _code(company.get("contact_email")))
    if plain(company.get("contact_url")):
        lines.append(("Page ou formulaire : " if fr else "Page or form: ") + _url(company.get("contact_url")))
    if plain(company.get("contact_address")):
        address = "<br>".join(_e(line) for line in plain(company.get("contact_address"), 1000).splitlines()[:10])
        lines.append(("Adresse postale : " if fr else "Postal address: ") + address)
    source = plain(company.get("contact_source"))
    if not lines:
        return ("Aucun contact trouvé : cherchez la page « vie privée » ou « données personnelles » de son site."
                if fr else "No contact found: look for the privacy page of its website.")
    if source == "datenanfragen":
        origin = ("la base d'entreprises de datenanfragen.de (licence CC0)" if fr
                  else "datenanfragen.de's company database (CC0 licence)")
    elif source == "gvl":
        origin = "la liste des fournisseurs IAB (TCF)" if fr else "the IAB vendor list (TCF)"
    elif source.startswith("broker:"):
        origin = (f"le registre des courtiers en données {_code(source[7:])}" if fr
                  else f"the data-broker registry {_code(source[7:])}")
    else:
        origin = _code(source) if source and source != "none" else ""
    fetched = data.sources.get(company.get("contact_source_id")) or {}
    when = date_of(fetched.get("fetched_at"))
    if origin and when:
        origin += (", fichier téléchargé le " if fr else ", file fetched on ") + date_words(when, lang)
    if origin and plain(fetched.get("url")):
        origin += (" depuis " if fr else " from ") + _url(fetched.get("url"))
    if origin:
        lines.append(('<span class="small">Source : ' if fr else '<span class="small">Source: ') + origin + "</span>")
    return "<br>".join(lines)


def _letter(row: dict, lang: str, folder: str) -> str:
    fr = lang == "fr"
    kind, language = plain(row.get("kind")), plain(row.get("language"))
    name = LETTER_NAMES[kind][0 if fr else 1] if kind in LETTER_NAMES else _code(kind)
    label = LANGUAGE_NAMES[language][0 if fr else 1] if language in LANGUAGE_NAMES else _code(language)
    links = []
    for fmt, file, known in letter_files(row.get("files")):
        text = FILE_FORMATS[known][0 if fr else 1] if known else _e(fmt)
        if _FILE_NAME.match(file) and file.strip("."):  # a plain name of the page's folder: safe as an href
            links.append(f'<a href="{folder}{file}">{text}</a>')
        else:
            links.append(f"{text} ({'nom de fichier refusé : ' if fr else 'file name refused: '}{_code(file)})")
    return f"<li>{name} — {label}{' : ' if fr else ': '}{' · '.join(links) or '—'}</li>"


def _request(row: dict, status: dict | None, lang: str) -> str:
    fr = lang == "fr"
    state = {**row, **(status or {})}
    kind = plain(state.get("kind"))
    name = LETTER_NAMES[kind][0 if fr else 1] if kind in LETTER_NAMES else _code(kind)
    parts = [name]
    sent = date_of(state.get("sent_on"))
    if sent:
        parts.append(("envoyée le " if fr else "sent on ") + date_words(sent, lang))
    # followup's due_on counts an extension; the table's own due_on does not
    due = date_of(state.get("due_on")) if status else date_of(state.get("extended_to")) or date_of(state.get("due_on"))
    if due:
        parts.append(("réponse attendue au plus tard le " if fr else "answer due by ") + date_words(due, lang))
        left = int_of(state.get("days_left")) if status else None
        if left is not None:
            late, plural = -left, "s" if (abs(left) > 1 if fr else abs(left) != 1) else ""
            if left >= 0:
                parts.append(f"encore {left} jour{plural}" if fr else f"{left} day{plural} left")
            else:
                parts.append(f"en retard de {late} jour{plural}" if fr else f"{late} day{plural} late")
    code = plain(state.get("status"))
    if code:
        parts.append(("statut : " if fr else "status: ")
                     + (REQUEST_STATUSES[code][0 if fr else 1] if code in REQUEST_STATUSES else _code(code)))
    for column, fr_word, en_word in (("answered_on", "réponse reçue le", "answered on"),
                                     ("reminder_sent_on", "relance envoyée le", "reminder sent on"),
                                     ("complaint_on", "plainte déposée le", "complaint filed on")):
        day = date_of(state.get(column))
        if day:
            parts.append(f"{fr_word if fr else en_word} {date_words(day, lang)}")
    if status and status.get("reminder_due") is True:
        parts.append('<span class="warn">' + ("relance à envoyer maintenant" if fr else "send the reminder now")
                     + "</span>")
    if status and status.get("complaint_due") is True:
        parts.append('<span class="warn">' + ("le délai est passé : le brouillon de plainte est prêt" if fr
                                              else "the deadline has passed: the draft complaint is ready") + "</span>")
    return "<li>" + ", ".join(parts) + ".</li>"


def _answers(key: str, data: PageData, lang: str) -> list[str]:
    """What the company's imported answers say, next to what mouchard saw it receive."""
    fr = lang == "fr"
    out = [f"<h3>{'Sa réponse' if fr else 'Its answer'}</h3><ul>"]
    for row in data.answers.get(key, []):
        when, items, status = date_of(row.get("imported_at")), int_of(row.get("items")), plain(row.get("status"))
        line = ("Fichier " if fr else "File ") + _code(row.get("file_name"))
        if when:
            line += (" importé le " if fr else " imported on ") + date_words(when, lang)
        if items is not None:
            line += (f" : {items} valeurs lues" if fr else f": {items} values read")
        if status in ("partial", "failed"):
            word = {("partial", True): "incomplet", ("partial", False): "partial",
                    ("failed", True): "échec", ("failed", False): "failed"}[(status, fr)]
            line += f" ({word}{' : ' if fr else ': '}{_e(row.get('reason'))})"
        out.append(f"<li>{line}.</li>")
    out.append("</ul>")
    compared = data.compared.get(key)
    if compared is None:
        return out
    found = [r for r in compared if r.get("observed") is not False and r.get("in_answer") is True]
    missing = [r for r in compared if r.get("observed") is not False and r.get("in_answer") is not True]
    extra = [r for r in compared if r.get("observed") is False]
    out.append("<p>" + (f"Ce que mouchard l'a vue recevoir et qui figure dans sa réponse : {len(found)}. "
                        f"Ce qui manque dans sa réponse : {len(missing)}. "
                        f"Valeurs de sa réponse que mouchard ne l'a pas vue recevoir : {len(extra)}." if fr else
                        f"Seen by mouchard and in its answer: {len(found)}. Missing from its answer: "
                        f"{len(missing)}. Values in its answer mouchard did not see it receive: {len(extra)}.")
               + "</p>")
    if missing:
        out.append(f"<p>{'Manquent dans sa réponse :' if fr else 'Missing from its answer:'}</p><ul>"
                   + "".join(f"<li>{_what(r, lang)}</li>" for r in missing[:MAX_SHOWN]) + "</ul>")
        if len(missing) > MAX_SHOWN:
            more = len(missing) - MAX_SHOWN
            out.append(f"<p class=\"small\">{f'et {more} de plus' if fr else f'and {more} more'}</p>")
    return out


def _company(index: int, company: dict, data: PageData, lang: str, today: dt.date) -> str:
    fr = lang == "fr"
    key = plain(company.get("key"))
    name = plain(company.get("name")) or key or ("(sans nom)" if fr else "(no name)")
    out = [f'<section class="company" id="c{index}">', f"<h2>{_e(name)}</h2>"]
    domains = json_list(company.get("domains"))
    if domains:
        out.append(f"<p>{'Domaines' if fr else 'Domains'}{' : ' if fr else ': '}"
                   + ", ".join(_code(d) for d in domains) + "</p>")
    identified = _identified(company, lang)
    if identified:
        out.append(f"<p class=\"small\">{'Reconnue grâce à ' if fr else 'Identified from '}"
                   + ", ".join(identified) + ".</p>")
    items = data.items.get(company.get("id"), [])
    count = data.counts.get(company.get("id"), 0)
    heading = (f"Ce qu'elle a reçu sur vous ({count})" if fr else f"What it received about you ({count})")
    out.append(f"<h3>{heading}</h3>")
    if items:
        out.append("<ul>" + "".join(_item(i, lang) for i in items[:MAX_SHOWN]) + "</ul>")
        if len(items) > MAX_SHOWN:
            more = count - MAX_SHOWN
            out.append(f"<details><summary>{f'et {more} de plus' if fr else f'and {more} more'}</summary><ul>"
                       + "".join(_item(i, lang) for i in items[MAX_SHOWN:]) + "</ul></details>")
        if count > len(items):
            rest = count - len(items)
            out.append('<p class="small">' + (f"{rest} autres ne sont pas affichés ici : ils sont dans la base." if fr
                                              else f"{rest} more are not shown here: they are in the database.")
                       + "</p>")
    else:
        out.append("<p>" + ("Rien de détaillé dans la base." if fr else "Nothing detailed in the database.") + "</p>")
    recipients = json_list(company.get("recipients"))
    if recipients:
        out.append("<p>" + ("Elle a transmis vos données à : " if fr else "It passed your data on to: ")
                   + _names(recipients) + ".</p>")
    purposes = [p for p in (int_of(v) for v in json_list(company.get("leg_int_purposes"))) if p is not None]
    if purposes:
        words = [_lower(PURPOSES[p][0 if fr else 1]) if p in PURPOSES else f"n° {p}" for p in purposes]
        out.append("<p>" + ("Dans la liste des fournisseurs IAB, elle invoque son « intérêt légitime », sans "
                            "votre accord, pour : " if fr else
                            "In the IAB vendor list it claims a “legitimate interest”, without your consent, for: ")
                   + "; ".join(words) + ". "
                   + ("Vous pouvez vous y opposer (article 21 du RGPD)." if fr
                      else "You can object to it (GDPR, Article 21).") + "</p>")
    out.append(f"<h3>{'Où écrire' if fr else 'Where to write'}</h3><p>{_contact(company, data, lang)}</p>")
    letters = data.letters.get(key, [])
    if letters:
        order = {kind: n for n, kind in enumerate(LETTER_KINDS)}
        letters = sorted(letters, key=lambda r: (order.get(plain(r.get("kind")), 99), plain(r.get("language")) != lang))
        out.append(f"<h3>{'Vos lettres' if fr else 'Your letters'}</h3><ul>"
                   + "".join(_letter(r, lang, data.folder) for r in letters) + "</ul>")
    requests = data.requests.get(key, [])
    unsent = [kind for kind in REQUEST_KINDS if kind in {plain(r.get("kind")) for r in letters}
              and kind not in {plain(r.get("kind")) for r in requests}]
    if unsent and _SLUG.match(key):  # a command to copy: only for a key that is plainly a slug
        out.append('<p class="small">' + ("Une fois une lettre envoyée, notez-le : " if fr
                                          else "Once you have sent a letter, note it: ")
                   + ", ".join(f"<code>{html.escape(SENT_COMMAND.format(key=key, kind=kind))}</code>"
                               for kind in unsent) + "</p>")
    if requests:
        statuses = data.statuses or {}
        out.append(f"<h3>{'Vos demandes' if fr else 'Your requests'}</h3><ul>"
                   + "".join(_request(r, statuses.get(r.get("id")), lang) for r in requests) + "</ul>")
        if data.status_error:
            out.append('<p class="small">' + ("Délais non calculés : " if fr else "Deadlines not computed: ")
                       + _e(data.status_error) + "</p>")
    if data.answers.get(key):
        out.extend(_answers(key, data, lang))
    return "\n".join(out) + "\n</section>"


def _headline(data: PageData, lang: str, today: dt.date) -> tuple[str, str]:
    """The page's headline and the line under it."""
    fr, count = lang == "fr", data.total
    if not count:
        return (("Aucune entreprise n'a été vue recevoir des données sur vous dans ces captures" if fr
                 else "No company was seen receiving data about you in these captures"), "")
    if fr:
        subject = f"Ces {count} entreprises ont reçu" if count > 1 else "1 entreprise a reçu"
        head = f"{subject} des données sur vous"
    else:
        head = f"These {count} companies received data about you" if count > 1 else "1 company received data about you"
    if not (data.first and data.last):
        return head, ""
    if data.first > today - dt.timedelta(days=7) and data.last <= today:
        return (head + (" cette semaine" if fr else " this week"),
                _capital(period_words(data.first, data.last, lang, between=False)) + ".")
    return head + " " + period_words(data.first, data.last, lang, between=True), ""


def _todo(data: PageData, lang: str) -> str:
    fr = lang == "fr"
    country = plain(data.person.get("country")).upper() or "FR"
    cnil = html.escape(AUTHORITIES["FR"][1], quote=True)
    cnil = f'<a href="{cnil}" rel="noreferrer noopener">{cnil}</a>'
    if fr:
        authority = f"la CNIL ({cnil})" if country == "FR" else "l'autorité de protection des données de votre pays"
        steps = [
            ("Envoyez vos lettres : ouvrez le fichier e-mail (.eml) pour l'envoyer depuis votre messagerie, ou le "
             "PDF pour l'imprimer ; l'adresse est indiquée pour chaque entreprise."),
            "Notez la date d'envoi, pour que mouchard suive le délai : <code>"
            + html.escape(SENT_COMMAND.format(key="<entreprise>", kind="<lettre>")) + "</code>.",
            ("L'entreprise doit vous répondre dans un délai d'un mois après avoir reçu votre demande (RGPD, "
             "article 12(3)) ; elle peut le prolonger de deux mois si elle vous prévient. Pour le CCPA, le délai "
             "est de 45 jours."),
            ("Sans réponse après ce délai, envoyez la relance ; si elle ne répond toujours pas, déposez une "
             f"plainte auprès de {authority} : le brouillon de plainte est préparé."),
        ]
        title = "Que faire ?"
    else:
        authority = f"the CNIL ({cnil})" if country == "FR" else "your country's data protection authority"
        steps = [
            ("Send your letters: open the e-mail file (.eml) to send it from your mail program, or the PDF to "
             "print it; the address is given for each company."),
            "Note the date you sent it, so that mouchard follows the deadline: <code>"
            + html.escape(SENT_COMMAND.format(key="<company>", kind="<letter>")) + "</code>.",
            ("The company must answer within one month of receiving your request (GDPR, Article 12(3)); it may "
             "extend that by two months if it tells you. Under the CCPA the deadline is 45 days."),
            ("Without an answer by then, send the reminder; if it still does not answer, file a complaint with "
             f"{authority}: the draft complaint is ready."),
        ]
        title = "What to do"
    return (f'<section class="todo"><h2>{title}</h2><ol>' + "".join(f"<li>{s}</li>" for s in steps)
            + "</ol></section>")


def other_language_name(out: Path, language: str) -> str:
    """The file name of the page in the other language: index.html <-> index.en.html."""
    name = out.name
    if language == "en":
        return name[: -len(".en.html")] + ".html" if name.endswith(".en.html") else "index.html"
    return f"{name.removesuffix('.html')}.en.html"


def render_page(conn: sqlite3.Connection, *, language: str, today: dt.date,
                letters: dict[str, list[dict]] | None = None, other: str | None = None,
                letters_folder: str = "") -> str:
    """The page as HTML text (see write_page)."""
    if language not in LANGUAGES:
        raise UserError(f"unknown language {language!r}: expected one of {', '.join(LANGUAGES)}")
    if letters_folder and not (_FILE_NAME.match(letters_folder) and letters_folder.strip(".")):
        raise UserError(f"letters folder {letters_folder!r}: expected a plain folder name next to the page")
    fr = language == "fr"
    previous = conn.text_factory
    conn.text_factory = lambda raw: raw.decode("utf-8", "replace")  # a hostile row's bad UTF-8 must not stop us
    try:
        data = PageData(conn, today, letters, letters_folder)
    except sqlite3.DatabaseError as exc:
        raise UserError(f"cannot read the private database: {exc}") from None
    finally:
        conn.text_factory = previous
    head, sub = _headline(data, language, today)
    parts = ["<!DOCTYPE html>", f'<html lang="{language}">', "<head>", '<meta charset="utf-8">',
             f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
             '<meta name="referrer" content="no-referrer">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             "<title>" + ("Vos données : ce que les entreprises ont reçu" if fr
                          else "Your data: what companies received") + "</title>",
             f"<style>{STYLE}</style>", "</head>", "<body>"]
    if other and _FILE_NAME.match(other) and other.strip("."):
        parts.append(f'<p class="small"><a href="{other}" hreflang="{"en" if fr else "fr"}">'
                     f"{'English version' if fr else 'Version française'}</a></p>")
    parts.append(f"<h1>{head}</h1>")
    if sub:
        parts.append(f'<p class="lead">{sub}</p>')
    parts.append('<p class="small">' + (
        "D'après vos propres captures. Cette page reste sur votre ordinateur : rien n'a été publié." if fr else
        "From your own captures. This page stays on your computer: nothing was published.") + "</p>")
    if data.companies:
        parts.append("<ol>" + "".join(
            f'<li><a href="#c{n}">{_e(plain(c.get("name")) or plain(c.get("key")) or "?")}</a> — '
            + str(data.counts.get(c.get("id"), 0)) + (" élément(s)" if fr else " item(s)") + "</li>"
            for n, c in enumerate(data.companies, 1)) + "</ol>")
        if data.total > len(data.companies):
            rest = data.total - len(data.companies)
            parts.append('<p class="small">' + (f"et {rest} autres entreprises, dans la base" if fr
                                                else f"and {rest} more companies, in the database") + "</p>")
    parts.append(_todo(data, language))
    parts.extend(_company(n, c, data, language, today) for n, c in enumerate(data.companies, 1))
    parts.append('<footer class="small"><p>' + (f"Page écrite par mouchard le {date_words(today, 'fr')}." if fr
                                                else f"Page written by mouchard on {date_words(today, 'en')}.")
                 + "</p></footer></body></html>\n")
    return "\n".join(parts)


def write_page(conn: sqlite3.Connection, out: Path, *, language: str, today: dt.date,
               letters: dict[str, list[dict]] | None = None, other: str | None = None,
               letters_folder: str | None = None) -> Path:
    """Write the person's page to `out` (one self-contained HTML file) from the private database `conn`, in
    `language` (fr or en), dated `today`; returns `out`. Letters are linked by their file names: from me_letters,
    or `letters` ({company key: [me_letters-like rows: kind, language, files]}) when given; their files are in
    `letters_folder` next to the page (default: "letters" when that folder exists, else the page's own folder).
    `other` is the file name of the page in the other language (default: index.html <-> index.en.html)."""
    out = Path(out)
    if not out.parent.is_dir():
        raise UserError(f"cannot write {out}: folder {out.parent} does not exist")
    if letters_folder is None:
        letters_folder = LETTERS_FOLDER if (out.parent / LETTERS_FOLDER).is_dir() else ""
    text = render_page(conn, language=language, today=today, letters=letters, letters_folder=letters_folder,
                       other=other if other is not None else other_language_name(out, language))
    partial = out.with_name(out.name + ".part")
    try:
        partial.write_text(text, encoding="utf-8")
        partial.replace(out)
    except OSError as exc:
        raise UserError(f"cannot write {out}: {exc.strerror or exc}") from None
    return out
