"""Check an evidence bundle: every file's hash and size, nothing missing, nothing added, the manifest intact.

The manifest must be byte for byte in its canonical form and its digest must match its file list, so changing
any byte of MANIFEST.json is caught too. A timestamp request must be for the bundle digest. A TSA reply
(`timestamp.tsr`) is allowed but not checked here: `openssl ts -verify` does that with the TSA's certificate.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from mouchard.errors import UserError
from mouchard.store import file_sha256

from audits.bundle import (DIGEST_METHOD, FORMAT, MANIFEST, TSQ, TSR, bundle_digest, bundle_files, manifest_bytes)
from audits.timestamp import parse_timestamp_request, timestamp_request


MANIFEST_KEYS = {"format", "digest_method", "files", "digest", "timestamp_request"}
ENTRY_KEYS = {"path", "sha256", "size"}


@dataclass(frozen=True)
class Problem:
    path: str
    kind: str  # changed, missing, added, manifest, timestamp
    detail: str

    def __str__(self) -> str:
        return f"{self.kind:<9} {self.path}: {self.detail}"


@dataclass(frozen=True)
class Verification:
    root: str
    problems: tuple[Problem, ...]
    files: int
    digest: str | None
    case: str | None
    timestamp: str  # what we know about timestamping, in words

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_bundle(root: str | Path) -> Verification:
    """Recompute every hash of the bundle at `root` and compare with its MANIFEST.json."""
    root = Path(root)
    if not root.is_dir():
        raise UserError(f"no bundle folder at {root}")
    problems: list[Problem] = []
    manifest_path = root / MANIFEST
    if not manifest_path.is_file():
        problems.append(Problem(MANIFEST, "missing", "the bundle has no manifest; nothing can be verified"))
        return Verification(str(root), tuple(problems), 0, None, None, "none")
    raw = manifest_path.read_bytes()
    try:
        manifest = _read_manifest(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        problems.append(Problem(MANIFEST, "manifest", f"unreadable or altered: {exc}"))
        return Verification(str(root), tuple(problems), 0, None, None, "none")
    entries = manifest["files"]
    listed = {e["path"]: e for e in entries}
    if manifest_bytes(manifest) != raw:
        problems.append(Problem(MANIFEST, "manifest", "modified: not the bytes mouchard wrote for this content"))
    digest = manifest.get("digest")
    if bundle_digest(entries) != digest:
        problems.append(Problem(MANIFEST, "manifest", "modified: the digest does not match the file list"))
    present = set(bundle_files(root))
    for path in sorted(set(listed) | present):
        if path not in present:
            problems.append(Problem(path, "missing", "listed in the manifest, not in the bundle"))
        elif path not in listed:
            problems.append(Problem(path, "added", "in the bundle, not in the manifest"))
        else:
            file = root / path
            size, want = file.stat().st_size, listed[path]
            actual = file_sha256(file)
            if actual != want.get("sha256") or size != want.get("size"):
                problems.append(Problem(path, "changed", f"sha256 {actual[:16]}… (size {size}), manifest says "
                                                         f"{str(want.get('sha256'))[:16]}… (size {want.get('size')})"))
    timestamp = _check_timestamp(root, manifest, digest, problems)
    return Verification(str(root), tuple(problems), len(entries), digest, _case(root, listed), timestamp)


def _read_manifest(raw: bytes) -> dict:
    """The manifest, checked field by field: only the fields mouchard writes, with the values it can write."""
    manifest = json.loads(raw.decode("utf-8"))
    if not isinstance(manifest, dict) or set(manifest) != MANIFEST_KEYS:
        raise ValueError("not a mouchard bundle manifest (unexpected fields)")
    if manifest["format"] != FORMAT or manifest["digest_method"] != DIGEST_METHOD:
        raise ValueError(f"unknown format {str(manifest['format'])[:60]!r}")
    if manifest["timestamp_request"] not in (None, TSQ):
        raise ValueError("timestamp_request must be null or timestamp.tsq")
    entries = manifest["files"]
    if not isinstance(entries, list) or not isinstance(manifest["digest"], str):
        raise ValueError("files must be a list and digest a string")
    for entry in entries:
        if (not isinstance(entry, dict) or set(entry) != ENTRY_KEYS or not isinstance(entry["path"], str)
                or not isinstance(entry["sha256"], str) or type(entry["size"]) is not int):
            raise ValueError(f"malformed file entry {str(entry)[:80]}")
    if len({e["path"] for e in entries}) != len(entries):
        raise ValueError("a file is listed twice")
    return manifest


def _case(root: Path, listed: dict) -> str | None:
    """The case reference, from provenance.json (a hashed file), for display."""
    if "provenance.json" not in listed:
        return None
    try:
        return json.loads((root / "provenance.json").read_text(encoding="utf-8")).get("case")
    except (OSError, ValueError, AttributeError):
        return None


def _check_timestamp(root: Path, manifest: dict, digest: str | None, problems: list[Problem]) -> str:
    tsq = root / TSQ
    if manifest.get("timestamp_request") and not tsq.is_file():
        problems.append(Problem(TSQ, "missing", "the manifest says a timestamp request was written"))
    if not tsq.is_file():
        return "no timestamp request"
    der = tsq.read_bytes()
    try:
        request = parse_timestamp_request(der)
        if request.digest != digest or timestamp_request(request.digest, request.nonce) != der:
            raise ValueError("not a request for this bundle's digest")
    except ValueError as exc:
        problems.append(Problem(TSQ, "timestamp", str(exc)))
        return "timestamp request invalid"
    if (root / TSR).is_file():
        return f"timestamp request for the digest; reply {TSR} present (check it with openssl ts -verify)"
    return "timestamp request for the digest; no TSA reply yet"
