"""Consent strings and signals: TCF, GPP, US Privacy, CMP cookies, wire parameters, GPC site statements.

TC and GPP strings are checked against vectors made and decoded by the IAB's own JavaScript libraries
(tests/data/consent/make_strings), against the specifications' examples, and against hand-built bit strings
for the cases the libraries cannot produce (bitfield-coded disclosed vendors, unknown segments, range bombs).
"""

from __future__ import annotations

import base64
import json
import random
import re
import urllib.parse
from pathlib import Path

import pytest

from mouchard.decode.consent import (CONSENT_COOKIES, ConsentStringError, consent_cookie, consent_for_vendor,
                              consent_params_from_url, decode_gpp_string, decode_tc_string, decode_us_privacy,
                              gpp_section, parse_additional_consent, parse_consent_cookie, parse_gpc_json,
                              purposes_allowed, vendor_for)
from mouchard.errors import UserError
from mouchard.decode.gpp import fibonacci_int, fibonacci_range
from mouchard.decode.tcf import BitReader

DATA = Path(__file__).parent / "data" / "consent"
TCF_VECTORS = json.loads((DATA / "iabtcf_vectors.json").read_text())["vectors"]
GPP_VECTORS = json.loads((DATA / "iabgpp_vectors.json").read_text())["vectors"]
SPEC_TC = "CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA"  # the tcfeuv2 section of the GPP spec's examples
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def vector(vectors: list[dict], name: str) -> dict:
    return next(v for v in vectors if v["name"] == name)


# -- a bit writer, to build the strings the IAB libraries never produce --------------------------------------


def b64(bits: str) -> str:
    bits += "0" * (-len(bits) % 6)
    return "".join(ALPHABET[int(bits[i:i + 6], 2)] for i in range(0, len(bits), 6))


def n(value: int, width: int) -> str:
    return format(value, f"0{width}b")


def ids_bitfield(ids: list[int], max_id: int) -> str:
    return "".join("1" if i in ids else "0" for i in range(1, max_id + 1))


def core_bits(vendors: str = n(0, 16) + "0", li: str = n(0, 16) + "0", restrictions: str = n(0, 12)) -> str:
    """A TCF v2 core segment: CMP 7 v3, EN, GVL 42, policy 4, purposes 1-2, publisher FR."""
    return (n(2, 6) + n(17_000_000_000, 36) * 2 + n(7, 12) + n(3, 12) + n(1, 6) + n(4, 6) + n(13, 6)
            + n(42, 12) + n(4, 6) + "0" + "0" + n(0, 12) + "11" + "0" * 22 + "0" * 24 + "0"
            + n(5, 6) + n(17, 6) + vendors + li + restrictions)


def range_section(entries: list[tuple[int, int]]) -> str:
    out = n(len(entries), 12)
    for start, end in entries:
        out += ("1" + n(start, 16) + n(end, 16)) if end != start else ("0" + n(start, 16))
    return out


# -- TCF ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", TCF_VECTORS, ids=[v["name"] for v in TCF_VECTORS])
def test_tc_string_fields_match_iabtcf_core(case):
    decoded = decode_tc_string(case["string"])
    for field, expected in case["expected"].items():
        got = decoded[field]
        if field == "publisher_restrictions":
            got = [{k: r[k] for k in ("purpose", "restriction_type", "vendors")} for r in got]
        assert got == expected, field
    assert decoded["warnings"] == []


