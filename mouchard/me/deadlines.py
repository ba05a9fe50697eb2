"""Deadlines of a request: pure date logic, no I/O.

GDPR (Art. 12(3)): the company answers "without undue delay and in any event within one month of receipt of the
request", extendable "by two further months". Periods are computed as Regulation (EEC, Euratom) No 1182/71
Art. 3 says, as the EDPB's Guidelines 01/2022 on the right of access do:

- a period in months ends on the same day of the last month as the day of receipt (Art. 3(2)(c));
- when that day does not exist in the last month, on the last day of that month (31 January -> 28 February);
- when the last day is a Saturday, a Sunday or a public holiday, on the next working day (Art. 3(4)).

The extension is computed the same way with three months from receipt (one month plus two further months).

Public holidays: France in full (the eleven national days, Easter computed here). Alsace-Moselle's Good Friday and
26 December are not counted. Every other country: weekends only, so a deadline there may fall one working day
early when it lands on a local holiday.

CCPA (Cal. Civ. Code §1798.130(a)(2)(A)): 45 calendar days from receipt, extendable once by 45 more; the receipt
is confirmed within 10 business days (CCPA regulations, 11 CCR §7021(a)). Business days are counted as Monday to
Friday: California state holidays are not counted, so `acknowledge_by` may be a day or two early.

Dates in database rows are 'YYYY-MM-DD' strings; a malformed one is a one-line UserError.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

from mouchard.errors import UserError
from mouchard.me.model import REGIMES

CCPA_DAYS = 45  # §1798.130(a)(2)(A), and as much again once extended
CCPA_ACKNOWLEDGE_BUSINESS_DAYS = 10  # 11 CCR §7021(a)
GDPR_MONTHS = 1  # Art. 12(3)
GDPR_EXTENDED_MONTHS = 3  # one month plus "two further months"
POST_DELIVERY_WORKING_DAYS = 2  # assumed delivery time of a posted letter (the sender cannot know it)
CHANNELS = ("email", "post", "webform")
STATUSES = ("waiting", "answered", "overdue", "extended", "complained", "closed")
HOLIDAY_COUNTRIES = ("FR",)  # countries whose public holidays are known here; others: weekends only

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")

# What the person is told when the date of receipt of a posted letter was assumed (fr first).
ASSUMED_RECEIPT_NOTE = {
    "fr": "Date de réception supposée : envoi par courrier + 2 jours ouvrés. Corrigez-la avec la date de "
          "l'accusé de réception si vous l'avez.",
    "en": "Assumed date of receipt: posted + 2 working days. Correct it with the date on the proof of delivery "
          "if you have one.",
}


@dataclass(frozen=True)
class RequestState:
    status: str  # waiting, answered, overdue, extended, complained, closed
    due_on: dt.date
    reminder_due: bool  # a reminder should be sent now
    complaint_due: bool  # a complaint draft should be offered now
    days_left: int  # negative once overdue
    overdue: bool = False  # the deadline passed with no answer (whatever was done since: reminder, complaint)
    acknowledge_by: dt.date | None = None  # CCPA: date the receipt should have been confirmed by; None for GDPR


def parse_date(value: object, what: str = "date") -> dt.date:
    """A date from a row ('YYYY-MM-DD') or a `datetime.date`; anything else is a one-line UserError naming
    `what` (e.g. "me_requests.due_on")."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and _DATE.match(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
    raise UserError(f"{what}: {shown} is not a date (expected YYYY-MM-DD, e.g. 2026-12-07)")


def _optional_date(value: object, what: str) -> dt.date | None:
    if value is None or value == "":
        return None
    return parse_date(value, what)


