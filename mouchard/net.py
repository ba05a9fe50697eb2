"""Network options shared by every collector: a proxy (vantage point) and a host map (test labs).

The same `NetworkOptions` drives Chromium (flags), Scrapy (resolver and proxy meta), mitmproxy (upstream) and
mouchard's own downloads (`fetch`), and is recorded in the `crawls` row, so a run says where it looked from.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import socket
import ssl
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path

from mouchard.decode.bodies import BodyError, decode_body
from mouchard.errors import UserError

PROXY_SCHEMES = ("http", "https", "socks4", "socks5", "socks5h")


@dataclass(frozen=True)
class HostRule:
    """One `PATTERN=ADDRESS` rule: `*`, `example.com` or `*.example.com` mapped to an address."""

    pattern: str
    address: str

    def matches(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        return fnmatch.fnmatchcase(host, self.pattern)

    def __str__(self) -> str:
        return f"{self.pattern}={self.address}"


def parse_host_rule(text: str) -> HostRule:
    """Parse `'*=127.0.0.1'` or `'example.com=10.1.2.3'`; a clear error otherwise."""
    pattern, sep, address = text.partition("=")
    pattern, address = pattern.strip().lower(), address.strip()
    if not sep or not pattern or not address or " " in pattern or " " in address or ":" in address.strip("[]") and not _is_ip(address.strip("[]")):
        raise UserError(f"bad --host-map rule {text!r}: expected PATTERN=ADDRESS, e.g. '*=127.0.0.1' or 'example.com=10.1.2.3'")
    return HostRule(pattern, address.strip("[]"))


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


def parse_proxy(url: str | None) -> str | None:
    if not url:
        return None
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in PROXY_SCHEMES or not parts.hostname or not parts.port:
        raise UserError(f"bad --proxy {url!r}: expected SCHEME://HOST:PORT with scheme one of {', '.join(PROXY_SCHEMES)}")
    return url


@dataclass(frozen=True)
class NetworkOptions:
    """Where traffic goes: `proxy` (http/socks URL), `host_map` rules, TLS strictness, an extra CA."""

    proxy: str | None = None
    host_map: tuple[HostRule, ...] = ()
    ignore_https_errors: bool = False
    ca_file: str | None = None

    @classmethod
    def build(cls, proxy: str | None = None, host_map: tuple[str, ...] | list[str] = (),
              ignore_https_errors: bool = False, ca_file: str | None = None) -> "NetworkOptions":
        """Validate user-supplied values once, at start (raises UserError)."""
        if ca_file:
            try:
                ssl.create_default_context(cafile=ca_file)
            except (OSError, ssl.SSLError) as exc:
                raise UserError(f"cannot read CA file {ca_file}: {exc}") from None
        return cls(parse_proxy(proxy), tuple(parse_host_rule(r) for r in host_map), ignore_https_errors, ca_file)

    def resolve(self, host: str) -> str | None:
        """The mapped address for `host`, or None when no rule applies (then DNS decides)."""
        if host.lower() == "localhost":
            return None
        for rule in self.host_map:
            if rule.matches(host):
                return rule.address
        return None

    def chromium_args(self) -> list[str]:
        """Chromium flags: host-resolver rules and proxy server."""
        args = []
        if self.host_map:
            rules = [f"MAP {r.pattern} {r.address}" for r in self.host_map]
            args.append("--host-resolver-rules=" + ", ".join(rules + ["EXCLUDE localhost"]))
        if self.proxy:
            args.append("--proxy-server=" + self.proxy.replace("socks5h://", "socks5://"))
        if self.ignore_https_errors:
            args.append("--ignore-certificate-errors")
        return args

    def mitmproxy_options(self) -> dict[str, object]:
        """mitmproxy options (name -> value, for `--set`): the host map (mouchard's addon resolves with it) and how
        upstream certificates are checked. The upstream proxy is a mitmproxy *mode* (`upstream:URL`), chosen by
        the proxy command with the other modes."""
        options: dict[str, object] = {"mouchard_host_map": [str(rule) for rule in self.host_map]}
        if self.ignore_https_errors:
            options["ssl_insecure"] = True
        if self.ca_file:
            options["ssl_verify_upstream_trusted_ca"] = str(Path(self.ca_file).resolve())
        return options

    def as_record(self) -> dict:
        """What goes in `crawls.network` (JSON)."""
        return {"proxy": self.proxy, "host_map": [str(r) for r in self.host_map],
                "ignore_https_errors": self.ignore_https_errors, "ca_file": self.ca_file}

    def ssl_context(self) -> ssl.SSLContext:
        if self.ignore_https_errors:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            return ctx
        ctx = ssl.create_default_context()
        if self.ca_file:
            ctx.load_verify_locations(cafile=self.ca_file)
        return ctx


@dataclass
class FetchResult:
    """A downloaded resource: the last URL after redirects, status, headers and body (decompressed)."""

    url: str
    status: int
    headers: Message
    body: bytes = field(repr=False)


class FetchError(Exception):
    """A download failed; `str()` is one line for the user."""


def _connector(net: NetworkOptions):
    """A socket.create_connection replacement applying the host map, or tunnelling through SOCKS."""
    proxy = urllib.parse.urlsplit(net.proxy) if net.proxy and net.proxy.startswith("socks") else None

    def connect(address, timeout=socket._GLOBAL_DEFAULT_TIMEOUT, source_address=None, **kw):
        host, port = address
        if proxy is not None:
            import socks  # PySocks; only needed for SOCKS vantage points

            kind = socks.SOCKS4 if proxy.scheme == "socks4" else socks.SOCKS5
            return socks.create_connection((host, port), timeout, source_address, proxy_type=kind,
                                           proxy_addr=proxy.hostname, proxy_port=proxy.port,
                                           proxy_rdns=proxy.scheme == "socks5h",
                                           proxy_username=proxy.username, proxy_password=proxy.password)
        return socket.create_connection((net.resolve(host) or host, port), timeout, source_address)

    return connect


def _opener(net: NetworkOptions) -> urllib.request.OpenerDirector:
    connect = _connector(net)

    class MappedHTTP(urllib.request.HTTPHandler):
        def http_open(self, req):
            def factory(host, **kw):
                conn = urllib.request.http.client.HTTPConnection(host, **kw)
                conn._create_connection = connect
                return conn
            return self.do_open(factory, req)

    class MappedHTTPS(urllib.request.HTTPSHandler):
        def https_open(self, req):
            def factory(host, **kw):
                kw.setdefault("context", net.ssl_context())
                conn = urllib.request.http.client.HTTPSConnection(host, **kw)
                conn._create_connection = connect
                return conn
            return self.do_open(factory, req)

    handlers: list = [MappedHTTP(), MappedHTTPS()]
    if net.proxy and net.proxy.startswith("http"):
        handlers.append(urllib.request.ProxyHandler({"http": net.proxy, "https": net.proxy}))
    else:
        handlers.append(urllib.request.ProxyHandler({}))  # ignore $http_proxy: the run records its vantage
    return urllib.request.build_opener(*handlers)


def fetch(url: str, net: NetworkOptions = NetworkOptions(), *, timeout: float = 60.0,
          max_bytes: int = 512 * 1024 * 1024, headers: dict[str, str] | None = None) -> FetchResult:
    """Download `url` through `net` (proxy, host map, TLS options); raises FetchError with a one-line reason."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchError(f"not an http(s) URL: {url}")
    request = urllib.request.Request(url, headers={"User-Agent": "mouchard", "Accept-Encoding": "gzip, deflate",
                                                   **(headers or {})})
    try:
        with _opener(net).open(request, timeout=timeout) as response:
            body = response.read(max_bytes + 1)
            if len(body) > max_bytes:
                raise FetchError(f"{url}: larger than {max_bytes} bytes")
            return FetchResult(response.geturl(), response.status, response.headers,
                               _decoded(url, body, response.headers.get("Content-Encoding", ""), max_bytes))
    except urllib.error.HTTPError as exc:
        raise FetchError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise FetchError(f"{url}: {exc.reason}") from None
    except (OSError, ssl.SSLError, ValueError) as exc:
        raise FetchError(f"{url}: {exc}") from None


def _decoded(url: str, body: bytes, encoding: str, max_bytes: int) -> bytes:
    if not encoding.strip():  # a download is what it says it is: a .tgz stays gzipped (no sniffing here)
        return body
    try:
        return decode_body(body, encoding, max_bytes)
    except BodyError as exc:
        raise FetchError(f"{url}: {exc}") from None


def download(url: str, net: NetworkOptions = NetworkOptions(), *, timeout: float = 120.0,
             max_bytes: int = 128 * 1024 * 1024) -> tuple[bytes, str | None]:
    """Body and Last-Modified date (ISO) of `url`; a local path or file:// URL is read from disk (offline mirrors).

    Both ways are held to `max_bytes` (`FetchError` beyond it), so a list, a vendor list or a registry file given as
    a path is bounded like one downloaded.
    """
    import email.utils

    path = url[7:] if url.startswith("file://") else (url if "://" not in url else None)
    if path is not None:
        try:
            with open(path, "rb") as handle:
                raw = handle.read(max_bytes + 1)
        except OSError as exc:
            raise FetchError(f"{url}: {exc.strerror or exc}") from None
        if len(raw) > max_bytes:
            raise FetchError(f"{url}: larger than {max_bytes} bytes")
        return raw, None
    result = fetch(url, net, timeout=timeout, max_bytes=max_bytes)
    modified = result.headers.get("Last-Modified")
    try:
        date = email.utils.parsedate_to_datetime(modified).date().isoformat() if modified else None
    except (TypeError, ValueError):
        date = None
    return result.body, date
