"""The proxy and capture imports called from Python (addons/api.py), without the `mouchard` command: a live proxy
in front of the test web, a HAR and a pcapng imported with exact flows and leaks, one-line errors raised before
anything is recorded, and the device profile parsed once and handed to mitmdump as the object that was parsed."""

from __future__ import annotations

import dataclasses
import json
import shutil
import socket
import sqlite3
import ssl
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
import yaml
from hypothesis import given, reject, settings
from hypothesis import strategies as st

from addons import api
from conftest import needs
from demoweb import DATA as SAMPLES
from mouchard.errors import UserError
from mouchard.net import NetworkOptions
from mouchard.identify.profile import PLATFORMS, load_profile, parse_profile
from mouchard.storage.store import readonly_uri
from test_addons_import_phone import EXCHANGES, LEAKS, _generator
from test_addons_proxy import BOUND, free_port

ROOT = Path(__file__).resolve().parents[1]
PROFILE_PATH = SAMPLES / "profiles" / "android.yml"
PROFILE = load_profile(PROFILE_PATH)
CORPUS = ROOT / "tests" / "data" / "app_corpus" / "corpus.jsonl"


def rows(db: Path, sql: str, params=()) -> list[dict]:
    con = sqlite3.connect(readonly_uri(db), uri=True)
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute(sql, params)]
    finally:
        con.close()


# -- proxy ---------------------------------------------------------------------------------------------------------


def test_proxy_records_a_planted_identifier_and_a_stop_finishes_the_run_interrupted(testweb, tmp_path):
    port, db, conf = free_port(), tmp_path / "phone.db", tmp_path / "conf"
    stop, started, outcome = threading.Event(), threading.Event(), {}

    def run() -> None:
        try:
            outcome["result"] = api.proxy(
                db=db, profile=PROFILE_PATH, app="com.example.game", port=port, confdir=conf, stop=stop,
                network=NetworkOptions.build(host_map=["*=127.0.0.1"], ca_file=testweb.ca_pem_path),
                on_start=lambda crawl_id, path: outcome.update(started=(crawl_id, path)) or started.set())
        except BaseException as exc:  # handed to the test thread
            outcome["error"] = exc

    thread = threading.Thread(target=run, name="test-proxy")
    thread.start()
    try:
        assert started.wait(BOUND), outcome
        _wait_listening(port, thread)
        verify = ssl.create_default_context(cafile=str(conf / "mitmproxy-ca-cert.pem"))
        with httpx.Client(proxy=f"http://127.0.0.1:{port}", verify=verify, timeout=60) as client:
            answer = client.post(testweb.url("api2.branch.io", "/v1/open"),
                                 json={"hardware_id": PROFILE.value("android_id")})
        assert answer.status_code == 200
        leaks = _poll(db, "SELECT l.identifier, l.location, l.chain, l.destination_host, f.app, f.app_source "
                          "FROM leaks l JOIN flows f ON f.id = l.flow_id")
    finally:
        stop.set()
        thread.join(BOUND)
    assert not thread.is_alive() and "error" not in outcome, outcome
    assert leaks == [{"identifier": "android_id", "location": "body", "chain": "json:$.hardware_id",
                      "destination_host": "api2.branch.io", "app": "com.example.game", "app_source": "option"}]
    result = outcome["result"]
    assert outcome["started"] == (result.crawl_id, str(db.resolve()))
    assert (result.crawl_id, result.status, result.db, result.modes) == (1, "interrupted", str(db.resolve()),
                                                                          ("regular",))
    assert result.summary["leaks"] == 1 and result.summary["flows"] == 1
    crawl = rows(db, "SELECT kind, status, config FROM crawls")[0]
    config = json.loads(crawl["config"])
    assert (crawl["kind"], crawl["status"]) == ("app", "interrupted")
    # the user's file is recorded (never the private copy mitmdump read), with the kinds planted, never the values
    assert config["profile"]["file"] == str(PROFILE_PATH) and config["profile"]["kinds"][0] == "advertising_id"
    assert PROFILE.value("android_id") not in json.dumps(rows(db, "SELECT * FROM flows"))


def _wait_listening(port: int, thread: threading.Thread) -> None:
    """Until the proxy accepts connections (an event), failing at once if the proxy's thread ended."""
    deadline = time.monotonic() + BOUND
    while True:
        assert thread.is_alive(), "the proxy ended before listening"
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            assert time.monotonic() < deadline, "the proxy did not listen"
            time.sleep(0.1)


def _poll(db: Path, sql: str) -> list[dict]:
    """The rows of `sql` once there are some: the recorder writes after the response."""
    deadline = time.monotonic() + BOUND
    while True:
        try:
            found = rows(db, sql)
        except sqlite3.OperationalError:
            found = []
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


