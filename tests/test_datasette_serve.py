"""`mouchard serve`: which databases it accepts, immutable versus live reading, and serving from Python."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys
import threading
import urllib.request

import pytest

from data.datasette.client import SyncClient
from mouchard.errors import UserError
from mouchard.storage.schema import SCHEMA_VERSION
from mouchard.publishing.serve import ServeOptions, build_datasette, check_database, serve, wal_in_use
from mouchard.storage.store import Store


def test_missing_or_foreign_databases_are_one_line_errors(tmp_path):
    with pytest.raises(UserError, match="no database at"):
        check_database(tmp_path / "none.db")
    (tmp_path / "text.db").write_text("not sqlite at all, just text " * 100)
    with pytest.raises(UserError, match="not a usable SQLite database"):
        check_database(tmp_path / "text.db")
    sqlite3.connect(tmp_path / "other.db").execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(UserError, match="not a mouchard database"):
        check_database(tmp_path / "other.db")


def test_database_from_a_newer_mouchard_is_refused(tmp_path):
    Store(tmp_path / "m.db").close()
    conn = sqlite3.connect(tmp_path / "m.db")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(UserError, match="newer mouchard"):
        check_database(tmp_path / "m.db")


def test_a_database_still_being_written_is_read_live(tmp_path):
    path = tmp_path / "m.db"
    writer = Store(path)  # stays open, like a running crawl: its rows are in the write-ahead log
    writer.insert("visits", {"url": "https://a.example/", "site": "a.example", "phase": "initial", "status": "ok"})
    try:
        assert wal_in_use(path)
        live = SyncClient(build_datasette(path, live=True))
        try:
            assert [row["site"] for row in live.json("/mouchard/visits")] == ["a.example"]
        finally:
            live.close()
    finally:
        writer.close()
    assert not wal_in_use(path)


def test_serve_runs_from_python_until_stopped(tmp_path):
    path = tmp_path / "m.db"
    with Store(path) as store:
        store.insert("visits", {"url": "https://b.example/", "site": "b.example", "phase": "initial", "status": "ok"})
    ready, stop, urls = threading.Event(), threading.Event(), []
    thread = threading.Thread(target=serve, args=(ServeOptions(path, port=0),),
                              kwargs={"on_ready": lambda url: (urls.append(url), ready.set()), "stop": stop})
    thread.start()
    try:
        assert ready.wait(30), "server did not start"
        with urllib.request.urlopen(urls[0] + "mouchard/visits.json?_shape=array", timeout=10) as response:
            assert b"b.example" in response.read()
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive()


def test_a_busy_port_is_a_one_line_error(tmp_path):
    Store(tmp_path / "m.db").close()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        out = subprocess.run([sys.executable, "-m", "mouchard", "serve", "--db", str(tmp_path / "m.db"),
                              "--port", str(port)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert out.stderr.startswith(f"mouchard: cannot listen on 127.0.0.1:{port}") and "Traceback" not in out.stderr
