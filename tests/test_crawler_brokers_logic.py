"""Pure logic of the data-broker side: registry cells and headers, names, emails, snapshot diffs, hidden-from-search
signals, privacy links in four languages, privacy-portal hosts, bot walls, GPC statements, render rule."""

from __future__ import annotations

import pytest

from crawler.brokers.fields import field_of, metric_of
from crawler.brokers.gpc import gpc_url, read_statement
from crawler.brokers.pages import bot_wall, has_scripts, hosted_by, kind_of_link, page_text, privacy_links
from crawler.brokers.portals import label_values, tx_grid, vt_search_state
from crawler.brokers.results import PageResult
from crawler.brokers.robots import MetaTag, RobotsTxt, Signals, robots_meta, says_noindex, x_robots_noindex
from crawler.spiders.broker_sites import needs_render
from mouchard.brokers import (BrokerRecord, assign_keys, broker_key, diff_snapshots, email_personal,
                              normalise_header, parse_number, slug, split_websites, yes_no)


@pytest.mark.parametrize("value, expected", [
    ("Yes", "yes"), (" no ", "no"), ("", "unknown"), (None, "unknown"), ("N/A", "unknown"), ("Oui", "yes"),
    ("0", "unknown"), ("Maybe", "unknown")])
def test_blank_declaration_is_unknown_not_no(value, expected):
    assert yes_no(value) == expected


def test_headers_are_matched_whatever_their_spaces_quotes_and_case():
    nbsp = "The data broker or any\u00a0of\u00a0its\u00a0subsidiaries\u00a0is regulated by\u00a0the\u00a0federal " \
           "Fair Credit Reporting Act (FCRA):"
    assert field_of(nbsp) == "fcra"
    assert field_of("If the data broker\u00a0or any of its subsidiaries is regulated by the FCRA, listed are the "
                    "types of personal information") is None
    assert normalise_header("The data broker collects consumers\u2019 precise geolocation:\u00a0") == \
        "the data broker collects consumers' precise geolocation"
    assert field_of("DATA BROKER NAME:") == "name" and field_of("FACILITY NAME") == "name"
    assert field_of("Data Broker's primary website that contains details on how consumers can exercise their CA "
                    "Consumer Privacy Act rights, including how to delete their personal information: ") == "rights_url"
    assert field_of("Data broker primary website:") == "websites"
    assert field_of("Consumer Rights Link") == "rights_url" and field_of("OPT OUT WEBSITE") == "rights_url"


@pytest.mark.parametrize("header, expected", [
    ("Number of requests to delete received from consumers in 2023: ", ("delete", "received")),
    ("Number of requests to know recieved from consumers in 2023:", ("know", "received")),
    ("Median number of days taken to respond substantively to a request to opt out of the sale or sharing of "
     "personal information in 2023:", ("opt-out", "median_days")),
    ("Number of requests to know what personal information was sold or shared, and to whom it was sold or shared, "
     "denied in 2023:", ("know-sold-shared", "denied")),
    ("Requests to delete - Total requests received - Complied in part", ("delete", "complied_part")),
    ("Requests to limit the use and disclosure of sensitive personal information - The number of days to respond "
     "substantively - Mean", ("limit", "mean_days")),
    ("Additional information or explanation on the metrics reporting: [optional]", None),
    ("Number of data broker security breaches in the prior year", None),
])
def test_metric_headers_of_every_year_map_to_type_and_measure(header, expected):
    assert metric_of(header) == expected


def test_numbers_keep_decimals_and_drop_thousands_separators():
    assert parse_number("9,321") == 9321 and parse_number("2.333") == 2.333 and parse_number("N/A") is None


def test_declaration_slugs_are_short_and_distinct():
    assert slug("The data broker or any of its subsidiaries is regulated by the federal Health Insurance "
                "Portability and Accountability Act (HIPAA):") == "regulated_hipaa"
    assert slug("Data broker collects consumers' biometric data") == "collects_consumers_biometric_data"
    assert len(slug("Data broker shared or sold consumers' data to law enforcement in the past year, except when "
                    "required by subpoena or court order")) <= 80


