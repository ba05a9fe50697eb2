"""The app page, `/app/{app}`: what an app sent to whom, which identifiers and positions left it and how they were
encoded, which tracker companies received them, the capture it came from, what could not be read, and findings.

The key is `flows.app` exactly as stored. Every query starts from the `flows(app)` index, and reaches leaks, rtb and
id_syncs through their `flow_id` indexes; tables are cut at ROWS lines. Values of identifiers are never shown
(published databases hold none; this page fails closed anyway): their kind, encoding chain, field and destination.
"""

from __future__ import annotations

import sqlite3

from mouchard.publishing.i18n import format_cell, format_number, plural, register, t
from mouchard.publishing.pages import page_url
from mouchard.publishing.pages.common import by_severity, cut, ranked_strings, row_url, rows_url
from mouchard.publishing.pages.company_text import ROWS, category_label, cut_caption, kind_label
from mouchard.publishing.pages.model import Fact, Link, Page, Section, Table

# Joins from the app's flows are written CROSS JOIN ... INDEXED BY: flows (by the app index) stay the outer loop and
# leaks, rtb and id_syncs are reached by their flow_id index. Most of their rows are web rows whose flow_id is NULL,
# so ANALYZE's statistics make that index look useless and SQLite would scan the table once per flow.
# A flow mouchard could not read in full: leaks may be missing from it, and the page says how many.
UNREAD = ("(f.kind IN ('tls-failure', 'quic', 'tcp', 'report') OR f.error IS NOT NULL "
          "OR f.analysis IN ('truncated', 'redaction-failed', 'no-payload'))")

