"""Per-site rollups: one `site_summary` row per web crawl and site, so the readers' pages never group the requests.

A site page compares its site with the rest of the crawl ("more tracker companies than 82 % of the sites
visited"): that needs every site's counts, which only a GROUP BY over the whole requests, cookies and js_calls tables
can give. The rollup does that work once, when the data changes: `mouchard classify` (tracker columns re-derived),
the end of a crawl and an audit (findings replaced) call `rebuild`; the pages read one row per site.

The builders live here, in the classification layer, because `classify` (this layer) must call them and the layer
rule forbids classification -> publishing; the TC strings' vendor names (mouchard.decode.consent) are also only
reachable from here. Another rollup (per company, per app) is a function of the same shape added to `BUILDERS`.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from mouchard.decode.consent import GVL_VENDORS
from mouchard.decode.tcf import ConsentStringError, decode_tc_string
from mouchard.classification.company_rollup import rebuild_company_rollups
from mouchard.storage.json_columns import json_dict, json_list
from mouchard.storage.store import Store, utcnow
from mouchard.vendors.conduct import rebuild_vendor_conduct

if TYPE_CHECKING:
    from mouchard.storage.merge import MergeResult

LOADED = "('ok', 'partial')"  # a visit that loaded: the only ones counted (failed visits recorded nothing)
# leaks.identifier of typed text (crawler/collectors/keylogging.py). Typed-text leaks are few and most leaks are
# app traffic (no visit_id): their query starts from this list (identifier index), then the visit by its key.
TYPED = "('typed_email', 'typed_password', 'typed_phone', 'typed_name', 'typed_text')"
PHASES = ("initial", "reject", "accept", "gpc")
GVL_NAMES = {vendor.id: vendor.name for vendor in GVL_VENDORS}
MAX_VENDORS = 60  # vendors listed per TC string in the rollup (the count is always whole); a page lists fewer
MAX_TC_STRING = 20_000  # a TC string longer than this is not decoded here (the crawler's decoder already ran)

# Each query yields (site, column values...) for one crawl (:crawl). They start from the crawl's visits and reach
# each table through its visit_id index (the typed-text leaks the other way round): no full scan of a big table.
COUNTS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("requests", "third_party_requests", "tracker_requests", "tracker_entities", "advertising_entities",
      "tracker_entities_initial", "tracker_entities_reject", "tracker_entities_accept", "tracker_entities_gpc"), f"""
        SELECT v.site, count(*), sum(r.third_party = 1),
               sum(r.third_party = 1 AND r.tracker_entity IS NOT NULL),
               count(DISTINCT CASE WHEN r.third_party = 1 THEN r.tracker_entity END),
               count(DISTINCT CASE WHEN r.third_party = 1 AND r.tracker_category = 'advertising'
                                   THEN r.tracker_entity END),
               count(DISTINCT CASE WHEN r.third_party = 1 AND v.phase = 'initial' THEN r.tracker_entity END),
               count(DISTINCT CASE WHEN r.third_party = 1 AND v.phase = 'reject' THEN r.tracker_entity END),
               count(DISTINCT CASE WHEN r.third_party = 1 AND v.phase = 'accept' THEN r.tracker_entity END),
               count(DISTINCT CASE WHEN r.third_party = 1 AND v.phase = 'gpc' THEN r.tracker_entity END)
        FROM visits AS v CROSS JOIN requests AS r ON r.visit_id = v.id
        WHERE v.crawl_id = :crawl AND v.status IN {LOADED}
        GROUP BY v.site"""),
    (("tracker_entities_after_reject",), f"""
        SELECT v.site, count(DISTINCT r.tracker_entity)
        FROM visits AS v
        CROSS JOIN (SELECT visit_id, min(time_ms) AS clicked FROM consent
                    WHERE action = 'reject' AND time_ms IS NOT NULL GROUP BY visit_id) AS c ON c.visit_id = v.id
        CROSS JOIN requests AS r ON r.visit_id = v.id
        WHERE v.crawl_id = :crawl AND v.status IN {LOADED} AND v.phase = 'reject'
          AND r.third_party = 1 AND r.tracker_entity IS NOT NULL AND r.time_ms >= c.clicked
        GROUP BY v.site"""),
    (("tracking_cookies", "tracking_cookies_before_consent", "advertising_cookies", "max_cookie_lifetime_days"), f"""
        SELECT v.site,
               sum(c.identifier = 1 AND (c.tracker_entity IS NOT NULL OR c.third_party = 1)),
               sum(c.identifier = 1 AND (c.tracker_entity IS NOT NULL OR c.third_party = 1) AND c.before_consent = 1),
               sum(c.tracker_category = 'advertising'),
               max(CASE WHEN c.identifier = 1 AND (c.tracker_entity IS NOT NULL OR c.third_party = 1)
                        THEN coalesce(c.requested_lifetime_days, c.lifetime_days) END)
        FROM visits AS v CROSS JOIN cookies AS c ON c.visit_id = v.id
        WHERE v.crawl_id = :crawl AND v.status IN {LOADED}
        GROUP BY v.site"""),
    (("fingerprinting_scripts", "session_replay_scripts"), f"""
        SELECT v.site,
               sum(s.canvas_fingerprinting = 1 OR s.canvas_font_fingerprinting = 1 OR s.webgl_fingerprinting = 1
                   OR s.audio_fingerprinting = 1),
               sum(s.session_replay = 1)
        FROM visits AS v CROSS JOIN scripts AS s ON s.visit_id = v.id
        WHERE v.crawl_id = :crawl AND v.status IN {LOADED}
        GROUP BY v.site"""),
    (("keylogging_leaks",), f"""
        SELECT v.site, count(*)
        FROM leaks AS l CROSS JOIN visits AS v ON v.id = l.visit_id
        WHERE v.crawl_id = :crawl AND v.status IN {LOADED} AND l.identifier IN {TYPED}
        GROUP BY v.site"""),
    (("pixel_events", "meta_pixel_events", "google_events"), f"""
        SELECT v.site, count(*), sum(p.vendor = 'meta'), sum(p.vendor LIKE 'google%')
        FROM visits AS v CROSS JOIN pixel_events AS p ON p.visit_id = v.id
        WHERE v.crawl_id = :crawl AND v.status IN {LOADED}
        GROUP BY v.site"""),
    (("auctions", "bidders"), f"""
        SELECT v.site, count(DISTINCT b.auction_id), count(DISTINCT b.bidder)
        FROM visits AS v CROSS JOIN rtb AS b ON b.visit_id = v.id
        WHERE v.crawl_id = :crawl AND v.status IN {LOADED}
        GROUP BY v.site"""),
    (("id_syncs",), f"""
        SELECT v.site, count(*)
        FROM visits AS v CROSS JOIN id_syncs AS s ON s.visit_id = v.id
        WHERE v.crawl_id = :crawl AND v.status IN {LOADED}
        GROUP BY v.site"""),
    (("findings", "high_findings"), """
        SELECT v.site, count(*), sum(f.severity = 'high')
        FROM visits AS v CROSS JOIN findings AS f ON f.visit_id = v.id
        WHERE v.crawl_id = :crawl
        GROUP BY v.site"""),
)
ZERO_WHEN_NONE = tuple(column for columns, _ in COUNTS for column in columns
                       if column != "max_cookie_lifetime_days" and not column.startswith("tracker_entities_"))


def web_crawls(conn: sqlite3.Connection) -> list[int]:
    """Ids of the crawls that recorded visits (web crawls, merged ones too)."""
    return [row[0] for row in conn.execute("SELECT id FROM crawls WHERE EXISTS "
                                           "(SELECT 1 FROM visits WHERE visits.crawl_id = crawls.id) ORDER BY id")]


def site_summaries(conn: sqlite3.Connection, crawl_id: int) -> list[dict[str, Any]]:
    """The `site_summary` rows of one crawl, computed from its recorded rows (nothing is written)."""
    rows: dict[str, dict[str, Any]] = {}
    for site, status, phase, tags in conn.execute(
            "SELECT site, status, phase, tags FROM visits WHERE crawl_id = ? AND site IS NOT NULL ORDER BY id",
            (crawl_id,)):
        row = rows.setdefault(site, {"crawl_id": crawl_id, "site": site, "visits": 0, "failed_visits": 0,
                                     "_phases": set(), "_tags": set()})
        if status in ("ok", "partial"):
            row["visits"] += 1
            row["_phases"].add(phase)
        else:
            row["failed_visits"] += 1
        row["_tags"].update(_json_list(tags))
    for columns, sql in COUNTS:
        for site, *values in conn.execute(sql, {"crawl": crawl_id}):
            if site in rows:
                rows[site].update(zip(columns, values))
    for (site, phase, visit_id, *consent) in conn.execute(f"""
            SELECT v.site, v.phase, v.id, c.id, c.cmp, c.framework, c.source, c.raw, c.decoded, c.action,
                   c.action_method, c.verified, c.reject_first_layer, c.screenshot_file_id, c.time_ms
            FROM visits AS v CROSS JOIN consent AS c ON c.visit_id = v.id
            WHERE v.crawl_id = ? AND v.status IN {LOADED}
            ORDER BY v.id, c.time_ms, c.id""", (crawl_id,)):
        if site in rows:
            _add_consent(rows[site], phase, visit_id, consent)
    built = utcnow()
    out = []
    for row in rows.values():
        phases = row.pop("_phases")
        row["phases"] = [p for p in PHASES if p in phases] + sorted(p for p in phases if p not in PHASES and p)
        row["tags"] = sorted(row.pop("_tags"))
        for column in ZERO_WHEN_NONE:
            row[column] = row.get(column) or 0
        for phase in PHASES:  # a phase not visited is unknown, not zero
            column = f"tracker_entities_{phase}"
            row[column] = (row.get(column) or 0) if phase in phases else None
        actions = row.pop("_actions", {})
        for action in ("reject", "accept"):
            row[f"{action}_verified"] = actions.get(action)
        if "reject" in actions:
            row["tracker_entities_after_reject"] = row.get("tracker_entities_after_reject") or 0
        else:
            row["tracker_entities_after_reject"] = None
        row["gpc_statement"] = row.pop("_gpc", None)
        row["consent"] = row.pop("_consent", None) or None
        row["built_at"] = built
        out.append(row)
    return out


def rebuild_site_summary(store: Store, crawl_ids: Iterable[int] | None = None) -> int:
    """Replace the `site_summary` rows of `crawl_ids` (default: every crawl with visits); returns rows written."""
    crawls = web_crawls(store.conn) if crawl_ids is None else sorted(set(crawl_ids))
    written = 0
    for crawl_id in crawls:
        rows = site_summaries(store.conn, crawl_id)
        with store.transaction() as tx:
            tx.conn.execute("DELETE FROM site_summary WHERE crawl_id = ?", (crawl_id,))
            written += tx.insert_many("site_summary", rows) if rows else 0
    return written


# Every rollup: a function (store, crawl ids or None for all) -> rows written.
BUILDERS: dict[str, Callable[[Store, Iterable[int] | None], int]] = {
    "site_summary": rebuild_site_summary,
    "company_sites": rebuild_company_rollups,  # and company_cookies (mouchard.classification.company_rollup)
    "vendor_conduct": rebuild_vendor_conduct,  # declared versus observed per GVL vendor (mouchard.vendors.conduct)
}


def rebuild(store: Store, crawl_ids: Iterable[int] | None = None) -> dict[str, int]:
    """Rebuild every rollup for `crawl_ids` (None: all crawls); returns rows written per rollup table."""
    ids = None if crawl_ids is None else list(crawl_ids)
    return {name: build(store, ids) for name, build in BUILDERS.items()}


def merge(shards: Sequence[str | os.PathLike], into: str | os.PathLike, *, progress: Callable[[str], None] | None = None,
          command: list[str] | None = None) -> "MergeResult":
    """Merge shard databases into `into` (`mouchard.storage.merge.merge`: safe to repeat as shards grow), then count
    every rollup again on the merged rows: each shard's rollup counted its own visits only. What `mouchard merge`
    and `mouchard.api.merge` run."""
    from mouchard.storage.merge import merge as merge_shards

    result = merge_shards(shards, into, progress=progress, command=command)
    with Store(into) as store:
        rebuild(store)
    return result


def rebuild_at_end(store: Store, crawl_ids: Iterable[int]) -> str | None:
    """`rebuild` at the end of a crawl: the rollups are derived, so a failure to build them must not leave the crawl
    itself unfinished. Returns None, or the one-line reason (the crawl's summary records it; `mouchard classify`
    builds them again)."""
    try:
        rebuild(store, crawl_ids)
    except Exception as exc:  # noqa: BLE001 - any bug here is reported, the crawl's own rows are already stored
        return f"{type(exc).__name__}: {exc}"[:300]
    return None


def _json_list(text: str | None) -> list[str]:
    return [str(v) for v in json_list(text) if isinstance(v, (str, int))]


def _ints(value: object) -> list[int]:
    return sorted({v for v in value if isinstance(v, int) and not isinstance(v, bool)}) if isinstance(value, list) else []


def _add_consent(row: dict, phase: str, visit_id: int, consent: list) -> None:
    """Fold one consent row into the site's per-phase consent summary (the last reading of a phase wins)."""
    (consent_id, cmp, framework, source, raw, decoded_text, action, method, verified, first_layer, screenshot,
     time_ms) = consent
    phases = row.setdefault("_consent", {})
    entry = phases.setdefault(phase or "", {"visit_id": visit_id})
    if cmp and not entry.get("cmp"):
        entry["cmp"] = cmp
    if framework and framework not in entry.setdefault("frameworks", []):
        entry["frameworks"].append(framework)
    if screenshot and not entry.get("screenshot_file_id"):
        entry["screenshot_file_id"] = screenshot
    if action in ("reject", "accept"):
        entry.update({"action": action, "action_method": method, "verified": verified,
                      "reject_first_layer": first_layer, "action_consent_id": consent_id, "action_ms": time_ms})
        actions = row.setdefault("_actions", {})
        # a click verified once is verified; 0 only when every record of it says unverified
        actions[action] = max(actions.get(action) or 0, 1 if verified == 1 else 0)
    if framework == "gpc" and source == "well-known":
        row["_gpc"] = _gpc_statement(raw, decoded_text)
    if framework == "tcf" and (decoded_text or raw):
        tc = _tc_summary(raw, decoded_text)
        if tc is not None:
            entry["tcf"] = {"consent_id": consent_id, **tc}


