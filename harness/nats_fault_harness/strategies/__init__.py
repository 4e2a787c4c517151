"""Hypothesis strategies for fault schedules, workloads, service settings and whole scenarios.

Every strategy produces the scenario models of :mod:`nats_fault_harness.scenario` (fault steps,
:class:`~nats_fault_harness.scenario.Workload`, ``service`` overrides,
:class:`~nats_fault_harness.scenario.Scenario`),
so a falsifying example is a scenario that can be written to YAML and replayed.

**How they shrink.** Hypothesis shrinks integers toward 0, ``sampled_from`` toward its first
element, ``one_of`` toward its first branch and lists toward fewer, earlier-drawn items. The
strategies encode "simpler" in those terms, so a failing schedule shrinks toward *fewer,
milder, shorter and earlier* faults:

- fewer: a schedule has ``max_faults`` slots, each "no fault" first, so any step can be
  deleted on its own and a one-fault bug shrinks to that fault alone; later slots are
  filled less often (:data:`_PRESENCE`), so most examples hold one fault;
- milder kinds: a step draws a class of :data:`FAULT_CLASSES` (what the client sees:
  slow bytes first, a replaced server last), then a kind within it, in
  :data:`FAULT_KINDS_BY_SEVERITY` order whatever order ``kinds`` was given in;
- milder parameters: each parameter is drawn from a list ordered mild to severe (latency
  0 ms before 500 ms, 1000 KB/s before 10 KB/s, one direction before ``both``);
- shorter: durations are drawn from a roughly geometric ladder of :data:`STEP_S` steps
  (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1 s, ... up to ``max_duration_s``) and shrink to one
  step; holding a fault until the workload ends (``for_s: null``) is the last option;
- earlier: event triggers shrink to the first event (``nth: 1``), timed ones to
  ``min_start_s`` (one step by default).
  Event triggers come first, so a schedule shrinks toward ones that do not depend on timing.

**Where faults fall.** :func:`scenarios` places the triggers of its schedule on the drawn
workload, so every fault surely acts on it (:func:`sure_to_act`): ``at_s`` is a fraction
of the workload's lead time (:func:`workload_lead_s`), an event ``nth`` stays within what
the workload surely makes (:func:`event_limits`), and a step with no such place is left
out. The raw choices are the same whatever the workload, so they shrink as above.

**Bounds** are keyword-only and checked when the strategy is built, not when it draws:
a bad bound raises :class:`~nats_fault_harness.errors.ConfigError` (a ``ValueError``) whose
``where``
names the argument and whose ``value`` is the bad value.
"""

from nats_fault_harness.strategies._kinds import (
    DEFAULT_EVENTS,
    DEFAULT_KINDS,
    EVENT_KINDS,
    FAULT_CLASSES,
    FAULT_KINDS_BY_SEVERITY,
    STEP_S,
    WORKLOAD_KINDS,
)
from nats_fault_harness.strategies._reach import event_limits, sure_to_act, workload_lead_s
from nats_fault_harness.strategies._scenarios import checkers_for, scenarios, seeds
from nats_fault_harness.strategies._schedules import fault_schedules
from nats_fault_harness.strategies._service import service_configs
from nats_fault_harness.strategies._steps import fault_steps
from nats_fault_harness.strategies._triggers import triggers
from nats_fault_harness.strategies._workloads import workload_kind, workloads

__all__ = [
    "DEFAULT_EVENTS",
    "DEFAULT_KINDS",
    "EVENT_KINDS",
    "FAULT_CLASSES",
    "FAULT_KINDS_BY_SEVERITY",
    "STEP_S",
    "WORKLOAD_KINDS",
    "checkers_for",
    "event_limits",
    "fault_schedules",
    "fault_steps",
    "scenarios",
    "seeds",
    "service_configs",
    "sure_to_act",
    "triggers",
    "workload_kind",
    "workload_lead_s",
    "workloads",
]
