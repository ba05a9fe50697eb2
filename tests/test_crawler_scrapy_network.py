"""Scrapy's own HTTP (registry and broker spiders) honours the run's host map and proxy through crawler.settings."""

from __future__ import annotations

import json
import subprocess
import sys

SPIDER = """
import json, sys
import scrapy
from scrapy.crawler import CrawlerProcess
from crawler.settings import base_settings, network_settings, proxy_meta
from mouchard.net import NetworkOptions

url, rule, proxy = sys.argv[1], sys.argv[2], sys.argv[3] or None
net = NetworkOptions.build(proxy=proxy, host_map=[rule])
seen = []

class Probe(scrapy.Spider):
    name = "probe"
    async def start(self):
        yield scrapy.Request(url, meta=proxy_meta(net), dont_filter=True)
    def parse(self, response):
        seen.append(response.status)

process = CrawlerProcess({**base_settings(":memory:"), **network_settings(net), "LOG_ENABLED": False})
process.crawl(Probe)
process.start()
print(json.dumps(seen))
"""


def run_probe(url: str, rule: str, proxy: str = "") -> list[int]:
    result = subprocess.run([sys.executable, "-c", SPIDER, url, rule, proxy], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_scrapy_requests_follow_the_host_map(testweb):
    start = len(testweb.log)
    # the name does not exist anywhere: only the host map can bring the request to the test web
    assert run_probe(testweb.url("www.clean-example.org", "/privacy"), "*.clean-example.org=127.0.0.1") == [200]
    assert [e["path"] for e in testweb.log[start:] if e["host"] == "www.clean-example.org"] == ["/privacy"]


def test_scrapy_requests_go_through_the_proxy(testweb):
    start = len(testweb.log)
    url = "http://www.clean-example.org/privacy"  # portless: only the proxy knows where it is
    assert run_probe(url, "unrelated.example=10.0.0.1", testweb.proxy_url) == [200]
    hits = [e for e in testweb.log[start:] if e["host"] == "www.clean-example.org"]
    assert hits and hits[-1]["via"] == "proxy"
