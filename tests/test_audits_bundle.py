"""Evidence bundles: contents, verify (any changed, missing or added byte is named), diff, timestamp request."""

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from data.audits.synthetic import EXPECTED, build_case

from audits.bundle import MANIFEST, bundle_digest, manifest_lines, write_manifest
from audits.diff import diff_findings, load_findings
from audits.timestamp import parse_timestamp_request, timestamp_request
from audits.verify import verify_bundle
from mouchard.storage.store import connect_readonly

SPEC = {"case": "CNIL-2026-0042", "jurisdiction": "eu", "phases": ["initial", "reject", "accept", "gpc"],
        "targets": {"sites": ["https://www.violator.example/", "https://www.compliant.example/"], "brokers": "ca"},
        "network": {"host_map": ["*=127.0.0.1"], "ignore_https_errors": True}, "seed": 7}


def mouchard(*args):
    env = {k: v for k, v in os.environ.items() if k != "MOUCHARD_DB"}
    return subprocess.run([sys.executable, "-m", "mouchard", *args], capture_output=True, text=True, timeout=120,
                          env=env)


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    root = tmp_path_factory.mktemp("bundles")
    (root / "case.yml").write_text(yaml.safe_dump(SPEC, sort_keys=False))
    build_case(root / "case.db")
    build_case(root / "clean.db", violations=False)
    return root


@pytest.fixture(scope="module")
def bundle(work):
    """A bundle made by the command line from the synthetic case, with a timestamp request."""
    out = mouchard("audit", str(work / "case.yml"), "--out", str(work / "b1"), "--from-db", str(work / "case.db"),
                   "--timestamp-request")
    assert out.returncode == 0, out.stderr
    assert f"{len(EXPECTED)} findings" in out.stdout and "digest " in out.stdout
    return work / "b1"


@pytest.fixture
def copy(bundle, tmp_path):
    target = tmp_path / "copy"
    shutil.copytree(bundle, target)
    return target


def test_bundle_holds_the_evidence_and_its_provenance(bundle):
    manifest = json.loads((bundle / MANIFEST).read_text())
    paths = [e["path"] for e in manifest["files"]]
    assert paths == sorted(paths)
    for expected in ("audit.db", "spec.yml", "provenance.json", "consent-strings.json", "findings.json", "report.html"):
        assert expected in paths
    assert any(p.startswith("audit.db.evidence/screenshots/") and p.endswith(".png") for p in paths)
    assert any(p.startswith("snapshots/broker-pages/") for p in paths)
    assert not any(p.endswith(("-wal", "-shm", "-journal")) for p in os.listdir(bundle))
    assert manifest["digest"] == hashlib.sha256(manifest_lines(manifest["files"]).encode()).hexdigest()
    assert (bundle / "spec.yml").read_bytes() == (bundle.parent / "case.yml").read_bytes()
    provenance = json.loads((bundle / "provenance.json").read_text())
    assert provenance["case"] == "CNIL-2026-0042" and provenance["started_at"] <= provenance["finished_at"]
    assert provenance["vantage"]["ip"] == "unknown" and provenance["vantage"]["country"] == "unknown"
    assert provenance["dependencies"]["python"] and provenance["tool"]["version"]
    assert provenance["browser"]["version"] and isinstance(provenance["browser"]["args"], list)
    assert provenance["tracker_lists"] == [{"name": "mouchard", "version": "2026.01", "sha256": "ab" * 32,
                                            "licence": "AGPL-3.0-or-later"}]
    assert [r["kind"] for r in provenance["runs"]] == ["web", "import", "brokers-fetch", "brokers-crawl", "brokers-crawl"]
    assert provenance["runs"][0]["browser_version"] == "Chromium 156.0.0.0"
    assert {r["id"] for r in provenance["rules"]} == set(EXPECTED)
    consent = json.loads((bundle / "consent-strings.json").read_text())
    assert {"raw", "decoded", "visit_url", "phase"} <= set(consent[0]) and isinstance(consent[0]["decoded"], dict)
    findings = json.loads((bundle / "findings.json").read_text())
    assert len(findings) == len(EXPECTED) and isinstance(findings[0]["evidence"], list)


