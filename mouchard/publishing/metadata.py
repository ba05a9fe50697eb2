"""Datasette metadata generated from `mouchard.storage.schema` and the canned queries in `datasette_files/queries/*.sql`.

One source for every description: tables and columns come from the schema, questions from the SQL files (whose
header comments give title, description and chart). `datasette_files/metadata.json` is this module's output,
committed for people who run plain `datasette`; `mouchard serve` and `mouchard publish` build it afresh.
Rewrite it with `python -m mouchard.publishing.metadata` (a test fails while it is stale).
"""

from __future__ import annotations

import importlib.resources
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from mouchard.storage import descriptions_fr
from mouchard.storage.schema import TABLES, Table


def datasette_folder() -> Path:
    """mouchard's Datasette files (metadata.json, settings.json, queries/, templates/, plugins/): every path to them
    is built from this one function.

    They ship as package data of `mouchard` (`mouchard/datasette_files/`), found through importlib.resources, so an
    installed wheel can `serve` and `publish` without the source tree. Not a top-level `datasette/` package: that
    name would shadow the Datasette library. Not `mouchard/datasette/` either: run from inside `mouchard/`, a script
    would import that folder as `datasette`. Independent of where this module sits in the package. Datasette reads
    templates and plugins from real folders; a zipped install gives a path that does not exist, which
    `mouchard.publishing.serve.config_dir()` reports as one line."""
    return Path(str(importlib.resources.files("mouchard") / "datasette_files"))


CONFIG_DIR = datasette_folder()
QUERIES_DIR = CONFIG_DIR / "queries"
METADATA_FILE = CONFIG_DIR / "metadata.json"

# Every page, query and plugin setting refers to the database by this name: `mouchard serve` mounts any file under
# it and `mouchard publish` writes `mouchard.db`.
DATABASE = "mouchard"

TITLE = "mouchard: who tracks people and who trades their data"
DESCRIPTION = ("Websites visited in fresh browsers before and after consent, a phone's app traffic, and data-broker "
               "registries, recorded by mouchard. Start with the questions below; the tables hold every row behind "
               "the answers.")
# Tracker companies and categories derive from lists that may be non-commercial and share-alike (Ghostery,
# DuckDuckGo, Disconnect: CC BY-NC-SA): that is the safe default; `mouchard publish --license` overrides it.
LICENSE = "CC BY-NC-SA 4.0"
LICENSE_URL = "https://creativecommons.org/licenses/by-nc-sa/4.0/"
SOURCE = "mouchard"
SOURCE_URL: str | None = None  # the project's public repository, once it has one

# Schema units that Datasette's unit support (Pint) displays well; others ("days", "characters") stay in the
# column description only (Pint would show 400 days as "0.4 kd").
PINT_UNITS = {"ms": "ms", "bytes": "bytes", "metres": "m"}

# How each table opens: facets on the columns people filter by, a sensible order, and the column that labels a
# row when another table points at it. Big tables get few facets: each one is a GROUP BY on every page view.
TABLE_VIEWS: dict[str, dict] = {
    "crawls": {"facets": ["kind", "status"], "sort_desc": "started_at", "label_column": "started_at"},
    "visits": {"facets": ["phase", "status"], "array_facets": ["tags"], "label_column": "url"},
    "requests": {"facets": ["tracker_entity", "tracker_category"], "label_column": "url"},  # indexed: 1 M rows
    "bodies": {"facets": ["media_type"]},
    "cookies": {"facets": ["identifier", "before_consent", "tracker_entity"], "sort_desc": "lifetime_days",
                "label_column": "name"},
    "storage_items": {"facets": ["kind", "third_party", "tracker_entity"], "label_column": "name"},
    "js_calls": {"facets": ["api", "tracker_entity"], "label_column": "api"},
    "scripts": {"facets": ["canvas_fingerprinting", "webgl_fingerprinting", "session_replay", "tracker_entity"],
                "sort_desc": "apis", "label_column": "script_url"},
    "consent": {"facets": ["phase", "cmp", "framework", "action", "verified"], "label_column": "cmp"},
    "rtb": {"facets": ["event", "library", "bidder", "won"], "label_column": "bidder"},
    "id_syncs": {"facets": ["from_entity", "to_entity", "location"], "label_column": "identifier_name"},
    "flows": {"facets": ["app", "kind", "tracker_entity"], "label_column": "url"},
    "leaks": {"facets": ["identifier", "destination_site", "tracker_entity", "location"], "label_column": "identifier"},
    "registry_snapshots": {"facets": ["registry", "year"], "sort_desc": "fetched_at", "label_column": "source_url"},
    "brokers": {"facets": ["registry", "year", "minors", "precise_geolocation", "reproductive_health", "state"],
                "sort": "name", "label_column": "name"},
    "broker_metrics": {"facets": ["request_type", "measure"]},
    "broker_pages": {"facets": ["kind", "status", "hidden", "gpc"], "label_column": "url"},
    "findings": {"facets": ["severity", "rule_id", "jurisdiction"], "label_column": "title"},
    "evidence_files": {"facets": ["documents", "media_type"], "label_column": "path"},
    "tracker_lists": {"facets": ["name"], "sort_desc": "fetched_at", "label_column": "name"},
}

