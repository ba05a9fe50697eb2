"""The questions and the tables for readers (#17): titles in French and English, parameters as choices, sites,
companies, apps and brokers linked to their pages, and French descriptions of every table and column. In process,
on the fixture database with hostile strings."""

from __future__ import annotations

import html
import re
import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from data.datasette.client import SyncClient
from data.datasette.fixtures import HOSTILE, build
from data.datasette.readers import readonly, served
from mouchard.publishing.metadata import CellLink, Choice, build_metadata, load_queries, parse_query
from mouchard.publishing.pages import page_url
from mouchard.publishing.serve import build_datasette
from mouchard.storage import descriptions_fr
from mouchard.storage.schema import PRIVATE_TABLES, TABLES

QUERIES = load_queries()
ENGLISH = {"headers": {"Accept-Language": "en-GB,en;q=0.9"}}


@pytest.fixture(scope="module")
def fixture(tmp_path_factory):
    return build(tmp_path_factory.mktemp("readers-queries") / "crawl.db", hostile=True)


@pytest.fixture(scope="module")
def client(fixture):
    yield from served(fixture)


@pytest.fixture(scope="module")
def db(fixture):
    yield from readonly(fixture)


def text_of(pattern: str, page: str) -> list[str]:
    """The unescaped text of every match of `pattern`'s group 1, tags inside it removed."""
    return [html.unescape(re.sub(r"<[^>]+>", "", m)).strip() for m in re.findall(pattern, page, re.DOTALL)]


def options(page: str, name: str) -> list[tuple[str, str]]:
    """(value, label) of each option of the <select name=name>."""
    select = re.search(rf'<select id="[^"]+" name="{name}">(.*?)</select>', page, re.DOTALL)
    assert select, f"no <select> for {name}"
    return [(html.unescape(value), html.unescape(label).strip())
            for value, label in re.findall(r'<option value="([^"]*)"[^>]*>(.*?)</option>', select.group(1), re.DOTALL)]


def datalist(page: str, name: str) -> list[str]:
    field = re.search(rf'<input type="text" id="([^"]+)" name="{name}"[^>]*list="([^"]+)"', page)
    assert field, f"no suggestions for {name}"
    body = re.search(rf'<datalist id="{field.group(2)}">(.*?)</datalist>', page, re.DOTALL).group(1)
    return [html.unescape(value) for value in re.findall(r'<option value="([^"]*)">', body)]


def cell_links(page: str, column: str) -> list[tuple[str, str]]:
    """(href, text) of the links in the cells of `column`."""
    cells = re.findall(rf'<td class="col-{column}(?:\s[^"]*)?">(.*?)</td>', page, re.DOTALL)
    links = []
    for cell in cells:
        for href, text in re.findall(r'<a href="([^"]*)">(.*?)</a>', cell, re.DOTALL):
            links.append((html.unescape(href), html.unescape(text)))
    return links


# --- Titles and descriptions -------------------------------------------------------------------------------------

def test_every_question_has_a_french_and_an_english_title_and_description():
    for query in QUERIES:
        assert query.title_fr and query.description_fr and query.title and query.description, query.name
        assert query.title_fr != query.title, query.name


@pytest.mark.parametrize("query", QUERIES, ids=[q.name for q in QUERIES])
def test_question_pages_are_titled_by_the_question_in_french_by_default_and_in_english(client, query):
    for lang, kwargs in (("fr", {}), ("fr", {"params": {"lang": "fr"}}), ("en", {"params": {"lang": "en"}}),
                         ("en", ENGLISH), ("en", {"headers": {"Cookie": "mouchard_lang=en"}}),
                         ("fr", {"headers": {"Cookie": "mouchard_lang=fr", "Accept-Language": "en"}})):
        response = client.get(f"/mouchard/{query.name}", **kwargs)
        assert response.status_code == 200, (query.name, lang)
        page = response.text
        expected = query.title_fr if lang == "fr" else query.title
        assert text_of(r"<title>(.*?)</title>", page) == [expected], (query.name, lang)
        assert text_of(r"<h1[^>]*>(.*?)</h1>", page) == [expected], (query.name, lang)
        description = query.description_fr if lang == "fr" else query.description
        assert description in text_of(r'<div class="metadata-description">(.*?)</div>', page)
        assert "SELECT" not in text_of(r"<title>(.*?)</title>", page)[0]


