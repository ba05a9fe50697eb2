"""Argument parsing over the Python API, nothing else: click commands, shared options, the README's command
reference, the demo.

May import: anything; tests/test_core_layers.py checks it.
"""
