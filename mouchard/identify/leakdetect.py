"""Find known values in HTTP traffic in any encoding: device identifiers, typed text, another party's cookie.

One detector, three uses:

    from mouchard.identify.leakdetect import LeakDetector
    detector = LeakDetector.for_profile(profile)                   # a phone's honey values (proxy, import)
    detector = LeakDetector({"typed_text": ["jean.dupont@example.org", "Tr0mb0ne!"]})     # key logging
    detector = LeakDetector({"cookie:17": [value]}, hashes=False)    # ID syncing (see mouchard.identify.idsync)

    matches = detector.scan_http(url, headers, body, content_type, content_encoding)
    # headers: [(name, value), ...]; body: bytes or None; content_encoding: "gzip", "br, gzip", None...
    for m in matches:                                  # Match(kind, chain, location, field, needle, precision_m)
        m.kind        # the key of `needles`: "advertising_id", "typed_text", "location", ...
        m.needle      # index of the value in needles[kind]; the value itself is never in a Match
        m.chain       # decoding chain, outermost first: "gzip>json:$.device.didsha1>sha1>compact"
        m.location    # path, query, fragment, header, cookie, body, websocket
        m.field       # segment index, parameter, header or cookie name, JSON path, multipart part name
    detector.scan_message(frame_bytes)                 # a WebSocket message
    detector.spans(text)                               # [(start, end, kind)] of raw needles, for redaction

How: every normal form of every value (`mouchard.identify.identifiers`) in every wire encoding (`mouchard.decode.encodings`) is
a needle of one Aho-Corasick automaton over lower-cased text; digit-only needles must not touch other digits
(a near-miss IMEI is not the IMEI). Structure is decoded around the search: the URL into path segments and
parameters, `Cookie` into cookies, bodies through Content-Encoding (gzip, deflate, br, zstd; gzip and zstd also
sniffed), multipart parts, form fields, JSON at any depth (JSON in JSON strings too), newline-delimited JSON line
by line (NDJSON, JSON Lines, Sentry envelopes: `ndjson:line3>json:$.user.email`), JWT payloads, base64 and
hex blobs and %-escapes found inside values. Positions in JSON are paired among one object's leaves, numbers or
numbers as strings, and named by their path (`json:$[0].segmentation.lat>decimals:6`). A match found inside a
decoded blob replaces the raw match of the same blob, so each leak is reported once with its most specific chain.
Positions: `mouchard.identify.location`. Phone numbers written with separators, in any grouping: `mouchard.identify.phones`.
A name's first and last parts, each a needle, count only in pairs within one request: `mouchard.identify.names`.
"""

from __future__ import annotations

import binascii
import json
import re
import urllib.parse
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import ahocorasick

from mouchard.budget import Budget
from mouchard.decode.encodings import (b64decode_loose, b64decode_run, decompress, encoded_forms, not_base64, parse_json,
                                printable_share, split_multipart, split_ndjson)
from mouchard.identify import names
from mouchard.identify.identifiers import normal_forms
from mouchard.identify.location import PositionFinder
from mouchard.identify.phones import PhoneFinder
from mouchard.identify.profile import DeviceProfile, Position

STRUCTURE_LIMIT = 8 * 1024 * 1024  # bodies above this are searched as raw bytes only
MAX_DEPTH = 5  # nested decodings (base64 > gzip > json > base64 > ...)
MAX_BLOBS = 64  # base64/hex blobs decoded per value
SKIPPED_HEADERS = frozenset({"host", "content-length", "content-type", "content-encoding", "connection",
                             "accept", "accept-encoding", "accept-language", "transfer-encoding", ":authority",
                             ":method", ":path", ":scheme", "cache-control", "pragma", "te", "upgrade"})

