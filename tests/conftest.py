"""Shared fixtures. pytest puts tests/ on sys.path (rootdir conftest), so the test web imports as `web`
and test files import `needs` from here."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterable, Iterator

import pytest

from web import TestWeb

STRICT_ENV = "MOUCHARD_TEST_STRICT"  # set by `make test` and `make test-oldest`

# Every crawl the suite starts (subprocesses inherit it) leaves a page once its network is quiet, as before --dwell
# existed: hundreds of test pages at the realistic default (5 s each) would make the suite minutes slower. The
# dwell itself is tested with explicit --dwell values (tests/test_crawler_dwell.py).
os.environ.setdefault("MOUCHARD_DWELL", "0")


def strict() -> bool:
    """Whether a missing test dependency must fail the run: in CI (CI=true) and under `make test`."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes") or os.environ.get(STRICT_ENV) == "1"


def needs(missing: Iterable[str] | str | None, hint: str = "run scripts/setup.sh") -> None:
    """Skip the test when something it needs (npm packages, redis-server) is missing; FAIL instead in CI and
    under `make test`, where a silent skip would hide a whole suite (the consent and bidding suites did)."""
    names = [missing] if isinstance(missing, str) else list(missing or ())
    if not names:
        return
    reason = f"not installed: {', '.join(names)} ({hint})"
    if strict():
        pytest.fail(f"{reason}; CI and `make test` require it", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def testweb() -> Iterator[TestWeb]:
    """The test web, started once per session: every site of tests/web/sites on free ports of 127.0.0.1."""
    web = TestWeb().start()
    yield web
    web.stop()


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    """redis-server on a free port of 127.0.0.1, in memory only, stopped at the end of the module; ready when it
    answers PING (a failure if it never does, or is not installed in CI)."""
    needs([] if shutil.which("redis-server") else ["redis-server"], "scripts/setup.sh installs it")
    import redis

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    try:
        for _ in range(600):  # polls PING, and checks the outcome: the loop ends on the answer, not on a time
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if server.poll() is not None:
                    pytest.fail(f"redis-server exited with status {server.returncode} before answering PING")
                time.sleep(0.05)
        else:
            pytest.fail("redis-server did not answer PING")
        yield url
    finally:
        client.close()
        server.terminate()
        server.wait(30)
