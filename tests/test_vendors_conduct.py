"""Declared versus observed per GVL vendor: the `vendor_conduct` rollup and the `vendors.*` audit rules, on a
hand-built database planting each case next to a compliant vendor.

The TC strings were encoded by the IAB's own library (@iabtcf/core 1.5, as tests/data/consent/make_strings does)
from a five-vendor list: `nothing` (what a CMP writes before any choice), `reject` (no consent; legitimate interest
signalled for purposes 2, 3 and 7 and vendor 52; publisher restriction "require consent" on purpose 7 for vendor 52)
and `accept` (consent to purposes 1-10 and vendors 10, 32, 52, 91, 755; its disclosed-vendors segment, from the
CMP's own list, omits vendor 91). `test_the_strings_say_what_the_cases_need` checks each with mouchard's decoder.

Site news.example, one visit per phase:
- initial: Google (755) gets a request with a cookie at 500 ms, before any TC string (read at 800 ms): nothing is
  allowed. It is also reached on a GVL_VENDORS host and on a host of its tracker company (entity), neither listed
  in its disclosure.
- reject (click at 1000 ms): Magnite (52) gets a Prebid bid request at 1500 ms: the reject string (read at 5000 ms)
  is in force from the click; its legitimate interest covers purpose 2 only (7 needs consent by restriction, 3 is
  LI-forbidden): purposes 1 and 7 lack a basis, LI for 3 is signalled. Index Exchange (10) gets a request without
  cookie or body: no data reached it, nothing to say.
- accept (click at 1000 ms): Index Exchange (10) as declared (the compliant control); Xandr (32) sets an undisclosed
  cookie, a cookie kept 400 days (declared 90) and one over the GVL's cookieMaxAgeSeconds, contacts a host its
  disclosure does not list, and gets a bid request with precise coordinates without the special feature 1 opt-in;
  Criteo (91), deleted from the list, disclosure not read, gets a POST although the banner did not disclose it.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audits.engine import evaluate
from audits.rules import catalogue
from audits.rules.base import fingerprint
from mouchard.classification.rollups import BUILDERS
from mouchard.decode.tcf import decode_tc_string
from mouchard.storage.store import Store
from mouchard.vendors.conduct import (
    COOKIES_SQL,
    REQUESTS_SQL,
    Timeline,
    bid_has_precise_geo,
    observe,
    precise_geo,
    rebuild_vendor_conduct,
)
from mouchard.vendors.match import VendorMatcher, clean_domain, eid_sources, gvlids
from mouchard.vendors.registry import load_declared

SITE = "news.example"
NOTHING = "CP60aCAP60aCAAHADBENAqEAAAAAAAAAAAqIAAAAAAAA"
REJECT = "CP60aCAP60aCAAHADBENAqEAAAAAAGIAAAqIAAAA0gAgA0ABHQAQAaAA.IF5wBQAFAAgABoAFsBeY"
ACCEPT = "CP60aCAP60aCAAHADBENAqEAAP_AAEIAAAqIF5wBQAFAAgABoAFsBeYAAAAA.IF5wBAAFAAgABoAvMAAA"
DAY = 86_400


def _vendor(store: Store, list_id: int, vendor_id: int, name: str, purposes, leg_int=(), flexible=(), *,
            status="ok", domains=(), max_age=None, deleted=None, entity=None, items=()) -> None:
    store.insert("vendors", {
        "vendor_list_id": list_id, "vendor_id": vendor_id, "name": name, "purposes": list(purposes),
        "leg_int_purposes": list(leg_int), "flexible_purposes": list(flexible), "special_purposes": [1],
        "features": [], "special_features": [1], "uses_cookies": 1, "cookie_max_age_seconds": max_age,
        "disclosure_status": status, "domains": list(domains), "deleted_date": deleted, "tracker_entity": entity,
        "device_storage_disclosure_url": f"https://vendor{vendor_id}.example/dsd.json"})
    for identifier, domain, seconds in items:
        store.insert("vendor_disclosures", {"vendor_list_id": list_id, "vendor_id": vendor_id,
                                            "identifier": identifier, "type": "cookie", "max_age_seconds": seconds,
                                            "domain": domain, "purposes": [1]})


class Case:
    """The hand-built database; ids of the rows each expectation names."""

    def __init__(self, path, *, vendor_list: bool = True):
        self.store = store = Store(path)
        self.crawl = store.start_crawl("web", command=["mouchard", "crawl"])
        if vendor_list:
            list_id = store.insert("vendor_lists", {"version": 42, "gvl_specification_version": 3,
                                                    "tcf_policy_version": 4, "sha256": "ab" * 32, "vendors": 5})
            _vendor(store, list_id, 10, "Index Exchange", [1, 2, 7], domains=["casalemedia.com"],
                    items=[("CMID", "*.casalemedia.com", 365 * DAY)], max_age=365 * DAY)
            _vendor(store, list_id, 32, "Xandr", [1, 2, 3, 4, 7], domains=["adnxs.com"],
                    items=[("uuid2", "*.adnxs.com", 90 * DAY)], max_age=30 * DAY)
            _vendor(store, list_id, 52, "Magnite", [1], [2, 7], [7], domains=["rubiconproject.com"])
            _vendor(store, list_id, 91, "Criteo", [1, 2, 3, 4], status="failed: HTTP 404",
                    deleted="2024-01-15T00:00:00Z", max_age=390 * DAY)
            _vendor(store, list_id, 755, "Google Advertising Products", [1, 3, 4], [2, 7], domains=["doubleclick.net"],
                    items=[("IDE", ".doubleclick.net", 390 * DAY)], entity="Google")
        self.visits = {phase: self.visit(phase) for phase in ("initial", "reject", "accept")}
        v = self.visits
        # initial: nothing chosen; the CMP's first string is read after Google's first request
        self.consent(v["initial"], "api", NOTHING, 800)
        self.consent(v["initial"], "action", None, 900, action="none")
        self.r_google = self.request(v["initial"], "securepubads.g.doubleclick.net", 500, cookie=True)
        self.request(v["initial"], "pagead2.googlesyndication.com", 600)
        # known only as Google's (the company's one GVL vendor): called, never held to the disclosure
        self.request(v["initial"], "www.gstatic-ads.example", 700, entity="Google")
        self.c_ide = self.cookie(v["initial"], "IDE", ".doubleclick.net", 550, 390, self.r_google)
        # reject
        self.consent(v["reject"], "api", NOTHING, 300)
        self.consent(v["reject"], "action", None, 1000, action="reject", verified=1)
        self.consent(v["reject"], "api", REJECT, 5000)
        self.request(v["reject"], "dsum-sec.casalemedia.com", 1200)
        self.b_magnite = store.insert("rtb", {
            "visit_id": v["reject"], "event": "bidRequested", "library": "prebid", "auction_id": "a1",
            "bidder": "rubicon", "ad_unit": "top", "personal_fields": ["userIdAsEids"],
            "fields": {"elapsed_ms": 1500, "params": {"accountId": 1}, "eid_sources": ["criteo.com"]}})
        # accept
        self.consent(v["accept"], "api", NOTHING, 300)
        self.consent(v["accept"], "action", None, 1000, action="accept", verified=1)
        self.consent(v["accept"], "wire", "not a TC string!", 2500)  # hostile: skipped
        self.consent(v["accept"], "api", ACCEPT, 5000)
        r_ix = self.request(v["accept"], "dsum-sec.casalemedia.com", 2000, cookie=True)
        self.cookie(v["accept"], "CMID", ".casalemedia.com", 2050, 365, r_ix)
        self.r_xandr = self.request(v["accept"], "ib.adnxs.com", 2100, cookie=True)
        self.c_uuid2 = self.cookie(v["accept"], "uuid2", ".adnxs.com", 2150, 400, self.r_xandr)
        self.c_anj = self.cookie(v["accept"], "anj", ".adnxs.com", 2160, 90, self.r_xandr)
        # its frame's localStorage: a key its disclosure (cookies only) does not declare
        self.store.insert("storage_items", {
            "visit_id": v["accept"], "origin": "https://ib.adnxs.com", "site": "adnxs.com", "third_party": 1,
            "kind": "local", "name": "anj_profile", "value": "x", "value_size": 1})
        self.r_simple = self.request(v["accept"], "ib.adnxs-simple.com", 2200)
        self.r_bid = self.request(v["accept"], "ib.adnxs.com", 2250, path="/openrtb2", body=True)
        self.b_geo = store.insert("rtb", {
            "visit_id": v["accept"], "request_id": self.r_bid, "event": "openrtb-request", "library": "openrtb",
            "exchange": "ib.adnxs.com", "bidder": "appnexus", "personal_fields": ["device.ip", "device.geo"],
            "fields": {"device": {"ip": True, "geo": {"lat": 48.85661, "lon": 2.35222, "type": 2}},
                       "user": {"eids": [{"source": "casalemedia.com", "ids": ["x"]}]}}})
        self.r_criteo = self.request(v["accept"], "bidder.criteo.com", 2300, body=True)
        store.finish_crawl(self.crawl)

    def visit(self, phase: str) -> int:
        url = f"https://www.{SITE}/"
        return self.store.insert("visits", {"crawl_id": self.crawl, "key": f"{url}|{phase}", "url": url,
                                            "site": SITE, "phase": phase, "depth": 0, "status": "ok"})

    def consent(self, visit: int, source: str, raw: str | None, time_ms: int, **row) -> int:
        phase = self.store.rows("SELECT phase FROM visits WHERE id = ?", [visit])[0]["phase"]
        return self.store.insert("consent", {"visit_id": visit, "phase": phase, "cmp": "testcmp", "framework": "tcf",
                                             "source": source, "raw": raw, "time_ms": time_ms, **row})

    def request(self, visit: int, host: str, time_ms: int, *, cookie: bool = False, body: bool = False,
                entity: str | None = None, path: str = "/p") -> int:
        site = ".".join(host.split(".")[-2:])
        return self.store.insert("requests", {
            "visit_id": visit, "url": f"https://{host}{path}", "host": host, "site": site,
            "method": "POST" if body else "GET", "third_party": 1, "time_ms": time_ms, "tracker_entity": entity,
            "request_headers": {"Accept": "*/*", **({"Cookie": "id=1"} if cookie else {})},
            "post_body_size": 120 if body else None})

    def cookie(self, visit: int, name: str, domain: str, set_at: int, days: float, request_id: int) -> int:
        return self.store.insert("cookies", {
            "visit_id": visit, "name": name, "value": "v" * 20, "domain": domain,
            "site": domain.lstrip("."), "lifetime_days": min(days, 400), "requested_lifetime_days": days,
            "third_party": 1, "set_by": "header", "request_id": request_id, "set_at_ms": set_at})


@pytest.fixture
def case(tmp_path):
    c = Case(tmp_path / "vendors.db")
    yield c
    c.store.close()


def test_the_strings_say_what_the_cases_need():
    nothing, reject, accept = map(decode_tc_string, (NOTHING, REJECT, ACCEPT))
    assert (nothing["purposes_consent"], nothing["vendor_consents"], nothing["disclosed_vendors"]) == ([], [], None)
    assert (reject["purposes_consent"], reject["purposes_li_transparency"], reject["vendor_legitimate_interests"],
            reject["vendor_consents"]) == ([], [2, 3, 7], [52], [])
    assert reject["publisher_restrictions"] == [{"purpose": 7, "restriction_type": 1, "restriction": "require_consent",
                                                 "vendors": [52]}]
    assert (accept["purposes_consent"], accept["vendor_consents"], accept["disclosed_vendors"],
            accept["special_feature_opt_ins"]) == (list(range(1, 11)), [10, 32, 52, 91, 755], [10, 32, 52, 755], [])


EXPECTED_ROWS = [
    # phase, vendor, matched_by, hosts, requests, cookies, consent, li, tc purposes, undisclosed cookies, longer,
    # undisclosed domains, without basis, forbidden LI, geo, not in list, deleted, verdict
    ("accept", 10, ["disclosure-domain", "known-host", "eid", "tc-string"], ["dsum-sec.casalemedia.com"], 1, 1,
     1, 0, list(range(1, 11)), [], [], [], [], [], 0, 0, 0, "as-declared"),
    ("accept", 32, ["disclosure-domain", "known-host", "bidder", "tc-string"], ["ib.adnxs-simple.com", "ib.adnxs.com"],
     3, 2, 1, 0, list(range(1, 11)), ["anj"],
     [{"name": "anj", "days": 90, "declared_days": 30}, {"name": "uuid2", "days": 400, "declared_days": 90}],
     ["ib.adnxs-simple.com"], [], [], 1, 0, 0, "beyond-declared"),
    ("accept", 91, ["known-host", "tc-string"], ["bidder.criteo.com"], 1, 0, 1, 0, list(range(1, 11)), None, None,
     None, [], [], 0, 1, 1, "beyond-declared"),
    ("initial", 755, ["disclosure-domain", "known-host", "entity"],
     ["pagead2.googlesyndication.com", "securepubads.g.doubleclick.net", "www.gstatic-ads.example"], 3, 1, 0, 0, [],
     [], [], ["pagead2.googlesyndication.com"], [1, 2, 3, 4, 7], [], 0, 0, 0,
     "without-basis"),
    ("reject", 10, ["disclosure-domain", "known-host"], ["dsum-sec.casalemedia.com"], 1, 0, 0, 0, [], [], [], [], [],
     [], 0, 0, 0, "as-declared"),
    ("reject", 52, ["bidder", "tc-string"], [], 0, 0, 0, 1, [], [], [], [], [1, 7], [3], 0, 0, 0, "without-basis"),
]
COLUMNS = ("phase", "vendor_id", "matched_by", "hosts", "requests", "cookies", "consent", "legitimate_interest",
           "tc_string_purposes", "undisclosed_cookies", "longer_cookies", "undisclosed_domains",
           "purposes_without_basis", "forbidden_legitimate_interest", "precise_geo_without_opt_in", "not_in_cmp_list",
           "deleted", "verdict")


def _loads(value):
    return json.loads(value) if isinstance(value, str) and value[:1] in "[{" else value


def test_vendor_conduct_rows_say_declared_versus_observed(case):
    assert BUILDERS["vendor_conduct"] is rebuild_vendor_conduct
    assert rebuild_vendor_conduct(case.store) == len(EXPECTED_ROWS)
    rows = case.store.rows(f"SELECT site, vendor_name, vendor_list_version, evidence, {', '.join(COLUMNS)} "
                           "FROM vendor_conduct ORDER BY phase, vendor_id")
    got = [tuple(_loads(r[c]) for c in COLUMNS) for r in rows]
    assert got == EXPECTED_ROWS
    assert {(r["site"], r["vendor_list_version"]) for r in rows} == {(SITE, 42)}
    assert [r["vendor_name"] for r in rows][:3] == ["Index Exchange", "Xandr", "Criteo"]
    xandr = json.loads(rows[1]["evidence"])
    assert {"table": "cookies", "id": case.c_uuid2} in xandr and {"table": "rtb", "id": case.b_geo} in xandr
    assert {"table": "visits", "id": case.visits["accept"]} in xandr and len(xandr) <= 20
    # rebuilding replaces, never duplicates
    assert rebuild_vendor_conduct(case.store, [case.crawl]) == len(EXPECTED_ROWS)
    assert case.store.count("vendor_conduct") == len(EXPECTED_ROWS)


def test_no_vendor_list_no_rows_and_no_scan(tmp_path):
    c = Case(tmp_path / "none.db", vendor_list=False)
    with c.store as store:
        assert rebuild_vendor_conduct(store) == 0 and observe(store.conn, None) == []
        assert evaluate(store, rules=["vendors.*"]).findings == ()


EXPECTED_FINDINGS = [
    ("vendors.cookie-longer-than-declared", {"vendor": 32, "phase": "accept", "cookies": [
        {"name": "anj", "days": 90.0, "declared_days": 30.0}, {"name": "uuid2", "days": 400.0, "declared_days": 90.0}]}),
    ("vendors.deleted-vendor-called", {"vendor": 91, "phase": "accept", "hosts": ["bidder.criteo.com"]}),
    ("vendors.forbidden-legitimate-interest", {"vendor": 52, "phase": "reject", "purposes": [3]}),
    ("vendors.not-in-cmp-list", {"vendor": 91, "phase": "accept", "hosts": ["bidder.criteo.com"]}),
    ("vendors.precise-geo-without-opt-in", {"vendor": 32, "phase": "accept", "bid_requests": 1}),
    ("vendors.purpose-without-basis", {"vendor": 755, "phase": "initial", "purposes": [1, 2, 3, 4, 7]}),
    ("vendors.purpose-without-basis", {"vendor": 52, "phase": "reject", "purposes": [1, 7]}),
    ("vendors.undisclosed-cookie", {"vendor": 32, "phase": "accept", "cookies": ["anj"]}),
    ("vendors.undisclosed-domain", {"vendor": 32, "phase": "accept", "hosts": ["ib.adnxs-simple.com"]}),
    ("vendors.undisclosed-storage", {"vendor": 32, "phase": "accept", "keys": ["anj_profile"]}),
    ("vendors.undisclosed-domain", {"vendor": 755, "phase": "initial",
                                    "hosts": ["pagead2.googlesyndication.com"]}),
]


def test_vendor_rules_find_each_planted_case_and_nothing_on_the_compliant_vendor(case):
    evaluation = evaluate(case.store, rules=["vendors.*"])
    assert evaluation.errors == ()
    # facts are not stored: the fingerprint hashes rule, subject and facts, so equal fingerprints are equal facts
    found = sorted((f["rule_id"], f["subject"], f["fingerprint"]) for f in evaluation.findings)
    assert found == sorted((rule, SITE, fingerprint(rule, SITE, facts)) for rule, facts in EXPECTED_FINDINGS)
    assert {r.id for r in catalogue() if r.id.startswith("vendors.")} == {rule for rule, _ in EXPECTED_FINDINGS}
    by_rule = {(f["rule_id"], f["visit_id"]): f for f in evaluation.findings}
    geo = by_rule[("vendors.precise-geo-without-opt-in", case.visits["accept"])]
    assert "Xandr [GVL vendor 32]" in geo["detail"] and "Global Vendor List version 42" in geo["detail"]
    assert {"table": "rtb", "id": case.b_geo} in geo["evidence"]
    basis = by_rule[("vendors.purpose-without-basis", case.visits["initial"])]
    assert {"table": "requests", "id": case.r_google} in basis["evidence"]
    assert {"table": "cookies", "id": case.c_ide} in basis["evidence"]
    longer = by_rule[("vendors.cookie-longer-than-declared", case.visits["accept"])]
    assert {r["id"] for r in longer["evidence"] if r["table"] == "cookies"} == {case.c_uuid2, case.c_anj}
    assert "uuid2 for 400 days (declared: 90)" in longer["detail"]
    for f in evaluation.findings:
        assert f["legal_reference"] and f["crawl_id"] == case.crawl
        for ref in f["evidence"]:
            assert case.store.count(ref["table"], "id = ?", [ref["id"]]) == 1


def test_french_jurisdiction_cites_the_cnil(case):
    evaluation = evaluate(case.store, rules=["vendors.*"], jurisdiction="fr")
    assert len(evaluation.findings) == len(EXPECTED_FINDINGS)
    assert all("2020-091" in f["legal_reference"] for f in evaluation.findings)


def test_strings_read_before_the_click_apply_only_before_it():
    line = Timeline(strings=[(300.0, 1, {"n": "before"}), (5000.0, 2, {"n": "after"}), (6000.0, 3, {"n": "later"})],
                    action_ms=1000.0, tcf=True)
    assert line.in_force(200) is None
    assert line.in_force(500)[0] == 1
    assert line.in_force(1000)[0] == 2  # from the click on: the choice it made, read later
    assert line.in_force(5500)[0] == 2 and line.in_force(7000)[0] == 3 and line.in_force(None)[0] == 3
    assert Timeline(strings=[(300.0, 1, {})], action_ms=1000.0).in_force(2000) is None


@pytest.mark.parametrize("geo, precise", [
    ({"lat": 48.85661, "lon": 2.35222}, True), ({"lat": 48.857, "lon": 2.352}, True),
    ({"lat": 48.86, "lon": 2.35}, False), ({"lat": 48.86, "lon": 2.35, "type": 1}, True),
    ({"lat": "48.8566", "lon": "2.3522"}, True), ({"zip": "75001"}, False), ({"lat": True, "lon": 2.35222}, False),
    ({"lat": 1e-5, "lon": 2.35222}, True), ({"lat": float("nan"), "lon": 1.0}, False), (None, False),
])
def test_precise_coordinates(geo, precise):
    assert precise_geo(geo) is precise


def test_matching_helpers(case):
    declared = load_declared(case.store.conn)
    matcher = VendorMatcher(declared, declared.entities)
    assert matcher.host("ib.adnxs.com") == {32: {"disclosure-domain", "known-host"}}
    assert matcher.host("x.adnxs-simple.com") == {32: {"known-host"}}
    assert matcher.bidder("rubicon,appnexus") == {52: {"bidder"}, 32: {"bidder"}}
    assert matcher.bidder("unknown", {"params": {"gvlid": 91}}) == {91: {"bidder"}}
    assert matcher.entity("Google") == {755: {"entity"}} and matcher.host("tracker.unknown.example") == {}
    assert matcher.eids({"user": {"eids": [{"source": "https://casalemedia.com/"}]}}) == {10: {"eid"}}
    assert clean_domain("*.Example.COM") == "example.com" and clean_domain("*") == "" and clean_domain(7) == ""
    assert gvlids('{"gvlid": "12"}') == [12] and eid_sources("not json") == []


hostile_text = st.one_of(st.none(), st.text(max_size=200), st.binary(max_size=50).map(lambda b: b.decode("latin-1")),
                         st.sampled_from([NOTHING, REJECT, ACCEPT, ACCEPT[:30], "CP" + "_" * 400, "[1,2]", "{}"]))
json_values = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20)),
                           lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                   st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                           max_leaves=20)
json_text = st.one_of(hostile_text, json_values.map(lambda v: json.dumps(v)),
                      st.fixed_dictionaries({"device": st.fixed_dictionaries({"geo": json_values}),
                                             "user": json_values, "gvlid": json_values, "params": json_values,
                                             "eid_sources": json_values}).map(json.dumps))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=hostile_text, decoded=json_text, fields=json_text, personal=json_text, bidder=hostile_text,
       exchange=hostile_text, headers=json_text, domain=hostile_text)
def test_observe_never_raises_on_hostile_consent_and_rtb_rows(case, raw, decoded, fields, personal, bidder, exchange,
                                                              headers, domain):
    v = case.visits["accept"]
    inserted = [("consent", case.store.insert("consent", {"visit_id": v, "phase": "accept", "framework": "tcf",
                                                          "source": "wire", "raw": raw, "decoded": decoded,
                                                          "time_ms": 2400})),
                ("rtb", case.store.insert("rtb", {"visit_id": v, "event": "openrtb-request", "bidder": bidder,
                                                  "exchange": exchange, "fields": fields, "personal_fields": personal})),
                ("requests", case.store.insert("requests", {"visit_id": v, "host": "ib.adnxs.com", "site": "adnxs.com",
                                                            "request_headers": headers, "time_ms": 2600})),
                ("cookies", case.store.insert("cookies", {"visit_id": v, "name": raw, "domain": domain,
                                                          "site": "adnxs.com", "requested_lifetime_days": 1e308}))]
    try:
        conducts = observe(case.store.conn, [case.crawl])
        assert {c.verdict for c in conducts} <= {"without-basis", "beyond-declared", "as-declared", "not-comparable"}
        assert isinstance(bid_has_precise_geo(personal, fields), bool)
    finally:
        for table, row_id in inserted:
            case.store.conn.execute(f"DELETE FROM {table} WHERE id = ?", (row_id,))
        case.store.conn.commit()


def test_requests_and_cookies_are_read_by_index_never_scanned(case):
    conn = case.store.conn
    conn.execute("ANALYZE")  # statistics of a tiny database tempt the planner to scan: the query must not let it
    for table in ("vendor_conduct_sites (site TEXT PRIMARY KEY)", "vendor_conduct_entities (entity TEXT PRIMARY KEY)",
                  "vendor_conduct_requests (id INTEGER PRIMARY KEY)"):
        conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS {table}")
    conn.execute("PRAGMA automatic_index = OFF")  # as conduct._indexed_rows runs them
    try:
        for sql in (REQUESTS_SQL, COOKIES_SQL):
            plan = [row[-1] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, {"crawl": case.crawl})]
            assert not [step for step in plan if step.startswith(("SCAN r", "SCAN c", "SCAN v"))
                        or "AUTOMATIC" in step], plan
    finally:
        conn.execute("PRAGMA automatic_index = ON")
    assert rebuild_vendor_conduct(case.store) == len(EXPECTED_ROWS)
    assert conn.execute("PRAGMA automatic_index").fetchone()[0] == 1  # the connection's setting is given back
