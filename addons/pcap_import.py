"""Phone packet captures (PCAPdroid pcap / pcapng, tcpdump) turned into mitmproxy flows for `mouchard import`.

tshark (Debian's `tshark`) decrypts TLS with the key log embedded in the pcapng (a Decryption Secrets Block, as
PCAPdroid writes it with its mitm add-on) or given with `--keylog` (SSLKEYLOGFILE format), and reassembles each
TCP connection into the bytes each side sent; `addons.pcap_http` rebuilds the HTTP/1.1 and HTTP/2 exchanges and
`addons.pcap_walk` says which app owns each connection (PCAPdroid's trailer or pcapng uid blocks). Every exchange
becomes a mitmproxy flow carrying its app in `flow.metadata`, written to a temporary .mitm that `mouchard import`
then replays through the same addons as a live capture. Nothing is silent:

- a TLS connection without its keys is a `tcp` flow with error `not decrypted: no TLS key`;
- decrypted or clear bytes that are not HTTP are a `tcp` flow carrying them (searched for leaks like raw TCP);
- a WebSocket (HTTP/1.1 upgrade) is a `websocket` flow with its messages, permessage-deflate inflated;
- a request without a response is an `http` flow with an error; UDP/443 is a `quic` row `QUIC not decrypted`
  (written on replay by addons/pcap_replay.py).

tshark runs with the file path as an argument (never through a shell), a private configuration folder, limits on
its CPU time, memory and output size, and a wall-clock timeout: a hostile capture ends in a one-line UserError.
"""

from __future__ import annotations

import logging
import os
import re
import resource
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from addons.pcap_http import Exchange, looks_like_client, parse
from addons.pcap_walk import AppTag, CaptureError, CaptureScan, scan_file
from mouchard.budget import Budget
from mouchard.errors import UserError

log = logging.getLogger("mouchard")

TSHARK_TIMEOUT = 600  # seconds of wall clock one tshark pass may take
TSHARK_CPU = 600  # seconds of CPU
TSHARK_MEMORY = 4 << 30  # bytes of address space
TSHARK_OUTPUT = 16 << 20  # bytes of output one pass may write, plus OUTPUT_PER_BYTE per byte of the capture
OUTPUT_PER_BYTE = 8  # the reassembled streams in hex are about twice the capture; a packet line about three times
MAX_CONNECTIONS = 5000  # TCP connections followed; the rest become rows saying so
FOLLOW_BATCH = 400  # connections followed per tshark pass (each follow filters every packet)
QUIC_ERROR = "QUIC not decrypted"
NO_KEY = "not decrypted: no TLS key"
APP_SOURCE = "pcapdroid"
_FIELDS = ("tcp.stream", "udp.stream", "ip.src", "ipv6.src", "ip.dst", "ipv6.dst", "tcp.srcport", "tcp.dstport",
           "udp.srcport", "udp.dstport", "frame.time_epoch", "tcp.flags.syn", "tcp.flags.ack", "tcp.len",
           "tls.handshake.extensions_server_name", "tls.record.content_type")
_HEX = re.compile(r"\t?[0-9a-f]*")


@dataclass
class Connection:
    """One TCP or UDP conversation as tshark numbered it."""

    proto: str
    stream: int
    client: tuple[str, int]
    server: tuple[str, int]
    started: float
    ended: float
    sni: str | None = None
    tls: bool = False
    payload: int = 0  # TCP payload bytes, both directions
    app: AppTag | None = None


@dataclass
class PcapImport:
    """What the conversion found: recorded in crawls.config and printed."""

    format: str
    packets: int
    connections: int = 0
    decrypted: int = 0
    not_decrypted: int = 0
    clear: int = 0
    quic: int = 0
    flows: int = 0
    apps: dict[str, int] = field(default_factory=dict)
    keylog: str = "none"  # embedded, file, none
    problems: list[str] = field(default_factory=list)

    def as_config(self) -> dict:
        return {k: v for k, v in self.__dict__.items()}


