"""The audit spec (YAML): what to collect, how, which rules to apply and under which law.

Every key is checked once, at start: an unknown key or a bad value is one line naming the key
(`audit.yml: targets.sites[2]: not an http(s) URL: 'ftp://x'`). Relative paths are relative to the spec file.

    case: CNIL-2026-0042
    jurisdiction: eu            # eu | fr | uk | us-ca
    targets: {sites: [https://www.example.fr/], urls: [], app_capture: capture.mitm, profile: phone.yml,
              app: com.example.news, brokers: ca}
    phases: [initial, reject, accept]     # and gpc, revoke, second-site
    pages_per_site: 3
    rules: all                  # or a list of rule ids or globs (consent.*)
    network: {host_map: ["*=127.0.0.1"], ignore_https_errors: true, proxy: null, ca_file: null}
    browser: {args: [--lang=fr-FR]}   # allow-listed flags only; the executable comes from --browser
    seed: 42
    timeout: 30                 # seconds per page (crawl --timeout)
    concurrency: 2              # pages in flight (crawl --concurrency)
    warc: false                 # archive each web visit as WARC (audit --warc; replayable with --replay)
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from mouchard.errors import UserError
from mouchard.net import NetworkOptions
from mouchard.registries import NAMES as REGISTRY_NAMES, STATES

from audits.rules import JURISDICTIONS, select

PHASES = ("initial", "reject", "accept", "gpc", "revoke", "second-site")
REGISTRIES = (*STATES, "all", *(n for n in REGISTRY_NAMES if n not in STATES))  # mouchard.registries
KEYS = ("case", "jurisdiction", "targets", "phases", "pages_per_site", "rules", "network", "browser", "seed",
        "timeout", "concurrency", "warc")
TARGET_KEYS = ("sites", "urls", "app_capture", "profile", "app", "brokers")
NETWORK_KEYS = ("host_map", "ignore_https_errors", "proxy", "ca_file")
BROWSER_KEYS = ("path", "args")
BROKER_KEYS = ("registry", "from", "limit")
REQUIRED = ("case", "jurisdiction", "targets")

# A spec is data from another party: it never names an executable, and its Chromium flags are this allow-list of
# flags that change what the page sees (language, window, user agent, autoplay), each with a validated value. Flags
# that run commands (--renderer-cmd-prefix, --utility-cmd-prefix, --gpu-launcher, --browser-subprocess-path), load
# code (--load-extension), move files (--user-data-dir, --disk-cache-dir), weaken the browser (--no-sandbox,
# --disable-web-security, --disable-features=...) or send traffic elsewhere (--proxy-server, --host-resolver-rules:
# use the spec's network keys, which are shown in the plan) are refused, as is any flag not listed here.
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,3}")
BROWSER_FLAGS: dict[str, tuple[re.Pattern | None, str]] = {
    "--lang": (_LANGUAGE, "a language tag such as fr-FR"),
    "--accept-lang": (re.compile(rf"{_LANGUAGE.pattern}(,{_LANGUAGE.pattern}){{0,9}}"),
                      "language tags separated by commas, such as fr-FR,fr"),
    "--window-size": (re.compile(r"[1-9][0-9]{1,3},[1-9][0-9]{1,3}"), "WIDTH,HEIGHT in pixels, such as 1366,768"),
    "--force-device-scale-factor": (re.compile(r"[1-4](\.[0-9]{1,2})?"), "a number from 1 to 4"),
    "--user-agent": (re.compile(r"[ -~]{1,512}"), "printable ASCII text, at most 512 characters"),
    "--autoplay-policy": (re.compile(r"no-user-gesture-required|user-gesture-required|"
                                     r"document-user-activation-required"), "an autoplay policy name"),
    "--force-dark-mode": (None, ""),
    "--hide-scrollbars": (None, ""),
    "--mute-audio": (None, ""),
    "--disable-notifications": (None, ""),
}
BROWSER_FLAG_NAMES = tuple(BROWSER_FLAGS)


def check_browser_flag(text: str) -> str | None:
    """Why a Chromium flag from a spec is refused (None: allowed). Names are compared exactly, so a change of case,
    a single dash or a space is a flag that is not on the list."""
    name, eq, value = text.partition("=")
    if name not in BROWSER_FLAGS:
        return (f"{name[:60]!r} is not an allowed browser flag (a spec may set only "
                f"{', '.join(BROWSER_FLAG_NAMES)}; other flags go on the command line: --browser-arg)")
    pattern, expected = BROWSER_FLAGS[name]
    if pattern is None:
        return None if not eq else f"{name} takes no value"
    if not eq or not pattern.fullmatch(value):
        return f"{name} needs ={expected}, got {text[:80]!r}"
    return None


@dataclass(frozen=True)
class BrokerTargets:
    """Registries to fetch (`brokers fetch`), an optional file or URL to read them from, then `brokers crawl`."""

    registries: tuple[str, ...] = ()
    source: str | None = None
    limit: int | None = None


@dataclass(frozen=True)
class Targets:
    sites: tuple[str, ...] = ()  # landing pages; `pages_per_site` internal pages are sampled from each
    urls: tuple[str, ...] = ()  # exact pages, visited alone
    app_capture: tuple[str, ...] = ()  # .mitm or .har files (absolute paths)
    profile: str | None = None  # device profile YAML for the capture
    app: str | None = None
    brokers: BrokerTargets | None = None

    def empty(self) -> bool:
        return not (self.sites or self.urls or self.app_capture or self.brokers)


@dataclass(frozen=True)
class BrowserSettings:
    """Chromium flags from the spec (allow-listed: BROWSER_FLAGS). The executable is never the spec's."""

    args: tuple[str, ...] = ()


