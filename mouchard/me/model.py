"""The records `mouchard me` passes between its modules: a person, what an organisation received about them, a
contact, a letter. Plain frozen dataclasses; the database rows (me_* tables) are their `as_row()`."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from mouchard.errors import UserError

LANGUAGES = ("fr", "en")
# Letter kinds, in the order a person would send them.
LETTER_KINDS = ("access", "objection", "erasure", "ccpa-know", "ccpa-delete", "reminder", "complaint")
REQUEST_KINDS = ("access", "objection", "erasure", "ccpa-know", "ccpa-delete")
REGIMES = ("gdpr", "ccpa")


@dataclass(frozen=True)
class Person:
    """Who the letters are from. `identifiers` are the person's own values by kind (the device profile's
    `identifiers`: advertising_id, email, phone, ...); `position` is (lat, lon) or None."""

    name: str
    email: str | None = None
    postal_address: str | None = None  # several lines
    country: str = "FR"  # ISO 3166 alpha-2: the authority a complaint goes to
    region: str | None = None  # e.g. "CA": CCPA letters are for California residents
    language: str = "fr"
    identifiers: tuple[tuple[str, str], ...] = ()
    position: tuple[float, float] | None = None
    profile: dict = field(default_factory=dict, compare=False)  # the device profile's data (me_person.profile)

    def value(self, kind: str) -> str | None:
        return dict(self.identifiers).get(kind)


@dataclass(frozen=True)
class Received:
    """One thing an organisation received about the person (a me_received row)."""

    kind: str  # cookie, advertising_id, email_hash, location, bid_field, id_sync, page_view, connection, ...
    name: str | None  # cookie name, parameter, header or JSON path
    value: str | None  # the exact value, as quoted in letters
    host: str  # host that received or set it
    source: str  # site visited or app
    source_kind: str  # "site" or "app"
    first_seen: str  # UTC ISO 8601
    last_seen: str
    times: int = 1
    consent: str | None = None  # none-asked, no-choice, refused, accepted, gpc; None for apps
    precision_m: float | None = None
    recipients: tuple[str, ...] = ()  # organisations it went on to
    evidence: tuple[tuple[str, int], ...] = ()  # (table, id)


@dataclass(frozen=True)
class Contact:
    """Where to send a company's privacy requests, and where that came from."""

    email: str | None = None
    url: str | None = None  # privacy page or form
    address: str | None = None  # postal address, several lines
    source: str = "none"  # datenanfragen, gvl, broker:<registry>, none
    source_id: int | None = None  # me_contact_sources.id
    source_url: str | None = None  # the database or page it came from
    fetched_at: str | None = None


@dataclass(frozen=True)
class Company:
    """One organisation that received data about the person (a me_companies row and its me_received rows)."""

    key: str  # lower-case slug of the name: stable across rebuilds
    name: str
    domains: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()  # trackers:<list>, gvl:<vendor id>, broker:<registry>, domain
    gvl_vendor_id: int | None = None
    leg_int_purposes: tuple[int, ...] = ()
    broker_registries: tuple[str, ...] = ()
    regimes: tuple[str, ...] = ("gdpr",)
    received: tuple[Received, ...] = ()
    recipients: tuple[str, ...] = ()
    contact: Contact = Contact()
    id: int | None = None  # me_companies.id once stored

    @property
    def first_seen(self) -> str | None:
        return min((r.first_seen for r in self.received if r.first_seen), default=None)

    @property
    def last_seen(self) -> str | None:
        return max((r.last_seen for r in self.received if r.last_seen), default=None)


@dataclass(frozen=True)
class Letter:
    """One letter, ready to render: `text` is the plain-text body; `html` the same letter as an HTML document
    (every crawled string escaped)."""

    company_key: str
    company_name: str
    kind: str  # LETTER_KINDS
    language: str  # fr or en
    recipient: str | None  # e-mail, form URL or postal address
    subject: str
    text: str
    html: str
    written_on: dt.date


MAX_KEY = 64  # characters of a company key in a file name


def file_stem(letter: Letter) -> str:
    """`<key>-<kind>-<language>`: a letter's file name without extension; the key slugged again ([a-z0-9-], at most
    MAX_KEY characters), whatever it holds."""
    key = re.sub(r"[^a-z0-9-]+", "-", (letter.company_key or "").lower())
    key = re.sub(r"-{2,}", "-", key).strip("-")[:MAX_KEY].strip("-") or "company"
    if letter.kind not in LETTER_KINDS or letter.language not in LANGUAGES:
        raise UserError(f"unknown letter kind or language: {letter.kind[:20]!r} {letter.language[:5]!r}")
    return f"{key}-{letter.kind}-{letter.language}"
