"""French descriptions of every table and column of `mouchard.storage.schema.TABLES`, for French readers of the
Datasette pages (mouchard's first readers are French newsrooms).

The English descriptions in the schema stay the reference: these say the same, concisely. Values that are data
(phase names, statuses, kinds such as `initial`, `ok`, `tls-failure`) are kept as they are stored, since readers
filter on them. A test fails when a table or column has no French description: add it here with the column.
"""

from __future__ import annotations

from mouchard.storage import descriptions_fr_private as private_fr

# Units as French readers write them (the schema's unit names are English).
UNITS = {"ms": "ms", "bytes": "octets", "days": "jours", "metres": "mètres", "characters": "caractères",
         "seconds": "secondes"}

# Columns repeated across tables, written once.
ID = "Identifiant de la ligne."
VISIT = "La visite de page où cela a été vu (visits.id) ; vide pour le trafic d'application."
FLOW = "Le flux d'application où cela a été vu (flows.id) ; vide pour les visites web."
CRAWL = "L'exécution qui a enregistré cette ligne (crawls.id)."
CATEGORY = "Catégorie de traceur : advertising (publicité), analytics (mesure d'audience), social, session-replay... (dérivé)."
LIST = "La liste (et la règle) qui l'a classé, par exemple « mouchard », « ghostery », « easyprivacy » (dérivé)."


def _tracker(what: str) -> dict[str, str]:
    return {"tracker_entity": f"Entreprise derrière {what}, d'après les listes de traceurs (dérivé).",
            "tracker_category": CATEGORY, "tracker_list": LIST}


TABLES: dict[str, str] = {
    "crawls": "Une exécution d'un collecteur : un parcours web, une récupération ou un parcours de registres de "
              "courtiers, une capture d'application, un audit.",
    "visits": "Un chargement de page dans un profil de navigateur neuf, dans une phase de consentement.",
    "requests": "Chaque requête d'une visite (page, iframes, workers, WebSockets, balises) ; les redirections sont "
                "des lignes.",
    "bodies": "Corps de requêtes et de réponses, stockés une fois par empreinte et de taille bornée.",
    "cookies": "Chaque cookie qu'une visite ou un flux a vu déposer, avec qui l'a déposé et s'il ressemble à un "
               "identifiant.",
    "storage_items": "Entrées localStorage, sessionStorage et IndexedDB par origine à la fin d'une visite.",
    "js_calls": "Appels aux API JavaScript utiles à la prise d'empreinte (fingerprinting), avec le script appelant.",
    "scripts": "Par script et par visite : ce que revient à dire son usage des API (dérivé de js_calls).",
    "pixel_events": "Événements signalés par les pixels publicitaires et les balises de mesure : pixel Meta, Google "
                    "Analytics, Google Ads.",
    "consent": "L'état du consentement par visite et par phase : CMP, cadre, chaîne brute, champs décodés, action "
               "effectuée.",
    "rtb": "Événements d'enchères publicitaires (header bidding et OpenRTB) : enchères, enchérisseurs, "
           "emplacements, prix, données personnelles envoyées.",
    "id_syncs": "Un identifiant d'un acteur vu partir vers un autre (URL, redirection, corps) : synchronisation de "
                "cookies ou d'identifiants.",
    "flows": "Trafic d'application passé par le proxy : un échange HTTP, un WebSocket, une négociation TLS échouée "
             "ou une tentative QUIC ; ou une destination tirée du propre rapport d'un appareil.",
    "app_accesses": "Accès d'une application aux données et capteurs, tels que le téléphone lui-même les a "
                    "enregistrés (enregistrements `access` du rapport de confidentialité des apps d'iOS : position, "
                    "contacts, photos, caméra, micro...).",
    "leaks": "Un identifiant d'appareil, une position ou une valeur personnelle trouvés dans le trafic, avec leur "
             "encodage.",
    "registry_snapshots": "Un fichier de registre de courtiers en données ou un relevé de portail, tel que récupéré.",
    "brokers": "Une inscription de courtier en données dans un relevé de registre, avec les champs propres au "
               "registre.",
    "broker_metrics": "Demandes de consommateurs déclarées par un courtier, en format long : type de demande × "
                      "mesure.",
    "broker_pages": "Pages vérifiées par courtier : politique, désinscription, effacement ; signaux qui les cachent "
                    "aux moteurs de recherche ; GPC.",
    "findings": "Ce qu'une règle a conclu, avec sa référence juridique et des liens vers les lignes qui le prouvent.",
    "evidence_files": "Fichiers gardés comme preuves (captures d'écran, HAR, instantanés, fichiers de registre) "
                      "avec leur empreinte.",
    "failures": "Ce qui n'a pas pu être enregistré ou analysé en entier : un collecteur en échec sur une visite, un "
                "flux dont l'expurgation a échoué, une analyse coupée à son budget, une valeur hors limites. Ne "
                "contient jamais de données brutes.",
    "tracker_lists": "Listes de traceurs utilisées pour la classification : source, version, empreinte et licence.",
    "company_sites": "Une ligne par parcours web, entreprise de pistage, site visité et phase de consentement : les "
                     "comptes que montre la page d'une entreprise, pour qu'elle ne regroupe jamais les tables "
                     "requests ou cookies (dérivé ; reconstruit par mouchard classify, à la fin d'un parcours et "
                     "après un audit).",
    "company_cookies": "Une ligne par parcours web, entreprise de pistage et nom de cookie : ce que la page d'une "
                       "entreprise dit de ses cookies (dérivé ; reconstruit avec company_sites). Les cookies "
                       "d'applications sont lus dans cookies par index.",
    "site_summary": "Une ligne par parcours web et par site : les comptes que montrent les pages site, comparaison "
                    "et évolution, pour qu'aucune page ne regroupe toute la table requests (dérivé ; reconstruit "
                    "par mouchard classify, à la fin d'un parcours et après un audit).",
}

