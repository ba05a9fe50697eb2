"""Header bidding and OpenRTB: Prebid.js event logs, GPT slots and OpenRTB bodies become `rtb` rows.

Pure tests read a Prebid event log and the OpenRTB specification's example requests; the browser tests run a real
Prebid.js build (npm dist chunks, appnexus and openx adapters) against the test web's exchanges.
"""

from __future__ import annotations

import asyncio
import gzip
import json
from pathlib import Path

import pytest

from conftest import needs
from crawler.collectors.base import Ref
from crawler.collectors.bidding import gpt_rows, prebid_rows, wire_rows
from demoweb.sites import bidding
from demoweb.sites.consent_lib import missing_packages

DATA = Path(__file__).parent / "data" / "openrtb"
MISSING = missing_packages(("prebid.js", "@iabtcf/core", "@iabtcf/cmpapi"))

EVENTS = {"global": "pbjs", "version": "v11.36.0", "winning": [{"adId": "ad-2"}], "events": [
    {"type": "auctionInit", "elapsed": 10, "args": {"auctionId": "A1", "timeout": 1500, "adUnits": [
        {"code": "ad-top", "mediaTypes": {"banner": {"sizes": [[300, 250], [300, 600]]}},
         "bids": [{"bidder": "appnexus"}, {"bidder": "openx"}]}]}},
    {"type": "bidRequested", "elapsed": 11, "args": {
        "auctionId": "A1", "bidderCode": "openx", "timeout": 1500,
        "gdprConsent": {"gdprApplies": True, "consentString": "CQ..."}, "uspConsent": "1YNN",
        "bids": [{"bidder": "openx", "adUnitCode": "ad-top", "sizes": [[300, 250]], "bidId": "b1",
                  "params": {"unit": "1"}, "userIdAsEids": [{"source": "id5-sync.com", "uids": [{"id": "x"}]}],
                  "ortb2": {"user": {"data": [{"segment": [{"id": "7"}]}]}}}]}},
    {"type": "bidResponse", "elapsed": 40, "args": {"auctionId": "A1", "bidderCode": "openx", "adUnitCode": "ad-top",
                                                     "cpm": 1.2, "currency": "USD", "size": "300x250", "adId": "ad-2",
                                                     "meta": {"advertiserDomains": ["example-advertiser.com"]}}},
    {"type": "noBid", "elapsed": 41, "args": {"auctionId": "A1", "bidder": "appnexus", "adUnitCode": "ad-top",
                                              "bidId": "b0", "sizes": [[300, 250]]}},
    {"type": "auctionEnd", "elapsed": 42, "args": {"auctionId": "A1", "timeout": 1500, "adUnitCodes": ["ad-top"],
                                                    "bidsReceived": [{}], "noBids": [{}], "winningBids": [],
                                                    "timestamp": 1000, "auctionEnd": 1032}},
    {"type": "bidWon", "elapsed": 50, "args": {"auctionId": "A1", "bidderCode": "openx", "adUnitCode": "ad-top",
                                                "cpm": 1.2, "currency": "USD", "width": 300, "height": 250,
                                                "adId": "ad-2"}},
    {"type": "setTargeting", "args": {}},
]}


