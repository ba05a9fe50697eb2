"""The browser side of a crawl: fresh profiles, launch options, CDP instrumentation (targets, collectors)."""
