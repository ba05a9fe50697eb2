"""OpenRTB bid requests and responses: the specification's examples, Prebid Server style messages, compressed
bodies, and hostile ones (truncated, not UTF-8, compression bombs, deep nesting), which never raise."""

from __future__ import annotations

import base64
import gzip
import json
import random
import tracemalloc
import zlib
from pathlib import Path

import brotli
import pytest
import zstandard

from mouchard.decode.openrtb import (MAX_INFLATED, BodyError, decode_body, is_cookie_sync_url, is_openrtb_url,
                              parse_cookie_sync, parse_openrtb, parse_setuid, parse_uids_cookie)

DATA = Path(__file__).parent / "data" / "openrtb"
TC = "CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA"


def body(name: str) -> bytes:
    return (DATA / name).read_bytes()


def parse(name: str, **kw):
    message = parse_openrtb(body(name), "application/json", **kw)
    assert message is not None and message.errors == []
    return message


# -- the specification's examples ---------------------------------------------------------------------------


def test_simple_banner_request():
    m = parse("spec-2.5-simple-banner.json")
    assert (m.kind, m.id, m.version) == ("request", "80ce30c53c16e6ede735f123ef6e32361bfc7b22", None)
    assert m.imps == [{"id": "1", "tagid": None, "media_types": ["banner"], "sizes": [[300, 250]], "bidfloor": 0.03,
                       "bidfloorcur": None, "gpid": None, "bidders": []}]
    assert m.site["domain"] == "www.foobar.com" and m.site["publisher_id"] == "8953" and m.app is None
    assert m.device["ip"] is True and m.device["ifa"] is False and m.device["ua"].startswith("Mozilla/5.0 (Macintosh")
    assert m.user["id"] == "55816b39711f9b5acf3b90e313ed29e51665623f"
    assert m.auction == {"at": 1, "cur": ["USD"]}
    assert m.personal_fields == ["device.ip", "user.id"]


def test_expandable_creative_request_carries_buyer_uid_and_data_segments():
    m = parse("spec-2.5-expandable-creative.json")
    assert m.user["buyeruid"] == "545678765467876567898765678987654" and m.user["data_segments"] == 3
    assert m.personal_fields == ["device.ip", "user.id", "user.buyeruid", "user.data[].segment"]


def test_mobile_request_carries_advertising_id_and_precise_location():
    m = parse("spec-2.5-mobile.json")
    assert m.app == {"bundle": "12345", "name": "Yahoo Weather", "domain": None,
                     "storeurl": "https://itunes.apple.com/id628677149", "publisher_id": "agltb3B1Yi1pbmNyDAsSA0FwcBiJkfTUCV"}
    assert m.site is None
    assert [imp["sizes"] for imp in m.imps] == [[[728, 90]], [[0, 0]]]
    assert [imp["tagid"] for imp in m.imps] == ["agltb3B1Yi1pbmNyDQsSBFNpdGUY7fD0FAw", "agltb3B1Yi1pbmNyDQsSBFNpdGUY7fD0FAwa"]
    assert m.device["ifa"] is True and m.device["geo"]["lat"] == 35.012345 and m.device["geo"]["zip"] == "90049"
    assert m.device["make"] == "Apple" and m.device["devicetype"] == 1
    assert m.user["yob"] == 1984 and m.user["gender"] == "M"
    assert m.auction["badv"] == ["apple.com", "go-text.me", "heywire.com"]
    assert sorted(m.personal_fields) == ["device.geo", "device.ifa", "device.ip", "user.gender", "user.id", "user.yob"]


def test_video_request():
    m = parse("spec-2.5-video.json")
    assert m.imps[0]["media_types"] == ["video"] and m.imps[0]["sizes"] == [[640, 480]]
    assert m.auction["tmax"] == 120 and m.site["ref"] == "http://referringsite.com/referringpage.htm"
    assert m.user["data_segments"] == 2


def test_native_request():
    m = parse("spec-2.5-native.json")
    assert m.imps[0]["media_types"] == ["native"] and m.imps[0]["sizes"] == []


def test_pmp_request_lists_its_deals():
    m = parse("spec-2.5-pmp-direct-deal.json")
    assert m.imps[0]["deals"] == ["AB-Agency1-0001", "XY-Agency2-0001"]


def test_openrtb_26_examples():
    banner = parse("spec-2.6-simple-banner.json")
    assert banner.personal_fields == ["user.id"] and banner.device["ip"] is False
    mobile = parse("spec-2.6-mobile-app.json")
    assert mobile.device["ifa"] is True and mobile.device["dnt"] == 0
    assert mobile.personal_fields == ["device.ifa", "user.id"]


