"""One page per API family of the fingerprinting catalogue, with the exact calls each page makes known.

On www.apis-lab.org, `/<family>` for each family of `PAGES` (navigator, screen, window and memory, audio, WebRTC,
canvas, WebGL, fonts, Intl and clocks, permissions / notifications / media / speech, battery / sensors / motion,
input events read, storage / indexedDB / cookieStore / messaging, beacon, listeners): the page runs its scripts (`/static/<script>.js`: one named function
per part, each statement on its own line), then an inline invisibility probe. `PAGES` is the source: the scripts
are generated from it, so the expected calls (`EXPECTED_CALLS`: (script path, API) -> lines, functions, calls,
arguments as js_calls.arguments shows them) cannot drift from the code. Together the pages call every catalogue
entry the browser has (`ABSENT_APIS`: the entries this Chromium does not expose, which cannot be called: the
interfaces of `ABSENT` and the members of `ABSENT_MEMBERS`).

The probe (`PROBE`) looks at every catalogue entry (mouchard.detect.fingerprinting.APIS) the way a page script can: the
property descriptor that holds it, its function's `Function.prototype.toString`, name, length, own properties and
prototype, the own property names of every object holding one, the window's globals, `Error`'s stack machinery,
and whether `console.debug` of an error reads its `stack` (how pages tell that the DevTools Runtime domain is on).
It sends these facts and their SHA-256 (`digest`), computed in the page, with the data URL and pixels the canvas
page read back, as JSON to /report (kept in `REPORTS`, with `REPORTED[page]` set). Under the crawler the facts must
be exactly those of a bare Playwright visit of the same page. Pages report with `fetch`, never a catalogued API.
"""

from __future__ import annotations

import json
import threading

from mouchard.detect.fingerprinting import APIS, LISTENED_EVENTS
from demoweb import Request, Response, Site

HOST = "www.apis-lab.org"
SITE = Site("apis-lab", [HOST])
ROW_LIMIT = 10  # argument lists and call sites a js_calls row shows (ROW_VALUES, ROW_SITES): one script stays under

REPORTS: list[dict] = []  # reports POSTed by the pages, in arrival order
REPORTED: dict[str, threading.Event] = {}  # page -> set when its report arrives (filled below)

# Catalogue interfaces this Chromium does not expose (by default, without flags): their entries are never armed,
# and the sensors page only constructs them if they exist.
ABSENT = ("AmbientLightSensor", "Magnetometer")
# Catalogue members this Chromium no longer has (WebSQL, FLoC): their pages call them only if they exist.
ABSENT_MEMBERS = ("Window.openDatabase", "Document.interestCohort")
ABSENT_APIS = frozenset({f"{name}.constructor" for name in ABSENT} | set(ABSENT_MEMBERS))
WORKER_PATH = "/static/lab-worker.js"  # the shared worker the messaging family starts (it does nothing)


def _get(statement: str, interface: str) -> tuple[str, list]:
    member = statement.split(".")[1].rstrip(";")
    return statement, [(f"{interface}.{member}", None)]


# A statement on one line, and what it calls: [(API, one argument list as js_calls.arguments shows it, or None
# when the API keeps no arguments)]. One call per listed API each time the statement runs.
Statement = tuple[str, list[tuple[str, list | None]]]

_NAV = [_get(f"navigator.{p};", "Navigator") for p in (
    "appName", "appCodeName", "appVersion", "product", "productSub", "vendorSub", "onLine", "userAgent",
    "platform", "vendor", "language", "languages", "hardwareConcurrency", "deviceMemory", "connection",
    "plugins", "mimeTypes", "maxTouchPoints", "doNotTrack", "cookieEnabled", "webdriver", "pdfViewerEnabled",
    "mediaCapabilities", "mediaDevices", "keyboard", "permissions", "presentation", "storage",
    "webkitPersistentStorage", "webkitTemporaryStorage")]
_SCREEN = [_get(f"screen.{p};", "Screen") for p in (
    "width", "height", "availWidth", "availHeight", "availLeft", "availTop", "colorDepth", "pixelDepth",
    "orientation", "isExtended")]
_WINDOW = [_get(f"window.{p};", "Window") for p in (
    "innerWidth", "innerHeight", "outerWidth", "outerHeight", "screenX", "screenY", "screenLeft", "screenTop",
    "name")]
_SENSORS = ("Accelerometer", "LinearAccelerationSensor", "GravitySensor", "Gyroscope", "AbsoluteOrientationSensor",
            "RelativeOrientationSensor")
_NOOP = "function () {}"


def _listen(target: str, event: str, shown: str) -> Statement:
    return (f"{target}.addEventListener('{event}', {_NOOP});", [("EventTarget.addEventListener", [event, shown])]
            if event in LISTENED_EVENTS else [])  # another event type: not recorded


