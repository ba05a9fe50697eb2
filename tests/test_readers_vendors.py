"""Declared versus observed (#18): the site page's section "What vendors declare and what they do", the company
page's "declared in the GVL as vendor N" and the canned query `vendors_declared_vs_observed`, on hand-written
`vendor_lists`, `vendors` and `vendor_conduct` rows: exact sentences, verdicts, links and rows, hostile names inert,
"not measured" without a vendor list, and index use."""

from __future__ import annotations

import html
import json
import re

import markupsafe
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data.datasette.fixtures import HOSTILE, T0
from data.datasette.readers import broken_links, module_fixtures, page_hrefs
from mouchard.publishing.metadata import load_queries
from mouchard.publishing.pages import page_url
from mouchard.publishing.pages.company import build as company_page
from mouchard.publishing.pages.site import build as site_page
from mouchard.publishing.pages.site_context import Context
from mouchard.publishing.pages.site_vendors import _beyond, _verdict
from mouchard.storage.store import Store, connect_readonly

SITE = "vendors.example"
HOSTILE_SITE = "vendors-hostile.example"
QUERY = "/mouchard/vendors_declared_vs_observed"


def add_vendor_world(fixture) -> None:
    """A crawl of vendors.example (initial, accept) where Xandr (vendor 32) goes beyond its declaration and has no
    basis, Rubicon (52) does what it declares and Opaque Ads (999) publishes no disclosure; compliant.example with
    only Rubicon and Opaque Ads; opaque.example with only Opaque Ads; a hostile vendor on vendors-hostile.example."""
    ids = fixture.ids
    with Store(fixture.path) as store:
        crawl = ids["vendor_crawl"] = store.start_crawl("web", config={"phases": ["initial", "accept"]})
        with store.transaction() as tx:
            def visit(site: str, phase: str) -> int:
                return tx.insert("visits", {"crawl_id": crawl, "key": f"{site}|{phase}", "url": f"https://{site}/",
                                            "final_url": f"https://{site}/", "site": site, "phase": phase,
                                            "status": "ok", "depth": 0, "started_at": T0})

            initial, accept = visit(SITE, "initial"), visit(SITE, "accept")
            ids["v_cookie_panid"] = tx.insert("cookies", {"visit_id": initial, "name": "XANDR_PANID",
                                                          "domain": ".adnxs.com", "site": "adnxs.com"})
            ids["v_cookie_uuid2"] = tx.insert("cookies", {"visit_id": initial, "name": "uuid2",
                                                          "domain": ".adnxs.com", "site": "adnxs.com"})
            ids["v_request_secure"] = tx.insert("requests", {"visit_id": initial, "url": "https://secure.adnxs.com/x",
                                                             "host": "secure.adnxs.com", "site": "adnxs.com"})
            ids["v_request_ib"] = tx.insert("requests", {"visit_id": accept, "url": "https://ib.adnxs.com/ut/v3",
                                                         "host": "ib.adnxs.com", "site": "adnxs.com"})
            ids["v_tc"] = tx.insert("consent", {"visit_id": accept, "phase": "accept", "framework": "tcf",
                                                "source": "cookie", "name": "euconsent-v2", "raw": "CQ"})
            ids["v_bid"] = tx.insert("rtb", {"visit_id": accept, "bidder": "appnexus", "event": "bidRequested"})
            for site in ("compliant.example", "opaque.example", HOSTILE_SITE):
                ids[f"v_visit_{site}"] = visit(site, "accept")
            old = tx.insert("vendor_lists", {"version": 119, "sha256": "a" * 64, "vendors": 3,
                                             "fetched_at": "2026-11-01T00:00:00Z"})
            new = ids["v_list"] = tx.insert("vendor_lists", {"version": 120, "sha256": "b" * 64, "vendors": 4,
                                                             "fetched_at": "2026-12-01T00:00:00Z"})
            for list_id in (old, new):
                for vendor_id, name, entity in ((32, "Xandr, Inc.", "Microsoft"), (52, "The Rubicon Project", None),
                                                (999, "Opaque Ads", None)):
                    ids[f"v_vendor_{vendor_id}_{list_id}"] = tx.insert("vendors", {
                        "vendor_list_id": list_id, "vendor_id": vendor_id, "name": name, "tracker_entity": entity,
                        "purposes": [1, 2, 7], "leg_int_purposes": [7] if vendor_id == 32 else [],
                        "cookie_max_age_seconds": 90 * 86400, "domains": ["ib.adnxs.com"] if vendor_id == 32 else []})
            ids["v_vendor_hostile"] = tx.insert("vendors", {"vendor_list_id": new, "vendor_id": 4242,
                                                            "name": HOSTILE["script"], "deleted_date": "2026-10-01"})

            def conduct(site: str, phase: str, vendor_id: int, name: str, verdict: str, **values) -> int:
                return tx.insert("vendor_conduct", {"crawl_id": crawl, "site": site, "phase": phase,
                                                    "vendor_id": vendor_id, "vendor_name": name,
                                                    "vendor_list_version": 120, "verdict": verdict,
                                                    "built_at": T0, **values})

            ids["c_xandr_initial"] = conduct(
                SITE, "initial", 32, "Xandr, Inc.", "without-basis", matched_by=["disclosure-domain", "bidder"],
                hosts=["ib.adnxs.com", "secure.adnxs.com"], requests=3, cookies=2,
                undisclosed_cookies=["XANDR_PANID"], longer_cookies=[{"name": "uuid2", "days": 390, "declared_days": 90},
                                                 {"name": "anj", "days": 89.6, "declared_days": 0}],
                undisclosed_domains=["secure.adnxs.com"], purposes_without_basis=[4, 1],
                evidence=[{"table": "cookies", "id": ids["v_cookie_panid"]},
                          {"table": "cookies", "id": ids["v_cookie_uuid2"]},
                          {"table": "requests", "id": ids["v_request_secure"]}])
            ids["c_xandr_accept"] = conduct(
                SITE, "accept", 32, "Xandr, Inc.", "without-basis", matched_by=["tc-string"], requests=1, cookies=0,
                consent=1, legitimate_interest=1, tc_string_purposes=[1, 2, 3, 4], forbidden_legitimate_interest=[3],
                precise_geo_without_opt_in=2, not_in_cmp_list=1,
                evidence=[{"table": "consent", "id": ids["v_tc"]}, {"table": "rtb", "id": ids["v_bid"]},
                          {"table": "requests", "id": ids["v_request_ib"]}, {"table": "nosuchtable", "id": 1}])
            ids["c_rubicon"] = conduct(SITE, "accept", 52, "The Rubicon Project", "as-declared",
                                       matched_by=["tc-string"], requests=1, cookies=0, consent=1,
                                       legitimate_interest=0, evidence=[])
            ids["c_opaque"] = conduct(SITE, "accept", 999, "Opaque Ads", "not-comparable", matched_by=["entity"],
                                      requests=2, cookies=1, consent=0, legitimate_interest=0, evidence=[])
            ids["c_compliant_rubicon"] = conduct("compliant.example", "accept", 52, "The Rubicon Project",
                                                 "as-declared", matched_by=["tc-string"], requests=1, consent=1)
            ids["c_compliant_opaque"] = conduct("compliant.example", "accept", 999, "Opaque Ads", "not-comparable",
                                                matched_by=["entity"], requests=1, consent=0)
            ids["c_opaque_only"] = conduct("opaque.example", "accept", 999, "Opaque Ads", "not-comparable",
                                           matched_by=["entity"], requests=1, consent=0)
            visit("opaque.example", "revoke")
            conduct("opaque.example", "revoke", 999, "Opaque Ads", "not-comparable", matched_by=["known-host"],
                    requests=4, consent=0, legitimate_interest=0)
            ids["c_hostile"] = conduct(HOSTILE_SITE, "accept", 4242, HOSTILE["script"], "beyond-declared",
                                       matched_by=[HOSTILE["img"]], requests=1, cookies=1, deleted=1,
                                       undisclosed_cookies=[HOSTILE["svg"]],
                                       undisclosed_domains=[HOSTILE["https_quote"]])
            # a row whose JSON columns are broken or of the wrong shape: shown without them, never an error
            ids["c_broken"] = conduct("broken.example", "initial", 7, "Broken JSON", "as-declared",
                                      matched_by="[[[", undisclosed_cookies='{"a": 1}', longer_cookies=[1, "x", {}],
                                      undisclosed_domains="not json", purposes_without_basis=[True, "4", 99],
                                      evidence='[{"table": "visits", "id": "1"}, {"table": 3, "id": 1}]')
            visit("broken.example", "initial")
            visit("many.example", "initial")
            for vendor_id in range(1, 61):  # 60 vendors beyond their declarations: more than a page shows
                conduct("many.example", "initial", vendor_id, f"Vendor {vendor_id}", "beyond-declared",
                        undisclosed_cookies=[f"c{vendor_id}"])
        store.finish_crawl(crawl)


