"""What a recorded request carried, as the detectors search it: URL, headers, body and its encodings.

The network collector (crawler/browser/network.py) keeps request rows in `visit.requests`, with the POST body
under `_body` and a `_ref` that other tables use to point at the row (`Ref("requests", row["_ref"])`).
"""

from __future__ import annotations

from dataclasses import dataclass

from crawler.collectors.base import Ref


@dataclass(frozen=True)
class Sent:
    """One request row, ready for a detector."""

    row: dict
    url: str
    headers: list[tuple[str, str]]
    body: bytes | None
    content_type: str | None
    content_encoding: str | None

    @property
    def ref(self) -> Ref | None:
        """The row's reference for `request_id` columns (None for rows without one, e.g. backfilled)."""
        return Ref("requests", self.row["_ref"]) if "_ref" in self.row else None

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)


def sent(row: dict) -> Sent:
    headers = [(str(k), str(v)) for k, v in (row.get("request_headers") or {}).items()]
    body = row.get("_body")
    if isinstance(body, str):
        body = body.encode("utf-8", "surrogatepass")
    lookup = {k.lower(): v for k, v in headers}
    return Sent(row, row.get("url") or "", headers, body or None, lookup.get("content-type"),
                lookup.get("content-encoding"))


def sent_requests(rows: list[dict]) -> list[Sent]:
    """The network requests of a visit (WebSocket handshakes included, data: and friends never recorded)."""
    return [sent(row) for row in rows if row.get("url")]