_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.(eyJ[A-Za-z0-9_-]{4,})\.[A-Za-z0-9_-]*")
_BASE64_RUNS = (re.compile(r"[A-Za-z0-9+/]{16,}={0,2}"), re.compile(r"[A-Za-z0-9_-]{16,}={0,2}"))
_HEX_RUN = re.compile(r"(?<![0-9A-Fa-f])(?:[0-9A-Fa-f]{2}){12,}(?![0-9A-Fa-f])")
_FORM = re.compile(r"[\w.\-%\[\]*]+=[^&=]*(?:&[\w.\-%\[\]*]+=[^&]*)+\Z")


@dataclass(frozen=True)
class Match:
    """One value found in one place; see the module docstring for the fields. Holds no raw value."""

    kind: str
    chain: str
    location: str
    field: str | None = None
    needle: int = 0
    precision_m: float | None = None


@dataclass(frozen=True)
class _Needle:
    kind: str
    index: int
    chain: tuple[str, ...]
    length: int
    edge: str | None  # what must not touch a match: "digit", "word", "email" (see _EDGES) or None
    precision_m: float | None = None


# Kinds whose readable forms are words: "Dominique Bernardi" and "xjean.dupont@..." are other people.
WORD_KINDS = frozenset({"name", "contact", "ssid", "serial", "email", "typed_text"})
_READABLE_STEPS = frozenset({"urlencode", "json-escape"})
_EDGES = {"digit": str.isdigit, "word": lambda c: c.isalnum() or c in "-_",
          "email": lambda c: c.isalnum() or c in "-_.+", "name-part": names.touches_part}


def _edge(kind: str, key: str, steps: tuple[str, ...]) -> str | None:
    if key.isdigit() or (key[:1] == "+" and key[1:].isdigit()):  # +336123456789 is not +33612345678
        return "digit"
    if names.part_role(kind) and all(s in _READABLE_STEPS for s in steps):
        return "name-part"  # "jean" of jean.dupont@example.org is an address, not a first name
    if kind.split(":")[0] in WORD_KINDS and all(s in _READABLE_STEPS for s in steps):
        return "email" if kind == "email" else "word"
    return None


def as_hay(data: bytes | str) -> str:
    """Text in the detector's representation: one character per byte (UTF-8 bytes read as Latin-1)."""
    if isinstance(data, str):
        try:
            data = data.encode("utf-8", "surrogateescape")  # bytes mitmproxy could not decode come back as they were
        except UnicodeEncodeError:
            data = data.encode("utf-8", "surrogatepass")  # lone surrogates, e.g. from a JSON "\ud800" escape
    return data.decode("latin-1")


def from_hay(hay: str) -> str:
    """Back to readable text (invalid UTF-8 replaced): for field names and redacted output."""
    return hay.encode("latin-1").decode("utf-8", "replace")


