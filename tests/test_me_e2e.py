"""`mouchard me` end to end, as a person would run it: their own browser profile (made here by reading a news site
in Chromium) crawled again with `mouchard me crawl`, their phone's PCAPdroid capture (made here from real TLS
sessions carrying their values) imported with `mouchard me import`, the test web's IAB vendor list and a
company contact database fetched, then `mouchard me report`: the companies, the exact identifiers each received,
and the letters in French and English, read back from their PDFs as text. Then the follow-up: sent, deadline,
an answer's export set next to what was observed. And the database never leaves the machine."""

from __future__ import annotations

import asyncio
import importlib.util
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import NO_CALLS, needs
from demoweb.sites.consent_vendors import GVL_HOST, INFIDELE

ROOT = Path(__file__).resolve().parents[1]
ME = ROOT / "tests" / "data" / "me" / "me.yml"
ANDROID = ROOT / "demoweb" / "data" / "profiles" / "android.yml"
CONTACTS = ROOT / "tests" / "data" / "me" / "datenanfragen-sample.json"
TODAY = "2026-12-07"
GAID, ANDROID_ID, IMEI = "38400000-8cf0-11bd-b23e-10b96e40000d", "9774d56d682e549c", "356938035643809"


def mouchard(*args: str, timeout: int = 400) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "mouchard", *args], capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    return result


async def _read_the_news(testweb, folder: Path) -> tuple[str, dict[str, str]]:
    """The person's own Chromium profile: they read www.example-news.fr in it; returns the profile folder and the
    cookies their browser kept, by name."""
    from playwright.async_api import async_playwright

    from crawler.browser.launch import LaunchPlan
    from crawler.browser.profile import new_profile
    from mouchard.browser import find_browser

    plan = LaunchPlan(find_browser(), extra_args=tuple(testweb.chromium_args(proxy=True)))
    profile = new_profile(str(folder))  # in a folder the browser's unprivileged user may traverse (0711)
    async with async_playwright() as p:
        context = await p.chromium.launch_persistent_context(profile, **plan.options())
        page = context.pages[0] if context.pages else await context.new_page()
        await page.goto("https://www.example-news.fr/", wait_until="networkidle", timeout=60000)
        cookies = await context.cookies()
        await context.close()
    return profile, {c["name"]: c["value"] for c in cookies}


def _phone_capture(folder: Path) -> Path:
    spec = importlib.util.spec_from_file_location("make_pcapdroid",
                                                  ROOT / "tests" / "data" / "phone_captures" / "make_pcapdroid.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.make(folder, module.values_of(ANDROID))["pcapng"]


@pytest.fixture(scope="module")
def person(testweb, tmp_path_factory):
    """Everything a person does before reading their page: returns (db, report folder, their browser's cookies)."""
    needs([] if shutil.which("tshark") else ["tshark"], "scripts/setup.sh installs it (apt-get install tshark)")
    from crawler.browser.profile import new_profile_root

    folder = tmp_path_factory.mktemp("me")
    db = folder / "me.db"
    browser_root = new_profile_root("mouchard-me-test-")
    request_cleanup = lambda: shutil.rmtree(browser_root, ignore_errors=True)  # noqa: E731
    profile, cookies = asyncio.run(_read_the_news(testweb, Path(browser_root)))
    browser = [f"--browser-arg={flag}" for flag in testweb.chromium_args(proxy=True)]
    sites = folder / "sites.txt"  # the sites the person uses, e.g. from their bookmarks
    sites.write_text(f"https://{INFIDELE}/\n", encoding="utf-8")
    mouchard("me", "crawl", "--me", str(ME), "--db", str(db), "--browser-profile", profile, "--timeout", "20",
             *NO_CALLS, *browser, "--list", str(sites), "https://www.example-news.fr/")
    mouchard("me", "import", str(_phone_capture(folder / "phone")), "--me", str(ME), "--db", str(db))
    mouchard("vendors", "fetch", "--db", str(db), "--source", testweb.url(GVL_HOST, "/v3/vendor-list.json"),
             "--host-map", "*=127.0.0.1", "--ca-file", testweb.ca_pem_path, "--no-disclosures")
    mouchard("me", "contacts", "--db", str(db), "--source", str(CONTACTS))
    out = folder / "report"
    printed = mouchard("me", "report", "--db", str(db), "--out", str(out), "--today", TODAY).stdout
    request_cleanup()
    return db, out, cookies, printed


MONTHS = {"fr": ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
                 "novembre", "décembre"),
          "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
                 "November", "December")}
COMPANIES = ["ads.tracker-one.test", "config.game-cdn.test", "Google", "Hotjar", "Magnite", "Meta", "Microsoft",
             "pinned.example-cdn.test", "rt.sdk-two.test", "t.sdk-two.test", "Taboola", "Twilio"]


