"""The person's local page (mouchard.me.page): exact sentences in French and English from a private database built
by hand, hostile crawled strings inert, bounded lists, and any row values rendered without raising."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import sqlite3
from html.parser import HTMLParser

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mouchard.errors import UserError
from mouchard.me import followup, page, pagedata
from mouchard.me.page import render_page, write_page
from mouchard.me.words import period_words
from mouchard.storage.private import mark_private
from mouchard.storage.store import Store

LATER = dt.date(2026, 12, 20)  # the captures (1-7 December 2026) are not "this week" any more
SAME_WEEK = dt.date(2026, 12, 7)
PLAIN_NAME = re.compile(r"(letters/)?[A-Za-z0-9_-][A-Za-z0-9._-]*\Z")
HOSTILE = '"><script>alert(1)</script><img src=x onerror=alert(2)>'


class Page(HTMLParser):
    """The page as lines of text, plus every tag with its attributes."""

    BREAKS = frozenset({"br", "li", "p", "h1", "h2", "h3", "summary", "ol", "ul", "section", "details", "footer"})

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.links: list[tuple[str, str]] = []  # (href, text)
        self._text: list[str] = []
        self._href: str | None = None
        self._link: list[str] = []
        self._body = False  # the head's title and style are not page text
        self.feed(text)
        self.close()
        self.lines = [" ".join(line.split()) for line in "".join(self._text).split("\n")]
        self.lines = [line for line in self.lines if line]

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._body = self._body or tag == "body"
        if tag in self.BREAKS:
            self._text.append("\n")
        if tag == "a":
            self._href, self._link = dict(attrs).get("href"), []

    def handle_endtag(self, tag):
        if tag in self.BREAKS:
            self._text.append("\n")
        if tag == "a" and self._href is not None:
            self.links.append((self._href, "".join(self._link)))
            self._href = None

    def handle_data(self, data):
        if not self._body:
            return
        self._text.append(data)
        if self._href is not None:
            self._link.append(data)

    def line_with(self, start: str) -> str:
        return next(line for line in self.lines if line.startswith(start))


def assert_inert(text: str) -> Page:
    """No script, no event handler, no link but anchors, http(s) URLs and plain file names; nothing loaded."""
    parsed = Page(text)
    for tag, attrs in parsed.tags:
        assert tag not in ("script", "iframe", "object", "embed", "img", "link", "base", "form", "svg"), tag
        assert not [name for name in attrs if name.startswith("on")], (tag, attrs)
        assert "src" not in attrs and "srcdoc" not in attrs and "style" not in attrs, (tag, attrs)
        if tag == "meta" and attrs.get("http-equiv"):
            assert attrs == {"http-equiv": "Content-Security-Policy", "content": page.CSP}
    for href, _ in parsed.links:
        assert href.startswith("#") or re.match(r"https?://", href) or (PLAIN_NAME.match(href) and href.strip(".")), href
        assert not href.lower().lstrip().startswith(("javascript:", "data:", "vbscript:")), href
    return parsed


def add_company(store: Store, key: str, name: str, items: list[dict], **extra) -> int:
    company = store.insert("me_companies", {"key": key, "name": name, "items": len(items),
                                            "first_seen": min(i["first_seen"] for i in items),
                                            "last_seen": max(i["last_seen"] for i in items), **extra})
    for item in items:
        store.insert("me_received", {"company_id": company, "times": 1, **item})
    return company


def item(kind: str, name: str | None, value: str | None, *, day: int = 6, last: int | None = None, **extra) -> dict:
    return {"kind": kind, "name": name, "value": value, "host": "ib.adnxs.com", "source": "lemonde.fr",
            "source_kind": "site", "first_seen": f"2026-12-{day:02d}T10:00:00Z",
            "last_seen": f"2026-12-{last or day:02d}T11:00:00Z", **extra}


@pytest.fixture
def store(tmp_path):
    store = Store(tmp_path / "me.db")
    mark_private(store, {"name": "Jean Dupont-Mouchard", "country": "FR", "language": "fr"})
    source = store.insert("me_contact_sources", {"source": "datenanfragen", "licence": "CC0",
                                                 "url": "https://www.datenanfragen.de/db/companies.json",
                                                 "fetched_at": "2026-12-07T08:00:00Z"})
    add_company(store, "xandr", "Xandr", [
        item("cookie", "uuid2", "8234567890123456789", day=1, last=6, times=4, consent="refused",
             recipients=json.dumps(["Criteo", "The Trade Desk"])),
        item("location", "device.geo", "48.85837,2.29448", day=7, precision_m=12.4, source="com.meteo",
             source_kind="app"),
        item("bid_field", "user.buyeruid", "AB12", day=3, consent="accepted"),
    ], domains=json.dumps(["adnxs.com", "appnexus.com"]), sources=json.dumps(["trackers:disconnect", "gvl:32"]),
        gvl_vendor_id=32, leg_int_purposes=json.dumps([2, 7]), recipients=json.dumps(["Criteo", "The Trade Desk"]),
        contact_email="privacy@xandr.com", contact_url="https://www.xandr.com/privacy",
        contact_source="datenanfragen", contact_source_id=source)
    add_company(store, "criteo", "Criteo", [
        item("email_hash", "em", "5d41402abc4b2a76b9719d911017c592", day=2, consent="none-asked", host="gum.criteo.com"),
        item("advertising_id", "ifa", "38400000-8cf0-11bd-b23e-10b96e40000d", day=4, source="com.jeu",
             source_kind="app", host="bidder.criteo.com"),
    ], domains=json.dumps(["criteo.com"]), sources=json.dumps(["gvl:91"]))
    add_company(store, "acxiom", "Acxiom", [item("id_sync", "partner_uid", "ZZ9", day=5, consent="gpc")],
                sources=json.dumps(["broker:california"]), broker_registries=json.dumps(["california", "vermont"]),
                contact_email="consumeradvo@acxiom.com", contact_source="broker:california")
    files = {"pdf": "xandr-access-fr.pdf", "html": "xandr-access-fr.html", "eml": "xandr-access-fr.eml",
             "txt": "xandr-access-fr.txt"}
    store.insert("me_letters", {"company_key": "xandr", "kind": "access", "language": "fr", "files": json.dumps(files)})
    store.insert("me_letters", {"company_key": "xandr", "kind": "objection", "language": "en",
                                "files": json.dumps({"pdf": "xandr-objection-en.pdf", "html": "../evil.html",
                                                     "eml": "..", "txt": "javascript:alert(1)"})})
    letter = store.insert("me_letters", {"company_key": "criteo", "kind": "access", "language": "en",
                                         "files": json.dumps({"pdf": "criteo-access-en.pdf"})})
    store.insert("me_requests", {"company_key": "criteo", "kind": "access", "letter_id": letter, "regime": "gdpr",
                                 "channel": "email", "sent_on": "2026-12-07", "due_on": "2027-01-07",
                                 "status": "waiting"})
    yield store
    store.close()


def both(store: Store, folder, today: dt.date = LATER) -> tuple[Page, Page]:
    fr = write_page(store.conn, folder / "index.html", language="fr", today=today)
    en = write_page(store.conn, folder / "index.en.html", language="en", today=today)
    return assert_inert(fr.read_text(encoding="utf-8")), assert_inert(en.read_text(encoding="utf-8"))


def test_headline_counts_companies_and_names_the_period(store, tmp_path):
    fr, en = both(store, tmp_path)
    assert fr.lines[1] == "Ces 3 entreprises ont reçu des données sur vous entre le 1er et le 7 décembre 2026"
    assert en.lines[1] == "These 3 companies received data about you between 1 and 7 December 2026"
    assert ("index.en.html", "English version") in fr.links and ("index.html", "Version française") in en.links


def test_headline_says_this_week_when_the_period_is_recent(store, tmp_path):
    fr, en = both(store, tmp_path, today=SAME_WEEK)
    assert fr.lines[1:3] == ["Ces 3 entreprises ont reçu des données sur vous cette semaine",
                             "Du 1er au 7 décembre 2026."]
    assert en.lines[1:3] == ["These 3 companies received data about you this week", "From 1 to 7 December 2026."]


def test_spans_across_months_and_years():
    span = period_words
    assert span(dt.date(2026, 11, 28), dt.date(2026, 12, 3), "fr", between=True) == \
        "entre le 28 novembre et le 3 décembre 2026"
    assert span(dt.date(2025, 12, 28), dt.date(2026, 1, 1), "en", between=False) == \
        "from 28 December 2025 to 1 January 2026"
    assert span(dt.date(2026, 12, 1), dt.date(2026, 12, 1), "fr", between=False) == "le 1er décembre 2026"


def test_companies_ordered_by_items_and_each_item_in_plain_words(store, tmp_path):
    fr, en = both(store, tmp_path)
    assert [text for href, text in fr.links if href.startswith("#")] == ["Xandr", "Criteo", "Acxiom"]
    assert "Le cookie uuid2 avec la valeur 8234567890123456789" in fr.lines
    assert "The cookie uuid2 with the value 8234567890123456789" in en.lines
    assert ("Reçu par ib.adnxs.com, du 1er au 6 décembre 2026, 4 fois, sur le site lemonde.fr, "
            "après que vous avez refusé.") in fr.lines
    assert ("Received by ib.adnxs.com, from 1 to 6 December 2026, 4 times, on the site lemonde.fr, "
            "after you refused.") in en.lines
    assert "Votre position 48.85837,2.29448, précise à 12 m près" in fr.lines
    assert "Reçu par ib.adnxs.com, le 7 décembre 2026, dans l'application com.meteo." in fr.lines
    assert "Dans une demande d'enchère publicitaire, le champ user.buyeruid : AB12" in fr.lines
    assert "Votre adresse e-mail, hachée : 5d41402abc4b2a76b9719d911017c592 (dans em)" in fr.lines
    assert "Reçu par gum.criteo.com, le 2 décembre 2026, sur le site lemonde.fr, sans qu'on vous demande votre " \
           "accord." in fr.lines
    assert "Your advertising id 38400000-8cf0-11bd-b23e-10b96e40000d (in ifa)" in en.lines
    assert "An id synced with another company, partner_uid: ZZ9" in en.lines
    assert "Received by ib.adnxs.com, on 5 December 2026, on the site lemonde.fr, while your browser signalled " \
           "your refusal (Global Privacy Control)." in en.lines


def test_identification_recipients_and_contact(store, tmp_path):
    fr, en = both(store, tmp_path)
    assert "Reconnue grâce à la liste de traceurs disconnect, la liste des fournisseurs IAB (TCF), n° 32." in fr.lines
    assert ("Identified from the US data-broker registry california, the US data-broker registry vermont."
            in en.lines)
    assert "Transmis ensuite à : Criteo, The Trade Desk" in fr.lines
    assert "Elle a transmis vos données à : Criteo, The Trade Desk." in fr.lines
    assert "It passed your data on to: Criteo, The Trade Desk." in en.lines
    assert fr.line_with("Dans la liste des fournisseurs IAB") == (
        "Dans la liste des fournisseurs IAB, elle invoque son « intérêt légitime », sans votre accord, pour : "
        "utiliser des données limitées pour sélectionner la publicité; mesurer la performance des publicités. "
        "Vous pouvez vous y opposer (article 21 du RGPD).")
    assert "E-mail : privacy@xandr.com" in fr.lines
    assert "Page ou formulaire : https://www.xandr.com/privacy" in fr.lines
    assert ("https://www.xandr.com/privacy", "https://www.xandr.com/privacy") in fr.links
    assert ("Source : la base d'entreprises de datenanfragen.de (licence CC0), fichier téléchargé le 7 décembre "
            "2026 "
            "depuis https://www.datenanfragen.de/db/companies.json") in fr.lines
    assert "Source: the data-broker registry california" in en.lines


def test_purposes_named_as_in_the_letters_official_tcf_wording(store, tmp_path):
    add_company(store, "content", "Content Co", [item("cookie", "c", "v")], leg_int_purposes=json.dumps([5, 6, 8, 42]))
    fr, en = both(store, tmp_path)
    assert fr.line_with("Dans la liste des fournisseurs IAB, elle invoque son « intérêt légitime », sans votre "
                        "accord, pour : créer") == (
        "Dans la liste des fournisseurs IAB, elle invoque son « intérêt légitime », sans votre accord, pour : "
        "créer des profils de contenus personnalisés; utiliser des profils pour sélectionner des contenus "
        "personnalisés; mesurer la performance des contenus; n° 42. Vous pouvez vous y opposer (article 21 du RGPD).")
    assert en.line_with("In the IAB vendor list it claims a “legitimate interest”, without your consent, for: "
                        "create") == (
        "In the IAB vendor list it claims a “legitimate interest”, without your consent, for: create profiles to "
        "personalise content; use profiles to select personalised content; measure content performance; n° 42. "
        "You can object to it (GDPR, Article 21).")


def test_letters_linked_by_plain_file_names_only(store, tmp_path):
    fr, en = both(store, tmp_path)
    assert ("Demande d'accès (RGPD, article 15) — français : PDF · page HTML · e-mail (.eml) · texte") in fr.lines
    assert [link for link in fr.links if link[0].startswith("xandr-")] == [
        ("xandr-access-fr.pdf", "PDF"), ("xandr-access-fr.html", "page HTML"), ("xandr-access-fr.eml", "e-mail (.eml)"),
        ("xandr-access-fr.txt", "texte"), ("xandr-objection-en.pdf", "PDF")]
    assert ("Objection (GDPR, Article 21) — English: PDF · HTML page (file name refused: ../evil.html) · "
            "e-mail (.eml) (file name refused: ..) · text (file name refused: javascript:alert(1))") in en.lines
    assert ("criteo-access-en.pdf", "PDF") in en.links


def test_letters_in_their_folder_and_the_command_to_note_them_sent(store, tmp_path):
    (tmp_path / "letters").mkdir()
    fr, en = both(store, tmp_path)
    assert [href for href, _ in fr.links if href.endswith(".pdf")] == [
        "letters/xandr-access-fr.pdf", "letters/xandr-objection-en.pdf", "letters/criteo-access-en.pdf"]
    assert ("Une fois une lettre envoyée, notez-le : mouchard me sent xandr access, mouchard me sent xandr "
            "objection") in fr.lines
    assert not [line for line in en.lines if "mouchard me sent criteo" in line]  # its access request is noted
    with pytest.raises(UserError, match="plain folder name"):
        render_page(store.conn, language="fr", today=LATER, letters_folder="../x")


def test_letters_given_by_the_caller_replace_the_table(store, tmp_path):
    out = write_page(store.conn, tmp_path / "index.en.html", language="en", today=LATER,
                     letters={"acxiom": [{"kind": "ccpa-know", "language": "en",
                                          "files": {"pdf": "acxiom-ccpa-know-en.pdf"}},
                                         {"kind": "\ud800<b>", "language": None, "files": {"pdf": "\ud800.pdf"}},
                                         "not a row"],
                              "xandr": None})
    parsed = assert_inert(out.read_text(encoding="utf-8"))
    assert "Right to know request (CCPA) — English: PDF" in parsed.lines
    assert [href for href, _ in parsed.links if href.endswith(".pdf")] == ["acxiom-ccpa-know-en.pdf"]


def test_request_status_from_followup(store, tmp_path):
    fr, en = both(store, tmp_path)
    assert fr.line_with("Demande d'accès (RGPD, article 15), envoyée") == (
        "Demande d'accès (RGPD, article 15), envoyée le 7 décembre 2026, réponse attendue au plus tard le "
        "7 janvier 2027, encore 18 jours, statut : en attente de réponse.")
    assert en.line_with("Access request (GDPR, Article 15), sent") == (
        "Access request (GDPR, Article 15), sent on 7 December 2026, answer due by 7 January 2027, 18 days left, "
        "status: waiting for an answer.")


def test_request_reminder_and_complaint_due(store, monkeypatch):
    def overdue(conn, today, country="FR"):
        return [{"id": 1, "kind": "access", "sent_on": "2026-12-07", "due_on": "2027-01-07", "days_left": -13,
                 "status": "overdue", "reminder_due": True, "complaint_due": True}]

    monkeypatch.setattr(followup, "statuses", overdue)
    parsed = assert_inert(render_page(store.conn, language="en", today=dt.date(2027, 1, 20)))
    assert parsed.line_with("Access request (GDPR, Article 15), sent") == (
        "Access request (GDPR, Article 15), sent on 7 December 2026, answer due by 7 January 2027, 13 days late, "
        "status: deadline passed without an answer, send the reminder now, the deadline has passed: the draft "
        "complaint is ready.")


def test_answer_set_next_to_what_was_seen(store):
    answer = store.insert("me_answers", {"request_id": 1, "company_key": "criteo", "file_name": "export.json",
                                         "imported_at": "2027-01-08T09:00:00Z", "format": "json", "items": 2,
                                         "status": "ok"})
    for path, value in (("$.hashes[0]", "5d41402abc4b2a76b9719d911017c592"), ("$.segments[0]", "sports-lovers-42")):
        store.insert("me_answer_items", {"answer_id": answer, "path": path, "value": value})
    fr = assert_inert(render_page(store.conn, language="fr", today=LATER))
    start = fr.lines.index("Sa réponse")
    assert fr.lines[start:start + 5] == [
        "Sa réponse", "Fichier export.json importé le 8 janvier 2027 : 2 valeurs lues.",
        ("Ce que mouchard l'a vue recevoir et qui figure dans sa réponse : 1. Ce qui manque dans sa réponse : 1. "
         "Valeurs de sa réponse que mouchard ne l'a pas vue recevoir : 1."),
        "Manquent dans sa réponse :",
        "Votre identifiant publicitaire 38400000-8cf0-11bd-b23e-10b96e40000d (dans ifa)"]
    en = assert_inert(render_page(store.conn, language="en", today=LATER))
    assert ("Seen by mouchard and in its answer: 1. Missing from its answer: 1. Values in its answer mouchard did "
            "not see it receive: 1.") in en.lines


@pytest.mark.parametrize("error", [NotImplementedError(), UserError("me_requests 1: bad date")])
def test_request_shown_from_the_table_when_followup_cannot_say(store, monkeypatch, error):
    def fails(conn, today, country="FR"):
        raise error

    monkeypatch.setattr(followup, "statuses", fails)
    parsed = assert_inert(render_page(store.conn, language="fr", today=LATER))
    assert parsed.line_with("Demande d'accès (RGPD, article 15), envoyée") == (
        "Demande d'accès (RGPD, article 15), envoyée le 7 décembre 2026, réponse attendue au plus tard le "
        "7 janvier 2027, statut : en attente de réponse.")
    if isinstance(error, UserError):
        assert "Délais non calculés : me_requests 1: bad date" in parsed.lines


def test_what_to_do_names_the_command_and_the_authority(store, tmp_path):
    fr, en = both(store, tmp_path)
    assert "Notez la date d'envoi, pour que mouchard suive le délai : mouchard me sent <entreprise> <lettre>." \
        in fr.lines
    assert fr.line_with("Sans réponse après ce délai") == (
        "Sans réponse après ce délai, envoyez la relance ; si elle ne répond toujours pas, déposez une plainte "
        "auprès de la CNIL (https://www.cnil.fr/fr/plaintes) : le brouillon de plainte est préparé.")
    assert en.line_with("The company must answer") == (
        "The company must answer within one month of receiving your request (GDPR, Article 12(3)); it may extend "
        "that by two months if it tells you. Under the CCPA the deadline is 45 days.")


def test_hostile_strings_are_shown_as_text_and_inert(store, tmp_path):
    add_company(store, "evil", HOSTILE, [
        item("cookie", HOSTILE, "javascript:alert(3)", recipients=json.dumps([HOSTILE]), source=HOSTILE,
             consent=HOSTILE)],
        domains=json.dumps([HOSTILE]), sources=json.dumps([HOSTILE]), recipients=json.dumps([HOSTILE]),
        contact_url="javascript:alert(4)", contact_email=HOSTILE, contact_address=HOSTILE + "\nline 2")
    store.insert("me_letters", {"company_key": "evil", "kind": HOSTILE, "language": HOSTILE,
                                "files": json.dumps({HOSTILE: HOSTILE, "pdf": "evil.pdf"})})
    fr, en = both(store, tmp_path)
    assert f"Le cookie {HOSTILE} avec la valeur javascript:alert(3)" in fr.lines
    assert "Page ou formulaire : javascript:alert(4)" in fr.lines
    assert f"The cookie {HOSTILE} with the value javascript:alert(3)" in en.lines
    assert [text for href, text in fr.links if href.startswith("#")] == ["Xandr", "Criteo", HOSTILE, "Acxiom"]
    assert ("evil.pdf", "PDF") in fr.links
    raw = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert "<script" not in raw and "<img" not in raw
    assert f'<meta http-equiv="Content-Security-Policy" content="{page.CSP}">' in raw


def test_items_bounded_with_the_rest_in_details(store, tmp_path, monkeypatch):
    monkeypatch.setattr(pagedata, "MAX_ITEMS", 40)
    add_company(store, "many", "Many", [item("cookie", f"c{n:02d}", str(n)) for n in range(45)])
    parsed = Page(render_page(store.conn, language="fr", today=LATER))
    section = parsed.lines[parsed.lines.index("Many", 5):]
    assert sum(line.startswith("Le cookie c") for line in section) == 40
    assert "et 15 de plus" in section
    assert "5 autres ne sont pas affichés ici : ils sont dans la base." in section
    en = Page(render_page(store.conn, language="en", today=LATER))
    assert "and 15 more" in en.lines
    monkeypatch.setattr(pagedata, "MAX_PAGE_ITEMS", 100)  # 4 companies: 25 each, but never fewer than MAX_SHOWN
    parsed = Page(render_page(store.conn, language="fr", today=LATER))
    section = parsed.lines[parsed.lines.index("Many", 5):]
    assert sum(line.startswith("Le cookie c") for line in section) == 30
    assert "15 autres ne sont pas affichés ici : ils sont dans la base." in section
    assert not [line for line in section if line.endswith("de plus")]


def test_empty_database_and_bad_arguments(tmp_path):
    store = Store(tmp_path / "empty.db")
    mark_private(store, {"name": "Jean"})
    parsed = assert_inert(render_page(store.conn, language="fr", today=LATER))
    assert parsed.lines[0] == "Aucune entreprise n'a été vue recevoir des données sur vous dans ces captures"
    with pytest.raises(UserError, match="unknown language"):
        render_page(store.conn, language="de", today=LATER)
    with pytest.raises(UserError, match="does not exist"):
        write_page(store.conn, tmp_path / "missing" / "index.html", language="fr", today=LATER)
    assert page.other_language_name(tmp_path / "report.html", "fr") == "report.en.html"
    assert page.other_language_name(tmp_path / "report.en.html", "en") == "report.html"


# -- any row values: never raise, always inert ------------------------------------------------------------------

@pytest.fixture(scope="module")
def template(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("me") / "template.db")
    mark_private(store, {"name": "Jean"})
    store.close()
    return store.path


ANY = st.one_of(st.none(), st.text(max_size=60), st.binary(max_size=30), st.integers(-2**63, 2**63 - 1), st.floats(),
                st.sampled_from(["cookie", "location", "refused", "site", "app", "access", "fr", "en", "waiting",
                                 "2026-12-07", "2026-12-07T10:00:00Z", "9999-99-99", "[1, 2]", '["a", "<b>"]',
                                 '{"pdf": "a.pdf", "html": "../b"}', "[" * 3000 + "]" * 3000, "gvl:1", "broker:x"]))
COLUMNS = {
    "me_companies": ("key", "name", "domains", "sources", "gvl_vendor_id", "leg_int_purposes", "broker_registries",
                     "items", "first_seen", "last_seen", "recipients", "contact_email", "contact_url",
                     "contact_address", "contact_source", "contact_source_id"),
    "me_received": ("company_id", "kind", "name", "value", "host", "source", "source_kind", "first_seen",
                    "last_seen", "times", "consent", "precision_m", "recipients"),
    "me_letters": ("company_key", "kind", "language", "files"),
    "me_requests": ("company_key", "kind", "sent_on", "due_on", "extended_to", "answered_on", "status"),
    "me_answers": ("request_id", "company_key", "imported_at", "file_name", "items", "status", "reason"),
    "me_answer_items": ("answer_id", "path", "value"),
}


def rows_of(table: str):
    return st.lists(st.fixed_dictionaries({c: ANY for c in COLUMNS[table]}), max_size=3)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(companies=rows_of("me_companies"), received=rows_of("me_received"), letters=rows_of("me_letters"),
       requests=rows_of("me_requests"), answers=rows_of("me_answers"), answer_items=rows_of("me_answer_items"),
       invalid_utf8=st.booleans())
def test_any_row_values_render_inert(template, companies, received, letters, requests, answers, answer_items,
                                     invalid_utf8):
    conn = sqlite3.connect(":memory:")
    with sqlite3.connect(template) as source:
        source.backup(conn)
    for table, rows in (("me_companies", companies), ("me_received", received), ("me_letters", letters),
                        ("me_requests", requests), ("me_answers", answers), ("me_answer_items", answer_items)):
        for n, row in enumerate(rows, 1):
            link = {"me_companies": "id", "me_received": "company_id", "me_answers": "id",
                    "me_answer_items": "answer_id"}.get(table)
            if link:  # rows that refer to each other, so that every section is reached
                row = {**row, link: n}
            if "company_key" in row and n <= len(companies):
                row = {**row, "company_key": companies[n - 1]["key"]}
            # as hostile as SQLite allows: blobs cast to text hold invalid UTF-8
            cast = "CAST(? AS TEXT)" if invalid_utf8 else "?"
            conn.execute(f"INSERT OR IGNORE INTO {table} ({', '.join(row)}) VALUES ({', '.join([cast] * len(row))})",
                         [None if isinstance(v, float) and math.isnan(v) else v for v in row.values()])
    for language in ("fr", "en"):
        assert_inert(render_page(conn, language=language, today=LATER, other="index.en.html"))
    conn.close()
