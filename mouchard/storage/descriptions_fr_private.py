"""French descriptions of the private tables (`mouchard.storage.schema.PRIVATE_TABLES`, `mouchard me`): the person
who browses their own database in Datasette, on their machine, reads French first. mouchard.storage.descriptions_fr
merges them into its tables; the same rules apply (stored values such as `refused`, `gdpr` are kept as stored)."""

from __future__ import annotations

ID = "Identifiant de la ligne."
UTC = "(UTC)"

TABLES: dict[str, str] = {
    "me_person": "La personne dont cette base privée contient les propres captures (une ligne) : ce qui signe les "
                 "lettres. Sa présence rend la base privée : publish et merge la refusent.",
    "me_companies": "Une organisation qui a reçu des données sur la personne, identifiée par les listes de traceurs, la "
                    "liste des fournisseurs d'IAB Europe et les registres de courtiers (dérivé par `mouchard me "
                    "report`).",
    "me_received": "Une chose qu'une organisation a reçue sur la personne : un identifiant de cookie et sa valeur, un "
                   "identifiant publicitaire, un e-mail haché, une position, un champ personnel d'une demande "
                   "d'enchère, un identifiant synchronisé vers d'autres (dérivé).",
    "me_contact_sources": "Une base de contacts d'entreprises récupérée à l'exécution (celle de datenanfragen.de, CC0), "
                          "avec sa provenance.",
    "me_contacts": "Une fiche d'entreprise d'une base de contacts : où envoyer les demandes sur les données "
                   "personnelles.",
    "me_letters": "Une lettre préparée pour la personne : accès, opposition, effacement, CCPA, relance ou plainte.",
    "me_requests": "Une demande envoyée par la personne, et où elle en est : délai, relances, réponse.",
    "me_answers": "L'export d'une réponse d'entreprise importé (CSV, JSON ou un ZIP de ces fichiers) : ce qu'elle dit "
                  "détenir.",
    "me_answer_items": "Une valeur que la réponse d'une entreprise dit détenir, face à ce que mouchard l'a vue recevoir.",
}