def tshark_path() -> str:
    """tshark's path, or a one-line UserError saying how to install it."""
    found = shutil.which("tshark")
    if not found:
        raise UserError("importing a pcap/pcapng needs tshark: apt-get install tshark (scripts/setup.sh does)")
    return found


def _preexec(output: int):
    from mouchard.lifecycle import child_options

    on_parent_death = child_options().get("preexec_fn")

    def apply() -> None:  # runs in the child, before exec
        resource.setrlimit(resource.RLIMIT_CPU, (TSHARK_CPU, TSHARK_CPU))
        resource.setrlimit(resource.RLIMIT_AS, (TSHARK_MEMORY, TSHARK_MEMORY))
        resource.setrlimit(resource.RLIMIT_FSIZE, (output, output))
        if on_parent_death is not None:
            on_parent_death()
    return apply


def tshark_user() -> tuple[int, int] | None:
    """(uid, gid) tshark runs as when mouchard runs as root: the unprivileged user the browser runs as (created
    by scripts/setup.sh), else `nobody`; None when not root. Wireshark's dissectors are a large attack surface."""
    import pwd

    from mouchard.browser import BROWSER_USER, FALLBACK_USER, running_as_root

    if not running_as_root():
        return None
    for name in (BROWSER_USER, FALLBACK_USER):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        if entry.pw_uid != 0:
            return entry.pw_uid, entry.pw_gid
    raise UserError(f"running as root, mouchard runs tshark as user {BROWSER_USER}: create it with "
                    "scripts/setup.sh (as root)")


def private_folder(work: Path) -> None:
    """Give the folder tshark works in (its configuration, the key log copy) to the user it runs as."""
    user = tshark_user()
    if user is not None:
        for item in (work, *work.rglob("*")):
            os.chown(item, *user)


def run_tshark(args: list[str], capture: Path, work: Path, what: str) -> str:
    """Run tshark on `capture` with `args` (a list, no shell): the capture comes on its standard input (`-r -`),
    so the unprivileged user tshark runs as needs no access to it; limits above; its output as text, or a
    UserError."""
    limit = TSHARK_OUTPUT + OUTPUT_PER_BYTE * capture.stat().st_size
    conf = work / "wireshark"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(work), "LC_ALL": "C.UTF-8",
           "WIRESHARK_CONFIG_DIR": str(conf), "XDG_CONFIG_HOME": str(conf)}
    user = tshark_user()
    out_path = work.parent / f"{work.name}.out"  # written by us (an open file handed over), read back by us
    with out_path.open("wb") as out, capture.open("rb") as source:
        try:
            done = subprocess.run([tshark_path(), "-n", "-r", "-", *args], stdout=out, stderr=subprocess.PIPE,
                                  stdin=source, env=env, cwd=work, timeout=TSHARK_TIMEOUT,
                                  preexec_fn=_preexec(limit), check=False,
                                  **({"user": user[0], "group": user[1], "extra_groups": []} if user else {}))
        except subprocess.TimeoutExpired:
            raise UserError(f"tshark took more than {TSHARK_TIMEOUT} s to {what}: split the capture "
                            "(editcap -c) and import the parts") from None
    errors = [line for line in done.stderr.decode("utf-8", "replace").splitlines()
              if line.strip() and "Running as user" not in line]
    if done.returncode < 0:
        raise UserError(f"tshark stopped by signal {-done.returncode} while trying to {what} (a CPU, memory or "
                        "output limit: split the capture with editcap -c)")
    if done.returncode != 0:
        detail = errors[-1][:200] if errors else f"status {done.returncode}"
        raise UserError(f"tshark could not {what}: {detail}; nothing imported")
    if out_path.stat().st_size >= limit:
        raise UserError(f"tshark output past {limit} bytes while trying to {what}: split the capture")
    return out_path.read_text("utf-8", "replace")


