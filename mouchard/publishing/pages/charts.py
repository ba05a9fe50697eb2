"""The home page's numbers and charts: what mouchard measured, drawn where people would rather look than read.

Each chart function takes a read-only connection and the reader's language and returns a `Chart` (a Vega-Lite spec
without data, and its rows): titles, axis labels and legends are in that language, the rows are plain values that
the renderer inlines as JSON (never HTML). Every query is bounded and rides an index (see each function); a rollup
table, when a later version adds one, can replace the GROUP BY over requests without changing the charts.
"""

from __future__ import annotations

import sqlite3

from mouchard.publishing.i18n import format_number, register, t
from mouchard.publishing.pages.common import PHASES as ALL_PHASES
from mouchard.publishing.pages.model import Chart

# The chart compares the single-choice phases; revoke and second-site are sequences of choices (the site page
# tells them).
PHASES = ALL_PHASES[:4]

TOP_COMPANIES = 20
MAX_BINS = 200  # trackers per site: one bar per count, counts above this share the last bar
BAND = 22  # pixels per bar of a horizontal bar chart
MAX_POINTS = 500  # map: positions x receiving companies drawn at most
OUTCOMES = ("verified", "unverified", "found", "nothing")

MESSAGES = {
    "charts.trackers.title": {"fr": "Nombre d'entreprises de suivi par site",
                              "en": "Tracker companies per site"},
    "charts.trackers.x": {"fr": "Entreprises de suivi contactées par le site",
                          "en": "Tracker companies the site contacted"},
    "charts.trackers.y": {"fr": "Sites", "en": "Sites"},
    "charts.trackers.description": {
        "fr": "Pour chaque nombre d'entreprises de suivi, combien de sites en ont contacté autant (toutes phases).",
        "en": "For each number of tracker companies, how many sites contacted that many (every phase)."},
    "charts.reach.title": {"fr": "Les {top} entreprises présentes sur le plus de sites",
                           "en": "The {top} companies on the most sites"},
    "charts.reach.x": {"fr": "Sites où elle a été contactée", "en": "Sites where it was contacted"},
    "charts.reach.y": {"fr": "Entreprise", "en": "Company"},
    "charts.reach.description": {
        "fr": "Entreprises de suivi classées par nombre de sites dont les pages les ont contactées.",
        "en": "Tracker companies ranked by the number of sites whose pages contacted them."},
    "charts.consent.title": {"fr": "Ce qu'est devenu le consentement, phase par phase",
                             "en": "What became of consent, phase by phase"},
    "charts.consent.x": {"fr": "Visites", "en": "Visits"},
    "charts.consent.y": {"fr": "Phase", "en": "Phase"},
    "charts.consent.color": {"fr": "Résultat", "en": "Outcome"},
    "charts.consent.description": {
        "fr": "Visites réussies par phase de consentement, selon ce que mouchard a trouvé et fait sur la bannière.",
        "en": "Successful visits per consent phase, by what mouchard found and did on the banner."},
    "charts.consent.verified": {"fr": "choix fait et vérifié", "en": "choice made and verified"},
    "charts.consent.unverified": {"fr": "choix fait, non vérifié", "en": "choice made, not verified"},
    "charts.consent.found": {"fr": "bannière ou signal trouvé, aucun choix", "en": "banner or signal found, no choice"},
    "charts.consent.nothing": {"fr": "aucune bannière trouvée", "en": "no banner found"},
    "charts.phase.initial": {"fr": "avant tout clic", "en": "before any click"},
    "charts.phase.reject": {"fr": "après « refuser »", "en": "after \u201creject\u201d"},
    "charts.phase.accept": {"fr": "après « accepter »", "en": "after \u201caccept\u201d"},
    "charts.phase.gpc": {"fr": "avec GPC", "en": "with GPC"},
    "charts.map.title": {"fr": "Où sont parties les positions du téléphone",
                         "en": "Where the phone's positions went"},
    "charts.map.description": {
        "fr": "Positions du téléphone trouvées dans le trafic des applications (arrondies à 2 décimales), "
              "par entreprise destinataire.",
        "en": "The phone's positions found in app traffic (rounded to 2 decimals), by receiving company."},
    "charts.map.company": {"fr": "Entreprise destinataire", "en": "Receiving company"},
    "charts.map.leaks": {"fr": "Envois", "en": "Leaks"},
    "charts.map.apps": {"fr": "Applications", "en": "Apps"},
    "charts.map.lat": {"fr": "Latitude", "en": "Latitude"},
    "charts.map.lon": {"fr": "Longitude", "en": "Longitude"},
    "charts.data": {"fr": "Les données du graphique", "en": "The chart's data"},
}
register(MESSAGES)

