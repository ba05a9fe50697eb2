"""Declared versus observed: per web crawl, visited site, consent phase and GVL vendor, what the vendor declares in
the recorded Global Vendor List next to what it did and what the TC string in force allowed (`vendor_conduct`).

`observe(conn, crawl_ids)` computes the rows (nothing is written); the `vendors.*` audit rules call it too, so the
rollup and the findings share one logic. `rebuild_vendor_conduct(store, crawl_ids)` is the rollup builder
(`mouchard.classification.rollups.BUILDERS`). docs/vendors.md, "Declared versus observed", states the rules.

Cost: one pass per crawl over the crawl's consent and rtb rows, and over the requests and cookies of the vendors'
registrable domains only (`requests.site`, `requests.tracker_entity` and `cookies.site` indexes); nothing at all
when no vendor list is recorded.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from mouchard.decode.domains import host_of
from mouchard.decode.tcf import ConsentStringError, decode_tc_string
from mouchard.storage.store import Store, utcnow
from mouchard.vendors.gvl import LI_FORBIDDEN_PURPOSES, PRECISE_GEOLOCATION, Vendor
from mouchard.vendors.match import (
    VendorMatcher,
    clean_domain,
    eid_sources,
    host_sites,
    int_set,
    known_hosts,
    merge,
    tc_vendor_ids,
)

MAX_EVIDENCE = 20  # rows listed in vendor_conduct.evidence (and per finding)
MAX_PROOF = 200  # rows gathered per check while reading (a vendor can get thousands of requests)
MAX_TC_STRING = 20_000  # a longer TC string is not decoded here (the crawler's decoder already judged it)
MAX_HEADERS = 200_000  # request_headers text read to find a Cookie header
BID_EVENTS = ("bidRequested", "openrtb-request")
GEO_FIELDS = ("device.geo", "user.geo", "ortb2.device.geo", "ortb2.user.geo")
DAY = 86_400
VERDICTS = ("without-basis", "beyond-declared", "as-declared", "not-comparable")
INF = math.inf


@dataclass
class Conduct:
    """One `vendor_conduct` row, with what the audit rules need besides (`visit_ids`, `proof`)."""

    crawl_id: int
    site: str
    phase: str | None
    vendor_id: int
    vendor_name: str
    vendor_list_version: int | None
    matched_by: list[str]
    hosts: list[str]
    requests: int
    cookies: int
    consent: int | None
    legitimate_interest: int | None
    tc_string_purposes: list[int] | None
    undisclosed_cookies: list[str] | None
    undisclosed_storage: list[str] | None
    longer_cookies: list[dict] | None
    undisclosed_domains: list[str] | None
    purposes_without_basis: list[int]
    forbidden_legitimate_interest: list[int]
    precise_geo_without_opt_in: int
    not_in_cmp_list: int
    deleted: int
    verdict: str
    evidence: list[dict]
    visit_ids: list[int] = field(default_factory=list)
    landing_visit_id: int | None = None  # the phase's first visit the vendor was seen in (landing page first)
    # check name -> rows proving it: [(table, id)] (bounded); the rules' evidence
    proof: dict[str, list[tuple[str, int]]] = field(default_factory=dict)

    def row(self, built_at: str) -> dict:
        """The `vendor_conduct` row."""
        keep = ("crawl_id", "site", "phase", "vendor_id", "vendor_name", "vendor_list_version", "matched_by", "hosts",
                "requests", "cookies", "consent", "legitimate_interest", "tc_string_purposes", "undisclosed_cookies",
                "undisclosed_storage", "longer_cookies", "undisclosed_domains", "purposes_without_basis", "forbidden_legitimate_interest",
                "precise_geo_without_opt_in", "not_in_cmp_list", "deleted", "verdict", "evidence")
        return {**{k: getattr(self, k) for k in keep}, "built_at": built_at}


# -- the TC string in force ---------------------------------------------------------------------------------------

@lru_cache(maxsize=4096)
def _decode(raw: str) -> dict | None:
    try:
        decoded = decode_tc_string(raw)
    except ConsentStringError:
        return None
    except (ValueError, RecursionError, MemoryError):  # never raise on hostile text, whatever the decoder does
        return None
    if decoded.get("version") != 2:
        return None  # v1 strings carry no per-vendor basis
    # id sets as frozensets once per distinct string: every request of every vendor is judged against them
    for key in ("vendor_consents", "vendor_legitimate_interests", "purposes_consent", "purposes_li_transparency",
                "special_feature_opt_ins", "disclosed_vendors"):
        if isinstance(decoded.get(key), list):
            decoded[key] = frozenset(int_set(decoded[key]))
    for restriction in decoded.get("publisher_restrictions") or ():
        if isinstance(restriction, dict):
            restriction["vendors"] = frozenset(int_set(restriction.get("vendors")))
    return decoded


def decode_raw(raw: Any) -> dict | None:
    """A consent row's `raw` TC string decoded, or None (not text, too long, not a v2 TC string)."""
    if not isinstance(raw, str) or not raw or len(raw) > MAX_TC_STRING:
        return None
    return _decode(raw)


