"""The canned queries answer their questions on a database written like the collectors write, in process."""

from __future__ import annotations

import json

import pytest

from data.datasette.client import SyncClient
from data.datasette.fixtures import build
from mouchard.publishing.metadata import load_queries
from mouchard.publishing.serve import build_datasette
from mouchard.storage.store import Store


@pytest.fixture(scope="module")
def fixture(tmp_path_factory):
    return build(tmp_path_factory.mktemp("queries") / "crawl.db")


@pytest.fixture(scope="module")
def client(fixture):
    client = SyncClient(build_datasette(fixture.path))
    yield client
    client.close()


def columns(rows: list[dict], *names: str) -> list[tuple]:
    return [tuple(row[name] for name in names) for row in rows]


def test_database_is_served_as_mouchard_whatever_the_file_name(client):
    assert client.json("/-/databases.json")[0]["name"] in ("mouchard", "_internal")
    assert client.get("/mouchard/visits").status_code == 200


def test_every_canned_query_runs_on_an_empty_database(tmp_path):
    with Store(tmp_path / "empty.db"):
        pass
    empty = SyncClient(build_datasette(tmp_path / "empty.db"))
    try:
        for query in load_queries():
            assert empty.json(f"/mouchard/{query.name}") == [], query.name
    finally:
        empty.close()


def test_sites_are_ranked_by_tracker_companies_and_failed_visits_left_out(client):
    rows = client.json("/mouchard/sites_by_tracker_companies")
    assert columns(rows, "site", "tracker_companies", "tracker_requests", "visits") == [
        ("news.example", 3, 7, 4), ("shop.example", 1, 2, 2), ("quiet.example", 0, 0, 1)]
    assert sorted(rows[0]["companies"].split(",")) == ["Google", "Meta", "Microsoft"]


def test_site_ranking_can_be_limited_to_one_phase(client):
    rows = client.json("/mouchard/sites_by_tracker_companies", phase="reject")
    assert columns(rows, "site", "tracker_companies") == [("news.example", 2), ("shop.example", 1)]


def test_companies_are_ranked_by_sites_with_before_consent_and_after_reject_counts(client):
    rows = client.json("/mouchard/companies_on_most_sites")
    assert columns(rows, "company", "sites", "sites_before_consent", "sites_after_reject", "requests") == [
        ("Google", 2, 2, 2, 7), ("Meta", 1, 1, 0, 1), ("Microsoft", 1, 0, 1, 1)]
    assert columns(client.json("/mouchard/companies_on_most_sites", category="social"), "company") == [("Meta",)]


def test_tracking_cookies_before_consent_are_identifiers_of_trackers_only(client, fixture):
    rows = client.json("/mouchard/tracking_cookies_before_consent")
    assert columns(rows, "site", "cookie", "company", "phases", "visits") == [
        ("news.example", "IDE", "Google", "initial,gpc", 2),
        ("news.example", "_fbp", "Meta", "initial", 1),
        ("shop.example", "_ga", "Google", "initial", 1)]
    assert rows[0]["cookie_id"] == fixture.ids["news_ide_cookie"]
    assert len(client.json("/mouchard/tracking_cookies_before_consent", site="shop.example")) == 1


def test_tracking_after_reject_counts_only_what_came_after_the_click(client, fixture):
    rows = client.json("/mouchard/tracking_after_reject")
    # Google at 500 ms (before the click at 1000 ms) does not count; Xandr at 1500 ms and uuid2 do. shop.example's
    # analytics request came before its click: not listed.
    assert rows == [{"site": "news.example", "reject_verified": 1, "tracker_companies": 1, "tracker_requests": 1,
                     "companies": "Microsoft", "tracking_cookies": 1, "cookie_names": "uuid2",
                     "visit_id": fixture.ids["news_reject"]}]


def test_tcf_vendors_without_consent_come_from_consent_findings_with_evidence(client, fixture):
    rows = client.json("/mouchard/tcf_vendors_without_consent")
    assert columns(rows, "site", "severity", "rule_id", "phase", "finding_id") == [
        ("news.example", "high", "consent.tcf-vendor-without-consent", "initial", fixture.ids["tcf_finding"])]
    assert json.loads(rows[0]["evidence"])[0] == {"table": "requests", "id": fixture.ids["news_dc_request"]}


def test_gpc_ignored_lists_advertising_and_cookies_despite_the_signal(client):
    rows = client.json("/mouchard/gpc_ignored")
    assert columns(rows, "site", "advertising_companies", "tracking_cookies", "findings") == [
        ("news.example", 1, 1, 1)]
    assert json.loads(rows[0]["gpc_statement"])["gpc"] is True


