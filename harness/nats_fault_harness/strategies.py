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

from __future__ import annotations

import math
import re
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st
from pydantic import TypeAdapter

from nats_fault_harness.errors import ConfigError
from nats_fault_harness.scenario import (
    CheckerSpec,
    EventTrigger,
    FaultStep,
    Publishes,
    Requests,
    Scenario,
    TimedTrigger,
    Topology,
    Workload,
)
from nats_fault_harness.scenario._base import MAX_COUNT, MAX_ITEMS, MAX_RATE, MAX_SECONDS, MIN_RATE

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

STEP_S = 0.05
"""Granularity of start times and durations, in seconds."""

FAULT_CLASSES: dict[str, tuple[str, ...]] = {
    "slow": ("latency", "bandwidth", "slow_close"),
    "protocol": ("frames",),
    "stalled": ("blackhole", "pause"),
    "cut": ("drop", "reset", "limit_data"),
    "refused": ("down",),
    "partial": ("break_members", "break_by_name"),
    "replaced": ("stop", "kill", "restart", "lame_duck"),
}
"""The fault kinds grouped by what the service's client sees, mildest class first.

``slow``: bytes arrive late; ``protocol``: single NATS frames held, delayed or dropped;
``stalled``: the connection stays open and nothing arrives (a blackholed link, a paused
server); ``cut``: the connection closes and the next attempt connects; ``refused``:
connection attempts are refused until the heal; ``partial``: some of a pool's
connections fail, the others work; ``replaced``: the server process is gone, and a new one
with a new identity (and without the old one's state) takes its place.

A step draws its class first, then a kind within it (both toward the first when
shrinking): each failure mode a client must handle gets an equal share of the examples,
however many kinds produce it. Drawn uniformly by kind, the one kind that refuses
connections (``down``) and the one that replaces the server (``kill``) each got 1 step in
10 of the defaults, while three kinds that merely slow bytes got 3 in 10."""

FAULT_KINDS_BY_SEVERITY: tuple[str, ...] = tuple(
    kind for kinds in FAULT_CLASSES.values() for kind in kinds
)
"""The fault kinds these strategies draw, mildest first (the order the shrinker prefers):
:data:`FAULT_CLASSES` in order."""

DEFAULT_KINDS: tuple[str, ...] = (
    "latency",
    "bandwidth",
    "slow_close",
    "blackhole",
    "drop",
    "reset",
    "limit_data",
    "down",
    "pause",
    "kill",
)
"""Kinds drawn by default: every link fault but ``frames``, and the quick server faults.

``restart`` is left out for now (after a graceful restart the runner's observer did not
reconnect within 10 s: a harness issue, not the service's). ``lame_duck`` is left out
(nats-server's lame-duck duration is at least 30 s, too slow for an example). ``frames``
is opt-in: dropping a whole ``PUB`` frame is a lie no real network tells (see
:func:`fault_steps`).
"""

EVENT_KINDS: tuple[str, ...] = ("batch_flush", "publish", "request", "reconnect")
"""What an event trigger can count, in the order the shrinker prefers."""

DEFAULT_EVENTS: tuple[str, ...] = ("batch_flush", "publish", "request")
"""Event kinds drawn by default: :data:`EVENT_KINDS` but ``reconnect``, which happens only if
an earlier fault disconnected the service (so a fault triggered by it may never fire)."""

WORKLOAD_KINDS: tuple[str, ...] = ("batched", "confirmed", "requests")
"""Workload shapes :func:`workloads` draws: batched publishes with a final flush,
publishes confirmed one by one, or requests to a responder."""

_SERVER_KINDS = frozenset({"pause", "stop", "kill", "restart", "lame_duck"})
_POOL_KINDS = frozenset({"break_members", "break_by_name"})
_INSTANT = frozenset({"reset", "restart"})
_SUBJECTS = ("prop.a", "prop.b")
_LATENCY_MS = (0, 5, 20, 50, 100, 200, 350, 500, 1000, 2000)
_KB_PER_S = (1000, 500, 100, 50, 20, 10, 5, 1)
_LIMIT_BYTES = (65536, 16384, 4096, 1024, 256, 64, 0)
_STREAMS = ("downstream", "upstream", "both")
_NAME = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}"
_STEP: TypeAdapter[FaultStep] = TypeAdapter(FaultStep)


# ---------------------------------------------------------------------------- validation
def _bad(where: str, value: object, expected: str) -> ConfigError:
    return ConfigError(f"{where} must be {expected}, got {value!r}", where=where, value=value)