def _time(value: Any) -> float:
    """A `time_ms` value: unknown times sort last (as if read or sent at the end of the visit)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return INF


@dataclass
class Timeline:
    """The TC strings one visit read, in time order, and its consent action's time."""

    strings: list[tuple[float, int, dict]] = field(default_factory=list)  # (time, consent row id, decoded)
    action_ms: float | None = None
    tcf: bool = False  # some consent row of the visit is TCF: no string in force then allows nothing

    def in_force(self, t: Any) -> tuple[int, dict] | None:
        """(consent row id, decoded) of the TC string in force at time t (None: no string in force).

        The last string read at or before t; strings read before the consent action apply only before it. After
        the action, before any string is read, the first string read after it is in force: it records the choice
        the click made (the CMP wrote it at the click; the page is read at the end of the visit)."""
        when = _time(t)
        if self.action_ms is None or when < self.action_ms:
            chosen = [s for s in self.strings if s[0] <= when and (self.action_ms is None or s[0] < self.action_ms)]
            return (chosen[-1][1], chosen[-1][2]) if chosen else None
        after = [s for s in self.strings if s[0] >= self.action_ms]
        chosen = [s for s in after if s[0] <= when] or after[:1]
        return (chosen[-1][1], chosen[-1][2]) if chosen else None

    def last(self) -> tuple[int, dict] | None:
        return self.in_force(INF)


def timelines(rows: Iterable[Mapping]) -> dict[int, Timeline]:
    """Per visit, its Timeline, from consent rows (visit_id, id, framework, source, raw, action, time_ms)."""
    out: dict[int, Timeline] = {}
    for row in sorted(rows, key=lambda r: (_time(r["time_ms"]), r["id"])):
        line = out.setdefault(row["visit_id"], Timeline())
        if row["framework"] == "tcf":
            line.tcf = True
        if row["source"] == "action" and row["action"] not in (None, "none") and line.action_ms is None:
            line.action_ms = _time(row["time_ms"]) if row["time_ms"] is not None else None
        if row["framework"] == "tcf":
            decoded = decode_raw(row["raw"])
            if decoded is not None:
                line.strings.append((_time(row["time_ms"]), row["id"], decoded))
    return out


# -- what a TC string allows a vendor ---------------------------------------------------------------------------

def declared_purposes(vendor: Vendor) -> set[int]:
    """Purposes the vendor claims, on consent, legitimate interest or either (special purposes need no basis)."""
    return int_set(vendor.purposes) | int_set(vendor.leg_int_purposes) | int_set(vendor.flexible_purposes)


def _no_li(tc: Mapping) -> set[int]:
    """Purposes legitimate interest can never cover: 1 always, 3-6 too from TCF policy version 4 (TCF 2.2)."""
    policy = tc.get("tcf_policy_version")
    return set(LI_FORBIDDEN_PURPOSES) if isinstance(policy, int) and policy >= 4 else {1}


def allowed_purposes(tc: Mapping | None, vendor: Vendor) -> set[int]:
    """Declared purposes of `vendor` the decoded TC string gives a legal basis (consent or legitimate interest),
    publisher restrictions applied. None (no string in force): nothing."""
    if not isinstance(tc, Mapping):
        return set()
    vid = vendor.id
    consented = vid in int_set(tc.get("vendor_consents"))
    li_signalled = vid in int_set(tc.get("vendor_legitimate_interests"))
    p_consent, p_li = int_set(tc.get("purposes_consent")), int_set(tc.get("purposes_li_transparency"))
    restrictions: dict[int, set[str]] = {}
    for r in tc.get("publisher_restrictions") or ():
        if isinstance(r, Mapping) and isinstance(r.get("purpose"), int) and vid in int_set(r.get("vendors")):
            restrictions.setdefault(r["purpose"], set()).add(str(r.get("restriction")))
    no_li = _no_li(tc)
    flexible, leg_int = int_set(vendor.flexible_purposes), int_set(vendor.leg_int_purposes)
    allowed = set()
    for p in declared_purposes(vendor):
        kinds = restrictions.get(p, set())
        if "not_allowed" in kinds:
            continue
        by_consent = not ("require_legitimate_interest" in kinds and p in flexible)
        by_li = (p in leg_int or p in flexible) and "require_consent" not in kinds and p not in no_li
        if (by_consent and consented and p in p_consent) or (by_li and li_signalled and p in p_li):
            allowed.add(p)
    return allowed


