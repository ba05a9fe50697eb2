"""The readers' pages (`mouchard.publishing.pages`): `/site/{key}`, `/company/{key}`, `/app/{key}`,
`/broker/{key}`, `/compare`, `/changes`, in French or English, rendered by `mouchard_page.html`; and
`/-/mouchard/static/charts.js`, the script that draws their charts.

A key is the last path segment, %-decoded once (so a company name with '/' arrives as %2F). Anything that cannot
name a page — an unknown kind, a key too long, a page kind whose module is not installed, a key the page module
does not know — answers the same 404 page in the reader's language, never an error.
"""

from __future__ import annotations

import importlib.util
from urllib.parse import unquote

from datasette import hookimpl
from datasette.utils.asgi import Response

from mouchard.publishing import i18n
from mouchard.publishing.metadata import DATABASE, datasette_folder
from mouchard.publishing.pages import KINDS, builder, charts

MAX_KEY = 500  # a site, company, app or broker key is short; a longer one is not in the database
MAX_PARAMS = 20  # a page reads a few query parameters; more are dropped, not passed on
MAX_PARAM = 1000  # characters of one parameter value
STATIC = {"charts.js": "application/javascript; charset=utf-8"}  # the only files served from datasette_files/static

MESSAGES = {
    "readers.toc": {"fr": "Sommaire", "en": "Contents"},
}
i18n.register(MESSAGES)


async def not_found(datasette, request, kind: str, key: str) -> Response:
    """The 404 page of a reader's page, in the reader's language; the key is shown as text, cut to MAX_KEY."""
    html = await datasette.render_template("mouchard_page.html", {
        "page": None, "lang": i18n.request_language(request), "kind": kind if kind in KINDS else "",
        "key": key[:MAX_KEY]}, request=request)
    return Response.html(html, status=404)


def page_builder(kind: str):
    """The kind's `build`, or None when the kind is unknown or its module is not there (yet)."""
    if kind not in KINDS or importlib.util.find_spec(f"mouchard.publishing.pages.{kind}") is None:
        return None
    return builder(kind)


async def render_page(datasette, request) -> Response:
    """One reader's page: `build(conn, key, lang, query)` on the read-only database, rendered, or a 404."""
    kind = request.url_vars["kind"]
    raw_key = request.url_vars.get("key") or ""
    # A character is at most 4 UTF-8 bytes, 12 characters %-encoded: a longer raw key cannot be MAX_KEY long.
    key = unquote(raw_key) if len(raw_key) <= MAX_KEY * 12 else raw_key[:MAX_KEY + 1]
    lang = i18n.request_language(request)
    build = page_builder(kind)
    if build is None or len(key) > MAX_KEY or DATABASE not in datasette.databases:
        return await not_found(datasette, request, kind, key)
    query = {}
    for name in list(request.args)[:MAX_PARAMS]:
        if name != "lang":
            query[name] = (request.args.get(name) or "")[:MAX_PARAM]
    db = datasette.get_database(DATABASE)
    page = await db.execute_fn(lambda conn: build(conn, key, lang, query))
    if page is None:
        return await not_found(datasette, request, kind, key)
    with_charts = [section for section in page.sections if section.chart is not None]
    return Response.html(await datasette.render_template("mouchard_page.html", {
        "page": page, "lang": lang, "kind": kind, "key": key,
        "charts_json": [charts.embed(f"chart-{section.id}", section.chart) for section in with_charts],
        "chart_tables": {section.id: charts.data_table(section.chart, lang) for section in with_charts},
        "vega": importlib.util.find_spec("datasette_dashboards") is not None,
    }, request=request))


async def static_file(request) -> Response:
    """A file of `datasette_files/static/` named in STATIC (the route allows no other name)."""
    name = request.url_vars["name"]
    path = datasette_folder() / "static" / name
    if name not in STATIC or not path.is_file():
        return Response.text("Not found", status=404)
    return Response(path.read_text(encoding="utf-8"), content_type=STATIC[name],
                    headers={"cache-control": "max-age=3600"})


@hookimpl
def register_routes():
    kinds = "|".join(KINDS)
    return [
        (rf"^/(?P<kind>{kinds})/(?P<key>[^/]+)$", render_page),
        (rf"^/(?P<kind>{kinds})$", render_page),
        (r"^/-/mouchard/static/(?P<name>charts\.js)$", static_file),
    ]
