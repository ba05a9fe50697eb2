"""Latency of every readers' page (home, site, company, app, broker, groups compared, changes), every canned query
and the busiest table pages on a generated database of 1 M requests and 100 k cookies, through Datasette in process,
as `mouchard serve` configures it. Target: p95 < 500 ms.

    .venv/bin/python benchmarks/datasette.py [--db PATH] [--runs 7] [--write] [--explain]

The database (two web crawls of the same tagged 5,000-site list, an app capture, a broker registry, with the
readers' rollups built as a crawl's end builds them) is generated once with executemany (a few minutes) and reused
when --db points at it. `--write` replaces the "## datasette" section of benchmarks/RESULTS.md. `--explain` prints,
for each readers' page over the target, its slowest SQL statements with their EXPLAIN QUERY PLAN.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import math
import sqlite3
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote

# Run as a script, this file's folder comes first on sys.path and its name shadows the datasette package.
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != Path(__file__).resolve().parent]

from mouchard.publishing.metadata import load_queries  # noqa: E402
from mouchard.publishing.pages import KINDS, builder, page_url  # noqa: E402
from mouchard.publishing.serve import build_datasette  # noqa: E402
from mouchard.storage.store import Store  # noqa: E402
from mouchard.storage.schema import SCHEMA_VERSION  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
TARGET_P95_MS = 500

SITES = 5_000
PHASES = ("initial", "reject", "accept", "gpc")
REQUESTS = 1_000_000
COOKIES = 100_000
ENTITIES = 300
APPS = 200
CATEGORIES = ("advertising", "analytics", "social", "session-replay", "cdn")
SHAPE = 2  # bump when generate() changes what it writes
CRAWLS = 2  # the same list crawled twice (a newsroom's monthly re-crawl): what the changes page compares
# Site-list tags, as a list file gives them: what the compare page groups by.
TAGS = ('["news"]', '["news", "regional"]', '["party", "campaign"]', '["shop"]', '["blog"]')
# The readers' pages timed, with their key and URL parameters on the generated database: the busiest company
# (Company 0 is on most sites), a site and an app of average size, a broker with two registrations.
PAGES = (("site", "site1.example", {}), ("company", "Company 0", {}), ("app", "com.app1", {}),
         ("broker", "broker 1", {}), ("compare", "", {"a": "party,campaign", "b": "news"}), ("changes", "", {}))


def _zipf(rng: random.Random, n: int) -> int:
    """An index in [0, n) where small indexes are much more likely (a few companies are everywhere)."""
    return min(int(rng.paretovariate(1.1)) - 1, n - 1)


def generate(path: Path, seed: int = 1) -> None:
    """Write the benchmark database: two crawls of 5 k sites in four phases (40 k visits), 1 M requests, 100 k
    cookies and proportionate other tables, then the readers' rollups."""
    rng = random.Random(seed)
    entities = [f"Company {i}" for i in range(ENTITIES)]
    with Store(path) as store:
        # Both crawls record the same list digest, as `mouchard crawl` does for one list: /changes pairs them.
        config = {"phases": list(PHASES), "targets": SITES, "targets_sha256": "b" * 64, "list": "benchmark.csv"}
        crawls = [store.start_crawl("web", config=config, command=["benchmark"]) for _ in range(CRAWLS)]
        conn = store.conn
        with store.transaction():
            visits = []
            for crawl in crawls:
                for s in range(SITES):
                    for phase in PHASES:
                        status = "ok" if rng.random() < 0.95 else "timeout"
                        visits.append((crawl, f"https://www.site{s}.example/|{phase}", f"https://www.site{s}.example/",
                                       f"site{s}.example", phase, status, f"Site {s} home page", TAGS[s % len(TAGS)]))
            conn.executemany("INSERT INTO visits (crawl_id, key, url, site, phase, status, title, tags) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", visits)
            visit_count = len(visits)
            consent = [(v, PHASES[(v - 1) % 4], "onetrust", "cmp", PHASES[(v - 1) % 4], 1, rng.randrange(500, 3000))
                       for v in range(1, visit_count + 1) if PHASES[(v - 1) % 4] in ("reject", "accept")]
            conn.executemany("INSERT INTO consent (visit_id, phase, cmp, framework, action, verified, time_ms) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?)", consent)

            def requests():
                for i in range(REQUESTS):
                    visit = i % visit_count + 1
                    tracker = rng.random() < 0.4
                    index = _zipf(rng, ENTITIES)
                    entity = entities[index] if tracker else None
                    host = f"t{index}.tracker.example" if tracker else f"cdn{i % 50}.example"
                    yield (visit, f"https://{host}/p?i={i}", host, host.split(".", 1)[1], "GET", "script",
                           int(tracker or rng.random() < 0.5), 200, rng.randrange(0, 10_000), entity,
                           rng.choice(CATEGORIES) if entity else None)

            conn.executemany("INSERT INTO requests (visit_id, url, host, site, method, resource_type, third_party, "
                             "status, time_ms, tracker_entity, tracker_category) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", requests())

            def cookies():
                for i in range(COOKIES):
                    visit = i % visit_count + 1
                    entity = entities[_zipf(rng, ENTITIES)] if rng.random() < 0.6 else None
                    yield (visit, f"c{i % 400}", f".t{i % ENTITIES}.tracker.example", "tracker.example",
                           rng.choice((30.0, 390.0, None)), int(entity is not None), int(rng.random() < 0.5),
                           int(rng.random() < 0.5), entity, "advertising" if entity else None, f"v{i}")
            conn.executemany("INSERT INTO cookies (visit_id, name, domain, site, lifetime_days, third_party, "
                             "before_consent, identifier, tracker_entity, tracker_category, value) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", cookies())

            conn.executemany("INSERT INTO rtb (visit_id, event, library, auction_id, bidder, cpm, won, "
                             "personal_fields, tracker_entity) VALUES (?, ?, 'prebid', ?, ?, ?, ?, ?, ?)",
                             (((i // 10) % visit_count + 1, rng.choice(("bidRequested", "bidResponse", "bidWon")),
                               f"a{i // 10}", f"bidder{_zipf(rng, 60)}", rng.random() * 3, int(rng.random() < 0.1),
                               '["user.buyeruid", "device.geo"]', entities[_zipf(rng, ENTITIES)])
                              for i in range(50_000)))
            conn.executemany("INSERT INTO id_syncs (visit_id, from_site, from_entity, to_site, to_entity, location, "
                             "identifier_name) VALUES (?, ?, ?, ?, ?, 'query', 'uid')",
                             ((i % visit_count + 1, f"t{i % 40}.example", entities[i % 40], f"t{i % 70}.example",
                               entities[i % 70]) for i in range(20_000)))
            capture = store.start_crawl("app", command=["benchmark"])
            conn.executemany("INSERT INTO flows (crawl_id, app, kind, host, site, url, tracker_entity) "
                             "VALUES (?, ?, 'http', ?, ?, ?, ?)",
                             ((capture, f"com.app{i % APPS}", f"h{i % 500}.example", f"h{i % 500}.example",
                               f"https://h{i % 500}.example/x", entities[_zipf(rng, ENTITIES)]) for i in range(50_000)))
            kinds = ("location", "advertising_id", "android_id", "email", "imei")
            conn.executemany("INSERT INTO leaks (crawl_id, flow_id, identifier, chain, location, destination_host, "
                             "destination_site, third_party, lat, lon, tracker_entity) "
                             "VALUES (?, ?, ?, 'json', 'body', ?, ?, 1, ?, ?, ?)",
                             ((capture, i * 2 + 1, kinds[i % 5], f"h{i % 500}.example", f"h{i % 500}.example",
                               48.86 if i % 5 == 0 else None, 2.29 if i % 5 == 0 else None,
                               entities[_zipf(rng, ENTITIES)]) for i in range(20_000)))
            brokers = []
            for year in (2024, 2025):
                for b in range(1_500):
                    brokers.append(("ca", year, f"broker {b}", f"Broker {b} Inc", rng.choice(("CA", "TX", "NY", "")),
                                    rng.choice(("yes", "no")), rng.choice(("yes", "no")), rng.choice(("yes", "no"))))
            conn.executemany("INSERT INTO brokers (registry, year, key, name, state, minors, precise_geolocation, "
                             "reproductive_health) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", brokers)
            conn.executemany("INSERT INTO broker_pages (broker_id, kind, url, hidden, hidden_reasons) "
                             "VALUES (?, 'opt-out', ?, ?, '[]')",
                             ((b, f"https://b{b}.example/opt-out", int(b % 12 == 0)) for b in range(1, 3_001)))
            conn.executemany("INSERT INTO findings (rule_id, severity, title, subject, visit_id, evidence) "
                             "VALUES (?, 'high', 'finding', ?, ?, '[]')",
                             ((rng.choice(("consent.tcf-vendor-without-consent", "consent.gpc-ignored",
                                           "consent.cookie-before-consent")), f"site{i % SITES}.example",
                               i % visit_count + 1) for i in range(5_000)))
        for crawl in crawls:
            store.finish_crawl(crawl)
        store.finish_crawl(capture)
        build_rollups(store)
        conn.execute("ANALYZE")


def build_rollups(store: Store) -> None:
    """The readers' rollups, as the end of a crawl, `classify` and an audit build them (when they exist)."""
    if importlib.util.find_spec("mouchard.classification.rollups") is None:
        return
    from mouchard.classification.rollups import rebuild

    start = time.perf_counter()
    built = rebuild(store)
    print(f"rollups {built} built in {time.perf_counter() - start:.0f} s", flush=True)


def built_kinds() -> list[str]:
    """The readers' page kinds whose module exists (issue #17 builds them one by one)."""
    return [kind for kind in KINDS if importlib.util.find_spec(f"mouchard.publishing.pages.{kind}") is not None]


# The canned queries' parameters: profiles of a real site and app, every other filter left empty (the heaviest).
PARAMS = {"site": "site1.example", "app": "com.app1", "phase": "", "category": "", "identifier": "", "registry": "",
          "data": ""}


def targets() -> list[tuple[str, dict]]:
    """The home page and every readers' page, every canned query (profiles with a real site and app), then the
    heaviest table pages."""
    params = PARAMS
    kinds = built_kinds()
    found = [("/", {})] + [(page_url(kind, key), query) for kind, key, query in PAGES if kind in kinds]
    found += [(f"/mouchard/{q.name}.json", {"_shape": "array", **{p: params.get(p, "") for p in q.params}})
              for q in load_queries()]
    found += [("/mouchard/sites_by_tracker_companies.json", {"_shape": "array", "phase": "initial"}),
              ("/mouchard/header_bidding_auctions.json", {"_shape": "array", "site": ""}),
              ("/mouchard/requests", {}), ("/mouchard/cookies", {}), ("/mouchard/visits", {"_search": "home"})]
    return found


def label_of(path: str, params: dict) -> str:
    """A target's name in the results table: "page: site (site1.example)", a query or table name."""
    if path == "/":
        return "page: home"
    kind, _, key = path.lstrip("/").partition("/")
    if kind in KINDS:
        what = unquote(key) or ", ".join(f"{name}={value}" for name, value in params.items())
        return f"page: {kind}" + (f" ({what})" if what else "")
    label = path.removeprefix("/mouchard/").removesuffix(".json")
    if params.get("phase"):
        label += f" (phase={params['phase']})"
    if params.get("site") == "":
        label += " (every site)"
    if "_search" in params:
        label += " (search)"
    return label


def _p95(values: list[float]) -> float:
    return values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]


