"""Data-broker rules, from what `brokers crawl` saw on brokers' own sites (`broker_pages`).

Hidden rights pages (noindex, robots.txt...), dead rights links, no Global Privacy Control statement, privacy
policies that changed since the previous crawl.
"""

from __future__ import annotations

from collections.abc import Iterator

from audits.rules.base import SCOPE, Context, Hit, evidence, group_by, listing, loads, plural, rule

RIGHTS_KINDS = ("opt-out", "deletion", "access", "rights")
DEAD = ("http-error", "dns-error", "tls-error", "not-found")  # not timeout or bot-wall: those prove nothing
RIGHTS_EU = "GDPR art. 12(2) (facilitate the exercise of rights) and arts. 15, 17 and 21"
DELETE_ACT = "Delete Act, Cal. Civ. Code §1798.99.80 et seq."


def _pages(ctx: Context, where: str) -> list[dict]:
    return ctx.rows(f"""
        SELECT p.*, b.name AS broker, b.key AS broker_key, b.registry
        FROM broker_pages p JOIN brokers b ON b.id = p.broker_id
        WHERE p.crawl_id IN {SCOPE} AND ({where})
        ORDER BY b.key, b.id, p.kind, p.id""")


def _subject(row: dict) -> str:
    return row["broker"] or row["broker_key"] or f"broker {row['broker_id']}"


def _hit(group: list[dict], title: str, detail: str, facts: dict, extra: list | None = None) -> Hit:
    first = group[0]
    return Hit(subject=_subject(first), title=title, detail=detail, facts=facts,
               evidence=tuple(evidence("brokers", (r["broker_id"] for r in group))
                              + evidence("broker_pages", (r["id"] for r in group + (extra or [])))),
               crawl_id=first["crawl_id"], broker_id=first["broker_id"])


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
                   + (f"; signals: {listing(reasons)}." if reasons else "."),
                   {"pages": pages, "reasons": reasons})


@rule(id="brokers.dead-rights-link", version="1", severity="high",
      title="Dead link to a rights page",
      needs=("brokers", "broker_pages"),
      legal={"us-ca": f"{DELETE_ACT} (registration must link to a working rights page); Cal. Civ. Code §1798.135; "
                      "11 CCR §7004",
             "eu": RIGHTS_EU, "fr": RIGHTS_EU, "uk": "UK GDPR art. 12(2)"},
      explanation="""The link a data broker gives for exercising privacy rights (opting out, deleting data) does not
      work: the page is missing, the server errors, or the site does not exist. People cannot use a right they
      cannot reach.""")
def dead_rights_link(ctx: Context) -> Iterator[Hit]:
    rows = _pages(ctx, f"p.status IN ({','.join(repr(s) for s in DEAD)}) "
                       f"AND p.kind IN ({','.join(repr(k) for k in RIGHTS_KINDS)})")
    for _, group in group_by(rows, "broker_key", "broker_id"):
        pages = sorted({f"{r['kind']} {r['url']} ({r['status']}{' ' + str(r['http_status']) if r['http_status'] else ''})"
                        for r in group})
        name = _subject(group[0])
        yield _hit(group, f"{name}: dead rights link",
                   f"{name}'s {listing(pages, 4)} could not be reached"
                   + (f": {group[0]['reason']}." if group[0]["reason"] else "."),
                   {"pages": pages})


@rule(id="brokers.no-gpc-support", version="1", severity="low",
      title="No Global Privacy Control statement",
      needs=("brokers", "broker_pages"),
      legal={"us-ca": "11 CCR §7025 (opt-out preference signals); Cal. Civ. Code §1798.135(b)",
             "eu": "GDPR art. 21(5) (objection by automated means)", "fr": "GDPR art. 21(5) (objection by automated means)",
             "uk": "UK GDPR art. 21(5) (objection by automated means)"},
      explanation="""A business that honours the Global Privacy Control signal can say so in a small file,
      /.well-known/gpc.json. This broker's site has no such file, an invalid one, or one saying it does not honour
      the signal. A data broker sells personal data by definition, so California requires it to honour the signal;
      the missing statement is a lead to check, not a proof on its own.""")
def no_gpc_support(ctx: Context) -> Iterator[Hit]:
    # only when the broker's site answered: an unreachable site says nothing about its GPC statement
    rows = _pages(ctx, """p.kind = 'gpc' AND p.gpc IS NOT NULL AND lower(p.gpc) NOT IN ('true', '1')
                          AND EXISTS (SELECT 1 FROM broker_pages h WHERE h.crawl_id = p.crawl_id
                                      AND h.broker_id = p.broker_id AND h.kind = 'home' AND h.status = 'ok')""")
    for _, group in group_by(rows, "broker_key", "broker_id"):
        values = sorted({(r["gpc"] or "").lower() for r in group})
        name = _subject(group[0])
        yield _hit(group, f"{name}: no Global Privacy Control statement",
                   f"{name}'s /.well-known/gpc.json is {listing(values)}.", {"gpc": values})


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
        what = "privacy policy" if row["kind"] == "policy" else f"{row['kind']} page"
        yield _hit([row], f"{name}: {what} changed",
                   f"{name}'s {what} ({row['url']}) changed since {(old['fetched_at'] or 'the previous crawl')[:10]}"
                   f" (sha256 {old['text_sha256'][:12]}… → {row['text_sha256'][:12]}…).",
                   {"kind": row["kind"], "url": row["url"], "before": old["text_sha256"], "after": row["text_sha256"]},
                   extra=[old])


RULES = (hidden_opt_out_page, dead_rights_link, no_gpc_support, policy_changed)