def easter(year: int) -> dt.date:
    """Easter Sunday of `year` in the Gregorian calendar (the anonymous Gregorian algorithm, Meeus/Jones/Butcher)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    l = (32 + 2 * e + 2 * i - h - k) % 7  # noqa: E741 - the algorithm's own name
    m = (a + 11 * h + 22 * l) // 451
    month, day = divmod(h + l - 7 * m + 114, 31)
    return dt.date(year, month, day + 1)


def public_holidays(year: int, country: str = "FR") -> frozenset[dt.date]:
    """Public holidays of `country` in `year`: France's eleven national days (Code du travail L3133-1); an empty
    set for any other country (weekends only: see the module docstring)."""
    if country.upper() != "FR":
        return frozenset()
    sunday = easter(year)
    return frozenset({
        dt.date(year, 1, 1),  # Jour de l'an
        sunday + dt.timedelta(days=1),  # Lundi de Pâques
        dt.date(year, 5, 1),  # Fête du Travail
        dt.date(year, 5, 8),  # Victoire 1945
        sunday + dt.timedelta(days=39),  # Ascension
        sunday + dt.timedelta(days=50),  # Lundi de Pentecôte
        dt.date(year, 7, 14),  # Fête nationale
        dt.date(year, 8, 15),  # Assomption
        dt.date(year, 11, 1),  # Toussaint
        dt.date(year, 11, 11),  # Armistice 1918
        dt.date(year, 12, 25),  # Noël
    })


def is_working_day(day: dt.date, country: str = "FR") -> bool:
    """Monday to Friday and not a public holiday of `country`."""
    return day.weekday() < 5 and day not in public_holidays(day.year, country)


def next_working_day(day: dt.date, country: str = "FR") -> dt.date:
    """`day` itself when it is a working day, else the first working day after it (Reg. 1182/71 Art. 3(4))."""
    while not is_working_day(day, country):
        day += dt.timedelta(days=1)
    return day


def add_working_days(day: dt.date, count: int, country: str = "FR") -> dt.date:
    """The `count`-th working day after `day` (`day` itself not counted)."""
    for _ in range(max(0, count)):
        day += dt.timedelta(days=1)
        while not is_working_day(day, country):
            day += dt.timedelta(days=1)
    return day


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later; the last day of that month when it has no such day (Reg. 1182/71
    Art. 3(2)(c))."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def due_date(received_on: dt.date, regime: str, *, extended: bool = False, country: str = "FR") -> dt.date:
    """Last day the company may answer a request it received on `received_on`: GDPR one month (three once
    extended), moved to the next working day of `country`; CCPA 45 calendar days (90 once extended)."""
    received_on = parse_date(received_on, "received_on")
    if regime == "gdpr":
        end = add_months(received_on, GDPR_EXTENDED_MONTHS if extended else GDPR_MONTHS)
        return next_working_day(end, country)
    if regime == "ccpa":
        return received_on + dt.timedelta(days=CCPA_DAYS * (2 if extended else 1))
    raise UserError(f"unknown regime {regime!r}: expected one of {', '.join(REGIMES)}")


def acknowledge_by(received_on: dt.date) -> dt.date:
    """CCPA: the date a business should have confirmed receipt by (10 business days, 11 CCR §7021(a));
    weekends skipped, California state holidays not counted."""
    return add_working_days(parse_date(received_on, "received_on"), CCPA_ACKNOWLEDGE_BUSINESS_DAYS, country="US")


def regime_of(kind: str) -> str:
    """The law a request kind is made under: ccpa-* -> ccpa, everything else gdpr."""
    return "ccpa" if kind.startswith("ccpa-") else "gdpr"


def assumed_received_on(sent_on: dt.date, channel: str, *, country: str = "FR") -> tuple[dt.date, bool]:
    """(date of receipt, assumed): an e-mail or a web form arrives the day it is sent; a posted letter is assumed
    delivered `POST_DELIVERY_WORKING_DAYS` working days later (the sender cannot know it: ASSUMED_RECEIPT_NOTE
    says so to the person, who may correct it)."""
    sent_on = parse_date(sent_on, "sent_on")
    if channel not in CHANNELS:
        raise UserError(f"unknown channel {channel!r}: expected one of {', '.join(CHANNELS)}")
    if channel == "post":
        return add_working_days(sent_on, POST_DELIVERY_WORKING_DAYS, country), True
    return sent_on, False


def request_state(request: dict, today: dt.date, *, country: str = "FR") -> RequestState:
    """Where a request (a me_requests row) stands on `today`.

    The deadline is `extended_to` when the company extended it, else `due_on`, else computed from `received_on`
    (or `sent_on`). It is met on its last day: overdue starts the day after. Status, first that applies:
    closed (the person closed it), answered, complained, overdue, extended, waiting. A reminder is due once
    overdue with no answer, no reminder, no complaint yet; a complaint draft is offered once overdue with no
    answer and no complaint (a reminder is not required first)."""
    today = parse_date(today, "today")
    ident = request.get("id")
    where = f"me_requests {ident}" if ident is not None else "me_requests"
    regime = request.get("regime") or "gdpr"
    if regime not in REGIMES:
        raise UserError(f"{where}: unknown regime {str(regime)[:20]!r} (expected gdpr or ccpa)")
    sent_on = _optional_date(request.get("sent_on"), f"{where}.sent_on")
    received_on = _optional_date(request.get("received_on"), f"{where}.received_on") or sent_on
    due_on = _optional_date(request.get("due_on"), f"{where}.due_on")
    extended_to = _optional_date(request.get("extended_to"), f"{where}.extended_to")
    answered_on = _optional_date(request.get("answered_on"), f"{where}.answered_on")
    reminder_on = _optional_date(request.get("reminder_sent_on"), f"{where}.reminder_sent_on")
    complaint_on = _optional_date(request.get("complaint_on"), f"{where}.complaint_on")
    if due_on is None:
        if received_on is None:
            raise UserError(f"{where}: no date sent, received or due: record the date the request was sent")
        due_on = due_date(received_on, regime, country=country)
    due = extended_to or due_on
    closed = request.get("status") == "closed"
    answered = answered_on is not None
    overdue = not answered and today > due
    if closed:
        status = "closed"
    elif answered:
        status = "answered"
    elif complaint_on is not None:
        status = "complained"
    elif overdue:
        status = "overdue"
    elif extended_to is not None:
        status = "extended"
    else:
        status = "waiting"
    open_ = not closed and not answered
    return RequestState(
        status=status, due_on=due,
        reminder_due=open_ and overdue and reminder_on is None and complaint_on is None,
        complaint_due=open_ and overdue and complaint_on is None,
        days_left=(due - today).days, overdue=overdue,
        acknowledge_by=acknowledge_by(received_on) if regime == "ccpa" and received_on else None)
