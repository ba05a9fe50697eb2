"""The GVL's vendors matched to the tracker lists' companies when a vendor list is recorded.

`mouchard.vendors` sits below classification (the rollups count vendors' conduct), so the company of each vendor
is given to it from here: what `mouchard vendors fetch` and `mouchard.api.fetch_vendors` run.
"""

from __future__ import annotations

from typing import Any


def fetch_vendors(store: Any, *, classifier: Any = None, **options: Any) -> dict:
    """`mouchard.vendors.fetch.fetch_vendors(store, **options)` (version, source, net, disclosures, max_disclosures,
    workers, timeout, progress), each vendor matched to a company by `classifier` (default: the crawls' default
    classifier, from the tracker lists in the cache). A new version rebuilds `vendor_conduct` for every crawl."""
    import os

    from mouchard.classification.classify import default_classifier
    from mouchard.storage.store import Store
    from mouchard.vendors.conduct import rebuild_vendor_conduct
    from mouchard.vendors.fetch import fetch_vendors as record

    if isinstance(store, (str, os.PathLike)):
        with Store(store) as opened:
            return fetch_vendors(opened, classifier=classifier, **options)
    summary = record(store, classifier=classifier if classifier is not None else default_classifier(), **options)
    if not summary.get("unchanged"):
        # Declared versus observed is judged against the newest list: every crawl already recorded is compared
        # again (the findings are the audit's: `mouchard vendors fetch` derives them, an audit re-derives them).
        summary["vendor_conduct_rows"] = rebuild_vendor_conduct(store, None)
    return summary
