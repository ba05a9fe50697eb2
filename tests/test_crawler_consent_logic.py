"""The consent collector's pure logic: verification of an action, consent rows, button texts, GPC launch flags,
the autoconsent message plumbing and our CMP rules. No browser here (tests/test_crawler_consent.py has it)."""

from __future__ import annotations

import json

import pytest

from conftest import needs
from crawler.consent.autoconsent import CONFIG, _dumps, _RawJson, load_autoconsent
from crawler.consent.gpc import GPC_FEATURE, gpc_launch_args
from crawler.consent.readers import Reading
from crawler.consent.rows import reading_rows, wire_rows
from crawler.consent.rules import BY_CMP_ID, RULES
from crawler.consent.texts import ACCEPT_RE, REJECT_RE, SAVE_RE, SETTINGS_RE
from crawler.consent.verify import verify_action

# TC strings encoded by @iabtcf/core (the test web's CMP): every purpose and vendor 10/32/69/755 consented,
# and the same CMP's refusal (no consent at all).
TC_ALL = "CQuFeUAQuFeUAEsACBENCWFoAP_gAAAAAAqIF5wBAAFAAgACKAvMAAAAAAAA.YAAAAAAAAAAA"
TC_NONE = "CQuFeUAQuFeUAEsACBENCWFgAAAAAAAAAAqIAAAAAAAA.YAAAAAAAAAAA"


def reading(action="none", *, tc=None, status=None, cookies=None, usp=None, time_ms=100) -> Reading:
    apis = {}
    if tc is not None or status is not None:
        apis["tcf"] = {"tcString": tc or "", "eventStatus": status, "cmpId": 300}
    if usp is not None:
        apis["usp"] = {"uspString": usp}
    return Reading(time_ms=time_ms, action=action, apis=apis,
                   cookies={name: {"name": name, "value": value} for name, value in (cookies or {}).items()})


# --- verification ---------------------------------------------------------------------------------------------

def test_reject_is_verified_by_a_tc_string_without_consent():
    verdict = verify_action("reject", reading(tc=TC_ALL, status="cmpuishown"),
                            reading("reject", tc=TC_NONE, status="useractioncomplete"))
    assert verdict.verified == 1 and verdict.framework == "tcf"
    assert "no purpose and no vendor consent" in verdict.text


def test_reject_leaving_purpose_consent_in_the_tc_string_is_not_verified():
    verdict = verify_action("reject", reading(), reading("reject", tc=TC_ALL, status="useractioncomplete"))
    assert verdict.verified == 0
    assert "still consents to purposes [1, 2, 3" in verdict.text


def test_accept_is_verified_by_purpose_consent():
    verdict = verify_action("accept", reading(), reading("accept", tc=TC_ALL, status="useractioncomplete"))
    assert verdict.verified == 1 and "consent to purposes" in verdict.text and "4 vendors" in verdict.text


def test_hidden_banner_without_any_state_is_not_a_rejection():
    verdict = verify_action("reject", reading(), reading("reject"), banner_still_visible=False)
    assert verdict.verified == 0
    assert "a hidden banner is not a rejection" in verdict.text


@pytest.mark.parametrize(("name", "value", "action", "verified"), [
    ("tarteaucitron", "!metapixel=false!gtag=false", "reject", 1),
    ("tarteaucitron", "!metapixel=true", "reject", 0),
    ("tarteaucitron", "!metapixel=true", "accept", 1),
    ("klaro", "%7B%22googleAnalytics%22%3Afalse%7D", "reject", 1),
    ("cc_cookie", '{"categories":["necessary"],"revision":0}', "reject", 1),
    ("cc_cookie", '{"categories":["necessary","analytics"],"revision":0}', "reject", 0),
    ("cc_cookie", '{"categories":["necessary","analytics"],"revision":0}', "accept", 1),
    ("OptanonConsent", "isGpcEnabled=0&groups=C0001%3A1%2CC0002%3A0%2CC0004%3A0", "reject", 1),
    ("CookieConsent", "{stamp:%27x%27%2Cnecessary:true%2Cpreferences:false%2Cstatistics:false%2Cmarketing:false}",
     "reject", 1),
    ("cookieconsent_status", "deny", "reject", 1),
    ("cookieconsent_status", "allow", "accept", 1),
])
def test_cmp_cookie_written_by_the_click_verifies_or_contradicts(name, value, action, verified):
    verdict = verify_action(action, reading(), reading(action, cookies={name: value}))
    assert verdict.verified == verified, verdict.text