@pytest.mark.parametrize("options, message", [
    ({"profile": "missing.yml"}, "cannot read profile"),
    ({"keep_bodies": "elsewhere"}, "--keep-bodies must be the database's evidence folder"),
    ({"mitm_options": ["mouchard_db=x"]}, "expected NAME=VALUE of a mitmproxy option"),
    ({"network": NetworkOptions.build(proxy="socks5://127.0.0.1:1080")}, "must be an http(s) proxy"),
])
def test_proxy_refuses_bad_arguments_before_recording_anything(tmp_path, monkeypatch, options, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")) as error:
        api.proxy(db=tmp_path / "x.db", **{"profile": PROFILE_PATH, **options})
    assert "\n" not in str(error.value)
    assert not (tmp_path / "x.db").exists()


def test_a_run_whose_proxy_never_started_is_not_left_running(tmp_path):
    def refuse(crawl_id: int, db: str) -> None:
        raise RuntimeError("the caller changed its mind")

    with pytest.raises(RuntimeError, match="changed its mind"):
        api.proxy(db=tmp_path / "x.db", profile=PROFILE, port=free_port(), confdir=tmp_path / "conf", on_start=refuse)
    assert [(r["kind"], r["status"]) for r in rows(tmp_path / "x.db", "SELECT kind, status FROM crawls")] == [
        ("app", "failed")]


# -- import --------------------------------------------------------------------------------------------------------


def test_import_of_the_sample_har_finds_every_labelled_leak_and_nothing_else(tmp_path):
    """The sample phone capture is 60 requests of the labelled app corpus: the leaks found are exactly its labels
    (entry, identifier kind, location), nothing missed, nothing extra."""
    db = tmp_path / "har.db"
    result = api.import_capture(SAMPLES / "phone.har", db=db, profile=PROFILE, app="com.example.app")
    assert (result.crawl_id, result.status, result.format, result.db) == (1, "finished", "har", str(db.resolve()))
    assert result.details["har"] == {"creator": "mouchard demo", "entries": 60, "app": None, "websocket_messages": 0,
                                      "no_response": 0, "attributed_by_connections": 0}
    assert (result.summary["flows"], result.summary["leaks"]) == (60, 101)
    flow_ids = [r["id"] for r in rows(db, "SELECT id FROM flows ORDER BY id")]
    assert len(flow_ids) == 60 and {r["app"] for r in rows(db, "SELECT app FROM flows")} == {"com.example.app"}
    found = {(flow_ids.index(r["flow_id"]), r["identifier"], r["location"])
             for r in rows(db, "SELECT flow_id, identifier, location FROM leaks")}
    assert found == _labels(SAMPLES / "phone.har")
    assert Counter(r["identifier"] for r in rows(db, "SELECT identifier FROM leaks")) == {
        "contact": 18, "ssid": 10, "imsi": 9, "advertising_id": 8, "email": 8, "name": 8, "bssid": 7, "wifi_mac": 7,
        "android_id": 6, "phone": 6, "serial": 6, "imei": 5, "bluetooth_mac": 3}


def _labels(har: Path) -> set[tuple[int, str, str]]:
    """(entry index, kind, location) of every value the corpus says it planted in the HAR's requests."""
    import base64

    labels = {}
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        body = base64.b64decode(record["body_b64"]).decode("utf-8", "replace") if record.get("body_b64") else ""
        labels.setdefault((record["method"], record["url"], body), record["labels"])
    entries = json.loads(har.read_text(encoding="utf-8"))["log"]["entries"]
    return {(index, label["kind"], label["location"]) for index, entry in enumerate(entries)
            for label in labels[(entry["request"]["method"], entry["request"]["url"],
                                 entry["request"].get("postData", {}).get("text", ""))]}


def test_import_of_a_pcapng_decrypts_it_with_its_embedded_keys(tmp_path):
    needs([] if shutil.which("tshark") else ["tshark"], "scripts/setup.sh installs it (apt-get install tshark)")
    generator = _generator()
    captures = generator.make(tmp_path / "phone", generator.values_of(PROFILE_PATH))
    db = tmp_path / "pcapng.db"
    result = api.import_capture(captures["pcapng"], db=db, profile=PROFILE_PATH)
    assert (result.status, result.format, result.summary["flows"], result.summary["leaks"]) == (
        "finished", "pcapng", 7, 6)
    assert {k: result.details["capture"][k] for k in ("decrypted", "not_decrypted", "clear", "quic", "keylog")} == {
        "decrypted": 3, "not_decrypted": 1, "clear": 1, "quic": 1, "keylog": "embedded"}
    flows = rows(db, "SELECT kind, host, method, status, error, http_version, app FROM flows")
    assert {tuple(f.values())[:6]: f["app"] for f in flows} == EXCHANGES
    leaks = rows(db, "SELECT identifier, location, chain, destination_host FROM leaks")
    assert {tuple(r.values()) for r in leaks} == LEAKS and len(leaks) == len(LEAKS)


def test_import_of_an_ios_privacy_report_keeps_one_apps_destinations_without_a_profile(tmp_path):
    db = tmp_path / "report.db"
    result = api.import_capture(ROOT / "tests" / "data" / "phone_captures" / "App_Privacy_Report_sample.ndjson",
                                db=db, app="com.example.scanner")
    assert (result.crawl_id, result.status, result.format, result.details) == (1, "finished", "ios-privacy-report", {})
    assert (result.summary["flows"], result.summary["app_accesses"],
            result.summary["mouchard/ios_report/other_apps_records"]) == (1, 1, 7)
    assert [(r["app"], r["host"]) for r in rows(db, "SELECT app, host FROM flows")] == [
        ("com.example.scanner", "api2.amplitude.com")]
    assert json.loads(rows(db, "SELECT config FROM crawls")[0]["config"])["profile"] is None


@pytest.mark.parametrize("options, message", [
    ({"capture": "missing.har"}, "capture missing.har does not exist or is not a file"),
    ({"profile": "missing.yml"}, "cannot read profile missing.yml"),
    ({"keylog": "missing.keys"}, "key log missing.keys does not exist"),
    ({"keylog": PROFILE_PATH}, "--keylog decrypts packet captures (pcap, pcapng)"),
])
def test_import_refuses_bad_arguments_before_recording_anything(tmp_path, monkeypatch, options, message):
    monkeypatch.chdir(tmp_path)
    arguments = {"capture": SAMPLES / "phone.har", "profile": PROFILE_PATH, **options}
    with pytest.raises(UserError) as error:
        api.import_capture(arguments.pop("capture"), db=tmp_path / "x.db", **arguments)
    assert message in str(error.value) and "\n" not in str(error.value)
    assert not (tmp_path / "x.db").exists()


def test_import_with_a_bad_profile_names_the_key(tmp_path):
    profile = tmp_path / "device.yml"
    profile.write_text("identifiers: {gaid: x}\n")
    with pytest.raises(UserError, match="unknown key identifiers.gaid"):
        api.import_capture(SAMPLES / "phone.har", db=tmp_path / "x.db", profile=profile)
    assert not (tmp_path / "x.db").exists()


# -- one parse of the profile --------------------------------------------------------------------------------------


def test_mitmdump_reads_the_parsed_profile_not_the_users_file_again(tmp_path):
    """The profile object is what counts: a file changed (or gone) after the parse changes nothing."""
    copy = tmp_path / "device.yml"
    shutil.copyfile(PROFILE_PATH, copy)
    parsed = load_profile(copy)
    copy.write_text("identifiers: {imei: '490154203237518'}\n")
    result = api.import_capture(SAMPLES / "phone.har", db=tmp_path / "x.db", profile=parsed)
    assert result.summary["leaks"] == 101
    written = api._profile_file(parsed, tmp_path)
    assert dataclasses.replace(load_profile(written), source=parsed.source) == parsed


TEXT = st.text(min_size=1, max_size=30)
VALUES = {
    "advertising_id": st.uuids().map(str), "idfv": st.uuids().map(lambda u: str(u).upper()),
    "android_id": st.from_regex(r"[0-9a-fA-F]{16}", fullmatch=True),
    "imei": st.from_regex(r"[0-9]{14,16}", fullmatch=True), "imsi": st.from_regex(r"[0-9]{6,15}", fullmatch=True),
    "serial": TEXT, "ssid": TEXT, "name": TEXT, "wifi_mac": st.from_regex(r"([0-9a-f]{2}:){5}[0-9a-f]{2}", fullmatch=True),
    "bssid": st.from_regex(r"([0-9A-F]{2}-){5}[0-9A-F]{2}", fullmatch=True),
    "phone": st.from_regex(r"\+[1-9][0-9]{6,14}", fullmatch=True), "email": st.emails(),
    "first_name": TEXT, "last_name": TEXT,
}


@settings(max_examples=150, deadline=None)
@given(identifiers=st.fixed_dictionaries({}, optional=VALUES),
       platform=st.none() | st.sampled_from(PLATFORMS), device=st.none() | TEXT,
       location=st.none() | st.fixed_dictionaries({"lat": st.floats(-90, 90), "lon": st.floats(-180, 180)},
                                                  optional={"radius_m": st.floats(1, 100_000) | st.integers(1, 100_000)}),
       contacts=st.lists(TEXT, max_size=3))
def test_a_profile_written_for_mitmdump_parses_to_the_same_object(identifiers, platform, device, location, contacts):
    data = {"identifiers": identifiers, "device": {"platform": platform, "name": device}, "location": location,
            "contacts": contacts}
    try:
        parsed = parse_profile(data)
    except UserError:
        reject()  # not a valid profile: nothing to hand on
    with tempfile.TemporaryDirectory() as folder:
        path = api._profile_file(parsed, Path(folder))
        again = load_profile(path)
        assert yaml.safe_load(path.read_text(encoding="utf-8")) == parsed.as_data()
    assert dataclasses.replace(again, source=parsed.source) == parsed
