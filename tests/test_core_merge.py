"""`mouchard merge`: shards written with mouchard.storage.store combined without duplicates, links rewritten, re-runnable."""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mouchard.storage import schema
from mouchard.errors import UserError
from mouchard.storage.idmap import IdMap, copy_order
from mouchard.storage.merge import merge, origin
from mouchard.storage.store import Store

RUN = "run-7f3a"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40


def start_worker_crawl(store: Store, worker: str, run: str | None = RUN) -> int:
    config = {"phases": ["initial"], "distributed": {"run": run, "worker": worker}} if run else {"phases": ["initial"]}
    return store.start_crawl("web", config=config, shard=worker if run else None, command=["mouchard", "worker"])


def add_visit(store: Store, crawl: int, site: str, *, worker: str = "w1", parent: int | None = None,
              screenshot: str | None = None, screenshot_bytes: bytes = PNG, path: str = "/") -> int:
    """One visit shaped like the browser crawl's: a redirect, a tracker request with a body, a cookie it set,
    an id sync, consent with a banner screenshot, and a finding pointing at the rows."""
    url = f"https://www.{site}{path}"
    evidence = Path(f"{store.path}.evidence")
    with store.transaction() as tx:
        visit = tx.insert("visits", {"crawl_id": crawl, "key": f"{url}|initial", "url": url, "site": site,
                                     "phase": "initial", "status": "ok", "title": f"Home of {site}", "worker": worker,
                                     "parent_visit_id": parent, "depth": 1 if parent else 0, "attempt": 1})
        first = tx.insert("requests", {"visit_id": visit, "url": f"http://www.{site}{path}", "status": 301,
                                       "resource_type": "document"})
        tx.insert("requests", {"visit_id": visit, "url": url, "status": 200, "redirect_from_id": first,
                                     "resource_type": "document"})
        body = tx.add_body(f'{{"uid": "{site}"}}'.encode(), "application/json")
        pixel = tx.insert("requests", {"visit_id": visit, "url": "https://px.tracker.example/p?uid=1",
                                       "post_body_sha256": body, "third_party": 1, "tracker_entity": "Tracker Inc"})
        cookie = tx.insert("cookies", {"visit_id": visit, "name": "uid", "value": "abc123", "request_id": pixel,
                                       "domain": ".tracker.example"})
        tx.insert("id_syncs", {"visit_id": visit, "request_id": pixel, "cookie_id": cookie, "from_site": "tracker.example",
                               "to_site": "sync.example"})
        tx.insert_many("storage_items", [{"visit_id": visit, "origin": url, "kind": "local", "name": f"k{i}"}
                                         for i in range(3)])
        file_id = None
        if screenshot:
            target = evidence / screenshot
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(screenshot_bytes)
            file_id = store.add_evidence_file(target, "banner", root=evidence, crawl_id=crawl, visit_id=visit, tx=tx)
        tx.insert("consent", {"visit_id": visit, "phase": "initial", "framework": "tcf", "screenshot_file_id": file_id})
        evidence_refs = [{"table": "cookies", "id": cookie}, {"table": "requests", "id": pixel}]
        if file_id:
            evidence_refs.append({"table": "evidence_files", "id": file_id})
        tx.insert("findings", {"crawl_id": crawl, "visit_id": visit, "rule_id": "cookie-before-consent",
                               "subject": site, "evidence": evidence_refs})
    return visit


def shard(tmp_path: Path, name: str, sites: list[str], run: str | None = RUN, **kw) -> Path:
    path = tmp_path / f"{name}.db"
    with Store(path) as store:
        crawl = start_worker_crawl(store, name, run)
        store.insert("tracker_lists", {"name": "mouchard", "version": "1", "sha256": "ab" * 32, "licence": "MIT",
                                       "entries": 10, "fetched_at": "2025-01-01T00:00:00Z"})
        for site in sites:
            add_visit(store, crawl, site, worker=name, screenshot=f"banners/{site}.png", **kw)
    return path


