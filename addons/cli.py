"""`mouchard proxy` and `mouchard import`: mitmdump with mouchard's addons, live or over a saved capture.

Both run the `mitmdump` of this environment as a subprocess with `addons/mouchard_addons.py`, so a live capture
and an import go through the same code. The run's `crawls` row is created here (kind `app` or `import`, with the
command, the profile's kinds — never its values — and the network options) and finished by the addons.
"""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

import click

from mouchard.errors import UserError
from mouchard.options import db_option, network_options

DEFAULT_CONFDIR = "~/.mitmproxy"
MODES_HELP = ("regular (an HTTP proxy: set it in the phone's Wi-Fi settings), wireguard (the phone joins a "
              "WireGuard VPN: one instance per app or device), upstream:URL, socks5, transparent, local:APP")


def mitmdump_path() -> Path:
    """The mitmdump installed next to this Python (the same environment as mouchard)."""
    path = Path(sys.executable).parent / "mitmdump"
    if not path.exists():
        raise UserError(f"mitmdump not found next to {sys.executable}: pip install 'mitmproxy>=12,<13'")
    return path


def addons_script() -> Path:
    return Path(__file__).resolve().parent / "mouchard_addons.py"


def _options(**values) -> list[str]:
    args = []
    for name, value in values.items():
        for item in value if isinstance(value, (list, tuple)) else [value]:
            if item is None or item == "":
                continue
            args += ["--set", f"{name}={str(item).lower() if isinstance(item, bool) else item}"]
    return args


def _common(profile: str, app: str | None, db: str, crawl_id: int, keep_bodies: str | None, net) -> list[str]:
    if keep_bodies:
        from mouchard.store import evidence_dir

        root, keep = evidence_dir(Path(db).resolve()).resolve(), Path(keep_bodies).resolve()
        if keep != root and root not in keep.parents:  # evidence paths are relative to the evidence folder
            raise UserError(f"--keep-bodies must be the database's evidence folder {root} or a folder inside it")
    args = [str(mitmdump_path()), "-s", str(addons_script())]
    args += _options(mouchard_profile=str(Path(profile).resolve()), mouchard_app=app or "",
                     mouchard_db=str(Path(db).resolve()), mouchard_crawl_id=crawl_id,
                     mouchard_keep_bodies=str(Path(keep_bodies).resolve()) if keep_bodies else None,
                     mouchard_host_map=[str(r) for r in net.host_map])
    if net.ignore_https_errors:
        args += _options(ssl_insecure=True)
    if net.ca_file:
        args += _options(ssl_verify_upstream_trusted_ca=str(Path(net.ca_file).resolve()))
    return args


def _start_run(db: str, kind: str, profile, config: dict, net):
    from mouchard.store import Store

    store = Store(db)
    crawl_id = store.start_crawl(kind, config={**config, "profile": profile.describe()}, network=net.as_record(),
                                 command=sys.argv)
    return store, crawl_id


def _run(args: list[str]) -> tuple[int, int | None]:
    """Run mitmdump to its end: (its exit status, the stop signal we received, if any).

    mitmdump runs in its own process group with a parent-death signal (mouchard.lifecycle): a stop signal
    reaching us (SIGINT, SIGTERM or SIGHUP, even inherited ignored) is passed on to it and we wait for its clean
    exit, which finishes the run; if we are killed outright, the kernel sends it SIGTERM and it still does.
    """
    from mouchard.lifecycle import StopSignals

    with StopSignals() as stop:
        return stop.run(args), stop.received


def _end_run(store, crawl_id: int, code: int, stopped: int | None = None) -> dict:
    """Mark a run mitmdump could not finish (stopped before its recorder started, or failed), and return its
    crawls row."""
    row = store.rows("SELECT * FROM crawls WHERE id = ?", [crawl_id])[0]
    if row["status"] == "running":
        ok = code in (0, -signal.SIGINT, 130) or stopped is not None
        store.finish_crawl(crawl_id, "interrupted" if ok else "failed",
                           json.loads(row["summary"]) if row["summary"] else {})
        row = store.rows("SELECT * FROM crawls WHERE id = ?", [crawl_id])[0]
    return row


