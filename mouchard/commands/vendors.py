"""`mouchard vendors`: record IAB Europe's Global Vendor List (and every vendor's storage disclosure) as a registry,
and show what a vendor declares. Argument parsing and printing over `mouchard.vendors.fetch.fetch_vendors`."""

from __future__ import annotations

import json

import click

from mouchard.commands.options import db_option, network_from, network_options
from mouchard.errors import UserError


@click.group("vendors")
def vendors() -> None:
    """IAB Europe's Global Vendor List (TCF) as a registry: what each ad-tech vendor declares.

    The list is published by IAB Europe under its terms of use: fetched at run time, recorded with its version,
    SHA-256 and source, never shipped.
    """


@vendors.command("fetch", short_help="Record a GVL version and the vendors' storage disclosures.")
@click.option("--version", "version", type=click.IntRange(1), metavar="N",
              help="This numbered version from IAB Europe's archive (default: the current list).")
@click.option("--source", metavar="URL_OR_PATH",
              help="Read the list from this URL or file instead (a mirror, a saved copy, a test server).")
@click.option("--no-disclosures", "no_disclosures", is_flag=True,
              help="Do not fetch the vendors' Device Storage Disclosures (statuses stay not-fetched).")
@click.option("--max-disclosures", type=click.IntRange(0, 65535), default=2000, show_default=True,
              help="Fetch at most this many disclosures (the rest are marked not-fetched).")
@click.option("--workers", type=click.IntRange(1, 32), default=8, show_default=True,
              help="Disclosures fetched at once.")
@click.option("--timeout", type=click.FloatRange(1, 600), default=20.0, show_default=True,
              help="Seconds a disclosure URL may take to connect or to send the next bytes.")
@db_option
@network_options
def fetch(version: int | None, source: str | None, no_disclosures: bool, max_disclosures: int, workers: int,
          timeout: float, db: str, proxy, host_map, ignore_https_errors, ca_file) -> None:
    """Fetch a GVL version and the vendors' storage disclosures into vendor_lists, vendors and vendor_disclosures,
    and say what changed since the previous version recorded."""
    from mouchard.storage.store import Store
    from mouchard.classification.vendors import fetch_vendors
    from mouchard.detect.derive import derive_findings
    from mouchard.vendors.fetch import describe

    if version is not None and source is not None:
        raise UserError("give --version or --source, not both")
    net = network_from(proxy, host_map, ignore_https_errors, ca_file)
    with Store(db) as store:
        summary = fetch_vendors(store, version=version, source=source, net=net, disclosures=not no_disclosures,
                                max_disclosures=max_disclosures, workers=workers, timeout=timeout,
                                progress=lambda text: click.echo(text, err=True))
        if not summary.get("unchanged"):
            # the web crawls already recorded are judged against the new list (the vendors.* rules)
            web = [r["id"] for r in store.rows("SELECT id FROM crawls WHERE kind = 'web' ORDER BY id")]
            if web:
                found = derive_findings(store, web, ["vendors.*"])
                summary["findings"] = len(found)
                click.echo(f"{len(found)} vendor findings on {len(web)} web crawl(s)")
    for line in describe(summary):
        click.echo(line)


@vendors.command("show", short_help="Show what vendors of the newest GVL version declare.")
@click.argument("ids", nargs=-1, type=click.IntRange(1, 65535))
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines instead of a table.")
@db_option
def show(ids: tuple[int, ...], as_json: bool, db: str) -> None:
    """Show vendors of the newest GVL version recorded: id, name, purposes, disclosure status (IDs: these only;
    at most 200 without IDs)."""
    from mouchard.storage.store import Store

    with Store(db, create=False, readonly=True) as store:
        head = store.rows("SELECT id, version FROM vendor_lists ORDER BY version DESC, id DESC LIMIT 1")
        if not head:
            raise UserError(f"no GVL version in {db}: run 'mouchard vendors fetch' first")
        columns = ("vendor_id, name, purposes, leg_int_purposes, special_features, cookie_max_age_seconds, "
                   "disclosure_status, deleted_date, tracker_entity")
        if ids:
            marks = ", ".join("?" * len(ids))
            rows = store.rows(f"SELECT {columns} FROM vendors WHERE vendor_list_id = ? AND vendor_id IN ({marks}) "
                              "ORDER BY vendor_id LIMIT 1000", (head[0]["id"], *ids))
        else:
            rows = store.rows(f"SELECT {columns} FROM vendors WHERE vendor_list_id = ? ORDER BY vendor_id LIMIT 200",
                              (head[0]["id"],))
    if as_json:
        for row in rows:
            click.echo(json.dumps(row, ensure_ascii=False))
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"GVL version {head[0]['version']}", title_justify="left")
    for column in ("id", "name", "consent", "legitimate interest", "special features", "cookie max age",
                   "disclosure", "deleted", "entity"):
        table.add_column(column)
    for row in rows:  # names and statuses come from the network: escaped, never read as rich markup
        table.add_row(*(escape(str(row[k] if row[k] is not None else "")) for k in (
            "vendor_id", "name", "purposes", "leg_int_purposes", "special_features", "cookie_max_age_seconds",
            "disclosure_status", "deleted_date", "tracker_entity")))
    Console(width=max(Console().width, 120)).print(table)
