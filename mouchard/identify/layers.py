"""Redact inside encoded layers: decode a layer, replace what the detector finds there, re-encode it as it was.

    edits = LayerEditor(detector, token).edits(hay, budget)     # [(start, end, replacement)] on `hay`
    redacted = apply_edits(hay, edits)

A value may hold a planted value one or more layers down: URL-encoded JSON in a query parameter (Countly's
`events=%5B%7B%22lat%22%3A%2244.841225%22...`), base64 of JSON, a JWT payload, hex of text, %-escapes inside a
JSON string. The raw text is searched first (every needle in every precomputed encoding, every number near the
position). Then each layer found in it is decoded, searched the same way (recursively, up to `max_depth`), and
what was replaced there is written back in the layer's own encoding:

- %-escapes: decoded with a map from each decoded byte to its escape, so a replacement lands on exactly the
  escapes it came from and everything else in the value stays byte for byte as sent (the stored URL still parses,
  and decodes to `"lat":"[LOCATION]"`); a replacement that is not a bare token is %-encoded again;
- base64 / base64url (padding kept as it was) and hex of text; JWT payloads (base64url, signature left as is).

Compressed or binary blobs are not re-encoded: the caller (`mouchard.identify.redact.Redactor._whole`) searches the result
again with the full decoder and replaces a value that still leaks by its tokens. Text is in the detector's
representation (`leakdetect.as_hay`: one character per byte). Every step charges the caller's `Budget`.
"""

from __future__ import annotations

import base64
import binascii
import re
import urllib.parse
from collections.abc import Callable

from mouchard.budget import Budget
from mouchard.decode.encodings import b64decode_loose, not_base64, printable_share
from mouchard.identify.leakdetect import _BASE64_RUNS, _HEX_RUN, _JWT, MAX_BLOBS, MAX_DEPTH, LeakDetector

Edit = tuple[int, int, str]
_PERCENT = re.compile(r"%[0-9A-Fa-f]{2}")
_TOKEN = re.compile(r"(?:\[[A-Z0-9_:]+\])+\Z")  # bare tokens need no %-encoding in a URL


def apply_edits(hay: str, edits: list[Edit]) -> str:
    """`hay` with each (start, end, replacement) applied; `edits` sorted and non-overlapping."""
    pieces, pos = [], 0
    for start, end, new in edits:
        pieces += [hay[pos:start], new]
        pos = end
    pieces.append(hay[pos:])
    return "".join(pieces)


def _merge(edits: list[Edit]) -> list[Edit]:
    """Sorted, non-overlapping edits. An edit inside another is dropped (the wider one, from the same text seen
    through a layer, already replaces it: a base64 run and the same run %-decoded with its padding); two that
    only overlap become one span with both replacements."""
    out: list[Edit] = []
    for start, end, new in sorted(edits, key=lambda e: (e[0], -(e[1] - e[0]))):
        if out and start < out[-1][1]:
            s, e, n = out[-1]
            if end > e:
                out[-1] = (s, end, n if new == n else n + new)
        else:
            out.append((start, end, new))
    return out


def percent_decode_map(hay: str) -> tuple[str, list[int], list[int]]:
    """(decoded, starts, ends): decoded byte i came from hay[starts[i]:ends[i]] (an escape or one character)."""
    decoded, starts, ends = [], [], []
    pos = 0
    for m in _PERCENT.finditer(hay):
        for i in range(pos, m.start()):
            decoded.append(hay[i])
            starts.append(i)
            ends.append(i + 1)
        decoded.append(chr(int(m[0][1:], 16)))
        starts.append(m.start())
        ends.append(m.end())
        pos = m.end()
    for i in range(pos, len(hay)):
        decoded.append(hay[i])
        starts.append(i)
        ends.append(i + 1)
    return "".join(decoded), starts, ends