def test_spec_example_tc_string_decodes_every_core_field():
    decoded = decode_tc_string(SPEC_TC)
    assert {k: decoded[k] for k in ("version", "created", "last_updated", "cmp_id", "cmp_version", "consent_screen",
                                     "consent_language", "vendor_list_version", "tcf_policy_version",
                                     "is_service_specific", "use_non_standard_texts", "purpose_one_treatment",
                                     "publisher_cc")} == {
        "version": 2, "created": "2022-04-20T22:00:00.000Z", "last_updated": "2022-04-20T22:00:00.000Z",
        "cmp_id": 31, "cmp_version": 640, "consent_screen": 1, "consent_language": "EN",
        "vendor_list_version": 126, "tcf_policy_version": 2, "is_service_specific": True,
        "use_non_standard_texts": False, "purpose_one_treatment": False, "publisher_cc": "DE"}
    assert decoded["purposes_consent"] == decoded["vendor_consents"] == decoded["publisher_restrictions"] == []
    assert decoded["segments"] == ["core"] and decoded["disclosed_vendors"] is None


def test_vendor_sections_decode_both_bitfield_and_range_encodings():
    bitfield = decode_tc_string(vector(TCF_VECTORS, "global consent, vendors as a bitfield, disclosed vendors")["string"])
    ranges = decode_tc_string(vector(TCF_VECTORS, "service-specific, sparse vendors as ranges, publisher TC with custom purposes")["string"])
    assert bitfield["encoding"]["vendor_consents"] == "bitfield"
    assert bitfield["vendor_consents"] == [1, 2, 7, 8, 9, 20, 32]
    assert ranges["encoding"] == {"vendor_consents": "range", "vendor_legitimate_interests": "range"}
    assert ranges["vendor_consents"] == [1, 755, 1000] and ranges["vendor_legitimate_interests"] == [300, 1000]


def test_publisher_restrictions_merge_a_vendor_restricted_several_times():
    issue_201 = vector(TCF_VECTORS, "iabtcf-es issue 201: a vendor restricted several times")["string"]
    restrictions = decode_tc_string(issue_201)["publisher_restrictions"]
    first = restrictions[0]
    assert (first["purpose"], first["restriction"], first["vendors"]) == (1, "require_consent", [7, 20, 71, 122, 140, 183])
    assert len({(r["purpose"], r["restriction_type"]) for r in restrictions}) == len(restrictions)


def test_disclosed_vendors_segment_in_bitfield_encoding():
    disclosed = b64(n(1, 3) + n(9, 16) + "0" + ids_bitfield([1, 2, 7, 9], 9))
    decoded = decode_tc_string(b64(core_bits()) + "." + disclosed)
    assert decoded["disclosed_vendors"] == [1, 2, 7, 9]
    assert decoded["encoding"]["disclosed_vendors"] == "bitfield"
    assert decoded["segments"] == ["core", "disclosed_vendors"]
    assert decoded["purposes_consent"] == [1, 2] and decoded["consent_language"] == "EN"
    assert decoded["publisher_cc"] == "FR" and decoded["tcf_policy_version"] == 4


def test_publisher_tc_segment_with_custom_purposes():
    pub = n(3, 3) + ids_bitfield([1, 3], 24) + ids_bitfield([2], 24) + n(3, 6) + "101" + "010"
    decoded = decode_tc_string(b64(core_bits()) + "." + b64(pub))["publisher_tc"]
    assert decoded == {"purposes_consent": [1, 3], "purposes_li_transparency": [2], "num_custom_purposes": 3,
                       "custom_purposes_consent": [1, 3], "custom_purposes_li_transparency": [2]}


def test_unknown_segment_type_is_a_warning_not_an_error():
    decoded = decode_tc_string(b64(core_bits()) + "." + b64(n(6, 3) + "1" * 20))
    assert decoded["segments"] == ["core"]
    assert "segment type 6 is not defined" in decoded["warnings"][0]


