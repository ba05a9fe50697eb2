"""The SDK matrix: real SDKs through a real `mouchard proxy` to a local sink, scored against the sink's ground truth.

    python -m tests.sdks.harness [--out DIR] [--lanes N] [--only SDK ...]   # prints the table, writes DIR/

Each lane is a sink (tests/sdks/sink.py, a test web on 127.0.0.1) and a `mouchard proxy` whose upstream proxy
is that sink, with the SDK profile (tests/data/profiles/sdk.yml) and its own capture database. A lane runs one
driver × case at a time, so its sink log and its flows split into runs by order and by time: a run's requests
are the sink log entries it added, its flows those whose `started_at` falls between its start and its end.
Lanes run concurrently. Drivers: `tests/sdks/python/<sdk>.py` and `tests/sdks/node/<sdk>.mjs` (the latter with
the `proxy.cjs` preload), each run as `<python|node> DRIVER VALUES.json CASE` with the proxy in HTTPS_PROXY and
the proxy's CA in REQUESTS_CA_BUNDLE, SSL_CERT_FILE and NODE_EXTRA_CA_CERTS.

`run_matrix()` returns a `Matrix`: runs, capture databases, the `Score` (tests/sdks/score.py) and the problems
found on the way (a driver that failed, claimed a kind the sink never saw, or sent a planted value in a decoy run).
"""

from __future__ import annotations

import argparse
import base64
import datetime
import hashlib
import json
import os
import queue
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT / "tests") not in sys.path:  # `web` (the test web) when run as `python -m tests.sdks.harness`
    sys.path.insert(0, str(ROOT / "tests"))

from mouchard.storage.store import readonly_uri
from procs import stop_tree  # noqa: E402  (tests/, put on sys.path above)

from . import score as scoring
from .sink import make_sink
from .values import KINDS, PROFILE_PATH, export, values

HERE = Path(__file__).resolve().parent
CASES = (*KINDS, "decoy")
BOUND = 180.0  # seconds one driver or one start may take before it counts as failed (a guard, not a measure)


@dataclass(frozen=True)
class Driver:
    lang: str  # "python" or "node"
    name: str  # file stem: the SDK
    path: Path

    def command(self, values_path: Path, case: str) -> list[str]:
        if self.lang == "python":
            return [sys.executable, str(self.path), str(values_path), case]
        preload = HERE / "node" / "proxy.cjs"
        pre = ["--require", str(preload)] if preload.exists() else []
        return [shutil.which("node") or "node", *pre, str(self.path), str(values_path), case]


def drivers(only: tuple[str, ...] = ()) -> list[Driver]:
    """Every driver present (Python then Node), or those whose `lang/name` or `name` is in `only`."""
    found = [Driver("python", p.stem, p) for p in sorted((HERE / "python").glob("*.py")) if not p.name.startswith("_")]
    found += [Driver("node", p.stem, p) for p in sorted((HERE / "node").glob("*.mjs")) if not p.name.startswith("_")]
    return [d for d in found if not only or d.name in only or f"{d.lang}/{d.name}" in only]


