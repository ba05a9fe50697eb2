"""Network options: host-map and proxy rules, Chromium flags, downloads through both."""

import pytest

from mouchard.errors import UserError
from mouchard.net import FetchError, NetworkOptions, fetch


def test_host_map_rules_resolve_by_pattern():
    net = NetworkOptions.build(host_map=["lab.example.org=10.1.2.3", "*.staging.example=127.0.0.2", "*=127.0.0.1"])
    assert net.resolve("lab.example.org") == "10.1.2.3"
    assert net.resolve("a.staging.example") == "127.0.0.2"
    assert net.resolve("anything.com") == "127.0.0.1"
    assert net.resolve("localhost") is None


def test_chromium_flags_carry_the_same_rules():
    net = NetworkOptions.build(proxy="socks5://127.0.0.1:1080", host_map=["*=127.0.0.1"])
    args = net.chromium_args()
    assert "--host-resolver-rules=MAP * 127.0.0.1, EXCLUDE localhost" in args
    assert "--proxy-server=socks5://127.0.0.1:1080" in args
    assert net.as_record()["host_map"] == ["*=127.0.0.1"]


@pytest.mark.parametrize("rule", ["nonsense", "=1.2.3.4", "example.com=", "a b=1.2.3.4"])
def test_bad_host_map_rule_is_a_user_error(rule):
    with pytest.raises(UserError, match="bad --host-map rule"):
        NetworkOptions.build(host_map=[rule])


@pytest.mark.parametrize("proxy", ["ftp://x:1", "http://nohost", "127.0.0.1:8080"])
def test_bad_proxy_is_a_user_error(proxy):
    with pytest.raises(UserError, match="bad --proxy"):
        NetworkOptions.build(proxy=proxy)


def test_fetch_through_host_map_reaches_the_test_web(testweb):
    net = NetworkOptions.build(host_map=["*=127.0.0.1"], ca_file=testweb.ca_pem_path)
    result = fetch(testweb.url("www.example-news.fr", "/"), net)
    assert result.status == 200 and b"<html" in result.body.lower()
    assert any(r["host"] == "www.example-news.fr" for r in testweb.log)


def test_fetch_through_an_http_proxy_keeps_portless_urls(testweb):
    net = NetworkOptions.build(proxy=testweb.proxy_url, ca_file=testweb.ca_pem_path)
    result = fetch("https://www.example-news.fr/", net)
    assert result.status == 200


def test_fetch_refuses_an_untrusted_certificate(testweb):
    net = NetworkOptions.build(host_map=["*=127.0.0.1"], ca_file=testweb.ca_pem_path)
    with pytest.raises(FetchError, match="CERTIFICATE_VERIFY_FAILED|certificate"):
        fetch(testweb.url("untrusted.example-badtls.com", "/"), net)
    lenient = NetworkOptions.build(host_map=["*=127.0.0.1"], ignore_https_errors=True)
    assert fetch(testweb.url("untrusted.example-badtls.com", "/"), lenient).status < 600


def test_fetch_errors_are_one_line(testweb):
    net = NetworkOptions.build(host_map=["*=127.0.0.1"], ca_file=testweb.ca_pem_path)
    with pytest.raises(FetchError) as info:
        fetch(testweb.url("www.example-news.fr", "/does-not-exist-404"), net)
    assert "\n" not in str(info.value)
    with pytest.raises(FetchError, match="not an http"):
        fetch("file:///etc/passwd", net)
