"""Recording a device's own list of destinations — contacts without payloads, such as the iOS App Privacy Report
or PCAPdroid's connections export — as one `import` run.

    crawl_id = record_destinations(db, path, flows, format="ios-app-privacy-report", warning=NO_PAYLOAD,
                                   failures=[("decode-error", "line 3: not JSON")], summary={...})

The flows are classified by the tracker lists (as proxied flows are), written in one transaction with their
`failures` rows (and optional `app_accesses` rows), and the run says it has destinations only.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


def record_destinations(db: str | Path, path: Path, flows: list[dict], *, format: str, warning: str,
                        failures: Iterable[tuple[str, str]] = (), accesses: Iterable[dict] = (),
                        app: str | None = None, config: dict | None = None, command: list[str] | None = None,
                        summary: dict | None = None) -> int:
    """Write one `import` run of `flows` read from `path`; its crawls.id. `failures` are (kind, one-line reason)."""
    from mouchard.classification.classify import classify_rows, default_classifier
    from mouchard.storage.store import Store, failure_row, file_sha256

    failures, accesses = list(failures), list(accesses)
    classify_rows(flows, classifier=default_classifier())
    with Store(db) as store:
        crawl_id = store.start_crawl("import", command=command, warnings=[warning], config={
            **(config or {}), "app": app, "file": str(Path(path).resolve()), "format": format,
            "sha256": file_sha256(path)})
        with store.transaction() as tx:
            for row in flows:
                tx.insert("flows", {**row, "crawl_id": crawl_id})
            for row in accesses:
                tx.insert("app_accesses", {**row, "crawl_id": crawl_id})
            for kind, reason in failures:
                tx.insert("failures", failure_row(format, kind, reason, crawl_id=crawl_id))
        store.finish_crawl(crawl_id, "finished", {"flows": len(flows), "failures": len(failures), "payloads": warning,
                                                   **(summary or {})})
    return crawl_id
