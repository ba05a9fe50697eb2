"""Organisation resolution for `mouchard me`: which company a row of the private database names, and the companies
found so far with what each received (accumulation), completed from the vendor list and the broker registries.

`Organisations.resolve` is the one place a row becomes an organisation: the row's tracker company (tracker lists),
else the company the tracker lists give the same registrable domain elsewhere in the database, else the GVL vendor
of the host (its tracker company, else its GVL name), else the registrable domain itself. A Prebid bidder code goes
through the GVL (`resolve_bidder`). `finish` then completes the companies from the newest recorded vendor list
(`gvl_vendor_id`, `leg_int_purposes`) and the broker registries (`broker_registries`, regime `ccpa`), and names a
company known only by its domain as registered when it is a broker.

It also holds the bounded readers of hostile columns (`_text`, `_json`, `_rows`, ...) that mouchard.me.received
reads its sources with, and the caps both modules share.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import re
import sqlite3
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from mouchard.decode.consent import vendor_for
from mouchard.decode.domains import site_of
from mouchard.me.model import Company, Received
from mouchard.registries import STATES
from mouchard.vendors.conduct import load_declared
from mouchard.vendors.match import VendorMatcher, known_hosts

MAX_ROWS = 200_000  # rows read per table
MAX_ITEMS = 500  # received items per company (the most telling kept: see mouchard.me.received._RANK)
MAX_EVIDENCE = 20  # (table, id) references per item
MAX_RECIPIENTS = 100
MAX_DOMAINS = 50
TEXT_LIMIT = 4096  # a value as quoted in a letter
NAME_LIMIT = 300
JSON_LIMIT = 1_000_000  # characters of a JSON column parsed at most
CHUNK = 500  # ids per IN (...) query


# -- bounded reading of hostile columns ----------------------------------------------------------------------

def _text(value: Any, limit: int = TEXT_LIMIT) -> str | None:
    """A column as bounded text: bytes decoded, numbers written, anything else None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (bytes, bytearray, memoryview)):
        value = bytes(value[:limit * 4]).decode("utf-8", "replace")
    elif isinstance(value, (int, float)):
        value = str(value)
    elif not isinstance(value, str):
        return None
    return value[:limit]


def _host(value: Any) -> str:
    text = (_text(value, 300) or "").strip().lower()
    return text.lstrip(".").rstrip(".")


def _site(host: str) -> str:
    try:
        return site_of(host) if host else ""
    except (ValueError, UnicodeError):
        return ""


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _json(value: Any) -> Any:
    """A JSON column parsed, or None: too long, invalid or too deep counts as absent."""
    text = _text(value, JSON_LIMIT + 1)
    if not text or len(text) > JSON_LIMIT:
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


@contextlib.contextmanager
def _tolerant(conn: sqlite3.Connection) -> Iterator[None]:
    """Read text that is not valid UTF-8 (a hostile or damaged row) with replacement characters instead of
    failing the whole query; the connection's own setting is restored after."""
    before = conn.text_factory
    conn.text_factory = lambda data: data.decode("utf-8", "replace")
    try:
        yield
    finally:
        conn.text_factory = before


def _rows(conn: sqlite3.Connection, sql: str, params: Iterable = ()) -> list[sqlite3.Row | tuple]:
    """Rows of a query, [] when the table or a column is missing (an older or partial database)."""
    try:
        return conn.execute(sql, tuple(params)).fetchmany(MAX_ROWS)
    except sqlite3.Error:
        return []


def _by_ids(conn: sqlite3.Connection, sql: str, ids: Iterable[int]) -> dict[int, tuple]:
    """{id: row} for `sql` (which selects id first and ends in `IN ({})`), ids queried by chunks."""
    wanted = sorted({i for i in ids if _int(i) is not None})
    out: dict[int, tuple] = {}
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start:start + CHUNK]
        for row in _rows(conn, sql.format(", ".join("?" * len(chunk))), chunk):
            out[row[0]] = row
    return out


def _list_name(tracker_list: Any) -> str:
    """`mouchard: doubleclick.net` -> `mouchard`: the list, not its rule."""
    name = (_text(tracker_list, 100) or "").split(":", 1)[0].strip().lower()
    return re.sub(r"[^a-z0-9_.-]+", "-", name) or "trackers"


# -- the companies found and what each received (accumulation) ---------------------------------------------

