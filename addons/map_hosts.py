"""MapHosts: upstream connections to mapped host names go to fixed addresses (a test lab), reuse intact.

    mitmdump -s addons/map_hosts.py --set mouchard_host_map='*=127.0.0.1'

Rules are the shared `--host-map` rules (`mouchard.net`): `*`, `example.com` or `*.example.com` = address.
The mapping happens where a name becomes an address: the event loop's resolver (`getaddrinfo`), as Chromium's
host-resolver rules do. Everything else in mitmproxy keeps seeing the host name, so requests still match open
connections and keep-alive reuse works, SNI and certificate checks use the name, and logs show both. Rewriting
the address in a hook instead (`server_connect`, or `flow.request.host`) makes each request open a new
connection, and mitmproxy's limit of five connections per address and client then stalls the proxy under load.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from mitmproxy import ctx, exceptions


class MapHosts:
    """Resolves mapped host names to their addresses for upstream connections (see the module docstring)."""

    def __init__(self) -> None:
        self.options = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def load(self, loader) -> None:
        loader.add_option("mouchard_host_map", Sequence[str], [],
                          "Upstream host map, PATTERN=ADDRESS (repeatable): '*=127.0.0.1', 'example.com=10.1.2.3'.")

    def configure(self, updated) -> None:
        if "mouchard_host_map" not in updated:
            return
        from mouchard.errors import UserError
        from mouchard.net import NetworkOptions

        try:
            options = NetworkOptions.build(host_map=tuple(ctx.options.mouchard_host_map))
        except UserError as exc:
            raise exceptions.OptionsError(str(exc)) from None
        self.options = options if options.host_map else None

    def running(self) -> None:
        if self._loop is not None:
            return
        loop = asyncio.get_running_loop()
        resolve = loop.getaddrinfo

        async def getaddrinfo(host, port, *args, **kwargs):
            if self.options is not None and isinstance(host, (str, bytes)):
                name = host.decode("ascii", "replace") if isinstance(host, bytes) else host
                host = self.options.resolve(name) or host
            return await resolve(host, port, *args, **kwargs)

        loop.getaddrinfo = getaddrinfo  # an instance attribute: this loop only, undone in done()
        self._loop = loop

    def done(self) -> None:
        if self._loop is not None:
            self._loop.__dict__.pop("getaddrinfo", None)
            self._loop = None


addons = [MapHosts()]
