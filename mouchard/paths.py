"""Paths built from data: one checked way from a relative path found in a database, manifest or shard to a file.

Every path that comes from data (an `evidence_files.path`, a manifest entry, a shard's files) goes through here,
never through `Path(root) / text`. A path is accepted only in its canonical form (`check_relative`): relative,
'/'-separated, NFC, every component a plain name (no '', '.', '..', backslash, NUL, control, format or line
separator character), bounded in length and depth. Files are then reached from an open descriptor of the root,
one component at a time with O_NOFOLLOW (`openat`), so no symlink anywhere on the way is followed and nothing
outside the root can be reached whatever is renamed meanwhile; only regular files are opened (a FIFO, device,
socket or symlink is refused before it is opened: no hang on /dev/zero, no blocking open of a FIFO).
Walking a tree (`walk_files`) lists regular files and names every other entry as refused, within a budget.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import stat
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from mouchard.errors import UserError

MAX_COMPONENT_BYTES = 255  # a file name on every common file system
MAX_PATH_BYTES = 1024
MAX_DEPTH = 32  # components of a relative path
MAX_WALK_ENTRIES = 200_000  # entries `walk_files` looks at before it stops (counted, reported)
CHUNK = 1 << 20
# Unicode categories refused in a name: controls (incl. newline, NUL), format (bidi overrides, zero width),
# surrogates, private use, line and paragraph separators. They make one name look like another or a line break.
REFUSED_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Zl", "Zp"}
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)


class UnsafePath(UserError):
    """A path from data that may not be used (outside the root, a symlink, a special file, an odd name)."""


class TooLarge(UnsafePath):
    """A file larger than the caller's limit (it was not read past the limit)."""


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISLNK, "a symlink"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a folder")):
        if test(mode):
            return name
    return "not a regular file"


def check_relative(text: object) -> str:
    """`text` if it is a canonical relative path (see the module docstring); UnsafePath otherwise."""
    if not isinstance(text, str) or not text:
        raise UnsafePath("empty or non-text path")
    shown = repr(text[:80])
    try:
        encoded = text.encode("utf-8")
    except UnicodeEncodeError:
        raise UnsafePath(f"path {shown} is not valid UTF-8") from None
    if len(encoded) > MAX_PATH_BYTES:
        raise UnsafePath(f"path {shown}… longer than {MAX_PATH_BYTES} bytes")
    if text.startswith("/"):
        raise UnsafePath(f"absolute path {shown}")
    if unicodedata.normalize("NFC", text) != text:
        raise UnsafePath(f"path {shown} is not in Unicode normal form C")
    for char in text:
        if unicodedata.category(char) in REFUSED_CATEGORIES or char == "\\":
            raise UnsafePath(f"path {shown} holds a control, format or separator character")
    parts = text.split("/")
    if len(parts) > MAX_DEPTH:
        raise UnsafePath(f"path {shown} deeper than {MAX_DEPTH} folders")
    for part in parts:
        if part in ("", ".", ".."):
            raise UnsafePath(f"path {shown} has an empty, '.' or '..' component")
        if len(part.encode("utf-8")) > MAX_COMPONENT_BYTES:
            raise UnsafePath(f"path {shown} has a name longer than {MAX_COMPONENT_BYTES} bytes")
    return text


def is_safe_relative(text: object) -> bool:
    try:
        check_relative(text)
    except UnsafePath:
        return False
    return True


def inside(root: str | os.PathLike, text: str) -> Path:
    """The path `root/text` after `check_relative` (for display and error messages; open it with `open_inside`)."""
    return Path(root) / check_relative(text)


