"""`mouchard serve` and `mouchard publish`: thin click commands over mouchard.publishing.serve and mouchard.publishing.publish."""

from __future__ import annotations

from pathlib import Path

import click

from mouchard.commands.options import db_option


@click.command("serve")
@db_option
@click.option("--port", type=click.IntRange(0, 65535), default=8001, show_default=True,
              help="Port to listen on (0 picks a free one).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; 0.0.0.0 shows the data to your whole network.")
@click.option("--open", "open_browser", is_flag=True, help="Open the home page in a web browser.")
@click.option("--sql-time-limit-ms", type=click.IntRange(100, 600_000), default=None, metavar="MS",
              help="Longest a query may run (default: 3000, from the settings.json of mouchard's Datasette files).")
@click.option("--live", is_flag=True,
              help="Re-read the file as it changes (a crawl still writing); automatic when one is.")
def serve(db: str, port: int, host: str, open_browser: bool, sql_time_limit_ms: int | None, live: bool) -> None:
    """Browse a database in Datasette, read-only, with mouchard's questions, charts and maps."""
    from mouchard.publishing.serve import ServeOptions, serve as run

    run(ServeOptions(Path(db), host=host, port=port, open_browser=open_browser,
                     sql_time_limit_ms=sql_time_limit_ms, live=live))


@click.command("publish")
@db_option
@click.option("--out", "out", required=True, type=click.Path(file_okay=False), metavar="DIR",
              help="Folder to write the publication to (new or empty; never the database's own folder).")
@click.option("--redact/--no-redact", default=True, show_default=True,
              help="Remove personal and secret values from every column, then re-scan and refuse if any remain "
                   "(see docs/datasette.md).")
@click.option("--profile", "profiles", multiple=True, type=click.Path(exists=True, dir_okay=False), metavar="YAML",
              help="Device profile whose values, in every encoding the proxy's detector knows, become tokens such "
                   "as [GAID] everywhere (repeatable).")
@click.option("--title", default=None, help="Title of the published site.")
@click.option("--license", "license_", default=None, help="Licence of the published data (default CC BY-NC-SA 4.0).")
@click.option("--license-url", default=None, help="Link to the licence text.")
@click.option("--source", default=None, help="Who collected the data.")
@click.option("--source-url", default=None, help="Link to the source.")
@click.option("--force", is_flag=True,
              help="Replace an earlier publication in DIR: only the files its manifest lists are deleted.")
@click.option("--warc", is_flag=True,
              help="Also publish the crawl's WARC archives, redacted as the database is (secret headers, personal "
                   "values in URLs, headers and text bodies; binary and POST bodies dropped), then re-scanned "
                   "(docs/archive.md). Without it no WARC is ever copied.")
def publish(db: str, out: str, redact: bool, profiles: tuple[str, ...], title: str | None, license_: str | None,
            license_url: str | None, source: str | None, source_url: str | None, force: bool, warc: bool) -> None:
    """Prepare a redacted copy and a ready Datasette deployment in DIR."""
    from mouchard.publishing.publish import PublishOptions, publish as run

    defaults = PublishOptions(Path(db), Path(out))
    if not redact:
        click.echo("mouchard: --no-redact: cookie values, headers, bodies and personal emails stay in the copy", err=True)
    result = run(PublishOptions(
        Path(db), Path(out), redact=redact, profiles=tuple(Path(p) for p in profiles),
        title=title or defaults.title, license=license_ or defaults.license,
        license_url=license_url if license_url is not None else (None if license_ else defaults.license_url),
        source=source or defaults.source, source_url=source_url or defaults.source_url, force=force, warc=warc))
    for step, count in result.redactions.items():
        click.echo(f"  {count:>8,}  {step}")
    click.echo(f"  {result.evidence_files:>8,}  evidence images copied")
    if warc:
        published = [entry for entry in result.warc_files if "sha256" in entry]
        click.echo(f"  {len(published):>8,}  WARC files redacted and copied"
                   + (f" ({len(result.warc_files) - len(published)} not: see redaction.json)"
                      if len(published) < len(result.warc_files) else ""))
    click.echo(f"Wrote {result.out}/. Deploy it from inside that folder with one of:")
    for name in ("cloudrun", "package", "serve"):
        click.echo(f"  {result.commands[name]}")
