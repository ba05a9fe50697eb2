"""Dwell lab: traffic that only a visit that stays, scrolls, moves the mouse and types sees; audio that must run.

Host www.dwell-lab.fr (first party), collect.dwell-metrics.com (the beacons' collector, third party),
forms.dwell-widgets.net (a cross-origin form widget, third party):
- `/late`: a tall page (about five screens) whose script sends beacons to the collector: `/late` 1.5 s after
  load (a timer); `/depth?percent=100` when the reader scrolls within 100 px of the bottom (scroll event);
  `/viewable?slot=mid` when the ad slot two screens down is half in view (IntersectionObserver); `/back-to-top`
  when the reader comes back up after reaching the bottom; `/mouse?trusted=true` at the first mouse movement
  (`isTrusted`: real input, not a synthetic event). A visit that leaves once the network is quiet (0.75 s) sees
  none of them.
- `/audio`: audio fingerprinting in `onaudioprocess` (oscillator -> compressor -> script processor -> muted gain ->
  destination, as FingerprintJS did): `/audio-state?state=<AudioContext.state>` at once, then `/audio-fp?ran=1`
  from inside `onaudioprocess`. Under Chromium's default autoplay policy the context stays `suspended` and the
  second beacon never comes.
- `/iframe-form`: no input of its own; a same-origin iframe (`/form-frame`) and a cross-origin one
  (forms.dwell-widgets.net `/widget`) each hold an e-mail field whose value, on change, is hashed (SHA-256 of the
  trimmed, lower-cased address) and posted to the collector (`/hashed?frame=same` / `?frame=cross`).
- `/exit`: beacons sent only when the reader leaves, as analytics send their last batch (GA4's engagement time,
  posthog-js and rrweb flushing on `visibilitychange`/`pagehide`): `/hidden?state=hidden` by `sendBeacon` when
  the page becomes hidden, `/pagehide?persisted=<bool>` by `fetch(..., {keepalive: true})` (POST) on `pagehide`.
  It also writes `exit_seen=1` to localStorage and sets cookie `exit_lab=1` at load (the visit's storage and
  cookies must be the page's, not those of wherever the tab went). A visit that closes the browser without
  leaving the page sees neither beacon.
- `/exit-hang`: a `pagehide` handler that never returns (`while (true) {}`): leaving must stay bounded.
"""

from __future__ import annotations

from demoweb import Request, Response, Site

HOST = "www.dwell-lab.fr"
COLLECT_HOST = "collect.dwell-metrics.com"
WIDGET_HOST = "forms.dwell-widgets.net"

SITE = Site("dwell lab", [HOST])
COLLECT = Site("dwell lab collector", [COLLECT_HOST], cors=True)
WIDGET = Site("dwell lab form widget", [WIDGET_HOST])
SITES = [COLLECT, WIDGET]

LATE_AFTER_MS = 1500
# (path, query) of the collector requests each page makes, in no particular order
LATE_BEACONS = [("/late", f"after={LATE_AFTER_MS}"), ("/depth", "percent=100"), ("/viewable", "slot=mid"),
                ("/back-to-top", ""), ("/mouse", "trusted=true")]
AUDIO_BEACONS = [("/audio-state", "state=running"), ("/audio-fp", "ran=1")]
FORM_BEACONS = [("/hashed", "frame=same"), ("/hashed", "frame=cross")]

EXPECTED = {
    f"{HOST}/late": {"third_party_hosts": [COLLECT_HOST], "beacons": LATE_BEACONS,
                     "without_dwell": []},  # nothing scrolls or moves the mouse (the timer one depends on load)
    f"{HOST}/audio": {"third_party_hosts": [COLLECT_HOST], "beacons": AUDIO_BEACONS},
    f"{HOST}/iframe-form": {"third_party_hosts": [COLLECT_HOST, WIDGET_HOST], "beacons": FORM_BEACONS,
                            "keylogging": [{"identifier": "typed_email", "host": COLLECT_HOST, "location": "body",
                                            "chain": "sha256"}] * 2},
}

PAGE = "<!doctype html><html><head><meta charset=utf-8><title>{title}</title></head><body>{body}</body></html>"
SEND = ('<script>var COLLECT = "{{https://collect.dwell-metrics.com/}}";'
        'function send(path, body) { navigator.sendBeacon(COLLECT + path, body || ""); }</script>')


