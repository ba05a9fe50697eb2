"""Groups compared (`/compare?a=party,campaign&b=news`) on two tagged crawls of the fixture database, and the
bundled French sample list of party, campaign and news sites."""

from __future__ import annotations

import re
from importlib.resources import files

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from crawler.api import site_targets
from data.datasette.readers import module_fixtures, page_links
from mouchard.publishing import i18n
from mouchard.publishing.pages import compare, page_url

SAMPLE = files("mouchard") / "data" / "fr-politics-news.csv"


fixture, conn, client = module_fixtures("readers-compare", reader_crawls=True)


def test_party_and_campaign_sites_against_news_sites_in_french(conn, fixture):
    crawl = fixture.ids["reader_crawl_1"]
    page = compare.build(conn, "", "fr", {"a": "party,campaign", "b": "news", "crawl": str(crawl)})
    assert page.title == "party ou campaign face à news"
    assert page.lede.startswith(f"Sites de la collecte n° {crawl} (")
    groups = next(s for s in page.sections if s.id == "groups")
    assert (groups.verdict, groups.verdict_text) == ("bad", "Pistage trouvé")
    assert groups.table.columns == ("Mesure", "sites étiquetés party ou campaign", "sites étiquetés news")
    assert groups.table.rows == (
        ("Sites mesurés", 2, 2),
        ("Entreprises de pistage par site (médiane)", "2,5", "1"),
        ("Entreprises de pistage par site (moyenne)", "2,5", "1"),
        ("Sites appelant des pisteurs publicitaires (toutes phases)", "1 sur 2 (50\u202f%)", "1 sur 2 (50\u202f%)"),
        ("Sites appelant un courtier en données inscrit", "0 sur 2 (0\u202f%)", "1 sur 2 (50\u202f%)"),
        ("Sites envoyant des événements Meta ou Google (toutes phases)", "1 sur 2 (50\u202f%)", "0 sur 2 (0\u202f%)"),
        ("Sites avec prise d'empreinte du navigateur (toutes phases)", "0 sur 2 (0\u202f%)", "1 sur 2 (50\u202f%)"),
        ("Sites enregistrant la session (toutes phases)", "1 sur 2 (50\u202f%)", "0 sur 2 (0\u202f%)"),
        ("Sites déposant des cookies d'identification avant le consentement", "1 sur 2 (50\u202f%)",
         "0 sur 2 (0\u202f%)"))
    assert [(fact.text, [link.url for link in fact.links]) for fact in groups.facts] == [
        ("Sites étiquetés party ou campaign : en médiane 2,5 entreprise(s) de pistage par site (moyenne 2,5), sur 2 "
         "site(s) mesuré(s).", ["/site/campagne.example?lang=fr", "/site/parti.example?lang=fr"]),
        ("Sites étiquetés news : en médiane 1 entreprise(s) de pistage par site (moyenne 1), sur 2 site(s) "
         "mesuré(s).", ["/site/journal.example?lang=fr"]),
        ("Sites appelant des pisteurs publicitaires (toutes phases) : 1 sur 2 (50\u202f%) pour les sites étiquetés "
         "party ou campaign ; 1 sur 2 (50\u202f%) pour les sites étiquetés news.",
         ["/site/journal.example?lang=fr", "/site/parti.example?lang=fr"]),
        ("Sites appelant un courtier en données inscrit : 0 sur 2 (0\u202f%) pour les sites étiquetés party ou "
         "campaign ; 1 sur 2 (50\u202f%) pour les sites étiquetés news.", ["/site/journal.example?lang=fr"]),
        ("Sites envoyant des événements Meta ou Google (toutes phases) : 1 sur 2 (50\u202f%) pour les sites "
         "étiquetés party ou campaign ; 0 sur 2 (0\u202f%) pour les sites étiquetés news.",
         ["/site/parti.example?lang=fr"]),
        ("Sites avec prise d'empreinte du navigateur (toutes phases) : 0 sur 2 (0\u202f%) pour les sites étiquetés "
         "party ou campaign ; 1 sur 2 (50\u202f%) pour les sites étiquetés news.", ["/site/journal.example?lang=fr"]),
        ("Sites enregistrant la session (toutes phases) : 1 sur 2 (50\u202f%) pour les sites étiquetés party ou "
         "campaign ; 0 sur 2 (0\u202f%) pour les sites étiquetés news.", ["/site/campagne.example?lang=fr"]),
        ("Sites déposant des cookies d'identification avant le consentement : 1 sur 2 (50\u202f%) pour les sites "
         "étiquetés party ou campaign ; 0 sur 2 (0\u202f%) pour les sites étiquetés news.",
         ["/site/parti.example?lang=fr"]),
        ("Sites étiquetés news : courtiers en données inscrits contactés : Acxiom.", ["/company/Acxiom?lang=fr"])]
    group = next(s for s in page.sections if s.id == "group-1")
    assert (group.heading, group.verdict, group.verdict_text) == ("Sites étiquetés party ou campaign", "bad",
                                                                  "2 site(s)")
    assert [(row[0].text, row[1], row[2]) for row in group.table.rows] == [
        ("parti.example", 3, "publicité, pixel, cookies avant consentement"),
        ("campagne.example", 2, "enregistrement de session")]
    assert groups.chart.data == (
        {"Groupe": "sites étiquetés party ou campaign", "site": "campagne.example", "trackers": 2},
        {"Groupe": "sites étiquetés party ou campaign", "site": "parti.example", "trackers": 3},
        {"Groupe": "sites étiquetés news", "site": "gazette.example", "trackers": 0},
        {"Groupe": "sites étiquetés news", "site": "journal.example", "trackers": 2})