def rows(db: Path, sql: str, params=()) -> list[dict]:
    with Store(db, create=False) as store:
        return store.rows(sql, params)


def test_tables_are_copied_after_every_table_they_reference():
    order = [t.name for t in copy_order()]
    assert sorted(order) == sorted(t.name for t in schema.TABLES)
    for spec in schema.TABLES:
        for column in spec.columns:
            if column.references and column.references.split(".")[0] != spec.name:
                assert order.index(column.references.split(".")[0]) < order.index(spec.name), (spec.name, column.name)


def test_id_map_keeps_ranges_and_finds_every_id():
    m = IdMap()
    for src, dst in [(1, 10), (2, 11), (3, 12), (5, 13), (6, 14), (9, 40)]:
        m.add(src, dst)
    assert m.ranges == [[1, 3, 10], [5, 6, 13], [9, 9, 40]]
    assert [m.get(i) for i in range(0, 11)] == [None, 10, 11, 12, None, 13, 14, None, None, 40, None]


def test_shards_of_one_run_become_one_crawl_without_duplicate_visits(tmp_path):
    a = shard(tmp_path, "w1", ["a.example", "b.example", "c.example"])
    b = shard(tmp_path, "w2", ["c.example", "d.example"])  # c.example: retried after its lease expired
    result = merge([a, b], tmp_path / "all.db")
    into = tmp_path / "all.db"
    crawls = rows(into, "SELECT * FROM crawls WHERE kind = 'web'")
    assert len(crawls) == 1
    run = crawls[0]
    assert run["shard"] == "w1,w2" and json.loads(run["config"])["distributed"] == {"run": RUN}
    assert [s["shard"] for s in json.loads(run["summary"])["shards"]] == ["w1", "w2"]
    visits = rows(into, "SELECT key, crawl_id, worker FROM visits ORDER BY key")
    assert [v["key"] for v in visits] == [f"https://www.{s}.example/|initial" for s in "abcd"]
    assert {v["crawl_id"] for v in visits} == {run["id"]}
    assert [v["worker"] for v in visits] == ["w1", "w1", "w1", "w2"]  # provenance: the first copy is kept
    assert result.shards[1].duplicates == {"visits": 1, "bodies": 1}
    # nothing of the duplicate came along: 3 requests, 1 cookie, 1 finding... per visit kept
    assert rows(into, "SELECT count(*) AS n FROM requests")[0]["n"] == 4 * 3
    assert rows(into, "SELECT count(*) AS n FROM findings")[0]["n"] == 4
    assert rows(into, "SELECT count(*) AS n FROM evidence_files")[0]["n"] == 4
    assert rows(into, "SELECT count(*) AS n FROM tracker_lists")[0]["n"] == 1  # the same list version, once
    assert result.shards[1].skipped["requests"] == 3


def test_workers_that_started_at_the_same_instant_are_two_shards(tmp_path):
    """`crawl --workers` starts every worker's crawl row on one host at one instant, each with row id 1."""
    a = shard(tmp_path, "w1", ["a.example"])
    b = shard(tmp_path, "w2", ["b.example", "c.example"])
    for path in (a, b):
        conn = sqlite3.connect(path)
        conn.execute("UPDATE crawls SET host = 'vm', started_at = '2026-11-22T20:56:51.755Z'")
        conn.commit()
        conn.close()
    into = tmp_path / "all.db"
    result = merge([a, b], into)
    assert [s.visits for s in result.shards] == [1, 2]
    visits = rows(into, "SELECT v.key, count(r.id) AS requests FROM visits v JOIN requests r ON r.visit_id = v.id "
                        "GROUP BY v.id ORDER BY v.key")
    assert visits == [{"key": f"https://www.{s}.example/|initial", "requests": 3} for s in "abc"]


