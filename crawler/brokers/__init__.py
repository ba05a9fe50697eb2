"""Data brokers: registry parsing (ca, portals, fields, tables), snapshots, broker-site checks, findings."""
