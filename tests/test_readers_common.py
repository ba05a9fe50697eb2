"""The helpers every readers' page shares (mouchard.publishing.pages.common, i18n.plural and the number formats):
links that keep crawled text a value, JSON columns read fail closed whatever they hold, one pluralisation, and each
helper defined once."""

from __future__ import annotations

import ast
import importlib.util
import json
import re
import sqlite3
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from hypothesis import given, settings, strategies as st

from mouchard.publishing import i18n
from mouchard.publishing.pages import common, company_text  # noqa: F401 (registers company.n.*)
from mouchard.publishing.pages.common import (by_severity, evidence_path, json_dict, json_list, json_strings,
                                              json_value, ranked_strings, row_url, rows, rows_url, sql_json_field,
                                              sql_json_list)

ROOT = Path(__file__).resolve().parents[1]
READERS_CODE = [*sorted((ROOT / "mouchard" / "publishing" / "pages").glob("*.py")), ROOT / "mouchard" / "publishing" /
                "i18n.py", *sorted((ROOT / "mouchard" / "datasette_files" / "plugins").glob("mouchard_*.py"))]
# Each shared helper and the one module that defines it.
HOMES = {name: "common.py" for name in ("rows", "row_url", "rows_url", "evidence_path", "json_value", "json_dict",
                                         "json_list", "json_strings", "ranked_strings", "cut", "by_severity",
                                         "sql_json_list", "sql_json_field", "json_field")}
HOMES |= {name: "i18n.py" for name in ("plural", "singular", "counted", "said", "number", "format_number",
                                        "format_cell", "request_language", "reader_language")}

SCALARS = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
           | st.text(max_size=20))
JSON_TEXT = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=5)
                         | st.dictionaries(st.text(max_size=5), inner, max_size=5), max_leaves=20).map(json.dumps)
ANY_TEXT = st.one_of(st.text(max_size=300), JSON_TEXT, st.none(), st.integers(), st.binary(max_size=20))


def test_each_shared_helper_is_defined_once_in_the_readers_code():
    defined: dict[str, list[str]] = {}
    for path in READERS_CODE:
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.FunctionDef) and node.name in HOMES:
                defined.setdefault(node.name, []).append(path.name)
    assert {name: files for name, files in defined.items() if files != [HOMES[name]]} == {}


@given(ANY_TEXT)
def test_json_columns_read_fail_closed(text):
    assert isinstance(json_dict(text), dict) and isinstance(json_list(text), list)
    strings = json_strings(text)
    assert all(isinstance(s, str) and len(s) <= common.TEXT_CUT + 1 for s in strings) and len(strings) <= 50


@given(JSON_TEXT)
def test_json_columns_read_what_they_hold(text):
    value = json.loads(text)
    assert json_dict(text) == (value if isinstance(value, dict) else {})
    assert json_list(text) == (value if isinstance(value, list) else [])


@pytest.mark.parametrize("text", ["[" * 200_000, "{\"a\":" * 100_000, "1" * 100_000, "[" + "0," * 600_000 + "0]",
                                  "\"\\ud800\"", "{\"a\": 1", ""])
def test_hostile_json_reads_as_empty_never_an_error(text):
    assert (json_list(text), json_dict(text), json_strings(text)) == ([], {}, [])


def test_json_value_cuts_at_its_limit_and_keeps_strings_only():
    assert json_value('["a"]', list, limit=4) == [] and json_value('["a"]', list, limit=5) == ["a"]
    assert json_strings(json.dumps(["x", 1, None, "y" * 300, ["z"]])) == ["x", "y" * 200 + "…"]


def test_ranked_strings_count_each_list_once_per_row_most_first():
    assert ranked_strings([('["device.ifa", "device.geo", "device.ifa"]', 3), ('["device.geo"]', 2),
                           ("not json", 9), (None, 1)]) == [("device.geo", 5), ("device.ifa", 3)]


@given(st.dictionaries(st.text(min_size=1, max_size=10), st.one_of(st.text(max_size=40), st.integers(), st.none()),
                       max_size=5))
def test_rows_url_keeps_every_value_a_value_on_this_datasette(filters):
    url = rows_url("requests", **filters)
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("", "", "/mouchard/requests")
    assert parse_qsl(parts.query, keep_blank_values=True) == [(k, str(v)) for k, v in filters.items() if v is not None]


