"""Packet captures (pcap, pcapng) read block by block: the PCAPdroid app of each connection and the embedded TLS keys.

PCAPdroid (github.com/emanuele-f/PCAPdroid, app/src/main/jni/core/pcap_dump.c) records which app owns a packet in
two ways, both read here without trusting anything in the file:

- pcap with the "PCAPdroid trailer": LINKTYPE_ETHERNET, a bogus all-zero Ethernet header, the IP packet, padding
  to 4 bytes, then 32 bytes: magic 0x01072021, the app's uid (big-endian), its name (20 bytes, NUL-padded), an FCS;
- pcapng (with "PCAPdroid extensions"): a custom block (type 0x00000BAD, PEN 62652, version 1, type 1 = UID
  mapping: uid, package name, app name) the first time a uid appears, and a "u-<uid>" comment on every Enhanced
  Packet Block. TLS keys (PCAPdroid's mitm add-on) come as a Decryption Secrets Block of type TLS_KEYLOG.

The walker only reads; it returns, for every TCP or UDP endpoint pair, the uid of the app that first used it
(tshark reports connections by endpoints, so no frame numbering has to agree between the two readers). Every
length is checked against what is left of the file; the packet count, the key-log size and the number of
endpoint pairs are capped, and a file past a cap is refused with one line.
"""

from __future__ import annotations

import ipaddress
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

PCAPDROID_TRAILER_MAGIC = 0x01072021
PCAPDROID_PEN = 62652
TRAILER_SIZE = 32
MAX_PACKETS = 2_000_000      # packets a capture may hold (tshark's time budget is the other bound)
MAX_KEYLOG = 16 * 1024 * 1024  # bytes of embedded TLS secrets kept
MAX_ENDPOINTS = 200_000      # distinct endpoint pairs remembered
MAX_BLOCK = 1 << 28          # one pcapng block (256 MiB): a larger length is a damaged file
PCAP_MAGICS = {b"\xd4\xc3\xb2\xa1": "<", b"\xa1\xb2\xc3\xd4": ">", b"\x4d\x3c\xb2\xa1": "<", b"\xa1\xb2\x3c\x4d": ">"}
SHB = 0x0A0D0D0A
_COMMENT_UID = re.compile(rb"u-(-?\d{1,10})")

Endpoint = tuple[str, int]
Pair = tuple[str, Endpoint, Endpoint]  # ("tcp"|"udp", lower endpoint, higher endpoint)


class CaptureError(ValueError):
    """The capture cannot be read: one line saying where and why."""


@dataclass(frozen=True)
class AppTag:
    """An app as PCAPdroid names it: Android uid, package name (pcapng only), display name."""

    uid: int
    package: str | None = None
    name: str | None = None

    @property
    def label(self) -> str:
        """What flows.app holds: the package name, else the display name, else the uid."""
        return self.package or self.name or f"uid {self.uid}"


@dataclass
class CaptureScan:
    """What the walker found in a capture."""

    format: str  # "pcap" or "pcapng"
    linktypes: list[int] = field(default_factory=list)
    packets: int = 0
    tagged: int = 0  # packets that named their app (trailer or comment)
    apps: dict[int, AppTag] = field(default_factory=dict)
    pairs: dict[Pair, int] = field(default_factory=dict)  # endpoint pair -> uid of its first tagged packet
    keylog: bytes = b""
    secrets_blocks: int = 0
    problems: list[str] = field(default_factory=list)  # non-fatal: counted, said in the summary

    def app_of(self, proto: str, a: Endpoint, b: Endpoint) -> AppTag | None:
        uid = self.pairs.get(pair_key(proto, a, b))
        if uid is None:
            return None
        return self.apps.get(uid) or AppTag(uid)


def pair_key(proto: str, a: Endpoint, b: Endpoint) -> Pair:
    """The same key for both directions of a connection."""
    a = (_norm_ip(a[0]), int(a[1]))
    b = (_norm_ip(b[0]), int(b[1]))
    return (proto, a, b) if a <= b else (proto, b, a)


def _norm_ip(text: str) -> str:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return text


def is_capture(head: bytes) -> bool:
    """Whether the first bytes of a file are a pcap or pcapng header."""
    return head[:4] in PCAP_MAGICS or head[:4] == struct.pack("<I", SHB)


def scan_file(path: Path) -> CaptureScan:
    """Walk a pcap or pcapng file (see the module docstring); CaptureError when it cannot be read."""
    with path.open("rb") as handle:
        return scan(handle)


def scan(handle: BinaryIO) -> CaptureScan:
    """Walk a pcap or pcapng stream from its start; CaptureError when it cannot be read."""
    head = handle.read(4)
    if head in PCAP_MAGICS:
        return _scan_pcap(handle, PCAP_MAGICS[head])
    if head == struct.pack("<I", SHB):
        return _scan_pcapng(handle)
    raise CaptureError("not a pcap or pcapng file")


