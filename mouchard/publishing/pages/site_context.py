"""What the site page's sections share: the crawl chosen, its visits of the site, the `site_summary` rollup row and
the crawl's other sites for comparisons, the reader's language, and the shape of a section (links to Datasette's
rows and JSON readers are `mouchard.publishing.pages.common`'s).

Every query here starts from `visits.site`, a visit id or `site_summary`'s (crawl_id, site) index, and is bounded.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from mouchard.publishing import i18n
from mouchard.publishing.pages.common import PHASES, json_dict, rows_url
from mouchard.publishing.pages.model import Chart, Fact, Link, Section, Table, Verdict

LOADED = ("ok", "partial")
MAX_VISITS = 200  # visits of one site in one crawl read for a page (phases x sampled pages: a few dozen at most)
MAX_ROWS = 50  # rows of a section's table
MAX_NAMES = 8  # names in one sentence before "and N more"
MAX_ID_FILTER = 100  # visit ids put in one Datasette link
# each comparison's rollup column (site_summary), by the name of its count in Context.others
RANKED_BY = {"fewer_entities": "tracker_entities", "fewer_cookies": "tracking_cookies",
             "fingerprinting": "fingerprinting_scripts", "replay": "session_replay_scripts",
             "keylogging": "keylogging_leaks", "pixels": "pixel_events", "auctions": "auctions", "id_syncs": "id_syncs",
             "after_reject": "tracker_entities_after_reject"}
CNIL_MAX_DAYS = 395  # 13 months: the CNIL's recommended longest cookie lifetime


def crawl_of(conn: sqlite3.Connection, site: str, wanted: str | None) -> int | None:
    """The crawl asked for (if it visited the site), else the latest crawl that loaded it, else the latest at all."""
    if wanted is not None:
        if not (wanted.isascii() and wanted.isdigit()) or len(wanted) > 18:  # "²" is a digit to isdigit
            return None
        row = conn.execute("SELECT crawl_id FROM visits WHERE site = ? AND crawl_id = ? LIMIT 1",
                           (site, int(wanted))).fetchone()
        return row[0] if row else None
    row = conn.execute("SELECT crawl_id FROM visits WHERE site = ? AND crawl_id IS NOT NULL "
                       "ORDER BY status IN ('ok', 'partial') DESC, crawl_id DESC LIMIT 1", (site,)).fetchone()
    return row[0] if row else None


class Context:
    """What every section needs: the crawl, its visits of the site, the rollup rows and the language."""

    def __init__(self, conn: sqlite3.Connection, lang: str, site: str, crawl_id: int, visits: list[dict]):
        self.conn, self.lang, self.site, self.crawl_id = conn, lang, site, crawl_id
        self.visits = visits
        self.loaded = [v for v in visits if v["status"] in LOADED]
        self.ids = [v["id"] for v in self.loaded]
        self.phase_of = {v["id"]: v["phase"] for v in visits}
        self.phases = [p for p in PHASES if any(v["phase"] == p for v in self.loaded)]
        row = conn.execute("SELECT started_at, config, summary FROM crawls WHERE id = ?", (crawl_id,)).fetchone()
        self.crawl = {"started_at": row[0], "config": json_dict(row[1]), "summary": json_dict(row[2])} if row \
            else {"config": {}, "summary": {}}
        self.summary, self.others = self._rollup()

    # -- reading --------------------------------------------------------------------------------------------

    def rows(self, sql: str, params: tuple = ()) -> list[tuple]:
        """Rows of a query over the loaded visits (`{ids}` in `sql` is their id list); none when nothing loaded."""
        if not self.ids:
            return []
        marks = ",".join("?" * len(self.ids))
        return self.conn.execute(sql.format(ids=marks), (*self.ids, *params)).fetchall()

    def _rollup(self) -> tuple[dict | None, dict | None]:
        exists = self.conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'site_summary'"
                                   ).fetchone()
        if not exists:
            return None, None
        cursor = self.conn.execute("SELECT * FROM site_summary WHERE crawl_id = ? AND site = ?",
                                   (self.crawl_id, self.site))
        row = cursor.fetchone()
        if row is None:
            return None, None
        summary = dict(zip([d[0] for d in cursor.description], row))
        others = self.conn.execute("""
            SELECT count(*), sum(tracker_entities < :entities), sum(tracking_cookies < :cookies),
                   sum(fingerprinting_scripts > 0), sum(session_replay_scripts > 0), sum(keylogging_leaks > 0),
                   sum(meta_pixel_events + google_events > 0), sum(auctions > 0), sum(id_syncs > 0),
                   sum(tracker_entities_after_reject > 0), sum(tracker_entities_after_reject IS NOT NULL)
            FROM site_summary WHERE crawl_id = :crawl AND visits > 0""",
            {"entities": summary["tracker_entities"], "cookies": summary["tracking_cookies"],
             "crawl": self.crawl_id}).fetchone()
        names = ("total", "fewer_entities", "fewer_cookies", "fingerprinting", "replay", "keylogging", "pixels",
                 "auctions", "id_syncs", "after_reject", "rejected")
        return summary, dict(zip(names, (v or 0 for v in others)))

    def measured(self, switch: str, found: bool) -> bool | None:
        """Whether a page-side collector ran: rows prove it; else the crawl's recorded settings; None if unknown."""
        if found:
            return True
        collectors = self.crawl["config"].get("collectors")
        if not self.loaded or not isinstance(collectors, dict) or switch not in collectors:
            return None
        return collectors[switch] is True

    # -- writing ----------------------------------------------------------------------------------------------

    def t(self, key: str, **values: object) -> str:
        return i18n.t(key, self.lang, **values)

    def n(self, value: float | int | None) -> str:
        return i18n.format_number(value or 0, self.lang)

    def plural(self, key: str, count: int, **values: object) -> str:
        return i18n.plural(key, count, self.lang, **values)

    def names(self, names: list[str]) -> str:
        """Names joined for a sentence, cut after MAX_NAMES with "and N more"."""
        names = [n for n in names if n]
        shown = ", ".join(names[:MAX_NAMES])
        if len(names) > MAX_NAMES:
            return self.t("site.and_more", names=shown, n=self.n(len(names) - MAX_NAMES))
        return shown

    def phase(self, phase: str | None) -> str:
        key = f"site.phase.{phase}"
        return self.t(key) if i18n.has(key) else (phase or "?")

    def phase_list(self, phases: list[str]) -> str:
        return ", ".join(self.phase(p) for p in phases) or "—"

    def category(self, category: str | None) -> str:
        key = f"site.category.{category}"
        return self.t(key) if i18n.has(key) else (category or "?")

    def visit_filter(self) -> str:
        return ",".join(str(i) for i in self.ids[:MAX_ID_FILTER])

    def rows_link(self, table: str, text_key: str = "site.link.rows", **filters: object) -> Link:
        return Link(self.t(text_key), rows_url(table, visit_id__in=self.visit_filter(), **filters))

    def compare_more(self, column: str, value: int) -> list[Fact]:
        """"More than N % of the sites visited" for a count, from the rollup; a note when it is missing; nothing
        when there is nothing to compare (a list, added to a section's facts as it is)."""
        if self.others is None:
            return [Fact(self.t("site.compare.missing"))]
        total = self.others["total"]
        if total < 2 or not value:
            return []
        return [Fact(self.t("site.compare.more", share=i18n.format_percent(self.others[column] / total, self.lang),
                            total=self.n(total)), (self.ranking(column),))]

    def compare_same(self, column: str) -> list[Fact]:
        """"Of the N other sites visited, X % do so too" for a yes/no measure this site shows, from the rollup (a
        list like `compare_more`)."""
        if self.others is None:
            return [Fact(self.t("site.compare.missing"))]
        others = self.others["total"] - 1
        if others < 1:
            return []
        share = max(self.others[column] - 1, 0) / others  # the rollup counts this site too
        return [Fact(self.t("site.compare.same", share=i18n.format_percent(share, self.lang), total=self.n(others)),
                     (self.ranking(column),))]

    def ranking(self, measure: str) -> Link:
        """The crawl's sites in the rollup table, ranked by the rollup column behind a comparison."""
        return Link(self.t("site.link.sites"), rows_url("site_summary", crawl_id=self.crawl_id, visits__gt=0,
                                                        _sort_desc=RANKED_BY[measure]))

    def where(self, location: str | None) -> str:
        key = f"site.where.{location}"
        return self.t(key) if i18n.has(key) else (location or "?")

    def section(self, id: str, verdict: Verdict, facts: Iterable[Fact], table: Table | None = None,
                chart: Chart | None = None) -> Section:
        """A section whose heading is `site.{id}.heading` and whose verdict says `site.{id}.{verdict}`."""
        return Section(id=id, heading=self.t(f"site.{id}.heading"), verdict=verdict,
                       verdict_text=self.t(f"site.{id}.{verdict}"), facts=tuple(facts), table=table, chart=chart)

    def not_measured(self, id: str, heading_key: str) -> Section:
        return Section(id=id, heading=self.t(heading_key), verdict="none", verdict_text=self.t("site.not_measured"),
                       facts=(Fact(self.t("site.not_measured.fact")),))


def ints(value: object) -> list[int]:
    return [v for v in value if isinstance(v, int)] if isinstance(value, list) else []


def days(value: float | None, ctx: Context) -> str:
    return ctx.n(round(value)) if value is not None else ctx.t("site.cookies.session")
