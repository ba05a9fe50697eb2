"""The company page's sentences in French and English (registered at import), and the helpers that write numbers
and crawled names into them, shared with the app page.

A message holding "|" is a pair "one|other" chosen by a count (`i18n.plural`, for a noun or for a sentence whose verb
agrees): French puts 0 and 1 in the singular, English only 1. Placeholders are filled with numbers already written
for the language and with crawled names as plain text (the template escapes them).
"""

from __future__ import annotations

from mouchard.publishing.i18n import register, t
from mouchard.publishing.pages.common import cut

ROWS = 50  # rows of a table on a page; the link under it leads to all of them

MESSAGES = {
    # Counted nouns: "one|other", {n} is the number as its reader writes it.
    "company.n.site": {"fr": "{n} site|{n} sites", "en": "{n} site|{n} sites"},
    "company.n.visit": {"fr": "{n} visite|{n} visites", "en": "{n} visit|{n} visits"},
    "company.n.request": {"fr": "{n} requête|{n} requêtes", "en": "{n} request|{n} requests"},
    "company.n.app": {"fr": "{n} app|{n} apps", "en": "{n} app|{n} apps"},
    "company.n.flow": {"fr": "{n} échange|{n} échanges", "en": "{n} exchange|{n} exchanges"},
    "company.n.cookie": {"fr": "{n} cookie|{n} cookies", "en": "{n} cookie|{n} cookies"},
    "company.n.name": {"fr": "{n} nom|{n} noms", "en": "{n} name|{n} names"},
    "company.n.day": {"fr": "{n} jour|{n} jours", "en": "{n} day|{n} days"},
    "company.n.value": {"fr": "{n} valeur personnelle|{n} valeurs personnelles",
                        "en": "{n} personal value|{n} personal values"},
    "company.n.position": {"fr": "{n} position|{n} positions", "en": "{n} position|{n} positions"},
    "company.n.metre": {"fr": "{n} mètre|{n} mètres", "en": "{n} metre|{n} metres"},
    "company.n.event": {"fr": "{n} événement|{n} événements", "en": "{n} event|{n} events"},
    "company.n.company": {"fr": "{n} entreprise|{n} entreprises", "en": "{n} company|{n} companies"},
    "company.n.sync": {"fr": "{n} synchronisation|{n} synchronisations", "en": "{n} sync|{n} syncs"},
    "company.n.domain": {"fr": "{n} domaine|{n} domaines", "en": "{n} domain|{n} domains"},
    "company.n.finding": {"fr": "{n} constat|{n} constats", "en": "{n} finding|{n} findings"},
    "company.verdict.none": {"fr": "Non mesuré", "en": "Not measured"},
    "company.cut": {"fr": "Les {n} premières lignes ; le lien mène à toutes.",
                    "en": "The first {n} rows; the link leads to all of them."},

    "company.title": {"fr": "{entity} : ce que mouchard a vu", "en": "{entity}: what mouchard saw"},
    "company.lede": {"fr": "{entity} est une entreprise que les listes de traceurs classent ainsi : {categories}.",
                     "en": "The tracker lists class {entity} as: {categories}."},
    "company.lede.unclassed": {"fr": "{entity} apparaît dans les données de mouchard ; aucune liste de traceurs "
                                     "ne le classe.",
                               "en": "{entity} appears in mouchard's data; no tracker list classes it."},

    "company.sites.heading": {"fr": "Sites où il a été vu", "en": "Sites where it was seen"},
    "company.sites.fact": {"fr": "{entity} a été vu sur {sites}, au cours de {visits} et {requests}.",
                           "en": "{entity} was seen on {sites}, in {visits} and {requests}."},
    "company.sites.absent": {"fr": "{entity} n'a été vu sur aucun des sites visités.",
                             "en": "{entity} was not seen on any site visited."},
    "company.sites.unmeasured": {"fr": "Aucun site n'a été visité dans cette base.",
                                 "en": "No site was visited in this database."},
    "company.sites.verdict.bad": {"fr": "Vu sur {sites}", "en": "Seen on {sites}"},
    "company.sites.verdict.good": {"fr": "Absent des sites", "en": "Not on any site"},
    "company.link.requests": {"fr": "ses requêtes", "en": "its requests"},
    "company.col.site": {"fr": "Site", "en": "Site"},
    "company.col.visits": {"fr": "Visites", "en": "Visits"},
    "company.col.requests": {"fr": "Requêtes", "en": "Requests"},

    "company.apps.heading": {"fr": "Apps qui lui ont envoyé des données", "en": "Apps that sent it data"},
    "company.apps.fact": {"fr": "{entity} a reçu {flows} de {apps}.", "en": "{entity} received {flows} from {apps}."},
    "company.apps.absent": {"fr": "{entity} n'a reçu aucun échange des apps capturées.",
                            "en": "{entity} received no exchange from the apps captured."},
    "company.apps.unmeasured": {"fr": "Aucune app n'a été capturée dans cette base.",
                                "en": "No app was captured in this database."},
    "company.apps.verdict.bad": {"fr": "Reçoit des données de {apps}", "en": "Receives data from {apps}"},
    "company.apps.verdict.good": {"fr": "Absent des apps", "en": "Not in any app"},
    "company.link.flows": {"fr": "ses échanges", "en": "its exchanges"},
    "company.col.app": {"fr": "App", "en": "App"},
    "company.col.flows": {"fr": "Échanges", "en": "Exchanges"},

    "company.cookies.heading": {"fr": "Cookies déposés", "en": "Cookies set"},
    "company.cookies.fact": {"fr": "{entity} a déposé {cookies} sous {names}.",
                             "en": "{entity} set {cookies} under {names}."},
    "company.cookies.identifiers": {"fr": "{cookies} a l'allure d'un identifiant : longue durée, une valeur "
                                          "différente dans chaque profil neuf.|{cookies} ont l'allure d'un "
                                          "identifiant : longue durée, une valeur différente dans chaque profil "
                                          "neuf.",
                                    "en": "{cookies} looks like an identifier: long-lived, with a value that differs "
                                          "in every fresh profile.|{cookies} look like identifiers: long-lived, with "
                                          "a value that differs in every fresh profile."},
    "company.cookies.lifetime": {"fr": "La durée de vie la plus longue demandée est de {days}.",
                                 "en": "The longest lifetime asked for is {days}."},
    "company.cookies.absent": {"fr": "{entity} n'a déposé aucun cookie.", "en": "{entity} set no cookie."},
    "company.cookies.verdict.bad": {"fr": "Identifiants déposés", "en": "Identifiers set"},
    "company.cookies.verdict.warn": {"fr": "Cookies déposés", "en": "Cookies set"},
    "company.cookies.verdict.good": {"fr": "Aucun cookie", "en": "No cookie"},
    "company.link.cookies": {"fr": "ses cookies", "en": "its cookies"},
    "company.link.identifier_cookies": {"fr": "les identifiants", "en": "the identifiers"},
    "company.col.cookie": {"fr": "Nom du cookie", "en": "Cookie name"},
    "company.col.cookies": {"fr": "Cookies", "en": "Cookies"},
    "company.col.identifiers": {"fr": "Identifiants", "en": "Identifiers"},
    "company.col.lifetime": {"fr": "Durée la plus longue (jours)", "en": "Longest lifetime (days)"},
    "company.col.before_consent": {"fr": "Avant consentement", "en": "Before consent"},

    "company.consent.heading": {"fr": "Avant et après le consentement", "en": "Before and after consent"},
    "company.consent.initial": {"fr": "Avant tout choix, {entity} était présent dans {visits}.",
                                "en": "Before any choice, {entity} was present in {visits}."},
    "company.consent.reject": {"fr": "Après un refus, {entity} était présent dans {visits}.",
                               "en": "After a refusal, {entity} was present in {visits}."},
    "company.consent.accept": {"fr": "Après acceptation, {entity} était présent dans {visits}.",
                               "en": "After acceptance, {entity} was present in {visits}."},
    "company.consent.gpc": {"fr": "Avec le signal GPC (refus envoyé par le navigateur), {entity} était présent dans "
                                  "{visits}.",
                            "en": "With the GPC signal (a refusal sent by the browser), {entity} was present in "
                                  "{visits}."},
    "company.consent.revoke": {"fr": "Après acceptation puis retrait du consentement, {entity} était présent dans "
                                     "{visits}.",
                               "en": "After accepting, then withdrawing consent, {entity} was present in {visits}."},
    "company.consent.second-site": {"fr": "Après un refus sur un autre site, {entity} était présent dans {visits}.",
                                    "en": "After a refusal on another site, {entity} was present in {visits}."},
    "company.consent.before": {"fr": "{cookies} de {entity} a été déposé avant tout consentement.|{cookies} de "
                                     "{entity} ont été déposés avant tout consentement.",
                               "en": "{cookies} of {entity} was set before any consent.|{cookies} of {entity} were "
                                     "set before any consent."},
    "company.consent.after_reject": {"fr": "{cookies} de {entity} a été déposé après le refus.|{cookies} de "
                                           "{entity} ont été déposés après le refus.",
                                     "en": "{cookies} of {entity} was set after the refusal.|{cookies} of {entity} "
                                           "were set after the refusal."},
    "company.consent.unmeasured": {"fr": "{entity} n'a pas été vu sur le web : rien à comparer entre les phases.",
                                   "en": "{entity} was not seen on the web: no phase to compare."},
    "company.consent.verdict.bad": {"fr": "Présent sans consentement", "en": "Present without consent"},
    "company.consent.verdict.good": {"fr": "Seulement après acceptation", "en": "Only after acceptance"},
    "company.link.before_consent": {"fr": "les cookies avant consentement", "en": "the cookies before consent"},
    "company.col.phase": {"fr": "Phase", "en": "Phase"},
    "company.phase.initial": {"fr": "sans choix", "en": "no choice"},
    "company.phase.reject": {"fr": "refus", "en": "reject"},
    "company.phase.accept": {"fr": "acceptation", "en": "accept"},
    "company.phase.gpc": {"fr": "GPC", "en": "GPC"},
    "company.phase.revoke": {"fr": "retrait", "en": "withdrawal"},
    "company.phase.second-site": {"fr": "second site", "en": "second site"},

    "company.leaks.heading": {"fr": "Identifiants et positions reçus", "en": "Identifiers and positions received"},
    "company.leaks.fact": {"fr": "{entity} a reçu {values} : {kinds}.", "en": "{entity} received {values}: {kinds}."},
    "company.leaks.positions": {"fr": "Il a reçu {positions}, la plus précise à {metres} de la position réelle.",
                                "en": "It received {positions}, the most precise {metres} from the true position."},
    "company.leaks.positions_unknown": {"fr": "Il a reçu {positions}, de précision inconnue.",
                                        "en": "It received {positions}, of unknown precision."},
    "company.leaks.absent": {"fr": "Aucun identifiant d'appareil, aucune position ni valeur personnelle plantée n'a "
                                   "été trouvé dans ce que {entity} a reçu.",
                             "en": "No device identifier, position or planted personal value was found in what "
                                   "{entity} received."},
    "company.leaks.verdict.bad": {"fr": "Identifiants reçus", "en": "Identifiers received"},
    "company.leaks.verdict.good": {"fr": "Aucun trouvé", "en": "None found"},
    "company.link.leaks": {"fr": "les fuites", "en": "the leaks"},
    "company.link.positions": {"fr": "les positions", "en": "the positions"},
    "company.col.kind": {"fr": "Nature", "en": "Kind"},
    "company.col.values": {"fr": "Valeurs", "en": "Values"},
    "company.col.precision": {"fr": "Meilleure précision (m)", "en": "Best precision (m)"},
    "company.col.encodings": {"fr": "Encodages", "en": "Encodings"},
    "company.col.third_party": {"fr": "Vers un tiers", "en": "To a third party"},

    "company.rtb.heading": {"fr": "Données personnelles dans les enchères", "en": "Personal data in bid requests"},
    "company.rtb.fact": {"fr": "{entity} a pris part à {events} d'enchères publicitaires, qui portait : {fields}.|"
                               "{entity} a pris part à {events} d'enchères publicitaires, qui portaient : {fields}.",
                         "en": "{entity} took part in {events} of ad auctions, which carried: {fields}.|{entity} took "
                               "part in {events} of ad auctions, which carried: {fields}."},
    "company.rtb.no_fields": {"fr": "{entity} a pris part à {events} d'enchères publicitaires, sans champ personnel "
                                    "relevé.",
                              "en": "{entity} took part in {events} of ad auctions, with no personal field found."},
    "company.rtb.absent": {"fr": "{entity} n'a pris part à aucune enchère observée.",
                           "en": "{entity} took part in no auction observed."},
    "company.rtb.verdict.bad": {"fr": "Champs personnels", "en": "Personal fields"},
    "company.rtb.verdict.warn": {"fr": "Enchères sans champ personnel", "en": "Auctions, no personal field"},
    "company.rtb.verdict.good": {"fr": "Aucune enchère", "en": "No auction"},
    "company.link.rtb": {"fr": "les événements", "en": "the events"},
    "company.col.field": {"fr": "Champ personnel", "en": "Personal field"},
    "company.col.events": {"fr": "Événements", "en": "Events"},

    "company.syncs.heading": {"fr": "Synchronisation d'identifiants", "en": "Identifier syncing"},
    "company.syncs.sent": {"fr": "{entity} a transmis ses identifiants à {companies} ({syncs}).",
                           "en": "{entity} passed its identifiers to {companies} ({syncs})."},
    "company.syncs.received": {"fr": "{entity} a reçu les identifiants de {companies} ({syncs}).",
                               "en": "{entity} received the identifiers of {companies} ({syncs})."},
    "company.syncs.absent": {"fr": "Aucun identifiant n'a été vu passer entre {entity} et une autre entreprise.",
                             "en": "No identifier was seen passing between {entity} and another company."},
    "company.syncs.verdict.bad": {"fr": "Identifiants partagés", "en": "Identifiers shared"},
    "company.syncs.verdict.good": {"fr": "Aucune synchronisation", "en": "No syncing"},
    "company.link.sent": {"fr": "les envois", "en": "sent"},
    "company.link.received": {"fr": "les réceptions", "en": "received"},
    "company.col.direction": {"fr": "Sens", "en": "Direction"},
    "company.col.company": {"fr": "Entreprise", "en": "Company"},
    "company.col.syncs": {"fr": "Synchronisations", "en": "Syncs"},
    "company.col.identifier_names": {"fr": "Noms des identifiants", "en": "Identifier names"},
    "company.direction.to": {"fr": "transmis à", "en": "passed to"},
    "company.direction.from": {"fr": "reçus de", "en": "received from"},

    "company.owner.heading": {"fr": "Propriétaire et listes", "en": "Owner and lists"},
    "company.owner.shipped": {"fr": "La liste livrée avec mouchard {version} attribue {domains} à {entity} (pays : "
                                    "{country}), dont {examples}.",
                              "en": "The list shipped with mouchard {version} attributes {domains} to {entity} "
                                    "(country: {country}), including {examples}."},
    "company.owner.not_shipped": {"fr": "La liste livrée avec mouchard {version} ne nomme pas {entity}.",
                                  "en": "The list shipped with mouchard {version} does not name {entity}."},
    "company.owner.lists": {"fr": "Dans cette base, ses lignes ont été classées par : {lists}.",
                            "en": "In this database, its rows were classed by: {lists}."},
    "company.owner.no_lists": {"fr": "Aucune de ses lignes lues ne dit quelle liste l'a classé.",
                               "en": "None of its rows read says which list classed it."},
    "company.owner.verdict.good": {"fr": "Nommé par une liste", "en": "Named by a list"},
    "company.owner.verdict.warn": {"fr": "Propriétaire non établi", "en": "Owner not established"},
    "company.unknown_country": {"fr": "inconnu", "en": "unknown"},
    "company.not_recorded": {"fr": "non enregistrée", "en": "not recorded"},
    "company.link.tracker_lists": {"fr": "les listes", "en": "the lists"},
    "company.col.list": {"fr": "Liste", "en": "List"},
    "company.col.version": {"fr": "Version", "en": "Version"},
    "company.col.licence": {"fr": "Licence", "en": "Licence"},
    "company.col.rule": {"fr": "Règle lue", "en": "Rule read"},

    "company.findings.heading": {"fr": "Constats qui le nomment", "en": "Findings that name it"},
    "company.findings.fact": {"fr": "{findings} nomme {entity} ; de gravité haute : {high}.|{findings} nomment "
                                    "{entity} ; de gravité haute : {high}.",
                              "en": "{findings} names {entity}; of high severity: {high}.|{findings} name {entity}; "
                                    "of high severity: {high}."},
    "company.findings.absent": {"fr": "Aucun constat des règles d'audit ne nomme {entity}.",
                                "en": "No finding of the audit rules names {entity}."},
    "company.findings.verdict.bad": {"fr": "Constats graves", "en": "Serious findings"},
    "company.findings.verdict.warn": {"fr": "Constats", "en": "Findings"},
    "company.findings.verdict.good": {"fr": "Aucun constat", "en": "No finding"},
    "company.col.severity": {"fr": "Gravité", "en": "Severity"},
    "company.col.title": {"fr": "Constat", "en": "Finding"},
    "company.col.subject": {"fr": "Concerne", "en": "About"},
    "company.col.row": {"fr": "Preuve", "en": "Evidence"},
    "company.link.finding": {"fr": "constat n° {id}", "en": "finding #{id}"},
}
# Identifier kinds (leaks.identifier: mouchard.identify) and tracker categories (tracker_category: the fixed
# vocabulary of mouchard.classification.lists.CATEGORIES) as readers name them; any other value is shown as stored.
KIND_LABELS = {
    "advertising_id": ("identifiant publicitaire", "advertising ID"),
    "idfv": ("identifiant d'éditeur iOS (IDFV)", "iOS vendor ID (IDFV)"),
    "android_id": ("identifiant Android", "Android ID"),
    "imei": ("IMEI", "IMEI"), "imsi": ("IMSI", "IMSI"),
    "serial": ("numéro de série", "serial number"),
    "wifi_mac": ("adresse MAC Wi-Fi", "Wi-Fi MAC address"),
    "bluetooth_mac": ("adresse MAC Bluetooth", "Bluetooth MAC address"),
    "ssid": ("nom du réseau Wi-Fi", "Wi-Fi network name"),
    "bssid": ("point d'accès Wi-Fi (BSSID)", "Wi-Fi access point (BSSID)"),
    "phone": ("numéro de téléphone", "phone number"),
    "email": ("adresse e-mail", "e-mail address"),
    "name": ("nom", "name"),
    "contact": ("contact du carnet d'adresses", "address-book contact"),
    "location": ("position", "position"),
    "typed_text": ("texte saisi", "typed text"), "typed_email": ("e-mail saisi", "typed e-mail"),
    "typed_password": ("mot de passe saisi", "typed password"), "typed_phone": ("téléphone saisi", "typed phone"),
    "typed_name": ("nom saisi", "typed name"),
}
CATEGORY_LABELS = {
    "advertising": ("publicité", "advertising"), "analytics": ("mesure d'audience", "analytics"),
    "social": ("réseau social", "social network"), "session-replay": ("enregistrement de session", "session replay"),
    "tag-manager": ("gestionnaire de balises", "tag manager"), "consent": ("gestion du consentement", "consent"),
    "customer-interaction": ("relation client", "customer interaction"), "identity": ("identité", "identity"),
    "attribution": ("attribution", "attribution"), "fingerprinting": ("empreinte", "fingerprinting"),
    "data-broker": ("courtier de données", "data broker"), "cdn": ("CDN", "CDN"),
    "embedded": ("contenu intégré", "embedded content"), "other": ("autre", "other"),
}
MESSAGES.update({f"company.kind.{kind}": {"fr": fr, "en": en} for kind, (fr, en) in KIND_LABELS.items()})
MESSAGES.update({f"company.category.{code}": {"fr": fr, "en": en} for code, (fr, en) in CATEGORY_LABELS.items()})
register(MESSAGES)



def cut_caption(total: int, lang: str) -> str:
    """A table's caption when it shows only the first ROWS of `total`."""
    return t("company.cut", lang, n=ROWS) if total > ROWS else ""


def kind_label(kind: object, lang: str) -> str:
    """An identifier kind as readers name it ("identifiant publicitaire"); an unknown kind as stored, cut."""
    return t(f"company.kind.{kind}", lang) if kind in KIND_LABELS else cut(kind)


def category_label(category: object, lang: str) -> str:
    """A tracker category as readers name it ("mesure d'audience"); an unknown one as stored, cut."""
    return t(f"company.category.{category}", lang) if category in CATEGORY_LABELS else cut(category)
