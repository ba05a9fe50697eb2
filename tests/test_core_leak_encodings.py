"""How real SDKs and ad platforms encode a person: names split into fields, phone numbers as people write them,
e-mails as the platforms normalise them before hashing (issue #15, items 1 and 2).

Field layouts follow what the SDKs send: Mixpanel's `$set` people update (form field `data`), Segment's identify
`traits`, mParticle's `user_attributes`, Meta's Conversions API `user_data` (fn/ln/em/ph, each a list of SHA-256
digests after Meta's normalisation, as `facebook_business` builds them). Hash values quoted from the platforms'
own documentation are checked literally.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import random
import urllib.parse

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from demoweb import DATA as SAMPLES
from mouchard.budget import Budget
from mouchard.identify.identifiers import normal_forms
from mouchard.identify.leakdetect import LeakDetector, as_hay
from mouchard.identify.names import part_forms, split_name, strip_accents
from mouchard.identify.phones import PhoneFinder, digit_forms
from mouchard.identify.profile import load_profile, parse_profile
from mouchard.identify.redact import Redactor

PROPS = settings(max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

PHONE = "+33687412953"
PROFILE = parse_profile({"device": {"platform": "android"},
                         "identifiers": {"phone": PHONE, "email": "Helene.Dupont+news@gmail.com",
                                         "name": "Hélène Dupont-Mouchard"}})
DETECTOR = LeakDetector.for_profile(PROFILE)
PHONE_ONLY = LeakDetector({"phone": [PHONE]})


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def found(matches) -> set[tuple[str, str | None, str]]:
    return {(m.kind, m.field, m.chain) for m in matches}


def json_body(url: str, doc: object, coding: str | None = None):
    body = json.dumps(doc).encode()
    if coding == "gzip":
        body = gzip.compress(body, mtime=0)
    return DETECTOR.scan_http(url, [("Content-Type", "application/json")], body, "application/json", coding)


# -- names split into fields ----------------------------------------------------------------------------------


def test_part_forms_are_as_written_lower_accentless_meta_and_f5():
    assert split_name(" Hélène   Dupont-Mouchard ") == ("Hélène", "Dupont-Mouchard")
    assert split_name("Cher") is None
    assert strip_accents("Hélène Ñúñez") == "Helene Nunez"
    assert part_forms("first", "Hélène") == [
        ("first-name", "Hélène"), ("first-name-lower", "hélène"), ("first-name-upper", "HÉLÈNE"),
        ("first-name-ascii", "helene"), ("first-name-f5", "hélèn"), ("first-name-f5", "helen")]
    assert part_forms("last", "Dupont-Mouchard") == [
        ("last-name", "Dupont-Mouchard"), ("last-name-lower", "dupont-mouchard"), ("last-name-meta", "dupontmouchard"),
        ("last-name-f5", "dupon")]
    assert normal_forms("name:first", "Jean") == [("first-name", "Jean"), ("first-name-lower", "jean")]


def test_meta_documented_name_hashes_are_needles():
    """Meta's customer-information-parameters page: fn "Mary" -> sha256("mary"), "Valéry" -> sha256("valéry")."""
    detector = LeakDetector.for_profile(parse_profile({"identifiers": {"name": "Mary Valéry"}}))
    body = json.dumps({"fn": "6915771be1c5aa0c886870b6951b03d7eafc121fea0e80a5ea83beb7c449f4ec",
                       "ln": "08e1996b5dd49e62a4b4c010d44e4345592a863bb9f8e3976219bac29417149c"}).encode()
    assert found(detector.scan_http("https://graph.facebook.com/v21.0/1/events", [], body, "application/json")) == {
        ("name", "$.fn", "json:$.fn>sha256>first-name-lower"), ("name", "$.ln", "json:$.ln>sha256>last-name-lower")}


def test_mixpanel_people_set_names_in_form_data():
    record = {"$token": "tok", "$distinct_id": "u-1", "$time": 1700000000000,
              "$set": {"$first_name": "Hélène", "$last_name": "Dupont-Mouchard", "plan": "free"}}
    body = urllib.parse.urlencode({"data": json.dumps(record, separators=(",", ":")), "verbose": 1, "ip": 0}).encode()
    matches = DETECTOR.scan_http("https://api.mixpanel.com/engage", [], body, "application/x-www-form-urlencoded")
    assert found(matches) == {("name", "data", 'json:$["$set"]["$first_name"]>first-name'),
                              ("name", "data", 'json:$["$set"]["$last_name"]>last-name')}


