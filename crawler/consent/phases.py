"""Which consent phases a crawl makes of each page, from `--consent` and `--gpc` (defined with the run's settings,
mouchard.settings, and re-exported here for the crawler's modules)."""

from __future__ import annotations

from mouchard.settings import CONSENT_CHOICES, PHASES, phases_for

__all__ = ["CONSENT_CHOICES", "PHASES", "phases_for"]
