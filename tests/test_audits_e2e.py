"""A real audit of test-web sites: `mouchard audit` runs the crawl (mouchard.api.crawl) into the bundle, finds the
planted violations with evidence, the bundle verifies, and re-running the spec gives an empty `diff`."""

import json
import os
import subprocess
import sys

import pytest
import yaml

from mouchard.storage.store import connect_readonly

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NEWS = "www.example-news.fr"  # six tracker scripts, no consent banner: tracking before any consent, session replay
CLEAN = "www.clean-example.org"  # no third party at all: no finding


def mouchard(*args, timeout=600):
    env = {k: v for k, v in os.environ.items() if k != "MOUCHARD_DB"}
    return subprocess.run([sys.executable, "-m", "mouchard", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


@pytest.fixture(scope="module")
def audits(testweb, tmp_path_factory):
    """The same spec run twice: two bundles."""
    root = tmp_path_factory.mktemp("e2e")
    spec = {"case": "TEST-E2E-1", "jurisdiction": "eu",
            "targets": {"sites": [testweb.url(NEWS), testweb.url(CLEAN)]},
            "pages_per_site": 1, "seed": 11, "rules": "all", "timeout": 30, "concurrency": 2,
            "network": {"host_map": ["*=127.0.0.1"], "ignore_https_errors": True}}
    (root / "spec.yml").write_text(yaml.safe_dump(spec))
    bundles = []
    for name in ("first", "second"):
        out = mouchard("audit", str(root / "spec.yml"), "--out", str(root / name))
        assert out.returncode == 0, out.stdout + out.stderr
        bundles.append(root / name)
    return bundles


def findings(bundle):
    return json.loads((bundle / "findings.json").read_text())


def test_audit_runs_the_crawl_into_the_bundle(audits):
    provenance = json.loads((audits[0] / "provenance.json").read_text())
    web = [s for s in provenance["collectors"] if s["kind"] == "web"]
    assert web and all(s["status"] == "finished" for s in web), web
    assert (web[0]["job"], web[0]["crawl_id"]) == ("crawl", 1) and (audits[0] / "logs" / web[0]["log"]).is_file()
    assert web[0]["options"]["settings"]["db"] == str(audits[0] / "audit.db")
    assert [r["kind"] for r in provenance["runs"]] == ["web"] and provenance["runs"][0]["browser_version"]
    conn = connect_readonly(audits[0] / 'audit.db', immutable=True)
    sites = {r[0] for r in conn.execute("SELECT DISTINCT site FROM visits WHERE status = 'ok'")}
    assert {"example-news.fr", "clean-example.org"} <= sites


def test_planted_violations_are_found_with_evidence(audits):
    found = findings(audits[0])
    by_rule = {(f["rule_id"], f["subject"]) for f in found}
    assert ("consent.tracking-before-consent", "example-news.fr") in by_rule
    assert ("web.session-replay", "example-news.fr") in by_rule
    assert not [f for f in found if f["subject"] == "clean-example.org"]
    conn = connect_readonly(audits[0] / 'audit.db', immutable=True)
    for finding in found:
        tables = {e["table"] for e in finding["evidence"]}
        assert "visits" in tables, finding["rule_id"]
        for ref in finding["evidence"]:
            assert conn.execute(f"SELECT count(*) FROM [{ref['table']}] WHERE id = ?", (ref["id"],)).fetchone()[0] == 1
    tracking = next(f for f in found if f["rule_id"] == "consent.tracking-before-consent")
    assert {"cookies", "requests", "evidence_files"} <= {e["table"] for e in tracking["evidence"]}
    assert "Google" in tracking["detail"] and "Meta" in tracking["detail"]


def test_bundles_verify_and_the_rerun_gives_an_empty_diff(audits):
    for bundle in audits:
        assert mouchard("verify", str(bundle)).returncode == 0
    out = mouchard("diff", str(audits[0]), str(audits[1]))
    assert out.returncode == 0, out.stdout
    assert out.stdout.startswith("identical: the same")
    report = (audits[0] / "report.html").read_text()
    assert "example-news.fr: tracking before any consent" in report and "data:image/png;base64," in report