def measure(db: Path, runs: int) -> list[dict]:
    ds = build_datasette(db, sql_time_limit_ms=60_000)
    loop = asyncio.new_event_loop()
    loop.run_until_complete(ds.invoke_startup())
    results = []
    for path, params in targets():
        timings, cpu = [], []
        label = label_of(path, params)
        for _ in range(runs + 1):  # the first run warms the page cache and is not counted
            start, start_cpu = time.perf_counter(), time.process_time()
            response = loop.run_until_complete(ds.client.get(path, params=params))
            timings.append((time.perf_counter() - start) * 1000)
            cpu.append((time.process_time() - start_cpu) * 1000)  # all threads: SQL runs in Datasette's pool
            if response.status_code != 200:
                break
        if response.status_code != 200:  # shown in the table (the target is not met), the others still measured
            print(f"{path}: HTTP {response.status_code}: {response.text[:300]}", file=sys.stderr)
            results.append({"target": label, "error": f"HTTP {response.status_code}", "p50": math.inf,
                            "p95": math.inf, "max": math.inf, "cpu_p95": math.inf})
            continue
        timings, cpu = sorted(timings[1:]), sorted(cpu[1:])
        results.append({"target": label, "p50": statistics.median(timings), "p95": _p95(timings),
                        "max": timings[-1], "cpu_p95": _p95(cpu)})
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()
    return results