@dataclass
class Item:
    """One received item of a company as observations are counted: first and last time, times, evidence."""

    kind: str
    name: str | None
    value: str | None
    host: str
    source: str
    source_kind: str
    consent: str | None
    rank: int
    first: str = ""
    last: str = ""
    times: int = 0
    precision_m: float | None = None
    recipients: set[str] = field(default_factory=set)
    evidence: list[tuple[str, int]] = field(default_factory=list)


@dataclass
class _Company:
    name: str
    sources: set[str] = field(default_factory=set)
    domains: set[str] = field(default_factory=set)
    items: dict[tuple, Item] = field(default_factory=dict)
    recipients: set[str] = field(default_factory=set)


class Organisations:
    """Organisation resolution (see the module docstring) and the companies found so far."""

    def __init__(self, conn: sqlite3.Connection):
        try:  # the newest recorded vendor list (GVL) and tracker companies of its vendors; None without one
            declared = load_declared(conn)
        except (sqlite3.Error, ValueError, TypeError):
            declared = None
        self.declared = declared
        self.matcher = None
        if declared is not None:
            self.matcher = VendorMatcher(declared, declared.entities)
        # The tracker lists name a site's company on some rows (requests, cookies): the same site elsewhere
        # (an exchange host in a bid, an id sync's target) is the same company.
        self.entity_of_site: dict[str, tuple[str, str]] = {}
        ambiguous: set[str] = set()
        for table, column in (("requests", "site"), ("cookies", "site"), ("leaks", "destination_site"),
                              ("flows", "site")):
            sql = (f"SELECT {column}, tracker_entity, tracker_list FROM {table} WHERE tracker_entity != '' "
                   f"GROUP BY {column}, tracker_entity LIMIT ?")
            for site, entity, tracker_list in _rows(conn, sql, (MAX_ROWS,)):
                site, entity = _site(_host(site)), _text(entity, NAME_LIMIT)
                if not site or not entity or site in ambiguous:
                    continue
                known = self.entity_of_site.get(site)
                if known and known[0] != entity:
                    ambiguous.add(site)
                    del self.entity_of_site[site]
                elif not known:
                    self.entity_of_site[site] = (entity, _list_name(tracker_list))
        self.companies: dict[str, _Company] = {}
        self.dropped = 0
        self._bidders: dict[str, tuple[str, tuple[str, ...], str] | None] = {}

    def vendor_name(self, vendor_id: int) -> str | None:
        """The organisation of a GVL vendor: its tracker company, else its name in the recorded list."""
        if self.declared is None or self.declared.vendor(vendor_id) is None:
            return None
        return self.declared.entities.get(vendor_id) or self.declared.vendor(vendor_id).name or None

    def resolve(self, entity: Any, host: Any, tracker_list: Any = None) -> tuple[str, tuple[str, ...], str] | None:
        """(organisation name, sources, registrable domain) of a row; None when nothing names one."""
        host = _host(host)
        site = _site(host)
        name = _text(entity, NAME_LIMIT)
        if name and name.strip():
            name = name.strip()
            if _text(tracker_list) is None and self.entity_of_site.get(site, ("",))[0] == name:
                tracker_list = self.entity_of_site[site][1]  # id syncs name the company but not the list
            return name, (f"trackers:{_list_name(tracker_list)}",), site
        if not site:
            return None
        if site in self.entity_of_site:
            name, listed = self.entity_of_site[site]
            return name, (f"trackers:{listed}",), site
        if self.matcher is not None:
            vendors = sorted(self.matcher.host(host))
            if len(vendors) == 1 and (name := self.vendor_name(vendors[0])):
                return name, (f"gvl:{vendors[0]}",), site
        return site, ("domain",), site

    def resolve_bidder(self, code: Any) -> tuple[str, tuple[str, ...], str] | None:
        """The organisation of a Prebid bidder code (`appnexus` -> Microsoft) through the GVL."""
        text = (_text(code, 100) or "").strip()
        if not text:
            return None
        if text not in self._bidders:
            if len(self._bidders) > 10_000:  # bounded memo: a bid log of many codes must not grow it forever
                self._bidders.clear()
            self._bidders[text] = self._resolve_bidder(text)
        return self._bidders[text]

    def _resolve_bidder(self, text: str) -> tuple[str, tuple[str, ...], str] | None:
        if "." in text:
            return self.resolve(None, text)
        vendor_ids = sorted(self.matcher.bidder(text)) if self.matcher is not None else []
        if not vendor_ids:
            known = vendor_for(text)
            vendor_ids = [known.id] if known is not None else []
            if known is not None and (self.declared is None or self.declared.vendor(known.id) is None):
                sites = [_site(h) for h in known_hosts(known.id)]
                for site in sites:  # a tracker list names the company behind one of the vendor's hosts
                    if site in self.entity_of_site:
                        return self.entity_of_site[site][0], (f"trackers:{self.entity_of_site[site][1]}",), site
                return known.name, ("bidder",), sites[0] if sites else ""
        if len(vendor_ids) == 1 and (name := self.vendor_name(vendor_ids[0])):
            return name, (f"gvl:{vendor_ids[0]}",), ""
        return text.lower(), ("bidder",), ""

    def add(self, org: tuple[str, tuple[str, ...], str], *, kind: str, name: Any, value: Any, host: str,
            source: str, source_kind: str, consent: str | None, rank: int, when: str | None,
            ref: tuple[str, int] | None, times: int = 1, last: str | None = None,
            precision_m: float | None = None, recipients: Iterable[str] = ()) -> Item | None:
        """Count one observation for the organisation `org` (from `resolve`); returns its item."""
        company_name, sources, site = org
        key = company_key(company_name)
        company = self.companies.get(key)
        if company is None:
            company = self.companies[key] = _Company(company_name)
        company.sources.update(sources)
        # a tracker's cookie set on the visited site (_ga) does not make that site one of the tracker's domains
        if site and len(company.domains) < MAX_DOMAINS and not (source_kind == "site" and site == source):
            company.domains.add(site)
        item_key = (kind, _text(name, NAME_LIMIT), _text(value), host[:NAME_LIMIT], source[:NAME_LIMIT], consent)
        item = company.items.get(item_key)
        if item is None:
            if len(company.items) >= MAX_ITEMS * 4:  # trimmed to MAX_ITEMS by rank in finish
                self.dropped += 1
                return None
            item = company.items[item_key] = Item(kind, item_key[1], item_key[2], item_key[3], item_key[4],
                                                   source_kind, consent, rank)
        when = _text(when, 64) or ""
        last = _text(last, 64) or when
        if when:  # an unknown time neither starts nor ends what is known
            item.first = min(item.first, when) if item.first else when
        item.last = max(item.last, last, when)
        item.times += max(1, min(times, 1_000_000_000))
        item.rank = min(item.rank, rank)
        if precision_m is not None:
            item.precision_m = precision_m if item.precision_m is None else min(item.precision_m, precision_m)
        if ref is not None and len(item.evidence) < MAX_EVIDENCE and ref not in item.evidence:
            item.evidence.append(ref)
        for other in recipients:
            if other != company_name and len(item.recipients) < MAX_RECIPIENTS:
                item.recipients.add(other)
        return item


