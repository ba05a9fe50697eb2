"""`mouchard me import` of the captures a person makes without a lab, besides the PCAPdroid capture of
tests/test_me_e2e.py: the iOS App Privacy Report (which app reached which company, how often; no payloads) and a
HAR export of the test phone's traffic (demoweb/data/phone.har: real SDK endpoints carrying the person's values in
many encodings). Exact companies and items, then the letters that quote them."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ME = ROOT / "tests" / "data" / "me" / "me.yml"
REPORT = ROOT / "tests" / "data" / "phone_captures" / "App_Privacy_Report_sample.ndjson"
HAR = ROOT / "demoweb" / "data" / "phone.har"
GAID, IMEI, EMAIL = "38400000-8cf0-11bd-b23e-10b96e40000d", "356938035643809", "jean.dupont.mouchard@example.org"


def mouchard(*args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "mouchard", *args], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr[-3000:]
    return result.stdout


@pytest.fixture(scope="module")
def imported(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("me-inputs")
    db, out = folder / "me.db", folder / "report"
    assert mouchard("me", "import", str(REPORT), "--me", str(ME), "--db", str(db)).startswith(
        f"imported {REPORT} into {db} (run 1, private)")
    mouchard("me", "import", str(HAR), "--me", str(ME), "--db", str(db))
    printed = mouchard("me", "report", "--db", str(db), "--out", str(out), "--today", "2026-12-07")
    assert printed.splitlines()[0] == ("11 companies received data about you (140 items); 44 letters, 0 reminders "
                                       "and 0 complaint drafts written")
    assert printed.splitlines()[1] == ("11 companies without a known privacy contact; run `mouchard me contacts` to "
                                       "fetch companies' privacy contacts")
    return db, out


def items(db: Path, where: str) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT c.name, r.kind, r.name, r.value, r.host, r.source, r.times FROM me_received r "
                            f"JOIN me_companies c ON c.id = r.company_id WHERE {where} "
                            "ORDER BY c.name, r.host, r.source, r.kind").fetchall()
    finally:
        conn.close()


def test_the_ios_report_gives_each_company_each_app_reached_and_how_often(imported):
    db, _ = imported
    assert items(db, "r.source NOT LIKE 'com.example.app/%'") == [
        ("Amplitude", "connection", None, None, "api2.amplitude.com", "com.example.scanner", 4),
        ("Google", "connection", None, None, "app-measurement.com", "com.example.weather", 6),
        ("Google", "connection", None, None, "securepubads.g.doubleclick.net", "com.apple.mobilesafari", 3),
        ("Meta", "connection", None, None, "graph.facebook.com", "com.example.weather", 2),
        ("lemonde.fr", "connection", None, None, "www.lemonde.fr", "com.apple.mobilesafari", 5),
        ("weather.com", "connection", None, None, "api.weather.com", "com.example.weather", 14),
    ]


def test_the_har_gives_the_person_s_values_each_company_received(imported):
    db, _ = imported
    conn = sqlite3.connect(db)
    names = [r[0] for r in conn.execute("SELECT name FROM me_companies ORDER BY name")]
    conn.close()
    assert names == ["Adjust", "Amplitude", "AppLovin", "AppsFlyer", "Branch", "Google", "InMobi", "Meta", "Unity",
                     "lemonde.fr", "weather.com"]
    applovin = {(kind, name, value) for _, kind, name, value, *_ in items(
        db, "c.name = 'AppLovin' AND r.kind IN ('advertising_id', 'email', 'imei')")}
    assert applovin == {("advertising_id", "advert_23", GAID), ("email", "email_40", EMAIL),
                        ("email", "authorization", EMAIL), ("imei", "$.events[1].params.device.imei_48", IMEI)}
    adjust = {(kind, name, value) for _, kind, name, value, *_ in items(
        db, "c.name = 'Adjust' AND r.kind IN ('imei', 'email_hash', 'advertising_id_hash')")}
    assert ("imei", "base64", IMEI) in adjust
    # cookies the capture stored as a token ([IMEI]) are not items: their leak rows quote the value itself
    assert items(db, "r.value IN ('[IMEI]', '[GAID]')") == []
    assert {(kind, name, value) for _, kind, name, value, *_ in items(db, "c.name = 'Meta' AND r.name = 'imei_98'")} \
        == {("imei", "imei_98", IMEI)}
    # md5(sha1(upper(advertising id))): the exact text the SDK sent, as the HAR holds it
    assert ("advertising_id_hash", "md5>sha1>upper", "c06c9b6bc8aae0a9a6d061bdd9c8d1c7") in adjust
    assert "c06c9b6bc8aae0a9a6d061bdd9c8d1c7" in HAR.read_text(encoding="utf-8")


def test_letters_quote_hashed_and_plain_values(imported):
    _, out = imported
    letter = (out / "letters" / "adjust-access-en.txt").read_text(encoding="utf-8")
    assert f"`{IMEI}`" in letter and "`c06c9b6bc8aae0a9a6d061bdd9c8d1c7`" in letter
    french = (out / "letters" / "applovin-access-fr.txt").read_text(encoding="utf-8")
    assert f"`{EMAIL}`" in french and f"`{GAID}`" in french


@pytest.fixture(scope="module")
def proxied(testweb, tmp_path_factory):
    """`mouchard me proxy` as a person runs it for their phone: a real mitmdump; an SDK's bid request and a Meta
    conversion event with the person's hashed e-mail go through it; Ctrl-C ends the session."""
    import gzip
    import hashlib
    import json
    import signal
    import ssl

    import httpx

    from procs import stop_tree
    from test_addons_proxy import BOUND, free_port, wait_port

    folder = tmp_path_factory.mktemp("me-proxy")
    db, port = folder / "me.db", free_port()
    args = [sys.executable, "-m", "mouchard", "me", "proxy", "--me", str(ME), "--port", str(port), "--listen-host",
            "127.0.0.1", "--db", str(db), "--host-map", "*=127.0.0.1", "--ca-file", testweb.ca_pem_path,
            "--confdir", str(folder / "conf")]
    with (folder / "out").open("w") as out, (folder / "err").open("w") as err:
        process = subprocess.Popen(args, stdout=out, stderr=err, text=True)
    try:
        wait_port(port, process, folder / "err")
        ca = ssl.create_default_context(cafile=str(folder / "conf" / "mitmproxy-ca-cert.pem"))
        bid = {"id": "auction-1", "imp": [{"id": "1", "banner": {"w": 320, "h": 50}}],
               "app": {"bundle": "com.example.game"},
               "device": {"ifa": GAID, "geo": {"lat": 48.8584, "lon": 2.2945}}, "user": {"buyeruid": "bu-778899"}}
        with httpx.Client(proxy=f"http://127.0.0.1:{port}", verify=ca, timeout=60,
                          headers={"User-Agent": "com.example.game/2.4.1 (Linux; U; Android 13; Pixel 7)"}) as client:
            assert client.post(testweb.url("ads.inmobi.com", "/openrtb/bid"),
                               content=gzip.compress(json.dumps(bid).encode()),
                               headers={"Content-Type": "application/json", "Content-Encoding": "gzip"}
                               ).status_code == 200
            assert client.post(testweb.url("graph.facebook.com", "/v17.0/42/activities"),
                               data={"ud[em]": hashlib.sha256(EMAIL.encode()).hexdigest()}).status_code == 200
        process.send_signal(signal.SIGINT)  # the session ends as Ctrl-C ends it; the recorder writes what it has
        assert process.wait(BOUND) == 0, (folder / "err").read_text()[-2000:]
    finally:
        stop_tree(process)
    assert f"recording into {db} (run 1, private); stop with Ctrl-C" in (folder / "err").read_text()
    mouchard("me", "report", "--db", str(db), "--out", str(folder / "report"), "--today", "2026-12-07")
    return db, folder / "report"


def test_a_proxy_session_of_the_person_s_phone(proxied):
    import hashlib

    db, out = proxied
    found = {(company, kind, name, value) for company, kind, name, value, *_ in items(
        db, "r.kind NOT IN ('connection', 'page_view')")}
    assert found == {
        ("InMobi", "advertising_id", "$.device.ifa", GAID),
        ("InMobi", "location", "$.device.geo.lat", "48.8584, 2.2945"),
        ("InMobi", "bid_field", "device.geo", None), ("InMobi", "bid_field", "device.ifa", None),
        ("InMobi", "bid_field", "user.buyeruid", "bu-778899"),
        ("Meta", "email_hash", "ud[em]", hashlib.sha256(EMAIL.encode()).hexdigest()),
    }
    assert hashlib.sha256(EMAIL.encode()).hexdigest() in (out / "letters" / "meta-access-fr.txt").read_text("utf-8")
