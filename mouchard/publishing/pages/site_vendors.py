"""The site page's section "What vendors declare and what they do": per consent phase and IAB TCF vendor, what the
vendor declares in the Global Vendor List next to what it did (the `vendor_conduct` rollup of the page's crawl).

One query reads the rows, by `vendor_conduct`'s (crawl_id, site, phase, vendor_id) unique index, each with the id of
the vendor's `vendors` row (one lookup per row, by `vendor_lists.version` and `vendors`' (vendor_list_id, vendor_id)
index). Every statement links to the rows that prove it (the row's `evidence`, split by table) and to the vendor's
declaration. Vendor names and cookie names come from the GVL and from crawled pages: they are only ever text.
The company page reuses `gvl_facts` for "declared in the GVL as vendor N".
"""

from __future__ import annotations

import sqlite3

from mouchard.publishing import i18n
from mouchard.publishing.pages.common import PHASES, cut, json_list, row_url, rows_url
from mouchard.publishing.pages.model import Fact, Link, Section, Table
from mouchard.publishing.pages.site_context import MAX_ID_FILTER, MAX_ROWS, Context
from mouchard.publishing.pages.site_text import MESSAGES as SITE_MESSAGES
from mouchard.storage.schema import BY_NAME

MAX_CONDUCT = 500  # vendor_conduct rows of one site in one crawl read (phases x vendors: a few hundred at most)
MAX_LIST = 20  # cookie names, hosts or purposes named in one sentence
# A vendor's verdicts, worst first: a vendor seen in several phases is counted once, by its worst.
VERDICTS = ("without-basis", "beyond-declared", "not-comparable", "as-declared")
BAD = ("without-basis", "beyond-declared")
# Which evidence tables prove each kind of fact (the row's evidence has them all; a fact links to its own).
PROOF = {
    "undisclosed_cookies": ("cookies",),
    "undisclosed_storage": ("storage_items",),
    "longer_cookies": ("cookies", "storage_items"),
    "undisclosed_domains": ("requests",),
    "purposes_without_basis": ("consent", "requests", "rtb"),
    "forbidden_legitimate_interest": ("consent",),
    "precise_geo_without_opt_in": ("rtb", "requests"),
    "not_in_cmp_list": ("consent", "requests"),
    "deleted": ("requests",),  # it was called: the requests to it
}

