"""The SQLite file: schema, migrations, transactions, shards and their merge.

May import: the ground floor (errors, budget, versions, paths, lifecycle) and the shared top-level modules (net,
settings, browser, sitelist, registries); tests/test_core_layers.py checks it.
"""
