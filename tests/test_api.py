"""The Python API: every name of `mouchard.api` resolves to a documented function or type, a crawl runs through it
(twice in one process: each Scrapy job runs in its own child), and the child runner keeps errors and stops one line.
The other jobs have their own API tests (test_addons_api, test_crawler_brokers_api, test_audits_api)."""

from __future__ import annotations

import importlib
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap

import pytest

from mouchard.errors import UserError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SITES = ["www.example-news.fr", "www.clean-example.org"]


def rows(db: str, sql: str) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_every_api_name_resolves_to_a_documented_object():
    from mouchard import api

    for name, target in api.EXPORTS.items():
        module, attribute = target.split(":")
        value = getattr(api, name)
        assert value is getattr(importlib.import_module(module), attribute)
        assert (value.__doc__ or "").strip(), f"mouchard.api.{name} has no docstring"
    with pytest.raises(AttributeError):
        api.no_such_job  # noqa: B018


def test_importing_the_api_imports_no_scrapy_playwright_or_mitmproxy():
    program = "import sys, mouchard.api; print(sorted(m for m in ('scrapy', 'playwright', 'mitmproxy', 'twisted') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.browser
def test_crawl_through_the_api_twice_in_one_process(testweb, tmp_path):
    """Twisted's reactor runs once per process: the API runs each crawl in a child, so a program can crawl again."""
    from mouchard import api

    db = str(tmp_path / "api.db")
    options = dict(db=db, consent="reject", timeout=20, concurrency=2, browser_args=tuple(testweb.chromium_args()))
    first = api.crawl([testweb.url(SITES[0])], **options)
    second = api.crawl([testweb.url(SITES[1])], log=tmp_path / "second.log", **options)
    assert (first.status, second.status) == ("finished", "finished")
    assert first.summary["visits"] == 2 and second.summary["visits"] == 2  # initial and reject
    web = [r[0] for r in rows(db, "SELECT id FROM crawls WHERE kind = 'web' ORDER BY id")]
    assert web == [first.crawl_id, second.crawl_id]
    assert rows(db, "SELECT crawl_id, key, status FROM visits ORDER BY crawl_id, key") == [
        (first.crawl_id, f"initial {testweb.url(SITES[0])}", "ok"), (first.crawl_id, f"reject {testweb.url(SITES[0])}", "ok"),
        (second.crawl_id, f"initial {testweb.url(SITES[1])}", "ok"), (second.crawl_id, f"reject {testweb.url(SITES[1])}", "ok")]
    config, command = rows(db, f"SELECT config, command FROM crawls WHERE id = {first.crawl_id}")[0]
    assert '"phases": ["initial", "reject"]' in config
    assert "crawler.child" not in command  # the caller's command line, not the child's
    assert first.summary["findings"] == {"consent.tracking-before-consent": 1, "web.id-sync": 1, "web.session-replay": 1}  # the rules ran in the child, as after `mouchard crawl`
    assert (tmp_path / "second.log").exists()


def test_crawl_api_errors_are_one_line_user_errors(tmp_path):
    from mouchard import api

    with pytest.raises(UserError, match="nothing to crawl"):
        api.crawl(["mailto:someone@example.org"], db=str(tmp_path / "x.db"))
    with pytest.raises(UserError, match="site list not found"):
        api.crawl(list_file=tmp_path / "missing.txt", db=str(tmp_path / "x.db"))
    with pytest.raises(TypeError, match="settings or options"):
        api.crawl(["https://example.org/"], settings=api.RunSettings(), db="x.db")


# -- the child runner ---------------------------------------------------------------------------------------------

JOBS = textwrap.dedent('''
    import os, signal, time
    from mouchard.errors import UserError

    def add(a, b):
        print("adding", flush=True)
        return a + b

    def refuse(message):
        raise UserError(message)

    def crash():
        raise ZeroDivisionError("boom")

    def pid():
        return os.getpid()

    def nested():
        from crawler.child import run_in_child
        return os.getpid(), run_in_child("child_jobs:pid"), run_in_child("child_jobs:pid")

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    def wait_for_stop():
        stopped = []
        signal.signal(signal.SIGTERM, lambda *a: stopped.append(1))
        print("ready", flush=True)
        while not stopped:
            signal.pause()
        return "interrupted"
''')


@pytest.fixture
def jobs(tmp_path, monkeypatch):
    (tmp_path / "child_jobs.py").write_text(JOBS)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path), ROOT]))
    return tmp_path


def test_run_in_child_returns_results_and_logs(jobs):
    from crawler.child import run_in_child

    assert run_in_child("child_jobs:add", a=2, b=3, log=jobs / "job.log") == 5
    assert (jobs / "job.log").read_text() == "adding\n"


def test_a_job_that_calls_the_api_runs_its_first_job_in_its_own_process(jobs):
    """An audit step runs `mouchard.api.crawl` in a child, which would start a grandchild: the first nested job runs
    in the child itself (its reactor is unused), a second one in a grandchild."""
    from crawler.child import run_in_child

    child, first, second = run_in_child("child_jobs:nested")
    assert first == child and second != child and child != os.getpid()


def test_run_in_child_errors(jobs):
    from crawler.child import JobFailed, run_in_child

    with pytest.raises(UserError, match=r"^no such registry$"):
        run_in_child("child_jobs:refuse", message="no such registry")
    with pytest.raises(JobFailed, match=r"child_jobs:crash: ZeroDivisionError: boom"):
        run_in_child("child_jobs:crash", log=jobs / "crash.log")
    assert "Traceback" in (jobs / "crash.log").read_text()
    with pytest.raises(JobFailed, match="killed by SIGKILL without an answer"):
        run_in_child("child_jobs:die")
    with pytest.raises(ValueError):
        run_in_child("no_colon")


def test_a_stop_received_by_the_parent_reaches_the_job(jobs):
    """SIGTERM to a program calling the API: the job gets it once, finishes, and its result comes back."""
    program = textwrap.dedent('''
        from crawler.child import run_in_child
        print(run_in_child("child_jobs:wait_for_stop"), flush=True)
    ''')
    parent = subprocess.Popen([sys.executable, "-c", program], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert parent.stdout.readline() == "ready\n"  # the child runs (it shares the parent's stdout)
        parent.send_signal(signal.SIGTERM)
        out, _ = parent.communicate(timeout=60)
    finally:
        parent.kill()
    assert (out, parent.returncode) == ("interrupted\n", 0)
