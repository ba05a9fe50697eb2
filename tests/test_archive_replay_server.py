"""The replay proxy (mouchard.archive.replay_server) and the pinned page clock (mouchard.archive.clock): archived
responses served over HTTP and HTTPS and never the network, hostile clients refused on budgets, the port and the
thread gone on exit; real Chromium loading an archived page through it, and reading the shifted clock."""

from __future__ import annotations

import hashlib
import re
import socket
import ssl
import threading
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from urllib.parse import urlsplit

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mouchard.archive.clock import OFFSET_MAX_MS, clock_script
from mouchard.archive.clock import capture_age, shift_cookie_expires
from mouchard.archive.records import ArchivedResponse
from mouchard.archive.http1 import (HEAD_MAX, REQUEST_BODY_MAX, BadRequest, absolute_url, parse_connect_target,
                                    parse_head)
from mouchard.archive.replay_server import NOT_ARCHIVED_MAX, ReplayServer

GUARD = 60.0  # socket timeout: a guard against a hanging test, never a timing assertion


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


class FakeIndex:
    """ArchiveIndex's `lookup` over a dict: (method, url) -> [responses]; POSTs choose by the request body's
    sha256 (as ArchiveIndex does); `fuzzy` URLs answer the same as their exact one, marked fuzzy."""

    def __init__(self, responses: list[ArchivedResponse], fuzzy: dict[str, str] | None = None) -> None:
        self.by_key: dict[tuple[str, str], list[ArchivedResponse]] = {}
        for response in responses:
            self.by_key.setdefault((response.method, response.url), []).append(response)
        self.fuzzy = fuzzy or {}
        self.calls: list[tuple[str, str, bytes | None]] = []

    def lookup(self, method, url, body=None, *, phase=None, site=None):
        self.calls.append((method, url, body))
        how = "exact"
        if url in self.fuzzy:
            url, how = self.fuzzy[url], "fuzzy"
        found = self.by_key.get((method, url))
        if not found:
            return None, "not-archived"
        digest = hashlib.sha256(body).hexdigest() if body is not None else None
        return next((r for r in found if r.request_body_sha256 == digest), found[0]), how


def response(url: str, body: bytes = b"", *, status: int = 200, headers=(), method: str = "GET",
             captured_at: str = "2026-01-02T03:04:05Z", truncated: str | None = None,
             request_body: bytes | None = None) -> ArchivedResponse:
    return ArchivedResponse(url=url, method=method, status=status, status_text="", headers=tuple(headers),
                            body=body, truncated=truncated, captured_at=captured_at,
                            request_body_sha256=hashlib.sha256(request_body).hexdigest() if request_body else None)


PAGE = b"""<!doctype html><title>archived</title><p id="out">waiting</p>
<script>fetch("https://api.example/data.json").then(r => r.json())
  .then(d => { document.getElementById("out").textContent = d.value; });</script>"""
CAPTURED = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
ARCHIVE = [
    response("https://shop.example/", PAGE, headers=[
        ("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store"),
        ("Transfer-Encoding", "chunked"), ("Connection", "keep-alive, X-Per-Hop"), ("X-Per-Hop", "dropped"),
        ("Content-Length", "999"), ("X-Mouchard-Replay", "forged"), ("X-Archive-Orig-Content-Encoding", "br")]),
    response("https://api.example/data.json", b'{"value": "from the archive"}', headers=[
        ("Content-Type", "application/json"), ("Access-Control-Allow-Origin", "*")]),
    response("https://shop.example/cookie", b"ok", captured_at=_iso(CAPTURED), headers=[
        ("Set-Cookie", f"id=abc; Expires={format_datetime(CAPTURED + timedelta(days=1), usegmt=True)}; Path=/"),
        ("Set-Cookie", "session=1; Max-Age=3600; Path=/"),
        ("Set-Cookie", "odd=1; expires=not a date; Path=/")]),
    response("https://shop.example/big", b"cut", truncated="length"),
    response("https://shop.example/moved", status=302, headers=[("Location", "https://shop.example/")]),
    response("https://shop.example/empty", status=204),
    response("http://plain.example/page?a=1", b"plain", headers=[("Content-Type", "text/plain")]),
    response("https://shop.example/form", b"answer one", method="POST", request_body=b"q=one"),
    response("https://shop.example/form", b"answer two", method="POST", request_body=b"q=two"),
    response("https://shop.example/clock", b"<!doctype html><title>clock</title>",
             headers=[("Content-Type", "text/html")]),
]
FUZZY = {"https://shop.example/?cb=123": "https://shop.example/"}