# page -> script -> function -> statements
PAGES: dict[str, dict[str, dict[str, list[Statement]]]] = {
    "navigator": {"navigator": {
        "navigatorFamily": [
            *_NAV,
            ("var uad = navigator.userAgentData;", [("Navigator.userAgentData", None)]),
            ("uad.brands;", [("NavigatorUAData.brands", None)]),
            ("uad.platform;", [("NavigatorUAData.platform", None)]),
            ("uad.getHighEntropyValues(['platformVersion', 'model']);",
             [("NavigatorUAData.getHighEntropyValues", [["platformVersion", "model"]])]),
            ("navigator.javaEnabled();", [("Navigator.javaEnabled", None)]),
            ("navigator.getGamepads();", [("Navigator.getGamepads", None)]),
            (f"navigator.requestMediaKeySystemAccess('org.w3.clearkey', [{{initDataTypes: ['cenc']}}]).catch({_NOOP});",
             [("Navigator.requestMediaKeySystemAccess", ["org.w3.clearkey"])]),
        ],
        "geolocationFamily": [
            ("var geo = navigator.geolocation;", [("Navigator.geolocation", None)]),
            (f"geo.getCurrentPosition({_NOOP}, {_NOOP}, {{timeout: 50, maximumAge: 0}});",
             [("Geolocation.getCurrentPosition", [{"timeout": 50, "maximumAge": 0}])]),
            (f"var watch = geo.watchPosition({_NOOP}, {_NOOP}, {{enableHighAccuracy: true, timeout: 50}});",
             [("Geolocation.watchPosition", [{"enableHighAccuracy": True, "timeout": 50}])]),
            ("geo.clearWatch(watch);", []),
        ],
        "screenFamily": [
            *_SCREEN,
            ("window.devicePixelRatio;", [("Window.devicePixelRatio", None)]),
            ("matchMedia('(prefers-color-scheme: dark)');",
             [("Window.matchMedia", ["(prefers-color-scheme: dark)"])]),
        ],
        "windowFamily": [
            *_WINDOW,
            ("locationbar.visible;", [("BarProp.visible", None)]),
        ],
        "memoryFamily": [
            ("performance.memory;", [("Performance.memory", None)]),
            ("console.memory;", [("console.memory", None)]),
        ],
    }},
    "audio": {"audio": {
        "audioFamily": [
            ("var ac = new AudioContext();", [("AudioContext.constructor", None)]),
            ("var osc = ac.createOscillator();", [("BaseAudioContext.createOscillator", None)]),
            ("osc.type = 'triangle';", [("OscillatorNode.type", ["triangle"])]),
            ("var gain = ac.createGain();", [("BaseAudioContext.createGain", None)]),
            ("gain.gain.value = 0;", [("GainNode.gain", None)]),
            ("var comp = ac.createDynamicsCompressor();", [("BaseAudioContext.createDynamicsCompressor", None)]),
            ("var proc = ac.createScriptProcessor(4096, 1, 1);",
             [("BaseAudioContext.createScriptProcessor", [4096, 1, 1])]),
            ("var an = ac.createAnalyser();", [("BaseAudioContext.createAnalyser", None)]),
            ("osc.connect(comp);", [("AudioNode.connect", None)]),
            ("comp.connect(an);", [("AudioNode.connect", None)]),
            ("an.connect(proc);", [("AudioNode.connect", None)]),
            ("proc.connect(gain);", [("AudioNode.connect", None)]),
            ("gain.connect(ac.destination);", [("BaseAudioContext.destination", None), ("AudioNode.connect", None)]),
            (f"proc.onaudioprocess = {_NOOP};", [("ScriptProcessorNode.onaudioprocess", None)]),
            ("osc.start(0);", [("AudioScheduledSourceNode.start", [0])]),
            ("an.getFloatFrequencyData(new Float32Array(1024));", [("AnalyserNode.getFloatFrequencyData", None)]),
            # no processor registered under that name: the constructor throws, after the call is recorded
            ("try { new AudioWorkletNode(ac, 'lab-processor'); } catch (e) {}",
             [("AudioWorkletNode.constructor", ["lab-processor"])]),
        ],
        "offlineAudioFamily": [
            ("var off = new OfflineAudioContext(1, 5000, 44100);",
             [("OfflineAudioContext.constructor", [1, 5000, 44100])]),
            ("var tone = off.createOscillator();", [("BaseAudioContext.createOscillator", None)]),
            ("tone.connect(off.destination);", [("BaseAudioContext.destination", None), ("AudioNode.connect", None)]),
            ("tone.start(0);", [("AudioScheduledSourceNode.start", [0])]),
            (f"off.startRendering().catch({_NOOP});", [("OfflineAudioContext.startRendering", None)]),
            ("off.createBuffer(1, 128, 44100).getChannelData(0);", [("AudioBuffer.getChannelData", [0])]),
        ],
    }},
    "webrtc": {"webrtc": {
        "webrtcFamily": [
            ("var pc = new RTCPeerConnection({iceServers: []});",
             [("RTCPeerConnection.constructor", [{"iceServers": []}])]),
            ("pc.createDataChannel('lab', {ordered: false, maxRetransmits: 2});",
             [("RTCPeerConnection.createDataChannel", ["lab", {"ordered": False, "maxRetransmits": 2}])]),
            (f"pc.onicecandidate = {_NOOP};", [("RTCPeerConnection.onicecandidate", None)]),
            (f"pc.createOffer({{offerToReceiveAudio: true}}).catch({_NOOP});",
             [("RTCPeerConnection.createOffer", [{"offerToReceiveAudio": True}])]),
            (f"pc.setLocalDescription({{type: 'rollback'}}).catch({_NOOP});",
             [("RTCPeerConnection.setLocalDescription", [{"type": "rollback"}])]),
            ("new RTCPeerConnectionIceEvent('icecandidate').candidate;",
             [("RTCPeerConnectionIceEvent.candidate", None)]),
        ],
    }},
    "canvas": {"canvas": {
        "canvasFamily": [
            ("var c = document.createElement('canvas'); c.width = 240; c.height = 60;", []),
            # an illegal constructor: it throws, after the call is recorded
            ("try { new HTMLCanvasElement(); } catch (e) {}", [("HTMLCanvasElement.constructor", None)]),
            ("var ctx = c.getContext('2d');", [("HTMLCanvasElement.getContext", ["2d", 240, 60])]),
            ("ctx.textBaseline = 'alphabetic';", [("CanvasRenderingContext2D.textBaseline", ["alphabetic"])]),
            ("ctx.textAlign = 'start';", [("CanvasRenderingContext2D.textAlign", ["start"])]),
            ("ctx.fillStyle = '#f60';", [("CanvasRenderingContext2D.fillStyle", ["#f60"])]),
            ("ctx.fillRect(125, 1, 62, 20);", [("CanvasRenderingContext2D.fillRect", [125, 1, 62, 20])]),
            ("ctx.font = '16px Arial';", [("CanvasRenderingContext2D.font", ["16px Arial"])]),
            ("ctx.fillText('Cwm fjordbank glyphs', 2, 15);",
             [("CanvasRenderingContext2D.fillText", ["Cwm fjordbank glyphs", 2, 15])]),
            ("ctx.strokeStyle = 'rgba(102, 204, 0, 0.7)';",
             [("CanvasRenderingContext2D.strokeStyle", ["rgba(102, 204, 0, 0.7)"])]),
            ("ctx.strokeText('vext quiz', 4, 45);", [("CanvasRenderingContext2D.strokeText", ["vext quiz", 4, 45])]),
            ("ctx.globalCompositeOperation = 'multiply';",
             [("CanvasRenderingContext2D.globalCompositeOperation", ["multiply"])]),
            ("ctx.beginPath(); ctx.arc(50, 50, 50, 0, Math.PI * 2, true); ctx.closePath();",
             [("CanvasRenderingContext2D.arc", [50, 50, 50])]),
            ("ctx.isPointInPath(5, 5, 'evenodd');", [("CanvasRenderingContext2D.isPointInPath", None)]),
            ("ctx.measureText('mmmmmmmmmmlli');",
             [("CanvasRenderingContext2D.measureText", ["mmmmmmmmmmlli", "16px Arial"])]),
            ("window.labDataUrl = c.toDataURL();", [("HTMLCanvasElement.toDataURL", [None, None, 240, 60])]),
            ("window.labPixels = ctx.getImageData(0, 0, 16, 16);",
             [("CanvasRenderingContext2D.getImageData", [0, 0, 16, 16])]),
            (f"c.toBlob({_NOOP}, 'image/jpeg', 0.5);", [("HTMLCanvasElement.toBlob", ["image/jpeg", 0.5, 240, 60])]),
        ],
        "offscreenFamily": [
            ("var oc = new OffscreenCanvas(64, 32);", []),
            ("var octx = oc.getContext('2d');", [("OffscreenCanvas.getContext", ["2d", 64, 32])]),
            ("octx.save();", [("OffscreenCanvasRenderingContext2D.save", None)]),
            ("octx.textBaseline = 'top';", [("OffscreenCanvasRenderingContext2D.textBaseline", ["top"])]),
            ("octx.fillStyle = '#069';", [("OffscreenCanvasRenderingContext2D.fillStyle", ["#069"])]),
            ("octx.fillRect(0, 0, 10, 10);", [("OffscreenCanvasRenderingContext2D.fillRect", [0, 0, 10, 10])]),
            ("octx.font = '12px monospace';", [("OffscreenCanvasRenderingContext2D.font", ["12px monospace"])]),
            ("octx.fillText('offscreen', 2, 2);",
             [("OffscreenCanvasRenderingContext2D.fillText", ["offscreen", 2, 2])]),
            ("octx.strokeText('offscreen', 2, 20);",
             [("OffscreenCanvasRenderingContext2D.strokeText", ["offscreen", 2, 20])]),
            ("octx.measureText('offscreen');",
             [("OffscreenCanvasRenderingContext2D.measureText", ["offscreen", "12px monospace"])]),
            ("octx.isPointInPath(1, 1);", [("OffscreenCanvasRenderingContext2D.isPointInPath", None)]),
            ("octx.restore();", [("OffscreenCanvasRenderingContext2D.restore", None)]),
            ("window.labOffscreenPixels = octx.getImageData(0, 0, 8, 8);",
             [("OffscreenCanvasRenderingContext2D.getImageData", [0, 0, 8, 8])]),
            (f"oc.convertToBlob({{type: 'image/png'}}).catch({_NOOP});", [("OffscreenCanvas.convertToBlob", [64, 32])]),
        ],
        "drawingStateFamily": [  # save/restore: an ordinary drawing's sign, kept apart from canvasFamily's script
            ("var plain = document.createElement('canvas').getContext('2d');",
             [("HTMLCanvasElement.getContext", ["2d", 300, 150])]),
            ("plain.save();", [("CanvasRenderingContext2D.save", None)]),
            ("plain.restore();", [("CanvasRenderingContext2D.restore", None)]),
        ],
    }},
    "webgl": {"webgl": {
        "webglFamily": [
            ("var gl = document.createElement('canvas').getContext('webgl');",
             [("HTMLCanvasElement.getContext", ["webgl", 300, 150])]),
            ("gl.getSupportedExtensions();", [("WebGLRenderingContext.getSupportedExtensions", None)]),
            ("gl.getExtension('WEBGL_debug_renderer_info');",
             [("WebGLRenderingContext.getExtension", ["WEBGL_debug_renderer_info"])]),
            ("gl.getParameter(37445);", [("WebGLRenderingContext.getParameter", ["UNMASKED_VENDOR_WEBGL"])]),
            ("gl.getParameter(gl.MAX_TEXTURE_SIZE);", [("WebGLRenderingContext.getParameter", ["MAX_TEXTURE_SIZE"])]),
            ("gl.getShaderPrecisionFormat(gl.FRAGMENT_SHADER, gl.HIGH_FLOAT);",
             [("WebGLRenderingContext.getShaderPrecisionFormat", ["FRAGMENT_SHADER", "HIGH_FLOAT"])]),
            ("gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, new Uint8Array(4));",
             [("WebGLRenderingContext.readPixels", [0, 0, 1, 1])]),
            ("gl.getContextAttributes();", [("WebGLRenderingContext.getContextAttributes", None)]),
        ],
        "webgl2Family": [
            ("var gl2 = document.createElement('canvas').getContext('webgl2');",
             [("HTMLCanvasElement.getContext", ["webgl2", 300, 150])]),
            ("gl2.getSupportedExtensions();", [("WebGL2RenderingContext.getSupportedExtensions", None)]),
            ("gl2.getExtension('EXT_color_buffer_float');",
             [("WebGL2RenderingContext.getExtension", ["EXT_color_buffer_float"])]),
            ("gl2.getParameter(gl2.MAX_SAMPLES);", [("WebGL2RenderingContext.getParameter", ["MAX_SAMPLES"])]),
            ("gl2.getShaderPrecisionFormat(gl2.VERTEX_SHADER, gl2.MEDIUM_INT);",
             [("WebGL2RenderingContext.getShaderPrecisionFormat", ["VERTEX_SHADER", "MEDIUM_INT"])]),
            ("gl2.readPixels(0, 0, 2, 2, gl2.RGBA, gl2.UNSIGNED_BYTE, new Uint8Array(16));",
             [("WebGL2RenderingContext.readPixels", [0, 0, 2, 2])]),
            ("gl2.getContextAttributes();", [("WebGL2RenderingContext.getContextAttributes", None)]),
        ],
    }},
    "fonts": {"fonts": {
        "fontsFamily": [
            ("document.fonts.check('12px Arial');", [("FontFaceSet.check", ["12px Arial", None])]),
            ("document.fonts.check('16px NoSuchFont', 'abc');", [("FontFaceSet.check", ["16px NoSuchFont", "abc"])]),
            ("var probe = document.createElement('span'); document.body.appendChild(probe);", []),
            ("probe.style.setProperty('font-family', 'Lab Sans, monospace');",
             [("CSSStyleDeclaration.setProperty", ["font-family", "Lab Sans, monospace"])]),
            ("probe.style.setProperty('fontFamily', 'Arial');",  # Tracker Radar Collector's form (no effect in CSS)
             [("CSSStyleDeclaration.setProperty", ["fontFamily", "Arial"])]),
            ("probe.style.setProperty('color', 'red');", []),  # not a font: not recorded
            ("probe.getClientRects();", [("Element.getClientRects", ["SPAN"])]),
            ("var m = document.createElement('canvas').getContext('2d');",
             [("HTMLCanvasElement.getContext", ["2d", 300, 150])]),
            *((statement, calls) for font in ("72px Arial", "72px monospace", "72px serif") for statement, calls in (
                (f"m.font = '{font}';", [("CanvasRenderingContext2D.font", [font])]),
                ("m.measureText('mmmmmmmmmmlli');",
                 [("CanvasRenderingContext2D.measureText", ["mmmmmmmmmmlli", font])]),
            )),
        ],
    }},
    "time": {"time": {
        "timeFamily": [
            ("Intl.DateTimeFormat().resolvedOptions();", [("Intl.DateTimeFormat.resolvedOptions", None)]),
            ("new Intl.DateTimeFormat('fr-FR').resolvedOptions().timeZone;",
             [("Intl.DateTimeFormat.resolvedOptions", None)]),
            ("new Date(0).getTimezoneOffset();", [("Date.getTimezoneOffset", None)]),
            ("new Date(0).getTime();", [("Date.getTime", None)]),
            ("performance.timing.navigationStart;", [("PerformanceTiming.navigationStart", None)]),
            ("var anim = new Animation();", []),
            ("anim.currentTime;", [("Animation.currentTime", None)]),
            ("anim.startTime;", [("Animation.startTime", None)]),
        ],
    }},
    "permissions": {"permissions": {
        "permissionsFamily": [
            (f"navigator.permissions.query({{name: 'geolocation'}}).catch({_NOOP});",
             [("Navigator.permissions", None), ("Permissions.query", [{"name": "geolocation"}])]),
            (f"navigator.permissions.query({{name: 'notifications'}}).catch({_NOOP});",
             [("Navigator.permissions", None), ("Permissions.query", [{"name": "notifications"}])]),
            ("Notification.permission;", [("Notification.permission", None)]),
            # headless: denied at once, without a prompt; the call is recorded all the same
            (f"Notification.requestPermission().catch({_NOOP});", [("Notification.requestPermission", None)]),
        ],
        "mediaFamily": [
            (f"navigator.mediaDevices.enumerateDevices().catch({_NOOP});",
             [("Navigator.mediaDevices", None), ("MediaDevices.enumerateDevices", None)]),
            # no camera or microphone: rejects with NotFoundError; the call is recorded all the same
            (f"navigator.mediaDevices.getUserMedia({{audio: true, video: false}}).catch({_NOOP});",
             [("Navigator.mediaDevices", None), ("MediaDevices.getUserMedia", [{"audio": True, "video": False}])]),
            ("document.createElement('video').canPlayType('video/mp4; codecs=\"avc1.42E01E\"');",
             [("HTMLMediaElement.canPlayType", ['video/mp4; codecs="avc1.42E01E"'])]),
            ("MediaSource.isTypeSupported('video/webm; codecs=\"vp9\"');",
             [("MediaSource.isTypeSupported", ['video/webm; codecs="vp9"'])]),
            ("speechSynthesis.getVoices();", [("SpeechSynthesis.getVoices", None)]),
        ],
    }},
    "sensors": {"sensors": {
        "sensorsFamily": [
            (f"navigator.getBattery().catch({_NOOP});", [("Navigator.getBattery", None)]),
            *((f"new {sensor}({{frequency: 10}});", [(f"{sensor}.constructor", None)]) for sensor in _SENSORS),
            *((f"typeof {absent} === 'function' && new {absent}();", []) for absent in ABSENT),
            (f"window.ondeviceorientation = {_NOOP};", [("Window.ondeviceorientation", None)]),
            (f"window.ondevicemotion = {_NOOP};", [("Window.ondevicemotion", None)]),
        ],
        "motionFamily": [
            ("var gyro = new Gyroscope();", [("Gyroscope.constructor", None)]),
            *(_get(f"gyro.{axis};", "Gyroscope") for axis in ("x", "y", "z")),
            ("gyro.start();", [("Sensor.start", None)]),
            ("gyro.stop();", []),
            ("var orientation = new DeviceOrientationEvent('deviceorientation', {alpha: 10});", []),
            *(_get(f"orientation.{p};", "DeviceOrientationEvent") for p in ("alpha", "beta", "gamma", "absolute")),
            ("var motion = new DeviceMotionEvent('devicemotion');", []),
            *(_get(f"motion.{p};", "DeviceMotionEvent") for p in (
                "acceleration", "accelerationIncludingGravity", "rotationRate")),
        ],
    }},
    "events": {"events": {
        "eventsFamily": [
            ("var key = new KeyboardEvent('keydown', {code: 'KeyQ', keyCode: 81});", []),
            ("key.code;", [("KeyboardEvent.code", None)]),
            ("key.keyCode;", [("KeyboardEvent.keyCode", None)]),
            ("key.timeStamp;", [("Event.timeStamp", None)]),
            ("var wheel = new WheelEvent('wheel', {deltaY: 120});", []),
            *(_get(f"wheel.{p};", "WheelEvent") for p in ("deltaX", "deltaY", "deltaZ")),
            ("var touch = new Touch({identifier: 1, target: document.body, force: 0.5});", []),
            *(_get(f"touch.{p};", "Touch") for p in ("force", "radiusX", "radiusY", "rotationAngle")),
            ("new TouchEvent('touchstart', {touches: [touch]});", [("TouchEvent.constructor", ["touchstart"])]),
        ],
    }},
    "storage": {"storage": {
        "storageFamily": [
            ("localStorage.setItem('lab_key', 'a secret value');",
             [("Window.localStorage", None), ("Storage.setItem", ["lab_key"])]),
            ("localStorage.getItem('lab_key');", [("Window.localStorage", None), ("Storage.getItem", ["lab_key"])]),
            ("sessionStorage.getItem('lab_session');",
             [("Window.sessionStorage", None), ("Storage.getItem", ["lab_session"])]),
            ("indexedDB.open('lab_db', 1);", [("Window.indexedDB", None), ("IDBFactory.open", ["lab_db"])]),
            ("typeof openDatabase === 'function' && openDatabase('lab', '1.0', 'lab', 1024);", []),  # gone
        ],
        "messagingFamily": [
            ("var channel = new BroadcastChannel('lab_channel');", [("BroadcastChannel.constructor", ["lab_channel"])]),
            ("channel.close();", []),
            (f"new SharedWorker('{WORKER_PATH}', {{name: 'lab_worker'}});",
             [("SharedWorker.constructor", [WORKER_PATH, {"name": "lab_worker"}])]),
            ("URL.revokeObjectURL(URL.createObjectURL(new Blob(['lab'])));", [("URL.createObjectURL", None)]),
        ],
        # before cookieStoreFamily, whose writes a later read would see: this read sees exactly lab_id
        "cookieFamily": [
            ("document.cookie = 'lab_id=s3cr3t; path=/';", []),  # a write: the cookies table's business
            ("document.cookie;", [("Document.cookie", None)]),
        ],
        "cookieStoreFamily": [
            (f"cookieStore.get('lab_id').catch({_NOOP});",
             [("Window.cookieStore", None), ("CookieStore.get", ["lab_id"])]),
            (f"cookieStore.getAll({{name: 'lab_id'}}).catch({_NOOP});",
             [("Window.cookieStore", None), ("CookieStore.getAll", [{"name": "lab_id"}])]),
            (f"cookieStore.set('lab_store', '1').catch({_NOOP});",
             [("Window.cookieStore", None), ("CookieStore.set", ["lab_store"])]),
            (f"cookieStore.set({{name: 'lab_object', value: '2'}}).catch({_NOOP});",
             [("Window.cookieStore", None), ("CookieStore.set", [{"name": "lab_object"}])]),
        ],
    }},
    "beacon": {"beacon": {
        "beaconFamily": [
            ("navigator.sendBeacon('/beacon', 'x');", [("Navigator.sendBeacon", ["/beacon"])]),
            ("navigator.sendBeacon('/beacon?blob=1', new Blob(['y']));",
             [("Navigator.sendBeacon", ["/beacon?blob=1"])]),
            ("typeof document.interestCohort === 'function' && document.interestCohort();", []),  # FLoC: gone
        ],
    }},
    # one script per kind of listening (which script listens to what), every LISTENED_EVENTS type once
    "listeners": {
        "listeners-input": {"inputListeners": [
            _listen("field", "input", "INPUT"), _listen("field", "change", "INPUT"),
            _listen("field", "beforeinput", "INPUT"), _listen("field", "compositionend", "INPUT"),
            _listen("document", "keydown", "#document"), _listen("document", "keyup", "#document"),
            _listen("window", "keypress", "window"), _listen("field", "focusin", "INPUT")]},
        "listeners-mouse": {"mouseListeners": [
            _listen("window", "mousemove", "window"), _listen("document", "mousedown", "#document"),
            _listen("document", "mouseup", "#document"), _listen("document.body", "click", "BODY"),
            _listen("window", "pointermove", "window"), _listen("document", "pointerdown", "#document"),
            _listen("document", "pointerup", "#document"), _listen("window", "wheel", "window"),
            _listen("window", "scroll", "window"), _listen("document", "contextmenu", "#document")]},
        "listeners-touch": {"touchListeners": [
            _listen("document", "touchstart", "#document"), _listen("document", "touchmove", "#document"),
            _listen("document", "touchend", "#document")]},
        "listeners-clipboard": {"clipboardListeners": [
            _listen("document", "copy", "#document"), _listen("document", "cut", "#document"),
            _listen("field", "paste", "INPUT")]},
        "listeners-visibility": {"visibilityListeners": [
            _listen("document", "visibilitychange", "#document"), _listen("window", "pagehide", "window"),
            _listen("window", "blur", "window"), _listen("window", "focus", "window"),
            _listen("window", "load", "window")]},
        "listeners-device": {"deviceListeners": [
            _listen("window", "deviceorientation", "window"), _listen("window", "deviceorientationabsolute", "window"),
            _listen("window", "devicemotion", "window")]},
    },
}