def test_bundle_database_is_one_sealed_file(bundle):
    conn = connect_readonly(bundle / 'audit.db', immutable=True)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal"
    kinds = [r[0] for r in conn.execute("SELECT kind FROM crawls ORDER BY id")]
    assert kinds[-1] == "audit" and conn.execute("SELECT count(*) FROM findings").fetchone()[0] == len(EXPECTED)


def test_fresh_bundle_verifies(bundle):
    out = mouchard("verify", str(bundle))
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.startswith(f"OK {bundle}:") and "case CNIL-2026-0042" in out.stdout
    assert "timestamp request for the digest" in out.stdout
    report = json.loads(mouchard("verify", str(bundle), "--json").stdout)
    assert report["ok"] and report["problems"] == [] and report["digest"] == json.loads((bundle / MANIFEST).read_text())["digest"]


def flip(path: Path, position: int | None = None) -> None:
    data = bytearray(path.read_bytes())
    at = len(data) // 2 if position is None else position
    data[at] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("name", ["audit.db", "report.html", "spec.yml", "provenance.json", "findings.json",
                                  "consent-strings.json", "screenshot"])
def test_verify_names_the_file_after_one_byte_changes(copy, name):
    if name == "screenshot":
        name = next(p for p in sorted((copy / "audit.db.evidence").rglob("*.png"))).relative_to(copy).as_posix()
    flip(copy / name)
    out = mouchard("verify", str(copy))
    assert out.returncode == 1
    assert out.stdout.splitlines() == [next(line for line in out.stdout.splitlines() if name in line)]
    assert out.stdout.startswith(f"changed   {name}: sha256")
    assert "FAILED" in out.stderr


def test_any_byte_of_any_listed_file_is_caught(copy):
    manifest = json.loads((copy / MANIFEST).read_text())
    for number, entry in enumerate(manifest["files"]):
        path = copy / entry["path"]
        original = path.read_bytes()
        flip(path, (number * 7919) % len(original))
        result = verify_bundle(copy)
        assert [(p.path, p.kind) for p in result.problems] == [(entry["path"], "changed")], entry["path"]
        path.write_bytes(original)
    assert verify_bundle(copy).ok


def test_added_and_missing_files_are_named(copy):
    (copy / "audit.db.evidence" / "extra.txt").write_text("planted later")
    (copy / "notes.md").write_text("x")
    (copy / "findings.json").unlink()
    out = mouchard("verify", str(copy))
    assert out.returncode == 1
    assert out.stdout.splitlines() == [
        "added     audit.db.evidence/extra.txt: in the bundle, not in the manifest",
        "missing   findings.json: listed in the manifest, not in the bundle",
        "added     notes.md: in the bundle, not in the manifest"]


def test_a_write_ahead_log_beside_the_database_is_an_added_file(copy):
    conn = sqlite3.connect(copy / "audit.db")  # opening it for writing in WAL mode leaves files behind
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("INSERT INTO findings (rule_id) VALUES ('planted')")
    conn.commit()
    problems = {(p.path, p.kind) for p in verify_bundle(copy).problems}
    conn.close()
    assert ("audit.db", "changed") in problems or ("audit.db-wal", "added") in problems


