"""One page that calls every API family of the fingerprinting catalogue, with the exact calls it makes known.

On www.apis-lab.org:
- /apis: runs /static/families.js, one named function per family (navigator, screen, canvas, webgl, audio,
  webrtc, media and permissions, time zone and fonts, storage and beacons, cookies, listeners), each statement on
  its own line, then an inline invisibility probe. `FAMILIES` is the source: the script is generated from it, so
  the expected calls (`EXPECTED_CALLS`: API -> lines, function, arguments as js_calls.arguments shows them) cannot
  drift from the code. The probe checks, for every catalogue function (mouchard.fingerprinting.APIS), that it
  still looks native through `Function.prototype.toString`, carries no own property but `length` and `name`, and
  that no global looks like the recorder's name; it also reports the data URL and the pixels the page read back
  (to check js_calls.returned) and POSTs everything as JSON to /report (kept in `REPORTS`, read by the tests).
The page sends its report with `fetch`, not `sendBeacon`, so the report itself is not one of the expected calls.
"""

from __future__ import annotations

import json
import threading

from mouchard.fingerprinting import APIS
from web import Request, Response, Site

HOST = "www.apis-lab.org"
SITE = Site("apis-lab", [HOST])
SCRIPT = "/static/families.js"

REPORTS: list[dict] = []  # reports POSTed by /apis, in arrival order
REPORTED = threading.Event()  # set when a report arrives

_NAV = [f"navigator.{p};" for p in (
    "appName", "appCodeName", "appVersion", "product", "productSub", "vendorSub", "onLine", "userAgent",
    "platform", "vendor", "language", "languages", "hardwareConcurrency", "deviceMemory", "connection",
    "plugins", "mimeTypes", "maxTouchPoints", "doNotTrack", "cookieEnabled", "webdriver", "pdfViewerEnabled")]
_SCREEN = [f"screen.{p};" for p in (
    "width", "height", "availWidth", "availHeight", "availLeft", "availTop", "colorDepth", "pixelDepth",
    "orientation", "isExtended")]


def _get(statement: str, interface: str) -> tuple[str, list]:
    member = statement.split(".")[1].rstrip(";")
    return statement, [(f"{interface}.{member}", None)]


