"""`mouchard crawl`: visit websites in Chromium and record what each does to its visitor.

Runs Scrapy in this process (CrawlerProcess); every visit is written in its own transaction as it ends, so a
killed crawl loses at most the visits in flight. Running the same command again resumes: an unfinished crawl
(killed or interrupted) of the same list, pages-per-site and seed continues under the same `crawls.id`, and every
key already in `visits` is skipped, including the internal pages sampled before the kill (`visits.sample`).
With `--retry-failed N` the visits that did not end ok are tried again, up to N more times per page over the whole
crawl (a finished crawl of the same list is reopened for that); every try keeps its row.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from collections import Counter
from dataclasses import dataclass, field

import click

from mouchard.derive import derive_findings
from mouchard.errors import UserError
from mouchard.lifecycle import run_stoppable
from mouchard.options import browser_options, db_option, dwell_option, network_options, run_options
from mouchard.settings import DEFAULT_SEED, ENV_REDIS, RunSettings

from crawler.summary import crawl_summary, print_summary, quiet_logs, warn


def _targets(urls: tuple[str, ...], list_file: str | None):
    from mouchard.sitelist import parse_site_list, read_site_list

    site_list = read_site_list(list_file) if list_file else parse_site_list("", "list")
    given = parse_site_list("\n".join(urls), "argument") if urls else None
    if given is not None:
        site_list.warnings.extend(given.warnings)
        known = {t.url for t in site_list.targets}
        site_list.targets.extend(t for t in given.targets if t.url not in known)
    for warning in site_list.warnings:
        click.echo(f"mouchard: warning: {warning}", err=True)
    if not site_list.targets:
        where = f" in {list_file}" if list_file else ""
        raise UserError(f"nothing to crawl: no http(s) URL{where} (give URLs or --list FILE)")
    return site_list.targets


def _find_unfinished(store, config: dict, *, finished_too: bool = False) -> int | None:
    """The newest killed or interrupted web crawl of the same list and sampling: the one to resume (with
    `finished_too`, for --retry-failed, the newest finished one as well)."""
    statuses = "('running', 'interrupted', 'finished')" if finished_too else "('running', 'interrupted')"
    for row in store.rows(f"SELECT id, config FROM crawls WHERE kind = 'web' AND status IN {statuses} "
                          "ORDER BY id DESC"):
        try:
            old = json.loads(row["config"] or "{}")
        except ValueError:
            continue
        if all(old.get(k) == config[k] for k in ("targets_sha256", "pages_per_site", "seed", "phases")):
            return row["id"]
    return None


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
@click.option("--consent", type=click.Choice(["none", "reject", "accept", "all"]), default="all", show_default=True,
              help="Consent phases besides 'initial' (no interaction): reject all, accept all, or both; each in a "
                   "fresh profile.")
@dwell_option
@click.option("--gpc", is_flag=True, help="Also visit each page sending Global Privacy Control (Sec-GPC: 1).")
@click.option("--retry-failed", type=click.IntRange(0, 10), default=0, show_default=True, metavar="N",
              help="Try a visit that did not end ok (error, timeout, partial) up to N more times over the whole crawl; "
                   "a finished crawl of the same list is resumed for that. Every try keeps its row.")
@click.option("--redis", "redis_url", envvar=ENV_REDIS, metavar="URL",
              help="Distribute the crawl: queue the sites in this Redis for `mouchard worker` (env MOUCHARD_REDIS).")
@click.option("--workers", type=click.IntRange(0, 256), default=0, show_default=True,
              help="With --redis: run this many workers here, then merge their shards into --db (0: only queue).")
@browser_options
@network_options
def crawl(urls, list_file, db, concurrency, timeout, pages_per_site, seed, screenshots, har, consent, dwell, gpc,
          retry_failed, redis_url, workers, browser, browser_args, no_sandbox, proxy, host_map, ignore_https_errors, ca_file):
    """Visit websites in Chromium, each in a fresh profile, and record requests, cookies and storage.

    URLS are pages to visit; or give --list FILE. Each visit is one row of `visits`, with its requests, cookies,
    storage items and evidence files; trackers are classified with the tracker lists in the cache.
    """
    from mouchard.browser import browser_version, find_browser, sandbox
    from mouchard.store import Store

    targets = _targets(urls, list_file)
    run = RunSettings.from_options(  # the run's settings, validated once; recorded in crawls.config
        db=db, concurrency=concurrency, timeout=timeout, pages_per_site=pages_per_site, seed=seed,
        screenshots=screenshots, har=har, consent=consent, gpc=gpc, dwell=dwell, redis_url=redis_url,
        browser=browser, browser_args=browser_args, no_sandbox=no_sandbox, proxy=proxy, host_map=host_map,
        ignore_https_errors=ignore_https_errors, ca_file=ca_file)
    phases, net = list(run.phases), run.network
    executable = find_browser(run.browser.executable)
    version = browser_version(executable)

    from crawler.browser.launch import LaunchPlan

    plan = LaunchPlan(executable, net, run.browser.args, version=version, sandbox=sandbox(not run.browser.sandbox))
    warn(plan.warnings)
    target_text = "\n".join(f"{t.url}\t{','.join(t.tags)}" for t in targets)
    config = {
        "targets": len(targets), "targets_sha256": hashlib.sha256(target_text.encode()).hexdigest(),
        "list": list_file, **run.as_record(),
        "user_agent": plan.options()["user_agent"], "viewport": plan.options()["viewport"],
    }
    if redis_url:
        from crawler.worker_cli import distributed_crawl

        distributed_crawl(targets, config, redis_url=redis_url, workers=workers, db=db, concurrency=concurrency,
                          browser=browser, browser_args=browser_args, no_sandbox=no_sandbox, proxy=proxy,
                          host_map=host_map, ignore_https_errors=ignore_https_errors, ca_file=ca_file)
        return
    if workers:
        raise UserError("--workers needs --redis URL: the queue the workers share")
    if retry_failed:
        config["retry_failed"] = retry_failed
    store = Store(db)
    try:
        crawl_id = _find_unfinished(store, config, finished_too=retry_failed > 0)
        if crawl_id is None:
            crawl_id = store.start_crawl("web", config=config, network=net.as_record(), browser=executable,
                                         browser_version=version, browser_args=plan.args, warnings=plan.warnings)
        else:
            store.update("crawls", crawl_id, {"status": "running", "finished_at": None})
            click.echo(f"mouchard: resuming crawl {crawl_id}", err=True)
        ledger = resume_ledger(store, crawl_id, retry_failed)
    finally:
        store.close()
    try:
        status = _run(targets, phases, ledger, db=db, crawl_id=crawl_id, plan=plan, net=net,
                      concurrency=concurrency, timeout=timeout, pages_per_site=pages_per_site, seed=seed,
                      screenshots=screenshots, har=har, retry_failed=retry_failed, dwell=dwell, run=run)
    except BaseException as exc:  # the run ends with a status and a reason, never left `running` by an error
        _end_on_error(db, crawl_id, exc)
        raise
    with Store(db) as store:
        record_samples(store, crawl_id)
        summary = crawl_summary(store, crawl_id)
        if status == "finished":  # findings are derived by the audit rules (mouchard.derive)
            findings = derive_findings(store, [crawl_id], ["web.*", "consent.*"])
            summary["findings"] = dict(Counter(f["rule_id"] for f in findings))
        store.finish_crawl(crawl_id, status, summary)
    print_summary(summary, crawl_id, db)


def _end_on_error(db: str, crawl_id: int, exc: BaseException) -> None:
    """Finish a crawl that an exception ended: `interrupted` (a stop: it resumes) or `failed` (with a `failures`
    row saying why)."""
    from mouchard.store import Store

    status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
    try:
        with Store(db) as store:
            if status == "failed":
                store.record_failure("crawl", "run-error", f"{type(exc).__name__}: {str(exc)[:300]}",
                                     crawl_id=crawl_id)
            store.finish_crawl(crawl_id, status, crawl_summary(store, crawl_id))
    except Exception as error:  # noqa: BLE001  (the original exception is the one to report)
        click.echo(f"mouchard: could not record the end of crawl {crawl_id}: {error}", err=True)


@dataclass
class Ledger:
    """What a resumed crawl knows of itself: keys done, samples chosen, and the tries left for failed keys."""

    done: set[str] = field(default_factory=set)  # keys not to visit again
    samples: dict[str, dict] = field(default_factory=dict)  # landing key -> {links, chosen}
    retries: dict[str, tuple[int, int]] = field(default_factory=dict)  # key -> (next attempt, retries made so far)


def resume_ledger(store, crawl_id: int, retry_failed: int = 0) -> Ledger:
    """The crawl's ledger from its visits: every key recorded is done, except (with `retry_failed`) a key whose
    latest try did not end ok and that has been retried fewer than `retry_failed` times."""
    from crawler.pipelines.store_visits import ATTEMPT_SUFFIX

    ledger = Ledger()
    tries: dict[str, int] = {}
    failed: dict[str, int] = {}  # key -> attempt number of its latest (failed) try
    for row in store.rows("SELECT key, status, attempt, sample FROM visits WHERE crawl_id = ?", (crawl_id,)):
        key = row["key"].split(ATTEMPT_SUFFIX, 1)[0]
        tries[key] = tries.get(key, 0) + 1
        if ATTEMPT_SUFFIX in row["key"]:
            continue  # an earlier try: the key's latest try holds the key
        ledger.done.add(key)
        if row["sample"]:
            try:
                ledger.samples[key] = json.loads(row["sample"])
            except ValueError:
                pass
        if row["status"] != "ok":
            failed[key] = int(row["attempt"] or 1)
    for key, attempt in failed.items():
        made = tries[key] - 1  # rows of the key beyond its first: retries already made
        if made < retry_failed:
            ledger.retries[key] = (attempt + 1, made)
            ledger.done.discard(key)
    return ledger


def record_samples(store, crawl_id: int) -> None:
    """The internal links sampled per landing page, copied once into `crawls.config` at the end of the crawl."""
    samples = {}
    for row in store.rows("SELECT key, sample FROM visits WHERE crawl_id = ? AND sample IS NOT NULL ORDER BY id",
                          (crawl_id,)):
        try:
            samples[row["key"]] = json.loads(row["sample"])
        except ValueError:
            continue
    if not samples:
        return
    config = json.loads(store.rows("SELECT config FROM crawls WHERE id = ?", (crawl_id,))[0]["config"] or "{}")
    store.update("crawls", crawl_id, {"config": {**config, "samples": samples}})


def _run(targets, phases: list[str], ledger: Ledger, *, db: str, crawl_id: int, plan, net, concurrency: int,
         timeout: float, pages_per_site: int, seed: int, screenshots: bool, har: bool, retry_failed: int = 0,
         dwell: float = 0.0, run: RunSettings | None = None) -> str:
    """Run the browser spider in this process; returns the crawl's final status."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
    from scrapy.crawler import CrawlerProcess

    from crawler.browser.visit import VisitSettings, VisitSpec
    from crawler.settings import browser_settings
    from crawler.spiders.browser import BrowserSpider, visit_key

    done = ledger.done

    def spec_of(key: str, url: str, tags, phase: str, depth: int = 0, parent: str | None = None) -> VisitSpec:
        attempt, made = ledger.retries.get(key, (1, -1))  # a retry continues the key's count of tries
        return VisitSpec(key, url, tags, phase, depth, parent, attempt, made + 1)

    specs = [spec_of(visit_key(t.url, phase), t.url, t.tags, phase) for t in targets for phase in phases]
    by_key = {s.key: s for s in specs}
    pending = []
    for parent_key, sample in ledger.samples.items():
        parent = by_key.get(parent_key)
        if parent is None or parent_key not in done:
            continue
        for url in sample.get("chosen", []):
            child_key = visit_key(url, parent.phase)
            if child_key not in done:
                pending.append(spec_of(child_key, url, parent.tags, parent.phase, 1, parent_key))
    from crawler.browser.profile import new_profile_root

    profile_root = new_profile_root("mouchard-crawl-")
    total = len(specs) * (1 + pages_per_site)
    progress = Progress(TextColumn("[bold]crawl[/]"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[last]}"),
                        TimeElapsedColumn(), TimeRemainingColumn(), transient=False, disable=not sys.stderr.isatty(),
                        console=None)
    already = len(done)
    task = progress.add_task("crawl", total=max(total, already), completed=already, last="")

    def advance(visit_row: dict) -> None:
        progress.update(task, advance=1, last=f"{visit_row['status']:<10} {visit_row['url'][:60]}")

    settings = browser_settings(db=db, crawl_id=crawl_id, net=net, launch_options=plan.options(),
                                concurrency=concurrency, timeout=timeout, run=run)
    evidence_dir = settings["MOUCHARD_EVIDENCE_DIR"]  # banner screenshots of the consent phases are always kept
    settings.update({"MOUCHARD_PROGRESS": advance, "LOG_INSTALL_ROOT_HANDLER": False})
    quiet_logs()
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(BrowserSpider)
    process.crawl(crawler, specs=specs, pending=pending, pages_per_site=pages_per_site, seed=seed,
                  evidence_dir=evidence_dir, screenshots=screenshots, har=har,
                  visit_settings=VisitSettings(timeout=timeout, dwell=dwell), profile_root=profile_root, skip_keys=done,
                  retry_failed=retry_failed)
    try:
        with progress:  # Scrapy stops gracefully on SIGINT and SIGTERM; run_stoppable adds SIGHUP
            stopped = run_stoppable(process.start)
    finally:
        shutil.rmtree(profile_root, ignore_errors=True)
    reason = crawler.stats.get_value("finish_reason") if crawler.stats else None
    return "finished" if reason == "finished" and stopped is None else "interrupted"
