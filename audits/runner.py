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
from mouchard.browser import base_args, browser_version, find_browser
from mouchard.errors import UserError
from mouchard.store import Store, utcnow
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


def prepare_out(out: Path) -> None:
    """The bundle folder must be new or empty: evidence is never mixed with older files."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UserError(f"{out} already exists and is not an empty folder: choose a new --out")
    if not out.parent.is_dir():
        raise UserError(f"cannot create {out}: folder {out.parent} does not exist")
    out.mkdir(exist_ok=True)


def run_audit(spec: AuditSpec, out: str | Path, *, from_db: str | Path | None = None, vantage_lookup: bool = False,
              vantage_url: str = vantage.DEFAULT_URL, timestamp: bool = False, echo=None) -> AuditResult:
    """Run the audit a spec describes and write its bundle to `out`."""
    out = Path(out)
    if from_db is not None and not Path(from_db).is_file():
        raise UserError(f"no database at {from_db}")
    prepare_out(out)
    started = utcnow()
    db = out / bundle.DATABASE
    spec_name = "spec" + (Path(spec.path).suffix or ".yml")
    shutil.copyfile(spec.path, out / spec_name)
    if from_db is not None:
        source = Path(from_db)
        bundle.copy_database(source, db)
        steps: tuple[collect.StepResult, ...] = (collect.StepResult(
            f"existing database {source.name}", "from-db", [], "finished",
            "collected earlier; copied with its evidence folder", None, started, utcnow(), None),)
    else:
        steps = tuple(collect.run(collect.plan(spec, db), out / "logs", echo=echo))
    vantage_info = (vantage.lookup_vantage(spec.network, vantage_url) if vantage_lookup else vantage.unknown())
    store = Store(db)
    try:
        evaluation = engine.evaluate(store, jurisdiction=spec.jurisdiction, rules=spec.rules,
                                     config={"case": spec.case, "spec": spec.data}, command=sys.argv,
                                     replace_all=True)
        finished = utcnow()
        provenance = _provenance(store, spec, spec_name, steps, evaluation, vantage_info, started, finished)
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


def _browser(spec: AuditSpec) -> dict:
    try:
        path = find_browser(spec.browser.path)
    except UserError as exc:
        return {"path": None, "version": f"unknown ({exc})", "args": base_args(spec.browser.args)}
    return {"path": path, "version": browser_version(path),
            "args": base_args([*spec.network.chromium_args(), *spec.browser.args])}


def _json(value):
    try:
        return json.loads(value) if isinstance(value, str) and value[:1] in "[{" else value
    except ValueError:
        return value


def _provenance(store: Store, spec: AuditSpec, spec_name: str, steps, evaluation: engine.Evaluation,
                vantage_info: dict, started: str, finished: str) -> dict:
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
        "browser": _browser(spec), "network": spec.network.as_record(), "vantage": vantage_info,
        "collectors": [s.as_dict() for s in steps], "runs": runs,
        "tracker_lists": sorted(lists.values(), key=lambda l: (str(l.get("name")), str(l.get("version")))),
        "audit_run": evaluation.audit_crawl_id, "scope": list(evaluation.scope),
        "rules": [{"id": r.id, "version": r.version, "severity": r.severity} for r in evaluation.rules],
        "rules_not_applicable": [r.id for r in evaluation.not_applicable],
        "rule_errors": list(evaluation.errors),
        "findings": evaluation.by_severity(),
    }
