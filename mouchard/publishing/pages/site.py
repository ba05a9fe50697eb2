"""The site page `/site/{site}`: what mouchard found on one site, in plain sentences, each linked to its rows.

`key` is a visited registrable domain (visits.site); `?crawl=<id>` chooses the crawl (default: the latest one that
loaded the site). The site's own numbers come from the few visits of that crawl (every query starts from
`visits.site` or a visit id, through an index, and is bounded); its rank among the crawl's other sites comes from
the `site_summary` rollup (built by `mouchard classify`, the end of a crawl and an audit), never from grouping the
requests table. A section whose collector did not run says "not measured" (verdict "none"), never "good".
"""

from __future__ import annotations

import sqlite3

from mouchard.publishing import i18n
from mouchard.publishing.pages import page_url
from mouchard.publishing.pages.common import by_severity, evidence_path, json_dict, json_list, row_url, rows_url
from mouchard.publishing.pages.model import Chart, Fact, Link, Page, Section, Table
from mouchard.publishing.pages.site_context import (
    CNIL_MAX_DAYS, LOADED, MAX_ID_FILTER, MAX_ROWS, MAX_VISITS, PHASES, Context, crawl_of, days, ints)
from mouchard.publishing.pages.site_text import MESSAGES
from mouchard.publishing.pages.site_vendors import vendors_section

i18n.register(MESSAGES)


def build(conn: sqlite3.Connection, key: str, lang: str, query: dict) -> Page | None:
    """The page of site `key` in `lang`; None (a 404) when no crawl visited it, or `crawl` names none that did."""
    site = (key or "").strip().lower()
    if not site or len(site) > 253:
        return None
    crawl_id = crawl_of(conn, site, query.get("crawl"))
    if crawl_id is None:
        return None
    visits = [dict(zip(("id", "phase", "status", "final_url", "depth"), row)) for row in conn.execute(
        "SELECT id, phase, status, final_url, depth FROM visits WHERE site = ? AND crawl_id = ? ORDER BY id LIMIT ?",
        (site, crawl_id, MAX_VISITS))]
    ctx = Context(conn, lang, site, crawl_id, visits)
    sections = (_visits(ctx), _trackers(ctx), _cookies(ctx), _fingerprinting(ctx), _replay(ctx), _keylogging(ctx),
                _pixels(ctx), _consent(ctx), _gpc(ctx), _bidding(ctx), _idsync(ctx), vendors_section(ctx),
                _findings(ctx))
    started = ctx.crawl.get("started_at") or ""
    lede = i18n.t("site.lede", lang, crawl=crawl_id, date=started[:10] or "?",
                  visits=ctx.plural("site.visits", len(ctx.loaded)), phases=ctx.phase_list(ctx.phases))
    return Page(kind="site", key=site, lang=lang, title=i18n.t("site.title", lang, site=site), lede=lede,
                sections=sections)


# -- sections ---------------------------------------------------------------------------------------------------


def _visits(ctx: Context) -> Section:
    facts = []
    if ctx.loaded:
        facts.append(Fact(ctx.t("site.visits.done", visits=ctx.plural("site.visits", len(ctx.loaded)),
                                phases=ctx.phase_list(ctx.phases)),
                          (Link(ctx.t("site.link.rows"), rows_url("visits", id__in=ctx.visit_filter())),)))
    failed = [v for v in ctx.visits if v["status"] not in LOADED]
    if failed:
        statuses = ", ".join(sorted({str(v["status"]) for v in failed}))
        facts.append(Fact(ctx.plural("site.visits.failed", len(failed), statuses=statuses),
                          (Link(ctx.t("site.link.rows"), rows_url("visits", id__in=",".join(
                              str(v["id"]) for v in failed[:MAX_ID_FILTER]))),)))
    all_ids = [v["id"] for v in ctx.visits]
    marks = ",".join("?" * len(all_ids))
    files = ctx.conn.execute(f"SELECT id, visit_id, media_type, documents FROM evidence_files "
                             f"WHERE visit_id IN ({marks}) ORDER BY id LIMIT ?", (*all_ids, MAX_ROWS)).fetchall()
    if files:
        images = [f for f in files if (f[2] or "").startswith("image/")]
        links = tuple(Link(f"{ctx.t('site.link.screenshot')} ({ctx.phase(ctx.phase_of.get(f[1]))})",
                           evidence_path(f[0])) for f in images)
        links += tuple(Link(f"{ctx.t('site.link.file')} ({f[3] or '?'})", row_url("evidence_files", f[0]))
                       for f in files if f not in images)
        facts.append(Fact(ctx.t("site.visits.evidence", screenshots=ctx.n(len(images)),
                                files=ctx.n(len(files) - len(images))), links))
    others = ctx.conn.execute("SELECT DISTINCT crawl_id FROM visits WHERE site = ? AND crawl_id != ? "
                              "ORDER BY crawl_id DESC LIMIT 20", (ctx.site, ctx.crawl_id)).fetchall()
    if others:
        facts.append(Fact(ctx.t("site.visits.other_crawls"), tuple(
            Link(ctx.t("site.link.crawl", crawl=c), page_url("site", ctx.site, ctx.lang, crawl=str(c)))
            for (c,) in others)))
    table = Table(columns=(ctx.t("site.visits.col.visit"), ctx.t("site.visits.col.phase"),
                           ctx.t("site.visits.col.status"), ctx.t("site.visits.col.page")),
                  rows=tuple((Link(str(v["id"]), row_url("visits", v["id"])), ctx.phase(v["phase"]),
                              str(v["status"]), v["final_url"]) for v in ctx.visits[:MAX_ROWS]))
    bad = bool(failed) or any(v["status"] != "ok" for v in ctx.loaded) or not ctx.loaded
    return Section(id="visits", heading=ctx.t("site.visits.heading"), verdict="warn" if bad else "good",
                   verdict_text=ctx.t("site.visits.failed_verdict" if bad else "site.visits.ok"),
                   facts=tuple(facts), table=table)


