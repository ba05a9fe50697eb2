"""mouchard.paths: data never becomes a path. Read-only SQLite URIs. `--keep-bodies` evidence paths."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mouchard.errors import UserError
from mouchard.paths import (TooLarge, UnsafePath, check_relative, copy_tree, copy_verified, hash_inside,
                            open_inside, read_inside, sniff_media_type, walk_files, write_inside)
from mouchard.storage.store import Store, connect_readonly, evidence_dir


@pytest.fixture
def tree(tmp_path):
    """root/ with a file, a folder, a symlink out, a symlinked folder out, a FIFO; a secret beside root."""
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_bytes(b"alpha")
    (root / "sub" / "b.txt").write_bytes(b"beta")
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"SECRET")
    (root / "out.txt").symlink_to(secret)
    (root / "outdir").symlink_to(tmp_path, target_is_directory=True)
    (root / "zero").symlink_to("/dev/zero")
    os.mkfifo(root / "pipe")
    return root


@pytest.mark.parametrize("path", ["/etc/passwd", "..", "../x", "a/../../x", "a//b", "a/", "./a", "", "a\x00b",
                                  "a\nb", "a\tb", "a\x7fb", "a\u0085b", "a\u2028b", "a\u202eb", "a\ufeffb", "a\\b",
                                  "e\u0301", "x" * 256, "/".join(["d"] * 40), None, 7])
def test_odd_paths_are_refused_with_one_line(path):
    with pytest.raises(UnsafePath) as exc:
        check_relative(path)
    assert isinstance(exc.value, UserError) and "\n" not in str(exc.value)


def test_canonical_paths_pass():
    for path in ("a", "a/b.png", "screenshots/12-reject.png", "été/ü.txt", "a.b/c-d_e"):
        assert check_relative(path) == path


def test_symlinks_and_special_files_are_refused(tree):
    assert read_inside(tree, "a.txt", 100) == b"alpha" and read_inside(tree, "sub/b.txt", 100) == b"beta"
    for path in ("out.txt", "outdir/secret.txt", "zero", "pipe", "sub"):
        with pytest.raises(UnsafePath):
            open_inside(tree, path)
    with pytest.raises(FileNotFoundError):
        open_inside(tree, "nope/x")
    with pytest.raises(TooLarge):
        read_inside(tree, "a.txt", 3)
    assert hash_inside(tree, "a.txt").sha256 == hashlib.sha256(b"alpha").hexdigest()


def test_walk_lists_regular_files_and_names_the_rest(tree):
    walk = walk_files(tree)
    assert walk.files == ["a.txt", "sub/b.txt"]
    assert sorted(r for r, _ in walk.refused) == ["out.txt", "outdir", "pipe", "zero"]
    assert walk_files(tree, max_entries=2).truncated


def test_copy_tree_copies_regular_files_only(tree, tmp_path):
    walk = copy_tree(tree, tmp_path / "copy")
    assert sorted(p.relative_to(tmp_path / "copy").as_posix() for p in (tmp_path / "copy").rglob("*")) == [
        "a.txt", "sub", "sub/b.txt"]
    assert len(walk.refused) == 4


def test_copy_verified_needs_the_hash_and_never_writes_through_a_symlink(tree, tmp_path):
    dst = tmp_path / "dst"
    (dst / "x").mkdir(parents=True)
    victim = tmp_path / "victim"
    victim.mkdir()
    (dst / "link").symlink_to(victim, target_is_directory=True)
    alpha = hashlib.sha256(b"alpha").hexdigest()
    assert not copy_verified(tree, "a.txt", dst, "x/a.txt", "0" * 64)
    assert not (dst / "x" / "a.txt").exists() and os.listdir(dst / "x") == []  # no temporary left
    with pytest.raises(UnsafePath):
        copy_verified(tree, "a.txt", dst, "link/authorized_keys", alpha)
    assert os.listdir(victim) == []
    (dst / "x" / "a.txt").symlink_to(victim / "target")
    assert copy_verified(tree, "a.txt", dst, "x/a.txt", alpha)  # the symlink is replaced, its target untouched
    assert not (dst / "x" / "a.txt").is_symlink() and not (victim / "target").exists()
    assert write_inside(dst, "y/z.bin", b"z") and not write_inside(dst, "y/z.bin", b"other")


NAME = st.text(alphabet=string.ascii_letters + "./\\\x00\n\u202e\u2028é-_~", min_size=0, max_size=20)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.one_of(NAME, st.text(max_size=30)))
def test_no_path_from_data_reaches_outside_the_root(tree, path):
    try:
        check_relative(path)
    except UnsafePath:
        accepted = False
    else:
        accepted = True
        resolved = os.path.normpath(os.path.join(tree, path))
        assert resolved.startswith(str(tree) + os.sep)  # lexically inside
    try:
        data = read_inside(tree, path, 1000)
    except (UnsafePath, FileNotFoundError, NotADirectoryError):
        return
    assert accepted and data in (b"alpha", b"beta")


# -- defect 16: read-only URIs ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["case#7.db", "what?.db", "100%.db", "a b.db", "x&mode=rwc.db"])
def test_read_only_connection_opens_that_file_whatever_its_name(tmp_path, name):
    db = tmp_path / name
    with Store(db) as store:
        store.insert("tracker_lists", {"name": "n", "version": "1"})
    conn = connect_readonly(db)
    assert conn.execute("SELECT count(*) FROM tracker_lists").fetchone()[0] == 1
    with pytest.raises(sqlite3.OperationalError):
        conn.execute("INSERT INTO tracker_lists (name) VALUES ('x')")
    conn.close()
    # no other file (before: `case` was opened read-write, created empty); -wal/-shm belong to the database
    assert all(n.startswith(name) for n in os.listdir(tmp_path)), os.listdir(tmp_path)
    with Store(db, readonly=True) as store:
        assert store.count("tracker_lists") == 1


def test_read_only_connection_never_creates_a_missing_file(tmp_path):
    with pytest.raises(UserError, match="no database"):
        connect_readonly(tmp_path / "missing#1.db")
    assert os.listdir(tmp_path) == []


def test_serve_and_merge_read_a_database_named_with_a_hash(tmp_path):
    from mouchard.storage.merge import merge
    from mouchard.publishing.serve import check_database

    db = tmp_path / "case#7.db"
    with Store(db) as store:
        store.start_crawl("web")
    check_database(db)
    assert merge([db], tmp_path / "all.db").shards[0].copied["crawls"] == 1
    assert not (tmp_path / "case").exists()


# -- defect 15: --keep-bodies -------------------------------------------------------------------------------------------

def test_kept_bodies_are_recorded_relative_to_the_evidence_folder_with_a_sniffed_type(tmp_path):
    from addons.pipeline import FlowRecord
    from addons.recorder import StoreSink

    db = tmp_path / "capture.db"
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 20
    with Store(db) as store:
        crawl = store.start_crawl("app")
        sink = StoreSink(store, crawl, evidence_dir(db) / "kept")
        record = FlowRecord(snapshot=None, flow={"url": "https://x.example/", "host": "x.example"})
        record.evidence = [(b"<html>not an image</html>", "response-body", "image/png"),
                           (png, "request-body", "text/html")]
        sink([record])
        rows = store.rows("SELECT path, sha256, media_type FROM evidence_files ORDER BY id")
    assert [r["media_type"] for r in rows] == ["text/html", "image/png"]  # from the bytes, not the header's claim
    for row in rows:
        assert row["path"].startswith("kept/bodies/") and not row["path"].startswith(("/", ".."))
        assert read_inside(evidence_dir(db), row["path"], 1000) is not None
        assert hash_inside(evidence_dir(db), row["path"]).sha256 == row["sha256"]


def test_keep_bodies_outside_the_evidence_folder_is_refused(tmp_path):
    from addons.api import check_keep_bodies

    with pytest.raises(UserError, match="evidence folder"):
        check_keep_bodies(str(tmp_path / "c.db"), str(tmp_path / "elsewhere"))


def test_sniffing_reads_bytes_not_claims():
    assert sniff_media_type(b"GIF89a...") == "image/gif"
    assert sniff_media_type(b'  {"a": 1}') == "application/json"
    assert sniff_media_type(b"\x00\x01\x02binary") == "application/octet-stream"
    assert sniff_media_type(b"RIFF\x00\x00\x00\x00WAVE") != "image/webp"
    assert sniff_media_type("plain é".encode()[:-1]) == "text/plain"
