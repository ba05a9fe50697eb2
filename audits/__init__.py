"""Audits: declarative specs, rules over the store, findings, verifiable evidence bundles, reports and diffs.

`mouchard audit` (runner), `mouchard verify` (verify) and `mouchard diff` (diff); rules live in `audits.rules`.
"""
