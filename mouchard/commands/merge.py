"""`mouchard merge`: a thin click command over mouchard.storage.merge."""

from __future__ import annotations

import click


@click.command("merge")
@click.argument("shards", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--into", "into", required=True, type=click.Path(dir_okay=False), metavar="DB",
              help="Database to merge into (created if needed; its evidence folder is DB.evidence/).")
def merge(shards: tuple[str, ...], into: str) -> None:
    """Combine SQLite shards into one database without duplicate visits.

    Each shard's crawls, visits and every row that belongs to them are copied with new ids; the shards of one
    distributed run become one crawl. Run it again as shards grow: only rows added since are copied. Each pass
    is recorded as a crawl of kind 'merge' that maps shard ids to merged ids.
    """
    from mouchard.classification.rollups import merge as run  # the merge, then the rollups counted again

    result = run(list(shards), into, progress=lambda line: click.echo(line, err=True))
    for shard in result.shards:
        copied = sum(shard.copied.values())
        extra = []
        if shard.duplicates.get("visits"):
            extra.append(f"{shard.duplicates['visits']:,} duplicate visits left out")
        if shard.skipped:
            extra.append(f"{sum(shard.skipped.values()):,} rows of duplicates left out")
        if shard.files:
            extra.append(", ".join(f"{n:,} files {what}" for what, n in sorted(shard.files.items())))
        if shard.unresolved:
            extra.append(f"{sum(shard.unresolved.values()):,} links to rows not merged set empty")
        click.echo(f"{shard.name}: {shard.visits:,} visits, {copied:,} rows copied"
                   + (f" ({'; '.join(extra)})" if extra else ""))
    click.echo(f"{result.total('copied', 'visits'):,} visits merged into {into}")
