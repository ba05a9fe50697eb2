"""DetectIdSyncs: an identifier cookie of one party seen in a request to another party (`id_syncs`).

Identifiers are the visit's cookies that live at least `mouchard.cookies.IDENTIFIER_MIN_DAYS` and whose value
looks like an identifier (`mouchard.idsync.looks_like_identifier`); each belongs to the site of its cookie domain.
Header cookies are taken in the order the responses set them, then the browser's jar: a value already owned is
not given to a later party (a partner storing a synced id in its own cookie does not become its owner).
First-party cookies count only when the site's own server set them: one a script wrote on the site's domain
usually belongs to the script's owner (an analytics client id sent back to its collector), so calling it the
site's identifier would invent syncs.

Every request row is then searched with `mouchard.idsync.IdSyncFinder`: URL path and query, headers, cookies and
body, in every encoding the leak detector knows except hashes; a redirect hop's URL is reported as `redirect`.
Requests to the owner's own site are not syncs. Rows point at the request (`request_id`); `cookie_id` is left
empty until the cookies collector gives its rows a `_ref`, and `from_entity`/`to_entity` until the classify
pipeline fills them (derived; see docs/crawl-detectors.md).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import Any

from crawler.collectors.base import Collector, Rows, VisitContext
from crawler.collectors.wire import sent_requests
from mouchard.cookies import IDENTIFIER_MIN_DAYS, parse_set_cookie
from mouchard.domains import site_of
from mouchard.idsync import IdSyncFinder


class DetectIdSyncs(Collector):
    """id_syncs rows from the visit's cookies and requests."""

    name = "idsync"
    tables = ("id_syncs",)

    @classmethod
    def from_crawler(cls, crawler: Any) -> "DetectIdSyncs":
        from scrapy.exceptions import NotConfigured

        if not crawler.settings.getbool("MOUCHARD_ID_SYNCS", True):
            raise NotConfigured("MOUCHARD_ID_SYNCS is off")
        return cls()

    async def collect(self, visit: VisitContext) -> Rows:
        finder = IdSyncFinder()
        for site, name, value in self._identifiers(visit, await self._jar(visit)):
            finder.add(site, name, value)
        if not len(finder):
            return {"id_syncs": []}
        rows = []
        for request in sent_requests(visit.requests):
            to_site = request.row.get("site") or site_of(request.url)
            if request.row.get("initiator_type") == "redirect":
                found = finder.scan_redirect(to_site, request.url)
                found += finder.scan_request(to_site, "", request.headers, request.body, request.content_type,
                                             request.content_encoding)
            else:
                found = finder.scan_request(to_site, request.url, request.headers, request.body,
                                            request.content_type, request.content_encoding)
            for sync in found:
                rows.append(sync.row(request_id=request.ref))
        visit.count("idsync/identifiers", len(finder))
        visit.count("idsync/syncs", len(rows))
        return {"id_syncs": rows}

    @staticmethod
    async def _jar(visit: VisitContext) -> list[dict]:
        if visit.context is None:
            return []
        try:
            return await asyncio.wait_for(visit.context.cookies(), 5.0)
        except Exception:
            visit.count("idsync/jar_unavailable")
            return []

    @staticmethod
    def _identifiers(visit: VisitContext, jar: list[dict]) -> list[tuple[str, str, str]]:
        """(owner site, cookie name, value) of long-lived cookies: header cookies in order, then the jar."""
        found: list[tuple[str, str, str]] = []
        network = visit.extra.get("network", {})
        chains = network.get("chains", {})
        for event in network.get("set_cookies", []):
            chain = chains.get(event["request_id"])
            hop = chain.hops[event["hop"]] if chain and event["hop"] < len(chain.hops) else None
            url = hop.row["url"] if hop else ""
            set_at = dt.datetime.fromtimestamp(event.get("wall") or time.time(), dt.timezone.utc)
            for line in event["lines"]:
                row = parse_set_cookie(line, url, set_at, first_party=visit.site)
                if row and (row.get("lifetime_days") or 0) >= IDENTIFIER_MIN_DAYS:
                    found.append((row["site"], row["name"], row["value"]))
        now = time.time()
        for cookie in jar:
            expires = cookie.get("expires", -1)
            if expires is None or expires < 0 or (expires - now) / 86400 < IDENTIFIER_MIN_DAYS:
                continue
            site = site_of(cookie.get("domain", ""))
            if site != visit.site:  # first-party jar cookies not set by a header: owner unknown (see docstring)
                found.append((site, cookie.get("name", ""), cookie.get("value", "")))
        return found
