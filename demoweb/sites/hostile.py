"""Hostile pages: what a crawler must survive without hanging, crashing, filling the disk or running the page's JS.

Host hostile.example-bad.com: /hang, /slow, /redirect-loop, /alert-loop, /confirm-loop, /popups, /huge (30 MiB),
/download (5 MiB attachment), /error-500, /crash (a handler that raises: the engine answers 500), /gzip-bomb
(1 MiB on the wire, 1 GiB inflated, streamed), /busy (while(true) on the main thread), /xss (XSS strings in the
title, a cookie's name and value, storage, URL paths, `<img onerror>`, `javascript:` links).
Host untrusted.example-badtls.com: a certificate from a CA nobody trusts. Host nxdomain.example: never resolves.
`EXPECTED[page]["outcome"]` names what a crawler should record for each.
"""

from __future__ import annotations

import functools
import html
import struct
import urllib.parse
import zlib
from collections.abc import Iterator

from demoweb import Request, Response, Site, drip

HOST = "hostile.example-bad.com"
BAD_TLS_HOST = "untrusted.example-badtls.com"
NXDOMAIN_HOST = "nxdomain.example"

SITE = Site("hostile pages", [HOST])
BAD_TLS = Site("bad TLS", [BAD_TLS_HOST], tls="untrusted")
SITES = [BAD_TLS]

MiB = 1024 * 1024
HUGE_BYTES = 30 * MiB
DOWNLOAD_BYTES = 5 * MiB
BOMB_INFLATED = 1024 * MiB
SLOW_SECONDS = 30
POPUPS = 20
XSS_SCRIPT = "<script>alert(1)</script>"
XSS_IMG = "<img src=x onerror=alert(1)>"
XSS_JS_URL = "javascript:alert(1)"
XSS_PATH = "/xss/%3Cscript%3Ealert(1)%3C/script%3E"

EXPECTED = {
    f"{HOST}/hang": {"outcome": "timeout", "behaviour": "accepts the request and never answers"},
    f"{HOST}/slow": {"outcome": "timeout", "behaviour": f"drips one line a second for {SLOW_SECONDS} s",
                     "seconds": SLOW_SECONDS},
    f"{HOST}/redirect-loop": {"outcome": "redirect_loop", "behaviour": "302 to /redirect-loop/b and back, forever"},
    f"{HOST}/alert-loop": {"outcome": "dialogs", "dialog": "alert", "behaviour": "alert() in an endless loop"},
    f"{HOST}/confirm-loop": {"outcome": "dialogs", "dialog": "confirm", "behaviour": "confirm() in an endless loop"},
    f"{HOST}/popups": {"outcome": "popups", "popups": POPUPS, "behaviour": f"window.open() {POPUPS} times on load"},
    f"{HOST}/huge": {"outcome": "oversize", "bytes": HUGE_BYTES, "behaviour": "a 30 MiB HTML page"},
    f"{HOST}/download": {"outcome": "download", "bytes": DOWNLOAD_BYTES, "filename": "report.bin",
                         "behaviour": "Content-Disposition: attachment, 5 MiB"},
    f"{HOST}/error-500": {"outcome": "http_error", "status": 500, "behaviour": "answers 500 with an HTML body"},
    f"{HOST}/crash": {"outcome": "http_error", "status": 500, "behaviour": "the handler raises; the engine answers 500"},
    f"{HOST}/gzip-bomb": {"outcome": "decompression_bomb", "inflated_bytes": BOMB_INFLATED,
                          "behaviour": "gzip body of about 1 MiB that inflates to 1 GiB"},
    f"{HOST}/busy": {"outcome": "busy_script", "behaviour": "while(true){} on the main thread; load never fires"},
    f"{HOST}/xss": {"outcome": "xss", "title": f"XSS {XSS_SCRIPT}",
                    "xss_strings": [XSS_SCRIPT, XSS_IMG, XSS_JS_URL],
                    "cookies": [{"name": XSS_SCRIPT, "value": XSS_IMG, "domain": HOST, "set_by": "header"},
                                {"name": "xss_script", "value": XSS_SCRIPT, "domain": HOST, "set_by": "script"}],
                    "storage": [{"kind": "localStorage", "host": HOST, "key": XSS_SCRIPT}],
                    "links": [XSS_JS_URL, XSS_PATH],
                    "behaviour": "XSS strings in title, cookies, storage, paths, links and an onerror image"},
    f"{BAD_TLS_HOST}/": {"outcome": "tls_error", "behaviour": "certificate from an untrusted CA"},
    f"{NXDOMAIN_HOST}/": {"outcome": "dns_error", "behaviour": "the resolver rules answer NOTFOUND"},
}

