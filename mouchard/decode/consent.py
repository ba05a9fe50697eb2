"""Consent signals: TCF, GPP and US Privacy strings, CMP cookies, consent parameters on the wire, GPC.

One entry point for every collector: decoders live in `mouchard.decode.tcf` and `mouchard.decode.gpp`; this module adds
what CMPs store in cookies, the consent parameters ad tech passes in URLs, the GPC site statement
(/.well-known/gpc.json) and a small map from bidder codes and ad-tech hosts to IAB GVL vendor ids, so a
request to a vendor can be checked against the TC string the page had.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
import urllib.parse
from dataclasses import dataclass

from mouchard.decode.domains import under
from mouchard.decode.gpp import decode_gpp_string, decode_us_privacy, gpp_section
from mouchard.decode.tcf import ConsentStringError, decode_tc_string

__all__ = [
    "ConsentStringError", "decode_tc_string", "decode_gpp_string", "decode_us_privacy", "gpp_section",
    "consent_for_vendor", "purposes_allowed", "GvlVendor", "GVL_VENDORS", "vendor_for",
    "ConsentCookie", "CONSENT_COOKIES", "consent_cookie", "parse_consent_cookie", "parse_additional_consent",
    "WIRE_PARAMETERS", "consent_params_from_url", "parse_gpc_json",
]

# -- TC string helpers ------------------------------------------------------------------------------------

MAX_ID_DIGITS = 9  # ids in consent data (providers, GPP sections, TrustArc levels) are small: int() of more is refused
MAX_TRUSTARC_LEVEL = 10  # TrustArc levels are 0-3 in practice; `notice_preferences: N` means every level up to N


def small_ids(text: str, separators: str = ".") -> list[int]:
    """The ASCII decimal ids in text split on any of `separators`; anything else (Unicode digits such as
    "²", which str.isdigit() accepts and int() refuses, or numbers of more than MAX_ID_DIGITS digits) is
    skipped, so hostile text never raises and never produces a huge number."""
    return [int(x) for x in re.split(f"[{re.escape(separators)}]", text)
            if x.isascii() and x.isdigit() and len(x) <= MAX_ID_DIGITS]


def consent_for_vendor(decoded_tc: dict | None, vendor_id: int) -> bool:
    """True if the user consented to this GVL vendor in a decoded TC string (False for None)."""
    return bool(decoded_tc) and vendor_id in set(decoded_tc.get("vendor_consents") or ())


def purposes_allowed(decoded_tc: dict | None, vendor_id: int) -> dict[str, list[int]]:
    """Purposes a vendor may process, by legal basis, from the TC string alone (no GVL).

    `consent`: purposes the user consented to, if the vendor has consent; `legitimate_interest`: purposes
    with LI transparency, if the vendor's LI was not objected to. Publisher restrictions apply: "not
    allowed" removes a purpose, "require consent" / "require LI" removes it from the other basis.
    Purpose 1 is never LI, nor purposes 3-6 from TCF policy version 4 (TCF 2.2) on.
    The vendor's own GVL declarations are not known here: this is an upper bound.
    """
    if not decoded_tc:
        return {"consent": [], "legitimate_interest": []}
    consent = set(decoded_tc.get("purposes_consent") or ()) if consent_for_vendor(decoded_tc, vendor_id) else set()
    has_li = vendor_id in set(decoded_tc.get("vendor_legitimate_interests") or ())
    li = set(decoded_tc.get("purposes_li_transparency") or ()) if has_li else set()
    li.discard(1)
    if (decoded_tc.get("tcf_policy_version") or 0) >= 4:
        li -= {3, 4, 5, 6}
    for restriction in decoded_tc.get("publisher_restrictions") or ():
        if vendor_id not in restriction["vendors"]:
            continue
        purpose, kind = restriction["purpose"], restriction["restriction_type"]
        if kind == 0:
            consent.discard(purpose)
            li.discard(purpose)
        elif kind == 1:
            li.discard(purpose)
        elif kind == 2:
            consent.discard(purpose)
    return {"consent": sorted(consent), "legitimate_interest": sorted(li)}


# -- GVL vendor ids of common bidders and ad-tech hosts ------------------------------------------------------


@dataclass(frozen=True)
class GvlVendor:
    """An IAB Global Vendor List entry: id, name, Prebid bidder codes, registrable domains it serves from."""

    id: int
    name: str
    bidders: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()


# Ids as declared by each company's own Prebid adapter or Prebid Server bidder info (gvlid) and the GVL.
GVL_VENDORS: tuple[GvlVendor, ...] = (
    GvlVendor(10, "Index Exchange", ("ix",), ("casalemedia.com", "indexww.com")),
    GvlVendor(11, "Quantcast", (), ("quantserve.com", "quantcount.com")),
    GvlVendor(13, "Sovrn", ("sovrn",), ("lijit.com",)),
    GvlVendor(21, "The Trade Desk", ("ttd",), ("adsrvr.org",)),
    GvlVendor(25, "Yahoo", ("yahooAds", "yahoossp", "yahooAdvertising"), ()),
    GvlVendor(28, "TripleLift", ("triplelift",), ("3lift.com",)),
    GvlVendor(32, "Xandr (AppNexus)", ("appnexus", "appnexusAst"), ("adnxs.com", "adnxs-simple.com")),
    GvlVendor(42, "Taboola", ("taboola",), ("taboola.com",)),
    GvlVendor(45, "Equativ (Smart AdServer)", ("smartadserver", "smart"), ("smartadserver.com",)),
    GvlVendor(50, "Adform", ("adf", "adform", "adformOpenRTB"), ("adform.net",)),
    GvlVendor(52, "Magnite (Rubicon Project)", ("rubicon",), ("rubiconproject.com",)),
    GvlVendor(69, "OpenX", ("openx",), ("openx.net",)),
    GvlVendor(76, "PubMatic", ("pubmatic",), ("pubmatic.com",)),
    GvlVendor(91, "Criteo", ("criteo",), ("criteo.com", "criteo.net")),
    GvlVendor(164, "Outbrain", ("outbrain",), ("outbrain.com",)),
    GvlVendor(755, "Google Advertising Products", (), ("doubleclick.net", "googlesyndication.com",
                                                        "googleadservices.com", "googletagservices.com")),
    GvlVendor(793, "Amazon Advertising", (), ("amazon-adsystem.com",)),
)
_BY_BIDDER = {code.lower(): v for v in GVL_VENDORS for code in v.bidders}


def vendor_for(bidder_or_host: str) -> GvlVendor | None:
    """The GVL vendor of a Prebid bidder code, a host (any subdomain) or a URL; None when unknown."""
    key = (bidder_or_host or "").strip().lower()
    if key in _BY_BIDDER:
        return _BY_BIDDER[key]
    host = urllib.parse.urlsplit(key).hostname if "//" in key else key.split("/")[0].split(":")[0]
    host = (host or "").rstrip(".")
    for vendor in GVL_VENDORS:
        if under(host, *vendor.hosts):
            return vendor
    return None


# -- CMP cookies ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConsentCookie:
    """A cookie where a CMP or a framework stores the user's choice; `prefix` names match by prefix."""

    name: str
    cmp: str | None
    framework: str          # tcf, gpp, usp, ac (Google Additional Consent) or cmp (the CMP's own format)
    parser: str | None      # key into _PARSERS; None when the value is opaque
    description: str
    prefix: bool = False