def test_response_ad_served_on_win_notice():
    m = parse("spec-2.5-response-ad-served-on-win-notice.json")
    assert (m.kind, m.id, m.currency) == ("response", "1234567890", "USD")
    assert m.bids == [{"seat": "512", "id": "1", "impid": "102", "price": 9.43, "adomain": ["advertiserdomain.com"],
                       "crid": "creative112", "dealid": None, "cid": "campaign111", "adid": None, "w": None,
                       "h": None, "media_type": None, "currency": "USD"}]


def test_response_direct_deal_and_vast_inline():
    deal = parse("spec-2.6-response-direct-deal.json")
    assert deal.bids[0]["dealid"] == "ABC-1234-6789" and deal.bids[0]["adid"] == "314" and deal.bids[0]["price"] == 5.0
    vast = parse("spec-2.6-response-vast-inline.json")
    assert vast.bids[0]["seat"] is None and vast.bids[0]["price"] == 3.0
    assert vast.currency == "USD"  # the specification's default when cur is absent


# -- Prebid Server style messages -------------------------------------------------------------------------------


def test_prebid_server_26_request_consent_ids_and_supply_chain():
    m = parse("mouchard-pbs-2.6-request.json")
    assert m.version == "2.6"
    assert m.user["consent"] == TC and m.user["consent_location"] == "user.consent"
    assert m.regs == {"coppa": 0, "gdpr": 1, "us_privacy": "1---", "gpp": "DBABMA~" + TC, "gpp_sid": [2]}
    assert [(e["source"], e["ids"]) for e in m.user["eids"]] == [
        ("id5-sync.com", ["ID5*abcdef"]), ("adserver.org", ["6e4f0000-0000-4000-8000-000000000000"])]
    assert m.source["schain"]["complete"] == 1 and [n["asi"] for n in m.source["schain"]["nodes"]] == ["news.example", "appnexus.com"]
    assert [imp["bidders"] for imp in m.imps] == [["appnexus", "rubicon"], ["ix"]]
    assert m.imps[0]["sizes"] == [[300, 250], [300, 600]] and m.imps[0]["gpid"] == "/1234/news/top"
    assert m.device["hashed_ids"] == ["didsha1", "dpidmd5"] and m.device["ipv6"] is True
    assert sorted(m.personal_fields) == sorted([
        "device.geo", "device.ip", "device.ipv6", "device.didsha1", "device.dpidmd5", "user.id", "user.buyeruid",
        "user.eids[].uids", "user.data[].segment"])


def test_openrtb_25_request_reads_consent_and_ids_from_ext():
    m = parse("mouchard-exchange-2.5-request.json")
    assert m.version == "2.5"
    assert m.user["consent_location"] == "user.ext.consent" and m.user["consent"] == TC
    assert m.regs == {"gdpr": 1, "us_privacy": "1YNN"}
    assert m.user["eids"][0]["source"] == "liveramp.com"
    assert m.source["schain"]["complete"] == 0
    assert m.device["atts"] == 0 and m.device["ifv"] is True and m.device["lmt"] == 1
    # an all-zero advertising id is what a phone sends when ad tracking is limited: not an identifier
    assert m.device["ifa"] is False and m.device["ifa_zeroed"] is True
    assert "device.ifa" not in m.personal_fields
    assert m.device["geo"] == {"type": 2, "country": "DEU"} and "device.geo" not in m.personal_fields
    assert sorted(m.personal_fields) == ["device.ext.ifv", "device.ip", "user.buyeruid", "user.ext.eids[].uids"]


def test_prebid_server_response():
    m = parse("mouchard-pbs-response.json")
    assert m.version == "2.6" and m.currency == "EUR"
    assert [(b["seat"], b["price"], b["adomain"], b["crid"], b["dealid"], b["media_type"]) for b in m.bids] == [
        ("appnexus", 1.42, ["shoes.example"], "cr-77", None, "banner"),
        ("rubicon", 0.98, ["cars.example"], "cr-5", "DEAL-1", "banner")]


def test_version_header_wins_over_the_guess():
    assert parse("mouchard-pbs-2.6-request.json", openrtb_version="2.5").version == "2.5"
    assert parse("spec-2.5-simple-banner.json", openrtb_version=" 2.6 ").version == "2.6"


def test_no_bid_response():
    m = parse_openrtb(b'{"id": "abc", "nbr": 2}')
    assert m.kind == "response" and m.bids == [] and m.no_bid_reason == 2


def test_to_dict_is_json_serialisable():
    json.dumps(parse("mouchard-pbs-2.6-request.json").to_dict())


