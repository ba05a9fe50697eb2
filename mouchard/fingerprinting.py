"""Fingerprinting APIs and the published thresholds that turn a script's API use into flags.

`APIS` is the catalogue the browser crawl instruments (one DevTools breakpoint per entry): canvas, canvas fonts,
WebGL, audio, navigator and screen properties, fonts, WebRTC, battery, sensors, media and speech capabilities.
Each entry says which arguments are worth keeping and whether the receiver's size matters (a canvas read-back).
One entry is not about fingerprinting: the `document.cookie` setter, whose writes the cookies collector reads.

`script_flags(uses)` applies the thresholds to one script's calls in one visit, as `scripts` columns:

- canvas fingerprinting (Englehardt & Narayanan 2016, as Blacklight applies them): the script reads an image
  back (`toDataURL`/`toBlob` of a canvas at least 16x16 px in a lossless format, or `getImageData` of an area
  at least 16x16 px), has drawn text with at least 10 distinct characters or used at least 2 colours, and never
  called `save`/`restore` (the paper's sign of an ordinary drawing). Their fourth rule, no `addEventListener`
  on the canvas, is not applied: instrumenting every `addEventListener` of a page costs too much.
- canvas-font fingerprinting: at least 50 distinct `font` values set and at least 50 `measureText` calls.
- WebGL fingerprinting: reads `UNMASKED_VENDOR_WEBGL`/`UNMASKED_RENDERER_WEBGL` (from
  `WEBGL_debug_renderer_info`), or asks `getParameter` for at least 20 distinct parameters.
- audio fingerprinting: an `OfflineAudioContext` with an oscillator or compressor whose rendering is read
  (`startRendering` or `getChannelData`); or an `AudioContext` oscillator read through an analyser.
- navigator/screen enumeration: how many distinct Navigator / Screen properties the script read.

`caller_script(frames)` names the script of a call from the caller frames of a JavaScript stack trace.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

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
    itself for `Window`), `static` (on the interface object), `constructor`, or an accessor (`get`/`set`, on the
    prototype or the global object). `keep` lists argument indexes recorded, strings cut to `cut` characters
    (the recorder's default when None); `receiver` is `canvas` or `offscreen` when the receiver's width and
    height are recorded too. `js_calls` is False for an API recorded for another table than `js_calls`.
    """

    name: str
    group: str
    interfaces: tuple[str, ...]
    member: str = ""
    kind: str = "method"  # method | static | constructor | get | set
    keep: tuple[int, ...] = ()
    receiver: str | None = None
    cut: int | None = None
    js_calls: bool = True

    @property
    def operation(self) -> str:
        """`js_calls.operation`: call, get or set."""
        return self.kind if self.kind in ("get", "set") else "call"

    @property
    def accessor(self) -> bool:
        return self.kind in ("get", "set")


def _api(name: str, group: str, kind: str = "method", keep: tuple[int, ...] = (), receiver: str | None = None,
         interfaces: tuple[str, ...] | None = None) -> Api:
    interface, _, member = name.rpartition(".")
    if kind == "constructor":
        interface, member = name.removesuffix(".constructor"), ""
    return Api(name, group, interfaces or (interface,), member, kind, keep, receiver)


_NAV = ("Navigator", "WorkerNavigator")
_CTX2D = ("CanvasRenderingContext2D", "OffscreenCanvasRenderingContext2D")
_GL = ("WebGLRenderingContext", "WebGL2RenderingContext")


def _both(member: str, group: str, kind: str = "method", keep: tuple[int, ...] = (),
          families: tuple[str, ...] = _CTX2D) -> list[Api]:
    """The same member on a family of interfaces (2D and offscreen 2D contexts, WebGL 1 and 2)."""
    return [_api(f"{family}.{member}", group, kind, keep) for family in families]


