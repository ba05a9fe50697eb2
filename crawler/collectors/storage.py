"""RecordStorage: localStorage, sessionStorage and IndexedDB databases of every frame's origin at the end of a visit.

Frames come from `Page.getFrameTree` of the page and of every out-of-process iframe; each frame's storage key
(`Storage.getStorageKeyForFrame`) names its partition, since Chromium partitions a third-party frame's storage
by the top-level site. Items are read with `DOMStorage.getDOMStorageItems` and database names with
`IndexedDB.requestDatabaseNames`: browser-side reads, no page script runs. They are read before the visit leaves
the page (`before_leave`): once the tab is on about:blank, DevTools finds no frame for the page's storage.
Writes made by the page's pagehide or unload handlers are therefore not in these rows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from crawler.browser.targets import CDPError
from crawler.collectors.base import Collector, Rows, VisitContext

if TYPE_CHECKING:
    from crawler.browser.targets import Target

VALUE_MAX = 1000  # characters of a value kept (the schema's rule); value_size keeps the full length
MAX_ITEMS = 2000  # per origin and kind


def _frames(tree: dict) -> list[dict]:
    out, todo = [], [tree]
    while todo:
        node = todo.pop()
        out.append(node.get("frame", {}))
        todo.extend(node.get("childFrames") or [])
    return out


class RecordStorage(Collector):
    """storage_items rows per origin: local and session items, IndexedDB database names."""

    name = "storage"
    order = 300  # position among the default collectors (crawler/collectors/__init__.py)
    tables = ("storage_items",)

    async def before_leave(self, visit: VisitContext) -> None:
        visit.own(RecordStorage, dict)["rows"] = await self._read(visit)

    async def collect(self, visit: VisitContext) -> Rows:
        rows = visit.own(RecordStorage, dict).pop("rows", None)
        if rows is None:  # not read before leaving (the hook failed): what can be read now
            rows = await self._read(visit)
        visit.count("storage/recorded", len(rows))
        return {"storage_items": rows}

    async def _read(self, visit: VisitContext) -> list[dict]:
        keys: dict[str, tuple["Target", str]] = {}  # storage key -> (target that owns a frame, origin)
        for target in visit.targets if visit.responsive else ():
            if target.type not in ("page", "iframe") or target.detached:
                continue
            try:
                tree = (await target.send("Page.getFrameTree", timeout=3.0)).get("frameTree", {})
            except CDPError:
                continue
            for frame in _frames(tree):
                origin = frame.get("securityOrigin") or ""
                if not origin.startswith("http"):
                    continue
                try:
                    key = (await target.send("Storage.getStorageKeyForFrame", {"frameId": frame["id"]},
                                             timeout=3.0)).get("storageKey")
                except CDPError:
                    key = None
                keys.setdefault(key or origin, (target, origin))
        rows: list[dict] = []
        for key, (target, origin) in keys.items():
            base = {"origin": origin, "site": visit.site_of(origin), "third_party": int(visit.third_party(origin))}
            for kind, local in (("local", True), ("session", False)):
                storage_id = {"storageKey": key, "isLocalStorage": local} if "://" in key and key != origin \
                    else {"securityOrigin": origin, "isLocalStorage": local}
                try:
                    entries = (await target.send("DOMStorage.getDOMStorageItems", {"storageId": storage_id},
                                                 timeout=3.0)).get("entries", [])
                except CDPError:
                    visit.count("storage/unreadable")
                    continue
                if len(entries) > MAX_ITEMS:
                    visit.count("storage/items_over_limit", len(entries) - MAX_ITEMS)
                for name, value in entries[:MAX_ITEMS]:
                    rows.append({**base, "kind": kind, "name": name, "value": value[:VALUE_MAX],
                                 "value_size": len(value)})
            try:
                names = (await target.send("IndexedDB.requestDatabaseNames", {"storageKey": key}, timeout=3.0)
                         ).get("databaseNames", [])
            except CDPError:
                try:
                    names = (await target.send("IndexedDB.requestDatabaseNames", {"securityOrigin": origin},
                                               timeout=3.0)).get("databaseNames", [])
                except CDPError:
                    names = []
            rows.extend({**base, "kind": "indexeddb", "name": name, "value": None, "value_size": None}
                        for name in names)
        return rows

