"""Third-party trackers on their real hostnames: scripts that plant identifiers, and the endpoints they report to.

Every tracker script is the same small program (static/tracker.js) driven by a `Tracker` spec: it sets
first-party cookies by script, writes localStorage / sessionStorage / IndexedDB, then sends hits (image pixel,
sendBeacon, fetch, XHR, script, iframe) whose URLs carry the identifiers. Collector endpoints answer and set
third-party cookies by `Set-Cookie` (`SameSite=None; Secure`, on the tracker's registrable domain).
Publisher pages pick trackers by name; `planted(names, page_host)` turns the specs into their `EXPECTED` facts.
"""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from demoweb import Request, Response, Site, set_cookie
from demoweb.paths import STATIC
from demoweb.site import compile_pattern

from ._facts import merge

YEAR = 365 * 24 * 3600
TWO_YEARS = 2 * YEAR


@dataclass(frozen=True)
class ScriptCookie:
    """A first-party cookie the script sets on the page's host with document.cookie."""

    name: str
    prefix: str = ""
    max_age: int = TWO_YEARS


@dataclass(frozen=True)
class Hit:
    """A request the script sends; `[[name]]` in path/body becomes an identifier (`page`, a cookie, `ls:key`)."""

    kind: str  # img, beacon, fetch, xhr, script, iframe
    host: str
    path: str
    body: str = ""
    slot: str = ""  # iframe: id of the element it goes in


@dataclass(frozen=True)
class Collector:
    """An endpoint of a tracker host; sets a third-party cookie `cookie` on `.domain` when it has none yet."""

    host: str
    path: str
    answer: str = "pixel"  # pixel or empty
    cookie: str = ""
    domain: str = ""
    prefix: str = ""


@dataclass(frozen=True)
class Tracker:
    name: str
    entity: str
    category: str  # as mouchard/data/trackers.csv names the script host's: analytics, tag-manager, advertising...
    host: str
    script: str  # path with the tag's query, as a publisher embeds it
    cookies: tuple[ScriptCookie, ...] = ()
    local: tuple[str, ...] = ()
    session: tuple[str, ...] = ()
    indexeddb: tuple[str, str] | None = None  # (database, object store)
    hits: tuple[Hit, ...] = ()


