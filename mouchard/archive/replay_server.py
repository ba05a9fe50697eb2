"""An HTTP(S) proxy on 127.0.0.1 that answers every request from an ArchiveIndex, never from the network.

`with ReplayServer(index) as server:` runs an asyncio proxy in a daemon thread with its own event loop. Plain proxy
requests (`GET http://host/path HTTP/1.1`) and `CONNECT host:port` tunnels are both answered from the archive; a
tunnel's TLS is terminated here with a leaf certificate per host, signed by a CA made for this server only
(`server.ca_file`, removed on exit; Chromium trusts it with `crawler.browser.launch.ca_args`). There is no upstream
code path at all: nothing a client sends can make this server open a socket or a file (CONNECT targets and URLs are
only keys of `index.lookup`). `server.proxy_url_for(phase, site)` is another port of the same server whose lookups
prefer that consent phase's (and site's) archived responses, for URLs archived by several visits.

Every client is hostile: request heads and bodies are read on budgets (line, header count, head size, body size),
within an idle timeout; a malformed request gets 400 and the connection is closed; connections are tracked and
closed on exit. WebSocket upgrades are answered 404 "not archived" (not replayed: a documented limitation).
"""

from __future__ import annotations

import asyncio
import functools
import http
import logging
import shutil
import socket
import tempfile
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime

from mouchard.archive.certificates import ReplayCertificates
from mouchard.archive.clock import capture_age, shift_cookie_expires
from mouchard.archive.http1 import (BAD_VALUE, HEAD_MAX, TOKEN, BadRequest, Request, absolute_url,
                                    body_framing, parse_connect_target, parse_head, read_chunked, read_head)
from mouchard.archive.index import ArchiveIndex
from mouchard.archive.records import HEADER_VALUE_MAX, HEADERS_MAX, ArchivedResponse

log = logging.getLogger(__name__)

# Budgets of the server (what a request may be: mouchard.archive.http1).
IDLE_TIMEOUT = 30.0  # seconds a client may take to send a request head or body, or to read a response
CONNECTIONS_MAX = 256  # open client connections; more are closed at once
NOT_ARCHIVED_MAX = 10_000  # (method, url) pairs kept in stats; beyond, only counted
START_TIMEOUT = 30.0  # bounds on the thread's start and stop: a guard against hanging, never reached normally
STOP_TIMEOUT = 10.0
LISTENERS_MAX = 64  # ports of proxy_url_for (one per phase, site)

Preference = tuple[str | None, str | None]  # (phase, site) a port's lookups prefer
NO_PREFERENCE: Preference = (None, None)

REPLAY_HEADER = "X-Mouchard-Replay"
TRUNCATED_HEADER = "X-Mouchard-Replay-Truncated"
# Headers of one connection, not of the resource (RFC 9110 7.6.1), and what this server sets itself.
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization",
                        "te", "trailer", "transfer-encoding", "upgrade", "content-length"})


@dataclass
class ReplayStats:
    """What the server answered: `served` archived responses (`fuzzy` of them by a fuzzy match), the requests it
    had no archive for (`not_archived`, the first NOT_ARCHIVED_MAX; `not_archived_total` counts them all),
    `bad_requests` refused (400, 413, 431, 501, idle timeouts, connections over CONNECTIONS_MAX), `errors` (the
    index raised: 500; a connection ended by a bug of ours) and the client `connections` accepted."""

    served: int = 0
    fuzzy: int = 0
    not_archived: list[tuple[str, str]] = field(default_factory=list)  # (method, url), bounded
    not_archived_total: int = 0
    bad_requests: int = 0
    errors: int = 0
    connections: int = 0


def _encode(text: str) -> bytes:
    # UTF-8: the writer (mouchard.archive.warc) archives header text as UTF-8 and warcio reads it back as UTF-8
    # first, so a value goes back on the wire as the bytes archived
    return text.encode("utf-8", "replace")


def _response(status: int, reason: str, headers: list[tuple[str, str]], body: bytes, *, head_only: bool,
              keep_alive: bool) -> bytes:
    lines = [f"HTTP/1.1 {status} {reason}"]  # the space stays when the reason is empty (RFC 9112 4)
    lines += [f"{name}: {value}" for name, value in headers]
    if status not in (204, 304):
        lines.append(f"Content-Length: {len(body)}")
    lines.append("Connection: " + ("keep-alive" if keep_alive else "close"))
    raw = b"\r\n".join(_encode(line) for line in lines) + b"\r\n\r\n"
    return raw if head_only or status in (204, 304) else raw + body


def _reason(status: int, archived: str) -> str:
    text = BAD_VALUE.sub("", archived or "").strip()[:256]
    if text:
        return text
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""


