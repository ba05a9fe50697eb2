"""Fetch a Global Vendor List version and every vendor's Device Storage Disclosure into the store.

`fetch_vendors` downloads the current list, a numbered version or a given file (URL or path), fetches each
vendor's disclosure concurrently (http(s) only, bounded in count, size and time; a failure is a status line,
never the end of the run), and records in one transaction a `vendor_lists` row with its provenance and what
changed since the newest older version recorded, the `vendors` rows and the `vendor_disclosures` rows. The run is
a `crawls` row of kind "vendors" and the list as fetched is kept as an evidence file (documents "registry"), as a
data-broker registry fetch is.

The GVL is published by IAB Europe under its own terms of use: it is fetched at run time, never shipped.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path

from mouchard.errors import UserError
from mouchard.net import FetchError, NetworkOptions, download, fetch
from mouchard.vendors.disclosure import MAX_DISCLOSURE_BYTES, Disclosure, DisclosureError, parse_disclosure
from mouchard.vendors.gvl import MAX_LIST_BYTES, Vendor, VendorList, VendorListError, parse_vendor_list

GVL_URL = "https://vendor-list.consensu.org/v3/vendor-list.json"
ARCHIVE_URL = "https://vendor-list.consensu.org/v3/archives/vendor-list-v{version}.json"
LICENCE = "IAB Europe TCF: Global Vendor List terms of use (fetched at run time, not redistributed)"
DISCLOSURE_TIMEOUT = 20.0  # seconds per disclosure URL (connect, and each read)
MAX_WORKERS = 32
STATUS_LIMIT = 200  # characters of a failure's status line

# Columns of `vendors` compared between versions ("disclosure" stands for the items of vendor_disclosures).
COMPARED = ("name", "purposes", "leg_int_purposes", "flexible_purposes", "special_purposes", "features",
            "special_features", "uses_cookies", "cookie_max_age_seconds", "cookie_refresh",
            "uses_non_cookie_access", "privacy_url", "legitimate_interest_url", "device_storage_disclosure_url",
            "deleted_date")


def list_url(version: int | None = None) -> str:
    """The address of the current list, or of a numbered version in IAB Europe's archive."""
    return GVL_URL if version is None else ARCHIVE_URL.format(version=int(version))


def _one_line(text: str) -> str:
    return " ".join(str(text).split())[:STATUS_LIMIT]


def _fetch_disclosure(url: str, net: NetworkOptions, timeout: float) -> tuple[str, Disclosure | None]:
    """(status, disclosure) of one vendor's disclosure URL; never raises (a failure is the status)."""
    if not url.lower().startswith(("http://", "https://")):
        return "failed: not http", None
    try:
        body = fetch(url, net, timeout=timeout, max_bytes=MAX_DISCLOSURE_BYTES).body
        return "ok", parse_disclosure(body)
    except (FetchError, DisclosureError) as exc:
        return _one_line(f"failed: {exc}"), None
    except Exception as exc:  # a bug or an odd socket error must not stop the others: still one line
        return _one_line(f"failed: {type(exc).__name__}: {exc}"), None


def fetch_disclosures(vendors: list[Vendor], net: NetworkOptions, *, max_disclosures: int = 2000,
                      workers: int = 8, timeout: float = DISCLOSURE_TIMEOUT,
                      ) -> dict[int, tuple[str, Disclosure | None]]:
    """Status and disclosure per vendor id: "none" without a URL, "not-fetched" for deleted vendors and past
    `max_disclosures`, else what `_fetch_disclosure` says. Fetched in `workers` threads."""
    results: dict[int, tuple[str, Disclosure | None]] = {}
    todo: list[Vendor] = []
    for vendor in vendors:
        if not vendor.device_storage_disclosure_url:
            results[vendor.id] = ("none", None)
        elif vendor.deleted_date or len(todo) >= max_disclosures:
            results[vendor.id] = ("not-fetched", None)
        else:
            todo.append(vendor)
    if todo:
        with ThreadPoolExecutor(max_workers=max(1, min(workers, MAX_WORKERS)),
                                thread_name_prefix="mouchard-disclosure") as pool:
            found = pool.map(lambda v: _fetch_disclosure(v.device_storage_disclosure_url, net, timeout), todo)
            for vendor, result in zip(todo, found):
                results[vendor.id] = result
    return results


