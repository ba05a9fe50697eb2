"""Run the collectors an audit spec asks for, through mouchard's own command line, into the bundle's database.

Each collector is a `python -m mouchard ...` subprocess (crawl, import, brokers fetch / crawl) with `--db`
pointing into the bundle: the audit depends only on their command lines, and a collector crash cannot take the
audit down. A command that is not available records its target as `not-run` with the reason; the audit goes on.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from mouchard.settings import ENV_DB
from mouchard.store import utcnow

from audits.spec import AuditSpec

CONSENT_FLAG = {"initial": "none", "reject": "reject", "accept": "accept"}


@dataclass(frozen=True)
class Step:
    """One collector command: what it covers (for people), its kind, and its arguments after `mouchard`."""

    target: str
    kind: str  # web, app, brokers-fetch, brokers-crawl
    args: tuple[str, ...]
    needs: str | None = None  # a kind that must have finished first


@dataclass(frozen=True)
class StepResult:
    target: str
    kind: str
    command: list[str]
    status: str  # finished, failed, not-run
    reason: str
    exit_code: int | None
    started_at: str | None
    finished_at: str | None
    log: str | None

    def as_dict(self) -> dict:
        return asdict(self)


def _network_args(spec: AuditSpec) -> list[str]:
    net = spec.network
    args: list[str] = []
    if net.proxy:
        args += ["--proxy", net.proxy]
    for rule in net.host_map:
        args += ["--host-map", str(rule)]
    if net.ignore_https_errors:
        args.append("--ignore-https-errors")
    if net.ca_file:
        args += ["--ca-file", net.ca_file]
    return args


def _browser_args(spec: AuditSpec, browser: str | None = None, no_sandbox: bool = False) -> list[str]:
    """The browser options of a collector: the executable and --no-sandbox from the command line only, the spec's
    allow-listed flags (audits/spec.py)."""
    args = ["--browser", browser] if browser else []
    if no_sandbox:
        args.append("--no-sandbox")
    # one token each: a flag such as --lang=fr must not be read as an option of mouchard's
    return args + [f"--browser-arg={arg}" for arg in spec.browser.args]


def consent_runs(phases: tuple[str, ...]) -> list[tuple[str | None, bool]]:
    """(--consent value, --gpc) per crawl needed to cover the phases.

    Initial, reject and accept together are the crawler's default (`--consent all`), so no flag is passed: the
    command then works with any crawler that visits those phases by default.
    """
    wanted = [p for p in phases if p != "gpc"]
    gpc = "gpc" in phases
    if {"initial", "reject", "accept"} <= set(wanted):
        return [(None, gpc)]
    if not wanted:
        return [("none", True)]
    return [(CONSENT_FLAG[p], gpc and i == 0) for i, p in enumerate(wanted)]


def plan(spec: AuditSpec, db: Path, *, browser: str | None = None, no_sandbox: bool = False) -> list[Step]:
    """The collector commands for a spec, in order (pure: no process is started). `browser` and `no_sandbox` come
    from the command line, never from the spec."""
    steps: list[Step] = []
    common = ["--db", str(db)]
    crawl_options: list[str] = ["--screenshots", "--har"]
    if spec.seed is not None:
        crawl_options += ["--seed", str(spec.seed)]
    if spec.timeout is not None:
        crawl_options += ["--timeout", f"{spec.timeout:g}"]
    if spec.concurrency is not None:
        crawl_options += ["--concurrency", str(spec.concurrency)]
    crawl_options += _network_args(spec) + _browser_args(spec, browser, no_sandbox)
    for label, urls, pages in (("sites", spec.targets.sites, spec.pages_per_site), ("urls", spec.targets.urls, 0)):
        if not urls:
            continue
        for consent, gpc in consent_runs(spec.phases):
            args = ["crawl", *common, *(["--consent", consent] if consent else []), *(["--gpc"] if gpc else [])]
            if pages is not None:
                args += ["--pages-per-site", str(pages)]
            what = (f"web: {len(urls)} {label if len(urls) != 1 else label[:-1]}, consent phases {consent or 'all'}"
                    + (" + gpc" if gpc else ""))
            steps.append(Step(what, "web", tuple(args + crawl_options + list(urls))))
    for capture in spec.targets.app_capture:
        args = ["import", *common]
        if spec.targets.profile:
            args += ["--profile", spec.targets.profile]
        if spec.targets.app:
            args += ["--app", spec.targets.app]
        steps.append(Step(f"app: {Path(capture).name}", "app", tuple(args + [capture])))
    brokers = spec.targets.brokers
    if brokers:
        for registry in brokers.registries or (None,):
            args = ["brokers", "fetch", *common]
            if registry:
                args += ["--registry", registry]
            if brokers.source:
                args += ["--from", brokers.source]
            steps.append(Step(f"brokers: fetch {registry or brokers.source}", "brokers-fetch",
                              tuple(args + _network_args(spec))))
        args = ["brokers", "crawl", *common]
        if brokers.limit:
            args += ["--limit", str(brokers.limit)]
        if spec.concurrency is not None:
            args += ["--concurrency", str(spec.concurrency)]
        steps.append(Step("brokers: crawl their sites", "brokers-crawl",
                          tuple(args + _network_args(spec) + _browser_args(spec, browser, no_sandbox)),
                          needs="brokers-fetch"))
    return steps


def run(steps: list[Step], logs: Path, *, python: str = sys.executable, echo=None) -> list[StepResult]:
    """Run each step in order, output to `logs/NN-kind.log`; never raises for a collector's failure."""
    results: list[StepResult] = []
    env = {k: v for k, v in os.environ.items() if k != ENV_DB}  # --db is explicit; no surprise database
    for number, step in enumerate(steps, start=1):
        command = [python, "-m", "mouchard", *step.args]
        if step.needs and not any(r.kind == step.needs and r.status == "finished" for r in results):
            results.append(StepResult(step.target, step.kind, command, "not-run",
                                      f"needs a finished {step.needs} step first", None, None, None, None))
            continue
        logs.mkdir(parents=True, exist_ok=True)
        log = logs / f"{number:02d}-{step.kind}.log"
        if echo:
            echo(f"audit: {step.target} ...")
        started = utcnow()
        try:
            with log.open("wb") as out:
                out.write(("$ mouchard " + " ".join(step.args) + "\n").encode())
                out.flush()
                proc = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, env=env, stdin=subprocess.DEVNULL)
            code = proc.returncode
            text = log.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            code, text = None, str(exc)
        finished = utcnow()
        status, reason = _outcome(step, code, text)
        results.append(StepResult(step.target, step.kind, command, status, reason, code, started, finished,
                                  log.name))
        if echo:
            echo(f"audit: {step.target}: {status}" + (f" ({reason})" if reason else ""))
    return results


def _outcome(step: Step, code: int | None, output: str) -> tuple[str, str]:
    name = "mouchard " + " ".join(a for a in step.args[:2] if not a.startswith("-"))
    if code == 0:
        return "finished", ""
    lines = [line.strip() for line in output.splitlines()[1:] if line.strip()]
    last = lines[-1] if lines else "no output"
    return "failed", f"`{name}` exited with status {code}: {last[:300]}"
