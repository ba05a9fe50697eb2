"""Pages whose fingerprinting, session replay, key logging, pixel events and ID syncs are known in advance.

All on www.example-detectors.org (third parties in detectors_thirdparty.py):
- /fingerprinting: the first inline script reads navigator.userAgent and calls toDataURL before anything else;
  then canvas, canvas-font, WebGL, audio and navigator/screen scripts from openfpcdn.io, and a first-party
  chart (/static/chart.js) that draws coloured bars and text between save/restore and reads a thumbnail back:
  an ordinary canvas that must not be flagged. Frames: a same-site iframe (/fingerprinting/frame) and a
  cross-site one (openfpcdn.io/fingerprintjs/frame.html, its own renderer process) call canvas and navigator
  APIs in their first script, a last inline script borrows an about:blank iframe's pristine toDataURL
  (`image/bmp`), a known trick against page-side wrappers, and a dedicated worker (/static/worker.js) draws text
  on an OffscreenCanvas and reads navigator properties.
- /chart: the chart alone (no fingerprinting at all).
- /replay: an rrweb-style recorder shipping DOM mutations to ingest.replay-example.io, and Microsoft Clarity's
  tag; the page changes its DOM after load so there are mutations to ship.
- /form: e-mail, password and name inputs read by t.formtrack-example.com on `input` events (e-mail and
  password base64 in a POST body, the e-mail's SHA-256 in a pixel URL; the name is never sent).
- /form-clean: the same inputs, no script at all: nothing may be found.
- /pixels: Meta pixel PageView (GET) and Purchase (POST form body, `cd[value]`, `cd[currency]`, hashed
  `ud[em]`), GA4 page_view and purchase, Universal Analytics, GA4 through stats.g.doubleclick.net, a Google Ads
  conversion and a remarketing hit.
- /sync: The Trade Desk's match frame passes its TDID cookie to BidSwitch (query) and RhythmOne (base64url path).
- /stackless: defines `Error.prepareStackTrace` (which would run page code whenever anyone formats a stack) before
  calling toDataURL (`image/tiff`) and navigator.platform, then reports to /report how many times its function
  ran, how many global properties look like our recorder's name, and whether toDataURL still looks native.
- /clean: text only.
"""

from __future__ import annotations

import hashlib
import html

from demoweb import Request, Response, Site

from .detectors_thirdparty import (ADS_CONVERSION, ADS_REMARKETING, CLARITY_COLLECT, CLARITY_HOST, FP_HOST,
                                   FRAME_SCRIPT, KEYLOGGER_HOST, KEYLOGGER_PIXEL, REPLAY_HOST, REPLAY_INGEST,
                                   SYNC_FROM, SYNC_TO, SYNC_TO_B64)

BORROWED = ("<script>var blank = document.createElement('iframe'); document.body.appendChild(blank);"
            " blank.contentWindow.HTMLCanvasElement.prototype.toDataURL.call(document.createElement('canvas'),"
            " 'image/bmp');</script>")

HOST = "www.example-detectors.org"
META_PIXEL_ID = "998877665544332"
GA4_ID = "G-DETECT123"
UA_ID = "UA-7654321-1"
ADS_ACCOUNT = "123456789"
ADS_LABEL = "AbC-D_efGhIjK"
PIXEL_EMAIL = "jane.doe@example.org"
PIXEL_EMAIL_SHA256 = hashlib.sha256(PIXEL_EMAIL.encode()).hexdigest()

SITE = Site("detector pages", [HOST])

CHART = r"""(function () {
  var c = document.getElementById("chart"), x = c.getContext("2d");
  var values = [12, 19, 7, 15], colours = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2"];
  x.save();
  x.font = "12px sans-serif";
  for (var i = 0; i < values.length; i++) {
    x.fillStyle = colours[i];
    x.fillRect(20 + i * 60, 150 - values[i] * 6, 40, values[i] * 6);
    x.fillStyle = "#333";
    x.fillText("Quarter " + (i + 1) + " sales", 20 + i * 60, 165);
  }
  x.restore();
  document.getElementById("thumb").src = c.toDataURL("image/png");
})();"""

