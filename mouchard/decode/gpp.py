"""IAB Global Privacy Platform (GPP) strings and US Privacy (CCPA) strings.

Written against the GPP "Consent String Specification" (v1): sections joined by "~", the first is the header
(Type int(6) = 3, Version int(6), section ids as a Fibonacci range); each section is base64url decoded 6 bits
per character, not byte-aligned, and may hold "."-separated sub-sections. Section layouts follow the
IAB Privacy US National (MSPA) and state technical specifications; the US Privacy string follows the
IAB "U.S. Privacy String" specification (version, notice, opt-out of sale, LSPA covered).
"""

from __future__ import annotations

import re
import urllib.parse

from mouchard.decode.tcf import MAX_STRING, BitReader, ConsentStringError, clean_string, decode_tc_string

SECTION_NAMES = {
    1: "tcfeuv1", 2: "tcfeuv2", 3: "header", 4: "signal_integrity", 5: "tcfcav1", 6: "uspv1", 7: "usnat",
    8: "usca", 9: "usva", 10: "usco", 11: "usut", 12: "usct", 13: "usfl", 14: "usmt", 15: "usor", 16: "ustx",
    17: "usde", 18: "usia", 19: "usne", 20: "usnh", 21: "usnj", 22: "ustn", 23: "usmn", 24: "usmd",
    25: "usin", 26: "usky", 27: "usri",
}
MAX_SECTION_ID = 1000  # ids are small integers; a Fibonacci range can otherwise claim billions

# Field layouts: (name, count); every field is Int(2) except `version`, Int(6). A count makes an
# N-Bitfield(2, count), read as a list of 2-bit values (0 not applicable, 1 and 2 as the section defines).
_MSPA = (("mspa_covered_transaction", None), ("mspa_opt_out_option_mode", None),
         ("mspa_service_provider_mode", None))


def _usnat(sensitive: int, child: int) -> tuple:
    return (("version", None), ("sharing_notice", None), ("sale_opt_out_notice", None),
            ("sharing_opt_out_notice", None), ("targeted_advertising_opt_out_notice", None),
            ("sensitive_data_processing_opt_out_notice", None), ("sensitive_data_limit_use_notice", None),
            ("sale_opt_out", None), ("sharing_opt_out", None), ("targeted_advertising_opt_out", None),
            ("sensitive_data_processing", sensitive), ("known_child_sensitive_data_consents", child),
            ("personal_data_consents", None), *_MSPA)


def _state_2024(notice: str, sensitive: int, child: int | None, *, sensitive_notice: bool = False,
                additional: bool = True) -> tuple:
    """The layout of the state sections published from 2024 (Florida to Minnesota) and Montana's."""
    return (("version", None), (notice, None), ("sale_opt_out_notice", None),
            ("targeted_advertising_opt_out_notice", None),
            *((("sensitive_data_opt_out_notice", None),) if sensitive_notice else ()),
            ("sale_opt_out", None), ("targeted_advertising_opt_out", None),
            ("sensitive_data_processing", sensitive), ("known_child_sensitive_data_consents", child),
            *((("additional_data_processing_consent", None),) if additional else ()), *_MSPA)


