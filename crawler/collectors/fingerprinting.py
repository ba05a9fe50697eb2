"""RecordFingerprinting: fingerprinting API calls (`js_calls`) and what they amount to per script (`scripts`).

The calls come from the visit's call recorder (crawler/collectors/calls.py: conditional DevTools breakpoints on
every catalogue function, `mouchard.detect.fingerprinting.APIS`, invisible to the page); this collector asks for the
whole catalogue (`apis`) and turns what was recorded into rows.

Rows: `js_calls` per (script, frame, API) with the call count, first time, a few argument lists, the call sites
(line, column, function, caller stack: one recorder entry per distinct stack) and return summaries; `scripts`
per script with the flags of `mouchard.detect.fingerprinting.script_flags`, plus the marks other collectors leave with
`mark_script` in `visit.shared.script_marks` (e.g. `session_replay`; they must come before this collector in
`MOUCHARD_COLLECTORS`).
"""

from __future__ import annotations

import json
from typing import Any

from crawler.collectors.base import Rows, VisitContext
from crawler.collectors.calls import CallRecorder, Fields
from mouchard.detect.fingerprinting import APIS, ApiUse, call_site, script_flags, shown_value
from mouchard.storage.schema import BY_NAME

ROW_VALUE_CUT = 100  # characters of an argument shown in js_calls.arguments
ROW_VALUES = 10  # argument lists shown per js_calls row
ROW_SITES = 10  # call sites shown per js_calls row (js_calls.call_sites), the most frequent first


def mark_script(visit: VisitContext, script_url: str, **columns: Any) -> None:
    """Leave `scripts` columns for a script (e.g. session_replay=1); written by this collector's `collect`."""
    if script_url:
        visit.shared.script_marks.setdefault(script_url, {}).update(columns)


def fit(visit: VisitContext, table: str, row: dict) -> dict:
    """The row without columns the schema does not have yet (proposed ones), each drop counted in stats."""
    known = {c.name for c in BY_NAME[table].columns}
    for name in [n for n in row if n not in known and not n.startswith("_")]:
        del row[name]
        visit.count(f"fingerprinting/{table}/column_not_in_schema/{name}")
    return row


class RecordFingerprinting(CallRecorder):
    """js_calls and scripts rows from conditional DevTools breakpoints on fingerprinting APIs."""

    name = "fingerprinting"
    order = 1000  # last of the detectors: writes the scripts rows the others marked
    switch = "fingerprinting"  # the CollectorSettings field that turns it off
    tables = ("js_calls", "scripts")
    apis = frozenset(index for index, api in enumerate(APIS) if api.js_calls)

    def __init__(self, workers: bool = True):
        self.workers = workers

    @classmethod
    def from_crawler(cls, crawler: Any) -> "RecordFingerprinting":
        from crawler.settings import require_switch, run_settings

        require_switch(crawler.settings, cls)
        return cls(run_settings(crawler.settings).collectors.fingerprinting_workers)

    async def collect(self, visit: VisitContext) -> Rows:
        if visit.responsive:
            await self._drain_all(visit)
        js_calls, by_script = [], {}
        for (script, frame_url, index), use in sorted(self.calls(visit).items(),
                                                      key=lambda kv: (kv[1].first_ms or 0, kv[0][2])):
            api = APIS[index]
            if not use.calls or not api.js_calls:
                continue
            by_script.setdefault(script, {}).setdefault(api.name, ApiUse()).add(use.calls, use.values, use.first_ms)
            sites = _sites(use)
            js_calls.append({
                "script_url": script, "script_site": visit.site_of(script) if script else None,
                "third_party": int(visit.third_party(script)) if script else None, "frame_url": frame_url or None,
                "api": api.name, "operation": api.operation,
                "arguments": _arguments([shown_value(api.name, v) for v in use.values])
                if api.keep or api.receiver else None,
                "calls": use.calls, "time_ms": use.first_ms,
                "call_line": sites[0]["line"] if sites else None,
                "call_column": sites[0]["column"] if sites else None,
                "call_function": sites[0]["function"] if sites else None,
                "call_sites": json.dumps(sites, ensure_ascii=False) if sites else None,
                "returned": _returned(api.returns, use.returned),
            })
        marks = visit.shared.script_marks
        scripts = []
        for script in sorted({s for s in by_script if s} | set(marks)):
            row = {"script_url": script, "script_site": visit.site_of(script),
                   "third_party": int(visit.third_party(script)), "session_replay": 0,
                   **script_flags(by_script.get(script, {})), **marks.get(script, {})}
            scripts.append(fit(visit, "scripts", row))
        visit.count("fingerprinting/js_calls", len(js_calls))
        visit.count("fingerprinting/scripts_flagged", sum(1 for r in scripts if any(
            r.get(k) for k in ("canvas_fingerprinting", "canvas_font_fingerprinting", "webgl_fingerprinting",
                               "audio_fingerprinting", "session_replay"))))
        return {"js_calls": js_calls, "scripts": scripts}



def _plain(value: Any) -> Any:
    """A kept argument as JSON shows it: Fields as an object, tuples as lists."""
    if isinstance(value, Fields):
        return {k: _plain(v) for k, v in value}
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value




def _sites(use: ApiUse) -> list[dict]:
    """`js_calls.call_sites`: distinct call sites, the most frequent first (then the first seen), with calls."""
    sites = []
    for frames, calls in sorted(use.sites.items(), key=lambda kv: -kv[1])[:ROW_SITES]:
        site = call_site(frames)
        if site is not None:
            sites.append({"line": site["line"], "column": site["column"], "function": site["function"],
                          "calls": calls, "stack": site["stack"]})
    return sites


def _returned(how: str | None, returned: list) -> str | None:
    """`js_calls.returned`: distinct hashes of large results, or the cookie names a read saw (JSON)."""
    if not how or not returned:
        return None
    if how == "cookie-names":
        names = sorted({name for names in returned for name in str(names).split(";") if name})
        return json.dumps(names, ensure_ascii=False)
    return json.dumps(list(returned), ensure_ascii=False)




def _arguments(values: list[tuple]) -> str | None:
    """`js_calls.arguments`: a few distinct argument lists, strings cut short (JSON)."""
    if not values:
        return None
    shown = [[v[:ROW_VALUE_CUT] + "…" if isinstance(v, str) and len(v) > ROW_VALUE_CUT else _plain(v)
              for v in value] for value in values[:ROW_VALUES]]
    if len(values) > ROW_VALUES:
        shown.append(f"… {len(values) - ROW_VALUES} more")
    return json.dumps(shown, ensure_ascii=False)

