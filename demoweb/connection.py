"""One client connection of the test web: HTTP/1.1 with keep-alive, TLS on the HTTPS port, CONNECT tunnels.

`Listener` accepts; each connection runs `Connection` in its own daemon thread (a hanging page blocks only its
own connection). Routing by Host header, absolute-form URL or CONNECT target; handlers never kill the server.
"""

from __future__ import annotations

import dataclasses
import email.utils
import http
import select
import socket
import socketserver
import ssl
import sys
import threading
import time
import traceback
import zlib
from collections.abc import Iterable, Iterator
from http.server import BaseHTTPRequestHandler
from typing import Protocol
from urllib.parse import urlsplit

from .site import Headers, Request, Response, Site, WebAddress
from .tls import Certificates


class ServedWeb(WebAddress, Protocol):
    """What a listener and its connections need of the web they serve (`demoweb.server.TestWeb` is one): the
    server module imports this one, never the other way round."""

    latency: float
    errors: list[dict]
    stopping: threading.Event
    _certs: Certificates

    def record(self, entry: dict) -> None: ...

    def sites_for(self, host: str) -> list[Site]: ...

    def _track(self, conn: socket.socket, open_: bool) -> None: ...

# Hosts that must not resolve: Chromium gets `~NOTFOUND` for them, the proxy answers 502.
UNRESOLVABLE_HOSTS = ("nxdomain.example",)
IDLE_TIMEOUT = 30.0  # seconds a keep-alive connection may sit idle
HANDSHAKE_TIMEOUT = 10.0
PREFLIGHT_HEADERS = "Content-Type, Authorization, X-Requested-With"
NO_BODY_STATUSES = {204, 304}


