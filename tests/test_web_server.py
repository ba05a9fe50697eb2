"""The test web engine: routing by host over HTTPS, HTTP and the proxy; TLS; resilience to broken and hostile routes."""

from __future__ import annotations

import json
import socket
import ssl
import struct
import threading
import time
import zlib
from collections.abc import Iterator

import pytest

from demoweb import Response, Site, TestWeb, drip, set_cookie
from demoweb.client import connect, fetch
from demoweb.sites import discover, expected
from demoweb.sites.hostile import BAD_TLS_HOST, HOST as HOSTILE

NEWS = "www.example-news.fr"


# --- a small web of our own, for engine features the shipped sites don't show --------------------------------
LAB = Site("lab", ["lab.example-test.com", "*.wild.example-test.com"], cors=True)


@LAB.route("/echo/<name>")
def echo(req):
    return Response.json({"name": req.params["name"], "query": req.query, "method": req.method,
                          "body": req.body.decode(), "cookies": req.cookies, "host": req.host, "port": req.port})


@LAB.route("/cookies")
def cookies(req):
    return Response.text("two cookies", headers=[set_cookie("a", "1"), set_cookie("b", "2", http_only=True)])


@LAB.route("/stream")
def stream(req):
    return Response(200, [("Content-Type", "text/plain")], drip([b"one ", b"two ", b"three"], 0.05))


@LAB.route("/gzipped")
def gzipped(req):
    return Response.text("squeeze me " * 100, gzip=True)


@LAB.route("/links")
def links(req):
    return Response.html(req.render("{{https://www.facebook.com/tr?id=1}} {https_port} {http_port} {unknown}"))


@LAB.route("/boom")
def boom(req):
    raise ValueError("broken route")


@pytest.fixture(scope="module")
def lab() -> Iterator[TestWeb]:
    with TestWeb(sites=[LAB]) as web:
        yield web


# --- routing -------------------------------------------------------------------------------------------------
def test_https_routes_by_host_and_verifies_with_the_ca(testweb):
    news = fetch(testweb, testweb.url(NEWS))
    clean = fetch(testweb, testweb.url("www.clean-example.org"))
    assert news.status == clean.status == 200
    assert b"Example News" in news.body and b"Clean Example" in clean.body
    assert testweb.requests_to(NEWS)[-1]["scheme"] == "https"


def test_http_routes_by_host(testweb):
    reply = fetch(testweb, testweb.url("www.clean-example.org", "/privacy", scheme="http"))
    assert reply.status == 200 and b"no third-party services" in reply.body


def test_unknown_host_answers_404(testweb):
    assert fetch(testweb, testweb.url("nobody.example-unknown.com", scheme="http")).status == 404


def test_route_parameters_query_body_and_cookies_reach_the_handler(lab):
    reply = fetch(lab, lab.url("lab.example-test.com", "/echo/x1?a=1&a=2&b="), "POST", body=b"hello",
                  headers={"Cookie": "uid=42; other=x"})
    got = json.loads(reply.body)
    assert got == {"name": "x1", "query": {"a": "1", "b": ""}, "method": "POST", "body": "hello",
                   "cookies": {"uid": "42", "other": "x"}, "host": "lab.example-test.com", "port": lab.https_port}
    entry = lab.requests_to("lab.example-test.com")[-1]
    assert entry["body"] == b"hello" and entry["headers"]["cookie"] == "uid=42; other=x" and entry["status"] == 200


def test_wildcard_hosts_route_and_are_covered_by_the_certificate(lab):
    assert fetch(lab, lab.url("a.wild.example-test.com", "/echo/w")).status == 200


# --- proxy ---------------------------------------------------------------------------------------------------
def test_proxy_connect_serves_portless_https_urls_with_portless_links(testweb):
    reply = fetch(testweb, f"https://{NEWS}/")
    assert reply.status == 200
    assert b'src="https://www.googletagmanager.com/gtag/js?id=G-TEST1234"' in reply.body
    entry = testweb.requests_to(NEWS)[-1]
    assert (entry["via"], entry["scheme"], entry["port"], entry["url"]) == ("proxy", "https", 443, f"https://{NEWS}/")


def test_direct_requests_get_links_at_the_test_web_port(testweb):
    body = fetch(testweb, testweb.url(NEWS)).body
    assert f"https://www.googletagmanager.com:{testweb.https_port}/gtag/js".encode() in body


def test_proxy_absolute_form_serves_portless_http_urls(testweb):
    reply = fetch(testweb, "http://www.clean-example.org/privacy")
    assert reply.status == 200 and b"Privacy policy" in reply.body
    assert testweb.requests_to("www.clean-example.org")[-1]["via"] == "proxy"


def test_proxy_refuses_to_tunnel_to_an_unresolvable_host(testweb):
    conn = connect(testweb, "nxdomain.example", proxy=True)
    with pytest.raises(OSError, match="502"):
        conn.request("GET", "/")
    conn.close()


# --- responses -----------------------------------------------------------------------------------------------
def test_repeated_set_cookie_headers_all_reach_the_client(testweb, lab):
    assert [c.split(";")[0] for c in fetch(lab, lab.url("lab.example-test.com", "/cookies")).headers.get_all(
        "set-cookie")] == ["a=1", "b=2"]
    news = fetch(testweb, testweb.url(NEWS)).headers.get_all("Set-Cookie")
    assert [c.split("=")[0] for c in news] == ["session_id", "pref_lang"]