def report(results: list[dict], db: Path, runs: int) -> str:
    counts = Store(db, readonly=True)
    try:
        sizes = {t: counts.count(t) for t in ("visits", "requests", "cookies", "rtb", "flows", "leaks", "brokers")}
    finally:
        counts.close()
    measured = [r for r in results if "error" not in r]
    errors = len(results) - len(measured)
    worst = max(r["p95"] for r in measured)
    worst_cpu = max(r["cpu_p95"] for r in measured)
    met = worst < TARGET_P95_MS and not errors
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    lines = ["## datasette", "",
             f"`benchmarks/datasette.py`, {runs} timed runs per target after one warm-up, through Datasette in process "
             f"(as `mouchard serve` sets it up, immutable). Machine: {platform.machine()}, {os.cpu_count()} CPUs, "
             f"load average {load} at the end; Python {platform.python_version()}, SQLite "
             f"{sqlite3.sqlite_version}. Database: "
             + ", ".join(f"{n:,} {t}" for t, n in sizes.items()) + f" ({db.stat().st_size / 1e6:,.0f} MB).", "",
             f"Target p95 < {TARGET_P95_MS} ms: **{'met' if met else 'NOT met'}** "
             + (f"({errors} target(s) answered an error; " if errors else "(")
             + f"worst p95 {worst:,.0f} ms wall clock, {worst_cpu:,.0f} ms of CPU). The CPU column is the time the "
             "process itself spent, which other work on the machine does not inflate.", "",
             "| target | p50 ms | p95 ms | max ms | CPU p95 ms |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {r['target']} | {r['error']} | | | |" if "error" in r else
              f"| {r['target']} | {r['p50']:,.0f} | {r['p95']:,.0f} | {r['max']:,.0f} | {r['cpu_p95']:,.0f} |"
              for r in results]
    return "\n".join(lines) + "\n"