def script_path(script: str) -> str:
    return f"/static/{script}.js"


def _script(functions: dict[str, list[Statement]], expected: dict[tuple[str, str], dict], path: str) -> str:
    """A script's source, adding what it must be seen doing to `expected`: (path, API) -> {lines, functions,
    arguments (JSON strings), calls}."""
    lines = ['"use strict";', "var field = document.getElementById('field');"]
    for function, statements in functions.items():
        lines.append(f"function {function}() {{")
        for statement, calls in statements:
            lines.append("  " + statement)
            for api, arguments in calls:
                row = expected.setdefault((path, api), {"lines": set(), "functions": set(), "arguments": set(),
                                                        "calls": 0})
                row["lines"].add(len(lines))
                row["functions"].add(function)
                row["calls"] += 1
                if arguments is not None:
                    row["arguments"].add(json.dumps(arguments))
        lines.append("}")
    for function in functions:
        lines.append(f"try {{ {function}(); }} catch (e) {{ window.labErrors = (window.labErrors || []).concat("
                     f"['{function}: ' + e]); }}")
    return "\n".join(lines) + "\n"


def _build() -> tuple[dict[str, str], dict[tuple[str, str], dict]]:
    sources, expected = {}, {}
    for scripts in PAGES.values():
        for script, functions in scripts.items():
            sources[script_path(script)] = _script(functions, expected, script_path(script))
    # a js_calls row shows at most ROW_LIMIT argument lists and call sites: exact expectations must fit in one
    assert all(len(row["lines"]) <= ROW_LIMIT and len(row["arguments"]) <= ROW_LIMIT for row in expected.values())
    return sources, expected