PIXELS = r"""(function () {
  var page = encodeURIComponent(location.href);
  new Image().src = "__FB__?id=__PIXEL__&ev=PageView&dl=" + page + "&rl=&if=false&ts=" + Date.now()
                    + "&cd[content_type]=product";
  fetch("__FB__", {method: "POST", keepalive: true, mode: "no-cors",
    headers: {"Content-Type": "application/x-www-form-urlencoded"},
    body: "id=__PIXEL__&ev=Purchase&dl=" + page + "&cd[value]=42.50&cd[currency]=EUR&cd[content_ids]=%5B%22sku-1%22%5D"
          + "&ud[em]=__EMAIL_SHA256__&eid=ord-1001"});
  navigator.sendBeacon("__GA4__?v=2&tid=__GA4_ID__&cid=555.666&en=page_view&dl=" + page + "&dt=Pixels");
  navigator.sendBeacon("__GA4__?v=2&tid=__GA4_ID__&cid=555.666&en=purchase&cu=EUR&epn.value=42.5"
                       + "&ep.transaction_id=ord-1001&dl=" + page);
  new Image().src = "__UA__?v=1&tid=__UA_ID__&cid=555.666&t=pageview&dl=" + page;
  new Image().src = "__STATS__?v=2&tid=__GA4_ID__&cid=555.666&aip=1";
  new Image().src = "__CONV__?label=__LABEL__&value=42.5&currency_code=EUR&guid=ON&script=0";
  new Image().src = "__REMARKETING__?random=1&cv=11&fst=1&num=1&label=__LABEL__&url=" + page;
})();"""


def _page(title: str, head: str = "", body: str = "") -> str:
    return f"""<!doctype html>
<html lang="en"><head>{head}<meta charset="utf-8"><title>{html.escape(title)}</title></head>
<body><h1>{html.escape(title)}</h1>{body}</body></html>
"""


def _script(src: str) -> str:
    return f'<script src="{html.escape(src)}"></script>'


@SITE.route("/fingerprinting", ["GET"])
def fingerprinting(req: Request) -> Response:
    first = "<script>var ua = navigator.userAgent; document.createElement('canvas').toDataURL();</script>"
    scripts = "".join(_script(req.url(FP_HOST, f"/fingerprintjs/{name}"))
                      for name in ("canvas.js", "fonts.js", "webgl.js", "audio.js", "agent.js"))
    frames = (f'<iframe src="/fingerprinting/frame" width="10" height="10"></iframe>'
              f'<iframe src="{html.escape(req.url(FP_HOST, "/fingerprintjs/frame.html"))}" width="10" height="10">'
              '</iframe>')
    body = ('<canvas id="chart" width="280" height="180"></canvas><img id="thumb" alt="">'
            + _script("/static/chart.js") + scripts + frames + BORROWED
            + "<script>new Worker('/static/worker.js');</script>")
    return Response.html(_page("Fingerprinting", first, body))


WORKER = r"""setTimeout(function () {
  var c = new OffscreenCanvas(200, 50), x = c.getContext("2d");
  x.font = "16px serif"; x.fillText("worker fingerprint", 2, 20);
  postMessage([navigator.hardwareConcurrency, navigator.userAgent]);
}, 300);"""


@SITE.route("/static/worker.js", ["GET"])
def worker_js(req: Request) -> Response:
    return Response.js(WORKER)


@SITE.route("/fingerprinting/frame", ["GET"])
def fingerprinting_frame(req: Request) -> Response:
    return Response.html(_page("Frame", FRAME_SCRIPT))


@SITE.route("/chart", ["GET"])
def chart(req: Request) -> Response:
    body = '<canvas id="chart" width="280" height="180"></canvas><img id="thumb" alt="">' + _script("/static/chart.js")
    return Response.html(_page("Sales chart", body=body))


@SITE.route("/static/chart.js", ["GET"])
def chart_js(req: Request) -> Response:
    return Response.js(CHART)


@SITE.route("/replay", ["GET"])
def replay(req: Request) -> Response:
    head = _script(req.url(REPLAY_HOST, "/recorder.js")) + _script(req.url(CLARITY_HOST, "/tag/dtct42"))
    body = ("<p>Session replay.</p><script>setTimeout(function () { var p = document.createElement('p');"
            " p.textContent = 'Added later'; document.body.appendChild(p); }, 150);</script>")
    return Response.html(_page("Replay", head, body))


FORM = ('<form action="/subscribe" method="post"><label>Name <input name="name" type="text"></label>'
        '<label>E-mail <input name="email" type="email"></label>'
        '<label>Password <input name="password" type="password"></label><button>Subscribe</button></form>')