def forbidden_li(tc: Mapping | None, vendor_id: int) -> set[int]:
    """Purposes TCF policy keeps off legitimate interest that the string signals on LI for this vendor."""
    if not isinstance(tc, Mapping) or vendor_id not in int_set(tc.get("vendor_legitimate_interests")):
        return set()
    return int_set(tc.get("purposes_li_transparency")) & _no_li(tc)


def opted_in_geo(tc: Mapping | None) -> bool:
    return isinstance(tc, Mapping) and PRECISE_GEOLOCATION in int_set(tc.get("special_feature_opt_ins"))


# -- precise coordinates in a bid request ---------------------------------------------------------------------

def _decimals(value: Any) -> int | None:
    """Decimals written in a coordinate (a JSON number or numeric text); None when it is not one."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    text = value if isinstance(value, str) else repr(value)
    text = text.strip()
    if len(text) > 40:
        return None
    try:
        number = float(text)
    except ValueError:
        return None
    if not math.isfinite(number) or abs(number) > 180:
        return None
    if "e" in text.lower():
        text = format(number, "f").rstrip("0")
    return len(text.partition(".")[2]) if "." in text else 0


def precise_geo(geo: Any) -> bool:
    """An OpenRTB geo object with precise coordinates: lat and lon with 3 or more decimals, or type 1 (GPS)."""
    if not isinstance(geo, Mapping):
        return False
    lat, lon = _decimals(geo.get("lat")), _decimals(geo.get("lon"))
    if lat is None or lon is None:
        return False
    return (lat >= 3 and lon >= 3) or (geo.get("type") == 1 and not isinstance(geo.get("type"), bool))


def _json(text: Any, limit: int = 2_000_000) -> Any:
    if not isinstance(text, str) or len(text) > limit:
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def bid_has_precise_geo(personal_fields: Any, fields: Any) -> bool:
    """A bid request row sending precise coordinates: its personal fields name a geo object with coordinates
    (mouchard.decode.openrtb `_geo`) and its fields keep lat/lon precise enough (see `precise_geo`)."""
    personal = _json(personal_fields) if isinstance(personal_fields, str) else personal_fields
    if not isinstance(personal, list) or not any(p in GEO_FIELDS for p in personal if isinstance(p, str)):
        return False
    data = _json(fields) if isinstance(fields, str) else fields
    if not isinstance(data, Mapping):
        return False
    holders = [data, data.get("ortb2")]
    for holder in holders:
        if isinstance(holder, Mapping):
            for part in ("device", "user"):
                obj = holder.get(part)
                if isinstance(obj, Mapping) and precise_geo(obj.get("geo")):
                    return True
    return False


def _has_cookie_header(headers: Any) -> bool:
    data = _json(headers, MAX_HEADERS) if isinstance(headers, str) else headers
    pairs = data.items() if isinstance(data, Mapping) else (
        [tuple(p) for p in data if isinstance(p, (list, tuple)) and len(p) == 2] if isinstance(data, list) else [])
    return any(isinstance(k, str) and k.lower() == "cookie" and v for k, v in pairs)


# -- one pass per crawl -------------------------------------------------------------------------------------------

@dataclass
class _Acc:
    """What one (site, phase, vendor) gathers while the crawl's rows are read."""

    matched_by: set[str] = field(default_factory=set)
    hosts: set[str] = field(default_factory=set)
    visits: set[int] = field(default_factory=set)
    requests: dict[int, tuple[str, int]] = field(default_factory=dict)  # request id -> (host, visit id)
    cookies: dict[int, dict] = field(default_factory=dict)
    storage: dict[int, dict] = field(default_factory=dict)  # storage_items id -> row (its origin is the vendor's)
    bids: set[int] = field(default_factory=set)
    without_basis: set[int] = field(default_factory=set)
    proof: dict[str, set[tuple[str, int]]] = field(default_factory=dict)
    not_in_list: bool = False
    geo: set[int] = field(default_factory=set)
    tc_seen: dict[int, dict] = field(default_factory=dict)  # consent row id -> decoded (strings in force)

    def prove(self, check: str, *refs: tuple[str, int]) -> None:
        bucket = self.proof.setdefault(check, set())
        if len(bucket) < MAX_PROOF:  # rows arrive in id order per table: the first ones are kept
            bucket.update(refs)