def _gpc_statement(raw: str | None, decoded_text: str | None) -> str | None:
    """'true' or 'false' as /.well-known/gpc.json says; None when absent or invalid."""
    value = json_dict(decoded_text).get("gpc")
    if value is None and raw:
        text = raw.strip().lower()
        value = {"true": True, "false": False}.get(text)
        if value is None:
            value = json_dict(raw).get("gpc")
    return "true" if value is True else "false" if value is False else None


def _tc_summary(raw: str | None, decoded_text: str | None) -> dict | None:
    """Vendors and purposes a TC string consents to, with the GVL names mouchard knows; None if undecodable."""
    decoded = json_dict(decoded_text)
    if "vendor_consents" not in decoded and raw and len(raw) <= MAX_TC_STRING:
        try:
            decoded = decode_tc_string(raw)
        except ConsentStringError:
            return None
    if "vendor_consents" not in decoded:
        return None
    vendors = _ints(decoded.get("vendor_consents"))
    return {
        "vendor_count": len(vendors),
        "vendors": [[v, GVL_NAMES.get(v)] for v in vendors[:MAX_VENDORS]],
        "named_vendors": [[v, GVL_NAMES[v]] for v in vendors if v in GVL_NAMES],
        "purposes": _ints(decoded.get("purposes_consent")),
        "legitimate_interests": _ints(decoded.get("purposes_li_transparency")),
        "special_features": _ints(decoded.get("special_feature_opt_ins")),
        "cmp_id": decoded.get("cmp_id") if isinstance(decoded.get("cmp_id"), int) else None,
    }
