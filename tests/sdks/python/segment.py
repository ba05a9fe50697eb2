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
written = _driver.phone_as_written(values["phone"], "intl_spaced") if "phone" in values else None  # as typed
sent = _driver.segment_spec(client, user, values, written)

if errors:
    sys.exit(f"segment: delivery failed: {errors[0]}")
_driver.done(sent)
