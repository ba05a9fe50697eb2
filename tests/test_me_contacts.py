"""Company contacts (mouchard.me.contacts): datenanfragen.de's database fetched from a local server, recorded with
its provenance, read from hostile archives within bounds, and contact resolution in its documented order."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import io
import json
import re
import ssl
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mouchard.errors import UserError
from mouchard.me import contacts
from mouchard.me.contacts import fetch_contacts, parse_record, read_database, resolve
from mouchard.me.model import Company, Contact
from mouchard.net import NetworkOptions
from mouchard.storage.store import Store

SAMPLE = Path(__file__).parent / "data" / "me" / "datenanfragen-sample.json"
RECORDS = json.loads(SAMPLE.read_text(encoding="utf-8"))


def _tar_gz(members: list[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for info, data in members:
            archive.addfile(info, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue()


def _file(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def repo_archive(extra: list[tuple[tarfile.TarInfo, bytes | None]] = ()) -> bytes:
    """The sample as GitHub's archive of datenanfragen/data lays it out: data-master/companies/<slug>.json."""
    members = [_file("data-master/README.md", b"# test"), _file("data-master/schema.json", b"{}")]
    for record in RECORDS:
        if isinstance(record, dict) and "/" not in record["slug"] and record.get("quality") != "obsolete":
            members.append(_file(f"data-master/companies/{record['slug']}.json", json.dumps(record).encode()))
    return _tar_gz(members + list(extra))


class Server:
    """A local HTTP(S) server answering fixed paths with fixed bytes."""

    def __init__(self, routes: dict[str, bytes], context: ssl.SSLContext | None = None):
        self.routes = routes_ = routes

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                body = routes_.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if context is not None:
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def served() -> Iterator[Server]:
    server = Server({"/data.tar.gz": repo_archive(), "/dump.json": SAMPLE.read_bytes(),
                     "/offline-data.json": json.dumps({"date": "2026-12-01T00:00:00Z", "dump-format": 1,
                                                       "companies": json.dumps(RECORDS)}).encode()})
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def store(tmp_path) -> Iterator[Store]:
    with Store(tmp_path / "me.db") as opened:
        yield opened


def test_fetch_archive_records_provenance_and_rows(served, store):
    url = f"http://127.0.0.1:{served.port}/data.tar.gz"
    summary = fetch_contacts(store, source=url)
    sha256 = hashlib.sha256(served.routes["/data.tar.gz"]).hexdigest()
    assert store.rows("SELECT * FROM me_contact_sources") == [{
        "id": 1, "source": "datenanfragen", "url": url, "fetched_at": summary["fetched_at"], "sha256": sha256,
        "licence": "CC0-1.0", "records": 4, "rejected": 5}]
    assert summary == {"source_id": 1, "url": url, "sha256": sha256, "records": 4, "rejected": 5,
                       "licence": "CC0-1.0", "unchanged": False, "fetched_at": summary["fetched_at"]}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", summary["fetched_at"])
    slugs = [r["slug"] for r in store.rows("SELECT slug FROM me_contacts WHERE source_id = 1 ORDER BY slug")]
    assert slugs == ["hostile-name", "microsoft-test", "sdk-two", "tracker-one"]
    ms = store.rows("SELECT * FROM me_contacts WHERE slug = 'microsoft-test'")[0]
    assert json.loads(ms["domains"]) == ["microsoft.com", "adnxs.com", "bing.com"]
    assert (ms["email"], ms["url"], ms["address"], json.loads(ms["country"]), ms["medium"]) == (
        "privacy-test@microsoft.com", "https://www.microsoft.com", "1 Test Place\nDublin 18\nIreland", ["all"],
        "email")
    hostile = store.rows("SELECT name FROM me_contacts WHERE slug = 'hostile-name'")[0]["name"]
    assert hostile == RECORDS[3]["name"]  # kept verbatim: escaping is the renderer's job


def test_sha256_is_of_the_served_bytes_and_same_bytes_add_nothing(served, store):
    url = f"http://127.0.0.1:{served.port}/dump.json"
    first = fetch_contacts(store, source=url)
    assert first["sha256"] == hashlib.sha256(SAMPLE.read_bytes()).hexdigest()
    assert (first["records"], first["rejected"]) == (4, 8)
    again = fetch_contacts(store, source=url)
    assert again["unchanged"] is True and again["source_id"] == first["source_id"]
    assert store.count("me_contact_sources") == 1 and store.count("me_contacts") == 4
    assert "rien de nouveau / nothing new stored" in contacts.describe(again)[1]


