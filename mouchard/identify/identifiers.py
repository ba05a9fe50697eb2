"""Device profile → every form an identifier takes before encoding: the normalisations of each kind.

`normal_forms(kind, value)` lists the spellings apps use for one value — a UUID with and without dashes, a MAC
with `:`/`-`/nothing, an IMEI with 14 or 15 digits, a phone number as E.164, international, national or bare
digits, an e-mail lower-cased and as ad platforms normalise it (`EMAIL_RULES`), one part of a split name
(`mouchard.identify.names`) — each with a label that ends the decoding chain when it is not the canonical one
(`sha1>compact`: the SHA-1 of the dashless UUID). `mouchard.decode.encodings` then turns each form into its wire
encodings, and `mouchard.identify.leakdetect.LeakDetector` searches for all of them at once.

`TOKENS` names the placeholder that `mouchard.identify.redact` puts where a value was.
"""

from __future__ import annotations

import re

from mouchard.identify import names

# Kind -> redaction token. Kinds not listed get "[" + kind.upper() + "]".
TOKENS = {
    "advertising_id": "[GAID]", "idfv": "[IDFV]", "android_id": "[ANDROID_ID]", "imei": "[IMEI]",
    "serial": "[SERIAL]", "imsi": "[IMSI]", "wifi_mac": "[WIFI_MAC]", "bluetooth_mac": "[BT_MAC]", "ssid": "[SSID]",
    "bssid": "[BSSID]", "phone": "[PHONE]", "email": "[EMAIL]", "name": "[NAME]", "contact": "[CONTACT]",
    "location": "[LOCATION]", "typed_text": "[TYPED]",
}

UUID_KINDS = ("advertising_id", "idfv")
MAC_KINDS = ("wifi_mac", "bluetooth_mac", "bssid")
NAME_KINDS = names.NAME_KINDS
GMAIL_DOMAINS = ("gmail.com", "googlemail.com")
# E-mail forms (`_email_forms`) and who documents them before hashing (SHA-256 unless said):
EMAIL_RULES = {
    "": "trimmed, lower-cased: Meta CAPI em, Google enhanced conversions, TikTok, Snap CAPI",
    "as-typed": "trimmed only, case kept: SDKs that hash what the app gave them",
    "no-tag": "a +tag removed from the local part (plus addressing): UID2 for gmail.com, CRM de-duplication",
    "gmail-dots": "dots removed from a gmail.com / googlemail.com local part: Google enhanced conversions",
    "gmail-canonical": "dots and +tag removed, googlemail.com as gmail.com: UID2's gmail.com rule",
}

# ITU-T E.164 country codes are a prefix code: 1 and 7 are one digit, these are two, every other is three.
_TWO_DIGIT_CODES = frozenset({
    "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46", "47", "48", "49",
    "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63", "64", "65", "66", "81", "82", "84",
    "86", "90", "91", "92", "93", "94", "95", "98",
})
# Countries whose national format has no trunk "0" before the national number.
_NO_TRUNK_PREFIX = frozenset({"1", "34", "39", "351", "30", "45", "47", "352", "354", "376", "378"})


def token(kind: str, platform: str | None = None) -> str:
    """The redaction placeholder for a kind ([IDFA] for an iPhone's advertising id)."""
    if kind == "advertising_id" and platform == "ios":
        return "[IDFA]"
    return TOKENS.get(kind) or f"[{kind.upper()}]"


