"""What the person's page shows, read once from the private database (me_* tables) and bounded: the companies that
received the most first, their items (most telling kinds first), letters, requests, their statuses and the answers
imported; and the readers that turn any stored value into bounded text, a list, a date or a number.

The database holds crawled strings and may hold anything a hostile capture put there (blobs, bad UTF-8, huge JSON):
nothing here raises on a value, it is shown as text or left out; page.py escapes everything it writes.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
from collections.abc import Iterable

from mouchard.errors import UserError

MAX_SHOWN = 30  # items of a company in view; the rest are in a <details>
MAX_ITEMS = 200  # items of a company on the page at all; the others are only counted
MAX_PAGE_ITEMS = 10_000  # items on the whole page: with many companies each keeps fewer (never under MAX_SHOWN)
MAX_COMPANIES = 300
MAX_LETTERS = 40  # letters listed per company
MAX_REQUESTS = 40  # requests listed per company
MAX_TEXT = 400  # characters of one crawled string shown (values are quoted in full in the letters)
MAX_JSON = 100_000  # characters of a JSON column parsed
MAX_LIST = 100  # entries of a JSON list shown
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_DATE = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]*"  # GLOB of a stored time that starts with a date
# A letter's files (me_letters.files) by format, in the order the page lists them (words.FILE_FORMATS names them):
# the keys a format is stored under; a file's extension decides first.
FORMAT_KEYS = {"pdf": ("pdf",), "html": ("html",), "eml": ("eml", "email", "mail"), "txt": ("txt", "text")}
# Items most telling to a person first: their own identifiers, then positions, cookies, onward sharing, pages.
KIND_ORDER = ("advertising_id", "email", "email_hash", "phone", "phone_hash", "android_id", "imei", "location",
              "cookie", "id_sync", "bid_field", "page_view", "connection")


def plain(value: object, limit: int = MAX_TEXT) -> str:
    """Any database value as bounded, encodable text (bytes decoded leniently, control characters dropped)."""
    if value is None:
        return ""
    if isinstance(value, (bytes, bytearray, memoryview)):
        text = bytes(value[: limit * 4]).decode("utf-8", "replace")
    else:
        text = str(value)
    if len(text) > limit:
        text = text[:limit] + f"… ({len(text)})"
    text = _CONTROL.sub("", text)
    return text.encode("utf-8", "replace").decode("utf-8")  # lone surrogates would fail the write


def json_list(value: object) -> list[str]:
    """A JSON list column (or a list) as at most MAX_LIST non-empty strings; anything else is an empty list."""
    if isinstance(value, (bytes, bytearray)):
        value = plain(value, MAX_JSON)
    if isinstance(value, str):
        if len(value) > MAX_JSON:
            return []
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            return []
    if not isinstance(value, (list, tuple)):
        return []
    return [plain(v) for v in value[:MAX_LIST] if isinstance(v, (str, int, float)) and not isinstance(v, bool)
            and plain(v)]


def date_of(value: object) -> dt.date | None:
    """The day of a stored date or time (its first ten characters, as stored: no time zone conversion), or None."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


def int_of(value: object) -> int | None:
    """A stored integer (or its text) of at most twelve digits, or None."""
    try:
        number = int(value) if isinstance(value, (int, str)) and not isinstance(value, bool) else None
    except ValueError:
        return None
    return number if number is not None and abs(number) < 10**12 else None


def letter_files(value: object) -> list[tuple[str, str, str | None]]:
    """A letter's files ({format: file name}, JSON or dict) as (format, name, known format or None), PDF first."""
    if isinstance(value, str) and len(value) <= MAX_JSON:
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            return []
    if not isinstance(value, dict):
        return []
    pairs = [(plain(k, 20).lower(), v) for k, v in list(value.items())[:20] if isinstance(v, str)]
    order = list(FORMAT_KEYS)
    files = [(fmt, file, _known_format(fmt, file)) for fmt, file in pairs]
    return sorted(files, key=lambda f: order.index(f[2]) if f[2] else len(order))


def _known_format(fmt: str, file: str) -> str | None:
    """A file's format in FORMAT_KEYS, by its extension, else by the key it is stored under; None if unknown."""
    ext = file.rsplit(".", 1)[-1].lower() if "." in file else ""
    for known, keys in FORMAT_KEYS.items():
        if ext == known or fmt in keys:
            return known
    return None


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _rows(conn: sqlite3.Connection, sql: str, params: Iterable = ()) -> Iterable[dict]:
    cursor = conn.execute(sql, tuple(params))
    names = [d[0] for d in cursor.description]
    for row in cursor:
        yield dict(zip(names, row))


