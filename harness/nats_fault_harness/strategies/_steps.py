"""One fault step: a class and kind, its parameters (mild to severe) and its trigger."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st
from pydantic import TypeAdapter

from nats_fault_harness.errors import ConfigError
from nats_fault_harness.scenario import EventTrigger, FaultStep, TimedTrigger, Topology, Workload
from nats_fault_harness.strategies._bounds import _bad, _choices, _topology, _workload_arg
from nats_fault_harness.strategies._kinds import (
    _INSTANT,
    _KB_PER_S,
    _LATENCY_MS,
    _LIMIT_BYTES,
    _POOL_KINDS,
    _STREAMS,
    DEFAULT_EVENTS,
    DEFAULT_KINDS,
    FAULT_CLASSES,
    FAULT_KINDS_BY_SEVERITY,
    STEP_S,
)
from nats_fault_harness.strategies._triggers import _Choice, _Timing, _timing

_STEP: TypeAdapter[FaultStep] = TypeAdapter(FaultStep)

_SLOTS = 6
_SLOT_VALUES = 16
_Spec = list[tuple[str, tuple[Any, ...]]]


def _subsets(size: int) -> tuple[tuple[int, ...], ...]:
    """Non-empty member subsets, fewest members first."""
    subsets = [tuple(i for i in range(size) if mask >> i & 1) for mask in range(1, 2**size)]
    return tuple(sorted(subsets, key=lambda m: (len(m), m)))


def _spec(kind: str, topology: Topology, verbs: Sequence[str]) -> _Spec:
    """The kind-specific fields of a step, each with its values ordered mild to severe."""
    members = range(topology.size) if topology.kind == "pool" else range(0)
    link: _Spec = [("target", ("link", *(f"member:{i}" for i in members)))]
    if kind == "latency":
        return [*link, ("ms", _LATENCY_MS), ("jitter", (0, 5, 20, 100)), ("stream", _STREAMS)]
    if kind == "bandwidth":
        return [*link, ("kb_per_s", _KB_PER_S), ("stream", _STREAMS)]
    if kind == "slow_close":
        return [*link, ("delay_ms", (0, 50, 200, 1000)), ("stream", _STREAMS)]
    if kind == "limit_data":
        return [*link, ("bytes", _LIMIT_BYTES), ("stream", _STREAMS)]
    if kind in ("blackhole", "drop"):
        return [*link, ("stream", _STREAMS)]
    if kind in ("reset", "down"):
        return link
    if kind == "frames":
        return [
            *link,
            ("verb", tuple(verbs)),
            ("action", ("delay", "hold", "drop")),
            ("delay_ms", (0, 50, 200, 1000)),
            ("first", (1, 2, 3, 4, 5)),
            ("stream", ("downstream", "upstream")),
        ]
    if kind == "break_members":
        return [
            ("members", _subsets(min(topology.size, 4))),
            ("how", ("blackhole", "drop", "reset", "down")),
        ]
    if kind == "break_by_name":
        return [
            ("connect_name", tuple(f"*-pool-{i}" for i in members)),
            ("how", ("blackhole", "drop", "reset")),
        ]
    if kind == "restart":
        return [("graceful", (True, False))]
    return []  # pause, stop, kill, lame_duck: the one server


def _is_instant(kind: str, params: Mapping[str, Any]) -> bool:
    return kind in _INSTANT or (kind in _POOL_KINDS and params.get("how") == "reset")


def fault_steps(
    *,
    kinds: Iterable[str] = DEFAULT_KINDS,
    topology: Topology | None = None,
    trigger_kinds: Iterable[str] = ("event", "timed"),
    events: Iterable[str] = DEFAULT_EVENTS,
    max_nth: int = 3,
    min_start_s: float = STEP_S,
    max_start_s: float = 1.0,
    max_duration_s: float = 1.0,
    frame_verbs: Iterable[str] = ("PONG", "PING", "+OK"),
    workload: Workload | None = None,
) -> st.SearchStrategy[FaultStep]:
    """One fault step: which fault, on what target, with which parameters, and when.

    Shrinks toward the mildest kind in ``kinds`` (by :data:`FAULT_KINDS_BY_SEVERITY`),
    its mildest parameters, the whole ``link`` as target, and the simplest trigger (see
    :func:`triggers`).

    Args:
        kinds: fault kinds to draw from (:data:`DEFAULT_KINDS`); pool kinds need a pool.
        topology: what the faults hit (default: one server).
        trigger_kinds, events, max_nth, min_start_s, max_start_s, max_duration_s,
            workload: see :func:`triggers` (``trigger_kinds`` is its ``kinds``).
        frame_verbs: NATS verbs a ``frames`` fault may act on. ``PUB``/``MSG`` are not in
            the default: a dropped ``PUB`` frame is a lie no real network tells (TCP
            does not lose a message and deliver the next), so no service can account for it.

    Raises:
        ConfigError: a bound is invalid, or a kind does not fit the topology.
    """
    plan = _step_plan(
        kinds,
        topology,
        frame_verbs,
        _timing(trigger_kinds, events, max_nth, min_start_s, max_start_s, max_duration_s, True),
    )
    w = _workload_arg(workload)

    def build(choice: _StepChoice) -> FaultStep:
        step = plan.build(choice, w)
        if step is None:
            from hypothesis import reject

            reject()
        return step

    return plan.raw().map(build)


_StepChoice = tuple[tuple[int, int], _Choice, _Choice]


@dataclass(frozen=True)
class _StepPlan:
    """Validated step bounds: the raw choices of a step, and how to build it."""

    chosen: tuple[str, ...]
    specs: tuple[_Spec, ...]
    timing: _Timing
    classes: tuple[tuple[int, ...], ...]
    """Per :data:`FAULT_CLASSES` class with a chosen kind, mildest first: the indexes of its
    kinds in ``chosen``."""

    def raw(self) -> st.SearchStrategy[_StepChoice]:
        # Every step is the same tuple of choices (class and kind, parameter slots,
        # trigger), so the shrinker compares steps by value: a smaller index is a milder
        # class, kind or parameter.
        slots = st.tuples(*(st.integers(0, _SLOT_VALUES - 1) for _ in range(_SLOTS)))
        widest = max(len(members) for members in self.classes)
        kind = st.tuples(st.integers(0, len(self.classes) - 1), st.integers(0, widest - 1))
        return st.tuples(kind, slots, self.timing.raw())

    def build(self, choice: _StepChoice, workload: Workload | None) -> FaultStep | None:
        """The step of ``choice`` (``None``: with ``workload``, it could not surely act)."""
        (group, member), slots, when = choice
        members = self.classes[group]
        index = members[member % len(members)]
        kind = self.chosen[index]
        pairs = zip(self.specs[index], slots, strict=False)  # a kind uses the first few slots
        params = {name: values[v % len(values)] for (name, values), v in pairs}
        trigger = self.timing.build(when, _is_instant(kind, params), workload)
        return None if trigger is None else _make_step(kind, params, trigger)


def _step_plan(
    kinds: Iterable[str], topology: Topology | None, frame_verbs: Iterable[str], timing: _Timing
) -> _StepPlan:
    topo = _topology(topology if topology is not None else Topology())
    chosen = _choices("kinds", kinds, FAULT_KINDS_BY_SEVERITY)
    if topo.kind != "pool" and _POOL_KINDS & set(chosen):
        bad = sorted(_POOL_KINDS & set(chosen))
        raise ConfigError(
            f"kinds: {bad} need a pool topology, got {topo.kind}", where="kinds", value=bad
        )
    verbs = [v for v in frame_verbs] if not isinstance(frame_verbs, str) else [frame_verbs]
    if not verbs or not all(isinstance(v, str) and v for v in verbs):
        raise _bad("frame_verbs", frame_verbs, "a non-empty collection of NATS verbs")
    classes = tuple(
        tuple(chosen.index(kind) for kind in kinds if kind in chosen)
        for kinds in FAULT_CLASSES.values()
        if set(kinds) & set(chosen)
    )
    specs = tuple(_spec(kind, topo, verbs) for kind in chosen)
    return _StepPlan(tuple(chosen), specs, timing, classes)


def _make_step(
    kind: str, params: dict[str, Any], trigger: EventTrigger | TimedTrigger
) -> FaultStep:
    return _STEP.validate_python({"fault": kind, **params, "trigger": trigger})
