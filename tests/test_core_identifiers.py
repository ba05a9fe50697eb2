"""Device profiles, identifier forms and encodings, the leak detector, positions, redaction and ID syncs."""

from __future__ import annotations

import base64
import collections
import gzip
import hashlib
import json
import time
import urllib.parse
import zlib
from pathlib import Path

import brotli
import pytest
import zstandard

from demoweb import DATA as SAMPLES
from mouchard.decode.encodings import base64_stable_parts, encoded_forms
from mouchard.errors import UserError
from mouchard.identify.identifiers import luhn_digit, normal_forms, split_e164
from mouchard.identify.idsync import IdSyncFinder, looks_like_identifier
from mouchard.identify.leakdetect import LeakDetector
from mouchard.identify.location import PositionFinder, geohash
from mouchard.identify.profile import Position, load_profile, parse_profile
from mouchard.identify.redact import Redactor

DATA = Path(__file__).parent / "data"
PROFILE = load_profile(SAMPLES / "profiles" / "android.yml")
GAID = "38400000-8cf0-11bd-b23e-10b96e40000d"
EMAIL = "jean.dupont.mouchard@example.org"


@pytest.fixture(scope="module")
def detector() -> LeakDetector:
    return LeakDetector.for_profile(PROFILE)


def kinds(matches) -> set[tuple[str, str]]:
    return {(m.kind, m.location) for m in matches}


# -- profiles -----------------------------------------------------------------------------------------------


def test_example_profiles_load_with_every_documented_key():
    assert set(PROFILE.needles()) == {"advertising_id", "android_id", "imei", "serial", "imsi", "wifi_mac",
                                      "bluetooth_mac", "ssid", "bssid", "phone", "email", "name", "contact"}
    assert PROFILE.position == Position(48.85837, 2.29448, 200.0)
    ios = load_profile(SAMPLES / "profiles" / "ios.yml")
    assert ios.platform == "ios" and ios.value("idfv")


@pytest.mark.parametrize("text, message", [
    ("identifiers: {advertising_id: [1, 2", "not valid YAML at line"),
    ("identifiers: {gaid: 38400000-8cf0-11bd-b23e-10b96e40000d}", "unknown key identifiers.gaid"),
    ("devices: {}", "unknown key devices"),
    ("identifiers: {imei: '1234'}", "identifiers.imei must be 14 to 16 digits"),
    ("identifiers: {wifi_mac: 'zz:00'}", "identifiers.wifi_mac must be a MAC address"),
    ("identifiers: {phone: '06 12 34 56 78'}", "identifiers.phone must be an E.164 number"),
    ("identifiers: {phone: +33612345678}", "identifiers.phone must be text (put it in quotes)"),
    ("location: {lat: 91, lon: 2}", "location.lat must be a number between -90 and 90"),
    ("location: {lon: 2}", "location.lat is missing"),
    ("device: {platform: windows}", "device.platform must be one of android, ios"),
    ("contacts: Dominique", "contacts must be a list of names"),
    ("- just a list", "expected a mapping"),
    ("identifiers: {first_name: Jean}", "identifiers.first_name needs identifiers.last_name too"),
    ("identifiers: {last_name: Dupont, name: Jean Dupont}", "identifiers.last_name needs identifiers.first_name"),
    ("identifiers: {first_name: J, last_name: Dupont}", "identifiers.first_name must be at least 2 characters"),
    ("identifiers: {first_name: [Jean], last_name: Dupont}", "identifiers.first_name must be text"),
])
def test_bad_profiles_are_one_line_errors(tmp_path, text, message):
    path = tmp_path / "device.yml"
    path.write_text(text)
    with pytest.raises(UserError) as info:
        load_profile(path)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_explicit_name_parts_split_the_name_and_are_not_needles_themselves():
    profile = parse_profile({"identifiers": {"name": "Jean Pierre Dupont", "first_name": "Jean Pierre",
                                             "last_name": "Dupont"}})
    assert profile.needles() == {"name": ["Jean Pierre Dupont"]}  # a lone first name is not a leak
    assert profile.name_parts() == {"name": [("Jean Pierre", "Dupont")]}
    assert profile.describe()["kinds"] == ["name", "first_name", "last_name"]
    derived = parse_profile({"identifiers": {"first_name": "Jean Pierre", "last_name": "Dupont", "email": "a@b.fr"}})
    assert derived.identifiers == (("email", "a@b.fr"), ("name", "Jean Pierre Dupont"), ("first_name", "Jean Pierre"),
                                   ("last_name", "Dupont"))
    assert PROFILE.name_parts() == {}  # the detector splits "Jean Dupont-Mouchard" itself