def test_row_and_evidence_links_take_integers_only():
    assert row_url("findings", 7) == "/mouchard/findings/7" and row_url("brokers", "12") == "/mouchard/brokers/12"
    assert rows_url("flows") == "/mouchard/flows"
    assert rows_url("visits", crawl_id=2, site="a&b=c", phase=None) == "/mouchard/visits?crawl_id=2&site=a%26b%3Dc"
    assert evidence_path(3) == "/-/evidence/mouchard/3" and evidence_path(4, "a/b") == "/-/evidence/a%2Fb/4"
    for bad in ("1 OR 1", "../x", "javascript:1"):
        with pytest.raises(ValueError):
            row_url("findings", bad)
        with pytest.raises(ValueError):
            evidence_path(bad)


def test_the_evidence_plugin_serves_the_paths_the_pages_link_to():
    path = ROOT / "mouchard" / "datasette_files" / "plugins" / "mouchard_evidence.py"
    spec = importlib.util.spec_from_file_location("mouchard_evidence_h7", path)
    plugin = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(plugin)
    [(route, _)] = plugin.register_routes()
    assert re.match(route, evidence_path(42)).groupdict() == {"database": "mouchard", "id": "42"}


@settings(max_examples=50)
@given(st.lists(st.one_of(st.text(max_size=60), JSON_TEXT, st.just("[" * 5000), st.none()), min_size=1, max_size=5))
def test_sql_json_helpers_never_raise_on_what_a_column_holds(values):
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, doc TEXT)")
    conn.executemany("INSERT INTO t (doc) VALUES (?)", [(v,) for v in values])
    items = conn.execute(f"SELECT count(*) FROM t, json_each({sql_json_list('t.doc')})").fetchone()[0]
    assert items == sum(len(v) for v in map(json_list, values) if v is not None)
    fields = [r[0] for r in conn.execute(f"SELECT {sql_json_field('doc', '$.a')} FROM t ORDER BY id")]
    assert len(fields) == len(values)
    conn.close()


def test_findings_rank_high_first_and_rows_come_as_dicts():
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE findings (id INTEGER PRIMARY KEY, severity TEXT)")
    conn.executemany("INSERT INTO findings (severity) VALUES (?)", [("low",), (None,), ("high",), ("medium",),
                                                                     ("odd",), ("high",)])
    found = rows(conn, f"SELECT id, severity FROM findings ORDER BY {by_severity()}, id")
    assert [(r["id"], r["severity"]) for r in found] == [(3, "high"), (6, "high"), (4, "medium"), (1, "low"),
                                                         (2, None), (5, "odd")]
    conn.close()


def test_plural_chooses_the_form_before_filling_it():
    i18n.register({"test.common.sites": {"fr": "{n} site vu|{n} sites vus", "en": "{n} site seen|{n} sites seen"},
                   "test.common.verb": {"fr": "{who} a dit.|{who} ont dit.", "en": "{who} said."}})
    assert [i18n.plural("test.common.sites", n, "fr") for n in (0, 1, 2, 12345)] == [
        "0 site vu", "1 site vu", "2 sites vus", "12\u202f345 sites vus"]
    assert [i18n.plural("test.common.sites", n, "en") for n in (0, 1, 2)] == [
        "0 sites seen", "1 site seen", "2 sites seen"]
    assert i18n.plural("test.common.verb", 3, "fr", who="a|b {n}") == "a|b {n} ont dit."
    assert i18n.plural("test.common.verb", 3, "en", who="x") == "x said."


@given(st.integers(min_value=0, max_value=10**6), st.sampled_from(i18n.LANGUAGES))
def test_plural_agrees_with_its_count(n, lang):
    text = i18n.plural("company.n.site", n, lang)
    assert text.startswith(i18n.format_number(n, lang) + " ")
    one = n < 2 if lang == "fr" else n == 1
    assert ("sites" in text) != one


def test_numbers_are_rounded_to_one_decimal_and_cells_may_be_empty():
    assert [i18n.format_number(v, "fr") for v in (12345, 2.5, 2.96, 12345.67, 3.0)] == [
        "12\u202f345", "2,5", "3", "12\u202f345,7", "3"]
    assert [i18n.format_number(v, "en") for v in (12345, 2.5, 2.96, 12345.67)] == ["12,345", "2.5", "3", "12,345.7"]
    assert i18n.format_cell(None, "fr") is None and i18n.format_cell(0.04, "en") == "0"


def test_the_pages_know_the_crawls_consent_phases_in_their_order():
    # the publishing layer does not import mouchard.settings: its copy of the phases is held equal here
    from mouchard.publishing.pages.common import PHASES
    from mouchard.settings import PHASES as CRAWL_PHASES

    assert PHASES == CRAWL_PHASES
