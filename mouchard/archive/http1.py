"""HTTP/1.1 requests as a proxy receives them, read on budgets: the replay server's parser (hostile input).

A request head is at most HEAD_MAX bytes, HEADER_COUNT_MAX header lines of LINE_MAX bytes; a body at most
REQUEST_BODY_MAX bytes (Content-Length or chunked, never both). Anything else is a `BadRequest` with the status to
answer; nothing here opens a file or a socket, and a URL or a CONNECT target is only ever a lookup key.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import urllib.parse
from dataclasses import dataclass

# Budgets of what a client may send.
LINE_MAX = 8 * 1024  # request line or one header line
HEADER_COUNT_MAX = 100
HEAD_MAX = 64 * 1024  # request line and headers together
REQUEST_BODY_MAX = 8 * 1024 * 1024  # beyond: 413 and the connection closed

TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_TARGET = re.compile(r"[\x21-\x7e]+")
BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_PORT = re.compile(r"[0-9]{1,5}")
_LENGTH = re.compile(r"[0-9]{1,12}")
_DNS_NAME = re.compile(r"(?=.{1,253}$)[a-z0-9_-]{1,63}(\.[a-z0-9_-]{1,63})*\.?")


def valid_host(host: str) -> bool:
    """An IP address or a lowercase DNS name (letters, digits, "-", "_"; labels of 63, 253 in all)."""
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return bool(_DNS_NAME.fullmatch(host))


class BadRequest(Exception):
    """A request this server refuses: answered with `status` and the connection closed."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


@dataclass(frozen=True)
class Request:
    """A request line and its headers (names as sent; values stripped, latin-1 text of the bytes)."""

    method: str
    target: str
    version: str
    headers: tuple[tuple[str, str], ...]

    def get(self, name: str) -> list[str]:
        """Every value of the header `name` (lowercase), in order."""
        return [value for key, value in self.headers if key.lower() == name]


def parse_head(head: bytes) -> Request:
    """A request line and its headers (CRLF lines, the blank line included or not) on the budgets; BadRequest."""
    if len(head) > HEAD_MAX:
        raise BadRequest(431, "request head too large")
    lines = head.split(b"\r\n")
    while lines and lines[0] == b"":  # RFC 9112 2.2: empty lines before a request line are ignored
        lines.pop(0)
    while lines and lines[-1] == b"":
        lines.pop()
    if not lines:
        raise BadRequest(400, "empty request")
    if any(len(line) > LINE_MAX for line in lines):
        raise BadRequest(431, "request line or header line too long")
    if len(lines) - 1 > HEADER_COUNT_MAX:
        raise BadRequest(431, "too many header lines")
    parts = lines[0].decode("latin-1").split(" ")
    if len(parts) != 3 or not TOKEN.fullmatch(parts[0]) or len(parts[0]) > 32 or not _TARGET.fullmatch(parts[1]) \
            or parts[2] not in ("HTTP/1.1", "HTTP/1.0"):
        raise BadRequest(400, "malformed request line")
    headers = []
    for raw in lines[1:]:
        line = raw.decode("latin-1")
        name, sep, value = line.partition(":")
        if not sep or not TOKEN.fullmatch(name) or BAD_VALUE.search(value):
            raise BadRequest(400, "malformed header line")
        headers.append((name, value.strip(" \t")))
    return Request(parts[0], parts[1], parts[2], tuple(headers))


def _authority(host: str, port: int, scheme: str) -> str:
    name = f"[{host}]" if ":" in host else host
    return name if port == {"http": 80, "https": 443}[scheme] else f"{name}:{port}"


def parse_connect_target(target: str) -> tuple[str, int]:
    """`host:port` of a CONNECT request (brackets around an IPv6 address), host lowercased; BadRequest."""
    host, sep, port = target.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    host = host.lower().rstrip(".")
    if not sep or not host or not _PORT.fullmatch(port) or not 0 < int(port) < 65536 or not valid_host(host):
        raise BadRequest(400, "malformed CONNECT target")
    return host, int(port)


def absolute_url(target: str, tunnel: tuple[str, int] | None) -> str:
    """The URL a request asks for: origin-form inside a tunnel (https://TUNNEL/path), else absolute-form."""
    if tunnel is not None and target.startswith("/"):
        return f"https://{_authority(*tunnel, 'https')}{target}"
    try:
        parts = urllib.parse.urlsplit(target)
        scheme = parts.scheme.lower()
        host, port = (parts.hostname or "").rstrip("."), parts.port
    except ValueError:
        raise BadRequest(400, "malformed URL") from None
    if scheme not in ("http", "https") or not valid_host(host):
        raise BadRequest(400, "a proxy request needs an absolute http(s) URL")
    port = port or {"http": 80, "https": 443}[scheme]
    if tunnel is not None and (scheme, host, port) != ("https", *tunnel):
        raise BadRequest(400, "a request for another host inside a tunnel")
    path = parts.path or "/"
    return f"{scheme}://{_authority(host, port, scheme)}{path}" + (f"?{parts.query}" if parts.query else "")


def body_framing(request: Request) -> int | str | None:
    """How the request's body is sent: its Content-Length, "chunked", or None (no body); BadRequest for both
    headers at once (request smuggling), another transfer coding, a malformed length or one over the budget."""
    lengths, codings = request.get("content-length"), request.get("transfer-encoding")
    if lengths and codings:
        raise BadRequest(400, "both Content-Length and Transfer-Encoding")
    if codings:
        if [c.strip().lower() for c in ",".join(codings).split(",")] != ["chunked"]:
            raise BadRequest(501, "only the chunked transfer coding is understood")
        return "chunked"
    if not lengths:
        return None
    values = {value.strip() for value in ",".join(lengths).split(",")}
    if len(values) != 1 or not _LENGTH.fullmatch(next(iter(values))):
        raise BadRequest(400, "malformed Content-Length")
    size = int(values.pop())
    if size > REQUEST_BODY_MAX:
        raise BadRequest(413, f"request body over {REQUEST_BODY_MAX} bytes")
    return size


async def read_head(reader: asyncio.StreamReader) -> bytes | None:
    """Bytes up to the blank line ending a request head (None on a clean end of stream before a request);
    the reader's limit (HEAD_MAX) bounds it: LimitOverrunError past it."""
    try:
        return await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as partial:
        if partial.partial.strip():
            raise BadRequest(400, "incomplete request head") from None
        return None


async def read_chunked(reader: asyncio.StreamReader) -> bytes:
    """A chunked body on REQUEST_BODY_MAX, trailers read and dropped (at most HEADER_COUNT_MAX lines)."""
    body = bytearray()
    while True:
        line = await reader.readuntil(b"\r\n")
        size_text = line[:-2].split(b";", 1)[0].strip()
        if not size_text or len(size_text) > 16 or not re.fullmatch(rb"[0-9A-Fa-f]+", size_text):
            raise BadRequest(400, "malformed chunk size")
        size = int(size_text, 16)
        if len(body) + size > REQUEST_BODY_MAX:
            raise BadRequest(413, f"request body over {REQUEST_BODY_MAX} bytes")
        if size == 0:
            break
        body += await reader.readexactly(size)
        if await reader.readexactly(2) != b"\r\n":
            raise BadRequest(400, "malformed chunk")
    for _ in range(HEADER_COUNT_MAX + 1):
        if await reader.readuntil(b"\r\n") == b"\r\n":
            return bytes(body)
    raise BadRequest(431, "too many trailer lines")
