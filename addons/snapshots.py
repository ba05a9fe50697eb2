"""Flow snapshots: what the analysis needs from a mitmproxy flow, copied on the event loop.

Hooks run on mitmproxy's event loop and must never block: they copy references to the body bytes (bounded by
`SNAPSHOT_BODY_LIMIT`, no decoding) and header text into plain dataclasses that cross threads and processes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

# Bytes of a body (or WebSocket message, or raw TCP stream) a snapshot holds: the memory a flow may pin while it
# waits for analysis. Larger bodies are searched up to here (an `analysis-truncated` row says so); the size and
# SHA-256 recorded still cover the whole body. The leak detector searches bodies above this as raw bytes only.
SNAPSHOT_BODY_LIMIT = 8 * 1024 * 1024


def iso(timestamp: float | None) -> str:
    """UTC ISO-8601 text with milliseconds, like `mouchard.storage.store.utcnow()`."""
    moment = dt.datetime.fromtimestamp(timestamp or time.time(), dt.timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def text(value: str | bytes | None) -> str | None:
    """Text safe for SQLite and JSON: invalid UTF-8 and lone surrogates become U+FFFD."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value.encode("utf-8")
            return value  # the common case: already clean
        except UnicodeEncodeError:
            value = value.encode("utf-8", "surrogateescape" if _escaped(value) else "surrogatepass")
    return value.decode("utf-8", "replace")


def _escaped(value: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in value)


