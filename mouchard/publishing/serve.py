"""Serve a mouchard database with Datasette, in process: read-only, immutable, with mouchard's metadata, questions,
templates and plugins from its Datasette files (package data: `mouchard.publishing.metadata.datasette_folder()`).

`serve(ServeOptions(...))` blocks until Ctrl-C, SIGTERM or SIGHUP (the `mouchard serve` and `mouchard demo`
commands call it); `build_datasette()` gives the configured Datasette instance for tests and other callers.
"""

from __future__ import annotations

import json
import socket
import sqlite3
import threading
import time
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mouchard.errors import UserError
from mouchard.lifecycle import StopSignals
from mouchard.publishing.metadata import CONFIG_DIR, DATABASE, build_metadata, table_metadata
from mouchard.storage.private import PrivateDatabaseError, is_private_file
from mouchard.storage.schema import PRIVATE_TABLES, SCHEMA_VERSION, TABLES
from mouchard.storage.store import connect_readonly

SETTINGS_FILE = CONFIG_DIR / "settings.json"


@dataclass(frozen=True)
class ServeOptions:
    """How to serve one database. `live` reads a file that is still being written (a running crawl) instead of
    trusting it immutable; it is chosen automatically when the database has an unfinished write-ahead log."""

    db: Path
    host: str = "127.0.0.1"
    port: int = 8001
    open_browser: bool = False
    sql_time_limit_ms: int | None = None
    live: bool = False

    @property
    def url(self) -> str:
        """Where a browser on this machine reaches the server (a wildcard address is reached on loopback)."""
        host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(self.host, self.host)
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}/"


def config_dir() -> Path:
    """mouchard's Datasette files (templates, plugins, queries, settings), checked: one line if they are missing."""
    if not (CONFIG_DIR / "plugins").is_dir() or not SETTINGS_FILE.is_file():
        raise UserError(f"mouchard's Datasette files are missing at {CONFIG_DIR}: reinstall mouchard (unzipped; its "
                        "wheel ships them)")
    return CONFIG_DIR


def datasette_settings(sql_time_limit_ms: int | None = None) -> dict:
    """mouchard's Datasette settings.json, with the time limit given on the command line."""
    settings = json.loads(SETTINGS_FILE.read_text(encoding="utf-8"))
    if sql_time_limit_ms is not None:
        settings["sql_time_limit_ms"] = sql_time_limit_ms
    return settings


def wal_in_use(db: Path) -> bool:
    """True if the database has committed pages still in its write-ahead log: an immutable reader would miss them
    (SQLite's immutable mode ignores the log), so the file must be read live."""
    wal = Path(f"{db}-wal")
    return wal.exists() and wal.stat().st_size > 0


def check_database(db: Path) -> None:
    """A clear error unless `db` is a mouchard database this version can show."""
    if not db.is_file():
        raise UserError(f"no database at {db}: run a crawl first or pass --db")
    try:
        conn = connect_readonly(db)
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise UserError(f"{db} is not a usable SQLite database: {exc}") from None
    if version > SCHEMA_VERSION:
        raise UserError(f"{db} was written by a newer mouchard (schema {version} > {SCHEMA_VERSION}): upgrade mouchard")
    missing = [t.name for t in TABLES if t.name not in tables]
    if missing:
        raise UserError(f"{db} lacks the tables {', '.join(missing[:5])}{'...' if len(missing) > 5 else ''}: it is "
                        "not a mouchard database, or an older one (any mouchard command that writes to it migrates it)")


def build_datasette(db: Path | str, *, live: bool = False, sql_time_limit_ms: int | None = None,
                    metadata: dict | None = None):
    """A Datasette serving `db` read-only under the name `mouchard`, immutable unless `live`."""
    from datasette.app import Datasette

    _quiet_error_pages()
    path = Path(db).resolve()
    folder = config_dir()
    kwargs = {"files": [str(path)]} if live else {"immutables": [str(path)]}
    if metadata is None:
        metadata = build_metadata()
        if is_private_file(path):  # a person's own database (on 127.0.0.1 only): its me_* tables described too
            metadata["databases"][DATABASE]["tables"].update(
                {table.name: table_metadata(table) for table in PRIVATE_TABLES})
    ds = Datasette(**kwargs, metadata=metadata,
                   template_dir=str(folder / "templates"), plugins_dir=str(folder / "plugins"),
                   settings=datasette_settings(sql_time_limit_ms), cors=False)
    # Datasette names a database after its file; our metadata, questions and robots.txt use one fixed name.
    name = next(name for name, database in ds.databases.items() if database.path == str(path))
    if name != DATABASE:
        database = ds.databases[name]
        ds.remove_database(name)
        ds.add_database(database, name=DATABASE)
    return ds


def _quiet_error_pages() -> None:
    """Datasette 0.65.5 prints every error page's traceback with its local variables through `rich` when rich is
    installed (mouchard depends on it): crawled values in the terminal, and a 500 instead of a 404 for unknown paths
    (rich refuses to print outside an `except` block). Without rich it just answers the error page."""
    import datasette.handle_exception

    datasette.handle_exception.rich = None


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise UserError(f"cannot listen on {host}:{port} ({exc.strerror}): pass another --port or --host") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def serve(options: ServeOptions, *, on_ready: Callable[[str], None] | None = None,
          stop: threading.Event | None = None) -> None:
    """Serve until interrupted, or until `stop` is set. `on_ready(url)` runs once the server accepts connections
    (default: print the URL)."""
    import asyncio

    import uvicorn

    db = Path(options.db)
    check_database(db)
    if is_private_file(db) and not _loopback(options.host):  # a person's own data: this machine only
        raise PrivateDatabaseError(f"{db.name} is a private database (mouchard me): it is served on 127.0.0.1 only, "
                                   f"not on {options.host}")
    live = options.live or wal_in_use(db)
    ds = build_datasette(db, live=live, sql_time_limit_ms=options.sql_time_limit_ms)
    asyncio.run(ds.invoke_startup())
    mode = "live: re-read as it changes" if live else "immutable"
    server = uvicorn.Server(uvicorn.Config(ds.app(), log_level="warning", lifespan="on"))
    # Stop signals are ours before the port opens (a stop as soon as it is reachable must count, even with SIGINT
    # inherited ignored); uvicorn handles SIGINT and SIGTERM while it runs and puts ours back after; ours add SIGHUP.
    signals = StopSignals(on_stop=lambda _signum: setattr(server, "should_exit", True)).install()
    sock = None
    try:
        sock = _listen(options.host, options.port)
        url = ServeOptions(db, options.host, sock.getsockname()[1]).url

        def announce() -> None:
            while not server.started and not server.should_exit:
                time.sleep(0.05)
            if server.started:
                (on_ready or (lambda u: print(f"mouchard: serving {db} read-only ({mode}) at {u} — Ctrl-C to stop",
                                              flush=True)))(url)
                if options.open_browser:
                    webbrowser.open(url)

        def watch_stop() -> None:
            stop.wait()
            server.should_exit = True

        threading.Thread(target=announce, name="mouchard-serve-ready", daemon=True).start()
        if stop is not None:
            threading.Thread(target=watch_stop, name="mouchard-serve-stop", daemon=True).start()
        server.run(sockets=[sock])
    finally:
        if sock is not None:
            sock.close()
        signals.restore()
