"""The company page, /company/{name}: exact sentences in French and English on the fixture database, hostile names
as keys answer inert pages, every link answers, and no query scans requests, cookies, flows or leaks."""

from __future__ import annotations

import re
import sqlite3

import pytest
from markupsafe import escape
from hypothesis import given, settings
from hypothesis import strategies as st

from data.datasette.fixtures import HOSTILE, READER_HOSTILE, add_reader_hostile, build
from data.datasette.readers import (broken_links, facts, module_fixtures, page_and_links, page_hrefs, readonly,
                                    served, verdicts, world)
from mouchard.publishing.pages import page_url
from mouchard.publishing.pages.company import build as build_company
from mouchard.publishing.pages.company import _rolled_up
from mouchard.publishing.pages.common import json_strings, rows_url
from mouchard.publishing.i18n import plural
from mouchard.classification.company_rollup import rebuild_company_rollups
from mouchard.storage.store import Store

BIG_TABLES = {"requests", "cookies", "flows", "leaks", "rtb", "id_syncs"}
ALIASES = {"f": "flows", "l": "leaks", "c": "cookies", "r": "rtb", "s": "id_syncs"}  # as the page modules write them


def with_company_rollups(fixture) -> None:
    """The company rollups built, as the end of a crawl builds them."""
    with Store(fixture.path) as store:
        rebuild_company_rollups(store)


fixture, conn, client = module_fixtures("company", then=with_company_rollups)


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """The same world without rollups (a database built before them): pages read requests and cookies."""
    fixture = build(tmp_path_factory.mktemp("company-live") / "mouchard.db", hostile=True)
    writer = sqlite3.connect(fixture.path)  # `build` rebuilds every rollup, as a crawl's end does: drop them
    writer.executescript("DROP TABLE company_sites; DROP TABLE company_cookies;")
    writer.close()
    yield from readonly(fixture)


def test_google_page_in_french_says_where_it_was_and_what_it_set(conn):
    page = build_company(conn, "Google", "fr", {})
    assert page.title == "Google : ce que mouchard a vu"
    assert page.lede == ("Google est une entreprise que les listes de traceurs classent ainsi : publicité, mesure "
                         "d'audience.")
    assert facts(page) == {
        "sites": ["Google a été vu sur 2 sites, au cours de 6 visites et 7 requêtes."],
        "apps": ["Google n'a reçu aucun échange des apps capturées."],
        "cookies": ["Google a déposé 3 cookies sous 2 noms.",
                    "3 cookies ont l'allure d'un identifiant : longue durée, une valeur différente dans chaque "
                    "profil neuf.",
                    "La durée de vie la plus longue demandée est de 400 jours."],
        "consent": ["Avant tout choix, Google était présent dans 2 visites.",
                    "Après un refus, Google était présent dans 2 visites.",
                    "Après acceptation, Google était présent dans 1 visite.",
                    "Avec le signal GPC (refus envoyé par le navigateur), Google était présent dans 1 visite.",
                    "3 cookies de Google ont été déposés avant tout consentement."],
        "leaks": ["Aucun identifiant d'appareil, aucune position ni valeur personnelle plantée n'a été trouvé dans "
                  "ce que Google a reçu."],
        "rtb": ["Google n'a pris part à aucune enchère observée."],
        "syncs": ["Aucun identifiant n'a été vu passer entre Google et une autre entreprise."],
        "owner": ["La liste livrée avec mouchard 0.1.0 attribue 22 domaines à Google (pays : US), dont 2mdn.net, "
                  "admob.com, adservice.google.com, ajax.googleapis.com, analytics.google.com.",
                  "Dans cette base, ses lignes ont été classées par : mouchard."],
        "findings": ["1 constat nomme Google ; de gravité haute : 1."],
    }
    assert verdicts(page) == {
        "sites": ("bad", "Vu sur 2 sites"), "apps": ("good", "Absent des apps"),
        "cookies": ("bad", "Identifiants déposés"), "consent": ("bad", "Présent sans consentement"),
        "leaks": ("good", "Aucun trouvé"), "rtb": ("good", "Aucune enchère"),
        "syncs": ("good", "Aucune synchronisation"), "owner": ("good", "Nommé par une liste"),
        "findings": ("bad", "Constats graves"),
    }
    sections = {section.id: section for section in page.sections}
    assert [(cell[0].text, cell[0].url, cell[1], cell[2]) for cell in sections["sites"].table.rows] == [
        ("news.example", "/site/news.example?lang=fr", "4", "5"),
        ("shop.example", "/site/shop.example?lang=fr", "2", "2")]
    assert [(row[0].text, *row[1:]) for row in sections["cookies"].table.rows] == [
        ("IDE", "2", "2", "390", "2"), ("_ga", "1", "1", "400", "1")]
    assert sections["consent"].table.rows == (("sans choix", "2", "3", "2", "2"), ("refus", "2", "2", "0", "0"),
                                              ("acceptation", "1", "1", "0", "0"), ("GPC", "1", "1", "1", "1"))
    assert sections["sites"].facts[0].links[0].url == "/mouchard/requests?tracker_entity=Google"
    assert sections["consent"].facts[-1].links[0].url == "/mouchard/cookies?tracker_entity=Google&before_consent=1"


