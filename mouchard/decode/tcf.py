"""IAB TCF consent strings (TC strings): bit-level decoding of v2.x (all segments) and legacy v1.

Written against "Transparency and Consent String with Global Vendor & CMP List Formats" (IAB Tech Lab,
TCF v2.0–2.3): a TC string is base64url segments joined by "."; the core segment comes first, then optional
disclosed-vendors (type 1), allowed-vendors (type 2) and publisher-TC (type 3) segments, each starting with a
3-bit segment type. Fields are big-endian, bits numbered left to right, not byte-aligned.
The bit reader here is shared with the GPP decoder (`mouchard.decode.gpp`).
"""

from __future__ import annotations

import datetime as dt
import re
import urllib.parse

from mouchard.errors import UserError

MAX_STRING = 100_000        # characters; real TC strings are a few KB, this bounds hostile input
MAX_EXPANDED_IDS = 500_000  # vendor ids produced by range entries over a whole string (range bombs)

SEGMENTS = {0: "core", 1: "disclosed_vendors", 2: "allowed_vendors", 3: "publisher_tc"}
RESTRICTION_TYPES = {0: "not_allowed", 1: "require_consent", 2: "require_legitimate_interest", 3: "undefined"}

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_SIXBITS = {c: format(i, "06b") for i, c in enumerate(_ALPHABET)}
_SIXBITS.update({"+": _SIXBITS["-"], "/": _SIXBITS["_"]})  # standard base64, as some CMPs write it
_STRING_CHARS = re.compile(r"[A-Za-z0-9_\-+/.=]*")


class ConsentStringError(UserError, ValueError):
    """A consent string (TC, GPP, US Privacy) that cannot be decoded; `str()` is a one-line reason."""


