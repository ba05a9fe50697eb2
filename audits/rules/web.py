"""Web rules: canvas fingerprinting, session replay, key logging, identifier syncing between companies.

These hold in every consent phase: they read the per-script verdicts (`scripts`, derived from `js_calls` by the
published thresholds), what typed text was found in traffic (`leaks` of a visit) and `id_syncs`.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

from audits.rules.base import SCOPE, Context, Hit, evidence, group_by, listing, plural, rule

EPRIVACY = "ePrivacy Directive 2002/58/EC art. 5(3)"


def _script_name(url: str | None) -> str:
    """A script's host and path, without query or fragment (cache busters would make findings unstable)."""
    parts = urlsplit(url or "")
    return f"{parts.hostname or ''}{parts.path}" if parts.hostname else (url or "inline script").split("?")[0]


def _landing(rows: list[dict]) -> dict:
    return min(rows, key=lambda r: (r["depth"], r["visit_id"]))


def _scripts(ctx: Context, flag_sql: str) -> list[dict]:
    return ctx.rows(f"""
        SELECT s.*, v.site AS visit_site, v.crawl_id, v.phase, coalesce(v.depth, 0) AS depth
        FROM scripts s JOIN visits v ON v.id = s.visit_id
        WHERE v.crawl_id IN {SCOPE} AND v.site IS NOT NULL AND ({flag_sql})
        ORDER BY v.site, s.id""")


def _calls(ctx: Context, scripts: list[dict], apis: tuple[str, ...]) -> list[int]:
    """js_calls ids of these scripts in their visits whose API is one of `apis` (prefix match)."""
    ids: list[int] = []
    for s in scripts:
        for row in ctx.rows("SELECT id, api FROM js_calls WHERE visit_id = ? AND script_url IS ? ORDER BY id",
                            (s["visit_id"], s["script_url"])):
            if (row["api"] or "").startswith(apis):
                ids.append(row["id"])
    return ids


@rule(id="web.canvas-fingerprinting", version="1", severity="medium",
      title="Canvas fingerprinting",
      needs=("visits", "scripts", "js_calls"),
      legal={"eu": f"{EPRIVACY} (EDPB Guidelines 2/2023 on its technical scope); GDPR art. 6",
             "fr": "Loi Informatique et Libertés art. 82; CNIL guidelines on trackers (deliberation 2020-091)",
             "uk": "PECR 2003 reg. 6; ICO statement on fingerprinting (2024)",
             "us-ca": "Cal. Civ. Code §1798.140(v) and (x) (probabilistic identifiers are personal information); "
                      "§1798.100(b)"},
      explanation="""A script drew hidden text or shapes on an invisible canvas and read the picture back. Small
      differences between computers make that picture a near-unique identifier, which follows the visitor without
      any cookie and cannot be deleted. It is reading information from the visitor's device, which needs consent in
      Europe.""")
def canvas_fingerprinting(ctx: Context) -> Iterator[Hit]:
    rows = _scripts(ctx, "s.canvas_fingerprinting = 1 OR s.canvas_font_fingerprinting = 1")
    for (site,), group in group_by(rows, "visit_site"):
        kinds = sorted({"canvas" for r in group if r["canvas_fingerprinting"]}
                       | {"canvas-font" for r in group if r["canvas_font_fingerprinting"]})
        scripts = sorted({_script_name(r["script_url"]) for r in group})
        visit_ids = sorted({r["visit_id"] for r in group})
        landing = _landing(group)
        calls = _calls(ctx, group, ("HTMLCanvasElement.", "CanvasRenderingContext2D."))
        yield Hit(
            subject=site, title=f"{site}: canvas fingerprinting by {plural(len(scripts), 'script')}",
            detail=(f"On {plural(len(visit_ids), 'page')} of {site}, {listing(scripts, 5)} "
                    f"{'draws and reads back' if len(scripts) == 1 else 'draw and read back'} a hidden canvas "
                    f"({' and '.join(kinds)} fingerprinting, by the published thresholds)."),
            facts={"kinds": kinds, "scripts": scripts, "phases": sorted({r["phase"] or "" for r in group})},
            evidence=tuple(evidence("visits", visit_ids) + evidence("scripts", (r["id"] for r in group))
                           + evidence("js_calls", calls) + ctx.visit_files(visit_ids)),
            crawl_id=landing["crawl_id"], visit_id=landing["visit_id"])


