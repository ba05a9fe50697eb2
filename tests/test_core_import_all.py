"""Every module of the packages the wheel ships imports on this Python: the oldest-Python CI run (`make
test-oldest`) runs this file with the core's tests, so syntax or standard-library use newer than `requires-python`
fails there even in the parts whose tests need Chromium or mitmproxy running."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

PACKAGES = ("mouchard", "crawler", "addons", "audits", "demoweb")


def modules() -> list[str]:
    found = []
    for name in PACKAGES:
        package = importlib.import_module(name)
        found.append(name)
        found += [info.name for info in pkgutil.walk_packages(package.__path__, f"{name}.")
                  if not info.name.endswith("__main__")]
    return sorted(found)


@pytest.mark.parametrize("name", modules())
def test_every_module_imports(name):
    importlib.import_module(name)
