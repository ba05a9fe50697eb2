"""Findings of a broker-site crawl, derived from its `broker_pages` rows (and the previous crawl's, for changes).

Rules (version 1):
- `broker.hidden-opt-out` — a rights page (registered rights page, opt-out, deletion, access) on the broker's
  own site is kept out of search engines by at least one signal. Pages on privacy-portal services (OneTrust,
  TrustArc, Google Forms...) are not counted: the noindex there is the service's default, as The Markup decided.
- `broker.dead-rights-link` — a rights page answers 404/410, an HTTP error, or its host does not resolve or
  speak TLS. Bot walls and timeouts are not dead links: the page may be there for a person.
- `broker.no-gpc` — the broker's site, reachable, has no valid `/.well-known/gpc.json` saying `"gpc": true`.
  That file is a statement, not the behaviour; the detail says so.
- `broker.policy-changed` — a privacy or rights page's text differs from the same broker's same page in the
  previous crawl that read it.
- `broker.gpc-ignored` — the browser crawl (`mouchard crawl`, phases `initial` and `gpc`) visited the broker's
  home page with and without `Sec-GPC: 1`, and advertising trackers were still contacted with the signal. This
  is where the broker crawl reuses the browser crawl: it reads `visits` and `requests`, whenever they exist.
"""

from __future__ import annotations

import json

from crawler.brokers.pages import RIGHTS_KINDS
from mouchard.brokers import fingerprint
from mouchard.domains import site_of
from mouchard.store import Store, utcnow

RULE_VERSION = "1"
DEAD = ("not-found", "http-error", "dns-error", "tls-error")
EU = {"france", "fr", "germany", "de", "deutschland", "spain", "es", "españa", "italy", "it", "belgium", "be",
      "netherlands", "nl", "ireland", "ie", "austria", "at", "portugal", "pt", "sweden", "se", "denmark", "dk",
      "finland", "fi", "poland", "pl", "luxembourg", "lu", "greece", "gr", "czechia", "cz", "romania", "ro"}


def jurisdiction(registry: str, country: str | None) -> str:
    """Where the finding's law comes from: the registry's state, or the broker's country for a list."""
    if registry in ("ca", "vt", "tx", "or"):
        return f"us-{registry}"
    country = (country or "").strip().lower()
    if country in ("france", "fr"):
        return "fr"
    if country in EU:
        return "eu"
    if country in ("uk", "united kingdom", "gb", "great britain"):
        return "uk"
    return "us" if country in ("usa", "us", "united states", "united states of america") else (country or "unknown")


LEGAL = {
    ("broker.hidden-opt-out", "us-ca"): "Cal. Civ. Code § 1798.99.82 (registered rights page); "
                                        "CCPA regulations, 11 CCR § 7004 (choices easy to find and use)",
    ("broker.hidden-opt-out", "eu"): "GDPR art. 12(2) (the controller shall facilitate the exercise of rights)",
    ("broker.dead-rights-link", "us-ca"): "Cal. Civ. Code § 1798.99.82(b) (registration information)",
    ("broker.dead-rights-link", "eu"): "GDPR art. 12(2)",
    ("broker.no-gpc", "us-ca"): "CCPA regulations, 11 CCR § 7025 (opt-out preference signals)",
    ("broker.gpc-ignored", "us-ca"): "Cal. Civ. Code § 1798.135(b); CCPA regulations, 11 CCR § 7025 "
                                     "(opt-out preference signals)",
}


def legal_reference(rule: str, where: str) -> str | None:
    if where in ("fr", "uk") or where == "eu":
        return LEGAL.get((rule, "eu"))
    return LEGAL.get((rule, where))


def derive_findings(store: Store, crawl_id: int) -> list[dict]:
    """Compute and store the findings of one broker-site crawl; returns the rows written."""
    pages = store.rows(
        "SELECT p.*, b.name AS broker_name, b.key AS broker_key, b.registry, b.country FROM broker_pages p "
        "JOIN brokers b ON b.id = p.broker_id WHERE p.crawl_id = ? ORDER BY p.id", (crawl_id,))
    rows: list[dict] = []
    rows += _hidden(pages)
    rows += _dead(pages)
    rows += _no_gpc(pages)
    rows += _changed(store, crawl_id, pages)
    rows += _gpc_ignored(store, pages)
    now = utcnow()
    with store.transaction() as tx:
        tx.conn.execute("DELETE FROM findings WHERE crawl_id = ? AND rule_id LIKE 'broker.%'", (crawl_id,))
        for row in rows:
            row.update(crawl_id=crawl_id, rule_version=RULE_VERSION, created_at=now)
            row["id"] = tx.insert("findings", row)
    return rows


def _finding(page: dict, rule: str, severity: str, title: str, detail: str, evidence: list[int],
             *facts: object) -> dict:
    where = jurisdiction(page["registry"], page["country"])
    return {"rule_id": rule, "severity": severity, "title": title, "detail": detail, "jurisdiction": where,
            "legal_reference": legal_reference(rule, where), "subject": page["broker_name"],
            "broker_id": page["broker_id"], "evidence": [{"table": "broker_pages", "id": i} for i in evidence],
            "fingerprint": fingerprint(rule, page["broker_key"] + "|" + page["registry"], *facts)}


