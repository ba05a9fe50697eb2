"""Change over time, `/changes?before=<crawl id>&after=<crawl id>`: two web crawls of the same list compared.

By default `after` is the newest web crawl with visits and `before` the newest earlier crawl of the same site list
(`crawls.config.targets_sha256`, the digest `mouchard crawl` records; else the same `list` file name). Only what
both crawls measured is compared: a site over the phases that loaded in both crawls; one with no phase in common is
listed as not compared, never reported as "every tracker gone". The page says which tracker companies
appeared and disappeared, overall and per site, and how consent behaved differently per site and phase (consent
platform, whether the click was verified, tracker companies called after "reject"), with links to the visits of
both crawls. Crawl ids that are not web crawls of this database are ignored (never echoed).

Everything is read from the rollups (`site_summary`, `company_sites`) and the differences are taken in SQLite:
only what changed leaves it, so two crawls of 5,000 sites compare without reading their requests.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping

from mouchard.publishing.i18n import register, t
from mouchard.publishing.pages import page_url
from mouchard.publishing.pages.common import json_dict, rows, rows_url, sql_json_field
from mouchard.publishing.pages.compare import choose_int, has_visits, web_crawls
from mouchard.publishing.pages.model import Fact, Link, Page, Section, Table, Verdict

LIMIT = 500_000  # sites per crawl, companies per crawl: far above any crawl
MAX_DIFF = 5_000  # (site, company) changes read each way; a monthly re-crawl of a list has a few dozen
MAX_ROWS = 200  # rows shown per table
MAX_NAMES = 20  # companies named in one sentence
ACTIONS = ("reject", "accept")

MESSAGES = {
    "changes.title": {"fr": "Ce qui a changé entre deux collectes", "en": "What changed between two crawls"},
    "changes.lede": {
        "fr": "Collecte n° {before} ({before_date}) comparée à la collecte n° {after} ({after_date}) : {sites} "
              "site(s) mesuré(s) dans les deux.",
        "en": "Crawl #{before} ({before_date}) compared with crawl #{after} ({after_date}): {sites} site(s) "
              "measured in both."},
    "changes.none.heading": {"fr": "Rien à comparer", "en": "Nothing to compare"},
    "changes.none.verdict": {"fr": "Non mesuré", "en": "Not measured"},
    "changes.none.no_crawl": {
        "fr": "Cette base ne contient aucune collecte web.", "en": "This database holds no web crawl."},
    "changes.none.single": {
        "fr": "La collecte n° {crawl} est la seule de sa liste de sites : relancez mouchard crawl avec la même liste "
              "(chaque mois, par exemple) pour voir ce qui change.",
        "en": "Crawl #{crawl} is the only one of its site list: run mouchard crawl again with the same list (every "
              "month, say) to see what changes."},
    "changes.pairs": {"fr": "Autres comparaisons possibles :", "en": "Other comparisons:"},
    "changes.pair": {"fr": "n° {before} → n° {after}", "en": "#{before} → #{after}"},
    "changes.different_lists": {
        "fr": "Attention : ces deux collectes ne portent pas sur la même liste de sites.",
        "en": "Beware: these two crawls are not of the same site list."},
    "changes.sites.heading": {"fr": "Sites comparés", "en": "Sites compared"},
    "changes.sites.verdict": {"fr": "{count} site(s)", "en": "{count} site(s)"},
    "changes.sites.compared": {
        "fr": "{count} site(s) ont été mesurés dans les deux collectes.",
        "en": "{count} site(s) were measured in both crawls."},
    "changes.sites.failed": {
        "fr": "{count} site(s) non comparé(s) (une visite a échoué ou manque dans l'une des deux collectes) : "
              "{sites}.",
        "en": "{count} site(s) not compared (a visit failed or is missing in one of the crawls): {sites}."},
    "changes.trackers.heading": {"fr": "Entreprises de pistage", "en": "Tracker companies"},
    "changes.trackers.bad": {"fr": "Nouveaux pisteurs", "en": "New trackers"},
    "changes.trackers.good": {"fr": "Aucun nouveau pisteur", "en": "No new tracker"},
    "changes.trackers.none": {"fr": "Non mesuré", "en": "Not measured"},
    "changes.trackers.new": {
        "fr": "Entreprises de pistage apparues ({count}) : {names}.",
        "en": "Tracker companies that appeared ({count}): {names}."},
    "changes.trackers.gone": {
        "fr": "Entreprises de pistage disparues ({count}) : {names}.",
        "en": "Tracker companies gone ({count}): {names}."},
    "changes.trackers.same": {
        "fr": "Aucune entreprise de pistage n'est apparue ni n'a disparu des sites comparés.",
        "en": "No tracker company appeared on or went from the sites compared."},
    "changes.trackers.cut": {
        "fr": "Plus de {count} changements dans un sens : seuls les {count} premiers sont comptés.",
        "en": "More than {count} changes one way: only the first {count} are counted."},
    "changes.unsummarised": {
        "fr": "Les chiffres par site de la collecte n° {crawl} ne sont pas encore calculés : ils le sont à la fin "
              "d'une collecte ; pour une base plus ancienne, lancez mouchard classify.",
        "en": "The per-site figures of crawl #{crawl} are not computed yet: they are at the end of a crawl; for an "
              "older database, run mouchard classify."},
    "changes.trackers.more": {"fr": "… et {count} autre(s) site(s).", "en": "… and {count} more site(s)."},
    "changes.trackers.site": {
        "fr": "{site} : {what}.", "en": "{site}: {what}."},
    "changes.trackers.site_new": {"fr": "nouveaux : {names}", "en": "new: {names}"},
    "changes.trackers.site_gone": {"fr": "disparus : {names}", "en": "gone: {names}"},
    "changes.col.site": {"fr": "Site", "en": "Site"},
    "changes.col.new": {"fr": "Apparus", "en": "Appeared"},
    "changes.col.gone": {"fr": "Disparus", "en": "Gone"},
    "changes.col.before": {"fr": "Avant", "en": "Before"},
    "changes.col.after": {"fr": "Après", "en": "After"},
    "changes.col.phase": {"fr": "Phase", "en": "Phase"},
    "changes.col.change": {"fr": "Changement", "en": "Change"},
    "changes.visits_before": {"fr": "visites avant", "en": "visits before"},
    "changes.visits_after": {"fr": "visites après", "en": "visits after"},
    "changes.visit_before": {"fr": "visite avant", "en": "visit before"},
    "changes.visit_after": {"fr": "visite après", "en": "visit after"},
    "changes.consent.heading": {"fr": "Comportement face au consentement", "en": "Consent behaviour"},
    "changes.consent.bad": {"fr": "Moins respectueux", "en": "Less respectful"},
    "changes.consent.warn": {"fr": "Changé", "en": "Changed"},
    "changes.consent.good": {"fr": "Inchangé", "en": "Unchanged"},
    "changes.consent.none": {"fr": "Non mesuré", "en": "Not measured"},
    "changes.consent.same": {
        "fr": "Aucun changement sur {count} couple(s) site et phase mesurés deux fois.",
        "en": "No change over {count} site and phase pair(s) measured twice."},
    "changes.consent.nothing": {
        "fr": "Aucun site n'a été mesuré dans la même phase par les deux collectes.",
        "en": "No site was measured in the same phase by both crawls."},
    "changes.consent.fact": {
        "fr": "{site}, phase « {phase} » : {what} ({before} → {after}).",
        "en": "{site}, phase \"{phase}\": {what} ({before} → {after})."},
    "changes.what.cmp": {"fr": "plateforme de consentement", "en": "consent platform"},
    "changes.what.verified": {"fr": "clic vérifié", "en": "click verified"},
    "changes.what.after_click": {"fr": "entreprises de pistage après « refuser »",
                                 "en": "tracker companies after \"reject\""},
    "changes.value.yes": {"fr": "oui", "en": "yes"},
    "changes.value.no": {"fr": "non", "en": "no"},
    "changes.value.none": {"fr": "aucune", "en": "none"},
}
register(MESSAGES)


PHASES = ("initial", "reject", "accept", "gpc")


# What both crawls measured: the sites with a visit that loaded in both, each over the phases that loaded in both
# (a phase that failed once, or was added with --gpc, would make trackers look gone or new). site_summary.phases is
# a JSON list of phase names, so `instr(phases, '"reject"')` says whether that phase loaded.
BOTH = "s.visits > 0 AND b.visits > 0"


def in_both(phase: str) -> str:
    """SQL: the phase (a column or a quoted literal) loaded on the site in both crawls (aliases s and b)."""
    quoted = f"'\"' || {phase} || '\"'"
    return f"instr(s.phases, {quoted}) > 0 AND instr(b.phases, {quoted}) > 0"


# Materialised once per query (a few thousand sites from the (crawl_id, site) index), then probed in memory. It is
# symmetric in its two crawls: the same sites and phases whichever way a difference is taken.
COMPARABLE = f"""WITH comparable AS MATERIALIZED (
    SELECT s.site, s.phases AS phases_a, b.phases AS phases_b
    FROM site_summary AS s JOIN site_summary AS b ON b.crawl_id = :after AND b.site = s.site
    WHERE s.crawl_id = :before AND {BOTH}
      AND ({" OR ".join(in_both(repr(phase)) for phase in PHASES)})) """


def compared_sites(conn: sqlite3.Connection, pair: tuple[int, int]) -> tuple[int, int]:
    """(sites compared, site and phase pairs compared)."""
    common = " + ".join(f"({in_both(repr(phase))})" for phase in PHASES)
    count, phases = conn.execute(
        f"SELECT count(*), sum({common}) FROM site_summary AS s "
        f"JOIN site_summary AS b ON b.crawl_id = :after AND b.site = s.site "
        f"WHERE s.crawl_id = :before AND {BOTH} AND ({common}) > 0",
        {"before": pair[0], "after": pair[1]}).fetchone()
    return count or 0, phases or 0


def not_compared(conn: sqlite3.Connection, pair: tuple[int, int]) -> tuple[list[str], int]:
    """The first sites of either crawl that are not compared (failed, missing, no phase in common), and how many."""
    where = ("FROM site_summary AS x WHERE x.crawl_id IN (:before, :after) "
             "AND x.site NOT IN (SELECT site FROM comparable)")
    params = {"before": pair[0], "after": pair[1]}
    count = conn.execute(f"{COMPARABLE} SELECT count(DISTINCT x.site) {where}", params).fetchone()[0]
    first = [r[0] for r in conn.execute(f"{COMPARABLE} SELECT DISTINCT x.site {where} ORDER BY x.site LIMIT :limit",
                                        {**params, "limit": MAX_NAMES})] if count else []
    return first, count


def has_summary(conn: sqlite3.Connection, crawl_id: int) -> bool:
    return conn.execute("SELECT 1 FROM site_summary WHERE crawl_id = ? LIMIT 1", (crawl_id,)).fetchone() is not None


def tracker_changes(conn: sqlite3.Connection, before: int, after: int) -> tuple[list[tuple[str, str]], bool]:
    """(site, company) pairs of the sites compared that `after` saw in a phase both crawls measured and `before`
    never saw on that site in those phases, and whether the list was cut at MAX_DIFF. Walks the company rollup's
    (crawl_id, tracker_entity, site, phase) index in order, so only the differences leave SQLite."""
    common = ("instr(c.phases_a, '\"' || {alias}.phase || '\"') > 0 "
              "AND instr(c.phases_b, '\"' || {alias}.phase || '\"') > 0")
    found = conn.execute(
        # CROSS JOIN keeps company_sites outside: its index order is the GROUP BY's, so LIMIT stops the walk.
        f"{COMPARABLE} SELECT n.site, n.tracker_entity "
        f"FROM company_sites AS n CROSS JOIN comparable AS c ON c.site = n.site "
        f"WHERE n.crawl_id = :after AND {common.format(alias='n')} "
        f"AND NOT EXISTS (SELECT 1 FROM company_sites AS o WHERE o.crawl_id = :before "
        f"AND o.tracker_entity = n.tracker_entity AND o.site = n.site AND {common.format(alias='o')}) "
        f"GROUP BY n.tracker_entity, n.site LIMIT :limit",
        {"before": before, "after": after, "limit": MAX_DIFF + 1}).fetchall()
    return [(site, entity) for site, entity in found[:MAX_DIFF]], len(found) > MAX_DIFF


def consent_changes(conn: sqlite3.Connection, pair: tuple[int, int]) -> list[dict]:
    """The sites compared whose consent platform, verified click or companies after "reject" differ in a phase
    both crawls measured."""
    cmps = [(phase, sql_json_field("s.consent", f"$.{phase}.cmp"), sql_json_field("b.consent", f"$.{phase}.cmp"))
            for phase in PHASES]
    columns = ", ".join(f"{old} AS cmp_{phase}_before, {new} AS cmp_{phase}_after, {in_both(repr(phase))} AS "
                        f"both_{phase}" for phase, old, new in cmps)
    differs = " OR ".join(
        [f"({in_both(repr(phase))} AND coalesce({old}, '') != coalesce({new}, ''))" for phase, old, new in cmps] +
        [f"({in_both(repr(phase))} AND coalesce(s.{column}, 0) != coalesce(b.{column}, 0))"
         for phase, column in (("reject", "reject_verified"), ("accept", "accept_verified"),
                               ("reject", "tracker_entities_after_reject"))])
    return rows(conn, f"SELECT s.site, s.reject_verified AS reject_before, b.reject_verified AS reject_after, "
                      f"s.accept_verified AS accept_before, b.accept_verified AS accept_after, "
                      f"s.tracker_entities_after_reject AS after_reject_before, "
                      f"b.tracker_entities_after_reject AS after_reject_after, {columns} "
                      f"FROM site_summary AS s JOIN site_summary AS b ON b.crawl_id = ? AND b.site = s.site "
                      f"WHERE s.crawl_id = ? AND {BOTH} AND ({differs}) ORDER BY s.site LIMIT ?",
                (pair[1], pair[0], MAX_ROWS))


def companies(conn: sqlite3.Connection, crawl_id: int) -> set[str]:
    """Every tracker company a crawl saw (a few hundred, from the company rollup's index)."""
    return {r[0] for r in conn.execute("SELECT DISTINCT tracker_entity FROM company_sites WHERE crawl_id = ? LIMIT ?",
                                       (crawl_id, LIMIT))}


def list_of(crawl: dict) -> str | None:
    """What makes two crawls "the same list": the targets digest, else the list file name."""
    config = json_dict(crawl.get("config"))
    value = config.get("targets_sha256") or config.get("list")
    return str(value) if value else None


def default_pair(conn: sqlite3.Connection, crawls: list[dict]) -> tuple[int | None, int | None]:
    """(before, after): the newest crawl with visits and the newest earlier crawl of its list with visits."""
    after = next((c for c in crawls if has_visits(conn, c["id"])), None)
    if after is None:
        return None, None
    same = after["list"]
    before = next((c for c in crawls if c["id"] < after["id"] and same and c["list"] == same
                   and has_visits(conn, c["id"])), None)
    return (before["id"] if before else None), after["id"]


def pairs_fact(crawls: list[dict], current: tuple[int | None, int | None], lang: str) -> Fact | None:
    """Links to the other consecutive pairs of crawls of one list (at most 10)."""
    links = []
    for newer in crawls:
        same = newer["list"]
        older = next((c for c in crawls if c["id"] < newer["id"] and same and c["list"] == same), None)
        if older and (older["id"], newer["id"]) != current:
            links.append(Link(t("changes.pair", lang, before=older["id"], after=newer["id"]),
                              page_url("changes", lang=lang, before=str(older["id"]), after=str(newer["id"]))))
        if len(links) == 10:
            break
    return Fact(t("changes.pairs", lang), tuple(links)) if links else None


def build(conn: sqlite3.Connection, key: str, lang: str, query: Mapping[str, str]) -> Page | None:
    """Two crawls compared (`before`, `after`: web crawl ids; default the two newest of one list).
    `/changes/{anything}` is a 404."""
    if key:
        return None
    title = t("changes.title", lang)
    crawls = [{**crawl, "list": list_of(crawl)} for crawl in web_crawls(conn)]  # each config parsed once
    by_id = {c["id"]: c for c in crawls}
    default_before, default_after = default_pair(conn, crawls)
    after = choose_int(query.get("after"), set(by_id)) or default_after
    before = choose_int(query.get("before"), set(by_id))
    if before is None and after is not None:
        before = default_before if after == default_after else next(
            (c["id"] for c in crawls if c["id"] < after and c["list"] and c["list"] == by_id[after]["list"]), None)
    if after is None or before is None:
        facts = [Fact(t("changes.none.single", lang, crawl=after) if after else t("changes.none.no_crawl", lang))]
        pairs = pairs_fact(crawls, (before, after), lang)
        if pairs:
            facts.append(pairs)
        return Page("changes", "", lang, title, sections=(Section(
            "changes", t("changes.none.heading", lang), "none", t("changes.none.verdict", lang), tuple(facts)),))
    missing = next((crawl for crawl in (before, after) if not has_summary(conn, crawl)), None)
    if missing is not None:  # visits recorded, rollup not built (a crawl still running, or an older database)
        return Page("changes", "", lang, title, sections=(Section(
            "changes", t("changes.none.heading", lang), "none", t("changes.none.verdict", lang),
            (Fact(t("changes.unsummarised", lang, crawl=missing)),)),))
    pair = (before, after)
    sites, site_phases = compared_sites(conn, pair)
    lede = t("changes.lede", lang, before=before, after=after, sites=sites,
             before_date=str(by_id[before]["started_at"] or "?")[:10],
             after_date=str(by_id[after]["started_at"] or "?")[:10])
    sections = [
        sites_section(conn, sites, pair, by_id, crawls, lang),
        trackers_section(conn, sites, pair, lang),
        consent_section(conn, site_phases, pair, lang),
    ]
    return Page("changes", "", lang, title, lede, tuple(sections))


def sites_section(conn: sqlite3.Connection, sites: int, pair: tuple[int, int], by_id: dict, crawls: list[dict],
                  lang: str) -> Section:
    facts = [Fact(t("changes.sites.compared", lang, count=sites))]
    if by_id[pair[0]]["list"] != by_id[pair[1]]["list"]:
        facts.append(Fact(t("changes.different_lists", lang)))
    failed, count = not_compared(conn, pair)
    if failed:
        listed = ", ".join(failed) + (" …" if count > len(failed) else "")
        facts.append(Fact(t("changes.sites.failed", lang, count=count, sites=listed),
                          tuple(Link(site, page_url("site", site, lang)) for site in failed[:10])))
    pairs = pairs_fact(crawls, pair, lang)
    if pairs:
        facts.append(pairs)
    return Section("sites", t("changes.sites.heading", lang), "none",
                   t("changes.sites.verdict", lang, count=sites), tuple(facts))


def names(items: set[str]) -> str:
    ordered = sorted(items)
    return ", ".join(ordered[:MAX_NAMES]) + (" …" if len(ordered) > MAX_NAMES else "")


def trackers_section(conn: sqlite3.Connection, sites: int, pair: tuple[int, int], lang: str) -> Section:
    """Companies that appeared on or went from the sites compared, per site and overall ("appeared": the earlier
    crawl saw it nowhere)."""
    came, came_cut = tracker_changes(conn, pair[0], pair[1])
    went, went_cut = tracker_changes(conn, pair[1], pair[0])
    per_site: dict[str, tuple[set[str], set[str]]] = {}
    for site, entity in came:
        per_site.setdefault(site, (set(), set()))[0].add(entity)
    for site, entity in went:
        per_site.setdefault(site, (set(), set()))[1].add(entity)
    appeared = {e for new_, _ in per_site.values() for e in new_} - companies(conn, pair[0])
    gone = {e for _, old_ in per_site.values() for e in old_} - companies(conn, pair[1])
    facts: list[Fact] = []
    company_links = lambda items: tuple(Link(n, page_url("company", n, lang)) for n in sorted(items)[:10])  # noqa: E731
    if appeared:
        facts.append(Fact(t("changes.trackers.new", lang, count=len(appeared), names=names(appeared)),
                          company_links(appeared)))
    if gone:
        facts.append(Fact(t("changes.trackers.gone", lang, count=len(gone), names=names(gone)), company_links(gone)))
    if sites and not per_site:
        facts.append(Fact(t("changes.trackers.same", lang)))
    if came_cut or went_cut:
        facts.append(Fact(t("changes.trackers.cut", lang, count=MAX_DIFF)))
    table_rows = []
    for site, (new_, old_) in sorted(per_site.items())[:MAX_ROWS]:
        what = "; ".join(part for part in (
            t("changes.trackers.site_new", lang, names=names(new_)) if new_ else "",
            t("changes.trackers.site_gone", lang, names=names(old_)) if old_ else "") if part)
        visits = (Link(t("changes.visits_before", lang), rows_url("visits", crawl_id=pair[0], site=site)),
                  Link(t("changes.visits_after", lang), rows_url("visits", crawl_id=pair[1], site=site)))
        facts.append(Fact(t("changes.trackers.site", lang, site=site, what=what), visits))
        table_rows.append((Link(site, page_url("site", site, lang)), names(new_), names(old_), *visits))
    if len(per_site) > MAX_ROWS:
        facts.append(Fact(t("changes.trackers.more", lang, count=len(per_site) - MAX_ROWS)))
    verdict: Verdict = "bad" if any(new_ for new_, _ in per_site.values()) else "good" if sites else "none"
    table = Table((t("changes.col.site", lang), t("changes.col.new", lang), t("changes.col.gone", lang),
                   t("changes.col.before", lang), t("changes.col.after", lang)),
                  tuple(table_rows)) if table_rows else None
    return Section("trackers", t("changes.trackers.heading", lang), verdict, t(f"changes.trackers.{verdict}", lang),
                   tuple(facts), table)


def yes_no(value: int | None, lang: str) -> str:
    return t("changes.value.yes" if value else "changes.value.no", lang)


def consent_section(conn: sqlite3.Connection, site_phases: int, pair: tuple[int, int], lang: str) -> Section:
    """Per site and phase compared: consent platform, verified click, tracker companies after "reject"."""
    none = t("changes.value.none", lang)
    changes: list[tuple[str, str, str, str, str]] = []
    worse = False
    for r in consent_changes(conn, pair):
        site = r["site"]
        for phase in PHASES:
            if not r[f"both_{phase}"]:  # a phase one of the crawls did not measure
                continue
            old, new = r[f"cmp_{phase}_before"], r[f"cmp_{phase}_after"]
            if (old or None) != (new or None):
                changes.append((site, phase, "cmp", str(old or none), str(new or none)))
            if phase in ACTIONS and bool(r[f"{phase}_before"]) != bool(r[f"{phase}_after"]):
                worse |= bool(r[f"{phase}_before"])
                changes.append((site, phase, "verified", yes_no(r[f"{phase}_before"], lang),
                                yes_no(r[f"{phase}_after"], lang)))
            if phase == "reject" and (r["after_reject_before"] or 0) != (r["after_reject_after"] or 0):
                worse |= (r["after_reject_after"] or 0) > (r["after_reject_before"] or 0)
                changes.append((site, phase, "after_click", str(r["after_reject_before"] or 0),
                                str(r["after_reject_after"] or 0)))
    facts = []
    table_rows = []
    for site, phase, what, before, after in changes[:MAX_ROWS]:
        links = (Link(t("changes.visit_before", lang), rows_url("visits", crawl_id=pair[0], site=site, phase=phase)),
                 Link(t("changes.visit_after", lang), rows_url("visits", crawl_id=pair[1], site=site, phase=phase)))
        facts.append(Fact(t("changes.consent.fact", lang, site=site, phase=phase,
                            what=t(f"changes.what.{what}", lang), before=before, after=after), links))
        table_rows.append((Link(site, page_url("site", site, lang)), phase, t(f"changes.what.{what}", lang), before,
                           after, *links))
    if not site_phases:
        verdict: Verdict = "none"
        facts.append(Fact(t("changes.consent.nothing", lang)))
    elif not changes:
        verdict = "good"
        facts.append(Fact(t("changes.consent.same", lang, count=site_phases)))
    else:
        verdict = "bad" if worse else "warn"
    table = Table(tuple(t(f"changes.col.{c}", lang) for c in ("site", "phase", "change", "before", "after")) +
                  (t("changes.visit_before", lang), t("changes.visit_after", lang)),
                  tuple(table_rows)) if table_rows else None
    return Section("consent", t("changes.consent.heading", lang), verdict, t(f"changes.consent.{verdict}", lang),
                   tuple(facts), table)