def slowest_statements(db: Path, build: Callable[[sqlite3.Connection], object],
                       top: int = 3) -> tuple[float, int, list[tuple[float, str, list]]]:
    """One page's data built by `build` on its own connection: the whole build's time, its number of statements,
    and the `top` slowest ones with their query plans. A statement's time runs from its start to the next one's
    (its rows are fetched in between), so Python work between two is counted too."""
    from mouchard.storage.store import connect_readonly

    conn = connect_readonly(db)
    starts: list[tuple[float, str]] = []
    conn.set_trace_callback(lambda sql: starts.append((time.perf_counter(), sql)))
    try:
        begin = time.perf_counter()
        build(conn)
        end = time.perf_counter()
        conn.set_trace_callback(None)
        timed = [((starts[i + 1][0] if i + 1 < len(starts) else end) - start, sql)
                 for i, (start, sql) in enumerate(starts)]
        timed.sort(key=lambda pair: pair[0], reverse=True)
        found = []
        for seconds, sql in timed[:top]:
            try:
                plan = [row[-1] for row in conn.execute("EXPLAIN QUERY PLAN " + sql)]
            except sqlite3.Error as exc:  # a statement that cannot be explained as traced (e.g. PRAGMA): say so
                plan = [f"(no plan: {exc})"]
            found.append((seconds * 1000, sql, plan))
        return (end - begin) * 1000, len(starts), found
    finally:
        conn.close()


