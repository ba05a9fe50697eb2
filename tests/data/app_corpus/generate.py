"""Generate the labelled app-traffic corpus: `python tests/data/app_corpus/generate.py` (fixed seed, reproducible).

Writes `corpus.jsonl`, one app-like request (or WebSocket message) per line, in the style of real SDKs —
analytics batches, attribution calls, OpenRTB bid requests, location beacons, protobuf-ish uploads — with the
values of `demoweb/data/profiles/android.yml` planted in them. Every (identifier kind, encoding) pair is planted
once, so each planted identifier is in a different encoding, and in a carrier (query, path, header, cookie,
JSON / form / multipart / protobuf body, compressed, WebSocket) that rotates. Every request also carries
decoys: random UUIDs and ids, far-away and near-miss coordinates, near-miss IMEI, phone and MAC numbers.

Line format: {"id", "type": "http"|"websocket", "sdk", "method", "url", "headers": [[name, value]],
"body_b64", "content_type", "content_encoding", "labels": [{"kind", "location", "encoding"}]}.
A label is what a perfect detector reports as (kind, location) for that request.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import random
import urllib.parse
import uuid
import zlib
from pathlib import Path

import brotli
import yaml
import zstandard

HERE = Path(__file__).resolve().parent
PROFILE = HERE.parents[2] / "demoweb" / "data" / "profiles" / "android.yml"
SEED = 20240611


def b64(data: bytes, urlsafe: bool = False, pad: bool = True) -> str:
    text = (base64.urlsafe_b64encode if urlsafe else base64.b64encode)(data).decode()
    return text if pad else text.rstrip("=")


def digest(name: str, text: str) -> str:
    return hashlib.new(name, text.encode()).hexdigest()


def jwt(claims: dict) -> str:
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode(), True, False)
    body = b64(json.dumps(claims).encode(), True, False)
    return f"{head}.{body}.{b64(hashlib.sha256(body.encode()).digest(), True, False)}"


# Encodings of a string value: name -> function(value, rng) -> wire text.
ENCODINGS = {
    "plain": lambda v, r: v,
    "upper": lambda v, r: v.upper(),
    "urlencode": lambda v, r: urllib.parse.quote(v, safe=""),
    "urlencode2": lambda v, r: urllib.parse.quote(urllib.parse.quote(v, safe=""), safe=""),
    "base64": lambda v, r: b64(v.encode()),
    "base64-nopad": lambda v, r: b64(v.encode(), pad=False),
    "base64url": lambda v, r: b64(v.encode(), urlsafe=True, pad=False),
    "base64-offset1": lambda v, r: b64(b"{" + v.encode() + b"}"),
    "base64-offset2": lambda v, r: b64(b"u=" + v.encode() + b";t=1"),
    "hex": lambda v, r: v.encode().hex(),
    "md5": lambda v, r: digest("md5", v),
    "sha1": lambda v, r: digest("sha1", v),
    "sha224": lambda v, r: digest("sha224", v),
    "sha256": lambda v, r: digest("sha256", v),
    "sha256-upper": lambda v, r: digest("sha256", v).upper(),
    "sha384": lambda v, r: digest("sha384", v),
    "sha512": lambda v, r: digest("sha512", v),
    "sha1-base64": lambda v, r: b64(hashlib.sha1(v.encode()).digest()),
    "sha256-base64url": lambda v, r: b64(hashlib.sha256(v.encode()).digest(), True, False),
    "sha256-of-md5": lambda v, r: digest("sha256", digest("md5", v)),
    "md5-of-sha1": lambda v, r: digest("md5", digest("sha1", v)),
    "json-in-json": lambda v, r: json.dumps({"ctx": {"device": v, "n": r.randint(1, 9)}}),
    "jwt": lambda v, r: jwt({"sub": v, "iat": 1700000000 + r.randint(0, 10 ** 6)}),
    "gzip-base64": lambda v, r: b64(gzip.compress(json.dumps({"uid": v, "ts": 1}).encode(), mtime=0)),
    "form-in-base64": lambda v, r: b64(f"v=2&id={urllib.parse.quote(v)}&t=9".encode(), urlsafe=True),
}


def normal_form(kind: str, value: str, rng: random.Random) -> str:
    """One of the spellings apps use for a value of this kind."""
    if kind == "advertising_id":
        return rng.choice([value, value.upper(), value.replace("-", ""), value.replace("-", "").upper()])
    if kind in ("wifi_mac", "bluetooth_mac", "bssid"):
        return rng.choice([value, value.upper(), value.replace(":", "-"), value.replace(":", "")])
    if kind == "imei":
        return rng.choice([value, value[:14]])
    if kind == "phone":
        return rng.choice([value, value[1:], "0" + value[3:], "00" + value[1:]])
    if kind == "email":
        return rng.choice([value, value.lower()])
    return value


def decoy_values(rng: random.Random, profile: dict) -> list[tuple[str, str]]:
    """Values that look like identifiers and positions but are not the phone's."""
    imei = profile["identifiers"]["imei"]
    phone = profile["identifiers"]["phone"]
    mac = profile["identifiers"]["wifi_mac"]
    lat, lon = profile["location"]["lat"], profile["location"]["lon"]
    near_imei = imei[:-1] + str((int(imei[-1]) + 3) % 10)
    mid = rng.randrange(4, 12)
    near_imei2 = imei[:mid] + str((int(imei[mid]) + 1) % 10) + imei[mid + 1:]
    near_phone = phone[:-2] + str((int(phone[-2:]) + 17) % 100).zfill(2)
    near_mac = mac[:-2] + f"{(int(mac[-2:], 16) + 1) % 256:02x}"
    options = [
        ("session_id", str(uuid.UUID(int=rng.getrandbits(128)))),
        ("install_id", uuid.UUID(int=rng.getrandbits(128)).hex),
        ("device_id", f"{rng.getrandbits(64):016x}"),
        ("imei_like", near_imei), ("imei_like2", near_imei2), ("msisdn", near_phone), ("mac", near_mac),
        ("ts", str(1700000000000 + rng.randrange(10 ** 9))), ("version", f"{rng.randint(1, 20)}.{rng.randint(0, 9)}.3"),
        ("far_lat", f"{rng.uniform(-60, 60):.5f}"), ("far_lon", f"{rng.uniform(-170, 170):.5f}"),
        ("near_lat", f"{lat + rng.choice([-1, 1]) * rng.uniform(0.02, 0.2):.4f}"),
        ("near_lon", f"{lon + rng.choice([-1, 1]) * rng.uniform(0.02, 0.2):.4f}"),
        ("hash", hashlib.sha256(rng.randbytes(16)).hexdigest()), ("token", b64(rng.randbytes(24), True, False)),
        ("friend", rng.choice([c + rng.choice(["i", "in", "son", "-Martin"]) for c in profile["contacts"]])),
        ("owner", rng.choice(["Jean Dupont", "Jeanne Dupont-Mouchard", "J. Dupont-Mouchardière"])),
        ("mail", rng.choice(["jean.dupont@example.org", "x" + profile["identifiers"]["email"],
                             profile["identifiers"]["email"].replace("example.org", "example.net")])),
        ("wifi", profile["identifiers"]["ssid"] + rng.choice(["-guest", "2", "_EXT"])),
        ("blob", b64(gzip.compress(json.dumps({"sid": uuid.UUID(int=rng.getrandbits(128)).hex,
                                                "geo": [round(rng.uniform(-60, 60), 1), round(rng.uniform(-170, 170), 1)]}
                                               ).encode(), mtime=0))),
        ("jwt", jwt({"sub": str(uuid.UUID(int=rng.getrandbits(128))), "exp": 1800000000})),
        ("geo1", f"{round(lat + rng.uniform(1, 3), 1)},{round(lon + rng.uniform(1, 3), 1)}"),
        ("lat1", f"{round(lat, 1)}"),
    ]
    return rng.sample(options, 6)


