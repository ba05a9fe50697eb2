"""HAR files (a browser's DevTools export, PCAPdroid's HAR export) turned into mitmproxy flows for `mouchard import`.

mitmproxy's own HAR reader (`mitmproxy.io.har.request_to_flow`, the code `mitmdump -r` runs) builds each flow;
this module adds what that reader drops, so an import keeps everything the export holds:

- WebSocket messages (`_webSocketMessages`, written by Chromium's DevTools and by PCAPdroid's HarWriter): the
  flow becomes a WebSocket flow whose messages are searched for leaks like a live capture's;
- a request that got no response (status 0: PCAPdroid's "no reply", Chromium's blocked or failed requests with
  `_error`): an error flow instead of a response with status 0;
- the browser that made the requests (creator WebInspector, Firefox...): `flow.metadata` names it (app_source
  `har`), from the entry's User-Agent (`Chrome/131.0.0.0`) or the creator's name.

Chromium's `_initiator` and `_resourceType` have no column in `flows` (they are kept in the `requests` table of
crawls); they stay in the converted flows' metadata only.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from pathlib import Path

from mouchard.errors import UserError

BROWSER_CREATORS = {"webinspector": "Chromium", "firefox": "Firefox", "chrome": "Chrome", "safari": "Safari",
                    "microsoft edge": "Edge", "brave": "Brave", "opera": "Opera"}
_BROWSER_UA = re.compile(r"\b(Edg|EdgA|OPR|SamsungBrowser|Firefox|FxiOS|CriOS|Chrome|Chromium)/([\d.]{1,30})")
_SAFARI_UA = re.compile(r"\bVersion/([\d.]{1,30}).*\bSafari/")
MAX_MESSAGES = 100_000  # WebSocket messages kept per entry
APP_SOURCE = "har"


def browser_of(creator: str, user_agent: str | None) -> str | None:
    """The browser a HAR export's entry comes from: product/version of the User-Agent, else the creator's name;
    None when the creator is not a browser (PCAPdroid, mitmproxy, Charles...)."""
    label = BROWSER_CREATORS.get(creator.strip().lower())
    if label is None:
        return None
    if user_agent:
        m = _BROWSER_UA.search(user_agent)
        if m:
            return f"{m[1]}/{m[2]}"
        m = _SAFARI_UA.search(user_agent)
        if m:
            return f"Safari/{m[1]}"
    return label


def convert_har(path: Path, out: Path, by_destination: dict[tuple[str, str], set[str]] | None = None) -> dict:
    """Write the flows of the HAR at `path` (already checked by addons.capture) to the .mitm file `out`; returns
    what crawls.config records: creator, entries, the browser, WebSocket messages and responses missing.

    `by_destination` ({(server address, host): apps}, from PCAPdroid's connections export) names the app of an entry whose
    server address and host one app alone contacted (app_source `pcapdroid`)."""
    from mitmproxy.io import FlowWriter
    from mitmproxy.io.har import request_to_flow

    data = json.loads(path.read_bytes().removeprefix(b"\xef\xbb\xbf"))
    log = data["log"]
    creator = log.get("creator") if isinstance(log, dict) else None
    creator_name = str(creator.get("name", "")) if isinstance(creator, dict) else ""
    summary = {"creator": creator_name[:80], "entries": 0, "app": None, "websocket_messages": 0, "no_response": 0,
               "attributed_by_connections": 0}
    apps = set()
    with out.open("wb") as handle:
        writer = FlowWriter(handle)
        for index, entry in enumerate(log["entries"]):
            try:
                flow = request_to_flow(entry)
            except Exception as exc:  # noqa: BLE001 - addons.capture read every entry with this code already
                raise UserError(f"{path}: HAR entry {index + 1} unreadable ({type(exc).__name__}); nothing imported"
                                ) from None
            response = entry.get("response") if isinstance(entry.get("response"), dict) else {}
            if flow.response is not None and flow.response.status_code == 0:
                reason = response.get("_error") if isinstance(response.get("_error"), str) else None
                flow.response = None
                flow.error = _error(reason or "no response in the capture", flow.request.timestamp_end)
                summary["no_response"] += 1
            summary["websocket_messages"] += _websocket(flow, entry.get("_webSocketMessages"))
            app = browser_of(creator_name, flow.request.headers.get("user-agent"))
            if app:
                flow.metadata["mouchard_app"], flow.metadata["mouchard_app_source"] = app, APP_SOURCE
                apps.add(app)
            elif by_destination:
                owner = _owner(by_destination, entry.get("serverIPAddress"), flow.request.pretty_host)
                if owner:
                    flow.metadata["mouchard_app"], flow.metadata["mouchard_app_source"] = owner, "pcapdroid"
                    summary["attributed_by_connections"] += 1
            for key in ("_resourceType", "_initiator"):
                if key in entry:
                    flow.metadata[f"har{key}"] = json.dumps(entry[key])[:4096]
            writer.add(flow)
            summary["entries"] += 1
    summary["app"] = ", ".join(sorted(apps))[:200] or None
    return summary


def _owner(by_destination: dict[tuple[str, str], set[str]], address, host: str) -> str | None:
    """The one app that contacted this server address and host, per PCAPdroid's connections export."""
    if not isinstance(address, str):
        return None
    found = by_destination.get((address.strip("[]"), host.lower()), set())
    return next(iter(found)) if len(found) == 1 else None


def _error(message: str, when: float | None):
    from mitmproxy import flow as mflow

    return mflow.Error(message[:200], when)


def _websocket(flow, messages) -> int:
    """Attach a HAR entry's `_webSocketMessages` to its flow; the number attached."""
    if not isinstance(messages, list) or not messages:
        return 0
    from mitmproxy.websocket import WebSocketData, WebSocketMessage
    from wsproto.frame_protocol import Opcode

    data = WebSocketData()
    for message in messages[:MAX_MESSAGES]:
        if not isinstance(message, dict) or not isinstance(message.get("data"), str):
            continue
        opcode = message.get("opcode", 1)
        if opcode == 2:
            try:
                content = base64.b64decode(message["data"], validate=False)
            except (binascii.Error, ValueError):
                content = message["data"].encode("utf-8", "surrogateescape")
            kind = Opcode.BINARY
        else:
            content, kind = message["data"].encode("utf-8", "surrogateescape"), Opcode.TEXT
        when = message.get("time")
        data.messages.append(WebSocketMessage(kind, message.get("type") == "send", content,
                                              float(when) if isinstance(when, (int, float)) else None))
    if not data.messages:
        return 0
    if flow.response is None:  # a WebSocket needs its 101 answer to be replayed as one
        from mitmproxy import http

        flow.response = http.Response.make(101)
        flow.error = None
    flow.websocket = data
    return len(data.messages)
