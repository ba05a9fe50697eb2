"""Company contact databases fetched at run time, and which contact a company's letters go to.

The contact database is datenanfragen.de's company database (https://github.com/datenanfragen/data, CC0 1.0):
one JSON record per company (`slug`, `name`, `runs`, `web`, `address`, `email`, `webform`,
`relevant-countries`, `suggested-transport-medium`, ... as its `schema.json` says). It is fetched at run time,
never shipped: by default the GitHub archive of the repository (`companies/<slug>.json` in a .tar.gz); a JSON
dump (an array of records, an object of records, or the website's `offline-data.json` whose `companies` is an
array or a JSON-encoded array) or a local file of either shape is read the same way.

Everything in it is hostile input: the download is capped, the archive is read as a stream in memory (regular
`companies/<slug>.json` members only, each and all of them capped, never extracted, no name from the data ever
becomes a path), and each record is validated; a record that fails is counted in `rejected`, never an error.

Contact resolution (`resolve`) takes ONE source for a company, so the letter can say where its address came from:
the newest contact database (a record whose domains meet the company's, else whose name or `runs` equals its
name), else the GVL vendor's privacy page, else the broker registration; fields are not mixed across sources.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import re
import sqlite3
import tarfile
import unicodedata
import urllib.parse
import zlib

from mouchard.errors import UserError
from mouchard.me.model import Company, Contact
from mouchard.storage.store import dict_rows, table_exists

SOURCE = "datenanfragen"
LICENCE = "CC0-1.0"
# The repository itself (the source of truth, with its LICENSE): GitHub's archive of the default branch.
DEFAULT_URL = "https://codeload.github.com/datenanfragen/data/tar.gz/refs/heads/master"
# The dump the website builds from it (dump-format 1): also read, should the archive URL ever move.
DUMP_URL = "https://www.datarequests.org/offline-data.json"

MAX_DOWNLOAD_BYTES = 200 * 1024 * 1024  # as fetched (compressed); the whole repository is a few MB
MAX_UNPACKED_BYTES = 512 * 1024 * 1024  # decompressed bytes read from a .tar.gz or .json.gz, in all
MAX_MEMBERS = 100_000  # archive entries looked at (the repository has ~5,000)
MAX_MEMBER_BYTES = 1024 * 1024  # one record file (the largest is ~8 KB)
MAX_RECORDS = 50_000  # records kept; beyond, counted as rejected
DOWNLOAD_TIMEOUT = 120.0

MAX_NAME = 300
MAX_ADDRESS = 1000
MAX_ADDRESS_LINES = 12
MAX_URL = 2000
MAX_RUNS = 500
MAX_DOMAINS = 64
MAX_COUNTRIES = 64

_MEMBER = re.compile(r"^(?:(?!\.\.?/)[^/]{1,200}/)?companies/([a-z0-9-]{1,200})\.json$")
_SLUG = re.compile(r"^[a-z0-9-]{1,200}$")
_COUNTRY = re.compile(r"^(?:[a-z]{2}|all)$")
_EMAIL_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}$")
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
# A domain named inside a `runs` entry ("Bing (www.bing.com)", "Outlook.com (live.com)").
_DOMAIN_IN_TEXT = re.compile(r"(?<![\w.@-])((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63})(?![\w@-])",
                             re.IGNORECASE)
# Legal forms that read as a domain in free text ("GmbH & Co.KG", "Foo Co.Ltd"): not a site's own label.
LEGAL_FORMS = frozenset({"ag", "bv", "co", "corp", "e", "gmbh", "inc", "kg", "llc", "ltd", "nv", "sa", "sas", "se"})
MEDIA = ("email", "letter", "fax", "webform")
QUALITY_OBSOLETE = "obsolete"


class _TooBig(Exception):
    pass


class _CappedReader(io.RawIOBase):
    """A file object over a decompressing stream that refuses to give more than `cap` bytes in all: a gzip
    bomb is stopped after `cap` bytes of output, whatever tarfile or json asks for."""

    def __init__(self, inner, cap: int):
        self.inner, self.cap, self.used = inner, cap, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.inner.read(min(len(buffer), self.cap - self.used + 1))
        self.used += len(data)
        if self.used > self.cap:
            raise _TooBig
        buffer[:len(data)] = data
        return len(data)


# -- validation ---------------------------------------------------------------------------------------------


def _clean_text(value, limit: int, *, lines: int = 1) -> str | None:
    """`value` trimmed when it is text within `limit` characters and `lines` lines, without control or bidi
    characters (they would reorder or hide text in a letter); else None."""
    if not isinstance(value, str):
        return None
    text = value.replace("\r\n", "\n").strip()  # a file saved on Windows; a lone CR stays refused below
    if not text or len(text) > limit:
        return None
    parts = [line.strip() for line in text.split("\n")]
    if len(parts) > lines or any(not line for line in parts):
        return None
    for char in text:
        if char == "\n":
            continue
        if unicodedata.category(char) in ("Cc", "Cs", "Co") or unicodedata.bidirectional(char) in (
                "LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI"):
            return None
    return "\n".join(parts)


def _domain_name(text: str) -> str | None:
    """`text` as a host name in normal form (punycode, lower case) when it is a plausible DNS name with a dot."""
    from mouchard.decode.domains import is_ip, normalize_host

    if not text or len(text) > 253 or any(c.isspace() for c in text):
        return None
    try:
        host = normalize_host(text)
    except (UnicodeError, ValueError):
        return None
    if not host or "." not in host or is_ip(host) or len(host) > 253:
        return None
    if not all(_LABEL.match(label) for label in host.split(".")):
        return None
    return host


def valid_email(value) -> str | None:
    """The address when it is one plain `local@domain` (no display name, spaces, commas or brackets: it goes in
    a To: header), else None."""
    if not isinstance(value, str) or len(value) > 254 or value.count("@") != 1:
        return None
    local, domain = value.strip().split("@")
    if not _EMAIL_LOCAL.match(local) or local.startswith(".") or local.endswith(".") or ".." in local:
        return None
    host = _domain_name(domain)
    return f"{local}@{host}" if host else None


def valid_url(value) -> str | None:
    """The URL when it is http(s) with a host name and no spaces or control characters, else None."""
    if not isinstance(value, str) or not value or len(value) > MAX_URL:
        return None
    if any(c.isspace() or unicodedata.category(c) == "Cc" for c in value):
        return None
    try:
        parts = urllib.parse.urlsplit(value)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host or parts.username or parts.password:
        return None
    return value if _domain_name(host) else None


def _site(host: str, *, known_suffix: bool = False) -> str | None:
    """The registrable domain of `host` (mouchard.decode.domains.site_of: a name under no public suffix, such as
    the test web's `tracker-one.test`, is its own site); None for a public suffix, a name without a dot, or,
    with `known_suffix`, a name under no public suffix."""
    from mouchard.decode.domains import is_public_suffix, offline_tldextract, site_of

    site = site_of(host)
    if not site or "." not in site or is_public_suffix(site):
        return None
    if known_suffix and (not offline_tldextract()(site).suffix or site.split(".")[0] in LEGAL_FORMS):
        return None
    return site


def record_domains(web: str | None, runs: list[str]) -> list[str]:
    """Registrable domains of a record: its website's first, then every domain its `runs` entries name."""
    from mouchard.decode.domains import host_of

    found: list[str] = []
    candidates = [(host_of(web), False)] if web else []
    for entry in runs:
        # Names in free text ("GmbH & Co.KG", "web.cent") look like domains: only real public suffixes count.
        candidates += [(m.group(1), True) for m in _DOMAIN_IN_TEXT.finditer(entry)]
    for candidate, known_suffix in candidates:
        host = _domain_name(candidate)
        site = _site(host, known_suffix=known_suffix) if host else None
        if site and site not in found:
            found.append(site)
        if len(found) >= MAX_DOMAINS:
            break
    return found


def parse_record(record) -> dict | None:
    """A me_contacts row (without source_id) from one datenanfragen.de record, or None when it is not usable:
    not an object, an obsolete record, a field of the wrong type or length, an e-mail that is not one plain
    address, a URL that is not http(s), or nothing to write to (no e-mail, web form or address)."""
    if not isinstance(record, dict):
        return None
    slug = record.get("slug")
    if not isinstance(slug, str) or not _SLUG.match(slug) or record.get("quality") == QUALITY_OBSOLETE:
        return None
    name = _clean_text(record.get("name"), MAX_NAME)
    if name is None:
        return None
    row: dict = {"slug": slug, "name": name}
    for key, check in (("email", valid_email), ("webform", valid_url)):
        value = record.get(key)
        if value is not None and check(value) is None:
            return None  # a contact channel that is not one: the record is suspect
        row[key] = check(value) if value is not None else None
    # The homepage is no contact, only where domains come from: a typo there ("httsp://") drops the field only.
    row["web"] = valid_url(record.get("web"))
    address = record.get("address")
    if address is not None:
        address = _clean_text(address, MAX_ADDRESS, lines=MAX_ADDRESS_LINES)
        if address is None:
            return None
    runs = record.get("runs", [])
    if not isinstance(runs, list) or len(runs) > MAX_RUNS:
        return None
    runs = [_clean_text(entry, MAX_NAME) for entry in runs]
    if any(entry is None for entry in runs):
        return None
    countries = record.get("relevant-countries", [])
    if not isinstance(countries, list) or len(countries) > MAX_COUNTRIES or not all(
            isinstance(c, str) and _COUNTRY.match(c) for c in countries):
        return None
    medium = record.get("suggested-transport-medium")
    if medium is not None and medium not in MEDIA:
        return None
    if not (row["email"] or row["webform"] or address):
        return None
    return {"slug": slug, "name": name, "domains": record_domains(row["web"], runs),
            "email": row["email"], "url": row["webform"] or row["web"], "address": address,
            "country": list(dict.fromkeys(countries)),
            # The schema's default: e-mail when there is an address for it, else a letter.
            "medium": medium or ("email" if row["email"] else "letter"), "runs": runs}


# -- reading the database -----------------------------------------------------------------------------------


def _json_records(text: bytes) -> list:
    """The records of a JSON dump: an array, an object of records by slug, one record, or the website's
    offline-data.json (`companies` an array or a JSON text of one)."""
    try:
        data = json.loads(text)
        if isinstance(data, dict) and "companies" in data:
            data = data["companies"]
            if isinstance(data, str):
                data = json.loads(data)
    except (ValueError, RecursionError):
        raise UserError("not a datenanfragen.de company database: the JSON cannot be read") from None
    if isinstance(data, dict):
        data = [data] if "slug" in data else list(data.values())
    if not isinstance(data, list):
        raise UserError("not a datenanfragen.de company database: expected a list of company records")
    return data


def _tar_records(stream) -> tuple[list, int]:
    """(records, rejected) of a tar stream: regular `companies/<slug>.json` members parsed in memory; a member
    under companies/ that is a link, too large, misnamed or not JSON is rejected."""
    records, rejected, seen = [], 0, 0
    try:
        with tarfile.open(fileobj=stream, mode="r|") as archive:
            for member in archive:
                seen += 1
                if seen > MAX_MEMBERS:
                    raise UserError(f"not a datenanfragen.de company database: more than {MAX_MEMBERS} "
                                    "archive entries")
                name = member.name
                if "companies/" not in name or not name.endswith(".json"):
                    continue
                match = _MEMBER.match(name)
                if not match or not member.isreg() or member.size > MAX_MEMBER_BYTES:
                    rejected += 1
                    continue
                handle = archive.extractfile(member)
                raw = handle.read(MAX_MEMBER_BYTES + 1) if handle else b""
                try:
                    record = json.loads(raw)
                except (ValueError, RecursionError):
                    rejected += 1
                    continue
                if not isinstance(record, dict) or record.get("slug") != match.group(1):
                    rejected += 1  # a record is named after its slug
                    continue
                records.append(record)
    except tarfile.TarError as exc:
        if not records and not rejected:
            raise UserError(f"not a datenanfragen.de company database: unreadable archive ({exc})") from None
        raise UserError(f"the company database archive is damaged: {' '.join(str(exc).split())[:200]}") from None
    return records, rejected


def read_database(raw: bytes) -> tuple[list, int]:
    """(records, rejected) of a database as fetched: .tar.gz or .tar of per-company files, or JSON (plain or
    gzipped). Raises UserError (one line) for a file of another kind, a damaged one or one over the caps."""
    try:
        stream: io.RawIOBase
        if raw[:2] == b"\x1f\x8b":
            stream = _CappedReader(gzip.GzipFile(fileobj=io.BytesIO(raw)), MAX_UNPACKED_BYTES)
        else:
            stream = _CappedReader(io.BytesIO(raw), MAX_UNPACKED_BYTES)
        buffered = io.BufferedReader(stream, buffer_size=64 * 1024)
        head = buffered.peek(512)[:512]
        if len(head) >= 262 and head[257:262] == b"ustar":
            return _tar_records(buffered)
        return _json_records(buffered.read()), 0
    except _TooBig:
        raise UserError(f"the company database unpacks to more than {MAX_UNPACKED_BYTES} bytes: "
                        "not a datenanfragen.de company database") from None
    except (OSError, EOFError, zlib.error) as exc:
        raise UserError(f"the company database cannot be unpacked: {' '.join(str(exc).split())[:200]}") from None


def _rows(records: list) -> tuple[list[dict], int]:
    """Usable rows (first record of a slug wins, at most MAX_RECORDS) and how many records were left out."""
    rows, slugs, rejected = [], set(), 0
    for record in records:
        row = parse_record(record)
        if row is None or row["slug"] in slugs or len(rows) >= MAX_RECORDS:
            rejected += 1
            continue
        slugs.add(row["slug"])
        rows.append(row)
    return rows, rejected


def _download(url: str, net) -> bytes:
    from mouchard.net import FetchError, NetworkOptions, download

    try:
        raw, _modified = download(url, net or NetworkOptions(), timeout=DOWNLOAD_TIMEOUT,
                                  max_bytes=MAX_DOWNLOAD_BYTES)
    except FetchError as exc:
        raise UserError(f"cannot fetch the company contact database: {' '.join(str(exc).split())[:300]}") from None
    return raw


def fetch_contacts(store, *, source: str | os.PathLike | None = None, net=None) -> dict:
    """Download (or read from a local path) a company contact database and record it: one me_contact_sources row
    with provenance and one me_contacts row per usable record; returns a summary {source_id, url, sha256, records,
    rejected, licence}. Raises UserError (one line) when nothing usable was read.

    `source` is a URL (http/https, fetched through `net`, a mouchard.net.NetworkOptions: proxy, host map, CA
    file) or a path; DEFAULT_URL when None. `store` is a Store or a database path. `records` counts the rows
    written, `rejected` the records left out (invalid, obsolete, duplicate slug, over MAX_RECORDS). The same bytes
    as the newest database recorded add nothing (`unchanged` True, its row's counts)."""
    from mouchard.storage.private import ensure_private_tables
    from mouchard.storage.store import Store, utcnow

    if isinstance(store, (str, os.PathLike)):
        with Store(store) as opened:
            return fetch_contacts(opened, source=source, net=net)
    url = os.fspath(source) if source is not None else DEFAULT_URL
    raw = _download(url, net)
    sha256 = hashlib.sha256(raw).hexdigest()
    ensure_private_tables(store)
    newest = store.rows("SELECT id, sha256, records, rejected, fetched_at FROM me_contact_sources "
                        "WHERE source = ? ORDER BY id DESC LIMIT 1", (SOURCE,))
    if newest and newest[0]["sha256"] == sha256:
        row = newest[0]
        return {"source_id": row["id"], "url": url, "sha256": sha256, "records": row["records"],
                "rejected": row["rejected"], "licence": LICENCE, "unchanged": True, "fetched_at": row["fetched_at"]}
    records, rejected = read_database(raw)
    rows, left_out = _rows(records)
    rejected += left_out
    if not rows:
        raise UserError(f"no usable company record in {url} ({rejected} rejected): "
                        "not a datenanfragen.de company database?")
    fetched_at = utcnow()
    with store.transaction() as tx:
        source_id = tx.insert("me_contact_sources", {
            "source": SOURCE, "url": url, "fetched_at": fetched_at, "sha256": sha256, "licence": LICENCE,
            "records": len(rows), "rejected": rejected})
        tx.insert_many("me_contacts", ({**row, "source_id": source_id} for row in rows))
    return {"source_id": source_id, "url": url, "sha256": sha256, "records": len(rows), "rejected": rejected,
            "licence": LICENCE, "unchanged": False, "fetched_at": fetched_at}


def describe(summary: dict) -> list[str]:
    """The summary of `fetch_contacts` as lines for the terminal (French, then English)."""
    head = (f"annuaire datenanfragen.de (CC0) / company database: {summary['records']} entreprises / companies, "
            f"{summary['rejected']} écartées / rejected, sha256 {summary['sha256'][:12]}, {summary['url']}")
    if summary.get("unchanged"):
        return [head, f"  déjà enregistré / already recorded (me_contact_sources {summary['source_id']}): "
                      "rien de nouveau / nothing new stored"]
    return [head, f"  enregistré / recorded: me_contact_sources {summary['source_id']}"]


# -- resolution ---------------------------------------------------------------------------------------------


def _company_sites(company: Company) -> list[str]:
    from mouchard.decode.domains import host_of

    sites = []
    for domain in company.domains:
        host = _domain_name(host_of(domain or ""))
        site = _site(host) if host else None
        if site and site not in sites:
            sites.append(site)
    return sites


def _fold(value) -> str:
    """A name for exact comparison: case-folded, spaces collapsed."""
    return " ".join(value.split()).casefold() if isinstance(value, str) else ""


def _person_country(conn: sqlite3.Connection) -> str | None:
    if not table_exists(conn, "me_person"):
        return None
    row = conn.execute("SELECT country FROM me_person ORDER BY id LIMIT 1").fetchone()
    return row[0].lower() if row and isinstance(row[0], str) else None


def _rank(row: dict, sites: list[str], country: str | None) -> tuple:
    """Best first: the website's own domain (listed first) over a domain named in `runs`; a record for the
    person's country or all countries; one with an e-mail; then by slug (stable)."""
    try:
        domains = json.loads(row.get("domains") or "[]")
        countries = json.loads(row.get("country") or "[]")
    except ValueError:
        domains, countries = [], []
    first = bool(domains) and domains[0] in sites
    here = country is not None and country in countries
    return (not first, not (here or "all" in countries), not here, not row.get("email"), row.get("slug") or "")


def _from_database(conn: sqlite3.Connection, company: Company) -> Contact | None:
    if not (table_exists(conn, "me_contact_sources") and table_exists(conn, "me_contacts")):
        return None
    source = conn.execute("SELECT id, url, fetched_at FROM me_contact_sources WHERE source = ? "
                          "ORDER BY id DESC LIMIT 1", (SOURCE,)).fetchone()
    if source is None:
        return None
    source_id, source_url, fetched_at = source
    sites = _company_sites(company)
    found: list[dict] = []
    if sites:
        marks = ", ".join("?" * len(sites))
        found = dict_rows(
            conn,
            f"SELECT DISTINCT c.* FROM me_contacts c, json_each(CASE WHEN json_valid(c.domains) "
            f"THEN c.domains ELSE '[]' END) d WHERE c.source_id = ? AND d.value IN ({marks})", (source_id, *sites))
    name = _fold(company.name)
    if not found and name:
        # SQLite's lower() folds ASCII only ("Énergie"): compare with Python's casefold.
        conn.create_function("mouchard_fold", 1, _fold, deterministic=True)
        runs_match = (" OR EXISTS (SELECT 1 FROM json_each(CASE WHEN json_valid(c.runs) THEN c.runs ELSE '[]' "
                      "END) r WHERE mouchard_fold(r.value) = ?)")
        params = (source_id, name, name)
        found = dict_rows(
            conn,
            f"SELECT c.* FROM me_contacts c WHERE c.source_id = ? AND (mouchard_fold(c.name) = ?{runs_match})",
            params)
    if not found:
        return None
    country = _person_country(conn)
    best = min(found, key=lambda row: _rank(row, sites, country))
    return Contact(email=best.get("email"), url=best.get("url"), address=best.get("address"), source=SOURCE,
                   source_id=source_id, source_url=source_url, fetched_at=fetched_at)


def _from_gvl(conn: sqlite3.Connection, company: Company) -> Contact | None:
    if company.gvl_vendor_id is None or not (table_exists(conn, "vendors") and table_exists(conn, "vendor_lists")):
        return None
    row = conn.execute(
        "SELECT v.privacy_url, v.legitimate_interest_url, l.source_url, l.fetched_at FROM vendors v "
        "JOIN vendor_lists l ON l.id = v.vendor_list_id WHERE v.vendor_id = ? "
        "ORDER BY l.version DESC, l.id DESC LIMIT 1", (company.gvl_vendor_id,)).fetchone()
    if row is None:
        return None
    url = valid_url(row[0]) or valid_url(row[1])
    if url is None:
        return None
    return Contact(url=url, source="gvl", source_url=row[2], fetched_at=row[3])


def _broker_address(row: dict) -> str | None:
    parts = [row.get("address"), " ".join(p for p in (row.get("postal_code"), row.get("city"), row.get("state"))
                                          if isinstance(p, str) and p.strip()), row.get("country")]
    lines = [" ".join(p.split()) for p in parts if isinstance(p, str) and p.strip()]
    return "\n".join(lines) or None


def _from_broker(conn: sqlite3.Connection, company: Company) -> Contact | None:
    sites = _company_sites(company)
    if not sites or not table_exists(conn, "brokers"):
        return None
    marks = ", ".join("?" * len(sites))
    has_snapshots = table_exists(conn, "registry_snapshots")
    join = ("LEFT JOIN registry_snapshots s ON s.id = b.snapshot_id" if has_snapshots else "")
    extra = ", s.source_url AS snapshot_url, s.fetched_at AS snapshot_fetched_at" if has_snapshots else ""
    rows = dict_rows(
        conn,
        f"SELECT b.*{extra} FROM brokers b {join} WHERE lower(b.site) IN ({marks}) "
        f"ORDER BY b.year DESC, b.id DESC", sites)
    for row in rows:
        email, url, address = valid_email(row.get("email")), valid_url(row.get("rights_url")), _broker_address(row)
        if email or url or address:
            return Contact(email=email, url=url, address=address, source=f"broker:{row.get('registry')}",
                           source_url=row.get("snapshot_url"), fetched_at=row.get("snapshot_fetched_at"))
    return None


def resolve(conn: sqlite3.Connection, company: Company) -> Contact:
    """Where `company`'s privacy requests go: the newest contact database's record matching one of its domains
    (then its name), else its GVL privacy page, else its broker registration's e-mail or rights page; Contact()
    (source "none") when nothing is known.

    One source per contact, never fields mixed from two: the letter names where its address came from. In the
    database, a domain match beats a name match (name or `runs`, exact, case-insensitive); among several records
    the website's own domain beats a domain named in `runs`, the person's country (or "all") beats another, and a
    record with an e-mail beats one without. `url` is the record's web form, else its website."""
    for step in (_from_database, _from_gvl, _from_broker):
        contact = step(conn, company)
        if contact is not None:
            return contact
    return Contact()


__all__ = ["DEFAULT_URL", "DUMP_URL", "LICENCE", "SOURCE", "describe", "fetch_contacts", "parse_record",
           "read_database", "record_domains", "resolve", "valid_email", "valid_url"]
