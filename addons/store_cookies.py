"""StoreCookies: cookies an app's servers set (Set-Cookie) and cookies it sends (Cookie) → `cookies`.

    mitmdump -s addons/store_cookies.py        # alone: logs each cookie and whether it looks like an identifier

Set-Cookie headers are read by the crawler's own parser (`mouchard.detect.cookies.parse_set_cookie`), with the same
lifetime, party and identifier judgement as web visits; each row points at its flow. A cookie first seen in a
request (set before the capture began, or by a WebView's script) is recorded once, with `set_by` empty, no
lifetime and `identifier` empty: what could not be seen is not guessed.
"""

from __future__ import annotations

import datetime as dt

from addons.pipeline import FlowRecord, StageAddon, packaged

from addons.snapshots import FlowSnapshot, text


class CookieStage:
    """Stage: cookies rows from the Set-Cookie and Cookie headers of flows."""

    order = 30

    def __init__(self) -> None:
        self._seen: set[tuple[str, str, str]] = set()  # (host, name, value) already recorded

    def process(self, snap: FlowSnapshot, record: FlowRecord) -> None:
        from mouchard.detect.cookies import asked_lifetime, judge_identifier, parse_set_cookie

        if snap.kind not in ("http", "websocket") or not snap.url:
            return
        host = record.flow.get("host") or ""
        first_party = record.notes.get("first_party_site")
        set_at = dt.datetime.fromisoformat(snap.started_at.replace("Z", "+00:00"))
        for name, value in snap.response_headers:
            if name.lower() != "set-cookie":
                continue
            row = parse_set_cookie(_text(value), _text(snap.url), set_at, first_party=first_party)
            if row is None:
                continue
            identifier, reason = judge_identifier(row["value"], asked_lifetime(row))
            row.update(identifier=int(identifier), identifier_reason=reason)
            record.cookies.append(row)
            self._seen.add((host, row["name"], row["value"]))
        for name, value in snap.request_headers:
            if name.lower() != "cookie":
                continue
            for pair in _text(value).split(";"):
                cname, sep, cvalue = pair.strip().partition("=")
                if not sep or (host, cname, cvalue) in self._seen:
                    continue
                self._seen.add((host, cname, cvalue))
                record.cookies.append(self._sent(cname, cvalue, host, first_party))

    @staticmethod
    def _sent(name: str, value: str, host: str, first_party: str | None) -> dict:
        from mouchard.detect.cookies import cookie_row

        row = cookie_row(name=name, value=value, domain=host, path="", expires=None,
                         set_at=dt.datetime.now(dt.timezone.utc), first_party=first_party)
        row.update(path=None, session=None, expires_at=None, lifetime_days=None, identifier=None,
                   identifier_reason="first seen in a request's Cookie header: its lifetime was not seen")
        return row

    def summary(self) -> dict:
        return {"cookies/distinct": len(self._seen)}

    def describe(self, record: FlowRecord):
        for row in record.cookies:
            yield (f"cookie {row['name']} of {row['domain']} ({row['set_by'] or 'sent'}): "
                   f"{'identifier' if row['identifier'] else 'not an identifier' if row['identifier'] == 0 else '?'}")


class StoreCookies(StageAddon):
    """Provides the cookie stage (see the module docstring)."""

    def mouchard_stages(self) -> list:
        return [CookieStage()]


def _text(value: str) -> str:
    """Header text as decoded for scanning, made safe to store (invalid UTF-8 replaced)."""
    return text(value) or ""


addons = [packaged("addons.store_cookies", "StoreCookies")]
