"""The company page, `/company/{name}`: where a tracker company was seen, what it received, before or after consent,
who it synced identifiers with, who owns it by which list, and the findings that name it.

The key is `tracker_entity` exactly as stored (the classifier's one spelling per company). Its sites, phases and
cookie names come from the rollups `company_sites` and `company_cookies` (mouchard.classification.company_rollup),
so a company in a third of a million requests costs a few rows per site; a database without them (built before the
rollup, or not rebuilt since) is read from `requests` and `cookies` by their `tracker_entity` index instead. Every
other query starts from an index on the company's name (`flows`, `leaks`, `rtb` on `tracker_entity`, `id_syncs` on
`from_entity` and `to_entity`) and is cut by a LIMIT. Identifier values are never shown: kinds, names and hashes.
"""

from __future__ import annotations

import csv
import io
import re
import sqlite3
from functools import lru_cache
from importlib import resources

from mouchard import __version__

from mouchard.publishing.i18n import format_cell, format_number, plural, t
from mouchard.publishing.pages import page_url
from mouchard.publishing.pages.common import PHASES, by_severity, cut, ranked_strings, row_url, rows_url
from mouchard.publishing.pages.company_text import ROWS, category_label, cut_caption, kind_label
from mouchard.publishing.pages.model import Fact, Link, Page, Section, Table
from mouchard.publishing.pages.site_vendors import gvl_facts

SAMPLE = 500  # rows read to name the lists that classified a company (labels repeat: a few rules per company)


def exists(conn: sqlite3.Connection, sql: str, *params: object) -> bool:
    """True if `sql` (a SELECT 1 ... LIMIT 1 on an index) returns a row."""
    return conn.execute(sql, params).fetchone() is not None


# -- the page ---------------------------------------------------------------------------------------------------

def build(conn: sqlite3.Connection, key: str, lang: str, query: dict) -> Page | None:
    """The page of the company `key` (tracker_entity as stored), or None when no row names it."""
    entity = key
    if not entity or not _known(conn, entity):
        return None
    web = exists(conn, "SELECT 1 FROM visits LIMIT 1")
    apps = exists(conn, "SELECT 1 FROM flows LIMIT 1")
    categories = _categories(conn, entity)
    lede = (t("company.lede", lang, entity=entity,
                   categories=", ".join(category_label(category, lang) for category in categories)) if categories
            else t("company.lede.unclassed", lang, entity=entity))
    rolled = _rolled_up(conn, entity)
    visits = _visits(conn, entity, rolled)
    cookies = _cookies(conn, entity, rolled)
    sections = (
        _sites_section(entity, visits, web, lang),
        _apps_section(conn, entity, apps, lang),
        _cookies_section(entity, cookies, web or apps, lang),
        _consent_section(conn, entity, visits, web, rolled, lang),
        _leaks_section(conn, entity, web or apps, lang),
        _rtb_section(conn, entity, web or apps, lang),
        _syncs_section(conn, entity, web or apps, lang),
        _owner_section(conn, entity, lang),
        _findings_section(conn, entity, lang),
    )
    return Page(kind="company", key=entity, lang=lang, title=t("company.title", lang, entity=entity), lede=lede,
                sections=sections)


def _known(conn: sqlite3.Connection, entity: str) -> bool:
    """Whether any table names this company (each check one index lookup; `brokers` is small): every column the
    tables and questions link to a company page is here, so no such link leads to a 404."""
    checks = ("SELECT 1 FROM requests WHERE tracker_entity = ? LIMIT 1",
              "SELECT 1 FROM cookies WHERE tracker_entity = ? LIMIT 1",
              "SELECT 1 FROM flows WHERE tracker_entity = ? LIMIT 1",
              "SELECT 1 FROM leaks WHERE tracker_entity = ? LIMIT 1",
              "SELECT 1 FROM rtb WHERE tracker_entity = ? LIMIT 1",
              "SELECT 1 FROM scripts WHERE tracker_entity = ? LIMIT 1",
              "SELECT 1 FROM js_calls WHERE tracker_entity = ? LIMIT 1",
              "SELECT 1 FROM storage_items WHERE tracker_entity = ? LIMIT 1",
              "SELECT 1 FROM brokers WHERE tracker_entity = ? LIMIT 1",  # a few thousand rows at most
              "SELECT 1 FROM id_syncs WHERE from_entity = ? LIMIT 1",
              "SELECT 1 FROM id_syncs WHERE to_entity = ? LIMIT 1")
    return any(exists(conn, sql, entity) for sql in checks)


