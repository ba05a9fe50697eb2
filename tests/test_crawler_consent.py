"""Consent phases in real Chromium on the test web's CMP pages (tarteaucitron, klaro, vanilla-cookieconsent from
npm, a TCF CMP built on @iabtcf/core + @iabtcf/cmpapi, home-made banners): each phase is recorded, each action is
verified (or shown not to be), decoded TC strings match what the CMP encoded, the planted violations show in the
rows, and the compliant pages show none.

Visits run through the crawl's own visit life cycle (crawler/browser/visit.py: CDP targets, collectors, settle)
with the network, cookies, consent and bidding collectors, two at a time, once per module.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
from dataclasses import dataclass

import pytest

from conftest import needs
from demoweb.sites import consent_cmps, consent_generic, consent_tcf
from demoweb.sites.consent_lib import missing_packages

pytestmark = [pytest.mark.browser, pytest.mark.slow]

MISSING = missing_packages()
EXPECTED = {**consent_cmps.CONSENT_EXPECTED, **consent_tcf.CONSENT_EXPECTED, **consent_generic.CONSENT_EXPECTED}


@dataclass(frozen=True)
class Planned:
    host: str
    phase: str
    autoconsent: bool = True
    native_gpc: bool = True
    probe: bool = False


# What a page script could look for: autoconsent's messaging globals, our binding, prehide styles.
PROBE = """JSON.stringify([typeof window.autoconsentSendMessage, typeof window.autoconsentReceiveMessage,
  typeof window.mouchardConsentMessage, document.querySelectorAll('style[id*=autoconsent]').length])"""


async def visit_page(testweb, url: str, phase: str, *, autoconsent: bool = True, native_gpc: bool = True,
                     evidence: str | None = None, hook_timeout: float = 14.0, probe: str | None = None):
    """One visit as the browser spider makes it: fresh profile, collectors attached through CDP, settle, collect."""
    from playwright.async_api import async_playwright

    from crawler.collectors.cookies import RecordCookies
    from crawler.browser.launch import LaunchPlan
    from crawler.collectors.network import RecordRequests
    from crawler.browser.profile import new_profile
    from crawler.browser.visit import VisitRun, VisitSettings, VisitSpec
    from crawler.collectors.bidding import RecordBidding
    from crawler.collectors.consent import RecordConsent
    from crawler.consent.gpc import gpc_launch_args
    from mouchard.browser import find_browser

    args = list(testweb.chromium_args(proxy=True))  # portless URLs: the adapters' exchange hosts are hard-coded
    if phase == "gpc" and native_gpc:
        args = gpc_launch_args(args)
    plan = LaunchPlan(find_browser(), extra_args=tuple(args))
    profile = new_profile()
    collectors = [RecordRequests(), RecordCookies(),
                  RecordConsent(use_autoconsent=autoconsent, evidence_root=evidence), RecordBidding()]
    spec = VisitSpec(key=f"{phase} {url}", url=url, phase=phase)
    async with async_playwright() as p:
        context = await p.chromium.launch_persistent_context(profile, **plan.options())
        page = context.pages[0] if context.pages else await context.new_page()
        run = VisitRun(spec, collectors, VisitSettings(timeout=20, hook_timeout=hook_timeout), profile_dir=profile)
        await run.prepare(page)
        try:
            response = await page.goto(url, wait_until="load", timeout=20000)
            seen = None
            if probe:  # the test's own look from the page's main world, after autoconsent started
                await page.wait_for_timeout(1000)
                seen = json.loads(await page.evaluate(probe))
            rec = await run.finish(http_status=response.status if response else None)
            rec.visit["_probe"] = seen
            return rec
        except Exception as exc:  # noqa: BLE001 - a failed navigation is still a record
            return await run.finish(error=exc)


async def visit_all(testweb, planned: list[Planned], evidence: str, concurrency: int = 2) -> dict:
    gate = asyncio.Semaphore(concurrency)

    async def one(item: Planned):
        async with gate:
            return item, await visit_page(testweb, f"https://{item.host}/", item.phase, autoconsent=item.autoconsent,
                                          native_gpc=item.native_gpc, evidence=evidence,
                                          probe=PROBE if item.probe else None)

    return {item: record for item, record in await asyncio.gather(*(one(p) for p in planned))}


PLANNED = [
    Planned("www.journal-exemple.fr", "initial"), Planned("www.journal-exemple.fr", "reject", probe=True),
    Planned("www.journal-exemple.fr", "accept"),
    Planned("www.klaro-beispiel.de", "reject", autoconsent=False), Planned("www.klaro-beispiel.de", "accept"),
    Planned("www.cookie-example.com", "initial"), Planned("www.cookie-example.com", "reject", autoconsent=False),
    Planned("www.tcf-news.com", "initial"), Planned("www.tcf-news.com", "reject"), Planned("www.tcf-news.com", "accept"),
    Planned("www.tcf-news.com", "gpc"),
    Planned("www.fair-news.org", "initial"), Planned("www.fair-news.org", "reject"),
    Planned("www.fair-news.org", "accept", autoconsent=False), Planned("www.fair-news.org", "gpc", native_gpc=False),
    Planned("www.petit-site.fr", "reject", autoconsent=False), Planned("www.hidden-reject.com", "reject"),
]


@pytest.fixture(scope="module")
def visits(testweb):
    needs(MISSING)
    evidence = tempfile.mkdtemp(prefix="mouchard-consent-evidence-")
    start = len(testweb.log)
    records = asyncio.run(visit_all(testweb, PLANNED, evidence))
    return records, testweb.log[start:]


def record(visits, host: str, phase: str):
    records, _ = visits
    return next(r for item, r in records.items() if item.host == host and item.phase == phase)


def action_row(rec) -> dict:
    rows = [r for r in rec.rows["consent"] if r["source"] == "action"]
    assert len(rows) == 1
    return rows[0]


def hosts(rec, *, after: bool | None = None) -> set[str]:
    """Third-party hosts the visit contacted: all, only before the action, or only from the action on."""
    action_ms = rec_action_ms(rec)
    out = set()
    for row in rec.rows["requests"]:
        if not row.get("third_party"):
            continue
        if after is None or action_ms is None or (row["time_ms"] >= action_ms) == after:
            out.add(row["host"])
    return out


def rec_action_ms(rec) -> int | None:
    row = action_row(rec)
    return row["time_ms"] if row["action"] != "none" else None


def signals(rec, **match) -> list[dict]:
    return [r for r in rec.rows["consent"] if all(r.get(k) == v for k, v in match.items())]


# --- every phase recorded and every action verified --------------------------------------------------------------

def test_every_visit_ends_ok_with_one_action_row_in_its_phase(visits):
    records, _ = visits
    for item, rec in records.items():
        assert rec.visit["status"] == "ok", (item, rec.visit["reason"])
        row = action_row(rec)
        assert {r["phase"] for r in rec.rows["consent"]} == {item.phase}
        assert row["action"] == ({"reject": "reject", "accept": "accept"}.get(item.phase, "none")), item


@pytest.mark.parametrize(("host", "phase", "method"), [
    ("www.journal-exemple.fr", "reject", "autoconsent"), ("www.journal-exemple.fr", "accept", "autoconsent"),
    ("www.klaro-beispiel.de", "reject", "klaro"), ("www.klaro-beispiel.de", "accept", "autoconsent"),
    ("www.cookie-example.com", "reject", "vanilla-cookieconsent"),
    ("www.tcf-news.com", "reject", "generic"), ("www.tcf-news.com", "accept", "generic"),
    ("www.fair-news.org", "reject", "generic"), ("www.fair-news.org", "accept", "generic"),
    ("www.petit-site.fr", "reject", "generic"),
])
def test_actions_are_verified_and_say_who_acted(visits, host, phase, method):
    row = action_row(record(visits, host, phase))
    assert row["verified"] == 1, row["verification"]
    assert row["action_method"] == method
    assert row["screenshot_file_id"] is not None


def test_a_reject_that_only_hides_the_banner_is_not_verified(visits):
    row = action_row(record(visits, "www.hidden-reject.com", "reject"))
    assert row["action"] == "reject" and row["verified"] == 0
    assert "a hidden banner is not a rejection" in row["verification"]
    assert json.loads(row["decoded"])["clicked"][0]["frame_url"].startswith("https://consent.banner-host.net/")


def test_cmp_and_reject_on_first_layer_are_recorded(visits):
    for host, facts in EXPECTED.items():
        host = host.rstrip("/")
        records = [r for item, r in visits[0].items() if item.host == host]
        for rec in records:
            row = action_row(rec)
            assert row["reject_first_layer"] == int(facts["reject_first_layer"]), (host, row)
            if facts.get("cmp"):
                assert row["cmp"] == facts["cmp"]
            if facts.get("cmp_id"):
                assert row["cmp_id"] == facts["cmp_id"]


def test_banner_screenshot_is_kept_before_the_click(visits):
    rec = record(visits, "www.cookie-example.com", "reject")
    files = rec.rows["evidence_files"]
    assert [(f["documents"], f["_ref"]) for f in files] == [("banner", "consent-banner"), ("banner-after", "consent-after")]
    with open(files[0]["_path"], "rb") as image:
        assert image.read(8) == b"\x89PNG\r\n\x1a\n"
    assert os.path.getsize(files[0]["_path"]) > 5000


# --- TC strings: what the CMP encoded, decoded ---------------------------------------------------------------

def test_decoded_tc_strings_match_what_the_cmp_encoded(visits):
    for host in ("www.tcf-news.com", "www.fair-news.org"):
        facts = EXPECTED[f"{host}/"]
        accepted = signals(record(visits, host, "accept"), source="cookie", name="euconsent-v2", action="accept")[0]
        decoded = json.loads(accepted["decoded"])
        assert decoded["cmp_id"] == facts["cmp_id"] and accepted["cmp_id"] == facts["cmp_id"]
        assert decoded["purposes_consent"] == facts["accept_purposes"]
        assert decoded["vendor_consents"] == facts["accept_vendors"]
        assert decoded["vendor_list_version"] == 150 and decoded["is_service_specific"] is True
        rejected = signals(record(visits, host, "reject"), source="api", name="__tcfapi", action="reject")[0]
        decoded = json.loads(rejected["decoded"])
        assert decoded["purposes_consent"] == [] and decoded["vendor_consents"] == []
        assert rejected["event_status"] in ("tcloaded", "useractioncomplete")
        # the API and the cookie hold the same string
        assert rejected["raw"] == signals(record(visits, host, "reject"), name="euconsent-v2", action="reject")[0]["raw"]


def test_consent_string_stored_before_any_choice_is_visible_in_the_initial_phase(visits):
    stored = signals(record(visits, "www.tcf-news.com", "initial"), framework="tcf", source="cookie")
    assert stored and stored[0]["action"] == "none"
    assert json.loads(stored[0]["decoded"])["purposes_consent"]  # consent nobody gave
    api = signals(record(visits, "www.tcf-news.com", "initial"), source="api", name="__tcfapi")[0]
    assert api["event_status"] == "cmpuishown" and api["raw"] == stored[0]["raw"]
    fair = record(visits, "www.fair-news.org", "initial")
    assert not signals(fair, framework="tcf", source="cookie")
    assert signals(fair, source="api", name="__tcfapi")[0]["raw"] is None


# --- violations in the rows, and none on compliant pages --------------------------------------------------------

def test_tracking_before_consent_and_after_reject_are_in_the_rows(visits):
    tarte = EXPECTED["www.journal-exemple.fr/"]
    assert set(tarte["before_consent_hosts"]) <= hosts(record(visits, "www.journal-exemple.fr", "initial"))
    assert set(tarte["after_reject_hosts"]) <= hosts(record(visits, "www.journal-exemple.fr", "reject"), after=True)
    cookies = record(visits, "www.journal-exemple.fr", "initial").rows["cookies"]
    assert any(c["name"] == "_ga" and c["before_consent"] == 1 for c in cookies)
    tcf = EXPECTED["www.tcf-news.com/"]
    assert set(tcf["after_reject_hosts"]) & hosts(record(visits, "www.tcf-news.com", "reject"), after=True)


def test_vendor_called_without_consent_after_reject(visits):
    from mouchard.decode.consent import consent_for_vendor, vendor_for

    rec = record(visits, "www.tcf-news.com", "reject")
    tc = json.loads(signals(rec, source="api", name="__tcfapi", action="reject")[0]["decoded"])
    action_ms = rec_action_ms(rec)
    called = {vendor_for(r["host"]).id for r in rec.rows["requests"]
              if r["time_ms"] >= action_ms and vendor_for(r["host"]) is not None}
    assert {32, 69} & called
    assert not any(consent_for_vendor(tc, vendor) for vendor in called)
    sent = signals(rec, source="wire", name="gdpr_consent", action="reject")
    assert sent and json.loads(sent[0]["decoded"])["vendor_consents"] == []


def test_accept_brings_the_managed_trackers(visits):
    for host in ("www.journal-exemple.fr", "www.klaro-beispiel.de", "www.tcf-news.com", "www.fair-news.org"):
        expected = set(EXPECTED[f"{host}/"]["after_accept_hosts"])
        assert expected <= hosts(record(visits, host, "accept"), after=True), host


def test_gpc_is_sent_natively_and_ignored_or_honoured(visits):
    ignored = record(visits, "www.tcf-news.com", "gpc")
    gpc = signals(ignored, framework="gpc", source="navigator")[0]
    assert gpc["raw"] == "true" and json.loads(gpc["decoded"]) == {"header_sent": True, "method": "chromium-feature",
                                                                   "navigator": True}
    assert signals(ignored, source="api", name="__uspapi")[0]["raw"] == EXPECTED["www.tcf-news.com/"]["usp_under_gpc"]
    assert {"ib.adnxs.com", "rtb.openx.net"} <= hosts(ignored)
    honoured = record(visits, "www.fair-news.org", "gpc")
    assert json.loads(signals(honoured, framework="gpc", source="navigator")[0]["decoded"])["method"] == "cdp-fallback"
    assert signals(honoured, source="api", name="__uspapi")[0]["raw"] == "1YYN"
    statement = signals(honoured, source="well-known")[0]
    assert statement["raw"] == "true" and json.loads(statement["decoded"])["gpc"] is True
    assert not hosts(honoured)
    sent = [r for r in honoured.rows["requests"] if r["main_frame"] and r["resource_type"] == "document"][0]
    assert {k.lower(): v for k, v in sent["request_headers"].items()}.get("sec-gpc") == "1"


def test_gpc_statement_fetch_is_not_a_page_request(visits):
    for phase_host in ("www.fair-news.org", "www.tcf-news.com"):
        rec = record(visits, phase_host, "gpc")
        assert not [r for r in rec.rows["requests"] if "gpc.json" in r["url"]]


def test_compliant_pages_show_no_tracking_before_consent_or_after_reject(visits):
    for host in ("www.klaro-beispiel.de", "www.cookie-example.com", "www.fair-news.org", "www.petit-site.fr"):
        facts = EXPECTED[f"{host}/"]
        assert facts["violations"] in ([], ["no-reject-on-first-layer"])
        for item, rec in visits[0].items():
            if item.host != host:
                continue
            if item.phase in ("initial", "gpc"):
                assert not hosts(rec), (host, item.phase, hosts(rec))
            if item.phase == "reject":
                assert not hosts(rec), (host, hosts(rec))
                assert not [c for c in rec.rows["cookies"] if c["third_party"]]


def test_page_cannot_see_the_consent_instrumentation(visits):
    """autoconsent ran in an isolated world: the page's own world holds none of its globals, no binding, no
    prehide style; and still it found and refused the banner."""
    rec = record(visits, "www.journal-exemple.fr", "reject")
    assert rec.visit["_probe"] == ["undefined", "undefined", "undefined", 0]
    decoded = json.loads(action_row(rec)["decoded"])
    assert decoded["autoconsent"]["popup"] and decoded["autoconsent"]["result"] is True
    # the content script itself reported no error (a late answer to a frame that navigated away is not one)
    assert not [e for e in decoded["autoconsent"]["errors"] if not e.startswith("reply ")], decoded["autoconsent"]
