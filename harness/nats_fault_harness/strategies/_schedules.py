"""A fault schedule: a slot per possible step, each "no fault" first."""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from nats_fault_harness.errors import ConfigError
from nats_fault_harness.scenario import FaultStep, Topology, Workload
from nats_fault_harness.scenario._base import MAX_ITEMS
from nats_fault_harness.strategies._bounds import _int_bound, _workload_arg
from nats_fault_harness.strategies._kinds import (
    _SERVER_KINDS,
    DEFAULT_EVENTS,
    DEFAULT_KINDS,
    STEP_S,
)
from nats_fault_harness.strategies._steps import _step_plan, _StepChoice, _StepPlan
from nats_fault_harness.strategies._triggers import _timing

_ScheduleChoice = tuple[_StepChoice | None, ...]
_PRESENCE = (15, 3, 5)
"""How likely each optional slot of a schedule is to hold a step: slot 0 (optional only with
``min_faults=0``) holds one unless its presence choice (0 to 15) is 0; slot 1 only if its
choice (0 to 3) is the highest, slot 2 and later only if theirs (0 to 5) is. Over 600
default scenarios for each of 3 seeds: 64-75% of the examples hold one fault, 25-35% two,
at most 1% three (with 3 in 4 for every slot, 40% held three and 20% one). A bug that one
fault provokes is met without a second fault masking it, and every optional slot still
shrinks to "no fault" (choice 0) on its own."""


def _presence(slot: int) -> st.SearchStrategy[bool]:
    top = _PRESENCE[min(slot, len(_PRESENCE) - 1)]
    if slot == 0:
        return st.integers(0, top).map(bool)
    return st.integers(0, top).map(lambda c: c == top)


@dataclass(frozen=True)
class _SchedulePlan:
    """Validated schedule bounds: the raw choices of a schedule, and how to build it."""

    step: _StepPlan
    least: int
    most: int

    def raw(self) -> st.SearchStrategy[_ScheduleChoice]:
        # A slot per possible step, each "no fault" first: every step shrinks away on its
        # own, whatever its place, so a one-fault bug shrinks to that fault alone (a list
        # strategy, and worse a unique one, kept harmless steps in front of the culprit
        # in 1 seed of 3).
        one = self.step.raw()
        maybe = [
            st.tuples(_presence(slot), one).map(lambda c: c[1] if c[0] else None)
            for slot in range(self.least, self.most)
        ]
        return st.tuples(*([one] * self.least + maybe))

    def build(self, choice: _ScheduleChoice, workload: Workload | None) -> tuple[FaultStep, ...]:
        """The schedule of ``choice``; with ``workload``, without steps that could not act."""
        steps = [None if c is None else self.step.build(c, workload) for c in choice]
        return _one_server_fault(tuple(steps))


_SCHEDULES: weakref.WeakKeyDictionary[st.SearchStrategy[Any], _SchedulePlan] = (
    weakref.WeakKeyDictionary()
)
"""Strategies made by :func:`fault_schedules` without a workload -> how they were made, so
:func:`scenarios` can place their triggers relative to each drawn workload."""


def fault_schedules(
    *,
    max_faults: int = 3,
    min_faults: int = 0,
    max_duration_s: float = 1.0,
    kinds: Iterable[str] = DEFAULT_KINDS,
    topology: Topology | None = None,
    workload: Workload | None = None,
    **step_options: Any,
) -> st.SearchStrategy[tuple[FaultStep, ...]]:
    """A fault schedule: ``min_faults`` to ``max_faults`` steps (see :func:`fault_steps`).

    Shrinks toward fewer steps (each optional step can shrink to "no fault" on its own,
    wherever it stands), then each step as :func:`fault_steps` does. A schedule holds at
    most one server-process fault (``pause``, ``stop``, ``kill``, ``restart``,
    ``lame_duck``): overlapping ones on the one server cannot be healed in order.

    Triggers are placed relative to a workload (:func:`sure_to_act`): to ``workload`` if
    given, and, given to :func:`scenarios` as ``faults=``, to each scenario's drawn
    workload (the same choices, placed per workload). A step that cannot surely act on
    the workload is left out. Drawn on its own with no workload, ``at_s`` is drawn in
    seconds between ``min_start_s`` and ``max_start_s``.

    Args:
        max_faults: the most steps in a schedule.
        min_faults: the fewest (0 allows an empty schedule, the baseline).
        max_duration_s: the longest finite ``for_s`` of a step.
        kinds: fault kinds to draw from.
        topology: what the faults hit (default: one server).
        workload: place the triggers relative to this workload.
        step_options: more keyword bounds of :func:`fault_steps`.

    Raises:
        ConfigError: a bound is invalid (naming it and its value).
    """
    most = _int_bound("max_faults", max_faults, maximum=MAX_ITEMS)
    least = _int_bound("min_faults", min_faults, maximum=MAX_ITEMS)
    if least > most:
        raise ConfigError(
            f"min_faults ({least}) must be <= max_faults ({most})",
            where="min_faults",
            value=least,
        )
    unknown = sorted(set(step_options) - _STEP_OPTIONS)
    if unknown:
        raise TypeError(f"fault_schedules() got unexpected keyword arguments {unknown}")
    timing = _timing(
        step_options.get("trigger_kinds", ("event", "timed")),
        step_options.get("events", DEFAULT_EVENTS),
        step_options.get("max_nth", 3),
        step_options.get("min_start_s", STEP_S),
        step_options.get("max_start_s", 1.0),
        max_duration_s,
        True,
    )
    step = _step_plan(
        kinds, topology, step_options.get("frame_verbs", ("PONG", "PING", "+OK")), timing
    )
    plan = _SchedulePlan(step, least, most)
    w = _workload_arg(workload)
    schedules = plan.raw().map(lambda choice: plan.build(choice, w))
    if least > 1 or (least and w is not None):  # steps left out may leave fewer than least
        schedules = schedules.filter(lambda steps: len(steps) >= least)
    if w is None:
        _SCHEDULES[schedules] = plan
    return schedules


_STEP_OPTIONS = frozenset(
    {"trigger_kinds", "events", "max_nth", "min_start_s", "max_start_s", "frame_verbs"}
)


def _one_server_fault(slots: tuple[FaultStep | None, ...]) -> tuple[FaultStep, ...]:
    """The drawn steps, keeping the first fault on the server process and no later one.

    A kill inside a pause (or the reverse) on the one server cannot be healed in order,
    and says nothing a single one does not.
    """
    out: list[FaultStep] = []
    server = False
    for step in slots:
        if step is None or (step.fault in _SERVER_KINDS and server):
            continue
        server = server or step.fault in _SERVER_KINDS
        out.append(step)
    return tuple(out)
