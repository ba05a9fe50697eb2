"""Prepare a mouchard database for publication: a redacted copy, its evidence images, and a ready Datasette
deployment (metadata, templates, plugins, and the `datasette publish` / `datasette package` command lines).

Redaction removes what is personal or secret and keeps what the findings need; every step is listed in
docs/datasette.md and counted in the output folder's `redaction.json`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import importlib.util
import json
import os
import re
import secrets
import shlex
import shutil
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import metadata as dist_metadata
from pathlib import Path

from mouchard import __version__
from mouchard.identify.emails import personal_email
from mouchard.paths import UnsafePath, check_relative, open_inside
from mouchard.identify.profile import DeviceProfile, load_profile
from mouchard.publishing.scrub import POSITION_COLUMNS, POSITION_DECIMALS, REDACTED, SECRET_HEADERS, Scrubber, \
    drop_foreign_objects, scan_database, scrub_database
from mouchard.storage.store import connect_readonly, evidence_dir, file_sha256
from mouchard.errors import UserError
from mouchard.publishing.metadata import DATABASE, LICENSE, LICENSE_URL, SOURCE, SOURCE_URL, TITLE, build_metadata
from mouchard.storage.private import PrivateDatabaseError, is_private, refuse_private
from mouchard.storage.schema import TABLES
from mouchard.publishing.serve import check_database, config_dir, datasette_settings

PUBLISHED_DB = f"{DATABASE}.db"
EVIDENCE_DIR = f"{PUBLISHED_DB}.evidence"
HEADER_COLUMNS = (("requests", "request_headers"), ("requests", "response_headers"),
                  ("flows", "request_headers"), ("flows", "response_headers"))
MANIFEST = ".mouchard-publish.json"  # what a publication wrote: the only files --force may delete
WORKING_DB = ".mouchard-publish.tmp.db"  # the copy being scrubbed; renamed only once the final scan passes


@dataclass(frozen=True)
class PublishOptions:
    """What to publish and how. `profiles` are device profiles whose values become tokens everywhere: parsed
    (`mouchard.identify.profile.DeviceProfile`, e.g. the one a proxy run used) or YAML files, read once here."""

    db: Path
    out: Path
    redact: bool = True
    profiles: tuple[DeviceProfile | Path, ...] = ()
    title: str = TITLE
    license: str = LICENSE
    license_url: str | None = LICENSE_URL
    source: str = SOURCE
    source_url: str | None = SOURCE_URL
    force: bool = False
    warc: bool = False  # also publish each registered WARC, redacted (mouchard.publishing.warc); never without redaction


@dataclass
class PublishResult:
    out: Path
    redactions: dict[str, int] = field(default_factory=dict)
    evidence_files: int = 0
    warc_files: list[dict] = field(default_factory=list)  # per registered WARC: what its redacted copy is, or why not
    commands: dict[str, str] = field(default_factory=dict)


# -- redaction --------------------------------------------------------------------------------------------------

def redact_personal_broker_contacts(conn: sqlite3.Connection) -> int:
    """Registrations whose contact cell holds a person's address (`mouchard.identify.emails`: anything but a role box, the
    rule applied again here whatever the file says): that email, phone, street address and postal code are
    removed, and cut out of the raw registry row, the notes and the DBA too (city and state stay). Personal
    addresses anywhere else are replaced by the scrub of every column."""
    rows = conn.execute("SELECT id, email, phone, address, postal_code FROM brokers").fetchall()
    personal = [row for row in rows if isinstance(row[1], str) and _cell_personal(row[1])]
    for row_id, *values in personal:
        for value in {v for v in values if isinstance(v, str) and len(v.strip()) >= 4}:
            for column in ("raw_json", "notes", "dba"):
                conn.execute(f"UPDATE brokers SET [{column}] = replace(replace([{column}], ?, ?), ?, ?) WHERE id = ?",
                             (value, "[personal contact removed]", value.lower(), "[personal contact removed]", row_id))
    conn.executemany("UPDATE brokers SET email = NULL, phone = NULL, address = NULL, postal_code = NULL, "
                     "email_personal = 1 WHERE id = ?", [(row[0],) for row in personal])
    conn.execute("UPDATE brokers SET email_personal = 0 WHERE email IS NOT NULL")
    return len(personal)


def _cell_personal(cell: str) -> bool:
    return any(personal_email(a) for a in re.split(r"[;,\s]+", cell.strip()) if "@" in a)


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
    """The crawl machine's name (credentials, the home folder and personal values in the command line, settings,
    network and browser flags go with the scrub of every column)."""
    return conn.execute("UPDATE crawls SET host = NULL WHERE host IS NOT NULL").rowcount


def round_locations(conn: sqlite3.Connection) -> int:
    """Every lat/lon column of every table never finer than POSITION_DECIMALS decimals (about 1 km)."""
    count = 0
    for table in TABLES:
        for column in table.columns:
            if column.name in POSITION_COLUMNS:
                count += conn.execute(
                    f"UPDATE [{table.name}] SET [{column.name}] = round([{column.name}], {POSITION_DECIMALS}) "
                    f"WHERE typeof([{column.name}]) = 'real' AND [{column.name}] <> "
                    f"round([{column.name}], {POSITION_DECIMALS})").rowcount
    return count


def pseudonymise_id_syncs(conn: sqlite3.Connection) -> int:
    """`id_syncs.identifier_sha256` is a plain SHA-256 of an identifier: anyone holding the value (a phone's IMEI,
    a cookie) can find it. Published copies keep a keyed hash instead (HMAC-SHA256 with a random key made for
    this publication and never stored): syncs of one identifier still group together, nothing else links."""
    key = secrets.token_bytes(32)
    rows = conn.execute("SELECT id, identifier_sha256 FROM id_syncs WHERE identifier_sha256 IS NOT NULL").fetchall()
    conn.executemany("UPDATE id_syncs SET identifier_sha256 = ? WHERE id = ?",
                     [(hmac.new(key, str(value).encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest(), row_id)
                      for row_id, value in rows])
    return len(rows)


REDACTIONS: tuple[tuple[str, Callable[[sqlite3.Connection], int]], ...] = (
    ("brokers with a personal contact: email, phone, street address removed", redact_personal_broker_contacts),
    ("cookies.value removed", redact_cookie_values),
    ("storage_items.value removed", redact_storage_values),
    ("secret header values (Cookie, Set-Cookie, Authorization...) replaced", redact_secret_headers),
    ("bodies.content removed", drop_bodies),
    ("flows.client (device address) removed", redact_device_addresses),
    ("crawls.host removed", redact_machine),
    (f"lat/lon columns rounded to {POSITION_DECIMALS} decimals", round_locations),
    ("id_syncs.identifier_sha256 replaced by a keyed hash", pseudonymise_id_syncs),
)


def _profiles(items: Iterable[DeviceProfile | Path]) -> list[DeviceProfile]:
    """Parsed profiles as given; files read by the proxy's own loader (one-line UserError on a bad file)."""
    return [item if isinstance(item, DeviceProfile) else load_profile(Path(item)) for item in items]