# -- compressed bodies ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding, compress", [
    ("gzip", gzip.compress),
    ("deflate", zlib.compress),
    ("deflate", lambda b: zlib.compress(b)[2:-4]),  # raw deflate, as some servers send it
    ("br", brotli.compress),
    ("zstd", lambda b: zstandard.ZstdCompressor().compress(b)),
    ("gzip, br", lambda b: brotli.compress(gzip.compress(b))),
    (None, gzip.compress),  # no header, recognised by the magic bytes
    (None, lambda b: zstandard.ZstdCompressor().compress(b)),
])
def test_compressed_bodies_are_inflated(encoding, compress):
    m = parse_openrtb(compress(body("spec-2.5-mobile.json")), "text/plain", encoding)
    assert m.kind == "request" and m.device["ifa"] is True


@pytest.mark.parametrize("encoding, compress", [
    ("gzip", gzip.compress),
    ("deflate", zlib.compress),
    ("br", lambda b: brotli.compress(b, quality=1)),
    ("zstd", lambda b: zstandard.ZstdCompressor().compress(b)),
])
def test_compression_bombs_are_given_up_at_the_cap(encoding, compress):
    """Counted, not timed: a body inflating to 4x the cap is given up with at most ~2x the cap ever allocated."""
    bomb = compress(b'{"imp": [' + b" " * (4 * MAX_INFLATED) + b"]}")
    tracemalloc.start()
    try:
        assert parse_openrtb(bomb, "application/json", encoding) is None
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2 * MAX_INFLATED + (1 << 20), f"{peak} bytes allocated for a body capped at {MAX_INFLATED}"
    with pytest.raises(BodyError, match="inflates to more than"):
        decode_body(bomb, encoding)


def test_bad_compression_and_unknown_encodings_give_none():
    assert parse_openrtb(b"\x1f\x8b not really gzip", None, "gzip") is None
    assert parse_openrtb(body("spec-2.5-simple-banner.json"), None, "compress") is None
    with pytest.raises(BodyError, match="unsupported"):
        decode_body(b"x", "compress")


# -- hostile and unrelated bodies ------------------------------------------------------------------------------------


def test_truncated_request_gives_a_partial_result_with_errors():
    truncated = body("mouchard-pbs-2.6-request.json")[:700]
    m = parse_openrtb(truncated, "application/json")
    assert m.kind == "request" and m.imps == [] and m.errors and "invalid JSON" in m.errors[0]
    assert parse_openrtb(body("spec-2.5-response-ad-served-on-win-notice.json")[:200]).kind == "response"


def test_invalid_utf8_inside_strings_is_noted_and_the_rest_read():
    raw = body("spec-2.5-simple-banner.json").replace(b"foobar.com", b"foo\xff\xfebar.com", 1)
    m = parse_openrtb(raw)
    assert m.kind == "request" and m.imps[0]["sizes"] == [[300, 250]]
    bad_byte = raw.index(b"\xff")  # outside the f-string: a backslash in one does not parse before Python 3.12
    assert m.errors == [f"body is not valid UTF-8 at byte {bad_byte}"]


@pytest.mark.parametrize("raw", [
    b"", None, b"not json at all", b"\x00\x01\x02\xff" * 100, b"[1, 2, 3]", b'"imp"', b"{}",
    b'{"tags": [{"id": 1}], "sdk": {"source": "pbjs"}}',          # Xandr's /ut/v3 prebid format, not OpenRTB
    b'{"imp": "not a list", "id": "x"}', b"{" * 200_000, b"[" * 200_000 + b"]" * 200_000,
    '{"imp": [], "id": "é"}'.encode("utf-16"),
])
def test_non_openrtb_bodies_give_none(raw):
    assert parse_openrtb(raw) is None


def test_protobuf_bodies_are_not_read():
    assert parse_openrtb(body("spec-2.5-simple-banner.json"), "application/x-protobuf") is None


def test_wrong_types_everywhere_do_not_raise():
    hostile = {"id": {"x": 1}, "imp": [1, "two", None, {"id": 3, "banner": {"format": [None, {"w": 1}], "w": "x", "h": []},
                                                        "bidfloor": "cheap", "ext": {"prebid": {"bidder": "all"}}}],
               "site": "string", "app": [], "device": {"geo": {"lat": "north", "lon": None}, "ifa": 12, "ext": []},
               "user": {"eids": [None, {"uids": "x"}, {"source": 1, "uids": [None, {"id": None}]}], "ext": "e",
                        "data": [{"segment": None}]},
               "regs": {"ext": None}, "source": {"schain": {"nodes": [None, 1]}}}
    m = parse_openrtb(json.dumps(hostile).encode())
    assert m.kind == "request" and m.imps[0]["bidfloor"] is None
    response = parse_openrtb(json.dumps({"id": 1, "seatbid": [None, {"bid": [None, {"price": "free", "adomain": "x"}]}]}).encode())
    assert response.bids[0]["price"] is None and response.bids[0]["adomain"] == []


