"""Site lists for `mouchard crawl --list`: a text file of URLs (one a line) or a CSV with `url` and optional `tags`.

Text files: blank lines and lines starting with `#` are ignored; a bare host (`example.com`) means `https://`.
CSV files (detected by a header line naming a `url` column): `tags` holds tags separated by commas, semicolons or
`|` (e.g. `party,campaign` or `news`), stored with each visit so visits can be compared by kind of site.
A line that is not an http(s) URL is reported and skipped, never fatal.
"""

from __future__ import annotations

import csv
import io
import re
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from mouchard.errors import UserError

_TAG_SPLIT = re.compile(r"[,;|]")


@dataclass(frozen=True)
class Target:
    """One site to visit: its URL and the tags the list gave it."""

    url: str
    tags: tuple[str, ...] = ()


@dataclass
class SiteList:
    targets: list[Target] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # one line per skipped entry


def normalize_url(text: str) -> str | None:
    """`text` as an absolute http(s) URL (a bare host gets https://), or None if it is not one."""
    text = text.strip()
    if not text or any(c.isspace() for c in text):
        return None
    if "://" not in text:
        if ":" in text.split("/", 1)[0] and not text.split("/", 1)[0].rsplit(":", 1)[1].isdigit():
            return None  # mailto:, javascript:...
        text = "https://" + text
    try:
        parts = urllib.parse.urlsplit(text)
        parts.port  # raises ValueError on a bad port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or "." not in parts.hostname \
            and parts.hostname != "localhost":
        return None
    return urllib.parse.urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", parts.query, ""))


def parse_tags(text: str | None) -> tuple[str, ...]:
    return tuple(t.strip() for t in _TAG_SPLIT.split(text or "") if t.strip())


def parse_site_list(text: str, source: str = "list") -> SiteList:
    """Parse a list's text (see module docstring); duplicates keep their first occurrence."""
    result = SiteList()
    seen: set[str] = set()
    lines = text.splitlines()
    first = next((line for line in lines if line.strip() and not line.lstrip().startswith("#")), "")
    header = [h.strip().lower() for h in next(csv.reader([first]), [])] if first else []
    if "url" in header:
        reader = csv.DictReader(io.StringIO(text))
        reader.fieldnames = [(h or "").strip().lower() for h in reader.fieldnames or []]
        entries = ((reader.line_num, row.get("url") or "", row.get("tags")) for row in reader)
    else:
        entries = ((n, line, None) for n, line in enumerate(lines, 1) if not line.lstrip().startswith("#"))
    for line_no, raw, tags in entries:
        if not raw.strip():
            continue
        url = normalize_url(raw)
        if url is None:
            result.warnings.append(f"{source}:{line_no}: not an http(s) URL, skipped: {raw.strip()[:200]!r}")
            continue
        if url in seen:
            continue
        seen.add(url)
        result.targets.append(Target(url, parse_tags(tags)))
    return result


def read_site_list(path: str | Path) -> SiteList:
    """Read `path` (UTF-8, BOM tolerated); a missing file or an empty list is a UserError."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise UserError(f"site list not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read site list {path}: {exc}") from None
    return parse_site_list(text, str(path))