def test_broken_optional_segment_keeps_the_core():
    # iabtcf-es issue 142: the disclosed-vendors bitfield is shorter than its MaxVendorId
    s = ("CLSYjTaOngnCIAOABBENAXCMAGOAABBAAA7IA5n-m7fP6_3fbqVv6E__PoA5Aqff3aJx8tv_1967rfnQEQoAIAAQCrwkAEABAcACABIMAC"
         "AAuApEVABABUSABgBCAVSAtIoACACIArYQAHACgAFgAVwBJgDcAI7AWgMAAgBiKgAgBMgFfKQAQBRkQAQA4AFiBAAoA-AEVAJlAVgAtYcAC"
         "AJcAr4eABAK8OgBgFzAOmAqwgABAWyA.IFukWSQh")
    decoded = decode_tc_string(s)
    assert decoded["version"] == 2 and decoded["vendor_consents"]
    assert decoded["disclosed_vendors"] is None
    assert "truncated" in decoded["warnings"][0]


@pytest.mark.parametrize("variant", [
    SPEC_TC + "==",
    urllib.parse.quote(SPEC_TC + "."),
    f'"{SPEC_TC}"',
    f"  {SPEC_TC}\n",
    SPEC_TC + "; path=/; secure",
    SPEC_TC + "~1YNN",
    SPEC_TC.replace("-", "+").replace("_", "/"),
    SPEC_TC.encode(),
])
def test_tolerates_padding_quotes_url_encoding_and_trailing_garbage(variant):
    decoded = decode_tc_string(variant)
    assert decoded["cmp_id"] == 31 and decoded["vendor_list_version"] == 126 and decoded["publisher_cc"] == "DE"


@pytest.mark.parametrize("bad, reason", [
    ("", "empty"),
    ("!!!", "no base64url text"),
    ("C", "truncated"),
    (SPEC_TC[:20], "truncated"),
    ("DBABMA~" + SPEC_TC, "GPP"),
    ("FPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA", "version 5"),
    (b"\xff\xfe\x00garbage", "no base64url text"),
    (None, "expected text"),
    (12345, "expected text"),
    ("C" * 200_000, "more than"),
])
def test_bad_tc_strings_raise_a_one_line_consent_string_error(bad, reason):
    with pytest.raises(ConsentStringError) as info:
        decode_tc_string(bad)
    assert reason in str(info.value) and "\n" not in str(info.value)
    assert isinstance(info.value, UserError)  # the CLI prints it as one line


def test_range_bomb_is_refused():
    entries = [(1, 65535)] * 20
    with pytest.raises(ConsentStringError, match="expand to more than"):
        decode_tc_string(b64(core_bits(vendors=n(65535, 16) + "1" + range_section(entries))))


def test_range_ending_before_it_starts_is_an_error():
    with pytest.raises(ConsentStringError, match="ends before it starts"):
        decode_tc_string(b64(core_bits(vendors=n(10, 16) + "1" + range_section([(9, 3)]))))


def test_tcf_v1_range_lists_the_exceptions_to_the_default():
    # DefaultConsent 1 with vendors 3-4 listed: everyone up to MaxVendorId but 3 and 4
    v1 = (n(1, 6) + n(15_000_000_000, 36) * 2 + n(7, 12) + n(1, 12) + n(0, 6) + n(4, 6) + n(13, 6) + n(100, 12)
          + "1" * 5 + "0" * 19 + n(6, 16) + "1" + "1" + range_section([(3, 4)]))
    decoded = decode_tc_string(b64(v1))
    assert decoded["version"] == 1 and decoded["vendor_consents"] == [1, 2, 5, 6]
    assert decoded["purposes_consent"] == [1, 2, 3, 4, 5]


def test_random_input_only_ever_raises_consent_string_error():
    rng = random.Random(1)
    seeds = [v["string"] for v in TCF_VECTORS]
    for _ in range(3000):
        s = list(rng.choice(seeds))
        for _ in range(rng.randint(1, 5)):
            pos = rng.randrange(len(s))
            action = rng.random()
            if action < 0.4:
                s[pos] = rng.choice(ALPHABET + ".~%=!")
            elif action < 0.7:
                del s[pos:]
            else:
                s.insert(pos, rng.choice(ALPHABET + "."))
            if not s:
                break
        try:
            decode_tc_string("".join(s))
        except ConsentStringError:
            pass


