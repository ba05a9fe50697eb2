"""Pure logic of the crawl: cookies (Set-Cookie, lifetimes, identifiers), site lists, failure statuses, link
sampling, CDP helpers, the host-map resolver, and the command's one-line errors."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest

from crawler.collectors.cookies import browser_accepts
from crawler.browser.launch import LaunchPlan, user_agent
from crawler.collectors.network import _accepted_set_cookies, initiator_script
from crawler.browser.visit import classify_failure
from crawler.spiders.browser import internal_links, sample_links, visit_key
from mouchard.detect.cookies import from_browser, judge_identifier, parse_set_cookie, profile_difference, similarity
from mouchard.errors import UserError
from mouchard.sitelist import parse_site_list, read_site_list

NOW = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.timezone.utc)


# --- Set-Cookie and browser cookies ---------------------------------------------------------------------------
def test_set_cookie_with_domain_max_age_and_flags():
    row = parse_set_cookie("uid=abc123def; Domain=.adnxs.com; Path=/; Max-Age=31536000; Secure; HttpOnly; "
                           "SameSite=None; Partitioned", "https://ib.adnxs.com/getuid", NOW, first_party="news.fr")
    assert (row["name"], row["value"], row["domain"], row["path"]) == ("uid", "abc123def", ".adnxs.com", "/")
    assert row["site"] == "adnxs.com" and row["third_party"] == 1 and row["set_by"] == "header"
    assert row["lifetime_days"] == 365.0 and row["session"] == 0 and row["expires_at"] == "2026-03-01T12:00:00Z"
    assert (row["secure"], row["http_only"], row["same_site"], row["partitioned"]) == (1, 1, "None", 1)


def test_set_cookie_defaults_host_only_default_path_and_session():
    row = parse_set_cookie("pref=fr", "https://www.news.fr/a/b/page?x=1", NOW, first_party="www.news.fr")
    assert (row["domain"], row["path"], row["session"], row["lifetime_days"]) == ("www.news.fr", "/a/b", 1, None)
    assert row["third_party"] == 0 and row["same_site"] == ""


def test_max_age_wins_over_expires_and_expires_is_parsed():
    both = parse_set_cookie("a=1; Expires=Wed, 01 Jan 2031 00:00:00 GMT; Max-Age=86400", "https://x.fr/", NOW)
    assert both["lifetime_days"] == 1.0
    expires = parse_set_cookie("a=1; expires=Sat, 01 Mar 2025 13:00:00 GMT", "https://x.fr/", NOW)
    assert expires["lifetime_days"] == pytest.approx(1 / 24, abs=0.01)


def test_browser_cookie_from_cdp():
    cookie = {"name": "_ga", "value": "GA1.1.1.2", "domain": ".news.fr", "path": "/", "expires": NOW.timestamp() + 86400 * 400,
              "httpOnly": False, "secure": False, "session": False, "sameSite": "Lax"}
    row = from_browser(cookie, NOW, first_party="www.news.fr")
    assert row["lifetime_days"] == 400.0 and row["third_party"] == 0 and row["same_site"] == "Lax"
    session = from_browser({"name": "s", "value": "1", "domain": "a.com", "expires": -1, "session": True}, NOW)
    assert session["session"] == 1 and session["expires_at"] is None and session["third_party"] is None


def test_script_cookie_writes_a_browser_would_refuse_are_told_apart():
    def written(line: str, url: str = "https://www.news.fr/a") -> bool:
        return browser_accepts(parse_set_cookie(line, url, NOW, first_party="news.fr"), url)

    assert written("a=1") and written("a=1; Domain=news.fr; Secure") and written("a=1; domain=.www.news.fr")
    assert not written("a=1; Domain=tracker.com")  # not a domain of the document's host
    assert not written("a=1; Domain=ws.fr")  # a suffix of the host, not one of its domains
    assert not written("a=1; Secure", "http://www.news.fr/")  # Secure from plain HTTP
    assert not written("a=1; HttpOnly")  # scripts cannot set HttpOnly cookies


# --- identifiers ----------------------------------------------------------------------------------------------
def test_identifier_needs_long_life_and_length():
    assert judge_identifier("abcdef123456", None) == (False, "session cookie: not long-lived")
    assert judge_identifier("abcdef123456", 10)[0] is False
    assert judge_identifier("fr", 365)[0] is False
    assert judge_identifier("x" * 101, 365)[0] is False


def test_identifier_from_two_fresh_profiles():
    assert judge_identifier("AHWqTU65c262d97d9640339575b3ae08ef", 365, ["AHWqTUe78ede369f85458cb03298e82c"])[0]
    same, reason = judge_identifier("consent-v2-accepted", 365, ["consent-v2-accepted"])
    assert not same and "not user-specific" in reason
    # a timestamp set at each visit moves by seconds between profiles: not an identifier
    assert not judge_identifier("1700000000", 365, ["1700000123"])[0]
    # structured: the random part decides, not the shared frame and timestamp
    assert judge_identifier("GA1.1.1316202068.1795362809", 400, ["GA1.1.6602151472.1795362811"])[0]


def test_identifier_from_one_profile_says_so():
    yes, reason = judge_identifier("a7f3c9e2b1d04e8f", 365)
    assert yes and reason.startswith("seen in one profile only")
    assert not judge_identifier("accepted", 365)[0]  # a word
    assert not judge_identifier("aaaaaaaaaa", 365)[0]  # no entropy


def test_similarity_ignores_chance_matches_of_small_alphabets():
    assert similarity("1316202068", "6602151472") < 0.33
    assert similarity("1700000000", "1700000123") > 0.5
    assert profile_difference("a.b.c", "a.b.c") == 1.0


# --- site lists -----------------------------------------------------------------------------------------------
def test_text_list_skips_comments_bad_lines_and_duplicates():
    parsed = parse_site_list("# sites\nexample.com\nhttps://news.fr/page\n\nftp://x.org\nnot a url\nexample.com\n", "l")
    assert [t.url for t in parsed.targets] == ["https://example.com/", "https://news.fr/page"]
    assert parsed.warnings == ["l:5: not an http(s) URL, skipped: 'ftp://x.org'",
                               "l:6: not an http(s) URL, skipped: 'not a url'"]


def test_csv_list_with_tags(tmp_path):
    path = tmp_path / "sites.csv"
    path.write_text("\ufeffURL,Tags\nhttps://a.org/,\"party,campaign\"\nhttps://b.fr/,news\nbad,news\n", encoding="utf-8")
    parsed = read_site_list(path)
    assert [(t.url, t.tags) for t in parsed.targets] == [("https://a.org/", ("party", "campaign")),
                                                         ("https://b.fr/", ("news",))]
    assert len(parsed.warnings) == 1 and ":4:" in parsed.warnings[0]


def test_missing_list_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="not found"):
        read_site_list(tmp_path / "nope.txt")


@pytest.mark.parametrize("args, message", [
    (["--list", "EMPTY"], "nothing to crawl"),
    (["--list", "MISSING"], "site list not found"),
    (["javascript:alert(1)"], "nothing to crawl"),
])
def test_crawl_command_refuses_bad_input_in_one_line(tmp_path, args, message):
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n\n")
    args = [str(empty) if a == "EMPTY" else str(tmp_path / "missing.txt") if a == "MISSING" else a for a in args]
    result = subprocess.run([sys.executable, "-m", "mouchard", "crawl", "--db", str(tmp_path / "x.db"), *args],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert message in last and "Traceback" not in result.stderr


# --- visits ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("message, status", [
    ("Page.goto: Timeout 8000ms exceeded.", "timeout"),
    ("Page.goto: net::ERR_NAME_NOT_RESOLVED at https://x/", "dns-error"),
    ("Page.goto: net::ERR_CERT_AUTHORITY_INVALID at https://x/", "tls-error"),
    ("Page.goto: net::ERR_TOO_MANY_REDIRECTS at https://x/", "http-error"),
    ("Failed to download https://x/file: canceled", "aborted"),
    ("Page.goto: Navigation failed because page crashed!", "crashed"),
    ("Page.goto: net::ERR_CONNECTION_REFUSED at https://x/", "aborted"),
])
def test_failures_map_to_statuses(message, status):
    got, reason = classify_failure(message, 8)
    assert got == status and reason and "\n" not in reason


def test_internal_links_and_seeded_sample():
    hrefs = ["/a", "/b#x", "https://www.news.fr/c", "https://sub.news.fr/d", "https://other.com/e", "javascript:x",
             "/file.pdf", "mailto:a@b", "/", "#top"]
    links = internal_links("https://www.news.fr/", hrefs, "news.fr")
    assert links == ["https://sub.news.fr/d", "https://www.news.fr/a", "https://www.news.fr/b", "https://www.news.fr/c"]
    first = sample_links(links, 2, 7, "https://www.news.fr/")
    assert first == sample_links(list(reversed(links)), 2, 7, "https://www.news.fr/")
    assert len(set(first)) == 2 and sample_links(links, 0, 7, "x") == []
    assert visit_key("https://a.fr/") == "initial https://a.fr/"


# --- CDP helpers ----------------------------------------------------------------------------------------------
def test_initiator_script_walks_async_stacks():
    initiator = {"type": "script", "stack": {"callFrames": [{"url": ""}], "parent": {
        "callFrames": [{"url": "https://t.com/tag.js"}]}}}
    assert initiator_script(initiator) == "https://t.com/tag.js"
    assert initiator_script({"type": "parser", "url": "https://p.fr/"}) == "https://p.fr/"
    assert initiator_script(None) is None


def test_refused_set_cookie_lines_are_not_accepted():
    params = {"headers": {"Set-Cookie": "a=1; SameSite=None\nb=2; Secure; SameSite=None"},
              "blockedCookies": [{"cookieLine": "a=1; SameSite=None", "blockedReasons": ["SameSiteNoneInsecure"]}]}
    assert _accepted_set_cookies(params) == ["b=2; Secure; SameSite=None"]


def test_user_agent_is_a_desktop_chrome_of_the_same_version():
    ua = user_agent("Chromium 156.0.8078.79 built on Debian", "Linux")
    assert ua == ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 "
                  "Safari/537.36")
    options = LaunchPlan("/usr/bin/chromium", version="Chromium 156.0.8078.79").options()
    assert "--disable-blink-features=AutomationControlled" in options["args"]
    assert options["ignore_default_args"] == ["--enable-automation"] and options["accept_downloads"] is False


def test_host_map_resolver_answers_mapped_hosts():
    from crawler.resolver import HostMapResolver
    from mouchard.net import NetworkOptions

    class Reactor:  # the resolver only needs a reactor for names it does not map
        pass

    resolver = HostMapResolver(Reactor(), 0, 5.0, NetworkOptions.build(host_map=["*.example.com=10.0.0.7"]))
    answers = []
    resolver.getHostByName("www.example.com").addCallback(answers.append)
    assert answers == ["10.0.0.7"]


def test_settings_helpers_share_the_network_with_other_spiders():
    from crawler.settings import base_settings, network_settings, proxy_meta
    from mouchard.net import NetworkOptions

    net = NetworkOptions.build(proxy="http://127.0.0.1:8080", host_map=["*=127.0.0.1"])
    settings = {**base_settings("x.db", 3), **network_settings(net)}
    assert settings["REMOTE_CONTROL_ENABLED"] is False and settings["MOUCHARD_CRAWL_ID"] == 3
    assert settings["TWISTED_DNS_RESOLVER"] == "crawler.resolver.HostMapResolver"
    assert settings["MOUCHARD_HOST_MAP"] == ["*=127.0.0.1"]
    assert proxy_meta(net) == {"proxy": "http://127.0.0.1:8080"}


def test_the_watchdog_kills_only_renderers_of_our_own_browser():
    """Chromium answers id 0 for a renderer that is starting or gone: kill(0) would end the crawl's own process
    group (the crawl then dies with its run still `running`). Only descendants of this process are killed."""
    from crawler.browser.visit import renderers_to_kill

    ours = {4242, 4243, 4244}
    info = [{"type": "renderer", "id": 4242}, {"type": "renderer", "id": 0}, {"type": "renderer", "id": -1},
            {"type": "renderer", "id": 1}, {"type": "renderer", "id": 999999}, {"type": "gpu-process", "id": 4243},
            {"type": "renderer", "id": "4244"}, {"type": "renderer", "id": True}, "junk", {"type": "renderer"}]
    assert renderers_to_kill(info, ours) == [4242]
    assert renderers_to_kill(info, set()) == []


@pytest.mark.parametrize("error, status, failures", [(RuntimeError("reactor broke"), "failed", 1),
                                                      (KeyboardInterrupt(), "interrupted", 0)])
def test_a_crawl_ended_by_an_exception_is_not_left_running(tmp_path, error, status, failures):
    from crawler.crawl import end_on_error as _end_on_error
    from mouchard.storage.store import Store

    db = str(tmp_path / "c.db")
    with Store(db) as store:
        crawl_id = store.start_crawl("web", config={})
    _end_on_error(db, crawl_id, error)
    with Store(db) as store:
        assert store.rows("SELECT status FROM crawls")[0]["status"] == status
        rows = store.rows("SELECT component, kind, detail FROM failures")
    assert rows == ([{"component": "crawl", "kind": "run-error", "detail": "RuntimeError: reactor broke"}]
                    if failures else [])