COLUMNS: dict[str, dict[str, str]] = {
    "crawls": {
        "id": ID,
        "kind": "Ce qui a tourné : web, brokers-fetch, brokers-crawl, app, import, audit, merge.",
        "started_at": "Début de l'exécution (UTC, ISO 8601).",
        "finished_at": "Fin de l'exécution (UTC, ISO 8601) ; vide pendant l'exécution ou si elle a été tuée.",
        "status": "running (en cours), finished (terminée), interrupted (interrompue) ou failed (échouée).",
        "command": "La ligne de commande qui a lancé l'exécution (liste JSON).",
        "config": "Les réglages de l'exécution : cibles, phases, parallélisme, délais, graine (JSON).",
        "network": "Proxy, correspondance d'hôtes et options TLS utilisés : son point d'observation (JSON).",
        "tool_version": "Version de mouchard.",
        "dependencies": "Versions de Python, Scrapy, Playwright, mitmproxy, Datasette... (JSON).",
        "browser": "Exécutable du navigateur utilisé, s'il y en a un.",
        "browser_version": "Version du navigateur telle que le programme l'indique.",
        "browser_args": "Options supplémentaires du navigateur (liste JSON).",
        "warnings": "Avertissements sur les conditions de l'exécution, par exemple un navigateur lancé sans son bac "
                    "à sable (--no-sandbox) ou sous l'utilisateur de repli nobody (liste JSON).",
        "tracker_lists": "Listes de traceurs en vigueur : nom, version, sha256, licence (JSON).",
        "host": "Nom de la machine qui l'a exécutée.",
        "shard": "Nom de la partition de travail pour les parcours distribués ; vide sur une seule machine.",
        "summary": "Comptes à la fin de l'exécution (JSON).",
    },
    "visits": {
        "id": ID,
        "crawl_id": CRAWL,
        "key": "Identité stable de la visite dans son parcours (URL, phase, échantillon) : le registre de reprise.",
        "url": "URL demandée.",
        "final_url": "URL de la page après redirections.",
        "site": "Domaine enregistrable (eTLD+1) de l'URL demandée.",
        "final_site": "Domaine enregistrable de l'URL finale.",
        "tags": "Étiquettes de la liste de sites, par exemple news, party, campaign (liste JSON).",
        "phase": "Phase de consentement : initial (aucune interaction), reject (refus), accept (acceptation), "
                 "gpc (signal Global Privacy Control), revoke (accepter, puis retirer son consentement) ou "
                 "second-site (refuser d'abord sur un autre site).",
        "parent_visit_id": "La visite de la page d'accueil dont un lien a mené à cette page interne.",
        "depth": "0 pour la page d'accueil, 1 pour une page interne échantillonnée.",
        "status": "ok, partial (chargée, mais un collecteur a échoué : voir failures), timeout, http-error, "
                  "dns-error, tls-error, crashed ou aborted.",
        "reason": "Pourquoi la visite ne s'est pas terminée en ok, en une ligne.",
        "http_status": "Statut HTTP du document principal.",
        "title": "Titre de la page (texte collecté : hostile, affiché inerte).",
        "started_at": "Début de la navigation (UTC).",
        "finished_at": "Fin de l'enregistrement (UTC).",
        "load_ms": "Temps jusqu'à l'événement load.",
        "duration_ms": "Durée de toute la visite, de la navigation au dernier enregistrement.",
        "dwell_ms": "Temps passé sur la page après le chargement, à faire défiler et bouger la souris (--dwell), "
                    "avant d'attendre que le réseau se calme ; 0 quand la page n'a pas chargé.",
        "leave_ms": "Temps passé à quitter la page en fin de visite, comme le fait l'onglet d'une personne (vers "
                    "about:blank : ses balises visibilitychange, pagehide et unload sont des requêtes de cette "
                    "visite), jusqu'au calme du réseau ; vide quand la page n'a pas été quittée (pas chargée ou "
                    "ne répondant plus).",
        "attempt": "1 pour le premier essai ; plus quand un navigateur planté a été relancé ou avec "
                   "--retry-failed (un essai antérieur garde sa ligne, sa clé suffixée « #attempt N »).",
        "worker": "Processus de travail qui a fait la visite (parcours distribués).",
        "sample": "Pages d'accueil avec --pages-per-site : liens internes trouvés et ceux choisis pour la visite "
                  "(JSON {links, chosen}).",
    },
    "requests": {
        "id": ID,
        "visit_id": VISIT,
        "browser_request_id": "Identifiant de la requête dans le navigateur (les étapes d'une redirection le "
                              "partagent).",
        "url": "URL de la requête.",
        "host": "Nom d'hôte de l'URL.",
        "site": "Domaine enregistrable de l'hôte.",
        "method": "Méthode HTTP.",
        "resource_type": "document, script, image, xhr, fetch, ping (balise), websocket, ...",
        "frame_url": "URL du cadre (frame) qui a fait la requête.",
        "main_frame": "1 si elle vient de la page principale.",
        "worker_url": "Worker (service, partagé ou dédié) qui l'a faite, le cas échéant.",
        "initiator_url": "Script à l'origine de la requête : le premier cadre avec une URL de la pile d'appels du "
                         "navigateur, parents asynchrones compris (un élément inséré par innerHTML ou appendChild : "
                         "le script qui l'a inséré) ; pour une requête de l'analyseur HTML, le document où "
                         "l'analyseur a trouvé l'élément.",
        "initiator_type": "parser, script, preload, redirect, other.",
        "initiator_line": "Ligne de initiator_url (à partir de 1) : le cadre du script appelant, ou la position de "
                          "l'analyseur dans le document.",
        "initiator_column": "Colonne de initiator_line (à partir de 1).",
        "initiator_function": "Fonction du premier cadre de script ; vide pour le code de premier niveau et "
                              "l'analyseur.",
        "initiator_stack": "La pile de l'initiateur, la plus interne d'abord, les parents asynchrones après leur "
                           "enfant : JSON [{url, function, line, column, async}] où async nomme le parent (Image, "
                           "setTimeout, Promise.then...) dans lequel le cadre a tourné ; au plus 16 cadres sur 5 "
                           "piles.",
        "third_party": "1 si le domaine enregistrable de l'hôte diffère de celui du site visité.",
        "status": "Statut HTTP de la réponse ; vide s'il n'y en a pas.",
        "error": "Erreur réseau si la requête a échoué (par exemple net::ERR_BLOCKED_BY_CLIENT).",
        "redirect_from_id": "La requête qui a redirigé vers celle-ci.",
        "redirect_chain": "URL de la première requête de la chaîne jusqu'à celle-ci (liste JSON).",
        "request_headers": "En-têtes de la requête tels qu'envoyés (JSON).",
        "response_headers": "En-têtes de la réponse tels que reçus (JSON).",
        "post_body_sha256": "SHA-256 du corps de la requête (bodies.sha256).",
        "post_body_size": "Taille du corps de la requête.",
        "mime_type": "Type de média de la réponse.",
        "response_size": "Taille encodée de la réponse.",
        "remote_ip": "Adresse du serveur auquel le navigateur s'est connecté.",
        "time_ms": "Début de la requête, depuis le début de la navigation.",
        **_tracker("l'hôte de la requête"),
    },
    "bodies": {
        "sha256": "SHA-256 du corps entier.",
        "size": "Taille du corps entier.",
        "media_type": "Type de média quand il est connu.",
        "content": "Le corps, coupé à la limite du stockage.",
        "truncated": "1 si le contenu a été coupé.",
    },
    "cookies": {
        "id": ID,
        "visit_id": VISIT,
        "flow_id": FLOW,
        "name": "Nom du cookie (texte collecté).",
        "value": "Valeur du cookie telle que déposée (vide dans les copies expurgées).",
        "domain": "Domaine du cookie tel que stocké (.exemple.fr pour un attribut Domain, sinon l'hôte).",
        "path": "Chemin du cookie tel que stocké.",
        "site": "Domaine enregistrable du domaine du cookie.",
        "expires_at": "Expiration (UTC) gardée par le navigateur, plafonnée à 400 jours (RFC 6265bis) ; vide pour "
                      "les cookies de session. Celle que demandait le site est requested_expires_at.",
        "lifetime_days": "Expiration gardée moins l'heure du dépôt (400 au plus).",
        "session": "1 pour un cookie de session.",
        "http_only": "1 si HttpOnly.",
        "secure": "1 si Secure.",
        "same_site": "SameSite tel que stocké : Strict, Lax, None, ou vide quand il n'est pas précisé (Chromium "
                     "applique alors Lax par défaut).",
        "partitioned": "1 si partitionné (CHIPS).",
        "priority": "Priorité stockée par le navigateur (Low, Medium, High) ; vide quand aucun navigateur ne l'a "
                    "indiquée.",
        "requested_domain": "Attribut Domain tel qu'écrit dans l'en-tête Set-Cookie ou la chaîne document.cookie ; "
                            "vide quand il est absent ou n'a pas été vu.",
        "requested_path": "Attribut Path tel qu'écrit ; vide quand il est absent.",
        "requested_expires_at": "Expiration (UTC) demandée par le site, d'après Max-Age ou Expires tels qu'écrits, "
                                "avant tout plafond ; vide pour un cookie de session ou quand la demande n'a pas "
                                "été vue (voir alors requested_secure).",
        "requested_lifetime_days": "Expiration demandée moins l'heure du dépôt : la durée que jugent les règles "
                                   "sur les identifiants.",
        "requested_same_site": "SameSite tel qu'écrit : Strict, Lax, None, une autre valeur telle qu'écrite "
                               "(traitée comme non précisée), ou vide quand il est absent.",
        "requested_secure": "1 si la chaîne demandait Secure ; vide quand la chaîne n'a pas été vue (cookie trouvé "
                            "seulement dans le magasin du navigateur).",
        "requested_http_only": "1 si la chaîne demandait HttpOnly.",
        "requested_partitioned": "1 si la chaîne demandait Partitioned (CHIPS).",
        "requested_priority": "Attribut Priority tel qu'écrit (Low, Medium, High ou autre) ; vide quand il est "
                              "absent.",
        "third_party": "1 si déposé pour un autre domaine que le site visité.",
        "set_by": "header (Set-Cookie), script (document.cookie / CookieStore), ou vide quand il a seulement été vu "
                  "envoyé dans une requête (trafic d'application).",
        "setter_url": "URL de la réponse ou du script qui l'a déposé.",
        "request_id": "La réponse qui l'a déposé (requests.id).",
        "set_at_ms": "Moment du dépôt, depuis le début de la navigation.",
        "before_consent": "1 si déposé avant toute action de consentement dans cette visite.",
        "identifier": "1 s'il ressemble à un identifiant d'utilisateur (longue durée, 6 à 100 caractères, "
                      "différent d'un profil neuf à l'autre).",
        "identifier_reason": "Pourquoi il est (ou n'est pas) jugé identifiant.",
        **_tracker("le domaine du cookie"),
    },
    "storage_items": {
        "id": ID,
        "visit_id": VISIT,
        "origin": "Origine propriétaire du stockage.",
        "site": "Domaine enregistrable de l'origine.",
        "third_party": "1 si l'origine n'est pas celle du site visité.",
        "kind": "local, session ou indexeddb.",
        "name": "Clé (local/session) ou nom de base (IndexedDB) (texte collecté).",
        "value": "Valeur, coupée à 1 000 caractères ; vide pour IndexedDB.",
        "value_size": "Longueur de la valeur.",
        **_tracker("l'origine"),
    },
    "js_calls": {
        "id": ID,
        "visit_id": VISIT,
        "script_url": "Script qui a fait l'appel.",
        "script_site": "Domaine enregistrable du script.",
        "third_party": "1 si le script vient d'un autre site que le site visité.",
        "frame_url": "Cadre dans lequel le script a tourné.",
        "api": "Interface et membre, par exemple HTMLCanvasElement.toDataURL, Navigator.hardwareConcurrency.",
        "operation": "call (appel), get (lecture) ou set (écriture).",
        "arguments": "Jusqu'à 10 listes d'arguments distinctes (JSON) : chaînes coupées à 100 caractères, listes à "
                     "10 éléments, dictionnaires réduits à quelques champs nommés, autres objets à leur type ; "
                     "constantes WebGL par leur nom ; faits sur le receveur ajoutés (taille du canvas, police, "
                     "cible de l'écouteur).",
        "calls": "Nombre de fois où ce script a fait cet appel pendant la visite.",
        "time_ms": "Premier appel, depuis le début de la navigation.",
        "call_line": "Ligne (à partir de 1) du site d'appel le plus fréquent dans script_url : le premier cadre "
                     "appelant avec une URL de script.",
        "call_column": "Colonne (à partir de 1) de ce site d'appel.",
        "call_function": "Fonction qui a fait l'appel à cet endroit, telle que V8 la nomme ; vide au premier niveau "
                         "d'un script.",
        "call_sites": "Jusqu'à 10 sites d'appel distincts, les plus fréquents d'abord : ligne, colonne, fonction, "
                      "nombre d'appels et pile appelante (jusqu'à 5 lignes de cadres V8) (JSON).",
        "returned": "Ce que les appels ont renvoyé, quand c'est gardé : SHA-256 des gros résultats (toDataURL, "
                    "pixels de getImageData) ou les noms de cookies qu'une lecture de document.cookie a vus, jamais "
                    "les valeurs (liste JSON).",
        **_tracker("le script"),
    },
    "scripts": {
        "id": ID,
        "visit_id": VISIT,
        "script_url": "URL du script.",
        "script_site": "Domaine enregistrable du script.",
        "third_party": "1 s'il vient d'un autre site que le site visité.",
        "canvas_fingerprinting": "1 s'il atteint les seuils publiés de prise d'empreinte par canvas.",
        "canvas_font_fingerprinting": "1 s'il règle au moins 50 polices et appelle measureText au moins 50 fois.",
        "webgl_fingerprinting": "1 s'il lit le moteur de rendu ou le fournisseur WebGL, ou des paramètres de "
                                "débogage.",
        "audio_fingerprinting": "1 s'il calcule un rendu audio hors ligne et en lit le résultat.",
        "session_replay": "1 s'il enregistre les modifications du DOM et les envoie à un collecteur.",
        "apis": "Nombre d'API de prise d'empreinte distinctes qu'il a utilisées.",
        "navigator_properties": "Nombre de propriétés de navigator distinctes qu'il a lues (userAgent, platform, plugins...).",
        "screen_properties": "Nombre de propriétés distinctes de géométrie de l'écran et de la fenêtre qu'il a lues.",
        "session_replay_service": "Service d'enregistrement de session auquel il appartient (par exemple "
                                  "Hotjar), ou « rrweb » quand il est reconnu à ses données envoyées.",
        "session_replay_hosts": "Hôtes auxquels il a envoyé l'enregistrement (liste JSON).",
        **_tracker("le script"),
    },
    "pixel_events": {
        "id": ID,
        "visit_id": VISIT,
        "flow_id": FLOW,
        "request_id": "La requête qui portait l'événement (requests.id).",
        "vendor": "meta, google-analytics, google-ads ou google-tag-manager.",
        "tag_id": "Le compte du site chez le fournisseur : identifiant du pixel Meta, identifiant G-/UA-/AW-/GTM-.",
        "event": "Nom de l'événement tel qu'envoyé : PageView, Purchase, page_view, pageview, conversion, "
                 "remarketing, tag.",
        "page_url": "Page où l'événement dit avoir eu lieu (dl, url).",
        "parameters": "Paramètres de l'événement tels qu'envoyés : cd[...], ep.*, value, currency, label (JSON).",
        "user_data": "Données d'utilisateur envoyées avec l'événement, le plus souvent hachées : ud[em], ud[ph], "
                     "em... (JSON).",
        "location": "Où était l'événement : url (chaîne de requête) ou body (corps).",
        "time_ms": "Début de la requête, depuis le début de la navigation.",
    },
    "consent": {
        "id": ID,
        "visit_id": VISIT,
        "phase": "Phase de consentement de la visite : initial, reject, accept, gpc, revoke (accepter, puis retirer "
                 "son consentement) ou second-site (refuser d'abord sur un autre site).",
        "cmp": "Plateforme de gestion du consentement (CMP) détectée (par exemple onetrust, didomi, "
               "tarteaucitron).",
        "cmp_id": "Identifiant IAB de la CMP, d'après la chaîne TC ou __tcfapi.",
        "framework": "tcf, gpp, usp, gpc, ac (Google Additional Consent) ou cmp (le propre cookie d'une CMP).",
        "source": "Où cela a été lu : api (__tcfapi/__gpp/__uspapi), cookie, wire (paramètre de requête), "
                  "well-known, navigator (GPC), action (l'unique ligne d'action par visite).",
        "name": "Nom du cookie ou du paramètre d'où cela vient.",
        "raw": "La chaîne telle que trouvée (par exemple une chaîne TC).",
        "decoded": "Champs décodés (JSON).",
        "event_status": "eventStatus du TCF : tcloaded, cmpuishown, useractioncomplete.",
        "action": "Action effectuée dans cette phase (ligne d'action), ou en vigueur quand le signal a été lu "
                  "(none avant le clic).",
        "action_method": "Qui a agi : autoconsent, le nom d'une règle de mouchard, ou generic.",
        "verified": "1 si l'état de la CMP, le cookie de consentement ou la chaîne TC ont changé comme l'action le "
                    "demandait.",
        "verification": "Ce qui a été contrôlé pour vérifier l'action.",
        "reject_first_layer": "1 si une option de refus était visible au premier niveau du bandeau.",
        "screenshot_file_id": "Capture d'écran du bandeau avant l'action (evidence_files.id).",
        "screenshot_after_file_id": "Capture d'écran de la page après l'action (ligne d'action ; evidence_files.id).",
        "layout": "Les faits de mise en page du bandeau que citent les régulateurs (ligne d'action, JSON) : refus au "
                  "premier niveau, cases pré-cochées, et taille, police, couleurs et contraste des boutons "
                  "d'acceptation et de refus, avec leurs rapports.",
        "steps": "Les étapes d'une séquence, dans l'ordre (phases revoke et second-site ; ligne d'action) : "
                 "[{step, action, time_ms, verified, verification, screenshot_before, screenshot_after, url, ...}] "
                 "(JSON).",
        "time_ms": "Moment de la lecture, depuis le début de la navigation.",
    },
}