# -- helpers over decoded TC strings ----------------------------------------------------------------------------


def test_consent_for_vendor_reads_vendor_consents():
    decoded = decode_tc_string(vector(TCF_VECTORS, "global consent, vendors as a bitfield, disclosed vendors")["string"])
    assert consent_for_vendor(decoded, 32) and not consent_for_vendor(decoded, 52)
    assert not consent_for_vendor(None, 32)
    reject = decode_tc_string(vector(TCF_VECTORS, "reject all")["string"])
    assert not any(consent_for_vendor(reject, v) for v in (1, 32, 52, 91, 755))


def test_purposes_allowed_applies_publisher_restrictions():
    decoded = decode_tc_string(vector(TCF_VECTORS, "publisher restrictions (not allowed, require consent, require LI)")["string"])
    # purpose 2 flatly not allowed for vendors 8 and 9
    assert purposes_allowed(decoded, 8) == {"consent": [1, 3, 7], "legitimate_interest": []}
    # vendor 52: purpose 7 requires consent, so it leaves the LI basis
    assert purposes_allowed(decoded, 52) == {"consent": [1, 2, 3, 7], "legitimate_interest": [2]}
    # vendor 91: purpose 3 requires LI, so it leaves the consent basis (and policy 4 forbids LI for 3-6)
    assert purposes_allowed(decoded, 91) == {"consent": [1, 2, 7], "legitimate_interest": [2, 7]}
    assert purposes_allowed(decoded, 755) == {"consent": [], "legitimate_interest": []}


@pytest.mark.parametrize("key, vendor_id", [
    ("appnexus", 32), ("rubicon", 52), ("criteo", 91), ("pubmatic", 76), ("ix", 10), ("openx", 69),
    ("triplelift", 28), ("https://ib.adnxs.com/openrtb2/prebidjs", 32), ("securepubads.g.doubleclick.net", 755),
    ("match.adsrvr.org", 21), ("aax-eu.amazon-adsystem.com", 793), ("pixel.quantserve.com", 11),
    ("fastlane.rubiconproject.com:443", 52), ("htlb.casalemedia.com", 10),
])
def test_bidder_codes_and_hosts_map_to_gvl_vendor_ids(key, vendor_id):
    assert vendor_for(key).id == vendor_id


def test_unknown_or_lookalike_hosts_have_no_vendor():
    assert vendor_for("facebook.com") is None
    assert vendor_for("notadnxs.com") is None
    assert vendor_for("") is None


# -- GPP ----------------------------------------------------------------------------------------------------


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@pytest.mark.parametrize("case", GPP_VECTORS, ids=[v["name"] for v in GPP_VECTORS])
def test_gpp_sections_match_iabgpp_cmpapi(case):
    decoded = decode_gpp_string(case["string"])
    assert [s["name"] for s in decoded["sections"]] == list(case["expected"])
    for section in decoded["sections"]:
        assert section["error"] is None, section
        fields, got = case["expected"][section["name"]], section["decoded"]
        if section["name"] == "tcfeuv2":
            assert got["cmp_id"] == fields["CmpId"] and got["vendor_consents"] == fields["VendorConsents"]
            assert got["purposes_consent"] == [i + 1 for i, v in enumerate(fields["PurposeConsents"]) if v]
            assert got["created"] == fields["Created"]
        elif section["name"] == "uspv1":
            assert got["string"] == f"{fields['Version']}{fields['Notice']}{fields['OptOutSale']}{fields['LspaCovered']}"
        else:
            for field, expected in fields.items():
                if field in ("GpcSegmentType", "GpcSegmentIncluded"):
                    continue
                if field == "Gpc" and "." not in section["raw"]:
                    expected = None  # no GPC sub-section in the string: mouchard says unknown, the library false
                if section["name"] == "usnat" and isinstance(expected, list) and case["made_by"] == "decode":
                    got_value = got[snake(field)][:len(expected)]  # see make_strings/README.md: layout by length
                else:
                    got_value = got[snake(field)]
                assert got_value == expected, field