def _hidden(pages: list[dict]) -> list[dict]:
    out, seen = [], set()
    for page in pages:
        if not page["hidden"] or page["kind"] not in RIGHTS_KINDS or page["hosted_by"]:
            continue
        url = page["final_url"] or page["url"]
        if (page["broker_id"], url) in seen:
            continue
        seen.add((page["broker_id"], url))
        reasons = json.loads(page["hidden_reasons"] or "[]")
        same = [p["id"] for p in pages if p["broker_id"] == page["broker_id"] and (p["final_url"] or p["url"]) == url]
        out.append(_finding(
            page, "broker.hidden-opt-out", "medium", f"{page['broker_name']} hides a rights page from search engines",
            f"{url} ({page['kind']} page) is kept out of search results by: {', '.join(reasons)}. People looking "
            "for how to opt out or delete their data will not find it with a search engine.",
            same, url, sorted(reasons)))
    return out


def _dead(pages: list[dict]) -> list[dict]:
    out, seen = [], set()
    for page in pages:
        if page["kind"] not in RIGHTS_KINDS or page["status"] not in DEAD:
            continue
        if (page["broker_id"], page["url"]) in seen:
            continue
        seen.add((page["broker_id"], page["url"]))
        registered = "registered " if page["kind"] == "rights" else ""
        out.append(_finding(
            page, "broker.dead-rights-link", "high", f"{page['broker_name']}'s {registered}rights link is dead",
            f"{page['url']} ({page['kind']} page) answered {page['reason'] or page['status']}: a person following "
            "it cannot exercise their rights there.", [page["id"]], page["url"], page["status"]))
    return out


def _no_gpc(pages: list[dict]) -> list[dict]:
    out = []
    homes_ok = {p["broker_id"] for p in pages if p["kind"] == "home" and p["status"] == "ok"}
    for page in pages:
        if page["kind"] != "gpc" or page["broker_id"] not in homes_ok or page["gpc"] == "true":
            continue
        where = jurisdiction(page["registry"], page["country"])
        severity = "low" if where.startswith("us") else "info"
        out.append(_finding(
            page, "broker.no-gpc", severity, f"{page['broker_name']} does not declare Global Privacy Control support",
            f"{page['url']}: {page['gpc']} (HTTP {page['http_status'] or 'none'}). The statement is optional; whether "
            "the site honours the Sec-GPC signal is measured by the browser crawl, not by this file.",
            [page["id"]], page["gpc"]))
    return out


def _changed(store: Store, crawl_id: int, pages: list[dict]) -> list[dict]:
    out = []
    for page in pages:
        if page["kind"] not in (*RIGHTS_KINDS, "policy") or page["status"] != "ok" or not page["text_sha256"]:
            continue
        before = store.rows(
            "SELECT p.id, p.text_sha256, p.fetched_at FROM broker_pages p JOIN brokers b ON b.id = p.broker_id "
            "WHERE b.key = ? AND b.registry = ? AND p.url = ? AND p.kind = ? AND p.crawl_id < ? "
            "AND p.status = 'ok' AND p.text_sha256 IS NOT NULL ORDER BY p.crawl_id DESC, p.id DESC LIMIT 1",
            (page["broker_key"], page["registry"], page["url"], page["kind"], crawl_id))
        if not before or before[0]["text_sha256"] == page["text_sha256"]:
            continue
        out.append(_finding(
            page, "broker.policy-changed", "info", f"{page['broker_name']} changed its {page['kind']} page",
            f"{page['url']}: the text differs from the version read at {before[0]['fetched_at']} "
            f"(sha256 {before[0]['text_sha256'][:12]}… → {page['text_sha256'][:12]}…).",
            [before[0]["id"], page["id"]], page["url"], before[0]["text_sha256"], page["text_sha256"]))
    return out


def _gpc_ignored(store: Store, pages: list[dict]) -> list[dict]:
    out = []
    for page in pages:
        if page["kind"] != "home" or page["status"] != "ok":
            continue
        site = site_of(page["final_url"] or page["url"])
        latest = {}
        for visit in store.rows("SELECT id, phase FROM visits WHERE (site = ? OR final_site = ?) AND depth = 0 "
                                "AND status = 'ok' AND phase IN ('initial', 'gpc') ORDER BY id DESC", (site, site)):
            latest.setdefault(visit["phase"], visit["id"])
        if "gpc" not in latest:
            continue
        trackers = {phase: [r["tracker_entity"] for r in store.rows(
            "SELECT DISTINCT tracker_entity FROM requests WHERE visit_id = ? AND third_party = 1 AND "
            "tracker_category = 'advertising' AND tracker_entity IS NOT NULL ORDER BY 1", (visit_id,))]
            for phase, visit_id in latest.items()}
        if not trackers["gpc"]:
            continue
        finding = _finding(
            page, "broker.gpc-ignored", "medium", f"{page['broker_name']}'s site ignores Global Privacy Control",
            f"With Sec-GPC: 1, its home page still sent requests to advertising trackers: {', '.join(trackers['gpc'])}"
            f" (without the signal: {', '.join(trackers.get('initial', [])) or 'no visit'}).",
            [], site, trackers["gpc"])
        finding["evidence"] = [{"table": "broker_pages", "id": page["id"]}] + [
            {"table": "visits", "id": visit_id} for visit_id in latest.values()]
        finding["visit_id"] = latest["gpc"]
        out.append(finding)
    return out
