"""Rules on synthetic databases: each fires on its planted violation, none fires on compliant subjects."""

import json
import os
import subprocess
import sys

import pytest
from data.audits.synthetic import COMPLIANT, EXPECTED, UNVERIFIED, VIOLATOR, build_case

from audits.engine import evaluate
from audits.rules import JURISDICTIONS, SEVERITIES, Rule, catalogue, select
from mouchard.errors import UserError
from mouchard.storage.schema import BY_NAME
from mouchard.storage.store import Store


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    """The violating case, evaluated once with every rule: (store, evaluation)."""
    store = Store(build_case(tmp_path_factory.mktemp("case") / "case.db"))
    yield store, evaluate(store)
    store.close()


def findings_of(evaluation, rule_id):
    return [f for f in evaluation.findings if f["rule_id"] == rule_id]


def test_every_rule_has_a_planted_violation_in_the_synthetic_case():
    assert set(EXPECTED) == {r.id for r in catalogue()}


@pytest.mark.parametrize("rule_id", sorted(EXPECTED))
def test_rule_fires_on_its_planted_violation_only(case, rule_id):
    _, evaluation = case
    found = findings_of(evaluation, rule_id)
    assert [f["subject"] for f in found] == [EXPECTED[rule_id]], found


def test_no_rule_fires_on_the_compliant_case(tmp_path):
    with Store(build_case(tmp_path / "clean.db", violations=False)) as store:
        evaluation = evaluate(store)
    assert evaluation.findings == () and evaluation.errors == ()


def test_every_evidence_link_resolves_to_a_row(case):
    store, evaluation = case
    for finding in evaluation.findings:
        assert finding["evidence"], finding["rule_id"]
        for ref in finding["evidence"]:
            assert ref["table"] in BY_NAME
            assert store.count(ref["table"], "id = ?", [ref["id"]]) == 1, (finding["rule_id"], ref)


def test_web_findings_link_their_visit_and_screenshot(case):
    _, evaluation = case
    for finding in evaluation.findings:
        if finding["rule_id"].startswith(("web.", "consent.")):
            tables = {ref["table"] for ref in finding["evidence"]}
            assert {"visits", "evidence_files"} <= tables, finding["rule_id"]
            assert finding["visit_id"] and finding["crawl_id"]


def test_findings_carry_rule_metadata_and_the_jurisdictions_reference(case):
    _, evaluation = case
    rules = {r.id: r for r in catalogue()}
    for f in evaluation.findings:
        rule = rules[f["rule_id"]]
        assert (f["rule_version"], f["severity"], f["jurisdiction"]) == (rule.version, rule.severity, "eu")
        assert f["legal_reference"] == rule.legal["eu"] and f["title"] and f["detail"]
        assert len(f["fingerprint"]) == 64


def test_fingerprints_do_not_depend_on_row_ids(case, tmp_path):
    _, evaluation = case
    with Store(build_case(tmp_path / "shifted.db", offset=5)) as store:
        shifted = evaluate(store)
    assert [f["fingerprint"] for f in shifted.findings] == [f["fingerprint"] for f in evaluation.findings]
    assert [f["detail"] for f in shifted.findings] == [f["detail"] for f in evaluation.findings]
    visits = [(a["visit_id"], b["visit_id"]) for a, b in zip(evaluation.findings, shifted.findings) if a["visit_id"]]
    assert visits and all(a != b for a, b in visits)  # other ids, same fingerprints


def test_cmp_cookies_are_not_tracking_cookies(case):
    store, evaluation = case
    (finding,) = findings_of(evaluation, "consent.tracking-before-consent")
    cookie_ids = [r["id"] for r in finding["evidence"] if r["table"] == "cookies"]
    names = {store.rows("SELECT name FROM cookies WHERE id = ?", [i])[0]["name"] for i in cookie_ids}
    assert names == {"_ga", "IDE", "_fbp"}


def test_after_reject_counts_only_what_followed_a_verified_click(case):
    store, evaluation = case
    (finding,) = findings_of(evaluation, "consent.tracking-after-reject")
    request_ids = [r["id"] for r in finding["evidence"] if r["table"] == "requests"]
    times = [store.rows("SELECT time_ms FROM requests WHERE id = ?", [i])[0]["time_ms"] for i in request_ids]
    assert times == [1500]  # the doubleclick request at 500 ms came before the click
    subjects = {f["subject"] for f in evaluation.findings}
    assert UNVERIFIED not in subjects and COMPLIANT not in subjects


def test_tcf_rule_names_the_vendors_without_consent(case):
    _, evaluation = case
    (finding,) = findings_of(evaluation, "consent.tcf-vendor-without-consent")
    assert "GVL vendor 32" in finding["detail"] and "GVL vendor 52" in finding["detail"]
    assert "GVL vendor 755" not in finding["detail"]  # its request came before the refusal


def test_crawled_text_is_kept_out_of_titles_and_fingerprints(case):
    _, evaluation = case
    for f in evaluation.findings:
        assert "<script>" not in f["title"] + f["detail"]