def test_a_tag_against_every_other_site_in_english_on_the_newest_crawl(conn):
    page = compare.build(conn, "", "en", {"a": "party"})
    assert page.title == "party versus every other site"
    groups = next(s for s in page.sections if s.id == "groups")
    assert groups.table.columns == ("Measure", "sites tagged party", "every other site")
    # Crawl 2: gazette.example timed out, so one news site is measured; TikTok joined parti.example.
    assert groups.table.rows == (
        ("Sites measured", 2, 1),
        ("Tracker companies per site (median)", "2.5", "2"),
        ("Tracker companies per site (mean)", "2.5", "2"),
        ("Sites calling advertising trackers (any phase)", "1 of 2 (50%)", "1 of 1 (100%)"),
        ("Sites calling a registered data broker", "0 of 2 (0%)", "1 of 1 (100%)"),
        ("Sites sending Meta or Google events (any phase)", "1 of 2 (50%)", "0 of 1 (0%)"),
        ("Sites fingerprinting the browser (any phase)", "0 of 2 (0%)", "1 of 1 (100%)"),
        ("Sites recording the session (any phase)", "0 of 2 (0%)", "0 of 1 (0%)"),
        ("Sites setting identifier cookies before consent", "0 of 2 (0%)", "0 of 1 (0%)"))
    assert [f.text for f in next(s for s in page.sections if s.id == "group-2").facts] == [
        "1 site(s) of the group have no successful visit in this phase."]


def test_choices_come_from_the_tags_of_the_crawl(conn, fixture):
    crawl = fixture.ids["reader_crawl_2"]
    page = compare.build(conn, "", "en", {})
    assert page.title == "Groups of sites compared"
    assert [s.id for s in page.sections] == ["choices"]
    choices = page.sections[0]
    assert choices.verdict_text == "5 tag(s)"
    assert [(row[0], row[1]) for row in choices.table.rows] == [
        ("national", 2), ("news", 2), ("party", 2), ("campaign", 1), ("regional", 1)]
    assert choices.table.rows[2][2].url == page_url("compare", lang="en", crawl=str(crawl), phase="initial",
                                                    a="party")
    assert choices.table.rows[2][4].url == page_url("compare", lang="en", crawl=str(crawl), phase="initial",
                                                    a="party", b="news")