def location_forms(lat: float, lon: float, radius_m: float, rng: random.Random) -> list[tuple[str, str, str]]:
    """(encoding, latitude text, longitude text) for planted positions."""
    forms = []
    for decimals in range(1, 8):
        forms.append((f"round{decimals}", f"{round(lat, decimals):.{decimals}f}", f"{round(lon, decimals):.{decimals}f}"))
    for decimals in (2, 4):
        forms.append((f"trunc{decimals}", str(int(lat * 10 ** decimals) / 10 ** decimals),
                      str(int(lon * 10 ** decimals) / 10 ** decimals)))
    for i in range(3):  # within the radius (an SDK adds noise)
        dlat = rng.uniform(-0.6, 0.6) * radius_m / 111_320
        dlon = rng.uniform(-0.6, 0.6) * radius_m / 73_000
        forms.append((f"noise{i}", f"{lat + dlat:.6f}", f"{lon + dlon:.6f}"))
    forms.append(("comma", f"{lat:.5f}".replace(".", ","), f"{lon:.5f}".replace(".", ",")))
    forms.append(("microdegrees", str(round(lat * 1e6)), str(round(lon * 1e6))))
    forms.append(("e7", str(round(lat * 1e7)), str(round(lon * 1e7))))
    forms.append(("full", repr(lat), repr(lon)))
    return forms


