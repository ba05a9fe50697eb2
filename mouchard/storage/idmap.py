"""How rows of a shard map to the merged database: the order tables are copied in, derived from the schema's
foreign keys, and the id map of one shard's table (compact ranges, duplicates, rows found already merged)."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field

from mouchard.storage.schema import TABLES, Table


def copy_order(tables: Sequence[Table] = TABLES) -> list[Table]:
    """Tables with the ones they reference first (self-references aside); ties keep the schema's order."""
    pending = {t.name: {c.references.split(".")[0] for c in t.columns if c.references} - {t.name} for t in tables}
    order: list[Table] = []
    while pending:
        ready = [t for t in tables if t.name in pending and not pending[t.name] & set(pending)]
        if not ready:
            raise ValueError(f"foreign keys form a cycle among {sorted(pending)}")
        for t in ready:
            order.append(t)
            del pending[t.name]
    return order


def foreign_keys(spec: Table) -> dict[str, str]:
    """Column name -> referenced table, for the columns that reference an `id`."""
    return {c.name: c.references.split(".")[0] for c in spec.columns if c.references}


# --- id maps -----------------------------------------------------------------------------------------------------

@dataclass
class IdMap:
    """Shard ids -> target ids of one table: ranges of consecutive ids, duplicates (`twins`), and which of the
    mapped rows were found already in the target (`matched`: the same fact, e.g. from a shared base database)."""

    ranges: list[list[int]] = field(default_factory=list)  # [first, last, target first], sorted by first
    twins: dict[int, int] = field(default_factory=dict)  # a duplicate -> the row kept in the target
    matched: list[list[int]] = field(default_factory=list)  # [first, last] of shard ids found equal in the target
    seen: int = 0  # highest shard rowid examined
    _firsts: list[int] = field(default_factory=list)
    _matched_firsts: list[int] = field(default_factory=list)

    def add(self, src: int, dst: int, *, matched: bool = False) -> None:
        """Map `src` (ascending within a pass) to `dst`, extending the last range when both follow on."""
        if matched:
            if self.matched and self.matched[-1][1] == src - 1:
                self.matched[-1][1] = src
            else:
                self.matched.append([src, src])
                self._matched_firsts.append(src)
        if self.ranges:
            first, last, dst_first = self.ranges[-1]
            if src == last + 1 and dst == dst_first + (src - first):
                self.ranges[-1][1] = src
                return
        self.ranges.append([src, src, dst])
        self._firsts.append(src)

    def get(self, src: int) -> int | None:
        """The target id of a copied (or matched) row; None for a duplicate, a skipped or an unknown row."""
        i = bisect.bisect_right(self._firsts, src) - 1
        if i >= 0:
            first, last, dst_first = self.ranges[i]
            if src <= last:
                return dst_first + (src - first)
        return None

    def is_matched(self, src: int) -> bool:
        i = bisect.bisect_right(self._matched_firsts, src) - 1
        return i >= 0 and src <= self.matched[i][1]

    def load(self, part: dict) -> None:
        """Add the map of an earlier pass (its ids are all below this pass's)."""
        self.ranges = sorted([*self.ranges, *([a, b, c] for a, b, c in part.get("ranges", []))])
        self._firsts = [r[0] for r in self.ranges]
        self.matched = sorted([*self.matched, *([a, b] for a, b in part.get("matched", []))])
        self._matched_firsts = [r[0] for r in self.matched]
        self.twins.update((s, d) for s, d in part.get("twins", []))
        self.seen = max(self.seen, part.get("seen", 0))

    def delta(self, since: "IdMap") -> dict:
        """What this pass added to `since` (the map loaded from earlier passes), as JSON-ready lists."""
        old_ranges, old_matched = {tuple(r) for r in since.ranges}, {tuple(r) for r in since.matched}
        return {"ranges": [r for r in self.ranges if tuple(r) not in old_ranges],
                "matched": [r for r in self.matched if tuple(r) not in old_matched],
                "twins": sorted([s, d] for s, d in self.twins.items() if s not in since.twins),
                "seen": self.seen}

    def changed_since(self, since: "IdMap") -> bool:
        delta = self.delta(since)
        return bool(delta["ranges"] or delta["matched"] or delta["twins"]) or self.seen != since.seen
