"""Publishing archives: `redact_warc` gives a WARC's copy with the database's redaction (no planted device value,
e-mail or cookie left in any encoding the scrubber knows, POST and binary bodies dropped, the page kept), which
`warcio check` passes; `publish --warc` copies only such copies, and without --warc no WARC is ever copied; a copy
the final scan refuses stops the publication; hostile WARC-shaped input never crashes the redaction."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import random
import sqlite3
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner
from data.app_corpus.generate import ENCODINGS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from warcio.archiveiterator import ArchiveIterator

from demoweb import DATA as SAMPLES
from mouchard.publishing import warc as redact_module
from mouchard.archive.records import Exchange, VisitArchive
from mouchard.publishing.warc import RedactedWarc, redact_warc
from mouchard.archive.warc import warc_name, write_visit_warc
from mouchard.cli import cli
from mouchard.errors import UserError
from mouchard.identify.identifiers import normal_forms
from mouchard.identify.profile import load_profile
from mouchard.publishing.publish import EVIDENCE_DIR, PublishOptions, publish
from mouchard.publishing.scrub import Scrubber
from mouchard.storage.store import Store, evidence_dir

PROFILES = (SAMPLES / "profiles" / "android.yml", SAMPLES / "profiles" / "ios.yml")
IOS, ANDROID = load_profile(PROFILES[1]), load_profile(PROFILES[0])
IDFA = IOS.value("advertising_id")
GAID = ANDROID.value("advertising_id")
EMAIL = IOS.value("email")
SCRUBBER = Scrubber([ANDROID, IOS])
CAPTURED = "2026-12-07T10:00:00Z"
PAGE = "https://www.shop.example/"
PAGE_HTML = (b"<!doctype html><html><head><script src=\"/app.js\"></script></head><body><h1>Bonjour</h1>"
             b"<p>Livraison offerte.</p></body></html>")


def planted_visit() -> VisitArchive:
    """A visit whose traffic carries the test phones' identifiers and e-mail everywhere a WARC can: a URL, a Cookie,
    a Set-Cookie, a plain header, a JSON body, a base64 POST body, an image's bytes."""
    def ex(url: str, **kw) -> Exchange:
        return Exchange(url=url, captured_at=CAPTURED, status_text="OK", **kw)

    return VisitArchive(
        crawl_id=1, visit_key="publish-visit", url=PAGE, site="shop.example", phase="initial", started_at=CAPTURED,
        extra={"note": f"contact {EMAIL}"},
        exchanges=(
            ex(PAGE, status=200, request_headers=(("Cookie", f"uid={GAID}; lang=fr"),),
               response_headers=(("Content-Type", "text/html; charset=utf-8"),
                                 ("Set-Cookie", f"_id={IDFA}; Max-Age=31536000")), body=PAGE_HTML),
            ex(f"https://ads.example/pixel?idfa={IDFA}&email={EMAIL}", status=200,
               request_headers=(("Referer", PAGE), ("X-Device", GAID.upper())),
               response_headers=(("Content-Type", "image/gif"),), body=b"GIF89a" + IDFA.encode()),
            ex("https://api.shop.example/me", status=200, response_headers=(("Content-Type", "application/json"),),
               body=json.dumps({"user": {"email": EMAIL, "device": {"ifa": IDFA}}, "cart": 2}).encode()),
            ex("https://t.example/collect", method="POST", status=204,
               request_headers=(("Content-Type", "text/plain"),), request_body=base64.b64encode(IDFA.encode())),
        ))


def wires() -> list[str]:
    """Every planted value in every normal form and every encoding of the app corpus generator (8+ characters)."""
    rng = random.Random(19)
    out = set()
    for kind, value in (("advertising_id", IDFA), ("advertising_id", GAID), ("email", EMAIL)):
        for _, form in normal_forms(kind, value):
            for encode in ENCODINGS.values():
                out.add(encode(form, rng))
    return sorted(w for w in out if len(w) >= 8)


def members(data: bytes) -> bytes:
    """Every gzip member of a .warc.gz, decompressed and concatenated."""
    out = []
    while data:
        inflater = zlib.decompressobj(31)
        out.append(inflater.decompress(data))
        data = inflater.unused_data
    return b"".join(out)


def left_in(data: bytes) -> list[str]:
    text = members(data).decode("latin-1").lower()
    return [w for w in wires() if w.lower() in text or json.dumps(w)[1:-1].lower() in text]


def records(path: Path) -> list[tuple[str, str | None, dict, bytes]]:
    """(type, target URI, HTTP headers lower-cased, payload) of each record, read by warcio's own reader."""
    out = []
    with open(path, "rb") as fh:
        for record in ArchiveIterator(fh):
            headers = {k.lower(): v for k, v in record.http_headers.headers} if record.http_headers else {}
            out.append((record.rec_type, record.rec_headers.get_header("WARC-Target-URI"), headers,
                        record.content_stream().read()))
    return out


@pytest.fixture(scope="module")
def redacted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("redact")
    source = write_visit_warc(folder / "visit.warc.gz", planted_visit())
    return Path(source.path), redact_warc(source.path, folder / "public.warc.gz", SCRUBBER)


def test_planted_values_are_in_the_source(redacted):
    source, _ = redacted
    assert {IDFA.lower(), GAID.lower(), EMAIL.lower(), base64.b64encode(IDFA.encode()).decode().lower()} <= {
        w.lower() for w in left_in(source.read_bytes())}


def test_redacted_copy_holds_no_planted_value_in_any_encoding(redacted):
    _, written = redacted
    assert left_in(Path(written.path).read_bytes()) == []


def test_redacted_copy_keeps_the_page_and_counts_what_it_did(redacted):
    _, written = redacted
    # warcinfo, visit metadata, 4 requests, 4 responses.
    assert (written.records, written.bodies_kept, written.bodies_dropped, written.records_failed) == (10, 4, 2, 0)
    # Cookie, Set-Cookie (secret); the pixel's URL in WARC-Target-URI (request and response), its request target,
    # X-Device; the visit metadata's... nothing else: the metadata's URL and note are in its (kept, scrubbed) body.
    assert written.headers_redacted == 6
    got = records(Path(written.path))
    assert [r[0] for r in got] == ["warcinfo", "metadata"] + ["request", "response"] * 4
    page = got[3]
    assert (page[1], page[2]["content-type"], page[2]["set-cookie"], page[3]) == (
        PAGE, "text/html; charset=utf-8", "[redacted]", PAGE_HTML)
    assert got[2][2]["cookie"] == "[redacted]"
    pixel_request, pixel = got[4], got[5]
    assert pixel[1] == "https://ads.example/pixel?idfa=[IDFA]&email=[EMAIL]"
    assert (pixel_request[2]["x-device"], pixel[3], pixel[2]["content-length"]) == ("[GAID]", b"", "0")
    assert json.loads(got[7][3]) == {"user": {"email": "[EMAIL]", "device": {"ifa": "[IFA]"}}, "cart": 2}
    post = got[8]
    assert (post[0], post[3]) == ("request", b"")
    metadata = json.loads(got[1][3])
    assert (metadata["url"], metadata["extra"]) == (PAGE, {"note": "contact [EMAIL]"})


def test_dropped_bodies_are_marked_truncated(redacted):
    _, written = redacted
    with open(written.path, "rb") as fh:
        marks = [(r.rec_type, r.rec_headers.get_header("WARC-Target-URI"), r.rec_headers.get_header("WARC-Truncated"))
                 for r in ArchiveIterator(fh)]
    assert [m for m in marks if m[2]] == [("response", "https://ads.example/pixel?idfa=[IDFA]&email=[EMAIL]",
                                           "unspecified"), ("request", "https://t.example/collect", "unspecified")]


def test_warcio_check_passes_on_the_redacted_copy(redacted):
    _, written = redacted
    run = subprocess.run([sys.executable, "-m", "warcio.cli", "check", "-v", written.path], capture_output=True,
                         text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.count("digest pass") == 10 and "fail" not in run.stdout


def test_final_scan_refuses_a_copy_that_still_holds_a_value(tmp_path, monkeypatch, redacted):
    source, _ = redacted
    monkeypatch.setattr(redact_module, "_clean_text", lambda scrubber, body: (body, True))  # a redaction gone wrong
    target = tmp_path / "public.warc.gz"
    with pytest.raises(UserError, match=r"final scan still finds record 2: \[EMAIL\]"):
        redact_warc(source, target, SCRUBBER)
    assert list(tmp_path.iterdir()) == []


def test_budgets_refuse_the_file(tmp_path, monkeypatch, redacted):
    source, _ = redacted
    monkeypatch.setattr(redact_module, "RECORDS_MAX", 3)
    with pytest.raises(UserError, match="more than 3 records"):
        redact_warc(source, tmp_path / "a.warc.gz", SCRUBBER)
    monkeypatch.setattr(redact_module, "RECORDS_MAX", 100)
    monkeypatch.setattr(redact_module, "RECORD_MAX", 100)
    with pytest.raises(UserError, match="record larger than 100 bytes"):
        redact_warc(source, tmp_path / "a.warc.gz", SCRUBBER)
    assert list(tmp_path.iterdir()) == []


def test_not_a_warc_is_refused_in_one_line(tmp_path):
    bad = tmp_path / "bad.warc.gz"
    bad.write_bytes(gzip.compress(b"GET / HTTP/1.1\r\n\r\n"))
    with pytest.raises(UserError, match=r"^bad.warc.gz is not a readable WARC file \(\w+\): not redacted"):
        redact_warc(bad, tmp_path / "out.warc.gz", SCRUBBER)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.warc.gz"]


# -- publish --warc -----------------------------------------------------------------------------------------------

@pytest.fixture
def crawl_db(tmp_path) -> tuple[Path, str]:
    """A mouchard database with one visit's WARC registered in evidence_files, as the crawler registers it."""
    db = tmp_path / "crawl.db"
    with Store(db):
        pass
    relative = f"crawl-1/{warc_name('publish-visit')}"
    written = write_visit_warc(evidence_dir(db) / relative, planted_visit())
    conn = sqlite3.connect(db)
    conn.execute("INSERT INTO evidence_files (path, sha256, size, media_type, documents, created_at) "
                 "VALUES (?, ?, ?, 'application/warc', 'warc', ?)", (relative, written.sha256, written.size, CAPTURED))
    conn.commit()
    conn.close()
    return db, relative


def published_files(out: Path) -> list[str]:
    return sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())


def test_publish_without_warc_copies_no_warc(crawl_db, tmp_path):
    db, _ = crawl_db
    out = tmp_path / "site"
    result = CliRunner().invoke(cli, ["publish", "--db", str(db), "--out", str(out),
                                      "--profile", str(PROFILES[0]), "--profile", str(PROFILES[1])])
    assert result.exit_code == 0, result.output
    assert not [f for f in published_files(out) if "warc" in f]
    report = json.loads((out / "redaction.json").read_text())
    assert report["warc"] == "not published (publish --warc publishes them redacted)"


def test_publish_with_warc_copies_the_redacted_copy(crawl_db, tmp_path):
    db, relative = crawl_db
    out = tmp_path / "site"
    result = CliRunner().invoke(cli, ["publish", "--db", str(db), "--out", str(out), "--warc",
                                      "--profile", str(PROFILES[0]), "--profile", str(PROFILES[1])])
    assert result.exit_code == 0, result.output
    assert "       1  WARC files redacted and copied" in result.output
    copy = out / EVIDENCE_DIR / relative
    assert [f for f in published_files(out) if "warc" in f] == [f"{EVIDENCE_DIR}/{relative}"]
    assert left_in(copy.read_bytes()) == []
    assert records(copy)[3][3] == PAGE_HTML
    entry = json.loads((out / "redaction.json").read_text())["warc"]
    original = (evidence_dir(db) / relative).read_bytes()
    assert entry == [{"path": relative, "source_sha256": hashlib.sha256(original).hexdigest(),
                      "sha256": hashlib.sha256(copy.read_bytes()).hexdigest(), "size": copy.stat().st_size,
                      "records": 10, "bodies_kept": 4, "bodies_dropped": 2, "headers_redacted": 6,
                      "records_failed": 0}]
    assert f"--static {EVIDENCE_DIR}:{EVIDENCE_DIR}" in (out / "publish.sh").read_text()


def test_publish_warc_skips_a_file_whose_hash_differs(crawl_db, tmp_path):
    db, relative = crawl_db
    conn = sqlite3.connect(db)
    conn.execute("UPDATE evidence_files SET sha256 = ?", ("0" * 64,))
    conn.commit()
    conn.close()
    out = tmp_path / "site"
    result = publish(PublishOptions(db, out, profiles=PROFILES, warc=True))
    assert result.warc_files == [{"path": relative, "skipped": "hash differs from evidence_files.sha256"}]
    assert not [f for f in published_files(out) if "warc" in f]


def test_publish_warc_writes_nothing_when_a_copy_is_refused(crawl_db, tmp_path, monkeypatch):
    db, _ = crawl_db
    monkeypatch.setattr(redact_module, "_clean_text", lambda scrubber, body: (body, True))
    out = tmp_path / "site"
    with pytest.raises(UserError, match="final scan still finds .*; nothing was published"):
        publish(PublishOptions(db, out, profiles=PROFILES, warc=True))
    assert published_files(out) == []


def test_publish_warc_needs_redaction(crawl_db, tmp_path):
    db, _ = crawl_db
    with pytest.raises(UserError, match="--warc publishes archives only redacted"):
        publish(PublishOptions(db, tmp_path / "site", redact=False, warc=True))


# -- hostile input ------------------------------------------------------------------------------------------------

TYPES = ["warcinfo", "response", "request", "metadata", "resource", "revisit", "conversion", "continuation", "odd"]
_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=40)
_header = st.tuples(st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,15}", fullmatch=True), _text)
_body = st.one_of(st.binary(max_size=200), _text.map(lambda t: t.encode()),
                  st.sampled_from([IDFA.encode(), json.dumps({"ifa": IDFA, "email": EMAIL}).encode(),
                                   b"<html>" + EMAIL.encode() + b"</html>"]))
_http = st.tuples(st.sampled_from(["HTTP/1.1 200 OK", "HTTP/1.1 302 Found", "GET /x?u=" + IDFA + " HTTP/1.1",
                                   "POST / HTTP/1.1", "garbage", ""]),
                  st.lists(st.one_of(_header, st.just(("Cookie", IDFA)), st.just(("Content-Type", "text/html")),
                                     st.just(("Content-Type", "application/json"))), max_size=5),
                  _body)
_record = st.tuples(st.sampled_from(TYPES),
                    st.sampled_from(["https://a.example/", f"http://b.example/?id={IDFA}", "urn:x:1", "", "dns:a"]),
                    st.lists(_header, max_size=3), st.booleans(), _http, st.booleans())


def warc_bytes(spec: list, compress: bool, cut: int | None) -> bytes:
    """WARC-shaped bytes from hypothesis' records, written by hand (so digests, lengths and fields may be wrong)."""
    out = io.BytesIO()
    for rec_type, uri, extra, as_http, (first, headers, body), wrong_length in spec:
        block = (first + "\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n").encode() + body \
            if as_http else body
        lines = ["WARC/1.1", f"WARC-Type: {rec_type}", "WARC-Record-ID: <urn:uuid:1>",
                 "WARC-Date: 2026-12-07T10:00:00Z", *(f"WARC-Target-URI: {uri}" for _ in [0] if uri),
                 *(f"{k}: {v}" for k, v in extra),
                 f"Content-Length: {len(block) + (7 if wrong_length else 0)}"]
        data = ("\r\n".join(lines) + "\r\n\r\n").encode() + block + b"\r\n\r\n"
        out.write(gzip.compress(data, mtime=0) if compress else data)
    data = out.getvalue()
    return data[:cut] if cut is not None else data


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                    HealthCheck.too_slow])
@given(st.lists(_record, min_size=1, max_size=5), st.booleans(), st.one_of(st.none(), st.integers(0, 2000)))
def test_hostile_warc_shaped_input_is_refused_or_redacted(tmp_path_factory, spec, compress, cut):
    folder = tmp_path_factory.mktemp("hostile")
    source = folder / "in.warc.gz"
    source.write_bytes(warc_bytes(spec, compress, cut))
    target = folder / "out.warc.gz"
    try:
        written = redact_warc(source, target, SCRUBBER)
    except UserError as exc:
        assert "\n" not in str(exc)
        assert sorted(p.name for p in folder.iterdir()) == ["in.warc.gz"]
        return
    assert isinstance(written, RedactedWarc)
    with open(target, "rb") as fh:
        iterator = ArchiveIterator(fh, check_digests=True)
        read = 0
        for record in iterator:
            record.content_stream().read()
            read += 1
    assert read == written.records
    assert left_in(target.read_bytes()) == []
