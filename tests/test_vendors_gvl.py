"""The Global Vendor List as a registry: the GVL and disclosure parsers (hostile input, @iabtcf/core agreeing),
matching a cookie, a storage key or a host against a disclosure, and `mouchard vendors fetch` end to end from a
local server into a database (rows, statuses, diffs, re-fetch), then `load_declared`.

The files in tests/data/vendors/ follow the published formats (IAB Tech Lab: "Consent string and vendor list
formats v2", GVL v3; "Vendor Device Storage & Operational Disclosures"). Their disclosure URLs name
http://disclosures.test, which the local server rewrites to its own address when it serves a list.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import shutil
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import needs
from demoweb.sites.consent_lib import NODE_MODULES, missing_packages
from mouchard.cli import cli
from mouchard.storage.store import Store
from mouchard.vendors import disclosure as disclosure_module, gvl
from mouchard.vendors.disclosure import Disclosed, Disclosure, DisclosureError, parse_disclosure, wildcard_match
from mouchard.vendors.fetch import ARCHIVE_URL, GVL_URL, LICENCE, list_url
from mouchard.vendors.gvl import VendorListError, parse_vendor_list
from mouchard.vendors.registry import load_declared

DATA = Path(__file__).parent / "data" / "vendors"
PLACEHOLDER = b"http://disclosures.test"
PROPS = settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


def read(name: str) -> bytes:
    return (DATA / name).read_bytes()


# -- the vendor list ----------------------------------------------------------------------------------------------

def test_parse_vendor_list_v3_reads_every_field():
    parsed = parse_vendor_list(read("vendor-list-v151.json"))
    assert (parsed.version, parsed.gvl_specification_version, parsed.tcf_policy_version, parsed.last_updated) == \
        (151, 3, 5, "2026-11-12T16:00:19Z")
    assert sorted(parsed.vendors) == [1, 2, 8, 10, 11, 12, 13, 14]
    assert parsed.purposes[1] == "Purpose 1" and len(parsed.purposes) == 11
    one, two, eight = parsed.vendors[1], parsed.vendors[2], parsed.vendors[8]
    assert (one.purposes, one.leg_int_purposes, one.flexible_purposes, one.special_purposes, one.features,
            one.special_features) == ((1, 2, 3, 4, 7), (9, 10), (2, 7), (1, 2), (1, 2), (1,))
    assert (one.uses_cookies, one.cookie_max_age_seconds, one.cookie_refresh, one.uses_non_cookie_access) == \
        (True, 7776000, True, False)
    assert (one.privacy_url, one.legitimate_interest_url) == ("https://adtech.example/privacy",
                                                              "https://adtech.example/li")
    assert one.device_storage_disclosure_url == "http://disclosures.test/disclosures/adtech-one.json"
    assert (one.data_retention_days, one.data_declaration, one.deleted_date) == (365, (1, 3, 4), None)
    # the first language published gives the links (French first here)
    assert (two.privacy_url, two.legitimate_interest_url) == ("https://bidder.example/fr/vie-privee",
                                                              "https://bidder.example/fr/il")
    assert eight.deleted_date == "2026-11-10T00:00:00Z"
    assert parsed.vendors[11].cookie_max_age_seconds is None


def test_parse_vendor_list_v2_takes_the_policy_url():
    raw = json.dumps({"gvlSpecificationVersion": 2, "vendorListVersion": 48, "tcfPolicyVersion": 2,
                      "lastUpdated": "2020-08-13T16:00:20Z", "purposes": {}, "vendors": {"7": {
                          "id": 7, "name": "Old Seven", "purposes": [1], "legIntPurposes": [], "flexiblePurposes": [],
                          "specialPurposes": [], "features": [], "specialFeatures": [],
                          "policyUrl": "https://old.example/privacy"}}}).encode()
    parsed = parse_vendor_list(raw)
    assert (parsed.version, parsed.gvl_specification_version) == (48, 2)
    assert parsed.vendors[7].privacy_url == "https://old.example/privacy"
    assert parsed.vendors[7].uses_cookies is None and parsed.vendors[7].legitimate_interest_url is None


def _with_vendor(**changes) -> bytes:
    data = json.loads(read("vendor-list-v150.json"))
    data["vendors"]["1"].update(changes)
    return json.dumps(data).encode()


@pytest.mark.parametrize("raw, message", [
    (b"\xff\xfe", "not a Global Vendor List: not UTF-8 text"),
    (b"[1, 2]", "not a Global Vendor List: the top level is not an object"),
    (b'{"vendors": {}}', "not a Global Vendor List: no vendorListVersion or no vendors"),
    (b'{"vendorListVersion": NaN, "vendors": {}}', "not a Global Vendor List: not JSON (NaN is not JSON)"),
    (b'{"vendorListVersion": true, "vendors": {}}',
     "not a Global Vendor List: vendorListVersion: expected an integer, got bool"),
    (b'{"vendorListVersion": 3, "vendors": []}',
     "not a Global Vendor List: vendors: expected an object keyed by vendor id, got list"),
    (b'{"vendorListVersion": 3, "vendors": {"7": {"id": 8, "name": "x"}}}',
     "not a Global Vendor List: vendors.7: the key does not equal its id 8"),
    (b'{"vendorListVersion": 3, "vendors": {"0": {"id": 0, "name": "x"}}}',
     "not a Global Vendor List: vendors.0.id: 0 is outside 1..65535"),
    (b'{"vendorListVersion": 3, "vendors": {"70000": {"id": 70000, "name": "x"}}}',
     "not a Global Vendor List: vendors.70000.id: 70000 is outside 1..65535"),
    (b'{"vendorListVersion": 3, "vendors": {"1": {"id": 1}}}',
     "not a Global Vendor List: vendors.1.name: expected a string, got NoneType"),
    (_with_vendor(purposes=[1, 65]), "not a Global Vendor List: vendors.1.purposes: 65 is outside 1..64"),
    (_with_vendor(legIntPurposes="1,2"), "not a Global Vendor List: vendors.1.legIntPurposes: expected a list of ids, got str"),
    (_with_vendor(usesCookies="yes"), "not a Global Vendor List: vendors.1.usesCookies: expected true or false, got str"),
    (_with_vendor(name="n" * 513), "not a Global Vendor List: vendors.1.name: longer than 512 characters"),
    (_with_vendor(urls=[{"langId": "en", "privacy": 5}]),
     "not a Global Vendor List: vendors.1.urls[0].privacy: expected a string, got int"),
    (_with_vendor(dataRetention={"stdRetention": -1}),
     "not a Global Vendor List: vendors.1.dataRetention.stdRetention: -1 is outside 0..9007199254740992"),
    (b"[" * 100_000 + b"]" * 100_000, "not a Global Vendor List: JSON nested too deep"),
])
def test_parse_vendor_list_names_the_bad_field_in_one_line(raw, message):
    with pytest.raises(VendorListError) as caught:
        parse_vendor_list(raw)
    assert str(caught.value) == message


def test_parse_vendor_list_budget(monkeypatch):
    monkeypatch.setattr(gvl, "MAX_LIST_BYTES", 1000)
    with pytest.raises(VendorListError, match="^not a Global Vendor List: larger than 1000 bytes$"):
        parse_vendor_list(b" " * 1001)
    monkeypatch.setattr(gvl, "MAX_VENDORS", 3)
    many = {str(i): {"id": i, "name": f"v{i}"} for i in range(1, 5)}
    with pytest.raises(VendorListError, match="^not a Global Vendor List: vendors: more than 3 vendors$"):
        parse_vendor_list(json.dumps({"vendorListVersion": 1, "vendors": many}).encode())


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
                    max_leaves=30)
VENDOR_FIELDS = st.sampled_from(["id", "name", "purposes", "legIntPurposes", "flexiblePurposes", "specialPurposes",
                                 "features", "specialFeatures", "usesCookies", "cookieMaxAgeSeconds", "cookieRefresh",
                                 "usesNonCookieAccess", "deviceStorageDisclosureUrl", "urls", "policyUrl",
                                 "deletedDate", "dataRetention", "dataDeclaration"])


@PROPS
@given(st.binary(max_size=300))
def test_parse_vendor_list_raises_only_its_error_on_bytes(raw):
    try:
        parse_vendor_list(raw)
    except VendorListError as exc:
        assert "\n" not in str(exc)


@PROPS
@given(JSON)
def test_parse_vendor_list_raises_only_its_error_on_any_json(value):
    for doc in (value, {"vendorListVersion": 1, "vendors": value}, {"vendorListVersion": 1, "vendors": {"1": value}}):
        try:
            parse_vendor_list(json.dumps(doc).encode())
        except VendorListError as exc:
            assert "\n" not in str(exc)


@PROPS
@given(VENDOR_FIELDS, JSON)
def test_parse_vendor_list_raises_only_its_error_on_any_field_value(name, value):
    try:
        vendor = parse_vendor_list(_with_vendor(**{name: value})).vendors[1]
    except VendorListError as exc:
        assert "\n" not in str(exc)
    else:
        assert all(1 <= p <= 64 for p in vendor.purposes + vendor.leg_int_purposes + vendor.special_features)


def test_iabtcf_core_reads_the_same_vendors():
    """@iabtcf/core (what CMPs run) builds a GVL from the same files: ids and every id list agree."""
    node = shutil.which("node")
    needs(None if node else "node", "Node.js runs @iabtcf/core: scripts/setup.sh")
    needs(missing_packages(("@iabtcf/core",)))
    for name in ("vendor-list-v150.json", "vendor-list-v151.json"):
        out = subprocess.run([node, str(DATA / "gvl_vendors.mjs"), str(DATA / name)], capture_output=True,
                             text=True, timeout=60, cwd=NODE_MODULES.parent, check=True)
        theirs = json.loads(out.stdout)
        ours = parse_vendor_list(read(name))
        assert theirs["version"] == ours.version
        assert sorted(theirs["all"]) == sorted(ours.vendors)
        live = {v.id: v for v in ours.vendors.values() if not v.deleted_date}  # GVL.vendors leaves deleted ones out
        assert sorted(int(k) for k in theirs["vendors"]) == sorted(live)
        for key, vendor in theirs["vendors"].items():
            mine = live[int(key)]
            assert (vendor["id"], vendor["purposes"], vendor["legIntPurposes"], vendor["flexiblePurposes"],
                    vendor["specialPurposes"], vendor["features"], vendor["specialFeatures"]) == (
                mine.id, list(mine.purposes), list(mine.leg_int_purposes), list(mine.flexible_purposes),
                list(mine.special_purposes), list(mine.features), list(mine.special_features))


def test_list_urls():
    assert list_url() == GVL_URL == "https://vendor-list.consensu.org/v3/vendor-list.json"
    assert list_url(151) == ARCHIVE_URL.format(version=151) == \
        "https://vendor-list.consensu.org/v3/archives/vendor-list-v151.json"


# -- disclosures ----------------------------------------------------------------------------------------------------

def test_parse_disclosure_reads_items_and_domains():
    parsed = parse_disclosure(read("adtech-one.json"))
    assert parsed.domains == ("*.adnxs.com", "adnxs-simple.com")
    assert parsed.items == (
        Disclosed("uuid2", "cookie", 7776000, True, "*.adnxs.com", (1, 3, 4)),
        Disclosed("anj", "cookie", 7776000, True, "adnxs.com", (1, 3), ("adnxs.com", "adnxs-simple.com")),
        Disclosed("adtech_*", "web", None, None, "*", (1,)),
        Disclosed("com.adtechone.sdk.id", "app", None, None, None, (1, 3)),
    )


@pytest.mark.parametrize("raw, message", [
    (read("malformed.json"),
     "not a Device Storage Disclosure: disclosures[0].identifier: expected a string, got int"),
    (b'{"domains": []}', "not a Device Storage Disclosure: disclosures: expected a list"),
    (b'{"disclosures": [{"identifier": "a", "type": "flash"}]}',
     "not a Device Storage Disclosure: disclosures[0].type: expected one of cookie, web, app"),
    (b'{"disclosures": [{"identifier": "a", "type": "cookie", "maxAgeSeconds": "1d"}]}',
     "not a Device Storage Disclosure: disclosures[0].maxAgeSeconds: expected a number of seconds or null, got str"),
    (b'{"disclosures": [{"identifier": "a", "type": "cookie", "purposes": [0]}]}',
     "not a Device Storage Disclosure: disclosures[0].purposes: expected purpose ids 1..64"),
    (b'{"disclosures": [], "domains": ["a.example"]}',
     "not a Device Storage Disclosure: domains[0]: expected an object, got str"),
    (b"<html>", "not a Device Storage Disclosure: not JSON (Expecting value: line 1 column 1 (char 0))"),
    (b" " * (1024 * 1024 + 1), "not a Device Storage Disclosure: larger than 1048576 bytes"),
])
def test_parse_disclosure_names_the_bad_field_in_one_line(raw, message):
    with pytest.raises(DisclosureError) as caught:
        parse_disclosure(raw)
    assert str(caught.value) == message


def test_parse_disclosure_reads_the_superseded_name_field():
    """The 2020 "Device storage duration and access disclosure" called the identifier `name`, without `domains`."""
    raw = b'{"disclosures": [{"name": "retarget", "type": "cookie", "maxAgeSeconds": 2592000000, ' \
          b'"domain": "retarget.adtech123.com", "purposes": [3, 4]}]}'
    assert parse_disclosure(raw) == Disclosure((Disclosed("retarget", "cookie", 2592000000, None,
                                                          "retarget.adtech123.com", (3, 4)),))


def test_parse_disclosure_item_cap(monkeypatch):
    monkeypatch.setattr(disclosure_module, "MAX_ITEMS", 2)
    items = [{"identifier": f"c{i}", "type": "cookie", "maxAgeSeconds": 1, "domain": "a.example", "purposes": [1]}
             for i in range(3)]
    with pytest.raises(DisclosureError, match=r"^not a Device Storage Disclosure: disclosures: more than 2 items$"):
        parse_disclosure(json.dumps({"disclosures": items, "domains": []}).encode())


@PROPS
@given(st.binary(max_size=300))
def test_parse_disclosure_raises_only_its_error_on_bytes(raw):
    try:
        parse_disclosure(raw)
    except DisclosureError as exc:
        assert "\n" not in str(exc)


ITEM_FIELDS = st.sampled_from(["identifier", "type", "maxAgeSeconds", "cookieRefresh", "domain", "domains",
                               "purposes"])


@PROPS
@given(JSON, ITEM_FIELDS, JSON, st.text(max_size=30), st.text(max_size=30))
def test_parse_disclosure_and_matching_raise_only_its_error_on_any_json(value, name, field_value, key, host):
    base = {"identifier": "id*", "type": "cookie", "maxAgeSeconds": 1, "domain": "a.example", "purposes": [1]}
    for doc in (value, {"disclosures": value}, {"disclosures": [value]}, {"disclosures": [], "domains": value},
                {"disclosures": [{**base, name: field_value}]}):
        try:
            parsed = parse_disclosure(json.dumps(doc).encode())
        except DisclosureError as exc:
            assert "\n" not in str(exc)
        else:  # whatever was read, matching never raises either
            parsed.declared_cookie(key, host)
            parsed.declared_storage(key, host)
            parsed.lists_host(host)


def test_matching_rules_of_the_disclosure():
    parsed = parse_disclosure(read("adtech-one.json"))
    # "*.adnxs.com": adnxs.com and its subdomains, case-insensitive, leading dots ignored
    assert parsed.declared_cookie("uuid2", "adnxs.com").identifier == "uuid2"
    assert parsed.declared_cookie("UUID2", ".IB.Adnxs.com").identifier == "uuid2"
    assert parsed.declared_cookie("uuid2", "xadnxs.com") is None  # a label boundary, not a suffix
    # a plain domain: itself and, for cookies, its subdomains
    assert parsed.declared_cookie("anj", "secure.adnxs-simple.com").identifier == "anj"
    assert parsed.declared_cookie("anj", "news.example") is None
    # web storage: "*" is any site; identifier wildcards
    assert parsed.declared_storage("adtech_segments", "https://news.example:8443/page").identifier == "adtech_*"
    assert parsed.declared_storage("other_key", "https://news.example/") is None
    assert parsed.declared_cookie("adtech_segments", "news.example") is None  # a web item is not a cookie
    assert parsed.lists_host("ib.adnxs.com") and parsed.lists_host("ADNXS-SIMPLE.com.")
    assert not parsed.lists_host("news.example")  # "*" items do not make every host the vendor's
    # a plain domain for web storage is that origin's host only
    web = Disclosure((Disclosed("k", "web", None, None, "cdn.vendor.example", (1,)),))
    assert web.declared_storage("k", "https://cdn.vendor.example") is not None
    assert web.declared_storage("k", "https://a.cdn.vendor.example") is None
    # an item with no domain is on the domains listed at the top level; the longest lifetime wins
    bare = Disclosure((Disclosed("uid", "cookie", 60), Disclosed("u*", "cookie", 600)), ("vendor.example",))
    assert bare.declared_cookie("uid", "x.vendor.example").max_age_seconds == 600
    assert bare.declared_cookie("uid", "other.example") is None


LABEL = st.from_regex(r"[a-z][a-z0-9-]{0,10}[a-z0-9]", fullmatch=True)


@PROPS
@given(LABEL, LABEL, LABEL, st.text(alphabet="abcXYZ_-*", max_size=12), st.text(alphabet="abcxyz_-", max_size=12))
def test_matching_properties(sub, name, other, pattern, text):
    domain = f"{name}.example"
    wild = Disclosure((Disclosed("id", "cookie", 1, None, f"*.{domain}"),))
    plain = Disclosure((Disclosed("id", "cookie", 1, None, domain),), (domain,))
    for host in (domain, f"{sub}.{domain}", f".{sub}.{domain.upper()}"):
        assert wild.declared_cookie("ID", host) is not None and plain.declared_cookie("id", host) is not None
        assert plain.lists_host(host)
    assert wild.declared_cookie("id", f"{other}{name}x.example") is None
    assert not plain.lists_host(f"{name}.{other}.test")
    # wildcards: `*` alone matches anything; a literal pattern matches itself only; prefix and suffix forms
    assert wildcard_match("*", text) and wildcard_match(text, text) and wildcard_match(text.upper(), text)
    assert wildcard_match(f"{text}*", f"{text}{other}") and wildcard_match(f"*{text}", f"{other}{text}")
    if "*" not in pattern:
        assert wildcard_match(pattern, text) == (pattern.lower() == text.lower())


# -- fetch end to end -------------------------------------------------------------------------------------------------

class Lab:
    """A local server for lists and disclosures: `routes` maps a path to bytes (lists get the server's address),
    `/disclosures/slow.json` answers only once `release` is set, `/disclosures/oversize.json` is over the cap."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.routes: dict[str, bytes] = {f"/lists/{n}": read(n) for n in ("vendor-list-v150.json",
                                                                           "vendor-list-v151.json")}
        for name in ("adtech-one.json", "leaving-five.json", "deleted-eight.json", "malformed.json"):
            self.routes[f"/disclosures/{name}"] = read(name)
        self.routes["/disclosures/bidder-two.json"] = read("bidder-two-a.json")
        self.routes["/disclosures/oversize.json"] = b'{"disclosures": [], "pad": "' + b"x" * (1024 * 1024) + b'"}'
        lab = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                if self.path == "/disclosures/slow.json":
                    lab.release.wait(60)
                body = lab.routes.get(self.path)
                if body is None:
                    self.send_error(404, "Not Found")
                    return
                if self.path.startswith("/lists/"):
                    body = body.replace(PLACEHOLDER, lab.base.encode())
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except OSError:  # the client gave up (the slow answer after its timeout)
                    pass

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def served(self, name: str) -> bytes:
        return self.routes[f"/lists/{name}"].replace(PLACEHOLDER, self.base.encode())