APIS: tuple[Api, ...] = (
    # canvas: drawing and read-back
    _api("HTMLCanvasElement.toDataURL", "canvas", keep=(0, 1), receiver="canvas"),
    _api("HTMLCanvasElement.toBlob", "canvas", keep=(1, 2), receiver="canvas"),
    _api("HTMLCanvasElement.getContext", "canvas", keep=(0,), receiver="canvas"),
    _api("OffscreenCanvas.convertToBlob", "canvas", receiver="offscreen"),
    _api("OffscreenCanvas.getContext", "canvas", keep=(0,), receiver="offscreen"),
    *_both("getImageData", "canvas", keep=(0, 1, 2, 3)),
    *_both("fillText", "canvas", keep=(0,)),
    *_both("strokeText", "canvas", keep=(0,)),
    *_both("fillStyle", "canvas", "set", keep=(0,)),
    _api("CanvasRenderingContext2D.strokeStyle", "canvas", "set", keep=(0,)),
    *_both("save", "canvas"),
    *_both("restore", "canvas"),
    *_both("isPointInPath", "canvas"),
    # canvas fonts
    *_both("font", "canvas-font", "set", keep=(0,)),
    *_both("measureText", "canvas-font", keep=(0,)),
    # WebGL
    *_both("getParameter", "webgl", keep=(0,), families=_GL),
    *_both("getExtension", "webgl", keep=(0,), families=_GL),
    *_both("getSupportedExtensions", "webgl", families=_GL),
    *_both("getShaderPrecisionFormat", "webgl", keep=(0, 1), families=_GL),
    *_both("readPixels", "webgl", keep=(2, 3), families=_GL),
    # audio
    _api("OfflineAudioContext.constructor", "audio", "constructor", keep=(0, 1, 2)),
    _api("AudioContext.constructor", "audio", "constructor"),
    _api("BaseAudioContext.createOscillator", "audio"),
    _api("BaseAudioContext.createDynamicsCompressor", "audio"),
    _api("BaseAudioContext.createAnalyser", "audio"),
    _api("OfflineAudioContext.startRendering", "audio"),
    _api("AudioBuffer.getChannelData", "audio", keep=(0,)),
    _api("AnalyserNode.getFloatFrequencyData", "audio"),
    # navigator properties (WorkerNavigator in workers): the ones fingerprinting libraries read. Each accessor
    # breakpoint costs several milliseconds to set in every new renderer process, so the list is kept short.
    *(_api(f"Navigator.{member}", "navigator", "get", interfaces=_NAV) for member in (
        "userAgent", "platform", "vendor", "language", "languages", "hardwareConcurrency", "deviceMemory",
        "userAgentData", "connection")),
    *(_api(f"Navigator.{member}", "navigator", "get") for member in (
        "plugins", "mimeTypes", "doNotTrack", "cookieEnabled", "maxTouchPoints", "webdriver", "pdfViewerEnabled")),
    _api("Navigator.javaEnabled", "navigator"),
    _api("Navigator.getGamepads", "navigator"),
    _api("Navigator.requestMediaKeySystemAccess", "navigator", keep=(0,)),
    _api("NavigatorUAData.getHighEntropyValues", "navigator"),
    # screen and window geometry
    *(_api(f"Screen.{member}", "screen", "get") for member in (
        "width", "height", "availWidth", "availHeight", "colorDepth", "pixelDepth", "orientation")),
    _api("Window.devicePixelRatio", "screen", "get"),
    _api("Window.matchMedia", "screen", keep=(0,)),
    # fonts, WebRTC, battery, sensors, media capabilities, speech, time zone
    _api("FontFaceSet.check", "fonts", keep=(0,)),
    _api("RTCPeerConnection.constructor", "webrtc", "constructor"),
    _api("RTCPeerConnection.createDataChannel", "webrtc", keep=(0,)),
    _api("RTCPeerConnection.createOffer", "webrtc"),
    _api("Navigator.getBattery", "battery"),
    *(_api(f"{sensor}.constructor", "sensors", "constructor") for sensor in (
        "Accelerometer", "LinearAccelerationSensor", "GravitySensor", "Gyroscope", "Magnetometer",
        "AbsoluteOrientationSensor", "RelativeOrientationSensor", "AmbientLightSensor")),
    _api("MediaDevices.enumerateDevices", "media"),
    _api("HTMLMediaElement.canPlayType", "media", keep=(0,)),
    _api("MediaSource.isTypeSupported", "media", "static", keep=(0,)),
    _api("Permissions.query", "media"),
    _api("SpeechSynthesis.getVoices", "media"),
    _api("Intl.DateTimeFormat.resolvedOptions", "timezone"),
    # Not fingerprinting: a script's cookie writes, for the `cookies` table (crawler/browser/cookies.py). Whole
    # strings: a cookie's name and value may take 4096 bytes, its attributes more.
    Api("Document.cookie", "cookies", ("Document",), "cookie", "set", keep=(0,), cut=8192, js_calls=False),
)
COOKIE_WRITE = len(APIS) - 1  # index of the document.cookie setter in APIS

BY_NAME: dict[str, Api] = {api.name: api for api in APIS}


# --- one script's use of the APIs ------------------------------------------------------------------------------

@dataclass
class ApiUse:
    """What one script did with one API in one visit: how often, and the distinct argument lists recorded."""

    calls: int = 0
    values: list[tuple] = field(default_factory=list)
    first_ms: int | None = None
    value_ms: dict[tuple, int] = field(default_factory=dict)  # when each argument list was first seen, if known

    def add(self, calls: int, values: Iterable[Iterable] = (), time_ms: int | None = None,
            max_values: int = 256, value_ms: Mapping[tuple, int] | None = None) -> None:
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
