"""Data-broker registrations as mouchard understands them: one record per registration, whatever the registry.

Pure logic shared by the registry importers and the broker-site crawl: header and name normalisation, yes/no
declarations (blank is "unknown", never "no"), website lists, numbers, the personal-email flag, the difference
between two snapshots of a registry, and links from brokers to tracker entities. No Scrapy here.
"""

from __future__ import annotations

import json
import re
import unicodedata
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from mouchard.decode.domains import site_of
from mouchard.identify.emails import personal_email

YES, NO, UNKNOWN = "yes", "no", "unknown"

# Fields of a registration compared between two snapshots to say a broker "changed".
COMPARED_FIELDS = ("name", "dba", "websites", "email", "phone", "address", "city", "state", "postal_code", "country",
                   "minors", "precise_geolocation", "reproductive_health", "fcra", "glba", "declarations",
                   "rights_url")


@dataclass
class Metric:
    """One number a broker reported: request type (delete, know...) x measure (received, denied...)."""

    request_type: str
    measure: str
    value: float


@dataclass
class BrokerRecord:
    """One registration as read from a registry file or portal, before it becomes a `brokers` row."""

    name: str
    dba: str | None = None
    websites: list[str] = field(default_factory=list)
    email: str | None = None
    phone: str | None = None
    address: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None
    minors: str = UNKNOWN
    precise_geolocation: str = UNKNOWN
    reproductive_health: str = UNKNOWN
    fcra: str = UNKNOWN
    glba: str = UNKNOWN
    declarations: dict[str, str] = field(default_factory=dict)
    rights_url: str | None = None
    notes: str | None = None
    raw: dict[str, str] = field(default_factory=dict)
    metrics: list[Metric] = field(default_factory=list)
    key: str = ""

    @property
    def website(self) -> str | None:
        return self.websites[0] if self.websites else None

    def row(self) -> dict:
        """The `brokers` columns this record fills (snapshot, registry and year are added by the caller)."""
        return {
            "key": self.key or broker_key(self.name), "name": self.name, "dba": self.dba,
            "website": self.website, "websites": self.websites, "site": site_of(self.website) if self.website else None,
            "email": self.email, "email_personal": int(email_personal(self.email)), "phone": self.phone,
            "address": self.address, "city": self.city, "state": self.state, "postal_code": self.postal_code,
            "country": self.country, "minors": self.minors, "precise_geolocation": self.precise_geolocation,
            "reproductive_health": self.reproductive_health, "fcra": self.fcra, "glba": self.glba,
            "declarations": self.declarations, "rights_url": self.rights_url, "notes": self.notes,
            "raw_json": self.raw,
        }


# --- text ---------------------------------------------------------------------------------------------------

_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201b": "'", "\u2032": "'", "\u201c": '"', "\u201d": '"',
                         "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\ufeff": ""})