COLUMNS.update({
    "rtb": {
        "id": ID,
        "visit_id": VISIT,
        "flow_id": FLOW,
        "request_id": "La requête réseau qui le portait, le cas échéant (requests.id).",
        "event": "auctionInit, bidRequested, bidResponse, noBid, bidTimeout, bidWon, auctionEnd, openrtb-request, "
                 "openrtb-response, gpt-slot, apstag, setuid, cookie-sync-request, cookie-sync-response.",
        "library": "prebid, gpt, apstag ou openrtb.",
        "auction_id": "Identifiant de l'enchère.",
        "bidder": "Code de l'enchérisseur ou de l'adaptateur.",
        "exchange": "Hôte du point d'accès de la place de marché.",
        "ad_unit": "Code ou emplacement publicitaire.",
        "sizes": "Formats publicitaires (JSON).",
        "cpm": "Prix de l'offre (CPM, pour mille affichages).",
        "currency": "Devise du prix.",
        "timeout_ms": "Délai maximal de l'enchère.",
        "won": "1 si cette offre a gagné.",
        "personal_fields": "Champs personnels présents : device.ifa, device.geo, user.buyeruid, user.eids... "
                           "(liste JSON).",
        "fields": "Autres champs de l'événement (JSON).",
        **_tracker("l'enchérisseur ou la place de marché"),
    },
    "id_syncs": {
        "id": ID,
        "visit_id": VISIT,
        "flow_id": FLOW,
        "request_id": "Requête qui portait l'identifiant (requests.id).",
        "cookie_id": "Cookie dont la valeur a été partagée (cookies.id).",
        "from_site": "Site propriétaire de l'identifiant.",
        "from_entity": "Entreprise qui en est propriétaire.",
        "to_site": "Site qui l'a reçu.",
        "to_entity": "Entreprise qui l'a reçu.",
        "identifier_name": "Nom du cookie ou du paramètre de l'identifiant.",
        "identifier_sha256": "SHA-256 de la valeur de l'identifiant (jamais la valeur brute ici).",
        "location": "Où il a été trouvé : query (chaîne de requête), path (chemin), redirect (redirection), body "
                    "(corps), header (en-tête).",
        "parameter": "Nom du paramètre ou de l'en-tête qui le portait.",
        "encoding": "Chaîne de décodage qui l'a révélé, par exemple urlencode>base64.",
    },
    "flows": {
        "id": ID,
        "crawl_id": "La capture qui a enregistré cette ligne (crawls.id).",
        "app": "Application qui l'a envoyé (option, user agent, X-Requested-With ou nom de paquet).",
        "app_source": "Comment l'application a été attribuée : option, user-agent, x-requested-with, header, "
                      "ios-privacy-report (le propre rapport du téléphone la nomme), pcapdroid (une capture ou un "
                      "export PCAPdroid nomme l'application propriétaire de la connexion), har (le navigateur d'un "
                      "export HAR).",
        "client": "Adresse du client (l'appareil).",
        "started_at": "Début de la requête (UTC).",
        "kind": "http, websocket, tls-failure, tcp ; quic (une tentative QUIC / HTTP/3 sur UDP/443 que le proxy a "
                "bloquée pour que l'application se rabatte sur TCP, ou n'a pas pu lire : voir error) ; report (une "
                "destination tirée du propre rapport du téléphone, par exemple le rapport de confidentialité des "
                "apps d'iOS : hôte et heure, sans contenu).",
        "method": "Méthode HTTP.",
        "url": "URL de la requête (identifiants remplacés par des jetons dans les copies publiées).",
        "host": "Hôte de destination.",
        "site": "Domaine enregistrable de l'hôte.",
        "http_version": "HTTP/1.1, HTTP/2.0, HTTP/3 (QUIC, enregistré en modes reverse, local et WireGuard)...",
        "status": "Statut de la réponse.",
        "error": "Ce qui a échoué : épinglage de certificat, erreur TLS, erreur de connexion, QUIC bloqué ou laissé "
                 "passer sans être lu.",
        "request_headers": "En-têtes de la requête (JSON, expurgés).",
        "response_headers": "En-têtes de la réponse (JSON).",
        "request_size": "Taille du corps de la requête.",
        "response_size": "Taille du corps de la réponse.",
        "request_body_sha256": "Empreinte du corps de la requête (bodies.sha256 quand il est gardé).",
        "response_body_sha256": "Empreinte du corps de la réponse.",
        "content_type": "Type de média de la requête.",
        "websocket_messages": "Messages WebSocket échangés.",
        "analysis": "complete (complète) ; truncated (un corps coupé à la limite de l'instantané ou le budget "
                    "d'analyse épuisé : des fuites peuvent manquer) ; redaction-failed (URL, en-têtes et autres "
                    "textes remplacés par « [redaction failed] », ou seulement les colonnes où le dernier contrôle "
                    "trouvait encore une valeur plantée) ; no-payload (seule la destination est connue : tentative "
                    "QUIC bloquée, entrée d'un rapport, connexion TLS capturée sans sa clé ; aucune fuite ne peut "
                    "être trouvée). Voir failures.",
        "hits": "Connexions que le rapport d'un appareil a comptées pour cette application et cet hôte (rapport de "
                "confidentialité des apps d'iOS) ; vide pour le trafic capturé, où chaque ligne est un échange.",
        "report": "Ce que le rapport d'un appareil disait en plus de l'hôte (JSON) : last_seen (UTC), domain_owner, "
                  "initiated (AppInitiated, ou NonAppInitiated : une page web affichée dans l'application), context "
                  "(le domaine de cette page), les codes de domaine du rapport et son numéro de ligne ; pour l'export "
                  "des connexions de PCAPdroid : last_seen, protocole, adresse:port de destination, statut, octets "
                  "et paquets dans chaque sens, uid, app_name, ligne.",
        **_tracker("la destination"),
    },
    "app_accesses": {
        "id": ID,
        "crawl_id": "L'import qui a enregistré cette ligne (crawls.id).",
        "app": "Application ou processus qui a accédé aux données (bundle id, ou un chemin pour un processus "
               "système).",
        "app_source": "D'où cela vient : ios-privacy-report.",
        "accessor_type": "Ce que nomme app : bundleID ou path (l'identifierType du rapport).",
        "category": "Donnée ou capteur consulté : location, contacts, photos, camera, microphone, calendars, "
                    "mediaLibrary... (tel que le rapport le nomme).",
        "access_id": "Identifiant de cet accès dans le rapport (ses enregistrements de début et de fin le "
                     "partagent).",
        "started_at": "Début de l'accès (UTC) ; vide quand le rapport n'en a que la fin.",
        "ended_at": "Fin de l'accès (UTC) ; vide s'il était encore ouvert quand le rapport a été enregistré.",
        "line": "Ligne du rapport où commence l'accès (ou de son enregistrement de fin isolé).",
    },
    "leaks": {
        "id": ID,
        "crawl_id": CRAWL,
        "flow_id": FLOW,
        "visit_id": VISIT,
        "request_id": "Requête web qui la portait (requests.id).",
        "identifier": "Type de valeur : advertising_id, android_id, imei, email, phone, location (position), "
                      "typed_text (texte tapé)...",
        "chain": "Chaîne de décodage qui l'a révélée, par exemple gzip>json:$.device.ifa>sha1.",
        "location": "Où : url, path, query, header, cookie, body, websocket.",
        "field": "Nom du paramètre, de l'en-tête, du cookie, ou chemin JSON.",
        "destination_host": "Hôte auquel elle a été envoyée.",
        "destination_site": "Domaine enregistrable auquel elle a été envoyée.",
        "third_party": "1 si la destination est un tiers (trafic d'application : toute destination autre que le "
                       "propre site de l'application, connu par son nom de paquet).",
        "precision_m": "Pour les positions : distance à la position réelle.",
        "lat": "Pour les positions : latitude arrondie du profil (pour les cartes ; jamais plus fine que 2 "
               "décimales).",
        "lon": "Pour les positions : longitude arrondie du profil (jamais plus fine que 2 décimales).",
        **_tracker("la destination"),
    },
    "registry_snapshots": {
        "id": ID,
        "crawl_id": "La récupération qui a enregistré cette ligne (crawls.id).",
        "registry": "ca, vt, tx, or, ou list (la liste d'un journaliste).",
        "year": "Année d'inscription que couvre le fichier.",
        "source_url": "D'où il a été récupéré (URL ou chemin).",
        "fetched_at": "Quand (UTC).",
        "sha256": "SHA-256 du fichier tel que récupéré.",
        "rows": "Inscriptions de courtiers lues.",
        "file_id": "Copie conservée (evidence_files.id).",
    },
    "brokers": {
        "id": ID,
        "snapshot_id": "Relevé de registre (registry_snapshots.id).",
        "registry": "ca, vt, tx, or, ou list.",
        "year": "Année d'inscription.",
        "key": "Nom normalisé qui permet de suivre un courtier d'un relevé à l'autre.",
        "name": "Raison sociale (texte collecté).",
        "dba": "Noms commerciaux (doing business as).",
        "website": "Premier site web indiqué.",
        "websites": "Tous les sites web indiqués (liste JSON).",
        "site": "Domaine enregistrable du premier site web.",
        "email": "Courriel de contact (vide dans les copies publiées quand il est personnel).",
        "email_personal": "1 si le courriel de contact semble être celui d'une personne.",
        "phone": "Téléphone de contact.",
        "address": "Adresse postale.",
        "city": "Ville.",
        "state": "État ou région.",
        "postal_code": "Code postal.",
        "country": "Pays.",
        "minors": "Déclare collecter des données de mineurs : yes, no ou unknown.",
        "precise_geolocation": "Déclare collecter une géolocalisation précise : yes, no ou unknown.",
        "reproductive_health": "Déclare collecter des données de santé reproductive : yes, no ou unknown.",
        "fcra": "Soumis au FCRA (loi américaine sur les rapports de crédit) : yes, no ou unknown.",
        "glba": "Soumis au GLBA (loi américaine sur les données financières) : yes, no ou unknown.",
        "declarations": "Toutes les autres déclarations oui/non du registre (JSON).",
        "rights_url": "Page où les consommateurs exercent leurs droits, telle qu'inscrite.",
        "notes": "Texte libre du registre ou de la liste.",
        "tracker_entity": "Entreprise de pistage dont les domaines comprennent le site du courtier (dérivé).",
        "raw_json": "La ligne du registre exactement telle que lue (JSON).",
    },
    "broker_metrics": {
        "id": ID,
        "broker_id": "Inscription du courtier (brokers.id).",
        "request_type": "delete (effacement), know (accès), opt-out (désinscription), correct (rectification), "
                        "limit (limitation)...",
        "measure": "received (reçues), complied (satisfaites), denied (refusées), mean_days (délai moyen), "
                   "median_days (délai médian)...",
        "value": "Le nombre déclaré.",
    },
    "broker_pages": {
        "id": ID,
        "crawl_id": CRAWL,
        "broker_id": "Courtier (brokers.id).",
        "kind": "home (accueil), policy (politique), opt-out (désinscription), deletion (effacement), access "
                "(accès), rights (droits), gpc.",
        "url": "URL vérifiée.",
        "final_url": "URL après redirections.",
        "redirects": "Chaîne de redirections (liste JSON).",
        "status": "ok, http-error, timeout, dns-error, tls-error, bot-wall (barrière anti-robots), not-found.",
        "http_status": "Statut HTTP.",
        "reason": "Pourquoi la vérification ne s'est pas terminée en ok.",
        "clicks_from_home": "Liens suivis depuis la page d'accueil pour l'atteindre.",
        "found_via": "Une page de droits trouvée après l'échec de l'URL inscrite (morte, hôte mal orthographié, "
                     "page déplacée renvoyant à l'accueil) : l'URL inscrite, chaque URL essayée (variante "
                     "d'orthographe, page d'accueil, son lien vers les choix de confidentialité) avec son statut, "
                     "et la page trouvée (JSON) ; null quand elle a été atteinte directement.",
        "hosted_by": "Service tiers qui héberge la page (par exemple OneTrust), le cas échéant.",
        "meta_noindex_raw": "1 si une balise meta robots du HTML servi dit noindex.",
        "meta_noindex_rendered": "1 si une balise meta robots du DOM rendu dit noindex.",
        "x_robots_tag": "Toutes les valeurs de l'en-tête X-Robots-Tag (liste JSON).",
        "robots_txt": "Verdict de robots.txt par robot : Googlebot, Bingbot, * (JSON).",
        "hidden": "1 si un signal tient les moteurs de recherche à l'écart de la page.",
        "hidden_reasons": "Quels signaux la cachent (liste JSON).",
        "gpc": "/.well-known/gpc.json : sa valeur gpc, ou missing (absent) / invalid (invalide).",
        "gpc_json": "Corps de /.well-known/gpc.json tel que servi.",
        "gpc_last_update": "/.well-known/gpc.json : sa valeur lastUpdate.",
        "title": "Titre de la page (texte collecté).",
        "text": "Instantané du texte de la page (pour la recherche et les comparaisons).",
        "text_sha256": "SHA-256 de l'instantané du texte : s'il change, la page a changé.",
        "fetched_at": "Quand (UTC).",
    },
    "findings": {
        "id": ID,
        "crawl_id": "L'exécution ou l'audit qui a enregistré cette ligne (crawls.id).",
        "rule_id": "Règle qui l'a produit.",
        "rule_version": "Version de la règle.",
        "severity": "high (élevée), medium (moyenne), low (faible) ou info.",
        "title": "Le constat en une ligne.",
        "detail": "Explication en langage courant, avec les faits.",
        "jurisdiction": "eu, fr, uk, us-ca.",
        "legal_reference": "Dispositions concernées (par exemple ePrivacy art. 5(3) ; RGPD art. 6).",
        "subject": "Site, application ou courtier concerné.",
        "visit_id": "Visite principale concernée.",
        "flow_id": "Flux principal concerné.",
        "broker_id": "Courtier concerné.",
        "evidence": "Lignes et fichiers qui le prouvent : [{table, id}] (JSON).",
        "fingerprint": "Empreinte stable de la règle, du sujet et des faits : le même constat d'une exécution à "
                       "l'autre.",
        "created_at": "Quand (UTC).",
    },
    "evidence_files": {
        "id": ID,
        "crawl_id": CRAWL,
        "visit_id": VISIT,
        "path": "Chemin relatif au dossier de preuves de la base.",
        "sha256": "SHA-256 du fichier.",
        "size": "Taille du fichier.",
        "media_type": "Type de média, par exemple image/png.",
        "documents": "Ce qu'il documente : screenshot (capture d'écran), har, banner (bandeau), banner-after (la "
                     "page après le clic sur le bandeau), snapshot (instantané), registry (registre), capture, "
                     "warc (le trafic de la visite, contenus compris, en fichier WARC : docs/archive.md).",
        "created_at": "Quand (UTC).",
    },
    "failures": {
        "id": ID,
        "crawl_id": CRAWL,
        "visit_id": VISIT,
        "flow_id": FLOW,
        "component": "Ce qui a échoué : un collecteur, une étape d'un addon, un décodeur ou le stockage.",
        "kind": "collector-error, redaction-failed, analysis-truncated, value-out-of-range, decode-error, "
                "missing-dependency, unsafe-path (un chemin tiré des données refusé : preuve non copiée) ou "
                "run-error (l'exécution elle-même s'est terminée sur une erreur).",
        "detail": "Une ligne qui dit ce qui s'est passé (type et message de l'exception, budget épuisé) ; "
                  "expurgée, jamais le texte brut de l'enregistrement.",
        "created_at": "Quand (UTC).",
    },
    "tracker_lists": {
        "id": ID,
        "name": "Nom de la liste : mouchard, ghostery, duckduckgo, disconnect, easylist, easyprivacy.",
        "source_url": "D'où elle a été téléchargée.",
        "version": "Version ou date de la liste.",
        "sha256": "SHA-256 du fichier téléchargé.",
        "licence": "Licence de la liste (certaines interdisent l'usage commercial : téléchargée, jamais "
                   "distribuée).",
        "entries": "Domaines ou règles qui en ont été lus.",
        "fetched_at": "Date du téléchargement (UTC).",
    },
})