class _Pass:
    """The rows of one crawl, read once, accumulated per (site, phase, vendor)."""

    def __init__(self, conn: sqlite3.Connection, declared: Any, facts: dict[int, dict], crawl_id: int):
        self.conn, self.declared, self.facts, self.crawl_id = conn, declared, facts, crawl_id
        self.matcher = VendorMatcher(declared, {v: f["tracker_entity"] for v, f in facts.items()})
        self.accs: dict[tuple[str, str | None, int], _Acc] = {}
        self.visits: dict[int, dict] = {}
        self.lines: dict[int, Timeline] = {}
        self.judged: dict[tuple[int | None, int], set[int]] = {}  # (consent row id, vendor) -> purposes without basis

    def run(self) -> list[Conduct]:
        conn = self.conn
        for row in _rows(conn, """SELECT id, site, phase, coalesce(depth, 0) AS depth FROM visits
                                  WHERE crawl_id = ? AND site IS NOT NULL""", (self.crawl_id,)):
            self.visits[row["id"]] = row
        if not self.visits:
            return []
        self.lines = timelines(_rows(conn, """
            SELECT c.visit_id, c.id, c.framework, c.source, c.raw, c.action, c.time_ms
            FROM visits AS v CROSS JOIN consent AS c ON c.visit_id = v.id
            WHERE v.crawl_id = ? AND (c.framework = 'tcf' OR c.source = 'action')""", (self.crawl_id,)))
        bids = _rows(conn, """
            SELECT b.id, b.visit_id, b.request_id, b.event, b.bidder, b.exchange, b.personal_fields, b.fields
            FROM visits AS v CROSS JOIN rtb AS b ON b.visit_id = v.id
            WHERE v.crawl_id = ? AND (b.bidder IS NOT NULL OR b.exchange IS NOT NULL)
            ORDER BY b.id""", (self.crawl_id,))
        # exchange hosts of a single-bidder rtb row are that bidder's vendor's hosts
        exchange_vendors: dict[str, dict[int, set[str]]] = {}
        for b in bids:
            bidder = b["bidder"] if isinstance(b["bidder"], str) and "," not in b["bidder"] else None
            host = clean_domain(b["exchange"] or "")
            if host and bidder:
                merge(exchange_vendors.setdefault(host, {}), self.matcher.bidder(bidder, b["fields"]))
        domains = {d for f in self.facts.values() for d in f["domains"]}
        domains |= {h for v in self.facts for h in known_hosts(v)} | set(exchange_vendors)
        requests = self._requests(host_sites(domains), {f["tracker_entity"] for f in self.facts.values()
                                                        if f["tracker_entity"]})
        request_vendors: dict[int, set[int]] = {}
        request_time: dict[int, Any] = {}
        for r in requests:
            found = merge(self.matcher.host(r["host"]), self.matcher.entity(r["tracker_entity"]))
            host = clean_domain(r["host"] or "")
            merge(found, exchange_vendors.get(host, {}))
            request_time[r["id"]] = r["time_ms"]
            if not found or r["visit_id"] not in self.visits:
                continue
            request_vendors[r["id"]] = set(found)
            reached = bool(r["post_body_size"]) or bool(r["post_body_sha256"]) or _has_cookie_header(r["headers"])
            for vendor_id, labels in found.items():
                acc = self._acc(r["visit_id"], vendor_id)
                acc.matched_by |= labels
                acc.hosts.add(host)
                # a host known only as the company's (any of its businesses: search, fonts, maps) is never called
                # undisclosed: only hosts tied to the vendor itself are held to its disclosure
                acc.requests[r["id"]] = (host if labels != {"entity"} else None, r["visit_id"])
                self._event(acc, vendor_id, r["visit_id"], ("requests", r["id"]), r["time_ms"], reached)
        self._cookies(request_vendors)
        self._storage()
        self._bids(bids, request_time)
        return self._finish()

    def _acc(self, visit_id: int, vendor_id: int) -> _Acc:
        visit = self.visits[visit_id]
        acc = self.accs.setdefault((visit["site"], visit["phase"], vendor_id), _Acc())
        acc.visits.add(visit_id)
        return acc

    def _requests(self, sites: set[str], entities: set[str]) -> list[dict]:
        """Requests of the crawl to the vendors' registrable domains or tracker companies (by index)."""
        conn = self.conn
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS vendor_conduct_sites (site TEXT PRIMARY KEY)")
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS vendor_conduct_entities (entity TEXT PRIMARY KEY)")
        try:
            conn.execute("DELETE FROM temp.vendor_conduct_sites")
            conn.execute("DELETE FROM temp.vendor_conduct_entities")
            conn.executemany("INSERT OR IGNORE INTO temp.vendor_conduct_sites VALUES (?)", [(s,) for s in sites])
            conn.executemany("INSERT OR IGNORE INTO temp.vendor_conduct_entities VALUES (?)", [(e,) for e in entities])
            return _indexed_rows(conn, REQUESTS_SQL, {"crawl": self.crawl_id})
        finally:
            conn.execute("DELETE FROM temp.vendor_conduct_sites")
            conn.execute("DELETE FROM temp.vendor_conduct_entities")

    def _event(self, acc: _Acc, vendor_id: int, visit_id: int, ref: tuple[str, int], time_ms: Any,
               reached: bool) -> None:
        """Judge one request, cookie or bid request of the vendor against the TC string in force at its time."""
        line = self.lines.get(visit_id)
        force = line.in_force(time_ms) if line else None
        if force is not None:
            acc.tc_seen[force[0]] = force[1]
            disclosed = force[1].get("disclosed_vendors")
            if isinstance(disclosed, (list, frozenset)) and vendor_id not in int_set(disclosed):
                acc.not_in_list = True
                acc.prove("not_in_cmp_list", ref, ("consent", force[0]))
        acc.prove("called", ref)
        if not reached or (force is None and not (line and line.tcf)):
            return  # no data reached it, or not a TCF page: nothing to judge by the TC string
        key = (force[0] if force else None, vendor_id)
        missing = self.judged.get(key)
        if missing is None:  # once per (string, vendor): a vendor's many requests share their string
            vendor = self.declared.vendor(vendor_id)
            missing = self.judged[key] = declared_purposes(vendor) - allowed_purposes(force[1] if force else None,
                                                                                      vendor)
        if missing:
            acc.without_basis |= missing
            acc.prove("without_basis", ref, *([("consent", force[0])] if force else []))

    def _cookies(self, request_vendors: dict[int, set[int]]) -> None:
        """Cookies of the crawl on the vendors' domains, or set by a response of one of their requests."""
        conn = self.conn
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS vendor_conduct_requests (id INTEGER PRIMARY KEY)")
        sites = host_sites({d for f in self.facts.values() for d in f["domains"]}
                           | {h for v in self.facts for h in known_hosts(v)}
                           | {host for acc in self.accs.values() for host in acc.hosts})
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS vendor_conduct_sites (site TEXT PRIMARY KEY)")
        try:
            conn.executemany("INSERT OR IGNORE INTO temp.vendor_conduct_sites VALUES (?)", [(s,) for s in sites])
            conn.executemany("INSERT OR IGNORE INTO temp.vendor_conduct_requests VALUES (?)",
                             [(i,) for i in request_vendors])
            cookies = _indexed_rows(conn, COOKIES_SQL, {"crawl": self.crawl_id})
        finally:
            conn.execute("DELETE FROM temp.vendor_conduct_sites")
            conn.execute("DELETE FROM temp.vendor_conduct_requests")
        hosts_of = {}  # vendor -> attributed hosts seen (exchange and entity hosts are exact)
        for (_, _, vendor_id), acc in self.accs.items():
            hosts_of.setdefault(vendor_id, set()).update(acc.hosts)
        for c in cookies:
            if c["visit_id"] not in self.visits:
                continue
            host = clean_domain(c["domain"] or "")
            found = {v for v in self.matcher.host(host)}
            found |= {v for v, hosts in hosts_of.items() if host in hosts}
            found |= request_vendors.get(c["request_id"], set())
            for vendor_id in found:
                acc = self._acc(c["visit_id"], vendor_id)
                acc.cookies[c["id"]] = c
                acc.matched_by |= {label for label in self.matcher.host(host).get(vendor_id, ())}
                self._event(acc, vendor_id, c["visit_id"], ("cookies", c["id"]), c["set_at_ms"], True)

    def _storage(self) -> None:
        """localStorage, sessionStorage and IndexedDB items of the vendors' origins (its frames stored them)."""
        conn = self.conn
        sites = host_sites({d for f in self.facts.values() for d in f["domains"]}
                           | {h for v in self.facts for h in known_hosts(v)}
                           | {host for acc in self.accs.values() for host in acc.hosts})
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS vendor_conduct_sites (site TEXT PRIMARY KEY)")
        try:
            conn.executemany("INSERT OR IGNORE INTO temp.vendor_conduct_sites VALUES (?)", [(s,) for s in sites])
            items = _indexed_rows(conn, STORAGE_SQL, {"crawl": self.crawl_id})
        finally:
            conn.execute("DELETE FROM temp.vendor_conduct_sites")
        for item in items:
            if item["visit_id"] not in self.visits:
                continue
            try:
                host = clean_domain(host_of(item["origin"] or ""))
            except (ValueError, UnicodeError):  # an origin no host can be read from: nobody's
                continue
            for vendor_id, labels in self.matcher.host(host).items():
                acc = self._acc(item["visit_id"], vendor_id)
                acc.matched_by |= labels
                acc.storage[item["id"]] = item

    def _bids(self, bids: list[dict], request_time: dict[int, Any]) -> None:
        """Bid requests: to the vendors of their bidder codes (and gvlid) and of their exchange host."""
        for b in bids:
            if b["event"] not in BID_EVENTS or b["visit_id"] not in self.visits:
                continue
            found = merge(self.matcher.bidder(b["bidder"], b["fields"]), self.matcher.host(b["exchange"]))
            if not found:
                continue
            eids = self.matcher.eids(b["fields"]) if eid_sources(b["fields"]) else {}
            time_ms = request_time.get(b["request_id"]) if b["request_id"] is not None else None
            if time_ms is None:
                elapsed = (_json(b["fields"]) or {}) if isinstance(b["fields"], str) else {}
                time_ms = elapsed.get("elapsed_ms") if isinstance(elapsed, dict) else None
            geo = bid_has_precise_geo(b["personal_fields"], b["fields"])
            for vendor_id, labels in found.items():
                acc = self._acc(b["visit_id"], vendor_id)
                acc.matched_by |= labels
                acc.bids.add(b["id"])
                self._event(acc, vendor_id, b["visit_id"], ("rtb", b["id"]), time_ms, True)
                if geo:
                    line = self.lines.get(b["visit_id"])
                    force = line.in_force(time_ms) if line else None
                    if not opted_in_geo(force[1] if force else None):
                        acc.geo.add(b["id"])
                        acc.prove("precise_geo", ("rtb", b["id"]), *([("consent", force[0])] if force else []))
            for vendor_id in eids:  # a user id of a vendor seen in the bid stream: said of a vendor called
                key = (self.visits[b["visit_id"]]["site"], self.visits[b["visit_id"]]["phase"], vendor_id)
                if key in self.accs:
                    self.accs[key].matched_by.add("eid")

    def _finish(self) -> list[Conduct]:
        out = []
        for (site, phase, vendor_id), acc in sorted(self.accs.items(), key=lambda kv: (kv[0][0], kv[0][1] or "",
                                                                                       kv[0][2])):
            out.append(self._conduct(site, phase, vendor_id, acc))
        return out

    def _conduct(self, site: str, phase: str | None, vendor_id: int, acc: _Acc) -> Conduct:
        vendor: Vendor = self.declared.vendor(vendor_id)
        facts = self.facts[vendor_id]
        disclosure = facts["disclosure"]
        # the consent columns: the last string of the phase's first visit (landing page first) that read one
        last = None
        for visit_id in sorted(acc.visits, key=lambda v: (self.visits[v]["depth"], v)):
            line = self.lines.get(visit_id)
            last = line.last() if line else None
            if last is not None:
                break
        tc = last[1] if last else None
        undisclosed = longer = domains = stored = None
        if disclosure is not None:
            undisclosed, longer, domains, stored = [], {}, [], []
            for item in sorted(acc.storage.values(), key=lambda i: i["id"]):
                if disclosure.declared_storage(item["name"] or "", item["origin"] or "") is None:
                    stored.append(item["name"] or "")
                    acc.prove("undisclosed_storage", ("storage_items", item["id"]))
            stored = sorted(set(stored))
            for c in sorted(acc.cookies.values(), key=lambda c: c["id"]):
                cookie_domain = clean_domain(c["domain"] or "")
                item = _declared_cookie(disclosure, c["name"] or "", cookie_domain)
                if item is None:
                    undisclosed.append(c["name"] or "")
                    acc.prove("undisclosed_cookies", ("cookies", c["id"]))
                days = c["requested_lifetime_days"] if c["requested_lifetime_days"] is not None else c["lifetime_days"]
                # the item's own lifetime (0: a session cookie); else, or when the item states none, the GVL's
                limit = item.max_age_seconds if item is not None and item.max_age_seconds is not None \
                    else vendor.cookie_max_age_seconds
                if isinstance(days, (int, float)) and limit is not None and days > limit / DAY + 1:
                    name = c["name"] or ""
                    entry = {"name": name, "days": round(days, 2), "declared_days": round(limit / DAY, 2)}
                    if name not in longer or entry["days"] > longer[name]["days"]:
                        longer[name] = entry
                    acc.prove("longer_cookies", ("cookies", c["id"]))
            longer = [longer[k] for k in sorted(longer)]
            undisclosed = sorted(set(undisclosed))
            for request_id, (host, _) in sorted(acc.requests.items()):
                if host and not disclosure.lists_host(host):
                    domains.append(host)
                    acc.prove("undisclosed_domains", ("requests", request_id))
            domains = sorted(set(domains))
        forbidden: set[int] = set()
        for consent_id, decoded in sorted(acc.tc_seen.items()):
            found = forbidden_li(decoded, vendor_id)
            if found:
                forbidden |= found
                acc.prove("forbidden_li", ("consent", consent_id))
        deleted = int(bool(vendor.deleted_date))
        if deleted:
            acc.proof["deleted"] = set(acc.proof.get("called", set()))
        matched = set(acc.matched_by)
        if tc is not None and vendor_id in tc_vendor_ids(tc):
            matched.add("tc-string")
        beyond = bool(undisclosed or stored or longer or domains or forbidden or acc.geo or acc.not_in_list or deleted)
        verdict = ("without-basis" if acc.without_basis else "beyond-declared" if beyond
                   else "as-declared" if disclosure is not None else "not-comparable")
        proof = {k: sorted(v)[:MAX_EVIDENCE] for k, v in acc.proof.items()}
        # a few visits, then the rows the checks rest on, then the calls themselves
        refs = sorted({("visits", v) for v in acc.visits})[:5]
        refs += sorted({ref for k, v in proof.items() if k != "called" for ref in v})
        refs += [ref for ref in proof.get("called", ()) if ref not in refs]
        evidence = [{"table": t, "id": i} for t, i in refs[:MAX_EVIDENCE]]
        return Conduct(
            crawl_id=self.crawl_id, site=site, phase=phase, vendor_id=vendor_id, vendor_name=vendor.name,
            vendor_list_version=getattr(self.declared, "version", None),
            matched_by=[label for label in LABEL_ORDER if label in matched], hosts=sorted(acc.hosts - {""}),
            requests=len(acc.requests), cookies=len(acc.cookies),
            consent=None if tc is None else int(vendor_id in int_set(tc.get("vendor_consents"))),
            legitimate_interest=None if tc is None else int(vendor_id in int_set(tc.get("vendor_legitimate_interests"))),
            tc_string_purposes=None if tc is None else sorted(int_set(tc.get("purposes_consent"))),
            undisclosed_cookies=undisclosed, undisclosed_storage=stored, longer_cookies=longer, undisclosed_domains=domains,
            purposes_without_basis=sorted(acc.without_basis), forbidden_legitimate_interest=sorted(forbidden),
            precise_geo_without_opt_in=len(acc.geo), not_in_cmp_list=int(acc.not_in_list), deleted=deleted,
            verdict=verdict, evidence=evidence, visit_ids=sorted(acc.visits), proof=proof,
            landing_visit_id=min(acc.visits, key=lambda v: (self.visits[v]["depth"], v)))


