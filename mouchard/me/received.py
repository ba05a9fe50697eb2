"""What each organisation received about the person, from the rows of their private database.

Five sources, each read with a cap (`MAX_ROWS` rows per table) and grouped so that one `Received` is one
(kind, name, value, host, source, consent state):

- cookies of web visits that are third-party or have a tracker company, and cookies of app flows (`cookie`);
- leaks: the person's own values found in traffic (`advertising_id`, `email_hash`, `location`, ...), with the
  exact value the company received, rebuilt from the person's value and the leak's decoding chain;
- bid requests (`rtb`) carrying personal fields (`bid_field`), and, for the exchange, the bidders it passed
  them to (GDPR Art. 15(1)(c) recipients);
- id syncs (`id_sync`): the receiving side got the owner's cookie value; the owner gets the receiver as recipient;
- page views of tracker companies during web visits (`page_view`), and app connections to a company that no
  leak was found for (`connection`, the iOS App Privacy Report's rows).

Which organisation a row names, and the accumulation of what each received, are mouchard.me.organisations
(`Organisations.resolve`, the one place; `finish` completes the companies from the GVL and broker registries).
This module reads the sources (`analyse`), stores the result (`rebuild`) and reads it back (`load_companies`).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from mouchard.decode.domains import is_ip
from mouchard.decode.encodings import HASHES, encoded_forms
from mouchard.errors import UserError
from mouchard.identify.identifiers import TOKENS, normal_forms
from mouchard.identify.location import geohash
from mouchard.me.model import Company, Contact, Person, Received
from mouchard.me.organisations import (
    JSON_LIMIT,
    MAX_DOMAINS,
    MAX_EVIDENCE,
    MAX_RECIPIENTS,
    MAX_ROWS,
    NAME_LIMIT,
    TEXT_LIMIT,
    Item,
    Organisations,
    _by_ids,
    _float,
    _host,
    _int,
    _json,
    _rows,
    _site,
    _text,
    _tolerant,
    company_key,
    finish,
)
from mouchard.storage.private import is_private
from mouchard.storage.schema import BY_NAME
from mouchard.storage.store import utcnow

MAX_FIELDS = 50  # personal fields read per bid row, bidders per auction row

# Consent state of a web item from its visit's phase; "initial" (and a visit without phase) depends on a CMP.
CONSENT_BY_PHASE = {"reject": "refused", "accept": "accepted", "gpc": "gpc", "revoke": "withdrawn",
                    "second-site": "refused"}
# Order of the items of a company: identifier cookies first, then the person's own values, then the rest.
_RANK = {"cookie-id": 0, "leak": 1, "bid_field": 2, "id_sync": 3, "cookie": 4, "page_view": 5, "connection": 6}
_DECIMALS = re.compile(r"decimals:(\d{1,2})\Z")
_GEOHASH = re.compile(r"geohash:(\d{1,2})\Z")
_LOCAL_HOSTS = ("localhost", "localhost.localdomain")

REDACTION_TOKENS = frozenset({*TOKENS.values(), "[IDFA]"})  # what a capture stores in place of a planted value


# -- the person's values as a company received them ----------------------------------------------------------

@functools.lru_cache(maxsize=256)
def _hashed_needles(kind: str, value: str) -> tuple[tuple[tuple[str, ...], str], ...]:
    """(needle chain, wire form) of every hashed form of the person's value, built exactly as the leak detector
    builds its needles (mouchard.identify.leakdetect: normal_forms, then encoded_forms)."""
    out = []
    for label, form in normal_forms(kind, value):
        for wire, chain in encoded_forms(form, hashes=True):
            steps = tuple(s for s in chain.split(">") if s) + ((label,) if label else ())
            if any(step in HASHES for step in steps):
                out.append((steps, wire))
    return tuple(out)


def hashed_value(kind: str, value: str, chain: str) -> str | None:
    """The hashed form of `value` a leak's `chain` ends with (`json:$.em>sha256` -> sha256 hex of the normalised
    e-mail), as it travelled; None when no hashed needle of the value ends the chain."""
    steps = tuple((chain or "").split(">"))
    best: tuple[int, str] | None = None
    for needle, wire in _hashed_needles(kind, value):
        fits = len(needle) <= len(steps) and steps[len(steps) - len(needle):] == needle
        if fits and (best is None or len(needle) > best[0]):  # the most specific needle: sha256>gmail-canonical
            best = (len(needle), wire)
    return best[1] if best else None


def _has_hash(chain: str) -> bool:
    return any(step in HASHES for step in (chain or "").split(">"))


def position_value(position: tuple[float, float] | None, chain: str) -> str | None:
    """The person's position as the leak's chain says it was written: `decimals:N` rounded to N decimals,
    `microdegrees` and `e7` as integers, `geohash:N` as a geohash; else as in the profile."""
    if position is None:
        return None
    lat, lon = position
    for step in reversed((chain or "").split(">")):
        if m := _DECIMALS.match(step):
            n = min(int(m[1]), 15)
            return f"{lat:.{n}f}, {lon:.{n}f}"
        if step == "microdegrees":
            return f"{round(lat * 1e6)}, {round(lon * 1e6)}"
        if step == "e7":
            return f"{round(lat * 1e7)}, {round(lon * 1e7)}"
        if m := _GEOHASH.match(step):
            return geohash(lat, lon, max(1, min(int(m[1]), 12)))
    return f"{lat}, {lon}"


def _leak_value(person: Person, kind: str, chain: str) -> tuple[str, str | None]:
    """(kind, value) of a leak: `<kind>_hash` and the hash when its chain has a hash step, else the person's value."""
    if kind == "location":
        return kind, position_value(person.position, chain)
    own = person.value(kind) or (person.email if kind == "email" else None)
    if _has_hash(chain):
        return f"{kind}_hash", hashed_value(kind, own, chain) if own else None
    return kind, own


