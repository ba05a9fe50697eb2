"""The Markup / CalMatters 2025 result, served: the 499 rights pages with the signals The Markup observed.

Built from demoweb/data/brokers/markup-opt-out-pages-2025.csv by `build_sites()`. Not part of the default test web
(no `SITES`): some 950 more host names would weigh on every TLS handshake of every test, so the reproduction test
starts its own `TestWeb(sites=build_sites())`.

Each row becomes a page at its final URL carrying exactly what The Markup saw there: the robots meta tag(s) as
they quoted them, the `X-Robots-Tag` header value, a robots.txt rule keeping every crawler off the path, an HTTP
404 where they got one. The addresses that led there (the URL they checked, their original URL without the
"www." their table adds to every host, and the rights URL(s) the 2025 registry file gives for the same brokers)
redirect to it: The Markup checked some brokers at addresses edited from the registry's (typos, dead links), and
the signals live on the final page in every case. Hosts The Markup could not resolve are not served (the test
web answers 404). Registry URLs are read here with the standard library, independently of mouchard's parsing.

Four hiding brokers are the exception (`WRONG_URLS`): the registry file's rights URL is not the page The Markup
checked, and they found that page "by navigating to it" from the site. Those registry URLs are served as what
they are, a moved page (a 404, or a redirect to the home page), and the home page links to the real page: a
crawler finds these four only by repairing the URL as The Markup did. The link texts are reconstructions (the
real home pages are not in The Markup's data); the addresses are theirs and the registry's.
"""

from __future__ import annotations

import csv
import html
import urllib.parse
from collections import defaultdict
from functools import lru_cache

from demoweb import Request, Response, Site
from demoweb.paths import DATA as SAMPLES

DATA = SAMPLES / "brokers"
MARKUP_CSV = DATA / "markup-opt-out-pages-2025.csv"
REGISTRY_CSV = DATA / "ca-registry-2025.csv"
NONE = ("none found", "could not load page", "")

# Company -> (the registry file's rights URL, how it answers, the home page that links to the real page, the
# link's text). The real page is The Markup's url_checked; "gone" is a 404, "home" a 301 to the home page.
WRONG_URLS: dict[str, tuple[str, str, str, str]] = {
    "Monevo, Inc.": ("https://app.monevo.us/privacy-policy", "gone", "https://app.monevo.us/",
                     "California Privacy Policy"),
    "Fideo Intelligence, Inc.": ("https://www.fideo.ai/privacy/privacy-policy/", "gone", "https://www.fideo.ai/",
                                 "Your Privacy Choices"),
    "BrightCheck Inc.": ("https://www.brightcheck.com/privacy-policy", "gone", "https://www.brightcheck.com/",
                         "Opt-Out Preferences"),
    "5X5 US, LLC": ("https://5x5data.com/privacy-policy/", "home", "https://5x5data.com/",
                    "Do Not Sell or Share My Personal Information"),
}


def _url(text: str) -> str:
    """Scheme and host lower case, no fragment; path and query exactly as written."""
    parts = urllib.parse.urlsplit(text.strip())
    return urllib.parse.urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", parts.query, ""))


def _unwrap(text: str) -> str:
    """Proofpoint's urldefense v3 wrapper, which one registrant pasted into the registry."""
    if "urldefense.com/v3/__" in text:
        return text.split("urldefense.com/v3/__", 1)[1].split("__;", 1)[0]
    return text


def registry_rights_urls() -> dict[str, list[str]]:
    """Broker name -> rights URLs the 2025 registry file gives (header row found by its text)."""
    with REGISTRY_CSV.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    header_index = next(i for i, row in enumerate(rows) if row and "name" in row[0].lower())
    header = [" ".join(h.split()).lower() for h in rows[header_index]]
    name_col = 0
    rights_col = next(i for i, h in enumerate(header) if "exercise" in h)
    out: dict[str, list[str]] = defaultdict(list)
    for row in rows[header_index + 1:]:
        if row and row[name_col].strip():
            out[" ".join(row[name_col].split())].append(_url(_unwrap(row[rights_col].strip())))
    return out


