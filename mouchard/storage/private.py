"""Private databases: a person's own captures (`mouchard me`), which never leave their machine.

A database is private when its `me_person` table holds a row. `mark_private` writes that row (and creates the
other `me_*` tables) before any capture is recorded into it, so a capture interrupted half-way is already
private. `publish` and `merge` call `refuse_private` first and stop with one line: nothing is copied, redacted or
written. Redaction is not the guard here: a person's database is full of their own values in every encoding, and
the only safe copy of it is none.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

from mouchard.errors import UserError
from mouchard.storage.schema import PRIVATE_TABLES

MARK_TABLE = "me_person"
PAST = {"publish": "published", "merge": "merged", "serve": "served publicly"}
PERSON_FIELDS = ("name", "email", "postal_address", "country", "region", "language")


class PrivateDatabaseError(UserError):
    """A private database was given to a command that would copy it elsewhere."""


def is_private(conn: sqlite3.Connection) -> bool:
    """True when `conn` is a private database (its me_person table has a row). Fails closed: a database whose
    marker cannot be read (locked, corrupt) counts as private."""
    try:
        exists = conn.execute("SELECT 1 FROM sqlite_master WHERE name = ? COLLATE NOCASE",
                              (MARK_TABLE,)).fetchone()
        if not exists:
            return False
        return conn.execute(f"SELECT 1 FROM [{MARK_TABLE}] LIMIT 1").fetchone() is not None
    except sqlite3.DatabaseError:
        return True


def is_private_file(path: str | os.PathLike) -> bool:
    """`is_private` of a database file, opened read-only; a file that is not a readable SQLite database is not
    private (the command that opens it next says what is wrong with it)."""
    from mouchard.storage.store import connect_readonly

    if not Path(path).is_file():
        return False
    try:
        conn = connect_readonly(path)
    except sqlite3.DatabaseError:
        return False
    try:
        conn.execute("SELECT 1 FROM sqlite_master LIMIT 1")
    except sqlite3.DatabaseError:
        conn.close()
        return False
    try:
        return is_private(conn)
    finally:
        conn.close()


def refuse_private(path: str | os.PathLike, action: str) -> None:
    """Raise PrivateDatabaseError when `path` is private: `action` ("publish", "merge") names what was refused."""
    if is_private_file(path):
        raise PrivateDatabaseError(
            f"{Path(path).name} is a private database (mouchard me): a person's own data is never "
            f"{PAST.get(action, action)}; "
            "use `mouchard me report` to read it on this machine")


def ensure_private_tables(store) -> None:
    """Create or complete the me_* tables of `store` (a mouchard.storage.store.Store)."""
    with store.transaction():
        for spec in PRIVATE_TABLES:
            store._ensure_table(spec)


def mark_private(store, person: dict, profile: dict | None = None, profile_file: str | None = None) -> int:
    """Make `store` private for `person` ({name, email, postal_address, country, region, language}) with the
    person's own values `profile` (a device profile's data); returns the me_person row id. Called again, it
    updates the one row."""
    from mouchard.storage.store import utcnow

    ensure_private_tables(store)
    row = {key: person.get(key) for key in PERSON_FIELDS}
    row["profile"] = json.dumps(profile or {}, ensure_ascii=False, sort_keys=True)
    row["profile_file"] = Path(profile_file).name if profile_file else None
    existing = store.conn.execute(f"SELECT id FROM [{MARK_TABLE}] ORDER BY id LIMIT 1").fetchone()
    if existing:
        store.update(MARK_TABLE, existing[0], row)
        return existing[0]
    row["created_at"] = utcnow()
    return store.insert(MARK_TABLE, row)


def person_row(conn: sqlite3.Connection) -> dict | None:
    """The me_person row as a dict (profile parsed), or None when the database is not private."""
    if not is_private(conn):
        return None
    from mouchard.storage.store import dict_rows

    row = dict_rows(conn, f"SELECT * FROM [{MARK_TABLE}] ORDER BY id LIMIT 1")[0]
    try:
        row["profile"] = json.loads(row.get("profile") or "{}")
    except ValueError:
        row["profile"] = {}
    return row
