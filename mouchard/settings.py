"""The settings of one run, typed and built once; the only module that reads `MOUCHARD_*` environment variables.

`RunSettings.from_options(**options, env=os.environ)` takes the command's options (the names of the Click
parameters: `db`, `proxy`, `host_map`, `browser`, `dwell`, `consent`...), fills what was not given from the
environment, validates every value (a bad one is one-line `UserError`) and returns a frozen object that is passed
explicitly to the crawl and recorded in `crawls.config` (`as_record()`).

Precedence: an option given explicitly, then its `MOUCHARD_*` variable, then the default. The Click commands keep
`envvar=` for the help text and shell completion, but only through the `ENV_*` names declared here (a contract test,
tests/test_core_settings.py, fails on any other module that reads a `MOUCHARD_*` variable).

The evidence folder of a database is derived in one place, `evidence_dir(db)` here (mouchard.storage.store re-exports it);
`RunSettings.evidence_dir` is that folder for the run's database, used alike by the crawl, its workers and the audits.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mouchard.errors import UserError
from mouchard.net import NetworkOptions

# Every environment variable mouchard reads; the contract test holds the rest of the code to these names.
ENV_DB = "MOUCHARD_DB"  # --db
ENV_PROXY = "MOUCHARD_PROXY"  # --proxy
ENV_CA_FILE = "MOUCHARD_CA_FILE"  # --ca-file
ENV_BROWSER = "MOUCHARD_BROWSER"  # --browser
ENV_DWELL = "MOUCHARD_DWELL"  # --dwell
ENV_SCHEDULER = "MOUCHARD_SCHEDULER"  # --scheduler (a crawl on an existing Dask cluster)
ENV_CACHE = "MOUCHARD_CACHE"  # the tracker-lists cache folder (lists go in $MOUCHARD_CACHE/lists)
ENV_DEBUG = "MOUCHARD_DEBUG"  # tracebacks instead of one-line internal errors
ENV_NAMES = (ENV_DB, ENV_PROXY, ENV_CA_FILE, ENV_BROWSER, ENV_DWELL, ENV_SCHEDULER, ENV_CACHE, ENV_DEBUG)

DEFAULT_DB = "mouchard.db"
DEFAULT_DWELL = 5.0  # seconds: why this value, and what it costs, in docs/crawl.md ("Dwell")
DEFAULT_SEED = 20240601
DEFAULT_TIMEOUT = 30.0
DEFAULT_CONCURRENCY = 2

CONSENT_CHOICES = ("none", "reject", "accept", "all")
PHASES = ("initial", "reject", "accept", "gpc", "revoke", "second-site")


def env_value(name: str, env: Mapping[str, str] | None = None) -> str | None:
    """The value of the declared variable `name` in `env` (default: the process environment); None when unset or
    empty. Reading an undeclared name is a programming error: declare it above first."""
    if name not in ENV_NAMES:
        raise KeyError(f"{name} is not a declared mouchard environment variable")
    value = (os.environ if env is None else env).get(name)
    return value or None


def debug_enabled(env: Mapping[str, str] | None = None) -> bool:
    """$MOUCHARD_DEBUG set (to anything but 0): show tracebacks of internal errors."""
    return (env_value(ENV_DEBUG, env) or "0") not in ("0", "false", "no")


def default_db(env: Mapping[str, str] | None = None) -> str:
    """The database when no --db is given: $MOUCHARD_DB, else mouchard.db."""
    return env_value(ENV_DB, env) or DEFAULT_DB


def default_browser(env: Mapping[str, str] | None = None) -> str | None:
    """The Chromium named by $MOUCHARD_BROWSER (None: find one)."""
    return env_value(ENV_BROWSER, env)


def lists_cache_root(env: Mapping[str, str] | None = None) -> Path | None:
    """$MOUCHARD_CACHE/lists when the variable is set, else None (the XDG cache decides)."""
    root = env_value(ENV_CACHE, env)
    return Path(root) / "lists" if root else None


def node_modules_dirs() -> list[Path]:
    """Where the npm packages of package.json may be (installed by scripts/setup.sh, never copied into the
    package): a checkout's node_modules, then the working directory's. Autoconsent's rules and the demo web's
    libraries are looked up here, in this order."""
    return [Path(__file__).resolve().parents[1] / "node_modules", Path.cwd() / "node_modules"]


def evidence_dir(db: str | os.PathLike) -> Path:
    """Where a database keeps its evidence files (screenshots, HAR, registry copies): `<db>.evidence/`."""
    return Path(f"{db}.evidence")


def phases_for(consent: str = "all", gpc: bool = False, revoke: bool = False, second_site: bool = False) -> list[str]:
    """The phases of every page, in visiting order: `initial` always (no interaction), then `reject` and/or
    `accept` as `--consent` says (none, reject, accept or all), then `gpc` with `--gpc`, `revoke` with `--revoke`
    (accept, then withdraw) and `second-site` with `--second-site` (reject on the next site of the list first)."""
    if consent not in CONSENT_CHOICES:
        raise UserError(f"--consent {consent}: choose one of {', '.join(CONSENT_CHOICES)}")
    phases = ["initial"]
    if consent in ("reject", "all"):
        phases.append("reject")
    if consent in ("accept", "all"):
        phases.append("accept")
    if gpc:
        phases.append("gpc")
    if revoke:
        phases.append("revoke")
    if second_site:
        phases.append("second-site")
    return phases


def scheduler_address(value: str | None) -> str | None:
    """A Dask scheduler's address as given (`tcp://HOST:PORT` or `tls://HOST:PORT`), checked; None when not given.
    Anything else (a path, credentials in the URL, another scheme) is a one-line UserError."""
    if value is None:
        return None
    import urllib.parse

    text = str(value).strip()
    try:
        parts = urllib.parse.urlsplit(text)
        port = parts.port
    except ValueError:
        port, parts = None, None
    if parts is None or parts.scheme not in ("tcp", "tls") or not parts.hostname or port is None \
            or parts.username or parts.password or parts.path not in ("", "/") or parts.query or parts.fragment:
        raise UserError(f"--scheduler {text[:200]!r}: expected a Dask scheduler address, tcp://HOST:PORT or "
                        "tls://HOST:PORT")
    return f"{parts.scheme}://{parts.netloc}"


def _number(option: str, value: Any, low: float, high: float, *, integer: bool = False, env: str | None = None,
            label: str | None = None):
    """`value` (an option, an environment string or a recorded value) as a number in [low, high], else a one-line
    UserError naming where it came from."""
    if env and isinstance(value, str):
        where = f"${env}={value!r}"
    else:
        where = f"{label or '--' + option.replace('_', '-')} {value!r}"
    try:
        if integer and isinstance(value, float) and not value.is_integer():
            raise ValueError(value)  # int() would truncate 2.5 to 2 silently
        number = int(value) if integer else float(value)
    except (TypeError, ValueError, OverflowError):
        raise UserError(f"{where}: expected {'a whole number' if integer else 'a number'} "
                        f"from {low:g} to {high:g}") from None
    if isinstance(value, bool) or not math.isfinite(number) or not low <= number <= high:
        raise UserError(f"{where}: expected a number from {low:g} to {high:g}")
    return number


@dataclass(frozen=True)
class BrowserSettings:
    """The Chromium of a run: `executable` as asked (None: `mouchard.browser.find_browser` picks one), extra
    flags, and whether its sandbox stays on."""

    executable: str | None = None
    args: tuple[str, ...] = ()
    sandbox: bool = True
    # A person's own Chromium profile folder (`mouchard me crawl --browser-profile`): each visit starts from a copy
    # of it (their cookies, logged in); the folder itself is never written to.
    user_profile: str | None = None


@dataclass(frozen=True)
class CollectorSettings:
    """The page-side collectors' switches and limits. A collector names its switch in its class attribute `switch`
    (e.g. `switch = "keylogging"`): the spider leaves it out when that field is False."""

    session_replay: bool = True
    keylogging: bool = True
    keylogging_wait: float = 2.0  # seconds of quiet network awaited after typing (docs/crawl-detectors.md)
    keylogging_fields: int = 12  # form fields typed into at most
    pixels: bool = True
    id_syncs: bool = True
    fingerprinting: bool = True
    fingerprinting_workers: bool = True  # also instrument web workers
    autoconsent: bool = True  # DuckDuckGo's autoconsent rules besides our own (docs/consent.md)
    consent_wait: float = 6.0  # seconds to wait for a banner
    consent_reload: bool = True  # reload after the consent action
    # The network collector's limits; None: its own defaults (crawler/collectors/network.py MAX_REQUESTS,
    # VISIT_BODY_BUDGET, MAX_ASYNC_DEPTH: requests kept per visit, POST-body bytes per visit, async parents).
    max_requests: int | None = None
    visit_body_budget: int | None = None
    async_stack_depth: int | None = None

    @classmethod
    def build(cls, values: "CollectorSettings | Mapping[str, Any] | None") -> "CollectorSettings":
        """From a mapping of the fields to change (it may come from a record: every value is checked)."""
        if values is None or isinstance(values, cls):
            return values or cls()
        if not isinstance(values, Mapping):
            raise UserError(f"collector settings: expected a mapping of names to values, not {type(values).__name__}")
        names = {f.name: f for f in dataclasses.fields(cls)}
        unknown = set(values) - set(names)
        if unknown:
            raise UserError(f"unknown collector settings: {', '.join(sorted(map(str, unknown)))[:200]} "
                            f"(known: {', '.join(names)})")
        checked: dict[str, Any] = {}
        for name, value in values.items():
            kind = names[name].type
            if kind == "bool":
                if not isinstance(value, bool):
                    raise UserError(f"collector setting {name}: expected true or false, not {value!r}")
                checked[name] = value
            elif value is None and "None" in kind:
                checked[name] = None
            else:
                checked[name] = _number(name, value, 0, 1 << 40, integer=kind.startswith("int"),
                                        label=f"collector setting {name}")
        return cls(**checked)

    def as_record(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class ReplaySettings:
    """A crawl replayed from archived traffic (`mouchard audit SPEC --replay BUNDLE`, mouchard.archive): every request
    goes to the replay proxy (`RunSettings.network` says where), and each visit's page clock starts at the capture
    time of the archived visit of the same phase and URL (`clock`: (phase, url, ISO time) triples; a visit with no
    archived twin keeps the real clock). `proxies`: (phase, proxy URL) pairs, the replay proxy's port that prefers
    that phase's captures when a URL was archived by several visits (a visit of the phase goes through it; else
    through the run's proxy). `bundle` is the replayed bundle's digest, recorded with the run."""

    bundle: str | None = None
    clock: tuple[tuple[str, str, str], ...] = ()
    proxies: tuple[tuple[str, str], ...] = ()

    def proxy_for(self, phase: str) -> str | None:
        """The replay proxy URL of this phase's captures (None: the run's proxy)."""
        return next((url for recorded, url in self.proxies if recorded == phase), None)

    def capture_time(self, phase: str, url: str) -> str | None:
        """The ISO capture time of the archived visit of this phase and URL (None: not archived)."""
        for recorded_phase, recorded_url, when in self.clock:
            if recorded_phase == phase and recorded_url == url:
                return when
        return None

    def as_record(self) -> dict:
        return {"bundle": self.bundle, "clock": [list(entry) for entry in self.clock],
                "proxies": [list(entry) for entry in self.proxies]}

    @classmethod
    def from_record(cls, record: "Mapping[str, Any] | None") -> "ReplaySettings | None":
        """From `as_record()` (a queued or recorded config: every value is checked); None stays None."""
        if record is None:
            return None
        if not isinstance(record, Mapping):
            raise UserError("replay settings: expected a mapping")
        bundle = record.get("bundle")
        clock = record.get("clock") or []
        proxies = record.get("proxies") or []

        def entries(values: Any, size: int) -> bool:
            return isinstance(values, list) and len(values) <= 100_000 and all(
                isinstance(e, (list, tuple)) and len(e) == size and all(isinstance(v, str) and len(v) <= 4096
                                                                        for v in e) for e in values)

        if (bundle is not None and not isinstance(bundle, str)) or not entries(clock, 3) or not entries(proxies, 2) \
                or not all(url.startswith("http://127.0.0.1:") for _, url in proxies):
            raise UserError("replay settings: expected a bundle digest, [phase, url, time] entries and "
                            "[phase, http://127.0.0.1:PORT] proxies")
        return cls(bundle, tuple(tuple(e) for e in clock), tuple(tuple(e) for e in proxies))


@dataclass(frozen=True)
class RunSettings:
    """Everything a crawl run is configured with, validated, from options and environment (see the module doc)."""

    db: str = DEFAULT_DB
    network: NetworkOptions = field(default_factory=NetworkOptions)
    browser: BrowserSettings = BrowserSettings()
    concurrency: int = DEFAULT_CONCURRENCY
    timeout: float = DEFAULT_TIMEOUT
    dwell: float = DEFAULT_DWELL
    phases: tuple[str, ...] = ("initial", "reject", "accept")
    pages_per_site: int = 0
    seed: int = DEFAULT_SEED
    screenshots: bool = False
    har: bool = False
    warc: bool = False  # archive each visit's traffic as WARC (mouchard.archive; <db>.evidence/warc/)
    replay: ReplaySettings | None = None  # replay archived traffic instead of the network (see ReplaySettings)
    scheduler: str | None = None  # a Dask scheduler's address (tcp:// or tls://): the crawl runs on that cluster
    workers: int = 0  # worker processes of a local Dask cluster (0: none, the crawl runs in one process)
    debug: bool = False
    collectors: CollectorSettings = CollectorSettings()

    OPTIONS = frozenset({
        "db", "proxy", "host_map", "ignore_https_errors", "ca_file", "browser", "browser_args", "no_sandbox",
        "browser_profile",
        "concurrency", "timeout", "dwell", "consent", "gpc", "revoke", "second_site", "pages_per_site", "seed",
        "screenshots", "har", "warc", "replay",
        "scheduler", "workers", "collectors",
    })

    @classmethod
    def from_options(cls, *, env: Mapping[str, str] | None = None, **options: Any) -> "RunSettings":
        """The run's settings from command options (Click parameter names; None or absent: not given), then the
        `MOUCHARD_*` variables of `env` (default: the process environment), then the defaults."""
        unknown = set(options) - cls.OPTIONS
        if unknown:
            raise TypeError(f"unknown run options: {', '.join(sorted(unknown))}")

        def given(name: str, variable: str | None = None, default: Any = None) -> Any:
            value = options.get(name)
            if value is None and variable:
                value = env_value(variable, env)
            return default if value is None else value

        dwell_raw = given("dwell", ENV_DWELL, DEFAULT_DWELL)
        return cls(
            db=str(given("db", ENV_DB, DEFAULT_DB)),
            network=NetworkOptions.build(given("proxy", ENV_PROXY), tuple(options.get("host_map") or ()),
                                         bool(options.get("ignore_https_errors")), given("ca_file", ENV_CA_FILE)),
            browser=BrowserSettings(given("browser", ENV_BROWSER), tuple(options.get("browser_args") or ()),
                                    sandbox=not options.get("no_sandbox"), user_profile=options.get("browser_profile")),
            concurrency=_number("concurrency", given("concurrency", default=DEFAULT_CONCURRENCY), 1, 64, integer=True),
            timeout=_number("timeout", given("timeout", default=DEFAULT_TIMEOUT), 1, 3600),
            dwell=_number("dwell", dwell_raw, 0, 300, env=ENV_DWELL if options.get("dwell") is None else None),
            phases=tuple(phases_for(given("consent", default="all"), bool(options.get("gpc")), bool(options.get("revoke")),
                                    bool(options.get("second_site")))),
            pages_per_site=_number("pages_per_site", given("pages_per_site", default=0), 0, 100, integer=True),
            seed=_number("seed", given("seed", default=DEFAULT_SEED), -(1 << 63), (1 << 63) - 1, integer=True),
            screenshots=bool(options.get("screenshots")),
            har=bool(options.get("har")),
            warc=bool(options.get("warc")),
            replay=options.get("replay") if isinstance(options.get("replay"), ReplaySettings)
            else ReplaySettings.from_record(options.get("replay")),
            scheduler=scheduler_address(given("scheduler", ENV_SCHEDULER)),
            workers=_number("workers", given("workers", default=0), 0, 256, integer=True),
            debug=debug_enabled(env),
            collectors=CollectorSettings.build(options.get("collectors")),
        )

    @classmethod
    def from_record(cls, record: Mapping[str, Any], **fields: Any) -> "RunSettings":
        """The settings a recorded run was made with (`as_record()`: crawls.config, a distributed run's queued
        config), validated again; `fields` set what the record does not hold (a worker's db, network, browser)."""
        phases = tuple(record.get("phases") or ("initial",))
        if not all(isinstance(p, str) and p in PHASES for p in phases):
            raise UserError(f"recorded phases {list(phases)!r}: expected some of {', '.join(PHASES)}")
        values: dict[str, Any] = {"phases": phases, "screenshots": bool(record.get("screenshots")),
                                  "har": bool(record.get("har")), "warc": bool(record.get("warc")),
                                  "replay": ReplaySettings.from_record(record.get("replay")),
                                  "collectors": CollectorSettings.build(record.get("collectors") or {})}
        limits = {"concurrency": (1, 64, True), "timeout": (1, 3600, False), "dwell": (0, 300, False),
                  "pages_per_site": (0, 100, True), "seed": (-(1 << 63), (1 << 63) - 1, True)}
        for name, (low, high, integer) in limits.items():
            if record.get(name) is not None:
                values[name] = _number(name, record[name], low, high, integer=integer)
        return cls(**{**values, **fields})

    @property
    def evidence_dir(self) -> Path:
        """The run's evidence folder: `<db>.evidence/` (`evidence_dir`, the one derivation)."""
        return evidence_dir(self.db)

    def as_record(self) -> dict:
        """The run's settings as `crawls.config` stores them (the network and browser have their own columns)."""
        return {"phases": list(self.phases), "concurrency": self.concurrency, "timeout": self.timeout,
                "pages_per_site": self.pages_per_site, "seed": self.seed, "screenshots": self.screenshots,
                "har": self.har, "warc": self.warc, "replay": self.replay.as_record() if self.replay else None,
                "dwell": self.dwell, "collectors": self.collectors.as_record(),
                "workers": self.workers, "scheduler": self.scheduler}