def test_every_link_points_at_the_merged_copy_of_its_row(tmp_path):
    a = shard(tmp_path, "w1", ["a.example"])
    b = tmp_path / "w2.db"
    with Store(b) as store:
        crawl = start_worker_crawl(store, "w2")
        landing = add_visit(store, crawl, "b.example", worker="w2", screenshot="banners/b.png")
        add_visit(store, crawl, "b.example", worker="w2", parent=landing, path="/about")
    into = tmp_path / "all.db"
    merge([a, b], into)
    conn = sqlite3.connect(into)
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    # each cookie's setter request, each redirect, each sync belong to the same visit as the row itself
    assert conn.execute("SELECT count(*) FROM cookies c JOIN requests r ON r.id = c.request_id "
                        "WHERE r.visit_id != c.visit_id OR r.url NOT LIKE 'https://px.tracker.example/%'").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM requests r JOIN requests f ON f.id = r.redirect_from_id "
                        "WHERE f.visit_id != r.visit_id OR f.status != 301").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM requests WHERE status = 200 AND redirect_from_id IS NULL").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM id_syncs s JOIN cookies c ON c.id = s.cookie_id "
                        "JOIN requests r ON r.id = s.request_id WHERE c.visit_id != s.visit_id "
                        "OR r.visit_id != s.visit_id").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM requests r LEFT JOIN bodies b ON b.sha256 = r.post_body_sha256 "
                        "WHERE r.post_body_sha256 IS NOT NULL AND b.sha256 IS NULL").fetchone()[0] == 0
    about = conn.execute("SELECT v.parent_visit_id, p.url FROM visits v JOIN visits p ON p.id = v.parent_visit_id "
                         "WHERE v.url LIKE '%/about'").fetchone()
    assert about[1] == "https://www.b.example/"
    consent = conn.execute("SELECT e.path, e.visit_id, c.visit_id FROM consent c JOIN evidence_files e "
                           "ON e.id = c.screenshot_file_id").fetchall()
    assert sorted(p for p, _, _ in consent) == ["banners/a.example.png", "banners/b.png"]
    assert all(ev == cv for _, ev, cv in consent)
    for visit_id, evidence in conn.execute("SELECT visit_id, evidence FROM findings"):
        refs = json.loads(evidence)
        for ref in refs:
            (row_visit,) = conn.execute(f"SELECT visit_id FROM {ref['table']} WHERE id = ?", [ref["id"]]).fetchone()
            assert row_visit == visit_id, ref


def test_merging_again_copies_only_what_the_shards_added(tmp_path):
    a = shard(tmp_path, "w1", ["a.example", "b.example"])
    into = tmp_path / "all.db"
    first = merge([a], into)
    assert first.shards[0].visits == 2
    again = merge([a], into)
    assert again.shards[0].copied == {} and again.shards[0].crawls_updated == 0
    assert len(rows(into, "SELECT id FROM crawls WHERE kind = 'merge'")) == 1  # a pass that did nothing leaves no row
    with Store(a) as store:
        add_visit(store, 1, "c.example", screenshot="banners/c.png")
        store.finish_crawl(1, summary={"visits": 3, "ok": 3})
    later = merge([a], into)
    assert later.shards[0].visits == 1 and later.shards[0].crawls_updated == 1
    assert later.shards[0].copied["requests"] == 3
    assert [r["key"] for r in rows(into, "SELECT key FROM visits ORDER BY id")] == [
        f"https://www.{s}.example/|initial" for s in "abc"]
    run = rows(into, "SELECT status, finished_at, summary FROM crawls WHERE kind = 'web'")[0]
    assert run["status"] == "finished" and run["finished_at"]
    assert json.loads(run["summary"])["visits"] == 3
    conn = sqlite3.connect(into)
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    counts = {t.name: conn.execute(f"SELECT count(*) FROM [{t.name}]").fetchone()[0] for t in schema.TABLES}
    merge([a], into)
    assert counts == {t.name: conn.execute(f"SELECT count(*) FROM [{t.name}]").fetchone()[0] for t in schema.TABLES}


