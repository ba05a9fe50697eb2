"""The site page `/site/{site}`: exact sentences and verdicts in French and English, links that answer, hostile
strings inert, and no full scan of a big table."""

from __future__ import annotations

import html
import importlib.util
import re
import sqlite3

import markupsafe
import pytest
from hypothesis import example, given, settings, strategies as st

from data.datasette.fixtures import HOSTILE, T0, build
from data.datasette.readers import module_fixtures
from mouchard.classification.rollups import rebuild
from mouchard.publishing import i18n
from mouchard.publishing.pages.site import build as site_page
from mouchard.storage.store import Store, connect_readonly

COLLECTORS_ON = {"fingerprinting": True, "session_replay": True, "keylogging": True, "pixels": True,
                 "id_syncs": True}


def add_measured_crawl(fixture) -> None:
    """A crawl whose settings say every page-side collector ran: recorder.example records the session, logs a typed
    e-mail to a third party, fires the Meta pixel with hashed user data and keeps a TC string; clean.example has
    nothing of it (every section "good")."""
    ids = fixture.ids
    with Store(fixture.path) as store:
        crawl = ids["measured_crawl"] = store.start_crawl("web", config={"phases": ["initial", "accept"],
                                                                         "collectors": COLLECTORS_ON})
        with store.transaction() as tx:
            def visit(site: str, phase: str) -> int:
                return tx.insert("visits", {"crawl_id": crawl, "key": f"{site}|{phase}", "url": f"https://{site}/",
                                            "final_url": f"https://{site}/", "site": site, "phase": phase,
                                            "status": "ok", "depth": 0, "started_at": T0, "tags": ["news"]})

            v = ids["recorder_initial"] = visit("recorder.example", "initial")
            request = ids["recorder_pixel_request"] = tx.insert("requests", {
                "visit_id": v, "url": "https://www.facebook.com/tr?id=1&ev=Purchase", "host": "www.facebook.com",
                "site": "facebook.com", "third_party": 1, "time_ms": 900, "tracker_entity": "Meta",
                "tracker_category": "social"})
            tx.insert("pixel_events", {"visit_id": v, "request_id": request, "vendor": "meta", "tag_id": "1",
                                       "event": "PageView", "user_data": {"em": "a" * 64}, "time_ms": 900})
            tx.insert("pixel_events", {"visit_id": v, "request_id": request, "vendor": "meta", "tag_id": "1",
                                       "event": "Purchase", "user_data": {"em": "a" * 64, "ph": "b" * 64},
                                       "time_ms": 950})
            tx.insert("pixel_events", {"visit_id": v, "vendor": "google-analytics", "tag_id": "G-1",
                                       "event": "page_view", "time_ms": 300})
            ids["recorder_replay_script"] = tx.insert("scripts", {
                "visit_id": v, "script_url": "https://static.hotjar.com/c/hotjar.js", "script_site": "hotjar.com",
                "third_party": 1, "session_replay": 1, "session_replay_service": "Hotjar",
                "session_replay_hosts": ["in.hotjar.com"], "tracker_entity": "Hotjar",
                "tracker_category": "session-replay"})
            ids["recorder_keylog"] = tx.insert("leaks", {
                "crawl_id": crawl, "visit_id": v, "request_id": request, "identifier": "typed_email",
                "chain": "sha256", "location": "query", "field": "ud[em]", "destination_host": "www.facebook.com",
                "destination_site": "facebook.com", "third_party": 1, "tracker_entity": "Meta"})
            v = ids["recorder_accept"] = visit("recorder.example", "accept")
            ids["recorder_tc"] = tx.insert("consent", {
                "visit_id": v, "phase": "accept", "cmp": "didomi", "framework": "tcf", "source": "cookie",
                "name": "euconsent-v2", "raw": "CPlaceholder", "time_ms": 2500,
                "decoded": {"vendor_consents": [32, 755, 9999], "purposes_consent": [1, 3, 4],
                            "purposes_li_transparency": [], "special_feature_opt_ins": []}})
            tx.insert("consent", {"visit_id": v, "phase": "accept", "cmp": "didomi", "framework": "tcf",
                                  "source": "action", "action": "accept", "action_method": "autoconsent",
                                  "verified": 1, "time_ms": 2000})
            ids["clean_initial"] = visit("clean.example", "initial")
        store.finish_crawl(crawl)
        # an audit of that crawl that found nothing on clean.example: its findings section is "good", not unmeasured
        store.finish_crawl(store.start_crawl("audit", config={"scope": [crawl], "jurisdiction": "eu"}))
        rebuild(store, [crawl])


