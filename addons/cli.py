"""`mouchard proxy` and `mouchard import`: argument parsing and printing over addons/api.py, where the work is."""

from __future__ import annotations

import click

from mouchard.commands.options import db_option, network_options

MODES_HELP = ("regular (an HTTP proxy: set it in the phone's Wi-Fi settings), wireguard (the phone joins a "
              "WireGuard VPN: one instance per app or device), upstream:URL, socks5, transparent, local:APP")


def _echo_run(db: str, crawl_id: int, extra: list[str] = ()) -> None:
    from addons.summary import run_lines
    from mouchard.storage.store import Store

    with Store(db) as store:
        lines = run_lines(store, crawl_id)
    for line in lines + list(extra):
        click.echo(line)


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
@click.option("--confdir", default="~/.mitmproxy", show_default=True, type=click.Path(file_okay=False),
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
    from addons import api
    from mouchard.commands.options import network_from
    from mouchard.identify.profile import load_profile

    def started(crawl_id: int, path: str) -> None:
        click.echo(api.ca_instructions(confdir), err=True)
        click.echo(f"recording into {path} (run {crawl_id}); stop with Ctrl-C (or SIGTERM)", err=True)

    try:
        result = api.proxy(db=db, profile=load_profile(profile), app=app, port=port, listen_host=listen_host,
                           modes=modes, keep_bodies=keep_bodies, confdir=confdir, block_quic=block_quic,
                           mitm_options=mitm_options, flow_detail=flow_detail, on_start=started,
                           network=network_from(proxy, host_map, ignore_https_errors, ca_file))
    except api.RunFailed as failed:
        _echo_run(failed.result.db, failed.result.crawl_id)
        raise
    _echo_run(result.db, result.crawl_id)


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
    from addons import api, pcap_connections
    from addons.summary import capture_lines, destination_lines
    from mouchard.ingest import ios_report
    from mouchard.identify.profile import load_profile
    from mouchard.storage.store import Store

    try:
        result = api.import_capture(capture, db=db, profile=load_profile(profile), app=app, keep_bodies=keep_bodies,
                                    keylog=keylog, connections=connections)
    except api.RunFailed as failed:
        _echo_run(failed.result.db, failed.result.crawl_id, capture_lines(failed.result.details))
        raise
    if result.format in (ios_report.FORMAT, pcap_connections.FORMAT):  # destinations per app only
        with Store(result.db) as store:
            extra = destination_lines(store, result.crawl_id, "report" if result.format == ios_report.FORMAT
                                      else "export")
        _echo_run(result.db, result.crawl_id, extra)
    else:
        _echo_run(result.db, result.crawl_id, capture_lines(result.details))
