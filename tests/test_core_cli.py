"""The command line: every command listed, versions, one-line errors."""

import os
import subprocess
import sys

from mouchard.cli import COMMANDS

DESIGN_COMMANDS = {"crawl", "brokers", "proxy", "import", "audit", "verify", "diff", "serve", "publish", "lists", "demo"}


def run(*args, env=None):
    return subprocess.run([sys.executable, "-m", "mouchard", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})


def test_help_lists_every_command_of_the_design():
    out = run("--help")
    assert out.returncode == 0
    for name in DESIGN_COMMANDS | set(COMMANDS):
        assert f"  {name} " in out.stdout, name


def test_version_names_the_components():
    out = run("--version")
    assert out.returncode == 0
    for name in ("mouchard", "browser", "playwright", "scrapy", "mitmproxy", "datasette"):
        assert name in out.stdout


def test_every_command_has_help():
    for name in COMMANDS:
        out = run(name, "--help")
        assert out.returncode == 0, (name, out.stderr)
        assert "Traceback" not in out.stderr


def test_bad_browser_is_one_line_not_a_traceback():
    out = run("--version", env={"MOUCHARD_BROWSER": "/nonexistent/chromium"})
    assert "browser not found" in out.stdout and "Traceback" not in out.stderr