def _path_value(data: Any, path: str) -> str | None:
    """A bid request's personal field read from its `fields` (device.geo -> "lat, lon"); None when the field is
    absent, a flag (`ifa: true`) or a redaction placeholder."""
    node = data
    for part in path.split(".")[:8]:
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    if isinstance(node, dict):
        lat, lon = _float(node.get("lat")), _float(node.get("lon"))
        return f"{lat}, {lon}" if lat is not None and lon is not None else None
    if isinstance(node, str):
        if not node or (node.startswith("[") and node.endswith("]")):  # "[LOCATION]": redacted at capture
            return None
        return node[:TEXT_LIMIT]
    if isinstance(node, (int, float)) and not isinstance(node, bool):
        return str(node)
    if isinstance(node, list) and node:
        try:
            text = json.dumps(node[:MAX_FIELDS], ensure_ascii=False, sort_keys=True)
        except (ValueError, TypeError, RecursionError):
            return None
        return text[:TEXT_LIMIT]
    return None


# -- the sources ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Visit:
    site: str
    url: str | None
    started_at: str
    consent: str | None


@dataclass(frozen=True)
class _Flow:
    app: str
    started_at: str
    host: str
    hits: int | None
    report: Any
    entity: Any
    tracker_list: Any


def _stored_choices(conn: sqlite3.Connection) -> dict[int, str]:
    """Visit -> "accepted" or "refused" when a TC string was already in force as the page loaded, before any click
    of this visit: the person's own earlier choice, kept in their browser profile (`me crawl --browser-profile`). A
    string with any purpose consented counts as accepted; one with none as refused."""
    choices: dict[int, str] = {}
    for vid, decoded in _rows(conn, "SELECT visit_id, substr(decoded, 1, ?) FROM consent WHERE framework = 'tcf' "
                                    "AND source IN ('cookie', 'api') AND (event_status IS NULL OR event_status IN "
                                    "('', 'tcloaded')) AND (action IS NULL OR action IN ('', 'none')) LIMIT ?",
                              (JSON_LIMIT + 1, MAX_ROWS)):
        data = _json(decoded)
        purposes = data.get("purposes_consent") if isinstance(data, dict) else None
        if _int(vid) is not None and isinstance(purposes, list):
            choices[vid] = "accepted" if purposes or choices.get(vid) == "accepted" else "refused"
    return choices


