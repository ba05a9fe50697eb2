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


def _start_run(db: str, kind: str, profile, config: dict, net, warnings: list[str] = ()):
    from mouchard.store import Store

    store = Store(db)
    crawl_id = store.start_crawl(kind, config={**config, "profile": profile.describe()}, network=net.as_record(),
                                 command=sys.argv, warnings=warnings)
    return store, crawl_id


def _quic_warnings(modes: list[str]) -> list[str]:
    """The run's warning when no mode receives UDP (mitmproxy's own mode parser says): QUIC sent directly by an
    app would bypass the proxy unseen."""
    from mitmproxy.proxy.mode_specs import DnsMode, ProxyMode

    for mode in modes:
        try:
            spec = ProxyMode.parse(mode)
        except ValueError:  # mitmdump refuses it with its own message
            continue
        if spec.transport_protocol in ("udp", "both") and not isinstance(spec, DnsMode):
            return []
    return ["no mode receives UDP (" + ", ".join(modes) + "): QUIC / HTTP/3 an app sends directly bypasses the "
            "proxy unseen; use --mode wireguard or local to block or record it"]


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
    quic = store.rows("SELECT error LIKE 'QUIC blocked%' AS blocked, count(*) AS n FROM flows WHERE crawl_id = ? "
                      "AND kind = 'quic' GROUP BY 1", [crawl_id])
    for r in quic:
        click.echo(f"  {r['n']} QUIC attempt(s) blocked: apps fall back to TCP, recorded there" if r["blocked"] else
                   f"  {r['n']} QUIC connection(s) UNREAD: their traffic is missing from this capture")
    http3 = store.count("flows", "crawl_id = ? AND http_version = 'HTTP/3'", [crawl_id])
    if http3:
        click.echo(f"  {http3} HTTP/3 flow(s) recorded")
    for warning in json.loads(store.rows("SELECT warnings FROM crawls WHERE id = ?", [crawl_id])[0]["warnings"]
                              or "[]"):
        click.echo(f"  warning: {warning}")
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
@click.option("--block-quic/--no-block-quic", default=True, show_default=True,
              help="Drop QUIC (HTTP/3 on UDP/443) so apps fall back to TCP, where every request is recorded; each "
                   "attempt is a flows row of kind quic. --no-block-quic: record HTTP/3 where mitmproxy can read it "
                   "(wireguard, local, reverse modes); QUIC it passes through unread is a quic row saying its "
                   "traffic is missing. In --mode regular "
                   "the proxy receives no UDP: QUIC an app sends directly is not seen either way.")
@click.option("--set", "mitm_options", multiple=True, metavar="NAME=VALUE",
              help="Any other mitmproxy option, passed as is (repeatable), e.g. connection_strategy=lazy.")
@db_option
@network_options
def proxy(profile, app, port, listen_host, modes, keep_bodies, confdir, flow_detail, block_quic, mitm_options, db,
          proxy, host_map, ignore_https_errors, ca_file) -> None:
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
    store, crawl_id = _start_run(db, "app", prof, {"app": app, "port": port, "modes": modes,
                                                    "block_quic": block_quic}, net, _quic_warnings(modes))
    args = _common(profile, app, db, crawl_id, keep_bodies, net)
    args += _options(confdir=str(confdir_path), flow_detail=flow_detail, listen_port=port,
                     listen_host=listen_host or None, mode=modes, mouchard_block_quic=block_quic)
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
@click.option("--keylog", type=click.Path(exists=True, dir_okay=False), metavar="FILE",
              help="TLS key log (SSLKEYLOGFILE format) to decrypt a pcap/pcapng capture; a pcapng's embedded keys "
                   "(PCAPdroid's Decryption Secrets Block) are used without it.")
@click.option("--connections", type=click.Path(exists=True, dir_okay=False), metavar="CSV",
              help="PCAPdroid's connections export: names the app of each entry of PCAPdroid's HAR export (by "
                   "server address and host). Imported alone, the CSV gives destinations per app, no payloads.")
