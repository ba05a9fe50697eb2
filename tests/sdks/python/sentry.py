"""Sentry's Python SDK (`sentry-sdk`): the user interface (email, username as the full name, phone as an extra
user field, the Android id as the user id), the advertising id and the position in custom contexts, on a
captured message; `flush` sends the envelope (newline-delimited JSON, compressed by the SDK) to the DSN's host."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path = [HERE] + [p for p in sys.path if os.path.abspath(p or ".") != HERE]
import _driver

sys.path.remove(HERE)  # this file has its SDK's name: the SDK must not be looked for here

values, _, case = _driver.start("sentry", "sentry-sdk")
import sentry_sdk

sentry_sdk.init(dsn="https://4f9c2a7b1d3e48a6b5c0d2e9f7a1b4c8@o4507123456789.ingest.de.sentry.io/4507123456790",
                ca_certs=_driver.ca_bundle(), https_proxy=os.environ["HTTPS_PROXY"], default_integrations=False,
                release="shop@2.4.1", environment="production")
sent = []
user: dict = {}
if "email" in values:
    user["email"] = values["email"]
    sent.append("email")
if "phone" in values:
    user["phone"] = values["phone"]
    sent.append("phone")
if "name" in values:
    user["username"] = values["name"]
    sent.append("name")
if "android_id" in values:
    user["id"] = values["android_id"]
    sent.append("android_id")
if user:
    sentry_sdk.set_user(user)
if "advertising_id" in values:
    sentry_sdk.set_context("device_ids", {"advertising_id": values["advertising_id"]})
    sent.append("advertising_id")
if "location" in values:
    sentry_sdk.set_context("location", {"lat": values["location"]["lat"], "lon": values["location"]["lon"]})
    sent.append("location")
sentry_sdk.capture_message("checkout failed: payment declined")
sentry_sdk.flush(timeout=60)
_driver.done(sent)