@pytest.fixture(scope="module")
def server():
    with ReplayServer(FakeIndex(ARCHIVE, FUZZY)) as running:
        yield running


def client(server: ReplayServer) -> httpx.Client:
    return httpx.Client(proxy=server.proxy_url, verify=ssl.create_default_context(cafile=server.ca_file),
                        timeout=GUARD)


def fresh_stats(server: ReplayServer):
    """Reset the module server's counters and its index's calls (the server thread only adds to them)."""
    server.stats.__init__()
    server.index.calls.clear()
    return server.stats


# --- serving -------------------------------------------------------------------------------------------------------

def test_https_get_returns_the_archived_status_headers_and_body(server):
    stats = fresh_stats(server)
    with client(server) as http:
        answer = http.get("https://shop.example/")
    assert answer.status_code == 200
    assert answer.http_version == "HTTP/1.1"
    assert answer.reason_phrase == "OK"
    # hop-by-hop headers, those the archived Connection header named, a forged replay mark and the archived
    # Content-Length are gone; ours are added
    assert answer.headers.multi_items() == [
        ("content-type", "text/html; charset=utf-8"), ("cache-control", "no-store"),
        ("x-archive-orig-content-encoding", "br"), ("x-mouchard-replay", "exact"),
        ("content-length", str(len(PAGE))), ("connection", "keep-alive")]
    assert answer.content == PAGE
    assert (stats.served, stats.fuzzy, stats.not_archived, stats.connections) == (1, 0, [], 1)


def test_plain_http_proxy_request_and_redirects_and_no_content(server):
    stats = fresh_stats(server)
    with client(server) as http:
        plain = http.get("http://plain.example/page?a=1")
        moved = http.get("https://shop.example/moved")
        empty = http.get("https://shop.example/empty")
    assert (plain.status_code, plain.content, plain.headers["x-mouchard-replay"]) == (200, b"plain", "exact")
    assert (moved.status_code, moved.headers["location"], moved.content) == (302, "https://shop.example/", b"")
    assert (empty.status_code, empty.content, "content-length" in empty.headers) == (204, b"", False)
    assert stats.served == 3


def test_keep_alive_serves_three_requests_on_one_connection(server):
    stats = fresh_stats(server)
    with client(server) as http:
        answers = [http.get(url) for url in
                   ("https://shop.example/", "https://shop.example/big", "https://shop.example/?cb=123")]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [a.headers["x-mouchard-replay"] for a in answers] == ["exact", "exact", "fuzzy"]
    assert answers[1].headers["x-mouchard-replay-truncated"] == "length"
    assert "x-mouchard-replay-truncated" not in answers[0].headers
    assert answers[2].content == PAGE
    assert (stats.connections, stats.served, stats.fuzzy) == (1, 3, 1)


def test_post_chooses_the_response_by_its_request_body(server):
    fresh_stats(server)
    with client(server) as http:
        two = http.post("https://shop.example/form", content=b"q=two")
        one = http.post("https://shop.example/form", content=b"q=one")
        # a chunked body (no Content-Length) is read whole too
        chunked = http.post("https://shop.example/form", content=iter([b"q=", b"two"]))
    assert (two.content, one.content, chunked.content) == (b"answer two", b"answer one", b"answer two")


def test_not_archived_is_a_404_with_the_mark_and_listed(server):
    stats = fresh_stats(server)
    with client(server) as http:
        missing = http.get("https://shop.example/missing?x=1")
        plain = http.head("http://other.example:8080/")
    assert missing.status_code == 404
    assert missing.headers["x-mouchard-replay"] == "not-archived"
    assert missing.content == b"mouchard replay: not in the archive\n"
    assert (plain.status_code, plain.content) == (404, b"")
    assert stats.not_archived == [("GET", "https://shop.example/missing?x=1"), ("HEAD", "http://other.example:8080/")]
    assert (stats.not_archived_total, stats.served) == (2, 0)