fixture, conn, client = module_fixtures("readers-vendors", hostile=False, then=add_vendor_world)


def options(page: str, name: str) -> list[str]:
    """The values of the <select name=name> of a question's page."""
    select = re.search(rf'<select id="[^"]+" name="{name}">(.*?)</select>', page, re.DOTALL)
    assert select, f"no <select> for {name}"
    return [html.unescape(value) for value in re.findall(r'<option value="([^"]*)"', select.group(1))]


def section(page):
    return next(s for s in page.sections if s.id == "vendors")


def texts(section) -> list[str]:
    return [f.text for f in section.facts]


def links(section) -> list[list[str]]:
    return [[link.url for link in f.links] for f in section.facts]


def cells(table) -> list[tuple]:
    return [tuple(c.text if hasattr(c, "url") else c for c in row) for row in table.rows]


# --- the site page -------------------------------------------------------------------------------------------

def test_violating_vendor_in_french(conn, fixture):
    s = section(site_page(conn, SITE, "fr", {}))
    assert (s.heading, s.verdict, s.verdict_text) == (
        "Ce que les vendeurs déclarent et ce qu'ils font", "bad", "Au-delà de leurs déclarations")
    assert texts(s) == [
        "3 vendeurs du GVL (version 120) reconnus dans les visites de ce site : 1 sans base légale, 0 au-delà de "
        "leurs déclarations, 1 conformes, 1 sans déclaration à comparer.",
        "Xandr, Inc. (vendeur n° 32, sans interaction) : cookies que sa déclaration ne mentionne pas : XANDR_PANID.",
        "Xandr, Inc. (vendeur n° 32, sans interaction) : cookies gardés plus longtemps que déclaré : uuid2 390 jours "
        "au lieu de 90, anj 90 jours alors qu'il est déclaré comme cookie de session.",
        "Xandr, Inc. (vendeur n° 32, sans interaction) : domaines contactés que sa déclaration ne liste pas : "
        "secure.adnxs.com.",
        "Xandr, Inc. (vendeur n° 32, sans interaction) : a reçu des données pour des finalités que la chaîne TC en "
        "vigueur n'autorisait ni par consentement ni par intérêt légitime : stocker des informations sur l'appareil "
        "(1), publicité personnalisée (4).",
        "Xandr, Inc. (vendeur n° 32, après acceptation) : intérêt légitime signalé pour des finalités où la politique "
        "du TCF exige le consentement : profils de publicité personnalisée (3).",
        "Xandr, Inc. (vendeur n° 32, après acceptation) : position précise envoyée dans 2 requête(s) d'enchère sans "
        "accord pour la géolocalisation précise (fonctionnalité spéciale 1).",
        "Xandr, Inc. (vendeur n° 32, après acceptation) : appelé alors que le bandeau (CMP) ne le compte pas parmi "
        "ses vendeurs."]
    ids = fixture.ids
    conduct_initial, conduct_accept = (f"/mouchard/vendor_conduct/{ids['c_xandr_initial']}",
                                       f"/mouchard/vendor_conduct/{ids['c_xandr_accept']}")
    declared = f"/mouchard/vendors/{ids['v_vendor_32_' + str(ids['v_list'])]}"  # the newest list's row
    cookies = f"/mouchard/cookies?id__in={ids['v_cookie_panid']}%2C{ids['v_cookie_uuid2']}"
    assert links(s) == [
        [f"/mouchard/vendor_conduct?crawl_id={ids['vendor_crawl']}&site=vendors.example"],
        [cookies, conduct_initial, declared],
        [cookies, conduct_initial, declared],
        [f"/mouchard/requests?id__in={ids['v_request_secure']}", conduct_initial, declared],
        # no consent or bid row in this one's evidence: its requests and cookies prove it
        [f"/mouchard/requests?id__in={ids['v_request_secure']}", conduct_initial, declared],
        [f"/mouchard/consent?id__in={ids['v_tc']}", conduct_accept, declared],
        [f"/mouchard/rtb?id__in={ids['v_bid']}", f"/mouchard/requests?id__in={ids['v_request_ib']}",
         conduct_accept, declared],
        [f"/mouchard/consent?id__in={ids['v_tc']}", f"/mouchard/requests?id__in={ids['v_request_ib']}",
         conduct_accept, declared]]
    assert s.table.columns == ("Vendeur", "N° GVL", "Phase", "Reconnu par", "Base en vigueur", "Requêtes", "Cookies",
                               "Verdict")
    assert cells(s.table) == [
        ("Xandr, Inc.", 32, "sans interaction", "domaine déclaré, code d'enchérisseur", "pas de chaîne TC", "3", "2",
         "sans base légale"),
        ("Xandr, Inc.", 32, "après acceptation", "chaîne TC", "consentement", "1", "0", "sans base légale"),
        ("The Rubicon Project", 52, "après acceptation", "chaîne TC", "consentement", "1", "0", "conforme"),
        ("Opaque Ads", 999, "après acceptation", "entreprise des listes de traceurs", "aucun", "2", "1",
         "pas de déclaration à comparer")]
    assert s.table.rows[2][0].url == f"/mouchard/vendors/{ids['v_vendor_52_' + str(ids['v_list'])]}"
    assert s.table.rows[3][7].url == f"/mouchard/vendor_conduct/{ids['c_opaque']}"


