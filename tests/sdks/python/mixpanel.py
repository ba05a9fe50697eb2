"""Mixpanel's Python SDK (`mixpanel`): people properties ($email, $phone written 06 87 41 29 53, $first_name/$last_name) on /engage,
device ids and the position as event properties on /track; the default Consumer sends synchronously."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path = [HERE] + [p for p in sys.path if os.path.abspath(p or ".") != HERE]
import _driver

sys.path.remove(HERE)  # this file has its SDK's name: the SDK must not be looked for here

values, _, case = _driver.start("mixpanel", "mixpanel")
from mixpanel import Mixpanel

mp = Mixpanel("3f2a9c1b7d4e8a6f5c0b2d9e7a1f4c8b")  # a project token: public in every app that ships the SDK
user = "user-48213"
sent = []
people: dict = {}
if "email" in values:
    people["$email"] = values["email"]
    sent.append("email")
if "phone" in values:
    people["$phone"] = _driver.phone_as_written(values["phone"], "national_spaced")  # as the user typed it
    sent.append("phone")
if "name" in values:
    people["$first_name"], people["$last_name"] = values["first_name"], values["last_name"]
    sent.append("name")
if people:
    mp.people_set(user, people)
props: dict = {"screen": "checkout"}
if "advertising_id" in values:
    props["$android_advertising_id"] = values["advertising_id"]
    sent.append("advertising_id")
if "android_id" in values:
    props["$device_id"] = values["android_id"]
    sent.append("android_id")
if "location" in values:
    props["$latitude"], props["$longitude"] = values["location"]["lat"], values["location"]["lon"]
    sent.append("location")
if len(props) > 1:
    mp.track(user, "Purchase", props)
_driver.done(sent)
