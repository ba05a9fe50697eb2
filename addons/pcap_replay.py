"""RecordCaptureQuic: the QUIC (UDP/443) conversations of an imported packet capture → `flows` rows of kind quic.

    mitmdump -s addons/mouchard_addons.py -s addons/pcap_replay.py -n -r converted.mitm   # what `mouchard import` runs

addons/pcap_import.py writes each UDP/443 conversation of a pcap/pcapng as a UDP flow with the error
`QUIC not decrypted` (tshark cannot decrypt QUIC without its keys, PCAPdroid does not log them); mitmproxy replays
it as `udp_error`, which no other addon records. This addon hands it to the recorder's worker as a `quic` snapshot,
as addons/quic.py does for the QUIC a live proxy sees, with the app the capture names for it; and its stage marks
the TLS connections that could not be decrypted as `no-payload`.
"""

from __future__ import annotations

import logging

from addons.pipeline import packaged

log = logging.getLogger("mouchard")
QUIC_ERROR = "QUIC not decrypted"


def quic_snapshot(flow):
    """The `quic` row of a UDP/443 conversation read from a capture (see RecordCaptureQuic)."""
    from addons.snapshots import FlowSnapshot, app_hint, iso

    client, server = flow.client_conn, flow.server_conn
    snap = FlowSnapshot(key=flow.id, kind="quic", started_at=iso(client.timestamp_start),
                        client=client.peername[0] if client.peername else None,
                        host=server.sni or (server.address[0] if server.address else None),
                        port=server.address[1] if server.address else None,
                        error=flow.error.msg if flow.error else QUIC_ERROR)
    snap.app_hint = app_hint(flow)
    return snap


class CaptureStage:
    """Stage: a connection of an imported capture that could not be decrypted carries no payload (analysis
    `no-payload`, as a QUIC row): no leak can be found in it, and the row says so rather than `complete`."""

    order = 6

    def process(self, snap, record) -> None:
        if snap.kind == "tcp" and (snap.error or "").startswith("not decrypted"):
            record.flow["analysis"] = "no-payload"


class RecordCaptureQuic:
    """Replay side: a UDP/443 conversation of an imported capture (udp_error) becomes a `quic` row through the
    recorder's worker, as addons/quic.py records the QUIC a live proxy sees."""

    def __init__(self) -> None:
        self.recorded = 0

    def mouchard_stages(self) -> list:
        return [CaptureStage()]

    def udp_error(self, flow) -> None:
        from mitmproxy import ctx

        if not flow.metadata.get("mouchard_quic"):
            return
        recorder = ctx.master.addons.get("recordflows")
        if recorder is None or recorder.worker is None:
            log.warning("mouchard: QUIC conversation %s not recorded: no recorder running", flow.id)
            return
        recorder.worker.submit(quic_snapshot(flow))
        self.recorded += 1


addons = [packaged("addons.pcap_replay", "RecordCaptureQuic")]