def test_website_cells_split_on_every_separator():
    assert split_websites("https://www.beenverified.com;\nhttps://www.peoplelooker.com; \nwww.numberguru.com") == [
        "https://www.beenverified.com", "https://www.peoplelooker.com", "https://www.numberguru.com"]
    assert split_websites("https://www.peoplesearcher.com\nhttps://www.secretinfo.org/name/landing") == [
        "https://www.peoplesearcher.com", "https://www.secretinfo.org/name/landing"]
    assert split_websites("a.com, b.com | https://a.com") == ["https://a.com", "https://b.com"]
    assert split_websites("https://urldefense.com/v3/__https://marketing.verisk.com/privacy-center/__;!!Em4Sr2I!Ny$") \
        == ["https://marketing.verisk.com/privacy-center/"]
    assert split_websites("N/A") == [] and split_websites("see our site") == []
    assert split_websites("https://x.com/terms-and-conditions") == ["https://x.com/terms-and-conditions"]


def test_broker_names_follow_brokers_across_snapshots():
    assert broker_key("Acme Data, Inc.") == broker_key("ACME DATA INC") == "acme data"
    assert broker_key("M1 Data & Analytics, LLC") == "m1 data and analytics"
    records = assign_keys([BrokerRecord("Compact Information Systems, LLC", dba="Deep Sync"),
                           BrokerRecord("Compact Information Systems, LLC", dba="HomeData")])
    assert [r.key for r in records] == ["compact information systems / deep sync",
                                        "compact information systems / homedata"]


@pytest.mark.parametrize("email, personal", [
    ("privacy@transunion.com", False), ("usprivacy@equifax.com", False), ("DPO@cision.com", False),
    ("roger.abbott@slashdotmedia.com", True), ("jclark@mobilewalla.com", True), ("ben@abovedata.io", True),
    ("someone@gmail.com", True), ("legal@altrata.com; amy.eades@altrata.com", True), ("info@acme.com", False),
    ("acme@acme.com", False), ("vendors@warmly.ai", False), (None, False)])
def test_contact_emails_of_individuals_are_flagged(email, personal):
    assert email_personal(email) is personal


def test_snapshot_diff_names_appeared_left_and_changed_fields():
    old = [{"key": "a", "name": "A", "websites": '["https://a.com"]', "declarations": "{}"},
           {"key": "b", "name": "B", "websites": "[]", "declarations": "{}"}]
    new = [{"key": "a", "name": "A", "websites": '["https://a2.com"]', "declarations": '{"x": "yes"}'},
           {"key": "c", "name": "C", "websites": "[]", "declarations": "{}"}]
    assert diff_snapshots(old, new) == {"appeared": ["c"], "left": ["b"],
                                        "changed": {"a": ["websites", "declarations"]}}


def test_robots_meta_tags_are_read_by_name_case_and_content():
    html = ('<head><meta name="ROBOTS" content="NoIndex, follow"><meta name="googlebot" content="index">'
            '<meta content="none" name="bingbot"><meta name="description" content="noindex"></head>')
    tags = robots_meta(html)
    assert [(t.name, t.noindex) for t in tags] == [("robots", True), ("googlebot", False), ("bingbot", True)]
    assert not says_noindex("index, follow, max-image-preview:large")


@pytest.mark.parametrize("values, hidden", [
    (["noindex"], True), (["noindex, nofollow, nosnippet"], True), (["all"], False), (["none"], True),
    (["googlebot: noindex, nofollow"], True), (["BingBot: none"], True), (["otherbot: noindex"], False),
    (["otherbot: noindex, googlebot: noindex"], True), (["unavailable_after: 25 Jun 2030 15:00:00 PST"], False),
    (["max-snippet: 50", "noindex"], True), ([], False)])
def test_every_x_robots_tag_value_counts_including_agent_prefixed(values, hidden):
    assert x_robots_noindex(values) is hidden


def test_robots_txt_verdicts_for_googlebot_bingbot_and_everyone():
    robots = RobotsTxt("https://x.com/robots.txt", 200, "User-agent: Bingbot\nDisallow: /optout\n\n"
                                                        "User-agent: *\nAllow: /\n")
    verdict = robots.verdict("https://x.com/optout")
    assert (verdict["Googlebot"], verdict["Bingbot"], verdict["*"]) == ("allowed", "disallowed", "allowed")
    assert RobotsTxt("https://x.com/robots.txt", 404).verdict("https://x.com/a")["*"] == "allowed"
    assert RobotsTxt("https://x.com/robots.txt", 503).verdict("https://x.com/a")["*"] == "unknown"
    signals = Signals(robots=[verdict])
    assert signals.hidden and signals.reasons == ["robots-txt"]
    assert Signals(meta_rendered=[MetaTag("robots", "noindex")]).reasons == ["meta-rendered"]


