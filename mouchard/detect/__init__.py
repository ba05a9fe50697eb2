"""What a record amounts to: cookie judgements, pixel events, session replay, fingerprinting flags, findings derived
after a run.

May import: classification/, identify/, decode/ and the ground floor (errors, budget, versions, paths, lifecycle);
tests/test_core_layers.py checks it.
"""