def test_evaluating_again_replaces_findings_and_records_each_audit(tmp_path):
    with Store(build_case(tmp_path / "again.db")) as store:
        first = evaluate(store)
        second = evaluate(store)
        assert store.count("findings") == len(first.findings) == len(second.findings)
        audits = store.rows("SELECT config, status FROM crawls WHERE kind = 'audit' ORDER BY id")
        assert len(audits) == 2 and {a["status"] for a in audits} == {"finished"}
        config = json.loads(audits[1]["config"])
        assert {r["id"] for r in config["rules"]} == set(EXPECTED) and config["jurisdiction"] == "eu"
        assert all(r["version"] for r in config["rules"])


def test_scope_limits_the_runs_judged_and_keeps_other_findings(tmp_path):
    with Store(build_case(tmp_path / "scope.db")) as store:
        evaluate(store)
        app_run = store.rows("SELECT id FROM crawls WHERE kind = 'import'")[0]["id"]
        scoped = evaluate(store, crawl_ids=[app_run])
        assert {f["rule_id"] for f in scoped.findings} == {"apps.identifier-leak", "apps.location-leak"}
        assert store.count("findings") == len(EXPECTED)  # the web and broker findings are still there
        with pytest.raises(UserError, match="no collection run 999"):
            evaluate(store, crawl_ids=[999])


def test_selecting_rules_by_id_and_glob():
    assert [r.id for r in select(["consent.*"])] == sorted(i for i in EXPECTED if i.startswith("consent."))
    assert len(select(None)) == len(select(["all"])) == len(EXPECTED)
    with pytest.raises(UserError, match="no rule matches 'web.nope'"):
        select(["web.nope"])


def test_a_rule_without_a_reference_for_the_jurisdiction_is_not_applied(case, tmp_path):
    with Store(build_case(tmp_path / "ca.db")) as store:
        evaluation = evaluate(store, jurisdiction="us-ca")
    skipped = {r.id for r in evaluation.not_applicable}
    assert "consent.tcf-vendor-without-consent" in skipped and "consent.tracking-before-consent" in skipped
    gpc = findings_of(evaluation, "consent.gpc-ignored")[0]
    assert "7025" in gpc["legal_reference"] and gpc["jurisdiction"] == "us-ca"


def test_a_rule_that_crashes_is_recorded_and_the_others_still_run(tmp_path, monkeypatch):
    def broken(ctx):
        raise ValueError("unexpected crawled data")
        yield

    bad = Rule("web.broken", "1", "low", "Broken", ("visits",), {"eu": "none"}, "A rule that fails.", broken)
    monkeypatch.setattr("audits.engine.select", lambda rules: (bad, *catalogue()))
    with Store(build_case(tmp_path / "crash.db")) as store:
        evaluation = evaluate(store)
        status = store.rows("SELECT status, summary FROM crawls WHERE kind = 'audit'")[0]
    assert evaluation.errors == ("web.broken: ValueError: unexpected crawled data",)
    assert len(evaluation.findings) == len(EXPECTED)
    assert status["status"] == "failed" and "unexpected crawled data" in status["summary"]


def test_rules_are_well_formed_data():
    for rule in catalogue():
        area, _, name = rule.id.partition(".")
        assert area in ("web", "consent", "apps", "brokers", "vendors") and name, rule.id
        assert rule.version and rule.severity in SEVERITIES and rule.title and not rule.title.endswith(".")
        assert set(rule.legal) <= set(JURISDICTIONS) and all(rule.legal.values())
        assert len(rule.explanation) > 80 and "\n" not in rule.explanation
        assert set(rule.needs) <= set(BY_NAME), rule.id


def run_cli(*args, cwd=None):
    env = {k: v for k, v in os.environ.items() if k != "MOUCHARD_DB"}
    return subprocess.run([sys.executable, "-m", "mouchard", *args], capture_output=True, text=True, timeout=120,
                          env=env, cwd=cwd)


def test_cli_rebuilds_the_findings_of_a_database_in_place(tmp_path):
    db = build_case(tmp_path / "cli.db")
    out = run_cli("audit", "--db", str(db), "--rule", "web.*", "--jurisdiction", "fr")
    assert out.returncode == 0, out.stderr
    assert "4 findings" in out.stdout
    with Store(db) as store:
        assert {r["jurisdiction"] for r in store.rows("SELECT jurisdiction FROM findings")} == {"fr"}


def test_cli_lists_rules_as_text_and_json():
    text = run_cli("audit", "--list-rules")
    assert text.returncode == 0 and all(rule_id in text.stdout for rule_id in EXPECTED)
    listed = json.loads(run_cli("audit", "--list-rules", "--json", "--jurisdiction", "uk").stdout)
    assert {r["id"] for r in listed} == set(EXPECTED)
    assert all(set(r["legal"]) <= {"uk"} for r in listed)


def test_cli_errors_are_one_line(tmp_path):
    missing = run_cli("audit", "--db", str(tmp_path / "none.db"))
    assert missing.returncode == 1 and "no database at" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1 and "Traceback" not in missing.stderr
    no_out = run_cli("audit", "spec.yml")
    assert no_out.returncode == 1 and "--out DIR is required" in no_out.stderr


