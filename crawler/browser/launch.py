"""How a mouchard Chromium starts: flags, a person's user agent, viewport and languages.

Headless Chromium says "HeadlessChrome" in its user agent and sets `navigator.webdriver` under automation; real
CMPs and trackers behave differently for bots. We start it with `--disable-blink-features=AutomationControlled`
(no webdriver flag) and the user agent of the same Chromium version in a normal window, so what the page sees is
a desktop Chrome, not a crawler.
"""

from __future__ import annotations

import platform
import re
from dataclasses import dataclass, field

from crawler.browser.dwell import leave_launch_args
from mouchard.errors import UserError
from mouchard.browser import Sandbox, browser_version, launch_options, sandbox
from mouchard.net import NetworkOptions

VIEWPORT = {"width": 1366, "height": 768}  # the most common desktop size
LOCALE = "en-US"
STEALTH_ARGS = ("--disable-blink-features=AutomationControlled",)
# Options of the browser itself (Playwright's launch()); the others belong to a context. A non-persistent launch
# (scrapy-playwright's own, for broker pages) takes these as PLAYWRIGHT_LAUNCH_OPTIONS.
LAUNCH_KEYS = ("executable_path", "headless", "args", "ignore_default_args", "timeout", "chromium_sandbox")
# A replay's browser reaches the replay proxy and nothing else: the run's own browser flags may not route around it
# (another proxy, a bypass list, resolver rules, a PAC file), loopback goes through the proxy too, and WebRTC
# may not send UDP outside it (STUN would reach the network).
REPLAY_DROPPED = ("--proxy-server", "--proxy-bypass-list", "--host-resolver-rules", "--proxy-pac-url",
                  "--no-proxy-server", "--proxy-auto-detect", "--force-webrtc-ip-handling-policy")
REPLAY_ARGS = ("--proxy-bypass-list=<-loopback>", "--force-webrtc-ip-handling-policy=disable_non_proxied_udp")


def user_agent(version_text: str, system: str | None = None) -> str:
    """A desktop Chrome user agent for `version_text` ('Chromium 156.0.8078.79'), reduced as Chrome sends it."""
    match = re.search(r"(\d+)\.\d+\.\d+\.\d+", version_text)
    major = match.group(1) if match else "140"
    os_token = {"Darwin": "Macintosh; Intel Mac OS X 10_15_7", "Windows": "Windows NT 10.0; Win64; x64"}.get(
        system or platform.system(), "X11; Linux x86_64")
    return f"Mozilla/5.0 ({os_token}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{major}.0.0.0 Safari/537.36"


def ca_args(ca_file: str | None) -> list[str]:
    """Trust a lab's CA in Chromium: pin the public keys of the file's certificates (Chromium has no CA-file flag;
    the SPKI allow-list accepts any chain that contains one of these keys)."""
    if not ca_file:
        return []
    import base64
    import hashlib

    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    with open(ca_file, "rb") as handle:
        certs = x509.load_pem_x509_certificates(handle.read())
    pins = [base64.b64encode(hashlib.sha256(cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).digest()).decode()
        for cert in certs]
    return [f"--ignore-certificate-errors-spki-list={','.join(pins)}"] if pins else []


def replay_args(args: list[str] | tuple[str, ...]) -> list[str]:
    """A replay's browser flags: `args` without any flag that could route around the replay proxy
    (REPLAY_DROPPED, in either `--flag=value` or bare form), plus REPLAY_ARGS."""
    kept = [arg for arg in args if str(arg).split("=", 1)[0].strip().lower() not in REPLAY_DROPPED]
    return [*kept, *REPLAY_ARGS]


@dataclass(frozen=True)
class LaunchPlan:
    """Everything needed to start one visit's browser; `options()` gives Playwright's persistent-context kwargs.

    `sandbox` is how Chromium is confined (mouchard.browser.sandbox: as an unprivileged user when run as root;
    off only on --no-sandbox); its warnings belong in crawls.warnings. `replay`: the run replays an archive
    (`RunSettings.replay`): the browser reaches the replay proxy (`net.proxy`) only (`replay_args`).
    """

    executable: str
    net: NetworkOptions = NetworkOptions()
    extra_args: tuple[str, ...] = ()
    headless: bool = True
    launch_timeout_ms: float = 30000
    version: str = field(default="")
    sandbox: Sandbox = field(default_factory=sandbox)
    replay: bool = False

    @property
    def launch(self) -> dict:
        """executable_path (our launcher when root), args and chromium_sandbox."""
        args = [*STEALTH_ARGS, *self.net.chromium_args(), *ca_args(self.net.ca_file), *self.extra_args]
        if self.replay:
            if not self.net.proxy:  # fail closed: without its proxy a replay would visit the live web
                raise UserError("a replay needs the replay proxy as the run's proxy (NetworkOptions.proxy)")
            # the run's proxy is the replay server: kept; every other route (browser args, the host map) dropped
            proxy = [arg for arg in self.net.chromium_args() if arg.startswith("--proxy-server=")]
            args = [*proxy, *replay_args(args)]
        # RenderDocument off, so the page's beacons on leaving are seen (crawler/browser/dwell.py `leave`)
        return launch_options(self.executable, leave_launch_args(args), box=self.sandbox)

    @property
    def args(self) -> list[str]:
        return self.launch["args"]

    @property
    def warnings(self) -> list[str]:
        return list(self.sandbox.warnings)

    def options(self) -> dict:
        """Launch options shared by every visit (the profile path and HAR file are added per visit)."""
        version = self.version or browser_version(self.executable)
        return {
            **self.launch,
            "headless": self.headless,
            # Playwright adds --enable-automation (which sets navigator.webdriver): never.
            "ignore_default_args": ["--enable-automation"],
            "timeout": self.launch_timeout_ms,
            "user_agent": user_agent(version),
            "viewport": VIEWPORT,
            "screen": VIEWPORT,
            "locale": LOCALE,
            "accept_downloads": False,  # a download is cancelled and recorded, never saved
            "ignore_https_errors": self.net.ignore_https_errors,
            "bypass_csp": False,
            "service_workers": "allow",
        }
