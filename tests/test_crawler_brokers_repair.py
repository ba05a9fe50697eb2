"""Repairing a registry's wrong rights URL (crawler/brokers/repair.py): spelling variants of the URL, a moved page
that sends visitors home, the home page's links to its privacy choices, and the registry table that says what a
registry is (mouchard/registries.py). The crawl that uses them is tested on The Markup's 499 pages
(test_crawler_brokers_markup.py)."""

from __future__ import annotations

import urllib.parse

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.brokers.repair import MAX_VARIANTS, choice_links, home_of, safe_url, url_variants, went_home
from mouchard.errors import UserError
from mouchard.registries import NAMES, REGISTRIES, STATES, find, load


def test_a_www_in_front_of_a_subdomain_is_dropped_first():
    assert url_variants("https://www.app.monevo.us/california-privacy-policy") == [
        "https://app.monevo.us/california-privacy-policy",
        "https://www.monevo.us/california-privacy-policy",
        "https://www.app.monevo.us/california-privacy-policy/",
        "https://app.monevo.us/california-privacy-policy/",
        "https://www.monevo.us/california-privacy-policy/",
        "http://www.app.monevo.us/california-privacy-policy",
    ]


def test_a_host_without_www_gets_one_and_the_other_slash_and_scheme():
    assert url_variants("https://5x5data.com/privacy-policy/") == [
        "https://www.5x5data.com/privacy-policy/", "https://5x5data.com/privacy-policy",
        "https://www.5x5data.com/privacy-policy", "http://5x5data.com/privacy-policy/"]
    assert url_variants("http://x.com") == ["http://www.x.com/", "https://x.com/"]


@pytest.mark.parametrize("url", ["file:///etc/passwd", "javascript:alert(1)", "https://1.2.3.4/opt-out",
                                 "https://user:pw@x.com/", "https://localhost/", "ftp://x.com/a", "https://x.com/a b",
                                 "https://x.com:99999/", "https://-x.com/", "https://x..com/", "", None, 42,
                                 "https://" + "a" * 64 + ".com/", "https://x.com/" + "a" * 3000])
def test_hostile_or_unusable_urls_give_nothing(url):
    assert url_variants(url) == [] and safe_url(url) is None and home_of(url) is None


@settings(max_examples=300, deadline=None)
@given(st.one_of(
    st.text(max_size=300),
    st.builds(lambda scheme, labels, path: f"{scheme}://{'.'.join(labels)}{path}",
              st.sampled_from(["http", "https", "HTTPS", "ftp", "file", "javascript"]),
              st.lists(st.from_regex(r"[a-z0-9-]{0,12}", fullmatch=True), min_size=1, max_size=5),
              st.text(alphabet="/abc-_.%?=#:@ ", max_size=40))))
def test_variants_are_bounded_http_distinct_and_never_raise(url):
    variants = url_variants(url)
    assert len(variants) <= MAX_VARIANTS
    assert len(set(variants)) == len(variants)
    assert safe_url(url) not in variants
    for variant in variants:
        parts = urllib.parse.urlsplit(variant)
        assert parts.scheme in ("http", "https") and not parts.fragment and safe_url(variant) == variant


def test_a_moved_page_that_lands_on_the_home_page_is_a_failure():
    assert went_home("https://5x5data.com/privacy-policy/", "https://5x5data.com/")
    assert not went_home("https://5x5data.com/", "https://5x5data.com/")
    assert not went_home("https://x.com/privacy", "https://x.com/privacy-center")
    assert not went_home("https://x.com/privacy", None)


def test_the_home_page_link_to_privacy_choices_is_chosen_over_the_policy():
    html = ('<a href="/privacy-policy">Privacy Policy</a><a href="/about">About us</a>'
            '<a href="https://app.fideo.ai/your-privacy-choices">Your Privacy Choices</a>'
            '<a href="/california-privacy-policy">California Privacy Policy</a>'
            '<a href="file:///etc/passwd">Do not sell</a><a href="/dsr-out/">Do Not Sell or Share My Info</a>')
    found = choice_links("https://www.fideo.ai/", html)
    assert [(link.url, link.text) for link in found] == [
        ("https://app.fideo.ai/your-privacy-choices", "Your Privacy Choices"),
        ("https://www.fideo.ai/dsr-out/", "Do Not Sell or Share My Info"),
        ("https://www.fideo.ai/california-privacy-policy", "California Privacy Policy"),
    ]
    assert choice_links("https://x.com/", '<a href="/privacy">Privacy</a><a href="/careers">Careers</a>') == []


def test_one_table_says_what_each_registry_is():
    assert NAMES == ("ca", "vt", "tx", "or", "list") and STATES == ("ca", "vt", "tx", "or")
    for entry in REGISTRIES:
        assert entry.kind in ("file", "portal") and (entry.parser is None) == (entry.kind == "portal")
        assert callable(load(entry.spider)) and (entry.parser is None or callable(load(entry.parser)))
    assert find("ca").job(None, 2025) == ("crawler.spiders.registries:RegistryFileSpider",
                                              {"registry": "ca", "year": 2025,
                                               "url": "https://cppa.ca.gov/data_broker_registry/registry2025.csv"})
    assert find("ca").file_url() == (2026, "https://cppa.ca.gov/data_broker_registry/registry.csv")
    assert find("vt").job("http://vt.test/", None) == ("crawler.spiders.registries:VermontRegistrySpider",
                                                           {"url": "http://vt.test/"})
    assert find("or").job(None, None)[1]["url"].endswith("dfcs_db_optout.csv")
    with pytest.raises(UserError, match="no California registry file known for 2019"):
        find("ca").file_url(2019)
    with pytest.raises(UserError, match="no live address"):
        find("list").job(None, None)
    with pytest.raises(UserError, match="unknown registry 'ny'"):
        find("ny")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["/opt-out", "https://x.com/ccpa", "javascript:x", "file:///etc/passwd",
                                           "https://1.2.3.4/do-not-sell", "//evil.example/privacy-choices",
                                           "/a b", "mailto:a@b.c", "#top", ""]) | st.text(max_size=40),
                          st.sampled_from(["Do Not Sell", "Your Privacy Choices", "CCPA", "About", ""])
                          | st.text(max_size=40)), max_size=12))
def test_home_page_links_are_bounded_safe_and_distinct(anchors):
    import html as html_lib

    page = "".join(f'<a href="{html_lib.escape(h)}">{html_lib.escape(t)}</a>' for h, t in anchors)
    found = choice_links("https://www.broker.com/", page)
    assert len(found) <= 3 and len({link.url for link in found}) == len(found)
    assert all(safe_url(link.url) == link.url for link in found)