MESSAGES = {
    "app.n.destination": {"fr": "{n} destination|{n} destinations", "en": "{n} destination|{n} destinations"},
    "app.n.capture": {"fr": "{n} capture|{n} captures", "en": "{n} capture|{n} captures"},
    "app.verdict.none": {"fr": "Non mesuré", "en": "Not measured"},
    "app.title": {"fr": "{app} : ce que l'app envoie", "en": "{app}: what the app sends"},
    "app.lede": {"fr": "Le trafic de {app} capturé par le proxy de mouchard : {flows} vers {sites}.",
                 "en": "The traffic of {app} captured by mouchard's proxy: {flows} to {sites}."},
    "app.link.profile": {"fr": "le profil complet", "en": "the full profile"},
    "app.link.flows": {"fr": "ses échanges", "en": "its exchanges"},

    "app.destinations.heading": {"fr": "Ce qu'elle a envoyé, et à qui", "en": "What it sent, and to whom"},
    "app.destinations.fact": {"fr": "{app} a envoyé {flows} vers {sites}.", "en": "{app} sent {flows} to {sites}."},
    "app.destinations.trackers": {"fr": "{flows} allait à {companies} : {names}.|{flows} allaient à {companies} : "
                                        "{names}.",
                                  "en": "{flows} went to {companies}: {names}.|{flows} went to {companies}: {names}."},
    "app.destinations.no_tracker": {"fr": "Aucune de ses destinations n'est une entreprise de suivi connue des "
                                          "listes.",
                                    "en": "None of its destinations is a tracker company the lists know."},
    "app.destinations.verdict.bad": {"fr": "Envoie à {companies}", "en": "Sends to {companies}"},
    "app.n.tracker": {"fr": "{n} entreprise de suivi|{n} entreprises de suivi",
                      "en": "{n} tracker company|{n} tracker companies"},
    "app.destinations.verdict.good": {"fr": "Aucun traceur connu", "en": "No known tracker"},
    "app.link.tracker_flows": {"fr": "les échanges vers des traceurs", "en": "the exchanges to trackers"},
    "app.col.company": {"fr": "Entreprise ou site", "en": "Company or site"},
    "app.col.category": {"fr": "Catégorie", "en": "Category"},
    "app.col.sites": {"fr": "Sites", "en": "Sites"},
    "app.col.flows": {"fr": "Échanges", "en": "Exchanges"},

    "app.leaks.heading": {"fr": "Identifiants et positions envoyés", "en": "Identifiers and positions sent"},
    "app.leaks.fact": {"fr": "{app} a laissé partir {values} : {kinds}.", "en": "{app} let out {values}: {kinds}."},
    "app.leaks.third_party": {"fr": "{values} allait à un tiers.|{values} allaient à des tiers.",
                              "en": "{values} went to a third party.|{values} went to third parties."},
    "app.leaks.positions": {"fr": "Sa position est partie {times} vers {destinations} ; la plus précise était à "
                                  "{metres} de la position réelle.",
                            "en": "Its position left {times} for {destinations}; the most precise was {metres} from "
                                  "the true position."},
    "app.leaks.positions_unknown": {"fr": "Sa position est partie {times} vers {destinations}, de précision inconnue.",
                                    "en": "Its position left {times} for {destinations}, of unknown precision."},
    "app.n.time": {"fr": "{n} fois|{n} fois", "en": "once|{n} times"},
    "app.leaks.absent": {"fr": "Aucun identifiant d'appareil, aucune position ni valeur personnelle plantée n'a été "
                               "trouvé dans ce qu'elle a envoyé.",
                         "en": "No device identifier, position or planted personal value was found in what it sent."},
    "app.leaks.unread": {"fr": "Aucun de ses échanges n'a pu être lu : les fuites ne sont pas mesurées.",
                         "en": "None of its exchanges could be read: leaks are not measured."},
    "app.leaks.verdict.bad": {"fr": "Identifiants envoyés à des tiers", "en": "Identifiers sent to third parties"},
    "app.leaks.verdict.warn": {"fr": "Identifiants envoyés à son éditeur",
                               "en": "Identifiers sent to its publisher"},
    "app.leaks.verdict.good": {"fr": "Aucun trouvé", "en": "None found"},
    "app.col.kind": {"fr": "Nature", "en": "Kind"},
    "app.col.chain": {"fr": "Chaîne d'encodage", "en": "Encoding chain"},
    "app.col.field": {"fr": "Champ", "en": "Field"},
    "app.col.precision": {"fr": "Précision (m)", "en": "Precision (m)"},
    "app.col.destination": {"fr": "Destination", "en": "Destination"},
    "app.col.party": {"fr": "Partie", "en": "Party"},
    "app.col.values": {"fr": "Valeurs", "en": "Values"},
    "app.party.third": {"fr": "tiers", "en": "third party"},
    "app.party.first": {"fr": "première partie", "en": "first party"},

    "app.sharing.heading": {"fr": "Enchères et synchronisation", "en": "Bidding and syncing"},
    "app.sharing.rtb": {"fr": "{events} d'enchères publicitaires est parti de l'app, avec : {fields}.|{events} "
                              "d'enchères publicitaires sont partis de l'app, avec : {fields}.",
                        "en": "{events} of ad auctions left the app, with: {fields}.|{events} of ad auctions left "
                              "the app, with: {fields}."},
    "app.sharing.rtb_no_fields": {"fr": "{events} d'enchères publicitaires est parti de l'app, sans champ personnel "
                                        "relevé.|{events} d'enchères publicitaires sont partis de l'app, sans champ "
                                        "personnel relevé.",
                                  "en": "{events} of ad auctions left the app, with no personal field found.|{events} "
                                        "of ad auctions left the app, with no personal field found."},
    "app.sharing.syncs": {"fr": "{syncs} d'identifiants entre entreprises dans son trafic : {pairs}.",
                          "en": "{syncs} of identifiers between companies in its traffic: {pairs}."},
    "app.sharing.absent": {"fr": "Ni enchère ni synchronisation d'identifiants dans son trafic.",
                           "en": "No auction and no identifier syncing in its traffic."},
    "app.sharing.verdict.bad": {"fr": "Données partagées", "en": "Data shared"},
    "app.sharing.verdict.warn": {"fr": "Enchères", "en": "Auctions"},
    "app.sharing.verdict.good": {"fr": "Aucune", "en": "None"},

    "app.capture.heading": {"fr": "La capture", "en": "The capture"},
    "app.capture.fact": {"fr": "Ces échanges viennent de {captures} ; l'app a été reconnue par : {sources}.",
                         "en": "These exchanges come from {captures}; the app was recognised by: {sources}."},
    "app.capture.unread": {"fr": "{flows} n'a pas pu être lu en entier (certificat refusé par l'app, QUIC, contenu "
                                 "tronqué ou absent) : des fuites peuvent y manquer.|{flows} n'ont pas pu être "
                                 "lus en entier (certificat refusé par l'app, QUIC, contenu tronqué ou absent) : "
                                 "des fuites peuvent y manquer.",
                           "en": "{flows} could not be read in full (certificate refused by the app, QUIC, content "
                                 "cut or missing): leaks may be missing from it.|{flows} could not be read in full "
                                 "(certificate refused by the app, QUIC, content cut or missing): leaks may be missing "
                                 "from them."},
    "app.capture.verdict.warn": {"fr": "Capture partielle", "en": "Partial capture"},
    "app.capture.verdict.good": {"fr": "Lue en entier", "en": "Read in full"},
    "app.link.unread": {"fr": "les échanges non lus", "en": "the unread exchanges"},
    "app.col.capture": {"fr": "Capture", "en": "Capture"},
    "app.col.started": {"fr": "Début", "en": "Started"},
    "app.col.status": {"fr": "État", "en": "Status"},
    "app.col.unread": {"fr": "Non lus", "en": "Unread"},
    "app.link.capture": {"fr": "capture n° {id}", "en": "capture #{id}"},

    "app.findings.heading": {"fr": "Constats", "en": "Findings"},
    "app.findings.fact": {"fr": "{findings} concerne {app} ; de gravité haute : {high}.|{findings} concernent {app} ; "
                                "de gravité haute : {high}.",
                          "en": "{findings} concerns {app}; of high severity: {high}.|{findings} concern {app}; of "
                                "high severity: {high}."},
    "app.link.findings": {"fr": "les constats", "en": "the findings"},
    "app.findings.absent": {"fr": "Aucun constat des règles d'audit ne concerne {app}.",
                            "en": "No finding of the audit rules concerns {app}."},
    "app.findings.verdict.bad": {"fr": "Constats graves", "en": "Serious findings"},
    "app.findings.verdict.warn": {"fr": "Constats", "en": "Findings"},
    "app.findings.verdict.good": {"fr": "Aucun constat", "en": "No finding"},
}
register(MESSAGES)


