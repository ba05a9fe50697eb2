"""DetectIdSyncs: one SDK endpoint's identifier seen going to another party → `id_syncs`.

    mitmdump -s addons/detect_id_syncs.py        # alone: logs each sync

The same finder as the browser crawl (`mouchard.identify.idsync.IdSyncFinder`): identifier-like cookie values a party
set (Set-Cookie) or received (Cookie) are remembered as that party's; every later request to another party is
searched for them in any encoding (URL, headers, body), and so is every redirect's `Location`. Rows keep only
the SHA-256 of the value. Without the cookies stage (`StoreCookies`), cookies sent in requests still count.
"""

from __future__ import annotations

from addons.pipeline import FlowRecord, RowRef, StageAddon, packaged

from addons.snapshots import FlowSnapshot


class IdSyncStage:
    """Stage: identifiers of one site found in requests and redirects to another (charged to the flow's budget:
    if it runs out here, the pipeline records the analysis as truncated and redaction fails closed)."""

    order = 50

    def __init__(self) -> None:
        from mouchard.identify.idsync import IdSyncFinder

        self.finder = IdSyncFinder()
        self.found = 0

    def process(self, snap: FlowSnapshot, record: FlowRecord) -> None:
        from mouchard.decode.domains import site_of

        site = record.flow.get("site")
        if snap.kind not in ("http", "websocket") or not site or not snap.url:
            return
        syncs = self.finder.scan_request(site, snap.url, snap.request_headers, snap.request_body,
                                         snap.request_header("content-type"), snap.request_header("content-encoding"),
                                         budget=record.budget)
        target = snap.response_header("location")
        if target and snap.status and 300 <= snap.status < 400:
            to_site = site_of(target)
            if to_site and to_site != site:
                syncs += self.finder.scan_redirect(to_site, target, budget=record.budget)
        record.id_syncs.extend(s.row() for s in syncs)
        self.found += len(syncs)
        self._remember(site, snap, record)

    def _remember(self, site: str, snap: FlowSnapshot, record: FlowRecord) -> None:
        """This flow's cookies become their party's identifiers (after the scan: a flow cannot sync to itself)."""
        for row in record.cookies:
            if row.get("identifier") == 0 or not row.get("value"):
                continue
            ref = row.setdefault("_ref", RowRef())
            self.finder.add(row.get("site") or site, row.get("name") or "", row["value"], cookie_id=ref)
        if not record.cookies:
            for name, value in snap.request_headers:
                if name.lower() == "cookie":
                    for pair in value.split(";"):
                        cname, _, cvalue = pair.strip().partition("=")
                        if cvalue:
                            self.finder.add(site, cname, cvalue)

    def summary(self) -> dict:
        return {"id_syncs/identifiers_known": len(self.finder), "id_syncs/found": self.found}

    def describe(self, record: FlowRecord):
        for row in record.id_syncs:
            yield (f"id sync: {row['identifier_name']} of {row['from_site']} to {row['to_site']} "
                   f"({row['location']} {row['parameter'] or ''}, {row['encoding'] or 'plain'})")


class DetectIdSyncs(StageAddon):
    """Provides the ID-sync stage (see the module docstring)."""

    def mouchard_stages(self) -> list:
        return [IdSyncStage()]


addons = [packaged("addons.detect_id_syncs", "DetectIdSyncs")]