def test_run_is_running_until_every_shard_has_finished(tmp_path):
    a = shard(tmp_path, "w1", ["a.example"])
    b = shard(tmp_path, "w2", ["b.example"])
    with Store(a) as store:
        store.finish_crawl(1, summary={"visits": 1})
    into = tmp_path / "all.db"
    merge([a, b], into)
    run = rows(into, "SELECT status, finished_at FROM crawls WHERE kind = 'web'")[0]
    assert run == {"status": "running", "finished_at": None}
    with Store(b) as store:
        store.finish_crawl(1, summary={"visits": 1})
    merge([b], into)  # one shard at a time: the run keeps the other shard's state
    run = rows(into, "SELECT status, finished_at, summary FROM crawls WHERE kind = 'web'")[0]
    assert run["status"] == "finished" and run["finished_at"]
    summary = json.loads(run["summary"])
    assert summary["visits"] == 2 and [s["status"] for s in summary["shards"]] == ["finished", "finished"]
    assert summary["visits_merged"] == 2


def test_a_killed_shard_still_counts_in_its_run(tmp_path):
    a = shard(tmp_path, "w1", ["a.example", "b.example"])  # killed: its crawl row says running, no summary
    b = shard(tmp_path, "w2", ["c.example"])
    with Store(b) as store:
        store.finish_crawl(1, summary={"visits": 1})
    into = tmp_path / "all.db"
    merge([a, b], into)
    run = rows(into, "SELECT status, summary FROM crawls WHERE kind = 'web'")[0]
    summary = json.loads(run["summary"])
    assert run["status"] == "running" and summary["visits"] == 1 and summary["visits_merged"] == 3


def test_crawls_of_separate_machines_stay_separate_with_their_shard_named(tmp_path):
    a = shard(tmp_path, "paris", ["a.example"], run=None)
    b = shard(tmp_path, "berlin", ["a.example"], run=None)
    into = tmp_path / "all.db"
    merge([a, b], into)
    crawls = rows(into, "SELECT id, shard FROM crawls WHERE kind = 'web' ORDER BY id")
    assert [c["shard"] for c in crawls] == ["paris", "berlin"]
    # the same site visited by two independent crawls: two facts, both kept
    assert [v["crawl_id"] for v in rows(into, "SELECT crawl_id FROM visits ORDER BY id")] == [c["id"] for c in crawls]


def test_evidence_files_are_copied_and_a_clashing_path_moves_under_the_shard(tmp_path):
    a = shard(tmp_path, "w1", ["a.example"])
    b = shard(tmp_path, "w2", ["a.example", "b.example"], run="other-run", screenshot_bytes=PNG + b"w2")
    into = tmp_path / "all.db"
    result = merge([a, b], into)
    assert result.shards[0].files == {"copied": 1}
    assert result.shards[1].files == {"copied": 2, "renamed": 1}
    folder = Path(f"{into}.evidence")
    for row in rows(into, "SELECT path, sha256 FROM evidence_files"):
        assert hashlib.sha256((folder / row["path"]).read_bytes()).hexdigest() == row["sha256"], row["path"]
    paths = sorted(r["path"] for r in rows(into, "SELECT path FROM evidence_files"))
    assert paths[:2] == ["banners/a.example.png", "banners/b.example.png"]
    # the clashing copy goes under a folder named by a hash of the shard's identity, never the shard's own text
    assert re.fullmatch(r"shards/[0-9a-f]{16}/banners/a\.example\.png", paths[2]), paths


def test_a_missing_evidence_file_is_counted_and_the_row_kept(tmp_path):
    a = shard(tmp_path, "w1", ["a.example"])
    (Path(f"{a}.evidence") / "banners" / "a.example.png").unlink()
    result = merge([a], tmp_path / "all.db")
    assert result.shards[0].files == {"missing": 1}
    assert rows(tmp_path / "all.db", "SELECT count(*) AS n FROM evidence_files")[0]["n"] == 1


