"""Groups compared, `/compare?a=party,campaign&b=news`: two kinds of site of one crawl, side by side.

A group is the sites of one web crawl whose site-list tags include any of the chosen tags (`visits.tags`, from
`mouchard crawl --list` CSV files); `b` left out means every other site of the crawl. Tags, phase and crawl are
choices offered from what the database holds: a value that is not one of them is ignored (never echoed). For each
group: sites measured and tracker companies per site (median and mean) in one consent phase (initial by default:
before any click), registered data brokers called in that phase (a tracker company whose domains include a
registered broker's site); and in any phase, sites calling advertising trackers, sending Meta or Google pixel
events, fingerprinting, recording the session, and setting identifier cookies before consent.

Everything is read from the rollups a crawl's end and `mouchard classify` build (`site_summary`: one row per site;
`company_sites` for the brokers), never by grouping the requests table: group membership is decided in SQLite and
only the two groups' sites come out.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from statistics import mean, median

from mouchard.publishing.i18n import format_number, format_percent, register, t
from mouchard.publishing.pages import page_url
from mouchard.publishing.pages.common import rows, sql_json_list
from mouchard.publishing.pages.model import Chart, Fact, Link, Page, Section, Table, Verdict

ASCII_ID = re.compile(r"[0-9]{1,18}")  # a crawls.id in a URL parameter
MAX_CRAWLS = 50  # crawls offered as choices
MAX_TAGS = 200  # tags offered (a list's tags are a handful; a hostile list cannot flood the page)
MAX_TAG_LENGTH = 100
MAX_CHOSEN = 20
MAX_SITE_ROWS = 200  # sites listed per group (the measures count them all)
MAX_LINKS = 10  # sites linked from one sentence
LIMIT = 500_000  # rows read per query: (site, company) pairs of a 50,000-site crawl fit
OK = ("ok", "partial")  # visits that recorded something (a partial visit lost one collector, not the page)
PHASES = ("initial", "reject", "accept", "gpc")  # the phases site_summary counts tracker companies in

MESSAGES = {
    "compare.title": {"fr": "Groupes de sites comparés", "en": "Groups of sites compared"},
    "compare.title_groups": {"fr": "{a} face à {b}", "en": "{a} versus {b}"},
    "compare.lede": {
        "fr": "Sites de la collecte n° {crawl} ({date}), phase « {phase} », regroupés par les étiquettes de la "
              "liste de sites.",
        "en": "Sites of crawl #{crawl} ({date}), phase \"{phase}\", grouped by the tags of the site list."},
    "compare.rest": {"fr": "tous les autres sites", "en": "every other site"},
    "compare.the": {"fr": "les {group}", "en": "the {group}"},
    "compare.or": {"fr": " ou ", "en": " or "},
    "compare.tagged": {"fr": "sites étiquetés {tags}", "en": "sites tagged {tags}"},
    "compare.none.heading": {"fr": "Aucune collecte web", "en": "No web crawl"},
    "compare.none.verdict": {"fr": "Non mesuré", "en": "Not measured"},
    "compare.none.fact": {
        "fr": "Cette base ne contient aucune collecte web : lancez mouchard crawl --list avec une liste étiquetée.",
        "en": "This database holds no web crawl: run mouchard crawl --list with a tagged list."},
    "compare.unsummarised.heading": {"fr": "Collecte pas encore résumée", "en": "Crawl not summarised yet"},
    "compare.unsummarised.fact": {
        "fr": "Les chiffres par site de la collecte n° {crawl} ne sont pas encore calculés : ils le sont à la fin "
              "d'une collecte ; pour une base plus ancienne, lancez mouchard classify.",
        "en": "The per-site figures of crawl #{crawl} are not computed yet: they are at the end of a crawl; for an "
              "older database, run mouchard classify."},
    "compare.choices.heading": {"fr": "Choisir les groupes", "en": "Choose the groups"},
    "compare.choices.verdict": {"fr": "{count} étiquette(s)", "en": "{count} tag(s)"},
    "compare.choices.no_tags": {
        "fr": "Les sites de cette collecte n'ont pas d'étiquettes : ajoutez une colonne tags à la liste de sites.",
        "en": "The sites of this crawl have no tags: add a tags column to the site list."},
    "compare.choices.pick": {
        "fr": "Choisissez une étiquette à comparer avec le reste, ou deux étiquettes l'une avec l'autre.",
        "en": "Choose a tag to compare with the rest, or two tags with each other."},
    "compare.choices.crawls": {"fr": "Autres collectes :", "en": "Other crawls:"},
    "compare.choices.phases": {"fr": "Autres phases :", "en": "Other phases:"},
    "compare.col.tag": {"fr": "Étiquette", "en": "Tag"},
    "compare.col.sites": {"fr": "Sites", "en": "Sites"},
    "compare.col.against_rest": {"fr": "Face au reste", "en": "Against the rest"},
    "compare.col.against": {"fr": "Face à « {tag} »", "en": "Against \"{tag}\""},
    "compare.link.rest": {"fr": "comparer", "en": "compare"},
    "compare.crawl_link": {"fr": "n° {crawl}", "en": "#{crawl}"},
    "compare.groups.heading": {"fr": "Côte à côte", "en": "Side by side"},
    "compare.groups.bad": {"fr": "Pistage trouvé", "en": "Tracking found"},
    "compare.groups.good": {"fr": "Aucun pistage trouvé", "en": "No tracking found"},
    "compare.groups.none": {"fr": "Aucun site mesuré", "en": "No site measured"},
    "compare.col.measure": {"fr": "Mesure", "en": "Measure"},
    "compare.measure.sites": {"fr": "Sites mesurés", "en": "Sites measured"},
    "compare.measure.trackers_median": {"fr": "Entreprises de pistage par site (médiane)",
                                        "en": "Tracker companies per site (median)"},
    "compare.measure.trackers_mean": {"fr": "Entreprises de pistage par site (moyenne)",
                                      "en": "Tracker companies per site (mean)"},
    "compare.measure.advertising": {"fr": "Sites appelant des pisteurs publicitaires (toutes phases)",
                                    "en": "Sites calling advertising trackers (any phase)"},
    "compare.measure.brokers": {"fr": "Sites appelant un courtier en données inscrit",
                                "en": "Sites calling a registered data broker"},
    "compare.measure.pixels": {"fr": "Sites envoyant des événements Meta ou Google (toutes phases)",
                               "en": "Sites sending Meta or Google events (any phase)"},
    "compare.measure.fingerprinting": {"fr": "Sites avec prise d'empreinte du navigateur (toutes phases)",
                                       "en": "Sites fingerprinting the browser (any phase)"},
    "compare.measure.replay": {"fr": "Sites enregistrant la session (toutes phases)",
                               "en": "Sites recording the session (any phase)"},
    "compare.measure.cookies": {"fr": "Sites déposant des cookies d'identification avant le consentement",
                                "en": "Sites setting identifier cookies before consent"},
    "compare.share": {"fr": "{count} sur {total} ({percent})", "en": "{count} of {total} ({percent})"},
    "compare.fact.trackers": {
        "fr": "{group} : en médiane {median} entreprise(s) de pistage par site (moyenne {mean}), sur {total} "
              "site(s) mesuré(s).",
        "en": "{group}: a median of {median} tracker companies per site (mean {mean}), over {total} site(s) "
              "measured."},
    "compare.fact.measure": {"fr": "{measure} : {share_a} pour les {a} ; {share_b} pour {b}.",
                             "en": "{measure}: {share_a} of the {a}; {share_b} of {b}."},
    "compare.fact.brokers": {
        "fr": "{group} : courtiers en données inscrits contactés : {names}.",
        "en": "{group}: registered data brokers contacted: {names}."},
    "compare.group.verdict": {"fr": "{count} site(s)", "en": "{count} site(s)"},
    "compare.group.more": {"fr": "… et {count} autre(s) site(s).", "en": "… and {count} more site(s)."},
    "compare.group.unmeasured": {
        "fr": "{count} site(s) du groupe n'ont aucune visite réussie dans cette phase.",
        "en": "{count} site(s) of the group have no successful visit in this phase."},
    "compare.col.site": {"fr": "Site", "en": "Site"},
    "compare.col.trackers": {"fr": "Entreprises de pistage", "en": "Tracker companies"},
    "compare.col.flags": {"fr": "Relevé", "en": "Found"},
    "compare.flag.advertising": {"fr": "publicité", "en": "advertising"},
    "compare.flag.brokers": {"fr": "courtier", "en": "broker"},
    "compare.flag.pixels": {"fr": "pixel", "en": "pixel"},
    "compare.flag.fingerprinting": {"fr": "empreinte", "en": "fingerprinting"},
    "compare.flag.replay": {"fr": "enregistrement de session", "en": "session recording"},
    "compare.flag.cookies": {"fr": "cookies avant consentement", "en": "cookies before consent"},
    "compare.chart.title": {"fr": "Entreprises de pistage par site, par groupe",
                            "en": "Tracker companies per site, by group"},
    "compare.chart.group": {"fr": "Groupe", "en": "Group"},
}
register(MESSAGES)

FLAGS = ("advertising", "brokers", "pixels", "fingerprinting", "replay", "cookies")


@dataclass
class SiteMeasures:
    """What one site's visits of the chosen crawl and phase showed."""

    trackers: int = 0  # distinct tracker companies sent a third-party request in the phase
    advertising: bool = False
    brokers: set[str] = field(default_factory=set)
    pixels: bool = False
    fingerprinting: bool = False
    replay: bool = False
    cookies: bool = False

    def flag(self, name: str) -> bool:
        value = getattr(self, name)
        return bool(value)


