"""Prepare a mouchard database for publication: a redacted copy, its evidence images, and a ready Datasette
deployment (metadata, templates, plugins, and the `datasette publish` / `datasette package` command lines).

Redaction removes what is personal or secret and keeps what the findings need; every step is listed in
docs/datasette.md and counted in the output folder's `redaction.json`.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import re
import shlex
import shutil
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import metadata as dist_metadata
from pathlib import Path
from urllib.parse import quote

from mouchard import __version__
from mouchard.store import file_sha256
from mouchard.errors import UserError
from mouchard.metadata import DATABASE, LICENSE, LICENSE_URL, SOURCE, SOURCE_URL, TITLE, build_metadata
from mouchard.schema import TABLES
from mouchard.serve import check_database, config_dir, datasette_settings

PUBLISHED_DB = f"{DATABASE}.db"
EVIDENCE_DIR = f"{PUBLISHED_DB}.evidence"
REDACTED = "[redacted]"
# Header values that carry credentials or identifiers (cookie values are removed from `cookies` too).
SECRET_HEADERS = {"cookie", "set-cookie", "authorization", "proxy-authorization", "x-api-key", "x-auth-token",
                  "x-csrf-token", "x-xsrf-token", "x-forwarded-for", "x-real-ip", "forwarded"}
HEADER_COLUMNS = (("requests", "request_headers"), ("requests", "response_headers"),
                  ("flows", "request_headers"), ("flows", "response_headers"))
URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/@\s\"']+@", re.IGNORECASE)
PROFILE_TOKENS = {"advertising_id": "GAID"}  # the rest are upper-cased keys: [ANDROID_ID], [IMEI], [EMAIL]...


@dataclass(frozen=True)
class PublishOptions:
    """What to publish and how. `profiles` are device profiles (YAML) whose values become tokens everywhere."""

    db: Path
    out: Path
    redact: bool = True
    profiles: tuple[Path, ...] = ()
    title: str = TITLE
    license: str = LICENSE
    license_url: str | None = LICENSE_URL
    source: str = SOURCE
    source_url: str | None = SOURCE_URL
    force: bool = False


@dataclass
class PublishResult:
    out: Path
    redactions: dict[str, int] = field(default_factory=dict)
    evidence_files: int = 0
    commands: dict[str, str] = field(default_factory=dict)


# -- redaction --------------------------------------------------------------------------------------------------

def _text_columns(conn: sqlite3.Connection) -> dict[str, list[str]]:
    """Text columns of every schema table, as far as the copy has them (an older file may lack new columns; FTS
    shadow tables are rebuilt, not edited)."""
    found = {}
    for table in TABLES:
        present = {row[1] for row in conn.execute(f"PRAGMA table_info([{table.name}])")}
        found[table.name] = [c.name for c in table.columns
                             if c.type == "text" and c.name != table.pk and c.name in present]
    return {name: columns for name, columns in found.items() if columns}


def redact_personal_broker_contacts(conn: sqlite3.Connection) -> int:
    """Registrations whose contact email looks like a person's: that email, phone, street address and postal code
    are removed, and cut out of the raw registry row and the notes too (city and state stay)."""
    rows = conn.execute("SELECT id, email, phone, address, postal_code FROM brokers WHERE email_personal = 1").fetchall()
    for row_id, *values in rows:
        for value in {v for v in values if isinstance(v, str) and len(v.strip()) >= 4}:
            for column in ("raw_json", "notes", "dba"):
                conn.execute(f"UPDATE brokers SET [{column}] = replace(replace([{column}], ?, ?), ?, ?) WHERE id = ?",
                             (value, "[personal contact removed]", value.lower(), "[personal contact removed]", row_id))
    return conn.execute("UPDATE brokers SET email = NULL, phone = NULL, address = NULL, postal_code = NULL "
                        "WHERE email_personal = 1").rowcount


def redact_cookie_values(conn: sqlite3.Connection) -> int:
    """Cookie values are identifiers: names, domains, lifetimes and flags stay, values go."""
    return conn.execute("UPDATE cookies SET value = NULL WHERE value IS NOT NULL").rowcount


def redact_storage_values(conn: sqlite3.Connection) -> int:
    """localStorage / IndexedDB values hold identifiers as cookies do; their size stays."""
    return conn.execute("UPDATE storage_items SET value = NULL WHERE value IS NOT NULL").rowcount


def _redact_headers(headers):
    """The same JSON shape with secret header values replaced: {name: value}, [[name, value]] or
    [{name, value}]."""
    if isinstance(headers, dict):
        return {k: (REDACTED if str(k).lower() in SECRET_HEADERS else v) for k, v in headers.items()}
    if isinstance(headers, list):
        out = []
        for item in headers:
            if isinstance(item, list) and len(item) == 2 and str(item[0]).lower() in SECRET_HEADERS:
                out.append([item[0], REDACTED])
            elif isinstance(item, dict) and str(item.get("name", "")).lower() in SECRET_HEADERS:
                out.append({**item, "value": REDACTED})
            else:
                out.append(item)
        return out
    return headers


def redact_secret_headers(conn: sqlite3.Connection) -> int:
    """Cookie, Set-Cookie, Authorization and forwarding headers in stored request and response headers."""
    changed = 0
    clause = " OR ".join(f"instr(lower(value), '{name}') > 0" for name in sorted(SECRET_HEADERS))
    for table, column in HEADER_COLUMNS:
        rows = conn.execute(f"SELECT id, [{column}] AS value FROM [{table}] WHERE value IS NOT NULL AND ({clause})")
        updates = []
        for row_id, text in rows:
            try:
                redacted = json.dumps(_redact_headers(json.loads(text)), ensure_ascii=False, sort_keys=True)
            except ValueError:
                redacted = REDACTED  # not JSON: nothing tells which part is safe
            if redacted != text:
                updates.append((redacted, row_id))
        conn.executemany(f"UPDATE [{table}] SET [{column}] = ? WHERE id = ?", updates)
        changed += len(updates)
    return changed


def drop_bodies(conn: sqlite3.Connection) -> int:
    """Request and response bodies: their hash and size stay (findings cite them), their content goes."""
    return conn.execute("UPDATE bodies SET content = NULL WHERE content IS NOT NULL").rowcount


def redact_device_addresses(conn: sqlite3.Connection) -> int:
    """The proxy client's address is the phone's (or the researcher's network)."""
    return conn.execute("UPDATE flows SET client = NULL WHERE client IS NOT NULL").rowcount


def redact_machine(conn: sqlite3.Connection) -> int:
    """The crawl machine's name, proxy credentials in settings, and the home folder in command lines."""
    count = conn.execute("UPDATE crawls SET host = NULL WHERE host IS NOT NULL").rowcount
    home = str(Path.home())
    for row_id, *values in conn.execute("SELECT id, command, config, network FROM crawls").fetchall():
        cleaned = [URL_CREDENTIALS.sub(r"\g<scheme>[redacted]@", v).replace(home, "~") if isinstance(v, str) else v
                   for v in values]
        if cleaned != values:
            conn.execute("UPDATE crawls SET command = ?, config = ?, network = ? WHERE id = ?", (*cleaned, row_id))
            count += 1
    return count


def round_locations(conn: sqlite3.Connection) -> int:
    """Leak positions never finer than 2 decimals (about 1 km), whatever wrote them."""
    return conn.execute("UPDATE leaks SET lat = round(lat, 2), lon = round(lon, 2) "
                        "WHERE lat <> round(lat, 2) OR lon <> round(lon, 2)").rowcount


def profile_values(path: Path) -> list[tuple[str, str]]:
    """(value, token) pairs from a device profile: every identifier, the contacts, and the position at 3-7
    decimals. Longest values first, so a value inside another is replaced after it."""
    import yaml

    try:
        profile = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise UserError(f"cannot read device profile {path}: {exc}") from None
    if not isinstance(profile, dict):
        raise UserError(f"device profile {path} is not a YAML mapping")
    pairs: list[tuple[str, str]] = []
    for key, value in (profile.get("identifiers") or {}).items():
        if value not in (None, ""):
            pairs.append((str(value), f"[{PROFILE_TOKENS.get(key, str(key).upper())}]"))
    for contact in profile.get("contacts") or []:
        pairs.append((str(contact), "[CONTACT]"))
    location = profile.get("location") or {}
    for axis in ("lat", "lon"):
        if isinstance(location.get(axis), (int, float)):
            for decimals in range(7, 2, -1):
                pairs.append((f"{location[axis]:.{decimals}f}", "[LOCATION]"))
    forms: dict[str, str] = {}
    for value, token in pairs:
        if len(value) < 4:
            continue  # too short to replace blindly
        for form in (value, value.lower(), value.upper(), quote(value, safe="")):
            forms.setdefault(form, token)
    return sorted(forms.items(), key=lambda pair: -len(pair[0]))


def replace_profile_values(conn: sqlite3.Connection, pairs: list[tuple[str, str]]) -> int:
    """Every occurrence of a profile value, in every text column of every table, becomes its token."""
    if not pairs:
        return 0
    changed = 0
    for table, columns in _text_columns(conn).items():
        for column in columns:
            expression = f"[{column}]"
            for _ in pairs:
                expression = f"replace({expression}, ?, ?)"
            params = [item for pair in pairs for item in pair]
            where = " OR ".join(f"instr([{column}], ?) > 0" for _ in pairs)
            changed += conn.execute(f"UPDATE [{table}] SET [{column}] = {expression} WHERE {where}",
                                    params + [value for value, _ in pairs]).rowcount
    return changed


REDACTIONS: tuple[tuple[str, Callable[[sqlite3.Connection], int]], ...] = (
    ("brokers with a personal contact: email, phone, street address removed", redact_personal_broker_contacts),
    ("cookies.value removed", redact_cookie_values),
    ("storage_items.value removed", redact_storage_values),
    ("secret header values (Cookie, Set-Cookie, Authorization...) replaced", redact_secret_headers),
    ("bodies.content removed", drop_bodies),
    ("flows.client (device address) removed", redact_device_addresses),
    ("crawls.host removed; credentials and home folder cut from crawls", redact_machine),
    ("leaks.lat/lon rounded to 2 decimals", round_locations),
)


def redact(conn: sqlite3.Connection, profiles: Iterable[Path] = ()) -> dict[str, int]:
    """Apply every redaction to an open copy; returns rows changed per step."""
    counts = {name: step(conn) for name, step in REDACTIONS}
    pairs = [pair for path in profiles for pair in profile_values(Path(path))]
    if pairs:
        counts["device profile values replaced by tokens"] = replace_profile_values(conn, pairs)
    return counts


# -- the copy -----------------------------------------------------------------------------------------------------

def _copy_database(source: Path, target: Path) -> None:
    """A consistent snapshot, even while a crawl writes (SQLite's online backup)."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


def _rebuild_search(conn: sqlite3.Connection) -> None:
    """Rebuild full-text indexes from the redacted rows, so no removed text survives in them."""
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '%\\_fts' "
                                "ESCAPE '\\' AND sql LIKE 'CREATE VIRTUAL TABLE%'").fetchall():
        conn.execute(f"INSERT INTO [{name}]([{name}]) VALUES ('rebuild')")
        conn.execute(f"INSERT INTO [{name}]([{name}]) VALUES ('optimize')")


def _evidence_plugin():
    """The evidence checks live in the Datasette plugin (deployments do not install mouchard): load that file."""
    path = config_dir() / "plugins" / "mouchard_evidence.py"
    spec = importlib.util.spec_from_file_location("mouchard_evidence_checks", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def copy_evidence_images(conn: sqlite3.Connection, source_db: Path, out: Path) -> int:
    """Copy the registered images that pass the plugin's checks (inside the folder, true image, hash matches).
    HAR files, page snapshots and captures are never published: they hold raw cookies and bodies."""
    plugin = _evidence_plugin()
    copied = 0
    rows = conn.execute("SELECT path, media_type, sha256 FROM evidence_files WHERE media_type IN "
                        f"({', '.join('?' * len(plugin.IMAGE_SIGNATURES))})", list(plugin.IMAGE_SIGNATURES))
    for relative, media_type, sha256 in rows.fetchall():
        try:
            data = plugin.read_evidence(str(source_db), relative, media_type, sha256)
        except plugin.EvidenceRefused:
            continue
        target = out / EVIDENCE_DIR / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        copied += 1
    return copied


def _plugin_pins() -> list[str]:
    """Datasette and the plugins of mouchard's `datasette` extra, at the versions installed here (the ones tested)."""
    wanted = ["datasette"]
    for requirement in dist_metadata.requires("mouchard") or []:
        if re.search(r"extra\s*==\s*['\"]datasette['\"]", requirement):
            wanted.append(re.split(r"[\s;=<>!~\[]", requirement, maxsplit=1)[0])
    pins = []
    for name in dict.fromkeys(wanted):
        try:
            pins.append(f"{name}=={dist_metadata.version(name)}")
        except dist_metadata.PackageNotFoundError:
            continue  # not installed here: not tested, not deployed
    return pins


def deployment_commands(settings: dict, has_evidence: bool) -> dict[str, str]:
    """`datasette publish cloudrun`, `datasette package` and a plain `datasette serve`, to run inside the folder."""
    common = ["--metadata", "metadata.json", "--template-dir", "templates", "--plugins-dir", "plugins"]
    if has_evidence:
        # Mounted at the same relative place as locally, where the evidence plugin looks for it.
        common += ["--static", f"{EVIDENCE_DIR}:{EVIDENCE_DIR}"]
    setting_args = [arg for key, value in settings.items() for arg in ("--setting", key, _setting_text(value))]
    installs = [arg for pin in _plugin_pins() for arg in ("--install", pin)]
    extra = ["--extra-options", " ".join(shlex.quote(a) for a in setting_args)]
    note = ["--version-note", f"mouchard {__version__}"]

    def line(args: list[str]) -> str:
        return " ".join(shlex.quote(a) for a in args)

    return {
        "cloudrun": line(["datasette", "publish", "cloudrun", PUBLISHED_DB, "--service", "mouchard", *common,
                          *installs, *extra, *note]),
        "package": line(["datasette", "package", PUBLISHED_DB, "--tag", "mouchard-data", *common, *installs, *extra,
                         *note]),
        "serve": line(["datasette", "serve", "-i", PUBLISHED_DB, *common, *setting_args, "--host", "127.0.0.1",
                       "--port", "8001"]),
    }


def _setting_text(value) -> str:
    return ("on" if value else "off") if isinstance(value, bool) else str(value)


def _prepare_out(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise UserError(f"{out} is a file: --out needs a folder")
    if out.exists() and any(out.iterdir()):
        if not force:
            raise UserError(f"{out} is not empty: choose a new folder or pass --force to replace it")
        if not (out / PUBLISHED_DB).exists():
            raise UserError(f"{out} is not empty and holds no earlier publication: refusing to delete it")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)


def publish(options: PublishOptions) -> PublishResult:
    """Write the publication folder; returns what was redacted and the deployment commands."""
    source = Path(options.db)
    check_database(source)
    folder = config_dir()
    out = Path(options.out)
    if out.resolve() == source.resolve().parent and not options.force:
        raise UserError("--out must not be the database's own folder")
    _prepare_out(out, options.force)
    result = PublishResult(out)
    target = out / PUBLISHED_DB
    _copy_database(source, target)
    conn = sqlite3.connect(target, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = DELETE")  # one self-contained file, served immutable
        conn.execute("BEGIN")
        if options.redact:
            result.redactions = redact(conn, options.profiles)
        _rebuild_search(conn)
        conn.execute("COMMIT")
        result.evidence_files = copy_evidence_images(conn, source, out)
        conn.execute("VACUUM")  # removed values must not survive in free pages
    finally:
        conn.close()

    metadata = build_metadata(title=options.title, license=options.license, license_url=options.license_url,
                              source=options.source, source_url=options.source_url)
    (out / "metadata.json").write_text(json.dumps(metadata, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    settings = datasette_settings()
    (out / "settings.json").write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
    shutil.copytree(folder / "templates", out / "templates")
    shutil.copytree(folder / "plugins", out / "plugins", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    result.commands = deployment_commands(settings, result.evidence_files > 0)
    _write_instructions(out, options, result, source)
    return result


def _write_instructions(out: Path, options: PublishOptions, result: PublishResult, source: Path) -> None:
    (out / "redaction.json").write_text(json.dumps({
        "source": source.name,
        "source_sha256": file_sha256(source),
        "published_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "mouchard": __version__,
        "redacted": options.redact,
        "profiles": [Path(p).name for p in options.profiles],
        "steps": result.redactions,
        "evidence_images": result.evidence_files,
    }, indent=2) + "\n", encoding="utf-8")
    script = ["#!/bin/sh", "# Deploy this folder with Datasette: run ONE of these from inside it.",
              "# Google Cloud Run (needs gcloud, logged in):", f"# {result.commands['cloudrun']}",
              "# A Docker image to run anywhere (needs docker):", f"# {result.commands['package']}",
              "# Or serve it on this machine:", 'cd "$(dirname "$0")"', "exec " + result.commands["serve"], ""]
    path = out / "publish.sh"
    path.write_text("\n".join(script), encoding="utf-8")
    path.chmod(0o755)