def build(conn: sqlite3.Connection, key: str, lang: str, query: dict) -> Page | None:
    """The page of the app `key` (flows.app as stored), or None when no flow names it."""
    app = key
    totals = conn.execute(f"""
        SELECT count(*), count(DISTINCT f.site), sum(f.tracker_entity IS NOT NULL),
               count(DISTINCT f.tracker_entity), sum({UNREAD})
        FROM flows f WHERE f.app = ?""", (app,)).fetchone()
    if not app or not totals or not totals[0]:
        return None
    flows, sites, tracker_flows, companies, unread = (value or 0 for value in totals)
    lede = t("app.lede", lang, app=app, flows=plural("company.n.flow", flows, lang),
             sites=plural("app.n.destination", sites, lang))
    sections = (
        _destinations(conn, app, flows, sites, tracker_flows, companies, lang),
        _leaks(conn, app, flows, unread, lang),
        _sharing(conn, app, lang),
        _capture(conn, app, unread, lang),
        _findings(conn, app, lang),
    )
    return Page(kind="app", key=app, lang=lang, title=t("app.title", lang, app=app), lede=lede, sections=sections)


def _destinations(conn: sqlite3.Connection, app: str, flows: int, sites: int, tracker_flows: int, companies: int,
                  lang: str) -> Section:
    heading = t("app.destinations.heading", lang)
    # Tracker companies first, then the other destinations by site.
    rows = conn.execute("""
        SELECT tracker_entity, site, max(tracker_category), count(DISTINCT site), count(*), count(*) OVER ()
        FROM flows WHERE app = ?
        GROUP BY tracker_entity IS NULL, coalesce(tracker_entity, site)
        ORDER BY tracker_entity IS NULL, 5 DESC, coalesce(tracker_entity, site) LIMIT ?""", (app, ROWS)).fetchall()
    facts = [Fact(t("app.destinations.fact", lang, app=app, flows=plural("company.n.flow", flows, lang),
                    sites=plural("app.n.destination", sites, lang)),
                  (Link(t("app.link.flows", lang), rows_url("flows", app=app)),
                   Link(t("app.link.profile", lang), rows_url("app_profile", app=app))))]
    names = [cut(entity) for entity, *_ in rows if entity is not None][:10]
    if tracker_flows:
        facts.append(Fact(plural("app.destinations.trackers", tracker_flows, lang,
                               flows=plural("company.n.flow", tracker_flows, lang),
                               companies=plural("app.n.tracker", companies, lang), names=", ".join(names))))
    else:
        facts.append(Fact(t("app.destinations.no_tracker", lang)))
    table = Table(
        columns=(t("app.col.company", lang), t("app.col.category", lang), t("app.col.sites", lang),
                 t("app.col.flows", lang)),
        rows=tuple((Link(cut(entity), page_url("company", entity, lang)) if entity is not None
                    else Link(cut(site), rows_url("flows", app=app, site=site)) if site else None,
                    category_label(category, lang) if category else None, format_cell(n_sites, lang), format_cell(n, lang))
                   for entity, site, category, n_sites, n, _ in rows),
        caption=cut_caption(rows[0][5] if rows else 0, lang))
    if tracker_flows:
        verdict_text = t("app.destinations.verdict.bad", lang, companies=plural("app.n.tracker", companies, lang))
        return Section("destinations", heading, "bad", verdict_text, tuple(facts), table)
    return Section("destinations", heading, "good", t("app.destinations.verdict.good", lang), tuple(facts), table)