def _int_bound(where: str, value: object, *, minimum: int = 0, maximum: int = MAX_COUNT) -> int:
    """An int in ``minimum..maximum`` (the scenario models' own limit by default)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _bad(where, value, f"an int >= {minimum}")
    if value > maximum:
        raise _bad(where, value, f"an int <= {maximum} (the scenario limit)")
    return value


def _seconds(where: str, value: object, *, allow_zero: bool = False) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok or not math.isfinite(float(value)) or float(value) < 0:  # type: ignore[arg-type]
        raise _bad(where, value, "a finite number of seconds >= 0")
    if float(value) > MAX_SECONDS:  # type: ignore[arg-type]
        raise _bad(where, value, f"<= {MAX_SECONDS:g} s (the scenario limit)")
    seconds = float(value)  # type: ignore[arg-type]
    if seconds < STEP_S and not (allow_zero and seconds == 0):
        raise _bad(where, value, f">= {STEP_S} s (one step)")
    return seconds


def _choices(
    where: str, value: object, known: Sequence[str], *, empty_ok: bool = False
) -> list[str]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise _bad(where, value, f"a collection of names from {list(known)}")
    items = list(value)
    unknown = [v for v in items if v not in known]
    if unknown:
        raise ConfigError(
            f"{where}: unknown {unknown}; known: {list(known)}", where=where, value=value
        )
    if not items and not empty_ok:
        raise _bad(where, value, "non-empty")
    return [k for k in known if k in items]  # canonical (shrinking) order, no duplicates


def _topology(value: object) -> Topology:
    if not isinstance(value, Topology):
        raise _bad("topology", value, "a nats_fault_harness.scenario.Topology")
    if value.kind == "cluster":
        raise ConfigError(
            "topology: cluster topologies are not drawn yet (server and pool are)",
            where="topology",
            value=value,
        )
    return value


# ---------------------------------------------------------------------------- reach
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


# ---------------------------------------------------------------------------- triggers
def _steps(max_s: float) -> int:
    return max(1, round(max_s / STEP_S))


_LADDER = (1, 2, 4, 6, 10, 15, 20, 30, 40, 60, 80, 120, 160, 240, 320, 480, 640, 960)
"""Durations a fault can last, in steps of :data:`STEP_S`: roughly geometric, like the
timeouts and back-offs a client reacts with (a fault shorter than its flush timeout is
absorbed by buffering, one longer than every retry is a clean failure; bugs live in
between). Uniform steps spent most draws on long faults: half of them at 0.55 s or more."""


def _durations(steps: int) -> tuple[int, ...]:
    """The :data:`_LADDER` rungs up to ``steps``, and ``steps`` itself (the longest)."""
    return (*(rung for rung in _LADDER if rung < steps), steps)


def triggers(
    *,
    instant: bool = False,
    kinds: Iterable[str] = ("event", "timed"),
    events: Iterable[str] = DEFAULT_EVENTS,
    max_nth: int = 3,
    min_start_s: float = STEP_S,
    max_start_s: float = 1.0,
    max_duration_s: float = 1.0,
    hold: bool = True,
    workload: Workload | None = None,
) -> st.SearchStrategy[EventTrigger | TimedTrigger]:
    """When a fault starts and stops.

    Shrinks toward an event trigger (deterministic) on the first event kind of ``events``
    and ``nth: 1``, else a timed one at ``min_start_s``; durations toward one step
    (:data:`STEP_S`). An ``instant`` fault gets no duration.

    With a ``workload``, every trigger is placed where it surely finds work
    (:func:`sure_to_act`): ``at_s`` is drawn as a fraction of :func:`workload_lead_s`
    (within ``min_start_s`` and ``max_start_s``), event kinds and ``nth`` within
    :func:`event_limits`; a timed trigger that fits nowhere (a workload drawn flat out)
    becomes an event trigger. With no such place at all the strategy draws nothing
    (``hypothesis.reject``); :func:`fault_schedules` leaves the step out instead.

    Args:
        instant: the fault acts once (``reset``, ``restart``): no ``for_s``.
        kinds: ``"event"`` and/or ``"timed"``.
        events: event kinds an event trigger counts (see :data:`EVENT_KINDS`; the default
            :data:`DEFAULT_EVENTS` leaves out ``reconnect``, which only an earlier fault
            can make happen).
        max_nth: the largest ``nth``.
        min_start_s: the earliest ``at_s``. The default is one step: ``at_s: 0`` means
            "in place before the service connects", where a service that cannot connect
            fails to start (pass 0 to draw it, e.g. for pool-initialization properties).
        max_start_s: the latest ``at_s`` of a timed trigger.
        max_duration_s: the longest finite ``for_s``.
        hold: also draw ``for_s: null`` (hold until the workload ends).
        workload: place the triggers relative to this workload (see above).

    Raises:
        ConfigError: a bound is invalid (naming it).
    """
    timing = _timing(kinds, events, max_nth, min_start_s, max_start_s, max_duration_s, hold)
    w = _workload_arg(workload)

    def build(choice: _Choice) -> EventTrigger | TimedTrigger:
        trigger = timing.build(choice, instant, w)
        if trigger is None:
            from hypothesis import reject

            reject()
        return trigger

    return timing.raw().map(build)


def _workload_arg(value: object) -> Workload | None:
    if value is not None and not isinstance(value, Workload):
        raise _bad("workload", value, "a nats_fault_harness.scenario.Workload or None")
    return value


_Choice = tuple[int, ...]


def _timing(
    kinds: Iterable[str],
    events: Iterable[str],
    max_nth: int,
    min_start_s: float,
    max_start_s: float,
    max_duration_s: float,
    hold: bool,
) -> _Timing:
    """Validate the trigger bounds (naming a bad one) into a :class:`_Timing`."""
    shapes = _choices("kinds", kinds, ("event", "timed"))
    counted = _choices("events", events, EVENT_KINDS)
    nth = _int_bound("max_nth", max_nth, minimum=1)
    start = _seconds("max_start_s", max_start_s, allow_zero=True)
    first = _seconds("min_start_s", min_start_s, allow_zero=True)
    if first > start:
        raise ConfigError(
            f"min_start_s ({first}) must be <= max_start_s ({start})",
            where="min_start_s",
            value=first,
        )
    length = _seconds("max_duration_s", max_duration_s)
    return _Timing(
        tuple(shapes),
        tuple(counted),
        nth,
        round(first / STEP_S),
        round(start / STEP_S),
        _durations(_steps(length)),
        hold,
    )


@dataclass(frozen=True)
class _Timing:
    """Validated trigger bounds: the raw choices of a trigger, and how to place them."""

    shapes: tuple[str, ...]
    counted: tuple[str, ...]
    nth: int
    lo: int
    """The earliest start, in steps."""
    hi: int
    """The latest start, in steps."""
    durations: tuple[int, ...]
    """The finite durations, in steps, shortest first (see :data:`_LADDER`)."""
    hold: bool

    def raw(self) -> st.SearchStrategy[_Choice]:
        # One fixed tuple of choices whatever the shape (and whatever the workload): hypothesis
        # orders examples by the length of their choice sequence first, so shapes (or
        # "hold": null) that took fewer choices would count as simpler regardless of the
        # order intended here, and a workload that shrinks reinterprets the same choices.
        return st.tuples(
            st.integers(0, len(self.shapes) - 1),
            st.integers(0, len(self.counted) - 1),
            st.integers(0, self.nth - 1),
            st.integers(0, self.hi - self.lo),
            st.integers(0, len(self.durations) - (0 if self.hold else 1)),
        )

    def build(
        self, choice: _Choice, instant: bool, workload: Workload | None
    ) -> EventTrigger | TimedTrigger | None:
        """The trigger of ``choice``; with a ``workload``, placed where it surely acts
        (``None``: no such place for these shapes and events)."""
        shape, after, n, at, dur = choice
        held = instant or (self.hold and dur == len(self.durations))
        for_s = None if held else round(self.durations[dur] * STEP_S, 3)
        timed = self.shapes[shape] == "timed"
        if workload is None:
            if timed:
                return TimedTrigger(at_s=round((self.lo + at) * STEP_S, 3), for_s=for_s)
            return _event(self.counted[after], n + 1, for_s)
        if timed:
            start = self._start(at, instant, workload)
            if start is not None:
                return TimedTrigger(at_s=start, for_s=for_s)
            if "event" not in self.shapes:
                return None
        limits = event_limits(workload)
        usable = [e for e in self.counted if limits.get(e, 0) >= 1]
        if not usable:
            return None
        kind = usable[after % len(usable)]
        return _event(kind, min(n + 1, limits[kind]), for_s)

    def _start(self, at: int, instant: bool, workload: Workload) -> float | None:
        """``at_s``: the fraction ``at / (hi - lo)`` of the steps where the fault surely acts."""
        first = self.lo
        if first == 0 and (instant or not _has_work(workload)):
            first = 1  # an instant fault before the service connects resets nothing
        last = min(self.hi, math.floor((workload_lead_s(workload) - STEP_S) / STEP_S + 1e-9))
        if first == 0:
            last = max(last, 0)  # a lasting fault in place before the start acts on it
        if last < first:
            return None
        index = first + at * (last - first + 1) // (self.hi - self.lo + 1)
        return round(index * STEP_S, 3)


def _event(after: str, nth: int, for_s: float | None) -> EventTrigger:
    return EventTrigger.model_validate({"after": after, "nth": nth, "for_s": for_s})


# ---------------------------------------------------------------------------- steps
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


# ---------------------------------------------------------------------------- workloads
def workloads(
    *,
    kinds: Iterable[str] = WORKLOAD_KINDS,
    max_messages: int = 40,
    max_requests: int = 8,
    rates: Iterable[float | None] = (None, 200.0, 50.0),
    request_timeout_s: float = 0.25,
) -> st.SearchStrategy[Workload]:
    """A short workload of one of :data:`WORKLOAD_KINDS`.

    Shrinks toward batched publishes (the first kind given, in :data:`WORKLOAD_KINDS`
    order), one batched message (two confirmed ones or requests), and the first of
    ``rates`` (default flat out). Confirmed publishes and requests start at two (unless
    the bound is 1): a fault triggered by the first then still has one to act on, while
    a lone one gives no fault (but one in place before the service connects) a place to
    act (:func:`sure_to_act`).

    Args:
        kinds: workload shapes to draw from.
        max_messages: the most publishes (at least 1 batched, 2 confirmed, unless it is 1).
        max_requests: the most requests (at least 2 are drawn, unless it is 1).
        rates: publish and request rates per second to choose from (``None``: flat out).
        request_timeout_s: each request's timeout.

    Raises:
        ConfigError: a bound is invalid.
    """
    shapes = _choices("kinds", kinds, WORKLOAD_KINDS)
    most = _int_bound("max_messages", max_messages, minimum=1)
    most_requests = _int_bound("max_requests", max_requests, minimum=1)
    if isinstance(rates, str | bytes) or not isinstance(rates, Iterable):
        raise _bad("rates", rates, "a collection of rates per second or None")
    rate_list = list(rates)
    for rate in rate_list:
        if rate is not None and (
            isinstance(rate, bool)
            or not isinstance(rate, int | float)
            or not MIN_RATE <= rate <= MAX_RATE
        ):
            raise _bad("rates", rates, f"rates in [{MIN_RATE}, {MAX_RATE:g}] or None")
    if not rate_list:
        raise _bad("rates", rates, "non-empty")
    timeout = _seconds("request_timeout_s", request_timeout_s)
    rate_st = st.sampled_from([None if r is None else float(r) for r in rate_list])

    def build(shape: str) -> st.SearchStrategy[Workload]:
        if shape == "requests":
            return st.builds(
                lambda n, r: Workload(
                    requests=Requests(count=n, rate_per_s=r, subject="prop.rpc", timeout_s=timeout)
                ),
                st.integers(min(2, most_requests), most_requests),
                rate_st,
            )
        return st.builds(
            lambda n, r: Workload(
                publishes=Publishes(
                    count=n, rate_per_s=r, subjects=_SUBJECTS, batched=shape == "batched"
                )
            ),
            st.integers(1 if shape == "batched" else min(2, most), most),
            rate_st,
        )

    return st.sampled_from(shapes).flatmap(build)


def workload_kind(workload: Workload) -> str:
    """Which of :data:`WORKLOAD_KINDS` ``workload`` is (by what it holds)."""
    if workload.publishes.count:
        return "batched" if workload.publishes.batched else "confirmed"
    return "requests"


# ---------------------------------------------------------------------------- service
def service_configs(
    *,
    max_batch_size: int = 50,
    max_batch_retries: int = 3,
    pool_sizes: Iterable[int] = (1, 2),
) -> st.SearchStrategy[dict[str, Any]]:
    """``service`` overrides for the reference service (or any service with these keys).

    Each key is optional and shrinks toward absent (the service's default), so the
    shrunk scenario shows only the settings the failure needs. ``batch_size`` shrinks
    toward ``max_batch_size`` (fewer background flushes), ``max_batch_retries`` toward 0.

    Raises:
        ConfigError: a bound is invalid.
    """
    batch = _int_bound("max_batch_size", max_batch_size, minimum=1)
    retries = _int_bound("max_batch_retries", max_batch_retries)
    if not isinstance(pool_sizes, Iterable):
        raise _bad("pool_sizes", pool_sizes, "a collection of ints >= 1")
    sizes = list(pool_sizes)
    for size in sizes:
        _int_bound("pool_sizes", size, minimum=1)
    if not sizes:
        raise _bad("pool_sizes", pool_sizes, "non-empty")
    return st.fixed_dictionaries(
        {},
        optional={
            "batch_size": st.integers(0, batch - 1).map(lambda k: batch - k),
            "max_batch_retries": st.integers(0, retries),
            "pool_size": st.sampled_from(sizes),
        },
    )


# ---------------------------------------------------------------------------- scenarios
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
