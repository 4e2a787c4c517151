"""Consumer-side accounting: every input a service consumed is answered or republished.

The harness's driver sends inputs straight to a server (``process="driver"``,
``f="input"``, invoke value ``{"id", "mode", "subject", "timeout"?}``; ``ok`` = sent
(``mode: publish``) or answered in time (``mode: request``), ``info`` = sent but not
answered within ``timeout``, ``fail`` = the driver could not send it, which says nothing
about the service). Every reply or output that reaches the harness is an ``f="output"``
``ok`` operation ``{"id": the input it answers, "payload_id": the id read from its
payload}`` (for replies ``id`` comes from the reply subject, so ``payload_id`` shows a
crossed reply; for republished outputs both are the payload's id, ``None`` if unreadable).

The promises, each a rule:

- **no spurious output**: every output names an input that was sent, and a reply carries
  the id of the request it answers (a crossed reply is a defect, whatever the faults);
- **exactly once**: no input is answered or republished twice (``at_least_once: true``
  accepts duplicates, for a service that documents at-least-once processing);
- **nothing lost on a healthy link**: an input sent while none of the service's links was
  disturbed must be answered. Core NATS delivers at most once, so an input may be lost
  only while a fault that can lose messages acts on the service's links (anything but
  ``latency``, ``bandwidth``, ``slicer``, ``slow_close`` and ``blackhole``, whose bytes
  arrive once healed), while the service reported itself disconnected, or while one of
  its links had no connection at the proxy; each extended by ``recovery_s`` (a client
  that is back still has to re-subscribe);
- **on time**: an output that arrived more than ``latency_budget_s`` after its input
  must have met a fault window (any kind) or an outage, with the same margin.

The verdict is ``unknown`` when no input was sent, or when none was answered and every
input was excused: nothing then shows the service consumes at all.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from typing import Any

from nats_fault_harness.checkers._disturbance import Disturbance, Span
from nats_fault_harness.checkers._evidence import run_plan
from nats_fault_harness.checkers._ops import Operation, listing, operations
from nats_fault_harness.checkers._result import UNKNOWN, CheckResult
from nats_fault_harness.history import History

__all__ = ["DRIVER", "NON_LOSSY", "check_outputs"]

DRIVER = "driver"
"""The process name of the driver's operations."""
NON_LOSSY = frozenset({"latency", "bandwidth", "slicer", "slow_close", "blackhole"})
"""Fault kinds that delay bytes but deliver them all once healed."""


