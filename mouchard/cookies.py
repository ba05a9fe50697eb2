"""Cookies as mouchard records them: a `Set-Cookie` header or a browser's cookie turned into a `cookies` row,
its lifetime and party, and whether it looks like a user identifier.

Independent of any browser library: the crawler feeds it CDP cookies and raw headers, the app-traffic addons feed
it headers from flows. Identifier rule (Acar et al. 2014, Englehardt et al. 2015, see docs/field notes): a cookie
is an identifier when it lives at least `IDENTIFIER_MIN_DAYS`, its value has 6-100 characters, and two fresh
profiles got different values (similarity < 0.33, part by part: see `profile_difference` and `similarity`).
When only one profile saw it, the value's length and entropy decide, and `identifier_reason` says so.
"""

from __future__ import annotations

import datetime as dt
import difflib
import email.utils
import math
import re
import urllib.parse
from collections import Counter

from mouchard.domains import host_of, is_third_party, site_of

IDENTIFIER_MIN_DAYS = 30.0  # long-lived; 90 days is the stricter cut some studies use
IDENTIFIER_MIN_LENGTH = 6
IDENTIFIER_MAX_LENGTH = 100
SIMILARITY_MAX = 0.33  # Ratcliff-Obershelp ratio below which two profiles' values count as different
ENTROPY_MIN_BITS = 2.5  # bits per character for a value seen in one profile only
SAME_SITE = {"strict": "Strict", "lax": "Lax", "none": "None"}