@db_option
def import_(capture, profile, app, keep_bodies, keylog, connections, db) -> None:
    """Record flows and leaks from a saved capture, offline: .mitm from mitmproxy, .har (a browser's or
    PCAPdroid's export), or a pcap/pcapng packet capture (PCAPdroid's, with its per-app uids; TLS decrypted
    with tshark from the embedded or --keylog keys). An iOS App Privacy Report (.ndjson) gives each app's
    destinations and data accesses without payloads (--app keeps one app's records).

    The capture is replayed through the same addons as `mouchard proxy` (nothing is sent anywhere).
    """
    import tempfile

    from addons import pcap_connections
    from mouchard import ios_report
    from mouchard.net import NetworkOptions

    prof = _profile(profile)
    path = Path(capture)
    # Recognised by their content, and imported directly: destinations per app only, nothing to replay.
    for reader, what in (((ios_report.sniff, ios_report.import_report), "report"),
                         ((pcap_connections.sniff, pcap_connections.import_connections), "export")):
        if _import_destinations(path, prof, app, db, reader, what):
            return
    digest, kind = _check_capture(path)
    if keylog and kind not in ("pcap", "pcapng"):
        raise UserError(f"--keylog decrypts packet captures (pcap, pcapng); {path} is a {kind} file")
    if connections and kind != "har":
        raise UserError(f"--connections attributes the entries of PCAPdroid's HAR export; {path} is a {kind} file")
    net = NetworkOptions()
    with tempfile.TemporaryDirectory(prefix="mouchard-import-") as tmp:
        replay, extra, details = _replayable(path, kind, Path(keylog) if keylog else None, Path(tmp),
                                             Path(connections) if connections else None)
        store, crawl_id = _start_run(db, "import", prof, {"app": app, "file": str(path.resolve()), "format": kind,
                                                           "sha256": digest, **details}, net)
        args = _common(profile, app, db, crawl_id, keep_bodies, net) + extra
        args += ["-n", "-r", str(replay)] + _options(flow_detail=0)
        code, stopped = _run(args)
    row = _end_run(store, crawl_id, code, stopped)
    print_summary(store, crawl_id)
    _print_capture(details)
    if code != 0 or row["status"] != "finished":
        raise UserError(f"import of {path} did not finish (mitmdump status {code}): see its messages above")


def _replayable(path: Path, kind: str, keylog: Path | None, tmp: Path,
                connections: Path | None = None) -> tuple[Path, list[str], dict]:
    """(file mitmdump replays, extra mitmdump arguments, what crawls.config records about the conversion).

    A packet capture is converted to flows first (addons/pcap_import.py, with tshark); a HAR is converted so
    that what mitmproxy's HAR reader drops (WebSocket messages, the browser or app, a missing response) is kept
    (addons/har_import.py); a .mitm is replayed as it is."""
    if kind in ("pcap", "pcapng"):
        from addons.pcap_import import convert

        out = tmp / "capture.mitm"
        summary = convert(path, out, keylog)
        return out, ["-s", str(Path(__file__).resolve().parent / "pcap_replay.py")], {"capture": summary.as_config()}
    if kind == "har":
        from addons.har_import import convert_har
        from addons.pcap_connections import apps_by_destination, read

        out = tmp / "capture.mitm"
        by_destination = apps_by_destination(read(connections)) if connections else None
        return out, [], {"har": convert_har(path, out, by_destination)}
    return path.resolve(), [], {}


def _print_capture(details: dict) -> None:
    """What the conversion of a packet capture or HAR found, under the run's summary."""
    cap = details.get("capture")
    if cap:
        click.echo(f"  capture: {cap['format']}, {cap['packets']} packets, {cap['connections']} TCP connection(s): "
                   f"{cap['decrypted']} decrypted, {cap['not_decrypted']} not decrypted (no TLS key), "
                   f"{cap['clear']} in clear; {cap['quic']} QUIC; TLS keys: {cap['keylog']}")
        if cap["apps"]:
            click.echo("  apps (PCAPdroid): " + ", ".join(f"{a} ({n} connection(s))" for a, n in cap["apps"].items()))
        for problem in cap["problems"][:10]:
            click.echo(f"  capture problem: {problem}")
    har = details.get("har")
    if har:
        click.echo(f"  HAR from {har['creator']}: {har['entries']} entries"
                   + (f", attributed to {har['app']}" if har.get("app") else "")
                   + (f", {har['attributed_by_connections']} attributed by the connections export"
                      if har.get("attributed_by_connections") else ""))


def _import_destinations(path: Path, prof, app: str | None, db: str, reader, what: str) -> bool:
    """Import `path` if `reader` — a (sniff, import) pair: mouchard.ios_report's for the iOS App Privacy Report,
    addons.pcap_connections' for PCAPdroid's connections export — recognises it, and print its summary; False if
    it does not. Both give destinations per app, without payloads."""
    from mouchard.store import Store

    sniff, run = reader
    if not sniff(path):
        return False
    crawl_id = run(path, db, app=app, config={"profile": prof.describe()}, command=sys.argv)
    with Store(db) as store:
        print_summary(store, crawl_id)
        accesses = store.rows("SELECT category, count(*) AS n FROM app_accesses WHERE crawl_id = ? GROUP BY 1 "
                              "ORDER BY n DESC, 1", [crawl_id])
        if accesses:
            click.echo("  data and sensor access: " + ", ".join(f"{r['category']} {r['n']}" for r in accesses))
        bad = store.count("failures", "crawl_id = ?", [crawl_id])
        if bad:
            click.echo(f"  {bad} line(s) of the {what} not imported: see failures")
    return True


def _check_capture(path: Path) -> tuple[str, str]:
    """(sha256, 'har', 'mitm', 'pcap' or 'pcapng') of a capture file, every flow (or packet block) of which can be
    read; else a one-line error."""
    from addons.capture import check_capture

    capture = check_capture(path)
    return capture.sha256, capture.kind
