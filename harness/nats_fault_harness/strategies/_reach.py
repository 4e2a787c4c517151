"""Where a fault surely acts on a workload: its lead time and the events it surely makes."""

from __future__ import annotations

from nats_fault_harness.scenario import EventTrigger, FaultStep, Workload
from nats_fault_harness.strategies._kinds import EVENT_KINDS, STEP_S


def _has_work(w: Workload) -> bool:
    return bool(
        w.publishes.count
        or w.requests.count
        or w.inputs.count
        or w.messages.valid
        or w.messages.invalid
    )


def workload_lead_s(workload: Workload) -> float:
    """How long ``workload`` surely has an operation still to start, in seconds.

    The earliest time its last operation can start: the last of ``n`` confirmed
    publishes, requests or inputs at ``rate_per_s`` starts at least ``(n - 1) / rate``
    seconds in, a batched workload's final flush at least ``n / rate`` (the workload
    sleeps ``1 / rate`` after each). A part drawn flat out gives 0: it may be over within
    milliseconds, so no timed fault after ``at_s: 0`` is sure to find it running.
    """
    lead = [0.0]
    p, r, i = workload.publishes, workload.requests, workload.inputs
    if p.count and p.rate_per_s:
        lead.append((p.count if p.batched else p.count - 1) / p.rate_per_s)
    if r.count and r.rate_per_s:
        lead.append((r.count - 1) / r.rate_per_s)
    if i.count and i.rate_per_s:
        lead.append((i.count - 1) / i.rate_per_s)
    return max(lead)


def event_limits(workload: Workload) -> dict[str, int]:
    """The largest ``nth`` of each event kind that surely happens with work still after it.

    ``publish``: every publish of a batched workload (its flush follows), all but the last
    ``in_flight`` confirmed ones; ``batch_flush``: the one flush a batched workload surely
    makes (more depend on the service's batch size and flush interval); ``request`` and
    ``input``: all but the last; ``reconnect``: none (it needs an earlier fault to
    disconnect the service, which nothing in the workload promises).
    """
    p, r, i = workload.publishes, workload.requests, workload.inputs
    limits = dict.fromkeys((*EVENT_KINDS, "input"), 0)
    if p.count:
        limits["publish"] = p.count if p.batched else max(p.count - p.in_flight, 0)
        limits["batch_flush"] = 1 if p.batched else 0
    limits["request"] = max(r.count - 1, 0)
    limits["input"] = max(i.count - 1, 0)
    return limits


def sure_to_act(step: FaultStep, workload: Workload) -> bool:
    """Whether ``step`` is surely applied while ``workload`` still has an operation to run.

    An event trigger within :func:`event_limits`; a lasting fault timed ``at_s: 0`` (in
    place before the service connects); a timed one at least one step (:data:`STEP_S`)
    before the last operation can start (:func:`workload_lead_s`). Anything else may fire
    after the work is done (or never), and then injects nothing.
    """
    if not _has_work(workload):
        return False
    trigger = step.trigger
    if isinstance(trigger, EventTrigger):
        return trigger.nth <= event_limits(workload).get(trigger.after, 0)
    if trigger.at_s == 0:
        return not step.is_instant()
    return trigger.at_s + STEP_S <= workload_lead_s(workload) + 1e-9
