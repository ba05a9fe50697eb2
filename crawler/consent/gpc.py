"""Global Privacy Control for the gpc phase: `Sec-GPC: 1` on every request and `navigator.globalPrivacyControl`.

Preferred: Chromium's own feature. Checked on Debian Chromium 156: `--enable-features=GlobalPrivacyControlForce`
makes the browser send `Sec-GPC: 1` on every request (page, iframes, workers) and expose
`navigator.globalPrivacyControl === true` through its native getter; nothing is scripted, so a page cannot tell it
from a browser whose user turned GPC on. (`--enable-features=GlobalPrivacyControl` alone exposes nothing, and the
CDP command `Browser.setGlobalPrivacyControl` answers "Global Privacy Control is disabled".) The flag is a launch
argument: the spider adds it to the gpc phase's browser with `gpc_launch_args`.

Fallback, when the browser did not start with it (another Chromium, or a spider without the flag): CDP
`Network.setExtraHTTPHeaders({"Sec-GPC": "1"})` on every target, and a getter defined on `Navigator.prototype`
by `Page.addScriptToEvaluateOnNewDocument` before any page script. That getter is a bound function, so
`toString()` reads "[native code]", but its name differs from Chromium's and a page comparing property
descriptors can find it; workers get the header but not the property. The consent row of the phase says which
method was used (`decoded.method`: chromium-feature or cdp-fallback).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crawler.browser.targets import Target

GPC_FEATURE = "GlobalPrivacyControlForce"
HEADER = {"Sec-GPC": "1"}
FALLBACK_SCRIPT = """(() => {
  const get = (function () { return true; }).bind(null);
  try { Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get, configurable: true, enumerable: true}); }
  catch (e) {}
})();"""


def gpc_launch_args(args: list[str] | tuple[str, ...]) -> list[str]:
    """`args` with GlobalPrivacyControlForce added to --enable-features (merged: Chromium keeps only the last)."""
    out, merged = [], False
    for arg in args:
        if arg.startswith("--enable-features="):
            features = [f for f in arg.split("=", 1)[1].split(",") if f]
            if GPC_FEATURE not in features:
                features.append(GPC_FEATURE)
            arg = "--enable-features=" + ",".join(features)
            merged = True
        out.append(arg)
    if not merged:
        out.append(f"--enable-features={GPC_FEATURE}")
    return out


async def native_gpc(target: "Target") -> bool:
    """True if the browser itself sends GPC (checked on the blank page before navigation: the site sees nothing)."""
    try:
        answer = await target.send("Runtime.evaluate", {
            "expression": "navigator.globalPrivacyControl === true && "
                          "String(Object.getOwnPropertyDescriptor(Navigator.prototype, 'globalPrivacyControl').get)"
                          ".includes('get globalPrivacyControl')",
            "returnByValue": True, "silent": True})
    except Exception:
        return False
    return (answer.get("result") or {}).get("value") is True


async def install_fallback(target: "Target") -> None:
    """CDP fallback on one target: the header on its requests, and the property on its documents."""
    await target.send("Network.setExtraHTTPHeaders", {"headers": HEADER})
    if target.type in ("page", "iframe"):
        await target.send("Page.addScriptToEvaluateOnNewDocument", {"source": FALLBACK_SCRIPT})


async def fetch_gpc_statement(target: "Target", frame_id: str, origin: str, limit: int = 65536) -> tuple[int | None, bytes]:
    """(HTTP status, body) of `origin`/.well-known/gpc.json, loaded by the browser's own network stack (CDP
    `Network.loadNetworkResource`, the DevTools source-map loader): same proxy, resolver and certificates as the
    visit, no page script involved, not a request of the page (it is not recorded as one)."""
    answer = await target.send("Network.loadNetworkResource", {
        "frameId": frame_id, "url": origin.rstrip("/") + "/.well-known/gpc.json",
        "options": {"disableCache": True, "includeCredentials": False}})
    resource = answer.get("resource") or {}
    status = resource.get("httpStatusCode")
    stream = resource.get("stream")
    body = b""
    if stream:
        import base64
        try:
            while len(body) < limit:
                chunk = await target.send("IO.read", {"handle": stream, "size": 16384})
                data = chunk.get("data", "")
                body += base64.b64decode(data) if chunk.get("base64Encoded") else data.encode("utf-8")
                if chunk.get("eof"):
                    break
        finally:
            try:
                await target.send("IO.close", {"handle": stream})
            except Exception:
                pass
    return (int(status) if status is not None else None), body[:limit]
