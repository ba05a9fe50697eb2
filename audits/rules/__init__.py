"""The rule catalogue: every rule of every area (web, consent, apps, brokers, vendors), and selecting rules by id or glob."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from functools import cache

from mouchard.errors import UserError

from audits.rules.base import JURISDICTIONS, SEVERITIES, Context, Evidence, Hit, Rule

AREAS = ("web", "consent", "apps", "brokers", "vendors")

__all__ = ["AREAS", "JURISDICTIONS", "SEVERITIES", "Context", "Evidence", "Hit", "Rule", "catalogue", "select"]


@cache
def catalogue() -> tuple[Rule, ...]:
    """Every rule, sorted by id (ids are unique: a duplicate is a bug)."""
    import importlib

    rules: list[Rule] = []
    for area in AREAS:
        rules.extend(importlib.import_module(f"audits.rules.{area}").RULES)
    ids = [r.id for r in rules]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise RuntimeError(f"duplicate rule ids: {', '.join(duplicates)}")
    return tuple(sorted(rules, key=lambda r: r.id))


def select(patterns: Iterable[str] | None) -> tuple[Rule, ...]:
    """Rules matching ids or globs (`consent.*`); None or "all" means every rule. Unknown patterns: UserError."""
    rules = catalogue()
    patterns = list(patterns or [])
    if not patterns or patterns == ["all"]:
        return rules
    chosen: dict[str, Rule] = {}
    for pattern in patterns:
        matched = [r for r in rules if fnmatch.fnmatchcase(r.id, pattern)]
        if not matched:
            raise UserError(f"no rule matches {pattern!r} (see `mouchard audit --list-rules`)")
        chosen.update((r.id, r) for r in matched)
    return tuple(sorted(chosen.values(), key=lambda r: r.id))
