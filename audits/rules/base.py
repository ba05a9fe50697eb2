"""What a rule is: data (id, version, severity, legal references, explanation) plus a small check over the store.

A check reads rows of the collection runs in scope and yields `Hit`s; the engine turns each hit into a
`findings` row with the rule's metadata, the legal reference of the audit's jurisdiction and a fingerprint.
The fingerprint hashes the rule, the subject and the facts a check chose (hosts, cookie names, page kinds...),
never row ids or timestamps, so the same violation found by two runs has the same fingerprint.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mouchard.storage.store import Store

JURISDICTIONS = ("eu", "fr", "uk", "us-ca")
JURISDICTION_NAMES = {"eu": "European Union", "fr": "France", "uk": "United Kingdom", "us-ca": "California"}
SEVERITIES = ("high", "medium", "low", "info")

# The collection runs a rule may read: a temporary table the engine fills before running checks.
SCOPE = "(SELECT crawl_id FROM temp.audit_scope)"


@dataclass(frozen=True, order=True)
class Evidence:
    """One row that proves a finding: `{table, id}` in `findings.evidence`."""

    table: str
    id: int

    def as_dict(self) -> dict:
        return {"table": self.table, "id": self.id}


@dataclass(frozen=True)
class Hit:
    """What a check found about one subject; `facts` (JSON-able, no ids or times) feed the fingerprint."""

    subject: str
    title: str
    detail: str
    facts: dict
    evidence: tuple[Evidence, ...]
    crawl_id: int | None
    visit_id: int | None = None
    flow_id: int | None = None
    broker_id: int | None = None


@dataclass(frozen=True)
class Rule:
    """A rule: metadata as data, and `check(ctx)` yielding hits."""

    id: str
    version: str
    severity: str
    title: str
    needs: tuple[str, ...]  # tables whose rows the rule reads (the evidence it needs)
    legal: dict[str, str]  # jurisdiction -> provisions it relates to
    explanation: str  # plain language, for the report and the docs
    check: Callable[["Context"], Iterable[Hit]] = field(compare=False, repr=False)

    def applies_to(self, jurisdiction: str) -> bool:
        return jurisdiction in self.legal

    def reference(self, jurisdiction: str) -> str:
        return self.legal.get(jurisdiction, "")


def rule(*, id: str, version: str, severity: str, title: str, needs: tuple[str, ...], legal: dict[str, str],
         explanation: str) -> Callable[[Callable[["Context"], Iterable[Hit]]], Rule]:
    """Declare a rule over its check function (validated here: a malformed rule is a bug, caught on import)."""
    if severity not in SEVERITIES:
        raise ValueError(f"rule {id}: severity {severity!r} not in {SEVERITIES}")
    unknown = set(legal) - set(JURISDICTIONS)
    if unknown or not legal:
        raise ValueError(f"rule {id}: legal references must be keyed by {JURISDICTIONS}, got {sorted(legal)}")

    def wrap(check: Callable[["Context"], Iterable[Hit]]) -> Rule:
        return Rule(id, version, severity, title, tuple(needs), dict(legal), " ".join(explanation.split()), check)

    return wrap


def fingerprint(rule_id: str, subject: str, facts: dict) -> str:
    """Stable hash of rule, subject and facts: the same finding across runs."""
    text = json.dumps({"rule": rule_id, "subject": subject, "facts": facts}, sort_keys=True,
                      ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Context:
    """What a check sees: the store (read through `rows`), the jurisdiction, helpers over the runs in scope."""

    def __init__(self, store: "Store", jurisdiction: str):
        self.store = store
        self.jurisdiction = jurisdiction

    def rows(self, sql: str, params: Iterable | dict = ()) -> list[dict]:
        return self.store.rows(sql, params)

    def visit_files(self, visit_ids: Iterable[int]) -> list[Evidence]:
        """Screenshots and other files kept for these visits (evidence_files rows)."""
        ids = sorted(set(visit_ids))
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        found = self.rows(f"SELECT id FROM evidence_files WHERE visit_id IN ({marks}) ORDER BY id", ids)
        return [Evidence("evidence_files", r["id"]) for r in found]


def evidence(table: str, ids: Iterable[int | None]) -> list[Evidence]:
    """Evidence rows of one table, without empties or duplicates, in id order."""
    return [Evidence(table, i) for i in sorted({i for i in ids if i is not None})]


def loads(text: str | None, default=None):
    """A JSON column's value, or `default` when empty or unreadable (crawled data can be anything)."""
    if text in (None, ""):
        return default
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return default


def listing(items: Iterable[str], limit: int = 8) -> str:
    """'a, b, c and 4 more' for plain-language details (sorted, so details are deterministic)."""
    items = sorted(set(items))
    if len(items) <= limit:
        return ", ".join(items)
    return ", ".join(items[:limit]) + f" and {len(items) - limit} more"


def plural(count: int, word: str, many: str | None = None) -> str:
    return f"{count} {word if count == 1 else (many or word + 's')}"


def group_by(rows: Iterable[dict], *keys: str) -> Iterator[tuple[tuple, list[dict]]]:
    """Rows grouped by `keys`, groups in key order (rows are kept in their order)."""
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault(tuple(row[k] for k in keys), []).append(row)
    for key in sorted(groups, key=lambda k: tuple("" if v is None else str(v) for v in k)):
        yield key, groups[key]