COLUMNS["site_summary"] = {
    "id": ID,
    "crawl_id": "Le parcours web qui a enregistré cette ligne (crawls.id).",
    "site": "Domaine enregistrable du site visité (visits.site).",
    "tags": "Étiquettes de ses visites, d'après la liste de sites (liste JSON).",
    "visits": "Visites qui ont chargé (statut ok ou partial).",
    "failed_visits": "Visites qui n'ont pas chargé (timeout, erreurs...) : comptées nulle part ailleurs.",
    "phases": "Phases de consentement avec une visite qui a chargé (liste JSON : initial, reject, accept, gpc).",
    "requests": "Requêtes de ses visites qui ont chargé.",
    "third_party_requests": "Requêtes vers un autre site que le site visité.",
    "tracker_requests": "Requêtes vers des tiers adressées à une entreprise de pistage (requests.tracker_entity).",
    "tracker_entities": "Entreprises de pistage distinctes qui ont reçu une requête d'un tiers, toutes phases "
                        "confondues.",
    "advertising_entities": "Parmi elles, les entreprises qui ont reçu une requête publicitaire.",
    "tracker_entities_initial": "Entreprises de pistage dans la phase initial (aucune interaction) ; vide quand "
                                "cette phase n'a aucune visite qui a chargé.",
    "tracker_entities_reject": "Entreprises de pistage dans la phase reject (toute la visite) ; vide quand elle "
                               "n'a pas été visitée.",
    "tracker_entities_after_reject": "Entreprises de pistage avec une requête après le clic de refus "
                                     "(requests.time_ms au moins égal au consent.time_ms de l'action) ; vide "
                                     "quand aucun refus n'a été cliqué.",
    "tracker_entities_accept": "Entreprises de pistage dans la phase accept ; vide quand elle n'a pas été "
                               "visitée.",
    "tracker_entities_gpc": "Entreprises de pistage dans la phase gpc (Global Privacy Control envoyé) ; vide quand "
                            "elle n'a pas été visitée.",
    "tracking_cookies": "Cookies identifiants déposés par une entreprise de pistage ou un tiers "
                        "(cookies.identifier = 1), toutes phases confondues.",
    "tracking_cookies_before_consent": "Parmi eux, ceux déposés avant toute action de consentement.",
    "advertising_cookies": "Cookies d'un traceur publicitaire (tracker_category advertising).",
    "max_cookie_lifetime_days": "Plus longue durée de vie d'un cookie de pistage, telle que le site l'a demandée "
                                "(requested_lifetime_days, sinon la durée gardée lifetime_days).",
    "fingerprinting_scripts": "Scripts qui atteignent un seuil de prise d'empreinte (canvas, polices canvas, WebGL "
                              "ou audio ; table scripts).",
    "session_replay_scripts": "Scripts qui enregistrent la session (scripts.session_replay = 1).",
    "keylogging_leaks": "Texte tapé retrouvé dans une requête avant toute validation (fuites typed_email, "
                        "typed_password, typed_phone, typed_name, typed_text).",
    "pixel_events": "Événements signalés par les pixels publicitaires et les balises de mesure (pixel_events).",
    "meta_pixel_events": "Parmi eux, les événements du pixel Meta.",
    "google_events": "Parmi eux, les événements Google Analytics, Google Ads et Tag Manager.",
    "auctions": "Enchères publicitaires (rtb.auction_id distincts).",
    "bidders": "Enchérisseurs distincts dans ces enchères (rtb.bidder).",
    "id_syncs": "Identifiants vus passer d'un acteur à un autre (id_syncs).",
    "findings": "Constats des règles d'audit sur les visites de ce site dans ce parcours.",
    "high_findings": "Parmi eux, ceux de gravité élevée.",
    "reject_verified": "1 si un clic de refus a été fait et vérifié, 0 s'il a été fait sans être vérifié ; vide "
                       "quand aucun refus n'a été cliqué.",
    "accept_verified": "1 si un clic d'acceptation a été fait et vérifié, 0 s'il n'a pas été vérifié ; vide quand "
                       "aucune acceptation n'a été cliquée.",
    "gpc_statement": "Ce que disait /.well-known/gpc.json : true, false, ou vide quand il est absent ou n'a pas été "
                     "vérifié.",
    "consent": "Par phase : CMP, cadre, action, vérification, et la chaîne TC en vigueur avec ses partenaires "
               "(identifiant GVL et nom quand il est connu) et ses finalités (JSON).",
    "built_at": "Moment du calcul de cette ligne (UTC).",
}

