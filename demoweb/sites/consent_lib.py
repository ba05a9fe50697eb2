"""What the consent and bidding pages share: npm packages served from the repository's node_modules, and the
publisher page frame.

The CMP libraries, the IAB TCF CMP API and Prebid.js are npm dependencies (package.json, installed by
scripts/setup.sh), never copied here: a publisher host serves them under `/npm/<package>/<file>` straight from
node_modules, as a site would self-host them. Without node_modules those routes answer 404 and the tests that
need them skip with a clear message (`missing_packages()`).
"""

from __future__ import annotations

import html
import mimetypes

from demoweb import Request, Response, Site
from demoweb.paths import node_modules

NODE_MODULES = node_modules()
PACKAGES = ("@duckduckgo/autoconsent", "@iabtcf/cmpapi", "@iabtcf/core", "klaro", "prebid.js", "tarteaucitronjs",
            "vanilla-cookieconsent")
TYPES = {".js": "application/javascript; charset=utf-8", ".mjs": "application/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8", ".json": "application/json"}


def missing_packages(packages: tuple[str, ...] = PACKAGES) -> list[str]:
    """npm packages of package.json that are not installed (run scripts/setup.sh, or `npm install`)."""
    return [p for p in packages if not (NODE_MODULES / p / "package.json").is_file()]


def npm_file(rest: str) -> Response:
    """A file of an installed npm package; 404 for anything outside node_modules or missing."""
    path = (NODE_MODULES / rest).resolve()
    if NODE_MODULES.resolve() not in path.parents or not path.is_file():
        return Response.not_found("not an installed npm file")
    media = TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return Response(200, [("Content-Type", media), ("Cache-Control", "max-age=3600")], path.read_bytes())


def serve_npm(site: Site) -> None:
    """Add `/npm/<path>` (self-hosted npm files) and a favicon to a publisher site."""
    site.add_route("/npm/<path:rest>", lambda req: npm_file(req.params["rest"]), ["GET"])
    site.add_route("/favicon.ico", lambda req: Response.empty(204, [("Cache-Control", "max-age=86400")]), ["GET"])


def page(req: Request, *, title: str, lang: str, head: str = "", body: str = "") -> Response:
    """A publisher page: its own head (CMP, tags) and an article."""
    text = f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>body{{font:16px/1.5 sans-serif;max-width:48rem;margin:auto;padding:1rem}}</style>
{head}
</head><body>
<header><strong>{html.escape(title)}</strong></header>
<main><h1>{html.escape(title)}</h1>
<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit. Integer vitae ligula sed nibh volutpat viverra.</p>
{body}
</main></body></html>
"""
    return Response.html(text, headers=[("Cache-Control", "no-store")])