@pytest.mark.parametrize("query, title, absent", [
    ({"a": "<script>alert(1)</script>"}, "Groups of sites compared", "<script>alert(1)</script>"),
    ({"a": "party", "b": "party"}, "party versus every other site", None),
    ({"crawl": "1 OR 1=1", "a": "news"}, "news versus every other site", "1 OR 1=1"),
    ({"crawl": "99999999999999999999999", "phase": "'; DROP TABLE visits; --"}, "Groups of sites compared",
     "DROP TABLE"),
    ({"a": "," * 5000}, "Groups of sites compared", ",,,"),
])
def test_values_that_are_not_choices_are_ignored(conn, fixture, query, title, absent):
    page = compare.build(conn, "", "en", query)
    assert page.title == title
    assert page.lede.startswith(f"Sites of crawl #{fixture.ids['reader_crawl_2']} (")
    assert '"initial"' in page.lede
    if absent:
        assert absent not in repr(page)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(a=st.text(max_size=60), b=st.text(max_size=60), crawl=st.text(max_size=20), phase=st.text(max_size=20))
def test_any_parameters_answer_a_clean_page(client, a, b, crawl, phase):
    response = client.get("/compare", params={"a": a, "b": b, "crawl": crawl, "phase": phase})
    assert response.status_code == 200
    for value in (a, b, crawl, phase):
        if any(c in value for c in "<>\"&") and len(value) > 3:
            assert value not in response.text


def test_other_keys_are_not_found(client):
    assert client.get("/compare/anything").status_code == 404


def test_every_link_of_a_comparison_resolves(client, conn, fixture):
    query = {"a": "party,campaign", "b": "news", "crawl": str(fixture.ids["reader_crawl_1"])}
    for lang in i18n.LANGUAGES:
        assert client.get(page_url("compare", lang=lang, **query)).status_code == 200
        for url in page_links(compare.build(conn, "", lang, query)):
            if url.startswith(("/mouchard/", "/compare")):
                assert client.get(url).status_code == 200, url
            else:  # another helper's page kind: a path routed on this Datasette
                assert url.startswith(("/site/", "/company/")), url


def test_comparison_queries_use_indexes(conn, fixture):
    plans: list[str] = []
    conn.set_trace_callback(plans.append)
    try:
        compare.build(conn, "", "en", {"a": "party", "crawl": str(fixture.ids["reader_crawl_1"])})
    finally:
        conn.set_trace_callback(None)
    assert plans
    for sql in plans:
        detail = " ".join(r[-1] for r in conn.execute(f"EXPLAIN QUERY PLAN {sql}").fetchall())
        for table in ("visits", "requests", "cookies", "scripts", "pixel_events", "crawls", "site_summary",
                      "company_sites"):
            assert not re.search(rf"\bSCAN ({table}|[a-z])\b(?! USING| VIRTUAL TABLE)", detail), (sql, detail)


def test_the_french_sample_list_parses_with_the_crawlers_reader_and_every_site_has_tags():
    targets, warnings = site_targets(list_file=str(SAMPLE))
    assert warnings == []
    assert len(targets) == 59
    assert all(target.tags for target in targets)
    tags = {tag for target in targets for tag in target.tags}
    assert tags == {"party", "campaign", "news", "national", "regional", "public", "tv", "radio"}
    kinds = {kind: sum(kind in target.tags for target in targets) for kind in ("party", "campaign", "news")}
    assert kinds == {"party": 21, "campaign": 4, "news": 38}
    assert all(target.url.startswith("https://") for target in targets)


@given(text=st.one_of(st.none(), st.text(max_size=300), st.lists(st.sampled_from(["party", "news", "x", ""]),
                                                                   max_size=40).map(",".join)))
def test_chosen_tags_are_distinct_tags_of_the_crawl(text):
    present = {"party": 2, "news": 2, "campaign": 1}
    chosen = compare.chosen_tags(text, present)
    assert set(chosen) <= set(present) and len(chosen) == len(set(chosen)) <= compare.MAX_CHOSEN


@given(text=st.one_of(st.none(), st.text(max_size=40), st.integers(-10, 10**25).map(str),
                     st.sampled_from(["¹", "٣", "６", " 6 ", "6\n", "+6", "0x6"])))
def test_a_crawl_parameter_is_one_of_the_crawls_or_nothing(text):
    chosen = compare.choose_int(text, {1, 3, 6, 7})
    assert chosen in (None, 1, 3, 6, 7)
    if chosen is not None:
        assert text.strip() == str(chosen)