def _categories(conn: sqlite3.Connection, entity: str) -> list[str]:
    """The tracker categories lists gave the company, from a bounded sample of its requests, cookies and flows."""
    found: set[str] = set()
    for table in ("requests", "cookies", "flows"):
        found.update(row[0] for row in conn.execute(
            f"SELECT DISTINCT tracker_category FROM (SELECT tracker_category FROM [{table}] "
            "WHERE tracker_entity = ? LIMIT ?) WHERE tracker_category IS NOT NULL", (entity, SAMPLE)))
    return sorted(found)[:10]


def _rolled_up(conn: sqlite3.Connection, entity: str) -> bool:
    """Whether the company rollups hold this company (else its web rows are read from requests and cookies)."""
    try:
        return exists(conn, "SELECT 1 FROM company_sites WHERE tracker_entity = ? LIMIT 1", entity)
    except sqlite3.OperationalError:  # a database from before the rollup tables
        return False


# The company's visits per (site, phase) with their request counts: from the rollup, or from the requests.
SEEN_ROLLED = """
    SELECT site, phase, visits, requests FROM company_sites WHERE tracker_entity = :entity AND visits > 0"""
SEEN_LIVE = """
    SELECT v.site, v.phase, count(*) AS visits, sum(per_visit.n) AS requests
    FROM (SELECT visit_id, count(*) AS n FROM requests WHERE tracker_entity = :entity GROUP BY visit_id) AS per_visit
    CROSS JOIN visits v ON v.id = per_visit.visit_id GROUP BY v.site, v.phase"""


def _visits(conn: sqlite3.Connection, entity: str, rolled: bool) -> dict:
    """The company's visits grouped by phase, by site (top ROWS) and in total, from one pass over its rows."""
    rows = conn.execute(f"""
        WITH seen AS MATERIALIZED ({SEEN_ROLLED if rolled else SEEN_LIVE})
        SELECT 'total', NULL, count(DISTINCT site), sum(visits), sum(requests) FROM seen
        UNION ALL SELECT 'phase', phase, NULL, sum(visits), sum(requests) FROM seen GROUP BY phase
        UNION ALL SELECT * FROM (SELECT 'site', site, NULL, sum(visits), sum(requests) FROM seen GROUP BY site
                                 ORDER BY 5 DESC, 2 LIMIT :rows)""", {"entity": entity, "rows": ROWS}).fetchall()
    out: dict = {"sites": 0, "visits": 0, "requests": 0, "phase": {}, "site": []}
    for kind, name, sites, visits, requests in rows:
        if kind == "total":
            out.update(sites=sites or 0, visits=visits or 0, requests=requests or 0)
        elif kind == "phase":
            out["phase"][name] = (visits, requests)
        else:
            out["site"].append((name, visits, requests))
    return out


def _sites_section(entity: str, visits: dict, web: bool, lang: str) -> Section:
    heading = t("company.sites.heading", lang)
    if not visits["visits"]:
        if not web:
            return Section("sites", heading, "none", t("company.verdict.none", lang),
                           (Fact(t("company.sites.unmeasured", lang)),))
        return Section("sites", heading, "good", t("company.sites.verdict.good", lang),
                       (Fact(t("company.sites.absent", lang, entity=entity)),))
    sites = plural("company.n.site", visits["sites"], lang)
    fact = Fact(t("company.sites.fact", lang, entity=entity, sites=sites,
                  visits=plural("company.n.visit", visits["visits"], lang),
                  requests=plural("company.n.request", visits["requests"], lang)),
                (Link(t("company.link.requests", lang), rows_url("requests", tracker_entity=entity)),))
    table = Table(
        columns=(t("company.col.site", lang), t("company.col.visits", lang), t("company.col.requests", lang)),
        rows=tuple((Link(cut(site), page_url("site", site, lang)) if site else None, format_cell(n_visits, lang),
                    format_cell(n_requests, lang)) for site, n_visits, n_requests in visits["site"]),
        caption=cut_caption(visits["sites"], lang))
    return Section("sites", heading, "bad", t("company.sites.verdict.bad", lang, sites=sites), (fact,), table)


