"""Amplitude's Python SDK (`amplitude-analytics`): the event's own device fields (adid, android_id, location_lat
and location_lng) and user properties through `Identify` (email, phone, first and last name); flush then shutdown
send the batch to api2.amplitude.com/2/httpapi."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path = [HERE] + [p for p in sys.path if os.path.abspath(p or ".") != HERE]
import _driver

sys.path.remove(HERE)  # this file has its SDK's name: the SDK must not be looked for here

values, _, case = _driver.start("amplitude", "amplitude-analytics")
from amplitude import Amplitude, BaseEvent, EventOptions, Identify

client = Amplitude("a1b2c3d4e5f60718293a4b5c6d7e8f90")
failures = []
client.configuration.callback = lambda event, code, message=None: failures.append(code) if code != 200 else None
user = "user-48213"
sent = []
identify = Identify()
for kind in ("email", "phone"):
    if kind in values:
        identify.set(kind, values[kind])
        sent.append(kind)
if "name" in values:
    identify.set("first_name", values["first_name"]).set("last_name", values["last_name"])
    sent.append("name")
if sent:
    client.identify(identify, EventOptions(user_id=user, device_id="dev-7731"))
fields: dict = {}
if "advertising_id" in values:
    fields["adid"] = values["advertising_id"]
    sent.append("advertising_id")
if "android_id" in values:
    fields["android_id"] = values["android_id"]
    sent.append("android_id")
if "location" in values:
    fields["location_lat"], fields["location_lng"] = values["location"]["lat"], values["location"]["lon"]
    sent.append("location")
if fields:
    client.track(BaseEvent(event_type="Purchase", user_id=user, device_id="dev-7731", platform="Android", **fields))
client.flush()
client.shutdown()
if failures:
    sys.exit(f"amplitude: delivery failed with {failures}")
_driver.done(sent)
