"""mouchard.me.received: what each organisation received about the person, from small private databases."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mouchard.errors import UserError
from mouchard.identify.leakdetect import LeakDetector
from mouchard.me.model import Company, Contact, Person, Received
from mouchard.me.organisations import MAX_ITEMS
from mouchard.me.received import (
    MAX_EVIDENCE,
    MAX_RECIPIENTS,
    TEXT_LIMIT,
    analyse,
    company_key,
    hashed_value,
    load_companies,
    position_value,
    rebuild,
)
from mouchard.storage.private import mark_private
from mouchard.storage.store import Store

EMAIL = "jean.dupont.mouchard@example.org"
GAID = "38400000-8cf0-11bd-b23e-10b96e40000d"
PERSON = Person(name="Jean Dupont-Mouchard", email=EMAIL,
                identifiers=(("advertising_id", GAID), ("email", EMAIL), ("phone", "+33612345678")),
                position=(48.85837, 2.29448))
T1 = "2026-12-06T10:00:00.000Z"
T2 = "2026-12-07T11:00:00.000Z"
UUID2 = "6446f541e7fc4721b924bca6bc13ca35"


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "me.db")
    yield s
    s.close()


def visit(store: Store, phase: str, *, site: str = "example-news.fr", started: str = T1) -> int:
    return store.insert("visits", {"url": f"https://www.{site}/", "site": site, "phase": phase, "started_at": started,
                                   "status": "ok"})


def flow(store: Store, app: str, host: str, **extra) -> int:
    return store.insert("flows", {"app": app, "app_source": "pcapdroid", "started_at": T1, "kind": "http",
                                  "host": host, "site": host, **extra})


def cookie(store: Store, visit_id: int | None, name: str, value: str, domain: str, entity: str | None,
           third_party: int = 1, **extra) -> int:
    row = {"visit_id": visit_id, "name": name, "value": value, "domain": domain, "site": domain.lstrip("."),
           "third_party": third_party, "identifier": 1, "tracker_entity": entity,
           "tracker_list": f"mouchard: {domain.lstrip('.')}" if entity else None,
           "setter_url": f"https://{domain.lstrip('.')}/set", **extra}  # seen set in the visit, unless told
    return store.insert("cookies", row)


def only(companies: list[Company], name: str) -> Company:
    found = [c for c in companies if c.name == name]
    assert len(found) == 1, [c.name for c in companies]
    return found[0]


def test_refused_uuid2_cookie_on_adnxs_is_one_received_item(store):
    v = visit(store, "reject")
    cookie(store, v, "session_id", "s-7f3a", "www.example-news.fr", None, third_party=0)  # the site itself
    cid = cookie(store, v, "uuid2", UUID2, ".adnxs.com", "Microsoft")
    assert analyse(store.conn, PERSON) == [Company(
        key="microsoft", name="Microsoft", domains=("adnxs.com",), sources=("trackers:mouchard",),
        received=(Received(kind="cookie", name="uuid2", value=UUID2, host="adnxs.com", source="example-news.fr",
                           source_kind="site", first_seen=T1, last_seen=T1, times=1, consent="refused",
                           evidence=(("cookies", cid),)),))]


def test_consent_state_follows_phase_and_cmp(store):
    for phase, cmp in (("initial", False), ("initial", True), ("accept", True), ("gpc", False),
                       ("revoke", True), ("second-site", False)):
        v = visit(store, phase, site=f"{phase}-{int(cmp)}.fr")
        if cmp:
            store.insert("consent", {"visit_id": v, "phase": phase, "framework": "tcf", "source": "api",
                                     "name": "__tcfapi"})
        cookie(store, v, "uuid2", f"{phase}-{int(cmp)}", ".adnxs.com", "Microsoft")
    received = only(analyse(store.conn, PERSON), "Microsoft").received
    assert {r.value: r.consent for r in received} == {
        "initial-0": "none-asked", "initial-1": "no-choice", "accept-1": "accepted", "gpc-0": "gpc",
        "revoke-1": "withdrawn", "second-site-0": "refused"}


def test_sha256_email_leak_is_email_hash_with_exact_hex(store):
    v = visit(store, "accept")
    f = flow(store, "com.example.maps", "t.sdk-two.test")
    store.insert("leaks", {"visit_id": v, "identifier": "email", "chain": "json:$.user.em>sha256", "location": "body",
                           "field": "$.user.em", "destination_host": "connect.facebook.net",
                           "destination_site": "facebook.net", "third_party": 1, "tracker_entity": "Meta",
                           "tracker_list": "mouchard: facebook.net"})
    store.insert("leaks", {"flow_id": f, "identifier": "advertising_id", "chain": "json:$.device.ifa",
                           "location": "body", "field": "$.device.ifa", "destination_host": "t.sdk-two.test",
                           "destination_site": "t.sdk-two.test", "third_party": 1})
    store.insert("leaks", {"flow_id": f, "identifier": "location", "chain": "query>decimals:3", "location": "query",
                           "field": "ll", "destination_host": "t.sdk-two.test", "destination_site": "t.sdk-two.test",
                           "third_party": 1, "precision_m": 61.5})
    companies = analyse(store.conn, PERSON)
    assert [c.name for c in companies] == ["Meta", "t.sdk-two.test"]
    meta, sdk = companies
    assert [(r.kind, r.name, r.value, r.host, r.consent) for r in meta.received] == [
        ("email_hash", "$.user.em", hashlib.sha256(EMAIL.encode()).hexdigest(), "connect.facebook.net", "accepted")]
    assert [(r.kind, r.name, r.value, r.source, r.source_kind, r.consent, r.precision_m) for r in sdk.received] == [
        ("advertising_id", "$.device.ifa", GAID, "com.example.maps", "app", None, None),
        ("location", "ll", "48.858, 2.294", "com.example.maps", "app", None, 61.5)]


def test_hashed_value_is_the_detectors_needle():
    """The hash quoted is the one the leak detector found: same normal forms (gmail canonical), same encodings."""
    email = "Jean.Dupont+news@gmail.com"
    sent = hashlib.sha256(b"jeandupont@gmail.com").hexdigest()
    [match] = LeakDetector({"email": [email]}).scan_http(
        "https://t.example/c", [("Content-Type", "application/json")], json.dumps({"em": sent}).encode(),
        "application/json")
    assert match.chain == "json:$.em>sha256>gmail-canonical"
    assert hashed_value("email", email, match.chain) == sent
    assert hashed_value("email", email, "json:$.em>md5") == hashlib.md5(email.lower().encode()).hexdigest()
    assert hashed_value("email", email, "json:$.em") is None


def test_position_value_follows_the_chain():
    assert position_value((48.85837, 2.29448), "json:$.lat>decimals:2") == "48.86, 2.29"
    assert position_value((48.85837, 2.29448), "query>e7") == "488583700, 22944800"
    assert position_value((48.85837, 2.29448), "path>geohash:7") == "u09tunq"
    assert position_value((48.85837, 2.29448), "body") == "48.85837, 2.29448"
    assert position_value(None, "body") is None


def test_exchange_lists_auction_bidders_as_recipients(store):
    v = visit(store, "accept", site="pub-infidele.fr")
    cookie(store, v, "uuid2", UUID2, ".adnxs.com", "Microsoft")  # names adnxs.com's company for the bidder code
    fields = {"device": {"geo": {"lat": 48.856614, "lon": 2.352222}, "ifa": True},
              "user": {"buyeruid": "ox-buyer-42", "eids": []},
              "imps": [{"bidders": ["openx", "appnexus", "ix"]}]}
    rid = store.insert("rtb", {"visit_id": v, "event": "openrtb-request", "library": "openrtb",
                               "auction_id": "auction-1", "bidder": "openx", "exchange": "rtb.openx.net",
                               "personal_fields": json.dumps(["device.geo", "user.buyeruid", "device.ifa"]),
                               "fields": json.dumps(fields), "tracker_entity": "OpenX", "tracker_list": "mouchard"})
    store.insert("rtb", {"visit_id": v, "event": "bidResponse", "library": "openrtb", "auction_id": "auction-1",
                         "bidder": "triplelift", "fields": "{}"})
    openx = only(analyse(store.conn, PERSON), "OpenX")
    bidders = ("Index Exchange", "Microsoft", "TripleLift")
    assert openx.recipients == bidders
    assert [(r.kind, r.name, r.value, r.host, r.recipients, r.evidence) for r in openx.received] == [
        ("bid_field", "device.geo", "48.856614, 2.352222", "rtb.openx.net", bidders, (("rtb", rid),)),
        ("bid_field", "device.ifa", None, "rtb.openx.net", bidders, (("rtb", rid),)),
        ("bid_field", "user.buyeruid", "ox-buyer-42", "rtb.openx.net", bidders, (("rtb", rid),))]


def test_id_sync_gives_the_receiver_the_cookie_value(store):
    v = visit(store, "reject")
    cid = cookie(store, v, "uuid2", UUID2, ".adnxs.com", "Microsoft")
    sid = store.insert("id_syncs", {"visit_id": v, "cookie_id": cid, "from_site": "adnxs.com",
                                    "from_entity": "Microsoft", "to_site": "rubiconproject.com",
                                    "to_entity": "Magnite", "identifier_name": "uuid2",
                                    "identifier_sha256": hashlib.sha256(UUID2.encode()).hexdigest(),
                                    "location": "redirect", "parameter": "put"})
    magnite, microsoft = analyse(store.conn, PERSON)
    assert magnite.received == (Received(
        kind="id_sync", name="uuid2", value=UUID2, host="rubiconproject.com", source="example-news.fr",
        source_kind="site", first_seen=T1, last_seen=T1, consent="refused", evidence=(("id_syncs", sid),)),)
    assert microsoft.recipients == ("Magnite",)
    assert microsoft.received[0].recipients == ("Magnite",)


def gvl(store: Store) -> None:
    list_id = store.insert("vendor_lists", {"version": 120, "last_updated": "2026-12-01T00:00:00Z",
                                            "fetched_at": T1})
    store.insert("vendors", {"vendor_list_id": list_id, "vendor_id": 755, "name": "Google Advertising Products",
                             "purposes": "[1, 3, 4]", "leg_int_purposes": "[2, 7]", "domains": '["doubleclick.net"]',
                             "tracker_entity": "Google"})
    store.insert("vendors", {"vendor_list_id": list_id, "vendor_id": 69, "name": "OpenX", "purposes": "[1]",
                             "leg_int_purposes": "[]", "tracker_entity": "OpenX"})


def test_gvl_vendor_gets_its_id_and_legitimate_interest_purposes(store):
    gvl(store)
    v = visit(store, "accept")
    cookie(store, v, "IDE", "AHWqTU88a5ec", ".doubleclick.net", "Google")
    # An exchange known only by its host is named after its GVL vendor.
    f = flow(store, "com.example.game", "rtb.openx.net")
    store.insert("leaks", {"flow_id": f, "identifier": "advertising_id", "chain": "json:$.device.ifa",
                           "field": "$.device.ifa", "destination_host": "rtb.openx.net", "third_party": 1})
    google, openx = analyse(store.conn, PERSON)
    assert (google.name, google.gvl_vendor_id, google.leg_int_purposes, google.sources) == (
        "Google", 755, (2, 7), ("gvl:755", "trackers:mouchard"))
    assert (openx.name, openx.gvl_vendor_id, openx.leg_int_purposes, openx.sources) == (
        "OpenX", 69, (), ("gvl:69",))


def test_california_broker_gets_ccpa(store):
    snap = store.insert("registry_snapshots", {"registry": "ca", "year": 2026})
    store.insert("brokers", {"snapshot_id": snap, "registry": "ca", "year": 2026, "key": "courtier discret",
                             "name": "Courtier Discret SAS", "website": "https://www.courtier-discret.fr",
                             "websites": '["https://www.courtier-discret.fr"]', "site": "courtier-discret.fr"})
    f = flow(store, "com.example.maps", "api.courtier-discret.fr")
    store.insert("leaks", {"flow_id": f, "identifier": "phone", "chain": "query", "field": "tel",
                           "destination_host": "api.courtier-discret.fr", "third_party": 1})
    [broker] = analyse(store.conn, PERSON)
    assert (broker.key, broker.name, broker.broker_registries, broker.regimes, broker.sources, broker.domains) == (
        "courtier-discret-sas", "Courtier Discret SAS", ("ca",), ("gdpr", "ccpa"), ("broker:ca", "domain"),
        ("courtier-discret.fr",))
    assert [(r.kind, r.name, r.value) for r in broker.received] == [("phone", "tel", "+33612345678")]


def test_page_views_and_app_connections(store):
    v = visit(store, "initial")
    for rid in range(3):
        store.insert("requests", {"visit_id": v, "url": f"https://trc.taboola.com/{rid}", "host": "trc.taboola.com",
                                  "site": "taboola.com", "third_party": 1, "tracker_entity": "Taboola",
                                  "tracker_list": "mouchard: taboola.com"})
    store.insert("requests", {"visit_id": v, "url": "https://cdn.example-news.fr/a.js", "host": "cdn.example-news.fr",
                              "site": "example-news.fr", "third_party": 0})  # the site's own
    store.insert("requests", {"visit_id": v, "url": "https://fonts.example-cdn.org/f", "host": "fonts.example-cdn.org",
                              "site": "example-cdn.org", "third_party": 1})  # no company received anything else
    fid = flow(store, "com.example.game", "metrics.example-sdk.com", kind="report", hits=12,
               report=json.dumps({"domain_owner": "Example SDK Inc.", "last_seen": T2}))
    flow(store, "com.example.game", "127.0.0.1", kind="quic")
    taboola, sdk = sorted(analyse(store.conn, PERSON), key=lambda c: c.name != "Taboola")
    assert taboola.received == (Received(
        kind="page_view", name=None, value="https://www.example-news.fr/", host="trc.taboola.com",
        source="example-news.fr", source_kind="site", first_seen=T1, last_seen=T1, times=3, consent="none-asked",
        evidence=(("requests", 1),)),)
    assert (sdk.name, sdk.sources) == ("Example SDK Inc.", ("app-report",))
    assert sdk.received == (Received(
        kind="connection", name=None, value=None, host="metrics.example-sdk.com", source="com.example.game",
        source_kind="app", first_seen=T1, last_seen=T2, times=12, evidence=(("flows", fid),)),)


def test_since_keeps_items_last_seen_after_it(store):
    cookie(store, visit(store, "reject", started=T1), "uuid2", "old", ".adnxs.com", "Microsoft")
    cookie(store, visit(store, "reject", started=T2), "uuid2", "new", ".adnxs.com", "Microsoft")
    assert [r.value for r in only(analyse(store.conn, PERSON, since="2026-12-07"), "Microsoft").received] == ["new"]
    assert analyse(store.conn, PERSON, since="2026-12-08T00:00:00Z") == []
    with pytest.raises(UserError):
        analyse(store.conn, PERSON, since="last tuesday")


def test_items_per_company_are_capped_identifier_cookies_first(store):
    v = visit(store, "reject")
    store.insert_many("cookies", ({"visit_id": v, "name": f"c{n}", "value": str(n), "domain": ".adnxs.com",
                                   "site": "adnxs.com", "third_party": 1, "identifier": int(n == 599),
                                   "tracker_entity": "Microsoft", "setter_url": "https://ib.adnxs.com/"}
                                  for n in range(600)))
    stats: dict = {}
    [microsoft] = analyse(store.conn, PERSON, stats=stats)
    assert len(microsoft.received) == MAX_ITEMS and stats == {"items_dropped": 600 - MAX_ITEMS}
    assert microsoft.received[0].name == "c599"


def test_rebuild_replaces_rows_and_load_companies_round_trips(store):
    with pytest.raises(UserError):
        rebuild(store, PERSON, resolve=lambda conn, company: Contact())
    mark_private(store, {"name": PERSON.name, "email": EMAIL, "country": "FR", "language": "fr"})
    gvl(store)
    v = visit(store, "reject")
    cid = cookie(store, v, "uuid2", UUID2, ".adnxs.com", "Microsoft")
    cookie(store, v, "IDE", "AHWqTU88a5ec", ".doubleclick.net", "Google")
    store.insert("id_syncs", {"visit_id": v, "cookie_id": cid, "from_site": "adnxs.com", "from_entity": "Microsoft",
                              "to_site": "rubiconproject.com", "to_entity": "Magnite", "identifier_name": "uuid2"})

    db = store.insert("me_contact_sources", {"source": "datenanfragen", "url": "https://example.org/companies.json",
                                             "fetched_at": T2, "licence": "CC0-1.0"})

    def resolve(conn: sqlite3.Connection, company: Company) -> Contact:
        if company.gvl_vendor_id:
            return Contact(email=f"privacy@{company.key}.example", source="gvl")
        if company.name == "Microsoft":
            return Contact(email="privacy@microsoft.example", address="One Microsoft Way\nRedmond",
                           source="datenanfragen", source_id=db, source_url="https://example.org/companies.json",
                           fetched_at=T2)
        return Contact()

    built = rebuild(store, PERSON, resolve=resolve)
    assert [(c.name, c.id, c.contact.email) for c in built] == [
        ("Google", 1, "privacy@google.example"), ("Magnite", 2, None), ("Microsoft", 3, "privacy@microsoft.example")]
    assert load_companies(store.conn) == built
    again = rebuild(store, PERSON, resolve=resolve)
    assert load_companies(store.conn) == again
    assert store.count("me_companies") == 3 and store.count("me_received") == 3
    row = store.rows("SELECT items, first_seen, recipients, contact_source FROM me_companies WHERE key = 'microsoft'")
    assert row == [{"items": 1, "first_seen": T1, "recipients": '["Magnite"]', "contact_source": "datenanfragen"}]


def test_company_key():
    assert company_key("Microsoft (Xandr)") == "microsoft-xandr"
    assert company_key("Société Générale") == "societe-generale"
    assert company_key("ads.tracker-one.test") == "ads-tracker-one-test"
    assert company_key("腾讯") == "org-" + hashlib.sha256("腾讯".encode()).hexdigest()[:12]


# -- hostile databases --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def template(tmp_path_factory):
    path = tmp_path_factory.mktemp("me") / "template.db"
    with Store(path) as s:
        mark_private(s, {"name": PERSON.name, "email": EMAIL})
    return path


HOSTILE = st.one_of(st.text(max_size=40), st.text(alphabet="\x00\ud7ff\U0001f600[]{}\",:.>", max_size=20),
                    st.sampled_from(["[", "{\"a\":", "[\"device.geo\"]", "x" * 200_000, "1e999", "null",
                                     "{\"device\": {\"geo\": {\"lat\": 1e308, \"lon\": \"x\"}}}", ".adnxs.com",
                                     "json:$.a>sha256", "decimals:99", "geohash:99", "reject", "initial"]),
                    st.integers(), st.floats(), st.none(), st.binary(max_size=20),
                    st.just(b"\xff\xfe invalid UTF-8"))
COLUMNS = {
    "visits": ("id", "url", "site", "phase", "started_at"),
    "consent": ("visit_id", "cmp", "framework", "cmp_id"),
    "flows": ("id", "app", "started_at", "host", "hits", "report", "tracker_entity", "tracker_list"),
    "cookies": ("id", "visit_id", "flow_id", "name", "value", "domain", "site", "third_party", "identifier",
                "tracker_entity", "tracker_list"),
    "leaks": ("visit_id", "flow_id", "identifier", "chain", "field", "destination_host", "destination_site",
              "third_party", "precision_m", "tracker_entity", "tracker_list"),
    "rtb": ("visit_id", "flow_id", "auction_id", "bidder", "exchange", "personal_fields", "fields", "tracker_entity"),
    "id_syncs": ("visit_id", "flow_id", "cookie_id", "from_site", "from_entity", "to_site", "to_entity",
                 "identifier_name"),
    "requests": ("visit_id", "host", "site", "third_party", "tracker_entity", "tracker_list"),
    "brokers": ("registry", "site", "websites", "tracker_entity", "name"),
    "vendor_lists": ("id", "version"),
    "vendors": ("vendor_list_id", "vendor_id", "name", "leg_int_purposes", "domains", "tracker_entity",
                "disclosure_status"),
}


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(st.data())
def test_hostile_columns_never_raise_and_stay_bounded(template, tmp_path, data):
    path = tmp_path / "hostile.db"
    shutil.copyfile(template, path)
    with Store(path) as store:
        conn = store.conn
        conn.execute("PRAGMA foreign_keys = OFF")
        for table, columns in COLUMNS.items():
            for n in range(data.draw(st.integers(0, 3))):
                # ids mostly point at the other hostile rows, so the joins are exercised too
                values = [data.draw(st.one_of(st.integers(1, 3), HOSTILE) if c.endswith("_id") else HOSTILE)
                          for c in columns]
                if columns[0] == "id":
                    values[0] = n + 1 if data.draw(st.booleans()) else values[0]
                try:
                    conn.execute(f"INSERT INTO [{table}] ({', '.join(columns)}) "
                                 f"VALUES ({', '.join('?' * len(columns))})", values)
                except (sqlite3.Error, OverflowError):
                    pass  # a duplicate id, or an integer SQLite cannot hold
                conn.execute(f"UPDATE [{table}] SET [{columns[-1]}] = CAST(X'FF41' AS TEXT) "
                             f"WHERE rowid = ?", (data.draw(st.integers(0, 4)),))
        companies = analyse(conn, PERSON)
        assert companies == sorted(companies, key=lambda c: (c.name.casefold(), c.key))
        for company in companies:
            assert len(company.recipients) <= MAX_RECIPIENTS
            for item in company.received:
                assert len(item.value or "") <= TEXT_LIMIT and len(item.name or "") <= TEXT_LIMIT
                assert len(item.evidence) <= MAX_EVIDENCE and len(item.recipients) <= MAX_RECIPIENTS
        built = rebuild(store, PERSON, resolve=lambda conn, company: Contact())
        assert load_companies(conn) == built


def test_a_jar_cookie_counts_only_where_the_visit_reached_its_site(store):
    """In a person's own profile the jar holds every site's cookies: one counts for a visit that saw it set or
    reached its site (the browser sent it), not for a visit that never did."""
    crawl = store.start_crawl("web")
    quiet = store.insert("visits", {"crawl_id": crawl, "key": "initial https://www.quiet.fr/", "url": "https://www.quiet.fr/",
                                    "site": "quiet.fr", "phase": "initial", "status": "ok",
                                    "started_at": "2026-12-06T10:00:00Z"})
    busy = store.insert("visits", {"crawl_id": crawl, "key": "initial https://www.busy.fr/", "url": "https://www.busy.fr/",
                                   "site": "busy.fr", "phase": "initial", "status": "ok",
                                   "started_at": "2026-12-06T11:00:00Z"})
    store.insert("requests", {"visit_id": busy, "url": "https://ib.adnxs.com/ut/v3", "host": "ib.adnxs.com",
                              "site": "adnxs.com", "tracker_entity": "Microsoft"})
    for visit in (quiet, busy):
        cookie(store, visit, "uuid2", UUID2, ".adnxs.com", "Microsoft", setter_url=None)
    items = [r for c in analyse(store.conn, PERSON) for r in c.received if r.kind == "cookie"]
    assert [(r.name, r.value, r.source) for r in items] == [("uuid2", UUID2, "busy.fr")]


def test_an_earlier_choice_kept_in_the_person_s_profile_is_the_consent_state(store):
    """`me crawl` in the person's own profile clicks nothing: a TC string already in force as the page loaded is
    their own earlier choice (any purpose consented: accepted; none: refused); a banner shown is still no choice."""
    cases = {"earlier-yes": ("tcloaded", [1, 2, 3]), "earlier-no": ("tcloaded", []),
             "banner": ("cmpuishown", None), "cookie-yes": (None, [1])}
    for label, (event, purposes) in cases.items():
        v = visit(store, "initial", site=f"{label}.fr")
        decoded = json.dumps({"purposes_consent": purposes}) if purposes is not None else None
        store.insert("consent", {"visit_id": v, "phase": "initial", "framework": "tcf",
                                 "source": "api" if event else "cookie", "event_status": event, "decoded": decoded,
                                 "cmp": "didomi"})
        cookie(store, v, "uuid2", label, ".adnxs.com", "Microsoft")
    received = only(analyse(store.conn, PERSON), "Microsoft").received
    assert {r.value: r.consent for r in received} == {"earlier-yes": "accepted", "earlier-no": "refused",
                                                       "banner": "no-choice", "cookie-yes": "accepted"}
