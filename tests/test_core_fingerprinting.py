"""mouchard.detect.fingerprinting: the API catalogue, the published thresholds, and naming the calling script."""

from __future__ import annotations

import pytest

from mouchard.detect.fingerprinting import (APIS, BY_NAME, MAX_SITES, UNMASKED_RENDERER_WEBGL, ApiUse, call_site,
                                     caller_script, frame_url, script_flags, shown_value)


def uses(**by_name: tuple[int, list[tuple]]) -> dict[str, ApiUse]:
    """{"HTMLCanvasElement.toDataURL": (calls, [values...])} with dots spelled as __ in keyword names."""
    out = {}
    for name, (calls, values) in by_name.items():
        use = ApiUse()
        use.add(calls, values)
        out[name.replace("__", ".")] = use
    return out


CANVAS_FP = dict(
    CanvasRenderingContext2D__fillText=(2, [("Cwm fjordbank glyphs vext quiz",)]),
    CanvasRenderingContext2D__fillStyle=(2, [("#f60",), ("#069",)]),
    HTMLCanvasElement__toDataURL=(1, [(None, None, 240, 60)]),
)


def test_catalogue_names_are_unique_and_say_interface_and_member():
    # one js_calls name per API; Document.cookie is both a js_calls getter and the cookies table's setter
    assert len(BY_NAME) == sum(1 for api in APIS if api.js_calls)
    assert len({(api.name, api.operation) for api in APIS}) == len(APIS)
    for api in APIS:
        interface, _, member = api.name.rpartition(".")
        assert interface and member
        assert api.operation in ("call", "get", "set")
        assert not (api.kind == "get" and api.keep), f"{api.name}: a getter has no arguments"


def test_text_and_read_back_of_a_big_canvas_is_canvas_fingerprinting():
    assert script_flags(uses(**CANVAS_FP))["canvas_fingerprinting"] == 1


@pytest.mark.parametrize("change, why", [
    ({"CanvasRenderingContext2D__save": (1, [])}, "save/restore: an ordinary drawing"),
    ({"HTMLCanvasElement__toDataURL": (1, [(None, None, 15, 60)])}, "canvas narrower than 16 px"),
    ({"HTMLCanvasElement__toDataURL": (1, [("image/jpeg", 0.9, 240, 60)])}, "lossy read-back"),
    ({"HTMLCanvasElement__toDataURL": (0, [])}, "nothing read back"),
    ({"CanvasRenderingContext2D__fillText": (1, [("abc",)]),
      "CanvasRenderingContext2D__fillStyle": (1, [("#000",)])}, "3 characters, 1 colour"),
])
def test_canvas_fingerprinting_needs_every_rule(change, why):
    assert script_flags(uses(**{**CANVAS_FP, **change}))["canvas_fingerprinting"] == 0, why


def test_two_colours_without_text_are_enough_and_getimagedata_of_a_big_area_reads_back():
    found = uses(CanvasRenderingContext2D__fillStyle=(2, [("red",), ("blue",)]),
                 CanvasRenderingContext2D__getImageData=(1, [(0, 0, 16, 16)]))
    assert script_flags(found)["canvas_fingerprinting"] == 1
    small = uses(CanvasRenderingContext2D__fillStyle=(2, [("red",), ("blue",)]),
                 CanvasRenderingContext2D__getImageData=(1, [(0, 0, 1, 1)]))
    assert script_flags(small)["canvas_fingerprinting"] == 0


def test_fifty_fonts_measured_fifty_times_is_canvas_font_fingerprinting():
    fonts = [(f"72px Font{n}",) for n in range(50)]
    assert script_flags(uses(CanvasRenderingContext2D__font=(50, fonts),
                             CanvasRenderingContext2D__measureText=(50, [("mmm",)])))["canvas_font_fingerprinting"] == 1
    assert script_flags(uses(CanvasRenderingContext2D__font=(49, fonts[:49]),
                             CanvasRenderingContext2D__measureText=(80, [("mmm",)])))["canvas_font_fingerprinting"] == 0
    assert script_flags(uses(CanvasRenderingContext2D__font=(50, fonts),
                             CanvasRenderingContext2D__measureText=(49, [("mmm",)])))["canvas_font_fingerprinting"] == 0


def test_offscreen_contexts_count_with_their_onscreen_twins():
    fonts = [(f"72px Font{n}",) for n in range(30)]
    more = [(f"12px Other{n}",) for n in range(20)]
    found = uses(CanvasRenderingContext2D__font=(30, fonts), OffscreenCanvasRenderingContext2D__font=(20, more),
                 OffscreenCanvasRenderingContext2D__measureText=(50, [("m",)]))
    assert script_flags(found)["canvas_font_fingerprinting"] == 1


def test_unmasked_renderer_or_many_parameters_is_webgl_fingerprinting():
    assert script_flags(uses(WebGLRenderingContext__getParameter=(1, [(UNMASKED_RENDERER_WEBGL,)])))[
        "webgl_fingerprinting"] == 1
    many = [(p,) for p in range(7936, 7956)]
    assert script_flags(uses(WebGL2RenderingContext__getParameter=(20, many)))["webgl_fingerprinting"] == 1
    assert script_flags(uses(WebGLRenderingContext__getParameter=(3, many[:3])))["webgl_fingerprinting"] == 0


