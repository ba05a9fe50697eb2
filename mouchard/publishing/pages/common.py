"""What every readers' page module needs the same way, written once: links to Datasette's rows and evidence, a
query's rows as dicts, crawled text cut for a page, and JSON columns read fail closed (in Python and in SQL).

What belongs here: small helpers with no page's wording in them, used (or usable) by two page modules or more.
What does not: messages (each page declares its own), plural forms and numbers in the reader's language
(`mouchard.publishing.i18n`), links to the readers' pages (`mouchard.publishing.pages.page_url`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from urllib.parse import quote, urlencode

from mouchard.storage.json_columns import MAX_JSON, json_dict, json_list, json_value  # noqa: F401
from mouchard.publishing.metadata import DATABASE

# The consent phases in visiting order (mouchard.settings.PHASES, which this layer does not import; a test keeps the
# two equal): the pages list a site's or a company's phases in this order.
PHASES = ("initial", "reject", "accept", "gpc", "revoke", "second-site")

TEXT_CUT = 200  # a crawled name longer than this is cut on the page (the row link shows it whole)
EVIDENCE_PREFIX = "/-/evidence"  # where mouchard_evidence serves a registered evidence image



# -- links to Datasette -----------------------------------------------------------------------------------------

def row_url(table: str, row_id: int | str) -> str:
    """The Datasette page of one row of the mouchard database (only an integer id goes into the path)."""
    return f"/{DATABASE}/{table}/{int(row_id)}"


def rows_url(table: str, **filters: object) -> str:
    """A Datasette table page of the mouchard database filtered by exact column values (`name__in`, `_sort_desc`
    and other Datasette filters too). Values are URL-encoded whole, so crawled text stays a value; None drops the
    filter."""
    params = {name: value for name, value in filters.items() if value is not None}
    return f"/{DATABASE}/{table}?{urlencode(params)}" if params else f"/{DATABASE}/{table}"


def evidence_path(file_id: int | str, database: str = DATABASE) -> str:
    """The path (on this Datasette, before `datasette.urls.path`) of an evidence image `mouchard_evidence` serves."""
    return f"{EVIDENCE_PREFIX}/{quote(database, safe='')}/{int(file_id)}"


# -- reading --------------------------------------------------------------------------------------------------

def rows(conn: sqlite3.Connection, sql: str, params: Iterable = ()) -> list[dict]:
    """The rows of a query as dicts (whatever the connection's row factory)."""
    cursor = conn.execute(sql, tuple(params))
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def by_severity(column: str = "severity") -> str:
    """SQL: a findings severity column as its rank, high first (ORDER BY it, then by id). `column` is SQL we
    write, never data."""
    return f"CASE {column} WHEN 'high' THEN 0 WHEN 'medium' THEN 1 WHEN 'low' THEN 2 ELSE 3 END"


def cut(text: object) -> str:
    """A crawled string as page text: never None, never longer than TEXT_CUT (the row link has it whole)."""
    value = "" if text is None else str(text)
    return value if len(value) <= TEXT_CUT else value[:TEXT_CUT] + "…"


# -- JSON columns ---------------------------------------------------------------------------------------------
# A JSON column holds what a crawled page or a registry sent: anything. Every reader here answers an empty value
# rather than raise, and parses at most MAX_JSON characters (json.loads is linear in its input; its recursion is
# caught, so "[[[[..." of any depth is empty too).

def json_strings(text: object, limit: int = 50) -> list[str]:
    """The strings among the first `limit` items of a JSON list column (`rtb.personal_fields`), each cut as page
    text; other items are left out."""
    return [cut(item) for item in json_list(text)[:limit] if isinstance(item, str)]


def ranked_strings(counted: Iterable[tuple[object, int]]) -> list[tuple[str, int]]:
    """From (JSON list column, rows holding it) pairs (`SELECT personal_fields, count(*) ... GROUP BY 1`): each
    string and the rows whose list holds it (a string repeated in one list counts once), most first, then by name."""
    totals: dict[str, int] = {}
    for text, n in counted:
        for name in dict.fromkeys(json_strings(text)):
            totals[name] = totals.get(name, 0) + n
    return sorted(totals.items(), key=lambda item: (-item[1], item[0]))


def sql_json_list(column: str) -> str:
    """SQL: a JSON list column for json_each, an empty list when it is not a JSON array (never an SQL error).
    `column` is SQL we write, never data."""
    return f"CASE WHEN json_valid({column}) AND json_type({column}) = 'array' THEN {column} ELSE '[]' END"


def sql_json_field(column: str, path: str) -> str:
    """SQL: a field of a JSON column, NULL when the column is not JSON (never an SQL error). `column` and `path`
    are SQL we write, never data."""
    return f"CASE WHEN json_valid({column}) THEN json_extract({column}, '{path}') END"
