"""A raw HTTP client for tests of the test web: any host name, TLS checked against our CA, direct or by proxy.

Standard library only, so tests see exactly what went over the wire (repeated headers, status, raw body):

    conn = connect(web, "www.example-news.fr")            # HTTPS to 127.0.0.1, SNI + verification for that name
    conn = connect(web, "www.example-news.fr", proxy=True) # CONNECT www.example-news.fr:443 through web.proxy_url
    reply = fetch(web, "https://www.example-news.fr/")    # one request; portless URLs go through the proxy
"""

from __future__ import annotations

import http.client
import socket
import ssl
import urllib.parse
from dataclasses import dataclass

from .server import TestWeb
from .site import Headers


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to an address of our choice, while SNI and certificate checks use the host name."""

    def __init__(self, host: str, address: tuple[str, int], **kw) -> None:
        super().__init__(host, address[1], **kw)
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection(self._address, self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, address: tuple[str, int], **kw) -> None:
        super().__init__(host, address[1], **kw)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection(self._address, self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def connect(web: TestWeb, host: str, scheme: str = "https", *, proxy: bool = False, verify: bool = True,
            timeout: float = 10.0) -> http.client.HTTPConnection:
    """A keep-alive connection to `host` on the test web (or through its proxy, as a portless client would)."""
    context = web.ssl_context() if verify else ssl._create_unverified_context()
    if proxy:
        conn: http.client.HTTPConnection
        if scheme == "https":
            conn = http.client.HTTPSConnection(web.bind, web.http_port, timeout=timeout, context=context)
            conn.set_tunnel(host, 443)
        else:
            conn = http.client.HTTPConnection(web.bind, web.http_port, timeout=timeout)
        return conn
    if scheme == "https":
        # Host header keeps the port, as a browser sends it for a non-default port.
        return _PinnedHTTPSConnection(host, (web.bind, web.https_port), timeout=timeout, context=context)
    return _PinnedHTTPConnection(host, (web.bind, web.http_port), timeout=timeout)


@dataclass
class Reply:
    status: int
    headers: Headers
    body: bytes


def fetch(web: TestWeb, url: str, method: str = "GET", *, body: bytes | None = None,
          headers: dict[str, str] | None = None, verify: bool = True, timeout: float = 10.0) -> Reply:
    """One request. URLs at the test web's ports go direct; portless URLs go through the proxy."""
    parts = urllib.parse.urlsplit(url)
    proxy = parts.port is None
    conn = connect(web, parts.hostname or "", parts.scheme, proxy=proxy, verify=verify, timeout=timeout)
    target = url if proxy and parts.scheme == "http" else (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        conn.request(method, target, body=body, headers=headers or {})
        response = conn.getresponse()
        return Reply(response.status, Headers(response.getheaders()), response.read())
    finally:
        conn.close()
