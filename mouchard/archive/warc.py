"""Write one visit's traffic as a WARC file (ISO 28500, WARC/1.1, gzip per record) with warcio.

A file holds, in order: `warcinfo`; the visit's `metadata` record (JSON: what `ArchiveIndex.visits` reads back);
per exchange a `request` record and its `response` record (or, for a failed request, a `metadata` record with the
error, concurrent to the request); the screenshot as a `resource` record. Everything written comes from a page
and is treated as hostile: header names are reduced to HTTP token characters, CR/LF/NUL never reach a header line,
URLs are percent-encoded where a space or control character would break a line, bodies and header counts are
bounded (records.BODY_MAX, VISIT_MAX, HEADERS_MAX, HEADER_VALUE_MAX) with every cut marked `WARC-Truncated`.
The body archived is the decoded one (what the browser got), so `Content-Encoding` / `Transfer-Encoding` move to
`X-Archive-Orig-*` headers (the pywb / warcprox convention) and `Content-Length` is the archived body's length:
the record replays as is.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import re
import stat
import tempfile
import zlib
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

import mouchard
from mouchard.archive import records
from mouchard.archive.records import Exchange, Headers, VisitArchive, WarcWritten

SCREENSHOT_MAX = 32 * 1024 * 1024
URL_MAX = 64 * 1024  # a longer URL is cut (the index reads lines up to index.LINE_MAX)
ERROR_MAX = 4096
WARC_VERSION = "1.1"
CONFORMS_TO = "http://bibnum.bnf.fr/WARC/WARC_ISO_28500_version1-1_latest.pdf"
# Headers describing the transfer of the original bytes, not the archived (decoded) body: kept renamed.
MOVED_RESPONSE_HEADERS = ("content-encoding", "transfer-encoding", "content-length")
ORIG_PREFIX = "X-Archive-Orig-"
SCREENSHOT_URN = "urn:mouchard:screenshot:"
# Metadata records never take a page's own URL as their target: replay tools (pywb, ReplayWeb.page) index every
# record by its target URI and would serve the JSON for the page captured in the same second. The visit's record
# follows Browsertrix's `urn:pageinfo:<url>`; a request's note (failed, not HTTP) is `urn:mouchard:<kind>:<url>`.
PAGEINFO_URN = "urn:pageinfo:"
NOTE_URN = "urn:mouchard:"
GZIP_LEVEL = 6

_TOKEN_BAD = re.compile(r"[^!#$%&'*+\-.^_`|~0-9A-Za-z]")
_LINE_BREAKERS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # controls except TAB: CR, LF, NUL among them
_URL_BAD = re.compile(r"[\x00-\x20\x7f]")
_SURROGATES = re.compile(r"[\ud800-\udfff]")


def warc_name(visit_key: str) -> str:
    """The file name of a visit's WARC: never derived from page data as a path (a hash of the visit key)."""
    return hashlib.sha256(visit_key.encode("utf-8", "surrogatepass")).hexdigest()[:32] + ".warc.gz"


# -- making page data safe for a header line -------------------------------------------------------------------------

def _text(value: object, limit: int) -> str:
    """`value` as one line of text: controls that could end or split a line become spaces, lone surrogates
    (not UTF-8) become U+FFFD, outer whitespace goes (a header parser drops it anyway), at most `limit` chars."""
    text = value if isinstance(value, str) else str(value)
    text = _SURROGATES.sub("\ufffd", text[: limit * 2])
    return _LINE_BREAKERS.sub(" ", text).strip()[:limit].strip()


def header_name(name: object) -> str:
    """An HTTP token: characters outside the token set become '_' (a ':' or a space would change the parse)."""
    text = name if isinstance(name, str) else str(name)
    return _TOKEN_BAD.sub("_", text[:256]) or "_"