def test_bidders_are_ranked_over_sites_and_apps_with_personal_fields(client):
    rows = client.json("/mouchard/header_bidding_bidders")
    assert columns(rows, "bidder", "sites", "apps", "bids", "wins") == [
        ("appnexus", 1, 0, 1, 1), ("rubicon", 1, 0, 1, 0), ("graph.facebook.com", 0, 1, 0, 0)]
    assert set(rows[0]["personal_fields"].split(",")) == {"user.buyeruid", "device.geo"}


def test_auctions_show_bidders_winner_and_price(client):
    rows = client.json("/mouchard/header_bidding_auctions", site="news.example")
    assert columns(rows, "site_or_app", "phase", "auction_id", "bidders", "bids", "winner", "winning_cpm") == [
        ("news.example", "initial", "a-1", 2, 2, "appnexus", 1.2)]
    assert client.json("/mouchard/header_bidding_auctions", site="quiet.example") == []


def test_id_syncs_pair_companies_on_the_web_and_in_apps(client):
    rows = client.json("/mouchard/id_syncs_between_companies")
    assert columns(rows, "from_company", "to_company", "sites", "apps", "carried_in") == [
        ("Microsoft", "Magnite", 1, 0, "query"), ("WeatherAds", "Meta", 0, 1, "body")]


def test_apps_are_ranked_by_kinds_of_values_leaked(client):
    rows = client.json("/mouchard/apps_by_leaks")
    assert columns(rows, "app", "leaks", "kinds", "third_party_destinations") == [
        ("com.weather.app", 4, 3, 2), ("com.game.app", 1, 1, 1)]


def test_location_and_advertising_id_receivers_carry_rounded_positions(client):
    rows = client.json("/mouchard/location_and_advertising_id_receivers")
    assert {(r["destination_site"], r["identifier"]) for r in rows} == {
        ("weatherads.example", "location"), ("weatherads.example", "advertising_id"),
        ("facebook.com", "advertising_id"), ("applovin.com", "advertising_id")}
    located = client.json("/mouchard/location_and_advertising_id_receivers", identifier="location")
    assert columns(located, "company", "apps", "lat", "lon", "best_precision_metres") == [
        ("WeatherAds", 1, 48.86, 2.29, 12.0)]


def test_brokers_hiding_opt_out_pages_ignore_hidden_policy_pages(client, fixture):
    rows = client.json("/mouchard/brokers_hiding_opt_out")
    assert columns(rows, "broker", "kind", "broker_page_id") == [
        ("Acme Data LLC", "opt-out", fixture.ids["acme_hidden_page"])]
    assert "noindex" in rows[0]["hidden_reasons"]
    assert client.json("/mouchard/brokers_hiding_opt_out", registry="vt") == []


def test_brokers_by_declared_data_use_each_brokers_latest_registration(client, fixture):
    rows = client.json("/mouchard/brokers_by_declared_data")
    # Acme declared precise geolocation only in 2025: its 2025 row, counted once.
    assert columns(rows, "broker", "year", "minors", "precise_geolocation", "reproductive_health", "opt_out_hidden") == [
        ("Acme Data LLC", 2025, "yes", "yes", "no", 1), ("Beta Brokers Inc", 2025, "no", "no", "yes", 0)]
    assert columns(client.json("/mouchard/brokers_by_declared_data", data="reproductive_health"), "broker") == [
        ("Beta Brokers Inc",)]


def test_brokers_by_state_count_each_broker_once(client):
    rows = client.json("/mouchard/brokers_by_state")
    assert columns(rows, "state", "brokers", "minors", "reproductive_health") == [("CA", 2, 1, 1), ("TX", 1, 0, 0)]


def test_site_profile_gathers_every_section_for_one_site(client, fixture):
    rows = client.json("/mouchard/site_profile", site="news.example")
    sections = [row["section"] for row in rows]
    assert sections.count("visit") == 4
    assert set(sections) == {"visit", "consent", "tracker company", "tracking cookie", "fingerprinting script",
                             "bidder", "id sync", "finding"}
    banner = next(row for row in rows if row["section"] == "consent" and row["phase"] == "initial")
    assert banner["screenshot_file_id"] == fixture.ids["news_screenshot"]
    assert client.json("/mouchard/site_profile", site="nowhere.example") == []


def test_app_profile_gathers_destinations_leaks_and_findings(client):
    rows = client.json("/mouchard/app_profile", app="com.weather.app")
    assert {row["section"] for row in rows} == {"destination", "leak", "cookie", "bidding", "id sync", "finding"}
    bank = client.json("/mouchard/app_profile", app="com.bank.app")
    assert columns(bank, "section", "what") == [("hidden from the proxy", "api.bank.example")]
