"""The web crawl as a Python function: `crawl(["https://www.example.org/"], db="out.db")`.

`crawl` is what `mouchard crawl` runs. On one machine it runs the crawl (`crawler.crawl.crawl_sites`) in a child
process, so a Python program can crawl as often as it likes (Twisted's reactor runs once per process); with
`workers` or `scheduler` it runs the crawl as tasks of a Dask cluster (`crawler.cluster`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from mouchard.errors import UserError
from mouchard.settings import RunSettings

from crawler.crawl import CrawlResult


def site_targets(urls: Iterable[str] = (), list_file: str | os.PathLike | None = None):
    """The sites to crawl: those of `list_file` (text, one URL a line, or CSV with `url` and `tags`) then `urls`
    not already listed; returns (targets, warnings: one line per entry skipped). Nothing to crawl is a UserError."""
    from mouchard.sitelist import parse_site_list, read_site_list

    site_list = read_site_list(list_file) if list_file else parse_site_list("", "list")
    urls = list(urls)
    if urls:
        given = parse_site_list("\n".join(urls), "argument")
        site_list.warnings.extend(given.warnings)
        known = {t.url for t in site_list.targets}
        site_list.targets.extend(t for t in given.targets if t.url not in known)
    if not site_list.targets:
        where = f" in {list_file}" if list_file else ""
        raise UserError(f"nothing to crawl: no http(s) URL{where} (give URLs or --list FILE)")
    return site_list.targets, site_list.warnings


def crawl(urls: Iterable[str] = (), *, list_file: str | os.PathLike | None = None,
          settings: RunSettings | None = None, retry_failed: int = 0, workers: int = 0,
          scheduler: str | None = None, log: str | os.PathLike | None = None, **options: Any) -> CrawlResult:
    """Visit websites in Chromium, each in a fresh profile, and record requests, cookies, storage, consent,
    bidding and the detectors' findings into a SQLite database.

    `options` are the command's options by their Python names (db, consent, gpc, revoke, second_site, dwell,
    timeout, concurrency, pages_per_site, seed, screenshots, har, warc, replay, browser, browser_args, no_sandbox,
    proxy, host_map, ignore_https_errors, ca_file, collectors, browser_profile), validated into one `RunSettings`; or
    pass `settings` itself. `browser_profile` (a person's own Chromium profile folder: each visit starts from a copy of
    it) is accepted only into a private database (`api.me_prepare`). `warc=True` archives each visit's traffic, bodies included, as a WARC file in `<db>.evidence/`
    (crawler/collectors/archive.py, docs/archive.md); `replay` (a `mouchard.settings.ReplaySettings`, set by
    `mouchard audit --replay`) replays an archive: the browser reaches only the run's proxy, the replay server, and
    each archived visit's page clock starts at its capture time (crawler/collectors/clock.py).
    Environment variables (`MOUCHARD_DB`, `MOUCHARD_DWELL`...) fill what is not given. `log`: a file for the
    crawl's own output (default: this process's stderr). Returns the crawl's id, status and summary.

        >>> from mouchard.api import crawl
        >>> result = crawl(["https://www.example.org/"], db="news.db", consent="all", dwell=5)
        >>> result.status, result.summary["visits"]
        ('finished', 3)
    """
    if settings is not None and options:
        raise TypeError("give either settings or options, not both")
    run = settings if settings is not None else RunSettings.from_options(**options)
    targets, warnings = site_targets(urls, list_file)
    list_name = str(list_file) if list_file else None
    if workers or scheduler:
        from crawler.cluster import crawl_on_cluster

        if retry_failed:
            raise UserError("retry_failed resumes a crawl of one machine: on a cluster a failed chunk is retried "
                            "by Dask (docs/scale.md)")

        result = crawl_on_cluster(targets, run, workers=workers, scheduler=scheduler, list_file=list_name)
    else:
        from crawler.child import run_in_child

        result = run_in_child("crawler.crawl:crawl_sites", log=log, targets=targets, run=run, list_file=list_name,
                              retry_failed=retry_failed)
    result.warnings[:0] = warnings
    return result

