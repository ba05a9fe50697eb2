"""The broker page, `/broker/{key}`: one data broker across registries and years.

A broker is followed by `brokers.key` (the normalised name the registry import gives it) and by its site: every
registration with the key, and every registration of the same sites (a broker renamed between two years keeps its
site). `/broker/acme.example` works too: a key that is no broker's is tried as a site. The page says where and
when it registered, what data it declares collecting (and what changed between years), whether its opt-out and
rights pages are hidden from search engines and how far they are from its home page, its GPC statement, what it
reported about consumer requests, and the findings about it. Contact e-mails are never shown (they can be a
person's).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping

from mouchard.publishing.i18n import format_number, has, register, t
from mouchard.publishing.pages import page_url
from mouchard.publishing.pages.common import by_severity, json_dict, json_list, row_url, rows, rows_url
from mouchard.publishing.pages.model import Fact, Link, Page, Section, Table, Verdict

MAX_REGISTRATIONS = 100  # a broker registers once a year per registry: 100 is decades of four registries
MAX_PAGES = 100
MAX_FINDINGS = 50
MAX_METRICS = 60
RIGHTS_KINDS = ("opt-out", "deletion", "access", "rights")  # pages where consumers act on their data
DECLARED = ("minors", "precise_geolocation", "reproductive_health", "fcra", "glba")
SENSITIVE = ("minors", "precise_geolocation", "reproductive_health")  # what makes the section "bad"

MESSAGES = {
    "broker.title": {"fr": "{name} : courtier en données", "en": "{name}: data broker"},
    "broker.lede": {
        "fr": "{name} est inscrit comme courtier en données : {count} inscription(s), de {first} à {last}.",
        "en": "{name} is registered as a data broker: {count} registration(s), from {first} to {last}."},
    "broker.registry.ca": {"fr": "Californie", "en": "California"},
    "broker.registry.vt": {"fr": "Vermont", "en": "Vermont"},
    "broker.registry.tx": {"fr": "Texas", "en": "Texas"},
    "broker.registry.or": {"fr": "Oregon", "en": "Oregon"},
    "broker.registry.list": {"fr": "liste d'un journaliste", "en": "a journalist's list"},
    "broker.registrations.heading": {"fr": "Inscriptions aux registres", "en": "Registry registrations"},
    "broker.registrations.verdict": {"fr": "{count} inscription(s)", "en": "{count} registration(s)"},
    "broker.registrations.fact": {
        "fr": "Inscrit au registre {registry} en {years}.", "en": "Registered in the {registry} registry in {years}."},
    "broker.registrations.names": {
        "fr": "Noms sous lesquels il s'est inscrit : {names}.", "en": "Names it registered under: {names}."},
    "broker.registrations.tracker": {
        "fr": "Son site appartient à une entreprise de pistage connue des listes : {entity}.",
        "en": "Its site belongs to a tracker company the lists know: {entity}."},
    "broker.col.registry": {"fr": "Registre", "en": "Registry"},
    "broker.col.year": {"fr": "Année", "en": "Year"},
    "broker.col.name": {"fr": "Nom", "en": "Name"},
    "broker.col.site": {"fr": "Site", "en": "Site"},
    "broker.col.state": {"fr": "État", "en": "State"},
    "broker.col.row": {"fr": "Ligne du registre", "en": "Registry row"},
    "broker.row": {"fr": "inscription", "en": "registration"},
    "broker.declared.heading": {"fr": "Données déclarées", "en": "Declared data"},
    "broker.declared.bad": {"fr": "Données sensibles", "en": "Sensitive data"},
    "broker.declared.good": {"fr": "Aucune donnée sensible déclarée", "en": "No sensitive data declared"},
    "broker.declared.none": {"fr": "Non déclaré", "en": "Not declared"},
    "broker.declared.yes": {
        "fr": "Déclare collecter : {what} ({registry} {year}).",
        "en": "Declares collecting {what} ({registry} {year})."},
    "broker.declared.no": {
        "fr": "Déclare ne pas collecter : {what} ({registry} {year}).",
        "en": "Declares not collecting {what} ({registry} {year})."},
    "broker.declared.changed": {
        "fr": "{what} : « {before} » en {year_before}, « {after} » en {year_after} ({registry}).",
        "en": "{what}: \"{before}\" in {year_before}, \"{after}\" in {year_after} ({registry})."},
    "broker.declared.other": {
        "fr": "Autres déclarations du registre ({registry} {year}).",
        "en": "Other declarations of the registry ({registry} {year})."},
    "broker.declared.minors": {"fr": "des données de mineurs", "en": "minors' data"},
    "broker.declared.precise_geolocation": {"fr": "la géolocalisation précise", "en": "precise geolocation"},
    "broker.declared.reproductive_health": {"fr": "des données de santé reproductive",
                                            "en": "reproductive health data"},
    "broker.declared.fcra": {"fr": "des données régies par le FCRA (crédit)",
                             "en": "data regulated by the FCRA (credit)"},
    "broker.declared.glba": {"fr": "des données régies par le GLBA (finance)",
                             "en": "data regulated by the GLBA (finance)"},
    "broker.value.yes": {"fr": "oui", "en": "yes"},
    "broker.value.no": {"fr": "non", "en": "no"},
    "broker.value.unknown": {"fr": "inconnu", "en": "unknown"},
    "broker.col.declaration": {"fr": "Déclaration", "en": "Declaration"},
    "broker.col.value": {"fr": "Réponse", "en": "Answer"},
    "broker.pages.heading": {"fr": "Pages pour exercer ses droits", "en": "Pages where people exercise their rights"},
    "broker.pages.bad": {"fr": "Cachées des moteurs de recherche", "en": "Hidden from search engines"},
    "broker.pages.good": {"fr": "Visibles", "en": "Visible"},
    "broker.pages.warn": {"fr": "Non vérifiées", "en": "Not checked"},
    "broker.pages.none": {"fr": "Non mesuré", "en": "Not measured"},
    "broker.pages.none_fact": {
        "fr": "Aucune page de ce courtier n'a été vérifiée (mouchard brokers crawl).",
        "en": "No page of this broker was checked (mouchard brokers crawl)."},
    "broker.pages.hidden": {
        "fr": "La page « {kind} » est cachée des moteurs de recherche : {reasons}.",
        "en": "The \"{kind}\" page is hidden from search engines: {reasons}."},
    "broker.pages.visible": {
        "fr": "La page « {kind} » n'est pas cachée des moteurs de recherche.",
        "en": "The \"{kind}\" page is not hidden from search engines."},
    "broker.pages.failed": {
        "fr": "La page « {kind} » n'a pas pu être vérifiée : {status}.",
        "en": "The \"{kind}\" page could not be checked: {status}."},
    "broker.pages.clicks": {
        "fr": "On l'atteint en {clicks} clic(s) depuis la page d'accueil.",
        "en": "It is reached in {clicks} click(s) from the home page."},
    "broker.pages.not_linked": {
        "fr": "Elle n'a pas été trouvée en suivant les liens de la page d'accueil.",
        "en": "It was not found by following links from the home page."},
    "broker.pages.hosted": {"fr": "Hébergée par {service}.", "en": "Hosted by {service}."},
    "broker.pages.repaired": {
        "fr": "L'adresse inscrite au registre ne menait pas à la page : mouchard l'a retrouvée ailleurs.",
        "en": "The registered address did not lead to the page: mouchard found it elsewhere."},
    "broker.col.kind": {"fr": "Page", "en": "Page"},
    "broker.col.url": {"fr": "Adresse", "en": "Address"},
    "broker.col.hidden": {"fr": "Cachée", "en": "Hidden"},
    "broker.col.clicks": {"fr": "Clics depuis l'accueil", "en": "Clicks from home"},
    "broker.col.check": {"fr": "Vérification", "en": "Check"},
    "broker.page_row": {"fr": "page vérifiée", "en": "page checked"},
    "broker.gpc.heading": {"fr": "Global Privacy Control (GPC)", "en": "Global Privacy Control (GPC)"},
    "broker.gpc.good": {"fr": "Déclaré", "en": "Declared"},
    "broker.gpc.bad": {"fr": "Refusé", "en": "Refused"},
    "broker.gpc.warn": {"fr": "Absent", "en": "Missing"},
    "broker.gpc.none": {"fr": "Non mesuré", "en": "Not measured"},
    "broker.gpc.true": {
        "fr": "Son site déclare respecter le signal GPC (/.well-known/gpc.json, mis à jour : {updated}).",
        "en": "Its site declares it honours the GPC signal (/.well-known/gpc.json, last update: {updated})."},
    "broker.gpc.false": {
        "fr": "Son site déclare ne pas respecter le signal GPC (/.well-known/gpc.json).",
        "en": "Its site declares it does not honour the GPC signal (/.well-known/gpc.json)."},
    "broker.gpc.missing": {
        "fr": "Son site ne publie pas de déclaration GPC valable (/.well-known/gpc.json : {value}).",
        "en": "Its site publishes no valid GPC statement (/.well-known/gpc.json: {value})."},
    "broker.gpc.unmeasured": {
        "fr": "La déclaration GPC de son site n'a pas été vérifiée.",
        "en": "Its site's GPC statement was not checked."},
    "broker.metrics.heading": {"fr": "Demandes des consommateurs", "en": "Consumer requests"},
    "broker.metrics.verdict": {"fr": "Déclaré par le courtier", "en": "Reported by the broker"},
    "broker.metrics.fact": {
        "fr": "Chiffres que le courtier a déclarés au registre {registry} en {year}.",
        "en": "Figures the broker reported to the {registry} registry in {year}."},
    "broker.col.request": {"fr": "Demande", "en": "Request"},
    "broker.col.measure": {"fr": "Mesure", "en": "Measure"},
    "broker.col.number": {"fr": "Nombre", "en": "Number"},
    "broker.findings.heading": {"fr": "Constats", "en": "Findings"},
    "broker.findings.bad": {"fr": "{count} constat(s)", "en": "{count} finding(s)"},
    "broker.findings.good": {"fr": "Aucun constat", "en": "No finding"},
    "broker.findings.none": {"fr": "Non audité", "en": "Not audited"},
    "broker.findings.none_fact": {
        "fr": "Les règles n'ont pas encore été appliquées à cette base (mouchard audit).",
        "en": "The rules have not been run on this database yet (mouchard audit)."},
    "broker.findings.good_fact": {
        "fr": "Aucune règle n'a rien relevé sur ce courtier.", "en": "No rule found anything about this broker."},
    "broker.findings.fact": {"fr": "Gravité {severity} : {title}", "en": "Severity {severity}: {title}"},
    "broker.finding": {"fr": "constat", "en": "finding"},
    "broker.company": {"fr": "page de l'entreprise", "en": "company page"},
}
register(MESSAGES)


def registry_name(code: str | None, lang: str) -> str:
    """A registry's name in the reader's language; an unknown code (a future registry) as it is."""
    key = f"broker.registry.{code}"
    return t(key, lang) if has(key) else str(code or "?")


def find_registrations(conn: sqlite3.Connection, key: str) -> list[dict]:
    """Every registration with this key or one of its sites (or, if no broker has the key, with this site)."""
    columns = ("id, registry, year, key, name, dba, site, state, country, minors, precise_geolocation, "
               "reproductive_health, fcra, glba, declarations, rights_url, tracker_entity")
    found = rows(conn, f"SELECT {columns} FROM brokers WHERE key = ? ORDER BY id LIMIT ?", (key, MAX_REGISTRATIONS))
    sites = {r["site"] for r in found if r["site"]} or {key}
    by_id = {r["id"]: r for r in found}
    for site in sorted(sites)[:10]:
        for row in rows(conn, f"SELECT {columns} FROM brokers WHERE site = ? ORDER BY id LIMIT ?",
                        (site, MAX_REGISTRATIONS)):
            by_id.setdefault(row["id"], row)
    return sorted(by_id.values(), key=lambda r: (-(r["year"] or 0), str(r["registry"]), r["id"]))[:MAX_REGISTRATIONS]


def build(conn: sqlite3.Connection, key: str, lang: str, query: Mapping[str, str]) -> Page | None:
    """The broker page of `key` (brokers.key, or a site), or None when no registration matches."""
    key = key.strip()
    if not key:
        return None
    registrations = find_registrations(conn, key)
    if not registrations:
        return None
    latest = registrations[0]
    name = str(latest["name"] or latest["key"] or key)
    years = [r["year"] for r in registrations if r["year"] is not None]
    lede = t("broker.lede", lang, name=name, count=len(registrations),
             first=min(years) if years else "?", last=max(years) if years else "?")
    ids = [r["id"] for r in registrations]
    sections = [
        registrations_section(registrations, lang),
        declared_section(registrations, lang),
        *pages_sections(conn, ids, lang),
        metrics_section(conn, registrations, lang),
        findings_section(conn, ids, lang),
    ]
    return Page(kind="broker", key=key, lang=lang, title=t("broker.title", lang, name=name), lede=lede,
                sections=tuple(s for s in sections if s is not None))


def registrations_section(registrations: list[dict], lang: str) -> Section:
    by_registry: dict[str, list[dict]] = {}
    for r in registrations:
        by_registry.setdefault(r["registry"] or "?", []).append(r)
    facts = [Fact(t("broker.registrations.fact", lang, registry=registry_name(code, lang),
                    years=", ".join(str(y) for y in sorted({r["year"] for r in regs if r["year"] is not None})) or "?"),
                  tuple(Link(str(r["year"] or "?"), row_url("brokers", r["id"])) for r in regs[:20]))
             for code, regs in sorted(by_registry.items())]
    names = sorted({str(r["name"]) for r in registrations if r["name"]})
    if len(names) > 1:
        facts.append(Fact(t("broker.registrations.names", lang, names=" ; ".join(names[:10]))))
    entity = next((r["tracker_entity"] for r in registrations if r["tracker_entity"]), None)
    if entity:
        facts.append(Fact(t("broker.registrations.tracker", lang, entity=entity),
                          (Link(t("broker.company", lang), page_url("company", str(entity), lang)),)))
    table = Table(
        columns=tuple(t(f"broker.col.{c}", lang) for c in ("registry", "year", "name", "site", "state", "row")),
        rows=tuple((registry_name(r["registry"], lang), r["year"], r["name"], r["site"], r["state"],
                    Link(f"#{r['id']}", row_url("brokers", r["id"]))) for r in registrations))
    return Section("registrations", t("broker.registrations.heading", lang), "none",
                   t("broker.registrations.verdict", lang, count=len(registrations)), tuple(facts), table)


def value_text(value: object, lang: str) -> str:
    return t(f"broker.value.{value}", lang) if value in ("yes", "no", "unknown") else str(value)


def declared_section(registrations: list[dict], lang: str) -> Section:
    """What the newest registration of each registry declares, and the answers that changed between years."""
    newest: dict[str, dict] = {}
    for r in registrations:  # newest first
        newest.setdefault(r["registry"] or "?", r)
    facts: list[Fact] = []
    sensitive = answered = False
    for code, r in sorted(newest.items()):
        where = {"registry": registry_name(code, lang), "year": r["year"]}
        link = (Link(t("broker.row", lang), row_url("brokers", r["id"])),)
        for answer in ("yes", "no"):  # one sentence for what it declares collecting, one for what it does not
            fields = [field for field in DECLARED if r[field] == answer]
            if fields:
                answered = True
                sensitive |= answer == "yes" and any(field in SENSITIVE for field in fields)
                what = ", ".join(t(f"broker.declared.{field}", lang) for field in fields)
                facts.append(Fact(t(f"broker.declared.{answer}", lang, what=what, **where), link))
    for code in sorted(newest):
        history = sorted((r for r in registrations if (r["registry"] or "?") == code and r["year"] is not None),
                         key=lambda r: r["year"])
        for older, newer in zip(history, history[1:]):
            for field in DECLARED:
                if older[field] != newer[field] and older[field] and newer[field]:
                    what = t(f"broker.declared.{field}", lang)
                    facts.append(Fact(t("broker.declared.changed", lang, what=what[:1].upper() + what[1:],
                                        before=value_text(older[field], lang), after=value_text(newer[field], lang),
                                        year_before=older["year"], year_after=newer["year"],
                                        registry=registry_name(code, lang)),
                                      (Link(str(older["year"]), row_url("brokers", older["id"])),
                                       Link(str(newer["year"]), row_url("brokers", newer["id"])))))
    table = None
    other = [(code, r, json_dict(r["declarations"])) for code, r in sorted(newest.items())]
    other_rows = tuple((str(name), value_text(value, lang)) for _, _, declarations in other
                       for name, value in sorted(declarations.items())[:40])
    if other_rows:
        code, r, _ = next(o for o in other if o[2])
        table = Table((t("broker.col.declaration", lang), t("broker.col.value", lang)), other_rows,
                      caption=t("broker.declared.other", lang, registry=registry_name(code, lang), year=r["year"]))
    verdict: Verdict = "bad" if sensitive else "good" if answered else "none"
    return Section("declared", t("broker.declared.heading", lang), verdict, t(f"broker.declared.{verdict}", lang),
                   tuple(facts), table)


def pages_sections(conn: sqlite3.Connection, ids: list[int], lang: str) -> list[Section]:
    """The rights pages (hidden or not, how far from home) and the GPC statement, from the broker-site crawl."""
    marks = ",".join("?" * len(ids))
    pages = rows(conn, f"SELECT id, broker_id, kind, url, status, reason, clicks_from_home, found_via, hosted_by, "
                       f"hidden, hidden_reasons, gpc, gpc_last_update FROM broker_pages WHERE broker_id IN ({marks}) "
                       f"ORDER BY id DESC LIMIT ?", (*ids, MAX_PAGES))
    rights = [p for p in pages if p["kind"] != "gpc"]
    seen: set[tuple[str, str]] = set()
    latest_rights = []
    for p in rights:  # newest check of each page only: one page checked every month is one page
        if (p["kind"], p["url"]) not in seen:
            seen.add((p["kind"], p["url"]))
            latest_rights.append(p)
    facts: list[Fact] = []
    for p in latest_rights:
        link = (Link(t("broker.page_row", lang), row_url("broker_pages", p["id"])),)
        kind = str(p["kind"])
        if p["status"] != "ok":
            facts.append(Fact(t("broker.pages.failed", lang, kind=kind, status=p["reason"] or p["status"]), link))
            continue
        reasons = json_list(p["hidden_reasons"])
        text = (t("broker.pages.hidden", lang, kind=kind, reasons="; ".join(str(x) for x in reasons[:10]) or "?")
                if p["hidden"] else t("broker.pages.visible", lang, kind=kind))
        if p["clicks_from_home"] is not None:
            text += " " + t("broker.pages.clicks", lang, clicks=p["clicks_from_home"])
        elif kind in RIGHTS_KINDS:
            text += " " + t("broker.pages.not_linked", lang)
        if p["hosted_by"]:
            text += " " + t("broker.pages.hosted", lang, service=p["hosted_by"])
        if p["found_via"] and p["found_via"] != "null":
            text += " " + t("broker.pages.repaired", lang)
        facts.append(Fact(text, link))
    checked = [p for p in latest_rights if p["status"] == "ok"]
    if any(p["hidden"] for p in checked if p["kind"] in RIGHTS_KINDS):
        verdict: Verdict = "bad"
    elif checked:
        verdict = "good"
    elif latest_rights:
        verdict = "warn"
    else:
        verdict = "none"
        facts.append(Fact(t("broker.pages.none_fact", lang)))
    table = None
    if latest_rights:
        table = Table(tuple(t(f"broker.col.{c}", lang) for c in ("kind", "url", "hidden", "clicks", "check")),
                      tuple((p["kind"], p["url"], value_text("yes" if p["hidden"] else "no", lang),
                             p["clicks_from_home"], Link(f"#{p['id']}", row_url("broker_pages", p["id"])))
                            for p in latest_rights))
    sections = [Section("pages", t("broker.pages.heading", lang), verdict, t(f"broker.pages.{verdict}", lang),
                        tuple(facts), table)]
    gpc = next((p for p in pages if p["kind"] == "gpc"), None)
    if gpc is None:
        gpc_verdict: Verdict = "none"
        gpc_fact = Fact(t("broker.gpc.unmeasured", lang))
    else:
        link = (Link(t("broker.page_row", lang), row_url("broker_pages", gpc["id"])),)
        if gpc["gpc"] == "true":
            gpc_verdict, text = "good", t("broker.gpc.true", lang, updated=gpc["gpc_last_update"] or "?")
        elif gpc["gpc"] == "false":
            gpc_verdict, text = "bad", t("broker.gpc.false", lang)
        else:
            gpc_verdict, text = "warn", t("broker.gpc.missing", lang, value=gpc["gpc"] or gpc["status"] or "?")
        gpc_fact = Fact(text, link)
    sections.append(Section("gpc", t("broker.gpc.heading", lang), gpc_verdict, t(f"broker.gpc.{gpc_verdict}", lang),
                            (gpc_fact,)))
    return sections


def metrics_section(conn: sqlite3.Connection, registrations: list[dict], lang: str) -> Section | None:
    """What the newest registration that reported figures said about consumer requests (absent: no section)."""
    for r in registrations:  # newest first
        metrics = rows(conn, "SELECT request_type, measure, value FROM broker_metrics WHERE broker_id = ? "
                             "ORDER BY request_type, measure LIMIT ?", (r["id"], MAX_METRICS))
        if metrics:
            table = Table(tuple(t(f"broker.col.{c}", lang) for c in ("request", "measure", "number")),
                          tuple((m["request_type"], m["measure"],
                                 format_number(m["value"], lang) if isinstance(m["value"], (int, float)) else None)
                                for m in metrics))
            fact = Fact(t("broker.metrics.fact", lang, registry=registry_name(r["registry"], lang), year=r["year"]),
                        (Link(t("broker.row", lang), rows_url("broker_metrics", broker_id=r["id"])),))
            return Section("requests", t("broker.metrics.heading", lang), "none", t("broker.metrics.verdict", lang),
                           (fact,), table)
    return None


def findings_section(conn: sqlite3.Connection, ids: list[int], lang: str) -> Section:
    marks = ",".join("?" * len(ids))
    found = rows(conn, f"SELECT id, severity, title FROM findings WHERE broker_id IN ({marks}) "
                       f"ORDER BY {by_severity()}, "
                       f"id LIMIT ?", (*ids, MAX_FINDINGS))
    if found:
        facts = tuple(Fact(t("broker.findings.fact", lang, severity=f["severity"] or "?", title=f["title"] or ""),
                           (Link(t("broker.finding", lang), row_url("findings", f["id"])),)) for f in found)
        verdict: Verdict = "bad" if any(f["severity"] in ("high", "medium") for f in found) else "warn"
        return Section("findings", t("broker.findings.heading", lang), verdict,
                       t("broker.findings.bad", lang, count=len(found)), facts)
    audited = conn.execute("SELECT 1 FROM crawls WHERE kind = 'audit' LIMIT 1").fetchone() is not None
    verdict = "good" if audited else "none"
    return Section("findings", t("broker.findings.heading", lang), verdict, t(f"broker.findings.{verdict}", lang),
                   (Fact(t(f"broker.findings.{verdict}_fact", lang)),))