SOURCES, EXPECTED_CALLS = _build()
SOURCES[WORKER_PATH] = "onconnect = function () {};\n"
PAGE_OF: dict[str, str] = {script_path(script): page for page, scripts in PAGES.items() for script in scripts}
REPORTED.update((page, threading.Event()) for page in PAGES)

PROBE = r"""<script>
(function () {
  "use strict";
  var apis = __APIS__, page = __PAGE__;
  var toString = Function.prototype.toString, gopd = Object.getOwnPropertyDescriptor;
  var names = Object.getOwnPropertyNames, symbols = Object.getOwnPropertySymbols, getProto = Object.getPrototypeOf;
  var notNative = [], entries = {}, holders = {}, absent = [];
  function kind(v) { return v === undefined ? "undefined" : typeof v; }
  function describe(d) {
    if (!d) return null;
    var out = {configurable: d.configurable, enumerable: d.enumerable};
    if ("value" in d) { out.writable = d.writable; out.value = kind(d.value); }
    else { out.get = kind(d.get); out.set = kind(d.set); }
    return out;
  }
  function fnFacts(fn) {
    var source = toString.call(fn);
    return {source: source, name: fn.name, length: fn.length, own: names(fn).sort(), symbols: symbols(fn).length,
            proto: getProto(fn) === Function.prototype, extensible: Object.isExtensible(fn),
            prototype: describe(gopd(fn, "prototype"))};
  }
  function holderFacts(label, h) {
    if (!(label in holders)) holders[label] = {own: names(h).sort(), symbols: symbols(h).length,
                                               extensible: Object.isExtensible(h)};
  }
  apis.forEach(function (api, index) {
    var candidates = api[0], member = api[1], how = api[2], found = false;
    for (var n = 0; n < candidates.length && !found; n++) {
      var owner = window;
      candidates[n].split(".").forEach(function (part) { owner = owner == null ? undefined : owner[part]; });
      var isStatic = how === "static" || how === "static-get";
      if (typeof owner !== "function" && !(isStatic && typeof owner === "object" && owner !== null)) continue;
      var label = index + ":" + candidates[n] + "." + (member || "constructor") + ":" + how, fn = null, d = null;
      if (how === "constructor") { fn = owner; d = gopd(window, candidates[n]); }
      else {
        var holders_ = isStatic ? [[candidates[n], owner]]
          : candidates[n] === "Window" ? [["window", window], ["Window.prototype", owner.prototype]]
          : [[candidates[n] + ".prototype", owner.prototype]];
        for (var h = 0; h < holders_.length && !fn; h++) {
          d = gopd(holders_[h][1], member);
          if (!d) continue;
          fn = how === "get" || how === "static-get" ? d.get : how === "set" ? d.set : d.value;
          if (holders_[h][0] !== "window") holderFacts(holders_[h][0], holders_[h][1]);
        }
      }
      if (typeof fn !== "function") continue;
      found = true;
      if (!/^function [^(]*\(\) \{ \[native code\] \}$/.test(toString.call(fn))) notNative.push(label);
      entries[label] = {descriptor: describe(d), fn: fnFacts(fn)};
    }
    if (!found) absent.push(api[3]);
  });
  // How pages tell that DevTools' Runtime domain is on: console.debug of an error makes the inspector read its
  // stack (Playwright turns Runtime on as well, so a bare Playwright visit shows what it shows).
  var stackRead = false, bait = new Error("bait");
  Object.defineProperty(bait, "stack", {configurable: true, get: function () { stackRead = true; return ""; }});
  console.debug(bait);
  var facts = {
    entries: entries, holders: holders, absent: absent,
    globals: names(window).sort(),
    function_to_string: [toString.call(toString), toString.call(Function.prototype.call),
                         toString.call(Object.getOwnPropertyDescriptor), toString.call(Reflect.apply)],
    error: {limit: Error.stackTraceLimit, prepare: "prepareStackTrace" in Error,
            capture: toString.call(Error.captureStackTrace), own: names(Error).sort()},
    console_reads_stack: stackRead
  };
  // A `debugger` statement is a no-op without DevTools. Under the crawler page scripts are ignore-listed, so it
  // does not pause either; a pause is only visible as time, which tests never assert: not part of the facts.
  debugger;
  Function("debugger")();
  var text = JSON.stringify(facts);
  var pixels = window.labPixels ? Array.prototype.slice.call(window.labPixels.data) : null;
  var offscreen = window.labOffscreenPixels ? Array.prototype.slice.call(window.labOffscreenPixels.data) : null;
  crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)).then(function (hash) {
    var digest = Array.prototype.map.call(new Uint8Array(hash), function (b) {
      return (b < 16 ? "0" : "") + b.toString(16); }).join("");
    return fetch("/report", {method: "POST", body: JSON.stringify({
      page: page, digest: digest, facts: facts, checked: Object.keys(entries).length, not_native: notNative,
      errors: window.labErrors || [], data_url: window.labDataUrl || null, pixels: pixels,
      offscreen_pixels: offscreen})});
  });
})();
</script>"""


