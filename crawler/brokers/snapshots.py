"""Store one registry snapshot: the file as evidence, a `registry_snapshots` row, `brokers` and `broker_metrics`.

Also says what changed since the registry's previous snapshot (brokers that appeared, left or changed), which
`brokers fetch` prints and keeps in `crawls.summary`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mouchard.classification.brokers import BrokerRecord, diff_snapshots
from mouchard.storage.store import Store, evidence_dir, utcnow


def evidence_root(store: Store) -> Path:
    """The database's evidence folder (`<db>.evidence/`, as every collector keeps it)."""
    return evidence_dir(Path(store.path).resolve())


def keep_evidence(store: Store, data: bytes, subfolder: str, suffix: str) -> Path:
    """Write `data` under the evidence folder, named by its SHA-256 (written once: re-fetches share it)."""
    digest = hashlib.sha256(data).hexdigest()
    folder = evidence_root(store) / subfolder
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{digest}{suffix}"
    if not path.exists():
        tmp = path.with_suffix(path.suffix + ".part")
        tmp.write_bytes(data)
        tmp.replace(path)
    return path


@dataclass
class Capture:
    """What a registry fetch brought back: the bytes as fetched and the registrations read from them."""

    registry: str
    year: int | None
    source_url: str
    data: bytes
    records: Sequence[BrokerRecord]
    suffix: str = ".csv"
    media_type: str = "text/csv"
    unread: list[str] = field(default_factory=list)  # parts of the source that could not be read (portals)


def read_capture(registry: str, data: bytes, source: str, year: int | None = None, *,
                 source_url: str | None = None) -> Capture:
    """A registry file as fetched or given, read with its registry's own parser (mouchard/registries.py): the
    live fetch and `--from FILE` read alike. The year, when not given, comes from the file's name (California)."""
    from crawler.brokers.ca import year_of
    from mouchard.errors import UserError
    from mouchard.registries import find, load

    entry = find(registry)
    if entry.parser is None:
        raise UserError(f"--registry {registry} reads a portal: give its base URL with --from, not a file")
    table = load(entry.parser)(data, source)
    year = year or (year_of(source) if entry.years else None)
    return Capture(registry, year, source_url or source, data, table.records())


def save_snapshot(store: Store, crawl_id: int | None, capture: Capture) -> dict:
    """Write the capture; return its summary (snapshot id, counts, appeared / left / changed)."""
    digest = hashlib.sha256(capture.data).hexdigest()
    previous = _previous_snapshot(store, capture.registry, capture.year)
    summary: dict = {"registry": capture.registry, "year": capture.year, "source_url": capture.source_url,
                     "sha256": digest, "brokers": len(capture.records)}
    if capture.unread:
        summary["unread"] = capture.unread
    if previous and previous["sha256"] == digest:
        summary.update(snapshot_id=previous["id"], unchanged=True, compared_with=previous["id"],
                       appeared=[], left=[], changed={})
        return summary
    path = keep_evidence(store, capture.data, "registries", capture.suffix)
    with store.transaction() as tx:
        file_id = store.add_evidence_file(path, "registry", root=evidence_root(store), crawl_id=crawl_id,
                                          media_type=capture.media_type, tx=tx)
        snapshot_id = tx.insert("registry_snapshots", {
            "crawl_id": crawl_id, "registry": capture.registry, "year": capture.year,
            "source_url": capture.source_url, "fetched_at": utcnow(), "sha256": digest,
            "rows": len(capture.records), "file_id": file_id})
        metrics = 0
        for record in capture.records:
            row = record.row()
            row.update(snapshot_id=snapshot_id, registry=capture.registry, year=capture.year)
            broker_id = tx.insert("brokers", row)
            metrics += tx.insert_many("broker_metrics", (
                {"broker_id": broker_id, "request_type": m.request_type, "measure": m.measure, "value": m.value}
                for m in record.metrics))
    summary.update(snapshot_id=snapshot_id, metrics=metrics,
                   personal_emails=sum(1 for r in capture.records if r.row()["email_personal"]))
    if previous:
        old = store.rows("SELECT * FROM brokers WHERE snapshot_id = ?", (previous["id"],))
        new = store.rows("SELECT * FROM brokers WHERE snapshot_id = ?", (snapshot_id,))
        summary["compared_with"] = previous["id"]
        summary.update(diff_snapshots(old, new))
    return summary


def _previous_snapshot(store: Store, registry: str, year: int | None) -> dict | None:
    """The same registry's latest snapshot of the same year, else of the latest earlier year."""
    same = store.rows("SELECT id, sha256, year FROM registry_snapshots WHERE registry = ? AND year IS ? "
                      "ORDER BY id DESC LIMIT 1", (registry, year))
    if same:
        return same[0]
    if year is None:
        return None
    earlier = store.rows("SELECT id, sha256, year FROM registry_snapshots WHERE registry = ? AND year < ? "
                         "ORDER BY year DESC, id DESC LIMIT 1", (registry, year))
    return earlier[0] if earlier else None


def describe(summary: dict, names: int = 15) -> list[str]:
    """The summary as lines for the terminal."""
    year = f" {summary['year']}" if summary.get("year") else ""
    lines = [f"{summary['registry']}{year}: {summary['brokers']} brokers read from {summary['source_url']}"]
    if summary.get("unchanged"):
        lines.append(f"  same file as snapshot {summary['snapshot_id']} (sha256 {summary['sha256'][:12]}…): "
                     "nothing new stored")
        return lines
    lines.append(f"  snapshot {summary['snapshot_id']}: {summary.get('metrics', 0)} request metrics, "
                 f"{summary.get('personal_emails', 0)} personal-looking contact emails flagged")
    for part in summary.get("unread", []):
        lines.append(f"  not read: {part}")
    if "compared_with" not in summary:
        lines.append("  first snapshot of this registry: nothing to compare with")
        return lines
    appeared, left, changed = summary["appeared"], summary["left"], summary["changed"]
    lines.append(f"  since snapshot {summary['compared_with']}: {len(appeared)} appeared, {len(left)} left, "
                 f"{len(changed)} changed")
    for label, keys in (("appeared", appeared), ("left", left)):
        for key in keys[:names]:
            lines.append(f"    {label}: {key}")
        if len(keys) > names:
            lines.append(f"    … and {len(keys) - names} more {label}")
    for key in list(changed)[:names]:
        lines.append(f"    changed: {key} ({', '.join(changed[key])})")
    if len(changed) > names:
        lines.append(f"    … and {len(changed) - names} more changed")
    return lines
