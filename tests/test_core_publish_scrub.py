"""Published copies keep nothing personal: every planted value in every encoding the detector knows, in every text
column of every table, is gone (and a re-scan says so); personal e-mail addresses go, role boxes stay; the real
2025 California registry loses its individuals' addresses; random JSON with planted values leaves nothing."""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import sqlite3
import urllib.parse
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from demoweb import DATA as SAMPLES
from data.app_corpus.generate import ENCODINGS, location_forms
from mouchard.classification.brokers import email_personal
from mouchard.cli import cli
from mouchard.errors import UserError
from mouchard.identify.identifiers import normal_forms
from mouchard.identify.profile import load_profile
from mouchard.publishing.publish import PublishOptions, publish
from mouchard.storage.schema import TABLES
from mouchard.storage.store import Store

DATA = Path(__file__).parent / "data"
PROFILES = (SAMPLES / "profiles" / "android.yml", SAMPLES / "profiles" / "ios.yml")
CA_2025 = SAMPLES / "brokers" / "ca-registry-2025.csv"


def planted() -> list[tuple[str, str, str]]:
    """(kind, encoding, wire text): every value kind of both test phones, in every normal form the detector knows,
    in every encoding of the app corpus generator (plain, upper, URL-encoded once and twice, base64 standard /
    URL-safe / unpadded / at offsets 1 and 2, hex, md5, sha1, sha224, sha256 (and upper), sha384, sha512, base64
    of digests, digests of digests, JSON in JSON, JWT, gzip in base64, a form in base64), and every written
    form of the planted positions (rounded 1-7 decimals, truncated, noisy, comma, micro-degrees, E7, full)."""
    rng = random.Random(13)
    plants = []
    for path in PROFILES:
        profile = load_profile(path)
        for kind, values in profile.needles().items():
            for value in values:
                for label, form in normal_forms(kind, value):
                    for encoding, encode in ENCODINGS.items():
                        plants.append((kind, f"{label or 'canonical'}/{encoding}", encode(form, rng)))
        position = profile.position
        for encoding, lat, lon in location_forms(position.lat, position.lon, position.radius_m, rng):
            plants.append(("location", encoding, f"lat={lat}&lon={lon}"))
            plants.append(("location", f"{encoding}/json", json.dumps({"geo": {"lat": lat, "lon": lon}})))
    return plants


PLANTS = planted()
WIRES = sorted({wire for _, _, wire in PLANTS if len(wire) >= 8})
TEXT_COLUMNS = [(t.name, c.name) for t in TABLES for c in t.columns if c.type == "text"]


def schema_db(path: Path) -> Path:
    """An empty mouchard database (every table), written by the store."""
    with Store(path):
        pass
    return path


def carriers(plants: list[str], seed: int) -> list[str]:
    """The same planted texts as plain text, inside a nested JSON document and as URL parameters."""
    rng = random.Random(seed)
    doc: object = plants[0]
    for wire in plants[1:]:
        doc = rng.choice([{"ctx": {"v": wire, "inner": doc}}, [wire, {"x": [doc]}], {"k": [doc, wire]}])
    query = urllib.parse.urlencode([(f"p{i}", wire) for i, wire in enumerate(plants)])
    return [" | ".join(plants), json.dumps(doc), f"https://t.example/c?{query}"]


def published_text(out: Path) -> str:
    return (out / "mouchard.db").read_bytes().decode("latin-1").lower()


def assert_nothing_survives(out: Path, wires) -> None:
    from mouchard.publishing.scrub import Scrubber, scan_database

    text = published_text(out)
    left = [w for w in wires if w.lower() in text or json.dumps(w)[1:-1].lower() in text]
    assert not left, left[:5]
    conn = sqlite3.connect(out / "mouchard.db")
    try:
        scrubber = Scrubber([load_profile(p) for p in PROFILES])
        assert scan_database(conn, scrubber) == []
    finally:
        conn.close()