def test_violator_is_the_only_subject_of_web_findings(case):
    _, evaluation = case
    assert {f["subject"] for f in evaluation.findings if f["rule_id"].startswith("web.")} == {VIOLATOR}


def test_no_gpc_statement_counts_only_when_the_brokers_site_answered(tmp_path):
    db = build_case(tmp_path / "gpc.db")
    with Store(db) as store:
        store.conn.execute("UPDATE broker_pages SET status = 'dns-error' WHERE kind = 'home'")
        evaluation = evaluate(store, rules=["brokers.no-gpc-support"])
    assert evaluation.findings == ()


def test_pages_on_a_privacy_portal_are_not_counted_as_hidden(tmp_path):
    db = build_case(tmp_path / "portal.db")
    with Store(db) as store:
        store.conn.execute("UPDATE broker_pages SET hosted_by = NULL WHERE hosted_by = 'OneTrust'")
        evaluation = evaluate(store, rules=["brokers.hidden-opt-out-page"])
    assert sorted(f["subject"] for f in evaluation.findings) == ["Clean Data Inc", "Shady Data LLC"]


def test_cookies_count_as_tracking_by_domain_setter_or_third_party_identifier(case):
    store, evaluation = case
    (finding,) = findings_of(evaluation, "consent.tracking-before-consent")
    ids = [r["id"] for r in finding["evidence"] if r["table"] == "cookies"]
    rows = store.rows(f"SELECT name FROM cookies WHERE id IN ({','.join(map(str, ids))})")
    assert "session_id" not in {r["name"] for r in rows}  # the site's own cookie, set by the page itself
    assert "Google" in finding["detail"]


def _acme(tmp_path, gpc_trackers: list[str]) -> tuple[Store, int]:
    """A broker crawl of Acme's home page, after a browser crawl of it with and without Global Privacy Control."""
    store = Store(tmp_path / "acme.db")
    fetch = store.start_crawl("brokers-fetch")
    snapshot = store.insert("registry_snapshots", {"crawl_id": fetch, "registry": "ca", "year": 2025})
    broker = store.insert("brokers", {"snapshot_id": snapshot, "registry": "ca", "key": "acme", "name": "Acme Inc",
                                      "website": "https://www.acme-broker.com", "site": "acme-broker.com"})
    web = store.start_crawl("web")
    for phase, trackers in (("initial", ["Google", "Criteo"]), ("gpc", gpc_trackers)):
        visit = store.insert("visits", {"crawl_id": web, "url": "https://www.acme-broker.com/", "phase": phase,
                                        "site": "acme-broker.com", "depth": 0, "status": "ok"})
        store.insert_many("requests", [{"visit_id": visit, "host": f"ads.{t.lower()}.com", "third_party": 1,
                                        "tracker_entity": t, "tracker_category": "advertising"} for t in trackers])
    crawl = store.start_crawl("brokers-crawl")
    store.insert("broker_pages", {"crawl_id": crawl, "broker_id": broker, "kind": "home", "status": "ok",
                                  "url": "https://acme-broker.com/", "final_url": "https://www.acme-broker.com/"})
    return store, crawl


def test_a_brokers_site_ignoring_gpc_is_read_from_the_browser_crawl(tmp_path):
    store, crawl = _acme(tmp_path, ["Criteo"])
    with store:
        # Only the broker crawl is judged (as `brokers crawl` does): the browser crawl is read, not re-judged.
        (found,) = evaluate(store, rules=["brokers.*"], crawl_ids=[crawl], jurisdiction="us-ca").findings
    assert (found["rule_id"], found["subject"], found["crawl_id"]) == ("brokers.gpc-ignored", "Acme Inc", crawl)
    assert "Criteo" in found["detail"] and "Without the signal: Criteo, Google." in found["detail"]
    assert "7025" in found["legal_reference"] and found["visit_id"]
    assert {e["table"] for e in found["evidence"]} == {"brokers", "broker_pages", "visits", "requests"}


def test_a_brokers_site_honouring_gpc_is_no_finding(tmp_path):
    store, crawl = _acme(tmp_path, [])
    with store:
        assert evaluate(store, rules=["brokers.gpc-ignored"], crawl_ids=[crawl]).findings == ()


def test_broker_and_consent_rules_judge_gpc_alike(case):
    # One judgement: brokers.gpc-ignored is consent.gpc-ignored on the broker's own site, tied to its registration.
    _, evaluation = case
    (site,) = findings_of(evaluation, "consent.gpc-ignored")
    (broker,) = findings_of(evaluation, "brokers.gpc-ignored")
    visits = {(r["table"], r["id"]) for r in site["evidence"] if r["table"] in ("visits", "requests", "consent")}
    assert visits < {(r["table"], r["id"]) for r in broker["evidence"]} and broker["broker_id"]
    assert "Microsoft" in site["detail"] and "Microsoft" in broker["detail"]
