"""Compare the findings of two bundles (or databases): appeared, disappeared, changed.

Findings are matched by fingerprint (rule, subject and facts). A matched pair whose severity, rule version,
title, detail or legal reference differ is "changed". Of the rest, when a rule has exactly one unmatched finding
for a subject on each side, the facts changed (other trackers, other pages): that pair is "changed" too;
everything else appeared or disappeared.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from mouchard.errors import UserError

from audits.bundle import DATABASE, open_sealed

COMPARED = ("severity", "rule_version", "title", "detail", "legal_reference", "jurisdiction")
SHOWN = ("rule_id", "rule_version", "severity", "subject", "title", "detail", "legal_reference", "fingerprint")


@dataclass(frozen=True)
class Change:
    before: dict
    after: dict
    fields: tuple[str, ...]


@dataclass(frozen=True)
class FindingsDiff:
    appeared: list[dict] = field(default_factory=list)
    disappeared: list[dict] = field(default_factory=list)
    changed: list[Change] = field(default_factory=list)
    unchanged: int = 0
    reasons: dict[str, list[str]] = field(default_factory=dict)  # fingerprint -> why it differs (audits.diff_reasons)

    @property
    def identical(self) -> bool:
        return not (self.appeared or self.disappeared or self.changed)

    def as_json(self) -> dict:
        def pick(row: dict) -> dict:
            return {k: row.get(k) for k in SHOWN}
        result = {"identical": self.identical, "unchanged": self.unchanged,
                  "appeared": [pick(r) for r in self.appeared], "disappeared": [pick(r) for r in self.disappeared],
                  "changed": [{"fields": list(c.fields), "before": pick(c.before), "after": pick(c.after)}
                              for c in self.changed]}
        if not self.identical:  # why they differ; identical findings print as they always did
            result["reasons"] = [{"difference": kind, "rule_id": row.get("rule_id"), "subject": row.get("subject"),
                                  "fingerprint": row.get("fingerprint"), "lines": self.reasons[row["fingerprint"]]}
                                 for kind, row in self.differences() if row.get("fingerprint") in self.reasons]
        return result

    def differences(self) -> list[tuple[str, dict]]:
        """Every differing finding as (appeared | disappeared | changed, its row: the after side of a change)."""
        return ([("appeared", r) for r in self.appeared] + [("disappeared", r) for r in self.disappeared]
                + [("changed", c.after) for c in self.changed])


def database_of(path: str | Path) -> Path:
    """The database of a bundle folder (its audit.db) or the database file itself; UserError when neither."""
    path = Path(path)
    db = path / DATABASE if path.is_dir() else path
    if not db.is_file():
        raise UserError(f"{path}: neither a bundle folder (with {DATABASE}) nor a database file")
    return db


def load_findings(path: str | Path) -> list[dict]:
    """Findings of a bundle folder (its audit.db) or of a database file, read without modifying it."""
    db = database_of(path)
    try:
        conn = open_sealed(db)
        try:
            rows = conn.execute("SELECT * FROM findings ORDER BY rule_id, subject, fingerprint").fetchall()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise UserError(f"{db}: cannot read findings: {exc}") from None
    return [dict(r) for r in rows]


def diff_findings(before: list[dict], after: list[dict]) -> FindingsDiff:
    old = {r["fingerprint"]: r for r in before}
    new = {r["fingerprint"]: r for r in after}
    result = FindingsDiff()
    unchanged = 0
    for key in sorted(old.keys() & new.keys()):
        fields = tuple(f for f in COMPARED if old[key].get(f) != new[key].get(f))
        if fields:
            result.changed.append(Change(old[key], new[key], fields))
        else:
            unchanged += 1
    gone = [old[k] for k in sorted(old.keys() - new.keys())]
    came = [new[k] for k in sorted(new.keys() - old.keys())]

    def by_subject(rows: list[dict]) -> dict[tuple, list[dict]]:
        groups: dict[tuple, list[dict]] = {}
        for row in rows:
            groups.setdefault((row["rule_id"], row["subject"]), []).append(row)
        return groups

    gone_groups, came_groups = by_subject(gone), by_subject(came)
    for key in sorted(gone_groups.keys() & came_groups.keys()):
        if len(gone_groups[key]) == len(came_groups[key]) == 1:
            a, b = gone_groups[key][0], came_groups[key][0]
            fields = ("facts",) + tuple(f for f in COMPARED if a.get(f) != b.get(f))
            result.changed.append(Change(a, b, fields))
            gone.remove(a)
            came.remove(b)
    result.appeared.extend(sorted(came, key=_order))
    result.disappeared.extend(sorted(gone, key=_order))
    result.changed.sort(key=lambda c: _order(c.after))
    return FindingsDiff(result.appeared, result.disappeared, result.changed, unchanged)


def with_reasons(diff: FindingsDiff, before: str | Path, after: str | Path) -> FindingsDiff:
    """The diff with, for every differing finding, why its site's traffic differs (see `explain`)."""
    if diff.identical:
        return diff
    return dataclasses.replace(diff, reasons=explain(diff.differences(), database_of(before), database_of(after)))