# -- completing companies: GVL and broker registries -----------------------------------------------------------

def _brokers(conn: sqlite3.Connection) -> tuple[dict[str, set[str]], dict[str, set[str]], dict[str, str]]:
    """({site: registries}, {tracker company: registries}, {site: broker name}) of the broker registrations."""
    by_site: dict[str, set[str]] = {}
    by_entity: dict[str, set[str]] = {}
    names: dict[str, str] = {}
    for registry, site, websites, entity, name in _rows(
            conn, "SELECT registry, site, substr(websites, 1, 1000001), tracker_entity, name FROM brokers "
                  "ORDER BY id LIMIT ?",
            (MAX_ROWS,)):
        registry = (_text(registry, 40) or "").strip().lower()
        if not registry:
            continue
        sites = {_site(_host(site))}
        listed = _json(websites)
        for website in (listed if isinstance(listed, list) else [])[:20]:
            text = _text(website, 300)
            if text:
                try:
                    sites.add(site_of(text))
                except (ValueError, UnicodeError):
                    pass
        for one in sites - {""}:
            by_site.setdefault(one, set()).add(registry)
            if _text(name, NAME_LIMIT):
                names.setdefault(one, _text(name, NAME_LIMIT).strip())
        if _text(entity, NAME_LIMIT):
            by_entity.setdefault(_text(entity, NAME_LIMIT), set()).add(registry)
    return by_site, by_entity, names