def web_crawls(conn: sqlite3.Connection, limit: int = MAX_CRAWLS) -> list[dict]:
    """The newest web crawls (id, started_at, status, config), newest first."""
    return rows(conn, "SELECT id, started_at, status, config FROM crawls WHERE kind = 'web' ORDER BY id DESC LIMIT ?",
                (limit,))


def has_visits(conn: sqlite3.Connection, crawl_id: int) -> bool:
    return conn.execute("SELECT 1 FROM visits WHERE crawl_id = ? LIMIT 1", (crawl_id,)).fetchone() is not None


def choose_int(text: object, allowed: set[int]) -> int | None:
    """`text` as one of the `allowed` integers, or None (anything else from the URL is ignored)."""
    # ASCII digits only: str.isdigit() also accepts '¹' or '٣', which int() refuses or reads as another number.
    if not isinstance(text, str) or not ASCII_ID.fullmatch(text.strip()):
        return None
    value = int(text.strip())
    return value if value in allowed else None


def chosen_tags(text: object, present: Mapping[str, int]) -> list[str]:
    """The comma-separated tags of a URL parameter that are tags of the crawl, in order, without repeats."""
    if not isinstance(text, str):
        return []
    chosen: list[str] = []
    for part in text[:2000].split(",")[:MAX_CHOSEN]:
        tag = part.strip()
        if tag in present and tag not in chosen:
            chosen.append(tag)
    return chosen


