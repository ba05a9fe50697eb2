"""What `mouchard proxy` and `mouchard import` print at the end of a run, as lines of text read from the database.

    lines = run_lines(store, crawl_id)          # flows by kind, leaks by identifier and destination, QUIC, warnings
    lines += capture_lines(result.details)       # what the conversion of a packet capture or HAR found
"""

from __future__ import annotations

import json


def run_lines(store, crawl_id: int) -> list[str]:
    """Counts of the run: flows by kind, leaks by identifier and by destination, QUIC, warnings, TLS failures."""
    kinds = store.rows("SELECT kind, count(*) AS n FROM flows WHERE crawl_id = ? GROUP BY kind ORDER BY n DESC",
                       [crawl_id])
    lines = [f"run {crawl_id}: " + (", ".join(f"{r['n']} {r['kind']}" for r in kinds) or "no flows")]
    leaks = store.rows("SELECT identifier, count(*) AS n, count(DISTINCT destination_site) AS sites FROM leaks "
                       "WHERE crawl_id = ? GROUP BY identifier ORDER BY n DESC", [crawl_id])
    lines += [f"  {r['identifier']}: {r['n']} leak(s) to {r['sites']} site(s)" for r in leaks]
    top = store.rows("SELECT destination_site AS site, coalesce(tracker_entity, '?') AS entity, count(*) AS n "
                     "FROM leaks WHERE crawl_id = ? GROUP BY 1, 2 ORDER BY n DESC LIMIT 10", [crawl_id])
    if top:
        lines.append("  destinations: " + ", ".join(f"{r['site']} ({r['entity']}) {r['n']}" for r in top))
    quic = store.rows("SELECT error LIKE 'QUIC blocked%' AS blocked, count(*) AS n FROM flows WHERE crawl_id = ? "
                      "AND kind = 'quic' GROUP BY 1", [crawl_id])
    lines += [f"  {r['n']} QUIC attempt(s) blocked: apps fall back to TCP, recorded there" if r["blocked"] else
              f"  {r['n']} QUIC connection(s) UNREAD: their traffic is missing from this capture" for r in quic]
    http3 = store.count("flows", "crawl_id = ? AND http_version = 'HTTP/3'", [crawl_id])
    if http3:
        lines.append(f"  {http3} HTTP/3 flow(s) recorded")
    warnings = store.rows("SELECT warnings FROM crawls WHERE id = ?", [crawl_id])[0]["warnings"]
    lines += [f"  warning: {warning}" for warning in json.loads(warnings or "[]")]
    pinned = store.count("flows", "crawl_id = ? AND kind = 'tls-failure'", [crawl_id])
    if pinned:
        lines.append(f"  {pinned} TLS handshake(s) refused by the app (certificate pinning?)")
    return lines


def destination_lines(store, crawl_id: int, what: str) -> list[str]:
    """Under a destinations-only import (an iOS App Privacy Report, a PCAPdroid connections export): data and
    sensor accesses, and how many lines of the `what` ("report", "export") were not imported."""
    lines = []
    accesses = store.rows("SELECT category, count(*) AS n FROM app_accesses WHERE crawl_id = ? GROUP BY 1 "
                          "ORDER BY n DESC, 1", [crawl_id])
    if accesses:
        lines.append("  data and sensor access: " + ", ".join(f"{r['category']} {r['n']}" for r in accesses))
    bad = store.count("failures", "crawl_id = ?", [crawl_id])
    if bad:
        lines.append(f"  {bad} line(s) of the {what} not imported: see failures")
    return lines


def capture_lines(details: dict) -> list[str]:
    """What the conversion of a packet capture or HAR found (`ImportResult.details`)."""
    lines = []
    cap = details.get("capture")
    if cap:
        lines.append(f"  capture: {cap['format']}, {cap['packets']} packets, {cap['connections']} TCP connection(s): "
                     f"{cap['decrypted']} decrypted, {cap['not_decrypted']} not decrypted (no TLS key), "
                     f"{cap['clear']} in clear; {cap['quic']} QUIC; TLS keys: {cap['keylog']}")
        if cap["apps"]:
            lines.append("  apps (PCAPdroid): " + ", ".join(f"{a} ({n} connection(s))" for a, n in cap["apps"].items()))
        lines += [f"  capture problem: {problem}" for problem in cap["problems"][:10]]
    har = details.get("har")
    if har:
        lines.append(f"  HAR from {har['creator']}: {har['entries']} entries"
                     + (f", attributed to {har['app']}" if har.get("app") else "")
                     + (f", {har['attributed_by_connections']} attributed by the connections export"
                        if har.get("attributed_by_connections") else ""))
    return lines