def page_builders() -> list[tuple[str, Callable[[sqlite3.Connection], object]]]:
    """What each readers' page computes from the database, by its label in the results: the home page's counts
    and charts (mouchard.publishing.pages.charts, as the mouchard_pages plugin calls them), each kind's build()."""
    found: list[tuple[str, Callable[[sqlite3.Connection], object]]] = []
    if importlib.util.find_spec("mouchard.publishing.pages.charts") is not None:
        from mouchard.publishing.pages import charts

        found.append(("page: home", lambda conn: (charts.home_counts(conn), charts.home_charts(conn, "fr"))))
    kinds = built_kinds()
    found += [(label_of(page_url(kind, key), query),
               lambda conn, kind=kind, key=key, query=query: builder(kind)(conn, key, "fr", query))
              for kind, key, query in PAGES if kind in kinds]
    return found


def explain(db: Path, results: list[dict]) -> str:
    """For each readers' page and canned query over the target: a page's slowest statements, a query's plan."""
    over = {r["target"] for r in results if r["p95"] >= TARGET_P95_MS}
    out = []
    from mouchard.storage.store import connect_readonly

    conn = connect_readonly(db)
    try:
        for q in load_queries():
            if q.name in over:
                values = {p: PARAMS.get(p, "") for p in q.params}
                out.append(f"### {q.name} ({', '.join(f'{k}={v!r}' for k, v in values.items())})")
                out += [f"    {row[-1]}" for row in conn.execute("EXPLAIN QUERY PLAN " + q.sql, values)]
    finally:
        conn.close()
    for label, build in page_builders():
        if label not in over:
            continue
        out.append(f"### {label}")
        try:
            total, statements, slowest = slowest_statements(db, build)
        except Exception as exc:  # the page itself fails (its error is in the table): nothing to explain
            out.append(f"page failed: {exc!r}")
            continue
        out.append(f"data built in {total:,.0f} ms with {statements} statements; the slowest:")
        for ms, sql, plan in slowest:
            out.append(f"{ms:,.0f} ms: {' '.join(sql.split())[:600]}")
            out += [f"    {line}" for line in plan]
    return "\n".join(out) + "\n" if out else "every readers' page and canned query under the target\n"


def write_section(text: str, path: Path = RESULTS) -> None:
    """Replace the "## datasette" section of RESULTS.md, keeping every other section."""
    old = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    lines = old.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.strip() == "## datasette"), None)
    if start is None:
        new = old.rstrip("\n") + "\n\n" + text
    else:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        new = "".join(lines[:start]) + text + ("\n" + "".join(lines[end:]) if end < len(lines) else "")
    path.write_text(new, encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, help="benchmark database (generated if missing)")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    parser.add_argument("--explain", action="store_true",
                        help="print the slowest statements and query plans of the readers' pages over the target")
    args = parser.parse_args()
    # The default file is named after the schema and the generator's shape: a stale one is never reused.
    db = args.db or Path(tempfile.gettempdir()) / f"mouchard-bench-datasette-s{SCHEMA_VERSION}-{SHAPE}.db"
    if not db.exists():
        start = time.perf_counter()
        print(f"generating {db} ...", flush=True)
        generate(db)
        print(f"generated in {time.perf_counter() - start:.0f} s", flush=True)
    results = measure(db, args.runs)
    text = report(results, db, args.runs)
    print(text)
    if args.explain:
        print(explain(db, results))
    if args.write:
        write_section(text)
    return 0 if max(r["p95"] for r in results) < TARGET_P95_MS else 1


if __name__ == "__main__":
    sys.exit(main())
