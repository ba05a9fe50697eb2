"""Issue #15, items 3 and 4: newline-delimited JSON is searched line by line (Sentry envelopes, NDJSON batches),
positions sent as strings inside URL-encoded JSON are found with their path (Countly), and redaction reaches every
layer: the layer is decoded, redacted and re-encoded as it was sent, so nothing found is left in clear."""

from __future__ import annotations

import base64
import gzip
import json
import urllib.parse

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mouchard.budget import Budget, RedactionIncomplete
from mouchard.decode.encodings import split_ndjson
from mouchard.identify.layers import percent_decode_map
from mouchard.identify.leakdetect import LeakDetector, as_hay
from mouchard.identify.profile import parse_profile
from mouchard.identify.redact import Redactor

GAID = "38400000-8cf0-11bd-b23e-10b96e40000d"
EMAIL = "jean.dupont.mouchard@example.org"
IMEI = "356938035643809"
LAT, LON = "44.841225", "-0.570431"  # Bordeaux, as Countly sends them: strings
PROFILE = parse_profile({"device": {"platform": "android"},
                         "identifiers": {"advertising_id": GAID, "email": EMAIL, "imei": IMEI},
                         "location": {"lat": float(LAT), "lon": float(LON), "radius_m": 200}})
DETECTOR = LeakDetector.for_profile(PROFILE)
REDACTOR = Redactor.for_profile(PROFILE, DETECTOR)
SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def found(matches) -> set[tuple]:
    return {(m.kind, m.location, m.field, m.chain) for m in matches}


# -- NDJSON -----------------------------------------------------------------------------------------------------


def sentry_envelope() -> bytes:
    """An envelope as sentry-sdk writes it: header line, then per item a header line with the payload's length and
    the payload (an attachment's payload holds newlines)."""
    try:
        from sentry_sdk.envelope import Envelope, Item, PayloadRef
    except ImportError:
        from conftest import needs

        needs(["sentry-sdk"], "pip install -e .[test]")
    envelope = Envelope(headers={"event_id": "9ec79c33ec9942ab8353589fcb2e04dc",
                                 "dsn": "https://k@o1.ingest.sentry.io/1"})
    envelope.add_event({"event_id": "9ec79c33ec9942ab8353589fcb2e04dc", "user": {"email": EMAIL},
                        "contexts": {"device": {"lat": LAT, "lon": LON}}})
    envelope.add_item(Item(payload=PayloadRef(bytes=f"boot\nimei={IMEI}\n".encode()), type="attachment",
                           headers={"filename": "log.txt"}))
    return envelope.serialize()


def test_sentry_envelope_is_read_item_by_item_with_line_and_path():
    body = sentry_envelope()
    lines = body.split(b"\n")
    assert json.loads(lines[1])["type"] == "event" and json.loads(lines[3])["length"] == 5 + 5 + len(IMEI) + 1
    matches = DETECTOR.scan_http("https://o1.ingest.sentry.io/api/1/envelope/", [], gzip.compress(body),
                                 "application/x-sentry-envelope", "gzip")
    assert found(matches) == {
        ("email", "body", "$.user.email", "gzip>ndjson:line3>json:$.user.email"),
        ("location", "body", "$.contexts.device.lat", "gzip>ndjson:line3>json:$.contexts.device.lat>decimals:6"),
        ("imei", "body", None, "gzip>ndjson:line5"),
    }


def test_envelope_payload_of_announced_length_is_one_record_newlines_included():
    hay = as_hay(sentry_envelope())
    records = split_ndjson(hay, Budget())
    assert [line for line, _ in records] == [1, 2, 3, 4, 5]
    assert records[4][1] == f"boot\nimei={IMEI}\n"
    assert json.loads(records[2][1])["user"]["email"] == EMAIL


