"""Replace a device's planted values with tokens such as [GAID] before anything is stored for publication.

    redactor = Redactor.for_profile(profile)          # or Redactor(detector, platform)
    redactor.url("https://a.example/t?ifa=3840...&q=1")  # 'https://a.example/t?ifa=[GAID]&q=1'
    redactor.headers([("X-Id", "3840...")])             # [('X-Id', '[GAID]')]
    redactor.text(value)                                # any other text (cookie values, Location headers)
    redactor.json({"geo": {"lat": 48.8584}})            # {'geo': {'lat': '[LOCATION]'}}

Two passes: every needle of the detector (all normal forms in all precomputed encodings: hashes, base64,
URL-encoding...) and every number near the planted position is replaced in place by its kind's token; then
each parameter, path segment, header or cookie value is searched again with the full decoder, and a value that
still leaks (gzip inside base64, a JWT, JSON in a parameter) is replaced whole by its tokens.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable, Sequence

from mouchard.identifiers import token
from mouchard.leakdetect import LeakDetector, Match, as_hay, from_hay
from mouchard.profile import DeviceProfile

_URL_LOCATIONS = ("path", "query", "fragment")


class Redactor:
    """Redacts text, URLs and headers for one detector's needles (see the module docstring)."""

    def __init__(self, detector: LeakDetector, platform: str | None = None):
        self.detector = detector
        self.platform = platform

    @classmethod
    def for_profile(cls, profile: DeviceProfile, detector: LeakDetector | None = None) -> "Redactor":
        return cls(detector or LeakDetector.for_profile(profile), profile.platform)

    def token(self, kind: str) -> str:
        return token(kind, self.platform)

    def text(self, value: str) -> str:
        """Replace every needle and near-position number in `value` by its token."""
        if not value:
            return value
        spans = sorted(self.detector.spans(value), key=lambda s: (s[0], -(s[1] - s[0])))
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

    def _whole(self, value: str, location: str) -> str:
        """`value` after `text()`; replaced whole when the full decoder still finds something in it."""
        redacted = self.text(value)
        leaks = self.detector.scan_value(redacted, location)
        if not leaks:
            return redacted
        return "".join(dict.fromkeys(self.token(m.kind) for m in leaks))

    def url(self, url: str, matches: Sequence[Match] | None = None) -> str:
        """A URL with planted values replaced; a parameter or segment that still leaks is replaced whole.

        `matches`, the detector's findings for this request, saves the second pass when the URL had none.
        """
        text = self.text(url)
        if matches is not None and not any(m.location in _URL_LOCATIONS for m in matches):
            return text
        try:
            parts = urllib.parse.urlsplit(text)
        except ValueError:
            return self._whole(text, "url")
        if not self.detector.scan_http(text):
            return text
        path = "/".join(self._whole(s, "path") if s else s for s in parts.path.split("/"))
        query = "&".join(self._query_piece(p) for p in parts.query.split("&")) if parts.query else ""
        fragment = self._whole(parts.fragment, "fragment") if parts.fragment else ""
        return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, query, fragment))

    def _query_piece(self, piece: str) -> str:
        name, sep, value = piece.partition("=")
        if not sep:
            return self._whole(piece, "query")
        return f"{name}={self._whole(value, 'query')}" if value else piece

    def headers(self, pairs: Iterable[tuple[str, str]],
                matches: Sequence[Match] | None = None) -> list[tuple[str, str]]:
        """Header pairs with planted values replaced (cookies one by one).

        With `matches` (the detector's findings for this request), only headers it found something in get the
        second, decoding pass; the others still get the first.
        """
        found = None if matches is None else {m.field for m in matches if m.location in ("header", "cookie")}
        if matches is not None and not found:  # the detector found nothing in these headers: first pass only
            return [(name, self.url(value) if name.lower() == "location" else self.text(value)) for name, value in pairs]
        out = []
        for name, value in pairs:
            lname = name.lower()
            if lname == "cookie":
                value = "; ".join(self._cookie(c, found) for c in value.split(";"))
            elif lname == "location":
                value = self.url(value)
            elif found is None or lname in found:
                value = self._whole(value, "header")
            else:
                value = self.text(value)
            out.append((name, value))
        return out

    def _cookie(self, pair: str, found: set | None = None) -> str:
        name, sep, value = pair.strip().partition("=")
        if not sep:
            return self._whole(name, "cookie")
        if found is not None and name not in found:
            return f"{name}={self.text(value)}"
        return f"{name}={self._whole(value, 'cookie')}"

    def json(self, value: object) -> object:
        """A JSON-like value with planted strings and near-position numbers replaced (keys kept)."""
        if isinstance(value, dict):
            return {k: self.json(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.json(v) for v in value]
        if isinstance(value, str):
            return self._whole(value, "body")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            spans = self.detector.spans(str(value))
            return self.token(spans[0][2]) if spans else value
        return value

    def cookie_value(self, value: str | None) -> str | None:
        return self._whole(value, "cookie") if value else value