CONSENT_COOKIES: dict[str, ConsentCookie] = {c.name: c for c in (
    ConsentCookie("euconsent-v2", None, "tcf", "tcf", "IAB TCF v2 TC string (any TCF CMP)."),
    ConsentCookie("euconsent", None, "tcf", "tcf", "IAB TCF v1 consent string (legacy)."),
    ConsentCookie("eupubconsent-v2", None, "tcf", "tcf", "TC string with the publisher TC segment."),
    ConsentCookie("addtl_consent", None, "ac", "ac", "Google Additional Consent string (non-TCF ad tech providers)."),
    ConsentCookie("usprivacy", None, "usp", "usp", "IAB US Privacy (CCPA) string."),
    ConsentCookie("__gpp", None, "gpp", "gpp", "IAB GPP string."),
    ConsentCookie("OptanonConsent", "onetrust", "cmp", "onetrust", "OneTrust choices: groups=C0001:1,C0002:0..."),
    ConsentCookie("OptanonAlertBoxClosed", "onetrust", "cmp", "raw", "When the OneTrust banner was closed."),
    ConsentCookie("CookieConsent", "cookiebot", "cmp", "cookiebot", "Cookiebot: necessary, preferences, statistics, marketing."),
    ConsentCookie("didomi_token", "didomi", "cmp", "didomi", "Didomi: base64 JSON, purposes and vendors."),
    ConsentCookie("tarteaucitron", "tarteaucitron", "cmp", "tarteaucitron", "tarteaucitron.js: !service=true!other=false."),
    ConsentCookie("klaro", "klaro", "cmp", "json_flags", "Klaro: JSON of service -> true/false."),
    ConsentCookie("cc_cookie", "vanilla-cookieconsent", "cmp", "cc_cookie", "vanilla-cookieconsent: JSON, accepted categories."),
    ConsentCookie("cookieconsent_status", "osano-cookieconsent", "cmp", "word", "cookieconsent: allow, deny or dismiss."),
    ConsentCookie("cookieyes-consent", "cookieyes", "cmp", "cookieyes", "CookieYes: necessary:yes,analytics:no..."),
    ConsentCookie("cookiefirst-consent", "cookiefirst", "cmp", "json_flags", "CookieFirst: JSON of category -> true/false."),
    ConsentCookie("borlabs-cookie", "borlabs", "cmp", "borlabs", "Borlabs Cookie: JSON of consented groups and cookies."),
    ConsentCookie("axeptio_cookies", "axeptio", "cmp", "json_flags", "Axeptio: JSON of vendor -> true/false."),
    ConsentCookie("axeptio_authorized_vendors", "axeptio", "cmp", "csv", "Axeptio: comma list of accepted vendors."),
    ConsentCookie("CookieControl", "civic", "cmp", "civic", "Civic Cookie Control: JSON, optionalCookies."),
    ConsentCookie("CookieScriptConsent", "cookie-script", "cmp", "cookiescript", "Cookie-Script: JSON, action and categories."),
    ConsentCookie("moove_gdpr_popup", "moove-gdpr", "cmp", "json_flags", "Moove GDPR: strict, thirdparty, advanced."),
    ConsentCookie("notice_gdpr_prefs", "trustarc", "cmp", "trustarc", "TrustArc: levels 0,1,2: (required, functional, ads)."),
    ConsentCookie("notice_preferences", "trustarc", "cmp", "trustarc", "TrustArc: highest consented level, e.g. 2:."),
    ConsentCookie("cmapi_cookie_privacy", "trustarc", "cmp", "trustarc", "TrustArc: permit 1,2,3."),
    ConsentCookie("uc_user_interaction", "usercentrics", "cmp", "raw", "Usercentrics: whether the banner was used."),
    ConsentCookie("_sp_v1_consent", "sourcepoint", "cmp", None, "Sourcepoint consent state (opaque)."),
    ConsentCookie("_sp_v1_data", "sourcepoint", "cmp", None, "Sourcepoint session data (opaque)."),
    ConsentCookie("_sp_su", "sourcepoint", "cmp", None, "Sourcepoint sampling flag (opaque)."),
    ConsentCookie("consentUUID", "sourcepoint", "cmp", None, "Sourcepoint consent record id."),
    ConsentCookie("cmplz_", "complianz", "cmp", "word", "Complianz: allow/deny per category.", prefix=True),
    ConsentCookie("_iub_cs-", "iubenda", "cmp", "iubenda", "iubenda: JSON with purposes -> true/false.", prefix=True),
)}
_PREFIXED = tuple(c for c in CONSENT_COOKIES.values() if c.prefix)


