"""Audits through the Python API (audits.api, mouchard.api): a real audit of a test-web page, its bundle verified
then tampered with, two bundles compared, the rule catalogue, findings rebuilt in place, and the one-line errors."""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from audits import collect
from audits.rules import catalogue
from audits.rules.base import JURISDICTIONS
from audits.spec import PHASES, parse_spec
from audits.verify import Problem
from mouchard import api
from mouchard.errors import UserError
from mouchard.storage.store import Store

NEWS = "www.example-news.fr"  # six tracker scripts, an ID sync, a session recorder, no consent banner
FOUND = [("consent.tracking-before-consent", "example-news.fr"), ("web.id-sync", "example-news.fr"),
         ("web.session-replay", "example-news.fr")]


@pytest.fixture(scope="module")
def audited(testweb, tmp_path_factory):
    """One audit of one page in the initial phase, through the API: (spec path, bundle, result, progress lines)."""
    root = tmp_path_factory.mktemp("api")
    spec = {"case": "API-1", "jurisdiction": "eu", "targets": {"urls": [testweb.url(NEWS)]}, "phases": ["initial"],
            "rules": "all", "timeout": 30, "network": {"host_map": ["*=127.0.0.1"], "ignore_https_errors": True}}
    (root / "spec.yml").write_text(yaml.safe_dump(spec))
    lines: list[str] = []
    result = api.audit(root / "spec.yml", root / "bundle", progress=lines.append)
    return root / "spec.yml", root / "bundle", result, lines


def findings(result) -> list[tuple[str, str]]:
    return sorted((f["rule_id"], f["subject"]) for f in result.evaluation.findings)


@pytest.mark.browser
@pytest.mark.slow
def test_audit_crawls_through_the_api_and_finds_the_planted_violations(audited):
    _, bundle, result, lines = audited
    assert findings(result) == FOUND
    assert result.out == bundle and result.digest == json.loads((bundle / "MANIFEST.json").read_text())["digest"]
    (step,) = result.steps
    assert (step.kind, step.job, step.status, step.reason, step.crawl_id, step.log) == (
        "web", "crawl", "finished", "", 1, "01-web.log")
    assert step.options["settings"]["phases"] == ["initial"] and step.options["settings"]["db"] == str(
        bundle / "audit.db")
    assert lines[0] == f"audit plan: case 'API-1', jurisdiction eu, spec {bundle.parent / 'spec.yml'}"
    assert any(line.startswith("  will run: mouchard.api.crawl(urls=") for line in lines)
    assert lines[-2:] == ["audit: web: 1 url, consent phases initial ...",
                          "audit: web: 1 url, consent phases initial: finished"]
    assert (bundle / "logs" / "01-web.log").read_text().startswith("# mouchard.api.crawl(urls=")
    provenance = json.loads((bundle / "provenance.json").read_text())
    assert [(r["id"], r["kind"], r["status"]) for r in provenance["runs"]] == [(1, "web", "finished")]


@pytest.mark.browser
@pytest.mark.slow
def test_verify_passes_then_names_the_tampered_file(audited, tmp_path):
    _, bundle, result, _ = audited
    ok = api.verify(bundle)
    assert (ok.ok, ok.problems, ok.digest, ok.case, ok.signer) == (True, (), result.digest, "API-1", None)
    copy = tmp_path / "copy"
    shutil.copytree(bundle, copy)
    listed = {e["path"]: e for e in json.loads((copy / "MANIFEST.json").read_text())["files"]}["findings.json"]
    with (copy / "findings.json").open("ab") as out:
        out.write(b" ")
    tampered = hashlib.sha256((copy / "findings.json").read_bytes()).hexdigest()
    bad = api.verify(copy)
    assert not bad.ok and bad.problems == (Problem(
        "findings.json", "changed", f"sha256 {tampered[:16]}… (size more than {listed['size']}), manifest says "
                                    f"{listed['sha256'][:16]}… (size {listed['size']})"),)
    assert bad.as_json()["problems"] == [{"path": "findings.json", "kind": "changed", "detail": bad.problems[0].detail}]