@dataclass
class Run:
    driver: Driver
    case: str
    lane: int = -1
    started: float = 0.0
    ended: float = 0.0
    seconds: float = 0.0
    returncode: int | None = None
    output: dict | None = None  # the driver's JSON line
    stderr: str = ""
    requests: list[dict] = field(default_factory=list)  # sink log entries, in order
    flows: list[dict] = field(default_factory=list)  # capture rows, each with its "leaks"

    @property
    def sdk(self) -> str:
        return f"{self.driver.lang}/{self.driver.name}"

    @property
    def sent(self) -> list[str]:
        return list((self.output or {}).get("sent") or [])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lane:
    """One sink and one `mouchard proxy` in front of it, with its own capture database."""

    def __init__(self, index: int, folder: Path) -> None:
        self.index, self.folder = index, folder
        folder.mkdir(parents=True, exist_ok=True)
        self.sink = make_sink().start()
        self.port = _free_port()
        self.db = folder / "capture.db"
        if self.db.exists():  # a database holds every run it ever recorded: scoring needs this run's flows only
            raise RuntimeError(f"{self.db} exists: give the harness an empty folder")
        self.ca = folder / "conf" / "mitmproxy-ca-cert.pem"
        args = [sys.executable, "-m", "mouchard", "proxy", "--profile", str(PROFILE_PATH), "--port", str(self.port),
                "--listen-host", "127.0.0.1", "--db", str(self.db), "--proxy", self.sink.proxy_url,
                "--ca-file", self.sink.ca_pem_path, "--confdir", str(folder / "conf"), "--flow-detail", "0"]
        self.log = folder / "proxy.log"
        with self.log.open("w") as out:  # a file, not a pipe nobody reads (a full pipe would block mitmdump)
            self.process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)

    def wait_ready(self) -> None:
        """Wait until the proxy listens and its CA exists (events), failing at once if it exits."""
        deadline = time.monotonic() + BOUND
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"lane {self.index}: proxy exited: {self.log.read_text(errors='replace')[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                if self.ca.exists():
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"lane {self.index}: proxy did not start")
            time.sleep(0.1)

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k.lower() not in (
            "https_proxy", "http_proxy", "all_proxy", "no_proxy", "node_options")}
        proxy = f"http://127.0.0.1:{self.port}"
        ca = str(self.ca)
        env.update(HTTPS_PROXY=proxy, HTTP_PROXY=proxy, https_proxy=proxy, http_proxy=proxy, NO_PROXY="",
                   no_proxy="", REQUESTS_CA_BUNDLE=ca, SSL_CERT_FILE=ca, CURL_CA_BUNDLE=ca, NODE_EXTRA_CA_CERTS=ca,
                   PYTHONDONTWRITEBYTECODE="1", HOME=str(self.folder / "home"), TMPDIR=str(self.folder / "tmp"))
        (self.folder / "home").mkdir(exist_ok=True)
        (self.folder / "tmp").mkdir(exist_ok=True)
        return env

    def execute(self, run: Run, values_path: Path) -> None:
        """Run one driver × case to its end; its sink requests are those logged meanwhile."""
        run.lane = self.index
        before = len(self.sink.log)
        run.started = time.time()
        try:
            done = subprocess.run(run.driver.command(values_path, run.case), env=self.env(), cwd=ROOT,
                                  capture_output=True, text=True, timeout=BOUND, check=False)
            run.returncode, out, run.stderr = done.returncode, done.stdout, done.stderr[-3000:]
        except subprocess.TimeoutExpired as exc:
            run.returncode, out, run.stderr = -1, (exc.stdout or b"").decode(errors="replace") if isinstance(
                exc.stdout, bytes) else (exc.stdout or ""), "timed out"
        run.ended = time.time()
        run.seconds = run.ended - run.started
        run.requests = list(self.sink.log[before:])
        for line in reversed(out.strip().splitlines()):
            try:
                parsed = json.loads(line)
            except ValueError:
                continue
            if isinstance(parsed, dict) and "sent" in parsed:
                run.output = parsed
                break

    def close(self) -> None:
        stop_tree(self.process, signal.SIGTERM, BOUND)  # the proxy finishes its run, then its tree
        self.sink.stop()


def _epoch(iso: str) -> float:
    return datetime.datetime.fromisoformat(iso).timestamp()


def read_capture(db: Path) -> list[dict]:
    """Flows of a capture database, each with its leaks (identifier, chain, location, field)."""
    con = sqlite3.connect(readonly_uri(db), uri=True)
    con.row_factory = sqlite3.Row
    try:
        flows = [dict(r) for r in con.execute(
            "SELECT id, started_at, kind, method, host, url, status, error, request_body_sha256, analysis "
            "FROM flows ORDER BY id")]
        leaks: dict[int, list[dict]] = {}
        for r in con.execute("SELECT flow_id, identifier, chain, location, field FROM leaks WHERE flow_id IS NOT NULL"):
            leaks.setdefault(r["flow_id"], []).append(dict(r))
    finally:
        con.close()
    for f in flows:
        f["leaks"] = leaks.get(f["id"], [])
    return flows


