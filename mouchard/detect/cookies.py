"""Cookies as mouchard records them: a `Set-Cookie` header or a browser's cookie turned into a `cookies` row,
its lifetime and party, and whether it looks like a user identifier.

Independent of any browser library: the crawler feeds it CDP cookies and raw headers, the app-traffic addons feed
it headers from flows. Identifier rule (Acar et al. 2014, Englehardt et al. 2015, see docs/field notes): a cookie
is an identifier when it lives at least `IDENTIFIER_MIN_DAYS`, its value has 6-100 characters, and two fresh
profiles got different values (similarity < 0.33, part by part: see `profile_difference` and `similarity`).
When only one profile saw it, the value's length and entropy decide, and `identifier_reason` says so.

Requested and effective attributes: a row keeps what the site asked for (`requested_*`: the `Set-Cookie` or
`document.cookie` string as written, its expiry from Max-Age or Expires) apart from what the cookie store kept
(the plain columns). Browsers cap lifetimes at 400 days (RFC 6265bis 5.6.1-2; Chromium does) and store an
unrecognised SameSite as unspecified, so the kept attributes under-report what a site wanted: identifier rules
judge the lifetime the site asked for (`asked_lifetime`). `parse_set_cookie` predicts the kept attributes by
RFC 6265bis; the crawler replaces them by what Chromium reports (`apply_browser`). Set-Cookie strings are hostile
input: parsing is bounded (`MAX_LINE`, `MAX_ATTRIBUTES`, `MAX_ATTRIBUTE_VALUE`) and never raises.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
import urllib.parse
from collections import Counter

from mouchard.decode.domains import host_of, is_third_party, site_of

IDENTIFIER_MIN_DAYS = 30.0  # long-lived; 90 days is the stricter cut some studies use
IDENTIFIER_MIN_LENGTH = 6
IDENTIFIER_MAX_LENGTH = 100
SIMILARITY_MAX = 0.33  # Ratcliff-Obershelp ratio below which two profiles' values count as different
ENTROPY_MIN_BITS = 2.5  # bits per character for a value seen in one profile only
SAME_SITE = {"strict": "Strict", "lax": "Lax", "none": "None"}
PRIORITY = {"low": "Low", "medium": "Medium", "high": "High"}  # Chromium's Priority attribute
MAX_LIFETIME_DAYS = 400  # RFC 6265bis 5.6.1-2: user agents cap Expires and Max-Age at 400 days
MAX_LINE = 16384  # characters of a Set-Cookie / document.cookie string parsed (Chromium keeps 4096 + attributes)
MAX_ATTRIBUTES = 64  # attributes parsed per string; a real one has under 10
MAX_ATTRIBUTE_VALUE = 1024  # RFC 6265bis 5.6: browsers ignore longer attribute values; so do we
# What a cookie store decides about a cookie: `apply_browser` replaces these with what the browser reports.
EFFECTIVE = ("domain", "path", "expires_at", "lifetime_days", "session", "http_only", "secure", "same_site",
             "partitioned", "priority")
REQUESTED = ("requested_domain", "requested_path", "requested_expires_at", "requested_lifetime_days",
             "requested_same_site", "requested_secure", "requested_http_only", "requested_partitioned",
             "requested_priority")
_LATEST = dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.timezone.utc)


def _iso(moment: dt.datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def lifetime_days(expires: dt.datetime | None, set_at: dt.datetime) -> float | None:
    """Days from `set_at` to `expires` (None for a session cookie), rounded to 0.01 day."""
    if expires is None:
        return None
    return round((expires - set_at).total_seconds() / 86400, 2)


def deletes(row: dict, set_at: dt.datetime) -> bool:
    """Does this parsed Set-Cookie line or `document.cookie` write delete its cookie rather than set it? Yes when the
    expiry it asks for (Max-Age <= 0, or an Expires date) is not after the moment it was set. Compared as times,
    not as `requested_lifetime_days` (rounded to 0.01 day: a cookie set for 3 seconds is not a deletion)."""
    expires = row.get("requested_expires_at")
    if not expires:
        return False
    try:
        moment = dt.datetime.fromisoformat(str(expires).replace("Z", "+00:00"))
    except ValueError:
        return False
    return moment <= set_at.replace(microsecond=0)


def default_path(url: str) -> str:
    """RFC 6265 default-path of a request URL: its path up to (not including) the last '/'."""
    path = urllib.parse.urlsplit(url).path or "/"
    if not path.startswith("/") or path.count("/") == 1:
        return "/"
    return path[:path.rfind("/")]


_DATE_DELIMITERS = re.compile(r"[\x09\x20-\x2f\x3b-\x40\x5b-\x60\x7b-\x7e]+")
_TIME = re.compile(r"(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\D.*)?", re.DOTALL)
_DAY = re.compile(r"(\d{1,2})(?:\D.*)?", re.DOTALL)
_YEAR = re.compile(r"(\d{2,4})(?:\D.*)?", re.DOTALL)
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def parse_cookie_date(text: str) -> dt.datetime | None:
    """An Expires attribute value as browsers read it (RFC 6265 5.1.1), or None when they would ignore it.

    Lenient as browsers are (`Thu, 31-Dec-2030 23:59:59 GMT`, any order of tokens), strict where they are: no
    month name (`2030-12-31`) or a year before 1601 makes the attribute void, and the cookie a session cookie.
    """
    hms = day = month = year = None
    for token in _DATE_DELIMITERS.split(text[:MAX_ATTRIBUTE_VALUE])[:MAX_ATTRIBUTES]:
        if not token:
            continue
        if hms is None and (m := _TIME.fullmatch(token)):
            hms = tuple(int(g) for g in m.groups())
        elif day is None and (m := _DAY.fullmatch(token)):
            day = int(m.group(1))
        elif month is None and token[:3].lower() in _MONTHS:
            month = _MONTHS.index(token[:3].lower()) + 1
        elif year is None and (m := _YEAR.fullmatch(token)):
            year = int(m.group(1))
    if hms is None or day is None or month is None or year is None:
        return None
    year += 1900 if 70 <= year <= 99 else 2000 if year <= 69 else 0
    if year < 1601 or hms[0] > 23 or hms[1] > 59 or hms[2] > 59:
        return None
    try:
        return dt.datetime(year, month, day, *hms, tzinfo=dt.timezone.utc)
    except ValueError:  # 31 February
        return None


def _after(set_at: dt.datetime, seconds: int) -> dt.datetime:
    """`set_at` plus Max-Age seconds, clamped to the last representable second (Max-Age=1e30 is far, not void)."""
    try:
        return set_at + dt.timedelta(seconds=seconds)
    except OverflowError:
        return _LATEST if seconds > 0 else dt.datetime(1, 1, 1, tzinfo=dt.timezone.utc)


def kept_expiry(expires: dt.datetime | None, set_at: dt.datetime) -> dt.datetime | None:
    """The expiry a browser stores for a requested one: at most 400 days after it was set (RFC 6265bis)."""
    if expires is None:
        return None
    try:
        return min(expires, set_at + dt.timedelta(days=MAX_LIFETIME_DAYS))
    except OverflowError:
        return expires


def _canonical(value: str | None, names: dict[str, str]) -> str:
    """A SameSite / Priority value: canonical when browsers know it, else as written (bounded), '' when absent."""
    if value is None:
        return ""
    return names.get(value.lower(), value[:32])


def asked_lifetime(row: dict) -> float | None:
    """The lifetime a site asked for (`requested_lifetime_days`), or the kept one when the request was not seen
    (a cookie found only in the jar). Both are None for a session cookie."""
    asked = row.get("requested_lifetime_days")
    return asked if asked is not None else row.get("lifetime_days")


def parse_set_cookie(line: str, url: str, set_at: dt.datetime, *, first_party: str | None = None) -> dict | None:
    """One `Set-Cookie` header value (or `document.cookie` string), received for `url` at `set_at`, as a
    `cookies` row (None if it has neither name nor value).

    `requested_*` hold the attributes as written; the plain columns what an RFC 6265bis store keeps: `domain` in
    the browsers' convention (`.example.com` for a Domain attribute, the bare host otherwise), the default path
    for a missing or relative Path, the expiry capped at 400 days, an unknown SameSite as unspecified (''). A valid
    Max-Age wins over Expires (RFC 6265 5.3); an invalid one is ignored; without either, a session cookie.
    Flags are recognised with or without a value (`Secure=1`), as browsers do.
    """
    parts = line[:MAX_LINE].split(";", MAX_ATTRIBUTES + 1)[:MAX_ATTRIBUTES + 1]
    name, sep, value = parts[0].partition("=")
    if not sep:
        name, value = "", parts[0]  # RFC 6265bis: a nameless cookie
    name, value = name.strip(), value.strip()
    if not name and not value:
        return None
    host = host_of(url)
    attrs: dict[str, str] = {}  # the last occurrence of an attribute wins (RFC 6265 5.3)
    for part in parts[1:]:
        key, _, val = part.partition("=")
        key, val = key.strip().lower(), val.strip()
        if key and len(val) <= MAX_ATTRIBUTE_VALUE:  # RFC 6265bis 5.6: a longer attribute is ignored
            attrs[key] = val
    domain = host
    if attrs.get("domain"):
        domain = "." + attrs["domain"].lstrip(".").lower()
    path = attrs.get("path") or ""
    if not path.startswith("/"):
        path = default_path(url)
    expires: dt.datetime | None = None
    max_age = attrs.get("max-age", "")
    if re.fullmatch(r"-?[0-9]+", max_age):  # at most MAX_ATTRIBUTE_VALUE digits: int() stays cheap
        expires = _after(set_at, int(max_age))
    elif "expires" in attrs:
        expires = parse_cookie_date(attrs["expires"])
    flags = {"httponly", "secure", "partitioned"} & attrs.keys()
    row = cookie_row(name=name, value=value, domain=domain, path=path, expires=kept_expiry(expires, set_at),
                     set_at=set_at, http_only="httponly" in flags, secure="secure" in flags,
                     same_site=SAME_SITE.get(attrs.get("samesite", "").lower(), ""),
                     partitioned="partitioned" in flags, first_party=first_party, set_by="header", setter_url=url)
    row.update(requested_domain=attrs.get("domain", ""), requested_path=attrs.get("path", ""),
               requested_expires_at=_iso(expires), requested_lifetime_days=lifetime_days(expires, set_at),
               requested_same_site=_canonical(attrs.get("samesite"), SAME_SITE),
               requested_secure=int("secure" in flags), requested_http_only=int("httponly" in flags),
               requested_partitioned=int("partitioned" in flags),
               requested_priority=_canonical(attrs.get("priority"), PRIORITY))
    return row


def from_browser(cookie: dict, set_at: dt.datetime, *, first_party: str | None = None) -> dict:
    """A cookie as Chromium's DevTools protocol reports it (`Network.getAllCookies`: `expires` in epoch seconds,
    -1 for a session cookie; `sameSite` Strict/Lax/None, absent when unspecified; `priority`; `partitionKey` for
    CHIPS) as a `cookies` row. The request is unknown here: `requested_*` stay None."""
    expires_epoch = cookie.get("expires", -1)
    session = cookie.get("session", not isinstance(expires_epoch, (int, float)) or expires_epoch < 0)
    try:
        expires = None if session else dt.datetime.fromtimestamp(expires_epoch, dt.timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):
        expires = _LATEST
    return cookie_row(name=cookie.get("name", ""), value=cookie.get("value", ""), domain=cookie.get("domain", ""),
                      path=cookie.get("path", "/"), expires=expires, set_at=set_at,
                      http_only=bool(cookie.get("httpOnly")), secure=bool(cookie.get("secure")),
                      same_site=SAME_SITE.get(str(cookie.get("sameSite") or "").lower(), ""),
                      partitioned=bool(cookie.get("partitionKey")), first_party=first_party,
                      priority=PRIORITY.get(str(cookie.get("priority") or "").lower()))


def apply_browser(row: dict, cookie: dict, set_at: dt.datetime) -> dict:
    """`row` (a parsed Set-Cookie or `document.cookie` string) with its effective attributes replaced by what
    the browser kept for it (`cookie`, as `from_browser` reads it); the `requested_*` columns stay as written."""
    kept = from_browser(cookie, set_at)
    row.update({key: kept[key] for key in EFFECTIVE})
    return row


def cookie_row(*, name: str, value: str, domain: str, path: str, expires: dt.datetime | None, set_at: dt.datetime,
               http_only: bool = False, secure: bool = False, same_site: str = "", partitioned: bool = False,
               first_party: str | None = None, set_by: str | None = None, setter_url: str | None = None,
               priority: str | None = None) -> dict:
    """The columns of a `cookies` row that follow from the cookie itself (no visit, flow or classification);
    `requested_*` None (not seen) until `parse_set_cookie` fills them."""
    return {
        "name": name, "value": value, "domain": domain, "path": path, "site": site_of(domain),
        "expires_at": _iso(expires), "lifetime_days": lifetime_days(expires, set_at), "session": int(expires is None),
        "http_only": int(http_only), "secure": int(secure), "same_site": same_site, "partitioned": int(partitioned),
        "third_party": int(is_third_party(domain, first_party)) if first_party is not None else None,
        "set_by": set_by, "setter_url": setter_url, "priority": priority, **dict.fromkeys(REQUESTED),
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

    `lifetime` is the one the site asked for (`asked_lifetime(row)`), not the one the browser kept (capped at 400
    days): the reason says "asked to live". `other_values` are the same cookie's values in other fresh profiles of
    the same crawl (may be empty).
    """
    if lifetime is None:
        return False, "session cookie: not long-lived"
    if lifetime < IDENTIFIER_MIN_DAYS:
        return False, f"asked to live {lifetime:g} days (< {IDENTIFIER_MIN_DAYS:g})"
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
        return True, (f"asked to live {lifetime:g} days, {len(value)} characters, differs between fresh profiles "
                      f"(similarity {lowest:.2f} < {SIMILARITY_MAX})")
    bits = entropy_bits(value)
    if bits < ENTROPY_MIN_BITS:
        return False, f"seen in one profile only; low entropy ({bits:.1f} bits/char)"
    if not any(c.isdigit() for c in value) and len(value) < 16:
        return False, "seen in one profile only; short value without digits (a word or setting)"
    return True, (f"seen in one profile only: judged on length and entropy ({len(value)} characters, "
                  f"{bits:.1f} bits/char), asked to live {lifetime:g} days")
