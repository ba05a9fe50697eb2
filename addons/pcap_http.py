"""HTTP/1.1 and HTTP/2 exchanges rebuilt from the two byte streams of one decrypted connection.

tshark decrypts and reassembles a TCP connection into what the client sent and what the server sent; this module
turns the two streams into requests paired with their responses. Both parsers are iterative, charge a `Budget`
(a step per header line, frame or chunk, the bytes they copy) before the work, and never raise on bad input: what
they could not read is returned as `problem`, with the exchanges read before it.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field

from mouchard.budget import Budget

H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
MAX_HEAD = 64 * 1024  # bytes of one HTTP/1 header block
MAX_HEADERS = 256  # header fields of one message
MAX_H2_HEADER_LIST = 256 * 1024  # decoded bytes of one HTTP/2 header list
_REQUEST_LINE = re.compile(rb"([A-Z][A-Z0-9_-]{0,19}) (\S{1,65536}) (HTTP/1\.[01])")
_STATUS_LINE = re.compile(rb"(HTTP/1\.[01]) (\d{3})(?: ([^\r\n]*))?")
_CHUNK_SIZE = re.compile(rb"([0-9a-fA-F]{1,15})[ \t]*(?:;[^\r\n]*)?")

Headers = list[tuple[bytes, bytes]]


@dataclass
class Exchange:
    """One request and its response (None when the capture holds none)."""

    method: str
    target: str  # path (or absolute URL) as sent
    authority: str | None  # Host header or :authority
    http_version: str
    request_headers: Headers
    request_body: bytes = b""
    status: int | None = None
    reason: str = ""
    response_headers: Headers = field(default_factory=list)
    response_body: bytes = b""
    scheme: str | None = None  # :scheme (HTTP/2)
    # after a 101 upgrade to WebSocket: (from client, opcode, content) of each data message, client's first
    websocket: list[tuple[bool, int, bytes]] | None = None


def looks_like_client(data: bytes) -> bool:
    """Whether a stream starts as an HTTP client does: the HTTP/2 preface or an HTTP/1 request line."""
    return data.startswith(H2_PREFACE) or bool(_REQUEST_LINE.match(data[:data.find(b"\r\n")] if b"\r\n" in
                                                                  data[:70000] else b""))


def parse(client: bytes, server: bytes, budget: Budget) -> tuple[list[Exchange], str | None]:
    """The exchanges of one connection, HTTP/2 when the client starts with the preface, else HTTP/1.1."""
    if client.startswith(H2_PREFACE):
        return parse_http2(client, server, budget)
    return parse_http1(client, server, budget)


# ---------------------------------------------------------------- HTTP/1.1

def _head(data: bytes, pos: int, budget: Budget) -> tuple[bytes, Headers, int] | None:
    """(first line, header fields, position after the blank line), or None when there is no complete head."""
    end = data.find(b"\r\n\r\n", pos, pos + MAX_HEAD)
    if end < 0:
        return None
    lines = data[pos:end].split(b"\r\n")
    if len(lines) - 1 > MAX_HEADERS or not budget.spend(steps=len(lines), bytes=end - pos):
        return None
    fields: Headers = []
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep or not name or name != name.strip():
            return None
        fields.append((name, value.strip()))
    return lines[0], fields, end + 4


def _get(fields: Headers, name: bytes) -> bytes | None:
    return next((v for k, v in fields if k.lower() == name), None)


def _body(data: bytes, pos: int, fields: Headers, until_close: bool,
          budget: Budget) -> tuple[bytes, int, str | None]:
    """(body, position after it, problem) for a message whose head ended at `pos`."""
    encoding = (_get(fields, b"transfer-encoding") or b"").lower()
    if b"chunked" in encoding:
        return _dechunk(data, pos, budget)
    length = _get(fields, b"content-length")
    if length is not None:
        if not length.isdigit() or len(length) > 15:
            return b"", len(data), f"bad Content-Length {length[:20]!r}"
        size = int(length)
        if not budget.spend(bytes=min(size, len(data) - pos)):
            return b"", len(data), f"budget: {budget.reason}"
        body = data[pos:pos + size]
        return body, pos + size, (None if len(body) == size else "body cut short by the end of the capture")
    if until_close:
        if not budget.spend(bytes=len(data) - pos):
            return b"", len(data), f"budget: {budget.reason}"
        return data[pos:], len(data), None
    return b"", pos, None


def _dechunk(data: bytes, pos: int, budget: Budget) -> tuple[bytes, int, str | None]:
    out = bytearray()
    while True:
        line_end = data.find(b"\r\n", pos, pos + 1024)
        if line_end < 0:
            return bytes(out), len(data), "chunked body cut short"
        m = _CHUNK_SIZE.fullmatch(data[pos:line_end])
        if not m:
            return bytes(out), len(data), "bad chunk size line"
        size = int(m[1], 16)
        pos = line_end + 2
        if not budget.spend(steps=1, bytes=min(size, len(data) - pos)):
            return bytes(out), len(data), f"budget: {budget.reason}"
        if size == 0:
            trailer_end = data.find(b"\r\n\r\n", pos - 2, pos - 2 + MAX_HEAD)
            return bytes(out), (trailer_end + 4 if trailer_end >= 0 else len(data)), None
        if pos + size > len(data):
            out += data[pos:]
            return bytes(out), len(data), "chunked body cut short"
        out += data[pos:pos + size]
        pos += size + 2


def parse_http1(client: bytes, server: bytes, budget: Budget) -> tuple[list[Exchange], str | None]:
    """Requests read in order from the client's stream, responses in order from the server's (pipelining kept)."""
    exchanges: list[Exchange] = []
    cpos = spos = 0
    while cpos < len(client):
        head = _head(client, cpos, budget)
        if head is None:
            return exchanges, _why(budget, "unreadable HTTP/1 request")
        line, fields, cpos = head
        m = _REQUEST_LINE.fullmatch(line)
        if not m:
            return exchanges, "not an HTTP/1 request line"
        body, cpos, problem = _body(client, cpos, fields, False, budget)
        host = _get(fields, b"host")
        exchange = Exchange(m[1].decode(), m[2].decode("utf-8", "surrogateescape"),
                            host.decode("utf-8", "surrogateescape") if host else None, m[3].decode(), fields, body)
        exchanges.append(exchange)
        if problem:
            return exchanges, problem
        spos, problem = _response(server, spos, exchange, budget)
        if problem:
            return exchanges, problem
        if exchange.status == 101:  # protocol switch: the rest is not HTTP/1
            if (_get(fields, b"upgrade") or b"").lower() == b"websocket":
                return exchanges, websocket(exchange, client[cpos:], server[spos:], budget)
            rest = len(client) - cpos + len(server) - spos
            return exchanges, (f"protocol switch ({_get(fields, b'upgrade') or b'?'!r}): {rest} bytes after it "
                               "not decoded" if rest else None)
    return exchanges, None


def _response(server: bytes, spos: int, exchange: Exchange, budget: Budget) -> tuple[int, str | None]:
    while spos < len(server):
        head = _head(server, spos, budget)
        if head is None:
            return len(server), _why(budget, "unreadable HTTP/1 response")
        line, fields, spos = head
        m = _STATUS_LINE.fullmatch(line)
        if not m:
            return len(server), "not an HTTP/1 status line"
        status = int(m[2])
        if 100 <= status < 200 and status != 101:
            continue  # 100 Continue and other interim responses
        exchange.status, exchange.reason, exchange.response_headers = status, (m[3] or b"").decode(
            "utf-8", "replace"), fields
        no_body = exchange.method == "HEAD" or status in (101, 204, 304)
        if no_body:
            return spos, None
        exchange.response_body, spos, problem = _body(server, spos, fields, True, budget)
        return spos, problem
    return spos, None


def _why(budget: Budget, default: str) -> str:
    return f"budget: {budget.reason}" if budget.exhausted else default


# ---------------------------------------------------------------- WebSocket (RFC 6455, RFC 7692)

def websocket(exchange: Exchange, client: bytes, server: bytes, budget: Budget) -> str | None:
    """Decode the WebSocket frames each side sent after the upgrade into `exchange.websocket`; the first problem.

    Messages keep their order within a direction; the two directions are not interleaved (the streams are
    reassembled per direction). permessage-deflate is inflated when the server accepted it."""
    offer = b", ".join(v for k, v in exchange.response_headers if k.lower() == b"sec-websocket-extensions").lower()
    deflate = b"permessage-deflate" in offer
    exchange.websocket = []
    problems = []
    for from_client, data, reset in ((True, client, b"client_no_context_takeover" in offer),
                                     (False, server, b"server_no_context_takeover" in offer)):
        messages, problem = ws_messages(data, budget, deflate, reset)
        exchange.websocket += [(from_client, opcode, content) for opcode, content in messages]
        if problem:
            problems.append(f"WebSocket from the {'client' if from_client else 'server'}: {problem}")
    return "; ".join(problems) or None


def ws_messages(data: bytes, budget: Budget, deflate: bool = False,
                reset: bool = False) -> tuple[list[tuple[int, bytes]], str | None]:
    """(opcode, content) of each text or binary message in one direction's frames; control frames skipped."""
    import zlib

    messages: list[tuple[int, bytes]] = []
    inflater = zlib.decompressobj(-15)
    pos, opcode, parts, compressed = 0, None, [], False
    while pos < len(data):
        if len(data) - pos < 2:
            return messages, "frame header cut short"
        first, second = data[pos], data[pos + 1]
        size, pos = second & 0x7F, pos + 2
        if size >= 126:
            width = 2 if size == 126 else 8
            if len(data) - pos < width:
                return messages, "frame header cut short"
            size, pos = int.from_bytes(data[pos:pos + width], "big"), pos + width
        key = b""
        if second & 0x80:
            key, pos = data[pos:pos + 4], pos + 4
        payload, pos = data[pos:pos + size], pos + size
        if len(payload) != size or (second & 0x80 and len(key) != 4):
            return messages, "frame cut short"
        if not budget.spend(steps=1, bytes=size):
            return messages, f"budget: {budget.reason}"
        if key:
            mask = (key * (size // 4 + 1))[:size]
            payload = (int.from_bytes(payload, "big") ^ int.from_bytes(mask, "big")).to_bytes(size, "big")
        kind = first & 0x0F
        if kind >= 8:
            continue  # close, ping, pong
        if kind in (1, 2):
            opcode, parts, compressed = kind, [payload], bool(first & 0x40)
        elif kind == 0 and opcode is not None:
            parts.append(payload)
        else:
            return messages, f"unexpected frame opcode {kind}"
        if not first & 0x80:
            continue
        content = b"".join(parts)
        if compressed:
            if not deflate:
                return messages, "compressed frame without permessage-deflate"
            room = budget.remaining("bytes")
            try:
                inflated = inflater.decompress(content + b"\x00\x00\xff\xff", max(room, 1))
            except zlib.error:
                return messages, "undecodable permessage-deflate data"
            if inflater.unconsumed_tail or not budget.spend(bytes=len(inflated)):
                return messages, "budget: inflated message too large"
            content = inflated
            if reset:
                inflater = zlib.decompressobj(-15)
        messages.append((opcode, content))
        opcode, parts = None, []
    return messages, None


# ---------------------------------------------------------------- HTTP/2

@dataclass
class _Stream:
    headers: Headers | None = None
    body: bytearray = field(default_factory=bytearray)


class _Side:
    """One direction of an HTTP/2 connection: its frames and its HPACK decoder."""

    def __init__(self) -> None:
        import hpack

        self.decoder = hpack.Decoder(max_header_list_size=MAX_H2_HEADER_LIST)
        self.decoder.max_allowed_table_size = 65536
        self.streams: dict[int, _Stream] = {}
        self.pending: tuple[int, bytearray, bool] | None = None  # header block awaiting CONTINUATION
        self.order: list[int] = []

    def stream(self, sid: int) -> _Stream:
        if sid not in self.streams:
            self.streams[sid] = _Stream()
            self.order.append(sid)
        return self.streams[sid]

    def feed(self, data: bytes, pos: int, budget: Budget) -> str | None:
        while pos < len(data):
            if len(data) - pos < 9:
                return "HTTP/2 frame header cut short"
            length = int.from_bytes(data[pos:pos + 3], "big")
            kind, flags = data[pos + 3], data[pos + 4]
            sid = struct.unpack("!I", data[pos + 5:pos + 9])[0] & 0x7FFFFFFF
            payload = data[pos + 9:pos + 9 + length]
            pos += 9 + length
            if len(payload) != length:
                return "HTTP/2 frame cut short"
            if not budget.spend(steps=1, bytes=length):
                return f"budget: {budget.reason}"
            problem = self._frame(kind, flags, sid, payload, budget)
            if problem:
                return problem
        return None

    def _frame(self, kind: int, flags: int, sid: int, payload: bytes, budget: Budget) -> str | None:
        if self.pending is not None and kind != 9:
            return "HTTP/2 header block without its CONTINUATION"
        if kind == 0 and sid:  # DATA
            payload = _unpad(payload, flags)
            if payload is None:
                return "bad HTTP/2 padding"
            self.stream(sid).body += payload
        elif kind in (1, 5):  # HEADERS, PUSH_PROMISE: decoded either way, the HPACK state depends on it
            payload = _unpad(payload, flags)
            if payload is None:
                return "bad HTTP/2 padding"
            if kind == 1 and flags & 0x20:
                payload = payload[5:]
            if kind == 5:
                payload = payload[4:]
            block = (sid, bytearray(payload), kind == 1)
            if flags & 0x04:
                return self._headers(*block, budget)
            self.pending = block
        elif kind == 9:  # CONTINUATION
            if self.pending is None or self.pending[0] != sid:
                return "HTTP/2 CONTINUATION out of place"
            self.pending[1].extend(payload)
            if len(self.pending[1]) > MAX_H2_HEADER_LIST:
                return "HTTP/2 header block too large"
            if flags & 0x04:
                block, self.pending = self.pending, None
                return self._headers(*block, budget)
        return None

    def _headers(self, sid: int, block: bytearray, keep: bool, budget: Budget) -> str | None:
        import hpack

        try:
            fields = self.decoder.decode(bytes(block), raw=True)
        except (hpack.HPACKError, ValueError, IndexError) as exc:
            return f"HTTP/2 headers undecodable ({type(exc).__name__})"
        if not budget.spend(steps=len(fields), bytes=sum(len(k) + len(v) for k, v in fields)):
            return f"budget: {budget.reason}"
        if keep and sid:
            stream = self.stream(sid)
            if stream.headers is None:
                stream.headers = list(fields)
            # a second block is the trailers: decoded above for the HPACK state, not kept
        return None


def _unpad(payload: bytes, flags: int) -> bytes | None:
    if not flags & 0x08:
        return payload
    if not payload or payload[0] >= len(payload):
        return None
    return payload[1:len(payload) - payload[0]]


def parse_http2(client: bytes, server: bytes, budget: Budget) -> tuple[list[Exchange], str | None]:
    """Requests from the client's HEADERS and DATA frames, responses from the server's, paired by stream id."""
    requests, responses = _Side(), _Side()
    problem = requests.feed(client, len(H2_PREFACE), budget)
    server_problem = responses.feed(server, 0, budget)
    exchanges = []
    for sid in requests.order:
        stream = requests.streams[sid]
        if stream.headers is None:
            continue
        pseudo = {k: v for k, v in stream.headers if k.startswith(b":")}
        fields = [(k, v) for k, v in stream.headers if not k.startswith(b":")]
        text = {k.decode("latin-1"): v.decode("utf-8", "surrogateescape") for k, v in pseudo.items()}
        exchange = Exchange(text.get(":method", ""), text.get(":path", "/"), text.get(":authority"), "HTTP/2.0",
                            fields, bytes(stream.body), scheme=text.get(":scheme"))
        if exchange.authority is None:
            host = _get(fields, b"host")
            exchange.authority = host.decode("utf-8", "surrogateescape") if host else None
        answer = responses.streams.get(sid)
        if answer is not None and answer.headers is not None:
            status = dict(answer.headers).get(b":status", b"")
            exchange.status = int(status) if status.isdigit() and len(status) == 3 else None
            exchange.response_headers = [(k, v) for k, v in answer.headers if not k.startswith(b":")]
            exchange.response_body = bytes(answer.body)
        exchanges.append(exchange)
    return exchanges, problem or server_problem