def consent_cookie(name: str) -> ConsentCookie | None:
    """The known consent cookie this name is (exact name, or a known prefix like cmplz_ or _iub_cs-)."""
    if name in CONSENT_COOKIES and not CONSENT_COOKIES[name].prefix:
        return CONSENT_COOKIES[name]
    return next((c for c in _PREFIXED if name.startswith(c.name)), None)


def parse_consent_cookie(name: str, value: str) -> dict | None:
    """What can be read from a consent cookie; None when the name is not a known consent cookie.

    Returns {cookie, cmp, framework, decoded, granted, denied, error}: `granted` / `denied` list the
    categories, purposes or services the value accepts or refuses (None when the format does not say).
    A value that cannot be read gives `error`, never an exception.
    """
    known = consent_cookie(name)
    if known is None:
        return None
    result = {"cookie": name, "cmp": known.cmp, "framework": known.framework, "decoded": None,
              "granted": None, "denied": None, "error": None}
    if known.parser is None:
        return result
    try:
        decoded, granted, denied = _PARSERS[known.parser](value or "", name)
    except ConsentStringError as exc:
        result["error"] = str(exc)
    except (ValueError, TypeError, KeyError, AttributeError, binascii.Error, RecursionError) as exc:
        result["error"] = f"unreadable {name} value: {str(exc)[:200]}"
    else:
        result.update(decoded=decoded, granted=granted, denied=denied)
    return result