def _visits(conn: sqlite3.Connection) -> dict[int, _Visit]:
    with_cmp = {r[0] for r in _rows(conn, "SELECT DISTINCT visit_id FROM consent WHERE cmp != '' OR framework != '' "
                                          "OR cmp_id IS NOT NULL LIMIT ?", (MAX_ROWS,))}
    stored = _stored_choices(conn)
    out = {}
    for vid, site, url, phase, started in _rows(conn, "SELECT id, site, substr(url, 1, 4096), phase, started_at "
                                                      "FROM visits "
                                                      "ORDER BY id LIMIT ?", (MAX_ROWS,)):
        if _int(vid) is None:
            continue
        phase = _text(phase, 40)
        if phase in (None, "", "initial"):
            consent = stored.get(vid) or ("no-choice" if vid in with_cmp else "none-asked")
        else:
            consent = CONSENT_BY_PHASE.get(phase)
        out[vid] = _Visit(_site(_host(site)) or (_text(site, NAME_LIMIT) or ""), _text(url),
                          _text(started, 64) or "", consent)
    return out


def _flows(conn: sqlite3.Connection) -> dict[int, _Flow]:
    out = {}
    for fid, app, started, host, hits, report, entity, tracker_list in _rows(
            conn, "SELECT id, app, started_at, host, hits, substr(report, 1, 1000001), tracker_entity, tracker_list "
                  "FROM flows "
                  "ORDER BY id LIMIT ?", (MAX_ROWS,)):
        if _int(fid) is None:
            continue
        out[fid] = _Flow((_text(app, NAME_LIMIT) or "").strip() or "unknown-app", _text(started, 64) or "",
                         _host(host), _int(hits), report, entity, tracker_list)
    return out


