"""Every long-running command stops whole on a stop signal, even started in the background by a script.

Each command is started as a script starts it, `bash -c 'mouchard ... &'` (a non-interactive shell: the command
inherits SIGINT *ignored*), and signalled once it is ready (its port open, or a row in its database — never after
a fixed sleep). Afterwards nothing it started is left: every process carrying the run's marker in its environment
(so browsers started after the snapshot are seen too) and every pid of the tree snapshotted before the signal is
gone, the port is free, and the run is `interrupted` in `crawls` with everything it recorded.

Which cases, to stay cheap on two cores: the proxy gets the four signals (cheap, no browser; SIGKILL of the parent is
its own mechanism: the parent-death signal). `serve` gets SIGINT, SIGTERM and SIGHUP (cheap; no child to orphan, so
no SIGKILL case). `crawl` (Scrapy's own handlers) gets SIGINT — the inherited-ignored case — and SIGHUP, which
follows whatever handles SIGTERM (mouchard.lifecycle.follow_sigterm), so it stands for SIGTERM; its SIGKILL case is
test_crawler_resume. A crawl on a local Dask cluster (`crawl --workers 1`) gets SIGTERM (its crawls in flight
stopped, the cluster closed, the shard merged) and SIGKILL (the worker dies with its parent, the crawl child with
the worker). `demo` gets SIGTERM (forwarded to the running step) and SIGKILL (the step's parent-death signal).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import psutil
import pytest

from demoweb import DATA as SAMPLES
from mouchard.lifecycle import STOP_SIGNALS, StopSignals, Stopped

ROOT = Path(__file__).resolve().parents[1]
PROFILE_PATH = SAMPLES / "profiles" / "android.yml"
AUDIT_DATA = ROOT / "tests" / "data" / "audits"  # a phone capture and its device profile, for an audit
PUBLISHERS = ["www.example-news.fr", "www.daily-example.co.uk", "shop.example-store.com",
              "blog.example-user.github.io", "www.example-campaign.org", "www.clean-example.org"]
MARKER = "MOUCHARD_LIFECYCLE_TEST"
SAFETY = 120.0  # seconds before a wait gives up: a bound against hanging, not a timing assertion


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), 0.5).close()
        return True
    except OSError:
        return False


def port_free(port: int) -> bool:
    """Nothing listens on the port: a new server could bind it (TIME_WAIT connections do not count)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def rows(db: Path, sql: str, params=()) -> list[dict]:
    """Rows of `db`, or [] while it or its tables do not exist yet."""
    if not Path(db).exists():
        return []
    con = sqlite3.connect(db, timeout=30)
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute(sql, params)]
    except sqlite3.OperationalError:
        return []
    finally:
        con.close()


class Background:
    """A mouchard command started in the background by a non-interactive shell (SIGINT inherited ignored).

    Every process it starts carries a marker in its environment, so that what it leaves behind can be found even
    if it was started after the tree was snapshotted, or re-parented when its parent died.
    """

    def __init__(self, args: list[str], folder: Path) -> None:
        self.marker = uuid.uuid4().hex
        self.log = folder / f"command-{self.marker[:8]}.log"
        script = '"$@" >"$MOUCHARD_TEST_LOG" 2>&1 </dev/null & echo $!; wait $!'
        env = {**os.environ, MARKER: self.marker, "MOUCHARD_TEST_LOG": str(self.log), "PYTHONUNBUFFERED": "1"}
        self.shell = subprocess.Popen(["bash", "-c", script, "bash", sys.executable, "-m", "mouchard", *args],
                                      stdout=subprocess.PIPE, text=True, env=env, start_new_session=True)
        self.pid = int(self.shell.stdout.readline())
        self.tree: list[psutil.Process] = []

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_for(self, ready, what: str) -> None:
        """Poll `ready()` (an event: a port, a row) while the command runs."""
        deadline = time.monotonic() + SAFETY
        while not ready():
            assert self.shell.poll() is None, f"the command ended before {what}:\n{self.output()[-3000:]}"
            assert time.monotonic() < deadline, f"no {what}:\n{self.output()[-3000:]}"
            time.sleep(0.1)

    def snapshot(self) -> list[psutil.Process]:
        """The command and every process below it, now."""
        root = psutil.Process(self.pid)
        self.tree = [root, *root.children(recursive=True)]
        return self.tree

    def stop(self, signum: int) -> int:
        """Send `signum` to the command (not its children: passing it on is the command's job); its exit status."""
        self.snapshot()
        os.kill(self.pid, signum)
        return self.shell.wait(SAFETY)

    def marked(self) -> list[psutil.Process]:
        """Processes still carrying this command's marker."""
        found = []
        for process in psutil.process_iter():
            try:
                if process.environ().get(MARKER) == self.marker:
                    found.append(process)
            except (psutil.Error, OSError):
                continue
        return found

    def assert_nothing_left(self) -> None:
        _, alive = psutil.wait_procs(self.tree, timeout=60)
        deadline = time.monotonic() + 60
        while (left := [p for p in self.marked() if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]) \
                and time.monotonic() < deadline:
            time.sleep(0.2)
        described = [(p.pid, _name(p)) for p in {*alive, *left}]
        assert not alive and not left, f"left running: {described}\n{self.output()[-2000:]}"

    def cleanup(self) -> None:
        """Kill whatever is left, whatever the test's outcome."""
        for process in [*self.tree, *self.marked()]:
            try:
                process.kill()
            except psutil.Error:
                pass
        if self.shell.poll() is None:
            self.shell.kill()
        self.shell.wait(30)
        self.shell.stdout.close()


