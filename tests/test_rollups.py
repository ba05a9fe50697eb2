"""The per-site rollup `site_summary`: equal to a direct GROUP BY, rebuilt by classify and audits, read by index."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings, strategies as st

from data.datasette.fixtures import build
from mouchard.classification import rollups
from mouchard.classification.rollups import rebuild, site_summaries
from mouchard.storage.store import Store, connect_readonly

# Every count of the rollup, computed again here in one direct GROUP BY per table over the whole database.
DIRECT = {
    "requests": """SELECT v.crawl_id, v.site, count(*) AS requests, sum(r.third_party = 1) AS third_party_requests,
                          sum(r.third_party = 1 AND r.tracker_entity IS NOT NULL) AS tracker_requests,
                          count(DISTINCT CASE WHEN r.third_party = 1 THEN r.tracker_entity END) AS tracker_entities,
                          count(DISTINCT CASE WHEN r.third_party = 1 AND r.tracker_category = 'advertising'
                                THEN r.tracker_entity END) AS advertising_entities
                   FROM requests r JOIN visits v ON v.id = r.visit_id
                   WHERE v.status IN ('ok', 'partial') GROUP BY v.crawl_id, v.site""",
    "cookies": """SELECT v.crawl_id, v.site,
                         sum(c.identifier = 1 AND (c.tracker_entity IS NOT NULL OR c.third_party = 1))
                             AS tracking_cookies,
                         sum(c.identifier = 1 AND (c.tracker_entity IS NOT NULL OR c.third_party = 1)
                             AND c.before_consent = 1) AS tracking_cookies_before_consent,
                         sum(c.tracker_category = 'advertising') AS advertising_cookies
                  FROM cookies c JOIN visits v ON v.id = c.visit_id
                  WHERE v.status IN ('ok', 'partial') GROUP BY v.crawl_id, v.site""",
    "rtb": """SELECT v.crawl_id, v.site, count(DISTINCT b.auction_id) AS auctions, count(DISTINCT b.bidder) AS bidders
              FROM rtb b JOIN visits v ON v.id = b.visit_id
              WHERE v.status IN ('ok', 'partial') GROUP BY v.crawl_id, v.site""",
    "findings": """SELECT v.crawl_id, v.site, count(*) AS findings, sum(f.severity = 'high') AS high_findings
                   FROM findings f JOIN visits v ON v.id = f.visit_id GROUP BY v.crawl_id, v.site""",
    "id_syncs": """SELECT v.crawl_id, v.site, count(*) AS id_syncs FROM id_syncs s JOIN visits v ON v.id = s.visit_id
                   WHERE v.status IN ('ok', 'partial') GROUP BY v.crawl_id, v.site""",
}


@pytest.fixture(scope="module")
def fixture(tmp_path_factory):
    return build(tmp_path_factory.mktemp("rollups") / "mouchard.db", hostile=True)


def _summary(path) -> dict[tuple[int, str], dict]:
    conn = connect_readonly(path)
    conn.row_factory = lambda cursor, row: dict(zip([d[0] for d in cursor.description], row))
    try:
        return {(r["crawl_id"], r["site"]): r for r in conn.execute("SELECT * FROM site_summary")}
    finally:
        conn.close()


def test_rollup_equals_a_direct_group_by(fixture):
    summary = _summary(fixture.path)
    conn = connect_readonly(fixture.path)
    conn.row_factory = lambda cursor, row: dict(zip([d[0] for d in cursor.description], row))
    checked = 0
    for sql in DIRECT.values():
        for row in conn.execute(sql):
            key = (row.pop("crawl_id"), row.pop("site"))
            assert {k: summary[key][k] for k in row} == {k: v or 0 for k, v in row.items()}, key
            checked += 1
    conn.close()
    # requests: 3 sites + 6 hostile ones; cookies: 2 + 6; bids: 1; findings: news.example + 6 hostile; syncs: 1
    assert checked == 9 + 8 + 1 + 7 + 1
    # every site of the web crawl has its row, failed ones included (with zero counts)
    sites = {site for crawl, site in summary if crawl == fixture.ids["web_crawl"]}
    assert {"news.example", "shop.example", "quiet.example", "down.example"} <= sites and len(sites) == 10


def test_rollup_of_the_fixture_has_the_exact_counts(fixture):
    news = _summary(fixture.path)[(fixture.ids["web_crawl"], "news.example")]
    assert {k: news[k] for k in (
        "visits", "failed_visits", "requests", "tracker_entities", "advertising_entities", "tracker_entities_initial",
        "tracker_entities_reject", "tracker_entities_after_reject", "tracker_entities_accept", "tracker_entities_gpc",
        "tracking_cookies", "tracking_cookies_before_consent", "advertising_cookies", "max_cookie_lifetime_days",
        "fingerprinting_scripts", "session_replay_scripts", "keylogging_leaks", "pixel_events", "auctions", "bidders",
        "id_syncs", "findings", "high_findings", "reject_verified", "accept_verified", "gpc_statement")} == {
        "visits": 4, "failed_visits": 0, "requests": 8, "tracker_entities": 3, "advertising_entities": 2,
        "tracker_entities_initial": 2, "tracker_entities_reject": 2, "tracker_entities_after_reject": 1,
        "tracker_entities_accept": 1, "tracker_entities_gpc": 1, "tracking_cookies": 4,
        "tracking_cookies_before_consent": 3, "advertising_cookies": 3, "max_cookie_lifetime_days": 390.0,
        "fingerprinting_scripts": 1, "session_replay_scripts": 0, "keylogging_leaks": 0, "pixel_events": 0,
        "auctions": 1, "bidders": 2, "id_syncs": 1, "findings": 2, "high_findings": 1, "reject_verified": 1,
        "accept_verified": None, "gpc_statement": "true"}
    assert json.loads(news["phases"]) == ["initial", "reject", "accept", "gpc"]
    assert json.loads(news["tags"]) == ["news"]
    assert json.loads(news["consent"])["reject"] == {
        "action": "reject", "action_consent_id": 2, "action_method": "autoconsent", "action_ms": 1000,
        "cmp": "didomi", "frameworks": ["tcf"], "reject_first_layer": 1, "verified": 1, "visit_id": 2}
    down = _summary(fixture.path)[(fixture.ids["web_crawl"], "down.example")]
    assert (down["visits"], down["failed_visits"], down["phases"], down["tracker_entities_reject"]) == (0, 1, "[]", None)


def test_rebuild_replaces_the_rows_of_a_crawl(tmp_path):
    fx = build(tmp_path / "m.db")
    with Store(fx.path) as store:
        before = store.rows("SELECT site, tracker_entities FROM site_summary ORDER BY site")
        store.conn.execute("UPDATE requests SET tracker_entity = NULL WHERE tracker_entity = 'Meta'")
        store.conn.commit()
        assert rebuild(store, [fx.ids["web_crawl"]])["site_summary"] == 4
        after = store.rows("SELECT site, tracker_entities FROM site_summary ORDER BY site")
    assert before == [{"site": "down.example", "tracker_entities": 0}, {"site": "news.example", "tracker_entities": 3},
                      {"site": "quiet.example", "tracker_entities": 0}, {"site": "shop.example", "tracker_entities": 1}]
    assert after[1] == {"site": "news.example", "tracker_entities": 2} and len(after) == 4


TCF = {"vendor_consents": [32, 755, 9999], "purposes_consent": [1, 3, 4], "purposes_li_transparency": [2],
       "special_feature_opt_ins": [], "cmp_id": 7}


def test_consent_summary_names_the_tcf_vendors_it_knows(tmp_path):
    with Store(tmp_path / "m.db") as store:
        crawl = store.start_crawl("web")
        with store.transaction() as tx:
            visit = tx.insert("visits", {"crawl_id": crawl, "key": "k", "site": "a.example", "phase": "accept",
                                         "status": "ok"})
            tx.insert("consent", {"visit_id": visit, "framework": "tcf", "source": "cookie", "raw": "x",
                                  "decoded": TCF, "time_ms": 5})
            tx.insert("consent", {"visit_id": visit, "framework": "tcf", "source": "api", "action": "accept",
                                  "verified": 0, "time_ms": 3})
        [row] = site_summaries(store.conn, crawl)
    assert row["accept_verified"] == 0 and row["reject_verified"] is None
    assert row["consent"]["accept"]["tcf"] == {
        "consent_id": 1, "vendor_count": 3, "vendors": [[32, "Xandr (AppNexus)"], [755, "Google Advertising Products"],
                                                        [9999, None]],
        "named_vendors": [[32, "Xandr (AppNexus)"], [755, "Google Advertising Products"]], "purposes": [1, 3, 4],
        "legitimate_interests": [2], "special_features": [], "cmp_id": 7}


def test_classify_rebuilds_the_rollup(tmp_path):
    from mouchard.classification.reclassify import classify_database

    fx = build(tmp_path / "m.db")
    with Store(fx.path) as store:
        store.conn.execute("DELETE FROM site_summary")
        store.conn.commit()
    classify_database(str(fx.path))
    summary = _summary(fx.path)
    assert sorted(site for _, site in summary) == ["down.example", "news.example", "quiet.example", "shop.example"]


def test_an_audit_rebuilds_the_rollup_with_its_findings(tmp_path):
    from audits.engine import evaluate

    fx = build(tmp_path / "m.db")
    with Store(fx.path) as store:
        evaluate(store, crawl_ids=[fx.ids["web_crawl"]])
        direct = store.rows("SELECT count(*) AS n FROM findings f JOIN visits v ON v.id = f.visit_id "
                            "WHERE v.site = 'news.example' AND v.crawl_id = ?", [fx.ids["web_crawl"]])[0]["n"]
        [row] = store.rows("SELECT findings FROM site_summary WHERE site = 'news.example'")
    assert row["findings"] == direct


def test_rollup_queries_start_from_the_crawl_s_visits(fixture):
    """No full scan of a big table: each query reaches requests, cookies... through the visits of one crawl."""
    conn = connect_readonly(fixture.path)
    for _, sql in rollups.COUNTS:
        plan = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, {"crawl": 1})]
        scans = [line for line in plan if line.startswith("SCAN") and "consent" not in line]
        assert scans == [], (sql, plan)
    conn.close()


@settings(max_examples=200, deadline=None)
@given(raw=st.one_of(st.none(), st.text(max_size=200)), decoded=st.one_of(
    st.none(), st.text(max_size=200), st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10),
                                                   lambda c: st.lists(c, max_size=5) | st.dictionaries(
                                                       st.text(max_size=20), c, max_size=5), max_leaves=20
                                                   ).map(json.dumps)))
def test_consent_parsers_never_raise_on_hostile_text(raw, decoded):
    statement = rollups._gpc_statement(raw, decoded)
    assert statement in (None, "true", "false")
    tc = rollups._tc_summary(raw, decoded)
    assert tc is None or (isinstance(tc["vendor_count"], int) and all(isinstance(p, int) for p in tc["purposes"]))


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.sampled_from(["vendor_consents", "purposes_consent", "special_feature_opt_ins", "cmp_id"]),
                       st.one_of(st.lists(st.one_of(st.integers(), st.booleans(), st.text(max_size=3)), max_size=10),
                                 st.integers(), st.text(max_size=5))))
def test_tc_summary_keeps_only_integer_ids(decoded):
    tc = rollups._tc_summary(None, json.dumps(decoded))
    if "vendor_consents" not in decoded:
        assert tc is None
    else:
        assert all(type(v) is int for v, _ in tc["vendors"]) and tc["vendor_count"] == len(tc["vendors"][:60]) or \
            tc["vendor_count"] > 60
        assert all(type(p) is int for p in tc["purposes"])


def test_mouchard_merge_counts_the_merged_visits(tmp_path):
    """Shards each hold their own rollup rows; the merged database's rows are rebuilt from the merged visits."""
    import subprocess
    import sys

    fx = build(tmp_path / "shard.db")
    target = tmp_path / "merged.db"
    out = subprocess.run([sys.executable, "-m", "mouchard", "merge", str(fx.path), "--into", str(target)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    merged = {site: row for (_, site), row in _summary(target).items()}
    original = {site: row for (_, site), row in _summary(fx.path).items()}
    columns = ("visits", "tracker_entities", "tracking_cookies", "auctions", "id_syncs", "findings")
    assert {s: [r[c] for c in columns] for s, r in merged.items()} == \
        {s: [r[c] for c in columns] for s, r in original.items()}


def test_the_api_merge_counts_the_merged_visits_like_the_command(tmp_path):
    """`mouchard.api.merge` is the command's merge: the merged database's rollups hold the merged visits."""
    from mouchard import api

    fx = build(tmp_path / "shard.db")
    target = tmp_path / "merged.db"
    result = api.merge([fx.path], target)
    assert result.total("copied", "visits") > 0
    columns = ("visits", "tracker_entities", "tracking_cookies", "auctions", "id_syncs", "findings")
    merged = {site: [row[c] for c in columns] for (_, site), row in _summary(target).items()}
    original = {site: [row[c] for c in columns] for (_, site), row in _summary(fx.path).items()}
    assert merged == original and merged