class LeakDetector:
    """Searches requests for `needles` ({kind: [values]}) and, with `position`, for a location."""

    def __init__(self, needles: Mapping[str, Sequence[str]], *, position: Position | None = None,
                 hashes: bool = True, layers: int = 2, max_depth: int = MAX_DEPTH,
                 forms: Callable[[str, str], list[tuple[str, str]]] = normal_forms,
                 parts: Mapping[str, Sequence[tuple[str, str] | None]] | None = None):
        self.max_depth = max_depth
        self.kinds = tuple(needles)
        self.positions = PositionFinder(position) if position is not None else None
        self.phones = PhoneFinder.for_needles(needles)  # phone numbers as written, any grouping (mouchard.identify.phones)
        # names split into fields: each part a kind of its own, paired by dedupe() and spans() (mouchard.identify.names)
        needles = {**needles, **names.part_needles(needles, parts)}
        self._short_leaf = min((names.min_form_length(k, "", 6) for k in needles), default=6)
        self._automaton = ahocorasick.Automaton()
        table: dict[str, list[_Needle]] = {}
        for kind, values in needles.items():
            for index, value in enumerate(values):
                if not value:
                    continue
                for label, form in forms(kind, value):
                    for wire, chain in encoded_forms(form, hashes=hashes, layers=layers,
                                                     min_length=names.min_form_length(kind, label, 6)):
                        encoding = tuple(s for s in chain.split(">") if s)
                        key = as_hay(wire).lower()
                        table.setdefault(key, []).append(_Needle(kind, index, encoding + ((label,) if label else ()),
                                                                 len(key), _edge(kind, key, encoding)))
        if self.positions is not None:
            for wire, chain, size in self.positions.geohash_needles():
                table.setdefault(wire, []).append(_Needle("location", 0, (chain,), len(wire), None, size))
        for key, entries in table.items():
            seen, unique = set(), []
            for entry in entries:  # one entry per (kind, value): the first form listed is the most canonical
                if (entry.kind, entry.index) not in seen:
                    seen.add((entry.kind, entry.index))
                    unique.append(entry)
            self._automaton.add_word(key, tuple(unique))
        self.needle_count = len(table)
        if table:
            self._automaton.make_automaton()

    @classmethod
    def for_profile(cls, profile: DeviceProfile, **kw) -> "LeakDetector":
        """A detector for a device profile's identifiers, contacts and position."""
        kw.setdefault("parts", profile.name_parts())
        return cls(profile.needles(), position=profile.position, **kw)

    # -- public entry points ------------------------------------------------------------------------------
    #
    # Each takes an optional `budget` (`mouchard.budget.Budget`): the work it may do, charged as it goes. Without
    # one, a budget scaled on the input is used. When it runs out the search stops where it is and returns what
    # it found so far; `budget.exhausted` tells the caller the answer is incomplete (redaction then fails closed).

    def scan_http(self, url: str, headers: Iterable[tuple[str, str]] = (), body: bytes | None = None,
                  content_type: str | None = None, content_encoding: str | None = None, *,
                  budget: Budget | None = None) -> list[Match]:
        """Every needle and position in one request: URL, headers, cookies and body (see the module docstring)."""
        headers = list(headers)
        if budget is None:
            budget = Budget.for_input(len(url) + sum(len(k) + len(v) for k, v in headers) + len(body or b""))
        out: list[Match] = []
        try:
            parts = urllib.parse.urlsplit(url)
        except ValueError:
            parts = urllib.parse.SplitResult("", "", url, "", "")
        for i, segment in enumerate(parts.path.split("/")):
            if segment:
                self._scan(as_hay(segment), "path", str(i), (), 0, out, budget, positions=False)
        if parts.query and budget.spend(bytes=len(parts.query)):
            self._form(as_hay(parts.query), "query", (), 0, out, budget, positions=True)
        if parts.fragment:
            self._scan(as_hay(parts.fragment), "fragment", None, (), 0, out, budget)
        if parts.path and budget.spend(bytes=len(parts.path)):
            self._positions(as_hay(urllib.parse.unquote_to_bytes(parts.path)), "path", None, (), out, budget)
        for name, value in headers:
            lname = name.lower()
            if lname in SKIPPED_HEADERS or not value:
                continue
            if lname == "cookie":
                for cookie in value.split(";"):
                    cname, _, cvalue = cookie.strip().partition("=")
                    if cvalue:
                        self._scan(as_hay(cvalue), "cookie", cname, (), 0, out, budget)
            else:
                self._scan(as_hay(value), "header", lname, (), 0, out, budget)
        if body:
            self.scan_body(body, content_type, content_encoding, "body", out, budget=budget)
        return dedupe(out)

    def scan_message(self, data: bytes | str, location: str = "websocket", field: str | None = None, *,
                     budget: Budget | None = None) -> list[Match]:
        """A WebSocket message (text or binary), or any other standalone payload."""
        out: list[Match] = []
        data = data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data
        self.scan_body(data, None, None, location, out, field=field,
                       budget=budget if budget is not None else Budget.for_input(len(data)))
        return dedupe(out)

    def scan_value(self, text: str | bytes, location: str, field: str | None = None, *,
                   budget: Budget | None = None) -> list[Match]:
        """One header value, cookie value or parameter, decoded as the detector decodes values inside requests."""
        out: list[Match] = []
        self._scan(as_hay(text), location, field, (), 0, out,
                   budget if budget is not None else Budget.for_input(len(text)))
        return dedupe(out)

    def spans(self, text: str, *, budget: Budget | None = None) -> list[tuple[int, int, str]]:
        """(start, end, kind) of every needle in `as_hay(text)`, positions included (for redaction)."""
        hay = as_hay(text)
        return self.hay_spans(hay, budget=budget if budget is not None else Budget.for_input(len(hay)))

    def hay_spans(self, hay: str, *, budget: Budget) -> list[tuple[int, int, str]]:
        """`spans` of text already in the detector's representation (`as_hay`): for layered redaction."""
        found = names.pair_spans(self._hits(hay, budget))  # a lone first name is not redacted
        if self.positions is not None:
            found += [(s, e, "location") for s, e in self.positions.spans(hay, budget)]
        return found

    # -- bodies -------------------------------------------------------------------------------------------

    def scan_body(self, data: bytes, content_type: str | None, content_encoding: str | None, location: str,
                  out: list[Match], field: str | None = None, chain: tuple[str, ...] = (), depth: int = 0,
                  budget: Budget | None = None) -> None:
        """Decompress, split multipart or form bodies, then search every part (appends to `out`)."""
        if budget is None:
            budget = Budget.for_input(len(data))
        if not budget.spend(steps=1):
            return
        data, steps = decompress(data, content_encoding, budget=budget)
        chain = chain + steps
        ctype = (content_type or "").split(";")[0].strip().lower()
        if len(data) > STRUCTURE_LIMIT:
            hay = as_hay(data)
            out.extend(self._match(n, location, field, chain) for _, _, n in self._hits(hay, budget))
            return
        if ctype.startswith("multipart/") and depth < self.max_depth and budget.spend(bytes=len(data)):
            parts = split_multipart(data, content_type or "")
            if parts is not None:
                for name, headers, part in parts:
                    self.scan_body(part, headers.get("content-type"), headers.get("content-encoding"), location,
                                   out, name, chain + (f"multipart:{name}",), depth + 1, budget)
                return
        hay = as_hay(data)
        # A body labelled as a form that is JSON (RudderStack's Node SDK sends gzip'd JSON so labelled) is read as
        # JSON: form decoding would turn the "+" of "jean+news@..." into a space and lose the value.
        if ctype == "application/x-www-form-urlencoded" and hay[:64].lstrip()[:1] not in ("{", "["):
            self._form(hay, location, chain, depth, out, budget, field, positions=True)
            return
        self._scan(hay, location, field, chain, depth, out, budget)

    # -- the search: recursion bounded by max_depth (decoding layers), JSON walked with a stack ---------------

    def _scan(self, hay: str, location: str, field: str | None, chain: tuple[str, ...], depth: int,
              out: list[Match], budget: Budget, positions: bool = True) -> None:
        if not budget.spend(steps=1):
            return
        head = hay[:64].lstrip()
        if head[:1] in ("{", "[") and depth < self.max_depth:
            doc = parse_json(hay) if budget.spend(bytes=len(hay), blobs=1) else None
            if doc is not None:
                before = len(out)
                self._json(doc, location, field, chain, depth + 1, out, budget)
                # Positions are paired in the document's structure (sibling leaves, a "lat,lon" string), which
                # names their path; the text pass is the fallback for halves in different objects.
                if positions and not any(m.kind == "location" for m in out[before:]):
                    self._positions(hay, location, field, chain, out, budget)
                return
        if depth < self.max_depth and ("\n{" in hay or "\n[" in hay):
            records = split_ndjson(hay, budget)
            if records is not None:  # NDJSON, JSON Lines, a Sentry envelope: each line (or item) on its own
                for line, text in records:
                    self._scan(text, location, field, chain + (f"ndjson:line{line}",), depth + 1, out, budget,
                               positions)
                return
        if depth < self.max_depth and "=" in head and _FORM.match(hay):
            self._form(hay, location, chain + ("form",), depth + 1, out, budget, field, positions)
            return
        self._plain(hay, location, field, chain, depth, out, budget, positions)

    def _plain(self, hay: str, location: str, field: str | None, chain: tuple[str, ...], depth: int,
               out: list[Match], budget: Budget, positions: bool) -> None:
        raw = self._hits(hay, budget)
        regions: list[tuple[int, int, list[Match], bool]] = []
        if depth < self.max_depth and len(hay) >= 16:
            taken: list[tuple[int, int]] = []
            for jwts, m in enumerate(_JWT.finditer(hay)):
                if jwts >= MAX_BLOBS or not budget.spend(steps=1, bytes=len(m[1]), blobs=1):
                    break
                payload = b64decode_loose(m[1])
                doc = parse_json(as_hay(payload)) if payload else None
                if doc is not None:
                    sub: list[Match] = []
                    self._json(doc, location, field, chain + ("jwt",), depth + 1, sub, budget)
                    regions.append((m.start(), m.end(), sub, True))
                    taken.append(m.span())
            blobs = 0
            for m in (m for regex in _BASE64_RUNS for m in regex.finditer(hay)):
                if blobs >= MAX_BLOBS or not budget.spend(steps=1):
                    break
                text = m[0]
                if any(s <= m.start() < e for s, e in taken) or not_base64(text):
                    continue
                taken.append(m.span())
                if not budget.spend(bytes=len(text), blobs=1):
                    break
                decoded = b64decode_run(text)
                if not decoded:
                    continue
                blobs += 1
                step = "base64url" if ("-" in text or "_" in text) else "base64"
                sub = []
                understood = self._decoded(decoded, location, field, chain + (step,), depth + 1, sub, budget)
                regions.append((m.start(), m.end(), sub, understood))
            for m in _HEX_RUN.finditer(hay):
                if blobs >= MAX_BLOBS or not budget.spend(steps=1, bytes=len(m[0]) // 2, blobs=1):
                    break
                decoded = binascii.unhexlify(m[0])
                if printable_share(decoded) < 0.9 or not _utf8(decoded):  # whole: no cut to excuse a broken end
                    continue
                blobs += 1
                sub = []
                self._scan(as_hay(decoded), location, field, chain + ("hex",), depth + 1, sub, budget)
                regions.append((m.start(), m.end(), sub, True))
            if "%" in hay and budget.spend(bytes=len(hay), blobs=1):
                unquoted = as_hay(urllib.parse.unquote_to_bytes(hay))
                if unquoted != hay:
                    sub = []
                    # %22 before a number hides it from the position finder: positions are read decoded
                    self._scan(unquoted, location, field, chain + ("urlencode",), depth + 1, sub, budget, positions)
                    regions.append((0, len(hay), sub, True))
                    positions = False
        # A raw hit inside a blob that decoded to something readable was searched again, decoded: the decoded
        # search is the better judge (and names the chain). Otherwise it stands unless the blob found the same kind.
        # (regions are at most 3 * MAX_BLOBS + 1: JWTs, base64 and hex blobs each capped, and the %-decoded whole)
        # A hit that is the whole blob is the value as sent (a hex or base64 identifier), whatever it decodes to.
        for start, end, needle in raw:
            if not any(s <= start and end <= e and (start, end) != (s, e)
                       and (understood or any(m.kind == needle.kind for m in sub))
                       for s, e, sub, understood in regions):
                out.append(self._match(needle, location, field, chain))
        for region in regions:
            out.extend(region[2])
        if positions:
            self._positions(hay, location, field, chain, out, budget)

    def _decoded(self, data: bytes, location: str, field: str | None, chain: tuple[str, ...], depth: int,
                 out: list[Match], budget: Budget) -> bool:
        """A decoded blob: compressed (sniffed), then structured or plain; True if it decoded to text."""
        data, steps = decompress(data, None, budget=budget)
        if steps or printable_share(data[:512]) >= 0.9:
            self._scan(as_hay(data), location, field, chain + steps, depth, out, budget)
            return True
        # binary (protobuf, random bytes, a wrong guess at a blob): raw needles only
        out.extend(self._match(n, location, field, chain) for _, _, n in self._hits(as_hay(data), budget))
        return False

    def _form(self, hay: str, location: str, chain: tuple[str, ...], depth: int, out: list[Match],
              budget: Budget, field: str | None = None, positions: bool = False) -> None:
        """Fields of a form (a query, a form body, a form in a value), each searched on its own; with `positions`,
        a field holding a position ("ll=44.8,-0.5", URL-encoded JSON) is named by it, and halves in two short
        fields ("lat=..&lon=..") are paired across fields."""
        if not budget.spend(bytes=len(hay)):
            return
        short = []
        for name, value in urllib.parse.parse_qsl(hay, keep_blank_values=True, encoding="latin-1"):
            if budget.exhausted:
                return
            name_text = from_hay(name)
            self._scan(value if value else name, location, name_text if value else field, chain, depth, out,
                       budget, positions)
            if positions and value and len(value) <= 64:
                short.append(f"{name}={value}")
        if len(short) > 1:
            self._positions("&".join(short), location, field, chain, out, budget)

    def _json(self, doc: object, location: str, field: str | None, chain: tuple[str, ...], depth: int,
              out: list[Match], budget: Budget) -> None:
        """Walk a JSON document with an explicit stack (any nesting depth), in document order; leaves are named
        by their path unless the document sits in a named field. Each node costs a step and its path's length."""
        stack: list[tuple[object, str]] = [(doc, "$")]
        while stack:
            node, path = stack.pop()
            if not budget.spend(steps=1, bytes=len(path)):
                return
            name = field if field is not None else path
            if isinstance(node, dict):
                children = []
                for key, value in node.items():
                    key = str(key)
                    if len(key) >= 6:  # an identifier used as a key (per-device maps)
                        for _, _, needle in self._hits(as_hay(key), budget):
                            out.append(self._match(needle, location, name, chain + (f"json-key:{path}",)))
                    children.append((value, f"{path}.{key}" if _SIMPLE_KEY.match(key)
                                     else f"{path}[{json.dumps(key)}]"))
                self._leaf_positions(children, location, field, chain, out, budget)
                stack.extend(reversed(children))
            elif isinstance(node, list):
                children = [(node[i], f"{path}[{i}]") for i in range(len(node))]
                self._leaf_positions(children, location, field, chain, out, budget)
                stack.extend(reversed(children))
            elif isinstance(node, str):
                if len(node) >= 16 or "%" in node or node[:1] in ("{", "["):
                    self._scan(as_hay(node), location, name, chain + (f"json:{path}",), depth, out, budget)
                    continue
                if self.positions is not None and "," in node and self.positions.might_hold(node):
                    self._positions(as_hay(node), location, name, chain + (f"json:{path}",), out, budget)  # "lat,lon"
                if len(node) >= self._short_leaf:  # too short for an encoded blob: the needles are enough
                    for _, _, needle in self._hits(as_hay(node), budget):
                        out.append(self._match(needle, location, name, chain + (f"json:{path}",)))
            elif isinstance(node, (int, float)) and not isinstance(node, bool):
                text = str(node) if not isinstance(node, int) or node.bit_length() < 4096 else ""
                if len(text) >= 6:
                    for _, _, needle in self._hits(text, budget):
                        out.append(self._match(needle, location, name, chain + (f"json:{path}",)))

    def _leaf_positions(self, children: list[tuple[object, str]], location: str, field: str | None,
                        chain: tuple[str, ...], out: list[Match], budget: Budget) -> None:
        """A latitude and a longitude among one object's or array's leaves (numbers, or numbers as strings as
        Countly sends them): paired as the position finder pairs them, named by the latitude's path."""
        if self.positions is None:
            return
        leaves = []
        lats = lons = False
        for value, path in children:
            kind = type(value)
            if kind is dict or kind is list or kind is bool or value is None:
                continue
            if kind is float or kind is int:
                if isinstance(value, int) and value.bit_length() > 64:
                    continue
                number = value
            elif isinstance(value, str) and len(value) <= 24 and _NUMBER_TEXT.match(value):
                number = float(value.replace(",", "."))
            else:
                continue
            lat, lon = self.positions.roughly(number)
            if lat or lon:
                leaves.append((path, value if isinstance(value, str) else repr(value)))
                lats, lons = lats or lat, lons or lon
        if len(leaves) < 2 or not (lats and lons) or not budget.spend(steps=len(leaves)):
            return
        for hit in self.positions.find("&".join(f"{i}={text}" for i, (_, text) in enumerate(leaves)), budget):
            path = leaves[int(hit.field)][0] if hit.field and hit.field.isdigit() else leaves[0][0]
            out.append(Match("location", ">".join(chain + (f"json:{path}", hit.chain)), location,
                             field if field is not None else path, 0, hit.precision_m))

    def _positions(self, hay: str, location: str, field: str | None, chain: tuple[str, ...],
                   out: list[Match], budget: Budget) -> None:
        if self.positions is None or not self.positions.might_hold(hay):  # most texts hold no degrees
            return
        for hit in self.positions.find(hay, budget):
            out.append(Match("location", ">".join(chain + (hit.chain,)), location,
                             from_hay(hit.field) if hit.field else field, 0, hit.precision_m))

    def _hits(self, hay: str, budget: Budget) -> list[tuple[int, int, _Needle]]:
        if not self.needle_count or not hay or not budget.spend(bytes=len(hay)):
            return []
        lower = hay.lower()
        found = []
        size = len(lower)
        for end, needles in self._automaton.iter(lower):
            if not budget.spend(steps=1):
                break
            start = end - needles[0].length + 1
            before = lower[start - 1] if start > 0 else ""
            after = lower[end + 1] if end + 1 < size else ""
            for n in needles:
                if n.edge is not None:
                    touches = _EDGES[n.edge]
                    if (before and touches(before)) or (after and touches(after)):
                        continue
                found.append((start, end + 1, n))
        # A needle inside a longer needle of the same kind (IMEI14 in IMEI15) is the same leak.
        if self.phones is not None:
            found += [(h.start, h.end, _Needle("phone", h.index, h.steps, h.end - h.start, None))
                      for h in self.phones.find(hay, budget)]
        found.sort(key=lambda h: (h[0], -(h[1] - h[0])))
        kept: list[tuple[int, int, _Needle]] = []
        for hit in found:
            # A name's part inside any other value (jean in jean.dupont@...) is that value's leak.
            if not any((k[2].kind == hit[2].kind or names.part_role(hit[2].kind)) and k[0] <= hit[0]
                       and hit[1] <= k[1] for k in kept[-8:]):
                kept.append(hit)
        return kept

    @staticmethod
    def _match(needle: _Needle, location: str, field: str | None, chain: tuple[str, ...]) -> Match:
        return Match(needle.kind, ">".join(chain + needle.chain), location, field, needle.index, needle.precision_m)


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


_SIMPLE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")
_NUMBER_TEXT = re.compile(r"\s*-?\d{1,10}(?:[.,]\d{1,16})?\s*\Z")  # a coordinate sent as a string


def dedupe(matches: list[Match]) -> list[Match]:
    """One match per leak: drop exact repeats and chains that are a prefix of a more specific one. Parts of a
    name count only in pairs (`names.pair_matches`: both parts in these matches, or neither)."""
    best: dict[tuple, Match] = {}
    groups: dict[tuple, list[Match]] = {}
    for m in names.pair_matches(matches):
        if m.kind == "location":
            key = (m.location, m.field, m.chain)
            if key not in best or (m.precision_m or 0) < (best[key].precision_m or 0):
                best[key] = m
            continue
        groups.setdefault((m.kind, m.location, m.field, m.needle), []).append(m)
    result = list(best.values())
    for group in groups.values():
        chains = sorted({m.chain for m in group}, key=lambda c: -c.count(">") - len(c) / 1e4)
        kept: list[str] = []
        for chain in chains:
            steps = chain.split(">") if chain else []
            if not any(k.split(">")[:len(steps)] == steps for k in kept):
                kept.append(chain)
        by_chain = {m.chain: m for m in group}
        result.extend(by_chain[c] for c in kept)
    return result