def _name(process: psutil.Process) -> str:
    try:
        return " ".join(process.cmdline())[:120]
    except psutil.Error:
        return "?"


@pytest.fixture
def started(tmp_path):
    commands: list[Background] = []

    def start(*args: str) -> Background:
        command = Background([str(a) for a in args], tmp_path)
        commands.append(command)
        return command

    yield start
    for command in commands:
        command.cleanup()


# --- the helper itself ---------------------------------------------------------------------------------------------

def test_a_child_dies_with_its_killed_parent_and_gets_its_own_process_group(tmp_path):
    """The parent-death signal: a parent SIGKILLed leaves no child (the child here would sleep for an hour)."""
    code = ("import subprocess, sys; from mouchard.lifecycle import child_options; "
            "p = subprocess.Popen(['sleep', '3600'], **child_options()); print(p.pid, flush=True); p.wait()")
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        child = psutil.Process(int(parent.stdout.readline()))
        assert os.getpgid(child.pid) == child.pid != os.getpgid(parent.pid)
        parent.kill()
        parent.wait()
        child.wait(60)  # raises psutil.TimeoutExpired if the child outlived its parent
    finally:
        parent.stdout.close()
        for pid in (parent.pid,):
            if parent.poll() is None:
                os.kill(pid, signal.SIGKILL)


def test_stop_signals_are_handled_even_when_inherited_ignored():
    previous = {s: signal.signal(s, signal.SIG_IGN) for s in STOP_SIGNALS}
    try:
        for signum in STOP_SIGNALS:
            with pytest.raises(Stopped) as raised, StopSignals():
                signal.raise_signal(signum)
            assert raised.value.signum == signum
            assert signal.getsignal(signum) == signal.SIG_IGN  # restored on leaving
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def test_a_stop_handled_by_a_nested_handler_is_noted_by_the_outer_one():
    """run_in_child's handlers replace the demo's while a job runs: the demo still learns which stop arrived."""
    with StopSignals() as outer:
        with StopSignals(raising=False) as inner:
            signal.raise_signal(signal.SIGHUP)  # noted by the inner one only (it does not raise)
        assert inner.received == outer.received == signal.SIGHUP
        with StopSignals(raising=False):
            signal.raise_signal(signal.SIGTERM)
        assert outer.received == signal.SIGHUP  # the first stop is the one kept


def test_a_stop_is_passed_on_to_the_running_child_and_its_group_is_swept(tmp_path):
    code = ("import signal, time; signal.signal(signal.SIGTERM, lambda *a: exit(7)); print('ready', flush=True); "
            "time.sleep(3600)")
    with StopSignals() as stop:
        child = stop.start([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        assert child.stdout.readline() == "ready\n" and os.getpgid(child.pid) == child.pid
        signal.raise_signal(signal.SIGTERM)  # to us: we pass it on
        assert stop.wait([child]) == [7]
        child.stdout.close()
    assert stop.received == signal.SIGTERM


# --- mouchard proxy --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGKILL],
                         ids=lambda s: signal.Signals(s).name)
def test_proxy_started_by_a_script_stops_whole_and_keeps_its_run(signum, started, testweb, tmp_path):
    port, db = free_port(), tmp_path / "app.db"
    proxy = started("proxy", "--profile", PROFILE_PATH, "--port", port, "--listen-host", "127.0.0.1", "--db", db,
                    "--host-map", "*=127.0.0.1", "--confdir", tmp_path / "conf", "--flow-detail", "0")
    proxy.wait_for(lambda: port_open(port), "proxy port open")
    with httpx.Client(proxy=f"http://127.0.0.1:{port}", timeout=60) as client:
        assert client.get(testweb.url("app-measurement.com", "/garbage", scheme="http")).status_code == 200
    proxy.wait_for(lambda: rows(db, "SELECT id FROM flows"), "flow recorded")
    code = proxy.stop(signum)
    proxy.assert_nothing_left()
    assert port_free(port)
    run = rows(db, "SELECT status, summary FROM crawls")
    assert [r["status"] for r in run] == ["interrupted"], proxy.output()[-2000:]
    assert json.loads(run[0]["summary"])["flows"] == len(rows(db, "SELECT id FROM flows")) == 1
    if signum != signal.SIGKILL:
        assert code == 0, proxy.output()[-2000:]
        assert "run 1: 1 http" in proxy.output()


# --- mouchard serve --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=lambda s: signal.Signals(s).name)
def test_serve_started_by_a_script_stops_and_frees_its_port(signum, started, tmp_path):
    from mouchard.storage.store import Store

    db, port = tmp_path / "served.db", free_port()
    Store(db).close()
    server = started("serve", "--db", db, "--port", port)
    server.wait_for(lambda: port_open(port), "Datasette port open")
    assert server.stop(signum) == 0, server.output()[-2000:]
    server.assert_nothing_left()
    assert port_free(port)


# --- mouchard crawl, worker, demo ------------------------------------------------------------------------------------

def _flags(testweb) -> list[str]:
    return [f"--browser-arg={flag}" for flag in testweb.chromium_args()]


def assert_interrupted_with_its_visits(db: Path, crawl) -> None:
    """The stopped crawl's run is `interrupted`, kept some but not all visits, and its summary counts them."""
    run = rows(db, "SELECT status, summary FROM crawls")
    visits = rows(db, "SELECT id FROM visits")
    assert [r["status"] for r in run] == ["interrupted"], crawl.output()[-2000:]
    assert 1 <= len(visits) < len(PUBLISHERS) and json.loads(run[0]["summary"])["visits"] == len(visits)


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGHUP], ids=lambda s: signal.Signals(s).name)
def test_crawl_started_by_a_script_stops_whole_and_finishes_interrupted(signum, started, testweb, tmp_path):
    db = tmp_path / "crawl.db"
    crawl = started("crawl", "--db", db, "--consent", "none", "--concurrency", "1", "--timeout", "20",
                    *_flags(testweb), *[testweb.url(host) for host in PUBLISHERS])
    crawl.wait_for(lambda: rows(db, "SELECT id FROM visits"), "visit recorded")
    crawl.stop(signum)
    crawl.assert_nothing_left()
    assert_interrupted_with_its_visits(db, crawl)


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL], ids=lambda s: signal.Signals(s).name)
def test_crawl_on_a_local_cluster_stops_its_workers(signum, started, testweb, tmp_path):
    """`crawl --workers 1`: a local Dask cluster whose worker runs the crawl in a child. SIGTERM: the crawl in flight
    ends `interrupted`, the cluster closes, the shard is merged and the run is `interrupted`. SIGKILL: the worker
    process dies with its parent (Dask watches it) and the crawl child with the worker (its parent-death signal),
    still ending its crawl `interrupted` in the shard."""
    db = tmp_path / "cluster.db"
    shards = Path(f"{db}.shards")
    crawl = started("crawl", "--db", db, "--consent", "none", "--concurrency", "1", "--timeout", "20",
                    "--workers", "1", *_flags(testweb),
                    *[testweb.url(host, f"/?lifecycle={uuid.uuid4().hex[:6]}") for host in PUBLISHERS])

    def shard_visits() -> list[dict]:
        return [v for shard in shards.glob("*/worker-0.db") for v in rows(shard, "SELECT id FROM visits")]

    crawl.wait_for(shard_visits, "visit recorded by the worker")
    crawl.stop(signum)
    crawl.assert_nothing_left()
    (shard,) = shards.glob("*/worker-0.db")
    crawls = rows(shard, "SELECT status FROM crawls ORDER BY id")
    assert [c["status"] for c in crawls][-1] == "interrupted", crawl.output()[-2000:]
    assert {c["status"] for c in crawls[:-1]} <= {"finished"}
    visits = rows(shard, "SELECT id FROM visits")
    assert 1 <= len(visits) < len(PUBLISHERS)
    if signum != signal.SIGKILL:
        run = rows(db, "SELECT status, summary FROM crawls WHERE kind = 'web'")
        assert [r["status"] for r in run] == ["interrupted"], crawl.output()[-2000:]
        assert json.loads(run[0]["summary"])["visits"] == len(rows(db, "SELECT id FROM visits")) == len(visits)


