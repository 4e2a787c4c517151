"""When a failure was due: fault windows, the disconnects they caused, and a recovery margin.

An operation may fail for a fault's sake while the fault's window is open and for a while
after it closes: a client that lost its connection fails until it has reconnected, and
even then needs a moment (re-sent subscriptions, a buffered request's reply). The
*disturbed* periods are therefore

- every fault window ``[start, end]`` (open-ended while not healed, whatever its status);
- every outage a client reported (``disconnected`` until the same connection's
  ``reconnected``/``connected``, or forever after ``closed``) that began inside a
  disturbed period or within ``recovery_s`` after one (so a disconnect detected late, or
  a reconnect that took long, extends the disturbance until the client is back);

each followed by ``recovery_s`` seconds. An outage that began far from every fault is
*unexplained*: the history cannot tell whether a failure during it was due, so it is
reported apart. Connections are told apart by ``(client, detail["member"])``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from nats_fault_harness.history import ClientEvent, FaultRecord

__all__ = ["CONNECTION_EVENTS", "Disturbance", "Span"]

#: Client event kinds that say something about a connection's state.
CONNECTION_EVENTS = frozenset({"connected", "disconnected", "reconnected", "closed"})
_UP = frozenset({"connected", "reconnected"})


@dataclass(frozen=True)
class Span:
    """A period ``[start, end]`` (``end`` may be ``inf``) and why it is there."""

    start: float
    end: float
    why: str

    def touches(self, a: float, b: float, margin: float) -> bool:
        """Whether ``[a, b]`` meets ``[start, end + margin]``."""
        return a <= self.end + margin and b >= self.start


class Disturbance:
    """The disturbed and unexplained periods of a history; see the module docstring."""

    def __init__(
        self,
        faults: Iterable[FaultRecord],
        events: Iterable[ClientEvent],
        recovery_s: float,
    ) -> None:
        self.recovery_s = recovery_s
        self.disturbed: list[Span] = [
            Span(
                f.start,
                math.inf if f.end is None else f.end,
                f"fault {f.kind} on {f.target} ({f.status}) "
                f"t={f.start:.3f}-{'open' if f.end is None else f'{f.end:.3f}'}s",
            )
            for f in faults
        ]
        self.fault_ends = sorted(s.end for s in self.disturbed)
        conn_events = [e for e in events if e.kind in CONNECTION_EVENTS]
        self.reporting = {e.client for e in conn_events}
        outages = _outages(conn_events)
        changed = True
        while changed:  # an outage that starts in a disturbance extends it (transitively)
            changed = False
            for outage in list(outages):
                if any(s.touches(outage.start, outage.start, recovery_s) for s in self.disturbed):
                    self.disturbed.append(outage)
                    outages.remove(outage)
                    changed = True
        self.unexplained = outages

    def excused_by(self, a: float, b: float) -> Span | None:
        """The disturbed period that ``[a, b]`` meets (recovery margin included), if any."""
        return next((s for s in self.disturbed if s.touches(a, b, self.recovery_s)), None)

    def unexplained_at(self, a: float, b: float) -> Span | None:
        """An outage far from every fault that ``[a, b]`` meets (margin included), if any."""
        return next((s for s in self.unexplained if s.touches(a, b, self.recovery_s)), None)

    def healed_before(self, t: float) -> float | None:
        """The latest fault-window end before ``t``, if a fault had healed by then."""
        ends = [e for e in self.fault_ends if e <= t]
        return ends[-1] if ends else None


def _outages(events: list[ClientEvent]) -> list[Span]:
    opened: dict[tuple[str, str], float] = {}
    out: list[Span] = []
    for e in sorted(events, key=lambda e: e.t):
        key = (e.client, str(e.detail.get("member") or ""))
        name = f"{e.client}/{key[1]}" if key[1] else e.client
        if e.kind == "disconnected":
            opened.setdefault(key, e.t)
        elif e.kind in _UP and key in opened:
            start = opened.pop(key)
            out.append(Span(start, e.t, f"{name} disconnected t={start:.3f}-{e.t:.3f}s"))
        elif e.kind == "closed":
            start = opened.pop(key, e.t)
            out.append(Span(start, math.inf, f"{name} disconnected from t={start:.3f}s, closed"))
    for (client, member), start in opened.items():
        name = f"{client}/{member}" if member else client
        out.append(Span(start, math.inf, f"{name} disconnected from t={start:.3f}s"))
    return out
