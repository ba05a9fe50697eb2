"""Databases for the Datasette tests, written through `mouchard.storage.store.Store` with rows shaped like the collectors'.

`build(path)` writes a small, fully known world: three web sites visited in every consent phase, an app capture,
a broker registry with broker pages, findings with evidence, and a real PNG screenshot in `<db>.evidence/`.
`build(path, hostile=True)` adds crawled strings that try to run script in the Datasette pages.
The canned-query tests assert exact rows of this world: extend it with new `add_*` functions rather than editing
existing rows, and add the expected rows to the tests. Import as `from data.datasette.fixtures import build`.
"""

from __future__ import annotations

import fcntl
import os
import struct
import subprocess
import sys
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from mouchard.classification.rollups import rebuild as rebuild_rollups
from mouchard.storage.store import Store, Writer

T0 = "2025-06-01T10:00:00.000Z"

# Crawled strings that must stay text in every page. Each one, if it ever ran, would set window.__pwned.
HOSTILE = {
    "script": "<script>window.__pwned='script'</script>",
    "img": "<img src=x onerror=\"window.__pwned='img';document.body.appendChild(document.createElement('blink')).id='injected'\">",
    "svg": "\"><svg onload=\"window.__pwned='svg'\"></svg>",
    "js_url": "javascript:window.__pwned='href'",
    "https_quote": "https://evil.example/\"><script>window.__pwned='url'</script>",
    "iframe": "<iframe srcdoc=\"<script>parent.__pwned='iframe'</script>\"></iframe>",
}


def png(width: int = 160, height: int = 100, rgb: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    """A valid PNG of one colour with a white band (looks like a banner on a page)."""
    rows = []
    for y in range(height):
        colour = (255, 255, 255) if height // 3 <= y < height // 2 else rgb
        rows.append(b"\x00" + bytes(colour) * width)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"".join(rows)))
            + chunk(b"IEND", b""))


@dataclass
class Fixture:
    """Ids of the rows the tests look for."""

    path: Path
    ids: dict[str, int] = field(default_factory=dict)

    @property
    def evidence_dir(self) -> Path:
        return Path(f"{self.path}.evidence")


def build(path: str | Path, *, hostile: bool = False) -> Fixture:
    """Write the fixture database at `path` (and its evidence folder) and close it, so it can be served immutable."""
    fixture = Fixture(Path(path))
    fixture.evidence_dir.mkdir(parents=True, exist_ok=True)
    with Store(fixture.path) as store:
        add_web(store, fixture)
        add_app(store, fixture)
        add_brokers(store, fixture)
        add_findings(store, fixture)
        if hostile:
            add_hostile(store, fixture)
        rebuild_rollups(store)  # as classify, a crawl's end and an audit do: the readers' pages read site_summary
    return fixture


def _visit(tx: Writer, crawl: int, site: str, phase: str, *, title: str | None = None, url: str | None = None,
           status: str = "ok") -> int:
    url = url or f"https://www.{site}/"
    return tx.insert("visits", {
        "crawl_id": crawl, "key": f"{url}|{phase}", "url": url, "final_url": url, "site": site, "final_site": site,
        "tags": ["news"], "phase": phase, "depth": 0, "status": status, "http_status": 200,
        "title": title or f"{site} home", "started_at": T0, "finished_at": T0, "load_ms": 850, "duration_ms": 4200,
        "attempt": 1,
    })


def _request(tx: Writer, visit: int, url: str, host: str, site: str, *, entity: str | None = None,
             category: str | None = None, third_party: bool = True, time_ms: int = 100,
             resource_type: str = "script") -> int:
    return tx.insert("requests", {
        "visit_id": visit, "url": url, "host": host, "site": site, "method": "GET", "resource_type": resource_type,
        "main_frame": 1, "third_party": third_party, "status": 200, "time_ms": time_ms,
        "request_headers": {"Accept": "*/*", "Cookie": "uid=abc123secret"},
        "response_headers": {"Content-Type": "text/javascript", "Set-Cookie": "uid=abc123secret; Max-Age=3600"},
        "tracker_entity": entity, "tracker_category": category, "tracker_list": "mouchard" if entity else None,
    })


def _cookie(tx: Writer, visit: int | None, name: str, domain: str, site: str, *, entity: str | None = None,
            category: str | None = None, identifier: bool = True, before_consent: bool = True,
            third_party: bool = True, lifetime_days: float | None = 390.0, flow: int | None = None) -> int:
    return tx.insert("cookies", {
        "visit_id": visit, "flow_id": flow, "name": name, "value": f"{name}-value-0123456789", "domain": domain,
        "path": "/", "site": site, "lifetime_days": lifetime_days, "session": int(lifetime_days is None),
        "secure": 1, "same_site": "None", "third_party": third_party, "set_by": "header",
        "setter_url": f"https://{domain.lstrip('.')}/set", "set_at_ms": 300, "before_consent": before_consent,
        "identifier": identifier, "identifier_reason": "long-lived, 22 chars, differs between profiles",
        "tracker_entity": entity, "tracker_category": category,
    })