def test_french_titles_are_the_ones_written_in_the_sql_headers(client):
    page = client.get("/mouchard/sites_by_tracker_companies").text
    assert text_of(r"<title>(.*?)</title>", page) == ["Les sites classés par nombre d'entreprises de pistage"]
    page = client.get("/mouchard/brokers_by_state", **ENGLISH).text
    assert text_of(r"<title>(.*?)</title>", page) == ["Data brokers by state"]


def test_metadata_carries_french_titles_for_the_home_page():
    queries = build_metadata()["databases"]["mouchard"]["queries"]
    assert queries["gpc_ignored"]["title_fr"] == "Le signal Global Privacy Control ignoré"
    assert queries["gpc_ignored"]["title"] == "Global Privacy Control ignored"
    assert all(meta["title_fr"] and meta["description_fr"] for meta in queries.values())


# --- Parameters as choices ---------------------------------------------------------------------------------------

def test_phase_is_a_choice_of_the_phases_present(client, db):
    page = client.get("/mouchard/sites_by_tracker_companies").text
    assert options(page, "phase") == [("", "(tous)"), ("initial", "initial"), ("reject", "reject"),
                                      ("accept", "accept"), ("gpc", "gpc")]
    assert {row[0] for row in db.execute("SELECT DISTINCT phase FROM visits")} == {"initial", "reject", "accept", "gpc"}
    page = client.get("/mouchard/sites_by_tracker_companies", params={"lang": "en", "phase": "reject"}).text
    assert options(page, "phase")[0] == ("", "(all)")
    assert re.search(r'<option value="reject" selected>', page)


def test_category_identifier_registry_and_data_choices_are_exactly_the_values_present(client, db):
    categories = sorted(row[0] for row in db.execute(
        "SELECT DISTINCT tracker_category FROM requests WHERE tracker_category IS NOT NULL"))
    assert categories == ["advertising", "analytics", "social"]
    page = client.get("/mouchard/companies_on_most_sites").text
    assert [value for value, _ in options(page, "category")] == ["", *categories]

    page = client.get("/mouchard/location_and_advertising_id_receivers").text
    assert [value for value, _ in options(page, "identifier")] == ["", "location", "advertising_id"]

    page = client.get("/mouchard/brokers_hiding_opt_out").text
    assert [value for value, _ in options(page, "registry")] == ["", "ca", "list"]

    page = client.get("/mouchard/brokers_by_declared_data").text
    assert [value for value, _ in options(page, "data")] == ["", "minors", "precise_geolocation",
                                                            "reproductive_health"]


def test_a_choice_absent_from_the_database_is_not_offered(tmp_path):
    from mouchard.storage.store import Store

    with Store(tmp_path / "empty.db"):
        pass
    empty = SyncClient(build_datasette(tmp_path / "empty.db"))
    try:
        page = empty.get("/mouchard/sites_by_tracker_companies").text
        assert options(page, "phase") == [("", "(tous)")]
        page = empty.get("/mouchard/site_profile").text
        assert datalist(page, "site") == []
    finally:
        empty.close()


def test_sites_and_apps_are_suggested_from_the_database_and_hostile_ones_stay_text(client, db):
    page = client.get("/mouchard/site_profile").text
    sites = [row[0] for row in db.execute("SELECT DISTINCT site FROM visits ORDER BY site")]
    assert datalist(page, "site") == sites
    page = client.get("/mouchard/app_profile").text
    apps = [row[0] for row in db.execute("SELECT DISTINCT app FROM flows WHERE app IS NOT NULL ORDER BY app")]
    assert datalist(page, "app") == apps
    assert set(HOSTILE.values()) <= set(apps)
    assert "<script>window.__pwned" not in page and "<img src=x" not in page


