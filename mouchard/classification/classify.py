"""Who is behind a request: entity (company) and category from the tracker lists, with the list and rule that said so.

Matching, in order:
1. domain lists — the shipped mouchard list, then Ghostery, DuckDuckGo, Disconnect (whichever are in the cache):
   the host and each parent domain on a label boundary, longest first (`x.doubleclick.net` matches
   `doubleclick.net`, `notdoubleclick.net` does not); for the same domain the list earlier in that order wins.
2. ABP filter rules with the `adblock` engine (Brave's Rust engine): Ghostery's rules (which name the tracker),
   then EasyPrivacy (analytics) and EasyList (advertising), for requests whose host no domain list knows; the
   matching rule is kept, as Blacklight does.

Entity names are unified across lists to the shipped list's spelling (`ALIASES`, and legal suffixes such as
"LLC" or ", Inc." ignored), so one company has one name in every table.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from mouchard.classification import lists
from mouchard.decode.domains import host_of, is_ip
from mouchard.classification.lists import ListData

log = logging.getLogger(__name__)

# Other lists' names for companies, lower case -> the shipped list's spelling. Renamed companies go to their new
# name, product lines and absorbed brands to the company that runs them (see mouchard/data/trackers.csv notes).
ALIASES: dict[str, str] = {
    "facebook": "Meta", "meta platforms": "Meta", "instagram": "Meta", "whatsapp": "Meta",
    "doubleclick": "Google", "youtube": "Google", "firebase": "Google", "crashlytics": "Google", "alphabet": "Google",
    "appnexus": "Microsoft", "xandr": "Microsoft", "linkedin": "Microsoft", "bing": "Microsoft",
    "amazon.com": "Amazon", "amazon web services": "Amazon",
    "twitter": "X Corp", "x (twitter)": "X Corp",
    "tiktok": "ByteDance", "pangle": "ByteDance",
    "rubicon project": "Magnite", "the rubicon project": "Magnite", "spotx": "Magnite", "springserve": "Magnite",
    "smart adserver": "Equativ", "smartadserver": "Equativ",
    "openx software": "OpenX", "openx technologies": "OpenX",
    "thetradedesk": "The Trade Desk", "trade desk": "The Trade Desk",
    "taboola.com": "Taboola", "outbrain": "Teads", "zemanta": "Teads",
    "segment": "Twilio", "segment.io": "Twilio",
    "salesforce.com": "Salesforce", "krux": "Salesforce", "pardot": "Salesforce", "exacttarget": "Salesforce",
    "bluekai": "Oracle", "moat": "Oracle", "addthis": "Oracle", "eloqua": "Oracle",
    "marketo": "Adobe", "omniture": "Adobe",
    "cookiebot": "Usercentrics", "at internet": "Piano", "piano software": "Piano",
    "vungle": "Liftoff", "ironsource": "Unity", "unity ads": "Unity", "startapp": "Start.io",
    "branch metrics": "Branch", "appboy": "Braze", "urban airship": "Airship",
    "neustar": "TransUnion", "iovation": "TransUnion", "tapad": "Experian", "exelate": "Nielsen",
    "conversant": "Epsilon", "freewheel": "Comcast", "flurry": "Yahoo", "oath": "Yahoo", "verizon media": "Yahoo",
    "yahoo!": "Yahoo", "aol": "Yahoo", "parse.ly": "Automattic", "perimeterx": "HUMAN Security",
    "threatmetrix": "LexisNexis Risk Solutions", "lexisnexis": "LexisNexis Risk Solutions",
    "disqus": "Zeta Global", "smartlook": "Cisco", "mailchimp": "Intuit", "heap analytics": "Heap",
    "comscore": "Comscore", "id5 technology": "ID5", "fingerprintjs": "Fingerprint",
}

_LEGAL = re.compile(r"[\s,]+(inc|incorporated|llc|l\.l\.c|ltd|limited|corp|corporation|co|gmbh|ag|sa|s\.a|sas|"
                    r"bv|b\.v|nv|ab|aps|as|plc|srl|s\.r\.l|pty|holdings?|technologies|technology)\.?$")

# Browser (Playwright, DevTools) and proxy resource types -> the adblock engine's request types.
REQUEST_TYPES = {
    "document": "document", "main_frame": "document", "sub_frame": "subdocument", "subdocument": "subdocument",
    "iframe": "subdocument", "stylesheet": "stylesheet", "script": "script", "image": "image", "font": "font",
    "media": "media", "object": "object", "xhr": "xmlhttprequest", "fetch": "xmlhttprequest",
    "xmlhttprequest": "xmlhttprequest", "eventsource": "xmlhttprequest", "websocket": "websocket",
    "ping": "ping", "beacon": "ping", "cspviolationreport": "csp_report", "csp_report": "csp_report",
    "manifest": "web_manifest", "texttrack": "media",
}


def _key(name: str) -> str:
    key = " ".join(name.lower().split())
    while True:
        shorter = _LEGAL.sub("", key).rstrip(" ,.")
        if shorter == key:
            return key
        key = shorter


@dataclass(frozen=True)
class Classification:
    """What a host or request is: `entity` (may be None for a bare EasyList match), `category`, the `list` and
    `rule` (a domain, or an ABP filter) that matched, and the entity's country when a list gives it."""

    entity: str | None
    category: str
    list: str
    rule: str
    country: str | None = None

    @property
    def label(self) -> str:
        """'list: rule', the text of `tracker_list` columns (e.g. 'easyprivacy: ||stats.example^')."""
        return f"{self.list}: {self.rule}"