# Distinct (site, company) pairs of third-party tracker requests: one pass over the covering index
# requests(visit_id, tracker_entity, third_party, ...), joined to visits by primary key (~0.3 s for 1 M requests).
_PAIRS = """
SELECT DISTINCT v.site AS site, r.tracker_entity AS company
FROM requests AS r JOIN visits AS v ON v.id = r.visit_id
WHERE r.tracker_entity IS NOT NULL AND r.third_party = 1 AND v.site IS NOT NULL
"""


def _has_rows(conn: sqlite3.Connection, table: str) -> bool:
    """True if `table` exists and holds a row (a rollup not built yet is empty, or missing in an older file)."""
    exists = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone()
    return bool(exists) and conn.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone() is not None


def tracker_counts(conn: sqlite3.Connection) -> dict[int, int]:
    """{number of tracker companies: number of sites}, each site counted once with its latest crawl.

    From the `site_summary` rollup (one row per crawl and site, built by classify / a crawl's end / an audit): a
    site counts when a visit of that crawl loaded; its number is `tracker_entities` (distinct companies that
    received a third-party request, any phase). A database without the rollup falls back to one pass over the
    covering index of requests, with the same definition."""
    if _has_rows(conn, "site_summary"):
        rows = conn.execute("""
            SELECT min(s.tracker_entities, ?), count(*)
            FROM site_summary AS s
            WHERE s.visits > 0
              AND s.crawl_id = (SELECT max(l.crawl_id) FROM site_summary AS l WHERE l.site = s.site AND l.visits > 0)
            GROUP BY 1
        """, (MAX_BINS,)).fetchall()
    else:
        rows = conn.execute(f"""
            WITH pairs AS MATERIALIZED ({_PAIRS} AND v.status IN ('ok', 'partial')),
            sites AS (SELECT site FROM visits WHERE site IS NOT NULL AND status IN ('ok', 'partial')),
            per_site AS (SELECT s.site, count(p.company) AS companies
                         FROM (SELECT DISTINCT site FROM sites) AS s LEFT JOIN pairs AS p ON p.site = s.site
                         GROUP BY s.site)
            SELECT min(companies, ?), count(*) FROM per_site GROUP BY 1
        """, (MAX_BINS,)).fetchall()
    return {int(n or 0): sites for n, sites in rows}


def _count_axis(largest: int) -> dict:
    """An axis of counts: whole numbers only (no "0.5" on a small axis: Vega ignores tickMinStep once the
    labels fit), every one of them while there are few."""
    axis: dict = {"format": "d", "tickMinStep": 1}
    if largest <= 10:
        axis["values"] = list(range(0, max(largest, 1) + 1))
    return axis


def trackers_per_site(conn: sqlite3.Connection, lang: str) -> Chart:
    """How many sites contacted 0, 1, 2... tracker companies (see `tracker_counts`). Every count from 0 to the
    largest gets a bar, so an empty bar is shown rather than skipped."""
    counts = tracker_counts(conn)
    top = max(counts, default=0)
    data = tuple({"companies": n, "sites": counts.get(n, 0)} for n in range(top + 1)) if counts else ()
    x, y = t("charts.trackers.x", lang), t("charts.trackers.y", lang)
    return Chart(t("charts.trackers.title", lang), {
        "description": t("charts.trackers.description", lang),
        "mark": {"type": "bar", "tooltip": True},
        "encoding": {
            "x": {"field": "companies", "type": "ordinal", "title": x, "axis": {"labelAngle": 0}},
            "y": {"field": "sites", "type": "quantitative", "title": y,
                  "axis": _count_axis(max(counts.values(), default=0))},
            "tooltip": [{"field": "companies", "type": "ordinal", "title": x},
                        {"field": "sites", "type": "quantitative", "title": y}],
        },
    }, data)