@pytest.mark.parametrize("header, ids", [("DBABM", [2]), ("DBACNY", [2, 6]), ("DBABjw", [5, 6]),
                                         ("DBABMA", [2]), ("DBABrMA", [7, 8, 9, 10])])
def test_gpp_header_examples_from_the_specification(header, ids):
    assert decode_gpp_string(header)["section_ids"] == ids


def test_gpp_specification_example_2_decodes_tcf_and_us_privacy():
    decoded = decode_gpp_string("DBACNYA~CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA~1YNN")
    assert decoded["version"] == 1 and decoded["section_ids"] == [2, 6]
    assert gpp_section(decoded, "tcfeuv2")["cmp_id"] == 31
    assert gpp_section(decoded, 6) == {"version": 1, "explicit_notice": True, "opt_out_sale": False,
                                       "lspa_covered": False, "string": "1YNN"}
    assert decoded["warnings"] == []


def test_url_encoded_gpp_string():
    decoded = decode_gpp_string(urllib.parse.quote("DBACNYA~" + SPEC_TC + "~1YNN"))
    assert decoded["section_ids"] == [2, 6] and gpp_section(decoded, "uspv1")["string"] == "1YNN"


def test_undecoded_sections_keep_their_raw_text():
    decoded = decode_gpp_string("DBABjw~CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA~1YNN")
    canada = decoded["sections"][0]
    assert (canada["name"], canada["decoded"]) == ("tcfcav1", None)
    assert canada["raw"].startswith("CPXx") and "not decoded" in canada["error"]
    assert gpp_section(decoded, "uspv1")["opt_out_sale"] is False


def test_usnat_december_2022_layout_is_read_from_a_ten_character_core():
    # from iabgpp-es's UsNat tests: written with 12 sensitive-data categories and 2 known-child values
    usnat = gpp_section(decode_gpp_string("DBABLA~BVQqAAAACg"), "usnat")
    assert usnat["version"] == 1 and len(usnat["sensitive_data_processing"]) == 12
    assert (usnat["sharing_notice"], usnat["sale_opt_out_notice"], usnat["sharing_opt_out_notice"]) == (1, 1, 1)
    assert (usnat["sale_opt_out"], usnat["sharing_opt_out"], usnat["targeted_advertising_opt_out"]) == (2, 2, 2)
    assert usnat["known_child_sensitive_data_consents"] == [0, 0]
    assert (usnat["personal_data_consents"], usnat["mspa_covered_transaction"]) == (2, 2)
    assert usnat["gpc"] is None


def test_section_errors_do_not_stop_the_other_sections():
    decoded = decode_gpp_string("DBACNYA~C~1YNN")
    assert "truncated" in decoded["sections"][0]["error"]
    assert decoded["sections"][1]["decoded"]["explicit_notice"] is True


def test_section_count_mismatch_is_a_warning():
    decoded = decode_gpp_string("DBACNYA~" + SPEC_TC)
    assert len(decoded["sections"]) == 1 and "lists 2 sections" in decoded["warnings"][0]


@pytest.mark.parametrize("bad, reason", [
    (SPEC_TC, "TC string"), ("", "empty"), ("D", "truncated"), ("DB", "truncated"), ("~1YNN", "empty"),
    (None, "expected text"),
    (b64(n(3, 6) + n(1, 6) + n(1, 12) + "0" + "0" * 60 + "11"), "Fibonacci"),
    (b64(n(3, 6) + n(1, 6) + n(1, 12) + "1" + "11" + "0" * 16 + "11"), "beyond"),
    ("DBAB" + "A" * 90_000, "Fibonacci"),
])
def test_bad_gpp_headers_raise_consent_string_error(bad, reason):
    with pytest.raises(ConsentStringError, match=reason):
        decode_gpp_string(bad)


