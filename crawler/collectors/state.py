"""The typed state of a visit that collectors share: what each one hands the others, and the large records two
of them keep (the network collector's requests, the call recorder's calls), instead of string keys in a dict.

`VisitContext.shared` (crawler/collectors/base.py) is a `Shared`: one field per exchange, each saying who writes
it and who reads it. A collector's private state is not here: `visit.own(CollectorClass, factory)` keeps it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crawler.browser.targets import Target


@dataclass
class Evidence:
    """The evidence files the spider wants of a visit (paths inside `<db>.evidence/`, or None) and what was taken."""

    screenshot: str | None = None
    har: str | None = None
    warc: str | None = None  # the visit's WARC file (--warc: RecordArchive writes it in collect)
    screenshot_taken: bool = False  # KeepEvidence took it (before_leave); collect then makes its row

    @classmethod
    def of(cls, paths: dict | None) -> "Evidence":
        """From the spider's request meta (`{"screenshot": path, "har": path, "warc": path}`, any absent)."""
        paths = paths or {}
        return cls(screenshot=paths.get("screenshot") or None, har=paths.get("har") or None,
                   warc=paths.get("warc") or None)


@dataclass
class Shared:
    """What the collectors of one visit hand each other: one typed field per exchange (writer -> readers).

    A collector's private state is not here: it keeps it with `visit.own(key, factory)`."""

    # URLs (sourceURL) of the scripts mouchard runs in the visit's pages (the call recorder) -> RecordRequests:
    # never a request's initiator
    own_scripts: set[str] = field(default_factory=set)
    # RecordRequests -> RecordCookies (Set-Cookie events and their hops), VisitRun (the main document's status)
    network: "NetworkState | None" = None
    # the call recorder (crawler/collectors/calls.py) -> RecordCookies (script cookies), RecordFingerprinting
    calls: "CallsState | None" = None
    # RecordConsent -> RecordCookies (`before_consent`): ms from navigation start of the banner click, if any
    consent_action_ms: int | None = None
    # RecordConsent (revoke phase) -> readers of the visit: ms from navigation start of the withdrawal click, if any
    withdrawal_ms: int | None = None
    # the spider's second-site priming (crawler/consent/sequences.py) -> RecordCookies, RecordConsent: what the
    # profile already held after rejecting on site A, as (domain, name, sha256 of the value), and the A steps
    primed_jar: frozenset[tuple[str, str, str]] = frozenset()
    priming: dict | None = None
    # RecordCookies -> DetectIdSyncs: the visit's cookie rows, each with its `_ref` (None: RecordCookies did not run)
    cookie_rows: list[dict] | None = None
    # RecordPixels -> later collectors: the pixel_events rows
    pixel_events: list[dict] | None = None
    # detectors (`mark_script`) -> RecordFingerprinting: `scripts` columns per script URL (session_replay=1...)
    script_marks: dict[str, dict] = field(default_factory=dict)


@dataclass
class Hop:
    """One request of a redirect chain (the first request is hop 0)."""

    ref: tuple
    row: dict
    set_cookie_lines: list[str] = field(default_factory=list)


@dataclass
class Chain:
    """One browser request id: its hops (redirects), and the extra-info events that come for each hop."""

    request_id: str
    target: "Target"
    hops: list[Hop] = field(default_factory=list)
    extra_requests: list[dict] = field(default_factory=list)
    extra_responses: list[dict] = field(default_factory=list)


@dataclass
class SetCookies:
    """The Set-Cookie lines of one response hop the browser stored, and those it refused (for RecordCookies)."""

    request_id: str
    hop: int
    lines: list[str]
    blocked: list[dict]
    time_ms: int
    wall: float  # epoch seconds


@dataclass
class NetworkState:
    """RecordRequests' record of one visit, shared as `visit.shared.network` (cookies and the visit read it)."""

    chains: dict[str, Chain] = field(default_factory=dict)  # browser request id -> its redirect chain
    order: list[Hop] = field(default_factory=list)  # every hop, in the order requested
    playwright: list[tuple[int, Any]] = field(default_factory=list)  # (ms, Playwright request): the backfill
    filtered: Counter = field(default_factory=Counter)  # non-network URLs seen, by scheme
    set_cookies: list[SetCookies] = field(default_factory=list)
    main_request_id: str | None = None
    dropped: int = 0  # requests over the visit's limit
    subscribed: bool = False
    body_bytes: int = 0  # POST body bytes kept in memory
    bodies_over_budget: int = 0

    def hop_row(self, request_id: str, hop: int) -> tuple[dict, tuple] | None:
        """(row, ref) of hop `hop` of request `request_id`, if it was recorded."""
        chain = self.chains.get(request_id)
        if chain is None or not 0 <= hop < len(chain.hops):
            return None
        return chain.hops[hop].row, chain.hops[hop].ref

    def main_status(self) -> int | None:
        """The HTTP status of the main document's last hop (None before a response)."""
        chain = self.chains.get(self.main_request_id or "")
        return chain.hops[-1].row.get("status") if chain is not None and chain.hops else None


@dataclass
class CallsState:
    """The visit's recorder: its random names, the APIs armed, and what was read so far (`visit.shared.calls`)."""

    name: str  # the recorder's script-scope binding
    source: str  # the recorder (workers run it as is)
    page_source: str  # the recorder, a `debugger` statement and our sourceURL (documents)
    source_url: str
    hash: str  # of page_source: how `Debugger.scriptParsed` tells ours
    start_line: int  # the line of our `debugger` (0-based, as CDP locations)
    apis: frozenset[int]  # catalogue indices armed
    workers: bool  # workers get the recorder too
    entries: dict = field(default_factory=dict)  # (target, context, key) -> (frame URL, recorder entry)
    paused: Counter = field(default_factory=Counter)  # (script, frame URL, API) -> real pauses
    paused_first: dict = field(default_factory=dict)
    subscribed: bool = False
    read_after_load: bool = False