def connections(path: Path, options: list[str], work: Path) -> tuple[list[Connection], list[Connection], int]:
    """(TCP connections, UDP/443 conversations, other UDP conversations) of a capture, from one tshark pass over
    its packets."""
    args = [*options, "-T", "fields", "-E", "separator=/t", "-E", "occurrence=f"]
    for name in _FIELDS:
        args += ["-e", name]
    tcp: dict[int, Connection] = {}
    udp: dict[int, Connection] = {}
    other_udp: set[int] = set()
    for line in run_tshark(args, path, work, "read the packets").split("\n"):
        f = line.split("\t")
        if len(f) != len(_FIELDS):
            continue
        (tstream, ustream, src4, src6, dst4, dst6, tsport, tdport, usport, udport, when, syn, ack, tlen, sni,
         ctype) = f
        src, dst = src4 or src6, dst4 or dst6
        try:
            ts = float(when)
            if tstream and tsport and tdport:
                conn = tcp.get(int(tstream))
                if conn is None:
                    ends = ((src, int(tsport)), (dst, int(tdport)))
                    if syn == "1" and ack == "1":  # the server's SYN-ACK came first: the capture started mid-way
                        ends = ends[::-1]
                    conn = tcp[int(tstream)] = Connection("tcp", int(tstream), ends[0], ends[1], ts, ts)
                conn.ended = max(conn.ended, ts)
                conn.payload += int(tlen or 0)
                conn.tls = conn.tls or bool(ctype)
                if sni and not conn.sni and len(sni) <= 253 and sni.isprintable():
                    conn.sni = sni
            elif ustream and usport and udport and 443 in (int(usport), int(udport)):
                conn = udp.get(int(ustream))
                if conn is None:
                    ends = ((src, int(usport)), (dst, int(udport)))
                    if ends[0][1] == 443 and ends[1][1] != 443:
                        ends = ends[::-1]
                    conn = udp[int(ustream)] = Connection("udp", int(ustream), ends[0], ends[1], ts, ts)
                conn.ended = max(conn.ended, ts)
            elif ustream:
                other_udp.add(int(ustream))
        except ValueError:
            continue
    return [tcp[k] for k in sorted(tcp)], [udp[k] for k in sorted(udp)], len(other_udp)


def follow(path: Path, options: list[str], conns: list[Connection], work: Path) -> dict[int, tuple[bytes, bytes]]:
    """(what the client sent, what the server sent) of each connection: decrypted for TLS, as is otherwise."""
    out: dict[int, tuple[bytes, bytes]] = {}
    for start in range(0, len(conns), FOLLOW_BATCH):
        batch = conns[start:start + FOLLOW_BATCH]
        args = [*options, "-q"]
        for conn in batch:
            args += ["-z", f"follow,{'tls' if conn.tls else 'tcp'},raw,{conn.stream}"]
        text = run_tshark(args, path, work, "reassemble the connections")
        by_stream = {c.stream: c for c in batch}
        for stream, node0, first, second in parse_follow(text):
            conn = by_stream.get(stream)
            if conn is not None:
                out[stream] = _orient(conn, node0, first, second)
    return out


def parse_follow(text: str) -> list[tuple[int, str, bytes, bytes]]:
    """(stream, node 0 address, bytes of node 0, bytes of node 1) of each block of `tshark -z follow,...,raw`."""
    blocks = []
    stream, node0, parts = None, "", ([], [])
    for line in text.splitlines():
        if line.startswith("====="):
            if stream is not None:
                blocks.append((stream, node0, b"".join(parts[0]), b"".join(parts[1])))
            stream, node0, parts = None, "", ([], [])
        elif line.startswith("Filter: tcp.stream eq "):
            tail = line.rsplit(" ", 1)[-1]
            stream = int(tail) if tail.isdigit() else None
        elif line.startswith("Node 0: "):
            node0 = line[8:].strip()
        elif stream is not None and line and _HEX.fullmatch(line):
            data = line.lstrip("\t")
            if len(data) % 2 == 0:
                parts[1 if line.startswith("\t") else 0].append(bytes.fromhex(data))
    return blocks