def _unquoted(value: str) -> str:
    return urllib.parse.unquote(value.strip().strip('"')) if "%" in value else value.strip().strip('"')


def _json(value: str):
    text = _unquoted(value)
    if not text.lstrip().startswith(("{", "[")):
        padded = text + "=" * (-len(text) % 4)
        text = base64.b64decode(padded.replace("-", "+").replace("_", "/")).decode("utf-8")
    return json.loads(text)


def _split_flags(flags: dict) -> tuple[list, list]:
    granted = sorted(str(k) for k, v in flags.items() if v is True or v in ("1", 1, "true", "yes", "allow", "accepted"))
    denied = sorted(str(k) for k, v in flags.items() if v is False or v in ("0", 0, "false", "no", "deny", "revoked"))
    return granted, denied


def _parse_tcf(value, name):
    return decode_tc_string(value), None, None


def _parse_gpp(value, name):
    return decode_gpp_string(_unquoted(value)), None, None


def _parse_usp(value, name):
    decoded = decode_us_privacy(_unquoted(value))
    return decoded, None, ["sale"] if decoded["opt_out_sale"] else None


def _parse_ac(value, name):
    return parse_additional_consent(_unquoted(value)), None, None


def _parse_onetrust(value, name):
    fields = dict(urllib.parse.parse_qsl(_unquoted(value) if "groups=" not in value else value,
                                         keep_blank_values=True))
    groups = {}
    for item in fields.get("groups", "").split(","):
        key, sep, flag = item.partition(":")
        if sep:
            groups[key] = flag == "1"
    decoded = {"groups": groups, **{k: fields[k] for k in ("consentId", "datestamp", "version",
               "interactionCount", "isGpcEnabled", "browserGpcFlag", "geolocation", "AwaitingReconsent",
               "isIABGlobal") if k in fields}}
    granted, denied = _split_flags(groups)
    return decoded, granted, denied


def _parse_cookiebot(value, name):
    text = _unquoted(value)
    if text == "-1":  # Cookiebot sets -1 where it considers consent not required: everything runs
        return {"consent_required": False}, ["necessary", "preferences", "statistics", "marketing"], []
    pairs = dict(re.findall(r"(\w+):'?([^,'}]*)'?", text))
    decoded = {k: pairs[k] for k in ("stamp", "method", "ver", "utc", "region") if k in pairs}
    flags = {k: pairs[k] == "true" for k in ("necessary", "preferences", "statistics", "marketing") if k in pairs}
    if not flags:
        raise ValueError("no necessary/preferences/statistics/marketing flags")
    decoded.update(flags)
    return (decoded, *_split_flags(flags))


def _parse_didomi(value, name):
    data = _json(value)
    purposes, vendors = data.get("purposes", {}), data.get("vendors", {})
    decoded = {"user_id": data.get("user_id"), "created": data.get("created"), "updated": data.get("updated"),
               "purposes": purposes, "vendors": vendors, "purposes_li": data.get("purposes_li"),
               "vendors_li": data.get("vendors_li"), "version": data.get("version")}
    granted = sorted(purposes.get("enabled", []) + [f"vendor:{v}" for v in vendors.get("enabled", [])])
    denied = sorted(purposes.get("disabled", []) + [f"vendor:{v}" for v in vendors.get("disabled", [])])
    return decoded, granted, denied


def _parse_tarteaucitron(value, name):
    services = {}
    for item in _unquoted(value).split("!"):
        key, sep, state = item.partition("=")
        if sep and key:
            services[key] = True if state == "true" else False if state == "false" else state
    return (services, *_split_flags(services))


def _parse_json_flags(value, name):
    data = _json(value)
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    flags = {k: v for k, v in data.items() if not k.startswith("$$")}
    return (data, *_split_flags(flags))


