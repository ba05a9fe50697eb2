"""mouchard's pages around Datasette's: the reader's language on every page, the home page, 4xx error pages in
French and English, and security headers on every response.

Language: every template gets `mouchard_lang` (see `mouchard.publishing.i18n.negotiate`), `mouchard_switch` (links
to the same page in each language) and `mouchard_text` (the catalogue in that language); `?lang=fr|en` on any URL
sets the `mouchard_lang` cookie, and HTML responses say they vary with Cookie and Accept-Language.

The headers are defence in depth for pages full of crawled text (Datasette already escapes it): no script, frame,
image or connection from another origin (map tiles excepted), no framing by other sites, no sniffing, and no
Referer sent to the tracker URLs a reader clicks.
"""

from __future__ import annotations

import importlib.util
from urllib.parse import parse_qs

from datasette import hookimpl
from datasette.utils.asgi import Base400, Response
from datasette.views.base import DatasetteError

from mouchard.publishing import i18n
from mouchard.publishing.metadata import DATABASE
from mouchard.publishing.pages import page_url
from mouchard.publishing.pages import charts

# Datasette and its plugins use inline scripts, and Vega compiles its expressions with Function(): both need
# 'unsafe-inline'/'unsafe-eval'. What the policy buys is that nothing loads from, or is sent to, another origin.
CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self' 'unsafe-inline' 'unsafe-eval'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob: https://*.tile.openstreetmap.org",
    "connect-src 'self'",
    "font-src 'self' data:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'self'",
))
SECURITY_HEADERS = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"SAMEORIGIN"),
)
DASHBOARD_PLUGIN = "datasette_dashboards"


LANG_COOKIE_AGE = 365 * 24 * 3600

MESSAGES = {
    "home.title": {"fr": "mouchard : qui piste les gens, et qui fait commerce de leurs données",
                   "en": "mouchard: who tracks people, and who trades their data"},
    "home.lede": {"fr": "mouchard a visité des sites dans des navigateurs neufs, avant et après le consentement, "
                        "écouté le trafic d'applications d'un téléphone et lu les registres des courtiers en "
                        "données. Chaque chiffre ci-dessous renvoie aux lignes qui le prouvent.",
                  "en": "mouchard visited websites in fresh browsers, before and after consent, listened to a "
                        "phone's app traffic and read the data-broker registries. Every number below leads to the "
                        "rows that prove it."},
    "home.measured": {"fr": "Ce que mouchard a mesuré", "en": "What mouchard measured"},
    "home.count.sites": {
        "fr": "{n} site visité|{n} sites visités",
        "en": "{n} website visited|{n} websites visited"},
    "home.count.companies": {
        "fr": "{n} entreprise de suivi vue sur les sites et dans les applications|"
              "{n} entreprises de suivi vues sur les sites et dans les applications",
        "en": "{n} tracker company seen on the websites and in the apps|"
              "{n} tracker companies seen on the websites and in the apps"},
    "home.count.apps": {
        "fr": "{n} application dont le trafic a été enregistré|"
              "{n} applications dont le trafic a été enregistré",
        "en": "{n} app whose traffic was recorded|{n} apps whose traffic was recorded"},
    "home.count.brokers": {
        "fr": "{n} courtier en données inscrit dans les registres|"
              "{n} courtiers en données inscrits dans les registres",
        "en": "{n} data broker in the registries|{n} data brokers in the registries"},
    "home.search": {"fr": "Chercher", "en": "Search"},
    "home.search.label": {"fr": "Chercher un site, un titre de page, un courtier ou une page de courtier",
                          "en": "Search sites, page titles, brokers and broker pages"},
    "home.search.button": {"fr": "Chercher", "en": "Search"},
    "home.questions": {"fr": "Les questions", "en": "Questions"},
    "home.questions.lede": {"fr": "Chaque question est une requête sur la base : sa réponse est un tableau, "
                                  "ses lignes mènent aux preuves.",
                            "en": "Each question is a query on the database: its answer is a table whose rows "
                                  "lead to the evidence."},
    "home.explore": {"fr": "Comparer et suivre", "en": "Compare and follow"},
    "home.compare": {"fr": "Comparer des groupes de sites (partis, campagnes, médias…)",
                     "en": "Compare groups of sites (parties, campaigns, news…)"},
    "home.changes": {"fr": "Ce qui a changé entre deux collectes", "en": "What changed between two crawls"},
    "home.charts": {"fr": "En graphiques", "en": "In charts"},
    "home.dashboards": {"fr": "Toutes les questions en graphiques", "en": "Every ranking as a chart"},
    "home.tables": {"fr": "Les tables", "en": "The tables"},
    "home.tables.lede": {"fr": "Toutes les lignes derrière les réponses (descriptions des colonnes sur chaque table).",
                         "en": "Every row behind the answers (each table describes its columns)."},
    "home.tables.count": {
        "fr": "{n} table|{n} tables",
        "en": "{n} table|{n} tables"},
    # Datasette's filter form has no labels (axe: "form elements must have labels"): table.html names each control.
    "table.filter.column": {"fr": "Colonne à filtrer", "en": "Column to filter"},
    "table.filter.op": {"fr": "Condition du filtre", "en": "Filter condition"},
    "table.filter.value": {"fr": "Valeur du filtre", "en": "Filter value"},
    "table.sort": {"fr": "Trier selon", "en": "Sort by"},
}
i18n.register(MESSAGES)


