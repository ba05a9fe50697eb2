"""Cookie attributes lab: cookies as a site asks for them versus what the browser keeps.

Host www.cookie-attributes.fr, one page `/`: its response sets five cookies by header and its inline script four
by `document.cookie`:
- `far_*`: Expires 31 Dec 2030, beyond the 400 days browsers keep (RFC 6265bis): asked for ~4 years, kept 400 days;
- `maxage_*`: Max-Age of two years (730 days): kept 400 days; the header one asks for Priority=High;
- `none_*`: SameSite=None; Secure (the header one for a day, the script one for the session);
- `lax_default_header`: no SameSite: unspecified (Playwright's cookie list would say Lax);
- `refused_*`: a Domain the page's host is not in: refused by the browser, no row;
- `brief_*`: Max-Age of 60 seconds (a probe that the jar is writable, as Prebid.js and posthog-js make): a cookie,
  not a deletion, although its lifetime rounds to 0.00 day;
- `suffix_script`: `domain=.fr`, a public suffix (posthog-js probes for the registrable domain this way): refused
  by the browser, no row.
An iframe from chips.attr-embed.com (third party) sets `chips_header`: Partitioned (CHIPS), SameSite=None; Secure.
`tests/test_crawler_cookie_attributes.py` holds the exact requested and effective values.
"""

from __future__ import annotations

from demoweb import Request, Response, Site

HOST = "www.cookie-attributes.fr"
EMBED_HOST = "chips.attr-embed.com"
SITE = Site("cookie attributes lab", [HOST])
EMBED = Site("cookie attributes lab embed", [EMBED_HOST])
SITES = [EMBED]

FAR = "Tue, 31 Dec 2030 00:00:00 GMT"
TWO_YEARS = 2 * 365 * 24 * 3600
HEADERS = [
    f"far_header=h1; Expires={FAR}; Path=/",
    f"maxage_header=h2; Max-Age={TWO_YEARS}; Path=/; Priority=High",
    "none_header=h3; Max-Age=86400; Path=/; SameSite=None; Secure",
    "lax_default_header=h5; Max-Age=86400; Path=/",
    "refused_header=h4; Domain=elsewhere-tracker.com; Path=/",
    "brief_header=h6; Max-Age=60; Path=/",
]
SCRIPT = f"""
document.cookie = "far_script=s1; expires={FAR}; path=/";
document.cookie = "maxage_script=s2; max-age={TWO_YEARS}; path=/; samesite=lax";
document.cookie = "none_script=s3; path=/; SameSite=None; Secure";
document.cookie = "refused_script=s4; domain=elsewhere-tracker.com; path=/";
document.cookie = "brief_script=s5; max-age=60; path=/";
document.cookie = "suffix_script=s6; domain=.fr; path=/";
"""


@SITE.route("/")
def home(req: Request) -> Response:
    page = (f"<!doctype html><title>Cookie attributes</title><h1>Cookies</h1><script>{SCRIPT}</script>"
            '<iframe src="{{https://chips.attr-embed.com/frame}}"></iframe>')
    return Response.html(req.render(page), headers=[("Set-Cookie", line) for line in HEADERS])


@EMBED.route("/frame")
def frame(req: Request) -> Response:
    return Response.html("<!doctype html><p>embed</p>", headers=[
        ("Set-Cookie", "chips_header=c1; Path=/; Max-Age=86400; Secure; SameSite=None; Partitioned")])
