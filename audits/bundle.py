"""The evidence bundle on disk: the audit database and its evidence folder, exports, and MANIFEST.json.

MANIFEST.json lists every file of the bundle (path, sha256, size), sorted by path, and a bundle digest: the
SHA-256 of the manifest lines `<sha256> <size> <path>\\n` in that order. Publishing or timestamping the digest
fixes the whole bundle. MANIFEST.json itself, the timestamp request (`timestamp.tsq`) and a TSA reply added later
(`timestamp.tsr`) are not listed: they describe the files, and `mouchard verify` checks them separately.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
from pathlib import Path

from mouchard.store import file_sha256
from mouchard.errors import UserError

from audits.timestamp import timestamp_request

FORMAT = "mouchard-evidence-bundle/1"
MANIFEST = "MANIFEST.json"
TSQ = "timestamp.tsq"
TSR = "timestamp.tsr"
UNLISTED = (MANIFEST, TSQ, TSR)
DATABASE = "audit.db"
DIGEST_METHOD = "sha256 of the lines '<sha256> <size> <path>\\n' of every listed file, sorted by path"


def evidence_folder(db: str | os.PathLike) -> Path:
    """Where collectors keep a database's files (screenshots, HAR...): `<db>.evidence/`."""
    return Path(f"{db}.evidence")




def bundle_files(root: Path) -> list[str]:
    """Relative POSIX paths of every file under `root` but the unlisted ones, sorted."""
    found = []
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in files:
            rel = (Path(folder) / name).relative_to(root).as_posix()
            if rel not in UNLISTED:
                found.append(rel)
    return sorted(found)


def file_entries(root: Path) -> list[dict]:
    entries = []
    for rel in bundle_files(root):
        if "\n" in rel or "\r" in rel:
            raise UserError(f"{root}: file name with a line break cannot be listed in a manifest: {rel!r}")
        path = root / rel
        entries.append({"path": rel, "sha256": file_sha256(path), "size": path.stat().st_size})
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


def copy_database(source: Path, target: Path) -> None:
    """A consistent copy of a (possibly live, WAL-mode) database and its evidence folder."""
    try:
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        dst = sqlite3.connect(target)
        with dst:
            src.backup(dst)
        src.close()
        dst.close()
    except sqlite3.DatabaseError as exc:
        raise UserError(f"{source} is not a usable SQLite database: {exc}") from None
    if evidence_folder(source).is_dir():
        shutil.copytree(evidence_folder(source), evidence_folder(target))


def seal_database(conn: sqlite3.Connection) -> None:
    """Fold the write-ahead log into the file and leave WAL mode: the bundle's database is one stable file."""
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("PRAGMA journal_mode=DELETE")


def open_sealed(db: Path) -> sqlite3.Connection:
    """Read a bundle's database without touching it (no -wal, -shm or journal file is created)."""
    if not db.is_file():
        raise UserError(f"no database at {db}")
    conn = sqlite3.connect(f"file:{db}?mode=ro&immutable=1", uri=True)
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
