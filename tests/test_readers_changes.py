"""Change over time (`/changes?before=&after=`): two crawls of the same tagged list of the fixture database
compared — trackers that appeared and disappeared, consent behaviour per site and phase, links to both visits."""

from __future__ import annotations

import json
import re
import sqlite3

from hypothesis import HealthCheck, given, settings, strategies as st

from data.datasette.readers import facts as facts_of, module_fixtures, page_links
from mouchard.publishing import i18n
from mouchard.publishing.pages import changes, compare, page_url
from mouchard.storage.store import Store


fixture, conn, client = module_fixtures("readers-changes", reader_crawls=True)


def test_the_two_newest_crawls_of_a_list_compared_in_french(conn, fixture):
    ids = fixture.ids
    one, two = ids["reader_crawl_1"], ids["reader_crawl_2"]
    page = changes.build(conn, "", "fr", {})
    assert page.title == "Ce qui a changé entre deux collectes"
    assert re.fullmatch(rf"Collecte n° {one} \(\d{{4}}-\d\d-\d\d\) comparée à la collecte n° {two} "
                        r"\(\d{4}-\d\d-\d\d\) : 3 site\(s\) mesuré\(s\) dans les deux\.", page.lede)
    assert [(s.id, s.verdict, s.verdict_text) for s in page.sections] == [
        ("sites", "none", "3 site(s)"), ("trackers", "bad", "Nouveaux pisteurs"),
        ("consent", "bad", "Moins respectueux")]
    assert facts_of(page) == {
        "sites": ["3 site(s) ont été mesurés dans les deux collectes.",
                  "1 site(s) non comparé(s) (une visite a échoué ou manque dans l'une des deux collectes) : "
                  "gazette.example."],
        "trackers": ["Entreprises de pistage apparues (1) : TikTok.",
                     "Entreprises de pistage disparues (1) : Hotjar.",
                     "campagne.example : disparus : Hotjar.",
                     "parti.example : nouveaux : TikTok."],
        "consent": ["journal.example, phase « reject » : clic vérifié (oui → non).",
                    "parti.example, phase « reject » : entreprises de pistage après « refuser » (0 → 1)."]}
    consent = page.sections[2]
    assert [link.url for link in consent.facts[0].links] == [
        f"/mouchard/visits?crawl_id={one}&site=journal.example&phase=reject",
        f"/mouchard/visits?crawl_id={two}&site=journal.example&phase=reject"]
    trackers = page.sections[1]
    assert [link.url for link in trackers.facts[3].links] == [
        f"/mouchard/visits?crawl_id={one}&site=parti.example", f"/mouchard/visits?crawl_id={two}&site=parti.example"]


def test_the_same_crawls_the_other_way_round_in_english(conn, fixture):
    one, two = fixture.ids["reader_crawl_1"], fixture.ids["reader_crawl_2"]
    page = changes.build(conn, "", "en", {"before": str(two), "after": str(one)})
    assert facts_of(page)["trackers"] == [
        "Tracker companies that appeared (1): Hotjar.", "Tracker companies gone (1): TikTok.",
        "campagne.example: new: Hotjar.", "parti.example: gone: TikTok."]
    assert facts_of(page)["consent"] == [
        "journal.example, phase \"reject\": click verified (no → yes).",
        "parti.example, phase \"reject\": tracker companies after \"reject\" (1 → 0)."]
    # Fewer trackers after the click and a verified refusal: changed, not worse.
    assert [(s.id, s.verdict) for s in page.sections] == [("sites", "none"), ("trackers", "bad"),
                                                          ("consent", "warn")]


def test_a_crawl_compared_with_itself_has_no_change(conn, fixture):
    one = str(fixture.ids["reader_crawl_1"])
    page = changes.build(conn, "", "en", {"before": one, "after": one})
    assert facts_of(page)["trackers"] == ["No tracker company appeared on or went from the sites compared."]
    assert facts_of(page)["consent"] == ["No change over 6 site and phase pair(s) measured twice."]
    assert [(s.id, s.verdict) for s in page.sections] == [("sites", "none"), ("trackers", "good"),
                                                          ("consent", "good")]


