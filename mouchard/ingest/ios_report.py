"""The iOS App Privacy Report (Settings > Privacy & Security > App Privacy Report > Save): which app contacted
which domain, and which app used which data or sensor, as the phone itself recorded it.

The export is newline-delimited JSON (`App_Privacy_Report_v4_<time>.ndjson`), one record per line:

- `"type": "networkActivity"`: `bundleID` (the app, or a system process), `domain`, `firstTimeStamp` and
  `timeStamp` (first and last contact, ISO 8601 with an offset), `hits`, `domainOwner` (Apple's name for the
  company, often empty), `initiatedType` (`AppInitiated`, or `NonAppInitiated`: a web page shown in the app),
  `context` (that web page's domain), `domainType`, `domainClassification`, `contextVerificationType`;
- `"type": "access"`: `accessor` {`identifier`, `identifierType`: bundleID or path}, `category` (location,
  contacts, photos, camera, microphone, ...), `identifier` (a UUID shared by the two records of one access),
  `kind` (`intervalBegin` / `intervalEnd`), `timeStamp`.

Field names as in public parsers of the format (Plaso's `ios_app_privacy` plugin and its test data, open-source
report viewers). `mouchard import report.ndjson` recognises the file by its content, not its name, and records
each network activity as a `flows` row of kind `report` (app attributed by the report, `analysis` no-payload:
destinations only, no payloads, so no leaks can be found) and each access as an `app_accesses` row.

The file is someone else's: hostile by default. Lines are read one at a time with a size cap (a longer line is
skipped unread), the whole file with a `Budget` of lines and bytes; a line that is not a record we understand
is a `failures` row naming its line number and the reason (never its text), and the import goes on.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from mouchard.budget import Budget

FORMAT = "ios-privacy-report"
APP_SOURCE = "ios-privacy-report"
NO_PAYLOAD = "destinations only: no payloads, so no leaks can be found"
LINE_LIMIT = 64 * 1024  # bytes in one line; real records are under 1 KiB
MAX_LINES = 2_000_000  # a week of a busy phone is tens of thousands
MAX_BYTES = 512 * 1024 * 1024
TEXT_LIMIT = 255  # characters of a text field (bundle id, category, owner); longer is not a record of this format
BOM = b"\xef\xbb\xbf"
KNOWN_TYPES = ("networkActivity", "access")
_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")


@dataclass
class Report:
    """What a report holds, as rows ready for the store (no crawl_id yet)."""

    flows: list[dict] = field(default_factory=list)
    accesses: list[dict] = field(default_factory=list)
    failures: list[tuple[int | None, str, str]] = field(default_factory=list)  # (line, kind, reason)
    stats: Counter = field(default_factory=Counter)
    truncated: str | None = None  # why reading stopped before the end, if it did


class BadRecord(ValueError):
    """A line that is not a record of the format: the message is ours, never the line's text."""


def sniff(path: Path) -> bool:
    """True if `path` looks like an App Privacy Report: one of its first lines is a record of a known type.

    Reads at most 16 lines of at most LINE_LIMIT bytes; never raises for what the file holds."""
    try:
        with path.open("rb") as handle:
            for number, line in enumerate(_lines(handle, 16 * LINE_LIMIT), 1):
                if number > 16:
                    return False
                if line is None or not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except (ValueError, RecursionError):
                    continue
                if (isinstance(record, dict) and record.get("type") in KNOWN_TYPES
                        and isinstance(record.get("timeStamp"), str)):
                    return True
    except OSError:
        return False
    return False


def _lines(handle: BinaryIO, max_bytes: int) -> Iterator[bytes | None]:
    """Lines without their end; None for a line longer than LINE_LIMIT (skipped unread, in bounded chunks).
    Stops after `max_bytes` bytes read."""
    read = 0
    first = True
    while read < max_bytes:
        line = handle.readline(LINE_LIMIT + 1)
        if not line:
            return
        read += len(line)
        if first:
            line, first = line.removeprefix(BOM), False
        if len(line) > LINE_LIMIT and not line.endswith(b"\n"):
            while True:  # the rest of an over-long line, never held whole
                rest = handle.readline(LINE_LIMIT)
                read += len(rest)
                if not rest or rest.endswith(b"\n"):
                    break
            yield None
            continue
        yield line.rstrip(b"\r\n")


