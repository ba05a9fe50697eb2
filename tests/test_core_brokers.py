"""Pure logic of mouchard/classification/brokers.py: registry cells (declarations, numbers, websites), header normal form,
broker keys across snapshots, individuals' emails, snapshot diffs, links from brokers to tracker entities."""

from __future__ import annotations

import pytest

from mouchard.classification.brokers import (BrokerRecord, assign_keys, broker_key, diff_snapshots, email_personal,
                              normalise_header, parse_number, slug, split_websites, yes_no)


@pytest.mark.parametrize("value, expected", [
    ("Yes", "yes"), (" no ", "no"), ("", "unknown"), (None, "unknown"), ("N/A", "unknown"), ("Oui", "yes"),
    ("0", "unknown"), ("Maybe", "unknown")])
def test_blank_declaration_is_unknown_not_no(value, expected):
    assert yes_no(value) == expected


def test_headers_lose_their_spaces_quotes_and_case():
    assert normalise_header("The data broker collects consumers\u2019 precise geolocation:\u00a0") == \
        "the data broker collects consumers' precise geolocation"


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


def test_brokers_link_to_tracker_entities_from_lists_then_crawl_data(tmp_path):
    from mouchard.classification.brokers import link_tracker_entities
    from mouchard.classification.classify import default_classifier
    from mouchard.storage.store import Store

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