def test_an_offline_oscillator_rendering_read_back_is_audio_fingerprinting():
    offline = dict(OfflineAudioContext__constructor=(1, [(1, 5000, 44100)]),
                   BaseAudioContext__createOscillator=(1, []), BaseAudioContext__createDynamicsCompressor=(1, []),
                   OfflineAudioContext__startRendering=(1, []))
    assert script_flags(uses(**offline))["audio_fingerprinting"] == 1
    del offline["OfflineAudioContext__startRendering"]
    assert script_flags(uses(**offline))["audio_fingerprinting"] == 0
    live = uses(AudioContext__constructor=(1, []), BaseAudioContext__createOscillator=(1, []),
                BaseAudioContext__createAnalyser=(1, []), AnalyserNode__getFloatFrequencyData=(1, []))
    assert script_flags(live)["audio_fingerprinting"] == 1


def test_navigator_and_screen_properties_are_counted_once_each():
    found = uses(Navigator__userAgent=(40, []), Navigator__platform=(1, []), Screen__width=(2, []),
                 Screen__height=(2, []), Window__devicePixelRatio=(1, []))
    flags = script_flags(found)
    assert (flags["navigator_properties"], flags["screen_properties"], flags["apis"]) == (2, 3, 5)


def test_window_geometry_is_not_a_screen_property_and_ua_data_is_a_navigator_one():
    # layout code reads innerWidth all the time: the window's group, not the screen enumeration count
    found = uses(Window__innerWidth=(30, []), Window__innerHeight=(30, []), Window__outerWidth=(1, []),
                 Screen__width=(1, []), NavigatorUAData__brands=(1, []), Navigator__mediaDevices=(1, []))
    flags = script_flags(found)
    assert (flags["navigator_properties"], flags["screen_properties"], flags["apis"]) == (2, 1, 6)
    assert {BY_NAME[name].group for name in ("Window.innerWidth", "Window.name", "BarProp.visible")} == {"window"}


@pytest.mark.parametrize("line, url", [
    ("    at go (https://openfpcdn.io/fp/canvas.js:1:49)", "https://openfpcdn.io/fp/canvas.js"),
    ("    at https://www.example.org:8443/page?q=1:3:9", "https://www.example.org:8443/page?q=1"),
    ("    at eval (eval at go (https://cdn.example.com/a.js:1:49), <anonymous>:1:31)", "https://cdn.example.com/a.js"),
    ("    at Date.getTimezoneOffset (<anonymous>)", None),
    ("    at <anonymous>:7:48", None),
])
def test_frame_url_reads_v8_stack_frames(line, url):
    assert frame_url(line) == url


def test_caller_script_skips_frames_without_a_url():
    frames = ("    at DateTimeFormat.resolvedOptions (<anonymous>)\n"
              "    at https://tracker.example/t.js:4:55\n    at https://www.example.org/:2:1")
    assert caller_script(frames) == "https://tracker.example/t.js"
    assert caller_script("    at <anonymous>:1:1") is None


def test_a_call_site_is_the_first_frame_with_a_script_url():
    assert call_site("    at Date.getTimezoneOffset (<anonymous>)\n    at probe (https://a.example/x.js:12:5)\n"
                     "    at https://a.example/x.js:20:1") == {
        "script": "https://a.example/x.js", "line": 12, "column": 5, "function": "probe",
        "stack": ["at Date.getTimezoneOffset (<anonymous>)", "at probe (https://a.example/x.js:12:5)",
                  "at https://a.example/x.js:20:1"]}
    top = call_site("    at https://a.example/x.js:20:1")
    assert (top["line"], top["column"], top["function"]) == (20, 1, None)  # a script's top level
    assert call_site("    at new Probe (https://a.example/x.js:2:9)")["function"] == "Probe"
    assert call_site("    at async run (https://a.example/x.js:3:1)")["function"] == "run"
    assert call_site("    at eval (eval at run (https://a.example/x.js:7:3), <anonymous>:1:1)")["line"] == 7
    assert call_site("    at Array.forEach (<anonymous>)") is None
    assert len(call_site("    at f (https://a.example/" + "x" * 3000 + ".js:1:1)")["stack"][0]) == 300


def test_call_sites_and_return_summaries_are_bounded():
    use = ApiUse()
    for n in range(MAX_SITES + 10):
        use.add(1, site=f"    at f (https://a.example/x.js:{n}:1)", returned=[f"sha256:{n}"])
    use.add(2, site="    at f (https://a.example/x.js:0:1)", returned=["sha256:0"])
    assert len(use.sites) == MAX_SITES and use.sites["    at f (https://a.example/x.js:0:1)"] == 3
    assert use.calls == MAX_SITES + 12 and len(use.returned) == 20


def test_webgl_enums_are_named_only_for_getparameter_and_precision_formats():
    assert shown_value("WebGLRenderingContext.getParameter", (37445,)) == ("UNMASKED_VENDOR_WEBGL",)
    assert shown_value("WebGL2RenderingContext.getParameter", (0x0D33,)) == ("MAX_TEXTURE_SIZE",)
    assert shown_value("WebGLRenderingContext.getParameter", (12345,)) == (12345,)  # unknown: the number
    assert shown_value("WebGLRenderingContext.getShaderPrecisionFormat", (35633, 36338)) == ("VERTEX_SHADER",
                                                                                            "HIGH_FLOAT")
    assert shown_value("WebGLRenderingContext.readPixels", (37445,)) == (37445,)
