"""Every mouchard addon in pipeline order: `mitmdump -s addons/mouchard_addons.py --set mouchard_profile=...`.

This is what `mouchard proxy` and `mouchard import` load. Each addon also runs alone (`-s addons/<file>.py`).
"""

from addons.attribute_apps import AttributeApps
from addons.classify_destinations import ClassifyDestinations
from addons.detect_id_syncs import DetectIdSyncs
from addons.detect_leaks import DetectLeaks
from addons.map_hosts import MapHosts
from addons.parse_openrtb import ParseOpenrtb
from addons.quic import DetectQuic
from addons.record_flows import RecordFlows
from addons.store_cookies import StoreCookies

addons = [MapHosts(), DetectQuic(), AttributeApps(), DetectLeaks(), StoreCookies(), ParseOpenrtb(), DetectIdSyncs(),
          ClassifyDestinations(), RecordFlows()]