SCRIPT_PAGE = "<!doctype html><html><head><meta charset=utf-8><title>{title}</title></head><body>{body}</body></html>"


def _script_page(title: str, script: str, body: str = "") -> Response:
    return Response.html(SCRIPT_PAGE.format(title=title, body=f"{body}<script>{script}</script>"))


@SITE.route("/")
def index(req: Request) -> Response:
    links = "".join(f'<li><a href="/{page.split("/", 1)[1]}">{html.escape(page)}</a></li>'
                    for page in EXPECTED if page.startswith(HOST + "/"))
    return Response.html(SCRIPT_PAGE.format(title="Hostile pages", body=f"<ul>{links}</ul>"))


@SITE.route("/hang")
def hang(req: Request) -> Response:
    return Response(hang=True)


@SITE.route("/slow")
def slow(req: Request) -> Response:
    seconds = int(req.query.get("seconds", SLOW_SECONDS)) if req.query.get("seconds", "").isdigit() else SLOW_SECONDS
    lines = [b"<!doctype html><html><head><title>Slow page</title></head><body>\n"]
    lines += [b"<p>still loading %d</p>\n" % i for i in range(seconds)] + [b"</body></html>\n"]
    stopping = req.web.stopping if req.web else None
    return Response(200, [("Content-Type", "text/html; charset=utf-8")], drip(lines, 1.0, stopping))


HELD_MAX_SECONDS = 300  # a held page gives up after this, released or not


@SITE.route("/held")
def held(req: Request) -> Response:
    """A page that keeps loading while the test web holds its gate (`TestWeb.hold`), then ends: the same page
    whether it was held or not (the wait sends only blank lines)."""
    gate = req.query.get("gate", "")[:40]
    event = req.web.held(gate) if req.web else None

    def body() -> Iterator[bytes]:
        yield b"<!doctype html><html><head><title>Held page</title></head><body>\n"
        for _ in range(HELD_MAX_SECONDS * 2):
            if event is None or event.wait(0.5) or req.web.stopping.is_set():
                break
            yield b"\n"
        yield b"<p>released</p></body></html>\n"

    return Response(200, [("Content-Type", "text/html; charset=utf-8")], body())


@SITE.route("/redirect-loop")
def redirect_loop(req: Request) -> Response:
    return Response.redirect("/redirect-loop/b")


@SITE.route("/redirect-loop/b")
def redirect_loop_back(req: Request) -> Response:
    return Response.redirect("/redirect-loop")


@SITE.route("/alert-loop")
def alert_loop(req: Request) -> Response:
    return _script_page("Alert loop", 'for (var i = 0; ; i++) { alert("mouchard test alert " + i); }')


@SITE.route("/confirm-loop")
def confirm_loop(req: Request) -> Response:
    return _script_page("Confirm loop", 'while (true) { confirm("Stay on this page?"); }')


@SITE.route("/popups")
def popups(req: Request) -> Response:
    return _script_page("Popups", f'for (var i = 0; i < {POPUPS}; i++) {{ window.open("/popup?i=" + i, "p" + i); }}')


@SITE.route("/popup")
def popup(req: Request) -> Response:
    return Response.html(SCRIPT_PAGE.format(title="Popup", body=f"<p>popup {html.escape(req.query.get('i', ''))}</p>"))


def _filler(total: int, block: bytes) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        piece = block[:total - sent]
        sent += len(piece)
        yield piece