def test_manifest_edits_are_caught(copy):
    raw = (copy / MANIFEST).read_bytes()
    (copy / MANIFEST).write_bytes(raw.replace(b'\n  "digest"', b'\n "digest"', 1))  # same JSON, other bytes
    out = mouchard("verify", str(copy))
    assert out.returncode == 1 and out.stdout.startswith("manifest  MANIFEST.json: modified")
    manifest = json.loads(raw)
    manifest["digest"] = "0" * 64
    (copy / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    assert [(p.path, p.detail) for p in verify_bundle(copy).problems] == [
        (MANIFEST, "modified: the digest does not match the file list"),
        ("timestamp.tsq", "not a request for this bundle's digest")]
    (copy / MANIFEST).unlink()
    out = mouchard("verify", str(copy))
    assert out.returncode == 1 and "missing   MANIFEST.json" in out.stdout


def test_every_byte_of_a_manifest_is_protected(tmp_path):
    for name, text in (("a.txt", "alpha"), ("sub/b.json", "{}"), ("c.db", "gamma")):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(text)
    write_manifest(tmp_path, timestamp=True)
    raw = (tmp_path / MANIFEST).read_bytes()
    assert verify_bundle(tmp_path).ok
    for position in range(len(raw)):
        changed = bytearray(raw)
        changed[position] ^= 0x01
        (tmp_path / MANIFEST).write_bytes(bytes(changed))
        assert not verify_bundle(tmp_path).ok, f"byte {position} ({chr(raw[position])!r}) of the manifest"
    (tmp_path / MANIFEST).write_bytes(raw)
    assert verify_bundle(tmp_path).ok


def test_timestamp_request_is_for_the_digest(copy):
    digest = json.loads((copy / MANIFEST).read_text())["digest"]
    request = parse_timestamp_request((copy / "timestamp.tsq").read_bytes())
    assert request.digest == digest and request.cert_req and request.nonce > 0
    flip(copy / "timestamp.tsq", 30)
    assert [p.path for p in verify_bundle(copy).problems] == ["timestamp.tsq"]
    (copy / "timestamp.tsq").unlink()
    assert [(p.path, p.kind) for p in verify_bundle(copy).problems] == [("timestamp.tsq", "missing")]
    (copy / "timestamp.tsq").write_bytes(timestamp_request(digest))
    (copy / "timestamp.tsr").write_bytes(b"a TSA reply, checked by openssl")
    result = verify_bundle(copy)
    assert result.ok and "reply timestamp.tsr present" in result.timestamp


@pytest.mark.skipif(not shutil.which("openssl"), reason="openssl is not installed")
def test_openssl_reads_the_timestamp_request(bundle):
    out = subprocess.run(["openssl", "ts", "-query", "-in", str(bundle / "timestamp.tsq"), "-text"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    digest = json.loads((bundle / MANIFEST).read_text())["digest"]
    hex_dump = "".join(line.split(" - ")[1].replace("-", " ").split("  ")[0].replace(" ", "")
                       for line in out.stdout.splitlines() if " - " in line)
    assert "Hash Algorithm: sha256" in out.stdout and "Certificate required: yes" in out.stdout
    assert hex_dump == digest


def test_der_encoding_of_large_nonces_and_lengths():
    digest = hashlib.sha256(b"x").hexdigest()
    for nonce in (0, 1, 127, 128, 255, 2**63, 2**64 - 1):
        assert parse_timestamp_request(timestamp_request(digest, nonce)).nonce == nonce
    with pytest.raises(ValueError):
        timestamp_request("ab" * 20)


def test_bundle_digest_is_order_independent_and_covers_every_field():
    entries = [{"path": "b", "sha256": "1" * 64, "size": 1}, {"path": "a", "sha256": "2" * 64, "size": 2}]
    assert bundle_digest(entries) == bundle_digest(list(reversed(entries)))
    assert bundle_digest(entries) != bundle_digest([{**entries[0], "size": 3}, entries[1]])


def test_refuses_to_write_into_a_folder_with_files(work):
    (work / "busy").mkdir(exist_ok=True)
    (work / "busy" / "old.txt").write_text("older evidence")
    out = mouchard("audit", str(work / "case.yml"), "--out", str(work / "busy"), "--from-db", str(work / "case.db"))
    assert out.returncode == 1 and "already exists and is not an empty folder" in out.stderr


# -- diff ------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rerun(work, bundle):
    out = mouchard("audit", str(work / "case.yml"), "--out", str(work / "b2"), "--from-db", str(work / "case.db"))
    assert out.returncode == 0, out.stderr
    return work / "b2"


@pytest.fixture(scope="module")
def clean(work):
    out = mouchard("audit", str(work / "case.yml"), "--out", str(work / "clean"), "--from-db", str(work / "clean.db"))
    assert out.returncode == 0, out.stderr
    return work / "clean"


def test_diff_of_two_runs_of_the_same_spec_is_empty(bundle, rerun):
    out = mouchard("diff", str(bundle), str(rerun))
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.strip() == f"identical: the same {len(EXPECTED)} findings"
    as_json = json.loads(mouchard("diff", str(bundle), str(rerun), "--json").stdout)
    assert as_json == {"identical": True, "unchanged": len(EXPECTED), "appeared": [], "disappeared": [], "changed": []}


def test_diff_shows_appeared_and_disappeared_findings(bundle, clean):
    out = mouchard("diff", str(clean), str(bundle))
    assert out.returncode == 1
    lines = out.stdout.splitlines()
    assert sum(line.startswith("appeared") for line in lines) == len(EXPECTED)
    assert lines[-1] == f"{len(EXPECTED)} appeared, 0 disappeared, 0 changed, 0 unchanged"
    back = json.loads(mouchard("diff", str(bundle), str(clean), "--json").stdout)
    assert len(back["disappeared"]) == len(EXPECTED) and not back["identical"]
    assert {r["rule_id"] for r in back["disappeared"]} == set(EXPECTED)


def test_diff_pairs_a_finding_whose_facts_changed(bundle, tmp_path):
    before = load_findings(bundle)
    after = [dict(f) for f in before]
    target = next(f for f in after if f["rule_id"] == "consent.tracking-before-consent")
    target.update(fingerprint="f" * 64, detail=target["detail"] + " And one more tracker.")
    other = next(f for f in after if f["rule_id"] == "web.id-sync")
    other.update(severity="high", rule_version="2")
    diff = diff_findings(before, after)
    assert (diff.appeared, diff.disappeared) == ([], [])
    changed = {c.after["rule_id"]: c.fields for c in diff.changed}
    assert changed == {"consent.tracking-before-consent": ("facts", "detail"),
                       "web.id-sync": ("severity", "rule_version")}
    assert diff.unchanged == len(EXPECTED) - 2


def test_diff_reads_database_files_too_and_fails_cleanly_on_garbage(bundle, tmp_path):
    assert mouchard("diff", str(bundle / "audit.db"), str(bundle)).returncode == 0
    (tmp_path / "junk.db").write_text("not sqlite")
    out = mouchard("diff", str(bundle), str(tmp_path / "junk.db"))
    assert out.returncode == 2 and out.stderr.startswith("mouchard: ") and "Traceback" not in out.stderr
    missing = mouchard("diff", str(bundle), str(tmp_path / "none"))
    assert missing.returncode == 2


def test_reading_a_bundle_for_diff_leaves_it_verifiable(bundle, rerun):
    load_findings(bundle)
    assert verify_bundle(bundle).ok and verify_bundle(rerun).ok


def test_vantage_is_looked_up_only_when_asked(work, tmp_path):
    import http.server
    import threading

    class Answer(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps({"ip": "203.0.113.7", "country": "FR", "org": "test"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/json"
        out = mouchard("audit", str(work / "case.yml"), "--out", str(tmp_path / "v"), "--from-db",
                       str(work / "clean.db"), "--vantage-lookup", "--vantage-url", url)
        assert out.returncode == 0, out.stderr
        vantage = json.loads((tmp_path / "v" / "provenance.json").read_text())["vantage"]
        assert (vantage["ip"], vantage["country"], vantage["source"]) == ("203.0.113.7", "FR", url)
        server.shutdown()
        server.server_close()  # refused from now on: the lookup fails at once
        down = mouchard("audit", str(work / "case.yml"), "--out", str(tmp_path / "w"), "--from-db",
                        str(work / "clean.db"), "--vantage-lookup", "--vantage-url", url)
        vantage = json.loads((tmp_path / "w" / "provenance.json").read_text())["vantage"]
        assert down.returncode == 0 and vantage["ip"] == "unknown" and vantage["note"].startswith("lookup failed")
    finally:
        server.server_close()


def test_a_bundle_holds_only_what_its_audit_concluded(work, tmp_path):
    db = tmp_path / "foreign.db"
    shutil.copyfile(work / "case.db", db)
    conn = sqlite3.connect(db)
    with conn:  # a finding written earlier by another command, with a rule this audit does not apply
        conn.execute("INSERT INTO findings (crawl_id, rule_id, subject, fingerprint) VALUES (1, 'other.rule', 's', 'x')")
    conn.close()
    spec = dict(SPEC, rules=["consent.gpc-ignored"])
    (tmp_path / "subset.yml").write_text(yaml.safe_dump(spec))
    out = mouchard("audit", str(tmp_path / "subset.yml"), "--out", str(tmp_path / "b"), "--from-db", str(db))
    assert out.returncode == 0, out.stderr
    assert [f["rule_id"] for f in json.loads((tmp_path / "b" / "findings.json").read_text())] == ["consent.gpc-ignored"]
    assert "other.rule" not in (tmp_path / "b" / "report.html").read_text()