def _trackers(ctx: Context) -> Section:
    if not ctx.loaded:
        return ctx.not_measured("trackers", "site.trackers.heading")
    rows = ctx.rows("""SELECT r.tracker_entity, group_concat(DISTINCT r.tracker_category),
                              group_concat(DISTINCT v.phase), count(*)
                       FROM visits AS v CROSS JOIN requests AS r ON r.visit_id = v.id
                       WHERE v.id IN ({ids}) AND r.third_party = 1 AND r.tracker_entity IS NOT NULL
                       GROUP BY r.tracker_entity ORDER BY count(*) DESC, r.tracker_entity LIMIT 500""")
    names = [r[0] for r in rows]
    ads = [r[0] for r in rows if "advertising" in (r[1] or "").split(",")]
    link = ctx.rows_link("requests", "site.link.requests", third_party=1, tracker_entity__notblank=1)
    if not rows:
        facts = [Fact(ctx.t("site.trackers.none"), (ctx.rows_link("requests", "site.link.requests"),))]
    else:
        facts = [Fact(ctx.plural("site.trackers.count", len(rows), names=ctx.names(names)), (link,))]
        if ads:
            facts.append(Fact(ctx.t("site.trackers.ads", names=ctx.names(ads)), (ctx.rows_link(
                "requests", "site.link.requests", third_party=1, tracker_category="advertising"),)))
    facts += ctx.compare_more("fewer_entities", len(rows))
    table = Table(columns=(ctx.t("site.trackers.col.company"), ctx.t("site.trackers.col.what"),
                           ctx.t("site.trackers.col.phases"), ctx.t("site.trackers.col.requests")),
                  rows=tuple((Link(name, page_url("company", name, ctx.lang)),
                              ", ".join(ctx.category(c) for c in sorted(set((cats or "").split(","))) if c),
                              ctx.phase_list([p for p in PHASES if p in (phases or "").split(",")]),
                              Link(ctx.n(count), rows_url("requests", visit_id__in=ctx.visit_filter(),
                                                          third_party=1, tracker_entity=name)))
                             for name, cats, phases, count in rows[:MAX_ROWS])) if rows else None
    verdict = "bad" if ads else "warn" if rows else "good"
    return ctx.section("trackers", verdict, facts, table=table, chart=_trackers_chart(ctx, len(rows)))


MAX_BARS = 60  # counts of tracker companies drawn; sites beyond are in the last bar's tooltip range