# The ranking questions drawn as bar charts on the dashboard, in this order.
DASHBOARD = "mouchard"
DASHBOARD_TOP = 20


@dataclass(frozen=True)
class Chart:
    """A horizontal bar chart of a ranking query: one bar per `label`, as long as `value`."""

    label: str
    value: str


LINK_KINDS = ("site", "company", "app", "broker")  # the readers' pages a cell may link to (pages.KINDS)


@dataclass(frozen=True)
class Choice:
    """The values offered for a parameter: the rows of `sql` (one column, bounded by a LIMIT). `free` values are
    suggestions (a site or an app among thousands: a list to pick from, any text accepted); otherwise a <select>."""

    param: str
    sql: str
    free: bool = False


@dataclass(frozen=True)
class CellLink:
    """Cells of `column` link to the `kind` page of the key in `key_column` (the cell's own value by default)."""

    column: str
    kind: str
    key_column: str | None = None


@dataclass(frozen=True)
class CannedQuery:
    """A question a journalist asks, answered by one SQL file of `datasette_files/queries/`. `title` and
    `description` are English; `title_fr` and `description_fr` French (the readers' default language)."""

    name: str
    title: str
    description: str
    sql: str
    params: tuple[str, ...]
    chart: Chart | None = None
    title_fr: str = ""
    description_fr: str = ""
    choices: tuple[Choice, ...] = ()
    links: tuple[CellLink, ...] = ()

    def title_in(self, lang: str) -> str:
        """The title in `lang` ("fr" or "en"), English when there is no French one."""
        return self.title_fr if lang == "fr" and self.title_fr else self.title

    def description_in(self, lang: str) -> str:
        return self.description_fr if lang == "fr" and self.description_fr else self.description


_FIELDS = ("title_fr", "description_fr", "title", "description", "chart", "choices", "suggestions", "links")
_HEADER = re.compile(rf"^--\s*({'|'.join(_FIELDS)}):\s*(.*)$")
_CONTINUATION = re.compile(r"^--\s{2,}(\S.*)$")
_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")
_CONTINUED = ("description", "description_fr", "choices", "suggestions")
_ASSIGNMENT = re.compile(r"^([A-Za-z_]\w*)\s*=\s*(\S.*)$")
_LINK = re.compile(r"^([A-Za-z_]\w*)\s*=\s*([a-z]+)(?:\(([A-Za-z_]\w*)\))?$")
_LIMIT = re.compile(r"\blimit\s+\d+\s*$", re.IGNORECASE)


def parse_query(name: str, text: str) -> CannedQuery:
    """Read one SQL file's header comments, then the SQL:

    - `-- title_fr:`, `-- description_fr:` (French first), `-- title:`, `-- description:` (English); descriptions
      continue on lines indented after `--`;
    - `-- chart: LABEL VALUE`;
    - `-- choices: PARAM = SELECT ... LIMIT n` (a <select> of the values present; one line per parameter, may
      continue indented), `-- suggestions: PARAM = SELECT ... LIMIT n` (a list to pick from, free text allowed);
    - `-- links: COLUMN = KIND, COLUMN = KIND(KEY_COLUMN)`: cells of COLUMN link to the KIND page (site, company,
      app, broker) of their own value or of the row's KEY_COLUMN.
    """
    fields: dict[str, str] = {}
    assignments: dict[str, list[str]] = {"choices": [], "suggestions": []}
    lines = text.splitlines()
    current = None
    body_start = len(lines)
    for index, line in enumerate(lines):
        header = _HEADER.match(line)
        continuation = _CONTINUATION.match(line)
        if header:
            current = header.group(1)
            if current in assignments:
                assignments[current].append(header.group(2).strip())
            else:
                fields[current] = header.group(2).strip()
        elif continuation and current in _CONTINUED:
            if current in assignments:
                assignments[current][-1] += " " + continuation.group(1).strip()
            else:
                fields[current] += " " + continuation.group(1).strip()
        elif line.strip().startswith("--") or not line.strip():
            current = None
            continue
        else:
            body_start = index
            break
    sql = "\n".join(lines[body_start:]).strip()
    if not fields.get("title") or not fields.get("description") or not sql:
        raise ValueError(f"{name}.sql needs '-- title:', '-- description:' and a query")
    chart = None
    if fields.get("chart"):
        label, value = fields["chart"].split()
        chart = Chart(label, value)
    params = tuple(dict.fromkeys(_PARAM.findall(_strip_strings(sql))))
    choices = []
    for kind, entries in assignments.items():
        for entry in entries:
            match = _ASSIGNMENT.match(entry)
            if not match or match.group(1) not in params:
                raise ValueError(f"{name}.sql: '-- {kind}: {entry}' must be 'PARAM = SELECT ...' for a parameter "
                                 f"of the query ({', '.join(params) or 'none'})")
            # Choices run on every view of the question: a query without a final LIMIT could list a million rows.
            if not _LIMIT.search(match.group(2)):
                raise ValueError(f"{name}.sql: the {kind} of {match.group(1)} must end with LIMIT n")
            choices.append(Choice(match.group(1), match.group(2), free=kind == "suggestions"))
    links = []
    for entry in filter(None, (part.strip() for part in fields.get("links", "").split(","))):
        match = _LINK.match(entry)
        if not match or match.group(2) not in LINK_KINDS:
            raise ValueError(f"{name}.sql: '-- links: {entry}' must be 'COLUMN = KIND' or 'COLUMN = KIND(KEY_COLUMN)' "
                             f"with KIND one of {', '.join(LINK_KINDS)}")
        links.append(CellLink(match.group(1), match.group(2), match.group(3)))
    return CannedQuery(name, fields["title"], fields["description"], sql, params, chart,
                       title_fr=fields.get("title_fr", ""), description_fr=fields.get("description_fr", ""),
                       choices=tuple(choices), links=tuple(links))


