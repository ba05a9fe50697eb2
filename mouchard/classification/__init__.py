"""Who is behind a host: tracker entities and categories from the lists (with provenance), data brokers'
registrations.

May import: identify/, decode/, storage/, the shared top-level modules (net, settings, browser, sitelist,
registries) and the ground floor (errors, budget, versions, paths, lifecycle); tests/test_core_layers.py checks it.
"""
