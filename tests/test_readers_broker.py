"""The broker page (`/broker/{key}`): registrations across registries and years, declared data, hidden opt-out
pages, GPC, consumer-request figures and findings, in French and English, on the Datasette fixture database."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings, strategies as st

from data.datasette.fixtures import HOSTILE
from data.datasette.readers import facts as sentences, module_fixtures, page_links
from mouchard.publishing import i18n
from mouchard.publishing.pages import broker, page_url

fixture, conn, client = module_fixtures("readers-broker", reader_crawls=True)


def test_acme_page_follows_the_broker_across_years_in_french(conn, fixture):
    ids = fixture.ids
    page = broker.build(conn, "acme data", "fr", {})
    assert page.title == "Acme Data LLC : courtier en données"
    assert page.lede == "Acme Data LLC est inscrit comme courtier en données : 2 inscription(s), de 2024 à 2025."
    assert [(s.id, s.verdict, s.verdict_text) for s in page.sections] == [
        ("registrations", "none", "2 inscription(s)"), ("declared", "bad", "Données sensibles"),
        ("pages", "bad", "Cachées des moteurs de recherche"), ("gpc", "none", "Non mesuré"),
        ("findings", "good", "Aucun constat")]
    facts = sentences(page)
    assert facts["registrations"] == ["Inscrit au registre Californie en 2024, 2025."]
    assert facts["declared"] == [
        "Déclare collecter : des données de mineurs, la géolocalisation précise (Californie 2025).",
        "Déclare ne pas collecter : des données de santé reproductive, des données régies par le FCRA (crédit), "
        "des données régies par le GLBA (finance) (Californie 2025).",
        "La géolocalisation précise : « non » en 2024, « oui » en 2025 (Californie)."]
    assert facts["pages"] == [
        "La page « opt-out » est cachée des moteurs de recherche : meta robots noindex (raw HTML); meta robots "
        "noindex (rendered DOM). Elle n'a pas été trouvée en suivant les liens de la page d'accueil."]
    assert facts["gpc"] == ["La déclaration GPC de son site n'a pas été vérifiée."]
    declared = next(s for s in page.sections if s.id == "declared")
    assert [link.url for link in declared.facts[-1].links] == [
        f"/mouchard/brokers/{ids['broker_acme_2024']}", f"/mouchard/brokers/{ids['broker_acme_2025']}"]
    pages = next(s for s in page.sections if s.id == "pages")
    assert pages.facts[0].links[0].url == f"/mouchard/broker_pages/{ids['acme_hidden_page']}"
    assert pages.table.rows == (("opt-out", "https://www.acme.example/privacy/opt-out", "oui", None,
                                 pages.table.rows[0][4]),)


def test_acme_page_in_english_and_found_by_its_site(conn):
    page = broker.build(conn, "acme.example", "en", {})
    assert page.key == "acme.example"
    assert page.title == "Acme Data LLC: data broker"
    facts = sentences(page)
    assert facts["registrations"] == ["Registered in the California registry in 2024, 2025."]
    assert facts["declared"] == [
        "Declares collecting minors' data, precise geolocation (California 2025).",
        "Declares not collecting reproductive health data, data regulated by the FCRA (credit), data regulated by the "
        "GLBA (finance) (California 2025).",
        "Precise geolocation: \"no\" in 2024, \"yes\" in 2025 (California)."]
    assert facts["pages"] == [
        "The \"opt-out\" page is hidden from search engines: meta robots noindex (raw HTML); meta robots noindex "
        "(rendered DOM). It was not found by following links from the home page."]


def test_acxiom_page_shows_gpc_figures_findings_and_its_tracker_company(conn, fixture):
    ids = fixture.ids
    for lang, expected in (("fr", {
        "registrations": ["Inscrit au registre Vermont en 2025.",
                          "Son site appartient à une entreprise de pistage connue des listes : Acxiom."],
        "pages": ["La page « opt-out » n'est pas cachée des moteurs de recherche. On l'atteint en 2 clic(s) depuis "
                  "la page d'accueil. Hébergée par OneTrust."],
        "gpc": ["Son site déclare respecter le signal GPC (/.well-known/gpc.json, mis à jour : 2025-03-01)."],
        "requests": ["Chiffres que le courtier a déclarés au registre Vermont en 2025."],
        "findings": ["Gravité medium : Declares selling precise geolocation"]}), ("en", {
        "registrations": ["Registered in the Vermont registry in 2025.",
                          "Its site belongs to a tracker company the lists know: Acxiom."],
        "pages": ["The \"opt-out\" page is not hidden from search engines. It is reached in 2 click(s) from the "
                  "home page. Hosted by OneTrust."],
        "gpc": ["Its site declares it honours the GPC signal (/.well-known/gpc.json, last update: 2025-03-01)."],
        "requests": ["Figures the broker reported to the Vermont registry in 2025."],
        "findings": ["Severity medium: Declares selling precise geolocation"]})):
        page = broker.build(conn, "acxiom", lang, {})
        facts = sentences(page)
        assert {k: facts[k] for k in expected} == expected, lang
        by_id = {s.id: s for s in page.sections}
        assert [(s.id, s.verdict) for s in page.sections] == [
            ("registrations", "none"), ("declared", "bad"), ("pages", "good"), ("gpc", "good"), ("requests", "none"),
            ("findings", "bad")]
        assert by_id["requests"].table.rows == (("delete", "received", i18n.format_number(1200, lang)),)
        assert by_id["declared"].table.rows == (("sells_to_government", "oui" if lang == "fr" else "yes"),)
        assert by_id["gpc"].facts[0].links[0].url == f"/mouchard/broker_pages/{ids['acxiom_gpc_page']}"
        assert by_id["findings"].facts[0].links[0].url == f"/mouchard/findings/{ids['acxiom_finding']}"
        assert by_id["registrations"].facts[1].links[0].url == page_url("company", "Acxiom", lang)


def test_unknown_broker_is_a_404_and_contact_emails_never_show(client):
    assert client.get("/broker/nobody").status_code == 404
    html = client.get("/broker/acme%20data?lang=fr").text
    assert "Acme Data LLC : courtier en données" in html
    assert "jane.doe" not in html and "privacy@" not in html


def test_every_link_of_a_broker_page_resolves(client, conn):
    for key in ("acme data", "acxiom", "beta brokers", "gamma"):
        for lang in i18n.LANGUAGES:
            assert client.get(page_url("broker", key, lang)).status_code == 200, key
            for url in page_links(broker.build(conn, key, lang, {})):
                if url.startswith(("/mouchard/", "/broker/")):
                    assert client.get(url).status_code == 200, (key, url)
                else:  # another helper's page kind: a path routed on this Datasette, never the outside
                    assert url.startswith(("/site/", "/company/", "/app/")), url


def test_hostile_broker_names_stay_text(client):
    for name, text in HOSTILE.items():
        response = client.get(page_url("broker", f"hostile {name}"))
        assert response.status_code == 200, name
        assert text not in response.text, name
        assert "<script>window.__pwned" not in response.text and "<iframe srcdoc" not in response.text, name


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.text(min_size=1, max_size=80), lang=st.sampled_from(["fr", "en", "xx", "<b>"]))
def test_any_key_answers_a_clean_page_or_a_404(client, key, lang):
    response = client.get(page_url("broker", key), params={"lang": lang})
    assert response.status_code in (200, 404)
    if len(key.strip()) > 3 and any(c in key for c in "<>\"'&"):
        assert key not in response.text


def test_broker_queries_use_indexes(conn):
    plans = []
    conn.set_trace_callback(plans.append)
    try:
        broker.build(conn, "acme data", "en", {})
    finally:
        conn.set_trace_callback(None)
    for sql in plans:
        if sql.lstrip().upper().startswith("SELECT"):
            detail = " ".join(r[-1] for r in conn.execute(f"EXPLAIN QUERY PLAN {sql}").fetchall())
            for table in ("brokers", "broker_pages", "broker_metrics", "findings", "crawls"):
                assert not re.search(rf"\bSCAN {table}\b(?! USING| VIRTUAL TABLE)", detail), (sql, detail)