class _Pass:
    """One analysis: the sources read in order (page views and connections last: they depend on the others)."""

    def __init__(self, conn: sqlite3.Connection, person: Person):
        self.conn = conn
        self.person = person
        self.orgs = Organisations(conn)
        self.visits = _visits(conn)
        self.flows = _flows(conn)
        self.cookie_items: dict[int, list[Item]] = {}  # cookie id -> its items, for id-sync recipients
        self.leaked_apps: set[tuple[str, str]] = set()  # (company key, app): no `connection` item for these

    def origin(self, visit_id: Any, flow_id: Any) -> tuple[str, str, str, str | None, str | None] | None:
        """(source, source_kind, time, consent, first-party site) of a row's visit or flow."""
        if _int(visit_id) is not None and visit_id in self.visits:
            v = self.visits[visit_id]
            return v.site, "site", v.started_at, v.consent, v.site
        if _int(flow_id) is not None and flow_id in self.flows:
            f = self.flows[flow_id]
            return f.app, "app", f.started_at, None, None
        return None

    def cookies(self) -> None:
        # A web visit's cookie counts when the visit saw it set (its response or script is known), or reached the
        # cookie's site (so the browser sent it): in a person's own profile (`me crawl --browser-profile`) the jar
        # also holds other sites' cookies the visit never sent anywhere.
        for cid, visit_id, flow_id, name, value, domain, third_party, identifier, entity, tracker_list in _rows(
                self.conn, "SELECT id, visit_id, flow_id, name, substr(value, 1, 4096), domain, third_party, "
                           "identifier, tracker_entity, tracker_list FROM cookies WHERE (visit_id IS NOT NULL AND "
                           "(third_party = 1 OR tracker_entity != '') AND (request_id IS NOT NULL OR setter_url != '' "
                           "OR EXISTS (SELECT 1 FROM requests r WHERE r.visit_id = cookies.visit_id AND "
                           "r.site = cookies.site))) OR flow_id IS NOT NULL ORDER BY id LIMIT ?",
                (MAX_ROWS,)):
            origin = self.origin(visit_id, flow_id)
            if origin is None:
                continue
            source, kind, when, consent, first_party = origin
            if isinstance(value, str) and value in REDACTION_TOKENS:
                # The capture stored the person's value as its token ([IMEI]): the leak row of that cookie says
                # what it held and quotes the value exactly; "[IMEI]" would only confuse the letter.
                continue
            host = _host(domain) or (self.flows[flow_id].host if kind == "app" else "")
            org = self.orgs.resolve(entity, host, tracker_list)
            if org is None or (kind == "site" and not _text(entity) and (third_party != 1 or org[2] == first_party)):
                continue
            rank = _RANK["cookie-id" if identifier == 1 else "cookie"]
            item = self.orgs.add(org, kind="cookie", name=name, value=value, host=host, source=source,
                                 source_kind=kind, consent=consent, rank=rank,
                                 when=when, ref=("cookies", cid))
            if item is not None and _int(cid) is not None:
                self.cookie_items.setdefault(cid, []).append(item)

    def leaks(self) -> None:
        for lid, visit_id, flow_id, identifier, chain, fld, host, third_party, precision, entity, tracker_list in _rows(
                self.conn, "SELECT id, visit_id, flow_id, identifier, chain, field, destination_host, third_party, "
                           "precision_m, tracker_entity, tracker_list FROM leaks ORDER BY id LIMIT ?", (MAX_ROWS,)):
            origin = self.origin(visit_id, flow_id)
            identifier = (_text(identifier, 100) or "").strip()
            if origin is None or not identifier:
                continue
            source, kind, when, consent, first_party = origin
            host = _host(host)
            org = self.orgs.resolve(entity, host, tracker_list)
            if org is None or (not _text(entity) and (third_party == 0 or (first_party and org[2] == first_party))):
                continue
            chain = _text(chain, 2000) or ""
            leak_kind, value = _leak_value(self.person, identifier, chain)
            self.orgs.add(org, kind=leak_kind, name=_text(fld, NAME_LIMIT) or chain[:NAME_LIMIT] or None,
                          value=value, host=host, source=source, source_kind=kind, consent=consent,
                          rank=_RANK["leak"], when=when, ref=("leaks", lid),
                          precision_m=_float(precision) if identifier == "location" else None)
            if kind == "app":
                self.leaked_apps.add((company_key(org[0]), source))

    def bids(self) -> None:
        rows = _rows(self.conn, "SELECT id, visit_id, flow_id, auction_id, bidder, exchange, "
                                "substr(personal_fields, 1, 1000001), substr(fields, 1, 1000001), "
                                "tracker_entity, tracker_list FROM rtb ORDER BY id LIMIT ?", (MAX_ROWS,))
        # Every bidder of an auction (requests, responses, wins): who the exchange passed the person's data to.
        bidders_of: dict[tuple, set[str]] = {}
        parsed = []
        for rid, visit_id, flow_id, auction_id, bidder, exchange, personal, fields, entity, tracker_list in rows:
            data = _json(fields)
            data = data if isinstance(data, dict) else {}
            codes = [c for c in (_text(bidder, 2000) or "").split(",")[:MAX_FIELDS] if c.strip()]
            for imp in (data.get("imps") if isinstance(data.get("imps"), list) else [])[:MAX_FIELDS]:
                if isinstance(imp, dict) and isinstance(imp.get("bidders"), list):
                    codes += [c for c in imp["bidders"][:MAX_FIELDS] if isinstance(c, str)]
            orgs = {o[0] for o in (self.orgs.resolve_bidder(c) for c in codes[:MAX_FIELDS]) if o}
            auction = _text(auction_id, 200)
            key = ("auction", visit_id, flow_id, auction) if auction else ("row", rid)
            if len(bidders_of.get(key, ())) < MAX_RECIPIENTS:
                bidders_of.setdefault(key, set()).update(orgs)
            parsed.append((rid, visit_id, flow_id, key, codes, _host(exchange), _json(personal), data, entity,
                           tracker_list))
        for rid, visit_id, flow_id, key, codes, exchange, personal, data, entity, tracker_list in parsed:
            if not isinstance(personal, list) or not personal:
                continue
            origin = self.origin(visit_id, flow_id)
            if origin is None:
                continue
            source, kind, when, consent, first_party = origin
            if exchange:
                org = self.orgs.resolve(entity, exchange, tracker_list)
                recipients = sorted(bidders_of.get(key, ()))
            else:
                org = self.orgs.resolve(entity, None, tracker_list) if _text(entity) else (
                    self.orgs.resolve_bidder(codes[0]) if codes else None)
                recipients = []
            if org is None or (not _text(entity) and first_party and org[2] == first_party):
                continue
            host = exchange or (codes[0].strip().lower()[:NAME_LIMIT] if codes else "")
            for path in personal[:MAX_FIELDS]:
                path = _text(path, 200)
                if not path:
                    continue
                self.orgs.add(org, kind="bid_field", name=path, value=_path_value(data, path), host=host,
                              source=source, source_kind=kind, consent=consent, rank=_RANK["bid_field"], when=when,
                              ref=("rtb", rid), recipients=recipients)
            company = self.orgs.companies.get(company_key(org[0]))
            if company is not None:
                company.recipients.update(r for r in recipients if r != org[0])

    def id_syncs(self) -> None:
        rows = _rows(self.conn, "SELECT id, visit_id, flow_id, cookie_id, from_site, from_entity, to_site, to_entity, "
                                "identifier_name FROM id_syncs ORDER BY id LIMIT ?", (MAX_ROWS,))
        values = _by_ids(self.conn, "SELECT id, substr(value, 1, 4096) FROM cookies WHERE id IN ({})",
                         (r[3] for r in rows))
        for sid, visit_id, flow_id, cookie_id, from_site, from_entity, to_site, to_entity, name in rows:
            origin = self.origin(visit_id, flow_id)
            if origin is None:
                continue
            source, kind, when, consent, first_party = origin
            receiver = self.orgs.resolve(to_entity, to_site)
            if receiver is None or (not _text(to_entity) and first_party and receiver[2] == first_party):
                continue
            value = values[cookie_id][1] if _int(cookie_id) is not None and cookie_id in values else None
            if value in REDACTION_TOKENS:  # the synced id was one of the person's values: its leak row quotes it
                value = None
            self.orgs.add(receiver, kind="id_sync", name=name, value=value, host=_host(to_site) or receiver[2],
                          source=source, source_kind=kind, consent=consent, rank=_RANK["id_sync"], when=when,
                          ref=("id_syncs", sid))
            owner = self.orgs.resolve(from_entity, from_site)
            if owner is None or owner[0] == receiver[0]:
                continue
            company = self.orgs.companies.get(company_key(owner[0]))
            if company is not None and len(company.recipients) < MAX_RECIPIENTS:
                company.recipients.add(receiver[0])
            for item in self.cookie_items.get(cookie_id, []) if _int(cookie_id) is not None else []:
                if len(item.recipients) < MAX_RECIPIENTS:
                    item.recipients.add(receiver[0])

    def page_views(self) -> None:
        known = set(self.orgs.companies)
        for visit_id, host, entity, tracker_list, count, first_id in _rows(
                self.conn, "SELECT visit_id, host, tracker_entity, tracker_list, COUNT(*), MIN(id) FROM requests "
                           "WHERE visit_id IS NOT NULL AND (tracker_entity != '' OR third_party = 1) "
                           "GROUP BY visit_id, host, tracker_entity LIMIT ?", (MAX_ROWS,)):
            visit = self.visits.get(visit_id) if _int(visit_id) is not None else None
            if visit is None:
                continue
            host = _host(host)
            org = self.orgs.resolve(entity, host, tracker_list)
            if org is None or (not _text(entity) and (company_key(org[0]) not in known or org[2] == visit.site)):
                continue
            self.orgs.add(org, kind="page_view", name=None, value=visit.url, host=host, source=visit.site,
                          source_kind="site", consent=visit.consent, rank=_RANK["page_view"], when=visit.started_at,
                          ref=("requests", first_id) if _int(first_id) is not None else ("visits", visit_id),
                          times=_int(count) or 1)

    def connections(self) -> None:
        for fid, flow in self.flows.items():
            host = flow.host
            if not host or host in _LOCAL_HOSTS or (is_ip(host) and not _text(flow.entity)):
                continue
            report = _json(flow.report)
            report = report if isinstance(report, dict) else {}
            owner = _text(report.get("domain_owner"), NAME_LIMIT)
            org = self.orgs.resolve(flow.entity, host, flow.tracker_list)
            if org is not None and org[1] == ("domain",) and owner and owner.strip():
                org = (owner.strip(), ("app-report",), org[2])  # the phone's own report names the owner
            if org is None or (company_key(org[0]), flow.app) in self.leaked_apps:
                continue
            self.orgs.add(org, kind="connection", name=None, value=None, host=host, source=flow.app,
                          source_kind="app", consent=None, rank=_RANK["connection"], when=flow.started_at,
                          last=_text(report.get("last_seen"), 64), ref=("flows", fid), times=flow.hits or 1)

