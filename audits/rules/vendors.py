"""Vendor rules: what an ad-tech vendor declares in the IAB Europe Global Vendor List next to what it did.

Each rule reads `mouchard.vendors.conduct.observe` (the logic the `vendor_conduct` rollup stores): one finding per
visited site, consent phase and vendor, naming the vendor and the GVL version compared with. Nothing is found
when no vendor list is recorded (`mouchard vendors fetch`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from audits.rules.base import Context, Evidence, Hit, evidence, listing, plural, rule
from mouchard.vendors.conduct import Conduct, observe

NEEDS = ("visits", "consent", "requests", "cookies", "rtb", "vendor_lists", "vendors", "vendor_disclosures")
EPRIVACY = "ePrivacy Directive 2002/58/EC art. 5(3)"
TCF = "IAB Europe TCF Policies"
CJEU = "CJEU C-604/22 IAB Europe (2024): TC strings are personal data, IAB Europe a joint controller"
APD = "Belgian DPA (APD/GBA) decision 21/2022 on the TCF"
CNIL = ("Loi Informatique et Libertés art. 82; CNIL guidelines and recommendation on trackers "
        "(deliberations 2020-091 and 2020-092)")
MAX_NAME = 80  # characters of a vendor name (published by the vendor: hostile text) kept in a detail


def conducts(ctx: Context) -> list[Conduct]:
    """Declared versus observed for the runs in scope, computed once per audit (every vendor rule reads it)."""
    cached = getattr(ctx, "_vendor_conduct", None)
    if cached is None:
        crawl_ids = [r["crawl_id"] for r in ctx.rows("SELECT crawl_id FROM temp.audit_scope ORDER BY crawl_id")]
        cached = observe(ctx.store.conn, crawl_ids) if crawl_ids else []
        ctx._vendor_conduct = cached  # type: ignore[attr-defined]
    return cached


def _vendor(c: Conduct) -> str:
    name = " ".join((c.vendor_name or "").split())
    name = name if len(name) <= MAX_NAME else name[:MAX_NAME - 1] + "…"
    return f"{name or 'vendor'} [GVL vendor {c.vendor_id}]"


def _gvl(c: Conduct) -> str:
    return f"Global Vendor List version {c.vendor_list_version}" if c.vendor_list_version is not None else \
        "the recorded Global Vendor List"


def _hits(ctx: Context, check: str, keep: Callable[[Conduct], bool], title: str,
          detail: Callable[[Conduct], str], facts: Callable[[Conduct], dict]) -> Iterator[Hit]:
    """One hit per (site, phase, vendor) whose conduct `keep` selects; evidence: its visits, the rows `check`
    proves with, and the visits' files."""
    for c in conducts(ctx):
        if not keep(c):
            continue
        proof = [Evidence(t, i) for t, i in c.proof.get(check, ())]
        yield Hit(
            subject=c.site, title=f"{c.site}: {title} ({_vendor(c)}, {c.phase} phase)",
            detail=f"In the {c.phase} phase on {c.site}, {detail(c)} (compared with {_gvl(c)}).",
            facts={"vendor": c.vendor_id, "phase": c.phase, **facts(c)},
            evidence=tuple(evidence("visits", c.visit_ids) + sorted(set(proof)) + ctx.visit_files(c.visit_ids)),
            crawl_id=c.crawl_id, visit_id=c.landing_visit_id)


@rule(id="vendors.undisclosed-cookie", version="1", severity="medium",
      title="Cookie the vendor's disclosure does not declare",
      needs=NEEDS,
      legal={"eu": f"{EPRIVACY}; GDPR arts. 5(1)(a) and 13; {TCF} (Device Storage Disclosure)",
             "fr": f"{CNIL}; GDPR arts. 5(1)(a) and 13"},
      explanation="""Every vendor of the IAB's Global Vendor List publishes a "Device Storage Disclosure": the exact
      cookies it stores, on which domains and for how long. Sites show it to visitors so they know what they agree
      to. This vendor stored cookies on its own domains that its disclosure does not list: visitors were told less
      than what happened.""")
def undisclosed_cookie(ctx: Context) -> Iterator[Hit]:
    yield from _hits(
        ctx, "undisclosed_cookies", lambda c: bool(c.undisclosed_cookies), "cookie not in the vendor's disclosure",
        lambda c: (f"{_vendor(c)} stored {plural(len(c.undisclosed_cookies), 'cookie')} its Device Storage "
                   f"Disclosure does not declare ({listing(c.undisclosed_cookies)})"),
        lambda c: {"cookies": c.undisclosed_cookies})


