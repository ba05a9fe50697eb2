"""The store: schema creation, round-trips, transactions, migrations, provenance."""

import json
import sqlite3

import pytest

from mouchard.storage import schema
from mouchard.errors import UserError
from mouchard.storage.store import Store


def test_new_database_has_every_table_in_wal_mode(tmp_path):
    store = Store(tmp_path / "m.db")
    names = set(store.db.table_names())
    assert {t.name for t in schema.TABLES} <= names
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.version == schema.SCHEMA_VERSION


def test_visit_and_its_rows_round_trip_with_json_columns(tmp_path):
    store = Store(tmp_path / "m.db")
    crawl = store.start_crawl("web", config={"seed": 1}, network={"proxy": None})
    with store.transaction() as tx:
        visit = tx.insert("visits", {"crawl_id": crawl, "key": "https://a.example/|initial", "url": "https://a.example/",
                                     "tags": ["news", "fr"], "phase": "initial", "status": "ok"})
        body = tx.add_body(b"x" * 10, "text/plain")
        tx.insert_many("requests", [
            {"visit_id": visit, "url": "https://a.example/", "request_headers": {"Accept": "*/*"}},
            {"visit_id": visit, "url": "https://t.example/p", "post_body_sha256": body, "third_party": True},
        ])
    row = store.rows("SELECT * FROM visits")[0]
    assert json.loads(row["tags"]) == ["news", "fr"]
    requests = store.rows("SELECT * FROM requests ORDER BY id")
    assert json.loads(requests[0]["request_headers"]) == {"Accept": "*/*"}
    assert requests[1]["third_party"] == 1
    assert store.rows("SELECT size, truncated FROM bodies") == [{"size": 10, "truncated": 0}]
    crawl_row = store.rows("SELECT * FROM crawls")[0]
    assert crawl_row["status"] == "running" and json.loads(crawl_row["dependencies"])["python"]
    store.finish_crawl(crawl, summary={"visits": 1})
    assert store.rows("SELECT status FROM crawls")[0]["status"] == "finished"


def test_a_failed_visit_transaction_leaves_nothing(tmp_path):
    store = Store(tmp_path / "m.db")
    crawl = store.start_crawl("web")
    with pytest.raises(RuntimeError):
        with store.transaction() as tx:
            visit = tx.insert("visits", {"crawl_id": crawl, "key": "k", "url": "https://a.example/"})
            tx.insert("requests", {"visit_id": visit, "url": "https://a.example/"})
            raise RuntimeError("browser crashed mid-write")
    assert store.count("visits") == 0 and store.count("requests") == 0


def test_visit_keys_are_unique_per_crawl(tmp_path):
    store = Store(tmp_path / "m.db")
    crawl = store.start_crawl("web")
    store.insert("visits", {"crawl_id": crawl, "key": "k", "url": "u"})
    with pytest.raises(sqlite3.IntegrityError):
        store.insert("visits", {"crawl_id": crawl, "key": "k", "url": "u"})


def test_unknown_column_is_refused(tmp_path):
    store = Store(tmp_path / "m.db")
    with pytest.raises(KeyError, match="no column"):
        store.insert("visits", {"nonsense": 1})


def test_large_bodies_are_cut_but_hashed_whole(tmp_path):
    store = Store(tmp_path / "m.db")
    with store.transaction() as tx:
        digest = tx.add_body(b"a" * 1_000_000)
    row = store.rows("SELECT size, length(content) AS kept, truncated FROM bodies WHERE sha256 = ?", [digest])[0]
    assert row == {"size": 1_000_000, "kept": 256 * 1024, "truncated": 1}


def test_old_database_is_migrated_with_new_columns_and_tables(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE visits (id INTEGER PRIMARY KEY, crawl_id INTEGER, url TEXT)")
    conn.execute("INSERT INTO visits (crawl_id, url) VALUES (1, 'https://kept.example/')")
    conn.execute("PRAGMA user_version = 0")
    conn.commit()
    conn.close()
    store = Store(path)
    columns = {c.name for c in store.db["visits"].columns}
    assert {c.name for c in schema.table("visits").columns} <= columns
    assert store.rows("SELECT url FROM visits") == [{"url": "https://kept.example/"}]
    assert "cookies" in store.db.table_names()
    assert store.version == schema.SCHEMA_VERSION


def test_explicit_migration_runs_once(tmp_path, monkeypatch):
    from mouchard.storage import store as store_module

    path = tmp_path / "m.db"
    Store(path).close()
    calls = []
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", schema.SCHEMA_VERSION + 1)
    monkeypatch.setitem(store_module.MIGRATIONS, schema.SCHEMA_VERSION + 1, lambda conn: calls.append(1))
    assert Store(path).version == schema.SCHEMA_VERSION + 1
    Store(path).close()
    assert calls == [1]


def test_newer_database_is_refused_with_one_line(tmp_path):
    path = tmp_path / "m.db"
    Store(path).conn.execute("PRAGMA user_version = 999")
    with pytest.raises(UserError, match="newer mouchard"):
        Store(path)


def test_not_a_database_is_a_user_error(tmp_path):
    path = tmp_path / "m.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(UserError, match="not a usable SQLite database"):
        Store(path)


def test_evidence_files_are_hashed(tmp_path):
    store = Store(tmp_path / "m.db")
    shot = tmp_path / "ev" / "shot.png"
    shot.parent.mkdir()
    shot.write_bytes(b"\x89PNG fake")
    file_id = store.add_evidence_file(shot, "screenshot", root=tmp_path / "ev")
    row = store.rows("SELECT * FROM evidence_files WHERE id = ?", [file_id])[0]
    assert row["path"] == "shot.png" and row["media_type"] == "image/png" and len(row["sha256"]) == 64


def test_crawls_carry_tracker_list_versions(tmp_path):
    store = Store(tmp_path / "m.db")
    store.insert("tracker_lists", {"name": "easylist", "version": "1", "sha256": "a" * 64, "licence": "GPL-3.0"})
    store.insert("tracker_lists", {"name": "easylist", "version": "2", "sha256": "b" * 64, "licence": "GPL-3.0"})
    crawl = store.start_crawl("web")
    lists = json.loads(store.rows("SELECT tracker_lists FROM crawls WHERE id = ?", [crawl])[0]["tracker_lists"])
    assert [(x["name"], x["version"]) for x in lists] == [("easylist", "2")]
