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


def test_every_module_parses_as_the_oldest_supported_python():
    # `make test` runs on the newest Python only (CI's time); this keeps syntax newer than requires-python out of
    # every module there too. `make test-oldest` is the whole check: an install and every import on the oldest.
    import ast
    import re
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    requires = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]["requires-python"]
    oldest = tuple(int(part) for part in re.fullmatch(r">=\s*(\d+)\.(\d+)", requires).groups())
    files = sorted(p for name in PACKAGES for p in (root / name).rglob("*.py") if "__pycache__" not in p.parts)
    assert len(files) > 200
    for path in files:
        ast.parse(path.read_text(encoding="utf-8"), filename=str(path), feature_version=oldest)