def add_web(store: Store, fixture: Fixture) -> None:
    """news.example (trackers everywhere, keeps tracking after reject, ignores GPC), shop.example (Google only,
    before consent), quiet.example (no tracker)."""
    ids = fixture.ids
    crawl = store.start_crawl("web", config={"phases": ["initial", "reject", "accept", "gpc"]}, command=["mouchard"])
    ids["web_crawl"] = crawl
    screenshot = fixture.evidence_dir / "screens" / "news-banner.png"
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    screenshot.write_bytes(png())
    with store.transaction() as tx:
        # news.example, initial: Google (advertising) and Meta (social) before any click.
        v = ids["news_initial"] = _visit(tx, crawl, "news.example", "initial", title="News home")
        ids["news_screenshot"] = store.add_evidence_file(screenshot, "banner", root=fixture.evidence_dir,
                                                         crawl_id=crawl, visit_id=v, tx=tx)
        tx.insert("consent", {"visit_id": v, "phase": "initial", "cmp": "didomi", "framework": "tcf", "source": "api",
                              "raw": "CPzHq4APzHq4AAHABBENDNCgAP_AAH_AAAAAI_tZ", "event_status": "cmpuishown",
                              "action": "none", "screenshot_file_id": ids["news_screenshot"], "time_ms": 400})
        ids["news_dc_request"] = _request(tx, v, "https://securepubads.g.doubleclick.net/tag/js/gpt.js",
                                          "securepubads.g.doubleclick.net", "doubleclick.net",
                                          entity="Google", category="advertising")
        _request(tx, v, "https://www.google-analytics.com/g/collect?v=2", "www.google-analytics.com",
                 "google-analytics.com", entity="Google", category="analytics", resource_type="ping")
        _request(tx, v, "https://connect.facebook.net/en_US/fbevents.js", "connect.facebook.net", "facebook.net",
                 entity="Meta", category="social")
        _request(tx, v, "https://www.news.example/app.js", "www.news.example", "news.example", third_party=False)
        ids["news_ide_cookie"] = _cookie(tx, v, "IDE", ".doubleclick.net", "doubleclick.net", entity="Google",
                                         category="advertising")
        _cookie(tx, v, "_fbp", ".news.example", "news.example", entity="Meta", category="social", third_party=False,
                lifetime_days=90)
        _cookie(tx, v, "session", "www.news.example", "news.example", identifier=False, third_party=False,
                lifetime_days=None)
        tx.insert("scripts", {"visit_id": v, "script_url": "https://fp.example/fp.js", "script_site": "fp.example",
                              "third_party": 1, "canvas_fingerprinting": 1, "webgl_fingerprinting": 1, "apis": 7,
                              "tracker_entity": "FingerprintCo", "tracker_category": "advertising"})
        auction = "a-1"
        for event, bidder, cpm, won in (("bidRequested", "appnexus", None, 0), ("bidRequested", "rubicon", None, 0),
                                        ("bidResponse", "appnexus", 1.2, 0), ("bidResponse", "rubicon", 0.8, 0),
                                        ("bidWon", "appnexus", 1.2, 1)):
            tx.insert("rtb", {"visit_id": v, "event": event, "library": "prebid", "auction_id": auction,
                              "bidder": bidder, "exchange": f"ib.{bidder}.example", "ad_unit": "top-banner",
                              "sizes": [[728, 90]], "cpm": cpm, "currency": "EUR" if cpm else None,
                              "timeout_ms": 1500, "won": won,
                              "personal_fields": ["user.buyeruid", "device.geo"] if bidder == "appnexus" else [],
                              "tracker_entity": "Microsoft" if bidder == "appnexus" else "Magnite",
                              "tracker_category": "advertising"})
        ids["news_sync"] = tx.insert("id_syncs", {
            "visit_id": v, "from_site": "adnxs.com", "from_entity": "Microsoft", "to_site": "rubiconproject.com",
            "to_entity": "Magnite", "identifier_name": "uuid2", "identifier_sha256": "0" * 64, "location": "query",
            "parameter": "uid", "encoding": "urlencode"})

        # news.example, reject: verified refusal at 1000 ms, then Xandr (Microsoft) and a new identifier cookie.
        v = ids["news_reject"] = _visit(tx, crawl, "news.example", "reject", title="News home")
        tx.insert("consent", {"visit_id": v, "phase": "reject", "cmp": "didomi", "framework": "tcf",
                              "source": "api", "action": "reject", "action_method": "autoconsent", "verified": 1,
                              "reject_first_layer": 1, "time_ms": 1000})
        _request(tx, v, "https://securepubads.g.doubleclick.net/tag/js/gpt.js", "securepubads.g.doubleclick.net",
                 "doubleclick.net", entity="Google", category="advertising", time_ms=500)
        _request(tx, v, "https://ib.adnxs.com/ut/v3/prebid", "ib.adnxs.com", "adnxs.com", entity="Microsoft",
                 category="advertising", time_ms=1500, resource_type="xhr")
        _cookie(tx, v, "uuid2", ".adnxs.com", "adnxs.com", entity="Microsoft", category="advertising",
                before_consent=False)

        # news.example, accept and gpc.
        v = ids["news_accept"] = _visit(tx, crawl, "news.example", "accept")
        _request(tx, v, "https://securepubads.g.doubleclick.net/pagead/ads", "securepubads.g.doubleclick.net",
                 "doubleclick.net", entity="Google", category="advertising", time_ms=2000)
        v = ids["news_gpc"] = _visit(tx, crawl, "news.example", "gpc")
        tx.insert("consent", {"visit_id": v, "phase": "gpc", "framework": "gpc", "source": "well-known",
                              "raw": '{"gpc": true, "lastUpdate": "2025-01-01"}', "time_ms": 0})
        _request(tx, v, "https://securepubads.g.doubleclick.net/pagead/ads", "securepubads.g.doubleclick.net",
                 "doubleclick.net", entity="Google", category="advertising")
        _cookie(tx, v, "IDE", ".doubleclick.net", "doubleclick.net", entity="Google", category="advertising")

        # shop.example: Google Analytics and its first-party _ga before consent; reject stops everything.
        v = ids["shop_initial"] = _visit(tx, crawl, "shop.example", "initial", title="Shop")
        _request(tx, v, "https://www.google-analytics.com/g/collect?v=2", "www.google-analytics.com",
                 "google-analytics.com", entity="Google", category="analytics", resource_type="ping")
        _cookie(tx, v, "_ga", ".shop.example", "shop.example", entity="Google", category="analytics",
                third_party=False, lifetime_days=400)
        v = ids["shop_reject"] = _visit(tx, crawl, "shop.example", "reject", title="Shop")
        tx.insert("consent", {"visit_id": v, "phase": "reject", "cmp": "tarteaucitron", "framework": "cmp",
                              "source": "cookie", "action": "reject", "verified": 1, "time_ms": 800})
        _request(tx, v, "https://www.google-analytics.com/g/collect?v=2", "www.google-analytics.com",
                 "google-analytics.com", entity="Google", category="analytics", time_ms=200)

        # quiet.example: first party only; a failed visit must not count.
        ids["quiet_initial"] = v = _visit(tx, crawl, "quiet.example", "initial", title="Quiet")
        _request(tx, v, "https://quiet.example/style.css", "quiet.example", "quiet.example", third_party=False,
                 resource_type="stylesheet")
        _visit(tx, crawl, "down.example", "reject", status="timeout")
    store.finish_crawl(crawl)