@pytest.mark.parametrize("value", [*HOSTILE.values(), "reject' OR 1=1 --", "x" * 600])
def test_a_value_given_in_the_url_runs_as_plain_text_and_stays_inert(client, value):
    response = client.get("/mouchard/sites_by_tracker_companies", params={"phase": value})
    assert response.status_code == 200
    assert "<script>window.__pwned" not in response.text and "<svg onload" not in response.text
    choices = options(response.text, "phase")
    assert choices[-1] == (value, f"{value} (valeur donnée dans l'adresse)")
    assert client.json("/mouchard/sites_by_tracker_companies", phase=value) == []


# --- Links to the readers' pages ---------------------------------------------------------------------------------

def test_rankings_link_each_site_to_its_page(client):
    page = client.get("/mouchard/sites_by_tracker_companies").text
    links = cell_links(page, "site")
    rows = client.json("/mouchard/sites_by_tracker_companies")
    assert links == [(page_url("site", row["site"]), row["site"]) for row in rows]
    assert ("/site/news.example", "news.example") in links


def test_companies_link_to_their_page_with_hostile_names_escaped(client):
    page = client.get("/mouchard/companies_on_most_sites").text
    rows = client.json("/mouchard/companies_on_most_sites")
    assert cell_links(page, "company") == [(page_url("company", row["company"]), row["company"]) for row in rows]
    script = HOSTILE["script"]
    assert (page_url("company", script), script) in cell_links(page, "company")
    assert "<script>window.__pwned" not in page and "<img src=x" not in page
    assert '<a href="/company/%3Cscript%3Ewindow.__pwned%3D%27script%27%3C%2Fscript%3E">' \
           "&lt;script&gt;window.__pwned=&#39;script&#39;&lt;/script&gt;</a>" in page


def test_apps_link_to_their_page_but_not_the_unattributed_placeholder(client):
    page = client.get("/mouchard/apps_by_leaks").text
    rows = client.json("/mouchard/apps_by_leaks")
    apps = [row["app"] for row in rows if row["app"] != "(unattributed)"]
    assert cell_links(page, "app") == [(page_url("app", app), app) for app in apps]
    assert "/app/%28unattributed%29" not in page


def test_brokers_link_by_their_key_and_show_their_name(client):
    rows = client.json("/mouchard/brokers_hiding_opt_out")
    page = client.get("/mouchard/brokers_hiding_opt_out").text
    assert cell_links(page, "broker") == [(page_url("broker", row["broker_key"]), row["broker"]) for row in rows]
    assert cell_links(page, "broker")[0] == ("/broker/acme%20data", "Acme Data LLC")


def test_id_syncs_link_companies_only_when_the_company_is_known(client):
    page = client.get("/mouchard/id_syncs_between_companies").text
    assert cell_links(page, "from_company") == [("/company/Microsoft", "Microsoft"), ("/company/WeatherAds", "WeatherAds")]
    assert cell_links(page, "to_company") == [("/company/Magnite", "Magnite"), ("/company/Meta", "Meta")]


def test_cells_of_undeclared_columns_are_not_linked(client):
    page = client.get("/mouchard/companies_on_most_sites").text
    assert cell_links(page, "category") == []
    page = client.get("/mouchard/header_bidding_bidders").text
    assert cell_links(page, "bidder") == []


def test_evidence_and_row_links_still_render_beside_the_page_links(client, fixture):
    page = client.get("/mouchard/tcf_vendors_without_consent").text
    assert '<ul class="mouchard-evidence"' in page
    request = fixture.ids["news_dc_request"]
    assert f'<a href="/mouchard/requests/{request}">requests {request}</a>' in page
    assert (f"/mouchard/visits/{fixture.ids['news_initial']}", str(fixture.ids["news_initial"])) \
        in cell_links(page, "visit_id")
    assert ("/site/news.example", "news.example") in cell_links(page, "site")


