"""Classification: sites and third parties, the shipped tracker list, domain-suffix matching, ABP filter rules."""

import csv
import socket

import pytest

from mouchard.decode import domains
from mouchard.classification import lists
from mouchard.classification.classify import Classifier, classify_rows
from mouchard.decode.domains import host_of, is_third_party, site_of
from mouchard.classification.lists import CATEGORIES, ListData

TEST_WEB_TRACKERS = {
    "www.google-analytics.com": ("Google", "analytics"),
    "stats.g.doubleclick.net": ("Google", "advertising"),
    "securepubads.g.doubleclick.net": ("Google", "advertising"),
    "connect.facebook.net": ("Meta", "advertising"),
    "www.facebook.com": ("Meta", "social"),
    "ib.adnxs.com": ("Microsoft", "advertising"),
    "pixel.rubiconproject.com": ("Magnite", "advertising"),
    "static.hotjar.com": ("Hotjar", "session-replay"),
    "cdn.segment.com": ("Twilio", "analytics"),
    "bat.bing.com": ("Microsoft", "advertising"),
    "snap.licdn.com": ("Microsoft", "advertising"),
    "cdn.taboola.com": ("Taboola", "advertising"),
    "www.fullstory.com": ("FullStory", "session-replay"),
    "script.crazyegg.com": ("Crazy Egg", "session-replay"),
    "www.googletagmanager.com": ("Google", "tag-manager"),
}

# (request, first party, third party?, entity, category)
KNOWN = [
    *[(f"https://{host}/t.js", "https://www.example-news.fr/", True, entity, category)
      for host, (entity, category) in TEST_WEB_TRACKERS.items()],
    ("https://www.facebook.com/tr?id=1&ev=PageView", "https://www.facebook.com/", False, "Meta", "social"),
    ("https://WWW.Google-Analytics.COM.:443/g/collect", "lemonde.fr", True, "Google", "analytics"),
    ("https://static.bbc.co.uk/app.js", "https://www.bbc.co.uk/news", False, None, None),
    ("https://cdn.other.co.uk/app.js", "https://www.bbc.co.uk/news", True, None, None),
    ("https://alice.github.io/lib.js", "https://bob.github.io/", True, None, None),
    ("https://cdn.alice.github.io/lib.js", "https://alice.github.io/", False, None, None),
    ("http://192.0.2.10:8080/p.gif", "http://192.0.2.10/", False, None, None),
    ("http://192.0.2.11/p.gif", "http://192.0.2.10/", True, None, None),
    ("http://[2001:db8::1]:8443/x", "2001:DB8:0::1", False, None, None),
    ("https://bücher.de/cart.js", "https://www.xn--bcher-kva.de/", False, None, None),
    ("http://localhost:8000/x", "localhost", False, None, None),
    ("https://notdoubleclick.net/x", "https://www.example-news.fr/", True, None, None),
    ("https://doubleclick.net.evil.example/x", "https://www.example-news.fr/", True, None, None),
    # app SDK endpoints, seen by the proxy with no page: everything is third party
    ("https://app-measurement.com/a", None, True, "Google", "analytics"),
    ("https://inapps.appsflyersdk.com/api/v6.9/androidevent", None, True, "AppsFlyer", "attribution"),
    ("https://sdk.iad-01.braze.com/api/v3/data", None, True, "Braze", "customer-interaction"),
    ("https://graph.facebook.com/v17.0/1234/activities", None, True, "Meta", "advertising"),
    ("https://outcome-ssp.supersonicads.com/mediation", None, True, "Unity", "advertising"),
    ("https://report.appmetrica.yandex.net/report", None, True, "Yandex", "analytics"),
]


@pytest.fixture(scope="module")
def shipped() -> Classifier:
    return Classifier([lists.parse_shipped(lists.shipped_path().read_bytes())])


@pytest.mark.parametrize(("url", "first_party", "third", "entity", "category"), KNOWN)
def test_known_hosts_have_their_party_entity_and_category(shipped, url, first_party, third, entity, category):
    assert is_third_party(url, first_party) is third
    found = shipped.classify(url, "script", first_party)
    assert ((found.entity, found.category) if found else (None, None)) == (entity, category)


