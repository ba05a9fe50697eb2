"""Real Chromium (Playwright) against the test web: host mapping, certificate pinning, proxy mode, planted facts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright import sync_api  # a hard dependency: a missing one is an error, not a skip

from crawler.browser.profile import new_profile, remove_profile
from mouchard.browser import find_browser, launch_options
from demoweb.sites import expected
from demoweb.sites.hostile import BAD_TLS_HOST, NXDOMAIN_HOST
from demoweb.sites.publishers import PUBLISHERS

pytestmark = pytest.mark.browser

NEWS = "www.example-news.fr"


@pytest.fixture(scope="module")
def playwright() -> Iterator:
    with sync_api.sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright, testweb) -> Iterator:
    browser = playwright.chromium.launch(**launch_options(find_browser(), testweb.chromium_args()))
    yield browser
    browser.close()


def hosts_contacted_while(web, action) -> set[str]:
    """Hosts in the test web's log for requests made during `action()` (the log is shared by the session)."""
    start = len(web.log)
    action()
    return {entry["host"] for entry in web.log[start:]}


def test_chromium_loads_a_publisher_and_reaches_its_third_parties(browser, testweb):
    page = browser.new_page()
    try:
        hosts = hosts_contacted_while(testweb, lambda: page.goto(testweb.url(NEWS), wait_until="networkidle"))
        assert page.title().startswith("Home — Example News")
    finally:
        page.close()
    assert NEWS in hosts and len(hosts) >= 3
    assert {"www.googletagmanager.com", "securepubads.g.doubleclick.net", "pixel.rubiconproject.com"} <= hosts


def test_navigator_webdriver_is_false_with_our_flags(browser, testweb):
    page = browser.new_page()
    try:
        page.goto(testweb.url("www.clean-example.org"))
        assert page.evaluate("navigator.webdriver") is False
    finally:
        page.close()


def test_pinned_certificates_are_trusted_but_not_the_untrusted_ca_nor_nxdomain(browser, testweb):
    page = browser.new_page()
    try:
        assert page.goto(testweb.url("www.clean-example.org")).status == 200
        with pytest.raises(sync_api.Error, match="ERR_CERT_AUTHORITY_INVALID"):
            page.goto(testweb.url(BAD_TLS_HOST))
        with pytest.raises(sync_api.Error, match="ERR_NAME_NOT_RESOLVED"):
            page.goto(testweb.url(NXDOMAIN_HOST))
    finally:
        page.close()


def test_proxy_mode_loads_portless_urls(playwright, testweb):
    browser = playwright.chromium.launch(**launch_options(find_browser(), testweb.chromium_args(proxy=True)))
    try:
        page = browser.new_page()
        page.goto(f"https://{NEWS}/", wait_until="networkidle")
        frame_urls = [frame.url for frame in page.frames]
    finally:
        browser.close()
    assert any(url.startswith("https://securepubads.g.doubleclick.net/gampad/ads?") for url in frame_urls)
    assert testweb.requests_to("pixel.rubiconproject.com")[-1]["via"] == "proxy"


PUBLISHER_PAGES = sorted(page for page in expected() if page.split("/")[0] in {p.host for p in PUBLISHERS})


@pytest.mark.parametrize("page_key", PUBLISHER_PAGES)
def test_publisher_page_plants_every_expected_host_cookie_and_storage_item(playwright, testweb,
                                                                           page_key: str):
    """Recall of EXPECTED in a fresh profile that keeps third-party cookies, as a person's Chrome does."""
    facts = expected()[page_key]
    host, _, path = page_key.partition("/")
    profile = new_profile()  # with the crawler's preferences; reachable by the browser user when run as root
    context = playwright.chromium.launch_persistent_context(profile, **launch_options(find_browser(),
                                                                                     testweb.chromium_args()))
    try:
        page = context.new_page()
        hosts = hosts_contacted_while(testweb, lambda: page.goto(testweb.url(host, "/" + path),
                                                                 wait_until="networkidle"))
        # IndexedDB writes may finish after network idle: wait for the databases this page must create (an event),
        # not a fixed time that a busy machine can overrun
        databases = sorted(item["key"] for item in facts["storage"]
                           if item["kind"] == "indexedDB" and item["host"] == host)
        if databases:
            page.wait_for_function("names => indexedDB.databases().then(found => names.every("
                                   "name => found.some(db => db.name === name)))", arg=databases, timeout=15_000)
        cookies = {(c["name"], c["domain"]) for c in context.cookies()}
        storage = {("localStorage", host, key) for key in page.evaluate("Object.keys(localStorage)")}
        storage |= {("sessionStorage", host, key) for key in page.evaluate("Object.keys(sessionStorage)")}
        storage |= {("indexedDB", host, db["name"]) for db in page.evaluate("indexedDB.databases()")}
        for frame in page.frames[1:]:
            frame_host = frame.url.split("/")[2].split(":")[0]
            storage |= {("localStorage", frame_host, key) for key in frame.evaluate("Object.keys(localStorage)")}
    finally:
        context.close()
        remove_profile(profile)
    assert hosts - {host} == set(facts["third_party_hosts"])
    assert {(c["name"], c["domain"]) for c in facts["cookies"]} <= cookies
    assert {(item["kind"], item["host"], item["key"]) for item in facts["storage"]} <= storage