TRACKERS: dict[str, Tracker] = {t.name: t for t in [
    Tracker("gtag", "Google", "tag-manager", "www.googletagmanager.com", "/gtag/js?id=G-TEST1234",
            cookies=(ScriptCookie("_ga", "GA1.1."), ScriptCookie("_ga_TEST1234", "GS1.1."),
                     ScriptCookie("_gcl_au", "1.1.", 90 * 24 * 3600)),
            hits=(Hit("beacon", "www.google-analytics.com",
                      "/g/collect?v=2&tid=G-TEST1234&cid=[[_ga]]&en=page_view&dl=[[page]]"),
                  Hit("img", "stats.g.doubleclick.net", "/g/collect?v=2&tid=G-TEST1234&cid=[[_ga]]&aip=1"))),
    Tracker("analytics.js", "Google", "analytics", "www.google-analytics.com", "/analytics.js",
            cookies=(ScriptCookie("_ga", "GA1.2."), ScriptCookie("_gid", "GA1.2.", 24 * 3600)),
            hits=(Hit("img", "www.google-analytics.com",
                      "/collect?v=1&tid=UA-123456-1&cid=[[_ga]]&t=pageview&dl=[[page]]"),)),
    Tracker("meta-pixel", "Meta", "advertising", "connect.facebook.net", "/en_US/fbevents.js",
            cookies=(ScriptCookie("_fbp", "fb.1.", 90 * 24 * 3600),),
            hits=(Hit("img", "www.facebook.com",
                      "/tr/?id=1234567890123&ev=PageView&dl=[[page]]&fbp=[[_fbp]]&cd[content_type]=article"),)),
    Tracker("hotjar", "Hotjar", "session-replay", "static.hotjar.com", "/c/hotjar-3456789.js?sv=6",
            cookies=(ScriptCookie("_hjSessionUser_3456789", "eyJpZCI6", YEAR),
                     ScriptCookie("_hjSession_3456789", "eyJzaWQ", 1800)),
            session=("_hjRecordingLastActivity",),
            hits=(Hit("xhr", "in.hotjar.com", "/api/v2/client/sites/3456789/visit-data?sv=7",
                      '{"user_id":"[[_hjSessionUser_3456789]]","url":"[[page]]"}'),)),
    Tracker("segment", "Twilio", "analytics", "cdn.segment.com", "/analytics.js/v1/TESTWRITEKEY/analytics.min.js",
            cookies=(ScriptCookie("ajs_anonymous_id", "a", YEAR),),
            local=("ajs_anonymous_id", "ajs_user_traits"),
            indexeddb=("segment-events", "queue"),
            hits=(Hit("fetch", "api.segment.io", "/v1/p",
                      '{"anonymousId":"[[ajs_anonymous_id]]","type":"page","properties":{"url":"[[page]]"}}'),)),
    Tracker("bing-uet", "Microsoft", "advertising", "bat.bing.com", "/bat.js",
            cookies=(ScriptCookie("_uetsid", "", 24 * 3600), ScriptCookie("_uetvid", "", 390 * 24 * 3600)),
            hits=(Hit("img", "bat.bing.com", "/action/0?ti=12345678&evt=pageLoad&mid=[[_uetvid]]&p=[[page]]"),)),
    Tracker("linkedin-insight", "Microsoft", "social", "snap.licdn.com", "/li.lms-analytics/insight.min.js",
            hits=(Hit("img", "px.ads.linkedin.com", "/collect/?pid=1234567&fmt=gif&url=[[page]]"),)),
    Tracker("twitter-uwt", "X Corp", "advertising", "static.ads-twitter.com", "/uwt.js",
            cookies=(ScriptCookie("_twclid", "tw.", 90 * 24 * 3600),),
            hits=(Hit("img", "analytics.twitter.com",
                      "/i/adsct?txn_id=o1abc&p_id=Twitter&tw_document_href=[[page]]&twclid=[[_twclid]]"),)),
    Tracker("taboola", "Taboola", "advertising", "cdn.taboola.com", "/libtrc/example-publisher/loader.js",
            local=("taboola global:user-id",),
            hits=(Hit("img", "trc.taboola.com", "/example-publisher/log/3/unip?en=page_view&ui=[[ls:taboola global:user-id]]"),)),
    Tracker("fullstory", "FullStory", "session-replay", "www.fullstory.com", "/s/fs.js",
            cookies=(ScriptCookie("fs_uid", "o-TEST-na1.", YEAR),),
            hits=(Hit("fetch", "rs.fullstory.com", "/rec/page?OrgId=o-TEST-na1",
                      '{"UserId":"[[fs_uid]]","Url":"[[page]]","Referrer":"[[ref]]"}'),)),
    Tracker("crazyegg", "Crazy Egg", "session-replay", "script.crazyegg.com", "/pages/scripts/0012/3456.js",
            cookies=(ScriptCookie("_ce.s", "v~", YEAR), ScriptCookie("cebs", "1", 1800)),
            hits=(Hit("beacon", "tracking.crazyegg.com", "/track?cid=0012-3456&s=[[_ce.s]]&u=[[page]]",
                      '{"visitor":"[[_ce.s]]"}'),)),
    Tracker("gpt", "Google", "advertising", "securepubads.g.doubleclick.net", "/tag/js/gpt.js",
            cookies=(ScriptCookie("__gads", "ID=", 390 * 24 * 3600),),
            hits=(Hit("iframe", "securepubads.g.doubleclick.net",
                      "/gampad/ads?iu=/1234/top&sz=300x250&cookie=[[__gads]]&url=[[page]]", slot="ad-top"),)),
]}

COLLECTORS: list[Collector] = [
    Collector("www.google-analytics.com", "/g/collect", "empty"),
    Collector("www.google-analytics.com", "/collect"),
    Collector("stats.g.doubleclick.net", "/g/collect", cookie="IDE", domain="doubleclick.net", prefix="AHWqTU"),
    Collector("www.facebook.com", "/tr/", cookie="fr", domain="facebook.com", prefix="0"),
    Collector("www.facebook.com", "/tr", cookie="fr", domain="facebook.com", prefix="0"),
    Collector("in.hotjar.com", "/api/v2/client/sites/<site>/visit-data", "empty"),
    Collector("api.segment.io", "/v1/<kind>", "empty"),
    Collector("bat.bing.com", "/action/0", cookie="MUID", domain="bing.com", prefix=""),
    Collector("px.ads.linkedin.com", "/collect/", cookie="bcookie", domain="linkedin.com", prefix="v=2&"),
    Collector("analytics.twitter.com", "/i/adsct", cookie="personalization_id", domain="twitter.com", prefix="v1_"),
    Collector("trc.taboola.com", "/<publisher>/log/3/unip", cookie="t_gid", domain="taboola.com", prefix=""),
    Collector("rs.fullstory.com", "/rec/page", "empty"),
    Collector("tracking.crazyegg.com", "/track", "empty"),
]