def test_violating_vendor_in_english(conn):
    s = section(site_page(conn, SITE, "en", {}))
    assert (s.heading, s.verdict, s.verdict_text) == ("What vendors declare and what they do", "bad",
                                                      "Beyond their declarations")
    assert texts(s) == [
        "3 GVL vendors (version 120) recognised in this site's visits: 1 without a legal basis, 0 beyond their "
        "declarations, 1 as declared, 1 with no disclosure to compare.",
        "Xandr, Inc. (vendor 32, without interaction): cookies its disclosure does not list: XANDR_PANID.",
        "Xandr, Inc. (vendor 32, without interaction): cookies kept longer than declared: uuid2 390 days instead "
        "of 90, anj 90 days, declared as a session cookie.",
        "Xandr, Inc. (vendor 32, without interaction): hosts contacted that its disclosure does not list: "
        "secure.adnxs.com.",
        "Xandr, Inc. (vendor 32, without interaction): received data for purposes the TC string in force allowed "
        "neither by consent nor by legitimate interest: store information on a device (1), personalised "
        "advertising (4).",
        "Xandr, Inc. (vendor 32, after accepting): legitimate interest signalled for purposes where TCF policy "
        "requires consent: personalised advertising profiles (3).",
        "Xandr, Inc. (vendor 32, after accepting): precise coordinates sent in 2 bid request(s) without opt-in to "
        "precise geolocation (special feature 1).",
        "Xandr, Inc. (vendor 32, after accepting): called although the CMP does not list it among its vendors."]
    assert [link.text for link in s.facts[6].links] == ["the bids", "the requests", "the comparison",
                                                        "its declaration (GVL)"]
    assert cells(s.table)[0] == ("Xandr, Inc.", 32, "without interaction", "declared domain, bidder code",
                                 "no TC string", "3", "2", "without a legal basis")