def test_meta_page_in_english_says_what_it_received_from_apps_and_bids(conn):
    page = build_company(conn, "Meta", "en", {})
    assert page.title == "Meta: what mouchard saw"
    assert facts(page) == {
        "sites": ["Meta was seen on 1 site, in 1 visit and 1 request."],
        "apps": ["Meta received 1 exchange from 1 app."],
        "cookies": ["Meta set 2 cookies under 2 names.",
                    "2 cookies look like identifiers: long-lived, with a value that differs in every fresh profile.",
                    "The longest lifetime asked for is 390 days."],
        "consent": ["Before any choice, Meta was present in 1 visit.",
                    "1 cookie of Meta was set before any consent."],
        "leaks": ["Meta received 2 personal values: advertising ID (1), e-mail address (1)."],
        "rtb": ["Meta took part in 1 event of ad auctions, which carried: device.geo, device.ifa."],
        "syncs": ["Meta received the identifiers of 1 company (1 sync)."],
        "owner": ["The list shipped with mouchard 0.1.0 attributes 6 domains to Meta (country: US), including "
                  "an.facebook.com, facebook.com, facebook.net, fbcdn.net, graph.facebook.com.",
                  "In this database, its rows were classed by: mouchard."],
        "findings": ["No finding of the audit rules names Meta."],
    }
    sections = {section.id: section for section in page.sections}
    assert [(row[0].text, row[0].url, row[1]) for row in sections["apps"].table.rows] == [
        ("com.weather.app", "/app/com.weather.app?lang=en", "1")]
    assert [(row[0].text, *row[1:]) for row in sections["leaks"].table.rows] == [
        ("advertising ID", "1", None, "1", "1"), ("e-mail address", "1", None, "1", "1")]
    sync = sections["syncs"].table.rows[0]
    assert (sync[0], sync[1].text, sync[1].url, sync[2:]) == (
        "received from", "WeatherAds", "/company/WeatherAds?lang=en", ("weatherads.example", "1", "wa_uid"))
    assert sections["rtb"].table.rows == (("device.geo", "1"), ("device.ifa", "1"))


def test_microsoft_page_says_it_came_after_the_refusal_and_synced(conn):
    page = build_company(conn, "Microsoft", "fr", {})
    found = facts(page)
    assert found["consent"] == ["Après un refus, Microsoft était présent dans 1 visite.",
                                "1 cookie de Microsoft a été déposé après le refus."]
    assert found["rtb"] == ["Microsoft a pris part à 3 événements d'enchères publicitaires, qui portaient : "
                            "device.geo, user.buyeruid."]
    assert found["syncs"] == ["Microsoft a transmis ses identifiants à 1 entreprise (1 synchronisation)."]
    assert verdicts(page)["consent"] == ("bad", "Présent sans consentement")


def test_company_seen_only_in_an_app_has_positions_and_no_web_phase(conn):
    page = build_company(conn, "WeatherAds", "en", {})
    found = facts(page)
    assert found["leaks"] == ["WeatherAds received 2 personal values: advertising ID (1), position (1).",
                              "It received 1 position, the most precise 12 metres from the true position."]
    assert found["sites"] == ["WeatherAds was not seen on any site visited."]
    assert found["syncs"] == ["WeatherAds passed its identifiers to 1 company (1 sync)."]
    assert verdicts(page)["consent"] == ("none", "Not measured")
    assert found["consent"] == ["WeatherAds was not seen on the web: no phase to compare."]


def test_unknown_company_is_a_404(conn, client):
    assert build_company(conn, "Nobody Inc", "fr", {}) is None
    assert build_company(conn, "", "fr", {}) is None
    response = client.get(page_url("company", "Nobody Inc"))
    assert response.status_code == 404


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_company_name_answers_an_inert_page(client, name):
    text = HOSTILE[name]  # a company name as stored by the hostile crawl (quotes, <script>, slashes)
    response = client.get(page_url("company", text, "en"))
    assert response.status_code == 200
    assert text not in response.text
    assert str(escape(text)) in response.text  # shown, as text (Jinja's escaping)
    assert "Cookies set" in response.text