def _read(handle: BinaryIO, size: int, what: str) -> bytes:
    data = handle.read(size)
    if len(data) != size:
        raise CaptureError(f"cut short in the {what} ({len(data)} of {size} bytes)")
    return data


def _count(scan_: CaptureScan) -> None:
    scan_.packets += 1
    if scan_.packets > MAX_PACKETS:
        raise CaptureError(f"more than {MAX_PACKETS} packets: split the capture (editcap -c)")


def _scan_pcap(handle: BinaryIO, order: str) -> CaptureScan:
    rest = _read(handle, 20, "pcap header")
    _major, _minor, _zone, _sigfigs, _snaplen, network = struct.unpack(order + "HHiIII", rest)
    linktype = network & 0x0FFFFFFF
    result = CaptureScan("pcap", [linktype])
    while True:
        header = handle.read(16)
        if not header:
            return result
        if len(header) != 16:
            raise CaptureError(f"cut short in a packet header after packet {result.packets}")
        _sec, _frac, incl, _orig = struct.unpack(order + "IIII", header)
        if incl > MAX_BLOCK:
            raise CaptureError(f"packet {result.packets + 1} claims {incl} bytes")
        data = handle.read(incl)
        _count(result)
        if len(data) != incl:
            raise CaptureError(f"cut short in packet {result.packets} ({len(data)} of {incl} bytes)")
        uid = None
        if linktype == 1 and len(data) >= 14 + TRAILER_SIZE:
            uid, name = _trailer(data)
            if uid is not None and uid not in result.apps and name:
                result.apps[uid] = AppTag(uid, None, name)
        _note(result, linktype, data, uid)


def _trailer(frame: bytes) -> tuple[int | None, str | None]:
    trailer = frame[-TRAILER_SIZE:]
    magic, uid = struct.unpack("!Ii", trailer[:8])
    if magic != PCAPDROID_TRAILER_MAGIC:
        return None, None
    name = trailer[8:28].split(b"\0", 1)[0].decode("utf-8", "replace").strip()
    return uid, name or None


def _scan_pcapng(handle: BinaryIO) -> CaptureScan:
    result = CaptureScan("pcapng")
    order = "<"
    first = True
    while True:
        start = handle.read(4) if not first else struct.pack("<I", SHB)
        first = False
        if not start:
            return result
        raw_length = handle.read(4)
        if len(start) != 4 or len(raw_length) != 4:
            raise CaptureError(f"cut short in a block header after packet {result.packets}")
        if start == struct.pack("<I", SHB):
            magic = handle.read(4)
            if magic == b"\x4d\x3c\x2b\x1a":
                order = "<"
            elif magic == b"\x1a\x2b\x3c\x4d":
                order = ">"
            else:
                raise CaptureError("pcapng section header with a bad byte-order magic")
            (length,) = struct.unpack(order + "I", raw_length)
            _check_length(length, 28, result)
            body = magic + _read_block(handle, length - 12 - 4, result)
            result.linktypes = []  # interfaces are numbered per section
        else:
            (kind,) = struct.unpack(order + "I", start)
            (length,) = struct.unpack(order + "I", raw_length)
            _check_length(length, 12, result)
            body = _read_block(handle, length - 12, result)
            _block(result, order, kind, body)
        (tail,) = struct.unpack(order + "I", _read(handle, 4, f"end of block {result.packets}"))
        if tail != length:
            raise CaptureError(f"pcapng block lengths disagree ({length} and {tail}) after packet {result.packets}")


def _check_length(length: int, least: int, result: CaptureScan) -> None:
    if length < least or length % 4 or length > MAX_BLOCK:
        raise CaptureError(f"pcapng block of invalid length {length} after packet {result.packets}")


def _read_block(handle: BinaryIO, size: int, result: CaptureScan) -> bytes:
    return _read(handle, size, f"pcapng block after packet {result.packets}")


def _block(result: CaptureScan, order: str, kind: int, body: bytes) -> None:
    if kind == 1 and len(body) >= 8:  # Interface Description Block
        result.linktypes.append(struct.unpack(order + "H", body[:2])[0])
    elif kind == 6 and len(body) >= 20:  # Enhanced Packet Block
        interface, _hi, _lo, caplen, _orig = struct.unpack(order + "IIIII", body[:20])
        _count(result)
        data = body[20:20 + caplen]
        if len(data) != caplen:
            result.problems.append(f"packet {result.packets} claims {caplen} bytes, its block holds {len(data)}")
            return
        options = body[20 + caplen + (-caplen % 4):]
        uid = _comment_uid(options, order)
        linktype = result.linktypes[interface] if interface < len(result.linktypes) else None
        if linktype is None:
            result.problems.append(f"packet {result.packets} on undeclared interface {interface}")
            return
        _note(result, linktype, data, uid)
    elif kind == 3 and len(body) >= 4:  # Simple Packet Block: interface 0
        _count(result)
        if result.linktypes:
            _note(result, result.linktypes[0], body[4:], None)
    elif kind == 2 and len(body) >= 20:  # obsolete Packet Block
        interface, _drops, _hi, _lo, caplen = struct.unpack(order + "HHIII", body[:16])
        _count(result)
        if interface < len(result.linktypes):
            _note(result, result.linktypes[interface], body[20:20 + caplen], None)
    elif kind == 0x0A and len(body) >= 8:  # Decryption Secrets Block
        secrets_type, size = struct.unpack(order + "II", body[:8])
        result.secrets_blocks += 1
        if secrets_type != 0x544C534B:
            result.problems.append(f"decryption secrets of unsupported type {secrets_type:#x} ignored")
        elif size > len(body) - 8:
            result.problems.append("a TLS key-log block is shorter than it claims: ignored")
        elif len(result.keylog) + size > MAX_KEYLOG:
            result.problems.append(f"TLS key log past {MAX_KEYLOG} bytes: the rest ignored")
        else:
            secrets = body[8:8 + size]
            result.keylog += secrets if secrets.endswith(b"\n") else secrets + b"\n"
    elif kind in (0x00000BAD, 0x40000BAD) and len(body) >= 4:
        _custom(result, order, body)