def _pair(requests: list[dict], flows: list[dict]) -> list[tuple[dict, dict | None]]:
    """Each sink request with its flow: same method, host and body hash, else same method and host, in order."""
    free = list(flows)
    pairs = []
    for req in requests:
        digest = hashlib.sha256(req.get("body") or b"").hexdigest()
        keyed = [f for f in free if f["method"] == req["method"] and f["host"] == req["host"]]
        exact = [f for f in keyed if (f["request_body_sha256"] or hashlib.sha256(b"").hexdigest()) == digest]
        chosen = (exact or keyed or [None])[0]
        if chosen is not None:
            free.remove(chosen)
        pairs.append((req, chosen))
    return pairs


@dataclass
class Matrix:
    runs: list[Run]
    databases: list[Path]
    score: scoring.Score
    values: dict
    unattributed_flows: int = 0
    stored: list = field(default_factory=list)  # leakscan findings: planted values left in stored text
    checked: int = 0  # stored values the re-scan read


def evaluate(runs: list[Run], captures: dict[int, list[dict]], document: dict) -> tuple[scoring.Score, int]:
    """Attribute flows to runs (lane and time window), pair them with the sink's requests, and score."""
    result = scoring.Score()
    attributed = 0
    for run in runs:
        run.flows = [f for f in captures.get(run.lane, []) if f["started_at"]
                     and run.started - 0.001 <= _epoch(f["started_at"]) <= run.ended + 0.001]  # ms resolution
        attributed += len(run.flows)
    unattributed = sum(len(v) for v in captures.values()) - attributed
    planted, decoy = document["planted"], document["decoy"]
    for run in sorted(runs, key=lambda r: (r.sdk, r.case)):
        if run.returncode != 0 or run.output is None:
            result.problems.append(f"{run.sdk} {run.case}: driver failed ({run.returncode}): {run.stderr[-500:]}")
            continue
        truth_any: set[str] = set()
        decoys_seen: set[str] = set()
        for req, flow in _pair(run.requests, run.flows):
            truth = scoring.carried(req, planted)
            truth_any |= truth
            if run.case == "decoy":
                decoys_seen |= scoring.carried(req, decoy)
            if flow is None:
                result.problems.append(f"{run.sdk} {run.case}: no flow recorded for {req['method']} {req['host']}"
                                       f"{req['path']}")
                continue
            leak_kinds = {leak["identifier"] for leak in flow["leaks"]}
            detail = {"host": req["host"], "path": req["path"], "flow_id": flow["id"], "lane": run.lane,
                      "chains": sorted({f"{x['identifier']}:{x['chain']}" for x in flow["leaks"]})}
            scoring.score_request(result, run.sdk, run.case, truth, leak_kinds, detail)
        if run.case == "decoy":
            if truth_any:
                result.problems.append(f"{run.sdk} decoy: the sink saw planted {sorted(truth_any)} in a decoy run")
            missing = set(run.sent) - decoys_seen
            if missing:
                result.problems.append(f"{run.sdk} decoy: driver says it sent {sorted(missing)}, the sink never saw them")
        else:
            if run.sent and run.sent != [run.case]:
                result.problems.append(f"{run.sdk} {run.case}: driver says it sent {run.sent}")
            if run.case in run.sent and run.case not in truth_any:
                result.problems.append(f"{run.sdk} {run.case}: driver says it sent {run.case}, the sink never saw it")
            extra = truth_any - {run.case}
            if extra:
                result.problems.append(f"{run.sdk} {run.case}: the sink also saw planted {sorted(extra)}")
    return result, unattributed


