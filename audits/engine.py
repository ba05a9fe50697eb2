"""Evaluate rules over the collection runs of a database and rebuild the derived `findings` table.

`findings` is derived: evaluating again replaces the findings of the runs in scope (for the rules evaluated),
so new rule versions re-judge old data. Each evaluation is recorded as a `crawls` row of kind `audit` naming the
rules and versions it applied. Findings keep the `crawl_id` of the collection run they are about.
"""

from __future__ import annotations

import sqlite3
import sys
import traceback
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from mouchard.classification.rollups import rebuild as rebuild_rollups
from mouchard.errors import UserError
from mouchard.settings import debug_enabled
from mouchard.storage.store import Store, utcnow

from audits.rules import JURISDICTIONS, Context, Rule, select
from audits.rules.base import fingerprint


@dataclass(frozen=True)
class Evaluation:
    """What one evaluation did: the scope, the rules applied or skipped, the findings written, rule errors."""

    audit_crawl_id: int
    jurisdiction: str
    scope: tuple[int, ...]
    rules: tuple[Rule, ...]
    not_applicable: tuple[Rule, ...]
    findings: tuple[dict, ...]
    errors: tuple[str, ...]

    def by_severity(self) -> dict[str, int]:
        counts = Counter(f["severity"] for f in self.findings)
        return {s: counts[s] for s in ("high", "medium", "low", "info") if counts[s]}


def collection_runs(store: Store) -> list[int]:
    """Ids of every run that collected data (every crawl but audits)."""
    return [r[0] for r in store.conn.execute("SELECT id FROM crawls WHERE kind IS NOT 'audit' ORDER BY id")]


def evaluate(store: Store, *, jurisdiction: str = "eu", rules: Iterable[str] | None = None,
             crawl_ids: Iterable[int] | None = None, config: dict | None = None,
             command: list[str] | None = None, replace_all: bool = False) -> Evaluation:
    """Run the selected rules on the runs in scope (default: all) and replace their findings.

    Findings of the runs in scope are replaced for the rules evaluated (for every rule when all are evaluated,
    or with `replace_all`: a bundle holds exactly what its audit concluded).
    """
    if jurisdiction not in JURISDICTIONS:
        raise UserError(f"unknown jurisdiction {jurisdiction!r}: expected one of {', '.join(JURISDICTIONS)}")
    rules = None if rules is None else list(rules)
    selected = select(rules)
    scope = _scope(store, crawl_ids)
    applicable = tuple(r for r in selected if r.applies_to(jurisdiction))
    not_applicable = tuple(r for r in selected if not r.applies_to(jurisdiction))
    _fill_scope(store.conn, scope)
    ctx = Context(store, jurisdiction)
    rows: dict[str, dict] = {}
    errors: list[str] = []
    created = utcnow()
    for rule in applicable:
        try:
            hits = list(rule.check(ctx))
        except Exception as exc:  # odd crawled data must not sink the whole audit: record it, go on
            errors.append(f"{rule.id}: {type(exc).__name__}: {exc}")
            print(f"mouchard audit: rule {rule.id} could not be evaluated: {type(exc).__name__}: {exc}",
                  file=sys.stderr)
            if debug_enabled():
                traceback.print_exc(file=sys.stderr)
            continue
        for hit in hits:
            row = _row(rule, hit, jurisdiction, created)
            seen = rows.get(row["fingerprint"])
            if seen:  # the same finding from two runs: one row, evidence of both
                seen["evidence"] = sorted({(e["table"], e["id"]) for e in seen["evidence"] + row["evidence"]})
                seen["evidence"] = [{"table": t, "id": i} for t, i in seen["evidence"]]
            else:
                rows[row["fingerprint"]] = row
    findings = sorted(rows.values(), key=lambda f: (f["rule_id"], f["subject"], f["fingerprint"]))
    with store.transaction() as tx:
        everything = replace_all or not rules or rules == ["all"]
        _delete_previous(tx.conn, scope, None if everything else [r.id for r in selected])
        tx.insert_many("findings", findings)
        # the per-site rollup counts findings: rebuilt with them, in the same transaction
        rebuild_rollups(store, scope)
        audit_id = store.start_crawl("audit", command=command, config={
            **(config or {}), "jurisdiction": jurisdiction, "scope": list(scope),
            "rules": [{"id": r.id, "version": r.version} for r in applicable],
            "not_applicable": [r.id for r in not_applicable]})
        summary = {"findings": len(findings), "by_severity": dict(Counter(f["severity"] for f in findings)),
                   "rule_errors": errors}
        store.finish_crawl(audit_id, "failed" if errors else "finished", summary)
    return Evaluation(audit_id, jurisdiction, scope, applicable, not_applicable, tuple(findings), tuple(errors))


def _scope(store: Store, crawl_ids: Iterable[int] | None) -> tuple[int, ...]:
    runs = collection_runs(store)
    if crawl_ids is None:
        return tuple(runs)
    wanted = sorted(set(crawl_ids))
    missing = [str(i) for i in wanted if i not in runs]
    if missing:
        raise UserError(f"no collection run {', '.join(missing)} in {store.path} (crawls.id of a crawl, import or brokers run)")
    return tuple(wanted)


def _fill_scope(conn: sqlite3.Connection, scope: tuple[int, ...]) -> None:
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS audit_scope (crawl_id INTEGER PRIMARY KEY)")
    conn.execute("DELETE FROM temp.audit_scope")
    conn.executemany("INSERT INTO temp.audit_scope VALUES (?)", [(i,) for i in scope])


def _delete_previous(conn: sqlite3.Connection, scope: tuple[int, ...], rule_ids: list[str] | None) -> None:
    """Findings of these runs (and of no run) that this evaluation replaces."""
    where = "(crawl_id IN (SELECT crawl_id FROM temp.audit_scope) OR crawl_id IS NULL)"
    params: list = []
    if rule_ids is not None:
        where += f" AND rule_id IN ({','.join('?' * len(rule_ids))})"
        params = rule_ids
    conn.execute(f"DELETE FROM findings WHERE {where}", params)


def _row(rule: Rule, hit, jurisdiction: str, created: str) -> dict:
    return {
        "crawl_id": hit.crawl_id, "rule_id": rule.id, "rule_version": rule.version, "severity": rule.severity,
        "title": hit.title, "detail": hit.detail, "jurisdiction": jurisdiction,
        "legal_reference": rule.reference(jurisdiction), "subject": hit.subject, "visit_id": hit.visit_id,
        "flow_id": hit.flow_id, "broker_id": hit.broker_id,
        "evidence": [e.as_dict() for e in sorted(set(hit.evidence))],
        "fingerprint": fingerprint(rule.id, hit.subject, hit.facts), "created_at": created,
    }