@SITE.route("/form", ["GET"])
def form(req: Request) -> Response:
    return Response.html(_page("Newsletter", _script(req.url(KEYLOGGER_HOST, "/f.js")), FORM))


@SITE.route("/form-clean", ["GET"])
def form_clean(req: Request) -> Response:
    return Response.html(_page("Newsletter", body=FORM))


@SITE.route("/subscribe", ["POST"])
def subscribe(req: Request) -> Response:
    return Response.html(_page("Subscribed"))


@SITE.route("/pixels", ["GET"])
def pixels(req: Request) -> Response:
    source = (PIXELS.replace("__FB__", req.url("www.facebook.com", "/tr/")).replace("__PIXEL__", META_PIXEL_ID)
              .replace("__EMAIL_SHA256__", PIXEL_EMAIL_SHA256)
              .replace("__GA4__", req.url("www.google-analytics.com", "/g/collect")).replace("__GA4_ID__", GA4_ID)
              .replace("__UA__", req.url("www.google-analytics.com", "/collect")).replace("__UA_ID__", UA_ID)
              .replace("__STATS__", req.url("stats.g.doubleclick.net", "/g/collect"))
              .replace("__CONV__", req.url(ADS_CONVERSION, f"/pagead/conversion/{ADS_ACCOUNT}/"))
              .replace("__REMARKETING__", req.url(ADS_REMARKETING, f"/pagead/viewthroughconversion/{ADS_ACCOUNT}/"))
              .replace("__LABEL__", ADS_LABEL))
    return Response.html(_page("Checkout complete", body=f"<p>Thank you.</p><script>{source}</script>"))


@SITE.route("/sync", ["GET"])
def sync(req: Request) -> Response:
    frame = req.url(SYNC_FROM, "/track/cmf/generic?ttd_pid=detector&ttd_tpi=1")
    return Response.html(_page("Sync", body=f'<iframe src="{html.escape(frame)}" width="1" height="1"></iframe>'))


STACKLESS = r"""<script>
Error.prepareStackTrace = function (error, frames) { window.__formatted = (window.__formatted || 0) + 1; return "x"; };
document.createElement("canvas").toDataURL("image/tiff");
navigator.platform;
setTimeout(function () {
  var globals = Object.getOwnPropertyNames(window).filter(function (n) { return /^_[0-9a-f]{20}$/.test(n); });
  var native = /\[native code\]/.test(Function.prototype.toString.call(HTMLCanvasElement.prototype.toDataURL));
  navigator.sendBeacon("/report?formatted=" + (window.__formatted || 0) + "&globals=" + globals.length
                       + "&native=" + (native ? 1 : 0));
}, 50);
</script>"""


@SITE.route("/stackless", ["GET"])
def stackless(req: Request) -> Response:
    return Response.html(_page("Stackless", STACKLESS))


@SITE.route("/report")
def report(req: Request) -> Response:
    return Response.empty(204)


@SITE.route("/clean", ["GET"])
def clean(req: Request) -> Response:
    return Response.html(_page("Nothing here", body="<p>No scripts, no forms, no third parties.</p>"))


def _fp(name: str) -> str:
    return f"{FP_HOST}/fingerprintjs/{name}"


FLAGS = ("canvas_fingerprinting", "canvas_font_fingerprinting", "webgl_fingerprinting", "audio_fingerprinting")

