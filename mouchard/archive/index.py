"""The archived responses of WARC files, by method and URL: what a replay serves (hostile input, read on budgets).

A WARC file is data from anywhere (a bundle someone sent): every file and record is read on budgets
(records.FILE_MAX bytes per file, RECORDS_MAX records, RECORD_MAX bytes per record body, INFLATED_MAX bytes
decompressed per file, LINE_MAX per header line, HEADER_BLOCK_MAX per header block), and whatever cannot be read
is one line in `problems`; the index is built from the rest and never raises for bad data. Files are opened without
following a symlink and only when they are regular files.

Memory: an entry keeps its URL, method, status, capture time and where its record is (file, offset). Headers and
bodies of small responses are kept in memory while the index holds less than MEMORY_MAX bytes of them; any other
response is read back from its file at lookup (one record, bounded). A 10k-visit bundle stays in bounded memory.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import zlib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from warcio.archiveiterator import ArchiveIterator
from warcio.bufferedreaders import DecompressingBufferedReader
from warcio.exceptions import ArchiveLoadFailed
from warcio.statusandheaders import StatusAndHeadersParserException

from mouchard.archive import records
from mouchard.archive.records import ArchivedResponse, ArchivedVisit, Headers
from mouchard.archive.warc import safe_url
from mouchard.paths import UnsafePath, walk_files

INFLATED_MAX = 1024 * 1024 * 1024  # bytes decompressed per file (a gzip bomb stops here)
LINE_MAX = 128 * 1024  # one header line (warcio reads lines whole otherwise)
HEADER_BLOCK_MAX = 4 * 1024 * 1024  # header lines read between two records' bodies
INLINE_MAX = 1024 * 1024  # a body larger than this stays on disk
MEMORY_MAX = 256 * 1024 * 1024  # bodies and headers kept in memory by one index
METADATA_MAX = 1024 * 1024  # a visit metadata record's JSON
PROBLEMS_MAX = 1000  # problems kept per index (the count of the others is the last one)
DETAIL_MAX = 300
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class WarcProblem:
    """A file or record that could not be read or does not check (digest mismatch...): one line."""

    path: str
    detail: str


class _Budget(Exception):
    """A budget of the reader ran out: the rest of the file is not read."""


class _Malformed(Exception):
    """The compressed stream is broken after a first good block."""


class _BoundedReader(DecompressingBufferedReader):
    """warcio's reader with budgets: decompressed bytes per file, header line length, header bytes between two
    reads of a body; a gzip error after the first block raises (warcio would print it and go on silently)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.inflated = 0
        self.line_bytes = 0
        self.unfinished = False  # the file ended inside a gzip member (its trailer and CRC never read)

    def _init_decomp(self, decomp_type) -> None:
        self.fed = False
        super()._init_decomp(decomp_type)

    def close_decompressor(self) -> None:
        if self.decompressor is not None and self.fed and not self.decompressor.eof:
            self.unfinished = True
        super().close_decompressor()

    def _process_read(self, data):
        super()._process_read(data)
        self.inflated += self.buff_size if data else 0
        if self.inflated > INFLATED_MAX:
            raise _Budget(f"more than {INFLATED_MAX} bytes once decompressed")

    def _decompress(self, data):
        if self.decompressor and data:
            self.fed = True
        if self.decompressor and data and self.num_block_read:
            try:
                return self.decompressor.decompress(data)
            except zlib.error as exc:  # a corrupt member
                raise _Malformed(f"corrupt gzip data ({str(exc)[:80]})") from None
        return super()._decompress(data)

    def readline(self, length=None):
        length = LINE_MAX if length is None else min(length, LINE_MAX)
        line = super().readline(length)
        self.line_bytes += len(line)
        if self.line_bytes > HEADER_BLOCK_MAX:
            raise _Budget(f"header block larger than {HEADER_BLOCK_MAX} bytes")
        return line


class _Iterator(ArchiveIterator):
    """ArchiveIterator over a `_BoundedReader`."""

    def __init__(self, fileobj, **kwargs) -> None:
        super().__init__(fileobj, **kwargs)
        self.reader = self.bounded = _BoundedReader(self.fh, block_size=self.reader.block_size)