@rule(id="vendors.undisclosed-storage", version="1", severity="medium",
      title="Browser storage the vendor's disclosure does not declare",
      needs=(*NEEDS, "storage_items"),
      legal={"eu": f"{EPRIVACY}; GDPR arts. 5(1)(a) and 13; {TCF} (Device Storage Disclosure, type web)",
             "fr": f"{CNIL}; GDPR arts. 5(1)(a) and 13"},
      explanation="""A vendor's Device Storage Disclosure declares, besides cookies, the keys it keeps in the
      browser's other storage (localStorage, sessionStorage, IndexedDB: type "web"). Its own origins stored keys the
      disclosure does not list: storing on a device needs the same information and consent, whatever the means.""")
def undisclosed_storage(ctx: Context) -> Iterator[Hit]:
    yield from _hits(
        ctx, "undisclosed_storage", lambda c: bool(c.undisclosed_storage), "storage not in the vendor's disclosure",
        lambda c: (f"{_vendor(c)} stored {plural(len(c.undisclosed_storage), 'key')} in the browser's storage that "
                   f"its Device Storage Disclosure does not declare ({listing(c.undisclosed_storage)})"),
        lambda c: {"keys": c.undisclosed_storage})


@rule(id="vendors.cookie-longer-than-declared", version="1", severity="medium",
      title="Cookie kept longer than the vendor declares",
      needs=NEEDS,
      legal={"eu": f"{EPRIVACY}; GDPR arts. 5(1)(a), 5(1)(e) and 13; {TCF} (cookieMaxAgeSeconds)",
             "fr": f"{CNIL}; GDPR arts. 5(1)(e) and 13"},
      explanation="""The vendor declares how long its cookies last, in its Device Storage Disclosure or in the Global
      Vendor List itself (cookieMaxAgeSeconds). A cookie it stored asked the browser to keep it longer than that
      (by more than a day). Visitors who accepted a shorter retention were tracked for longer.""")
def cookie_longer_than_declared(ctx: Context) -> Iterator[Hit]:
    yield from _hits(
        ctx, "longer_cookies", lambda c: bool(c.longer_cookies), "cookie kept longer than declared",
        lambda c: (f"{_vendor(c)} stored " + "; ".join(
            f"{item['name']} for {item['days']:g} days (declared: {item['declared_days']:g})"
            for item in c.longer_cookies[:8]) + (f" and {len(c.longer_cookies) - 8} more" if len(c.longer_cookies) > 8
                                                  else "")),
        lambda c: {"cookies": [{"name": i["name"], "days": i["days"], "declared_days": i["declared_days"]}
                               for i in c.longer_cookies]})


@rule(id="vendors.undisclosed-domain", version="1", severity="low",
      title="Domain contacted that the vendor's disclosure does not list",
      needs=NEEDS,
      legal={"eu": f"GDPR arts. 5(1)(a) and 13; {TCF} (Device Storage Disclosure domains)",
             "fr": f"{CNIL}; GDPR arts. 5(1)(a) and 13"},
      explanation="""A vendor's Device Storage Disclosure lists the domains it uses. The browser contacted hosts of
      this vendor (hosts mouchard knows as the vendor's, or its bidding endpoints) that the disclosure does not name.
      A host known only as its company's (any of the company's businesses) is never held to the disclosure.""")
def undisclosed_domain(ctx: Context) -> Iterator[Hit]:
    yield from _hits(
        ctx, "undisclosed_domains", lambda c: bool(c.undisclosed_domains), "domain not in the vendor's disclosure",
        lambda c: (f"the browser contacted {plural(len(c.undisclosed_domains), 'host')} of {_vendor(c)} that its "
                   f"Device Storage Disclosure does not list ({listing(c.undisclosed_domains)})"),
        lambda c: {"hosts": c.undisclosed_domains})


@rule(id="vendors.purpose-without-basis", version="1", severity="high",
      title="Data reached a vendor for purposes the consent string does not allow",
      needs=NEEDS,
      legal={"eu": f"{EPRIVACY}; GDPR arts. 5(1)(b), 6(1)(a), 6(1)(f) and 7; {TCF}; {CJEU}; {APD}",
             "fr": f"{CNIL}; GDPR arts. 6 and 7; {APD}"},
      explanation="""The vendor declares in the Global Vendor List the purposes it processes data for, each on
      consent or on legitimate interest. The site's TC string in force when the data was sent (a request with a
      cookie or a body, a cookie it set, or a bid request) gave it neither basis for some of these purposes:
      no consent for it and the purpose, no legitimate interest signalled, or a publisher restriction removing it.
      On a TCF page before any string exists, nothing is allowed.""")
def purpose_without_basis(ctx: Context) -> Iterator[Hit]:
    yield from _hits(
        ctx, "without_basis", lambda c: bool(c.purposes_without_basis), "purposes without a legal basis",
        lambda c: (f"data reached {_vendor(c)} although the TC string in force gave it no basis for "
                   f"{plural(len(c.purposes_without_basis), 'declared purpose')} "
                   f"({', '.join(map(str, c.purposes_without_basis))})"),
        lambda c: {"purposes": c.purposes_without_basis})


