"""`mouchard import` of a person's own phone captures: PCAPdroid pcap (trailer) and pcapng (embedded TLS keys, uid
blocks), PCAPdroid's HAR export and a Chromium DevTools HAR. The captures are made by
tests/data/phone_captures/make_pcapdroid.py from real TLS sessions (HTTP/1.1 and HTTP/2) carrying the test
profile's planted values."""

from __future__ import annotations

import importlib.util
import io
import json
import shutil
import sqlite3
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from demoweb import DATA as SAMPLES
from conftest import needs
from leakscan import assert_no_planted_values
from mouchard.budget import Budget
from mouchard.errors import UserError
from mouchard.identify.profile import load_profile

ROOT = Path(__file__).resolve().parents[1]
PROFILE_PATH = SAMPLES / "profiles" / "android.yml"
PROFILE = load_profile(PROFILE_PATH)
FEW = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

GAME, MAPS = "com.example.game", "com.example.maps"
# (kind, host, method, status, error, http_version) of every flow the phone captures hold, by app
EXCHANGES = {
    ("http", "ads.tracker-one.test", "POST", 200, None, "HTTP/1.1"): GAME,
    ("http", "t.sdk-two.test", "GET", 200, None, "HTTP/2.0"): MAPS,
    ("http", "t.sdk-two.test", "POST", 200, None, "HTTP/2.0"): MAPS,
    ("tcp", "pinned.example-cdn.test", None, None, "not decrypted: no TLS key", None): GAME,
    ("http", "config.game-cdn.test", "GET", 200, None, "HTTP/1.1"): GAME,  # in clear, port 80
    ("websocket", "rt.sdk-two.test", "GET", 101, None, "HTTP/1.1"): MAPS,  # permessage-deflate
    ("quic", "127.0.0.1", None, None, "QUIC not decrypted", None): MAPS,
}
LEAKS = {("advertising_id", "body", "json:$.device.ifa", "ads.tracker-one.test"),
         ("location", "body", "json:$.device.geo.lat>decimals:5", "ads.tracker-one.test"),
         ("android_id", "query", "plain", "t.sdk-two.test"),
         ("imei", "body", "json:$.imei", "t.sdk-two.test"),
         ("imei", "query", "plain", "config.game-cdn.test"),
         ("location", "websocket", "json:$.pos.lat>decimals:5", "rt.sdk-two.test")}