@pytest.mark.browser
@pytest.mark.slow
def test_diff_names_what_disappeared_and_appeared(audited, tmp_path):
    """The same database judged again without the session-replay rule: that one finding disappears."""
    spec_path, bundle, _, _ = audited
    assert api.diff(bundle, bundle).identical and api.diff(bundle, bundle).unchanged == len(FOUND)
    fewer = yaml.safe_load(spec_path.read_text())
    fewer["rules"] = ["consent.*", "web.id-sync"]
    (tmp_path / "fewer.yml").write_text(yaml.safe_dump(fewer))
    rejudged = api.audit(tmp_path / "fewer.yml", tmp_path / "rejudged", from_db=bundle / "audit.db")
    assert [(s.kind, s.status) for s in rejudged.steps] == [("from-db", "finished")]
    gone = api.diff(bundle, rejudged.out)
    assert ([(f["rule_id"], f["subject"]) for f in gone.disappeared], gone.appeared, gone.changed, gone.unchanged) == (
        [("web.session-replay", "example-news.fr")], [], [], 2)
    back = api.diff(rejudged.out, bundle)
    assert ([(f["rule_id"], f["subject"]) for f in back.appeared], back.disappeared) == (
        [("web.session-replay", "example-news.fr")], [])


@pytest.mark.browser
@pytest.mark.slow
def test_signed_audit_verifies_with_the_key(audited, tmp_path):
    from audits.sign import generate_key_pair

    spec_path, bundle, _, _ = audited
    private, public = generate_key_pair(tmp_path / "auditor.pem")
    result = api.audit(spec_path, tmp_path / "signed", from_db=bundle / "audit.db", sign_key=private)
    checked = api.verify(result.out, public_key=public)
    assert checked.ok and checked.signer == result.signer and len(result.signer) == 64


def test_rules_describe_the_catalogue():
    everything = api.rules()
    assert [r["id"] for r in everything] == [r.id for r in catalogue()]
    first = catalogue()[0]
    assert everything[0] == {"id": first.id, "version": first.version, "severity": first.severity,
                             "title": first.title, "needs": list(first.needs), "explanation": first.explanation,
                             "legal": {j: first.legal[j] for j in JURISDICTIONS if j in first.legal}}
    for rule, french in zip(catalogue(), api.rules("fr")):
        assert french["legal"] == ({"fr": rule.legal["fr"]} if "fr" in rule.legal else {})
    with pytest.raises(UserError, match="unknown jurisdiction 'xx'"):
        api.rules("xx")


def test_rebuild_findings_judges_a_database_in_place(tmp_path):
    from data.audits.synthetic import EXPECTED, build_case

    db = build_case(tmp_path / "case.db")
    web_only = api.rebuild_findings(db, rules=["web.*"], jurisdiction="fr", command=["test"])
    assert sorted({f["rule_id"] for f in web_only.findings}) == sorted(r for r in EXPECTED if r.startswith("web."))
    with Store(db, create=False) as store:
        audit_runs = store.rows("SELECT command FROM crawls WHERE kind = 'audit'")
    assert [json.loads(r["command"]) for r in audit_runs] == [["test"]]


def test_api_errors_are_one_line(tmp_path):
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x").write_text("x")
    (tmp_path / "spec.yml").write_text(yaml.safe_dump({"case": "C", "jurisdiction": "eu",
                                                        "targets": {"urls": ["https://a.example/"]}}))
    (tmp_path / "junk.db").write_text("not a database")
    with pytest.raises(UserError, match=r"busy already exists and is not an empty folder: choose a new --out"):
        api.audit(tmp_path / "spec.yml", tmp_path / "busy", from_db=tmp_path / "junk.db")
    with pytest.raises(UserError, match=r"^no audit spec at "):
        api.audit(tmp_path / "none.yml", tmp_path / "out")
    with pytest.raises(UserError, match=r"^no bundle folder at "):
        api.verify(tmp_path / "none")
    with pytest.raises(UserError, match=r"neither a bundle folder \(with audit.db\) nor a database file"):
        api.diff(tmp_path / "none", tmp_path / "junk.db")
    with pytest.raises(UserError, match=r"junk.db: cannot read findings"):
        api.diff(tmp_path / "junk.db", tmp_path / "junk.db")
    assert not (tmp_path / "out").exists()


@given(st.lists(st.sampled_from(PHASES), min_size=1, unique=True))
def test_one_crawl_covers_any_phases_of_a_spec(phases):
    """Whatever phases a spec lists, one crawl visits each of them (initial first, as the crawler always does), no
    other, and its plan is plain JSON (provenance.json)."""
    crawled = collect.crawl_phases(tuple(phases))
    assert crawled[0] == "initial" and set(crawled) == {"initial", *phases}
    assert list(crawled) == [p for p in PHASES if p in crawled]
    spec = parse_spec({"case": "C", "jurisdiction": "eu", "targets": {"urls": ["https://a.example/"]},
                       "phases": phases}, source="s")
    (step,) = collect.plan(spec, "/nonexistent/audit.db")
    assert json.loads(json.dumps(step.record()))["settings"]["phases"] == list(crawled)
