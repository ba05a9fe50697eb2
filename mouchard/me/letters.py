"""Letters in French and English: GDPR access (Art. 15), objection (Art. 21), erasure (Art. 17), CCPA right to know
and delete, reminder, and a draft complaint to the person's data protection authority.

A letter is first a list of blocks (phrases.Doc: address lines, headings, paragraphs, lists), then rendered twice: as
plain text and as a standalone HTML document where every string is escaped (company names, cookie names and values
are crawled from the web: hostile). Values are quoted exactly; only characters that would change the layout of a line
(control, format and separator characters) are shown escaped as `\\u{…}`, so that one observed item stays one line
(words.clean). How an observed item is phrased is in phrases; the words shared with the page are in words.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from mouchard.errors import UserError
from mouchard.me.mail import valid_email
from mouchard.me.model import LANGUAGES, Company, Letter, Person, file_stem
from mouchard.me.phrases import Doc, add_annex, name_list, purpose_name, quote_items
from mouchard.me.words import (AUTHORITIES, CNIL_ADDRESS, REQUEST_WORDS, SUBJECTS, authority_for, clean, date_words,
                                parse_day, pick)


# --- parts of every letter ---------------------------------------------------------------------------------------

def _recipient(company: Company) -> str | None:
    contact = company.contact
    if contact.email and valid_email(contact.email):
        return contact.email
    if contact.url and re.match(r"https?://[^\s]{1,2000}\Z", contact.url):
        return contact.url
    if contact.address and contact.address.strip():
        return clean(contact.address.strip().replace("\n", ", "), 1000)
    return None


def _place(person: Person) -> str | None:
    if not person.postal_address:
        return None
    last = [line.strip() for line in person.postal_address.splitlines() if line.strip()]
    if not last:
        return None
    city = re.sub(r"^(?:[A-Z]{1,2}-)?\d[\d ]{2,8}\s+", "", last[-1]).strip()
    city = re.sub(r"\s+(?:cedex|CEDEX|Cedex)\b.*$", "", city)
    return clean(city, 80) or None


def _head(doc: Doc, company: Company, person: Person, recipient: str | None, language: str, today: dt.date,
          *, to_lines: Sequence[str] | None = None) -> None:
    """Sender block, addressee block, place and date."""
    address = [clean(line.strip(), 200) for line in (person.postal_address or "").splitlines() if line.strip()]
    doc.lines(clean(person.name, 200), *address, clean(person.email, 320) if person.email else None)
    if to_lines is None:
        to_lines = [clean(company.name, 300),
                    pick(language, "À l'attention du délégué à la protection des données",
                         "For the attention of the Data Protection Officer")]
        contact = company.contact
        if contact.address and contact.address.strip():
            to_lines += [clean(line.strip(), 200) for line in contact.address.splitlines()[:8] if line.strip()]
        if contact.email and valid_email(contact.email):
            to_lines.append(contact.email)
        elif contact.url and recipient == contact.url:
            to_lines.append(clean(contact.url, 2000))
        if recipient is None:
            to_lines.append(pick(language,
                                 "(contact introuvable : cherchez le contact « vie privée » sur son site web)",
                                 "(contact not found: look for the privacy contact on its website)"))
    doc.lines(*to_lines)
    place, when = _place(person), date_words(today, language)
    if language == "fr":
        doc.lines(f"{place}, le {when}" if place else f"Le {when}")
    else:
        doc.lines(f"{place}, {when}" if place else when)


def _subject_line(doc: Doc, subject: str, language: str) -> None:
    doc.lines(pick(language, f"Objet : {subject}", f"Subject: {subject}"))
    doc.lines(pick(language, "Madame, Monsieur,", "Dear Sir or Madam,"))


def _sign(doc: Doc, person: Person, language: str) -> None:
    doc.p(pick(language, "Je vous prie d'agréer, Madame, Monsieur, l'expression de mes salutations distinguées.",
               "Yours faithfully,"))
    doc.lines(clean(person.name, 200))


def _reply_to(person: Person, language: str) -> str:
    if person.email:
        return pick(language, f"Merci de me répondre à l'adresse {clean(person.email, 320)}.",
                    f"Please answer to {clean(person.email, 320)}.")
    return pick(language, "Merci de me répondre à l'adresse postale ci-dessus.",
                "Please answer to the postal address above.")



def _observed_intro(company: Company, language: str, *, gdpr: bool = True) -> str:
    name = clean(company.name, 300)
    fr_ref, en_ref = (" (articles 11(2) et 12(2) du RGPD)", " (GDPR Articles 11(2) and 12(2))") if gdpr else ("", "")
    return pick(language,
                f"Pour vous permettre de retrouver mes données{fr_ref}, voici ce que {name} a reçu à mon sujet, relevé "
                "dans le trafic de mes propres appareils :",
                f"To let you find my data{en_ref}, here is what {name} received about me, recorded in the traffic of "
                "my own devices:")


# --- the letters -------------------------------------------------------------------------------------------------

def _access(doc: Doc, company: Company, person: Person, language: str) -> bool:
    fr = language == "fr"
    doc.p(pick(language,
               "En application de l'article 15 du Règlement général sur la protection des données (RGPD), je vous "
               "demande :",
               "Under Article 15 of the General Data Protection Regulation (GDPR), I ask you for:"))
    recipients = ""
    if company.recipients:
        recipients = pick(language,
                          f", par exemple les enchérisseurs des enchères que vous avez organisées et les entreprises "
                          "avec lesquelles vous avez synchronisé mes identifiants : "
                          f"{name_list(company.recipients, 'fr')}",
                          f", for example the bidders of the auctions you ran and the companies you synced my "
                          f"identifiers with: {name_list(company.recipients, 'en')}")
    doc.ul([
        pick(language, "la confirmation que vous traitez des données personnelles me concernant et une copie de ces "
                     "données (article 15(1) et 15(3)) ;",
             "confirmation that you process personal data about me, and a copy of that data (Article 15(1) and "
             "15(3));"),
        pick(language, "les finalités de chaque traitement et leur base légale (article 15(1)(a)) ;",
             "the purposes of each processing and their legal basis (Article 15(1)(a));"),
        pick(language, "les catégories de données concernées (article 15(1)(b)) ;",
             "the categories of data concerned (Article 15(1)(b));"),
        (f"les destinataires ou catégories de destinataires à qui ces données ont été ou seront communiquées "
         f"(article 15(1)(c)), nommément{recipients} ;" if fr else
         f"the recipients or categories of recipients to whom the data have been or will be disclosed (Article "
         f"15(1)(c)), by name{recipients};"),
        pick(language, "la durée de conservation de chaque donnée, ou les critères qui la fixent (article 15(1)(d)) ;",
             "how long each piece of data is kept, or the criteria used to decide it (Article 15(1)(d));"),
        pick(language, "la source des données que vous n'avez pas collectées auprès de moi (article 15(1)(g)) ;",
             "the source of any data you did not collect from me (Article 15(1)(g));"),
        pick(language, "l'existence d'un profilage ou d'une prise de décision automatisée, la logique sous-jacente, "
                     "l'importance et les conséquences prévues pour moi (article 15(1)(h)) ;",
             "whether profiling or automated decision-making takes place, the logic involved, and its significance "
             "and envisaged consequences for me (Article 15(1)(h));"),
        pick(language, "les garanties appropriées lorsque les données sont transférées hors de l'Union européenne "
                     "(article 15(2)).",
             "the appropriate safeguards where the data are transferred outside the European Union (Article 15(2))."),
    ])
    annex = quote_items(doc, company, language, intro=_observed_intro(company, language, gdpr=False))
    doc.p(pick(language,
               "Ces identifiants vous permettent de retrouver les données me concernant (articles 11(2) et 12(2)) : "
               "je vous demande d'inclure dans votre réponse toutes les données associées à chacun d'eux et à tout "
               "identifiant que vous leur avez rattaché.",
               "These identifiers let you find the data about me (Articles 11(2) and 12(2)): please include in your "
               "answer all the data linked to each of them and to any identifier you linked to them."))
    doc.p(pick(language,
               "Vous disposez d'un délai d'un mois à compter de la réception de cette demande pour y répondre (article "
               "12(3)), gratuitement (article 12(5)). " + _reply_to(person, "fr"),
               "You have one month from receipt of this request to answer (Article 12(3)), free of charge (Article "
               "12(5)). " + _reply_to(person, "en")))
    return annex


def _objection(doc: Doc, company: Company, person: Person, language: str) -> bool:
    purposes = sorted(set(company.leg_int_purposes))
    doc.p(pick(language,
               f"Dans la liste mondiale des fournisseurs (Global Vendor List) du Transparency & Consent Framework de "
               f"l'IAB Europe, {clean(company.name, 300)}"
               + (f" (fournisseur n° {company.gvl_vendor_id})" if company.gvl_vendor_id is not None else "")
               + " déclare traiter des données personnelles sur la base de son intérêt légitime pour les finalités "
               "suivantes :",
               f"In IAB Europe's Transparency & Consent Framework Global Vendor List, {clean(company.name, 300)}"
               + (f" (vendor {company.gvl_vendor_id})" if company.gvl_vendor_id is not None else "")
               + " declares that it processes personal data on the basis of its legitimate interest for these "
               "purposes:"))
    doc.ul([purpose_name(p, language) for p in purposes])
    doc.p(pick(language,
               "En application de l'article 21(1) du RGPD, je m'oppose, pour des raisons tenant à ma situation "
               "particulière, à tout traitement de mes données personnelles fondé sur votre intérêt légitime, pour "
               "chacune de ces finalités. Je ne souhaite pas être suivi d'un site à l'autre ni profilé.",
               "Under Article 21(1) GDPR, I object, on grounds relating to my particular situation, to any processing "
               "of my personal data based on your legitimate interest, for each of these purposes. I do not want to be "
               "tracked across sites or profiled."))
    doc.p(pick(language,
               "En application de l'article 21(2) et 21(3), je m'oppose également au traitement de mes données à des "
               "fins de prospection, y compris au profilage lié à une telle prospection : mes données ne doivent plus "
               "être traitées à ces fins.",
               "Under Article 21(2) and 21(3), I also object to the processing of my data for direct marketing, "
               "including profiling related to it: my data must no longer be processed for such purposes."))
    doc.p(pick(language,
               "Je vous demande de cesser ces traitements, de limiter le traitement de mes données pendant la "
               "vérification de motifs légitimes impérieux que vous invoqueriez (article 18(1)(d)), et de me confirmer "
               "par écrit les mesures prises, dans un délai d'un mois à compter de la réception de cette demande "
               "(article 12(3)). " + _reply_to(person, "fr"),
               "I ask you to stop this processing, to restrict the processing of my data while any compelling "
               "legitimate grounds you may invoke are verified (Article 18(1)(d)), and to confirm in writing the "
               "measures taken, within one month of receipt of this request (Article 12(3)). "
               + _reply_to(person, "en")))
    return quote_items(doc, company, language, intro=_observed_intro(company, language))


def _erasure(doc: Doc, company: Company, person: Person, language: str) -> bool:
    consents = {r.consent for r in company.received}
    without = consents & {"refused", "none-asked", "no-choice", "gpc", "withdrawn"}
    doc.p(pick(language,
               "En application de l'article 17 du RGPD, je vous demande d'effacer sans tarder toutes les données "
               "personnelles me concernant, pour les motifs suivants :",
               "Under Article 17 GDPR, I ask you to erase without undue delay all the personal data about me, on "
               "these grounds:"))
    grounds = [pick(language,
                    "je m'oppose au traitement en vertu de l'article 21(1) et il n'existe pas de motif légitime "
                    "impérieux pour le traitement, ou je m'y oppose en vertu de l'article 21(2) (article 17(1)(c)) ;",
                    "I object to the processing under Article 21(1) and there are no overriding legitimate grounds "
                    "for it, or I object under Article 21(2) (Article 17(1)(c));")]
    if without:
        grounds.append(pick(language,
                            "les données ont été traitées sans base légale valable : elles vous ont été transmises "
                            "alors que j'avais refusé le consentement ou qu'il ne m'avait pas été demandé, comme "
                            "l'indique chaque élément ci-dessous (article 17(1)(d)) ;",
                            "the data were processed without a valid legal basis: they reached you when I had refused "
                            "consent or when it was never asked, as each item below says (Article 17(1)(d));"))
    else:
        grounds.append(pick(language,
                            "les données ont fait l'objet d'un traitement illicite si elles ont été traitées sans base "
                            "légale valable (article 17(1)(d)) ;",
                            "the data have been unlawfully processed if they were processed without a valid legal "
                            "basis (Article 17(1)(d));"))
    if "accepted" in consents:
        grounds.append(pick(language,
                            "pour les données transmises après que j'ai accepté le consentement : je retire ce "
                            "consentement (article 7(3)) et le traitement n'a pas d'autre fondement (article "
                            "17(1)(b)) ;",
                            "for the data sent after I accepted consent: I withdraw that consent (Article 7(3)) and "
                            "the processing has no other legal ground (Article 17(1)(b));"))
    grounds[-1] = grounds[-1][:-2].rstrip() + "." if grounds[-1].endswith(" ;") else grounds[-1][:-1] + "."
    doc.ul(grounds)
    recipients = (pick(language, f", notamment : {name_list(company.recipients, 'fr')}",
                       f", including: {name_list(company.recipients, 'en')}") if company.recipients else "")
    doc.p(pick(language,
               f"Je vous demande aussi de notifier cet effacement à chaque destinataire à qui ces données ont été "
               f"communiquées (article 19){recipients}, et de me communiquer la liste de ces destinataires.",
               f"I also ask you to notify this erasure to each recipient to whom the data were disclosed (Article "
               f"19){recipients}, and to tell me who they are."))
    annex = quote_items(doc, company, language, intro=_observed_intro(company, language))
    doc.p(pick(language,
               "Merci de me confirmer l'effacement dans un délai d'un mois à compter de la réception de cette demande "
               "(article 12(3)). " + _reply_to(person, "fr"),
               "Please confirm the erasure within one month of receipt of this request (Article 12(3)). "
               + _reply_to(person, "en")))
    return annex


def _ccpa_common(doc: Doc, company: Company, language: str) -> None:
    doc.p(pick(language,
               "Les références légales de cette lettre sont celles du droit californien : California Consumer Privacy "
               "Act (CCPA), modifié par le California Privacy Rights Act (CPRA), Cal. Civ. Code §1798.100 et suivants.",
               "This request is made under the California Consumer Privacy Act (CCPA), as amended by the California "
               "Privacy Rights Act (CPRA), Cal. Civ. Code §1798.100 et seq."))
    if company.broker_registries:
        registries = name_list(company.broker_registries, language)
        doc.p(pick(language,
                   f"{clean(company.name, 300)} est inscrite comme courtier en données (data broker) dans ces "
                   f"registres : {registries}.",
                   f"{clean(company.name, 300)} is registered as a data broker in these registries: {registries}."))
    if company.broker_registries and any("calif" in r.lower() or r.lower() in ("ca", "cppa")
                                         for r in company.broker_registries):
        doc.p(pick(language,
                   "Le registre californien des courtiers en données est tenu en application du Cal. Civ. Code "
                   "§1798.99.80 et suivants. Je sais pouvoir aussi passer par la plateforme DROP (Delete Request and "
                   "Opt-out Platform) créée par le Delete Act ; cette lettre est une demande directe qui n'en dépend "
                   "pas.",
                   "The California data broker registry is kept under Cal. Civ. Code §1798.99.80 et seq. I know I may "
                   "also use the Delete Request and Opt-out Platform (DROP) created by the Delete Act; this letter is "
                   "a direct request that does not depend on it."))


def _ccpa_know(doc: Doc, company: Company, person: Person, language: str) -> bool:
    _ccpa_common(doc, company, language)
    doc.p(pick(language,
               "En application des §1798.110 et §1798.115 du Cal. Civ. Code, je vous demande de me communiquer :",
               "Under Cal. Civ. Code §1798.110 and §1798.115, I request that you disclose to me:"))
    doc.ul([
        pick(language, "les catégories d'informations personnelles que vous avez collectées à mon sujet ;",
             "the categories of personal information you have collected about me;"),
        pick(language, "les éléments précis d'informations personnelles que vous détenez à mon sujet ;",
             "the specific pieces of personal information you have collected about me;"),
        pick(language, "les catégories de sources de ces informations ;",
             "the categories of sources from which it was collected;"),
        pick(language, "la finalité commerciale de leur collecte, vente ou partage ;",
             "the business or commercial purpose for collecting, selling or sharing it;"),
        pick(language, "les catégories de tiers à qui vous les avez communiquées, et les catégories d'informations "
                     "vendues ou partagées, par catégorie de tiers (§1798.115).",
             "the categories of third parties to whom you disclosed it, and the categories of personal information "
             "sold or shared, by category of third party (§1798.115)."),
    ])
    annex = quote_items(doc, company, language, intro=_observed_intro(company, language, gdpr=False))
    doc.p(pick(language,
               "Le délai de réponse est de 45 jours à compter de la réception de cette demande (§1798.130(a)(2)). "
               + _reply_to(person, "fr"),
               "You must answer within 45 days of receiving this request (§1798.130(a)(2)). "
               + _reply_to(person, "en")))
    return annex


def _ccpa_delete(doc: Doc, company: Company, person: Person, language: str) -> bool:
    _ccpa_common(doc, company, language)
    doc.p(pick(language,
               "En application du §1798.105 du Cal. Civ. Code, je vous demande de supprimer toutes les informations "
               "personnelles me concernant, et de notifier cette demande à vos prestataires de services et "
               "sous-traitants (service providers, contractors) ainsi qu'aux tiers à qui vous les avez vendues ou "
               "partagées. Je vous demande également de ne plus vendre ni partager mes informations personnelles "
               "(§1798.120).",
               "Under Cal. Civ. Code §1798.105, I request that you delete all personal information about me, and "
               "that you notify your service providers and contractors, and the third parties to whom you sold or "
               "shared it, of this request. I also direct you not to sell or share my personal information "
               "(§1798.120)."))
    annex = quote_items(doc, company, language, intro=_observed_intro(company, language, gdpr=False))
    doc.p(pick(language,
               "Merci de me confirmer la suppression dans un délai de 45 jours à compter de la réception de cette "
               "demande (§1798.130(a)(2)). " + _reply_to(person, "fr"),
               "Please confirm the deletion within 45 days of receiving this request (§1798.130(a)(2)). "
               + _reply_to(person, "en")))
    return annex


_BODIES = {"access": _access, "objection": _objection, "erasure": _erasure, "ccpa-know": _ccpa_know,
           "ccpa-delete": _ccpa_delete}


def _check_language(language: str) -> str:
    if language not in LANGUAGES:
        raise UserError(f"language must be one of {', '.join(LANGUAGES)}, not {clean(language, 20)!r}")
    return language


def kinds_for(company: Company) -> list[str]:
    """The request letters that apply to `company`: access and erasure always; objection when it claims
    legitimate-interest purposes in the vendor list; ccpa-know and ccpa-delete when 'ccpa' is in its regimes."""
    kinds = ["access"]
    if company.leg_int_purposes:
        kinds.append("objection")
    kinds.append("erasure")
    if "ccpa" in company.regimes:
        kinds += ["ccpa-know", "ccpa-delete"]
    return kinds


def _letter(company: Company, kind: str, language: str, recipient: str | None, subject: str, doc: Doc,
            today: dt.date) -> Letter:
    return Letter(company_key=company.key, company_name=company.name, kind=kind, language=language,
                  recipient=recipient, subject=subject, text=doc.text(), html=doc.html(subject, language),
                  written_on=today)


def letters_for(company: Company, person: Person, *, language: str, today: dt.date,
                kinds: Iterable[str] | None = None) -> list[Letter]:
    """The request letters (kinds_for, or `kinds`) for `company`, pre-filled with what it received: one Letter per
    kind, in `language` (fr or en). An objection without legitimate-interest purposes is not written."""
    _check_language(language)
    wanted = kinds_for(company) if kinds is None else list(kinds)
    for kind in wanted:
        if kind not in _BODIES:
            raise UserError(f"letter kind must be one of {', '.join(_BODIES)}, not {clean(kind, 40)!r}")
    recipient = _recipient(company)
    letters = []
    for kind in wanted:
        if kind == "objection" and not company.leg_int_purposes:
            continue
        subject = f"{clean(company.name, 200)} : {SUBJECTS[kind][0]}" if language == "fr" else \
            f"{clean(company.name, 200)}: {SUBJECTS[kind][1]}"
        doc = Doc()
        _head(doc, company, person, recipient, language, today)
        _subject_line(doc, SUBJECTS[kind][0 if language == "fr" else 1], language)
        annex = _BODIES[kind](doc, company, person, language)
        _sign(doc, person, language)
        if annex:
            add_annex(doc, company, language)
        letters.append(_letter(company, kind, language, recipient, subject, doc, today))
    return letters


def _request_dates(request: dict) -> tuple[str, dt.date | None, dt.date | None]:
    kind = request.get("kind")
    if kind not in REQUEST_WORDS:
        raise UserError(f"request kind must be one of {', '.join(REQUEST_WORDS)}, not {clean(kind, 40)!r}")

    def day(key: str) -> dt.date | None:
        value = request.get(key)
        if value in (None, ""):
            return None
        parsed = parse_day(str(value)) if not isinstance(value, dt.date) else value
        if parsed is None:
            raise UserError(f"request {key} must be a date YYYY-MM-DD, not {clean(value, 40)!r}")
        return parsed

    due = day("extended_to") or day("due_on")
    return kind, day("sent_on"), due


def reminder_letter(company: Company, person: Person, request: dict, *, language: str, today: dt.date) -> Letter:
    """A reminder for a me_requests row (`request`: kind, sent_on, due_on, optional extended_to) whose deadline
    passed without an answer: the first letter and its date, the deadline that expired, a complaint to follow."""
    _check_language(language)
    kind, sent, due = _request_dates(request)
    ccpa = kind.startswith("ccpa")
    recipient = _recipient(company)
    words = REQUEST_WORDS[kind][0 if language == "fr" else 1]
    subject_tail = pick(language, f"relance de ma demande {words}", f"reminder of my request {words}")
    subject = f"{clean(company.name, 200)} : {subject_tail}" if language == "fr" else \
        f"{clean(company.name, 200)}: {subject_tail}"
    doc = Doc()
    _head(doc, company, person, recipient, language, today)
    _subject_line(doc, subject_tail, language)
    sent_words, due_words = date_words(sent, language), date_words(due, language)
    doc.p(pick(language, f"Le {sent_words}, je vous ai adressé une demande {words}. Je n'ai reçu aucune réponse.",
               f"On {sent_words}, I sent you a request {words}. I have received no answer."))
    if ccpa:
        doc.p(pick(language,
                   f"Le délai de 45 jours prévu par le §1798.130(a)(2) du Cal. Civ. Code a expiré le {due_words}. Je "
                   "vous demande d'y répondre sans attendre ; à défaut, je saisirai la California Privacy Protection "
                   "Agency.",
                   f"The 45-day deadline of Cal. Civ. Code §1798.130(a)(2) expired on {due_words}. Please answer "
                   "without further delay; otherwise I will file a complaint with the California Privacy Protection "
                   "Agency."))
    else:
        authority = AUTHORITIES.get((person.country or "").upper())
        name = pick(language, "l'autorité de protection des données", "the data protection authority")
        if authority:
            name += f", {authority[0]},"
        doc.p(pick(language,
                   f"Le délai d'un mois prévu à l'article 12(3) du RGPD a expiré le {due_words}. Je vous demande d'y "
                   f"répondre sans attendre ; à défaut, j'introduirai une réclamation auprès de {name} en application "
                   "de l'article 77 du RGPD.",
                   f"The one-month deadline of GDPR Article 12(3) expired on {due_words}. Please answer without "
                   f"further delay; otherwise I will lodge a complaint with {name} under GDPR Article 77."))
    annex = quote_items(doc, company, language, intro=pick(language, "Pour rappel, les identifiants concernés :",
                                                           "As a reminder, the identifiers concerned:"))
    doc.p(_reply_to(person, language))
    _sign(doc, person, language)
    if annex:
        add_annex(doc, company, language)
    return _letter(company, "reminder", language, recipient, subject, doc, today)



def complaint_letter(company: Company, person: Person, request: dict, *, language: str, today: dt.date) -> Letter:
    """A draft complaint to the person's authority (CNIL for France) about an unanswered request: the company, the
    request and its date, the deadline, no answer, what mouchard observed, and the documents to attach."""
    _check_language(language)
    kind, sent, due = _request_dates(request)
    country = (person.country or "").upper()
    name, url = authority_for(country)
    if country == "FR":
        to_lines = list(CNIL_ADDRESS) + [pick(language, f"Formulaire en ligne : {url}", f"Online form: {url}")]
    elif name:
        to_lines = [name, url]
    else:
        to_lines = [pick(language, "L'autorité de protection des données de mon pays de résidence",
                         "The data protection authority of my country of residence"),
                    pick(language, f"(liste des autorités de l'EEE : {url})", f"(list of EEA authorities: {url})")]
    recipient = url
    company_name = clean(company.name, 300)
    subject_tail = pick(language, f"réclamation contre {company_name} (article 77 du RGPD)",
                        f"complaint against {company_name} (GDPR Article 77)")
    subject = subject_tail
    doc = Doc()
    _head(doc, company, person, recipient, language, today, to_lines=to_lines)
    _subject_line(doc, subject_tail, language)
    words = REQUEST_WORDS[kind][0 if language == "fr" else 1]
    sent_words, due_words = date_words(sent, language), date_words(due, language)
    contact = _recipient(company)
    where = (pick(language, f" à {clean(contact, 1000)}", f" to {clean(contact, 1000)}") if contact else "")
    doc.p(pick(language,
               "En application de l'article 77 du RGPD, j'introduis une réclamation contre "
               f"{company_name}, qui n'a pas répondu à ma demande {words}.",
               f"Under GDPR Article 77, I lodge a complaint against {company_name}, which has not answered my request "
               f"{words}."))
    doc.h(pick(language, "Les faits", "The facts"))
    facts = [pick(language, f"Le {sent_words}, j'ai adressé à {company_name} une demande {words}{where}.",
                  f"On {sent_words}, I sent {company_name} a request {words}{where}."),
             pick(language, f"Le délai de réponse d'un mois (article 12(3) du RGPD) a expiré le {due_words}.",
                  f"The one-month deadline to answer (GDPR Article 12(3)) expired on {due_words}."),
             pick(language, f"Au {date_words(today, 'fr')}, je n'ai reçu aucune réponse.",
                  f"As of {date_words(today, 'en')}, I have received no answer.")]
    if request.get("reminder_sent_on"):
        facts.insert(2, pick(language, f"Je l'ai relancée le {date_words(request.get('reminder_sent_on'), 'fr')}.",
                             f"I sent a reminder on {date_words(request.get('reminder_sent_on'), 'en')}."))
    doc.ul(facts)
    annex = quote_items(doc, company, language, intro=pick(
        language, f"Voici ce que {company_name} a reçu à mon sujet, relevé dans le trafic de mes propres appareils "
                  "avec l'outil mouchard :",
        f"Here is what {company_name} received about me, recorded in the traffic of my own devices with the "
        "mouchard tool:"))
    doc.p(pick(language, f"Je vous demande d'enjoindre à {company_name} de répondre à ma demande (article 58(2)(c) du "
                       "RGPD).",
               f"I ask you to order {company_name} to comply with my request (GDPR Article 58(2)(c))."))
    doc.h(pick(language, "Pièces à joindre", "Documents to attach"))
    doc.ul([pick(language, "la copie de ma demande et la preuve de son envoi (accusé de réception, e-mail envoyé) ;",
                 "a copy of my request and proof that it was sent (acknowledgement of receipt, e-mail sent);"),
            pick(language, "la copie de ma relance, s'il y a lieu ;", "a copy of my reminder, if any;"),
            pick(language, "les éventuels échanges avec l'entreprise ;", "any exchange with the company;"),
            pick(language, "le relevé des éléments observés ci-dessus (fichiers produits par mouchard).",
                 "the record of the items observed above (files made by mouchard).")])
    _sign(doc, person, language)
    if annex:
        add_annex(doc, company, language)
    return _letter(company, "complaint", language, recipient, subject, doc, today)


# --- files -------------------------------------------------------------------------------------------------------

def _write_new(folder_fd: int, name: str, data: bytes) -> None:
    # O_NOFOLLOW: a symlink planted at the target is refused, not written through; 0o600: the person's own data.
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(name, flags, 0o600, dir_fd=folder_fd)
    except OSError as error:
        raise UserError(f"cannot write {name}: {error.strerror} (a symlink or a folder is in the way?)") from None
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def write_letter_files(letter: Letter, person: Person, folder: Path) -> dict[str, str]:
    """Write the letter as .txt, .html, .pdf and .eml in `folder` (which must exist); returns {format: file name}.
    File names come from the company key, kind and language only; a symlink at a target is refused."""
    from mouchard.me.mail import letter_email
    from mouchard.me.pdf import letter_pdf

    stem = file_stem(letter)
    try:
        folder_fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        raise UserError(f"{folder}: not a folder; create it first") from None
    try:
        pdf = letter_pdf(letter)
        files = {"txt": f"{stem}.txt", "html": f"{stem}.html", "pdf": f"{stem}.pdf", "eml": f"{stem}.eml"}
        contents = {"txt": letter.text.encode("utf-8", "replace"), "html": letter.html.encode("utf-8", "replace"),
                    "pdf": pdf, "eml": letter_email(letter, person, pdf)}
        for fmt, name in files.items():
            _write_new(folder_fd, name, contents[fmt])
    finally:
        os.close(folder_fd)
    return files