def _orient(conn: Connection, node0: str, first: bytes, second: bytes) -> tuple[bytes, bytes]:
    """(client bytes, server bytes): by node 0's address when tshark gives it, else by which side talks HTTP."""
    host, _, port = node0.rpartition(":")
    host = host.strip("[]")
    if port.isdigit() and (host, int(port)) == conn.client:
        return first, second
    if port.isdigit() and (host, int(port)) == conn.server:
        return second, first
    if looks_like_client(second) and not looks_like_client(first):
        return second, first
    return first, second


def convert(path: Path, out: Path, keylog: Path | None = None) -> PcapImport:
    """Write the flows of the capture at `path` to the .mitm file `out` (see the module docstring).

    Raises UserError (one line) for an unreadable capture or a tshark failure, and only that."""
    from mitmproxy.io import FlowWriter

    try:
        scan = scan_file(path)
    except CaptureError as exc:
        raise UserError(f"{path}: {exc}; nothing imported") from None
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None
    summary = PcapImport(scan.format, scan.packets, problems=list(scan.problems))
    with tempfile.TemporaryDirectory(prefix="mouchard-pcap-") as tmp:
        os.chmod(tmp, 0o711)  # tshark's user may pass through to its own folder, not list ours
        work = Path(tmp) / "tshark"
        work.mkdir(mode=0o700)
        (work / "wireshark").mkdir(mode=0o700)
        options = _keylog_options(scan, keylog, work, summary)
        private_folder(work)
        tcp, quic, other_udp = connections(path, options, work)
        if other_udp:
            summary.problems.append(f"{other_udp} UDP conversation(s) other than QUIC (DNS...) not imported")
        followed = [c for c in tcp if c.payload > 0][:MAX_CONNECTIONS]
        skipped = {c.stream for c in tcp if c.payload > 0} - {c.stream for c in followed}
        streams = follow(path, options, followed, work)
        with out.open("wb") as handle:
            writer = FlowWriter(handle)
            for conn in [*tcp, *quic]:
                conn.app = scan.app_of(conn.proto, conn.client, conn.server)
                if conn.app is not None:
                    summary.apps[conn.app.label] = summary.apps.get(conn.app.label, 0) + 1
            for conn in tcp:
                if conn.payload == 0:
                    continue  # a handshake without data: nothing was said
                summary.connections += 1
                if conn.stream in skipped:
                    flows = [_tcp_flow(conn, b"", f"not read: more than {MAX_CONNECTIONS} connections in the capture")]
                else:
                    flows = _flows_of(conn, *streams.get(conn.stream, (b"", b"")), summary)
                for flow in flows:
                    writer.add(flow)
                    summary.flows += 1
            for conn in quic:
                summary.quic += 1
                writer.add(_quic_flow(conn))
                summary.flows += 1
    return summary


def _keylog_options(scan: CaptureScan, keylog: Path | None, work: Path, summary: PcapImport) -> list[str]:
    """tshark options for the TLS keys: the `--keylog` file (copied, so its name never reaches tshark's option
    parser) and the embedded secrets, which tshark reads from the pcapng itself."""
    if scan.keylog:
        summary.keylog = "embedded"
    if keylog is None:
        return []
    try:
        data = keylog.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read the key log {keylog}: {exc.strerror or exc}") from None
    if data and not re.match(rb"\s*(#|[A-Z_]+ [0-9a-fA-F]+ [0-9a-fA-F]+)", data):
        raise UserError(f"{keylog} is not a TLS key log (SSLKEYLOGFILE lines: LABEL CLIENT_RANDOM SECRET)")
    copy = work / "keys.log"
    copy.write_bytes(data)
    summary.keylog = "embedded+file" if scan.keylog else "file"
    return ["-o", f"tls.keylog_file:{copy}"]