COLUMNS: dict[str, dict[str, str]] = {
    "me_person": {
        "id": ID,
        "created_at": f"Moment où la base est devenue privée {UTC}.",
        "name": "Nom de la personne, tel que les lettres sont signées.",
        "email": "Adresse e-mail de la personne : où les entreprises doivent répondre.",
        "postal_address": "Adresse postale de la personne (plusieurs lignes).",
        "country": "Pays de résidence (ISO 3166 alpha-2) : l'autorité à qui adresser une plainte.",
        "region": "État ou région (par exemple CA pour la Californie : les lettres CCPA s'appliquent).",
        "language": "Langue des lettres et de la page : fr ou en.",
        "profile": "Les propres valeurs de la personne cherchées dans le trafic : identifiants, position, contacts "
                   "(JSON, au format d'un profil d'appareil).",
        "profile_file": "Nom du fichier d'où ces valeurs ont été lues.",
    },
    "me_companies": {
        "id": ID,
        "key": "Clé stable de l'organisation (son nom en minuscules, sans accents ni espaces) : ce à quoi renvoient "
               "les demandes.",
        "name": "Nom de l'organisation.",
        "domains": "Domaines enregistrables vus pour elle (liste JSON).",
        "sources": "Comment elle a été identifiée : trackers:<liste>, gvl:<identifiant>, broker:<registre>, domain "
                   "(liste JSON).",
        "gvl_vendor_id": "Son identifiant dans la liste des fournisseurs d'IAB Europe, si elle y figure.",
        "leg_int_purposes": "Finalités TCF qu'elle revendique sur intérêt légitime dans la liste des fournisseurs : ce "
                            "que vise une opposition (article 21) (liste JSON d'identifiants).",
        "broker_registries": "Registres américains de courtiers en données où elle est inscrite (liste JSON).",
        "regimes": "Lois dont les lettres s'appliquent : gdpr (RGPD), ccpa (liste JSON).",
        "items": "Nombre de choses distinctes reçues (lignes de me_received).",
        "first_seen": f"Première fois qu'elle a reçu quelque chose {UTC}.",
        "last_seen": f"Dernière fois qu'elle a reçu quelque chose {UTC}.",
        "recipients": "Organisations à qui on l'a vue transmettre les données de la personne : enchérisseurs de ses "
                      "enchères, destinataires de ses synchronisations d'identifiants (liste JSON).",
        "contact_email": "E-mail de contact pour les données personnelles (selon contact_source).",
        "contact_url": "Page ou formulaire sur les données personnelles.",
        "contact_address": "Adresse postale pour les lettres.",
        "contact_source": "D'où vient le contact : datenanfragen, gvl, broker:<registre>, none (aucun).",
        "contact_source_id": "La base de contacts récupérée (me_contact_sources.id).",
        "contact_source_url": "Où le contact a été lu : la base de contacts, la liste des fournisseurs ou le fichier du "
                              "registre de courtiers (URL ou chemin).",
        "contact_fetched_at": f"Moment où cette source a été récupérée {UTC}.",
        "built_at": f"Moment du calcul de cette ligne {UTC}.",
    },
    "me_received": {
        "id": ID,
        "company_id": "L'organisation (me_companies.id).",
        "kind": "cookie, advertising_id, android_id, imei, email, email_hash, phone, phone_hash, location, bid_field, "
                "id_sync, page_view, connection, ou un autre type d'identifiant des fuites (leaks).",
        "name": "Nom du cookie, paramètre, en-tête ou chemin JSON par lequel c'est passé.",
        "value": "La valeur exacte reçue, telle que les lettres la citent (les données de la personne : cette base ne "
                 "quitte jamais sa machine).",
        "host": "Hôte qui l'a reçue ou déposée.",
        "source": "Site visité ou application qui l'a envoyée.",
        "source_kind": "site ou app.",
        "first_seen": f"Première fois {UTC}.",
        "last_seen": f"Dernière fois {UTC}.",
        "times": "Nombre de fois où c'a été vu.",
        "consent": "État du consentement à l'envoi : none-asked (rien demandé), no-choice (bandeau affiché, sans "
                   "réponse), refused (refusé), accepted (accepté), gpc, withdrawn (retiré), ou vide pour le trafic "
                   "d'application.",
        "precision_m": "Pour les positions : distance à la position réelle.",
        "recipients": "Organisations vers lesquelles c'est reparti (liste JSON).",
        "evidence": "Lignes qui le prouvent : [{table, id}] (JSON, borné).",
    },
    "me_contact_sources": {
        "id": ID,
        "source": "datenanfragen, ou une autre source nommée.",
        "url": "D'où elle a été récupérée.",
        "fetched_at": f"Quand {UTC}.",
        "sha256": "SHA-256 du fichier tel que récupéré.",
        "licence": "Licence sous laquelle elle est publiée.",
        "records": "Fiches d'entreprises lues.",
        "rejected": "Fiches écartées (invalides ou hors budget).",
    },
    "me_contacts": {
        "id": ID,
        "source_id": "La base de contacts (me_contact_sources.id).",
        "slug": "Identifiant de la fiche dans sa base.",
        "name": "Nom de l'entreprise.",
        "domains": "Domaines enregistrables de ses sites (liste JSON).",
        "runs": "Autres noms sous lesquels elle répond : services, marques, anciens noms (liste JSON).",
        "email": "E-mail de contact pour les données personnelles.",
        "url": "Site ou formulaire sur les données personnelles.",
        "address": "Adresse postale.",
        "country": "Pays concernés (liste JSON).",
        "medium": "Moyen d'envoi conseillé : email, letter (courrier), fax, webform (formulaire).",
    },
    "me_letters": {
        "id": ID,
        "company_key": "L'organisation (me_companies.key).",
        "kind": "access (RGPD, article 15), objection (article 21), erasure (article 17), ccpa-know, ccpa-delete, "
                "reminder (relance), complaint (plainte).",
        "language": "fr ou en.",
        "recipient": "Où elle est adressée : e-mail, formulaire ou adresse postale.",
        "subject": "Objet.",
        "text": "La lettre en texte brut.",
        "files": "Fichiers écrits : texte, HTML, PDF, e-mail (JSON {format : nom de fichier}).",
        "created_at": f"Moment où elle a été préparée {UTC}.",
    },
    "me_requests": {
        "id": ID,
        "company_key": "L'organisation (me_companies.key).",
        "kind": "Type de lettre envoyée (access, objection, erasure, ccpa-know, ccpa-delete).",
        "letter_id": "La lettre envoyée (me_letters.id).",
        "regime": "gdpr (RGPD) ou ccpa : quels délais s'appliquent.",
        "channel": "email, post (courrier), webform (formulaire).",
        "sent_on": "Date d'envoi (AAAA-MM-JJ).",
        "received_on": "Date de réception par l'entreprise (AAAA-MM-JJ) : le délai court à partir d'elle.",
        "due_on": "Échéance (AAAA-MM-JJ) : un mois pour le RGPD (article 12(3)), 45 jours pour le CCPA.",
        "extended_to": "Échéance après prolongation par l'entreprise (AAAA-MM-JJ), le cas échéant.",
        "answered_on": "Date d'arrivée d'une réponse (AAAA-MM-JJ).",
        "reminder_sent_on": "Date d'envoi d'une relance (AAAA-MM-JJ).",
        "complaint_on": "Date de dépôt d'une plainte (AAAA-MM-JJ).",
        "status": "waiting (en attente), answered (répondu), overdue (en retard), extended (prolongé), complained "
                  "(plainte déposée) ou closed (terminé).",
        "notes": "Notes de la personne.",
    },
    "me_answers": {
        "id": ID,
        "request_id": "La demande à laquelle elle répond (me_requests.id).",
        "company_key": "L'organisation.",
        "imported_at": f"Moment de l'import {UTC}.",
        "file_name": "Nom du fichier importé.",
        "sha256": "SHA-256 du fichier.",
        "format": "csv, json ou zip (de fichiers CSV et JSON).",
        "items": "Valeurs lues.",
        "status": "ok, partial (un budget l'a coupé : voir reason) ou failed (échec).",
        "reason": "Pourquoi ce n'est pas ok, en une ligne.",
    },
    "me_answer_items": {
        "id": ID,
        "answer_id": "La réponse (me_answers.id).",
        "path": "Où dans l'export : colonne ou chemin JSON, et ligne.",
        "value": "La valeur telle qu'exportée (bornée).",
        "matched_kind": "Type de l'élément observé auquel elle correspond (me_received.kind), s'il y en a un.",
        "matched_name": "Nom de l'élément observé auquel elle correspond (nom du cookie, champ).",
    },
}