def test_compliant_and_not_comparable_vendors_are_good(conn):
    fr, en = (section(site_page(conn, "compliant.example", lang, {})) for lang in ("fr", "en"))
    assert (fr.verdict, fr.verdict_text, en.verdict_text) == ("good", "Conformes à leurs déclarations", "As declared")
    assert texts(fr) == ["2 vendeurs du GVL (version 120) reconnus dans les visites de ce site : 0 sans base légale, "
                         "0 au-delà de leurs déclarations, 1 conformes, 1 sans déclaration à comparer."]
    assert texts(en) == ["2 GVL vendors (version 120) recognised in this site's visits: 0 without a legal basis, "
                         "0 beyond their declarations, 1 as declared, 1 with no disclosure to compare."]


def test_only_vendors_without_a_disclosure_compare_nothing(conn):
    s = section(site_page(conn, "opaque.example", "en", {}))
    assert (s.verdict, s.verdict_text) == ("warn", "Nothing to compare")
    assert cells(s.table) == [
        ("Opaque Ads", 999, "after accepting", "tracker-list company", "none", "1", "0", "no disclosure to compare"),
        ("Opaque Ads", 999, "after withdrawing consent", "known host", "none", "4", "0", "no disclosure to compare")]
    assert texts(s) == ["1 GVL vendor (version 120) recognised in this site's visits: 0 without a legal basis, "
                        "0 beyond its declaration, 0 as declared, 1 with no disclosure to compare."]
    assert texts(section(site_page(conn, "opaque.example", "fr", {})))[0].startswith(
        "1 vendeur du GVL (version 120) reconnu dans les visites de ce site : 0 sans base légale, 0 au-delà de ses "
        "déclarations, 0 conforme, 1 sans déclaration à comparer.")


