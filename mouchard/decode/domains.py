"""Hosts and sites: the registrable domain (eTLD+1) of a URL, and whether a request is third party.

Public suffixes come from the snapshot bundled with tldextract, never from the network: results must not depend on
when or where a crawl ran. Private suffixes count (`user.github.io` is its own site, as browsers treat it).

Normal form of a host, used in every table: lower case, no port, no brackets, no trailing dot, and international
names in their ASCII (punycode, `xn--`) spelling, which is what goes on the wire, what Chromium and mitmproxy
report, and what tracker lists use. IP literals are their own site (IPv6 in compressed form, without brackets);
a host with no public suffix (`localhost`, `intranet`) is its own site.
"""

from __future__ import annotations

import ipaddress
import urllib.parse
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import tldextract

# Dots that IDNA treats as label separators (ideographic full stop and its full-width and half-width forms).
_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})


@lru_cache(maxsize=1)
def offline_tldextract() -> "tldextract.TLDExtract":
    """The one TLDExtract of the process: bundled public-suffix snapshot, private suffixes, no fetch, no cache dir.

    Scrapy 2.19's cookie middleware builds its own TLDExtract that fetches the list on first use; crawler settings
    should replace it with this one (`scrapy.downloadermiddlewares.cookies._split_domain`).
    """
    import tldextract

    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True,
                                 include_psl_private_domains=True)


def _ip(host: str) -> str | None:
    """The canonical spelling of an IP literal, or None if `host` is not one."""
    try:
        return ipaddress.ip_address(host).compressed
    except ValueError:
        return None


def _ascii(host: str) -> str:
    """International labels to punycode (UTS 46, as browsers do); a label IDNA refuses is encoded as is."""
    if host.isascii():
        return host
    import idna  # a dependency of tldextract

    try:
        return idna.encode(host, uts46=True, transitional=False).decode("ascii")
    except idna.IDNAError:
        return ".".join(label if label.isascii() else "xn--" + label.encode("punycode").decode("ascii")
                        for label in host.split("."))


def under(host: str, *domains: str) -> bool:
    """`host` is one of `domains` or a subdomain of one (on a label boundary: `xads.com` is not under `ads.com`)."""
    return any(host == d or host.endswith("." + d) for d in domains)


@lru_cache(maxsize=65536)
def normalize_host(host: str) -> str:
    """`host` in normal form: lower case, punycode, no port, brackets or trailing dot; '' if empty."""
    host = host.strip().translate(_DOTS)
    if host.startswith("["):  # [v6] or [v6]:port
        host = host[1:].partition("]")[0]
    elif host.count(":") == 1:  # name:port or v4:port (a bare v6 has several colons)
        host = host.partition(":")[0]
    host = host.rstrip(".").lstrip(".").lower()  # a leading dot: cookie domains
    if not host:
        return ""
    return _ip(host) or _ascii(host).lower()


def host_of(url: str) -> str:
    """The host of a URL (or of a bare host, host:port, cookie domain) in normal form; '' when there is none.

    `blob:https://site/uuid` gives the inner URL's host; `data:`, `about:` and other host-less URLs give ''.
    """
    if not url:
        return ""
    url = url.strip()
    if url.startswith("blob:"):
        url = url[5:]
    if "://" in url or url.startswith("//"):
        try:
            parts = urllib.parse.urlsplit(url)
            netloc = parts.netloc.rpartition("@")[2]
        except ValueError:
            return ""
        return normalize_host(netloc)
    if ":" in url and not url.startswith("[") and url.count(":") == 1 and not url.partition(":")[2][:1].isdigit():
        return ""  # a scheme without authority: data:, about:, javascript:, mailto:
    return normalize_host(url.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0])


@lru_cache(maxsize=65536)
def _site_of_host(host: str) -> str:
    if not host or _ip(host):
        return host
    extract = offline_tldextract()
    site = extract(host).top_domain_under_public_suffix
    return site or host  # the host is a public suffix itself, or has none


def site_of(host_or_url: str) -> str:
    """Registrable domain (eTLD+1) of a host or URL, in normal form; the host itself for IPs and suffix-less hosts."""
    return _site_of_host(host_of(host_or_url))


def is_public_suffix(domain: str) -> bool:
    """True if `domain` is a public suffix itself (`fr`, `co.uk`, `github.io`): no cookie may name it as its Domain
    (RFC 6265 5.3 step 5) unless it is the host itself."""
    host = normalize_host(domain.lstrip("."))
    if not host or _ip(host):
        return False
    parts = offline_tldextract()(host)
    return not parts.top_domain_under_public_suffix and bool(parts.suffix)


def is_ip(host_or_url: str) -> bool:
    """True if the host is an IPv4 or IPv6 literal."""
    host = host_of(host_or_url)
    return bool(host) and _ip(host) is not None


def is_third_party(host_or_url: str, first_party_site: str | None) -> bool:
    """True if the host's site differs from the first party's (a site, host or URL).

    A host-less URL (data:, about:blank) is never third party. With no first party (app traffic, where no page
    is visited) every host counts as third party.
    """
    site = site_of(host_or_url)
    if not site:
        return False
    if not first_party_site:
        return True
    return site != site_of(first_party_site)