def crawl_phases(conn: sqlite3.Connection, crawl_id: int) -> list[str] | None:
    """The phases with a visit that loaded in the crawl's site_summary, in their order; None when the crawl has no
    summary (a crawl still running, or an older database: `mouchard classify` builds it)."""
    if conn.execute("SELECT 1 FROM site_summary WHERE crawl_id = ? LIMIT 1", (crawl_id,)).fetchone() is None:
        return None
    found = {r[0] for r in conn.execute(f"SELECT DISTINCT j.value FROM site_summary AS s, "
                                        f"json_each({sql_json_list('s.phases')}) AS j WHERE s.crawl_id = ? LIMIT 100",
                                        (crawl_id,))}
    return [phase for phase in PHASES if phase in found]


def tag_counts(conn: sqlite3.Connection, crawl_id: int) -> dict[str, int]:
    """The crawl's tags with their number of sites, most common first (at most MAX_TAGS)."""
    return {r[0]: r[1] for r in conn.execute(
        f"SELECT j.value, count(DISTINCT s.site) AS sites "
        f"FROM site_summary AS s, json_each({sql_json_list('s.tags')}) AS j "
        f"WHERE s.crawl_id = ? AND j.type = 'text' AND length(trim(j.value)) BETWEEN 1 AND ? "
        f"GROUP BY j.value ORDER BY sites DESC, j.value LIMIT ?", (crawl_id, MAX_TAG_LENGTH, MAX_TAGS))}