@pytest.fixture(scope="module")
def every_plant_everywhere(tmp_path_factory):
    """Every text column of every table gets rows with a rotating share of the plants in three carriers, so that
    every plant sits in every carrier and every column holds plants; numbers too."""
    folder = tmp_path_factory.mktemp("plants")
    db = schema_db(folder / "crawl.db")
    conn = sqlite3.connect(db)
    per_row = -(-len(PLANTS) // len(TEXT_COLUMNS))
    for i, (table, column) in enumerate(TEXT_COLUMNS):
        share = [wire for _, _, wire in PLANTS[i * per_row:(i + 1) * per_row]] or [PLANTS[i][2]]
        for carrier in carriers(share, i):
            conn.execute(f"INSERT INTO [{table}] ([{column}]) VALUES (?)", (carrier,))
    imei = int(load_profile(PROFILES[0]).value("imei"))
    conn.execute("INSERT INTO flows (status, url) VALUES (?, 'https://ok.example/')", (imei,))
    conn.execute("INSERT INTO leaks (lat, lon) VALUES (48.85837, 2.29448)")
    conn.execute("INSERT INTO rtb (cpm, fields) VALUES (48.85837, '{}')")
    conn.commit()
    conn.close()
    out = folder / "site"
    # One profile already parsed (a library caller's, or the proxy run's), one as a file: both are the same input.
    result = publish(PublishOptions(db, out, profiles=(load_profile(PROFILES[0]), PROFILES[1])))
    return out, result


def test_every_planted_value_in_every_encoding_in_every_column_is_gone(every_plant_everywhere):
    out, result = every_plant_everywhere
    assert len(PLANTS) > 2000 and len(TEXT_COLUMNS) > 200
    assert_nothing_survives(out, WIRES)
    conn = sqlite3.connect(out / "mouchard.db")
    assert conn.execute("SELECT count(*) FROM flows WHERE status IS NOT NULL").fetchone()[0] == 0
    assert conn.execute("SELECT lat, lon FROM leaks WHERE lat IS NOT NULL").fetchall() == [(48.86, 2.29)]
    assert conn.execute("SELECT count(*) FROM rtb WHERE cpm IS NOT NULL").fetchone()[0] == 0
    report = json.loads((out / "redaction.json").read_text())
    assert report["final_scan"] == "passed" and report["profiles"] == ["android.yml", "ios.yml"]


def test_values_of_a_unique_column_that_redact_alike_are_published_without_either(tmp_path):
    # Two bodies whose hash column (unique) holds two different planted values: redacted, they would be the same
    # text, which the unique index refuses. The copy is still published, neither value kept.
    db = schema_db(tmp_path / "crawl.db")
    wires = [PLANTS[0][2], PLANTS[1][2]]
    conn = sqlite3.connect(db)
    conn.executemany("INSERT INTO bodies (sha256, size) VALUES (?, 1)", [(w,) for w in wires])
    conn.commit()
    conn.close()
    out = tmp_path / "site"
    publish(PublishOptions(db, out, profiles=PROFILES))
    assert_nothing_survives(out, wires)
    published = sqlite3.connect(out / "mouchard.db")
    assert published.execute("SELECT count(*), count(sha256) FROM bodies").fetchone() == (2, 1)


def test_tokens_are_the_proxys_own(every_plant_everywhere):
    """An iPhone's advertising id is [IDFA], an Android phone's [GAID]: the proxy's token table, not a copy."""
    out, _ = every_plant_everywhere
    text = (out / "mouchard.db").read_bytes()
    for token in (b"[IDFA]", b"[GAID]", b"[IDFV]", b"[IMEI]", b"[WIFI_MAC]", b"[PHONE]", b"[EMAIL]", b"[CONTACT]",
                  b"[LOCATION]", b"[ANDROID_ID]"):
        assert token in text, token


# -- e-mail addresses ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("address", ["john.wright@acme.com", "maria.rosales@acme.com", "jordan.abbott@acxiom.com",
                                     "james.ward@actuatelaw.com", "ben@abovedata.io", "privacy@gmail.com",
                                     "mark@bookyourdata.com", "jsmith@acme.com", "amy.legalteam@x.com"])
def test_a_person_is_not_a_role(address):
    from mouchard.identify.emails import personal_email

    assert personal_email(address) and email_personal(address)


@pytest.mark.parametrize("address", ["privacy@transunion.com", "dpo@cision.com", "legal@spokeo.com",
                                     "support@nuwber.com", "info@acme.com", "contact@heartbeat.ai",
                                     "optout@onspotdata.com", "compliance@infopay.com", "usprivacy@equifax.com",
                                     "dataprivacyteam@sms-inc.com", "privacy+california@iwave.com",
                                     "privacy.officer@adstradata.com", "pubmaticprivacy@pubmatic.com",
                                     "california-opt-out@telesign.com", "acme@acme.com"])
def test_role_boxes_are_kept(address):
    from mouchard.identify.emails import personal_email

    assert not personal_email(address) and not email_personal(address)


