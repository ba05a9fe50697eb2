"""Run the collectors an audit spec asks for, through mouchard's Python API, into the bundle's database.

Each collector step is one job of `mouchard.api` (`crawl`, `import_capture`, `fetch_brokers`, `crawl_brokers`)
called with keyword arguments built from the validated spec (audits/spec.py): typed values, never a command line
assembled from a received file. The job runs in a child process (`mouchard.api.run_in_child`), its output in the
step's log: a collector crash cannot take the audit down, and a stop signal is passed on to it, so its run ends
`interrupted` with what it recorded. A step that fails is recorded with its reason and the audit goes on; after a
stop, the remaining steps are `not-run`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mouchard.errors import UserError
from mouchard.lifecycle import StopSignals, Stopped, signal_name
from mouchard.net import NetworkOptions
from mouchard.settings import ReplaySettings, RunSettings, phases_for
from mouchard.storage.store import utcnow

from audits.spec import AuditSpec

# The mouchard.api job each kind of step calls.
JOBS = {"web": "crawl", "app": "import_capture", "brokers-fetch": "fetch_brokers", "brokers-crawl": "crawl_brokers"}
REPLAY_SKIPPED = "replay covers the archived web visits only"


@dataclass(frozen=True)
class Step:
    """One collector job: what it covers (for people), its kind, and the keyword arguments of its API function."""

    target: str
    kind: str  # web, app, brokers-fetch, brokers-crawl
    options: Mapping[str, Any]  # keyword arguments of mouchard.api.<JOBS[kind]>
    needs: str | None = None  # a kind that must have finished first
    skip: str | None = None  # why this step is planned but never run (a replay runs the web steps only)

    @property
    def job(self) -> str:
        return JOBS[self.kind]

    def record(self) -> dict:
        """The arguments as plain JSON values (provenance.json), settings objects spelled out."""
        return {name: _plain(value) for name, value in self.options.items() if value is not None}

    def describe(self) -> str:
        """The call, as people read it in the plan and the log: `crawl(urls=[...], settings={'db': ...})`, a run's
        settings shown by what differs from the defaults (provenance.json records them all)."""
        shown = {name: _changed(value) if isinstance(value, RunSettings) else _plain(value)
                 for name, value in self.options.items() if value is not None}
        return f"{self.job}({', '.join(f'{name}={value!r}' for name, value in shown.items())})"


@dataclass(frozen=True)
class StepResult:
    target: str
    kind: str
    job: str  # the mouchard.api function called
    options: dict  # its arguments (Step.record)
    status: str  # finished, failed, interrupted, not-run
    reason: str
    crawl_id: int | None  # the run it recorded (crawls.id)
    started_at: str | None
    finished_at: str | None
    log: str | None

    def as_dict(self) -> dict:
        return asdict(self)


def _plain(value: Any) -> Any:
    """A step argument as JSON: a run's settings as the values they hold, paths and tuples as strings and lists."""
    if isinstance(value, RunSettings):
        return {"db": value.db, **value.as_record(), "network": value.network.as_record(),
                "browser": value.browser.executable, "browser_args": list(value.browser.args),
                "sandbox": value.browser.sandbox}
    if isinstance(value, NetworkOptions):
        return value.as_record()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def _changed(run: RunSettings) -> dict:
    """A run's settings (as `_plain` spells them): the database, network and browser, and what else is not the
    default."""
    default = _plain(RunSettings(db=run.db))
    return {name: value for name, value in _plain(run).items()
            if name in ("db", "network", "browser") or value != default[name]}


def crawl_phases(phases: tuple[str, ...]) -> tuple[str, ...]:
    """The phases of the one crawl that covers the spec's: `initial` always comes first (the crawler visits it
    before any consent action), then reject, accept, gpc, revoke and second-site as asked."""
    wanted = set(phases)
    consent = {frozenset(): "none", frozenset({"reject"}): "reject", frozenset({"accept"}): "accept",
               frozenset({"reject", "accept"}): "all"}[frozenset(wanted & {"reject", "accept"})]
    return tuple(phases_for(consent, "gpc" in wanted, "revoke" in wanted, "second-site" in wanted))