def _wants_language(scope) -> str | None:
    """The language a request asks for with `?lang=` (a supported one only), else None."""
    values = parse_qs((scope.get("query_string") or b"").decode("latin-1")).get("lang") or [""]
    choice = values[-1].strip().lower()
    return choice if choice in i18n.LANGUAGES else None


@hookimpl
def asgi_wrapper(datasette):
    def wrap(app):
        async def with_security_headers(scope, receive, send):
            if scope["type"] != "http":
                return await app(scope, receive, send)
            chosen = _wants_language(scope)

            async def send_with_headers(message):
                if message["type"] == "http.response.start":
                    # A response's own, stricter header wins (the evidence images say default-src 'none').
                    headers = list(message.get("headers", []))
                    present = {bytes(k).lower() for k, _ in headers}
                    headers += [(k, v) for k, v in SECURITY_HEADERS if k not in present]
                    content_type = next((bytes(v) for k, v in headers if bytes(k).lower() == b"content-type"), b"")
                    if content_type.startswith(b"text/html"):
                        # The same URL answers in French or English by cookie and browser language: a cache must
                        # not serve one reader's language to another.
                        headers = [(k, v) for k, v in headers if bytes(k).lower() != b"vary"]
                        headers.append((b"vary", b"Cookie, Accept-Language"))
                    if chosen is not None:
                        headers.append((b"set-cookie", f"{i18n.COOKIE}={chosen}; Max-Age={LANG_COOKIE_AGE}; "
                                                       "Path=/; SameSite=Lax".encode()))
                    message = {**message, "headers": headers}
                await send(message)

            await app(scope, receive, send_with_headers)

        return with_security_headers

    return wrap


def language_vars(request) -> dict:
    """What base.html needs on every page: the language, the switch links, and the catalogue in that language."""
    lang = i18n.request_language(request)
    switch = []
    if request is not None:
        switch = [{"lang": code, "name": i18n.LANGUAGE_NAMES[code], "current": code == lang,
                   "url": i18n.switch_url(request.path, request.query_string, code)} for code in i18n.LANGUAGES]

    def text(message: str, /, **values: object) -> str:
        return i18n.t(message, lang, **values)

    return {"mouchard_lang": lang, "mouchard_switch": switch, "mouchard_text": text}


@hookimpl
def extra_template_vars(template, datasette, request):
    """The language on every page; on the home page, what was measured, the questions in the reader's language,
    links to the comparison and change pages, and the charts."""
    base = language_vars(request)
    lang = base["mouchard_lang"]
    if template != "index.html":
        return base

    async def inner():
        actor = request.actor if request else None
        questions = []
        for name, db in datasette.databases.items():
            if db.is_memory:
                continue
            for query_name, query in (await datasette.get_canned_queries(name, actor)).items():
                questions.append({
                    "title": query.get(f"title_{lang}") or query.get("title") or query_name,
                    "description": query.get(f"description_{lang}") or query.get("description") or "",
                    "url": datasette.urls.query(name, query_name)})
        dashboards = datasette.plugin_config("datasette-dashboards") or {}
        has_dashboards = bool(dashboards) and importlib.util.find_spec(DASHBOARD_PLUGIN) is not None
        counts, figures = [], []
        if DATABASE in datasette.databases:
            db = datasette.get_database(DATABASE)
            numbers = await db.execute_fn(charts.home_counts)
            counts = [i18n.plural(f"home.count.{name}", numbers[name], lang)
                      for name in ("sites", "companies", "apps", "brokers")]
            drawn = await db.execute_fn(lambda conn: charts.home_charts(conn, lang))
            figures = [{"id": f"chart-home-{index}", "chart": chart, "table": charts.data_table(chart, lang)}
                       for index, chart in enumerate(drawn)]
        return {
            **base,
            "mouchard_questions": questions,
            "mouchard_dashboards": [{"title": i18n.t("home.dashboards", lang) if len(dashboards) == 1
                                     else board.get("title") or slug,
                                     "url": datasette.urls.path(f"/-/dashboards/{slug}")}
                                    for slug, board in dashboards.items()] if has_dashboards else [],
            "mouchard_counts": counts,
            "mouchard_explore": [{"text": i18n.t("home.compare", lang), "url": page_url("compare")},
                                 {"text": i18n.t("home.changes", lang), "url": page_url("changes")}],
            "mouchard_charts": figures,
            "mouchard_charts_json": [charts.embed(item["id"], item["chart"]) for item in figures],
            "mouchard_vega": has_vega(),
        }

    return inner


def has_vega() -> bool:
    """True if datasette-dashboards, whose static files hold Vega, Vega-Lite and vega-embed, is installed."""
    return importlib.util.find_spec(DASHBOARD_PLUGIN) is not None


@hookimpl
def handle_exception(datasette, request, exception):
    """4xx pages (an unknown table, row, database or path) in the reader's language, with the language switch.
    Other errors, and JSON requests, keep Datasette's own answer."""
    if isinstance(exception, Base400):
        status, title, message = exception.status, None, str(exception.args[0]) if exception.args else ""
    elif isinstance(exception, DatasetteError):
        status, title, message = exception.status, exception.title, str(exception.message)
    else:
        return None
    if not 400 <= status < 500 or request is None or request.path.endswith(".json"):
        return None

    async def inner():
        html = await datasette.render_template("error.html", {"ok": False, "error": message, "status": status,
                                                              "title": title}, request=request)
        return Response.html(html, status=status)

    return inner
