"""The SDK matrix's sink: the production hosts of the SDKs under test, served by a test web on 127.0.0.1.

Each lane of the harness has its own sink (`make_sink()`), a `TestWeb` whose only site answers every path of
every SDK host with a 200 body that SDK's client accepts, and whose request log is the ground truth of what the
SDKs really sent (raw bytes, as they left the proxy). `mouchard proxy` reaches it as its upstream proxy (the
test web is also an HTTP proxy: CONNECT api.mixpanel.com:443 opens TLS with a trustme certificate for that name),
so the drivers use the real default hosts and ports.

Hosts are listed explicitly (the test web issues its certificate for them); a driver whose SDK calls another
host gets a TLS failure at the proxy and the harness reports the run as "sent nothing".
"""

from __future__ import annotations

import json
import uuid

from demoweb import Response, Site, TestWeb

# Production hosts of the SDKs (Python and Node drivers); `*.name` covers one label, as in certificates.
SINK_HOSTS = (
    "api.mixpanel.com", "api-js.mixpanel.com", "api-eu.mixpanel.com",
    "us.i.posthog.com", "eu.i.posthog.com", "app.posthog.com", "us.posthog.com", "eu.posthog.com",
    "api2.amplitude.com", "api.eu.amplitude.com", "api.amplitude.com",
    "api.segment.io", "cdn-settings.segment.com", "events.eu1.segmentapis.com",
    "*.dataplane.rudderstack.com", "hosted.rudderlabs.com", "api.rudderstack.com",
    "*.collector.snplow.net",
    "*.ingest.sentry.io", "*.ingest.us.sentry.io", "*.ingest.de.sentry.io", "sentry.io",
    "graph.facebook.com",
    "s2s.mparticle.com", "s2s.us1.mparticle.com", "s2s.us2.mparticle.com", "s2s.eu1.mparticle.com",
    "app.adjust.com", "s2s.adjust.com", "app.adjust.net.in", "app.adjust.world",
    "*.count.ly", "try.count.ly",
    "api2.branch.io", "api.branch.io",
    "api2.appsflyer.com", "inapps.appsflyer.com", "events.appsflyer.com",
    "api.iterable.com", "api.braze.com", "rest.iad-01.braze.com", "sdk.iad-01.braze.com",
    "api.customer.io", "track.customer.io", "api.mparticle.com", "heapanalytics.com", "api.heap.io",
    "api.getkoala.com", "api.june.so", "api.usermaven.com", "api.keen.io", "logs.datadoghq.com",
    "browser-intake-datadoghq.com", "api.smartlook.com", "in.logtail.com",
)

# Body of a 200 that the SDKs' clients accept when nothing more specific applies: each reads its own field.
GENERIC = {"status": 1, "success": True, "code": 200, "events_received": 1, "messages": [], "fbtrace_id": "sink",
           "result": "Success", "payload_size_bytes": 1, "server_upload_time": 1}  # no "error" key: Meta reads its presence as a failure


def answer(req) -> Response:
    """What each SDK's client expects to hear back (a 2xx it treats as delivered, so it does not retry)."""
    host = req.host
    if host.endswith("mixpanel.com"):
        verbose = "verbose=1" in req.raw_query or b"verbose=1" in req.body
        return Response.json({"status": 1, "error": None}) if verbose else Response.text("1")
    if "sentry.io" in host:
        return Response.json({"id": uuid.uuid4().hex})
    if "rudder" in host:
        return Response.text("OK")
    if host.endswith("snplow.net"):
        return Response.pixel() if req.method == "GET" else Response.text("ok")
    if "mparticle.com" in host:
        return Response.json({}, status=202)
    if "adjust" in host:
        return Response.json({"status": "OK", "adid": "0" * 32})
    if host.endswith("segment.com"):  # settings fetched by analytics-next style clients
        return Response.json({"integrations": {}, "plan": {}})
    return Response(200, [("Content-Type", "application/json")], json.dumps(GENERIC))


def make_sink() -> TestWeb:
    """A test web serving only the SDK hosts (started by the caller)."""
    site = Site("sdk-sink", hosts=SINK_HOSTS)
    site.route("/*")(answer)  # every method; CORS preflights get the engine's answer
    return TestWeb(sites=[site])