def _domains(disclosure: Disclosure | None) -> list[str]:
    """Every domain a disclosure names (top level, then items'), `*` aside, in order, without duplicates."""
    if disclosure is None:
        return []
    names = list(disclosure.domains) + [d for item in disclosure.items for d in item.all_domains()]
    cleaned = (d.strip().lower().strip(".") for d in names)  # ".criteo.com" and "criteo.com" are one domain
    return list(dict.fromkeys(d for d in cleaned if d not in ("", "*")))


def _entity(classifier, domains: list[str], privacy_url: str | None) -> str | None:
    """The company the tracker lists give most of the vendor's domains, else its privacy page's host's."""
    from mouchard.decode.domains import host_of

    found: Counter[str] = Counter()
    for domain in domains:
        host = host_of(domain.strip().lstrip("*").lstrip("."))
        hit = classifier.classify_host(host) if host else None
        if hit is not None and hit.entity:
            found[hit.entity] += 1
    if found:
        return found.most_common(1)[0][0]
    host = host_of(privacy_url or "")
    hit = classifier.classify_host(host) if host else None
    return hit.entity if hit is not None else None


def _vendor_row(vendor: Vendor, status: str, disclosure: Disclosure | None, entity: str | None) -> dict:
    row = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(vendor).items() if k in COMPARED}
    row.update(vendor_id=vendor.id, disclosure_status=status, domains=_domains(disclosure), tracker_entity=entity)
    return row


def _disclosure_rows(vendor_id: int, disclosure: Disclosure | None) -> list[dict]:
    """One row per item and declared domain (an item naming three domains is three rows; none, one row)."""
    rows = []
    for item in disclosure.items if disclosure else ():
        for domain in item.all_domains() or (None,):
            rows.append({"vendor_id": vendor_id, "identifier": item.identifier, "type": item.type,
                         "max_age_seconds": item.max_age_seconds, "cookie_refresh": item.cookie_refresh,
                         "domain": domain, "purposes": list(item.purposes)})
    return rows


def _previous(store, version: int, sha256: str) -> dict | None:
    """The newest older version recorded (or an earlier copy of this version with other bytes)."""
    rows = store.rows("SELECT id, version FROM vendor_lists WHERE version < ? OR (version = ? AND sha256 != ?) "
                      "ORDER BY version DESC, id DESC LIMIT 1", (version, version, sha256))
    return rows[0] if rows else None


def _load_state(store, vendor_list_id: int) -> tuple[dict[int, dict], dict[int, list[tuple]]]:
    """Vendors (by id) and their disclosure items (as sorted tuples) of one recorded version."""
    from mouchard.vendors.registry import MAX_ROWS

    vendors = {r["vendor_id"]: r for r in store.rows(
        "SELECT * FROM vendors WHERE vendor_list_id = ? LIMIT ?", (vendor_list_id, MAX_ROWS))}
    items: dict[int, list[tuple]] = {}
    for r in store.rows("SELECT vendor_id, identifier, type, max_age_seconds, cookie_refresh, domain, purposes "
                        "FROM vendor_disclosures WHERE vendor_list_id = ? LIMIT ?", (vendor_list_id, MAX_ROWS)):
        items.setdefault(r["vendor_id"], []).append(tuple(r[k] for k in (
            "identifier", "type", "max_age_seconds", "cookie_refresh", "domain", "purposes")))
    return vendors, {k: sorted(v, key=repr) for k, v in items.items()}


def diff_versions(old: tuple[dict[int, dict], dict[int, list[tuple]]],
                  new: tuple[dict[int, dict], dict[int, list[tuple]]]) -> dict:
    """appeared (ids new), left (ids gone or newly deleted), changed ({id: [fields]}, "disclosure" for its items
    and "domains" when both versions' disclosures were read)."""
    (old_vendors, old_items), (new_vendors, new_items) = old, new
    appeared = sorted(set(new_vendors) - set(old_vendors))
    left = sorted(set(old_vendors) - set(new_vendors))
    changed: dict[str, list[str]] = {}
    for vendor_id in sorted(set(old_vendors) & set(new_vendors)):
        before, after = old_vendors[vendor_id], new_vendors[vendor_id]
        if after.get("deleted_date") and not before.get("deleted_date"):
            left.append(vendor_id)
            continue
        fields = [k for k in COMPARED if before.get(k) != after.get(k)]
        if before.get("disclosure_status") == "ok" and after.get("disclosure_status") == "ok":
            if before.get("domains") != after.get("domains"):
                fields.append("domains")
            if old_items.get(vendor_id, []) != new_items.get(vendor_id, []):
                fields.append("disclosure")
        if fields:
            changed[str(vendor_id)] = fields
    return {"appeared": appeared, "left": sorted(left), "changed": changed}