EXPECTED: dict[str, dict] = {
    f"{HOST}/fingerprinting": {
        # (script "host/path", or "page" for the page's inline scripts) -> APIs it must be seen calling
        "js_calls": {
            "page": ["Navigator.userAgent", "HTMLCanvasElement.toDataURL"],
            _fp("canvas.js"): ["CanvasRenderingContext2D.fillText", "CanvasRenderingContext2D.fillStyle",
                               "HTMLCanvasElement.toDataURL"],
            _fp("fonts.js"): ["CanvasRenderingContext2D.font", "CanvasRenderingContext2D.measureText"],
            _fp("webgl.js"): ["WebGLRenderingContext.getParameter", "WebGLRenderingContext.getExtension"],
            _fp("audio.js"): ["OfflineAudioContext.constructor", "BaseAudioContext.createOscillator",
                              "BaseAudioContext.createDynamicsCompressor", "OfflineAudioContext.startRendering",
                              "AudioBuffer.getChannelData"],
            _fp("agent.js"): ["Navigator.userAgent", "Navigator.platform", "Navigator.hardwareConcurrency",
                              "Screen.width", "Screen.colorDepth", "Window.devicePixelRatio"],
            f"{HOST}/static/chart.js": ["CanvasRenderingContext2D.save", "HTMLCanvasElement.toDataURL"],
            f"{HOST}/fingerprinting/frame": ["Navigator.hardwareConcurrency", "HTMLCanvasElement.getContext",
                                             "HTMLCanvasElement.toDataURL"],
            _fp("frame.html"): ["Navigator.hardwareConcurrency", "HTMLCanvasElement.getContext",
                                "HTMLCanvasElement.toDataURL"],
        },
        # a dedicated worker (its calls wait 300 ms: Playwright resumes workers before we can hook them)
        "worker": {f"{HOST}/static/worker.js": ["Navigator.hardwareConcurrency", "Navigator.userAgent",
                                                "OffscreenCanvas.getContext",
                                                "OffscreenCanvasRenderingContext2D.fillText"]},
        # script -> the only flags set among FLAGS (the others must be 0)
        "scripts": {
            _fp("canvas.js"): ["canvas_fingerprinting"],
            _fp("fonts.js"): ["canvas_font_fingerprinting"],
            _fp("webgl.js"): ["webgl_fingerprinting"],
            _fp("audio.js"): ["audio_fingerprinting"],
            _fp("agent.js"): [],
            f"{HOST}/static/chart.js": [],
        },
        "font_count": 60,
    },
    f"{HOST}/chart": {"scripts": {f"{HOST}/static/chart.js": []}},
    f"{HOST}/replay": {
        "session_replay": [{"script": f"{REPLAY_HOST}/recorder.js", "collector": REPLAY_INGEST, "by": "payload"},
                           {"script": f"{CLARITY_HOST}/tag/dtct42", "collector": CLARITY_COLLECT, "by": "host"}],
    },
    f"{HOST}/form": {
        "keylogging": [{"identifier": "typed_email", "host": KEYLOGGER_HOST, "location": "body", "chain": "base64"},
                       {"identifier": "typed_password", "host": KEYLOGGER_HOST, "location": "body",
                        "chain": "base64"},
                       {"identifier": "typed_email", "host": KEYLOGGER_PIXEL, "location": "query",
                        "chain": "sha256"}],
        "never_sent": ["typed_name"],
    },
    f"{HOST}/form-clean": {"keylogging": []},
    f"{HOST}/pixels": {
        "pixel_events": [
            {"vendor": "meta", "tag_id": META_PIXEL_ID, "event": "PageView", "parameters": {"content_type": "product"}},
            {"vendor": "meta", "tag_id": META_PIXEL_ID, "event": "Purchase",
             "parameters": {"value": "42.50", "currency": "EUR"}, "user_data": {"em": PIXEL_EMAIL_SHA256}},
            {"vendor": "google-analytics", "tag_id": GA4_ID, "event": "page_view"},
            {"vendor": "google-analytics", "tag_id": GA4_ID, "event": "purchase"},
            {"vendor": "google-analytics", "tag_id": UA_ID, "event": "pageview"},
            {"vendor": "google-analytics", "tag_id": GA4_ID, "event": "remarketing", "host": "stats.g.doubleclick.net"},
            {"vendor": "google-ads", "tag_id": f"AW-{ADS_ACCOUNT}", "event": "conversion"},
            {"vendor": "google-ads", "tag_id": f"AW-{ADS_ACCOUNT}", "event": "remarketing"},
        ],
    },
    f"{HOST}/sync": {
        "id_syncs": [{"from": "adsrvr.org", "to": "bidswitch.net", "host": SYNC_TO, "cookie": "TDID",
                      "param": "user_id", "via": "query", "encoding": None},
                     {"from": "adsrvr.org", "to": "1rx.io", "host": SYNC_TO_B64, "cookie": "TDID", "param": "3",
                      "via": "path", "encoding": "base64"}],
    },
    f"{HOST}/stackless": {
        "js_calls": {"page": ["HTMLCanvasElement.toDataURL", "Navigator.platform"]},
        "report": {"formatted": "0", "globals": "0", "native": "1"},
    },
    f"{HOST}/clean": {"js_calls": {}, "scripts": {}, "session_replay": [], "keylogging": [], "pixel_events": [],
                      "id_syncs": []},
}