def companies_by_reach(conn: sqlite3.Connection, lang: str, top: int = TOP_COMPANIES) -> Chart:
    """The `top` tracker companies by number of sites whose pages sent them a request (every crawl and phase), ties
    by name. From the `company_sites` rollup (built by classify / a crawl's end / an audit: a few rows per company
    and site); a database without it falls back to one pass over the covering index of requests (third-party
    requests, ~0.3 s for 1 M requests)."""
    if _has_rows(conn, "company_sites"):
        rows = conn.execute("""
            SELECT tracker_entity, count(DISTINCT site) AS sites FROM company_sites
            WHERE requests > 0 AND site IS NOT NULL
            GROUP BY tracker_entity ORDER BY sites DESC, tracker_entity LIMIT ?
        """, (top,)).fetchall()
    else:
        rows = conn.execute(f"""
            WITH pairs AS MATERIALIZED ({_PAIRS})
            SELECT company, count(*) AS sites FROM pairs GROUP BY company ORDER BY sites DESC, company LIMIT ?
        """, (top,)).fetchall()
    x, y = t("charts.reach.x", lang), t("charts.reach.y", lang)
    return Chart(t("charts.reach.title", lang, top=top), {
        "description": t("charts.reach.description", lang),
        # A fixed height (a band per company) rather than Vega-Lite's step: it fits the page's width without the
        # "Dropping fit-y" warning a step height gives.
        "height": BAND * max(len(rows), 1),
        "mark": {"type": "bar", "tooltip": True},
        "encoding": {
            "y": {"field": "company", "type": "nominal", "sort": None, "title": y,
                  "axis": {"labelLimit": 220}},
            "x": {"field": "sites", "type": "quantitative", "title": x,
                  "axis": _count_axis(max((sites for _, sites in rows), default=0))},
            "tooltip": [{"field": "company", "type": "nominal", "title": y},
                        {"field": "sites", "type": "quantitative", "title": x}],
        },
    }, tuple({"company": company, "sites": sites} for company, sites in rows))


def consent_outcomes(conn: sqlite3.Connection, lang: str) -> Chart:
    """Successful visits of each consent phase by outcome: a choice made and verified (the CMP state, consent cookie
    or TC string changed), made but not verified, a banner or consent signal found but no choice made, or nothing
    found (a GPC statement alone is not a banner). One row per phase and outcome, zeros included."""
    rows = conn.execute("""
        WITH per_visit AS (
            SELECT v.phase,
                   CASE WHEN max(c.action IN ('reject', 'accept') AND c.verified = 1) THEN 'verified'
                        WHEN max(c.action IN ('reject', 'accept')) THEN 'unverified'
                        WHEN max(c.id IS NOT NULL AND c.framework IS NOT 'gpc') THEN 'found'
                        ELSE 'nothing' END AS outcome
            FROM visits AS v LEFT JOIN consent AS c ON c.visit_id = v.id
            WHERE v.status = 'ok' AND v.phase IN ('initial', 'reject', 'accept', 'gpc')
            GROUP BY v.id
        )
        SELECT phase, outcome, count(*) FROM per_visit GROUP BY phase, outcome
    """).fetchall()
    counts = {(phase, outcome): n for phase, outcome, n in rows}
    phases = [phase for phase in PHASES if any(p == phase for p, _ in counts)]
    data = tuple({"phase": t(f"charts.phase.{phase}", lang), "order": index,
                  "outcome": t(f"charts.consent.{outcome}", lang), "rank": rank,
                  "visits": counts.get((phase, outcome), 0)}
                 for index, phase in enumerate(phases) for rank, outcome in enumerate(OUTCOMES))
    x, y, colour = t("charts.consent.x", lang), t("charts.consent.y", lang), t("charts.consent.color", lang)
    return Chart(t("charts.consent.title", lang), {
        "description": t("charts.consent.description", lang),
        "height": 2 * BAND * max(len(phases), 1),
        "mark": {"type": "bar", "tooltip": True},
        "encoding": {
            "y": {"field": "phase", "type": "nominal", "title": y, "sort": {"field": "order"}},
            "x": {"field": "visits", "type": "quantitative", "title": x, "stack": "zero",
                  "axis": _count_axis(max((sum(n for (p, _), n in counts.items() if p == phase)
                                           for phase in phases), default=0))},
            "color": {"field": "outcome", "type": "nominal", "title": colour,
                      "sort": [t(f"charts.consent.{o}", lang) for o in OUTCOMES],
                      # Dark to light, and a legend with the words: colour is never the only cue.
                      "scale": {"domain": [t(f"charts.consent.{o}", lang) for o in OUTCOMES],
                                "range": ["#1e5e1e", "#b36b00", "#6a3d9a", "#9e9e9e"]},
                      "legend": {"orient": "bottom", "columns": 2, "labelLimit": 300}},
            "order": {"field": "rank", "type": "quantitative"},
            "tooltip": [{"field": "phase", "type": "nominal", "title": y},
                        {"field": "outcome", "type": "nominal", "title": colour},
                        {"field": "visits", "type": "quantitative", "title": x}],
        },
    }, data)


