"""Consent rules: tracking before any choice or after a verified refusal, TCF vendors without consent, GPC
ignored, consent stored before any choice, no refusal on the banner's first layer.

Violations are differences between consent phases (initial, reject, accept, gpc): each visit was made in a fresh
profile, so what a phase records is what that choice (or its absence) let happen.
"""

from __future__ import annotations

from collections.abc import Iterator

from mouchard.decode.consent import consent_cookie, consent_for_vendor, vendor_for

from audits.rules.base import SCOPE, Context, Hit, evidence, group_by, listing, loads, plural, rule

# Tracker categories (from the tracker lists) whose cookies and requests need consent. Not: cdn, consent,
# tag-manager, customer-interaction (a tag manager alone stores nothing; what it loads is classified itself).
TRACKING = ("advertising", "analytics", "attribution", "data-broker", "fingerprinting", "identity",
            "session-replay", "social")
# What "selling or sharing" means to CCPA's opt-out: cross-context behavioural advertising and its plumbing.
SALE_OR_SHARE = ("advertising", "attribution", "data-broker", "identity", "social")

EPRIVACY = "ePrivacy Directive 2002/58/EC art. 5(3)"
GDPR_CONSENT = "GDPR arts. 4(11), 6(1)(a) and 7"
CNIL = ("Loi Informatique et Libertés art. 82; CNIL guidelines and recommendation on trackers "
        "(deliberations 2020-091 and 2020-092)")
PECR = "PECR 2003 reg. 6; UK GDPR arts. 6 and 7; ICO guidance on storage and access technologies"


def _in(values: tuple[str, ...]) -> str:
    return "(" + ",".join(f"'{v}'" for v in values) + ")"


def _phase_visits(ctx: Context, phase: str) -> list[dict]:
    return ctx.rows(f"""
        SELECT id, crawl_id, site, url, coalesce(depth, 0) AS depth FROM visits
        WHERE crawl_id IN {SCOPE} AND phase = ? AND site IS NOT NULL
        ORDER BY site, depth, id""", (phase,))


def _landing(visits: list[dict]) -> dict:
    return min(visits, key=lambda v: (v["depth"], v["id"]))


def _tracking_cookies(ctx: Context, visit_ids: list[int], categories: tuple[str, ...],
                      after_action: bool = False) -> list[dict]:
    """Tracking cookies of these visits: on a tracker's domain, set by a tracker (its response or its script,
    tag managers included), or a third-party identifier. CMP cookies are left out: they record the choice."""
    if not visit_ids:
        return []
    marks = ",".join("?" * len(visit_ids))
    setters = _in((*categories, "tag-manager"))
    setter = f"""FROM requests r WHERE r.visit_id = c.visit_id AND (r.id = c.request_id OR r.url = c.setter_url)
                 AND r.tracker_category IN {setters}"""
    rows = ctx.rows(f"""
        SELECT c.id, c.visit_id, c.name, c.domain, c.site, c.identifier, c.before_consent, c.tracker_category,
               coalesce(c.tracker_entity, (SELECT r.tracker_entity {setter} LIMIT 1)) AS tracker_entity
        FROM cookies c WHERE c.visit_id IN ({marks})
          AND (c.tracker_category IN {_in(categories)} OR (c.identifier = 1 AND c.third_party = 1)
               OR EXISTS (SELECT 1 {setter}))
          {"AND c.before_consent = 0" if after_action else ""}
        ORDER BY c.id""", visit_ids)
    return [r for r in rows if consent_cookie(r["name"] or "") is None]


def _tracking_requests(ctx: Context, visit_ids: list[int], categories: tuple[str, ...],
                       since_ms: dict[int, int] | None = None) -> list[dict]:
    """Third-party requests to trackers of these categories; with `since_ms`, only those after that time."""
    if not visit_ids:
        return []
    marks = ",".join("?" * len(visit_ids))
    rows = ctx.rows(f"""
        SELECT id, visit_id, host, site, tracker_entity, tracker_category, time_ms FROM requests
        WHERE visit_id IN ({marks}) AND third_party = 1 AND tracker_category IN {_in(categories)}
        ORDER BY id""", visit_ids)
    if since_ms is None:
        return rows
    return [r for r in rows if r["visit_id"] in since_ms and r["time_ms"] is not None
            and r["time_ms"] >= since_ms[r["visit_id"]]]


def _companies(cookies: list[dict], requests: list[dict]) -> list[str]:
    return sorted({r["tracker_entity"] or r["site"] or r["host"] for r in requests}
                  | {c["tracker_entity"] for c in cookies if c["tracker_entity"]})


def _cookie_names(cookies: list[dict]) -> list[str]:
    return sorted({f"{c['name']} ({(c['domain'] or c['site'] or '').lstrip('.')})" for c in cookies})


def _what_happened(cookies: list[dict], requests: list[dict]) -> str:
    parts = []
    if cookies:
        count = len({c["name"] for c in cookies})
        parts.append(f"{plural(count, 'tracking cookie')} {'was' if count == 1 else 'were'} set "
                     f"({listing(c['name'] for c in cookies)})")
    if requests:
        parts.append(f"{plural(len(requests), 'request')} went to trackers of "
                     f"{plural(len(_companies([], requests)), 'company', 'companies')} "
                     f"({listing(_companies([], requests))})")
    return " and ".join(parts)


