"""Home-made consent banners that no CMP rule knows: the generic multilingual fallback must handle them.

- www.petit-site.fr — a French banner inside an open shadow root: "Continuer sans accepter" (a link) and
  "Accepter et fermer". The choice is stored in `cookieconsent_status` (deny / allow); the Meta pixel loads only
  after "Accepter". Compliant.
- www.hidden-reject.com — the banner is an iframe from consent.banner-host.net (another site: an out-of-process
  frame). Its "Reject all" only asks the page to remove the frame: nothing is stored, gtag keeps running.
  Planted: A REJECTION THAT IS ONLY A HIDDEN BANNER (the crawl must record the action as not verified) and
  tracking before consent.
"""

from __future__ import annotations

import json

from demoweb import Request, Response, Site

from .consent_lib import page, serve_npm
from .trackers import TRACKERS

PETIT = Site("home-made banner in shadow DOM", ["www.petit-site.fr"])
HIDDEN = Site("banner that only hides", ["www.hidden-reject.com"])
BANNER_HOST = Site("third-party banner frame", ["consent.banner-host.net"])
SITES = [PETIT, HIDDEN, BANNER_HOST]
EXPECTED: dict[str, dict] = {}

CONSENT_EXPECTED: dict[str, dict] = {
    "www.petit-site.fr/": {"cmp": None, "consent_cookie": "cookieconsent_status", "reject_first_layer": True,
                           "reject_verified": True, "after_accept_hosts": ["www.facebook.com"], "violations": []},
    "www.hidden-reject.com/": {"cmp": None, "reject_first_layer": True, "reject_verified": False,
                               "before_consent_hosts": ["www.google-analytics.com", "stats.g.doubleclick.net"],
                               "violations": ["reject-not-verified", "tracking-before-consent"]},
}

for _site in (PETIT, HIDDEN):
    serve_npm(_site)


@PETIT.route("/", ["GET"])
def petit(req: Request) -> Response:
    pixel = json.dumps(req.url(TRACKERS["meta-pixel"].host, TRACKERS["meta-pixel"].script))
    body = f"""<div id="consent-host"></div>
<script>
(function () {{
  var choice = (document.cookie.match(/(?:^|; )cookieconsent_status=([^;]+)/) || [])[1];
  var loadPixel = function () {{ var s = document.createElement("script"); s.async = true; s.src = {pixel};
    document.head.appendChild(s); }};
  if (choice === "allow") {{ loadPixel(); return; }}
  if (choice) return;
  var root = document.getElementById("consent-host").attachShadow({{mode: "open"}});
  root.innerHTML = '<div style="position:fixed;bottom:0;left:0;right:0;padding:1rem;background:#fef3c7">' +
    '<p>Nous utilisons des cookies pour mesurer l\\'audience et personnaliser la publicité.</p>' +
    '<a href="#" id="deny">Continuer sans accepter</a> <button id="allow">Accepter et fermer</button></div>';
  var store = function (value) {{
    document.cookie = "cookieconsent_status=" + value + "; path=/; max-age=15552000; SameSite=Lax; Secure";
    root.innerHTML = "";
  }};
  root.getElementById("deny").addEventListener("click", function (e) {{ e.preventDefault(); store("deny"); }});
  root.getElementById("allow").addEventListener("click", function () {{ store("allow"); loadPixel(); }});
}})();
</script>"""
    return page(req, title="Le Petit Site", lang="fr", body=body)


@HIDDEN.route("/", ["GET"])
def hidden(req: Request) -> Response:
    gtag = req.url(TRACKERS["gtag"].host, TRACKERS["gtag"].script)
    frame = req.url("consent.banner-host.net", "/banner")
    head = f'<script async src="{gtag}"></script>'
    body = f"""<iframe id="consent-frame" src="{frame}" title="Cookie consent"
  style="position:fixed;bottom:0;left:0;width:100%;height:140px;border:0;background:#fff"></iframe>
<script>
window.addEventListener("message", function (e) {{
  if (e.data === "consent:close") {{ var f = document.getElementById("consent-frame"); if (f) f.remove(); }}
}});
</script>"""
    return page(req, title="Hidden Reject", lang="en", head=head, body=body)


@BANNER_HOST.route("/banner", ["GET"])
def banner(req: Request) -> Response:
    return Response.html("""<!doctype html><html><body style="margin:0;font:15px sans-serif;background:#e0e7ff">
<div style="padding:1rem"><p>We use cookies and similar technologies for analytics and advertising.</p>
<button id="accept">Accept all</button> <button id="reject">Reject all</button></div>
<script>
document.getElementById("reject").addEventListener("click", function () { parent.postMessage("consent:close", "*"); });
document.getElementById("accept").addEventListener("click", function () { parent.postMessage("consent:close", "*"); });
</script></body></html>""")