LABEL_ORDER = ("disclosure-domain", "known-host", "bidder", "eid", "entity", "tc-string")

# The temporary tables drive (CROSS JOIN keeps SQLite's order): requests and cookies are reached through their
# site / tracker_entity / request_id indexes, then kept when their visit is of the crawl; never a scan of the table.
_REQUEST_COLUMNS = """r.id, r.visit_id, r.host, r.tracker_entity, r.time_ms, r.post_body_size, r.post_body_sha256,
           substr(r.request_headers, 1, 200000) AS headers"""
REQUESTS_SQL = f"""
    SELECT {_REQUEST_COLUMNS}
    FROM temp.vendor_conduct_sites AS s CROSS JOIN requests AS r ON r.site = s.site
    CROSS JOIN visits AS v ON v.id = r.visit_id
    WHERE v.crawl_id = :crawl
    UNION
    SELECT {_REQUEST_COLUMNS}
    FROM temp.vendor_conduct_entities AS e CROSS JOIN requests AS r ON r.tracker_entity = e.entity
    CROSS JOIN visits AS v ON v.id = r.visit_id
    WHERE v.crawl_id = :crawl
    ORDER BY 1"""

_COOKIE_COLUMNS = "c.id, c.visit_id, c.name, c.domain, c.request_id, c.set_at_ms, c.lifetime_days, c.requested_lifetime_days"
STORAGE_SQL = """
    SELECT i.id, i.visit_id, i.origin, i.kind, i.name
    FROM temp.vendor_conduct_sites AS s CROSS JOIN storage_items AS i ON i.site = s.site
    CROSS JOIN visits AS v ON v.id = i.visit_id
    WHERE v.crawl_id = :crawl
    ORDER BY 1"""

