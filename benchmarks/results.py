"""Writing one benchmark's section of benchmarks/RESULTS.md, leaving the other sections as they are."""

from __future__ import annotations

import re
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def write_section(text: str, path: Path = RESULTS) -> None:
    """Replace the section whose heading is `text`'s first line ("## name"), or append it."""
    heading = text.splitlines()[0].strip()
    current = path.read_text() if path.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", re.S | re.M)
    current = pattern.sub(lambda _: text.rstrip("\n") + "\n\n", current) if pattern.search(current) \
        else current.rstrip() + "\n\n" + text.rstrip("\n") + "\n"
    path.write_text(current)