@pytest.mark.parametrize("bits, value", [("11", 1), ("011", 2), ("0011", 3), ("1011", 4), ("00011", 5),
                                         ("10011", 6), ("01011", 7), ("000011", 8)])
def test_fibonacci_integers_from_the_specification_table(bits, value):
    reader = BitReader("A")
    reader.bits = bits
    assert fibonacci_int(reader, "test") == value


def test_fibonacci_range_example_from_the_specification():
    reader = BitReader("A")
    reader.bits = "000000000010" + "0" + "0011" + "1" + "011" + "0011"
    assert fibonacci_range(reader, "test") == [3, 5, 6, 7, 8]


def test_random_gpp_input_only_ever_raises_consent_string_error():
    rng = random.Random(2)
    seeds = [v["string"] for v in GPP_VECTORS]
    for _ in range(2000):
        s = list(rng.choice(seeds))
        for _ in range(rng.randint(1, 4)):
            if not s:
                break
            pos = rng.randrange(len(s))
            s[pos] = rng.choice(ALPHABET + ".~")
        try:
            decode_gpp_string("".join(s))
        except ConsentStringError:
            pass


# -- US Privacy -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value, expected", [
    ("1YNN", (True, False, False)), ("1---", (None, None, None)), ("1YYY", (True, True, True)),
    ("1nyn", (False, True, False)), (b"1YN-", (True, False, None)),
])
def test_us_privacy_strings(value, expected):
    decoded = decode_us_privacy(value)
    assert (decoded["explicit_notice"], decoded["opt_out_sale"], decoded["lspa_covered"]) == expected


@pytest.mark.parametrize("bad", ["", "1YN", "1YNNN", "1XNN", "2YNN", "YNN1", None])
def test_bad_us_privacy_strings_raise(bad):
    with pytest.raises(ConsentStringError):
        decode_us_privacy(bad)


# -- GPC site statement ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("body, gpc, last_update, error", [
    (b'{"gpc": true, "lastUpdate": "2021-11-01"}', True, "2021-11-01", None),
    (b'{"gpc": false}', False, None, None),
    (b'\xef\xbb\xbf{"gpc": true}', True, None, None),
    (b'{"gpc": "true"}', None, None, "gpc must be true or false"),
    (b'{"gpc": 1}', None, None, "gpc must be true or false"),
    (b'{"lastUpdate": "2021-11-01"}', None, "2021-11-01", "missing the required gpc"),
    (b'{"gpc": true, "lastUpdate": "yesterday"}', True, "yesterday", "not a YYYY-MM-DD date"),
    (b'{"gpc": true, "lastUpdate": 20211101}', True, None, "lastUpdate must be a date string"),
    (b'[true]', None, None, "not a JSON object"),
    (b'<html>Not found</html>', None, None, "invalid JSON"),
    (b'{"gpc": tr', None, None, "invalid JSON"),
    (b'\xff\xfe{"gpc": true}', None, None, "not UTF-8"),
])
def test_gpc_json_is_read_and_checked_against_the_specification(body, gpc, last_update, error):
    result = parse_gpc_json(body)
    assert (result["gpc"], result["lastUpdate"]) == (gpc, last_update)
    if error is None:
        assert result["errors"] == []
    else:
        assert len(result["errors"]) == 1 and error in result["errors"][0]


# -- CMP cookies -----------------------------------------------------------------------------------------------


def test_every_consent_cookie_names_its_framework():
    for cookie in CONSENT_COOKIES.values():
        assert cookie.framework in ("tcf", "gpp", "usp", "ac", "cmp") and cookie.description


def test_unknown_cookie_is_not_a_consent_cookie():
    assert parse_consent_cookie("_ga", "GA1.2.3.4") is None
    assert consent_cookie("cmplz_marketing").cmp == "complianz"
    assert consent_cookie("_iub_cs-12345").cmp == "iubenda"