def _leaks(conn: sqlite3.Connection, app: str, flows: int, unread: int, lang: str) -> Section:
    heading = t("app.leaks.heading", lang)
    rows = conn.execute("""
        SELECT l.identifier, l.chain, l.field, min(l.precision_m), l.destination_host, l.third_party,
               l.tracker_entity, count(*), min(l.flow_id), count(*) OVER ()
        FROM flows f CROSS JOIN leaks l INDEXED BY idx_leaks_flow_id ON l.flow_id = f.id WHERE f.app = ?
        GROUP BY l.identifier, l.chain, l.field, l.destination_host, l.third_party, l.tracker_entity
        ORDER BY l.third_party IS NOT 1, 8 DESC, l.identifier, l.destination_host LIMIT ?""", (app, ROWS)).fetchall()
    if not rows:
        if unread >= flows:
            return Section("leaks", heading, "none", t("app.verdict.none", lang), (Fact(t("app.leaks.unread", lang)),))
        return Section("leaks", heading, "good", t("app.leaks.verdict.good", lang),
                       (Fact(t("app.leaks.absent", lang)),))
    kinds = conn.execute("""
        SELECT l.identifier, count(*), sum(l.third_party = 1), min(l.precision_m),
               count(DISTINCT coalesce(l.tracker_entity, l.destination_site))
        FROM flows f CROSS JOIN leaks l INDEXED BY idx_leaks_flow_id ON l.flow_id = f.id WHERE f.app = ?
        GROUP BY l.identifier ORDER BY 2 DESC, 1 LIMIT ?""", (app, ROWS)).fetchall()
    values = sum(row[1] for row in kinds)
    third = sum(row[2] or 0 for row in kinds)
    facts = [Fact(t("app.leaks.fact", lang, app=app, values=plural("company.n.value", values, lang),
                    kinds=", ".join(f"{kind_label(kind, lang)} ({format_number(n, lang)})"
                                    for kind, n, *_ in kinds[:10])),
                  (Link(t("app.link.profile", lang), rows_url("app_profile", app=app)),))]
    if third:
        facts.append(Fact(plural("app.leaks.third_party", third, lang, values=plural("company.n.value", third, lang))))
    for kind, n, _, precision, destinations in kinds:
        if kind == "location":
            values = {"times": plural("app.n.time", n, lang),
                      "destinations": plural("app.n.destination", destinations, lang)}
            text = (t("app.leaks.positions", lang, metres=plural("company.n.metre", round(precision), lang), **values)
                    if precision is not None else t("app.leaks.positions_unknown", lang, **values))
            facts.append(Fact(text))
    table = Table(
        columns=(t("app.col.kind", lang), t("app.col.chain", lang), t("app.col.field", lang),
                 t("app.col.precision", lang), t("app.col.destination", lang), t("app.col.party", lang),
                 t("app.col.company", lang), t("app.col.values", lang)),
        rows=tuple((kind_label(kind, lang), cut(chain) or None, cut(field) or None, format_cell(precision, lang),
                    cut(host) or None,
                    t("app.party.third" if third_party == 1 else "app.party.first", lang),
                    Link(cut(entity), page_url("company", entity, lang)) if entity else None,
                    Link(format_number(n, lang), rows_url("leaks", flow_id=flow_id, identifier=kind)))
                   for kind, chain, field, precision, host, third_party, entity, n, flow_id, _ in rows),
        caption=cut_caption(rows[0][9], lang))
    verdict = "bad" if third else "warn"
    return Section("leaks", heading, verdict, t(f"app.leaks.verdict.{verdict}", lang), tuple(facts), table)


