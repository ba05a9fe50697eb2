"""Which GVL vendor(s) a host, a Prebid bidder code, an OpenRTB user id (eid), a tracker company or a TC string
belongs to: one place, so the `vendor_conduct` rollup and the `vendors.*` audit rules recognise vendors alike.

Every function returns {vendor id: set of labels}; the labels say how the vendor was recognised (the
`vendor_conduct.matched_by` column):

- `disclosure-domain`: the host is one of the domains the vendor's Device Storage Disclosure names
  (`Declared.vendors_for_host`);
- `known-host`: the host is one of mouchard's own vendor hosts (`mouchard.decode.consent.GVL_VENDORS`);
- `bidder`: a Prebid bidder code of the vendor, or a `gvlid` in the rtb row's fields;
- `eid`: an OpenRTB `user.ext.eids` / Prebid `userIdAsEids` source whose domain is the vendor's;
- `entity`: the request's tracker company (`requests.tracker_entity`) is the vendor's (`vendors.tracker_entity`);
- `tc-string`: the vendor is in the TC string in force (consent or legitimate interest), next to another match.

Only vendors of the recorded vendor list count (`Declared.vendor(id)` is not None): a vendor mouchard knows by
host but the recorded list lacks cannot be compared with any declaration.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from mouchard.decode.consent import GVL_VENDORS, small_ids, vendor_for
from mouchard.decode.domains import normalize_host, site_of

if TYPE_CHECKING:
    from mouchard.vendors.registry import Declared

LABELS = ("disclosure-domain", "known-host", "bidder", "eid", "entity", "tc-string")
Matches = dict[int, set[str]]

MAX_BIDDERS = 50  # bidder codes read from one rtb row (a comma-joined list on openrtb-request rows)
MAX_EIDS = 50  # eid sources read from one rtb row


def clean_domain(domain: Any) -> str:
    """A disclosure or eid domain as a host: `*.example.com`, `.example.com`, `https://example.com/x` ->
    `example.com`; '' for anything that is not text or names no host (`*` alone)."""
    if not isinstance(domain, str) or len(domain) > 300:
        return ""
    text = domain.strip().lower()
    if "//" in text:
        text = text.split("//", 1)[1]
    text = text.split("/", 1)[0]
    while text.startswith(("*.", ".")):
        text = text[1:] if text.startswith(".") else text[2:]
    if not text or "*" in text:
        return ""
    try:
        return normalize_host(text)
    except (ValueError, UnicodeError):
        return ""


def merge(into: Matches, found: Mapping[int, Iterable[str]]) -> Matches:
    """Add `found` to `into` (labels united per vendor); returns `into`."""
    for vendor_id, labels in found.items():
        into.setdefault(vendor_id, set()).update(labels)
    return into


class VendorMatcher:
    """Matching against one recorded vendor list: built once per rollup or audit, then asked per row."""

    def __init__(self, declared: Declared, entities: Mapping[int, str | None] | None = None):
        self.declared = declared
        self.by_entity: dict[str, set[int]] = {}
        for vendor_id, entity in (entities or {}).items():
            if entity:
                self.by_entity.setdefault(entity, set()).add(vendor_id)
        self._hosts: dict[str, Matches] = {}

    def known(self, vendor_id: int) -> bool:
        return self.declared.vendor(vendor_id) is not None

    def host(self, host: str | None) -> Matches:
        """Vendors of a host (any subdomain of their domains): disclosure domains, then mouchard's own hosts."""
        key = clean_domain(host or "")
        if not key:
            return {}
        if key not in self._hosts:
            found: Matches = {}
            for vendor_id in self.declared.vendors_for_host(key) or ():
                if isinstance(vendor_id, int) and self.known(vendor_id):
                    found.setdefault(vendor_id, set()).add("disclosure-domain")
            vendor = vendor_for(key)
            if vendor is not None and self.known(vendor.id):
                found.setdefault(vendor.id, set()).add("known-host")
            if len(self._hosts) > 100_000:  # bounded cache: a crawl of many hosts must not grow it forever
                self._hosts.clear()
            self._hosts[key] = found
        return {k: set(v) for k, v in self._hosts[key].items()}

    def entity(self, tracker_entity: str | None) -> Matches:
        """The vendor whose `vendors.tracker_entity` is this tracker company, when it is the only one: a company
        with several GVL entries (Microsoft: Xandr and Microsoft Advertising) names none of them, since its hosts
        cannot be told apart by company alone."""
        vendors = self.by_entity.get(tracker_entity or "", ())
        return {v: {"entity"} for v in vendors} if len(vendors) == 1 else {}

    def bidder(self, code: str | None, fields: Any = None) -> Matches:
        """Vendors of an rtb row's bidder code(s) (comma-joined on openrtb-request rows) and of a `gvlid` in its
        fields (top level or in the bid's `params`)."""
        found: Matches = {}
        codes = code.split(",")[:MAX_BIDDERS] if isinstance(code, str) else []
        for one in codes:
            one = one.strip().lower()
            if one and "." not in one:  # a code, not a host: vendor_for would match a host too
                vendor = vendor_for(one)
                if vendor is not None and self.known(vendor.id):
                    found.setdefault(vendor.id, set()).add("bidder")
        for gvlid in gvlids(fields):
            if self.known(gvlid):
                found.setdefault(gvlid, set()).add("bidder")
        return found

    def eids(self, fields: Any) -> Matches:
        """Vendors whose domain is the source of a user id sent in a bid request."""
        found: Matches = {}
        for source in eid_sources(fields):
            for vendor_id in self.host(source):
                found.setdefault(vendor_id, set()).add("eid")
        return found

    def tc_string(self, decoded: Mapping | None, among: Iterable[int]) -> Matches:
        """Of `among`, the vendors the TC string names (consent or legitimate interest)."""
        ids = tc_vendor_ids(decoded)
        return {v: {"tc-string"} for v in among if v in ids}


