"""Write phone captures in PCAPdroid's formats from real TLS traffic, for the import tests.

    python tests/data/phone_captures/make_pcapdroid.py OUT_DIR [PROFILE.yml]

Real TLS 1.3 sessions (Python's ssl, a trustme CA, HTTP/1.1 by hand and HTTP/2 with the h2 library on both ends)
run between a client and a server in memory (ssl.MemoryBIO): every byte either side puts on the wire is recorded
in order and cut into TCP segments of IPv4 packets between 10.215.173.1 (PCAPdroid's VPN address) and 127.0.0.1,
exactly as PCAPdroid's VPN sees them. The key log comes from `SSLContext.keylog_filename`. The files are laid out
as PCAPdroid's own dumper writes them (app/src/main/jni/core/pcap_dump.c):

- `phone.pcapng`: LINKTYPE_RAW interface, a Decryption Secrets Block (TLS key log) before the packets, one
  PCAPdroid custom block (PEN 62652, type 1: uid, package name, app name) per app, and "u-<uid>" comments on
  every Enhanced Packet Block;
- `phone-trailer.pcap`: pcap with a bogus all-zero Ethernet header and the 32-byte PCAPdroid trailer (magic
  0x01072021, uid, app name in 20 bytes, FCS) after the IP packet; plus `phone-trailer.keys` (SSLKEYLOGFILE);
- `pcapdroid.har`: PCAPdroid's HAR export of the same requests (HarWriter.java: creator PCAPdroid, `connection`,
  `serverIPAddress`, a response with status 0 when none came);
- `connections.csv`: PCAPdroid's connections export (ConnectionsAdapter.dumpConnectionsCsv);
- `chromium.har`: a HAR as Chromium's DevTools exports it (a web page's requests on the same phone).

Connections: the game app (uid 10123) POSTs a bid request over HTTP/1.1; the maps app (uid 10145) sends a GET and
a POST over HTTP/2 on one connection; the game app opens a TLS connection whose keys are not in the log and sends
one request in clear (port 80); the maps app opens a WebSocket (permessage-deflate) that sends the position, sends
QUIC (UDP/443) packets and a DNS query. Nothing is sent on a
network.
"""

from __future__ import annotations

import json
import socket
import ssl
import struct
import sys
import zlib
from dataclasses import dataclass, field
from pathlib import Path

PHONE = "10.215.173.1"  # PCAPdroid's VPN interface address
SERVER = "127.0.0.1"
GAME = (10123, "com.example.game", "Example Game")
MAPS = (10145, "com.example.maps", "Example Maps")
MSS = 1400
START = 1_733_500_000.0  # capture clock: fixed, so the files are reproducible apart from TLS randomness


@dataclass
class Packet:
    """One IP packet as PCAPdroid's VPN saw it, with the uid of the app that owns its connection."""

    ts: float
    data: bytes
    uid: int
    outgoing: bool


@dataclass
class Conversation:
    """What one connection carried: the segments of each direction in wire order."""

    uid: int
    sport: int
    dport: int
    host: str
    segments: list[tuple[bool, bytes]] = field(default_factory=list)  # (from client, bytes)


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ipv4(src: str, dst: str, proto: int, payload: bytes, ident: int) -> bytes:
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident & 0xFFFF, 0x4000, 64, proto, 0,
                         socket.inet_aton(src), socket.inet_aton(dst))
    header = header[:10] + struct.pack("!H", _checksum(header)) + header[12:]
    return header + payload


def tcp(src: str, dst: str, sport: int, dport: int, seq: int, ack: int, flags: int, payload: bytes) -> bytes:
    header = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 5 << 4, flags, 65535, 0, 0)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(header) + len(payload))
    header = header[:16] + struct.pack("!H", _checksum(pseudo + header + payload)) + header[18:]
    return header + payload


def udp(src: str, dst: str, sport: int, dport: int, payload: bytes) -> bytes:
    header = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 17, len(header) + len(payload))
    return header[:6] + struct.pack("!H", _checksum(pseudo + header + payload) or 0xFFFF) + payload