def said_on(iso: str, language: str) -> str:
    """A UTC time as the letters write the day: '7 décembre 2026' (1er for the first), '7 December 2026'."""
    year, month, day = int(iso[:4]), int(iso[5:7]), int(iso[8:10])
    first = "1er" if language == "fr" and day == 1 else str(day)
    return f"{first} {MONTHS[language][month - 1]} {year}"


def received(db: Path) -> dict[tuple[str, str, str | None], tuple]:
    """(company, kind, name) -> (value, host, source, consent, first_seen) of every item but page views."""
    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT c.name, r.kind, r.name, r.value, r.host, r.source, r.consent, r.first_seen "
                        "FROM me_received r JOIN me_companies c ON c.id = r.company_id "
                        "WHERE r.kind != 'page_view'").fetchall()
    conn.close()
    found = {(r[0], r[1], r[2]): r[3:] for r in rows}
    assert len(found) == len(rows), rows  # one item per company, kind and name here
    return found


def pdf_text(path: Path) -> str:
    from pypdf import PdfReader

    return "".join("".join(page.extract_text() for page in PdfReader(path).pages).split())


def squeezed(text: str) -> str:
    return "".join(text.split())


def test_the_companies_and_what_each_received_are_the_expected_ones(person):
    db, _out, cookies, printed = person
    conn = sqlite3.connect(db)
    names = [r[0] for r in conn.execute("SELECT name FROM me_companies ORDER BY lower(name)")]
    assert names == sorted(COMPANIES, key=str.lower)
    assert printed.splitlines()[0].startswith("12 companies received data about you")
    assert printed.splitlines()[1] == "10 companies without a known privacy contact: their letters say so"
    items = received(db)
    # The person's own browser profile was used: each tracker got the id their own browser already held.
    for company, cookie, host in (("Microsoft", "uuid2", "adnxs.com"), ("Google", "IDE", "doubleclick.net"),
                                  ("Meta", "fr", "facebook.com"), ("Taboola", "t_gid", "taboola.com"),
                                  ("Magnite", "khaos", "rubiconproject.com")):
        value, where, source, consent, _ = items[(company, "cookie", cookie)]
        assert (value, where, source, consent) == (cookies[cookie], host, "example-news.fr", "none-asked")
    # AppNexus's id, synced to Magnite in the sync chain's URL.
    assert items[("Magnite", "id_sync", "uuid2")][:3] == (cookies["uuid2"], "rubiconproject.com", "example-news.fr")
    # The phone: the apps' leaks of the person's own values, each where the capture sent it.
    phone = {key: value[:3] for key, value in items.items() if value[2].startswith("com.example.")}
    assert phone == {
        ("ads.tracker-one.test", "cookie", "tid"): ("ab12cd34ef56ab78", "ads.tracker-one.test", "com.example.game"),
        ("ads.tracker-one.test", "advertising_id", "$.device.ifa"): (GAID, "ads.tracker-one.test", "com.example.game"),
        ("ads.tracker-one.test", "location", "$.device.geo.lat"):
            ("48.85837, 2.29448", "ads.tracker-one.test", "com.example.game"),
        ("ads.tracker-one.test", "bid_field", "device.geo"): (None, "ads.tracker-one.test", "com.example.game"),
        ("ads.tracker-one.test", "bid_field", "device.ifa"): (None, "ads.tracker-one.test", "com.example.game"),
        ("config.game-cdn.test", "imei", "imei"): (IMEI, "config.game-cdn.test", "com.example.game"),
        ("pinned.example-cdn.test", "connection", None): (None, "pinned.example-cdn.test", "com.example.game"),
        ("rt.sdk-two.test", "location", "message 1"): ("48.85837, 2.29448", "rt.sdk-two.test", "com.example.maps"),
        ("t.sdk-two.test", "android_id", "android_id"): (ANDROID_ID, "t.sdk-two.test", "com.example.maps"),
        ("t.sdk-two.test", "imei", "$.imei"): (IMEI, "t.sdk-two.test", "com.example.maps"),
    }
    rows = {r[0]: r[1:] for r in conn.execute(
        "SELECT name, gvl_vendor_id, leg_int_purposes, recipients, contact_email, contact_source FROM me_companies")}
    assert rows["Microsoft"] == (32, "[]", '["Magnite"]', "privacy-test@microsoft.com", "datenanfragen")
    assert rows["Google"][:3] == (755, "[2, 7]", "[]") and rows["Google"][4] == "gvl"
    conn.close()


