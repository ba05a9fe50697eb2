"""Ingest benchmark: rows per second of mouchard's store writer against plain `sqlite3.executemany`.

Both write the same visit-shaped rows (a visit with ~80 requests, ~30 cookies, ~10 storage items, ~15 JS calls,
2 consent rows, a few bodies) into the same schema (created by `mouchard.storage.store.Store`), one transaction per
visit as the crawl does:
- store: `Store.transaction()` + `Writer.insert` (the visit, for its id) + `Writer.insert_many` per table, from
  dict rows, as the crawl's pipeline writes;
- plain: `BEGIN IMMEDIATE`, `executemany` per table from tuples prepared beforehand (no dicts, no checks), `COMMIT`.
The ratio store/plain is the price of the writer (target >= 0.7). Also reported: database size per 1,000 visits
(file + WAL after a checkpoint).

    .venv/bin/python benchmarks/ingest.py [--visits 1000] [--repeat 3] [--json out.json] [--write]

`--write` replaces the "## ingest" section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

from mouchard.storage.store import Store

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
SHAPE = {"requests": 80, "cookies": 30, "storage_items": 10, "js_calls": 15, "consent": 2}
BODIES = 4  # POST bodies kept per visit (beacons, bid requests)

TRACKERS = ["www.google-analytics.com", "connect.facebook.net", "securepubads.g.doubleclick.net", "ib.adnxs.com",
            "static.criteo.net", "bat.bing.com", "cdn.taboola.com", "pixel.rubiconproject.com", "ads.pubmatic.com",
            "sb.scorecardresearch.com", "cdn.cookielaw.org", "script.hotjar.com", "c.amazon-adsystem.com"]
TYPES = ["script", "image", "xhr", "fetch", "ping", "stylesheet", "font", "document", "sub_frame"]


from results import write_section  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

def visit_rows(rng: random.Random, crawl_id: int, n: int) -> dict[str, list[dict]]:
    """One visit as the browser crawl records it: the visit row and its child rows (without visit ids)."""
    site = f"site{n}.example"
    url = f"https://www.{site}/"
    headers_out = {"user-agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                                 "Chrome/156.0.0.0 Safari/537.36", "accept": "*/*", "accept-language": "en-US,en",
                   "referer": url, "sec-ch-ua": '"Chromium";v="156", "Not:A-Brand";v="24"', "sec-fetch-mode": "cors"}
    requests = []
    for i in range(SHAPE["requests"]):
        host = rng.choice(TRACKERS) if i % 3 else f"www.{site}"
        third = int(not host.endswith(site))
        requests.append({
            "browser_request_id": f"{n}.{i}", "url": f"https://{host}/p/{rng.getrandbits(64):x}?v={i}&cb={rng.random()}",
            "host": host, "site": host.split(".", 1)[-1] if third else site, "method": "GET",
            "resource_type": rng.choice(TYPES), "frame_url": url, "main_frame": 1,
            "initiator_url": f"https://{rng.choice(TRACKERS)}/tag.js", "initiator_type": "script",
            "third_party": third, "status": 200, "request_headers": json.dumps(headers_out),
            "response_headers": json.dumps({"content-type": "image/gif", "cache-control": "no-store",
                                            "date": "Sat, 22 Nov 2025 15:00:00 GMT", "server": "nginx",
                                            "content-length": str(rng.randint(40, 90000))}),
            "mime_type": "image/gif", "response_size": rng.randint(40, 90000), "remote_ip": "203.0.113.7",
            "time_ms": rng.randint(0, 15000), "tracker_entity": "Google" if third else None,
            "tracker_category": "advertising" if third else None, "tracker_list": "mouchard" if third else None})
    cookies = [{"name": f"_c{i}", "value": f"{rng.getrandbits(96):x}", "domain": f".{rng.choice(TRACKERS)}",
                "path": "/", "site": "doubleclick.net", "expires_at": "2026-11-22T15:00:00Z", "lifetime_days": 365.0,
                "session": 0, "http_only": 0, "secure": 1, "same_site": "None", "partitioned": 0, "third_party": 1,
                "set_by": "header", "setter_url": f"https://{rng.choice(TRACKERS)}/px", "set_at_ms": rng.randint(0, 9000),
                "before_consent": 1, "identifier": 1, "identifier_reason": "long-lived, 24 chars, differs",
                "tracker_entity": "Google", "tracker_category": "advertising", "tracker_list": "mouchard"}
               for i in range(SHAPE["cookies"])]
    storage = [{"origin": url, "site": site, "third_party": 0, "kind": "local", "name": f"key{i}",
                "value": json.dumps({"id": f"{rng.getrandbits(64):x}", "ts": 1763823600}), "value_size": 48}
               for i in range(SHAPE["storage_items"])]
    calls = [{"script_url": f"https://{rng.choice(TRACKERS)}/fp.js", "script_site": "fp.example", "third_party": 1,
              "frame_url": url, "api": rng.choice(["HTMLCanvasElement.toDataURL", "Navigator.hardwareConcurrency",
                                                   "WebGLRenderingContext.getParameter", "Screen.width"]),
              "operation": "call", "arguments": '["image/png"]', "calls": rng.randint(1, 40),
              "time_ms": rng.randint(0, 9000)} for _ in range(SHAPE["js_calls"])]
    consent = [{"phase": "initial", "cmp": "onetrust", "cmp_id": 28, "framework": "tcf", "source": "api",
                "raw": "CQH" + "A" * 120, "decoded": json.dumps({"purposes": [1, 2, 3], "vendors": list(range(40))}),
                "event_status": "tcloaded", "action": "none", "verified": 0, "time_ms": 1200}] * SHAPE["consent"]
    bodies = [json.dumps({"imp": [{"id": str(k), "banner": {"w": 300, "h": 250}}], "user": {"buyeruid": f"{rng.getrandbits(64):x}"},
                          "site": {"page": url}, "pad": "x" * rng.randint(200, 1500)}).encode() for k in range(BODIES)]
    for request, body in zip(requests, bodies):
        request["post_body_sha256"], request["post_body_size"] = hashlib.sha256(body).hexdigest(), len(body)
    for request in requests[len(bodies):]:
        request["post_body_sha256"], request["post_body_size"] = None, None
    visit = {"crawl_id": crawl_id, "key": f"{url}|initial", "url": url, "final_url": url, "site": site,
             "final_site": site, "tags": '["news"]', "phase": "initial", "depth": 0, "status": "ok", "http_status": 200,
             "title": f"Home page of site {n}", "started_at": "2025-11-22T15:00:00.000Z",
             "finished_at": "2025-11-22T15:00:09.000Z", "load_ms": 2100, "duration_ms": 9000, "attempt": 1,
             "worker": "bench"}
    return {"visits": [visit], "requests": requests, "cookies": cookies, "storage_items": storage,
            "js_calls": calls, "consent": consent, "_bodies": bodies}


def rows_in(visit: dict[str, list]) -> int:
    return sum(len(v) for k, v in visit.items() if not k.startswith("_")) + len(visit["_bodies"])


def write_with_store(path: Path, visits: list[dict]) -> float:
    """Seconds to write every visit through Store.transaction() / Writer.insert_many."""
    store = Store(path)
    t0 = time.perf_counter()
    for visit in visits:
        with store.transaction() as tx:
            visit_id = tx.insert("visits", visit["visits"][0])
            for body in visit["_bodies"]:
                tx.add_body(body, "application/json")
            for table in ("requests", "cookies", "storage_items", "js_calls", "consent"):
                tx.insert_many(table, [{**row, "visit_id": visit_id} for row in visit[table]])
    elapsed = time.perf_counter() - t0
    store.close()
    return elapsed


def prepare_plain(visits: list[dict]) -> tuple[dict[str, str], list[dict]]:
    """SQL and tuples for the plain path, prepared outside the timed part (the best case for executemany)."""
    sql: dict[str, str] = {}
    prepared = []
    for visit in visits:
        entry = {"visit": tuple(visit["visits"][0].values()), "bodies": [], "tables": {}}
        sql.setdefault("visits", f"INSERT INTO visits ({', '.join(visit['visits'][0])}) "
                                 f"VALUES ({', '.join('?' * len(visit['visits'][0]))})")
        for body in visit["_bodies"]:
            entry["bodies"].append((hashlib.sha256(body).hexdigest(), len(body), "application/json", body, 0))
        for table in ("requests", "cookies", "storage_items", "js_calls", "consent"):
            cols = ["visit_id", *visit[table][0]]
            sql.setdefault(table, f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})")
            entry["tables"][table] = [tuple(row.values()) for row in visit[table]]
        prepared.append(entry)
    sql["bodies"] = "INSERT OR IGNORE INTO bodies (sha256, size, media_type, content, truncated) VALUES (?, ?, ?, ?, ?)"
    return sql, prepared


def write_plain(path: Path, visits: list[dict]) -> float:
    """Seconds to write the same rows with plain executemany into the same schema, same PRAGMAs."""
    Store(path).close()  # the same schema, indexes and FTS triggers
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    sql, prepared = prepare_plain(visits)
    t0 = time.perf_counter()
    for entry in prepared:
        conn.execute("BEGIN IMMEDIATE")
        visit_id = conn.execute(sql["visits"], entry["visit"]).lastrowid
        conn.executemany(sql["bodies"], entry["bodies"])
        for table, rows in entry["tables"].items():
            conn.executemany(sql[table], [(visit_id, *row) for row in rows])
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - t0
    conn.close()
    return elapsed


def db_size(path: Path) -> int:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*") if p.is_file())


def run(n_visits: int, repeat: int, seed: int = 1) -> dict:
    rng = random.Random(seed)
    visits = [visit_rows(rng, 1, n) for n in range(n_visits)]
    total_rows = sum(rows_in(v) for v in visits)
    store_times, plain_times, sizes = [], [], []
    with tempfile.TemporaryDirectory(prefix="mouchard-ingest-") as tmp:
        for i in range(repeat):
            for name, writer, times in (("store", write_with_store, store_times), ("plain", write_plain, plain_times)):
                path = Path(tmp) / f"{name}-{i}.db"
                with Store(path) as store:  # crawl row 1 for the visits' foreign key
                    store.start_crawl("web", command=["benchmarks/ingest.py"])
                copies = [{k: [dict(r) for r in v] if not k.startswith("_") else v for k, v in visit.items()}
                          for visit in visits]
                times.append(writer(path, copies))
                if name == "store":
                    sizes.append(db_size(path))
    store_best, plain_best = min(store_times), min(plain_times)
    return {
        "visits": n_visits, "rows": total_rows, "rows_per_visit": total_rows / n_visits, "repeat": repeat,
        "store_rows_per_s": total_rows / store_best, "plain_rows_per_s": total_rows / plain_best,
        "ratio": plain_best / store_best,
        "store_s": store_times, "plain_s": plain_times,
        "bytes_per_1000_visits": statistics.median(sizes) / n_visits * 1000,
        "python": sys.version.split()[0], "sqlite": sqlite3.sqlite_version, "cpus": os.cpu_count(),
    }


def report(r: dict) -> str:
    verdict = "met" if r["ratio"] >= 0.7 else "NOT met"
    shape = ", ".join(f"{n} {t.replace('_', ' ')}" for t, n in SHAPE.items())
    return "\n".join([
        "## ingest", "",
        f"`benchmarks/ingest.py --visits {r['visits']} --repeat {r['repeat']}` on {platform.node()} "
        f"({platform.machine()}, {r['cpus']} cores, Python {r['python']}, SQLite {r['sqlite']}), "
        f"{dt.date.today().isoformat()}: {r['visits']} visits of {r['rows_per_visit']:.0f} rows each (a visit, {shape}, "
        f"{BODIES} POST bodies), one transaction per visit, into the schema `Store` creates (indexes and full-text "
        "triggers included), WAL, synchronous=NORMAL. Best of the repeats. Machine shared with other jobs.", "",
        "| writer | rows/s |", "|---|---:|",
        f"| `Store.transaction()` + `Writer.insert_many`, from dict rows | {r['store_rows_per_s']:,.0f} |",
        f"| plain `sqlite3.executemany`, tuples prepared beforehand | {r['plain_rows_per_s']:,.0f} |", "",
        f"Ratio store / plain: **{r['ratio']:.2f}** (target >= 0.7: {verdict}). "
        f"Database size: **{r['bytes_per_1000_visits'] / 1e6:.0f} MB per 1,000 visits** "
        f"({r['bytes_per_1000_visits'] / 1000 / 1024:.0f} KiB per visit).", ""])



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visits", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, help="Also write the results here.")
    parser.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    args = parser.parse_args()
    result = run(args.visits, args.repeat)
    print(f"{result['visits']} visits, {result['rows']:,} rows ({result['rows_per_visit']:.0f} per visit), "
          f"best of {result['repeat']}")
    print(f"store writer     {result['store_rows_per_s']:>10,.0f} rows/s")
    print(f"plain executemany{result['plain_rows_per_s']:>10,.0f} rows/s")
    print(f"ratio            {result['ratio']:>10.2f}  (target >= 0.70)")
    print(f"size             {result['bytes_per_1000_visits'] / 1e6:>10.1f} MB per 1,000 visits")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    if args.write:
        write_section(report(result))


if __name__ == "__main__":
    main()