def luhn_digit(digits: str) -> str:
    """The Luhn check digit completing `digits` (an IMEI's 15th digit)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def trunk_prefix(code: str) -> str:
    """The national trunk prefix of a country code: "0" (France, UK, Germany...) or "" (US, Spain, Italy...)."""
    return "" if code in _NO_TRUNK_PREFIX else "0"


def split_e164(number: str) -> tuple[str, str]:
    """('33', '612345678') from '+33612345678': country code and national significant number."""
    digits = number.lstrip("+")
    if digits[:1] in ("1", "7"):
        size = 1
    elif digits[:2] in _TWO_DIGIT_CODES:
        size = 2
    else:
        size = 3
    return digits[:size], digits[size:]


def _uuid_forms(value: str) -> list[tuple[str, str]]:
    compact = re.sub(r"[^0-9a-fA-F]", "", value).lower()
    dashed = f"{compact[:8]}-{compact[8:12]}-{compact[12:16]}-{compact[16:20]}-{compact[20:]}"
    return [("", dashed), ("upper", dashed.upper()), ("compact", compact), ("compact-upper", compact.upper())]


def _mac_forms(value: str) -> list[tuple[str, str]]:
    hexes = re.sub(r"[^0-9a-fA-F]", "", value).lower()
    pairs = [hexes[i:i + 2] for i in range(0, 12, 2)]
    forms = [("", ":".join(pairs)), ("upper", ":".join(pairs).upper()), ("dashes", "-".join(pairs)),
             ("dashes-upper", "-".join(pairs).upper()), ("compact", hexes), ("compact-upper", hexes.upper()),
             ("dotted", ".".join(hexes[i:i + 4] for i in range(0, 12, 4)))]
    return forms


def _imei_forms(value: str) -> list[tuple[str, str]]:
    digits = re.sub(r"\D", "", value)
    body = digits[:14]
    full = body + luhn_digit(body)
    forms = [("", full), ("imei14", body)]
    if digits not in (full, body):
        forms.append(("imeisv", digits))
    return forms


def _phone_forms(value: str) -> list[tuple[str, str]]:
    digits = re.sub(r"\D", "", value)
    code, national = split_e164("+" + digits)
    trunk = trunk_prefix(code)
    forms = [("", "+" + digits), ("digits", digits), ("intl-00", "00" + digits), ("national", trunk + national)]
    if trunk:
        forms.append(("nsn", national))
    return forms


def _email_forms(value: str) -> list[tuple[str, str]]:
    """The address as typed and as ad platforms normalise it before hashing (see `EMAIL_RULES`)."""
    typed = value.strip()
    lower = typed.lower()
    forms = [("", lower)]
    if typed != lower:
        forms.append(("as-typed", typed))
    local, at, domain = lower.rpartition("@")
    if not at:
        return forms
    untagged = local.split("+", 1)[0] if "+" in local[1:] else local
    if untagged != local:
        forms.append(("no-tag", f"{untagged}@{domain}"))
    if domain in GMAIL_DOMAINS:
        forms.append(("gmail-dots", f"{local.replace('.', '')}@{domain}"))
        forms.append(("gmail-canonical", f"{untagged.replace('.', '')}@{domain}"))
        if domain != "gmail.com":
            forms.append(("gmail-canonical", f"{untagged.replace('.', '')}@gmail.com"))
    return forms


def _name_forms(value: str) -> list[tuple[str, str]]:
    text = " ".join(value.split())
    forms = [("", text), ("lower", text.lower()), ("upper", text.upper())]
    words = text.split(" ")
    if len(words) == 2:
        forms.append(("reversed", f"{words[1]} {words[0]}"))
    return forms


def _case_forms(value: str) -> list[tuple[str, str]]:
    text = value.strip()
    forms = [("", text)]
    for label, form in (("lower", text.lower()), ("upper", text.upper())):
        if form != text:
            forms.append((label, form))
    return forms


def normal_forms(kind: str, value: str) -> list[tuple[str, str]]:
    """(label, form) spellings of one value of `kind`; the first, with label '', is the canonical one."""
    if kind in UUID_KINDS:
        forms = _uuid_forms(value)
    elif kind in MAC_KINDS:
        forms = _mac_forms(value)
    elif kind == "imei":
        forms = _imei_forms(value)
    elif kind == "phone":
        forms = _phone_forms(value)
    elif kind == "email":
        forms = _email_forms(value)
    elif kind in NAME_KINDS:
        forms = _name_forms(value)
    elif names.part_role(kind):  # "name:first": one part of a split name (mouchard.identify.names)
        forms = names.part_forms(names.part_role(kind), value)
    elif kind in ("android_id", "serial"):
        forms = _case_forms(value)
    else:  # imsi, ssid, typed_text, cookie values of the ID-sync finder...
        forms = [("", value)]
    unique: dict[str, str] = {}
    for label, form in forms:
        unique.setdefault(form, label)
    return [(label, form) for form, label in unique.items()]
