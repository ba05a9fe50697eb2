"""scrapy-playwright's download handler, starting each visit's browser without waiting for the others.

scrapy-playwright creates contexts under one handler-wide lock, which is right for shared named contexts and
costly here: a persistent context is a whole browser (about a second to start), so at concurrency N the visits
would start one after another. Our contexts have a unique name per visit, so nothing can race on a name: the
browser is started before the lock is taken, and the stock code then finds it ready.
"""

from __future__ import annotations

from scrapy_playwright.handler import DEFAULT_CONTEXT_NAME, ScrapyPlaywrightDownloadHandler


class VisitDownloadHandler(ScrapyPlaywrightDownloadHandler):
    """Starts a per-visit persistent context (meta `playwright_context_kwargs["user_data_dir"]`) outside the lock."""

    async def _create_page(self, request, spider):
        name = request.meta.setdefault("playwright_context", DEFAULT_CONTEXT_NAME)
        kwargs = request.meta.get("playwright_context_kwargs") or {}
        if kwargs.get("user_data_dir") and name not in self.context_wrappers:
            await self._create_browser_context(name=name, context_kwargs=kwargs, spider=spider)
        return await super()._create_page(request, spider)
