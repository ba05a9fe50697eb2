"""Segment's Python SDK (`rudder-sdk-python`): traits as the Segment spec names them (email, phone,
firstName, lastName) with `identify`, the device ids and the position in the spec's context (device.advertisingId,
device.id, location.latitude/longitude) of a `track`; sync_mode posts each call to api.segment.io/v1/batch."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path = [HERE] + [p for p in sys.path if os.path.abspath(p or ".") != HERE]
import _driver

sys.path.remove(HERE)  # this file has its SDK's name: the SDK must not be looked for here

values, _, case = _driver.start("rudderstack", "rudder-sdk-python")
from rudderstack.analytics import Client

errors = []
client = Client("2aBcD3eFgH4iJkL5mNoP6qRsT7u", host="https://mouchardlab.dataplane.rudderstack.com", sync_mode=True, on_error=lambda e, batch: errors.append(e))
user = "user-48213"
sent = []
traits: dict = {}
for kind in ("email", "phone"):
    if kind in values:
        traits[kind] = values[kind]
        sent.append(kind)
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

if errors:
    sys.exit(f"rudderstack: delivery failed: {errors[0]}")
_driver.done(sent)
