"""Scrub a database copy before publication: nothing personal left in any text of any table, and a check that
says so.

    scrubber = Scrubber(profiles)          # device profiles (mouchard.identify.profile), possibly none
    clean = scrubber.clean(text)            # any text value of any column (JSON at any depth included)
    scrubber.problems(text)                 # what a re-scan still finds there: [] when the value may be published

The same rules clean and check, so a cleaned value passes the check by construction; the check is run again on
the published file as the last step (`scan_database`), and publication is refused if it finds anything.

Rules, applied to every string (JSON documents are walked leaf by leaf, keys included, iteratively and within
`MAX_NODES` per value; JSON inside JSON strings up to `MAX_NESTING` levels):

- planted values: the proxy's own detector (`LeakDetector.for_profile`) and redactor (`Redactor`), so every
  normal form in every encoding it knows (URL-encoded, base64 in all alignments, hex, md5/sha1/sha2 digests and
  digests of digests, JSON-escaped, upper/lower case) and positions near the planted one become the proxy's
  tokens (`identifiers.token`: [IDFA] on an iPhone, [GAID] on Android); a value in which the full decoder
  (gzip in base64, JWT payloads, forms...) still finds one is replaced whole by its tokens;
- e-mail addresses: a person's address (`mouchard.identify.emails`: anything but a role box) becomes [EMAIL];
- credentials: `scheme://user:pass@` and bare `user:pass@host` become `[redacted]@`; values of JSON keys that
  name a secret (password, token, username, authorization...) become [redacted]; the home folder becomes `~`;
- positions: a number after a position key (lat=, "lon":, ll=, "coordinates": [...]) is rounded to
  `POSITION_DECIMALS` decimals (about 1 km), whatever the table;
- third-party user ids: JSON values under buyeruid, user.id, eids/uids, userId(s), ifa, ip... become [USER_ID]
  (or the key's token).

A value the rules cannot bring to a clean state (budget exceeded, JSON too deep) is replaced whole: fail closed.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from mouchard.identify import emails
from mouchard.identify.identifiers import token
from mouchard.identify.leakdetect import LeakDetector
from mouchard.identify.profile import DeviceProfile
from mouchard.identify.redact import Redactor
from mouchard.storage.schema import TABLES

POSITION_DECIMALS = 2  # about 1.1 km of latitude: a town, not a house
MAX_NODES = 200_000  # JSON nodes walked per column value before the value is replaced whole
MAX_NESTING = 4  # JSON documents inside JSON strings
MAX_ROUNDS = 3  # passes of the string rules until nothing changes
# Header values that carry credentials or identifiers (cookie values are removed from `cookies` too): redacted in
# the database's header columns (mouchard.publishing.publish) and in published WARC copies (publishing.warc).
SECRET_HEADERS = frozenset({"cookie", "set-cookie", "authorization", "proxy-authorization", "x-api-key",
                            "x-auth-token", "x-csrf-token", "x-xsrf-token", "x-forwarded-for", "x-real-ip",
                            "forwarded"})
REDACTED = "[redacted]"
EMAIL_TOKEN = token("email")
USER_ID_TOKEN = token("user_id")
BATCH = 500

# JSON keys (lower-cased, without "_", "-" or "."), see the module docstring.
ID_KEYS = frozenset({"buyeruid", "buyeruids", "uid", "userid", "userids", "puid", "tdid", "ifa", "idfa", "gaid",
                     "adid", "aaid", "ip", "ipv6", "didsha1", "didmd5", "dpidsha1", "dpidmd5", "macsha1", "macmd5",
                     "deviceid", "advertisingid", "pubcid", "sharedid", "id5id", "criteoid", "uid2", "euid", "ppid",
                     "externalid", "visitorid", "clientid", "anonymousid", "sessionid", "fbp", "fbc", "gclid",
                     "msclkid", "dclid", "fbclid", "mcid", "ecid", "idl_env", "idlenv"})
ID_CONTAINERS = frozenset({"userid", "userids", "eids", "uids", "buyeruids", "extuids"})  # "ids" only inside these
ID_CONTAINER_KEEP = frozenset({"source", "atype", "provider", "name", "inserter", "matcher", "mm"})
ID_PARENTS = frozenset({"user", "uids", "eids", "device"})  # "id" under these is a user or device id
SECRET_KEYS = frozenset({"password", "passwd", "pass", "pwd", "secret", "clientsecret", "token", "accesstoken",
                         "refreshtoken", "idtoken", "apikey", "xapikey", "auth", "authorization",
                         "proxyauthorization", "credentials", "username", "user", "login", "proxyuser",
                         "proxyusername", "proxypassword", "proxypass", "cookie", "setcookie", "xauthtoken",
                         "xcsrftoken", "xxsrftoken", "xforwardedfor", "xrealip", "forwarded"})
POSITION_KEYS = frozenset({"lat", "latitude", "lon", "lng", "long", "longitude"})
POSITION_LISTS = frozenset({"ll", "latlng", "latlon", "latlong", "lnglat", "lonlat", "coordinates", "coords",
                            "coord", "geo", "location", "loc", "position", "pos", "center", "point"})
POSITION_COLUMNS = frozenset({"lat", "lon", "lng", "latitude", "longitude"})

_LOOKS_JSON = re.compile(r"\s*[\[{]")
_URL = re.compile(r"[a-z][a-z0-9+.-]{0,20}://", re.IGNORECASE)
URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?!\[redacted\]@)[^/@\s\"'<>]+@", re.IGNORECASE)
BARE_CREDENTIALS = re.compile(r"(?<![\w.%+/:-])(?!mailto:)[\w.%+-]+:[^\s/@\"'<>:]+@(?=[A-Za-z0-9][A-Za-z0-9.-]*)",
                              re.IGNORECASE)
HOME = re.compile(r"(?<![\w.:/~-])(/home/|/Users/)(?!\[user\])[^/\s\"'<>,;]+")
_NUMBER = r"-?\d{1,3}\.\d{3,}"
POSITION_TEXT = re.compile(
    r"(?<![a-z])(?:lat|latitude|lon|lng|long|longitude|ll|latlng|latlon|latlong|coords?|coordinates|geo|location|"
    r"loc|position|pos)[\"']?\s*(?:[:=]|%3a|%3d)\s*[\"']?\s*(?:\[|%5b)?\s*(?P<a>" + _NUMBER + r")"
    r"(?:(?:\s*(?:,|;|%2c|\s)\s*)(?P<b>" + _NUMBER + r"))?", re.IGNORECASE)


_KEY_PUNCTUATION = re.compile(r"[\s_.\-]")


def _norm(key: object) -> str:
    return _KEY_PUNCTUATION.sub("", str(key)).lower()


def round_position(value: float) -> float:
    """A coordinate at the published precision."""
    return round(float(value), POSITION_DECIMALS)


def _round_text(number: str) -> str:
    return f"{round_position(float(number)):.{POSITION_DECIMALS}f}"


class ScrubBudget(Exception):
    """A value too large or too nested to clean within the budget: it is replaced whole."""


@dataclass(frozen=True)
class _Ctx:
    key: str = ""  # normalised key this value sits under ("" at the top)
    parent: str = ""  # normalised key of the enclosing object
    ids: bool = False  # inside a container of user ids
    position: bool = False  # inside a list of coordinates


class Scrubber:
    """Cleans and checks text values for publication (see the module docstring)."""

    def __init__(self, profiles: Sequence[DeviceProfile] = ()):
        self.redactors = [Redactor.for_profile(p) for p in profiles if p.needles() or p.position is not None]
        self.home = str(Path.home())

    # -- cleaning -------------------------------------------------------------------------------------------

    def clean(self, text: str, depth: int = 0) -> str:
        """`text` (a column value) with every rule applied; replaced whole if a re-scan would still find something."""
        try:
            doc = self._json(text)
            if doc is not None and depth < MAX_NESTING:
                cleaned = self._walk(doc, depth, [0])
                if cleaned != doc:
                    text = json.dumps(cleaned, ensure_ascii=False)
            else:
                text = self._clean_string(text)
        except ScrubBudget:
            return self.whole(text)
        return text if not self.problems(text) else self.whole(text)

    def whole(self, text: str) -> str:
        """The tokens of what `text` holds, in place of all of it."""
        try:
            kinds = self.problems(text)
        except ScrubBudget:
            kinds = []
        return "".join(dict.fromkeys(kinds)) or REDACTED

    def _clean_string(self, text: str) -> str:
        for _ in range(MAX_ROUNDS):
            before = text
            for redactor in self.redactors:
                text = redactor.url(text) if _URL.match(text) else redactor.text(text)
            text = self.rules(text)
            if text == before:
                break
        return text

    def rules(self, text: str) -> str:
        """The rules that need no profile: credentials, home folder, personal e-mail addresses, positions."""
        if "@" in text or "%40" in text.lower():
            text = URL_CREDENTIALS.sub(lambda m: f"{m['scheme']}{REDACTED}@", text)
            text = BARE_CREDENTIALS.sub(f"{REDACTED}@", text)
            text = emails.replace_personal(text, EMAIL_TOKEN)
        if self.home and len(self.home) > 1 and self.home in text:
            text = text.replace(self.home, "~")
        text = HOME.sub(lambda m: f"{m[1]}[user]", text)
        return POSITION_TEXT.sub(self._round_match, text)

    @staticmethod
    def _round_match(m: re.Match) -> str:
        out, pos, whole = [], m.start(), m.string
        for group in ("a", "b"):
            if m[group] is not None:
                out += [whole[pos:m.start(group)], _round_text(m[group])]
                pos = m.end(group)
        out.append(whole[pos:m.end()])
        return "".join(out)

    @staticmethod
    def _json(text: str) -> object | None:
        if not _LOOKS_JSON.match(text):
            return None
        try:
            doc = json.loads(text)
        except (ValueError, RecursionError):
            return None
        return doc if isinstance(doc, (dict, list)) else None

    def _walk(self, doc: object, depth: int, budget: list[int]) -> object:
        """A cleaned copy of a JSON document, built with an explicit stack (no recursion on its depth)."""
        holder: list[object] = [None]
        stack: list[tuple[object, object, object, _Ctx]] = [(doc, holder, 0, _Ctx())]
        while stack:
            node, parent, slot, ctx = stack.pop()
            budget[0] += 1
            if budget[0] > MAX_NODES:
                raise ScrubBudget
            if isinstance(node, dict):
                new: dict = {}
                parent[slot] = new
                for key, value in node.items():
                    clean_key = self._clean_string(str(key)) if len(str(key)) >= 4 else str(key)
                    while clean_key in new:
                        clean_key += "_"
                    new[clean_key] = None
                    norm = _norm(key)
                    child = _Ctx(norm, ctx.key, ctx.ids or norm in ID_CONTAINERS,
                                 ctx.position or (norm in POSITION_LISTS | POSITION_KEYS and isinstance(value, list)))
                    stack.append((value, new, clean_key, child))
            elif isinstance(node, list):
                items: list = [None] * len(node)
                parent[slot] = items
                for i, value in enumerate(node):
                    stack.append((value, items, i, ctx))
            else:
                parent[slot] = self._leaf(node, ctx, depth)
        return holder[0]

    def _leaf(self, value: object, ctx: _Ctx, depth: int) -> object:
        if value is None or isinstance(value, bool) or value == "":
            return value
        if ctx.key in ID_KEYS or (ctx.ids and ctx.key not in ID_CONTAINER_KEEP) or (
                ctx.key == "id" and ctx.parent in ID_PARENTS):
            return value if _is_token(value) else (token(ctx.key) if ctx.key in ("ip", "ipv6", "ifa", "idfa", "gaid")
                                                   else USER_ID_TOKEN)
        if ctx.key in SECRET_KEYS and isinstance(value, str):
            return value if _is_token(value) else REDACTED
        positional = ctx.key in POSITION_KEYS or ctx.position
        if isinstance(value, (int, float)):
            if positional:
                return round_position(value) if abs(value) <= 180 else token("location")
            return self._json_number(value)
        text = str(value)
        if positional and re.fullmatch(r"\s*-?\d{1,3}(?:\.\d+)?\s*", text):
            return _round_text(text)
        if self._json(text) is not None:
            return self.clean(text, depth + 1)
        return self._clean_string(text)

    def _json_number(self, value: int | float) -> object:
        for redactor in self.redactors:
            spans = redactor.detector.spans(str(value))
            if spans:
                return redactor.token(spans[0][2])
        return value

    # -- checking -------------------------------------------------------------------------------------------

    def problems(self, text: str, depth: int = 0) -> list[str]:
        """Tokens of what `text` still holds ([] when it may be published): the same rules as `clean`."""
        found: list[str] = []
        for redactor in self.redactors:
            detector: LeakDetector = redactor.detector
            found += [redactor.token(kind) for _, _, kind in detector.spans(text)]
            found += [redactor.token(m.kind) for m in detector.scan_value(text, "publish")]
        if emails.personal_addresses(text):
            found.append(EMAIL_TOKEN)
        if URL_CREDENTIALS.search(text) or BARE_CREDENTIALS.search(text) or HOME.search(text) or (
                len(self.home) > 1 and self.home in text):
            found.append(REDACTED)
        if any(_decimals(m["a"]) > POSITION_DECIMALS or (m["b"] and _decimals(m["b"]) > POSITION_DECIMALS)
               for m in POSITION_TEXT.finditer(text)):
            found.append(token("location"))
        doc = self._json(text)
        if doc is not None:
            if depth >= MAX_NESTING:
                found.append(REDACTED)  # too deep to check: not published as is
            else:
                found += self._json_problems(doc, depth)
        return found

    def _json_problems(self, doc: object, depth: int) -> list[str]:
        """The leaf rules (ids, secrets, positions, strings) over a parsed document, with an explicit stack."""
        found: list[str] = []
        stack: list[tuple[object, _Ctx]] = [(doc, _Ctx())]
        steps = 0
        while stack:
            node, ctx = stack.pop()
            steps += 1
            if steps > MAX_NODES:
                raise ScrubBudget
            if isinstance(node, dict):
                for key, value in node.items():
                    norm = _norm(key)
                    if len(str(key)) >= 4:
                        found += self.problems(str(key), MAX_NESTING)  # keys: strings, never parsed again
                    stack.append((value, _Ctx(norm, ctx.key, ctx.ids or norm in ID_CONTAINERS,
                                              ctx.position or (norm in POSITION_LISTS | POSITION_KEYS
                                                               and isinstance(value, list)))))
            elif isinstance(node, list):
                stack.extend((value, ctx) for value in node)
            elif self._leaf(node, ctx, MAX_NESTING) != node:
                found.append(REDACTED if isinstance(node, str) and ctx.key in SECRET_KEYS else
                             USER_ID_TOKEN if isinstance(node, str) else token("location"))
            elif isinstance(node, str) and self._json(node) is not None:
                found += self.problems(node, depth + 1)
        return found

    # -- numbers --------------------------------------------------------------------------------------------

    def number_problem(self, value: int | float, column: str) -> bool:
        """True when a number stored in `column` must not be published as is."""
        if column.lower() in POSITION_COLUMNS and isinstance(value, float):
            return round_position(value) != value
        text = repr(value)
        if isinstance(value, int) and abs(value) < 100_000:
            return False
        if isinstance(value, float) and _decimals(text) <= POSITION_DECIMALS:
            return False
        return any(r.detector.spans(text) for r in self.redactors)

    def clean_number(self, value: int | float, column: str) -> int | float | None:
        if not self.number_problem(value, column):
            return value
        if column.lower() in POSITION_COLUMNS and isinstance(value, float) and abs(value) <= 180:
            return round_position(value)
        return None


def _decimals(number: str) -> int:
    _, _, fraction = number.partition(".")
    return len(fraction.rstrip("0")) if fraction.isdigit() else 0


def _is_token(value: object) -> bool:
    return isinstance(value, str) and bool(re.fullmatch(r"(?:\[[A-Z_]+\])+|\[redacted\]", value))


# -- the database -------------------------------------------------------------------------------------------

def schema_tables() -> set[str]:
    """Tables a published copy may hold: the schema's, their full-text indexes and those indexes' own tables."""
    names = {t.name for t in TABLES}
    names |= {f"{t.name}_fts" for t in TABLES if t.fts}
    return names


def _fts_owned(name: str) -> bool:
    return any(name.startswith(f"{t.name}_fts_") for t in TABLES if t.fts)


def drop_foreign_objects(conn: sqlite3.Connection) -> int:
    """Views, triggers, statistics and tables that are not mouchard's: a received database may hide values (or
    code that rewrites them during the scrub) there. Returns how many were dropped."""
    allowed = schema_tables()
    dropped = 0
    for kind, name in conn.execute("SELECT type, name FROM sqlite_master WHERE type IN ('view', 'trigger', 'table')"
                                   ).fetchall():
        if kind in ("view", "trigger"):
            conn.execute(f"DROP {kind.upper()} IF EXISTS [{name.replace(']', ']]')}]")
            dropped += 1
        elif name not in allowed and not _fts_owned(name) and name != "sqlite_sequence":
            conn.execute(f"DROP TABLE IF EXISTS [{name.replace(']', ']]')}]")
            dropped += 1
    return dropped


def data_columns(conn: sqlite3.Connection) -> Iterator[tuple[str, str]]:
    """(table, column) of every column of every table with rows of its own (not full-text index tables)."""
    for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").fetchall():
        if table in {f"{t.name}_fts" for t in TABLES if t.fts} or _fts_owned(table) or table.startswith("sqlite_"):
            continue
        quoted = table.replace("]", "]]")
        for row in conn.execute(f"PRAGMA table_info([{quoted}])").fetchall():
            yield table, row[1]


def _rows(conn: sqlite3.Connection, table: str, column: str) -> Iterator[list[tuple[int, object]]]:
    """Batches of (rowid, value) of the non-null values of one column, read by rowid ranges."""
    t, c = table.replace("]", "]]"), column.replace("]", "]]")
    last = None
    while True:
        sql = (f"SELECT rowid, [{c}] FROM [{t}] WHERE [{c}] IS NOT NULL" + (" AND rowid > ?" if last is not None
                                                                            else "") + " ORDER BY rowid LIMIT ?")
        batch = conn.execute(sql, (last, BATCH) if last is not None else (BATCH,)).fetchall()
        if not batch:
            return
        yield batch
        last = batch[-1][0]


def scrub_database(conn: sqlite3.Connection, scrubber: Scrubber) -> dict[str, int]:
    """Every value of every column of every table through the scrubber; returns values changed by kind."""
    counts = {"text values changed": 0, "numbers rounded or removed": 0, "binary values removed": 0}
    for table, column in list(data_columns(conn)):
        t, c = table.replace("]", "]]"), column.replace("]", "]]")
        for batch in _rows(conn, table, column):
            updates = []
            for rowid, value in batch:
                if isinstance(value, str):
                    new, kind = scrubber.clean(value), "text values changed"
                elif isinstance(value, bytes):
                    new, kind = None, "binary values removed"  # never published: nothing says what it holds
                else:
                    new, kind = scrubber.clean_number(value, column), "numbers rounded or removed"
                if new != value:
                    updates.append((new, rowid))
                    counts[kind] += 1
            try:
                conn.executemany(f"UPDATE [{t}] SET [{c}] = ? WHERE rowid = ?", updates)
            except sqlite3.IntegrityError:
                # A unique column (bodies.sha256) whose redacted values collide: each row again, and a value whose
                # redaction is taken already goes whole (NULL) rather than the copy keeping it unredacted.
                for new, rowid in updates:
                    try:
                        conn.execute(f"UPDATE [{t}] SET [{c}] = ? WHERE rowid = ?", (new, rowid))
                    except sqlite3.IntegrityError:
                        conn.execute(f"UPDATE [{t}] SET [{c}] = NULL WHERE rowid = ?", (rowid,))
    return counts


@dataclass(frozen=True)
class Remaining:
    """One value a re-scan found: where, and what kind (never the value)."""

    table: str
    column: str
    rowid: int
    kinds: tuple[str, ...]


def scan_database(conn: sqlite3.Connection, scrubber: Scrubber, limit: int = 20) -> list[Remaining]:
    """What a published file still holds: values the rules would change, and objects that are not mouchard's."""
    found: list[Remaining] = []
    allowed = schema_tables()
    for kind, name in conn.execute("SELECT type, name FROM sqlite_master WHERE type IN ('view', 'trigger', 'table')"):
        if kind != "table" or (name not in allowed and not _fts_owned(name) and name != "sqlite_sequence"):
            found.append(Remaining(name, "", 0, (token(kind),)))
    for table, column in list(data_columns(conn)):
        for batch in _rows(conn, table, column):
            for rowid, value in batch:
                if isinstance(value, str):
                    try:
                        kinds = scrubber.problems(value)
                    except ScrubBudget:
                        kinds = [REDACTED]
                elif isinstance(value, bytes):
                    kinds = [token("binary")]
                else:
                    kinds = [token("location") if column.lower() in POSITION_COLUMNS else REDACTED] \
                        if scrubber.number_problem(value, column) else []
                if kinds:
                    found.append(Remaining(table, column, rowid, tuple(dict.fromkeys(kinds))))
                    if len(found) >= limit:
                        return found
    return found
