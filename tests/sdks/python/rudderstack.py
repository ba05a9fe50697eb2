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
sent = _driver.segment_spec(client, user, values)

if errors:
    sys.exit(f"rudderstack: delivery failed: {errors[0]}")
_driver.done(sent)
