"""Advertising pixels and analytics hits as events: Meta pixel, Google Analytics (GA4 and Universal), Google Ads.

`parse_request(url, body, content_type)` reads one request (a URL, and a POST body when there is one) and returns
the `PixelEvent`s it carries; nothing for any other request. Shared by the browser crawl and the app proxy.

- Meta pixel: `facebook.com/tr` (GET or POST, form or multipart body): `id` (pixel), `ev` (event), `dl`
  (page), `cd[...]` (custom data: value, currency, content ids...), `ud[...]`/`udff[...]` (user data, hashed
  by the pixel: e-mail, phone...), `eid`. `connect.facebook.net/signals/config/<id>` is the pixel's set-up.
- Google Analytics 4: `/g/collect` on google-analytics.com, analytics.google.com or stats.g.doubleclick.net;
  `tid` (G-...), `en` (event), `dl`, `ep.*`/`epn.*` (parameters), `cu`, `up.*` (user properties); a POST body
  holds one event per line, each line's parameters added to the URL's. A hit to stats.g.doubleclick.net without
  an event name is Google's remarketing ("Google Analytics Advertising Features", as Blacklight counts it).
- Universal Analytics: `/collect`, `/j/collect`, `/r/collect`, `/batch`: `tid` (UA-...), `t` (hit type).
- Google Ads: `/pagead/conversion/<id>/` (conversion, on googleadservices.com or doubleclick.net),
  `/pagead/viewthroughconversion/<id>/` and `/pagead/1p-user-list/<id>/` (remarketing),
  `/pagead/1p-conversion/<id>/` (conversion); the account is `AW-<id>`.
- Tag loads: `googletagmanager.com/gtag/js?id=` and `/gtm.js?id=` (event `tag`, the account id).
"""

from __future__ import annotations

import json
import re
import urllib.parse
from dataclasses import dataclass, field

from mouchard.decode.domains import host_of, under

VALUE_CUT = 500  # characters of a parameter value kept

GA_HOSTS = ("google-analytics.com", "analytics.google.com", "stats.g.doubleclick.net")
_ADS_PATH = re.compile(r"/pagead/(conversion|viewthroughconversion|1p-conversion|1p-user-list)/(\d+)/?")
_UA_PATHS = ("/collect", "/j/collect", "/r/collect", "/batch", "/j/batch")
_GA4_EVENT_PARAMS = ("ep.", "epn.")
_UA_EVENT_PARAMS = ("ec", "ea", "el", "ev", "dp", "dt", "ti", "tr", "cu")
_ADS_PARAMS = ("label", "value", "currency_code", "oid", "transaction_id", "gclaw", "gclid")
_ADS_USER_DATA = ("em", "pn", "fn", "ln", "ct", "rg", "pc", "co")


@dataclass(frozen=True)
class PixelEvent:
    """One event a tag reported. `parameters` and `user_data` are the fields as sent (values cut short)."""

    vendor: str  # meta, google-analytics, google-ads, google-tag-manager
    tag_id: str | None  # Meta pixel id, G-..., UA-..., AW-..., GTM-...
    event: str | None  # PageView, Purchase, page_view, pageview, conversion, remarketing, tag...
    page_url: str | None = None
    parameters: dict = field(default_factory=dict)
    user_data: dict = field(default_factory=dict)
    location: str = "url"  # url or body

    def row(self, **extra) -> dict:
        """A `pixel_events` row (JSON text for the dicts)."""
        return {"vendor": self.vendor, "tag_id": self.tag_id, "event": self.event, "page_url": self.page_url,
                "parameters": json.dumps(self.parameters, ensure_ascii=False, sort_keys=True) if self.parameters
                else None,
                "user_data": json.dumps(self.user_data, ensure_ascii=False, sort_keys=True) if self.user_data
                else None,
                "location": self.location, **extra}


def _cut(value: str) -> str:
    return value if len(value) <= VALUE_CUT else value[:VALUE_CUT] + "…"


def _pairs(text: str) -> list[tuple[str, str]]:
    return [(k, _cut(v)) for k, v in urllib.parse.parse_qsl(text, keep_blank_values=True)]


def _body_text(body: bytes | str | None) -> str:
    if body is None:
        return ""
    return body if isinstance(body, str) else body.decode("utf-8", "replace")


def _form_body(body: bytes | str | None, content_type: str | None) -> list[tuple[str, str]]:
    """Fields of a form or multipart body (what the Meta pixel POSTs); [] for anything else."""
    text = _body_text(body)
    ctype = (content_type or "").lower()
    if not text:
        return []
    if ctype.startswith("multipart/"):
        from mouchard.identify.leakdetect import split_multipart

        raw = body.encode("utf-8") if isinstance(body, str) else body
        parts = split_multipart(raw, content_type or "") or []
        return [(name, _cut(part.decode("utf-8", "replace"))) for name, _, part in parts]
    if "=" in text and not text.lstrip().startswith(("{", "[")):
        return _pairs(text.strip())
    return []


