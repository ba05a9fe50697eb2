"""Data-broker registries on their real hostnames: California's files, Vermont's and Texas's portals, Oregon's CSV.

California serves the real 2025 file and a reconstructed 2026-style `registry.csv`; the portals answer with the
reconstructed samples of demoweb/data/brokers (see its README: invented brokers, shapes established or guessed).
Vermont checks what its ASP.NET pages check: the paging POST must carry the anti-forgery token from the search
answer and the session cookie; Texas's Appian endpoint answers 406 without its client's headers.
"""

from __future__ import annotations

import urllib.parse

from demoweb import Request, Response, Site
from demoweb.paths import DATA as SAMPLES

DATA = SAMPLES / "brokers"
VT_TOKEN = "reconstructed-token-5f1c2a"  # the value in vt-search.html
VT_SESSION = "ASP.NET_SessionId"

CPPA = Site("cppa registry", ["cppa.ca.gov"])
VERMONT = Site("vermont data broker portal", ["bizfilings.vermont.gov"])
TEXAS = Site("texas data broker portal", ["texas-sos.appianportalsgov.com"])
OREGON = Site("oregon data broker list", ["www4.cbs.state.or.us"])
SITES = [CPPA, VERMONT, TEXAS, OREGON]


def _csv(name: str) -> Response:
    return Response(200, [("Content-Type", "text/csv; charset=utf-8"),
                          ("Content-Disposition", f'attachment; filename="{name}"')], (DATA / name).read_bytes())


@CPPA.route("/data_broker_registry/registry2025.csv")
def ca_2025(req: Request) -> Response:
    return _csv("ca-registry-2025.csv")


@CPPA.route("/data_broker_registry/registry.csv")
def ca_current(req: Request) -> Response:
    return _csv("ca-registry-2026-sample.csv")


@CPPA.route("/data_broker_registry/")
def ca_index(req: Request) -> Response:
    return Response.html(req.render(
        '<h1>Data Broker Registry</h1><a href="{{https://cppa.ca.gov/data_broker_registry/registry.csv}}">2026</a> '
        '<a href="{{https://cppa.ca.gov/data_broker_registry/registry2025.csv}}">2025</a>'))


VT = "/online/DatabrokerInquire/"


@VERMONT.route(VT + "DataBrokerSearch", methods=["POST"])
def vt_search(req: Request) -> Response:
    form = urllib.parse.parse_qs(req.body.decode("utf-8", "replace"), keep_blank_values=True)
    if form.get("btnSearch") != ["Search"]:
        return Response.text("bad search form", 400)
    return Response.html((DATA / "vt-search.html").read_text(encoding="utf-8"),
                         headers=[("Set-Cookie", f"{VT_SESSION}=reconstructed-session; path=/; HttpOnly")])


@VERMONT.route(VT + "BusinessSearchList", methods=["POST"])
def vt_list(req: Request) -> Response:
    if req.headers.get("__RequestVerificationToken") != VT_TOKEN or VT_SESSION not in req.cookies:
        return Response.text("The required anti-forgery form field is not present.", 500)
    page = req.body.decode("utf-8", "replace").rpartition("pidx=")[2]
    if page == "2":
        return Response.html((DATA / "vt-list-page-2.html").read_text(encoding="utf-8"))
    if page in ("0", "1"):
        return Response.html((DATA / "vt-search.html").read_text(encoding="utf-8"))
    return Response.html('<table id="xhtml_grid_DBSearch"><tr><th>Data Broker Name</th></tr></table>')


@VERMONT.route(VT + "DataBrokerInformation")
def vt_detail(req: Request) -> Response:
    path = DATA / f"vt-detail-{req.query.get('businessID', '')}.html"
    if not req.query.get("businessID", "").isdigit() or not path.exists():
        return Response.not_found("no such data broker")
    return Response.html(path.read_text(encoding="utf-8"))


@TEXAS.route("/data-broker-registry/_/ui")
def tx_grid(req: Request) -> Response:
    if "vnd.appian" not in (req.headers.get("accept") or "") or not req.headers.get("x-appian-features"):
        return Response.text("Client not supported", 406)
    page = "tx-grid-page-2.json" if req.query.get("startIndex") == "4" else "tx-grid-page-1.json"
    return Response(200, [("Content-Type", "application/vnd.appian.tv.ui+json")], (DATA / page).read_bytes())


@OREGON.route("/ex/shared/downtemp/dfcs_db_optout.csv")
def or_csv(req: Request) -> Response:
    return _csv("or-registry-sample.csv")