def add_app(store: Store, fixture: Fixture) -> None:
    """com.weather.app leaks location and advertising id to two companies; com.game.app leaks the advertising id;
    com.bank.app pins its certificate."""
    ids = fixture.ids
    crawl = store.start_crawl("app", command=["mouchard", "proxy"])
    ids["app_crawl"] = crawl

    def flow(tx: Writer, app: str, host: str, site: str, entity: str | None, category: str | None,
             kind: str = "http", error: str | None = None) -> int:
        return tx.insert("flows", {
            "crawl_id": crawl, "app": app, "app_source": "option", "client": "10.0.0.7", "started_at": T0,
            "kind": kind, "method": "POST" if kind == "http" else None, "url": f"https://{host}/v1/track?ifa=[GAID]",
            "host": host, "site": site, "status": 200 if kind == "http" else None, "error": error,
            "request_headers": {"User-Agent": "okhttp/4", "Authorization": "Bearer secret-token"},
            "tracker_entity": entity, "tracker_category": category,
        })

    def leak(tx: Writer, flow_id: int, identifier: str, host: str, site: str, entity: str | None, chain: str,
             lat: float | None = None, lon: float | None = None, precision: float | None = None) -> int:
        return tx.insert("leaks", {
            "crawl_id": crawl, "flow_id": flow_id, "identifier": identifier, "chain": chain, "location": "body",
            "field": "$.device.ifa" if identifier == "advertising_id" else "$.loc", "destination_host": host,
            "destination_site": site, "third_party": 1, "precision_m": precision, "lat": lat, "lon": lon,
            "tracker_entity": entity, "tracker_category": "advertising" if entity else None,
        })

    with store.transaction() as tx:
        f = ids["weather_ads_flow"] = flow(tx, "com.weather.app", "ads.weatherads.example", "weatherads.example",
                                           "WeatherAds", "advertising")
        leak(tx, f, "location", "ads.weatherads.example", "weatherads.example", "WeatherAds", "json:$.loc>round4",
             lat=48.86, lon=2.29, precision=12.0)
        leak(tx, f, "advertising_id", "ads.weatherads.example", "weatherads.example", "WeatherAds", "json:$.device.ifa")
        f = flow(tx, "com.weather.app", "graph.facebook.com", "facebook.com", "Meta", "social")
        leak(tx, f, "advertising_id", "graph.facebook.com", "facebook.com", "Meta", "gzip>json:$.advertiser_id")
        leak(tx, f, "email", "graph.facebook.com", "facebook.com", "Meta", "json:$.ud.em>sha256")
        _cookie(tx, None, "fr", ".facebook.com", "facebook.com", entity="Meta", category="social", flow=f)
        tx.insert("rtb", {"flow_id": f, "event": "openrtb-request", "library": "openrtb", "exchange": "graph.facebook.com",
                          "personal_fields": ["device.ifa", "device.geo"], "tracker_entity": "Meta"})
        tx.insert("id_syncs", {"flow_id": f, "from_site": "weatherads.example", "from_entity": "WeatherAds",
                               "to_site": "facebook.com", "to_entity": "Meta", "identifier_name": "wa_uid",
                               "identifier_sha256": "1" * 64, "location": "body", "parameter": "partner_uid"})
        f = flow(tx, "com.game.app", "ms.applovin.com", "applovin.com", "AppLovin", "advertising")
        leak(tx, f, "advertising_id", "ms.applovin.com", "applovin.com", "AppLovin", "base64>json:$.idfa")
        flow(tx, "com.bank.app", "api.bank.example", "bank.example", None, None, kind="tls-failure",
             error="client refused the certificate (pinning)")
    store.finish_crawl(crawl)


