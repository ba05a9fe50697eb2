"""DetectSessionReplay: scripts that record the visitor's session and ship it to a collector.

From the visit's request rows (no page access): a request that ships data (POST, XHR, fetch, beacon, WebSocket)
to a known replay service's collection host (`mouchard.detect.replay.SERVICES`), or whose body holds rrweb-style
recording events (`mouchard.detect.replay.replay_payload`: DOM snapshots, mutations, inputs). The script that sent it
(the request's initiator) is marked, and so is the service's recorder script when the page loaded one.

Recorded in `scripts`: `session_replay` = 1, and (proposed columns, kept out until the schema has them)
`session_replay_service` (service name, or 'rrweb' for an unknown collector recognised by its payload) and
`session_replay_hosts` (collection hosts, JSON list). Must run before RecordFingerprinting, which writes the
`scripts` rows.
"""

from __future__ import annotations

import json
from typing import Any

from crawler.collectors.base import Collector, Rows, VisitContext
from crawler.collectors.fingerprinting import mark_script
from crawler.collectors.wire import sent_requests
from mouchard.detect.replay import replay_payload, service_of_collector, service_of_script

SHIPPING_TYPES = frozenset({"xhr", "fetch", "ping", "beacon", "websocket", "eventsource"})


class DetectSessionReplay(Collector):
    """Marks session-replay scripts for the `scripts` rows (see the module docstring)."""

    name = "replay"
    order = 600  # position among the default collectors (crawler/collectors/__init__.py)
    switch = "session_replay"  # the CollectorSettings field that turns it off
    tables = ()

    @classmethod
    def from_crawler(cls, crawler: Any) -> "DetectSessionReplay":
        from crawler.settings import require_switch

        require_switch(crawler.settings, cls)
        return cls()

    async def collect(self, visit: VisitContext) -> Rows:
        loaded: dict[str, list[str]] = {}  # service name -> recorder script URLs loaded
        found: dict[str, dict] = {}  # script URL -> {"service": ..., "hosts": set()}
        requests = sent_requests(visit.requests)
        for request in requests:
            if request.row.get("resource_type") == "script":
                service = service_of_script(request.url)
                if service:
                    loaded.setdefault(service.name, []).append(request.url)
        for request in requests:
            row = request.row
            if row.get("method") != "POST" and row.get("resource_type") not in SHIPPING_TYPES:
                continue
            service = service_of_collector(request.url)
            payload = replay_payload(request.body, request.content_type, request.content_encoding)
            if service is None and payload is None:
                continue
            name = service.name if service else "rrweb"
            scripts = [row.get("initiator_url")] + (loaded.get(service.name, []) if service else [])
            for script in filter(None, scripts):
                mark = found.setdefault(script, {"service": name, "hosts": set()})
                mark["hosts"].add(row.get("host") or "")
            visit.count("replay/requests")
        for script, mark in found.items():
            mark_script(visit, script, session_replay=1, session_replay_service=mark["service"],
                        session_replay_hosts=json.dumps(sorted(h for h in mark["hosts"] if h)))
        visit.count("replay/scripts", len(found))
        return {}