class Listener(socketserver.ThreadingMixIn, socketserver.TCPServer):
    """A TCP listener whose connections each get a daemon thread (TCPServer: no reverse DNS at bind time)."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], web: ServedWeb, scheme: str) -> None:
        self.web = web
        self.scheme = scheme
        super().__init__(address, Connection)

    def handle_error(self, request: object, client_address: object) -> None:
        """Clients hanging up mid-handshake or mid-response are normal here; anything else is our bug: keep it."""
        error = sys.exc_info()[1]
        if not isinstance(error, (OSError, ssl.SSLError, EOFError)):
            self.web.errors.append({"time": time.time(), "host": None, "path": None,
                                    "traceback": traceback.format_exc()})


class _SocketWriter:
    """Unbuffered writer for a socket swapped in after CONNECT (what StreamRequestHandler uses)."""

    closed = False

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def write(self, data: bytes) -> int:
        self._sock.sendall(data)
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


class Connection(BaseHTTPRequestHandler):
    """One client connection: TLS handshake (HTTPS port), then requests until close; CONNECT opens a tunnel."""

    protocol_version = "HTTP/1.1"
    server_version = "mouchard-testweb"
    sys_version = ""
    timeout = IDLE_TIMEOUT
    server: Listener

    def setup(self) -> None:
        self.web = self.server.web
        self.scheme = self.server.scheme
        self.tunnel: tuple[str, int] | None = None
        raw: socket.socket = self.request
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.web._track(raw, True)
        self._raw = raw
        try:
            if self.scheme == "https":
                raw.settimeout(HANDSHAKE_TIMEOUT)
                self.request = self.web._certs.context.wrap_socket(raw, server_side=True)
            super().setup()
        except BaseException:
            self.web._track(raw, False)
            raise

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        self.web._track(self._raw, False)

    def log_message(self, format: str, *args: object) -> None:
        pass

    # BaseHTTPRequestHandler dispatches on do_<METHOD>.
    def do_CONNECT(self) -> None:
        self._open_tunnel()

    def _dispatch(self) -> None:
        try:
            self._serve()
        except (OSError, ssl.SSLError):
            self.close_connection = True

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_OPTIONS = do_PATCH = _dispatch

    # --- proxy -------------------------------------------------------------------------------------------------
    def _open_tunnel(self) -> None:
        """CONNECT host:port: answer 200, then serve TLS (ClientHello seen) or plain HTTP on the tunnel."""
        host, _, port = self.path.rpartition(":")
        host = host.strip("[]").lower()
        if self.scheme != "http" or self.tunnel is not None or not host or not port.isdigit():
            self._write_simple(400, "bad CONNECT")
            self.close_connection = True
            return
        if host in UNRESOLVABLE_HOSTS:
            self._write_simple(502, f"cannot resolve {host}")
            self.close_connection = True
            return
        self.wfile.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        try:
            first = self.connection.recv(1, socket.MSG_PEEK)
            if not first:
                self.close_connection = True
                return
            if first[0] == 0x16:  # a TLS handshake record
                tls = self.web._certs.context.wrap_socket(self.connection, server_side=True)
                tls.settimeout(self.timeout)
                self.connection = self.request = tls
                self.rfile = tls.makefile("rb", self.rbufsize)
                self.wfile = _SocketWriter(tls)
                self.scheme = "https"
        except (OSError, ssl.SSLError):
            self.close_connection = True
            return
        self.tunnel = (host, int(port))
        self.close_connection = False

    # --- requests ----------------------------------------------------------------------------------------------
    def _target(self) -> tuple[str, str, int, str, str, str]:
        """(scheme, host, port, path, query, via) from the absolute-form URL, the Host header or the tunnel."""
        if self.path.startswith(("http://", "https://")):
            parts = urlsplit(self.path)
            scheme = parts.scheme
            host = (parts.hostname or "").lower()
            port = parts.port or (443 if scheme == "https" else 80)
            return scheme, host, port, parts.path or "/", parts.query, "proxy"
        path, _, query = self.path.partition("?")
        # A Host header without a port means the client used the scheme's default port (proxy, portless URL).
        default_port = self.tunnel[1] if self.tunnel else (443 if self.scheme == "https" else 80)
        host_header = self.headers.get("Host") or (self.tunnel[0] if self.tunnel else "")
        host, port = _split_host(host_header, default_port)
        return self.scheme, host, port, path, query, "proxy" if self.tunnel else "direct"

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline().strip():
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _serve(self) -> None:
        scheme, host, port, path, query, via = self._target()
        try:
            body = self._read_body()
        except ValueError:
            self._write_simple(400, "bad request body")
            self.close_connection = True
            return
        headers = Headers(self.headers.items())
        req = Request(self.command, scheme, host, port, path, query, headers, body, via, self.web)
        entry = {"time": time.time(), "scheme": scheme, "host": host, "port": port, "method": self.command,
                 "path": path, "query": req.query, "raw_query": query, "headers": headers.as_dict(),
                 "raw_headers": list(headers.pairs), "body": body, "via": via, "url": req.full_url,
                 "status": None}
        self.web.record(entry)
        if via == "proxy" and host in UNRESOLVABLE_HOSTS:
            resp = Response.text(f"cannot resolve {host}", 502)
        else:
            resp = self._respond(req)
        entry["status"] = resp.status
        self._send(req, resp)

    def _respond(self, req: Request) -> Response:
        sites = self.web.sites_for(req.host)
        if not sites:
            return Response.text(f"no site at {req.host}", 404)
        cors = any(site.cors for site in sites)
        for site in sites:
            found = site.match(req.method, req.path)
            if found:
                handler, params = found
                req.params = params
                try:
                    resp = _as_response(handler(req))
                except Exception:
                    self.web.errors.append({"time": time.time(), "host": req.host, "path": req.path,
                                            "traceback": traceback.format_exc()})
                    resp = Response.text("internal error in test web handler", 500)
                break
        else:
            if req.method == "OPTIONS" and "access-control-request-method" in req.headers:
                resp = Response.empty(204, [("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, OPTIONS"),
                                            ("Access-Control-Allow-Headers",
                                             req.headers.get("access-control-request-headers") or PREFLIGHT_HEADERS),
                                            ("Access-Control-Max-Age", "600")])
                cors = True
            else:
                resp = Response.text(f"nothing at {req.path} on {req.host}", 404)
        if cors and "origin" in req.headers and not any(k.lower() == "access-control-allow-origin"
                                                         for k, _ in resp.headers):
            resp = dataclasses.replace(resp, headers=[*resp.headers,
                                                      ("Access-Control-Allow-Origin", req.headers["origin"]),
                                                      ("Access-Control-Allow-Credentials", "true"),
                                                      ("Vary", "Origin")])
        return resp

    # --- responses ---------------------------------------------------------------------------------------------
    def _send(self, req: Request, resp: Response) -> None:
        delay = resp.delay + self.web.latency
        if delay and self.web.stopping.wait(delay):
            self.close_connection = True
            return
        if resp.hang:
            self._hang()
            return
        headers = list(resp.headers)
        names = {name.lower() for name, _ in headers}
        body = resp.body.encode("utf-8") if isinstance(resp.body, str) else resp.body
        streaming = not isinstance(body, (bytes, bytearray))
        if resp.gzip:
            body = _gzip_stream(body) if streaming else zlib.compress(body, 5, 31)  # wbits 31: gzip framing
            headers.append(("Content-Encoding", "gzip"))
        if "content-type" not in names:
            headers.append(("Content-Type", "text/html; charset=utf-8"))
        bodiless = req.method == "HEAD" or resp.status in NO_BODY_STATUSES or resp.status < 200
        chunked = (streaming and "content-length" not in names) or (resp.chunked and not bodiless)
        if chunked:
            headers.append(("Transfer-Encoding", "chunked"))
        elif not streaming and "content-length" not in names and resp.status not in NO_BODY_STATUSES:
            headers.append(("Content-Length", str(len(body))))
        if resp.close or self.close_connection:
            headers.append(("Connection", "close"))
            self.close_connection = True
        head = self._head(resp.status, headers)
        if bodiless:
            self.wfile.write(head)
        elif not streaming and not chunked:
            self.wfile.write(head + bytes(body))
        else:
            self.wfile.write(head)
            self._stream([body] if not streaming else body, chunked)

    def _head(self, status: int, headers: list[tuple[str, str]]) -> bytes:
        try:
            reason = http.HTTPStatus(status).phrase
        except ValueError:
            reason = "Status"
        lines = [f"HTTP/1.1 {status} {reason}", f"Date: {email.utils.formatdate(usegmt=True)}",
                 f"Server: {self.server_version}"]
        lines += [f"{name}: {value}" for name, value in headers]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")

    def _stream(self, chunks: Iterable[bytes], chunked: bool) -> None:
        try:
            for chunk in chunks:
                if self.web.stopping.is_set():
                    raise ConnectionAbortedError("test web stopping")
                if not chunk:
                    continue
                self.wfile.write(b"%x\r\n%b\r\n" % (len(chunk), chunk) if chunked else chunk)
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
        except (OSError, ssl.SSLError):
            self.close_connection = True
        except Exception:
            self.web.errors.append({"time": time.time(), "host": self.headers.get("Host"), "path": self.path,
                                    "traceback": traceback.format_exc()})
            self.close_connection = True  # mid-body: the only honest signal left is a cut connection

    def _hang(self) -> None:
        """Say nothing until the client sends more, hangs up, or the test web stops; then close."""
        self.close_connection = True
        while not self.web.stopping.is_set():
            try:
                readable, _, _ = select.select([self.connection], [], [], 0.25)
            except (OSError, ValueError):
                return
            if readable:
                return

    def _write_simple(self, status: int, text: str) -> None:
        body = text.encode()
        self.wfile.write(self._head(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body))),
                                             ("Connection", "close")]) + body)


def _split_host(value: str, default_port: int) -> tuple[str, int]:
    value = value.strip().lower()
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port = value.partition(":")
    return host.rstrip("."), int(port) if port.isdigit() else default_port


def _as_response(result: Response | str | bytes) -> Response:
    if isinstance(result, Response):
        return result
    if isinstance(result, (str, bytes)):
        return Response(200, [("Content-Type", "text/html; charset=utf-8")], result)
    raise TypeError(f"handler returned {type(result).__name__}, expected Response, str or bytes")


def _gzip_stream(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Gzip on the fly, flushing after every chunk so a slow stream stays slow (not buffered to the end)."""
    compressor = zlib.compressobj(5, zlib.DEFLATED, 31)
    for chunk in chunks:
        yield compressor.compress(chunk) + compressor.flush(zlib.Z_SYNC_FLUSH)
    yield compressor.flush()
