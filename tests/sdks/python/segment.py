"""Segment's Python SDK (`segment-analytics-python`): traits as the Segment spec names them (email, phone written
+33 6 87 41 29 53, firstName, lastName) with `identify`, the device ids and the position in the spec's context (device.advertisingId,
device.id, location.latitude/longitude) of a `track`; sync_mode posts each call to api.segment.io/v1/batch."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path = [HERE] + [p for p in sys.path if os.path.abspath(p or ".") != HERE]
import _driver

sys.path.remove(HERE)  # this file has its SDK's name: the SDK must not be looked for here

values, _, case = _driver.start("segment", "segment-analytics-python")
from segment.analytics import Client

errors = []
client = Client("Zk4qP8vR2sT6wX1yB5nM9cL3", sync_mode=True, on_error=lambda e, batch: errors.append(e))
user = "user-48213"
sent = []
traits: dict = {}
if "email" in values:
    traits["email"] = values["email"]
    sent.append("email")
if "phone" in values:
    traits["phone"] = _driver.phone_as_written(values["phone"], "intl_spaced")  # as the user typed it
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

if errors:
    sys.exit(f"segment: delivery failed: {errors[0]}")
_driver.done(sent)