def add_brokers(store: Store, fixture: Fixture) -> None:
    """California 2024 and 2025 snapshots: Acme Data (minors + geolocation, hides its opt-out page, personal
    contact email), Beta Brokers (reproductive health), Gamma Inc (declares nothing)."""
    ids = fixture.ids
    crawl = store.start_crawl("brokers-fetch", command=["mouchard", "brokers", "fetch"])
    with store.transaction() as tx:
        for year in (2024, 2025):
            snapshot = tx.insert("registry_snapshots", {"crawl_id": crawl, "registry": "ca", "year": year,
                                                        "source_url": f"https://cppa.example/registry{year}.csv",
                                                        "fetched_at": T0, "sha256": "2" * 64, "rows": 3})
            for key, name, state, minors, geo, health, email, personal in (
                    ("acme data", "Acme Data LLC", "CA", "yes", "yes" if year == 2025 else "no", "no",
                     "jane.doe@gmail.com", 1),
                    ("beta brokers", "Beta Brokers Inc", "CA", "no", "no", "yes", "privacy@beta.example", 0),
                    ("gamma", "Gamma Inc", "TX", "no", "no", "no", "privacy@gamma.example", 0)):
                row_id = tx.insert("brokers", {
                    "snapshot_id": snapshot, "registry": "ca", "year": year, "key": key, "name": name,
                    "website": f"https://www.{key.split()[0]}.example/", "site": f"{key.split()[0]}.example",
                    "email": email, "email_personal": personal, "phone": "+1 555 0100", "address": "1 Main St",
                    "city": "Springfield", "state": state, "country": "US", "minors": minors,
                    "precise_geolocation": geo, "reproductive_health": health, "fcra": "no", "glba": "no",
                    "rights_url": f"https://www.{key.split()[0]}.example/privacy/opt-out",
                    "notes": f"Contact {email} for requests", "raw_json": {"Email": email, "Name": name},
                })
                ids[f"broker_{key.split()[0]}_{year}"] = row_id
    crawl = store.start_crawl("brokers-crawl", command=["mouchard", "brokers", "crawl"])
    with store.transaction() as tx:
        ids["acme_hidden_page"] = tx.insert("broker_pages", {
            "crawl_id": crawl, "broker_id": ids["broker_acme_2025"], "kind": "opt-out",
            "url": "https://www.acme.example/privacy/opt-out", "status": "ok", "http_status": 200,
            "meta_noindex_raw": 1, "meta_noindex_rendered": 1, "x_robots_tag": [], "hidden": 1,
            "hidden_reasons": ["meta robots noindex (raw HTML)", "meta robots noindex (rendered DOM)"],
            "title": "Opt out of the sale of your data", "text": "Submit this form to opt out of data sales.",
            "fetched_at": T0})
        tx.insert("broker_pages", {
            "crawl_id": crawl, "broker_id": ids["broker_beta_2025"], "kind": "opt-out",
            "url": "https://www.beta.example/privacy/opt-out", "status": "ok", "http_status": 200, "hidden": 0,
            "hidden_reasons": [], "title": "Your privacy choices", "text": "Reproductive health data opt-out form.",
            "fetched_at": T0})
        tx.insert("broker_pages", {
            "crawl_id": crawl, "broker_id": ids["broker_gamma_2025"], "kind": "policy",
            "url": "https://www.gamma.example/privacy", "status": "ok", "http_status": 200, "hidden": 1,
            "hidden_reasons": ["robots.txt disallows Googlebot"], "title": "Privacy policy", "fetched_at": T0})
    store.finish_crawl(crawl)