def _same_broker(markup_name: str, registry: dict[str, list[str]]) -> list[str]:
    name = " ".join(markup_name.split())
    if name in registry:
        return registry[name]
    # The Markup wrote one name longer than the registry ("HealthCare, Inc., a Delaware corporation").
    return [url for reg_name, urls in registry.items() if name.startswith(reg_name + ",") for url in urls]


def _page(row: dict) -> Response:
    head = "" if row["meta_tag"] in NONE else row["meta_tag"]
    title = html.escape(row["company_name"])
    body = (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title} privacy</title>{head}</head>'
            f"<body><h1>{title}</h1><p>Your privacy rights. Submit a request to opt out or delete your "
            f"personal information.</p></body></html>")
    headers = [] if row["x_robots_tag"] in NONE else [("X-Robots-Tag", row["x_robots_tag"])]
    status = 404 if "404" in row["error_status_details"] else 200
    return Response.html(body, status=status, headers=headers)


@lru_cache(maxsize=1)
def markup_rows() -> list[dict]:
    with MARKUP_CSV.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@lru_cache(maxsize=1)
def build_sites() -> list[Site]:
    """One Site per host: final pages, redirects to them, and robots.txt where The Markup found a rule."""
    registry = registry_rights_urls()
    pages: dict[str, dict[str, dict]] = defaultdict(dict)  # host -> path -> {query: handler spec}
    robots: dict[str, list[str]] = defaultdict(list)

    def put(url: str, spec: dict) -> None:
        parts = urllib.parse.urlsplit(url)
        pages[parts.hostname or ""].setdefault(parts.path or "/", {}).setdefault(parts.query, spec)

    for name, (wrong, answer, home, text) in WRONG_URLS.items():
        row = next(r for r in markup_rows() if r["company_name"] == name)
        put(wrong, {"gone": True} if answer == "gone" else {"redirect": home})
        put(home, {"home": [(wrong, "Privacy Policy"), (row["url_checked"], text)]})

    for row in markup_rows():
        if "ERR_NAME_NOT_RESOLVED" in row["error_status_details"]:
            continue  # the host did not resolve for The Markup: not served here either
        final = _url(row["url_final"])
        put(final, {"page": row})
        if row["robots_txt_restricts"] == "TRUE":
            final_parts = urllib.parse.urlsplit(final)
            robots[final_parts.hostname or ""].append(final_parts.path)
        # Their url_original has "www." put in front of every host; without it, it is the registry's URL.
        sources = [row["url_checked"], row["url_original"].replace("://www.", "://", 1),
                   *_same_broker(row["company_name"], registry)]
        if row["company_name"] in WRONG_URLS:  # the registry's URL is the moved page put above
            sources = sources[:2]
        for source in sources:
            source = _url(source)
            if source != final:
                put(source, {"redirect": final})

    sites = []
    for host in sorted(pages):
        site = Site(f"markup {host}", [host])
        for path, by_query in pages[host].items():
            site.add_route(path, _handler(by_query))
        if host in robots:
            rules = "".join(f"Disallow: {path}\n" for path in robots[host])
            site.add_route("/robots.txt", lambda req, rules=rules: Response.text(f"User-agent: *\n{rules}"))
        sites.append(site)
    return sites


def _handler(by_query: dict[str, dict]):
    def answer(req: Request) -> Response:
        spec = by_query.get(req.raw_query) or by_query.get("") or next(iter(by_query.values()))
        if "gone" in spec:
            return Response.html("<!DOCTYPE html><html><head><title>Page not found</title></head><body>"
                                 "<h1>Page not found</h1></body></html>", status=404)
        if "home" in spec:
            anchors = "".join(f'<li><a href="{html.escape(url)}">{html.escape(text)}</a></li>'
                              for url, text in spec["home"])
            return Response.html(f"<!DOCTYPE html><html><head><title>{html.escape(req.host)}</title></head><body>"
                                 f"<h1>Welcome</h1><footer><ul>{anchors}</ul></footer></body></html>")
        if "redirect" in spec:
            target = urllib.parse.urlsplit(spec["redirect"])
            path = target.path + (f"?{target.query}" if target.query else "")
            return Response.redirect(req.url(target.hostname, path, target.scheme), 301)
        return _page(spec["page"])
    return answer