# -- the real 2025 California registry ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def california(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ca")
    db = folder / "brokers.db"
    result = CliRunner().invoke(cli, ["brokers", "fetch", "--from", str(CA_2025), "--db", str(db)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    publish(PublishOptions(db, folder / "site"))
    return folder / "site"


def test_california_registry_loses_its_individuals_addresses_keeps_role_boxes(california):
    from mouchard.identify.emails import addresses, personal_email

    text = published_text(california)
    # A lawyer's own address in the free-text columns, and contacts in the e-mail column.
    for person in ("james.ward@actuatelaw.com", "roger.abbott@slashdotmedia.com", "amy.eades@altrata.com",
                   "jordan.abbott@acxiom.com", "teri.ettelson@locatesmarter.com"):
        assert person not in text, person
    conn = sqlite3.connect(california / "mouchard.db")
    left = set()
    for table in TABLES:  # every address still in any text value of any table is a role box
        for column in (c.name for c in table.columns if c.type == "text"):
            for (value,) in conn.execute(f"SELECT [{column}] FROM [{table.name}] WHERE [{column}] LIKE '%@%'"):
                left |= {a.lower() for _, _, a in addresses(value)}
    assert len(left) > 400 and not [a for a in left if personal_email(a)]
    kept = {row[0] for row in conn.execute("SELECT email FROM brokers WHERE email IS NOT NULL")}
    assert {"privacy@blis.com", "legal@spokeo.com", "dpo@adara.com", "usprivacy@transunion.com"} <= kept
    notes = conn.execute("SELECT raw_json FROM brokers WHERE raw_json LIKE '%actuatelaw%'").fetchall()
    assert notes == []
    assert conn.execute("SELECT count(*) FROM brokers WHERE email_personal = 1 AND email IS NOT NULL"
                        ).fetchone()[0] == 0


# -- hostile structures ----------------------------------------------------------------------------------------

SOME_WIRES = [w for _, _, w in PLANTS[::7]]
KEYS = st.sampled_from(["lat", "lon", "ll", "coordinates", "user", "id", "buyeruid", "eids", "uids", "ids",
                        "password", "proxy", "note", "email", "x"]) | st.text(max_size=6) | st.sampled_from(SOME_WIRES)
LEAVES = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
          | st.text(max_size=8) | st.sampled_from(SOME_WIRES))
DOCS = st.recursive(LEAVES, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
                    max_leaves=16)
TEMPLATE: dict[str, Path] = {}


def _template(tmp: Path) -> Path:
    if "db" not in TEMPLATE:
        TEMPLATE["db"] = schema_db(tmp / "template.db")
    return TEMPLATE["db"]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(docs=st.lists(st.tuples(DOCS, st.sampled_from(SOME_WIRES), st.sampled_from(TEXT_COLUMNS),
                               st.sampled_from(["json", "json-in-json", "url", "plain"])), min_size=1, max_size=4))
def test_random_json_with_planted_values_in_random_columns_leaves_nothing(tmp_path_factory, docs):
    folder = tmp_path_factory.mktemp("hypothesis")
    db = folder / "crawl.db"
    shutil.copyfile(_template(tmp_path_factory.getbasetemp()), db)
    conn = sqlite3.connect(db)
    wires = []
    for doc, wire, (table, column), carrier in docs:
        document = {"planted": wire, "doc": doc}
        text = {"json": json.dumps(document), "json-in-json": json.dumps({"s": json.dumps(document)}),
                "url": "https://t.example/?d=" + urllib.parse.quote(json.dumps(document)),
                "plain": f"{wire} {json.dumps(doc)}"}[carrier]
        conn.execute(f"INSERT INTO [{table}] ([{column}]) VALUES (?)", (text,))
        wires.append(wire)
    conn.commit()
    conn.close()
    publish(PublishOptions(db, folder / "site", profiles=PROFILES))
    assert_nothing_survives(folder / "site", [w for w in wires if len(w) >= 8])


@settings(max_examples=60, deadline=None)
@given(doc=DOCS)
def test_clean_values_pass_their_own_check(doc):
    """Whatever the structure, a cleaned value is one the final scan accepts (no refusal by construction)."""
    from mouchard.publishing.scrub import Scrubber

    scrubber = SCRUBBER.setdefault("s", Scrubber([load_profile(p) for p in PROFILES]))
    for text in (json.dumps(doc), json.dumps(json.dumps(doc)), str(doc)):
        cleaned = scrubber.clean(text)
        assert scrubber.problems(cleaned) == []
        assert scrubber.clean(cleaned) == cleaned  # a fixpoint: publishing twice changes nothing more


SCRUBBER: dict = {}


def test_deep_json_is_walked_without_recursion():
    from mouchard.publishing.scrub import Scrubber

    gaid = load_profile(PROFILES[0]).value("advertising_id")
    deep = "[" * 5000 + json.dumps(gaid) + "]" * 5000  # deeper than Python's recursion limit
    cleaned = Scrubber([load_profile(PROFILES[0])]).clean(deep)
    assert gaid not in cleaned


# -- what only a rule without a profile can see ---------------------------------------------------------------

@pytest.fixture(scope="module")
def no_profile(tmp_path_factory):
    folder = tmp_path_factory.mktemp("rules")
    db = schema_db(folder / "crawl.db")
    imei = "356938035643809"
    with Store(db) as store:
        store.insert("crawls", {
            "kind": "web", "browser_args": json.dumps(["--proxy-server=http://alice:s3cret@proxy.example:8080",
                                                       "--proxy-bypass-list=bob:hunter2@corp.example"]),
            "config": json.dumps({"proxy": {"server": "socks5://u1:pw1@10.0.0.9:1080", "username": "alice",
                                            "password": "s3cret"}, "contact": "jane.doe@example.org"}),
            "network": json.dumps({"upstream": "https://carol:pa55@up.example/"}),
            "command": json.dumps(["mouchard", "crawl", "--proxy", "http://dave:pw@p.example:3128"])})
        store.insert("rtb", {"event": "openrtb-request", "fields": json.dumps({
            "device": {"geo": {"lat": 48.858372, "lon": 2.294481, "country": "FRA"}, "ip": True},
            "user": {"id": "3rd-party-user-8f2c91", "buyeruid": "buyer-77a1b2c3",
                     "eids": [{"source": "id5-sync.com", "ids": ["ID5*abc123xyz"]}]}})})
        store.insert("id_syncs", {"identifier_sha256": hashlib.sha256(imei.encode()).hexdigest(),
                                  "identifier_name": "uid"})
        store.insert("brokers", {"registry": "ca", "year": 2025, "key": "x", "name": "X Data",
                                 "email": "privacy@xdata.example",
                                 "notes": "Second contact: maria.rosales@xdata.example, or legal@xdata.example",
                                 "raw_json": json.dumps({"Email 2": "john.wright@xdata.example"})})
    publish(PublishOptions(db, folder / "site"))
    return folder / "site", imei


def test_credentials_in_crawl_settings_are_removed(no_profile):
    out, _ = no_profile
    text = published_text(out)
    for secret in ("alice", "s3cret", "hunter2", "u1:pw1", "carol", "pa55", "dave:pw", "jane.doe"):
        assert secret not in text, secret
    assert "proxy.example:8080" in text  # the vantage point stays, its credentials go


def test_rtb_positions_are_rounded_and_user_ids_removed(no_profile):
    out, _ = no_profile
    conn = sqlite3.connect(out / "mouchard.db")
    fields = json.loads(conn.execute("SELECT fields FROM rtb").fetchone()[0])
    assert fields["device"]["geo"] == {"lat": 48.86, "lon": 2.29, "country": "FRA"}
    assert fields["user"]["id"] == fields["user"]["buyeruid"] == "[USER_ID]"
    assert fields["user"]["eids"] == [{"source": "id5-sync.com", "ids": ["[USER_ID]"]}]
    assert fields["device"]["ip"] is True


def test_id_syncs_keep_no_plain_hash_of_an_identifier(no_profile):
    out, imei = no_profile
    assert hashlib.sha256(imei.encode()).hexdigest() not in published_text(out)
    conn = sqlite3.connect(out / "mouchard.db")
    assert len(conn.execute("SELECT identifier_sha256 FROM id_syncs").fetchone()[0]) == 64


def test_second_addresses_and_notes_are_scanned(no_profile):
    out, _ = no_profile
    conn = sqlite3.connect(out / "mouchard.db")
    email, notes, raw = conn.execute("SELECT email, notes, raw_json FROM brokers").fetchone()
    assert email == "privacy@xdata.example"
    assert notes == "Second contact: [EMAIL], or legal@xdata.example"
    assert json.loads(raw) == {"Email 2": "[EMAIL]"}


def test_final_scan_refuses_and_leaves_nothing(tmp_path, monkeypatch):
    import mouchard.publishing.publish as publishing

    db = schema_db(tmp_path / "crawl.db")
    with Store(db) as store:
        store.insert("visits", {"title": "write to jane.doe@example.org"})
    monkeypatch.setattr(publishing, "scrub_database", lambda conn, scrubber: {})  # a scrub that missed something
    out = tmp_path / "site"
    with pytest.raises(UserError, match=r"final scan still finds 1 value.*visits\.title") as error:
        publish(PublishOptions(db, out))
    assert "\n" not in str(error.value) and "jane" not in str(error.value)
    assert not out.exists() or list(out.iterdir()) == []