def print_summary(store, crawl_id: int) -> None:
    """Counts of the run: flows by kind, leaks by identifier and by destination, TLS failures."""
    kinds = store.rows("SELECT kind, count(*) AS n FROM flows WHERE crawl_id = ? GROUP BY kind ORDER BY n DESC",
                       [crawl_id])
    click.echo(f"run {crawl_id}: " + (", ".join(f"{r['n']} {r['kind']}" for r in kinds) or "no flows"))
    leaks = store.rows("SELECT identifier, count(*) AS n, count(DISTINCT destination_site) AS sites FROM leaks "
                       "WHERE crawl_id = ? GROUP BY identifier ORDER BY n DESC", [crawl_id])
    for r in leaks:
        click.echo(f"  {r['identifier']}: {r['n']} leak(s) to {r['sites']} site(s)")
    top = store.rows("SELECT destination_site AS site, coalesce(tracker_entity, '?') AS entity, count(*) AS n "
                     "FROM leaks WHERE crawl_id = ? GROUP BY 1, 2 ORDER BY n DESC LIMIT 10", [crawl_id])
    if top:
        click.echo("  destinations: " + ", ".join(f"{r['site']} ({r['entity']}) {r['n']}" for r in top))
    pinned = store.count("flows", "crawl_id = ? AND kind = 'tls-failure'", [crawl_id])
    if pinned:
        click.echo(f"  {pinned} TLS handshake(s) refused by the app (certificate pinning?)")


def _ca_help(confdir: Path) -> str:
    pem, cer = confdir / "mitmproxy-ca-cert.pem", confdir / "mitmproxy-ca-cert.cer"
    state = "" if pem.exists() else " (created on first start)"
    return (f"mitmproxy CA certificate: {pem}{state}\n"
            f"  Android: copy {cer} to the phone, Settings > Security > Encryption & credentials > Install a\n"
            f"    certificate > CA certificate. Apps targeting Android 7+ only trust user CAs if they opt in: use an\n"
            f"    emulator image without Play Store (adb root) or a rooted test phone to install it as a system CA.\n"
            f"  iOS: browse to http://mitm.it through the proxy (or AirDrop {pem}), install the profile in Settings >\n"
            f"    General > VPN & Device Management, then Settings > General > About > Certificate Trust Settings.\n"
            f"  See docs/apps.md.")


def _profile(path: str):
    from mouchard.profile import load_profile

    return load_profile(path)


def _net(proxy, host_map, ignore_https_errors, ca_file):
    from mouchard.options import network_from

    return network_from(proxy, host_map, ignore_https_errors, ca_file)


@click.command("proxy")
@click.option("--profile", required=True, type=click.Path(dir_okay=False),
              help="Device profile (YAML) with the values planted on the test phone; see docs/apps.md.")
@click.option("--app", metavar="NAME", help="App under test: every flow is attributed to it.")
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True, help="Port to listen on.")
@click.option("--listen-host", default="", metavar="ADDRESS",
              help="Address to listen on (default: every interface, so the phone can reach it).")
@click.option("--mode", "modes", multiple=True, metavar="MODE", help=f"mitmproxy mode (repeatable): {MODES_HELP}.")
@click.option("--keep-bodies", type=click.Path(file_okay=False), metavar="DIR",
              help="Keep raw bodies as hashed evidence files in DIR: DB.evidence/ or a folder in it (never in the database).")
@click.option("--confdir", default=DEFAULT_CONFDIR, show_default=True, type=click.Path(file_okay=False),
              help="mitmproxy configuration folder (its CA certificate lives here).")
@click.option("--flow-detail", type=click.IntRange(0, 4), default=1, show_default=True,
              help="How much of each flow mitmdump prints (0: nothing).")
