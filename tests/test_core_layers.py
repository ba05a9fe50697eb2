"""The core's folders import one way: each folder of mouchard/ imports only the folders its row allows.

The arrows, drawn from the modules' imports (every import, in a function body too: tests/test_core_imports.py
builds the graph with `ast` from the source alone):

| layer | modules | may import (besides itself) |
|---|---|---|
| ground | mouchard (the package), errors, budget, versions, paths, lifecycle | — |
| decode | mouchard/decode/ | ground |
| archive | mouchard/archive/ (WARC, index, replay proxy) | ground |
| shared | net, settings, browser, sitelist, registries (top level) | ground, decode (net undoes Content-Encoding) |
| storage | mouchard/storage/ | ground, shared |
| identify | mouchard/identify/ | ground, decode |
| vendors | mouchard/vendors/ | ground, shared, decode, identify, storage |
| classification | mouchard/classification/ | ground, shared, decode, identify, storage, vendors |
| detect | mouchard/detect/ | ground, decode, identify, classification |
| ingest | mouchard/ingest/ | ground, decode, classification, storage |
| publishing | mouchard/publishing/ | ground, storage, identify, archive (redacted WARC copies) |
| me | mouchard/me/ (a person's own data and letters) | ground, shared, decode, identify, storage, vendors, classification |
| commands | mouchard/commands/ | everything |
| root | cli, api, __main__ (top level) | everything |

A module in no layer (a new top-level module, a new folder) fails the first test: give it a place here.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, strategies as st

from test_core_imports import PACKAGES, cycles, import_graph

TOP = {
    "ground": {"mouchard", "mouchard.errors", "mouchard.budget", "mouchard.versions", "mouchard.paths",
               "mouchard.lifecycle"},
    "shared": {"mouchard.net", "mouchard.settings", "mouchard.browser", "mouchard.sitelist", "mouchard.registries"},
    "root": {"mouchard.cli", "mouchard.api", "mouchard.__main__"},
}
FOLDERS = ("decode", "archive", "storage", "identify", "vendors", "classification", "detect", "ingest", "publishing", "me",
           "commands")
EVERYTHING = frozenset(TOP) | frozenset(FOLDERS)
MAY_IMPORT: dict[str, frozenset[str]] = {
    "ground": frozenset(),
    "decode": frozenset({"ground"}),
    "archive": frozenset({"ground"}),  # WARC writing, reading and replay: warcio and the standard library
    "shared": frozenset({"ground", "decode"}),
    "storage": frozenset({"ground", "shared"}),
    "identify": frozenset({"ground", "decode"}),
    "vendors": frozenset({"ground", "shared", "decode", "identify", "storage"}),
    "classification": frozenset({"ground", "shared", "decode", "identify", "storage", "vendors"}),
    "detect": frozenset({"ground", "decode", "identify", "classification"}),
    "ingest": frozenset({"ground", "decode", "classification", "storage"}),
    "publishing": frozenset({"ground", "storage", "identify", "archive"}),
    "me": frozenset({"ground", "shared", "decode", "identify", "storage", "vendors", "classification"}),
    "commands": EVERYTHING,
    "root": EVERYTHING,
}


def layer_of(module: str) -> str | None:
    """The layer of a core module (`mouchard.storage.store` -> storage); None for a module with no place."""
    for layer, members in TOP.items():
        if module in members:
            return layer
    parts = module.split(".")
    if len(parts) >= 2 and parts[0] == "mouchard" and parts[1] in FOLDERS:
        return parts[1]
    return None


def core_graph(root: Path | None = None) -> dict[str, set[str]]:
    """The import graph of the core's modules; files in folders without `__init__.py` (Datasette's plugins, loaded
    by path) are data, not modules of the core."""
    graph = import_graph(root) if root else import_graph()
    base = root or Path(__file__).resolve().parents[1]

    def in_packages(module: str) -> bool:
        parts = module.split(".")
        return all((base.joinpath(*parts[:i]) / "__init__.py").is_file() for i in range(1, len(parts)))

    return {m: edges for m, edges in graph.items() if m.split(".")[0] != "mouchard" or in_packages(m)}


def violations(graph: dict[str, set[str]]) -> list[str]:
    """Every core import that goes against the table, and every core module with no layer."""
    found = []
    for module in sorted(graph):
        if module.split(".")[0] != "mouchard":
            continue
        layer = layer_of(module)
        if layer is None:
            found.append(f"{module}: in no layer (give it a place in tests/test_core_layers.py)")
            continue
        for target in sorted(graph[module]):
            if target.split(".")[0] != "mouchard":
                continue
            other = layer_of(target)
            if other is not None and other != layer and other not in MAY_IMPORT[layer]:
                found.append(f"{module} ({layer}) imports {target} ({other})")
    return found


def test_every_core_module_has_a_layer_and_imports_only_what_its_layer_may():
    graph = core_graph()
    assert "mouchard.storage.store" in graph and "mouchard.decode.tcf" in graph
    found = violations(graph)
    assert found == [], "imports against the layers of mouchard/ (move the code, or change the table):\n" + \
        "\n".join(found)


def test_every_folder_of_the_core_is_a_layer_and_every_layer_exists():
    root = Path(__file__).resolve().parents[1] / "mouchard"
    packages = {p.parent.name for p in root.glob("*/__init__.py")}
    assert packages == set(FOLDERS)


def test_the_layers_have_no_cycle_below_the_commands():
    arrows = {layer: set(allowed) - {layer} for layer, allowed in MAY_IMPORT.items() if allowed != EVERYTHING}
    assert cycles(arrows) == []
    assert all(allowed <= EVERYTHING for allowed in MAY_IMPORT.values()) and set(MAY_IMPORT) == EVERYTHING


def test_a_planted_wrong_arrow_and_a_module_with_no_place_are_reported(tmp_path):
    for package in set(PACKAGES) - {"mouchard"}:
        (tmp_path / package).mkdir()
    core = tmp_path / "mouchard"
    for folder in ("decode", "storage", "publishing"):
        (core / folder).mkdir(parents=True)
        (core / folder / "__init__.py").write_text("")
    (core / "__init__.py").write_text("")
    (core / "errors.py").write_text("")
    (core / "decode" / "tcf.py").write_text("def f():\n    from mouchard.storage import store\n")
    (core / "storage" / "store.py").write_text("from mouchard import errors\n")
    (core / "publishing" / "serve.py").write_text("from mouchard.storage.store import x\nfrom ..decode import tcf\n")
    (core / "stray.py").write_text("")
    (core / "files" / "plugins").mkdir(parents=True)  # data: a plugin Datasette loads by path
    (core / "files" / "plugins" / "plugin.py").write_text("from mouchard.publishing import serve\n")
    assert violations(core_graph(tmp_path)) == [
        "mouchard.decode.tcf (decode) imports mouchard.storage.store (storage)",
        "mouchard.publishing.serve (publishing) imports mouchard.decode.tcf (decode)",
        "mouchard.stray: in no layer (give it a place in tests/test_core_layers.py)",
    ]


LAYERS = sorted(EVERYTHING)
MODULES = st.sampled_from([f"mouchard.{f}.m{i}" for f in FOLDERS for i in range(2)] + sorted(set().union(*TOP.values())))


@given(st.dictionaries(MODULES, st.sets(MODULES, max_size=4), max_size=12))
def test_violations_are_exactly_the_edges_the_table_forbids(graph):
    expected = sorted(f"{m} ({layer_of(m)}) imports {t} ({layer_of(t)})" for m, targets in graph.items()
                      for t in targets
                      if layer_of(t) != layer_of(m) and layer_of(t) not in MAY_IMPORT[layer_of(m)])
    assert sorted(violations(graph)) == expected
