"""Combine SQLite shards (one per worker of a distributed crawl) into one database, without duplicate visits.

Everything is derived from `mouchard.storage.schema`; no table is listed by hand:
- tables are copied parents first, in the order of their foreign keys (`Column.references`), and every foreign
  key is rewritten through the id map of the table it references; so are the links the schema cannot declare:
  `findings.evidence` (`[{table, id}]` JSON), and bodies, which are content-addressed (copied once by SHA-256);
- crawls: the crawl rows of one distributed run (same `config.distributed.run`) become one crawl row whose
  `shard` lists the shards and whose summary keeps each shard's own row (host, status, browser version...);
  any other crawl row is copied as it is, with `shard` naming the shard it came from;
- a row whose unique key (`Table.unique`: a visit's crawl and key) is already in the target is a duplicate (a
  visit retried after its lease expired, two shards of one run): it is not copied, nor is anything that belongs
  to it (its requests, cookies, findings...), and rows of the same table pointing at it (`parent_visit_id`)
  point at the copy kept; rows of a table without foreign keys or unique key that equal an existing row
  (the same tracker list version fetched by two workers) are the same fact, mapped to it;
- evidence files are copied from `<shard>.evidence/` to `<into>.evidence/`, at the same relative path, or under
  `shards/<shard id>/` when a different file already holds that path (`<shard id>`: a hash of the shard's
  identity, never text from the shard). Paths from the shard go through `mouchard.paths`: a path that is absolute,
  holds `..` or an odd character, or reaches a symlink or special file is refused; a file is copied only when its
  bytes match the row's SHA-256. A file not copied is counted (`files`: missing, mismatched, refused) and each
  refusal is a `failures` row; its row is kept with the shard's path, which readers check the same way.

Idempotence: each shard is merged in one transaction, reading one consistent snapshot of it (a worker may keep
writing). The transaction also writes a `crawls` row of kind `merge` whose summary holds the id map of that pass
(ranges `[first, last, target first]` per table, duplicates as `[id, target id]`) and the highest rowid seen per
table; the next merge of the same shard reads those rows and copies only rows added since. Rows are never
deleted from a shard, so new rows have higher rowids. (Derived tables rebuilt in a shard after a merge are not
merged again: re-derive them on the merged database with `mouchard classify` / `mouchard audit`.)
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sqlite3
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mouchard import __version__
from mouchard.errors import UserError
from mouchard.storage.idmap import IdMap, copy_order, foreign_keys
from mouchard.paths import UnsafePath, check_relative, copy_verified, hash_inside
from mouchard.storage.private import is_private_file, refuse_private
from mouchard.storage.schema import SCHEMA_VERSION, TABLES, Table
from mouchard.storage.store import Store, connect_readonly, evidence_dir, utcnow

BATCH = 5000  # rows per executemany
MERGE_KIND = "merge"
# Links held in JSON that the schema cannot declare as foreign keys: (table, column) -> JSON list of {table, id}.
JSON_REFS = {("findings", "evidence")}
STATUS_ORDER = ("running", "failed", "interrupted", "finished")  # a run's status is its shards' first in this order

Progress = Callable[[str], None]


# --- results --------------------------------------------------------------------------------------------------

@dataclass
class ShardResult:
    """What merging one shard did: rows copied and left out per table, evidence files."""

    path: str
    name: str
    copied: dict[str, int] = field(default_factory=dict)
    duplicates: dict[str, int] = field(default_factory=dict)  # rows already in the target (same unique key)
    skipped: dict[str, int] = field(default_factory=dict)  # rows belonging to a duplicate
    matched: dict[str, int] = field(default_factory=dict)  # rows already in the target (a shared base database)
    unresolved: dict[str, int] = field(default_factory=dict)  # links (self-references, JSON refs) set to nothing
    files: dict[str, int] = field(default_factory=dict)  # copied, present, renamed, missing, mismatched
    crawls_updated: int = 0

    def count(self, what: dict[str, int], table: str, n: int = 1) -> None:
        what[table] = what.get(table, 0) + n

    @property
    def visits(self) -> int:
        return self.copied.get("visits", 0)

    def as_summary(self) -> dict:
        return {"copied": self.copied, "duplicates": self.duplicates, "skipped": self.skipped, "matched": self.matched,
                "unresolved": self.unresolved, "files": self.files, "crawls_updated": self.crawls_updated}


@dataclass
class MergeResult:
    into: str
    shards: list[ShardResult] = field(default_factory=list)

    def total(self, what: str, table: str) -> int:
        return sum(getattr(s, what).get(table, 0) for s in self.shards)


# --- the merge --------------------------------------------------------------------------------------------------

def merge(shards: Sequence[str | os.PathLike], into: str | os.PathLike, *, progress: Progress | None = None,
          command: list[str] | None = None) -> MergeResult:
    """Merge each shard into the database `into` (created if needed); safe to repeat as shards grow."""
    into_path = Path(into).resolve()
    paths = [Path(s) for s in shards]
    if not paths:
        raise UserError("merge: name at least one shard database")
    for path in paths:
        if not path.is_file():
            raise UserError(f"shard not found: {path}")
        if path.resolve() == into_path:
            raise UserError(f"cannot merge {path} into itself: choose another --into")
    if len({p.resolve() for p in paths}) != len(paths):
        raise UserError("a shard is named twice")
    if not is_private_file(into_path):  # a person's captures merge only into another private database
        for path in paths:
            refuse_private(path, "merge")
    result = MergeResult(str(into))
    with Store(into) as store:
        for path in paths:
            if progress:
                progress(f"merging {path}")
            result.shards.append(ShardMerge(store, path, command=command).run())
    return result


def open_shard(path: Path) -> sqlite3.Connection:
    """A read-only connection to a shard, checked to be a mouchard database this version can read."""
    try:
        conn = connect_readonly(path, isolation_level=None)
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as exc:
        raise UserError(f"{path} is not a usable SQLite database: {exc}") from None
    if "crawls" not in tables or "visits" not in tables:
        conn.close()
        raise UserError(f"{path} is not a mouchard database (no crawls or visits table)")
    if version > SCHEMA_VERSION:
        conn.close()
        raise UserError(f"{path} was written by a newer mouchard (schema {version} > {SCHEMA_VERSION}): upgrade mouchard")
    return conn


class ShardMerge:
    """Merges one shard into an open target store, in one transaction."""

    def __init__(self, store: Store, path: Path, *, command: list[str] | None = None):
        self.store = store
        self.conn = store.conn
        self.path = path
        self.command = command if command is not None else sys.argv
        self.shard = open_shard(path)
        self.crawl_keys, self.name = self._identity()
        # The folder for copies whose path is taken by another file: derived from the identity, never the shard's text.
        self.folder = "shards/" + hashlib.sha256("\n".join(sorted(self.crawl_keys)).encode()).hexdigest()[:16]
        self.result = ShardResult(str(path), self.name)
        self.maps: dict[str, IdMap] = {}
        self.before: dict[str, IdMap] = {}
        self._runs: set[int] = set()  # target crawl rows of the distributed runs this shard belongs to
        self._updated: set[int] = set()  # target crawl rows this pass changed
        self.evidence_from = evidence_dir(path)
        self.evidence_to = evidence_dir(store.path)

    def _identity(self) -> tuple[frozenset[str], str]:
        """(the shard's crawls, display name). Its crawls identify it: a database that holds every crawl of a
        database merged earlier is that database grown (rows are only ever added), so its earlier id maps apply;
        two copies of one base database that each added a crawl are two shards. The workers of one run start
        their crawl rows on one machine at the same instant, with the same row id: the shard name tells them
        apart."""
        rows = self.shard.execute("SELECT id, host, started_at, shard FROM crawls WHERE kind IS NOT ? ORDER BY id",
                                  [MERGE_KIND]).fetchall()
        name = next((r[3] for r in reversed(rows) if r[3]), None) or self.path.stem
        keys = frozenset(f"{host}|{started_at}|{row_id}|{shard or ''}" for row_id, host, started_at, shard in rows)
        return keys or frozenset([f"path:{self.path.resolve()}"]), name

    # --- the pass ------------------------------------------------------------------------------------------------
    def run(self) -> ShardResult:
        self._load_state()
        started = utcnow()
        try:
            with self.store.transaction():
                self.shard.execute("BEGIN")  # one snapshot of the shard for the whole pass
                self._shard_columns = {t.name: self._columns_in_shard(t) for t in TABLES}
                for spec in copy_order():
                    if self._shard_columns[spec.name] is None:
                        continue
                    if spec.name == "crawls":
                        self._merge_crawls(spec)
                    elif spec.pk != "id":
                        self._copy_content_addressed(spec)
                    else:
                        self._copy_table(spec)
                self._count_run_visits()
                self.result.crawls_updated = len(self._updated)
                if self._changed():
                    self._record_pass(started)
        finally:
            if self.shard.in_transaction:
                self.shard.execute("ROLLBACK")
            self.shard.close()
        return self.result

    def _changed(self) -> bool:
        return any(self.maps[t].changed_since(self.before[t]) for t in self.maps) or self.result.crawls_updated > 0

    def _columns_in_shard(self, spec: Table) -> list[str] | None:
        have = {r[1] for r in self.shard.execute(f"PRAGMA table_info([{spec.name}])")}
        if not have:
            return None
        unknown = have - {c.name for c in spec.columns}
        if unknown:
            raise UserError(f"{self.path}: {spec.name} has columns this mouchard does not know "
                            f"({', '.join(sorted(unknown))}): upgrade mouchard")
        return [c.name for c in spec.columns if c.name in have]

    def _load_state(self) -> None:
        """The id maps left by earlier merges of this shard (or of the database it grew from)."""
        for spec in TABLES:
            self.maps[spec.name] = IdMap()
            self.before[spec.name] = IdMap()
        rows = self.conn.execute("SELECT config, summary FROM crawls WHERE kind = ? ORDER BY id", [MERGE_KIND]).fetchall()
        for config, summary in rows:
            if not set(json.loads(config or "{}").get("crawls") or ["-"]) <= self.crawl_keys:
                continue
            ids = json.loads(summary or "{}").get("ids", {})
            for table, part in ids.items():
                if table in self.maps:
                    self.maps[table].load(part)
                    self.before[table].load(part)

    def _record_pass(self, started: str) -> None:
        from mouchard.versions import dependency_versions

        ids = {t: self.maps[t].delta(self.before[t]) for t in self.maps if self.maps[t].changed_since(self.before[t])}
        with self.store.transaction() as tx:
            tx.insert("crawls", {
                "kind": MERGE_KIND, "started_at": started, "finished_at": utcnow(), "status": "finished",
                "command": self.command, "config": {"source": str(self.path.resolve()), "crawls": sorted(self.crawl_keys)},
                "network": {}, "tool_version": __version__, "dependencies": dependency_versions(),
                "host": platform.node(), "shard": self.name,
                "summary": {**self.result.as_summary(), "ids": ids},
            })

    # --- generic tables ------------------------------------------------------------------------------------------
    def _next_id(self, table: str) -> int:
        return (self.conn.execute(f"SELECT max(rowid) FROM [{table}]").fetchone()[0] or 0) + 1

    def _copy_table(self, spec: Table) -> None:
        """Copy the rows added since the last pass, remapping ids and foreign keys."""
        columns = self._shard_columns[spec.name]
        fks = {c: t for c, t in foreign_keys(spec).items() if c in columns}
        idmap = self.maps[spec.name]
        index = {c: i for i, c in enumerate(columns)}
        id_at = index["id"]
        self_refs = [c for c, t in fks.items() if t == spec.name]
        json_refs = [index[c] for t, c in JSON_REFS if t == spec.name and c in index]
        uniques = [u for u in spec.unique if all(c in index for c in u)]
        same_content = not fks and not spec.unique  # a root fact (a tracker list version): equal rows are one fact
        next_id = self._next_id(spec.name)
        deferred: list[tuple[int, str, int]] = []  # (target id, column, shard id) forward self-references
        names = ", ".join(f"[{c}]" for c in columns)
        insert = f"INSERT INTO [{spec.name}] ({names}) VALUES ({', '.join('?' * len(columns))})"
        batch: list[list] = []
        cursor = self.shard.execute(f"SELECT {names} FROM [{spec.name}] WHERE rowid > ? ORDER BY rowid", [idmap.seen])
        for source in cursor:
            row = list(source)
            src = row[id_at]
            idmap.seen = max(idmap.seen, src)
            keep, parents, parents_matched = True, 0, True
            for column, target in fks.items():  # links to parent tables first: a row of a duplicate is left out
                value = row[index[column]]
                if value is None or target == spec.name:
                    continue
                mapped = self.maps[target].get(value)
                if mapped is None:  # it belongs to a duplicate, or to a row left out for the same reason
                    keep = False
                    break
                parents += 1
                parents_matched = parents_matched and self.maps[target].is_matched(value)
                row[index[column]] = mapped
            if not keep:
                self.result.count(self.result.skipped, spec.name)
                continue
            forward = []
            for column in self_refs:  # a link inside the table: to the copy, the twin, or a row further on
                value = row[index[column]]
                if value is None:
                    continue
                mapped = idmap.get(value) or idmap.twins.get(value)
                if mapped is None:
                    if value > src:
                        forward.append((next_id, column, value))
                    else:
                        self.result.count(self.result.unresolved, f"{spec.name}.{column}")
                row[index[column]] = mapped
            for at in json_refs:
                row[at] = self._remap_json_refs(row[at], spec.name)
            # The same fact: a root row equal to one in the target, or a row equal to one under parents that were
            # themselves found in the target (shards copied from a shared base database).
            if same_content or (parents and parents_matched):
                existing = self._equal_row(spec.name, columns, row)
                if existing is not None:
                    idmap.add(src, existing, matched=True)
                    self.result.count(self.result.matched, spec.name)
                    continue
            existing = self._duplicate(spec.name, index, row, uniques)
            if existing is not None:
                idmap.twins[src] = existing
                self.result.count(self.result.duplicates, spec.name)
                continue
            deferred += forward
            row[id_at] = next_id
            idmap.add(src, next_id)
            next_id += 1
            batch.append(row)
            if uniques or len(batch) >= BATCH:  # with a unique key, later rows of this pass must see this one
                self._flush(insert, batch, spec.name)
        self._flush(insert, batch, spec.name)
        for target_id, column, value in deferred:
            mapped = idmap.get(value) or idmap.twins.get(value)
            if mapped is None:
                self.result.count(self.result.unresolved, f"{spec.name}.{column}")
            else:
                self.conn.execute(f"UPDATE [{spec.name}] SET [{column}] = ? WHERE id = ?", [mapped, target_id])
        if spec.name == "evidence_files":
            self._copy_evidence_files(idmap)

    def _flush(self, insert: str, batch: list[list], table: str) -> None:
        if batch:
            self.conn.executemany(insert, batch)
            self.result.count(self.result.copied, table, len(batch))
            batch.clear()

    def _duplicate(self, table: str, index: dict[str, int], row: list, uniques: list[tuple[str, ...]]) -> int | None:
        """The target row with the same unique key (a visit's crawl and key), if any."""
        for unique in uniques:
            values = [row[index[c]] for c in unique]
            if any(v is None for v in values):
                continue
            found = self.conn.execute(f"SELECT id FROM [{table}] WHERE " + " AND ".join(f"[{c}] = ?" for c in unique),
                                      values).fetchone()
            if found:
                return found[0]
        return None

    def _equal_row(self, table: str, columns: list[str], row: list, ignore: tuple[str, ...] = ()) -> int | None:
        """The target row equal to `row` in every column but the id (and `ignore`), if any."""
        pairs = [(c, v) for c, v in zip(columns, row) if c != "id" and c not in ignore]
        found = self.conn.execute(f"SELECT id FROM [{table}] WHERE " + " AND ".join(f"[{c}] IS ?" for c, _ in pairs),
                                  [v for _, v in pairs]).fetchone()
        return found[0] if found else None

    def _remap_json_refs(self, text: str | None, table: str) -> str | None:
        """`[{table, id}, ...]` with each id rewritten; links to rows not in the target are dropped and counted."""
        if not text:
            return text
        try:
            refs = json.loads(text)
        except ValueError:
            return text
        if not isinstance(refs, list):
            return text
        out = []
        for ref in refs:
            if isinstance(ref, dict) and ref.get("table") in self.maps and isinstance(ref.get("id"), int):
                other = self.maps[ref["table"]]
                mapped = other.get(ref["id"]) or other.twins.get(ref["id"])
                if mapped is None:
                    self.result.count(self.result.unresolved, f"{table}.evidence")
                    continue
                ref = {**ref, "id": mapped}
            out.append(ref)
        return json.dumps(out, ensure_ascii=False)

    def _copy_content_addressed(self, spec: Table) -> None:
        """Tables keyed by content (bodies by SHA-256): copy each new row once; nothing to remap."""
        columns = self._shard_columns[spec.name]
        idmap = self.maps[spec.name]
        names = ", ".join(f"[{c}]" for c in columns)
        insert = f"INSERT OR IGNORE INTO [{spec.name}] ({names}) VALUES ({', '.join('?' * len(columns))})"
        cursor = self.shard.execute(f"SELECT rowid, {names} FROM [{spec.name}] WHERE rowid > ? ORDER BY rowid",
                                    [idmap.seen])
        while rows := cursor.fetchmany(BATCH):
            idmap.seen = max(idmap.seen, rows[-1][0])
            before = self.conn.total_changes
            self.conn.executemany(insert, [r[1:] for r in rows])
            copied = self.conn.total_changes - before
            self.result.count(self.result.copied, spec.name, copied)
            if copied < len(rows):
                self.result.count(self.result.duplicates, spec.name, len(rows) - copied)

    # --- crawls --------------------------------------------------------------------------------------------------
    def _merge_crawls(self, spec: Table) -> None:
        """One target row per distributed run, or per crawl; rows merged earlier are refreshed (status, summary)."""
        columns = self._shard_columns["crawls"]
        idmap = self.maps["crawls"]
        cursor = self.shard.execute(f"SELECT {', '.join(f'[{c}]' for c in columns)} FROM crawls WHERE kind IS NOT ? "
                                    "ORDER BY id", [MERGE_KIND])
        runs: dict[int, list[dict]] = {}  # target run row -> this shard's crawl rows of it (one update per run)
        for source in cursor.fetchall():
            row = dict(zip(columns, source))
            src = row["id"]
            idmap.seen = max(idmap.seen, src)
            run = run_of(row)
            target = idmap.get(src)
            if run is None:
                if idmap.is_matched(src):
                    continue  # a crawl of the shared base database: nothing of this shard's to refresh
                values = {c: v for c, v in row.items() if c != "id"}
                values["shard"] = row.get("shard") or self.name
                if target is None:
                    equal = self._equal_row("crawls", columns, list(source), ignore=("shard",))
                    if equal is not None:
                        idmap.add(src, equal, matched=True)
                        self.result.count(self.result.matched, "crawls")
                    else:
                        idmap.add(src, self._insert_row("crawls", values))
                        self.result.count(self.result.copied, "crawls")
                elif self._update_row("crawls", target, values):
                    self._updated.add(target)
                continue
            if target is None:
                target = self._run_row(run, row)
                idmap.add(src, target)
                self.result.count(self.result.copied, "crawls")
            self._runs.add(target)
            runs.setdefault(target, []).append(row)
        for target, rows in runs.items():
            if self._update_run(target, rows):
                self._updated.add(target)

    def _count_run_visits(self) -> None:
        """`summary.visits_merged` of each run: its visits in the target (a killed shard never wrote its summary)."""
        for run_id in self._runs:
            summary = json.loads(self.conn.execute("SELECT summary FROM crawls WHERE id = ?", [run_id]).fetchone()[0]
                                 or "{}")
            summary["visits_merged"] = self.conn.execute("SELECT count(*) FROM visits WHERE crawl_id = ?",
                                                         [run_id]).fetchone()[0]
            if self._update_row("crawls", run_id, {"summary": json.dumps(summary, ensure_ascii=False, sort_keys=True)}):
                self._updated.add(run_id)

    def _insert_row(self, table: str, values: dict) -> int:
        names = list(values)
        cur = self.conn.execute(f"INSERT INTO [{table}] ({', '.join(f'[{n}]' for n in names)}) "
                                f"VALUES ({', '.join('?' * len(names))})", [values[n] for n in names])
        return cur.lastrowid

    def _update_row(self, table: str, row_id: int, values: dict) -> bool:
        current = self.conn.execute(f"SELECT {', '.join(f'[{n}]' for n in values)} FROM [{table}] WHERE id = ?",
                                    [row_id]).fetchone()
        if current is not None and list(current) == list(values.values()):
            return False
        self.conn.execute(f"UPDATE [{table}] SET {', '.join(f'[{n}] = ?' for n in values)} WHERE id = ?",
                          [*values.values(), row_id])
        return True

    def _run_row(self, run: str, row: dict) -> int:
        """The target's row for distributed run `run` (kind and run id), created from this shard's row if new."""
        found = self.conn.execute("SELECT id FROM crawls WHERE kind IS ? AND json_extract(config, '$.distributed.run') = ? "
                                  "ORDER BY id LIMIT 1", [row.get("kind"), run]).fetchone()
        if found:
            return found[0]
        config = json.loads(row.get("config") or "{}")
        config.get("distributed", {}).pop("worker", None)  # the run's config, not one worker's
        values = {c: v for c, v in row.items() if c != "id"}
        values.update(config=json.dumps(config, ensure_ascii=False, sort_keys=True), summary=json.dumps({"shards": []}))
        return self._insert_row("crawls", values)

    def _update_run(self, run_id: int, rows: list[dict]) -> bool:
        """Put these shard crawls' own rows in the run's summary and recompute the run's times, status and counts
        (once per run and pass: a run on a cluster has a crawl row per task, thousands in a large run)."""
        summary = json.loads(self.conn.execute("SELECT summary FROM crawls WHERE id = ?", [run_id]).fetchone()[0] or "{}")
        entries = []
        for row in rows:
            name = row.get("shard") or self.name
            # The shard crawl's identity. Its shard's name is part of it: workers of one machine start their first
            # crawl in the same second with the same row id, and one used to replace the other in the run's list.
            entries.append({"shard": name, "crawl": f"{row.get('host')}|{row.get('started_at')}|{row['id']}|{name}",
                            "crawl_id": row["id"], "host": row.get("host"), "status": row.get("status"),
                            "started_at": row.get("started_at"), "finished_at": row.get("finished_at"),
                            "tool_version": row.get("tool_version"), "browser_version": row.get("browser_version"),
                            "summary": json.loads(row.get("summary") or "null")})
        new = {e["crawl"] for e in entries}
        shards = [s for s in summary.get("shards", []) if s.get("crawl") not in new] + entries
        shards.sort(key=lambda s: (s["shard"] or "", s["started_at"] or "", s["crawl_id"]))
        statuses = [s["status"] for s in shards]
        status = next((s for s in STATUS_ORDER if s in statuses), statuses[0])
        finished = [s["finished_at"] for s in shards]
        values = {
            "started_at": min((s["started_at"] for s in shards if s["started_at"]), default=None),
            "finished_at": max(finished) if all(finished) else None,
            "status": status,
            "shard": ",".join(dict.fromkeys(s["shard"] for s in shards)),
            "host": ",".join(sorted({s["host"] for s in shards if s["host"]})),
            "summary": json.dumps({**sum_counts(s["summary"] for s in shards), "shards": shards,
                                   **({"visits_merged": summary["visits_merged"]} if "visits_merged" in summary else {})},
                                  ensure_ascii=False, sort_keys=True),
        }
        return self._update_row("crawls", run_id, values)

    # --- evidence files ------------------------------------------------------------------------------------------
    def _copy_evidence_files(self, idmap: IdMap) -> None:
        """Copy the files of the evidence rows copied in this pass; a clash of paths moves ours under `self.folder`."""
        ranges = idmap.delta(self.before["evidence_files"])["ranges"]
        for first, last, dst_first in ranges:
            rows = self.conn.execute("SELECT id, crawl_id, visit_id, path, sha256 FROM evidence_files "
                                     "WHERE id BETWEEN ? AND ?", [dst_first, dst_first + last - first]).fetchall()
            for row_id, crawl_id, visit_id, path, sha256 in rows:
                try:
                    new_path = self._copy_file(path, sha256)
                except UnsafePath as exc:  # data that must not become a path: a counted, recorded skip
                    self.result.count(self.result.files, "refused")
                    self.store.record_failure("merge", "unsafe-path",
                                              f"evidence_files {row_id} from {self.folder} not copied: {exc}",
                                              crawl_id=crawl_id, visit_id=visit_id)
                    continue
                if new_path is not None and new_path != path:
                    self.conn.execute("UPDATE evidence_files SET path = ? WHERE id = ?", [new_path, row_id])

    def _copy_file(self, path: str | None, sha256: str | None) -> str | None:
        """The file's path in the target once copied (or already there), None when it is not copied."""
        if not path:
            return None
        relative = check_relative(path)
        if not isinstance(sha256, str) or len(sha256) != 64:
            self.result.count(self.result.files, "mismatched")  # nothing to check its bytes against
            return None
        for candidate in (relative, f"{self.folder}/{relative}"):
            try:
                present = hash_inside(self.evidence_to, candidate).sha256 == sha256
            except FileNotFoundError:
                break  # free: copy here
            except UnsafePath:
                present = False  # something we may not read holds this path: use the next one
            if present:
                self.result.count(self.result.files, "present")
                return candidate
            if candidate != relative:
                raise UnsafePath(f"both {relative!r} and its shard copy hold other files")
        try:
            copied = copy_verified(self.evidence_from, relative, self.evidence_to, candidate, sha256)
        except FileNotFoundError:
            self.result.count(self.result.files, "missing")
            return None
        if not copied:
            self.result.count(self.result.files, "mismatched")  # the shard's file changed since it was recorded
            return None
        self.result.count(self.result.files, "copied")
        if candidate != relative:
            self.result.count(self.result.files, "renamed")
        return candidate


def run_of(crawl: dict) -> str | None:
    """The distributed run a crawl row belongs to (`config.distributed.run`), if any."""
    try:
        config = json.loads(crawl.get("config") or "{}")
    except ValueError:
        return None
    run = config.get("distributed", {}).get("run") if isinstance(config, dict) else None
    return str(run) if run else None


def sum_counts(summaries: Iterable[dict | None]) -> dict:
    """Add up the numbers of several summaries, key by key (nested dicts too); other values are left out."""
    total: dict = {}
    for summary in summaries:
        if not isinstance(summary, dict):
            continue
        for key, value in summary.items():
            if key in ("shards", "visits_merged"):
                continue
            if isinstance(value, bool):
                continue
            if isinstance(value, (int, float)):
                total[key] = total.get(key, 0) + value
            elif isinstance(value, dict):
                total[key] = sum_counts([total.get(key) if isinstance(total.get(key), dict) else {}, value])
    return total




def origin(store: Store, table: str, row_id: int) -> list[tuple[str, int]]:
    """Where a merged row came from: (shard name, id in that shard) for each shard that held it."""
    found = []
    for shard, summary in store.conn.execute("SELECT shard, summary FROM crawls WHERE kind = ? ORDER BY id", [MERGE_KIND]):
        part = json.loads(summary or "{}").get("ids", {}).get(table, {})
        for first, last, dst in part.get("ranges", []):
            if dst <= row_id <= dst + last - first:
                found.append((shard, first + row_id - dst))
        found += [(shard, s) for s, d in part.get("twins", []) if d == row_id]
    return found