def test_not_archived_list_is_bounded_and_counted_beyond(server, monkeypatch):
    import mouchard.archive.replay_server as module

    monkeypatch.setattr(module, "NOT_ARCHIVED_MAX", 2)
    stats = fresh_stats(server)
    with client(server) as http:
        for n in range(3):
            assert http.get(f"https://shop.example/none{n}").status_code == 404
    assert stats.not_archived == [("GET", "https://shop.example/none0"), ("GET", "https://shop.example/none1")]
    assert stats.not_archived_total == 3
    assert NOT_ARCHIVED_MAX == 10_000


def test_websocket_upgrade_is_not_archived(server):
    stats = fresh_stats(server)
    head = raw_exchange(server, b"GET http://shop.example/ HTTP/1.1\r\nHost: shop.example\r\nUpgrade: websocket\r\n"
                                b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 404 Not Found\r\n")
    assert b"X-Mouchard-Replay: not-archived\r\n" in head
    assert stats.not_archived == [("GET", "http://shop.example/")]


# --- cookies -------------------------------------------------------------------------------------------------------

def test_set_cookie_expires_keeps_its_lifetime_from_now(server):
    before = datetime.now(UTC)
    with client(server) as http:
        answer = http.get("https://shop.example/cookie")
    after = datetime.now(UTC)
    cookies = answer.headers.get_list("set-cookie")
    assert len(cookies) == 3
    expires = parsedate_to_datetime(re.search(r"Expires=([^;]+)", cookies[0]).group(1))
    # captured two days ago with a one-day lifetime: it expires one day after the replay's "now" (to the second)
    assert before + timedelta(days=1) - timedelta(seconds=1) <= expires <= after + timedelta(days=1)
    assert cookies[0].startswith("id=abc; Expires=") and cookies[0].endswith("; Path=/")
    assert cookies[1:] == ["session=1; Max-Age=3600; Path=/", "odd=1; expires=not a date; Path=/"]


def test_set_cookie_dates_left_alone_when_asked():
    archived = ARCHIVE[2]
    with ReplayServer(FakeIndex([archived]), shift_cookie_dates=False) as plain, client(plain) as http:
        cookies = http.get("https://shop.example/cookie").headers.get_list("set-cookie")
    assert cookies == [value for name, value in archived.headers]


def test_shift_cookie_expires_exact_values():
    day = timedelta(days=1)
    assert shift_cookie_expires("a=1; Expires=Wed, 09 Dec 2026 19:34:12 GMT; Secure", day) == \
        "a=1; Expires=Thu, 10 Dec 2026 19:34:12 GMT; Secure"
    # the tolerant formats sites write (http.cookiejar's parser), always written back in the IMF-fixdate form
    assert shift_cookie_expires("a=1; expires=Wednesday, 09-Dec-2026 19:34:12 GMT", -day) == \
        "a=1; expires=Tue, 08 Dec 2026 19:34:12 GMT"
    assert shift_cookie_expires("expires=Wed, 09 Dec 2026 19:34:12 GMT", day) == \
        "expires=Wed, 09 Dec 2026 19:34:12 GMT"  # the cookie's name, not an attribute
    assert shift_cookie_expires("a=1; Expires=Fri, 31 Dec 9999 23:59:59 GMT", day) == \
        "a=1; Expires=Fri, 31 Dec 9999 23:59:59 GMT"  # out of range: left as is
    assert capture_age("2026-12-05T00:00:00Z", datetime(2026, 12, 7, tzinfo=UTC)) == timedelta(days=2)
    assert capture_age("2026-12-05T00:00:00", datetime(2026, 12, 7, tzinfo=UTC)) == timedelta(days=2)
    assert capture_age("yesterday", datetime(2026, 12, 7, tzinfo=UTC)) is None


@given(st.text(max_size=300), st.integers(min_value=-10**6, max_value=10**6))
def test_shift_cookie_expires_never_raises(value, days):
    shifted = shift_cookie_expires(value, timedelta(days=days))
    assert isinstance(shifted, str)
    if "expires" not in value.lower():
        assert shifted == value


# --- hostile clients -----------------------------------------------------------------------------------------------

def raw_exchange(server: ReplayServer, data: bytes, *, shut: bool = True) -> bytes:
    """Send `data` on a new connection (then end our side) and read until the server closes it."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=GUARD) as sock:
        try:
            sock.sendall(data)
            if shut:
                sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server may close first (it refused what it read)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize(("data", "status"), [
    (b"NONSENSE\r\n\r\n", b"400"),
    (b"GET /relative HTTP/1.1\r\nHost: shop.example\r\n\r\n", b"400"),  # a proxy needs absolute URLs
    (b"GET ftp://shop.example/ HTTP/1.1\r\n\r\n", b"400"),
    (b"GET http://shop.example/ HTTP/2.0\r\n\r\n", b"400"),
    (b"GET http://shop.example/ HTTP/1.1\r\nBad Header: x\r\n\r\n", b"400"),
    (b"GET http://shop.example/ HTTP/1.1\r\n folded: x\r\n\r\n", b"400"),
    (b"GET http://shop.example/ HTTP/1.1\r\nX: " + b"a" * 9000 + b"\r\n\r\n", b"431"),
    (b"GET http://shop.example/ HTTP/1.1\r\n" + b"X: y\r\n" * 101 + b"\r\n", b"431"),
    (b"GET http://shop.example/ HTTP/1.1\r\n" + (b"X: " + b"y" * 8000 + b"\r\n") * 9 + b"\r\n", b"431"),
    (b"POST http://shop.example/ HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nabc", b"400"),
    (b"POST http://shop.example/ HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabc", b"400"),
    (b"POST http://shop.example/ HTTP/1.1\r\nContent-Length: -3\r\n\r\n", b"400"),
    (b"POST http://shop.example/ HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % (REQUEST_BODY_MAX + 1), b"413"),
    (b"POST http://shop.example/ HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", b"501"),
    (b"POST http://shop.example/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", b"400"),
    (b"POST http://shop.example/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n900000\r\n", b"413"),
    (b"CONNECT shop.example HTTP/1.1\r\n\r\n", b"400"),
    (b"CONNECT ../../etc/passwd:443 HTTP/1.1\r\n\r\n", b"400"),
    (b"CONNECT shop.example:99999 HTTP/1.1\r\n\r\n", b"400"),
])
def test_malformed_requests_get_an_error_and_the_connection_closed(server, data, status):
    stats = fresh_stats(server)
    # the server answers then closes, even though our side stays open (no shutdown)
    answer = raw_exchange(server, data + b"GET http://plain.example/page?a=1 HTTP/1.1\r\n\r\n", shut=False)
    assert answer.startswith(b"HTTP/1.1 " + status + b" ")
    assert answer.count(b"HTTP/1.1 ") == 1  # the pipelined good request after it was never answered
    assert b"Connection: close\r\n" in answer
    assert (stats.bad_requests, stats.served) == (1, 0)


@given(st.binary(max_size=3000))
def test_parse_head_returns_a_checked_request_or_refuses(data):
    try:
        request = parse_head(data)
    except BadRequest as refused:
        assert refused.status in (400, 431)
        return
    assert request.version in ("HTTP/1.0", "HTTP/1.1")
    assert all(name and "\r" not in value and "\n" not in value for name, value in request.headers)
    assert len(request.headers) <= 100


@given(st.text(max_size=300), st.one_of(st.none(), st.tuples(st.sampled_from(["a.example", "::1"]),
                                                            st.integers(1, 65535))))
def test_request_targets_become_urls_or_are_refused(target, tunnel):
    for parse in (lambda: parse_connect_target(target), lambda: absolute_url(target, tunnel)):
        try:
            parsed = parse()
        except BadRequest as refused:
            assert refused.status == 400
            continue
        if isinstance(parsed, str):
            assert parsed.startswith(("http://", "https://")) and not any(c in parsed for c in " \r\n\x00")
        else:
            assert 0 < parsed[1] < 65536 and parsed[0] == parsed[0].lower()


def test_request_targets_exact_values():
    assert absolute_url("/a?b=1", ("shop.example", 443)) == "https://shop.example/a?b=1"
    assert absolute_url("/", ("::1", 8443)) == "https://[::1]:8443/"
    assert absolute_url("HTTP://Shop.Example:80", None) == "http://shop.example/"
    assert absolute_url("https://shop.example:443/x", ("shop.example", 443)) == "https://shop.example/x"
    assert parse_connect_target("[::1]:443") == ("::1", 443)
    assert parse_connect_target("Shop.Example.:8443") == ("shop.example", 8443)
    for bad in ("shop.example:²", "shop.example:0", "a b:443", ":443", "[::1:443"):
        with pytest.raises(BadRequest):
            parse_connect_target(bad)
    for bad in ("http://[::1/", "http://shop.example:x/", "/x", "file:///etc/passwd", "http://a b/"):
        with pytest.raises(BadRequest):
            absolute_url(bad, None)


def test_a_head_past_the_budget_is_refused(server):
    answer = raw_exchange(server, b"GET http://shop.example/ HTTP/1.1\r\n" + b"X: y\r\n" * (HEAD_MAX // 6))
    assert answer.startswith(b"HTTP/1.1 431 ")


def test_a_silent_client_is_dropped_after_the_idle_timeout():
    with ReplayServer(FakeIndex(ARCHIVE)) as quick:
        quick.idle_timeout = 0.2
        with socket.create_connection(("127.0.0.1", quick.port), timeout=GUARD) as sock:
            sock.sendall(b"GET http://shop.example/ HTTP/1.1\r\n")  # and nothing more
            assert sock.recv(100) == b""  # closed by the server, without an answer
        assert quick.stats.bad_requests == 1


def good_request_works(server: ReplayServer) -> None:
    answer = raw_exchange(server, b"GET http://plain.example/page?a=1 HTTP/1.1\r\nConnection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n") and answer.endswith(b"\r\n\r\nplain")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(
    st.binary(max_size=2000),
    st.binary(max_size=500).map(lambda b: b"GET http://shop.example/ HTTP/1.1\r\n" + b),
    st.binary(max_size=500).map(lambda b: b"POST http://shop.example/form HTTP/1.1\r\nContent-Length: 10\r\n\r\n" + b),
    st.binary(max_size=500).map(lambda b: b"CONNECT shop.example:443 HTTP/1.1\r\n\r\n" + b),  # garbage TLS
    st.lists(st.sampled_from([b"GET ", b"http://", b"a.example", b"/", b" HTTP/1.1", b"\r\n", b":", b" ",
                              b"Content-Length: 1", b"Transfer-Encoding: chunked", b"0", b"\x00", b"\xff"]),
             max_size=40).map(b"".join)))
def test_random_bytes_never_crash_the_server(server, data):
    raw_exchange(server, data)  # returns: the server ended the connection
    good_request_works(server)


def test_no_socket_is_ever_opened_elsewhere(server):
    """A CONNECT to a live port and a proxy request to it: both answered from the archive, nothing reaches it."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        with client(server) as http:
            assert http.get(f"https://127.0.0.1:{port}/").headers["x-mouchard-replay"] == "not-archived"
            assert http.get(f"http://127.0.0.1:{port}/").headers["x-mouchard-replay"] == "not-archived"
        listener.setblocking(False)
        with pytest.raises(BlockingIOError):
            listener.accept()


def test_index_failure_is_a_500_for_that_request_only():
    class Broken:
        def lookup(self, method, url, body=None, **_):
            raise RuntimeError("boom")

    with ReplayServer(Broken()) as broken, client(broken) as http:
        answers = [http.get("https://shop.example/"), http.get("https://shop.example/")]
        assert [(a.status_code, a.headers["x-mouchard-replay"]) for a in answers] == [(500, "error")] * 2
        assert (broken.stats.errors, broken.stats.connections) == (2, 1)


def test_exit_frees_the_port_stops_the_thread_and_removes_the_ca():
    with ReplayServer(FakeIndex(ARCHIVE)) as short:
        port, folder = short.port, short.ca_file.rsplit("/", 1)[0]
        with client(short) as http:
            assert http.get("https://shop.example/").status_code == 200
            # a connection still open at exit is closed by the server
            held = socket.create_connection(("127.0.0.1", port), timeout=GUARD)
            assert short.proxy_url == f"http://127.0.0.1:{port}"
    with held:
        try:
            assert held.recv(10) == b""
        except ConnectionResetError:
            pass  # closed by an abort: as good
    assert short._thread is not None and short._thread not in threading.enumerate()
    import os

    assert not os.path.exists(folder)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=GUARD).close()
    with socket.socket() as again:
        again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        again.bind(("127.0.0.1", port))  # the port is free


