"""Shared fixtures. The test web is the demo web shipped with mouchard (the `demoweb` package); pytest puts tests/
on sys.path (rootdir conftest), so test files import `needs` from here."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator

import pytest

from demoweb import TestWeb

STRICT_ENV = "MOUCHARD_TEST_STRICT"  # set by `make test` and `make test-oldest`

# Every crawl the suite starts (subprocesses inherit it) leaves a page once its network is quiet, as before --dwell
# existed: hundreds of test pages at the realistic default (5 s each) would make the suite minutes slower. The
# dwell itself is tested with explicit --dwell values (tests/test_crawler_dwell.py).
os.environ.setdefault("MOUCHARD_DWELL", "0")

# Crawl options of the test crawls that check consent, not scripts: the JS-API call recorder (conditional DevTools
# breakpoints on ~200 APIs, crawler/collectors/calls.py) is a quarter of such a crawl's CPU and none of what they
# check. Fingerprinting is checked with it on (tests/test_crawler_apis.py, test_crawler_npm_libs.py, the demo...).
NO_CALLS = ("--collector", "fingerprinting=false")


def strict() -> bool:
    """Whether a missing test dependency must fail the run: in CI (CI=true) and under `make test`."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes") or os.environ.get(STRICT_ENV) == "1"


def needs(missing: Iterable[str] | str | None, hint: str = "run scripts/setup.sh") -> None:
    """Skip the test when something it needs (npm packages, tshark) is missing; FAIL instead in CI and
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
    """The test web, started once per session: every site of demoweb/sites on free ports of 127.0.0.1."""
    web = TestWeb().start()
    yield web
    web.stop()
