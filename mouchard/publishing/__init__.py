"""A redacted copy, Datasette metadata, serving.

May import: storage/, identify/ and the ground floor (errors, budget, versions, paths, lifecycle);
tests/test_core_layers.py checks it.
"""
