"""Site families of the test web, one module each; every module defining `SITE` or `SITES` is served.

To add a family, drop a module here with `SITE = Site(...)` (or `SITES = [...]`) and an `EXPECTED` dict keyed
by page (`"host/path"`) describing what the page plants (hosts, cookies, storage, syncs...), so crawler tests
can measure recall against it. Nothing else to register.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

from ..site import Site


def site_modules() -> list[ModuleType]:
    """Every module of this package, imported (a broken module fails loudly: better than a missing site)."""
    return [importlib.import_module(f"{__name__}.{info.name}")
            for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name) if not info.name.startswith("_")]


def discover() -> list[Site]:
    """The sites of every module: its `SITE`, then its `SITES`."""
    sites: list[Site] = []
    for module in site_modules():
        if isinstance(getattr(module, "SITE", None), Site):
            sites.append(module.SITE)
        sites.extend(getattr(module, "SITES", ()))
    return sites


def expected() -> dict[str, dict]:
    """Every module's `EXPECTED`, merged: `{"host/path": {"third_party_hosts": [...], ...}}`."""
    merged: dict[str, dict] = {}
    for module in site_modules():
        for page, facts in getattr(module, "EXPECTED", {}).items():
            if page in merged:
                raise ValueError(f"{module.__name__}: EXPECTED page {page} is already described by another module")
            merged[page] = facts
    return merged
