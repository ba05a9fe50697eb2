"""Chromium runs sandboxed: as root, as an unprivileged user with Chromium's own sandbox on; --no-sandbox only when
asked for on the command line, and then recorded in crawls.warnings.

The crawl tests read the browser's process tree from /proc while a real `mouchard crawl` has a page open (a page of
the test web that never answers keeps the browser up until the visit's timeout).
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mouchard import browser
from demoweb.sites import hostile

pytestmark = [pytest.mark.browser]

needs_root = pytest.mark.skipif(not browser.running_as_root(), reason="the browser user is used only as root")


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def _tree(root: int) -> list[int]:
    """Every descendant of `root` (iterative walk)."""
    seen, todo = [], [root]
    while todo:
        pid = todo.pop()
        for child in _children(pid):
            if child not in seen:
                seen.append(child)
                todo.append(child)
    return seen


def _process(pid: int) -> dict | None:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        status = dict(line.split(":\t", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                      if ":\t" in line)
    except OSError:
        return None
    args = [a.decode(errors="replace") for a in cmdline if a]
    if len(args) == 1:  # Chromium's children rewrite their title as one string (setproctitle)
        args = args[0].split(" ")
    return {"pid": pid, "args": args,
            "uid": int(status["Uid"].split()[0]), "seccomp": int(status.get("Seccomp", "0")),
            "no_new_privs": int(status.get("NoNewPrivs", "0"))}


def _is_chromium(info: dict | None) -> bool:
    return bool(info and info["args"]) and os.path.basename(info["args"][0]) in ("chromium", "chrome")


def _browser_processes(root: int) -> list[dict]:
    """Chromium processes under `root`, and those of the same profiles (renderers live in their own PID namespace,
    under the zygote, where the parent links do not reach)."""
    ours = [info for info in map(_process, _tree(root)) if _is_chromium(info)]
    profiles = {a for info in ours for a in info["args"] if a.startswith("--user-data-dir=")}
    others = [_process(int(p.name)) for p in Path("/proc").iterdir() if p.name.isdigit()]
    return ours + [info for info in others if _is_chromium(info) and profiles & set(info["args"])]


def _crawl_watching(testweb, db: Path, *extra: str) -> tuple[subprocess.CompletedProcess, list[dict]]:
    """Crawl a page that never answers (and a normal one); read the browser processes while they run."""
    args = [sys.executable, "-m", "mouchard", "crawl", "--db", str(db), "--consent", "none", "--timeout", "8",
            "--concurrency", "2", *(f"--browser-arg={flag}" for flag in testweb.chromium_args()), *extra,
            testweb.url(hostile.HOST, "/hang"), testweb.url("www.clean-example.org")]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen: dict[int, dict] = {}
    # Until the crawl ends, or until a renderer is seen and every renderer alive has finished starting its
    # sandbox: a renderer just forked from the zygote applies seccomp a moment later, so each process keeps its
    # latest reading and the wait is on that event, not on a time.
    while proc.poll() is None:
        alive = _browser_processes(proc.pid)
        for info in alive:
            seen[info["pid"]] = info
        renderers = [p for p in alive if "--type=renderer" in p["args"]]
        if renderers and all(p["seccomp"] == 2 and p["no_new_privs"] == 1 for p in renderers):
            for gone in [pid for pid, p in seen.items() if "--type=renderer" in p["args"]
                         and pid not in {r["pid"] for r in renderers}]:
                del seen[gone]  # exited before it was read sandboxed: the live ones are the evidence
            break
        time.sleep(0.05)
    out, err = proc.communicate(timeout=300)
    return subprocess.CompletedProcess(args, proc.returncode, out, err), list(seen.values())


@needs_root
def test_crawl_as_root_runs_chromium_as_an_unprivileged_user_with_its_sandbox_on(testweb, tmp_path):
    result, processes = _crawl_watching(testweb, tmp_path / "sandboxed.db")
    assert result.returncode == 0, result.stderr[-2000:]
    assert processes, "no browser process seen"
    assert all(p["uid"] != 0 for p in processes), [(p["pid"], p["uid"], p["args"][:2]) for p in processes]
    assert not any("--no-sandbox" in p["args"] for p in processes)
    renderers = [p for p in processes if "--type=renderer" in p["args"]]
    assert renderers and all(p["seccomp"] == 2 and p["no_new_privs"] == 1 for p in renderers)
    conn = sqlite3.connect(tmp_path / "sandboxed.db")
    args, warnings = conn.execute("SELECT browser_args, warnings FROM crawls").fetchone()
    statuses = {s for (s,) in conn.execute("SELECT status FROM visits")}
    conn.close()
    assert "--no-sandbox" not in json.loads(args)
    assert all("--no-sandbox" not in w for w in json.loads(warnings))
    assert "ok" in statuses


def test_no_sandbox_only_on_the_flag_and_then_recorded(testweb, tmp_path):
    db = tmp_path / "unsandboxed.db"
    result, processes = _crawl_watching(testweb, db, "--no-sandbox")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "warning: the browser runs without Chromium's sandbox (--no-sandbox)" in result.stderr
    conn = sqlite3.connect(db)
    args, warnings = conn.execute("SELECT browser_args, warnings FROM crawls").fetchone()
    conn.close()
    assert "--no-sandbox" in json.loads(args)
    assert any("without Chromium's sandbox" in w for w in json.loads(warnings))
    assert any("--no-sandbox" in p["args"] for p in processes)


def test_base_args_never_turn_the_sandbox_off_by_themselves():
    assert "--no-sandbox" not in browser.base_args()
    assert "--no-sandbox" not in browser.launch_options(browser.find_browser())["args"]
    assert browser.launch_options(browser.find_browser())["chromium_sandbox"] is True
    off = browser.sandbox(no_sandbox=True)
    assert browser.launch_options(browser.find_browser(), box=off)["chromium_sandbox"] is False
    assert off.warnings


@needs_root
def test_every_project_launch_of_chromium_goes_through_the_launcher():
    """The sandbox has one mechanism: no file starts Chromium with its own executable_path or base_args."""
    root = Path(__file__).resolve().parents[1]
    offenders = []
    for folder in ("mouchard", "crawler", "addons", "audits", "benchmarks", "demoweb", "tests"):
        for path in (root / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            if path.name in ("browser.py", "test_core_sandbox.py") and path.parent.name in ("mouchard", "tests"):
                continue
            if "executable_path=" in text or "args=base_args(" in text:
                offenders.append(str(path.relative_to(root)))
    assert offenders == []


@needs_root
def test_launcher_refuses_a_browser_the_browser_user_cannot_reach(tmp_path):
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    fake = private / "chrome"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    os.chmod(tmp_path, 0o700)
    with pytest.raises(browser.UserError, match="cannot be run by user"):
        browser.launcher(str(fake), browser.sandbox())


@needs_root
def test_launcher_is_fixed_text_and_private(tmp_path):
    box = browser.sandbox()
    script = Path(browser.launcher(browser.find_browser(), box))
    text = script.read_text()
    assert text == browser.LAUNCHER % {"uid": box.uid, "gid": box.gid}
    folder = script.parent
    assert folder.stat().st_uid == 0 and oct(folder.stat().st_mode & 0o777) == "0o755"
    assert script.stat().st_uid == 0 and not script.stat().st_mode & 0o022
    assert os.readlink(folder / "browser") == os.path.abspath(browser.find_browser())