def _since(since: str | None) -> str | None:
    """`since` as the comparable prefix of stored UTC times (YYYY-MM-DDTHH:MM:SS); UserError when unreadable."""
    if since is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(str(since).strip())
    except ValueError:
        raise UserError(f"--since {str(since)[:40]!r} is not a date or UTC time (e.g. 2026-12-01 or "
                        "2026-12-01T08:00:00Z)") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


# -- entry points --------------------------------------------------------------------------------------------

def analyse(conn: sqlite3.Connection, person: Person, *, since: str | None = None,
            stats: dict | None = None) -> list[Company]:
    """Every organisation that received something about the person, with what, when, from which site or app and
    under which consent state; contacts are not resolved here (Company.contact is empty). Sorted by name.

    The first-party site of a visit is not a company here: a site's own cookies and requests are left out unless
    a tracker list names a company behind them (letters to a site about its own pages are another matter).
    `since` keeps items last seen at or after that UTC time. `stats`, when given, receives counts of what the caps
    left out: {"items_dropped": n} (items past MAX_ITEMS per company, the least telling first, and observations of
    further items once a company holds four times that)."""
    cutoff = _since(since)
    with _tolerant(conn):
        run = _Pass(conn, person)
        run.cookies()
        run.leaks()
        run.bids()
        run.id_syncs()
        run.page_views()
        run.connections()
        companies = finish(run.orgs, conn, cutoff)
    if stats is not None:
        stats["items_dropped"] = run.orgs.dropped
    return companies


