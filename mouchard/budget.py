"""How much analysis one flow (or one web request) may cost: counted work, never time.

Hostile traffic is built to make analysis expensive: base64 in zstd in base64 (each layer holding 64 copies of
the next), bodies of thousands of numbers near the planted position, JSON nested thousands of levels deep. Every
decoder and walker of the leak detector (`mouchard.decode.bodies`, `mouchard.identify.leakdetect`, `mouchard.identify.location`,
`mouchard.identify.redact`) takes one `Budget` and charges it *before* doing the work:

- `steps`: walk steps (a JSON node, a value searched, a blob candidate, a coordinate, a match);
- `bytes`: bytes decoded (decompression, base64, hex, %-escapes) or searched (every text handed to the
  multi-pattern search or the position finder is charged its length);
- `blobs`: blobs or layers decoded (a base64, hex or JWT blob, a compressed layer, a JSON-in-JSON document).

A charge that does not fit is refused (`spend` returns False), the work is skipped and the budget stays
`exhausted` with a one-line `reason`; the counters never exceed their limits. Callers say so in the record
(a `failures` row `analysis-truncated`) and treat what the analysis decided as uncertain: redaction fails closed.

    budget = Budget.for_input(len(body))       # one per flow or per request: scaled on what arrived
    detector.scan_http(url, headers, body, budget=budget)
    if budget.exhausted: ...                   # budget.reason: "walk steps (200000)"
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

STEPS = 200_000  # walk steps any flow may take, plus STEPS_PER_BYTE of its size
BYTES = 16 * 1024 * 1024  # bytes decoded or searched, plus BYTES_PER_BYTE times its size
BLOBS = 1024  # blobs or layers decoded, plus one per BLOB_BYTES of its size
STEPS_PER_BYTE = 1  # a JSON body of small numbers has about one node per two bytes
BYTES_PER_BYTE = 32  # a value searched in its layers by several passes (leaks, ID syncs, redaction), paths included
BLOB_BYTES = 32  # no blob is shorter than 16 characters


class Budget:
    """Allowances for one flow or request (see the module docstring); not thread-safe: one per analysis."""

    __slots__ = ("limits", "used", "reason", "stage", "ran_out_in")

    def __init__(self, steps: int = STEPS, bytes: int = BYTES, blobs: int = BLOBS):  # noqa: A002 - the unit
        self.limits = {"steps": int(steps), "bytes": int(bytes), "blobs": int(blobs)}
        self.used = {"steps": 0, "bytes": 0, "blobs": 0}
        self.reason: str | None = None
        self.stage: str | None = None  # what is running now (set by the caller, e.g. a stage name)
        self.ran_out_in: str | None = None  # the stage that was running when it ran out

    @classmethod
    def for_input(cls, size: int) -> "Budget":
        """A budget for `size` bytes of input: fixed allowances plus a share proportional to the input, so
        large honest bodies are searched in full while a small hostile one cannot multiply its work."""
        size = max(0, int(size))
        return cls(STEPS + int(size * STEPS_PER_BYTE), BYTES + size * BYTES_PER_BYTE, BLOBS + size // BLOB_BYTES)

    @property
    def exhausted(self) -> bool:
        return self.reason is not None

    def remaining(self, unit: str) -> int:
        return self.limits[unit] - self.used[unit]

    def spend(self, steps: int = 0, bytes: int = 0, blobs: int = 0) -> bool:  # noqa: A002
        """Charge work about to be done; False (and nothing charged) when it does not fit or the budget is spent."""
        if self.reason is not None:
            return False
        for unit, amount in (("steps", steps), ("bytes", bytes), ("blobs", blobs)):
            if amount and self.used[unit] + amount > self.limits[unit]:
                self.reason = f"{'walk steps' if unit == 'steps' else unit} ({self.limits[unit]})"
                self.ran_out_in = self.stage
                if self.stage:
                    self.reason += f" in {self.stage}"
                return False
        self.used["steps"] += steps
        self.used["bytes"] += bytes
        self.used["blobs"] += blobs
        return True

    def __repr__(self) -> str:
        used = ", ".join(f"{k} {self.used[k]}/{self.limits[k]}" for k in self.limits)
        return f"Budget({used}{', exhausted: ' + self.reason if self.reason else ''})"


REDACTION_FAILED = "[redaction failed]"  # what a text whose redaction could not finish is stored as


class RedactionIncomplete(Exception):
    """Redaction could not be made certain (its budget ran out): the caller must not keep the raw text."""


def failure_detail(exc: BaseException, where: str) -> str:
    """One line for a `failures` row: the exception type and, for exceptions whose message is ours (budget,
    recursion), the message. Other messages may quote the data (a KeyError names a key): they are not kept."""
    if isinstance(exc, (RedactionIncomplete, RecursionError, MemoryError)):
        return f"{type(exc).__name__} in {where}: {exc}"
    return f"{type(exc).__name__} in {where} (message not kept: it may quote the data)"


def scan_each(items: Iterable[T], size: Callable[[T], int], scan: Callable[[T, Budget], R],
              ) -> list[tuple[T, R | None, Budget, BaseException | None]]:
    """Run `scan(item, budget)` on each item with its own budget (`Budget.for_input(size(item))`), catching what
    it raises: (item, result or None, budget, exception or None) for each. Synchronous and CPU-bound: the
    crawler runs it with `asyncio.to_thread`, off its event loop."""
    done = []
    for item in items:
        budget = Budget.for_input(size(item))
        try:
            done.append((item, scan(item, budget), budget, None))
        except Exception as exc:  # noqa: BLE001 - the caller turns it into a failures row
            done.append((item, None, budget, exc))
    return done