COLUMNS["company_sites"] = {
    "id": ID,
    "crawl_id": "Le parcours web qui a enregistré cette ligne (crawls.id).",
    "tracker_entity": "L'entreprise (requests.tracker_entity ou cookies.tracker_entity).",
    "site": "Domaine enregistrable du site visité (visits.site).",
    "phase": "Phase de consentement des visites (visits.phase).",
    "visits": "Visites avec au moins une requête vers l'entreprise.",
    "requests": "Requêtes vers l'entreprise dans ces visites.",
    "cookies": "Cookies de l'entreprise déposés lors des visites de ce site dans cette phase.",
    "identifier_cookies": "Parmi eux, les cookies qui ressemblent à des identifiants (cookies.identifier = 1).",
    "cookies_before_consent": "Parmi eux, les cookies déposés avant toute action de consentement.",
    "cookies_after_reject": "Parmi eux, les cookies déposés après le clic de refus (phase reject, "
                            "cookies.before_consent = 0).",
    "built_at": "Moment du calcul de cette ligne (UTC).",
}

COLUMNS["company_cookies"] = {
    "id": ID,
    "crawl_id": "Le parcours web qui a enregistré cette ligne (crawls.id).",
    "tracker_entity": "L'entreprise (cookies.tracker_entity).",
    "name": "Nom du cookie (texte collecté).",
    "cookies": "Cookies de ce nom déposés lors des visites du parcours.",
    "identifier_cookies": "Parmi eux, les cookies qui ressemblent à des identifiants.",
    "max_lifetime_days": "Plus longue durée de vie, telle que demandée (requested_lifetime_days, sinon la durée "
                         "gardée lifetime_days).",
    "cookies_before_consent": "Parmi eux, les cookies déposés avant toute action de consentement.",
    "built_at": "Moment du calcul de cette ligne (UTC).",
}

