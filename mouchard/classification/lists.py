"""Tracker lists: the shipped mouchard list, and the public lists downloaded into the user's cache.

Ghostery TrackerDB, DuckDuckGo's tracker data set and Disconnect are under CC BY-NC-SA 4.0, EasyList and
EasyPrivacy under GPL-3.0 / CC BY-SA 3.0: they are downloaded at run time, recorded (source URL, version, SHA-256,
licence) in the cache manifest and in `tracker_lists`, and never written into the repository.

Every list parses into one shape, `ListData`: domains mapped to (entity, category) and ABP filter rules. Categories
are mapped to mouchard's vocabulary (`CATEGORIES`) here, list by list; entity spellings are unified by classify.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from mouchard import __version__
from mouchard.errors import UserError
from mouchard.net import FetchError, NetworkOptions, download
from mouchard.settings import ENV_CACHE, lists_cache_root  # noqa: F401  (ENV_CACHE re-exported)

MAX_LIST_BYTES = 128 * 1024 * 1024  # the largest list (Ghostery's tarball) is a few MB

# The fixed category vocabulary of `tracker_category` (and of mouchard/data/trackers.csv).
CATEGORIES: dict[str, str] = {
    "advertising": "Ad serving, exchanges, bidders, retargeting and conversion pixels.",
    "analytics": "Site and app analytics, audience measurement, A/B testing, performance monitoring.",
    "social": "Social networks' buttons, widgets, comments and content hosted on their own domains.",
    "session-replay": "Records clicks, mouse moves, keys and page content to replay visits.",
    "tag-manager": "Loads other tags on the site owner's instructions.",
    "consent": "Consent management platforms (cookie banners, TCF/GPP strings).",
    "customer-interaction": "Chat, support, surveys, marketing automation, e-mail and push messaging.",
    "identity": "Audience data platforms, identity graphs and shared identifiers (ID5, RampID, Panorama ID).",
    "attribution": "Mobile measurement partners: install and event attribution from app SDKs.",
    "fingerprinting": "Device fingerprinting, bot detection, fraud detection and ad verification.",
    "data-broker": "Collects or sells data about people (location data, data marketplaces).",
    "cdn": "Content delivery, not a tracker by itself; listed so hosts get an owner.",
    "embedded": "Third-party players and embedded content (from the downloaded lists).",
    "other": "A downloaded list's category outside this vocabulary.",
}

LICENCE_NC = "CC BY-NC-SA 4.0"
LICENCE_EASYLIST = "GPL-3.0-or-later / CC BY-SA 3.0"
SHIPPED_NAME = "mouchard"
SHIPPED_LICENCE = "AGPL-3.0-or-later"


class ListFormatError(ValueError):
    """A downloaded file is not the list it should be; `str()` is one line."""


@dataclass
class ListData:
    """One list, parsed: `domains` maps a domain (or host) to (entity, category); `filters` are ABP rules.

    `filter_owners` gives (entity, category) for a rule when the list knows it (Ghostery); any other matching
    rule is classified `filter_category` with no entity (EasyList: advertising, EasyPrivacy: analytics).
    """

    name: str
    domains: dict[str, tuple[str | None, str]] = field(default_factory=dict)
    filters: list[str] = field(default_factory=list)
    filter_owners: dict[str, tuple[str | None, str]] = field(default_factory=dict)
    filter_category: str | None = None
    version: str | None = None
    countries: dict[str, str] = field(default_factory=dict)  # entity -> ISO country, when the list says

    @property
    def entries(self) -> int:
        return len(self.domains) + len(self.filters)


def _domain(text: str) -> str | None:
    from mouchard.decode.domains import normalize_host

    host = normalize_host(text)
    return host if "." in host else None


# -- shipped list -----------------------------------------------------------------------------------------------

def shipped_path() -> Path:
    return Path(str(resources.files("mouchard") / "data" / "trackers.csv"))


def parse_shipped(raw: bytes) -> ListData:
    """mouchard/data/trackers.csv: domain, entity, category, country, notes."""
    data = ListData(SHIPPED_NAME, version=__version__)
    for line, row in enumerate(csv.DictReader(io.StringIO(raw.decode("utf-8"))), start=2):
        domain, category = _domain(row.get("domain") or ""), (row.get("category") or "").strip()
        if not domain or category not in CATEGORIES:
            raise ListFormatError(f"trackers.csv line {line}: bad domain or category {category!r}")
        entity = (row.get("entity") or "").strip() or None
        data.domains[domain] = (entity, category)
        if entity and row.get("country"):
            data.countries[entity] = row["country"].strip()
    return data


def shipped_manifest() -> dict:
    raw = shipped_path().read_bytes()
    return {"name": SHIPPED_NAME, "source_url": "mouchard/data/trackers.csv", "version": __version__,
            "sha256": hashlib.sha256(raw).hexdigest(), "licence": SHIPPED_LICENCE,
            "entries": parse_shipped(raw).entries, "fetched_at": None, "file": None}


# -- Ghostery TrackerDB -----------------------------------------------------------------------------------------

GHOSTERY_CATEGORIES = {
    "advertising": "advertising", "pornvertising": "advertising", "site_analytics": "analytics",
    "social_media": "social", "customer_interaction": "customer-interaction", "consent": "consent",
    "hosting": "cdn", "audio_video_player": "embedded", "utilities": "other", "misc": "other", "extensions": "other",
}


def _ghostery_json(raw: bytes) -> tuple[dict, str | None]:
    """trackerdb.json from the npm tarball (or the JSON itself, as a mirror may serve it), and the version."""
    if raw.lstrip()[:1] == b"{":
        return json.loads(raw), None
    try:
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:*") as tar:
            version = None
            db = None
            for member in tar.getmembers():
                if member.name.endswith("dist/trackerdb.json") and member.isfile():
                    db = json.load(tar.extractfile(member))
                elif member.name.endswith("package.json") and member.name.count("/") == 1 and member.isfile():
                    version = json.load(tar.extractfile(member)).get("version")
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise ListFormatError(f"not an npm tarball: {exc}") from None
    if db is None:
        raise ListFormatError("no dist/trackerdb.json in the tarball")
    return db, version


def parse_ghostery(raw: bytes) -> ListData:
    """@ghostery/trackerdb: organizations, patterns (trackers), domains -> pattern, ABP filters -> pattern."""
    try:
        db, version = _ghostery_json(raw)
        patterns, organizations = db["patterns"], db.get("organizations") or {}
        domains, filters = db["domains"], db.get("filters") or {}
    except (KeyError, TypeError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ListFormatError(f"not a Ghostery trackerdb: {exc}") from None
    data = ListData("ghostery", version=version)

    def owner(pattern_id: str) -> tuple[str | None, str]:
        pattern = patterns.get(pattern_id) or {}
        org = organizations.get(pattern.get("organization") or "") or {}
        if org.get("name") and org.get("country"):
            data.countries.setdefault(org["name"], org["country"])
        entity = org.get("name") or pattern.get("name")
        return entity, GHOSTERY_CATEGORIES.get(pattern.get("category") or "", "other")

    for domain, pattern_id in domains.items():
        if host := _domain(domain):
            data.domains[host] = owner(pattern_id)
    for rule, pattern_id in filters.items():
        data.filters.append(rule)
        data.filter_owners[rule] = owner(pattern_id)
    if not data.entries:
        raise ListFormatError("Ghostery trackerdb has no domains")
    return data


# -- DuckDuckGo tracker data set ---------------------------------------------------------------------------------

# First match wins: the most telling category first.
DDG_CATEGORIES = (
    ("Session Replay", "session-replay"), ("Consent Management Platform", "consent"), ("Tag Manager", "tag-manager"),
    ("Advertising", "advertising"), ("Ad Motivated Tracking", "advertising"), ("Action Pixels", "advertising"),
    ("Audience Measurement", "analytics"), ("Analytics", "analytics"), ("Third-Party Analytics Marketing", "analytics"),
    ("Social Network", "social"), ("Social - Share", "social"), ("Social - Comment", "social"),
    ("Support Chat Widget", "customer-interaction"), ("Ad Fraud", "fingerprinting"),
    ("Fraud Prevention", "fingerprinting"), ("CDN", "cdn"), ("Embedded Content", "embedded"),
)


def parse_duckduckgo(raw: bytes) -> ListData:
    """DuckDuckGo tracker data set (tds.json): trackers with owner and categories."""
    try:
        tds = json.loads(raw)
        trackers = tds["trackers"]
        built = (tds.get("_builtWith") or {}).get("tracker-radar")
    except (KeyError, TypeError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ListFormatError(f"not a DuckDuckGo tracker data set: {exc}") from None
    data = ListData("duckduckgo", version=f"tracker-radar {built[:12]}" if built else None)
    for domain, tracker in trackers.items():
        host = _domain(domain)
        if not host or not isinstance(tracker, dict):
            continue
        owner = tracker.get("owner") or {}
        found = set(tracker.get("categories") or ())
        category = next((ours for theirs, ours in DDG_CATEGORIES if theirs in found), "other")
        data.domains[host] = (owner.get("displayName") or owner.get("name"), category)
    if not data.entries:
        raise ListFormatError("DuckDuckGo tracker data set has no trackers")
    return data


# -- Disconnect ----------------------------------------------------------------------------------------------------

# In order of preference when a domain is in several categories.
DISCONNECT_CATEGORIES = (
    ("FingerprintingInvasive", "fingerprinting"), ("FingerprintingGeneral", "fingerprinting"),
    ("Advertising", "advertising"), ("Analytics", "analytics"), ("Social", "social"),
    ("ConsentManagers", "consent"), ("Anti-fraud", "fingerprinting"), ("Email", "analytics"),
    ("EmailAggressive", "analytics"), ("Cryptomining", "other"), ("Content", "embedded"), ("Disconnect", "other"),
)


def parse_disconnect(raw: bytes) -> ListData:
    """Disconnect services.json: categories -> [{entity: {homepage: [domains]}}]."""
    try:
        categories = json.loads(raw)["categories"]
        if not isinstance(categories, dict):
            raise TypeError("categories is not an object")
    except (KeyError, TypeError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ListFormatError(f"not a Disconnect services.json: {exc}") from None
    data = ListData("disconnect")
    order = [name for name, _ in DISCONNECT_CATEGORIES] + sorted(set(categories) - {n for n, _ in DISCONNECT_CATEGORIES})
    ours = dict(DISCONNECT_CATEGORIES)
    for name in order:
        for entry in categories.get(name) or ():
            for entity, info in (entry.items() if isinstance(entry, dict) else ()):
                for value in (info.values() if isinstance(info, dict) else ()):
                    for domain in (value if isinstance(value, list) else ()):
                        if isinstance(domain, str) and (host := _domain(domain)):
                            data.domains.setdefault(host, (entity, ours.get(name, "other")))
    if not data.entries:
        raise ListFormatError("Disconnect services.json has no domains")
    return data


# -- EasyList / EasyPrivacy ------------------------------------------------------------------------------------------

_COSMETIC = ("##", "#@#", "#?#", "#$#", "#%#", "#@$#", "#@?#")


def _abp_parser(name: str, category: str) -> Callable[[bytes], ListData]:
    def parse(raw: bytes) -> ListData:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ListFormatError(f"{name} is not UTF-8 text") from None
        if text.lstrip()[:1] == "<":
            raise ListFormatError(f"{name}: got HTML, not a filter list")
        data = ListData(name, filter_category=category)
        for line in text.splitlines():
            line = line.strip()
            if line.startswith("! Version:") and not data.version:
                data.version = line.partition(":")[2].strip()
            if not line or line.startswith(("!", "[")) or any(mark in line for mark in _COSMETIC):
                continue  # comments, header, element hiding: only network rules classify requests
            data.filters.append(line)
        if not data.filters:
            raise ListFormatError(f"{name} has no network rules")
        return data

    return parse


# -- sources -----------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Source:
    """A downloadable list: where it comes from, under which licence, and how to read it."""

    name: str
    title: str
    licence: str
    filename: str
    parse: Callable[[bytes], ListData]
    url: str | None = None  # fixed download URL, or None when `resolve` finds it at run time
    resolve: Callable[[NetworkOptions], tuple[str, str | None]] | None = None  # -> (url, version)


NPM_PACKAGE = "@ghostery/trackerdb"


def resolve_npm(net: NetworkOptions) -> tuple[str, str | None]:
    """The tarball URL and version of @ghostery/trackerdb, asked of the npm client (its registry, its config)."""
    npm = shutil.which("npm")
    if not npm:
        raise FetchError("npm not found: install Node.js and npm to download the Ghostery list "
                         "(or pass --source ghostery=URL)")
    command = [npm, "view", NPM_PACKAGE, "dist.tarball", "version", "--json"]
    if net.proxy and net.proxy.startswith("http"):
        command += ["--proxy", net.proxy, "--https-proxy", net.proxy]
    if net.ignore_https_errors:
        command += ["--strict-ssl=false"]
    if net.ca_file:
        command += ["--cafile", net.ca_file]
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.SubprocessError) as exc:
        raise FetchError(f"npm view {NPM_PACKAGE}: {exc}") from None
    try:
        info = json.loads(out.stdout)
        return info["dist.tarball"], info.get("version")
    except (json.JSONDecodeError, KeyError, TypeError):
        reason = next((line for line in out.stderr.splitlines() if "ERR" in line), out.stderr.strip()[:200])
        raise FetchError(f"npm view {NPM_PACKAGE} failed: {reason or 'no answer'}") from None


SOURCES: dict[str, Source] = {s.name: s for s in (
    Source("ghostery", "Ghostery TrackerDB", LICENCE_NC, "ghostery-trackerdb.tgz", parse_ghostery,
           resolve=resolve_npm),
    Source("duckduckgo", "DuckDuckGo tracker data set (Tracker Radar)", LICENCE_NC, "duckduckgo-tds.json",
           parse_duckduckgo,
           url="https://raw.githubusercontent.com/duckduckgo/tracker-blocklists/main/web/v6/extension-tds.json"),
    Source("disconnect", "Disconnect tracking protection", LICENCE_NC, "disconnect-services.json", parse_disconnect,
           url="https://raw.githubusercontent.com/disconnectme/disconnect-tracking-protection/master/services.json"),
    Source("easylist", "EasyList", LICENCE_EASYLIST, "easylist.txt", _abp_parser("easylist", "advertising"),
           url="https://easylist.to/easylist/easylist.txt"),
    Source("easyprivacy", "EasyPrivacy", LICENCE_EASYLIST, "easyprivacy.txt", _abp_parser("easyprivacy", "analytics"),
           url="https://easylist.to/easylist/easyprivacy.txt"),
)}

# Where a list's matches rank: the shipped list first, then entity lists, then filter lists.
PRIORITY = (SHIPPED_NAME, "ghostery", "duckduckgo", "disconnect", "easyprivacy", "easylist")


# -- cache -----------------------------------------------------------------------------------------------------------

def cache_folder(explicit: str | os.PathLike | None = None) -> Path:
    """The lists folder: `explicit`, else $MOUCHARD_CACHE/lists, else $XDG_CACHE_HOME (~/.cache)/mouchard/lists."""
    if explicit:
        return Path(explicit)
    from_env = lists_cache_root()
    if from_env:
        return from_env
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mouchard" / "lists"


def manifest_path(folder: Path, name: str) -> Path:
    return folder / f"{name}.manifest.json"


def cached_manifests(folder: str | os.PathLike | None = None) -> list[dict]:
    """Manifests of the lists in the cache whose file is present, in PRIORITY order."""
    folder = cache_folder(folder)
    found = []
    for name in SOURCES:
        path = manifest_path(folder, name)
        try:
            manifest = json.loads(path.read_text("utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        if isinstance(manifest, dict) and manifest.get("name") == name and manifest.get("sha256") \
                and (folder / str(manifest.get("file"))).is_file():
            found.append(manifest)
    return sorted(found, key=lambda m: PRIORITY.index(m["name"]))


def load_cached(manifest: dict, folder: str | os.PathLike | None = None) -> ListData:
    """Parse a cached list file (raises ListFormatError or OSError)."""
    return SOURCES[manifest["name"]].parse((cache_folder(folder) / manifest["file"]).read_bytes())


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data)
    os.replace(tmp, path)


# -- update ------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class UpdateResult:
    """What happened to one list: its new manifest, or the one-line reason it failed."""

    name: str
    manifest: dict | None = None
    error: str | None = None


def parse_overrides(pairs: Iterable[str]) -> dict[str, str]:
    """`NAME=URL` pairs (from --source) to a dict; a clear error for unknown names."""
    overrides = {}
    for pair in pairs:
        name, sep, url = pair.partition("=")
        name, url = name.strip().lower(), url.strip()
        if not sep or not url:
            raise UserError(f"bad --source {pair!r}: expected NAME=URL, e.g. easylist=https://mirror.example/easylist.txt")
        if name not in SOURCES:
            raise UserError(f"unknown list {name!r} in --source: choose from {', '.join(SOURCES)}")
        overrides[name] = url
    return overrides


def update_one(source: Source, folder: Path, net: NetworkOptions, override: str | None = None) -> dict:
    """Download one list, check that it parses, write it and its manifest to `folder`; returns the manifest."""
    from mouchard.storage.store import utcnow

    version_hint = None
    if override:
        url = override
    elif source.resolve is not None:
        url, version_hint = source.resolve(net)
    else:
        url = source.url
    raw, modified = download(url, net, timeout=120, max_bytes=MAX_LIST_BYTES)
    try:
        data = source.parse(raw)
    except ListFormatError as exc:
        raise ListFormatError(f"{url}: {exc}") from None
    fetched_at = utcnow()
    manifest = {
        "name": source.name, "source_url": url,
        "version": data.version or version_hint or modified or f"fetched {fetched_at[:10]}",
        "sha256": hashlib.sha256(raw).hexdigest(), "licence": source.licence, "entries": data.entries,
        "fetched_at": fetched_at, "file": source.filename, "size": len(raw),
    }
    folder.mkdir(parents=True, exist_ok=True)
    _write_atomic(folder / source.filename, raw)
    _write_atomic(manifest_path(folder, source.name), json.dumps(manifest, indent=2).encode())
    return manifest


def record(store, manifests: Iterable[dict]) -> int:
    """Insert a `tracker_lists` row per manifest not recorded yet (same name, SHA-256 and download time).

    Idempotent, so a crawl can record the lists its classifier loaded (`Classifier.manifests`) at every start.
    """
    seen = {tuple(r) for r in store.conn.execute("SELECT name, sha256, fetched_at FROM tracker_lists")}
    columns = ("name", "source_url", "version", "sha256", "licence", "entries", "fetched_at")
    rows = [{k: m.get(k) for k in columns} for m in manifests
            if (m["name"], m["sha256"], m.get("fetched_at")) not in seen]
    return store.insert_many("tracker_lists", rows) if rows else 0


def update(names: Iterable[str] | None = None, cache_dir: str | os.PathLike | None = None,
           net: NetworkOptions = NetworkOptions(), store=None, overrides: dict[str, str] | None = None,
           on_result: Callable[[UpdateResult], None] | None = None) -> list[UpdateResult]:
    """Download lists (all by default) into the cache and record them in `store`; one failure stops no other.

    `overrides` maps a list name to another URL (a mirror, a test server). Downloads go through `net`, so
    --proxy and --host-map apply; the Ghostery tarball's address is asked of the npm client.
    """
    names = list(names or SOURCES)
    unknown = [n for n in names if n not in SOURCES]
    if unknown:
        raise UserError(f"unknown list {', '.join(unknown)}: choose from {', '.join(SOURCES)}")
    overrides = overrides or {}
    folder = cache_folder(cache_dir)
    results = []
    for name in dict.fromkeys(names):
        try:
            result = UpdateResult(name, manifest=update_one(SOURCES[name], folder, net, overrides.get(name)))
        except (FetchError, ListFormatError, OSError) as exc:
            result = UpdateResult(name, error=" ".join(str(exc).split()) or type(exc).__name__)
        results.append(result)
        if on_result:
            on_result(result)
    if store is not None:
        record(store, [shipped_manifest()] + [r.manifest for r in results if r.manifest])
    return results