def test_ndjson_batch_with_a_line_that_is_not_json_still_parses_its_json_lines():
    body = (b"# exported by sdk 2.1\n"
            + json.dumps({"event": "open", "properties": {"$email": EMAIL}}).encode() + b"\n"
            + json.dumps({"event": "geo", "properties": {"$lat": LAT, "$lon": LON}}).encode() + b"\n")
    for ctype in ("application/x-ndjson", "application/jsonl", "text/plain"):
        matches = DETECTOR.scan_http("https://api.example.com/batch", [], body, ctype)
        assert found(matches) == {
            ("email", "body", '$.properties["$email"]', 'ndjson:line2>json:$.properties["$email"]'),
            ("location", "body", '$.properties["$lat"]', 'ndjson:line3>json:$.properties["$lat"]>decimals:6')}


def test_text_that_is_mostly_not_json_is_not_split():
    assert split_ndjson("a\nb\n{}\nc", Budget()) is None
    assert split_ndjson('{"a": 1}', Budget()) is None
    assert split_ndjson('{"a": 1}\n[2]\n', Budget()) == [(1, '{"a": 1}'), (2, "[2]")]


# -- URL-encoded JSON with string coordinates (Countly) ------------------------------------------------------------

COUNTLY_EVENTS = [{"key": "[CLY]_view", "count": 1, "segmentation": {"name": "Map", "lat": LAT, "lon": LON}}]
COUNTLY_URL = ("https://countly.example.com/i?app_key=5f1b&device_id=d-77&events="
               + urllib.parse.quote(json.dumps(COUNTLY_EVENTS)) + "&location=" + urllib.parse.quote(f"{LAT},{LON}"))


def test_countly_position_in_url_encoded_json_is_found_with_its_path():
    assert found(DETECTOR.scan_http(COUNTLY_URL)) == {
        ("location", "query", "events", "json:$[0].segmentation.lat>decimals:6"),
        ("location", "query", "location", "decimals:6")}


def test_countly_form_body_and_positions_split_over_two_parameters():
    body = urllib.parse.urlencode({"app_key": "5f1b", "events": json.dumps(COUNTLY_EVENTS)}).encode()
    assert found(DETECTOR.scan_http("https://countly.example.com/i", [], body,
                                    "application/x-www-form-urlencoded")) == {
        ("location", "body", "events", "json:$[0].segmentation.lat>decimals:6")}
    assert found(DETECTOR.scan_http(f"https://a.example/p?lat={LAT}&lon={LON}&v=2")) == {
        ("location", "query", "lat", "decimals:6")}


def test_positions_as_strings_in_json_in_json_strings():
    inner = json.dumps({"geo": {"latitude": LAT, "longitude": LON}})
    body = json.dumps({"payload": inner, "where": f"{LAT},{LON}"}).encode()
    assert found(DETECTOR.scan_http("https://a.example/e", [], body, "application/json")) == {
        ("location", "body", "$.payload", "json:$.payload>json:$.geo.latitude>decimals:6"),
        ("location", "body", "$.where", "json:$.where>decimals:6")}


def test_countly_url_is_redacted_inside_its_json_and_still_parses():
    redacted = REDACTOR.url(COUNTLY_URL, DETECTOR.scan_http(COUNTLY_URL))
    assert LAT not in urllib.parse.unquote(redacted) and LON not in urllib.parse.unquote(redacted)
    assert "44.84" not in urllib.parse.unquote(redacted) and "-0.57" not in urllib.parse.unquote(redacted)
    params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(redacted).query))
    assert json.loads(params["events"]) == [{"key": "[CLY]_view", "count": 1, "segmentation": {
        "name": "Map", "lat": "[LOCATION]", "lon": "[LOCATION]"}}]
    assert params["location"] == "[LOCATION],[LOCATION]" and params["app_key"] == "5f1b"
    # everything but the replaced numbers is kept byte for byte as sent
    assert redacted == COUNTLY_URL.replace(LAT, "[LOCATION]").replace(LON, "[LOCATION]")
    assert DETECTOR.scan_http(redacted) == []