def test_onetrust_groups():
    value = ("isGpcEnabled=0&datestamp=Tue+Jan+02+2024+10%3A00%3A00+GMT%2B0100&version=202310.1.0&isIABGlobal=false"
             "&hosts=&consentId=0b9d&interactionCount=1&landingPath=NotLandingPage"
             "&groups=C0001%3A1%2CC0002%3A0%2CC0003%3A0%2CC0004%3A0&geolocation=FR%3BIDF&AwaitingReconsent=false")
    parsed = parse_consent_cookie("OptanonConsent", value)
    assert parsed["cmp"] == "onetrust" and parsed["error"] is None
    assert parsed["granted"] == ["C0001"] and parsed["denied"] == ["C0002", "C0003", "C0004"]
    assert parsed["decoded"]["interactionCount"] == "1" and parsed["decoded"]["geolocation"] == "FR;IDF"
    # the same value URL-encoded once more, as some stores return it
    assert parse_consent_cookie("OptanonConsent", urllib.parse.quote(value))["granted"] == ["C0001"]


def test_cookiebot_categories():
    value = ("{stamp:%27hE5ZmLEq7W%2Fm7fRQ%3D%3D%27%2Cnecessary:true%2Cpreferences:true%2Cstatistics:false"
             "%2Cmarketing:false%2Cmethod:%27explicit%27%2Cver:1%2Cutc:1704189600000%2Cregion:%27fr%27}")
    parsed = parse_consent_cookie("CookieConsent", value)
    assert parsed["granted"] == ["necessary", "preferences"] and parsed["denied"] == ["marketing", "statistics"]
    assert parsed["decoded"]["method"] == "explicit" and parsed["decoded"]["region"] == "fr"
    assert parse_consent_cookie("CookieConsent", "-1")["decoded"] == {"consent_required": False}


def test_didomi_token():
    token = {"user_id": "18ce0000-aaaa", "created": "2024-01-02T10:00:00.000Z", "updated": "2024-01-02T10:00:00.000Z",
             "vendors": {"enabled": ["google", "c:analytics"], "disabled": ["c:ads"]},
             "purposes": {"enabled": ["analytics"], "disabled": ["advertising_personalization"]}, "version": 2}
    value = base64.urlsafe_b64encode(json.dumps(token).encode()).decode().rstrip("=")
    parsed = parse_consent_cookie("didomi_token", value)
    assert parsed["granted"] == ["analytics", "vendor:c:analytics", "vendor:google"]
    assert parsed["denied"] == ["advertising_personalization", "vendor:c:ads"]


@pytest.mark.parametrize("name, value, granted, denied", [
    ("tarteaucitron", "!gtag=true!youtube=false!facebookpixel=wait", ["gtag"], ["youtube"]),
    ("klaro", urllib.parse.quote('{"matomo":true,"google-analytics":false}'), ["matomo"], ["google-analytics"]),
    ("cc_cookie", '{"categories":["necessary","analytics"],"revision":0,"data":null,'
                  '"consentTimestamp":"2024-01-02T10:00:00.000Z","consentId":"abc","services":{"necessary":[]}}',
     ["analytics", "necessary"], None),
    ("cc_cookie", '{"level":["necessary"],"revision":0,"data":null,"rfc_cookie":false}', ["necessary"], None),
    ("cookieyes-consent", "consentid:abc,consent:no,action:yes,necessary:yes,functional:no,analytics:no,"
                          "performance:no,advertisement:no", ["necessary"], ["advertisement", "analytics",
                                                                              "functional", "performance"]),
    ("cmplz_marketing", "deny", [], ["marketing"]),
    ("cmplz_statistics", "allow", ["statistics"], []),
    ("notice_gdpr_prefs", "0,1:", ["required", "functional"], None),
    ("notice_preferences", "2:", ["required", "functional", "advertising"], None),
    ("axeptio_cookies", '{"$$token":"x","$$date":"2024-01-02","google_analytics":false,"hotjar":true}',
     ["hotjar"], ["google_analytics"]),
    ("CookieScriptConsent", '{"action":"reject","categories":"[]"}', [], ["all optional"]),
    ("_iub_cs-123", '{"timestamp":"2024-01-02","version":"1","purposes":{"1":true,"4":false}}',
     ["purpose:1"], ["purpose:4"]),
])
def test_cmp_cookies_say_what_was_granted_and_denied(name, value, granted, denied):
    parsed = parse_consent_cookie(name, value)
    assert parsed["error"] is None, parsed["error"]
    assert (parsed["granted"], parsed["denied"]) == (granted, denied)