def test_segment_identify_traits_gzip_with_email_and_written_phone():
    doc = {"batch": [{"type": "identify", "userId": "u-1", "messageId": "m-1",
                      "traits": {"firstName": "Hélène", "lastName": "Dupont-Mouchard",
                                 "email": "Helene.Dupont+news@gmail.com", "phone": "+33 6 87 41 29 53"}}],
           "sentAt": "2026-12-07T07:00:00Z"}
    assert found(json_body("https://api.segment.io/v1/batch", doc, "gzip")) == {
        ("name", "$.batch[0].traits.firstName", "gzip>json:$.batch[0].traits.firstName>first-name"),
        ("name", "$.batch[0].traits.lastName", "gzip>json:$.batch[0].traits.lastName>last-name"),
        ("email", "$.batch[0].traits.email", "gzip>json:$.batch[0].traits.email"),  # case is not a step
        ("phone", "$.batch[0].traits.phone", "gzip>json:$.batch[0].traits.phone>written")}


def test_mparticle_user_attributes_accentless_upper_case():
    doc = {"environment": "development", "user_attributes": {"$FirstName": "HELENE", "$LastName": "DUPONT-MOUCHARD",
                                                              "$Mobile": "06 87 41 29 53"},
           "events": [{"event_type": "custom_event", "data": {"event_name": "x"}}]}
    assert found(json_body("https://s2s.mparticle.com/v2/events", doc)) == {
        ("name", '$.user_attributes["$FirstName"]', 'json:$.user_attributes["$FirstName"]>first-name-ascii'),
        ("name", '$.user_attributes["$LastName"]', 'json:$.user_attributes["$LastName"]>last-name'),
        ("phone", '$.user_attributes["$Mobile"]', 'json:$.user_attributes["$Mobile"]>written>national')}


def meta_user_data(first: str, last: str, email: str, phone: str) -> dict:
    """user_data as facebook_business's UserData.normalize() builds it: lower().strip(), phone digits with the
    country code (leading + and 00 removed), each SHA-256-hashed, each a list."""
    digits = "".join(c for c in phone if c.isdigit()).removeprefix("00")
    return {"fn": [sha256(first.lower().strip())], "ln": [sha256(last.lower().strip())],
            "em": [sha256(email.lower().strip())], "ph": [sha256(digits)]}


def test_meta_conversions_api_user_data_hashed_like_the_business_sdk():
    event = {"event_name": "Purchase", "event_time": 1700000000, "action_source": "app",
             "user_data": meta_user_data("Hélène", "Dupont-Mouchard", "Helene.Dupont+news@gmail.com", "+33 6 87 41 29 53")}
    body = urllib.parse.urlencode({"data": json.dumps([event]), "access_token": "EAAB"}).encode()
    matches = DETECTOR.scan_http("https://graph.facebook.com/v21.0/123/events", [], body,
                                 "application/x-www-form-urlencoded")
    assert found(matches) == {("name", "data", "json:$[0].user_data.fn[0]>sha256>first-name-lower"),
                              ("name", "data", "json:$[0].user_data.ln[0]>sha256>last-name-lower"),
                              ("email", "data", "json:$[0].user_data.em[0]>sha256"),
                              ("phone", "data", "json:$[0].user_data.ph[0]>sha256>digits")}


@pytest.mark.parametrize("first, last, chains", [
    ("helene", "dupontmouchard", ("first-name-ascii", "last-name-meta")),  # Meta's "no punctuation", a-z
    ("hélène", "dupont-mouchard", ("first-name-lower", "last-name-lower")),
    ("Hélène", "Dupont-Mouchard", ("first-name", "last-name")),
])
@pytest.mark.parametrize("algorithm", ["sha256", "md5", "sha1"])
def test_hashed_parts_in_every_normalisation(first, last, chains, algorithm):
    digest = lambda v: hashlib.new(algorithm, v.encode()).hexdigest()  # noqa: E731
    matches = DETECTOR.scan_http(f"https://t.example/c?fn={digest(first)}&ln={digest(last)}&x=1")
    assert found(matches) == {("name", "fn", f"{algorithm}>{chains[0]}"), ("name", "ln", f"{algorithm}>{chains[1]}")}