def test_leaf_certificates_name_the_host_and_chain_to_the_ca(server):
    ctx = ssl.create_default_context(cafile=server.ca_file)
    for host in ("shop.example", "127.0.0.1"):
        with socket.create_connection(("127.0.0.1", server.port), timeout=GUARD) as sock:
            sock.sendall(f"CONNECT {host}:443 HTTP/1.1\r\n\r\n".encode())
            assert sock.recv(100) == b"HTTP/1.1 200 Connection Established\r\n\r\n"
            with ctx.wrap_socket(sock, server_hostname=host) as tls:
                assert tls.selected_alpn_protocol() is None
                tls.sendall(b"GET /missing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                assert tls.recv(100).startswith(b"HTTP/1.1 404 Not Found\r\n")
    alpn = ssl.create_default_context(cafile=server.ca_file)
    alpn.set_alpn_protocols(["h2", "http/1.1"])
    with socket.create_connection(("127.0.0.1", server.port), timeout=GUARD) as sock:
        sock.sendall(b"CONNECT api.example:443 HTTP/1.1\r\n\r\n")
        sock.recv(100)
        with alpn.wrap_socket(sock, server_hostname="api.example") as tls:
            assert tls.selected_alpn_protocol() == "http/1.1"


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    from mouchard.archive.certificates import ReplayCertificates

    folder = tmp_path_factory.mktemp("certificates")
    return folder, ReplayCertificates(str(folder))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.from_regex(r"[a-z0-9_-]{1,63}(\.[a-z0-9_-]{1,63}){0,3}", fullmatch=True), st.ip_addresses().map(str),
                 st.text(max_size=80)))