def _company_row(company: Company, built_at: str) -> dict:
    contact = company.contact
    return {"key": company.key, "name": company.name, "domains": json.dumps(list(company.domains)),
            "sources": json.dumps(list(company.sources)), "gvl_vendor_id": company.gvl_vendor_id,
            "leg_int_purposes": json.dumps(list(company.leg_int_purposes)),
            "broker_registries": json.dumps(list(company.broker_registries)),
            "regimes": json.dumps(list(company.regimes)), "items": len(company.received),
            "first_seen": company.first_seen, "last_seen": company.last_seen,
            "recipients": json.dumps(list(company.recipients), ensure_ascii=False),
            "contact_email": contact.email, "contact_url": contact.url, "contact_address": contact.address,
            "contact_source": contact.source, "contact_source_id": contact.source_id, "built_at": built_at,
            **{column: getattr(contact, attr) for column, attr in _CONTACT_PROVENANCE.items()
               if column in _company_columns()}}


# Where a contact came from, kept when the schema has room for it (asked of the lead: me_companies columns
# contact_source_url and contact_fetched_at); without them only a contact database row (source_id) keeps it.
_CONTACT_PROVENANCE = {"contact_source_url": "source_url", "contact_fetched_at": "fetched_at"}


def _company_columns() -> frozenset[str]:
    return frozenset(c.name for c in BY_NAME["me_companies"].columns)


def _received_row(company_id: int, item: Received) -> dict:
    return {"company_id": company_id, "kind": item.kind, "name": item.name, "value": item.value, "host": item.host,
            "source": item.source, "source_kind": item.source_kind, "first_seen": item.first_seen,
            "last_seen": item.last_seen, "times": item.times, "consent": item.consent,
            "precision_m": item.precision_m, "recipients": json.dumps(list(item.recipients), ensure_ascii=False),
            "evidence": json.dumps([{"table": t, "id": i} for t, i in item.evidence])}


def rebuild(store, person: Person, *, since: str | None = None,
            resolve: Callable[[sqlite3.Connection, Company], Contact] | None = None) -> list[Company]:
    """`analyse`, resolve each company's contact (`resolve`, default mouchard.me.contacts.resolve), and replace
    the me_companies and me_received rows in one transaction; returns the companies with their ids. UserError
    when the database is not private (`mouchard.storage.private.mark_private` makes it so)."""
    conn = store.conn
    if not is_private(conn):
        raise UserError(f"{getattr(store, 'path', 'the database')} is not a private database: "
                        "run `mouchard me` on a database made for the person first")
    if resolve is None:
        from mouchard.me.contacts import resolve
    companies = [replace(c, contact=resolve(conn, c) or Contact()) for c in analyse(conn, person, since=since)]
    built_at = utcnow()
    out = []
    with store.transaction() as tx:
        tx.conn.execute("DELETE FROM me_received")
        tx.conn.execute("DELETE FROM me_companies")
        for company in companies:
            company_id = tx.insert("me_companies", _company_row(company, built_at))
            tx.insert_many("me_received", (_received_row(company_id, item) for item in company.received))
            out.append(replace(company, id=company_id))
    return out