USNAT_V1 = _usnat(12, 2)  # December 2022
USNAT_V2 = _usnat(16, 3)  # August 2024 (MSPA second amendment: more states, more sensitive categories)
US_SECTIONS: dict[int, tuple] = {
    8: (("version", None), ("sale_opt_out_notice", None), ("sharing_opt_out_notice", None),
        ("sensitive_data_limit_use_notice", None), ("sale_opt_out", None), ("sharing_opt_out", None),
        ("sensitive_data_processing", 9), ("known_child_sensitive_data_consents", 2),
        ("personal_data_consents", None), *_MSPA),
    9: (("version", None), ("sharing_notice", None), ("sale_opt_out_notice", None),
        ("targeted_advertising_opt_out_notice", None), ("sale_opt_out", None),
        ("targeted_advertising_opt_out", None), ("sensitive_data_processing", 8),
        ("known_child_sensitive_data_consents", None), *_MSPA),
    10: (("version", None), ("sharing_notice", None), ("sale_opt_out_notice", None),
         ("targeted_advertising_opt_out_notice", None), ("sale_opt_out", None),
         ("targeted_advertising_opt_out", None), ("sensitive_data_processing", 7),
         ("known_child_sensitive_data_consents", None), *_MSPA),
    11: (("version", None), ("sharing_notice", None), ("sale_opt_out_notice", None),
         ("targeted_advertising_opt_out_notice", None), ("sensitive_data_processing_opt_out_notice", None),
         ("sale_opt_out", None), ("targeted_advertising_opt_out", None), ("sensitive_data_processing", 8),
         ("known_child_sensitive_data_consents", None), *_MSPA),
    12: (("version", None), ("sharing_notice", None), ("sale_opt_out_notice", None),
         ("targeted_advertising_opt_out_notice", None), ("sale_opt_out", None),
         ("targeted_advertising_opt_out", None), ("sensitive_data_processing", 8),
         ("known_child_sensitive_data_consents", 3), *_MSPA),
    13: _state_2024("processing_notice", 8, 3),                          # Florida
    14: _state_2024("sharing_notice", 8, 3),                             # Montana
    15: _state_2024("processing_notice", 11, 3),                         # Oregon
    16: _state_2024("processing_notice", 8, None),                       # Texas
    17: _state_2024("processing_notice", 9, 5),                          # Delaware
    18: _state_2024("processing_notice", 8, None, sensitive_notice=True, additional=False),  # Iowa
    19: _state_2024("processing_notice", 8, None),                       # Nebraska
    20: _state_2024("processing_notice", 8, 3),                          # New Hampshire
    21: _state_2024("processing_notice", 10, 5),                         # New Jersey
    22: _state_2024("processing_notice", 8, None),                       # Tennessee
    23: _state_2024("processing_notice", 8, None),                       # Minnesota
}

_USP = re.compile(r"^([0-9])([YNyn-])([YNyn-])([YNyn-])$")
_USP_FLAG = {"Y": True, "N": False, "-": None}


def decode_gpp_string(value: str | bytes) -> dict:
    """Decode a GPP string: header (version, section ids) and every section, raw and decoded.

    Sections that cannot be decoded keep their raw text with an `error`; only a bad header raises
    ConsentStringError. Decoded: tcfeuv2 (via the TCF decoder), uspv1, usnat and the state sections 8-23
    (California to Minnesota); tcfcav1 and the sections from 24 on keep their raw text.
    """
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    if not isinstance(text, str):
        raise ConsentStringError(f"GPP string: expected text, got {type(value).__name__}")
    if len(text) > 3 * MAX_STRING:  # refused before any work: URL-decoding shrinks text at most threefold
        raise ConsentStringError(f"GPP string: {len(text)} characters, more than the {MAX_STRING} accepted")
    text = text.strip().strip("\"'")
    if "%" in text:  # a whole GPP string URL-encoded once, as cookies and query strings carry it
        text = urllib.parse.unquote(text)
    if len(text) > MAX_STRING:
        raise ConsentStringError(f"GPP string: {len(text)} characters, more than the {MAX_STRING} accepted")
    parts = text.split("~")
    header_text, warnings = clean_string(parts[0], "GPP header")
    header = BitReader(header_text, "GPP header")
    kind = header.int(6, "Type")
    if kind != 3:
        hint = " (a TC string starts with C)" if kind == 2 else ""
        raise ConsentStringError(f"not a GPP string: header type {kind}, expected 3{hint}")
    version = header.int(6, "Version")
    section_ids = fibonacci_range(header, "SectionIds")
    raw_sections = parts[1:]
    if len(raw_sections) != len(section_ids):
        warnings.append(f"header lists {len(section_ids)} sections, string has {len(raw_sections)}")
    sections = []
    for section_id, raw in zip(section_ids, raw_sections):
        sections.append(_section(section_id, raw))
    return {"version": version, "section_ids": section_ids, "sections": sections, "warnings": warnings}


def gpp_section(decoded_gpp: dict, name_or_id: str | int) -> dict | None:
    """The decoded fields of one section (by name like "usnat" or by id), or None when absent or broken."""
    for section in decoded_gpp.get("sections", ()):
        if name_or_id in (section["id"], section["name"]):
            return section["decoded"]
    return None