def test_meta_f5_prefixes_are_hashed_needles_never_plain():
    url = f"https://t.example/c?f5first={sha256('helen')}&f5last={sha256('dupon')}"
    assert found(DETECTOR.scan_http(url)) == {("name", "f5first", "sha256>first-name-f5"),
                                              ("name", "f5last", "sha256>last-name-f5")}
    assert DETECTOR.scan_http("https://t.example/c?a=Helen&b=Dupon") == []  # other people's names


def test_parts_in_different_places_of_one_request_are_paired():
    url = "https://t.example/u?first=H%C3%A9l%C3%A8ne"
    matches = DETECTOR.scan_http(url, [("X-Last-Name", "Dupont-Mouchard")])
    assert found(matches) == {("name", "first", "first-name"), ("name", "x-last-name", "last-name")}


@pytest.mark.parametrize("decoy", [
    {"firstName": "Hélène", "lastName": "Dupond"},                     # one letter off
    {"firstName": "Hélène"},                                           # only the first name
    {"lastName": "Dupont-Mouchard"},                                   # only the last name
    {"owner": "Hélènee Dupont-Mouchard"},                              # a longer first name
    {"firstName": "Hélène-Marie", "lastName": "Dupont-Mouchardière"},  # both inside longer words
    {"owner": "Jeanne Dupont-Mouchard", "mail": "helene.durand+news@gmail.com"},  # "helene" inside an address
    {"fn": sha256("hélène"), "ln": sha256("dupont")},                  # a hashed similar name
])
def test_similar_names_and_lone_parts_are_not_leaks(decoy):
    assert json_body("https://t.example/e", decoy) == []


def test_the_whole_name_still_counts_and_hides_its_own_parts():
    assert found(json_body("https://t.example/e", {"name": "Hélène Dupont-Mouchard"})) == {
        ("name", "$.name", "json:$.name")}
    assert found(DETECTOR.scan_http("https://t.example/e?n=" + sha256("Hélène Dupont-Mouchard"))) == {
        ("name", "n", "sha256")}


def test_an_email_holding_both_parts_is_an_email_not_a_name():
    detector = LeakDetector.for_profile(parse_profile({"identifiers": {"email": "jean.dupont@example.org",
                                                                        "name": "Jean Dupont"}}))
    assert found(detector.scan_http("https://t.example/e?e=jean.dupont%40example.org")) == {("email", "e", "")}


def test_explicit_parts_of_a_compound_name():
    profile = parse_profile({"identifiers": {"first_name": "Marie Claire", "last_name": "Dupont"}})
    assert profile.needles() == {"name": ["Marie Claire Dupont"]}
    assert profile.name_parts() == {"name": [("Marie Claire", "Dupont")]}
    doc = json.dumps({"traits": {"firstName": "Marie Claire", "lastName": "Dupont"}}).encode()
    assert found(LeakDetector.for_profile(profile).scan_http("https://t.example/", [], doc, "application/json")) == {
        ("name", "$.traits.firstName", "json:$.traits.firstName>first-name"),
        ("name", "$.traits.lastName", "json:$.traits.lastName>last-name")}
    # split at the first space instead ("Marie" / "Claire Dupont"), the last name is never there
    assert LeakDetector({"name": ["Marie Claire Dupont"]}).scan_http("https://t.example/", [], doc,
                                                                      "application/json") == []


def test_short_first_names_are_whole_words_only():
    detector = LeakDetector.for_profile(parse_profile({"identifiers": {"name": "Jean Dupont-Mouchard"}}))
    for text in ("Jeanne", "Jean-Luc", "jean_d", "jean2", "xjean", "jean.dupont-mouchard@example.org"):
        assert detector.scan_value(f"{text} Dupont-Mouchard", "body") == [], text
    assert found(detector.scan_value("Jean Dupont-Mouchard", "body")) == {("name", None, "")}
    assert found(detector.scan_value("Dupont-Mouchard, Jean", "body")) == {("name", None, "first-name"),
                                                                           ("name", None, "last-name")}