# family -> [(JavaScript statement on one line, [(API, one argument list as js_calls.arguments shows it, or
# None when the API keeps no arguments)])]
FAMILIES: dict[str, list[tuple[str, list[tuple[str, list | None]]]]] = {
    "navigatorFamily": [
        *(_get(s, "Navigator") for s in _NAV),
        ("var uad = navigator.userAgentData;", [("Navigator.userAgentData", None)]),
        ("uad.getHighEntropyValues(['platformVersion', 'model']);",
         [("NavigatorUAData.getHighEntropyValues", [["platformVersion", "model"]])]),
        ("var geo = navigator.geolocation;", [("Navigator.geolocation", None)]),
        ("geo.getCurrentPosition(function () {}, function () {}, {timeout: 50, maximumAge: 0});",
         [("Geolocation.getCurrentPosition", [{"timeout": 50, "maximumAge": 0}])]),
        ("navigator.javaEnabled();", [("Navigator.javaEnabled", None)]),
        ("navigator.getBattery().catch(function () {});", [("Navigator.getBattery", None)]),
    ],
    "screenFamily": [
        *(_get(s, "Screen") for s in _SCREEN),
        ("window.devicePixelRatio;", [("Window.devicePixelRatio", None)]),
        ("matchMedia('(prefers-color-scheme: dark)');", [("Window.matchMedia", ["(prefers-color-scheme: dark)"])]),
    ],
    "canvasFamily": [
        ("var c = document.createElement('canvas'); c.width = 240; c.height = 60;", []),
        ("var ctx = c.getContext('2d');", [("HTMLCanvasElement.getContext", ["2d", 240, 60])]),
        ("ctx.textBaseline = 'alphabetic';", [("CanvasRenderingContext2D.textBaseline", ["alphabetic"])]),
        ("ctx.fillStyle = '#f60';", [("CanvasRenderingContext2D.fillStyle", ["#f60"])]),
        ("ctx.fillRect(125, 1, 62, 20);", [("CanvasRenderingContext2D.fillRect", [125, 1, 62, 20])]),
        ("ctx.font = '16px Arial';", [("CanvasRenderingContext2D.font", ["16px Arial"])]),
        ("ctx.fillText('Cwm fjordbank glyphs', 2, 15);",
         [("CanvasRenderingContext2D.fillText", ["Cwm fjordbank glyphs", 2, 15])]),
        ("ctx.measureText('mmmmmmmmmmlli');", [("CanvasRenderingContext2D.measureText", ["mmmmmmmmmmlli", "16px Arial"])]),
        ("window.labDataUrl = c.toDataURL();", [("HTMLCanvasElement.toDataURL", [None, None, 240, 60])]),
        ("window.labPixels = ctx.getImageData(0, 0, 16, 16);",
         [("CanvasRenderingContext2D.getImageData", [0, 0, 16, 16])]),
    ],
    "webglFamily": [
        ("var gl = document.createElement('canvas').getContext('webgl');",
         [("HTMLCanvasElement.getContext", ["webgl", 300, 150])]),
        ("gl.getSupportedExtensions();", [("WebGLRenderingContext.getSupportedExtensions", None)]),
        ("gl.getExtension('WEBGL_debug_renderer_info');",
         [("WebGLRenderingContext.getExtension", ["WEBGL_debug_renderer_info"])]),
        ("gl.getParameter(37445);", [("WebGLRenderingContext.getParameter", ["UNMASKED_VENDOR_WEBGL"])]),
        ("gl.getParameter(gl.MAX_TEXTURE_SIZE);", [("WebGLRenderingContext.getParameter", ["MAX_TEXTURE_SIZE"])]),
        ("gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, new Uint8Array(4));",
         [("WebGLRenderingContext.readPixels", [0, 0, 1, 1])]),
    ],
    "audioFamily": [
        ("var ac = new AudioContext();", [("AudioContext.constructor", None)]),
        ("var osc = ac.createOscillator();", [("BaseAudioContext.createOscillator", None)]),
        ("osc.type = 'triangle';", [("OscillatorNode.type", ["triangle"])]),
        ("var gain = ac.createGain();", [("BaseAudioContext.createGain", None)]),
        ("gain.gain.value = 0;", [("GainNode.gain", None)]),
        ("var comp = ac.createDynamicsCompressor();", [("BaseAudioContext.createDynamicsCompressor", None)]),
        ("var proc = ac.createScriptProcessor(4096, 1, 1);", [("BaseAudioContext.createScriptProcessor", [4096, 1, 1])]),
        ("osc.connect(comp);", [("AudioNode.connect", None)]),
        ("comp.connect(proc);", [("AudioNode.connect", None)]),
        ("proc.connect(gain);", [("AudioNode.connect", None)]),
        ("gain.connect(ac.destination);", [("BaseAudioContext.destination", None), ("AudioNode.connect", None)]),
        ("proc.onaudioprocess = function () {};", [("ScriptProcessorNode.onaudioprocess", None)]),
        ("osc.start(0);", [("AudioScheduledSourceNode.start", [0])]),
        ("var off = new OfflineAudioContext(1, 5000, 44100);", [("OfflineAudioContext.constructor", [1, 5000, 44100])]),
        ("off.startRendering().catch(function () {});", [("OfflineAudioContext.startRendering", None)]),
    ],
    "webrtcFamily": [
        ("var pc = new RTCPeerConnection({iceServers: []});", [("RTCPeerConnection.constructor", [{"iceServers": []}])]),
        ("pc.createDataChannel('lab', {ordered: false, maxRetransmits: 2});",
         [("RTCPeerConnection.createDataChannel", ["lab", {"ordered": False, "maxRetransmits": 2}])]),
        ("pc.onicecandidate = function () {};", [("RTCPeerConnection.onicecandidate", None)]),
        ("pc.createOffer({offerToReceiveAudio: true}).catch(function () {});",
         [("RTCPeerConnection.createOffer", [{"offerToReceiveAudio": True}])]),
        ("pc.setLocalDescription({type: 'rollback'}).catch(function () {});",
         [("RTCPeerConnection.setLocalDescription", [{"type": "rollback"}])]),
    ],
    "mediaFamily": [
        ("navigator.permissions.query({name: 'geolocation'}).catch(function () {});",
         [("Permissions.query", [{"name": "geolocation"}])]),
        ("Notification.permission;", [("Notification.permission", None)]),
        ("navigator.mediaDevices.enumerateDevices().catch(function () {});", [("MediaDevices.enumerateDevices", None)]),
        ("speechSynthesis.getVoices();", [("SpeechSynthesis.getVoices", None)]),
        ("window.ondeviceorientation = function () {};", [("Window.ondeviceorientation", None)]),
    ],
    "timeAndFontsFamily": [
        ("Intl.DateTimeFormat().resolvedOptions();", [("Intl.DateTimeFormat.resolvedOptions", None)]),
        ("new Date(0).getTimezoneOffset();", [("Date.getTimezoneOffset", None)]),
        ("document.fonts.check('12px Arial');", [("FontFaceSet.check", ["12px Arial", None])]),
    ],
    "storageFamily": [
        ("localStorage.setItem('lab_key', 'a secret value');",
         [("Window.localStorage", None), ("Storage.setItem", ["lab_key"])]),
        ("sessionStorage.getItem('lab_key');", [("Window.sessionStorage", None), ("Storage.getItem", ["lab_key"])]),
        ("indexedDB.open('lab_db', 1);", [("Window.indexedDB", None), ("IDBFactory.open", ["lab_db"])]),
        ("cookieStore.get('lab_id').catch(function () {});", [("Window.cookieStore", None), ("CookieStore.get", ["lab_id"])]),
        ("navigator.sendBeacon('/beacon', 'x');", [("Navigator.sendBeacon", ["/beacon"])]),
    ],
    "cookieFamily": [
        ("document.cookie = 'lab_id=s3cr3t; path=/';", []),  # a write: the cookies table's business
        ("document.cookie;", [("Document.cookie", None)]),
    ],
    "listenerFamily": [
        ("document.addEventListener('keydown', function () {});", [("EventTarget.addEventListener", ["keydown", "#document"])]),
        ("window.addEventListener('mousemove', function () {});", [("EventTarget.addEventListener", ["mousemove", "window"])]),
        ("document.getElementById('field').addEventListener('input', function () {});",
         [("EventTarget.addEventListener", ["input", "INPUT"])]),
        ("window.addEventListener('visibilitychange', function () {});",
         [("EventTarget.addEventListener", ["visibilitychange", "window"])]),
        ("window.addEventListener('deviceorientation', function () {});",
         [("EventTarget.addEventListener", ["deviceorientation", "window"])]),
        ("window.addEventListener('load', function () {});", []),  # not a watched event type: not recorded
    ],
}


