"""The evidence bundle on disk: the audit database and its evidence folder, exports, and MANIFEST.json.

MANIFEST.json lists every file of the bundle (path, sha256, size), sorted by path, and a bundle digest: the
SHA-256 of the manifest lines `<sha256> <size> <path>\\n` in that order. Publishing or timestamping the digest
fixes the whole bundle. MANIFEST.json itself, the timestamp request (`timestamp.tsq`), a TSA reply added later
(`timestamp.tsr`) and the auditor's signature (`MANIFEST.json.sig`) are not listed: they describe the files, and
`mouchard verify` checks them separately.

The canonical manifest (the only one `verify` accepts, so one digest means one set of files):
- every path is canonical for `mouchard.paths.check_relative`: relative, '/'-separated, NFC, no empty, '.' or
  '..' component, no control, format or line-separator character (a newline in a path could otherwise make one
  list of lines read as another), none of the unlisted names above;
- entries are in strictly increasing order of path (code points, which is also UTF-8 byte order): no duplicate;
- `sha256` is 64 lowercase hex digits, `size` an integer 0 <= size < 2**63;
- the file is byte for byte `manifest_bytes` of its content (JSON, 2-space indent, sorted keys, UTF-8, final
  newline), and `digest` is `bundle_digest` of its entries.
Only regular files are listed: a bundle holding a symlink or a special file cannot be written or verified.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from pathlib import Path

from mouchard.errors import UserError
from mouchard.paths import copy_tree, hash_inside, walk_files
from mouchard.settings import evidence_dir
from mouchard.storage.store import connect_readonly

from audits.timestamp import timestamp_request

FORMAT = "mouchard-evidence-bundle/1"
MANIFEST = "MANIFEST.json"
TSQ = "timestamp.tsq"
TSR = "timestamp.tsr"
SIGNATURE = "MANIFEST.json.sig"
UNLISTED = (MANIFEST, TSQ, TSR, SIGNATURE)
MAX_MANIFEST_BYTES = 256 * 1024 * 1024  # the largest manifest read back (verify, sign): a bundle is hostile input
DATABASE = "audit.db"
DIGEST_METHOD = "sha256 of the lines '<sha256> <size> <path>\\n' of every listed file, sorted by path"


def evidence_folder(db: str | os.PathLike) -> Path:
    """Where collectors keep a database's files (screenshots, HAR...): `<db>.evidence/` (mouchard.settings)."""
    return evidence_dir(db)




def bundle_files(root: Path) -> list[str]:
    """Relative POSIX paths of every regular file under `root` but the unlisted ones, sorted (see `file_entries`)."""
    walk = walk_files(root)
    if walk.refused or walk.truncated:
        what = (f"{walk.refused[0][0]!r} is {walk.refused[0][1]}" if walk.refused else "too many files")
        raise UserError(f"{root}: cannot be listed in a manifest: {what}")
    return [rel for rel in walk.files if rel not in UNLISTED]


def file_entries(root: Path) -> list[dict]:
    """The manifest entries of every file (symlinks, special files and odd names are refused, never followed)."""
    entries = []
    for rel in bundle_files(root):
        info = hash_inside(root, rel)
        entries.append({"path": rel, "sha256": info.sha256, "size": info.size})
    return entries


def manifest_lines(entries: list[dict]) -> str:
    return "".join(f"{e['sha256']} {e['size']} {e['path']}\n" for e in sorted(entries, key=lambda e: e["path"]))


def bundle_digest(entries: list[dict]) -> str:
    return hashlib.sha256(manifest_lines(entries).encode("utf-8")).hexdigest()