HOSTS = {
    "firebase": ("app-measurement.com", "/a"), "meta": ("graph.facebook.com", "/v17.0/1234567/activities"),
    "branch": ("api2.branch.io", "/v1/open"), "adjust": ("app.adjust.com", "/session"),
    "appsflyer": ("t.appsflyer.com", "/api/v6.9/androidevent"), "inmobi": ("ads.inmobi.com", "/openrtb/bid"),
    "unity": ("config.unityads.unity3d.com", "/webview/4.9.1/release/config.json"),
    "applovin": ("ms.applovin.com", "/1.0/mediate"), "crashlytics": ("settings.crashlytics.com", "/spi/v2/platforms"),
}
CARRIERS = ("query", "path", "header", "cookie", "json", "json-gzip", "json-br", "json-zstd", "json-deflate",
            "form", "multipart", "protobuf", "websocket", "jwt-header")
CARRIER_LOCATION = {"query": "query", "path": "path", "header": "header", "cookie": "cookie", "jwt-header": "header",
                    "websocket": "websocket"}


def fits(carrier: str, encoding: str) -> bool:
    """Encodings whose text cannot sit in a carrier as is (a JSON document in a cookie or a path segment)."""
    if encoding == "json-in-json" and carrier in ("cookie", "path", "header", "protobuf"):
        return False
    if carrier == "jwt-header" and encoding == "jwt":
        return False
    return True


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def protobuf(fields: list[tuple[int, str]]) -> bytes:
    """A schemaless protobuf message of length-delimited string fields (what Firebase's uploads look like)."""
    out = bytearray(b"\x08\x01")
    for number, value in fields:
        data = value.encode()
        out += varint(number << 3 | 2) + varint(len(data)) + data
    return bytes(out)


def build(rng: random.Random, index: int, sdk: str, carrier: str, plants: list[tuple[str, str]],
          decoys: list[tuple[str, str]]) -> dict:
    """One request carrying `plants` [(field, wire text)] in `carrier`, plus decoys."""
    host, path = HOSTS[sdk]
    url = f"https://{host}{path}"
    headers = [("User-Agent", f"com.example.app/3.{index % 10}.1 (Linux; U; Android 13; Pixel 7)"),
               ("Accept-Encoding", "gzip")]
    body, ctype, cenc, method = None, None, None, "POST"
    fields = dict(decoys)
    fields.update(plants)
    if carrier == "query":
        url += "?" + urllib.parse.urlencode(fields)
        method = "GET"
    elif carrier == "path":
        segment = urllib.parse.quote(plants[0][1], safe="")
        url = f"https://{host}/v1/device/{segment}/events?" + urllib.parse.urlencode(dict(decoys))
        method = "GET"
    elif carrier in ("header", "jwt-header"):
        for name, value in plants:
            if carrier == "jwt-header":
                headers.append(("Authorization", "Bearer " + jwt({"sub": value, "aud": sdk})))
            else:
                headers.append((f"X-{name.replace('_', '-').title()}", value))
        body, ctype = json.dumps(dict(decoys)).encode(), "application/json"
    elif carrier == "cookie":
        headers.append(("Cookie", "; ".join(f"{k}={urllib.parse.quote(v, safe='=/+:')}" for k, v in fields.items())))
        method = "GET"
    elif carrier.startswith("json"):
        doc = {"app": {"bundle": "com.example.app", "ver": "3.1"}, "events": [
            {"name": "session_start", "ts": 1700000000 + index, "params": dict(decoys)},
            {"name": "screen_view", "params": {"device": {k: v for k, v in plants}}}]}
        body, ctype = json.dumps(doc).encode(), "application/json"
        coding = carrier.partition("-")[2]
        if coding:
            cenc = coding
            body = {"gzip": lambda b: gzip.compress(b, mtime=0), "br": brotli.compress,
                    "zstd": lambda b: zstandard.ZstdCompressor().compress(b),
                    "deflate": zlib.compress}[coding](body)
    elif carrier == "form":
        body, ctype = urllib.parse.urlencode(fields).encode(), "application/x-www-form-urlencoded"
    elif carrier == "multipart":
        boundary = f"----mouchard{rng.getrandbits(48):012x}"
        parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n' for k, v in fields.items()]
        body = ("".join(parts) + f"--{boundary}--\r\n").encode()
        ctype = f"multipart/form-data; boundary={boundary}"
    elif carrier == "protobuf":
        body = protobuf([(i + 1, v) for i, (_, v) in enumerate(fields.items())])
        ctype = "application/x-protobuf"
    elif carrier == "websocket":
        body = json.dumps({"type": "track", "properties": fields}).encode()
    if cenc:
        headers.append(("Content-Encoding", cenc))
    if ctype:
        headers.append(("Content-Type", ctype))
    return {"type": "websocket" if carrier == "websocket" else "http", "sdk": sdk, "method": method, "url": url,
            "headers": [list(h) for h in headers], "body_b64": b64(body) if body is not None else None,
            "content_type": ctype, "content_encoding": cenc}


