"""ID syncing: an identifier of one party (a cookie value, a user id) seen going to another party.

Shared by the browser crawl and the app proxy:

    finder = IdSyncFinder()
    finder.add("adnxs.com", "uuid2", "8237981234987123", cookie_id=41)         # from cookies as they are set
    for sync in finder.scan_request("rubiconproject.com", url, headers, body, content_type, content_encoding):
        tx.insert("id_syncs", sync.row(visit_id=..., request_id=...))
    finder.scan_redirect("rubiconproject.com", location_url)  # a Location header taking an id elsewhere

A value is searched in every encoding the leak detector knows except hashes (URL-encoded, base64 in any
alignment, JSON, form and multipart bodies...), so `encoding` holds the decoding chain, e.g. `urlencode>base64`.
Only the SHA-256 of the value is kept in a row. Values that cannot identify anyone (short, constant-looking,
consent strings) are refused by `looks_like_identifier`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from mouchard.budget import Budget
from mouchard.identify.leakdetect import LeakDetector, Match

MIN_LENGTH = 6
MAX_LENGTH = 100
REBUILD_EVERY = 32  # new values searched by a small second automaton until this many accumulate
CONSENT_NAMES = frozenset({"euconsent-v2", "euconsent", "usprivacy", "__gpp", "__gpp_sid", "optanonconsent",
                           "optanonalertboxclosed", "addtl_consent", "didomi_token", "cookieconsent_status",
                           "gdpr", "gdpr_consent", "us_privacy", "gpp", "gpp_sid", "consent"})
_BORING = re.compile(r"(true|false|null|undefined|none|yes|no|on|off|deleted|[0-9.:tz+-]+|[a-z]{2}[-_][a-z]{2})\Z",
                     re.I)
_LOCATIONS = {"query": "query", "fragment": "query", "path": "path", "header": "header", "cookie": "header",
              "body": "body", "websocket": "body"}


def looks_like_identifier(name: str, value: str) -> bool:
    """6-100 characters, varied, not a boolean, date, number-ish or consent string (Acar et al. 2014)."""
    if not MIN_LENGTH <= len(value) <= MAX_LENGTH or name.lower() in CONSENT_NAMES:
        return False
    if _BORING.match(value) and not (value.isdigit() and len(value) >= 11):
        return False
    return len(set(value)) >= 5


@dataclass(frozen=True)
class Identifier:
    """A value owned by `site` (the party that set or received it)."""

    site: str
    name: str
    value: str
    entity: str | None = None
    cookie_id: Any = None  # cookies.id, or a reference to a row not yet written that the caller resolves


@dataclass(frozen=True)
class IdSync:
    """One identifier seen going from `from_site` to `to_site`; `row()` gives an `id_syncs` row."""

    from_site: str
    from_entity: str | None
    to_site: str
    identifier_name: str
    identifier_sha256: str
    location: str
    parameter: str | None
    encoding: str
    cookie_id: Any = None  # as Identifier.cookie_id

    def row(self, **extra) -> dict:
        return {"from_site": self.from_site, "from_entity": self.from_entity, "to_site": self.to_site,
                "identifier_name": self.identifier_name, "identifier_sha256": self.identifier_sha256,
                "location": self.location, "parameter": self.parameter, "encoding": self.encoding or None,
                "cookie_id": self.cookie_id, **extra}


class IdSyncFinder:
    """Remembers parties' identifiers and finds them in requests to other parties (see the module docstring)."""

    def __init__(self, *, check: bool = True):
        self.check = check
        self._known: list[Identifier] = []
        self._values: dict[str, int] = {}
        self._main: LeakDetector | None = None
        self._main_size = 0
        self._recent: LeakDetector | None = None
        self._recent_size = 0

    def __len__(self) -> int:
        return len(self._known)

    def add(self, site: str, name: str, value: str, *, entity: str | None = None,
            cookie_id: Any = None) -> bool:
        """Remember `value` as `site`'s identifier; False if refused or already owned by a party."""
        if not site or not value or value in self._values:
            return False
        if self.check and not looks_like_identifier(name, value):
            return False
        self._values[value] = len(self._known)
        self._known.append(Identifier(site, name, value, entity, cookie_id))
        return True

    def _detectors(self) -> list[LeakDetector]:
        total = len(self._known)
        if total - self._main_size >= REBUILD_EVERY:
            self._main, self._main_size = self._build(0, total), total
            self._recent, self._recent_size = None, total
        elif total > self._main_size and self._recent_size != total:
            self._recent, self._recent_size = self._build(self._main_size, total), total
        return [d for d in (self._main, self._recent) if d is not None]

    def _build(self, start: int, end: int) -> LeakDetector:
        # Each value is its own kind ("17"), so a match says which identifier it was.
        return LeakDetector({str(i): [self._known[i].value] for i in range(start, end)}, hashes=False)

    def scan_request(self, to_site: str, url: str, headers: Iterable[tuple[str, str]] = (),
                     body: bytes | None = None, content_type: str | None = None,
                     content_encoding: str | None = None, *, location: str | None = None,
                     budget: Budget | None = None) -> list[IdSync]:
        """Identifiers of other sites in one request to `to_site` (`location` overrides, e.g. 'redirect').

        `budget` (`mouchard.budget`; default: one scaled on the request) bounds the search; when it runs out
        the syncs found so far are returned and `budget.exhausted` says the answer is incomplete.
        """
        if not self._known or not to_site:
            return []
        headers = list(headers)
        if budget is None:
            budget = Budget.for_input(len(url) + sum(len(k) + len(v) for k, v in headers) + len(body or b""))
        matches: list[Match] = []
        for detector in self._detectors():
            matches += detector.scan_http(url, headers, body, content_type, content_encoding, budget=budget)
        return self._syncs(matches, to_site, location)

    def scan_redirect(self, to_site: str, location_url: str, *, budget: Budget | None = None) -> list[IdSync]:
        """A redirect's target URL carrying another party's identifier to `to_site`."""
        return self.scan_request(to_site, location_url, location="redirect", budget=budget)

    def _syncs(self, matches: list[Match], to_site: str, location: str | None) -> list[IdSync]:
        found: dict[tuple, IdSync] = {}
        for m in matches:
            known = self._known[int(m.kind)]
            if known.site == to_site:
                continue
            where = location or _LOCATIONS.get(m.location, m.location)
            parameter = f"cookie:{m.field}" if m.location == "cookie" else m.field
            sync = IdSync(known.site, known.entity, to_site, known.name,
                          hashlib.sha256(known.value.encode("utf-8")).hexdigest(), where, parameter, m.chain,
                          known.cookie_id)
            found.setdefault((sync.identifier_sha256, where, parameter), sync)
        return list(found.values())
