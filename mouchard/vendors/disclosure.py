"""A vendor's Device Storage Disclosure (the JSON its GVL entry's `deviceStorageDisclosureUrl` points to).

Contract shared by mouchard.vendors (filled in by the registry's author): `parse_disclosure(raw) -> Disclosure`
raises `DisclosureError` (one line); matching, written once here: `Disclosure.declared_cookie(name, domain)`,
`Disclosure.declared_storage(key, origin)`, `Disclosure.lists_host(host)`.

The format is IAB Tech Lab's "Vendor Device Storage & Operational Disclosures": `disclosures` (identifier, type
cookie/web/app, maxAgeSeconds — null for non-cookie items, 0 a session cookie —, cookieRefresh, `domain` or the
newer `domains`, purposes) and `domains` (domain, use). Identifiers and domains may hold `*` wildcards.

Matching rules (case-insensitive; leading and trailing dots ignored):
- an identifier's `*` matches any run of characters (`id*`, `*_uid`); other characters match themselves;
- an item domain `*` matches any site (first-party storage on partners' sites); `*.example.com` matches
  example.com and its subdomains; a plain domain matches itself and, for cookies, its subdomains (a cookie of
  `.example.com` is sent to every subdomain); for web storage a plain domain is one origin's host;
- an item that names no domain is taken to be on the domains the disclosure lists at the top level.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mouchard.errors import UserError
from mouchard.vendors.gvl import bounded_str, read_json

MAX_DISCLOSURE_BYTES = 1024 * 1024
MAX_ITEMS = 2000  # disclosures of one vendor (the largest published ones hold a few hundred)
MAX_DOMAINS = 2000  # entries of the top-level `domains`, and domains of one item
MAX_IDENTIFIER = 512
MAX_DOMAIN = 253
MAX_SECONDS = 1 << 53
TYPES = ("cookie", "web", "app")


class DisclosureError(UserError, ValueError):
    """Not a Device Storage Disclosure (or one over the budget)."""


@dataclass(frozen=True)
class Disclosed:
    """One cookie or storage item declared."""

    identifier: str  # may hold * wildcards
    type: str  # cookie, web, app
    max_age_seconds: int | None = None
    cookie_refresh: bool | None = None
    domain: str | None = None  # "*" any site, "*.example.com" its subdomains, or a domain
    purposes: tuple[int, ...] = ()
    domains: tuple[str, ...] = ()  # the newer `domains` array of the item (optional addition); `domain` is its first

    def all_domains(self) -> tuple[str, ...]:
        """Every domain the item names (`domains`, else `domain`)."""
        return self.domains or ((self.domain,) if self.domain else ())


@dataclass(frozen=True)
class Disclosure:
    """What one vendor discloses: its items and the domains it uses."""

    items: tuple[Disclosed, ...] = ()
    domains: tuple[str, ...] = ()  # the top-level "domains" array's domain values

    def declared_cookie(self, name: str, domain: str) -> Disclosed | None:
        """The item declaring a cookie `name` set on `domain`, else None. When several match, the one declaring
        the longest lifetime (the most the vendor claimed), so a comparison never understates its declaration."""
        return _best(self, "cookie", name, domain, subdomains=True)

    def declared_storage(self, key: str, origin: str) -> Disclosed | None:
        """The `web` item declaring storage key `key` (localStorage, IndexedDB...) for `origin` (a URL or host)."""
        return _best(self, "web", key, origin, subdomains=False)

    def lists_host(self, host: str) -> bool:
        """True if `host` is, or is under, a domain the disclosure lists (top level or an item's, `*` aside)."""
        host = _host(host)
        if not host:
            return False
        for pattern in self.domains + tuple(d for item in self.items for d in item.all_domains()):
            clean = _pattern(pattern)
            if clean and clean != "*" and _domain_matches(clean, host, subdomains=True):
                return True
        return False


# -- matching ---------------------------------------------------------------------------------------------------

def _host(text: str) -> str:
    from mouchard.decode.domains import host_of

    if not isinstance(text, str):
        return ""
    try:
        return host_of(text.strip().lstrip("."))
    except (ValueError, UnicodeError):  # a label no IDNA spelling exists for: matches nothing
        return ""


def _pattern(domain: str | None) -> str:
    """A declared domain in matching form: lower case, no surrounding dots or blanks, no scheme or path."""
    if not domain:
        return ""
    text = domain.strip().lower()
    if "://" in text:
        text = text.split("://", 1)[1]
    text = text.split("/", 1)[0]
    return text.strip(".")


def _domain_matches(pattern: str, host: str, *, subdomains: bool) -> bool:
    """`pattern` (cleaned by `_pattern`) against a normalised host."""
    if pattern == "*":
        return True
    if pattern.startswith("*."):
        base = pattern[2:].strip(".")
        return bool(base) and (host == base or host.endswith("." + base))
    if "*" in pattern:  # a wildcard inside a label (rare, off-spec): glob on the whole host
        return wildcard_match(pattern, host)
    return host == pattern or (subdomains and host.endswith("." + pattern))


def wildcard_match(pattern: str, text: str) -> bool:
    """`*` matches any run of characters, case-insensitive; linear-time (no regular expression to backtrack)."""
    pattern, text = pattern.lower(), text.lower()
    p = t = 0
    star = -1
    mark = 0
    while t < len(text):
        if p < len(pattern) and pattern[p] != "*" and pattern[p] == text[t]:
            p += 1
            t += 1
        elif p < len(pattern) and pattern[p] == "*":
            star, mark = p, t
            p += 1
        elif star >= 0:
            p = star + 1
            mark += 1
            t = mark
        else:
            return False
    while p < len(pattern) and pattern[p] == "*":
        p += 1
    return p == len(pattern)


def _best(disclosure: Disclosure, kind: str, name: str, where: str, *, subdomains: bool) -> Disclosed | None:
    if not isinstance(name, str):
        return None
    host = _host(where)
    if not host:
        return None
    best: Disclosed | None = None
    for item in disclosure.items:
        if item.type != kind or not wildcard_match(item.identifier, name):
            continue
        patterns = [_pattern(d) for d in item.all_domains()]
        if patterns:
            hit = any(p and _domain_matches(p, host, subdomains=subdomains) for p in patterns)
        else:  # no domain declared for the item: the vendor's own listed domains
            hit = any(_domain_matches(p, host, subdomains=True) for p in map(_pattern, disclosure.domains)
                      if p and p != "*")
        if hit and (best is None or (item.max_age_seconds or 0) > (best.max_age_seconds or 0)):
            best = item
    return best


# -- parsing ------------------------------------------------------------------------------------------------------

def _fail(where: str, what: str) -> DisclosureError:
    return DisclosureError(f"not a Device Storage Disclosure: {where}: {what}")


def _str(value, where: str, limit: int, *, optional: bool = True) -> str | None:
    return bounded_str(value, where, limit, _fail, optional=optional)


def _seconds(value, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(where, f"expected a number of seconds or null, got {type(value).__name__}")
    if not -MAX_SECONDS <= value <= MAX_SECONDS:
        raise _fail(where, "out of range")
    return value


def _purposes(value, where: str) -> tuple[int, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > 64:
        raise _fail(where, "expected a list of at most 64 purpose ids")
    found = []
    for v in value:
        if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 64:
            raise _fail(where, "expected purpose ids 1..64")
        found.append(v)
    return tuple(dict.fromkeys(found))


def _item(i: int, item) -> Disclosed:
    where = f"disclosures[{i}]"
    if not isinstance(item, dict):
        raise _fail(where, f"expected an object, got {type(item).__name__}")
    # `name` is the field's name in the superseded "Device storage duration and access disclosure" (2020-2022)
    # that some vendors still publish; `identifier` wins when both are there.
    key = "identifier" if "identifier" in item or "name" not in item else "name"
    identifier = _str(item.get(key), f"{where}.{key}", MAX_IDENTIFIER, optional=False)
    kind = _str(item.get("type"), f"{where}.type", 16, optional=False).strip().lower()
    if kind not in TYPES:
        raise _fail(f"{where}.type", f"expected one of {', '.join(TYPES)}")
    refresh = item.get("cookieRefresh")
    if refresh is not None and not isinstance(refresh, bool):
        raise _fail(f"{where}.cookieRefresh", f"expected true or false, got {type(refresh).__name__}")
    domain = _str(item.get("domain"), f"{where}.domain", MAX_DOMAIN)
    domains_in = item.get("domains")
    domains: tuple[str, ...] = ()
    if domains_in is not None:
        if not isinstance(domains_in, list) or len(domains_in) > MAX_DOMAINS:
            raise _fail(f"{where}.domains", f"expected a list of at most {MAX_DOMAINS} domains")
        domains = tuple(dict.fromkeys(_str(d, f"{where}.domains", MAX_DOMAIN, optional=False) for d in domains_in))
    if domains and domain and domain not in domains:
        domains = (domain, *domains)
    return Disclosed(identifier=identifier, type=kind,
                     max_age_seconds=_seconds(item.get("maxAgeSeconds"), f"{where}.maxAgeSeconds"),
                     cookie_refresh=refresh, domain=domain or (domains[0] if domains else None),
                     purposes=_purposes(item.get("purposes"), f"{where}.purposes"), domains=domains)


def parse_disclosure(raw: bytes) -> Disclosure:
    """Read a Device Storage Disclosure from untrusted bytes; `DisclosureError` (one line) names what is wrong.

    Bounded: at most MAX_DISCLOSURE_BYTES, MAX_ITEMS items and MAX_DOMAINS domains; strings of bounded length.
    """
    data = read_json(raw, "a Device Storage Disclosure", MAX_DISCLOSURE_BYTES, DisclosureError)
    if not isinstance(data, dict):
        raise DisclosureError("not a Device Storage Disclosure: the top level is not an object")
    items_in = data.get("disclosures")
    if not isinstance(items_in, list):
        raise _fail("disclosures", "expected a list")
    if len(items_in) > MAX_ITEMS:
        raise _fail("disclosures", f"more than {MAX_ITEMS} items")
    items = tuple(_item(i, item) for i, item in enumerate(items_in))
    domains_in = data.get("domains")
    if domains_in is None:
        domains_in = []
    if not isinstance(domains_in, list) or len(domains_in) > MAX_DOMAINS:
        raise _fail("domains", f"expected a list of at most {MAX_DOMAINS} entries")
    domains = []
    for i, entry in enumerate(domains_in):
        if not isinstance(entry, dict):
            raise _fail(f"domains[{i}]", f"expected an object, got {type(entry).__name__}")
        domains.append(_str(entry.get("domain"), f"domains[{i}].domain", MAX_DOMAIN, optional=False))
        _str(entry.get("use"), f"domains[{i}].use", 4096)
    return Disclosure(items=items, domains=tuple(dict.fromkeys(domains)))