def test_redaction_removes_both_parts_and_leaves_a_lone_one():
    redactor = Redactor.for_profile(PROFILE, DETECTOR)
    assert redactor.text("first=Hélène&last=Dupont-Mouchard") == "first=[NAME]&last=[NAME]"
    assert redactor.text(f'{{"fn":"{sha256("hélène")}","ln":"{sha256("dupont-mouchard")}"}}') == \
        '{"fn":"[NAME]","ln":"[NAME]"}'
    assert redactor.text("Bonjour Hélène") == "Bonjour Hélène"
    assert redactor.url("https://t.example/p?fn=H%C3%A9l%C3%A8ne&ln=Dupont-Mouchard&q=1") == \
        "https://t.example/p?fn=[NAME]&ln=[NAME]&q=1"


# -- phone numbers as written ---------------------------------------------------------------------------------


WRITTEN = [
    ("+33 6 87 41 29 53", "written"),
    ("+33 687 412 953", "written"),
    ("+33.6.87.41.29.53", "written"),
    ("+33-6-87-41-29-53", "written"),
    ("+33 (0)6 87 41 29 53", "written>intl-trunk"),
    ("+33(0)687412953", "written>intl-trunk"),
    ("+330687412953", "written>intl-trunk"),
    ("(+33) 6 87 41 29 53", "written"),
    ("+33\u00a06\u00a087\u00a041\u00a029\u00a053", "written"),  # no-break spaces
    ("+33\u202f6\u202f87\u202f41\u202f29\u202f53", "written"),  # narrow no-break spaces (French typography)
    ("0033 6 87 41 29 53", "written>intl-00"),
    ("0033 (0)6 87 41 29 53", "written>intl-00-trunk"),
    ("33 6 87 41 29 53", "written>digits"),
    ("06 87 41 29 53", "written>national"),
    ("06.87.41.29.53", "written>national"),
    ("06-87-41-29-53", "written>national"),
    ("06/87/41/29/53", "written>national"),
    ("(06) 87 41 29 53", "written>national"),
    ("0687 412 953", "written>national"),
    ("06\u201187\u201141\u201129\u201153", "written>national"),  # non-breaking hyphens
    ("6 87 41 29 53", "written>nsn"),
    ("+33687412953", ""),  # compact forms are needles of the multi-pattern search
    ("0033687412953", "intl-00"),
    ("0687412953", "national"),
]


@pytest.mark.parametrize("written, chain", WRITTEN)
def test_written_phone_numbers_are_found_with_their_field(written, chain):
    assert found(PHONE_ONLY.scan_http("https://t.example/c?tel=" + urllib.parse.quote(written))) == {
        ("phone", "tel", chain)}
    body = json.dumps({"user": {"phone": written}}, ensure_ascii=False).encode()
    assert found(PHONE_ONLY.scan_http("https://t.example/c", [], body, "application/json")) == {
        ("phone", "$.user.phone", f"json:$.user.phone>{chain}" if chain else "json:$.user.phone")}
    assert found(PHONE_ONLY.scan_value(f"Call me on {written}, thanks", "body")) == {("phone", None, chain)}


@pytest.mark.parametrize("near_miss", [
    "+33 6 87 41 29 54",          # one digit different
    "06 87 41 29 52",
    "06 87 41 29 53 1",           # inside a longer run of digits
    "1 06 87 41 29 53",
    "+33 6 87 41 29 531",
    "+336874129531",
    "+33 7 87 41 29 53",          # a different number with the same last 8 digits
    "+44 6 87 41 29 53",
    "07 87 41 29 53",
    "+33 6 87 41 29 5",           # one digit short
])
def test_phone_near_misses_are_not_found(near_miss):
    assert PHONE_ONLY.scan_value(near_miss, "body") == []
    assert PHONE_ONLY.scan_http("https://t.example/?tel=" + urllib.parse.quote(near_miss)) == []