# -- redaction in every layer ------------------------------------------------------------------------------------

B64_DOC = base64.b64encode(json.dumps({"u": {"mail": EMAIL}, "n": 1}).encode()).decode()
# base64 holding "+" and "/" (%-encoded in a URL) and padding: the decoded layer and the raw run overlap
B64_SYMBOLS = next(b for b in (base64.b64encode(json.dumps({"u": EMAIL, "pad": "~" * n + "?>>???"}).encode())
                               .decode() for n in range(64)) if "+" in b and "/" in b and b.endswith("="))
JWT = ("eyJhbGciOiJIUzI1NiJ9."
       + base64.urlsafe_b64encode(json.dumps({"sub": GAID, "iat": 1}).encode()).decode().rstrip("=")
       + ".c2lnbmF0dXJl")


@pytest.mark.parametrize("value, decode, expected", [
    (urllib.parse.quote(B64_DOC), lambda v: base64.b64decode(urllib.parse.unquote(v)),
     {"u": {"mail": "[EMAIL]"}, "n": 1}),
    (B64_DOC, base64.b64decode, {"u": {"mail": "[EMAIL]"}, "n": 1}),
    (urllib.parse.quote(B64_SYMBOLS, safe=""), lambda v: base64.b64decode(urllib.parse.unquote(v)),
     {"u": "[EMAIL]", "pad": json.loads(base64.b64decode(B64_SYMBOLS))["pad"]}),
    (base64.urlsafe_b64encode(json.dumps({"ifa": GAID}).encode()).decode().rstrip("="),
     lambda v: base64.urlsafe_b64decode(v + "=" * (-len(v) % 4)), {"ifa": "[GAID]"}),
    (JWT, lambda v: base64.urlsafe_b64decode(v.split(".")[1] + "=" * (-len(v.split(".")[1]) % 4)),
     {"sub": "[GAID]", "iat": 1}),
    (json.dumps({"id": GAID}).encode().hex(), bytes.fromhex, {"id": "[GAID]"}),
    (urllib.parse.quote(json.dumps({"payload": json.dumps({"geo": {"lat": LAT, "lng": LON}})})),
     lambda v: json.loads(json.loads(urllib.parse.unquote(v))["payload"]), {"geo": {"lat": "[LOCATION]",
                                                                                   "lng": "[LOCATION]"}}),
    (urllib.parse.quote(urllib.parse.quote(json.dumps({"loc": f"{LAT},{LON}"}))),
     lambda v: urllib.parse.unquote(urllib.parse.unquote(v)), {"loc": "[LOCATION],[LOCATION]"}),
], ids=["urlencoded-base64-json", "base64-json", "urlencoded-base64-with-symbols", "base64url-json", "jwt-payload", "hex-json", "json-in-json-string",
        "double-urlencoded"])
def test_each_layer_is_decoded_redacted_and_re_encoded(value, decode, expected):
    url = f"https://a.example/t?x=1&v={value}"
    redacted = REDACTOR.url(url, DETECTOR.scan_http(url))
    kept = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(redacted).query, keep_blank_values=True))
    raw = redacted.split("&v=", 1)[1]
    assert kept["x"] == "1"
    doc = decode(raw)
    assert (json.loads(doc) if isinstance(doc, (bytes, str)) else doc) == expected
    assert DETECTOR.scan_http(redacted) == []


def test_a_layer_that_cannot_be_re_encoded_becomes_its_tokens():
    blob = base64.b64encode(gzip.compress(json.dumps({"ifa": GAID}).encode(), mtime=0)).decode()
    assert REDACTOR.url(f"https://a.example/t?d={blob}&q=1") == "https://a.example/t?d=[GAID]&q=1"


