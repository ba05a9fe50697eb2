"""Click options shared by every command, so one concept has one spelling everywhere (--db, MOUCHARD_DB...).

Click reads environment variables only through the names declared in mouchard.settings (`envvar=ENV_...`): that
module owns every `MOUCHARD_*` variable, and `RunSettings.from_options` applies the same names for library callers.
"""

from __future__ import annotations

from collections.abc import Callable

import click

from mouchard.settings import DEFAULT_DB, DEFAULT_DWELL, ENV_BROWSER, ENV_CA_FILE, ENV_DB, ENV_DWELL, ENV_PROXY


def db_option(fn: Callable) -> Callable:
    return click.option("--db", "db", envvar=ENV_DB, default=DEFAULT_DB, show_default=True,
                        type=click.Path(dir_okay=False), help=f"SQLite database (env {ENV_DB}).")(fn)


def network_options(fn: Callable) -> Callable:
    """--proxy, --host-map, --ignore-https-errors, --ca-file: turned into NetworkOptions by `network_from`."""
    for option in reversed((
        click.option("--proxy", envvar=ENV_PROXY, metavar="URL",
                     help="Send traffic through this proxy: http://HOST:PORT or socks5://HOST:PORT (a vantage point)."),
        click.option("--host-map", "host_map", multiple=True, metavar="RULE",
                     help="Resolve hosts to fixed addresses: '*=127.0.0.1' or 'example.com=10.1.2.3' (repeatable)."),
        click.option("--ignore-https-errors", is_flag=True,
                     help="Accept invalid certificates (test labs, staging copies)."),
        click.option("--ca-file", envvar=ENV_CA_FILE, type=click.Path(exists=True, dir_okay=False),
                     help="Extra CA certificate to trust (a test lab's)."),
    )):
        fn = option(fn)
    return fn


def browser_options(fn: Callable) -> Callable:
    for option in reversed((
        click.option("--browser", envvar=ENV_BROWSER, metavar="PATH",
                     help="Chromium executable (default: Playwright's, else the system's)."),
        click.option("--browser-arg", "browser_args", multiple=True, metavar="ARG",
                     help="Extra Chromium flag (repeatable)."),
        click.option("--no-sandbox", "no_sandbox", is_flag=True,
                     help="Run Chromium without its sandbox (unsafe on hostile sites; recorded as a warning). By "
                          "default, as root, Chromium runs as the unprivileged user mouchard-browser, sandboxed."),
    )):
        fn = option(fn)
    return fn


def run_options(fn: Callable) -> Callable:
    for option in reversed((
        click.option("--concurrency", type=click.IntRange(1, 64), default=2, show_default=True,
                     help="Pages or requests in flight at once."),
        click.option("--timeout", type=click.FloatRange(1, 3600), default=30.0, show_default=True,
                     help="Seconds a page or request may take before it is given up."),
    )):
        fn = option(fn)
    return fn


def dwell_option(fn: Callable) -> Callable:
    """--dwell SECONDS (env MOUCHARD_DWELL): time on each page after load, scrolling and moving the mouse."""
    return click.option("--dwell", type=click.FloatRange(0, 300), envvar=ENV_DWELL, default=DEFAULT_DWELL,
                        show_default=True, metavar="SECONDS",
                        help="Stay this long on each page after load, scrolling to the bottom and back and moving "
                             "the mouse, so late, scroll- and view-triggered requests are recorded (0: leave once the "
                             f"network is quiet; env {ENV_DWELL}).")(fn)


def collector_option(fn: Callable) -> Callable:
    """--collector NAME=VALUE (repeatable): a field of `mouchard.settings.CollectorSettings`, checked there."""
    return click.option("--collector", "collector_values", multiple=True, metavar="NAME=VALUE",
                        help="Change a collector switch or limit, e.g. fingerprinting=false, keylogging=false, "
                             "consent_wait=2, max_requests=5000 (repeatable; the names: docs/crawl.md).")(fn)


def collectors_from(values: tuple[str, ...]) -> dict:
    """`("fingerprinting=false", "consent_wait=2")` to `{"fingerprinting": False, "consent_wait": 2.0}`; the
    values' ranges are checked by `CollectorSettings.build`, a malformed pair is a one-line UserError."""
    from mouchard.errors import UserError

    changes: dict = {}
    for pair in values:
        name, sep, raw = pair.partition("=")
        name, raw = name.strip(), raw.strip()
        if not sep or not name:
            raise UserError(f"--collector {pair[:80]!r}: expected NAME=VALUE")
        lowered = raw.lower()
        if lowered in ("true", "yes", "on"):
            changes[name] = True
        elif lowered in ("false", "no", "off"):
            changes[name] = False
        elif lowered in ("none", "default"):
            changes[name] = None
        else:
            try:
                changes[name] = float(raw) if any(c in raw for c in ".eE") else int(raw)
            except ValueError:
                raise UserError(f"--collector {name[:40]}: {raw[:40]!r} is not true, false, none or a number") from None
    return changes


def network_from(proxy: str | None, host_map: tuple[str, ...], ignore_https_errors: bool, ca_file: str | None):
    from mouchard.net import NetworkOptions

    return NetworkOptions.build(proxy, host_map, ignore_https_errors, ca_file)


__all__ = ["DEFAULT_DWELL", "ENV_DWELL", "browser_options", "collector_option", "collectors_from", "db_option", "dwell_option", "network_from",
           "network_options", "run_options"]
