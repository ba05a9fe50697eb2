"""`mouchard brokers`: fetch data-broker registries, crawl brokers' own sites. Argument parsing and printing over
the jobs of crawler/brokers/jobs.py (`fetch_brokers`, `crawl_brokers`), run here in the command's own process."""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager

import click

from mouchard.errors import UserError
from mouchard.commands.options import browser_options, db_option, network_from, network_options, run_options
from mouchard.registries import NAMES, STATES
from mouchard.settings import debug_enabled


@click.group("brokers")
def brokers() -> None:
    """Data-broker registries (fetch) and what brokers' own sites hide (crawl)."""


@brokers.command("fetch")
@click.option("--registry", type=click.Choice([*NAMES, "all"]), default="ca", show_default=True,
              help=f"Which registry: a state's ({', '.join(STATES)}), every state's (all), or a "
                   "journalist's list.")
@click.option("--from", "source", metavar="PATH_OR_URL",
              help="Read this file or URL instead of the registry's live address (a list needs it). Lists are "
                   "CSV with columns name, website, country, notes (and optionally dba, email, rights_url).")
@click.option("--year", type=int, help="California: the registration year's file (default: the current one).")
@db_option
@network_options
@run_options
def fetch(registry: str, source: str | None, year: int | None, db: str, proxy, host_map, ignore_https_errors,
          ca_file, concurrency: int, timeout: float) -> None:
    """Fetch a data-broker registry into `brokers`, keep the file as evidence, and say what changed."""
    from crawler.brokers.jobs import fetch_brokers_here
    from crawler.brokers.snapshots import describe

    result = fetch_brokers_here(registry, db=db, source=source, year=year,
                                network=network_from(proxy, host_map, ignore_https_errors, ca_file),
                                concurrency=concurrency, timeout=timeout)
    show_stats(result.stats)
    for error in result.errors:
        click.echo(f"  error: {error}", err=True)
    for snapshot in result.summary.get("snapshots", []):
        for line in describe(snapshot):
            click.echo(line)
    if result.status == "failed":
        raise UserError("nothing was fetched (see the errors above); no snapshot stored")
    if result.linked is not None:
        click.echo(f"{result.linked} broker registrations linked to tracker entities (their site is a known "
                   "tracker domain)")


@brokers.command("crawl")
@click.option("--registry", "registries", multiple=True, type=click.Choice(NAMES),
              help="Only brokers of this registry's latest snapshot (repeatable; default: every registry's).")
@click.option("--limit", type=click.IntRange(1), help="Check at most this many brokers.")
@click.option("--render", type=click.Choice(["auto", "always", "never"]), default="auto", show_default=True,
              help="Render pages in Chromium to read robots meta tags added by scripts: 'auto' renders only "
                   "rights pages that run scripts and carry no noindex tag in their HTML.")
@db_option
@network_options
@browser_options
@run_options
def crawl(registries: tuple[str, ...], limit: int | None, render: str, db: str, proxy, host_map, ignore_https_errors,
          ca_file, browser: str | None, browser_args: tuple[str, ...], no_sandbox: bool, concurrency: int,
          timeout: float) -> None:
    """Visit every broker's home page, privacy pages and registered rights page: hidden-from-search signals,
    redirects, dead links, bot walls, GPC statement, page text; then derive findings (the `brokers.*` rules)."""
    from crawler.brokers.jobs import crawl_brokers_here, describe_crawl
    from crawler.summary import warn

    with pages_progress() as advance:
        result = crawl_brokers_here(
            db=db, registries=registries, limit=limit, render=render,
            network=network_from(proxy, host_map, ignore_https_errors, ca_file), timeout=timeout,
            concurrency=concurrency, browser=browser, browser_args=browser_args, sandbox=not no_sandbox,
            progress=advance, on_warning=lambda text: warn([text]))
    show_stats(result.stats)
    for line in describe_crawl(result.summary):
        click.echo(line)


def show_stats(stats: dict) -> None:
    """With $MOUCHARD_DEBUG: Scrapy's stats of the run, on stderr."""
    if stats and debug_enabled():
        click.echo(json.dumps(stats, default=str, indent=1), err=True)


@contextmanager
def pages_progress():
    """A progress line for the terminal (pages checked, hidden, last URL); silent when not a terminal."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    progress = Progress(SpinnerColumn(), TextColumn("[bold]brokers[/] {task.completed} pages, "
                                                    "{task.fields[hidden]} hidden  {task.fields[last]}"),
                        TimeElapsedColumn(), transient=True, disable=not sys.stderr.isatty())
    task = progress.add_task("brokers", total=None, hidden=0, last="")
    hidden = 0

    def advance(row: dict) -> None:
        nonlocal hidden
        hidden += row["hidden"]
        progress.update(task, advance=1, hidden=hidden, last=f"{row['status']:<9} {row['url'][:60]}")

    with progress:
        yield advance
