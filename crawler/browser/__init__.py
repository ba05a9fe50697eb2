"""The browser side of a crawl: fresh profiles, launch options, the visit's life, CDP targets, dwell and leave.

What is recorded during a visit is not here: the collectors are in crawler/collectors."""