def _trackers_chart(ctx: Context, mine: int) -> Chart | None:
    """How many sites of the crawl contacted 0, 1, 2... tracker companies, this site's bar marked (from the
    rollup: one indexed read of the crawl's rows; no chart without it, or for a crawl of one site)."""
    if ctx.others is None or ctx.others["total"] < 2:
        return None
    counts = dict(ctx.conn.execute("""SELECT min(tracker_entities, ?), count(*) FROM site_summary
                                      WHERE crawl_id = ? AND visits > 0 GROUP BY 1""",
                                   (MAX_BARS, ctx.crawl_id)).fetchall())
    x, y = ctx.t("site.trackers.chart.x"), ctx.t("site.trackers.chart.y")
    this = ctx.t("site.trackers.chart.this")
    data = tuple({"companies": n, "sites": counts.get(n, 0), "this": this if n == min(mine, MAX_BARS) else ""}
                 for n in range(max(counts, default=0) + 1))
    return Chart(ctx.t("site.trackers.chart"), {
        "description": ctx.t("site.trackers.chart.description"),
        "mark": {"type": "bar", "tooltip": True},
        "encoding": {
            "x": {"field": "companies", "type": "ordinal", "title": x, "axis": {"labelAngle": 0}},
            "y": {"field": "sites", "type": "quantitative", "title": y, "axis": {"format": "d", "tickMinStep": 1}},
            "color": {"condition": {"test": "datum.this != ''", "value": "#8b0000"}, "value": "#999999"},
            "tooltip": [{"field": "companies", "type": "ordinal", "title": x},
                        {"field": "sites", "type": "quantitative", "title": y},
                        {"field": "this", "type": "nominal", "title": this}],
        },
    }, data)


TRACKING_COOKIE = "c.identifier = 1 AND (c.tracker_entity IS NOT NULL OR c.third_party = 1)"


def _cookies(ctx: Context) -> Section:
    if not ctx.loaded:
        return ctx.not_measured("cookies", "site.cookies.heading")
    rows = ctx.rows(f"""SELECT c.id, c.visit_id, c.name, c.domain, c.tracker_entity, c.tracker_category,
                               c.requested_lifetime_days, c.lifetime_days, c.before_consent,
                               ({TRACKING_COOKIE}) AS tracking
                        FROM visits AS v CROSS JOIN cookies AS c ON c.visit_id = v.id
                        WHERE v.id IN ({{ids}}) AND (({TRACKING_COOKIE}) OR c.tracker_category = 'advertising')
                        ORDER BY c.tracker_category = 'advertising' DESC,
                                 coalesce(c.requested_lifetime_days, c.lifetime_days) DESC, c.id LIMIT 500""")
    tracking = [r for r in rows if r[9]]
    before = [r for r in tracking if r[8] == 1]
    ads = [r for r in rows if r[5] == "advertising"]
    facts = [Fact(ctx.plural("site.cookies.count", len(tracking), before=ctx.n(len(before))),
                  (ctx.rows_link("cookies", identifier=1),))]
    if ads:
        facts.append(Fact(ctx.t("site.cookies.ads", n=ctx.n(len(ads)),
                                names=ctx.names(sorted({r[2] for r in ads if r[2]}))),
                          (ctx.rows_link("cookies", tracker_category="advertising"),)))
    lifetimes = [r for r in rows if (r[6] if r[6] is not None else r[7]) is not None]
    if lifetimes:
        longest = max(lifetimes, key=lambda r: (r[6] if r[6] is not None else r[7], -r[0]))
        key = "site.cookies.longest" if longest[6] is not None else "site.cookies.longest.kept"
        facts.append(Fact(ctx.t(key, name=longest[2], owner=longest[4] or longest[3],
                                asked=days(longest[6], ctx), kept=days(longest[7], ctx)),
                          (Link(ctx.t("site.link.row"), row_url("cookies", longest[0])),)))
        over = [r for r in lifetimes if (r[6] if r[6] is not None else r[7]) > CNIL_MAX_DAYS]
        if over:
            facts.append(Fact(ctx.t("site.cookies.over_cnil", n=ctx.n(len(over)))))
    facts += ctx.compare_more("fewer_cookies", len(tracking))
    # one line per cookie (name, domain, company) with the phases it was set in: the same cookie in four visits
    # is one cookie to a reader; its first row is the one linked, its longest lifetimes the ones shown
    grouped: dict[tuple, dict] = {}
    for r in rows:
        line = grouped.setdefault((r[2], r[3], r[4]), {"id": r[0], "asked": None, "kept": None, "before": False,
                                                       "phases": set()})
        line["asked"] = max((x for x in (line["asked"], r[6]) if x is not None), default=None)
        line["kept"] = max((x for x in (line["kept"], r[7]) if x is not None), default=None)
        line["before"] = line["before"] or r[8] == 1
        line["phases"].add(ctx.phase_of.get(r[1]))
    table = Table(columns=tuple(ctx.t(f"site.cookies.col.{c}") for c in (
        "name", "domain", "company", "asked", "kept", "before", "phase")),
        rows=tuple((Link(name or "?", row_url("cookies", line["id"])), domain, owner,
                    days(line["asked"], ctx) if line["asked"] is not None else "—", days(line["kept"], ctx),
                    ctx.t("site.yes" if line["before"] else "site.no"),
                    ctx.phase_list([p for p in PHASES if p in line["phases"]]))
                   for (name, domain, owner), line in list(grouped.items())[:MAX_ROWS])) if rows else None
    verdict = "bad" if before else "warn" if tracking or ads else "good"
    return ctx.section("cookies", verdict, facts, table=table)


