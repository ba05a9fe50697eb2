"""scrapy-playwright's download handler, starting each visit's browser without waiting for the others.

scrapy-playwright creates contexts under one handler-wide lock, which is right for shared named contexts and
costly here: a persistent context is a whole browser (about a second to start), so at concurrency N the visits
would start one after another. Our contexts have a unique name per visit, so nothing can race on a name: the
browser is started before the lock is taken, and the stock code then finds it ready.

A persistent context opens with a blank tab: the visit uses it, where scrapy-playwright would open a second tab
(and we would close the first). scrapy-playwright's per-page request and response counters are left out (the
collectors record the traffic through CDP; `playwright/request_count` stays absent from the crawl's stats).

scrapy-playwright also serialises the page (`page.content()`) into every response body. Only the landing pages of
a crawl with `--pages-per-site` need it (their links are sampled from it); elsewhere the body stays empty, which
spares a round trip through the renderer's main thread per visit.
"""

from __future__ import annotations

import scrapy_playwright.handler as stock
from scrapy_playwright.handler import DEFAULT_CONTEXT_NAME, ScrapyPlaywrightDownloadHandler

_page_content = stock._get_page_content


async def _page_content_if_needed(page, spider, *args, **kwargs) -> str:
    if getattr(spider, "pages_per_site", 1) <= 0:
        return ""
    return await _page_content(page, spider, *args, **kwargs)


stock._get_page_content = _page_content_if_needed


class VisitDownloadHandler(ScrapyPlaywrightDownloadHandler):
    """Starts a per-visit persistent context (meta `playwright_context_kwargs["user_data_dir"]`) outside the lock."""

    async def _create_page(self, request, spider):
        name = request.meta.setdefault("playwright_context", DEFAULT_CONTEXT_NAME)
        kwargs = request.meta.get("playwright_context_kwargs") or {}
        if not kwargs.get("user_data_dir"):
            return await super()._create_page(request, spider)
        wrapper = self.context_wrappers.get(name)
        if wrapper is None:
            wrapper = await self._create_browser_context(name=name, context_kwargs=kwargs, spider=spider)
        await wrapper.semaphore.acquire()
        try:
            blank = [page for page in wrapper.context.pages if page.url == "about:blank"]
            page = blank[0] if blank else await wrapper.context.new_page()
        except Exception:
            wrapper.semaphore.release()
            raise
        self.stats.inc_value("playwright/page_count")
        if self.config.navigation_timeout_ms is not None:
            page.set_default_navigation_timeout(self.config.navigation_timeout_ms)
        close_page = self._make_close_page_callback(name)
        page.on("close", close_page)
        page.on("crash", close_page)
        return page