def add_findings(store: Store, fixture: Fixture) -> None:
    """A TCF finding and a GPC finding on news.example, and an app finding, with evidence links."""
    ids = fixture.ids
    crawl = store.start_crawl("audit", command=["mouchard", "audit"])
    with store.transaction() as tx:
        ids["tcf_finding"] = tx.insert("findings", {
            "crawl_id": crawl, "rule_id": "consent.tcf-vendor-without-consent", "rule_version": "1",
            "severity": "high", "title": "Google received a request without consent in the TC string",
            "detail": "Vendor 755 has no consent in the TC string in force.", "jurisdiction": "eu",
            "legal_reference": "ePrivacy art. 5(3); GDPR art. 6", "subject": "news.example",
            "visit_id": ids["news_initial"],
            "evidence": [{"table": "requests", "id": ids["news_dc_request"]},
                         {"table": "cookies", "id": ids["news_ide_cookie"]},
                         {"table": "evidence_files", "id": ids["news_screenshot"]}],
            "fingerprint": "f1", "created_at": T0})
        ids["gpc_finding"] = tx.insert("findings", {
            "crawl_id": crawl, "rule_id": "consent.gpc-ignored", "rule_version": "1", "severity": "medium",
            "title": "GPC signal ignored", "detail": "Advertising requests and cookies despite Sec-GPC: 1.",
            "jurisdiction": "us-ca", "legal_reference": "CCPA regs § 7025", "subject": "news.example",
            "visit_id": ids["news_gpc"], "evidence": [{"table": "visits", "id": ids["news_gpc"]}],
            "fingerprint": "f2", "created_at": T0})
        ids["app_finding"] = tx.insert("findings", {
            "crawl_id": crawl, "rule_id": "app.location-to-third-party", "rule_version": "1", "severity": "high",
            "title": "Location sent to an advertiser", "detail": "Precise location in a request body.",
            "jurisdiction": "eu", "subject": "com.weather.app", "flow_id": ids["weather_ads_flow"],
            "evidence": [{"table": "flows", "id": ids["weather_ads_flow"]}], "fingerprint": "f3", "created_at": T0})
    store.finish_crawl(crawl)


def add_hostile(store: Store, fixture: Fixture) -> None:
    """Crawled strings that try to run script: in titles, URLs, cookie names, broker names, app names, findings,
    evidence JSON and evidence paths (a traversal attempt and a symlink out of the evidence folder)."""
    ids = fixture.ids
    crawl = ids["web_crawl"]
    outside = fixture.path.parent / "outside-secret.png"
    outside.write_bytes(png(rgb=(0, 0, 0)))
    link = fixture.evidence_dir / "screens" / "link.png"
    link.symlink_to(outside)
    with store.transaction() as tx:
        for name, text in HOSTILE.items():
            site = f"{name.replace('_', '-')}.hostile.example"
            v = _visit(tx, crawl, site, "initial", title=text, url=f"https://{site}/?q={text}")
            ids[f"hostile_visit_{name}"] = v
            _request(tx, v, text, text, "hostile.example", entity=text, category="advertising")
            _cookie(tx, v, text, ".hostile.example", "hostile.example", entity=text, category="advertising")
            tx.insert("storage_items", {"visit_id": v, "origin": text, "site": "hostile.example", "kind": "local",
                                        "name": text, "value": text, "value_size": len(text)})
            tx.insert("brokers", {"registry": "list", "year": 2025, "key": f"hostile {name}", "name": text,
                                  "website": text, "site": site, "state": text, "minors": "yes", "notes": text})
            f = tx.insert("flows", {"app": text, "kind": "http", "url": text, "host": site, "site": site})
            tx.insert("leaks", {"flow_id": f, "identifier": "location", "destination_host": text,
                                "destination_site": text, "lat": 45.0, "lon": 5.0, "chain": text})
            tx.insert("findings", {"rule_id": "consent.tcf-hostile", "severity": "high", "title": text,
                                   "detail": text, "subject": site, "visit_id": v,
                                   "evidence": [{"table": text, "id": 1}, {"table": "visits", "id": text},
                                                {"table": "visits", "id": v}]})
        ids["traversal_file"] = tx.insert("evidence_files", {"path": "../outside-secret.png", "media_type": "image/png",
                                                             "sha256": "0" * 64, "documents": "screenshot"})
        ids["symlink_file"] = tx.insert("evidence_files", {"path": "screens/link.png", "media_type": "image/png",
                                                           "sha256": "0" * 64, "documents": "screenshot"})
        ids["absolute_file"] = tx.insert("evidence_files", {"path": str(outside), "media_type": "image/png",
                                                            "sha256": "0" * 64, "documents": "screenshot"})