def test_cookie_unchanged_by_the_click_proves_nothing():
    before = reading(cookies={"tarteaucitron": "!metapixel=false"})
    verdict = verify_action("reject", before, reading("reject", cookies={"tarteaucitron": "!metapixel=false"}))
    assert verdict.verified == 0 and "unchanged by the click" in verdict.text


def test_us_privacy_opt_out_verifies_a_rejection():
    verdict = verify_action("reject", reading(usp="1YNN"), reading("reject", usp="1YYN"))
    assert verdict.verified == 1 and verdict.framework == "usp"


def test_autoconsent_self_test_alone_verifies_but_is_named():
    verdict = verify_action("reject", reading(), reading("reject"), self_test=True)
    assert verdict.verified == 1 and verdict.framework == "autoconsent"


# --- rows ------------------------------------------------------------------------------------------------------

def test_reading_rows_decode_the_tc_string_from_api_and_cookie():
    rows = reading_rows(reading("reject", tc=TC_NONE, status="useractioncomplete",
                                cookies={"euconsent-v2": TC_NONE, "usprivacy": "1YYN"}), None)
    api = next(r for r in rows if r["source"] == "api")
    assert (api["framework"], api["name"], api["event_status"], api["cmp_id"]) == \
        ("tcf", "__tcfapi", "useractioncomplete", 300)
    decoded = json.loads(api["decoded"])
    assert decoded["purposes_consent"] == [] and decoded["cmp_id"] == 300 and "_api" in decoded
    cookie = next(r for r in rows if r["name"] == "euconsent-v2")
    assert cookie["source"] == "cookie" and json.loads(cookie["decoded"])["vendor_consents"] == []
    usp = next(r for r in rows if r["name"] == "usprivacy")
    assert usp["framework"] == "usp" and json.loads(usp["decoded"])["opt_out_sale"] is True
    assert {r["action"] for r in rows} == {"reject"}


def test_cmp_cookie_rows_say_what_was_granted_and_denied():
    rows = reading_rows(reading(cookies={"tarteaucitron": "!metapixel=false"}), None)
    decoded = json.loads(rows[0]["decoded"])
    assert rows[0]["cmp"] == "tarteaucitron" and decoded["denied"] == ["metapixel"] and decoded["granted"] == []


def test_an_unreadable_tc_string_becomes_an_error_not_an_exception():
    rows = reading_rows(reading(tc="not-a-tc-string!!", status="tcloaded"), None)
    assert "error" in json.loads(rows[0]["decoded"])


def test_wire_rows_dedupe_by_host_parameter_and_value_and_split_by_the_action():
    requests = [
        {"url": f"https://ib.adnxs.com/getuid?gdpr=1&gdpr_consent={TC_ALL}", "host": "ib.adnxs.com", "time_ms": 10},
        {"url": f"https://ib.adnxs.com/getuid?gdpr=1&gdpr_consent={TC_ALL}", "host": "ib.adnxs.com", "time_ms": 20},
        {"url": f"https://rtb.openx.net/x?gdpr_consent={TC_NONE}&us_privacy=1YNN", "host": "rtb.openx.net",
         "time_ms": 900},
        {"url": "https://example.org/?q=1", "host": "example.org", "time_ms": 5},
    ]
    rows, dropped = wire_rows(requests, action_ms=500, phase_action="reject", cmp=None)
    assert dropped == 0
    keyed = {(r["name"], json.loads(r["decoded"])["_wire"]["host"]): r for r in rows}
    assert set(keyed) == {("gdpr", "ib.adnxs.com"), ("gdpr_consent", "ib.adnxs.com"),
                          ("gdpr_consent", "rtb.openx.net"), ("us_privacy", "rtb.openx.net")}
    early = keyed[("gdpr_consent", "ib.adnxs.com")]
    assert early["action"] == "none" and json.loads(early["decoded"])["_wire"]["requests"] == 2
    assert json.loads(early["decoded"])["purposes_consent"] == list(range(1, 12))
    late = keyed[("gdpr_consent", "rtb.openx.net")]
    assert late["action"] == "reject" and late["source"] == "wire" and late["framework"] == "tcf"


