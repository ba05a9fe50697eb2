"""`mouchard audit`, `mouchard verify` and `mouchard diff`: option parsing and printing over audits.api."""

from __future__ import annotations

import json
import sys

import click

from mouchard.errors import UserError
from mouchard.commands.options import db_option

from audits.rules.base import JURISDICTIONS

JSON_HELP = "Print JSON instead of text."


@click.command("audit")
@click.argument("spec", required=False, type=click.Path(dir_okay=False))
@click.option("--out", type=click.Path(file_okay=False), metavar="DIR",
              help="Bundle folder to create (new or empty). Required with SPEC.")
@click.option("--from-db", type=click.Path(dir_okay=False), metavar="PATH",
              help="Audit this existing database (copied with its evidence folder) instead of running the collectors.")
@click.option("--vantage-lookup", is_flag=True,
              help="Look up the public IP address and country the sites saw (calls --vantage-url, through the proxy).")
@click.option("--vantage-url", default="https://ipinfo.io/json", show_default=True, metavar="URL",
              help="JSON service answering {ip, country}, for --vantage-lookup.")
@click.option("--timestamp-request", is_flag=True,
              help="Also write timestamp.tsq, an RFC 3161 request for the bundle digest (to send to a TSA).")
@click.option("--sign-key", type=click.Path(dir_okay=False), metavar="KEY",
              help="Sign MANIFEST.json with this Ed25519 private key (PEM) into MANIFEST.json.sig.")
@click.option("--browser", metavar="PATH",
              help="Chromium the collectors drive (default: $MOUCHARD_BROWSER, Playwright's, else the system's); "
                   "a spec never names one.")
@click.option("--no-sandbox", "no_sandbox", is_flag=True,
              help="Run the collectors' Chromium without its sandbox (unsafe on hostile sites; recorded as a warning).")
@click.option("--warc", "warc", is_flag=True, default=None,
              help="Archive each web visit as WARC in the bundle (as the spec's warc: true), so it can be replayed.")
@click.option("--replay", "replay_bundle", type=click.Path(file_okay=False), metavar="BUNDLE",
              help="Replay the spec's web visits from BUNDLE's WARC archive (audited with --warc) instead of the "
                   "network; BUNDLE must verify.")
@click.option("--list-rules", is_flag=True, help="Describe every rule (id, version, severity, legal references) and exit.")
@click.option("--json", "as_json", is_flag=True, help="With --list-rules: " + JSON_HELP)
@db_option
@click.option("--crawl", "crawl_ids", type=int, multiple=True, metavar="ID",
              help="Without SPEC: only re-judge this run (crawls.id; repeatable). Default: every run.")
@click.option("--rule", "rule_ids", multiple=True, metavar="ID",
              help="Without SPEC: only these rules (id or glob such as 'consent.*'; repeatable). Default: all.")
@click.option("--jurisdiction", type=click.Choice(JURISDICTIONS),
              help="Without SPEC: the law findings refer to (default eu). With --list-rules: show only its references.")
