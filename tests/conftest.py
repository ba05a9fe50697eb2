"""Shared fixtures. pytest puts tests/ on sys.path (rootdir conftest), so the test web imports as `web`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from web import TestWeb


@pytest.fixture(scope="session")
def testweb() -> Iterator[TestWeb]:
    """The test web, started once per session: every site of tests/web/sites on free ports of 127.0.0.1."""
    web = TestWeb().start()
    yield web
    web.stop()
