"""Whole scenarios: a workload, service overrides, a fault schedule placed on it, a seed."""

from __future__ import annotations

import re
from typing import Any

from hypothesis import strategies as st

from nats_fault_harness.scenario import (
    CheckerSpec,
    EventTrigger,
    FaultStep,
    Scenario,
    Topology,
    Workload,
)
from nats_fault_harness.strategies._bounds import _NAME, _bad, _seconds, _topology
from nats_fault_harness.strategies._schedules import _SCHEDULES, fault_schedules
from nats_fault_harness.strategies._workloads import workload_kind, workloads


def seeds() -> st.SearchStrategy[int]:
    """A proxy seed (``Scenario.seed``): jitter and toxicity rolls replay with it.

    Shrinks toward 0.
    """
    return st.integers(0, 2**32 - 1)


_CLAIMS = {
    "batched": ("fix.partial-flush", "fix.failed-batch-queue"),
    "confirmed": ("fix.typed-errors",),
    "requests": ("fix.typed-errors.request",),
}


def checkers_for(workload: Workload, *, metrics: bool | None = None) -> tuple[CheckerSpec, ...]:
    """The property's checkers for ``workload``.

    - every publish is accounted for (``accounting``; redelivery is allowed);
    - confirmed publishes and requests that fail raise the service's typed errors with
      their fields (``exceptions``);
    - the service's statistics agree with the history (``metrics``), when the installed
      harness has that checker (``metrics=None``: use it if registered);
      :func:`nats_fault_harness.replay.check_scenario` leaves it out for a service without
      ``stats()``.
    """
    kind = workload_kind(workload)
    specs: list[CheckerSpec] = []
    if kind in ("batched", "confirmed"):
        specs.append(CheckerSpec(name="accounting", params={"allow_duplicates": True}))
    if kind == "confirmed":
        specs.append(
            CheckerSpec(
                name="exceptions",
                params={
                    "f": "publish",
                    "expected_types": ["NATSPublishError", "PublishError"],
                    "required_fields": ["subject"],
                },
            )
        )
    if kind == "requests":
        specs.append(
            CheckerSpec(
                name="exceptions",
                params={
                    "f": "request",
                    "expected_types": ["NATSRequestError"],
                    "required_fields": ["subject", "timeout"],
                },
            )
        )
    # --- statistics consistent with the history (the `metrics` checker) ---------------
    if metrics is None:
        from nats_fault_harness.checkers import CHECKERS

        metrics = "metrics" in CHECKERS
    if metrics:
        specs.append(CheckerSpec.model_validate({"name": "metrics"}))
    return tuple(specs)


def _fireable(steps: tuple[FaultStep, ...], w: Workload, timeout_s: float) -> tuple[FaultStep, ...]:
    """``steps`` without those the scenario model rejects as never able to fire.

    An event trigger past the workload's count of that event, or a timed one at or after
    the timeout (or after 0 s with nothing to do), would make the example invalid; the
    honest-verdicts rule wants no example whose faults cannot fire.
    """
    counts = {"publish": w.publishes.count, "request": w.requests.count}
    idle = not (w.publishes.count or w.requests.count or w.messages.valid or w.messages.invalid)
    kept: list[FaultStep] = []
    for step in steps:
        trigger = step.trigger
        if isinstance(trigger, EventTrigger):
            if trigger.after in counts and trigger.nth > counts[trigger.after]:
                continue
        elif trigger.at_s >= timeout_s or (idle and trigger.at_s > 0):
            continue
        kept.append(step)
    return tuple(kept)


def scenarios(
    *,
    faults: st.SearchStrategy[tuple[FaultStep, ...]] | None = None,
    workload: st.SearchStrategy[Workload] | None = None,
    service: st.SearchStrategy[dict[str, Any]] | None = None,
    topology: Topology | None = None,
    name: str = "property",
    metrics: bool | None = None,
    timeout_s: float = 30.0,
) -> st.SearchStrategy[Scenario]:
    """Whole scenarios: a workload, service overrides, a fault schedule and a proxy seed.

    The checkers follow the workload (:func:`checkers_for`). Shrinks each part as its own
    strategy does; the seed toward 0. A schedule of :func:`fault_schedules` (the default,
    or one given as ``faults``) has its triggers placed relative to the drawn workload, so
    every fault surely acts on it (:func:`sure_to_act`); a schedule strategy of your own is
    drawn as it is, without the steps the scenario model rejects as never firing.

    Args:
        faults: the schedule strategy (default: :func:`fault_schedules` on ``topology``
            with ``min_faults=1``: every example injects a fault, and the simplest one,
            which hypothesis tries first and shrinks toward, is a ``latency`` of 0 ms, the
            no-fault baseline; with ``min_faults=0``, 1 example in 7 had no fault at all).
        workload: the workload strategy (default: :func:`workloads`).
        service: the service overrides strategy (default: none, ``{}``).
        topology: the topology (default: one server).
        name: the scenarios' name.
        metrics: include the ``metrics`` checker (``None``: if registered).
        timeout_s: the scenarios' ``timeout_s``.

    Raises:
        ConfigError: a bound is invalid.
    """
    topo = _topology(topology if topology is not None else Topology())
    for where, given in (("faults", faults), ("workload", workload), ("service", service)):
        if given is not None and not isinstance(given, st.SearchStrategy):
            raise _bad(where, given, "a hypothesis strategy")
    _seconds("timeout_s", timeout_s)
    if not isinstance(name, str) or not re.fullmatch(_NAME, name):
        raise _bad("name", name, f"a scenario name matching {_NAME}")
    schedule = faults if faults is not None else fault_schedules(topology=topo, min_faults=1)
    plan = _SCHEDULES.get(schedule)
    loads = workload if workload is not None else workloads()
    overrides = service if service is not None else st.just({})

    def build(w: Workload, s: dict[str, Any], f: Any, seed: int) -> Scenario:
        steps = plan.build(f, w) if plan is not None else f
        return Scenario(
            name=name,
            description="drawn by hypothesis (nats_fault_harness.strategies)",
            claims=_CLAIMS[workload_kind(w)],
            topology=topo,
            service=s,
            workload=w,
            faults=_fireable(steps, w, timeout_s),
            checkers=checkers_for(w, metrics=metrics),
            timeout_s=timeout_s,
            seed=seed,
        )

    if plan is None:  # a schedule strategy of the caller's own: drawn as it is
        return st.builds(build, loads, overrides, schedule, seeds())
    # fault_schedules(): the same choices, placed relative to each drawn workload
    drawn = st.builds(build, loads, overrides, plan.raw(), seeds())
    return drawn.filter(lambda sc: len(sc.faults) >= plan.least) if plan.least else drawn
