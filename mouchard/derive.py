"""Deriving findings after a collector run, without the collectors importing the rules.

Findings are derived by the rules in `audits/`. Collectors (crawler/, addons/) may not import `audits`, so the
composition root (`mouchard/cli.py`) installs the deriver here at start-up, and a collector command ends with
`derive_findings(store, [crawl_id], ["brokers.*"])`. Used as a library without the CLI, nothing is derived
until `mouchard audit --db` is run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

Deriver = Callable[[object, list[int], list[str] | None], list[dict]]
_deriver: Deriver | None = None


def set_deriver(deriver: Deriver | None) -> None:
    """Install the function that evaluates rules (the CLI installs audits' engine)."""
    global _deriver
    _deriver = deriver


def derive_findings(store, crawl_ids: Iterable[int], rules: list[str] | None = None) -> list[dict]:
    """Evaluate `rules` (ids or globs; None for all) on the runs `crawl_ids`; returns the findings written."""
    if _deriver is None:
        return []
    return _deriver(store, list(crawl_ids), rules)
