"""The words the letters and the person's page share, in French and English: TCF purpose names, consent states (first
person in the letters, second person on the page), letter kinds, request statuses, data protection authorities,
month names and the one way a date is written in words.

One table per concept, so that a letter and the page never name the same thing two ways. Every table maps a key to
a (French, English) pair; `pick` chooses in a language. Nothing here reads crawled data except `clean`, which
quotes a crawled value as one printable line, and `date_words`, which quotes an unreadable date that way.
"""

from __future__ import annotations

import datetime as dt
import unicodedata

MAX_VALUE = 4096  # characters of one quoted value (identifiers are far shorter; beyond, the cut is said)

LANGUAGE_NAMES = {"fr": ("français", "French"), "en": ("anglais", "English")}

MONTHS = {
    "fr": ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
           "novembre", "décembre"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"),
}

# TCF 2.2 purpose names, as IAB Europe publishes them: `name` of purposes-en.json and of its official French
# translation purposes-fr.json (vendor list v3); the same words the person reads on French consent banners.
PURPOSES: dict[int, tuple[str, str]] = {
    1: ("Stocker et/ou accéder à des informations sur un appareil", "Store and/or access information on a device"),
    2: ("Utiliser des données limitées pour sélectionner la publicité", "Use limited data to select advertising"),
    3: ("Créer des profils pour la publicité personnalisée", "Create profiles for personalised advertising"),
    4: ("Utiliser des profils pour sélectionner des publicités personnalisées",
        "Use profiles to select personalised advertising"),
    5: ("Créer des profils de contenus personnalisés", "Create profiles to personalise content"),
    6: ("Utiliser des profils pour sélectionner des contenus personnalisés",
        "Use profiles to select personalised content"),
    7: ("Mesurer la performance des publicités", "Measure advertising performance"),
    8: ("Mesurer la performance des contenus", "Measure content performance"),
    9: (("Comprendre les publics par le biais de statistiques ou de combinaisons de données provenant de différentes "
         "sources"), "Understand audiences through statistics or combinations of data from different sources"),
    10: ("Développer et améliorer les services", "Develop and improve services"),
    11: ("Utiliser des données limitées pour sélectionner le contenu", "Use limited data to select content"),
}

# The consent state an item was received under (me_received.consent), said by the person in a letter...
CONSENT_FIRST_PERSON = {
    "none-asked": ("sans qu'aucun consentement m'ait été demandé", "no consent was asked"),
    "no-choice": ("le bandeau de consentement affiché, avant tout choix de ma part",
                  "the consent banner was shown and I had made no choice"),
    "refused": ("après avoir refusé le consentement", "after I refused consent"),
    "accepted": ("après avoir accepté le consentement", "after I accepted consent"),
    "gpc": ("alors que mon navigateur envoyait le signal Global Privacy Control",
            "while my browser sent the Global Privacy Control signal"),
    "withdrawn": ("après avoir retiré mon consentement", "after I withdrew consent"),
}
# ... and said to the person on their page (a state missing here is shown as its code).
CONSENT_SECOND_PERSON = {
    "none-asked": ("sans qu'on vous demande votre accord", "without your consent being asked"),
    "no-choice": ("alors que vous n'aviez pas encore répondu au bandeau de consentement",
                  "while the consent banner was shown and you had not answered it"),
    "refused": ("après que vous avez refusé", "after you refused"),
    "accepted": ("après que vous avez accepté", "after you accepted"),
    "gpc": ("alors que votre navigateur signalait votre refus (Global Privacy Control)",
            "while your browser signalled your refusal (Global Privacy Control)"),
    "withdrawn": ("après que vous avez retiré votre consentement", "after you withdrew your consent"),
}