MESSAGES: dict[str, dict[str, str]] = {
    "site.vendors.heading": {"fr": "Ce que les vendeurs déclarent et ce qu'ils font",
                             "en": "What vendors declare and what they do"},
    "site.vendors.bad": {"fr": "Au-delà de leurs déclarations", "en": "Beyond their declarations"},
    "site.vendors.warn": {"fr": "Rien à comparer", "en": "Nothing to compare"},
    "site.vendors.good": {"fr": "Conformes à leurs déclarations", "en": "As declared"},
    "site.vendors.no_list": {
        "fr": "Aucune version de la liste des vendeurs de l'IAB (GVL) n'est enregistrée dans cette base : lancez "
              "mouchard vendors fetch, puis mouchard classify.",
        "en": "No version of the IAB's Global Vendor List (GVL) is recorded in this database: run mouchard vendors "
              "fetch, then mouchard classify."},
    "site.vendors.no_rows": {
        "fr": "Aucun vendeur du GVL n'a été reconnu dans les visites de ce site de cette exploration (ou la "
              "comparaison n'a pas été construite : lancez mouchard classify).",
        "en": "No GVL vendor was recognised in this crawl's visits of this site (or the comparison was not built: "
              "run mouchard classify)."},
    "site.vendors.count": {
        "fr": "{n} vendeur du GVL (version {versions}) reconnu dans les visites de ce site : {without} sans base "
              "légale, {beyond} au-delà de ses déclarations, {ok} conforme, {other} sans déclaration à comparer.|"
              "{n} vendeurs du GVL (version {versions}) reconnus dans les visites de ce site : {without} sans base "
              "légale, {beyond} au-delà de leurs déclarations, {ok} conformes, {other} sans déclaration à comparer.",
        "en": "{n} GVL vendor (version {versions}) recognised in this site's visits: {without} without a legal "
              "basis, {beyond} beyond its declaration, {ok} as declared, {other} with no disclosure to compare.|"
              "{n} GVL vendors (version {versions}) recognised in this site's visits: {without} without a legal "
              "basis, {beyond} beyond their declarations, {ok} as declared, {other} with no disclosure to compare."},
    "site.vendors.more": {
        "fr": "Non montrés ici : {facts} autre(s) constat(s) et {rows} autre(s) ligne(s) du tableau ; toutes les "
              "comparaisons sont dans les lignes liées.",
        "en": "Not shown here: {facts} more statement(s) and {rows} more table row(s); every comparison is in the "
              "rows linked."},
    "site.vendors.fact": {"fr": "{vendor} (vendeur n° {id}, {phase}) : {what}.",
                          "en": "{vendor} (vendor {id}, {phase}): {what}."},
    "site.vendors.undisclosed_cookies": {"fr": "cookies que sa déclaration ne mentionne pas : {names}",
                                         "en": "cookies its disclosure does not list: {names}"},
    "site.vendors.undisclosed_storage": {"fr": "stockage du navigateur que sa déclaration ne mentionne pas : {names}",
                                         "en": "browser storage its disclosure does not list: {names}"},
    "site.vendors.longer_cookies": {"fr": "cookies gardés plus longtemps que déclaré : {items}",
                                    "en": "cookies kept longer than declared: {items}"},
    "site.vendors.longer_cookie": {"fr": "{name} {days} jours au lieu de {declared}",
                                   "en": "{name} {days} days instead of {declared}"},
    "site.vendors.longer_cookie.session": {"fr": "{name} {days} jours alors qu'il est déclaré comme cookie de session",
                                           "en": "{name} {days} days, declared as a session cookie"},
    "site.vendors.undisclosed_domains": {"fr": "domaines contactés que sa déclaration ne liste pas : {hosts}",
                                         "en": "hosts contacted that its disclosure does not list: {hosts}"},
    "site.vendors.purposes_without_basis": {
        "fr": "a reçu des données pour des finalités que la chaîne TC en vigueur n'autorisait ni par consentement ni "
              "par intérêt légitime : {purposes}",
        "en": "received data for purposes the TC string in force allowed neither by consent nor by legitimate "
              "interest: {purposes}"},
    "site.vendors.forbidden_legitimate_interest": {
        "fr": "intérêt légitime signalé pour des finalités où la politique du TCF exige le consentement : {purposes}",
        "en": "legitimate interest signalled for purposes where TCF policy requires consent: {purposes}"},
    "site.vendors.precise_geo_without_opt_in": {
        "fr": "position précise envoyée dans {n} requête(s) d'enchère sans accord pour la géolocalisation précise "
              "(fonctionnalité spéciale 1)",
        "en": "precise coordinates sent in {n} bid request(s) without opt-in to precise geolocation "
              "(special feature 1)"},
    "site.vendors.not_in_cmp_list": {"fr": "appelé alors que le bandeau (CMP) ne le compte pas parmi ses vendeurs",
                                     "en": "called although the CMP does not list it among its vendors"},
    "site.vendors.deleted": {"fr": "appelé alors que le GVL le marque supprimé",
                             "en": "called although the GVL marks it deleted"},
    "site.vendors.verdict.as-declared": {"fr": "conforme", "en": "as declared"},
    "site.vendors.verdict.beyond-declared": {"fr": "au-delà de ses déclarations", "en": "beyond its declaration"},
    "site.vendors.verdict.without-basis": {"fr": "sans base légale", "en": "without a legal basis"},
    "site.vendors.verdict.not-comparable": {"fr": "pas de déclaration à comparer", "en": "no disclosure to compare"},
    "site.vendors.consent.consent": {"fr": "consentement", "en": "consent"},
    "site.vendors.consent.legitimate_interest": {"fr": "intérêt légitime", "en": "legitimate interest"},
    "site.vendors.consent.none": {"fr": "aucun", "en": "none"},
    "site.vendors.consent.no_string": {"fr": "pas de chaîne TC", "en": "no TC string"},
    "site.vendors.matched.disclosure-domain": {"fr": "domaine déclaré", "en": "declared domain"},
    "site.vendors.matched.tc-string": {"fr": "chaîne TC", "en": "TC string"},
    "site.vendors.matched.bidder": {"fr": "code d'enchérisseur", "en": "bidder code"},
    "site.vendors.matched.eid": {"fr": "identifiant utilisateur (eid)", "en": "user id (eid)"},
    "site.vendors.matched.entity": {"fr": "entreprise des listes de traceurs", "en": "tracker-list company"},
    "site.vendors.matched.known-host": {"fr": "hôte connu", "en": "known host"},
    "site.vendors.link.conduct": {"fr": "la comparaison", "en": "the comparison"},
    "site.vendors.link.declared": {"fr": "sa déclaration (GVL)", "en": "its declaration (GVL)"},
    "site.vendors.link.rows": {"fr": "les comparaisons", "en": "the comparisons"},
    "site.vendors.link.lists": {"fr": "les versions du GVL", "en": "the GVL versions"},
    "site.vendors.evidence.cookies": {"fr": "les cookies", "en": "the cookies"},
    "site.vendors.evidence.storage_items": {"fr": "le stockage", "en": "the storage"},
    "site.vendors.evidence.requests": {"fr": "les requêtes", "en": "the requests"},
    "site.vendors.evidence.consent": {"fr": "la chaîne TC", "en": "the TC string"},
    "site.vendors.evidence.rtb": {"fr": "les enchères", "en": "the bids"},
    "site.vendors.evidence.other": {"fr": "les preuves ({table})", "en": "the evidence ({table})"},
    "site.vendors.col.vendor": {"fr": "Vendeur", "en": "Vendor"},
    "site.vendors.col.id": {"fr": "N° GVL", "en": "GVL id"},
    "site.vendors.col.phase": {"fr": "Phase", "en": "Phase"},
    "site.vendors.col.matched": {"fr": "Reconnu par", "en": "Recognised by"},
    "site.vendors.col.consent": {"fr": "Base en vigueur", "en": "Basis in force"},
    "site.vendors.col.requests": {"fr": "Requêtes", "en": "Requests"},
    "site.vendors.col.cookies": {"fr": "Cookies", "en": "Cookies"},
    "site.vendors.col.verdict": {"fr": "Verdict", "en": "Verdict"},
    # the company page: the GVL declarations of vendors matched to the company
    "company.gvl.declared": {"fr": "Déclaré dans le GVL (version {version}) comme vendeur n° {id}, sous le nom "
                                   "« {name} ».",
                             "en": "Declared in the GVL (version {version}) as vendor {id}, under the name “{name}”."},
    "company.gvl.deleted": {"fr": "Déclaré dans le GVL (version {version}) comme vendeur n° {id}, sous le nom "
                                  "« {name} », et marqué supprimé.",
                            "en": "Declared in the GVL (version {version}) as vendor {id}, under the name “{name}”, "
                                  "and marked deleted."},
}
i18n.register(SITE_MESSAGES)  # the purposes' and phases' names, also when the company page imports this alone
i18n.register(MESSAGES)