def _parse_cc_cookie(value, name):
    data = _json(value)
    categories = data.get("categories", data.get("level"))  # v3 "categories", v2 "level"
    if not isinstance(categories, list):
        raise ValueError("no categories/level list")
    return data, sorted(categories), None


def _parse_word(value, name):
    word = _unquoted(value).lower()
    category = name[len("cmplz_"):] if name.startswith("cmplz_") else "all"
    if word in ("allow", "true", "yes", "accept", "accepted"):
        return {"value": word}, [category], []
    if word in ("deny", "false", "no", "reject", "rejected"):
        return {"value": word}, [], [category]
    return {"value": word}, None, None


def _parse_csv(value, name):
    items = [v for v in _unquoted(value).split(",") if v]
    return {"vendors": items}, sorted(items), None


def _parse_cookieyes(value, name):
    pairs = dict(item.partition(":")[::2] for item in _unquoted(value).split(",") if ":" in item)
    flags = {k: v for k, v in pairs.items() if k not in ("consentid", "consent", "action", "rev")}
    return (pairs, *_split_flags(flags))


def _parse_borlabs(value, name):
    data = _json(value)
    consents = data.get("consents", {})
    return data, sorted(consents), None


def _parse_civic(value, name):
    data = _json(value)
    return (data, *_split_flags(data.get("optionalCookies", {})))


def _parse_cookiescript(value, name):
    data = _json(value)
    categories = data.get("categories", [])
    if isinstance(categories, str):
        categories = json.loads(categories)
    denied = ["all optional"] if data.get("action") == "reject" else None
    return data, sorted(categories), denied


def _parse_trustarc(value, name):
    text = _unquoted(value)
    found = re.findall(r"[0-9]+", text)
    levels = sorted({int(n) for n in found if len(n) <= 2 and int(n) <= MAX_TRUSTARC_LEVEL})
    if len(levels) < len(set(found)):
        raise ValueError(f"a TrustArc level above {MAX_TRUSTARC_LEVEL}")
    if name == "notice_preferences":  # the highest level the user accepted: all below it too (bounded above)
        levels = list(range(0, max(levels) + 1)) if levels else []
    labels = {0: "required", 1: "functional", 2: "advertising"}
    return {"levels": levels}, [labels.get(n, str(n)) for n in levels], None


def _parse_iubenda(value, name):
    data = _json(value)
    return (data, *_split_flags({f"purpose:{k}": v for k, v in data.get("purposes", {}).items()}))


def _parse_raw(value, name):
    return {"value": _unquoted(value)}, None, None


_PARSERS = {
    "tcf": _parse_tcf, "gpp": _parse_gpp, "usp": _parse_usp, "ac": _parse_ac, "onetrust": _parse_onetrust,
    "cookiebot": _parse_cookiebot, "didomi": _parse_didomi, "tarteaucitron": _parse_tarteaucitron,
    "json_flags": _parse_json_flags, "cc_cookie": _parse_cc_cookie, "word": _parse_word, "csv": _parse_csv,
    "cookieyes": _parse_cookieyes, "borlabs": _parse_borlabs, "civic": _parse_civic,
    "cookiescript": _parse_cookiescript, "trustarc": _parse_trustarc, "iubenda": _parse_iubenda,
    "raw": _parse_raw,
}


def parse_additional_consent(value: str) -> dict:
    """Google Additional Consent string: "1~1.35.41" (v1) or "2~1.35~dv.9.21" (v2, with disclosed ids)."""
    text = (value or "").strip()
    version, sep, rest = text.partition("~")
    if not sep or version not in ("1", "2"):
        raise ConsentStringError(f"not an Additional Consent string: {text[:20]!r} (expected 1~ or 2~)")
    consented, _, disclosed = rest.partition("~")
    result = {"version": int(version), "consented_providers": small_ids(consented)}
    if version == "2":
        result["disclosed_providers"] = small_ids(disclosed.removeprefix("dv."))
    return result


# -- consent parameters on the wire -------------------------------------------------------------------------