# Letter kinds (model.LETTER_KINDS) as the page titles a letter...
LETTER_NAMES = {
    "access": ("Demande d'accès (RGPD, article 15)", "Access request (GDPR, Article 15)"),
    "objection": ("Opposition (RGPD, article 21)", "Objection (GDPR, Article 21)"),
    "erasure": ("Demande d'effacement (RGPD, article 17)", "Erasure request (GDPR, Article 17)"),
    "ccpa-know": ("Demande au titre du droit de savoir (CCPA)", "Right to know request (CCPA)"),
    "ccpa-delete": ("Demande d'effacement (CCPA)", "Right to delete request (CCPA)"),
    "reminder": ("Relance", "Reminder"),
    "complaint": ("Brouillon de plainte", "Draft complaint"),
}
# ... as the subject line of the request letter...
SUBJECTS = {
    "access": ("demande d'accès à mes données personnelles (article 15 du RGPD)",
               "request for access to my personal data (GDPR Article 15)"),
    "objection": ("opposition au traitement de mes données fondé sur l'intérêt légitime (article 21 du RGPD)",
                  "objection to the processing of my data based on legitimate interest (GDPR Article 21)"),
    "erasure": ("demande d'effacement de mes données personnelles (article 17 du RGPD)",
                "request for erasure of my personal data (GDPR Article 17)"),
    "ccpa-know": ("demande de communication de mes informations personnelles (Cal. Civ. Code §1798.110, §1798.115)",
                  "request to know my personal information (Cal. Civ. Code §1798.110, §1798.115)"),
    "ccpa-delete": ("demande de suppression de mes informations personnelles (Cal. Civ. Code §1798.105)",
                    "request to delete my personal information (Cal. Civ. Code §1798.105)"),
}
# ... and after "ma demande" / "my request" in a reminder or a complaint (model.REQUEST_KINDS).
REQUEST_WORDS = {
    "access": ("d'accès (article 15 du RGPD)", "for access (GDPR Article 15)"),
    "objection": ("d'opposition (article 21 du RGPD)", "of objection (GDPR Article 21)"),
    "erasure": ("d'effacement (article 17 du RGPD)", "for erasure (GDPR Article 17)"),
    "ccpa-know": ("de communication (Cal. Civ. Code §1798.110)", "to know (Cal. Civ. Code §1798.110)"),
    "ccpa-delete": ("de suppression (Cal. Civ. Code §1798.105)", "to delete (Cal. Civ. Code §1798.105)"),
}

# A letter's files (me_letters.files), in the order the page lists them.
FILE_FORMATS = {"pdf": ("PDF", "PDF"), "html": ("page HTML", "HTML page"), "eml": ("e-mail (.eml)", "e-mail (.eml)"),
                "txt": ("texte", "text")}

# Where a request stands (me_requests.status, followup.statuses).
REQUEST_STATUSES = {
    "waiting": ("en attente de réponse", "waiting for an answer"),
    "answered": ("réponse reçue", "answered"),
    "overdue": ("délai dépassé sans réponse", "deadline passed without an answer"),
    "extended": ("délai prolongé par l'entreprise", "deadline extended by the company"),
    "complained": ("plainte déposée", "complaint filed"),
    "closed": ("terminée", "closed"),
}

# Supervisory authorities (Art. 51 GDPR) by country of residence: name and where to file a complaint.
CNIL_ADDRESS = ("Commission nationale de l'informatique et des libertés (CNIL)", "3 place de Fontenoy", "TSA 80715",
                "75334 Paris Cedex 07")