class ReplayServer:
    """`with ReplayServer(index) as server:` a proxy at `server.proxy_url` (http://127.0.0.1:PORT) whose TLS
    certificates are signed by `server.ca_file` (PEM); `server.stats` counts what it served.

    Responses carry `X-Mouchard-Replay: exact|fuzzy|not-archived` (and `X-Mouchard-Replay-Truncated: <reason>`
    when the archived body was cut); a request with no archived response gets 404."""

    proxy_url: str
    ca_file: str
    stats: ReplayStats

    def __init__(self, index: ArchiveIndex, *, shift_cookie_dates: bool = True) -> None:
        """`shift_cookie_dates`: move the absolute dates of archived Set-Cookie `Expires` attributes by (now -
        the response's capture time), so a cookie keeps the lifetime it was set with (Chromium's cookie jar runs
        on the real clock, not the page's)."""
        self.index = index
        self.shift_cookie_dates = shift_cookie_dates
        self.idle_timeout = IDLE_TIMEOUT
        self.stats = ReplayStats()
        self.proxy_url = ""
        self.ca_file = ""
        self.port = 0
        self._folder: str | None = None
        self._certs: ReplayCertificates | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._listeners: dict[Preference, socket.socket] = {}  # (phase, site) -> its listening socket
        self._setups: set[asyncio.Task] = set()
        self._closing = False
        self._ready = threading.Event()
        self._start_error: BaseException | None = None
        self._tasks: set[asyncio.Task] = set()
        self._transports: set[asyncio.BaseTransport] = set()

    def __enter__(self) -> "ReplayServer":
        self._folder = tempfile.mkdtemp(prefix="mouchard-replay-")
        try:
            self._certs = ReplayCertificates(self._folder)
            self.ca_file = self._certs.ca_file
            self._thread = threading.Thread(target=self._run, name="mouchard-replay-server", daemon=True)
            self._thread.start()
            if not self._ready.wait(START_TIMEOUT):
                raise RuntimeError("the replay server did not start")
            if self._start_error is not None:
                raise RuntimeError(f"the replay server could not start: {self._start_error}")
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc) -> None:
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None and thread.is_alive():
            try:
                asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(STOP_TIMEOUT)
            except Exception as error:  # still stop the loop below; the thread is a daemon either way
                log.warning("replay server: unclean stop: %s", error)
            try:
                loop.call_soon_threadsafe(loop.stop)
            except RuntimeError:
                pass  # the loop already closed
        if thread is not None:
            thread.join(STOP_TIMEOUT)
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None

    def proxy_url_for(self, phase: str | None = None, site: str | None = None) -> str:
        """A proxy URL (another port of the same server) whose lookups prefer the archived responses of this
        consent phase and site when the archive holds the same URL for several visits (ArchiveIndex.lookup): a
        replayed visit of the "accept" phase then gets what the "accept" visit got. `proxy_url` prefers none."""
        key = (phase, site)
        if key == NO_PREFERENCE:
            return self.proxy_url
        if self._loop is None or self._thread is None or not self._thread.is_alive():
            raise RuntimeError("the replay server is not running (use it inside `with`)")
        port = asyncio.run_coroutine_threadsafe(self._port_for(key), self._loop).result(STOP_TIMEOUT)
        return f"http://127.0.0.1:{port}"

    # the event loop's thread

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)  # this thread's own loop (gather() at the end looks it up)
        self._loop = loop
        try:
            self.port = self._listen(NO_PREFERENCE)
            self.proxy_url = f"http://127.0.0.1:{self.port}"
        except BaseException as error:
            self._start_error = error
            self._ready.set()
            for listener in self._listeners.values():
                listener.close()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            for transport in list(self._transports):
                transport.abort()
            loop.run_until_complete(asyncio.sleep(0))  # aborted transports close their sockets in a callback
            for listener in self._listeners.values():
                if listener.fileno() >= 0:  # not closed by _shutdown (its stop failed)
                    loop.remove_reader(listener)
                    listener.close()
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def _listen(self, key: Preference) -> int:
        """A listening socket on a free port of 127.0.0.1 whose lookups prefer `key` (in the loop's thread)."""
        assert self._loop is not None
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(("127.0.0.1", 0))
            listener.listen(128)
            listener.setblocking(False)
            self._loop.add_reader(listener, self._accept, listener, key)
        except BaseException:
            listener.close()
            raise
        self._listeners[key] = listener
        return listener.getsockname()[1]

    async def _port_for(self, key: Preference) -> int:
        if key not in self._listeners:
            if len(self._listeners) >= LISTENERS_MAX:
                raise ValueError(f"a replay server listens on at most {LISTENERS_MAX} ports")
            if self._closing:
                raise RuntimeError("the replay server is stopping")
            return self._listen(key)
        return self._listeners[key].getsockname()[1]

    def _accept(self, listener: socket.socket, key: Preference) -> None:
        """Accept the clients waiting (a bounded burst). Our own accepting rather than asyncio's Server or
        sock_accept: with those, a connection accepted just before exit can be left open, half made (a transport
        refusing a closed server, a result lost to a cancellation); here an accepted socket is always handed on."""
        assert self._loop is not None
        for _ in range(64):
            try:
                conn, _ = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as error:  # out of file descriptors...: pause accepting, as asyncio does
                log.warning("replay server: accept failed: %s", error)
                self._loop.remove_reader(listener)
                self._loop.call_later(1.0, self._resume_accepting, listener, key)
                return
            if self._closing:
                conn.close()
                continue
            conn.setblocking(False)
            setup = self._loop.create_task(self._connect(conn, key))
            self._setups.add(setup)
            setup.add_done_callback(self._setups.discard)

    def _resume_accepting(self, listener: socket.socket, key: Preference) -> None:
        if not self._closing and self._loop is not None and listener.fileno() >= 0:
            self._loop.add_reader(listener, self._accept, listener, key)

    async def _connect(self, conn: socket.socket, key: Preference) -> None:
        try:
            await asyncio.get_running_loop().connect_accepted_socket(lambda: _Connection(self, key), conn)
        except OSError:
            conn.close()

    async def _shutdown(self) -> None:
        self._closing = True
        for listener in self._listeners.values():
            asyncio.get_running_loop().remove_reader(listener)
            listener.close()  # clients still in the kernel's queue are reset
        if self._setups:  # connections being set up finish (never cancelled) and _Connection closes them
            await asyncio.wait(list(self._setups), timeout=STOP_TIMEOUT / 4)
        for transport in list(self._transports):  # every client, even one whose handler has not started yet
            transport.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=STOP_TIMEOUT / 2)
        for transport in list(self._transports):  # what closing could not flush
            transport.abort()
        for _ in range(10):
            if not self._transports:
                break
            await asyncio.sleep(0)
        if self._transports:
            log.warning("replay server: %d connections still open at exit", len(self._transports))

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                     key: Preference = NO_PREFERENCE) -> None:
        task = asyncio.current_task()
        if len(self._transports) > CONNECTIONS_MAX or task is None:
            self.stats.bad_requests += 1
            writer.close()
            return
        self._tasks.add(task)
        self.stats.connections += 1
        try:
            await self._converse(reader, writer, key)
        except (OSError, EOFError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            pass  # the client went away, sent garbage TLS or stalled: its connection ends here
        except Exception as error:  # a bug of ours: this connection ends, counted and said, the server goes on
            self.stats.errors += 1
            log.warning("replay server: connection failed: %r", error)
        finally:
            self._tasks.discard(task)
            writer.close()
            try:
                async with asyncio.timeout(1.0):
                    await writer.wait_closed()
            except (OSError, TimeoutError, asyncio.CancelledError):
                pass

    async def _converse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, key: Preference) -> None:
        """Requests of one connection, one after the other (keep-alive), a CONNECT tunnel's TLS included."""
        tunnel: tuple[str, int] | None = None
        while True:
            try:
                async with asyncio.timeout(self.idle_timeout):
                    head = await read_head(reader)
                if head is None:
                    return
                request = parse_head(head)
                if request.method == "CONNECT":
                    if tunnel is not None:
                        raise BadRequest(400, "CONNECT inside a tunnel")
                    tunnel = parse_connect_target(request.target)
                    writer.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
                    await self._drain(writer)
                    assert self._certs is not None
                    await writer.start_tls(self._certs.context(tunnel[0]), ssl_handshake_timeout=self.idle_timeout)
                    continue
                url = absolute_url(request.target, tunnel)
                body = await self._read_body(reader, writer, request)
            except TimeoutError:  # a slow or silent client: its connection ends
                self.stats.bad_requests += 1
                return
            except asyncio.LimitOverrunError:
                await self._refuse(writer, BadRequest(431, "request head or chunk line too large"))
                return
            except BadRequest as refused:
                await self._refuse(writer, refused)
                return
            keep_alive = request.version == "HTTP/1.1" and not any(
                "close" in value.lower() for value in request.get("connection"))
            writer.write(self._answer(request, url, body, keep_alive, key))
            await self._drain(writer)
            if not keep_alive:
                return

    async def _drain(self, writer: asyncio.StreamWriter) -> None:
        async with asyncio.timeout(self.idle_timeout):  # a client that never reads cannot hold the server
            await writer.drain()

    async def _refuse(self, writer: asyncio.StreamWriter, refused: BadRequest) -> None:
        self.stats.bad_requests += 1
        body = f"mouchard replay: {refused}\n".encode()
        writer.write(_response(refused.status, _reason(refused.status, ""), [("Content-Type", "text/plain")], body,
                               head_only=False, keep_alive=False))
        try:
            await self._drain(writer)
        except (OSError, TimeoutError):
            pass

    async def _read_body(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                         request: Request) -> bytes | None:
        """The request body (None when the request has none), on REQUEST_BODY_MAX; BadRequest otherwise."""
        framing = body_framing(request)
        if framing is None:
            return None
        await self._continue(writer, request)
        async with asyncio.timeout(self.idle_timeout):
            if isinstance(framing, int):
                return await reader.readexactly(framing)
            return await read_chunked(reader)

    async def _continue(self, writer: asyncio.StreamWriter, request: Request) -> None:
        if any(value.lower() == "100-continue" for value in request.get("expect")):
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            await self._drain(writer)

    def _answer(self, request: Request, url: str, body: bytes | None, keep_alive: bool,
                key: Preference = NO_PREFERENCE) -> bytes:
        """The archived response to this request as bytes on the wire, or 404 (not archived) or 500 (the index
        failed: counted in stats.errors)."""
        method, head_only = request.method, request.method == "HEAD"
        if request.get("upgrade"):
            return self._not_archived(method, url, "upgrades (WebSocket) are not replayed", keep_alive)
        try:
            # in the loop's thread: lookups one at a time (the index is not thread-safe); a big body read back
            # from its WARC file takes milliseconds
            found, how = self.index.lookup(method, url, body, phase=key[0], site=key[1])
        except Exception as error:  # the index must never raise on data; if it does, this request fails alone
            self.stats.errors += 1
            log.warning("replay server: index lookup failed for %s %s: %s", method, url, error)
            return _response(500, "Internal Server Error", [(REPLAY_HEADER, "error")], b"index lookup failed\n",
                             head_only=head_only, keep_alive=keep_alive)
        if found is None or how not in ("exact", "fuzzy"):
            return self._not_archived(method, url, "not in the archive", keep_alive)
        if not 200 <= found.status <= 599:
            return self._not_archived(method, url, f"archived status {found.status} cannot be replayed", keep_alive)
        self.stats.served += 1
        if how == "fuzzy":
            self.stats.fuzzy += 1
        headers = self._headers(found)
        headers.append((REPLAY_HEADER, how))
        if found.truncated:
            headers.append((TRUNCATED_HEADER, BAD_VALUE.sub("", found.truncated)[:64]))
        return _response(found.status, _reason(found.status, found.status_text), headers, found.body or b"",
                         head_only=head_only, keep_alive=keep_alive)

    def _headers(self, found: ArchivedResponse) -> list[tuple[str, str]]:
        """The archived headers minus the connection's own and ours (a page cannot forge a replay mark), with
        Set-Cookie expiry dates shifted by the capture's age; malformed lines dropped."""
        dropped = set(HOP_BY_HOP)
        for name, value in found.headers:
            if name.lower() == "connection":
                dropped.update(part.strip().lower() for part in value.split(","))
        age = capture_age(found.captured_at, datetime.now(UTC)) if self.shift_cookie_dates else None
        kept = []
        for name, value in found.headers[:HEADERS_MAX]:
            lower = name.lower()
            if lower in dropped or lower.startswith("x-mouchard-replay") or not TOKEN.fullmatch(name) \
                    or BAD_VALUE.search(value) or len(value) > HEADER_VALUE_MAX:
                continue
            if lower == "set-cookie" and age is not None:
                value = shift_cookie_expires(value, age)
            kept.append((name, value))
        return kept

    def _not_archived(self, method: str, url: str, why: str, keep_alive: bool) -> bytes:
        self.stats.not_archived_total += 1
        if len(self.stats.not_archived) < NOT_ARCHIVED_MAX:
            self.stats.not_archived.append((method, url))
        return _response(404, "Not Found", [("Content-Type", "text/plain; charset=utf-8"),
                                            (REPLAY_HEADER, "not-archived")],
                         f"mouchard replay: {why}\n".encode(), head_only=method == "HEAD", keep_alive=keep_alive)


class _Connection(asyncio.StreamReaderProtocol):
    """A client connection, known to its server from its first instant: exit closes it even when its handler has
    not started yet (a task cancelled before its first step never runs its `finally`)."""

    def __init__(self, server: ReplayServer, key: Preference) -> None:
        super().__init__(asyncio.StreamReader(limit=HEAD_MAX), functools.partial(server._serve, key=key))
        self._owner = server
        self._raw: asyncio.BaseTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._raw = transport
        self._owner._transports.add(transport)
        super().connection_made(transport)
        if self._owner._closing:
            transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._owner._transports.discard(self._raw)
        super().connection_lost(exc)


