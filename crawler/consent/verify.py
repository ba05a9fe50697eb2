"""Did the click do what it said? Compare the consent state before and after an action (pure logic).

Evidence, strongest first: the TC string (a rejection leaves no purpose and no vendor consent; an acceptance
consents to purposes), the CMP's own cookie (categories or services granted and denied), the US Privacy string
(opt-out of sale), autoconsent's self-test of the CMP state. A banner that merely disappeared proves nothing:
with no state written or changed, the action is not verified.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mouchard.decode.consent import ConsentStringError, decode_tc_string, decode_us_privacy, parse_consent_cookie

from crawler.consent.readers import Reading

# Category, group or purpose names that are the strictly necessary kind: granting only these is a refusal.
NECESSARY = frozenset({
    "necessary", "essential", "required", "strictly_necessary", "strictly-necessary", "strictlynecessary",
    "mandatory", "technical", "functional-required", "c0001", "stamp", "method", "ver", "utc", "region",
})


@dataclass
class Verdict:
    verified: int  # 1 verified, 0 not
    reasons: list[str] = field(default_factory=list)  # evidence for
    against: list[str] = field(default_factory=list)  # evidence against
    notes: list[str] = field(default_factory=list)
    framework: str | None = None  # what verified it: tcf, cmp, usp, autoconsent

    @property
    def text(self) -> str:
        parts = [*self.reasons, *(f"but {a}" for a in self.against), *self.notes]
        return "; ".join(parts) or "nothing to compare"


def decoded_tc(raw: str | None) -> dict | None:
    if not raw:
        return None
    try:
        return decode_tc_string(raw)
    except ConsentStringError:
        return None


def optional_granted(granted: list | None) -> list[str]:
    """Granted categories that are not strictly necessary."""
    return [g for g in (granted or []) if str(g).strip().lower() not in NECESSARY]


def verify_action(action: str, before: Reading | None, after: Reading, *, self_test: bool | None = None,
                  banner_still_visible: bool | None = None) -> Verdict:
    """Whether `action` (reject or accept) shows in the consent state `after`, compared with `before`."""
    verdict = Verdict(verified=0)
    _check_tcf(action, before, after, verdict)
    _check_cookies(action, before, after, verdict)
    _check_usp(action, after, verdict)
    if self_test is True:
        verdict.reasons.append("autoconsent self-test found the CMP in the expected state")
        verdict.framework = verdict.framework or "autoconsent"
    elif self_test is False:
        verdict.notes.append("autoconsent self-test failed")
    if banner_still_visible:
        verdict.notes.append("the banner was still visible after the click")
    if not verdict.reasons and not verdict.against:
        verdict.notes.insert(0, "no TC string, consent cookie or CMP state was written or changed by the click "
                                "(a hidden banner is not a " + ("rejection)" if action == "reject" else "consent)"))
    verdict.verified = int(bool(verdict.reasons) and not verdict.against)
    return verdict


def _check_tcf(action: str, before: Reading | None, after: Reading, verdict: Verdict) -> None:
    raw_after = after.tc_string
    tc = decoded_tc(raw_after)
    if tc is None:
        if raw_after:
            verdict.notes.append("the TC string after the click could not be decoded")
        return
    raw_before = before.tc_string if before else None
    changed = raw_after != raw_before
    purposes = tc.get("purposes_consent") or []
    vendors = tc.get("vendor_consents") or []
    li = tc.get("purposes_li_transparency") or []
    status = ((after.apis.get("tcf") or {}).get("eventStatus") if isinstance(after.apis.get("tcf"), dict) else None)
    where = "TC string" + (f" (eventStatus {status})" if status else "") + ("" if changed else ", unchanged by the click")
    if action == "reject":
        if not purposes and not vendors:
            verdict.reasons.append(f"{where}: no purpose and no vendor consent"
                                   + (f" ({len(li)} purposes still on legitimate interest)" if li else ""))
            verdict.framework = "tcf"
        else:
            verdict.against.append(f"{where} still consents to purposes {purposes} and {len(vendors)} vendors")
    else:
        if purposes:
            verdict.reasons.append(f"{where}: consent to purposes {purposes} and {len(vendors)} vendors")
            verdict.framework = "tcf"
        else:
            verdict.against.append(f"{where} has no purpose consent")


def _check_cookies(action: str, before: Reading | None, after: Reading, verdict: Verdict) -> None:
    for name, cookie in sorted(after.cookies.items()):
        if name in ("euconsent-v2", "euconsent", "eupubconsent-v2", "usprivacy"):
            continue  # read as strings by the TCF and USP checks
        value = cookie.get("value", "")
        old = (before.cookies.get(name) or {}).get("value") if before else None
        if old == value:
            verdict.notes.append(f"cookie {name} unchanged by the click")
            continue
        parsed = parse_consent_cookie(name, value)
        if parsed is None or parsed["framework"] not in ("cmp", "ac"):
            continue
        granted, denied = parsed["granted"], parsed["denied"]
        optional = optional_granted(granted)
        what = f"cookie {name} {'written' if old is None else 'changed'}"
        if parsed["error"] or (granted is None and denied is None):
            verdict.notes.append(f"{what} (its value does not say what was chosen)")
            continue
        if action == "reject":
            if optional:
                verdict.against.append(f"{what} grants {optional}")
            elif denied or granted is not None:
                verdict.reasons.append(f"{what}: refuses {denied or 'all optional'}" +
                                       (f", keeps {granted}" if granted else ""))
                verdict.framework = verdict.framework or "cmp"
        else:
            if optional:
                verdict.reasons.append(f"{what}: grants {optional}")
                verdict.framework = verdict.framework or "cmp"
            elif denied:
                verdict.against.append(f"{what} refuses {denied}")


def _check_usp(action: str, after: Reading, verdict: Verdict) -> None:
    usp = after.apis.get("usp") if isinstance(after.apis.get("usp"), dict) else None
    raw = (usp or {}).get("uspString") or (after.cookies.get("usprivacy") or {}).get("value")
    if not raw or action != "reject":
        return
    try:
        decoded = decode_us_privacy(raw)
    except ConsentStringError:
        return
    if decoded.get("opt_out_sale"):
        verdict.reasons.append(f"US Privacy string {raw}: opted out of sale")
        verdict.framework = verdict.framework or "usp"
