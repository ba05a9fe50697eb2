"""report.html: one self-contained page a non-specialist can read and print, built from the audit database.

Everything is inline (CSS, screenshots as data: URIs) and a Content-Security-Policy forbids loading anything, so
the report opens offline and crawled text cannot reach out. Jinja2 autoescaping renders crawled strings inert;
crawled URLs are shown as text, never as links.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sqlite3
from collections import Counter
from importlib import resources
from pathlib import Path

from mouchard.paths import IMAGE_SIGNATURES, TooLarge, UnsafePath, read_inside

from audits.bundle import evidence_folder
from audits.engine import Evaluation
from audits.rules import catalogue
from audits.rules.base import JURISDICTION_NAMES, SEVERITIES

MAX_IMAGE_BYTES = 6 * 1024 * 1024  # a larger screenshot stays a file reference
MAX_ROWS = 12  # evidence rows shown per table and finding; the database has them all
MAX_SHOTS = 3

# Evidence tables as shown: (column, label, characters kept).
COLUMNS: dict[str, tuple[str, tuple[tuple[str, str, int], ...]]] = {
    "visits": ("Pages visited", (("url", "Page", 140), ("phase", "Phase", 10), ("status", "Status", 12))),
    "requests": ("Requests the browser sent", (("method", "Method", 8), ("url", "Address", 160),
                                               ("tracker_entity", "Company", 30), ("tracker_category", "Category", 20))),
    "cookies": ("Cookies", (("name", "Name", 40), ("domain", "Domain", 40), ("value", "Value", 40),
                            ("lifetime_days", "Lasts (days)", 8), ("third_party", "Third party", 5),
                            ("tracker_entity", "Company", 30))),
    "consent": ("Consent signals", (("phase", "Phase", 10), ("cmp", "Banner", 20), ("framework", "Framework", 10),
                                    ("action", "Action", 8), ("verified", "Verified", 5),
                                    ("reject_first_layer", "Reject on 1st layer", 5), ("raw", "String", 60))),
    "scripts": ("Scripts", (("script_url", "Script", 140), ("canvas_fingerprinting", "Canvas", 5),
                            ("canvas_font_fingerprinting", "Canvas fonts", 5), ("session_replay", "Replay", 5))),
    "js_calls": ("Browser functions called", (("api", "Function", 60), ("script_url", "By script", 100),
                                              ("arguments", "Arguments", 60), ("calls", "Times", 6))),
    "leaks": ("Values found in traffic", (("identifier", "What", 20), ("destination_host", "Sent to", 50),
                                          ("location", "Where", 10), ("field", "Field", 40), ("chain", "Encoding", 50))),
    "flows": ("App traffic", (("app", "App", 40), ("method", "Method", 8), ("url", "Address", 160),
                              ("status", "Status", 5))),
    "rtb": ("Ad auctions", (("event", "Event", 16), ("bidder", "Bidder", 20), ("exchange", "Exchange", 40),
                            ("ad_unit", "Ad slot", 30), ("personal_fields", "Personal data", 60))),
    "id_syncs": ("Identifiers passed between companies", (("from_entity", "From", 30), ("from_site", "From site", 30),
                                                          ("to_entity", "To", 30), ("to_site", "To site", 30),
                                                          ("location", "Carried in", 10), ("parameter", "Parameter", 30))),
    "brokers": ("Broker registrations", (("name", "Name", 60), ("registry", "Registry", 6), ("year", "Year", 6),
                                         ("website", "Website", 60), ("rights_url", "Rights page", 80))),
    "broker_pages": ("Broker pages checked", (("kind", "Page", 10), ("url", "Address", 120), ("status", "Status", 12),
                                              ("http_status", "HTTP", 5), ("hidden_reasons", "Hidden by", 60),
                                              ("gpc", "GPC", 10))),
}
ORDER = ("visits", "consent", "requests", "cookies", "scripts", "js_calls", "leaks", "rtb", "id_syncs", "flows",
         "brokers", "broker_pages")
STATUS_WORDS = {"finished": "done", "not-run": "not run", "failed": "failed"}


BOOLEANS = {"verified", "reject_first_layer", "third_party", "canvas_fingerprinting", "canvas_font_fingerprinting",
            "session_replay", "hidden"}


def _cell(row: dict, column: str, limit: int) -> str:
    value = row.get(column)
    if column in BOOLEANS and value in (0, 1):
        return "yes" if value else "no"
    return _cut(value, limit)


def _cut(value, limit: int) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        value = f"{value:.0f}" if value.is_integer() else f"{value:.1f}"
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


class _Evidence:
    """Resolves evidence rows and files of the database, embedding each screenshot once."""

    def __init__(self, conn: sqlite3.Connection, db: Path):
        self.conn = conn
        self.folder = evidence_folder(db)
        self.shown: dict[str, tuple[str, int]] = {}  # file sha256 -> (anchor, finding number) where it is shown

    def rows(self, table: str, ids: list[int]) -> list[dict]:
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        cur = self.conn.execute(f"SELECT * FROM [{table}] WHERE id IN ({marks}) ORDER BY id", ids)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r)) for r in cur]

    def tables(self, refs: list[dict]) -> list[dict]:
        by_table: dict[str, list[int]] = {}
        for ref in refs:
            by_table.setdefault(ref.get("table"), []).append(ref.get("id"))
        out = []
        for table in ORDER:
            ids = sorted({i for i in by_table.get(table, []) if isinstance(i, int)})
            if not ids:
                continue
            label, columns = COLUMNS[table]
            rows = self.rows(table, ids[:MAX_ROWS])
            out.append({"label": label, "table": table, "headers": ["#"] + [c[1] for c in columns],
                        "rows": [[f"{table}/{r['id']}"] + [_cell(r, c, n) for c, _, n in columns] for r in rows],
                        "more": len(ids) - len(rows)})
        return out

    def files(self, refs: list[dict], number: int) -> tuple[list[dict], list[dict]]:
        """(screenshots to show, other files listed) for the evidence_files among `refs`."""
        ids = sorted({r["id"] for r in refs if r.get("table") == "evidence_files" and isinstance(r.get("id"), int)})
        shots, others = [], []
        for row in self.rows("evidence_files", ids):
            media = row.get("media_type") or ""
            info = {"id": row["id"], "path": row.get("path"), "sha256": row.get("sha256") or "",
                    "documents": row.get("documents") or "file", "anchor": f"file-{row['id']}", "note": None}
            if not media.startswith("image/") or len(shots) >= MAX_SHOTS:
                others.append(info)
                continue
            key = row.get("sha256") or f"id-{row['id']}"  # byte-identical files are shown once
            if key in self.shown:
                shots.append({**info, "data": None, "see": self.shown[key][0], "see_number": self.shown[key][1]})
                continue
            data, note = _image(self.folder, row.get("path"), media, row.get("sha256"))
            if data is None:
                others.append({**info, "note": note})
                continue
            self.shown[key] = (info["anchor"], number)
            shots.append({**info, "data": data, "see": None, "see_number": None})
        return shots, others


def _image(folder: Path, path: str | None, media: str, sha256: str | None) -> tuple[str | None, str | None]:
    """(a data: URI of the screenshot, None) or (None, why it is not shown). The path comes from the database,
    which may be someone else's (`audit --from-db`): it is read only through mouchard.paths (inside the evidence
    folder, no symlink, a regular file), and shown only if its bytes still match the recorded SHA-256."""
    if media not in IMAGE_SIGNATURES:
        return None, "not an image that can be embedded"  # an SVG could carry script or references: not inlined
    try:
        raw = read_inside(folder, path or "", MAX_IMAGE_BYTES)
    except FileNotFoundError:
        return None, "not in the bundle"
    except TooLarge:
        return None, "too large to embed"
    except UnsafePath:
        return None, "refused: its path is not a regular file inside the evidence folder"
    except OSError:
        return None, "not readable"
    if not sha256 or hashlib.sha256(raw).hexdigest() != str(sha256).lower():
        return None, "not shown: its bytes differ from the SHA-256 recorded for it"
    if not raw.startswith(IMAGE_SIGNATURES[media]):
        return None, "not shown: the file is not the image it is recorded as"
    return f"data:{media};base64,{base64.b64encode(raw).decode('ascii')}", None


def _limits(conn: sqlite3.Connection, provenance: dict, evaluation: Evaluation) -> list[str]:
    """What this audit could not see, in plain words."""
    notes = []
    for step in provenance.get("collectors", []):
        if step["status"] != "finished" and step["kind"] != "from-db":
            notes.append(f"{step['target']}: {STATUS_WORDS.get(step['status'], step['status'])} — {step['reason']}.")
    statuses = Counter(r[0] for r in conn.execute("SELECT status FROM visits WHERE status IS NOT 'ok'"))
    if statuses:
        notes.append("Some page visits did not complete: "
                     + ", ".join(f"{n} {s or 'unknown'}" for s, n in sorted(statuses.items()))
                     + ". What those pages did after the failure is not recorded.")
    try:  # what mouchard itself could not record or analyse in full (a database from older versions has no table)
        failed = conn.execute("SELECT kind, component, count(*) FROM failures GROUP BY kind, component "
                              "ORDER BY 3 DESC, 1, 2 LIMIT 20").fetchall()
    except sqlite3.OperationalError:
        failed = []
    if failed:
        notes.append("Not everything was recorded or analysed in full (table failures): "
                     + ", ".join(f"{n} {kind} in {component}" for kind, component, n in failed) + ".")
    unverified = conn.execute("SELECT count(*) FROM consent WHERE action IN ('reject', 'accept') "
                              "AND coalesce(verified, 0) = 0").fetchone()[0]
    if unverified:
        notes.append(f"{unverified} consent action(s) could not be verified (the banner may have been hidden "
                     "rather than answered); findings about refusals only use verified ones.")
    for error in evaluation.errors:
        notes.append(f"A rule could not be evaluated: {error}.")
    if evaluation.not_applicable:
        notes.append("Rules not applied in this jurisdiction: "
                     + ", ".join(r.id for r in evaluation.not_applicable) + ".")
    if provenance.get("vantage", {}).get("ip") == "unknown":
        notes.append("The public IP address and country the sites saw were not looked up: sites can behave "
                     "differently depending on where a visitor comes from.")
    notes += [
        "Each page was visited once per consent phase, in a fresh browser profile. Sites change, rotate their "
        "advertisers and behave differently for different visitors: a clean result proves only what was seen here.",
        "Trackers are named from public tracker lists (listed under Method); a company missing from the lists is "
        "counted by its domain name only.",
        "App traffic is seen only where the app accepted the test certificate; pinned connections, QUIC and "
        "other protocols are recorded as failures, not read.",
        "Legal references point to the provisions the facts relate to; they are not a legal opinion.",
    ]
    return notes


def build_context(conn: sqlite3.Connection, db: Path, *, provenance: dict, evaluation: Evaluation) -> dict:
    resolver = _Evidence(conn, db)
    rules = {r.id: r for r in catalogue()}
    findings = []
    cur = conn.execute("SELECT * FROM findings WHERE crawl_id IN ({}) OR crawl_id IS NULL "
                       "ORDER BY CASE severity WHEN 'high' THEN 0 WHEN 'medium' THEN 1 WHEN 'low' THEN 2 ELSE 3 END, "
                       "rule_id, subject, fingerprint".format(",".join(str(i) for i in evaluation.scope) or "NULL"))
    names = [d[0] for d in cur.description]
    for number, row in enumerate((dict(zip(names, r)) for r in cur.fetchall()), start=1):
        refs = [r for r in (json.loads(row["evidence"] or "[]")) if isinstance(r, dict)]
        shots, others = resolver.files(refs, number)
        rule = rules.get(row["rule_id"])
        findings.append({**row, "number": number, "anchor": f"finding-{number}",
                         "rule_title": rule.title if rule else row["rule_id"],
                         "explanation": rule.explanation if rule else "",
                         "tables": resolver.tables(refs), "shots": shots, "files": others})
    severity_counts = Counter(f["severity"] for f in findings)
    counts = {table: conn.execute(f"SELECT count(*) FROM [{table}]").fetchone()[0]
              for table in ("visits", "requests", "cookies", "consent", "flows", "leaks", "brokers", "broker_pages")}
    return {
        "case": provenance.get("case"), "jurisdiction": evaluation.jurisdiction,
        "jurisdiction_name": JURISDICTION_NAMES.get(evaluation.jurisdiction, evaluation.jurisdiction),
        "provenance": provenance, "findings": findings,
        "severity_counts": [(s, severity_counts[s]) for s in SEVERITIES],
        "subjects": sorted({f["subject"] for f in findings if f["subject"]}),
        "counts": counts, "limits": _limits(conn, provenance, evaluation),
        "rules": [{"id": r.id, "version": r.version, "severity": r.severity, "title": r.title,
                   "applied": r in evaluation.rules} for r in catalogue()],
        "status_words": STATUS_WORDS,
    }


def render(context: dict) -> str:
    import jinja2  # installed with Datasette; imported here so the core stays light

    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["json"] = lambda v: json.dumps(v, ensure_ascii=False, sort_keys=True, default=str)
    template = resources.files("audits").joinpath("templates/report.html").read_text(encoding="utf-8")
    return env.from_string(template).render(**context)


def write_report(conn: sqlite3.Connection, db: Path, out: Path, *, provenance: dict, evaluation: Evaluation) -> None:
    """Render report.html for the audit whose database is `conn` (at `db`, for its evidence folder)."""
    out.write_text(render(build_context(conn, db, provenance=provenance, evaluation=evaluation)), encoding="utf-8")