def test_a_site_without_rows_is_not_measured(conn):
    s = section(site_page(conn, "news.example", "en", {}))
    assert (s.verdict, s.verdict_text) == ("none", "Not measured")
    assert texts(s) == ["No GVL vendor was recognised in this crawl's visits of this site (or the comparison was not "
                        "built: run mouchard classify)."]
    assert links(s) == [["/mouchard/vendor_lists"]]


def test_without_a_vendor_list_the_section_says_how_to_fetch_one(tmp_path):
    path = tmp_path / "novendors.db"
    with Store(path) as store:
        crawl = store.start_crawl("web", config={"phases": ["initial"]})
        with store.transaction() as tx:
            tx.insert("visits", {"crawl_id": crawl, "key": "a", "url": "https://plain.example/", "site": "plain.example",
                                 "phase": "initial", "status": "ok", "depth": 0, "started_at": T0})
        store.finish_crawl(crawl)
    connection = connect_readonly(path)
    try:
        fr, en = (section(site_page(connection, "plain.example", lang, {})) for lang in ("fr", "en"))
    finally:
        connection.close()
    assert (fr.verdict, fr.verdict_text, en.verdict, en.verdict_text) == ("none", "Non mesuré", "none",
                                                                          "Not measured")
    assert texts(fr) == ["Aucune version de la liste des vendeurs de l'IAB (GVL) n'est enregistrée dans cette base : "
                         "lancez mouchard vendors fetch, puis mouchard classify."]
    assert texts(en) == ["No version of the IAB's Global Vendor List (GVL) is recorded in this database: run "
                         "mouchard vendors fetch, then mouchard classify."]


def test_hostile_vendor_names_render_inert(client, conn, fixture):
    s = section(site_page(conn, HOSTILE_SITE, "en", {}))
    assert s.verdict == "bad"
    assert texts(s)[1:] == [
        f"{HOSTILE['script']} (vendor 4242, after accepting): cookies its disclosure does not list: {HOSTILE['svg']}.",
        f"{HOSTILE['script']} (vendor 4242, after accepting): hosts contacted that its disclosure does not list: "
        f"{HOSTILE['https_quote']}.",
        f"{HOSTILE['script']} (vendor 4242, after accepting): called although the GVL marks it deleted."]
    assert links(s)[3] == [f"/mouchard/vendor_conduct/{fixture.ids['c_hostile']}",
                           f"/mouchard/vendors/{fixture.ids['v_vendor_hostile']}"]
    response = client.get(page_url("site", HOSTILE_SITE, "en"))
    assert response.status_code == 200
    for name in ("script", "svg", "img", "https_quote"):
        assert HOSTILE[name] not in response.text, name
        assert str(markupsafe.escape(HOSTILE[name])) in response.text, name


def test_every_link_of_the_section_answers(client, conn):
    response = client.get(page_url("site", SITE, "fr"))
    assert response.status_code == 200
    hrefs = [h for h in page_hrefs(response.text) if "vendor" in h or "id__in" in h]
    assert len(hrefs) >= 10
    assert broken_links(client, hrefs) == []


# --- the company page ------------------------------------------------------------------------------------------

