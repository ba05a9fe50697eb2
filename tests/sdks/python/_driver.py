"""What every Python SDK driver shares: its arguments, a fail-closed network guard, and its one output line.

A driver is `python tests/sdks/python/<sdk>.py VALUES.json CASE` (see tests/sdks/values.py for VALUES): it sends,
through the SDK's public API, the one planted value of kind CASE (or only decoys for CASE `decoy`), flushes, and
prints `{"sdk": ..., "version": ..., "sent": [kinds]}`. `start()` also makes every socket of the process go to
the proxy named by HTTPS_PROXY and nowhere else: the drivers name real production hosts, and an SDK transport
that ignored the proxy must fail, not reach the Internet.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import socket
import sys
import urllib.parse

KINDS = ("advertising_id", "android_id", "email", "phone", "name", "location")


def _guard_sockets() -> None:
    """Refuse any TCP connection but to the proxy (fail closed), and any name resolution but the proxy's."""
    raw = os.environ.get("HTTPS_PROXY") or os.environ.get("https_proxy")
    if not raw:
        sys.exit("driver: HTTPS_PROXY is not set; refusing to talk to production hosts")
    proxy = urllib.parse.urlsplit(raw)
    allowed = {(proxy.hostname, proxy.port)}
    connect = socket.socket.connect

    def guarded(self, address):  # type: ignore[no-untyped-def]
        if self.family in (socket.AF_INET, socket.AF_INET6) and tuple(address[:2]) not in allowed:
            raise ConnectionRefusedError(f"driver: connection to {address!r} bypasses the proxy")
        return connect(self, address)

    resolve = socket.getaddrinfo

    def guarded_resolve(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        name = host.decode() if isinstance(host, bytes) else host
        if name != proxy.hostname:  # through a proxy the client never resolves the destination itself
            raise socket.gaierror(socket.EAI_NONAME, f"driver: resolving {name!r} bypasses the proxy")
        return resolve(host, *args, **kwargs)

    socket.socket.connect = guarded  # type: ignore[method-assign]
    socket.getaddrinfo = guarded_resolve


def start(sdk: str, package: str) -> tuple[dict, dict, str]:
    """Parse the command line and guard the network: (values to send, the whole values document, case).

    `values` holds the planted value of CASE only (or every decoy for `decoy`), so a driver cannot send more
    than its case by mistake: it sends what it gets."""
    if len(sys.argv) != 3 or sys.argv[2] not in (*KINDS, "decoy"):
        sys.exit(f"usage: {sys.argv[0]} VALUES.json {'|'.join((*KINDS, 'decoy'))}")
    _guard_sockets()
    with open(sys.argv[1], encoding="utf-8") as f:
        document = json.load(f)
    case = sys.argv[2]
    if case == "decoy":
        values = dict(document["decoy"])
    else:
        values = {case: document["planted"][case]}
        if case == "name":
            values.update(first_name=document["planted"]["first_name"], last_name=document["planted"]["last_name"])
    global _SDK, _VERSION
    _SDK, _VERSION = sdk, importlib.metadata.version(package)
    return values, document, case


_SDK = _VERSION = ""


def done(sent: list[str]) -> None:
    """Print the driver's one output line: the kinds it really sent (in decoy runs: the decoy kinds)."""
    print(json.dumps({"sdk": _SDK, "version": _VERSION, "sent": sorted(set(sent))}), flush=True)


def phone_as_written(e164: str, style: str) -> str:
    """A French E.164 number (+33XXXXXXXXX) as people and apps write it: `intl_spaced` (+33 6 87 41 29 53),
    `national_spaced` (06 87 41 29 53) or `national_dotted` (06.87.41.29.53). Some drivers pass the number to their
    SDK in one of these forms, as an app forwards what its user typed (issue #15: written forms were missed)."""
    national = "0" + e164[3:]
    pairs = [national[i:i + 2] for i in range(0, len(national), 2)]
    if style == "intl_spaced":
        return " ".join(["+33", national[1], *pairs[1:]])
    return (" " if style == "national_spaced" else ".").join(pairs)


def ca_bundle() -> str:
    """The CA file the harness trusts (the proxy's), for SDKs that take a CA option rather than the environment."""
    return os.environ["SSL_CERT_FILE"]


def segment_spec(client, user: str, values: dict, phone: str | None = None) -> list[str]:
    """Send `values` as the Segment spec names them, through a Segment-compatible client (Segment's own SDK and
    RudderStack's fork of it): traits (email, phone, firstName, lastName) with `identify`, device ids and position
    in the context of a `track`. `phone` is the phone as written (default: as planted). Returns the kinds sent."""
    sent = []
    traits: dict = {}
    if "email" in values:
        traits["email"] = values["email"]
        sent.append("email")
    if "phone" in values:
        traits["phone"] = phone or values["phone"]
        sent.append("phone")
    if "name" in values:
        traits["firstName"], traits["lastName"] = values["first_name"], values["last_name"]
        sent.append("name")
    if traits:
        client.identify(user, traits)
    device: dict = {"manufacturer": "Google", "model": "Pixel 8", "type": "android"}
    context: dict = {"device": device}
    if "advertising_id" in values:
        device["advertisingId"], device["adTrackingEnabled"] = values["advertising_id"], True
        sent.append("advertising_id")
    if "android_id" in values:
        device["id"] = values["android_id"]
        sent.append("android_id")
    if "location" in values:
        context["location"] = {"latitude": values["location"]["lat"], "longitude": values["location"]["lon"]}
        sent.append("location")
    if set(sent) - set(traits) - {"name"}:
        client.track(user, "Order Completed", {"revenue": 19.9}, context=context)
    client.flush()
    return sent
