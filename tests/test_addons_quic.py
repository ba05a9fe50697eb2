"""QUIC / HTTP/3 through `mouchard proxy`, with real aioquic clients and servers on 127.0.0.1: HTTP/3 that
mitmproxy intercepts is recorded as ordinary flows with their leaks; QUIC is blocked by default (a `quic` row per
attempt, the server never reached); with --no-block-quic, QUIC passed through unread is a `quic` row that says the
traffic is missing. Modes that receive UDP here: reverse:http3 and reverse:udp (no WireGuard client on the test
machines)."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import trustme
from aioquic.asyncio import connect, serve
from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.h3.connection import H3_ALPN, H3Connection
from aioquic.h3.events import DataReceived, HeadersReceived
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.connection import QuicConnection
from hypothesis import given, settings
from hypothesis import strategies as st

from addons.quic import BLOCKED, UNREAD, client_hello_sni
from demoweb import DATA as SAMPLES
from mouchard.identify.profile import load_profile
from test_addons_proxy import BOUND, stop_tree

ROOT = Path(__file__).resolve().parents[1]
PROFILE_PATH = SAMPLES / "profiles" / "android.yml"
GAID = load_profile(PROFILE_PATH).value("advertising_id")
HOST = "api.example-sdk.com"
GIVE_UP = 30.0  # seconds a QUIC client waits for an answer: a guard against hanging, not a timing assertion
APP = "com.example.weather"


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- a real HTTP/3 server and client (aioquic) ------------------------------------------------------------------


class H3Server(QuicConnectionProtocol):
    """Answers every HTTP/3 request with 200 and a JSON body; counts the requests it saw (`seen`)."""

    seen: list[str] = []

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.http: H3Connection | None = None

    def quic_event_received(self, event) -> None:
        if self.http is None:
            self.http = H3Connection(self._quic)
        for ev in self.http.handle_event(event):
            if isinstance(ev, HeadersReceived):
                H3Server.seen.append(dict(ev.headers)[b":path"].decode())
            if isinstance(ev, (HeadersReceived, DataReceived)) and ev.stream_ended:
                self.http.send_headers(ev.stream_id, [(b":status", b"200"), (b"content-type", b"application/json")])
                self.http.send_data(ev.stream_id, b'{"ok": true}', end_stream=True)
                self.transmit()


class H3Client(QuicConnectionProtocol):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.http = H3Connection(self._quic)
        self.waiting: dict[int, tuple[asyncio.Future, list]] = {}

    def quic_event_received(self, event) -> None:
        for ev in self.http.handle_event(event):
            if isinstance(ev, (HeadersReceived, DataReceived)) and ev.stream_id in self.waiting:
                future, parts = self.waiting[ev.stream_id]
                parts.append(ev.headers if isinstance(ev, HeadersReceived) else ev.data)
                if ev.stream_ended and not future.done():
                    future.set_result(parts)

    async def get(self, authority: str, path: str) -> tuple[int, bytes]:
        stream = self._quic.get_next_available_stream_id()
        self.http.send_headers(stream, [(b":method", b"GET"), (b":scheme", b"https"),
                                        (b":authority", authority.encode()), (b":path", path.encode()),
                                        (b"user-agent", b"quic-test/1.0")], end_stream=True)
        future = asyncio.get_running_loop().create_future()
        self.waiting[stream] = (future, [])
        self.transmit()
        parts = await asyncio.wait_for(future, BOUND)
        status = int(dict(parts[0])[b":status"])
        return status, b"".join(p for p in parts[1:] if isinstance(p, bytes))


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("quic-certs")
    ca = trustme.CA()
    server = ca.issue_cert(HOST, "127.0.0.1", "localhost")
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    server.cert_chain_pems[0].write_to_path(str(folder / "server.pem"))
    server.private_key_pem.write_to_path(str(folder / "server.key"))
    return folder


async def _serve(certs: Path, port: int):
    config = QuicConfiguration(is_client=False, alpn_protocols=H3_ALPN)
    config.load_cert_chain(str(certs / "server.pem"), str(certs / "server.key"))
    return await serve("127.0.0.1", port, configuration=config, create_protocol=H3Server)


async def _request(port: int, cafile: str, path: str, idle_timeout: float = GIVE_UP) -> tuple[int, bytes]:
    config = QuicConfiguration(is_client=True, alpn_protocols=H3_ALPN, server_name=HOST, idle_timeout=idle_timeout)
    config.load_verify_locations(cafile)
    async with connect("127.0.0.1", port, configuration=config, create_protocol=H3Client) as client:
        return await client.get(HOST, path)


def exchange(certs: Path, server_port: int, proxy_port: int, cafile: str, path: str,
             idle_timeout: float = GIVE_UP) -> tuple[int, bytes] | Exception:
    """One HTTP/3 GET to the proxy while the aioquic server runs: (status, body), or the client's exception."""
    async def run():
        server = await _serve(certs, server_port)
        try:
            return await _request(proxy_port, cafile, path, idle_timeout)
        except (ConnectionError, asyncio.TimeoutError) as exc:  # the event a blocked client sees: no answer
            return exc
        finally:
            server.close()
    return asyncio.run(run())


