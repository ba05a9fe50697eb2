"""App rules: a phone's identifiers, or its location, sent to third parties (from `leaks` found in `flows`).

The test phone was given known ("honey") values; a leak is one of them found in its traffic, in any encoding.
One finding per app and destination, so a regulator sees each company that received what.
"""

from __future__ import annotations

from collections.abc import Iterator

from audits.rules.base import SCOPE, Context, Hit, evidence, group_by, listing, plural, rule

NAMES = {"advertising_id": "advertising ID", "idfv": "vendor ID (IDFV)", "android_id": "Android ID", "imei": "IMEI",
         "serial": "serial number", "imsi": "IMSI", "wifi_mac": "Wi-Fi MAC address",
         "bluetooth_mac": "Bluetooth MAC address", "ssid": "Wi-Fi network name", "bssid": "Wi-Fi router address",
         "phone": "phone number", "email": "e-mail address", "name": "owner's name", "contact": "a contact's name",
         "location": "location"}


def _leaks(ctx: Context, location: bool) -> list[dict]:
    return ctx.rows(f"""
        SELECT l.id, l.crawl_id, l.flow_id, l.identifier, l.chain, l.location AS place, l.field, l.precision_m,
               l.destination_host, l.destination_site, l.tracker_entity,
               coalesce(f.app, 'unknown app') AS app
        FROM leaks l LEFT JOIN flows f ON f.id = l.flow_id
        WHERE l.crawl_id IN {SCOPE} AND l.flow_id IS NOT NULL
          AND (l.third_party = 1 OR l.tracker_entity IS NOT NULL)
          AND {"l.identifier = 'location'" if location else "coalesce(l.identifier, '') != 'location'"}
        ORDER BY app, l.destination_site, l.id""")


def _destination(row: dict) -> str:
    return row["destination_site"] or row["destination_host"] or "unknown destination"


def _hit(app: str, destination: str, group: list[dict], title: str, detail: str, facts: dict) -> Hit:
    first = group[0]
    return Hit(subject=app, title=title, detail=detail, facts={"destination": destination, **facts},
               evidence=tuple(evidence("leaks", (r["id"] for r in group))
                              + evidence("flows", (r["flow_id"] for r in group))),
               crawl_id=first["crawl_id"], flow_id=first["flow_id"])


@rule(id="apps.identifier-leak", version="1", severity="high",
      title="App sends device or personal identifiers to a third party",
      needs=("flows", "leaks"),
      legal={"eu": "ePrivacy Directive 2002/58/EC art. 5(3); GDPR arts. 5(1)(c) and 6",
             "fr": "Loi Informatique et Libertés art. 82; GDPR arts. 5(1)(c) and 6",
             "uk": "PECR 2003 reg. 6; UK GDPR arts. 5(1)(c) and 6",
             "us-ca": "Cal. Civ. Code §1798.100(b) (notice at collection), §1798.120 (opt-out of sale or sharing), "
                      "§1798.140(aj) (unique identifiers)"},
      explanation="""The test phone's own identifiers (advertising ID, hardware numbers, phone number, e-mail...)
      were found in the app's traffic to another company, sometimes hashed or encoded to look harmless. These
      identifiers let companies recognise the phone across apps and over time.""")
def identifier_leak(ctx: Context) -> Iterator[Hit]:
    for (app, destination), group in group_by(_leaks(ctx, location=False), "app", "destination_site"):
        destination = _destination(group[0])
        kinds = sorted({r["identifier"] or "identifier" for r in group})
        names = [NAMES.get(k, k.replace("_", " ")) for k in kinds]
        entity = next((r["tracker_entity"] for r in group if r["tracker_entity"]), None)
        yield _hit(app, destination, group,
                   f"{app}: {listing(names, 3)} sent to {destination}",
                   f"The app {app} sent the phone's {listing(names)} to {destination}"
                   + (f" ({entity})" if entity else "")
                   + f", in {plural(len(group), 'place')} (encodings: {listing({r['chain'] or 'plain' for r in group}, 4)}).",
                   {"kinds": kinds})


@rule(id="apps.location-leak", version="1", severity="high",
      title="App sends the phone's location to a third party",
      needs=("flows", "leaks"),
      legal={"eu": "ePrivacy Directive 2002/58/EC arts. 5(3) and 9; GDPR arts. 5(1)(c) and 6",
             "fr": "Loi Informatique et Libertés art. 82; GDPR arts. 5(1)(c) and 6",
             "uk": "PECR 2003 regs. 6 and 14; UK GDPR arts. 5(1)(c) and 6",
             "us-ca": "Cal. Civ. Code §1798.140(w) and (ae) (precise geolocation is sensitive personal information); "
                      "§1798.121"},
      explanation="""The test phone was given a known position. That position was found in the app's traffic to
      another company. Where a phone is, hour after hour, reveals home, work, health and beliefs.""")
def location_leak(ctx: Context) -> Iterator[Hit]:
    for (app, _), group in group_by(_leaks(ctx, location=True), "app", "destination_site"):
        destination = _destination(group[0])
        precisions = [r["precision_m"] for r in group if r["precision_m"] is not None]
        best = f" (to within {min(precisions):.0f} m)" if precisions else ""
        entity = next((r["tracker_entity"] for r in group if r["tracker_entity"]), None)
        yield _hit(app, destination, group,
                   f"{app}: location sent to {destination}",
                   f"The app {app} sent the phone's location{best} to {destination}"
                   + (f" ({entity})" if entity else "") + f", {plural(len(group), 'time')}.",
                   {"precise": bool(precisions) and min(precisions) <= 1000})


RULES = (identifier_leak, location_leak)
