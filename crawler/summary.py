"""What a web crawl prints and records when it ends: its summary, its warnings, and logs kept quiet.

Shared by the single-machine crawl (`crawler/cli.py`) and the distributed worker (`crawler/worker_cli.py`), which
is why it lives in neither: each command imports it, neither imports the other for it.
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
    """Our warnings to stderr; Scrapy's and Playwright's own chatter only when it is an error."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("mouchard: %(message)s"))
    handler.setLevel(logging.WARNING)
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