def test_missing_profile_file_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="cannot read profile"):
        load_profile(tmp_path / "nope.yml")


def test_profile_description_never_holds_values():
    described = json.dumps(PROFILE.describe())
    for values in PROFILE.needles().values():
        for value in values:
            assert value not in described


# -- forms and encodings ------------------------------------------------------------------------------------


def test_identifier_forms_cover_separators_case_and_lengths():
    assert {f for _, f in normal_forms("advertising_id", GAID.upper())} >= {GAID, GAID.replace("-", "")}
    assert {f for _, f in normal_forms("wifi_mac", "02-00-5E-10-00-01")} >= {
        "02:00:5e:10:00:01", "02-00-5e-10-00-01", "02005e100001", "0200.5e10.0001"}
    assert [f for _, f in normal_forms("imei", "35693803564380")] == ["356938035643809", "35693803564380"]
    assert luhn_digit("49015420323751") == "8"
    assert {f for _, f in normal_forms("phone", "+33612345678")} >= {
        "+33612345678", "33612345678", "0033612345678", "0612345678", "612345678"}
    assert split_e164("+14155550123") == ("1", "4155550123") and split_e164("+35312345678")[0] == "353"
    assert [f for _, f in normal_forms("phone", "+14155550123")][3] == "4155550123"  # no trunk 0 in the US
    assert [f for _, f in normal_forms("email", " Jean.Dupont+x@Gmail.com")] == [
        "jean.dupont+x@gmail.com", "Jean.Dupont+x@Gmail.com", "jean.dupont@gmail.com", "jeandupont+x@gmail.com",
        "jeandupont@gmail.com"]
    assert [label for label, _ in normal_forms("name:last", "Dupont-Mouchard")] == [
        "last-name", "last-name-lower", "last-name-meta", "last-name-f5"]


def test_base64_needles_match_the_value_at_every_alignment():
    value = b"38400000-8cf0-11bd-b23e-10b96e40000d"
    stable = [s for s, alphabet in base64_stable_parts(value) if alphabet == "base64"]
    assert len(stable) == 3
    for prefix in (b"", b"x", b"xy", b"xyz", b"{\"ifa\":\""):
        blob = base64.b64encode(prefix + value + b"\"}").decode()
        assert any(s in blob for s in stable), prefix


def test_encoded_forms_name_their_chain():
    forms = dict(encoded_forms("a@b.example"))
    assert forms["a%40b.example"] == "urlencode"
    assert forms["a%2540b.example"] == "urlencode>urlencode"
    assert forms[hashlib.sha256(b"a@b.example").hexdigest()] == "sha256"
    inner = hashlib.md5(b"a@b.example").hexdigest()
    assert forms[hashlib.sha1(inner.encode()).hexdigest()] == "sha1>md5"
    assert forms[base64.b64encode(hashlib.sha1(b"a@b.example").digest()).decode().rstrip("=")] == "base64>sha1"


# -- the detector -------------------------------------------------------------------------------------------


def test_finds_identifiers_in_url_headers_cookies_with_chains(detector):
    url = (f"https://ads.example/v1/{base64.b64encode(b'id:' + GAID.encode()).decode()}/e?"
           f"imei=35693803564380&ph=0612345678&e={urllib.parse.quote(urllib.parse.quote(EMAIL))}")
    jwt = "eyJhbGciOiJIUzI1NiJ9." + base64.urlsafe_b64encode(b'{"sub":"+33612345678"}').decode().rstrip("=") + ".x"
    headers = [("Cookie", "a=02-00-5E-10-00-01; b=x"), ("Authorization", "Bearer " + jwt),
               ("X-Ssid", "Mouchard-Lab-5G")]
    found = {(m.kind, m.location, m.field, m.chain) for m in detector.scan_http(url, headers)}
    assert ("advertising_id", "path", "2", "base64") in found
    assert ("imei", "query", "imei", "imei14") in found
    assert ("phone", "query", "ph", "national") in found
    assert ("email", "query", "e", "urlencode") in found  # one layer is the query's own
    assert ("wifi_mac", "cookie", "a", "dashes") in found
    assert ("phone", "header", "authorization", "jwt>json:$.sub") in found
    assert ("ssid", "header", "x-ssid", "plain".replace("plain", "")) in found


