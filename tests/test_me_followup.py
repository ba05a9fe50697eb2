"""Follow-up of `mouchard me` requests (mouchard.me.followup, mouchard.me.exports): requests and their events in a
private database, a company's export (CSV, nested JSON, ZIP) imported within bounds and matched against what was
observed, hostile exports (ZIP bomb, 10 MB field, binary, broken JSON) refused or cut with a reason, and the
flatteners under hypothesis."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mouchard.errors import UserError
from mouchard.me.exports import Limits, flatten_csv, flatten_json, flatten_value, read_export
from mouchard.me.followup import compare, import_answer, record_event, record_sent, statuses
from mouchard.storage.private import mark_private
from mouchard.storage.store import Store

D = dt.date.fromisoformat
PROPS = settings(max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
UUID2 = "8412345678901234567"
XANDR_ID = "AbCdEf0123456789"
OBSERVED = [  # what mouchard saw Xandr receive (me_received rows)
    ("cookie", "uuid2", UUID2),
    ("advertising_id", "ifa", "38400000-8cf0-11bd-b23e-10b96e40000d"),
    ("id_sync", "partner_uid", XANDR_ID),
    ("cookie", "consent", "1"),  # too short to match anything
]


@pytest.fixture
def store(tmp_path: Path):
    db = Store(tmp_path / "me.db")
    mark_private(db, {"name": "Jean Dupont-Mouchard", "country": "FR", "language": "fr"})
    company = db.insert("me_companies", {"key": "xandr", "name": "Xandr, Inc.", "items": len(OBSERVED)})
    db.insert("me_companies", {"key": "criteo", "name": "Criteo SA", "items": 0})
    for kind, name, value in OBSERVED:
        db.insert("me_received", {"company_id": company, "kind": kind, "name": name, "value": value,
                                  "host": "ib.adnxs.com", "source": "lemonde.fr", "source_kind": "site",
                                  "first_seen": "2026-12-06T10:00:00Z", "last_seen": "2026-12-06T10:05:00Z"})
    yield db
    db.close()


def _request(store, **kw) -> int:
    return record_sent(store, "xandr", "access", sent_on=D("2026-12-07"), **kw)


def _rows(store, sql, params=()):
    return store.rows(sql, params)


def _zip(members: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buffer.getvalue()


# -- requests and events ------------------------------------------------------------------------------------------


def test_record_sent_by_email_post_and_ccpa(store):
    email = _request(store)
    post = record_sent(store, "criteo", "objection", sent_on=D("2026-12-24"), channel="post")
    ccpa = record_sent(store, "xandr", "ccpa-know", sent_on="2026-12-07", channel="webform")
    given_receipt = record_sent(store, "xandr", "erasure", sent_on=D("2026-12-07"), channel="post",
                                received_on=D("2026-12-10"))
    rows = {r["id"]: r for r in _rows(store, "SELECT * FROM me_requests")}
    assert {k: rows[email][k] for k in ("company_key", "kind", "regime", "channel", "sent_on", "received_on",
                                        "due_on", "status", "notes")} == {
        "company_key": "xandr", "kind": "access", "regime": "gdpr", "channel": "email", "sent_on": "2026-12-07",
        "received_on": "2026-12-07", "due_on": "2027-01-07", "status": "waiting", "notes": None}
    # Posted on Thursday 24 Dec: Friday 25 is Noël, so delivered (assumed) Tuesday 29; due Friday 29 January.
    assert (rows[post]["received_on"], rows[post]["due_on"]) == ("2026-12-29", "2027-01-29")
    assert rows[post]["notes"].startswith("Date de réception supposée : envoi par courrier + 2 jours ouvrés.")
    assert "Assumed date of receipt: posted + 2 working days." in rows[post]["notes"]
    assert (rows[ccpa]["regime"], rows[ccpa]["due_on"]) == ("ccpa", "2027-01-21")
    assert (rows[given_receipt]["received_on"], rows[given_receipt]["due_on"], rows[given_receipt]["notes"]) == \
        ("2026-12-10", "2027-01-11", None)  # 10 Jan 2027 is a Sunday


@pytest.mark.parametrize("kwargs, message", [
    ({"kind": "reminder"}, "unknown request kind 'reminder'"),
    ({"channel": "fax"}, "unknown channel 'fax'"),
    ({"sent_on": "7 December"}, "sent_on: '7 December' is not a date"),
    ({"received_on": D("2026-12-01")}, "received_on 2026-12-01 is before sent_on 2026-12-07"),
    ({"company_key": "a\nb"}, "company key must be one line"),
])
def test_record_sent_rejects_bad_input_in_one_line(store, kwargs, message):
    args = {"company_key": "xandr", "kind": "access", "sent_on": D("2026-12-07"), **kwargs}
    with pytest.raises(UserError, match=message) as info:
        record_sent(store, args.pop("company_key"), args.pop("kind"), **args)
    assert "\n" not in str(info.value)
    assert store.count("me_requests") == 0


def test_letters_must_exist_and_holidays_are_the_persons_country(store):
    with pytest.raises(UserError, match="no letter 5"):
        _request(store, letter_id=5)
    letter = store.insert("me_letters", {"company_key": "xandr", "kind": "access", "language": "fr"})
    assert _rows(store, "SELECT letter_id FROM me_requests WHERE id = ?", (_request(store, letter_id=letter),)) == \
        [{"letter_id": letter}]
    # Received Wednesday 8 April 2026: due Friday 8 May, a French holiday -> Monday 11 May; in Germany the 8th.
    french = record_sent(store, "xandr", "access", sent_on=D("2026-04-08"))
    german = record_sent(store, "xandr", "access", sent_on=D("2026-04-08"), country="DE")
    mark_private(store, {"name": "Jean Dupont-Mouchard", "country": "DE", "language": "fr"})
    from_person = record_sent(store, "xandr", "access", sent_on=D("2026-04-08"))
    dues = {r["id"]: r["due_on"] for r in _rows(store, "SELECT id, due_on FROM me_requests")}
    assert (dues[french], dues[german], dues[from_person]) == ("2026-05-11", "2026-05-08", "2026-05-08")


def test_a_crawl_database_has_no_requests(tmp_path):
    with Store(tmp_path / "crawl.db") as db:
        with pytest.raises(UserError, match="crawl.db is not a private database"):
            record_sent(db, "xandr", "access", sent_on=D("2026-12-07"))


def test_record_event_answered_extended_reminder_complaint_closed(store):
    def row(request_id):
        return _rows(store, "SELECT * FROM me_requests WHERE id = ?", (request_id,))[0]

    first = _request(store)
    record_event(store, first, "extended", on=D("2026-12-20"))
    assert (row(first)["extended_to"], row(first)["status"]) == ("2027-03-08", "extended")
    record_event(store, first, "answered", on=D("2027-02-01"))
    assert (row(first)["answered_on"], row(first)["status"]) == ("2027-02-01", "answered")

    second = _request(store)
    record_event(store, second, "extended", on=D("2026-12-20"), until=D("2027-02-15"))
    assert row(second)["extended_to"] == "2027-02-15"

    third = _request(store)
    record_event(store, third, "reminder", on=D("2027-01-08"))
    assert (row(third)["reminder_sent_on"], row(third)["status"]) == ("2027-01-08", "overdue")
    record_event(store, third, "complaint", on=D("2027-01-25"))
    assert (row(third)["complaint_on"], row(third)["status"]) == ("2027-01-25", "complained")
    record_event(store, third, "closed", on=D("2027-03-01"))
    assert row(third)["status"] == "closed"


def test_record_event_rejects_unknown_ids_events_and_dates(store):
    request_id = _request(store)
    with pytest.raises(UserError, match="no request 999"):
        record_event(store, 999, "answered", on=D("2027-01-01"))
    with pytest.raises(UserError, match="unknown event 'lost'"):
        record_event(store, request_id, "lost", on=D("2027-01-01"))
    with pytest.raises(UserError, match=r"2026-12-01 is before the request was sent \(2026-12-07\)"):
        record_event(store, request_id, "answered", on=D("2026-12-01"))


def test_statuses_on_a_day_with_company_names_soonest_first(store):
    late = _request(store)
    record_event(store, late, "reminder", on=D("2027-01-10"))
    fresh = record_sent(store, "criteo", "access", sent_on=D("2027-01-15"))
    unknown = record_sent(store, "acme", "ccpa-delete", sent_on=D("2027-01-15"))
    rows = statuses(store.conn, D("2027-01-20"))
    assert [(r["id"], r["company_name"], r["status"], r["due_on"], r["days_left"], r["reminder_due"],
             r["complaint_due"], r["acknowledge_by"]) for r in rows] == [
        (late, "Xandr, Inc.", "overdue", "2027-01-07", -13, False, True, None),
        (fresh, "Criteo SA", "waiting", "2027-02-15", 26, False, False, None),
        (unknown, "acme", "waiting", "2027-03-01", 40, False, False, "2027-01-29"),
    ]


# -- answers ------------------------------------------------------------------------------------------------------


def test_import_a_csv_export_semicolons_bom_and_matches(store, tmp_path):
    request_id = _request(store)
    export = tmp_path / "export-xandr.csv"
    export.write_bytes("\ufeffnom;valeur;date\n"
                       f"uuid2;{UUID2};06/12/2026\n"
                       f"partner;https://x.example/sync?uid={XANDR_ID.lower()}&p=1;\n"
                       "segment;Sports, Auto;\n".encode("utf-8"))
    summary = import_answer(store, request_id, export, on=D("2026-12-20"))
    assert {k: summary[k] for k in ("format", "items", "matched", "status", "reason", "file_name")} == {
        "format": "csv", "items": 7, "matched": 2, "status": "ok", "reason": None, "file_name": "export-xandr.csv"}
    items = _rows(store, "SELECT path, value, matched_kind, matched_name FROM me_answer_items ORDER BY id")
    assert [tuple(i.values()) for i in items] == [
        ("row 1, nom", "uuid2", None, None),
        ("row 1, valeur", UUID2, "cookie", "uuid2"),
        ("row 1, date", "06/12/2026", None, None),  # the consent cookie's "1" is too short to match
        ("row 2, nom", "partner", None, None),
        ("row 2, valeur", f"https://x.example/sync?uid={XANDR_ID.lower()}&p=1", "id_sync", "partner_uid"),
        ("row 3, nom", "segment", None, None),
        ("row 3, valeur", "Sports, Auto", None, None),
    ]
    answer = _rows(store, "SELECT * FROM me_answers")[0]
    assert (answer["company_key"], answer["format"], answer["items"], answer["status"], len(answer["sha256"])) == \
        ("xandr", "csv", 7, "ok", 64)
    request = _rows(store, "SELECT answered_on, status FROM me_requests")[0]
    assert request == {"answered_on": "2026-12-20", "status": "answered"}


def test_import_a_nested_json_export(store, tmp_path):
    request_id = _request(store)
    record_event(store, request_id, "answered", on=D("2026-12-15"))
    export = tmp_path / "takeout.json"
    export.write_text(json.dumps({
        "user": {"cookies": [{"name": "uuid2", "value": UUID2, "max_age": 7776000}],
                 "devices": [{"ifa": "38400000-8CF0-11BD-B23E-10B96E40000D", "seen": None, "optout": False}]},
        "segments": ["in-market: cars", []], "score": 1.50, "weird key": {"a.b": "x"},
    }), encoding="utf-8")
    summary = import_answer(store, request_id, export)
    assert (summary["format"], summary["items"], summary["matched"], summary["status"]) == ("json", 8, 2, "ok")
    items = _rows(store, "SELECT path, value, matched_kind FROM me_answer_items ORDER BY id")
    assert [tuple(i.values()) for i in items] == [
        ("$.user.cookies[0].name", "uuid2", None),
        ("$.user.cookies[0].value", UUID2, "cookie"),
        ("$.user.cookies[0].max_age", "7776000", None),
        ("$.user.devices[0].ifa", "38400000-8CF0-11BD-B23E-10B96E40000D", "advertising_id"),  # case-insensitive
        ("$.user.devices[0].optout", "false", None),
        ("$.segments[0]", "in-market: cars", None),
        ("$.score", "1.5", None),
        ('$["weird key"]["a.b"]', "x", None),
    ]
    # Already answered on 15 December: the import does not move that date.
    assert _rows(store, "SELECT answered_on, status FROM me_requests")[0] == \
        {"answered_on": "2026-12-15", "status": "answered"}


def test_import_a_zip_in_memory_member_names_never_paths(store, tmp_path):
    request_id = _request(store)
    export = tmp_path / "export.zip"
    export.write_bytes(_zip([
        ("data/cookies.csv", f"name,value\nuuid2,{UUID2}\n".encode()),
        ("../../escape.json", json.dumps({"ids": [XANDR_ID]}).encode()),
        ("README.pdf", b"%PDF-1.7 ..."),
        ("data/", b""),
    ]))
    summary = import_answer(store, request_id, export, on=D("2026-12-20"))
    assert {k: summary[k] for k in ("format", "items", "matched", "members", "skipped", "status")} == {
        "format": "zip", "items": 3, "matched": 2, "members": 2, "skipped": ["README.pdf: not CSV or JSON"],
        "status": "ok"}
    items = _rows(store, "SELECT path, value, matched_kind FROM me_answer_items ORDER BY id")
    assert [tuple(i.values()) for i in items] == [
        ("data/cookies.csv: row 1, name", "uuid2", None),
        ("data/cookies.csv: row 1, value", UUID2, "cookie"),
        ("../../escape.json: $.ids[0]", XANDR_ID, "id_sync"),
    ]
    assert sorted(p.name for p in tmp_path.parent.iterdir() if p.name == "escape.json") == []
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("me.db")) == ["export.zip"]


def test_a_zip_bomb_is_refused_without_inflating_it(store, tmp_path):
    request_id = _request(store)
    bomb = _zip([("bomb.csv", b"0" * (20 * 1024 * 1024))])  # 20 MB of zeros in about 20 kB
    assert len(bomb) < 100_000
    (tmp_path / "bomb.zip").write_bytes(bomb)
    with pytest.raises(UserError, match=r"^bomb.zip: nothing readable in the ZIP \(bomb.csv: compressed more "
                                        r"than 200 times \(a ZIP bomb\?\)\)$"):
        import_answer(store, request_id, tmp_path / "bomb.zip")
    answer = _rows(store, "SELECT file_name, format, items, status, reason FROM me_answers")
    assert answer == [{"file_name": "bomb.zip", "format": None, "items": 0, "status": "failed",
                       "reason": "bomb.zip: nothing readable in the ZIP (bomb.csv: compressed more than 200 times "
                                 "(a ZIP bomb?))"}]
    assert store.count("me_answer_items") == 0
    assert _rows(store, "SELECT answered_on, status FROM me_requests")[0] == {"answered_on": None, "status": "waiting"}

    # Beside a readable member, the bomb is skipped and the answer is partial.
    (tmp_path / "mixed.zip").write_bytes(_zip([("ids.csv", f"id\n{UUID2}\n".encode()),
                                               ("bomb.json", b" " * (20 * 1024 * 1024))]))
    summary = import_answer(store, request_id, tmp_path / "mixed.zip")
    assert (summary["items"], summary["matched"], summary["status"], summary["reason"]) == \
        (1, 1, "partial", "bomb.json: compressed more than 200 times (a ZIP bomb?)")


def test_a_csv_with_a_10_mb_field_is_cut_there(store, tmp_path):
    request_id = _request(store)
    export = tmp_path / "huge-field.csv"
    export.write_bytes(f"id,comment\n{UUID2},fine\nabc,".encode() + b"x" * (10 * 1024 * 1024) + b"\nlast,row\n")
    summary = import_answer(store, request_id, export)
    assert (summary["items"], summary["matched"], summary["status"], summary["reason"]) == (
        2, 1, "partial", "line 3: a line longer than 1048576 characters; the rest was not read")
    assert max(len(r["value"]) for r in _rows(store, "SELECT value FROM me_answer_items")) == len(UUID2)
    # A quoted field over many short lines is stopped by the field limit (csv.field_size_limit), restored after:
    # 100 characters at the end of line 3, one more a line, 151 on line 54.
    before = csv.field_size_limit()
    flat = flatten_csv('id,note\n1,ok\n2,"' + "y" * 99 + "\n" * 100 + '"\n', limits=Limits(field_chars=150))
    assert (flat.items, flat.reasons) == ([("row 1, id", "1"), ("row 1, note", "ok")],
                                          ["line 54: a field longer than 150 characters; the rest was not read"])
    assert csv.field_size_limit() == before


def test_values_are_cut_at_2000_characters_and_items_bounded(store, tmp_path):
    request_id = _request(store)
    export = tmp_path / "long.json"
    export.write_text(json.dumps({"blob": "y" * 5000 + UUID2}), encoding="utf-8")
    summary = import_answer(store, request_id, export)
    value = _rows(store, "SELECT value FROM me_answer_items")[0]["value"]
    assert (len(value), summary["matched"], summary["status"]) == (2000, 1, "ok")  # matched on the whole value
    assert [(r["kind"], r["in_answer"], r["answer_path"]) for r in compare(store.conn, "xandr")][0] == \
        ("cookie", True, "$.blob")
    flat = flatten_csv("a,b\n" + "1,2\n" * 10, limits=Limits(items=5))
    assert (len(flat.items), flat.reasons) == (5, ["more than 5 values: the first 5 kept"])
    deep = flatten_json("[" * 70 + "1" + "]" * 70)
    assert (deep.items, deep.reasons) == ([], ["nested deeper than 64 levels: the deeper values were not read"])


def test_zip_entries_and_directory_are_bounded():
    many = _zip([(f"part-{i}.csv", f"id\n{i}-value\n".encode()) for i in range(6)])
    export = read_export(many, "many.zip", limits=Limits(members=4))
    assert (export.members, export.flat.items, export.flat.reasons) == (
        4, [(f"part-{i}.csv: row 1, id", f"{i}-value") for i in range(4)],
        ["more than 4 entries in the ZIP: the rest was not read"])
    with pytest.raises(UserError, match=r"^many.zip: ZIP directory of 336 bytes, more than 100 \(too many entries\)$"):
        read_export(many, "many.zip", limits=Limits(directory_bytes=100))
    buffer = io.BytesIO()  # the same through ZIP64 end records
    with zipfile.ZipFile(buffer, "w") as archive:
        for i in range(6):
            with archive.open(f"part-{i}.csv", "w", force_zip64=True) as handle:
                handle.write(b"id\n1\n")
        archive.comment = b""
    assert read_export(buffer.getvalue(), "z64.zip").members == 6


@pytest.mark.parametrize("name, content, message", [
    ("empty.csv", b"  \n", "empty.csv: the file is empty"),
    ("scan.pdf", b"%PDF-1.7\n\x00\x01binary", "scan.pdf: not a CSV, JSON or ZIP file"),
    ("broken.json", b'{"a": [1, 2', "broken.json: not valid JSON (Expecting ',' delimiter: line 1 column 12 (char 11))"),
    ("deep.json", b"[" * 100_000 + b"]" * 100_000, "deep.json: JSON nested too deep to read"),
    ("fake.zip", b"PK\x03\x04 not really", "fake.zip: not a readable ZIP file"),
])
def test_bad_files_are_a_failed_row_and_one_line(store, tmp_path, name, content, message):
    request_id = _request(store)
    (tmp_path / name).write_bytes(content)
    with pytest.raises(UserError) as info:
        import_answer(store, request_id, tmp_path / name)
    assert str(info.value) == message
    assert _rows(store, "SELECT file_name, status, reason, items FROM me_answers") == [
        {"file_name": name, "status": "failed", "reason": message, "items": 0}]
    assert store.count("me_answer_items") == 0
    assert _rows(store, "SELECT status FROM me_requests")[0]["status"] == "waiting"


def test_missing_file_and_unknown_request(store, tmp_path):
    request_id = _request(store)
    with pytest.raises(UserError, match="^nowhere.csv: no such file$"):
        import_answer(store, request_id, tmp_path / "nowhere.csv")
    with pytest.raises(UserError, match="no request 42"):
        import_answer(store, 42, tmp_path / "nowhere.csv")
    assert store.count("me_answers") == 1


def test_format_by_suffix_then_by_first_character():
    assert read_export(b"[note],value\nx,y\n", "export.csv").format == "csv"
    assert read_export(b'{"a": "b"}', "export.txt").format == "json"
    assert read_export(b'{"a": "b"}\n{"a": "c"}\n', "export.jsonl").flat.items == [
        ("line 1 $.a", "b"), ("line 2 $.a", "c")]


def test_latin1_and_tab_separated_exports():
    export = read_export("identifiant\tvaleur\nété\t{}\n".format(UUID2).encode("latin-1"), "x.tsv")
    assert (export.format, export.flat.items) == ("csv", [("row 1, identifiant", "été"), ("row 1, valeur", UUID2)])
    export = read_export("a|b\n1|2\n".encode("utf-16"), "x.csv")
    assert export.flat.items == [("row 1, a", "1"), ("row 1, b", "2")]


def test_compare_observed_next_to_the_answer(store, tmp_path):
    request_id = _request(store)
    assert [(r["kind"], r["name"], r["in_answer"]) for r in compare(store.conn, "xandr")] == [
        ("cookie", "uuid2", False), ("advertising_id", "ifa", False), ("id_sync", "partner_uid", False),
        ("cookie", "consent", False)]
    (tmp_path / "answer.csv").write_text(f"what,value\ncookie,{UUID2}\nsegment,auto-intenders\n", encoding="utf-8")
    import_answer(store, request_id, tmp_path / "answer.csv")
    rows = compare(store.conn, "xandr")
    assert [(r["kind"], r["name"], r["value"], r["in_answer"], r["answer_path"]) for r in rows] == [
        ("cookie", "uuid2", UUID2, True, "row 1, value"),
        ("advertising_id", "ifa", "38400000-8cf0-11bd-b23e-10b96e40000d", False, None),
        ("id_sync", "partner_uid", XANDR_ID, False, None),
        ("cookie", "consent", "1", False, None),
        (None, None, "cookie", True, "row 1, what"),
        (None, None, "segment", True, "row 2, what"),
        (None, None, "auto-intenders", True, "row 2, value"),
    ]
    assert compare(store.conn, "criteo") == []


# -- hypothesis: the flatteners never raise but UserError, and stay bounded -------------------------------------

SMALL = Limits(items=50, value_chars=40, field_chars=300, label_chars=10, path_chars=60, depth=5, steps=500)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=60),
    lambda children: st.lists(children, max_size=6) | st.dictionaries(st.text(max_size=15), children, max_size=6),
    max_leaves=80)


def _bounded(flat) -> None:
    assert len(flat.items) <= SMALL.items
    assert all(len(v) <= SMALL.value_chars and len(p) <= SMALL.path_chars and v for p, v in flat.items)
    assert all("\n" not in r for r in flat.reasons)


@PROPS
@given(st.text(alphabet=st.sampled_from(list('ab1,;\t|"\r\n \x00é')) | st.characters(), max_size=800))
def test_flatten_csv_never_raises_and_is_bounded(text):
    _bounded(flatten_csv(text, limits=SMALL))


@PROPS
@given(JSON_VALUES)
def test_flatten_json_never_raises_and_is_bounded(data):
    text = json.dumps(data)
    try:
        _bounded(flatten_json(text, limits=SMALL))
    except UserError as exc:
        assert "\n" not in str(exc)
    _bounded(flatten_value(data, limits=SMALL))


ZIPS = st.lists(st.tuples(st.sampled_from(["a.csv", "b.json", "c.txt", "d.bin", "../e.csv", "f/"]),
                          st.binary(max_size=200) | st.text(max_size=100).map(str.encode)), max_size=5,
                unique_by=lambda member: member[0]).map(_zip)


@PROPS
@given(st.binary(max_size=600) | st.text(max_size=300).map(str.encode) | ZIPS
       | ZIPS.flatmap(lambda z: st.integers(0, max(0, len(z) - 1)).map(lambda i: z[:i] + b"\xff" + z[i + 1:])))
def test_read_export_of_any_bytes_is_bounded_or_a_user_error(data):
    try:
        _bounded(read_export(data, "x", limits=SMALL).flat)
    except UserError as exc:
        assert "\n" not in str(exc)