# Crawled strings aimed at the readers' pages (tags, company names, TC strings, a second crawl for /changes):
# each one, if it ever ran, would open an alert() (the browser tests fail on any dialog) or set window.__pwned.
READER_HOSTILE = {
    "entity": "<img src=x onerror=\"alert('entity');window.__pwned='entity'\">",
    "tag": "<script>alert('tag');window.__pwned='tag'</script>",
    "app": "\"><svg onload=\"alert('app')\"></svg>",
    "broker": "<iframe srcdoc=\"<script>parent.alert('broker')</script>\"></iframe>",
    "bidder": "javascript:alert('bidder')",
    "tc": "CP<script>alert('tc')</script>AAA",
}


def add_reader_hostile(path: str | Path, fixture: Fixture) -> None:
    """A second web crawl of the hostile sites (so that /changes has two crawls to compare) with hostile tags,
    company names, a hostile TC string, pixel event, bidder and id sync; a hostile app and broker. Not part of
    `build`: the browser tests of the readers' pages call it on a hostile fixture (`build(path, hostile=True)`),
    so the exact rows other tests assert stay as they are. Rebuilds the readers' rollups of every web crawl."""
    ids = fixture.ids
    evil = READER_HOSTILE
    with Store(path) as store:
        crawl = store.start_crawl("web", config={"phases": ["initial", "reject", "accept", "gpc"]},
                                  command=["mouchard"])
        ids["reader_hostile_crawl"] = crawl
        with store.transaction() as tx:
            for name, text in HOSTILE.items():
                site = f"{name.replace('_', '-')}.hostile.example"
                v = tx.insert("visits", {
                    "crawl_id": crawl, "key": f"https://{site}/|initial", "url": f"https://{site}/?q={text}",
                    "final_url": f"https://{site}/", "site": site, "final_site": site, "tags": [evil["tag"], "party"],
                    "phase": "initial", "depth": 0, "status": "ok", "http_status": 200, "title": evil["entity"],
                    "started_at": T0, "finished_at": T0, "load_ms": 900, "duration_ms": 4000, "attempt": 1})
                ids[f"reader_hostile_visit_{name}"] = v
                request = _request(tx, v, f"https://t.example/p?x={evil['entity']}", "t.example", "t.example",
                                   entity=evil["entity"], category="advertising")
                _request(tx, v, text, text, "hostile.example", entity=text, category=evil["tag"])
                _cookie(tx, v, evil["entity"], ".t.example", "t.example", entity=evil["entity"],
                        category="advertising")
                tx.insert("consent", {"visit_id": v, "phase": "initial", "cmp": evil["entity"], "framework": "tcf",
                                      "source": "cookie", "name": "euconsent-v2", "raw": evil["tc"],
                                      "decoded": {"vendors": [evil["entity"]]}, "action": "none", "time_ms": 300})
                tx.insert("pixel_events", {"visit_id": v, "request_id": request, "vendor": "meta",
                                           "tag_id": evil["tag"], "event": evil["entity"], "page_url": text,
                                           "parameters": {"cd[x]": text}, "location": "url", "time_ms": 500})
                tx.insert("rtb", {"visit_id": v, "event": "bidRequested", "library": "prebid", "auction_id": text,
                                  "bidder": evil["bidder"], "exchange": text, "ad_unit": text,
                                  "personal_fields": [text], "tracker_entity": evil["entity"]})
                tx.insert("id_syncs", {"visit_id": v, "from_site": site, "from_entity": evil["entity"],
                                       "to_site": "t.example", "to_entity": text, "identifier_name": text,
                                       "identifier_sha256": "3" * 64, "location": "query", "parameter": text})
            flow = tx.insert("flows", {"crawl_id": ids["app_crawl"], "app": evil["app"], "kind": "http",
                                       "url": "https://t.example/a", "host": "t.example", "site": "t.example",
                                       "tracker_entity": evil["entity"], "tracker_category": "advertising"})
            tx.insert("leaks", {"crawl_id": ids["app_crawl"], "flow_id": flow, "identifier": "location",
                                "chain": evil["app"], "location": "body", "destination_host": "t.example",
                                "destination_site": "t.example", "third_party": 1, "lat": 48.0, "lon": 2.0,
                                "precision_m": 10.0, "tracker_entity": evil["entity"]})
            broker = tx.insert("brokers", {"registry": "ca", "year": 2025, "key": "hostile reader broker",
                                           "name": evil["broker"], "website": evil["bidder"], "site": "t.example",
                                           "state": evil["tag"], "minors": "yes", "notes": evil["broker"],
                                           "rights_url": evil["bidder"]})
            tx.insert("broker_pages", {"broker_id": broker, "kind": "opt-out", "url": evil["bidder"], "status": "ok",
                                       "http_status": 200, "hidden": 1, "hidden_reasons": [evil["broker"]],
                                       "title": evil["broker"], "text": evil["tag"], "fetched_at": T0})
        store.finish_crawl(crawl)
        rebuild_rollups(store)  # the readers' per-site rollups of both web crawls, as the end of a crawl builds them