# --- texts, rules, GPC, autoconsent ------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["Reject all", "Tout refuser", "Continuer sans accepter", "Alle ablehnen",
                                  "Rechazar todo", "Rifiuta", "Ich lehne ab", " ✕ Refuser ", "Only necessary"])
def test_reject_texts_in_many_languages(text):
    assert REJECT_RE.match(text) and not ACCEPT_RE.match(text)


@pytest.mark.parametrize("text", ["Accept all", "Tout accepter", "Alle akzeptieren", "Aceptar", "Accetta tutto",
                                  "OK", "Das ist ok"])
def test_accept_texts_in_many_languages(text):
    assert ACCEPT_RE.match(text) and not REJECT_RE.match(text)


@pytest.mark.parametrize("text", ["Accept only necessary cookies and more", "Read our refusal policy",
                                  "Rejected applications", "Accepted payment methods"])
def test_texts_match_whole_controls_not_substrings(text):
    assert not REJECT_RE.match(text) and not ACCEPT_RE.match(text)


def test_settings_and_save_texts():
    assert SETTINGS_RE.match("Manage preferences") and SETTINGS_RE.match("Personnaliser")
    assert SAVE_RE.match("Save preferences") and SAVE_RE.match("Enregistrer mes choix")


def test_every_rule_can_see_its_banner_and_act_both_ways():
    names = [rule.name for rule in RULES]
    assert len(names) == len(set(names))
    assert {"tarteaucitron", "klaro", "vanilla-cookieconsent", "onetrust", "cookiebot", "didomi", "quantcast",
            "usercentrics", "sourcepoint"} <= set(names)
    for rule in RULES:
        assert rule.detect and rule.banner and rule.reject and rule.accept, rule.name
    assert BY_CMP_ID[28] == "onetrust"


def test_gpc_launch_args_merge_into_an_existing_enable_features():
    assert gpc_launch_args(["--foo"]) == ["--foo", f"--enable-features={GPC_FEATURE}"]
    merged = gpc_launch_args(["--enable-features=A,B", "--bar"])
    assert merged == [f"--enable-features=A,B,{GPC_FEATURE}", "--bar"]
    assert gpc_launch_args(merged) == merged


def test_autoconsent_messages_carry_the_rules_verbatim():
    text = _dumps({"type": "initResp", "config": CONFIG, "rules": _RawJson('{"autoconsent": []}')})
    message = json.loads(text)
    assert message["rules"] == {"autoconsent": []} and message["config"]["autoAction"] is None
    assert message["config"]["enablePrehide"] is False and message["config"]["enableCosmeticRules"] is False


def test_autoconsent_is_found_in_node_modules_when_installed():
    loaded = load_autoconsent()
    needs([] if loaded is not None else ["@duckduckgo/autoconsent"])
    script, rules, version = loaded
    assert "autoconsentReceiveMessage" in script and version
    assert json.loads(rules)["autoconsent"]


def test_phases_from_the_command_line():
    from crawler.consent.phases import phases_for
    from mouchard.errors import UserError

    assert phases_for() == ["initial", "reject", "accept"]
    assert phases_for("none") == ["initial"]
    assert phases_for("reject", gpc=True) == ["initial", "reject", "gpc"]
    assert phases_for("accept") == ["initial", "accept"]
    with pytest.raises(UserError, match="--consent maybe: choose one of none, reject, accept, all"):
        phases_for("maybe")


def test_iframes_get_only_the_rules_that_run_in_frames():
    from crawler.consent.autoconsent import split_rules

    bundle = json.dumps({"autoconsent": [{"name": "a"}, {"name": "b", "runContext": {"main": False, "frame": True}},
                                         {"name": "c", "runContext": {"main": True, "frame": True}}]})
    main, frame = (json.loads(text)["autoconsent"] for text in split_rules(bundle))
    assert [r["name"] for r in main] == ["a", "c"] and [r["name"] for r in frame] == ["b", "c"]
