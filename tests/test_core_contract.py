"""Contracts: every table and column documented; the dependency rule between packages holds."""

import ast
import subprocess
import sys
from pathlib import Path

from mouchard.storage import schema

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("scrapy", "scrapy_playwright", "playwright", "mitmproxy", "twisted")
PACKAGES = ("crawler", "addons", "audits")


def test_every_table_and_column_has_a_one_line_description():
    for table in schema.TABLES:
        assert table.description.strip() and "\n" not in table.description, table.name
        names = [c.name for c in table.columns]
        assert len(names) == len(set(names)), f"duplicate column in {table.name}"
        for column in table.columns:
            assert column.description.strip() and "\n" not in column.description, f"{table.name}.{column.name}"
            assert column.type in ("integer", "text", "real", "blob")
            if column.references:
                other, other_column = column.references.split(".")
                assert other_column in [c.name for c in schema.table(other).columns]


def test_names_follow_the_conventions():
    for table in schema.TABLES:
        # site_summary: the readers' pages and their tests already use the name (#17); a rename is one sed away.
        # vendor_conduct: a mass noun, like consent (one row per vendor, site and phase).
        assert table.name == table.name.lower() and table.name.endswith("s") or table.name in (
            "consent", "rtb", "site_summary", "vendor_conduct")
        for column in table.columns:
            if column.name.endswith("_at"):
                assert column.type == "text", f"{table.name}.{column.name} is a UTC ISO-8601 text"
            if column.references and column.name != "redirect_from_id":
                assert column.name.endswith("_id")


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(module, at_module_level) for every import in a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    top_level = {id(node) for node in tree.body}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, id(node) in top_level) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, id(node) in top_level))
    return found


def test_collectors_import_the_core_never_each_other():
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for module, _ in _imports(path):
                root = module.split(".")[0]
                assert root not in set(PACKAGES) - {package}, f"{path.relative_to(ROOT)} imports {module}"


def test_core_imports_no_collector_and_no_heavy_framework_at_module_level():
    for path in (ROOT / "mouchard").rglob("*.py"):
        for module, top in _imports(path):
            root = module.split(".")[0]
            if root in PACKAGES:  # only the composition root may reach them, lazily (inside a function)
                assert path.name == "cli.py" and path.parent.name == "mouchard" and not top, \
                    f"{path.relative_to(ROOT)} imports {module} (only mouchard/cli.py may, lazily)"
            if top:
                assert root not in HEAVY, f"{path.relative_to(ROOT)} imports {module} at module level"


def test_importing_every_core_module_loads_no_heavy_framework():
    modules = sorted(".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
                     for p in (ROOT / "mouchard").rglob("*.py")
                     if p.stem != "__main__" and (p.parent / "__init__.py").exists())
    code = (f"import importlib, sys\nfor m in {modules!r}: importlib.import_module(m)\n"
            f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"


def test_datasette_files_are_data_not_a_package():
    # Datasette loads the plugins by path; as a package they would also be importable modules of mouchard's core.
    folder = ROOT / "mouchard" / "datasette_files"
    assert (folder / "plugins").is_dir() and not (folder / "__init__.py").exists()
    assert not (ROOT / "datasette").exists(), "the Datasette files moved to mouchard/datasette_files/"