def test_table_pages_link_sites_companies_apps_and_brokers(client):
    page = client.get("/mouchard/visits").text
    assert ("/site/news.example", "news.example") in cell_links(page, "site")
    page = client.get("/mouchard/requests").text
    assert ("/company/Google", "Google") in cell_links(page, "tracker_entity")
    assert (page_url("company", HOSTILE["img"]), HOSTILE["img"]) in cell_links(page, "tracker_entity")
    assert cell_links(page, "site") == []  # a request's site is the domain it went to, not a visited site
    page = client.get("/mouchard/flows").text
    assert ("/app/com.weather.app", "com.weather.app") in cell_links(page, "app")
    page = client.get("/mouchard/brokers").text
    assert ("/broker/acme%20data", "acme data") in cell_links(page, "key")
    assert "<script>window.__pwned" not in page


def test_row_pages_keep_their_links(client, fixture):
    visit = fixture.ids["news_initial"]
    page = client.get(f"/mouchard/visits/{visit}").text
    assert ("/site/news.example", "news.example") in cell_links(page, "site")


# --- Table and column descriptions in French ---------------------------------------------------------------------

def test_every_table_and_column_has_a_french_description():
    tables = (*TABLES, *PRIVATE_TABLES)  # a person's own tables too: they browse them in French (mouchard me)
    missing = [table.name for table in tables if not descriptions_fr.table_description(table.name)]
    missing += [f"{table.name}.{column.name}" for table in tables for column in table.columns
                if not descriptions_fr.column_description(table.name, column.name)]
    assert missing == [], f"add French descriptions to mouchard/storage/descriptions_fr.py: {', '.join(missing)}"
    names = {table.name: {column.name for column in table.columns} for table in tables}
    stale = [f"{table}.{column}" for table, columns in descriptions_fr.COLUMNS.items()
             for column in columns if column not in names.get(table, ())]
    assert stale == [], f"French descriptions of columns the schema does not have: {stale}"


def test_french_descriptions_carry_the_unit_in_french():
    assert descriptions_fr.column_description("cookies", "lifetime_days", "days") == \
        "Expiration gardée moins l'heure du dépôt (400 au plus). (unité : jours)"
    meta = build_metadata()["databases"]["mouchard"]["tables"]["cookies"]
    assert meta["columns_fr"]["lifetime_days"].endswith("(unité : jours)")
    assert meta["columns"]["lifetime_days"].endswith("(unit: days)")


def test_table_pages_describe_tables_and_columns_in_the_readers_language(client):
    page = client.get("/mouchard/visits").text
    assert descriptions_fr.TABLES["visits"] in text_of(r'<div class="metadata-description">(.*?)</div>', page)
    assert "<dt>site</dt><dd>Domaine enregistrable (eTLD+1) de l&#39;URL demandée.</dd>" in page
    assert "Ce que veut dire chaque colonne ({count} colonnes)" in page
    page = client.get("/mouchard/visits", **ENGLISH).text
    assert "One page load in a fresh browser profile, in one consent phase." in \
        text_of(r'<div class="metadata-description">(.*?)</div>', page)
    assert "<dt>site</dt><dd>Registrable domain (eTLD+1) of the requested URL.</dd>" in page
    assert "What each column means ({count} columns)" in page


# --- The header parser -------------------------------------------------------------------------------------------

