"""Check an evidence bundle: every file's hash and size, nothing missing, nothing added, the manifest intact.

What `verify` proves, and nothing more (the report and docs/audits.md say the same):
- without `--key`: every file listed in MANIFEST.json has the listed size and SHA-256, no other file is in the
  folder (but the unlisted MANIFEST.json, timestamp.tsq/.tsr and MANIFEST.json.sig), and the manifest is the one
  canonical encoding of that list with its digest. So the folder is exactly the set of files that digest names:
  anyone holding the digest (published, in a letter, timestamped) can tell these are those files; and every WARC
  file whose hash matched (`*.warc.gz`, `*.warc`) reads back record by record with each record's digests matching
  its content (kind "warc"), so a WARC edited and listed in a regenerated manifest does not verify;
- with `--key PUBKEY`: also that MANIFEST.json.sig is a valid Ed25519 signature of that manifest by the holder of
  the matching private key;
- nothing about whether the findings are true, whether the collection was complete, or when it happened (a TSA
  reply, checked with `openssl ts -verify`, says when the digest existed).

The bundle is hostile input: it is walked without following symlinks, a symlink, FIFO, device or socket is a
problem (never opened), each listed file is read only up to its listed size plus one byte, and the manifest's
encoding is checked field by field (see audits.bundle for the canonical form).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from mouchard.errors import UserError
from mouchard.paths import UnsafePath, check_relative, hash_inside, is_safe_relative, read_inside, walk_files

from audits.bundle import (DIGEST_METHOD, FORMAT, MANIFEST, MAX_MANIFEST_BYTES, SIGNATURE, TSQ, TSR, UNLISTED,
                           bundle_digest, manifest_bytes)
from audits.timestamp import parse_timestamp_request, timestamp_request

MANIFEST_KEYS = {"format", "digest_method", "files", "digest", "timestamp_request"}
ENTRY_KEYS = {"path", "sha256", "size"}
HEX64 = re.compile(r"[0-9a-f]{64}")
MAX_SMALL_FILE = 1024 * 1024  # timestamp request, signature, provenance read for display
MAX_SIZE = (1 << 63) - 1
WARC_SUFFIXES = (".warc.gz", ".warc")  # listed files whose records `verify` also checks (check_warc)
WARC_PROBLEMS_SHOWN = 20

PROVES = ("The listed files are byte for byte those the digest names, and the folder holds no other file; "
          "this says nothing about whether the findings are true.")


@dataclass(frozen=True)
class Problem:
    path: str
    kind: str  # changed, missing, added, refused, manifest, timestamp, signature, warc
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
    signature: str = "not signed"  # what we know about the signature, in words
    signer: str | None = None  # fingerprint of the key whose valid signature was checked

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def proves(self) -> str:
        """What this result shows, in one sentence (printed by `mouchard verify`)."""
        if self.signer:
            return PROVES.replace("; this says", f"; the holder of key {self.signer[:16]}… signed this manifest; "
                                                 "this says")
        return PROVES

    def as_json(self) -> dict:
        """What `mouchard verify --json` prints."""
        return {"ok": self.ok, "bundle": self.root, "case": self.case, "files": self.files, "digest": self.digest,
                "timestamp": self.timestamp, "signature": self.signature, "signer": self.signer,
                "proves": self.proves,
                "problems": [{"path": p.path, "kind": p.kind, "detail": p.detail} for p in self.problems]}


def _shown(rel: str) -> str:
    """A path as printed: as it is when canonical, else quoted (a newline in a name never starts a new line)."""
    return rel if is_safe_relative(rel) else repr(rel)[:200]


def verify_bundle(root: str | os.PathLike, *, public_key: str | os.PathLike | None = None) -> Verification:
    """Recompute every hash of the bundle at `root` and compare with its MANIFEST.json; with `public_key` (a PEM
    file), also check MANIFEST.json.sig. Every problem becomes a `Problem`; only a bad argument raises UserError."""
    root = Path(root)
    if not root.is_dir():
        raise UserError(f"no bundle folder at {root}")
    key = None
    if public_key is not None:
        from audits.sign import load_public_key

        key = load_public_key(public_key)
    problems: list[Problem] = []
    walk = walk_files(root)
    for rel, why in walk.refused:
        problems.append(Problem(_shown(rel), "refused", f"{why}: a bundle holds regular files only"))
    if walk.truncated:
        problems.append(Problem(".", "refused", "too many entries: the rest of the folder was not checked"))
    refused = {rel for rel, _ in walk.refused}
    try:
        raw = read_inside(root, MANIFEST, MAX_MANIFEST_BYTES)
    except FileNotFoundError:
        problems.append(Problem(MANIFEST, "missing", "the bundle has no manifest; nothing can be verified"))
        return Verification(str(root), tuple(problems), 0, None, None, "none")
    except UnsafePath as exc:
        problems.append(Problem(MANIFEST, "refused", str(exc)))
        return Verification(str(root), tuple(problems), 0, None, None, "none")
    try:
        manifest = read_manifest(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        problems.append(Problem(MANIFEST, "manifest", f"modified or unreadable: {str(exc)[:200]}"))
        return Verification(str(root), tuple(problems), 0, None, None, "none")
    entries = manifest["files"]
    listed = {e["path"]: e for e in entries}
    digest = manifest["digest"]
    if bundle_digest(entries) != digest:
        problems.append(Problem(MANIFEST, "manifest", "modified: the digest does not match the file list"))
    present = {rel for rel in walk.files if rel not in UNLISTED}
    archives: list[str] = []  # WARC files whose hash matched: their records are checked next
    for path in sorted(set(listed) | present):
        if path in refused:
            continue  # named above
        if path not in present:
            problems.append(Problem(path, "missing", "listed in the manifest, not in the bundle"))
        elif path not in listed:
            problems.append(Problem(_shown(path), "added", "in the bundle, not in the manifest"))
        else:
            want = listed[path]
            try:
                info = hash_inside(root, path, limit=want["size"])  # never reads past the listed size + 1
            except (OSError, UnsafePath) as exc:
                problems.append(Problem(path, "refused", str(exc)[:200]))
                continue
            if info.sha256 != want["sha256"] or info.size != want["size"]:
                size = f"{info.size}" if info.size <= want["size"] else f"more than {want['size']}"
                problems.append(Problem(path, "changed", f"sha256 {info.sha256[:16]}… (size {size}), manifest says "
                                                         f"{want['sha256'][:16]}… (size {want['size']})"))
            elif path.endswith(WARC_SUFFIXES):
                archives.append(path)
    for path in archives:
        problems.extend(_check_archive(root, path))
    timestamp = _check_timestamp(root, manifest, digest, set(walk.files), problems)
    signature, signer = _check_signature(root, raw, key, set(walk.files), problems)
    return Verification(str(root), tuple(problems), len(entries), digest, _case(root, listed), timestamp,
                        signature, signer)


def _check_archive(root: Path, path: str) -> list[Problem]:
    """A WARC file's records read back and their digests recomputed (mouchard.archive.index.check_warc): a WARC
    edited and re-listed in a regenerated manifest still fails here. At most WARC_PROBLEMS_SHOWN lines per file."""
    from mouchard.archive.index import check_warc

    try:
        found = check_warc(root / path)
    except Exception as exc:  # noqa: BLE001 — fail closed: a WARC that cannot be checked does not verify
        return [Problem(path, "warc", f"could not be checked: {type(exc).__name__}: {str(exc)[:160]}")]
    shown = [Problem(path, "warc", " ".join(p.detail.split())[:200]) for p in found[:WARC_PROBLEMS_SHOWN]]
    if len(found) > WARC_PROBLEMS_SHOWN:
        shown.append(Problem(path, "warc", f"and {len(found) - WARC_PROBLEMS_SHOWN} more problem(s)"))
    return shown


def read_manifest(raw: bytes) -> dict:
    """The manifest, checked to be in its one canonical form (audits.bundle): ValueError with the reason if not."""
    manifest = json.loads(raw.decode("utf-8"))
    if not isinstance(manifest, dict) or set(manifest) != MANIFEST_KEYS:
        raise ValueError("not a mouchard bundle manifest (unexpected fields)")
    if manifest["format"] != FORMAT or manifest["digest_method"] != DIGEST_METHOD:
        raise ValueError(f"unknown format {str(manifest['format'])[:60]!r}")
    if manifest["timestamp_request"] not in (None, TSQ):
        raise ValueError("timestamp_request must be null or timestamp.tsq")
    entries = manifest["files"]
    if not isinstance(entries, list) or not isinstance(manifest["digest"], str) or not HEX64.fullmatch(manifest["digest"]):
        raise ValueError("files must be a list and digest 64 lowercase hex digits")
    previous = None
    for entry in entries:
        if (not isinstance(entry, dict) or set(entry) != ENTRY_KEYS or not isinstance(entry["path"], str)
                or not isinstance(entry["sha256"], str) or not HEX64.fullmatch(entry["sha256"])
                or type(entry["size"]) is not int or not 0 <= entry["size"] <= MAX_SIZE):
            raise ValueError(f"malformed file entry {str(entry)[:80]!r}")
        try:
            check_relative(entry["path"])
        except UnsafePath as exc:
            raise ValueError(f"file entry not allowed: {exc}") from None
        if entry["path"] in UNLISTED:
            raise ValueError(f"{entry['path']} is never listed")
        if previous is not None and entry["path"] <= previous:
            raise ValueError("file entries are not in strictly increasing path order (or a file is listed twice)")
        previous = entry["path"]
    if manifest_bytes(manifest) != raw:
        raise ValueError("not the bytes mouchard writes for this content")
    return manifest


def _case(root: Path, listed: dict) -> str | None:
    """The case reference, from provenance.json (a hashed file), for display."""
    if "provenance.json" not in listed:
        return None
    try:
        case = json.loads(read_inside(root, "provenance.json", MAX_SMALL_FILE * 16).decode("utf-8")).get("case")
    except (OSError, UnsafePath, ValueError, AttributeError):
        return None
    return _shown(case)[:200] if isinstance(case, str) else None


def _check_timestamp(root: Path, manifest: dict, digest: str, files: set[str], problems: list[Problem]) -> str:
    if manifest.get("timestamp_request") and TSQ not in files:
        problems.append(Problem(TSQ, "missing", "the manifest says a timestamp request was written"))
    if TSQ not in files:
        return "no timestamp request"
    try:
        der = read_inside(root, TSQ, MAX_SMALL_FILE)
        request = parse_timestamp_request(der)
        if request.digest != digest or timestamp_request(request.digest, request.nonce) != der:
            raise ValueError("not a request for this bundle's digest")
    except (ValueError, OSError, UnsafePath) as exc:
        problems.append(Problem(TSQ, "timestamp", str(exc)[:200]))
        return "timestamp request invalid"
    if TSR in files:
        return f"timestamp request for the digest; reply {TSR} present (check it with openssl ts -verify)"
    return "timestamp request for the digest; no TSA reply yet"


def _check_signature(root: Path, manifest: bytes, key, files: set[str],
                     problems: list[Problem]) -> tuple[str, str | None]:
    """(the signature in words, the signer's key fingerprint when a signature was checked and is valid)."""
    if SIGNATURE not in files:
        if key is not None:
            problems.append(Problem(SIGNATURE, "missing", "--key given but the bundle is not signed"))
        return "not signed", None
    if key is None:
        return f"{SIGNATURE} present, not checked (pass --key with the auditor's public key)", None
    from audits.sign import key_fingerprint, signature_valid

    try:
        signature = read_inside(root, SIGNATURE, MAX_SMALL_FILE)
    except (OSError, UnsafePath) as exc:
        problems.append(Problem(SIGNATURE, "signature", str(exc)[:200]))
        return "signature unreadable", None
    fingerprint = key_fingerprint(key)
    if not signature_valid(manifest, signature, key):
        problems.append(Problem(SIGNATURE, "signature", f"not a signature of this manifest by key {fingerprint[:16]}…"))
        return "signature invalid", None
    return f"signed by key {fingerprint}", fingerprint