def generate() -> list[dict]:
    rng = random.Random(SEED)
    profile = yaml.safe_load(PROFILE.read_text())
    values = dict(profile["identifiers"])
    for i, contact in enumerate(profile["contacts"]):
        values[f"contact{i}"] = contact
    plants = []  # (kind, encoding, field, wire)
    for key, value in values.items():
        kind = "contact" if key.startswith("contact") else key
        for encoding, encode in ENCODINGS.items():
            wire = encode(normal_form(kind, value, rng), rng)
            plants.append((kind, encoding, f"{key[:6]}_{rng.randrange(100)}", wire))
    rng.shuffle(plants)
    position = profile["location"]
    locations = location_forms(position["lat"], position["lon"], position["radius_m"], rng)
    records = []
    carriers = list(CARRIERS)
    sdks = list(HOSTS)
    i = 0
    while plants:
        carrier = carriers[i % len(carriers)]
        group, kinds = [], set()
        for plant in list(plants):
            if len(group) >= (1 if carrier in ("path", "jwt-header") else rng.randint(1, 3)):
                break
            if plant[0] not in kinds and fits(carrier, plant[1]):
                group.append(plant)
                kinds.add(plant[0])
                plants.remove(plant)
        if not group:
            i += 1
            continue
        record = build(rng, i, sdks[i % len(sdks)], carrier, [(f, w) for _, _, f, w in group], decoy_values(rng, profile))
        location = CARRIER_LOCATION.get(carrier, "body")
        record["labels"] = [{"kind": k, "location": location, "encoding": e} for k, e, _, _ in group]
        records.append(record)
        i += 1
    for n, (encoding, lat, lon) in enumerate(locations):
        carrier = ("query", "json", "form", "json-gzip", "websocket")[n % 5]
        swapped = n % 3 == 0
        pair = [("lon", lon), ("lat", lat)] if swapped else [("lat", lat), ("lng", lon)]
        record = build(rng, i, "appsflyer", carrier, pair, decoy_values(rng, profile))
        record["labels"] = [{"kind": "location", "location": CARRIER_LOCATION.get(carrier, "body"),
                             "encoding": encoding + ("-swapped" if swapped else "")}]
        records.append(record)
        i += 1
    for n in range(60):  # decoys only: nothing of the phone's
        carrier = carriers[n % len(carriers)]
        if carrier in ("path", "jwt-header"):
            carrier = "json"
        decoys = decoy_values(rng, profile)
        record = build(rng, i, sdks[n % len(sdks)], carrier, decoys[:1], decoys[1:])
        record["labels"] = []
        records.append(record)
        i += 1
    for n, record in enumerate(records):
        record["id"] = f"r{n:04d}"
    return records


def main() -> None:
    records = generate()
    with (HERE / "corpus.jsonl").open("w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, sort_keys=True) + "\n")
    planted = sum(len(r["labels"]) for r in records)
    print(f"{len(records)} requests, {planted} planted values -> {HERE / 'corpus.jsonl'}")


if __name__ == "__main__":
    main()