# Two monthly crawls of one tagged list (French party, campaign and news sites) for /compare and /changes, and a
# registered data broker that is also a tracker company (Acxiom) with its GPC statement and a finding.
READER_SITES = {"parti.example": ["party", "national"], "campagne.example": ["party", "campaign"],
                "journal.example": ["news", "national"], "gazette.example": ["news", "regional"]}
# Per crawl, site and phase: (status, [(entity, category, time_ms)], consent (cmp, verified) or None).
READER_CRAWLS = (
    {("parti.example", "initial"): ("ok", [("Google", "advertising", 100), ("Meta", "social", 120),
                                           ("Criteo", "advertising", 150)], None),
     ("campagne.example", "initial"): ("ok", [("Meta", "social", 100), ("Hotjar", "session-replay", 200)], None),
     ("journal.example", "initial"): ("ok", [("Google", "advertising", 100), ("Acxiom", "advertising", 300)], None),
     ("gazette.example", "initial"): ("ok", [], None),
     ("parti.example", "reject"): ("ok", [], ("axeptio", 0)),
     ("journal.example", "reject"): ("ok", [("Google", "advertising", 1500)], ("didomi", 1))},
    {("parti.example", "initial"): ("ok", [("Google", "advertising", 100), ("Meta", "social", 120),
                                           ("Criteo", "advertising", 150), ("TikTok", "advertising", 160)], None),
     ("campagne.example", "initial"): ("ok", [("Meta", "social", 100)], None),
     ("journal.example", "initial"): ("ok", [("Google", "advertising", 100), ("Acxiom", "advertising", 300)], None),
     ("gazette.example", "initial"): ("timeout", [], None),
     ("parti.example", "reject"): ("ok", [("Google", "advertising", 1500)], ("axeptio", 0)),
     ("journal.example", "reject"): ("ok", [("Google", "advertising", 1500)], ("didomi", 0)),
     # A phase the first crawl did not make: Xandr here is not "new" (nothing to compare it with).
     ("journal.example", "gpc"): ("ok", [("Xandr", "advertising", 100)], None)},
)


