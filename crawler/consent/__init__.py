"""Consent banners in the browser: find the CMP, act on it as a person would (reject or accept), and read the
consent state it leaves, without the page seeing our instrumentation.

- `rules`: our own rules for common CMPs (selectors of the banner and of its reject/accept controls);
- `texts`: the generic multilingual fallback (button texts for reject, accept, settings, save);
- `clicker`: finds visible controls in every frame (open shadow DOM included) and clicks them (Playwright's
  isolated world, trusted input events);
- `autoconsent`: drives @duckduckgo/autoconsent (npm) in an isolated world over CDP when it is installed;
- `readers`: reads __tcfapi / __gpp / __uspapi and consent cookies at a moment of the visit;
- `verify`: decides whether an action took effect (consent string, CMP cookie, CMP state), pure logic;
- `gpc`: Global Privacy Control for the gpc phase (a native Chromium feature, or a CDP fallback).
The collector that ties them together is crawler/collectors/consent.py; docs/consent.md describes the rows.
"""
