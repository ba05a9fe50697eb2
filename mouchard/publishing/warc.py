"""A WARC's redacted copy for publication: the database's redaction (mouchard.publishing.publish and scrub) applied
to every record, then the copy scanned again.

    written = redact_warc("visit.warc.gz", "public/visit.warc.gz", Scrubber(profiles))

What the copy keeps and drops, record by record (the source is hostile input, read on the budgets of
mouchard.archive.records):

- every WARC header value, the request line's target, HTTP header names and values go through the `Scrubber`
  (planted device values in every encoding it knows, personal e-mail addresses, credentials, positions); the values
  of the secret headers (`SECRET_HEADERS`: Cookie, Set-Cookie, Authorization...) become `[redacted]`;
- text response bodies (HTML, JavaScript, JSON, XML, forms, text/*; UTF-8, not content-encoded) are scrubbed as a
  database column is; JSON metadata and warcinfo payloads too;
- every other body is dropped: request bodies (POST forms and beacons hold what a person typed), binary responses,
  bodies in another charset or content-encoded, resource records (screenshots: the database's images are published
  by publish's own checks, the archive's copy never is). A dropped body leaves an empty payload marked
  `WARC-Truncated: unspecified`, and is counted;
- a record whose redaction raised is written with no payload and no HTTP headers at all (fail closed);
- digests are recomputed by warcio, so the copy passes `warcio check`.

The copy is written next to `target` under a temporary name, read back and scanned with the same rules
(`Scrubber.problems`, as `scan_database` does for the database): if anything personal remains, UserError and no
file. A source that cannot be read whole (not a WARC, a record past RECORD_MAX, more than RECORDS_MAX records) is
refused with a UserError too.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from warcio.statusandheaders import StatusAndHeaders

from mouchard.archive.records import FILE_MAX, HEADERS_MAX, RECORD_MAX, RECORDS_MAX
from mouchard.errors import UserError
from mouchard.publishing.scrub import REDACTED, SECRET_HEADERS, Scrubber, ScrubBudget

# Bodies the scrubber reads whole (by media type); every other body is dropped.
_TEXT_TYPE = re.compile(r"^(?:text/[\w.+-]+|[\w.+-]+/(?:[\w.+-]*\+)?(?:json|xml|html|javascript|ecmascript|"
                        r"x-javascript|x-www-form-urlencoded|csv)|application/(?:x-)?(?:json|javascript))$",
                        re.IGNORECASE)
# WARC headers written by warcio from the content (digests, length) or fixed by the format: never copied.
_RECOMPUTED = {"warc-block-digest", "warc-payload-digest", "content-length"}
_TRUNCATED = "WARC-Truncated"
ORIG_PREFIX = "x-archive-orig-"  # original transfer headers as mouchard.archive.warc (and pywb, warcprox) keep them


@dataclass(frozen=True)
class RedactedWarc:
    """What `redact_warc` wrote: the copy, its hash and size, and what the redaction did (counts, never values)."""

    records: int
    bodies_kept: int  # non-empty payloads kept (scrubbed text)
    bodies_dropped: int  # non-empty payloads replaced by nothing (marked WARC-Truncated: unspecified)
    headers_redacted: int  # WARC and HTTP header values (and request targets) changed
    path: str = ""
    sha256: str = ""
    size: int = 0
    records_failed: int = 0  # records whose redaction raised: written with no payload and no HTTP headers


class _Counts:
    def __init__(self) -> None:
        self.records = self.kept = self.dropped = self.headers = self.failed = 0


def _secret(name: str, secrets: frozenset[str]) -> bool:
    """A secret header, also under the `X-Archive-Orig-` prefix archives keep original headers with."""
    lowered = name.strip().lower()
    return lowered in secrets or lowered.removeprefix(ORIG_PREFIX) in secrets


def _mime(value: str | None) -> str:
    return (value or "").split(";", 1)[0].strip().lower()


def _is_text(http_headers) -> bool:
    """A body the scrubber can read whole: a text media type, no content or transfer encoding."""
    if http_headers is None:
        return False
    encoding = (http_headers.get_header("Content-Encoding") or "identity").strip().lower()
    chunked = (http_headers.get_header("Transfer-Encoding") or "").strip()
    return bool(_TEXT_TYPE.match(_mime(http_headers.get_header("Content-Type")))) and encoding in ("", "identity") \
        and not chunked


def redact_warc(source: str | Path | BinaryIO, target: str | Path, scrubber: Scrubber) -> RedactedWarc:
    """Write the redacted copy of WARC file `source` (a path, or a file open for binary reading, e.g. from
    mouchard.paths.open_inside) to `target` (see the module docstring); UserError when the source cannot be read
    whole or when the copy still holds something personal (then no file is left)."""
    target = Path(target)
    if hasattr(source, "read"):
        return _redact(source, target, scrubber, target.name[:80])  # type: ignore[arg-type]
    source = Path(source)  # type: ignore[arg-type]
    try:
        handle = open(source, "rb")  # noqa: SIM115  (only the opening's errors are the user's)
    except OSError as exc:
        raise UserError(f"cannot read {source.name[:80]}: {exc.strerror}") from None
    with handle:
        return _redact(handle, target, scrubber, source.name[:80])


def _create(path: Path) -> BinaryIO:
    """A new file at `path` for writing, never through a symlink (a stale one from a killed run is removed)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, 0o644)
    except FileExistsError:
        os.unlink(path)
        fd = os.open(path, flags, 0o644)
    return os.fdopen(fd, "wb")


