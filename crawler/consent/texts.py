"""Button texts of consent banners in the languages crawls meet, for the generic fallback.

Matching is on the whole visible text of a control (case and surrounding space ignored), never on a substring:
"Accept" must not match "Accept only necessary", and "Refuser" must not match a link to a refusal policy.
"""

from __future__ import annotations

import re

REJECT = (
    # en
    "reject", "reject all", "reject all cookies", "reject cookies", "reject optional cookies", "decline",
    "decline all", "decline cookies", "decline optional cookies", "deny", "deny all", "refuse", "refuse all",
    "disagree", "disagree to all", "i decline", "i disagree", "no, thanks", "no thanks", "necessary only",
    "only necessary", "necessary cookies only", "only necessary cookies", "use necessary cookies only",
    "accept only necessary", "accept necessary", "accept necessary cookies", "accept only essential cookies",
    "essential only", "only essential", "continue without accepting", "continue without agreeing",
    "allow necessary only", "allow essential only",
    # fr
    "tout refuser", "refuser", "refuser tout", "je refuse", "refuser les cookies", "continuer sans accepter",
    "non merci", "refuser et fermer", "tout rejeter", "rejeter", "uniquement les cookies nécessaires",
    # de
    "alle ablehnen", "ablehnen", "nur notwendige", "nur notwendige cookies", "nur essenzielle cookies",
    "nur essenzielle cookies akzeptieren", "nur erforderliche", "nur erforderliche cookies",
    "nur notwendige cookies akzeptieren", "ablehnen und schließen", "weiter ohne einwilligung", "ich lehne ab",
    # es
    "rechazar", "rechazar todo", "rechazar todas", "rechazar cookies", "solo necesarias", "no acepto",
    "continuar sin aceptar",
    # it
    "rifiuta", "rifiuta tutto", "rifiuta tutti", "solo necessari", "continua senza accettare", "rifiuto",
    # nl
    "alles weigeren", "weigeren", "afwijzen", "alles afwijzen", "alleen noodzakelijke", "alleen noodzakelijke cookies",
    # pt
    "rejeitar", "rejeitar tudo", "recusar", "recusar tudo", "rejeitar todos",
    # pl, sv, da, nb, fi, cs
    "odrzuć", "odrzuć wszystkie", "odrzucam", "avvisa", "avvisa alla", "neka", "neka alla", "avböj",
    "afvis", "afvis alle", "avslå", "avslå alle", "hylkää", "hylkää kaikki", "odmítnout", "odmítnout vše",
)

ACCEPT = (
    # en
    "accept", "accept all", "accept all cookies", "accept cookies", "accept and close", "accept & close",
    "allow", "allow all", "allow all cookies", "allow cookies", "agree", "agree to all", "i agree", "i accept",
    "ok", "okay", "got it", "that's ok", "yes", "yes, i agree", "agree and close", "accept and continue",
    # fr
    "tout accepter", "accepter", "accepter tout", "j'accepte", "accepter et fermer", "accepter et continuer",
    "ok pour moi", "accepter les cookies", "autoriser", "tout autoriser", "d'accord",
    # de
    "alle akzeptieren", "akzeptieren", "zustimmen", "alle zulassen", "einverstanden", "alle cookies akzeptieren",
    "akzeptieren und schließen", "alle erlauben", "ich stimme zu", "das ist ok",
    # es
    "aceptar", "aceptar todo", "aceptar todas", "aceptar cookies", "acepto", "aceptar y cerrar",
    # it
    "accetta", "accetta tutto", "accetta tutti", "accetto", "accetta e chiudi",
    # nl
    "alles accepteren", "accepteren", "akkoord", "alle cookies accepteren", "toestaan",
    # pt
    "aceitar", "aceitar tudo", "aceitar todos", "concordo",
    # pl, sv, da, nb, fi, cs
    "akceptuję", "zaakceptuj wszystkie", "zgadzam się", "acceptera", "acceptera alla", "godkänn alla",
    "accepter alle", "tillad alle", "godta alle", "hyväksy kaikki", "přijmout vše",
)

SETTINGS = (
    "manage preferences", "manage cookies", "manage options", "manage settings", "cookie settings",
    "cookies settings", "settings", "customize", "customise", "more options", "preferences", "options",
    "personnaliser", "paramétrer", "paramètres", "gérer mes choix", "gérer les cookies", "en savoir plus et personnaliser",
    "einstellungen", "anpassen", "mehr optionen", "cookie-einstellungen", "individuelle einstellungen",
    "configurar", "personalizar", "más opciones", "configuración", "personalizza", "impostazioni", "gestisci opzioni",
    "instellingen", "aanpassen", "definições", "personalizar cookies", "ustawienia", "inställningar", "indstillinger",
)

SAVE = (
    "save", "save settings", "save preferences", "save my choices", "save and exit", "save and close",
    "confirm my choices", "confirm choices", "confirm", "enregistrer", "enregistrer mes choix", "valider",
    "confirmer mes choix", "valider mes choix", "speichern", "auswahl speichern", "auswahl bestätigen",
    "einstellungen speichern", "guardar", "guardar configuración", "salva", "salva e chiudi", "opslaan",
    "guardar preferências", "zapisz", "spara", "gem",
)

# Words that say an element is about cookies or consent: a generic match needs one of them in the same frame.
CONSENT_WORDS = (
    "cookie", "consent", "privacy", "tracking", "gdpr", "rgpd", "dsgvo", "vie privée", "traceurs", "datenschutz",
    "einwilligung", "privacidad", "consentimento", "riservatezza", "consenso", "toestemming", "privacybeleid",
    "zgod", "samtycke", "samtykke",
)


def text_pattern(texts: tuple[str, ...]) -> re.Pattern[str]:
    """A case-insensitive regex that matches a control whose whole text is one of `texts` (punctuation around
    ignored: "Reject all ›", "✕ Refuser")."""
    alternatives = "|".join(re.escape(t).replace(r"\ ", r"\s+") for t in sorted(texts, key=len, reverse=True))
    return re.compile(rf"^\W*(?:{alternatives})\W*$", re.IGNORECASE)


def words_pattern(words: tuple[str, ...] = CONSENT_WORDS) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE)


REJECT_RE = text_pattern(REJECT)
ACCEPT_RE = text_pattern(ACCEPT)
SETTINGS_RE = text_pattern(SETTINGS)
SAVE_RE = text_pattern(SAVE)
CONSENT_WORDS_RE = words_pattern()

# Links and buttons that reopen the consent choices after a first choice (a footer link, a floating icon): the
# revoke phase (crawler/consent/sequences.py) looks for them before trying the CMP's JavaScript API.
REOPEN = (
    # fr
    "gérer les cookies", "gérer mes cookies", "paramètres des cookies", "paramètres cookies", "gérer mes choix",
    "gestion des cookies", "préférences cookies", "préférences de cookies", "modifier mes choix",
    "modifier mes préférences", "gérer le consentement", "gérer mon consentement", "cookies",
    # en
    "cookie settings", "cookies settings", "cookie preferences", "manage cookies", "manage cookie preferences",
    "privacy settings", "manage consent", "manage my choices", "change my choices", "your privacy choices",
    "do not sell or share my personal information",
    # de, es, it, nl
    "cookie-einstellungen", "datenschutz-einstellungen", "configuración de cookies", "impostazioni cookie",
    "cookie-instellingen",
)
REOPEN_RE = text_pattern(REOPEN)