def _apps_section(conn: sqlite3.Connection, entity: str, captured: bool, lang: str) -> Section:
    heading = t("company.apps.heading", lang)
    rows = conn.execute(
        "SELECT app, count(*), count(*) OVER (), sum(count(*)) OVER () FROM flows WHERE tracker_entity = ? "
        "GROUP BY app ORDER BY 2 DESC, 1 LIMIT ?", (entity, ROWS)).fetchall()
    if not rows:
        if not captured:
            return Section("apps", heading, "none", t("company.verdict.none", lang),
                           (Fact(t("company.apps.unmeasured", lang)),))
        return Section("apps", heading, "good", t("company.apps.verdict.good", lang),
                       (Fact(t("company.apps.absent", lang, entity=entity)),))
    total_apps, total_flows = rows[0][2], rows[0][3]
    apps = plural("company.n.app", total_apps, lang)
    fact = Fact(t("company.apps.fact", lang, entity=entity, flows=plural("company.n.flow", total_flows, lang),
                  apps=apps), (Link(t("company.link.flows", lang), rows_url("flows", tracker_entity=entity)),))
    table = Table(columns=(t("company.col.app", lang), t("company.col.flows", lang)),
                  rows=tuple((Link(cut(app), page_url("app", app, lang)) if app else None, format_cell(n, lang))
                             for app, n, _, _ in rows),
                  caption=cut_caption(total_apps, lang))
    return Section("apps", heading, "bad", t("company.apps.verdict.bad", lang, apps=apps), (fact,), table)


# The company's cookies, one row per name and crawl (rollup) or per cookie: web ones from the rollup and app ones
# (visit_id IS NULL, on the cookies(tracker_entity, visit_id) index), or all of them from the cookies table.
NAMED_ROLLED = """
    SELECT name, cookies AS n, identifier_cookies AS ids, max_lifetime_days AS days, cookies_before_consent AS before_
    FROM company_cookies WHERE tracker_entity = :entity
    UNION ALL
    SELECT name, 1, identifier = 1, coalesce(requested_lifetime_days, lifetime_days), before_consent = 1
    FROM cookies WHERE tracker_entity = :entity AND visit_id IS NULL"""
NAMED_LIVE = """
    SELECT name, 1 AS n, identifier = 1 AS ids, coalesce(requested_lifetime_days, lifetime_days) AS days,
           before_consent = 1 AS before_
    FROM cookies WHERE tracker_entity = :entity"""


def _cookies(conn: sqlite3.Connection, entity: str, rolled: bool) -> list[tuple]:
    """Per cookie name: cookies, identifiers, longest lifetime asked for (else kept), set before consent; with the
    totals over every name (window columns) on each row."""
    return conn.execute(f"""
        WITH named AS ({NAMED_ROLLED if rolled else NAMED_LIVE})
        SELECT name, sum(n), sum(ids), max(days), sum(before_), count(*) OVER (), sum(sum(n)) OVER (),
               sum(sum(ids)) OVER (), max(max(days)) OVER ()
        FROM named GROUP BY name ORDER BY 2 DESC, 1 LIMIT :rows""", {"entity": entity, "rows": ROWS}).fetchall()


