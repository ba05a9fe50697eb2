"""A real `mouchard proxy` (mitmdump + the addons) on 127.0.0.1 in front of the test web, driven by HTTPS clients
that trust mitmproxy's CA: flows, leaks, cookies, bids and ID syncs land in SQLite, redacted; bad traffic, refused
certificates and WebSockets are recorded; a failing store stops the proxy."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, CloseConnection, Message, Request, TextMessage

from demoweb import DATA as SAMPLES
from mouchard.identify.leakdetect import LeakDetector
from mouchard.identify.profile import load_profile
from demoweb.sites.app_endpoints import BIG_BYTES
from mouchard.storage.store import readonly_uri
from procs import stop_tree  # noqa: F401  (used here, and imported from here by other tests)

ROOT = Path(__file__).resolve().parents[1]
PROFILE_PATH = SAMPLES / "profiles" / "android.yml"
PROFILE = load_profile(PROFILE_PATH)
GAID = PROFILE.value("advertising_id")
EMAIL = PROFILE.value("email")
UA = "com.example.game/2.4.1 (Linux; U; Android 13; Pixel 7)"
MITMDUMP = Path(sys.executable).parent / "mitmdump"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


BOUND = 300.0  # seconds a wait may last before the test gives up: a guard against hanging, not a timing assertion


def wait_port(port: int, process: subprocess.Popen, log: Path | None = None) -> None:
    """Wait until the proxy listens (an event), failing at once if it exits."""
    deadline = time.monotonic() + BOUND
    while True:
        if process.poll() is not None:
            text = log.read_text(errors="replace")[-2000:] if log else ""
            raise AssertionError(f"proxy exited with {process.returncode}: {text}")
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            assert time.monotonic() < deadline, "proxy did not start"
            time.sleep(0.1)


@dataclass
class Proxy:
    port: int
    ca: str
    db: Path
    folder: Path
    process: subprocess.Popen

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, **kw) -> httpx.Client:
        return httpx.Client(proxy=self.url, verify=ssl.create_default_context(cafile=self.ca), timeout=60, **kw)

    def rows(self, sql: str, params=(), *, until=lambda rows: bool(rows), timeout: float = BOUND) -> list[dict]:
        """Query the capture database until `until(rows)` holds (the recorder writes after the response, and on a
        busy machine it is behind: it yields the CPU to the proxy); the caller asserts on what it returns."""
        deadline = time.monotonic() + timeout
        while True:
            con = sqlite3.connect(readonly_uri(self.db), uri=True)
            con.row_factory = sqlite3.Row
            try:
                rows = [dict(r) for r in con.execute(sql, params)]
            except sqlite3.OperationalError:
                rows = []
            finally:
                con.close()
            if until(rows) or time.monotonic() > deadline:
                return rows
            time.sleep(0.1)


@pytest.fixture(scope="module")
def proxy(testweb, tmp_path_factory):
    folder = tmp_path_factory.mktemp("proxy")
    port = free_port()
    args = [sys.executable, "-m", "mouchard", "proxy", "--profile", str(PROFILE_PATH), "--port", str(port),
            "--listen-host", "127.0.0.1", "--db", str(folder / "capture.db"), "--host-map", "*=127.0.0.1",
            "--ca-file", testweb.ca_pem_path, "--confdir", str(folder / "conf"), "--flow-detail", "0",
            "--keep-bodies", str(folder / "capture.db.evidence"),
            "--set", "connection_strategy=lazy"]  # offer HTTP/2 to clients although the test web speaks HTTP/1.1
    # Output to files, not pipes nobody reads while the tests run (a full pipe would block mitmdump).
    with (folder / "proxy.out").open("w") as out, (folder / "proxy.err").open("w") as err:
        process = subprocess.Popen(args, stdout=out, stderr=err, text=True)
    try:
        wait_port(port, process, folder / "proxy.err")
        yield Proxy(port, str(folder / "conf" / "mitmproxy-ca-cert.pem"), folder / "capture.db", folder, process)
    finally:
        stop_tree(process)


def test_sdk_traffic_lands_in_sqlite_with_leaks_bids_cookies_and_syncs(proxy, testweb):
    bid = {"id": "auction-1", "imp": [{"id": "1", "tagid": "banner-top", "banner": {"w": 320, "h": 50}}],
           "app": {"bundle": "com.example.game"},
           "device": {"ifa": GAID, "geo": {"lat": 48.8584, "lon": 2.2945}}, "user": {"buyeruid": "bu-778899"}}
    with proxy.client(headers={"User-Agent": UA}) as c:
        r = c.post(testweb.url("ads.inmobi.com", "/openrtb/bid"), content=gzip.compress(json.dumps(bid).encode()),
                   headers={"Content-Type": "application/json", "Content-Encoding": "gzip"})
        assert r.json()["seatbid"][0]["bid"][0]["price"] == 1.25
        assert c.post(testweb.url("api2.branch.io", "/v1/open"), json={"hardware_id": PROFILE.value("android_id")}
                      ).status_code == 200
        assert c.get(testweb.url("api2.branch.io", "/v1/sync"), follow_redirects=True).status_code == 200
        email_hash = hashlib.sha256(EMAIL.encode()).hexdigest()
        assert c.post(testweb.url("graph.facebook.com", "/v17.0/42/activities"),
                      data={"advertiser_id": GAID, "ud[em]": email_hash}).status_code == 200
    flows = proxy.rows("SELECT * FROM flows WHERE host IN ('ads.inmobi.com', 'api2.branch.io', 'app.adjust.com', "
                       "'graph.facebook.com') ORDER BY id", until=lambda rows: len(rows) >= 5)
    assert [(f["host"], f["status"]) for f in flows] == [
        ("ads.inmobi.com", 200), ("api2.branch.io", 200), ("api2.branch.io", 302), ("app.adjust.com", 200),
        ("graph.facebook.com", 200)]
    assert {f["app"] for f in flows} == {"com.example.game/2.4.1"} and flows[0]["app_source"] == "user-agent"
    assert flows[0]["tracker_entity"] == "InMobi" and flows[1]["site"] == "branch.io"
    leaks = proxy.rows("SELECT l.*, f.host FROM leaks l JOIN flows f ON f.id = l.flow_id WHERE f.id IN "
                       f"({','.join(str(f['id']) for f in flows)})", until=lambda rows: len(rows) >= 5)
    found = {(l["host"], l["identifier"], l["location"], l["chain"]) for l in leaks}
    assert found >= {("ads.inmobi.com", "advertising_id", "body", "gzip>json:$.device.ifa"),
                     ("ads.inmobi.com", "location", "body", "gzip>json:$.device.geo.lat>decimals:4"),
                     ("api2.branch.io", "android_id", "body", "json:$.hardware_id"),
                     ("graph.facebook.com", "advertising_id", "body", "plain"),
                     ("graph.facebook.com", "email", "body", "sha256")}
    location = next(l for l in leaks if l["identifier"] == "location")
    assert location["precision_m"] < 10 and (location["lat"], location["lon"]) == (48.86, 2.29)
    assert all(l["tracker_entity"] for l in leaks) and all(l["third_party"] == 1 for l in leaks)
    rtb = proxy.rows("SELECT * FROM rtb WHERE flow_id = ?", [flows[0]["id"]], until=lambda rows: len(rows) == 2)
    assert [r["event"] for r in rtb] == ["openrtb-request", "openrtb-response"]
    assert json.loads(rtb[0]["personal_fields"]) == ["device.geo", "device.ifa", "user.buyeruid"]
    assert rtb[1]["cpm"] == 1.25 and rtb[1]["tracker_entity"] == "InMobi"
    cookie = proxy.rows("SELECT * FROM cookies WHERE name = '_s'")[0]
    assert cookie["flow_id"] == flows[1]["id"] and cookie["identifier"] == 1 and cookie["lifetime_days"] == 365
    syncs = proxy.rows("SELECT * FROM id_syncs WHERE identifier_name = '_s'", until=lambda rows: len(rows) >= 2)
    assert {(s["from_site"], s["to_site"], s["location"], s["parameter"]) for s in syncs} == {
        ("branch.io", "adjust.com", "redirect", "uid"), ("branch.io", "adjust.com", "query", "uid")}
    assert {s["cookie_id"] for s in syncs} == {cookie["id"]} and syncs[0]["to_entity"] == "Adjust"


def test_app_is_attributed_from_package_headers(proxy, testweb):
    with proxy.client(headers={"X-Requested-With": "com.example.webviewapp"}) as c:
        c.post(testweb.url("app-measurement.com", "/a"), content=b"\x08\x01")
    flows = proxy.rows("SELECT app, app_source FROM flows WHERE app = 'com.example.webviewapp'")
    assert flows == [{"app": "com.example.webviewapp", "app_source": "x-requested-with"}]


def _h2_post(proxy: Proxy, host: str, port: int, path: str, body: bytes) -> int:
    """One HTTP/2 POST through the proxy's CONNECT tunnel (a client that only speaks h2); returns the status."""
    import h2.connection
    import h2.events

    with socket.create_connection(("127.0.0.1", proxy.port), 10) as sock:
        sock.sendall(f"CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        context = ssl.create_default_context(cafile=proxy.ca)
        context.set_alpn_protocols(["h2"])
        with context.wrap_socket(sock, server_hostname=host) as tls:
            assert tls.selected_alpn_protocol() == "h2"
            conn = h2.connection.H2Connection()
            conn.initiate_connection()
            stream = conn.get_next_available_stream_id()
            conn.send_headers(stream, [(":method", "POST"), (":authority", f"{host}:{port}"), (":scheme", "https"),
                                       (":path", path), ("content-type", "application/json")])
            conn.send_data(stream, body, end_stream=True)
            tls.sendall(conn.data_to_send())
            status = None
            while True:
                for event in conn.receive_data(tls.recv(65536)):
                    if isinstance(event, h2.events.ResponseReceived):
                        status = int(dict(event.headers)[b":status"])
                    elif isinstance(event, h2.events.StreamEnded):
                        return status
                tls.sendall(conn.data_to_send())


def test_http2_flows_are_recorded(proxy, testweb):
    body = json.dumps({"lat": 48.8583, "lng": 2.2944, "h2": 1}).encode()
    assert _h2_post(proxy, "t.appsflyer.com", testweb.https_port, "/api/v1/loc", body) == 204
    flows = proxy.rows("SELECT * FROM flows WHERE host = 't.appsflyer.com' AND http_version = 'HTTP/2.0'")
    assert len(flows) == 1
    leaks = proxy.rows("SELECT * FROM leaks WHERE flow_id = ?", [flows[0]["id"]])
    assert [(l["identifier"], l["chain"], l["field"]) for l in leaks] == [("location", "json:$.lat>decimals:4", "$.lat")]


def _ws_echo_server() -> int:
    """A plain WebSocket echo server on 127.0.0.1 (one connection)."""
    server = socket.create_server(("127.0.0.1", 0))

    def serve():
        conn, _ = server.accept()
        ws = WSConnection(ConnectionType.SERVER)
        with conn:
            while data := conn.recv(65536):
                ws.receive_data(data)
                for event in ws.events():
                    if isinstance(event, Request):
                        conn.sendall(ws.send(AcceptConnection()))
                    elif isinstance(event, TextMessage):
                        conn.sendall(ws.send(Message(data="ok:" + event.data[:10])))
                    elif isinstance(event, CloseConnection):
                        conn.sendall(ws.send(event.response()))
                        return
        server.close()

    threading.Thread(target=serve, daemon=True).start()
    return server.getsockname()[1]


def _recv_events(sock: socket.socket, ws: WSConnection, wanted: type) -> list:
    events: list = []
    while not any(isinstance(e, wanted) for e in events):
        data = sock.recv(65536)
        assert data, "connection closed"
        ws.receive_data(data)
        events += list(ws.events())
    return events


def test_websocket_messages_are_counted_and_searched(proxy):
    port = _ws_echo_server()
    host = f"sockets.example-sdk.com:{port}"
    with socket.create_connection(("127.0.0.1", proxy.port), 10) as sock:
        sock.sendall(f"CONNECT {host} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        ws = WSConnection(ConnectionType.CLIENT)
        sock.sendall(ws.send(Request(host=host, target="/socket")))
        _recv_events(sock, ws, AcceptConnection)
        sock.sendall(ws.send(Message(data=json.dumps({"event": "login", "user": {"mail": EMAIL}}))))
        _recv_events(sock, ws, TextMessage)
        sock.sendall(ws.send(Message(data=json.dumps({"event": "ping"}))))
        _recv_events(sock, ws, TextMessage)
        sock.sendall(ws.send(CloseConnection(code=1000)))
        _recv_events(sock, ws, CloseConnection)
    flows = proxy.rows("SELECT * FROM flows WHERE kind = 'websocket'")
    assert len(flows) == 1 and flows[0]["websocket_messages"] == 4 and flows[0]["host"] == "sockets.example-sdk.com"
    leaks = proxy.rows("SELECT * FROM leaks WHERE flow_id = ?", [flows[0]["id"]])
    assert [(l["identifier"], l["location"], l["field"], l["chain"]) for l in leaks] == [
        ("email", "websocket", "message 0", "json:$.user.mail")]


def test_refused_certificate_is_recorded_as_a_tls_failure(proxy, testweb):
    host = f"pinned.example-bank.com:{testweb.https_port}"
    with socket.create_connection(("127.0.0.1", proxy.port), 10) as sock:
        sock.sendall(f"CONNECT {host} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        with pytest.raises(ssl.SSLCertVerificationError):  # an app that pins its own certificate
            ssl.create_default_context().wrap_socket(sock, server_hostname="pinned.example-bank.com")
    flows = proxy.rows("SELECT * FROM flows WHERE kind = 'tls-failure'")
    assert [(f["host"], f["site"]) for f in flows] == [("pinned.example-bank.com", "example-bank.com")]
    assert "certificate pinning" in flows[0]["error"]


def _raw_https(proxy: Proxy, host: str, port: int, request: bytes) -> bytes:
    """Bytes no HTTP library would send (non-UTF-8 header names), through the proxy's tunnel."""
    with socket.create_connection(("127.0.0.1", proxy.port), 10) as sock:
        sock.sendall(f"CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        with ssl.create_default_context(cafile=proxy.ca).wrap_socket(sock, server_hostname=host) as tls:
            tls.sendall(request)
            chunks = []
            while chunk := tls.recv(65536):
                chunks.append(chunk)
            return b"".join(chunks)


def test_bad_traffic_does_not_stop_the_proxy(proxy, testweb):
    before = proxy.rows("SELECT count(*) AS n FROM flows", until=lambda rows: True)[0]["n"]
    url = testweb.url("app-measurement.com", "/a")
    with proxy.client() as c:
        sent = [
            c.post(url, content=b"\x1f\x8b\x08not gzip at all", headers={"Content-Encoding": "gzip"}),
            c.post(url, content=json.dumps({"device": {"ifa": GAID, "pad": "x" * 40}})[:70].encode(),
                   headers={"Content-Type": "application/json"}),
            c.post(url, content=os.urandom(20 * 1024 * 1024), headers={"Content-Type": "application/octet-stream"}),
            c.post(url, content=bytes(range(256)) * 100, headers={"Content-Encoding": "br"}),
            c.post(url, content=b"x", headers={"X-Bin": b"\xff\xfe\x80 caf\xe9"}),
        ]
        raw = _raw_https(proxy, "app-measurement.com", testweb.https_port,
                         b"POST /a HTTP/1.1\r\nHost: app-measurement.com\r\nX-N\xe9\xff: \xc3\x28 v\r\n"
                         b"Content-Length: 2\r\nConnection: close\r\n\r\nok")
        assert raw.startswith(b"HTTP/1.1 400")  # mitmproxy refuses an invalid header name; the proxy carries on
        with c.stream("GET", testweb.url("app-measurement.com", "/bad-gzip")) as r:
            assert b"".join(r.iter_raw()) == b"{not gzip at all"
        assert c.get(testweb.url("app-measurement.com", "/garbage")).status_code == 200
        big = c.get(testweb.url("app-measurement.com", "/big"))
        assert big.status_code == 200 and len(big.content) == BIG_BYTES  # passed through whole
        assert all(r.status_code == 204 for r in sent)
    rows = proxy.rows("SELECT count(*) AS n FROM flows", until=lambda rows: rows[0]["n"] >= before + 8)
    assert rows[0]["n"] >= before + 8
    truncated = proxy.rows("SELECT * FROM leaks WHERE identifier = 'advertising_id' AND field IS NULL "
                           "AND destination_host = 'app-measurement.com'")
    assert truncated, "a truncated JSON body is still searched"
    headers = proxy.rows("SELECT request_headers FROM flows WHERE request_headers LIKE '%X-Bin%'")
    assert "\ufffd" in headers[0]["request_headers"]
    assert proxy.process.poll() is None


def test_published_tables_hold_no_planted_value(proxy, testweb):
    with proxy.client(headers={"User-Agent": UA}) as c:
        c.get(testweb.url("app.adjust.com", "/sync"), params={"gps_adid": GAID.upper(), "e": EMAIL, "ll": "48.8584,2.2945"},
              headers={"X-Imei": PROFILE.value("imei"), "Cookie": f"mac={PROFILE.value('wifi_mac')}"})
    assert proxy.rows("SELECT * FROM flows WHERE url LIKE '%gps_adid=[GAID]%'"), "the planted request was not recorded"
    detector = LeakDetector.for_profile(PROFILE)
    con = sqlite3.connect(proxy.db)
    checked = 0
    for table in ("flows", "cookies", "rtb", "id_syncs", "leaks", "crawls", "evidence_files"):
        columns = [r[1] for r in con.execute(f"PRAGMA table_info({table})")]
        for row in con.execute(f"SELECT * FROM {table}"):
            for column, value in zip(columns, row):
                if isinstance(value, str):
                    checked += 1
                    assert not detector.spans(value), (table, column, value[:200])
                    assert GAID not in value.lower() and EMAIL not in value
    assert checked > 100
    kept = con.execute("SELECT path, sha256 FROM evidence_files").fetchall()
    # paths are relative to the database's evidence folder, where merge, audit and Datasette read them
    assert kept and all(hashlib.sha256((proxy.folder / "capture.db.evidence" / p).read_bytes()).hexdigest() == h
                        for p, h in kept[:20])


def test_stopping_the_proxy_finishes_the_run_with_a_summary(proxy):
    """Ctrl-C ends a live capture: the run is `interrupted` (stopped, not ended by itself) with its summary."""
    proxy.process.send_signal(signal.SIGINT)
    assert proxy.process.wait(BOUND) == 0, (proxy.folder / "proxy.err").read_text()[-2000:]
    out, err = (proxy.folder / "proxy.out").read_text(), (proxy.folder / "proxy.err").read_text()
    assert "mitmproxy-ca-cert.pem" in err and "Android:" in err and "iOS:" in err
    assert "run 1:" in out and "advertising_id:" in out and "TLS handshake(s) refused" in out
    crawl = sqlite3.connect(proxy.db).execute("SELECT kind, status, summary, network FROM crawls").fetchone()
    assert crawl[:2] == ("app", "interrupted") and json.loads(crawl[2])["flows"] >= 15
    assert json.loads(crawl[3])["host_map"] == ["*=127.0.0.1"]


def test_a_failing_store_stops_the_proxy(testweb, tmp_path):
    """Another process holds the database's write lock: the capture must stop rather than pass traffic unrecorded."""
    port, db = free_port(), tmp_path / "locked.db"
    args = [str(MITMDUMP), "-s", str(ROOT / "addons" / "mouchard_addons.py"), "--listen-host", "127.0.0.1",
            "-p", str(port), "--set", f"confdir={tmp_path / 'conf'}", "--set", f"mouchard_db={db}",
            "--set", f"mouchard_profile={PROFILE_PATH}", "--set", "mouchard_busy_timeout=1",
            "--set", "mouchard_host_map=*=127.0.0.1", "--set", f"ssl_verify_upstream_trusted_ca={testweb.ca_pem_path}",
            "--set", "flow_detail=0"]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_port(port, process)
        client = httpx.Client(proxy=f"http://127.0.0.1:{port}",
                              verify=ssl.create_default_context(cafile=tmp_path / "conf" / "mitmproxy-ca-cert.pem"))
        assert client.get(testweb.url("app-measurement.com", "/garbage")).status_code == 200
        lock = sqlite3.connect(db, isolation_level=None)
        lock.execute("BEGIN EXCLUSIVE")
        client.get(testweb.url("app-measurement.com", "/garbage"), params={"ifa": GAID})
        assert process.wait(BOUND) == 1
        lock.execute("ROLLBACK")
        out = process.stdout.read()
        assert "stopping the proxy so no traffic passes unrecorded" in out
        with pytest.raises(httpx.HTTPError):
            client.get(testweb.url("app-measurement.com", "/garbage"))
    finally:
        stop_tree(process, signal.SIGKILL)


def test_wireguard_mode_starts_with_the_addons_and_shows_the_client_configuration(tmp_path):
    """The phone joins a WireGuard VPN: mitmdump's configuration for it is shown, and the run is recorded.
    (No WireGuard client is available on the test machines, so no traffic goes through the tunnel here.)"""
    port = free_port()
    args = [sys.executable, "-m", "mouchard", "proxy", "--profile", str(PROFILE_PATH), "--mode", f"wireguard@{port}",
            "--listen-host", "127.0.0.1", "--db", str(tmp_path / "wg.db"), "--confdir", str(tmp_path / "conf")]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen: list[str] = []
    try:
        while not any("mouchard: recording into" in line for line in seen):  # the event: the addons are running
            line = process.stdout.readline()  # mitmdump's log; mouchard's own messages go to stderr
            if not line:
                break
            seen.append(line)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=BOUND)
    finally:
        stop_tree(process, signal.SIGKILL)
    text = "".join(seen) + out
    assert process.returncode == 0, (text + err)[-2000:]
    assert "[Interface]" in text and "[Peer]" in text and f"Endpoint = 127.0.0.1:{port}" in text
    assert f"WireGuard server listening at 127.0.0.1:{port}" in text
    crawl = sqlite3.connect(tmp_path / "wg.db").execute("SELECT kind, status, config FROM crawls").fetchone()
    assert crawl[:2] == ("app", "interrupted") and json.loads(crawl[2])["modes"] == [f"wireguard@{port}"]