COOKIES_SQL = f"""
    SELECT {_COOKIE_COLUMNS}
    FROM temp.vendor_conduct_sites AS s CROSS JOIN cookies AS c ON c.site = s.site
    CROSS JOIN visits AS v ON v.id = c.visit_id
    WHERE v.crawl_id = :crawl
    UNION
    SELECT {_COOKIE_COLUMNS}
    FROM temp.vendor_conduct_requests AS q CROSS JOIN cookies AS c ON c.request_id = q.id
    CROSS JOIN visits AS v ON v.id = c.visit_id
    WHERE v.crawl_id = :crawl
    ORDER BY 1"""


def _rows(conn: sqlite3.Connection, sql: str, params: Any = ()) -> list[dict]:
    cursor = conn.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor]


def _indexed_rows(conn: sqlite3.Connection, sql: str, params: Any = ()) -> list[dict]:
    """`_rows` with SQLite's automatic indexes off: with statistics (ANALYZE) the planner may prefer building a
    covering index over the whole requests table (a full scan, seconds on a big database) to the site index."""
    before = conn.execute("PRAGMA automatic_index").fetchone()[0]
    conn.execute("PRAGMA automatic_index = OFF")
    try:
        return _rows(conn, sql, params)
    finally:
        conn.execute(f"PRAGMA automatic_index = {1 if before else 0}")