def _profile_name(item: DeviceProfile | Path) -> str:
    """The file name a profile came from (never its values), for redaction.json."""
    source = item.source if isinstance(item, DeviceProfile) else item
    return Path(source).name if source else "profile"


def redact(conn: sqlite3.Connection, profiles: Iterable[DeviceProfile] = (),
           scrubber: Scrubber | None = None) -> dict[str, int]:
    """Apply every redaction to an open copy; returns rows changed per step.

    Objects that are not mouchard's go first (a view or trigger could rewrite values during the scrub); then the
    table-specific steps; then every value of every column through the scrubber (see mouchard.publishing.scrub)."""
    scrubber = scrubber or Scrubber(list(profiles))
    counts = {"views, triggers and tables that are not mouchard's dropped": drop_foreign_objects(conn)}
    counts.update({name: step(conn) for name, step in REDACTIONS})
    for name, count in scrub_database(conn, scrubber).items():
        counts[f"every column scrubbed: {name}"] = count
    return counts


# -- the copy -----------------------------------------------------------------------------------------------------

def _copy_database(source: Path, target: Path) -> None:
    """A consistent snapshot, even while a crawl writes (SQLite's online backup)."""
    src = connect_readonly(source)
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
    """The evidence checks live in the Datasette plugin: load that file (as a deployment's Datasette does)."""
    path = config_dir() / "plugins" / "mouchard_evidence.py"
    spec = importlib.util.spec_from_file_location("mouchard_evidence_checks", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def copy_evidence_images(conn: sqlite3.Connection, source_db: Path, output: "_Output") -> int:
    """Copy the registered images that pass the plugin's checks (inside the folder, true image, hash matches).
    HAR files, page snapshots and captures are never published: they hold raw cookies and bodies."""
    plugin = _evidence_plugin()
    copied = 0
    rows = conn.execute("SELECT path, media_type, sha256 FROM evidence_files WHERE media_type IN "
                        f"({', '.join('?' * len(plugin.IMAGE_SIGNATURES))})", list(plugin.IMAGE_SIGNATURES))
    for relative, media_type, sha256 in rows.fetchall():
        try:
            data = plugin.read_evidence(str(source_db), relative, media_type, sha256)
            target = output.path(f"{EVIDENCE_DIR}/{check_relative(relative)}")
        except (plugin.EvidenceRefused, UnsafePath):
            continue
        target.write_bytes(data)
        copied += 1
    return copied


WARC_MAX_FILES = 100_000  # registered WARC files a publication looks at


def copy_redacted_warcs(conn: sqlite3.Connection, source_db: Path, output: "_Output",
                        scrubber: Scrubber) -> list[dict]:
    """The redacted copy (mouchard.publishing.warc.redact_warc: the database's redaction, then a re-scan) of every
    WARC registered in `evidence_files` (documents "warc"), at the same relative place in the publication's evidence
    folder. A file that is missing, unsafe (symlink, odd path) or whose hash differs from its row is not published
    and listed with the reason; a WARC the redaction refuses stops the whole publication (UserError)."""
    from mouchard.publishing.warc import redact_warc

    done: list[dict] = []
    root = evidence_dir(source_db)
    rows = conn.execute("SELECT path, sha256 FROM evidence_files WHERE documents = 'warc' ORDER BY id LIMIT ?",
                        (WARC_MAX_FILES,)).fetchall()
    for relative, sha256 in rows:
        try:
            relative = check_relative(relative)
        except UnsafePath:
            done.append({"path": None, "skipped": "unsafe path"})
            continue
        try:
            with open_inside(root, relative) as handle:
                digest = hashlib.sha256()
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
                if digest.hexdigest() != sha256:
                    done.append({"path": relative, "skipped": "hash differs from evidence_files.sha256"})
                    continue
                handle.seek(0)
                written = redact_warc(handle, output.path(f"{EVIDENCE_DIR}/{relative}"), scrubber)
        except FileNotFoundError:
            done.append({"path": relative, "skipped": "missing"})
            continue
        except UnsafePath as exc:
            done.append({"path": relative, "skipped": str(exc)[:200]})
            continue
        except UserError as exc:
            raise UserError(f"{exc}; nothing was published") from None
        done.append({"path": relative, "source_sha256": sha256, "sha256": written.sha256, "size": written.size,
                     "records": written.records, "bodies_kept": written.bodies_kept,
                     "bodies_dropped": written.bodies_dropped, "headers_redacted": written.headers_redacted,
                     "records_failed": written.records_failed})
    return done


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
    # The plugins import mouchard (the readers' pages, the language, the links): it is installed beside them.
    installs = [arg for pin in [f"mouchard=={__version__}", *_plugin_pins()] for arg in ("--install", pin)]
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


class _Output:
    """The files one publication writes in its folder, listed in MANIFEST as they are written, so that a later
    `--force` (or this run, when it fails) deletes exactly these and nothing else."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.files: list[str] = []

    def path(self, relative: str) -> Path:
        """Where to write `relative` (registered first; its folders created). A file already there is not ours."""
        target = self.folder / check_relative(relative)
        if relative not in self.files:
            if os.path.lexists(target):
                raise UserError(f"{self.folder} already holds {relative}, which no earlier publication wrote: "
                                "move it away or choose another folder")
            self.files.append(relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def forget(self, relative: str) -> None:
        self.files.remove(relative)

    def save(self, status: str) -> None:
        (self.folder / MANIFEST).write_text(json.dumps({"mouchard_publish": 1, "status": status,
                                                        "files": self.files}, indent=1) + "\n", encoding="utf-8")

    def remove(self) -> None:
        """Delete what this run wrote (a failed publication leaves nothing behind)."""
        remove_listed(self.folder, self.files + [MANIFEST])


def remove_listed(folder: Path, entries: Iterable[object]) -> int:
    """Delete the regular files `entries` (relative paths, checked) in `folder`, then the folders they leave
    empty; never a symlink, never anything outside `folder`. Returns how many files went."""
    removed, folders = 0, set()
    for entry in entries:
        try:
            relative = check_relative(entry)
        except UnsafePath:
            continue  # a manifest entry that is not a plain relative path names nothing we wrote
        target = folder / relative
        try:
            if not target.is_symlink() and target.is_file():
                target.unlink()
                removed += 1
        except OSError:
            continue
        parts = relative.split("/")
        folders.update("/".join(parts[:i]) for i in range(1, len(parts)))
    for relative in sorted(folders, key=lambda f: -f.count("/")):
        try:
            (folder / relative).rmdir()  # only when empty: files we did not write stay, with their folders
        except OSError:
            continue
    return removed


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _prepare_out(out: Path, source: Path, force: bool) -> None:
    """Refuse a folder that holds the source database or its evidence, or lies inside that evidence; with
    `force`, delete only what an earlier publication listed in its manifest."""
    src, evidence, folder = source.resolve(), evidence_dir(source).resolve(), out.resolve()
    if _inside(src, folder) or _inside(evidence, folder) or _inside(folder, evidence):
        raise UserError(f"--out {out} holds (or is inside) the source database {source} or its evidence: "
                        "choose a separate, new folder")
    if out.exists() and not out.is_dir():
        raise UserError(f"{out} is a file: --out needs a folder")
    if out.exists() and any(out.iterdir()):
        if not force:
            raise UserError(f"{out} is not empty: choose a new folder or pass --force to replace it")
        try:
            manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
            files = manifest["files"] if manifest.get("mouchard_publish") == 1 else None
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            files = None
        if not isinstance(files, list):
            raise UserError(f"{out} is not empty and holds no earlier publication (no valid {MANIFEST}): "
                            "refusing to delete anything in it")
        remove_listed(out, [*files, MANIFEST])
    out.mkdir(parents=True, exist_ok=True)


def _refuse_private_copy(work: Path) -> None:
    conn = sqlite3.connect(work)
    try:
        private = is_private(conn)
    finally:
        conn.close()
    if private:
        raise PrivateDatabaseError(f"{work.name}: the database became private (mouchard me) while it was copied; "
                                   "nothing published")


def publish(options: PublishOptions) -> PublishResult:
    """Write the publication folder; returns what was redacted and the deployment commands.

    With redaction, the scrubbed copy is scanned again, every value of every column, with the same rules
    (mouchard.publishing.scrub); if anything remains, nothing is published: a one-line UserError, and the folder keeps no
    file of this run."""
    source = Path(options.db)
    check_database(source)
    refuse_private(source, "publish")  # before the output folder is touched: nothing of a person's is written
    if options.warc and not options.redact:
        raise UserError("--warc publishes archives only redacted: drop --no-redact (or --warc)")
    scrubber = Scrubber(_profiles(options.profiles)) if options.redact else None
    folder = config_dir()
    out = Path(options.out)
    _prepare_out(out, source, options.force)
    result = PublishResult(out)
    output = _Output(out)
    try:
        output.save("writing")
        work = output.path(WORKING_DB)
        output.path(f"{WORKING_DB}-journal")
        output.save("writing")
        _copy_database(source, work)
        _refuse_private_copy(work)  # made private between the check and the snapshot: the copy goes too
        _scrub_copy(work, result, scrubber)
        if scrubber is not None:
            _final_scan(work, scrubber, out)
        target = output.path(PUBLISHED_DB)
        os.replace(work, target)
        output.forget(WORKING_DB)
        output.forget(f"{WORKING_DB}-journal")  # listed while a run could be killed mid-transaction; gone now
        output.save("writing")
        conn = sqlite3.connect(target)
        try:
            result.evidence_files = copy_evidence_images(conn, source, output)
            if options.warc and scrubber is not None:
                result.warc_files = copy_redacted_warcs(conn, source, output, scrubber)
        finally:
            conn.close()
        metadata = build_metadata(title=options.title, license=options.license, license_url=options.license_url,
                                  source=options.source, source_url=options.source_url)
        output.path("metadata.json").write_text(json.dumps(metadata, indent=2, ensure_ascii=False) + "\n",
                                                encoding="utf-8")
        settings = datasette_settings()
        output.path("settings.json").write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
        for name in ("templates", "plugins"):
            for file in sorted((folder / name).rglob("*")):
                if file.is_file() and "__pycache__" not in file.parts and file.suffix != ".pyc":
                    shutil.copyfile(file, output.path(f"{name}/{file.relative_to(folder / name).as_posix()}"))
        has_warc = any("sha256" in entry for entry in result.warc_files)
        result.commands = deployment_commands(settings, result.evidence_files > 0 or has_warc)
        _write_instructions(output, options, result, source)
        output.save("complete")
    except BaseException:
        output.remove()
        raise
    return result


def _scrub_copy(work: Path, result: PublishResult, scrubber: Scrubber | None) -> None:
    """Redact the copy in one transaction, rebuild its search indexes, and vacuum it (no free page keeps a
    removed value)."""
    conn = sqlite3.connect(work, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = DELETE")  # one self-contained file, served immutable
        conn.execute("BEGIN")
        if scrubber is not None:
            result.redactions = redact(conn, scrubber=scrubber)
        _rebuild_search(conn)
        conn.execute("COMMIT")
        conn.execute("VACUUM")
    except sqlite3.DatabaseError as exc:
        raise UserError(f"cannot redact the copy of the database ({exc}): nothing was published") from None
    finally:
        conn.close()


def _final_scan(work: Path, scrubber: Scrubber, out: Path) -> None:
    """Every value of the file to publish, scanned again; a one-line UserError if anything remains."""
    conn = sqlite3.connect(work)
    try:
        remaining = scan_database(conn, scrubber)
    finally:
        conn.close()
    if remaining:
        first = remaining[0]
        where = f"{first.table}.{first.column} row {first.rowid}" if first.column else first.table
        raise UserError(f"publication refused: the final scan still finds {len(remaining)}"
                        f"{'+' if len(remaining) >= 20 else ''} value(s) to redact (first: {where}, "
                        f"{''.join(first.kinds)}); nothing was published in {out}")


def _write_instructions(output: _Output, options: PublishOptions, result: PublishResult, source: Path) -> None:
    output.path("redaction.json").write_text(json.dumps({
        "source": source.name,
        "source_sha256": file_sha256(source),
        "published_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "mouchard": __version__,
        "redacted": options.redact,
        "final_scan": "passed" if options.redact else "not run (--no-redact)",
        "profiles": [_profile_name(p) for p in options.profiles],
        "steps": result.redactions,
        "evidence_images": result.evidence_files,
        "warc": result.warc_files if options.warc else "not published (publish --warc publishes them redacted)",
    }, indent=2) + "\n", encoding="utf-8")
    script = ["#!/bin/sh", "# Deploy this folder with Datasette: run ONE of these from inside it.",
              "# Google Cloud Run (needs gcloud, logged in):", f"# {result.commands['cloudrun']}",
              "# A Docker image to run anywhere (needs docker):", f"# {result.commands['package']}",
              "# Or serve it on this machine:", 'cd "$(dirname "$0")"', "exec " + result.commands["serve"], ""]
    path = output.path("publish.sh")
    path.write_text("\n".join(script), encoding="utf-8")
    path.chmod(0o755)
