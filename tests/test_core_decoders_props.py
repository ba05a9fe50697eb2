"""Property tests (hypothesis) for every decoder of outside data not covered elsewhere: TCF, GPP, US Privacy, the
GPC statement, CMP cookies, consent parameters in URLs, OpenRTB and Prebid Server bodies, HAR and .mitm captures.

Each property: whatever the input, no exception escapes but the decoder's documented error type, and the work stays
within a COUNTED budget (output sizes bounded by the input's size plus a fixed cap; never timed). Hand-written
regressions beside them reproduce what hypothesis found on the code before (each fails there, passes now).
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mouchard.decode.consent import (CONSENT_COOKIES, MAX_TRUSTARC_LEVEL, WIRE_PARAMETERS, consent_params_from_url,
                              parse_additional_consent, parse_consent_cookie, parse_gpc_json)
from mouchard.errors import UserError
from mouchard.decode.gpp import MAX_SECTION_ID, decode_gpp_string, decode_us_privacy
from mouchard.decode.openrtb import (MAX_BIDS, MAX_IMPS, parse_cookie_sync, parse_openrtb, parse_setuid,
                              parse_uids_cookie)
from mouchard.decode.tcf import MAX_EXPANDED_IDS, MAX_STRING, ConsentStringError, decode_tc_string

# database=None: no .hypothesis folder in the working tree; the regressions found are the @example lines.
PROPS = settings(max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
FEW = settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

B64URL = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"
# Text a decoder sees: anything at all, or text made of the characters consent strings are made of.
consent_text = st.one_of(st.text(max_size=200), st.binary(max_size=200),
                         st.text(alphabet=B64URL + ".~%=+/ \"'", max_size=300))


# -- building consent strings bit by bit, so the properties reach deep into the decoders ----------------------

class Bits:
    """A big-endian bit writer that encodes to base64url six bits per character, as TC and GPP strings are."""

    def __init__(self) -> None:
        self.bits: list[str] = []

    def int(self, value: int, width: int) -> "Bits":
        self.bits.append(format(value % (1 << width), f"0{width}b"))
        return self

    def fib(self, value: int) -> "Bits":
        """Fibonacci code of value >= 1 (weights 1, 2, 3, 5...), ending with 11."""
        weights = [1, 2]
        while weights[-1] <= value:
            weights.append(weights[-1] + weights[-2])
        code = ["0"] * len(weights)
        for i in range(len(weights) - 1, -1, -1):
            if weights[i] <= value:
                code[i], value = "1", value - weights[i]
        while code and code[-1] == "0":
            code.pop()
        self.bits.append("".join(code) + "1")
        return self

    def raw(self, bits: str) -> "Bits":
        self.bits.append(bits)
        return self

    def encode(self) -> str:
        text = "".join(self.bits)
        text += "0" * (-len(text) % 6)
        return "".join(B64URL[int(text[i:i + 6], 2)] for i in range(0, len(text), 6))


ranges = st.lists(st.tuples(st.booleans(), st.integers(0, 65535), st.integers(0, 65535)), max_size=40)


@st.composite
def tc_strings(draw) -> str:
    """TCF v2 (or v1) strings with random header fields and vendor sections that are bitfields or range lists
    claiming up to 65,535 vendors per entry, and random extra segments."""
    version = draw(st.sampled_from([1, 2, 2, 2]))
    w = Bits().int(version, 6)
    for width in (36, 36, 12, 12, 6, 6, 6, 12):  # created, updated, cmp id/version, screen, language, vendor list
        w.int(draw(st.integers(0, (1 << width) - 1)), width)

    def vendor_section() -> None:
        w.int(draw(st.integers(0, 65535)), 16)  # MaxVendorId
        if draw(st.booleans()):
            w.int(1, 1)
            entries = draw(ranges)
            w.int(len(entries), 12)
            for is_range, start, end in entries:
                w.int(int(is_range), 1).int(start, 16)
                if is_range:
                    w.int(end, 16)
        else:
            w.int(0, 1).raw(draw(st.text(alphabet="01", max_size=400)))

    if version == 1:
        w.int(draw(st.integers(0, (1 << 24) - 1)), 24)
        vendor_section()
    else:
        w.int(draw(st.integers(0, 63)), 6).raw(draw(st.text(alphabet="01", min_size=0, max_size=80)))
        vendor_section()
        vendor_section()
        w.int(draw(st.integers(0, 40)), 12)  # NumPubRestrictions, then whatever bits follow
    text = w.encode() + draw(st.text(alphabet=B64URL, max_size=40))
    extra = draw(st.lists(st.text(alphabet=B64URL, min_size=1, max_size=60), max_size=3))
    return ".".join([text, *extra])


def id_count(decoded: dict) -> int:
    """Every vendor id or purpose a decoded TC string lists: what its loops produced."""
    total = 0
    for key in ("vendor_consents", "vendor_legitimate_interests", "disclosed_vendors", "allowed_vendors",
                "purposes_consent", "purposes_li_transparency", "special_feature_opt_ins"):
        total += len(decoded.get(key) or ())
    total += sum(len(r["vendors"]) for r in decoded.get("publisher_restrictions") or ())
    return total


def check_tc(value) -> None:
    try:
        decoded = decode_tc_string(value)
    except ConsentStringError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    bits = 6 * len(value)
    # ids come from bitfields (one bit each) or from ranges (the shared budget): never more
    assert id_count(decoded) <= bits + MAX_EXPANDED_IDS + 65535
    assert len(decoded["warnings"]) <= len(value)


# -- TCF --------------------------------------------------------------------------------------------------------

@PROPS
@given(consent_text)
@example("C" + "A" * 30)
@example("B" + "A" * 30)
def test_tc_decoder_on_any_text_raises_only_its_error(value):
    check_tc(value)


@PROPS
@given(tc_strings())
def test_tc_decoder_on_built_strings_stays_in_its_budget(value):
    check_tc(value)


def test_tc_range_bomb_is_refused_by_the_counted_budget():
    """4,095 range entries of 65,535 vendors each (268 million ids from 22 KB): refused past MAX_EXPANDED_IDS."""
    # version, 207 bits of header fields, MaxVendorId, IsRangeEncoding, NumEntries; then the entries
    w = Bits().int(2, 6).raw("0" * 207).int(65535, 16).int(1, 1).int(4095, 12)
    for _ in range(4095):
        w.int(1, 1).int(1, 16).int(65535, 16)
    with pytest.raises(ConsentStringError, match="ranges expand to more than"):
        decode_tc_string(w.encode())


def test_tc_string_far_too_long_is_refused_before_any_work():
    with pytest.raises(ConsentStringError, match="more than the"):
        decode_tc_string("C" * (3 * MAX_STRING + 1))


# -- GPP and US Privacy -----------------------------------------------------------------------------------------

@st.composite
def gpp_strings(draw) -> str:
    """GPP strings with a Fibonacci-coded section-id header (groups, large offsets) and random sections."""
    w = Bits().int(3, 6).int(draw(st.integers(0, 63)), 6)
    items = draw(st.lists(st.tuples(st.booleans(), st.integers(1, 2000), st.integers(1, 2000)), max_size=12))
    w.int(len(items), 12)
    for is_group, offset, length in items:
        w.int(int(is_group), 1).fib(offset)
        if is_group:
            w.fib(length)
    sections = draw(st.lists(st.one_of(st.text(alphabet=B64URL + ".", max_size=40), tc_strings(),
                                       st.sampled_from(["1YNN", "1---", "9YYY"])), max_size=6))
    return "~".join([w.encode(), *sections])


def check_gpp(value) -> None:
    try:
        decoded = decode_gpp_string(value)
    except ConsentStringError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    ids = decoded["section_ids"]
    assert len(ids) <= MAX_SECTION_ID and all(1 <= i <= MAX_SECTION_ID for i in ids)
    assert ids == sorted(set(ids))  # offsets are >= 1: the header cannot repeat or loop
    assert len(decoded["sections"]) <= len(value)


@PROPS
@given(consent_text)
@example("DBABMA~CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA")
def test_gpp_decoder_on_any_text_raises_only_its_error(value):
    check_gpp(value)


@PROPS
@given(gpp_strings())
def test_gpp_decoder_on_built_strings_stays_in_its_budget(value):
    check_gpp(value)


@PROPS
@given(consent_text)
def test_us_privacy_decoder_raises_only_its_error(value):
    try:
        decoded = decode_us_privacy(value)
    except ConsentStringError:
        return
    assert decoded["version"] == 1 and len(decoded["string"]) == 4


# -- the GPC statement, CMP cookies, Additional Consent, consent parameters in URLs -----------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20)
deep_json = st.integers(1, 50_000).map(lambda depth: "[" * depth + "]" * depth)


@PROPS
@given(st.one_of(consent_text, json_values.map(json.dumps), json_values.map(lambda v: json.dumps(v).encode()),
                 deep_json, st.fixed_dictionaries({"gpc": json_values, "lastUpdate": json_values}).map(json.dumps)))
@example("[" * 100_000)
def test_gpc_statement_parser_never_raises(data):
    result = parse_gpc_json(data)
    assert set(result) == {"gpc", "lastUpdate", "errors"} and result["gpc"] in (True, False, None)
    assert len(result["errors"]) <= 3


def test_gpc_statement_nested_deep_is_an_error_not_a_crash():
    """Found by the property above: json.loads raised RecursionError out of parse_gpc_json."""
    assert parse_gpc_json("[" * 100_000)["errors"][0].startswith("invalid JSON")


cookie_values = st.one_of(
    consent_text, json_values.map(json.dumps), deep_json,
    json_values.map(lambda v: base64.urlsafe_b64encode(json.dumps(v).encode()).decode()),
    st.text(alphabet=string.digits + ",:.²³¹٣", max_size=40))


@PROPS
@given(st.sampled_from(sorted(CONSENT_COOKIES)), cookie_values)
@example("notice_preferences", "99999999999:")
@example("notice_gdpr_prefs", "1" * 5000)
@example("didomi_token", "[" * 50_000)
def test_consent_cookie_parser_never_raises_and_stays_bounded(name, value):
    result = parse_consent_cookie(name, value)
    assert result is not None and result["cookie"] == name
    for key in ("granted", "denied"):
        assert len(result[key] or ()) <= len(value) + MAX_TRUSTARC_LEVEL + 1


def test_trustarc_level_is_bounded():
    """Found by the property above: `notice_preferences: 99999999999` built range(0, 10**11) (MemoryError)."""
    result = parse_consent_cookie("notice_preferences", "99999999999:")
    assert result["error"] and result["granted"] is None
    assert parse_consent_cookie("notice_preferences", "2:")["granted"] == ["required", "functional", "advertising"]


@PROPS
@given(st.text(alphabet=string.digits + ".~dv²٣" + string.ascii_letters, max_size=60))
@example("1~²")
@example("2~1.35~dv.9.²")
def test_additional_consent_parser_raises_only_its_error(value):
    try:
        result = parse_additional_consent(value)
    except ConsentStringError:
        return
    assert len(result["consented_providers"]) + len(result.get("disclosed_providers", ())) <= len(value)
    assert all(0 <= i < 10 ** 9 for i in result["consented_providers"])


query_values = st.one_of(st.text(max_size=40), st.text(alphabet=string.digits + ",_~ ²³٣", max_size=30))


@PROPS
@given(st.lists(st.tuples(st.sampled_from(sorted(WIRE_PARAMETERS)), query_values), max_size=6), st.text(max_size=30))
@example([("gpp_sid", "²")], "")
def test_consent_parameters_from_any_url_never_raise(params, junk):
    url = "https://x.example/setuid?" + "&".join(f"{k}={v}" for k, v in params) + junk
    found = consent_params_from_url(url)
    assert len(found.get("gpp_sid", ())) <= len(url)
    assert parse_setuid(url) is not None


def test_gpp_sid_with_unicode_digits_is_skipped_not_raised():
    """Found by the property above: "²".isdigit() is True and int("²") raises ValueError (from /setuid URLs)."""
    assert consent_params_from_url("https://x/p?gpp_sid=2,²,7") == {"gpp_sid": [2, 7]}
    assert parse_additional_consent("1~².5")["consented_providers"] == [5]


# -- OpenRTB and Prebid Server ----------------------------------------------------------------------------------

KEYS = ["imp", "seatbid", "bid", "id", "nbr", "mtype", "price", "adomain", "banner", "format", "w", "h", "ext",
        "prebid", "bidder", "device", "geo", "lat", "lon", "user", "eids", "uids", "regs", "gdpr", "gpp",
        "source", "schain", "nodes", "site", "app", "publisher", "pmp", "deals", "data", "segment", "cur",
        "bidder_status", "usersync", "tempUIDs", "uids", "consent", "tmax"]
rtb_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6),
                                                               inner, max_size=6),
    max_leaves=40)
rtb_documents = st.one_of(
    st.fixed_dictionaries({"imp": st.lists(rtb_json, max_size=4)}, optional={k: rtb_json for k in KEYS[:30] if k != "imp"}),
    st.fixed_dictionaries({"seatbid": st.lists(st.fixed_dictionaries({"bid": st.lists(rtb_json | st.dictionaries(
        st.sampled_from(KEYS), rtb_json, max_size=6), max_size=4)}, optional={"seat": rtb_json}), max_size=3)},
        optional={"id": rtb_json, "nbr": rtb_json, "cur": rtb_json}),
    st.dictionaries(st.sampled_from(KEYS), rtb_json, max_size=8))


@FEW
@given(st.one_of(rtb_documents.map(lambda d: json.dumps(d).encode()), st.binary(max_size=300),
                 rtb_documents.map(lambda d: json.dumps(d)[: len(json.dumps(d)) // 2].encode())),
       st.sampled_from([None, "gzip", "deflate", "br", "zstd", "identity", "x-unknown"]))
@example(b'{"seatbid":[{"bid":[{"mtype":[1]}]}]}', None)
@example(b'{"imp":' + b"[" * 50_000, None)
def test_openrtb_parser_never_raises_and_stays_bounded(body, encoding):
    message = parse_openrtb(body, "application/json", encoding)
    if message is None:
        return
    assert message.kind in ("request", "response")
    assert len(message.imps) <= min(MAX_IMPS, len(body)) and len(message.bids) <= min(MAX_BIDS, len(body))
    assert len(message.errors) <= 3


def test_openrtb_bid_with_a_list_mtype_is_read():
    """Found by the property above: BID_MTYPES.get([1]) raised TypeError (unhashable) out of parse_openrtb."""
    message = parse_openrtb(b'{"seatbid":[{"bid":[{"mtype":[1],"price":1.5}]}]}', "application/json")
    assert message.bids[0]["price"] == 1.5 and message.bids[0]["media_type"] is None


def test_openrtb_bids_past_the_cap_say_so_once():
    seatbids = [{"bid": [{"price": 1}] * 100} for _ in range(MAX_BIDS // 100 + 50)]
    message = parse_openrtb(json.dumps({"seatbid": seatbids}).encode(), "application/json")
    assert len(message.bids) == MAX_BIDS and len(message.errors) == 1


@FEW
@given(st.one_of(rtb_documents.map(lambda d: json.dumps(d).encode()), st.binary(max_size=200)),
       st.text(max_size=80))
def test_prebid_server_sync_parsers_never_raise(body, cookie):
    result = parse_cookie_sync(body)
    assert result is None or result["kind"] in ("request", "response")
    assert isinstance(parse_uids_cookie(cookie), dict)
    encoded = base64.urlsafe_b64encode(body).decode()
    assert len(parse_uids_cookie(encoded)) <= len(body)


# -- captures for `mouchard import` (HAR and .mitm) -------------------------------------------------------------

def tnetstring_nested(depth: int) -> bytes:
    data = b"0:~"
    for _ in range(depth):
        data = b"%d:%s]" % (len(data), data)
    return data


har_documents = st.one_of(
    st.fixed_dictionaries({"log": st.fixed_dictionaries({"entries": st.lists(rtb_json, max_size=3)})}),
    st.fixed_dictionaries({"log": rtb_json}), rtb_json)


@FEW
@given(st.one_of(st.binary(max_size=300), har_documents.map(lambda d: json.dumps(d).encode()),
                 st.integers(1, 20_000).map(lambda n: b"{" + b'"a":[' * n),
                 st.integers(1, 5_000).map(tnetstring_nested),
                 st.binary(max_size=200).map(lambda b: b"%d:%s," % (len(b), b))))
@example(tnetstring_nested(5_000))
@example(b'{"log": {"entries": [{}]}}')
@example(b"\xef\xbb\xbf" + b"[" * 50_000)
def test_capture_check_raises_only_a_one_line_user_error(tmp_path_factory, content):
    from addons.capture import check_capture

    path = tmp_path_factory.mktemp("capture") / "capture.bin"
    path.write_bytes(content)
    try:
        capture = check_capture(path)
    except UserError as exc:
        assert "\n" not in str(exc)
        return
    assert capture.kind in ("har", "mitm") and 0 <= capture.flows <= len(content)


def test_capture_nested_deep_is_refused_before_mitmdump_reads_it(tmp_path):
    """mitmproxy's reader raises RecursionError on a tnetstring nested 5,000 deep; mitmdump -r would log it and
    finish the import with nothing: the check refuses the file first."""
    from addons.capture import check_capture

    path = tmp_path / "deep.mitm"
    path.write_bytes(tnetstring_nested(5_000))
    with pytest.raises(UserError, match="unreadable at flow 1 .*RecursionError"):
        check_capture(path)


def test_truncated_capture_is_refused_naming_the_flow(tmp_path):
    from mitmproxy.io import FlowWriter
    from mitmproxy.test import tflow

    from addons.capture import check_capture

    buffer = io.BytesIO()
    writer = FlowWriter(buffer)
    for _ in range(3):
        writer.add(tflow.tflow(resp=True))
    whole = buffer.getvalue()
    path = tmp_path / "three.mitm"
    path.write_bytes(whole)
    assert check_capture(path).flows == 3
    path.write_bytes(whole[: len(whole) - 40])
    with pytest.raises(UserError, match="unreadable at flow 3"):
        check_capture(path)


def test_har_nested_deep_is_a_one_line_error(tmp_path):
    """The HAR check parsed with json.loads and let RecursionError escape as a traceback."""
    from addons.capture import check_capture

    path = tmp_path / "deep.har"
    path.write_bytes(b'{"log": ' + b"[" * 100_000)
    with pytest.raises(UserError, match="is not a HAR file"):
        check_capture(path)


def test_gzip_is_not_a_capture(tmp_path):
    from addons.capture import check_capture

    path = tmp_path / "x.har.gz"
    path.write_bytes(gzip.compress(b'{"log": {"entries": []}}'))
    with pytest.raises(UserError, match="neither a mitmproxy capture"):
        check_capture(path)


def test_every_decoder_module_is_covered_here():
    """A new consent or bidding decoder must join these properties: the modules listed are the ones tested."""
    tested = {"tcf", "gpp", "consent", "openrtb"}
    root = Path(__file__).resolve().parent.parent / "mouchard"
    assert all((root / "decode" / f"{name}.py").is_file() for name in tested)
