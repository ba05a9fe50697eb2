"""The Global Vendor List file (`vendor-list.json`): parsed from hostile bytes, within a budget.

Contract shared by mouchard.vendors (filled in by the registry's author): `parse_vendor_list(raw) -> VendorList`
raises `VendorListError` (a `UserError`: one line) on anything that is not a vendor list.

Reads GVL v3 (TCF 2.2: `urls` per language, `dataRetention`, `dataDeclaration`) and v2 files (`policyUrl`).
Field names are those of the IAB Tech Lab's "Consent string and vendor list formats v2" specification and of
@iabtcf/core's `Vendor` type. Unknown fields are ignored; a known field of the wrong type or out of bounds is an
error naming the field, never a guess.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from mouchard.errors import UserError

# Purposes TCF policy (v2.2, appendix A) forbids on legitimate interest: storing/accessing (1) and the
# profiling and personalisation purposes (3, 4, 5, 6).
LI_FORBIDDEN_PURPOSES = frozenset({1, 3, 4, 5, 6})
PRECISE_GEOLOCATION = 1  # special feature 1

# Budget. The live list is ~1 MB with ~1,000 vendors; these bounds leave room and stop a hostile file early.
MAX_LIST_BYTES = 32 * 1024 * 1024
MAX_VENDORS = 10_000
MAX_VENDOR_ID = 65_535  # TC strings hold vendor ids on 16 bits
MAX_PURPOSE_ID = 64  # purposes are 24 bits in a TC string, special features 12: 64 bounds every kind
MAX_IDS = 64  # ids in one list (purposes, features...)
MAX_NAME = 512  # characters of a name
MAX_URL = 2048  # characters of a URL
MAX_URLS = 64  # language entries in `urls`
MAX_DEFINITIONS = 256  # entries of `purposes`, `features`... at the top level
MAX_SECONDS = 1 << 53  # JSON numbers past this are not exact in JavaScript either


class VendorListError(UserError, ValueError):
    """Not a Global Vendor List (or one over the budget)."""


@dataclass(frozen=True)
class Vendor:
    """One vendor as the list declares it."""

    id: int
    name: str
    purposes: tuple[int, ...] = ()
    leg_int_purposes: tuple[int, ...] = ()
    flexible_purposes: tuple[int, ...] = ()
    special_purposes: tuple[int, ...] = ()
    features: tuple[int, ...] = ()
    special_features: tuple[int, ...] = ()
    uses_cookies: bool | None = None
    cookie_max_age_seconds: int | None = None
    cookie_refresh: bool | None = None
    uses_non_cookie_access: bool | None = None
    device_storage_disclosure_url: str | None = None
    privacy_url: str | None = None
    legitimate_interest_url: str | None = None
    deleted_date: str | None = None
    # GVL v3 only (optional additions to the shared contract):
    data_retention_days: int | None = None  # dataRetention.stdRetention
    data_declaration: tuple[int, ...] = ()  # categories of data collected (dataDeclaration)


@dataclass(frozen=True)
class VendorList:
    """One version of the list."""

    version: int
    gvl_specification_version: int | None
    tcf_policy_version: int | None
    last_updated: str | None
    vendors: dict[int, Vendor] = field(default_factory=dict)
    purposes: dict[int, str] = field(default_factory=dict)  # id -> name as published


def _label(key: str) -> str:
    """A key of the file as it may appear in a message: digits as they are, anything else quoted, ASCII-escaped
    and cut (a key is hostile text: no line break or control character reaches the one-line error)."""
    if key.isascii() and key.isdigit() and len(key) <= 12:
        return key
    return json.dumps(key[:20])


def _fail(where: str, what: str) -> VendorListError:
    return VendorListError(f"not a Global Vendor List: {where}: {what}")


def _int(value, where: str, low: int, high: int, *, optional: bool = False) -> int | None:
    """An integer within [low, high]; a float is accepted only when it is integral (JSON writers differ)."""
    if value is None and optional:
        return None
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(where, f"expected an integer, got {type(value).__name__}")
    if not low <= value <= high:
        raise _fail(where, f"{value if abs(value) < 10**12 else 'a number'} is outside {low}..{high}")
    return value


def _bool(value, where: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise _fail(where, f"expected true or false, got {type(value).__name__}")


def bounded_str(value, where: str, limit: int, fail, *, optional: bool = True) -> str | None:
    """A string field of untrusted JSON, at most `limit` characters; `fail(where, what)` makes the error raised.
    What the vendor list and the disclosures share."""
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise fail(where, f"expected a string, got {type(value).__name__}")
    if len(value) > limit:
        raise fail(where, f"longer than {limit} characters")
    return value


def _str(value, where: str, limit: int, *, optional: bool = True) -> str | None:
    return bounded_str(value, where, limit, _fail, optional=optional)


def _ids(value, where: str, high: int = MAX_PURPOSE_ID) -> tuple[int, ...]:
    """A list of ids 1..high, kept in published order without duplicates; missing or null is empty."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _fail(where, f"expected a list of ids, got {type(value).__name__}")
    if len(value) > MAX_IDS:
        raise _fail(where, f"more than {MAX_IDS} ids")
    return tuple(dict.fromkeys(_int(v, where, 1, high) for v in value))


