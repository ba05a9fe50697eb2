"""The web crawl of one machine: visit sites in Chromium, each in a fresh profile, and record what each does.

`crawl_sites` is the job behind `mouchard crawl` and `mouchard.api.crawl`, and what every task of a crawl on a
cluster runs (crawler/cluster.py) into its worker's shard. It runs Scrapy (CrawlerProcess) in *this* process:
Python callers go through `crawler.api.crawl`, which runs it in a child (crawler/child.py), since Twisted's
reactor runs once per process.

Every visit is written in its own transaction as it ends, so a killed crawl loses at most the visits in flight.
Running the same crawl again resumes: an unfinished crawl (killed or interrupted) of the same list, pages-per-site,
seed and phases continues under the same `crawls.id`, and every key already in `visits` is skipped, including the
internal pages sampled before the kill (`visits.sample`). With `retry_failed` = N the visits that did not end ok
are tried again, up to N more times per page over the whole crawl (a finished crawl of the same list is reopened
for that); every try keeps its row.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from mouchard.errors import UserError
from mouchard.settings import RunSettings

log = logging.getLogger("mouchard.crawl")


class CrawlProgress(Protocol):
    """What a crawl reports as it goes (the CLI draws a progress bar from it)."""

    def start(self, total: int, done: int) -> None:
        """`total` visits planned (landing pages × phases × (1 + pages per site)), `done` already recorded."""

    def visit(self, row: dict) -> None:
        """One visit recorded (its `visits` row: url, status...)."""


@dataclass
class CrawlResult:
    """The end of a crawl: its `crawls.id`, status (finished, interrupted, failed), summary and database."""

    crawl_id: int
    status: str
    summary: dict
    db: str
    resumed: bool = False
    warnings: list[str] = field(default_factory=list)


def targets_digest(targets: Sequence) -> str:
    """The SHA-256 of a site list as a crawl records it (`crawls.config.targets_sha256`): what makes two crawls
    'the same list' for resuming."""
    text = "\n".join(f"{t.url}\t{','.join(t.tags)}" for t in targets)
    return hashlib.sha256(text.encode()).hexdigest()


def find_unfinished(store, config: dict, *, finished_too: bool = False) -> int | None:
    """The newest killed or interrupted web crawl of the same list and sampling: the one to resume (with
    `finished_too`, for retry_failed, the newest finished one as well)."""
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


def own_profile_checks(run: RunSettings) -> None:
    """A crawl with a person's own browser profile (their cookies, logged in) records their data: it goes only
    into a private database (`mouchard me crawl` makes one), never a crawl's that could be published."""
    from crawler.browser.profile import check_template
    from mouchard.storage.private import is_private_file

    check_template(run.browser.user_profile)
    if not is_private_file(run.db):
        raise UserError(f"{run.db} is not a private database: a crawl with your own browser profile records your "
                        "data; run it with `mouchard me crawl`")


def crawl_sites(targets: Sequence, run: RunSettings, *, list_file: str | None = None, retry_failed: int = 0,
                progress: CrawlProgress | None = None, distributed: dict | None = None) -> CrawlResult:
    """Crawl `targets` (mouchard.sitelist.Target) with the run's settings into `run.db`, in this process.

    `distributed` (a crawl on a cluster) is recorded in `crawls.config["distributed"]`; its "worker" names the
    shard (`crawls.shard`). Raises UserError for a browser that cannot be found or a bad setting; any other error
    ends the crawl `failed` with a `failures` row (a stop ends it `interrupted`) and is raised again.
    """
    from crawler.browser.launch import LaunchPlan
    from mouchard.browser import browser_version, find_browser, sandbox
    from mouchard.detect.derive import derive_findings
    from mouchard.classification.rollups import rebuild_at_end
    from mouchard.storage.store import Store

    from crawler.summary import crawl_summary, quiet_logs

    quiet_logs()  # our warnings on stderr ("mouchard: ..."); Scrapy's and Playwright's chatter only on errors
    if run.browser.user_profile:
        own_profile_checks(run)
    executable = find_browser(run.browser.executable)
    version = browser_version(executable)
    plan = LaunchPlan(executable, run.network, run.browser.args, version=version,
                      sandbox=sandbox(not run.browser.sandbox), replay=run.replay is not None)
    plan.options()  # a plan that cannot start (a replay without its proxy) stops here, before any crawl row
    # a replay says so with the run's warnings (crawls.warnings): its pages are not the live web
    warnings = [*plan.warnings, *([replay_warning(run)] if run.replay is not None else [])]
    for warning in warnings:
        log.warning("warning: %s", warning)
    config = {
        "targets": len(targets), "targets_sha256": targets_digest(targets), "list": list_file, **run.as_record(),
        "user_agent": plan.options()["user_agent"], "viewport": plan.options()["viewport"],
    }
    if retry_failed:
        config["retry_failed"] = retry_failed
    if distributed:
        config["distributed"] = distributed
    with Store(run.db) as store:
        crawl_id = None if distributed else find_unfinished(store, config, finished_too=retry_failed > 0)
        resumed = crawl_id is not None
        if crawl_id is None:
            crawl_id = store.start_crawl("web", config=config, network=run.network.as_record(), browser=executable,
                                         browser_version=version, browser_args=plan.args, warnings=warnings,
                                         shard=(distributed or {}).get("worker"))
        else:
            store.update("crawls", crawl_id, {"status": "running", "finished_at": None})
            log.warning("resuming crawl %s", crawl_id)  # a notice, on stderr with the warnings
        ledger = resume_ledger(store, crawl_id, retry_failed)
    try:
        status = _run(targets, ledger, run=run, crawl_id=crawl_id, plan=plan, retry_failed=retry_failed,
                      progress=progress)
    except BaseException as exc:  # the run ends with a status and a reason, never left `running` by an error
        end_on_error(run.db, crawl_id, exc)
        raise
    with Store(run.db) as store:
        record_samples(store, crawl_id)
        summary = crawl_summary(store, crawl_id)
        if status == "finished":  # findings are derived by the audit rules (mouchard.detect.derive)
            findings = derive_findings(store, [crawl_id], ["web.*", "consent.*", "vendors.*"])
            summary["findings"] = dict(Counter(f["rule_id"] for f in findings))
        # the readers' pages read the per-site counts from site_summary
        if (failed := rebuild_at_end(store, [crawl_id])) is not None:
            summary["rollups_failed"] = failed
        store.finish_crawl(crawl_id, status, summary)
    return CrawlResult(crawl_id, status, summary, run.db, resumed, list(warnings))