def test_a_visit_still_being_written_is_merged_by_the_next_pass(tmp_path):
    a = shard(tmp_path, "w1", ["a.example"])
    into = tmp_path / "all.db"
    writer = Store(a)
    with writer.transaction():
        add_visit(writer, 1, "b.example")  # the worker's transaction is still open while we merge
        assert merge([a], into).shards[0].visits == 1
    assert merge([a], into).shards[0].visits == 1
    writer.close()
    assert len(rows(into, "SELECT id FROM visits")) == 2


def test_origin_names_the_shard_and_id_of_a_merged_row(tmp_path):
    a = shard(tmp_path, "w1", ["a.example", "b.example"])
    b = shard(tmp_path, "w2", ["b.example", "c.example"])
    into = tmp_path / "all.db"
    merge([a, b], into)
    with Store(into) as store:
        c = store.rows("SELECT id FROM visits WHERE site = 'c.example'")[0]["id"]
        b_id = store.rows("SELECT id FROM visits WHERE site = 'b.example'")[0]["id"]
        assert origin(store, "visits", c) == [("w2", 2)]
        assert origin(store, "visits", b_id) == [("w1", 2), ("w2", 1)]  # the copy kept, and its duplicate


def test_bad_inputs_are_one_line_errors(tmp_path):
    a = shard(tmp_path, "w1", ["a.example"])
    with pytest.raises(UserError, match="not found"):
        merge([tmp_path / "nope.db"], tmp_path / "all.db")
    with pytest.raises(UserError, match="into itself"):
        merge([a], a)
    junk = tmp_path / "junk.db"
    junk.write_text("not a database")
    with pytest.raises(UserError, match="not a usable SQLite database|not a mouchard database"):
        merge([junk], tmp_path / "all.db")
    out = subprocess.run([sys.executable, "-m", "mouchard", "merge", str(junk), "--into", str(tmp_path / "x.db")],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and "Traceback" not in out.stderr and out.stderr.count("\n") == 2


def test_command_line_merges_and_says_what_it_did(tmp_path):
    a = shard(tmp_path, "w1", ["a.example", "b.example"])
    b = shard(tmp_path, "w2", ["b.example"])
    out = subprocess.run([sys.executable, "-m", "mouchard", "merge", str(a), str(b), "--into", str(tmp_path / "m.db")],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "w1: 2 visits" in out.stdout and "1 duplicate visits left out" in out.stdout
    assert "2 visits merged into" in out.stdout


def brokers_base(path: Path) -> None:
    """A database with a registry snapshot of two brokers, as `mouchard brokers fetch` leaves it."""
    with Store(path) as store:
        fetch = store.start_crawl("brokers-fetch", config={"registry": "ca"})
        store.finish_crawl(fetch, summary={"snapshots": 1})
        with store.transaction() as tx:
            snapshot = tx.insert("registry_snapshots", {"crawl_id": fetch, "registry": "ca", "year": 2025, "rows": 2})
            for name in ("Acme Data", "Brokerly"):
                broker = tx.insert("brokers", {"snapshot_id": snapshot, "registry": "ca", "name": name,
                                               "key": name.lower(), "website": f"https://{name.split()[0].lower()}.example"})
                tx.insert("broker_metrics", {"broker_id": broker, "request_type": "delete", "measure": "received",
                                             "value": 10})


def add_broker_pages(path: Path, worker: str, broker_ids: list[int]) -> None:
    with Store(path) as store:
        crawl = store.start_crawl("brokers-crawl", config={"distributed": {"run": "brokers-run", "worker": worker}},
                                  shard=worker)
        for broker_id in broker_ids:
            store.insert("broker_pages", {"crawl_id": crawl, "broker_id": broker_id, "kind": "home", "status": "ok",
                                          "url": f"https://broker{broker_id}.example/"})
        store.finish_crawl(crawl, summary={"pages": len(broker_ids)})


@pytest.mark.parametrize("into_base", [True, False], ids=["into the base", "into a new database"])
def test_shards_copied_from_one_base_database_share_its_rows(tmp_path, into_base):
    base = tmp_path / "brokers.db"
    brokers_base(base)
    shards = []
    for n, ids in ((1, [1]), (2, [2])):
        shard_path = tmp_path / f"w{n}.db"
        shard_path.write_bytes(base.read_bytes())
        add_broker_pages(shard_path, f"w{n}", ids)
        shards.append(shard_path)
    into = base if into_base else tmp_path / "all.db"
    result = merge(shards, into)
    assert rows(into, "SELECT count(*) AS n FROM brokers")[0]["n"] == 2
    assert rows(into, "SELECT count(*) AS n FROM broker_metrics")[0]["n"] == 2
    assert [r["kind"] for r in rows(into, "SELECT kind FROM crawls WHERE kind != 'merge' ORDER BY id")] == [
        "brokers-fetch", "brokers-crawl"]
    pages = rows(into, "SELECT p.url, b.name FROM broker_pages p JOIN brokers b ON b.id = p.broker_id ORDER BY p.url")
    assert pages == [{"url": "https://broker1.example/", "name": "Acme Data"},
                     {"url": "https://broker2.example/", "name": "Brokerly"}]
    assert result.shards[1].matched["brokers"] == 2
    assert sqlite3.connect(into).execute("PRAGMA foreign_key_check").fetchall() == []


# -- hostile shards: data never becomes a path ---------------------------------------------------------------------

ATTACKER_KEY = b"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAttackerKey attacker@evil\n"


def hostile(tmp_path: Path, name: str, *, shard_name: str | None = None, path: str | None = None,
            data: bytes = ATTACKER_KEY, symlink_to: Path | None = None, sha256: str | None = None) -> Path:
    """A shard whose `crawls.shard` and first evidence row say what an attacker wants."""
    db = shard(tmp_path, name, ["a.example"], run=f"run-{name}")
    evidence = Path(f"{db}.evidence")
    conn = sqlite3.connect(db)
    with conn:
        if shard_name is not None:
            conn.execute("UPDATE crawls SET shard = ?", [shard_name])
        if path is not None:
            if not path.startswith("/") and ".." not in path:
                target = evidence / path
                target.parent.mkdir(parents=True, exist_ok=True)
                target.unlink(missing_ok=True)
                if symlink_to is not None:
                    target.symlink_to(symlink_to)
                else:
                    target.write_bytes(data)
            conn.execute("UPDATE evidence_files SET path = ?, sha256 = ?",
                         [path, sha256 or hashlib.sha256(data).hexdigest()])
    conn.close()
    return db


def files_outside(root: Path, allowed: Path) -> set[str]:
    """Files under `root` outside `allowed`, but the SQLite sidecars a read of a shard leaves (-wal, -shm)."""
    return {p.relative_to(root).as_posix() for p in root.rglob("*")
            if not p.is_dir() and not p.is_relative_to(allowed) and not re.fullmatch(r"w\d\.db-(wal|shm)", p.name)}


@pytest.mark.parametrize("shard_name", ["../../.ssh", "ABSOLUTE", "..", "a/../../../b"])
def test_a_shard_name_never_becomes_a_folder(tmp_path, shard_name):
    home = tmp_path / "home"
    (home / "m").mkdir(parents=True)
    if shard_name == "ABSOLUTE":  # an absolute name, kept inside tmp_path: a failing run must not touch the machine
        shard_name = str(home / ".ssh")
    into = home / "m" / "all.db"
    first = hostile(tmp_path, "w1", path="authorized_keys", data=b"the merged database's own file\n")
    evil = hostile(tmp_path, "w2", shard_name=shard_name, path="authorized_keys")  # clashes with the first
    before = files_outside(tmp_path, Path(f"{into}.evidence"))
    result = merge([first, evil], into)
    assert not (home / ".ssh").exists()
    new = files_outside(tmp_path, Path(f"{into}.evidence")) - before
    assert all(n.startswith("home/m/all.db") for n in new), new  # only the database (and its -wal/-shm)
    assert result.shards[1].files == {"copied": 1, "renamed": 1}
    path = rows(into, "SELECT path FROM evidence_files ORDER BY id")[-1]["path"]
    assert re.fullmatch(r"shards/[0-9a-f]{16}/authorized_keys", path)
    assert (Path(f"{into}.evidence") / path).read_bytes() == ATTACKER_KEY  # kept as evidence, inside the folder


@pytest.mark.parametrize("path", ["/etc/hostname", "SECRET", "../../secret.txt", "banners/../../../secret.txt"])
def test_evidence_paths_outside_the_shard_folder_are_refused_and_recorded(tmp_path, path):
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"TOP SECRET local file")
    path = str(secret) if path == "SECRET" else path
    evil = hostile(tmp_path, "w1", path=path, data=secret.read_bytes()
                   if path != "/etc/hostname" else b"", sha256=None)
    into = tmp_path / "m" / "all.db"
    into.parent.mkdir()
    result = merge([evil], into)
    assert result.shards[0].files == {"refused": 1}
    folder = Path(f"{into}.evidence")
    assert not folder.exists() or not any(p.is_file() and b"SECRET" in p.read_bytes() for p in folder.rglob("*"))
    failures = rows(into, "SELECT component, kind, detail FROM failures")
    assert [(f["component"], f["kind"]) for f in failures] == [("merge", "unsafe-path")]
    merge_row = rows(into, "SELECT summary FROM crawls WHERE kind = 'merge'")[0]
    assert json.loads(merge_row["summary"])["files"] == {"refused": 1}


def test_symlinked_evidence_is_refused(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_bytes(ATTACKER_KEY)
    evil = hostile(tmp_path, "w1", path="banners/a.example.png", symlink_to=secret)
    into = tmp_path / "all.db"
    assert merge([evil], into).shards[0].files == {"refused": 1}
    assert not (Path(f"{into}.evidence") / "banners" / "a.example.png").exists()


def test_a_file_whose_bytes_differ_from_its_row_is_not_copied(tmp_path):
    evil = hostile(tmp_path, "w1", path="banners/x.png", sha256="0" * 64)
    into = tmp_path / "all.db"
    assert merge([evil], into).shards[0].files == {"mismatched": 1}
    assert not (Path(f"{into}.evidence") / "banners" / "x.png").exists()


HOSTILE_TEXT = st.lists(st.sampled_from(["a", "b", ".", "/", "\\", "\x00", "\n", "~", "..", "/etc", ".ssh", "x"]),
                        max_size=10).map("".join)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(shard_name=HOSTILE_TEXT, path=st.one_of(st.just("x"), HOSTILE_TEXT))  # "x": clashes with the base's file
def test_no_hostile_shard_writes_outside_the_evidence_folder(tmp_path_factory, shard_name, path):
    root = tmp_path_factory.mktemp("hostile")
    # A run on broken code must not write on the machine: absolute names are re-rooted in tmp, and the target sits
    # deeper than 10 `..` (the most HOSTILE_TEXT can hold) can climb.
    shard_name = str(root) + shard_name if shard_name.startswith("/") else shard_name
    path = str(root) + path if path.startswith("/") else path
    base = hostile(root, "w1", path="x", data=b"first")
    evil = shard(root, "w2", ["a.example"], run="run-evil")
    (Path(f"{evil}.evidence") / "x").write_bytes(ATTACKER_KEY)
    conn = sqlite3.connect(evil)
    with conn:
        conn.execute("UPDATE crawls SET shard = ?", [shard_name])
        conn.execute("UPDATE evidence_files SET path = ?, sha256 = ?", [path, hashlib.sha256(ATTACKER_KEY).hexdigest()])
    conn.close()
    deep = root.joinpath(*["d"] * 12)
    deep.mkdir(parents=True)
    into = deep / "all.db"
    before = files_outside(root, Path(f"{into}.evidence"))
    try:
        merge([base, evil], into)
    except UserError:
        pass
    new = files_outside(root, Path(f"{into}.evidence")) - before
    assert all(n.startswith("d/" * 12 + "all.db") for n in new), new