def _order(row: dict) -> tuple:
    return (row.get("rule_id") or "", row.get("subject") or "", row.get("fingerprint") or "")


def render_table(diff: FindingsDiff, width: int = 60) -> str:
    """A plain-text table for people: one line per difference, then a count."""
    def cut(text: str | None) -> str:
        text = " ".join((text or "").split())
        return text if len(text) <= width else text[:width - 1] + "…"

    def why(row: dict) -> list[str]:
        return [f"{'':<12} {'':<7} why: {line}" for line in diff.reasons.get(row.get("fingerprint") or "", ())]

    lines = []
    for label, rows in (("appeared", diff.appeared), ("disappeared", diff.disappeared)):
        for r in rows:
            lines.append(f"{label:<12} {r['severity'] or '':<7} {r['rule_id']:<36} {cut(r['title'])}")
            lines += why(r)
    for c in diff.changed:
        lines.append(f"{'changed':<12} {c.after['severity'] or '':<7} {c.after['rule_id']:<36} {cut(c.after['title'])}")
        for f in c.fields:
            if f == "facts":
                lines.append(f"{'':<12} {'':<7} facts changed (fingerprint {c.before['fingerprint'][:12]} → "
                             f"{c.after['fingerprint'][:12]})")
            else:
                lines.append(f"{'':<12} {'':<7} {f}: {cut(str(c.before.get(f)))} → {cut(str(c.after.get(f)))}")
        lines += why(c.after)
    if diff.identical:
        lines.append(f"identical: the same {diff.unchanged} findings")
    else:
        lines.append(f"{len(diff.appeared)} appeared, {len(diff.disappeared)} disappeared, "
                     f"{len(diff.changed)} changed, {diff.unchanged} unchanged")
    return "\n".join(lines)


# -- why findings differ -------------------------------------------------------------------------------------

REASON_LINES = 20  # per finding
EXAMPLES = 3  # requests or cookies named per kind of difference
ROWS_READ = 200_000  # requests (or cookies) of one site read per database: the databases may come from elsewhere
REPLAY_HEADER = "x-mouchard-replay"  # set by the replay proxy (mouchard.archive.replay_server): exact, fuzzy, not-archived
URL_SHOWN = 160


def _clean(text: object, limit: int = URL_SHOWN) -> str:
    """Crawled text on one line: control characters out, cut."""
    text = "".join(c if c.isprintable() else "?" for c in str(text or ""))
    return text if len(text) <= limit else text[:limit - 1] + "…"


def replay_mark(headers: object) -> str | None:
    """The X-Mouchard-Replay value of a requests.response_headers JSON (any case), else None."""
    if not isinstance(headers, str) or REPLAY_HEADER not in headers.lower():
        return None
    try:
        parsed = json.loads(headers)
    except ValueError:
        return None
    pairs = parsed.items() if isinstance(parsed, dict) else (parsed if isinstance(parsed, list) else [])
    for pair in pairs:
        if isinstance(pair, (list, tuple)) and len(pair) == 2 and str(pair[0]).lower() == REPLAY_HEADER:
            return str(pair[1]).strip().lower()
    return None


