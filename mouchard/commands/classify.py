"""`mouchard classify`: rebuild the derived tracker columns with the lists now in the cache."""

from __future__ import annotations

import click

from mouchard.commands.options import db_option


@click.command("classify")
@db_option
def classify(db: str) -> None:
    """Re-derive tracker entities and categories of every recorded row with the current tracker lists.

    Run it after `mouchard lists update`: rows keep what was captured; only the derived columns
    (tracker_entity, tracker_category, tracker_list) change, and the lists used are recorded.
    """
    from mouchard.classification.reclassify import classify_database

    for table, count in classify_database(db).items():
        click.echo(f"{table}: {count} rows reclassified")
