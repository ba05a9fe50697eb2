"""RecordCookies: every cookie set during a visit, by Set-Cookie header or by script, and by which response or script.

Header cookies come from `Network.responseReceivedExtraInfo` (RecordRequests keeps them): the raw Set-Cookie lines
minus those the browser refused (`blockedCookies`), tied to the response's request row.

Script cookies: the `document.cookie` setter (`mouchard.detect.fingerprinting.COOKIE_WRITE`) is watched by the visit's
call recorder (crawler/collectors/calls.py says how, invisibly to the page and without pausing it), which
RecordScriptCookies (crawler/collectors/script_cookies.py) turns on whether fingerprinting is on or not. Each distinct string a script wrote, with the script that wrote it (from the call
stack), the document it was written in and when it was first written, becomes a row: the string is a Set-Cookie
line for the document's URL. Writes the browser would refuse (a Domain attribute the document's host is not in,
Secure on plain HTTP, HttpOnly) and deletions (an expiry in the past) make no row; nor does a script re-writing a
cookie a header set with the same value.
Limits: without RecordScriptCookies in `MOUCHARD_COLLECTORS` (nor RecordFingerprinting, which arms the same
recorder), script cookies come from the final jar only (`setter_url` empty); `cookieStore.set()` is not hooked (its cookies come from the jar too); beyond 100
distinct strings per script and document, further writes are not attributed.

Requested and effective: each row keeps the attributes as the header or the script wrote them (`requested_*`,
parsed by `mouchard.detect.cookies.parse_set_cookie`: the expiry a site asked for, SameSite as written) and, in the plain
columns, what Chromium kept. These come from the browser's cookie jar, read over CDP (`Network.getAllCookies`,
all domains and partitions) rather than Playwright's `context.cookies()`, which reports an unspecified SameSite
as `Lax` and drops the priority: the jar cookie with the same name, value and a matching domain gives the row
its stored domain, path, expiry (capped at 400 days), SameSite ('' = unspecified, which Chromium treats as Lax
by default), flags, partition and priority. A setting later overwritten or deleted keeps the RFC 6265bis
prediction. Jar cookies nothing explains become rows too (`setter_url` empty, `requested_*` empty) and are
counted in `mouchard/cookies/unattributed` — except, in the second-site phase, the cookies site A left in the jar
(`visit.shared.primed_jar`, matched by domain, name and value hash), which this visit did not set again: they are
A's, counted in `mouchard/cookies/primed_not_set_again`. Header cookies the browser refused make no row (the browser never
held them): they are counted per CDP reason in `mouchard/cookies/refused_by_browser/<reason>`. The rows are left in
`visit.shared.cookie_rows`, each with a `_ref`, for collectors that point at them (id_syncs.cookie_id).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time

from crawler.browser.targets import CDPError
from crawler.collectors.base import Collector, Ref, Rows, VisitContext
from crawler.collectors.calls import CallRecorder
from crawler.consent.sequences import jar_entry
from mouchard.detect.cookies import apply_browser, cookie_key, deletes, from_browser, parse_set_cookie
from mouchard.decode.domains import host_of, is_public_suffix, under
from mouchard.detect.fingerprinting import COOKIE_WRITE

MAX_REFUSAL_REASONS = 8  # CDP blockedReasons counted per refused cookie (an enum: a handful at most)


def _utc(epoch: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, dt.timezone.utc)


class RecordCookies(Collector):
    """Cookie rows: header cookies, script cookies with their script, and the final jar."""

    name = "cookies"
    order = 200  # after RecordRequests (its Set-Cookie events); before DetectIdSyncs
    tables = ("cookies",)

    # --- script writes ---------------------------------------------------------------------------------------
    @staticmethod
    async def _script_writes(visit: VisitContext) -> list[tuple[dict, int, dt.datetime, str]]:
        """(cookies row, ms from navigation start, time, document URL) per distinct string a script wrote."""
        epoch_at_start = time.time() - (time.monotonic() - visit.nav_start)
        found = []
        for (script, document_url), use in (await CallRecorder.recorded_calls(visit, COOKIE_WRITE)).items():
            for value in use.values:
                if not value or not isinstance(value[0], str) or not document_url:
                    continue
                time_ms = use.value_ms.get(value, use.first_ms if use.first_ms is not None else visit.elapsed_ms())
                set_at = _utc(epoch_at_start + time_ms / 1000)
                row = parse_set_cookie(value[0], document_url, set_at, first_party=visit.site)
                if row is None or not browser_accepts(row, document_url):
                    visit.count("cookies/script_writes_refused")
                    continue
                row.update(set_by="script", setter_url=script)
                found.append((row, time_ms, set_at, document_url))
        return found

    # --- rows ------------------------------------------------------------------------------------------------
    async def collect(self, visit: VisitContext) -> Rows:
        network = visit.shared.network
        rows: list[dict] = []
        header_pairs: set[tuple[str, str]] = set()
        before_consent_ms = visit.shared.consent_action_ms

        def finish(row: dict, time_ms: int) -> dict:
            row["set_at_ms"] = time_ms
            row["before_consent"] = int(before_consent_ms is None or time_ms < before_consent_ms)
            return row

        for event in network.set_cookies if network is not None else ():
            hop = network.hop_row(event.request_id, event.hop)
            url = hop[0]["url"] if hop else ""
            for line in event.lines:
                row = parse_set_cookie(line, url, _utc(event.wall), first_party=visit.site)
                if row is None:
                    continue
                if deletes(row, _utc(event.wall)):
                    visit.count("cookies/deleted_by_header")
                    continue
                header_pairs.add((row["name"], row["value"]))
                if hop is not None:
                    row["request_id"] = Ref("requests", hop[1])
                row["_set_at"] = _utc(event.wall)
                rows.append(finish(row, event.time_ms))
            if event.blocked:
                visit.count("cookies/refused_by_browser", len(event.blocked))
                for blocked in event.blocked:
                    for reason in (blocked.get("blockedReasons") or [])[:MAX_REFUSAL_REASONS]:
                        visit.count(f"cookies/refused_by_browser/{_reason(reason)}")

        jar = await self._jar(visit)

        for written, time_ms, set_at, _document_url in await self._script_writes(visit):
            if deletes(written, set_at):
                visit.count("cookies/deleted_by_script")
                continue
            if (written["name"], written["value"]) in header_pairs:
                continue
            written["_set_at"] = set_at
            rows.append(finish(written, time_ms))

        # The jar says what the browser kept of each setting still there: same name and value, matching domain.
        explained = {cookie_key(r) for r in rows}
        explained_values = {(r["name"], r.get("value")) for r in rows}
        now = dt.datetime.now(dt.timezone.utc)
        for cookie in jar:
            row = from_browser(cookie, now, first_party=visit.site)
            for recorded in rows:
                if ((recorded["name"], recorded.get("value")) == (row["name"], row["value"])
                        and _domain_match(row["domain"], recorded.get("domain") or "")):
                    apply_browser(recorded, cookie, recorded["_set_at"])
            if cookie_key(row) in explained or (row["name"], row["value"]) in explained_values:
                continue
            if visit.shared.primed_jar and jar_entry(cookie) in visit.shared.primed_jar:
                visit.count("cookies/primed_not_set_again")  # second-site: site A's, and this site did not set it
                continue
            row.update(set_by="header" if row["http_only"] else "script", setter_url=None)
            rows.append(finish(row, visit.elapsed_ms()))
            visit.count("cookies/unattributed")
        for row in rows:
            row.pop("_set_at", None)
        rows = _dedupe(rows)
        for ref, row in enumerate(rows):  # later collectors point at these rows (id_syncs.cookie_id)
            row["_ref"] = ref
        visit.shared.cookie_rows = rows
        visit.count("cookies/recorded", len(rows))
        return {"cookies": rows}

    async def _jar(self, visit: VisitContext) -> list[dict]:
        """Every cookie of the browser context, as CDP reports them (sameSite absent = unspecified, priority).

        The page's CDP session answers for its browser context (the network service, not the renderer: works
        on an unresponsive page too). Without it, Playwright's list, which says `Lax` for an unspecified
        SameSite: counted in `mouchard/cookies/jar_from_playwright`.
        """
        if visit.hub is not None:
            try:
                answer = await visit.page_target.send("Network.getAllCookies", timeout=5.0)
                return [c for c in answer.get("cookies") or [] if isinstance(c, dict)]
            except CDPError:
                visit.count("cookies/jar_cdp_unavailable")
        if visit.context is None:
            return []
        try:
            cookies = await asyncio.wait_for(visit.context.cookies(), 5.0)
        except Exception:
            visit.count("cookies/jar_unavailable")
            return []
        visit.count("cookies/jar_from_playwright")
        return list(cookies)


def _reason(reason: object) -> str:
    """A CDP blocked reason as a stats key part (an enum such as DomainMismatch; anything else is 'other')."""
    text = str(reason)
    return text if text.isascii() and text.isalnum() and len(text) <= 40 else "other"


def browser_accepts(row: dict, url: str) -> bool:
    """Would a browser take this `document.cookie` write from a document at `url`? (RFC 6265 5.3, 6265bis)"""
    host = host_of(url)
    domain = (row.get("domain") or "").lstrip(".").lower()
    if row.get("http_only") or (row.get("secure") and not url.startswith("https:")):
        return False
    if domain != host and is_public_suffix(domain):  # `domain=.fr`: a probe for the registrable domain, refused
        return False
    return not host or under(host, domain)


def _domain_match(cookie_domain: str, host_or_domain: str) -> bool:
    a, b = cookie_domain.lstrip(".").lower(), host_or_domain.lstrip(".").lower()
    return under(b, a) or under(a, b)


def _dedupe(rows: list[dict]) -> list[dict]:
    """One row per cookie setting: the same name, domain, path and value from the same setter counts once."""
    seen: set = set()
    out = []
    for row in rows:
        key = (*cookie_key(row), row.get("value"), row.get("set_by"), row.get("setter_url"))
        if key in seen:
            continue
        seen.add(key)
        out.append(row)
    return out
