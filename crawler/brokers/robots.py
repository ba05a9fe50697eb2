"""Hidden-from-search signals, as The Markup measured them: robots meta tags, X-Robots-Tag headers, robots.txt.

A page is hidden when any signal keeps Google or Bing from indexing it: a `<meta name="robots|googlebot|bingbot">`
whose content says `noindex` or `none` (in the served HTML or in the DOM after scripts ran), an `X-Robots-Tag`
header saying so for every crawler or for Googlebot/Bingbot, or robots.txt disallowing the URL for Googlebot,
Bingbot or `*` (parsed with Protego, the parser Scrapy ships).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from parsel import Selector
from protego import Protego

META_NAMES = ("robots", "googlebot", "bingbot")
ROBOTS_AGENTS = ("Googlebot", "Bingbot", "*")
NOINDEX = {"noindex", "none"}
# Directives whose value follows a colon: not to be mistaken for an agent prefix ("googlebot: noindex").
_VALUED = {"unavailable_after", "max-snippet", "max-image-preview", "max-video-preview", "indexifembedded"}


@dataclass(frozen=True)
class MetaTag:
    name: str
    content: str

    @property
    def noindex(self) -> bool:
        return says_noindex(self.content)


def says_noindex(directives: str) -> bool:
    """True if a comma-separated directive list contains noindex or none."""
    return any(token.strip().lower() in NOINDEX for token in re.split(r"[,\s]+", directives or ""))


def robots_meta(html: str) -> list[MetaTag]:
    """Every robots / googlebot / bingbot meta tag of an HTML document, in order."""
    tags = []
    for meta in Selector(text=html or "<html></html>").xpath("//meta[@name]"):
        name = (meta.attrib.get("name") or "").strip().lower()
        if name in META_NAMES:
            tags.append(MetaTag(name, meta.attrib.get("content") or ""))
    return tags


def x_robots_noindex(values: Iterable[str]) -> bool:
    """True if X-Robots-Tag values say noindex for every crawler, or for Googlebot or Bingbot.

    'noindex', 'googlebot: noindex, nofollow' and 'bingbot: none' hide; 'otherbot: noindex' and 'all' do not.
    An agent prefix applies to the directives after it, up to the next prefix.
    """
    for value in values:
        agent = None
        for part in value.split(","):
            part = part.strip()
            match = re.match(r"^([A-Za-z0-9_.-]+)\s*:\s*(.*)$", part)
            if match and match[1].lower() not in _VALUED:
                agent, part = match[1].lower(), match[2]
            if part.lower() in NOINDEX and agent in (None, "googlebot", "bingbot"):
                return True
    return False


@dataclass
class RobotsTxt:
    """One origin's robots.txt as fetched: HTTP status (None when unreachable) and body."""

    url: str
    status: int | None
    body: str = ""
    error: str | None = None
    _parser: Protego | None = field(default=None, repr=False)

    @property
    def parser(self) -> Protego | None:
        if self._parser is None and self.status is not None and 200 <= self.status < 300:
            self._parser = Protego.parse(self.body)
        return self._parser

    def verdict(self, url: str) -> dict:
        """{'Googlebot': 'allowed'|'disallowed'|'unknown', 'Bingbot': ..., '*': ..., 'robots_url', 'status'}.

        A missing robots.txt (4xx) allows everything; an unreachable one (5xx, network error) is 'unknown',
        never counted as hiding: the broker did not write a rule.
        """
        out: dict = {"robots_url": self.url, "status": self.status}
        for agent in ROBOTS_AGENTS:
            if self.status is not None and 400 <= self.status < 500:
                out[agent] = "allowed"
            elif self.parser is None:
                out[agent] = "unknown"
            else:
                out[agent] = "allowed" if self.parser.can_fetch(url, agent) else "disallowed"
        return out


def disallowed(verdict: dict) -> list[str]:
    """Agents a robots.txt verdict keeps off the URL."""
    return [agent for agent in ROBOTS_AGENTS if verdict.get(agent) == "disallowed"]


@dataclass
class Signals:
    """Everything that says whether search engines may index a page, and the verdict."""

    meta_raw: list[MetaTag] = field(default_factory=list)
    meta_rendered: list[MetaTag] | None = None  # None: not rendered
    x_robots_tag: list[str] = field(default_factory=list)
    robots: list[dict] = field(default_factory=list)  # one verdict per URL of the redirect chain checked

    @property
    def reasons(self) -> list[str]:
        out = []
        if any(t.noindex for t in self.meta_raw):
            out.append("meta-raw")
        if self.meta_rendered and any(t.noindex for t in self.meta_rendered):
            out.append("meta-rendered")
        if x_robots_noindex(self.x_robots_tag):
            out.append("x-robots-tag")
        if any(disallowed(v) for v in self.robots):
            out.append("robots-txt")
        return out

    @property
    def hidden(self) -> bool:
        return bool(self.reasons)