def _bracket(name: str, prefix: str) -> str | None:
    """'cd[value]' -> 'value' for prefix 'cd'."""
    if name.startswith(prefix + "[") and name.endswith("]"):
        return name[len(prefix) + 1:-1]
    return None


def _meta(query: list[tuple[str, str]], body_fields: list[tuple[str, str]]) -> list[PixelEvent]:
    fields = query + body_fields
    values = dict(fields)
    if not values.get("id") and not values.get("ev"):
        return []
    parameters, user_data = {}, {}
    for name, value in fields:
        key = _bracket(name, "cd")
        if key is not None:
            parameters[key] = value
            continue
        for prefix in ("ud", "udff"):
            key = _bracket(name, prefix)
            if key is not None:
                user_data[key] = value
    if values.get("eid"):
        parameters.setdefault("event_id", values["eid"])
    location = "body" if body_fields and any(k in ("id", "ev") for k, _ in body_fields) else "url"
    return [PixelEvent("meta", values.get("id") or None, values.get("ev") or None, values.get("dl") or None,
                       parameters, user_data, location)]


def _google_id_vendor(tag_id: str | None, default: str = "google-analytics") -> str:
    if tag_id and tag_id.upper().startswith(("AW-", "DC-")):
        return "google-ads"
    if tag_id and tag_id.upper().startswith("GTM-"):
        return "google-tag-manager"
    return default


def _ga4(host: str, query: list[tuple[str, str]], body: bytes | str | None) -> list[PixelEvent]:
    base = dict(query)
    lines = [line for line in _body_text(body).splitlines() if "=" in line]
    batches = [dict(base, **dict(_pairs(line))) for line in lines] or [base]
    events = []
    for fields in batches:
        tag_id = fields.get("tid") or None
        event = fields.get("en") or ("remarketing" if host.endswith("doubleclick.net") else None)
        parameters = {k.split(".", 1)[1]: v for k, v in fields.items() if k.startswith(_GA4_EVENT_PARAMS)}
        if fields.get("cu"):
            parameters["currency"] = fields["cu"]
        user_data = {k: v for k, v in fields.items() if k.startswith("up.") or k in ("em", "sst.em", "ecid")}
        events.append(PixelEvent(_google_id_vendor(tag_id), tag_id, event, fields.get("dl") or None, parameters,
                                 user_data, "body" if lines else "url"))
    return events


def _universal(query: list[tuple[str, str]], body: bytes | str | None) -> list[PixelEvent]:
    lines = [line for line in _body_text(body).splitlines() if "=" in line]
    hits = [dict(_pairs(line)) for line in lines] or [dict(query)]
    events = []
    for fields in hits:
        if not fields.get("tid"):
            continue
        parameters = {k: fields[k] for k in _UA_EVENT_PARAMS if fields.get(k)}
        events.append(PixelEvent(_google_id_vendor(fields["tid"]), fields["tid"], fields.get("t") or None,
                                 fields.get("dl") or None, parameters, {}, "body" if lines else "url"))
    return events


def _ads(kind: str, account: str, query: list[tuple[str, str]]) -> list[PixelEvent]:
    fields = dict(query)
    event = "remarketing" if kind in ("viewthroughconversion", "1p-user-list") else "conversion"
    parameters = {k: fields[k] for k in _ADS_PARAMS if fields.get(k)}
    user_data = {k: fields[k] for k in _ADS_USER_DATA if fields.get(k)}
    page = fields.get("url") or fields.get("ref") or None
    return [PixelEvent("google-ads", f"AW-{account}", event, page, parameters, user_data)]


def parse_request(url: str, body: bytes | str | None = None, content_type: str | None = None) -> list[PixelEvent]:
    """The pixel and analytics events one request carries (see the module docstring); [] for other requests."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return []
    host = host_of(url)
    path = parts.path or "/"
    query = _pairs(parts.query)
    if under(host, "facebook.com"):
        if path.rstrip("/") == "/tr":
            return _meta(query, _form_body(body, content_type))
        return []
    if host == "connect.facebook.net":
        found = re.match(r"/signals/config/(\d+)", path)
        return [PixelEvent("meta", found[1], "tag")] if found else []
    if under(host, "googleadservices.com", "doubleclick.net", "google.com"):
        found = _ADS_PATH.search(path)
        if found:
            return _ads(found[1], found[2], query)
    if under(host, *GA_HOSTS):
        if path.endswith("/g/collect"):
            return _ga4(host, query, body)
        if path in _UA_PATHS:
            return _universal(query, body)
        return []
    if under(host, "googletagmanager.com") and path in ("/gtag/js", "/gtm.js"):
        tag_id = dict(query).get("id") or None
        return [PixelEvent(_google_id_vendor(tag_id, "google-analytics"), tag_id, "tag")] if tag_id else []
    return []
