"""Where the demo web's files are: its package data (static scripts, sample files) and the npm packages it serves.

Every path the demo web reads is built here, from the installed package (importlib.resources), so the demo works
the same from a checkout and from an installed wheel. Names are constants of this package, never request data.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

from mouchard.settings import node_modules_dirs


def package_folder() -> Path:
    """The folder of the installed `demoweb` package. The sites serve their files by path (and Chromium, mitmproxy
    and the importers read the samples by path), so a zipped install cannot work: say so instead of half serving."""
    root = importlib.resources.files(__package__ or "demoweb")
    if not isinstance(root, Path):
        raise RuntimeError(f"demoweb is installed as {type(root).__name__}, not as files: install the wheel unzipped")
    return root


PACKAGE = package_folder()
# Sample files the demo imports and the tests read (one copy): data/README.md says where each comes from.
DATA = PACKAGE / "data"
STATIC = PACKAGE / "static"


def node_modules() -> Path:
    """The npm packages the consent, bidding and library pages serve: the first of
    `mouchard.settings.node_modules_dirs()` that exists; the checkout's when none does, so `missing_packages()`
    names them."""
    candidates = node_modules_dirs()
    return next((folder for folder in candidates if folder.is_dir()), candidates[0])