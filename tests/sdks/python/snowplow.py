"""Snowplow's Python tracker (`snowplow-tracker`): the advertising id in the mobile context (androidIdfa), the
position in the geolocation context, contact details (the phone written 06.87.41.29.53) and name in a
self-describing sign-up event, the Android id as the user id; contexts and event data base64-encoded (the tracker's default) in a POST to a collector."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path = [HERE] + [p for p in sys.path if os.path.abspath(p or ".") != HERE]
import _driver

sys.path.remove(HERE)  # this file has its SDK's name: the SDK must not be looked for here

values, _, case = _driver.start("snowplow", "snowplow-tracker")
from snowplow_tracker import Emitter, SelfDescribingJson, Subject, Tracker
from snowplow_tracker.events import ScreenView, SelfDescribing

failures = []
emitter = Emitter("com-mouchardlab-prod1.collector.snplow.net", protocol="https", method="post", batch_size=1,
                  on_failure=lambda sent, unsent: failures.append(len(unsent)))
subject = Subject().set_platform("mob")
sent = []
if "android_id" in values:
    subject.set_user_id(values["android_id"])
    sent.append("android_id")
tracker = Tracker("app", emitter, subject=subject, app_id="com.mouchardlab.shop")
contexts = []
if "advertising_id" in values:
    contexts.append(SelfDescribingJson("iglu:com.snowplowanalytics.snowplow/mobile_context/jsonschema/1-0-2", {
        "osType": "android", "osVersion": "14", "deviceManufacturer": "Google", "deviceModel": "Pixel 8",
        "androidIdfa": values["advertising_id"]}))
    sent.append("advertising_id")
if "location" in values:
    contexts.append(SelfDescribingJson("iglu:com.snowplowanalytics.snowplow/geolocation_context/jsonschema/1-1-0", {
        "latitude": values["location"]["lat"], "longitude": values["location"]["lon"]}))
    sent.append("location")
signup: dict = {}
if "email" in values:
    signup["email"] = values["email"]
    sent.append("email")
if "phone" in values:
    signup["phone"] = _driver.phone_as_written(values["phone"], "national_dotted")  # as the user typed it
    sent.append("phone")
if "name" in values:
    signup["first_name"], signup["last_name"] = values["first_name"], values["last_name"]
    sent.append("name")
if signup:
    tracker.track(SelfDescribing(SelfDescribingJson("iglu:com.mouchardlab/sign_up/jsonschema/1-0-0", signup),
                                 context=contexts or None))
else:
    tracker.track(ScreenView(name="checkout", id_="7f3c2b1a-0d9e-4c8b-a7f6-e5d4c3b2a190", context=contexts or None))
tracker.flush()
if failures:
    sys.exit(f"snowplow: {failures} event(s) not delivered")
_driver.done(sent)
