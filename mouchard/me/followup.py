"""Requests sent, answers received, a company's export imported next to what was observed.

A request (me_requests) is recorded when the person sends a letter: its deadline comes from mouchard.me.deadlines.
Events (answered, extended, reminder, complaint, closed) update it. An answer's export is read within bounds by
mouchard.me.exports (the company's file, so hostile); each value read is stored (me_answer_items) and matched
against what mouchard saw the company receive (me_received).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import ahocorasick

from mouchard.errors import UserError
from mouchard.me.deadlines import (ASSUMED_RECEIPT_NOTE, CHANNELS, assumed_received_on, due_date, parse_date,
                                   regime_of, request_state)
from mouchard.me.exports import CONTROL, LIMITS, Limits, label, read_export, read_file
from mouchard.me.model import REQUEST_KINDS
from mouchard.storage.private import is_private, person_row
from mouchard.storage.store import dict_rows, table_exists, utcnow

EVENTS = ("answered", "extended", "reminder", "complaint", "closed")
KEY_LIMIT = 200  # company keys are slugs of names
MIN_EXACT = 6  # shorter observed values ("1", "fr", "true") would match anything: not matched
MIN_CONTAINED = 8  # an observed value must be this long to be found inside a longer exported one


# -- matching against what was observed --------------------------------------------------------------------------


class Matcher:
    """Finds which observed item (me_received row) an exported value is: the same value (case-insensitive), else
    an observed value contained in it (the longest). Observed values too short to mean anything are left out."""

    def __init__(self, observed: list[dict], *, limits: Limits = LIMITS):
        self.limits = limits
        self.exact: dict[str, int] = {}
        self.automaton = ahocorasick.Automaton()
        for index, row in enumerate(observed):
            value = str(row.get("value") or "").strip().lower()
            if len(value) >= MIN_EXACT:
                self.exact.setdefault(value, index)
            if len(value) >= MIN_CONTAINED and value not in self.automaton:
                self.automaton.add_word(value, (index, len(value)))
        self.searchable = len(self.automaton) > 0
        if self.searchable:
            self.automaton.make_automaton()

    def find(self, value: str) -> int | None:
        """Index of the observed row `value` matches, or None (a stored value that is not text matches nothing:
        a database someone else edited may hold bytes there)."""
        if not isinstance(value, str):
            return None
        lowered = value.strip().lower()
        if lowered in self.exact:
            return self.exact[lowered]
        if not self.searchable:
            return None
        best: tuple[int, int] | None = None
        for count, (_end, (index, length)) in enumerate(self.automaton.iter(lowered[: self.limits.match_chars])):
            if best is None or length > best[1] or (length == best[1] and index < best[0]):
                best = (index, length)
            if count >= 64:  # a value made of one repeated observed value: enough seen
                break
        return best[0] if best else None


# -- the private database -----------------------------------------------------------------------------------------


def _observed(conn: sqlite3.Connection, company_key: str) -> list[dict]:
    if not (table_exists(conn, "me_received") and table_exists(conn, "me_companies")):
        return []
    return dict_rows(conn, "SELECT r.id, r.kind, r.name, r.value, r.host, r.source, r.first_seen, r.last_seen "
                       "FROM me_received r JOIN me_companies c ON c.id = r.company_id WHERE c.key = ? "
                       "ORDER BY r.id", (company_key,))


# -- requests and events ------------------------------------------------------------------------------------------


def _country(conn: sqlite3.Connection, country: str | None) -> str:
    """The country whose public holidays count: the one given, else the person's (me_person.country), else FR."""
    if country:
        return country.upper()
    person = person_row(conn) or {}
    value = str(person.get("country") or "FR").upper()
    return value if re.fullmatch(r"[A-Z]{2}", value) else "FR"


def _require_private(store) -> None:
    if not is_private(store.conn) or not table_exists(store.conn, "me_requests"):
        raise UserError(f"{Path(store.path).name} is not a private database: start with `mouchard me` on your own "
                        "captures")


def _request(store, request_id: int) -> dict:
    _require_private(store)
    if not isinstance(request_id, int) or isinstance(request_id, bool):
        raise UserError(f"request id must be a number, not {str(request_id)[:20]!r}")
    rows = dict_rows(store.conn, "SELECT * FROM me_requests WHERE id = ?", (request_id,))
    if not rows:
        raise UserError(f"no request {request_id}: `mouchard me requests` lists them")
    return rows[0]


