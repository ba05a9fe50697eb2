"""AttributeApps: which app sent each flow → `flows.app` and `flows.app_source`.

    mitmdump -s addons/attribute_apps.py [--set mouchard_app=com.example.app]   # alone: logs app per flow

In order: the `mouchard_app` option (one phone, one app under test: everything is that app), the app an
imported capture names for the flow (`flow.metadata`: PCAPdroid's uid of the connection, app_source
`pcapdroid`; a browser's HAR export, app_source `har`), a package name
in a header (`X-Requested-With` from Android WebViews, `X-Android-Package`, `X-Ios-Bundle-Identifier`...),
then the User-Agent: a bundle id in it (`(com.example.app; build:12; iOS 17.0)`, `com.example.app/1.2`), iOS's
`Name/1.2 CFNetwork/... Darwin/...`, Facebook's `[FBAN/...;FBAV/...]`, or a leading `Name/version` product
token that is not a generic HTTP library; `name/version` when the User-Agent gives the version. A package
name also gives the app's own site (`com.spotify.music` →
`spotify.com`), so leaks to it are not counted as third party.
"""

from __future__ import annotations

import re
import urllib.parse

from mitmproxy import ctx

from addons.pipeline import FlowRecord, StageAddon, packaged

from addons.snapshots import FlowSnapshot

PACKAGE_HEADERS = ("x-requested-with", "x-android-package", "x-ios-bundle-identifier", "x-bundle-id",
                   "x-app-package", "x-app-bundle-id", "x-package-name", "x-client-bundle-id", "x-app-id")
# Product tokens of HTTP stacks and browsers, not of apps.
GENERIC_PRODUCTS = frozenset(p.lower() for p in (
    "Mozilla", "Dalvik", "okhttp", "Java", "Apache-HttpClient", "curl", "Wget", "python-requests", "python-httpx",
    "Python-urllib", "CFNetwork", "Darwin", "AppleWebKit", "Chrome", "Safari", "Version", "Mobile", "Gecko",
    "Firefox", "AndroidDownloadManager", "com.apple.trustd", "Go-http-client", "axios", "node-fetch", "Cronet",
    "GoogleMobile", "Opera", "Edg", "UnityPlayer", "grpc-java-okhttp", "grpc-objc", "Alamofire", "Ktor",
    "Retrofit", "Volley", "libcurl", "AFNetworking", "nsurlsession", "WebView", "Linux", "Android", "iOS",
    "iPhone", "iPad", "Windows", "Macintosh", "mitmproxy", "httpx", "Dart"))
_PACKAGE = re.compile(r"(?<![\w.])([a-z][a-z0-9_]*(?:\.[a-zA-Z_][a-zA-Z0-9_]*){2,})(?![\w.])")
_CFNETWORK = re.compile(r"^([^/]+)/(\S+)\s+CFNetwork/")
_FBAN = re.compile(r"FBAN/([^;\]]+)(?:.*?FBAV/([^;\]]+))?")
_PRODUCT = re.compile(r"^([A-Za-z][\w .%+-]{0,60}?)/([\w.+-]+)")
_VERSION = re.compile(r"/(\d[\w.+-]*)")
_NOT_PACKAGES = ("com.google.android.gms", "com.android.", "android.", "java.", "javax.", "dalvik.")


def is_package(value: str) -> bool:
    """A reverse-DNS app id such as com.example.app (not XMLHttpRequest, not a host name)."""
    return bool(_PACKAGE.fullmatch(value.strip())) and not value.startswith(_NOT_PACKAGES)


def app_from_user_agent(user_agent: str) -> str | None:
    """The app named by a User-Agent: bundle id, iOS app name/version, Facebook's FBAN, or a product token."""
    if not user_agent:
        return None
    ua = user_agent.strip()
    m = _FBAN.search(ua)
    if m:
        return f"{m[1]}/{m[2]}" if m[2] else m[1]
    for m in _PACKAGE.finditer(ua):
        if is_package(m[1]):
            version = _VERSION.match(ua, m.end())
            return f"{m[1]}/{version[1]}" if version else m[1]
    m = _CFNETWORK.match(ua)
    if m:
        return f"{urllib.parse.unquote(m[1]).strip()}/{m[2]}"
    m = _PRODUCT.match(ua)
    if m and m[1].strip().lower() not in GENERIC_PRODUCTS and not m[1].lower().startswith("mozilla"):
        return f"{urllib.parse.unquote(m[1]).strip()}/{m[2]}"
    return None


def attribute(snap: FlowSnapshot, option: str | None = None) -> tuple[str | None, str | None]:
    """(app, how it was attributed) for one flow; (None, None) when nothing says."""
    if option:
        return option, "option"
    if snap.app_hint:  # the capture names the app (PCAPdroid: the uid that owned the connection)
        return snap.app_hint
    for name in PACKAGE_HEADERS:
        value = snap.request_header(name)
        if value and is_package(value):
            return value.strip(), "x-requested-with" if name == "x-requested-with" else "header"
    app = app_from_user_agent(snap.request_header("user-agent") or "")
    return (app, "user-agent") if app else (None, None)


def own_site(app: str | None) -> str | None:
    """`spotify.com` for `com.spotify.music`: the site an app's own servers most likely use."""
    if not app or not is_package(app.split("/")[0]):
        return None
    labels = app.split("/")[0].split(".")
    return f"{labels[1]}.{labels[0]}".lower()


class AttributionStage:
    """Stage: flows.app and flows.app_source, and the app's own site for the leaks' third_party column."""

    order = 10

    def __init__(self, app: str | None = None):
        self.app = app

    def process(self, snap: FlowSnapshot, record: FlowRecord) -> None:
        app, source = attribute(snap, self.app)
        record.flow["app"], record.flow["app_source"] = app, source
        record.notes["first_party_site"] = own_site(app)

    def describe(self, record: FlowRecord):
        yield f"{record.flow['app'] or 'unknown app'} ({record.flow['app_source']}) -> {record.flow['url']}"


class AttributeApps(StageAddon):
    """Declares `mouchard_app` and provides the attribution stage (see the module docstring)."""

    def __init__(self) -> None:
        self.app: str | None = None

    def load(self, loader) -> None:
        loader.add_option("mouchard_app", str, "",
                          "App under test: every flow is attributed to it (else: headers, then User-Agent).")

    def configure(self, updated) -> None:
        if "mouchard_app" in updated:
            self.app = ctx.options.mouchard_app.strip() or None

    def mouchard_stages(self) -> list:
        return [AttributionStage(self.app)]


addons = [packaged("addons.attribute_apps", "AttributeApps")]