def _iso(moment: dt.datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def lifetime_days(expires: dt.datetime | None, set_at: dt.datetime) -> float | None:
    """Days from `set_at` to `expires` (None for a session cookie), rounded to 0.01 day."""
    if expires is None:
        return None
    return round((expires - set_at).total_seconds() / 86400, 2)


def default_path(url: str) -> str:
    """RFC 6265 default-path of a request URL: its path up to (not including) the last '/'."""
    path = urllib.parse.urlsplit(url).path or "/"
    if not path.startswith("/") or path.count("/") == 1:
        return "/"
    return path[:path.rfind("/")]


def _parse_expires(text: str) -> dt.datetime | None:
    try:
        moment = email.utils.parsedate_to_datetime(text.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def parse_set_cookie(line: str, url: str, set_at: dt.datetime, *, first_party: str | None = None) -> dict | None:
    """One `Set-Cookie` header value, received for `url` at `set_at`, as a `cookies` row (None if unparsable).

    `domain` follows the browsers' convention: `.example.com` for a Domain attribute, the bare host otherwise.
    Max-Age wins over Expires (RFC 6265 5.3); a cookie without either is a session cookie.
    """
    parts = line.split(";")
    name, sep, value = parts[0].partition("=")
    if not sep:
        name, value = "", parts[0]  # RFC 6265bis: a nameless cookie
    name, value = name.strip(), value.strip()
    if not name and not value:
        return None
    host = host_of(url)
    attrs: dict[str, str] = {}
    flags: set[str] = set()
    for part in parts[1:]:
        key, has_value, val = part.partition("=")
        key = key.strip().lower()
        if has_value:
            attrs[key] = val.strip()
        elif key:
            flags.add(key)
    domain = host
    if attrs.get("domain"):
        domain = "." + attrs["domain"].lstrip(".").lower()
    path = attrs.get("path") or ""
    if not path.startswith("/"):
        path = default_path(url)
    expires: dt.datetime | None = None
    if "max-age" in attrs:
        try:
            expires = set_at + dt.timedelta(seconds=int(attrs["max-age"]))
        except (ValueError, OverflowError):
            expires = None
    elif "expires" in attrs:
        expires = _parse_expires(attrs["expires"])
    same_site = SAME_SITE.get(attrs.get("samesite", "").lower(), "")
    return cookie_row(name=name, value=value, domain=domain, path=path, expires=expires, set_at=set_at,
                      http_only="httponly" in flags, secure="secure" in flags, same_site=same_site,
                      partitioned="partitioned" in flags, first_party=first_party, set_by="header", setter_url=url)


def from_browser(cookie: dict, set_at: dt.datetime, *, first_party: str | None = None) -> dict:
    """A cookie as Chromium's DevTools protocol or Playwright reports it (`expires` in epoch seconds, -1 for a
    session cookie; `sameSite` Strict/Lax/None; `partitionKey` for CHIPS) as a `cookies` row."""
    expires_epoch = cookie.get("expires", -1)
    session = cookie.get("session", expires_epoch is None or expires_epoch < 0)
    expires = None if session else dt.datetime.fromtimestamp(expires_epoch, dt.timezone.utc)
    return cookie_row(name=cookie.get("name", ""), value=cookie.get("value", ""), domain=cookie.get("domain", ""),
                      path=cookie.get("path", "/"), expires=expires, set_at=set_at,
                      http_only=bool(cookie.get("httpOnly")), secure=bool(cookie.get("secure")),
                      same_site=SAME_SITE.get(str(cookie.get("sameSite") or "").lower(), ""),
                      partitioned=bool(cookie.get("partitionKey")), first_party=first_party)


def cookie_row(*, name: str, value: str, domain: str, path: str, expires: dt.datetime | None, set_at: dt.datetime,
               http_only: bool = False, secure: bool = False, same_site: str = "", partitioned: bool = False,
               first_party: str | None = None, set_by: str | None = None, setter_url: str | None = None) -> dict:
    """The columns of a `cookies` row that follow from the cookie itself (no visit, flow or classification)."""
    return {
        "name": name, "value": value, "domain": domain, "path": path, "site": site_of(domain),
        "expires_at": _iso(expires), "lifetime_days": lifetime_days(expires, set_at), "session": int(expires is None),
        "http_only": int(http_only), "secure": int(secure), "same_site": same_site, "partitioned": int(partitioned),
        "third_party": int(is_third_party(domain, first_party)) if first_party is not None else None,
        "set_by": set_by, "setter_url": setter_url,
    }


def cookie_key(row: dict) -> tuple[str, str, str]:
    """What makes two cookie records the same cookie in a jar: name, domain, path."""
    return (row.get("name") or "", (row.get("domain") or "").lower(), row.get("path") or "/")


# --- identifiers ------------------------------------------------------------------------------------------------

def entropy_bits(value: str) -> float:
    """Shannon entropy of the value's characters, in bits per character."""
    if not value:
        return 0.0
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


def similarity(a: str, b: str) -> float:
    """Ratcliff-Obershelp similarity of two values, counting only matching blocks of 3+ characters.

    Random identifiers over a small alphabet (digits, hex) share many 1-2 character blocks by chance, which the
    plain ratio counts (two random 10-digit numbers score 0.29 on average, a third of pairs above 0.33); a
    timestamp that moved by seconds or a setting keeps long common blocks and stays similar.
    """
    if a == b:
        return 1.0
    if not a or not b:
        return 0.0
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return 2 * sum(block.size for block in matcher.get_matching_blocks() if block.size >= 3) / (len(a) + len(b))


_TOKEN = re.compile(r"[A-Za-z0-9]+")


def profile_difference(a: str, b: str) -> float:
    """How alike two profiles' values are, 0..1, by their most different part.

    Structured values (`GA1.1.<random>.<time>`) are split into alphanumeric parts, as Englehardt et al. (2015)
    do: the frame and a timestamp say nothing about the user, the random part does. Parts are compared in place
    when both values have the same number; the lowest similarity of parts of at least 6 characters counts.
    """
    ta, tb = _TOKEN.findall(a), _TOKEN.findall(b)
    if len(ta) == len(tb) and len(ta) > 1:
        scores = [similarity(x, y) for x, y in zip(ta, tb) if len(x) >= IDENTIFIER_MIN_LENGTH
                  and len(y) >= IDENTIFIER_MIN_LENGTH]
        if scores:
            return min(scores)
    return similarity(a, b)


def judge_identifier(value: str, lifetime: float | None, other_values: list[str] = ()) -> tuple[bool, str]:
    """Whether a cookie value looks like a user identifier, and why (one line for `identifier_reason`).

    `other_values` are the same cookie's values in other fresh profiles of the same crawl (may be empty).
    """
    if lifetime is None:
        return False, "session cookie: not long-lived"
    if lifetime < IDENTIFIER_MIN_DAYS:
        return False, f"lives {lifetime:g} days (< {IDENTIFIER_MIN_DAYS:g})"
    if not IDENTIFIER_MIN_LENGTH <= len(value) <= IDENTIFIER_MAX_LENGTH:
        return False, f"value has {len(value)} characters (not {IDENTIFIER_MIN_LENGTH}-{IDENTIFIER_MAX_LENGTH})"
    others = [v for v in other_values if v is not None]
    if others:
        # Differs from at least one other fresh profile: random parts of a small alphabet (digits, hex) can look
        # alike by chance in one pair, a setting or a timestamp looks alike in every pair.
        lowest = 1.0
        for other in others:  # the first clear difference settles it
            lowest = min(lowest, profile_difference(value, other))
            if lowest < SIMILARITY_MAX:
                break
        profiles = len(others) + 1
        if lowest >= SIMILARITY_MAX:
            return False, (f"same or similar value in {profiles} fresh profiles (similarity {lowest:.2f}): "
                           "not user-specific")
        return True, (f"lives {lifetime:g} days, {len(value)} characters, differs between fresh profiles "
                      f"(similarity {lowest:.2f} < {SIMILARITY_MAX})")
    bits = entropy_bits(value)
    if bits < ENTROPY_MIN_BITS:
        return False, f"seen in one profile only; low entropy ({bits:.1f} bits/char)"
    if not any(c.isdigit() for c in value) and len(value) < 16:
        return False, "seen in one profile only; short value without digits (a word or setting)"
    return True, (f"seen in one profile only: judged on length and entropy ({len(value)} characters, "
                  f"{bits:.1f} bits/char), lives {lifetime:g} days")