@pytest.mark.parametrize(("value", "host", "site"), [
    ("https://www.bbc.co.uk/news", "www.bbc.co.uk", "bbc.co.uk"),
    ("co.uk", "co.uk", "co.uk"),
    ("https://user.github.io/page", "user.github.io", "user.github.io"),
    ("github.io", "github.io", "github.io"),
    ("http://192.168.0.1:8080/x", "192.168.0.1", "192.168.0.1"),
    ("http://[::1]:9/", "::1", "::1"),
    ("[2001:DB8:0::1]:443", "2001:db8::1", "2001:db8::1"),
    ("https://bücher.de/", "xn--bcher-kva.de", "xn--bcher-kva.de"),
    ("https://shop.XN--BCHER-KVA.de./", "shop.xn--bcher-kva.de", "xn--bcher-kva.de"),
    ("münchen.DE", "xn--mnchen-3ya.de", "xn--mnchen-3ya.de"),
    ("www.例子.中国", "www.xn--fsqu00a.xn--fiqs8s", "xn--fsqu00a.xn--fiqs8s"),
    ("WWW.Example.COM.", "www.example.com", "example.com"),
    ("example.com:8080", "example.com", "example.com"),
    (".doubleclick.net", "doubleclick.net", "doubleclick.net"),
    ("https://user:secret@Tracker.example.org:444/x?y#z", "tracker.example.org", "example.org"),
    ("//cdn.example.org/a.js", "cdn.example.org", "example.org"),
    ("blob:https://news.example.com/3f1c", "news.example.com", "example.com"),
    ("localhost", "localhost", "localhost"),
    ("intranet", "intranet", "intranet"),
    ("data:image/png;base64,AAAA", "", ""),
    ("about:blank", "", ""),
])
def test_hosts_and_sites_have_one_normal_form(value, host, site):
    assert host_of(value) == host
    assert site_of(value) == site


def test_host_less_urls_are_never_third_party():
    assert is_third_party("data:text/html,hi", "https://example.com/") is False
    assert is_third_party("about:blank", None) is False