@rule(id="web.session-replay", version="1", severity="high",
      title="Session recording (session replay)",
      needs=("visits", "scripts", "requests"),
      legal={"eu": f"{EPRIVACY}; GDPR arts. 5(1)(c) and 6",
             "fr": "Loi Informatique et Libertés art. 82; GDPR arts. 5(1)(c) and 6",
             "uk": "PECR 2003 reg. 6; UK GDPR arts. 5(1)(c) and 6",
             "us-ca": "Cal. Penal Code §631 (California Invasion of Privacy Act); Cal. Civ. Code §1798.100"},
      explanation="""A session-recording service was on the page: it records what the visitor does (mouse
      movements, clicks, scrolling, often what they type) and sends it to a third party, who can replay the visit
      like a video. Such recordings capture far more than a site needs.""")
def session_replay(ctx: Context) -> Iterator[Hit]:
    scripts = _scripts(ctx, "s.session_replay = 1")
    requests = ctx.rows(f"""
        SELECT r.id, r.visit_id, r.host, r.site, r.tracker_entity, v.site AS visit_site, v.crawl_id, v.phase,
               coalesce(v.depth, 0) AS depth
        FROM requests r JOIN visits v ON v.id = r.visit_id
        WHERE v.crawl_id IN {SCOPE} AND v.site IS NOT NULL AND r.third_party = 1
          AND r.tracker_category = 'session-replay'
        ORDER BY v.site, r.id""")
    sites = sorted({r["visit_site"] for r in scripts + requests})
    for site in sites:
        s_rows = [r for r in scripts if r["visit_site"] == site]
        r_rows = [r for r in requests if r["visit_site"] == site]
        services = sorted({r["tracker_entity"] or r["site"] or r["host"] for r in r_rows}
                          | {r["tracker_entity"] or r["script_site"] or _script_name(r["script_url"]) for r in s_rows})
        visit_ids = sorted({r["visit_id"] for r in s_rows + r_rows})
        landing = _landing(s_rows + r_rows)
        what = [plural(len(s_rows), "script") + " recording the page"] if s_rows else []
        what += [plural(len(r_rows), "request") + " to the recording service"] if r_rows else []
        yield Hit(
            subject=site, title=f"{site}: session recording by {listing(services, 3)}",
            detail=(f"On {plural(len(visit_ids), 'page')} of {site}, session recording by {listing(services)}: "
                    f"{' and '.join(what)}."),
            facts={"services": services},
            evidence=tuple(evidence("visits", visit_ids) + evidence("scripts", (r["id"] for r in s_rows))
                           + evidence("requests", (r["id"] for r in r_rows)) + ctx.visit_files(visit_ids)),
            crawl_id=landing["crawl_id"], visit_id=landing["visit_id"])


@rule(id="web.key-logging", version="1", severity="high",
      title="Typed text sent before the form was submitted",
      needs=("visits", "leaks", "requests"),
      legal={"eu": "GDPR arts. 5(1)(a), 5(1)(c) and 6",
             "fr": "GDPR arts. 5(1)(a), 5(1)(c) and 6; Loi Informatique et Libertés art. 82",
             "uk": "UK GDPR arts. 5(1)(a), 5(1)(c) and 6",
             "us-ca": "Cal. Penal Code §631 (California Invasion of Privacy Act); Cal. Civ. Code §1798.100(b)"},
      explanation="""mouchard typed known values (such as a test e-mail address) into the page's form fields and
      never pressed "send". The values were found anyway in requests to another company, sometimes hashed or
      encoded: what visitors type is collected as they type it.""")