def bounded_headers(headers: Headers) -> tuple[list[tuple[str, str]], int]:
    """(header lines safe to write, how many were dropped past records.HEADERS_MAX).

    HTTP/2 pseudo-headers (`:method`, `:path`, `:status`...) are not header lines: the request and status lines
    say them; `:authority` becomes `Host` when there is none (an HTTP/1.1 request has one)."""
    given = list(headers)
    kept: list[tuple[str, str]] = []
    authority = None
    has_host = False
    for name, value in given[: records.HEADERS_MAX]:
        text = name if isinstance(name, str) else str(name)
        if text.startswith(":"):
            if text.lower() == ":authority" and authority is None:
                authority = _text(value, records.HEADER_VALUE_MAX)
            continue
        has_host = has_host or text.lower() == "host"
        kept.append((header_name(text), _text(value, records.HEADER_VALUE_MAX)))
    if authority and not has_host:
        kept.insert(0, ("Host", authority))
    return kept, max(0, len(given) - records.HEADERS_MAX)


def safe_url(url: object) -> str:
    """The URL as a WARC-Target-URI / request-target: spaces and controls percent-encoded, an http(s) scheme in
    lower case (warcio reads HTTP headers only behind `http:` / `https:`), at most URL_MAX characters."""
    text = _SURROGATES.sub("\ufffd", url if isinstance(url, str) else str(url))[:URL_MAX]
    text = _URL_BAD.sub(lambda m: f"%{ord(m.group()):02X}", text)
    scheme, sep, rest = text.partition(":")
    if sep and scheme.lower() in ("http", "https"):
        text = scheme.lower() + ":" + rest
    return text[:URL_MAX] or "about:blank"


def is_http(url: str) -> bool:
    return url.startswith(("http:", "https:"))


def warc_date(value: object, fallback: str | None = None) -> str:
    """An ISO 8601 time as a WARC-Date (UTC, microseconds, 'Z'); an invalid one falls back to `fallback`, then to
    now (a date is mandatory in every record)."""
    for candidate in (value, fallback):
        if not isinstance(candidate, str) or not candidate or len(candidate) > 64:
            continue
        try:
            moment = datetime.fromisoformat(candidate.strip())
        except ValueError:
            continue
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        try:
            moment = moment.astimezone(UTC)
        except (OverflowError, ValueError):
            continue
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class _Utf8Headers(StatusAndHeaders):
    """HTTP headers written as UTF-8 (warcio's reader decodes header lines as UTF-8 first): the archived text is
    exactly what was given, where warcio's default would percent-encode any non-ASCII value."""

    def to_ascii_bytes(self, filter_func=None) -> bytes:
        return self.to_str(filter_func).encode("utf-8") + b"\r\n"


# -- the writer --------------------------------------------------------------------------------------------------------

class _GzipMembers:
    """The file warcio writes to (with its own gzip off): each record compressed as its own gzip member (warcio
    ends every record with `flush()`), at level 6 rather than warcio's 9 (measured: 30 % faster on HTML for
    the same size), hashed and counted on the way."""

    def __init__(self, handle: BinaryIO) -> None:
        self.handle = handle
        self.sha256 = hashlib.sha256()
        self.size = 0
        self.compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, zlib.MAX_WBITS + 16)

    def _out(self, data: bytes) -> None:
        if data:
            self.sha256.update(data)
            self.size += len(data)
            self.handle.write(data)

    def write(self, data: bytes) -> int:
        self._out(self.compressor.compress(data))
        return len(data)

    def flush(self) -> None:
        self._out(self.compressor.flush())
        self.compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, zlib.MAX_WBITS + 16)


