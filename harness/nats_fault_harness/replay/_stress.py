"""How hard a run pressed the service: the quantities a property search steers toward.

:func:`~nats_fault_harness.replay.check_scenario` passes each to ``hypothesis.target()``
(labelled ``nfh.<name>``), so hypothesis's target phase hill-climbs toward schedules that
make the outages the service recovers from longer, retries more, calls slower: where
timing-dependent bugs live. Every value is read from the run's history after it ended, and
is 0 when there was nothing to measure (so a service that reports no events is targeted on
what the runner saw).

The outage counted is the longest one that *ended* (a reconnect), not one still open when
the run ended: maximising any outage rewards faults held to the end of the run,
where a service fails cleanly (its retries give up, every message is reported), while the
bugs of recovery (a retry after a reconnect, a new server, a refused attempt) live at the
longest outage a service still comes back from.
"""

from __future__ import annotations

from nats_fault_harness.history import History

__all__ = ["TARGET_LABELS", "stress"]

TARGET_LABELS: tuple[str, ...] = (
    "nfh.recovered_outage_s",
    "nfh.retries",
    "nfh.unsuccessful_ops",
    "nfh.slowest_call_s",
    "nfh.queued",
    "nfh.loop_lag_ms",
)
"""The labels of the ``target()`` calls, in the order they are made."""

_RETRIES = frozenset({"retry_scheduled", "jetstream_retry"})


def stress(history: History) -> dict[str, float]:
    """Each of :data:`TARGET_LABELS` -> its value in ``history``.

    - ``recovered_outage_s``: the longest time one connection of the service was
      disconnected before it reconnected (``disconnected`` to its next ``reconnected``;
      an outage with no reconnect before the end of the record counts 0);
    - ``retries``: retries the service reported (``retry_scheduled``, ``jetstream_retry``);
    - ``unsuccessful_ops``: operations that ended ``fail`` or ``info``;
    - ``slowest_call_s``: the longest confirmed publish or request (batched publishes
      wait for the flush by design, so they are left out);
    - ``queued``: messages moved to the failed-batch queue;
    - ``loop_lag_ms``: the worst event-loop lag measured during the workload.
    """
    events = history.client_events()
    ops = history.ops()
    down: dict[object, float] = {}
    outage = 0.0
    retries = queued = 0
    lag = 0.0
    for e in events:
        member = e.detail.get("member", e.client)
        if e.kind == "disconnected":
            down.setdefault(member, e.t)
        elif e.kind == "reconnected" and member in down:
            outage = max(outage, e.t - down.pop(member))
        elif e.kind in _RETRIES:
            retries += 1
        elif e.kind == "loop_lag":
            lag = max(lag, float(e.detail.get("max_ms", 0.0)))
    invoked: dict[int, float] = {}
    unsuccessful = 0
    slowest = 0.0
    for op in ops:
        if op.type == "invoke":
            calls = op.f == "request" or (
                op.f == "publish" and not (isinstance(op.value, dict) and op.value.get("batched"))
            )
            if calls:
                invoked[op.op_id] = op.t
            continue
        if op.type in ("fail", "info"):
            unsuccessful += 1
        if op.op_id in invoked:
            slowest = max(slowest, op.t - invoked.pop(op.op_id))
        if op.f == "queued" and isinstance(op.value, dict):
            queued += len(op.value.get("ids", ()))
    return dict(
        zip(
            TARGET_LABELS,
            (outage, float(retries), float(unsuccessful), slowest, float(queued), lag),
            strict=True,
        )
    )