def test_percent_decode_map_points_each_byte_at_its_escape():
    decoded, starts, ends = percent_decode_map("a%22b%2")
    assert decoded == 'a"b%2' and [(s, e) for s, e in zip(starts, ends)] == [(0, 1), (1, 4), (4, 5), (5, 6), (6, 7)]


# -- properties ----------------------------------------------------------------------------------------------------

json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=12),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                                         max_size=4), max_leaves=12)


@SETTINGS
@given(docs=st.lists(json_values, min_size=0, max_size=8), junk=st.lists(st.text(max_size=30), max_size=3),
       steps=st.integers(0, 60))
def test_ndjson_walker_never_raises_and_keeps_its_budget(docs, junk, steps):
    lines = [json.dumps(d) for d in docs] + [j.replace("\n", " ") for j in junk]
    hay = as_hay("\n".join(lines))
    budget = Budget(steps=steps)
    records = split_ndjson(hay, budget)
    assert all(budget.used[u] <= budget.limits[u] for u in budget.limits)
    if records is not None:
        assert all(text in hay for _, text in records)
        if not budget.exhausted:
            assert [text for _, text in records] == [line for line in hay.split("\n") if line.strip()]
    matches = DETECTOR.scan_message(hay.encode("latin-1"), budget=Budget(steps=steps * 10))
    assert isinstance(matches, list)


ENCODERS = {
    "urlencode": lambda s: urllib.parse.quote(s, safe=""),
    "base64": lambda s: base64.b64encode(s.encode("latin-1")).decode(),
    "base64url": lambda s: base64.urlsafe_b64encode(s.encode("latin-1")).decode().rstrip("="),
    "hex": lambda s: s.encode("latin-1").hex(),
    "json-string": lambda s: json.dumps({"v": s}),
    "jwt": lambda s: "eyJhbGciOiJub25lIn0." + base64.urlsafe_b64encode(s.encode("latin-1")).decode().rstrip("=")
                     + ".c2ln",
}
DECODERS = {
    "urlencode": urllib.parse.unquote,
    "base64": lambda s: base64.b64decode(s).decode("latin-1"),
    "base64url": lambda s: base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)).decode("latin-1"),
    "hex": lambda s: bytes.fromhex(s).decode("latin-1"),
    "json-string": lambda s: json.loads(s)["v"],
    "jwt": lambda s: base64.urlsafe_b64decode(s.split(".")[1] + "=" * (-len(s.split(".")[1]) % 4)).decode("latin-1"),
}
PLANTED = {"ifa": GAID, "mail": EMAIL, "lat": LAT, "lon": LON}


@SETTINGS
@given(keys=st.lists(st.sampled_from(sorted(PLANTED)), min_size=1, max_size=4, unique=True),
       layers=st.lists(st.sampled_from(sorted(ENCODERS)), min_size=1, max_size=3),
       filler=st.text(alphabet="abcdefghij XYZ", max_size=12))
def test_layer_redactor_re_encodes_what_it_redacted_and_no_needle_survives(keys, layers, filler):
    doc = {"note": filler, **{k: PLANTED[k] for k in keys}}
    if ("lat" in keys) != ("lon" in keys):  # a lone coordinate is not a position; keep pairs
        doc.update(lat=LAT, lon=LON)
    value = json.dumps(doc)
    for layer in layers:
        value = ENCODERS[layer](value)
    budget = Budget.for_input(len(value))
    redacted = REDACTOR.layers(value, budget=budget)
    assert all(budget.used[u] <= budget.limits[u] for u in budget.limits)
    assert DETECTOR.scan_value(redacted, "query") == []
    decoded = redacted
    try:
        for layer in reversed(layers):
            decoded = DECODERS[layer](decoded)
        inner = json.loads(decoded)
    except (ValueError, KeyError, IndexError, UnicodeDecodeError):
        return  # a layer that could not be re-encoded: the caller (_whole) replaces the value by its tokens
    assert inner["note"] == filler
    assert all(inner[k] == {"ifa": "[GAID]", "mail": "[EMAIL]"}.get(k, "[LOCATION]") for k in PLANTED if k in inner)