# The Global Vendor List as a registry (mouchard.vendors.fetch).
TABLES.update({
    "vendor_lists": "Une version de la Global Vendor List (GVL) d'IAB Europe telle que récupérée, avec sa provenance "
                    "et ce qui a changé depuis la version précédente enregistrée.",
    "vendors": "Un fournisseur (vendor) d'une version de la GVL : les finalités qu'il revendique sur consentement ou "
               "intérêt légitime, la durée de ses cookies, ses liens de confidentialité et sa déclaration de stockage.",
    "vendor_disclosures": "Un cookie ou un élément de stockage déclaré dans la déclaration de stockage (Device Storage "
                          "Disclosure) d'un fournisseur.",
})

COLUMNS["vendor_lists"] = {
    "id": ID,
    "version": "Numéro de version de la liste (vendorListVersion).",
    "gvl_specification_version": "Version de la spécification de la GVL (gvlSpecificationVersion ; 3 pour TCF 2.2).",
    "tcf_policy_version": "Version de la politique TCF (tcfPolicyVersion).",
    "last_updated": "Date de mise à jour publiée dans la liste (lastUpdated, UTC).",
    "source_url": "D'où la liste a été récupérée (URL ou chemin).",
    "sha256": "Empreinte SHA-256 du fichier tel que récupéré.",
    "licence": "Conditions de publication de la liste (récupérée à l'exécution, jamais redistribuée).",
    "vendors": "Fournisseurs de la liste, supprimés compris.",
    "disclosures_fetched": "Déclarations de stockage récupérées et lues.",
    "disclosures_failed": "Déclarations qui n'ont pu être récupérées ou lues (voir vendors.disclosure_status).",
    "previous_version": "Version avec laquelle elle a été comparée (la plus récente version antérieure enregistrée).",
    "appeared": "Identifiants des fournisseurs apparus depuis previous_version (liste JSON).",
    "left": "Identifiants des fournisseurs partis ou nouvellement supprimés depuis previous_version (liste JSON).",
    "changed": "Fournisseurs dont les déclarations ont changé : {id: [champs]} (JSON).",
    "fetched_at": "Moment de la récupération (UTC).",
}