def replay_warning(run: RunSettings) -> str:
    """The line a replayed run records in `crawls.warnings`: which archive it replays (the proxy's address is in
    `crawls.network`)."""
    replay = run.replay
    bundle = (replay.bundle if replay is not None and replay.bundle else "an archive")[:100]
    pinned = len(replay.clock) if replay is not None else 0
    return (f"replay of bundle {bundle}: every request answered by the replay proxy, never the network; "
            f"page clocks pinned for {pinned} archived visit(s)")


def end_on_error(db: str, crawl_id: int, exc: BaseException) -> None:
    """Finish a crawl that an exception ended: `interrupted` (a stop: it resumes) or `failed` (with a `failures`
    row saying why)."""
    from mouchard.storage.store import Store

    from crawler.summary import crawl_summary

    status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
    try:
        with Store(db) as store:
            if status == "failed":
                store.record_failure("crawl", "run-error", f"{type(exc).__name__}: {str(exc)[:300]}",
                                     crawl_id=crawl_id)
            store.finish_crawl(crawl_id, status, crawl_summary(store, crawl_id))
    except Exception as error:  # noqa: BLE001  (the original exception is the one to report)
        log.error("could not record the end of crawl %s: %s", crawl_id, error)


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


def visit_specs(targets: Sequence, ledger: Ledger, phases: Sequence[str]) -> tuple[list, list]:
    """The landing visits to make (one per site and phase) and the sampled internal pages a resumed crawl still
    owes; keys in `ledger.done` are skipped by the spider."""
    from crawler.browser.visit import VisitSpec
    from crawler.spiders.browser import visit_key

    def spec_of(key: str, url: str, tags, phase: str, depth: int = 0, parent: str | None = None) -> VisitSpec:
        attempt, made = ledger.retries.get(key, (1, -1))  # a retry continues the key's count of tries
        return VisitSpec(key, url, tags, phase, depth, parent, attempt, made + 1)

    specs = [spec_of(visit_key(t.url, phase), t.url, t.tags, phase) for t in targets for phase in phases]
    by_key = {s.key: s for s in specs}
    pending = []
    for parent_key, sample in ledger.samples.items():
        parent = by_key.get(parent_key)
        if parent is None or parent_key not in ledger.done:
            continue
        for url in sample.get("chosen", []):
            child_key = visit_key(url, parent.phase)
            if child_key not in ledger.done:
                pending.append(spec_of(child_key, url, parent.tags, parent.phase, 1, parent_key))
    return specs, pending


def _run(targets: Sequence, ledger: Ledger, *, run: RunSettings, crawl_id: int, plan, retry_failed: int = 0,
         progress: CrawlProgress | None = None) -> str:
    """Run the browser spider in this process; returns the crawl's final status."""
    from scrapy.crawler import CrawlerProcess

    from crawler.browser.profile import new_profile_root
    from crawler.browser.visit import VisitSettings
    from crawler.settings import browser_settings
    from crawler.spiders.browser import BrowserSpider
    from mouchard.lifecycle import run_stoppable

    specs, pending = visit_specs(targets, ledger, run.phases)
    if progress is not None:
        total = len(specs) * (1 + run.pages_per_site)
        progress.start(max(total, len(ledger.done)), len(ledger.done))
    settings = browser_settings(db=run.db, crawl_id=crawl_id, net=run.network, launch_options=plan.options(),
                                concurrency=run.concurrency, timeout=run.timeout, run=run)
    on_visit: Callable[[dict], None] | None = None
    if progress is not None:
        def on_visit(row: dict) -> None:  # a function: Scrapy deep-copies its settings, and functions are atomic
            progress.visit(row)
    settings.update({"MOUCHARD_PROGRESS": on_visit, "LOG_INSTALL_ROOT_HANDLER": False})
    profile_root = new_profile_root("mouchard-crawl-")
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(BrowserSpider)
    process.crawl(crawler, specs=specs, pending=pending, pages_per_site=run.pages_per_site, seed=run.seed,
                  evidence_dir=str(run.evidence_dir), screenshots=run.screenshots, har=run.har, warc=run.warc,
                  visit_settings=VisitSettings(timeout=run.timeout, dwell=run.dwell), profile_root=profile_root,
                  skip_keys=ledger.done, retry_failed=retry_failed)
    try:  # Scrapy stops gracefully on SIGINT and SIGTERM; run_stoppable adds SIGHUP
        stopped = run_stoppable(process.start)
    finally:
        shutil.rmtree(profile_root, ignore_errors=True)
    reason = crawler.stats.get_value("finish_reason") if crawler.stats else None
    return "finished" if reason == "finished" and stopped is None else "interrupted"