class BitReader:
    """Reads big-endian fields from one base64url segment, 6 bits per character (no byte alignment)."""

    def __init__(self, segment: str, what: str = "segment"):
        try:
            self.bits = "".join(_SIXBITS[c] for c in segment)
        except KeyError as exc:
            raise ConsentStringError(f"{what}: character {exc.args[0]!r} is not base64url") from None
        self.pos = 0
        self.what = what
        self.expanded = 0

    @property
    def remaining(self) -> int:
        return len(self.bits) - self.pos

    def take(self, n: int, field: str) -> str:
        if n > self.remaining:
            raise ConsentStringError(f"{self.what} truncated: {field} needs {n} bits at bit {self.pos}, "
                                     f"{self.remaining} left")
        chunk = self.bits[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def int(self, n: int, field: str) -> int:
        return int(self.take(n, field), 2) if n else 0

    def bool(self, field: str) -> bool:
        return self.take(1, field) == "1"

    def bitfield(self, n: int, field: str) -> list[int]:
        """Ids (1-based) whose bit is set in the next n bits."""
        chunk = self.take(n, field)
        return [i + 1 for i, bit in enumerate(chunk) if bit == "1"]

    def letters(self, count: int, field: str) -> str | None:
        """Letters coded on 6 bits each, a=0..z=25 (language, country); None when a value is out of range."""
        values = [self.int(6, field) for _ in range(count)]
        if any(v > 25 for v in values):
            return None
        return "".join(chr(65 + v) for v in values)

    def deciseconds(self, field: str) -> str:
        return iso_deciseconds(self.int(36, field))

    def count_expanded(self, n: int) -> None:
        self.expanded += n
        if self.expanded > MAX_EXPANDED_IDS:
            raise ConsentStringError(f"{self.what}: ranges expand to more than {MAX_EXPANDED_IDS} ids")

    def id_range(self, field: str) -> list[int]:
        """A TCF range section: NumEntries(12), then per entry IsARange(1), start(16)[, end(16)]."""
        ids: set[int] = set()
        for _ in range(self.int(12, f"{field} NumEntries")):
            is_range = self.bool(f"{field} IsARange")
            start = self.int(16, f"{field} StartOrOnlyVendorId")
            end = self.int(16, f"{field} EndVendorId") if is_range else start
            if end < start:
                raise ConsentStringError(f"{self.what}: {field} range {start}-{end} ends before it starts")
            self.count_expanded(end - start + 1)
            ids.update(range(start, end + 1))
        return sorted(ids)

    def vendor_section(self, field: str) -> tuple[list[int], str, int]:
        """MaxVendorId(16), IsRangeEncoding(1), then a bitfield or a range section: (ids, encoding, max id)."""
        max_id = self.int(16, f"{field} MaxVendorId")
        if self.bool(f"{field} IsRangeEncoding"):
            return self.id_range(field), "range", max_id
        return self.bitfield(max_id, f"{field} BitField"), "bitfield", max_id


def iso_deciseconds(value: int) -> str:
    """Epoch deciseconds as ISO 8601 UTC text with milliseconds, like the `*_at` columns."""
    moment = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(milliseconds=value * 100)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def clean_string(value: str | bytes, what: str) -> tuple[str, list[str]]:
    """Strip quotes, URL-encoding, padding and trailing garbage; returns (string, warnings)."""
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    if not isinstance(value, str):
        raise ConsentStringError(f"{what}: expected text, got {type(value).__name__}")
    warnings: list[str] = []
    if len(value) > 3 * MAX_STRING:  # refused before any work: URL-decoding shrinks text at most threefold
        raise ConsentStringError(f"{what}: {len(value)} characters, more than the {MAX_STRING} accepted")
    text = value.strip().strip("\"'")
    if "%" in text:
        text = urllib.parse.unquote(text)
    if len(text) > MAX_STRING:
        raise ConsentStringError(f"{what}: {len(text)} characters, more than the {MAX_STRING} accepted")
    kept = _STRING_CHARS.match(text).group(0)
    if len(kept) < len(text):
        warnings.append(f"ignored {len(text) - len(kept)} trailing characters from {text[len(kept)]!r}")
    kept = kept.replace("=", "").strip(".")
    if not kept:
        if text:
            raise ConsentStringError(f"{what}: no base64url text at the start of {text[:12]!r}")
        raise ConsentStringError(f"{what}: empty string")
    return kept, warnings


def decode_tc_string(value: str | bytes) -> dict:
    """Decode a TCF v2.x TC string (or a legacy v1 consent string) into a dict of its fields.

    Sets of purposes, special features and vendors are sorted lists of ints; dates are ISO 8601 UTC text.
    Optional segments absent from the string are None. Raises ConsentStringError, and only that.
    """
    text, warnings = clean_string(value, "TC string")
    segments = [s for s in text.split(".") if s]
    core = BitReader(segments[0], "TC string core segment")
    version = core.int(6, "Version")
    if version == 1:
        decoded = _decode_v1(core)
        if len(segments) > 1:
            warnings.append("TCF v1 strings have no segments: ignored text after the first '.'")
    elif version == 2:
        decoded = _decode_core(core)
        for index, segment in enumerate(segments[1:], start=2):
            try:
                _decode_segment(decoded, segment, index, warnings)
            except ConsentStringError as exc:
                # the core still says what the user chose: keep it, and record the broken segment
                warnings.append(f"{exc} (segment ignored)")
    elif version == 3 and segments[0].startswith("D"):
        raise ConsentStringError("not a TC string: it starts like a GPP string (header type 3)")
    else:
        raise ConsentStringError(f"not a TC string: version {version} (expected 1 or 2)")
    decoded.pop("_expanded", None)
    decoded["segments"] = decoded.pop("_segments")
    decoded["warnings"] = warnings
    return decoded


def _read_header(r: BitReader, version: int) -> dict:
    """The fields v1 and v2 core segments share, in the same order, after the version."""
    return {"version": version, "created": r.deciseconds("Created"), "last_updated": r.deciseconds("LastUpdated"),
            "cmp_id": r.int(12, "CmpId"), "cmp_version": r.int(12, "CmpVersion"),
            "consent_screen": r.int(6, "ConsentScreen"), "consent_language": r.letters(2, "ConsentLanguage"),
            "vendor_list_version": r.int(12, "VendorListVersion")}


def _decode_core(r: BitReader) -> dict:
    d = _read_header(r, 2)
    d["tcf_policy_version"] = r.int(6, "TcfPolicyVersion")
    d["is_service_specific"] = r.bool("IsServiceSpecific")
    d["use_non_standard_texts"] = r.bool("UseNonStandardTexts")  # "UseNonStandardStacks" before TCF 2.2
    d["special_feature_opt_ins"] = r.bitfield(12, "SpecialFeatureOptIns")
    d["purposes_consent"] = r.bitfield(24, "PurposesConsent")
    d["purposes_li_transparency"] = r.bitfield(24, "PurposesLITransparency")
    d["purpose_one_treatment"] = r.bool("PurposeOneTreatment")
    d["publisher_cc"] = r.letters(2, "PublisherCC")
    d["vendor_consents"], consent_encoding, consent_max = r.vendor_section("VendorConsents")
    d["vendor_legitimate_interests"], li_encoding, li_max = r.vendor_section("VendorLegitimateInterests")
    d["publisher_restrictions"] = _publisher_restrictions(r)
    d["encoding"] = {"vendor_consents": consent_encoding, "vendor_legitimate_interests": li_encoding}
    d["max_vendor_id"] = {"vendor_consents": consent_max, "vendor_legitimate_interests": li_max}
    d["disclosed_vendors"] = None
    d["allowed_vendors"] = None
    d["publisher_tc"] = None
    d["_segments"] = ["core"]
    d["_expanded"] = r.expanded
    return d


def _publisher_restrictions(r: BitReader) -> list[dict]:
    merged: dict[tuple[int, int], set[int]] = {}
    for _ in range(r.int(12, "NumPubRestrictions")):
        purpose = r.int(6, "PurposeId")
        kind = r.int(2, "RestrictionType")
        merged.setdefault((purpose, kind), set()).update(r.id_range("PubRestrictionEntry"))
    return [{"purpose": purpose, "restriction_type": kind, "restriction": RESTRICTION_TYPES[kind],
             "vendors": sorted(vendors)} for (purpose, kind), vendors in sorted(merged.items())]


def _decode_segment(decoded: dict, segment: str, index: int, warnings: list[str]) -> None:
    r = BitReader(segment, f"TC string segment {index}")
    r.expanded = decoded.get("_expanded", 0)  # one budget for the whole string
    kind = r.int(3, "SegmentType")
    name = SEGMENTS.get(kind)
    if name in ("disclosed_vendors", "allowed_vendors"):
        ids, encoding, _ = r.vendor_section(name)
        if decoded[name] is not None:
            warnings.append(f"segment {index}: a second {name} segment, merged")
            ids = sorted(set(ids) | set(decoded[name]))
        decoded[name] = ids
        decoded["encoding"][name] = encoding
    elif name == "publisher_tc":
        pub = {"purposes_consent": r.bitfield(24, "PubPurposesConsent"),
               "purposes_li_transparency": r.bitfield(24, "PubPurposesLITransparency")}
        custom = r.int(6, "NumCustomPurposes")
        pub["num_custom_purposes"] = custom
        pub["custom_purposes_consent"] = r.bitfield(custom, "CustomPurposesConsent")
        pub["custom_purposes_li_transparency"] = r.bitfield(custom, "CustomPurposesLITransparency")
        decoded["publisher_tc"] = pub
    else:
        warnings.append(f"segment {index}: segment type {kind} is not defined, ignored")
        name = None
    if name and name not in decoded["_segments"]:
        decoded["_segments"].append(name)
    decoded["_expanded"] = r.expanded


def _decode_v1(r: BitReader) -> dict:
    """Legacy TCF v1.1 consent string (deprecated in 2020, still found in old cookies)."""
    d = _read_header(r, 1)
    d["purposes_consent"] = r.bitfield(24, "PurposesAllowed")
    max_id = r.int(16, "MaxVendorId")
    if r.bool("EncodingType"):
        # v1 ranges list the exceptions to DefaultConsent, not the consented vendors
        default_consent = r.bool("DefaultConsent")
        listed = set(r.id_range("VendorRange"))
        r.count_expanded(max_id)  # the list below spans every id up to MaxVendorId: the same budget as ranges
        vendors = [v for v in range(1, max_id + 1) if (v in listed) != default_consent]
        encoding = "range"
    else:
        vendors = r.bitfield(max_id, "BitField")
        encoding = "bitfield"
    d.update({"tcf_policy_version": None, "is_service_specific": None, "use_non_standard_texts": None,
              "special_feature_opt_ins": [], "purposes_li_transparency": [], "purpose_one_treatment": None,
              "publisher_cc": None, "vendor_consents": vendors, "vendor_legitimate_interests": [],
              "publisher_restrictions": [], "encoding": {"vendor_consents": encoding},
              "max_vendor_id": {"vendor_consents": max_id}, "disclosed_vendors": None,
              "allowed_vendors": None, "publisher_tc": None, "_segments": ["core"]})
    return d
