"""The time of a replay: the page script that starts a replayed visit's clock at the capture time (`clock_script`),
and the archived cookie dates moved by the capture's age (`shift_cookie_expires`, `capture_age`).

A replayed page must see the date it was captured at: cookie lifetimes it computes, consent strings' timestamps,
cache busters and "expires in 30 days" logic then read as they did. Chromium's own clock (TLS, the cookie jar) stays
real: the replay server (mouchard.archive.replay_server) shifts archived Set-Cookie `Expires=` dates instead.

The script replaces the global `Date` by a Proxy of the native one (as wombat.js does in pywb): only the three ways
of reading "now" change — `Date.now()`, `new Date()` with no argument and `Date()` called as a function. Everything
else is the native object seen through the proxy: `Date.prototype` and its methods (the fingerprinting recorder
breaks on the native `Date.prototype.getTime`: the script never calls it), `Date.parse`, `Date.UTC`, `length`,
`name`, `instanceof Date`, subclassing. `Function.prototype.toString` is masked so that `Date`, `Date.now` and the
masking function itself print as native code. Timers and `performance` are untouched (they measure durations, not
dates). The script must be added once per document (Page.addScriptToEvaluateOnNewDocument): running it twice
would add the offset twice. Workers keep the real clock (the DevTools call does not reach them).
"""

from __future__ import annotations

import http.cookiejar
import math
import re
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime

# An offset beyond ±1000 years is not a capture time: a bug or hostile metadata upstream, refused.
OFFSET_MAX_MS = 1000 * 366 * 24 * 3600 * 1000

_EXPIRES = re.compile(r"(;[ \t]*expires[ \t]*=[ \t]*)([^;]{0,100})", re.IGNORECASE)

_SCRIPT = """(() => {
  const OFFSET = %d;
  const NativeDate = Date, realNow = NativeDate.now, apply = Reflect.apply, construct = Reflect.construct;
  const nativeToString = Function.prototype.toString, wmGet = WeakMap.prototype.get;
  const dateToString = NativeDate.prototype.toString;
  const now = () => realNow() + OFFSET;
  const masks = new WeakMap();
  const fakeNow = {now() { return now(); }}.now;
  const ShiftedDate = new Proxy(NativeDate, {
    construct(target, args, newTarget) {
      return construct(target, args.length === 0 ? [now()] : args, newTarget);
    },
    apply() { return apply(dateToString, new NativeDate(now()), []); },
  });
  const toString = {toString() {
    const masked = typeof this === "function" ? apply(wmGet, masks, [this]) : undefined;
    return apply(nativeToString, masked === undefined ? this : masked, []);
  }}.toString;
  masks.set(ShiftedDate, NativeDate);
  masks.set(fakeNow, realNow);
  masks.set(toString, nativeToString);
  const hidden = (value) => ({value, writable: true, enumerable: false, configurable: true});
  Object.defineProperty(NativeDate, "now", hidden(fakeNow));
  Object.defineProperty(NativeDate.prototype, "constructor", hidden(ShiftedDate));
  Object.defineProperty(Function.prototype, "toString", hidden(toString));
  Object.defineProperty(globalThis, "Date", hidden(ShiftedDate));
})();"""


def clock_script(offset_ms: int) -> str:
    """JavaScript run first in every document of a replayed visit: `Date.now()`, `new Date()` and `Date()` read the
    real clock plus `offset_ms` (capture time minus replay start); timers and `performance` untouched.

    `offset_ms` must be an integer number of milliseconds within ±OFFSET_MAX_MS (ValueError otherwise: the value
    is written into a script, so nothing but a plain integer may reach it)."""
    if isinstance(offset_ms, bool):
        raise ValueError("clock offset must be an integer number of milliseconds, not a boolean")
    if isinstance(offset_ms, float):
        if not math.isfinite(offset_ms) or not offset_ms.is_integer():
            raise ValueError(f"clock offset must be a finite whole number of milliseconds, not {offset_ms!r}")
        offset_ms = int(offset_ms)
    if not isinstance(offset_ms, int):
        raise ValueError(f"clock offset must be an integer number of milliseconds, not {type(offset_ms).__name__}")
    if abs(offset_ms) > OFFSET_MAX_MS:
        raise ValueError(f"clock offset {offset_ms} ms is beyond ±{OFFSET_MAX_MS} ms (1000 years)")
    return _SCRIPT % offset_ms


def _cookie_date(text: str) -> datetime | None:
    text = text.strip()
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        seconds = http.cookiejar.http2time(text)  # tolerant: the many formats sites write
        if seconds is None:
            return None
        try:
            when = datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def shift_cookie_expires(value: str, delta: timedelta) -> str:
    """A Set-Cookie value with its `Expires=` date moved by `delta` (an unparseable date is left as it is)."""
    def shifted(match: re.Match) -> str:
        when = _cookie_date(match.group(2))
        if when is None:
            return match.group(0)
        try:
            return match.group(1) + format_datetime(when + delta, usegmt=True)
        except (OverflowError, ValueError):
            return match.group(0)
    return _EXPIRES.sub(shifted, value)


def capture_age(captured_at: str, now: datetime) -> timedelta | None:
    """now minus an ISO 8601 capture time (naive: UTC); None when it cannot be read."""
    try:
        when = datetime.fromisoformat(captured_at.strip())
    except (ValueError, AttributeError):
        return None
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when
    try:
        return now - when
    except OverflowError:
        return None