def _open_root(root: str | os.PathLike) -> int:
    """The root folder, chosen by the user (it may itself be reached through a symlink: it is not data)."""
    try:
        return os.open(os.fspath(root), os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise UnsafePath(f"cannot open folder {root}: {exc.strerror}") from None


def _descend(fd: int, parts: list[str], text: str, *, create: bool = False) -> int:
    """Open each folder of `parts` under the folder `fd` without following a symlink; closes `fd`."""
    try:
        for part in parts:
            try:
                nxt = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    raise
                try:
                    os.mkdir(part, 0o755, dir_fd=fd)
                except FileExistsError:
                    pass  # made meanwhile: opened (and checked) below
                nxt = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:  # ELOOP: a symlink; ENOTDIR: a file where a folder should be
                raise UnsafePath(f"path {text[:80]!r}: {part[:40]!r} is a symlink or not a folder "
                                 f"({exc.strerror})") from None
            os.close(fd)
            fd = nxt
        return fd
    except BaseException:
        os.close(fd)
        raise


@contextmanager
def _parent(root: str | os.PathLike, text: str, *, create: bool = False) -> Iterator[tuple[int, str]]:
    """(descriptor of the folder holding `text`, its last name), reached without following symlinks."""
    parts = check_relative(text).split("/")
    fd = _descend(_open_root(root), parts[:-1], text, create=create)
    try:
        yield fd, parts[-1]
    finally:
        os.close(fd)


@dataclass(frozen=True)
class FileInfo:
    size: int
    sha256: str


def open_inside(root: str | os.PathLike, text: str) -> BinaryIO:
    """Open the regular file `root/text` for reading (binary) with every check of the module docstring.

    FileNotFoundError when it does not exist; UnsafePath when it may not be read."""
    with _parent(root, text) as (fd, name):
        before = os.stat(name, dir_fd=fd, follow_symlinks=False)  # FileNotFoundError when absent
        if not stat.S_ISREG(before.st_mode):
            raise UnsafePath(f"{text[:80]!r} is {_kind(before.st_mode)}, not a regular file")
        try:
            handle = os.open(name, _FILE_FLAGS, dir_fd=fd)
        except OSError as exc:
            raise UnsafePath(f"cannot open {text[:80]!r}: {exc.strerror}") from None
    after = os.fstat(handle)
    if not stat.S_ISREG(after.st_mode) or (after.st_dev, after.st_ino) != (before.st_dev, before.st_ino):
        os.close(handle)
        raise UnsafePath(f"{text[:80]!r} was replaced while it was opened")
    os.set_blocking(handle, True)
    return os.fdopen(handle, "rb")


def read_inside(root: str | os.PathLike, text: str, limit: int) -> bytes:
    """The bytes of `root/text`, at most `limit` (UnsafePath when larger)."""
    with open_inside(root, text) as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(f"{text[:80]!r} is larger than {limit} bytes")
    return data


def hash_inside(root: str | os.PathLike, text: str, limit: int | None = None) -> FileInfo:
    """Size and SHA-256 of `root/text`; with `limit`, reading stops after limit+1 bytes (the size then says so)."""
    digest = hashlib.sha256()
    size = 0
    with open_inside(root, text) as handle:
        while limit is None or size <= limit:
            want = CHUNK if limit is None else min(CHUNK, limit + 1 - size)
            chunk = handle.read(want)
            if not chunk:
                break
            digest.update(chunk)
            size += len(chunk)
    return FileInfo(size, digest.hexdigest())


def _replace_from(fd: int, name: str, chunks: Iterator[bytes], sha256: str | None = None) -> bool:
    """Write `chunks` to a new temporary file in folder `fd`, then rename it to `name` (which replaces a symlink
    itself, never its target); with `sha256`, only if the bytes hash to it (else nothing is left). True if written."""
    tmp = f".{name[:200]}.{secrets.token_hex(6)}.part"
    out = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0), 0o644,
                  dir_fd=fd)
    digest = hashlib.sha256()
    try:
        with os.fdopen(out, "wb") as sink:
            for chunk in chunks:
                digest.update(chunk)
                sink.write(chunk)
        if sha256 is not None and digest.hexdigest() != sha256:
            os.unlink(tmp, dir_fd=fd)
            return False
        os.replace(tmp, name, src_dir_fd=fd, dst_dir_fd=fd)
    except BaseException:
        try:
            os.unlink(tmp, dir_fd=fd)
        except OSError:
            pass
        raise
    return True


def copy_verified(src_root: str | os.PathLike, src: str, dst_root: str | os.PathLike, dst: str,
                  sha256: str) -> bool:
    """Copy `src_root/src` to `dst_root/dst` (folders created, never through a symlink) only if its bytes hash
    to `sha256`; the copy is written to a temporary name and renamed into place, so a mismatch leaves nothing.
    True when copied, False on a mismatch; FileNotFoundError / UnsafePath as `open_inside`."""
    Path(dst_root).mkdir(parents=True, exist_ok=True)  # the root is the caller's choice, not data
    with open_inside(src_root, src) as source, _parent(dst_root, dst, create=True) as (fd, name):
        return _replace_from(fd, name, iter(lambda: source.read(CHUNK), b""), sha256)


@dataclass
class Walk:
    """What `walk_files` found: regular files (canonical relative paths, sorted) and everything it refused."""

    files: list[str]
    refused: list[tuple[str, str]]  # (relative path as text, why)
    truncated: bool = False


