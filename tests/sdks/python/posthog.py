"""PostHog's Python SDK (`posthog`): person properties with `set` ($set), device ids and the position as event
properties; sync_mode sends each call at once (POST /batch/ on us.i.posthog.com), gzip on as apps enable it."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path = [HERE] + [p for p in sys.path if os.path.abspath(p or ".") != HERE]
import _driver

sys.path.remove(HERE)  # this file has its SDK's name: the SDK must not be looked for here

values, _, case = _driver.start("posthog", "posthog")
from posthog import Posthog

ph = Posthog("phc_Qm3v9kLx2Rt7Yp4Wn8Bc6Hd1Zs5Fg0Ja", host="https://us.i.posthog.com", sync_mode=True, gzip=True,
             enable_local_evaluation=False)
user = "user-48213"
sent = []
person: dict = {}
for kind, key in (("email", "email"), ("phone", "phone")):
    if kind in values:
        person[key] = values[kind]
        sent.append(kind)
if "name" in values:
    person["first_name"], person["last_name"] = values["first_name"], values["last_name"]
    sent.append("name")
if person:
    ph.set(distinct_id=user, properties=person)
props: dict = {"screen": "checkout"}
if "advertising_id" in values:
    props["$device_advertising_id"] = values["advertising_id"]
    sent.append("advertising_id")
if "android_id" in values:
    props["$device_id"] = values["android_id"]
    sent.append("android_id")
if "location" in values:
    props["$geoip_latitude"], props["$geoip_longitude"] = values["location"]["lat"], values["location"]["lon"]
    sent.append("location")
if len(props) > 1:
    ph.capture("purchase", distinct_id=user, properties=props)
ph.flush()
ph.shutdown()
_driver.done(sent)
