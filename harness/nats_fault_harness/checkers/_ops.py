"""Operations as invocation/completion pairs, fault windows, and :func:`summary`."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from nats_fault_harness.history import ErrorInfo, FaultRecord, History, Op

__all__ = ["Operation", "fault_open_at", "operations", "summary"]


@dataclass(frozen=True)
class Operation:
    """An invocation and its completion (``None`` while pending)."""

    invoke: Op
    completion: Op | None

    @property
    def outcome(self) -> str:
        """``"ok"``, ``"fail"``, ``"info"`` or ``"pending"`` (never completed)."""
        return self.completion.type if self.completion else "pending"

    @property
    def error(self) -> ErrorInfo | None:
        """The error recorded with the completion, if any."""
        return self.completion.error if self.completion else None

    def field(self, key: str) -> Any:
        """``key`` from the completion's value, else from the invocation's value."""
        for op in (self.completion, self.invoke):
            if op is not None and isinstance(op.value, dict) and key in op.value:
                return op.value[key]
        return None


def operations(history: History, f: str | None = None) -> list[Operation]:
    """Pair each invocation (of function ``f``, or all) with its completion by ``op_id``."""
    invokes: dict[int, Op] = {}
    done: dict[int, Op] = {}
    for op in history.ops():
        if f is not None and op.f != f:
            continue
        if op.type == "invoke":
            invokes[op.op_id] = op
        else:
            done.setdefault(op.op_id, op)
    return [Operation(inv, done.get(op_id)) for op_id, inv in invokes.items()]


def fault_open_at(faults: Iterable[FaultRecord], t: float) -> FaultRecord | None:
    """The first fault whose window ``[start, end)`` contains ``t``, if any."""
    for fault in faults:
        if fault.start <= t and (fault.end is None or t < fault.end):
            return fault
    return None


def summary(history: History) -> dict[str, dict[str, int]]:
    """Counts per operation ``f``: ``invoke``, ``ok``, ``fail``, ``info``, ``pending``."""
    out: dict[str, dict[str, int]] = defaultdict(
        lambda: {"invoke": 0, "ok": 0, "fail": 0, "info": 0, "pending": 0}
    )
    for op in operations(history):
        counts = out[op.invoke.f]
        counts["invoke"] += 1
        counts[op.outcome] += 1
    return dict(sorted(out.items()))


def listing(items: Iterable[object], limit: int = 100) -> str:
    """``a, b, c`` - at most ``limit`` items, then ``... and N more``."""
    seq = [str(i) for i in items]
    head = ", ".join(seq[:limit])
    return head + (f" ... and {len(seq) - limit} more" if len(seq) > limit else "")