def _declared_cookie(disclosure: Any, name: str, domain: str) -> Any:
    return disclosure.declared_cookie(name, domain)


# -- the declared side -----------------------------------------------------------------------------------------

def _facts(declared: Any) -> dict[int, dict]:
    """Per vendor of the recorded list: its tracker company, its disclosure (None unless read: status ok) and the
    domains that disclosure names (top level and items', wildcards `*` aside)."""
    out: dict[int, dict] = {}
    entities = getattr(declared, "entities", {}) or {}
    for vendor_id in sorted(getattr(declared, "vendors", {}) or {}):
        if not isinstance(vendor_id, int) or declared.vendor(vendor_id) is None:
            continue
        disclosure = declared.disclosure(vendor_id)
        listed: list[str] = []
        if disclosure is not None:
            listed = list(disclosure.domains) + [d for item in disclosure.items
                                                 for d in (item.domains or ((item.domain,) if item.domain else ()))]
        domains = {d for d in (clean_domain(x) for x in listed[:2000]) if d}
        out[vendor_id] = {"tracker_entity": entities.get(vendor_id) or None, "disclosure": disclosure,
                          "domains": sorted(domains)}
    return out


def load_declared(conn: sqlite3.Connection) -> Any:
    """The newest recorded vendor list (`mouchard.vendors.registry.load_declared`), or None."""
    from mouchard.vendors.registry import load_declared as load

    return load(conn)


