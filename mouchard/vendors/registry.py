"""A recorded GVL version read back from the store: `load_declared(conn)` -> `Declared`.

One query for the vendors and one for the disclosure items of a version, held in memory (the live list is ~1,000
vendors and tens of thousands of items), so matching a crawl's hosts and cookies against it costs no query.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field

from mouchard.vendors.disclosure import Disclosed, Disclosure
from mouchard.vendors.gvl import Vendor

MAX_ROWS = 2_000_000  # bound of one version's rows (65,535 vendors at most; items bounded per vendor)


def _ids(text) -> tuple[int, ...]:
    """A JSON list of ids as stored; anything else (a hand-edited database) reads as none."""
    try:
        value = json.loads(text) if isinstance(text, str) else None
    except (ValueError, RecursionError):
        return ()
    if not isinstance(value, list):
        return ()
    return tuple(v for v in value if isinstance(v, int) and not isinstance(v, bool))


def _strings(text) -> tuple[str, ...]:
    try:
        value = json.loads(text) if isinstance(text, str) else None
    except (ValueError, RecursionError):
        return ()
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()


def _bool(value) -> bool | None:
    return None if value is None else bool(value)


def _key(domain: str) -> str:
    """A declared domain as a lookup key: lower case, no `*.`, no surrounding dots."""
    text = domain.strip().lower()
    if text.startswith("*."):
        text = text[2:]
    return text.strip(".")


@dataclass
class Declared:
    """What the vendors of one recorded GVL version declare."""

    vendor_list_id: int
    version: int
    vendors: dict[int, Vendor] = field(default_factory=dict)
    disclosures: dict[int, Disclosure] = field(default_factory=dict)  # vendors whose disclosure was read
    statuses: dict[int, str] = field(default_factory=dict)  # vendors.disclosure_status
    entities: dict[int, str] = field(default_factory=dict)  # vendors.tracker_entity, when matched
    by_domain: dict[str, list[int]] = field(default_factory=dict)  # declared domain -> vendor ids

    def vendor(self, vendor_id: int) -> Vendor | None:
        """The vendor with this GVL id in this version, or None."""
        return self.vendors.get(vendor_id)

    def disclosure(self, vendor_id: int) -> Disclosure | None:
        """The vendor's Device Storage Disclosure as read at fetch time; None when it has none or it failed."""
        return self.disclosures.get(vendor_id)

    def vendors_for_host(self, host: str) -> list[int]:
        """Ids of the vendors whose disclosure names `host` or a parent domain of it (nearest first)."""
        from mouchard.decode.domains import host_of

        host = host_of(host or "")
        if not host:
            return []
        labels = host.split(".")
        found: list[int] = []
        for start in range(len(labels)):
            for vendor_id in self.by_domain.get(".".join(labels[start:]), ()):
                if vendor_id not in found:
                    found.append(vendor_id)
        return found


def load_declared(conn: sqlite3.Connection, vendor_list_id: int | None = None) -> Declared | None:
    """The vendors and disclosures of one recorded GVL version (default: the newest version recorded, its latest
    copy); None when no version is recorded (or `vendor_list_id` does not exist)."""
    if vendor_list_id is None:
        row = conn.execute("SELECT id, version FROM vendor_lists ORDER BY version DESC, id DESC LIMIT 1").fetchone()
    else:
        row = conn.execute("SELECT id, version FROM vendor_lists WHERE id = ?", (vendor_list_id,)).fetchone()
    if row is None:
        return None
    declared = Declared(vendor_list_id=row[0], version=row[1])
    domains: dict[int, tuple[str, ...]] = {}
    for (vendor_id, name, purposes, leg_int, flexible, special_purposes, features, special_features, uses_cookies,
         max_age, refresh, non_cookie, privacy, claim, url, status, listed, deleted, entity) in conn.execute(
            "SELECT vendor_id, name, purposes, leg_int_purposes, flexible_purposes, special_purposes, features, "
            "special_features, uses_cookies, cookie_max_age_seconds, cookie_refresh, uses_non_cookie_access, "
            "privacy_url, legitimate_interest_url, device_storage_disclosure_url, disclosure_status, domains, "
            "deleted_date, tracker_entity FROM vendors WHERE vendor_list_id = ? LIMIT ?",
            (declared.vendor_list_id, MAX_ROWS)):
        if not isinstance(vendor_id, int):
            continue
        declared.vendors[vendor_id] = Vendor(
            id=vendor_id, name=name or "", purposes=_ids(purposes), leg_int_purposes=_ids(leg_int),
            flexible_purposes=_ids(flexible), special_purposes=_ids(special_purposes), features=_ids(features),
            special_features=_ids(special_features), uses_cookies=_bool(uses_cookies),
            cookie_max_age_seconds=max_age if isinstance(max_age, int) else None, cookie_refresh=_bool(refresh),
            uses_non_cookie_access=_bool(non_cookie), device_storage_disclosure_url=url, privacy_url=privacy,
            legitimate_interest_url=claim, deleted_date=deleted or None)
        declared.statuses[vendor_id] = status or ""
        if entity:
            declared.entities[vendor_id] = entity
        if status == "ok":
            domains[vendor_id] = _strings(listed)
    items: dict[int, list[Disclosed]] = {vendor_id: [] for vendor_id in domains}
    for vendor_id, identifier, kind, max_age, refresh, domain, purposes in conn.execute(
            "SELECT vendor_id, identifier, type, max_age_seconds, cookie_refresh, domain, purposes "
            "FROM vendor_disclosures WHERE vendor_list_id = ? ORDER BY id LIMIT ?",
            (declared.vendor_list_id, MAX_ROWS)):
        if vendor_id in items and isinstance(identifier, str):
            items[vendor_id].append(Disclosed(identifier, kind or "", max_age if isinstance(max_age, int) else None,
                                              _bool(refresh), domain, _ids(purposes)))
    for vendor_id, listed in domains.items():
        # vendors.domains holds the top-level domains and the items' (matching treats both alike).
        declared.disclosures[vendor_id] = Disclosure(tuple(items[vendor_id]), listed)
        for domain in listed:
            key = _key(domain)
            if key and "*" not in key and "." in key:
                ids = declared.by_domain.setdefault(key, [])
                if vendor_id not in ids:
                    ids.append(vendor_id)
    return declared