def _gvl_vendor(orgs: Organisations, company: _Company, hosts: Iterable[str]) -> int | None:
    """The company's GVL vendor: the one vendor of its tracker company, else the vendor most of its hosts
    belong to (lowest id on a tie)."""
    if orgs.matcher is None:
        return None
    by_entity = orgs.matcher.entity(company.name)
    if len(by_entity) == 1:
        return next(iter(by_entity))
    votes: Counter[int] = Counter()
    for host in list(hosts)[:200]:
        for vendor_id in orgs.matcher.host(host):
            votes[vendor_id] += 1
    if not votes:
        return None
    return min(votes.items(), key=lambda kv: (-kv[1], kv[0]))[0]


def finish(orgs: Organisations, conn: sqlite3.Connection, since: str | None) -> list[Company]:
    """The companies `orgs` found, sorted by name: items last seen at or after `since` (a stored UTC time prefix,
    None for all), at most MAX_ITEMS each (the most telling), completed from the GVL and the broker registries."""
    by_site, by_entity, broker_names = _brokers(conn)
    kept: list[tuple[_Company, list[Item], set[str]]] = []
    for company in orgs.companies.values():
        items = sorted((i for i in company.items.values() if since is None or (i.last or i.first)[:19] >= since),
                       key=lambda i: (i.rank, i.first, i.kind, i.name or "", i.value or "", i.host, i.source,
                                      i.consent or ""))
        if not items:
            continue
        orgs.dropped += max(0, len(items) - MAX_ITEMS)
        registries = set(by_entity.get(company.name, ()))
        for site in company.domains:
            registries |= by_site.get(site, set())
        kept.append((company, items[:MAX_ITEMS], registries))
    # A company known only by its domain and registered as a broker is named as registered (who a letter goes
    # to), unless another company already holds that name's key.
    taken = {company_key(c.name) for c, _, _ in kept}
    renamed: dict[str, str] = {}
    for company, _, registries in kept:
        broker_name = next((broker_names[s] for s in sorted(company.domains) if s in broker_names), None)
        if registries and company.sources == {"domain"} and broker_name and company_key(broker_name) not in taken:
            renamed[company.name] = broker_name
            taken.add(company_key(broker_name))

    def names(found: Iterable[str], own: str) -> tuple[str, ...]:
        return tuple(sorted({renamed.get(n, n) for n in found} - {own}))[:MAX_RECIPIENTS]

    out = []
    for company, items, registries in kept:
        name = renamed.get(company.name, company.name)
        sources = set(company.sources) | {f"broker:{r}" for r in registries}
        vendor_id = _gvl_vendor(orgs, company, sorted({i.host for i in items} | company.domains))
        leg_int: tuple[int, ...] = ()
        if vendor_id is not None:
            sources.add(f"gvl:{vendor_id}")
            vendor = orgs.declared.vendor(vendor_id)
            leg_int = tuple(sorted(p for p in (vendor.leg_int_purposes or ()) if isinstance(p, int)))
        received = tuple(Received(
            kind=i.kind, name=i.name, value=i.value, host=i.host, source=i.source, source_kind=i.source_kind,
            first_seen=i.first, last_seen=i.last, times=i.times, consent=i.consent, precision_m=i.precision_m,
            recipients=names(i.recipients, name), evidence=tuple(i.evidence)) for i in items)
        out.append(Company(
            key=company_key(name), name=name, domains=tuple(sorted(company.domains)), sources=tuple(sorted(sources)),
            gvl_vendor_id=vendor_id, leg_int_purposes=leg_int, broker_registries=tuple(sorted(registries)),
            regimes=("gdpr", "ccpa") if registries & set(STATES) else ("gdpr",), received=received,
            recipients=names(company.recipients | {r for i in received for r in i.recipients}, name)))
    return sorted(out, key=lambda c: (c.name.casefold(), c.key))


def company_key(name: str) -> str:
    """The stable key of an organisation name: lower-case ASCII slug (`Microsoft (Xandr)` -> `microsoft-xandr`);
    a name with no ASCII letter or digit gets `org-` and a digest of it."""
    text = (name or "")[:NAME_LIMIT]
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")[:100].strip("-")
    return slug or "org-" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:12]


__all__: Iterable[str] = ("Item", "Organisations", "company_key", "finish")