fixture, conn, client = module_fixtures("site", then=add_measured_crawl)


def sections(page) -> dict:
    return {s.id: s for s in page.sections}


def facts(section) -> list[str]:
    return [f.text for f in section.facts]


def verdicts(page) -> dict[str, tuple[str, str]]:
    return {s.id: (s.verdict, s.verdict_text) for s in page.sections}


def test_news_page_in_french(conn, fixture):
    page = site_page(conn, "news.example", "fr", {})
    assert page.title == "Ce que mouchard a trouvé sur news.example"
    assert re.fullmatch(r"Exploration n° 1 du \d{4}-\d\d-\d\d : 4 visites sur ce site \(sans interaction, après "
                        r"refus, après acceptation, avec le signal GPC\)\.", page.lede)
    s = sections(page)
    assert facts(s["trackers"]) == [
        "3 entreprises de suivi ont reçu des requêtes de ce site : Google, Meta, Microsoft.",
        "Pour la publicité : Google, Microsoft.",
        "C'est plus que 89\u202f% des 9 sites visités dans cette exploration."]
    assert facts(s["cookies"]) == [
        "4 cookies de suivi (des identifiants) ont été déposés, dont 3 avant tout choix.",
        "Cookies publicitaires : 3 (IDE, uuid2).",
        "Le plus durable : IDE (Google), gardé 390 jours par le navigateur (durée demandée inconnue).",
        "C'est plus que 89\u202f% des 9 sites visités dans cette exploration."]
    cookie_lines = [tuple(c.text if hasattr(c, "url") else c for c in row) for row in s["cookies"].table.rows]
    assert cookie_lines == [  # one line per cookie, with the phases it was set in
        ("IDE", ".doubleclick.net", "Google", "—", "390", "oui", "sans interaction, avec le signal GPC"),
        ("uuid2", ".adnxs.com", "Microsoft", "—", "390", "non", "après refus"),
        ("_fbp", ".news.example", "Meta", "—", "90", "oui", "sans interaction")]
    assert s["cookies"].table.rows[0][0].url == f"/mouchard/cookies/{fixture.ids['news_ide_cookie']}"
    assert facts(s["fingerprinting"]) == [
        "1 script prend l'empreinte du navigateur.", "https://fp.example/fp.js (FingerprintCo) : canvas, WebGL.",
        "Autres sites visités dans cette exploration qui le font aussi : 0\u202f% (sur 8)."]
    assert facts(s["consent"]) == [
        "Bandeau de consentement : didomi.",
        "Un bouton de refus était visible dès le premier niveau du bandeau.",
        "« Refuser » a été cliqué, et le clic vérifié (autoconsent).",
        "Après le clic sur « Refuser », 1 entreprise de suivi a encore reçu des requêtes : Microsoft.",
        "« Accepter » n'a pas pu être cliqué.",
        "Entreprises de suivi par phase : sans interaction : 2 ; après refus : 2 ; après acceptation : 1 ; "
        "avec le signal GPC : 1.",
        "Autres sites visités dans cette exploration qui le font aussi : 0\u202f% (sur 8)."]
    assert facts(s["gpc"]) == [
        "Avec le signal GPC, 1 entreprise(s) publicitaire(s) ont reçu des requêtes (Google) et 1 cookie(s) de "
        "suivi ont été déposés.",
        "Le site déclare respecter GPC (/.well-known/gpc.json : true)."]
    assert facts(s["bidding"])[:2] == [
        "1 enchère(s) publicitaire(s) dans la page ; 2 enchérisseur(s) : appnexus (Microsoft), rubicon (Magnite) ; "
        "1 offre(s) gagnante(s).",
        "Données personnelles envoyées aux enchérisseurs : device.geo, user.buyeruid."]
    assert facts(s["idsync"])[0] == ("Microsoft (adnxs.com) a transmis son identifiant « uuid2 » à Magnite "
                                     "(rubiconproject.com) (dans les paramètres de l'URL).")
    assert facts(s["findings"]) == [
        "Google received a request without consent in the TC string — gravité haute ; ePrivacy art. 5(3); "
        "GDPR art. 6.",
        "GPC signal ignored — gravité moyenne ; CCPA regs § 7025."]
    assert verdicts(page) == {
        "visits": ("good", "Toutes chargées"), "trackers": ("bad", "Pistage publicitaire"),
        "cookies": ("bad", "Avant tout choix"), "fingerprinting": ("bad", "Empreinte prise"),
        "replay": ("none", "Non mesuré"), "keylogging": ("none", "Non mesuré"), "pixels": ("none", "Non mesuré"),
        "consent": ("bad", "Suivi malgré le refus"), "gpc": ("bad", "GPC ignoré"),
        "bidding": ("bad", "Profil mis aux enchères"), "idsync": ("bad", "Identifiants partagés"),
        "vendors": ("none", "Non mesuré"), "findings": ("bad", "Constats graves")}


