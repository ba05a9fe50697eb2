"""The SQLite store: creates and migrates the schema of `mouchard.storage.schema`, and writes rows in transactions.

Every collector writes through this module. A visit (or flow) and all its rows go in one transaction, so a
killed crawl never leaves half a visit; the database runs in WAL mode so Datasette can read while a crawl writes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
import platform
import sqlite3
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

from mouchard import __version__
from mouchard.errors import UserError
from mouchard.storage.schema import BY_NAME, PRIVATE_TABLES, SCHEMA_VERSION, TABLES, Table
from mouchard.settings import DEFAULT_DB, ENV_DB, default_db, evidence_dir  # noqa: F401  (re-exported)

BODY_LIMIT = 256 * 1024  # bytes of a body kept in `bodies`; the hash always covers the whole body

SQL_TYPES = {"integer": "INTEGER", "text": "TEXT", "real": "REAL", "blob": "BLOB"}

# Non-additive schema changes, keyed by the version they migrate TO. New tables and new columns need no entry:
# `Store.migrate` adds them from the schema. Each function runs inside the migration transaction.
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {}


def dict_rows(conn: sqlite3.Connection, sql: str, params: Iterable | dict = ()) -> list[dict]:
    """The rows of `sql` as dicts by column name (Store.rows for a plain connection)."""
    cursor = conn.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def table_exists(conn: sqlite3.Connection, name: str) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone() is not None


def utcnow() -> str:
    """Current UTC time as ISO 8601 text with milliseconds (the `*_at` columns)."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file, read in 1 MiB chunks (evidence files can be large HAR files)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def readonly_uri(path: str | os.PathLike, *, immutable: bool = False) -> str:
    """The SQLite URI that opens the file `path` read-only: the absolute path percent-encoded, so a name holding
    `#`, `?` or `%` names that file (an unencoded `#` would cut the URI and open another file read-write)."""
    from urllib.parse import quote

    uri = f"file:{quote(os.path.abspath(os.fspath(path)), safe='/')}?mode=ro"
    return uri + "&immutable=1" if immutable else uri


def connect_readonly(path: str | os.PathLike, *, immutable: bool = False, **kwargs) -> sqlite3.Connection:
    """A read-only connection to the existing database file `path` (UserError when there is none: never creates
    one). `immutable` for a sealed file nothing writes (a bundle's database): no -wal, -shm or lock is touched."""
    if not Path(path).is_file():
        raise UserError(f"no database at {path}")
    return sqlite3.connect(readonly_uri(path, immutable=immutable), uri=True, **kwargs)


def default_db_path() -> str:
    """The database when none is given: $MOUCHARD_DB, else mouchard.db (read by mouchard.settings)."""
    return default_db()


INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1  # SQLite's INTEGER range
OUT_OF_RANGE = " (out of range)"  # after a number stored as text: not a numeric literal, so SQLite's column
# affinity cannot turn it back into a (rounded) REAL


def _value(value, notes: list[str] | None = None):
    """A Python value as SQLite stores it: containers as strict JSON text, booleans as 0/1, the rest as is."""
    if isinstance(value, (dict, list, tuple)):
        try:
            return _json(value)
        except ValueError:  # NaN or infinity inside: JSON has no such number (Datasette and jq refuse it)
            if notes is not None:
                notes.append("non-finite number inside JSON")
            return _json(_finite(value))
    if isinstance(value, bool):
        return int(value)
    return value


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=isinstance(value, dict), default=str, allow_nan=False)


def _finite(value, depth: int = 0):
    """`value` with each NaN or infinite float replaced by its text marked OUT_OF_RANGE. Only reached for a
    structure json.dumps could walk (so its depth is within Python's own limit); bounded all the same."""
    if isinstance(value, float) and not math.isfinite(value):
        return f"{value}{OUT_OF_RANGE}"
    if depth > 1000:
        return "[nested too deep]"
    if isinstance(value, dict):
        return {k: _finite(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v, depth + 1) for v in value]
    return value


