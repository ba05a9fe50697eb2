"""Audits from Python: run a spec into an evidence bundle, verify a bundle, compare two, list the rules.

The functions behind `mouchard audit`, `mouchard verify` and `mouchard diff` (audits/cli.py only parses options
and prints what these return). Nothing here prints or exits: a user's mistake is a one-line
`mouchard.errors.UserError`, everything else is in the returned object.

    from audits.api import audit, verify, diff

    result = audit("case.yml", "bundles/case-1")           # collect, judge, write the bundle
    assert verify(result.out).ok                             # every hash checked
    again = audit("case.yml", "bundles/case-1-rerun")
    print(diff(result.out, again.out).identical)             # the same findings?
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from mouchard.errors import UserError

from audits import vantage
from audits.diff import FindingsDiff, diff_findings, load_findings, with_reasons
from audits.engine import Evaluation
from audits.rules.base import JURISDICTIONS
from audits.runner import AuditResult
from audits.spec import AuditSpec
from audits.verify import Verification

# The result types under the names of the API (the modules that build them keep their own names).
VerifyResult = Verification
DiffResult = FindingsDiff

__all__ = ["AuditResult", "DiffResult", "VerifyResult", "audit", "diff", "rebuild_findings", "replay_audit", "rules",
           "verify"]


def audit(spec: str | os.PathLike | AuditSpec, out: str | os.PathLike, *, from_db: str | os.PathLike | None = None,
          browser: str | None = None, no_sandbox: bool = False, sign_key: str | os.PathLike | None = None,
          timestamp_request: bool = False, vantage_lookup: bool = False, vantage_url: str = vantage.DEFAULT_URL,
          progress: Callable[[str], None] | None = None, warc: bool | None = None) -> AuditResult:
    """Run the audit a spec describes and write its evidence bundle to `out` (a new or empty folder).

    `spec` is a YAML file (or an `AuditSpec` from `audits.spec.load_spec`); it is data from another party, so the
    Chromium (`browser`, default $MOUCHARD_BROWSER or the system's) and `no_sandbox` are the caller's, never the
    spec's. Each collector the spec asks for (crawl, capture import, broker fetch and crawl) runs through mouchard's
    Python API in a child process, its output in `out/logs/`; one that fails is a step with a reason in
    `result.steps`, not an exception. With `from_db`, no collector runs: that database (and its evidence folder) is
    judged. `sign_key` (an Ed25519 private key, PEM) signs the manifest; `timestamp_request` writes an RFC 3161
    request for the digest; `vantage_lookup` asks `vantage_url` for the public address the sites saw. `progress`
    receives the plan (what will run) before anything starts, then a line per collector step. `warc` archives each
    web visit as WARC in the bundle (None: as the spec's `warc` says), so the bundle can be replayed
    (`replay_audit`).

        result = audit("case.yml", "bundles/CNIL-2026-0042", browser="/usr/bin/chromium")
        print(result.digest, [f["rule_id"] for f in result.evaluation.findings])
    """
    from audits.runner import run_audit
    from audits.spec import load_spec

    if sign_key is not None:
        from audits.sign import load_private_key

        load_private_key(sign_key)  # a bad key is said before anything runs
    parsed = spec if isinstance(spec, AuditSpec) else load_spec(spec)
    result = run_audit(parsed, out, from_db=from_db, vantage_lookup=vantage_lookup, vantage_url=vantage_url,
                       timestamp=timestamp_request, echo=progress, browser=browser, no_sandbox=no_sandbox, warc=warc)
    return _signed(result, sign_key)


def replay_audit(spec: str | os.PathLike | AuditSpec, bundle: str | os.PathLike, out: str | os.PathLike, *,
                 browser: str | None = None, no_sandbox: bool = False, warc: bool = False,
                 sign_key: str | os.PathLike | None = None, timestamp_request: bool = False,
                 progress: Callable[[str], None] | None = None) -> AuditResult:
    """Run the web visits of a spec again against the web archived in `bundle` (audited with `warc`), into a new
    bundle at `out`: no request leaves the machine, each page's clock starts at its capture time.

    `bundle` must verify (else UserError: a tampered archive is never replayed) and hold WARC files (else
    UserError). App captures and broker steps are recorded `not-run`. `warc` archives the replayed visits too.
    The new bundle's provenance.json has `replay`: the original digest and case, how many responses the archive
    served (exactly or fuzzily matched) and the requests it did not hold. `diff(bundle, out)` then says which
    findings changed, and why.

        original = audit("case.yml", "bundles/case-1", warc=True)
        again = replay_audit("case.yml", "bundles/case-1", "bundles/case-1-replay")
        print(diff(original.out, again.out).identical)
    """
    from audits.replay import replay_audit as run_replay
    from audits.spec import load_spec

    if sign_key is not None:
        from audits.sign import load_private_key

        load_private_key(sign_key)
    parsed = spec if isinstance(spec, AuditSpec) else load_spec(spec)
    result = run_replay(parsed, bundle, out, browser=browser, no_sandbox=no_sandbox, warc=warc,
                        timestamp=timestamp_request, echo=progress)
    return _signed(result, sign_key)


def _signed(result: AuditResult, sign_key: str | os.PathLike | None) -> AuditResult:
    """The result, its manifest signed with `sign_key` when one is given."""
    if sign_key is None:
        return result
    from audits.sign import sign_bundle

    return dataclasses.replace(result, signer=sign_bundle(result.out, sign_key))


def rebuild_findings(db: str | os.PathLike, *, crawl_ids: Sequence[int] | None = None,
                     rules: Sequence[str] | None = None, jurisdiction: str = "eu",
                     command: Sequence[str] | None = None) -> Evaluation:
    """Judge the runs of an existing database again and replace their findings in place (`mouchard audit --db`).

    `crawl_ids` limits it to those runs (default: every collection run), `rules` to those ids or globs
    (`consent.*`; default: all). The evaluation is recorded as a `crawls` row of kind `audit` (its command line:
    `command`, default this program's).

        evaluation = rebuild_findings("mouchard.db", rules=["web.*"], jurisdiction="fr")
        print(len(evaluation.findings), evaluation.by_severity())
    """
    from mouchard.storage.store import Store

    from audits.engine import evaluate

    with Store(db, create=False) as store:
        return evaluate(store, jurisdiction=jurisdiction, rules=list(rules) if rules else None,
                        crawl_ids=list(crawl_ids) if crawl_ids else None,
                        command=list(sys.argv if command is None else command))


def verify(bundle: str | os.PathLike, *, public_key: str | os.PathLike | None = None) -> VerifyResult:
    """Recompute every hash of an evidence bundle (and, with `public_key`, check its Ed25519 signature).

    The bundle is hostile input: every problem (a changed, missing or added file, a symlink, an altered manifest, a
    bad signature) is a `Problem` in `result.problems`; `result.ok` when there is none. Only a bad argument (no such
    folder, an unreadable key) raises `UserError`. It proves the files are those the digest names, nothing about
    whether the findings are true (`result.proves` says so in one sentence).

        result = verify("bundles/CNIL-2026-0042", public_key="auditor.pem.pub")
        if not result.ok:
            print("\\n".join(str(p) for p in result.problems))
    """
    from audits.verify import verify_bundle

    return verify_bundle(bundle, public_key=public_key)


def diff(before: str | os.PathLike, after: str | os.PathLike) -> DiffResult:
    """The findings that appeared, disappeared or changed between two bundles (or two databases).

    Raises `UserError` when either cannot be read as a bundle folder or a database. For every finding that differs,
    `result.reasons[fingerprint]` says why, from its site's traffic: requests only in A (a replay did not ask for
    them), only in B (and not in the archive a replay served), served by a fuzzy match, cookies only on one side
    (at most 20 lines each).

        result = diff("bundles/case-1", "bundles/case-1-rerun")
        print(result.identical, [f["rule_id"] for f in result.appeared])
    """
    return with_reasons(diff_findings(load_findings(Path(before)), load_findings(Path(after))), before, after)


def rules(jurisdiction: str | None = None) -> list[dict]:
    """The rule catalogue: per rule its id, version, severity, title, the tables it reads (`needs`), its
    explanation, and its legal references (`legal`: jurisdiction → reference; only `jurisdiction`'s when given).

        for rule in rules("fr"):
            print(rule["id"], rule["legal"].get("fr", "(not applied)"))
    """
    from audits.rules import catalogue

    if jurisdiction is not None and jurisdiction not in JURISDICTIONS:
        raise UserError(f"unknown jurisdiction {jurisdiction!r}: expected one of {', '.join(JURISDICTIONS)}")
    return [{"id": r.id, "version": r.version, "severity": r.severity, "title": r.title, "needs": list(r.needs),
             "explanation": r.explanation,
             "legal": {j: r.legal[j] for j in JURISDICTIONS if j in r.legal and jurisdiction in (None, j)}}
            for r in catalogue()]