def test_news_page_in_english(conn):
    page = site_page(conn, "news.example", "en", {})
    s = sections(page)
    assert page.title == "What mouchard found on news.example"
    assert facts(s["trackers"]) == [
        "3 tracker companies received requests from this site: Google, Meta, Microsoft.",
        "For advertising: Google, Microsoft.", "That is more than 89% of the 9 sites visited in this crawl."]
    assert facts(s["consent"])[2:4] == [
        "“Reject” was clicked, and the click verified (autoconsent).",
        "After the click on “Reject”, 1 tracker company still received requests: Microsoft."]
    assert facts(s["gpc"]) == [
        "With the GPC signal, 1 advertising company(ies) received requests (Google) and 1 tracking cookie(s) were set.",
        "The site says it honours GPC (/.well-known/gpc.json: true)."]
    assert facts(s["replay"]) == [
        "This crawl did not measure this (or does not record that it did): no result does not mean there is "
        "nothing."]
    assert verdicts(page)["findings"] == ("bad", "Serious findings")
    assert s["trackers"].table.rows[0][0].url == "/company/Google?lang=en"
    chart = s["trackers"].chart
    assert chart.title == "Tracker companies per site in this crawl"
    assert chart.data == ({"companies": 0, "sites": 1, "this": ""}, {"companies": 1, "sites": 7, "this": ""},
                          {"companies": 2, "sites": 0, "this": ""}, {"companies": 3, "sites": 1, "this": "This site"})


def test_each_sentence_links_to_the_rows_that_prove_it(conn, fixture):
    s = sections(site_page(conn, "news.example", "en", {}))
    assert [link.url for link in s["trackers"].facts[0].links] == [
        "/mouchard/requests?visit_id__in=1%2C2%2C3%2C4&third_party=1&tracker_entity__notblank=1"]
    assert [link.url for link in s["trackers"].facts[2].links] == [  # the comparison: the crawl's sites, ranked
        "/mouchard/site_summary?crawl_id=1&visits__gt=0&_sort_desc=tracker_entities"]
    assert [link.url for link in s["consent"].facts[3].links] == [
        "/mouchard/requests?visit_id=2&third_party=1&tracker_entity__notblank=1&time_ms__gte=1000"]
    assert [link.url for link in s["findings"].facts[0].links] == [f"/mouchard/findings/{fixture.ids['tcf_finding']}"]
    assert [link.url for link in s["visits"].facts[1].links] == [
        f"/-/evidence/mouchard/{fixture.ids['news_screenshot']}"]
    assert s["consent"].table.rows[0][-1].url == f"/-/evidence/mouchard/{fixture.ids['news_screenshot']}"


