"""Bytes and strings from the wire turned into structures: consent strings, bid requests, bodies, encodings, hosts.

May import: the ground floor (errors, budget, versions, paths, lifecycle) only; tests/test_core_layers.py checks it.
"""