def test_website_dump_and_local_path_read_alike(served, store, tmp_path):
    summary = fetch_contacts(store, source=f"http://127.0.0.1:{served.port}/offline-data.json")
    assert (summary["records"], summary["rejected"]) == (4, 8)
    local = tmp_path / "companies.json"
    local.write_bytes(json.dumps(RECORDS[:2]).encode())
    second = fetch_contacts(store, source=local)
    assert (second["source_id"], second["records"], second["rejected"], second["url"]) == (2, 2, 0, str(local))


def test_default_url_host_is_reached_through_network_options(tmp_path, monkeypatch, store):
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("codeload.github.com").configure_cert(context)
    server = Server({"/datenanfragen/data/tar.gz/refs/heads/master": repo_archive()}, context)
    try:
        ca_file = tmp_path / "ca.pem"
        ca.cert_pem.write_to_path(str(ca_file))
        # The default URL's host and path; only the port is the test server's (443 needs root).
        url = contacts.DEFAULT_URL.replace("codeload.github.com/", f"codeload.github.com:{server.port}/")
        monkeypatch.setattr(contacts, "DEFAULT_URL", url)
        net = NetworkOptions.build(host_map=["codeload.github.com=127.0.0.1"], ca_file=str(ca_file))
        summary = fetch_contacts(store, net=net)
        assert (summary["url"], summary["records"], summary["rejected"]) == (url, 4, 5)
        with pytest.raises(UserError, match="cannot fetch the company contact database"):
            fetch_contacts(store, net=NetworkOptions.build(host_map=["codeload.github.com=127.0.0.1"]))
    finally:
        server.close()


def test_nothing_usable_is_one_line_error_and_no_rows(store, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"slug": "x", "name": 1}, "y"]))
    with pytest.raises(UserError) as caught:
        fetch_contacts(store, source=bad)
    assert str(caught.value) == f"no usable company record in {bad} (2 rejected): not a datenanfragen.de company database?"
    assert store.count("me_contact_sources") == 0 and store.count("me_contacts") == 0
    html = tmp_path / "page.html"
    html.write_text("<html>not json</html>")
    with pytest.raises(UserError, match="^not a datenanfragen.de company database: the JSON cannot be read$"):
        fetch_contacts(store, source=html)