COLUMNS["vendors"] = {
    "id": ID,
    "vendor_list_id": "La version de la GVL (vendor_lists.id).",
    "vendor_id": "Identifiant GVL du fournisseur (celui des chaînes TC).",
    "name": "Nom du fournisseur tel que publié.",
    "purposes": "Finalités revendiquées sur consentement (liste JSON d'identifiants).",
    "leg_int_purposes": "Finalités revendiquées sur intérêt légitime (liste JSON d'identifiants).",
    "flexible_purposes": "Finalités dont l'éditeur peut changer la base légale (liste JSON).",
    "special_purposes": "Finalités spéciales (liste JSON d'identifiants).",
    "features": "Fonctionnalités (liste JSON d'identifiants).",
    "special_features": "Fonctionnalités spéciales, sur acceptation seulement (liste JSON ; 1 est la géolocalisation "
                        "précise).",
    "uses_cookies": "1 s'il déclare déposer des cookies.",
    "cookie_max_age_seconds": "Plus longue durée de vie de cookie qu'il déclare.",
    "cookie_refresh": "1 s'il déclare prolonger la durée de vie de ses cookies.",
    "uses_non_cookie_access": "1 s'il déclare un autre stockage sur l'appareil (localStorage...).",
    "privacy_url": "Politique de confidentialité (première langue publiée).",
    "legitimate_interest_url": "Page de revendication de l'intérêt légitime (première langue publiée).",
    "device_storage_disclosure_url": "Sa déclaration de stockage (JSON).",
    "disclosure_status": "ok, none (pas d'URL), failed: raison, ou not-fetched.",
    "domains": "Domaines que nomme sa déclaration (liste JSON).",
    "deleted_date": "Date à laquelle la GVL l'a marqué supprimé ; vide s'il ne l'est pas.",
    "tracker_entity": "Entreprise à laquelle il a été rattaché dans les listes de traceurs (dérivé).",
}