@dataclass
class _SiteTraffic:
    """One site's requests (phase, method, URL) with how a replay served each, and its cookies, in one database."""

    requests: Counter
    marks: dict  # (phase, method, url) -> X-Mouchard-Replay value
    cookies: set
    replay: bool  # some response of this database came from a replay proxy


def _traffic(conn: sqlite3.Connection, site: str) -> _SiteTraffic:
    requests: Counter = Counter()
    marks: dict = {}
    for phase, method, url, headers in conn.execute(
            "SELECT v.phase, r.method, r.url, r.response_headers FROM requests r JOIN visits v ON v.id = r.visit_id "
            "WHERE v.site = ? ORDER BY r.id LIMIT ?", (site, ROWS_READ)):
        key = (str(phase), str(method), str(url))
        requests[key] += 1
        mark = replay_mark(headers)
        if mark:
            marks[key] = mark
    cookies = {(str(phase), str(name), str(domain)) for phase, name, domain in conn.execute(
        "SELECT v.phase, c.name, c.domain FROM cookies c JOIN visits v ON v.id = c.visit_id WHERE v.site = ? "
        "ORDER BY c.id LIMIT ?", (site, ROWS_READ))}
    return _SiteTraffic(requests, marks, cookies, bool(marks))


def _site_reasons(a: _SiteTraffic, b: _SiteTraffic) -> list[str]:
    """Why one site's findings may differ between database A and B, most telling first, at most REASON_LINES."""
    only_a = sorted((a.requests - b.requests).elements())
    only_b = sorted((b.requests - a.requests).elements())
    not_archived = [k for k in only_b if b.marks.get(k) == "not-archived"]
    new_b = [k for k in only_b if b.marks.get(k) != "not-archived"]
    fuzzy = sorted(k for k in b.requests if b.marks.get(k) == "fuzzy")
    groups = [
        (only_a, "requests only in A" + (": the replay did not ask for them: behaviour not fixed by what was served "
                                         "(timers, randomness)" if b.replay else "")),
        (not_archived, "requests only in B, not in the archive: served 404"),
        (new_b, "requests only in B"),
        (fuzzy, "requests of B served by a fuzzy match (an archived response of a similar URL)"),
    ]
    lines: list[str] = []
    for keys, label in groups:
        if keys:
            lines.append(f"{len(keys)} {label}")
            lines += [f"  {method} {_clean(url)} ({phase})" for phase, method, url in keys[:EXAMPLES]]
    for side, cookies in (("A", a.cookies - b.cookies), ("B", b.cookies - a.cookies)):
        if cookies:
            lines.append(f"{len(cookies)} cookies set only in {side}")
            lines += [f"  {_clean(name, 80)} ({_clean(domain, 80)}, {phase})"
                      for phase, name, domain in sorted(cookies)[:EXAMPLES]]
    if not lines and (a.requests or b.requests):
        lines.append("the same requests and cookies for this site on both sides: the rules judged them differently "
                     "(rule version, other tables)")
    if len(lines) > REASON_LINES:
        lines = lines[:REASON_LINES - 1] + [f"... {len(lines) - REASON_LINES + 1} more lines"]
    return lines


def explain(differences: list[tuple[str, dict]], before: Path, after: Path) -> dict[str, list[str]]:
    """For each differing finding (by fingerprint), why: its subject site's requests (phase, method, URL) and
    cookies (phase, name, domain) that are only on one side, and what a replay proxy said of them. Both databases
    are read without modification, on budgets; a subject with no web traffic on either side gets no lines."""
    subjects = sorted({str(row.get("subject")) for _, row in differences if row.get("subject")})
    conns: list[sqlite3.Connection] = []
    try:
        conns = [open_sealed(before)]
        conns.append(open_sealed(after))
        by_site = {site: _site_reasons(_traffic(conns[0], site), _traffic(conns[1], site)) for site in subjects}
    except sqlite3.DatabaseError as exc:  # a database without the web tables (or damaged): said, not raised
        by_site = {site: [f"requests not compared: {_clean(exc, 120)}"] for site in subjects}
    finally:
        for conn in conns:
            conn.close()
    return {str(row.get("fingerprint")): by_site[str(row.get("subject"))]
            for _, row in differences if row.get("subject") and by_site.get(str(row.get("subject")))}