def test_hostile_archive_members_are_rejected_never_extracted(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    link = tarfile.TarInfo("data-master/companies/link.json")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    hard = tarfile.TarInfo("data-master/companies/hard.json")
    hard.type, hard.linkname = tarfile.LNKTYPE, "data-master/companies/tracker-one.json"
    record = json.dumps({**RECORDS[1], "slug": "evil"}).encode()
    huge = json.dumps({**RECORDS[1], "slug": "huge", "comments": ["x" * (2 * 1024 * 1024)]}).encode()
    raw = repo_archive([
        _file("../companies/evil.json", record), _file("data-master/companies/../../evil.json", record),
        (link, None), (hard, None), _file("data-master/companies/huge.json", huge),
        _file("data-master/companies/misnamed.json", record), _file("data-master/companies/notjson.json", b"{"),
    ])
    records, rejected = read_database(raw)
    assert sorted(r["slug"] for r in records) == ["bidi-name", "hostile-name", "js-web", "microsoft-test",
                                                  "number-name", "sdk-two", "tracker-one", "tracker-one",
                                                  "two-addresses"]
    assert rejected == 7
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing written anywhere


def test_gzip_bomb_and_member_count_are_bounded(monkeypatch):
    monkeypatch.setattr(contacts, "MAX_UNPACKED_BYTES", 1024 * 1024)
    bomb = repo_archive([_file("data-master/zeros.bin", bytes(8 * 1024 * 1024))])
    assert len(bomb) < 64 * 1024
    with pytest.raises(UserError, match="unpacks to more than 1048576 bytes"):
        read_database(bomb)
    json_bomb = gzip.compress(b"[" + b" " * (4 * 1024 * 1024) + b"]")
    with pytest.raises(UserError, match="unpacks to more than 1048576 bytes"):
        read_database(json_bomb)
    monkeypatch.setattr(contacts, "MAX_MEMBERS", 3)
    with pytest.raises(UserError, match="more than 3 archive entries"):
        read_database(repo_archive())
    with pytest.raises(UserError, match="cannot be unpacked"):
        read_database(repo_archive()[:200])


def test_oversized_download_is_refused(store, tmp_path, monkeypatch):
    monkeypatch.setattr(contacts, "MAX_DOWNLOAD_BYTES", 100)
    with pytest.raises(UserError, match="larger than 100 bytes"):
        fetch_contacts(store, source=SAMPLE)


# -- resolution ---------------------------------------------------------------------------------------------


@pytest.fixture
def filled(store) -> Store:
    fetch_contacts(store, source=SAMPLE)
    with store.transaction() as tx:
        list_id = tx.insert("vendor_lists", {"version": 300, "source_url": "https://gvl.test/v3/vendor-list.json",
                                             "fetched_at": "2026-12-01T10:00:00Z"})
        old_id = tx.insert("vendor_lists", {"version": 299, "source_url": "https://gvl.test/old.json",
                                            "fetched_at": "2026-11-01T10:00:00Z"})
        tx.insert("vendors", {"vendor_list_id": old_id, "vendor_id": 32, "name": "Ad Vendor",
                              "privacy_url": "https://advendor.test/old-privacy"})
        tx.insert("vendors", {"vendor_list_id": list_id, "vendor_id": 32, "name": "Ad Vendor",
                              "privacy_url": "https://advendor.test/privacy",
                              "legitimate_interest_url": "https://advendor.test/li"})
        snap = tx.insert("registry_snapshots", {"registry": "ca", "year": 2026,
                                                "source_url": "https://cppa.test/registry.csv",
                                                "fetched_at": "2026-11-20T08:00:00Z"})
        tx.insert("brokers", {"snapshot_id": snap, "registry": "ca", "year": 2025, "name": "Broker Co",
                              "site": "broker.test", "email": "old@broker.test"})
        tx.insert("brokers", {"snapshot_id": snap, "registry": "ca", "year": 2026, "name": "Broker Co",
                              "site": "broker.test", "email": "privacy@broker.test",
                              "rights_url": "https://broker.test/rights", "address": "1 Market St",
                              "city": "San Francisco", "state": "CA", "postal_code": "94105",
                              "country": "USA"})
    return store


def test_resolve_domain_match_from_the_database(filled):
    company = Company(key="xandr", name="Xandr", domains=("ib.adnxs.com", "adnxs.com"), gvl_vendor_id=32)
    assert resolve(filled.conn, company) == Contact(
        email="privacy-test@microsoft.com", url="https://www.microsoft.com",
        address="1 Test Place\nDublin 18\nIreland", source="datenanfragen", source_id=1, source_url=str(SAMPLE),
        fetched_at=filled.rows("SELECT fetched_at FROM me_contact_sources")[0]["fetched_at"])
    tracker = resolve(filled.conn, Company(key="t1", name="Whatever", domains=("tracker-one.test",)))
    assert (tracker.email, tracker.url, tracker.source) == ("dpo@tracker-one.test", "https://tracker-one.test/",
                                                           "datenanfragen")


def test_resolve_name_match_folds_case_beyond_ascii(store, tmp_path):
    path = tmp_path / "fr.json"
    path.write_text(json.dumps([{"slug": "energie", "name": "Énergie Ouverte SA", "address": "1 quai\nLyon\nFrance",
                                 "email": "dpo@energie.test"}]))
    fetch_contacts(store, source=path)
    assert resolve(store.conn, Company(key="e", name="ÉNERGIE  ouverte sa")).email == "dpo@energie.test"


def test_resolve_name_match_when_no_domain_meets(filled):
    contact = resolve(filled.conn, Company(key="sdk-two", name="sdk two gmbh", domains=("sdk-two.test",)))
    assert (contact.email, contact.url, contact.address, contact.source) == (
        None, "https://forms.sdk-two.test/privacy", "Teststraße 2\n10115 Berlin\nDeutschland", "datenanfragen")


def test_resolve_name_match_on_runs(filled):
    contact = resolve(filled.conn, Company(key="sdk-two-analytics", name="SDK TWO ANALYTICS"))
    assert contact.url == "https://forms.sdk-two.test/privacy"


def test_resolve_newest_database_wins(filled, tmp_path):
    newer = tmp_path / "newer.json"
    newer.write_text(json.dumps([{**RECORDS[1], "email": "new-dpo@tracker-one.test"}]))
    fetch_contacts(filled, source=newer)
    contact = resolve(filled.conn, Company(key="t1", name="Tracker One SAS", domains=("tracker-one.test",)))
    assert (contact.email, contact.source_id, contact.source_url) == ("new-dpo@tracker-one.test", 2, str(newer))
    # the microsoft record is not in the newest database: no fallback to an older one
    assert resolve(filled.conn, Company(key="x", name="Xandr", domains=("adnxs.com",))) == Contact()


def test_resolve_gvl_fallback(filled):
    contact = resolve(filled.conn, Company(key="ad", name="Ad Vendor", domains=("advendor.test",), gvl_vendor_id=32))
    assert contact == Contact(url="https://advendor.test/privacy", source="gvl",
                              source_url="https://gvl.test/v3/vendor-list.json", fetched_at="2026-12-01T10:00:00Z")


def test_resolve_broker_fallback(filled):
    contact = resolve(filled.conn, Company(key="broker", name="Broker Co", domains=("broker.test",),
                                           broker_registries=("ca",), regimes=("ccpa",)))
    assert contact == Contact(email="privacy@broker.test", url="https://broker.test/rights",
                              address="1 Market St\n94105 San Francisco CA\nUSA", source="broker:ca",
                              source_url="https://cppa.test/registry.csv", fetched_at="2026-11-20T08:00:00Z")


def test_resolve_nothing_known(filled, tmp_path):
    assert resolve(filled.conn, Company(key="n", name="Nobody", domains=("nobody.test",), gvl_vendor_id=999)) == Contact()
    with Store(tmp_path / "empty.db") as empty:  # no me_* tables at all
        assert resolve(empty.conn, Company(key="n", name="Nobody", domains=("nobody.test",))) == Contact()


# -- property-based -----------------------------------------------------------------------------------------

_json = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
                     lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                                  max_size=4), max_leaves=20)
