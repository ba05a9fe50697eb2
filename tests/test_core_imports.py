"""The import graph of every package the wheel ships (mouchard/, crawler/, addons/, audits/, demoweb/) has no cycle.

A cycle hidden in a function body is still a cycle (the two modules cannot be understood or moved apart), so
every `import`, wherever it sits in a module, is an edge. The graph is built with `ast` from the source alone:
nothing is imported, so a cycle is reported even when it would only fail at run time.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

from hypothesis import given, strategies as st

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("mouchard", "crawler", "addons", "audits", "demoweb")


def test_the_graph_covers_every_shipped_package():
    """A package added to the wheel (pyproject's `packages.find`) joins this check; nothing ships unchecked."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    shipped = {pattern.rstrip("*").rstrip(".") for pattern in config["tool"]["setuptools"]["packages"]["find"]["include"]}
    assert shipped == set(PACKAGES)


def module_name(path: Path, root: Path = ROOT) -> str:
    """`crawler/browser/targets.py` -> `crawler.browser.targets`; a package's `__init__.py` -> the package."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_names(tree: ast.AST, module: str, is_package: bool, modules: set[str]) -> set[str]:
    """The project modules an `import` or `from ... import` anywhere in the tree loads (relative resolved).

    `from pkg import mod` is an edge to `pkg.mod` when that module exists, else to `pkg` (a name defined in its
    `__init__`); the parent packages Python runs on the way are not edges of their own."""
    found: set[str | None] = set()
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(resolve(alias.name, modules) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                full = f"{base}.{alias.name}"
                found.add(full if full in modules else resolve(base, modules))
    found.discard(None)
    found.discard(module)
    return found  # type: ignore[return-value]


def resolve(name: str, modules: set[str]) -> str | None:
    """The project module `name` loads: itself, else its longest known prefix (a function of a module)."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Module -> the project modules it imports."""
    files = {module_name(p, root): p for pkg in PACKAGES for p in sorted((root / pkg).rglob("*.py"))
             if "__pycache__" not in p.parts}
    modules = set(files)
    return {module: imported_names(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)), module,
                                   path.name == "__init__.py", modules)
            for module, path in files.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return sorted(found)


def test_no_import_cycle_in_the_project():
    graph = import_graph()
    assert {"crawler.browser.targets", "mouchard.identify.profile", "addons.detect_leaks", "audits.engine", "demoweb.server",
            "demoweb.sites.brokers"} <= set(graph)
    found = cycles(graph)
    assert found == [], "import cycles (move the shared piece where it belongs):\n" + "\n".join(
        " <-> ".join(c) for c in found)


def test_a_cycle_in_function_level_and_relative_imports_is_found(tmp_path):
    pkg = tmp_path / "crawler"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from crawler.sub import b\n")
    (pkg / "sub" / "b.py").write_text("def f():\n    from ..c import g\n    return g\n")
    (pkg / "c.py").write_text("import crawler.a as a\ndef g():\n    pass\n")
    (pkg / "d.py").write_text("from crawler import a\n")
    for other in PACKAGES[:1] + PACKAGES[2:]:
        (tmp_path / other).mkdir()
    graph = import_graph(tmp_path)
    assert graph["crawler.d"] == {"crawler.a"}
    assert graph["crawler.sub.b"] == {"crawler.c"}
    assert cycles(graph) == [["crawler.a", "crawler.c", "crawler.sub.b"]]


@given(st.dictionaries(st.integers(0, 7), st.sets(st.integers(0, 7), max_size=4), max_size=8))
def test_cycles_agree_with_reachability(edges):
    graph = {str(k): {str(v) for v in vs} for k, vs in edges.items()}
    nodes = set(graph) | {v for vs in graph.values() for v in vs}

    def reach(a: str) -> set[str]:
        seen, todo = set(), [a]
        while todo:
            for nxt in graph.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    reachable = {n: reach(n) for n in nodes}
    expected = set()
    for n in nodes:
        component = frozenset({n} | {m for m in reachable[n] if n in reachable[m]})
        if len(component) > 1:
            expected.add(component)
    assert {frozenset(c) for c in cycles(graph)} == expected
