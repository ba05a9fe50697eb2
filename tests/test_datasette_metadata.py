"""Datasette metadata is generated from the schema and the query files, and the committed copy is current."""

from __future__ import annotations

import json
import sqlite3

import pytest

from mouchard.publishing import metadata
from mouchard.storage import schema
from mouchard.publishing.metadata import METADATA_FILE, build_metadata, load_queries, parse_query, render
from mouchard.storage.store import Store


def test_committed_metadata_json_is_the_generated_one():
    assert METADATA_FILE.read_text(encoding="utf-8") == render(build_metadata()), \
        "mouchard/datasette_files/metadata.json is stale: run python -m mouchard.publishing.metadata"


def test_every_table_and_column_is_described_with_units():
    tables = build_metadata()["databases"]["mouchard"]["tables"]
    assert set(tables) == {t.name for t in schema.TABLES}
    for table in schema.TABLES:
        meta = tables[table.name]
        assert meta["description"].startswith(table.description)
        assert set(meta["columns"]) == {c.name for c in table.columns}
        for column in table.columns:
            assert meta["columns"][column.name].startswith(column.description)
            if column.unit:
                assert f"(unit: {column.unit})" in meta["columns"][column.name]
    assert tables["visits"]["units"] == {"load_ms": "ms", "duration_ms": "ms", "dwell_ms": "ms", "leave_ms": "ms"}
    assert "units" not in tables["storage_items"]  # "characters" is no Pint unit


def test_facets_sorts_and_labels_name_real_columns():
    for name, view in metadata.TABLE_VIEWS.items():
        known = {c.name for c in schema.table(name).columns}
        named = [*view.get("facets", ()), *view.get("array_facets", ())]
        named += [view[key] for key in ("sort", "sort_desc", "label_column") if key in view]
        assert set(named) <= known, (name, set(named) - known)


def test_full_text_search_covers_sites_brokers_and_broker_pages():
    tables = build_metadata()["databases"]["mouchard"]["tables"]
    assert {name for name, meta in tables.items() if "fts_table" in meta} == {"visits", "brokers", "broker_pages"}


def test_every_query_has_a_title_a_description_and_valid_sql(tmp_path):
    with Store(tmp_path / "m.db") as store:
        for query in load_queries():
            assert query.title and len(query.description) > 40, query.name
            store.conn.execute(f"EXPLAIN {query.sql}", {p: "" for p in query.params})


def test_query_names_never_hide_a_table_from_robots_rules():
    # robots.txt disallows /mouchard/<query> by prefix: no table name may start with a query name.
    for query in load_queries():
        assert not any(t.name.startswith(query.name) for t in schema.TABLES), query.name


def test_the_questions_the_issue_asks_are_all_there():
    names = {q.name for q in load_queries()}
    assert {"sites_by_tracker_companies", "companies_on_most_sites", "tracking_cookies_before_consent",
            "tracking_after_reject", "tcf_vendors_without_consent", "gpc_ignored", "header_bidding_bidders",
            "header_bidding_auctions", "id_syncs_between_companies", "apps_by_leaks",
            "location_and_advertising_id_receivers", "brokers_hiding_opt_out", "brokers_by_declared_data",
            "site_profile", "app_profile"} <= names
    profiles = {q.name: q.params for q in load_queries()}
    assert profiles["site_profile"] == ("site",) and profiles["app_profile"] == ("app",)


def test_query_header_is_parsed_and_colons_in_strings_are_not_parameters():
    query = parse_query("q", "-- title: T\n-- description: first line\n--   second line\n-- chart: a b\n"
                             "SELECT 'x:y' AS a, :site AS b -- not :this\n")
    assert (query.title, query.description, query.params) == ("T", "first line second line", ("site",))
    assert query.chart == metadata.Chart("a", "b")
    with pytest.raises(ValueError):
        parse_query("bad", "SELECT 1")


def test_ranking_charts_run_with_parameters_left_empty(tmp_path):
    path = tmp_path / "m.db"
    Store(path).close()
    conn = sqlite3.connect(path)
    charts = build_metadata()["plugins"]["datasette-dashboards"]["mouchard"]["charts"]
    assert {"sites_by_tracker_companies", "companies_on_most_sites", "apps_by_leaks"} <= set(charts)
    for name, chart in charts.items():
        assert chart["db"] == "mouchard" and chart["library"] == "vega-lite"
        assert conn.execute(chart["query"]).fetchall() == [], name


def test_robots_block_queries_and_downloads_but_not_the_site():
    robots = build_metadata()["plugins"]["datasette-block-robots"]["literal"].splitlines()
    assert "Disallow: /" not in robots
    for line in ("Disallow: /*?", "Disallow: /*.json", "Disallow: /*.csv", "Disallow: /mouchard.db",
                 "Disallow: /-/", "Allow: /-/static/", "Disallow: /mouchard/site_profile"):
        assert line in robots


def test_no_column_is_rendered_as_markdown():
    assert build_metadata()["plugins"]["datasette-render-markdown"] == {"patterns": []}


def test_metadata_check_command_reports_a_stale_file(tmp_path, monkeypatch, capsys):
    stale = tmp_path / "metadata.json"
    stale.write_text(json.dumps({"title": "old"}))
    monkeypatch.setattr(metadata, "METADATA_FILE", stale)
    assert metadata.main(["--check"]) == 1
    assert metadata.main([]) == 0 and metadata.main(["--check"]) == 0
    assert "stale" in capsys.readouterr().out
