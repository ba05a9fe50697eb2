"""`mouchard audit SPEC --replay BUNDLE --out DIR`: the spec's web visits again, against a bundle's archived web.

The replayed bundle is checked first (`mouchard verify`: a tampered archive is never replayed), its WARC files are
indexed (mouchard.archive.index), and a replay proxy on 127.0.0.1 (mouchard.archive.replay_server) answers every
request of the crawl from them, never from the network. Each visit's page clock starts at its capture time. The
crawl, the rules, the exports, the report and the manifest are then exactly a normal audit's (audits.runner), and
provenance.json says what was replayed (`replay`: the original digest and case, what the proxy served, what it did
not hold).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from mouchard.errors import UserError
from mouchard.net import NetworkOptions
from mouchard.paths import UnsafePath, read_inside
from mouchard.settings import ReplaySettings

from audits import bundle, collect, runner, vantage
from audits.spec import AuditSpec
from audits.verify import verify_bundle

NOT_ARCHIVED_SAMPLE = 50  # (method, url) pairs of requests the archive did not hold, kept in provenance.json
PROBLEMS_SAMPLE = 50  # index problems kept in provenance.json
PROVENANCE_MAX = 16 * 1024 * 1024


def replayed_bundle(source: str | Path) -> tuple[str, str | None]:
    """(digest, case) of a bundle that verifies; a UserError of one line naming the first problem otherwise."""
    result = verify_bundle(source)  # raises UserError when there is no such folder
    if not result.ok:
        first = result.problems[0]
        raise UserError(f"{source} does not verify ({len(result.problems)} problem(s), first: {first.kind} "
                        f"{first.path[:120]}): a bundle that does not verify is never replayed")
    case = None
    try:  # a listed, hashed file: its case names what is replayed (display only)
        provenance = json.loads(read_inside(Path(source), "provenance.json", PROVENANCE_MAX).decode("utf-8"))
        case = provenance.get("case") if isinstance(provenance, dict) else None
    except (OSError, UnsafePath, ValueError):
        pass
    return str(result.digest), case if isinstance(case, str) else None


def page_requests_not_archived(db: Path, limit: int = 100_000) -> list[tuple[str, str]]:
    """(method, url) of the replayed pages' requests the replay proxy answered `not-archived`, in request order
    (bounded; an unreadable database gives none: the crawl step's own status says why)."""
    from audits.diff import REPLAY_HEADER, replay_mark
    from mouchard.storage.store import connect_readonly

    try:
        conn = connect_readonly(db)
    except Exception:
        return []
    try:
        rows = conn.execute("SELECT method, url, response_headers FROM requests WHERE instr(lower(response_headers), ?) "
                            "ORDER BY id LIMIT ?", (REPLAY_HEADER, limit)).fetchall()
    except Exception:
        rows = []
    finally:
        conn.close()
    return [(str(method), str(url)) for method, url, headers in rows if replay_mark(headers) == "not-archived"]


def load_archive(source: str | Path):
    """The ArchiveIndex of a bundle's WARC files (its database's evidence folder); UserError when it holds none."""
    from mouchard.archive.index import ArchiveIndex

    index = ArchiveIndex.from_folder(bundle.evidence_folder(Path(source) / bundle.DATABASE))
    if not index.visits:
        raise UserError(f"{source} holds no WARC archive (audit it with --warc)")
    return index


def replay_audit(spec: AuditSpec, source: str | Path, out: str | Path, *, browser: str | None = None,
                 no_sandbox: bool = False, warc: bool = False, timestamp: bool = False, echo=None) -> runner.AuditResult:
    """Replay the web visits of `spec` from the archive of the bundle `source` and write a new bundle to `out`.

    The spec's network is not used: every request goes to the replay proxy. Other collector steps (app captures,
    brokers) are recorded `not-run`. `warc` archives the replayed visits again. Raises UserError (one line) when
    the bundle does not verify or holds no WARC archive; nothing runs then.
    """
    from mouchard.archive.replay_server import ReplayServer

    out = Path(out)
    if out.resolve().is_relative_to(Path(source).resolve()):
        raise UserError(f"{out} is inside the replayed bundle {source}: choose a --out outside it")
    digest, case = replayed_bundle(source)
    index = load_archive(source)
    clock = tuple((v.phase, v.url, v.started_at) for v in index.visits)
    with ReplayServer(index) as server:
        # One port per archived phase: a URL captured in several phases is served as that phase's visit got it.
        proxies = tuple((phase, server.proxy_url_for(phase)) for phase in sorted({v.phase for v in index.visits}))
        network = NetworkOptions.build(server.proxy_url, (), False, server.ca_file)
        replay_spec = dataclasses.replace(spec, network=network)  # what the plan shows and provenance records
        browser_info = runner._browser(replay_spec, browser, no_sandbox)
        planned = collect.for_replay(
            collect.plan(replay_spec, out / bundle.DATABASE, browser=browser_info["path"], no_sandbox=no_sandbox),
            ReplaySettings(bundle=digest, clock=clock, proxies=proxies), warc=warc)
        if echo:
            echo(f"replay of bundle {source} (digest {digest}, case {case!r}): {len(index.visits)} archived visits, "
                 f"served by {server.proxy_url}; no request leaves this machine")
            for line in runner.describe_plan(replay_spec, planned, browser_info):
                echo(line)
        started, spec_name = runner.start_bundle(spec, out)
        steps = tuple(collect.run(planned, out / "logs", echo=echo))
        stats = server.stats
        pages_not_archived = page_requests_not_archived(out / bundle.DATABASE)
        record = {"of": digest, "case": case, "served": stats.served, "fuzzy": stats.fuzzy,
                  # what the pages asked for and the archive lacked (404 from the proxy), from the replayed
                  # database's requests; the proxy's own count also holds the browser's background requests
                  # (component updates, account checks), which page records leave out
                  "not_archived": len(pages_not_archived),
                  "not_archived_sample": [list(pair) for pair in pages_not_archived[:NOT_ARCHIVED_SAMPLE]],
                  "not_archived_by_proxy": stats.not_archived_total,
                  "archived_visits": len(index.visits),
                  "archive_problems": len(index.problems),
                  "archive_problems_sample": [{"path": p.path, "detail": p.detail}
                                              for p in index.problems[:PROBLEMS_SAMPLE]]}
    return runner.finish_audit(replay_spec, out, steps, started=started, spec_name=spec_name,
                               browser_info=browser_info, vantage_info=vantage.unknown("a replay: every response came from the archive"), timestamp=timestamp,
                               extra={"replay": record})
