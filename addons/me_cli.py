"""`mouchard me import` and `mouchard me proxy`: the capture jobs of addons/api.py run into a person's private
database, made private first (mouchard.me.jobs.prepare) so a capture cut short is already private."""

from __future__ import annotations

import click

from mouchard.commands.me import db_option, me_option
from mouchard.commands.options import network_from, network_options


@click.command("import")
@click.argument("capture", type=click.Path(exists=True, dir_okay=False))
@me_option
@click.option("--keylog", type=click.Path(exists=True, dir_okay=False), metavar="FILE",
              help="TLS key log of a pcap/pcapng capture (PCAPdroid's own keys are read from a pcapng).")
@click.option("--connections", type=click.Path(exists=True, dir_okay=False), metavar="CSV",
              help="PCAPdroid's connections export (names the app of each entry of its HAR export).")
@click.option("--app", metavar="NAME", help="App the capture is of: every flow is attributed to it.")
@db_option
def import_(capture, person_file, keylog, connections, app, db) -> None:
    """Record a capture you made of your own traffic: a browser's HAR, a PCAPdroid pcap/pcapng (with its TLS
    keys) or HAR export, the iOS App Privacy Report (.ndjson), or a mitmproxy .mitm file."""
    from addons import api
    from mouchard.me.jobs import prepare

    _person, profile = prepare(db, person_file)
    result = api.import_capture(capture, db=db, profile=profile, app=app, keylog=keylog, connections=connections)
    click.echo(f"imported {capture} into {db} (run {result.crawl_id}, private); next: mouchard me report --db {db}")


@click.command("proxy")
@me_option
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True, help="Port to listen on.")
@click.option("--listen-host", default="", metavar="ADDRESS",
              help="Address to listen on (default: every address, so your phone on the same Wi-Fi reaches it).")
@click.option("--mode", "modes", multiple=True, metavar="MODE", help="mitmproxy mode (repeatable), e.g. wireguard.")
@click.option("--confdir", default="~/.mitmproxy", show_default=True, type=click.Path(file_okay=False),
              help="mitmproxy's folder: its CA certificate, to install on your phone.")
@network_options
@db_option
def proxy(person_file, port, listen_host, modes, confdir, proxy, host_map, ignore_https_errors, ca_file, db) -> None:
    """Record your phone's traffic through mouchard until Ctrl-C: point its Wi-Fi proxy here (or --mode
    wireguard) and install the CA certificate, as `mouchard proxy` explains."""
    from addons import api
    from mouchard.me.jobs import prepare

    _person, profile = prepare(db, person_file)

    def started(crawl_id: int, path: str) -> None:
        click.echo(api.ca_instructions(confdir), err=True)
        click.echo(f"recording into {path} (run {crawl_id}, private); stop with Ctrl-C", err=True)

    result = api.proxy(db=db, profile=profile, port=port, listen_host=listen_host, modes=modes or api.DEFAULT_MODES,
                       confdir=confdir, on_start=started,
                       network=network_from(proxy, host_map, ignore_https_errors, ca_file))
    click.echo(f"recorded into {result.db} (run {result.crawl_id}); next: mouchard me report --db {db}")