def _sharing(conn: sqlite3.Connection, app: str, lang: str) -> Section:
    heading = t("app.sharing.heading", lang)
    bids = conn.execute("""
        SELECT r.personal_fields, count(*)
        FROM flows f CROSS JOIN rtb r INDEXED BY idx_rtb_flow_id ON r.flow_id = f.id WHERE f.app = ?
        GROUP BY r.personal_fields ORDER BY 2 DESC LIMIT 200""", (app,)).fetchall()
    syncs = conn.execute("""
        SELECT s.from_entity, s.from_site, s.to_entity, s.to_site, count(*)
        FROM flows f CROSS JOIN id_syncs s INDEXED BY idx_id_syncs_flow_id ON s.flow_id = f.id WHERE f.app = ?
        GROUP BY 1, 2, 3, 4 ORDER BY 5 DESC, coalesce(s.from_entity, s.from_site), coalesce(s.to_entity, s.to_site)
        LIMIT ?""", (app, ROWS)).fetchall()
    if not bids and not syncs:
        return Section("sharing", heading, "good", t("app.sharing.verdict.good", lang),
                       (Fact(t("app.sharing.absent", lang)),))
    facts = []
    fields = ranked_strings(bids)
    events = sum(n for _, n in bids)
    if bids:
        ranked = ", ".join(name for name, _ in fields[:10])
        events_text = plural("company.n.event", events, lang)
        facts.append(Fact(plural("app.sharing.rtb", events, lang, events=events_text, fields=ranked) if fields
                          else plural("app.sharing.rtb_no_fields", events, lang, events=events_text)))
    links = []
    if syncs:
        pairs = ", ".join(f"{cut(from_entity or from_site)} → {cut(to_entity or to_site)}"
                          for from_entity, from_site, to_entity, to_site, _ in syncs[:10])
        facts.append(Fact(t("app.sharing.syncs", lang, syncs=plural("company.n.sync", sum(n for *_, n in syncs), lang),
                            pairs=pairs)))
        # A side with no known company is named by its site, as text: no company page exists for it.
        links = [tuple(Link(cut(entity), page_url("company", entity, lang)) if entity else cut(site)
                       for entity, site in ((from_entity, from_site), (to_entity, to_site)))
                 for from_entity, from_site, to_entity, to_site, _ in syncs]
    table = Table(columns=(t("company.direction.from", lang).capitalize(), t("company.direction.to", lang).capitalize(),
                           t("company.col.syncs", lang)),
                  rows=tuple((source, target, format_cell(n, lang)) for (source, target), (*_, n) in zip(links, syncs))) \
        if syncs else None
    verdict = "bad" if fields or syncs else "warn"
    return Section("sharing", heading, verdict, t(f"app.sharing.verdict.{verdict}", lang), tuple(facts), table)


