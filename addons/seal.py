"""Fail closed: what a flow's record keeps when its redaction failed (a stage raised, or the budget ran out).

Every text of the record that came from the flow becomes `PLACEHOLDER`; the columns in `KEPT_WHEN_SEALED` stay
because mouchard or the network chose them, not the flow's content (method, host, status, sizes, hashes). The
database, which is what gets published, then holds no raw text of the flow.
"""

from __future__ import annotations

from typing import Protocol

from mouchard.budget import REDACTION_FAILED as PLACEHOLDER  # kept instead of each raw text of a sealed flow

# Columns a sealed record keeps (not personal: chosen by mouchard or by the network, not by the flow's content).
KEPT_WHEN_SEALED = {
    "flows": frozenset({"kind", "client", "started_at", "method", "host", "site", "http_version", "status",
                        "request_size", "response_size", "request_body_sha256", "response_body_sha256",
                        "websocket_messages", "analysis", "app_source"}),
    "leaks": frozenset({"identifier", "location", "destination_host", "destination_site", "third_party",
                        "precision_m", "lat", "lon"}),
    "cookies": frozenset({"site", "expires_at", "lifetime_days", "session", "http_only", "secure", "same_site",
                          "partitioned", "priority", "requested_expires_at", "requested_lifetime_days", "third_party", "set_by", "identifier", "identifier_reason",
                          "before_consent"}),
    "rtb": frozenset({"event", "library", "exchange", "cpm", "currency", "timeout_ms", "won", "personal_fields"}),
    "id_syncs": frozenset({"from_site", "from_entity", "to_site", "to_entity", "identifier_sha256", "location",
                           "cookie_id"}),
}
_CHAIN_COLUMNS = {"leaks": "chain", "id_syncs": "encoding"}
_DATA_STEPS = ("json:", "json-key:", "multipart:")  # chain steps that quote the flow (a JSON path, a part name)


class SealableRecord(Protocol):
    """What sealing needs of a flow's record (`addons.pipeline.FlowRecord` is one; the pipeline imports this
    module, so this module names the shape, not the class)."""

    flow: dict
    leaks: list[dict]
    cookies: list[dict]
    rtb: list[dict]
    id_syncs: list[dict]
    matches: list


def seal(record: SealableRecord) -> None:
    """Fail closed: every text of the record that came from the flow becomes PLACEHOLDER (see KEPT_WHEN_SEALED).

    Raw bodies kept with `mouchard_keep_bodies` stay in the evidence folder: that folder is the raw evidence by
    design; the database, which is what gets published, keeps no raw text of the flow.
    """
    _seal_row(record.flow, "flows")
    if record.flow.get("app_source") != "option":
        record.flow["app"] = PLACEHOLDER if record.flow.get("app") else record.flow.get("app")
    for table, rows in (("leaks", record.leaks), ("cookies", record.cookies), ("rtb", record.rtb),
                        ("id_syncs", record.id_syncs)):
        for row in rows:
            _seal_row(row, table)
    record.matches = []


def _seal_row(row: dict, table: str) -> None:
    kept = KEPT_WHEN_SEALED.get(table, frozenset())
    chain = _CHAIN_COLUMNS.get(table)
    for key, value in list(row.items()):
        if key in kept or key.startswith("_") or key.startswith("tracker_") or value in (None, "", [], {}):
            continue
        if key == chain and isinstance(value, str):
            row[key] = ">".join(step.split(":", 1)[0] + ":" + PLACEHOLDER if step.startswith(_DATA_STEPS) else step
                                for step in value.split(">"))
        elif key.endswith("_headers") and isinstance(value, list):
            row[key] = [[PLACEHOLDER, PLACEHOLDER]]
        elif isinstance(value, dict):
            row[key] = {"redaction": "failed"}
        elif isinstance(value, (list, tuple)):
            row[key] = [PLACEHOLDER]
        elif isinstance(value, str):
            row[key] = PLACEHOLDER
