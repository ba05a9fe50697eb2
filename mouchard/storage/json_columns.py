"""Reading JSON columns fail-closed: a JSON column holds what a crawled page or a registry sent, anything. Every
reader answers an empty value rather than raise, and parses at most MAX_JSON characters (json.loads is linear in its
input; its recursion is caught, so "[[[[..." of any depth is empty too). Used by the readers' pages and the rollups.
"""

from __future__ import annotations

import json
from typing import TypeVar

MAX_JSON = 1_000_000  # characters of a JSON column parsed; a longer value reads as empty
Kind = TypeVar("Kind", dict, list)


def json_value(text: object, kind: type[Kind], limit: int = MAX_JSON) -> Kind:
    """A JSON column parsed when it is text of at most `limit` characters holding a `kind` (dict or list); else an
    empty `kind`."""
    if not isinstance(text, str) or not text or len(text) > limit:
        return kind()
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return kind()
    return value if isinstance(value, kind) else kind()


def json_dict(text: object) -> dict:
    """A JSON object column as a dict, {} when it is anything else."""
    return json_value(text, dict)


def json_list(text: object) -> list:
    """A JSON array column as a list, [] when it is anything else."""
    return json_value(text, list)
