"""Fingerprinting APIs and the published thresholds that turn a script's API use into flags.

`APIS` is the catalogue the browser crawl instruments (one DevTools breakpoint per entry), the union of what
OpenWPM, Blacklight and Tracker Radar Collector watch: canvas drawing, text and read-back, canvas fonts, WebGL,
the Web Audio graph, navigator and screen properties, the window's geometry and name, memory, clocks, fonts
(with style font families and element boxes), WebRTC, battery, sensors and device events read, input events read,
media, permissions and speech capabilities, time zone, storage, cross-context messaging, beacons, `document.cookie`
reads and `addEventListener` for the event types that tell key logging, session recording and device probing
(`LISTENED_EVENTS`). Entries this Chromium does not expose (WebSQL's `openDatabase`, FLoC's `interestCohort`, two
sensors) stay catalogued: the recorder finds no function for them and arms nothing. Each entry says which
arguments are worth keeping (and which fields of a dictionary argument), what about the receiver matters (a
canvas's size, a context's font, a listener's target) and what about the result (`Api.returns`). One entry is not
for `js_calls`: the `document.cookie` setter, whose writes the cookies collector reads.

`script_flags(uses)` applies the thresholds to one script's calls in one visit, as `scripts` columns:

- canvas fingerprinting (Englehardt & Narayanan 2016, as Blacklight applies them): the script reads an image
  back (`toDataURL`/`toBlob` of a canvas at least 16x16 px in a lossless format, or `getImageData` of an area
  at least 16x16 px), has drawn text with at least 10 distinct characters or used at least 2 colours, and never
  called `save`/`restore` (the paper's sign of an ordinary drawing). Their fourth rule, no `addEventListener`
  on the canvas, is not applied: only listeners of `LISTENED_EVENTS` types are recorded (recording every
  `addEventListener` of a page with its stack costs too much).
- canvas-font fingerprinting: at least 50 distinct `font` values set and at least 50 `measureText` calls.
- WebGL fingerprinting: reads `UNMASKED_VENDOR_WEBGL`/`UNMASKED_RENDERER_WEBGL` (from
  `WEBGL_debug_renderer_info`), or asks `getParameter` for at least 20 distinct parameters.
- audio fingerprinting: an `OfflineAudioContext` with an oscillator or compressor whose rendering is read
  (`startRendering` or `getChannelData`); or an `AudioContext` oscillator read through an analyser.
- navigator/screen enumeration: how many distinct Navigator / Screen properties the script read.

`caller_script(frames)` names the script of a call from the caller frames of a JavaScript stack trace, and
`call_site(frames)` its line, column and function (js_calls.call_sites); `shown_value` names WebGL enums.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

CANVAS_MIN_SIZE = 16  # px, both sides, of a canvas read back or an getImageData area
TEXT_MIN_DISTINCT_CHARS = 10
MIN_COLOURS = 2
FONT_MIN_DISTINCT = 50
MEASURE_TEXT_MIN_CALLS = 50
WEBGL_MIN_PARAMETERS = 20
UNMASKED_VENDOR_WEBGL = 0x9245
UNMASKED_RENDERER_WEBGL = 0x9246
LOSSY_TYPES = frozenset({"image/jpeg", "image/jpg", "image/webp"})


@dataclass(frozen=True)
class Api:
    """One instrumented API member.

    `name` is what `js_calls.api` says (Interface.member; `Interface.constructor` for `new Interface()`).
    The function is found at document start from `interfaces` (candidate global names, the first that exists
    wins: `WorkerNavigator` in workers), `member` and `kind`: `method` (on the prototype; on the global object
    itself for `Window`), `static` (on the interface object), `constructor`, an accessor (`get`/`set`, on the
    prototype or the global object) or `static-get` (an accessor of the interface object: Notification.permission;
    or of a namespace object, for `static` and `static-get` only: console.memory).
    `keep` lists argument indexes recorded, strings cut to `cut` characters (the recorder's default when None).
    An object argument is kept as `{field: value}` for the own data properties named in `fields` (getters are
    never run), an array as its first elements; anything else as its type.
    `receiver` adds something about the receiver: `canvas`/`offscreen` (its width and height, for read-backs),
    `font` (the 2D context's current font, for measureText) or `target` (`window`, `#document` or the element's
    node name, for addEventListener). `returns` records something about the result, computed by calling the
    pristine function again with the same primitive arguments (never with objects: their conversion would run
    page code): `hash` (SHA-256 of a string result, toDataURL), `pixels` (SHA-256 of an ImageData's bytes,
    getImageData) or `cookie-names` (the names in a `document.cookie` string, never the values).
    `only` restricts recording to calls whose first argument is one of these strings (addEventListener: the
    event types that tell key logging, session recording and device probing; other listeners are not counted).
    `js_calls` is False for an API recorded for another table than `js_calls`.
    """

    name: str
    group: str
    interfaces: tuple[str, ...]
    member: str = ""
    kind: str = "method"  # method | static | constructor | get | set | static-get
    keep: tuple[int, ...] = ()
    receiver: str | None = None
    cut: int | None = None
    js_calls: bool = True
    fields: tuple[str, ...] = ()
    returns: str | None = None
    only: tuple[str, ...] = ()

    @property
    def operation(self) -> str:
        """`js_calls.operation`: call, get or set."""
        return {"get": "get", "set": "set", "static-get": "get"}.get(self.kind, "call")

    @property
    def accessor(self) -> bool:
        return self.kind in ("get", "set", "static-get")


def _api(name: str, group: str, kind: str = "method", keep: tuple[int, ...] = (), receiver: str | None = None,
         interfaces: tuple[str, ...] | None = None, **extra: Any) -> Api:
    interface, _, member = name.rpartition(".")
    if kind == "constructor":
        interface, member = name.removesuffix(".constructor"), ""
    return Api(name, group, interfaces or (interface,), member, kind, keep, receiver, **extra)


_NAV = ("Navigator", "WorkerNavigator")
_WINDOW_GEOMETRY = ("innerWidth", "innerHeight", "outerWidth", "outerHeight", "screenX", "screenY", "screenLeft",
                    "screenTop")
_CTX2D = ("CanvasRenderingContext2D", "OffscreenCanvasRenderingContext2D")
_GL = ("WebGLRenderingContext", "WebGL2RenderingContext")


def _both(member: str, group: str, kind: str = "method", keep: tuple[int, ...] = (),
          families: tuple[str, ...] = _CTX2D, **extra: Any) -> list[Api]:
    """The same member on a family of interfaces (2D and offscreen 2D contexts, WebGL 1 and 2)."""
    return [_api(f"{family}.{member}", group, kind, keep, **extra) for family in families]


# Event types whose listeners say what a script watches (Blacklight's key logging and session recording evidence):
# input, keyboard, mouse, touch, clipboard, visibility and device events.
LISTENED_EVENTS = (
    "input", "change", "beforeinput", "keydown", "keyup", "keypress", "compositionend",
    "mousemove", "mousedown", "mouseup", "click", "pointermove", "pointerdown", "pointerup", "wheel", "scroll",
    "touchstart", "touchmove", "touchend", "copy", "cut", "paste", "visibilitychange", "pagehide", "blur", "focus",
    "deviceorientation", "deviceorientationabsolute", "devicemotion")

APIS: tuple[Api, ...] = (
    # canvas: drawing and read-back
    _api("HTMLCanvasElement.toDataURL", "canvas", keep=(0, 1), receiver="canvas", returns="hash"),
    _api("HTMLCanvasElement.toBlob", "canvas", keep=(1, 2), receiver="canvas"),
    _api("HTMLCanvasElement.getContext", "canvas", keep=(0,), receiver="canvas"),
    # `new HTMLCanvasElement()` (an illegal constructor: it throws) and a customized built-in's `super()`;
    # document.createElement("canvas") never calls it (Tracker Radar Collector watches it all the same)
    _api("HTMLCanvasElement.constructor", "canvas", "constructor"),
    _api("OffscreenCanvas.convertToBlob", "canvas", receiver="offscreen"),
    _api("OffscreenCanvas.getContext", "canvas", keep=(0,), receiver="offscreen"),
    *_both("getImageData", "canvas", keep=(0, 1, 2, 3), returns="pixels"),
    *_both("fillText", "canvas", keep=(0, 1, 2)),
    *_both("strokeText", "canvas", keep=(0, 1, 2)),
    *_both("fillRect", "canvas", keep=(0, 1, 2, 3)),
    _api("CanvasRenderingContext2D.arc", "canvas", keep=(0, 1, 2)),
    *_both("fillStyle", "canvas", "set", keep=(0,)),
    _api("CanvasRenderingContext2D.strokeStyle", "canvas", "set", keep=(0,)),
    *_both("textBaseline", "canvas", "set", keep=(0,)),
    _api("CanvasRenderingContext2D.textAlign", "canvas", "set", keep=(0,)),
    _api("CanvasRenderingContext2D.globalCompositeOperation", "canvas", "set", keep=(0,)),
    *_both("save", "canvas"),
    *_both("restore", "canvas"),
    *_both("isPointInPath", "canvas"),
    # canvas fonts (measureText with the context's font at the time)
    *_both("font", "canvas-font", "set", keep=(0,)),
    *_both("measureText", "canvas-font", keep=(0,), receiver="font"),
    # WebGL (getParameter's enum is named in js_calls.arguments: WEBGL_ENUMS)
    *_both("getParameter", "webgl", keep=(0,), families=_GL),
    *_both("getExtension", "webgl", keep=(0,), families=_GL),
    *_both("getSupportedExtensions", "webgl", families=_GL),
    *_both("getShaderPrecisionFormat", "webgl", keep=(0, 1), families=_GL),
    *_both("readPixels", "webgl", keep=(0, 1, 2, 3), families=_GL),
    *_both("getContextAttributes", "webgl", families=_GL),
    # audio: contexts, the graph and its rendering
    _api("OfflineAudioContext.constructor", "audio", "constructor", keep=(0, 1, 2)),
    _api("AudioContext.constructor", "audio", "constructor"),
    _api("BaseAudioContext.createOscillator", "audio"),
    _api("BaseAudioContext.createDynamicsCompressor", "audio"),
    _api("BaseAudioContext.createAnalyser", "audio"),
    _api("BaseAudioContext.createGain", "audio"),
    _api("BaseAudioContext.createScriptProcessor", "audio", keep=(0, 1, 2)),
    _api("BaseAudioContext.destination", "audio", "get"),
    _api("AudioNode.connect", "audio"),
    _api("AudioScheduledSourceNode.start", "audio", keep=(0,)),
    _api("OscillatorNode.type", "audio", "set", keep=(0,)),
    _api("GainNode.gain", "audio", "get"),
    _api("ScriptProcessorNode.onaudioprocess", "audio", "set"),
    _api("OfflineAudioContext.startRendering", "audio"),
    _api("AudioBuffer.getChannelData", "audio", keep=(0,)),
    _api("AnalyserNode.getFloatFrequencyData", "audio"),
    _api("AudioWorkletNode.constructor", "audio", "constructor", keep=(1,)),  # the processor's name
    # navigator properties (WorkerNavigator in workers where it has them). Each accessor breakpoint costs
    # about a millisecond or more to set in every new renderer process: see docs/crawl-detectors.md.
    *(_api(f"Navigator.{member}", "navigator", "get", interfaces=_NAV) for member in (
        "userAgent", "platform", "vendor", "language", "languages", "hardwareConcurrency", "deviceMemory",
        "userAgentData", "connection", "appName", "appCodeName", "appVersion", "product", "onLine")),
    *(_api(f"Navigator.{member}", "navigator", "get") for member in (
        "plugins", "mimeTypes", "doNotTrack", "cookieEnabled", "maxTouchPoints", "webdriver", "pdfViewerEnabled",
        "productSub", "vendorSub", "geolocation")),
    # gateways to capability APIs (Tracker Radar Collector's list); mediaCapabilities, permissions and storage
    # are in workers too
    *(_api(f"Navigator.{member}", "navigator", "get", interfaces=_NAV) for member in (
        "mediaCapabilities", "permissions", "storage")),
    *(_api(f"Navigator.{member}", "navigator", "get") for member in (
        "mediaDevices", "keyboard", "presentation", "webkitPersistentStorage", "webkitTemporaryStorage")),
    _api("NavigatorUAData.brands", "navigator", "get"),
    _api("NavigatorUAData.platform", "navigator", "get"),
    _api("Navigator.javaEnabled", "navigator"),
    _api("Navigator.getGamepads", "navigator"),
    _api("Navigator.requestMediaKeySystemAccess", "navigator", keep=(0,)),
    _api("NavigatorUAData.getHighEntropyValues", "navigator", keep=(0,)),
    _api("Geolocation.getCurrentPosition", "navigator", keep=(2,),
         fields=("enableHighAccuracy", "timeout", "maximumAge")),
    _api("Geolocation.watchPosition", "navigator", keep=(2,), fields=("enableHighAccuracy", "timeout", "maximumAge")),
    # screen and window geometry
    *(_api(f"Screen.{member}", "screen", "get") for member in (
        "width", "height", "availWidth", "availHeight", "availLeft", "availTop", "colorDepth", "pixelDepth",
        "orientation", "isExtended")),
    _api("Window.devicePixelRatio", "screen", "get"),
    _api("Window.matchMedia", "screen", keep=(0,)),
    # the window's size and position, its name (can link two tabs) and whether its bars show: their own group,
    # so `screen_properties` still counts Screen properties (layout code reads innerWidth all the time)
    *(_api(f"Window.{member}", "window", "get") for member in _WINDOW_GEOMETRY),
    _api("Window.name", "window", "get"),
    _api("BarProp.visible", "window", "get"),
    # memory available to JavaScript (not navigator.deviceMemory); console.memory is a namespace's accessor
    _api("Performance.memory", "memory", "get"),
    _api("console.memory", "memory", "static-get"),
    # clocks: the current time and the page's own timeline (Tracker Radar Collector: the time zone can be
    # worked out from getTime; behavioural fingerprinting times events)
    _api("Date.getTime", "timing"),
    _api("PerformanceTiming.navigationStart", "timing", "get"),
    _api("Event.timeStamp", "timing", "get"),
    _api("Animation.currentTime", "timing", "get"),
    _api("Animation.startTime", "timing", "get"),
    # input events read (behavioural fingerprinting, keyboard layout), and touch support tested
    _api("KeyboardEvent.code", "input", "get"),
    _api("KeyboardEvent.keyCode", "input", "get"),
    *(_api(f"Touch.{member}", "input", "get") for member in ("force", "radiusX", "radiusY", "rotationAngle")),
    *(_api(f"WheelEvent.{member}", "input", "get") for member in ("deltaX", "deltaY", "deltaZ")),
    _api("TouchEvent.constructor", "input", "constructor", keep=(0,)),
    # fonts, WebRTC, battery, sensors, media capabilities, speech, permissions, time zone
    _api("FontFaceSet.check", "fonts", keep=(0, 1)),
    # font probing through an element's style and its boxes (the receiver: the element's node name)
    _api("CSSStyleDeclaration.setProperty", "fonts", keep=(0, 1),
         only=("font-family", "fontFamily", "fontfamily", "font")),
    _api("Element.getClientRects", "fonts", receiver="target"),
    _api("RTCPeerConnection.constructor", "webrtc", "constructor", keep=(0,), fields=("iceServers", "iceTransportPolicy")),
    _api("RTCPeerConnection.createDataChannel", "webrtc", keep=(0, 1),
         fields=("ordered", "maxRetransmits", "maxPacketLifeTime", "protocol", "negotiated", "id")),
    _api("RTCPeerConnection.createOffer", "webrtc", keep=(0,),
         fields=("offerToReceiveAudio", "offerToReceiveVideo", "iceRestart", "voiceActivityDetection")),
    _api("RTCPeerConnection.setLocalDescription", "webrtc", keep=(0,), fields=("type",)),
    _api("RTCPeerConnection.onicecandidate", "webrtc", "set"),
    _api("RTCPeerConnectionIceEvent.candidate", "webrtc", "get"),  # where local addresses leak
    _api("Navigator.getBattery", "battery"),
    *(_api(f"{sensor}.constructor", "sensors", "constructor") for sensor in (
        "Accelerometer", "LinearAccelerationSensor", "GravitySensor", "Gyroscope", "Magnetometer",
        "AbsoluteOrientationSensor", "RelativeOrientationSensor", "AmbientLightSensor")),
    _api("Window.ondeviceorientation", "sensors", "set"),
    _api("Window.ondevicemotion", "sensors", "set"),
    _api("Sensor.start", "sensors"),
    *(_api(f"Gyroscope.{axis}", "sensors", "get") for axis in ("x", "y", "z")),
    *(_api(f"DeviceOrientationEvent.{member}", "sensors", "get") for member in ("alpha", "beta", "gamma",
                                                                                "absolute")),
    *(_api(f"DeviceMotionEvent.{member}", "sensors", "get") for member in (
        "acceleration", "accelerationIncludingGravity", "rotationRate")),
    _api("MediaDevices.enumerateDevices", "media"),
    _api("MediaDevices.getUserMedia", "media", keep=(0,), fields=("audio", "video")),
    _api("HTMLMediaElement.canPlayType", "media", keep=(0,)),
    _api("MediaSource.isTypeSupported", "media", "static", keep=(0,)),
    _api("Permissions.query", "media", keep=(0,), fields=("name",)),
    _api("Notification.permission", "media", "static-get"),
    _api("Notification.requestPermission", "media", "static"),
    _api("SpeechSynthesis.getVoices", "media"),
    _api("Intl.DateTimeFormat.resolvedOptions", "timezone"),
    _api("Date.getTimezoneOffset", "timezone"),
    # storage and beacons: which scripts use which storage (names only: never a stored value)
    _api("Window.localStorage", "storage", "get"),
    _api("Window.sessionStorage", "storage", "get"),
    _api("Window.indexedDB", "storage", "get"),
    _api("IDBFactory.open", "storage", keep=(0,)),
    _api("Storage.getItem", "storage", keep=(0,)),
    _api("Storage.setItem", "storage", keep=(0,)),
    _api("Window.cookieStore", "storage", "get"),
    _api("CookieStore.get", "storage", keep=(0,), fields=("name",)),
    _api("CookieStore.getAll", "storage", keep=(0,), fields=("name",)),
    _api("CookieStore.set", "storage", keep=(0,), fields=("name",)),
    _api("Window.openDatabase", "storage", keep=(0,)),  # WebSQL: gone from Chromium (119), still watched
    # talking to other tabs and contexts (Tracker Radar Collector's list): channel and worker names kept
    _api("SharedWorker.constructor", "messaging", "constructor", keep=(0, 1), fields=("name", "type")),
    _api("BroadcastChannel.constructor", "messaging", "constructor", keep=(0,)),
    _api("URL.createObjectURL", "messaging", "static"),
    _api("Navigator.sendBeacon", "beacon", keep=(0,)),
    _api("Document.interestCohort", "cohort"),  # FLoC: gone from Chromium (101), still watched
    # which script reads which cookies: the names in the string document.cookie returned
    _api("Document.cookie", "cookies", "get", returns="cookie-names"),
    # which script listens to what (key logging, session recording, device probing)
    _api("EventTarget.addEventListener", "listeners", keep=(0,), receiver="target", only=LISTENED_EVENTS),
    # Not fingerprinting: a script's cookie writes, for the `cookies` table (crawler/collectors/cookies.py). Whole
    # strings: a cookie's name and value may take 4096 bytes, its attributes more.
    Api("Document.cookie", "cookies", ("Document",), "cookie", "set", keep=(0,), cut=8192, js_calls=False),
)
COOKIE_WRITE = len(APIS) - 1  # index of the document.cookie setter in APIS
# index of the document.cookie getter: its ApiUse.returned holds "name;name" strings, the cookie names each
# read saw (RecordFingerprinting.recorded_calls(visit, COOKIE_READ): which scripts read which cookies)
COOKIE_READ = next(i for i, api in enumerate(APIS) if api.name == "Document.cookie" and api.kind == "get")

BY_NAME: dict[str, Api] = {api.name: api for api in APIS if api.js_calls}


# --- one script's use of the APIs ------------------------------------------------------------------------------

MAX_SITES = 50  # distinct call sites (caller stacks) kept per script, frame and API
MAX_RETURNED = 20  # distinct return summaries (hashes, cookie-name lists) kept per script, frame and API


@dataclass
class ApiUse:
    """What one script did with one API in one visit: how often, the distinct argument lists recorded, where
    from (call sites: caller stack -> calls) and what came back (`Api.returns` summaries)."""

    calls: int = 0
    values: list[tuple] = field(default_factory=list)
    first_ms: int | None = None
    value_ms: dict[tuple, int] = field(default_factory=dict)  # when each argument list was first seen, if known
    sites: dict[str, int] = field(default_factory=dict)  # caller frames (V8 stack lines) -> calls
    returned: list[Any] = field(default_factory=list)

    def add(self, calls: int, values: Iterable[Iterable] = (), time_ms: int | None = None,
            max_values: int = 256, value_ms: Mapping[tuple, int] | None = None, site: str | None = None,
            returned: Iterable[Any] = ()) -> None:
        self.calls += calls
        known = set(self.values)
        for value in values:
            value = tuple(value)
            if value not in known and len(self.values) < max_values:
                known.add(value)
                self.values.append(value)
        for value, ms in (value_ms or {}).items():
            if value in known and (value not in self.value_ms or ms < self.value_ms[value]):
                self.value_ms[value] = ms
        if time_ms is not None and (self.first_ms is None or time_ms < self.first_ms):
            self.first_ms = time_ms
        if site and (site in self.sites or len(self.sites) < MAX_SITES):
            self.sites[site] = self.sites.get(site, 0) + calls
        for item in returned:
            if item not in self.returned and len(self.returned) < MAX_RETURNED:
                self.returned.append(item)


Uses = Mapping[str, ApiUse]  # API name -> use, for one script


def _members(uses: Uses, member: str, families: tuple[str, ...]) -> list[ApiUse]:
    return [uses[f"{family}.{member}"] for family in families if f"{family}.{member}" in uses]


def _calls(uses: Uses, member: str, families: tuple[str, ...] = _CTX2D) -> int:
    return sum(use.calls for use in _members(uses, member, families))


def _values(uses: Uses, member: str, families: tuple[str, ...] = _CTX2D) -> list[tuple]:
    return [value for use in _members(uses, member, families) for value in use.values]


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _big_enough(width: object, height: object) -> bool:
    w, h = _number(width), _number(height)
    return w is not None and h is not None and abs(w) >= CANVAS_MIN_SIZE and abs(h) >= CANVAS_MIN_SIZE


def canvas_read_back(uses: Uses) -> bool:
    """An image of a big enough canvas read back in a lossless format, or a big enough getImageData area."""
    for kept_type, width, height in ((v[0], v[-2], v[-1]) for v in uses.get("HTMLCanvasElement.toDataURL",
                                                                                ApiUse()).values):
        if _big_enough(width, height) and str(kept_type or "image/png").lower() not in LOSSY_TYPES:
            return True
    for kept_type, width, height in ((v[0], v[-2], v[-1]) for v in uses.get("HTMLCanvasElement.toBlob",
                                                                                ApiUse()).values):
        if _big_enough(width, height) and str(kept_type or "image/png").lower() not in LOSSY_TYPES:
            return True
    if any(_big_enough(v[-2], v[-1]) for v in uses.get("OffscreenCanvas.convertToBlob", ApiUse()).values):
        return True
    return any(len(v) >= 4 and _big_enough(v[2], v[3]) for v in _values(uses, "getImageData"))


def canvas_fingerprinting(uses: Uses) -> bool:
    """Englehardt & Narayanan's canvas fingerprinting rules (see the module docstring)."""
    if _calls(uses, "save") or _calls(uses, "restore") or not canvas_read_back(uses):
        return False
    characters = {ch for text in (v[0] for v in _values(uses, "fillText") + _values(uses, "strokeText"))
                  if isinstance(text, str) for ch in text}
    colours = {str(v[0]).strip().lower() for v in _values(uses, "fillStyle") + _values(uses, "strokeStyle")
               if isinstance(v[0], str)}
    return len(characters) >= TEXT_MIN_DISTINCT_CHARS or len(colours) >= MIN_COLOURS


def canvas_font_fingerprinting(uses: Uses) -> bool:
    """At least 50 distinct fonts set and at least 50 measureText calls."""
    fonts = {str(v[0]).strip().lower() for v in _values(uses, "font") if isinstance(v[0], str)}
    return len(fonts) >= FONT_MIN_DISTINCT and _calls(uses, "measureText") >= MEASURE_TEXT_MIN_CALLS


def webgl_fingerprinting(uses: Uses) -> bool:
    """Unmasked vendor/renderer read, or many distinct getParameter parameters."""
    parameters = {v[0] for v in _values(uses, "getParameter", _GL) if _number(v[0]) is not None}
    unmasked = parameters & {UNMASKED_VENDOR_WEBGL, UNMASKED_RENDERER_WEBGL}
    return bool(unmasked) or len(parameters) >= WEBGL_MIN_PARAMETERS


def audio_fingerprinting(uses: Uses) -> bool:
    """An offline rendering of an oscillator or compressor that is read back (or an analysed live oscillator)."""
    def used(name: str) -> bool:
        return uses.get(name, ApiUse()).calls > 0

    source = used("BaseAudioContext.createOscillator") or used("BaseAudioContext.createDynamicsCompressor")
    offline = used("OfflineAudioContext.constructor") and source and (
        used("OfflineAudioContext.startRendering") or used("AudioBuffer.getChannelData"))
    live = used("AudioContext.constructor") and used("BaseAudioContext.createOscillator") and used(
        "BaseAudioContext.createAnalyser") and used("AnalyserNode.getFloatFrequencyData")
    return bool(offline or live)


def properties_read(uses: Uses, group: str) -> int:
    """Distinct properties of a group (navigator, screen) the script read."""
    return sum(1 for name, use in uses.items()
               if use.calls and name in BY_NAME and BY_NAME[name].group == group and BY_NAME[name].operation == "get")


def script_flags(uses: Uses) -> dict[str, int]:
    """The `scripts` columns derived from one script's API use in one visit."""
    return {
        "canvas_fingerprinting": int(canvas_fingerprinting(uses)),
        "canvas_font_fingerprinting": int(canvas_font_fingerprinting(uses)),
        "webgl_fingerprinting": int(webgl_fingerprinting(uses)),
        "audio_fingerprinting": int(audio_fingerprinting(uses)),
        "apis": sum(1 for use in uses.values() if use.calls),
        "navigator_properties": properties_read(uses, "navigator"),
        "screen_properties": properties_read(uses, "screen"),
    }


# --- who called: stack traces ----------------------------------------------------------------------------------

# "https://host/path.js:12:34" inside a V8 stack frame line; the last one of an "eval at" chain is the outermost.
_FRAME_URL = re.compile(r"((?:https?|wss?|file|blob:https?|chrome-extension)://[^\s()]*?):\d+:\d+")


def frame_url(line: str) -> str | None:
    """The script URL of one V8 stack frame line ('    at f (https://x/a.js:1:2)'), or None (native, eval'd
    code with no URL). For code run by eval the URL is the script that called eval."""
    found = _FRAME_URL.findall(line)
    return found[0] if found else None


def caller_script(frames: str | Iterable[str]) -> str | None:
    """The first script URL of the caller frames (innermost first)."""
    lines = frames.splitlines() if isinstance(frames, str) else frames
    for line in lines:
        url = frame_url(line)
        if url:
            return url
    return None


# "    at fn (https://host/a.js:12:34)", "    at https://host/a.js:12:34", "    at new Foo (...)", "    at async f (...)"
_FRAME = re.compile(r"^\s*at (?:(?:async |new )?(?P<function>[^()]*?) \()?(?P<where>.*?)\)?$")
_LOCATION = re.compile(r"((?:https?|wss?|file|blob:https?|chrome-extension)://[^\s()]*?):(\d+):(\d+)")
MAX_STACK_LINE = 300  # characters of one stack frame line kept in js_calls.call_sites
MAX_PARSED_LINE = 4096  # characters of a frame line read to find its location (URLs can be long)
MAX_PARSED_FRAMES = 20  # frame lines read (the recorder keeps 5)


def call_site(frames: str) -> dict[str, Any] | None:
    """One call site from the caller frames of a V8 stack (innermost first): the first frame with a script URL
    gives `script`, `line`, `column` (1-based, as V8 prints them) and `function` (None at a script's top
    level); `stack` is every caller frame kept (lines cut to MAX_STACK_LINE characters)."""
    lines = [line.strip()[:MAX_PARSED_LINE] for line in frames.splitlines()[:MAX_PARSED_FRAMES] if line.strip()]
    for line in lines:
        found = _LOCATION.search(line)
        if not found:
            continue
        match = _FRAME.match(line)
        function = (match.group("function") or None) if match else None
        if function and ("eval at " in function or "://" in function):
            function = None
        return {"script": found.group(1), "line": int(found.group(2)), "column": int(found.group(3)),
                "function": function, "stack": [line[:MAX_STACK_LINE] for line in lines]}
    return None


# WebGL enums named in js_calls.arguments (getParameter, getShaderPrecisionFormat): those fingerprinting
# libraries ask for (FingerprintJS, ClientJS, Blacklight's list); any other stays a number.
WEBGL_ENUMS: dict[int, str] = {
    0x1F00: "VENDOR", 0x1F01: "RENDERER", 0x1F02: "VERSION", 0x8B8C: "SHADING_LANGUAGE_VERSION",
    UNMASKED_VENDOR_WEBGL: "UNMASKED_VENDOR_WEBGL", UNMASKED_RENDERER_WEBGL: "UNMASKED_RENDERER_WEBGL",
    0x0D33: "MAX_TEXTURE_SIZE", 0x851C: "MAX_CUBE_MAP_TEXTURE_SIZE", 0x84E8: "MAX_RENDERBUFFER_SIZE",
    0x0D3A: "MAX_VIEWPORT_DIMS", 0x8869: "MAX_VERTEX_ATTRIBS", 0x8DFB: "MAX_VERTEX_UNIFORM_VECTORS",
    0x8DFC: "MAX_VARYING_VECTORS", 0x8DFD: "MAX_FRAGMENT_UNIFORM_VECTORS", 0x8872: "MAX_TEXTURE_IMAGE_UNITS",
    0x8B4C: "MAX_VERTEX_TEXTURE_IMAGE_UNITS", 0x8B4D: "MAX_COMBINED_TEXTURE_IMAGE_UNITS",
    0x846D: "ALIASED_POINT_SIZE_RANGE", 0x846E: "ALIASED_LINE_WIDTH_RANGE", 0x0D50: "SUBPIXEL_BITS",
    0x0D52: "RED_BITS", 0x0D53: "GREEN_BITS", 0x0D54: "BLUE_BITS", 0x0D55: "ALPHA_BITS", 0x0D56: "DEPTH_BITS",
    0x0D57: "STENCIL_BITS", 0x84FF: "MAX_TEXTURE_MAX_ANISOTROPY_EXT", 0x80A9: "SAMPLES", 0x80A8: "SAMPLE_BUFFERS",
    0x8073: "MAX_3D_TEXTURE_SIZE", 0x88FF: "MAX_ARRAY_TEXTURE_LAYERS", 0x8D57: "MAX_SAMPLES",
    0x8CDF: "MAX_COLOR_ATTACHMENTS", 0x8824: "MAX_DRAW_BUFFERS", 0x8A2F: "MAX_UNIFORM_BUFFER_BINDINGS",
    0x8A30: "MAX_UNIFORM_BLOCK_SIZE", 0x8B31: "VERTEX_SHADER", 0x8B30: "FRAGMENT_SHADER", 0x8DF0: "LOW_FLOAT",
    0x8DF1: "MEDIUM_FLOAT", 0x8DF2: "HIGH_FLOAT", 0x8DF3: "LOW_INT", 0x8DF4: "MEDIUM_INT", 0x8DF5: "HIGH_INT",
}
_NAMED_ENUMS = frozenset(f"{family}.{member}" for family in _GL for member in ("getParameter",
                                                                               "getShaderPrecisionFormat"))


def shown_value(api: str, value: tuple) -> tuple:
    """An argument list as js_calls.arguments shows it: WebGL enums by name (37445 -> UNMASKED_VENDOR_WEBGL)."""
    if api not in _NAMED_ENUMS:
        return value
    return tuple(WEBGL_ENUMS.get(v, v) if isinstance(v, int) and not isinstance(v, bool) else v for v in value)