def key_logging(ctx: Context) -> Iterator[Hit]:
    rows = ctx.rows(f"""
        SELECT l.id, l.visit_id, l.request_id, l.identifier, l.destination_site, l.destination_host, l.chain,
               v.site, v.crawl_id, coalesce(v.depth, 0) AS depth
        FROM leaks l JOIN visits v ON v.id = l.visit_id
        WHERE v.crawl_id IN {SCOPE} AND v.site IS NOT NULL AND coalesce(l.third_party, 1) = 1
        ORDER BY v.site, l.id""")
    for (site,), group in group_by(rows, "site"):
        kinds = sorted({r["identifier"] or "typed_text" for r in group})
        destinations = sorted({r["destination_site"] or r["destination_host"] or "" for r in group})
        visit_ids = sorted({r["visit_id"] for r in group})
        landing = _landing(group)
        yield Hit(
            subject=site, title=f"{site}: typed text sent to {listing(destinations, 3)}",
            detail=(f"On {plural(len(visit_ids), 'page')} of {site}, values typed but never submitted "
                    f"({listing(kinds)}) were found in {plural(len(group), 'request')} to {listing(destinations)}"
                    f" (encodings: {listing({r['chain'] or 'plain' for r in group}, 4)})."),
            facts={"kinds": kinds, "destinations": destinations},
            evidence=tuple(evidence("visits", visit_ids) + evidence("leaks", (r["id"] for r in group))
                           + evidence("requests", (r["request_id"] for r in group)) + ctx.visit_files(visit_ids)),
            crawl_id=landing["crawl_id"], visit_id=landing["visit_id"])


@rule(id="web.id-sync", version="1", severity="medium",
      title="Identifiers synced between companies",
      needs=("visits", "id_syncs", "requests", "cookies"),
      legal={"eu": f"{EPRIVACY}; GDPR arts. 6 and 26", "fr": "Loi Informatique et Libertés art. 82; GDPR arts. 6 and 26",
             "uk": "PECR 2003 reg. 6; UK GDPR arts. 6 and 26",
             "us-ca": "Cal. Civ. Code §1798.140(ad) and (ah) (sale and sharing); §1798.120"},
      explanation="""One company's identifier for the visitor (a cookie value) was passed to another company, in a
      URL, a redirect or a request body. This "cookie syncing" lets advertisers match their profiles of the same
      person and trade data about them.""")
def id_sync(ctx: Context) -> Iterator[Hit]:
    rows = ctx.rows(f"""
        SELECT i.id, i.visit_id, i.request_id, i.cookie_id, i.from_site, i.to_site, i.from_entity, i.to_entity,
               v.site, v.crawl_id, coalesce(v.depth, 0) AS depth
        FROM id_syncs i JOIN visits v ON v.id = i.visit_id
        WHERE v.crawl_id IN {SCOPE} AND v.site IS NOT NULL
        ORDER BY v.site, i.id""")
    for (site,), group in group_by(rows, "site"):
        pairs = sorted({f"{r['from_entity'] or r['from_site']} → {r['to_entity'] or r['to_site']}" for r in group})
        visit_ids = sorted({r["visit_id"] for r in group})
        landing = _landing(group)
        yield Hit(
            subject=site, title=f"{site}: identifiers synced between {plural(len(pairs), 'pair')} of companies",
            detail=f"On {plural(len(visit_ids), 'page')} of {site}, visitor identifiers went {listing(pairs)}.",
            facts={"pairs": pairs},
            evidence=tuple(evidence("visits", visit_ids) + evidence("id_syncs", (r["id"] for r in group))
                           + evidence("requests", (r["request_id"] for r in group))
                           + evidence("cookies", (r["cookie_id"] for r in group)) + ctx.visit_files(visit_ids)),
            crawl_id=landing["crawl_id"], visit_id=landing["visit_id"])


RULES = (canvas_fingerprinting, session_replay, key_logging, id_sync)