def by_event(rows: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for row in rows:
        out.setdefault(row["event"], []).append(row)
    return out


# --- pure ------------------------------------------------------------------------------------------------------

def test_prebid_event_log_becomes_one_row_per_event_and_bid():
    rows = by_event(prebid_rows(EVENTS))
    assert set(rows) == {"auctionInit", "bidRequested", "bidResponse", "noBid", "auctionEnd", "bidWon"}
    init = rows["auctionInit"][0]
    assert (init["auction_id"], init["ad_unit"], init["timeout_ms"]) == ("A1", "ad-top", 1500)
    assert json.loads(init["sizes"]) == [[300, 250], [300, 600]]
    requested = rows["bidRequested"][0]
    assert requested["bidder"] == "openx" and json.loads(requested["personal_fields"]) == \
        ["userIdAsEids", "ortb2.user.data"]
    fields = json.loads(requested["fields"])
    assert fields["gdpr_consent"] == "CQ..." and fields["us_privacy"] == "1YNN" and fields["eid_sources"] == ["id5-sync.com"]
    response = rows["bidResponse"][0]
    assert (response["cpm"], response["currency"], response["won"]) == (1.2, "USD", 1)
    assert json.loads(response["sizes"]) == [[300, 250]]
    assert rows["noBid"][0]["bidder"] == "appnexus"
    assert json.loads(rows["auctionEnd"][0]["fields"])["duration_ms"] == 32
    assert rows["bidWon"][0]["won"] == 1 and all(r["library"] == "prebid" for r in prebid_rows(EVENTS))


def test_gpt_slots_with_prebid_targeting():
    rows = gpt_rows([{"path": "/1234/top", "element": "ad-top", "sizes": [[300, 250]],
                      "targeting": {"hb_bidder": ["openx"], "hb_pb": ["1.20"]}}])
    assert rows[0]["event"] == "gpt-slot" and rows[0]["ad_unit"] == "/1234/top"
    assert (rows[0]["bidder"], rows[0]["cpm"]) == ("openx", 1.2)


def test_openrtb_request_body_on_the_wire_gives_personal_fields_and_links_the_request():
    body = (DATA / "spec-2.5-mobile.json").read_bytes()
    request = {"url": "https://exchange.example/openrtb2/auction", "host": "exchange.example", "_ref": ("r1", 0),
               "_body": gzip.compress(body), "request_headers": {"Content-Type": "application/json",
                                                                 "Content-Encoding": "gzip"}}
    rows = wire_rows(request, None)
    assert len(rows) == 1
    row = rows[0]
    assert row["event"] == "openrtb-request" and row["exchange"] == "exchange.example"
    assert row["request_id"] == Ref("requests", ("r1", 0))
    personal = json.loads(row["personal_fields"])
    assert "device.ifa" in personal and "device.geo" in personal
    assert json.loads(row["fields"])["version"] in ("2.5", None)


def test_openrtb_response_gives_one_row_per_bid():
    response = (DATA / "mouchard-pbs-response.json").read_bytes()
    request = {"url": "https://pbs.example/openrtb2/auction", "host": "pbs.example", "_ref": ("r2", 0)}
    rows = [r for r in wire_rows(request, response) if r["event"] == "openrtb-response"]
    assert rows and all(r["cpm"] is not None and r["bidder"] for r in rows)


def test_setuid_and_amazon_bid_requests_are_rows():
    setuid = wire_rows({"url": "https://pbs.example/setuid?bidder=appnexus&uid=123&gdpr=1&gdpr_consent=CQ",
                        "host": "pbs.example", "_ref": ("s", 0)}, None)
    fields = json.loads(setuid[0]["fields"])
    assert setuid[0]["event"] == "setuid" and setuid[0]["bidder"] == "appnexus"
    assert fields["uid_present"] is True and "uid" not in fields and fields["gdpr"] == 1
    amazon = wire_rows({"url": "https://aax.amazon-adsystem.com/e/dtb/bid?src=3288&pid=x&slots=%5B%5D",
                        "host": "aax.amazon-adsystem.com"}, None)
    assert amazon[0]["library"] == "apstag" and json.loads(amazon[0]["fields"])["src"] == "3288"


def test_prebid_bundle_is_core_plus_modules_and_their_chunks():
    needs(missing_packages(("prebid.js",)))
    bundle = bidding.prebid_bundle(("appnexusBidAdapter", "openxBidAdapter")).decode()
    assert bundle.index("pbjsChunk") > 0 and "ib.adnxs.com/ut/v3/prebid" in bundle
    assert "rtb.openx.net/openrtbb/prebidjs" in bundle and bundle.rstrip().endswith("}")
    assert "pbjs.processQueue();" in bundle
    with pytest.raises(ValueError, match="unknown Prebid modules"):
        bidding.prebid_bundle(("noSuchAdapter",))


# --- browser ---------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def bidding_visits(testweb):
    needs(MISSING)
    from test_crawler_consent import visit_page

    async def both():
        return await asyncio.gather(visit_page(testweb, "https://www.tcf-news.com/", "initial"),
                                    visit_page(testweb, "https://www.fair-news.org/", "reject"))

    return asyncio.run(both())


@pytest.mark.browser
@pytest.mark.slow
def test_prebid_auction_with_real_adapters_is_recorded(bidding_visits):
    rec, _ = bidding_visits
    rows = by_event(rec.rows["rtb"])
    assert {"auctionInit", "bidRequested", "bidResponse", "auctionEnd", "bidWon"} <= set(rows)
    assert {r["bidder"] for r in rows["bidRequested"]} == {"appnexus", "openx"}
    responses = {r["bidder"]: r for r in rows["bidResponse"]}
    assert responses["appnexus"]["cpm"] == bidding.APPNEXUS_CPM and responses["openx"]["cpm"] == bidding.OPENX_CPM
    assert responses["openx"]["won"] == 1 and responses["appnexus"]["won"] == 0
    assert rows["bidWon"][0]["bidder"] == "openx"
    requested = json.loads(rows["bidRequested"][0]["fields"])
    assert requested["gdpr_applies"] is True and requested["gdpr_consent"]  # the pre-ticked string
    assert rows["gpt-slot"][0]["ad_unit"] == "/1234567/news/top"


@pytest.mark.browser
@pytest.mark.slow
def test_openrtb_on_the_wire_is_linked_to_its_request(bidding_visits):
    rec, _ = bidding_visits
    rows = by_event(rec.rows["rtb"])
    request = rows["openrtb-request"][0]
    assert request["exchange"] == "rtb.openx.net" and request["timeout_ms"]
    refs = {r["_ref"]: r for r in rec.rows["requests"]}
    assert refs[request["request_id"].ref]["url"].startswith("https://rtb.openx.net/openrtbb/prebidjs")
    fields = json.loads(request["fields"])
    assert fields["regs"] and fields["user"]["consent"]  # the TC string travelled in the bid request
    answer = rows["openrtb-response"][0]
    assert (answer["bidder"], answer["cpm"], answer["currency"]) == ("openx", bidding.OPENX_CPM, "USD")
    assert answer["request_id"] == request["request_id"]


@pytest.mark.browser
@pytest.mark.slow
def test_tcf_enforcement_after_reject_leaves_no_bid_request(bidding_visits):
    _, rec = bidding_visits
    events = {r["event"] for r in rec.rows["rtb"]}
    assert not events & {"bidRequested", "bidResponse", "openrtb-request", "openrtb-response", "bidWon"}
    assert not [r for r in rec.rows["requests"] if r["host"] in ("ib.adnxs.com", "rtb.openx.net")]
