"""PCAPdroid's connections export (CSV): which app contacted which host, when, how much — destinations only.

PCAPdroid's Connections tab exports (ConnectionsAdapter.dumpConnectionsCsv) one line per connection:

    IPProto,SrcIP,SrcPort,DstIp,DstPort,UID,App,PackageName,Proto,Status,Info,BytesSent,BytesRcvd,PktsSent,
    PktsRcvd,FirstSeen,LastSeen[,Malicious]

written without quoting: an app name with a comma spreads over several fields, so the columns are read from both
ends (the package name never holds a comma). `mouchard import connections.csv` records each line as a `flows` row
of kind `report` (analysis `no-payload`, like the iOS App Privacy Report): app (package name, app_source
`pcapdroid`), host (Info: the SNI, HTTP host or DNS name PCAPdroid saw, else the address), first contact time, and
PCAPdroid's other columns in `flows.report`. A line that cannot be read is a `failures` row. The same rows
attribute the entries of PCAPdroid's HAR export (`--connections`), which name no app themselves.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

HEADER = ("IPProto", "SrcIP", "SrcPort", "DstIp", "DstPort", "UID", "App", "PackageName", "Proto", "Status", "Info",
          "BytesSent", "BytesRcvd", "PktsSent", "PktsRcvd", "FirstSeen", "LastSeen")
FORMAT = "pcapdroid-connections"
APP_SOURCE = "pcapdroid"
NO_PAYLOAD = "destinations only (PCAPdroid connections export): no payloads, so no leaks can be found"
MAX_BYTES = 256 * 1024 * 1024  # a larger export is refused
MAX_LINE = 16 * 1024  # characters of one line
_HOST = re.compile(r"(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9])?")
_PACKAGE = re.compile(r"[A-Za-z][\w.]{0,199}")


@dataclass
class Connections:
    """The rows read from an export, and the lines that could not be read."""

    rows: list[dict] = field(default_factory=list)
    failures: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)


def sniff(path: Path) -> bool:
    """True if the file starts with PCAPdroid's connections header. Never raises for what the file holds."""
    try:
        with path.open("rb") as handle:
            head = handle.read(512)
    except OSError:
        return False
    return head.removeprefix(b"\xef\xbb\xbf").startswith(",".join(HEADER).encode())


def _utc(value: str) -> str | None:
    try:
        moment = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _int(value: str) -> int | None:
    value = value.strip()
    return int(value) if value.isdigit() and len(value) <= 18 else None


def parse(text: str) -> Connections:
    """Rows (see the module docstring) from the text of an export; never raises for what it holds."""
    from mouchard.decode.domains import site_of

    result = Connections()
    lines = [line.removesuffix("\r") for line in text.removeprefix("\ufeff").split("\n")]  # not splitlines: \x1e...
    if not lines:
        return result
    header = lines[0].split(",")
    tail = len(HEADER) - 8 + (1 if header[-1:] == ["Malicious"] else 0)  # Proto..LastSeen[,Malicious]
    for number, line in enumerate(lines[1:], 2):
        if not line.strip():
            continue
        if len(line) > MAX_LINE:
            result.failures.append((number, f"line longer than {MAX_LINE} characters"))
            continue
        fields = line.split(",")  # PCAPdroid never quotes (see the module docstring)
        if len(fields) < 6 + 2 + tail:
            result.failures.append((number, f"{len(fields)} columns, expected {len(HEADER)}"))
            continue
        head, middle, end = fields[:6], fields[6:len(fields) - tail], fields[len(fields) - tail:]
        name, package = ",".join(middle[:-1]).strip(), middle[-1].strip()
        proto_ip, src, _sport, dst, dport, uid = (f.strip() for f in head)
        l7, status, info, sent, rcvd, psent, prcvd, first, last = (f.strip() for f in end[:9])
        started = _utc(first)
        if started is None or not dst:
            result.failures.append((number, "no destination address or no FirstSeen time"))
            continue
        host = info.lower() if _HOST.fullmatch(info) else dst
        app = package if _PACKAGE.fullmatch(package) else (name[:200] or (f"uid {uid}" if uid else None))
        report = {"last_seen": _utc(last), "protocol": l7[:40], "ip_protocol": proto_ip[:10],
                  "destination": f"{dst}:{dport}"[:80], "status": status[:40], "bytes_sent": _int(sent),
                  "bytes_received": _int(rcvd), "packets_sent": _int(psent), "packets_received": _int(prcvd),
                  "uid": uid[:12], "app_name": name[:200] or None, "line": number}
        if tail == len(HEADER) - 7 and end[9].strip():
            report["malicious"] = end[9].strip()[:10]
        result.rows.append({"kind": "report", "app": app, "app_source": APP_SOURCE, "client": src[:64] or None,
                            "started_at": started, "host": host, "site": site_of(host) or host,
                            "analysis": "no-payload",
                            "report": {k: v for k, v in report.items() if v not in (None, "")}})
    return result


def read(path: Path) -> Connections:
    """Parse an export file; a one-line UserError if it cannot be read or is too large."""
    from mouchard.errors import UserError

    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise UserError(f"{path}: larger than {MAX_BYTES} bytes; nothing imported")
        return parse(path.read_bytes().decode("utf-8", "replace"))
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None


def apps_by_destination(connections: Connections) -> dict[tuple[str, str], set[str]]:
    """{(destination address, host): apps}: what attributes a HAR entry (serverIPAddress, URL host)."""
    found: dict[tuple[str, str], set[str]] = {}
    for row in connections.rows:
        address = row["report"].get("destination", "").rsplit(":", 1)[0]
        if row["app"]:
            found.setdefault((address, row["host"]), set()).add(row["app"])
    return found


def import_connections(path: Path, db: str | Path, *, app: str | None = None, config: dict | None = None,
                       command: list[str] | None = None) -> int:
    """Import a PCAPdroid connections export into `db` as one `import` run; returns its crawls.id.

    With `app`, only that app's connections are kept (the others are counted in the summary)."""
    from mouchard.ingest.destinations import record_destinations

    connections = read(path)
    rows = connections.rows
    others = 0
    if app:
        kept = [r for r in rows if r["app"] == app or r["report"].get("app_name") == app]
        others, rows = len(rows) - len(kept), kept
    return record_destinations(db, path, rows, format=FORMAT, warning=NO_PAYLOAD, app=app, config=config,
                               command=command, summary={"mouchard/pcapdroid_connections/other_apps": others},
                               failures=[("unreadable-line", f"line {number}: {reason}")
                                         for number, reason in connections.failures])
