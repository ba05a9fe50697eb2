"""The app page, /app/{app}: exact sentences in French and English on the fixture database, hostile app names as
keys answer inert pages, every link answers, no identifier value is shown, and no query scans requests, cookies,
flows or leaks."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import escape

from data.datasette.fixtures import HOSTILE
from data.datasette.readers import facts, module_fixtures, page_and_links, verdicts
from mouchard.publishing.pages import page_url
from mouchard.publishing.pages.app import build as build_app
from test_readers_company import full_scans


fixture, conn, client = module_fixtures("app")


def test_weather_app_in_french_says_what_left_it_and_to_whom(conn, fixture):
    page = build_app(conn, "com.weather.app", "fr", {})
    assert page.title == "com.weather.app : ce que l'app envoie"
    assert page.lede == ("Le trafic de com.weather.app capturé par le proxy de mouchard : 2 échanges vers "
                         "2 destinations.")
    assert facts(page) == {
        "destinations": ["com.weather.app a envoyé 2 échanges vers 2 destinations.",
                         "2 échanges allaient à 2 entreprises de suivi : Meta, WeatherAds."],
        "leaks": ["com.weather.app a laissé partir 4 valeurs personnelles : identifiant publicitaire (2), adresse "
                  "e-mail (1), position (1).",
                  "4 valeurs personnelles allaient à des tiers.",
                  "Sa position est partie 1 fois vers 1 destination ; la plus précise était à 12 mètres de la "
                  "position réelle."],
        "sharing": ["1 événement d'enchères publicitaires est parti de l'app, avec : device.geo, device.ifa.",
                    "1 synchronisation d'identifiants entre entreprises dans son trafic : WeatherAds → Meta."],
        "capture": ["Ces échanges viennent de 1 capture ; l'app a été reconnue par : option."],
        "findings": ["1 constat concerne com.weather.app ; de gravité haute : 1."],
    }
    assert verdicts(page) == {
        "destinations": ("bad", "Envoie à 2 entreprises de suivi"),
        "leaks": ("bad", "Identifiants envoyés à des tiers"), "sharing": ("bad", "Données partagées"),
        "capture": ("good", "Lue en entier"), "findings": ("bad", "Constats graves"),
    }
    sections = {section.id: section for section in page.sections}
    assert [(row[0].text, row[0].url, *row[1:]) for row in sections["destinations"].table.rows] == [
        ("Meta", "/company/Meta?lang=fr", "réseau social", "1", "1"),
        ("WeatherAds", "/company/WeatherAds?lang=fr", "publicité", "1", "1")]
    location = [row for row in sections["leaks"].table.rows if row[0] == "position"]
    assert [(*row[:6], row[6].text, row[7].url) for row in location] == [
        ("position", "json:$.loc>round4", "$.loc", "12", "ads.weatherads.example", "tiers", "WeatherAds",
         f"/mouchard/leaks?flow_id={fixture.ids['weather_ads_flow']}&identifier=location")]
    capture = sections["capture"].table.rows[0]
    assert (capture[0].url, capture[1], capture[4], capture[5]) == (
        f"/mouchard/crawls/{fixture.ids['app_crawl']}", "app", "2", "0")


def test_weather_app_in_english(conn):
    found = facts(build_app(conn, "com.weather.app", "en", {}))
    assert found["destinations"] == ["com.weather.app sent 2 exchanges to 2 destinations.",
                                     "2 exchanges went to 2 tracker companies: Meta, WeatherAds."]
    assert found["leaks"] == ["com.weather.app let out 4 personal values: advertising ID (2), e-mail address (1), "
                              "position (1).",
                              "4 personal values went to third parties.",
                              "Its position left once for 1 destination; the most precise was 12 metres from the "
                              "true position."]
    assert found["sharing"] == ["1 event of ad auctions left the app, with: device.geo, device.ifa.",
                                "1 sync of identifiers between companies in its traffic: WeatherAds → Meta."]
    assert found["findings"] == ["1 finding concerns com.weather.app; of high severity: 1."]


def test_pinned_app_is_a_partial_capture_with_leaks_not_measured(conn):
    page = build_app(conn, "com.bank.app", "en", {})
    assert facts(page) == {
        "destinations": ["com.bank.app sent 1 exchange to 1 destination.",
                         "None of its destinations is a tracker company the lists know."],
        "leaks": ["None of its exchanges could be read: leaks are not measured."],
        "sharing": ["No auction and no identifier syncing in its traffic."],
        "capture": ["These exchanges come from 1 capture; the app was recognised by: option.",
                    "1 exchange could not be read in full (certificate refused by the app, QUIC, content cut or "
                    "missing): leaks may be missing from it."],
        "findings": ["No finding of the audit rules concerns com.bank.app."],
    }
    assert verdicts(page)["leaks"] == ("none", "Not measured")
    assert verdicts(page)["capture"] == ("warn", "Partial capture")


def test_game_app_in_french(conn):
    page = build_app(conn, "com.game.app", "fr", {})
    assert facts(page)["leaks"] == ["com.game.app a laissé partir 1 valeur personnelle : identifiant "
                                    "publicitaire (1).",
                                    "1 valeur personnelle allait à un tiers."]
    assert verdicts(page)["destinations"] == ("bad", "Envoie à 1 entreprise de suivi")


def test_no_identifier_value_or_request_detail_is_on_the_page(client):
    page = client.get(page_url("app", "com.weather.app", "en")).text
    # The fixture's flows carry a bearer token and a URL with a token placeholder: neither belongs on the page.
    assert "secret-token" not in page and "[GAID]" not in page and "/v1/track" not in page
    assert "0123456789" not in page  # the fixture's cookie values


def test_unknown_app_is_a_404(conn, client):
    assert build_app(conn, "com.nobody.app", "fr", {}) is None
    assert client.get(page_url("app", "com.nobody.app")).status_code == 404


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_app_name_answers_an_inert_page(client, name):
    text = HOSTILE[name]  # the hostile crawl names an app with each string (quotes, <script>, slashes)
    response = client.get(page_url("app", text, "en"))
    assert response.status_code == 200
    assert text not in response.text
    assert str(escape(text)) in response.text
    assert "Identifiers and positions sent" in response.text


@pytest.mark.parametrize("app", ["com.weather.app", "com.bank.app", HOSTILE["https_quote"]])
def test_every_link_on_an_app_page_answers(client, app):
    for lang in ("fr", "en"):
        status, hrefs, broken = page_and_links(client, "app", app, lang)
        assert (status, bool(hrefs), broken) == (200, True, [])


def test_unread_link_lists_exactly_the_unread_exchanges(client):
    page = build_app_via(client, "com.bank.app")
    link = next(link for section in page.sections for fact in section.facts for link in fact.links
                if "_where" in link.url)
    path, _, query = link.url.partition("?")
    rows = client.json(path, **dict(parse_qsl(query)))
    assert [(row["app"], row["kind"]) for row in rows] == [("com.bank.app", "tls-failure")]


def build_app_via(client, app: str):
    database = client.datasette.get_database("mouchard")
    return client.loop.run_until_complete(database.execute_fn(lambda conn: build_app(conn, app, "en", {})))


@pytest.mark.parametrize("app", ["com.weather.app", "com.bank.app", HOSTILE["script"]])
def test_app_queries_use_indexes_never_a_scan_of_the_big_tables(conn, app):
    assert full_scans(conn, lambda: build_app(conn, app, "en", {})) == []


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=60))
def test_any_key_gives_a_page_or_none_never_an_error(conn, key):
    page = build_app(conn, key, "en", {})
    assert page is None or page.key == key
