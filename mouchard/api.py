"""mouchard's Python API: one function per job, what each `mouchard` command runs.

    >>> from mouchard import api
    >>> api.crawl(["https://www.example.org/"], db="news.db")          # visit sites in Chromium
    >>> api.import_capture("phone.har", db="phone.db")                  # a phone's traffic, offline
    >>> api.audit("spec.yaml", "bundle/")                              # findings and an evidence bundle
    >>> api.publish(api.PublishOptions(db=Path("news.db"), out=Path("site/")))
    >>> api.me_prepare("me.db", "me.yml"); api.import_capture("phone.pcapng", db="me.db")  # a person's own
    >>> api.me_report("me.db", "me-report/")                            # their page and letters

Each name is imported from the package that does the work only when it is first used, so `import mouchard.api`
stays light (no Scrapy, Playwright or mitmproxy until a job needs them). docs/api.md has an example per job.
"""

from __future__ import annotations

import importlib
from typing import Any

# name -> "module:attribute". The jobs, then the option and result types a caller needs to build or read.
EXPORTS: dict[str, str] = {
    # web crawls
    "crawl": "crawler.api:crawl",
    "site_targets": "crawler.api:site_targets",
    "RunSettings": "mouchard.settings:RunSettings",
    "CollectorSettings": "mouchard.settings:CollectorSettings",
    "BrowserSettings": "mouchard.settings:BrowserSettings",
    "NetworkOptions": "mouchard.net:NetworkOptions",
    "CrawlResult": "crawler.crawl:CrawlResult",
    # data brokers
    "fetch_brokers": "crawler.brokers.jobs:fetch_brokers",
    "crawl_brokers": "crawler.brokers.jobs:crawl_brokers",
    "BrokersResult": "crawler.brokers.jobs:BrokersResult",
    # a phone's traffic
    "proxy": "addons.api:proxy",
    "import_capture": "addons.api:import_capture",
    "ProxyResult": "addons.api:ProxyResult",
    "ImportResult": "addons.api:ImportResult",
    "load_profile": "mouchard.identify.profile:load_profile",
    # audits and evidence
    "audit": "audits.api:audit",
    "replay_audit": "audits.api:replay_audit",
    "rebuild_findings": "audits.api:rebuild_findings",
    "verify": "audits.api:verify",
    "diff": "audits.api:diff",
    "rules": "audits.api:rules",
    # the database
    "merge": "mouchard.classification.rollups:merge",
    "classify": "mouchard.classification.reclassify:classify_database",
    "update_lists": "mouchard.classification.lists:update",
    "fetch_vendors": "mouchard.classification.vendors:fetch_vendors",
    "publish": "mouchard.publishing.publish:publish",
    "PublishOptions": "mouchard.publishing.publish:PublishOptions",
    "serve": "mouchard.publishing.serve:serve",
    "ServeOptions": "mouchard.publishing.serve:ServeOptions",
    "Store": "mouchard.storage.store:Store",
    # a person's own data (private databases, never published): prepare, then import/proxy/crawl into it
    "me_prepare": "mouchard.me.jobs:prepare",
    "me_report": "mouchard.me.jobs:report",
    "me_contacts": "mouchard.me.jobs:fetch_contacts",
    "me_sent": "mouchard.me.jobs:sent",
    "me_answer": "mouchard.me.jobs:answer",
    "me_status": "mouchard.me.jobs:status",
    "me_update": "mouchard.me.jobs:update",
    "MeReport": "mouchard.me.jobs:MeReport",
    # running a job in a child process (a Scrapy job runs once per process): what audits and the demo use
    "run_in_child": "crawler.child:run_in_child",
    "JobFailed": "crawler.child:JobFailed",
}

__all__ = sorted(EXPORTS)


def __getattr__(name: str) -> Any:
    """Import an API name on first use."""
    target = EXPORTS.get(name)
    if target is None:
        raise AttributeError(f"module 'mouchard.api' has no attribute {name!r}")
    module, attribute = target.split(":")
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value  # next time, a plain module attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(EXPORTS))