def test_company_page_says_which_gvl_vendor_it_is(conn, fixture):
    for lang, text in (("fr", "Déclaré dans le GVL (version 120) comme vendeur n° 32, sous le nom « Xandr, Inc. »."),
                       ("en", "Declared in the GVL (version 120) as vendor 32, under the name “Xandr, Inc.”.")):
        owner = next(s for s in company_page(conn, "Microsoft", lang, {}).sections if s.id == "owner")
        gvl = [f for f in owner.facts if "GVL" in f.text]
        assert [f.text for f in gvl] == [text]
        assert [link.url for link in gvl[0].links] == [
            f"/mouchard/vendors/{fixture.ids['v_vendor_32_' + str(fixture.ids['v_list'])]}"]


# --- the canned query ------------------------------------------------------------------------------------------

def test_the_question_is_listed_with_its_choices(client):
    query = next(q for q in load_queries() if q.name == "vendors_declared_vs_observed")
    assert query.params == ("site", "phase")
    assert [(c.param, c.free) for c in query.choices] == [("site", False), ("phase", False)]
    assert [(link.column, link.kind) for link in query.links] == [("site", "site")]
    for lang, title in (("fr", "Ce que les vendeurs publicitaires déclarent et ce qu'ils font"),
                        ("en", "What ad-tech vendors declare and what they do")):
        home = client.get("/", params={"lang": lang}).text
        assert f'href="{QUERY}"' in home and str(markupsafe.escape(title)) in home, lang
    page = client.get(QUERY, params={"lang": "en"}).text
    assert options(page, "site") == [
        "", "broken.example", "compliant.example", "many.example", "opaque.example", HOSTILE_SITE, SITE]
    assert options(page, "phase") == ["", "initial", "reject", "accept", "gpc", "revoke"]


