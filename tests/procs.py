"""Stopping a command a test (or the SDK harness) started, with everything it started: shared by the tests."""

from __future__ import annotations

import signal
import subprocess

import psutil

BOUND = 300.0  # seconds a wait may last before giving up: a guard against hanging, not a timing assertion


def stop_tree(process: subprocess.Popen, signum: int = signal.SIGINT, bound: float = BOUND) -> None:
    """Stop a command and everything it started, whatever the test's outcome: `signum` and a bounded wait for its
    clean exit, then SIGKILL for any process of its tree (snapshotted first) still there. No mitmdump is left."""
    try:
        root = psutil.Process(process.pid)
        tree = [root, *root.children(recursive=True)]
    except psutil.Error:
        tree = []
    if process.poll() is None:
        process.send_signal(signum)
        try:
            process.wait(bound)
        except subprocess.TimeoutExpired:
            pass
    for member in tree:
        try:
            member.kill()
        except psutil.Error:
            pass
    process.wait()
    psutil.wait_procs(tree, timeout=bound)