def clean_text(value: str | None) -> str:
    """NBSP and other odd spaces to one space, curly quotes and dashes straight, trimmed."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFKC", str(value)).translate(_QUOTES)
    return re.sub(r"\s+", " ", text).strip()


def normalise_header(header: str) -> str:
    """A header as matched against known variants: cleaned, lower case, without trailing colons."""
    return clean_text(header).lower().rstrip(" :").strip()


def blank(value: str | None) -> bool:
    return not clean_text(value) or clean_text(value).lower() in ("n/a", "na", "none", "-", "--", "not applicable")


def text_or_none(value: str | None) -> str | None:
    """A cell as stored: cleaned of odd spaces at the ends, None when blank or 'N/A'."""
    if value is None or blank(value):
        return None
    return str(value).replace("\u00a0", " ").strip()


_LEGAL_SUFFIXES = {"inc", "incorporated", "llc", "l l c", "ltd", "limited", "corp", "corporation", "co", "company",
                   "lp", "llp", "plc", "gmbh", "ag", "sa", "sas", "sarl", "bv", "nv", "pllc", "pc", "the", "dba",
                   "holdings", "group"}


def broker_key(name: str | None) -> str:
    """The normalised legal name that follows a broker across snapshots ('Acme Data, Inc.' -> 'acme data')."""
    text = unicodedata.normalize("NFKD", clean_text(name)).encode("ascii", "ignore").decode().lower()
    text = text.replace("&", " and ")
    words = re.sub(r"[^a-z0-9]+", " ", text).split()
    while len(words) > 1 and words[-1] in _LEGAL_SUFFIXES:
        words.pop()
    while len(words) > 1 and words[0] == "the":
        words.pop(0)
    return " ".join(words)


def yes_no(value: str | None) -> str:
    """A registry declaration as yes, no or unknown. Blank means the broker did not answer: unknown, not no."""
    text = clean_text(value).lower().rstrip(".")
    if text in ("yes", "y", "true", "oui", "si", "sí", "ja"):
        return YES
    if text in ("no", "n", "false", "non", "nein"):
        return NO
    return UNKNOWN


def parse_number(value: str | None) -> float | None:
    """'9,321' -> 9321.0, '1.5' -> 1.5, blank or words -> None."""
    text = clean_text(value).replace(",", "").replace("$", "").rstrip("%").strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        return None


_DECLARATION_PREFIX = re.compile(r"^(the )?data broker('s)?( or any of its subsidiaries)?( is)? ")
_ACRONYM = re.compile(r"\(([a-z]{2,8})\)")


def slug(text: str, limit: int = 80) -> str:
    """A short snake_case key for a declaration header we have no column for.

    'The data broker ... is regulated by the federal Health Insurance Portability and Accountability Act (HIPAA):'
    becomes 'regulated_hipaa'; 'Data broker collects consumers' biometric data' 'collects_consumers_biometric_data'.
    """
    header = normalise_header(text)
    acronym = _ACRONYM.search(header)
    if acronym and "regulated" in header:
        return f"regulated_{acronym[1]}"
    words = re.sub(r"[^a-z0-9]+", " ", _DECLARATION_PREFIX.sub("", header)).split()
    out = ""
    for word in words:  # whole words only, up to `limit` characters
        if out and len(out) + 1 + len(word) > limit:
            break
        out = f"{out}_{word}" if out else word
    return out[:limit]


# --- URLs -------------------------------------------------------------------------------------------------

_URLDEFENSE = re.compile(r"https?://urldefense(?:\.proofpoint)?\.com/v3/__(?P<url>.+?)__;\S*", re.I)
_SAFELINKS = re.compile(r"https?://[a-z0-9.-]*safelinks\.protection\.outlook\.com/\S*?[?&]url=(?P<url>[^&\s]+)", re.I)


def unwrap_url(text: str) -> str:
    """Undo mail-security rewriting (Proofpoint urldefense v3, Outlook safelinks) that registrants pasted."""
    text = _URLDEFENSE.sub(lambda m: m["url"], text)
    return _SAFELINKS.sub(lambda m: urllib.parse.unquote(m["url"]), text)


_SEPARATORS = re.compile(r"[;,|\s]+")
_HOSTLIKE = re.compile(r"^(?:https?://)?(?:[a-z0-9-]+\.)+[a-z]{2,}(?::\d+)?(?:[/?#]\S*)?$", re.I)


def normalise_url(text: str | None) -> str | None:
    """A website as given ('www.x.com', 'https://x.com/a') to an absolute URL, or None if it is not one."""
    text = clean_text(unwrap_url(text or "")).strip(" .,;()<>\"'")
    if not text or " " in text:
        return None
    if not re.match(r"^https?://", text, re.I):
        if not _HOSTLIKE.match(text):
            return None
        text = "https://" + text
    parts = urllib.parse.urlsplit(text)
    if not parts.hostname or "." not in parts.hostname:
        return None
    return urllib.parse.urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path, parts.query, ""))


def split_websites(cell: str | None) -> list[str]:
    """Every website in a cell, in order, without duplicates: separated by ';', ',', '|', spaces or newlines."""
    text = unwrap_url(cell or "")
    out: list[str] = []
    for piece in _SEPARATORS.split(text):
        url = normalise_url(piece)
        if url and url not in out:
            out.append(url)
    return out


def first_url(cell: str | None) -> str | None:
    """The first URL in free text (a rights-page cell sometimes holds a sentence around the link)."""
    found = split_websites(cell)
    return found[0] if found else None


# --- contact emails ---------------------------------------------------------------------------------------

def email_personal(email: str | None) -> bool:
    """True when a contact cell holds a person's address: any address whose local part is not a role box
    (`mouchard.identify.emails`: privacy@, legal@, dpo@... spelled from a documented word list; no substring match, so
    john.wright@ is a person). Several addresses in a cell: personal if any is."""
    if not email:
        return False
    return any(personal_email(address) for address in re.split(r"[;,\s]+", email.strip()) if "@" in address)


# --- snapshots ------------------------------------------------------------------------------------------------

def assign_keys(records: Iterable[BrokerRecord]) -> list[BrokerRecord]:
    """Give each record its `key`; a name registered several times (one per DBA) is told apart by the DBA."""
    records = list(records)
    counts: dict[str, int] = {}
    for record in records:
        base = broker_key(record.name)
        counts[base] = counts.get(base, 0) + 1
    seen: dict[str, int] = {}
    for record in records:
        base = broker_key(record.name)
        key = base
        if counts[base] > 1:
            key = f"{base} / {broker_key(record.dba) or record.website or ''}".rstrip(" /")
        n = seen.get(key, 0)
        seen[key] = n + 1
        record.key = key if n == 0 else f"{key} #{n + 1}"
    return records


def _comparable(row: Mapping) -> dict:
    out = {}
    for name in COMPARED_FIELDS:
        value = row.get(name)
        if isinstance(value, str) and name in ("websites", "declarations"):
            value = json.loads(value or "null")
        out[name] = value
    return out


def diff_snapshots(old: Iterable[Mapping], new: Iterable[Mapping]) -> dict:
    """Brokers that appeared, left or changed between two snapshots (rows keyed by `key`).

    Returns {"appeared": [key...], "left": [key...], "changed": {key: [field...]}} with sorted keys.
    """
    before = {row["key"]: _comparable(row) for row in old}
    after = {row["key"]: _comparable(row) for row in new}
    changed = {}
    for key in sorted(set(before) & set(after)):
        fields = [name for name in COMPARED_FIELDS if before[key][name] != after[key][name]]
        if fields:
            changed[key] = fields
    return {"appeared": sorted(set(after) - set(before)), "left": sorted(set(before) - set(after)),
            "changed": changed}


# --- tracker entities ----------------------------------------------------------------------------------------

def link_tracker_entities(conn, classifier=None) -> int:
    """Fill `brokers.tracker_entity` where a broker's site is a known tracker domain; returns rows linked.

    `classifier` (a `mouchard.classification.classify.Classifier`) answers from the tracker lists; when it has no answer, or
    there is none, crawl data decides: the entity most often attributed to that site in `requests`, `cookies` or
    `flows`. Every row is recomputed, so `mouchard classify` after a list update re-derives them too.
    """
    sites = [r[0] for r in conn.execute("SELECT DISTINCT site FROM brokers WHERE site IS NOT NULL")]
    linked = 0
    for site in sites:
        found = classifier.classify_host(site) if classifier is not None else None
        entity = (found.entity if found else None) or _entity_from_crawls(conn, site)
        cur = conn.execute("UPDATE brokers SET tracker_entity = ? WHERE site = ?", (entity, site))
        if entity:
            linked += cur.rowcount
    return linked


def _entity_from_crawls(conn, site: str) -> str | None:
    best: dict[str, int] = {}
    for table in ("requests", "cookies", "flows"):
        for entity, count in conn.execute(
                f"SELECT tracker_entity, count(*) FROM [{table}] WHERE site = ? AND tracker_entity IS NOT NULL "
                f"GROUP BY tracker_entity", (site,)):
            best[entity] = best.get(entity, 0) + count
    return max(best, key=lambda e: (best[e], e)) if best else None