def _tracking_hits(ctx: Context, phase: str, lead: str, title: str,
                   action: str | None = None) -> Iterator[Hit]:
    """One hit per site whose visits in `phase` show tracking (after a verified `action`, when given)."""
    for (site,), visits in group_by(_phase_visits(ctx, phase), "site"):
        consent_rows: list[dict] = []
        since: dict[int, int] | None = None
        if action:
            consent_rows = _verified_actions(ctx, [v["id"] for v in visits], action)
            acted = {r["visit_id"] for r in consent_rows}
            visits = [v for v in visits if v["id"] in acted]
            if not visits:
                continue  # no verified action: nothing can be said about what the choice changed
            since = {}
            for r in consent_rows:
                if r["time_ms"] is not None:
                    since[r["visit_id"]] = min(since.get(r["visit_id"], r["time_ms"]), r["time_ms"])
        ids = [v["id"] for v in visits]
        cookies = _tracking_cookies(ctx, ids, TRACKING, after_action=bool(action))
        requests = _tracking_requests(ctx, ids, TRACKING, since)
        if not cookies and not requests:
            continue
        landing = _landing(visits)
        pages = plural(len(visits), "page")
        detail = f"{lead}, on {pages} of {site}, {_what_happened(cookies, requests)}."
        if action and not since:
            detail += " (The time of the click was not recorded, so only cookies set after it are counted.)"
        yield Hit(
            subject=site, title=f"{site}: {title}", detail=detail,
            facts={"phase": phase, "companies": _companies(cookies, requests), "cookies": _cookie_names(cookies)},
            evidence=tuple(evidence("visits", ids) + evidence("consent", (r["id"] for r in consent_rows))
                           + evidence("cookies", (c["id"] for c in cookies))
                           + evidence("requests", (r["id"] for r in requests)) + ctx.visit_files(ids)),
            crawl_id=landing["crawl_id"], visit_id=landing["id"])


def _verified_actions(ctx: Context, visit_ids: list[int], action: str) -> list[dict]:
    marks = ",".join("?" * len(visit_ids))
    return ctx.rows(f"""SELECT id, visit_id, time_ms, cmp FROM consent
                        WHERE visit_id IN ({marks}) AND action = ? AND verified = 1 ORDER BY id""",
                    [*visit_ids, action])


@rule(id="consent.tracking-before-consent", version="1", severity="high",
      title="Tracking before any consent",
      needs=("visits", "cookies", "requests"),
      legal={"eu": f"{EPRIVACY}; {GDPR_CONSENT}", "fr": f"{CNIL}; GDPR arts. 6 and 7",
             "uk": PECR},
      explanation="""The page was loaded in a fresh browser and nobody touched the cookie banner. Even so, cookies
      that identify the visitor were stored, or the browser sent requests to advertising or analytics companies.
      European law asks for consent before anything not strictly necessary is stored on or read from a visitor's
      device.""")
def tracking_before_consent(ctx: Context) -> Iterator[Hit]:
    yield from _tracking_hits(ctx, "initial", "Before any choice on the banner",
                              "tracking before any consent")


@rule(id="consent.tracking-after-reject", version="1", severity="high",
      title="Tracking after the visitor refused",
      needs=("visits", "consent", "cookies", "requests"),
      legal={"eu": f"{EPRIVACY}; GDPR arts. 6(1)(a) and 7(3)", "fr": f"{CNIL}; GDPR art. 7(3)",
             "uk": PECR, "us-ca": "Cal. Civ. Code §1798.120 and §1798.135; 11 CCR §7026 (requests to opt out)"},
      explanation="""The banner's "reject" option was clicked, and mouchard checked that the refusal was recorded
      (the consent cookie or string changed accordingly). After that click, tracking cookies were still stored or
      requests still went to trackers. A refusal that changes nothing is not a choice.""")
def tracking_after_reject(ctx: Context) -> Iterator[Hit]:
    yield from _tracking_hits(ctx, "reject", "After a verified refusal",
                              "tracking after the visitor refused", action="reject")


def _tc_decoded(row: dict) -> dict | None:
    """The decoded TC string of a consent row (the decoder's dict, or nested in a parsed CMP cookie)."""
    decoded = loads(row["decoded"])
    if isinstance(decoded, dict) and isinstance(decoded.get("decoded"), dict):
        decoded = decoded["decoded"]
    if isinstance(decoded, dict) and "vendor_consents" in decoded:
        return decoded
    return None


def _tc_in_force(ctx: Context, visit_ids: list[int]) -> dict[int, dict]:
    """Per visit, the last TC string read (the choice in force for what followed)."""
    marks = ",".join("?" * len(visit_ids))
    found: dict[int, dict] = {}
    for row in ctx.rows(f"""SELECT id, visit_id, decoded, time_ms, cmp_id FROM consent
                            WHERE visit_id IN ({marks}) AND framework = 'tcf'
                            ORDER BY visit_id, coalesce(time_ms, 0), id""", visit_ids):
        decoded = _tc_decoded(row)
        if decoded is not None:
            found[row["visit_id"]] = {**row, "tc": decoded}
    return found


@rule(id="consent.tcf-vendor-without-consent", version="1", severity="high",
      title="Data sent to an ad-tech vendor the consent string does not allow",
      needs=("visits", "consent", "requests", "rtb"),
      legal={"eu": f"{EPRIVACY}; GDPR arts. 6(1)(a) and 7; CJEU C-604/22 IAB Europe (2024)",
             "fr": f"{CNIL}; GDPR arts. 6 and 7", "uk": PECR},
      explanation="""Sites using the IAB Transparency and Consent Framework record the visitor's choice in a
      "TC string" that lists, vendor by vendor, who may use the visitor's data. mouchard decoded that string and
      compared it with the companies the browser actually contacted: these vendors received requests, or were
      asked to bid for the visitor, although the string gives them no consent.""")
