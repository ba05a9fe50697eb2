"""mouchard: shows who tracks people and who trades their data."""

__version__ = "0.1.0"