def _script() -> tuple[str, dict[str, dict]]:
    """families.js and what it must be seen doing: API -> {lines, functions, arguments (JSON strings), calls}."""
    lines = ['"use strict";']
    expected: dict[str, dict] = {}
    for function, statements in FAMILIES.items():
        lines.append(f"function {function}() {{")
        for statement, calls in statements:
            lines.append("  " + statement)
            for api, arguments in calls:
                row = expected.setdefault(api, {"lines": set(), "functions": set(), "arguments": set(), "calls": 0})
                row["lines"].add(len(lines))
                row["functions"].add(function)
                row["calls"] += 1
                if arguments is not None:
                    row["arguments"].add(json.dumps(arguments))
        lines.append("}")
    for function in FAMILIES:
        lines.append(f"try {{ {function}(); }} catch (e) {{ window.labErrors = (window.labErrors || []).concat("
                     f"['{function}: ' + e]); }}")
    return "\n".join(lines) + "\n", expected


FAMILIES_JS, EXPECTED_CALLS = _script()

PROBE = r"""<script>
(function () {
  var apis = __APIS__, toString = Function.prototype.toString, notNative = [], extra = [];
  apis.forEach(function (api) {
    var names = api[0], member = api[1], kind = api[2];
    for (var n = 0; n < names.length; n++) {
      var owner = window;
      names[n].split(".").forEach(function (part) { owner = owner == null ? undefined : owner[part]; });
      if (typeof owner !== "function") continue;
      var fn = null;
      if (kind === "constructor") fn = owner;
      else {
        var holders = kind === "static" || kind === "static-get" ? [owner]
          : names[n] === "Window" ? [window, owner.prototype] : [owner.prototype];
        holders.forEach(function (h) {
          var d = !fn && h && Object.getOwnPropertyDescriptor(h, member);
          if (d) fn = kind === "get" || kind === "static-get" ? d.get : kind === "set" ? d.set : d.value;
        });
      }
      if (typeof fn !== "function") continue;
      var label = names[n] + "." + (member || "constructor") + ":" + kind;
      if (!/\{\s*\[native code\]\s*\}\s*$/.test(toString.call(fn))) notNative.push(label);
      // An interface object's own statics (RTCPeerConnection.generateCertificate) are the platform's: only
      // methods, getters and setters must carry nothing but length and name.
      var own = kind === "constructor" ? [] : Object.getOwnPropertyNames(fn).filter(function (p) {
        return ["length", "name"].indexOf(p) < 0; });
      if (own.length) extra.push(label + ":" + own.join(","));
      break;
    }
  });
  // A `debugger` statement is a no-op without DevTools; under a debugger it may pause (a timing tell, reported
  // for the record, never asserted: tests make no wall-clock assertions).
  var before = performance.now();
  debugger;
  Function("debugger")();
  var debuggerMs = performance.now() - before;
  var globals = Object.getOwnPropertyNames(window).filter(function (n) { return /^_[0-9a-f]{20}$/.test(n); });
  var pixels = window.labPixels ? Array.prototype.slice.call(window.labPixels.data) : null;
  fetch("/report", {method: "POST", body: JSON.stringify({
    checked: apis.length, not_native: notNative, extra_properties: extra, globals: globals.length,
    errors: window.labErrors || [], debugger_ms: debuggerMs, data_url: window.labDataUrl || null, pixels: pixels})});
})();
</script>"""


@SITE.route("/apis", ["GET"])
def apis(req: Request) -> Response:
    catalogue = json.dumps([[list(a.interfaces), a.member, a.kind] for a in APIS])
    return Response.html("<!doctype html><html><head><title>API families</title></head><body>"
                         '<input id="field" name="field">'
                         f'<script src="{SCRIPT}"></script>' + PROBE.replace("__APIS__", catalogue) + "</body></html>")


@SITE.route(SCRIPT, ["GET"])
def families(req: Request) -> Response:
    return Response.js(FAMILIES_JS)


@SITE.route("/report", ["POST"])
def report(req: Request) -> Response:
    REPORTS.append(req.json())
    REPORTED.set()
    return Response.empty(204)


@SITE.route("/beacon", ["POST"])
def beacon(req: Request) -> Response:
    return Response.empty(204)
