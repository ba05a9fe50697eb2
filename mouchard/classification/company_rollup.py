"""Per-company rollups: `company_sites` (crawl x company x visited site x phase) and `company_cookies` (crawl x company
x cookie name), so that a company page never groups the requests or cookies tables.

A company such as Google is in a third of a crawl's requests: counting its sites and phases from `requests` reads
hundreds of thousands of index entries per page view. The rollup does that work once per crawl, when the data
changes (`mouchard classify`, the end of a crawl and an audit call `mouchard.classification.rollups.rebuild`, which
calls `rebuild_company_rollups`); the page reads a few rows per site. Every visit counts, loaded or not: a request
recorded before a timeout was still sent.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

from mouchard.storage.store import Store, utcnow

# Both start from the crawl's visits (visits.crawl_id index), then each visit's rows by their visit_id index.
REQUESTS = """
    SELECT r.tracker_entity, v.site, v.phase, count(DISTINCT v.id), count(*)
    FROM visits AS v CROSS JOIN requests AS r ON r.visit_id = v.id
    WHERE v.crawl_id = ? AND r.tracker_entity IS NOT NULL
    GROUP BY r.tracker_entity, v.site, v.phase"""
COOKIES = """
    SELECT c.tracker_entity, v.site, v.phase, count(*), sum(c.identifier = 1), sum(c.before_consent = 1),
           sum(v.phase = 'reject' AND c.before_consent = 0)
    FROM visits AS v CROSS JOIN cookies AS c ON c.visit_id = v.id
    WHERE v.crawl_id = ? AND c.tracker_entity IS NOT NULL
    GROUP BY c.tracker_entity, v.site, v.phase"""
COOKIE_NAMES = """
    SELECT c.tracker_entity, c.name, count(*), sum(c.identifier = 1),
           max(coalesce(c.requested_lifetime_days, c.lifetime_days)), sum(c.before_consent = 1)
    FROM visits AS v CROSS JOIN cookies AS c ON c.visit_id = v.id
    WHERE v.crawl_id = ? AND c.tracker_entity IS NOT NULL
    GROUP BY c.tracker_entity, c.name"""


def company_rows(conn: sqlite3.Connection, crawl_id: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The `company_sites` and `company_cookies` rows of one crawl, computed from its recorded rows."""
    built = utcnow()
    sites: dict[tuple, dict[str, Any]] = {}

    def row(entity: str, site: str | None, phase: str | None) -> dict[str, Any]:
        return sites.setdefault((entity, site, phase), {
            "crawl_id": crawl_id, "tracker_entity": entity, "site": site, "phase": phase, "visits": 0, "requests": 0,
            "cookies": 0, "identifier_cookies": 0, "cookies_before_consent": 0, "cookies_after_reject": 0,
            "built_at": built})

    for entity, site, phase, visits, requests in conn.execute(REQUESTS, (crawl_id,)):
        row(entity, site, phase).update(visits=visits, requests=requests)
    for entity, site, phase, cookies, identifiers, before, after_reject in conn.execute(COOKIES, (crawl_id,)):
        row(entity, site, phase).update(cookies=cookies, identifier_cookies=identifiers or 0,
                                        cookies_before_consent=before or 0, cookies_after_reject=after_reject or 0)
    names = [{"crawl_id": crawl_id, "tracker_entity": entity, "name": name, "cookies": cookies,
              "identifier_cookies": identifiers or 0, "max_lifetime_days": days, "cookies_before_consent": before or 0,
              "built_at": built}
             for entity, name, cookies, identifiers, days, before in conn.execute(COOKIE_NAMES, (crawl_id,))]
    return list(sites.values()), names


def rebuild_company_rollups(store: Store, crawl_ids: Iterable[int] | None = None) -> int:
    """Replace the `company_sites` and `company_cookies` rows of `crawl_ids` (default: every crawl with visits);
    returns rows written."""
    if crawl_ids is None:
        crawls = [row[0] for row in store.conn.execute(
            "SELECT id FROM crawls WHERE EXISTS (SELECT 1 FROM visits WHERE visits.crawl_id = crawls.id) ORDER BY id")]
    else:
        crawls = sorted(set(crawl_ids))
    written = 0
    for crawl_id in crawls:
        sites, names = company_rows(store.conn, crawl_id)
        with store.transaction() as tx:
            tx.conn.execute("DELETE FROM company_sites WHERE crawl_id = ?", (crawl_id,))
            tx.conn.execute("DELETE FROM company_cookies WHERE crawl_id = ?", (crawl_id,))
            written += tx.insert_many("company_sites", sites) if sites else 0
            written += tx.insert_many("company_cookies", names) if names else 0
    return written