def record_sent(store, company_key: str, kind: str, *, sent_on: dt.date, channel: str = "email",
                received_on: dt.date | None = None, letter_id: int | None = None, country: str | None = None,
                notes: str | None = None) -> int:
    """Record that the person sent a `kind` request to `company_key` on `sent_on` by `channel`; returns the
    me_requests id. The deadline runs from `received_on`: the day sent for e-mail and web forms, for post
    2 working days later unless given (the assumption is written in `notes`, in French and English). Public
    holidays are those of `country` (default: the person's). The company need not be one mouchard observed."""
    _require_private(store)
    country = _country(store.conn, country)
    if kind not in REQUEST_KINDS:
        raise UserError(f"unknown request kind {str(kind)[:30]!r}: expected one of {', '.join(REQUEST_KINDS)}")
    if channel not in CHANNELS:
        raise UserError(f"unknown channel {str(channel)[:30]!r}: expected one of {', '.join(CHANNELS)}")
    if not isinstance(company_key, str) or not company_key.strip() or len(company_key) > KEY_LIMIT \
            or CONTROL.search(company_key):
        raise UserError("company key must be one line of text (see `mouchard me companies`)")
    if letter_id is not None and not store.conn.execute("SELECT 1 FROM me_letters WHERE id = ?",
                                                        (letter_id,)).fetchone():
        raise UserError(f"no letter {str(letter_id)[:20]}: `mouchard me letters` lists them")
    sent = parse_date(sent_on, "sent_on")
    if received_on is None:
        received, assumed = assumed_received_on(sent, channel, country=country)
    else:
        received, assumed = parse_date(received_on, "received_on"), False
        if received < sent:
            raise UserError(f"received_on {received} is before sent_on {sent}")
    regime = regime_of(kind)
    note_lines = [ASSUMED_RECEIPT_NOTE["fr"], ASSUMED_RECEIPT_NOTE["en"]] if assumed else []
    if notes:
        note_lines.append(str(notes)[:2000])
    return store.insert("me_requests", {
        "company_key": company_key.strip(), "kind": kind, "letter_id": letter_id, "regime": regime,
        "channel": channel, "sent_on": sent.isoformat(), "received_on": received.isoformat(),
        "due_on": due_date(received, regime, country=country).isoformat(), "status": "waiting",
        "notes": "\n".join(note_lines) or None,
    })


def record_event(store, request_id: int, event: str, *, on: dt.date, until: dt.date | None = None,
                 country: str | None = None) -> None:
    """Record what happened to a request on `on`: answered, extended (the company extended the deadline: to
    `until` when it named a date, else the legal maximum), reminder (sent), complaint (filed), closed."""
    request = _request(store, request_id)
    country = _country(store.conn, country)
    if event not in EVENTS:
        raise UserError(f"unknown event {str(event)[:30]!r}: expected one of {', '.join(EVENTS)}")
    day = parse_date(on, "on")
    sent = request.get("sent_on")
    if sent and day < parse_date(sent, f"me_requests {request_id}.sent_on"):
        raise UserError(f"{day} is before the request was sent ({sent})")
    values: dict = {}
    if event == "answered":
        values["answered_on"] = day.isoformat()
    elif event == "extended":
        received = request.get("received_on") or sent
        extended = parse_date(until, "until") if until is not None else \
            due_date(parse_date(received, f"me_requests {request_id}.received_on"), request.get("regime") or "gdpr",
                     extended=True, country=country)
        values["extended_to"] = extended.isoformat()
    elif event == "reminder":
        values["reminder_sent_on"] = day.isoformat()
    elif event == "complaint":
        values["complaint_on"] = day.isoformat()
    if event == "closed":
        values["status"] = "closed"
    else:
        values["status"] = request_state({**request, **values}, day, country=country).status
    store.update("me_requests", request_id, values)


# -- answers ------------------------------------------------------------------------------------------------------


