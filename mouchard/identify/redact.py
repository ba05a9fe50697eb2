"""Replace a device's planted values with tokens such as [GAID] before anything is stored for publication.

    redactor = Redactor.for_profile(profile)          # or Redactor(detector, platform)
    redactor.url("https://a.example/t?ifa=3840...&q=1")  # 'https://a.example/t?ifa=[GAID]&q=1'
    redactor.headers([("X-Id", "3840...")])             # [('X-Id', '[GAID]')]
    redactor.text(value)                                # any other text (cookie values, Location headers)
    redactor.json({"geo": {"lat": 48.8584}})            # {'geo': {'lat': '[LOCATION]'}}

Two passes: every needle of the detector (all normal forms in all precomputed encodings: hashes, base64,
URL-encoding...) and every number near the planted position is replaced in place by its kind's token; then
each parameter, path segment, header or cookie value the detector found something in is redacted layer by layer
(`mouchard.identify.layers`: URL-encoded JSON, base64 of text, JWT payloads are decoded, redacted and re-encoded as they
were), searched again with the full decoder, and a value that still leaks (gzip inside base64) is replaced whole
by its tokens.

Every method takes an optional `budget` (`mouchard.budget`) and raises `RedactionIncomplete` when it runs out:
a redaction that could not finish is never returned as if it had (callers store a placeholder instead).
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable, Sequence

from mouchard.budget import Budget, RedactionIncomplete
from mouchard.identify.identifiers import token
from mouchard.identify.layers import LayerEditor
from mouchard.identify.leakdetect import LeakDetector, Match, as_hay, from_hay
from mouchard.identify.profile import DeviceProfile

_URL_LOCATIONS = ("path", "query", "fragment")


class Redactor:
    """Redacts text, URLs and headers for one detector's needles (see the module docstring)."""

    def __init__(self, detector: LeakDetector, platform: str | None = None):
        self.detector = detector
        self.platform = platform
        self._layers = LayerEditor(detector, self.token)

    @classmethod
    def for_profile(cls, profile: DeviceProfile, detector: LeakDetector | None = None) -> "Redactor":
        return cls(detector or LeakDetector.for_profile(profile), profile.platform)

    def token(self, kind: str) -> str:
        return token(kind, self.platform)

    def _check(self, budget: Budget) -> None:
        if budget.exhausted:
            raise RedactionIncomplete(f"redaction budget ran out: {budget.reason}")

    def text(self, value: str, *, budget: Budget | None = None) -> str:
        """Replace every needle and near-position number in `value` by its token.

        Raises `RedactionIncomplete` when `budget` (default: one scaled on `value`) runs out: the caller must
        then not keep `value`. The same holds for every method below.
        """
        if not value:
            return value
        budget = budget if budget is not None else Budget.for_input(len(value))
        spans = sorted(self.detector.spans(value, budget=budget), key=lambda s: (s[0], -(s[1] - s[0])))
        self._check(budget)
        if not spans:
            return value
        hay = as_hay(value)
        pieces, pos = [], 0
        for start, end, kind in spans:
            if start < pos:  # overlaps a span already replaced
                continue
            pieces += [hay[pos:start], self.token(kind)]
            pos = end
        pieces.append(hay[pos:])
        return from_hay("".join(pieces))

    def layers(self, value: str, *, budget: Budget | None = None) -> str:
        """`text()` in every layer of `value` that can be re-encoded (URL-encoding, base64, hex, JWT payloads:
        `mouchard.identify.layers`): the layer is decoded, redacted and written back as it was sent."""
        if not value:
            return value
        budget = budget if budget is not None else Budget.for_input(len(value))
        redacted = self._layers.redact(as_hay(value), budget)
        self._check(budget)
        return from_hay(redacted)

    def _whole(self, value: str, location: str, budget: Budget) -> str:
        """`value` after `layers()`; replaced whole when the full decoder still finds something in it."""
        redacted = self.layers(value, budget=budget)
        leaks = self.detector.scan_value(redacted, location, budget=budget)
        self._check(budget)
        if not leaks:
            return redacted
        return "".join(dict.fromkeys(self.token(m.kind) for m in leaks))

    def url(self, url: str, matches: Sequence[Match] | None = None, *, budget: Budget | None = None) -> str:
        """A URL with planted values replaced: where the detector finds something, each parameter and segment is
        redacted layer by layer (`layers`) from the URL as sent, and one that still leaks is replaced whole.

        `matches`, the detector's findings for this request, saves searching the URL again (pass them only if the
        detector finished: a search cut by its budget may have missed what is there).
        """
        budget = budget if budget is not None else Budget.for_input(len(url))
        if matches is not None:
            found = any(m.location in _URL_LOCATIONS for m in matches)
        else:
            found = bool(self.detector.scan_http(url, budget=budget))
            self._check(budget)
        if not found:
            return self.text(url, budget=budget)
        try:
            parts = urllib.parse.urlsplit(url)
        except ValueError:
            return self._whole(url, "url", budget)
        path = "/".join(self._whole(s, "path", budget) if s else s for s in parts.path.split("/"))
        query = "&".join(self._query_piece(p, budget) for p in parts.query.split("&")) if parts.query else ""
        fragment = self._whole(parts.fragment, "fragment", budget) if parts.fragment else ""
        redacted = urllib.parse.urlunsplit((parts.scheme, self.text(parts.netloc, budget=budget), path, query,
                                            fragment))
        # A name's parts in two parameters are each a lone word in its own: the whole URL pairs them (mouchard.identify.names).
        return self.text(redacted, budget=budget)

    def _query_piece(self, piece: str, budget: Budget) -> str:
        name, sep, value = piece.partition("=")
        if not sep:
            return self._whole(piece, "query", budget)
        return f"{name}={self._whole(value, 'query', budget)}" if value else piece

    def headers(self, pairs: Iterable[tuple[str, str]], matches: Sequence[Match] | None = None, *,
                budget: Budget | None = None) -> list[tuple[str, str]]:
        """Header pairs with planted values replaced (cookies one by one).

        With `matches` (the detector's findings for this request), only headers it found something in get the
        second, decoding pass; the others still get the first.
        """
        pairs = list(pairs)
        budget = budget if budget is not None else Budget.for_input(sum(len(k) + len(v) for k, v in pairs))
        found = None if matches is None else {m.field for m in matches if m.location in ("header", "cookie")}
        if matches is not None and not found:  # the detector found nothing in these headers: first pass only
            return [(name, self.url(value, budget=budget) if name.lower() == "location"
                     else self.text(value, budget=budget)) for name, value in pairs]
        out = []
        for name, value in pairs:
            lname = name.lower()
            if lname == "cookie":
                value = "; ".join(self._cookie(c, budget, found) for c in value.split(";"))
            elif lname == "location":
                value = self.url(value, budget=budget)
            elif found is None or lname in found:
                value = self._whole(value, "header", budget)
            else:
                value = self.text(value, budget=budget)
            out.append((name, value))
        return out

    def _cookie(self, pair: str, budget: Budget, found: set | None = None) -> str:
        name, sep, value = pair.strip().partition("=")
        if not sep:
            return self._whole(name, "cookie", budget)
        if found is not None and name not in found:
            return f"{name}={self.text(value, budget=budget)}"
        return f"{name}={self._whole(value, 'cookie', budget)}"

    def json(self, value: object, *, budget: Budget | None = None) -> object:
        """A JSON-like value with planted strings and near-position numbers replaced (keys kept).

        Walked with a stack, so any nesting depth is fine; each node costs a step of `budget`.
        """
        budget = budget if budget is not None else Budget()
        root: list = [None]
        stack: list[tuple[object, object, object]] = [(value, root, 0)]
        while stack:
            node, parent, key = stack.pop()
            if not budget.spend(steps=1):
                self._check(budget)
            if isinstance(node, dict):
                copy = dict.fromkeys(node)  # keys in their order, values filled below
                stack.extend((v, copy, k) for k, v in node.items())
                parent[key] = copy
            elif isinstance(node, (list, tuple)):
                items: list = [None] * len(node)
                stack.extend((v, items, i) for i, v in enumerate(node))
                parent[key] = items
            elif isinstance(node, str):
                parent[key] = self._whole(node, "body", budget)
            elif isinstance(node, (int, float)) and not isinstance(node, bool):
                text = str(node) if not isinstance(node, int) or node.bit_length() < 4096 else ""
                spans = self.detector.spans(text, budget=budget) if text else []
                self._check(budget)
                parent[key] = self.token(spans[0][2]) if spans else node
            else:
                parent[key] = node
        return root[0]

    def cookie_value(self, value: str | None, *, budget: Budget | None = None) -> str | None:
        if not value:
            return value
        return self._whole(value, "cookie", budget if budget is not None else Budget.for_input(len(value)))

    def value(self, value: str, location: str = "stored", *, budget: Budget | None = None) -> str:
        """Any one stored text, fully: redacted in every layer, then replaced by its tokens if the full decoder
        still finds something in it (what the last check of `addons.detect_leaks` gives a text it caught)."""
        if not value:
            return value
        return self._whole(value, location, budget if budget is not None else Budget.for_input(len(value)))
