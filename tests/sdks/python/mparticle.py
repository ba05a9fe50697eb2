"""mParticle's Python SDK (`mparticle`, server-to-server Events API): user identities (email, mobile_number),
reserved user attributes ($FirstName, $LastName), device information (android_advertising_id, android_uuid) and
an event's GeoLocation, in one JSON batch POSTed to s2s.mparticle.com/v2/events.

The SDK's HTTP client is a plain urllib3 PoolManager that ignores proxy settings and only takes a CA file
(`ssl_ca_cert`), so the driver swaps in a urllib3 ProxyManager to the same CA: the one way to route this SDK
through a proxy; everything it sends is still built by the SDK."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path = [HERE] + [p for p in sys.path if os.path.abspath(p or ".") != HERE]
import _driver

sys.path.remove(HERE)  # this file has its SDK's name: the SDK must not be looked for here

values, _, case = _driver.start("mparticle", "mparticle")
import mparticle
import urllib3

config = mparticle.Configuration()
config.api_key, config.api_secret = "us1-3c9f2a7b1d4e8a6f5c0b2d9e7a1f4c8b", "Zp7Kq2Wx9Rt4Yb6Nc1Md8Hf3Js5Lg0Va"
config.ssl_ca_cert = _driver.ca_bundle()
api = mparticle.EventsApi(config)
api.api_client.rest_client.pool_manager = urllib3.ProxyManager(
    os.environ["HTTPS_PROXY"], cert_reqs="CERT_REQUIRED", ca_certs=config.ssl_ca_cert)

batch = mparticle.Batch()
batch.environment = "production"
sent = []
identities = mparticle.UserIdentities()
identities.customerid = "user-48213"
if "email" in values:
    identities.email = values["email"]
    sent.append("email")
if "phone" in values:
    identities.mobile_number = values["phone"]
    sent.append("phone")
batch.user_identities = identities
if "name" in values:
    batch.user_attributes = {"$FirstName": values["first_name"], "$LastName": values["last_name"]}
    sent.append("name")
device = mparticle.DeviceInformation()
device.platform, device.device_model, device.os_version = "Android", "Pixel 8", "14"
if "advertising_id" in values:
    device.android_advertising_id = values["advertising_id"]
    sent.append("advertising_id")
if "android_id" in values:
    device.android_uuid = values["android_id"]
    sent.append("android_id")
batch.device_info = device
event = mparticle.AppEvent("Purchase", "transaction")
if "location" in values:
    event.location = mparticle.GeoLocation(values["location"]["lat"], values["location"]["lon"], 10.0)
    sent.append("location")
batch.events = [event]
api.upload_events(batch)
_driver.done(sent)