def _fingerprinting(ctx: Context) -> Section:
    rows = ctx.rows("""SELECT min(s.id), s.script_url, s.tracker_entity, s.script_site,
                              max(s.canvas_fingerprinting), max(s.canvas_font_fingerprinting),
                              max(s.webgl_fingerprinting), max(s.audio_fingerprinting)
                       FROM visits AS v CROSS JOIN scripts AS s ON s.visit_id = v.id
                       WHERE v.id IN ({ids}) AND (s.canvas_fingerprinting = 1 OR s.canvas_font_fingerprinting = 1
                             OR s.webgl_fingerprinting = 1 OR s.audio_fingerprinting = 1)
                       GROUP BY s.script_url ORDER BY s.script_url LIMIT ?""", (MAX_ROWS,))
    seen = bool(rows) or bool(ctx.rows("SELECT 1 FROM visits AS v CROSS JOIN scripts AS s ON s.visit_id = v.id "
                                       "WHERE v.id IN ({ids}) LIMIT 1"))
    if not ctx.measured("fingerprinting", seen):
        return ctx.not_measured("fingerprinting", "site.fingerprinting.heading")
    if not rows:
        facts = [Fact(ctx.t("site.fingerprinting.none"))]
    else:
        facts = [Fact(ctx.plural("site.fingerprinting.count", len(rows)), (ctx.rows_link("scripts"),))]
        for row_id, script, owner, script_site, canvas, font, webgl, audio in rows:
            techniques = [ctx.t(f"site.technique.{name}") for name, on in (
                ("canvas", canvas), ("canvas_font", font), ("webgl", webgl), ("audio", audio)) if on == 1]
            facts.append(Fact(ctx.t("site.fingerprinting.script", script=script, owner=owner or script_site or "?",
                                    techniques=", ".join(techniques)),
                              (Link(ctx.t("site.link.row"), row_url("scripts", row_id)),
                               ctx.rows_link("js_calls", "site.link.calls", script_url=script))))
    if rows:
        facts += ctx.compare_same("fingerprinting")
    verdict = "bad" if rows else "good"
    return ctx.section("fingerprinting", verdict, facts)


def _replay(ctx: Context) -> Section:
    rows = ctx.rows("""SELECT min(s.id), s.script_url, coalesce(s.session_replay_service, s.tracker_entity),
                              max(s.session_replay_hosts)
                       FROM visits AS v CROSS JOIN scripts AS s ON s.visit_id = v.id
                       WHERE v.id IN ({ids}) AND s.session_replay = 1
                       GROUP BY s.script_url ORDER BY s.script_url LIMIT ?""", (MAX_ROWS,))
    if not ctx.measured("session_replay", bool(rows)):
        return ctx.not_measured("replay", "site.replay.heading")
    facts = [Fact(ctx.t("site.replay.script", service=service or "?", script=script,
                        hosts=ctx.names([str(h) for h in json_list(hosts)]) or "?"),
                  (Link(ctx.t("site.link.row"), row_url("scripts", row_id)),))
             for row_id, script, service, hosts in rows] or [Fact(ctx.t("site.replay.none"))]
    if rows:
        facts += ctx.compare_same("replay")
    verdict = "bad" if rows else "good"
    return ctx.section("replay", verdict, facts)


