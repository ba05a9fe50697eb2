"""Every encoded form of one value that traffic may carry: the needles of the leak detector.

`encoded_forms(value)` yields `(form, chain)` pairs: the text as it would appear on the wire and the decoding
chain that leads back to the value, outermost step first (`base64>sha256>md5`: base64 of the SHA-256 digest of
the MD5 hex digest). Forms are precomputed so one multi-pattern search finds them all, wherever they are:

- as is, URL-encoded once or twice (`%40`, `+` for spaces), JSON-escaped (`\\u00e9`, `\\/`), hex;
- base64, standard and URL-safe, padded or not, in all three alignments: when the value sits at byte offset
  k of a larger blob, only the characters that depend on the value alone are stable; those are the needle;
- md5, sha1, sha224, sha256, sha384, sha512 digests (hex, and base64 of the raw digest), and two layers deep
  (a hex digest hashed again), which is what "hashed e-mail" audiences and hashed device ids do.

Case is handled by the detector (it searches lower-cased text), so forms are returned as computed.

The other direction, for the detector's structural pass: `decompress` (Content-Encoding, and sniffed gzip/zstd,
bounded against bombs), `split_multipart`, and tolerant base64 / JSON decoders that return None, never raise.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import urllib.parse
from collections.abc import Iterator

from mouchard.decode.bodies import decompress  # noqa: F401  (re-exported for the detector)

_UNPRINTABLE = bytes(b for b in range(0x80) if b < 0x20 and b not in (0x09, 0x0A, 0x0D) or b == 0x7F)
_NOT_TEXT = _UNPRINTABLE + bytes(range(0x80, 0x100))
_HEXISH = re.compile(r"[0-9a-fA-F]+|[0-9]+|[a-z]+|[A-Z]+")
HASHES = ("md5", "sha1", "sha224", "sha256", "sha384", "sha512")
MIN_FORM_LENGTH = 6  # shorter forms match by chance in binary bodies
MIN_BASE64_STABLE = 8


def base64_stable_parts(data: bytes) -> Iterator[tuple[str, str]]:
    """(needle, alphabet) for `data` embedded at byte offsets 0, 1, 2 of any base64 blob.

    At offset k the encoder's character i covers bits [6i, 6i+6) of the blob; the characters wholly inside the
    value's bits [8k, 8k+8n) are the same whatever surrounds it.
    """
    n = len(data)
    for k in range(3):
        blob = base64.b64encode(b"\0" * k + data + b"\0\0")
        first = -(-8 * k // 6)
        last = (8 * (k + n)) // 6  # exclusive
        stable = blob[first:last].decode("ascii")
        if len(stable) < MIN_BASE64_STABLE:
            continue
        yield stable, "base64"
        urlsafe = stable.replace("+", "-").replace("/", "_")
        if urlsafe != stable:
            yield urlsafe, "base64url"


def _digest_forms(digest: bytes, name: str) -> Iterator[tuple[str, str]]:
    yield digest.hex(), name
    b64 = base64.b64encode(digest).decode("ascii").rstrip("=")
    yield b64, f"base64>{name}"
    urlsafe = b64.replace("+", "-").replace("/", "_")
    if urlsafe != b64:
        yield urlsafe, f"base64url>{name}"


def hash_forms(value: str, layers: int = 2) -> Iterator[tuple[str, str]]:
    """Digests of `value` (hex and base64), and digests of each hex digest when `layers` is 2."""
    data = value.encode("utf-8")
    for name in HASHES:
        digest = hashlib.new(name, data).digest()
        yield from _digest_forms(digest, name)
        if layers >= 2:
            inner = digest.hex().encode("ascii")
            for outer in HASHES:
                yield hashlib.new(outer, inner).hexdigest(), f"{outer}>{name}"


def encoded_forms(value: str, *, hashes: bool = True, layers: int = 2,
                  min_length: int = MIN_FORM_LENGTH) -> Iterator[tuple[str, str]]:
    """Every wire form of `value` with its decoding chain ('' for the value itself); see the module docstring.
    Forms shorter than `min_length` are left out (a name's parts, guarded by word edges, go down to 3)."""
    seen: set[str] = set()

    def emit(form: str, chain: str) -> Iterator[tuple[str, str]]:
        if len(form) >= min_length and form not in seen:
            seen.add(form)
            yield form, chain

    yield from emit(value, "")
    once = urllib.parse.quote(value, safe="")
    yield from emit(once, "urlencode")
    yield from emit(urllib.parse.quote_plus(value, safe=""), "urlencode")
    yield from emit(urllib.parse.quote(value, safe="@:/"), "urlencode")
    yield from emit(urllib.parse.quote(once, safe=""), "urlencode>urlencode")
    escaped = json.dumps(value)[1:-1]
    yield from emit(escaped, "json-escape")
    yield from emit(escaped.replace("/", "\\/"), "json-escape")
    data = value.encode("utf-8")
    yield from emit(data.hex(), "hex")
    for stable, alphabet in base64_stable_parts(data):
        yield from emit(stable, alphabet)
    if hashes:
        for form, chain in hash_forms(value, layers):
            yield from emit(form, chain)


# -- decoding -------------------------------------------------------------------------------------------


def split_multipart(data: bytes, content_type: str) -> list[tuple[str, dict[str, str], bytes]] | None:
    """(part name, lower-cased part headers, part body) of a multipart body; None if there is no boundary."""
    m = re.search(r'boundary="?([^";]+)"?', content_type, re.I)
    if not m:
        return None
    boundary = b"--" + m[1].strip().encode("latin-1", "replace")
    parts = []
    for chunk in data.split(boundary)[1:]:
        if chunk.startswith(b"--"):
            break
        head, sep, body = chunk.lstrip(b"\r\n").partition(b"\r\n\r\n")
        if not sep:
            head, sep, body = chunk.lstrip(b"\n").partition(b"\n\n")
        headers = {}
        for line in head.decode("latin-1").splitlines():
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        name_m = re.search(r'name="([^"]*)"', headers.get("content-disposition", ""))
        name = name_m[1].encode("latin-1").decode("utf-8", "replace") if name_m else f"part{len(parts)}"
        parts.append((name, headers, body.removesuffix(b"\r\n").removesuffix(b"\n")))
    return parts


NDJSON_HEADER_LIMIT = 4096  # an envelope item header longer than this is read as an ordinary line


def split_ndjson(hay: str, budget) -> list[tuple[int, str]] | None:
    """(line number, text) of each record of newline-delimited JSON (NDJSON, JSON Lines, a Sentry envelope);
    None when the text is not mostly JSON lines (at least two, and no fewer than the other non-empty lines).

    `hay` is one character per byte (`leakdetect.as_hay`). A Sentry envelope item header that gives a `length`
    (`{"type":"attachment","length":22}`) is followed by exactly that many bytes of payload, newlines included:
    the payload is one record, numbered by its first line. Lines that are not JSON are records too (searched as
    text). Each record costs a walk step of `budget` (a `mouchard.budget.Budget`); when it runs out the records
    read so far are returned and the budget says the answer is incomplete.
    """
    if not budget.spend(bytes=len(hay)):
        return None
    records: list[tuple[int, str]] = []
    json_like = other = 0
    pos, line, size = 0, 1, len(hay)
    length: int | None = None  # bytes of payload announced by the previous item header
    while pos < size:
        if not budget.spend(steps=1):
            break
        if length is not None:
            end = min(size, pos + length)
            text = hay[pos:end]
            records.append((line, text))
            line += text.count("\n")
            pos, length = end, None
            if pos < size and hay[pos] == "\n":
                pos += 1
                line += 1
            continue
        newline = hay.find("\n", pos)
        end = size if newline < 0 else newline
        text = hay[pos:end]
        stripped = text.strip()
        if stripped:
            records.append((line, text))
            if stripped[0] in "{[" and stripped[-1] in "}]":
                json_like += 1
                if stripped[0] == "{" and '"length"' in stripped and len(stripped) <= NDJSON_HEADER_LIMIT:
                    header = parse_json(stripped)
                    announced = header.get("length") if isinstance(header, dict) else None
                    if isinstance(announced, int) and not isinstance(announced, bool) and announced >= 0:
                        length = announced
            else:
                other += 1
        pos, line = end + 1, line + 1
    if json_like < 2 or json_like < other:
        return None
    return records


def parse_json(hay: str) -> object | None:
    try:
        return json.loads(hay.encode("latin-1"))
    except (ValueError, RecursionError):
        return None


def b64decode_loose(text: str) -> bytes | None:
    text = text.rstrip("=").replace("-", "+").replace("_", "/")
    if len(text) % 4 == 1:
        text = text[:-1]
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def b64decode_run(text: str) -> bytes | None:
    """Decode a base64 run whose start may include a few characters that are not part of the blob
    (a protobuf length byte, a parameter name): padding says where it starts; otherwise the first offset that
    gives text or a compressed stream wins."""
    offsets = [len(text) % 4] if text.endswith("=") else [0, 1, 2, 3]
    first = None
    for offset in offsets:
        data = b64decode_loose(text[offset:])
        if not data:
            continue
        for magic in (b"\x1f\x8b\x08", b"\x28\xb5\x2f\xfd"):  # a few garbage bytes may precede the stream
            start = data.find(magic, 0, 16)
            if start >= 0:
                return data[start:]
        if printable_share(data[:256]) >= 0.9:
            return data
        first = first or data
    return first


def not_base64(text: str) -> bool:
    """Runs that are words, digits or hex digests rather than base64."""
    return bool(_HEXISH.fullmatch(text.rstrip("=")))


def printable_share(data: bytes) -> float:
    """Share of text-like bytes (non-ASCII bytes count only in valid UTF-8)."""
    if not data:
        return 0.0
    sample = data[:2048]
    try:
        sample.decode("utf-8")
        utf8 = True
    except UnicodeDecodeError as exc:
        utf8 = exc.start >= len(sample) - 3  # only the sample's cut split a character
    return len(sample.translate(None, _UNPRINTABLE if utf8 else _NOT_TEXT)) / len(sample)