def check_outputs(
    history: History,
    *,
    at_least_once: bool = False,
    latency_budget_s: float = 1.0,
    recovery_s: float = 2.0,
) -> CheckResult:
    """Account for every input the driver sent (see the module docstring).

    Args:
        history: the recorded run.
        at_least_once: accept an input answered more than once.
        latency_budget_s: longest time from input to first output on a healthy link.
        recovery_s: margin after a disturbance during which loss and lateness are excused.
    """
    inputs = [  # JetStream inputs are the consumer checker's
        op
        for op in operations(history, "input")
        if op.invoke.process == DRIVER and op.invoke.value.get("mode") != "jetstream"
    ]
    outputs = [op for op in operations(history, "output") if op.outcome == "ok"]
    sent = [op for op in inputs if op.outcome in ("ok", "info", "pending")]
    details: dict[str, Any] = {
        "inputs": len(inputs),
        "sent": len(sent),
        "outputs": len(outputs),
        "at_least_once": at_least_once,
    }
    if not sent:
        return CheckResult(
            "outputs", UNKNOWN, details, "no input reached a server: nothing to account for"
        )
    faults = history.faults()
    events = history.client_events()
    lossy = (
        Disturbance([f for f in faults if f.kind not in NON_LOSSY], events, recovery_s).disturbed
        + _link_gaps(history)
        + Disturbance([], events, recovery_s).unexplained
    )
    anything = Disturbance(faults, events, recovery_s).disturbed + lossy

    by_id: dict[str, Operation] = {str(op.field("id")): op for op in sent}
    firsts: dict[str, float] = {}
    counts: Counter[str] = Counter()
    spurious: list[str] = []
    crossed: list[str] = []
    for out in sorted(outputs, key=lambda o: o.invoke.t):
        oid = out.field("id")
        payload_id = out.field("payload_id")
        if oid is None or str(oid) not in by_id:
            spurious.append(f"{oid if oid is not None else '(unreadable)'} at t={out.invoke.t:.3f}")
            continue
        oid = str(oid)
        if payload_id is not None and str(payload_id) != oid:
            crossed.append(f"the reply to {oid} carries id {payload_id}")
        counts[oid] += 1
        firsts.setdefault(oid, out.invoke.t)
    duplicated = sorted(i for i, n in counts.items() if n > 1)

    lost: list[str] = []
    excused_lost: dict[str, str] = {}
    late: list[str] = []
    for mid, op in by_id.items():
        t0 = op.invoke.t
        wait = op.invoke.value.get("timeout") if isinstance(op.invoke.value, dict) else None
        t1 = t0 + (float(wait) if isinstance(wait, int | float) else 0.0)
        if mid not in firsts:
            span = _touching(lossy, t0, t1, recovery_s)
            if span is None:
                lost.append(f"{mid} (sent t={t0:.3f}s)")
            else:
                excused_lost[mid] = span.why
            continue
        took = firsts[mid] - t0
        if took > latency_budget_s and _touching(anything, t0, firsts[mid], recovery_s) is None:
            late.append(f"{mid} ({took:.3f}s)")
    details.update(
        answered=len(firsts),
        duplicated={i: counts[i] for i in duplicated},
        spurious=spurious,
        crossed=crossed,
        lost=lost,
        excused_lost=excused_lost,
        late=late,
        latency_budget_s=latency_budget_s,
    )
    problems = []
    if crossed:
        problems.append(f"{len(crossed)} crossed replies: {listing(crossed)}")
    if spurious:
        problems.append(f"{len(spurious)} outputs answer no input sent: {listing(spurious)}")
    if duplicated and not at_least_once:
        problems.append(
            f"{len(duplicated)} inputs answered more than once: "
            + listing(f"{i} x{counts[i]}" for i in duplicated)
        )
    if lost:
        problems.append(
            f"{len(lost)} inputs were never answered, and no fault that loses messages, no "
            f"outage and no lost connection explains it: {listing(lost)}"
        )
    if late:
        problems.append(
            f"{len(late)} answered later than {latency_budget_s}s with no fault or outage "
            "to explain it: " + listing(late)
        )
    if problems:
        return CheckResult("outputs", False, details, "; ".join(problems))
    if not firsts:
        return CheckResult(
            "outputs",
            UNKNOWN,
            details,
            f"none of {len(sent)} inputs was answered and each met a disturbance: "
            "nothing shows the service consumes",
        )
    lost_note = f", {len(excused_lost)} lost while disturbed" if excused_lost else ""
    return CheckResult(
        "outputs",
        True,
        details,
        f"{len(firsts)} of {len(sent)} inputs answered once{lost_note}",
    )


def _touching(spans: list[Span], a: float, b: float, margin: float) -> Span | None:
    return next((s for s in spans if s.touches(a, b, margin)), None)


def _link_gaps(history: History) -> list[Span]:
    """Periods when a link of the service had a connection close and none reopened yet."""
    plan = run_plan(history)
    links = set((plan or {}).get("links", {}).values())
    if not links:
        return []
    moves: dict[str, list[tuple[float, int]]] = defaultdict(list)
    for e in history.proxy_events():
        proxy = e.detail.get("proxy")
        if proxy not in links:
            continue
        if e.kind == "connection_opened":
            moves[str(proxy)].append((e.t, 1))
        elif e.kind == "connection_closed":
            moves[str(proxy)].append((e.t, -1))
    gaps: list[Span] = []
    for proxy, changes in moves.items():
        closed_at: float | None = None
        for t, step in sorted(changes):
            if step < 0 and closed_at is None:
                closed_at = t
            elif step > 0 and closed_at is not None:
                gaps.append(
                    Span(closed_at, t, f"no connection on {proxy} t={closed_at:.3f}-{t:.3f}s")
                )
                closed_at = None
        if closed_at is not None:
            gaps.append(
                Span(closed_at, math.inf, f"no connection on {proxy} from t={closed_at:.3f}s")
            )
    return gaps