def measure_sites(conn: sqlite3.Connection, crawl_id: int, phase: str, a: list[str],
                  b: list[str]) -> tuple[set[str], set[str], dict[str, SiteMeasures]]:
    """The sites of group a and of group b (every other site when b is empty), and per site measured, what its
    visits showed: tracker companies in `phase` (a site without a visit that loaded in that phase is not
    measured), the rest in any phase; registered brokers among the companies of `phase`. Group membership is
    decided in SQLite (json_each over the tags): only the sites of the two groups come out."""
    assert phase in PHASES  # a column name below
    in_a = f"EXISTS (SELECT 1 FROM json_each({sql_json_list('s.tags')}) WHERE value IN ({','.join('?' * len(a))}))"
    in_b = (f"EXISTS (SELECT 1 FROM json_each({sql_json_list('s.tags')}) WHERE value IN ({','.join('?' * len(b))}))"
            if b else f"NOT {in_a}")
    params = (*a, *b) if b else (*a, *a)
    group_a: set[str] = set()
    group_b: set[str] = set()
    sites: dict[str, SiteMeasures] = {}
    for (site, member_a, member_b, measured, trackers, advertising, pixels, fingerprinting, replay,
         cookies) in conn.execute(
            f"SELECT * FROM (SELECT s.site, {in_a} AS in_a, {in_b} AS in_b, "
            f"s.visits > 0 AND instr(s.phases, ?) > 0 AS measured, s.tracker_entities_{phase}, "
            f"s.advertising_entities > 0, s.pixel_events > 0, s.fingerprinting_scripts > 0, "
            f"s.session_replay_scripts > 0, s.tracking_cookies_before_consent > 0 "
            f"FROM site_summary AS s WHERE s.crawl_id = ? AND s.site IS NOT NULL) WHERE in_a OR in_b LIMIT ?",
            (*params, f'"{phase}"', crawl_id, LIMIT)):
        if member_a:
            group_a.add(site)
        if member_b:
            group_b.add(site)
        if measured:
            sites[site] = SiteMeasures(trackers or 0, bool(advertising), set(), bool(pixels), bool(fingerprinting),
                                       bool(replay), bool(cookies))
    # A registered broker that is also a tracker company (brokers.tracker_entity): a handful of companies, each
    # looked up in the company rollup's (crawl_id, tracker_entity, site, phase) index.
    for site, entity in conn.execute(
            "SELECT site, tracker_entity FROM company_sites WHERE crawl_id = ? AND phase = ? AND tracker_entity IN "
            "(SELECT tracker_entity FROM brokers WHERE tracker_entity IS NOT NULL) LIMIT ?", (crawl_id, phase, LIMIT)):
        if site in sites:
            sites[site].brokers.add(entity)
    return group_a, group_b, sites


def build(conn: sqlite3.Connection, key: str, lang: str, query: Mapping[str, str]) -> Page | None:
    """The comparison of the groups `a` and `b` (tags) of a crawl (`crawl`, default the newest with visits), in a
    phase (`phase`, default initial); without `a`, the choice of tags. `/compare/{anything}` is a 404."""
    if key:
        return None
    title = t("compare.title", lang)
    crawls = web_crawls(conn)
    crawl_id = choose_int(query.get("crawl"), {c["id"] for c in crawls})
    if crawl_id is None or not has_visits(conn, crawl_id):  # an empty crawl (killed at once) has nothing to group
        crawl_id = next((c["id"] for c in crawls if has_visits(conn, c["id"])), None)
    if crawl_id is None:
        return Page("compare", "", lang, title, sections=(Section(
            "choices", t("compare.none.heading", lang), "none", t("compare.none.verdict", lang),
            (Fact(t("compare.none.fact", lang)),)),))
    crawl = next(c for c in crawls if c["id"] == crawl_id)
    phases = crawl_phases(conn, crawl_id)
    if phases is None:  # visits recorded, rollup not built (a crawl still running, or an older database)
        return Page("compare", "", lang, title, sections=(Section(
            "choices", t("compare.unsummarised.heading", lang), "none", t("compare.none.verdict", lang),
            (Fact(t("compare.unsummarised.fact", lang, crawl=crawl_id)),)),))
    phase = query.get("phase") if query.get("phase") in phases else "initial" if "initial" in phases else \
        (phases[0] if phases else "initial")
    present = tag_counts(conn, crawl_id)
    a = chosen_tags(query.get("a"), present)
    b = [tag for tag in chosen_tags(query.get("b"), present) if tag not in a]
    lede = t("compare.lede", lang, crawl=crawl_id, date=str(crawl["started_at"] or "?")[:10], phase=phase)
    choices = choices_section(crawls, crawl_id, phases, phase, present, a, b, lang)
    if not a:
        return Page("compare", "", lang, title, lede, (choices,))
    either = t("compare.or", lang)  # a site with any of a group's tags belongs to it
    label_a = t("compare.tagged", lang, tags=either.join(a))
    label_b = t("compare.tagged", lang, tags=either.join(b)) if b else t("compare.rest", lang)
    group_a, group_b, measures = measure_sites(conn, crawl_id, phase, a, b)
    groups = ((label_a, group_a), (label_b, group_b))
    sections = [choices, side_by_side(groups, measures, lang)]
    sections += [group_section(f"group-{n}", label, members, measures, lang)
                 for n, (label, members) in enumerate(groups, 1)]
    return Page("compare", "", lang, t("compare.title_groups", lang, a=either.join(a), b=either.join(b) or label_b),
                lede, tuple(sections))


