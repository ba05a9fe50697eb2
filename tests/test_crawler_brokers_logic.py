"""Parsing on the crawler's data-broker side: registry headers, hidden-from-search signals, privacy links in four
languages, privacy-portal hosts, bot walls, GPC statements, the render rule, portal markup. (The pure broker logic
of mouchard/classification/brokers.py is tested in test_core_brokers.py; the findings, in test_audits_rules.py.)"""

from __future__ import annotations

import pytest

from crawler.brokers.fields import field_of, metric_of
from crawler.brokers.gpc import gpc_url, read_statement
from crawler.brokers.pages import bot_wall, has_scripts, hosted_by, kind_of_link, page_text, privacy_links
from crawler.brokers.portals import label_values, tx_grid, vt_search_state
from crawler.brokers.results import PageResult
from crawler.brokers.robots import MetaTag, RobotsTxt, Signals, robots_meta, says_noindex, x_robots_noindex
from crawler.spiders.broker_sites import needs_render


def test_headers_are_matched_whatever_their_spaces_quotes_and_case():
    nbsp = "The data broker or any\u00a0of\u00a0its\u00a0subsidiaries\u00a0is regulated by\u00a0the\u00a0federal " \
           "Fair Credit Reporting Act (FCRA):"
    assert field_of(nbsp) == "fcra"
    assert field_of("If the data broker\u00a0or any of its subsidiaries is regulated by the FCRA, listed are the "
                    "types of personal information") is None
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