def plan(spec: AuditSpec, db: Path, *, browser: str | None = None, no_sandbox: bool = False,
         warc: bool | None = None) -> list[Step]:
    """The collector jobs for a spec, in order (pure: nothing is started). `browser` and `no_sandbox` come from the
    command line, never from the spec; the network is the spec's alone (what the plan shows is what runs). The web
    steps archive each visit as WARC when `warc` says so (the command line's `--warc`), else when the spec does."""
    warc = spec.warc if warc is None else warc
    steps: list[Step] = []
    db = str(db)
    for label, urls, pages in (("sites", spec.targets.sites, spec.pages_per_site), ("urls", spec.targets.urls, 0)):
        if not urls:
            continue
        run = RunSettings.from_options(
            db=db, pages_per_site=pages, seed=spec.seed, timeout=spec.timeout, concurrency=spec.concurrency,
            screenshots=True, har=True, browser=browser, browser_args=spec.browser.args, no_sandbox=no_sandbox)
        run = dataclasses.replace(run, network=spec.network, phases=crawl_phases(spec.phases), warc=warc)
        what = f"web: {len(urls)} {label if len(urls) != 1 else label[:-1]}, consent phases {', '.join(run.phases)}"
        steps.append(Step(what, "web", {"urls": tuple(urls), "settings": run}))
    for capture in spec.targets.app_capture:
        steps.append(Step(f"app: {Path(capture).name}", "app",
                          {"capture": capture, "db": db, "profile": spec.targets.profile, "app": spec.targets.app}))
    brokers = spec.targets.brokers
    if brokers:
        for registry in brokers.registries or (None,):
            options = {"db": db, "source": brokers.source, "network": spec.network}
            if registry:  # else the job's default registry, as `brokers fetch` without --registry
                options = {"registry": registry, **options}
            steps.append(Step(f"brokers: fetch {registry or brokers.source}", "brokers-fetch", options))
        options = {"db": db, "limit": brokers.limit, "network": spec.network, "browser": browser,
                   "browser_args": spec.browser.args, "sandbox": not no_sandbox}
        if spec.concurrency is not None:
            options["concurrency"] = spec.concurrency
        steps.append(Step("brokers: crawl their sites", "brokers-crawl", options, needs="brokers-fetch"))
    return steps


def for_replay(steps: list[Step], replay: ReplaySettings, *, warc: bool = False) -> list[Step]:
    """A plan made against the replay proxy's network (the caller's `plan(spec with that network)`), turned into a
    replay's: the web steps replay the archive (`replay`: the bundle digest and each visit's capture time) and
    archive again only with `warc`; every other kind of step is kept in the plan but never run (`skip`), so the
    provenance says what the original audit did that this replay does not."""
    replayed = []
    for step in steps:
        if step.kind == "web":
            settings = dataclasses.replace(step.options["settings"], replay=replay, warc=warc)
            replayed.append(dataclasses.replace(step, options={**step.options, "settings": settings}))
        else:
            replayed.append(dataclasses.replace(step, skip=REPLAY_SKIPPED))
    return replayed


def run(steps: list[Step], logs: Path, *, echo: Callable[[str], None] | None = None) -> list[StepResult]:
    """Run each step in order in a child process, its output to `logs/NN-kind.log`; never raises for a collector's
    failure. A stop signal (SIGINT, SIGTERM, SIGHUP) is passed on to the running job, whose run ends `interrupted`;
    the steps left are then `not-run`, and the audit goes on to judge and seal what was collected."""
    from mouchard import api

    results: list[StepResult] = []
    with StopSignals(raising=False) as stops:  # run_in_child's own handlers note their stops here too
        for number, step in enumerate(steps, start=1):
            if step.skip:
                skipped = step.skip
            elif stops.received is not None:
                skipped = f"the audit was stopped by {signal_name(stops.received)}"
            elif step.needs and not any(r.kind == step.needs and r.status == "finished" for r in results):
                skipped = f"needs a finished {step.needs} step first"
            else:
                skipped = None
            if skipped:
                results.append(StepResult(step.target, step.kind, step.job, step.record(), "not-run", skipped,
                                          None, None, None, None))
                continue
            logs.mkdir(parents=True, exist_ok=True)
            log = logs / f"{number:02d}-{step.kind}.log"
            log.write_text(f"# mouchard.api.{step.describe()}\n", encoding="utf-8")
            if echo:
                echo(f"audit: {step.target} ...")
            started = utcnow()
            crawl_id = None
            try:
                result = api.run_in_child(f"mouchard.api:{step.job}", log=log, **step.options)
                crawl_id = result.crawl_id
                status, reason = _outcome(result)
            except UserError as exc:  # the job's own one-line error: no browser, an unreadable capture...
                status, reason = "failed", f"{step.job}: {exc}"
            except api.JobFailed as exc:  # a crash, already one line (the traceback is in the log)
                status, reason = "failed", str(exc)
            except Stopped as exc:
                status, reason = "interrupted", f"stopped by {signal_name(exc.signum)} before it recorded an end"
            if stops.received is not None and status == "interrupted" and not reason.startswith("stopped"):
                reason += f" (stopped by {signal_name(stops.received)})"
            results.append(StepResult(step.target, step.kind, step.job, step.record(), status, reason[:500],
                                      crawl_id, started, utcnow(), log.name))
            if echo:
                echo(f"audit: {step.target}: {status}" + (f" ({reason})" if reason else ""))
    return results


def _outcome(result: Any) -> tuple[str, str]:
    """A job's result (crawl_id, status, summary...) as a step's status and reason."""
    if result.status == "finished":
        return "finished", ""
    errors = "; ".join(getattr(result, "errors", ()) or ())
    status = "interrupted" if result.status == "interrupted" else "failed"
    return status, f"run {result.crawl_id} ended {result.status}" + (f": {errors}" if errors else "")