@pytest.fixture
def lab() -> Iterator[Lab]:
    served = Lab()
    served.thread.start()
    try:
        yield served
    finally:
        served.release.set()
        served.server.shutdown()
        served.server.server_close()


@pytest.fixture
def shipped_lists_only(tmp_path, monkeypatch):
    """Classify with mouchard's shipped list only (no user cache), so entities are exact."""
    from mouchard.classification.classify import default_classifier

    monkeypatch.setenv("MOUCHARD_CACHE", str(tmp_path / "cache"))
    default_classifier.cache_clear()
    yield
    default_classifier.cache_clear()


def rows(db: Path, sql: str, params=()) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def fetch(db: Path, *args: str):
    result = CliRunner().invoke(cli, ["vendors", "fetch", "--db", str(db), "--timeout", "2", *args])
    assert result.exit_code == 0, (result.output, result.exception)
    return result


def test_vendors_fetch_end_to_end(lab, tmp_path, shipped_lists_only):
    db = tmp_path / "gvl.db"
    base = lab.base
    first = fetch(db, "--source", f"{base}/lists/vendor-list-v150.json")
    assert first.stdout.splitlines() == [
        f"GVL version 150: 6 vendors from {base}/lists/vendor-list-v150.json",
        "  disclosures: 4 ok, 2 failed, 0 not fetched; 7 items",
        "  first version recorded: nothing to compare with",
    ]
    sha150 = hashlib.sha256(lab.served("vendor-list-v150.json")).hexdigest()
    assert rows(db, "SELECT version, gvl_specification_version, tcf_policy_version, last_updated, source_url, sha256, "
                    "licence, vendors, disclosures_fetched, disclosures_failed, previous_version, appeared, left, "
                    "changed FROM vendor_lists") == [
        (150, 3, 5, "2026-11-05T16:00:20Z", f"{base}/lists/vendor-list-v150.json", sha150, LICENCE, 6, 4, 2, None,
         "[]", "[]", "{}")]
    assert rows(db, "SELECT vendor_id, name, disclosure_status, domains, tracker_entity FROM vendors ORDER BY vendor_id") == [
        (1, "Adtech One", "ok", '["*.adnxs.com", "adnxs-simple.com", "adnxs.com"]', "Microsoft"),
        (2, "Bidder Two", "ok", '["criteo.com", "*.criteo.net"]', "Criteo"),
        (5, "Leaving Five", "ok", '["leaving-five.example"]', None),
        (8, "Deleted Eight", "ok", '["deleted-eight.example"]', None),
        (10, "Malformed Ten", "failed: not a Device Storage Disclosure: disclosures[0].identifier: expected a string, "
                              "got int", "[]", None),
        (11, "Missing Eleven", f"failed: {base}/disclosures/missing.json: HTTP 404 Not Found", "[]", None),
    ]
    assert rows(db, "SELECT purposes, leg_int_purposes, flexible_purposes, special_purposes, features, "
                    "special_features, uses_cookies, cookie_max_age_seconds, cookie_refresh, uses_non_cookie_access, "
                    "privacy_url, legitimate_interest_url, device_storage_disclosure_url, deleted_date "
                    "FROM vendors WHERE vendor_id = 1") == [
        ("[1, 2, 3, 4]", "[7, 9, 10]", "[2, 7]", "[1, 2]", "[1, 2]", "[1]", 1, 7776000, 1, 0,
         "https://adtech.example/privacy", "https://adtech.example/li", f"{base}/disclosures/adtech-one.json", None)]
    assert rows(db, "SELECT vendor_id, identifier, type, max_age_seconds, cookie_refresh, domain, purposes "
                    "FROM vendor_disclosures ORDER BY id") == [
        (1, "uuid2", "cookie", 7776000, 1, "*.adnxs.com", "[1, 3, 4]"),
        (1, "anj", "cookie", 7776000, 1, "adnxs.com", "[1, 3]"),
        (1, "anj", "cookie", 7776000, 1, "adnxs-simple.com", "[1, 3]"),
        (1, "adtech_*", "web", None, None, "*", "[1]"),
        (1, "com.adtechone.sdk.id", "app", None, None, None, "[1, 3]"),
        (2, "cto_bundle", "cookie", 33696000, 1, ".criteo.com", "[1, 2, 3, 4]"),
        (8, "d8", "web", None, None, "deleted-eight.example", "[1]"),
    ]
    # the run is a crawls row of kind "vendors", the list as fetched an evidence file
    assert rows(db, "SELECT kind, status FROM crawls") == [("vendors", "finished")]
    evidence = rows(db, "SELECT path, sha256, documents, media_type FROM evidence_files")
    assert evidence == [(f"vendor-lists/{sha150}.json", sha150, "registry", "application/json")]
    assert (Path(f"{db}.evidence") / evidence[0][0]).read_bytes() == lab.served("vendor-list-v150.json")

    # the next version: a disclosure changed, a vendor left, one was deleted, three appeared (each failing)
    lab.routes["/disclosures/bidder-two.json"] = read("bidder-two-b.json")
    second = fetch(db, "--source", f"{base}/lists/vendor-list-v151.json", "--timeout", "3")
    assert second.stdout.splitlines() == [
        f"GVL version 151: 8 vendors from {base}/lists/vendor-list-v151.json",
        "  disclosures: 2 ok, 5 failed, 1 not fetched; 7 items",
        "  since version 150: 3 appeared, 2 left, 2 changed",
    ]
    assert rows(db, "SELECT version, vendors, disclosures_fetched, disclosures_failed, previous_version, appeared, "
                    "left, changed FROM vendor_lists ORDER BY id") == [
        (150, 6, 4, 2, None, "[]", "[]", "{}"),
        (151, 8, 2, 5, 150, "[12, 13, 14]", "[5, 8]",
         '{"1": ["purposes", "leg_int_purposes"], "2": ["disclosure"]}')]
    statuses = dict(rows(db, "SELECT vendor_id, disclosure_status FROM vendors WHERE vendor_list_id = 2"))
    assert {k: v for k, v in statuses.items() if k != 13} == {
        1: "ok", 2: "ok", 8: "not-fetched",
        10: "failed: not a Device Storage Disclosure: disclosures[0].identifier: expected a string, got int",
        11: f"failed: {base}/disclosures/missing.json: HTTP 404 Not Found",
        12: "failed: not http",
        14: f"failed: {base}/disclosures/oversize.json: larger than 1048576 bytes",
    }
    assert statuses[13] == f"failed: {base}/disclosures/slow.json: timed out"
    assert rows(db, "SELECT identifier, max_age_seconds, domain FROM vendor_disclosures WHERE vendor_list_id = 2 "
                    "AND vendor_id = 2 ORDER BY id") == [("cto_bundle", 34190000, ".criteo.com"),
                                                          ("uid", 0, "criteo.com")]

    # the same version and bytes again: nothing new stored, and it says so
    before = rows(db, "SELECT (SELECT count(*) FROM vendor_lists), (SELECT count(*) FROM vendors), "
                      "(SELECT count(*) FROM vendor_disclosures), (SELECT count(*) FROM evidence_files)")
    again = fetch(db, "--source", f"{base}/lists/vendor-list-v151.json", "--no-disclosures")
    sha151 = hashlib.sha256(lab.served("vendor-list-v151.json")).hexdigest()
    assert again.stdout.splitlines() == [
        f"GVL version 151: 8 vendors from {base}/lists/vendor-list-v151.json",
        f"  already recorded (vendor_lists 2, sha256 {sha151[:12]}): nothing new stored"]
    assert rows(db, "SELECT (SELECT count(*) FROM vendor_lists), (SELECT count(*) FROM vendors), "
                    "(SELECT count(*) FROM vendor_disclosures), (SELECT count(*) FROM evidence_files)") == before
    assert rows(db, "SELECT kind, status FROM crawls ORDER BY id") == [("vendors", "finished")] * 3

    # read back: the newest version by default, an older one by id
    with Store(db, readonly=True) as store:
        declared = load_declared(store.conn)
        older = load_declared(store.conn, 1)
    assert (declared.vendor_list_id, declared.version, sorted(declared.vendors)) == (2, 151, [1, 2, 8, 10, 11, 12, 13, 14])
    assert declared.vendor(1).leg_int_purposes == (9, 10) and declared.vendor(99) is None
    assert declared.disclosure(2).declared_cookie("uid", "www.criteo.com").max_age_seconds == 0
    assert older.disclosure(2).declared_cookie("uid", "www.criteo.com") is None
    assert declared.disclosure(10) is None and declared.disclosure(8) is None
    assert declared.disclosure(1).declared_storage("adtech_seg", "https://news.example/").identifier == "adtech_*"
    assert declared.vendors_for_host("ib.adnxs.com") == [1]
    assert declared.vendors_for_host("static.criteo.net") == [2]
    assert declared.vendors_for_host("news.example") == []
    assert older.vendors_for_host("deleted-eight.example") == [8]
    assert declared.entities == {1: "Microsoft", 2: "Criteo"}