def _strings(text: Any, limit: int = MAX_RECIPIENTS) -> tuple[str, ...]:
    data = _json(text)
    return tuple(v for v in data[:limit] if isinstance(v, str)) if isinstance(data, list) else ()


def _ints(text: Any) -> tuple[int, ...]:
    data = _json(text)
    return tuple(v for v in data[:1000] if _int(v) is not None) if isinstance(data, list) else ()


def load_companies(conn: sqlite3.Connection) -> list[Company]:
    """The companies and their received items as stored by `rebuild` (no analysis). A contact's `source_url` and
    `fetched_at` are read from me_companies when the schema has those columns, else from its contact database
    row (me_contact_sources), so are None without one."""
    with _tolerant(conn):
        return _load_companies(conn)


def _load_companies(conn: sqlite3.Connection) -> list[Company]:
    sources = {r[0]: r for r in _rows(conn, "SELECT id, url, fetched_at FROM me_contact_sources LIMIT ?",
                                      (MAX_ROWS,))}
    items: dict[int, list[Received]] = {}
    for (company_id, kind, name, value, host, source, source_kind, first, last, times, consent, precision,
         recipients, evidence) in _rows(
            conn, "SELECT company_id, kind, name, value, host, source, source_kind, first_seen, last_seen, times, "
                  "consent, precision_m, recipients, evidence FROM me_received ORDER BY id LIMIT ?", (MAX_ROWS,)):
        refs = _json(evidence)
        refs = tuple((r["table"], r["id"]) for r in (refs if isinstance(refs, list) else [])[:MAX_EVIDENCE]
                     if isinstance(r, dict) and isinstance(r.get("table"), str) and _int(r.get("id")) is not None)
        items.setdefault(company_id, []).append(Received(
            kind=_text(kind) or "", name=_text(name), value=_text(value), host=_text(host) or "",
            source=_text(source) or "", source_kind=_text(source_kind) or "", first_seen=_text(first) or "",
            last_seen=_text(last) or "", times=_int(times) or 1, consent=_text(consent),
            precision_m=_float(precision), recipients=_strings(recipients), evidence=refs))
    out = []
    have = {r[1] for r in _rows(conn, "PRAGMA table_info(me_companies)")}
    provenance = ", ".join(c if c in have else "NULL" for c in _CONTACT_PROVENANCE)
    for row in _rows(conn, "SELECT id, key, name, domains, sources, gvl_vendor_id, leg_int_purposes, "
                           "broker_registries, regimes, recipients, contact_email, contact_url, contact_address, "
                           f"contact_source, contact_source_id, {provenance} FROM me_companies ORDER BY id LIMIT ?",
                     (MAX_ROWS,)):
        (company_id, key, name, domains, srcs, vendor_id, leg_int, registries, regimes, recipients, email, url,
         address, contact_source, source_id, source_url, fetched_at) = row
        origin = sources.get(source_id) if _int(source_id) is not None else None
        contact = Contact(email=_text(email), url=_text(url), address=_text(address),
                          source=_text(contact_source) or "none", source_id=_int(source_id),
                          source_url=_text(source_url) or (_text(origin[1]) if origin else None),
                          fetched_at=_text(fetched_at) or (_text(origin[2]) if origin else None))
        out.append(Company(key=_text(key) or "", name=_text(name) or "", domains=_strings(domains, MAX_DOMAINS),
                           sources=_strings(srcs), gvl_vendor_id=_int(vendor_id), leg_int_purposes=_ints(leg_int),
                           broker_registries=_strings(registries), regimes=_strings(regimes) or ("gdpr",),
                           received=tuple(items.get(company_id, ())), recipients=_strings(recipients),
                           contact=contact, id=company_id))
    return out


__all__: Iterable[str] = ("analyse", "company_key", "hashed_value", "load_companies", "position_value", "rebuild")