@SITE.route("/huge")
def huge(req: Request) -> Response:
    head = b"<!doctype html><html><head><title>Huge page</title></head><body>\n"
    tail = b"</body></html>\n"
    line = b"<p>This page is thirty mebibytes of paragraphs. Crawlers should cap what they keep.</p>\n"
    block = (line * (65536 // len(line) + 1))[:65536]
    body = _chain([head], _filler(HUGE_BYTES - len(head) - len(tail), block), [tail])
    return Response(200, [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(HUGE_BYTES))], body)


@SITE.route("/download")
def download(req: Request) -> Response:
    return Response(200, [("Content-Type", "application/octet-stream"),
                          ("Content-Disposition", 'attachment; filename="report.bin"'),
                          ("Content-Length", str(DOWNLOAD_BYTES))], _filler(DOWNLOAD_BYTES, bytes(65536)))


@SITE.route("/error-500")
def error_500(req: Request) -> Response:
    return Response.html(SCRIPT_PAGE.format(title="Server error", body="<h1>500</h1>"), status=500)


@SITE.route("/crash")
def crash(req: Request) -> Response:
    raise RuntimeError("planted failure: the test web must answer 500 and keep serving")


@functools.cache
def _bomb_parts() -> tuple[bytes, bytes, bytes, int]:
    """(gzip header, one 1 MiB-of-zeros deflate block ending on a full flush, final block + trailer, repeats).

    Blocks that end with Z_FULL_FLUSH reference nothing before them, so one block repeated is a valid stream.
    """
    zeros = bytes(MiB)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    repeats = BOMB_INFLATED // MiB
    crc = 0
    for _ in range(repeats):
        crc = zlib.crc32(zeros, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    trailer = zlib.compressobj(9, zlib.DEFLATED, -15).flush() + struct.pack("<II", crc, BOMB_INFLATED & 0xFFFFFFFF)
    return header, block, trailer, repeats


@SITE.route("/gzip-bomb")
def gzip_bomb(req: Request) -> Response:
    header, block, trailer, repeats = _bomb_parts()
    size = len(header) + len(block) * repeats + len(trailer)
    return Response(200, [("Content-Type", "text/html"), ("Content-Encoding", "gzip"), ("Content-Length", str(size))],
                    _chain([header], (block for _ in range(repeats)), [trailer]))


@SITE.route("/busy")
def busy(req: Request) -> Response:
    return _script_page("Busy", "while (true) {}", "<p>This page never finishes its script.</p>")


@SITE.route("/xss")
def xss(req: Request) -> Response:
    body = (f'{XSS_IMG}<p><a href="{XSS_JS_URL}">click</a> <a href="{XSS_PATH}">path</a> '
            f'<a href="/xss/?q=%22%3E%3Cscript%3Ealert(1)%3C/script%3E">query</a></p>')
    # `<\/script>` in JS source: a literal closing tag would end the inline script early.
    script = ('document.cookie = "xss_script=<script>alert(1)<\\/script>; path=/";'
              'try { localStorage.setItem("<script>alert(1)<\\/script>", "1"); } catch (e) {}')
    page = SCRIPT_PAGE.format(title=f"XSS {XSS_SCRIPT}", body=f"{body}<script>{script}</script>")
    return Response.html(page, headers=[("Set-Cookie", f"{XSS_SCRIPT}={XSS_IMG}; Path=/")])


@SITE.route("/xss/<path:rest>")
def xss_path(req: Request) -> Response:
    # The decoded path goes in <title> (RCDATA: shown, never run); the body gets it escaped.
    decoded = urllib.parse.unquote(req.path)
    return Response.html(SCRIPT_PAGE.format(title=f"XSS path {decoded}", body=f"<p>{html.escape(decoded)}</p>"))


@BAD_TLS.route("/")
def bad_tls_home(req: Request) -> Response:
    return Response.html(SCRIPT_PAGE.format(title="You should not see this", body="<p>TLS was not checked.</p>"))


def _chain(*parts) -> Iterator[bytes]:
    for part in parts:
        yield from part
