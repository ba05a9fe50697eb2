"""The detectors' pure parts: replay services and payloads, key-logging fields and values, the recorder's code."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json

import pytest

from crawler.collectors.recorder import arm_expression, condition, rearm_expression, recorder_source
from crawler.collectors.keylogging import detector_for, field_kind, typed_values
from mouchard.detect.fingerprinting import APIS
from mouchard.detect.replay import matches, replay_payload, service_of_collector, service_of_script

RRWEB = [{"type": 4, "data": {"href": "https://a.example/"}, "timestamp": 1},
         {"type": 2, "data": {"node": {"type": 0, "childNodes": [], "id": 1}}, "timestamp": 2},
         {"type": 3, "data": {"source": 0, "adds": [{"parentId": 1}], "removes": [], "texts": [], "attributes": []},
          "timestamp": 3},
         {"type": 3, "data": {"source": 5, "text": "hello", "id": 7}, "timestamp": 4}]


@pytest.mark.parametrize("url, pattern, expected", [
    ("https://in.hotjar.com/api/v2/x", "*.hotjar.com", True),
    ("https://hotjar.com/", "*.hotjar.com", True),
    ("https://nothotjar.com/", "*.hotjar.com", False),
    ("https://mc.yandex.ru/webvisor/123", "mc.yandex.ru/webvisor/", True),
    ("https://mc.yandex.ru/watch/123", "mc.yandex.ru/webvisor/", False),
])
def test_replay_patterns_match_on_label_and_path_boundaries(url, pattern, expected):
    assert matches(url, pattern) is expected


def test_known_replay_services_by_script_and_collector():
    assert service_of_script("https://static.hotjar.com/c/hotjar-3456789.js?sv=6").name == "Hotjar"
    assert service_of_script("https://www.clarity.ms/tag/abc").entity == "Microsoft"
    assert service_of_collector("https://x.clarity.ms/collect").name == "Microsoft Clarity"
    assert service_of_collector("https://mc.yandex.ru/watch/1") is None
    assert service_of_script("https://www.googletagmanager.com/gtag/js") is None


@pytest.mark.parametrize("wrap", [
    lambda events: json.dumps({"events": events}).encode(),
    lambda events: gzip.compress(json.dumps(events).encode()),
    lambda events: base64.b64encode(json.dumps({"batch": events}).encode()),
    lambda events: b"\n".join(json.dumps(e).encode() for e in events),
    lambda events: json.dumps([{"event": "$snapshot", "properties": {"$snapshot_data": json.dumps(events)}}]).encode(),
])
def test_rrweb_events_are_found_however_wrapped(wrap):
    found = replay_payload(wrap(RRWEB))
    assert found is not None and found.snapshots == 1 and found.mutations == 1 and found.inputs == 1


def test_ordinary_json_bodies_are_not_replay():
    assert replay_payload(json.dumps({"type": 3, "data": {"x": 1}, "timestamp": 1}).encode()) is None
    assert replay_payload(json.dumps({"events": [{"type": "page", "data": {}}]}).encode()) is None
    assert replay_payload(b"") is None


@pytest.mark.parametrize("attributes, kind", [
    ({"type": "email", "name": "contact"}, "typed_email"),
    ({"type": "text", "name": "user_email"}, "typed_email"),
    ({"type": "password"}, "typed_password"),
    ({"type": "tel"}, "typed_phone"),
    ({"type": "text", "autocomplete": "name"}, "typed_name"),
    ({"type": "text", "name": "username"}, "typed_text"),
    ({"type": "search", "name": "q"}, "typed_text"),
    ({}, "typed_text"),
    ({"type": "hidden", "name": "email"}, None),
    ({"type": "checkbox"}, None),
])
def test_field_kind_from_input_attributes(attributes, kind):
    assert field_kind(attributes) == kind


def test_typed_values_are_fresh_per_visit_and_found_hashed_or_encoded():
    one, two = typed_values(), typed_values()
    assert one["typed_email"] != two["typed_email"]
    detector = detector_for(one)
    email = one["typed_email"]
    url = "https://px.example/p?h=" + hashlib.sha256(email.lower().encode()).hexdigest()
    body = json.dumps({"e": base64.b64encode(email.encode()).decode(),
                       "p": base64.b64encode(one["typed_password"].encode()).decode()}).encode()
    found = {(m.kind, m.location, m.chain) for m in detector.scan_http(url, [], body, "application/json")}
    assert ("typed_email", "query", "sha256") in found
    assert ("typed_email", "body", "json:$.e>base64") in found
    assert ("typed_password", "body", "json:$.p>base64") in found
    assert not detector.scan_http("https://px.example/p?h=" + hashlib.sha256(b"other").hexdigest())


def test_recorder_is_one_script_scope_binding_and_conditions_never_pause_by_themselves():
    source = recorder_source("_0123456789abcdef0123")
    assert source.startswith("let _0123456789abcdef0123 = (() => {")
    assert "window." not in source and "globalThis." not in source  # nothing assigned to the global object
    assert condition("_n", 3) == 'typeof _n === "function" && _n(3, this, arguments)'
    assert "debug(f[i], 'typeof _n === \\\"function\\\" && _n(' + i + ', this, arguments)')" in arm_expression("_n", 1)
    assert "_n(-4)" in rearm_expression("_n")
    assert f"[[\"{APIS[0].interfaces[0]}\"],\"{APIS[0].member}\"" in source
