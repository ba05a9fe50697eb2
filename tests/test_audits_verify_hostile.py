"""Hostile bundles and foreign databases: forged manifests, symlinks, FIFOs, unlisted files, signatures, and an
`audit --from-db` database whose evidence points outside its folder. Everything is generated here (no binary
file committed)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import sqlite3
import string
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audits.bundle import MANIFEST, SIGNATURE, bundle_digest, manifest_bytes, write_manifest
from audits.sign import generate_key_pair, sign_bundle
from audits.verify import read_manifest, verify_bundle
from mouchard.errors import UserError
from mouchard.paths import UnsafePath


def make_bundle(root: Path, files: dict[str, bytes]) -> dict:
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return write_manifest(root)


def kinds(result) -> set[tuple[str, str]]:
    return {(p.path, p.kind) for p in result.problems}


def mouchard(*args):
    env = {k: v for k, v in os.environ.items() if k != "MOUCHARD_DB"}
    return subprocess.run([sys.executable, "-m", "mouchard", *args], capture_output=True, text=True, timeout=120,
                          env=env)


# -- defect 5: a newline in a manifest path forged the digest of a bundle with a file removed ------------------------

def test_a_bundle_with_a_file_removed_cannot_keep_the_digest_through_a_newline_path(tmp_path):
    honest = tmp_path / "honest"
    honest.mkdir()
    manifest = make_bundle(honest, {"a.txt": b"alpha", "b.txt": b"the file the forger removes"})
    a, b = manifest["files"]
    # One entry whose path carries the second line: the manifest lines (and so the digest) are the same.
    forged_path = f"a.txt\n{b['sha256']} {b['size']} b.txt"
    forged = {**manifest, "files": [{"path": forged_path, "sha256": a["sha256"], "size": a["size"]}]}
    assert bundle_digest(forged["files"]) == manifest["digest"]
    bad = tmp_path / "forged"
    bad.mkdir()
    (bad / forged_path).write_bytes(b"alpha")
    (bad / MANIFEST).write_bytes(manifest_bytes(forged))
    result = verify_bundle(bad)
    assert not result.ok
    assert ("MANIFEST.json", "manifest") in kinds(result)
    out = mouchard("verify", str(bad))
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert all(line.split()[0] in {"manifest", "refused"} for line in out.stdout.splitlines())  # quoted, one line each


@pytest.mark.parametrize("path", ["/etc/passwd", "../outside", "a/../b", "a//b", "./a", "a\x00b", "a\rb",
                                  "a\u2028b", "a\u202eb", "e\u0301", "a\\b", ""])
def test_manifest_paths_that_are_not_canonical_are_refused(tmp_path, path):
    manifest = make_bundle(tmp_path, {"a.txt": b"alpha"})
    entry = {**manifest["files"][0], "path": path}
    edited = {**manifest, "files": [entry]}
    edited["digest"] = bundle_digest(edited["files"])
    with pytest.raises(ValueError):
        read_manifest(manifest_bytes(edited))


def test_duplicate_and_unordered_entries_are_refused(tmp_path):
    manifest = make_bundle(tmp_path, {"a.txt": b"alpha", "b.txt": b"beta"})
    for files in (manifest["files"][::-1], [manifest["files"][0]] * 2):
        edited = {**manifest, "files": files, "digest": bundle_digest(files)}
        with pytest.raises(ValueError, match="increasing"):
            read_manifest(manifest_bytes(edited))


# -- symlinks, special files, unlisted files ------------------------------------------------------------------------

def test_a_symlink_to_dev_zero_is_refused_not_followed(tmp_path):
    manifest = make_bundle(tmp_path, {"a.txt": b"alpha", "big.bin": b"x" * 10})
    (tmp_path / "big.bin").unlink()
    (tmp_path / "big.bin").symlink_to("/dev/zero")  # before: verify read /dev/zero forever
    result = verify_bundle(tmp_path)
    assert ("big.bin", "refused") in kinds(result) and not result.ok
    assert manifest["digest"] == result.digest


def test_a_fifo_and_a_symlinked_folder_are_refused(tmp_path):
    make_bundle(tmp_path, {"a.txt": b"alpha", "sub/b.txt": b"beta"})
    os.mkfifo(tmp_path / "pipe")
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    (tmp_path / "linked").symlink_to(outside, target_is_directory=True)
    result = verify_bundle(tmp_path)
    assert {("pipe", "refused"), ("linked", "refused")} <= kinds(result)


def test_a_listed_file_replaced_by_a_symlink_is_refused(tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"alpha")
    root = tmp_path / "bundle"
    root.mkdir()
    make_bundle(root, {"a.txt": b"alpha"})
    (root / "a.txt").unlink()
    (root / "a.txt").symlink_to(outside)  # same bytes, but outside the bundle
    assert ("a.txt", "refused") in kinds(verify_bundle(root))


def test_files_present_but_not_listed_are_named(tmp_path):
    make_bundle(tmp_path, {"a.txt": b"alpha"})
    (tmp_path / "extra.txt").write_text("not in the manifest")
    (tmp_path / "new\nline").write_text("odd name")
    assert kinds(verify_bundle(tmp_path)) == {("extra.txt", "added"), ("'new\\nline'", "refused")}


def test_writing_a_manifest_refuses_a_symlink(tmp_path):
    (tmp_path / "a.txt").write_text("alpha")
    (tmp_path / "link").symlink_to("/etc/hostname")
    with pytest.raises(UserError, match="symlink"):
        write_manifest(tmp_path)


def test_a_larger_file_is_read_only_to_its_listed_size(tmp_path):
    make_bundle(tmp_path, {"a.txt": b"alpha"})
    (tmp_path / "a.txt").write_bytes(b"alpha" * 100_000)
    problem = next(p for p in verify_bundle(tmp_path).problems)
    assert problem.kind == "changed" and "size more than 5" in problem.detail


# -- signatures --------------------------------------------------------------------------------------------------------

def test_a_signed_bundle_verifies_with_the_key_and_fails_with_another(tmp_path):
    private, public = generate_key_pair(tmp_path / "auditor.key")
    _, other = generate_key_pair(tmp_path / "other.key")
    assert oct(private.stat().st_mode)[-3:] == "600"
    root = tmp_path / "bundle"
    root.mkdir()
    make_bundle(root, {"a.txt": b"alpha"})
    fingerprint = sign_bundle(root, private)
    result = verify_bundle(root, public_key=public)
    assert result.ok and result.signer == fingerprint and "signed this manifest" in result.proves
    assert "not checked" in verify_bundle(root).signature and verify_bundle(root).ok
    assert ("MANIFEST.json.sig", "signature") in kinds(verify_bundle(root, public_key=other))
    out = mouchard("verify", str(root), "--key", str(public))
    assert out.returncode == 0 and f"signed by key {fingerprint}" in out.stdout
    assert "nothing about whether the findings are true" in out.stdout
    (root / SIGNATURE).unlink()
    assert ("MANIFEST.json.sig", "missing") in kinds(verify_bundle(root, public_key=public))


def test_openssl_checks_the_signature(tmp_path):
    private, public = generate_key_pair(tmp_path / "auditor.key")
    make_bundle(tmp_path, {"a.txt": b"alpha"})
    sign_bundle(tmp_path, private)
    out = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", str(public), "-rawin", "-in",
                          str(tmp_path / MANIFEST), "-sigfile", str(tmp_path / SIGNATURE)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr


def test_a_bad_key_is_a_one_line_error(tmp_path):
    make_bundle(tmp_path / "b" if (tmp_path / "b").mkdir() is None else tmp_path, {"a.txt": b"alpha"})
    (tmp_path / "junk.pub").write_text("not a key")
    out = mouchard("verify", str(tmp_path / "b"), "--key", str(tmp_path / "junk.pub"))
    assert out.returncode == 1 and "Traceback" not in out.stderr and "not a PEM public key" in out.stderr


# -- property: random trees and manifests --------------------------------------------------------------------------

NAMES = st.text(alphabet=string.ascii_letters + string.digits + "._-\n\x00é\u202e/", min_size=1, max_size=12)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entries=st.lists(st.tuples(NAMES, st.sampled_from(["file", "symlink-out", "symlink-in", "fifo", "dir"])),
                        max_size=6),
       manifest=st.one_of(st.binary(max_size=200), st.builds(lambda files: manifest_bytes({
           "format": "mouchard-evidence-bundle/1", "digest_method": "x", "files": files, "digest": "0" * 64,
           "timestamp_request": None}), st.lists(st.fixed_dictionaries(
               {"path": NAMES, "sha256": st.text("0123456789abcdef", min_size=64, max_size=64),
                "size": st.integers(-1, 10)}), max_size=4))))
def test_verify_never_raises_nor_reads_outside_on_random_trees(tmp_path_factory, entries, manifest):
    root = tmp_path_factory.mktemp("tree")
    secret = root.parent / f"{root.name}.secret"
    secret.write_bytes(b"SECRET")
    for name, kind in entries:
        if "\x00" in name or name.startswith("/") or ".." in name.split("/"):
            continue
        target = root / name
        if os.path.lexists(target):  # never open what an earlier entry made (a FIFO would block the test itself)
            continue
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            if kind == "file":
                target.write_bytes(b"data")
            elif kind == "symlink-out":
                target.symlink_to(secret)
            elif kind == "symlink-in":
                target.symlink_to(".")
            elif kind == "fifo":
                os.mkfifo(target)
            else:
                target.mkdir(exist_ok=True)
        except OSError:
            continue
    (root / MANIFEST).write_bytes(manifest)
    result = verify_bundle(root)  # no exception but UserError, and it returns (no FIFO blocks, no loop)
    assert not result.ok or all(k == "file" for _, k in entries)
    for problem in result.problems:
        assert "SECRET" not in problem.detail and "\n" not in str(problem)


# -- defect 6: audit --from-db with a foreign database ---------------------------------------------------------------

@pytest.fixture
def foreign(tmp_path):
    """A received database whose evidence rows point at a local file: an absolute path, `..`, and a symlink."""
    from data.audits.synthetic import build_case

    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"\x89PNG\r\n\x1a\nTOP-SECRET-LOCAL-FILE")  # looks like a PNG so only containment stops it
    db = build_case(tmp_path / "case" / "foreign.db") if (tmp_path / "case").mkdir() is None else None
    evidence = Path(f"{db}.evidence")
    (evidence / "screenshots" / "link.png").symlink_to(secret)
    conn = sqlite3.connect(db)
    with conn:
        ids = [r[0] for r in conn.execute("SELECT id FROM evidence_files WHERE media_type = 'image/png' ORDER BY id")]
        paths = [str(secret), "/etc/hostname", "../../secret.txt", "screenshots/link.png"]
        for n, file_id in enumerate(ids):  # every screenshot row, so every finding's evidence is hostile
            path = paths[n % len(paths)]
            conn.execute("UPDATE evidence_files SET path = ?, sha256 = ? WHERE id = ?",
                         [path, hashlib.sha256(secret.read_bytes()).hexdigest(), file_id])
    conn.close()
    (tmp_path / "case.yml").write_text(yaml.safe_dump({"case": "FOREIGN-1", "jurisdiction": "eu",
                                                      "targets": {"sites": ["https://www.violator.example/"]}}))
    return tmp_path, db, secret


def test_audit_from_a_foreign_database_copies_no_local_file(foreign):
    from audits.runner import run_audit
    from audits.spec import load_spec

    root, db, secret = foreign
    result = run_audit(load_spec(str(root / "case.yml")), root / "bundle", from_db=db)
    html = (result.out / "report.html").read_text()
    leaked = base64.b64encode(secret.read_bytes()).decode()
    assert leaked not in html and "TOP-SECRET" not in html
    hostname = Path("/etc/hostname")
    if hostname.is_file() and hostname.read_bytes().strip():
        assert base64.b64encode(hostname.read_bytes()).decode() not in html
    copied = result.out / "audit.db.evidence" / "screenshots" / "link.png"
    assert not copied.exists() and not copied.is_symlink()  # the symlink is named, not copied
    step = json.loads((result.out / "provenance.json").read_text())["collectors"][0]
    assert "link.png" in step["reason"]
    assert verify_bundle(result.out).ok


def test_paths_from_data_never_raise_past_userror(tmp_path):
    from audits.report import _image

    for path in ["/etc/hostname", "../x", "a\x00b", None, "", "x" * 5000]:
        data, note = _image(tmp_path, path, "image/png", "0" * 64)
        assert data is None and note
    with pytest.raises(UnsafePath):
        from mouchard.paths import read_inside
        read_inside(tmp_path, "/etc/hostname", 10)