_COLUMNS = ("id", "phase", "vendor_id", "vendor_name", "vendor_list_version", "matched_by", "requests", "cookies",
            "consent", "legitimate_interest", "undisclosed_cookies", "undisclosed_storage", "longer_cookies", "undisclosed_domains",
            "purposes_without_basis", "forbidden_legitimate_interest", "precise_geo_without_opt_in",
            "not_in_cmp_list", "deleted", "verdict", "evidence")


def has_table(conn: sqlite3.Connection, name: str) -> bool:
    """Whether the database has the table (one built before the vendor tables has not)."""
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone() is not None


def conduct_rows(conn: sqlite3.Connection, crawl_id: int, site: str) -> list[dict]:
    """The `vendor_conduct` rows of one crawl and site, each with `declared_id` (its `vendors` row, or None)."""
    columns = ", ".join(f"vc.{c}" for c in _COLUMNS)
    cursor = conn.execute(f"""
        SELECT {columns},
               (SELECT vd.id FROM vendor_lists AS vl JOIN vendors AS vd
                       ON vd.vendor_list_id = vl.id AND vd.vendor_id = vc.vendor_id
                WHERE vl.version = vc.vendor_list_version ORDER BY vl.id DESC LIMIT 1) AS declared_id
        FROM vendor_conduct AS vc
        WHERE vc.crawl_id = ? AND vc.site = ?
        ORDER BY vc.phase, vc.vendor_id LIMIT ?""", (crawl_id, site, MAX_CONDUCT))
    names = [d[0] for d in cursor.description]
    found = [dict(zip(names, row)) for row in cursor.fetchall()]
    order = {phase: i for i, phase in enumerate(PHASES)}
    return sorted(found, key=lambda r: (order.get(r["phase"], len(order)), str(r["phase"]), r["vendor_id"] or 0))


