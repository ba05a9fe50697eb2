"""A device's own records imported as runs: the iOS App Privacy Report, destination-only lists.

May import: classification/, storage/, decode/ and the ground floor (errors, budget, versions, paths, lifecycle);
tests/test_core_layers.py checks it.
"""
