"""Banners whose layout tilts the choice, and one that does not: the layout facts regulators cite
(crawler/consent/layout.py) and the rules consent.reject-less-visible and consent.pre-ticked-boxes.

- www.bandeau-klaro.fr — klaro 0.7 (npm, French, light theme, `mustConsent`: the purposes modal shows at once).
  Planted: REJECT LESS VISIBLE ("Refuser" a small grey underlined link, "Accepter" a big red button; sizes fixed by
  CSS, so the ratios are exact) and PRE-TICKED BOXES (both optional services on by default, `default: true`; the
  required one is on and locked, recorded apart).
- www.bandeau-mesure.fr — a plain-HTML banner whose every size and colour is set in px and hex, so the measured
  values are exact: "Accepter" 240×48 px, 20 px bold, white on #1d4ed8; "Refuser" an 80×16 px link, 10 px,
  #999999 on white; two optional boxes ticked, one unticked, one ticked and disabled. Both violations planted,
  and a page that lies: it replaces `getComputedStyle` and `getBoundingClientRect` in its own world.
- www.bandeau-equilibre.fr — the control: "Tout refuser" and "Tout accepter" identical buttons, one unticked box.
  No finding.
The plain banners store the choice in `cookieconsent_status` (deny / allow) and remove themselves on a click.
`EXPECTED` holds, per page, the layout facts a crawl must measure and the findings the audit must give.
"""

from __future__ import annotations

import json

from demoweb import Request, Response, Site

from .consent_lib import page, serve_npm

KLARO_HOST, MEASURED_HOST, BALANCED_HOST = "www.bandeau-klaro.fr", "www.bandeau-mesure.fr", "www.bandeau-equilibre.fr"
KLARO = Site("klaro banner tilted towards accepting", [KLARO_HOST])
MEASURED = Site("plain banner with exact sizes", [MEASURED_HOST])
BALANCED = Site("balanced banner (control)", [BALANCED_HOST])
SITES = [KLARO, MEASURED, BALANCED]

WHITE_ON_BLUE = 6.7  # WCAG contrast of #ffffff on #1d4ed8
GREY_ON_WHITE = 2.85  # #999999 on #ffffff
GREY_AA_ON_WHITE = 2.32  # #aaaaaa on #ffffff

EXPECTED: dict[str, dict] = {
    f"{KLARO_HOST}/": {
        "third_party_hosts": [],
        "layout": {
            "accept": {"width": 300.0, "height": 60.0, "area": 18000.0, "font_size": 24.0, "looks_like": "button",
                       "color": "rgb(255, 255, 255)", "background": "rgb(185, 28, 28)", "contrast": 6.47},
            "reject": {"width": 90.0, "height": 20.0, "area": 1800.0, "font_size": 11.0, "looks_like": "link",
                       "color": "rgb(170, 170, 170)", "background": "rgb(255, 255, 255)", "contrast": GREY_AA_ON_WHITE},
            "ratios": {"area": 0.1, "font_size": 0.46, "contrast": 0.36},
            # klaro's "toggle all" switch is on too (both optional services are); its labels run words together
            "boxes": 4, "pre_ticked": 3,
            "pre_ticked_labels": ["Activer ou désactiver tous les services", "Mesure d'audience", "Publicité ciblée"],
            "necessary_locked": 1, "necessary_locked_labels": ["Cookies nécessaires(toujours requis)"],
        },
        "findings": ["consent.pre-ticked-boxes", "consent.reject-less-visible"],
    },
    f"{MEASURED_HOST}/": {
        "third_party_hosts": [],
        "layout": {
            "banner": {"width": 600.0, "height": 200.0, "area": 120000.0, "layers": 1, "derived": True},
            "accept": {"text": "Accepter", "tag": "button", "role": None, "width": 240.0, "height": 48.0,
                       "area": 11520.0, "font_size": 20.0, "font_weight": 700, "color": "rgb(255, 255, 255)",
                       "background": "rgb(29, 78, 216)", "contrast": WHITE_ON_BLUE, "looks_like": "button",
                       "underline": False, "padding": [0.0, 0.0, 0.0, 0.0]},
            "reject": {"text": "Refuser", "tag": "a", "role": None, "width": 80.0, "height": 16.0, "area": 1280.0,
                       "font_size": 10.0, "font_weight": 400, "color": "rgb(153, 153, 153)",
                       "background": "rgb(255, 255, 255)", "contrast": GREY_ON_WHITE, "looks_like": "link",
                       "underline": True, "padding": [0.0, 0.0, 0.0, 0.0]},
            "ratios": {"area": 0.11, "font_size": 0.5, "contrast": 0.43},
            "boxes": 4, "pre_ticked": 2, "pre_ticked_labels": ["Mesure d'audience", "Publicité personnalisée"],
            "necessary_locked": 1, "necessary_locked_labels": ["Strictement nécessaires"],
        },
        "findings": ["consent.pre-ticked-boxes", "consent.reject-less-visible"],
    },
    f"{BALANCED_HOST}/": {
        "third_party_hosts": [],
        "layout": {"ratios": {"area": 1.0, "font_size": 1.0, "contrast": 1.0}, "boxes": 1, "pre_ticked": 0,
                   "necessary_locked": 0},
        "findings": [],
    },
}

serve_npm(KLARO)

