"""Synthetic audit databases: one planted violation per rule, next to compliant subjects that must stay silent.

Rows are written through mouchard.storage.store.Store exactly as the schema describes them, as the collectors would.
`build_case(path, violations=False)` writes only the compliant subjects. `offset` inserts unrelated rows first,
so the same facts get other row ids (fingerprints must not change).

Subjects: web sites www.violator.example (every web and consent violation) and www.compliant.example
(the same trackers, but only after consent), www.unverified.example (tracking after a reject that was not
verified: nothing can be concluded); apps com.violator.app and com.compliant.app; brokers "Shady Data LLC"
and "Clean Data Inc", whose home pages redirect to violator.example and compliant.example (so the web crawl's
GPC visits of those sites are the brokers' own).
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from pathlib import Path

from mouchard.storage.store import Store

VIOLATOR = "violator.example"
COMPLIANT = "compliant.example"
UNVERIFIED = "unverified.example"
SHADY = "Shady Data LLC"
CLEAN = "Clean Data Inc"

# rule id -> the subject its planted violation concerns
EXPECTED = {
    "consent.tracking-before-consent": VIOLATOR,
    "consent.tracking-after-reject": VIOLATOR,
    "consent.tcf-vendor-without-consent": VIOLATOR,
    "consent.gpc-ignored": VIOLATOR,
    "consent.stored-before-choice": VIOLATOR,
    "consent.no-reject-on-first-layer": VIOLATOR,
    "consent.pre-ticked-boxes": VIOLATOR,
    "consent.reject-less-visible": VIOLATOR,
    "consent.tracking-after-withdrawal": VIOLATOR,
    "consent.withdrawal-not-offered": VIOLATOR,
    "consent.recognised-after-reject": VIOLATOR,
    "web.canvas-fingerprinting": VIOLATOR,
    "web.session-replay": VIOLATOR,
    "web.key-logging": VIOLATOR,
    "web.id-sync": VIOLATOR,
    "apps.identifier-leak": "com.violator.app",
    "apps.location-leak": "com.violator.app",
    "brokers.hidden-opt-out-page": SHADY,
    "brokers.dead-rights-link": SHADY,
    "brokers.no-gpc-support": SHADY,
    "brokers.policy-changed": SHADY,
    "brokers.gpc-ignored": SHADY,
    "vendors.undisclosed-cookie": VIOLATOR,
    "vendors.undisclosed-storage": VIOLATOR,
    "vendors.cookie-longer-than-declared": VIOLATOR,
    "vendors.undisclosed-domain": VIOLATOR,
    "vendors.purpose-without-basis": VIOLATOR,
    "vendors.forbidden-legitimate-interest": VIOLATOR,
    "vendors.precise-geo-without-opt-in": VIOLATOR,
    "vendors.not-in-cmp-list": VIOLATOR,
    "vendors.deleted-vendor-called": VIOLATOR,
}

TC_NOTHING = {"version": 2, "cmp_id": 28, "purposes_consent": [], "purposes_li_transparency": [],
              "vendor_consents": [], "vendor_legitimate_interests": [], "publisher_restrictions": [],
              "tcf_policy_version": 4}
TC_ALL = {**TC_NOTHING, "purposes_consent": [1, 2, 3, 4, 7], "vendor_consents": [32, 52, 755]}
# The banner's layout facts (consent.layout, crawler/consent/layout.py): balanced, and tilted towards accepting.
BALANCED_LAYOUT = {"accept": {"area": 8800.0, "font_size": 16.0, "contrast": 14.68, "looks_like": "button"},
                   "reject": {"area": 8800.0, "font_size": 16.0, "contrast": 14.68, "looks_like": "button"},
                   "ratios": {"area": 1.0, "font_size": 1.0, "contrast": 1.0}, "boxes": 2, "pre_ticked": 0,
                   "pre_ticked_labels": [], "necessary_locked": 1, "necessary_locked_labels": ["Strictly necessary"]}
TILTED_LAYOUT = {"accept": {"area": 11520.0, "font_size": 20.0, "contrast": 6.7, "looks_like": "button"},
                 "reject": {"area": 1280.0, "font_size": 10.0, "contrast": 2.85, "looks_like": "link"},
                 "ratios": {"area": 0.11, "font_size": 0.5, "contrast": 0.43}, "boxes": 3, "pre_ticked": 2,
                 "pre_ticked_labels": ["Advertising", "Audience measurement"], "necessary_locked": 0,
                 "necessary_locked_labels": []}


def png(width: int = 480, height: int = 300, banner: tuple[int, int, int] = (33, 52, 92), reject: bool = False) -> bytes:
    """A small PNG of a page with a cookie banner: header, text lines, a banner with its buttons."""
    rows = []
    for y in range(height):
        row = bytearray()
        for x in range(width):
            if y < 36:
                color = (235, 238, 243)
            elif y >= height - 90:
                color = banner
                if height - 45 <= y < height - 20 and width - 150 <= x < width - 20:
                    color = (46, 160, 90)  # accept
                elif reject and height - 45 <= y < height - 20 and width - 290 <= x < width - 160:
                    color = (200, 200, 200)  # reject
                elif height - 75 <= y < height - 68 and 20 <= x < width - 200:
                    color = (200, 208, 220)
            elif 60 <= y < height - 110 and (y - 60) % 22 < 8 and 24 <= x < width - 24 - (y * 7) % 120:
                color = (120, 126, 138)
            else:
                color = (255, 255, 255)
            row += bytes(color)
        rows.append(b"\x00" + bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
            + chunk(b"IEND", b""))


class _Builder:
    def __init__(self, store: Store, evidence: Path):
        self.store = store
        self.evidence = evidence

    def visit(self, crawl: int, site: str, phase: str, *, depth: int = 0, path: str = "/", status: str = "ok",
              screenshot: bool = True, reject_button: bool = False) -> int:
        url = f"https://www.{site}{path}"
        visit = self.store.insert("visits", {
            "crawl_id": crawl, "key": f"{url}|{phase}", "url": url, "final_url": url, "site": site,
            "final_site": site, "phase": phase, "depth": depth, "status": status, "http_status": 200,
            "title": f"{site} — <script>alert('{phase}')</script> home", "started_at": "2026-01-05T10:00:00.000Z",
            "finished_at": "2026-01-05T10:00:05.000Z", "load_ms": 800, "duration_ms": 5000, "attempt": 1})
        if screenshot:
            self.file(crawl, visit, f"screenshots/{visit}-{phase}.png", png(reject=reject_button), "screenshot")
        return visit

    def file(self, crawl: int, visit: int | None, rel: str, data: bytes, documents: str) -> int:
        path = self.evidence / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return self.store.add_evidence_file(path, documents, root=self.evidence, crawl_id=crawl, visit_id=visit)

    def cookie(self, visit: int, name: str, domain: str, *, identifier: int = 1, category: str | None = None,
               entity: str | None = None, third_party: int = 0, before_consent: int = 1,
               setter_url: str | None = None) -> int:
        return self.store.insert("cookies", {
            "visit_id": visit, "name": name, "value": f"{name}-value-1234567890", "domain": domain,
            "site": domain.lstrip(".").removeprefix("www."), "path": "/", "lifetime_days": 390.0 if identifier else None,
            "session": 0 if identifier else 1, "third_party": third_party, "set_by": "header" if third_party else "script",
            "before_consent": before_consent, "identifier": identifier, "tracker_category": category,
            "tracker_entity": entity, "set_at_ms": 300, "setter_url": setter_url})

    def request(self, visit: int, host: str, *, category: str | None = None, entity: str | None = None,
                third_party: int = 1, time_ms: int = 400, path: str = "/collect") -> int:
        site = ".".join(host.split(".")[-2:])
        return self.store.insert("requests", {
            "visit_id": visit, "url": f"https://{host}{path}?cid=1234.5678&rnd={time_ms}", "host": host,
            "site": site, "method": "GET", "resource_type": "image", "third_party": third_party, "status": 200,
            "time_ms": time_ms, "tracker_category": category, "tracker_entity": entity,
            "initiator_url": f"https://www.{host}/tag.js"})

    def consent(self, visit: int, phase: str, **row) -> int:
        return self.store.insert("consent", {"visit_id": visit, "phase": phase, **row})

    def script(self, visit: int, url: str, **flags) -> int:
        site = ".".join(url.split("/")[2].split(".")[-2:])
        return self.store.insert("scripts", {"visit_id": visit, "script_url": url, "script_site": site,
                                             "third_party": 1, "apis": 3, **flags})


TC_PLANTED = "CP60aCAP60aCAAHADBENAqEAAPAAAGAAAAqJGVQARGVEZTABEZSAAAAA.JGVQARGVAAAA"


def _vendors(b: _Builder, crawl: int, site: str) -> None:
    """A recorded vendor list of two fictitious vendors (so no other traffic of the case is matched), and an
    internal page of `site`, after an accept, where vendor 9001 (deleted from the list) does everything the
    vendors.* rules look for: a cookie it does not disclose, one kept 400 days (declared 30), its bidder's exchange, a host
    its disclosure does not list, data without consent (purposes 1 and 4), legitimate interest signalled for
    purpose 3, a bid request with precise coordinates and no geolocation opt-in, while the banner did not disclose
    it. Nothing else of the case reads these hosts: fictitious, no tracker category, no identifier cookie."""
    store = b.store
    day = 86_400
    gvl = store.insert("vendor_lists", {"version": 7, "gvl_specification_version": 3, "tcf_policy_version": 4,
                                        "sha256": "cd" * 32, "vendors": 2, "disclosures_fetched": 2})
    for vid, name, purposes, li, deleted, entity in ((9001, "Planted Ads", [1, 4], [2, 3], "2025-12-01T00:00:00Z",
                                                      "Planted Ads Co"),
                                                     (9002, "Quiet Ads", [1, 2], [], None, None)):
        store.insert("vendors", {"vendor_list_id": gvl, "vendor_id": vid, "name": name, "purposes": purposes,
                                 "leg_int_purposes": li, "flexible_purposes": [], "special_features": [1],
                                 "cookie_max_age_seconds": 30 * day, "disclosure_status": "ok",
                                 "domains": [f"{name.split()[0].lower()}-ads.example"], "deleted_date": deleted,
                                 "tracker_entity": entity})
        store.insert("vendor_disclosures", {"vendor_list_id": gvl, "vendor_id": vid, "identifier": "pa_id",
                                            "type": "cookie", "max_age_seconds": 30 * day,
                                            "domain": f"*.{name.split()[0].lower()}-ads.example", "purposes": [1]})
        store.insert("vendor_disclosures", {"vendor_list_id": gvl, "vendor_id": vid, "identifier": "pa_id",
                                            "type": "web", "max_age_seconds": None,
                                            "domain": f"*.{name.split()[0].lower()}-ads.example", "purposes": [1]})
    page = b.visit(crawl, site, "accept", depth=1, path="/vendors")
    b.consent(page, "accept", cmp="didomi", framework="tcf", source="api", event_status="tcloaded",
              raw=TC_PLANTED, action="accept", time_ms=100)  # no decoded: the consent rules read only `decoded`
    sync = store.insert("requests", {
        "visit_id": page, "url": "https://sync.planted-ads.example/u", "host": "sync.planted-ads.example",
        "site": "planted-ads.example", "method": "GET", "resource_type": "image", "third_party": 1, "status": 200,
        "time_ms": 400, "request_headers": {"Cookie": "pa_id=1"}})
    # its bidder's exchange (the Prebid adapter names its GVL id), a host its disclosure does not list
    exchange = store.insert("requests", {
        "visit_id": page, "url": "https://planted-cdn.example/bid", "host": "planted-cdn.example",
        "site": "planted-cdn.example", "method": "POST", "resource_type": "xhr", "third_party": 1, "status": 200,
        "time_ms": 450, "post_body_size": 120})
    store.insert("rtb", {"visit_id": page, "request_id": exchange, "event": "bidRequested", "library": "prebid",
                         "bidder": "plantedads", "exchange": "planted-cdn.example", "fields": {"gvlid": 9001}})
    for name, days in (("pa_id", 400.0), ("pa_extra", 20.0)):
        store.insert("cookies", {"visit_id": page, "name": name, "value": "v" * 20, "domain": ".planted-ads.example",
                                 "site": "planted-ads.example", "lifetime_days": days, "requested_lifetime_days": days,
                                 "session": 0, "third_party": 1, "set_by": "header", "request_id": sync,
                                 "set_at_ms": 420, "before_consent": 0, "identifier": 0})
    for key in ("pa_id", "pa_profile"):  # its frame's localStorage: pa_id declared (type web below), pa_profile not
        store.insert("storage_items", {"visit_id": page, "origin": "https://sync.planted-ads.example",
                                       "site": "planted-ads.example", "third_party": 1, "kind": "local", "name": key,
                                       "value": "x" * 12, "value_size": 12})
    bid = store.insert("requests", {
        "visit_id": page, "url": "https://rtb.planted-ads.example/openrtb2", "host": "rtb.planted-ads.example",
        "site": "planted-ads.example", "method": "POST", "resource_type": "fetch", "third_party": 1, "status": 200,
        "time_ms": 500, "post_body_size": 300})
    store.insert("rtb", {"visit_id": page, "request_id": bid, "event": "openrtb-request", "library": "openrtb",
                         "exchange": "rtb.planted-ads.example", "personal_fields": ["device.geo"],
                         "fields": {"device": {"geo": {"lat": 48.85661, "lon": 2.35222}}}})


def build_case(path: str | Path, *, violations: bool = True, offset: int = 0) -> Path:
    """Write the synthetic case to a new database at `path` (its evidence in `<path>.evidence/`)."""
    path = Path(path)
    store = Store(path)
    b = _Builder(store, Path(f"{path}.evidence"))
    if offset:  # unrelated rows first: every id below shifts
        dummy = store.start_crawl("web", command=["mouchard", "crawl"])
        for i in range(offset):
            v = b.visit(dummy, f"filler{i}.example", "initial", screenshot=False)
            b.request(v, "cdn.filler.example", third_party=0)
            store.insert("consent", {"visit_id": v, "phase": "initial", "framework": "cmp"})
        store.finish_crawl(dummy)
    web = store.start_crawl("web", config={"seed": 7, "phases": ["initial", "reject", "accept", "gpc"]},
                            browser="/usr/bin/chromium", browser_version="Chromium 156.0.0.0",
                            browser_args=["--headless=new"], command=["mouchard", "crawl", "--consent", "all"],
                            tracker_lists=[{"name": "mouchard", "version": "2026.01", "sha256": "ab" * 32,
                                            "licence": "AGPL-3.0-or-later"}])
    _web_compliant(b, web, COMPLIANT)
    _web_cycle(b, web, COMPLIANT, violations=False)
    _web_unverified(b, web)
    if violations:
        _web_violations(b, web)
        _web_cycle(b, web, VIOLATOR, violations=True)
        _vendors(b, web, VIOLATOR)
    store.finish_crawl(web, summary={"visits": store.count("visits")})
    app = store.start_crawl("import", command=["mouchard", "import", "capture.mitm"])
    _apps(b, app, violations)
    store.finish_crawl(app)
    _brokers(b, store, violations)
    store.close()
    return path


def _web_compliant(b: _Builder, crawl: int, site: str) -> None:
    initial = b.visit(crawl, site, "initial", reject_button=True)
    b.cookie(initial, "session", f"www.{site}", identifier=0)
    b.cookie(initial, "euconsent-v2", f"www.{site}", identifier=1)  # the CMP's own record: not tracking
    b.request(initial, f"static.{site}", third_party=0)
    b.consent(initial, "initial", cmp="didomi", framework="tcf", source="api", event_status="cmpuishown",
              raw="CQ-nothing", decoded=TC_NOTHING, action="none", reject_first_layer=1, time_ms=200)
    b.consent(initial, "initial", cmp="didomi", source="action", action="none", layout=BALANCED_LAYOUT, time_ms=200)
    b.script(initial, f"https://static.{site}/app.js", canvas_fingerprinting=0, session_replay=0)
    b.store.insert("leaks", {"crawl_id": crawl, "visit_id": initial, "identifier": "email", "chain": "plain",
                             "location": "body", "destination_host": f"search.{site}", "destination_site": site,
                             "third_party": 0})
    reject = b.visit(crawl, site, "reject", reject_button=True)
    b.consent(reject, "reject", cmp="didomi", framework="tcf", source="api", event_status="useractioncomplete",
              raw="CQ-nothing", decoded=TC_NOTHING, action="reject", action_method="didomi", verified=1,
              reject_first_layer=1, time_ms=1000)
    # before the click: counted by the before-consent rule (nothing here), never as "after reject"
    b.cookie(reject, "_ga", f"www.{site}", category="analytics", entity="Google", before_consent=1)
    b.request(reject, "www.google-analytics.com", category="analytics", entity="Google", time_ms=500)
    accept = b.visit(crawl, site, "accept", reject_button=True)
    b.consent(accept, "accept", cmp="didomi", framework="tcf", source="api", event_status="useractioncomplete",
              raw="CQ-all", decoded=TC_ALL, action="accept", verified=1, reject_first_layer=1, time_ms=1000)
    b.cookie(accept, "IDE", ".doubleclick.net", category="advertising", entity="Google", third_party=1, before_consent=0)
    b.request(accept, "ib.adnxs.com", category="advertising", entity="Microsoft", time_ms=1500)
    gpc = b.visit(crawl, site, "gpc", reject_button=True)
    b.consent(gpc, "gpc", framework="usp", source="api", raw="1YYN")
    b.request(gpc, "www.google-analytics.com", category="analytics", entity="Google", time_ms=600)  # not a sale


def _web_unverified(b: _Builder, crawl: int) -> None:
    reject = b.visit(crawl, UNVERIFIED, "reject")
    b.consent(reject, "reject", cmp="generic", framework="cmp", source="cookie", action="reject",
              action_method="generic", verified=0, verification="banner hidden, no consent cookie", time_ms=900)
    b.cookie(reject, "_fbp", f"www.{UNVERIFIED}", category="advertising", entity="Meta", before_consent=0)
    b.request(reject, "www.facebook.com", category="advertising", entity="Meta", time_ms=1200)


def _web_violations(b: _Builder, crawl: int) -> None:
    site = VIOLATOR
    initial = b.visit(crawl, site, "initial")
    banner = b.file(crawl, initial, f"banners/{initial}.png", png(banner=(90, 30, 30)), "banner")
    gtag = b.request(initial, "www.googletagmanager.com", category="tag-manager", entity="Google", path="/gtag/js")
    b.cookie(initial, "_ga", f"www.{site}", category=None, entity=None,  # first party, set by the tracker's script
             setter_url=b.store.rows("SELECT url FROM requests WHERE id = ?", [gtag])[0]["url"])
    b.cookie(initial, "session_id", f"www.{site}", setter_url=f"https://www.{site}/")  # the site's own: not tracking
    b.cookie(initial, "IDE", ".doubleclick.net", category="advertising", entity="Google", third_party=1)
    b.cookie(initial, "euconsent-v2", f"www.{site}")  # CMP cookie: never counted as tracking
    b.request(initial, "stats.g.doubleclick.net", category="advertising", entity="Google")
    b.request(initial, "www.google-analytics.com", category="analytics", entity="Google")
    b.request(initial, f"static.{site}", third_party=0)
    b.consent(initial, "initial", cmp="onetrust", cmp_id=28, framework="tcf", source="api", event_status="tcloaded",
              raw="CQ-granted-before-choice", decoded=TC_ALL, action="none", reject_first_layer=0,
              screenshot_file_id=banner, time_ms=150)
    b.consent(initial, "initial", cmp="onetrust", source="action", action="none", layout=TILTED_LAYOUT,
              screenshot_file_id=banner, time_ms=150)
    canvas = b.script(initial, "https://fp.tracker.example/fp.js?v=123", canvas_fingerprinting=1,
                      canvas_font_fingerprinting=0, session_replay=0, tracker_category="fingerprinting")
    assert canvas
    for api in ("HTMLCanvasElement.toDataURL", "CanvasRenderingContext2D.fillText", "Navigator.userAgent"):
        b.store.insert("js_calls", {"visit_id": initial, "script_url": "https://fp.tracker.example/fp.js?v=123",
                                    "script_site": "tracker.example", "third_party": 1, "api": api,
                                    "operation": "call", "arguments": ["<img src=x onerror=alert(1)>"], "calls": 1})
    b.script(initial, "https://static.hotjar.com/c/hotjar-1.js", session_replay=1, tracker_entity="Hotjar",
             tracker_category="session-replay")
    b.request(initial, "in.hotjar.com", category="session-replay", entity="Hotjar")
    keylog = b.request(initial, "rs.fullstory.com", category="session-replay", entity="FullStory", path="/rec/page")
    b.store.insert("leaks", {"crawl_id": crawl, "visit_id": initial, "request_id": keylog, "identifier": "email",
                             "chain": "json:$.evts[3].text>sha256", "location": "body", "field": "evts",
                             "destination_host": "rs.fullstory.com", "destination_site": "fullstory.com",
                             "third_party": 1, "tracker_entity": "FullStory"})
    sync = b.request(initial, "ib.adnxs.com", category="advertising", entity="Microsoft", path="/setuid")
    b.store.insert("id_syncs", {"visit_id": initial, "request_id": sync, "from_site": "doubleclick.net",
                                "from_entity": "Google", "to_site": "adnxs.com", "to_entity": "Microsoft",
                                "identifier_name": "IDE", "identifier_sha256": "cd" * 32, "location": "query",
                                "parameter": "uid"})
    page = b.visit(crawl, site, "initial", depth=1, path="/news/1")
    b.cookie(page, "_fbp", f"www.{site}", category="advertising", entity="Meta")
    reject = b.visit(crawl, site, "reject")
    b.consent(reject, "reject", cmp="onetrust", cmp_id=28, framework="tcf", source="api",
              event_status="useractioncomplete", raw="CQ-nothing", decoded=TC_NOTHING, action="reject",
              action_method="onetrust", verified=1, verification="OptanonConsent groups C0002:0, C0004:0",
              reject_first_layer=0, screenshot_file_id=banner, time_ms=1000)
    b.request(reject, "stats.g.doubleclick.net", category="advertising", entity="Google", time_ms=500)  # before
    b.cookie(reject, "_fbp", f"www.{site}", category="advertising", entity="Meta", before_consent=0)
    adnxs = b.request(reject, "ib.adnxs.com", category="advertising", entity="Microsoft", time_ms=1500)
    b.store.insert("rtb", {"visit_id": reject, "request_id": adnxs, "event": "bidRequested", "library": "prebid",
                           "bidder": "rubicon", "ad_unit": "top", "personal_fields": ["user.buyeruid"]})
    gpc = b.visit(crawl, site, "gpc")
    b.consent(gpc, "gpc", framework="usp", source="api", raw="1YNN")
    b.request(gpc, "bat.bing.com", category="advertising", entity="Microsoft", time_ms=700)


def _web_cycle(b: _Builder, crawl: int, site: str, *, violations: bool) -> None:
    """The revoke and second-site phases (crawler/consent/sequences.py): a withdrawal, then tracking after it or
    not; no way to reopen the choices; a cookie set on site A sent back from site B, or a different one."""
    accept = {"step": "accept", "action": "accept", "time_ms": 1000, "verified": 1, "verification": "cc_cookie"}
    reopen = {"step": "reopen", "time_ms": 1800, "method": "link", "verified": 1, "verification": "reopened"}
    withdraw = {"step": "withdraw", "action": "reject", "time_ms": 2000, "verified": 1, "verification": "cc_cookie"}
    revoke = b.visit(crawl, site, "revoke")
    b.consent(revoke, "revoke", cmp="vanilla-cookieconsent", source="action", action="revoke", verified=1,
              steps=[accept, reopen, withdraw], time_ms=1000)
    b.request(revoke, "www.facebook.com", category="advertising", entity="Meta", time_ms=1500)  # before: allowed
    if violations:
        b.request(revoke, "www.facebook.com", category="advertising", entity="Meta", time_ms=2600)
        closed = b.visit(crawl, site, "revoke", depth=1, path="/news/2")
        b.consent(closed, "revoke", cmp="vanilla-cookieconsent", source="action", action="revoke", verified=0,
                  steps=[accept, {"step": "reopen", "method": None, "verified": 0, "verification": "none found"}])
    fr = "fr-value-set-on-site-a" if violations else "fr-value-set-on-site-b"
    # site A's jar after the refusal: the value's hash only, as the crawler records it
    snapshot = [{"domain": "facebook.com", "name": "fr", "sha256": hashlib.sha256(b"fr-value-set-on-site-a").hexdigest()}]
    second = b.visit(crawl, site, "second-site")
    b.consent(second, "second-site", source="action", action="reject", verified=1, steps=[
        {"step": "visit-a", "url": "https://www.site-a.example/"},
        {"step": "reject-on-a", "action": "reject", "verified": 1, "verification": "TC string: no consent"},
        {"step": "jar", "cookies": 1, "snapshot": snapshot, "site_a": "site-a.example"},
        {"step": "visit-b", "site": site}])
    b.store.insert("requests", {
        "visit_id": second, "url": "https://www.facebook.com/tr/?id=1", "host": "www.facebook.com",
        "site": "facebook.com", "method": "GET", "resource_type": "image", "third_party": 1, "status": 200,
        "time_ms": 300, "tracker_category": None, "tracker_entity": "Meta",
        "request_headers": {"Cookie": f"fr={fr}; other=1"}})


def _apps(b: _Builder, crawl: int, violations: bool) -> None:
    store = b.store

    def flow(app: str, host: str) -> int:
        return store.insert("flows", {"crawl_id": crawl, "app": app, "app_source": "option", "kind": "http",
                                      "method": "POST", "url": f"https://{host}/v1/events", "host": host,
                                      "site": ".".join(host.split(".")[-2:]), "status": 200})

    own = flow("com.compliant.app", "api.compliant.example")
    store.insert("leaks", {"crawl_id": crawl, "flow_id": own, "identifier": "email", "chain": "json:$.user.email",
                           "location": "body", "destination_host": "api.compliant.example",
                           "destination_site": "compliant.example", "third_party": 0})
    if not violations:
        return
    ads = flow("com.violator.app", "graph.adtracker.example")
    for kind, chain in (("advertising_id", "gzip>json:$.device.ifa"), ("android_id", "query:aid>sha1")):
        store.insert("leaks", {"crawl_id": crawl, "flow_id": ads, "identifier": kind, "chain": chain, "location": "body",
                               "destination_host": "graph.adtracker.example", "destination_site": "adtracker.example",
                               "third_party": 1, "tracker_entity": "AdTracker Inc"})
    geo = flow("com.violator.app", "geo.locationbroker.example")
    store.insert("leaks", {"crawl_id": crawl, "flow_id": geo, "identifier": "location", "chain": "json:$.lat,$.lon",
                           "location": "body", "destination_host": "geo.locationbroker.example",
                           "destination_site": "locationbroker.example", "third_party": 1, "precision_m": 12.5,
                           "lat": 48.86, "lon": 2.29})


def _brokers(b: _Builder, store: Store, violations: bool) -> None:
    fetch = store.start_crawl("brokers-fetch", command=["mouchard", "brokers", "fetch", "--registry", "ca"])
    snapshot = store.insert("registry_snapshots", {"crawl_id": fetch, "registry": "ca", "year": 2025,
                                                   "source_url": "registry2025.csv", "sha256": "ef" * 32, "rows": 2})
    brokers = {}
    for name, key, site in ((CLEAN, "clean data", "cleandata.example"), (SHADY, "shady data", "shadydata.example")):
        if name == SHADY and not violations:
            continue
        brokers[name] = store.insert("brokers", {"snapshot_id": snapshot, "registry": "ca", "year": 2025, "key": key,
                                                 "name": name, "website": f"https://www.{site}/", "site": site,
                                                 "rights_url": f"https://www.{site}/privacy/opt-out"})
    store.finish_crawl(fetch)
    for round_, when in ((1, "2025-06-01T00:00:00.000Z"), (2, "2026-01-05T00:00:00.000Z")):
        crawl = store.start_crawl("brokers-crawl", command=["mouchard", "brokers", "crawl"])
        for name, broker in brokers.items():
            site = "shadydata.example" if name == SHADY else "cleandata.example"
            shady = name == SHADY

            def page(kind: str, path: str, **row) -> int:
                return store.insert("broker_pages", {
                    "crawl_id": crawl, "broker_id": broker, "kind": kind, "url": f"https://www.{site}{path}",
                    "final_url": f"https://www.{site}{path}", "status": "ok", "http_status": 200,
                    "clicks_from_home": 1, "hidden": 0, "fetched_at": when, **row})

            policy_text = "We sell data." if shady and round_ == 2 else "We respect your privacy."
            page("policy", "/privacy", text=policy_text, text_sha256=hashlib.sha256(policy_text.encode()).hexdigest())
            if round_ == 2:
                home = f"https://{VIOLATOR if shady else COMPLIANT}/"  # a consumer brand of the broker
                page("home", "/", final_url=home, redirects=[f"https://www.{site}/", home])
                if not shady:  # noindex by the privacy portal's default, not the broker's choice
                    page("access", "/privacy/access", hidden=1, hosted_by="OneTrust", hidden_reasons=["meta-noindex-raw"])
                page("opt-out", "/privacy/opt-out", hidden=int(shady), meta_noindex_raw=int(shady),
                     hidden_reasons=["meta-noindex-raw"] if shady else [], title="Opt out")
                page("gpc", "/.well-known/gpc.json", gpc="missing" if shady else "true",
                     status="not-found" if shady else "ok", http_status=404 if shady else 200)
                page("deletion", "/privacy/delete", status="not-found" if shady else "ok",
                     http_status=404 if shady else 200, reason="HTTP 404" if shady else None)
                page("rights", "/privacy/rights", status="timeout", http_status=None, reason="timed out")  # inconclusive
        store.finish_crawl(crawl)