class LayerEditor:
    """Computes the edits that redact `hay` in every layer it can re-encode (see the module docstring)."""

    def __init__(self, detector: LeakDetector, token: Callable[[str], str], max_depth: int = MAX_DEPTH):
        self.detector = detector
        self.token = token
        self.max_depth = max_depth

    def redact(self, hay: str, budget: Budget) -> str:
        return apply_edits(hay, self.edits(hay, budget))

    def edits(self, hay: str, budget: Budget, depth: int = 0) -> list[Edit]:
        if not hay or not budget.spend(steps=1):
            return []
        direct = _merge([(s, e, self.token(kind)) for s, e, kind in self.detector.hay_spans(hay, budget=budget)])
        if depth >= self.max_depth or len(hay) < 8:
            return direct
        blobs: list[Edit] = []  # whole blobs re-encoded: they replace the direct edits inside them
        taken: list[tuple[int, int]] = []
        for count, m in enumerate(_JWT.finditer(hay)):
            if count >= MAX_BLOBS or not budget.spend(steps=1, bytes=len(m[1]), blobs=1):
                break
            taken.append(m.span())
            edit = self._blob(m[1], m.start(1), budget, depth, url_safe=True, padded=False)
            if edit is not None:
                blobs.append(edit)
        count = 0
        for m in (m for regex in _BASE64_RUNS for m in regex.finditer(hay)):
            if count >= MAX_BLOBS or not budget.spend(steps=1):
                break
            if any(s <= m.start() < e for s, e in taken) or not_base64(m[0]):
                continue
            taken.append(m.span())
            count += 1
            if not budget.spend(bytes=len(m[0]), blobs=1):
                break
            edit = self._base64_run(m[0], m.start(), budget, depth)
            if edit is not None:
                blobs.append(edit)
        for m in _HEX_RUN.finditer(hay):
            if count >= MAX_BLOBS or not budget.spend(steps=1, bytes=len(m[0]) // 2, blobs=1):
                break
            count += 1
            data = binascii.unhexlify(m[0])
            if printable_share(data) < 0.9:
                continue
            text = data.decode("latin-1")
            sub = self.edits(text, budget, depth + 1)
            if sub:
                new = apply_edits(text, sub).encode("latin-1").hex()
                blobs.append((m.start(), m.end(), new.upper() if m[0].isupper() else new))
        mapped: list[Edit] = []
        if "%" in hay and _PERCENT.search(hay) and budget.spend(bytes=len(hay), blobs=1):
            decoded, starts, ends = percent_decode_map(hay)
            for start, end, new in self.edits(decoded, budget, depth + 1):
                if end <= start:
                    continue
                if hay[starts[start]:ends[end - 1]] == new:
                    continue
                mapped.append((starts[start], ends[end - 1],
                               new if _TOKEN.match(new) else urllib.parse.quote(new, safe="")))
        kept = [e for e in direct + mapped if not any(s <= e[0] and e[1] <= t for s, t, _ in blobs)]
        return _merge(blobs + kept)

    def _base64_run(self, text: str, offset: int, budget: Budget, depth: int) -> Edit | None:
        """A base64 run whose start may hold a few characters that are not part of the blob (as the detector
        reads it): the first alignment that decodes to text wins."""
        padded = text.endswith("=")
        url_safe = "-" in text or "_" in text
        for skip in ([len(text) % 4] if padded else [0, 1, 2, 3]):
            edit = self._blob(text[skip:], offset + skip, budget, depth, url_safe=url_safe, padded=padded)
            if edit is not None:
                return edit
        return None

    def _blob(self, text: str, offset: int, budget: Budget, depth: int, *, url_safe: bool,
              padded: bool) -> Edit | None:
        """Decode one base64 blob holding text, redact inside, re-encode with the same alphabet and padding."""
        data = b64decode_loose(text)
        if not data or printable_share(data[:512]) < 0.9:
            return None
        inner = data.decode("latin-1")
        sub = self.edits(inner, budget, depth + 1)
        if not sub:
            return None
        new = apply_edits(inner, sub).encode("latin-1")
        encoded = (base64.urlsafe_b64encode(new) if url_safe else base64.b64encode(new)).decode("ascii")
        return offset, offset + len(text), encoded if padded else encoded.rstrip("=")
