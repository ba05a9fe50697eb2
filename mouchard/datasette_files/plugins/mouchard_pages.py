"""mouchard's pages around Datasette's: the questions on the home page, and security headers on every response.

The headers are defence in depth for pages full of crawled text (Datasette already escapes it): no script, frame,
image or connection from another origin (map tiles excepted), no framing by other sites, no sniffing, and no
Referer sent to the tracker URLs a reader clicks.
"""

from __future__ import annotations

import importlib.util

from datasette import hookimpl

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


@hookimpl
def asgi_wrapper(datasette):
    def wrap(app):
        async def with_security_headers(scope, receive, send):
            if scope["type"] != "http":
                return await app(scope, receive, send)

            async def send_with_headers(message):
                if message["type"] == "http.response.start":
                    # A response's own, stricter header wins (the evidence images say default-src 'none').
                    headers = list(message.get("headers", []))
                    present = {bytes(k).lower() for k, _ in headers}
                    headers += [(k, v) for k, v in SECURITY_HEADERS if k not in present]
                    message = {**message, "headers": headers}
                await send(message)

            await app(scope, receive, send_with_headers)

        return with_security_headers

    return wrap


@hookimpl
def extra_template_vars(template, datasette, request):
    """The home page lists every canned query of every database as a question, and links the dashboards."""
    if template != "index.html":
        return None

    async def inner():
        actor = request.actor if request else None
        questions = []
        for name, db in datasette.databases.items():
            if db.is_memory:
                continue
            for query_name, query in (await datasette.get_canned_queries(name, actor)).items():
                questions.append({"title": query.get("title") or query_name,
                                  "description": query.get("description") or "",
                                  "url": datasette.urls.query(name, query_name)})
        dashboards = datasette.plugin_config("datasette-dashboards") or {}
        has_dashboards = bool(dashboards) and importlib.util.find_spec(DASHBOARD_PLUGIN) is not None
        return {
            "mouchard_questions": questions,
            "mouchard_dashboards": [{"title": board.get("title") or slug,
                                     "url": datasette.urls.path(f"/-/dashboards/{slug}")}
                                    for slug, board in dashboards.items()] if has_dashboards else [],
        }

    return inner
