"""Letters of `mouchard me`: exact wording in French and English, the PDF's extracted text, the e-mail's headers,
the files written, and hostile crawled strings (company names, cookie names and values) kept inert everywhere."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import io
import os
import re
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from mouchard.errors import UserError
from mouchard.me.letters import complaint_letter, kinds_for, letters_for, reminder_letter, write_letter_files
from mouchard.me.mail import letter_email, valid_email
from mouchard.me.model import Company, Contact, Letter, Person, Received, file_stem
from mouchard.me.pdf import letter_pdf
from mouchard.me.phrases import item_phrase
from mouchard.me.words import PURPOSES, date_words, parse_day

TODAY = dt.date(2026, 12, 7)
NOW = dt.datetime(2026, 12, 7, 9, 30, tzinfo=dt.UTC)
PERSON = Person("Jean Dupont", "jean.dupont@example.org", "12 rue de l'Exemple\n75007 Paris")
UUID2 = Received("cookie", "uuid2", "d9503fb7064940bda89f8b03c648ed", "adnxs.com", "www.example-news.fr", "site",
                 "2026-12-06T10:00:00Z", "2026-12-06T10:00:00Z", consent="refused")
COOKIE_FR = ("le cookie `uuid2` de valeur `d9503fb7064940bda89f8b03c648ed` déposé sur `adnxs.com` le 6 décembre 2026, "
             "lors de ma visite de www.example-news.fr (après avoir refusé le consentement)")
COOKIE_EN = ("the cookie `uuid2` with value `d9503fb7064940bda89f8b03c648ed` set on `adnxs.com` on 6 December 2026, "
             "when I visited www.example-news.fr (after I refused consent)")
REQUEST = {"kind": "access", "sent_on": "2026-11-01", "due_on": "2026-12-01"}


def company(**changes) -> Company:
    fields = {"key": "microsoft", "name": "Microsoft", "gvl_vendor_id": 32, "leg_int_purposes": (2, 7),
              "received": (UUID2,), "recipients": ("Criteo", "The Trade Desk"),
              "contact": Contact(email="privacy@microsoft.com")}
    fields.update(changes)
    return Company(**fields)


def one(kind: str, language: str, c: Company | None = None):
    return letters_for(c or company(), PERSON, language=language, today=TODAY, kinds=[kind])[0]


def pdf_words(data: bytes) -> str:
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    return " ".join(text.split())


def words(text: str) -> str:
    return " ".join(text.split())


# --- content -----------------------------------------------------------------------------------------------------

def test_access_letter_quotes_the_cookie_exactly_in_french_and_english():
    fr, en = one("access", "fr"), one("access", "en")
    assert f"- {COOKIE_FR}\n" in fr.text
    assert f"- {COOKIE_EN}\n" in en.text
    assert fr.subject == "Microsoft : demande d'accès à mes données personnelles (article 15 du RGPD)"
    assert en.subject == "Microsoft: request for access to my personal data (GDPR Article 15)"
    assert fr.recipient == en.recipient == "privacy@microsoft.com"
    assert "Paris, le 7 décembre 2026\n" in fr.text and "Paris, 7 December 2026\n" in en.text
    assert fr.text.startswith("Jean Dupont\n12 rue de l'Exemple\n75007 Paris\njean.dupont@example.org\n\nMicrosoft\n"
                              "À l'attention du délégué à la protection des données\nprivacy@microsoft.com\n")


def test_access_letter_names_the_recipients_and_the_articles():
    fr, en = one("access", "fr"), one("access", "en")
    assert ("(article 15(1)(c)), nommément, par exemple les enchérisseurs des enchères que vous avez organisées et "
            "les entreprises avec lesquelles vous avez synchronisé mes identifiants : Criteo, The Trade Desk ;"
            ) in fr.text
    assert ("by name, for example the bidders of the auctions you ran and the companies you synced my identifiers "
            "with: Criteo, The Trade Desk;") in en.text
    for article in ("15(1) et 15(3)", "15(1)(a)", "15(1)(b)", "15(1)(d)", "15(1)(g)", "15(1)(h)", "11(2) et 12(2)",
                    "12(3)", "12(5)"):
        assert article in fr.text, article
    assert ("You have one month from receipt of this request to answer (Article 12(3)), free of charge (Article "
            "12(5)). Please answer to jean.dupont@example.org.") in en.text


def test_objection_names_purposes_2_and_7_and_needs_them():
    fr, en = one("objection", "fr"), one("objection", "en")
    assert "- finalité 2 : « Utiliser des données limitées pour sélectionner la publicité »\n" in fr.text
    assert "- finalité 7 : « Mesurer la performance des publicités »\n" in fr.text
    assert "- purpose 2: “Use limited data to select advertising”\n" in en.text
    assert "- purpose 7: “Measure advertising performance”\n" in en.text
    assert "Microsoft (vendor 32) declares" in en.text
    assert "Article 21(1) GDPR, I object" in en.text and "Under Article 21(2) and 21(3)" in en.text
    assert letters_for(company(leg_int_purposes=()), PERSON, language="fr", today=TODAY, kinds=["objection"]) == []


def test_kinds_follow_the_vendor_list_and_the_regimes():
    assert kinds_for(company()) == ["access", "objection", "erasure"]
    assert kinds_for(company(leg_int_purposes=())) == ["access", "erasure"]
    assert kinds_for(company(regimes=("gdpr", "ccpa"))) == ["access", "objection", "erasure", "ccpa-know",
                                                              "ccpa-delete"]
    assert [x.kind for x in letters_for(company(), PERSON, language="en", today=TODAY)] == [
        "access", "objection", "erasure"]
    with pytest.raises(UserError):
        letters_for(company(), PERSON, language="de", today=TODAY)
    with pytest.raises(UserError):
        letters_for(company(), PERSON, language="fr", today=TODAY, kinds=["reminder"])


def test_erasure_cites_17_1_c_and_d_and_article_19():
    en = one("erasure", "en")
    assert ("- the data were processed without a valid legal basis: they reached you when I had refused consent or "
            "when it was never asked, as each item below says (Article 17(1)(d)).\n") in en.text
    assert "(Article 17(1)(c));\n" in en.text
    accepted = one("erasure", "fr", company(received=(UUID2, Received(
        "cookie", "c", "v", "h.example", "s.example", "site", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z",
        consent="accepted"))))
    assert ("- pour les données transmises après que j'ai accepté le consentement : je retire ce consentement "
            "(article 7(3)) et le traitement n'a pas d'autre fondement (article 17(1)(b)).\n") in accepted.text
    assert ("I also ask you to notify this erasure to each recipient to whom the data were disclosed (Article 19), "
            "including: Criteo, The Trade Desk, and to tell me who they are.") in en.text


def test_ccpa_letters_cite_the_california_code():
    broker = company(regimes=("gdpr", "ccpa"), broker_registries=("California",))
    know, delete = one("ccpa-know", "en", broker), one("ccpa-delete", "fr", broker)
    assert "Under Cal. Civ. Code §1798.110 and §1798.115, I request that you disclose to me:" in know.text
    assert "You must answer within 45 days of receiving this request (§1798.130(a)(2))." in know.text
    assert "Delete Request and Opt-out Platform (DROP)" in know.text and "§1798.99.80 et seq." in know.text
    assert "En application du §1798.105 du Cal. Civ. Code, je vous demande de supprimer" in delete.text
    assert "celles du droit californien" in delete.text
    assert f"- {COOKIE_FR}\n" in delete.text


def test_each_kind_of_item_is_phrased():
    def item(kind, name, value, **kw):
        base = {"host": "h.example", "source": "site.example", "source_kind": "site",
                "first_seen": "2026-03-01T23:30:00Z", "last_seen": "2026-03-01T23:30:00Z"}
        base.update(kw)
        return Received(kind, name, value, **base)

    sha = "a" * 64
    assert item_phrase(item("email_hash", "em", sha, consent="none-asked"), "fr") == (
        f"mon adresse e-mail hachée en SHA-256 : `{sha}`, reçue par `h.example` le 1er mars 2026 (champ `em`), lors "
        "de ma visite de site.example (sans qu'aucun consentement m'ait été demandé)")
    assert item_phrase(item("phone_hash", "ph_md5", "x"), "en") == (
        "my phone number hashed with MD5: `x`, received by `h.example` on 1 March 2026 (field `ph_md5`), when I "
        "visited site.example")
    assert item_phrase(item("location", "geo", "48.85, 2.29", precision_m=1234.4, source="app.id", source_kind="app"),
                       "en") == ("my location `48.85, 2.29` (accurate to about 1,234 m) received by `h.example` on 1 "
                                 "March 2026 (field `geo`), from the app app.id")
    assert item_phrase(item("location", None, "48.85, 2.29", precision_m=1234.4), "fr") == (
        "ma position `48.85, 2.29` (à environ 1 234 m près) reçue par `h.example` le 1er mars 2026, lors de ma visite "
        "de site.example")
    assert item_phrase(item("bid_field", "user.buyeruid", "B1", recipients=("Criteo", "Index"), consent="gpc"),
                       "en") == (
        "the field `user.buyeruid` with value `B1` of an advertising bid request received by `h.example` on 1 March "
        "2026, passed to the bidders: Criteo, Index, when I visited site.example (while my browser sent the Global "
        "Privacy Control signal)")
    assert item_phrase(item("connection", None, None, source="com.app", source_kind="app", times=4,
                            last_seen="2026-03-05T00:00:00Z"), "fr") == (
        "une connexion de l'application `com.app` à `h.example` le 1er mars 2026, 4 fois jusqu'au 5 mars 2026")
    assert item_phrase(item("page_view", None, "https://site.example/a", consent="no-choice"), "en") == (
        "my visit to the page `https://site.example/a`, reported to `h.example` on 1 March 2026, when I visited "
        "site.example (the consent banner was shown and I had made no choice)")
    assert item_phrase(item("id_sync", "uid", "U9", consent="withdrawn"), "fr") == (
        "l'identifiant `uid` de valeur `U9` synchronisé avec `h.example` le 1er mars 2026, lors de ma visite de "
        "site.example (après avoir retiré mon consentement)")
    assert item_phrase(item("advertising_id", "ifa", "AAAA-1", source="app", source_kind="app"), "en") == (
        "my advertising ID `AAAA-1` received by `h.example` on 1 March 2026 (field `ifa`), from the app app")
    assert item_phrase(item("ssn", "n", "v", consent="accepted"), "en") == (
        "the `ssn` identifier `n` with value `v` received by `h.example` on 1 March 2026, when I visited site.example "
        "(after I accepted consent)")


def test_dates_are_words_in_utc_without_locale():
    assert date_words("2026-12-01T00:30:00+02:00", "fr") == "30 novembre 2026"
    assert date_words("2026-12-01T00:30:00Z", "fr") == "1er décembre 2026"
    assert date_words("2026-08-15", "en") == "15 August 2026"
    assert date_words("not a date\n", "en") == "not a date\\u{000a}"
    assert date_words(None, "fr") == "(date inconnue)" and date_words("", "en") == "(unknown date)"
    assert date_words(dt.date(2026, 12, 1), "fr", year=False) == "1er décembre"
    assert date_words(dt.date(2026, 12, 1), "en", month=False, year=False) == "1"


def test_purposes_use_iab_europes_official_french_names():
    # purposes-fr.json of the vendor list (TCF 2.2): what French consent banners show; the page uses the same table
    assert PURPOSES[5][0] == "Créer des profils de contenus personnalisés"
    assert PURPOSES[6][0] == "Utiliser des profils pour sélectionner des contenus personnalisés"
    assert PURPOSES[8][0] == "Mesurer la performance des contenus"
    text = one("objection", "fr", company(leg_int_purposes=(8, 5))).text
    assert ("- finalité 5 : « Créer des profils de contenus personnalisés »\n"
            "- finalité 8 : « Mesurer la performance des contenus »\n") in text


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=80))
def test_any_date_text_is_a_day_or_quoted_on_one_line(text):
    day = parse_day(text)
    said = date_words(text, "fr")
    if day is not None:
        assert said == date_words(day, "fr")
    # one line, however hostile: control, format and line separators are escaped, at most 64 characters quoted
    assert not [c for c in said if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp")]
    assert len(said) <= 64 * len("\\u{10ffff}") + len(" […99]")


def test_long_lists_go_to_an_annex():
    items = tuple(Received("cookie", f"c{i:02d}", f"v{i}", "t.example", "s.example", "site",
                           f"2026-01-{1 + i % 28:02d}T00:00:00Z", f"2026-01-{1 + i % 28:02d}T00:00:00Z")
                  for i in range(60))
    text = one("access", "en", company(received=items)).text
    body, annex = text.split("Annex: the 60 items observed\n", 1)
    assert body.count("\n- the cookie ") == 50
    assert "… and 10 more items, all listed in the annex." in body
    assert annex.count("\n- the cookie ") == 60


def test_recipient_falls_back_to_url_then_address_then_says_not_found():
    assert one("access", "en", company(contact=Contact(email="bad address", url="https://x.example/privacy"))
               ).recipient == "https://x.example/privacy"
    assert one("access", "fr", company(contact=Contact(address="1 Main St\nDublin"))).recipient == "1 Main St, Dublin"
    lost = one("access", "en", company(contact=Contact()))
    assert lost.recipient is None
    assert "\n(contact not found: look for the privacy contact on its website)\n" in lost.text
    fr = one("access", "fr", company(contact=Contact()))
    assert "\n(contact introuvable : cherchez le contact « vie privée » sur son site web)\n" in fr.text


def test_reminder_and_complaint():
    reminder = reminder_letter(company(), PERSON, REQUEST, language="fr", today=TODAY)
    assert ("Le délai d'un mois prévu à l'article 12(3) du RGPD a expiré le 1er décembre 2026. Je vous demande d'y "
            "répondre sans attendre ; à défaut, j'introduirai une réclamation auprès de l'autorité de protection des "
            "données, Commission nationale de l'informatique et des libertés (CNIL), en application de l'article 77 "
            "du RGPD.") in reminder.text
    assert "Le 1er novembre 2026, je vous ai adressé une demande d'accès (article 15 du RGPD)." in reminder.text
    assert reminder.kind == "reminder" and reminder.subject == (
        "Microsoft : relance de ma demande d'accès (article 15 du RGPD)")
    complaint = complaint_letter(company(), PERSON, REQUEST, language="fr", today=TODAY)
    assert ("Commission nationale de l'informatique et des libertés (CNIL)\n3 place de Fontenoy\nTSA 80715\n"
            "75334 Paris Cedex 07\nFormulaire en ligne : https://www.cnil.fr/fr/plaintes\n") in complaint.text
    assert complaint.recipient == "https://www.cnil.fr/fr/plaintes"
    assert ("- Le 1er novembre 2026, j'ai adressé à Microsoft une demande d'accès (article 15 du RGPD) à "
            "privacy@microsoft.com.\n") in complaint.text
    assert f"- {COOKIE_FR}\n" in complaint.text
    other = complaint_letter(company(), Person("A", country="DE"), REQUEST, language="en", today=TODAY)
    assert "(list of EEA authorities: https://www.edpb.europa.eu/about-edpb/about-edpb/members_en)" in other.text
    ccpa = reminder_letter(company(regimes=("gdpr", "ccpa")), PERSON,
                           {"kind": "ccpa-delete", "sent_on": "2026-10-01", "due_on": "2026-11-15",
                            "extended_to": "2026-12-30"}, language="en", today=dt.date(2027, 1, 4))
    assert ("The 45-day deadline of Cal. Civ. Code §1798.130(a)(2) expired on 30 December 2026. Please answer "
            "without further delay; otherwise I will file a complaint with the California Privacy Protection "
            "Agency.") in ccpa.text
    assert "On 1 October 2026, I sent you a request to delete (Cal. Civ. Code §1798.105)." in ccpa.text
    with pytest.raises(UserError):
        reminder_letter(company(), PERSON, {"kind": "access", "sent_on": "yesterday"}, language="en", today=TODAY)


# --- PDF -----------------------------------------------------------------------------------------------------------

def test_pdf_text_holds_the_letter_lines():
    for language, line in (("fr", COOKIE_FR), ("en", COOKIE_EN)):
        letter = one("access", language)
        extracted = pdf_words(letter_pdf(letter))
        assert words(line) in extracted
        for paragraph in letter.text.split("\n"):
            assert words(paragraph) in extracted, paragraph


def test_pdf_breaks_long_values_escapes_other_scripts_and_numbers_pages():
    value = "Z" * 300
    items = tuple(Received("cookie", f"k{i}", value, "t.example", "s.example", "site", "2026-01-01T00:00:00Z",
                           "2026-01-01T00:00:00Z") for i in range(40))
    letter = one("access", "en", company(name="Snow ☃ Corp", received=items))
    data = letter_pdf(letter)
    reader = PdfReader(io.BytesIO(data))
    assert data.startswith(b"%PDF-") and len(reader.pages) >= 3
    assert reader.pages[0].mediabox.width == pytest.approx(595.28, abs=0.1)  # A4
    last = len(reader.pages)
    assert f"{last}/{last}" in reader.pages[-1].extract_text()
    # A value cut by a page break has the page number between its halves: take the footers out first.
    squeezed = re.sub(r"\s+", "", pdf_words(data))
    for page in range(1, last + 1):
        squeezed = squeezed.replace(f"{page}/{last}", "")
    assert squeezed.count(value) == 40
    assert "Snow\\u{2603}Corp" in squeezed


# --- e-mail --------------------------------------------------------------------------------------------------------

def parse(data: bytes):
    return email.message_from_bytes(data, policy=email.policy.default)


def test_email_headers_body_and_attachment():
    letter = one("access", "fr")
    pdf = letter_pdf(letter)
    message = parse(letter_email(letter, PERSON, pdf, now=NOW))
    assert message["From"] == "Jean Dupont <jean.dupont@example.org>"
    assert message["To"] == "privacy@microsoft.com"
    assert message["Subject"] == "Microsoft : demande d'accès à mes données personnelles (article 15 du RGPD)"
    assert message["Date"] == "Mon, 07 Dec 2026 09:30:00 +0000"
    body = message.get_body(("plain",)).get_content()
    assert f"- {COOKIE_FR}\r\n" in body  # SMTP policy: CRLF line ends
    attachment = next(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == "microsoft-access-fr.pdf"
    assert attachment.get_content() == pdf


@pytest.mark.parametrize("contact", ["a@b.example\r\nBcc: victim@example.org", "a@b.example, c@d.example",
                                     "Name <a@b.example>", "a@b.example\nX: y", "not an address"])
def test_email_refuses_anything_but_one_address(contact):
    c = company(name="Evil\r\nBcc: victim@example.org\r\n\r\nbody", contact=Contact(email=contact))
    letter = one("access", "en", c)
    data = letter_email(letter, PERSON, None, now=NOW)
    message = parse(data)
    assert message["To"] is None and message["Bcc"] is None and message["X"] is None
    # The letter already shows the control characters; the header stays one line whatever reaches it.
    assert message["Subject"] == ("Evil\\u{000d}\\u{000a}Bcc: victim@example.org\\u{000d}\\u{000a}\\u{000d}\\u{000a}"
                                  "body: request for access to my personal data (GDPR Article 15)")
    head = data.split(b"\r\n\r\n", 1)[0]
    assert b"\r\nBcc" not in head and b"\nBcc" not in head
    assert "[Note from mouchard, delete before sending: no valid e-mail address was found" in \
        message.get_body(("plain",)).get_content()


def test_email_keeps_headers_on_one_line_whatever_the_letter_holds():
    letter = Letter("k", "K", "access", "en", "a@b.example\r\nBcc: x@y.example", "Hi\r\nBcc: x@y.example\x00!", "t",
                    "<p>t</p>", TODAY)
    hostile = Person("Eve\r\nBcc: x@y.example", "eve@example.org")
    message = parse(letter_email(letter, hostile, None, now=NOW))
    assert message["Subject"] == "Hi Bcc: x@y.example !"
    assert message["From"] == "\"Eve Bcc: x@y.example\" <eve@example.org>"  # quoted: one display name
    assert message["To"] is None and message["Bcc"] is None
    assert message.get_body(("plain",)).get_content().startswith(
        "[Note from mouchard, delete before sending: no valid e-mail address was found for this company; add the "
        "recipient yourself (known contact: a@b.example Bcc: x@y.example).]\r\n\r\nt")


def test_valid_email():
    assert valid_email("dpo@example.co.uk") and valid_email("a.b+c@x-y.example")
    for bad in ("a@b", "a b@c.example", "a@b.example\n", "<a@b.example>", "a@b.example,c@d.example", "é@b.example",
                "a@-b.example", ".a@b.example", None, "a" * 65 + "@b.example"):
        assert not valid_email(bad), bad


# --- hostile strings -----------------------------------------------------------------------------------------------

def test_hostile_strings_are_inert_in_html():
    hostile = Received("cookie", "<img src=x onerror=alert(1)>", "</p><script>alert(1)</script>",
                       "evil.example\u202e", "<b>site</b>", "site", "2026-12-06T10:00:00Z", "2026-12-06T10:00:00Z")
    c = company(name="</title><script>alert(2)</script>", received=(hostile,),
                recipients=("<iframe src=//x>",))
    for letter in letters_for(c, PERSON, language="fr", today=TODAY):
        page = letter.html
        assert page.startswith("<!DOCTYPE html>") and page.endswith("</html>\n")
        assert "<link" not in page and "url(" not in page  # no external resource
        assert "<script" not in page and "<img" not in page and "<iframe" not in page and "<b>" not in page
        assert "&lt;/p&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert "src=" not in page.replace("&lt;img src=x", "").replace("&lt;iframe src=", "")
        assert "evil.example\\u{202e}" in page  # a right-to-left override cannot reverse the letter
        assert "\u202e" not in letter.text


hostile_text = st.text(st.characters(codec="utf-8", exclude_categories=()), max_size=300) | \
    st.sampled_from(["</p><script>", "\r\nBcc: a@b.example", "\udc80", "\x00", "a" * 400, "😀\u200f\u2028"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=hostile_text, cookie=hostile_text, value=hostile_text, host=hostile_text, source=hostile_text)
def test_any_crawled_text_renders_in_every_format(name, cookie, value, host, source):
    item = Received("cookie", cookie, value, host, source, "site", "2026-12-06T10:00:00Z", "2026-12-06T10:00:00Z",
                    consent="refused", recipients=(name,))
    c = company(key=name, name=name, received=(item,), recipients=(name,), contact=Contact(email=name, url=name,
                                                                                          address=name))
    letter = one("access", "en", c)
    assert "<script" not in letter.html
    data = letter_email(letter, PERSON, letter_pdf(letter), now=NOW)
    message = parse(data)
    assert "\n" not in message["Subject"] and message["Bcc"] is None
    assert PdfReader(io.BytesIO(letter_pdf(letter))).pages[0].extract_text()
    letter.text.encode("utf-8")  # no lone surrogate survives


# --- files ---------------------------------------------------------------------------------------------------------

def test_write_letter_files(tmp_path):
    letter = one("objection", "en", company(key="../../Etc/Passwd\n"))
    files = write_letter_files(letter, PERSON, tmp_path)
    assert files == {"txt": "etc-passwd-objection-en.txt", "html": "etc-passwd-objection-en.html",
                     "pdf": "etc-passwd-objection-en.pdf", "eml": "etc-passwd-objection-en.eml"}
    assert sorted(os.listdir(tmp_path)) == sorted(files.values())
    assert (tmp_path / files["txt"]).read_text(encoding="utf-8") == letter.text
    assert (tmp_path / files["pdf"]).read_bytes().startswith(b"%PDF-")
    assert (tmp_path / files["txt"]).stat().st_mode & 0o777 == 0o600


@settings(max_examples=200, deadline=None)
@given(key=st.text(max_size=200))
def test_file_names_are_slugs_whatever_the_key(key):
    stem = file_stem(Letter(key, "K", "reminder", "fr", None, "s", "t", "h", TODAY))
    assert re.fullmatch(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?-reminder-fr|company-reminder-fr", stem), stem


def test_write_letter_files_refuses_a_symlink_and_a_missing_folder(tmp_path):
    letter = one("access", "fr")
    victim = tmp_path / "victim"
    victim.write_text("keep")
    (tmp_path / "microsoft-access-fr.html").symlink_to(victim)
    with pytest.raises(UserError):
        write_letter_files(letter, PERSON, tmp_path)
    assert victim.read_text() == "keep"
    with pytest.raises(UserError):
        write_letter_files(letter, PERSON, tmp_path / "missing")
