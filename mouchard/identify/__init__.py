"""A person's values in any encoding: device profiles, normal forms, the leak detector, redaction, ID syncing.

May import: decode/ and the ground floor (errors, budget, versions, paths, lifecycle); tests/test_core_layers.py
checks it.
"""