def test_too_many_impressions_are_capped():
    many = {"id": "x", "imp": [{"id": str(i), "banner": {"w": 1, "h": 1}} for i in range(1500)]}
    m = parse_openrtb(json.dumps(many).encode())
    assert len(m.imps) == 1000 and "only the first 1000" in m.errors[0]


def test_random_mutations_of_real_bodies_never_raise():
    rng = random.Random(3)
    seeds = [p.read_bytes() for p in sorted(DATA.glob("*.json"))]
    for _ in range(1500):
        raw = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 6)):
            pos = rng.randrange(len(raw))
            choice = rng.random()
            if choice < 0.5:
                raw[pos] = rng.randrange(256)
            elif choice < 0.8:
                del raw[pos:pos + rng.randint(1, 40)]
            else:
                raw[pos:pos] = rng.choice([b"{", b"}", b"[", b"]", b'"', b",", b"null", b"1e999", b"\\u0000"])
        parse_openrtb(bytes(raw))


# -- URLs and Prebid Server user syncs ---------------------------------------------------------------------------------


@pytest.mark.parametrize("url, expected", [
    ("https://pbs.example/openrtb2/auction", True),
    ("https://ib.adnxs.com/openrtb2/prebidjs", True),
    ("https://htlb.casalemedia.com/openrtb/pbjs", True),
    ("https://tlx.3lift.com/header/auction?lib=prebid", True),
    ("https://exchange.example/ortb?src=pbjs", True),
    ("https://dsp.example/bid?x=1", True),
    ("https://ssp.example/rtb/bid", True),
    ("https://news.example/politics/article.html", False),
    ("https://cdn.example/bidder-logos/a.png", False),
    ("", False),
])
def test_openrtb_url_heuristics(url, expected):
    assert is_openrtb_url(url) is expected


def test_setuid_calls_carry_the_bidder_uid_and_consent():
    url = f"https://pbs.example/setuid?bidder=adnxs&uid=8234567890123&gdpr=1&gdpr_consent={TC}&f=i&account=1001"
    assert parse_setuid(url) == {"bidder": "adnxs", "uid": "8234567890123", "format": "i", "account": "1001",
                                 "gdpr": 1, "gdpr_consent": TC}
    assert parse_setuid("https://pbs.example/cookie_sync") is None


def test_cookie_sync_request_and_response():
    request = json.dumps({"bidders": ["appnexus", "rubicon"], "gdpr": 1, "gdpr_consent": TC, "us_privacy": "1---",
                          "limit": 8, "coopSync": True}).encode()
    assert parse_cookie_sync(gzip.compress(request), "gzip") == {
        "kind": "request", "bidders": ["appnexus", "rubicon"], "gdpr": 1, "gdpr_consent": TC, "us_privacy": "1---",
        "limit": 8, "coop_sync": True}
    response = json.dumps({"status": "ok", "bidder_status": [
        {"bidder": "appnexus", "no_cookie": True,
         "usersync": {"url": "https://ib.adnxs.com/getuid?https%3A%2F%2Fpbs.example%2Fsetuid%3Fbidder%3Dadnxs%26uid%3D%24UID",
                      "type": "redirect", "supportCORS": False}}]})
    parsed = parse_cookie_sync(response)
    assert parsed["status"] == "ok" and parsed["syncs"][0]["bidder"] == "appnexus"
    assert parsed["syncs"][0]["type"] == "redirect" and parsed["syncs"][0]["url"].startswith("https://ib.adnxs.com/getuid")
    assert parse_cookie_sync(b"{not json") is None and parse_cookie_sync(b'{"other": 1}') is None
    assert is_cookie_sync_url("https://pbs.example/cookie_sync?x=1") and not is_cookie_sync_url("https://pbs.example/")


def test_prebid_server_uids_cookie():
    value = base64.urlsafe_b64encode(json.dumps({"tempUIDs": {
        "adnxs": {"uid": "8234567890123", "expires": "2030-01-01T00:00:00Z"},
        "rubicon": {"uid": "KABC-1", "expires": "2030-01-01T00:00:00Z"}}, "optout": False}).encode()).decode()
    assert parse_uids_cookie(value) == {"adnxs": "8234567890123", "rubicon": "KABC-1"}
    legacy = base64.b64encode(json.dumps({"uids": {"openx": "ox-1"}, "bday": "2019-01-01T00:00:00Z"}).encode()).decode()
    assert parse_uids_cookie(legacy) == {"openx": "ox-1"}
    assert parse_uids_cookie("!!!") == {} and parse_uids_cookie("") == {}
