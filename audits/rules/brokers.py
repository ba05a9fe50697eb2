"""Data-broker rules, from what `brokers crawl` saw on brokers' own sites (`broker_pages`).

Hidden rights pages (noindex, robots.txt...), dead rights links, no Global Privacy Control statement, privacy
policies that changed since the previous crawl, and a broker's own site ignoring the GPC signal (read from the
browser crawl's `gpc` visits of the broker's home page, judged exactly as `consent.gpc-ignored` judges any site).
"""

from __future__ import annotations

from collections.abc import Iterator

from mouchard.decode.domains import site_of

from audits.rules.base import SCOPE, Context, Hit, evidence, group_by, listing, loads, plural, rule
from audits.rules.consent import (SALE_OR_SHARE, _companies, _cookie_names, _tracking_cookies, _tracking_requests,
                                  _usp_not_opted_out, _what_happened)

RIGHTS_KINDS = ("opt-out", "deletion", "access", "rights")
DEAD = ("http-error", "dns-error", "tls-error", "not-found")  # not timeout or bot-wall: those prove nothing
RIGHTS_EU = "GDPR art. 12(2) (facilitate the exercise of rights) and arts. 15, 17 and 21"
DELETE_ACT = "Delete Act, Cal. Civ. Code §1798.99.80 et seq."
OBJECTION = "GDPR art. 21(5) (objection by automated means)"


def _pages(ctx: Context, where: str) -> list[dict]:
    return ctx.rows(f"""
        SELECT p.*, b.name AS broker, b.key AS broker_key, b.registry
        FROM broker_pages p JOIN brokers b ON b.id = p.broker_id
        WHERE p.crawl_id IN {SCOPE} AND ({where})
        ORDER BY b.key, b.id, p.kind, p.id""")


def _subject(row: dict) -> str:
    return row["broker"] or row["broker_key"] or f"broker {row['broker_id']}"


def _what(kind: str) -> str:
    """How a page kind reads in a sentence: the registered rights link is the one the registry publishes."""
    return "registered rights page" if kind == "rights" else f"{kind} page"


def _hit(group: list[dict], title: str, detail: str, facts: dict, extra: list | None = None,
         more: tuple = (), visit_id: int | None = None) -> Hit:
    first = group[0]
    return Hit(subject=_subject(first), title=title, detail=detail, facts=facts,
               evidence=tuple(evidence("brokers", (r["broker_id"] for r in group))
                              + evidence("broker_pages", (r["id"] for r in group + (extra or []))) + list(more)),
               crawl_id=first["crawl_id"], broker_id=first["broker_id"], visit_id=visit_id)


@rule(id="brokers.hidden-opt-out-page", version="1", severity="high",
      title="Rights page hidden from search engines",
      needs=("brokers", "broker_pages"),
      legal={"us-ca": f"Cal. Civ. Code §1798.135; 11 CCR §7004 (no dark patterns) and §7026; {DELETE_ACT}",
             "eu": RIGHTS_EU, "fr": RIGHTS_EU, "uk": "UK GDPR art. 12(2) and arts. 15, 17 and 21"},
      explanation="""The page where people opt out of the sale of their data, or ask for its deletion, tells
      search engines not to list it (a "noindex" robots tag, an X-Robots-Tag header or a robots.txt rule). Someone
      searching for how to opt out will not find it. The Markup and CalMatters found 35 brokers doing this in
      2025. As they did, pages hosted on a privacy-request service (OneTrust, TrustArc...) are not counted: there
      the noindex is the service's default, not the broker's choice.""")
def hidden_opt_out_page(ctx: Context) -> Iterator[Hit]:
    rows = _pages(ctx, f"p.hidden = 1 AND p.hosted_by IS NULL AND p.kind IN ({','.join(repr(k) for k in RIGHTS_KINDS)})")
    for _, group in group_by(rows, "broker_key", "broker_id"):
        reasons = sorted({reason for r in group for reason in (loads(r["hidden_reasons"], []) or [])})
        pages = sorted({f"{r['kind']} {r['final_url'] or r['url']}" for r in group})
        name = _subject(group[0])
        yield _hit(group, f"{name}: {listing(sorted({r['kind'] for r in group}))} page hidden from search engines",
                   f"{name} keeps {plural(len(pages), 'rights page')} out of search results ({listing(pages, 4)})"
                   + (f"; signals: {listing(reasons)}." if reasons else ".")
                   + " People looking for how to opt out or delete their data will not find it with a search engine.",
                   {"pages": pages, "reasons": reasons})


@rule(id="brokers.dead-rights-link", version="1", severity="high",
      title="Dead link to a rights page",
      needs=("brokers", "broker_pages"),
      legal={"us-ca": f"{DELETE_ACT} (registration must link to a working rights page); Cal. Civ. Code §1798.135; "
                      "11 CCR §7004",
             "eu": RIGHTS_EU, "fr": RIGHTS_EU, "uk": "UK GDPR art. 12(2)"},
      explanation="""The link a data broker gives for exercising privacy rights (opting out, deleting data) does not
      work: the page is missing, the server errors, or the site does not exist. People cannot use a right they
      cannot reach. A page behind a bot wall, or one that timed out, is not counted: it may be there for a
      person.""")