def _page(page: str) -> str:
    catalogue = json.dumps([[list(a.interfaces), a.member, a.kind, a.name] for a in APIS])
    scripts = "".join(f'<script src="{script_path(script)}"></script>' for script in PAGES[page])
    probe = PROBE.replace("__APIS__", catalogue).replace("__PAGE__", json.dumps(page))
    return (f"<!doctype html><html><head><title>API family: {page}</title></head><body>"
            f'<input id="field" name="field">{scripts}{probe}</body></html>')


def _family_route(page: str) -> None:
    @SITE.route(f"/{page}", ["GET"])
    def family(req: Request) -> Response:
        return Response.html(_page(page))


for _family in PAGES:
    _family_route(_family)


@SITE.route("/static/<name>", ["GET"])
def script(req: Request) -> Response:
    source = SOURCES.get(req.path)
    return Response.js(source) if source is not None else Response.text("not found", status=404)


@SITE.route("/report", ["POST"])
def report(req: Request) -> Response:
    body = req.json()
    REPORTS.append(body)
    if isinstance(body, dict) and body.get("page") in REPORTED:
        REPORTED[body["page"]].set()
    return Response.empty(204)


@SITE.route("/beacon", ["POST"])
def beacon(req: Request) -> Response:
    return Response.empty(204)
