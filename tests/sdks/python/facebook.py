"""Meta's Business SDK (`facebook-business`), Conversions API: user_data with e-mail, phone, first and last name
(the SDK normalises and SHA-256-hashes each, as Meta requires), the advertising id (madid, not hashed) and the
Android id as anon_id, on an app Purchase event POSTed to graph.facebook.com/vXX/<pixel>/events.

The SDK pins its own CA bundle on its requests session; the driver points that session at the CA the harness
trusts (the proxy's), as any app behind an inspecting proxy must. CAPI has no position field: `location` is not
sent (empty `sent`, not counted)."""

import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path = [HERE] + [p for p in sys.path if os.path.abspath(p or ".") != HERE]
import _driver

sys.path.remove(HERE)  # this file has its SDK's name: the SDK must not be looked for here

values, _, case = _driver.start("facebook", "facebook-business")
from facebook_business.adobjects.serverside.action_source import ActionSource
from facebook_business.adobjects.serverside.event import Event
from facebook_business.adobjects.serverside.event_request import EventRequest
from facebook_business.adobjects.serverside.user_data import UserData
from facebook_business.api import FacebookAdsApi

api = FacebookAdsApi.init(access_token="EAAGm0PX4ZCpsBAMouchardLabToken0000000000000000")
api._session.requests.verify = _driver.ca_bundle()
user = UserData(external_id="user-48213")
sent = []
if "email" in values:
    user.emails = [values["email"]]
    sent.append("email")
if "phone" in values:
    user.phones = [values["phone"]]
    sent.append("phone")
if "name" in values:
    user.first_names, user.last_names = [values["first_name"]], [values["last_name"]]
    sent.append("name")
if "advertising_id" in values:
    user.madid = values["advertising_id"]
    sent.append("advertising_id")
if "android_id" in values:
    user.anon_id = values["android_id"]
    sent.append("android_id")
if sent or case == "decoy":
    event = Event(event_name="Purchase", event_time=int(time.time()), user_data=user,
                  action_source=ActionSource.APP)
    EventRequest(events=[event], pixel_id="1234567890123456").execute()
_driver.done(sent)