def _keylogging(ctx: Context) -> Section:
    rows = ctx.rows("""SELECT l.id, l.identifier, l.destination_host, l.location, l.chain, l.third_party,
                              l.request_id
                       FROM visits AS v CROSS JOIN leaks AS l ON l.visit_id = v.id
                       WHERE v.id IN ({ids}) AND l.identifier IN
                             ('typed_email', 'typed_password', 'typed_phone', 'typed_name', 'typed_text')
                       ORDER BY l.third_party DESC, l.id LIMIT ?""", (MAX_ROWS,))
    if not ctx.measured("keylogging", bool(rows)):
        return ctx.not_measured("keylogging", "site.keylogging.heading")
    facts = []
    for leak_id, kind, host, where, chain, _third, request_id in rows:
        what_key = f"site.typed.{kind}"
        links = (Link(ctx.t("site.link.row"), row_url("leaks", leak_id)),)
        if request_id:
            links += (Link(ctx.t("site.link.requests"), row_url("requests", request_id)),)
        facts.append(Fact(ctx.t("site.keylogging.leak", what=ctx.t(what_key) if i18n.has(what_key) else kind,
                                host=host or "?", where=ctx.where(where), chain=chain or "—"), links))
    if not rows:
        facts.append(Fact(ctx.t("site.keylogging.none")))
    else:
        facts += ctx.compare_same("keylogging")
    verdict = "bad" if any(r[5] == 1 for r in rows) else "warn" if rows else "good"
    return ctx.section("keylogging", verdict, facts)


def _pixels(ctx: Context) -> Section:
    rows = ctx.rows("""SELECT p.vendor, p.event, count(*), max(p.user_data IS NOT NULL AND p.user_data NOT IN
                              ('', '{{}}', 'null'))
                       FROM visits AS v CROSS JOIN pixel_events AS p ON p.visit_id = v.id
                       WHERE v.id IN ({ids})
                       GROUP BY p.vendor, p.event ORDER BY p.vendor, count(*) DESC LIMIT 500""")
    if not ctx.measured("pixels", bool(rows)):
        return ctx.not_measured("pixels", "site.pixels.heading")
    facts = []
    by_vendor: dict[str, list[tuple]] = {}
    for row in rows:
        by_vendor.setdefault(row[0] or "?", []).append(row)
    for vendor, events in by_vendor.items():
        key = f"site.vendor.{vendor}"
        facts.append(Fact(ctx.t("site.pixels.vendor", vendor=ctx.t(key) if i18n.has(key) else vendor,
                                n=ctx.n(sum(e[2] for e in events)),
                                events=ctx.names([str(e[1]) for e in events])),
                          (ctx.rows_link("pixel_events", vendor=vendor),)))
    fields: set[str] = set()
    if any(r[3] for r in rows):
        for (data,) in ctx.rows("""SELECT DISTINCT p.user_data FROM visits AS v
                                   CROSS JOIN pixel_events AS p ON p.visit_id = v.id
                                   WHERE v.id IN ({ids}) AND p.user_data IS NOT NULL LIMIT 50"""):
            fields.update(str(k)[:40] for k in json_dict(data))
        if fields:
            facts.append(Fact(ctx.t("site.pixels.user_data", fields=ctx.names(sorted(fields)))))
    if not rows:
        facts.append(Fact(ctx.t("site.pixels.none")))
    else:
        facts += ctx.compare_same("pixels")
    advertising = any(v in ("meta", "google-ads") for v in by_vendor) or bool(fields)
    verdict = "bad" if advertising else "warn" if rows else "good"
    return ctx.section("pixels", verdict, facts)