def test_letters_quote_the_exact_identifiers_in_both_languages_in_their_pdfs(person):
    db, out, cookies, _ = person
    letters = out / "letters"
    seen = received(db)[("Microsoft", "cookie", "uuid2")][4]
    quotes = {"fr": f"le cookie `uuid2` de valeur `{cookies['uuid2']}` déposé sur `adnxs.com` le "
                    f"{said_on(seen, 'fr')}, lors de ma visite de example-news.fr (sans qu'aucun consentement m'ait "
                    "été demandé)",
              "en": f"the cookie `uuid2` with value `{cookies['uuid2']}` set on `adnxs.com` on {said_on(seen, 'en')}, "
                    "when I visited example-news.fr"}
    for language, quote in quotes.items():
        text = (letters / f"microsoft-access-{language}.txt").read_text(encoding="utf-8")
        assert quote in text
        assert squeezed(quote) in pdf_text(letters / f"microsoft-access-{language}.pdf")
        assert "Magnite" in text.split("15(1)(c)")[1].split("\n")[0]  # the recipients mouchard saw
    ad_id = pdf_text(letters / "ads-tracker-one-test-access-fr.pdf")
    assert squeezed(f"`{GAID}`") in ad_id and "com.example.game" in ad_id
    assert squeezed(f"`{IMEI}`") in pdf_text(letters / "t-sdk-two-test-access-en.pdf")
    objection = {language: pdf_text(letters / f"google-objection-{language}.pdf") for language in ("fr", "en")}
    assert "article21" in objection["fr"].lower() and "Article21" in objection["en"]
    assert squeezed("Use limited data to select advertising") in objection["en"]
    assert squeezed("Measure advertising performance") in objection["en"]
    assert not (letters / "microsoft-objection-fr.pdf").exists()  # Microsoft claims no legitimate interest
    import email
    import email.policy

    message = email.message_from_bytes((letters / "microsoft-access-fr.eml").read_bytes(), policy=email.policy.SMTP)
    assert (message["To"], message["From"].addresses[0].addr_spec) == \
        ("privacy-test@microsoft.com", "jean.dupont.mouchard@example.org")
    assert [part.get_filename() for part in message.iter_attachments()] == ["microsoft-access-fr.pdf"]


def test_the_person_s_page_says_who_received_what(person):
    _db, out, cookies, _ = person
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "12 entreprises ont reçu des données sur vous" in page
    assert cookies["uuid2"] in page and GAID in page
    assert 'href="letters/microsoft-access-fr.pdf"' in page
    english = (out / "index.en.html").read_text(encoding="utf-8")
    assert "12 companies received data about you" in english
    assert "<script" not in page + english


def test_follow_up_deadlines_reminders_complaint_and_the_answer_next_to_what_was_seen(person, tmp_path):
    db, out, cookies, _ = person
    line = mouchard("me", "sent", "microsoft", "access", "--on", "2026-12-07", "--db", str(db)).stdout
    assert line.strip() == "request 1: access to Microsoft, due 2027-01-07"
    status = mouchard("me", "status", "--today", "2027-01-07", "--db", str(db)).stdout
    assert status.strip() == "1: access to Microsoft, sent 2026-12-07, due 2027-01-07: waiting"
    status = mouchard("me", "status", "--today", "2027-01-08", "--db", str(db)).stdout
    assert status.strip() == ("1: access to Microsoft, sent 2026-12-07, due 2027-01-07: overdue "
                              "(reminder due, complaint due)")
    printed = mouchard("me", "report", "--db", str(db), "--out", str(out), "--today", "2027-01-08").stdout
    assert "1 reminders and 1 complaint drafts written" in printed
    complaint = pdf_text(out / "letters" / "microsoft-complaint-fr.pdf")
    assert "CNIL" in complaint and squeezed("7 janvier 2027") in complaint
    assert cookies["uuid2"] in complaint
    reminder = (out / "letters" / "microsoft-reminder-en.txt").read_text(encoding="utf-8")
    assert "7 January 2027" in reminder
    export = tmp_path / "microsoft-export.csv"
    export.write_text(f"cookie_name;cookie_value;segment\nuuid2;{cookies['uuid2']};auto-intenders\n",
                      encoding="utf-8")
    answered = mouchard("me", "answer", "1", "--file", str(export), "--on", "2027-01-09", "--db", str(db)).stdout
    assert answered.strip() == "request 1: answered; 3 values imported"  # the header row names the columns
    conn = sqlite3.connect(db)
    matched = conn.execute("SELECT value, matched_kind, matched_name FROM me_answer_items "
                           "WHERE matched_kind IS NOT NULL").fetchall()
    assert matched == [(cookies["uuid2"], "cookie", "uuid2")]
    conn.close()


def test_the_private_database_is_never_published(person, tmp_path):
    db, _out, cookies, _ = person
    site = tmp_path / "site"
    result = subprocess.run([sys.executable, "-m", "mouchard", "publish", "--db", str(db), "--out", str(site)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and not site.exists()
    assert result.stderr.strip() == (f"mouchard: {db.name} is a private database (mouchard me): a person's own data "
                                     "is never published; use `mouchard me report` to read it on this machine")