class PageData:
    """What the page shows, read from the me_* tables once, bounded; page.render_page builds one per page."""

    def __init__(self, conn: sqlite3.Connection, today: dt.date, letters: dict[str, list[dict]] | None,
                 folder: str = ""):
        self.folder = f"{folder}/" if folder else ""  # where the letters' files are, relative to the page
        tables = _tables(conn)
        self.person = next(_rows(conn, "SELECT * FROM me_person ORDER BY id LIMIT 1"), {}) \
            if "me_person" in tables else {}
        self.total = 0
        self.companies: list[dict] = []
        self.items: dict[object, list[dict]] = {}
        self.counts: dict[object, int] = {}
        self.first: dt.date | None = None
        self.last: dt.date | None = None
        if "me_companies" in tables:
            self._companies(conn, "me_received" in tables)
        self.sources = {row.get("id"): row for row in _rows(conn, "SELECT * FROM me_contact_sources LIMIT 100")} \
            if "me_contact_sources" in tables else {}
        # letters, requests and answers of the companies shown only: the rest of the tables is not read into memory
        shown_keys = {plain(c.get("key")) for c in self.companies}
        self.letters: dict[str, list[dict]] = {}
        source = letters.items() if letters is not None else (
            [(None, _rows(conn, "SELECT * FROM me_letters ORDER BY id"))] if "me_letters" in tables else [])
        for key, rows in source:
            for row in rows if isinstance(rows, (list, tuple)) or key is None else ():
                if not isinstance(row, dict):
                    continue
                owner = plain(row.get("company_key") if key is None else key)
                bucket = self.letters.setdefault(owner, []) if owner in shown_keys else []
                if len(bucket) < MAX_LETTERS:
                    bucket.append(row)
        self.requests: dict[str, list[dict]] = {}
        if "me_requests" in tables:
            for row in _rows(conn, "SELECT * FROM me_requests ORDER BY id"):
                owner = plain(row.get("company_key"))
                bucket = self.requests.setdefault(owner, []) if owner in shown_keys else []
                if len(bucket) < MAX_REQUESTS:
                    bucket.append(row)
        self.statuses: dict[object, dict] | None = None
        self.status_error = ""
        if self.requests:
            self.statuses = self._statuses(conn, today)
        self.answers: dict[str, list[dict]] = {}
        self.compared: dict[str, list[dict]] = {}
        if "me_answers" in tables:
            for row in _rows(conn, "SELECT * FROM me_answers ORDER BY id"):
                owner = plain(row.get("company_key"))
                bucket = self.answers.setdefault(owner, []) if owner in shown_keys else []
                if len(bucket) < MAX_REQUESTS:
                    bucket.append(row)
            for key in sorted(self.answers):
                compared = self._compare(conn, key)
                if compared is not None:
                    self.compared[key] = compared

    def _companies(self, conn: sqlite3.Connection, received: bool) -> None:
        self.total = conn.execute("SELECT COUNT(*) FROM me_companies").fetchone()[0]
        counts = "SELECT company_id, COUNT(*) AS n FROM me_received GROUP BY company_id" if received \
            else "SELECT NULL AS company_id, 0 AS n"
        self.companies = list(_rows(conn, f"""
            SELECT c.*, COALESCE(r.n, 0) AS _count FROM me_companies c LEFT JOIN ({counts}) r ON r.company_id = c.id
            ORDER BY _count DESC, c.name COLLATE NOCASE, c.id LIMIT ?""", (MAX_COMPANIES,)))
        shown = {c.get("id") for c in self.companies}
        allowance = min(MAX_ITEMS, max(MAX_SHOWN, MAX_PAGE_ITEMS // max(1, len(shown))))
        spans = [("SELECT MIN(first_seen), MAX(last_seen) FROM me_companies "
                  f"WHERE first_seen GLOB '{_DATE}' AND last_seen GLOB '{_DATE}'")]
        if received:
            spans.append(spans[0].replace("me_companies", "me_received"))
            rank = " ".join(f"WHEN '{kind}' THEN {n}" for n, kind in enumerate(KIND_ORDER))
            for row in _rows(conn, f"SELECT * FROM me_received ORDER BY company_id, CASE kind {rank} ELSE 99 END, "
                                   "first_seen, id"):
                owner = row.get("company_id")
                if owner not in shown:
                    continue
                self.counts[owner] = self.counts.get(owner, 0) + 1
                bucket = self.items.setdefault(owner, [])
                if len(bucket) < allowance:
                    bucket.append(row)
        for sql in spans:
            low, high = (date_of(v) for v in conn.execute(sql).fetchone())
            if low and high:
                self.first = min(low, self.first or low)
                self.last = max(high, self.last or high)

    @staticmethod
    def _compare(conn: sqlite3.Connection, key: str) -> list[dict] | None:
        """followup.compare for a company that answered, or None while it cannot say."""
        from mouchard.me import followup

        try:
            rows = followup.compare(conn, key)
        except (NotImplementedError, UserError):
            return None
        except (TypeError, ValueError):  # a stored value of the wrong type (a BLOB): the answer's lines still show
            return None
        return [row for row in rows if isinstance(row, dict)]

    def _statuses(self, conn: sqlite3.Connection, today: dt.date) -> dict[object, dict] | None:
        """followup.statuses by request id, or None while it is not implemented (the table's own values show)."""
        from mouchard.me import followup

        try:
            rows = followup.statuses(conn, today, country=plain(self.person.get("country")) or "FR")
        except NotImplementedError:
            return None
        except UserError as exc:  # one unreadable request: the table's own values show, and why
            self.status_error = plain(exc, 300)
            return None
        return {row.get("id", row.get("request_id")): row for row in rows if isinstance(row, dict)}