def _consent(ctx: Context) -> Section:
    rows = ctx.rows("""SELECT c.id, c.visit_id, c.cmp, c.framework, c.action, c.action_method, c.verified,
                              c.reject_first_layer, c.screenshot_file_id, c.time_ms, c.decoded
                       FROM visits AS v CROSS JOIN consent AS c ON c.visit_id = v.id
                       WHERE v.id IN ({ids}) ORDER BY c.visit_id, c.time_ms, c.id LIMIT 500""")
    if not ctx.loaded or not set(ctx.phases) & {"reject", "accept"} and not rows:
        return ctx.not_measured("consent", "site.consent.heading")
    per_phase: dict[str, dict] = {}
    for row_id, visit_id, cmp, framework, action, method, verified, first_layer, shot, time_ms, _ in rows:
        entry = per_phase.setdefault(ctx.phase_of.get(visit_id) or "?", {"visit_id": visit_id})
        entry.setdefault("cmp", cmp)
        entry["cmp"] = entry["cmp"] or cmp
        entry["screenshot"] = entry.get("screenshot") or shot
        if action in ("reject", "accept"):
            entry.update(action=action, method=method, verified=max(entry.get("verified") or 0, verified or 0),
                         first_layer=first_layer, time_ms=time_ms, row_id=row_id)
    entity_rows = ctx.rows("""SELECT v.phase, count(DISTINCT r.tracker_entity)
                              FROM visits AS v CROSS JOIN requests AS r ON r.visit_id = v.id
                              WHERE v.id IN ({ids}) AND r.third_party = 1 AND r.tracker_entity IS NOT NULL
                              GROUP BY v.phase""")
    entities = {p: n for p, n in entity_rows}
    cookie_rows = ctx.rows(f"""SELECT v.phase, count(*) FROM visits AS v CROSS JOIN cookies AS c
                               ON c.visit_id = v.id WHERE v.id IN ({{ids}}) AND {TRACKING_COOKIE}
                               GROUP BY v.phase""")
    cookies = {p: n for p, n in cookie_rows}
    facts = []
    cmps = sorted({e["cmp"] for e in per_phase.values() if e.get("cmp")})
    facts.append(Fact(ctx.t("site.consent.banner", cmp=", ".join(cmps)) if cmps else ctx.t("site.consent.no_banner"),
                      (ctx.rows_link("consent"),)))
    first_layers = {e.get("first_layer") for e in per_phase.values() if e.get("action") == "reject"}
    if 1 in first_layers or 0 in first_layers:
        facts.append(Fact(ctx.t(f"site.consent.first_layer.{1 if 1 in first_layers else 0}")))
    verdict, after_names = "good", []
    for action in ("reject", "accept"):
        entry = per_phase.get(action)
        if action not in ctx.phases:
            continue
        label = ctx.t(f"site.consent.action.{action}")
        if not entry or entry.get("action") != action:
            facts.append(Fact(ctx.t("site.consent.not_clicked", action=label)))
            if action == "reject":
                verdict = "warn"
            continue
        state = "verified" if entry["verified"] == 1 else "unverified"
        method = f" ({entry['method']})" if entry.get("method") else ""
        facts.append(Fact(ctx.t(f"site.consent.clicked.{state}", action=label, method=method),
                          (Link(ctx.t("site.link.row"), row_url("consent", entry["row_id"])),)))
        if action == "reject":
            if state == "unverified":
                verdict = "warn"
            if entry.get("time_ms") is not None:
                after_names = [r[0] for r in ctx.conn.execute(
                    """SELECT DISTINCT r.tracker_entity FROM requests AS r WHERE r.visit_id = ?
                       AND r.third_party = 1 AND r.tracker_entity IS NOT NULL AND r.time_ms >= ?
                       ORDER BY r.tracker_entity LIMIT 500""", (entry["visit_id"], entry["time_ms"]))]
                link = Link(ctx.t("site.link.requests"), rows_url(
                    "requests", visit_id=entry["visit_id"], third_party=1, tracker_entity__notblank=1,
                    time_ms__gte=entry["time_ms"]))
                if after_names:
                    verdict = "bad"
                    facts.append(Fact(ctx.plural("site.consent.after_reject", len(after_names),
                                                 names=ctx.names(after_names)), (link,)))
                else:
                    facts.append(Fact(ctx.t("site.consent.after_reject.none"), (link,)))
    colon, separator = (" : ", " ; ") if ctx.lang == "fr" else (": ", "; ")
    counts = separator.join(f"{ctx.phase(p)}{colon}{ctx.n(entities.get(p, 0))}" for p in ctx.phases)
    facts.append(Fact(ctx.t("site.consent.by_phase", counts=counts), (ctx.rows_link(
        "requests", "site.link.requests", third_party=1, tracker_entity__notblank=1),)))
    facts.extend(_tcf_facts(ctx, rows))
    if "reject" in ctx.phases and after_names:
        facts += ctx.compare_same("after_reject")
    table = Table(columns=tuple(ctx.t(f"site.consent.col.{c}") for c in (
        "phase", "cmp", "action", "verified", "trackers", "cookies", "screenshot")),
        rows=tuple((ctx.phase(p), (per_phase.get(p) or {}).get("cmp"),
                    ctx.t(f"site.consent.action.{per_phase[p]['action']}") if (per_phase.get(p) or {}).get("action")
                    else "—",
                    (ctx.t("site.yes" if per_phase[p]["verified"] == 1 else "site.no")
                     if (per_phase.get(p) or {}).get("action") else "—"),
                    ctx.n(entities.get(p, 0)), ctx.n(cookies.get(p, 0)),
                    Link(ctx.t("site.link.screenshot"), evidence_path(per_phase[p]["screenshot"]))
                    if (per_phase.get(p) or {}).get("screenshot") else None)
                   for p in ctx.phases))
    if "reject" not in ctx.phases:  # what the banner does is shown, but a refusal not tried is not "respected"
        verdict = "none"
    return ctx.section("consent", verdict, facts, table=table)


