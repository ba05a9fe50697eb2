"""The vantage point of an audit: the public IP address and country the sites saw, when asked to look it up.

Off by default (an audit must not call a third party unless told to); the lookup goes through the audit's proxy,
since that is where the sites saw the traffic come from. The answer is recorded as given, with its source.
"""

from __future__ import annotations

import json

from mouchard.net import FetchError, NetworkOptions, fetch
from mouchard.storage.store import utcnow

DEFAULT_URL = "https://ipinfo.io/json"


def unknown(reason: str = "lookup off (use --vantage-lookup)") -> dict:
    return {"ip": "unknown", "country": "unknown", "source": None, "looked_up_at": None, "note": reason}


def lookup_vantage(network: NetworkOptions, url: str = DEFAULT_URL, timeout: float = 10.0) -> dict:
    """Ask `url` (a JSON service answering {ip, country}) through the audit's proxy; 'unknown' on failure."""
    through = NetworkOptions(proxy=network.proxy, ca_file=network.ca_file,
                             ignore_https_errors=network.ignore_https_errors)  # not the host map: a lab's
    try:
        answer = json.loads(fetch(url, through, timeout=timeout, max_bytes=100_000).body.decode("utf-8"))
    except (FetchError, ValueError, UnicodeDecodeError) as exc:
        return unknown(f"lookup failed: {exc}")
    if not isinstance(answer, dict):
        return unknown("lookup failed: the answer is not a JSON object")
    ip = answer.get("ip") or answer.get("query")
    country = answer.get("country") or answer.get("country_code") or answer.get("countryCode")
    return {"ip": str(ip) if ip else "unknown", "country": str(country) if country else "unknown",
            "source": url, "looked_up_at": utcnow(), "note": None}
