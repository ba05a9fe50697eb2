"""mouchard's demo web (also the test web): publishers, trackers, ad tech and hostile pages on 127.0.0.1, under
real-looking names.

A package of its own, shipped in the wheel, so `mouchard demo` works from an installed mouchard; the tests import
it as `demoweb`. Standard library + trustme + cryptography only. Its sample files (a phone capture, device
profiles, data-broker registry samples) are in `demoweb/data/` (`demoweb.paths.DATA`); the npm libraries some
pages serve come from node_modules at run time, never from the package (`demoweb.paths.node_modules()`).

    from demoweb import TestWeb
    web = TestWeb()            # a trustme CA; sites from every module of demoweb/sites/ (or TestWeb(sites=[...]))
    web.start()                # binds 127.0.0.1 on free ports, serves from daemon threads; idempotent
    web.https_port, web.http_port
    web.url(host, path="/", scheme="https")  # "https://host:PORT/path"
    web.chromium_args()        # ['--host-resolver-rules=MAP nxdomain.example ~NOTFOUND, MAP * 127.0.0.1,
                               #   EXCLUDE localhost', '--ignore-certificate-errors-spki-list=<leaf>,<CA>']
    web.chromium_args(proxy=True)  # through the proxy instead: portless URLs work in Chromium too
    web.ca_pem_path            # the CA certificate (urllib, httpx, mitmproxy, Scrapy); web.ssl_context() for stdlib
    web.proxy_url              # "http://127.0.0.1:HTTP_PORT": also an HTTP proxy. CONNECT host:port opens TLS on
                               # the tunnel with our certificate (routed by SNI/Host); absolute-form
                               # GET http://host/... routes too; so portless URLs (https://www.example-news.fr/) work
    web.log                    # every request: time, scheme, host, port, method, path, query (first values),
                               # raw_query, headers (lower-case dict), raw_headers (pairs), body, via, url, status
    web.clear_log(); web.requests_to(host); web.hosts_seen()
    web.errors                 # handler exceptions (each answered 500; the server keeps serving)
    web.add_site(site)         # more hosts at run time (a new leaf is issued for hosts added after start())
    web.stop()                 # also a context manager: `with TestWeb() as web: ...`

A site module in demoweb/sites/ defines `SITE` or `SITES` (found automatically) and `EXPECTED`, the behaviour it
plants, keyed by page (`"host/path"`), for recall tests; `demoweb.sites.expected()` merges them all:

    from demoweb import Site, Response, set_cookie
    SITE = Site("publisher", hosts=["www.example-news.fr"])

    @SITE.route("/")                      # also "/item/<id>", "/static/<path:rest>", "/prefix/*"
    def home(req):                        # req: method, scheme, host, port, path, query, headers, cookies, body
        return Response.html(req.render('<script src="{{https://connect.facebook.net/en_US/fbevents.js}}">'),
                             headers=[set_cookie("a", "1"), set_cookie("b", "2")])

`Response(status, headers=[(name, value), ...], body=bytes | str | iterator of bytes, gzip=, chunked=, delay=,
hang=)`; helpers `Response.html/js/json/text/pixel/empty/redirect`, `drip(chunks, interval)` for slow bodies.
Links to other hosts come from `req.url(host, path)` or `req.render(template)` (`{{https://host/path}}`,
`{https_port}`, `{http_port}`, `{proxy_url}`): right port, or portless when the client came through the proxy.
"""

from .paths import DATA
from .server import UNRESOLVABLE_HOSTS, TestWeb
from .site import GIF_PIXEL, Headers, Request, Response, Site, drip, set_cookie

__all__ = ["DATA", "GIF_PIXEL", "UNRESOLVABLE_HOSTS", "Headers", "Request", "Response", "Site", "TestWeb", "drip",
           "set_cookie"]