def test_platform_phone_hashes_are_needles():
    """Meta (digits with country code, no +), Snap (the same), Google enhanced conversions and TikTok (E.164
    with +), each SHA-256; the documented examples hash to the values the platforms print."""
    assert sha256("16505551212") == "e323ec626319ca94ee8bff2e4c87cf613be6ea19919ed1364124e16807ab3176"  # Meta
    assert sha256("448444124653").startswith("dc008fda46e2e64002cf2f82a4906236282d4")  # Snap
    us = LeakDetector({"phone": ["+16505551212"]})
    assert found(us.scan_http("https://t.example/?ph=e323ec626319ca94ee8bff2e4c87cf613be6ea19919ed1364124e16807ab3176")
                 ) == {("phone", "ph", "sha256>digits")}
    uk = LeakDetector({"phone": ["+448444124653"]})
    assert found(uk.scan_http(f"https://t.example/?ph={sha256('448444124653')}")) == {("phone", "ph", "sha256>digits")}
    assert found(PHONE_ONLY.scan_http(f"https://t.example/?phone_number={sha256(PHONE)}")) == {
        ("phone", "phone_number", "sha256")}  # Google enhanced conversions, TikTok
    uid2 = base64.b64encode(hashlib.sha256(PHONE.encode()).digest()).decode()
    assert found(PHONE_ONLY.scan_http("https://t.example/?p=" + urllib.parse.quote(uid2))) == {
        ("phone", "p", "base64>sha256")}


def test_digit_forms_table():
    assert digit_forms(PHONE) == {
        (True, "33687412953"): "", (False, "33687412953"): "digits", (False, "0033687412953"): "intl-00",
        (False, "0687412953"): "national", (True, "330687412953"): "intl-trunk",
        (False, "330687412953"): "digits-trunk", (False, "00330687412953"): "intl-00-trunk",
        (False, "687412953"): "nsn"}
    assert digit_forms("+14155550123") == {(True, "14155550123"): "", (False, "14155550123"): "digits",
                                           (False, "0014155550123"): "intl-00", (False, "4155550123"): "national"}


def test_written_phones_are_redacted():
    redactor = Redactor(PHONE_ONLY)
    assert redactor.text("tel: +33 (0)6 87 41 29 53 / 06.87.41.29.54") == "tel: [PHONE] / 06.87.41.29.54"
    assert redactor.url("https://t.example/c?tel=%2B33%206%2087%2041%2029%2053&x=1") == \
        "https://t.example/c?tel=[PHONE]&x=1"


# -- e-mails as the platforms normalise them --------------------------------------------------------------------


def test_email_forms_follow_the_platforms():
    assert normal_forms("email", " Helene.Dupont+news@GMail.com ") == [
        ("", "helene.dupont+news@gmail.com"), ("as-typed", "Helene.Dupont+news@GMail.com"),
        ("no-tag", "helene.dupont@gmail.com"), ("gmail-dots", "helenedupont+news@gmail.com"),
        ("gmail-canonical", "helenedupont@gmail.com")]
    assert normal_forms("email", "j.d+x@googlemail.com")[-2:] == [("gmail-canonical", "jd@googlemail.com"),
                                                                   ("gmail-canonical", "jd@gmail.com")]
    assert normal_forms("email", "jean.dupont@example.org") == [("", "jean.dupont@example.org")]
    assert normal_forms("email", "+x@example.org") == [("", "+x@example.org")]  # a tag needs a mailbox before it


def test_documented_email_hashes_are_needles():
    """Meta: "John_Smith@gmail.com" -> sha256("john_smith@gmail.com"); Snap: "Person@Example.com"."""
    meta = LeakDetector({"email": ["John_Smith@gmail.com"]})
    assert found(meta.scan_http("https://t.example/?em=62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f")
                 ) == {("email", "em", "sha256")}
    snap = LeakDetector({"email": ["Person@Example.com"]})
    assert found(snap.scan_http("https://t.example/?em=542d240129883c019e106e3b1b2d3f3cb3537c43c425364de8e951d5a3083345")
                 ) == {("email", "em", "sha256")}