@pytest.mark.parametrize("coding, compress", [
    ("gzip", lambda b: gzip.compress(b, mtime=0)), ("deflate", zlib.compress), ("br", brotli.compress),
    ("zstd", lambda b: zstandard.ZstdCompressor().compress(b)), (None, lambda b: b)])
def test_finds_hashed_ids_at_any_json_depth_in_compressed_bodies(detector, coding, compress):
    doc = {"device": {"ifa": GAID.replace("-", "").upper(), "ext": {"didsha1": hashlib.sha1(b"9774d56d682e549c").hexdigest()}},
           "user": {"data": [{"em": hashlib.sha256(hashlib.md5(EMAIL.encode()).hexdigest().encode()).hexdigest()}]}}
    body = compress(json.dumps(doc).encode())
    found = {(m.kind, m.chain) for m in detector.scan_http("https://x.example/b", [], body, "application/json", coding)}
    prefix = f"{coding}>" if coding else ""
    assert found == {("advertising_id", f"{prefix}json:$.device.ifa>compact"),
                     ("android_id", f"{prefix}json:$.device.ext.didsha1>sha1"),
                     ("email", f"{prefix}json:$.user.data[0].em>sha256>md5")}


def test_finds_ids_in_form_multipart_json_in_json_and_base64_gzip(detector):
    inner = base64.b64encode(gzip.compress(json.dumps({"uid": "R58M12ABCDE"}).encode(), mtime=0)).decode()
    form = urllib.parse.urlencode({"extinfo": json.dumps({"ctx": {"imsi": "208150123456789"}}), "d": inner}).encode()
    found = {(m.kind, m.field, m.chain) for m in
             detector.scan_http("https://x.example/f", [], form, "application/x-www-form-urlencoded")}
    assert ("imsi", "extinfo", "json:$.ctx.imsi") in found
    assert ("serial", "d", "base64>gzip>json:$.uid") in found
    body = (b'--XX\r\nContent-Disposition: form-data; name="meta"\r\nContent-Type: application/json\r\n\r\n'
            b'{"bt": "3C:5A:B4:8F:21:9D"}\r\n--XX--\r\n')
    found = {(m.kind, m.field, m.chain) for m in
             detector.scan_http("https://x.example/m", [], body, "multipart/form-data; boundary=XX")}
    assert found == {("bluetooth_mac", "meta", "multipart:meta>json:$.bt")}  # case is not a step


def test_finds_ids_in_websocket_messages_and_binary_protobuf(detector):
    assert kinds(detector.scan_message(json.dumps({"t": "id", "v": EMAIL}).encode())) == {("email", "websocket")}
    proto = b"\x08\x01\x12\x24" + GAID.encode() + b"\x1a\x02hi"
    assert kinds(detector.scan_message(proto, "body")) == {("advertising_id", "body")}


def test_near_misses_and_random_values_are_not_leaks(detector):
    decoys = {"imei": "356938035643800", "imei2": "3569380356438091", "phone": "+33612345679",
              "uuid": "38400000-8cf0-11bd-b23e-10b96e40000e", "mac": "02:00:5e:10:00:02",
              "name": "Dominique Bernardin", "email": "x" + EMAIL, "ssid": "Mouchard-Lab-5G-guest",
              "far": "40.7128,-74.0060", "nearby": "48.8700,2.3100", "lat_only": "48.8584"}
    url = "https://x.example/?" + urllib.parse.urlencode(decoys)
    assert detector.scan_http(url, [("X-Ts", "1700000000000")], json.dumps(decoys).encode(),
                              "application/json") == []