def mouchard(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mouchard", *args], capture_output=True, text=True, timeout=300)


def _generator():
    spec = importlib.util.spec_from_file_location("make_pcapdroid",
                                                  ROOT / "tests" / "data" / "phone_captures" / "make_pcapdroid.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def captures(tmp_path_factory) -> dict[str, Path]:
    """Every capture of the generator, written once for the module."""
    generator = _generator()
    return generator.make(tmp_path_factory.mktemp("phone"), generator.values_of(PROFILE_PATH))


@pytest.fixture
def tshark() -> None:
    needs([] if shutil.which("tshark") else ["tshark"], "scripts/setup.sh installs it (apt-get install tshark)")


def imported(capture: Path, db: Path, *options: str) -> sqlite3.Connection:
    out = mouchard("import", str(capture), "--profile", str(PROFILE_PATH), "--db", str(db), *options)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert "Traceback" not in out.stdout + out.stderr
    return sqlite3.connect(db)


def flows(con: sqlite3.Connection) -> dict[tuple, tuple]:
    rows = con.execute("SELECT kind, host, method, status, error, http_version, app, app_source FROM flows").fetchall()
    assert len(rows) == len({r[:6] for r in rows}), rows
    return {r[:6]: r[6:] for r in rows}


def test_pcapdroid_pcapng_with_embedded_keys_records_each_exchange_with_its_app(tshark, captures, tmp_path):
    db = tmp_path / "pcapng.db"
    con = imported(captures["pcapng"], db)
    assert flows(con) == {k: (app, "pcapdroid") for k, app in EXCHANGES.items()}
    assert set(con.execute("SELECT identifier, location, chain, destination_host FROM leaks")) == LEAKS
    assert con.execute("SELECT name, identifier FROM cookies").fetchall() == [("tid", 1)]
    assert dict(con.execute("SELECT kind, analysis FROM flows WHERE kind != 'http'")) == {
        "tcp": "no-payload", "quic": "no-payload", "websocket": "complete"}
    assert con.execute("SELECT websocket_messages FROM flows WHERE kind = 'websocket'").fetchone() == (3,)
    config = json.loads(con.execute("SELECT config FROM crawls").fetchone()[0])
    assert config["format"] == "pcapng" and config["capture"]["keylog"] == "embedded"
    assert {k: config["capture"][k] for k in ("packets", "connections", "decrypted", "not_decrypted", "clear",
                                              "quic", "flows", "apps", "problems")} == {
        "packets": 96, "connections": 5, "decrypted": 3, "not_decrypted": 1, "clear": 1, "quic": 1, "flows": 7,
        "apps": {GAME: 3, MAPS: 3}, "problems": ["1 UDP conversation(s) other than QUIC (DNS...) not imported"]}
    assert_no_planted_values(db, PROFILE)


def test_pcapdroid_trailer_pcap_with_a_key_log_file_names_apps_by_their_label(tshark, captures, tmp_path):
    db = tmp_path / "trailer.db"
    con = imported(captures["trailer"], db, "--keylog", str(captures["keylog"]))
    names = {GAME: "Example Game", MAPS: "Example Maps"}  # the trailer holds the app's name, not its package
    assert flows(con) == {k: (names[app], "pcapdroid") for k, app in EXCHANGES.items()}
    assert set(con.execute("SELECT identifier, location, chain, destination_host FROM leaks")) == LEAKS
    assert json.loads(con.execute("SELECT config FROM crawls").fetchone()[0])["capture"]["keylog"] == "file"
    assert_no_planted_values(db, PROFILE)


def test_pcap_without_keys_records_every_connection_as_not_decrypted(tshark, captures, tmp_path):
    con = imported(captures["raw"], tmp_path / "raw.db")
    assert set(con.execute("SELECT kind, host, error, app FROM flows")) == {
        ("tcp", "ads.tracker-one.test", "not decrypted: no TLS key", None),
        ("tcp", "t.sdk-two.test", "not decrypted: no TLS key", None),
        ("tcp", "pinned.example-cdn.test", "not decrypted: no TLS key", None),
        ("tcp", "rt.sdk-two.test", "not decrypted: no TLS key", None),
        ("http", "config.game-cdn.test", None, None),
        ("quic", "127.0.0.1", "QUIC not decrypted", None)}
    assert set(con.execute("SELECT identifier, location, destination_host FROM leaks")) == {
        ("imei", "query", "config.game-cdn.test")}  # the request in clear


def test_pcap_without_pcapdroid_tags_falls_back_to_the_user_agent(tshark, captures, tmp_path):
    con = imported(captures["raw"], tmp_path / "raw-keys.db", "--keylog", str(captures["keylog"]))
    assert set(con.execute("SELECT host, method, app, app_source FROM flows WHERE kind = 'http'")) == {
        ("ads.tracker-one.test", "POST", None, None),  # okhttp names no app
        ("config.game-cdn.test", "GET", None, None),
        ("t.sdk-two.test", "GET", "com.example.maps/3.1", "user-agent"),
        ("t.sdk-two.test", "POST", "com.example.maps/3.1", "user-agent")}
    assert set(con.execute("SELECT identifier, location, chain, destination_host FROM leaks")) == LEAKS


def test_pcapng_with_secrets_injected_by_editcap_is_decrypted(tshark, captures, tmp_path):
    """The Decryption Secrets Block as Wireshark's own editcap writes it (not PCAPdroid): the walker and tshark
    agree on it; no PCAPdroid tags, so apps come from the User-Agent."""
    needs([] if shutil.which("editcap") else ["editcap"], "it comes with tshark (wireshark-common)")
    injected = tmp_path / "injected.pcapng"
    subprocess.run(["editcap", "--inject-secrets", f"tls,{captures['keylog']}", str(captures["raw"]), str(injected)],
                   check=True, capture_output=True, timeout=60)
    con = imported(injected, tmp_path / "injected.db")
    assert dict(con.execute("SELECT kind, count(*) FROM flows GROUP BY kind")) == {
        "http": 4, "websocket": 1, "tcp": 1, "quic": 1}
    assert set(con.execute("SELECT identifier, location, chain, destination_host FROM leaks")) == LEAKS
    assert json.loads(con.execute("SELECT config FROM crawls").fetchone()[0])["capture"]["keylog"] == "embedded"


def test_pcapdroid_har_export_keeps_a_request_without_response_as_an_error(captures, tmp_path):
    con = imported(captures["har"], tmp_path / "har.db")
    assert set(con.execute("SELECT kind, host, method, status, error FROM flows")) == {
        ("http", "ads.tracker-one.test", "POST", 200, None),
        ("http", "t.sdk-two.test", "GET", 200, None),
        ("http", "t.sdk-two.test", "POST", None, "no response in the capture")}
    assert set(con.execute("SELECT identifier, location, destination_host FROM leaks")) == {
        ("advertising_id", "body", "ads.tracker-one.test"), ("location", "body", "ads.tracker-one.test"),
        ("android_id", "query", "t.sdk-two.test"), ("imei", "body", "t.sdk-two.test")}
    assert json.loads(con.execute("SELECT config FROM crawls").fetchone()[0])["har"]["creator"] == "PCAPdroid"
    assert_no_planted_values(tmp_path / "har.db", PROFILE)


def test_chromium_har_is_attributed_to_the_browser_with_bodies_and_websocket_messages(captures, tmp_path):
    db = tmp_path / "chromium.db"
    con = imported(captures["chromium"], db)
    assert set(con.execute("SELECT kind, host, method, status, error, app, app_source FROM flows")) == {
        ("http", "collect.web-tracker.test", "GET", 200, None, "Chrome/131.0.0.0", "har"),
        ("http", "api.web-tracker.test", "POST", 200, None, "Chrome/131.0.0.0", "har"),
        ("http", "ads.blocked-network.test", "GET", None, "net::ERR_BLOCKED_BY_CLIENT", "Chrome/131.0.0.0", "har"),
        ("websocket", "rt.web-tracker.test", "GET", 101, None, "Chrome/131.0.0.0", "har")}
    assert set(con.execute("SELECT identifier, location, chain, destination_host FROM leaks")) == {
        ("advertising_id", "query", "plain", "collect.web-tracker.test"),
        ("imei", "body", "json:$.device.imei", "api.web-tracker.test"),  # postData kept
        ("android_id", "query", "plain", "ads.blocked-network.test"),
        ("location", "websocket", "json:$.lat>decimals:5", "rt.web-tracker.test")}
    assert con.execute("SELECT websocket_messages FROM flows WHERE kind = 'websocket'").fetchone() == (2,)
    assert_no_planted_values(db, PROFILE)


def test_pcapdroid_connections_csv_is_destinations_per_app(captures, tmp_path):
    con = imported(captures["csv"], tmp_path / "csv.db")
    assert set(con.execute("SELECT kind, app, app_source, host, started_at, analysis FROM flows")) == {
        ("report", GAME, "pcapdroid", "ads.tracker-one.test", "2026-12-06T14:46:40.001Z", "no-payload"),
        ("report", MAPS, "pcapdroid", "t.sdk-two.test", "2026-12-06T14:46:40.001Z", "no-payload"),
        ("report", GAME, "pcapdroid", "pinned.example-cdn.test", "2026-12-06T14:46:40.001Z", "no-payload"),
        ("report", GAME, "pcapdroid", "config.game-cdn.test", "2026-12-06T14:46:40.001Z", "no-payload"),
        ("report", MAPS, "pcapdroid", "rt.sdk-two.test", "2026-12-06T14:46:40.001Z", "no-payload"),
        ("report", MAPS, "pcapdroid", "127.0.0.1", "2026-12-06T14:46:40.101Z", "no-payload")}
    report = json.loads(con.execute("SELECT report FROM flows WHERE host = 't.sdk-two.test'").fetchone()[0])
    sizes = {k: report.pop(k) for k in ("bytes_received", "bytes_sent")}  # TLS session tickets vary in size
    assert all(isinstance(v, int) and v > 500 for v in sizes.values())
    assert report == {"app_name": "Example Maps", "destination": "127.0.0.1:443", "ip_protocol": "TCP",
                      "last_seen": "2026-12-06T14:46:40.100Z", "line": 3, "packets_received": 3, "packets_sent": 4,
                      "protocol": "TLS", "status": "Closed", "uid": "10145"}
    assert json.loads(con.execute("SELECT config FROM crawls").fetchone()[0])["format"] == "pcapdroid-connections"


def test_connections_csv_reads_unquoted_commas_and_records_bad_lines(tmp_path):
    from addons.pcap_connections import HEADER

    path = tmp_path / "connections.csv"
    path.write_text(",".join(HEADER) + ",Malicious\n"
                    "TCP,10.215.173.1,40100,203.0.113.9,443,10200,Maps, Routes & More,com.example.routes,TLS,Closed,"
                    "api.routes.test,10,20,1,1,2026-12-06T10:00:00.000+01:00,2026-12-06T10:00:01.000+01:00,yes\n"
                    "TCP,only,four,fields\n"
                    "TCP,10.215.173.1,40101,203.0.113.9,443,10200,X,com.x,TLS,Closed,h.test,1,1,1,1,yesterday,x,\n")
    con = imported(path, tmp_path / "c.db")
    assert con.execute("SELECT app, host, json_extract(report, '$.app_name'), json_extract(report, '$.malicious') "
                       "FROM flows").fetchall() == [("com.example.routes", "api.routes.test", "Maps, Routes & More",
                                                     "yes")]
    assert con.execute("SELECT component, kind, detail FROM failures ORDER BY id").fetchall() == [
        ("pcapdroid-connections", "unreadable-line", "line 3: 4 columns, expected 17"),
        ("pcapdroid-connections", "unreadable-line", "line 4: no destination address or no FirstSeen time")]


def test_pcapdroid_har_with_its_connections_export_names_each_entry_app(captures, tmp_path):
    con = imported(captures["har"], tmp_path / "har-apps.db", "--connections", str(captures["csv"]))
    assert set(con.execute("SELECT host, method, app, app_source FROM flows")) == {
        ("ads.tracker-one.test", "POST", GAME, "pcapdroid"), ("t.sdk-two.test", "GET", MAPS, "pcapdroid"),
        ("t.sdk-two.test", "POST", MAPS, "pcapdroid")}


@FEW
@given(st.lists(st.text(max_size=120), max_size=12))
def test_connections_parser_never_raises(lines):
    from addons.pcap_connections import HEADER, parse

    text = "\n".join([",".join(HEADER), *lines])
    result = parse(text)
    assert len(result.rows) + len(result.failures) <= text.count("\n")


# ---------------------------------------------------------------- hostile captures

def _cli_error(capture: Path, tmp_path: Path, *options: str) -> str:
    out = mouchard("import", str(capture), "--profile", str(PROFILE_PATH), "--db", str(tmp_path / "x.db"), *options)
    assert out.returncode == 1 and "Traceback" not in out.stderr, out.stdout[-1000:] + out.stderr[-2000:]
    assert out.stderr.count("\n") == 1, out.stderr
    return out.stderr


def test_truncated_pcapng_is_a_one_line_error(captures, tmp_path):
    whole = captures["pcapng"].read_bytes()
    cut = tmp_path / "cut.pcapng"
    cut.write_bytes(whole[: len(whole) // 2 + 3])
    assert "cut short" in _cli_error(cut, tmp_path)


def test_pcapng_whose_key_log_is_garbage_records_connections_as_not_decrypted(tshark, captures, tmp_path):
    data = bytearray(captures["pcapng"].read_bytes())
    start = data.index(struct.pack("<I", 0x544C534B)) + 8  # the DSB's secrets
    size = struct.unpack("<I", data[start - 4:start])[0]
    data[start:start + size] = bytes((i * 37 + 11) % 256 for i in range(size))
    path = tmp_path / "garbage-keys.pcapng"
    path.write_bytes(bytes(data))
    con = imported(path, tmp_path / "garbage.db")
    assert dict(con.execute("SELECT kind, count(*) FROM flows GROUP BY kind")) == {"tcp": 4, "http": 1, "quic": 1}
    assert {r[0] for r in con.execute("SELECT error FROM flows WHERE kind = 'tcp'")} == {"not decrypted: no TLS key"}


def test_pcapng_whose_secrets_block_claims_too_much_is_a_one_line_error(tshark, captures, tmp_path):
    data = bytearray(captures["pcapng"].read_bytes())
    start = data.index(struct.pack("<I", 0x544C534B))
    data[start + 4:start + 8] = struct.pack("<I", 0x7FFFFFFF)
    path = tmp_path / "bad-dsb.pcapng"
    path.write_bytes(bytes(data))
    error = _cli_error(path, tmp_path)
    assert "tshark could not read the packets" in error and "nothing imported" in error
    assert not (tmp_path / "x.db").exists() or sqlite3.connect(tmp_path / "x.db").execute(
        "SELECT count(*) FROM crawls").fetchone() == (0,)


def test_keylog_that_is_not_a_key_log_is_refused(tshark, captures, tmp_path):
    bad = tmp_path / "keys.txt"
    bad.write_bytes(b"\x00\x01 not keys")
    assert "is not a TLS key log" in _cli_error(captures["raw"], tmp_path, "--keylog", str(bad))


def test_keylog_with_a_har_is_refused(captures, tmp_path):
    assert "--keylog decrypts packet captures" in _cli_error(captures["har"], tmp_path, "--keylog",
                                                              str(captures["keylog"]))


def test_capture_past_the_packet_cap_is_refused_before_tshark(monkeypatch, captures, tmp_path):
    from addons import pcap_walk
    from addons.capture import check_capture

    monkeypatch.setattr(pcap_walk, "MAX_PACKETS", 20)
    with pytest.raises(UserError, match="more than 20 packets"):
        check_capture(captures["pcapng"])


def test_tshark_past_its_time_budget_is_a_one_line_error(tshark, monkeypatch, captures, tmp_path):
    from addons import pcap_import

    monkeypatch.setattr(pcap_import, "TSHARK_TIMEOUT", 0.001)
    with pytest.raises(UserError, match="tshark took more than") as caught:
        pcap_import.convert(captures["pcapng"], tmp_path / "out.mitm")
    assert "\n" not in str(caught.value)


# ---------------------------------------------------------------- the parsers, on anything

def _mutations(data: bytes):
    return st.tuples(st.integers(0, len(data) - 1), st.binary(min_size=1, max_size=8)).map(
        lambda m: data[:m[0]] + m[1] + data[m[0] + len(m[1]):])


@pytest.fixture(scope="module")
def real_pcapng(captures) -> bytes:
    return captures["pcapng"].read_bytes()


@FEW
@given(data=st.data())
@example(data=None)
def test_walker_raises_only_capture_errors(real_pcapng, data):
    from addons.pcap_walk import CaptureError, scan

    if data is None:
        blob = real_pcapng[:28] + struct.pack("<II", 6, 0xFFFFFFF0)
    else:
        blob = data.draw(st.one_of(
            _mutations(real_pcapng), st.binary(max_size=400).map(lambda b: b"\xd4\xc3\xb2\xa1" + b),
            st.binary(max_size=400).map(lambda b: b"\x0a\x0d\x0d\x0a" + b),
            st.binary(max_size=200).map(lambda b: real_pcapng[:200] + b)))
    try:
        result = scan(io.BytesIO(blob))
    except CaptureError as exc:
        assert "\n" not in str(exc)
        return
    assert result.packets <= len(blob) // 12 and len(result.keylog) <= len(blob)


@FEW
@given(client=st.binary(max_size=600), server=st.binary(max_size=600), h2=st.booleans())
@example(client=b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffff\r\nab", server=b"", h2=False)
@example(client=b"GET / HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n", server=b"", h2=False)
@example(client=b"\x00\x00\x05\x01\x05\x00\x00\x00\x01\x82\x87\x84\x41\xff", server=b"\x00\x00\x02\x01\x04\x00\x00\x00"
         b"\x01\x88\x88", h2=True)
def test_http_parsers_never_raise_and_stay_in_budget(client, server, h2):
    from addons.pcap_http import H2_PREFACE, parse

    budget = Budget.for_input(len(client) + len(server))
    exchanges, problem = parse((H2_PREFACE if h2 else b"") + client, server, budget)
    assert problem is None or "\n" not in problem
    for exchange in exchanges:
        assert len(exchange.request_body) <= len(client) and len(exchange.response_body) <= len(server)
    assert all(budget.used[u] <= budget.limits[u] for u in budget.used)


@FEW
@given(st.lists(st.one_of(st.sampled_from(["=" * 67, "Filter: tcp.stream eq 3", "Filter: tcp.stream eq x",
                                           "Node 0: 10.0.0.1:443", "Node 0: [::1]:80", "\t", "\t0a0b", "abc"]),
                          st.text(max_size=30)), max_size=30))
def test_follow_output_parser_never_raises(lines):
    from addons.pcap_import import parse_follow

    for stream, node0, first, second in parse_follow("\n".join(lines)):
        assert isinstance(stream, int) and isinstance(first, bytes) and isinstance(second, bytes)


def test_http2_exchanges_are_paired_by_stream_with_continuation_and_padding():
    import hpack

    from addons.pcap_http import H2_PREFACE, parse_http2

    encoder = hpack.Encoder()
    block = encoder.encode([(":method", "POST"), (":scheme", "https"), (":authority", "x.test"), (":path", "/p"),
                            ("x-id", "1")])
    frames = (struct.pack("!I", len(block[:4]))[1:] + b"\x01\x00" + struct.pack("!I", 5) + block[:4]
              + struct.pack("!I", len(block[4:]))[1:] + b"\x09\x04" + struct.pack("!I", 5) + block[4:]
              + struct.pack("!I", 6)[1:] + b"\x00\x09" + struct.pack("!I", 5) + b"\x02abc\x00\x00")
    answer = hpack.Encoder().encode([(":status", "204")])
    server = struct.pack("!I", len(answer))[1:] + b"\x01\x05" + struct.pack("!I", 5) + answer
    exchanges, problem = parse_http2(H2_PREFACE + frames, server, Budget())
    assert problem is None and len(exchanges) == 1
    ex = exchanges[0]
    assert (ex.method, ex.authority, ex.target, ex.request_body, ex.status, ex.request_headers) == (
        "POST", "x.test", "/p", b"abc", 204, [(b"x-id", b"1")])


def test_http1_pipelined_requests_interim_responses_and_chunked_bodies_are_paired():
    from addons.pcap_http import parse_http1

    client = (b"POST /a HTTP/1.1\r\nHost: a.test\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n"
              b"3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: 1\r\n\r\n"
              b"HEAD /b HTTP/1.1\r\nHost: a.test\r\n\r\n"
              b"GET /c HTTP/1.1\r\nHost: a.test\r\n\r\n")
    server = (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"
              b"HTTP/1.1 200 OK\r\nContent-Length: 999\r\n\r\n"
              b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n\r\ngone")
    exchanges, problem = parse_http1(client, server, Budget())
    assert problem is None
    assert [(e.method, e.target, e.request_body, e.status, e.response_body) for e in exchanges] == [
        ("POST", "/a", b"abcde", 201, b"ok"), ("HEAD", "/b", b"", 200, b""), ("GET", "/c", b"", 404, b"gone")]


def test_http1_upgrade_to_websocket_is_decoded_and_any_other_says_what_was_not():
    from addons.pcap_http import parse_http1

    masked = bytes([0x81, 0x82, 1, 2, 3, 4, ord("h") ^ 1, ord("i") ^ 2])
    exchanges, problem = parse_http1(b"GET /ws HTTP/1.1\r\nHost: a.test\r\nUpgrade: websocket\r\n\r\n" + masked,
                                     b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x02ok"
                                     b"\x88\x00", Budget())
    assert problem is None and [(e.status, e.websocket) for e in exchanges] == [
        (101, [(True, 1, b"hi"), (False, 1, b"ok")])]
    exchanges, problem = parse_http1(b"GET / HTTP/1.1\r\nHost: a.test\r\nUpgrade: h2c\r\n\r\nPRI *",
                                     b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n", Budget())
    assert [e.status for e in exchanges] == [101]
    assert problem == "protocol switch (b'h2c'): 5 bytes after it not decoded"


def test_endpoints_of_ipv6_and_cooked_captures_match_both_directions():
    from addons.pcap_walk import endpoints, pair_key

    v6 = (bytes([0x60, 0, 0, 0]) + struct.pack("!HBB", 20, 6, 64) + bytes.fromhex("20010db8" + "0" * 23 + "1")
          + bytes.fromhex("20010db8" + "0" * 23 + "2") + struct.pack("!HH", 50000, 443) + bytes(16))
    proto, src, dst = endpoints(113, bytes(16) + v6)
    assert (proto, src, dst) == ("tcp", ("2001:db8::1", 50000), ("2001:db8::2", 443))
    assert pair_key(proto, src, dst) == pair_key("tcp", ("2001:db8:0::2", 443), ("2001:0db8::1", 50000))


def test_replay_addon_runs_alone_under_mitmdump(tshark, captures, tmp_path):
    from addons.pcap_import import convert

    converted = tmp_path / "converted.mitm"
    convert(captures["pcapng"], converted)
    out = subprocess.run([str(Path(sys.executable).parent / "mitmdump"), "-n", "-r", str(converted), "-s",
                          str(ROOT / "addons" / "pcap_replay.py"), "--set", f"confdir={tmp_path / 'conf'}",
                          "--set", "flow_detail=0"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "Traceback" not in out.stdout + out.stderr, out.stdout[-2000:] + out.stderr
    assert "not recorded: no recorder running" in out.stdout + out.stderr


@FEW
@given(data=st.binary(max_size=300), deflate=st.booleans(), reset=st.booleans())
@example(data=b"\xc1\xff" + b"\xff" * 8, deflate=True, reset=False)
@example(data=b"\xc1\x05" + bytes([0xFA] + [0] * 4), deflate=True, reset=False)
def test_websocket_frame_decoder_never_raises_and_stays_in_budget(data, deflate, reset):
    from addons.pcap_http import ws_messages

    budget = Budget(steps=1000, bytes=4096)
    messages, problem = ws_messages(data, budget, deflate, reset)
    assert problem is None or "\n" not in problem
    assert all(budget.used[u] <= budget.limits[u] for u in budget.used)


def test_websocket_deflate_bomb_is_cut_at_the_budget():
    import zlib

    from addons.pcap_http import ws_messages

    squeezer = zlib.compressobj(9, zlib.DEFLATED, -15)
    bomb = squeezer.compress(b"A" * 10_000_000) + squeezer.flush(zlib.Z_SYNC_FLUSH)
    frame = bytes([0xC1, 127]) + len(bomb[:-4]).to_bytes(8, "big") + bomb[:-4]
    messages, problem = ws_messages(frame, Budget(bytes=1_000_000), deflate=True)
    assert messages == [] and problem == "budget: inflated message too large"


def test_tshark_runs_as_an_unprivileged_user_when_mouchard_is_root():
    import os
    import pwd

    from addons.pcap_import import tshark_user

    if os.geteuid() != 0:
        assert tshark_user() is None
        return
    user = tshark_user()
    assert user is not None and user[0] != 0
    assert pwd.getpwuid(user[0]).pw_name in ("mouchard-browser", "nobody")