@pytest.mark.browser
@pytest.mark.slow
def test_audit_stopped_mid_crawl_seals_what_it_collected(started, testweb, tmp_path):
    """SIGTERM reaches the audit's running collector (a crawl in a child process): the crawl ends `interrupted`
    with its visits, the steps left do not run, and the bundle is still written, verifiable, saying so."""
    import yaml

    spec = tmp_path / "spec.yml"
    spec.write_text(yaml.safe_dump({
        "case": "STOP-1", "jurisdiction": "eu", "phases": ["initial"], "concurrency": 1, "timeout": 20,
        "targets": {"urls": [testweb.url(host) for host in PUBLISHERS],
                    "app_capture": str(AUDIT_DATA / "capture.har"), "profile": str(AUDIT_DATA / "phone.yml")},
        "network": {"host_map": ["*=127.0.0.1"], "ignore_https_errors": True}}))
    bundle = tmp_path / "bundle"
    audit = started("audit", spec, "--out", bundle)
    audit.wait_for(lambda: rows(bundle / "audit.db", "SELECT id FROM visits"), "visit recorded by the audit's crawl")
    code = audit.stop(signal.SIGTERM)
    audit.assert_nothing_left()
    assert code == 130, audit.output()[-3000:]
    steps = json.loads((bundle / "provenance.json").read_text())["collectors"]
    assert [(s["kind"], s["status"], s["reason"]) for s in steps] == [
        ("web", "interrupted", "run 1 ended interrupted (stopped by SIGTERM)"),
        ("app", "not-run", "the audit was stopped by SIGTERM")], audit.output()[-3000:]
    run = rows(bundle / "audit.db", "SELECT kind, status FROM crawls WHERE kind != 'audit'")
    visits = rows(bundle / "audit.db", "SELECT id FROM visits")
    assert run == [{"kind": "web", "status": "interrupted"}] and 1 <= len(visits) < len(PUBLISHERS)
    assert "web: 6 urls, consent phases initial: interrupted" in audit.output()
    from mouchard import api

    assert api.verify(bundle).ok


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL], ids=lambda s: signal.Signals(s).name)
def test_demo_stops_its_running_step(signum, started, tmp_path):
    db = tmp_path / "demo.db"
    demo = started("demo", "--no-serve", "--db", db, "--concurrency", "1")
    demo.wait_for(lambda: rows(db, "SELECT id FROM visits"), "visit recorded by the demo's crawl")
    code = demo.stop(signum)
    demo.assert_nothing_left()
    run = rows(db, "SELECT kind, status FROM crawls")
    steps = Path(f"{db}.log")  # the steps' own output (the crawl's), beside the demo's
    step_output = steps.read_text(errors="replace")[-3000:] if steps.exists() else ""
    assert run == [{"kind": "web", "status": "interrupted"}], demo.output()[-2000:] + "\n--- steps:\n" + step_output
    assert rows(db, "SELECT id FROM visits")
    if signum != signal.SIGKILL:
        assert code == 1 and "demo stopped by SIGTERM" in demo.output()