def test_broken_bodies_are_searched_as_they_are(detector):
    truncated = json.dumps({"device": {"ifa": GAID, "x": "y" * 50}})[:60].encode()
    assert kinds(detector.scan_http("https://x.example/", [], truncated, "application/json", "gzip")) == \
        {("advertising_id", "body")}
    assert detector.scan_http("https://x.example/", [], bytes(range(256)) * 64, "application/octet-stream") == []
    assert detector.scan_http("https://x.example/%zz?%%=%", [("X-Bin", "\udcff\udcfe")], b"\x1f\x8b\x08garbage",
                              None, "br") == []
    lone = json.dumps({"a": "\ud800", "e": EMAIL}).encode()  # a lone surrogate escape is valid JSON
    assert kinds(detector.scan_http("https://x.example/", [], lone, "application/json")) == {("email", "body")}


def test_typed_text_and_cookie_values_use_the_same_detector():
    keylog = LeakDetector({"typed_text": ["Tr0mb0ne!pass"]})
    body = urllib.parse.urlencode({"p": base64.b64encode(b"Tr0mb0ne!pass").decode()}).encode()
    assert [(m.kind, m.chain) for m in keylog.scan_http("https://x.example/", [], body,
                                                        "application/x-www-form-urlencoded")] == [("typed_text", "base64")]


# -- positions ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, chain", [
    ("lat=48.9&lon=2.3", "decimals:1"),
    ("lat=48.858&lon=2.294", "decimals:3"),
    ("lat=48.8583700&lon=2.2944800", "decimals:7"),
    ("ll=2.29448,48.85837", "decimals:5>lon-first"),
    ("pos=48,85837;2,29448", "decimals:5>comma-decimal"),
    ('{"lat":48858370,"lng":2294480}', "microdegrees"),
    ('{"latE7":488583700,"lngE7":22944800}', "e7"),
    ("lat=48.8594&lon=2.2955", "decimals:4"),  # 150 m away: within the radius
])
def test_positions_are_found_however_written(text, chain):
    hits = PositionFinder(PROFILE.position).find(text)
    assert [h.chain for h in hits] == [chain]


@pytest.mark.parametrize("text", ["lat=48.87&lon=2.31", "lat=40.7128&lon=-74.0060", "v=48.85837", "48.9 ... " + " " * 200 + "2.3"])
def test_far_or_lone_coordinates_are_not_positions(text):
    assert PositionFinder(PROFILE.position).find(text) == []


def test_geohash_of_the_position_is_a_leak(detector):
    cell = geohash(48.85837, 2.29448, 8)
    assert cell == "u09tunqu"
    assert [(m.kind, m.chain) for m in detector.scan_http(f"https://x.example/?gh={cell}")] == [("location", "geohash:8")]


# -- the labelled corpus ------------------------------------------------------------------------------------


def test_corpus_recall_and_precision(detector, capsys):
    """The labelled corpus (tests/data/app_corpus, from generate.py): every planted value in another encoding."""
    records = [json.loads(line) for line in (DATA / "app_corpus" / "corpus.jsonl").open()]
    expected, found, chains = set(), set(), {}
    started, size = time.perf_counter(), 0
    for r in records:
        body = base64.b64decode(r["body_b64"]) if r["body_b64"] else None
        size += len(r["url"]) + len(body or b"") + sum(len(k) + len(v) for k, v in r["headers"])
        if r["type"] == "websocket":
            matches = detector.scan_message(body)
        else:
            matches = detector.scan_http(r["url"], [tuple(h) for h in r["headers"]], body, r["content_type"],
                                         r["content_encoding"])
        for m in matches:
            found.add((r["id"], m.kind, m.location))
            chains.setdefault((r["id"], m.kind, m.location), []).append(m.chain)
        expected |= {(r["id"], label["kind"], label["location"]) for label in r["labels"]}
    elapsed = time.perf_counter() - started
    hits = expected & found
    recall, precision = len(hits) / len(expected), len(hits) / len(found)
    hashed = [(r["id"], label) for r in records for label in r["labels"]
              if label["encoding"] in ("md5", "sha1", "sha224", "sha256", "sha384", "sha512")]
    named = sum(any(label["encoding"] in c for c in chains.get((rid, label["kind"], label["location"]), []))
                for rid, label in hashed)
    with capsys.disabled():
        print(f"\napp corpus: {len(records)} requests, {len(expected)} planted values: recall {recall:.4f}, "
              f"precision {precision:.4f}, hash named in chain {named}/{len(hashed)}, "
              f"{size / elapsed / 1e6:.2f} MB/s")
    missed = collections.Counter(label["encoding"] for r in records for label in r["labels"]
                                 if (r["id"], label["kind"], label["location"]) not in found)
    assert recall >= 0.98, f"missed encodings: {missed}"
    assert precision >= 0.99, sorted(found - expected)[:10]
    assert named >= 0.95 * len(hashed)