def tcf_vendor_without_consent(ctx: Context) -> Iterator[Hit]:
    visits = ctx.rows(f"""SELECT id, crawl_id, site, phase, coalesce(depth, 0) AS depth FROM visits
                          WHERE crawl_id IN {SCOPE} AND site IS NOT NULL ORDER BY site, phase, depth, id""")
    for (site, phase), group in group_by(visits, "site", "phase"):
        tcs = _tc_in_force(ctx, [v["id"] for v in group])
        if not tcs:
            continue
        marks = ",".join("?" * len(tcs))
        requests = ctx.rows(f"""SELECT id, visit_id, host, time_ms FROM requests
                                WHERE visit_id IN ({marks}) AND third_party = 1 ORDER BY id""", list(tcs))
        bids = ctx.rows(f"""SELECT id, visit_id, bidder, exchange FROM rtb WHERE visit_id IN ({marks})
                            AND event IN ('bidRequested', 'openrtb-request') ORDER BY id""", list(tcs))
        vendors: dict[int, str] = {}
        bad_requests, bad_bids = [], []
        for r in requests:
            tc = tcs[r["visit_id"]]
            if tc["time_ms"] is not None and (r["time_ms"] is None or r["time_ms"] < tc["time_ms"]):
                continue  # sent before this choice was made: the before-consent rule speaks for it
            vendor = vendor_for(r["host"] or "")
            if vendor and not consent_for_vendor(tc["tc"], vendor.id):
                vendors[vendor.id] = vendor.name
                bad_requests.append(r)
        for b in bids:
            vendor = vendor_for(b["bidder"] or "") or vendor_for(b["exchange"] or "")
            if vendor and not consent_for_vendor(tcs[b["visit_id"]]["tc"], vendor.id):
                vendors[vendor.id] = vendor.name
                bad_bids.append(b)
        if not vendors:
            continue
        visit_ids = sorted({r["visit_id"] for r in bad_requests + bad_bids})
        landing = _landing([v for v in group if v["id"] in visit_ids])
        names = [f"{name} [GVL vendor {vid}]" for vid, name in sorted(vendors.items())]
        yield Hit(
            subject=site, title=f"{site}: {plural(len(vendors), 'vendor')} without consent in the TC string ({phase} phase)",
            detail=(f"In the {phase} phase on {site}, the TC string in force gave no consent to "
                    f"{listing(names)}, yet the page sent them {plural(len(bad_requests), 'request')}"
                    + (f" and {plural(len(bad_bids), 'bid request')}" if bad_bids else "") + "."),
            facts={"phase": phase, "vendors": sorted(vendors)},
            evidence=tuple(evidence("visits", visit_ids)
                           + evidence("consent", (tcs[v]["id"] for v in visit_ids))
                           + evidence("requests", (r["id"] for r in bad_requests))
                           + evidence("rtb", (b["id"] for b in bad_bids)) + ctx.visit_files(visit_ids)),
            crawl_id=landing["crawl_id"], visit_id=landing["id"])


def _usp_not_opted_out(raw: str | None) -> bool:
    """A US Privacy string ('1YNN') whose third character says the visitor has NOT opted out of sale."""
    return bool(raw) and len(raw) >= 3 and raw[0] == "1" and raw[2].upper() == "N"


@rule(id="consent.gpc-ignored", version="1", severity="high",
      title="Global Privacy Control signal ignored",
      needs=("visits", "cookies", "requests", "consent"),
      legal={"us-ca": "Cal. Civ. Code §1798.120 and §1798.135(b); 11 CCR §7025 (opt-out preference signals)",
             "eu": "GDPR art. 21(5) (objection by automated means)", "fr": "GDPR art. 21(5) (objection by automated means)",
             "uk": "UK GDPR art. 21(5) (objection by automated means)"},
      explanation="""The browser sent the Global Privacy Control signal (the Sec-GPC: 1 header and
      navigator.globalPrivacyControl), which tells a site the visitor opts out of the sale and sharing of their
      data. California requires businesses that sell or share data to honour it as an opt-out; under the GDPR it
      is an objection made by automated means. Yet the page still let advertising trackers identify the visitor,
      or its own privacy string said the visitor had not opted out.""")
def gpc_ignored(ctx: Context) -> Iterator[Hit]:
    for (site,), visits in group_by(_phase_visits(ctx, "gpc"), "site"):
        ids = [v["id"] for v in visits]
        cookies = _tracking_cookies(ctx, ids, SALE_OR_SHARE)
        requests = _tracking_requests(ctx, ids, SALE_OR_SHARE)
        marks = ",".join("?" * len(ids))
        usp = [r for r in ctx.rows(f"""SELECT id, visit_id, raw FROM consent WHERE visit_id IN ({marks})
                                       AND framework = 'usp' ORDER BY id""", ids) if _usp_not_opted_out(r["raw"])]
        if not cookies and not requests and not usp:
            continue
        landing = _landing(visits)
        said = (f" The site's US Privacy string ({usp[0]['raw']}) says the visitor has not opted out." if usp else "")
        what = _what_happened(cookies, requests)
        yield Hit(
            subject=site, title=f"{site}: Global Privacy Control ignored",
            detail=(f"With Global Privacy Control on, on {plural(len(visits), 'page')} of {site}"
                    + (f", {what}." if what else ".") + said),
            facts={"companies": _companies(cookies, requests), "cookies": _cookie_names(cookies),
                   "usp_not_opted_out": bool(usp)},
            evidence=tuple(evidence("visits", ids) + evidence("consent", (r["id"] for r in usp))
                           + evidence("cookies", (c["id"] for c in cookies))
                           + evidence("requests", (r["id"] for r in requests)) + ctx.visit_files(ids)),
            crawl_id=landing["crawl_id"], visit_id=landing["id"])