def observe(conn: sqlite3.Connection, crawl_ids: Iterable[int] | None = None, declared: Any = None) -> list[Conduct]:
    """Declared versus observed for the web crawls `crawl_ids` (None: every crawl with visits), against the newest
    recorded vendor list (or `declared`). One Conduct per (crawl, site, phase, vendor) seen; [] without a list."""
    if declared is None:
        if conn.execute("SELECT 1 FROM vendor_lists LIMIT 1").fetchone() is None:
            return []
        declared = load_declared(conn)
        if declared is None:
            return []
    facts = _facts(declared)
    if not facts:
        return []
    if crawl_ids is None:
        crawl_ids = [r[0] for r in conn.execute(
            "SELECT id FROM crawls WHERE EXISTS (SELECT 1 FROM visits WHERE visits.crawl_id = crawls.id) ORDER BY id")]
    out: list[Conduct] = []
    for crawl_id in sorted(set(crawl_ids)):
        out.extend(_Pass(conn, declared, facts, crawl_id).run())
    return out


def rebuild_vendor_conduct(store: Store, crawl_ids: Iterable[int] | None = None) -> int:
    """Replace the `vendor_conduct` rows of `crawl_ids` (None: every crawl with visits); returns rows written.
    Nothing (and no scan) when no vendor list is recorded."""
    conn = store.conn
    if conn.execute("SELECT 1 FROM vendor_lists LIMIT 1").fetchone() is None:
        if conn.execute("SELECT 1 FROM vendor_conduct LIMIT 1").fetchone() is not None:  # a list removed since
            with store.transaction() as tx:
                if crawl_ids is None:
                    tx.conn.execute("DELETE FROM vendor_conduct")
                else:
                    tx.conn.executemany("DELETE FROM vendor_conduct WHERE crawl_id = ?", [(i,) for i in crawl_ids])
        return 0
    if crawl_ids is None:
        crawls = [r[0] for r in conn.execute(
            "SELECT id FROM crawls WHERE EXISTS (SELECT 1 FROM visits WHERE visits.crawl_id = crawls.id) ORDER BY id")]
    else:
        crawls = sorted(set(crawl_ids))
    declared = load_declared(conn)
    written = 0
    built = utcnow()
    for crawl_id in crawls:
        rows = [c.row(built) for c in observe(conn, [crawl_id], declared)] if declared is not None else []
        with store.transaction() as tx:
            tx.conn.execute("DELETE FROM vendor_conduct WHERE crawl_id = ?", (crawl_id,))
            written += tx.insert_many("vendor_conduct", rows) if rows else 0
    return written