def _urls(value, where: str) -> tuple[str | None, str | None]:
    """(privacy, legIntClaim) of the first language entry that has them (v3 `urls`)."""
    if value is None:
        return None, None
    if not isinstance(value, list):
        raise _fail(where, f"expected a list, got {type(value).__name__}")
    if len(value) > MAX_URLS:
        raise _fail(where, f"more than {MAX_URLS} entries")
    privacy = claim = None
    for i, entry in enumerate(value):
        if not isinstance(entry, dict):
            raise _fail(f"{where}[{i}]", f"expected an object, got {type(entry).__name__}")
        _str(entry.get("langId"), f"{where}[{i}].langId", 16)
        p = _str(entry.get("privacy"), f"{where}[{i}].privacy", MAX_URL)
        c = _str(entry.get("legIntClaim"), f"{where}[{i}].legIntClaim", MAX_URL)
        privacy = privacy or p
        claim = claim or c
    return privacy, claim


def _retention(value, where: str) -> int | None:
    """dataRetention.stdRetention (days); the per-purpose overrides are checked, not kept."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _fail(where, f"expected an object, got {type(value).__name__}")
    for part in ("purposes", "specialPurposes"):
        overrides = value.get(part)
        if overrides is None:
            continue
        if not isinstance(overrides, dict) or len(overrides) > MAX_IDS:
            raise _fail(f"{where}.{part}", f"expected an object of at most {MAX_IDS} purposes")
        for key, days in overrides.items():
            _int(days, f"{where}.{part}.{_label(key)}", 0, MAX_SECONDS)
    return _int(value.get("stdRetention"), f"{where}.stdRetention", 0, MAX_SECONDS, optional=True)


def _vendor(key: str, item) -> Vendor:
    where = f"vendors.{_label(key)}"
    if not isinstance(item, dict):
        raise _fail(where, f"expected an object, got {type(item).__name__}")
    vendor_id = _int(item.get("id"), f"{where}.id", 1, MAX_VENDOR_ID)
    if key != str(vendor_id):
        raise _fail(where, f"the key does not equal its id {vendor_id}")
    name = _str(item.get("name"), f"{where}.name", MAX_NAME, optional=False)
    privacy, claim = _urls(item.get("urls"), f"{where}.urls")
    policy = _str(item.get("policyUrl"), f"{where}.policyUrl", MAX_URL)  # v2 (and some v3 copies)
    return Vendor(
        id=vendor_id, name=name,
        purposes=_ids(item.get("purposes"), f"{where}.purposes"),
        leg_int_purposes=_ids(item.get("legIntPurposes"), f"{where}.legIntPurposes"),
        flexible_purposes=_ids(item.get("flexiblePurposes"), f"{where}.flexiblePurposes"),
        special_purposes=_ids(item.get("specialPurposes"), f"{where}.specialPurposes"),
        features=_ids(item.get("features"), f"{where}.features"),
        special_features=_ids(item.get("specialFeatures"), f"{where}.specialFeatures"),
        uses_cookies=_bool(item.get("usesCookies"), f"{where}.usesCookies"),
        cookie_max_age_seconds=_int(item.get("cookieMaxAgeSeconds"), f"{where}.cookieMaxAgeSeconds",
                                    -MAX_SECONDS, MAX_SECONDS, optional=True),
        cookie_refresh=_bool(item.get("cookieRefresh"), f"{where}.cookieRefresh"),
        uses_non_cookie_access=_bool(item.get("usesNonCookieAccess"), f"{where}.usesNonCookieAccess"),
        device_storage_disclosure_url=_str(item.get("deviceStorageDisclosureUrl"),
                                           f"{where}.deviceStorageDisclosureUrl", MAX_URL),
        privacy_url=privacy or policy,
        legitimate_interest_url=claim,
        deleted_date=_str(item.get("deletedDate"), f"{where}.deletedDate", 64),
        data_retention_days=_retention(item.get("dataRetention"), f"{where}.dataRetention"),
        data_declaration=_ids(item.get("dataDeclaration"), f"{where}.dataDeclaration", 1024),
    )


def _definitions(value, where: str) -> dict[int, str]:
    """`purposes`, `features`...: {"1": {"id": 1, "name": ...}} -> {1: name}."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _fail(where, f"expected an object, got {type(value).__name__}")
    if len(value) > MAX_DEFINITIONS:
        raise _fail(where, f"more than {MAX_DEFINITIONS} entries")
    found = {}
    for key, item in value.items():
        if not isinstance(item, dict):
            raise _fail(f"{where}.{_label(key)}", f"expected an object, got {type(item).__name__}")
        item_id = _int(item.get("id"), f"{where}.{_label(key)}.id", 1, MAX_PURPOSE_ID)
        if key != str(item_id):
            raise _fail(f"{where}.{_label(key)}", f"the key does not equal its id {item_id}")
        found[item_id] = _str(item.get("name"), f"{where}.{_label(key)}.name", MAX_NAME) or ""
    return found


