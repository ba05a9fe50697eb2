"""A scrapy-playwright browser provider that launches each visit's browser on a fresh profile.

scrapy-playwright creates a persistent context when a request's `playwright_context_kwargs` hold `user_data_dir`,
and hands those kwargs alone to `launch_persistent_context`. This provider adds the crawl's launch options
(executable, flags, user agent, viewport...) and writes the profile's preferences first (third-party cookies on).
"""

from __future__ import annotations

from playwright.async_api import BrowserContext
from scrapy_playwright.provider import PlaywrightBrowserProvider

from crawler.browser.profile import ensure_preferences


class FreshProfileProvider(PlaywrightBrowserProvider):
    """Persistent contexts = launch options + per-visit kwargs, on a profile with our preferences."""

    async def launch_persistent_context(self, context_kwargs: dict) -> BrowserContext:
        if self.browser_type is None:
            raise RuntimeError("start() must be awaited before launch_persistent_context()")
        ensure_preferences(context_kwargs["user_data_dir"])
        kwargs = {**self.config.launch_options, **context_kwargs}
        return await self.browser_type.launch_persistent_context(**kwargs)