def _strip_strings(sql: str) -> str:
    """The SQL without its string literals and comments (a ':' inside them is not a parameter)."""
    return re.sub(r"'(?:[^']|'')*'|--[^\n]*", "''", sql)


def load_queries(folder: Path = QUERIES_DIR) -> tuple[CannedQuery, ...]:
    """Every canned query of the folder, in file-name order; `10-sites_by_x.sql` is the query `sites_by_x` (the
    number only orders the questions on the pages)."""
    return tuple(parse_query(path.stem.split("-", 1)[-1], path.read_text(encoding="utf-8"))
                 for path in sorted(folder.glob("*.sql")))


def column_description(table: Table, name: str) -> str:
    column = table.column(name)
    return f"{column.description} (unit: {column.unit})" if column.unit else column.description


def table_metadata(table: Table) -> dict:
    """Datasette's view of one schema table: description, column descriptions, units, facets, order, search."""
    view = TABLE_VIEWS.get(table.name, {})
    description = table.description
    if table.derived:
        description += " Derived: rebuilt by `mouchard classify` or `mouchard audit`."
    meta: dict = {"description": description,
                  "columns": {c.name: column_description(table, c.name) for c in table.columns}}
    # French for French readers (mouchard_links swaps them in on table pages); a missing one stays English.
    description_fr = descriptions_fr.table_description(table.name)
    if description_fr:
        meta["description_fr"] = description_fr + (" " + descriptions_fr.DERIVED if table.derived else "")
    columns_fr = {c.name: descriptions_fr.column_description(table.name, c.name, c.unit) for c in table.columns}
    if any(columns_fr.values()):
        meta["columns_fr"] = {name: text or meta["columns"][name] for name, text in columns_fr.items()}
    units = {c.name: PINT_UNITS[c.unit] for c in table.columns if c.unit in PINT_UNITS}
    if units:
        meta["units"] = units
    facets: list = list(view.get("facets", ()))
    facets += [{"array": name} for name in view.get("array_facets", ())]
    if facets:
        meta["facets"] = facets
    for key in ("sort", "sort_desc", "label_column"):
        if view.get(key):
            meta[key] = view[key]
    if table.fts:
        meta["fts_table"] = f"{table.name}_fts"  # sqlite-utils' FTS table, keyed by rowid (Datasette's default)
    return meta


def query_metadata(query: CannedQuery) -> dict:
    """Datasette's view of one question. `title_fr`/`description_fr` are the French texts (the home page and
    query.html choose by the reader's language); `mouchard_choices` and `mouchard_links` are read by the
    mouchard_links plugin (parameters as choices, cells as links to the readers' pages)."""
    # The SQL is one click away ("show"): a journalist sees the question, its form and the answer first.
    meta: dict = {"title": query.title, "description": query.description}
    if query.title_fr:
        meta["title_fr"] = query.title_fr
    if query.description_fr:
        meta["description_fr"] = query.description_fr
    meta.update({"sql": query.sql, "params": list(query.params), "hide_sql": True})
    if query.choices:
        meta["mouchard_choices"] = {choice.param: {"sql": choice.sql, "free": choice.free} for choice in query.choices}
    if query.links:
        meta["mouchard_links"] = {link.column: {"kind": link.kind, "key": link.key_column or link.column}
                                  for link in query.links}
    return meta