def _open_regular(path: Path) -> tuple[object, os.stat_result]:
    """A regular file opened without following a symlink (the last component: the folder is the caller's)."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnsafePath("not a regular file")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb"), info
    except BaseException:
        os.close(fd)
        raise


def _one_line(text: object) -> str:
    line = " ".join(str(text).split())
    return line[:DETAIL_MAX]


def _read_bounded(stream, limit: int, sink=None) -> tuple[bytes, int, bool]:
    """(first `limit` bytes kept, total bytes read, stream longer than RECORD_MAX): reads at most RECORD_MAX + 1."""
    kept = bytearray()
    total = 0
    while total <= records.RECORD_MAX:
        chunk = stream.read(min(_CHUNK, records.RECORD_MAX + 1 - total))
        if not chunk:
            break
        total += len(chunk)
        if sink is not None:
            sink.update(chunk)
        if len(kept) < limit:
            kept += chunk[: limit - len(kept)]
    return bytes(kept), total, total > records.RECORD_MAX


@dataclass(slots=True)
class _Entry:
    """One archived response: where it is and what a lookup compares; headers/body when kept in memory."""

    url: str
    method: str
    status: int
    status_text: str
    captured_at: str
    truncated: str | None
    file: int  # index in ArchiveIndex._files
    offset: int
    order: int
    request_body_sha256: str | None = None
    headers: Headers | None = None
    body: bytes | None = None


@dataclass
class _File:
    path: Path
    name: str  # relative to the folder read
    device: int
    inode: int
    size: int
    visit: ArchivedVisit | None = None


@dataclass
class _Pending:
    """A request record waiting for its response (or the reverse), by record id."""

    method: str
    body_sha256: str | None
    url: str


def _date(text: str | None) -> str:
    return text if isinstance(text, str) else ""


def _visit_from(data: object, name: str) -> ArchivedVisit | None:
    if not isinstance(data, dict) or data.get("record", "visit") != "visit":
        return None
    fields = {key: data.get(key) for key in ("visit_key", "url", "site", "phase", "started_at")}
    if not all(isinstance(value, str) for value in fields.values()):
        return None
    crawl_id = data.get("crawl_id")
    if not (crawl_id is None or (isinstance(crawl_id, int) and not isinstance(crawl_id, bool))):
        crawl_id = None
    return ArchivedVisit(**fields, crawl_id=crawl_id, warc=name)  # type: ignore[arg-type]


def _query_names(query: str) -> tuple[str, ...]:
    return tuple(sorted({name for name, _ in parse_qsl(query, keep_blank_values=True)}))


def _fuzzy_key(method: str, url: str) -> tuple[tuple, tuple] | None:
    """((method, scheme, host, path, query names), (method, scheme, host, path)) of a URL, None if unparsable."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        return None
    where = (method.upper(), parts.scheme.lower(), host, port, parts.path)
    return where + (_query_names(parts.query),), where


def _declared_length(declared: str | None) -> int | None:
    """A record's declared Content-Length when it is a number within RECORD_MAX (and a header block); None
    otherwise: the record is then skipped, never read (a hostile file may declare gigabytes)."""
    try:
        length = int(declared) if declared is not None else -1
    except ValueError:
        return None
    return length if 0 <= length <= records.RECORD_MAX + HEADER_BLOCK_MAX else None


