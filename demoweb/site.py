"""The test web's site kit: `Site` (hosts + routes), `Request`, `Response`, and link rendering.

A route handler takes a `Request` and returns a `Response` (or a str/bytes, served as HTML). Pages that link
other hosts must build the links from the request, so the port (and portless proxy mode) is right:

    req.url("www.google-analytics.com", "/analytics.js")        # https://www.google-analytics.com:PORT/...
    req.render('<script src="{{https://connect.facebook.net/en_US/fbevents.js}}"></script>')

`render` replaces `{{scheme://host/path}}` with that URL at the test web's port, and `{https_port}`,
`{http_port}`, `{proxy_url}`, `{host}`, `{origin}` with their values; nothing else, so JS braces are safe.
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

GIF_PIXEL = (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
             b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")

Body = bytes | str | Iterable[bytes]


class WebAddress(Protocol):
    """What a request needs of the web that received it to write links (`demoweb.server.TestWeb` is one): the
    server module imports this one, never the other way round."""

    https_port: int
    http_port: int

    @property
    def proxy_url(self) -> str: ...

    def url(self, host: str, path: str = "/", scheme: str = "https") -> str: ...


class Headers:
    """Ordered header pairs; lookups ignore case; a name may repeat (`get_all`)."""

    def __init__(self, pairs: Iterable[tuple[str, str]] = ()) -> None:
        self.pairs: list[tuple[str, str]] = [(str(k), str(v)) for k, v in pairs]

    def get(self, name: str, default: str | None = None) -> str | None:
        name = name.lower()
        for key, value in self.pairs:
            if key.lower() == name:
                return value
        return default

    def get_all(self, name: str) -> list[str]:
        name = name.lower()
        return [value for key, value in self.pairs if key.lower() == name]

    def __getitem__(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self.pairs)

    def as_dict(self) -> dict[str, str]:
        """Lower-cased names; repeated headers joined with ', ' (cookies with '; ')."""
        out: dict[str, str] = {}
        for key, value in self.pairs:
            key = key.lower()
            out[key] = f"{out[key]}{'; ' if key == 'cookie' else ', '}{value}" if key in out else value
        return out

    def __repr__(self) -> str:
        return f"Headers({self.pairs!r})"


def parse_cookies(header_values: Iterable[str]) -> dict[str, str]:
    """Cookie request headers to a dict; tolerant of names the stdlib parser refuses (hostile pages set them)."""
    cookies: dict[str, str] = {}
    for header in header_values:
        for part in header.split(";"):
            name, sep, value = part.strip().partition("=")
            if sep:
                cookies.setdefault(name.strip(), value.strip())
    return cookies


@dataclass
class Request:
    """One request as a handler sees it. `path` is as sent (percent-encoded, no query); `port` is the one the
    client asked for (443 or 80 when it came portless through the proxy)."""

    method: str
    scheme: str
    host: str
    port: int
    path: str
    raw_query: str
    headers: Headers
    body: bytes = b""
    via: str = "direct"  # or "proxy"
    web: WebAddress | None = field(default=None, repr=False)
    params: dict[str, str] = field(default_factory=dict)  # from <name> route segments

    @property
    def query(self) -> dict[str, str]:
        """First value of each query parameter (`query_all` keeps every value)."""
        return {k: v[0] for k, v in self.query_all.items()}

    @property
    def query_all(self) -> dict[str, list[str]]:
        return urllib.parse.parse_qs(self.raw_query, keep_blank_values=True)

    @property
    def cookies(self) -> dict[str, str]:
        return parse_cookies(self.headers.get_all("cookie"))

    @property
    def origin(self) -> str:
        return self.url(self.host, "", self.scheme)

    @property
    def full_url(self) -> str:
        return self.url(self.host, self.path + (f"?{self.raw_query}" if self.raw_query else ""), self.scheme)

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    @property
    def portless(self) -> bool:
        """True when the client used default ports (proxy mode): links then carry no port either."""
        return self.port in (80, 443)

    def url(self, host: str, path: str = "/", scheme: str | None = None) -> str:
        """Absolute URL of `host` + `path` as this client can reach it (right port, or portless via proxy)."""
        scheme = scheme or "https"
        if self.portless or self.web is None:
            return f"{scheme}://{host}{path}"
        return self.web.url(host, path, scheme)

    def render(self, template: str, **values: object) -> str:
        """Substitute `{{scheme://host/path}}` links and `{https_port}`-style names (see module docstring)."""
        names: dict[str, object] = {"host": self.host, "origin": self.origin}
        if self.web is not None:
            names.update(https_port=self.web.https_port, http_port=self.web.http_port, proxy_url=self.web.proxy_url)
        names.update(values)
        text = _LINK.sub(lambda m: self.url(m["host"], m["path"] or "/", m["scheme"]), template)
        return _NAME.sub(lambda m: str(names[m[1]]) if m[1] in names else m[0], text)


_LINK = re.compile(r"\{\{(?P<scheme>https?)://(?P<host>[A-Za-z0-9.*-]+)(?P<path>/[^\s{}]*)?\}\}")
_NAME = re.compile(r"\{([a-z_]+)\}")


@dataclass
class Response:
    """What a handler returns. `headers` are pairs (repeat a name for several Set-Cookie).

    `body` may be bytes, str (UTF-8) or an iterable of bytes (streamed; chunked unless a Content-Length header is
    given). `gzip=True` compresses on the fly; `chunked=True` forces chunked encoding of a bytes body;
    `delay` seconds pass before the status line; `hang=True` never answers (until the client or server quits).
    """

    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: Body = b""
    gzip: bool = False
    chunked: bool = False
    delay: float = 0.0
    hang: bool = False
    close: bool = False

    @classmethod
    def html(cls, text: str, status: int = 200, headers: Iterable[tuple[str, str]] = (), **kw: Any) -> "Response":
        return cls(status, [("Content-Type", "text/html; charset=utf-8"), *headers], text, **kw)

    @classmethod
    def js(cls, text: str, headers: Iterable[tuple[str, str]] = (), **kw: Any) -> "Response":
        return cls(200, [("Content-Type", "application/javascript; charset=utf-8"), *headers], text, **kw)

    @classmethod
    def json(cls, value: Any, status: int = 200, headers: Iterable[tuple[str, str]] = (), **kw: Any) -> "Response":
        return cls(status, [("Content-Type", "application/json"), *headers], json.dumps(value), **kw)

    @classmethod
    def text(cls, text: str, status: int = 200, headers: Iterable[tuple[str, str]] = (), **kw: Any) -> "Response":
        return cls(status, [("Content-Type", "text/plain; charset=utf-8"), *headers], text, **kw)

    @classmethod
    def pixel(cls, headers: Iterable[tuple[str, str]] = ()) -> "Response":
        """A 1×1 transparent GIF, the classic tracking pixel."""
        return cls(200, [("Content-Type", "image/gif"), ("Cache-Control", "no-store"), *headers], GIF_PIXEL)

    @classmethod
    def empty(cls, status: int = 204, headers: Iterable[tuple[str, str]] = ()) -> "Response":
        return cls(status, list(headers), b"")

    @classmethod
    def redirect(cls, location: str, status: int = 302, headers: Iterable[tuple[str, str]] = ()) -> "Response":
        return cls(status, [("Location", location), ("Cache-Control", "no-store"), *headers], b"")

    @classmethod
    def not_found(cls, what: str = "not found") -> "Response":
        return cls.text(what, 404)


def set_cookie(name: str, value: str, *, domain: str | None = None, path: str = "/", max_age: int | None = None,
               secure: bool = False, http_only: bool = False, same_site: str | None = None) -> tuple[str, str]:
    """One `Set-Cookie` header pair. Third-party cookies need `same_site="None", secure=True` (and HTTPS)."""
    parts = [f"{name}={value}", f"Path={path}"]
    if domain:
        parts.append(f"Domain={domain}")
    if max_age is not None:
        parts.append(f"Max-Age={max_age}")
    if secure:
        parts.append("Secure")
    if http_only:
        parts.append("HttpOnly")
    if same_site:
        parts.append(f"SameSite={same_site}")
    return ("Set-Cookie", "; ".join(parts))


def drip(chunks: Iterable[bytes], interval: float, stop: threading.Event | None = None) -> Iterator[bytes]:
    """Yield `chunks` with `interval` seconds between them (a slow server); ends early when `stop` is set."""
    for i, chunk in enumerate(chunks):
        if i:
            if stop is not None:
                if stop.wait(interval):
                    return
            else:
                time.sleep(interval)
        yield chunk


Handler = Callable[[Request], "Response | str | bytes"]


@dataclass
class Route:
    pattern: str
    regex: re.Pattern[str]
    methods: frozenset[str] | None
    handler: Handler


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """`/a/<name>/b` (one segment), `/static/<path:rest>` (the rest) or a trailing `*` (any suffix)."""
    out, pos = [], 0
    for m in re.finditer(r"<(?:(path):)?([A-Za-z_][A-Za-z0-9_]*)>", pattern):
        out.append(re.escape(pattern[pos:m.start()]))
        out.append(f"(?P<{m[2]}>.*)" if m[1] else f"(?P<{m[2]}>[^/]+)")
        pos = m.end()
    tail = pattern[pos:]
    if tail.endswith("*"):
        out.append(re.escape(tail[:-1]) + ".*")
    else:
        out.append(re.escape(tail))
    return re.compile("".join(out) + r"\Z")


class Site:
    """Hosts (exact or `*.domain`) and the routes they answer. Declare routes with `@site.route(path)`.

    `cors=True` answers every cross-origin request as a tracker does (origin reflected, credentials allowed).
    `tls="untrusted"` serves the hosts with a certificate from a CA nobody trusts (TLS-error tests).
    """

    def __init__(self, name: str, hosts: Iterable[str], *, cors: bool = False, tls: str = "trusted") -> None:
        if tls not in ("trusted", "untrusted"):
            raise ValueError(f"site {name}: tls must be 'trusted' or 'untrusted', not {tls!r}")
        self.name = name
        self.hosts = [h.lower() for h in hosts]
        self.cors = cors
        self.tls = tls
        self.routes: list[Route] = []

    def route(self, pattern: str, methods: Iterable[str] | None = None) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.add_route(pattern, handler, methods)
            return handler
        return register

    def add_route(self, pattern: str, handler: Handler, methods: Iterable[str] | None = None) -> None:
        wanted = frozenset(m.upper() for m in methods) if methods else None
        for existing in self.routes:
            if existing.pattern == pattern and (existing.methods is None or wanted is None
                                                or existing.methods & wanted):
                raise ValueError(f"site {self.name}: route {pattern} registered twice")
        self.routes.append(Route(pattern, compile_pattern(pattern), wanted, handler))

    def match(self, method: str, path: str) -> tuple[Handler, dict[str, str]] | None:
        """The first route whose pattern matches `path` and accepts `method` (HEAD is served as GET).

        A route without `methods` takes every method but OPTIONS, so CORS preflights get the engine's answer
        unless a route lists OPTIONS itself.
        """
        for route in self.routes:
            m = route.regex.match(path)
            if m and ((route.methods is None and method != "OPTIONS") or (route.methods and method in route.methods)
                      or (method == "HEAD" and route.methods and "GET" in route.methods)):
                return route.handler, m.groupdict()
        return None

    def __repr__(self) -> str:
        return f"Site({self.name!r}, hosts={self.hosts!r})"