def _tcf_facts(ctx: Context, rows: list[tuple]) -> list[Fact]:
    """The TC string in force in each phase, with vendor names (from the rollup, which knows the GVL) and
    purposes in words; from the consent row's own decoded fields, without names, when there is no rollup."""
    summary = json_dict((ctx.summary or {}).get("consent"))
    facts = []
    for phase in ctx.phases:
        tc = (summary.get(phase) or {}).get("tcf")
        if not isinstance(tc, dict):
            decoded = next((json_dict(r[10]) for r in reversed(rows) if r[3] == "tcf"
                            and ctx.phase_of.get(r[1]) == phase and "vendor_consents" in json_dict(r[10])), None)
            if decoded is None:
                continue
            vendors = [v for v in decoded.get("vendor_consents") or [] if isinstance(v, int)]
            tc = {"vendor_count": len(vendors), "named_vendors": [],
                  "purposes": [p for p in decoded.get("purposes_consent") or [] if isinstance(p, int)],
                  "consent_id": next(r[0] for r in reversed(rows) if r[3] == "tcf"
                                     and ctx.phase_of.get(r[1]) == phase)}
        named = [str(v[1]) for v in tc.get("named_vendors") or [] if isinstance(v, list) and len(v) == 2]
        purposes = [ctx.t(f"site.purpose.{p}") if i18n.has(f"site.purpose.{p}")
                    else ctx.t("site.purpose.other", id=p) for p in tc.get("purposes") or [] if isinstance(p, int)]
        link = (Link(ctx.t("site.link.row"), row_url("consent", tc["consent_id"])),) \
            if isinstance(tc.get("consent_id"), int) else ()
        facts.append(Fact(ctx.t("site.consent.tcf", phase=ctx.phase(phase), n=ctx.n(tc.get("vendor_count") or 0),
                                names=f" ({ctx.names(named)})" if named else "",
                                purposes=", ".join(purposes) or ctx.t("site.consent.tcf.no_purpose")), link))
    return facts


def _gpc(ctx: Context) -> Section:
    gpc_visits = [v["id"] for v in ctx.loaded if v["phase"] == "gpc"]
    if not gpc_visits:
        return ctx.not_measured("gpc", "site.gpc.heading")
    marks = ",".join("?" * len(gpc_visits))
    ads = [r[0] for r in ctx.conn.execute(
        f"""SELECT DISTINCT r.tracker_entity FROM visits AS v CROSS JOIN requests AS r ON r.visit_id = v.id
            WHERE v.id IN ({marks}) AND r.third_party = 1 AND r.tracker_category = 'advertising'
            AND r.tracker_entity IS NOT NULL ORDER BY r.tracker_entity LIMIT 500""", gpc_visits)]
    (cookies,) = ctx.conn.execute(f"""SELECT count(*) FROM visits AS v CROSS JOIN cookies AS c ON c.visit_id = v.id
                                      WHERE v.id IN ({marks}) AND {TRACKING_COOKIE}""", gpc_visits).fetchone()
    ids = ",".join(map(str, gpc_visits))
    if ads or cookies:
        facts = [Fact(ctx.t("site.gpc.ignored", ads=ctx.n(len(ads)), names=ctx.names(ads) or "—",
                            cookies=ctx.n(cookies)),
                      (Link(ctx.t("site.link.requests"), rows_url("requests", visit_id__in=ids, third_party=1,
                                                                  tracker_category="advertising")),
                       Link(ctx.t("site.link.rows"), rows_url("cookies", visit_id__in=ids, identifier=1))))]
    else:
        facts = [Fact(ctx.t("site.gpc.honoured"), (Link(ctx.t("site.link.requests"),
                                                        rows_url("requests", visit_id__in=ids)),))]
    statement = (ctx.summary or {}).get("gpc_statement")
    if ctx.summary is not None:
        facts.append(Fact(ctx.t(f"site.gpc.statement.{statement if statement in ('true', 'false') else 'none'}"),
                          (Link(ctx.t("site.link.rows"), rows_url("consent", visit_id__in=ids, framework="gpc")),)))
    verdict = "bad" if ads or cookies else "good"
    return ctx.section("gpc", verdict, facts)


