"""Crawler lab: pages that check the browser crawl itself.

Host www.cookie-lab.fr (first party) and ads.lab-adserver.com (an ad server, third party):
- `/third-party-cookie`: an ad iframe whose document sets `lab_uid` (SameSite=None; Secure) and then loads a
  pixel from the same ad host; a direct image to the ad host sets `lab_px`, and a second image after load must
  carry it back. A browser that blocks third-party cookies sends no `Cookie` on `/frame-pixel` and `/seen`.
- `/workers`: a dedicated worker and a service worker that fetch, a beacon, a two-hop redirect chain, a JSON POST.
- `/busy-after-load`: loads, then blocks its main thread: reading the page after load never returns.
- `/probe`: what a page can see of its visitor (webdriver flag, user agent, languages, window, globals, whether
  `document.cookie`'s accessors are native), posted as JSON to `/report`: compare a crawl with a bare browser. Its
  script also writes cookies: one kept, one a browser refuses (foreign Domain), one deleted, one overwritten.
"""

from __future__ import annotations

import secrets

from demoweb import Request, Response, Site, set_cookie

HOST = "www.cookie-lab.fr"
AD_HOST = "ads.lab-adserver.com"
YEAR = 365 * 24 * 3600

SITE = Site("crawler lab", [HOST])
AD = Site("crawler lab ad server", [AD_HOST], cors=True)
SITES = [AD]

EXPECTED = {
    f"{HOST}/third-party-cookie": {
        "third_party_hosts": [AD_HOST],
        "cookies": [{"name": "lab_uid", "domain": ".lab-adserver.com", "party": "third", "set_by": "header",
                     "by": AD_HOST, "max_age": YEAR},
                    {"name": "lab_px", "domain": ".lab-adserver.com", "party": "third", "set_by": "header",
                     "by": AD_HOST, "max_age": YEAR}],
        "sent_back": [{"host": AD_HOST, "path": "/frame-pixel", "cookie": "lab_uid"},
                      {"host": AD_HOST, "path": "/seen", "cookie": "lab_px"}],
    },
    f"{HOST}/workers": {
        "third_party_hosts": [AD_HOST],
        "requests": [{"kind": "worker", "host": HOST, "path": "/from-worker"},
                     {"kind": "service_worker", "host": HOST, "path": "/from-service-worker"},
                     {"kind": "beacon", "host": AD_HOST, "path": "/beacon"},
                     {"kind": "redirect", "host": AD_HOST, "path": "/hop1"},
                     {"kind": "redirect", "host": AD_HOST, "path": "/hop2"},
                     {"kind": "img", "host": AD_HOST, "path": "/hop-end"},
                     {"kind": "fetch", "host": AD_HOST, "path": "/collect", "body": '{"event":"lab","uid":"u-1234567"}'}],
        "storage": [{"kind": "localStorage", "host": HOST, "key": "lab_local"},
                    {"kind": "sessionStorage", "host": HOST, "key": "lab_session"},
                    {"kind": "indexedDB", "host": HOST, "key": "lab-db"}],
    },
    f"{HOST}/probe": {"third_party_hosts": [], "reports_to": f"{HOST}/report"},
    f"{HOST}/busy-after-load": {"third_party_hosts": [], "outcome": "timeout",
                                 "behaviour": "the load event fires, then the main thread is blocked forever"},
}

PAGE = "<!doctype html><html><head><meta charset=utf-8><title>{title}</title></head><body>{body}</body></html>"


@SITE.route("/third-party-cookie")
def third_party_cookie(req: Request) -> Response:
    body = req.render(
        '<h1>Third-party cookies</h1><iframe src="{{https://ads.lab-adserver.com/frame}}" width=300 height=250></iframe>'
        '<img src="{{https://ads.lab-adserver.com/px}}" alt="">'
        '<script>window.addEventListener("load", function () { setTimeout(function () {'
        ' var i = new Image(); i.src = "{{https://ads.lab-adserver.com/seen}}"; }, 100); });</script>')
    return Response.html(PAGE.format(title="Cookie lab", body=body))


@AD.route("/frame")
def ad_frame(req: Request) -> Response:
    body = ('<p>ad</p><script>window.addEventListener("load", function () {'
            ' var i = new Image(); i.src = "/frame-pixel"; });</script>')
    return Response.html(PAGE.format(title="Ad", body=body),
                         headers=[set_cookie("lab_uid", "u-" + secrets.token_hex(12), domain="lab-adserver.com",
                                             max_age=YEAR, secure=True, same_site="None")])


@AD.route("/px")
def ad_pixel(req: Request) -> Response:
    return Response.pixel([set_cookie("lab_px", "p-" + secrets.token_hex(12), domain="lab-adserver.com",
                                      max_age=YEAR, secure=True, same_site="None")])