@rule(id="consent.stored-before-choice", version="1", severity="medium",
      title="Consent recorded before the visitor chose",
      needs=("visits", "consent"),
      legal={"eu": "GDPR arts. 4(11) and 7(1); CJEU C-673/17 Planet49 (2019)", "fr": f"{CNIL}; GDPR arts. 4(11) and 7(1)",
             "uk": "UK GDPR arts. 4(11) and 7(1); PECR 2003 reg. 6"},
      explanation="""Before the visitor clicked anything, the consent framework already said "yes": the TC string
      the page shared with advertisers granted purposes or vendors. Consent must be an active choice; a consent
      recorded before any choice is not one (Matte et al. 2020 measured this on TCF banners).""")
def stored_before_choice(ctx: Context) -> Iterator[Hit]:
    rows = ctx.rows(f"""
        SELECT c.id, c.visit_id, c.decoded, c.cmp, c.cmp_id, v.site, v.crawl_id, coalesce(v.depth, 0) AS depth
        FROM consent c JOIN visits v ON v.id = c.visit_id
        WHERE v.crawl_id IN {SCOPE} AND v.phase = 'initial' AND coalesce(c.action, 'none') = 'none'
          AND c.framework = 'tcf' AND v.site IS NOT NULL
        ORDER BY v.site, depth, c.id""")
    for (site,), group in group_by(rows, "site"):
        granted = []
        purposes: set[int] = set()
        vendors: set[int] = set()
        for row in group:
            tc = _tc_decoded(row)
            if tc and (tc.get("purposes_consent") or tc.get("vendor_consents")):
                granted.append(row)
                purposes.update(tc.get("purposes_consent") or ())
                vendors.update(tc.get("vendor_consents") or ())
        if not granted:
            continue
        first = min(granted, key=lambda r: (r["depth"], r["visit_id"]))
        visit_ids = sorted({r["visit_id"] for r in granted})
        yield Hit(
            subject=site, title=f"{site}: consent recorded before any choice",
            detail=(f"Before any click on the banner of {site}, the TC string already granted consent for "
                    f"{plural(len(purposes), 'purpose')} ({listing(map(str, sorted(purposes)), 12) or 'none'}) and "
                    f"{plural(len(vendors), 'vendor')}."),
            facts={"purposes": sorted(purposes), "vendors": sorted(vendors)},
            evidence=tuple(evidence("visits", visit_ids) + evidence("consent", (r["id"] for r in granted))
                           + ctx.visit_files(visit_ids)),
            crawl_id=first["crawl_id"], visit_id=first["visit_id"])


@rule(id="consent.no-reject-on-first-layer", version="1", severity="medium",
      title="No way to refuse on the banner's first layer",
      needs=("visits", "consent", "evidence_files"),
      legal={"eu": "GDPR arts. 4(11) and 7(3); EDPB Cookie Banner Taskforce report (2023)",
             "fr": "CNIL recommendation on trackers (deliberation 2020-092): refusing as easy as accepting",
             "uk": "PECR 2003 reg. 6; UK GDPR art. 4(11); ICO guidance on storage and access technologies",
             "us-ca": "11 CCR §7004(a)(2) (symmetry in choice)"},
      explanation="""The cookie banner offered to accept with one click, but no button to refuse on its first
      screen: refusing took more effort than accepting. Regulators ask for refusing to be as easy as accepting.""")
def no_reject_on_first_layer(ctx: Context) -> Iterator[Hit]:
    rows = ctx.rows(f"""
        SELECT c.id, c.visit_id, c.cmp, c.screenshot_file_id, v.site, v.crawl_id, coalesce(v.depth, 0) AS depth
        FROM consent c JOIN visits v ON v.id = c.visit_id
        WHERE v.crawl_id IN {SCOPE} AND c.reject_first_layer = 0 AND v.site IS NOT NULL
        ORDER BY v.site, depth, c.id""")
    for (site,), group in group_by(rows, "site"):
        first = min(group, key=lambda r: (r["depth"], r["visit_id"]))
        cmps = sorted({r["cmp"] for r in group if r["cmp"]})
        visit_ids = sorted({r["visit_id"] for r in group})
        banner = evidence("evidence_files", (r["screenshot_file_id"] for r in group))
        yield Hit(
            subject=site, title=f"{site}: no reject option on the banner's first layer",
            detail=(f"The consent banner of {site}" + (f" ({listing(cmps)})" if cmps else "")
                    + " showed no reject option on its first layer."),
            facts={"cmps": cmps},
            evidence=tuple(evidence("visits", visit_ids) + evidence("consent", (r["id"] for r in group))
                           + sorted(set(banner + ctx.visit_files(visit_ids)))),
            crawl_id=first["crawl_id"], visit_id=first["visit_id"])


# --- The consent cycle: withdrawing, and a refusal carried to the next site (crawler/consent/sequences.py) ---
WITHDRAWAL = "GDPR art. 7(3) (withdrawing as easy as giving consent)"
CNIL_WITHDRAWAL = ("CNIL deliberation 2020-091 art. 2 (withdrawing at any time, as easily as consenting); CNIL "
                   "sanctions on withdrawal that did not stop the trackers (e.g. SAN-2021-023, SAN-2023-024)")


