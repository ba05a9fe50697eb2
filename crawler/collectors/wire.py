"""What a recorded request carried, as the detectors search it: URL, headers, body and its encodings.

The network collector (crawler/collectors/network.py) keeps request rows in `visit.requests`, with the POST body
under `_body` and a `_ref` that other tables use to point at the row (`Ref("requests", row["_ref"])`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from crawler.collectors.base import Ref
from mouchard.budget import Budget, failure_detail, scan_each
from mouchard.decode.domains import host_of
from mouchard.storage.store import failure_row


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


def request_size(request: Sent) -> int:
    """What a detector reads of one request (its budget is scaled on it)."""
    return len(request.url) + len(request.body or b"") + sum(len(k) + len(v) for k, v in request.headers)


async def scan_requests(component: str, requests: list[Sent], scan: Callable[[Sent, Budget], Any],
                        unsearched: str) -> tuple[list[tuple[Sent, Any]], list[dict]]:
    """Run `scan(request, budget)` on each request with its own budget, in a worker thread: the search is CPU
    work on hostile bodies and must never hold the crawler's event loop. Returns (request, result) pairs and the
    `failures` rows of the scans that raised or ran out of budget (naming only the host: no raw data);
    `unsearched` says what a truncated scan did not look for."""
    scanned = await asyncio.to_thread(scan_each, requests, request_size, scan)
    results, failures = [], []
    for request, result, budget, error in scanned:
        host = request.row.get("host") or host_of(request.url)
        if error is not None:
            failures.append(failure_row(component, "collector-error", failure_detail(error, f"request to {host}")))
        elif budget.exhausted:
            failures.append(failure_row(component, "analysis-truncated",
                                        f"request to {host}: analysis budget ran out ({budget.reason}); "
                                        f"{unsearched} after that point were not searched"))
        results.append((request, result or ()))
    return results, failures
