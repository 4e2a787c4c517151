"""When a fault starts and stops: event and timed triggers, placed on a workload."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from hypothesis import strategies as st

from nats_fault_harness.errors import ConfigError
from nats_fault_harness.scenario import EventTrigger, TimedTrigger, Workload
from nats_fault_harness.strategies._bounds import _choices, _int_bound, _seconds, _workload_arg
from nats_fault_harness.strategies._kinds import DEFAULT_EVENTS, EVENT_KINDS, STEP_S
from nats_fault_harness.strategies._reach import _has_work, event_limits, workload_lead_s


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