def _sequence_rows(ctx: Context, phase: str) -> list[dict]:
    """The action rows of a sequence phase, with their parsed `steps` (rows whose steps cannot be read skipped)."""
    rows = ctx.rows(f"""
        SELECT c.id, c.visit_id, c.cmp, c.steps, v.site, v.crawl_id, coalesce(v.depth, 0) AS depth
        FROM consent c JOIN visits v ON v.id = c.visit_id
        WHERE v.crawl_id IN {SCOPE} AND v.phase = ? AND c.source = 'action' AND c.steps IS NOT NULL
          AND v.site IS NOT NULL
        ORDER BY v.site, depth, c.id""", (phase,))
    out = []
    for row in rows:
        steps = parse_steps(row["steps"])
        if steps:
            out.append({**row, "steps": steps})
    return out


def parse_steps(text: str | None) -> dict[str, dict]:
    """A `consent.steps` value as {step name: step} (crawled data: anything that is not a list of objects with a
    text `step` is left out; a repeated step keeps its first occurrence)."""
    steps = loads(text)
    found: dict[str, dict] = {}
    for step in steps[:50] if isinstance(steps, list) else ():
        if isinstance(step, dict) and isinstance(step.get("step"), str):
            found.setdefault(step["step"], step)
    return found


def snapshot_entries(jar: object) -> list[tuple[str, str, str]]:
    """The (domain, name, sha256) entries of a `jar` step's snapshot; malformed entries left out."""
    snapshot = jar.get("snapshot") if isinstance(jar, dict) else None
    entries = []
    for e in snapshot[:5000] if isinstance(snapshot, list) else ():
        if isinstance(e, dict) and all(isinstance(e.get(k), str) for k in ("domain", "name", "sha256")):
            entries.append((e["domain"], e["name"], e["sha256"]))
    return entries


def _verified_step(steps: dict, name: str) -> dict | None:
    step = steps.get(name)
    return step if isinstance(step, dict) and step.get("verified") == 1 else None


@rule(id="consent.tracking-after-withdrawal", version="1", severity="high",
      title="Tracking after the visitor withdrew consent",
      needs=("visits", "consent", "cookies", "requests", "rtb"),
      legal={"eu": f"{EPRIVACY}; {WITHDRAWAL}", "fr": f"{CNIL}; {CNIL_WITHDRAWAL}; GDPR art. 7(3)",
             "uk": f"{PECR}; UK GDPR art. 7(3)"},
      explanation="""The visitor accepted the cookie banner, then reopened the site's consent choices and withdrew
      their consent; mouchard checked that the withdrawal was recorded (the consent cookie or string changed
      accordingly) and loaded the page again. After the withdrawal, the browser still sent requests to trackers,
      bid requests went out, or tracking cookies were set. Withdrawing consent must stop what the consent allowed.""")
def tracking_after_withdrawal(ctx: Context) -> Iterator[Hit]:
    for (site,), group in group_by(_sequence_rows(ctx, "revoke"), "site"):
        since = {}
        for row in group:
            step = _verified_step(row["steps"], "withdraw")
            if step is not None and isinstance(step.get("time_ms"), int):
                since[row["visit_id"]] = step["time_ms"]
        if not since:
            continue  # no verified withdrawal: nothing can be said about what it changed
        ids = sorted(since)
        marks = ",".join("?" * len(ids))
        requests = _tracking_requests(ctx, ids, TRACKING, since)
        cookies = [c for c in ctx.rows(f"""
            SELECT id, visit_id, name, domain, site, tracker_entity, set_at_ms FROM cookies
            WHERE visit_id IN ({marks}) AND before_consent = 0
              AND (tracker_category IN {_in(TRACKING)} OR (identifier = 1 AND third_party = 1))
            ORDER BY id LIMIT 10000""", ids)
            if c["set_at_ms"] is not None and c["set_at_ms"] >= since[c["visit_id"]]
            and consent_cookie(c["name"] or "") is None]
        bids = [b for b in ctx.rows(f"""
            SELECT b.id, b.visit_id, b.bidder, b.exchange, q.time_ms FROM rtb b JOIN requests q ON q.id = b.request_id
            WHERE b.visit_id IN ({marks}) AND b.event IN ('bidRequested', 'openrtb-request')
            ORDER BY b.id LIMIT 10000""", ids)
            if b["time_ms"] is not None and b["time_ms"] >= since[b["visit_id"]]]
        if not requests and not cookies and not bids:
            continue
        rows = [r for r in group if r["visit_id"] in since]
        first = min(rows, key=lambda r: (r["depth"], r["visit_id"]))
        hosts = sorted({r["host"] for r in requests if r["host"]} | {b["exchange"] for b in bids if b["exchange"]})
        what = _what_happened(cookies, requests)
        if bids:
            what = (what + " and " if what else "") + f"{plural(len(bids), 'bid request')} went out"
        yield Hit(
            subject=site, title=f"{site}: tracking after the visitor withdrew consent",
            detail=f"After a verified withdrawal of consent on {plural(len(ids), 'page')} of {site}, {what}.",
            facts={"companies": _companies(cookies, requests), "hosts": hosts},
            evidence=tuple(evidence("visits", ids) + evidence("consent", (r["id"] for r in rows))
                           + evidence("cookies", (c["id"] for c in cookies))
                           + evidence("requests", (r["id"] for r in requests))
                           + evidence("rtb", (b["id"] for b in bids)) + ctx.visit_files(ids)),
            crawl_id=first["crawl_id"], visit_id=first["visit_id"])


