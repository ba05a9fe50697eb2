"""DetectQuic: every QUIC (UDP/443, HTTP/3) attempt the proxy receives → blocked or recorded, never silent.

    mitmdump -s addons/quic.py --mode wireguard                       # alone: logs each attempt
    mitmdump -s addons/mouchard_addons.py --set mouchard_block_quic=false ...

Apps increasingly speak HTTP/3 over QUIC (UDP). An HTTP proxy (`--mode regular`) never receives UDP: an app that
sends QUIC directly bypasses it unseen, which no addon can detect (`mouchard proxy` records a warning). In the
modes that receive UDP (wireguard, local, tun, reverse:udp; transparent is TCP only in mitmproxy 12) this addon
decides each UDP connection to port 443, or whose first datagram is a QUIC Initial packet (mitmproxy's own
ClientHello parser, on one datagram of at most 64 KiB), on mitmproxy's `next_layer` event:

- `mouchard_block_quic` (default): its datagrams are dropped, unanswered. QUIC clients then fall back to TCP
  (HTTP/2 or HTTP/1.1), where every request is recorded and searched for leaks; mitmproxy's HTTP/3 support is
  limited (QUIC v1 only, some client implementations not interoperable, see docs.mitmproxy.org "Protocols"),
  so blocking is what makes a capture complete. Each attempt is a `flows` row of kind `quic` saying so.
- otherwise: mitmproxy intercepts the QUIC it can read (HTTP/3 requests become ordinary `http` flows with
  http_version HTTP/3, leaks found as for any flow; a client refusing the certificate is a `tls-failure` row);
  a QUIC connection it passes through unread (an unsupported version, an explicit `reverse:udp`) is a `flows`
  row of kind `quic` with analysis `no-payload`: its traffic is missing from the capture, and the row says so.

Explicit HTTP/3 reverse modes (`reverse:http3://`, `reverse:quic://`, `reverse:https://` over UDP) are always
intercepted, never blocked: there QUIC is what was asked for. The run's summary counts attempts, blocked and
unread connections and HTTP/3 flows (`mouchard/quic/...`). Not seen: UDP/443 of hosts in mitmproxy's
`ignore_hosts` (relayed without any event), and, without blocking, a QUIC ClientHello spread over several
datagrams to a port other than 443.
"""

from __future__ import annotations

import logging
from collections import Counter

from addons.pipeline import FlowRecord, StageAddon, packaged
from addons.snapshots import FlowSnapshot, iso

log = logging.getLogger("mouchard")

QUIC_PORT = 443
BLOCKED = "QUIC blocked: UDP/443 dropped so the app falls back to TCP (its requests are recorded there)"
UNREAD = "QUIC passed through unread: mitmproxy could not intercept it, so this connection's traffic is missing"


def client_hello_sni(datagram: bytes) -> tuple[bool, str | None]:
    """(is a QUIC Initial, the server name it asks for) of a client's first datagram, using mitmproxy's parser.

    A ClientHello spread over several datagrams (large key shares) is still a QUIC Initial, without its name
    here. Never raises for what the datagram holds."""
    from mitmproxy.proxy.layers.quic import quic_parse_client_hello_from_datagrams

    if len(datagram) < 18 or not datagram[0] & 0x80:  # not a long-header packet
        return False, None
    try:
        hello = quic_parse_client_hello_from_datagrams([datagram])
    except Exception:  # noqa: BLE001 - ValueError for what it expects; it is hostile input: anything means "not QUIC"
        return False, None
    if hello is None:
        return True, None
    sni = hello.sni
    return True, (sni if isinstance(sni, str) and sni.isprintable() and len(sni) <= 253 else None)


def _explicit_quic(context) -> bool:
    """True in a reverse mode whose target is QUIC: mitmproxy intercepts it by design."""
    mode = context.client.proxy_mode
    return type(mode).__name__ == "ReverseMode" and (
        mode.scheme in ("http3", "quic") or (mode.scheme == "https" and context.client.transport_protocol == "udp"))


def _dropping_layer(context):
    """A layer that swallows every event of a blocked connection: nothing forwarded, nothing answered."""
    from mitmproxy.proxy import layer

    class DropQuic(layer.Layer):
        def _handle_event(self, event):
            yield from ()

    return DropQuic(context)


