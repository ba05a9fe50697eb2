"""The test web engine: one process serving every test host over HTTPS and HTTP, and acting as an HTTP proxy.

Threads: one accept loop per listener and one daemon thread per connection (connection.py), so a hanging or
dripping page never blocks another host. HTTP/1.1 with keep-alive; no HTTP/2 (ALPN offers http/1.1 only).
"""

from __future__ import annotations

import shutil
import socket
import ssl
import tempfile
import threading
import weakref
from collections.abc import Iterable

from .connection import UNRESOLVABLE_HOSTS, Listener
from .site import Site
from .tls import Certificates


class TestWeb:
    """Many hostnames on 127.0.0.1: HTTPS (SNI picks the certificate), HTTP, and an HTTP proxy on the HTTP port.

    `sites=None` discovers every module of `demoweb.sites`. Ports 0 pick free ones. `latency` seconds pass before every
    response (a network's round trip, for benchmarks; tests leave it at 0). See the package docstring.
    """

    __test__ = False  # not a pytest test class, despite the name

    def __init__(self, sites: Iterable[Site] | None = None, *, bind: str = "127.0.0.1",
                 https_port: int = 0, http_port: int = 0, latency: float = 0.0) -> None:
        self.bind = bind
        self.latency = latency
        self._wanted_ports = (https_port, http_port)
        self.https_port = 0
        self.http_port = 0
        self.log: list[dict] = []
        self.errors: list[dict] = []  # handler exceptions, with traceback (each also answered 500)
        self._lock = threading.Lock()
        self._hosts: dict[str, list[Site]] = {}
        self._listeners: list[Listener] = []
        self._connections: set[socket.socket] = set()
        self.stopping = threading.Event()  # set by stop(): hanging and dripping handlers end on it
        self._holds: dict[str, threading.Event] = {}  # /held?gate=NAME waits while its hold is not released
        self._folder = tempfile.mkdtemp(prefix="mouchard-testweb-")
        weakref.finalize(self, shutil.rmtree, self._folder, True)
        self._certs = Certificates(self._folder)
        self._certs_stale = True
        if sites is None:
            from .sites import discover
            sites = discover()
        for site in sites:
            self.add_site(site)

    # --- sites -------------------------------------------------------------------------------------------------
    def add_site(self, site: Site) -> None:
        """Serve `site` too. Hosts added after start() get a re-issued leaf certificate (new connections only)."""
        with self._lock:
            for host in site.hosts:
                others = self._hosts.setdefault(host, [])
                if any(other.tls != site.tls for other in others):
                    raise ValueError(f"host {host}: sites {others} and {site} disagree on tls")
                others.append(site)
            self._certs_stale = True
        if self._listeners:
            self._issue_certificates()

    @property
    def hosts(self) -> list[str]:
        return sorted(self._hosts)

    def sites_for(self, host: str) -> list[Site]:
        """The sites serving `host`: exact name first, then a `*.parent` wildcard."""
        host = host.lower().rstrip(".")
        found = self._hosts.get(host)
        if found is None and "." in host:
            found = self._hosts.get("*." + host.split(".", 1)[1])
        return found or []

    def _issue_certificates(self) -> None:
        with self._lock:
            trusted = [h for h, sites in self._hosts.items() if sites[0].tls == "trusted"]
            untrusted = [h for h, sites in self._hosts.items() if sites[0].tls == "untrusted"]
            self._certs_stale = False
        self._certs.issue(trusted, untrusted)

    # --- life cycle --------------------------------------------------------------------------------------------
    def start(self) -> "TestWeb":
        """Bind both listeners (free ports unless given) and serve in daemon threads. Idempotent."""
        if self._listeners:
            return self
        if self._certs_stale:
            self._issue_certificates()
        self.stopping.clear()
        https = Listener((self.bind, self._wanted_ports[0]), self, "https")
        http_ = Listener((self.bind, self._wanted_ports[1]), self, "http")
        self._listeners = [https, http_]
        self.https_port, self.http_port = https.server_address[1], http_.server_address[1]
        for listener in self._listeners:
            threading.Thread(target=listener.serve_forever, kwargs={"poll_interval": 0.2},
                             name=f"testweb-{listener.scheme}", daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop listening, wake hanging handlers, close open connections."""
        self.stopping.set()
        for listener in self._listeners:
            listener.shutdown()
            listener.server_close()
        self._listeners = []
        with self._lock:
            connections, self._connections = list(self._connections), set()
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def __enter__(self) -> "TestWeb":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- addresses ---------------------------------------------------------------------------------------------
    def url(self, host: str, path: str = "/", scheme: str = "https") -> str:
        """`https://host:PORT/path` on this test web (http uses the HTTP port)."""
        port = self.https_port if scheme == "https" else self.http_port
        if path and not path.startswith("/"):
            path = "/" + path
        return f"{scheme}://{host}:{port}{path}"

    @property
    def proxy_url(self) -> str:
        return f"http://{self.bind}:{self.http_port}"

    @property
    def ca_pem_path(self) -> str:
        return self._certs.ca_pem_path

    def chromium_args(self, *, proxy: bool = False) -> list[str]:
        """Flags that send Chromium here and make it trust our certificates (not the untrusted host's).

        `proxy=True` routes through the proxy instead of the resolver rules, so portless URLs work in Chromium.
        """
        if self._certs_stale:
            self._issue_certificates()
        spki = f"--ignore-certificate-errors-spki-list={self._certs.spki_list()}"
        if proxy:
            return [f"--proxy-server={self.proxy_url}", "--proxy-bypass-list=<-loopback>", spki]
        # Chromium applies the first MAP rule that matches: the NOTFOUND ones must come before `MAP *`.
        rules = [f"MAP {host} ~NOTFOUND" for host in UNRESOLVABLE_HOSTS]
        rules += [f"MAP * {self.bind}", "EXCLUDE localhost"]
        return ["--host-resolver-rules=" + ", ".join(rules), spki]

    def ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts this test web's CA (for urllib, http.client, httpx)."""
        return ssl.create_default_context(cafile=self.ca_pem_path)

    # --- request log -------------------------------------------------------------------------------------------
    def record(self, entry: dict) -> None:
        with self._lock:
            self.log.append(entry)

    def clear_log(self) -> None:
        with self._lock:
            self.log.clear()
            self.errors.clear()

    def hold(self, gate: str) -> None:
        """From now on, pages `/held?gate=<gate>` keep loading until `release(gate)` (a test's event: a browser
        is then surely in the middle of that visit, whatever the machine's load)."""
        with self._lock:
            self._holds[gate] = threading.Event()

    def release(self, gate: str) -> None:
        """Let the pages held by `gate` finish (and later ones load at once)."""
        with self._lock:
            event = self._holds.setdefault(gate, threading.Event())
        event.set()

    def held(self, gate: str) -> threading.Event | None:
        """The event a held page waits for, or None when `gate` holds nothing."""
        with self._lock:
            event = self._holds.get(gate)
        return None if event is None or event.is_set() else event

    def requests_to(self, host: str) -> list[dict]:
        """Logged requests whose Host was `host`."""
        host = host.lower()
        with self._lock:
            return [e for e in self.log if e["host"] == host]

    def hosts_seen(self) -> set[str]:
        with self._lock:
            return {e["host"] for e in self.log}

    def _track(self, conn: socket.socket, open_: bool) -> None:
        with self._lock:
            (self._connections.add if open_ else self._connections.discard)(conn)