@SITE.route("/late")
def late(req: Request) -> Response:
    body = req.render(SEND + (
        '<h1>A long read</h1><div style="height:1500px">top of the article</div>'
        '<div id="slot" style="height:250px;width:300px;background:#ccc">ad slot</div>'
        '<div style="height:2400px">rest of the article</div><footer>end</footer>'
        '<script>'
        'addEventListener("load", function () { setTimeout(function () { send("late?after=%d"); }, %d); });'
        'var deep = false, back = false;'
        'addEventListener("scroll", function () {'
        ' var bottom = scrollY + innerHeight >= document.documentElement.scrollHeight - 100;'
        ' if (bottom && !deep) { deep = true; send("depth?percent=100"); }'
        ' if (deep && !back && scrollY < 50) { back = true; send("back-to-top"); }'
        '}, {passive: true});'
        'new IntersectionObserver(function (entries, observer) { entries.forEach(function (e) {'
        ' if (e.isIntersecting) { observer.disconnect(); send("viewable?slot=mid"); } }); }, {threshold: 0.5})'
        '.observe(document.getElementById("slot"));'
        'var moved = false;'
        'addEventListener("mousemove", function (e) { if (!moved) { moved = true;'
        ' send("mouse?trusted=" + e.isTrusted); } });'
        '</script>') % (LATE_AFTER_MS, LATE_AFTER_MS))
    return Response.html(PAGE.format(title="Dwell lab: late", body=body))


@SITE.route("/audio")
def audio(req: Request) -> Response:
    body = req.render(SEND + (
        '<h1>Audio</h1><script>'
        'var ctx = new AudioContext(); send("audio-state?state=" + ctx.state);'
        'var osc = ctx.createOscillator(); osc.type = "triangle"; osc.frequency.value = 10000;'
        'var comp = ctx.createDynamicsCompressor(); var proc = ctx.createScriptProcessor(4096, 1, 1);'
        'var gain = ctx.createGain(); gain.gain.value = 0;'
        'osc.connect(comp); comp.connect(proc); proc.connect(gain); gain.connect(ctx.destination);'
        'var done = false;'
        'proc.onaudioprocess = function (event) { if (done) return; done = true;'
        ' var data = event.inputBuffer.getChannelData(0), sum = 0;'
        ' for (var i = 0; i < data.length; i++) sum += Math.abs(data[i]);'
        ' send("audio-fp?ran=1", String(sum)); osc.stop(); proc.disconnect(); };'
        'osc.start(0);'
        '</script>'))
    return Response.html(PAGE.format(title="Dwell lab: audio", body=body))


@SITE.route("/iframe-form")
def iframe_form(req: Request) -> Response:
    body = req.render('<h1>Newsletter</h1><iframe src="/form-frame" width=400 height=120></iframe>'
                      '<iframe src="{{https://forms.dwell-widgets.net/widget}}" width=400 height=120></iframe>')
    return Response.html(PAGE.format(title="Dwell lab: forms in frames", body=body))


def _form(req: Request, frame: str) -> Response:
    body = req.render(SEND + (
        '<input type="email" name="email" placeholder="E-mail">'
        '<script>document.querySelector("input").addEventListener("change", function (e) {'
        ' var value = e.target.value.trim().toLowerCase();'
        ' crypto.subtle.digest("SHA-256", new TextEncoder().encode(value)).then(function (hash) {'
        '  var hex = Array.from(new Uint8Array(hash)).map(function (b) { return b.toString(16).padStart(2, "0"); })'
        '.join("");'
        '  send("hashed?frame=%s", hex); }); });</script>') % frame)
    return Response.html(PAGE.format(title="Form", body=body))


@SITE.route("/form-frame")
def form_frame(req: Request) -> Response:
    return _form(req, "same")


@WIDGET.route("/widget")
def widget(req: Request) -> Response:
    return _form(req, "cross")


EXIT_BEACONS = [("POST", "/hidden", "state=hidden"), ("POST", "/pagehide", "persisted=false")]
EXPECTED[f"{HOST}/exit"] = {"third_party_hosts": [COLLECT_HOST], "beacons": EXIT_BEACONS, "title": "Dwell lab: exit",
                            "storage": [("local", "exit_seen", "1")], "cookies": [("exit_lab", "1")]}
EXPECTED[f"{HOST}/exit-hang"] = {"third_party_hosts": [], "beacons": []}


@SITE.route("/exit")
def exit_page(req: Request) -> Response:
    body = req.render(SEND + (
        '<h1>Leave me</h1><script>'
        'localStorage.setItem("exit_seen", "1"); document.cookie = "exit_lab=1; path=/; max-age=86400";'
        'document.addEventListener("visibilitychange", function () {'
        ' if (document.visibilityState === "hidden") send("hidden?state=hidden", "{}"); });'
        'addEventListener("pagehide", function (e) {'
        ' fetch(COLLECT + "pagehide?persisted=" + e.persisted, {method: "POST", body: "{}", keepalive: true,'
        ' mode: "no-cors"}); });'
        '</script>'))
    return Response.html(PAGE.format(title="Dwell lab: exit", body=body))


@SITE.route("/exit-hang")
def exit_hang(req: Request) -> Response:
    body = ('<h1>Never let go</h1><script>'
            'addEventListener("pagehide", function () { while (true) {} });</script>')
    return Response.html(PAGE.format(title="Dwell lab: exit hang", body=body))


@COLLECT.route("/*")
def collect(req: Request) -> Response:
    return Response.empty()
