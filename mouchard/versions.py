"""Versions of mouchard and the components it drives, for `--version` and each run's provenance."""

from __future__ import annotations

import platform
from functools import lru_cache
from importlib import metadata

COMPONENTS = ("scrapy", "scrapy-playwright", "playwright", "mitmproxy", "datasette", "sqlite-utils", "tldextract",
              "adblock")


@lru_cache(maxsize=1)
def dependency_versions() -> dict[str, str]:
    """Installed versions of the main dependencies (no import of the packages themselves: it is slow)."""
    import sqlite3

    versions = {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version}
    for name in COMPONENTS:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions
