"""A visit's WARC as written by mouchard.archive.warc, read back by warcio's own reader and command line."""

from __future__ import annotations

import gzip
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from warcio.archiveiterator import ArchiveIterator

from mouchard import __version__
from mouchard.archive import records, warc
from mouchard.archive.index import check_warc
from mouchard.archive.records import Exchange, VisitArchive
from mouchard.archive.warc import warc_name, write_visit_warc

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40
STARTED = "2026-05-04T10:00:00+00:00"


def visit(tmp_path: Path, exchanges: tuple[Exchange, ...], screenshot: bool = True) -> VisitArchive:
    shot = tmp_path / "shot.png"
    shot.write_bytes(PNG)
    return VisitArchive(crawl_id=7, visit_key="7|reject|https://shop.test/", url="https://shop.test/",
                        site="shop.test", phase="reject", started_at=STARTED, exchanges=exchanges,
                        screenshot=str(shot) if screenshot else None, extra={"status": "ok"})


FOUR = (
    Exchange(url="https://shop.test/", request_headers=(("Accept", "text/html"),), status=200, status_text="OK",
             response_headers=(("Content-Type", "text/html"), ("Set-Cookie", "uid=abc; Max-Age=3600"),
                               ("Content-Encoding", "gzip"), ("Content-Length", "99")),
             body=b"<html>shop</html>", remote_ip="127.0.0.1", captured_at="2026-05-04T10:00:01Z"),
    Exchange(url="https://shop.test/api/cart", method="POST",
             request_headers=((":method", "POST"), (":authority", "shop.test"), ("Content-Type", "application/json")),
             request_body=b'{"item": 1}', status=201, status_text="Created", http_version="h2",
             response_headers=(("Content-Type", "application/json"),), body=b'{"ok": true}',
             captured_at="2026-05-04T12:00:02+02:00"),
    Exchange(url="http://shop.test/old", status=302, status_text="Found",
             response_headers=(("Location", "https://shop.test/new"),), body=None, captured_at="not a date"),
    Exchange(url="https://shop.test/new", status=200, status_text="OK",
             response_headers=(("Content-Type", "text/plain"),), body=b"new", captured_at="2026-05-04T10:00:03Z"),
    Exchange(url="https://tracker.test/px.gif", error="net::ERR_NAME_NOT_RESOLVED",
             captured_at="2026-05-04T10:00:04Z"),
)


def read_back(path: str) -> list:
    """(type, target URI, WARC headers, HTTP headers, payload) per record, with warcio's own iterator."""
    out = []
    with open(path, "rb") as handle:
        for record in ArchiveIterator(handle):
            out.append((record.rec_type, record.rec_headers.get_header("WARC-Target-URI"), record.rec_headers,
                        record.http_headers, record.content_stream().read()))
    return out


def test_warc_name_is_a_hash_of_the_visit_key():
    assert warc_name("../../etc/passwd") == hashlib.sha256(b"../../etc/passwd").hexdigest()[:32] + ".warc.gz"


def test_round_trip_read_by_warcio(tmp_path):
    archive = visit(tmp_path, FOUR)
    written = write_visit_warc(tmp_path / "out" / "crawl-7" / "a.warc.gz", archive)
    data = (tmp_path / "out" / "crawl-7" / "a.warc.gz").read_bytes()
    assert written.sha256 == hashlib.sha256(data).hexdigest() and written.size == len(data)
    assert (written.records, written.exchanges, written.truncated) == (13, 5, 0)
    got = read_back(written.path)
    assert [(kind, uri) for kind, uri, *_ in got] == [
        ("warcinfo", None), ("metadata", "urn:pageinfo:https://shop.test/"),
        ("request", "https://shop.test/"), ("response", "https://shop.test/"),
        ("request", "https://shop.test/api/cart"), ("response", "https://shop.test/api/cart"),
        ("request", "http://shop.test/old"), ("response", "http://shop.test/old"),
        ("request", "https://shop.test/new"), ("response", "https://shop.test/new"),
        ("request", "https://tracker.test/px.gif"), ("metadata", "urn:mouchard:request-failed:https://tracker.test/px.gif"),
        ("resource", "urn:mouchard:screenshot:" + hashlib.sha256(archive.visit_key.encode()).hexdigest()),
    ]
    info = got[0][4].decode()
    assert f"software: mouchard {__version__}\r\n" in info and "isPartOf: 7\r\n" in info
    assert "format: WARC File Format 1.1\r\n" in info and "conformsTo: " in info
    meta = json.loads(got[1][4])
    assert meta == {"record": "visit", "crawl_id": 7, "visit_key": "7|reject|https://shop.test/",
                    "url": "https://shop.test/", "site": "shop.test", "phase": "reject", "started_at": STARTED,
                    "tool": "mouchard", "extra": {"status": "ok"}, "exchanges": 5, "screenshot": "archived"}
    assert got[1][2].get_header("Content-Type") == "application/json"
    # the page: decoded body, Content-Encoding kept aside, Content-Length the archived one, cookie kept
    _, _, rec, http, body = got[3]
    assert (http.protocol, http.statusline) == ("HTTP/1.1", "200 OK") and body == b"<html>shop</html>"
    assert http.headers == [("Content-Type", "text/html"), ("Set-Cookie", "uid=abc; Max-Age=3600"),
                            ("X-Archive-Orig-Content-Encoding", "gzip"), ("X-Archive-Orig-Content-Length", "99"),
                            ("Content-Length", "17")]
    assert rec.get_header("WARC-IP-Address") == "127.0.0.1"
    assert rec.get_header("WARC-Date") == "2026-05-04T10:00:01.000000Z"
    assert got[2][2].get_header("WARC-Concurrent-To") == rec.get_header("WARC-Record-ID")
    assert got[2][3].protocol == "GET" and got[2][3].statusline == "/ HTTP/1.1"
    # the POST: request body, h2 said in WARC-Protocol, date normalised to UTC
    assert (got[4][3].protocol, got[4][4]) == ("POST", b'{"item": 1}')
    assert got[4][3].headers == [("Host", "shop.test"), ("Content-Type", "application/json")]  # h2 pseudo-headers
    assert (got[5][3].statusline, got[5][4]) == ("201 Created", b'{"ok": true}')
    assert got[5][2].get_header("WARC-Protocol") == "h2"
    assert got[5][2].get_header("WARC-Date") == "2026-05-04T10:00:02.000000Z"
    # the redirect hop (no body, an invalid date falls back to the visit's start) and its target
    assert (got[7][3].statusline, got[7][3].get_header("Location"), got[7][4]) == (
        "302 Found", "https://shop.test/new", b"")
    assert got[7][2].get_header("WARC-Date") == "2026-05-04T10:00:00.000000Z"
    assert (got[9][3].statusline, got[9][4]) == ("200 OK", b"new")
    # the failed request: its request record, then the error concurrent to it
    assert json.loads(got[11][4]) == {"record": "request-failed", "url": "https://tracker.test/px.gif",
                                      "method": "GET", "error": "net::ERR_NAME_NOT_RESOLVED"}
    assert got[11][2].get_header("WARC-Concurrent-To") == got[10][2].get_header("WARC-Record-ID")
    assert (got[12][4], got[12][2].get_header("Content-Type")) == (PNG, "image/png")
    assert check_warc(written.path) == []


def test_warcio_command_line_checks_and_indexes_it(tmp_path):
    written = write_visit_warc(tmp_path / "a.warc.gz", visit(tmp_path, FOUR))
    warcio = [sys.executable, "-m", "warcio.cli"]
    check = subprocess.run([*warcio, "check", written.path], capture_output=True, text=True, timeout=120, check=False)
    assert (check.returncode, check.stdout) == (0, "")
    index = subprocess.run([*warcio, "index", "-f", "warc-type,warc-target-uri,http:status", written.path],
                           capture_output=True, text=True, timeout=120, check=False)
    assert index.returncode == 0
    lines = [json.loads(line) for line in index.stdout.splitlines()]
    assert [(d["warc-type"], d.get("warc-target-uri"), d.get("http:status")) for d in lines] == [
        ("warcinfo", None, None), ("metadata", "urn:pageinfo:https://shop.test/", None),
        ("request", "https://shop.test/", None), ("response", "https://shop.test/", "200"),
        ("request", "https://shop.test/api/cart", None), ("response", "https://shop.test/api/cart", "201"),
        ("request", "http://shop.test/old", None), ("response", "http://shop.test/old", "302"),
        ("request", "https://shop.test/new", None), ("response", "https://shop.test/new", "200"),
        ("request", "https://tracker.test/px.gif", None),
        ("metadata", "urn:mouchard:request-failed:https://tracker.test/px.gif", None),
        ("resource", lines[12]["warc-target-uri"], None)]


def test_bodies_past_the_budgets_are_cut_and_marked(tmp_path, monkeypatch):
    monkeypatch.setattr(records, "BODY_MAX", 10)
    monkeypatch.setattr(records, "VISIT_MAX", 25)
    exchanges = tuple(Exchange(url=f"https://a.test/{n}", status=200, body=b"x" * size)
                      for n, size in enumerate((30, 5, 10, 4)))
    written = write_visit_warc(tmp_path / "a.warc.gz", visit(tmp_path, exchanges, screenshot=False))
    responses = [r for r in read_back(written.path) if r[0] == "response"]
    assert [(r[4], r[2].get_header("WARC-Truncated"), r[3].get_header("Content-Length")) for r in responses] == [
        (b"x" * 10, "length", "10"), (b"x" * 5, None, "5"), (b"x" * 10, None, "10"), (b"", "length", "0")]
    assert written.truncated == 2
    assert check_warc(written.path) == []


def test_a_body_missing_for_a_reason_is_marked_unspecified(tmp_path):
    exchange = Exchange(url="https://a.test/", status=200, body=None, truncated="unspecified")
    written = write_visit_warc(tmp_path / "a.warc.gz", visit(tmp_path, (exchange,), screenshot=False))
    response = next(r for r in read_back(written.path) if r[0] == "response")
    assert (response[2].get_header("WARC-Truncated"), response[4], written.truncated) == ("unspecified", b"", 1)


def test_header_injection_never_splits_a_line(tmp_path):
    exchange = Exchange(url="https://a.test/p a\r\nth?q=1\x00", status=200,
                        response_headers=(("X-A\r\nInjected", "one\r\nInjected: two\x00"), (" Lead", "\tv ")),
                        request_headers=(("Cookie", "a=1\nb=2"),), body=b"ok")
    written = write_visit_warc(tmp_path / "a.warc.gz", visit(tmp_path, (exchange,), screenshot=False))
    got = read_back(written.path)
    assert got[2][1] == got[3][1] == "https://a.test/p%20a%0D%0Ath?q=1%00"
    assert got[2][3].statusline == "/p%20a%0D%0Ath?q=1%00 HTTP/1.1"
    assert got[2][3].headers == [("Cookie", "a=1 b=2")]
    assert got[3][3].headers == [("X-A__Injected", "one  Injected: two"), ("_Lead", "v"), ("Content-Length", "2")]


def test_screenshot_symlink_is_not_followed(tmp_path):
    (tmp_path / "secret").write_bytes(b"secret")
    (tmp_path / "link.png").symlink_to(tmp_path / "secret")
    archive = VisitArchive(crawl_id=None, visit_key="k", url="https://a.test/", site="a.test", phase="accept",
                           started_at=STARTED, screenshot=str(tmp_path / "link.png"))
    written = write_visit_warc(tmp_path / "a.warc.gz", archive)
    got = read_back(written.path)
    assert [r[0] for r in got] == ["warcinfo", "metadata"]
    assert json.loads(got[1][4])["screenshot"].startswith("not archived: cannot open")
    assert "isPartOf" not in got[0][4].decode()


def test_rewriting_replaces_the_file_atomically(tmp_path):
    target = tmp_path / "a.warc.gz"
    target.write_bytes(b"old")
    write_visit_warc(target, visit(tmp_path, FOUR[:1], screenshot=False))
    assert target.read_bytes()[:2] == b"\x1f\x8b"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.warc.gz", "shot.png"]


def test_check_warc_reports_a_flipped_byte_in_a_body(tmp_path):
    written = write_visit_warc(tmp_path / "a.warc", visit(tmp_path, FOUR, screenshot=False))
    raw = gzip.decompress(Path(written.path).read_bytes())  # every member: the file uncompressed
    assert raw.count(b"<html>shop</html>") == 1
    flipped = tmp_path / "flipped.warc"
    flipped.write_bytes(raw.replace(b"<html>shop</html>", b"<html>shoq</html>"))
    problems = check_warc(flipped)
    assert [p.detail.split(":")[0] for p in problems] == ["record 4 (response)", "record 4 (response)"]
    assert "block digest failed" in problems[0].detail and "payload digest failed" in problems[1].detail
    assert check_warc(tmp_path / "missing.warc")[0].detail.startswith("refused")


header_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40) | st.text(max_size=40)
exchanges = st.builds(
    Exchange,
    url=st.one_of(st.text(max_size=60), st.from_regex(r"https?://[a-z.]{1,12}/[^#]{0,40}", fullmatch=True)),
    method=st.sampled_from(["GET", "POST", "get", "PUT X", ""]) | st.text(max_size=8),
    request_headers=st.lists(st.tuples(header_text, header_text), max_size=4).map(tuple),
    request_body=st.none() | st.binary(max_size=64),
    status=st.none() | st.integers(min_value=-5, max_value=1200),
    status_text=header_text,
    http_version=st.sampled_from(["HTTP/1.1", "HTTP/1.0", "h2", "http/2.0", ""]) | header_text,
    response_headers=st.lists(st.tuples(header_text, header_text), max_size=6).map(tuple),
    body=st.none() | st.binary(max_size=200),
    truncated=st.sampled_from([None, "length", "unspecified", "weird"]),
    remote_ip=st.sampled_from([None, "127.0.0.1", "::1", "[::1]", "nonsense\r\n"]),
    captured_at=st.sampled_from(["", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00", "garbage",
                                 "9999-12-31T23:59:59-14:00"]),
    error=st.none() | header_text,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(items=st.lists(exchanges, max_size=5), key=st.text(max_size=30), url=st.text(max_size=40),
       extra=st.dictionaries(st.text(max_size=5), st.text(max_size=10) | st.integers(), max_size=3))
def test_any_visit_is_written_as_a_file_warcio_reads_and_checks(tmp_path, items, key, url, extra):
    archive = VisitArchive(crawl_id=1, visit_key=key, url=url, site="s", phase="p", started_at="bad",
                           exchanges=tuple(items), extra=extra)
    written = write_visit_warc(tmp_path / "h.warc.gz", archive)
    got = read_back(written.path)
    assert len(got) == written.records
    http_items = [e for e in items if warc.is_http(warc.safe_url(e.url))]
    assert [kind for kind, *_ in got].count("request") == len(http_items)
    assert [kind for kind, *_ in got].count("response") == len([e for e in http_items if e.status is not None])
    responses = [r for r in got if r[0] == "response"]
    for record, item in zip(responses, [e for e in http_items if e.status is not None]):
        assert record[4] == (item.body or b"")[: records.BODY_MAX]
        assert record[3].get_header("Content-Length") == str(len(record[4]))
    assert json.loads(got[1][4])["visit_key"] == key
    assert check_warc(written.path) == []


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