# -- the proxy ---------------------------------------------------------------------------------------------------


def start_proxy(folder: Path, mode: str, *extra: str) -> subprocess.Popen:
    """`mouchard proxy` in a UDP mode; returns once the addons run and mitmproxy listens (events in its log)."""
    args = [sys.executable, "-m", "mouchard", "proxy", "--profile", str(PROFILE_PATH), "--mode", mode,
            "--listen-host", "127.0.0.1", "--db", str(folder / "capture.db"), "--confdir", str(folder / "conf"),
            "--app", APP, "--flow-detail", "0", *extra]
    out = (folder / "proxy.out").open("w")
    process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + BOUND
    while True:
        text = (folder / "proxy.out").read_text(errors="replace")
        if "mouchard: recording into" in text and "listening at" in text:
            return process
        if process.poll() is not None or time.monotonic() > deadline:
            stop_tree(process)
            raise AssertionError(f"proxy did not start: {text[-2000:]}")
        time.sleep(0.1)


def finish(process: subprocess.Popen, folder: Path) -> str:
    """Stop the proxy as a person does (Ctrl-C): the run is finished and its summary printed."""
    stop_tree(process, signal.SIGINT)
    return (folder / "proxy.out").read_text(errors="replace")


def rows(db: Path, sql: str, params=()) -> list[dict]:
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute(sql, params)]
    finally:
        con.close()


FLOW_COLUMNS = "kind, app, app_source, client, host, site, http_version, status, error, analysis, tracker_entity"


def test_http3_is_recorded_as_ordinary_flows_with_its_leaks(certs, tmp_path):
    server_port, proxy_port = free_udp_port(), free_udp_port()
    process = start_proxy(tmp_path, f"reverse:http3://127.0.0.1:{server_port}@{proxy_port}",
                          "--ca-file", str(certs / "ca.pem"),
                          "--set", "keep_host_header=true")  # the host the app asked for, not the reverse target
    try:
        H3Server.seen = []
        answer = exchange(certs, server_port, proxy_port, str(tmp_path / "conf" / "mitmproxy-ca-cert.pem"),
                          f"/v1/track?idfa={GAID}&event=open")
    finally:
        out = finish(process, tmp_path)
    assert answer == (200, b'{"ok": true}'), out[-2000:]
    assert H3Server.seen == [f"/v1/track?idfa={GAID}&event=open"]  # the request really went over QUIC, unchanged
    db = tmp_path / "capture.db"
    flows = rows(db, f"SELECT id, url, {FLOW_COLUMNS} FROM flows")
    assert len(flows) == 1 and GAID not in flows[0]["url"]
    flow = flows[0]
    assert {k: flow[k] for k in FLOW_COLUMNS.split(", ")} == {
        "kind": "http", "app": APP, "app_source": "option", "client": "127.0.0.1", "host": HOST,
        "site": "example-sdk.com", "http_version": "HTTP/3", "status": 200, "error": None, "analysis": "complete",
        "tracker_entity": None}
    leaks = rows(db, "SELECT identifier, location, field, chain, destination_host FROM leaks WHERE flow_id = ?",
                 [flow["id"]])
    assert leaks == [{"identifier": "advertising_id", "location": "query", "field": "idfa", "chain": "plain",
                      "destination_host": HOST}]
    summary = json.loads(rows(db, "SELECT summary FROM crawls")[0]["summary"])
    assert {k: v for k, v in summary.items() if k.startswith("mouchard/quic/")} == {
        "mouchard/quic/attempts": 0, "mouchard/quic/blocked": 0, "mouchard/quic/unread": 0,
        "mouchard/quic/http3_flows": 1, "mouchard/quic/policy": "block"}
    assert "1 HTTP/3 flow(s) recorded" in out and "advertising_id: 1 leak(s) to 1 site(s)" in out


def test_quic_is_blocked_by_default_and_each_attempt_recorded(certs, tmp_path):
    server_port, proxy_port = free_udp_port(), free_udp_port()
    process = start_proxy(tmp_path, f"reverse:udp://127.0.0.1:{server_port}@{proxy_port}")
    try:
        H3Server.seen = []
        answer = exchange(certs, server_port, proxy_port, str(certs / "ca.pem"), f"/v1/track?idfa={GAID}",
                          idle_timeout=3.0)  # the client gives up when nothing answers: its fallback signal
    finally:
        out = finish(process, tmp_path)
    assert isinstance(answer, Exception) and H3Server.seen == []  # dropped: the server never saw a request
    db = tmp_path / "capture.db"
    flows = rows(db, f"SELECT {FLOW_COLUMNS}, url, request_headers FROM flows")
    assert flows == [{"kind": "quic", "app": APP, "app_source": "option", "client": "127.0.0.1", "host": HOST,
                      "site": "example-sdk.com", "http_version": None, "status": None, "error": BLOCKED,
                      "analysis": "no-payload", "tracker_entity": None, "url": None, "request_headers": "[]"}]
    crawl = rows(db, "SELECT status, summary, config, warnings FROM crawls")[0]
    assert crawl["status"] == "interrupted"  # stopped with Ctrl-C, as a person ends a capture
    summary = json.loads(crawl["summary"])
    assert {k: v for k, v in summary.items() if k.startswith("mouchard/quic/")} == {
        "mouchard/quic/attempts": 1, "mouchard/quic/blocked": 1, "mouchard/quic/unread": 0,
        "mouchard/quic/http3_flows": 0, "mouchard/quic/policy": "block"}
    assert json.loads(crawl["config"])["block_quic"] is True and json.loads(crawl["warnings"]) == []
    assert "1 QUIC attempt(s) blocked: apps fall back to TCP, recorded there" in out


