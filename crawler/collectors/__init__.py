"""Page-side collectors of a browser visit; the interface is in `base.py`, the state they share in `state.py`.

Every collector of this package with an integer `order` is on by default, in that order (Scrapy's way: integer
priorities, not a list to edit): `discover()` finds them, and `crawler.settings.DEFAULT_COLLECTORS` is what it
found. Adding a detector is adding its module here (and its test); docs/crawl-detectors.md shows one.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil


def discover(package: str = __name__) -> list[str]:
    """Import paths (`module.Class`) of the collectors of `package` that have an `order`, sorted by it (then path).

    A class counts where it is defined (not where it is imported); a module that fails to import fails loudly:
    a crawl must not silently run without one of its collectors."""
    from crawler.collectors.base import Collector

    found: list[tuple[int, str]] = []
    root = importlib.import_module(package)
    for info in sorted(pkgutil.iter_modules(root.__path__), key=lambda i: i.name):
        if info.ispkg or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package}.{info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            order = cls.__dict__.get("order")
            if cls.__module__ == module.__name__ and issubclass(cls, Collector) and isinstance(order, int):
                found.append((order, f"{module.__name__}.{cls.__name__}"))
    return [path for _, path in sorted(found)]