def import_answer(store, request_id: int, path: Path, *, on: dt.date | None = None,
                  limits: Limits = LIMITS) -> dict:
    """Import a company's export answering request `request_id`: one me_answers row (file name only, SHA-256,
    format, values read, status ok / partial / failed with a reason) and one me_answer_items row per value, each
    matched against what mouchard observed the company receive. The request is marked answered on `on` (today by
    default) unless it already was. A file that cannot be read is a failed me_answers row and a one-line
    UserError; nothing else is written."""
    request = _request(store, request_id)
    file = Path(path)
    name = label(file.name, 200)
    row = {"request_id": request_id, "company_key": request["company_key"], "imported_at": utcnow(),
           "file_name": name, "sha256": None, "format": None, "items": 0}
    observed = _observed(store.conn, request["company_key"])
    matcher = Matcher(observed, limits=limits)
    try:
        data = read_file(file, limits, name)
        row["sha256"] = hashlib.sha256(data).hexdigest()
        export = read_export(data, name, limits=limits, match=matcher.find)
    except UserError as exc:
        store.insert("me_answers", {**row, "status": "failed", "reason": label(exc, 500)})
        raise
    flat = export.flat
    matched = 0
    reason = "; ".join(flat.reasons)
    status = "partial" if flat.reasons else "ok"
    with store.transaction() as tx:
        answer_id = tx.insert("me_answers", {**row, "format": export.format, "items": len(flat.items),
                                             "status": status, "reason": label(reason, 500) if reason else None})

        def items() -> Iterator[dict]:
            nonlocal matched
            for (item_path, value), index in zip(flat.items, flat.matched):
                hit = observed[index] if index is not None else None
                matched += hit is not None
                yield {"answer_id": answer_id, "path": item_path, "value": value,
                       "matched_kind": hit["kind"] if hit else None, "matched_name": hit["name"] if hit else None}

        tx.insert_many("me_answer_items", items())
        if not request.get("answered_on") and request.get("status") != "closed":
            day = parse_date(on, "on") if on is not None else dt.date.today()
            tx.update("me_requests", request_id, {"answered_on": day.isoformat(), "status": "answered"})
    return {"answer_id": answer_id, "request_id": request_id, "company_key": request["company_key"],
            "file_name": name, "sha256": row["sha256"], "format": export.format, "items": len(flat.items),
            "matched": matched, "members": export.members, "skipped": list(export.skipped), "status": status,
            "reason": reason or None}


# -- reading back -------------------------------------------------------------------------------------------------


def statuses(conn: sqlite3.Connection, today: dt.date, *, country: str | None = None) -> list[dict]:
    """Every request with where it stands on `today`: the me_requests row, its RequestState fields (status is
    the state's; the stored one is `stored_status`; dates as 'YYYY-MM-DD') and `company_name` (the key when
    the company is not in me_companies). Soonest deadline first."""
    if not table_exists(conn, "me_requests"):
        return []
    country = _country(conn, country)
    join = table_exists(conn, "me_companies")
    rows = dict_rows(conn, "SELECT r.*, " + ("c.name AS company_name FROM me_requests r LEFT JOIN me_companies c "
                                         "ON c.key = r.company_key" if join else
                                         "NULL AS company_name FROM me_requests r") + " ORDER BY r.id")
    out = []
    for row in rows:
        state = request_state(row, today, country=country)
        out.append({**row, "stored_status": row["status"], "company_name": row["company_name"] or row["company_key"],
                    "status": state.status, "due_on": state.due_on.isoformat(), "reminder_due": state.reminder_due,
                    "complaint_due": state.complaint_due, "days_left": state.days_left, "overdue": state.overdue,
                    "acknowledge_by": state.acknowledge_by.isoformat() if state.acknowledge_by else None})
    out.sort(key=lambda r: (r["due_on"], r["id"]))
    return out


def compare(conn: sqlite3.Connection, company_key: str) -> list[dict]:
    """What the company says it holds next to what mouchard saw it receive: every observed item (kind, name,
    value, host, source, first_seen, in_answer: whether a value of its imported answers matches it, answer_path:
    where), then every answer value matching nothing observed (kind None, in_answer True, answer_path)."""
    observed = _observed(conn, company_key)
    rows = [{"kind": o["kind"], "name": o["name"], "value": o["value"], "host": o["host"], "source": o["source"],
             "first_seen": o["first_seen"], "in_answer": False, "observed": True, "answer_path": None}
            for o in observed]
    if not (table_exists(conn, "me_answers") and table_exists(conn, "me_answer_items")):
        return rows
    matcher = Matcher(observed)
    by_name = {}
    for index, row in enumerate(observed):
        by_name.setdefault((row["kind"], row["name"]), index)
    answered = dict_rows(conn, "SELECT i.path, i.value, i.matched_kind, i.matched_name FROM me_answer_items i "
                           "JOIN me_answers a ON a.id = i.answer_id WHERE a.company_key = ? AND a.status != 'failed' "
                           "ORDER BY i.id", (company_key,))
    extra = []
    for item in answered:
        index = matcher.find(item["value"] or "")
        if index is None and item["matched_kind"] is not None:
            # Matched at import on the whole value, stored cut: found again by what it matched.
            index = by_name.get((item["matched_kind"], item["matched_name"]))
        if index is None:
            extra.append({"kind": None, "name": None, "value": item["value"], "host": None, "source": None,
                          "first_seen": None, "in_answer": True, "observed": False, "answer_path": item["path"]})
        elif not rows[index]["in_answer"]:
            rows[index].update(in_answer=True, answer_path=item["path"])
    return rows + extra