def _cookies_section(entity: str, rows: list[tuple], measured: bool, lang: str) -> Section:
    heading = t("company.cookies.heading", lang)
    if not rows:
        if not measured:
            return Section("cookies", heading, "none", t("company.verdict.none", lang))
        return Section("cookies", heading, "good", t("company.cookies.verdict.good", lang),
                       (Fact(t("company.cookies.absent", lang, entity=entity)),))
    names, cookies, identifiers, longest = rows[0][5], rows[0][6], rows[0][7] or 0, rows[0][8]
    facts = [Fact(t("company.cookies.fact", lang, entity=entity, cookies=plural("company.n.cookie", cookies, lang),
                    names=plural("company.n.name", names, lang)),
                  (Link(t("company.link.cookies", lang), rows_url("cookies", tracker_entity=entity)),))]
    if identifiers:
        facts.append(Fact(plural("company.cookies.identifiers", identifiers, lang,
                            cookies=plural("company.n.cookie", identifiers, lang)),
                          (Link(t("company.link.identifier_cookies", lang),
                                rows_url("cookies", tracker_entity=entity, identifier=1)),)))
    if longest is not None:
        facts.append(Fact(t("company.cookies.lifetime", lang, days=plural("company.n.day", round(longest), lang))))
    table = Table(
        columns=(t("company.col.cookie", lang), t("company.col.cookies", lang), t("company.col.identifiers", lang),
                 t("company.col.lifetime", lang), t("company.col.before_consent", lang)),
        rows=tuple((Link(cut(name), rows_url("cookies", tracker_entity=entity, name=name)), format_cell(n, lang),
                    format_cell(ids or 0, lang), format_cell(days, lang), format_cell(before or 0, lang))
                   for name, n, ids, days, before, *_ in rows),
        caption=cut_caption(names, lang))
    verdict = "bad" if identifiers else "warn"
    return Section("cookies", heading, verdict, t(f"company.cookies.verdict.{verdict}", lang), tuple(facts), table)


def _consent_section(conn: sqlite3.Connection, entity: str, visits: dict, web: bool, rolled: bool,
                     lang: str) -> Section:
    heading = t("company.consent.heading", lang)
    if rolled:
        by_phase = conn.execute("""
            SELECT phase, sum(cookies), sum(cookies_before_consent), sum(cookies_after_reject) FROM company_sites
            WHERE tracker_entity = ? GROUP BY phase HAVING sum(cookies) > 0""", (entity,)).fetchall()
    else:
        by_phase = conn.execute("""
            SELECT v.phase, count(*), sum(c.before_consent = 1), sum(v.phase = 'reject' AND c.before_consent = 0)
            FROM cookies c CROSS JOIN visits v ON v.id = c.visit_id WHERE c.tracker_entity = ? GROUP BY v.phase""",
                                (entity,)).fetchall()
    cookies = {phase: (n, before or 0, after_reject or 0) for phase, n, before, after_reject in by_phase}
    if not visits["visits"] and not cookies:
        verdict = "none"
        return Section("consent", heading, verdict, t("company.verdict.none", lang),
                       (Fact(t("company.consent.unmeasured", lang, entity=entity)),) if web else ())
    facts = []
    for phase in PHASES:
        if phase in visits["phase"]:
            facts.append(Fact(t(f"company.consent.{phase}", lang, entity=entity,
                                visits=plural("company.n.visit", visits["phase"][phase][0], lang))))
    before = sum(row[1] for row in cookies.values())
    after_reject = sum(row[2] for row in cookies.values())
    if before:
        facts.append(Fact(plural("company.consent.before", before, lang, entity=entity,
                            cookies=plural("company.n.cookie", before, lang)),
                          (Link(t("company.link.before_consent", lang),
                                rows_url("cookies", tracker_entity=entity, before_consent=1)),)))
    if after_reject:
        facts.append(Fact(plural("company.consent.after_reject", after_reject, lang, entity=entity,
                            cookies=plural("company.n.cookie", after_reject, lang))))
    without_consent = before or after_reject or any(p in visits["phase"] for p in ("initial", "reject", "gpc"))
    verdict = "bad" if without_consent else "good"
    phases = [p for p in PHASES if p in visits["phase"] or p in cookies]
    phases += sorted(p for p in set(visits["phase"]) | set(cookies) if p not in PHASES and p is not None)
    table = Table(
        columns=(t("company.col.phase", lang), t("company.col.visits", lang), t("company.col.requests", lang),
                 t("company.col.cookies", lang), t("company.col.before_consent", lang)),
        rows=tuple((t(f"company.phase.{p}", lang) if p in PHASES else cut(p),
                    format_cell(visits["phase"].get(p, (0, 0))[0], lang), format_cell(visits["phase"].get(p, (0, 0))[1], lang),
                    format_cell(cookies.get(p, (0, 0, 0))[0], lang), format_cell(cookies.get(p, (0, 0, 0))[1], lang))
                   for p in phases[:ROWS]))
    return Section("consent", heading, verdict, t(f"company.consent.verdict.{verdict}", lang), tuple(facts), table)