def parse(handle: BinaryIO, budget: Budget | None = None) -> Report:
    """Read a report from a binary file: flows and accesses in file order, failures for the lines that are not
    records. `budget` (lines as steps, bytes): a report larger than it is read up to there (`truncated`)."""
    budget = budget or Budget(steps=MAX_LINES, bytes=MAX_BYTES, blobs=0)
    report = Report()
    opened: dict[str, dict] = {}  # access identifier -> its row, until its intervalEnd
    unknown: dict[str, list[int]] = {}  # record type -> [count, first line]
    number = 0
    for number, line in enumerate(_lines(handle, budget.limits["bytes"] + LINE_LIMIT + 2), 1):
        if not budget.spend(steps=1, bytes=len(line or b"") + 1):
            report.truncated = f"stopped at line {number}: the report is larger than the import's budget ({budget.reason})"
            break
        report.stats["lines"] += 1
        if line is None:
            report.failures.append((number, "decode-error", f"line {number}: longer than {LINE_LIMIT} bytes, skipped"))
            continue
        if not line.strip():
            report.stats["blank_lines"] += 1
            continue
        try:
            record = _record(line, number)
            kind = record.get("type")
            if kind == "networkActivity":
                report.flows.append(_network(record, number))
            elif kind == "access":
                _access(record, number, report, opened)
            else:
                name = kind if isinstance(kind, str) and len(kind) <= 40 and kind.isprintable() else "?"
                unknown.setdefault(name, [0, number])[0] += 1
                continue
        except BadRecord as exc:
            report.failures.append((number, "decode-error", f"line {number}: {exc}"))
            continue
        report.stats[str(record["type"])] += 1
    for name, (count, first) in unknown.items():
        report.stats["unknown_type"] += count
        report.failures.append((first, "decode-error", f"{count} record(s) of type {name!r} not understood "
                                                       f"(first at line {first}): not imported"))
    report.stats["open_accesses"] = sum(1 for row in opened.values() if row["ended_at"] is None)
    if report.truncated:
        report.failures.append((number, "analysis-truncated", report.truncated))
    return report


def _record(line: bytes, number: int) -> dict:
    try:
        record = json.loads(line)
    except RecursionError:
        raise BadRecord("JSON nested too deep") from None
    except ValueError:
        raise BadRecord("not JSON") from None
    if not isinstance(record, dict):
        raise BadRecord("not a JSON object")
    return record


def _text(record: dict, name: str, *, required: bool = True) -> str | None:
    value = record.get(name)
    if value is None or value == "":
        if required:
            raise BadRecord(f"no {name}")
        return None
    if not isinstance(value, str):
        raise BadRecord(f"{name} is not text")
    if len(value) > TEXT_LIMIT or not value.isprintable():
        raise BadRecord(f"{name} is not a short printable text")
    return value


def _int(record: dict, name: str) -> int | None:
    value = record.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**53:
        raise BadRecord(f"{name} is not a count")
    return value