def test_public_suffixes_come_from_the_bundled_snapshot_without_network(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("tldextract tried to reach the network")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    domains.offline_tldextract.cache_clear()
    domains._site_of_host.cache_clear()
    assert site_of("https://a.b.example.com.au/") == "example.com.au"
    assert domains.offline_tldextract().suffix_list_urls == ()


def test_matching_is_on_label_boundaries(shipped):
    assert shipped.classify("https://x.y.doubleclick.net/a").rule == "doubleclick.net"
    assert shipped.classify("https://doubleclick.net/a").rule == "doubleclick.net"
    assert shipped.classify("https://notdoubleclick.net/a") is None
    assert shipped.classify("https://doubleclick.net.example.org/a") is None


def test_longest_domain_wins_then_the_earlier_list():
    ours = ListData("mouchard", domains={"example-ads.com": ("Example Ads", "advertising"),
                                         "same.example": ("Ours", "analytics")})
    ghostery = ListData("ghostery", domains={"stats.example-ads.com": ("Example Ads Inc.", "analytics"),
                                             "same.example": ("Theirs", "advertising")})
    ddg = ListData("duckduckgo", domains={"same.example": ("Third", "social")})
    classifier = Classifier([ddg, ghostery, ours])
    assert classifier.classify("https://eu.stats.example-ads.com/p").list == "ghostery"
    assert classifier.classify("https://eu.stats.example-ads.com/p").entity == "Example Ads"  # spelling unified
    assert classifier.classify("https://cdn.example-ads.com/p").list == "mouchard"
    assert classifier.classify("https://www.same.example/").entity == "Ours"


def test_entity_names_are_unified_across_lists(shipped):
    ddg = ListData("duckduckgo", domains={"a-tracker.example": ("Google LLC", "analytics"),
                                          "b-tracker.example": ("Facebook, Inc.", "advertising")})
    disconnect = ListData("disconnect", domains={"c-tracker.example": ("Twitter", "social"),
                                                 "d-tracker.example": ("The Rubicon Project, Inc.", "advertising"),
                                                 "e-tracker.example": ("Tiny Startup GmbH", "analytics")})
    classifier = Classifier([lists.parse_shipped(lists.shipped_path().read_bytes()), ddg, disconnect])
    names = [classifier.classify(f"{x}-tracker.example").entity for x in "abcde"]
    assert names == ["Google", "Meta", "X Corp", "Magnite", "Tiny Startup GmbH"]


EASYPRIVACY = """[Adblock Plus 2.0]
! Version: 202501011200
! Title: EasyPrivacy (test copy)
||metrics.example-shop.net^
/pixel.gif?
||cdn.example-cdn.org/analytics/*$script,third-party
@@||cdn.example-cdn.org/analytics/allowed.js
example.com##.tracking-banner
"""
EASYLIST = """[Adblock Plus 2.0]
! Version: 202501011300
||adserver.example-ads.org^
/banner-ads/*
"""


@pytest.fixture(scope="module")
def with_filters() -> Classifier:
    return Classifier([lists.parse_shipped(lists.shipped_path().read_bytes()),
                       lists.SOURCES["easyprivacy"].parse(EASYPRIVACY.encode()),
                       lists.SOURCES["easylist"].parse(EASYLIST.encode())])


def test_filter_rules_flag_hosts_no_entity_list_knows(with_filters):
    found = with_filters.classify("https://metrics.example-shop.net/collect?e=view", "xhr", "https://shop.example/")
    assert (found.entity, found.category, found.list, found.rule) == (
        None, "analytics", "easyprivacy", "||metrics.example-shop.net^")
    assert with_filters.classify("https://news.example/pixel.gif?id=1", "image").rule == "/pixel.gif?"
    ad = with_filters.classify("https://adserver.example-ads.org/serve", "script", "https://news.example/")
    assert (ad.category, ad.list, ad.rule) == ("advertising", "easylist", "||adserver.example-ads.org^")
    assert with_filters.classify("https://static.news.example/banner-ads/top.png", "image").list == "easylist"


def test_filter_options_and_exceptions_apply(with_filters):
    url = "https://cdn.example-cdn.org/analytics/tag.js"
    assert with_filters.classify(url, "script", "https://news.example/").list == "easyprivacy"
    assert with_filters.classify(url, "script", "https://www.example-cdn.org/") is None  # $third-party
    assert with_filters.classify(url, "image", "https://news.example/") is None  # $script
    assert with_filters.classify("https://cdn.example-cdn.org/analytics/allowed.js", "script",
                                 "https://news.example/") is None  # @@ exception
    assert with_filters.classify("https://www.example.com/", "document") is None  # element hiding is ignored


def test_domain_lists_take_priority_over_filters(with_filters):
    found = with_filters.classify("https://www.google-analytics.com/pixel.gif?v=1", "image")
    assert (found.list, found.entity) == ("mouchard", "Google")


def test_classify_rows_fills_the_derived_columns(shipped):
    rows = [{"url": "https://stats.g.doubleclick.net/j/collect", "resource_type": "image"},
            {"host": "graph.facebook.com"},
            {"domain": ".hotjar.com", "name": "_hjSessionUser_1"},
            {"url": "https://www.example-news.fr/"},
            {"url": "data:image/gif;base64,R0lGOD"}]
    classify_rows(rows, first_party="https://www.example-news.fr/", classifier=shipped)
    assert [(r["tracker_entity"], r["tracker_category"]) for r in rows] == [
        ("Google", "advertising"), ("Meta", "advertising"), ("Hotjar", "session-replay"), (None, None), (None, None)]
    assert rows[0]["tracker_list"] == "mouchard: doubleclick.net"
    assert rows[3]["tracker_list"] is None


def test_shipped_list_is_large_well_formed_and_in_the_vocabulary():
    with lists.shipped_path().open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) >= 150
    assert set(rows[0]) == {"domain", "entity", "category", "country", "notes"}
    assert len({r["domain"] for r in rows}) == len(rows)
    for row in rows:
        assert row["category"] in CATEGORIES, row
        assert row["domain"] == host_of(row["domain"]) and "." in row["domain"], row
        assert row["entity"], row
        assert row["country"] == "" or (len(row["country"]) == 2 and row["country"].isupper()), row


def test_classification_is_cached_per_host(shipped):
    """Work is counted, not timed: each distinct host is looked up in the lists once, repeats are cache hits."""
    urls = [f"https://h{i}.cdn{i % 50}.example-unknown.org/a.js" for i in range(5000)]
    urls += [f"https://s{i}.doubleclick.net/p" for i in range(5000)]
    shipped._host.cache_clear()
    for url in urls + urls:
        shipped.classify(url, "script")
    info = shipped._host.cache_info()
    assert (info.misses, info.hits) == (len(urls), len(urls))


def test_every_alias_leads_to_a_company_of_the_shipped_list():
    from mouchard.classification.classify import ALIASES

    shipped_entities = {entity for entity, _ in lists.parse_shipped(lists.shipped_path().read_bytes()).domains.values()}
    assert set(ALIASES.values()) <= shipped_entities
