"""The fault schedule of a run: timed and event-triggered faults, applied and healed.

Timed triggers count from the workload's start; ``at_s: 0`` faults are applied before
the service starts (so they are in place while it connects). Event triggers count what
the runner sees (``publish``, ``request``: operations completed, whatever their outcome)
and what the service reports (``batch_flush``: ``batch_flush_started``; ``reconnect``:
``reconnected``). An event-triggered fault is applied synchronously, inside the call that
counted the event (a proxy API call or a signal, a few ms), so "when the 1st batch starts
flushing" holds before the service sends a byte of it; that time is excluded from the
loop-lag measurement.

A server that starts again (healing ``kill``, ``stop`` or ``lame_duck``, or a
``restart``) is restarted with the service's links held down until the observer is
subscribed again: otherwise the service could reconnect first and publish into a server
that has nobody to deliver to, which the accounting checker would call a loss.

A ``leader:<STREAM>`` target is resolved to the node leading the stream as the step
fires (for a timed step in a worker thread; for an event-triggered one inside the call
that counted the event, like the fault itself, excluded from the loop-lag measurement),
and the resolved step is the one applied, healed and held down.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from nats_fault_harness.faults import Fault, FaultLog
from nats_fault_harness.scenario._lag import LoopLag
from nats_fault_harness.scenario._observer import Observer
from nats_fault_harness.scenario._step import EventTrigger
from nats_fault_harness.scenario._topology import (
    Built,
    make_fault,
    resolve_step,
    service_links,
    step_label,
)

__all__ = ["Schedule"]

_STARTS_SERVER_ON_HEAL = frozenset({"kill", "stop", "lame_duck"})
SERVICE_EVENTS = {"batch_flush_started": "batch_flush", "reconnected": "reconnect"}
"""Service event kinds that count as schedule events, and the event each counts as."""


class Schedule:
    """Applies and heals the faults of ``steps`` (see the module docstring)."""

    def __init__(
        self, steps: Sequence[Any], built: Built, log: FaultLog, observer: Observer, lag: LoopLag
    ) -> None:
        self.steps = list(steps)
        self.built, self.log, self.observer, self.lag = built, log, observer, lag
        self.done = asyncio.Event()
        self.counts: dict[str, int] = dict.fromkeys(
            ("publish", "batch_flush", "reconnect", "request", "input"), 0
        )
        self._early: dict[int, tuple[Any, Fault]] = {}
        self._tg: asyncio.TaskGroup | None = None

    def active_faults(self) -> list[Fault]:
        """The faults in effect now."""
        return self.log.active()

    # ------------------------------------------------------------------ timed
    def plan(self) -> list[dict[str, Any]]:
        """The declared steps as the evidence checker reads them (``run`` event)."""
        return [
            {"step": i, "label": step_label(step), "instant": step.is_instant()}
            for i, step in enumerate(self.steps)
        ]

    def _make(self, index: int, step: Any) -> tuple[Any, Fault]:
        """Step ``index`` (its ``leader:`` target resolved, blocking) and its fault.

        The fault is tagged with the step's index and the service links it hits; a
        resolved leader is journaled in its parameters.
        """
        step, leader = resolve_step(step, self.built)
        fault = make_fault(step, self.built)
        fault.step = index
        fault.links = service_links(step, self.built) or fault.links
        if leader:
            fault.params = {**fault.params, **leader}
        return step, fault

    async def apply_early(self) -> None:
        """Apply the faults timed ``at_s: 0`` (before the service starts)."""
        for i, step in enumerate(self.steps):
            if not isinstance(step.trigger, EventTrigger) and step.trigger.at_s == 0.0:
                resolved, fault = await asyncio.to_thread(self._make, i, step)
                await self._apply(resolved, fault)
                self._early[i] = (resolved, fault)

    def start(self, tg: asyncio.TaskGroup, t0: float) -> list[asyncio.Task[None]]:
        """Start the timed faults (``t0``: the workload's start); event ones wait in ``tg``."""
        self._tg = tg
        return [
            tg.create_task(self._timed(i, step, t0))
            for i, step in enumerate(self.steps)
            if not isinstance(step.trigger, EventTrigger)
        ]

    async def _timed(self, index: int, step: Any, t0: float) -> None:
        loop = asyncio.get_running_loop()
        trigger = step.trigger
        early = self._early.get(index)
        if early is None:
            if await self._wait_done(t0 + trigger.at_s - loop.time()):
                return
            step, fault = await asyncio.to_thread(self._make, index, step)
            await self._apply(step, fault)
        else:
            step, fault = early
        if trigger.for_s is not None and fault.active:
            await self._wait_done(t0 + trigger.at_s + trigger.for_s - loop.time())
            await self._heal(step, fault)

    async def _wait_done(self, seconds: float) -> bool:
        """Sleep ``seconds`` unless the workload ends first; True if it ended."""
        try:
            async with asyncio.timeout(max(seconds, 0.0)):
                await self.done.wait()
        except TimeoutError:
            return False
        return True

    # ------------------------------------------------------------------ events
    def on_event(self, what: str) -> None:
        """Count one event ``what``; apply the faults it triggers, synchronously."""
        if self._tg is None or self.done.is_set():
            return
        self.counts[what] += 1
        for i, step in enumerate(self.steps):
            trigger = step.trigger
            if (
                isinstance(trigger, EventTrigger)
                and trigger.after == what
                and trigger.nth == self.counts[what]
            ):
                self._fire(i, step, trigger)

    def _fire(self, index: int, step: Any, trigger: EventTrigger) -> None:
        with self.lag.harness():
            step, fault = self._make(index, step)
            if step.fault == "restart":
                holds = self._hold_links(step.target)
                try:
                    fault()
                finally:
                    self._spawn(self._release(holds))
            else:
                fault()
        if trigger.for_s is not None and fault.active:
            self._spawn(self._heal_after(step, fault, trigger.for_s))

    async def _heal_after(self, step: Any, fault: Fault, for_s: float) -> None:
        await self._wait_done(for_s)
        await self._heal(step, fault)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        assert self._tg is not None
        self._tg.create_task(coro)

    # ------------------------------------------------------------------ apply / heal
    async def _apply(self, step: Any, fault: Fault) -> None:
        if step.fault == "restart":
            await self._with_links_held(step.target, fault)
        else:
            await asyncio.to_thread(fault)

    async def _heal(self, step: Any, fault: Fault) -> None:
        if step.fault in _STARTS_SERVER_ON_HEAL:
            await self._with_links_held(step.target, fault.heal)
        else:
            await asyncio.to_thread(fault.heal)

    async def _with_links_held(self, target: str, action: Callable[[], object]) -> None:
        """Run ``action`` (a server start) with the service's links to ``target`` down."""
        holds = await asyncio.to_thread(self._hold_links, target)
        try:
            await asyncio.to_thread(action)
        finally:
            await self._release(holds)

    def _hold_links(self, target: str) -> list[Fault]:
        """Take down every link to ``target`` the service dials (blocking)."""
        links = self.built.links.values() if target == "server" else [self.built.links[target]]
        holds = [link.down() for link in links]
        for hold in holds:
            hold()
        return holds

    async def _release(self, holds: list[Fault]) -> None:
        try:
            await self.observer.ready()
        finally:
            for hold in holds:
                await asyncio.to_thread(hold.heal)
