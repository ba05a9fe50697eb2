"""Session replay: the services that record what a visitor does on a page, and the payloads recorders send.

Two signs, either enough:
- a known service (`SERVICES`): its recorder script was loaded and data went to its collection hosts;
- an rrweb-style payload (`replay_payload`): the open-source recorder behind PostHog, Sentry Replay, Highlight,
  OpenReplay and many in-house tools sends events `{type, data, timestamp}` where type 2 is a full DOM snapshot
  (`data.node`) and type 3 an incremental one (`data.source`: 0 DOM mutation with adds/removes/texts/attributes,
  1 mouse moves, 2 clicks, 3 scroll, 5 input...). Found in JSON, NDJSON, and gzip/deflate/brotli or base64
  wrappings, at any depth (PostHog nests them in `$snapshot_data`, each event's data gzipped in a string).

Host and path patterns: `host/prefix` where host may start with `*.` (the domain and its subdomains) and the
path prefix is optional. Facts about the services are from their public documentation and tags.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import urllib.parse
from dataclasses import dataclass

from mouchard.decode.domains import host_of, under
from mouchard.identify.leakdetect import decompress

MAX_BODY = 8 * 1024 * 1024  # bytes of a body examined
MAX_NODES = 200_000  # JSON nodes walked per body
SNAPSHOT, INCREMENTAL = 2, 3
MUTATION_KEYS = frozenset({"adds", "removes", "texts", "attributes"})


@dataclass(frozen=True)
class ReplayService:
    name: str
    entity: str
    scripts: tuple[str, ...]  # recorder script URL patterns
    collectors: tuple[str, ...]  # where recordings are sent


SERVICES: tuple[ReplayService, ...] = (
    ReplayService("Hotjar", "Hotjar", ("static.hotjar.com/c/hotjar-", "script.hotjar.com/modules"),
                  ("*.hotjar.com", "*.hotjar.io")),
    ReplayService("FullStory", "FullStory", ("*.fullstory.com/s/fs.js",), ("*.fullstory.com",)),
    ReplayService("Mouseflow", "Mouseflow", ("cdn.mouseflow.com/projects/",), ("*.mouseflow.com",)),
    ReplayService("Smartlook", "Cisco", ("web-sdk.smartlook.com/", "rec.smartlook.com/"),
                  ("*.smartlook.com", "*.smartlook.cloud")),
    ReplayService("Lucky Orange", "Lucky Orange", ("*.luckyorange.com/", "*.luckyorange.net/"),
                  ("*.luckyorange.com", "*.luckyorange.net")),
    ReplayService("Microsoft Clarity", "Microsoft", ("www.clarity.ms/tag/", "scripts.clarity.ms/"),
                  ("*.clarity.ms",)),
    ReplayService("LogRocket", "LogRocket", ("cdn.logrocket.io/", "cdn.lr-ingest.io/", "cdn.lr-in.com/",
                                             "cdn.lr-ingest.com/"),
                  ("*.logrocket.io", "*.lr-ingest.io", "*.lr-in.com", "*.lr-ingest.com")),
    ReplayService("Contentsquare", "Contentsquare", ("t.contentsquare.net/uxa/",), ("*.contentsquare.net",)),
    ReplayService("Yandex Metrica Webvisor", "Yandex", ("mc.yandex.ru/metrika/", "mc.yandex.com/metrika/"),
                  ("mc.yandex.ru/webvisor/", "mc.yandex.com/webvisor/")),
    ReplayService("Inspectlet", "Inspectlet", ("cdn.inspectlet.com/",), ("*.inspectlet.com",)),
    ReplayService("Crazy Egg", "Crazy Egg", ("script.crazyegg.com/pages/scripts/",
                                             "dnn506yrbagrg.cloudfront.net/pages/scripts/"),
                  ("*.crazyegg.com", "*.cetrk.com")),
    ReplayService("SessionCam", "SessionCam", ("*.sessioncam.com/", "d2oh4tlt9mrke9.cloudfront.net/Record/"),
                  ("*.sessioncam.com",)),
    ReplayService("Quantum Metric", "Quantum Metric", ("cdn.quantummetric.com/",), ("*.quantummetric.com",)),
    ReplayService("Decibel", "Medallia", ("cdn.decibelinsight.net/",), ("*.decibelinsight.net",)),
    ReplayService("Glassbox", "Glassbox", ("cdn.gbqofs.com/",), ("*.gbqofs.com", "*.gbqofs.io")),
)


def matches(url: str, pattern: str) -> bool:
    """Whether `url` fits `host/prefix` (`*.` = the domain and its subdomains; no prefix = any path)."""
    host_pattern, slash, prefix = pattern.partition("/")
    host = host_of(url)
    if host_pattern.startswith("*."):
        domain = host_pattern[2:]
        if not under(host, domain):
            return False
    elif host != host_pattern:
        return False
    if not slash:
        return True
    try:
        path = urllib.parse.urlsplit(url).path or "/"
    except ValueError:
        return False
    return path.startswith("/" + prefix)


def service_of_script(url: str) -> ReplayService | None:
    """The replay service whose recorder script this URL is, if any."""
    return next((s for s in SERVICES if any(matches(url, p) for p in s.scripts)), None)


def service_of_collector(url: str) -> ReplayService | None:
    """The replay service that collects recordings at this URL, if any."""
    return next((s for s in SERVICES if any(matches(url, p) for p in s.collectors)), None)


@dataclass(frozen=True)
class ReplayPayload:
    """rrweb-style events found in one body."""

    events: int
    snapshots: int
    mutations: int
    inputs: int


_TEXT_SIGNATURE = re.compile(rb'"type"\s*:\s*[23]\s*,\s*"data"\s*:\s*\{\s*"(?:node|source)"')
_BASE64 = re.compile(rb"[A-Za-z0-9+/_-]{64,}={0,2}")


def _is_event(node: object) -> bool:
    return (isinstance(node, dict) and isinstance(node.get("type"), int) and 0 <= node["type"] <= 6
            and "timestamp" in node and isinstance(node.get("data"), dict))


def _inflated(node: object) -> object:
    """posthog-js compresses each snapshot event's `data` ("cv": "2024-10"): gzip bytes as a latin-1 string.
    The event with its data decoded (within MAX_BODY), else the node unchanged."""
    data = node.get("data") if isinstance(node, dict) else None
    if not (isinstance(data, str) and data.startswith("\x1f\x8b") and len(data) <= MAX_BODY):
        return node
    try:
        raw = data.encode("latin-1")
    except UnicodeEncodeError:
        return node
    inner = _json(decompress(raw, None, limit=MAX_BODY)[0])
    return {**node, "data": inner} if isinstance(inner, dict) else node


def _count(doc: object) -> ReplayPayload | None:
    events = snapshots = mutations = inputs = 0
    todo, seen = [doc], 0
    while todo and seen < MAX_NODES:
        node = _inflated(todo.pop())
        seen += 1
        if _is_event(node):
            events += 1
            data = node["data"]
            if node["type"] == SNAPSHOT and isinstance(data.get("node"), dict):
                snapshots += 1
            elif node["type"] == INCREMENTAL and data.get("source") == 0 and MUTATION_KEYS & set(data):
                mutations += 1
            elif node["type"] == INCREMENTAL and data.get("source") == 5:
                inputs += 1
            continue
        if isinstance(node, dict):
            todo.extend(v for v in node.values() if isinstance(v, (dict, list, str)))
        elif isinstance(node, list):
            todo.extend(v for v in node if isinstance(v, (dict, list, str)))
        elif isinstance(node, str) and len(node) > 20 and node.lstrip()[:1] in ("[", "{"):
            inner = _json(node.encode("utf-8", "replace"))  # JSON in a JSON string ($snapshot_data...)
            if inner is not None:
                todo.append(inner)
    if snapshots or mutations or inputs:
        return ReplayPayload(events, snapshots, mutations, inputs)
    return None


def _json(data: bytes) -> object | None:
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        return None


def _documents(data: bytes) -> list[object]:
    doc = _json(data)
    if doc is not None:
        return [doc]
    docs = [_json(line) for line in data.splitlines() if line.strip()[:1] in (b"{", b"[")]
    return [d for d in docs if d is not None]


def replay_payload(body: bytes | None, content_type: str | None = None,
                   content_encoding: str | None = None) -> ReplayPayload | None:
    """rrweb-style recording events in a request body (see the module docstring), or None."""
    if not body:
        return None
    data, _ = decompress(body[:MAX_BODY], content_encoding)
    if (content_type or "").lower().startswith("application/x-www-form-urlencoded"):
        fields = urllib.parse.parse_qsl(data.decode("utf-8", "replace"))
        data = b"\n".join(v.encode("utf-8") for _, v in fields)
    for candidate in (data, *_unwrapped(data)):
        found = [f for f in map(_count, _documents(candidate)) if f]
        if found:
            return ReplayPayload(*(sum(getattr(f, k) for f in found)
                                   for k in ("events", "snapshots", "mutations", "inputs")))
    hits = len(_TEXT_SIGNATURE.findall(data))
    return ReplayPayload(hits, 0, hits, 0) if hits else None


def _unwrapped(data: bytes) -> list[bytes]:
    """Base64 blobs of a body, decoded and decompressed (a few recorders wrap their JSON this way)."""
    out = []
    for match in _BASE64.finditer(data[:MAX_BODY]):
        text = match[0].rstrip(b"=").replace(b"-", b"+").replace(b"_", b"/")
        try:
            raw = base64.b64decode(text + b"=" * (-len(text) % 4), validate=True)
        except (binascii.Error, ValueError):
            continue
        out.append(decompress(raw, None)[0])
        if len(out) >= 8:
            break
    return out
