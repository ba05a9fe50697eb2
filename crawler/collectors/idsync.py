"""DetectIdSyncs: an identifier cookie of one party seen in a request to another party (`id_syncs`).

Identifiers are the rows the cookies collector (`crawler.collectors.cookies.RecordCookies`, which must come first in
`MOUCHARD_COLLECTORS`) recorded for the visit, in its order (header cookies as the responses set them, then
script cookies, then the rest of the jar): those asked to live at least `mouchard.detect.cookies.IDENTIFIER_MIN_DAYS` and
whose value looks like an identifier (`mouchard.identify.idsync.looks_like_identifier`); each belongs to the site of its
cookie domain. A value already owned is not given to a later party (a partner storing a synced id in its own
cookie does not become its owner). First-party cookies count only when the site's own server set them: one a
script wrote on the site's domain usually belongs to the script's owner (an analytics client id sent back to its
collector), so calling it the site's identifier would invent syncs.

Every request row is then searched with `mouchard.identify.idsync.IdSyncFinder`: URL path and query, headers, cookies and
body, in every encoding the leak detector knows except hashes; a redirect hop's URL is reported as `redirect`.
Requests to the owner's own site are not syncs. The search runs off the crawler's event loop (`asyncio.to_thread`)
with one `mouchard.budget.Budget` per request; a request whose search raised or ran out of budget is a `failures`
row (collector-error, analysis-truncated) naming only its host (rows keep only the SHA-256 of values). Rows point at the request (`request_id`) and at the cookie
(`cookie_id`); `from_entity`/`to_entity` are filled by the classify pipeline (derived; see
docs/crawl-detectors.md).
"""

from __future__ import annotations

from typing import Any

from crawler.collectors.base import Collector, Ref, Rows, VisitContext
from crawler.collectors.wire import Sent, scan_requests, sent_requests
from mouchard.budget import Budget
from mouchard.detect.cookies import IDENTIFIER_MIN_DAYS, asked_lifetime
from mouchard.decode.domains import site_of
from mouchard.identify.idsync import IdSyncFinder


class DetectIdSyncs(Collector):
    """id_syncs rows from the visit's cookies and requests."""

    name = "idsync"
    order = 900  # after RecordCookies: follows its identifier cookies
    switch = "id_syncs"  # the CollectorSettings field that turns it off
    tables = ("id_syncs", "failures")

    @classmethod
    def from_crawler(cls, crawler: Any) -> "DetectIdSyncs":
        from crawler.settings import require_switch

        require_switch(crawler.settings, cls)
        return cls()

    async def collect(self, visit: VisitContext) -> Rows:
        finder = IdSyncFinder()
        if visit.shared.cookie_rows is None:
            visit.count("idsync/no_cookie_rows")  # RecordCookies is off or came later: nothing to follow
        for cookie in visit.shared.cookie_rows or ():
            if self.identifier(visit, cookie):
                finder.add(cookie["site"], cookie["name"], cookie["value"], cookie_id=Ref("cookies", cookie["_ref"]))
        if not len(finder):
            return {"id_syncs": [], "failures": []}
        scanned, failures = await scan_requests(self.name, sent_requests(visit.requests),
                                                lambda request, budget: self.scan(finder, visit, request, budget),
                                                "identifiers")
        rows = [sync.row(request_id=request.ref) for request, found in scanned for sync in found]
        visit.count("idsync/identifiers", len(finder))
        visit.count("idsync/syncs", len(rows))
        visit.count("idsync/failures", len(failures))
        return {"id_syncs": rows, "failures": failures}

    @staticmethod
    def scan(finder: IdSyncFinder, visit: VisitContext, request: Sent, budget: Budget) -> list:
        """The syncs in one request (a redirect hop: its URL as a redirect, then what it carried)."""
        to_site = request.row.get("site") or site_of(request.url)
        if request.row.get("initiator_type") == "redirect":
            found = finder.scan_redirect(to_site, request.url, budget=budget)
            found += finder.scan_request(to_site, "", request.headers, request.body, request.content_type,
                                         request.content_encoding, budget=budget)
            return found
        return finder.scan_request(to_site, request.url, request.headers, request.body, request.content_type,
                                   request.content_encoding, budget=budget)

    @staticmethod
    def identifier(visit: VisitContext, cookie: dict) -> bool:
        """A long-lived cookie with a value, whose owner is known (see the module docstring)."""
        if not cookie.get("value") or not cookie.get("site"):
            return False
        if (asked_lifetime(cookie) or 0) < IDENTIFIER_MIN_DAYS:  # the lifetime the site asked for
            return False
        return cookie.get("set_by") == "header" or cookie["site"] != visit.site