def _out_of_range(value) -> str | None:
    """Why SQLite cannot hold `value` as a number (an integer past int64, a NaN or infinite float), else None."""
    if isinstance(value, int) and not isinstance(value, bool) and not INT64_MIN <= value <= INT64_MAX:
        return f"integer of {len(str(abs(value)))} digits"
    if isinstance(value, float) and not math.isfinite(value):
        return f"float {value}"
    return None


def _checked(table: str, row: dict, notes: list[tuple[str, str, str]]) -> list:
    """The row's values for SQLite; a number out of SQLite's range is stored as its text, every digit kept and
    marked OUT_OF_RANGE (never lost, never an OverflowError that would roll back the whole visit or batch), and
    noted in `notes` as (table, column, why)."""
    values = []
    for name, value in row.items():
        why = _out_of_range(value)
        if why is not None:
            notes.append((table, name, why))
            value = f"{value}{OUT_OF_RANGE}"
        inside: list[str] = []
        values.append(_value(value, inside))
        notes.extend((table, name, why) for why in inside)
    return values


FAILURE_DETAIL_LIMIT = 300  # characters of a failure's one-line detail


def failure_row(component: str, kind: str, detail: str, *, crawl_id: int | None = None,
                visit_id: int | None = None, flow_id: int | None = None) -> dict:
    """A `failures` row: the detail folded to one bounded line (callers pass no raw record text)."""
    line = " ".join(str(detail).split())
    if len(line) > FAILURE_DETAIL_LIMIT:
        line = line[:FAILURE_DETAIL_LIMIT - 1] + "…"
    return {"crawl_id": crawl_id, "visit_id": visit_id, "flow_id": flow_id, "component": component,
            "kind": kind, "detail": line, "created_at": utcnow()}


def record_failure(writer: "Writer | Store", component: str, kind: str, detail: str, **refs) -> int:
    """Insert one `failures` row through a Writer (inside a visit's transaction) or a Store."""
    return writer.insert("failures", failure_row(component, kind, detail, **refs))