def _section(section_id: int, raw: str) -> dict:
    entry = {"id": section_id, "name": SECTION_NAMES.get(section_id, f"section{section_id}"), "raw": raw,
             "decoded": None, "error": None}
    try:
        if section_id == 2:
            entry["decoded"] = decode_tc_string(raw)
        elif section_id == 6:
            entry["decoded"] = decode_us_privacy(raw)
        elif section_id == 7 or section_id in US_SECTIONS:
            entry["decoded"] = _decode_us_section(section_id, raw)
        else:
            entry["error"] = "section not decoded by mouchard (raw text kept)"
    except ConsentStringError as exc:
        entry["error"] = str(exc)
    return entry


def _decode_us_section(section_id: int, raw: str) -> dict:
    name = SECTION_NAMES[section_id]
    text, warnings = clean_string(raw, name)
    core_text, *subsections = text.split(".")
    core = BitReader(core_text, f"{name} core")
    if section_id == 7:
        # Both usnat layouts are in use and early encoders wrote the newer one with Version 1,
        # so the layout follows the segment's length: 60 bits (10 characters) or 70 (12 characters).
        layout = USNAT_V2 if len(core.bits) >= _layout_bits(USNAT_V2) else USNAT_V1
    else:
        layout = US_SECTIONS[section_id]
    decoded: dict = {}
    for field, count in layout:
        width = 6 if field == "version" else 2
        if count is None:
            decoded[field] = core.int(width, field)
        else:
            decoded[field] = [core.int(width, field) for _ in range(count)]
    decoded["gpc"] = None
    for index, sub in enumerate(subsections, start=2):
        reader = BitReader(sub, f"{name} sub-section {index}")
        subsection_type = reader.int(2, "SubsectionType")
        if subsection_type == 1:
            decoded["gpc"] = reader.bool("Gpc")
        else:
            warnings.append(f"sub-section {index}: unknown type {subsection_type}, ignored")
    decoded["warnings"] = warnings
    return decoded


def _layout_bits(layout: tuple) -> int:
    return sum((6 if field == "version" else 2) * (count or 1) for field, count in layout)


def fibonacci_int(r: BitReader, field: str) -> int:
    """A Fibonacci-coded integer: bits weigh 1, 2, 3, 5, 8... and the code ends with two 1 bits."""
    value, weights, previous = 0, [1, 2], "0"
    position = 0
    while True:
        bit = r.take(1, field)
        if bit == "1" and previous == "1":
            return value
        if position >= len(weights):
            weights.append(weights[-1] + weights[-2])
        if bit == "1":
            value += weights[position]
        previous = bit
        position += 1
        if value > 10 ** 9 or position > 45:  # also bounds the work on a long run of zero bits
            raise ConsentStringError(f"{r.what}: {field} is not a plausible Fibonacci-coded number")


def fibonacci_range(r: BitReader, field: str) -> list[int]:
    """Range(Fibonacci): count int(12), then per item IsGroup(1), offset from the last id, [group length]."""
    ids: list[int] = []
    last = 0
    for _ in range(r.int(12, f"{field} count")):
        is_group = r.bool(f"{field} IsGroup")
        start = last + fibonacci_int(r, f"{field} offset")
        end = start + fibonacci_int(r, f"{field} length") if is_group else start
        if end > MAX_SECTION_ID:
            raise ConsentStringError(f"{r.what}: {field} id {end} is beyond {MAX_SECTION_ID}")
        ids.extend(range(start, end + 1))
        last = end
    return ids


def decode_us_privacy(value: str | bytes) -> dict:
    """Decode a US Privacy (CCPA) string like "1YNN": notice given, opted out of sale, LSPA covered.

    "Y" is True, "N" False, "-" None (not applicable). Raises ConsentStringError for anything else.
    """
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    if not isinstance(text, str):
        raise ConsentStringError(f"US Privacy string: expected text, got {type(value).__name__}")
    match = _USP.match(text.strip().strip("\"'"))
    if not match:
        raise ConsentStringError(f"not a US Privacy string: {text[:20]!r} (expected 4 characters like 1YNN)")
    version, notice, opt_out, lspa = match.groups()
    if version != "1":
        raise ConsentStringError(f"US Privacy string version {version} is not defined (expected 1)")
    return {"version": 1, "explicit_notice": _USP_FLAG[notice.upper()],
            "opt_out_sale": _USP_FLAG[opt_out.upper()], "lspa_covered": _USP_FLAG[lspa.upper()],
            "string": match.group(0).upper()}