# URL parameter -> canonical name. The first of each group is the name the IAB and Prebid document;
# the others are spellings real endpoints use (Criteo's gdpr= carries the string, gdprapplies= the flag).
WIRE_PARAMETERS: dict[str, str] = {
    "gdpr": "gdpr", "gdpr_applies": "gdpr", "gdprapplies": "gdpr", "gdprApplies": "gdpr",
    "gdpr_consent": "gdpr_consent", "gdprConsent": "gdpr_consent", "gdpr_consent_string": "gdpr_consent",
    "consent_string": "gdpr_consent", "euconsent": "gdpr_consent", "euconsent-v2": "gdpr_consent",
    "us_privacy": "us_privacy", "usp": "us_privacy", "usprivacy": "us_privacy", "ccpa": "us_privacy",
    "gpp": "gpp", "gpp_string": "gpp",
    "gpp_sid": "gpp_sid", "gppSid": "gpp_sid",
    "addtl_consent": "addtl_consent",
}
_MACRO = re.compile(r"\$\{[^}]*\}|\{\{[^}]*\}\}|%%[A-Z_]+%%|\[[A-Za-z_]+\]|__[A-Z_]+__")


def consent_params_from_url(url: str) -> dict:
    """Consent parameters in a URL's query (and fragment), under their canonical names.

    {gdpr: 0/1, gdpr_consent, us_privacy, gpp, gpp_sid: [ids], addtl_consent} for those present, plus
    `macros`: parameters still holding an unexpanded macro such as ${GDPR_CONSENT_755}. {} when none.
    """
    parts = urllib.parse.urlsplit(url or "")
    found: dict = {}
    macros: list[str] = []
    for piece in (parts.query + "&" + parts.fragment).split("&"):
        key, sep, raw = piece.partition("=")
        canonical = WIRE_PARAMETERS.get(urllib.parse.unquote(key))
        if not sep or canonical is None:
            continue
        value = urllib.parse.unquote(raw)  # not unquote_plus: "+" can be part of a base64 string
        if _MACRO.search(value):
            macros.append(key)
            continue
        if canonical == "gdpr":
            if value.strip().lower() in ("1", "true"):
                found.setdefault("gdpr", 1)
            elif value.strip().lower() in ("0", "false"):
                found.setdefault("gdpr", 0)
            elif len(value) > 20:  # gdpr=<TC string>, as some exchanges name it
                found.setdefault("gdpr_consent", value)
        elif canonical == "gpp_sid":
            ids = small_ids(value, ",_~ ")
            if ids:
                found.setdefault("gpp_sid", ids)
        elif value:
            found.setdefault(canonical, value)
    if macros:
        found["macros"] = macros
    return found


# -- Global Privacy Control site statement -------------------------------------------------------------------


def parse_gpc_json(data: bytes | str) -> dict:
    """Read /.well-known/gpc.json: {"gpc": bool|None, "lastUpdate": str|None, "errors": [...]}.

    Follows the GPC specification: a JSON object whose required `gpc` member is a boolean and whose
    optional `lastUpdate` is a date (YYYY-MM-DD). Every deviation is one line in `errors`.
    """
    result: dict = {"gpc": None, "lastUpdate": None, "errors": []}
    errors = result["errors"]
    if isinstance(data, (bytes, str)) and len(data) > 1_000_000:
        errors.append(f"{len(data)} {'bytes' if isinstance(data, bytes) else 'characters'}: too large for a gpc.json")
        return result
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            errors.append("not UTF-8 text")
            return result
    try:
        document = json.loads(data)
    except (ValueError, TypeError, RecursionError) as exc:  # RecursionError: arrays nested thousands deep
        errors.append(f"invalid JSON: {str(exc)[:200]}")
        return result
    if not isinstance(document, dict):
        errors.append(f"not a JSON object but {type(document).__name__}")
        return result
    if "gpc" not in document:
        errors.append("missing the required gpc member")
    elif not isinstance(document["gpc"], bool):
        errors.append(f"gpc must be true or false, not {json.dumps(document['gpc'])[:40]}")
    else:
        result["gpc"] = document["gpc"]
    if "lastUpdate" in document:
        value = document["lastUpdate"]
        if not isinstance(value, str):
            errors.append(f"lastUpdate must be a date string, not {type(value).__name__}")
        else:
            result["lastUpdate"] = value
            try:
                dt.date.fromisoformat(value)
            except ValueError:
                errors.append(f"lastUpdate {value[:40]!r} is not a YYYY-MM-DD date")
    return result
