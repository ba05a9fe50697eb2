"""Cookies as the site set them: the requested attributes (Set-Cookie header or `document.cookie` string as written)
apart from the effective ones (what Chromium kept, read over CDP), and the parser of those strings on hostile input.

One real crawl (`mouchard crawl` in a subprocess) of the cookie attributes lab (`demoweb.sites.cookie_lab`).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import urllib.parse

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_crawler_recall import run_crawl
from demoweb.sites import cookie_lab

from crawler.collectors.cookies import browser_accepts
from mouchard.detect.cookies import (
    MAX_ATTRIBUTE_VALUE,
    MAX_LINE,
    apply_browser,
    asked_lifetime,
    deletes,
    judge_identifier,
    parse_cookie_date,
    parse_set_cookie,
)
from mouchard.decode.domains import is_public_suffix

NOW = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.timezone.utc)
COLUMNS = ("value", "set_by", "domain", "path", "session", "lifetime_days", "same_site", "secure", "http_only",
           "partitioned", "priority", "requested_domain", "requested_path", "requested_expires_at",
           "requested_lifetime_days", "requested_same_site", "requested_secure", "requested_http_only",
           "requested_partitioned", "requested_priority")


# --- parsing, no browser ------------------------------------------------------------------------------------------
def test_far_expiry_is_requested_as_written_and_kept_400_days():
    row = parse_set_cookie("a=1; Expires=Tue, 31 Dec 2030 00:00:00 GMT; SameSite=Bogus; Priority=high",
                           "https://www.news.fr/x", NOW)
    assert (row["requested_expires_at"], row["requested_lifetime_days"]) == ("2030-12-31T00:00:00Z", 1484.5)
    assert (row["expires_at"], row["lifetime_days"]) == ("2028-01-11T12:00:00Z", 400.0)
    assert (row["requested_same_site"], row["same_site"], row["requested_priority"]) == ("Bogus", "", "High")


def test_invalid_max_age_is_ignored_and_a_date_without_month_name_is_void():
    row = parse_set_cookie("a=1; Max-Age=1_000; Expires=Wed, 01 Jan 2031 00:00:00 GMT", "https://x.fr/", NOW)
    assert row["requested_expires_at"] == "2031-01-01T00:00:00Z"
    assert parse_cookie_date("2030-12-31") is None
    assert parse_cookie_date("Thu, 31-Dec-2030 23:59:59 GMT") == dt.datetime(2030, 12, 31, 23, 59, 59,
                                                                             tzinfo=dt.timezone.utc)
    assert parse_set_cookie("a=1; expires=2030-12-31", "https://x.fr/", NOW)["session"] == 1


def test_browser_attributes_replace_the_effective_ones_only():
    row = parse_set_cookie("a=1; Max-Age=63072000; Domain=News.FR", "https://www.news.fr/", NOW)
    cookie = {"name": "a", "value": "1", "domain": ".news.fr", "path": "/", "expires": NOW.timestamp() + 400 * 86400,
              "session": False, "priority": "Medium", "httpOnly": False, "secure": False}
    apply_browser(row, cookie, NOW)
    assert (row["lifetime_days"], row["same_site"], row["priority"]) == (400.0, "", "Medium")
    assert (row["requested_lifetime_days"], row["requested_domain"], row["requested_same_site"]) == (730.0, "News.FR", "")
    assert asked_lifetime(row) == 730.0
    assert judge_identifier("a1b2c3d4e5f6", asked_lifetime(row))[1].startswith("seen in one profile only")
    assert "asked to live 730 days" in judge_identifier("a1b2c3d4e5f6", asked_lifetime(row))[1]


def _bounded(row: dict | None) -> None:
    if row is not None:
        assert len(row["name"]) + len(row["value"]) <= MAX_LINE
        assert len(row["requested_domain"]) <= MAX_ATTRIBUTE_VALUE and len(row["requested_path"]) <= MAX_ATTRIBUTE_VALUE
        assert len(row["requested_same_site"]) <= 32 and len(row["requested_priority"]) <= 32


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=3000), st.text(max_size=200))
def test_hostile_set_cookie_strings_never_raise_and_stay_bounded(line, attribute):
    _bounded(parse_set_cookie(line, "https://www.news.fr/a", NOW))
    _bounded(parse_set_cookie(f"n=v; Expires={attribute}; Max-Age={attribute}; SameSite={attribute}; "
                              f"Domain={attribute}; Priority={attribute}", "https://www.news.fr/a", NOW))
    parse_cookie_date(attribute)


def test_oversized_strings_are_cut_and_huge_max_age_is_far_not_session():
    _bounded(parse_set_cookie("a=" + "v" * 100_000 + "; Domain=" + "d" * 5000, "https://x.fr/", NOW))
    long_domain = parse_set_cookie("a=b; Domain=" + "d" * 1025 + ".fr", "https://x.fr/", NOW)
    assert (long_domain["requested_domain"], long_domain["domain"]) == ("", "x.fr")  # ignored, as browsers do
    many = parse_set_cookie("a=b" + "; x" * 5000 + "; Secure", "https://x.fr/", NOW)
    assert many["requested_secure"] == 0  # beyond MAX_ATTRIBUTES: not read
    far = parse_set_cookie("a=b; Max-Age=" + "9" * 30, "https://x.fr/", NOW)
    assert (far["requested_expires_at"], far["lifetime_days"]) == ("9999-12-31T23:59:59Z", 400.0)
    assert parse_set_cookie("a=b; Max-Age=" + "9" * 5000, "https://x.fr/", NOW)["session"] == 1  # > 1024: ignored
    assert parse_set_cookie("a=b; Max-Age=-" + "9" * 25, "https://x.fr/", NOW)["requested_lifetime_days"] < 0


# --- one crawl ----------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cookies(testweb, tmp_path_factory) -> dict[str, sqlite3.Row]:
    db = tmp_path_factory.mktemp("cookie-attributes") / "c.db"
    result = run_crawl(testweb, db, [testweb.url(cookie_lab.HOST)], concurrency=1)
    assert result.returncode == 0, result.stderr[-3000:]
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    rows = list(conn.execute("SELECT * FROM cookies"))
    conn.close()
    assert len(rows) == len({r["name"] for r in rows}), [r["name"] for r in rows]
    return {r["name"]: r for r in rows}


@pytest.mark.browser
@pytest.mark.slow
def test_exactly_the_cookies_the_browser_kept_are_rows(cookies):
    assert set(cookies) == {"far_header", "maxage_header", "none_header", "lax_default_header",
                            "far_script", "maxage_script", "none_script", "chips_header", "brief_header",
                            "brief_script"}


@pytest.mark.browser
@pytest.mark.slow
def test_a_cookie_set_for_a_minute_is_a_cookie_not_a_deletion(cookies):
    for name, value, set_by in (("brief_header", "h6", "header"), ("brief_script", "s5", "script")):
        row = cookies[name]
        assert (row["value"], row["set_by"], row["session"], row["requested_lifetime_days"]) == (value, set_by, 0, 0.0)
        # Kept as asked (well under 400 days). The browser computes the effective expiry on its clock when the cookie
        # arrives, we compute the requested one on ours when we see it: both truncated to the second, they may
        # straddle a second boundary.
        effective, requested = (dt.datetime.fromisoformat(row[c].replace("Z", "+00:00"))
                                for c in ("expires_at", "requested_expires_at"))
        assert abs((effective - requested).total_seconds()) <= 1


def test_deletion_is_an_expiry_not_after_the_setting_time_and_a_public_suffix_is_no_domain():
    at = NOW.replace(microsecond=700000)
    lines = {"a=1; Max-Age=3": False, "a=1; Max-Age=1": False, "a=1; Max-Age=0": True, "a=1; Max-Age=-1": True,
             "a=1; Expires=Thu, 01 Jan 1970 00:00:00 GMT": True, "a=1": False}
    assert {line: deletes(parse_set_cookie(line, "https://www.x.fr/", at), at) for line in lines} == lines
    assert [is_public_suffix(d) for d in ("fr", ".fr", "co.uk", "github.io", "npm-lab.fr", "www.npm-lab.fr",
                                          "localhost", "127.0.0.1", "")] == [True, True, True, True, False, False,
                                                                             False, False, False]
    row = parse_set_cookie("p=1; domain=.fr; path=/", "https://www.npm-lab.fr/", at)
    assert not browser_accepts(row, "https://www.npm-lab.fr/")
    assert browser_accepts(parse_set_cookie("p=1; domain=npm-lab.fr", "https://www.npm-lab.fr/", at),
                           "https://www.npm-lab.fr/")


@pytest.mark.browser
@pytest.mark.slow
def test_requested_and_effective_attributes(cookies):
    host = cookie_lab.HOST
    far = "2030-12-31T00:00:00Z"
    expected = {
        "far_header": ("h1", "header", host, "/", 0, 400.0, "", 0, 0, 0, "Medium", "", "/", far, None, "", 0, 0, 0, ""),
        "maxage_header": ("h2", "header", host, "/", 0, 400.0, "", 0, 0, 0, "High", "", "/", None, 730.0, "", 0, 0,
                          0, "High"),
        "none_header": ("h3", "header", host, "/", 0, 1.0, "None", 1, 0, 0, "Medium", "", "/", None, 1.0, "None", 1,
                        0, 0, ""),
        "lax_default_header": ("h5", "header", host, "/", 0, 1.0, "", 0, 0, 0, "Medium", "", "/", None, 1.0, "", 0,
                               0, 0, ""),
        "far_script": ("s1", "script", host, "/", 0, 400.0, "", 0, 0, 0, "Medium", "", "/", far, None, "", 0, 0, 0,
                       ""),
        "maxage_script": ("s2", "script", host, "/", 0, 400.0, "Lax", 0, 0, 0, "Medium", "", "/", None, 730.0,
                          "Lax", 0, 0, 0, ""),
        "none_script": ("s3", "script", host, "/", 1, None, "None", 1, 0, 0, "Medium", "", "/", None, None, "None", 1,
                        0, 0, ""),
    }
    for name, want in expected.items():
        row = cookies[name]
        assert row["third_party"] == 0, name
        got = tuple(row[c] for c in COLUMNS)
        # requested expiry from Max-Age depends on when it was set: checked through the lifetime instead
        if want[COLUMNS.index("requested_expires_at")] is None and want[COLUMNS.index("requested_lifetime_days")]:
            got = tuple(None if c == "requested_expires_at" else v for c, v in zip(COLUMNS, got))
        if want[COLUMNS.index("requested_lifetime_days")] is None and want[COLUMNS.index("requested_expires_at")]:
            assert 1480 < row["requested_lifetime_days"] < 1500  # to 31 Dec 2030
            got = tuple(None if c == "requested_lifetime_days" else v for c, v in zip(COLUMNS, got))
        assert got == want, (name, dict(zip(COLUMNS, got)))
        setter = urllib.parse.urlsplit(row["setter_url"])
        assert (setter.hostname, setter.path) == (host, "/")
        assert (row["request_id"] is not None) == (row["set_by"] == "header")
    assert cookies["far_script"]["expires_at"] < cookies["far_script"]["requested_expires_at"]


@pytest.mark.browser
@pytest.mark.slow
def test_partitioned_third_party_cookie_as_requested_and_kept(cookies):
    row = cookies["chips_header"]
    assert (row["domain"], row["third_party"], row["set_by"], row["lifetime_days"]) == (
        cookie_lab.EMBED_HOST, 1, "header", 1.0)
    kept = (row["same_site"], row["secure"], row["partitioned"], row["priority"])
    asked = (row["requested_same_site"], row["requested_secure"], row["requested_partitioned"],
             row["requested_priority"])
    assert (kept, asked) == (("None", 1, 1, "Medium"), ("None", 1, 1, ""))
