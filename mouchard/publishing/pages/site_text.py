"""The site page's sentences, in French and English (`mouchard.publishing.pages.site` registers them).

A message holding "|" is a pair "one|other" chosen by a count (`i18n.plural`): French puts 0 and 1 in the singular.
Placeholders are filled with numbers already formatted for the language, and with crawled names as plain text.
"""

from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    "site.title": {"fr": "Ce que mouchard a trouvé sur {site}", "en": "What mouchard found on {site}"},
    "site.lede": {"fr": "Exploration n° {crawl} du {date} : {visits} sur ce site ({phases}).",
                  "en": "Crawl {crawl} of {date}: {visits} on this site ({phases})."},
    "site.visits": {
        "fr": "{n} visite|{n} visites",
        "en": "{n} visit|{n} visits"},
    "site.phase.initial": {"fr": "sans interaction", "en": "without interaction"},
    "site.phase.reject": {"fr": "après refus", "en": "after rejecting"},
    "site.phase.accept": {"fr": "après acceptation", "en": "after accepting"},
    "site.phase.gpc": {"fr": "avec le signal GPC", "en": "with the GPC signal"},
    "site.phase.revoke": {"fr": "après retrait du consentement", "en": "after withdrawing consent"},
    "site.phase.second-site": {"fr": "après un refus sur un autre site", "en": "after rejecting on another site"},
    "site.not_measured": {"fr": "Non mesuré", "en": "Not measured"},
    "site.not_measured.fact": {
        "fr": "Cette exploration n'a pas mesuré ceci (ou ne dit pas l'avoir fait) : l'absence de résultat ne veut "
              "pas dire qu'il n'y a rien.",
        "en": "This crawl did not measure this (or does not record that it did): no result does not mean "
              "there is nothing."},
    "site.link.rows": {"fr": "les lignes", "en": "the rows"},
    "site.link.sites": {"fr": "les sites de l'exploration", "en": "the crawl's sites"},
    "site.link.row": {"fr": "la ligne", "en": "the row"},
    "site.link.requests": {"fr": "les requêtes", "en": "the requests"},
    "site.link.calls": {"fr": "les appels", "en": "the calls"},
    "site.link.screenshot": {"fr": "capture d'écran", "en": "screenshot"},
    "site.link.file": {"fr": "fichier de preuve", "en": "evidence file"},
    "site.link.crawl": {"fr": "exploration n° {crawl}", "en": "crawl {crawl}"},
    "site.and_more": {"fr": "{names} et {n} autres", "en": "{names} and {n} more"},
    "site.yes": {"fr": "oui", "en": "yes"},
    "site.no": {"fr": "non", "en": "no"},
    "site.unknown": {"fr": "inconnu", "en": "unknown"},
    "site.compare.more": {
        "fr": "C'est plus que {share} des {total} sites visités dans cette exploration.",
        "en": "That is more than {share} of the {total} sites visited in this crawl."},
    "site.compare.same": {
        "fr": "Autres sites visités dans cette exploration qui le font aussi : {share} (sur {total}).",
        "en": "Other sites visited in this crawl that do so too: {share} (of {total})."},
    "site.compare.missing": {
        "fr": "Comparaison avec les autres sites indisponible : le résumé par site n'est pas construit "
              "(lancez mouchard classify).",
        "en": "No comparison with the other sites: the per-site summary is not built (run mouchard classify)."},

    # visits
    "site.visits.heading": {"fr": "Visites", "en": "Visits"},
    "site.visits.ok": {"fr": "Toutes chargées", "en": "All loaded"},
    "site.visits.failed_verdict": {"fr": "Incomplètes", "en": "Incomplete"},
    "site.visits.done": {"fr": "{visits} chargées : {phases}.", "en": "{visits} loaded: {phases}."},
    "site.visits.failed": {
        "fr": "{n} visite n'a pas abouti ({statuses}) : elle ne compte dans aucun chiffre de cette page.|"
              "{n} visites n'ont pas abouti ({statuses}) : elles ne comptent dans aucun chiffre de cette page.",
        "en": "{n} visit did not load ({statuses}): it counts in none of this page's numbers.|"
              "{n} visits did not load ({statuses}): they count in none of this page's numbers."},
    "site.visits.evidence": {"fr": "Preuves gardées : {screenshots} capture(s) d'écran, {files} autre(s) fichier(s).",
                             "en": "Evidence kept: {screenshots} screenshot(s), {files} other file(s)."},
    "site.visits.other_crawls": {"fr": "Autres explorations de ce site :", "en": "Other crawls of this site:"},
    "site.visits.col.phase": {"fr": "Phase", "en": "Phase"},
    "site.visits.col.status": {"fr": "État", "en": "Status"},
    "site.visits.col.page": {"fr": "Page", "en": "Page"},
    "site.visits.col.visit": {"fr": "Visite", "en": "Visit"},

    # trackers
    "site.trackers.heading": {"fr": "Entreprises de suivi", "en": "Tracker companies"},
    "site.trackers.bad": {"fr": "Pistage publicitaire", "en": "Advertising trackers"},
    "site.trackers.warn": {"fr": "Pistage", "en": "Trackers"},
    "site.trackers.good": {"fr": "Aucune entreprise de suivi", "en": "No tracker company"},
    "site.trackers.count": {
        "fr": "{n} entreprise de suivi a reçu des requêtes de ce site : {names}.|"
              "{n} entreprises de suivi ont reçu des requêtes de ce site : {names}.",
        "en": "{n} tracker company received requests from this site: {names}.|"
              "{n} tracker companies received requests from this site: {names}."},
    "site.trackers.none": {"fr": "Aucune requête vers une entreprise de suivi connue des listes.",
                           "en": "No request to a tracker company the lists know."},
    "site.trackers.ads": {"fr": "Pour la publicité : {names}.", "en": "For advertising: {names}."},
    "site.trackers.chart": {"fr": "Entreprises de suivi par site dans cette exploration",
                            "en": "Tracker companies per site in this crawl"},
    "site.trackers.chart.description": {
        "fr": "Nombre de sites de l'exploration selon le nombre d'entreprises de suivi qu'ils ont contactées ; la "
              "barre de ce site est mise en avant.",
        "en": "How many sites of the crawl contacted each number of tracker companies; this site's bar stands out."},
    "site.trackers.chart.x": {"fr": "Entreprises de suivi", "en": "Tracker companies"},
    "site.trackers.chart.y": {"fr": "Sites", "en": "Sites"},
    "site.trackers.chart.this": {"fr": "Ce site", "en": "This site"},
    "site.trackers.col.company": {"fr": "Entreprise", "en": "Company"},
    "site.trackers.col.what": {"fr": "Ce qu'elle fait", "en": "What it does"},
    "site.trackers.col.phases": {"fr": "Phases", "en": "Phases"},
    "site.trackers.col.requests": {"fr": "Requêtes", "en": "Requests"},

    # cookies
    "site.cookies.heading": {"fr": "Cookies publicitaires et leur durée", "en": "Advertising cookies and their lifetimes"},
    "site.cookies.bad": {"fr": "Avant tout choix", "en": "Before any choice"},
    "site.cookies.warn": {"fr": "Cookies de suivi", "en": "Tracking cookies"},
    "site.cookies.good": {"fr": "Aucun cookie de suivi", "en": "No tracking cookie"},
    "site.cookies.count": {
        "fr": "{n} cookie de suivi (un identifiant) a été déposé, dont {before} avant tout choix.|"
              "{n} cookies de suivi (des identifiants) ont été déposés, dont {before} avant tout choix.",
        "en": "{n} tracking cookie (an identifier) was set, {before} of them before any choice.|"
              "{n} tracking cookies (identifiers) were set, {before} of them before any choice."},
    "site.cookies.ads": {"fr": "Cookies publicitaires : {n} ({names}).", "en": "Advertising cookies: {n} ({names})."},
    "site.cookies.longest": {
        "fr": "Le plus durable : {name} ({owner}), {asked} jours demandés, {kept} jours gardés par le navigateur.",
        "en": "The longest-lived: {name} ({owner}), {asked} days asked for, {kept} days kept by the browser."},
    "site.cookies.longest.kept": {
        "fr": "Le plus durable : {name} ({owner}), gardé {kept} jours par le navigateur (durée demandée inconnue).",
        "en": "The longest-lived: {name} ({owner}), kept {kept} days by the browser (lifetime asked for unknown)."},
    "site.cookies.over_cnil": {
        "fr": "{n} dépassent 13 mois (395 jours), la durée que la CNIL recommande de ne pas dépasser.",
        "en": "{n} last more than 13 months (395 days), the longest the CNIL recommends."},
    "site.cookies.col.name": {"fr": "Cookie", "en": "Cookie"},
    "site.cookies.col.domain": {"fr": "Domaine", "en": "Domain"},
    "site.cookies.col.company": {"fr": "Entreprise", "en": "Company"},
    "site.cookies.col.asked": {"fr": "Durée demandée (jours)", "en": "Lifetime asked (days)"},
    "site.cookies.col.kept": {"fr": "Durée gardée (jours)", "en": "Lifetime kept (days)"},
    "site.cookies.col.before": {"fr": "Avant tout choix", "en": "Before any choice"},
    "site.cookies.col.phase": {"fr": "Phase", "en": "Phase"},
    "site.cookies.session": {"fr": "session", "en": "session"},

    # fingerprinting
    "site.fingerprinting.heading": {"fr": "Empreinte du navigateur", "en": "Browser fingerprinting"},
    "site.fingerprinting.bad": {"fr": "Empreinte prise", "en": "Fingerprinted"},
    "site.fingerprinting.good": {"fr": "Aucune empreinte détectée", "en": "No fingerprinting found"},
    "site.fingerprinting.count": {
        "fr": "{n} script prend l'empreinte du navigateur.|"
              "{n} scripts prennent l'empreinte du navigateur.",
        "en": "{n} script fingerprints the browser.|{n} scripts fingerprint the browser."},
    "site.fingerprinting.script": {"fr": "{script} ({owner}) : {techniques}.", "en": "{script} ({owner}): {techniques}."},
    "site.fingerprinting.none": {"fr": "Aucun script n'atteint les seuils publiés (canvas, polices, WebGL, audio).",
                                 "en": "No script meets the published thresholds (canvas, fonts, WebGL, audio)."},
    "site.technique.canvas": {"fr": "canvas", "en": "canvas"},
    "site.technique.canvas_font": {"fr": "polices via canvas", "en": "canvas fonts"},
    "site.technique.webgl": {"fr": "WebGL", "en": "WebGL"},
    "site.technique.audio": {"fr": "audio", "en": "audio"},

    # session recording
    "site.replay.heading": {"fr": "Enregistrement de session", "en": "Session recording"},
    "site.replay.bad": {"fr": "Session enregistrée", "en": "Session recorded"},
    "site.replay.good": {"fr": "Aucun enregistrement détecté", "en": "No recording found"},
    "site.replay.script": {
        "fr": "{service} enregistre la session (mouvements, clics, saisies) : script {script}, envoyé à {hosts}.",
        "en": "{service} records the session (movements, clicks, typing): script {script}, sent to {hosts}."},
    "site.replay.none": {"fr": "Aucun script n'enregistre la page et ses changements.",
                         "en": "No script records the page and its changes."},

    # key logging
    "site.keylogging.heading": {"fr": "Saisie captée avant envoi", "en": "Key logging"},
    "site.keylogging.bad": {"fr": "Saisie envoyée à un tiers", "en": "Typing sent to a third party"},
    "site.keylogging.warn": {"fr": "Saisie envoyée au site", "en": "Typing sent to the site"},
    "site.keylogging.good": {"fr": "Rien n'est parti", "en": "Nothing left"},
    "site.keylogging.leak": {
        "fr": "{host} a reçu ce qui était tapé dans un formulaire jamais envoyé : {what} ({where}, codage : {chain}).",
        "en": "{host} received what was typed into a form never submitted: {what} ({where}, encoding: {chain})."},
    "site.keylogging.none": {"fr": "Du texte a été tapé dans les formulaires sans les envoyer : rien n'est parti.",
                             "en": "Text was typed into the forms without submitting them: none of it left."},
    "site.typed.typed_email": {"fr": "une adresse e-mail", "en": "an e-mail address"},
    "site.typed.typed_password": {"fr": "un mot de passe", "en": "a password"},
    "site.typed.typed_phone": {"fr": "un numéro de téléphone", "en": "a phone number"},
    "site.typed.typed_name": {"fr": "un nom", "en": "a name"},
    "site.typed.typed_text": {"fr": "du texte", "en": "text"},

    # pixels
    "site.pixels.heading": {"fr": "Pixel Meta et événements Google", "en": "Meta pixel and Google events"},
    "site.pixels.bad": {"fr": "Événements publicitaires", "en": "Advertising events"},
    "site.pixels.warn": {"fr": "Mesure d'audience", "en": "Analytics events"},
    "site.pixels.good": {"fr": "Aucun événement", "en": "No event"},
    "site.pixels.vendor": {"fr": "{vendor} : {n} événement(s) ({events}).", "en": "{vendor}: {n} event(s) ({events})."},
    "site.pixels.user_data": {"fr": "Avec des données personnelles (souvent hachées) : {fields}.",
                              "en": "With personal data (often hashed): {fields}."},
    "site.pixels.none": {"fr": "Aucun événement de pixel Meta ni de balise Google.",
                         "en": "No Meta pixel or Google tag event."},
    "site.vendor.meta": {"fr": "Pixel Meta", "en": "Meta pixel"},
    "site.vendor.google-analytics": {"fr": "Google Analytics", "en": "Google Analytics"},
    "site.vendor.google-ads": {"fr": "Google Ads", "en": "Google Ads"},
    "site.vendor.google-tag-manager": {"fr": "Google Tag Manager", "en": "Google Tag Manager"},

    # consent
    "site.consent.heading": {"fr": "Consentement : refuser, accepter", "en": "Consent: reject, accept"},
    "site.consent.bad": {"fr": "Suivi malgré le refus", "en": "Tracking despite refusal"},
    "site.consent.warn": {"fr": "Refus non vérifié", "en": "Refusal not verified"},
    "site.consent.good": {"fr": "Refus respecté", "en": "Refusal respected"},
    "site.consent.banner": {"fr": "Bandeau de consentement : {cmp}.", "en": "Consent banner: {cmp}."},
    "site.consent.no_banner": {"fr": "Aucun bandeau de consentement reconnu.", "en": "No consent banner recognised."},
    "site.consent.first_layer.1": {"fr": "Un bouton de refus était visible dès le premier niveau du bandeau.",
                                   "en": "A reject button was visible on the banner's first layer."},
    "site.consent.first_layer.0": {"fr": "Aucun bouton de refus au premier niveau du bandeau.",
                                   "en": "No reject button on the banner's first layer."},
    "site.consent.clicked.verified": {"fr": "« {action} » a été cliqué, et le clic vérifié{method}.",
                                      "en": "“{action}” was clicked, and the click verified{method}."},
    "site.consent.clicked.unverified": {
        "fr": "« {action} » a été cliqué, mais le clic n'a pas pu être vérifié{method}.",
        "en": "“{action}” was clicked, but the click could not be verified{method}."},
    "site.consent.none": {"fr": "Refus non testé", "en": "Refusal not tested"},
    "site.consent.not_clicked": {"fr": "« {action} » n'a pas pu être cliqué.", "en": "“{action}” could not be clicked."},
    "site.consent.action.reject": {"fr": "Refuser", "en": "Reject"},
    "site.consent.action.accept": {"fr": "Accepter", "en": "Accept"},
    "site.consent.after_reject": {
        "fr": "Après le clic sur « Refuser », {n} entreprise de suivi a encore reçu des requêtes : {names}.|"
              "Après le clic sur « Refuser », {n} entreprises de suivi ont encore reçu des requêtes : {names}.",
        "en": "After the click on “Reject”, {n} tracker company still received requests: {names}.|"
              "After the click on “Reject”, {n} tracker companies still received requests: {names}."},
    "site.consent.after_reject.none": {
        "fr": "Après le clic sur « Refuser », aucune entreprise de suivi n'a reçu de requête.",
        "en": "After the click on “Reject”, no tracker company received a request."},
    "site.consent.by_phase": {"fr": "Entreprises de suivi par phase : {counts}.",
                              "en": "Tracker companies by phase: {counts}."},
    "site.consent.tcf": {
        "fr": "Chaîne TCF en vigueur ({phase}) : consentement donné à {n} fournisseur(s){names}, pour {purposes}.",
        "en": "TC string in force ({phase}): consent given to {n} vendor(s){names}, for {purposes}."},
    "site.consent.tcf.no_purpose": {"fr": "aucune finalité", "en": "no purpose"},
    "site.consent.vendor": {"fr": "fournisseur n° {id}", "en": "vendor {id}"},
    "site.consent.col.phase": {"fr": "Phase", "en": "Phase"},
    "site.consent.col.cmp": {"fr": "Bandeau", "en": "Banner"},
    "site.consent.col.action": {"fr": "Clic", "en": "Click"},
    "site.consent.col.verified": {"fr": "Clic vérifié", "en": "Click verified"},
    "site.consent.col.trackers": {"fr": "Entreprises de suivi", "en": "Tracker companies"},
    "site.consent.col.cookies": {"fr": "Cookies de suivi", "en": "Tracking cookies"},
    "site.consent.col.screenshot": {"fr": "Capture", "en": "Screenshot"},
    "site.purpose.1": {"fr": "stocker des informations sur l'appareil", "en": "store information on a device"},
    "site.purpose.2": {"fr": "publicité fondée sur des données limitées", "en": "advertising on limited data"},
    "site.purpose.3": {"fr": "profils de publicité personnalisée", "en": "personalised advertising profiles"},
    "site.purpose.4": {"fr": "publicité personnalisée", "en": "personalised advertising"},
    "site.purpose.5": {"fr": "profils de contenu personnalisé", "en": "personalised content profiles"},
    "site.purpose.6": {"fr": "contenu personnalisé", "en": "personalised content"},
    "site.purpose.7": {"fr": "mesure de la performance publicitaire", "en": "advertising performance measurement"},
    "site.purpose.8": {"fr": "mesure de la performance du contenu", "en": "content performance measurement"},
    "site.purpose.9": {"fr": "études d'audience", "en": "audience research"},
    "site.purpose.10": {"fr": "développer et améliorer les services", "en": "develop and improve services"},
    "site.purpose.11": {"fr": "contenu fondé sur des données limitées", "en": "content on limited data"},
    "site.purpose.other": {"fr": "finalité n° {id}", "en": "purpose {id}"},

    # GPC
    "site.gpc.heading": {"fr": "Signal GPC (Global Privacy Control)", "en": "GPC (Global Privacy Control)"},
    "site.gpc.bad": {"fr": "GPC ignoré", "en": "GPC ignored"},
    "site.gpc.good": {"fr": "GPC respecté", "en": "GPC honoured"},
    "site.gpc.ignored": {
        "fr": "Avec le signal GPC, {ads} entreprise(s) publicitaire(s) ont reçu des requêtes ({names}) et "
              "{cookies} cookie(s) de suivi ont été déposés.",
        "en": "With the GPC signal, {ads} advertising company(ies) received requests ({names}) and {cookies} "
              "tracking cookie(s) were set."},
    "site.gpc.honoured": {
        "fr": "Avec le signal GPC, aucune entreprise publicitaire n'a reçu de requête et aucun cookie de suivi n'a "
              "été déposé.",
        "en": "With the GPC signal, no advertising company received a request and no tracking cookie was set."},
    "site.gpc.statement.true": {"fr": "Le site déclare respecter GPC (/.well-known/gpc.json : true).",
                                "en": "The site says it honours GPC (/.well-known/gpc.json: true)."},
    "site.gpc.statement.false": {"fr": "Le site déclare ne pas respecter GPC (/.well-known/gpc.json : false).",
                                 "en": "The site says it does not honour GPC (/.well-known/gpc.json: false)."},
    "site.gpc.statement.none": {"fr": "Le site ne publie pas de déclaration GPC (/.well-known/gpc.json).",
                                "en": "The site publishes no GPC statement (/.well-known/gpc.json)."},

    # header bidding
    "site.bidding.heading": {"fr": "Enchères publicitaires", "en": "Header-bidding auctions"},
    "site.bidding.bad": {"fr": "Profil mis aux enchères", "en": "Profile auctioned"},
    "site.bidding.good": {"fr": "Aucune enchère vue", "en": "No auction seen"},
    "site.bidding.count": {
        "fr": "{auctions} enchère(s) publicitaire(s) dans la page ; {n} enchérisseur(s) : {bidders} ; "
              "{won} offre(s) gagnante(s).",
        "en": "{auctions} ad auction(s) in the page; {n} bidder(s): {bidders}; {won} winning bid(s)."},
    "site.bidding.personal": {"fr": "Données personnelles envoyées aux enchérisseurs : {fields}.",
                              "en": "Personal data sent to bidders: {fields}."},
    "site.bidding.none": {"fr": "Aucune enchère publicitaire (Prebid, OpenRTB) n'a été vue.",
                          "en": "No ad auction (Prebid, OpenRTB) was seen."},

    # ID syncing
    "site.idsync.heading": {"fr": "Synchronisation d'identifiants", "en": "Identifier syncing"},
    "site.idsync.bad": {"fr": "Identifiants partagés", "en": "Identifiers shared"},
    "site.idsync.good": {"fr": "Aucun partage vu", "en": "No sharing seen"},
    "site.idsync.sync": {"fr": "{source} a transmis son identifiant « {name} » à {target} ({where}).",
                         "en": "{source} passed its identifier “{name}” to {target} ({where})."},
    "site.where.query": {"fr": "dans les paramètres de l'URL", "en": "in the URL's query"},
    "site.where.url": {"fr": "dans l'URL", "en": "in the URL"},
    "site.where.path": {"fr": "dans le chemin de l'URL", "en": "in the URL's path"},
    "site.where.redirect": {"fr": "dans une redirection", "en": "in a redirect"},
    "site.where.body": {"fr": "dans le corps de la requête", "en": "in the request body"},
    "site.where.header": {"fr": "dans un en-tête", "en": "in a header"},
    "site.where.cookie": {"fr": "dans un cookie", "en": "in a cookie"},
    "site.where.websocket": {"fr": "dans un message WebSocket", "en": "in a WebSocket message"},
    "site.idsync.none": {"fr": "Aucun identifiant d'une entreprise n'a été vu partir vers une autre.",
                         "en": "No company's identifier was seen going to another."},

    # findings
    "site.findings.heading": {"fr": "Constats et textes de loi", "en": "Findings and the law"},
    "site.findings.bad": {"fr": "Constats graves", "en": "Serious findings"},
    "site.findings.warn": {"fr": "Constats", "en": "Findings"},
    "site.findings.good": {"fr": "Aucun constat", "en": "No finding"},
    "site.findings.finding": {"fr": "{title} — gravité {severity} ; {law}.", "en": "{title} — {severity} severity; {law}."},
    "site.findings.no_law": {"fr": "sans référence juridique", "en": "no legal reference"},
    "site.findings.none": {"fr": "Les règles d'audit n'ont rien relevé pour ce site.",
                           "en": "The audit rules found nothing on this site."},
    "site.severity.high": {"fr": "haute", "en": "high"},
    "site.severity.medium": {"fr": "moyenne", "en": "medium"},
    "site.severity.low": {"fr": "basse", "en": "low"},
    "site.severity.info": {"fr": "information", "en": "information"},

    # tracker categories
    "site.category.advertising": {"fr": "publicité", "en": "advertising"},
    "site.category.analytics": {"fr": "mesure d'audience", "en": "analytics"},
    "site.category.social": {"fr": "réseau social", "en": "social network"},
    "site.category.session-replay": {"fr": "enregistrement de session", "en": "session recording"},
    "site.category.fingerprinting": {"fr": "empreinte", "en": "fingerprinting"},
    "site.category.customer-interaction": {"fr": "relation client", "en": "customer interaction"},
    "site.category.consent": {"fr": "gestion du consentement", "en": "consent management"},
    "site.category.identity": {"fr": "identité", "en": "identity"},
    "site.category.attribution": {"fr": "attribution", "en": "attribution"},
    "site.category.cdn": {"fr": "hébergement de contenu", "en": "content delivery"},
    "site.category.data-broker": {"fr": "courtier en données", "en": "data broker"},
    "site.category.tag-manager": {"fr": "gestionnaire de balises", "en": "tag manager"},
}
