"""Deadlines of `mouchard me` requests: GDPR Art. 12(3) computed as Reg. 1182/71 Art. 3 says, CCPA 45 days, the
French public holidays, and where a request stands the day before, on and after its deadline. Every expected
date was checked by hand against a calendar (weekday in the comment)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mouchard.errors import UserError
from mouchard.me.deadlines import (acknowledge_by, add_months, assumed_received_on, due_date, easter,
                                   is_working_day, next_working_day, parse_date, public_holidays, request_state)

D = dt.date.fromisoformat
PROPS = settings(max_examples=100, deadline=None, database=None)


@pytest.mark.parametrize("received, due", [
    ("2026-01-31", "2026-03-02"),  # 31 Jan -> 28 Feb (no 31 Feb), a Saturday -> Monday 2 March
    ("2026-04-05", "2026-05-05"),  # Tuesday
    ("2026-04-08", "2026-05-11"),  # 8 May 2026 is a Friday and Victoire 1945 -> Monday 11 May
    ("2026-12-07", "2027-01-07"),  # Thursday
    ("2027-12-24", "2028-01-24"),  # Monday
    ("2026-07-14", "2026-08-14"),  # Friday 14 August (15 August is the holiday, not the 14th)
    ("2026-07-15", "2026-08-17"),  # 15 Aug 2026 is a Saturday (and a holiday) -> Monday 17
    ("2026-04-25", "2026-05-26"),  # 25 May 2026 is Whit Monday -> Tuesday 26
    ("2026-04-14", "2026-05-15"),  # 14 May 2026 is Ascension (Thursday) -> Friday 15
    ("2028-01-29", "2028-02-29"),  # leap year: 29 Feb 2028 exists, a Tuesday
])
def test_gdpr_one_month_as_regulation_1182_71(received, due):
    assert due_date(D(received), "gdpr") == D(due)


def test_gdpr_extension_is_three_months_from_receipt_then_next_working_day():
    assert due_date(D("2026-12-07"), "gdpr", extended=True) == D("2027-03-08")  # 7 March 2027 is a Sunday
    assert due_date(D("2026-11-30"), "gdpr", extended=True) == D("2027-03-01")  # 28 Feb 2027 Sunday -> Monday


def test_other_countries_count_weekends_only():
    # 8 May 2026 is a French holiday, not a German one in this table: Friday stays the deadline.
    assert due_date(D("2026-04-08"), "gdpr", country="DE") == D("2026-05-08")
    assert due_date(D("2026-01-31"), "gdpr", country="DE") == D("2026-03-02")  # Saturday -> Monday all the same
    assert public_holidays(2026, "BE") == frozenset()


def test_ccpa_45_calendar_days_extendable_once_and_acknowledged_within_10_business_days():
    assert due_date(D("2026-12-07"), "ccpa") == D("2027-01-21")  # Thursday
    assert due_date(D("2026-12-07"), "ccpa", extended=True) == D("2027-03-07")  # 90 days, calendar: a Sunday
    assert acknowledge_by(D("2026-12-07")) == D("2026-12-21")  # Monday + 10 weekdays = Monday two weeks later
    assert acknowledge_by(D("2026-12-11")) == D("2026-12-25")  # Friday -> Friday (California holidays not counted)


@pytest.mark.parametrize("year, sunday", [
    (2025, "2025-04-20"), (2026, "2026-04-05"), (2027, "2027-03-28"),
    (2028, "2028-04-16"), (2029, "2029-04-01"), (2030, "2030-04-21"),
])
def test_easter_dates(year, sunday):
    assert easter(year) == D(sunday)
    assert easter(year).weekday() == 6


def test_french_holidays_2026_in_full():
    assert sorted(public_holidays(2026, "fr")) == [D(d) for d in (
        "2026-01-01", "2026-04-06", "2026-05-01", "2026-05-08", "2026-05-14", "2026-05-25",
        "2026-07-14", "2026-08-15", "2026-11-01", "2026-11-11", "2026-12-25")]


def test_working_days():
    assert not is_working_day(D("2026-12-25"))  # Friday, Noël
    assert is_working_day(D("2026-12-25"), "DE")  # no German holidays in this table
    assert next_working_day(D("2026-12-25")) == D("2026-12-28")  # Friday holiday -> Monday
    assert next_working_day(D("2026-12-07")) == D("2026-12-07")


def test_add_months_clamps_to_the_last_day():
    assert add_months(D("2026-01-31"), 1) == D("2026-02-28")
    assert add_months(D("2026-03-31"), 1) == D("2026-04-30")
    assert add_months(D("2026-11-30"), 3) == D("2027-02-28")
    assert add_months(D("2026-12-15"), 1) == D("2027-01-15")


def test_received_on_default_by_channel():
    assert assumed_received_on(D("2026-12-07"), "email") == (D("2026-12-07"), False)
    assert assumed_received_on(D("2026-12-07"), "webform") == (D("2026-12-07"), False)
    assert assumed_received_on(D("2026-12-07"), "post") == (D("2026-12-09"), True)  # Monday + 2 -> Wednesday
    assert assumed_received_on(D("2026-12-24"), "post") == (D("2026-12-29"), True)  # Thu; Fri 25 holiday -> Tue 29
    with pytest.raises(UserError, match="unknown channel"):
        assumed_received_on(D("2026-12-07"), "pigeon")


def _row(**values):
    row = {"id": 7, "regime": "gdpr", "sent_on": "2026-12-07", "received_on": "2026-12-07",
           "due_on": "2027-01-07", "extended_to": None, "answered_on": None, "reminder_sent_on": None,
           "complaint_on": None, "status": "waiting"}
    row.update(values)
    return row


def test_state_the_day_before_on_and_after_the_deadline():
    before = request_state(_row(), D("2027-01-06"))
    on = request_state(_row(), D("2027-01-07"))
    after = request_state(_row(), D("2027-01-08"))
    assert (before.status, before.days_left, before.reminder_due, before.complaint_due) == ("waiting", 1, False, False)
    assert (on.status, on.days_left, on.reminder_due, on.complaint_due) == ("waiting", 0, False, False)
    assert (after.status, after.days_left, after.reminder_due, after.complaint_due) == ("overdue", -1, True, True)
    assert after.due_on == D("2027-01-07") and after.overdue and after.acknowledge_by is None


def test_state_after_reminder_complaint_answer_extension_and_closing():
    late = D("2027-01-20")
    reminded = request_state(_row(reminder_sent_on="2027-01-10"), late)
    assert (reminded.status, reminded.reminder_due, reminded.complaint_due) == ("overdue", False, True)
    complained = request_state(_row(reminder_sent_on="2027-01-10", complaint_on="2027-01-15"), late)
    assert (complained.status, complained.reminder_due, complained.complaint_due) == ("complained", False, False)
    answered = request_state(_row(answered_on="2027-01-19"), late)
    assert (answered.status, answered.reminder_due, answered.complaint_due, answered.overdue) == \
        ("answered", False, False, False)
    extended = request_state(_row(extended_to="2027-03-08"), late)
    assert (extended.status, extended.due_on, extended.days_left, extended.reminder_due) == \
        ("extended", D("2027-03-08"), 47, False)
    assert request_state(_row(extended_to="2027-03-08"), D("2027-03-09")).status == "overdue"
    closed = request_state(_row(status="closed"), late)
    assert (closed.status, closed.reminder_due, closed.complaint_due) == ("closed", False, False)


def test_state_computes_a_missing_due_date_and_the_ccpa_acknowledgement():
    state = request_state(_row(due_on=None, regime="ccpa"), D("2027-01-21"))
    assert (state.due_on, state.days_left, state.acknowledge_by) == (D("2027-01-21"), 0, D("2026-12-21"))
    assert request_state(_row(due_on=None, received_on=None), D("2027-01-08")).due_on == D("2027-01-07")


@pytest.mark.parametrize("field, value", [
    ("due_on", "2027-02-30"), ("due_on", "07/01/2027"), ("received_on", "2026-12-7"), ("answered_on", 20270107),
    ("due_on", "2027-01-07T00:00:00"), ("sent_on", "x" * 500),
])
def test_malformed_dates_are_one_line_user_errors(field, value):
    with pytest.raises(UserError) as info:
        request_state(_row(**{field: value}), D("2027-01-08"))
    message = str(info.value)
    assert f"me_requests 7.{field}" in message and "\n" not in message and len(message) < 200


def test_unknown_regime_and_no_dates_are_user_errors():
    with pytest.raises(UserError, match="unknown regime"):
        due_date(D("2026-12-07"), "lgpd")
    with pytest.raises(UserError, match="no date sent"):
        request_state(_row(sent_on=None, received_on=None, due_on=None), D("2027-01-08"))


@PROPS
@given(st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2100, 12, 31)),
       st.sampled_from(["FR", "DE"]), st.booleans())
def test_gdpr_deadline_is_a_working_day_within_a_few_days_of_the_month(received, country, extended):
    due = due_date(received, "gdpr", country=country, extended=extended)
    plain = add_months(received, 3 if extended else 1)
    assert is_working_day(due, country)
    assert plain <= due <= plain + dt.timedelta(days=4)  # at most: Sat, Sun, holiday Mon... (Easter Sat->Tue)
    assert parse_date(due.isoformat()) == due