def vendors_section(ctx: Context) -> Section:
    """What each GVL vendor seen on the site declares next to what it did, per phase: "bad" when one went beyond
    its declaration or had no legal basis, "good" when every vendor compared did only what it declares, "none"
    when no vendor list was fetched or no row was built."""
    heading = ctx.t("site.vendors.heading")
    # "id > 0": a rowid range, read as a SEARCH (the page's queries all start from an index; this one stops at one row)
    if not has_table(ctx.conn, "vendor_lists") or ctx.conn.execute(
            "SELECT 1 FROM vendor_lists WHERE id > 0 LIMIT 1").fetchone() is None:
        return Section("vendors", heading, "none", ctx.t("site.not_measured"), (Fact(ctx.t("site.vendors.no_list")),))
    rows = conduct_rows(ctx.conn, ctx.crawl_id, ctx.site) if has_table(ctx.conn, "vendor_conduct") else []
    if not rows:
        return Section("vendors", heading, "none", ctx.t("site.not_measured"),
                       (Fact(ctx.t("site.vendors.no_rows"), (Link(ctx.t("site.vendors.link.lists"),
                                                                  rows_url("vendor_lists")),)),))
    worst: dict[int, str] = {}
    for row in rows:
        verdict = _verdict(row)
        known = worst.get(row["vendor_id"])
        worst[row["vendor_id"]] = verdict if known is None else min(known, verdict, key=VERDICTS.index)
    counts = {v: sum(1 for w in worst.values() if w == v) for v in VERDICTS}
    versions = ", ".join(str(v) for v in sorted({r["vendor_list_version"] for r in rows
                                                 if isinstance(r["vendor_list_version"], int)})) or "?"
    facts = [Fact(ctx.plural("site.vendors.count", len(worst), versions=versions,
                             without=ctx.n(counts["without-basis"]), beyond=ctx.n(counts["beyond-declared"]),
                             ok=ctx.n(counts["as-declared"]), other=ctx.n(counts["not-comparable"])),
                  (Link(ctx.t("site.vendors.link.rows"), rows_url("vendor_conduct", crawl_id=ctx.crawl_id,
                                                                  site=ctx.site)),))]
    for row in rows:
        facts += _beyond(ctx, row)
    table = Table(columns=tuple(ctx.t(f"site.vendors.col.{c}") for c in (
        "vendor", "id", "phase", "matched", "consent", "requests", "cookies", "verdict")),
        rows=tuple((Link(cut(row["vendor_name"]) or "?", row_url("vendors", row["declared_id"]))
                    if row["declared_id"] is not None else cut(row["vendor_name"]) or "?",
                    row["vendor_id"], ctx.phase(row["phase"]), _matched(ctx, row["matched_by"]),
                    _basis(ctx, row), ctx.n(row["requests"]), ctx.n(row["cookies"]),
                    Link(_verdict_text(ctx, row), row_url("vendor_conduct", row["id"])))
                   for row in rows[:MAX_ROWS]))
    hidden_facts, hidden_rows = max(len(facts) - MAX_ROWS, 0), max(len(rows) - MAX_ROWS, 0)
    facts = facts[:MAX_ROWS]
    if hidden_facts or hidden_rows:  # never cut silently: say how much, and link to all of it
        facts.append(Fact(ctx.t("site.vendors.more", facts=ctx.n(hidden_facts), rows=ctx.n(hidden_rows)),
                          (Link(ctx.t("site.vendors.link.rows"), rows_url("vendor_conduct", crawl_id=ctx.crawl_id,
                                                                          site=ctx.site)),)))
    if counts["without-basis"] or counts["beyond-declared"]:
        verdict = "bad"
    elif counts["as-declared"]:
        verdict = "good"
    else:
        verdict = "warn"  # every vendor seen publishes no disclosure: nothing was compared, nothing is "good"
    return ctx.section("vendors", verdict, facts, table=table)


