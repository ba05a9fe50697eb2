"""The questions and the tables for readers: titles and descriptions in their language, parameters as choices, and
every site, company, app and broker linked to its page.

- `render_cell`: on a canned query, the columns its SQL header declares (`-- links: site = site, company = company`,
  read from the query's `mouchard_links` metadata); on a table page, the columns of `TABLE_LINKS`. The cell becomes
  `<a href="{page_url(...)}">value</a>`; the value is escaped by markupsafe, never marked safe.
- `extra_template_vars` for `query.html`: the question's title and description in the reader's language, and the
  values of each parameter's choices (`mouchard_choices`, bounded SQL of our own files); for `table.html`, the
  table's and columns' descriptions in French when the reader reads French.
- `asgi_wrapper`: remembers which page is being answered (a context variable), because Datasette's `render_cell`
  is not told which canned query a cell belongs to.
"""

from __future__ import annotations

import contextvars
from urllib.parse import unquote

from datasette import hookimpl
from markupsafe import Markup

from mouchard.publishing import i18n
from mouchard.publishing.pages import page_url

# The request being answered: its path ("/mouchard/sites_by_tracker_companies" tells render_cell which question it
# renders) and, once looked up, that question's links (render_cell runs for every cell: look them up once).
_CURRENT: contextvars.ContextVar[dict | None] = contextvars.ContextVar("mouchard_current_request", default=None)

# Plain table pages: (table, column) → the page kind its values are keys of. Only columns whose values are the
# page's own keys (visits.site, tracker_entity, flows.app, brokers.key): a cookie's or a request's `site` is the
# domain that set or received it, not a site that was visited, so it would lead to an empty page.
TABLE_LINKS: dict[tuple[str, str], str] = {
    ("visits", "site"): "site",
    ("visits", "final_site"): "site",
    **{(table, "tracker_entity"): "company"
       for table in ("requests", "cookies", "storage_items", "js_calls", "scripts", "rtb", "flows",
                     "leaks", "brokers")},
    ("id_syncs", "from_entity"): "company",
    ("id_syncs", "to_entity"): "company",
    ("flows", "app"): "app",
    ("app_accesses", "app"): "app",
    ("brokers", "key"): "broker",
    # The readers' pages' own rollups (derived tables), when the schema has them.
    ("site_summary", "site"): "site",
    ("company_sites", "site"): "site",
    ("company_sites", "tracker_entity"): "company",
    ("company_cookies", "tracker_entity"): "company",
    ("vendor_conduct", "site"): "site",  # declared versus observed: the visited site
}
MAX_KEY = 500  # the readers' pages answer 404 to longer keys: no link to them

MESSAGES = {
    "queries.all": {"fr": "(tous)", "en": "(all)"},
    "queries.parameters": {"fr": "Choisir", "en": "Choose"},
    "queries.run": {"fr": "Afficher", "en": "Show"},
    "queries.rows": {"fr": "{count} ligne(s)", "en": "{count} row(s)"},
    "queries.more_rows": {"fr": "plus de {count} lignes", "en": "more than {count} rows"},
    "queries.no_rows": {"fr": "Aucun résultat", "en": "No results"},
    "queries.export": {"fr": "Ces données en", "en": "This data as"},
    "queries.show_sql": {"fr": "voir la requête SQL", "en": "show the SQL query"},
    "queries.hide_sql": {"fr": "masquer la requête SQL", "en": "hide the SQL query"},
    "queries.not_listed": {"fr": "{value} (valeur donnée dans l'adresse)", "en": "{value} (value given in the URL)"},
    "queries.columns": {"fr": "Ce que veut dire chaque colonne ({count} colonnes)",
                        "en": "What each column means ({count} columns)"},
    # Parameter names as readers see them (the URL keeps the SQL name).
    "queries.param.phase": {"fr": "Phase de consentement", "en": "Consent phase"},
    "queries.param.category": {"fr": "Catégorie de traceur", "en": "Tracker category"},
    "queries.param.site": {"fr": "Site", "en": "Site"},
    "queries.param.app": {"fr": "Application", "en": "App"},
    "queries.param.identifier": {"fr": "Type d'identifiant", "en": "Identifier kind"},
    "queries.param.registry": {"fr": "Registre", "en": "Registry"},
    "queries.param.data": {"fr": "Données déclarées", "en": "Declared data"},
}
i18n.register(MESSAGES)


def translator(lang: str):
    """`t(key, **values)` in `lang` for the templates, numbers written as the reader writes them."""
    def t(key: str, **values) -> str:
        return i18n.t(key, lang, **{name: i18n.format_number(value, lang) if isinstance(value, int) else value
                                    for name, value in values.items()})

    return t


def parameter_label(name: str, lang: str) -> str:
    key = f"queries.param.{name}"
    return i18n.t(key, lang) if i18n.has(key) else name


