"""Request initiators on the test web: one page whose resources are requested by every kind of initiator.

www.initiator-lab.fr `/` loads, in this order: `/insert.js` and `/img/parser.png` found by the parser (with their
lines in the page), `/img/document-write.png` written by an inline `document.write`, then from `/insert.js` on
DOMContentLoaded `/img/inner-html.png` (inserted through `innerHTML`), `/js/appended.js` and
`/img/append-child.png` (createElement + appendChild) and `/data/timeout.json` (a fetch in a setTimeout).
An image's load runs in a task of its own, after the inserting script returned: only the async parent stack
(`Debugger.setAsyncCallStackDepth`) names the script, function and line that inserted it. `INITIATORS` is what
the request rows must say, line for line (tests/test_crawler_initiators.py).
"""

from __future__ import annotations

from demoweb import Request, Response, Site

HOST = "www.initiator-lab.fr"
SITE = Site("initiator lab", [HOST])

# Lines are 1-based and must match PAGE and INSERT_JS below.
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Initiator lab</title>
<script src="/insert.js"></script>
</head><body>
<img src="/img/parser.png" alt="">
<div id="slot"></div>
<script>document.write('<img src="/img/document-write.png" alt="">');</script>
</body></html>
"""

INSERT_JS = """function byInnerHTML() {
  document.getElementById("slot").innerHTML = '<img src="/img/inner-html.png" alt="">';
}
function byAppendChild() {
  var script = document.createElement("script");
  script.src = "/js/appended.js";
  document.head.appendChild(script);
  var img = document.createElement("img"); img.src = "/img/append-child.png"; document.body.appendChild(img);
}
function fetchLater() { fetch("/data/timeout.json"); }
document.addEventListener("DOMContentLoaded", function () {
  byInnerHTML(); byAppendChild(); setTimeout(fetchLater, 0);
});
"""

EXPECTED = {f"{HOST}/": {"third_party_hosts": [],
                         "requests": [{"kind": "script", "host": HOST, "path": "/insert.js"},
                                      {"kind": "img", "host": HOST, "path": "/img/parser.png"},
                                      {"kind": "img", "host": HOST, "path": "/img/document-write.png"},
                                      {"kind": "img", "host": HOST, "path": "/img/inner-html.png"},
                                      {"kind": "script", "host": HOST, "path": "/js/appended.js"},
                                      {"kind": "img", "host": HOST, "path": "/img/append-child.png"},
                                      {"kind": "fetch", "host": HOST, "path": "/data/timeout.json"}]}}


@SITE.route("/")
def page(req: Request) -> Response:
    return Response.html(PAGE, headers=[("Cache-Control", "no-store")])


@SITE.route("/insert.js")
def insert_js(req: Request) -> Response:
    return Response.js(INSERT_JS, headers=[("Cache-Control", "no-store")])


@SITE.route("/js/appended.js")
def appended_js(req: Request) -> Response:
    return Response.js("/* appended */\n", headers=[("Cache-Control", "no-store")])


@SITE.route("/img/<name>")
def image(req: Request) -> Response:
    return Response.pixel([("Cache-Control", "no-store")])


@SITE.route("/data/timeout.json")
def timeout_json(req: Request) -> Response:
    return Response.json({"ok": True}, headers=[("Cache-Control", "no-store")])


@SITE.route("/favicon.ico")
def favicon(req: Request) -> Response:
    return Response.empty(204, [("Cache-Control", "max-age=86400")])