def _reject_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def read_json(raw: bytes, what: str, limit: int, error: type[Exception]) -> Any:
    """Untrusted bytes as JSON, or `error` with one line: "not <what>: ..." (too large, not UTF-8, nested too deep,
    not JSON, NaN or Infinity). What the vendor list and the disclosures share."""
    if not isinstance(raw, (bytes, bytearray)):
        raise error(f"not {what}: expected bytes")
    if len(raw) > limit:
        raise error(f"not {what}: larger than {limit} bytes")
    try:
        return json.loads(bytes(raw).decode("utf-8-sig"), parse_constant=_reject_constant)
    except UnicodeDecodeError:
        raise error(f"not {what}: not UTF-8 text") from None
    except RecursionError:
        raise error(f"not {what}: JSON nested too deep") from None
    except ValueError as exc:  # JSONDecodeError, NaN/Infinity, integers of too many digits
        raise error(f"not {what}: not JSON ({str(exc).splitlines()[0][:120]})") from None


def parse_vendor_list(raw: bytes) -> VendorList:
    """Read a `vendor-list.json` (GVL v3, or v2) from untrusted bytes; `VendorListError` names what is wrong.

    Bounded: at most MAX_LIST_BYTES, MAX_VENDORS vendors, ids 1..65535 equal to their key, purpose ids 1..64,
    names and URLs of bounded length. Deleted vendors (`deletedDate`) are kept: a registry remembers them.
    """
    data = read_json(raw, "a Global Vendor List", MAX_LIST_BYTES, VendorListError)
    if not isinstance(data, dict):
        raise VendorListError("not a Global Vendor List: the top level is not an object")
    if "vendorListVersion" not in data or "vendors" not in data:
        raise VendorListError("not a Global Vendor List: no vendorListVersion or no vendors")
    version = _int(data.get("vendorListVersion"), "vendorListVersion", 1, 1 << 31)
    spec = _int(data.get("gvlSpecificationVersion"), "gvlSpecificationVersion", 1, 1000, optional=True)
    policy = _int(data.get("tcfPolicyVersion"), "tcfPolicyVersion", 1, 1000, optional=True)
    updated = _str(data.get("lastUpdated"), "lastUpdated", 64)
    purposes = _definitions(data.get("purposes"), "purposes")
    for part in ("specialPurposes", "features", "specialFeatures"):
        _definitions(data.get(part), part)
    vendors_in = data["vendors"]
    if not isinstance(vendors_in, dict):
        raise _fail("vendors", f"expected an object keyed by vendor id, got {type(vendors_in).__name__}")
    if len(vendors_in) > MAX_VENDORS:
        raise _fail("vendors", f"more than {MAX_VENDORS} vendors")
    vendors = {}
    for key, item in vendors_in.items():
        vendor = _vendor(key, item)
        vendors[vendor.id] = vendor
    return VendorList(version, spec, policy, updated, vendors, purposes)