class ArchiveIndex:
    """Archived responses by (method, URL), with the visits (metadata records) they belong to."""

    visits: tuple[ArchivedVisit, ...]
    problems: tuple[WarcProblem, ...]

    def __init__(self) -> None:
        self._files: list[_File] = []
        self._entries: list[_Entry] = []
        self._exact: dict[tuple[str, str], list[int]] = {}
        self._fuzzy: dict[tuple, list[int]] = {}
        self._by_path: dict[tuple, list[int]] = {}  # POST: same path, any query
        self._problems: list[WarcProblem] = []
        self._dropped_problems = 0
        self._memory = 0
        self.visits = ()

    @property  # type: ignore[no-redef]
    def problems(self) -> tuple[WarcProblem, ...]:  # the contract's attribute, kept current (lookups add)
        extra = ([WarcProblem("", f"{self._dropped_problems} more problems not listed")]
                 if self._dropped_problems else [])
        return tuple(self._problems) + tuple(extra)

    def _problem(self, path: str, detail: object) -> None:
        if len(self._problems) < PROBLEMS_MAX:
            self._problems.append(WarcProblem(path, _one_line(detail)))
        else:
            self._dropped_problems += 1

    # -- building --------------------------------------------------------------------------------------------------

    @classmethod
    def from_folder(cls, folder: str | Path) -> ArchiveIndex:
        """Every `*.warc.gz` / `*.warc` file under `folder` (no symlink followed)."""
        index = cls()
        root = Path(folder)
        try:
            walk = walk_files(root)
        except (OSError, UnsafePath) as exc:
            index._problem(str(root), f"folder cannot be read: {getattr(exc, 'strerror', None) or exc}")
            index._finish()
            return index
        for rel, why in walk.refused:
            index._problem(rel, f"refused: {why}")
        if walk.truncated:
            index._problem(str(root), "too many entries: the folder was not read to the end")
        for rel in walk.files:
            if rel.endswith((".warc.gz", ".warc")):
                index._add_file(root / rel, rel)
        index._finish()
        return index

    @classmethod
    def from_files(cls, paths: list[str | Path]) -> ArchiveIndex:
        """The given WARC files (each opened without following a symlink), named by their file name."""
        index = cls()
        for path in paths:
            index._add_file(Path(path), Path(path).name)
        index._finish()
        return index

    def _finish(self) -> None:
        self.visits = tuple(f.visit for f in self._files if f.visit is not None)

    def _add_file(self, path: Path, name: str) -> None:
        try:
            handle, info = _open_regular(path)
        except (OSError, UnsafePath) as exc:
            self._problem(name, f"refused: {getattr(exc, 'strerror', None) or exc}")
            return
        with handle:
            if info.st_size > records.FILE_MAX:
                self._problem(name, f"larger than {records.FILE_MAX} bytes: not read")
                return
            number = len(self._files)
            self._files.append(_File(path, name, info.st_dev, info.st_ino, info.st_size))
            first = len(self._entries)
            try:
                self._read_records(handle, number, name)
            except _Budget as exc:
                self._problem(name, f"stopped: {exc}")
            except _Malformed as exc:
                self._problem(name, f"stopped: {exc}")
            except (ArchiveLoadFailed, StatusAndHeadersParserException, EOFError, ValueError, OSError,
                    UnicodeError) as exc:
                self._problem(name, f"stopped: not a readable WARC ({exc})")
            except Exception as exc:  # noqa: BLE001 - warcio on hostile bytes: a problem, never a crash
                self._problem(name, f"stopped: not a readable WARC ({type(exc).__name__}: {exc})")
            visit = self._files[number].visit
            # registered once the file is read: a request record after its response changes the method
            for entry_number in range(first, len(self._entries)):
                self._register(entry_number)
            if visit is None and len(self._entries) > first:
                self._problem(name, "no visit metadata record: responses indexed without phase or site")

    def _read_records(self, handle, number: int, name: str) -> None:
        iterator = _Iterator(handle)
        pending: dict[str, _Pending] = {}  # by the id of the response they are concurrent to
        responses: dict[str, int] = {}  # response record id -> entry (a request written after its response)
        last_request: dict[str, _Pending] = {}  # by URL: requests without WARC-Concurrent-To (pairing by order)
        count = 0
        for record in iterator:
            iterator.bounded.line_bytes = 0  # the header budget counts from one record to the next
            count += 1
            if count > records.RECORDS_MAX:
                self._problem(name, f"more than {records.RECORDS_MAX} records: the rest is not read")
                return
            headers = record.rec_headers
            kind = headers.get_header("WARC-Type") or ""
            record_id = headers.get_header("WARC-Record-ID") or ""
            declared = headers.get_header("Content-Length")
            if _declared_length(declared) is None:
                self._problem(name, f"record {count} ({kind[:20]}): Content-Length {str(declared)[:24]} not "
                              f"within {records.RECORD_MAX} bytes: skipped")
                continue
            uri = headers.get_header("WARC-Target-URI") or ""
            if kind == "metadata":
                self._metadata(record, number, name, count)
            elif kind == "request" and record.http_headers is not None:
                digest = hashlib.sha256()
                _, _, too_big = _read_bounded(record.raw_stream, 0, digest)
                method = (record.http_headers.protocol or "GET").upper()
                request = _Pending(method, None if too_big else digest.hexdigest(), uri)
                concurrent = headers.get_header("WARC-Concurrent-To") or ""
                written = responses.pop(concurrent, None)
                if written is None:
                    written = responses.pop(record_id, None)
                if written is not None:  # its response came first (warcio's own request/response pairs)
                    entry = self._entries[written]
                    entry.method, entry.request_body_sha256 = request.method, request.body_sha256
                elif concurrent:
                    pending[concurrent] = request
                else:
                    last_request[uri] = request
            elif kind == "response" and record.http_headers is not None:
                request = pending.pop(record_id, None) or last_request.pop(uri, None)
                entry = self._response(record, iterator, number, name, count, uri, request)
                if entry is not None and request is None:  # its request may follow: found by either id
                    for key in (record_id, headers.get_header("WARC-Concurrent-To")):
                        if key:
                            responses[key] = entry
            if len(pending) + len(responses) + len(last_request) > records.RECORDS_MAX:
                raise _Budget("too many unpaired records")
        if iterator.err_count:
            self._problem(name, f"{iterator.err_count} records not followed by a blank line (wrong Content-Length?)")
        if iterator.bounded.unfinished:
            self._problem(name, "the file ends inside a gzip member: cut short")

    def _metadata(self, record, number: int, name: str, count: int) -> None:
        content_type = (record.rec_headers.get_header("Content-Type") or "").split(";")[0].strip().lower()
        if content_type != "application/json" or self._files[number].visit is not None:
            return
        data, _, _ = _read_bounded(record.raw_stream, METADATA_MAX + 1)
        if len(data) > METADATA_MAX:
            self._problem(name, f"record {count}: metadata larger than {METADATA_MAX} bytes: not read")
            return
        try:
            parsed = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            self._problem(name, f"record {count}: metadata is not JSON ({exc})")
            return
        visit = _visit_from(parsed, name)
        if visit is not None:
            self._files[number].visit = visit

    def _response(self, record, iterator, number: int, name: str, count: int, uri: str,
                  request: _Pending | None) -> int | None:
        http = record.http_headers
        try:
            status = int(http.get_statuscode())
        except (TypeError, ValueError):
            self._problem(name, f"record {count}: response without a status code: skipped")
            return None
        body, size, too_big = _read_bounded(record.raw_stream, INLINE_MAX + 1)
        if too_big:
            self._problem(name, f"record {count}: response body larger than {records.RECORD_MAX} bytes: skipped")
            return None
        declared = record.payload_length
        if declared is not None and declared >= 0 and size != declared:
            self._problem(name, f"record {count}: response cut short ({size} of {declared} bytes): skipped")
            return None
        offset = iterator.get_record_offset()
        headers = tuple((str(n), str(v)) for n, v in http.headers[: records.HEADERS_MAX])
        status_text = http.statusline.split(" ", 1)[1] if " " in http.statusline else ""
        entry = _Entry(url=uri, method=request.method if request else "GET", status=status, status_text=status_text,
                       captured_at=_date(record.rec_headers.get_header("WARC-Date")),
                       truncated=record.rec_headers.get_header("WARC-Truncated"), file=number, offset=offset,
                       order=len(self._entries), request_body_sha256=request.body_sha256 if request else None)
        weight = len(body) + sum(len(n) + len(v) for n, v in headers) + len(uri)
        if len(body) <= INLINE_MAX and self._memory + weight <= MEMORY_MAX:
            entry.headers, entry.body = headers, body
            self._memory += weight
        self._entries.append(entry)
        return entry.order

    def _register(self, number: int) -> None:
        entry = self._entries[number]
        self._exact.setdefault((entry.method.upper(), entry.url), []).append(number)
        keys = _fuzzy_key(entry.method, entry.url)
        if keys is not None:
            self._fuzzy.setdefault(keys[0], []).append(number)
            if entry.method.upper() == "POST":
                self._by_path.setdefault(keys[1], []).append(number)

    # -- lookups ---------------------------------------------------------------------------------------------------

    def lookup(self, method: str, url: str, body: bytes | None = None, *, phase: str | None = None,
               site: str | None = None) -> tuple[ArchivedResponse | None, str]:
        """The archived response for this request and how it matched: ("exact" | "fuzzy" | "not-archived").

        Exact: same method and URL; among those the same phase, then the same site, then the same request body
        (POST), then the first captured. Fuzzy: same method, scheme, host, path and query parameter names, the
        most equal values first (cache busters, random ids differ); a POST also matches the same path alone."""
        method = (method or "GET").upper()
        url = safe_url(url)  # the form the writer gave WARC-Target-URI (spaces, controls percent-encoded)
        wanted_sha = hashlib.sha256(body).hexdigest() if body is not None else None
        candidates = self._exact.get((method, url))
        if candidates:
            return self._serve(self._best(candidates, phase, site, wanted_sha, None), "exact")
        keys = _fuzzy_key(method, url)
        if keys is not None:
            candidates = self._fuzzy.get(keys[0])
            if not candidates and method == "POST":
                candidates = self._by_path.get(keys[1])
            if candidates:
                values = _query_pairs(url)
                return self._serve(self._best(candidates, phase, site, wanted_sha, values), "fuzzy")
        return None, "not-archived"

    def _best(self, candidates: list[int], phase: str | None, site: str | None, sha: str | None,
              values: set[tuple[str, str]] | None) -> list[int]:
        def rank(number: int) -> tuple:
            entry = self._entries[number]
            visit = self._files[entry.file].visit
            equal = -len(values & _query_pairs(entry.url)) if values is not None else 0
            return (equal,
                    phase is not None and (visit is None or visit.phase != phase),
                    site is not None and (visit is None or visit.site != site),
                    sha is not None and entry.request_body_sha256 != sha,
                    entry.captured_at, entry.order)
        return sorted(candidates, key=rank)

    def _serve(self, ranked: list[int], how: str) -> tuple[ArchivedResponse | None, str]:
        for number in ranked[:8]:  # a candidate whose file changed since is skipped (said in problems)
            response = self._response_of(self._entries[number])
            if response is not None:
                return response, how
        return None, "not-archived"

    def _response_of(self, entry: _Entry) -> ArchivedResponse | None:
        headers, body = entry.headers, entry.body
        if headers is None or body is None:
            loaded = self._load(entry)
            if loaded is None:
                return None
            headers, body = loaded
        visit = self._files[entry.file].visit
        return ArchivedResponse(url=entry.url, method=entry.method, status=entry.status,
                                status_text=entry.status_text, headers=headers, body=body,
                                truncated=entry.truncated, captured_at=entry.captured_at,
                                visit_key=visit.visit_key if visit else None, phase=visit.phase if visit else None,
                                site=visit.site if visit else None, request_body_sha256=entry.request_body_sha256)

    def _load(self, entry: _Entry) -> tuple[Headers, bytes] | None:
        """The record of `entry` read back from its file (the same file: device, inode and size checked)."""
        where = self._files[entry.file]
        try:
            handle, info = _open_regular(where.path)
        except (OSError, UnsafePath) as exc:
            self._problem(where.name, f"cannot be read again: {getattr(exc, 'strerror', None) or exc}")
            return None
        with handle:
            if (info.st_dev, info.st_ino, info.st_size) != (where.device, where.inode, where.size):
                self._problem(where.name, "changed since it was indexed: not served")
                return None
            try:
                handle.seek(entry.offset)
                record = next(iter(_Iterator(handle)))
                http = record.http_headers
                if record.rec_type != "response" or http is None:
                    raise ValueError("no response record at the indexed offset")
                body, _, too_big = _read_bounded(record.raw_stream, records.RECORD_MAX)
                if too_big:
                    raise ValueError("record larger than the budget")
            except (StopIteration, _Budget, _Malformed, ArchiveLoadFailed, StatusAndHeadersParserException,
                    EOFError, ValueError, OSError, UnicodeError) as exc:
                self._problem(where.name, f"record at {entry.offset} cannot be read again ({exc})")
                return None
            except Exception as exc:  # noqa: BLE001 - warcio on hostile bytes
                self._problem(where.name, f"record at {entry.offset} cannot be read again "
                              f"({type(exc).__name__}: {exc})")
                return None
        return tuple((str(n), str(v)) for n, v in http.headers[: records.HEADERS_MAX]), body