def test_measured_sections_found_in_french_and_english(conn, fixture):
    fr = sections(site_page(conn, "recorder.example", "fr", {}))
    assert facts(fr["replay"]) == [
        "Hotjar enregistre la session (mouvements, clics, saisies) : script https://static.hotjar.com/c/hotjar.js, "
        "envoyé à in.hotjar.com.",
        "Autres sites visités dans cette exploration qui le font aussi : 0\u202f% (sur 1)."]
    assert facts(fr["keylogging"])[0] == ("www.facebook.com a reçu ce qui était tapé dans un formulaire jamais envoyé : "
                                          "une adresse e-mail (dans les paramètres de l'URL, codage : sha256).")
    assert facts(fr["pixels"])[:3] == ["Google Analytics : 1 événement(s) (page_view).",
                                       "Pixel Meta : 2 événement(s) (Purchase, PageView).",
                                       "Avec des données personnelles (souvent hachées) : em, ph."]
    assert facts(fr["consent"])[-1] == (
        "Chaîne TCF en vigueur (après acceptation) : consentement donné à 3 fournisseur(s) (Xandr (AppNexus), "
        "Google Advertising Products), pour stocker des informations sur l'appareil, profils de publicité "
        "personnalisée, publicité personnalisée.")
    en = sections(site_page(conn, "recorder.example", "en", {}))
    assert facts(en["keylogging"])[0] == ("www.facebook.com received what was typed into a form never submitted: "
                                          "an e-mail address (in the URL's query, encoding: sha256).")
    assert [(s.verdict, s.verdict_text) for s in (en["replay"], en["keylogging"], en["pixels"])] == [
        ("bad", "Session recorded"), ("bad", "Typing sent to a third party"), ("bad", "Advertising events")]
    assert [link.url for link in en["keylogging"].facts[0].links] == [
        f"/mouchard/leaks/{fixture.ids['recorder_keylog']}",
        f"/mouchard/requests/{fixture.ids['recorder_pixel_request']}"]


def test_measured_and_found_nothing_is_good_not_unmeasured(conn):
    page = site_page(conn, "clean.example", "en", {})
    assert verdicts(page) == {
        "visits": ("good", "All loaded"), "trackers": ("good", "No tracker company"),
        "cookies": ("good", "No tracking cookie"), "fingerprinting": ("good", "No fingerprinting found"),
        "replay": ("good", "No recording found"), "keylogging": ("good", "Nothing left"),
        "pixels": ("good", "No event"), "consent": ("none", "Not measured"), "gpc": ("none", "Not measured"),
        "bidding": ("good", "No auction seen"), "idsync": ("good", "No sharing seen"),
        "vendors": ("none", "Not measured"), "findings": ("good", "No finding")}
    assert facts(sections(page)["keylogging"]) == [
        "Text was typed into the forms without submitting them: none of it left."]


def test_the_crawl_is_chosen_by_parameter_and_unknown_keys_are_404(conn, fixture):
    crawl = str(fixture.ids["measured_crawl"])
    assert site_page(conn, "clean.example", "fr", {"crawl": crawl}).key == "clean.example"
    assert site_page(conn, "clean.example", "fr", {"crawl": str(fixture.ids["web_crawl"])}) is None
    assert site_page(conn, "news.example", "fr", {"crawl": "1 OR 1=1"}) is None
    assert site_page(conn, "nowhere.example", "fr", {}) is None
    assert site_page(conn, "", "fr", {}) is None
    down = site_page(conn, "down.example", "en", {})  # only a failed visit: said, and nothing measured
    assert verdicts(down)["visits"] == ("warn", "Incomplete")
    assert facts(sections(down)["visits"])[0] == "1 visit did not load (timeout): it counts in none of this page's numbers."
    assert verdicts(down)["trackers"] == ("none", "Not measured")
    assert facts(sections(site_page(conn, "down.example", "fr", {}))["visits"])[0] == (
        "1 visite n'a pas abouti (timeout) : elle ne compte dans aucun chiffre de cette page.")
    # shop.example was audited by an audit that records no scope: no finding is not "no problem"
    assert verdicts(site_page(conn, "shop.example", "en", {}))["findings"] == ("none", "Not measured")
    # a banner seen but no refusal tried: the consent section says so rather than "respected"
    recorder = site_page(conn, "recorder.example", "en", {})
    assert verdicts(recorder)["consent"] == ("none", "Refusal not tested")
    assert facts(sections(recorder)["consent"])[:2] == ["Consent banner: didomi.",
                                                        "“Accept” was clicked, and the click verified (autoconsent)."]


