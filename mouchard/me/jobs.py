"""`mouchard me`'s jobs as Python functions: make a private database, then from what was captured into it, the
companies, the letters, the page and the follow-up. The captures themselves are the usual jobs (import, proxy,
crawl) run into the private database: `prepare` first, so a capture cut short is already private.

    >>> from mouchard.me import jobs
    >>> jobs.prepare("me.db", "me.yml")                       # then api.import_capture(..., db="me.db")
    >>> jobs.report("me.db", "me-report/")                    # companies, letters (fr, en), index.html
    >>> jobs.sent("me.db", "microsoft", "access", on=date(2026, 12, 7))
    >>> jobs.status("me.db")                                  # deadlines, reminders and complaints due
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from mouchard.errors import UserError
from mouchard.identify.profile import DeviceProfile
from mouchard.me import contacts, followup, letters, page, received
from mouchard.me.model import LANGUAGES, LETTER_KINDS, REQUEST_KINDS, Company, Person
from mouchard.me.page import LETTERS_FOLDER
from mouchard.me.person import as_person_fields, load_person, person_from_row
from mouchard.storage.private import is_private_file, mark_private, person_row
from mouchard.storage.store import Store, connect_readonly, utcnow

DEFAULT_DB = "me.db"
PAGE_NAMES = {"fr": "index.html", "en": "index.en.html"}  # French first: the page a person opens is index.html


@dataclass
class MeReport:
    """What `report` wrote: the companies found, the letters and pages, and the follow-up due today."""

    db: str
    out: Path
    companies: int = 0
    items: int = 0
    letters: int = 0
    pages: dict[str, Path] = field(default_factory=dict)
    reminders: int = 0  # reminder letters written (requests overdue, no reminder sent)
    complaints: int = 0  # complaint drafts written (requests overdue, no complaint filed)
    first_seen: str | None = None
    last_seen: str | None = None
    without_contact: int = 0  # companies whose privacy contact was found nowhere
    contact_databases: int = 0  # company contact databases fetched into this database (mouchard me contacts)


def prepare(db: str | os.PathLike, person_file: str | os.PathLike) -> tuple[Person, DeviceProfile]:
    """Make `db` the private database of the person described in `person_file` (me.yml), creating it if needed;
    returns the person and their values as a device profile, for the capture that follows. A database that
    already holds other records and is not private is refused: it could be a crawl meant for publication."""
    person, profile = load_person(person_file)
    path = Path(db)
    if path.exists() and not is_private_file(path):
        try:
            conn = connect_readonly(path)
            try:
                used = conn.execute("SELECT 1 FROM crawls LIMIT 1").fetchone() is not None
            finally:
                conn.close()
        except sqlite3.DatabaseError:
            used = True
        if used:
            raise UserError(f"{path} already holds crawls and is not private: keep your own data in a database of "
                            f"its own (e.g. --db {DEFAULT_DB})")
    with Store(path) as store:
        mark_private(store, as_person_fields(person), profile.as_data(), str(person_file))
    return person, profile


def open_private(db: str | os.PathLike) -> tuple[Store, Person]:
    """The private database `db` and its person; UserError when it is not one."""
    store = Store(db, create=False)
    row = person_row(store.conn)
    if row is None:
        store.close()
        raise UserError(f"{db} is not a private database: capture into one first with `mouchard me import`, "
                        "`mouchard me proxy` or `mouchard me crawl` and --me me.yml")
    return store, person_from_row(row)


def _today(today: dt.date | None) -> dt.date:
    return today or dt.datetime.now(dt.timezone.utc).date()


def _out_folder(out: str | os.PathLike) -> Path:
    folder = Path(out)
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise UserError(f"{folder}: not a folder (a symbolic link is not followed)")
    (folder / LETTERS_FOLDER).mkdir(parents=True, exist_ok=True)
    if (folder / LETTERS_FOLDER).is_symlink():
        raise UserError(f"{folder / LETTERS_FOLDER}: a symbolic link is not followed")
    return folder


def _save_letter(store: Store, letter, files: dict[str, str]) -> int:
    """One me_letters row per company, kind and language: written again, it is updated (requests keep their
    letter_id)."""
    values = {"company_key": letter.company_key, "kind": letter.kind, "language": letter.language,
              "recipient": letter.recipient, "subject": letter.subject, "text": letter.text,
              "files": json.dumps(files, sort_keys=True), "created_at": utcnow()}
    row = store.conn.execute("SELECT id FROM me_letters WHERE company_key = ? AND kind = ? AND language = ?",
                             (letter.company_key, letter.kind, letter.language)).fetchone()
    if row:
        store.update("me_letters", row[0], values)
        return row[0]
    return store.insert("me_letters", values)


def report(db: str | os.PathLike, out: str | os.PathLike | None = None, *, today: dt.date | None = None,
           languages: tuple[str, ...] = LANGUAGES, since: str | None = None) -> MeReport:
    """From the private database `db`: every company that received data about the person (me_companies,
    me_received), their contacts, the request letters in each language (text, HTML, PDF, e-mail) and, for
    requests past their deadline, reminders and complaint drafts; then the person's pages (index.html in French,
    index.en.html in English) in `out` (default: <db>.me/)."""
    today = _today(today)
    if not set(languages) <= set(LANGUAGES) or not languages:
        raise UserError(f"languages: expected some of {', '.join(LANGUAGES)}")
    store, person = open_private(db)
    try:
        folder = _out_folder(out if out is not None else f"{db}.me")
        result = MeReport(str(db), folder)
        companies = received.rebuild(store, person, since=since)
        by_key = {company.key: company for company in companies}
        result.companies = len(companies)
        result.items = sum(len(c.received) for c in companies)
        result.without_contact = sum(1 for c in companies if c.contact.source == "none")
        result.contact_databases = store.conn.execute("SELECT count(*) FROM me_contact_sources").fetchone()[0]
        result.first_seen = min((c.first_seen for c in companies if c.first_seen), default=None)
        result.last_seen = max((c.last_seen for c in companies if c.last_seen), default=None)
        written: dict[str, list[dict]] = {}
        for company in companies:
            for language in languages:
                for letter in letters.letters_for(company, person, language=language, today=today):
                    files = letters.write_letter_files(letter, person, folder / LETTERS_FOLDER)
                    _save_letter(store, letter, files)
                    written.setdefault(company.key, []).append({"kind": letter.kind, "language": language,
                                                                "files": files})
                    result.letters += 1
        for request in followup.statuses(store.conn, today, country=person.country):
            company = by_key.get(request["company_key"]) or _known_company(request)
            for due, make, counter in (("reminder_due", letters.reminder_letter, "reminders"),
                                       ("complaint_due", letters.complaint_letter, "complaints")):
                if not request.get(due):
                    continue
                for language in languages:
                    letter = make(company, person, request, language=language, today=today)
                    files = letters.write_letter_files(letter, person, folder / LETTERS_FOLDER)
                    _save_letter(store, letter, files)
                    written.setdefault(company.key, []).append({"kind": letter.kind, "language": language,
                                                                "files": files})
                setattr(result, counter, getattr(result, counter) + 1)
        for language in languages:
            result.pages[language] = page.write_page(store.conn, folder / PAGE_NAMES[language], language=language,
                                                     today=today, letters=written, letters_folder=LETTERS_FOLDER)
        return result
    finally:
        store.close()


def _known_company(request: dict) -> Company:
    """A company a request was sent to that the current data no longer shows (e.g. --since): its name only."""
    return Company(key=request["company_key"], name=request.get("company_name") or request["company_key"])


def find_company(conn: sqlite3.Connection, company: str) -> tuple[str, str]:
    """(key, name) of the company named `company` (its key, or its name in any case); UserError listing close
    names when there is none."""
    rows = conn.execute("SELECT key, name FROM me_companies").fetchall()
    wanted = company.strip().lower()
    for key, name in rows:
        if wanted in (key, (name or "").lower()):
            return key, name
    near = sorted(name for key, name in rows if wanted and (wanted in key or wanted in (name or "").lower()))
    hint = f" (did you mean {', '.join(near[:5])}?)" if near else " (run `mouchard me report` first; see its page)"
    raise UserError(f"no company {company!r} in this database{hint}")


def sent(db: str | os.PathLike, company: str, kind: str, *, on: dt.date | None = None, channel: str = "email",
         received_on: dt.date | None = None) -> dict:
    """Record that the person sent `kind` (access, objection, erasure, ccpa-know, ccpa-delete) to `company` on
    `on` (default today); returns the request with its deadline."""
    if kind not in REQUEST_KINDS:
        raise UserError(f"request kind {kind!r}: expected one of {', '.join(REQUEST_KINDS)}")
    store, person = open_private(db)
    try:
        key, _name = find_company(store.conn, company)
        letter = store.conn.execute("SELECT id FROM me_letters WHERE company_key = ? AND kind = ? "
                                    "ORDER BY language = ? DESC, id LIMIT 1", (key, kind, person.language)).fetchone()
        request_id = followup.record_sent(store, key, kind, sent_on=on or _today(None), channel=channel,
                                          received_on=received_on, letter_id=letter[0] if letter else None,
                                          country=person.country)
        return _request(store.conn, request_id, _today(None), person)
    finally:
        store.close()


def answer(db: str | os.PathLike, request_id: int, *, on: dt.date | None = None, file: str | os.PathLike | None = None,
           extended: bool = False, until: dt.date | None = None) -> dict:
    """Record the company's answer to request `request_id` (or, with `extended`, that it extended the deadline: to
    `until`, or by two months); with `file`, import its export (CSV, JSON or a ZIP of them) next to what was
    observed."""
    store, person = open_private(db)
    try:
        day = on or _today(None)
        imported = None
        if extended:
            followup.record_event(store, request_id, "extended", on=day, until=until)
        elif file is not None:
            imported = followup.import_answer(store, request_id, Path(file), on=day)
        else:
            followup.record_event(store, request_id, "answered", on=day)
        row = _request(store.conn, request_id, _today(None), person)
        if imported is not None:
            row["import"] = imported
        return row
    finally:
        store.close()


def update(db: str | os.PathLike, request_id: int, event: str, *, on: dt.date | None = None) -> dict:
    """Record what the person did next on a request: `reminder` (sent), `complaint` (filed) or `closed`."""
    if event not in ("reminder", "complaint", "closed"):
        raise UserError(f"event {event!r}: expected reminder, complaint or closed")
    store, person = open_private(db)
    try:
        followup.record_event(store, request_id, event, on=on or _today(None))
        return _request(store.conn, request_id, _today(None), person)
    finally:
        store.close()


def _request(conn: sqlite3.Connection, request_id: int, today: dt.date, person: Person) -> dict:
    for row in followup.statuses(conn, today, country=person.country):
        if row["id"] == request_id:
            return row
    raise UserError(f"no request {request_id} in this database (see `mouchard me status`)")


def status(db: str | os.PathLike, *, today: dt.date | None = None) -> list[dict]:
    """Every request with its deadline and what is due today (reminder, complaint)."""
    store, person = open_private(db)
    try:
        return followup.statuses(store.conn, _today(today), country=person.country)
    finally:
        store.close()


def fetch_contacts(db: str | os.PathLike, *, source: str | os.PathLike | None = None, net=None) -> dict:
    """Download the company contact database (datenanfragen.de's by default) into the private database."""
    store, _person = open_private(db)
    try:
        return contacts.fetch_contacts(store, source=source, net=net)
    finally:
        store.close()


__all__ = ["DEFAULT_DB", "LETTER_KINDS", "MeReport", "answer", "fetch_contacts", "find_company", "open_private",
           "prepare", "report", "sent", "status", "update"]
