"""What a visit's archive holds and what an archive serves back: plain data, shared by the writer, the index, the
replay server and the crawler's archive collector."""

from __future__ import annotations

from dataclasses import dataclass, field

# Budgets. A body past BODY_MAX keeps its first BODY_MAX bytes and is marked `WARC-Truncated: length`; once a
# visit has archived VISIT_MAX bytes of bodies, later bodies are archived empty with the same mark (the records,
# headers and sizes are all kept). Read back, a file is refused past FILE_MAX bytes, a record past RECORD_MAX.
BODY_MAX = 8 * 1024 * 1024
VISIT_MAX = 64 * 1024 * 1024
FILE_MAX = 512 * 1024 * 1024
RECORD_MAX = BODY_MAX + 1024 * 1024
RECORDS_MAX = 50_000  # records read per file
HEADERS_MAX = 256  # header lines kept per request or response
HEADER_VALUE_MAX = 8192

Headers = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Exchange:
    """One request and its response (one hop of a redirect chain is one exchange), as the browser saw them.

    `response_headers` are the headers received (Set-Cookie included); `body` the decoded body as the page got it
    (None: no body could be read, e.g. a redirect, a failed or aborted request); `truncated` the WARC-Truncated
    reason when `body` is cut ("length") or missing for a reason ("unspecified"), else None. `status` None: no
    response (the request failed: `error` says how) and only the request record is written."""

    url: str
    method: str = "GET"
    request_headers: Headers = ()
    request_body: bytes | None = None
    status: int | None = None
    status_text: str = ""
    http_version: str = "HTTP/1.1"
    response_headers: Headers = ()
    body: bytes | None = None
    truncated: str | None = None
    remote_ip: str | None = None
    captured_at: str = ""  # ISO 8601 UTC of the request (WARC-Date)
    error: str | None = None
    resource_type: str | None = None


@dataclass(frozen=True)
class VisitArchive:
    """One visit's archive: its identity (written in a `metadata` record) and its exchanges in request order."""

    crawl_id: int | None
    visit_key: str
    url: str
    site: str
    phase: str
    started_at: str  # ISO 8601 UTC: the capture time a replay pins the page clock to
    exchanges: tuple[Exchange, ...] = ()
    screenshot: str | None = None  # a PNG file, archived as a `resource` record
    tool: str = "mouchard"
    extra: dict = field(default_factory=dict)  # more metadata fields (status, final URL...), JSON values


@dataclass(frozen=True)
class WarcWritten:
    """What `write_visit_warc` wrote: the file, its hash and size, and what it holds."""

    path: str
    sha256: str
    size: int
    records: int
    exchanges: int
    truncated: int  # bodies marked WARC-Truncated


@dataclass(frozen=True)
class ArchivedResponse:
    """A response as an archive serves it back (mouchard.archive.index)."""

    url: str
    method: str
    status: int
    status_text: str
    headers: Headers
    body: bytes
    truncated: str | None
    captured_at: str
    visit_key: str | None = None
    phase: str | None = None
    site: str | None = None
    request_body_sha256: str | None = None  # of the archived request's body (POST replays prefer the same body)


@dataclass(frozen=True)
class ArchivedVisit:
    """A visit an archive holds (from its metadata record): what a replay visits again, and its capture time."""

    visit_key: str
    url: str
    site: str
    phase: str
    started_at: str
    crawl_id: int | None = None
    warc: str = ""  # the file it came from, relative to the folder read
