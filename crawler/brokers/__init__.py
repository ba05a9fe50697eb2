"""Data brokers: registry parsing (ca, portals, fields, tables), snapshots, broker-site checks.

Findings are derived from `broker_pages` by the audit rules `brokers.*` (audits/rules/brokers.py).
"""