def test_choices_suggestions_and_links_are_read_from_the_header():
    query = parse_query("q", "-- title_fr: Titre\n-- description_fr: première ligne\n--   suite\n-- title: T\n"
                             "-- description: D\n-- choices: phase = SELECT DISTINCT phase FROM visits\n"
                             "--   ORDER BY phase LIMIT 10\n-- suggestions: site = SELECT site FROM visits LIMIT 5\n"
                             "-- links: site = site, owner = company(owner_key)\n"
                             "SELECT :phase AS phase, :site AS site, 'x' AS owner, 'y' AS owner_key\n")
    assert (query.title_fr, query.description_fr, query.title_in("fr"), query.title_in("en")) == \
        ("Titre", "première ligne suite", "Titre", "T")
    assert query.choices == (Choice("phase", "SELECT DISTINCT phase FROM visits ORDER BY phase LIMIT 10"),
                             Choice("site", "SELECT site FROM visits LIMIT 5", free=True))
    assert query.links == (CellLink("site", "site"), CellLink("owner", "company", "owner_key"))


@pytest.mark.parametrize("header, message", [
    ("-- choices: phase = SELECT phase FROM visits", "must end with LIMIT"),
    ("-- choices: other = SELECT 1 LIMIT 1", "for a parameter"),
    ("-- choices: SELECT 1 LIMIT 1", "for a parameter"),
    ("-- links: site = page", "KIND one of"),
    ("-- links: site", "KIND one of"),
])
def test_a_bad_choice_or_link_declaration_is_refused(header, message):
    with pytest.raises(ValueError, match=message):
        parse_query("q", f"-- title: T\n-- description: D\n{header}\nSELECT :phase AS site\n")


def test_every_shipped_choice_is_bounded_and_uses_an_index(tmp_path):
    from mouchard.storage.store import Store

    with Store(tmp_path / "plan.db"):
        pass
    conn = sqlite3.connect(tmp_path / "plan.db")
    for query in QUERIES:
        for choice in query.choices:
            plan = " | ".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {choice.sql}"))
            for big in ("requests", "cookies", "visits", "leaks", "flows"):
                assert f"SCAN {big}" not in plan, (query.name, choice.param, plan)
            assert conn.execute(choice.sql).fetchall() == [], query.name


header_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\x0b\x0c\x1c"
                                             "\x1d\x1e\x85\u2028\u2029"), max_size=80)


@settings(max_examples=150, deadline=None)
@given(title=header_text.filter(str.strip), french=header_text.filter(str.strip), extra=header_text)
def test_the_parser_reads_any_title_back_or_refuses_with_a_value_error(title, french, extra):
    text = (f"-- title_fr: {french}\n-- title: {title}\n-- description: d\n-- description_fr: {extra}\n"
            f"-- links: {extra}\n-- choices: {extra}\nSELECT :p AS p\n")
    try:
        query = parse_query("q", text)
    except ValueError:
        return
    assert query.title == title.strip() and query.title_fr == french.strip()
    assert query.params == ("p",)


def _links_plugin():
    import importlib.util

    from mouchard.publishing.metadata import CONFIG_DIR

    spec = importlib.util.spec_from_file_location("mouchard_links_under_test",
                                                  CONFIG_DIR / "plugins" / "mouchard_links.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_table_links_name_real_columns_and_page_kinds():
    plugin = _links_plugin()
    names = {table.name: {column.name for column in table.columns} for table in TABLES}
    assert [key for key in plugin.TABLE_LINKS if key[1] not in names.get(key[0], ())] == []
    assert set(plugin.TABLE_LINKS.values()) == {"site", "company", "app", "broker"}


def test_only_real_keys_become_links():
    class Urls:
        @staticmethod
        def path(path):
            return path

    class Datasette:
        urls = Urls()

    link = _links_plugin().link_cell
    assert link(Datasette, "site", "news.example", "news.example") == '<a href="/site/news.example">news.example</a>'
    assert str(link(Datasette, "company", "a/b?c", "<b>x</b>")) == '<a href="/company/a%2Fb%3Fc">&lt;b&gt;x&lt;/b&gt;</a>'
    for key in (None, "", "  ", "(unattributed)", "x" * 501, {"value": 1, "label": "x"}, b"bytes", 1.5):
        assert link(Datasette, "site", key, "text") is None, key