def add_reader_crawls(path: str | Path, fixture: Fixture) -> None:
    """Two web crawls of the same tagged list (`reader_crawl_1`, `reader_crawl_2`; visits `reader_<n>_<site>_<phase>`)
    and the broker Acxiom (`broker_acxiom`). Crawl 1: parti.example calls Google, Meta, Criteo, sends a Meta pixel
    event and sets an identifier cookie before consent; campagne.example records the session (Hotjar);
    journal.example calls Acxiom (a registered broker) and fingerprints; gazette.example calls no one. Crawl 2:
    TikTok appears on parti.example, Hotjar is gone from campagne.example, gazette.example times out, journal's
    refusal is no longer verified, parti.example calls Google after "reject", and journal.example is also visited
    with GPC (Xandr), a phase crawl 1 did not make. Not part of `build`."""
    ids = fixture.ids
    with Store(path) as store:
        for n, plan in enumerate(READER_CRAWLS, 1):
            crawl = store.start_crawl("web", config={"phases": ["initial", "reject"], "targets": 4,
                                                     "targets_sha256": "f" * 64, "list": "fr-sample.csv"},
                                      command=["mouchard", "crawl"])
            ids[f"reader_crawl_{n}"] = crawl
            with store.transaction() as tx:
                for (site, phase), (status, trackers, consent) in plan.items():
                    url = f"https://www.{site}/"
                    v = tx.insert("visits", {
                        "crawl_id": crawl, "key": f"{url}|{phase}", "url": url, "final_url": url, "site": site,
                        "final_site": site, "tags": READER_SITES[site], "phase": phase, "depth": 0, "status": status,
                        "http_status": 200 if status == "ok" else None, "title": f"{site} accueil",
                        "started_at": f"2026-0{n}-01T10:00:00.000Z", "finished_at": f"2026-0{n}-01T10:00:05.000Z",
                        "load_ms": 800, "duration_ms": 4000, "attempt": 1})
                    ids[f"reader_{n}_{site.split('.')[0]}_{phase}"] = v
                    for entity, category, time_ms in trackers:
                        host = f"t.{entity.lower()}.example"
                        request = _request(tx, v, f"https://{host}/t.js", host, f"{entity.lower()}.example",
                                           entity=entity, category=category, time_ms=time_ms)
                        if entity == "Meta" and site == "parti.example":
                            tx.insert("pixel_events", {"visit_id": v, "request_id": request, "vendor": "meta",
                                                       "tag_id": "1234567890", "event": "PageView", "location": "url",
                                                       "time_ms": time_ms})
                    if consent:
                        tx.insert("consent", {"visit_id": v, "phase": phase, "cmp": consent[0], "framework": "cmp",
                                              "source": "action", "action": "reject", "verified": consent[1],
                                              "time_ms": 1000})
                    if (site, phase) == ("parti.example", "initial") and n == 1:
                        _cookie(tx, v, "IDE", ".doubleclick.net", "doubleclick.net", entity="Google",
                                category="advertising")
                    if (site, phase) == ("campagne.example", "initial") and n == 1:
                        tx.insert("scripts", {"visit_id": v, "script_url": "https://static.hotjar.example/h.js",
                                              "script_site": "hotjar.example", "third_party": 1, "session_replay": 1,
                                              "session_replay_service": "Hotjar", "tracker_entity": "Hotjar",
                                              "tracker_category": "session-replay"})
                    if (site, phase) == ("journal.example", "initial"):
                        tx.insert("scripts", {"visit_id": v, "script_url": "https://t.acxiom.example/fp.js",
                                              "script_site": "acxiom.example", "third_party": 1,
                                              "canvas_fingerprinting": 1, "tracker_entity": "Acxiom",
                                              "tracker_category": "advertising"})
            store.finish_crawl(crawl)
        audit = store.start_crawl("audit", command=["mouchard", "audit"])
        with store.transaction() as tx:
            snapshot = tx.insert("registry_snapshots", {"crawl_id": audit, "registry": "vt", "year": 2025,
                                                        "source_url": "https://vt.example/", "fetched_at": T0,
                                                        "sha256": "4" * 64, "rows": 1})
            broker = ids["broker_acxiom"] = tx.insert("brokers", {
                "snapshot_id": snapshot, "registry": "vt", "year": 2025, "key": "acxiom", "name": "Acxiom LLC",
                "website": "https://www.acxiom.example/", "site": "acxiom.example", "email": "privacy@acxiom.example",
                "email_personal": 0, "minors": "no", "precise_geolocation": "yes", "reproductive_health": "no",
                "declarations": {"sells_to_government": "yes"}, "tracker_entity": "Acxiom",
                "rights_url": "https://www.acxiom.example/optout"})
            tx.insert("broker_metrics", {"broker_id": broker, "request_type": "delete", "measure": "received",
                                         "value": 1200})
            ids["acxiom_optout_page"] = tx.insert("broker_pages", {
                "crawl_id": audit, "broker_id": broker, "kind": "opt-out", "url": "https://www.acxiom.example/optout",
                "status": "ok", "http_status": 200, "clicks_from_home": 2, "hidden": 0, "hidden_reasons": [],
                "hosted_by": "OneTrust", "fetched_at": T0})
            ids["acxiom_gpc_page"] = tx.insert("broker_pages", {
                "crawl_id": audit, "broker_id": broker, "kind": "gpc",
                "url": "https://www.acxiom.example/.well-known/gpc.json", "status": "ok", "http_status": 200,
                "hidden": 0, "gpc": "true", "gpc_last_update": "2025-03-01", "fetched_at": T0})
            ids["acxiom_finding"] = tx.insert("findings", {
                "crawl_id": audit, "rule_id": "brokers.geolocation", "rule_version": "1", "severity": "medium",
                "title": "Declares selling precise geolocation", "subject": "acxiom", "broker_id": broker,
                "evidence": [{"table": "brokers", "id": broker}], "fingerprint": "f-acxiom", "created_at": T0})
        store.finish_crawl(audit)
        # The readers' rollups of the two crawls, as the end of a crawl builds them.
        rebuild_rollups(store, [ids["reader_crawl_1"], ids["reader_crawl_2"]])


@dataclass(frozen=True)
class Demo:
    """The demo's database and what `mouchard demo --no-serve` printed while building it."""

    path: Path
    returncode: int
    output: str


def demo_database(tmp_path_factory, timeout: float = 1200) -> Demo:
    """The demo's database, built by `mouchard demo --no-serve` ONCE per test run and shared by every test file
    and pytest-xdist worker that asks (the first builds it under a file lock, the others wait and reuse it): the
    demo crawls the whole demo web in four phases, minutes on a 2-core machine. Read it, never write to it."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the run's folder, above every worker's own
    folder = root / "demo-shared"
    folder.mkdir(exist_ok=True)
    db, result = folder / "demo.db", folder / "result.txt"
    with open(folder / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
        if not result.exists():
            out = subprocess.run([sys.executable, "-m", "mouchard", "demo", "--no-serve", "--db", str(db)],
                                 capture_output=True, text=True, timeout=timeout)
            result.write_text(f"{out.returncode}\n{out.stdout}{out.stderr}", encoding="utf-8")
    code, _, output = result.read_text(encoding="utf-8").partition("\n")
    return Demo(db, int(code), output)