def _rank(name: str) -> int:
    return lists.PRIORITY.index(name) if name in lists.PRIORITY else len(lists.PRIORITY)


class Classifier:
    """Classifies hosts and URLs with a set of parsed lists. Build once per process (`default_classifier()`)."""

    def __init__(self, datasets: Sequence[ListData], manifests: Sequence[dict] = ()):
        self.manifests = list(manifests)
        ordered = sorted(datasets, key=lambda d: _rank(d.name))
        canonical = {_key(e): e for d in ordered[:1] if d.name == lists.SHIPPED_NAME
                     for e, _ in d.domains.values() if e}
        self._canonical = canonical
        self._entity_cache: dict[str | None, str | None] = {}
        self.countries: dict[str, str] = {}
        for data in ordered:
            for entity, country in data.countries.items():
                self.countries.setdefault(self.entity_name(entity), country)
        self._domains: dict[str, Classification] = {}
        for data in reversed(ordered):  # lowest priority first: earlier lists overwrite the same domain
            for domain, (entity, category) in data.domains.items():
                name = self.entity_name(entity)
                self._domains[domain] = Classification(name, category, data.name, domain, self.countries.get(name))
        self._filter_lists = [d for d in ordered if d.filters]
        self._engines: list[tuple[ListData, object]] | None = None
        self._host = lru_cache(maxsize=1 << 16)(self._lookup_host)

    # -- construction ---------------------------------------------------------------------------------------------

    @classmethod
    def load(cls, cache_dir: str | os.PathLike | None = None) -> "Classifier":
        """The shipped list plus every list downloaded into the cache (`mouchard lists update`)."""
        shipped = lists.parse_shipped(lists.shipped_path().read_bytes())
        datasets, manifests = [shipped], [lists.shipped_manifest()]
        for manifest in lists.cached_manifests(cache_dir):
            try:
                datasets.append(lists.load_cached(manifest, cache_dir))
                manifests.append(manifest)
            except (lists.ListFormatError, OSError, KeyError) as exc:
                log.warning("tracker list %s in the cache is unreadable (%s): run 'mouchard lists update'",
                            manifest.get("name"), exc)
        return cls(datasets, manifests)

    def provenance(self) -> list[dict]:
        """The lists in force (name, version, sha256, licence, source_url): what `crawls.tracker_lists` records."""
        return [{k: m.get(k) for k in ("name", "version", "sha256", "licence", "source_url")} for m in self.manifests]

    def entity_name(self, name: str | None) -> str | None:
        """One spelling per company: the shipped list's, through ALIASES and without legal suffixes."""
        if not name:
            return None
        if name not in self._entity_cache:
            key = _key(name)
            self._entity_cache[name] = self._canonical.get(key) or ALIASES.get(key) or ALIASES.get(name.lower()) \
                or name.strip()
        return self._entity_cache[name]

    # -- matching -------------------------------------------------------------------------------------------------

    def _lookup_host(self, host: str) -> Classification | None:
        if is_ip(host):
            return None
        labels = host.split(".")
        for start in range(len(labels) - 1):  # never a bare top-level label
            hit = self._domains.get(".".join(labels[start:]))
            if hit is not None:
                return hit
        return None

    def classify_host(self, host: str) -> Classification | None:
        """Domain lists only: the entity and category of a host (cached per host)."""
        host = host_of(host)
        return self._host(host) if host else None

    def _build_engines(self) -> list[tuple[ListData, object]]:
        import adblock

        engines = []
        for data in self._filter_lists:
            rules = adblock.FilterSet(debug=True)  # debug keeps the rule text, which we report as evidence
            rules.add_filter_list("\n".join(data.filters))
            engines.append((data, adblock.Engine(rules, optimize=True)))
        return engines

    def _check_filters(self, url: str, source_url: str, request_type: str) -> Classification | None:
        if self._engines is None:
            self._engines = self._build_engines()
        for data, engine in self._engines:
            result = engine.check_network_urls(url, source_url, request_type)
            if result.matched and result.filter:
                entity, category = data.filter_owners.get(result.filter, (None, data.filter_category or "other"))
                name = self.entity_name(entity)
                return Classification(name, category, data.name, result.filter, self.countries.get(name))
        return None

    def classify(self, url_or_host: str, resource_type: str | None = None,
                 first_party: str | None = None) -> Classification | None:
        """Classify a request URL (or a bare host, for app traffic); None when no list knows it.

        `resource_type` is a browser type (script, xhr, image, ping...) and `first_party` the visited page's URL or
        site: both only matter to filter rules (`$script`, `$third-party`).
        """
        host = host_of(url_or_host or "")
        if not host:
            return None
        hit = self._host(host)
        if hit is not None or not self._filter_lists:
            return hit
        url = url_or_host if "://" in url_or_host else f"https://{host}/"
        source = ""
        if first_party:
            source = first_party if "://" in first_party else f"https://{host_of(first_party)}/"
        request_type = REQUEST_TYPES.get((resource_type or "other").lower().replace("-", ""), "other")
        return self._check_filters(url, source, request_type)


@lru_cache(maxsize=1)
def default_classifier() -> Classifier:
    """The process's classifier: shipped list + the user's cached lists, loaded on first use."""
    return Classifier.load()


# Columns a row may name its subject in, most precise first (requests, flows, js_calls, storage, cookies).
_SUBJECT_KEYS = ("url", "host", "script_url", "origin", "domain")


def classify_rows(rows: Iterable[dict], *, first_party: str | None = None,
                  classifier: Classifier | None = None) -> list[dict]:
    """Fill tracker_entity, tracker_category and tracker_list ('list: rule') in rows with a url or host.

    A row's `resource_type` is used when present; rows no list knows get None in the three columns.
    """
    classifier = classifier or default_classifier()
    out = []
    for row in rows:
        subject = next((row[k] for k in _SUBJECT_KEYS if row.get(k)), None)
        found = classifier.classify(subject, row.get("resource_type"), first_party) if subject else None
        row["tracker_entity"] = found.entity if found else None
        row["tracker_category"] = found.category if found else None
        row["tracker_list"] = found.label if found else None
        out.append(row)
    return out