def choices_section(crawls: list[dict], crawl_id: int, phases: list[str], phase: str, present: dict[str, int],
                    a: list[str], b: list[str], lang: str) -> Section:
    """The tags of the crawl, each with links comparing it with the rest and with the other tags; other crawls and
    phases as links."""
    base = {"crawl": str(crawl_id), "phase": phase}
    facts = [Fact(t("compare.choices.pick", lang) if present else t("compare.choices.no_tags", lang))]
    others = [c for c in crawls if c["id"] != crawl_id][:10]
    if others:
        facts.append(Fact(t("compare.choices.crawls", lang), tuple(
            Link(t("compare.crawl_link", lang, crawl=c["id"]),
                 page_url("compare", lang=lang, crawl=str(c["id"]), a=",".join(a) or None, b=",".join(b) or None))
            for c in others)))
    if len(phases) > 1:
        facts.append(Fact(t("compare.choices.phases", lang), tuple(
            Link(p, page_url("compare", lang=lang, crawl=str(crawl_id), phase=p, a=",".join(a) or None,
                             b=",".join(b) or None)) for p in sorted(phases) if p != phase)))
    tags = list(present)
    table = None
    if tags:
        versus = tags[:4]  # the most common tags as columns: a handful of links per row stays readable
        columns = (t("compare.col.tag", lang), t("compare.col.sites", lang), t("compare.col.against_rest", lang),
                   *(t("compare.col.against", lang, tag=other) for other in versus))
        table = Table(columns, tuple(
            (tag, present[tag], Link(t("compare.link.rest", lang), page_url("compare", lang=lang, **base, a=tag)),
             *(Link(t("compare.link.rest", lang), page_url("compare", lang=lang, **base, a=tag, b=other))
               if other != tag else None for other in versus))
            for tag in tags))
    return Section("choices", t("compare.choices.heading", lang), "none",
                   t("compare.choices.verdict", lang, count=len(tags)), tuple(facts), table)


def capital(text: str) -> str:
    """A label at the start of a sentence or as a heading."""
    return text[:1].upper() + text[1:]


def share(count: int, total: int, lang: str) -> str:
    return t("compare.share", lang, count=count, total=total,
             percent=format_percent(count / total if total else 0.0, lang))


def site_links(sites: list[str], lang: str) -> tuple[Link, ...]:
    return tuple(Link(site, page_url("site", site, lang)) for site in sorted(sites)[:MAX_LINKS])


