"""RFC 3161 timestamp requests for a bundle digest, built by hand in DER (no network, no ASN.1 library).

A request (`timestamp.tsq`) asks a Time Stamping Authority to sign "this SHA-256 existed at this time". Send it
with any RFC 3161 client, e.g. `curl -H 'Content-Type: application/timestamp-query' --data-binary @timestamp.tsq
https://freetsa.org/tsr > timestamp.tsr`, then check the reply with `openssl ts -verify -digest DIGEST -in
timestamp.tsr -CAfile tsa.pem`. The request is equivalent to `openssl ts -query -digest DIGEST -sha256 -cert`.

    TimeStampReq ::= SEQUENCE { version INTEGER (1), messageImprint MessageImprint, nonce INTEGER, certReq BOOLEAN }
    MessageImprint ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier (sha256, NULL), hashedMessage OCTET STRING }
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

SHA256_OID = bytes.fromhex("608648016503040201")  # 2.16.840.1.101.3.4.2.1


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def _tlv(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + _length(len(content)) + content


def _integer(n: int) -> bytes:
    if n < 0:
        raise ValueError("only non-negative integers are used here")
    return _tlv(0x02, n.to_bytes((n.bit_length() + 8) // 8, "big"))  # a leading 0 byte keeps it positive


def timestamp_request(digest_hex: str, nonce: int | None = None) -> bytes:
    """DER TimeStampReq for a SHA-256 digest (hex), asking for the TSA certificate in the reply."""
    digest = bytes.fromhex(digest_hex)
    if len(digest) != 32:
        raise ValueError("a SHA-256 digest is 32 bytes")
    nonce = secrets.randbits(64) if nonce is None else nonce
    algorithm = _tlv(0x30, _tlv(0x06, SHA256_OID) + b"\x05\x00")
    imprint = _tlv(0x30, algorithm + _tlv(0x04, digest))
    return _tlv(0x30, _integer(1) + imprint + _integer(nonce) + b"\x01\x01\xff")


@dataclass(frozen=True)
class TimestampRequest:
    digest: str
    nonce: int
    cert_req: bool


class _Reader:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def read(self, tag: int) -> bytes:
        if self.pos + 2 > len(self.data) or self.data[self.pos] != tag:
            raise ValueError(f"expected DER tag 0x{tag:02x} at byte {self.pos}")
        size, self.pos = self.data[self.pos + 1], self.pos + 2
        if size & 0x80:
            count = size & 0x7F
            size = int.from_bytes(self.data[self.pos:self.pos + count], "big")
            self.pos += count
        content = self.data[self.pos:self.pos + size]
        if len(content) != size:
            raise ValueError("truncated DER")
        self.pos += size
        return content

    def done(self) -> bool:
        return self.pos == len(self.data)


def parse_timestamp_request(der: bytes) -> TimestampRequest:
    """Read back a request made by `timestamp_request` (raises ValueError on anything else)."""
    outer = _Reader(der)
    request = _Reader(outer.read(0x30))
    if not outer.done():
        raise ValueError("bytes after the request")
    if int.from_bytes(request.read(0x02), "big") != 1:
        raise ValueError("not a version 1 request")
    imprint = _Reader(request.read(0x30))
    algorithm = _Reader(imprint.read(0x30))
    if algorithm.read(0x06) != SHA256_OID:
        raise ValueError("not a SHA-256 imprint")
    digest = imprint.read(0x04).hex()
    nonce = int.from_bytes(request.read(0x02), "big")
    cert_req = not request.done() and request.read(0x01) == b"\xff"
    if not request.done():
        raise ValueError("unexpected fields in the request")
    return TimestampRequest(digest, nonce, cert_req)