def _leaks_section(conn: sqlite3.Connection, entity: str, measured: bool, lang: str) -> Section:
    heading = t("company.leaks.heading", lang)
    rows = conn.execute("""
        SELECT identifier, count(*), min(precision_m), count(DISTINCT chain), sum(third_party),
               count(*) OVER (), sum(count(*)) OVER ()
        FROM leaks WHERE tracker_entity = ? GROUP BY identifier ORDER BY 2 DESC, 1 LIMIT ?""",
                        (entity, ROWS)).fetchall()
    if not rows:
        if not measured:
            return Section("leaks", heading, "none", t("company.verdict.none", lang))
        return Section("leaks", heading, "good", t("company.leaks.verdict.good", lang),
                       (Fact(t("company.leaks.absent", lang, entity=entity)),))
    kinds = ", ".join(f"{kind_label(kind, lang)} ({format_number(n, lang)})"
                      for kind, n, *_ in rows[:10])
    facts = [Fact(t("company.leaks.fact", lang, entity=entity, values=plural("company.n.value", rows[0][6], lang),
                    kinds=kinds), (Link(t("company.link.leaks", lang), rows_url("leaks", tracker_entity=entity)),))]
    for kind, n, precision, *_ in rows:
        if kind == "location":
            positions = plural("company.n.position", n, lang)
            text = (t("company.leaks.positions", lang, positions=positions,
                      metres=plural("company.n.metre", round(precision), lang)) if precision is not None
                    else t("company.leaks.positions_unknown", lang, positions=positions))
            facts.append(Fact(text, (Link(t("company.link.positions", lang),
                                          rows_url("leaks", tracker_entity=entity, identifier="location")),)))
    table = Table(
        columns=(t("company.col.kind", lang), t("company.col.values", lang), t("company.col.precision", lang),
                 t("company.col.encodings", lang), t("company.col.third_party", lang)),
        rows=tuple((Link(kind_label(kind, lang), rows_url("leaks", tracker_entity=entity, identifier=kind)),
                    format_cell(n, lang),
                    format_cell(precision, lang), format_cell(chains, lang), format_cell(third or 0, lang))
                   for kind, n, precision, chains, third, *_ in rows),
        caption=cut_caption(rows[0][5], lang))
    return Section("leaks", heading, "bad", t("company.leaks.verdict.bad", lang), tuple(facts), table)


def _rtb_section(conn: sqlite3.Connection, entity: str, measured: bool, lang: str) -> Section:
    heading = t("company.rtb.heading", lang)
    # Distinct lists of fields are few (bidders send the same fields every time); 200 of them is plenty.
    rows = conn.execute("SELECT personal_fields, count(*) FROM rtb WHERE tracker_entity = ? GROUP BY personal_fields "
                        "ORDER BY 2 DESC LIMIT 200", (entity,)).fetchall()
    if not rows:
        if not measured:
            return Section("rtb", heading, "none", t("company.verdict.none", lang))
        return Section("rtb", heading, "good", t("company.rtb.verdict.good", lang),
                       (Fact(t("company.rtb.absent", lang, entity=entity)),))
    events = sum(n for _, n in rows)
    ranked = ranked_strings(rows)
    link = (Link(t("company.link.rtb", lang), rows_url("rtb", tracker_entity=entity)),)
    events_text = plural("company.n.event", events, lang)
    if not ranked:
        return Section("rtb", heading, "warn", t("company.rtb.verdict.warn", lang),
                       (Fact(t("company.rtb.no_fields", lang, entity=entity, events=events_text), link),))
    fact = Fact(plural("company.rtb.fact", events, lang, entity=entity, events=events_text,
                  fields=", ".join(name for name, _ in ranked[:10])), link)
    table = Table(columns=(t("company.col.field", lang), t("company.col.events", lang)),
                  rows=tuple((name, format_cell(n, lang)) for name, n in ranked[:ROWS]),
                  caption=cut_caption(len(ranked), lang))
    return Section("rtb", heading, "bad", t("company.rtb.verdict.bad", lang), (fact,), table)