def test_framework_cookies_are_decoded():
    tc = parse_consent_cookie("euconsent-v2", SPEC_TC)
    assert tc["framework"] == "tcf" and tc["decoded"]["cmp_id"] == 31
    usp = parse_consent_cookie("usprivacy", "1YYN")
    assert usp["decoded"]["opt_out_sale"] is True and usp["denied"] == ["sale"]
    gpp = parse_consent_cookie("__gpp", urllib.parse.quote("DBABMA~" + SPEC_TC))
    assert gpp["decoded"]["section_ids"] == [2]
    ac = parse_consent_cookie("addtl_consent", "1~1.35.41.101")
    assert ac["decoded"] == {"version": 1, "consented_providers": [1, 35, 41, 101]}


def test_unreadable_cookie_values_give_an_error_not_an_exception():
    for name, value in [("euconsent-v2", "garbage!!"), ("didomi_token", "%%%not-base64"), ("klaro", "{broken"),
                        ("cc_cookie", "[]"), ("CookieConsent", "nonsense"), ("usprivacy", "yes")]:
        parsed = parse_consent_cookie(name, value)
        assert parsed["error"] and parsed["decoded"] is None, name
    assert parse_consent_cookie("_sp_v1_consent", "1!1:1:-1:-1:-1:-1")["cmp"] == "sourcepoint"


def test_additional_consent_v2_lists_disclosed_providers():
    assert parse_additional_consent("2~1.35.41~dv.9.21.81") == {
        "version": 2, "consented_providers": [1, 35, 41], "disclosed_providers": [9, 21, 81]}
    with pytest.raises(ConsentStringError):
        parse_additional_consent("3~1.2")


# -- consent parameters on the wire ------------------------------------------------------------------------------


def test_consent_parameters_from_a_url():
    url = ("https://ib.adnxs.com/getuid?https://pbs.example/setuid?bidder=adnxs&uid=$UID&gdpr=1"
           f"&gdpr_consent={SPEC_TC}&us_privacy=1YNN&gpp=DBABMA~{SPEC_TC}&gpp_sid=2,6&addtl_consent=1~1.35")
    assert consent_params_from_url(url) == {"gdpr": 1, "gdpr_consent": SPEC_TC, "us_privacy": "1YNN",
                                            "gpp": f"DBABMA~{SPEC_TC}", "gpp_sid": [2, 6], "addtl_consent": "1~1.35"}


def test_unexpanded_macros_are_reported_not_taken_as_values():
    url = "https://sync.example/p?gdpr=${GDPR}&gdpr_consent=${GDPR_CONSENT_755}&us_privacy={{.USPrivacy}}"
    assert consent_params_from_url(url) == {"macros": ["gdpr", "gdpr_consent", "us_privacy"]}


def test_criteo_style_gdpr_parameter_carrying_the_string():
    url = f"https://ssp-sync.criteo.com/user-sync/redirect?gdprapplies=1&gdpr={SPEC_TC}&ccpa=1---"
    assert consent_params_from_url(url) == {"gdpr": 1, "gdpr_consent": SPEC_TC, "us_privacy": "1---"}


def test_urls_without_consent_parameters_give_nothing():
    assert consent_params_from_url("https://example.com/page?q=1#top") == {}
    assert consent_params_from_url("") == {}