def header_pairs(fields: Iterable[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    """mitmproxy's raw header fields as text pairs (non-UTF-8 bytes kept as surrogate escapes for scanning)."""
    return [(k.decode("utf-8", "surrogateescape"), v.decode("utf-8", "surrogateescape")) for k, v in fields]


def header(pairs: list[tuple[str, str]], name: str) -> str | None:
    name = name.lower()
    return next((v for k, v in pairs if k.lower() == name), None)


@dataclass
class FlowSnapshot:
    """What the worker needs from one flow, copied on the event loop; no mitmproxy object crosses threads."""

    key: str
    kind: str  # http, websocket, tls-failure, tcp
    started_at: str
    client: str | None = None
    method: str | None = None
    url: str | None = None
    host: str | None = None
    port: int | None = None
    http_version: str | None = None
    request_headers: list[tuple[str, str]] = field(default_factory=list)
    request_body: bytes | None = None
    status: int | None = None
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    response_body: bytes | None = None
    error: str | None = None
    websocket_messages: int | None = None
    # Set only when a body was cut at SNAPSHOT_BODY_LIMIT: its whole size and SHA-256.
    request_full: tuple[int, str] | None = None
    response_full: tuple[int, str] | None = None
    # (app, app_source) when an imported capture names the app: PCAPdroid (the uid that owned the connection), or
    # the browser of a browser-exported HAR.
    app_hint: tuple[str, str] | None = None

    @property
    def size(self) -> int:
        return len(self.request_body or b"") + len(self.response_body or b"")

    @property
    def work(self) -> int:
        """What the analysis reads: the request body as held, URL and headers (the budget is scaled on it)."""
        return (len(self.request_body or b"") + len(self.url or "")
                + sum(len(k) + len(v) for k, v in (*self.request_headers, *self.response_headers)))

    def request_header(self, name: str) -> str | None:
        return header(self.request_headers, name)

    def response_header(self, name: str) -> str | None:
        return header(self.response_headers, name)


@dataclass
class MessageSnapshot:
    """One WebSocket message."""

    key: str  # the flow's key
    index: int
    from_client: bool
    content: bytes
    url: str | None = None
    host: str | None = None
    full_size: int | None = None  # set when the message was cut at SNAPSHOT_BODY_LIMIT


def bounded(body: bytes | None) -> tuple[bytes | None, tuple[int, str] | None]:
    """A body as a snapshot holds it: whole up to SNAPSHOT_BODY_LIMIT, else its first bytes plus the whole
    body's (size, sha256). Hashing runs in C without the GIL; the slice is the only copy made."""
    if body is None or len(body) <= SNAPSHOT_BODY_LIMIT:
        return body, None
    return body[:SNAPSHOT_BODY_LIMIT], (len(body), hashlib.sha256(body).hexdigest())


def _bounded_join(chunks: Iterable[bytes]) -> tuple[bytes, tuple[int, str] | None]:
    """Stream chunks joined up to SNAPSHOT_BODY_LIMIT, hashed whole."""
    held, size, digest = bytearray(), 0, hashlib.sha256()
    for chunk in chunks:
        size += len(chunk)
        digest.update(chunk)
        if len(held) < SNAPSHOT_BODY_LIMIT:
            held += chunk[:SNAPSHOT_BODY_LIMIT - len(held)]
    return bytes(held), ((size, digest.hexdigest()) if size > SNAPSHOT_BODY_LIMIT else None)


def snapshot_http(flow, kind: str = "http") -> FlowSnapshot:
    """An HTTP (or WebSocket) flow as the worker sees it: raw (still encoded) bodies up to SNAPSHOT_BODY_LIMIT,
    headers as sent."""
    req, resp = flow.request, flow.response
    peer = flow.client_conn.peername
    request_body, request_full = bounded(req.raw_content)
    response_body, response_full = bounded(resp.raw_content if resp is not None else None)
    return FlowSnapshot(
        key=flow.id, kind=kind, started_at=iso(req.timestamp_start), client=peer[0] if peer else None,
        method=req.method, url=req.pretty_url, host=req.pretty_host, port=req.port,
        http_version=req.http_version, request_headers=header_pairs(req.headers.fields),
        request_body=request_body, status=resp.status_code if resp is not None else None,
        response_headers=header_pairs(resp.headers.fields) if resp is not None else [],
        response_body=response_body, error=flow.error.msg if flow.error is not None else None,
        websocket_messages=len(flow.websocket.messages) if flow.websocket is not None else None,
        request_full=request_full, response_full=response_full, app_hint=app_hint(flow))


def app_hint(flow) -> tuple[str, str] | None:
    """The app an imported capture names for this flow (`flow.metadata`, set by addons/pcap_import.py)."""
    app, source = flow.metadata.get("mouchard_app"), flow.metadata.get("mouchard_app_source")
    if isinstance(app, str) and app.strip() and isinstance(source, str):
        return text(app.strip()[:200]), text(source[:40])
    return None


def snapshot_message(flow) -> MessageSnapshot:
    """The WebSocket message that just arrived (the last one of the flow)."""
    message = flow.websocket.messages[-1]
    content, full = bounded(message.content)
    return MessageSnapshot(flow.id, len(flow.websocket.messages) - 1, message.from_client, content,
                           flow.request.pretty_url, flow.request.pretty_host, full[0] if full else None)


def snapshot_tls_failure(data) -> FlowSnapshot:
    """A client that refused our certificate: most often certificate pinning."""
    client = data.context.client
    server = data.context.server
    host = client.sni or (server.address[0] if server.address else None)
    error = data.conn.error or "handshake failed"
    return FlowSnapshot(
        key=f"tls-{client.id}", kind="tls-failure", started_at=iso(client.timestamp_start),
        client=client.peername[0] if client.peername else None, host=host,
        port=server.address[1] if server.address else None,
        error=f"client refused the proxy's certificate (likely certificate pinning): {error}")


def snapshot_tcp(flow) -> FlowSnapshot:
    """A raw TCP stream mitmproxy could not read as HTTP (MQTT, custom protocols): what the device sent is
    searched like a body; what it received is only counted."""
    server = flow.server_conn
    peer = flow.client_conn.peername
    sent, sent_full = _bounded_join(m.content for m in flow.messages if m.from_client)
    received, received_full = _bounded_join(m.content for m in flow.messages if not m.from_client)
    return FlowSnapshot(
        key=flow.id, kind="tcp", started_at=iso(flow.client_conn.timestamp_start), client=peer[0] if peer else None,
        host=server.sni or (server.address[0] if server.address else None),
        port=server.address[1] if server.address else None, request_body=sent, response_body=received,
        error=flow.error.msg if flow.error is not None else None, request_full=sent_full,
        response_full=received_full, app_hint=app_hint(flow))
