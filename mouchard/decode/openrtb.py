"""OpenRTB 2.5/2.6 bid requests and responses, and Prebid Server's user-sync endpoints.

Reads what an ad exchange was sent about a person: ad units, site or app, device (IP, advertising id,
location, hashed ids), user (ids, buyer uid, extended ids), the consent signals it carried (2.5 in `ext`,
2.6 at the top level) and the supply chain; for responses, who bid what for which advertiser.
Hostile bodies (truncated, not UTF-8, compression bombs) give None or a partial result with `errors`,
never an exception.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import urllib.parse
from dataclasses import asdict, dataclass, field

from mouchard.decode.bodies import MAX_INFLATED, BodyError, decode_body  # noqa: F401  (MAX_INFLATED: the cap, re-exported)
from mouchard.decode.consent import consent_params_from_url

MAX_IMPS = 1_000
MAX_BIDS = 10_000

HASHED_DEVICE_IDS = ("didsha1", "didmd5", "dpidsha1", "dpidmd5", "macsha1", "macmd5")
MEDIA_TYPES = ("banner", "video", "audio", "native")
BID_MTYPES = {1: "banner", 2: "video", 3: "audio", 4: "native"}
# imp.ext keys that are not bidder names (older Prebid requests put each bidder's params in imp.ext.<bidder>)
_IMP_EXT_NOT_BIDDERS = frozenset({"prebid", "data", "context", "gpid", "tid", "ae", "skadn", "igs", "paapi",
                                  "rewarded", "tagid", "storedrequest"})
ZERO_IFA = re.compile(r"^[0-]+$")  # iOS and Android send all zeros when ad tracking is limited

_OPENRTB_PATH = re.compile(
    r"/openrtb|/ortb|/rtb/|/bidrequest|/bid(?:s|der)?(?:/|$)|/auction|/header/|/hb/|/prebid(?:js)?(?:/|$)",
    re.IGNORECASE)


@dataclass(frozen=True)
class OpenRtbMessage:
    """One OpenRTB bid request or response, reduced to what says who received which personal data."""

    kind: str                      # "request" or "response"
    version: str | None = None     # "2.5", "2.6" (from the header or the fields' locations) or None
    id: str | None = None
    imps: list[dict] = field(default_factory=list)
    site: dict | None = None
    app: dict | None = None
    device: dict = field(default_factory=dict)
    user: dict = field(default_factory=dict)
    regs: dict = field(default_factory=dict)
    source: dict = field(default_factory=dict)
    auction: dict = field(default_factory=dict)     # at, tmax, cur, test
    bids: list[dict] = field(default_factory=list)  # responses: one entry per seatbid[].bid[]
    currency: str | None = None
    no_bid_reason: int | None = None
    personal_fields: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def is_openrtb_url(url: str) -> bool:
    """Whether a URL looks like a bidding endpoint (/openrtb2/auction, /ortb, /bid, /auction...): a hint
    for which bodies to try; `parse_openrtb` decides."""
    path = urllib.parse.urlsplit(url or "").path
    return bool(_OPENRTB_PATH.search(path))


def parse_openrtb(body: bytes | str | None, content_type: str | None = None,
                  content_encoding: str | None = None, *, openrtb_version: str | None = None) -> OpenRtbMessage | None:
    """Recognise and read an OpenRTB 2.x JSON bid request or response; None when the body is not one.

    `openrtb_version` is the x-openrtb-version header when known. Truncated or invalid JSON that still looks
    like OpenRTB gives a message with only `kind` and `errors`.
    """
    if not body:
        return None
    if isinstance(body, str):
        body = body.encode("utf-8", "surrogatepass")
    if content_type and "protobuf" in content_type.lower():
        return None  # binary OpenRTB (Google's protobuf flavour) is not read here
    try:
        body = decode_body(body, content_encoding)
    except BodyError:
        return None
    errors: list[str] = []
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        text = body.decode("utf-8", "replace")
        errors.append(f"body is not valid UTF-8 at byte {exc.start}")
    stripped = text.lstrip()
    if not stripped.startswith("{"):
        return None
    try:
        document = json.loads(stripped)
    except (ValueError, RecursionError) as exc:
        kind = "request" if '"imp"' in stripped else "response" if '"seatbid"' in stripped else None
        if kind is None:
            return None
        return OpenRtbMessage(kind=kind, version=_clean_version(openrtb_version),
                              errors=errors + [f"invalid JSON: {str(exc)[:200]}"])
    if not isinstance(document, dict):
        return None
    if isinstance(document.get("imp"), list):
        return _request(document, openrtb_version, errors)
    if isinstance(document.get("seatbid"), list) or ("id" in document and "nbr" in document):
        return _response(document, openrtb_version, errors)
    return None


# -- requests ------------------------------------------------------------------------------------------------


def _get(obj, *path):
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value) -> list:
    return value if isinstance(value, list) else []


def _str(value) -> str | None:
    return None if value is None or isinstance(value, (dict, list)) else str(value)


def _num(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _present(value) -> bool:
    return value not in (None, "", [], {})


def _request(doc: dict, header_version: str | None, errors: list[str]) -> OpenRtbMessage:
    marks: set[str] = set()  # "2.5" / "2.6": where the version-dependent fields were found
    personal: list[str] = []
    imps = [_imp(imp) for imp in _list(doc["imp"])[:MAX_IMPS] if isinstance(imp, dict)]
    if len(doc["imp"]) > MAX_IMPS:
        errors.append(f"{len(doc['imp'])} impressions: only the first {MAX_IMPS} read")
    if any(k in imp for imp in _list(doc["imp"])[:MAX_IMPS] if isinstance(imp, dict)
           for k in ("rwdd", "qty", "dt", "refresh", "ssai")):
        marks.add("2.6")
    site = _site(doc.get("site"))
    app = _app(doc.get("app"))
    device = _device(_dict(doc.get("device")), personal, marks)
    user = _user(_dict(doc.get("user")), personal, marks)
    regs = _regs(_dict(doc.get("regs")), marks)
    source = _source(_dict(doc.get("source")), marks)
    auction = {k: doc[k] for k in ("at", "tmax", "cur", "test", "bcat", "badv") if k in doc}
    return OpenRtbMessage(kind="request", version=_version(header_version, marks), id=_str(doc.get("id")),
                          imps=imps, site=site, app=app, device=device, user=user, regs=regs, source=source,
                          auction=auction, personal_fields=personal, errors=errors)


def _imp(imp: dict) -> dict:
    sizes = []
    banner = _dict(imp.get("banner"))
    for fmt in _list(banner.get("format")):
        if isinstance(fmt, dict) and "w" in fmt and "h" in fmt:
            sizes.append([fmt["w"], fmt["h"]])
    for media in ("banner", "video"):
        obj = _dict(imp.get(media))
        if "w" in obj and "h" in obj and [obj["w"], obj["h"]] not in sizes:
            sizes.append([obj["w"], obj["h"]])
    ext = _dict(imp.get("ext"))
    bidders = sorted(_dict(_get(ext, "prebid", "bidder"))) or sorted(
        k for k, v in ext.items() if isinstance(v, dict) and k not in _IMP_EXT_NOT_BIDDERS)
    deals = [_str(d.get("id")) for d in _list(_get(imp, "pmp", "deals")) if isinstance(d, dict)]
    result = {"id": _str(imp.get("id")), "tagid": _str(imp.get("tagid")),
              "media_types": [m for m in MEDIA_TYPES if isinstance(imp.get(m), dict)], "sizes": sizes,
              "bidfloor": _num(imp.get("bidfloor")), "bidfloorcur": _str(imp.get("bidfloorcur")),
              "gpid": _str(ext.get("gpid") or _get(ext, "data", "pbadslot")), "bidders": bidders}
    if deals:
        result["deals"] = deals
    return result


def _site(site) -> dict | None:
    if not isinstance(site, dict):
        return None
    publisher = _dict(site.get("publisher"))
    return {"domain": _str(site.get("domain")), "page": _str(site.get("page")), "ref": _str(site.get("ref")),
            "publisher_id": _str(publisher.get("id")), "publisher_domain": _str(publisher.get("domain"))}


def _app(app) -> dict | None:
    if not isinstance(app, dict):
        return None
    publisher = _dict(app.get("publisher"))
    return {"bundle": _str(app.get("bundle")), "name": _str(app.get("name")), "domain": _str(app.get("domain")),
            "storeurl": _str(app.get("storeurl")), "publisher_id": _str(publisher.get("id"))}


def _geo(geo: dict, path: str, personal: list[str]) -> dict | None:
    if not geo:
        return None
    keys = ("lat", "lon", "type", "accuracy", "country", "region", "metro", "city", "zip", "utcoffset")
    result = {k: geo[k] for k in keys if k in geo and not isinstance(geo[k], (dict, list))}
    if _num(geo.get("lat")) is not None and _num(geo.get("lon")) is not None:
        personal.append(path)  # coordinates, not only a country
    elif _present(geo.get("zip")):
        personal.append(f"{path}.zip")
    return result


def _device(device: dict, personal: list[str], marks: set[str]) -> dict:
    ext = _dict(device.get("ext"))
    ifa = _str(device.get("ifa"))
    result = {"ua": _str(device.get("ua")), "ip": _present(device.get("ip")), "ipv6": _present(device.get("ipv6")),
              "ifa": bool(ifa) and not ZERO_IFA.match(ifa), "ifa_zeroed": bool(ifa) and bool(ZERO_IFA.match(ifa)),
              "hashed_ids": [k for k in HASHED_DEVICE_IDS if _present(device.get(k))]}
    for key in ("lmt", "dnt", "devicetype", "make", "model", "os", "osv", "language", "carrier", "ifv"):
        if key in device and not isinstance(device[key], (dict, list)):
            result[key] = device[key]
    if "atts" in ext:
        result["atts"] = ext["atts"]  # iOS App Tracking Transparency status (3 = authorised)
    if _present(ext.get("ifv")):
        result["ifv"] = True
    geo = _geo(_dict(device.get("geo")), "device.geo", personal)
    if geo is not None:
        result["geo"] = geo
    if "sua" in device:
        marks.add("2.6")
    for key in ("ip", "ipv6"):
        if result[key]:
            personal.append(f"device.{key}")
    if result["ifa"]:
        personal.append("device.ifa")
    personal.extend(f"device.{k}" for k in result["hashed_ids"])
    if _present(ext.get("ifv")):
        personal.append("device.ext.ifv")
    return result


def _user(user: dict, personal: list[str], marks: set[str]) -> dict:
    ext = _dict(user.get("ext"))
    result: dict = {"id": _str(user.get("id")), "buyeruid": _str(user.get("buyeruid"))}
    for key in ("yob", "gender", "keywords"):
        if _present(user.get(key)):
            result[key] = user[key]
    for key in ("id", "buyeruid", "yob", "gender", "keywords", "customdata"):
        if _present(user.get(key)):
            personal.append(f"user.{key}")
    eids, path = _list(user.get("eids")), "user.eids"
    if eids:
        marks.add("2.6")
    elif _list(ext.get("eids")):
        eids, path = _list(ext.get("eids")), "user.ext.eids"
        marks.add("2.5")
    result["eids"] = [{"source": _str(e.get("source")),
                       "ids": [_str(u.get("id")) for u in _list(e.get("uids")) if isinstance(u, dict)]}
                      for e in eids if isinstance(e, dict)]
    if any(e["ids"] for e in result["eids"]):
        personal.append(f"{path}[].uids")
    if _present(user.get("consent")):
        result["consent"], result["consent_location"] = _str(user["consent"]), "user.consent"
        marks.add("2.6")
    elif _present(ext.get("consent")):
        result["consent"], result["consent_location"] = _str(ext["consent"]), "user.ext.consent"
        marks.add("2.5")
    segments = sum(len(_list(d.get("segment"))) for d in _list(user.get("data")) if isinstance(d, dict))
    if segments:
        result["data_segments"] = segments
        personal.append("user.data[].segment")
    geo = _geo(_dict(user.get("geo")), "user.geo", personal)
    if geo is not None:
        result["geo"] = geo
    return result


def _regs(regs: dict, marks: set[str]) -> dict:
    ext = _dict(regs.get("ext"))
    result: dict = {}
    if "coppa" in regs:
        result["coppa"] = regs["coppa"]
    for key in ("gdpr", "us_privacy"):
        if key in regs:
            result[key] = regs[key]
            marks.add("2.6")
        elif key in ext:
            result[key] = ext[key]
            marks.add("2.5")
    for key in ("gpp", "gpp_sid"):
        if key in regs:
            result[key] = regs[key]
            marks.add("2.6")
        elif key in ext:
            result[key] = ext[key]
    return result


def _source(source: dict, marks: set[str]) -> dict:
    result: dict = {}
    if _present(source.get("tid")):
        result["tid"] = _str(source["tid"])
    schain = source.get("schain")
    if isinstance(schain, dict):
        marks.add("2.6")
    else:
        schain = _get(source, "ext", "schain")
        if isinstance(schain, dict):
            marks.add("2.5")
    if isinstance(schain, dict):
        result["schain"] = {"complete": schain.get("complete"), "ver": _str(schain.get("ver")),
                            "nodes": [{k: n.get(k) for k in ("asi", "sid", "hp", "rid") if k in n}
                                      for n in _list(schain.get("nodes")) if isinstance(n, dict)]}
    return result


def _version(header: str | None, marks: set[str]) -> str | None:
    if _clean_version(header):
        return _clean_version(header)
    if "2.6" in marks:
        return "2.6"
    return "2.5" if "2.5" in marks else None


def _clean_version(header: str | None) -> str | None:
    match = re.match(r"\s*(2\.\d+)", header or "")
    return match.group(1) if match else None


# -- responses -----------------------------------------------------------------------------------------------


def _response(doc: dict, header_version: str | None, errors: list[str]) -> OpenRtbMessage:
    currency = _str(doc.get("cur")) or "USD"  # the specification's default
    marks: set[str] = set()
    bids: list[dict] = []
    pairs = ((seatbid, bid) for seatbid in _list(doc.get("seatbid")) if isinstance(seatbid, dict)
             for bid in _list(seatbid.get("bid")) if isinstance(bid, dict))
    for seatbid, bid in pairs:  # one loop over every seatbid[].bid[]: one cap, one error past it
        if len(bids) >= MAX_BIDS:
            errors.append(f"more than {MAX_BIDS} bids: the rest not read")
            break
        if "mtype" in bid:
            marks.add("2.6")
        mtype = bid.get("mtype")  # any JSON value: only an int may be a dict key here (a list is unhashable)
        media = (BID_MTYPES.get(mtype) if isinstance(mtype, int) else None) \
            or _str(_get(bid, "ext", "prebid", "type"))
        bids.append({"seat": _str(seatbid.get("seat")), "id": _str(bid.get("id")),
                     "impid": _str(bid.get("impid")), "price": _num(bid.get("price")),
                     "adomain": [_str(a) for a in _list(bid.get("adomain"))], "crid": _str(bid.get("crid")),
                     "dealid": _str(bid.get("dealid")), "cid": _str(bid.get("cid")),
                     "adid": _str(bid.get("adid")), "w": bid.get("w"), "h": bid.get("h"),
                     "media_type": media, "currency": currency})
    nbr = doc.get("nbr")
    return OpenRtbMessage(kind="response", version=_version(header_version, marks), id=_str(doc.get("id")),
                          bids=bids, currency=currency, no_bid_reason=nbr if isinstance(nbr, int) else None,
                          errors=errors)


# -- Prebid Server user syncs ----------------------------------------------------------------------------------


def parse_setuid(url: str) -> dict | None:
    """A Prebid Server /setuid call: {bidder, uid, format, gdpr, gdpr_consent, ...}; None for other URLs.

    The uid is the bidder's identifier for this browser, now stored by the Prebid Server host: an ID sync.
    """
    parts = urllib.parse.urlsplit(url or "")
    if not parts.path.rstrip("/").endswith("/setuid"):
        return None
    query = dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
    result = {"bidder": query.get("bidder"), "uid": query.get("uid"), "format": query.get("f"),
              "account": query.get("account")}
    result.update(consent_params_from_url(url))
    return result


def is_cookie_sync_url(url: str) -> bool:
    return urllib.parse.urlsplit(url or "").path.rstrip("/").endswith("/cookie_sync")


def parse_cookie_sync(body: bytes | str | None, content_encoding: str | None = None) -> dict | None:
    """A Prebid Server /cookie_sync request or response body.

    Request: {kind, bidders, gdpr, gdpr_consent, us_privacy, gpp, gpp_sid, limit, coop_sync}; response:
    {kind, status, syncs: [{bidder, no_cookie, url, type}]}. None when the body is neither.
    """
    if not body:
        return None
    if isinstance(body, str):
        body = body.encode("utf-8", "surrogatepass")
    try:
        document = json.loads(decode_body(body, content_encoding).decode("utf-8", "replace"))
    except (BodyError, ValueError, RecursionError):
        return None
    if not isinstance(document, dict):
        return None
    if "bidder_status" in document:
        syncs = []
        for item in _list(document["bidder_status"]):
            if isinstance(item, dict):
                sync = _dict(item.get("usersync"))
                syncs.append({"bidder": _str(item.get("bidder")), "no_cookie": item.get("no_cookie"),
                              "url": _str(sync.get("url")), "type": _str(sync.get("type"))})
        return {"kind": "response", "status": _str(document.get("status")), "syncs": syncs}
    keys = ("bidders", "gdpr", "gdpr_consent", "us_privacy", "gpp", "gpp_sid", "limit", "coopSync", "account")
    if not any(k in document for k in keys):
        return None
    result = {"kind": "request", **{k: document.get(k) for k in keys if k in document}}
    if "coopSync" in result:
        result["coop_sync"] = result.pop("coopSync")
    return result


def parse_uids_cookie(value: str) -> dict[str, str]:
    """Prebid Server's `uids` cookie (base64 JSON): bidder -> the uid that bidder synced; {} if unreadable."""
    try:
        text = urllib.parse.unquote(value or "").strip('"')
        data = json.loads(base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_").decode("utf-8"))
    except (ValueError, binascii.Error, UnicodeDecodeError, RecursionError):
        return {}
    if not isinstance(data, dict):
        return {}
    uids: dict[str, str] = {}
    for bidder, entry in _dict(data.get("tempUIDs")).items():
        if isinstance(entry, dict) and _present(entry.get("uid")):
            uids[bidder] = _str(entry["uid"])
    for bidder, uid in _dict(data.get("uids")).items():  # the older format
        if isinstance(uid, str) and uid:
            uids.setdefault(bidder, uid)
    return uids