def walk_files(root: str | os.PathLike, *, max_entries: int = MAX_WALK_ENTRIES) -> Walk:
    """Every regular file under `root`, without following symlinks; symlinks, special files and names that are
    not canonical are listed as refused (never opened). Iterative; stops after `max_entries` entries."""
    files: list[str] = []
    refused: list[tuple[str, str]] = []
    seen = 0
    stack: list[tuple[int, str]] = [(_open_root(root), "")]
    try:
        while stack:
            fd, prefix = stack.pop()
            try:
                with os.scandir(fd) as entries:
                    names = sorted(e.name for e in entries)
                for name in names:
                    seen += 1
                    if seen > max_entries:
                        return Walk(sorted(files), refused, truncated=True)
                    rel = f"{prefix}{name}"
                    if not is_safe_relative(rel):
                        refused.append((rel, "a name that is not allowed (control character, odd form or too long)"))
                        continue
                    mode = os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode
                    if stat.S_ISDIR(mode):
                        try:
                            stack.append((os.open(name, _DIR_FLAGS, dir_fd=fd), rel + "/"))
                        except OSError as exc:
                            refused.append((rel, f"folder cannot be opened ({exc.strerror})"))
                    elif stat.S_ISREG(mode):
                        files.append(rel)
                    else:
                        refused.append((rel, _kind(mode)))
            finally:
                os.close(fd)
    finally:
        for fd, _ in stack:
            os.close(fd)
    return Walk(sorted(files), refused)


def copy_tree(src_root: str | os.PathLike, dst_root: str | os.PathLike, *,
              max_entries: int = MAX_WALK_ENTRIES) -> Walk:
    """Copy the regular files of `src_root` to `dst_root` (symlinks and special files are not followed and not
    copied: they are returned as refused). Used where a foreign folder is imported (`audit --from-db`)."""
    walk = walk_files(src_root, max_entries=max_entries)
    Path(dst_root).mkdir(parents=True, exist_ok=True)
    for rel in walk.files:
        try:
            with open_inside(src_root, rel) as source, _parent(dst_root, rel, create=True) as (fd, name):
                out = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                              | getattr(os, "O_CLOEXEC", 0), 0o644, dir_fd=fd)
                with os.fdopen(out, "wb") as sink:
                    while chunk := source.read(CHUNK):
                        sink.write(chunk)
        except (UnsafePath, OSError) as exc:
            walk.refused.append((rel, f"not copied: {exc}"))
    skipped = {r for r, _ in walk.refused}
    walk.files = [f for f in walk.files if f not in skipped]
    return walk


# -- what a file is: from its bytes, never from a header or a name --------------------------------------------------

# Media types shown as images (report, Datasette), with the bytes every such file starts with.
IMAGE_SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),
}
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    *((magic, media) for media, magics in IMAGE_SIGNATURES.items() for magic in magics),
    (b"%PDF-", "application/pdf"), (b"\x1f\x8b", "application/gzip"), (b"\x28\xb5\x2f\xfd", "application/zstd"),
    (b"PK\x03\x04", "application/zip"), (b"\x00asm", "application/wasm"), (b"wOFF", "font/woff"),
    (b"wOF2", "font/woff2"),
)


def sniff_media_type(data: bytes) -> str:
    """The media type of `data` from its first bytes: a known signature, else JSON/text/binary by content.

    Used where a file is recorded as evidence: a header's Content-Type is the sender's claim, not a fact."""
    for magic, media in _SIGNATURES:
        if data.startswith(magic):
            if media == "image/webp" and data[8:12] != b"WEBP":
                continue
            return media
    head = data[:4096]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:  # a multi-byte character cut at the end of the sample is still text
        if exc.start < len(head) - 3:
            return "application/octet-stream"
        text = head[:exc.start].decode("utf-8")
    if any(unicodedata.category(c) == "Cc" and c not in "\t\n\r\f" for c in text):
        return "application/octet-stream"
    stripped = text.lstrip()
    if stripped[:1] in ("{", "["):
        return "application/json"
    if stripped[:5].lower() in ("<!doc", "<html"):
        return "text/html"
    if stripped[:5] == "<?xml":
        return "application/xml"
    return "text/plain"


def write_inside(root: str | os.PathLike, text: str, data: bytes, *, replace: bool = False) -> bool:
    """Write `data` to `root/text` atomically (temporary name, then rename), folders created, no symlink followed.
    With `replace` False an existing file is kept (content-addressed names); True when written."""
    Path(root).mkdir(parents=True, exist_ok=True)  # the root is the caller's choice, not data
    with _parent(root, text, create=True) as (fd, name):
        if not replace:
            try:
                os.stat(name, dir_fd=fd, follow_symlinks=False)
                return False
            except FileNotFoundError:
                pass
        return _replace_from(fd, name, iter([data]))
