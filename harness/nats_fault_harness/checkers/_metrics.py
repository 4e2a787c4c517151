"""Metrics: the service's own statistics agree with what the history shows it did."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from nats_fault_harness.checkers._ops import Operation, listing, operations
from nats_fault_harness.checkers._result import UNKNOWN, CheckResult
from nats_fault_harness.history import ClientEvent, History

__all__ = ["METRIC_KEYS", "check_metrics"]

METRIC_KEYS = (
    "pool_init_successes",
    "pool_init_failures",
    "current_batch_size",
    "failed_batch_queue_size",
    "flush_successful_messages",
    "flush_failed_messages",
)
"""The statistics a service reports (``stats`` events), as the checker reads them."""


def check_metrics(
    history: History, *, keys: Iterable[str] = METRIC_KEYS, client: str | None = None
) -> CheckResult:
    """Compare every ``stats`` snapshot with the history up to the snapshot's time.

    At a snapshot taken at ``t`` the expected values are:

    - ``pool_init_successes`` / ``pool_init_failures``: the number of ``connected`` /
      ``failed`` members of the ``pool_initialized`` event;
    - ``flush_successful_messages``: batched ids confirmed by a flush until ``t`` (a
      ``group_published`` event, or a batched ``publish`` that ended ``ok``), minus the
      failed ones (a recovery publishes those);
    - ``flush_failed_messages``: batched ids a flush gave up on until ``t`` (a
      ``batch_queued_failed`` event, or a ``queued`` operation);
    - ``failed_batch_queue_size``: those failed ids minus the ids recovered until ``t``
      (``recovered`` events, ``recover`` operations);
    - ``current_batch_size``: batched ``publish`` ids invoked until ``t`` and not settled
      by then (waiting in the batch or in flight).

    Event times are the service's (``detail["at"]``) where given, so events a service
    reports late still count at the moment they happened.

    Args:
        history: the recorded run.
        keys: the statistics to check (a subset of :data:`METRIC_KEYS`).
        client: only events of this client; ``None`` for all.

    Returns:
        ``"unknown"`` when the history holds no ``stats`` event.
    """
    wanted = list(keys)
    unknown_keys = sorted(set(wanted) - set(METRIC_KEYS))
    if unknown_keys:
        raise ValueError(f"unknown metric keys {unknown_keys}; known: {list(METRIC_KEYS)}")
    events = history.client_events(client)
    snapshots = [e for e in events if e.kind == "stats"]
    details: dict[str, Any] = {"snapshots": len(snapshots), "keys": wanted, "problems": []}
    if not snapshots:
        return CheckResult("metrics", UNKNOWN, details, "no stats snapshots in history")
    facts = _Facts(history, events)
    problems: list[str] = []
    for snap in snapshots:
        stats = snap.detail.get("stats") or {}
        point = snap.detail.get("point", "?")
        expected = facts.expected_at(snap.t)
        for key in wanted:
            where = f"{key} at {point} (t={snap.t:.3f}s)"
            if key not in stats:
                problems.append(f"{where}: not reported")
            elif key in expected and stats[key] != expected[key]:
                problems.append(f"{where}: reported {stats[key]}, history shows {expected[key]}")
    details["problems"] = problems
    if problems:
        return CheckResult(
            "metrics", False, details, f"{len(problems)} metrics disagree: {listing(problems)}"
        )
    return CheckResult(
        "metrics",
        True,
        details,
        f"{len(snapshots)} snapshots x {len(wanted)} metrics agree with the history",
    )


class _Facts:
    """What the history shows, as timed id sets, to evaluate at any snapshot time."""

    def __init__(self, history: History, events: list[ClientEvent]) -> None:
        self.init = next((e for e in events if e.kind == "pool_initialized"), None)
        self.published: list[Operation] = [
            op
            for op in operations(history, "publish")
            if isinstance(op.invoke.value, dict) and op.invoke.value.get("batched")
        ]
        self.settle: list[tuple[float, str, str]] = []  # (t, kind, id)
        kinds = {"group_published": "ok", "batch_queued_failed": "failed", "recovered": "recovered"}
        for e in events:
            if e.kind in kinds:
                at = float(e.detail.get("at", e.t))
                ids = e.detail.get("message_ids") or ()
                self.settle += [(at, kinds[e.kind], str(i)) for i in ids]
        for f, kind in (("queued", "failed"), ("recover", "recovered")):
            for op in operations(history, f):
                if op.completion is not None and op.outcome == "ok":
                    ids = op.field("ids") or ()
                    self.settle += [(op.completion.t, kind, str(i)) for i in ids]

    def expected_at(self, t: float) -> dict[str, int]:
        ok: set[str] = set()
        failed: set[str] = set()
        recovered: set[str] = set()
        for at, kind, mid in self.settle:
            if at <= t:
                {"ok": ok, "failed": failed, "recovered": recovered}[kind].add(mid)
        waiting = 0
        for op in self.published:
            mid = str(op.invoke.value["id"])
            done = op.completion is not None and op.completion.t <= t
            if done and op.outcome == "ok":
                ok.add(mid)
            elif done and op.field("queued"):
                failed.add(mid)
            elif op.invoke.t <= t and not done and mid not in ok | failed:
                waiting += 1
        ok -= failed  # published by a recovery, not by a flush
        out = {
            "flush_successful_messages": len(ok),
            "flush_failed_messages": len(failed),
            "failed_batch_queue_size": len(failed - recovered),
            "current_batch_size": waiting,
        }
        if self.init is not None and self.init.t <= t:
            out["pool_init_successes"] = len(self.init.detail.get("connected") or ())
            out["pool_init_failures"] = len(self.init.detail.get("failed") or {})
        return out