@AD.route("/frame-pixel")
def ad_frame_pixel(req: Request) -> Response:
    return Response.pixel()


@AD.route("/seen")
def ad_seen(req: Request) -> Response:
    return Response.pixel()


@SITE.route("/workers")
def workers(req: Request) -> Response:
    script = req.render(
        'new Worker("/lab-worker.js");'
        'if (navigator.serviceWorker) navigator.serviceWorker.register("/lab-sw.js");'
        'navigator.sendBeacon("{{https://ads.lab-adserver.com/beacon}}", "b=1");'
        'var r = new Image(); r.src = "{{https://ads.lab-adserver.com/hop1}}";'
        'fetch("{{https://ads.lab-adserver.com/collect}}", {method: "POST", body: JSON.stringify({event: "lab", uid: "u-1234567"}),'
        ' headers: {"Content-Type": "text/plain"}});'
        'localStorage.setItem("lab_local", "l-1"); sessionStorage.setItem("lab_session", "s-1");'
        'indexedDB.open("lab-db", 1).onupgradeneeded = function (e) { e.target.result.createObjectStore("s"); };')
    return Response.html(PAGE.format(title="Workers", body=f"<script>{script}</script>"))


@SITE.route("/lab-worker.js")
def lab_worker(req: Request) -> Response:
    # A moment after start: a dedicated worker can run before the crawler's Network domain is on (see
    # crawler/browser/targets.py); its first instants are recorded from Playwright's events, without the worker.
    return Response.js('setTimeout(function () { fetch("/from-worker"); }, 300);')


@SITE.route("/lab-sw.js")
def lab_service_worker(req: Request) -> Response:
    return Response.js('self.addEventListener("install", function (e) { e.waitUntil(fetch("/from-service-worker")); });')


@SITE.route("/from-worker")
def from_worker(req: Request) -> Response:
    return Response.text("worker")


@SITE.route("/from-service-worker")
def from_service_worker(req: Request) -> Response:
    return Response.text("service worker")


@AD.route("/beacon", ["POST"])
def beacon(req: Request) -> Response:
    return Response.empty()


@AD.route("/hop1")
def hop1(req: Request) -> Response:
    return Response.redirect("/hop2")


@AD.route("/hop2")
def hop2(req: Request) -> Response:
    return Response.redirect("/hop-end")


@AD.route("/hop-end")
def hop_end(req: Request) -> Response:
    return Response.pixel()


@AD.route("/collect", ["POST"])
def collect(req: Request) -> Response:
    return Response.empty()


PROBE = """
(function () {
  function native(f) { try { return /\\[native code\\]/.test(Function.prototype.toString.call(f)); } catch (e) { return false; } }
  var d = Object.getOwnPropertyDescriptor(Document.prototype, "cookie");
  var facts = {
    webdriver: navigator.webdriver,
    user_agent: navigator.userAgent,
    brands: navigator.userAgentData ? navigator.userAgentData.brands.map(function (b) { return b.brand; }) : null,
    languages: navigator.languages,
    width: window.innerWidth, height: window.innerHeight, screen: [screen.width, screen.height],
    globals: Object.getOwnPropertyNames(window).sort(),
    cookie_accessors_native: native(d.get) && native(d.set),
    document_own_cookie: Object.prototype.hasOwnProperty.call(document, "cookie"),
    fetch_native: native(window.fetch), to_string_native: native(Function.prototype.toString)
  };
  document.cookie = "probe=1; path=/";
  document.cookie = "probe_foreign=1; domain=elsewhere-tracker.com; path=/";  // refused by the browser
  document.cookie = "probe_gone=1; path=/";  // set, then deleted
  document.cookie = "probe_gone=; expires=Thu, 01 Jan 1970 00:00:00 GMT; path=/";
  document.cookie = "probe_twice=a; path=/";  // overwritten: both values were set
  document.cookie = "probe_twice=b; path=/";
  fetch("/report", {method: "POST", body: JSON.stringify(facts), headers: {"Content-Type": "text/plain"}});
})();
"""


@SITE.route("/probe")
def probe(req: Request) -> Response:
    return Response.html(PAGE.format(title="Probe", body=f"<script>{PROBE}</script>"))


@SITE.route("/report", ["POST"])
def report(req: Request) -> Response:
    return Response.empty()


@SITE.route("/busy-after-load")
def busy_after_load(req: Request) -> Response:
    """Loads, then blocks its main thread for good: whoever reads the page after `load` waits forever."""
    script = 'window.addEventListener("load", function () { setTimeout(function () { while (true) {} }, 0); });'
    return Response.html(PAGE.format(title="Busy after load", body=f"<p>loaded</p><script>{script}</script>"))