def test_quic_passed_through_unread_is_recorded_as_missing(certs, tmp_path):
    server_port, proxy_port = free_udp_port(), free_udp_port()
    process = start_proxy(tmp_path, f"reverse:udp://127.0.0.1:{server_port}@{proxy_port}", "--no-block-quic")
    try:
        H3Server.seen = []
        answer = exchange(certs, server_port, proxy_port, str(certs / "ca.pem"), f"/v1/track?idfa={GAID}")
    finally:
        out = finish(process, tmp_path)
    assert answer == (200, b'{"ok": true}') and H3Server.seen == [f"/v1/track?idfa={GAID}"]  # it went through
    db = tmp_path / "capture.db"
    assert rows(db, f"SELECT {FLOW_COLUMNS} FROM flows") == [
        {"kind": "quic", "app": APP, "app_source": "option", "client": "127.0.0.1", "host": HOST,
         "site": "example-sdk.com", "http_version": None, "status": None, "error": UNREAD, "analysis": "no-payload",
         "tracker_entity": None}]
    assert rows(db, "SELECT count(*) AS n FROM leaks") == [{"n": 0}]  # unread: nothing could be searched
    summary = json.loads(rows(db, "SELECT summary FROM crawls")[0]["summary"])
    assert {k: v for k, v in summary.items() if k.startswith("mouchard/quic/")} == {
        "mouchard/quic/attempts": 1, "mouchard/quic/blocked": 0, "mouchard/quic/unread": 1,
        "mouchard/quic/http3_flows": 0, "mouchard/quic/policy": "record"}
    assert "1 QUIC connection(s) UNREAD: their traffic is missing from this capture" in out


def test_a_mode_without_udp_warns_that_quic_goes_unseen():
    from addons.api import quic_warnings as _quic_warnings

    assert _quic_warnings(["regular"]) == [
        "no mode receives UDP (regular): QUIC / HTTP/3 an app sends directly bypasses the proxy unseen; use "
        "--mode wireguard or local to block or record it"]
    assert len(_quic_warnings(["upstream:http://127.0.0.1:3128", "socks5", "reverse:http://127.0.0.1:80"])) == 1
    for modes in (["wireguard"], ["regular", "local"], ["reverse:http3://127.0.0.1:4433@8443"],
                  ["reverse:udp://127.0.0.1:443"], ["reverse:https://example.com"]):
        assert _quic_warnings(modes) == [], modes


# -- the QUIC Initial parser on hostile datagrams --------------------------------------------------------------


def test_a_real_quic_initial_is_recognised_with_its_server_name():
    quic = QuicConnection(configuration=QuicConfiguration(is_client=True, alpn_protocols=H3_ALPN, server_name=HOST))
    quic.connect(("127.0.0.1", 443), now=0.0)
    first = quic.datagrams_to_send(now=0.0)[0][0]
    assert client_hello_sni(first) == (True, HOST)
    assert client_hello_sni(first[:17]) == (False, None)
    assert client_hello_sni(b"\x40" + first[1:]) == (False, None)  # a short header: not an Initial


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=1500))
def test_any_datagram_is_judged_without_raising(datagram):
    is_quic, sni = client_hello_sni(datagram)
    assert isinstance(is_quic, bool) and (sni is None or (is_quic and sni.isprintable()))


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=17, max_size=1200))
def test_a_quic_long_header_with_garbage_is_judged_without_raising(tail):
    client_hello_sni(b"\xc0\x00\x00\x00\x01" + tail)  # QUIC v1 Initial header byte, version 1, then anything


def test_the_addon_runs_alone_in_mitmdump(tmp_path):
    empty = tmp_path / "empty.mitm"
    empty.write_bytes(b"")
    out = subprocess.run([str(Path(sys.executable).parent / "mitmdump"), "-n", "-r", str(empty), "-s",
                          str(ROOT / "addons" / "quic.py"), "--set", f"confdir={tmp_path / 'conf'}",
                          "--set", "mouchard_block_quic=false"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "Traceback" not in out.stdout + out.stderr, (out.stdout + out.stderr)[-2000:]