def _custom(result: CaptureScan, order: str, body: bytes) -> None:
    (pen,) = struct.unpack(order + "I", body[:4])
    if pen != PCAPDROID_PEN or len(body) < 14:
        return
    _version, block_type, _pad, uid, package_len, name_len = struct.unpack(order + "HBBiBB", body[4:14])
    if block_type != 1:
        return
    names = body[14:]
    if package_len + name_len > len(names):
        result.problems.append(f"a PCAPdroid uid block for uid {uid} is shorter than it claims: ignored")
        return
    package = names[:package_len].decode("utf-8", "replace").strip() or None
    name = names[package_len:package_len + name_len].decode("utf-8", "replace").strip() or None
    result.apps[uid] = AppTag(uid, package, name)


def _comment_uid(options: bytes, order: str) -> int | None:
    """The uid in an EPB's "u-<uid>" comment (option 1); None when there is none."""
    pos = 0
    while pos + 4 <= len(options):
        code, size = struct.unpack(order + "HH", options[pos:pos + 4])
        if code == 0:
            return None
        value = options[pos + 4:pos + 4 + size]
        if code == 1:
            m = _COMMENT_UID.fullmatch(value)
            if m and -(1 << 31) <= int(m[1]) < (1 << 31):
                return int(m[1])
        pos += 4 + size + (-size % 4)
    return None


def _note(result: CaptureScan, linktype: int, frame: bytes, uid: int | None) -> None:
    """Remember the uid of the connection this packet belongs to."""
    if uid is None:
        return
    result.tagged += 1
    ends = endpoints(linktype, frame)
    if ends is None:
        return
    key = pair_key(*ends)
    if key not in result.pairs:
        if len(result.pairs) >= MAX_ENDPOINTS:
            if not any(p.startswith("more than") for p in result.problems):
                result.problems.append(f"more than {MAX_ENDPOINTS} connections: apps of the rest not read")
            return
        result.pairs[key] = uid


def endpoints(linktype: int, frame: bytes) -> tuple[str, Endpoint, Endpoint] | None:
    """(protocol, source, destination) of a TCP or UDP packet on a link type PCAPdroid or tcpdump writes."""
    if linktype == 1:  # Ethernet, VLAN tags skipped
        offset, ethertype = 14, struct.unpack("!H", frame[12:14])[0] if len(frame) >= 14 else 0
        while ethertype in (0x8100, 0x88A8) and len(frame) >= offset + 4:
            ethertype = struct.unpack("!H", frame[offset + 2:offset + 4])[0]
            offset += 4
        packet = frame[offset:] if ethertype in (0x0800, 0x86DD) else b""
    elif linktype in (101, 228, 229, 12, 14):  # raw IP
        packet = frame
    elif linktype == 113:  # Linux cooked
        packet = frame[16:]
    elif linktype == 276:  # Linux cooked v2
        packet = frame[20:]
    elif linktype == 0:  # BSD loopback
        packet = frame[4:]
    else:
        return None
    return _ip(packet)


def _ip(packet: bytes) -> tuple[str, Endpoint, Endpoint] | None:
    if len(packet) < 20:
        return None
    version = packet[0] >> 4
    if version == 4:
        ihl = (packet[0] & 0x0F) * 4
        proto, src, dst = packet[9], packet[12:16], packet[16:20]
        if ihl < 20 or struct.unpack("!H", packet[6:8])[0] & 0x1FFF:  # a later fragment has no ports
            return None
        ports = packet[ihl:ihl + 4]
        family = 4
    elif version == 6 and len(packet) >= 40:
        proto, src, dst, ports, family = packet[6], packet[8:24], packet[24:40], packet[40:44], 6
    else:
        return None
    if proto not in (6, 17) or len(ports) < 4:
        return None
    sport, dport = struct.unpack("!HH", ports)
    make = ipaddress.IPv4Address if family == 4 else ipaddress.IPv6Address
    return ("tcp" if proto == 6 else "udp"), (str(make(src)), sport), (str(make(dst)), dport)
