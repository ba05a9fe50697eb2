"""ArchiveIndex: archived responses by method and URL (exact, fuzzy, not archived), read from hostile WARC files."""

from __future__ import annotations

import gzip
import hashlib
import os
from io import BytesIO
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from mouchard.archive import index as index_module
from mouchard.archive import records
from mouchard.archive.index import ArchiveIndex, check_warc
from mouchard.archive.records import ArchivedVisit, Exchange, VisitArchive
from mouchard.archive.warc import warc_name, write_visit_warc


def page(url: str, body: bytes, when: str, **more) -> Exchange:
    return Exchange(url=url, status=200, status_text="OK", response_headers=(("Content-Type", "text/plain"),),
                    body=body, captured_at=when, **more)


def write(folder: Path, key: str, phase: str, site: str, exchanges: tuple[Exchange, ...], started: str) -> str:
    name = f"crawl-1/{warc_name(key)}"
    write_visit_warc(folder / name, VisitArchive(crawl_id=1, visit_key=key, url=f"https://{site}/", site=site,
                                                 phase=phase, started_at=started, exchanges=exchanges))
    return name


@pytest.fixture
def bundle(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    names = {
        "reject": write(tmp_path, "k-reject", "reject", "shop.test", (
            page("https://shop.test/", b"reject page", "2026-05-04T10:00:02Z"),
            page("https://cdn.test/lib.js", b"lib for shop", "2026-05-04T10:00:03Z"),
            page("https://cdn.test/app.js?v=1&cb=111", b"app v1", "2026-05-04T10:00:04Z"),
            page("https://cdn.test/app.js?v=2&cb=111", b"app v2", "2026-05-04T10:00:05Z"),
            Exchange(url="https://shop.test/api", method="POST", request_body=b"one", status=200,
                     body=b"answer one", captured_at="2026-05-04T10:00:06Z"),
            Exchange(url="https://shop.test/api", method="POST", request_body=b"two", status=200,
                     body=b"answer two", captured_at="2026-05-04T10:00:07Z"),
            Exchange(url="https://shop.test/gone", error="net::ERR_FAILED"),
        ), "2026-05-04T10:00:00Z"),
        "accept": write(tmp_path, "k-accept", "accept", "shop.test", (
            page("https://shop.test/", b"accept page", "2026-05-04T11:00:01Z"),
        ), "2026-05-04T11:00:00Z"),
        "news": write(tmp_path, "k-news", "reject", "news.test", (
            page("https://cdn.test/lib.js", b"lib for news", "2026-05-04T09:00:01Z"),
        ), "2026-05-04T09:00:00Z"),
    }
    return tmp_path, names


def body_of(found) -> tuple[bytes | None, str]:
    response, how = found
    return (None if response is None else response.body), how


def test_visits_are_read_from_the_metadata_records(bundle):
    folder, names = bundle
    index = ArchiveIndex.from_folder(folder)
    assert index.problems == ()
    assert sorted(index.visits, key=lambda v: v.visit_key) == [
        ArchivedVisit("k-accept", "https://shop.test/", "shop.test", "accept", "2026-05-04T11:00:00Z", 1,
                      names["accept"]),
        ArchivedVisit("k-news", "https://news.test/", "news.test", "reject", "2026-05-04T09:00:00Z", 1,
                      names["news"]),
        ArchivedVisit("k-reject", "https://shop.test/", "shop.test", "reject", "2026-05-04T10:00:00Z", 1,
                      names["reject"]),
    ]


def test_exact_lookup_prefers_the_phase_then_the_site_then_the_first_captured(bundle):
    index = ArchiveIndex.from_folder(bundle[0])
    assert body_of(index.lookup("GET", "https://shop.test/", phase="accept")) == (b"accept page", "exact")
    assert body_of(index.lookup("GET", "https://shop.test/", phase="reject")) == (b"reject page", "exact")
    assert body_of(index.lookup("GET", "https://shop.test/")) == (b"reject page", "exact")  # captured first
    assert body_of(index.lookup("GET", "https://cdn.test/lib.js", site="shop.test")) == (b"lib for shop", "exact")
    assert body_of(index.lookup("GET", "https://cdn.test/lib.js", phase="reject", site="news.test")) == (
        b"lib for news", "exact")
    assert body_of(index.lookup("GET", "https://cdn.test/lib.js")) == (b"lib for news", "exact")
    response, _ = index.lookup("get", "https://shop.test/", phase="accept")
    assert (response.status, response.status_text, response.visit_key, response.phase, response.site) == (
        200, "OK", "k-accept", "accept", "shop.test")
    assert response.headers == (("Content-Type", "text/plain"), ("Content-Length", "11"))
    assert (response.captured_at, response.truncated, response.method) == ("2026-05-04T11:00:01.000000Z", None,
                                                                           "GET")


def test_post_prefers_the_same_body(bundle):
    index = ArchiveIndex.from_folder(bundle[0])
    assert body_of(index.lookup("POST", "https://shop.test/api", b"two")) == (b"answer two", "exact")
    assert body_of(index.lookup("POST", "https://shop.test/api", b"one")) == (b"answer one", "exact")
    assert body_of(index.lookup("POST", "https://shop.test/api", b"three")) == (b"answer one", "exact")
    response, _ = index.lookup("POST", "https://shop.test/api", b"two")
    assert response.request_body_sha256 == hashlib.sha256(b"two").hexdigest()
    assert body_of(index.lookup("POST", "https://shop.test/api?session=9", b"two")) == (b"answer two", "fuzzy")


def test_fuzzy_lookup_same_parameter_names_most_equal_values(bundle):
    index = ArchiveIndex.from_folder(bundle[0])
    assert body_of(index.lookup("GET", "https://cdn.test/app.js?v=2&cb=999")) == (b"app v2", "fuzzy")
    assert body_of(index.lookup("GET", "https://cdn.test/app.js?cb=5&v=1")) == (b"app v1", "fuzzy")
    assert body_of(index.lookup("GET", "https://cdn.test/app.js?v=2")) == (None, "not-archived")
    assert body_of(index.lookup("GET", "https://cdn.test/app.js?v=2&cb=1&x=1")) == (None, "not-archived")
    assert body_of(index.lookup("GET", "https://cdn.test/other.js?v=2&cb=1")) == (None, "not-archived")
    assert body_of(index.lookup("POST", "https://shop.test/")) == (None, "not-archived")
    assert body_of(index.lookup("GET", "https://shop.test/gone")) == (None, "not-archived")  # it failed
    assert body_of(index.lookup("GET", "http://[::1/broken")) == (None, "not-archived")


def test_a_big_body_is_read_back_from_disk(tmp_path, monkeypatch):
    monkeypatch.setattr(index_module, "INLINE_MAX", 100)
    big = os.urandom(5000)
    write(tmp_path, "k", "reject", "a.test", (page("https://a.test/big", big, "2026-05-04T10:00:01Z"),
                                              page("https://a.test/small", b"small", "2026-05-04T10:00:02Z")),
          "2026-05-04T10:00:00Z")
    index = ArchiveIndex.from_folder(tmp_path)
    assert [(e.url, e.body) for e in index._entries] == [("https://a.test/big", None),
                                                        ("https://a.test/small", b"small")]
    response, how = index.lookup("GET", "https://a.test/big")
    assert (response.body, response.headers[-1], how) == (big, ("Content-Length", "5000"), "exact")
    assert index.problems == ()


def test_memory_budget_leaves_later_responses_on_disk(tmp_path, monkeypatch):
    monkeypatch.setattr(index_module, "MEMORY_MAX", 220)  # each entry weighs 103: URL, headers, body
    write(tmp_path, "k", "reject", "a.test", tuple(page(f"https://a.test/{n}", bytes([65 + n]) * 50, "")
                                               for n in range(4)), "2026-05-04T10:00:00Z")
    index = ArchiveIndex.from_folder(tmp_path)
    assert [e.body is not None for e in index._entries] == [True, True, False, False]
    assert [index.lookup("GET", f"https://a.test/{n}")[0].body for n in range(4)] == [
        bytes([65 + n]) * 50 for n in range(4)]


def test_a_missing_folder_is_a_problem(tmp_path):
    index = ArchiveIndex.from_folder(tmp_path / "nowhere")
    assert (index.visits, [p.detail for p in index.problems]) == ((), ["folder cannot be read: No such file or directory"])


def test_a_file_changed_after_indexing_is_not_served(tmp_path, monkeypatch):
    monkeypatch.setattr(index_module, "INLINE_MAX", 1)
    name = write(tmp_path, "k", "reject", "a.test", (page("https://a.test/", b"page", "2026-05-04T10:00:01Z"),),
                 "2026-05-04T10:00:00Z")
    index = ArchiveIndex.from_folder(tmp_path)
    with open(tmp_path / name, "ab") as handle:
        handle.write(b"more")
    assert index.lookup("GET", "https://a.test/") == (None, "not-archived")
    assert [p.detail for p in index.problems] == ["changed since it was indexed: not served"]


def test_a_request_written_after_its_response_is_paired(tmp_path):
    """warcio's own writer (write_request_response_pair) puts the response first."""
    path = tmp_path / "pair.warc.gz"
    with open(path, "wb") as out:
        writer = WARCWriter(out, gzip=True)
        response = writer.create_warc_record(
            "https://a.test/form", "response", payload=BytesIO(b"thanks"), length=6,
            http_headers=StatusAndHeaders("200 OK", [("Content-Length", "6")], protocol="HTTP/1.1"))
        request = writer.create_warc_record(
            "https://a.test/form", "request", payload=BytesIO(b"name=x"), length=6,
            http_headers=StatusAndHeaders("/form HTTP/1.1", [], protocol="POST"))
        writer.write_request_response_pair(request, response)
    index = ArchiveIndex.from_files([path])
    response, how = index.lookup("POST", "https://a.test/form", b"name=x")
    assert (response.body, response.request_body_sha256, how) == (
        b"thanks", hashlib.sha256(b"name=x").hexdigest(), "exact")
    assert [p.detail for p in index.problems] == ["no visit metadata record: responses indexed without phase or site"]


# -- hostile files ---------------------------------------------------------------------------------------------------

def raw_record(headers: list[str], block: bytes) -> bytes:
    return ("WARC/1.1\r\n" + "".join(h + "\r\n" for h in headers) + "\r\n").encode() + block + b"\r\n\r\n"


def http_response(url: str, body: bytes, extra: str = "") -> bytes:
    block = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n{extra}\r\n".encode() + body
    return raw_record(["WARC-Type: response", f"WARC-Target-URI: {url}", "WARC-Date: 2026-01-01T00:00:00Z",
                       "WARC-Record-ID: <urn:uuid:1>", f"Content-Length: {len(block)}"], block)


def assert_one_line_problems(index: ArchiveIndex) -> None:
    for problem in index.problems:
        assert "\n" not in problem.detail and "\r" not in problem.detail
        assert 0 < len(problem.detail) <= index_module.DETAIL_MAX


def test_a_ten_gigabyte_content_length_is_a_problem_not_a_read(tmp_path):
    huge = raw_record(["WARC-Type: response", "WARC-Target-URI: https://a.test/huge",
                       "WARC-Record-ID: <urn:uuid:2>", "Content-Length: 10737418240"], b"HTTP/1.1 200 OK\r\n\r\nxx")
    (tmp_path / "huge.warc").write_bytes(huge)
    (tmp_path / "huge.warc.gz").write_bytes(gzip.compress(huge))
    index = ArchiveIndex.from_folder(tmp_path)
    assert [(p.path, p.detail) for p in index.problems] == [
        (name, f"record 1 (response): Content-Length 10737418240 not within {records.RECORD_MAX} bytes: skipped")
        for name in ("huge.warc", "huge.warc.gz")]
    assert index.lookup("GET", "https://a.test/huge") == (None, "not-archived")
    assert [p.detail for p in check_warc(tmp_path / "huge.warc")] == [
        "record 1 (response): Content-Length 10737418240 not within the budget: not checked"]


def test_control_characters_in_headers_stay_inside_their_record(tmp_path):
    good = http_response("https://a.test/ok", b"fine")
    odd = http_response("https://a.test/odd", b"odd", extra="X-Nul: a\x00b\r\nX-Cr: a\rb\r\n")
    (tmp_path / "odd.warc").write_bytes(odd + good)
    index = ArchiveIndex.from_folder(tmp_path)
    assert body_of(index.lookup("GET", "https://a.test/ok")) == (b"fine", "exact")
    response, _ = index.lookup("GET", "https://a.test/odd")
    assert response.body == b"odd" and ("X-Nul", "a\x00b") in response.headers
    assert [p.detail for p in index.problems] == ["no visit metadata record: responses indexed without phase or site"]


def test_a_cut_file_keeps_what_was_read_before_the_cut(tmp_path):
    name = write(tmp_path, "k", "reject", "a.test", (page("https://a.test/1", b"one", "2026-05-04T10:00:01Z"),
                                                     page("https://a.test/2", b"two" * 1000, "2026-05-04T10:00:02Z")),
                 "2026-05-04T10:00:00Z")
    whole = (tmp_path / name).read_bytes()
    (tmp_path / name).write_bytes(whole[:-30])  # inside the last response's gzip member
    index = ArchiveIndex.from_folder(tmp_path)
    assert body_of(index.lookup("GET", "https://a.test/1")) == (b"one", "exact")
    assert body_of(index.lookup("GET", "https://a.test/2")) == (None, "not-archived")
    assert index.problems[0].detail.startswith("record 6: response cut short")
    assert_one_line_problems(index)
    assert check_warc(tmp_path / name) != []


def test_symlinks_and_special_files_are_refused(tmp_path):
    write(tmp_path, "k", "reject", "a.test", (page("https://a.test/", b"page", "2026-05-04T10:00:01Z"),),
          "2026-05-04T10:00:00Z")
    outside = tmp_path.parent / f"{tmp_path.name}-outside.warc.gz"
    write_visit_warc(outside, VisitArchive(None, "x", "https://evil.test/", "evil.test", "reject", "",
                                           (page("https://evil.test/", b"evil", ""),)))
    (tmp_path / "link.warc.gz").symlink_to(outside)
    os.mkfifo(tmp_path / "fifo.warc")
    index = ArchiveIndex.from_folder(tmp_path)
    assert sorted((p.path, p.detail) for p in index.problems) == [
        ("fifo.warc", "refused: a FIFO"), ("link.warc.gz", "refused: a symlink")]
    assert index.lookup("GET", "https://evil.test/") == (None, "not-archived")
    assert [v.visit_key for v in index.visits] == ["k"]
    assert ArchiveIndex.from_files([tmp_path / "link.warc.gz"]).problems[0].detail.startswith("refused")
    assert check_warc(tmp_path / "link.warc.gz")[0].detail.startswith("refused")


def test_budgets_stop_the_reading_with_a_problem(tmp_path, monkeypatch):
    write(tmp_path, "k", "reject", "a.test", tuple(page(f"https://a.test/{n}", b"x" * 100, "") for n in range(5)),
          "2026-05-04T10:00:00Z")
    monkeypatch.setattr(records, "RECORDS_MAX", 4)
    index = ArchiveIndex.from_folder(tmp_path)
    assert [p.detail for p in index.problems] == ["more than 4 records: the rest is not read"]
    assert len(index._entries) == 1
    monkeypatch.setattr(records, "RECORDS_MAX", 50_000)
    monkeypatch.setattr(index_module, "INFLATED_MAX", 1000)
    index = ArchiveIndex.from_folder(tmp_path)
    assert [p.detail for p in index.problems] == ["stopped: more than 1000 bytes once decompressed"]
    monkeypatch.setattr(index_module, "INFLATED_MAX", 1 << 30)
    monkeypatch.setattr(records, "FILE_MAX", 100)
    assert [p.detail for p in ArchiveIndex.from_folder(tmp_path).problems] == ["larger than 100 bytes: not read"]


def test_an_endless_header_line_is_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(index_module, "HEADER_BLOCK_MAX", 4096)
    (tmp_path / "long.warc").write_bytes(b"WARC/1.1\r\nWARC-Type: response\r\nX: " + b"a" * 100_000)
    index = ArchiveIndex.from_folder(tmp_path)
    assert [p.detail for p in index.problems] == ["stopped: header block larger than 4096 bytes"]
    assert [p.detail for p in check_warc(tmp_path / "long.warc")] == [
        "stopped after record 0: header block larger than 4096 bytes"]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(
    st.binary(max_size=2000),
    st.binary(max_size=200).map(lambda b: b"WARC/1.1\r\n" + b),
    st.binary(max_size=300).map(gzip.compress),
    st.tuples(st.binary(max_size=100), st.integers(min_value=0, max_value=10**12)).map(
        lambda t: raw_record(["WARC-Type: response", "WARC-Target-URI: http://a.test/",
                              f"Content-Length: {t[1]}"], b"HTTP/1.1 200 OK\r\n\r\n" + t[0])),
    st.tuples(st.binary(max_size=60), st.binary(max_size=60)).map(
        lambda t: http_response("https://a.test/" + t[0].hex(), t[1], extra="X: " + t[0].decode("latin-1")
                                .replace("\r", "\n") + "\r\n")),
))
def test_arbitrary_bytes_never_raise(tmp_path, data):
    for suffix in (".warc", ".warc.gz"):
        (tmp_path / f"x{suffix}").write_bytes(data)
    index = ArchiveIndex.from_folder(tmp_path)
    assert_one_line_problems(index)
    assert len(index.problems) <= 2 + 2 * 10
    index.lookup("GET", "https://a.test/")
    for suffix in (".warc", ".warc.gz"):
        for problem in check_warc(tmp_path / f"x{suffix}"):
            assert "\n" not in problem.detail and len(problem.detail) <= index_module.DETAIL_MAX


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(min_value=1, max_value=2000), flip=st.integers(min_value=0, max_value=2000))
def test_cut_or_flipped_files_never_raise(tmp_path, cut, flip):
    path = tmp_path / "v.warc.gz"
    if not path.exists():
        write_visit_warc(path, VisitArchive(1, "k", "https://a.test/", "a.test", "reject", "2026-05-04T10:00:00Z",
                                            (page("https://a.test/", b"hello" * 50, ""),)))
        (tmp_path / "whole").write_bytes(path.read_bytes())
    whole = bytearray((tmp_path / "whole").read_bytes())
    folder = tmp_path / "hostile"
    folder.mkdir(exist_ok=True)
    (folder / "cut.warc.gz").write_bytes(bytes(whole[: len(whole) - cut % len(whole)]))
    flipped = bytearray(whole)
    flipped[flip % len(whole)] ^= 0x01
    (folder / "flip.warc.gz").write_bytes(bytes(flipped))
    index = ArchiveIndex.from_folder(folder)
    assert_one_line_problems(index)
    response, _ = index.lookup("GET", "https://a.test/")
    assert response is None or response.body == b"hello" * 50
    with open(tmp_path / "whole", "rb") as handle:  # a cut between two records leaves a valid, shorter WARC
        iterator = ArchiveIterator(handle)
        boundaries = {iterator.get_record_offset() for _ in iterator} | {len(whole)}
    assert check_warc(folder / "cut.warc.gz") != [] or len(whole) - cut % len(whole) in boundaries