def test_every_valid_host_gets_a_certificate_and_no_other(certificates, host):
    from mouchard.archive.http1 import valid_host

    folder, made = certificates
    if not valid_host(host):
        return  # refused before a certificate is asked for (parse_connect_target, absolute_url, SNI)
    assert made.context(host) is made.context(host)
    assert sorted(p.name for p in folder.iterdir()) == ["ca.pem", "leaf-key.pem"]  # chains never stay on disk


# --- the clock script ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("bad", [float("nan"), float("inf"), 1.5, True, "5", None, OFFSET_MAX_MS + 1, -10**30])
def test_clock_script_refuses_anything_but_a_sane_integer(bad):
    with pytest.raises(ValueError):
        clock_script(bad)


@given(st.integers(-OFFSET_MAX_MS, OFFSET_MAX_MS))
def test_clock_script_takes_every_integer_in_range(offset):
    script = clock_script(offset)
    assert f"const OFFSET = {offset};" in script and script.count("%") == 0


def test_clock_script_writes_the_integer_only():
    assert "const OFFSET = -86400000;" in clock_script(-86_400_000)
    assert "const OFFSET = 5;" in clock_script(5.0)


# --- real Chromium ---------------------------------------------------------------------------------------------------

CLOCK_OFFSET_MS = -400 * 24 * 3600 * 1000  # 400 days ago: always another year than today
CLOCK_PROBE = """() => {
  const real = performance.timeOrigin + performance.now();
  const now = Date.now(), made = new Date().getTime(), text = Date();
  class Later extends Date {}
  const native = (f) => Function.prototype.toString.call(f);
  return {
    real, now, made, text, year: new Date(real + %d).getFullYear(),
    epoch: new Date(0).getTime(), parts: new Date(2020, 0, 2).getDate(), typeofCall: typeof Date(),
    isDate: new Date() instanceof Date, sameProto: Object.getPrototypeOf(new Date()) === Date.prototype,
    constructorIsDate: new Date().constructor === Date,
    sub: new Later() instanceof Later && new Later() instanceof Date,
    subNow: new Later().getTime(), length: Date.length, name: Date.name,
    parse: Date.parse("2020-01-01T00:00:00Z"), utc: Date.UTC(2020, 0, 1),
    sources: [native(Date), native(Date.now), String(Date.now), native(Function.prototype.toString),
              native(Date.prototype.getTime), native(Date.parse)],
  };
}""" % CLOCK_OFFSET_MS


