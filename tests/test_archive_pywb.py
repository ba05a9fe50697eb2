"""The archives open in pywb as they are: a visit written by `write_visit_warc` (a page with a script and an image,
a JSON XHR, a POST, a redirect) is added to a pywb collection with pywb's own `wb-manager`, served by `wayback` on
127.0.0.1, and pywb gives the archived responses back byte for byte (`id_`: the raw archived response), the
redirect's Location, and the captures of a URL in its CDX index.

pywb lives in its own virtualenv (.venv-pywb, made by scripts/setup.sh: it pins redis 2.10 and fakeredis 0.16,
which must not enter .venv)."""

from __future__ import annotations

import http.client
import json
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
from conftest import needs
from procs import stop_tree

from mouchard.archive.records import Exchange, VisitArchive
from mouchard.archive.warc import write_visit_warc

ROOT = Path(__file__).resolve().parent.parent
PYWB = ROOT / ".venv-pywb" / "bin"
BOUND = 120.0  # seconds wayback may take to answer: a guard against hanging, not a timing assertion

STARTED = "2026-12-07T10:00:00Z"  # the visit's start: its metadata record's date
CAPTURED = "2026-12-07T10:00:01Z"  # its exchanges, a second later
TIMESTAMP = "20261207100001"  # CAPTURED as a 14-digit memento timestamp
PAGE = "https://www.shop.example/"
PAGE_HTML = (b"<!doctype html><html><head><title>Boutique</title><script src=\"/app.js\"></script></head>"
             b"<body><h1>Bonjour</h1><img src=\"/logo.png\"></body></html>")
SCRIPT = b"fetch('https://api.shop.example/cart.json').then(r => r.json());"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))
CART_URL = "https://api.shop.example/cart.json"
CART = json.dumps({"items": [{"sku": "A-1", "qty": 2}], "total": 19.9}).encode()
OLD = "https://www.shop.example/old"
COLLECT = "https://t.example/collect"
ABOUT = "https://www.shop.example/about"
ABOUT_HTML = b"<!doctype html><title>About</title><p>Since 1999.</p>"


def visit() -> VisitArchive:
    def ex(url: str, status: int, text: str, content_type: str | None, body: bytes | None, **kw) -> Exchange:
        headers = ((("Content-Type", content_type),) if content_type else ()) + kw.pop("headers", ())
        return Exchange(url=url, status=status, status_text=text, response_headers=headers, body=body,
                        request_headers=(("User-Agent", "Mozilla/5.0 test"),), captured_at=CAPTURED,
                        remote_ip="127.0.0.1", **kw)

    return VisitArchive(
        crawl_id=1, visit_key="pywb-visit", url=OLD, site="shop.example", phase="initial", started_at=STARTED,
        exchanges=(
            ex(OLD, 302, "Found", None, None, headers=(("Location", PAGE),)),
            ex(PAGE, 200, "OK", "text/html; charset=utf-8", PAGE_HTML),
            ex(PAGE + "app.js", 200, "OK", "application/javascript", SCRIPT),
            ex(PAGE + "logo.png", 200, "OK", "image/png", PNG),
            ex(CART_URL, 200, "OK", "application/json", CART, resource_type="xhr"),
            ex(COLLECT, 204, "No Content", None, b"", method="POST", request_body=b"event=view&page=home"),
        ))