def _flows_of(conn: Connection, client: bytes, server: bytes, summary: PcapImport) -> list:
    if conn.tls and not client and not server:
        summary.not_decrypted += 1
        return [_tcp_flow(conn, b"", NO_KEY)]
    if conn.tls:
        summary.decrypted += 1
    else:
        summary.clear += 1
    if not looks_like_client(client):
        return [_tcp_flow(conn, client, None, server)]
    budget = Budget.for_input(len(client) + len(server))
    exchanges, problem = parse(client, server, budget)
    if problem:
        summary.problems.append(f"connection {conn.stream} to {conn.sni or conn.server[0]}: {problem}")
    if not exchanges:
        return [_tcp_flow(conn, client, f"not read as HTTP: {problem}", server)]
    return [_http_flow(conn, exchange) for exchange in exchanges]


def _connections(conn: Connection):
    from mitmproxy import connection

    client = connection.Client(peername=conn.client, sockname=conn.server, timestamp_start=conn.started,
                               timestamp_end=conn.ended, transport_protocol=conn.proto, tls=conn.tls, sni=conn.sni)
    server = connection.Server(address=(conn.sni or conn.server[0], conn.server[1]), peername=conn.server,
                               timestamp_start=conn.started, timestamp_end=conn.ended,
                               transport_protocol=conn.proto, tls=conn.tls, sni=conn.sni)
    return client, server


def _tag(flow, conn: Connection):
    if conn.app is not None:
        flow.metadata["mouchard_app"] = conn.app.label
        flow.metadata["mouchard_app_source"] = APP_SOURCE
    return flow


def _tcp_flow(conn: Connection, sent: bytes, error: str | None, received: bytes = b""):
    from mitmproxy import flow as mflow
    from mitmproxy import tcp

    f = tcp.TCPFlow(*_connections(conn))
    if sent:
        f.messages.append(tcp.TCPMessage(True, sent, conn.started))
    if received:
        f.messages.append(tcp.TCPMessage(False, received, conn.ended))
    if error:
        f.error = mflow.Error(error, conn.ended)
    return _tag(f, conn)


def _quic_flow(conn: Connection):
    from mitmproxy import flow as mflow
    from mitmproxy import udp

    f = udp.UDPFlow(*_connections(conn))
    f.error = mflow.Error(QUIC_ERROR, conn.ended)
    f.metadata["mouchard_quic"] = True
    return _tag(f, conn)


def _http_flow(conn: Connection, ex: Exchange):
    from mitmproxy import flow as mflow
    from mitmproxy import http
    from mitmproxy.net.http.url import parse_authority

    scheme = (ex.scheme or ("https" if conn.tls else "http")).lower()
    if scheme not in ("http", "https"):
        scheme = "https" if conn.tls else "http"
    target = ex.target
    authority = ex.authority or conn.sni or conn.server[0]
    if target.startswith(("http://", "https://")):  # absolute form (a request to a proxy)
        scheme, _, rest = target.partition("://")
        authority, slash, tail = rest.partition("/")
        target = slash + tail
    host, port = parse_authority(authority, check=False)
    request = http.Request(host or conn.server[0], port or conn.server[1], ex.method.encode(), scheme.encode(),
                           ex.authority.encode("utf-8", "surrogateescape") if ex.http_version == "HTTP/2.0"
                           and ex.authority else b"", (target or "/").encode("utf-8", "surrogateescape"),
                           ex.http_version.encode(), tuple(ex.request_headers), ex.request_body, None,
                           conn.started, conn.ended)
    f = http.HTTPFlow(*_connections(conn))
    f.request = request
    if ex.status is not None:
        f.response = http.Response(ex.http_version.encode(), ex.status, ex.reason.encode("utf-8", "replace"),
                                   tuple(ex.response_headers), ex.response_body, None, conn.started, conn.ended)
    else:
        f.error = mflow.Error("no response in the capture", conn.ended)
    if ex.websocket is not None and f.response is not None:
        from mitmproxy.websocket import WebSocketData, WebSocketMessage

        f.websocket = WebSocketData()
        f.websocket.messages = [WebSocketMessage(opcode, from_client, content, conn.ended)
                                for from_client, opcode, content in ex.websocket]
    return _tag(f, conn)