def _bidding(ctx: Context) -> Section:
    if not ctx.loaded:
        return ctx.not_measured("bidding", "site.bidding.heading")
    rows = ctx.rows("""SELECT coalesce(b.bidder, b.exchange), max(b.tracker_entity), count(DISTINCT b.auction_id),
                              sum(b.won = 1), group_concat(b.personal_fields, '|')
                       FROM visits AS v CROSS JOIN rtb AS b ON b.visit_id = v.id
                       WHERE v.id IN ({ids})
                       GROUP BY coalesce(b.bidder, b.exchange) ORDER BY 1 LIMIT 500""")
    if not rows:
        return ctx.section("bidding", "good", [Fact(ctx.t("site.bidding.none"))])
    auctions = ctx.rows("""SELECT count(DISTINCT b.auction_id) FROM visits AS v CROSS JOIN rtb AS b
                           ON b.visit_id = v.id WHERE v.id IN ({ids})""")[0][0]
    bidders = [f"{name} ({owner})" if owner else str(name) for name, owner, *_ in rows if name]
    fields = sorted({str(f) for r in rows for part in (r[4] or "").split("|") for f in json_list(part)
                     if isinstance(f, str)})
    facts = [Fact(ctx.t("site.bidding.count", auctions=ctx.n(auctions), n=ctx.n(len(bidders)),
                        bidders=ctx.names(bidders), won=ctx.n(sum(r[3] or 0 for r in rows))),
                  (ctx.rows_link("rtb"),))]
    if fields:
        facts.append(Fact(ctx.t("site.bidding.personal", fields=ctx.names(fields)),
                          (ctx.rows_link("rtb", personal_fields__notblank=1),)))
    facts += ctx.compare_same("auctions")
    return ctx.section("bidding", "bad", facts)


def _idsync(ctx: Context) -> Section:
    # the same sync seen in several phases is one sentence (its first row linked)
    rows = ctx.rows("""SELECT min(s.id), coalesce(s.from_entity, s.from_site), s.from_site,
                              coalesce(s.to_entity, s.to_site), s.to_site, s.identifier_name, s.location
                       FROM visits AS v CROSS JOIN id_syncs AS s ON s.visit_id = v.id
                       WHERE v.id IN ({ids})
                       GROUP BY 2, 3, 4, 5, 6, 7 ORDER BY min(s.id) LIMIT ?""", (MAX_ROWS,))
    if not ctx.measured("id_syncs", bool(rows)):
        return ctx.not_measured("idsync", "site.idsync.heading")
    facts = [Fact(ctx.t("site.idsync.sync", source=f"{src} ({src_site})" if src_site and src_site != src else src,
                        target=f"{dst} ({dst_site})" if dst_site and dst_site != dst else dst,
                        name=name or "?", where=ctx.where(where)),
                  (Link(ctx.t("site.link.row"), row_url("id_syncs", row_id)),))
             for row_id, src, src_site, dst, dst_site, name, where in rows] or [Fact(ctx.t("site.idsync.none"))]
    if rows:
        facts += ctx.compare_same("id_syncs")
    verdict = "bad" if rows else "good"
    return ctx.section("idsync", verdict, facts)


def _findings(ctx: Context) -> Section:
    all_ids = [v["id"] for v in ctx.visits]
    marks = ",".join("?" * len(all_ids))
    # the findings about this site's visits in this crawl, and those about the site with no visit named
    rows = ctx.conn.execute(f"""SELECT f.id, f.title, f.severity, f.legal_reference FROM findings AS f
                                WHERE f.subject = ? AND (f.visit_id IS NULL OR f.visit_id IN ({marks}))
                                ORDER BY {by_severity('f.severity')}, f.id LIMIT ?""",
                            (ctx.site, *all_ids, MAX_ROWS)).fetchall()
    audited = bool(rows) or "findings" in ctx.crawl["summary"] or any(
        ctx.crawl_id in ints(json_dict(config).get("scope")) for (config,) in ctx.conn.execute(
            "SELECT config FROM crawls WHERE kind = 'audit' AND id > ? ORDER BY id LIMIT 50", (ctx.crawl_id,)))
    if not audited:
        return ctx.not_measured("findings", "site.findings.heading")
    facts = []
    for row_id, title, severity, law in rows:
        key = f"site.severity.{severity}"
        facts.append(Fact(ctx.t("site.findings.finding", title=title or "?",
                                severity=ctx.t(key) if i18n.has(key) else (severity or "?"),
                                law=law or ctx.t("site.findings.no_law")),
                          (Link(ctx.t("site.link.row"), row_url("findings", row_id)),)))
    if not rows:
        facts.append(Fact(ctx.t("site.findings.none")))
    verdict = "bad" if any(r[2] == "high" for r in rows) else "warn" if rows else "good"
    return ctx.section("findings", verdict, facts)