@rule(id="consent.withdrawal-not-offered", version="1", severity="medium",
      title="No way to withdraw consent once given",
      needs=("visits", "consent", "evidence_files"),
      legal={"eu": f"{WITHDRAWAL}; EDPB guidelines 05/2020 on consent, paras. 113-116",
             "fr": f"{CNIL_WITHDRAWAL}; CNIL recommendation on trackers (deliberation 2020-092)",
             "uk": "UK GDPR art. 7(3); ICO guidance on storage and access technologies"},
      explanation="""The visitor accepted the cookie banner. Afterwards, mouchard looked for a way to change that
      choice on the page — a "manage cookies" link or button, or the consent platform's own function to reopen
      its window — and found none. Withdrawing consent must be as easy as giving it; a choice that cannot be
      revisited once the banner is gone is not freely given.""")
def withdrawal_not_offered(ctx: Context) -> Iterator[Hit]:
    for (site,), group in group_by(_sequence_rows(ctx, "revoke"), "site"):
        rows = [r for r in group if _verified_step(r["steps"], "accept") is not None
                and isinstance(r["steps"].get("reopen"), dict) and r["steps"]["reopen"].get("method") is None]
        if not rows:
            continue
        first = min(rows, key=lambda r: (r["depth"], r["visit_id"]))
        ids = sorted({r["visit_id"] for r in rows})
        cmps = sorted({r["cmp"] for r in rows if r["cmp"]})
        yield Hit(
            subject=site, title=f"{site}: no way to withdraw consent",
            detail=(f"After accepting the consent banner of {site}" + (f" ({listing(cmps)})" if cmps else "")
                    + ", no link, button or consent-platform function to reopen the choices was found on "
                    + plural(len(ids), "page") + "."),
            facts={"cmps": cmps},
            evidence=tuple(evidence("visits", ids) + evidence("consent", (r["id"] for r in rows))
                           + ctx.visit_files(ids)),
            crawl_id=first["crawl_id"], visit_id=first["visit_id"])


def cookie_pairs(header: str) -> list[tuple[str, str]]:
    """(name, value) pairs of a Cookie request header (at most 200; malformed parts skipped)."""
    pairs = []
    for part in (header or "").split(";")[:200]:
        name, sep, value = part.strip().partition("=")
        if sep and name:
            pairs.append((name.strip(), value.strip()))
    return pairs


def _cookie_header(headers_json: str | None) -> str:
    headers = loads(headers_json)
    if not isinstance(headers, dict):
        return ""
    values = [v for k, v in headers.items() if isinstance(k, str) and k.lower() == "cookie" and isinstance(v, str)]
    return "; ".join(values)


def _domain_matches(host: str, domain: str) -> bool:
    host, domain = (host or "").lower(), (domain or "").lower().lstrip(".")
    return bool(domain) and (host == domain or host.endswith("." + domain))


@rule(id="consent.recognised-after-reject", version="1", severity="high",
      title="Recognised on the next site after refusing",
      needs=("visits", "consent", "requests", "id_syncs"),
      legal={"eu": f"{EPRIVACY}; GDPR arts. 6(1)(a) and 7(3)", "fr": f"{CNIL}; GDPR art. 7(3)",
             "uk": PECR},
      explanation="""The visitor refused the cookie banner of one site (site A) — mouchard checked the refusal was
      recorded — then went on to another site (site B) in the same browser. On site B, a third party received an
      identifier cookie it had stored in the browser on site A despite the refusal (the same name and value, in
      the request's Cookie header, or set again by the third party's own response, which it can only do having
      read it), or the identifier was passed on to another company: the refusal on site A did not stop the
      visitor being followed to site B.""")