@pytest.mark.parametrize("entity", ["Google", "Meta", "Microsoft", "WeatherAds", HOSTILE["https_quote"]])
def test_every_link_on_a_company_page_answers(client, entity):
    for lang in ("fr", "en"):
        status, hrefs, broken = page_and_links(client, "company", entity, lang)
        assert (status, bool(hrefs), broken) == (200, True, [])


def full_scans(conn: sqlite3.Connection, run) -> list[str]:
    """The plans' full scans of requests, cookies, flows or leaks among the statements `run()` executes."""
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    try:
        run()
    finally:
        conn.set_trace_callback(None)
    assert statements, "nothing was executed"
    scans = []
    for sql in statements:
        if re.fullmatch(r"SELECT 1 FROM \w+ LIMIT 1", sql):
            continue  # "is anything here at all": reads the first row, a scan only in name
        for *_, detail in conn.execute(f"EXPLAIN QUERY PLAN {sql}"):
            match = re.match(r"SCAN (\w+)", detail)
            if match and ALIASES.get(match.group(1), match.group(1)) in BIG_TABLES:
                scans.append(f"{detail}: {sql[:200]}")
    return scans


@pytest.mark.parametrize("entity", ["Google", "Meta", "WeatherAds", HOSTILE["script"]])
def test_company_queries_use_indexes_never_a_scan_of_the_big_tables(conn, live, entity):
    assert full_scans(conn, lambda: build_company(conn, entity, "en", {})) == []
    assert full_scans(live, lambda: build_company(live, entity, "en", {})) == []


def test_rollup_is_read_by_index(conn):
    plans = {sql: [row[-1] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}")] for sql in (
        "SELECT site, phase, visits, requests FROM company_sites WHERE tracker_entity = 'Google'",
        "SELECT name FROM company_cookies WHERE tracker_entity = 'Google'",
        "SELECT name FROM cookies WHERE tracker_entity = 'Google' AND visit_id IS NULL")}
    assert plans == {
        "SELECT site, phase, visits, requests FROM company_sites WHERE tracker_entity = 'Google'":
            ["SEARCH company_sites USING INDEX idx_company_sites_tracker_entity (tracker_entity=?)"],
        "SELECT name FROM company_cookies WHERE tracker_entity = 'Google'":
            ["SEARCH company_cookies USING INDEX idx_company_cookies_tracker_entity (tracker_entity=?)"],
        "SELECT name FROM cookies WHERE tracker_entity = 'Google' AND visit_id IS NULL":
            ["SEARCH cookies USING INDEX idx_cookies_tracker_entity_visit_id (tracker_entity=? AND visit_id=?)"],
    }


@pytest.mark.parametrize("entity", ["Google", "Meta", "Microsoft", "WeatherAds", "Magnite", *HOSTILE.values()])
def test_pages_from_the_rollup_equal_pages_from_the_rows(conn, live, entity):
    assert (_rolled_up(conn, "Google"), _rolled_up(live, "Google")) == (True, False)
    for lang in ("fr", "en"):
        assert build_company(conn, entity, lang, {}) == build_company(live, entity, lang, {})


def test_rollup_rows_of_the_fixture(conn, fixture):
    crawl = fixture.ids["web_crawl"]
    assert conn.execute(
        "SELECT site, phase, visits, requests, cookies, identifier_cookies, cookies_before_consent, "
        "cookies_after_reject FROM company_sites WHERE tracker_entity = 'Google' AND crawl_id = ? ORDER BY site, phase",
        (crawl,)).fetchall() == [
        ("news.example", "accept", 1, 1, 0, 0, 0, 0), ("news.example", "gpc", 1, 1, 1, 1, 1, 0),
        ("news.example", "initial", 1, 2, 1, 1, 1, 0), ("news.example", "reject", 1, 1, 0, 0, 0, 0),
        ("shop.example", "initial", 1, 1, 1, 1, 1, 0), ("shop.example", "reject", 1, 1, 0, 0, 0, 0)]
    assert conn.execute(
        "SELECT site, phase, visits, requests, cookies, cookies_after_reject FROM company_sites "
        "WHERE tracker_entity = 'Microsoft'").fetchall() == [("news.example", "reject", 1, 1, 1, 1)]
    assert conn.execute(
        "SELECT name, cookies, identifier_cookies, max_lifetime_days, cookies_before_consent FROM company_cookies "
        "WHERE tracker_entity = 'Meta'").fetchall() == [("_fbp", 1, 1, 90.0, 1)]  # its app cookie 'fr' is read live


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=60))
def test_any_key_gives_a_page_or_none_never_an_error(conn, key):
    page = build_company(conn, key, "fr", {})
    assert page is None or page.key == key