def test_the_question_answers_declared_versus_observed_per_site_phase_and_vendor(client, fixture):
    ids = fixture.ids
    rows = client.json(QUERY, site=SITE, phase="")
    declared = {v: ids[f"v_vendor_{v}_{ids['v_list']}"] for v in (32, 52, 999)}
    assert rows == [
        {"site": SITE, "crawl_id": ids["vendor_crawl"], "phase": "initial", "vendor_id": 32, "vendor": "Xandr, Inc.",
         "verdict": "received data without a legal basis", "recognised_by": "disclosure-domain, bidder",
         "basis_in_force": "no TC string", "requests": 3, "cookies": 2,
         "declared_purposes_by_consent": "store information on a device (1), advertising on limited data (2), "
                                         "advertising performance measurement (7)",
         "declared_purposes_by_legitimate_interest": "advertising performance measurement (7)",
         "declared_cookie_days": 90.0, "undisclosed_cookies": "XANDR_PANID", "undisclosed_storage": None,
         "longer_cookies": "uuid2: 390.0 days, declared 90.0; anj: 90.0 days, declared session", "undisclosed_domains": "secure.adnxs.com",
         "purposes_without_basis": "personalised advertising (4), store information on a device (1)",
         "forbidden_legitimate_interest": None, "precise_location_bids_without_opt_in": None,
         "not_in_cmp_list": None, "deleted_from_gvl": None, "gvl_version": 120,
         "evidence": json.dumps([{"table": "cookies", "id": ids["v_cookie_panid"]},
                                 {"table": "cookies", "id": ids["v_cookie_uuid2"]},
                                 {"table": "requests", "id": ids["v_request_secure"]}]),
         "vendor_conduct_id": ids["c_xandr_initial"], "vendors_id": declared[32]},
        {"site": SITE, "crawl_id": ids["vendor_crawl"], "phase": "accept", "vendor_id": 32, "vendor": "Xandr, Inc.",
         "verdict": "received data without a legal basis", "recognised_by": "tc-string",
         "basis_in_force": "consent", "requests": 1, "cookies": 0,
         "declared_purposes_by_consent": "store information on a device (1), advertising on limited data (2), "
                                         "advertising performance measurement (7)",
         "declared_purposes_by_legitimate_interest": "advertising performance measurement (7)",
         "declared_cookie_days": 90.0, "undisclosed_cookies": None, "undisclosed_storage": None, "longer_cookies": None,
         "undisclosed_domains": None, "purposes_without_basis": None,
         "forbidden_legitimate_interest": "personalised advertising profiles (3)",
         "precise_location_bids_without_opt_in": 2, "not_in_cmp_list": "yes", "deleted_from_gvl": None,
         "gvl_version": 120,
         "evidence": json.dumps([{"table": "consent", "id": ids["v_tc"]}, {"table": "rtb", "id": ids["v_bid"]},
                                 {"table": "requests", "id": ids["v_request_ib"]}, {"table": "nosuchtable", "id": 1}]),
         "vendor_conduct_id": ids["c_xandr_accept"], "vendors_id": declared[32]},
        {"site": SITE, "crawl_id": ids["vendor_crawl"], "phase": "accept", "vendor_id": 999, "vendor": "Opaque Ads",
         "verdict": "nothing to compare: no storage disclosure", "recognised_by": "entity", "basis_in_force": "none",
         "requests": 2, "cookies": 1,
         "declared_purposes_by_consent": "store information on a device (1), advertising on limited data (2), "
                                         "advertising performance measurement (7)",
         "declared_purposes_by_legitimate_interest": None, "declared_cookie_days": 90.0,
         "undisclosed_cookies": None, "undisclosed_storage": None, "longer_cookies": None, "undisclosed_domains": None,
         "purposes_without_basis": None, "forbidden_legitimate_interest": None,
         "precise_location_bids_without_opt_in": None, "not_in_cmp_list": None, "deleted_from_gvl": None,
         "gvl_version": 120, "evidence": "[]", "vendor_conduct_id": ids["c_opaque"], "vendors_id": declared[999]},
        {"site": SITE, "crawl_id": ids["vendor_crawl"], "phase": "accept", "vendor_id": 52,
         "vendor": "The Rubicon Project", "verdict": "did only what it declares", "recognised_by": "tc-string",
         "basis_in_force": "consent", "requests": 1, "cookies": 0,
         "declared_purposes_by_consent": "store information on a device (1), advertising on limited data (2), "
                                         "advertising performance measurement (7)",
         "declared_purposes_by_legitimate_interest": None, "declared_cookie_days": 90.0,
         "undisclosed_cookies": None, "undisclosed_storage": None, "longer_cookies": None, "undisclosed_domains": None,
         "purposes_without_basis": None, "forbidden_legitimate_interest": None,
         "precise_location_bids_without_opt_in": None, "not_in_cmp_list": None, "deleted_from_gvl": None,
         "gvl_version": 120, "evidence": "[]", "vendor_conduct_id": ids["c_rubicon"], "vendors_id": declared[52]}]


def test_the_question_filters_by_phase_and_lists_every_site_without_one(client):
    rows = client.json(QUERY, site=SITE, phase="initial")
    assert [(r["phase"], r["vendor_id"]) for r in rows] == [("initial", 32)]
    rows = client.json(QUERY, site="", phase="accept")
    assert [(r["site"], r["vendor_id"], r["verdict"]) for r in rows] == [
        (SITE, 32, "received data without a legal basis"),
        (HOSTILE_SITE, 4242, "did more than it declares"),
        ("compliant.example", 999, "nothing to compare: no storage disclosure"),
        ("opaque.example", 999, "nothing to compare: no storage disclosure"),
        (SITE, 999, "nothing to compare: no storage disclosure"),
        ("compliant.example", 52, "did only what it declares"),
        (SITE, 52, "did only what it declares")]
    assert client.json(QUERY, site="nowhere.example", phase="") == []


def test_the_question_page_offers_the_sites_present_and_escapes_names(client):
    page = client.get(QUERY, params={"site": HOSTILE_SITE}).text
    assert f'<option value="{SITE}"' in page and '<option value="opaque.example"' in page
    assert HOSTILE["script"] not in page and str(markupsafe.escape(HOSTILE["script"])) in page
    assert f'href="{page_url("site", HOSTILE_SITE)}"' in page  # the site cell links to its page


@pytest.mark.parametrize("site", ["", SITE])
def test_the_question_reads_vendor_conduct_by_an_index(conn, site):
    sql = next(q for q in load_queries() if q.name == "vendors_declared_vs_observed").sql
    plan = " ".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", {"site": site, "phase": ""}))
    assert "SCAN vc" not in plan and "SEARCH vc USING INDEX" in plan, plan


