"""A Scrapy DNS resolver that applies `--host-map` rules before asking DNS (test labs, staging copies).

Installed by `crawler.settings.network_settings()` as TWISTED_DNS_RESOLVER; the rules travel in the
`MOUCHARD_HOST_MAP` setting (read by `crawler.settings.host_map_of`), parsed once with `mouchard.net.parse_host_rule`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.resolver import CachingThreadedResolver
from twisted.internet import defer

from crawler.settings import host_map_of
from mouchard.net import NetworkOptions, parse_host_rule

if TYPE_CHECKING:
    from collections.abc import Sequence

    from scrapy.crawler import Crawler
    from twisted.internet.base import ReactorBase


class HostMapResolver(CachingThreadedResolver):
    """Answers mapped hosts from the host map; every other name goes to the caching threaded resolver."""

    def __init__(self, reactor: "ReactorBase", cache_size: int, timeout: float, net: NetworkOptions):
        super().__init__(reactor, cache_size, timeout)
        self.net = net

    @classmethod
    def from_crawler(cls, crawler: "Crawler", reactor: "ReactorBase") -> "HostMapResolver":
        settings = crawler.settings
        cache_size = settings.getint("DNSCACHE_SIZE") if settings.getbool("DNSCACHE_ENABLED") else 0
        rules = tuple(parse_host_rule(r) for r in host_map_of(settings))
        return cls(reactor, cache_size, settings.getfloat("DNS_TIMEOUT"), NetworkOptions(host_map=rules))

    def getHostByName(self, name: str, timeout: "Sequence[int]" = ()):  # noqa: N802 (Twisted's name)
        mapped = self.net.resolve(name)
        if mapped is not None:
            return defer.succeed(mapped)
        return super().getHostByName(name, timeout)