COLUMNS["vendor_disclosures"] = {
    "id": ID,
    "vendor_list_id": "La version de la GVL (vendor_lists.id).",
    "vendor_id": "Identifiant GVL du fournisseur.",
    "identifier": "Nom du cookie ou de la clé tel que déclaré (* est un joker).",
    "type": "cookie, web (localStorage, IndexedDB...) ou app.",
    "max_age_seconds": "Durée de vie déclarée ; vide pour un élément de session.",
    "cookie_refresh": "1 si sa durée de vie est prolongée.",
    "domain": "Domaine déclaré (* pour tout site, *.example.com pour ses sous-domaines).",
    "purposes": "Finalités déclarées pour lui (liste JSON).",
}

# Declared versus observed (mouchard.vendors.conduct): a rollup.
TABLES["vendor_conduct"] = ("Une ligne par parcours web, site visité, phase de consentement et fournisseur de la GVL "
                            "vu : ce que le fournisseur déclare, à côté de ce qu'il a fait et de ce que la chaîne de "
                            "consentement en vigueur autorisait (dérivé).")

COLUMNS["vendor_conduct"] = {
    "id": ID,
    "crawl_id": "Le parcours web qui a enregistré cette ligne (crawls.id).",
    "site": "Site visité.",
    "phase": "Phase de consentement (initial, reject, accept, gpc, revoke, second-site).",
    "vendor_id": "Identifiant GVL.",
    "vendor_name": "Nom du fournisseur dans la GVL.",
    "vendor_list_version": "Version de la GVL comparée.",
    "matched_by": "Comment le fournisseur a été reconnu : disclosure-domain (un domaine de sa déclaration), known-host "
                  "(hôtes de fournisseurs connus de mouchard), bidder (code d'enchérisseur Prebid ou gvlid), eid "
                  "(source d'un identifiant d'utilisateur dans une demande d'enchère), entity (entreprise de pistage), "
                  "tc-string (nommé dans la chaîne TC en vigueur) (liste JSON).",
    "hosts": "Hôtes du fournisseur contactés (liste JSON).",
    "requests": "Requêtes vers le fournisseur.",
    "cookies": "Cookies du fournisseur déposés.",
    "consent": "1 si la chaîne TC en vigueur donnait le consentement au fournisseur, 0 sinon, vide sans chaîne.",
    "legitimate_interest": "1 si la chaîne TC en vigueur signalait l'intérêt légitime du fournisseur.",
    "tc_string_purposes": "Finalités consenties dans la chaîne TC en vigueur (liste JSON).",
    "undisclosed_cookies": "Cookies déposés sur ses domaines que sa déclaration ne mentionne pas (liste JSON de noms).",
    "undisclosed_storage": "Éléments localStorage, sessionStorage ou IndexedDB de ses origines que sa déclaration ne mentionne pas (liste JSON de clés).",
    "longer_cookies": "Cookies gardés plus longtemps que déclaré : [{name, days, declared_days}] (JSON).",
    "undisclosed_domains": "Hôtes contactés que sa déclaration ne mentionne pas (liste JSON).",
    "purposes_without_basis": "Finalités qu'il revendique que la chaîne TC en vigueur n'autorisait ni par consentement ni "
                              "par intérêt légitime, alors que des données lui sont parvenues (liste JSON).",
    "forbidden_legitimate_interest": "Finalités signalées sur intérêt légitime alors que la politique du TCF exige le "
                                     "consentement (1, 3-6) (liste JSON).",
    "precise_geo_without_opt_in": "Demandes d'enchère qui lui ont envoyé des coordonnées précises sans l'acceptation de "
                                  "la fonctionnalité spéciale 1.",
    "not_in_cmp_list": "1 s'il a été appelé alors que la CMP ne l'a pas présenté (fournisseurs divulgués de la chaîne "
                       "TC).",
    "deleted": "1 si la GVL le marque supprimé.",
    "verdict": "as-declared (conforme à sa déclaration), beyond-declared (au-delà), not-comparable (pas de déclaration "
               "lue) ou without-basis (sans base légale).",
    "evidence": "Lignes qui le prouvent : [{table, id}] (JSON, borné).",
    "built_at": "Moment du calcul de cette ligne (UTC).",
}

# The private tables of a person's own database (mouchard me): in a module of their own.
TABLES.update(private_fr.TABLES)
COLUMNS.update(private_fr.COLUMNS)

DERIVED = "Dérivée : reconstruite par `mouchard classify` ou `mouchard audit`."


def table_description(table: str) -> str | None:
    """The French description of a table, or None if it has none yet."""
    return TABLES.get(table)


def column_description(table: str, column: str, unit: str | None = None) -> str | None:
    """The French description of a column, with its unit as French readers write it; None if it has none yet."""
    text = COLUMNS.get(table, {}).get(column)
    if text is None:
        return None
    return f"{text} (unité : {UNITS.get(unit, unit)})" if unit else text
