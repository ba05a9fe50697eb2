"""Deriving findings after a collector run, without the collectors importing the rules.

Findings are derived by the rules in `audits/`. Collectors (crawler/, addons/) may not import `audits`, so the
composition roots install the deriver here at start-up (`mouchard.cli.install_rules`: the command, and the
child process that runs each job of the Python API, crawler/child.py), and a collector run ends with
`derive_findings(store, [crawl_id], ["brokers.*"])`. Code that calls a collector function in its own process
(e.g. `crawler.crawl.crawl_sites`) without installing the rules gets no findings until `mouchard audit --db`.
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