def test_without_the_rollup_the_page_says_it_cannot_compare(tmp_path):
    fx = build(tmp_path / "m.db")
    with sqlite3.connect(fx.path) as db:
        db.execute("DELETE FROM site_summary")
    conn = connect_readonly(fx.path)
    try:
        trackers = sections(site_page(conn, "news.example", "en", {}))["trackers"]
    finally:
        conn.close()
    assert facts(trackers)[-1] == ("No comparison with the other sites: the per-site summary is not built "
                                   "(run mouchard classify).")


def test_the_page_answers_through_datasette_and_every_link_resolves(client):
    for lang in ("fr", "en"):
        response = client.get("/site/news.example", params={"lang": lang})
        assert response.status_code == 200
        paths = sorted({html.unescape(h) for h in re.findall(r'href="(/[^"]*)"', response.text)})
        kinds_missing = [k for k in ("company",) if importlib.util.find_spec(f"mouchard.publishing.pages.{k}") is None]
        checked = [p for p in paths if not any(p.startswith(f"/{k}/") for k in kinds_missing)]
        assert len(checked) >= 30
        for path in checked:
            assert client.get(path).status_code == 200, path
    # the filters are ones Datasette understands: the links show exactly the rows the sentences count
    assert len(client.json("/mouchard/requests", visit_id__in="1,2,3,4", third_party=1,
                           tracker_entity__notblank=1)) == 7
    assert len(client.json("/mouchard/requests", visit_id=2, third_party=1, tracker_entity__notblank=1,
                           time_ms__gte=1000)) == 1
    assert client.get("/site/nowhere.example").status_code == 404


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_strings_stay_text(client, conn, name):
    site = f"{name.replace('_', '-')}.hostile.example"
    page = site_page(conn, site, "fr", {})
    trackers = sections(page)["trackers"]
    assert facts(trackers)[0] == f"1 entreprise de suivi a reçu des requêtes de ce site : {HOSTILE[name]}."
    assert trackers.table.rows[0][0].url.startswith("/company/") and "<" not in trackers.table.rows[0][0].url
    response = client.get(f"/site/{site}")
    assert response.status_code == 200
    assert HOSTILE[name] not in response.text
    assert str(markupsafe.escape(HOSTILE[name])) in response.text  # shown, as text
    assert not re.search(r'href="\s*javascript:', response.text, re.I)


@settings(max_examples=60, deadline=None)
@given(key=st.text(max_size=300), crawl=st.one_of(st.none(), st.text(max_size=30)))
@example(key="news.example", crawl="²")  # a digit to str.isdigit, not to int()
@example(key=" NEWS.example ", crawl="1")
def test_any_key_and_crawl_parameter_is_a_page_or_a_404(conn, key, crawl):
    page = site_page(conn, key, "en", {} if crawl is None else {"crawl": crawl})
    assert page is None or page.key == key.strip().lower()


def test_no_query_of_the_page_scans_a_big_table(conn):
    """Every statement the page runs starts from an index (visits.site, a visit id, site_summary.crawl_id...)."""
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    try:
        site_page(conn, "news.example", "en", {})
        site_page(conn, "recorder.example", "en", {})
    finally:
        conn.set_trace_callback(None)
    plans = {}
    for sql in statements:
        if sql.lstrip().upper().startswith("SELECT"):
            plans[sql] = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql)]
    assert len(plans) >= 20
    for sql, plan in plans.items():
        assert not [line for line in plan if line.startswith("SCAN")
                    and line not in ("SCAN sqlite_master", "SCAN CONSTANT ROW")], (sql, plan)


def test_every_message_has_both_languages():
    catalogue = {k: v for k, v in i18n.catalogue().items() if k.startswith("site.")}
    assert len(catalogue) > 150
    assert all(v["fr"] and v["en"] for v in catalogue.values())
