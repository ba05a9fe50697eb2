"""Compare the findings of two bundles (or databases): appeared, disappeared, changed.

Findings are matched by fingerprint (rule, subject and facts). A matched pair whose severity, rule version,
title, detail or legal reference differ is "changed". Of the rest, when a rule has exactly one unmatched finding
for a subject on each side, the facts changed (other trackers, other pages): that pair is "changed" too;
everything else appeared or disappeared.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from mouchard.errors import UserError

from audits.bundle import DATABASE, open_sealed

COMPARED = ("severity", "rule_version", "title", "detail", "legal_reference", "jurisdiction")
SHOWN = ("rule_id", "rule_version", "severity", "subject", "title", "detail", "legal_reference", "fingerprint")


@dataclass(frozen=True)
class Change:
    before: dict
    after: dict
    fields: tuple[str, ...]


@dataclass(frozen=True)
class FindingsDiff:
    appeared: list[dict] = field(default_factory=list)
    disappeared: list[dict] = field(default_factory=list)
    changed: list[Change] = field(default_factory=list)
    unchanged: int = 0

    @property
    def identical(self) -> bool:
        return not (self.appeared or self.disappeared or self.changed)

    def as_json(self) -> dict:
        def pick(row: dict) -> dict:
            return {k: row.get(k) for k in SHOWN}
        return {"identical": self.identical, "unchanged": self.unchanged,
                "appeared": [pick(r) for r in self.appeared], "disappeared": [pick(r) for r in self.disappeared],
                "changed": [{"fields": list(c.fields), "before": pick(c.before), "after": pick(c.after)}
                            for c in self.changed]}


def load_findings(path: str | Path) -> list[dict]:
    """Findings of a bundle folder (its audit.db) or of a database file, read without modifying it."""
    path = Path(path)
    db = path / DATABASE if path.is_dir() else path
    if not db.is_file():
        raise UserError(f"{path}: neither a bundle folder (with {DATABASE}) nor a database file")
    try:
        conn = open_sealed(db)
        try:
            rows = conn.execute("SELECT * FROM findings ORDER BY rule_id, subject, fingerprint").fetchall()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise UserError(f"{db}: cannot read findings: {exc}") from None
    return [dict(r) for r in rows]


def diff_findings(before: list[dict], after: list[dict]) -> FindingsDiff:
    old = {r["fingerprint"]: r for r in before}
    new = {r["fingerprint"]: r for r in after}
    result = FindingsDiff()
    unchanged = 0
    for key in sorted(old.keys() & new.keys()):
        fields = tuple(f for f in COMPARED if old[key].get(f) != new[key].get(f))
        if fields:
            result.changed.append(Change(old[key], new[key], fields))
        else:
            unchanged += 1
    gone = [old[k] for k in sorted(old.keys() - new.keys())]
    came = [new[k] for k in sorted(new.keys() - old.keys())]

    def by_subject(rows: list[dict]) -> dict[tuple, list[dict]]:
        groups: dict[tuple, list[dict]] = {}
        for row in rows:
            groups.setdefault((row["rule_id"], row["subject"]), []).append(row)
        return groups

    gone_groups, came_groups = by_subject(gone), by_subject(came)
    for key in sorted(gone_groups.keys() & came_groups.keys()):
        if len(gone_groups[key]) == len(came_groups[key]) == 1:
            a, b = gone_groups[key][0], came_groups[key][0]
            fields = ("facts",) + tuple(f for f in COMPARED if a.get(f) != b.get(f))
            result.changed.append(Change(a, b, fields))
            gone.remove(a)
            came.remove(b)
    result.appeared.extend(sorted(came, key=_order))
    result.disappeared.extend(sorted(gone, key=_order))
    result.changed.sort(key=lambda c: _order(c.after))
    return FindingsDiff(result.appeared, result.disappeared, result.changed, unchanged)


def _order(row: dict) -> tuple:
    return (row.get("rule_id") or "", row.get("subject") or "", row.get("fingerprint") or "")


def render_table(diff: FindingsDiff, width: int = 60) -> str:
    """A plain-text table for people: one line per difference, then a count."""
    def cut(text: str | None) -> str:
        text = " ".join((text or "").split())
        return text if len(text) <= width else text[:width - 1] + "…"

    lines = []
    for label, rows in (("appeared", diff.appeared), ("disappeared", diff.disappeared)):
        for r in rows:
            lines.append(f"{label:<12} {r['severity'] or '':<7} {r['rule_id']:<36} {cut(r['title'])}")
    for c in diff.changed:
        lines.append(f"{'changed':<12} {c.after['severity'] or '':<7} {c.after['rule_id']:<36} {cut(c.after['title'])}")
        for f in c.fields:
            if f == "facts":
                lines.append(f"{'':<12} {'':<7} facts changed (fingerprint {c.before['fingerprint'][:12]} → "
                             f"{c.after['fingerprint'][:12]})")
            else:
                lines.append(f"{'':<12} {'':<7} {f}: {cut(str(c.before.get(f)))} → {cut(str(c.after.get(f)))}")
    if diff.identical:
        lines.append(f"identical: the same {diff.unchanged} findings")
    else:
        lines.append(f"{len(diff.appeared)} appeared, {len(diff.disappeared)} disappeared, "
                     f"{len(diff.changed)} changed, {diff.unchanged} unchanged")
    return "\n".join(lines)