def about_visit() -> VisitArchive:
    """A visit of one page whose response is captured in the same second as the visit starts (as in most crawls):
    the visit's metadata record and the page's response have the same URL and the same 14-digit timestamp."""
    page = Exchange(url=ABOUT, status=200, status_text="OK", response_headers=(("Content-Type", "text/html"),),
                    body=ABOUT_HTML, captured_at=STARTED)
    return VisitArchive(crawl_id=1, visit_key="pywb-about", url=ABOUT, site="shop.example", phase="initial",
                        started_at=STARTED, exchanges=(page,))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port: int, path: str) -> tuple[int, dict[str, str], bytes]:
    """One request to wayback, redirects not followed."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=BOUND)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def wait_answering(port: int, process: subprocess.Popen, log: Path) -> None:
    """Poll until wayback answers HTTP (bounded), failing at once if it exits."""
    deadline = time.monotonic() + BOUND
    while True:
        if process.poll() is not None:
            raise AssertionError(f"wayback exited with {process.returncode}: {log.read_text(errors='replace')[-2000:]}")
        try:
            get(port, "/")
            return
        except OSError:
            assert time.monotonic() < deadline, "wayback did not answer"
            time.sleep(0.1)


@pytest.fixture(scope="module")
def wayback(tmp_path_factory):
    """A pywb collection `coll` holding the visit's WARC, served by wayback on a free port of 127.0.0.1."""
    missing = [name for name in ("wb-manager", "wayback") if not (PYWB / name).exists()]
    if missing:
        needs([f".venv-pywb/bin/{name}" for name in missing], "run scripts/setup.sh")
    folder = tmp_path_factory.mktemp("pywb")
    written = write_visit_warc(folder / "visit.warc.gz", visit())
    about = write_visit_warc(folder / "about.warc.gz", about_visit())
    for args in (["init", "coll"], ["add", "coll", written.path, about.path]):
        subprocess.run([str(PYWB / "wb-manager"), *args], cwd=folder, check=True, capture_output=True,
                       timeout=BOUND)
    port = free_port()
    log = folder / "wayback.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([str(PYWB / "wayback"), "--port", str(port), "--bind", "127.0.0.1"], cwd=folder,
                                   stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        wait_answering(port, process, log)
        yield port
    finally:
        stop_tree(process, signal.SIGTERM, BOUND)


@pytest.mark.slow
def test_pywb_serves_the_archived_page_and_json_byte_for_byte(wayback):
    status, headers, body = get(wayback, f"/coll/{TIMESTAMP}id_/{PAGE}")
    assert (status, headers["content-type"], body) == (200, "text/html; charset=utf-8", PAGE_HTML)
    assert headers["memento-datetime"] == "Mon, 07 Dec 2026 10:00:01 GMT"
    status, headers, body = get(wayback, f"/coll/{TIMESTAMP}id_/{CART_URL}")
    assert (status, headers["content-type"], body) == (200, "application/json", CART)
    status, headers, body = get(wayback, f"/coll/{TIMESTAMP}id_/{PAGE}app.js")
    assert (status, body) == (200, SCRIPT)
    status, headers, body = get(wayback, f"/coll/{TIMESTAMP}id_/{PAGE}logo.png")
    assert (status, headers["content-type"], body) == (200, "image/png", PNG)


@pytest.mark.slow
def test_pywb_replays_the_redirect_with_its_location(wayback):
    status, headers, _ = get(wayback, f"/coll/{TIMESTAMP}id_/{OLD}")
    assert status == 302
    assert headers["location"] == PAGE  # id_: the archived header as it was
    # Replayed (mp_: rewritten for a browser), the Location points into the collection at the same capture time.
    status, headers, _ = get(wayback, f"/coll/{TIMESTAMP}mp_/{OLD}")
    assert (status, headers["location"]) == (302, f"http://127.0.0.1:{wayback}/coll/{TIMESTAMP}mp_/{PAGE}")


@pytest.mark.slow
def test_pywb_index_lists_each_capture(wayback):
    status, _, body = get(wayback, f"/coll/cdx?url={PAGE}&output=json")
    assert status == 200
    rows = [json.loads(line) for line in body.decode().splitlines()]
    # The page has its response only: the visit's metadata record is filed under urn:pageinfo:<url>.
    assert [(r["url"], r["mime"], r.get("status"), r["timestamp"]) for r in rows] == [
        (PAGE, "text/html", "200", TIMESTAMP)]
    status, _, body = get(wayback, f"/coll/cdx?url={OLD}&output=json")
    rows = [json.loads(line) for line in body.decode().splitlines()]
    assert sorted((r["mime"], r.get("status")) for r in rows) == [("unk", "302")]
    status, _, body = get(wayback, f"/coll/cdx?url={COLLECT}&output=json")
    rows = [json.loads(line) for line in body.decode().splitlines()]
    assert [(r["url"], r.get("status")) for r in rows] == [(COLLECT, "204")]
    status, _, body = get(wayback, "/coll/cdx?url=shop.example&matchType=domain&output=json")
    # Visit 1: the redirect, page, script, image, JSON; the about visit: its page (metadata records are urn:).
    assert len(body.decode().splitlines()) == 6


@pytest.mark.slow
def test_pywb_serves_the_page_not_the_visit_metadata_captured_in_the_same_second(wayback):
    status, headers, body = get(wayback, f"/coll/20261207100000id_/{ABOUT}")
    assert (status, headers["content-type"], body) == (200, "text/html", ABOUT_HTML)