def _syncs_section(conn: sqlite3.Connection, entity: str, measured: bool, lang: str) -> Section:
    heading = t("company.syncs.heading", lang)
    rows = conn.execute("""
        SELECT * FROM (SELECT 'to', to_entity, to_site, count(*), group_concat(DISTINCT identifier_name)
                       FROM id_syncs WHERE from_entity = ? GROUP BY to_entity, to_site ORDER BY 4 DESC LIMIT ?)
        UNION ALL
        SELECT * FROM (SELECT 'from', from_entity, from_site, count(*), group_concat(DISTINCT identifier_name)
                       FROM id_syncs WHERE to_entity = ? GROUP BY from_entity, from_site ORDER BY 4 DESC LIMIT ?)""",
                        (entity, ROWS, entity, ROWS)).fetchall()
    if not rows:
        if not measured:
            return Section("syncs", heading, "none", t("company.verdict.none", lang))
        return Section("syncs", heading, "good", t("company.syncs.verdict.good", lang),
                       (Fact(t("company.syncs.absent", lang, entity=entity)),))
    facts = []
    for direction, key, link_filter in (("to", "company.syncs.sent", "from_entity"),
                                        ("from", "company.syncs.received", "to_entity")):
        mine = [row for row in rows if row[0] == direction]
        if mine:
            companies = {row[1] or row[2] for row in mine}
            link_key = "company.link.sent" if direction == "to" else "company.link.received"
            facts.append(Fact(t(key, lang, entity=entity, companies=plural("company.n.company", len(companies), lang),
                                syncs=plural("company.n.sync", sum(row[3] for row in mine), lang)),
                              (Link(t(link_key, lang), rows_url("id_syncs", **{link_filter: entity})),)))
    table = Table(
        columns=(t("company.col.direction", lang), t("company.col.company", lang), t("company.col.site", lang),
                 t("company.col.syncs", lang), t("company.col.identifier_names", lang)),
        rows=tuple((t(f"company.direction.{direction}", lang),
                    Link(cut(other), page_url("company", other, lang)) if other else None,
                    cut(site) or None, format_cell(n, lang), cut(names) or None)
                   for direction, other, site, n, names in rows))
    return Section("syncs", heading, "bad", t("company.syncs.verdict.bad", lang), tuple(facts), table)


@lru_cache(maxsize=1)
def _shipped() -> tuple[str, dict[str, list[str]], dict[str, str]]:
    """The list shipped with mouchard (mouchard/data/trackers.csv: domain, entity, category, country, notes): its
    version, each entity's domains and country. Read here as data, since publishing may not import classification
    (the classifier parses the same file, and its entity spelling is this file's)."""
    text = (resources.files("mouchard") / "data" / "trackers.csv").read_text(encoding="utf-8")
    domains: dict[str, list[str]] = {}
    countries: dict[str, str] = {}
    for row in csv.DictReader(io.StringIO(text)):
        entity, domain = (row.get("entity") or "").strip(), (row.get("domain") or "").strip().lower()
        if entity and domain:
            domains.setdefault(entity, []).append(domain)
            if (row.get("country") or "").strip():
                countries.setdefault(entity, row["country"].strip())
    return __version__, {entity: sorted(set(names)) for entity, names in domains.items()}, countries


