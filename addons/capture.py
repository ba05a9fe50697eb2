"""Captures handed to `mouchard import` (.mitm from mitmproxy, .har, or a pcap / pcapng packet capture such as
PCAPdroid writes): checked in full before anything is recorded.

A capture comes from someone else and is hostile by default. mitmdump's own reader (`-r`) logs a corrupted file
and goes on with the flows before the damage, and a tnetstring nested a few thousand levels deep makes it raise
RecursionError: either way an import would look finished with flows missing. So the whole file is read here first,
with mitmproxy's own reader (the same code mitmdump will run), and any failure is a one-line UserError naming
the flow it happened at. The work is linear in the file's size; nothing in the file becomes a path or a command.
A packet capture is walked block by block (addons/pcap_walk.py) and converted to flows by addons/pcap_import.py.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from mouchard.errors import UserError

BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class Capture:
    """What `mouchard import` records about the file it imports (crawls.config)."""

    sha256: str
    kind: str   # "har", "mitm", "pcap" or "pcapng"
    flows: int  # flows mitmproxy read from it, all of them (packets for a packet capture)


def check_capture(path: Path) -> Capture:
    """Hash a capture and read every flow in it with mitmproxy's reader; a one-line UserError if any is unreadable.

    Raises UserError and only that, whatever the file holds.
    """
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            head = handle.read(4096)
            handle.seek(0)
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None
    stripped = head.removeprefix(BOM).lstrip()
    from addons.pcap_walk import is_capture

    if is_capture(head):
        return Capture(digest.hexdigest(), *_check_packets(path))
    if stripped.startswith(b"{"):
        kind = "har"
        _check_har_shape(path)
    elif head[:1].isdigit():  # mitmproxy dumps are tnetstrings: "<length>:..."
        kind = "mitm"
    else:
        raise UserError(f"{path} is neither a mitmproxy capture (.mitm), a HAR file nor a pcap/pcapng capture")
    return Capture(digest.hexdigest(), kind, _count_flows(path, kind))


def _check_packets(path: Path) -> tuple[str, int]:
    """('pcap' or 'pcapng', packets) of a packet capture the walker reads to its end; else a one-line UserError."""
    from addons.pcap_walk import CaptureError, scan_file

    try:
        scan = scan_file(path)
    except CaptureError as exc:
        raise UserError(f"{path}: {exc}; nothing imported") from None
    return scan.format, scan.packets


def _check_har_shape(path: Path) -> None:
    try:
        data = json.loads(path.read_bytes().removeprefix(BOM))
        entries = data["log"]["entries"]
    except (ValueError, KeyError, TypeError, IndexError, RecursionError):  # RecursionError: JSON nested too deep
        raise UserError(f"{path} is not a HAR file (JSON with log.entries)") from None
    if not isinstance(entries, list):
        raise UserError(f"{path} is not a HAR file (log.entries is not a list)")


def _count_flows(path: Path, kind: str) -> int:
    from mitmproxy.io import FlowReader

    count = 0
    try:
        with path.open("rb") as handle:
            for _ in FlowReader(handle).stream():
                count += 1
    # mitmproxy's reader raises FlowReadException for what it expects, and RecursionError, KeyError, TypeError...
    # for what it does not: every one of them means the same thing here, so all are caught.
    except Exception as exc:  # noqa: BLE001
        cause = exc.__cause__ or exc
        raise UserError(f"{path}: {kind} capture unreadable at flow {count + 1} "
                        f"({type(cause).__name__}: {str(cause)[:120]}); nothing imported") from None
    return count