def test_a_crawl_alone_on_its_list_says_so_and_offers_the_pairs_there_are(conn, fixture):
    ids = fixture.ids
    page = changes.build(conn, "", "en", {"after": str(ids["web_crawl"])})
    assert [(s.id, s.verdict) for s in page.sections] == [("changes", "none")]
    assert facts_of(page)["changes"] == [
        f"Crawl #{ids['web_crawl']} is the only one of its site list: run mouchard crawl again with the same list "
        "(every month, say) to see what changes.", "Other comparisons:"]
    assert [link.url for link in page.sections[0].facts[1].links] == [page_url(
        "changes", lang="en", before=str(ids["reader_crawl_1"]), after=str(ids["reader_crawl_2"]))]


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(before=st.one_of(st.text(max_size=30), st.integers(-5, 20).map(str)),
       after=st.one_of(st.text(max_size=30), st.integers(-5, 20).map(str)))
def test_any_parameters_answer_a_clean_page(client, before, after):
    response = client.get("/changes", params={"before": before, "after": after})
    assert response.status_code == 200
    for value in (before, after):
        if any(c in value for c in "<>\"&") and len(value) > 3:
            assert value not in response.text


def test_other_keys_are_not_found(client):
    assert client.get("/changes/3").status_code == 404


def test_every_link_of_the_changes_page_resolves(client, conn):
    for lang in i18n.LANGUAGES:
        assert client.get(page_url("changes", lang=lang)).status_code == 200
        for url in page_links(changes.build(conn, "", lang, {})):
            if url.startswith(("/mouchard/", "/changes")):
                response = client.get(url)
                assert response.status_code == 200, url
            else:  # another helper's page kind: a path routed on this Datasette
                assert url.startswith(("/site/", "/company/")), url


def test_changes_queries_use_indexes(conn):
    plans: list[str] = []
    conn.set_trace_callback(plans.append)
    try:
        changes.build(conn, "", "en", {})
    finally:
        conn.set_trace_callback(None)
    assert plans
    for sql in plans:
        detail = " ".join(r[-1] for r in conn.execute(f"EXPLAIN QUERY PLAN {sql}").fetchall())
        # Tables are read through an index; `comparable` (alias c) is a few thousand sites materialised in memory.
        for table in ("visits", "requests", "consent", "crawls", "site_summary", "company_sites"):
            assert not re.search(rf"\bSCAN ({table}|[a-bd-z])\b(?! USING| VIRTUAL TABLE)", detail), (sql, detail)


def test_crawls_without_their_summary_say_how_to_build_it(tmp_path):
    path = tmp_path / "running.db"
    with Store(path) as store:
        for _ in range(2):
            crawl = store.start_crawl("web", config={"targets_sha256": "e" * 64}, command=["mouchard", "crawl"])
            store.insert("visits", {"crawl_id": crawl, "key": "https://www.a.example/|initial", "site": "a.example",
                                    "url": "https://www.a.example/", "tags": ["news"], "phase": "initial",
                                    "depth": 0, "status": "ok"})
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        page = changes.build(conn, "", "en", {})
        assert facts_of(page) == {"changes": [
            "The per-site figures of crawl #1 are not computed yet: they are at the end of a crawl; for an older "
            "database, run mouchard classify."]}
        compared = compare.build(conn, "", "fr", {"a": "news"})
        assert [(s.id, s.heading) for s in compared.sections] == [("choices", "Collecte pas encore résumée")]
        assert [f.text for f in compared.sections[0].facts] == [
            "Les chiffres par site de la collecte n° 2 ne sont pas encore calculés : ils le sont à la fin d'une "
            "collecte ; pour une base plus ancienne, lancez mouchard classify."]
    finally:
        conn.close()


@given(config=st.one_of(st.none(), st.text(max_size=80), st.dictionaries(
    st.sampled_from(["targets_sha256", "list", "phases"]), st.one_of(st.none(), st.text(max_size=20), st.integers()),
    max_size=3).map(json.dumps)))
def test_a_crawls_list_is_read_from_any_config_without_error(config):
    found = changes.list_of({"config": config})
    assert found is None or isinstance(found, str)