@pytest.mark.parametrize("address, chain", [
    ("helene.dupont+news@gmail.com", "sha256"),                    # Meta, TikTok, Snap: trimmed, lower-cased
    ("Helene.Dupont+news@gmail.com", "sha256>as-typed"),
    ("helenedupont+news@gmail.com", "sha256>gmail-dots"),          # Google enhanced conversions
    ("helenedupont@gmail.com", "sha256>gmail-canonical"),          # UID2's gmail.com rule
    ("helene.dupont@gmail.com", "sha256>no-tag"),
])
def test_hashed_email_normalisations(address, chain):
    assert found(DETECTOR.scan_http(f"https://t.example/?em={sha256(address)}")) == {("email", "em", chain)}


def test_uid2_email_hash_is_base64_of_the_digest():
    digest = base64.b64encode(hashlib.sha256(b"helenedupont@gmail.com").digest()).decode()
    body = json.dumps({"email_hash": digest}).encode()
    assert found(DETECTOR.scan_http("https://prod.uidapi.com/v2/token/generate", [], body, "application/json")) == {
        ("email", "$.email_hash", "json:$.email_hash>base64>sha256>gmail-canonical")}


def test_plain_email_normalisations_are_found_and_redacted():
    redactor = Redactor.for_profile(PROFILE, DETECTOR)
    assert found(DETECTOR.scan_http("https://t.example/?e=helenedupont%40gmail.com")) == {
        ("email", "e", "gmail-canonical")}
    assert redactor.text("to: helenedupont@gmail.com") == "to: [EMAIL]"
    assert DETECTOR.scan_http("https://t.example/?e=helene.durand%2Bnews%40gmail.com") == []  # someone else


# -- detector cost --------------------------------------------------------------------------------------------


def test_needle_count_stays_reasonable():
    """Each part adds its forms in every encoding: the android profile went from 2931 needles to 3260 (name parts
    and e-mail normalisations); a bound, so that other kinds' new forms do not break this test."""
    android = LeakDetector.for_profile(load_profile(SAMPLES / "profiles" / "android.yml"))
    assert 3000 < android.needle_count < 4000


# -- property tests of the phone finder -------------------------------------------------------------------------

SEPARATORS = [" ", ".", "-", "/", "\u00a0", "\u202f", "\u2011", " (", ") ", ")", "("]
FILLER = st.text(alphabet=st.sampled_from(list("abcxyz :;=&,\"'{}[]<>?!#_\n\té")), max_size=40)


def written(digits: str, plus: bool, rng: random.Random) -> str:
    """`digits` cut into random groups joined by random separators (a '+' before when `plus`)."""
    out, i = [], 0
    while i < len(digits):
        size = rng.randint(1, 4)
        out.append(digits[i:i + size])
        i += size
    return ("+" if plus else "") + "".join(g + (rng.choice(SEPARATORS) if k < len(out) - 1 else "")
                                           for k, g in enumerate(out))


@PROPS
@given(st.text(max_size=300), st.integers(min_value=0, max_value=400), st.integers(min_value=0, max_value=4000))
@example("+33 6 87 41 29 53 " * 40, 3, 10_000)
def test_phone_finder_never_raises_and_stays_within_budget(text, steps, size):
    budget = Budget(steps=steps, bytes=size)
    finder = PhoneFinder([PHONE, "+14155550123"])
    finder.find(as_hay(text), budget)
    assert all(budget.used[u] <= budget.limits[u] for u in budget.limits)


@PROPS
@given(st.sampled_from(sorted(digit_forms(PHONE).items())), st.integers(min_value=0, max_value=2**32),
       FILLER, FILLER)
def test_every_written_form_in_random_text_is_found(form, seed, before, after):
    (plus, digits), _label = form
    number = written(digits, plus, random.Random(seed))
    text = f"{before}{number}{after}"
    start = len(as_hay(before))
    assert (start, start + len(as_hay(number)), "phone") in PHONE_ONLY.spans(text)


@PROPS
@given(st.text(alphabet="0123456789", min_size=7, max_size=16), st.booleans(), st.integers(min_value=0, max_value=2**32),
       FILLER)
def test_other_numbers_however_written_are_not_found(digits, plus, seed, before):
    if (plus, digits) in digit_forms(PHONE) or digits in {f for _, f in normal_forms("phone", PHONE)}:
        return
    text = before + written(digits, plus, random.Random(seed))
    assert [s for s in PHONE_ONLY.spans(text) if s[2] == "phone"] == []