class Writer:
    """Inserts rows inside one transaction; obtained from `Store.transaction()`.

    Numbers from data are range-checked on the way in (`_checked`): one that SQLite cannot hold is stored as text
    and the row is kept; a `failures` row (kind value-out-of-range) in the same transaction says which column of
    which row, and `out_of_range` counts them (callers add it to their stats)."""

    def __init__(self, conn: sqlite3.Connection, store: "Store | None" = None):
        self.conn = conn
        self.store = store
        self.out_of_range = 0

    def insert(self, table: str, row: dict) -> int:
        """Insert one row and return its id (checked against the schema: unknown columns are a bug)."""
        sql, names = _insert_sql(table, tuple(row))
        notes: list[tuple[str, str, str]] = []
        cur = self.conn.execute(sql, _checked(table, {n: row[n] for n in names}, notes))
        row_id = cur.lastrowid
        if notes:
            self._note(notes, row, row_id)
        return row_id

    def insert_many(self, table: str, rows: Iterable[dict]) -> int:
        """Insert rows in batches (rows may differ in their keys); returns how many were written."""
        count = 0
        groups: dict[tuple[str, ...], list[list]] = {}
        for row in rows:
            notes: list[tuple[str, str, str]] = []
            values = _checked(table, row, notes)
            if notes:  # rare: inserted alone, so its failure row can name it
                self.insert(table, row)
                count += 1
                continue
            groups.setdefault(tuple(row), []).append(values)
        for keys, values in groups.items():
            sql, _ = _insert_sql(table, keys)
            self.conn.executemany(sql, values)
            count += len(values)
        return count

    def update(self, table: str, row_id: int, values: dict) -> None:
        _check_columns(table, values)
        assignments = ", ".join(f"[{k}] = ?" for k in values)
        notes: list[tuple[str, str, str]] = []
        self.conn.execute(f"UPDATE [{table}] SET {assignments} WHERE id = ?", [*_checked(table, values, notes), row_id])
        if notes:
            self._note(notes, {**values, "id": row_id}, row_id)

    def _note(self, notes: list[tuple[str, str, str]], row: dict, row_id: int | None) -> None:
        """One `failures` row per value stored as text, tied to the row's crawl, visit or flow when it has one."""
        self.out_of_range += len(notes)
        if self.store is not None:
            self.store.values_out_of_range += len(notes)
        table = notes[0][0]
        if table == "failures":  # cannot happen with our own rows; never recurse
            return
        refs = {"crawl_id": row.get("crawl_id") if table != "crawls" else row_id,
                "visit_id": row.get("visit_id") if table != "visits" else row_id,
                "flow_id": row.get("flow_id") if table != "flows" else row_id}
        refs = {k: v if isinstance(v, int) and not isinstance(v, bool) and INT64_MIN <= v <= INT64_MAX else None
                for k, v in refs.items()}
        for parent, ref in (("visits", "visit_id"), ("flows", "flow_id")):  # the run of a visit's or flow's row
            if refs["crawl_id"] is None and refs[ref] is not None:
                found = self.conn.execute(f"SELECT crawl_id FROM [{parent}] WHERE id = ?", (refs[ref],)).fetchone()
                refs["crawl_id"] = found[0] if found else None
        for table, column, why in notes:
            self.insert("failures", failure_row("store", "value-out-of-range",
                                                f"{table}.{column}: {why} stored as text", **refs))

    def add_body(self, data: bytes, media_type: str | None = None) -> str:
        """Store a body once by SHA-256 (cut at BODY_LIMIT) and return the hash."""
        digest = hashlib.sha256(data).hexdigest()
        self.conn.execute(
            "INSERT OR IGNORE INTO bodies (sha256, size, media_type, content, truncated) VALUES (?, ?, ?, ?, ?)",
            (digest, len(data), media_type, data[:BODY_LIMIT], int(len(data) > BODY_LIMIT)))
        return digest

    def add_body_digest(self, digest: str, size: int | None, media_type: str | None = None) -> str:
        """Record a body known only by its hash and size (not kept: over a memory budget); returns the hash."""
        self.conn.execute(
            "INSERT OR IGNORE INTO bodies (sha256, size, media_type, content, truncated) VALUES (?, ?, ?, NULL, 1)",
            (digest, size, media_type))
        return digest


_SQL_CACHE: dict[tuple[str, tuple[str, ...]], tuple[str, tuple[str, ...]]] = {}


def _check_columns(table: str, names: Iterable[str]) -> None:
    known = {c.name for c in BY_NAME[table].columns}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise KeyError(f"{table} has no column {', '.join(unknown)} (add it to mouchard/storage/schema.py)")


