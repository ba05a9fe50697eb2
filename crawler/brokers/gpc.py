"""A site's Global Privacy Control statement: `/.well-known/gpc.json` (`{"gpc": true, "lastUpdate": "..."}`).

The GPC specification lets a site declare that it honours the `Sec-GPC: 1` signal. A missing or malformed file
does not prove a site ignores the signal (audit rule `brokers.no-gpc-support` reports it as a lead); whether it
does is a browser measurement: the browser crawl's `initial` and `gpc` visits of the broker's home page, judged by
audit rule `brokers.gpc-ignored` (audits/rules/brokers.py).
"""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass

WELL_KNOWN = "/.well-known/gpc.json"
MAX_BODY = 16 * 1024  # a statement is a few bytes; keep at most this much of whatever was served


@dataclass(frozen=True)
class GpcStatement:
    """What /.well-known/gpc.json said: gpc is 'true', 'false', 'missing' or 'invalid'."""

    url: str
    http_status: int | None
    gpc: str
    last_update: str | None
    raw: str | None


def gpc_url(site_url: str) -> str:
    """The statement's URL for a site (its origin + /.well-known/gpc.json)."""
    parts = urllib.parse.urlsplit(site_url)
    return urllib.parse.urlunsplit((parts.scheme or "https", parts.netloc, WELL_KNOWN, "", ""))


def read_statement(url: str, http_status: int | None, body: bytes | None) -> GpcStatement:
    """Judge a fetched statement: 2xx with a JSON object carrying a boolean `gpc` is valid, 404 is missing."""
    raw = body[:MAX_BODY].decode("utf-8", "replace") if body else None
    if http_status is None or not 200 <= http_status < 300:
        return GpcStatement(url, http_status, "missing", None, raw)
    try:
        doc = json.loads(raw or "")
    except ValueError:
        return GpcStatement(url, http_status, "invalid", None, raw)
    if not isinstance(doc, dict) or not isinstance(doc.get("gpc"), bool):
        return GpcStatement(url, http_status, "invalid", None, raw)
    last = doc.get("lastUpdate")
    return GpcStatement(url, http_status, "true" if doc["gpc"] else "false", str(last) if last else None, raw)