def _evidence_root(store) -> Path:
    """The database's evidence folder (`<db>.evidence/`), as every collector keeps it."""
    from mouchard.settings import evidence_dir

    return evidence_dir(Path(store.path).resolve())


def _keep_evidence(store, raw: bytes, sha256: str) -> Path:
    """The list as fetched, under the database's evidence folder, named by its SHA-256 (written once)."""
    folder = _evidence_root(store) / "vendor-lists"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{sha256}.json"
    if not path.exists():
        tmp = path.with_name(path.name + ".part")
        tmp.write_bytes(raw)
        os.replace(tmp, path)
    return path


def _download_list(url: str, net: NetworkOptions) -> bytes:
    try:
        raw, _modified = download(url, net, timeout=120, max_bytes=MAX_LIST_BYTES)
    except FetchError as exc:
        if "larger than" in str(exc):
            raise VendorListError(f"not a Global Vendor List: larger than {MAX_LIST_BYTES} bytes") from None
        raise UserError(f"cannot fetch the Global Vendor List: {_one_line(str(exc))}") from None
    return raw


def fetch_vendors(store, *, version: int | None = None, source: str | os.PathLike | None = None,
                  net: NetworkOptions = NetworkOptions(), disclosures: bool = True, max_disclosures: int = 2000,
                  workers: int = 8, timeout: float = DISCLOSURE_TIMEOUT, classifier=None,
                  progress: Callable[[str], None] | None = None) -> dict:
    """Record one GVL version (current, `version` from the archive, or `source`: a URL or a path) and its vendors'
    disclosures in `store` (a `Store`, or a database path opened and closed here); returns the summary also kept
    in `crawls.summary`.

    Same version and SHA-256 already recorded: nothing new is stored (`unchanged`). Otherwise `appeared`, `left`
    and `changed` compare it with the newest older version recorded. Raises `UserError` (one line) when the list
    cannot be fetched or read; a disclosure that cannot be is a status in `vendors.disclosure_status`.
    """
    from mouchard.storage.store import Store, utcnow

    if isinstance(store, (str, os.PathLike)):
        with Store(store) as opened:
            return fetch_vendors(opened, version=version, source=source, net=net, disclosures=disclosures,
                                 max_disclosures=max_disclosures, workers=workers, timeout=timeout,
                                 classifier=classifier, progress=progress)
    if version is not None and source is not None:
        raise UserError("give a version or a source, not both")
    if version is not None and not 1 <= int(version) <= 1 << 31:
        raise UserError(f"bad GVL version {version}: expected a positive number")
    if max_disclosures < 0 or not 1 <= workers <= MAX_WORKERS or not 0 < timeout <= 600:
        raise UserError(f"bad limits: max_disclosures >= 0, workers 1..{MAX_WORKERS}, timeout 0..600 seconds")
    url = os.fspath(source) if source is not None else list_url(version)
    say = progress or (lambda _text: None)
    crawl_id = store.start_crawl("vendors", network=net.as_record(), config={
        "version": version, "source": url, "disclosures": disclosures, "max_disclosures": max_disclosures,
        "workers": workers, "timeout": timeout})
    status, summary = "failed", {}
    try:
        raw = _download_list(url, net)
        parsed: VendorList = parse_vendor_list(raw)
        if version is not None and parsed.version != int(version):
            raise VendorListError(f"asked for version {version}, the file is version {parsed.version}")
        sha256 = hashlib.sha256(raw).hexdigest()
        summary = {"crawl_id": crawl_id, "version": parsed.version, "sha256": sha256, "source_url": url,
                   "vendors": len(parsed.vendors)}
        same = store.rows("SELECT id FROM vendor_lists WHERE version = ? AND sha256 = ? LIMIT 1",
                          (parsed.version, sha256))
        if same:
            summary.update(unchanged=True, vendor_list_id=same[0]["id"])
            status = "finished"
            return summary
        vendors = sorted(parsed.vendors.values(), key=lambda v: v.id)
        if disclosures:
            say(f"fetching up to {min(max_disclosures, len(vendors))} disclosures with {workers} workers")
            found = fetch_disclosures(vendors, net, max_disclosures=max_disclosures, workers=workers,
                                      timeout=timeout)
        else:
            found = {v.id: ("none" if not v.device_storage_disclosure_url else "not-fetched", None) for v in vendors}
        vendor_rows, item_rows = [], []
        for vendor in vendors:
            state, disclosure = found[vendor.id]
            # The company is the tracker lists' word (the caller's classifier: this layer sits below them).
            entity = _entity(classifier, _domains(disclosure), vendor.privacy_url) if classifier else None
            vendor_rows.append(_vendor_row(vendor, state, disclosure, entity))
            item_rows += _disclosure_rows(vendor.id, disclosure)
        ok = sum(1 for s, _ in found.values() if s == "ok")
        failed = sum(1 for s, _ in found.values() if s.startswith("failed"))
        previous = _previous(store, parsed.version, sha256)
        path = _keep_evidence(store, raw, sha256)
        with store.transaction() as tx:
            list_id = tx.insert("vendor_lists", {
                "version": parsed.version, "gvl_specification_version": parsed.gvl_specification_version,
                "tcf_policy_version": parsed.tcf_policy_version, "last_updated": parsed.last_updated,
                "source_url": url, "sha256": sha256, "licence": LICENCE, "vendors": len(vendors),
                "disclosures_fetched": ok, "disclosures_failed": failed,
                "previous_version": previous["version"] if previous else None, "fetched_at": utcnow()})
            tx.insert_many("vendors", ({**row, "vendor_list_id": list_id} for row in vendor_rows))
            tx.insert_many("vendor_disclosures", ({**row, "vendor_list_id": list_id} for row in item_rows))
            # Compared as stored (JSON text, 0/1), inside the transaction: what a reader of both versions sees.
            changes = {"appeared": [], "left": [], "changed": {}}
            if previous is not None:
                changes = diff_versions(_load_state(store, previous["id"]), _load_state(store, list_id))
            tx.update("vendor_lists", list_id, changes)
            file_id = store.add_evidence_file(path, "registry", root=_evidence_root(store), crawl_id=crawl_id,
                                              media_type="application/json", tx=tx)
        summary.update(vendor_list_id=list_id, evidence_file_id=file_id, disclosures_ok=ok,
                       disclosures_failed=failed,
                       disclosures_not_fetched=sum(1 for s, _ in found.values() if s == "not-fetched"),
                       disclosure_items=len(item_rows),
                       previous_version=previous["version"] if previous else None, **changes)
        status = "finished"
        return summary
    except UserError as exc:
        store.record_failure("vendors", "run-error", _one_line(str(exc)), crawl_id=crawl_id)
        raise
    finally:
        store.finish_crawl(crawl_id, status, summary)


def describe(summary: dict) -> list[str]:
    """The summary as lines for the terminal."""
    head = f"GVL version {summary['version']}: {summary['vendors']} vendors from {summary['source_url']}"
    if summary.get("unchanged"):
        return [head, f"  already recorded (vendor_lists {summary['vendor_list_id']}, sha256 "
                      f"{summary['sha256'][:12]}): nothing new stored"]
    lines = [head, f"  disclosures: {summary['disclosures_ok']} ok, {summary['disclosures_failed']} failed, "
                   f"{summary['disclosures_not_fetched']} not fetched; {summary['disclosure_items']} items"]
    if summary.get("previous_version") is None:
        lines.append("  first version recorded: nothing to compare with")
    else:
        lines.append(f"  since version {summary['previous_version']}: {len(summary['appeared'])} appeared, "
                     f"{len(summary['left'])} left, {len(summary['changed'])} changed")
    return lines


__all__ = ["ARCHIVE_URL", "GVL_URL", "LICENCE", "describe", "diff_versions", "fetch_disclosures", "fetch_vendors",
           "list_url"]