def side_by_side(groups: tuple[tuple[str, set[str]], ...], measures: dict[str, SiteMeasures],
                 lang: str) -> Section:
    """One row per measure, one column per group, and the sentences saying it."""
    columns = [t("compare.col.measure", lang), *(label for label, _ in groups)]
    table_rows: list[tuple] = []
    facts: list[Fact] = []
    stats = []
    for label, members in groups:
        measured = sorted(site for site in members if site in measures)
        counts = [measures[site].trackers for site in measured]
        stats.append((label, measured, counts))
    table_rows.append((t("compare.measure.sites", lang), *(len(measured) for _, measured, _ in stats)))
    table_rows.append((t("compare.measure.trackers_median", lang),
                       *(format_number(median(counts), lang) if counts else "—" for _, _, counts in stats)))
    table_rows.append((t("compare.measure.trackers_mean", lang),
                       *(format_number(mean(counts), lang) if counts else "—" for _, _, counts in stats)))
    for label, measured, counts in stats:
        if counts:
            facts.append(Fact(t("compare.fact.trackers", lang, group=capital(label),
                                median=format_number(median(counts), lang),
                                mean=format_number(mean(counts), lang), total=len(measured)),
                              site_links([s for s in measured if measures[s].trackers], lang)))
    for flag in FLAGS:
        measure = t(f"compare.measure.{flag}", lang)
        cells = []
        found = []
        for _, measured, _ in stats:
            found.append([site for site in measured if measures[site].flag(flag)])
            cells.append(share(len(found[-1]), len(measured), lang) if measured else "—")
        (label_a, _, _), (label_b, _, _) = stats
        # "of the sites tagged news", "of every other site": the second label keeps its own determiner.
        other = label_b if label_b == t("compare.rest", lang) else t("compare.the", lang, group=label_b)
        facts.append(Fact(t("compare.fact.measure", lang, measure=measure, a=label_a, b=other, share_a=cells[0],
                            share_b=cells[1]), site_links(found[0] + found[1], lang)))
        table_rows.append((measure, *cells))
    for label, measured, _ in stats:
        names = sorted({name for site in measured for name in measures[site].brokers})
        if names:
            facts.append(Fact(t("compare.fact.brokers", lang, group=capital(label), names=", ".join(names[:20])),
                              tuple(Link(name, page_url("company", name, lang)) for name in names[:MAX_LINKS])))
    measured_all = [site for _, measured, _ in stats for site in measured]
    found_any = any(measures[site].trackers or any(measures[site].flag(f) for f in FLAGS) for site in measured_all)
    verdict: Verdict = "bad" if found_any else "good" if measured_all else "none"
    chart_rows = tuple({t("compare.chart.group", lang): label, "site": site, "trackers": measures[site].trackers}
                       for label, measured, _ in stats for site in measured[:2000])
    group_field = t("compare.chart.group", lang)
    chart = Chart(t("compare.chart.title", lang), {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "mark": {"type": "point", "filled": True, "size": 60, "opacity": 0.6},
        "encoding": {
            "x": {"field": "trackers", "type": "quantitative", "title": t("compare.col.trackers", lang),
                  "axis": {"tickMinStep": 1, "format": "d"}, "scale": {"zero": True}},
            "y": {"field": group_field, "type": "nominal", "title": None},
            "tooltip": [{"field": "site", "type": "nominal"}, {"field": "trackers", "type": "quantitative"}],
        },
    }, chart_rows) if chart_rows else None
    return Section("groups", t("compare.groups.heading", lang), verdict, t(f"compare.groups.{verdict}", lang),
                   tuple(facts), Table(tuple(columns), tuple(table_rows)), chart)


def group_section(section_id: str, label: str, members: set[str], measures: dict[str, SiteMeasures],
                  lang: str) -> Section:
    """The sites of one group, most tracker companies first, each linked to its page."""
    measured = sorted((site for site in members if site in measures),
                      key=lambda site: (-measures[site].trackers, site))
    facts = []
    if len(measured) > MAX_SITE_ROWS:
        facts.append(Fact(t("compare.group.more", lang, count=len(measured) - MAX_SITE_ROWS)))
    unmeasured = len(members) - len(measured)
    if unmeasured:
        facts.append(Fact(t("compare.group.unmeasured", lang, count=unmeasured)))
    table = Table((t("compare.col.site", lang), t("compare.col.trackers", lang), t("compare.col.flags", lang)), tuple(
        (Link(site, page_url("site", site, lang)), measures[site].trackers,
         ", ".join(t(f"compare.flag.{f}", lang) for f in FLAGS if measures[site].flag(f)))
        for site in measured[:MAX_SITE_ROWS]))
    tracked = any(measures[site].trackers or any(measures[site].flag(f) for f in FLAGS) for site in measured)
    verdict: Verdict = "bad" if tracked else "good" if measured else "none"
    return Section(section_id, capital(label), verdict,
                   t("compare.group.verdict", lang, count=len(measured)), tuple(facts), table)