def dead_rights_link(ctx: Context) -> Iterator[Hit]:
    rows = _pages(ctx, f"p.status IN ({','.join(repr(s) for s in DEAD)}) "
                       f"AND p.kind IN ({','.join(repr(k) for k in RIGHTS_KINDS)})")
    for _, group in group_by(rows, "broker_key", "broker_id"):
        pages = sorted({f"{r['kind']} {r['url']} ({r['status']}{' ' + str(r['http_status']) if r['http_status'] else ''})"
                        for r in group})
        answers = sorted({f"{_what(r['kind'])} {r['url']} ({r['reason'] or r['status']})" for r in group})
        name = _subject(group[0])
        registered = any(r["kind"] == "rights" for r in group)
        yield _hit(group, f"{name}: dead {'registered ' if registered else ''}rights link",
                   f"{name}'s {listing(answers, 4)} could not be reached. A person following "
                   f"{'this link' if len(answers) == 1 else 'these links'} cannot exercise their rights there.",
                   {"pages": pages})


@rule(id="brokers.no-gpc-support", version="1", severity="low",
      title="No Global Privacy Control statement",
      needs=("brokers", "broker_pages"),
      legal={"us-ca": "11 CCR §7025 (opt-out preference signals); Cal. Civ. Code §1798.135(b)",
             "eu": OBJECTION, "fr": OBJECTION, "uk": f"UK {OBJECTION}"},
      explanation="""A business that honours the Global Privacy Control signal can say so in a small file,
      /.well-known/gpc.json. This broker's site has no such file, an invalid one, or one saying it does not honour
      the signal. A data broker sells personal data by definition, so California requires it to honour the signal;
      the missing statement is a lead to check, not a proof on its own: whether the site honours the signal is a
      browser measurement (rule brokers.gpc-ignored).""")
def no_gpc_support(ctx: Context) -> Iterator[Hit]:
    # only when the broker's site answered: an unreachable site says nothing about its GPC statement
    rows = _pages(ctx, """p.kind = 'gpc' AND p.gpc IS NOT NULL AND lower(p.gpc) NOT IN ('true', '1')
                          AND EXISTS (SELECT 1 FROM broker_pages h WHERE h.crawl_id = p.crawl_id
                                      AND h.broker_id = p.broker_id AND h.kind = 'home' AND h.status = 'ok')""")
    for _, group in group_by(rows, "broker_key", "broker_id"):
        values = sorted({(r["gpc"] or "").lower() for r in group})
        answers = sorted({f"{r['url']} is {(r['gpc'] or '').lower()} (HTTP {r['http_status'] or 'none'})"
                          for r in group})
        name = _subject(group[0])
        yield _hit(group, f"{name}: no Global Privacy Control statement",
                   f"{name}'s site answered, but {listing(answers, 4)}. The statement is optional; whether the "
                   "site honours the Sec-GPC signal is measured by the browser crawl, not by this file.",
                   {"gpc": values})


@rule(id="brokers.policy-changed", version="1", severity="info",
      title="Privacy policy or rights page changed since the previous crawl",
      needs=("brokers", "broker_pages"),
      legal={"us-ca": "Cal. Civ. Code §1798.130(a)(5) (privacy policy kept up to date)",
             "eu": "GDPR arts. 12 to 14 (information to data subjects)",
             "fr": "GDPR arts. 12 to 14 (information to data subjects)",
             "uk": "UK GDPR arts. 12 to 14 (information to data subjects)"},
      explanation="""The text of the broker's privacy policy (or of a rights page) differs from the text mouchard
      saved on an earlier crawl of the same page. Both snapshots are in the database, so the change can be read
      word for word.""")
def policy_changed(ctx: Context) -> Iterator[Hit]:
    kinds = ",".join(repr(k) for k in ("policy", *RIGHTS_KINDS))
    rows = _pages(ctx, f"p.kind IN ({kinds}) AND p.status = 'ok' AND p.text_sha256 IS NOT NULL")
    for row in rows:
        before = ctx.rows("""
            SELECT p.* FROM broker_pages p JOIN brokers b ON b.id = p.broker_id
            WHERE b.key IS ? AND b.registry IS ? AND p.url = ? AND p.kind = ? AND p.status = 'ok'
              AND p.text_sha256 IS NOT NULL AND p.crawl_id < ?
            ORDER BY p.crawl_id DESC, p.id DESC LIMIT 1""",
                          (row["broker_key"], row["registry"], row["url"], row["kind"], row["crawl_id"]))
        if not before or before[0]["text_sha256"] == row["text_sha256"]:
            continue
        name = _subject(row)
        old = before[0]
        what = "privacy policy" if row["kind"] == "policy" else _what(row["kind"])
        yield _hit([row], f"{name}: {what} changed",
                   f"{name}'s {what} ({row['url']}) changed since {(old['fetched_at'] or 'the previous crawl')[:10]}"
                   f" (sha256 {old['text_sha256'][:12]}… → {row['text_sha256'][:12]}…).",
                   {"kind": row["kind"], "url": row["url"], "before": old["text_sha256"], "after": row["text_sha256"]},
                   extra=[old])