@SETTINGS
@given(text=st.text(max_size=200), steps=st.integers(0, 400))
def test_redaction_of_any_text_never_raises_but_fails_closed(text, steps):
    budget = Budget(steps=steps)
    try:
        out = REDACTOR.url(f"https://a.example/p?q={text}", budget=budget)
    except RedactionIncomplete:
        assert budget.exhausted
        return
    assert isinstance(out, str) and all(budget.used[u] <= budget.limits[u] for u in budget.limits)


@SETTINGS
@given(text=st.text(alphabet=st.sampled_from("%25AZaz09+/=_-{}[]\":,.4\n") | st.characters(), max_size=300),
       planted=st.sampled_from(["", GAID, EMAIL, f"{LAT},{LON}"]), steps=st.integers(0, 2000))
def test_layer_editor_on_any_text_never_raises_and_keeps_its_budget(text, planted, steps):
    value = text[: len(text) // 2] + f" {planted} " + text[len(text) // 2:]  # apart: a@b.org0 is another address
    budget = Budget(steps=steps)
    try:
        out = REDACTOR.layers(value, budget=budget)
    except RedactionIncomplete:
        assert budget.exhausted
        return
    assert isinstance(out, str) and all(budget.used[u] <= budget.limits[u] for u in budget.limits)
    if planted in (GAID, EMAIL):
        assert planted not in out


def test_json_body_labelled_as_a_form_is_read_as_json():
    """RudderStack's Node SDK sends gzip'd JSON labelled application/x-www-form-urlencoded: read as a form, the "+"
    of a tagged e-mail would become a space and the e-mail would be lost."""
    email = "jean.dupont+news@example.org"
    detector = LeakDetector({"email": [email]})
    body = gzip.compress(json.dumps({"batch": [{"traits": {"email": email}}]}).encode())
    matches = detector.scan_http("https://hosted.rudderlabs.com/v1/batch", [], body,
                                 "application/x-www-form-urlencoded", "gzip")
    assert found(matches) == {("email", "body", "$.batch[0].traits.email", "gzip>json:$.batch[0].traits.email")}
    form = detector.scan_http("https://a.example/t", [], f"e={urllib.parse.quote(email)}&x=1".encode(),
                              "application/x-www-form-urlencoded")
    assert found(form) == {("email", "body", "e", "")}


@SETTINGS
@given(st.binary(min_size=8, max_size=32), st.sampled_from(["", "x", "put=", "%22"]))
def test_a_hex_or_base64_identifier_is_found_whatever_it_decodes_to(raw, before):
    """A random hex id may decode to valid, printable UTF-8 (`2ac79726115743d3b64e73ed87b79dbf` does): the hex
    "layer" is then a wrong guess, and the id itself — the whole blob — must still be found (an audit re-run once
    lost an ID sync that way). The same for an id that is base64 text."""
    for value in (raw.hex(), base64.b64encode(raw).decode().rstrip("=")):
        if before == "x" and value != raw.hex():
            before = ""  # glued to a letter, base64 text is one longer run (another blob); hex runs stop at "x"
        detector = LeakDetector({"cookie:1": [value]}, hashes=False)
        url = f"https://pixel.example/tap?{before}{urllib.parse.quote(value, safe='')}&v=1"  # as a URL carries it
        assert [m.kind for m in detector.scan_http(url)] == ["cookie:1"], (value, url)


def test_the_id_that_decoded_to_text_is_found():
    value = "2ac79726115743d3b64e73ed87b79dbf"  # unhexlifies to printable UTF-8
    detector = LeakDetector({"cookie:1": [value]}, hashes=False)
    assert found(detector.scan_http(f"https://pixel.rubiconproject.com/tap.php?v=7751&put={value}")) == {
        ("cookie:1", "query", "put", "")}
