"""Failure lab: pages that make the crawl itself fail in part, so tests can check nothing is lost or silent.

Host www.failure-lab.fr:
- `/huge-timeout`: a Prebid-like `pbjs` whose auction timeout is 1e20 (past SQLite's integers).
- `/collector-fails`: a plain page; the tests' failing collectors fail on it (attach, collect, rows refused).
- `/flaky/<token>`: answers 503 the first time a token is asked, 200 after (a page that fails, then works).
- `/always-fails`: answers 500, always.
- `/posts`: five 60 KB POST bodies (over a small per-visit body budget).
"""

from __future__ import annotations

import threading

from demoweb import Request, Response, Site

HOST = "www.failure-lab.fr"
SITE = Site("failure lab", [HOST])
POSTS, POST_BYTES = 5, 60_000

EXPECTED = {
    f"{HOST}/huge-timeout": {"third_party_hosts": [], "prebid_timeout": 1e20},
    f"{HOST}/collector-fails": {"third_party_hosts": []},
    f"{HOST}/flaky": {"third_party_hosts": [], "outcome": "503 on the first request of a token, then 200"},
    f"{HOST}/always-fails": {"third_party_hosts": [], "outcome": "http_error", "status": 500},
    f"{HOST}/posts": {"third_party_hosts": [], "posts": POSTS, "bytes": POST_BYTES},
}

PAGE = "<!doctype html><html><head><meta charset=utf-8><title>{title}</title></head><body>{body}</body></html>"
_seen: set[str] = set()
_lock = threading.Lock()

PBJS = """window.pbjs = {version: 'v9.0.0-lab', installedModules: [],
  getEvents: function () { return [{eventType: 'auctionInit', elapsedTime: 1,
    args: {auctionId: 'A-huge', timeout: 1e20, adUnits: [{code: 'ad-top', bids: [{bidder: 'lab'}]}]}}]; },
  getAllWinningBids: function () { return []; }};"""


@SITE.route("/huge-timeout")
def huge_timeout(req: Request) -> Response:
    return Response.html(PAGE.format(title="Huge timeout", body=f"<div id=ad-top></div><script>{PBJS}</script>"))


@SITE.route("/collector-fails")
def collector_fails(req: Request) -> Response:
    return Response.html(PAGE.format(title="Collector fails", body="<p>a plain page</p>"))


@SITE.route("/flaky/<token>")
def flaky(req: Request) -> Response:
    with _lock:
        first = req.params["token"] not in _seen
        _seen.add(req.params["token"])
    if first:
        return Response.html(PAGE.format(title="Unavailable", body="<p>try again</p>"), status=503)
    return Response.html(PAGE.format(title="Flaky", body="<p>works now</p>"))


@SITE.route("/always-fails")
def always_fails(req: Request) -> Response:
    return Response.html(PAGE.format(title="Error", body="<p>broken</p>"), status=500)


@SITE.route("/posts")
def posts(req: Request) -> Response:
    script = (f"for (let i = 0; i < {POSTS}; i++) fetch('/collect', {{method: 'POST', "
              f"body: String(i).repeat({POST_BYTES}), headers: {{'Content-Type': 'text/plain'}}}});")
    return Response.html(PAGE.format(title="Posts", body=f"<script>{script}</script>"))


@SITE.route("/collect", ["POST"])
def collect(req: Request) -> Response:
    return Response.empty()