@rule(id="vendors.forbidden-legitimate-interest", version="1", severity="medium",
      title="Legitimate interest signalled where TCF policy requires consent",
      needs=NEEDS,
      legal={"eu": f"GDPR arts. 6(1)(a) and 6(1)(f); {TCF}, appendix A (purposes 1, 3-6 need consent); {APD}",
             "fr": f"{CNIL}; GDPR art. 6(1)(f); {APD}"},
      explanation="""Since TCF 2.2 (policy version 4), storing or reading information on a device (purpose 1) and
      the profiling and personalisation purposes (3 to 6) may only rest on consent. The site's TC string signalled
      legitimate interest for such purposes with this vendor's legitimate-interest bit set.""")
def forbidden_legitimate_interest(ctx: Context) -> Iterator[Hit]:
    yield from _hits(
        ctx, "forbidden_li", lambda c: bool(c.forbidden_legitimate_interest),
        "legitimate interest for purposes that need consent",
        lambda c: (f"the TC string signalled legitimate interest for {_vendor(c)} for "
                   f"{plural(len(c.forbidden_legitimate_interest), 'purpose')} TCF policy reserves to consent "
                   f"({', '.join(map(str, c.forbidden_legitimate_interest))})"),
        lambda c: {"purposes": c.forbidden_legitimate_interest})


@rule(id="vendors.precise-geo-without-opt-in", version="1", severity="high",
      title="Precise location sent in bid requests without the opt-in",
      needs=NEEDS,
      legal={"eu": f"{EPRIVACY}; GDPR arts. 5(1)(a), 6(1)(a) and 7; {TCF} (special feature 1); {CJEU}",
             "fr": f"{CNIL}; GDPR arts. 6(1)(a) and 7"},
      explanation="""Precise geolocation is a TCF "special feature": it needs the visitor's explicit opt-in, recorded
      in the TC string. Bid requests sent to this vendor carried the device's or user's coordinates, precise to
      a few hundred metres or better (3 decimals or a GPS fix), while the TC string in force had no opt-in.""")
def precise_geo_without_opt_in(ctx: Context) -> Iterator[Hit]:
    yield from _hits(
        ctx, "precise_geo", lambda c: c.precise_geo_without_opt_in > 0, "precise location without opt-in",
        lambda c: (f"{plural(c.precise_geo_without_opt_in, 'bid request')} to {_vendor(c)} carried precise "
                   "coordinates while precise geolocation (special feature 1) was not opted in"),
        lambda c: {"bid_requests": c.precise_geo_without_opt_in})


@rule(id="vendors.not-in-cmp-list", version="1", severity="medium",
      title="Vendor called that the site's consent banner did not disclose",
      needs=NEEDS,
      legal={"eu": f"GDPR arts. 5(1)(a), 7 and 13; {TCF} (disclosed vendors); {CJEU}; {APD}",
             "fr": f"{CNIL}; GDPR arts. 7 and 13"},
      explanation="""A TCF consent banner lists the vendors it asks consent for, and the TC string records that list
      (the disclosed-vendors segment). This vendor received requests or bid requests although the banner never
      showed it to the visitor: its consent cannot have been informed.""")
def not_in_cmp_list(ctx: Context) -> Iterator[Hit]:
    yield from _hits(
        ctx, "not_in_cmp_list", lambda c: bool(c.not_in_cmp_list), "vendor not disclosed by the banner",
        lambda c: f"{_vendor(c)} was called although the TC string's disclosed vendors do not include it",
        lambda c: {"hosts": c.hosts})


@rule(id="vendors.deleted-vendor-called", version="1", severity="medium",
      title="Vendor called that the Global Vendor List marks deleted",
      needs=NEEDS,
      legal={"eu": f"GDPR arts. 5(1)(a) and 6(1)(a); {TCF}; {APD}", "fr": f"{CNIL}; GDPR art. 6(1)(a)"},
      explanation="""The Global Vendor List marks this vendor deleted: it left the framework, and no consent string
      can validly cover it any more. The page still sent it requests, cookies or bid requests.""")
def deleted_vendor_called(ctx: Context) -> Iterator[Hit]:
    yield from _hits(
        ctx, "deleted", lambda c: bool(c.deleted), "vendor deleted from the Global Vendor List",
        lambda c: (f"{_vendor(c)}, marked deleted in the list, was called "
                   f"({plural(c.requests, 'request')}, {plural(c.cookies, 'cookie')})"),
        lambda c: {"hosts": c.hosts})


RULES = (undisclosed_cookie, undisclosed_storage, cookie_longer_than_declared, undisclosed_domain, purpose_without_basis,
         forbidden_legitimate_interest, precise_geo_without_opt_in, not_in_cmp_list, deleted_vendor_called)
