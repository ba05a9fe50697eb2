"""Declared versus observed on the test web, end to end: one real crawl (`--consent all`) of the two publishers of
demoweb/sites/consent_vendors.py records exactly the planted traffic; then `mouchard vendors fetch` reads the test
web's Global Vendor List and disclosures into the same database, the rollups and the `vendors.*` rules run, and
every planted finding is found on www.pub-infidele.fr and none on the control, www.pub-loyal.fr.

Expectations come from `VENDOR_EXPECTED` (one place for tests and docs).
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import NO_CALLS, needs
from demoweb import Headers, Request
from demoweb.sites.consent_lib import missing_packages
from demoweb.sites.consent_vendors import (CMP_GVL_VERSION, DELETED, DELETED_DATE, DISCLOSURES, GVL_HOST, GVL_SITE,
                                           GVL_VERSION, INFIDELE, LOYAL, VENDOR_EXPECTED, vendor_list)
from mouchard.decode.tcf import decode_tc_string
from mouchard.net import NetworkOptions, fetch


def in_browser(test):
    """A test of the crawl: real Chromium, a slow module fixture (the oldest-Python CI run leaves these out)."""
    return pytest.mark.browser(pytest.mark.slow(test))


HOSTS = [INFIDELE, LOYAL]
PHASES = ("initial", "reject", "accept")
CONDUCT_FACTS = ("hosts", "consent", "legitimate_interest", "tc_string_purposes", "undisclosed_cookies",
                 "longer_cookies", "undisclosed_domains", "purposes_without_basis", "forbidden_legitimate_interest",
                 "precise_geo_without_opt_in", "not_in_cmp_list", "deleted", "verdict")
JSON_FACTS = {"hosts", "tc_string_purposes", "undisclosed_cookies", "longer_cookies", "undisclosed_domains",
              "purposes_without_basis", "forbidden_legitimate_interest"}
TITLE_VENDOR = re.compile(r"\[GVL vendor (\d+)\], (\S+) phase\)$")


@pytest.fixture(scope="module")
def crawl_path(testweb, tmp_path_factory):
    needs(missing_packages())
    path = tmp_path_factory.mktemp("vendors-web") / "vendors.db"
    args = [sys.executable, "-m", "mouchard", "crawl", "--db", str(path), "--consent", "all",
            "--timeout", "20", "--concurrency", "2", *NO_CALLS]
    args += [f"--browser-arg={flag}" for flag in testweb.chromium_args(proxy=True)]
    result = subprocess.run([*args, *(f"https://{host}/" for host in HOSTS)], capture_output=True, text=True,
                            timeout=400)
    assert result.returncode == 0, result.stderr[-3000:]
    assert testweb.errors == [], testweb.errors[:1]
    return path


@pytest.fixture(scope="module")
def db(crawl_path):
    conn = sqlite3.connect(crawl_path)
    conn.row_factory = sqlite3.Row
    yield conn
    conn.close()


@pytest.fixture(scope="module")
def visits(db) -> dict[tuple[str, str], sqlite3.Row]:
    """(publisher host, phase) -> its visit row."""
    rows = db.execute("SELECT id, url, phase, site, status FROM visits").fetchall()
    return {(row["url"].split("/")[2], row["phase"]): row for row in rows}


def each_visit():
    return [(host, phase) for host in HOSTS for phase in PHASES]


# --- the expectation table and the registry's routes (no browser) ---------------------------------------------------

RULE_FACT = {"vendors.undisclosed-cookie": "undisclosed_cookies",
             "vendors.cookie-longer-than-declared": "longer_cookies",
             "vendors.undisclosed-domain": "undisclosed_domains",
             "vendors.purpose-without-basis": "purposes_without_basis",
             "vendors.forbidden-legitimate-interest": "forbidden_legitimate_interest",
             "vendors.precise-geo-without-opt-in": "precise_geo_without_opt_in",
             "vendors.not-in-cmp-list": "not_in_cmp_list", "vendors.deleted-vendor-called": "deleted"}


def test_expected_findings_are_the_conduct_facts_that_speak():
    """VENDOR_EXPECTED agrees with itself: a finding per non-empty conduct fact, each planted exactly once."""
    planted = []
    for host in HOSTS:
        for phase in PHASES:
            expected = VENDOR_EXPECTED[host][phase]
            speaking = {(rule_id, vid) for vid, facts in expected["conduct"].items()
                        for rule_id, column in RULE_FACT.items() if facts[column]}
            assert {(rule_id, vid) for rule_id, vid, _ in expected["findings"]} == speaking
            planted += [rule_id for rule_id, _, _ in expected["findings"]]
            assert set(expected["hosts"]) == {h for facts in expected["conduct"].values() for h in facts["hosts"]}
    assert sorted(planted) == sorted(RULE_FACT)  # every rule once, all of them on the violating site
    assert not any(VENDOR_EXPECTED[LOYAL][phase]["findings"] for phase in PHASES)


@given(st.text(max_size=40))
def test_vendor_list_archive_answers_a_known_version_or_404(version):
    path = f"/v3/archives/vendor-list-v{version}.json"
    found = GVL_SITE.match("GET", path)
    if found is None:
        return  # not a route: the test web answers 404
    handler, params = found
    response = handler(Request("GET", "https", GVL_HOST, 443, path, "", Headers(), params=params))
    if version.isascii() and version.isdigit() and int(version) in (CMP_GVL_VERSION, GVL_VERSION):
        assert response.status == 200 and json.loads(response.body)["vendorListVersion"] == int(version)
    else:
        assert response.status == 404


# --- the crawl records exactly what the pages plant ----------------------------------------------------------------

@in_browser
def test_each_publisher_is_visited_once_per_phase(db, visits):
    assert sorted(visits) == sorted(each_visit())
    assert db.execute("SELECT count(*) FROM visits").fetchone()[0] == len(each_visit())
    assert {row["status"] for row in visits.values()} == {"ok"}
    actions = {(r["url"].split("/")[2], r["phase"]): (r["action"], r["verified"]) for r in db.execute(
        "SELECT v.url, v.phase, c.action, c.verified FROM consent c JOIN visits v ON v.id = c.visit_id "
        "WHERE c.source = 'action'")}
    assert actions == {(h, p): ("none", None) if p == "initial" else (p, 1) for h, p in each_visit()}


@in_browser
@pytest.mark.parametrize("host,phase", each_visit())
def test_vendors_are_called_once_each_and_only_after_the_choice(db, visits, host, phase):
    visit = visits[(host, phase)]
    rows = db.execute("SELECT host, time_ms FROM requests WHERE visit_id = ? AND host != ?",
                      (visit["id"], host)).fetchall()
    assert Counter(r["host"] for r in rows) == Counter(VENDOR_EXPECTED[host][phase]["hosts"])
    action = db.execute("SELECT time_ms FROM consent WHERE visit_id = ? AND source = 'action'",
                        (visit["id"],)).fetchone()["time_ms"]
    assert all(r["time_ms"] >= action for r in rows)  # nothing before the banner was answered


@in_browser
@pytest.mark.parametrize("host,phase", each_visit())
def test_vendor_cookies_keep_their_requested_lifetimes(db, visits, host, phase):
    rows = db.execute("SELECT name, domain, requested_lifetime_days, lifetime_days, set_by FROM cookies "
                      "WHERE visit_id = ? AND third_party = 1 ORDER BY name", (visits[(host, phase)]["id"],)).fetchall()
    assert sorted((r["name"], r["domain"], r["requested_lifetime_days"]) for r in rows) == \
        sorted(VENDOR_EXPECTED[host][phase]["cookies"])
    assert {r["set_by"] for r in rows} <= {"header"}
    for r in rows:  # Chromium keeps 400 days at most: the 730 asked for is only in the header
        assert r["lifetime_days"] == min(r["requested_lifetime_days"], 400.0)


@in_browser
@pytest.mark.parametrize("host,phase", each_visit())
def test_bid_requests_carry_the_planted_geolocation(db, visits, host, phase):
    rows = db.execute("SELECT exchange, bidder, personal_fields, fields FROM rtb WHERE visit_id = ? "
                      "AND event = 'openrtb-request'", (visits[(host, phase)]["id"],)).fetchall()
    found = [(r["exchange"], r["bidder"],
              {k: json.loads(r["fields"])["device"]["geo"][k] for k in ("lat", "lon", "type")}) for r in rows]
    assert found == VENDOR_EXPECTED[host][phase]["bid_requests"]
    assert all(json.loads(r["personal_fields"]) == ["device.geo"] for r in rows)


@in_browser
@pytest.mark.parametrize("host,phase", each_visit())
def test_tc_strings_read_decode_to_the_planted_signals(db, visits, host, phase):
    expected = VENDOR_EXPECTED[host][phase]
    rows = db.execute("SELECT source, name, raw, time_ms FROM consent WHERE visit_id = ? AND framework = 'tcf' "
                      "AND source != 'action' AND raw != '' AND name != 'gdpr'",
                      (visits[(host, phase)]["id"],)).fetchall()
    if expected["tc_string"] is None:
        assert rows == []  # no choice, no string: the CMP stores nothing before one
        return
    assert {r["source"] for r in rows} == ({"api", "cookie", "wire"} if expected["hosts"] else {"api", "cookie"})
    for row in rows:
        decoded = decode_tc_string(row["raw"])
        assert {k: decoded[k] for k in expected["tc_string"]} == expected["tc_string"], row["source"]
    # the string travels with every vendor call (gdpr_consent): one wire row per host called
    wire = db.execute("SELECT json_extract(decoded, '$._wire.host') AS host FROM consent WHERE visit_id = ? "
                      "AND source = 'wire' AND name = 'gdpr_consent'", (visits[(host, phase)]["id"],)).fetchall()
    assert sorted(r["host"] for r in wire) == sorted(expected["hosts"])


@in_browser
def test_vendor_list_and_disclosures_are_served_at_their_addresses(testweb):
    net = NetworkOptions.build(host_map=["*=127.0.0.1"], ca_file=testweb.ca_pem_path)

    def get(url: str):
        return json.loads(fetch(url, net, timeout=30).body)

    current = get(testweb.url(GVL_HOST, "/v3/vendor-list.json"))
    assert current["vendorListVersion"] == GVL_VERSION and current["gvlSpecificationVersion"] == 3
    assert current["vendors"][str(DELETED)]["deletedDate"] == DELETED_DATE
    archived = get(testweb.url(GVL_HOST, f"/v3/archives/vendor-list-v{GVL_VERSION - 1}.json"))
    assert "deletedDate" not in archived["vendors"][str(DELETED)]
    assert current == vendor_list(GVL_VERSION, testweb.url)
    for vid, vendor in current["vendors"].items():
        assert get(vendor["deviceStorageDisclosureUrl"]) == DISCLOSURES[int(vid)]


# --- declared versus observed: the GVL fetched into the crawl's database, rollups and rules ------------------------

@pytest.fixture(scope="module")
def judged(testweb, crawl_path):
    """The crawl database with the test web's GVL fetched (CLI), vendor_conduct rebuilt and the vendors.* rules run."""
    from audits.engine import evaluate
    from audits.rules.vendors import RULES
    from mouchard.classification.rollups import rebuild
    from mouchard.storage.store import Store

    result = subprocess.run([sys.executable, "-m", "mouchard", "vendors", "fetch", "--db", str(crawl_path),
                             "--source", testweb.url(GVL_HOST, "/v3/vendor-list.json"),
                             "--host-map", "*=127.0.0.1", "--ca-file", testweb.ca_pem_path],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    with Store(str(crawl_path)) as store:
        rebuild(store)
        evaluation = evaluate(store, rules=[r.id for r in RULES])
        assert evaluation.errors == ()
    conn = sqlite3.connect(crawl_path)
    conn.row_factory = sqlite3.Row
    yield conn
    conn.close()


@in_browser
def test_the_test_web_list_is_recorded_with_every_disclosure(judged):
    head = judged.execute("SELECT * FROM vendor_lists").fetchall()
    # a deleted vendor's disclosure is not fetched: every other one is read
    assert [(r["version"], r["vendors"], r["disclosures_fetched"], r["disclosures_failed"]) for r in head] == \
        [(GVL_VERSION, len(DISCLOSURES), len(DISCLOSURES) - 1, 0)]
    rows = judged.execute("SELECT vendor_id, disclosure_status, deleted_date, domains FROM vendors "
                          "ORDER BY vendor_id").fetchall()
    assert [(r["vendor_id"], r["disclosure_status"], r["deleted_date"] or None) for r in rows] == \
        [(vid, "not-fetched", DELETED_DATE) if vid == DELETED else (vid, "ok", None) for vid in sorted(DISCLOSURES)]
    assert {r["vendor_id"]: json.loads(r["domains"]) for r in rows if r["vendor_id"] != DELETED} == \
        {vid: [d["domain"] for d in disclosure["domains"]] for vid, disclosure in DISCLOSURES.items() if vid != DELETED}


@in_browser
def test_vendor_conduct_rows_are_exactly_the_planted_ones(judged, visits):
    site_of = {host: visits[(host, "initial")]["site"] for host in HOSTS}
    rows = judged.execute("SELECT * FROM vendor_conduct").fetchall()
    found = {}
    for row in rows:
        facts = {k: json.loads(row[k]) if k in JSON_FACTS and row[k] is not None else row[k] for k in CONDUCT_FACTS}
        found[(row["site"], row["phase"], row["vendor_id"])] = facts
        assert row["vendor_list_version"] == GVL_VERSION
    expected = {(site_of[host], phase, vid): facts for host in HOSTS for phase in PHASES
                for vid, facts in VENDOR_EXPECTED[host][phase]["conduct"].items()}
    assert sorted(found) == sorted(expected)
    for key, facts in expected.items():
        assert found[key] == facts, key


@in_browser
def test_every_planted_finding_is_found_and_none_on_the_control(judged, visits):
    site_of = {visits[(host, "initial")]["site"]: host for host in HOSTS}
    found = {}
    for row in judged.execute("SELECT rule_id, subject, title, detail FROM findings WHERE rule_id LIKE 'vendors.%'"):
        match = TITLE_VENDOR.search(row["title"])
        assert match, row["title"]
        key = (site_of[row["subject"]], match[2], row["rule_id"], int(match[1]))
        assert key not in found, f"found twice: {key}"
        found[key] = row["detail"]
    expected = {(host, phase, rule_id, vid): planted for host in HOSTS for phase in PHASES
                for rule_id, vid, planted in VENDOR_EXPECTED[host][phase]["findings"]}
    assert sorted(found) == sorted(expected)
    for key, planted in expected.items():
        for value in planted:  # the detail names what was planted (cookie names, hosts, purposes)
            assert str(value) in found[key], (key, value, found[key])
    assert not [k for k in found if k[0] == LOYAL]