def manifest_bytes(manifest: dict) -> bytes:
    """The one byte form of a manifest (verify rejects any other spelling of the same content)."""
    return (json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def write_manifest(root: Path, *, timestamp: bool = False) -> dict:
    """Hash every file, write MANIFEST.json (and timestamp.tsq when asked); returns the manifest.

    The manifest holds nothing the digest does not cover but constants: the case, times and versions are in
    provenance.json, a listed file. So any change to any byte of the manifest is detectable.
    """
    entries = file_entries(root)
    manifest = {"format": FORMAT, "digest_method": DIGEST_METHOD, "files": entries, "digest": bundle_digest(entries),
                "timestamp_request": TSQ if timestamp else None}
    (root / MANIFEST).write_bytes(manifest_bytes(manifest))
    if timestamp:
        (root / TSQ).write_bytes(timestamp_request(manifest["digest"]))
    return manifest


# -- the database --------------------------------------------------------------------------------------------


def copy_database(source: Path, target: Path) -> list[tuple[str, str]]:
    """A consistent copy of a (possibly live, WAL-mode) database and the regular files of its evidence folder.

    The source may come from someone else: symlinks and special files in its evidence folder are neither
    followed nor copied; they are returned as (path, why) for the caller to report."""
    try:
        src = connect_readonly(source)
        dst = sqlite3.connect(target)
        with dst:
            src.backup(dst)
        src.close()
        dst.close()
    except sqlite3.DatabaseError as exc:
        raise UserError(f"{source} is not a usable SQLite database: {exc}") from None
    folder = evidence_folder(source)
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        return [(folder.name, "the evidence folder is a symlink or not a folder: not copied")]
    if not folder.is_dir():
        return []
    walk = copy_tree(folder, evidence_folder(target))
    return walk.refused + ([(folder.name, "too many files: the rest not copied")] if walk.truncated else [])


def seal_database(conn: sqlite3.Connection) -> None:
    """Fold the write-ahead log into the file and leave WAL mode: the bundle's database is one stable file."""
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("PRAGMA journal_mode=DELETE")


def open_sealed(db: Path) -> sqlite3.Connection:
    """Read a bundle's database without touching it (no -wal, -shm or journal file is created)."""
    if not db.is_file():
        raise UserError(f"no database at {db}")
    conn = connect_readonly(db, immutable=True)
    conn.row_factory = sqlite3.Row
    return conn


# -- exports -------------------------------------------------------------------------------------------------


def write_json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True, default=str) + "\n", encoding="utf-8")


def _json_column(value):
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def export_consent(conn: sqlite3.Connection, path: Path) -> int:
    """Every consent string and CMP state, with the page and phase it belongs to (consent-strings.json)."""
    cur = conn.execute("""
        SELECT c.*, v.url AS visit_url, v.site AS visit_site, v.crawl_id FROM consent c
        LEFT JOIN visits v ON v.id = c.visit_id ORDER BY c.id""")
    names = [d[0] for d in cur.description]
    rows = [{k: _json_column(v) for k, v in zip(names, r)} for r in cur]
    write_json(path, rows)
    return len(rows)


def export_findings(conn: sqlite3.Connection, path: Path) -> int:
    """The findings table as JSON (findings.json), in rule, subject, fingerprint order."""
    cur = conn.execute("SELECT * FROM findings ORDER BY rule_id, subject, fingerprint")
    names = [d[0] for d in cur.description]
    rows = [{k: _json_column(v) if k == "evidence" else v for k, v in zip(names, r)} for r in cur]
    write_json(path, rows)
    return len(rows)


def export_broker_snapshots(conn: sqlite3.Connection, folder: Path) -> int:
    """Text snapshots of broker pages, one file each (snapshots/broker-pages/<id>-<kind>.txt)."""
    count = 0
    for row_id, kind, url, fetched, text in conn.execute(
            "SELECT id, kind, url, fetched_at, text FROM broker_pages WHERE text IS NOT NULL ORDER BY id"):
        folder.mkdir(parents=True, exist_ok=True)
        safe_kind = "".join(c if c.isalnum() or c in "-_" else "-" for c in (kind or "page"))
        (folder / f"{row_id}-{safe_kind}.txt").write_text(f"{url}\nfetched {fetched}\n\n{text}", encoding="utf-8")
        count += 1
    return count