def position_map(conn: sqlite3.Connection, lang: str) -> Chart:
    """The phone's positions found in app traffic (leaks with lat/lon, already rounded to 2 decimals when stored),
    one circle per position and receiving company (the tracker company, else the destination site), sized by the
    number of leaks. Drawn on a graticule without map tiles: it works offline and loads nothing from elsewhere."""
    rows = conn.execute("""
        SELECT coalesce(l.tracker_entity, l.destination_site, '?') AS company,
               round(l.lat, 2) AS lat, round(l.lon, 2) AS lon,
               count(*) AS leaks, count(DISTINCT f.app) AS apps
        FROM leaks AS l LEFT JOIN flows AS f ON f.id = l.flow_id
        WHERE l.identifier = 'location' AND l.lat IS NOT NULL AND l.lon IS NOT NULL
        GROUP BY 1, 2, 3 ORDER BY leaks DESC, company, lat, lon LIMIT ?
    """, (MAX_POINTS,)).fetchall()
    company, leaks, apps = t("charts.map.company", lang), t("charts.map.leaks", lang), t("charts.map.apps", lang)
    return Chart(t("charts.map.title", lang), {
        "description": t("charts.map.description", lang),
        "projection": {"type": "equalEarth"},
        "layer": [
            # The globe and its graticule are decoration: hidden from screen readers (aria: false).
            {"data": {"sphere": True},
             "mark": {"type": "geoshape", "fill": "#eef3f7", "stroke": "#8aa", "aria": False}},
            {"data": {"graticule": {"step": [30, 30]}},
             "mark": {"type": "geoshape", "stroke": "#c8d3dc", "strokeWidth": 0.5, "fill": None, "aria": False}},
            {"mark": {"type": "circle", "opacity": 0.8, "stroke": "#222", "strokeWidth": 0.5, "tooltip": True},
             "encoding": {
                 "longitude": {"field": "lon", "type": "quantitative"},
                 "latitude": {"field": "lat", "type": "quantitative"},
                 "size": {"field": "leaks", "type": "quantitative", "title": leaks,
                          "scale": {"range": [60, 600]}, "legend": None},
                 "color": {"field": "company", "type": "nominal", "title": company,
                           "legend": {"orient": "bottom", "columns": 2, "labelLimit": 300}},
                 "tooltip": [{"field": "company", "type": "nominal", "title": company},
                             {"field": "leaks", "type": "quantitative", "title": leaks},
                             {"field": "apps", "type": "quantitative", "title": apps},
                             {"field": "lat", "type": "quantitative", "title": t("charts.map.lat", lang)},
                             {"field": "lon", "type": "quantitative", "title": t("charts.map.lon", lang)}],
             }},
        ],
    }, tuple({"company": c, "lat": la, "lon": lo, "leaks": n, "apps": a} for c, la, lo, n, a in rows))


def home_charts(conn: sqlite3.Connection, lang: str) -> list[Chart]:
    """The home page's charts, in reading order; a chart with nothing to draw is left out."""
    charts = [trackers_per_site(conn, lang), companies_by_reach(conn, lang), consent_outcomes(conn, lang),
              position_map(conn, lang)]
    return [chart for chart in charts if chart.data]