def test_corpus_covers_every_encoding_and_carrier():
    records = [json.loads(line) for line in (DATA / "app_corpus" / "corpus.jsonl").open()]
    labels = [label for r in records for label in r["labels"]]
    pairs = collections.Counter((label["kind"], label["encoding"]) for label in labels if label["kind"] != "location")
    values = PROFILE.needles()
    assert all(n == len(values[kind]) for (kind, _), n in pairs.items())  # each value once in each encoding
    assert {label["location"] for label in labels} == {"query", "path", "header", "cookie", "body", "websocket"}
    assert sum(1 for r in records if not r["labels"]) >= 50  # decoy-only requests


# -- redaction ----------------------------------------------------------------------------------------------


def test_redaction_replaces_values_in_every_known_form(detector):
    redactor = Redactor.for_profile(PROFILE, detector)
    blob = base64.urlsafe_b64encode(gzip.compress(json.dumps({"ifa": GAID}).encode(), mtime=0)).decode()
    url = (f"https://a.example/t/{hashlib.md5(EMAIL.encode()).hexdigest()}?ifa={GAID.upper()}&q=1"
           f"&ll=48.8584,2.2945&e={urllib.parse.quote(EMAIL)}&d={blob}")
    assert redactor.url(url) == "https://a.example/t/[EMAIL]?ifa=[GAID]&q=1&ll=[LOCATION],[LOCATION]&e=[EMAIL]&d=[GAID]"
    assert redactor.headers([("X-Id", f"id={GAID}"), ("Cookie", f"a=1; b={blob}"), ("User-Agent", "x")]) == [
        ("X-Id", "id=[GAID]"), ("Cookie", "a=1; b=[GAID]"), ("User-Agent", "x")]
    assert redactor.json({"geo": {"lat": 48.8584, "n": 3}, "ids": [GAID]}) == {"geo": {"lat": "[LOCATION]", "n": 3},
                                                                               "ids": ["[GAID]"]}
    ios = parse_profile({"device": {"platform": "ios"}, "identifiers": {"advertising_id": GAID}})
    assert Redactor.for_profile(ios).text(GAID) == "[IDFA]"


# -- ID syncing ---------------------------------------------------------------------------------------------


def test_id_sync_finder_reports_other_parties_only_with_the_value_hashed():
    finder = IdSyncFinder()
    assert finder.add("adnxs.com", "uuid2", "8237981234987123461")
    assert not finder.add("adnxs.com", "consent", "CPzHq4APzHq4AAHABBENC")  # a consent string, not an id
    assert not finder.add("adnxs.com", "lang", "fr-fr")
    url = "https://pixel.rubiconproject.com/tap.php?put=" + base64.b64encode(b"8237981234987123461").decode()
    syncs = finder.scan_request("rubiconproject.com", url)
    assert [(s.from_site, s.to_site, s.identifier_name, s.location, s.parameter, s.encoding) for s in syncs] == [
        ("adnxs.com", "rubiconproject.com", "uuid2", "query", "put", "base64")]
    assert syncs[0].identifier_sha256 == hashlib.sha256(b"8237981234987123461").hexdigest()
    assert finder.scan_request("adnxs.com", "https://ib.adnxs.com/?u=8237981234987123461") == []
    assert looks_like_identifier("uid", "AHWqTUmV8ab3") and not looks_like_identifier("t", "2024-05-01")


def test_id_sync_finder_keeps_finding_as_values_accumulate():
    finder = IdSyncFinder()
    values = [hashlib.md5(str(i).encode()).hexdigest()[:20] for i in range(100)]
    for i, value in enumerate(values):
        finder.add(f"site{i}.example", "id", value)
    for i in (0, 40, 99):
        syncs = finder.scan_request("other.example", f"https://other.example/s?uid={values[i]}")
        assert [s.from_site for s in syncs] == [f"site{i}.example"]