def _verdict(row: dict) -> str:
    """The row's verdict, made worse when its own columns say more than it does (fail closed on a stale row)."""
    verdict = row["verdict"] if row["verdict"] in VERDICTS else "not-comparable"
    if _ints(row["purposes_without_basis"]) or _ints(row["forbidden_legitimate_interest"]):
        return "without-basis"
    if verdict != "without-basis" and (
            _strings(row["undisclosed_cookies"]) or _strings(row["undisclosed_storage"]) or _dicts(row["longer_cookies"])
            or _strings(row["undisclosed_domains"]) or _positive(row["precise_geo_without_opt_in"])
            or row["not_in_cmp_list"] == 1 or row["deleted"] == 1):
        return "beyond-declared"
    return verdict


def _positive(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _beyond(ctx: Context, row: dict) -> list[Fact]:
    """One sentence per thing the vendor did beyond its declaration, each with the rows that prove it."""
    whats: list[tuple[str, str]] = []
    cookies = _strings(row["undisclosed_cookies"])
    if cookies:
        whats.append(("undisclosed_cookies", ctx.t("site.vendors.undisclosed_cookies", names=_join(ctx, cookies))))
    stored = _strings(row["undisclosed_storage"])
    if stored:
        whats.append(("undisclosed_storage", ctx.t("site.vendors.undisclosed_storage", names=_join(ctx, stored))))
    longer = _dicts(row["longer_cookies"])[:MAX_LIST]
    if longer:
        items = ", ".join(ctx.t("site.vendors.longer_cookie" if _days(ctx, item.get("declared_days"))
                                else "site.vendors.longer_cookie.session", name=cut(item.get("name")) or "?",
                                days=_days(ctx, item.get("days")) or "?",
                                declared=_days(ctx, item.get("declared_days")))
                          for item in longer)
        whats.append(("longer_cookies", ctx.t("site.vendors.longer_cookies", items=items)))
    hosts = _strings(row["undisclosed_domains"])
    if hosts:
        whats.append(("undisclosed_domains", ctx.t("site.vendors.undisclosed_domains", hosts=_join(ctx, hosts))))
    for column in ("purposes_without_basis", "forbidden_legitimate_interest"):
        purposes = _ints(row[column])
        if purposes:
            whats.append((column, ctx.t(f"site.vendors.{column}", purposes=_purposes(ctx, purposes))))
    if _positive(row["precise_geo_without_opt_in"]):
        whats.append(("precise_geo_without_opt_in", ctx.t("site.vendors.precise_geo_without_opt_in",
                                                          n=ctx.n(row["precise_geo_without_opt_in"]))))
    for column in ("not_in_cmp_list", "deleted"):
        if row[column] == 1:
            whats.append((column, ctx.t(f"site.vendors.{column}")))
    facts = []
    for kind, what in whats:
        text = ctx.t("site.vendors.fact", vendor=cut(row["vendor_name"]) or "?", id=row["vendor_id"],
                     phase=ctx.phase(row["phase"]), what=what)
        links = _evidence_links(ctx, row["evidence"], PROOF[kind])
        links += (Link(ctx.t("site.vendors.link.conduct"), row_url("vendor_conduct", row["id"])),)
        if row["declared_id"] is not None:
            links += (Link(ctx.t("site.vendors.link.declared"), row_url("vendors", row["declared_id"])),)
        facts.append(Fact(text, links))
    return facts


def _evidence_links(ctx: Context, evidence: object, tables: tuple[str, ...]) -> tuple[Link, ...]:
    """Links to the evidence rows of `tables` (all the row's evidence when it names none of them), one per table.
    Only tables of the schema and integer ids go into a link."""
    if not tables:
        return ()
    by_table: dict[str, list[int]] = {}
    for item in json_list(evidence):
        if not isinstance(item, dict):
            continue
        table, row_id = item.get("table"), item.get("id")
        if isinstance(table, str) and table in BY_NAME and isinstance(row_id, int) and not isinstance(row_id, bool):
            ids = by_table.setdefault(table, [])
            if row_id not in ids:
                ids.append(row_id)
    chosen = [t for t in tables if t in by_table] or sorted(by_table)
    links = []
    for table in chosen:
        key = f"site.vendors.evidence.{table}"
        text = ctx.t(key) if i18n.has(key) else ctx.t("site.vendors.evidence.other", table=table)
        links.append(Link(text, rows_url(table, id__in=",".join(str(i) for i in by_table[table][:MAX_ID_FILTER]))))
    return tuple(links)


def _strings(value: object) -> list[str]:
    """The non-empty strings of a JSON list column, each once, cut as page text."""
    return list(dict.fromkeys(cut(item) for item in json_list(value) if isinstance(item, str) and item))


def _ints(value: object) -> list[int]:
    """The integers of a JSON list column (purpose ids), each once, sorted; true and "4" are not integers."""
    return sorted({item for item in json_list(value) if isinstance(item, int) and not isinstance(item, bool)})


def _dicts(value: object) -> list[dict]:
    """The objects of a JSON list column (`longer_cookies`)."""
    return [item for item in json_list(value) if isinstance(item, dict)]


def _join(ctx: Context, names: list[str]) -> str:
    """Names for a sentence, at most MAX_LIST, then "and N more"."""
    if len(names) <= MAX_LIST:
        return ", ".join(names)
    return ctx.t("site.and_more", names=", ".join(names[:MAX_LIST]), n=ctx.n(len(names) - MAX_LIST))


def _days(ctx: Context, value: object) -> str:
    """Days as the reader writes them; "" for none or 0, a session item (the rollup writes 0 for one declared so)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return ctx.n(round(value))
    return ""


def _purposes(ctx: Context, purposes: list[int]) -> str:
    """Purposes in words: "personalised advertising (4)"."""
    names = [f"{ctx.t(f'site.purpose.{p}')} ({p})" if i18n.has(f"site.purpose.{p}")
             else ctx.t("site.purpose.other", id=p) for p in purposes[:MAX_LIST]]
    return ", ".join(names)


def _matched(ctx: Context, value: object) -> str:
    ways = []
    for way in _strings(value):
        key = f"site.vendors.matched.{way}"
        ways.append(ctx.t(key) if i18n.has(key) else way)
    return ", ".join(ways) or "—"


def _basis(ctx: Context, row: dict) -> str:
    """The legal basis the TC string in force gave the vendor."""
    if row["consent"] == 1:
        return ctx.t("site.vendors.consent.consent")
    if row["legitimate_interest"] == 1:
        return ctx.t("site.vendors.consent.legitimate_interest")
    if row["consent"] is None and row["legitimate_interest"] is None:
        return ctx.t("site.vendors.consent.no_string")
    return ctx.t("site.vendors.consent.none")


def _verdict_text(ctx: Context, row: dict) -> str:
    return ctx.t(f"site.vendors.verdict.{_verdict(row)}")


# -- the company page ---------------------------------------------------------------------------------------------

def gvl_facts(conn: sqlite3.Connection, entity: str, lang: str) -> list[Fact]:
    """"Declared in the GVL as vendor N" for each vendor the newest recorded GVL matched to the company
    (`vendors.tracker_entity`, by its index), each linked to its `vendors` row; none without the tables."""
    if not has_table(conn, "vendors") or not has_table(conn, "vendor_lists"):
        return []
    found = conn.execute("""SELECT vd.id, vd.vendor_id, vd.name, vd.deleted_date, vl.version, vd.vendor_list_id
                            FROM vendors AS vd JOIN vendor_lists AS vl ON vl.id = vd.vendor_list_id
                            WHERE vd.tracker_entity = ?
                            ORDER BY vd.vendor_list_id DESC, vd.vendor_id LIMIT ?""", (entity, MAX_ROWS)).fetchall()
    newest = found[0][5] if found else None
    facts = []
    for row_id, vendor_id, name, deleted, version, list_id in found:
        if list_id != newest:  # older versions' rows are the same vendors: the newest says what it declares now
            continue
        key = "company.gvl.deleted" if deleted else "company.gvl.declared"
        facts.append(Fact(i18n.t(key, lang, version=version, id=vendor_id, name=cut(name) or "?"),
                          (Link(i18n.t("site.vendors.link.declared", lang), row_url("vendors", row_id)),)))
    return facts