@pytest.fixture(scope="module")
def chromium(server):
    """Headless Chromium sending everything to the module's replay server and trusting its CA (ca_args)."""
    from playwright.sync_api import sync_playwright

    from crawler.browser.launch import ca_args
    from mouchard.browser import find_browser, launch_options

    args = [f"--proxy-server={server.proxy_url}", *ca_args(server.ca_file)]
    with sync_playwright() as p:
        browser = p.chromium.launch(**launch_options(find_browser(), args), headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.mark.browser
def test_chromium_loads_an_archived_page_whose_script_fetches_archived_json(server, chromium):
    stats = fresh_stats(server)
    page = chromium.new_page()
    try:
        page.goto("https://shop.example/", wait_until="load")
        page.wait_for_function("document.getElementById('out').textContent !== 'waiting'", timeout=GUARD * 1000)
        assert page.text_content("#out") == "from the archive"
    finally:
        page.close()
    # the page's requests, in order (the favicon, when Chromium asks, is not archived: listed, not served); the
    # browser's own background requests (component updates...) reach the replay server too, and nothing else
    ours = [call for call in server.index.calls if urlsplit(call[1]).hostname in ("shop.example", "api.example")
            and not call[1].endswith("/favicon.ico")]
    assert ours == [("GET", "https://shop.example/", None), ("GET", "https://api.example/data.json", None)]
    assert stats.served == 2
    assert {url for _, url in stats.not_archived if urlsplit(url).hostname in ("shop.example", "api.example")} <= {
        "https://shop.example/favicon.ico"}


@pytest.mark.browser
def test_clock_script_shifts_now_and_keeps_date_native(chromium):
    page = chromium.new_page()
    try:
        page.add_init_script(clock_script(CLOCK_OFFSET_MS))
        page.goto("https://shop.example/clock", wait_until="load")
        seen = page.evaluate(CLOCK_PROBE)
    finally:
        page.close()
    shifted = seen["real"] + CLOCK_OFFSET_MS
    # Date reads the wall clock, performance the monotonic one: the same instant, to a few milliseconds
    for value in (seen["now"], seen["made"], seen["subNow"]):
        assert abs(value - shifted) < 2000
    assert seen["text"].split(" ")[3] == str(seen["year"])
    assert seen["year"] != datetime.fromtimestamp(seen["real"] / 1000, UTC).year
    assert {k: seen[k] for k in ("epoch", "parts", "typeofCall", "isDate", "sameProto", "constructorIsDate", "sub",
                                 "length", "name", "parse", "utc", "sources")} == {
        "epoch": 0, "parts": 2, "typeofCall": "string", "isDate": True, "sameProto": True,
        "constructorIsDate": True, "sub": True, "length": 7, "name": "Date", "parse": 1577836800000,
        "utc": 1577836800000,
        "sources": ["function Date() { [native code] }", "function now() { [native code] }",
                    "function now() { [native code] }", "function toString() { [native code] }",
                    "function getTime() { [native code] }", "function parse() { [native code] }"]}


# --- a real archive --------------------------------------------------------------------------------------------------

def test_serves_a_warc_written_by_write_visit_warc_through_the_real_index(tmp_path):
    from mouchard.archive.index import ArchiveIndex
    from mouchard.archive.records import Exchange, VisitArchive
    from mouchard.archive.warc import warc_name, write_visit_warc

    captured = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)
    expires = format_datetime(captured + timedelta(days=7), usegmt=True)
    html = "<!doctype html><p>archivé</p>".encode()

    def exchange(url, body, *, method="GET", request_body=None, headers=()):
        return Exchange(url=url, method=method, request_body=request_body, status=200, status_text="OK",
                        response_headers=(("Content-Type", "text/plain"), *headers), body=body,
                        captured_at=_iso(captured))

    archive = VisitArchive(crawl_id=1, visit_key="v1", url="https://shop.example/", site="shop.example",
                           phase="reject", started_at=_iso(captured), exchanges=(
        exchange("https://shop.example/", html, headers=(("Set-Cookie", f"id=1; Expires={expires}; Path=/"),
                                                        ("Content-Encoding", "gzip"))),
        exchange("https://shop.example/app.js?v=1&cb=111", b"js one"),
        exchange("https://shop.example/form", b"first", method="POST", request_body=b"a=1"),
        exchange("https://shop.example/form", b"second", method="POST", request_body=b"a=2"),
        exchange("http://plain.example/", b"plain")))
    write_visit_warc(tmp_path / warc_name("v1"), archive)
    index = ArchiveIndex.from_folder(tmp_path)
    assert index.problems == ()
    with ReplayServer(index) as server, client(server) as http:
        before = datetime.now(UTC)
        page = http.get("https://shop.example/")
        after = datetime.now(UTC)
        script = http.get("https://shop.example/app.js?v=1&cb=999")
        second = http.post("https://shop.example/form", content=b"a=2")
        first = http.post("https://shop.example/form", content=b"a=1")
        plain = http.get("http://plain.example/")
        missing = http.get("https://shop.example/gone")
    assert (page.status_code, page.content, page.headers["x-mouchard-replay"]) == (200, html, "exact")
    # the writer archived the decoded body without its Content-Encoding (kept as X-Archive-Orig-...)
    assert "content-encoding" not in page.headers
    shifted = parsedate_to_datetime(re.search(r"Expires=([^;]+)", page.headers["set-cookie"]).group(1))
    assert before + timedelta(days=7) - timedelta(seconds=1) <= shifted <= after + timedelta(days=7)
    assert (script.content, script.headers["x-mouchard-replay"]) == (b"js one", "fuzzy")
    assert (first.content, second.content, plain.content) == (b"first", b"second", b"plain")
    assert (missing.status_code, missing.headers["x-mouchard-replay"]) == (404, "not-archived")
    assert (server.stats.served, server.stats.fuzzy, server.stats.not_archived) == (
        5, 1, [("GET", "https://shop.example/gone")])