@given(st.text(max_size=300))
def test_json_lists_from_the_database_read_fail_closed(raw):
    values = json_strings(raw)
    assert isinstance(values, list) and all(isinstance(v, str) and len(v) <= 201 for v in values)


@given(st.lists(st.one_of(st.text(max_size=300), st.integers(), st.none()), max_size=80))
def test_json_lists_keep_only_strings_cut_to_size(items):
    import json

    values = json_strings(json.dumps(items))
    assert values == [v if len(v) <= 200 else v[:200] + "…" for v in items[:50] if isinstance(v, str)]


@given(st.integers(min_value=0, max_value=10**9))
def test_counted_nouns_agree_with_their_number(n):
    fr, en = plural("company.n.site", n, "fr"), plural("company.n.site", n, "en")
    assert fr.endswith(" site" if n < 2 else " sites")
    assert en.endswith(" site" if n == 1 else " sites")
    assert plural("company.consent.before", n, "en", cookies="x", entity="y").startswith(
        "x of y was" if n == 1 else "x of y were")


@pytest.fixture(scope="module")
def reader_hostile(tmp_path_factory):
    """The hostile world plus the readers' hostile strings: a company name in requests, cookies, bids, syncs, flows
    and leaks, and an app name, each trying to run script."""
    yield from served(world(tmp_path_factory, "company-hostile",
                            then=lambda fixture: add_reader_hostile(fixture.path, fixture)))


@pytest.mark.parametrize("kind,key", [("company", READER_HOSTILE["entity"]), ("app", READER_HOSTILE["app"]),
                                      ("company", HOSTILE["svg"])])
def test_hostile_names_in_every_section_stay_text_and_their_links_answer(reader_hostile, kind, key):
    page = reader_hostile.get(page_url(kind, key, "en"))
    assert page.status_code == 200
    for text in (*READER_HOSTILE.values(), *HOSTILE.values()):
        assert text not in page.text
    assert str(escape(key)) in page.text
    hrefs = page_hrefs(page.text)
    assert (rows_url("requests", tracker_entity=key) if kind == "company" else rows_url("flows", app=key)) in hrefs
    assert broken_links(reader_hostile, hrefs) == []


WORLD = st.lists(st.tuples(
    st.sampled_from(["a.example", "b.example", "c.example"]),  # visited site
    st.sampled_from(["initial", "reject", "accept", "gpc"]),  # phase
    st.lists(st.sampled_from(["Google", "Meta", "X <b>"]), max_size=4),  # companies of its requests
    st.lists(st.tuples(st.sampled_from(["Google", "Meta", "X <b>"]), st.sampled_from(["id", "_ga", "x"]),
                       st.booleans(), st.booleans(), st.one_of(st.none(), st.floats(0, 400))), max_size=3),
), min_size=1, max_size=6)


@settings(max_examples=15, deadline=None)
@given(world=WORLD)
def test_rollup_pages_equal_live_pages_on_any_small_world(tmp_path_factory, world):
    path = tmp_path_factory.mktemp("world") / "mouchard.db"
    with Store(path) as store:
        crawl = store.start_crawl("web", command=["test"])
        with store.transaction() as tx:
            for n, (site, phase, entities, cookies) in enumerate(world):
                visit = tx.insert("visits", {"crawl_id": crawl, "key": f"{n}", "site": site, "phase": phase,
                                             "status": "ok"})
                for entity in entities:
                    tx.insert("requests", {"visit_id": visit, "url": "https://t.example/", "tracker_entity": entity})
                for entity, name, identifier, before, days in cookies:
                    tx.insert("cookies", {"visit_id": visit, "name": name, "tracker_entity": entity,
                                          "identifier": identifier, "before_consent": before, "lifetime_days": days})
        store.finish_crawl(crawl)
        rebuild_company_rollups(store)
    rolled = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    live_path = path.with_name("live.db")
    live_path.write_bytes(path.read_bytes())
    writer = sqlite3.connect(live_path)
    writer.executescript("DROP TABLE company_sites; DROP TABLE company_cookies;")
    writer.close()
    live = sqlite3.connect(f"file:{live_path}?mode=ro", uri=True)
    try:
        for entity in ("Google", "Meta", "X <b>"):
            assert build_company(rolled, entity, "en", {}) == build_company(live, entity, "en", {})
    finally:
        rolled.close()
        live.close()
