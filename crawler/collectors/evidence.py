"""KeepEvidence: a screenshot of the page and the visit's HAR file, kept next to the database and hashed.

The screenshot is taken before the visit leaves the page (`before_leave`), so it shows the page, not about:blank.

Paths are chosen by the spider (`visit.evidence`: `screenshot`, `har`), inside `<db>.evidence/`. The HAR
is written by Playwright when the browser closes, after `collect`: its row carries the path and the store
pipeline hashes the file then. HAR bodies are omitted (a 30 MB page must not become a 30 MB HAR).
"""

from __future__ import annotations

import asyncio
import os

from crawler.collectors.base import Collector, Rows, VisitContext


class KeepEvidence(Collector):
    """evidence_files rows for the screenshot (taken now) and the HAR (written at close)."""

    name = "evidence"
    order = 1100  # last: the screenshot shows the page after every other collector's after_load
    tables = ("evidence_files",)

    async def before_leave(self, visit: VisitContext) -> None:
        """The screenshot, of the page as loaded (the visit then leaves it)."""
        shot = visit.evidence.screenshot
        if shot and visit.page is not None and not visit.page.is_closed() and visit.responsive:
            try:
                os.makedirs(os.path.dirname(shot), exist_ok=True)
                await asyncio.wait_for(visit.page.screenshot(path=shot, timeout=5000, animations="disabled"), 8)
                visit.evidence.screenshot_taken = True
            except Exception:
                visit.count("evidence/screenshot_failed")

    async def collect(self, visit: VisitContext) -> Rows:
        wanted, rows = visit.evidence, []
        if wanted.screenshot and wanted.screenshot_taken:
            rows.append({"_path": wanted.screenshot, "documents": "screenshot", "media_type": "image/png"})
        if wanted.har:
            rows.append({"_path": wanted.har, "documents": "har", "media_type": "application/json"})
        return {"evidence_files": rows}