class Clock:
    def __init__(self) -> None:
        self.now = START

    def tick(self) -> float:
        self.now += 0.001
        return self.now


def packets_of(conv: Conversation, clock: Clock) -> list[Packet]:
    """The TCP packets of a conversation: handshake, data segments of at most MSS bytes with ACKs, then FINs."""
    out: list[Packet] = []
    seq = {True: 1000 + conv.sport, False: 50000 + conv.sport}
    ident = [1]

    def send(from_client: bool, flags: int, payload: bytes = b"") -> None:
        src, dst = (PHONE, SERVER) if from_client else (SERVER, PHONE)
        sport, dport = (conv.sport, conv.dport) if from_client else (conv.dport, conv.sport)
        ack = seq[not from_client] if flags & 0x10 else 0
        segment = tcp(src, dst, sport, dport, seq[from_client], ack, flags, payload)
        ident[0] += 1
        out.append(Packet(clock.tick(), ipv4(src, dst, 6, segment, ident[0]), conv.uid, from_client))
        seq[from_client] += len(payload) + (1 if flags & 0x03 else 0)

    send(True, 0x02)
    send(False, 0x12)
    send(True, 0x10)
    for from_client, data in conv.segments:
        for i in range(0, len(data), MSS):
            send(from_client, 0x18, data[i:i + MSS])
        send(not from_client, 0x10)
    send(True, 0x11)
    send(False, 0x11)
    send(True, 0x10)
    return out


class TlsPair:
    """A TLS client and server talking through memory: `exchange` moves bytes until both are idle and records
    each flight in the conversation."""

    def __init__(self, conv: Conversation, client_ctx: ssl.SSLContext, server_ctx: ssl.SSLContext) -> None:
        self.conv = conv
        self.c_in, self.c_out, self.s_in, self.s_out = (ssl.MemoryBIO() for _ in range(4))
        self.client = client_ctx.wrap_bio(self.c_in, self.c_out, server_hostname=conv.host)
        self.server = server_ctx.wrap_bio(self.s_in, self.s_out, server_side=True)

    def pump(self) -> None:
        for _ in range(50):
            moved = False
            for obj in (self.client, self.server):
                try:
                    obj.do_handshake()
                except ssl.SSLWantReadError:
                    pass
            data = self.c_out.read()
            if data:
                self.conv.segments.append((True, data))
                self.s_in.write(data)
                moved = True
            data = self.s_out.read()
            if data:
                self.conv.segments.append((False, data))
                self.c_in.write(data)
                moved = True
            if not moved:
                return

    def read(self, obj: ssl.SSLObject) -> bytes:
        out = b""
        while True:
            try:
                chunk = obj.read(65536)
            except ssl.SSLWantReadError:
                return out
            if not chunk:
                return out
            out += chunk

    def client_send(self, data: bytes) -> bytes:
        """Send from the client; return what the server application read."""
        self.client.write(data)
        self.pump()
        return self.read(self.server)

    def server_send(self, data: bytes) -> bytes:
        self.server.write(data)
        self.pump()
        return self.read(self.client)


def contexts(keylog: Path):
    """(client context logging its keys to `keylog`, server context, the CA)."""
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("ads.tracker-one.test", "t.sdk-two.test", "pinned.example-cdn.test", "rt.sdk-two.test")
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(server_ctx)
    server_ctx.set_alpn_protocols(["h2", "http/1.1"])
    client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ca.configure_trust(client_ctx)
    client_ctx.keylog_filename = str(keylog)
    return client_ctx, server_ctx, ca