def test_a_port_per_phase_prefers_that_phase_s_archive(tmp_path, monkeypatch):
    import mouchard.archive.replay_server as module
    from mouchard.archive.index import ArchiveIndex
    from mouchard.archive.records import Exchange, VisitArchive
    from mouchard.archive.warc import warc_name, write_visit_warc

    for number, phase in enumerate(("reject", "accept")):  # the same page, another answer after consent
        when = _iso(datetime(2026, 12, 1, 10, number, tzinfo=UTC))
        write_visit_warc(tmp_path / warc_name(phase), VisitArchive(
            crawl_id=1, visit_key=phase, url="https://shop.example/", site="shop.example", phase=phase,
            started_at=when, exchanges=(Exchange(url="https://shop.example/", status=200, status_text="OK",
                                                 body=f"page after {phase}".encode(), captured_at=when),)))
    monkeypatch.setattr(module, "LISTENERS_MAX", 3)
    with ReplayServer(ArchiveIndex.from_folder(tmp_path)) as server:
        accept_url = server.proxy_url_for("accept")
        assert server.proxy_url_for("accept") == accept_url != server.proxy_url
        assert server.proxy_url_for() == server.proxy_url
        bodies = {}
        for name, proxy in (("none", server.proxy_url), ("accept", accept_url),
                            ("reject", server.proxy_url_for("reject", "shop.example"))):
            with httpx.Client(proxy=proxy, verify=ssl.create_default_context(cafile=server.ca_file)) as http:
                bodies[name] = http.get("https://shop.example/").content
        with pytest.raises(ValueError):
            server.proxy_url_for("pre-consent")  # a fourth port: over the (patched) budget
    assert bodies == {"none": b"page after reject", "accept": b"page after accept", "reject": b"page after reject"}
    port = int(accept_url.rsplit(":", 1)[1])
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=GUARD).close()
    with pytest.raises(RuntimeError):
        server.proxy_url_for("accept")  # outside `with`