def _insert_sql(table: str, names: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    key = (table, names)
    if key not in _SQL_CACHE:
        if table not in BY_NAME:
            raise KeyError(f"no table {table} in mouchard/storage/schema.py")
        _check_columns(table, names)
        cols = ", ".join(f"[{n}]" for n in names)
        _SQL_CACHE[key] = (f"INSERT INTO [{table}] ({cols}) VALUES ({', '.join('?' * len(names))})", names)
    return _SQL_CACHE[key]


class Store:
    """A mouchard SQLite database, created or migrated to the current schema on open."""

    def __init__(self, path: str | os.PathLike | None = None, *, create: bool = True, readonly: bool = False):
        self.path = str(path or default_db_path())
        self.values_out_of_range = 0  # numbers stored as text because SQLite could not hold them (see Writer)
        if not create and not Path(self.path).exists():
            raise UserError(f"no database at {self.path}: run a crawl first or pass --db")
        parent = Path(self.path).parent
        if not parent.exists():
            raise UserError(f"cannot create {self.path}: folder {parent} does not exist")
        try:
            if readonly:
                self.conn = connect_readonly(self.path, isolation_level=None, check_same_thread=False)
            else:
                self.conn = sqlite3.connect(self.path, isolation_level=None, timeout=60, check_same_thread=False)
                self.conn.execute("PRAGMA journal_mode=WAL")
                self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute("PRAGMA foreign_keys=ON")
            self.conn.execute("PRAGMA busy_timeout=60000")
            self.db = sqlite_utils.Database(self.conn)
            if not readonly:
                self.migrate()
        except sqlite3.DatabaseError as exc:
            raise UserError(f"{self.path} is not a usable SQLite database: {exc}") from None

    # -- schema ---------------------------------------------------------------------------------------------

    @property
    def version(self) -> int:
        return self.conn.execute("PRAGMA user_version").fetchone()[0]

    def migrate(self) -> None:
        """Bring the database to SCHEMA_VERSION: new tables and columns, then the explicit migrations."""
        current = self.version
        if current > SCHEMA_VERSION:
            raise UserError(f"{self.path} was written by a newer mouchard (schema {current} > {SCHEMA_VERSION}): upgrade mouchard")
        # Up to date only when every table has every column: a database made between two releases of the same
        # schema version can lack a column added since (one PRAGMA per table, cheap next to a crawl).
        private = self.db.table("me_person").exists()  # a private database keeps its me_* tables complete too
        tables = (*TABLES, *PRIVATE_TABLES) if private else TABLES
        if current == SCHEMA_VERSION and all(self._complete(t) for t in tables):
            return
        with self.transaction():
            for version in range(current + 1, SCHEMA_VERSION + 1):
                if version in MIGRATIONS and current > 0:
                    MIGRATIONS[version](self.conn)
            for spec in tables:
                self._ensure_table(spec)
            self.conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _complete(self, spec: Table) -> bool:
        have = {row[1] for row in self.conn.execute(f"PRAGMA table_info([{spec.name}])")}
        return all(col.name in have for col in spec.columns)

    def _ensure_table(self, spec: Table) -> None:
        table = self.db.table(spec.name)
        if not table.exists():
            columns = []
            for col in spec.columns:
                line = f"[{col.name}] {SQL_TYPES[col.type]}"
                if col.name == spec.pk:
                    line += " PRIMARY KEY"
                if col.references:
                    other, other_col = col.references.split(".")
                    line += f" REFERENCES [{other}]([{other_col}])"
                columns.append(line)
            self.conn.execute(f"CREATE TABLE [{spec.name}] (\n   " + ",\n   ".join(columns) + "\n)")
        else:
            have = {c.name for c in table.columns}
            for col in spec.columns:
                if col.name not in have:
                    fk = f" REFERENCES [{col.references.split('.')[0]}]([{col.references.split('.')[1]}])" if col.references else ""
                    self.conn.execute(f"ALTER TABLE [{spec.name}] ADD COLUMN [{col.name}] {SQL_TYPES[col.type]}{fk}")
        for col in spec.columns:
            if col.index and col.name != spec.pk:
                self.conn.execute(f"CREATE INDEX IF NOT EXISTS [idx_{spec.name}_{col.name}] ON [{spec.name}] ([{col.name}])")
        for cols in spec.extra_indexes:
            self.conn.execute(f"CREATE INDEX IF NOT EXISTS [idx_{spec.name}_{'_'.join(cols)}] ON [{spec.name}] "
                              f"({', '.join(f'[{c}]' for c in cols)})")
        for cols in spec.unique:
            self.conn.execute(f"CREATE UNIQUE INDEX IF NOT EXISTS [uniq_{spec.name}_{'_'.join(cols)}] ON [{spec.name}] "
                              f"({', '.join(f'[{c}]' for c in cols)})")
        if spec.fts and not self.db.table(f"{spec.name}_fts").exists():
            table.enable_fts(list(spec.fts), create_triggers=True, replace=True)

    # -- writing ----------------------------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[Writer]:
        """One atomic unit of writing (BEGIN IMMEDIATE ... COMMIT); nested calls join the outer one."""
        if self.conn.in_transaction:
            yield Writer(self.conn, self)
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield Writer(self.conn, self)
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")

    def insert(self, table: str, row: dict) -> int:
        with self.transaction() as tx:
            return tx.insert(table, row)

    def insert_many(self, table: str, rows: Iterable[dict]) -> int:
        with self.transaction() as tx:
            return tx.insert_many(table, rows)

    def update(self, table: str, row_id: int, values: dict) -> None:
        with self.transaction() as tx:
            tx.update(table, row_id, values)

    def start_crawl(self, kind: str, *, config: dict | None = None, network: dict | None = None,
                    browser: str | None = None, browser_version: str | None = None,
                    browser_args: list[str] | None = None, tracker_lists: list[dict] | None = None,
                    shard: str | None = None, command: list[str] | None = None,
                    warnings: list[str] | tuple[str, ...] = ()) -> int:
        """Record the start of a run with its full provenance; returns crawls.id."""
        from mouchard.versions import dependency_versions

        return self.insert("crawls", {
            "kind": kind, "started_at": utcnow(), "status": "running",
            "command": command if command is not None else sys.argv, "config": config or {},
            "network": network or {}, "tool_version": __version__, "dependencies": dependency_versions(),
            "browser": browser, "browser_version": browser_version, "browser_args": browser_args or [],
            "tracker_lists": tracker_lists if tracker_lists is not None else self.tracker_list_versions(),
            "host": platform.node(), "shard": shard, "warnings": list(warnings),
        })

    def finish_crawl(self, crawl_id: int, status: str = "finished", summary: dict | None = None) -> None:
        self.update("crawls", crawl_id, {"finished_at": utcnow(), "status": status, "summary": summary or {}})

    def record_failure(self, component: str, kind: str, detail: str, *, crawl_id: int | None = None,
                       visit_id: int | None = None, flow_id: int | None = None, tx: Writer | None = None) -> int:
        """Record in `failures` that something was not recorded or analysed in full (one line, no raw data)."""
        return record_failure(tx or self, component, kind, detail, crawl_id=crawl_id, visit_id=visit_id,
                              flow_id=flow_id)

    def tracker_list_versions(self) -> list[dict]:
        """The newest row of each tracker list: what a run's classification depends on."""
        rows = self.conn.execute(
            "SELECT name, version, sha256, licence, source_url FROM tracker_lists WHERE id IN "
            "(SELECT max(id) FROM tracker_lists GROUP BY name) ORDER BY name").fetchall()
        return [dict(zip(("name", "version", "sha256", "licence", "source_url"), r)) for r in rows]

    def add_evidence_file(self, path: str | os.PathLike, documents: str, *, root: str | os.PathLike | None = None,
                          crawl_id: int | None = None, visit_id: int | None = None,
                          media_type: str | None = None, tx: Writer | None = None) -> int:
        """Hash a file kept as evidence and record it; `path` is stored relative to `root` when given."""
        file = Path(path)
        rel = os.path.relpath(file, root) if root else str(file)
        row = {"crawl_id": crawl_id, "visit_id": visit_id, "path": rel, "sha256": file_sha256(file),
               "size": file.stat().st_size, "media_type": media_type or _media_type(file),
               "documents": documents, "created_at": utcnow()}
        if tx is not None:
            return tx.insert("evidence_files", row)
        return self.insert("evidence_files", row)

    # -- reading ----------------------------------------------------------------------------------------------

    def rows(self, sql: str, params: Iterable | dict = ()) -> list[dict]:
        return dict_rows(self.conn, sql, params)

    def count(self, table: str, where: str = "", params: Iterable = ()) -> int:
        return self.conn.execute(f"SELECT count(*) FROM [{table}] {('WHERE ' + where) if where else ''}", params).fetchone()[0]

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _media_type(path: Path) -> str:
    import mimetypes

    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"