def _capture(conn: sqlite3.Connection, app: str, unread: int, lang: str) -> Section:
    heading = t("app.capture.heading", lang)
    rows = conn.execute(f"""
        SELECT f.crawl_id, c.kind, c.started_at, c.status, count(*), sum({UNREAD}), count(*) OVER ()
        FROM flows f LEFT JOIN crawls c ON c.id = f.crawl_id WHERE f.app = ?
        GROUP BY f.crawl_id ORDER BY f.crawl_id DESC LIMIT ?""", (app, ROWS)).fetchall()
    sources = [cut(source) for (source,) in conn.execute(
        "SELECT DISTINCT app_source FROM (SELECT app_source FROM flows WHERE app = ? LIMIT 1000) "
        "WHERE app_source IS NOT NULL ORDER BY 1 LIMIT 10", (app,))]
    facts = [Fact(t("app.capture.fact", lang, captures=plural("app.n.capture", rows[0][6] if rows else 0, lang),
                    sources=", ".join(sources) or "?"))]
    if unread:
        facts.append(Fact(plural("app.capture.unread", unread, lang, flows=plural("company.n.flow", unread, lang)),
                          (Link(t("app.link.unread", lang), rows_url("flows", app=app, _where=UNREAD_WHERE)),)))
    table = Table(
        columns=(t("app.col.capture", lang), t("company.col.kind", lang), t("app.col.started", lang),
                 t("app.col.status", lang), t("app.col.flows", lang), t("app.col.unread", lang)),
        rows=tuple((Link(t("app.link.capture", lang, id=crawl), row_url("crawls", crawl)) if crawl is not None
                    else None, cut(kind) or None, cut(started) or None, cut(status) or None, format_cell(n, lang),
                    format_cell(n_unread or 0, lang))
                   for crawl, kind, started, status, n, n_unread, _ in rows),
        caption=cut_caption(rows[0][6] if rows else 0, lang))
    verdict = "warn" if unread else "good"
    return Section("capture", heading, verdict, t(f"app.capture.verdict.{verdict}", lang), tuple(facts), table)


# The same test as UNREAD, as Datasette's `_where` on the flows table (no alias there).
UNREAD_WHERE = UNREAD.replace("f.", "")


def _findings(conn: sqlite3.Connection, app: str, lang: str) -> Section:
    heading = t("app.findings.heading", lang)
    rows = conn.execute(
        "SELECT id, severity, title, count(*) OVER (), sum(severity = 'high') OVER () FROM findings WHERE subject = ? "
        f"ORDER BY {by_severity()}, id LIMIT ?",
        (app, ROWS)).fetchall()
    if not rows:
        return Section("findings", heading, "good", t("app.findings.verdict.good", lang),
                       (Fact(t("app.findings.absent", lang, app=app)),))
    total, high = rows[0][3], rows[0][4] or 0
    fact = Fact(plural("app.findings.fact", total, lang, app=app, findings=plural("company.n.finding", total, lang),
                     high=format_number(high, lang)),
                (Link(t("app.link.findings", lang), rows_url("findings", subject=app)),))
    table = Table(
        columns=(t("company.col.severity", lang), t("company.col.title", lang), t("company.col.row", lang)),
        rows=tuple((cut(severity), cut(title), Link(t("company.link.finding", lang, id=row_id),
                                                   row_url("findings", row_id)))
                   for row_id, severity, title, *_ in rows),
        caption=cut_caption(total, lang))
    verdict = "bad" if high else "warn"
    return Section("findings", heading, verdict, t(f"app.findings.verdict.{verdict}", lang), (fact,), table)