class _VisitWriter:
    def __init__(self, out: _GzipMembers, archive: VisitArchive) -> None:
        self.writer = WARCWriter(out, gzip=False, warc_version=WARC_VERSION)
        self.archive = archive
        self.visit_date = warc_date(archive.started_at)
        self.body_bytes = 0  # bodies archived so far (VISIT_MAX)
        self.records = 0
        self.truncated = 0

    def write(self, record) -> None:
        self.writer.write_record(record)
        self.records += 1

    def body(self, data: bytes | None, truncated: str | None) -> tuple[bytes, str | None]:
        """The body to archive and its WARC-Truncated reason, on the BODY_MAX / VISIT_MAX budgets."""
        data = data or b""
        reason = truncated if truncated in ("length", "time", "disconnect", "unspecified") else (
            "unspecified" if truncated else None)
        if self.body_bytes >= records.VISIT_MAX and data:
            data, reason = b"", "length"
        elif len(data) > records.BODY_MAX:
            data, reason = data[: records.BODY_MAX], "length"
        if len(data) > records.VISIT_MAX - self.body_bytes:
            data, reason = data[: records.VISIT_MAX - self.body_bytes], "length"
        self.body_bytes += len(data)
        if reason:
            self.truncated += 1
        return data, reason

    def record(self, uri: str, kind: str, payload: bytes, *, date: str, content_type: str = "",
               http_headers: StatusAndHeaders | None = None, extra: dict[str, str] | None = None):
        warc_headers = {"WARC-Date": date, **(extra or {})}
        if content_type:
            warc_headers["Content-Type"] = content_type
        return self.writer.create_warc_record(uri, kind, payload=BytesIO(payload), length=len(payload),
                                              warc_content_type=content_type, warc_headers_dict=warc_headers,
                                              http_headers=http_headers)

    def metadata(self, uri: str, data: dict, date: str, extra: dict[str, str] | None = None):
        payload = json.dumps(data, ensure_ascii=False, sort_keys=True, default=str).encode("utf-8", "replace")
        record = self.record(uri, "metadata", payload, date=date, content_type="application/json", extra=extra)
        self.write(record)
        return record

    def warcinfo(self, filename: str) -> None:
        info = {"software": f"mouchard {mouchard.__version__}", "format": "WARC File Format 1.1",
                "conformsTo": CONFORMS_TO,
                "isPartOf": "" if self.archive.crawl_id is None else str(self.archive.crawl_id),
                "description": "one visit's requests and responses as the browser saw them (decoded bodies)"}
        self.write(self.writer.create_warcinfo_record(filename, info))

    def exchange(self, exchange: Exchange) -> None:
        url = safe_url(exchange.url)
        method = header_name(exchange.method or "GET")
        date = warc_date(exchange.captured_at, self.archive.started_at)
        if not is_http(url):  # no HTTP message to archive (data:, blob:, ws:...): said in a metadata record
            self.metadata(f"{NOTE_URN}not-http:{url}", {"record": "not-http", "url": url, "method": method, "status": exchange.status,
                                "error": None if exchange.error is None else _text(exchange.error, ERROR_MAX)},
                          date)
            return
        parts = urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        request_headers, dropped = bounded_headers(exchange.request_headers)
        request_body, request_cut = self.body(exchange.request_body, None)
        request_http = _Utf8Headers(f"{target} HTTP/1.1", request_headers, protocol=method)
        extra = _truncated_header(request_cut)
        if dropped:
            extra["WARC-Truncated"] = "length"
        request = self.record(url, "request", request_body, date=date, http_headers=request_http,
                              content_type="application/http; msgtype=request", extra=extra)
        if exchange.status is None:
            self.write(request)
            request_id = request.rec_headers.get_header("WARC-Record-ID")
            error = _text(exchange.error or "no response", ERROR_MAX)
            self.metadata(f"{NOTE_URN}request-failed:{url}", {"record": "request-failed", "url": url, "method": method, "error": error}, date,
                          {"WARC-Concurrent-To": request_id})
            return
        response = self.response(exchange, url, date)
        request.rec_headers.add_header("WARC-Concurrent-To", response.rec_headers.get_header("WARC-Record-ID"))
        self.write(request)
        self.write(response)

    def response(self, exchange: Exchange, url: str, date: str):
        headers, dropped = bounded_headers(exchange.response_headers)
        kept = []
        for name, value in headers:
            if name.lower() in MOVED_RESPONSE_HEADERS:
                kept.append((header_name(ORIG_PREFIX + name), value))
            else:
                kept.append((name, value))
        body, cut = self.body(exchange.body, exchange.truncated)
        kept.append(("Content-Length", str(len(body))))
        version = _text(exchange.http_version, 32)
        extra = _truncated_header(cut if not dropped else (cut or "length"))
        if version.upper() not in ("HTTP/1.0", "HTTP/1.1"):
            if version:  # h2, h3, http/2.0: the status line stays HTTP/1.1 (what replay tools read)
                extra["WARC-Protocol"] = header_name(version.lower())
            version = "HTTP/1.1"
        try:
            status = int(exchange.status)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            status = 0
        status = status if 100 <= status <= 999 else 0  # a status line warcio reads back must start with 3 digits
        status_line = f"{status:03d} {_text(exchange.status_text, 256)}".rstrip()
        ip = _valid_ip(exchange.remote_ip)
        if ip:
            extra["WARC-IP-Address"] = ip
        return self.record(url, "response", body, date=date, http_headers=_Utf8Headers(status_line, kept,
                           protocol=version.upper()), content_type="application/http; msgtype=response",
                           extra=extra)

    def screenshot(self, data: bytes) -> None:
        uri = SCREENSHOT_URN + hashlib.sha256(self.archive.visit_key.encode("utf-8", "surrogatepass")).hexdigest()
        self.write(self.record(uri, "resource", data, date=self.visit_date, content_type="image/png"))


