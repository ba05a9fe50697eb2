"""An installed wheel works without the source tree: it holds every file of every shipped package (the demo web with
its sites and sample files, the Datasette files, mouchard/data, the audit templates), and, installed into a folder
of its own, `mouchard serve --help`, `mouchard demo --help`, the Datasette metadata and plugins, and the demo web's
site list all work with the repository nowhere on sys.path.

The wheel is built from a copy of the packages and pyproject.toml: building in place would write `build/` and
`*.egg-info` into a working tree that other runs are reading.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PACKAGES = tuple(p.rstrip("*").rstrip(".") for p in CONFIG["tool"]["setuptools"]["packages"]["find"]["include"])
JUNK = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")

pytestmark = pytest.mark.slow

# Run inside the installed copy: where every module came from, and what it reads from its package data.
PROBE = r"""
import asyncio, html, json, sys, tempfile
from pathlib import Path

import demoweb, mouchard
from demoweb import DATA
from demoweb.sites import discover
from mouchard.publishing.metadata import build_metadata
from mouchard.publishing.serve import build_datasette, config_dir
from mouchard.storage.store import Store


async def pages(ds):
    home = await ds.client.get("/?lang=en")
    plugins = await ds.client.get("/-/plugins.json")
    return home.status_code, home.text, plugins.json()


with tempfile.TemporaryDirectory() as tmp:
    db = Path(tmp) / "m.db"
    Store(db).close()
    status, home, plugins = asyncio.run(pages(build_datasette(db)))
print(json.dumps({
    "files": [mouchard.__file__, demoweb.__file__, str(config_dir()), str(DATA)],
    "sys_path": sys.path,
    "metadata": build_metadata(),
    "sites": sorted(site.name for site in discover()),
    "samples": {str(p.relative_to(DATA)): p.stat().st_size for p in sorted(DATA.rglob("*")) if p.is_file()},
    "home": status, "home_text": html.unescape(home),
    "plugins": sorted(p["name"] for p in plugins if p["name"].startswith("mouchard")),
}))
"""


def shipped_files(root: Path) -> set[str]:
    """Every file of the shipped packages under `root`, as wheel paths (`demoweb/data/phone.har`)."""
    return {str(p.relative_to(root)) for package in PACKAGES for p in (root / package).rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel of a copy of this checkout, built with the venv's setuptools, offline."""
    work = tmp_path_factory.mktemp("wheel")
    src = work / "src"
    for package in PACKAGES:
        shutil.copytree(ROOT / package, src / package, ignore=JUNK)
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, src / name)
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation",
                          "--no-index", "-q", "-w", str(work / "dist")], capture_output=True, text=True, cwd=work)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    (built,) = (work / "dist").glob("mouchard-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path) -> Path:
    """The wheel installed into a folder of its own (no dependencies: they come from the venv)."""
    site = wheel.parent.parent / "site"
    out = subprocess.run([sys.executable, "-m", "pip", "install", str(wheel), "--no-deps", "--no-index", "-q",
                          "--target", str(site)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return site


def run_installed(site: Path, *args: str) -> subprocess.CompletedProcess:
    """Python with the installed copy first and the venv's packages for dependencies, and nothing of the checkout:
    -S skips site-packages' .pth files (the editable install's finder maps mouchard to the checkout),
    PYTHONSAFEPATH keeps the working directory off sys.path, and it runs from the install's parent folder."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTHON", "MOUCHARD_"))}
    env |= {"PYTHONPATH": os.pathsep.join([str(site), sysconfig.get_paths()["purelib"]]), "PYTHONSAFEPATH": "1",
            "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([sys.executable, "-S", *args], capture_output=True, text=True, cwd=site.parent, env=env,
                          timeout=300)


def test_the_wheel_holds_every_file_of_every_shipped_package(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    packaged = {name for name in names if ".dist-info/" not in name}
    assert packaged == shipped_files(ROOT)
    for wanted in ("demoweb/sites/brokers.py", "demoweb/static/tracker.js", "demoweb/data/phone.har",
                   "demoweb/data/profiles/android.yml", "demoweb/data/brokers/ca-registry-2025.csv",
                   "mouchard/datasette_files/settings.json", "mouchard/datasette_files/metadata.json",
                   "mouchard/datasette_files/plugins/mouchard_pages.py", "mouchard/datasette_files/templates/index.html",
                   "mouchard/datasette_files/queries/10-sites_by_tracker_companies.sql", "mouchard/data/trackers.csv",
                   "audits/templates/report.html"):
        assert wanted in packaged
    assert not any(name.startswith(("tests/", "datasette/", "node_modules/", "benchmarks/")) for name in names)


def test_the_installed_wheel_serves_and_starts_the_demo_web_without_the_checkout(installed):
    from demoweb import DATA
    from demoweb.sites import discover
    from mouchard.publishing.metadata import QUERIES_DIR, build_metadata

    out = run_installed(installed, "-c", PROBE)
    assert out.returncode == 0, out.stderr[-4000:]
    report = json.loads(out.stdout)
    assert all(Path(path).is_relative_to(installed) for path in report["files"]), report["files"]
    checkout = [entry for entry in report["sys_path"] if entry and Path(entry).resolve().is_relative_to(ROOT)
                and not Path(entry).resolve().is_relative_to(Path(sys.prefix).resolve())]  # the venv may sit inside
    assert checkout == []
    assert report["metadata"] == json.loads(json.dumps(build_metadata()))
    assert report["sites"] == sorted(site.name for site in discover())
    assert report["samples"] == {str(p.relative_to(DATA)): p.stat().st_size for p in sorted(DATA.rglob("*"))
                                 if p.is_file()}
    questions = [query["title"] for query in build_metadata()["databases"]["mouchard"]["queries"].values()]
    assert report["home"] == 200 and len(questions) == len(list(QUERIES_DIR.glob("*.sql"))) > 0
    assert [title for title in questions if title in report["home_text"]] == questions
    assert report["plugins"] == ["mouchard_evidence.py", "mouchard_links.py", "mouchard_pages.py",
                                 "mouchard_readers.py"]


def test_the_probe_cannot_reach_the_checkout(tmp_path):
    empty = tmp_path / "site"
    empty.mkdir()
    out = run_installed(empty, "-c", "import mouchard")
    assert out.returncode == 1 and out.stderr.splitlines()[-1] == "ModuleNotFoundError: No module named 'mouchard'"


@pytest.mark.parametrize("command, first_line", [
    ("serve", "Usage: python -m mouchard serve [OPTIONS]"),
    ("demo", "Usage: python -m mouchard demo [OPTIONS]"),
])
def test_installed_commands_answer_help(installed, command, first_line):
    out = run_installed(installed, "-m", "mouchard", command, "--help")
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.splitlines()[0] == first_line