def http1_conversation(values: dict, client_ctx, server_ctx) -> tuple[Conversation, list[dict]]:
    conv = Conversation(GAME[0], 40001, 443, "ads.tracker-one.test")
    pair = TlsPair(conv, client_ctx, server_ctx)
    pair.pump()
    body = json.dumps({"id": "bid-1", "imp": [{"id": "1"}], "device": {
        "ifa": values["advertising_id"], "geo": {"lat": values["lat"], "lon": values["lon"]}}}).encode()
    request = (b"POST /openrtb/bid?src=game HTTP/1.1\r\nHost: ads.tracker-one.test\r\n"
               b"User-Agent: okhttp/4.12.0\r\nContent-Type: application/json\r\n"
               b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    got = pair.client_send(request)
    assert got == request, "the server did not read the request"
    response_body = b'{"seatbid":[]}'
    response = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nSet-Cookie: tid=ab12cd34ef56ab78; "
                b"Max-Age=31536000; Secure\r\nTransfer-Encoding: chunked\r\n\r\n"
                + f"{len(response_body):x}\r\n".encode() + response_body + b"\r\n0\r\n\r\n")
    pair.server_send(response)
    har = [{"method": "POST", "url": "https://ads.tracker-one.test/openrtb/bid?src=game", "version": "HTTP/1.1",
            "headers": [("Host", "ads.tracker-one.test"), ("User-Agent", "okhttp/4.12.0"),
                        ("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
            "body": body.decode(), "status": 200, "response": response_body.decode(), "conn": 1}]
    return conv, har


def http2_conversation(values: dict, client_ctx, server_ctx) -> tuple[Conversation, list[dict]]:
    import h2.config
    import h2.connection
    import h2.events

    conv = Conversation(MAPS[0], 40002, 443, "t.sdk-two.test")
    client_ctx.set_alpn_protocols(["h2"])
    pair = TlsPair(conv, client_ctx, server_ctx)
    pair.pump()
    assert pair.client.selected_alpn_protocol() == "h2"
    client = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    server = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
    client.initiate_connection()
    server.initiate_connection()
    path = f"/v1/loc?android_id={values['android_id']}"
    body = json.dumps({"imei": values["imei"], "sdk": "maps-1.0"}).encode()
    ua = "com.example.maps/3.1 (Linux; Android 14) okhttp/4.12.0"
    client.send_headers(1, [(":method", "GET"), (":scheme", "https"), (":authority", "t.sdk-two.test"),
                            (":path", path), ("user-agent", ua)], end_stream=True)
    client.send_headers(3, [(":method", "POST"), (":scheme", "https"), (":authority", "t.sdk-two.test"),
                            (":path", "/v1/events"), ("user-agent", ua), ("content-type", "application/json")])
    client.send_data(3, body, end_stream=True)
    received = pair.client_send(client.data_to_send())
    ended = [e for e in server.receive_data(received) if isinstance(e, h2.events.StreamEnded)]
    assert [e.stream_id for e in ended] == [1, 3], ended
    for stream in (1, 3):
        server.send_headers(stream, [(":status", "200"), ("content-type", "application/json")])
        server.send_data(stream, b'{"ok":true}', end_stream=True)
    answer = pair.server_send(server.data_to_send())
    client.receive_data(answer)
    pair.client_send(client.data_to_send())  # the client's SETTINGS ack and window updates
    har = [{"method": "GET", "url": f"https://t.sdk-two.test{path}", "version": "HTTP/2",
            "headers": [(":authority", "t.sdk-two.test"), ("user-agent", ua)], "body": None, "status": 200,
            "response": '{"ok":true}', "conn": 2},
           {"method": "POST", "url": "https://t.sdk-two.test/v1/events", "version": "HTTP/2",
            "headers": [(":authority", "t.sdk-two.test"), ("user-agent", ua), ("content-type", "application/json")],
            "body": body.decode(), "status": 0, "response": None, "conn": 2}]
    return conv, har


def websocket_conversation(values: dict, client_ctx, server_ctx) -> Conversation:
    """The maps app's WebSocket (wsproto on both ends, permessage-deflate): the position in a compressed message."""
    from wsproto import ConnectionType, WSConnection
    from wsproto.events import AcceptConnection, Request, TextMessage
    from wsproto.extensions import PerMessageDeflate

    conv = Conversation(MAPS[0], 40005, 443, "rt.sdk-two.test")
    client_ctx.set_alpn_protocols(["http/1.1"])
    pair = TlsPair(conv, client_ctx, server_ctx)
    pair.pump()
    client, server = WSConnection(ConnectionType.CLIENT), WSConnection(ConnectionType.SERVER)
    server.receive_data(pair.client_send(client.send(Request(
        host="rt.sdk-two.test", target="/live", extensions=[PerMessageDeflate()],
        extra_headers=[(b"user-agent", b"okhttp/4.12.0")]))))
    assert [type(e).__name__ for e in server.events()] == ["Request"]
    client.receive_data(pair.server_send(server.send(AcceptConnection(extensions=[PerMessageDeflate()]))))
    assert [type(e).__name__ for e in client.events()] == ["AcceptConnection"]
    for text in ('{"hello": "maps"}', json.dumps({"pos": {"lat": values["lat"], "lng": values["lon"]}})):
        server.receive_data(pair.client_send(client.send(TextMessage(data=text))))
        assert [e.data for e in server.events()] == [text]
    client.receive_data(pair.server_send(server.send(TextMessage(data='{"ack": 2}'))))
    return conv


def clear_conversation(values: dict) -> Conversation:
    """The game app's HTTP request in clear (port 80): readable without any key, split over two segments."""
    conv = Conversation(GAME[0], 40004, 80, "config.game-cdn.test")
    request = (f"GET /v1/config?imei={values['imei']} HTTP/1.1\r\nHost: config.game-cdn.test\r\n"
               "User-Agent: okhttp/4.12.0\r\nAccept: */*\r\n\r\n").encode()
    conv.segments += [(True, request[:30]), (True, request[30:]),
                      (False, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: application/json\r\n\r\n{}")]
    return conv


def unkeyed_conversation(server_ctx, ca) -> Conversation:
    """A TLS connection of the game app whose keys are not logged (PCAPdroid's mitm add-on off for it)."""
    client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ca.configure_trust(client_ctx)
    conv = Conversation(GAME[0], 40003, 443, "pinned.example-cdn.test")
    pair = TlsPair(conv, client_ctx, server_ctx)
    pair.pump()
    pair.client_send(b"GET /config HTTP/1.1\r\nHost: pinned.example-cdn.test\r\n\r\n")
    pair.server_send(b"HTTP/1.1 204 No Content\r\n\r\n")
    return conv


def dns_packet(clock: Clock) -> Packet:
    """A DNS query of the maps app (UDP/53): not imported, counted."""
    query = struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + b"\x05t-sdk\x03two\x04test\x00\x00\x01\x00\x01"
    return Packet(clock.tick(), ipv4(PHONE, "10.215.173.2", 17, udp(PHONE, "10.215.173.2", 50053, 53, query), 77),
                  MAPS[0], True)


def quic_packets(clock: Clock) -> list[Packet]:
    """Two QUIC long-header packets (Initial, version 1) of the maps app to UDP/443 and one answer."""
    out = []
    for i, (outgoing, size) in enumerate(((True, 1200), (True, 1200), (False, 1200))):
        payload = bytes([0xC3]) + struct.pack("!I", 1) + b"\x08" + bytes(range(8)) + b"\x00" + bytes(size - 15)
        src, dst, sport, dport = (PHONE, SERVER, 50001, 443) if outgoing else (SERVER, PHONE, 443, 50001)
        out.append(Packet(clock.tick(), ipv4(src, dst, 17, udp(src, dst, sport, dport, payload), 900 + i),
                          MAPS[0], outgoing))
    return out


# ---------------------------------------------------------------- writers, as PCAPdroid lays them out

def _pad4(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 4)


def _block(kind: int, body: bytes) -> bytes:
    body = _pad4(body)
    total = 12 + len(body)
    return struct.pack("<II", kind, total) + body + struct.pack("<I", total)


def _option(code: int, value: bytes) -> bytes:
    return struct.pack("<HH", code, len(value)) + _pad4(value)


def pcapng_bytes(packets: list[Packet], apps: list[tuple[int, str, str]], keylog: bytes | None) -> bytes:
    """PCAPdroid's pcapng: SHB with hardware/os/app options, a RAW IDB, its custom UID-mapping blocks, a DSB
    and EPBs carrying a "u-<uid>" comment."""
    options = (_option(2, b"Pixel 7") + _option(3, b"Android 14") + _option(4, b"PCAPdroid v1.8.0")
               + struct.pack("<HH", 0, 0))
    out = _block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1) + options)
    out += _block(1, struct.pack("<HHI", 101, 0, 65535))
    if keylog is not None:
        out += _block(0x0A, struct.pack("<II", 0x544C534B, len(keylog)) + _pad4(keylog))
    mapped = set()
    for packet in packets:
        if packet.uid not in mapped:
            mapped.add(packet.uid)
            uid, package, name = next(a for a in apps if a[0] == packet.uid)
            out += _block(0x00000BAD, struct.pack("<IHBBiBB", 62652, 1, 1, 0, uid, len(package), len(name))
                          + package.encode() + name.encode())
        micros = int(packet.ts * 1_000_000)
        comment = f"u-{packet.uid}".encode()
        body = (struct.pack("<IIIII", 0, micros >> 32, micros & 0xFFFFFFFF, len(packet.data), len(packet.data))
                + _pad4(packet.data) + _option(1, comment) + struct.pack("<HH", 0, 0))
        out += _block(6, body)
    return out


def pcap_trailer_bytes(packets: list[Packet], apps: list[tuple[int, str, str]]) -> bytes:
    """PCAPdroid's pcap with its trailer: LINKTYPE_ETHERNET, zero MACs, IP packet, padding, 32-byte trailer."""
    out = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    for packet in packets:
        name = next(a[2] for a in apps if a[0] == packet.uid).encode()[:19]
        frame = bytes(12) + struct.pack("!H", 0x0800) + packet.data
        frame += b"\0" * (-len(frame) % 4)
        trailer = struct.pack("!Ii", 0x01072021, packet.uid) + name.ljust(20, b"\0")
        frame += trailer
        frame += struct.pack("<I", zlib.crc32(frame))
        seconds = int(packet.ts)
        out += struct.pack("<IIII", seconds, int((packet.ts - seconds) * 1_000_000), len(frame), len(frame)) + frame
    return out


def pcap_raw_bytes(packets: list[Packet]) -> bytes:
    """A plain pcap of the VPN's IP packets (PCAPdroid without its trailer): LINKTYPE_RAW."""
    out = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101)
    for packet in packets:
        seconds = int(packet.ts)
        out += struct.pack("<IIII", seconds, int((packet.ts - seconds) * 1_000_000), len(packet.data),
                           len(packet.data)) + packet.data
    return out


def har_bytes(entries: list[dict]) -> bytes:
    """PCAPdroid's HAR export (HarWriter.java) of the decrypted requests."""
    out = []
    for e in entries:
        request = {"method": e["method"], "url": e["url"], "httpVersion": e["version"], "cookies": [],
                   "headers": [{"name": k, "value": v} for k, v in e["headers"]], "queryString": [],
                   "headersSize": -1, "bodySize": len(e["body"] or "")}
        if e["method"] in ("POST", "PUT", "PATCH"):
            request["postData"] = {"mimeType": "application/json", "text": e["body"] or ""}
        if e["status"]:
            response = {"status": e["status"], "statusText": "OK", "httpVersion": e["version"], "cookies": [],
                        "headers": [{"name": "Content-Type", "value": "application/json"}],
                        "content": {"size": len(e["response"]), "mimeType": "application/json",
                                    "text": e["response"]}, "redirectURL": "", "headersSize": -1,
                        "bodySize": len(e["response"])}
        else:  # HarWriter: no reply yet
            response = {"status": 0, "statusText": "", "httpVersion": "", "cookies": [], "headers": [],
                        "content": {}, "redirectURL": "", "headersSize": -1, "bodySize": -1}
        out.append({"startedDateTime": "2026-12-06T15:46:40.001+01:00", "time": 3 if e["status"] else -1,
                    "serverIPAddress": SERVER, "connection": str(e["conn"]), "request": request,
                    "response": response, "cache": {},
                    "timings": {"send": 0, "wait": 0, "receive": 0}})
    return json.dumps({"log": {"version": "1.2", "creator": {"name": "PCAPdroid", "version": "1.8.0"},
                               "entries": out}}, indent=2).encode()


def connections_csv(convs: list[Conversation], apps: list[tuple[int, str, str]]) -> bytes:
    """PCAPdroid's connections export: IPProto,SrcIP,SrcPort,DstIp,DstPort,UID,App,PackageName,Proto,..."""
    lines = ["IPProto,SrcIP,SrcPort,DstIp,DstPort,UID,App,PackageName,Proto,Status,Info,BytesSent,BytesRcvd,"
             "PktsSent,PktsRcvd,FirstSeen,LastSeen"]
    for conv in convs:
        uid, package, name = next(a for a in apps if a[0] == conv.uid)
        sent = sum(len(d) for c, d in conv.segments if c)
        rcvd = sum(len(d) for c, d in conv.segments if not c)
        lines.append(f"TCP,{PHONE},{conv.sport},{SERVER},{conv.dport},{uid},{name},{package},TLS,Closed,{conv.host},"
                     f"{sent},{rcvd},{sum(1 for c, _ in conv.segments if c)},"
                     f"{sum(1 for c, _ in conv.segments if not c)},2026-12-06T15:46:40.001+01:00,"
                     "2026-12-06T15:46:40.100+01:00")
    lines.append(f"UDP,{PHONE},50001,{SERVER},443,{MAPS[0]},{MAPS[2]},{MAPS[1]},QUIC,Closed,,2400,1200,2,1,"
                 "2026-12-06T15:46:40.101+01:00,2026-12-06T15:46:40.104+01:00")
    return ("\n".join(lines) + "\n").encode()


CHROME_UA = ("Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
             "Chrome/131.0.0.0 Mobile Safari/537.36")


def chromium_har_bytes(values: dict) -> bytes:
    """A HAR as Chromium's DevTools exports it (Network panel, "Export HAR"): pages, `_initiator`,
    `_resourceType`, `_priority`, HTTP/2 pseudo-headers among the request headers, `postData`, a request blocked
    by the client (status 0 and `_error`) and a WebSocket with `_webSocketMessages`."""
    def entry(url, method="GET", body=None, resource="fetch", status=200, extra=None, version="h2"):
        host = url.split("/")[2]
        headers = [{"name": ":authority", "value": host}, {"name": ":method", "value": method},
                   {"name": ":path", "value": "/" + url.split("/", 3)[3]}, {"name": ":scheme", "value": "https"},
                   {"name": "user-agent", "value": CHROME_UA}]
        request = {"method": method, "url": url, "httpVersion": version, "headers": headers, "queryString": [],
                   "cookies": [], "headersSize": -1, "bodySize": len(body or "")}
        if body is not None:
            headers.append({"name": "content-type", "value": "text/plain;charset=UTF-8"})
            request["postData"] = {"mimeType": "text/plain;charset=UTF-8", "text": body}
        response = {"status": status, "statusText": "" if not status else "OK", "httpVersion": version if status
                    else "", "headers": [{"name": "content-type", "value": "application/json"}] if status else [],
                    "cookies": [], "content": {"size": 2 if status else 0, "mimeType": "application/json",
                                               **({"text": "{}"} if status else {})},
                    "redirectURL": "", "headersSize": -1, "bodySize": 2 if status else 0,
                    "_transferSize": 120 if status else 0, "_error": None if status else "net::ERR_BLOCKED_BY_CLIENT"}
        item = {"_connectionId": "4521", "_initiator": {"type": "script", "stack": {"callFrames": [
                    {"functionName": "send", "scriptId": "17", "url": "https://shop.example/app.js",
                     "lineNumber": 41, "columnNumber": 12}]}},
                "_priority": "High", "_resourceType": resource, "cache": {}, "connection": "4521",
                "pageref": "page_1", "request": request, "response": response, "serverIPAddress": "[2001:db8::7]",
                "startedDateTime": "2026-12-06T14:46:40.120Z", "time": 31.2,
                "timings": {"blocked": 1.1, "dns": -1, "ssl": -1, "connect": -1, "send": 0.1, "wait": 28.9,
                            "receive": 1.1, "_blocked_queueing": 0.7}}
        item.update(extra or {})
        return item

    entries = [
        entry(f"https://collect.web-tracker.test/c?gaid={values['advertising_id']}", resource="ping"),
        entry("https://api.web-tracker.test/v2/profile", "POST",
              json.dumps({"device": {"imei": values["imei"]}, "ts": 1765032400})),
        entry(f"https://ads.blocked-network.test/px?aid={values['android_id']}", resource="image", status=0),
        entry("https://rt.web-tracker.test/live", resource="websocket", status=101, version="http/1.1", extra={
            "_webSocketMessages": [
                {"type": "send", "time": 1765032400.2, "opcode": 1,
                 "data": json.dumps({"lat": values["lat"], "lon": values["lon"]})},
                {"type": "receive", "time": 1765032400.3, "opcode": 1, "data": "ok"}]}),
    ]
    return json.dumps({"log": {"version": "1.2", "creator": {"name": "WebInspector", "version": "537.36"},
                               "pages": [{"startedDateTime": "2026-12-06T14:46:40.000Z", "id": "page_1",
                                          "title": "https://shop.example/", "pageTimings": {
                                              "onContentLoad": 310.5, "onLoad": 512.0}}],
                               "entries": entries}}, indent=2).encode()


def make(out: Path, values: dict) -> dict[str, Path]:
    """Write every capture into `out`; returns their paths by name. `values`: advertising_id, android_id, imei,
    lat, lon (the device profile's planted values)."""
    out.mkdir(parents=True, exist_ok=True)
    keylog = out / "phone-trailer.keys"
    keylog.unlink(missing_ok=True)
    client_ctx, server_ctx, ca = contexts(keylog)
    conv1, har1 = http1_conversation(values, client_ctx, server_ctx)
    conv2, har2 = http2_conversation(values, client_ctx, server_ctx)
    conv5 = websocket_conversation(values, client_ctx, server_ctx)
    conv3 = unkeyed_conversation(server_ctx, ca)
    conv4 = clear_conversation(values)
    clock = Clock()
    packets = [p for conv in (conv1, conv2, conv3, conv4, conv5) for p in packets_of(conv, clock)] + quic_packets(clock) + [
        dns_packet(clock)]
    apps = [GAME, MAPS]
    keys = keylog.read_bytes()
    paths = {"pcapng": out / "phone.pcapng", "trailer": out / "phone-trailer.pcap", "keylog": keylog,
             "raw": out / "phone-raw.pcap", "har": out / "pcapdroid.har", "csv": out / "connections.csv",
             "chromium": out / "chromium.har"}
    paths["pcapng"].write_bytes(pcapng_bytes(packets, apps, keys))
    paths["trailer"].write_bytes(pcap_trailer_bytes(packets, apps))
    paths["raw"].write_bytes(pcap_raw_bytes(packets))
    paths["har"].write_bytes(har_bytes(har1 + har2))
    paths["csv"].write_bytes(connections_csv([conv1, conv2, conv3, conv4, conv5], apps))
    paths["chromium"].write_bytes(chromium_har_bytes(values))
    return paths


def values_of(profile_path: Path) -> dict:
    from mouchard.identify.profile import load_profile

    profile = load_profile(profile_path)
    lat, lon = profile.position.lat, profile.position.lon
    return {"advertising_id": profile.value("advertising_id"), "android_id": profile.value("android_id"),
            "imei": profile.value("imei"), "lat": lat, "lon": lon}


if __name__ == "__main__":
    root = Path(__file__).resolve().parents[3]
    sys.path.insert(0, str(root))
    target = Path(sys.argv[1])
    profile_file = Path(sys.argv[2]) if len(sys.argv) > 2 else root / "demoweb" / "data" / "profiles" / "android.yml"
    for name, path in make(target, values_of(profile_file)).items():
        print(f"{name}: {path}")