@dataclass(frozen=True)
class AuditSpec:
    """A validated audit spec; `data` is the YAML as read (recorded in the audit's `crawls.config`)."""

    path: str
    case: str
    jurisdiction: str
    targets: Targets
    phases: tuple[str, ...] = ("initial", "reject", "accept")
    pages_per_site: int | None = None
    rules: tuple[str, ...] | None = None  # None: every rule
    network: NetworkOptions = NetworkOptions()
    browser: BrowserSettings = BrowserSettings()
    seed: int | None = None
    timeout: float | None = None
    concurrency: int | None = None
    warc: bool = False  # archive each web visit as WARC (`mouchard audit --warc` wins when given)
    data: dict = field(default_factory=dict, compare=False)


class _Checker:
    """Reads one spec's values; every error names the file and the key."""

    def __init__(self, source: str, folder: Path):
        self.source = source
        self.folder = folder

    def fail(self, key: str, message: str) -> UserError:
        return UserError(f"{self.source}: {key}: {message}" if key else f"{self.source}: {message}")

    def mapping(self, value, key: str, allowed: tuple[str, ...]) -> dict:
        if not isinstance(value, dict):
            raise self.fail(key, f"expected a mapping of {', '.join(allowed)}, got {_kind(value)}")
        for name in value:
            if name not in allowed:
                where = f"{key}.{name}" if key else str(name)
                raise UserError(f"{self.source}: unknown key {where!r} (expected one of {', '.join(allowed)})")
        return value

    def text(self, value, key: str, allow_numbers: bool = False) -> str:
        if allow_numbers and isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, f"expected a non-empty string, got {_kind(value)}")
        return value.strip()

    def texts(self, value, key: str) -> tuple[str, ...]:
        """A string or a list of strings."""
        if value is None:
            return ()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise self.fail(key, f"expected a list of strings, got {_kind(value)}")
        return tuple(self.text(v, f"{key}[{i}]") for i, v in enumerate(value))

    def choice(self, value, key: str, choices: tuple[str, ...]) -> str:
        if not isinstance(value, str) or value not in choices:
            raise self.fail(key, f"expected one of {', '.join(choices)}, got {value!r}")
        return value

    def integer(self, value, key: str, minimum: int = 0, maximum: int | None = None) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum or (maximum and value > maximum):
            bound = f"{minimum}..{maximum}" if maximum else f"≥ {minimum}"
            raise self.fail(key, f"expected a whole number {bound}, got {value!r}")
        return value

    def number(self, value, key: str, minimum: float, maximum: float) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not minimum <= value <= maximum:
            raise self.fail(key, f"expected a number from {minimum:g} to {maximum:g}, got {value!r}")
        return float(value)

    def boolean(self, value, key: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(key, f"expected true or false, got {value!r}")
        return value

    def url(self, value, key: str) -> str:
        text = self.text(value, key)
        try:  # urlsplit raises on a bad IPv6 literal or port
            parts = urllib.parse.urlsplit(text)
            good = parts.scheme in ("http", "https") and bool(parts.hostname) and (parts.port or 0) >= 0
        except ValueError:
            good = False
        if not good:
            raise self.fail(key, f"not an http(s) URL: {text[:200]!r}")
        return text

    def file(self, value, key: str) -> str:
        text = self.text(value, key)
        try:  # ~unknown-user, NUL bytes
            path = self.folder / Path(text).expanduser()
            found = path.is_file()
        except (RuntimeError, ValueError, OSError):
            path, found = text, False
        if not found:
            raise self.fail(key, f"no such file: {str(path)[:200]!r}")
        return str(Path(path).resolve())


def _scheme(text: str) -> str:
    try:
        return urllib.parse.urlsplit(text).scheme
    except ValueError:
        return ""


def _kind(value) -> str:
    return "nothing" if value is None else f"{type(value).__name__} {value!r}"[:80]


def load_spec(path: str | Path) -> AuditSpec:
    """Read and validate a spec file (raises UserError with one line)."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"no audit spec at {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read audit spec {path}: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UserError(f"{path}: not valid YAML: {problem}{where}") from None
    return parse_spec(data, source=str(path), folder=file.parent)


def parse_spec(data, *, source: str = "spec", folder: str | Path = ".") -> AuditSpec:
    """Validate a spec already read from YAML; relative paths are resolved against `folder`."""
    check = _Checker(source, Path(folder))
    data = check.mapping(data, "", KEYS)
    for key in REQUIRED:
        if data.get(key) is None:
            raise check.fail(key, "missing (required)")
    targets = _targets(check, data["targets"])
    phases = PHASES[:3]
    if data.get("phases") is not None:
        phases = tuple(check.choice(p, f"phases[{i}]", PHASES) for i, p in enumerate(check.texts(data["phases"], "phases")))
        if not phases:
            raise check.fail("phases", f"expected at least one of {', '.join(PHASES)}")
        phases = tuple(dict.fromkeys(phases))
    rules = None
    if data.get("rules") not in (None, "all"):
        rules = check.texts(data["rules"], "rules")
        try:
            select(rules)
        except UserError as exc:
            raise check.fail("rules", str(exc)) from None
    return AuditSpec(
        path=str(source), case=check.text(data["case"], "case", allow_numbers=True),
        jurisdiction=check.choice(data["jurisdiction"], "jurisdiction", JURISDICTIONS),
        targets=targets, phases=phases,
        pages_per_site=None if data.get("pages_per_site") is None
        else check.integer(data["pages_per_site"], "pages_per_site", 0, 100),
        rules=rules, network=_network(check, data.get("network")), browser=_browser(check, data.get("browser")),
        seed=None if data.get("seed") is None else check.integer(data["seed"], "seed", 0),
        timeout=None if data.get("timeout") is None else check.number(data["timeout"], "timeout", 1, 3600),
        concurrency=None if data.get("concurrency") is None else check.integer(data["concurrency"], "concurrency", 1, 64),
        warc=False if data.get("warc") is None else check.boolean(data["warc"], "warc"),
        data=data)


def _targets(check: _Checker, value) -> Targets:
    value = check.mapping(value, "targets", TARGET_KEYS)
    sites = tuple(check.url(u, f"targets.sites[{i}]") for i, u in enumerate(check.texts(value.get("sites"), "targets.sites")))
    urls = tuple(check.url(u, f"targets.urls[{i}]") for i, u in enumerate(check.texts(value.get("urls"), "targets.urls")))
    captures = tuple(check.file(p, f"targets.app_capture[{i}]" if isinstance(value.get("app_capture"), list)
                                else "targets.app_capture")
                     for i, p in enumerate(check.texts(value.get("app_capture"), "targets.app_capture")))
    profile = None if value.get("profile") is None else check.file(value["profile"], "targets.profile")
    app = None if value.get("app") is None else check.text(value["app"], "targets.app")
    if (profile or app) and not captures:
        raise check.fail("targets.profile" if profile else "targets.app", "only meaningful with targets.app_capture")
    if captures and not profile:
        raise check.fail("targets.profile", "required with targets.app_capture: the device profile the capture was "
                                            "made with (its planted identifiers are what leaks are searched for)")
    targets = Targets(sites, urls, captures, profile, app, _brokers(check, value.get("brokers")))
    if targets.empty():
        raise check.fail("targets", "nothing to audit: give sites, urls, app_capture or brokers")
    return targets


def _brokers(check: _Checker, value) -> BrokerTargets | None:
    if value is None:
        return None
    if isinstance(value, dict):
        value = check.mapping(value, "targets.brokers", BROKER_KEYS)
        registries = tuple(check.choice(r, "targets.brokers.registry", REGISTRIES)
                           for r in check.texts(value.get("registry"), "targets.brokers.registry"))
        source = None
        if value.get("from") is not None:
            source = check.text(value["from"], "targets.brokers.from")
            if _scheme(source) not in ("http", "https"):
                source = check.file(source, "targets.brokers.from")
            if len(registries) > 1:
                raise check.fail("targets.brokers.from", "one file or URL holds one registry: give a single registry")
        limit = None if value.get("limit") is None else check.integer(value["limit"], "targets.brokers.limit", 1)
        if not registries and not source:
            raise check.fail("targets.brokers", "give a registry, a file or URL (from), or both")
        return BrokerTargets(registries, source, limit)
    registries = tuple(check.choice(r, "targets.brokers", REGISTRIES) for r in check.texts(value, "targets.brokers"))
    if not registries:
        raise check.fail("targets.brokers",
                         f"expected a registry ({', '.join(REGISTRIES)}) or a mapping of {', '.join(BROKER_KEYS)}")
    return BrokerTargets(registries)


def _network(check: _Checker, value) -> NetworkOptions:
    if value is None:
        return NetworkOptions()
    value = check.mapping(value, "network", NETWORK_KEYS)
    host_map = check.texts(value.get("host_map"), "network.host_map")
    ignore = False if value.get("ignore_https_errors") is None else check.boolean(value["ignore_https_errors"],
                                                                                   "network.ignore_https_errors")
    proxy = None if value.get("proxy") is None else check.text(value["proxy"], "network.proxy")
    ca_file = None if value.get("ca_file") is None else check.file(value["ca_file"], "network.ca_file")
    try:
        return NetworkOptions.build(proxy, host_map, ignore, ca_file)
    except (UserError, ValueError) as exc:  # ValueError: a proxy URL urlsplit cannot read
        raise check.fail("network", str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None


def _browser(check: _Checker, value) -> BrowserSettings:
    if value is None:
        return BrowserSettings()
    value = check.mapping(value, "browser", BROWSER_KEYS)
    if value.get("path") is not None:
        raise check.fail("browser.path", "a spec never names an executable: give the browser on the command line "
                                         "(mouchard audit SPEC --browser PATH)")
    args = check.texts(value.get("args"), "browser.args")
    for i, arg in enumerate(args):
        problem = check_browser_flag(arg)
        if problem:
            raise check.fail(f"browser.args[{i}]", problem)
    return BrowserSettings(args)