def recognised_after_reject(ctx: Context) -> Iterator[Hit]:
    import hashlib

    for (site,), group in group_by(_sequence_rows(ctx, "second-site"), "site"):
        found_requests: list[dict] = []
        found_syncs: list[dict] = []
        found_cookies: list[dict] = []
        names: set[str] = set()
        companies: set[str] = set()
        sites_a: set[str] = set()
        rows = []
        for row in group:
            if _verified_step(row["steps"], "reject-on-a") is None:
                continue  # the refusal on A was not verified: nothing to say about what followed it
            jar = row["steps"].get("jar") or {}
            snapshot = snapshot_entries(jar)
            by_value = {(name, digest): domain for domain, name, digest in snapshot}
            hashes = {digest: (domain, name) for domain, name, digest in snapshot}
            hit = False
            for r in ctx.rows("""SELECT id, host, site, tracker_entity, request_headers FROM requests
                                 WHERE visit_id = ? AND third_party = 1 ORDER BY id LIMIT 20000""", (row["visit_id"],)):
                for name, value in cookie_pairs(_cookie_header(r["request_headers"])):
                    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()
                    domain = by_value.get((name, digest))
                    if domain is not None and _domain_matches(r["host"], domain):
                        found_requests.append(r)
                        names.add(f"{name} ({domain})")
                        companies.add(r["tracker_entity"] or r["site"] or r["host"])
                        hit = True
            # A third party that sets again, from its own response, the very value it stored on A read it back.
            for c in ctx.rows("""SELECT id, name, value, domain, site, tracker_entity FROM cookies
                                 WHERE visit_id = ? AND third_party = 1 AND set_by = 'header' AND request_id IS NOT NULL
                                 ORDER BY id LIMIT 20000""", (row["visit_id"],)):
                digest = hashlib.sha256(str(c["value"] or "").encode("utf-8", "surrogatepass")).hexdigest()
                domain = by_value.get((c["name"], digest))
                if domain is not None and _domain_matches(str(c["domain"] or "").lstrip("."), domain):
                    found_cookies.append(c)
                    names.add(f"{c['name']} ({domain})")
                    companies.add(c["tracker_entity"] or c["site"] or domain)
                    hit = True
            for sync in ctx.rows("""SELECT id, identifier_name, identifier_sha256, to_site, to_entity FROM id_syncs
                                    WHERE visit_id = ? ORDER BY id LIMIT 20000""", (row["visit_id"],)):
                entry = hashes.get(sync["identifier_sha256"])
                if entry is not None:
                    found_syncs.append(sync)
                    names.add(f"{entry[1]} ({entry[0]})")
                    companies.add(sync["to_entity"] or sync["to_site"] or "")
                    hit = True
            if hit:
                rows.append(row)
                if isinstance(jar.get("site_a"), str) and jar["site_a"]:
                    sites_a.add(jar["site_a"])
        if not rows:
            continue
        first = min(rows, key=lambda r: (r["depth"], r["visit_id"]))
        ids = sorted({r["visit_id"] for r in rows})
        companies.discard("")
        yield Hit(
            subject=site,
            title=f"{site}: visitor recognised after refusing on {listing(sorted(sites_a)) or 'another site'}",
            detail=(f"After a verified refusal on {listing(sorted(sites_a)) or 'another site'}, the visit of {site} "
                    f"in the same browser sent {plural(len(names), 'cookie')} set there ({listing(sorted(names))}) "
                    f"to {listing(sorted(companies))}"
                    + (f", and {plural(len(found_syncs), 'identifier sync')} passed one on" if found_syncs else "")
                    + "."),
            facts={"companies": sorted(companies), "cookies": sorted(names), "site_a": sorted(sites_a)},
            evidence=tuple(evidence("visits", ids) + evidence("consent", (r["id"] for r in rows))
                           + evidence("requests", (r["id"] for r in found_requests))
                           + evidence("cookies", (c["id"] for c in found_cookies))
                           + evidence("id_syncs", (s["id"] for s in found_syncs)) + ctx.visit_files(ids)),
            crawl_id=first["crawl_id"], visit_id=first["visit_id"])


RULES = (tracking_before_consent, tracking_after_reject, tcf_vendor_without_consent, gpc_ignored,
         stored_before_choice, no_reject_on_first_layer, tracking_after_withdrawal, withdrawal_not_offered,
         recognised_after_reject)


# --- The banner's layout (crawler/consent/layout.py): pre-ticked boxes, refusing made less visible -------------
PHASE_ORDER = {"initial": 0, "reject": 1, "accept": 2}
LAYOUT_CNIL = "CNIL guidelines on trackers (deliberation 2020-091)"
EDPB_TASKFORCE = "EDPB Cookie Banner Taskforce report (January 2023)"


def _banner_layouts(ctx: Context) -> Iterator[tuple[str, list[dict]]]:
    """Per site, the action rows whose banner layout was measured, each with its parsed `layout` (`facts`),
    the landing page's first (initial phase first: before any click) in front."""
    rows = ctx.rows(f"""
        SELECT c.id, c.visit_id, c.cmp, c.phase, c.layout, c.screenshot_file_id, v.site, v.crawl_id,
               coalesce(v.depth, 0) AS depth
        FROM consent c JOIN visits v ON v.id = c.visit_id
        WHERE v.crawl_id IN {SCOPE} AND c.source = 'action' AND c.layout IS NOT NULL AND v.site IS NOT NULL
        ORDER BY v.site, depth, c.id""")
    for (site,), group in group_by(rows, "site"):
        measured = []
        for row in group:
            facts = loads(row["layout"])
            if isinstance(facts, dict) and "error" not in facts:
                measured.append({**row, "facts": facts})
        measured.sort(key=lambda r: (r["depth"], PHASE_ORDER.get(r["phase"], 9), r["visit_id"], r["id"]))
        if measured:
            yield site, measured


def _layout_hit(ctx: Context, site: str, rows: list[dict], title: str, detail: str, facts: dict) -> Hit:
    first = rows[0]
    visit_ids = sorted({r["visit_id"] for r in rows})
    banner = evidence("evidence_files", (r["screenshot_file_id"] for r in rows))
    return Hit(subject=site, title=f"{site}: {title}", detail=detail, facts=facts,
               evidence=tuple(evidence("visits", visit_ids) + evidence("consent", (r["id"] for r in rows))
                              + sorted(set(banner + ctx.visit_files(visit_ids)))),
               crawl_id=first["crawl_id"], visit_id=first["visit_id"])


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


@rule(id="consent.pre-ticked-boxes", version="1", severity="medium",
      title="Boxes already ticked on the consent banner",
      needs=("visits", "consent", "evidence_files"),
      legal={"eu": "GDPR arts. 4(11) and 7; CJEU C-673/17 Planet49 (2019)",
             "fr": f"{LAYOUT_CNIL}; GDPR arts. 4(11) and 7; CJEU C-673/17 Planet49 (2019)",
             "uk": "UK GDPR arts. 4(11) and 7; PECR 2003 reg. 6; ICO guidance on storage and access technologies"},
      explanation="""Before the visitor chose anything, the cookie banner showed purposes or services already
      switched on. Consent must be an active choice: a pre-ticked box the visitor did not untick is not consent
      (Court of Justice of the EU, Planet49, 2019). Boxes locked on for strictly necessary cookies are not
      counted.""")