@pytest.mark.parametrize("text, url, kind", [
    ("Do Not Sell or Share My Personal Information", "/x", "opt-out"), ("Your Privacy Choices", "/c", "opt-out"),
    ("Privacy Policy", "/legal", "policy"), ("Delete my data", "/d", "deletion"), ("Right to know", "/k", "access"),
    ("Politique de confidentialité", "/p", "policy"), ("Vos droits", "/v", "rights"), ("Opposition", "/o", "opt-out"),
    ("Suppression de vos données", "/s", "deletion"), ("Política de privacidad", "/p", "policy"),
    ("No vender mi información", "/n", "opt-out"), ("Derecho de acceso", "/a", "access"),
    ("Datenschutzerklärung", "/d", "policy"), ("Löschung Ihrer Daten", "/l", "deletion"),
    ("Widerspruch", "/w", "opt-out"), ("", "/do-not-sell-my-info", "opt-out"), ("Careers", "/jobs", None),
    ("Mentions légales", "/mentions-legales", None)])
def test_privacy_links_are_recognised_in_four_languages(text, url, kind):
    assert kind_of_link(text, "https://broker.example.org" + url) == kind


def test_privacy_links_are_resolved_deduplicated_and_capped():
    html = ('<a href="/privacy">Privacy</a><a href="/privacy#x">Privacy Policy</a><a href="mailto:a@b.c">Privacy</a>'
            '<a href="https://Other.COM/opt-out">Opt out</a><a href="/p2">Privacy</a><a href="/p3">Privacy</a>')
    found = privacy_links("https://www.broker.com/", html)
    assert [(l.url, l.kind) for l in found] == [("https://www.broker.com/privacy", "policy"),
                                                ("https://other.com/opt-out", "opt-out"),
                                                ("https://www.broker.com/p2", "policy")]


def test_pages_on_privacy_services_are_attributed_to_the_service():
    assert hosted_by("https://privacyportal.onetrust.com/webform/a/b") == "OneTrust"
    assert hosted_by("https://submit-irm.trustarc.eu/services/validation/x") == "TrustArc"
    assert hosted_by("https://docs.google.com/forms/d/e/x/viewform") == "Google Forms"
    assert hosted_by("https://docs.google.com/document/d/x") is None
    assert hosted_by("https://eab.app.box.com/s/x") == "Box"
    assert hosted_by("https://www.broker.com/privacy", frozenset({"broker.com"})) is None
    assert hosted_by("https://privacy.hubspot.com/x", frozenset({"hubspot.com"})) is None  # HubSpot's own page


def test_bot_walls_are_told_from_pages():
    assert bot_wall(403, {"cf-mitigated": "challenge"}, b"") == "cloudflare"
    assert bot_wall(429, {}, b"slow down") == "HTTP 429"
    assert bot_wall(200, {}, b"<title>Just a moment...</title>") == "cloudflare"
    assert bot_wall(200, {}, b"<html>" + b"x" * 30000 + b"g-recaptcha</html>") is None  # a form with a captcha
    assert bot_wall(404, {}, b"not found") is None


@pytest.mark.parametrize("status, body, gpc", [
    (200, b'{"gpc": true, "lastUpdate": "2024-01-01"}', "true"), (200, b'{"gpc": false}', "false"),
    (200, b"{gpc: yes}", "invalid"), (200, b'{"gpc": "true"}', "invalid"), (404, b"not found", "missing"),
    (None, None, "missing")])
def test_gpc_statements_are_judged(status, body, gpc):
    statement = read_statement("https://x.com/.well-known/gpc.json", status, body)
    assert statement.gpc == gpc
    assert gpc_url("https://www.x.com/some/page?q=1") == "https://www.x.com/.well-known/gpc.json"


def test_rendering_only_where_a_script_could_add_a_tag():
    static = "<html><head></head><body>Opt out</body></html>"
    scripted = "<html><head></head><body><script>document.title='x'</script></body></html>"
    json_ld = '<html><script type="application/ld+json">{"@type": "Organization"}</script></html>'
    hidden_raw = '<html><head><meta name="robots" content="noindex"></head><script src="/a.js"></script></html>'
    ok = PageResult("https://x.com/a")
    assert not needs_render("auto", ok, static) and needs_render("auto", ok, scripted)
    assert not has_scripts(json_ld) and not needs_render("auto", ok, json_ld)
    raw = PageResult("https://x.com/a", signals=Signals(meta_raw=robots_meta(hidden_raw)))
    assert not needs_render("auto", raw, hidden_raw) and needs_render("always", raw, hidden_raw)
    assert not needs_render("never", ok, scripted)
    assert not needs_render("auto", PageResult("https://x.com/a", status="not-found"), scripted)


