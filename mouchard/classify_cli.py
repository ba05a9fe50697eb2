"""`mouchard classify`: rebuild the derived tracker columns with the lists now in the cache."""

from __future__ import annotations

import click

from mouchard.options import db_option


@click.command("classify")
@db_option
def classify(db: str) -> None:
    """Re-derive tracker entities and categories of every recorded row with the current tracker lists.

    Run it after `mouchard lists update`: rows keep what was captured; only the derived columns
    (tracker_entity, tracker_category, tracker_list) change, and the lists used are recorded.
    """
    from mouchard import lists
    from mouchard.classify import default_classifier
    from mouchard.reclassify import reclassify
    from mouchard.store import Store

    store = Store(db, create=False)
    classifier = default_classifier()
    lists.record(store, classifier.manifests)
    crawl_id = store.start_crawl("classify", tracker_lists=classifier.provenance())
    changed = reclassify(store, classifier)
    from mouchard.brokers import link_tracker_entities

    with store.transaction() as tx:
        changed["brokers"] = link_tracker_entities(tx.conn, classifier)
    store.finish_crawl(crawl_id, summary={"changed": changed})
    for table, count in changed.items():
        click.echo(f"{table}: {count} rows reclassified")