def pre_ticked_boxes(ctx: Context) -> Iterator[Hit]:
    for site, rows in _banner_layouts(ctx):
        ticked = [r for r in rows if (_number(r["facts"].get("pre_ticked")) or 0) > 0]
        if not ticked:
            continue
        first = ticked[0]["facts"]
        labels = [str(label) for label in first.get("pre_ticked_labels") or [] if isinstance(label, str)][:20]
        count = int(_number(first.get("pre_ticked")) or 0)
        locked = int(_number(first.get("necessary_locked")) or 0)
        cmps = sorted({r["cmp"] for r in ticked if r["cmp"]})
        detail = (f"Before any choice, the consent banner of {site}" + (f" ({listing(cmps)})" if cmps else "")
                  + f" showed {plural(count, 'box', 'boxes')} already ticked"
                  + (f": {listing(labels)}" if labels else "") + "."
                  + (f" ({plural(locked, 'box', 'boxes')} for strictly necessary cookies, locked on, not counted.)"
                     if locked else ""))
        yield _layout_hit(ctx, site, ticked, "boxes already ticked on the consent banner", detail,
                          {"pre_ticked": count, "labels": sorted(labels), "cmps": cmps})


def _less_visible(facts: dict) -> tuple[list[str], dict]:
    """Why refusing is less visible than accepting (reasons, in a fixed order) and the rounded measures."""
    accept, reject = facts.get("accept"), facts.get("reject")
    ratios = facts.get("ratios") if isinstance(facts.get("ratios"), dict) else {}
    if not isinstance(accept, dict) or not isinstance(reject, dict):
        return [], {}
    area, font = _number(ratios.get("area")), _number(ratios.get("font_size"))
    accept_contrast, reject_contrast = _number(accept.get("contrast")), _number(reject.get("contrast"))
    reasons = []
    if area is not None and area < 0.5:
        reasons.append("area")
    if font is not None and font < 0.5:
        reasons.append("font-size")
    if reject_contrast is not None and accept_contrast is not None and reject_contrast < 3 and accept_contrast >= 4.5:
        reasons.append("contrast")
    if reject.get("looks_like") == "link" and accept.get("looks_like") == "button" and reasons:
        # A link alone is not the finding: the CNIL accepts a legible "Continuer sans accepter" link as a way to
        # refuse. Beside a measured imbalance it is one more way the refusal is played down.
        reasons.append("link-not-button")
    # Rounded to one decimal: the fingerprint must not change with a sub-pixel difference between two runs.
    measures = {"area_ratio": None if area is None else round(area, 1),
                "font_size_ratio": None if font is None else round(font, 1),
                "reject_contrast": None if reject_contrast is None else round(reject_contrast, 1),
                "accept_contrast": None if accept_contrast is None else round(accept_contrast, 1),
                "reject_looks_like": reject.get("looks_like"), "accept_looks_like": accept.get("looks_like")}
    return reasons, measures


REASON_TEXT = {"area": "the refuse control's area is {area:.0%} of the accept control's",
               "font-size": "its text is {font:.0%} of the accept control's size",
               "contrast": "its contrast is {rc}:1 (accept: {ac}:1; 3:1 is the minimum for legible text)",
               "link-not-button": "it is a plain link while accepting is a button"}


@rule(id="consent.reject-less-visible", version="1", severity="medium",
      title="Refusing made less visible than accepting",
      needs=("visits", "consent", "evidence_files"),
      legal={"eu": f"GDPR arts. 4(11) and 7; {EDPB_TASKFORCE}",
             "fr": f"{LAYOUT_CNIL} and recommendation (deliberation 2020-092): refusing as easy as accepting",
             "uk": "UK GDPR art. 4(11); PECR 2003 reg. 6; ICO guidance on storage and access technologies",
             "us-ca": "11 CCR §7004(a)(2) (symmetry in choice)"},
      explanation="""The banner offered to refuse on its first layer, but the refuse control was made much less
      visible than the accept control: under half its area or its text size, barely legible (contrast under 3:1
      while accepting is clearly legible), and, on top of that, possibly a plain link next to a button (a legible
      link alone is not this finding: the CNIL accepts "Continuer sans accepter"). Regulators ask for refusing to be as
      easy and as visible as accepting; a design that steers the visitor towards accepting undermines a free
      choice.""")
def reject_less_visible(ctx: Context) -> Iterator[Hit]:
    for site, rows in _banner_layouts(ctx):
        tilted = [(r, *_less_visible(r["facts"])) for r in rows]
        tilted = [t for t in tilted if t[1]]
        if not tilted:
            continue
        first, reasons, measures = tilted[0]
        facts = first["facts"]
        ratios = facts.get("ratios") if isinstance(facts.get("ratios"), dict) else {}
        words = {"area": _number(ratios.get("area")) or 0, "font": _number(ratios.get("font_size")) or 0,
                 "rc": facts["reject"].get("contrast"), "ac": facts["accept"].get("contrast")}
        cmps = sorted({r["cmp"] for r, _, _ in tilted if r["cmp"]})
        detail = (f"On the consent banner of {site}" + (f" ({listing(cmps)})" if cmps else "") + ", "
                  + "; ".join(REASON_TEXT[reason].format(**words) for reason in reasons) + ".")
        yield _layout_hit(ctx, site, [r for r, _, _ in tilted], "refusing made less visible than accepting",
                          detail[0].upper() + detail[1:] if detail else detail, {"reasons": reasons, **measures})


RULES += (pre_ticked_boxes, reject_less_visible)