def test_page_text_leaves_scripts_and_styles_out():
    title, text = page_text("<title> T </title><style>p{}</style><body><p>Hello</p><script>var x</script>"
                            "<p>world</p></body>")
    assert (title, text) == ("T", "Hello world")


def test_portal_answers_are_read_from_their_markup():
    html = ('<input name="__RequestVerificationToken" type="hidden" value="tok"/>'
            '<ul id="pagination-digg"><li class="pageinfo">Page 1 of 12, records 1 to 25 of 290</li></ul>')
    assert vt_search_state(html) == ("tok", 12)
    pairs = label_values("<table><tr><td>Primary Internet Address:</td><td><a href='https://a.com'>a.com</a>"
                         "</td></tr></table><dl><dt>Status</dt><dd>Active</dd></dl>")
    assert pairs == [("Primary Internet Address", "a.com https://a.com"), ("Status", "Active")]
    labels, rows, total = tx_grid(b'{"ui": {"contents": [{"columns": [{"label": "Full Legal Name", "data": ["A"]},'
                                  b'{"label": "Website", "data": [{"label": "a.com", "uri": "https://a.com"}]}],'
                                  b'"totalCount": 1}]}}')
    assert (labels, rows, total) == (["Full Legal Name", "Website"], [["A", "a.com https://a.com"]], 1)


def test_browser_crawl_visits_with_and_without_gpc_become_a_finding(tmp_path):
    from crawler.brokers.findings import derive_findings
    from mouchard.store import Store

    store = Store(tmp_path / "m.db")
    fetch_id = store.start_crawl("brokers-fetch")
    snapshot = store.insert("registry_snapshots", {"crawl_id": fetch_id, "registry": "ca", "year": 2025})
    broker = store.insert("brokers", {"snapshot_id": snapshot, "registry": "ca", "key": "acme", "name": "Acme Inc",
                                      "website": "https://www.acme-broker.com", "site": "acme-broker.com"})
    web = store.start_crawl("web")
    for phase, trackers in (("initial", ["Google", "Criteo"]), ("gpc", ["Criteo"])):
        visit = store.insert("visits", {"crawl_id": web, "url": "https://www.acme-broker.com/",
                                        "site": "acme-broker.com", "phase": phase, "depth": 0, "status": "ok"})
        store.insert_many("requests", [{"visit_id": visit, "third_party": 1, "tracker_entity": t,
                                        "tracker_category": "advertising"} for t in trackers])
    crawl = store.start_crawl("brokers-crawl")
    store.insert("broker_pages", {"crawl_id": crawl, "broker_id": broker, "kind": "home", "status": "ok",
                                  "url": "https://www.acme-broker.com/", "final_url": "https://www.acme-broker.com/"})
    found = [f for f in derive_findings(store, crawl) if f["rule_id"] == "broker.gpc-ignored"]
    assert len(found) == 1 and "Criteo" in found[0]["detail"] and found[0]["jurisdiction"] == "us-ca"
    assert {e["table"] for e in found[0]["evidence"]} == {"broker_pages", "visits"}


def test_brokers_link_to_tracker_entities_from_lists_then_crawl_data(tmp_path):
    from mouchard.brokers import link_tracker_entities
    from mouchard.classify import default_classifier
    from mouchard.store import Store

    store = Store(tmp_path / "m.db")
    for name, site in (("LiveRamp, Inc.", "liveramp.com"), ("Quiet Broker", "quiet-broker-sample.com"),
                       ("Nobody", "nobody-sample.com")):
        store.insert("brokers", {"registry": "ca", "key": name.lower(), "name": name, "site": site})
    visit = store.insert("visits", {"url": "https://news.example/", "site": "news.example", "phase": "initial"})
    store.insert_many("requests", [{"visit_id": visit, "site": "quiet-broker-sample.com",
                                    "tracker_entity": "Quiet Broker Group"}] * 2)
    with store.transaction() as tx:
        assert link_tracker_entities(tx.conn, default_classifier()) == 2
    linked = {r["name"]: r["tracker_entity"] for r in store.rows("SELECT name, tracker_entity FROM brokers")}
    assert linked == {"LiveRamp, Inc.": "LiveRamp", "Quiet Broker": "Quiet Broker Group", "Nobody": None}