def run_matrix(folder: Path, *, lanes: int = 3, only: tuple[str, ...] = ()) -> Matrix:
    """Run every driver × case through `lanes` proxies and sinks, stop them, read the captures and score."""
    folder.mkdir(parents=True, exist_ok=True)
    document = values()
    values_path = export(folder / "values.json")
    todo: queue.Queue[Run] = queue.Queue()
    runs = [Run(d, case) for d in drivers(only) for case in CASES]
    for run in runs:
        todo.put(run)
    started = [Lane(i, folder / f"lane{i}") for i in range(lanes)]
    errors: list[BaseException] = []
    try:
        for lane in started:
            lane.wait_ready()

        def work(lane: Lane) -> None:
            while True:
                try:
                    run = todo.get_nowait()
                except queue.Empty:
                    return
                try:
                    lane.execute(run, values_path)
                except BaseException as exc:  # noqa: BLE001  a harness bug: re-raised below, never lost
                    errors.append(exc)
                    return

        threads = [threading.Thread(target=work, args=(lane,), daemon=True) for lane in started]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        for lane in started:
            lane.close()
    if errors:
        raise errors[0]
    captures = {lane.index: read_capture(lane.db) for lane in started}
    result, unattributed = evaluate(runs, captures, document)
    write_corpus(folder / "sdk_traffic.jsonl", runs)
    matrix = Matrix(runs, [lane.db for lane in started], result, document, unattributed)
    # tests/leakscan.py (tests/ is on sys.path): every stored text column, in every encoding
    from leakscan import planted_findings

    for db in matrix.databases:
        findings, checked = planted_findings(db, PROFILE_PATH)
        matrix.stored += findings
        matrix.checked += checked
    return matrix


def write_corpus(path: Path, runs: list[Run]) -> Path:
    """The SDK traffic the sinks received, one request per line (method, url, headers, body in base64): the
    `--corpus sdk` input of benchmarks/proxy.py."""
    with path.open("w", encoding="utf-8") as out:
        for run in runs:
            for req in run.requests:
                out.write(json.dumps({"sdk": run.sdk, "case": run.case, "method": req["method"], "url": req["url"],
                                      "headers": req.get("raw_headers") or list(req.get("headers", {}).items()),
                                      "body": base64.b64encode(req.get("body") or b"").decode()}) + "\n")
    return path


def report(matrix: Matrix) -> str:
    """The table, then misses, false positives and problems (one line each)."""
    s = matrix.score
    lines = [s.table(), ""]
    lines += [f"miss: {m['sdk']} {m['kind']} {m['host']}{m['path']} leaks={m['chains']}" for m in s.misses]
    lines += [f"false positive: {m['sdk']} {m['kind']} in run {m['run']} {m['host']}{m['path']} {m['chains']}"
              for m in s.false_positives]
    lines += [f"problem: {p}" for p in s.problems]
    if matrix.unattributed_flows:
        lines.append(f"problem: {matrix.unattributed_flows} flow(s) fell outside every run")
    lines.append(f"re-scan of stored text: {len(matrix.stored)} planted value(s) left in {matrix.checked} values read")
    lines += [f"stored in clear: {f.table}.{f.column} row {f.rowid}: {f.kind} ({f.how})" for f in matrix.stored]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="folder for databases, values and sdk_traffic.jsonl (kept)")
    parser.add_argument("--lanes", type=int, default=3, help="proxy + sink pairs running drivers side by side")
    parser.add_argument("--only", nargs="*", default=[], help="drivers: mixpanel (both languages), node/mixpanel...")
    args = parser.parse_args(argv)
    folder = args.out or Path(tempfile.mkdtemp(prefix="mouchard-sdks-"))
    matrix = run_matrix(folder, lanes=args.lanes, only=tuple(args.only))
    text = report(matrix)
    (folder / "table.md").write_text(text + "\n", encoding="utf-8")
    print(text)
    print(f"\n(databases and traffic in {folder})")
    totals = matrix.score.totals()
    ok = (not matrix.score.problems and not matrix.stored and (totals.recall or 0) >= scoring.RECALL_TARGET
          and (totals.precision or 0) >= scoring.PRECISION_TARGET)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
