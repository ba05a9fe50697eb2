"""Undoing Content-Encoding (gzip, deflate, br, zstd), bounded against compression bombs: one place for all.

Two ways to fail, for two kinds of caller:
- `decode_body` is strict: a broken stream or a body inflating past `limit` raises `BodyError` (parsers of a
  body's meaning, such as OpenRTB, and mouchard's own downloads).
- `decompress` is tolerant: it keeps what could be read and says which steps succeeded (the leak detector,
  which must search traffic as it was, never crash on it).
Gzip and zstd bodies are also recognised by their magic bytes when no header declares them.
"""

from __future__ import annotations

import io
import zlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mouchard.budget import Budget

MAX_INFLATED = 20 * 1024 * 1024  # default cap on what a compressed body may inflate to
GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


class BodyError(ValueError):
    """A body that cannot be decoded (bad compression, unknown coding, or larger than the cap once inflated)."""


class _BadCompression(BodyError):
    """Compressed data the decompressor rejects (as opposed to data that inflates too far)."""


def _too_large(limit: int) -> BodyError:
    return BodyError(f"body inflates to more than {limit} bytes")


def _zlib(body: bytes, wbits: int, limit: int, partial: bool) -> bytes:
    try:
        inflater = zlib.decompressobj(wbits)
        data = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise _BadCompression(f"bad compressed body: {exc}") from None
    if not data and not inflater.eof:
        raise _BadCompression("bad compressed body: no data")
    if len(data) > limit:
        if not partial:
            raise _too_large(limit)
        data = data[:limit]
    return data


def _brotli(body: bytes, limit: int, partial: bool) -> bytes:
    import brotli

    try:
        decompressor = brotli.Decompressor()
        data = decompressor.process(body, output_buffer_limit=limit + 1)
    except brotli.error as exc:
        raise BodyError(f"bad brotli body: {exc}") from None
    if len(data) > limit or not decompressor.can_accept_more_data():
        if not partial:
            raise _too_large(limit)
        data = data[:limit]
    return data


def _zstd(body: bytes, limit: int, partial: bool) -> bytes:
    import zstandard

    try:
        with zstandard.ZstdDecompressor().stream_reader(io.BytesIO(body)) as reader:
            data = reader.read(limit + 1)
    except zstandard.ZstdError as exc:
        raise BodyError(f"bad zstd body: {exc}") from None
    if len(data) > limit:
        if not partial:
            raise _too_large(limit)
        data = data[:limit]
    return data


def decode_one(body: bytes, coding: str, limit: int = MAX_INFLATED, *, partial: bool = False) -> bytes:
    """Undo one content coding; raises BodyError. With `partial`, a body past `limit` is cut, not refused."""
    coding = coding.strip().lower()
    if coding in ("gzip", "x-gzip"):
        return _zlib(body, 16 + zlib.MAX_WBITS, limit, partial)
    if coding == "deflate":
        try:
            return _zlib(body, zlib.MAX_WBITS, limit, partial)
        except _BadCompression:  # servers also send raw deflate without the zlib wrapper
            return _zlib(body, -zlib.MAX_WBITS, limit, partial)
    if coding == "br":
        return _brotli(body, limit, partial)
    if coding == "zstd":
        return _zstd(body, limit, partial)
    if coding in ("identity", "none", ""):
        return body
    raise BodyError(f"unsupported content encoding {coding!r}")


def sniffed_coding(body: bytes) -> str | None:
    if body[:2] == GZIP_MAGIC:
        return "gzip"
    if body[:4] == ZSTD_MAGIC:
        return "zstd"
    return None


def decode_body(body: bytes, content_encoding: str | None = None, limit: int = MAX_INFLATED) -> bytes:
    """Undo Content-Encoding (several codings in the order listed) within `limit` bytes; raises BodyError."""
    codings = [c.strip().lower() for c in (content_encoding or "").split(",") if c.strip()]
    if not codings and (sniffed := sniffed_coding(body)):
        codings = [sniffed]
    for coding in reversed(codings):  # the last coding listed was applied last
        body = decode_one(body, coding, limit)
    return body


def decompress(data: bytes, content_encoding: str | None, limit: int = 64 * 1024 * 1024,
               budget: "Budget | None" = None) -> tuple[bytes, tuple[str, ...]]:
    """Undo Content-Encoding and up to two undeclared gzip/zstd layers; on a broken stream keep what could be
    read. Returns the data and the steps that succeeded.

    With a `budget` (`mouchard.budget`), each layer costs a blob and its output bytes, and a layer inflates no
    further than the bytes left: past that the data is cut and the budget says it ran out.
    """
    steps: list[str] = []
    codings = [c.strip().lower() for c in (content_encoding or "").split(",") if c.strip()]
    for coding in reversed(codings):
        try:
            decoded = _layer(data, coding, limit, budget)
        except BodyError:
            return data, tuple(steps)
        if decoded is None:  # out of budget
            return data, tuple(steps)
        data = decoded
        steps.append(coding)
    for _ in range(2):  # undeclared compression (SDKs gzip a JSON, then base64 it)
        coding = sniffed_coding(data)
        if coding is None:
            break
        try:
            decoded = _layer(data, coding, limit, budget)
        except BodyError:
            break
        if decoded is None:
            break
        data = decoded
        steps.append(coding)
    return data, tuple(steps)


def _layer(data: bytes, coding: str, limit: int, budget: "Budget | None") -> bytes | None:
    """One tolerant layer within `limit` and what is left of `budget`; None when the budget refused it."""
    if budget is None:
        return decode_one(data, coding, limit, partial=True)
    if not budget.spend(blobs=1):
        return None
    room = min(limit, budget.remaining("bytes"))
    decoded = decode_one(data, coding, room, partial=True)
    if len(decoded) >= room and room < limit:  # cut by the budget, not by the bomb limit: say so
        budget.spend(bytes=room + 1)
    else:
        budget.spend(bytes=len(decoded))
    return decoded