def _owner_section(conn: sqlite3.Connection, entity: str, lang: str) -> Section:
    heading = t("company.owner.heading", lang)
    version, owned, countries = _shipped()
    facts = []
    if entity in owned:
        domains = owned[entity]
        facts.append(Fact(t("company.owner.shipped", lang, version=version, entity=entity,
                            domains=plural("company.n.domain", len(domains), lang),
                            country=countries.get(entity) or t("company.unknown_country", lang),
                            examples=", ".join(domains[:5]))))
    else:
        facts.append(Fact(t("company.owner.not_shipped", lang, version=version, entity=entity)))
    # tracker_list is 'list: rule' ('mouchard: doubleclick.net'); a bounded sample of each table names the lists.
    labels: dict[str, str] = {}
    for table in ("requests", "cookies", "flows", "leaks", "rtb"):
        for (label,) in conn.execute(f"SELECT DISTINCT tracker_list FROM (SELECT tracker_list FROM [{table}] "
                                     "WHERE tracker_entity = ? LIMIT ?) WHERE tracker_list IS NOT NULL LIMIT 20",
                                     (entity, SAMPLE)):
            name, _, rule = str(label).partition(":")
            labels.setdefault(name.strip(), rule.strip())
    rows = []
    for name in sorted(labels)[:ROWS]:
        recorded = conn.execute("SELECT version, licence FROM tracker_lists WHERE name = ? ORDER BY id DESC LIMIT 1",
                                (name,)).fetchone()
        rows.append((Link(cut(name), rows_url("tracker_lists", name=name)),
                     cut(recorded[0]) if recorded and recorded[0] else t("company.not_recorded", lang),
                     cut(recorded[1]) if recorded and recorded[1] else None, cut(labels[name]) or None))
    if labels:
        facts.append(Fact(t("company.owner.lists", lang, lists=", ".join(cut(name) for name in sorted(labels)[:10])),
                          (Link(t("company.link.tracker_lists", lang), rows_url("tracker_lists")),)))
    else:
        facts.append(Fact(t("company.owner.no_lists", lang)))
    facts += gvl_facts(conn, entity, lang)  # "declared in the GVL as vendor N", when the vendor list matched it
    verdict = "good" if entity in owned or labels else "warn"
    table = Table(columns=(t("company.col.list", lang), t("company.col.version", lang),
                           t("company.col.licence", lang), t("company.col.rule", lang)), rows=tuple(rows)) \
        if rows else None
    return Section("owner", heading, verdict, t(f"company.owner.verdict.{verdict}", lang), tuple(facts), table)


def _findings_section(conn: sqlite3.Connection, entity: str, lang: str) -> Section:
    heading = t("company.findings.heading", lang)
    # findings is a small derived table (one row per rule and subject) without the company as a column: its titles
    # and details are searched for the name, then checked on word boundaries ("Meta" is not in "Metadata").
    candidates = conn.execute(
        "SELECT id, severity, title, subject, detail FROM findings WHERE instr(title, ?) > 0 OR instr(detail, ?) > 0 "
        f"ORDER BY {by_severity()}, id LIMIT 1000",
        (entity, entity)).fetchall()
    word = re.compile(rf"(?<!\w){re.escape(entity)}(?!\w)")
    rows = [row for row in candidates if word.search(row[2] or "") or word.search(row[4] or "")]
    if not rows:
        return Section("findings", heading, "good", t("company.findings.verdict.good", lang),
                       (Fact(t("company.findings.absent", lang, entity=entity)),))
    high = sum(1 for row in rows if row[1] == "high")
    fact = Fact(plural("company.findings.fact", len(rows), lang, entity=entity,
                     findings=plural("company.n.finding", len(rows), lang),
                  high=format_number(high, lang)))
    table = Table(
        columns=(t("company.col.severity", lang), t("company.col.title", lang), t("company.col.subject", lang),
                 t("company.col.row", lang)),
        rows=tuple((cut(severity), cut(title), cut(subject) or None,
                    Link(t("company.link.finding", lang, id=row_id), row_url("findings", row_id)))
                   for row_id, severity, title, subject, _ in rows[:ROWS]),
        caption=cut_caption(len(rows), lang))
    verdict = "bad" if high else "warn"
    return Section("findings", heading, verdict, t(f"company.findings.verdict.{verdict}", lang), (fact,), table)
