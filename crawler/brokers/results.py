"""What the broker-site crawl learned about one URL, and the rows it becomes.

One fetch serves every broker that points at the URL (seven TransUnion registrations share one rights page):
a `PageResult` per URL, and a `broker_pages` row per broker, kind and URL.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from crawler.brokers.gpc import GpcStatement
from crawler.brokers.robots import Signals
from mouchard.storage.store import utcnow

MAX_TEXT = 200_000  # characters of page text kept for search and diffs; the hash covers all of it


@dataclass
class PageResult:
    """One URL as fetched (after redirects), with its hidden-from-search signals and its text."""

    url: str
    final_url: str | None = None
    redirects: list[str] = field(default_factory=list)
    status: str = "ok"  # ok, http-error, not-found, timeout, dns-error, tls-error, bot-wall
    http_status: int | None = None
    reason: str | None = None
    signals: Signals = field(default_factory=Signals)
    title: str | None = None
    text: str | None = None
    text_sha256: str | None = None
    gpc: GpcStatement | None = None
    fetched_at: str = field(default_factory=utcnow)
    rendered: bool = False
    html: bool = False  # the answer was an HTML document (its meta tags were read)
    links: list = field(default_factory=list, repr=False)  # privacy links found on the page (not stored)

    def row(self, broker_id: int, kind: str, clicks: int | None, hosted_by: str | None, crawl_id: int) -> dict:
        """The `broker_pages` row of this result for one broker and kind."""
        signals = self.signals
        row = {
            "crawl_id": crawl_id, "broker_id": broker_id, "kind": kind, "url": self.url,
            "final_url": self.final_url, "redirects": self.redirects, "status": self.status,
            "http_status": self.http_status, "reason": self.reason, "clicks_from_home": clicks,
            "hosted_by": hosted_by,
            "meta_noindex_raw": int(any(t.noindex for t in signals.meta_raw)) if self.html else None,
            "meta_noindex_rendered": (int(any(t.noindex for t in signals.meta_rendered))
                                      if signals.meta_rendered is not None else None),
            "x_robots_tag": signals.x_robots_tag, "robots_txt": signals.robots,
            "hidden": int(signals.hidden), "hidden_reasons": signals.reasons,
            "title": self.title, "text": self.text[:MAX_TEXT] if self.text else self.text,
            "text_sha256": self.text_sha256, "fetched_at": self.fetched_at,
        }
        if self.gpc is not None:
            row.update(gpc=self.gpc.gpc, gpc_json=self.gpc.raw, gpc_last_update=self.gpc.last_update)
        return row
