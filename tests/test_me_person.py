"""The person's file `me.yml`: who signs the letters and their own values; every bad input is one line."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mouchard.errors import UserError
from mouchard.me.person import load_person, parse_person, person_from_row
from mouchard.storage.private import mark_private, person_row
from mouchard.storage.store import Store

ME = Path(__file__).parent / "data" / "me" / "me.yml"


def test_the_test_person_reads_exactly():
    person, profile = load_person(ME)
    assert (person.name, person.email, person.postal_address, person.country, person.region, person.language) == \
        ("Jean Dupont-Mouchard", "jean.dupont.mouchard@example.org", "12 rue de l'Exemple\n75007 Paris", "FR", None,
         "fr")
    assert person.value("advertising_id") == "38400000-8cf0-11bd-b23e-10b96e40000d"
    assert person.position == (48.85837, 2.29448) and profile.platform == "android"


def test_the_person_survives_the_private_database(tmp_path):
    person, profile = load_person(ME)
    with Store(tmp_path / "me.db") as store:
        mark_private(store, {"name": person.name, "email": person.email, "postal_address": person.postal_address,
                             "country": "BE", "region": "ca", "language": "en"}, profile.as_data(), str(ME))
        again = person_from_row(person_row(store.conn))
    assert (again.name, again.country, again.region, again.language) == (person.name, "BE", "ca", "en")
    assert again.identifiers == person.identifiers and again.position == person.position


@pytest.mark.parametrize("data, message", [
    ({"identifiers": {}}, "expected a 'person' section"),
    ({"person": {"email": "a@b.fr"}}, "person.name is required"),
    ({"person": {"name": "A", "email": "not an address"}}, "person.email is not an e-mail address"),
    ({"person": {"name": "A", "country": "France"}}, "person.country must be a two-letter country code"),
    ({"person": {"name": "A", "language": "de"}}, "person.language must be one of fr, en"),
    ({"person": {"name": "A", "phone": "1"}}, "unknown key person.phone"),
    ({"person": {"name": "A" * 401}}, "person.name must be text of at most 400 characters"),
    ({"person": {"name": "A"}, "identifiers": {"imei": "12"}}, "imei"),
])
def test_each_bad_file_is_one_line(data, message):
    with pytest.raises(UserError, match=message) as error:
        parse_person(data, "me.yml")
    assert "\n" not in str(error.value)


def test_a_file_that_is_not_yaml_is_one_line(tmp_path):
    bad = tmp_path / "me.yml"
    bad.write_text("person: [unclosed", encoding="utf-8")
    with pytest.raises(UserError, match="is not valid YAML"):
        load_person(bad)


JSONISH = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=30),
                       lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                                   max_size=4), max_leaves=20)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["person", "identifiers", "location", "device", "contacts", "x"]), JSONISH,
                       max_size=5))
def test_any_mapping_is_a_person_or_one_user_error(data):
    try:
        person, _ = parse_person(data, "me.yml")
    except UserError as error:
        assert "\n" not in str(error)
    else:
        assert person.name and person.language in ("fr", "en") and len(person.country) == 2
