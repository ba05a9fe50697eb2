"""`mouchard audit SPEC --out DIR`: collect, evaluate the rules, and write a verifiable evidence bundle.

Order matters: collectors write the database; the engine rebuilds findings; exports and the report are written
from the database; the database is sealed (no write-ahead log left beside it); the manifest hashes it all last.
"""

from __future__ import annotations

import json
import platform
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from mouchard import __version__
from mouchard.browser import base_args, browser_version, find_browser, sandbox
from mouchard.errors import UserError
from mouchard.storage.store import Store, utcnow
from mouchard.versions import dependency_versions

from audits import bundle, collect, engine, vantage
from audits.report import write_report
from audits.spec import AuditSpec

RUN_COLUMNS = ("id", "kind", "status", "started_at", "finished_at", "command", "config", "network", "tool_version",
               "browser", "browser_version", "browser_args", "tracker_lists", "host", "shard", "summary")


@dataclass(frozen=True)
class AuditResult:
    out: Path
    digest: str
    evaluation: engine.Evaluation
    steps: tuple[collect.StepResult, ...]
    manifest: dict
    signer: str | None = None  # fingerprint of the key that signed MANIFEST.json (audits.api.audit sign_key)


def prepare_out(out: Path) -> None:
    """The bundle folder must be new or empty: evidence is never mixed with older files."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UserError(f"{out} already exists and is not an empty folder: choose a new --out")
    if not out.parent.is_dir():
        raise UserError(f"cannot create {out}: folder {out.parent} does not exist")
    out.mkdir(exist_ok=True)


def run_audit(spec: AuditSpec, out: str | Path, *, from_db: str | Path | None = None, vantage_lookup: bool = False,
              vantage_url: str = vantage.DEFAULT_URL, timestamp: bool = False, echo=None, browser: str | None = None,
              no_sandbox: bool = False, warc: bool | None = None) -> AuditResult:
    """Run the audit a spec describes and write its bundle to `out`.

    The spec is data (it may come from another party): `browser` and `no_sandbox` come from the command line, and
    what will run (targets, phases, network, browser and its flags, the collector jobs) goes to `echo` before
    anything starts. `warc` (the command line's `--warc`; None: the spec's `warc`) archives each web visit.
    """
    out = Path(out)
    if from_db is not None and not Path(from_db).is_file():
        raise UserError(f"no database at {from_db}")
    browser_info = _browser(spec, browser, no_sandbox)
    planned = [] if from_db is not None else collect.plan(spec, out / bundle.DATABASE, browser=browser_info["path"],
                                                          no_sandbox=no_sandbox, warc=warc)
    if echo:
        for line in describe_plan(spec, planned, browser_info, from_db=from_db):
            echo(line)
    started, spec_name = start_bundle(spec, out)
    db = out / bundle.DATABASE
    if from_db is not None:
        source = Path(from_db)
        refused = bundle.copy_database(source, db)
        reason = "collected earlier; copied with its evidence folder"
        if refused:  # a received database: what its folder held that is not a regular file is named, not copied
            reason += (f" ({len(refused)} entries not copied: symlinks or special files, e.g. "
                       f"{refused[0][0][:80]!r}: {refused[0][1]})")
        steps: tuple[collect.StepResult, ...] = (collect.StepResult(
            f"existing database {source.name}", "from-db", "", {}, "finished", reason, None, started, utcnow(), None),)
    else:
        steps = tuple(collect.run(planned, out / "logs", echo=echo))
    vantage_info = (vantage.lookup_vantage(spec.network, vantage_url) if vantage_lookup else vantage.unknown())
    return finish_audit(spec, out, steps, started=started, spec_name=spec_name, browser_info=browser_info,
                        vantage_info=vantage_info, timestamp=timestamp)


def start_bundle(spec: AuditSpec, out: Path) -> tuple[str, str]:
    """Create the (new or empty) bundle folder and copy the spec into it: (start time, the spec's name there)."""
    prepare_out(out)
    started = utcnow()
    spec_name = "spec" + (Path(spec.path).suffix or ".yml")
    shutil.copyfile(spec.path, out / spec_name)
    return started, spec_name


def finish_audit(spec: AuditSpec, out: Path, steps: tuple[collect.StepResult, ...], *, started: str, spec_name: str,
                 browser_info: dict, vantage_info: dict, timestamp: bool = False,
                 extra: dict | None = None) -> AuditResult:
    """What every audit does once its database is collected (a run, a copy or a replay): evaluate the rules,
    write the provenance (`extra`: more top-level fields, e.g. a replay's), the exports and the report, seal the
    database, then hash it all into the manifest."""
    db = out / bundle.DATABASE
    store = Store(db)
    try:
        evaluation = engine.evaluate(store, jurisdiction=spec.jurisdiction, rules=spec.rules,
                                     config={"case": spec.case, "spec": spec.data}, command=sys.argv,
                                     replace_all=True)
        finished = utcnow()
        provenance = _provenance(store, spec, spec_name, steps, evaluation, vantage_info, started, finished,
                                 browser_info)
        provenance.update(extra or {})
        bundle.write_json(out / "provenance.json", provenance)
        bundle.export_consent(store.conn, out / "consent-strings.json")
        bundle.export_findings(store.conn, out / "findings.json")
        bundle.export_broker_snapshots(store.conn, out / "snapshots" / "broker-pages")
        write_report(store.conn, db, out / "report.html", provenance=provenance, evaluation=evaluation)
        bundle.seal_database(store.conn)
    finally:
        store.close()
    for leftover in (Path(f"{db}-wal"), Path(f"{db}-shm"), Path(f"{db}-journal")):
        leftover.unlink(missing_ok=True)  # empty after the checkpoint; never part of the evidence
    manifest = bundle.write_manifest(out, timestamp=timestamp)
    return AuditResult(out, manifest["digest"], evaluation, steps, manifest)


def _browser(spec: AuditSpec, browser: str | None = None, no_sandbox: bool = False) -> dict:
    """The browser the collectors start: the command line's (`browser`), never the spec's; how it is confined."""
    box = sandbox(no_sandbox)
    confinement = {"sandbox": box.mode, "user": box.user, "warnings": list(box.warnings)}
    args = base_args([*spec.network.chromium_args(), *spec.browser.args], box=box)
    try:
        path = find_browser(browser)
    except UserError as exc:
        return {"path": None, "version": f"unknown ({exc})", "args": args, **confinement}
    return {"path": path, "version": browser_version(path), "args": args, **confinement}


def describe_plan(spec: AuditSpec, steps: list[collect.Step], browser: dict, *, from_db=None) -> list[str]:
    """What an audit of `spec` will run, for people, printed before it starts (a received spec is not trusted)."""
    lines = [f"audit plan: case {spec.case!r}, jurisdiction {spec.jurisdiction}, spec {spec.path}"]
    if from_db is not None:
        return lines + [f"  no collector runs: the findings are judged from the existing database {from_db}"]
    targets = spec.targets
    for label, values in (("sites", targets.sites), ("urls", targets.urls), ("app captures", targets.app_capture)):
        if values:
            lines.append(f"  {label} ({len(values)}): {', '.join(values[:10])}" + (" ..." if len(values) > 10 else ""))
    if targets.brokers:
        lines.append(f"  brokers: registries {', '.join(targets.brokers.registries) or '-'}"
                     + (f", from {targets.brokers.source}" if targets.brokers.source else "")
                     + (f", at most {targets.brokers.limit}" if targets.brokers.limit else ""))
    lines.append(f"  phases: {', '.join(spec.phases)}")
    net = spec.network
    lines.append("  network: " + "; ".join(
        [f"proxy {net.proxy}" if net.proxy else "direct (no proxy)"]
        + ([f"host map {', '.join(map(str, net.host_map))}"] if net.host_map else [])
        + (["certificate errors ignored"] if net.ignore_https_errors else [])
        + ([f"extra CA {net.ca_file}"] if net.ca_file else [])))
    if any(step.kind in ("web", "brokers-crawl") for step in steps):
        who = {"browser-user": f"as user {browser.get('user')}, sandboxed", "namespaces": "sandboxed",
               "off": "WITHOUT its sandbox (--no-sandbox)"}[browser["sandbox"]]
        lines.append(f"  browser: {browser['path'] or 'none found'} ({browser['version']}), {who}; "
                     f"flags from the spec: {' '.join(spec.browser.args) or 'none'}")
    lines += [f"  will not run ({step.skip}): mouchard.api.{step.describe()}" if step.skip
              else f"  will run: mouchard.api.{step.describe()}" for step in steps]
    return lines


def _json(value):
    try:
        return json.loads(value) if isinstance(value, str) and value[:1] in "[{" else value
    except ValueError:
        return value


def _provenance(store: Store, spec: AuditSpec, spec_name: str, steps, evaluation: engine.Evaluation,
                vantage_info: dict, started: str, finished: str, browser: dict) -> dict:
    runs = [{k: _json(v) for k, v in row.items() if k in RUN_COLUMNS}
            for row in store.rows("SELECT * FROM crawls WHERE kind IS NOT 'audit' ORDER BY id")]
    lists: dict[tuple, dict] = {}
    for entry in [l for run in runs for l in (run.get("tracker_lists") or []) if isinstance(l, dict)] \
            + store.tracker_list_versions():
        lists.setdefault((entry.get("name"), entry.get("version"), entry.get("sha256")), entry)
    return {
        "case": spec.case, "jurisdiction": spec.jurisdiction, "spec": spec_name,
        "started_at": started, "finished_at": finished,
        "tool": {"name": "mouchard", "version": __version__},
        "dependencies": dependency_versions(), "host": platform.node(), "platform": platform.platform(),
        "browser": browser, "network": spec.network.as_record(), "vantage": vantage_info,
        "collectors": [s.as_dict() for s in steps], "runs": runs,
        "tracker_lists": sorted(lists.values(), key=lambda l: (str(l.get("name")), str(l.get("version")))),
        "audit_run": evaluation.audit_crawl_id, "scope": list(evaluation.scope),
        "rules": [{"id": r.id, "version": r.version, "severity": r.severity} for r in evaluation.rules],
        "rules_not_applicable": [r.id for r in evaluation.not_applicable],
        "rule_errors": list(evaluation.errors),
        "findings": evaluation.by_severity(),
        "warc": any(s.kind == "web" and s.status != "not-run" and bool(s.options.get("settings", {}).get("warc"))
                    for s in steps),
    }