class QuicStage:
    """Stage: `quic` rows carry no payload (analysis no-payload); counts attempts and HTTP/3 flows. A `quic` row
    of an imported packet capture (QUIC not decrypted) counts as unread."""

    order = 110  # last, after redaction: it only labels quic rows and counts

    def __init__(self, policy: str = "block") -> None:
        self.policy = policy  # block, record, or replay (a saved capture: nothing was decided live)
        self.counts: Counter = Counter()

    def process(self, snap: FlowSnapshot, record: FlowRecord) -> None:
        if snap.kind == "quic":
            record.flow["analysis"] = "no-payload"
            self.counts["attempts"] += 1
            self.counts["blocked" if (snap.error or "").startswith("QUIC blocked") else "unread"] += 1
        elif snap.http_version == "HTTP/3":
            self.counts["http3_flows"] += 1

    def summary(self) -> dict:
        found = {f"mouchard/quic/{k}": self.counts[k] for k in ("attempts", "blocked", "unread", "http3_flows")}
        found["mouchard/quic/policy"] = self.policy
        return found

    def describe(self, record: FlowRecord):
        if record.flow.get("kind") == "quic":
            yield f"QUIC from {record.flow.get('client')} to {record.flow.get('host')}: {record.flow.get('error')}"


class DetectQuic(StageAddon):
    """Blocks or records QUIC attempts (see the module docstring)."""

    def __init__(self) -> None:
        self.decided: set[str] = set()  # client connections already decided (next_layer runs once per layer)
        self.pending: dict[str, FlowSnapshot] = {}  # QUIC connections left to mitmproxy, until it relays them raw

    def load(self, loader) -> None:
        loader.add_option("mouchard_block_quic", bool, True,
                          "Drop QUIC (UDP/443) so apps fall back to TCP, where everything is recorded; each "
                          "attempt is a flows row of kind quic. false: intercept HTTP/3 where mitmproxy can "
                          "and record the QUIC it passes through unread.")

    def mouchard_stages(self) -> list:
        from mitmproxy import ctx

        if not ctx.options.server:  # `mouchard import` replays a file: no connection is decided here
            return [QuicStage("replay")]
        return [QuicStage("block" if ctx.options.mouchard_block_quic else "record")]

    def next_layer(self, nextlayer) -> None:
        from mitmproxy import ctx

        context = nextlayer.context
        client = context.client
        if client.transport_protocol != "udp" or client.id in self.decided or _explicit_quic(context):
            return
        server = context.server.address
        data = nextlayer.data_client()
        is_quic, sni = client_hello_sni(data)
        if not is_quic and not (server and server[1] == QUIC_PORT):
            return
        self.decided.add(client.id)
        snapshot = FlowSnapshot(
            key=f"quic-{client.id}", kind="quic", started_at=iso(client.timestamp_start),
            client=client.peername[0] if client.peername else None,
            host=sni or client.sni or (server[0] if server else None), port=server[1] if server else None)
        if ctx.options.mouchard_block_quic:
            # Script addons run before mitmproxy's own NextLayer, which keeps a layer already chosen.
            nextlayer.layer = _dropping_layer(context)
            snapshot.error = BLOCKED
            self._record(snapshot)
        else:  # mitmproxy chooses next: QUIC it intercepts gives http flows; raw UDP pass-through starts a UDP flow
            self.pending[client.id] = snapshot

    def udp_start(self, flow) -> None:
        """A QUIC connection mitmproxy relays as raw UDP: nothing in it can be read."""
        snapshot = self.pending.pop(flow.client_conn.id, None)
        if snapshot is not None:
            snapshot.error = UNREAD
            self._record(snapshot)

    def client_disconnected(self, client) -> None:
        self.decided.discard(client.id)
        self.pending.pop(client.id, None)

    def _record(self, snapshot: FlowSnapshot) -> None:
        from mitmproxy import ctx

        recorder = ctx.master.addons.get("recordflows")
        worker = recorder.worker if recorder is not None else self.worker
        if worker is not None:
            worker.submit(snapshot)
        else:
            log.warning("mouchard: %s %s: %s (not recorded: no recorder running)", snapshot.client, snapshot.host,
                        snapshot.error)


addons = [packaged("addons.quic", "DetectQuic")]