def test_the_section_reads_vendor_conduct_by_its_unique_index(conn):
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    try:
        site_page(conn, SITE, "en", {})
    finally:
        conn.set_trace_callback(None)
    reads = [sql for sql in statements if "FROM vendor_conduct" in sql or "FROM vendor_lists" in sql]
    assert len(reads) == 2
    for sql in reads:
        plan = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql)]
        assert not [line for line in plan if line.startswith("SCAN")], (sql, plan)
        assert not [line for line in plan if "TEMP B-TREE" in line], (sql, plan)  # rows come in index order


# --- hostile and broken rows -------------------------------------------------------------------------------------

def test_broken_json_columns_are_read_as_empty(client, conn):
    s = section(site_page(conn, "broken.example", "en", {}))
    assert (s.verdict, s.verdict_text) == ("bad", "Beyond their declarations")
    assert texts(s) == [
        "1 GVL vendor (version 120) recognised in this site's visits: 1 without a legal basis, 0 beyond its "
        "declaration, 0 as declared, 0 with no disclosure to compare.",
        "Broken JSON (vendor 7, without interaction): cookies kept longer than declared: ? ? days, declared as a "
        "session cookie.",
        "Broken JSON (vendor 7, without interaction): received data for purposes the TC string in force allowed "
        "neither by consent nor by legitimate interest: purpose 99."]
    assert cells(s.table)[0][3] == "—"
    rows = client.json(QUERY, site="broken.example", phase="")
    assert [(r["recognised_by"], r["undisclosed_cookies"], r["undisclosed_domains"], r["purposes_without_basis"],
             r["longer_cookies"]) for r in rows] == [(None, None, None, "purpose 99 (99)", None)]


JSONISH = st.recursive(st.none() | st.booleans() | st.integers(-2**63, 2**63 - 1) | st.floats() | st.text(max_size=20),
                       lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                     max_size=4), max_leaves=12)
JSON_COLUMNS = ("undisclosed_cookies", "undisclosed_storage", "longer_cookies", "undisclosed_domains",
                "purposes_without_basis", "forbidden_legitimate_interest", "evidence", "matched_by")
INT_COLUMNS = ("precise_geo_without_opt_in", "not_in_cmp_list", "deleted", "consent", "legitimate_interest")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(columns=st.fixed_dictionaries({name: st.one_of(JSONISH.map(json.dumps), st.text(max_size=40), JSONISH)
                                      for name in JSON_COLUMNS}),
       numbers=st.fixed_dictionaries({name: st.none() | st.integers(-5, 5) | st.text(max_size=3)
                                      for name in INT_COLUMNS}),
       verdict=st.none() | st.sampled_from(["as-declared", "beyond-declared", "without-basis", "not-comparable"])
       | st.text(max_size=10))
def test_any_row_gives_sentences_and_links_to_this_datasette_only(conn, columns, numbers, verdict):
    ctx = Context(conn, "en", SITE, 1, [])
    row = {"id": 1, "phase": "accept", "vendor_id": 5, "vendor_name": HOSTILE["img"], "declared_id": None,
           "verdict": verdict, **columns, **numbers}
    assert _verdict(row) in ("as-declared", "beyond-declared", "without-basis", "not-comparable")
    for fact in _beyond(ctx, row):
        assert isinstance(fact.text, str) and fact.text.startswith(HOSTILE["img"])
        for link in fact.links:
            assert link.url.startswith("/mouchard/") and "\\" not in link.url, link.url


def test_a_long_list_says_what_it_does_not_show(conn, fixture):
    s = section(site_page(conn, "many.example", "en", {}))
    assert len(s.facts) == 51 and len(s.table.rows) == 50
    assert s.facts[49].text == "Vendor 49 (vendor 49, without interaction): cookies its disclosure does not list: c49."
    assert s.facts[50].text == ("Not shown here: 11 more statement(s) and 10 more table row(s); every comparison is "
                                "in the rows linked.")
    assert links(s)[50] == [f"/mouchard/vendor_conduct?crawl_id={fixture.ids['vendor_crawl']}&site=many.example"]