def _size(handle: BinaryIO) -> int:
    try:
        return os.fstat(handle.fileno()).st_size
    except (OSError, AttributeError, io.UnsupportedOperation):
        position = handle.tell()
        end = handle.seek(0, os.SEEK_END)
        handle.seek(position)
        return end - position


def _redact(src: BinaryIO, target: Path, scrubber: Scrubber, name: str) -> RedactedWarc:
    from warcio.archiveiterator import ArchiveIterator
    from warcio.exceptions import ArchiveLoadFailed
    from warcio.warcwriter import WARCWriter

    if _size(src) > FILE_MAX:
        raise UserError(f"{name} is larger than {FILE_MAX} bytes: not redacted, not published")
    temporary = target.with_name(f".{target.name}.redacting")
    counts = _Counts()
    secrets = SECRET_HEADERS
    try:
        with _create(temporary) as out:
            writer = WARCWriter(out, gzip=True, warc_version="1.1")
            try:
                for record in ArchiveIterator(src, no_record_parse=False, arc2warc=False):
                    counts.records += 1
                    if counts.records > RECORDS_MAX:
                        raise UserError(f"{name} holds more than {RECORDS_MAX} records: not redacted, not published")
                    body = record.raw_stream.read(RECORD_MAX + 1)
                    if len(body) > RECORD_MAX:
                        raise UserError(f"{name} holds a record larger than {RECORD_MAX} bytes: not redacted, "
                                        "not published")
                    try:
                        copy = _redact_record(writer, record, body, scrubber, secrets, counts)
                    except (UserError, ArchiveLoadFailed):
                        raise
                    except Exception:  # noqa: BLE001  (hostile input: any failure writes the record empty)
                        copy = _empty_record(writer, record, scrubber)
                        counts.failed += 1
                        if body:
                            counts.dropped += 1
                    writer.write_record(copy)
            except UserError:
                raise
            except Exception as exc:  # noqa: BLE001  (warcio's errors on a malformed file are of many kinds)
                raise UserError(f"{name} is not a readable WARC file ({type(exc).__name__}): not redacted, "
                                "not published") from None
        problem = _scan(temporary, scrubber, secrets)
        if problem:
            raise UserError(f"redacted copy of {name} refused: the final scan still finds {problem}; nothing of it "
                            "was published")
        os.replace(temporary, target)
    finally:
        if os.path.lexists(temporary):
            temporary.unlink()
    digest = hashlib.sha256()
    with open(target, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return RedactedWarc(records=counts.records, bodies_kept=counts.kept, bodies_dropped=counts.dropped,
                        headers_redacted=counts.headers, path=str(target), sha256=digest.hexdigest(),
                        size=target.stat().st_size, records_failed=counts.failed)


def _clean(scrubber: Scrubber, value: str, counts: _Counts) -> str:
    cleaned = scrubber.clean(value) if value else value
    if cleaned != value:
        counts.headers += 1
    return cleaned


def _warc_headers(record, scrubber: Scrubber, counts: _Counts) -> tuple[str | None, dict[str, str]]:
    """The record's WARC headers to copy (scrubbed; digests and length left to warcio) and its target URI."""
    uri = record.rec_headers.get_header("WARC-Target-URI")
    headers: dict[str, str] = {}
    for key, value in record.rec_headers.headers[:HEADERS_MAX]:
        lowered = key.lower()
        if lowered in _RECOMPUTED or lowered in ("warc-target-uri", "warc-truncated", "content-type") \
                or key in headers:
            continue
        headers[_clean(scrubber, key, counts)] = _clean(scrubber, value, counts)
    return (_clean(scrubber, uri, counts) if uri else None), headers


class _Utf8Headers(StatusAndHeaders):
    """HTTP headers written as UTF-8, as mouchard.archive.warc writes them (warcio's default would percent-encode
    any non-ASCII value)."""

    def to_ascii_bytes(self, filter_func=None) -> bytes:
        return self.to_str(filter_func).encode("utf-8") + b"\r\n"


def _redact_record(writer, record, body: bytes, scrubber: Scrubber, secrets: frozenset[str], counts: _Counts):
    """The redacted copy of one record (a warcio record to write)."""
    rec_type = record.rec_type
    uri, headers = _warc_headers(record, scrubber, counts)
    truncated = record.rec_headers.get_header(_TRUNCATED)
    http = record.http_headers if rec_type in ("request", "response") else None
    new_http = None
    if http is not None:
        # warcio reads "GET /path HTTP/1.1" as protocol "GET", status line "/path HTTP/1.1"; "HTTP/1.1 200 OK"
        # as protocol "HTTP/1.1", status line "200 OK".
        statusline = http.statusline or ""
        if rec_type == "request":
            target, _, version = statusline.rpartition(" ")
            if not target:
                target, version = version, ""
            statusline = f"{_clean(scrubber, target, counts)} {version[:16]}".strip()
            protocol = (http.protocol or "GET")[:32]
        else:
            statusline = _clean(scrubber, statusline, counts)
            protocol = (http.protocol or "HTTP/1.1")[:16]
        lines = []
        for key, value in http.headers[:HEADERS_MAX]:
            if _secret(key, secrets):
                if value != REDACTED:
                    counts.headers += 1
                lines.append((key, REDACTED))
            else:
                lines.append((_clean(scrubber, key, counts), _clean(scrubber, value, counts)))
        new_http = _Utf8Headers(statusline, lines, protocol=protocol)
    keep = False
    payload = b""
    if body and ((rec_type == "response" and _is_text(http)) or rec_type in ("metadata", "warcinfo")):
        payload, keep = _clean_text(scrubber, body)
    if body and keep:
        counts.kept += 1
        if truncated:
            headers[_TRUNCATED] = _clean(scrubber, truncated, counts)
    elif body:
        counts.dropped += 1
        headers[_TRUNCATED] = "unspecified"
    elif truncated:
        headers[_TRUNCATED] = _clean(scrubber, truncated, counts)
    if new_http is not None:
        if body and not keep:
            new_http.remove_header("Transfer-Encoding")  # the payload is empty: nothing is chunked any more
        if new_http.get_header("Content-Length") is not None:
            new_http.replace_header("Content-Length", str(len(payload)))
    content_type = record.rec_headers.get_header("Content-Type")
    content_type = _clean(scrubber, content_type, counts) if content_type else ""
    if http is not None:
        content_type = f"application/http; msgtype={rec_type}"
    return writer.create_warc_record(uri, rec_type, payload=io.BytesIO(payload) if payload or new_http else None,
                                     length=len(payload), warc_content_type=content_type,
                                     warc_headers_dict=headers, http_headers=new_http)


def _clean_text(scrubber: Scrubber, body: bytes) -> tuple[bytes, bool]:
    """A UTF-8 text body scrubbed (True), or nothing (False) when it is not UTF-8 text."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return b"", False
    if "\x00" in text:
        return b"", False  # binary that happens to decode
    return scrubber.clean(text).encode("utf-8"), True


def _empty_record(writer, record, scrubber: Scrubber):
    """A record whose redaction raised: its type, id and date, nothing else (its target only if it scrubs)."""
    headers = {"WARC-Truncated": "unspecified"}
    for key in ("WARC-Record-ID", "WARC-Date", "WARC-Concurrent-To", "WARC-Warcinfo-ID"):
        value = record.rec_headers.get_header(key)
        if value and re.fullmatch(r"[\w:<>.\-+/= ]{1,200}", value):
            headers[key] = value
    uri = None
    try:
        raw = record.rec_headers.get_header("WARC-Target-URI")
        uri = scrubber.clean(raw) if raw else None
    except Exception:  # noqa: BLE001
        uri = None
    rec_type = record.rec_type if record.rec_type in ("warcinfo", "response", "resource", "request", "metadata",
                                                      "revisit", "conversion", "continuation") else "resource"
    return writer.create_warc_record(uri, rec_type, payload=None, length=0,
                                     warc_content_type="application/octet-stream", warc_headers_dict=headers)


def _problems(scrubber: Scrubber, text: str) -> list[str]:
    try:
        return scrubber.problems(text)
    except ScrubBudget:
        return [REDACTED]


def _scan(path: Path, scrubber: Scrubber, secrets: frozenset[str]) -> str | None:
    """What the written copy still holds ("record 3: [IDFA]"), read back with warcio; None when it may be
    published."""
    from warcio.archiveiterator import ArchiveIterator

    with open(path, "rb") as fh:
        for number, record in enumerate(ArchiveIterator(fh, check_digests=True), start=1):
            texts = [value for key, value in record.rec_headers.headers if key.lower() not in _RECOMPUTED]
            texts += [key for key, _ in record.rec_headers.headers]
            if record.http_headers is not None and record.rec_type in ("request", "response"):
                texts.append(record.http_headers.statusline or "")
                for key, value in record.http_headers.headers:
                    texts.append(key)
                    if _secret(key, secrets) and value != REDACTED:
                        return f"record {number}: a {key[:40]} value"
                    texts.append(value)
            body = record.raw_stream.read(RECORD_MAX + 1)
            if body:
                try:
                    texts.append(body.decode("utf-8"))
                except UnicodeDecodeError:
                    return f"record {number}: a body that is not text"
            for text in texts:
                found = _problems(scrubber, text) if text else []
                if found:
                    return f"record {number}: {''.join(dict.fromkeys(found))}"
            if record.digest_checker.passed is False:
                return f"record {number}: a digest that does not check"
    return None