KLARO_CONFIG = {
    "version": 1, "elementID": "klaro", "storageMethod": "cookie", "cookieName": "klaro",
    "cookieExpiresAfterDays": 180, "default": True, "mustConsent": True, "acceptAll": True,
    "hideDeclineAll": False, "hideLearnMore": True, "groupByPurpose": False, "lang": "fr",
    "styling": {"theme": ["light"]},
    "services": [
        {"name": "mesure", "title": "Mesure d'audience", "purposes": ["analytics"], "default": True},
        {"name": "ciblage", "title": "Publicité ciblée", "purposes": ["marketing"], "default": True},
        {"name": "session", "title": "Cookies nécessaires", "purposes": ["functional"], "required": True},
    ],
    "translations": {"fr": {"decline": "Refuser", "acceptAll": "Accepter", "acceptSelected": "Enregistrer",
                            "purposes": {"analytics": "Statistiques", "marketing": "Publicité",
                                         "functional": "Fonctionnement"}}},
}
# Planted: refusing made a small grey link, accepting a big red button (sizes fixed: exact ratios everywhere).
KLARO_CSS = """
.klaro .cookie-modal .cm-btn.cm-btn-decline { display:inline-block !important; box-sizing:border-box !important;
  width:90px !important; height:20px !important; padding:0 !important; margin:0 8px !important; border:0 !important;
  background:transparent !important; box-shadow:none !important; color:#aaaaaa !important; font-size:11px !important;
  font-weight:400 !important; line-height:20px !important; text-decoration:underline !important; }
.klaro .cookie-modal .cm-btn.cm-btn-accept-all { display:inline-block !important; box-sizing:border-box !important;
  width:300px !important; height:60px !important; padding:0 !important; margin:0 8px !important; border:0 !important;
  background:#b91c1c !important; color:#ffffff !important; font-size:24px !important; font-weight:700 !important; }
.klaro .cookie-modal .cm-modal, .klaro .cookie-modal .cm-modal .cm-footer { background:#ffffff !important; }
"""


@KLARO.route("/", ["GET"])
def klaro_home(req: Request) -> Response:
    head = f"""<script>var klaroConfig = {json.dumps(KLARO_CONFIG)};</script>
<script defer src="/npm/klaro/dist/klaro.js"></script>
<style>{KLARO_CSS}</style>"""
    return page(req, title="Bandeau klaro", lang="fr", head=head)


# Planted on the measured page: it lies to anything that measures it from its own JavaScript world (the layout
# is read in an isolated world, so the expected values stay exact).
LYING_SCRIPT = """<script>
window.getComputedStyle = function () {
  return {fontSize: "99px", fontWeight: "900", color: "rgb(0, 0, 0)", backgroundColor: "rgb(0, 0, 0)",
          visibility: "visible", position: "static", backgroundImage: "none"};
};
Element.prototype.getBoundingClientRect = function () {
  return {x: 0, y: 0, top: 0, left: 0, right: 999, bottom: 999, width: 999, height: 999};
};
</script>"""
# The plain banners: shown until a choice is stored in cookieconsent_status, removed on a click.
PLAIN_SCRIPT = """<script>
(function () {
  var banner = document.getElementById("cookie-banner");
  if (/(?:^|; )cookieconsent_status=/.test(document.cookie)) { banner.remove(); return; }
  var store = function (value) { return function (e) {
    e.preventDefault();
    document.cookie = "cookieconsent_status=" + value + "; path=/; max-age=15552000; SameSite=Lax; Secure";
    banner.remove();
  }; };
  document.getElementById("accept").addEventListener("click", store("allow"));
  document.getElementById("reject").addEventListener("click", store("deny"));
})();
</script>"""
BANNER_STYLE = ("position:fixed;left:0;bottom:0;width:600px;height:200px;margin:0;padding:0;box-sizing:border-box;"
                "background:#ffffff;color:#111111;font:14px/1.2 sans-serif")


@MEASURED.route("/", ["GET"])
def measured(req: Request) -> Response:
    body = f"""<div id="cookie-banner" style="{BANNER_STYLE}">
<p style="margin:0 0 4px">Nous utilisons des cookies pour la mesure d'audience et la publicité.</p>
<label><input type="checkbox" checked> Mesure d'audience</label>
<label><input type="checkbox" checked> Publicité personnalisée</label>
<label><input type="checkbox"> Réseaux sociaux</label>
<label><input type="checkbox" checked disabled> Strictement nécessaires</label>
<button id="accept" style="display:block;box-sizing:border-box;width:240px;height:48px;margin:4px 0;padding:0;border:0;
  font-family:sans-serif;font-size:20px;font-weight:700;color:#ffffff;background:#1d4ed8">Accepter</button>
<a id="reject" href="#" style="display:inline-block;box-sizing:border-box;width:80px;height:16px;padding:0;
  font-size:10px;font-weight:400;line-height:16px;color:#999999;text-decoration:underline">Refuser</a>
</div>
{PLAIN_SCRIPT}"""
    return page(req, title="Bandeau mesuré", lang="fr", head=LYING_SCRIPT, body=body)


BALANCED_BUTTON = ("display:inline-block;box-sizing:border-box;width:200px;height:44px;margin:4px;padding:0;border:0;"
                   "font-family:sans-serif;font-size:16px;font-weight:700;color:#ffffff;background:#1f2937")


@BALANCED.route("/", ["GET"])
def balanced(req: Request) -> Response:
    body = f"""<div id="cookie-banner" style="{BANNER_STYLE}">
<p style="margin:0 0 4px">Nous utilisons des cookies pour la mesure d'audience, avec votre accord.</p>
<label><input type="checkbox"> Mesure d'audience</label>
<div><button id="reject" style="{BALANCED_BUTTON}">Tout refuser</button>
<button id="accept" style="{BALANCED_BUTTON}">Tout accepter</button></div>
</div>
{PLAIN_SCRIPT}"""
    return page(req, title="Bandeau équilibré", lang="fr", body=body)