_field_values = st.one_of(_json, st.text(max_size=80), st.sampled_from(
    ["https://x.test/", "javascript:alert(1)", "a@b.test", "a@b.test\r\nBcc: c@d.test", "http://[::1", "all",
     "\u202e", "x" * 3000, "email", "obsolete"]))
_records = st.fixed_dictionaries({"slug": st.one_of(st.sampled_from(["ok", "a-b", "../x", ""]), _json)},
                                 optional={k: _field_values for k in (
                                     "name", "runs", "web", "webform", "email", "address", "relevant-countries",
                                     "suggested-transport-medium", "quality")})


@settings(max_examples=300, deadline=None)
@given(st.one_of(_records, _json))
def test_any_record_is_a_row_or_none(record):
    row = parse_record(record)
    assert row is None or (row["email"] is None or "\n" not in row["email"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(_records, _json), max_size=6))
def test_any_database_raises_only_user_error(tmp_path, records):
    path = tmp_path / "db.json"
    path.write_text(json.dumps(records))
    with Store(tmp_path / "p.db") as opened:
        try:
            summary = fetch_contacts(opened, source=path)
        except UserError as exc:
            assert "\n" not in str(exc)
        else:
            assert summary["records"] == opened.count("me_contacts", "source_id = ?", (summary["source_id"],))


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=600))
def test_any_bytes_raise_only_user_error(raw):
    try:
        read_database(raw)
        read_database(gzip.compress(raw))
    except UserError as exc:
        assert "\n" not in str(exc)


def test_record_fields_validated_one_by_one():
    base = {"slug": "acme", "name": "Acme SA", "address": "1 rue\nParis\nFrance", "relevant-countries": ["fr"]}
    # a typo in the homepage drops the homepage only; a bad contact channel rejects the record
    assert parse_record({**base, "web": "httsp://www.acme.fr"}) == {
        "slug": "acme", "name": "Acme SA", "domains": [], "email": None, "url": None,
        "address": "1 rue\nParis\nFrance", "country": ["fr"], "medium": "letter", "runs": []}
    assert parse_record({**base, "email": "dpo@acme.fr\r\nBcc: x@y.test"}) is None
    assert parse_record({**base, "email": "daten\u00adschutz@acme.fr"}) is None
    assert parse_record({**base, "webform": "ftp://acme.fr/form"}) is None
    assert parse_record({**base, "suggested-transport-medium": "pigeon"}) is None
    assert parse_record({**base, "relevant-countries": ["fr", "<x>"]}) is None
    assert parse_record({**base, "address": "1 rue\n\x00Paris"}) is None
    assert parse_record({**base, "quality": "obsolete"}) is None
    assert contacts.record_domains("https://www.acme.fr/", ["Acme GmbH & Co.KG", "Foo Co.Ltd", "web.cent",
                                                            "Acme Shop (shop.acme.de)", "Outlook.com (live.com)"]) == [
        "acme.fr", "acme.de", "outlook.com", "live.com"]


def test_resolve_ranks_website_then_country_then_email(store, tmp_path):
    from mouchard.storage.private import mark_private

    def rec(slug, web, countries, email=None, runs=()):
        return {"slug": slug, "name": slug, "web": web, "relevant-countries": countries, "runs": list(runs),
                "address": "1 road\nTown\nCountry", **({"email": email} if email else {})}

    path = tmp_path / "rank.json"
    path.write_text(json.dumps([rec("a-runs", "https://a.example.com", ["all"], "a@a.test", ["Ads (adnxs.com)"]),
                                rec("b-de", "https://www.adnxs.com", ["de"], "b@b.test"),
                                rec("c-fr", "https://adnxs.com/fr", ["fr"])]))
    fetch_contacts(store, source=path)
    company = Company(key="x", name="X", domains=("adnxs.com",))
    assert resolve(store.conn, company).email == "b@b.test"  # no person yet: the website's record with an e-mail
    mark_private(store, {"name": "Jean", "country": "FR"})
    assert resolve(store.conn, company).url == "https://adnxs.com/fr"  # the person's country first