def test_streamed_body_is_chunked_and_gzip_is_applied(lab):
    streamed = fetch(lab, lab.url("lab.example-test.com", "/stream"))
    assert streamed.body == b"one two three" and streamed.headers.get("transfer-encoding") == "chunked"
    squeezed = fetch(lab, lab.url("lab.example-test.com", "/gzipped"), headers={"Accept-Encoding": "gzip"})
    assert squeezed.headers.get("content-encoding") == "gzip"
    assert zlib.decompress(squeezed.body, 31) == b"squeeze me " * 100


def test_cors_preflight_and_credentialed_answers_for_tracker_sites(lab):
    origin = {"Origin": "https://www.example-news.fr"}
    pre = fetch(lab, lab.url("lab.example-test.com", "/echo/p"), "OPTIONS",
                headers={**origin, "Access-Control-Request-Method": "POST"})
    assert pre.status == 204 and pre.headers.get("access-control-allow-origin") == origin["Origin"]
    real = fetch(lab, lab.url("lab.example-test.com", "/echo/p"), headers=origin)
    assert real.headers.get("access-control-allow-credentials") == "true"


def test_render_links_use_the_clients_port_and_leave_other_braces(lab):
    body = fetch(lab, lab.url("lab.example-test.com", "/links")).body.decode()
    assert body == f"https://www.facebook.com:{lab.https_port}/tr?id=1 {lab.https_port} {lab.http_port} {{unknown}}"


def test_keep_alive_serves_many_requests_on_one_connection(testweb):
    conn = connect(testweb, NEWS)
    for _ in range(20):
        conn.request("GET", "/static/site.css")
        response = conn.getresponse()
        assert response.status == 200 and response.read()
    assert not response.will_close
    conn.close()


# --- resilience ----------------------------------------------------------------------------------------------
def test_broken_route_answers_500_and_the_server_keeps_serving(lab):
    conn = connect(lab, "lab.example-test.com")
    conn.request("GET", "/boom")
    response = conn.getresponse()
    assert response.status == 500 and response.read()
    conn.request("GET", "/echo/after")  # same keep-alive connection
    assert conn.getresponse().status == 200
    conn.close()
    assert "ValueError: broken route" in lab.errors[-1]["traceback"]


def test_hang_does_not_block_other_requests(testweb):
    hanging = connect(testweb, HOSTILE, timeout=30)
    hanging.request("GET", "/hang")
    replies = []
    threads = [threading.Thread(target=lambda: replies.append(fetch(testweb, testweb.url(NEWS)).status))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)  # a bound on a stuck run, not a speed test: the four answers while /hang still hangs are the point
    assert replies == [200] * 4
    hanging.sock.settimeout(0.5)
    with pytest.raises(TimeoutError):
        hanging.getresponse()  # still no answer
    hanging.close()


def test_untrusted_host_certificate_fails_verification(testweb):
    with pytest.raises(ssl.SSLCertVerificationError):
        fetch(testweb, testweb.url(BAD_TLS_HOST))
    assert fetch(testweb, testweb.url(BAD_TLS_HOST), verify=False).status == 200


def test_hosts_added_after_start_get_a_verifiable_certificate(lab):
    late = Site("late", ["late.example-test.com"])
    late.add_route("/", lambda req: "late")
    lab.add_site(late)
    assert fetch(lab, lab.url("late.example-test.com")).body == b"late"


def test_gzip_bomb_is_small_on_the_wire_and_inflates_to_a_gibibyte(testweb):
    reply = fetch(testweb, testweb.url(HOSTILE, "/gzip-bomb"), timeout=30)
    assert reply.headers.get("content-encoding") == "gzip" and len(reply.body) < 2 * 1024 * 1024
    inflater, size, data = zlib.decompressobj(31), 0, reply.body
    while data:
        size += len(inflater.decompress(data, 64 * 1024 * 1024))
        data = inflater.unconsumed_tail
    assert inflater.eof and size == 1024 ** 3 == struct.unpack("<I", reply.body[-4:])[0]


def test_huge_page_and_download_have_their_announced_sizes(testweb):
    huge = fetch(testweb, testweb.url(HOSTILE, "/huge"), timeout=30)
    assert len(huge.body) == int(huge.headers["content-length"]) == 30 * 1024 * 1024
    download = fetch(testweb, testweb.url(HOSTILE, "/download"), timeout=30)
    assert download.headers["content-disposition"].startswith("attachment") and len(download.body) == 5 * 1024 * 1024


def test_stop_wakes_hanging_handlers_and_closes_connections():
    web = TestWeb(sites=[LAB]).start()
    slow = Site("slow", ["slow.example-test.com"])
    slow.add_route("/", lambda req: Response(hang=True))
    web.add_site(slow)
    sock = socket.create_connection((web.bind, web.http_port))
    sock.sendall(b"GET / HTTP/1.1\r\nHost: slow.example-test.com\r\n\r\n")
    time.sleep(0.2)
    web.stop()
    sock.settimeout(5)
    assert sock.recv(100) == b""  # closed, not left hanging
    sock.close()


# --- site catalogue ------------------------------------------------------------------------------------------
def test_site_modules_are_discovered():
    hosts = {host for site in discover() for host in site.hosts}
    assert {NEWS, "www.googletagmanager.com", "ib.adnxs.com", HOSTILE, BAD_TLS_HOST} <= hosts


def test_expected_facts_name_only_hosts_the_test_web_serves(testweb):
    facts = expected()
    assert len(facts[f"{NEWS}/"]["third_party_hosts"]) >= 5
    assert facts["www.clean-example.org/"]["third_party_hosts"] == []
    for page, fact in facts.items():
        for host in fact.get("third_party_hosts", []):
            assert testweb.sites_for(host), f"{page} expects {host}, which nothing serves"
