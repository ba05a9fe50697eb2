"""`mouchard crawl`: argument parsing and printing over the crawl's Python API (crawler/api.py, crawler/crawl.py).

The command runs the crawl in this process (a command runs once per process, so Scrapy's reactor is free) with a
progress bar; with --workers or --scheduler it runs it as tasks of a Dask cluster (crawler/cluster.py).
Resuming, retries and what is recorded are described in crawler/crawl.py.
"""

from __future__ import annotations

import click

from mouchard.errors import UserError
from mouchard.commands.options import (browser_options, collector_option, collectors_from, db_option, dwell_option,
                                       network_options, run_options)
from mouchard.settings import DEFAULT_SEED, RunSettings

from crawler.summary import print_summary


@click.command("crawl")
@click.argument("urls", nargs=-1)
@click.option("--list", "list_file", type=click.Path(dir_okay=False), metavar="FILE",
              help="Text file of URLs (one a line) or CSV with a 'url' column and optional 'tags'.")
@db_option
@run_options
@click.option("--pages-per-site", type=click.IntRange(0, 100), default=0, show_default=True,
              help="Also visit this many internal links of each site, chosen at random (seeded).")
@click.option("--seed", type=int, default=DEFAULT_SEED, show_default=True,
              help="Seed of the internal-link sample (recorded with the crawl).")
@click.option("--screenshots", is_flag=True, help="Keep a screenshot of each page (in <db>.evidence/).")
@click.option("--har", is_flag=True, help="Keep a HAR file of each visit (in <db>.evidence/).")
@click.option("--warc", is_flag=True,
              help="Archive each visit's traffic, bodies included, as a WARC file in <db>.evidence/ (docs/archive.md).")
@click.option("--consent", type=click.Choice(["none", "reject", "accept", "all"]), default="all", show_default=True,
              help="Consent phases besides 'initial' (no interaction): reject all, accept all, or both; each in a "
                   "fresh profile.")
@dwell_option
@click.option("--gpc", is_flag=True, help="Also visit each page sending Global Privacy Control (Sec-GPC: 1).")
@click.option("--revoke", is_flag=True,
              help="Also visit each page to accept, then reopen the consent choices and withdraw (docs/consent.md).")
@click.option("--second-site", is_flag=True,
              help="Also visit each page after rejecting on the next site of the list in the same profile "
                   "(docs/consent.md).")
@click.option("--retry-failed", type=click.IntRange(0, 10), default=0, show_default=True, metavar="N",
              help="Try a visit that did not end ok (error, timeout, partial) up to N more times over the whole crawl; "
                   "a finished crawl of the same list is resumed for that. Every try keeps its row.")
@click.option("--workers", type=click.IntRange(0, 256), default=0, show_default=True,
              help="Run the crawl on a local Dask cluster of this many worker processes, each writing its own shard, "
                   "then merge the shards into --db (docs/scale.md).")
@click.option("--scheduler", metavar="URL",
              help="Run the crawl on an existing Dask cluster (tcp://host:8786: SLURM, Kubernetes...; docs/scale.md).")
@collector_option
@browser_options
@network_options
def crawl(urls, list_file, db, concurrency, timeout, pages_per_site, seed, screenshots, har, warc, consent, dwell, gpc,
          revoke, second_site, retry_failed, workers, scheduler, collector_values, browser, browser_args, no_sandbox,
          proxy, host_map, ignore_https_errors, ca_file):
    """Visit websites in Chromium, each in a fresh profile, and record requests, cookies and storage.

    URLS are pages to visit; or give --list FILE. Each visit is one row of `visits`, with its requests, cookies,
    storage items and evidence files; trackers are classified with the tracker lists in the cache.
    """
    from crawler.api import site_targets

    targets, warnings = site_targets(urls, list_file)
    for warning in warnings:
        click.echo(f"mouchard: warning: {warning}", err=True)
    run = RunSettings.from_options(  # the run's settings, validated once; recorded in crawls.config
        db=db, concurrency=concurrency, timeout=timeout, pages_per_site=pages_per_site, seed=seed,
        screenshots=screenshots, har=har, warc=warc, consent=consent, gpc=gpc, revoke=revoke, second_site=second_site,
        dwell=dwell, collectors=collectors_from(collector_values), browser=browser, browser_args=browser_args,
        no_sandbox=no_sandbox, proxy=proxy, host_map=host_map,
        ignore_https_errors=ignore_https_errors, ca_file=ca_file)
    from crawler.summary import ProgressBar

    with ProgressBar() as progress:
        if workers or scheduler:
            from crawler.cluster import crawl_on_cluster

            if retry_failed:
                raise UserError("--retry-failed resumes a crawl of one machine: on a cluster a failed chunk is "
                                "retried by Dask (docs/scale.md)")
            result = crawl_on_cluster(targets, run, workers=workers, scheduler=scheduler, list_file=list_file,
                                      progress=progress)
        else:
            from crawler.crawl import crawl_sites

            result = crawl_sites(targets, run, list_file=list_file, retry_failed=retry_failed, progress=progress)
    print_summary(result.summary, result.crawl_id, result.db)
