"""What a web crawl shows and records: its summary, its warnings, its progress bar, and logs kept quiet.

Shared by the crawl itself (`crawler/crawl.py`, which records the summary), the crawl on a cluster
(`crawler/cluster.py`) and the command (`crawler/cli.py`, which prints it).
"""

from __future__ import annotations

import logging
import sys

import click


def warn(warnings) -> None:
    """Print a run's warnings (also recorded in crawls.warnings)."""
    for warning in warnings:
        click.echo(f"mouchard: warning: {warning}", err=True)


def quiet_logs() -> None:
    """Our warnings to stderr; Scrapy's and Playwright's own chatter only when it is an error. Once per process."""
    ours = logging.getLogger("mouchard")
    if any(getattr(h, "mouchard_quiet", False) for h in ours.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("mouchard: %(message)s"))
    handler.setLevel(logging.WARNING)
    handler.mouchard_quiet = True  # type: ignore[attr-defined]
    logging.getLogger("mouchard").addHandler(handler)
    logging.getLogger("mouchard").propagate = False
    for name in ("scrapy", "scrapy-playwright", "playwright", "twisted", "asyncio", "py.warnings"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def crawl_summary(store, crawl_id: int) -> dict:
    """Counts of one crawl for `crawls.summary` and the closing line: visits by status, rows, top trackers,
    failures."""
    statuses = {r["status"]: r["n"] for r in store.rows(
        "SELECT status, count(*) AS n FROM visits WHERE crawl_id = ? GROUP BY status ORDER BY n DESC", (crawl_id,))}
    trackers = store.rows(
        "SELECT r.tracker_entity AS entity, count(DISTINCT r.visit_id) AS visits, count(*) AS requests "
        "FROM requests r JOIN visits v ON v.id = r.visit_id WHERE v.crawl_id = ? AND r.tracker_entity IS NOT NULL "
        "AND r.third_party = 1 GROUP BY r.tracker_entity ORDER BY visits DESC, requests DESC LIMIT 10", (crawl_id,))
    counts = {table: store.count(table, f"visit_id IN (SELECT id FROM visits WHERE crawl_id = {int(crawl_id)})")
              for table in ("requests", "cookies", "storage_items")}
    identifiers = store.count("cookies", f"identifier = 1 AND visit_id IN (SELECT id FROM visits WHERE crawl_id = "
                                         f"{int(crawl_id)})")
    failures = {f"{r['kind']} {r['component']}": r["n"] for r in store.rows(
        "SELECT kind, component, count(*) AS n FROM failures WHERE crawl_id = ? GROUP BY kind, component "
        "ORDER BY n DESC, kind, component", (crawl_id,))}
    return {"visits": sum(statuses.values()), "statuses": statuses, **counts, "identifier_cookies": identifiers,
            "top_trackers": trackers, "failures": failures}


def print_summary(summary: dict, crawl_id: int, db: str) -> None:
    """The closing lines of a crawl on stdout, from `crawl_summary` (plus findings when derived)."""
    statuses = ", ".join(f"{n} {status}" for status, n in summary["statuses"].items()) or "none"
    click.echo(f"crawl {crawl_id}: {summary['visits']} visits ({statuses}); {summary['requests']} requests, "
               f"{summary['cookies']} cookies ({summary['identifier_cookies']} identifiers), "
               f"{summary['storage_items']} storage items -> {db}")
    if summary["top_trackers"]:
        click.echo("top trackers: " + ", ".join(f"{t['entity']} ({t['visits']} visits)" for t in summary["top_trackers"]))
    if summary.get("failures"):
        click.echo("not recorded in full (see the failures table): "
                   + ", ".join(f"{n} {what}" for what, n in summary["failures"].items()))
    if summary.get("findings"):
        click.echo("findings: " + ", ".join(f"{n} {rule}" for rule, n in sorted(summary["findings"].items())))


class ProgressBar:
    """A crawl's progress on the terminal (crawler.crawl.CrawlProgress): a bar of visits, the last one's status
    and URL; nothing when stderr is not a terminal."""

    def __init__(self, label: str = "crawl") -> None:
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                                   TimeRemainingColumn)

        self.bar = Progress(TextColumn(f"[bold]{label}[/]"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("{task.fields[last]}"), TimeElapsedColumn(), TimeRemainingColumn(),
                            transient=False, disable=not sys.stderr.isatty())
        self.task = None

    def __enter__(self) -> "ProgressBar":
        self.bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.__exit__(*exc)

    def start(self, total: int, done: int) -> None:
        self.task = self.bar.add_task("crawl", total=total, completed=done, last="")

    def visit(self, row: dict) -> None:
        if self.task is not None:
            self.bar.update(self.task, advance=1, last=f"{row['status']:<10} {str(row['url'])[:60]}")