@click.option("--set", "mitm_options", multiple=True, metavar="NAME=VALUE",
              help="Any other mitmproxy option, passed as is (repeatable), e.g. connection_strategy=lazy.")
@db_option
@network_options
def proxy(profile, app, port, listen_host, modes, keep_bodies, confdir, flow_detail, mitm_options, db, proxy,
          host_map, ignore_https_errors, ca_file) -> None:
    """Run mitmdump with mouchard's addons: record a phone's traffic and its leaks.

    Point the phone at this proxy (or join it with --mode wireguard), install the CA certificate, use the app;
    stop with Ctrl-C. Flows, leaks, cookies, bids and ID syncs go to --db, with planted values redacted.
    """
    prof = _profile(profile)
    net = _net(proxy, host_map, ignore_https_errors, ca_file)
    modes = list(modes) or ["regular"]
    if net.proxy:
        if not net.proxy.startswith("http") or modes != ["regular"]:
            raise UserError("--proxy with `mouchard proxy` must be an http(s) proxy and replaces --mode regular "
                            "(mitmproxy mode upstream:URL)")
        modes = [f"upstream:{net.proxy}"]
    confdir_path = Path(confdir).expanduser()
    store, crawl_id = _start_run(db, "app", prof, {"app": app, "port": port, "modes": modes}, net)
    args = _common(profile, app, db, crawl_id, keep_bodies, net)
    args += _options(confdir=str(confdir_path), flow_detail=flow_detail, listen_port=port,
                     listen_host=listen_host or None, mode=modes)
    for option in mitm_options:
        if "=" not in option or option.startswith("mouchard_"):
            raise UserError(f"--set {option!r}: expected NAME=VALUE of a mitmproxy option (mouchard's own have flags)")
        args += ["--set", option]
    click.echo(_ca_help(confdir_path), err=True)
    click.echo(f"recording into {store.path} (run {crawl_id}); stop with Ctrl-C (or SIGTERM)", err=True)
    code, stopped = _run(args)
    _end_run(store, crawl_id, code, stopped)
    print_summary(store, crawl_id)
    if code not in (0, 130, -signal.SIGINT) and not (stopped and code == -stopped):
        raise UserError(f"mitmdump stopped with status {code} (see its messages above)")


@click.command("import")
@click.argument("capture", type=click.Path(exists=True, dir_okay=False))
@click.option("--profile", required=True, type=click.Path(dir_okay=False),
              help="Device profile (YAML) of the phone the capture was made on.")
@click.option("--app", metavar="NAME", help="App the capture is of: every flow is attributed to it.")
@click.option("--keep-bodies", type=click.Path(file_okay=False), metavar="DIR",
              help="Keep raw bodies as hashed evidence files in DIR: DB.evidence/ or a folder in it (never in the database).")
@db_option
def import_(capture, profile, app, keep_bodies, db) -> None:
    """Record flows and leaks from a saved capture (.mitm from mitmproxy, or .har), offline.

    The capture is replayed through the same addons as `mouchard proxy` (nothing is sent anywhere).
    """
    from mouchard.net import NetworkOptions

    prof = _profile(profile)
    path = Path(capture)
    digest, kind = _check_capture(path)
    net = NetworkOptions()
    store, crawl_id = _start_run(db, "import", prof, {"app": app, "file": str(path.resolve()), "format": kind,
                                                       "sha256": digest}, net)
    args = _common(profile, app, db, crawl_id, keep_bodies, net)
    args += ["-n", "-r", str(path.resolve())] + _options(flow_detail=0)
    code, stopped = _run(args)
    row = _end_run(store, crawl_id, code, stopped)
    print_summary(store, crawl_id)
    if code != 0 or row["status"] != "finished":
        raise UserError(f"import of {path} did not finish (mitmdump status {code}): see its messages above")


def _check_capture(path: Path) -> tuple[str, str]:
    """(sha256, 'har' or 'mitm') of a capture file, every flow of which mitmproxy can read; else a one-line error."""
    from addons.capture import check_capture

    capture = check_capture(path)
    return capture.sha256, capture.kind
