"""`mouchard lists`: download tracker lists into the user's cache and show which are there."""

from __future__ import annotations

import sys

import click

from mouchard.classification.lists import SOURCES
from mouchard.commands.options import db_option, network_from, network_options


@click.group("lists")
def lists() -> None:
    """Download and show tracker lists (Ghostery, DuckDuckGo, Disconnect, EasyList, EasyPrivacy).

    Lists under non-commercial licences are fetched at run time into the user's cache ($MOUCHARD_CACHE/lists or
    ~/.cache/mouchard/lists), never shipped; each download is recorded with its version, SHA-256 and licence.
    """


@lists.command("update")
@click.option("--only", "only", multiple=True, type=click.Choice(list(SOURCES), case_sensitive=False),
              help="Update only this list (repeatable).")
@click.option("--source", "sources", multiple=True, metavar="NAME=URL",
              help="Download a list from another URL or local file (a mirror, a test server) (repeatable).")
@db_option
@network_options
def update(only: tuple[str, ...], sources: tuple[str, ...], db: str, proxy: str | None,
           host_map: tuple[str, ...], ignore_https_errors: bool, ca_file: str | None) -> None:
    """Download tracker lists, check they parse, cache them, and record them in the database."""
    from mouchard.classification import lists as tracker_lists
    from mouchard.classification.classify import default_classifier
    from mouchard.storage.store import Store

    net = network_from(proxy, host_map, ignore_https_errors, ca_file)
    overrides = tracker_lists.parse_overrides(sources)
    names = [n.lower() for n in only] or list(SOURCES)

    def report(result: tracker_lists.UpdateResult) -> None:
        if result.error:
            click.echo(f"mouchard lists: {result.name} failed: {result.error}", err=True)
        else:
            m = result.manifest
            click.echo(f"{m['name']:<12} {m['version']:<28} {m['entries']:>7} entries  sha256 {m['sha256'][:12]}  "
                       f"{m['licence']}")

    folder = tracker_lists.cache_folder()
    with Store(db) as store:
        results = tracker_lists.update(names, folder, net, store, overrides, on_result=report)
    default_classifier.cache_clear()
    failed = [r.name for r in results if r.error]
    click.echo(f"{len(results) - len(failed)} of {len(results)} lists updated in {folder}"
               + (f"; failed: {', '.join(failed)}" if failed else ""))
    if failed:
        sys.exit(1)


@lists.command("show")
def show() -> None:
    """Show the lists classification uses: name, version, entries, SHA-256, licence, download date."""
    from rich.console import Console
    from rich.table import Table

    from mouchard.classification import lists as tracker_lists

    folder = tracker_lists.cache_folder()
    manifests = [tracker_lists.shipped_manifest()] + tracker_lists.cached_manifests(folder)
    table = Table(title=f"Tracker lists ({folder})", title_justify="left")
    for column in ("name", "version", "entries", "sha256", "licence", "fetched"):
        table.add_column(column, no_wrap=column in ("name", "sha256", "fetched"),
                         justify="right" if column == "entries" else "left")
    for m in manifests:
        table.add_row(m["name"], str(m["version"]), str(m["entries"]), m["sha256"][:12], m["licence"],
                      (m.get("fetched_at") or "shipped")[:10])
    console = Console(width=max(Console().width, 110))
    console.print(table)
    if len(manifests) == 1:
        console.print("No lists downloaded yet: only mouchard's shipped list is in use. "
                      "Run 'mouchard lists update' to add Ghostery, DuckDuckGo, Disconnect, EasyList and EasyPrivacy.")