def _distinct_count(conn: sqlite3.Connection, table: str, column: str, limit: int = 1_000_000) -> int:
    """Distinct non-null values of an indexed column, by hopping from one value to the next through the index
    (a skip scan: one index seek per distinct value, not a pass over every row). Capped at `limit` hops."""
    return conn.execute(f"""
        WITH RECURSIVE hop(value, n) AS (
            SELECT (SELECT min({column}) FROM {table}), 0
            UNION ALL
            SELECT (SELECT min({column}) FROM {table} WHERE {column} > hop.value), n + 1
            FROM hop WHERE hop.value IS NOT NULL AND n < ?
        )
        SELECT count(value) FROM hop
    """, (limit,)).fetchone()[0]


def home_counts(conn: sqlite3.Connection) -> dict[str, int]:
    """What mouchard measured, counted: sites visited, tracker companies seen (web requests and app traffic), apps
    captured, data brokers registered (distinct broker keys). Each count hops through an index."""
    companies = conn.execute("""
        WITH RECURSIVE
        web(value) AS (SELECT (SELECT min(tracker_entity) FROM requests)
                       UNION ALL SELECT (SELECT min(tracker_entity) FROM requests WHERE tracker_entity > web.value)
                       FROM web WHERE web.value IS NOT NULL LIMIT 1000000),
        app(value) AS (SELECT (SELECT min(tracker_entity) FROM flows)
                       UNION ALL SELECT (SELECT min(tracker_entity) FROM flows WHERE tracker_entity > app.value)
                       FROM app WHERE app.value IS NOT NULL LIMIT 1000000)
        SELECT count(*) FROM (SELECT value FROM web WHERE value IS NOT NULL
                              UNION SELECT value FROM app WHERE value IS NOT NULL)
    """).fetchone()[0]
    return {"sites": _distinct_count(conn, "visits", "site"), "companies": companies,
            "apps": _distinct_count(conn, "flows", "app"), "brokers": _distinct_count(conn, "brokers", "key")}


MAX_TABLE_ROWS = 100  # a chart's data shown as a table (for screen readers and without script): first rows only


def _tooltip(spec: dict) -> list[dict]:
    """The tooltip fields of a spec (the first layer that has some): they name the data's columns for readers."""
    encoding = spec.get("encoding") or {}
    if isinstance(encoding.get("tooltip"), list):
        return encoding["tooltip"]
    for layer in spec.get("layer") or ():
        found = _tooltip(layer)
        if found:
            return found
    return []


def _cell(value: object, lang: str) -> object:
    """A number written the reader's way (12 345 / 48,86 in French); anything else as it is (text stays text)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    if isinstance(value, int):
        return format_number(value, lang)
    return str(value).replace(".", ",") if lang == "fr" else str(value)


def data_table(chart: Chart, lang: str = "en") -> tuple[list[str], list[list[object]]]:
    """A chart's data as column headings (the tooltip titles, else the field names) and rows, cut at
    `MAX_TABLE_ROWS`: the same facts as the drawing, readable without it, numbers written the reader's way."""
    fields = [(item["field"], item.get("title") or item["field"]) for item in _tooltip(chart.spec) if "field" in item]
    if not fields and chart.data:
        fields = [(name, name) for name in chart.data[0]]
    rows = [[_cell(row.get(name), lang) for name, _ in fields] for row in chart.data[:MAX_TABLE_ROWS]]
    return [title for _, title in fields], rows


def embed(chart_id: str, chart: Chart) -> dict:
    """What the page's script draws: the chart's element id and its full Vega-Lite spec with the data inlined.
    The page writes the list of these as JSON in a `<script type="application/json">` (Jinja's `tojson`, which
    escapes `<`, `>`, `&` and `'`): the data is read with JSON.parse, never run or parsed as HTML."""
    # As wide as the page; the height follows the data (a bar per company): fit the width only.
    spec = {"width": "container", "autosize": {"type": "fit-x", "contains": "padding"},
            **chart.spec, "data": {"values": list(chart.data)}}
    if "projection" in spec:
        spec.setdefault("height", 360)
    y = (spec.get("encoding") or {}).get("y") or {}
    if "height" not in spec and y.get("type") in ("nominal", "ordinal") and "field" in y:
        # A band per category, fixed: Vega-Lite's default step height warns ("Dropping fit-y") with a fitted width.
        spec["height"] = BAND * max(len({str(row.get(y["field"])) for row in chart.data}), 1)
    return {"id": chart_id, "spec": spec}
