"""RecordScriptCookies: which script wrote which cookie, from the `document.cookie` setter.

A collector without rows of its own: it has the visit's call recorder (crawler/collectors/calls.py) watch the
`document.cookie` setter (`mouchard.detect.fingerprinting.COOKIE_WRITE`) in every document, and RecordCookies
(crawler/collectors/cookies.py) turns each distinct string a script wrote into a `cookies` row with its script
(`setter_url`). It is separate from RecordFingerprinting so that script cookies keep their script when
fingerprinting is off (`CollectorSettings(fingerprinting=False)`): the recorder is then armed on this one
function (one breakpoint per renderer process, a condition per cookie write). Workers have no `document.cookie`.
"""

from __future__ import annotations

from crawler.collectors.calls import CallRecorder
from mouchard.detect.fingerprinting import COOKIE_WRITE


class RecordScriptCookies(CallRecorder):
    """Arms the call recorder on `document.cookie` writes; RecordCookies reads them (see the module docstring)."""

    name = "script_cookies"
    order = 150  # with RecordFingerprinting off, arms the call recorder on document.cookie alone
    tables = ()
    apis = frozenset({COOKIE_WRITE})
    workers = False
