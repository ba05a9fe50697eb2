"""`mouchard me crawl`: the sites a person uses, visited in a copy of their own browser profile, into their
private database (crawler/crawl.py refuses a person's profile into any other)."""

from __future__ import annotations

import click

from mouchard.commands.me import db_option, me_option
from mouchard.commands.options import (browser_options, collector_option, collectors_from, dwell_option,
                                       network_options)


@click.command("crawl")
@click.argument("urls", nargs=-1)
@click.option("--list", "list_file", type=click.Path(exists=True, dir_okay=False), metavar="FILE",
              help="Text file of the sites you use (one URL a line), e.g. exported from your bookmarks.")
@me_option
@click.option("--browser-profile", required=True, type=click.Path(exists=True, file_okay=False), metavar="DIR",
              help="Your Chromium or Chrome profile folder (the user data dir, e.g. ~/.config/chromium): each page is "
                   "visited in a copy of it, with your cookies and logins; your folder is never written to. Close "
                   "the browser first.")
@click.option("--timeout", type=click.FloatRange(1, 3600), default=30.0, show_default=True,
              help="Seconds a page may take.")
@dwell_option
@collector_option
@browser_options
@network_options
@db_option
def crawl(urls, list_file, person_file, browser_profile, timeout, dwell, collector_values, browser, browser_args, no_sandbox, proxy,
          host_map, ignore_https_errors, ca_file, db) -> None:
    """Visit the sites you use as you: in your own browser profile, without consent clicks (your own choices
    apply), recording what each company receives."""
    from crawler.api import site_targets
    from crawler.crawl import crawl_sites
    from crawler.summary import print_summary
    from mouchard.me.jobs import prepare
    from mouchard.settings import RunSettings

    prepare(db, person_file)
    targets, warnings = site_targets(urls, list_file)
    for warning in warnings:
        click.echo(f"mouchard: warning: {warning}", err=True)
    run = RunSettings.from_options(db=db, concurrency=1, timeout=timeout, dwell=dwell, consent="none",
                                   collectors=collectors_from(collector_values), browser=browser, browser_args=browser_args, no_sandbox=no_sandbox,
                                   browser_profile=browser_profile, proxy=proxy, host_map=host_map,
                                   ignore_https_errors=ignore_https_errors, ca_file=ca_file)
    result = crawl_sites(targets, run, list_file=list_file)
    print_summary(result.summary, result.crawl_id, result.db)