def _query_pairs(url: str) -> set[tuple[str, str]]:
    try:
        return set(parse_qsl(urlsplit(url).query, keep_blank_values=True))
    except ValueError:
        return set()


def check_warc(path: str | Path) -> list[WarcProblem]:
    """Read a WARC file with warcio and check every record's block and payload digests (`mouchard verify`).

    One problem per mismatching, cut or unreadable record (and per budget that stops the reading); a record
    without a block digest cannot be checked and is a problem too. Never raises for bad data."""
    name = str(path)
    problems: list[WarcProblem] = []

    def problem(detail: object) -> None:
        if len(problems) < PROBLEMS_MAX:
            problems.append(WarcProblem(name, _one_line(detail)))

    try:
        handle, info = _open_regular(Path(path))
    except (OSError, UnsafePath) as exc:
        return [WarcProblem(name, _one_line(f"refused: {getattr(exc, 'strerror', None) or exc}"))]
    with handle:
        if info.st_size > records.FILE_MAX:
            return [WarcProblem(name, f"larger than {records.FILE_MAX} bytes: not checked")]
        iterator = _Iterator(handle, check_digests=True)
        count = 0
        try:
            for record in iterator:
                iterator.bounded.line_bytes = 0  # the header budget counts from one record to the next
                count += 1
                if count > records.RECORDS_MAX:
                    problem(f"more than {records.RECORDS_MAX} records: the rest is not checked")
                    break
                headers = record.rec_headers
                label = f"record {count} ({(headers.get_header('WARC-Type') or '?')[:20]})"
                declared = headers.get_header("Content-Length")
                length = _declared_length(declared)
                if length is None:
                    problem(f"{label}: Content-Length {str(declared)[:24]} not within the budget: not checked")
                    continue
                if not headers.get_header("WARC-Block-Digest"):
                    problem(f"{label}: no WARC-Block-Digest: cannot be checked")
                _, size, too_big = _read_bounded(record.raw_stream, 0)
                if too_big:
                    problem(f"{label}: larger than {records.RECORD_MAX} bytes: not checked")
                    continue
                if record.payload_length is not None and record.payload_length >= 0 and \
                        size != record.payload_length:
                    problem(f"{label}: cut short ({size} of {record.payload_length} bytes)")
                elif record.http_headers is None and size != length:
                    problem(f"{label}: cut short ({size} of {length} bytes)")
                if record.digest_checker.passed is False:
                    for text in record.digest_checker.problems[:4]:
                        problem(f"{label}: {text}")
        except (_Budget, _Malformed) as exc:
            problem(f"stopped after record {count}: {exc}")
        except (ArchiveLoadFailed, StatusAndHeadersParserException, EOFError, ValueError, OSError,
                UnicodeError) as exc:
            problem(f"stopped after record {count}: not a readable WARC ({exc})")
        except Exception as exc:  # noqa: BLE001 - warcio on hostile bytes: a problem, never a crash
            problem(f"stopped after record {count}: not a readable WARC ({type(exc).__name__}: {exc})")
        if iterator.err_count:
            problem(f"{iterator.err_count} records not followed by a blank line (wrong Content-Length?)")
        if iterator.bounded.unfinished:
            problem("the file ends inside a gzip member: cut short")
        if count == 0 and not problems:
            problem("no WARC record")
    return problems
