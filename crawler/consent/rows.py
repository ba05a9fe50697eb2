"""Rows of the `consent` table from readings and requests (docs/consent.md says what each row means).

`decoded` always holds the decoded string itself (TC string fields, GPP sections, US Privacy flags, or for a CMP's
own cookie {decoded, granted, denied, error}); keys starting with "_" add where it was read (`_api` for the API's
answer, `_cookie` for the cookie's attributes, `_wire` for the request it travelled in).
"""

from __future__ import annotations

import json
from typing import Any

from mouchard.decode.consent import (
    ConsentStringError, consent_cookie, consent_params_from_url, decode_gpp_string, decode_tc_string,
    decode_us_privacy, parse_additional_consent, parse_consent_cookie,
)

from crawler.consent.readers import Reading
from crawler.consent.rules import BY_CMP_ID

MAX_WIRE_ROWS = 200  # distinct (host, parameter, value) per visit; the rest are counted
URL_MAX = 500

DECODERS = {"tcf": decode_tc_string, "gpp": decode_gpp_string, "usp": decode_us_privacy,
            "ac": parse_additional_consent}
PARAMETER_FRAMEWORK = {"gdpr": "tcf", "gdpr_consent": "tcf", "us_privacy": "usp", "gpp": "gpp", "gpp_sid": "gpp",
                       "addtl_consent": "ac"}


def decode(framework: str, raw: str | None) -> dict:
    """The decoded string, or {"error": reason}; {} when there is nothing to decode."""
    decoder = DECODERS.get(framework)
    if not raw or decoder is None:
        return {}
    try:
        return decoder(raw)
    except ConsentStringError as exc:
        return {"error": str(exc)}
    except (ValueError, TypeError, KeyError) as exc:
        return {"error": f"unreadable {framework} string: {exc}"[:300]}


def as_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _row(reading: Reading, framework: str, source: str, name: str, raw: Any, decoded: dict, *,
         cmp: str | None = None, cmp_id: int | None = None, event_status: str | None = None) -> dict:
    return {"framework": framework, "source": source, "name": name, "raw": None if raw is None else str(raw),
            "decoded": as_json(decoded), "cmp": cmp, "cmp_id": cmp_id, "event_status": event_status,
            "action": reading.action, "time_ms": reading.time_ms}


def reading_rows(reading: Reading, cmp: str | None) -> list[dict]:
    """One row per signal the page held at this reading: APIs first, then consent cookies."""
    rows: list[dict] = []
    tcf = reading.apis.get("tcf")
    ping = reading.apis.get("tcf_ping")
    if isinstance(tcf, dict) or isinstance(ping, dict):
        tcf = tcf if isinstance(tcf, dict) else {}
        raw = tcf.get("tcString") or None
        decoded = decode("tcf", raw)
        cmp_id = tcf.get("cmpId") if isinstance(tcf.get("cmpId"), int) else (
            ping.get("cmpId") if isinstance(ping, dict) and isinstance(ping.get("cmpId"), int) else None)
        decoded["_api"] = {"tcData": {k: v for k, v in tcf.items() if k != "tcString"}, "ping": ping}
        rows.append(_row(reading, "tcf", "api", "__tcfapi", raw, decoded, cmp=cmp or BY_CMP_ID.get(cmp_id),
                         cmp_id=cmp_id, event_status=tcf.get("eventStatus")))
    gpp = reading.apis.get("gpp")
    if isinstance(gpp, dict):
        raw = gpp.get("gppString") or None
        decoded = decode("gpp", raw)
        decoded["_api"] = {k: v for k, v in gpp.items() if k != "gppString"}
        rows.append(_row(reading, "gpp", "api", "__gpp", raw, decoded, cmp=cmp,
                         cmp_id=gpp.get("cmpId") if isinstance(gpp.get("cmpId"), int) else None))
    usp = reading.apis.get("usp")
    if isinstance(usp, dict):
        raw = usp.get("uspString") or None
        decoded = decode("usp", raw)
        decoded["_api"] = {k: v for k, v in usp.items() if k != "uspString"}
        rows.append(_row(reading, "usp", "api", "__uspapi", raw, decoded, cmp=cmp))
    for name, cookie in sorted(reading.cookies.items()):
        known = consent_cookie(name)
        if known is None:
            continue
        value = cookie.get("value", "")
        parsed = parse_consent_cookie(name, value) or {}
        if known.framework in DECODERS:
            decoded = parsed.get("decoded") or ({"error": parsed["error"]} if parsed.get("error") else {})
        else:
            decoded = {k: parsed.get(k) for k in ("decoded", "granted", "denied", "error")}
        decoded = dict(decoded)
        decoded["_cookie"] = {k: cookie.get(k) for k in ("domain", "path", "expires", "httpOnly", "secure", "sameSite")}
        cmp_id = decoded.get("cmp_id") if known.framework == "tcf" and isinstance(decoded.get("cmp_id"), int) else None
        rows.append(_row(reading, known.framework, "cookie", name, value, decoded,
                         cmp=known.cmp or cmp or BY_CMP_ID.get(cmp_id), cmp_id=cmp_id))
    return rows


def wire_rows(requests: list[dict], action_ms: int | None, phase_action: str, cmp: str | None) -> tuple[list[dict], int]:
    """One row per distinct (host, consent parameter, value) in the visit's request URLs, first sighting kept;
    returns (rows, how many distinct ones were left out over the cap)."""
    seen: dict[tuple, dict] = {}
    dropped = 0
    for request in requests:
        url = request.get("url") or ""
        if "=" not in url:
            continue
        params = consent_params_from_url(url)
        if not params:
            continue
        host = request.get("host") or ""
        time_ms = request.get("time_ms") or 0
        for parameter, value in params.items():
            if parameter == "macros":
                continue
            raw = ",".join(str(v) for v in value) if isinstance(value, list) else str(value)
            key = (host, parameter, raw)
            if key in seen:
                seen[key]["_count"] += 1
                continue
            if len(seen) >= MAX_WIRE_ROWS:
                dropped += 1
                continue
            framework = PARAMETER_FRAMEWORK.get(parameter, "tcf")
            decoded = decode(framework, raw) if parameter not in ("gdpr", "gpp_sid") else {}
            action = phase_action if action_ms is not None and time_ms >= action_ms else "none"
            reading = Reading(time_ms=time_ms, action=action)
            row = _row(reading, framework, "wire", parameter, raw, decoded, cmp=cmp,
                       cmp_id=decoded.get("cmp_id") if isinstance(decoded.get("cmp_id"), int) else None)
            row["_wire"] = {"host": host, "url": url[:URL_MAX], "params": {k: v for k, v in params.items()
                                                                           if k not in ("gdpr_consent", "gpp")},
                            "macros": params.get("macros")}
            row["_count"] = 1
            seen[key] = row
    rows = []
    for row in seen.values():
        decoded = json.loads(row["decoded"])
        decoded["_wire"] = {**row.pop("_wire"), "requests": row.pop("_count")}
        row["decoded"] = as_json(decoded)
        rows.append(row)
    return rows, dropped


def layout_columns(layout: dict | None, screenshot_after: Any = None) -> dict:
    """The action row's `layout` (crawler/consent/layout.py, JSON) and `screenshot_after_file_id` (a Ref to the
    after-click screenshot's evidence_files row, resolved when the visit is stored)."""
    return {"layout": None if layout is None else as_json(layout), "screenshot_after_file_id": screenshot_after}