def audit(spec, out, from_db, vantage_lookup, vantage_url, timestamp_request, sign_key, browser, no_sandbox,
          warc, replay_bundle, list_rules, as_json, db, crawl_ids, rule_ids, jurisdiction) -> None:
    """Run a declarative audit and write a verifiable evidence bundle.

    \b
    mouchard audit SPEC.yml --out DIR      collect, judge, and write the bundle to DIR
    mouchard audit SPEC.yml --out DIR --from-db old.db
                                           judge data collected earlier (no collector runs)
    mouchard audit SPEC.yml --out DIR --warc
                                           also archive every web visit as WARC
    mouchard audit SPEC.yml --out DIR --replay OLD
                                           replay the web visits from bundle OLD's archive
    mouchard audit [--db PATH]             rebuild the findings of a database in place
    mouchard audit --list-rules            the rule catalogue
    """
    from audits import api

    if list_rules:
        _print_rules(api.rules(jurisdiction), jurisdiction, as_json)
        return
    if spec is None:
        if out or from_db or sign_key or warc or replay_bundle:
            raise UserError("--out, --from-db, --sign-key, --warc and --replay need a SPEC file")
        result = api.rebuild_findings(db, crawl_ids=crawl_ids, rules=rule_ids, jurisdiction=jurisdiction or "eu",
                                      command=sys.argv)
        click.echo(f"{db}: {len(result.findings)} findings over {len(result.scope)} runs" + _counts(result)
                   + f"; recorded as audit run {result.audit_crawl_id}")
        for error in result.errors:
            click.echo(f"  rule error: {error}", err=True)
        return
    if not out:
        raise UserError("--out DIR is required with a spec: the bundle folder to create")
    if crawl_ids or rule_ids or jurisdiction:
        raise UserError("with a spec, rules and jurisdiction come from the spec (its rules and jurisdiction keys)")
    if warc and from_db:
        raise UserError("--warc archives the visits a collector makes: with --from-db no collector runs")
    progress = lambda line: click.echo(line, err=True)  # noqa: E731
    if replay_bundle:
        if from_db or vantage_lookup:
            raise UserError("--replay runs the visits again from the archive: --from-db and --vantage-lookup do not "
                            "apply")
        result = api.replay_audit(spec, replay_bundle, out, browser=browser, no_sandbox=no_sandbox,
                                  warc=bool(warc), sign_key=sign_key, timestamp_request=timestamp_request,
                                  progress=progress)
    else:
        result = api.audit(spec, out, from_db=from_db, browser=browser, no_sandbox=no_sandbox, sign_key=sign_key,
                           timestamp_request=timestamp_request, vantage_lookup=vantage_lookup, vantage_url=vantage_url,
                           progress=progress, warc=warc)
    click.echo(f"bundle {result.out}: {len(result.evaluation.findings)} findings" + _counts(result.evaluation))
    for step in result.steps:
        if step.status != "finished":
            click.echo(f"  {step.target}: {step.status} — {step.reason}")
    click.echo(f"digest {result.digest}")
    if result.signer:
        click.echo(f"signed MANIFEST.json with key {result.signer}")
    click.echo(f"report {result.out / 'report.html'}; check it with: mouchard verify {result.out}")
    if any(step.status == "interrupted" for step in result.steps):
        sys.exit(130)  # a stop signal: the bundle holds what was collected until then, as its steps say


def _counts(evaluation) -> str:
    """' (2 high, 1 low)' after a number of findings, or nothing."""
    counts = evaluation.by_severity()
    return f" ({', '.join(f'{n} {s}' for s, n in counts.items())})" if counts else ""


def _print_rules(rules: list[dict], jurisdiction: str | None, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(rules, indent=2, ensure_ascii=False))
        return
    for r in rules:
        click.echo(f"{r['id']}  v{r['version']}  {r['severity']}  {r['title']}")
        click.echo(f"    needs: {', '.join(r['needs'])}")
        for j in JURISDICTIONS:
            if jurisdiction in (None, j):
                click.echo(f"    {j}: {r['legal'].get(j, '(not applied)')}")
        click.echo(f"    {r['explanation']}\n")


@click.command("verify")
@click.argument("bundle_dir", metavar="DIR", type=click.Path(file_okay=False))
@click.option("--key", "public_key", type=click.Path(dir_okay=False), metavar="PUBKEY",
              help="Also check MANIFEST.json.sig against this Ed25519 public key (PEM).")
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
def verify(bundle_dir, public_key, as_json) -> None:
    """Recompute every hash of an evidence bundle.

    Exit status 0 when every file matches MANIFEST.json; 1 when a file changed, is missing, was added or is not a
    regular file, the manifest itself was altered, or (with --key) the signature does not check (each named on a
    line). It proves the files are those the digest names (and, with --key, that the key holder signed them),
    nothing about whether the findings are true.
    """
    from audits.api import verify as verify_bundle

    result = verify_bundle(bundle_dir, public_key=public_key)
    if as_json:
        click.echo(json.dumps(result.as_json(), indent=2, ensure_ascii=False))
    elif result.ok:
        click.echo(f"OK {result.root}: {result.files} files match MANIFEST.json (case {result.case})")
        click.echo(f"digest {result.digest}; {result.timestamp}; {result.signature}")
        click.echo(result.proves)
    else:
        for problem in result.problems:
            click.echo(str(problem))
        click.echo(f"FAILED {result.root}: {len(result.problems)} problem(s)", err=True)
    sys.exit(0 if result.ok else 1)


@click.command("diff")
@click.argument("before", metavar="DIR_A", type=click.Path(exists=True))
@click.argument("after", metavar="DIR_B", type=click.Path(exists=True))
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
def diff(before, after, as_json) -> None:
    """Findings that appeared, disappeared or changed between two bundles (or databases).

    Exit status 0 when the findings are identical, 1 when they differ, 2 when a bundle cannot be read.
    """
    from audits.api import diff as diff_bundles
    from audits.diff import render_table

    try:
        result = diff_bundles(before, after)
    except UserError as exc:
        click.echo(f"mouchard: {exc}", err=True)
        sys.exit(2)
    click.echo(json.dumps(result.as_json(), indent=2, ensure_ascii=False) if as_json else render_table(result))
    sys.exit(0 if result.identical else 1)
