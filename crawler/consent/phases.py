"""Which consent phases a crawl makes of each page, from `--consent` and `--gpc`."""

from __future__ import annotations

from mouchard.errors import UserError

CONSENT_CHOICES = ("none", "reject", "accept", "all")
PHASES = ("initial", "reject", "accept", "gpc")


def phases_for(consent: str = "all", gpc: bool = False) -> list[str]:
    """The phases of every page, in visiting order: `initial` always (no interaction), then `reject` and/or
    `accept` as `--consent` says (none, reject, accept or all), then `gpc` with `--gpc`."""
    if consent not in CONSENT_CHOICES:
        raise UserError(f"--consent {consent}: choose one of {', '.join(CONSENT_CHOICES)}")
    phases = ["initial"]
    if consent in ("reject", "all"):
        phases.append("reject")
    if consent in ("accept", "all"):
        phases.append("accept")
    if gpc:
        phases.append("gpc")
    return phases