AUTHORITIES: dict[str, tuple[str, str]] = {
    "FR": ("Commission nationale de l'informatique et des libertés (CNIL)", "https://www.cnil.fr/fr/plaintes"),
    "BE": ("Autorité de protection des données / Gegevensbeschermingsautoriteit",
           "https://www.autoriteprotectiondonnees.be"),
    "LU": ("Commission nationale pour la protection des données (CNPD)", "https://cnpd.public.lu"),
    "IE": ("Data Protection Commission", "https://www.dataprotection.ie"),
    "NL": ("Autoriteit Persoonsgegevens", "https://www.autoriteitpersoonsgegevens.nl"),
    "ES": ("Agencia Española de Protección de Datos (AEPD)", "https://www.aepd.es"),
    "IT": ("Garante per la protezione dei dati personali", "https://www.garanteprivacy.it"),
    "PT": ("Comissão Nacional de Proteção de Dados (CNPD)", "https://www.cnpd.pt"),
    "AT": ("Datenschutzbehörde", "https://www.dsb.gv.at"),
    "SE": ("Integritetsskyddsmyndigheten (IMY)", "https://www.imy.se"),
    "DK": ("Datatilsynet", "https://www.datatilsynet.dk"),
    "NO": ("Datatilsynet", "https://www.datatilsynet.no"),
    "FI": ("Tietosuojavaltuutetun toimisto", "https://tietosuoja.fi"),
    "PL": ("Urząd Ochrony Danych Osobowych (UODO)", "https://uodo.gov.pl"),
}
EDPB_MEMBERS = "https://www.edpb.europa.eu/about-edpb/about-edpb/members_en"


def authority_for(country: str) -> tuple[str, str]:
    """(name, where to file) of the data protection authority of `country`; the EDPB's list of members when the
    country is not in our table."""
    found = AUTHORITIES.get((country or "").upper())
    if found:
        return found
    return ("", EDPB_MEMBERS)


def pick(language: str, fr: str, en: str) -> str:
    """The French text in French, else the English one."""
    return fr if language == "fr" else en


def clean(value: object, limit: int = MAX_VALUE) -> str:
    """`value` as one printable line: control, format, separator and surrogate characters are shown as `\\u{…}`
    (a crawled value must not start a new line, reverse the text or break an encoder); past `limit` the cut is said."""
    text = "" if value is None else str(value)
    extra = len(text) - limit
    if extra > 0:
        text = text[:limit]
    out = []
    for ch in text:
        if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            out.append(f"\\u{{{ord(ch):04x}}}")
        else:
            out.append(ch)
    result = "".join(out)
    return result + (f" […{extra}]" if extra > 0 else "")


def parse_day(text: str) -> dt.date | None:
    """The UTC day of an ISO date or date-time (`2026-12-01T00:30:00+02:00` is 30 November); None if unreadable."""
    text = text.strip()[:40]
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return (moment.astimezone(dt.UTC) if moment.tzinfo else moment).date()


def date_words(value: dt.date | str | None, language: str, *, month: bool = True, year: bool = True) -> str:
    """`6 décembre 2026` / `6 December 2026` (`1er` for the first in French) from a date or an ISO date or UTC
    date-time; without the month or the year when told (`du 1er au 7 décembre`). Month names are ours, not the
    locale's (a letter must not change with the machine). Unreadable input is quoted as it is (`clean`)."""
    if value is None or value == "":
        return pick(language, "(date inconnue)", "(unknown date)")
    if isinstance(value, dt.datetime):
        day = value.astimezone(dt.UTC).date() if value.tzinfo else value.date()
    elif isinstance(value, dt.date):
        day = value
    else:
        day = parse_day(str(value))
        if day is None:
            return clean(value, 64)
    number = "1er" if (language == "fr" and day.day == 1) else str(day.day)
    return number + (f" {MONTHS[language][day.month - 1]}" if month else "") + (f" {day.year}" if year else "")


def period_words(first: dt.date, last: dt.date, language: str, *, between: bool) -> str:
    """'entre le 1er et le 7 décembre 2026' (between) or 'du 1er au 7 décembre 2026'; one day: 'le 7 décembre
    2026'. The month and year of `first` are said only when they differ from those of `last`."""
    if last < first:
        first, last = last, first
    if first == last:
        return pick(language, "le ", "on ") + date_words(last, language)
    left = date_words(first, language, month=(first.year, first.month) != (last.year, last.month),
                      year=first.year != last.year)
    right = date_words(last, language)
    if language == "fr":
        return f"entre le {left} et le {right}" if between else f"du {left} au {right}"
    return f"between {left} and {right}" if between else f"from {left} to {right}"