def utc(value: str | None, name: str) -> str | None:
    """An ISO-8601 time with an offset as UTC text with milliseconds (`mouchard.storage.store.utcnow()`'s form)."""
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise BadRecord(f"{name} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise BadRecord(f"{name} has no time zone")
    try:
        moment = moment.astimezone(dt.timezone.utc)
    except OverflowError:
        raise BadRecord(f"{name} is out of range") from None
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def domain_of(value: str) -> str:
    """A report's domain as a host in normal form; BadRecord if it is not a host name or an IP address."""
    from mouchard.decode.domains import normalize_host

    host = normalize_host(value)
    if ":" in host or host.replace(".", "").isdigit():  # an IP literal, already canonical
        import ipaddress

        try:
            return ipaddress.ip_address(host).compressed
        except ValueError:
            raise BadRecord("domain is not a host name") from None
    labels = host.split(".")
    if not host or len(host) > 253 or not all(_LABEL.match(label) for label in labels):
        raise BadRecord("domain is not a host name")
    return host


def _network(record: dict, number: int) -> dict:
    from mouchard.decode.domains import site_of

    app = _text(record, "bundleID")
    host = domain_of(_text(record, "domain"))
    last = utc(_text(record, "timeStamp"), "timeStamp")
    first = utc(_text(record, "firstTimeStamp", required=False), "firstTimeStamp") or last
    details = {
        "last_seen": last,
        "domain_owner": _text(record, "domainOwner", required=False),
        "initiated": _text(record, "initiatedType", required=False),
        "context": _text(record, "context", required=False),
        "domain_type": _int(record, "domainType"),
        "domain_classification": _int(record, "domainClassification"),
        "context_verification_type": _int(record, "contextVerificationType"),
        "line": number,
    }
    return {"kind": "report", "app": app, "app_source": APP_SOURCE, "started_at": first, "host": host,
            "site": site_of(host) or host, "hits": _int(record, "hits"), "analysis": "no-payload",
            "report": {k: v for k, v in details.items() if v is not None}}


def _access(record: dict, number: int, report: Report, opened: dict[str, dict]) -> None:
    accessor = record.get("accessor")
    if not isinstance(accessor, dict):
        raise BadRecord("no accessor")
    app = _text(accessor, "identifier")
    accessor_type = _text(accessor, "identifierType", required=False)
    category = _text(record, "category")
    access_id = _text(record, "identifier", required=False)
    kind = _text(record, "kind", required=False)
    moment = utc(_text(record, "timeStamp"), "timeStamp")
    row = opened.get(access_id) if access_id else None
    if kind == "intervalEnd" and row is not None and row["app"] == app and row["category"] == category:
        if row["ended_at"] is not None:
            raise BadRecord("second intervalEnd of one access")
        row["ended_at"] = moment
        return
    row = {"app": app, "app_source": APP_SOURCE, "accessor_type": accessor_type, "category": category,
           "access_id": access_id, "started_at": moment if kind != "intervalEnd" else None,
           "ended_at": moment if kind == "intervalEnd" else None, "line": number}
    report.accesses.append(row)
    if access_id and kind == "intervalBegin":
        opened[access_id] = row


def import_report(path: str | Path, db: str | Path, *, app: str | None = None, config: dict | None = None,
                  command: list[str] | None = None) -> int:
    """Import an App Privacy Report into `db` as one `import` run; returns its crawls.id.

    Every network activity becomes a `flows` row (kind `report`, analysis `no-payload`, classified by the
    tracker lists), every data or sensor access an `app_accesses` row, every line that is not a record a
    `failures` row; with `app`, only that app's records are kept (the others are counted in the summary).
    """
    from mouchard.ingest.destinations import record_destinations

    path = Path(path)
    with path.open("rb") as handle:
        report = parse(handle)
    if app:
        kept = [r for r in report.flows if r["app"] == app], [r for r in report.accesses if r["app"] == app]
        report.stats["other_apps_records"] = len(report.flows) + len(report.accesses) - len(kept[0]) - len(kept[1])
        report.flows, report.accesses = kept
    summary = {"app_accesses": len(report.accesses),
               **{f"mouchard/ios_report/{k}": v for k, v in sorted(report.stats.items())}}
    if report.truncated:
        summary["mouchard/ios_report/truncated"] = report.truncated
    return record_destinations(db, path, report.flows, format=FORMAT, warning=NO_PAYLOAD, app=app, config=config,
                               command=command, accesses=report.accesses, summary=summary,
                               failures=[(kind, reason) for _line, kind, reason in report.failures])