@functools.cache
def _script_template() -> str:
    return (STATIC / "tracker.js").read_text()


def tracker_script(req: Request, tracker: Tracker) -> str:
    """The tracker's JavaScript, with hit URLs at this client's ports."""
    config = {
        "cookies": [{"name": c.name, "prefix": c.prefix, "max_age": c.max_age} for c in tracker.cookies],
        "local": list(tracker.local), "session": list(tracker.session),
        "indexeddb": list(tracker.indexeddb) if tracker.indexeddb else None,
        "hits": [{"kind": h.kind, "url": req.url(h.host, h.path), "body": h.body, "slot": h.slot}
                 for h in tracker.hits],
    }
    return (_script_template().replace("__NAME__", tracker.name).replace("__ENTITY__", tracker.entity)
            .replace("__CATEGORY__", tracker.category).replace("__CONFIG__", json.dumps(config)))


def third_party_cookie(req: Request, name: str, domain: str, prefix: str = "") -> tuple[str, str]:
    """The visitor's id cookie on `.domain`: kept when the browser sent it back, new otherwise."""
    value = req.cookies.get(name) or prefix + uuid.uuid4().hex
    return set_cookie(name, value, domain=domain, max_age=YEAR, secure=True, same_site="None")


def _script_route(tracker: Tracker):
    def serve_script(req: Request) -> Response:
        return Response.js(tracker_script(req, tracker), headers=[("Cache-Control", "no-store")])
    return serve_script


def _collector_route(collector: Collector):
    def collect(req: Request) -> Response:
        headers = [third_party_cookie(req, collector.cookie, collector.domain, collector.prefix)] \
            if collector.cookie else []
        return Response.pixel(headers) if collector.answer == "pixel" else Response.empty(204, headers)
    return collect


def _build_sites() -> list[Site]:
    by_host: dict[str, Site] = {}

    def site(host: str) -> Site:
        return by_host.setdefault(host, Site(f"tracker {host}", [host], cors=True))

    for tracker in TRACKERS.values():
        site(tracker.host).add_route(tracker.script.split("?")[0], _script_route(tracker), ["GET"])
    for collector in COLLECTORS:
        site(collector.host).add_route(collector.path, _collector_route(collector))
    return list(by_host.values())


SITES = _build_sites()
EXPECTED: dict[str, dict] = {}  # trackers are not pages; publishers describe what they plant via planted()


def collector_for(host: str, path: str) -> Collector | None:
    """The collector answering `path` (query ignored) on `host`, if any."""
    path = path.split("?")[0]
    return next((c for c in COLLECTORS if c.host == host and compile_pattern(c.path).match(path)), None)


def planted(names: Iterable[str], page_host: str) -> dict:
    """The EXPECTED facts of a page on `page_host` that embeds the trackers `names`."""
    hosts: set[str] = set()
    cookies: list[dict] = []
    storage: list[dict] = []
    requests: list[dict] = []
    trackers: list[dict] = []
    for name in names:
        tracker = TRACKERS[name]
        trackers.append({"name": name, "host": tracker.host, "entity": tracker.entity,
                         "category": tracker.category})
        hosts.add(tracker.host)
        requests.append({"kind": "script", "host": tracker.host, "path": tracker.script.split("?")[0]})
        for c in tracker.cookies:
            cookies.append({"name": c.name, "domain": page_host, "party": "first", "set_by": "script",
                            "by": tracker.host, "max_age": c.max_age})
        for key in tracker.local:
            storage.append({"kind": "localStorage", "host": page_host, "key": key, "by": tracker.host})
        for key in tracker.session:
            storage.append({"kind": "sessionStorage", "host": page_host, "key": key, "by": tracker.host})
        if tracker.indexeddb:
            storage.append({"kind": "indexedDB", "host": page_host, "key": tracker.indexeddb[0],
                            "by": tracker.host})
        for hit in tracker.hits:
            hosts.add(hit.host)
            requests.append({"kind": hit.kind, "host": hit.host, "path": hit.path.split("?")[0]})
            collector = collector_for(hit.host, hit.path)
            if collector and collector.cookie:
                cookies.append({"name": collector.cookie, "domain": "." + collector.domain, "party": "third",
                                "set_by": "header", "by": hit.host, "max_age": YEAR})
    return merge({"third_party_hosts": sorted(hosts), "trackers": trackers, "cookies": cookies,
                  "storage": storage, "requests": requests})