def tc_vendor_ids(decoded: Mapping | None) -> set[int]:
    """Vendor ids a decoded TC string gives consent or legitimate interest to."""
    if not isinstance(decoded, Mapping):
        return set()
    return int_set(decoded.get("vendor_consents")) | int_set(decoded.get("vendor_legitimate_interests"))


def int_set(values: Any, limit: int = 1_000_000) -> set[int] | frozenset[int]:
    """The ints of a JSON list (anything else ignored): decoded columns are read as hostile."""
    if isinstance(values, frozenset):
        return values  # made here from a decoded TC string (mouchard.vendors.conduct): already clean
    if not isinstance(values, (list, tuple, set)):
        return set()
    return {v for v in values if isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= limit}


def _fields(fields: Any) -> dict:
    if isinstance(fields, str):
        if len(fields) > 2_000_000:
            return {}
        try:
            fields = json.loads(fields)
        except (ValueError, RecursionError):
            return {}
    return fields if isinstance(fields, dict) else {}


def gvlids(fields: Any) -> list[int]:
    """`gvlid` values of an rtb row's fields (top level, or in the Prebid bid's `params`)."""
    data = _fields(fields)
    out = []
    for holder in (data, data.get("params")):
        if isinstance(holder, dict):
            value = holder.get("gvlid")
            if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 100_000:
                out.append(value)
            elif isinstance(value, str):
                out.extend(v for v in small_ids(value) if 0 < v < 100_000)
    return out


def eid_sources(fields: Any) -> list[str]:
    """Eid source domains of an rtb row: `user.eids[].source` (openrtb-request rows) or `eid_sources`
    (Prebid bidRequested rows)."""
    data = _fields(fields)
    sources: list[Any] = []
    user = data.get("user")
    if isinstance(user, dict) and isinstance(user.get("eids"), list):
        sources += [e.get("source") for e in user["eids"][:MAX_EIDS] if isinstance(e, dict)]
    if isinstance(data.get("eid_sources"), list):
        sources += data["eid_sources"][:MAX_EIDS]
    return [s for s in (clean_domain(s) for s in sources) if s]


def known_hosts(vendor_id: int) -> tuple[str, ...]:
    """mouchard's own hosts of a vendor (`GVL_VENDORS`)."""
    return next((v.hosts for v in GVL_VENDORS if v.id == vendor_id), ())


def host_sites(hosts: Iterable[str]) -> set[str]:
    """Registrable domains of hosts: what `requests.site` and `cookies.site` are indexed by."""
    return {site_of(h) for h in hosts if h} - {""}