def link_cell(datasette, kind: str, key, text) -> Markup | None:
    """`<a href="/kind/key">text</a>`, both escaped; None when `key` cannot be a page's key (empty, not text, too
    long, or a placeholder the query writes itself such as "(unattributed)")."""
    if isinstance(key, dict):  # an expanded foreign key label
        return None
    if isinstance(key, int) and not isinstance(key, bool):
        key = str(key)
    if not isinstance(key, str) or not key.strip() or len(key) > MAX_KEY:
        return None
    if key.startswith("(") and key.endswith(")"):
        return None
    return Markup('<a href="{}">{}</a>').format(datasette.urls.path(page_url(kind, key)), text)


def _query_links(datasette, database: str) -> dict:
    """The `mouchard_links` of the canned query being answered (from its path `/<database>/<query>`), or {}."""
    current = _CURRENT.get()
    if current is None:
        return {}
    if "links" not in current:
        links: dict = {}
        parts = current["path"].strip("/").split("/")
        if len(parts) == 2 and unquote(parts[0]) == database:
            query = (datasette.metadata("queries", database=database) or {}).get(unquote(parts[1]))
            links = (query.get("mouchard_links") if isinstance(query, dict) else None) or {}
        current["links"] = links
    return current["links"]


@hookimpl
def asgi_wrapper(datasette):
    def wrap(app):
        async def remember_path(scope, receive, send):
            if scope.get("type") != "http":
                return await app(scope, receive, send)
            token = _CURRENT.set({"path": scope.get("path") or ""})
            try:
                return await app(scope, receive, send)
            finally:
                _CURRENT.reset(token)

        return remember_path

    return wrap


@hookimpl
def render_cell(row, value, column, table, database, datasette):
    if value is None:
        return None
    if table is not None:
        kind = TABLE_LINKS.get((table, column))
        return link_cell(datasette, kind, value, value) if kind else None
    spec = _query_links(datasette, database).get(column)
    if not spec:
        return None
    key_column = spec.get("key") or column
    try:
        key = row[key_column]
    except (IndexError, KeyError):
        return None
    return link_cell(datasette, spec["kind"], key, value)


async def _choice_values(db, sql: str) -> list[str]:
    """The values a parameter may take: the first column of its choices query, as text, without empties."""
    result = await db.execute(sql)
    return [str(row[0]) for row in result.rows if row[0] is not None and str(row[0]) != ""]


@hookimpl
def extra_template_vars(template, database, table, request, datasette):
    if template not in ("query.html", "table.html") or request is None or not database:
        return None

    async def inner():
        lang = i18n.request_language(request)
        if template == "table.html":
            return await _table_vars(datasette, database, table, lang)
        name = request.url_vars.get("table")
        queries = datasette.metadata("queries", database=database) or {}
        query = queries.get(name) if name else None
        if not isinstance(query, dict):
            return {"mouchard_lang": lang, "mouchard_query": None}
        db = datasette.get_database(database)
        parameters = []
        for param in query.get("params") or ():
            choice = (query.get("mouchard_choices") or {}).get(param)
            values = await _choice_values(db, choice["sql"]) if choice else []
            current = request.args.get(param) or ""
            parameters.append({
                "name": param,
                "label": parameter_label(param, lang),
                "value": current,
                "kind": "text" if not choice else ("suggest" if choice.get("free") else "select"),
                "choices": values,
                # A value from the URL that is not among the choices still runs, shown as what it is.
                "extra": current if choice and current and current not in values else "",
            })
        title = (query.get("title_fr") if lang == "fr" else None) or query.get("title") or name
        description = (query.get("description_fr") if lang == "fr" else None) or query.get("description") or ""
        return {
            "mouchard_lang": lang,
            "mouchard_query": {"name": name, "title": title, "description": description, "parameters": parameters},
            "mouchard_t": translator(lang),
        }

    return inner


async def _table_vars(datasette, database: str, table: str | None, lang: str) -> dict:
    """For French readers, the table's metadata with its French description and column descriptions swapped in
    (metadata `description_fr` and `columns_fr`, generated from `mouchard.storage.descriptions_fr`)."""
    values: dict = {"mouchard_lang": lang, "mouchard_t": translator(lang)}
    if lang != "fr" or not table:
        return values
    meta = datasette.table_metadata(database, table) or {}
    if not meta.get("description_fr") and not meta.get("columns_fr"):
        return values
    localized = dict(meta)
    datasette.update_with_inherited_metadata(localized)  # licence and source, as the table view shows them
    if meta.get("description_fr"):
        localized["description"] = meta["description_fr"]
        localized.pop("description_html", None)
    if meta.get("columns_fr"):
        localized["columns"] = {name: meta["columns_fr"].get(name, text)
                                for name, text in (meta.get("columns") or {}).items()}
    values["metadata"] = localized
    return values