def _browser_visits(ctx: Context, site: str) -> list[dict]:
    """The browser crawl's `initial` and `gpc` visits of a site, from the latest run that visited it with GPC.

    Any run, not only those in scope: the broker crawl reads no visits itself; the browser crawl of the brokers'
    home pages (`mouchard crawl --gpc`) is another run, made before or after it.
    """
    return ctx.rows("""
        SELECT id, crawl_id, site, url, phase, coalesce(depth, 0) AS depth FROM visits
        WHERE (site = ? OR final_site = ?) AND phase IN ('initial', 'gpc')
          AND crawl_id = (SELECT max(crawl_id) FROM visits WHERE (site = ? OR final_site = ?) AND phase = 'gpc')
        ORDER BY phase, depth, id""", (site, site, site, site))


@rule(id="brokers.gpc-ignored", version="1", severity="high",
      title="A data broker's own site ignores Global Privacy Control",
      needs=("brokers", "broker_pages", "visits", "cookies", "requests", "consent"),
      legal={"us-ca": "Cal. Civ. Code §1798.120 and §1798.135(b); 11 CCR §7025 (opt-out preference signals)",
             "eu": OBJECTION, "fr": OBJECTION, "uk": f"UK {OBJECTION}"},
      explanation="""The browser crawl visited the data broker's home page with the Global Privacy Control signal
      on (the Sec-GPC: 1 header and navigator.globalPrivacyControl), and the page still let advertising and other
      data-selling trackers identify the visitor, or its own US Privacy string said the visitor had not opted out.
      The test is the one of consent.gpc-ignored, applied to the site of a registered broker and tied to its
      registration; the same visit without the signal is shown for comparison. Needs a browser crawl of the
      brokers' home pages with GPC (mouchard crawl --gpc).""")
def gpc_ignored(ctx: Context) -> Iterator[Hit]:
    homes = _pages(ctx, "p.kind = 'home' AND p.status = 'ok'")
    for _, group in group_by(homes, "broker_key", "broker_id"):
        home = group[-1]  # the latest crawl's home page: where the broker's site is today
        site = site_of(home["final_url"] or home["url"])
        visits = _browser_visits(ctx, site)
        with_gpc = [v["id"] for v in visits if v["phase"] == "gpc"]
        without = [v["id"] for v in visits if v["phase"] == "initial"]
        if not with_gpc:
            continue
        cookies = _tracking_cookies(ctx, with_gpc, SALE_OR_SHARE)
        requests = _tracking_requests(ctx, with_gpc, SALE_OR_SHARE)
        marks = ",".join("?" * len(with_gpc))
        usp = [r for r in ctx.rows(f"""SELECT id, visit_id, raw FROM consent WHERE visit_id IN ({marks})
                                       AND framework = 'usp' ORDER BY id""", with_gpc) if _usp_not_opted_out(r["raw"])]
        if not cookies and not requests and not usp:
            continue
        before = _companies(_tracking_cookies(ctx, without, SALE_OR_SHARE),
                            _tracking_requests(ctx, without, SALE_OR_SHARE))
        name = _subject(home)
        what = _what_happened(cookies, requests)
        detail = (f"With Global Privacy Control on, on {plural(len(with_gpc), 'page')} of {name}'s own site ({site})"
                  + (f", {what}." if what else ".")
                  + (f" The site's US Privacy string ({usp[0]['raw']}) says the visitor has not opted out."
                     if usp else "")
                  + (f" Without the signal: {listing(before)}." if without and before
                     else " Without the signal: no such tracker." if without else " No visit without the signal."))
        landing = min((v for v in visits if v["phase"] == "gpc"), key=lambda v: (v["depth"], v["id"]))
        yield _hit(group, f"{name}: its site ignores Global Privacy Control", detail,
                   {"site": site, "companies": _companies(cookies, requests), "cookies": _cookie_names(cookies),
                    "usp_not_opted_out": bool(usp)},
                   more=tuple(evidence("visits", with_gpc + without) + evidence("consent", (r["id"] for r in usp))
                              + evidence("cookies", (c["id"] for c in cookies))
                              + evidence("requests", (r["id"] for r in requests)) + ctx.visit_files(with_gpc)),
                   visit_id=landing["id"])


RULES = (hidden_opt_out_page, dead_rights_link, no_gpc_support, policy_changed, gpc_ignored)