def test_vendors_fetch_errors_are_one_line(lab, tmp_path, shipped_lists_only):
    db = tmp_path / "gvl.db"
    runner = CliRunner()
    result = runner.invoke(cli, ["vendors", "fetch", "--db", str(db), "--source", f"{lab.base}/lists/none.json"])
    assert str(result.exception) == \
        f"cannot fetch the Global Vendor List: {lab.base}/lists/none.json: HTTP 404 Not Found"
    (tmp_path / "page.json").write_text("<html>")
    result = runner.invoke(cli, ["vendors", "fetch", "--db", str(db), "--source", str(tmp_path / "page.json")])
    assert str(result.exception) == "not a Global Vendor List: not JSON (Expecting value: line 1 column 1 (char 0))"
    result = runner.invoke(cli, ["vendors", "fetch", "--db", str(db), "--version", "3", "--source", "x.json"])
    assert str(result.exception) == "give --version or --source, not both"
    assert rows(db, "SELECT kind, status FROM crawls ORDER BY id") == [("vendors", "failed")] * 2
    assert rows(db, "SELECT component, kind FROM failures") == [("vendors", "run-error")] * 2
    assert rows(db, "SELECT count(*) FROM vendor_lists") == [(0,)]


def test_vendors_show_and_the_api(lab, tmp_path, shipped_lists_only):
    from mouchard import api

    db = tmp_path / "gvl.db"
    summary = api.fetch_vendors(str(db), source=f"{lab.base}/lists/vendor-list-v150.json", disclosures=False)
    assert (summary["version"], summary["vendors"], summary["disclosures_ok"], summary["disclosures_not_fetched"]) == \
        (150, 6, 0, 6)
    result = CliRunner().invoke(cli, ["vendors", "show", "--db", str(db), "--json", "2", "11"])
    assert [json.loads(line) for line in result.stdout.splitlines()] == [
        {"vendor_id": 2, "name": "Bidder Two", "purposes": "[1, 3, 4]", "leg_int_purposes": "[2, 7]",
         "special_features": "[]", "cookie_max_age_seconds": 33696000, "disclosure_status": "not-fetched",
         "deleted_date": None, "tracker_entity": None},
        {"vendor_id": 11, "name": "Missing Eleven", "purposes": "[1]", "leg_int_purposes": "[]",
         "special_features": "[]", "cookie_max_age_seconds": None, "disclosure_status": "not-fetched",
         "deleted_date": None, "tracker_entity": None}]


def test_load_declared_on_an_empty_database_and_its_query_plans(tmp_path):
    with Store(tmp_path / "empty.db") as store:
        assert load_declared(store.conn) is None
        plans = [" ".join(str(r[-1]) for r in store.conn.execute("EXPLAIN QUERY PLAN " + sql, (1, 10)))
                 for sql in ("SELECT vendor_id FROM vendors WHERE vendor_list_id = ? LIMIT ?",
                             "SELECT vendor_id FROM vendor_disclosures WHERE vendor_list_id = ? ORDER BY id LIMIT ?")]
    assert plans == [
        "SEARCH vendors USING COVERING INDEX uniq_vendors_vendor_list_id_vendor_id (vendor_list_id=?)",
        "SEARCH vendor_disclosures USING INDEX idx_vendor_disclosures_vendor_list_id (vendor_list_id=?)"]