def _truncated_header(reason: str | None) -> dict[str, str]:
    return {"WARC-Truncated": reason} if reason else {}


def _valid_ip(text: object) -> str | None:
    if not isinstance(text, str) or len(text) > 64:
        return None
    try:
        return str(ipaddress.ip_address(text.strip("[]")))
    except ValueError:
        return None


def _read_screenshot(path: str | None) -> tuple[bytes | None, str]:
    """(the PNG's bytes, what happened): a regular file reached without following a symlink, at most
    SCREENSHOT_MAX bytes; never raises (a screenshot that cannot be read is said in the visit's metadata)."""
    if not path:
        return None, "none"
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        return None, f"not archived: cannot open ({exc.strerror})"
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None, "not archived: not a regular file"
        if info.st_size > SCREENSHOT_MAX:
            return None, f"not archived: larger than {SCREENSHOT_MAX} bytes"
        os.set_blocking(fd, True)
        with os.fdopen(os.dup(fd), "rb") as handle:
            data = handle.read(SCREENSHOT_MAX + 1)
    except OSError as exc:
        return None, f"not archived: cannot read ({exc.strerror})"
    finally:
        os.close(fd)
    if len(data) > SCREENSHOT_MAX:
        return None, f"not archived: larger than {SCREENSHOT_MAX} bytes"
    return data, "archived"


def write_visit_warc(path: str | Path, archive: VisitArchive) -> WarcWritten:
    """Write `archive` to `path` (created, parent folders too; an existing file is replaced atomically).

    The records are written to a temporary file in the same folder, then renamed: a reader never sees half a
    file, and a failure leaves the previous file (or none)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    screenshot, screenshot_status = _read_screenshot(archive.screenshot)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name[:100]}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as handle:
            out = _GzipMembers(handle)
            writer = _VisitWriter(out, archive)
            writer.warcinfo(target.name)
            visit = {"record": "visit", "crawl_id": archive.crawl_id, "visit_key": archive.visit_key,
                     "url": archive.url, "site": archive.site, "phase": archive.phase,
                     "started_at": archive.started_at, "tool": archive.tool, "extra": archive.extra,
                     "exchanges": len(archive.exchanges), "screenshot": screenshot_status}
            writer.metadata(PAGEINFO_URN + safe_url(archive.url), visit, writer.visit_date)
            for exchange in archive.exchanges:
                writer.exchange(exchange)
            if screenshot is not None:
                writer.screenshot(screenshot)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return WarcWritten(path=str(target), sha256=out.sha256.hexdigest(), size=out.size, records=writer.records,
                       exchanges=len(archive.exchanges), truncated=writer.truncated)