def chart_sql(query: CannedQuery, top: int = DASHBOARD_TOP) -> str:
    """The query with its parameters left empty (their 'all' value), cut to the top rows."""
    assert query.chart is not None
    sql = query.sql
    for param in query.params:
        sql = re.sub(rf"(?<![:\w]):{param}\b", "''", sql)
    return f"SELECT [{query.chart.label}], [{query.chart.value}] FROM (\n{sql}\n) LIMIT {top}"


def dashboard(queries: tuple[CannedQuery, ...], database: str = DATABASE) -> dict:
    """datasette-dashboards configuration: one bar chart per ranking query, two per row."""
    charts = {}
    for query in queries:
        if query.chart is None:
            continue
        charts[query.name] = {
            "title": query.title,
            "db": database,
            "query": chart_sql(query),
            "library": "vega-lite",
            "display": {
                "mark": {"type": "bar", "tooltip": True},
                "encoding": {
                    "y": {"field": query.chart.label, "type": "nominal", "sort": "-x",
                          "title": query.chart.label.replace("_", " ")},
                    "x": {"field": query.chart.value, "type": "quantitative",
                          "title": query.chart.value.replace("_", " "),
                          # Counts: no "0.5" label on small axes (Vega ignores tickMinStep once it fits).
                          "axis": {"format": "d", "tickMinStep": 1,
                                   "labelExpr": "datum.value % 1 ? '' : datum.label"}},
                },
            },
        }
    names = list(charts)
    # CSS grid areas must be rectangles of equal width: a lone chart on the last row spans both columns.
    layout = [names[i:i + 2] if i + 1 < len(names) else [names[i], names[i]] for i in range(0, len(names), 2)]
    return {DASHBOARD: {
        "title": "The rankings as charts",
        "description": f"The top {DASHBOARD_TOP} of each ranking question, over every consent phase. Open a "
                       "question from the home page to filter it.",
        "layout": layout,
        "charts": charts,
    }}


def robots_txt(queries: tuple[CannedQuery, ...], database: str = DATABASE) -> str:
    """Search engines may index the home, table and row pages, never SQL, downloads, searches or facets."""
    lines = ["User-agent: *", "Allow: /-/static/", "Allow: /-/static-plugins/", "Disallow: /-/",
             "Disallow: /*?", "Disallow: /*.json", "Disallow: /*.csv", f"Disallow: /{database}.db"]
    lines += [f"Disallow: /{database}/{query.name}" for query in queries]
    return "\n".join(lines)


def build_metadata(queries: tuple[CannedQuery, ...] | None = None, *, database: str = DATABASE,
                   title: str = TITLE, description: str = DESCRIPTION, license: str = LICENSE,
                   license_url: str | None = LICENSE_URL, source: str = SOURCE,
                   source_url: str | None = SOURCE_URL) -> dict:
    """The whole metadata document for one mouchard database."""
    queries = load_queries() if queries is None else queries
    about = {"title": title, "description": description, "license": license, "license_url": license_url,
             "source": source, "source_url": source_url}
    return {
        **{key: value for key, value in about.items() if value},
        "databases": {
            database: {
                "description": "One mouchard database: every table is described, every column too.",
                "tables": {table.name: table_metadata(table) for table in TABLES},
                "queries": {query.name: query_metadata(query) for query in queries},
            },
        },
        "plugins": {
            "datasette-block-robots": {"literal": robots_txt(queries, database)},
            "datasette-dashboards": dashboard(queries, database),
            # No column is ever rendered as Markdown: crawled text stays text (and loads no remote image).
            "datasette-render-markdown": {"patterns": []},
        },
    }


def render(metadata: dict) -> str:
    return json.dumps(metadata, indent=2, ensure_ascii=False) + "\n"


def write(path: Path | None = None) -> bool:
    """Rewrite `datasette_files/metadata.json`; True if it changed."""
    path = path or METADATA_FILE
    text = render(build_metadata())
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.write_text(text, encoding="utf-8")
    return True


def main(argv: list[str] | None = None) -> int:
    """`python -m mouchard.publishing.metadata [--check]`: rewrite datasette_files/metadata.json, or fail if it is stale."""
    argv = sys.argv[1:] if argv is None else argv
    if "--check" in argv:
        stale = METADATA_FILE.read_text(encoding="utf-8") != render(build_metadata())
        print(f"{METADATA_FILE} is {'stale: run python -m mouchard.publishing.metadata' if stale else 'up to date'}")
        return int(stale)
    print(f"{METADATA_FILE} {'rewritten' if write() else 'already up to date'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
