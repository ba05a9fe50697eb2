"""Pages whose scripts call fingerprinting APIs through temporary iframes, removed as soon as they have been used.

On www.frames-lab.fr, `/temporary` runs `/js/probe.js` (each statement on its own line, so the call sites are
known: `PROBE_LINES`). The script does what FingerprintJS's `withIframe` helper does, twice: it creates an iframe
(first with `srcdoc`, as FingerprintJS does, then with `src="about:blank"`), waits for its `load`, reads the
iframe window's `devicePixelRatio` and `screen.width`, calls `getContext("2d")` on a canvas of the iframe's
document, and removes the iframe at once. Then it POSTs what it read to `/done` with `fetch` (not a catalogued
API). The calls run in the iframes' realms (their functions) from the page's script: a crawler must record them
with that script and the iframe's URL (`about:srcdoc`, `about:blank`) although the iframe is gone when the visit
ends. `/temporary-cross` does the same with a cross-site iframe (openfpcdn.io's frame.html, its own renderer
process and DevTools target, whose first script calls canvas and navigator APIs), removed on its `load`.
"""

from __future__ import annotations

import json

from demoweb import Request, Response, Site

from .detectors_thirdparty import FP_HOST

HOST = "www.frames-lab.fr"
SITE = Site("frames lab", [HOST])

PROBE = """(function () {
  function probe(kind, then) {
    var frame = document.createElement("iframe");
    if (kind === "srcdoc") frame.srcdoc = "<!doctype html><title>probe</title><body>probe</body>";
    else frame.src = "about:blank";
    frame.onload = function () {
      var w = frame.contentWindow;
      var ratio = w.devicePixelRatio;
      var width = w.screen.width;
      var canvas = w.document.createElement("canvas");
      var context = canvas.getContext("2d");
      frame.remove();
      then([kind, ratio, width, !!context]);
    };
    document.body.appendChild(frame);
  }
  probe("srcdoc", function (first) {
    probe("blank", function (second) {
      fetch("/done", {method: "POST", body: JSON.stringify([first, second])});
    });
  });
})();
"""
# API -> line of /js/probe.js that calls it (1-based, as js_calls.call_line), in the function `frame.onload`.
PROBE_LINES = {"Window.devicePixelRatio": 8, "Screen.width": 9, "HTMLCanvasElement.getContext": 11}
FRAMES = ("about:srcdoc", "about:blank")
CROSS_FRAME = f"https://{FP_HOST}/fingerprintjs/frame.html"  # its script calls these on line 1, at top level
CROSS_FRAME_APIS = ("Navigator.hardwareConcurrency", "HTMLCanvasElement.getContext", "HTMLCanvasElement.toDataURL")

EXPECTED = {
    f"{HOST}/temporary": {
        "js_calls": {(f"https://{HOST}/js/probe.js", frame, api, line) for frame in FRAMES
                     for api, line in PROBE_LINES.items()},
    },
    f"{HOST}/temporary-cross": {
        "js_calls": {(CROSS_FRAME, CROSS_FRAME, api, 1) for api in CROSS_FRAME_APIS},
    },
}


@SITE.route("/temporary", ["GET"])
def temporary(req: Request) -> Response:
    return Response.html('<!doctype html><html><head><meta charset="utf-8"><title>Temporary frames</title></head>'
                         '<body><p>frames</p><script src="/js/probe.js"></script></body></html>')


@SITE.route("/js/probe.js", ["GET"])
def probe_script(req: Request) -> Response:
    return Response.js(PROBE, headers=[("Cache-Control", "no-store")])


@SITE.route("/temporary-cross", ["GET"])
def temporary_cross(req: Request) -> Response:
    frame = json.dumps(req.url(FP_HOST, "/fingerprintjs/frame.html"))
    return Response.html('<!doctype html><html><head><meta charset="utf-8"><title>Temporary frame</title></head>'
                         '<body><script>var frame = document.createElement("iframe");'
                         ' frame.onload = function () { frame.remove(); fetch("/done", {method: "POST"}); };'
                         f' frame.src = {frame}; document.body.appendChild(frame);</script></body></html>')


@SITE.route("/done", ["POST"])
def done(req: Request) -> Response:
    return Response.empty(204)

