"""The whole consent cycle, each step verified: `mouchard crawl --revoke --second-site` on the consent-cycle sites of
the test web (demoweb/sites/consent_cycle.py; real Chromium, vanilla-cookieconsent 3.1.0 from node_modules), then
the cycle's rules on that crawl, with exact findings per site and none on the compliant ones. One crawl for the
module; units for the phases, the options and the sequences' parsers beside it.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from audits.engine import evaluate
from audits.rules import select
from audits.rules.base import Context
from audits.rules.consent import cookie_pairs, parse_steps, snapshot_entries
from conftest import NO_CALLS, needs
from crawler.consent.sequences import jar_entry, jar_snapshot, prime_urls, reopen_expression, unpaired
from demoweb.sites.consent_cycle import CYCLE_EXPECTED, CYCLE_URLS, REOPEN_METHOD
from demoweb.sites.consent_lib import missing_packages
from mouchard.errors import UserError
from mouchard.settings import PHASES, RunSettings, phases_for
from mouchard.storage.store import Store

CYCLE_RULES = tuple(CYCLE_EXPECTED)
SITES = [url.split("//")[1].strip("/").removeprefix("www.") for url in CYCLE_URLS]


# --- units ---------------------------------------------------------------------------------------------------------
def test_phases_for_adds_the_sequences_after_the_others():
    assert phases_for() == ["initial", "reject", "accept"]
    assert phases_for("none", revoke=True) == ["initial", "revoke"]
    assert phases_for("reject", True, True, True) == ["initial", "reject", "gpc", "revoke", "second-site"]
    assert phases_for("none", second_site=True) == ["initial", "second-site"]
    assert PHASES[-2:] == ("revoke", "second-site")
    with pytest.raises(UserError):
        phases_for("maybe", revoke=True)


def test_run_settings_and_the_crawl_command_take_the_sequence_options():
    run = RunSettings.from_options(consent="none", revoke=True, second_site=True, env={})
    assert run.phases == ("initial", "revoke", "second-site")
    assert RunSettings.from_record(run.as_record()).phases == ("initial", "revoke", "second-site")
    from crawler.cli import crawl

    help_text = CliRunner().invoke(crawl, ["--help"]).output
    assert "--revoke" in help_text and "--second-site" in help_text


def test_audit_specs_accept_the_sequence_phases():
    from audits.collect import crawl_phases

    assert crawl_phases(("initial", "revoke", "second-site")) == ("initial", "revoke", "second-site")
    assert crawl_phases(("reject", "revoke")) == ("initial", "reject", "revoke")


def test_site_a_is_the_next_site_of_the_list_cyclically():
    urls = ["https://www.a.fr/", "https://www.b.fr/x", "https://shop.b.fr/", "https://www.c.fr/"]
    assert prime_urls(urls) == {"a.fr": "https://www.b.fr/x", "b.fr": "https://www.c.fr/", "c.fr": "https://www.a.fr/"}
    assert prime_urls(["https://www.a.fr/", "https://a.fr/page"]) == {}


def test_a_list_of_one_site_has_no_second_site_visit():
    from crawler.browser.visit import VisitSpec

    specs = [VisitSpec(f"{phase} https://www.a.fr/", "https://www.a.fr/", phase=phase) for phase in PHASES]
    assert [s.phase for s in unpaired(specs, prime_urls([s.url for s in specs]))] == ["second-site"]
    assert unpaired(specs, {"a.fr": "https://www.b.fr/"}) == []


def test_jar_snapshot_keeps_hashes_never_values():
    jar = [{"domain": ".Facebook.com", "name": "fr", "value": "secret-1"}, {"domain": "x.fr", "name": "a", "value": ""}]
    snapshot = jar_snapshot(jar)
    assert snapshot == [{"domain": "facebook.com", "name": "fr", "sha256": hashlib.sha256(b"secret-1").hexdigest()},
                        {"domain": "x.fr", "name": "a", "sha256": hashlib.sha256(b"").hexdigest()}]
    assert "secret-1" not in json.dumps(snapshot)


def test_reopen_expression_tries_every_known_cmp_api():
    expression = reopen_expression()
    for call in ("Didomi.preferences.show()", "OneTrust.ToggleInfoDisplay()", "tarteaucitron.userInterface.openPanel()",
                 "klaro.show()", "CookieConsent.showPreferences()", "Cookiebot.renew()", "displayConsentUi"):
        assert call in expression


def test_cookie_pairs_reads_a_cookie_header():
    assert cookie_pairs("fr=abc; _fbp=fb.1.2; =x; broken; a = b ") == [("fr", "abc"), ("_fbp", "fb.1.2"), ("a", "b")]
    assert cookie_pairs("") == []


@given(st.text(max_size=300))
def test_cookie_pairs_never_fails_on_hostile_headers(header):
    pairs = cookie_pairs(header)
    assert len(pairs) <= 200 and all(name and "=" not in name for name, _ in pairs)


def test_steps_are_read_by_name_and_malformed_ones_left_out():
    text = json.dumps([{"step": "accept", "verified": 1}, {"step": 3}, "x", {"step": "accept", "verified": 0},
                       {"step": "jar", "snapshot": [{"domain": "a.fr", "name": "id", "sha256": "ab"}, {"name": 1}]}])
    steps = parse_steps(text)
    assert sorted(steps) == ["accept", "jar"] and steps["accept"]["verified"] == 1
    assert snapshot_entries(steps["jar"]) == [("a.fr", "id", "ab")]
    assert parse_steps("not json") == {} and parse_steps(None) == {} and snapshot_entries([1]) == []


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                    max_leaves=20)


@given(JSON)
def test_steps_parsers_take_any_json(value):
    steps = parse_steps(json.dumps(value))
    assert all(isinstance(k, str) and isinstance(v, dict) for k, v in steps.items())
    for step in steps.values():
        assert all(all(isinstance(x, str) for x in entry) for entry in snapshot_entries(step))


@given(st.dictionaries(st.sampled_from(["domain", "name", "value", "path"]),
                       st.one_of(st.none(), st.text(max_size=40), st.integers())))
def test_jar_entry_takes_any_browser_cookie(cookie):
    domain, name, digest = jar_entry(cookie)
    assert domain == domain.lower() and not domain.startswith(".") and len(digest) == 64


# --- one crawl of the cycle sites ----------------------------------------------------------------------------------



@pytest.fixture(scope="module")
def crawl_db(testweb, tmp_path_factory):
    needs(missing_packages())
    path = tmp_path_factory.mktemp("consent-cycle") / "cycle.db"
    args = [sys.executable, "-m", "mouchard", "crawl", "--db", str(path), "--consent", "none", "--revoke",
            "--second-site", "--timeout", "20", "--concurrency", "2", "--dwell", "0", *NO_CALLS]
    args += [f"--browser-arg={flag}" for flag in testweb.chromium_args(proxy=True)]
    result = subprocess.run([*args, *CYCLE_URLS], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    with Store(path) as store:
        evaluation = evaluate(store, rules=list(CYCLE_RULES))  # fills the audit scope of this connection
        assert evaluation.errors == ()
        ctx = Context(store, "eu")
        hits = {r.id: {h.subject: h.facts for h in r.check(ctx)} for r in select(list(CYCLE_RULES))}
    assert {rule_id: sorted(by) for rule_id, by in hits.items()} == {
        f_rule: sorted(f["subject"] for f in evaluation.findings if f["rule_id"] == f_rule) for f_rule in CYCLE_RULES}
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    yield conn, hits
    conn.close()


def _action_rows(db, phase):
    rows = db.execute("""SELECT c.*, v.site, v.url FROM consent c JOIN visits v ON v.id = c.visit_id
                         WHERE v.phase = ? AND c.source = 'action' ORDER BY v.site""", (phase,)).fetchall()
    return {r["site"]: r for r in rows}


def _steps(row):
    return {s["step"]: s for s in json.loads(row["steps"])}


@pytest.mark.browser
@pytest.mark.slow
def test_every_site_is_visited_in_each_phase(crawl_db):
    db, _ = crawl_db
    rows = db.execute("SELECT site, phase, status FROM visits").fetchall()
    phases = ("initial", "revoke", "second-site")
    assert {(r["site"], r["phase"]) for r in rows} == {(s, p) for s in SITES for p in phases}
    assert {r["status"] for r in rows} == {"ok"}


@pytest.mark.browser
@pytest.mark.slow
def test_revoke_steps_accept_reopen_and_withdraw_each_verified(crawl_db):
    db, _ = crawl_db
    rows = _action_rows(db, "revoke")
    assert set(rows) == set(SITES)
    for site, row in rows.items():
        steps = _steps(row)
        assert steps["accept"]["verified"] == 1, (site, steps["accept"])
        assert steps["reopen"]["method"] == REOPEN_METHOD[site], (site, steps["reopen"])
        if REOPEN_METHOD[site] is None:
            assert list(steps) == ["accept", "reopen"] and row["verified"] == 0
            continue
        assert row["action"] == "revoke" and row["verified"] == 1, (site, row["verification"])
        assert [s for s in steps] == ["accept", "reopen", "withdraw"]
        assert steps["withdraw"]["verified"] == 1 and steps["withdraw"]["time_ms"] > steps["accept"]["time_ms"]
        if REOPEN_METHOD[site] == "api":
            assert steps["reopen"]["api"] == "CookieConsent.showPreferences()"
        else:
            assert steps["reopen"]["control"]["selector"] == '[data-cc="show-preferencesModal"]'
        # every click is bracketed by screenshots kept as evidence files of the visit
        shots = {r["sha256"] for r in db.execute(
            "SELECT sha256 FROM evidence_files WHERE visit_id = ? AND documents IN ('banner', 'consent-step')",
            (row["visit_id"],))}
        for step in steps.values():
            assert step["screenshot_before"] in shots and step["screenshot_after"] in shots, (site, step)


@pytest.mark.browser
@pytest.mark.slow
def test_second_site_steps_reject_on_a_and_keep_the_jar_as_hashes(crawl_db):
    db, _ = crawl_db
    rows = _action_rows(db, "second-site")
    assert set(rows) == set(SITES)
    for i, site in enumerate(SITES):
        steps = _steps(rows[site])
        site_a = SITES[(i + 1) % len(SITES)]
        assert steps["visit-a"]["url"] == CYCLE_URLS[(i + 1) % len(SITES)]
        assert steps["reject-on-a"]["verified"] == 1, (site, steps["reject-on-a"])
        assert steps["jar"]["site_a"] == site_a
        assert all(set(e) == {"domain", "name", "sha256"} for e in steps["jar"]["snapshot"])
        assert rows[site]["action"] == "reject" and rows[site]["verified"] == 1
    voisin = {(e["domain"], e["name"]) for e in _steps(rows["voisin-b.fr"])["jar"]["snapshot"]}
    assert ("facebook.com", "fr") in voisin
    partenaire = {(e["domain"], e["name"]) for e in _steps(rows["partenaire-b.fr"])["jar"]["snapshot"]}
    assert ("facebook.com", "fr") not in partenaire


@pytest.mark.browser
@pytest.mark.slow
def test_site_a_cookies_are_not_reported_as_set_on_b(crawl_db):
    db, _ = crawl_db
    # voisin-b.fr's pixel sent site A's fr back and the pixel's response set it again (same value): a row of B's,
    # tied to that response; A's other cookies are not B's
    rows = {r["name"]: r for r in db.execute(
        "SELECT c.name, c.value, c.set_by, c.request_id FROM cookies c JOIN visits v ON v.id = c.visit_id "
        "WHERE v.phase = 'second-site' AND v.site = 'voisin-b.fr'")}
    assert sorted(rows) == ["_fbp", "cc_cookie", "fr"]
    snapshot = _steps(_action_rows(db, "second-site")["voisin-b.fr"])["jar"]["snapshot"]
    digest = hashlib.sha256(rows["fr"]["value"].encode()).hexdigest()
    assert {"domain": "facebook.com", "name": "fr", "sha256": digest} in snapshot
    assert rows["fr"]["set_by"] == "header" and rows["fr"]["request_id"] is not None
    # site A's own first-party cookies (cc_cookie, _fbp of voisin-a.fr), still in the jar, are not rows of B's
    assert db.execute("SELECT count(*) FROM cookies c JOIN visits v ON v.id = c.visit_id "
                      "WHERE v.phase = 'second-site' AND v.site = 'voisin-b.fr' AND c.domain LIKE '%voisin-a.fr'"
                      ).fetchone()[0] == 0


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("rule_id", CYCLE_RULES)
def test_cycle_rules_find_exactly_the_planted_violations(crawl_db, rule_id):
    _, hits = crawl_db
    found = hits[rule_id]
    expected = CYCLE_EXPECTED[rule_id]
    assert sorted(found) == sorted(expected)
    for site, facts in expected.items():
        for key, value in facts.items():
            assert found[site][key] == ([value] if key == "site_a" else value), (site, key, found[site])


@pytest.mark.browser
@pytest.mark.slow
def test_screenshots_of_the_steps_exist_on_disk(crawl_db):
    db, _ = crawl_db
    folder = db.execute("PRAGMA database_list").fetchone()["file"] + ".evidence"
    paths = [r["path"] for r in db.execute("SELECT path FROM evidence_files WHERE documents = 'consent-step'")]
    assert paths and all(os.path.exists(os.path.join(folder, p)) for p in paths)


@pytest.mark.browser
@pytest.mark.slow
def test_requests_keep_the_headers_sent_on_the_wire_when_they_were_announced_first(crawl_db):
    db, _ = crawl_db
    # On B, Chromium announces the pixel's wire headers (requestWillBeSentExtraInfo, with the Cookie header the
    # profile added) before the request itself: the row keeps them, so the cookie sent back from site A is seen.
    headers = [json.loads(r[0] or "{}") for r in db.execute(
        "SELECT r.request_headers FROM requests r JOIN visits v ON v.id = r.visit_id "
        "WHERE v.phase = 'second-site' AND v.site = 'voisin-b.fr' AND r.site = 'facebook.com'")]
    cookies = [{k.lower(): v for k, v in h.items()}.get("cookie", "") for h in headers]
    assert headers and any("fr=" in c for c in cookies), headers
