"""Run one scenario against a service under test and decide with its checkers.

The run, Jepsen style: build the topology (proxies in front of real servers), connect an
observer straight to the server (the ground truth of what was delivered), apply faults
timed ``at_s: 0`` (so they are in place while the service connects), start the service
through the proxies, run the workload while timed and event-triggered faults come and
go, heal everything, let the service recover its failed-batch queue, drain the observer,
stop the service, copy the proxy's events, and run the checkers on the history.

Timed triggers count from the workload's start. Event triggers count what the runner
sees (``publish``, ``request``: operations completed, whatever their outcome) and
what the service reports (``batch_flush``: ``batch_flush_started``; ``reconnect``:
``reconnected``). A proxy fault triggered by an event is applied synchronously inside
the service's callback (a local API call of a few ms), so "when the 1st batch starts
flushing" holds before the service sends a byte of it; server faults run in a thread.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg

from harness.checkers import CheckResult, Validity, compose, make_checker, run_checkers
from harness.errors import ConfigError, WaitTimeout
from harness.faults import Fault
from harness.history import History, OpHandle
from harness.scenario._model import Scenario
from harness.scenario._step import EventTrigger
from harness.scenario._sut import ServiceUnderTest, SutEnv, SutFactory
from harness.scenario._topology import Built, ScenarioEnv, build, make_fault

__all__ = ["ScenarioResult", "run_scenario"]

_EVENT_KINDS = {"batch_flush_started": "batch_flush", "reconnected": "reconnect"}
DRAIN_S = 5.0
STOP_S = 10.0
RECOVER_TRIES = 5
RECOVER_PAUSE_S = 0.3


@dataclass(frozen=True)
class ScenarioResult:
    """The history of a run, each checker's result, and the composed verdict."""

    history: History
    results: list[CheckResult]
    verdict: CheckResult

    @property
    def valid(self) -> Validity:
        """``True``, ``False`` or ``"unknown"`` (the worst of the results)."""
        return self.verdict.valid


async def run_scenario(
    scenario: Scenario, *, sut_factory: SutFactory, env: ScenarioEnv
) -> ScenarioResult:
    """Run ``scenario`` against a fresh service from ``sut_factory`` in ``env``.

    Raises:
        ConfigError: the scenario asks for something the runner or the service rejects.
        WaitTimeout: the run exceeded ``scenario.timeout_s`` (faults are healed first).
    """
    if scenario.workload.invalid_messages:
        raise ConfigError(
            "workload.invalid_messages is not supported by the runner yet",
            where="workload.invalid_messages",
        )
    names = [c.name for c in scenario.checkers]
    checkers = {
        (f"{spec.name}#{i}" if names.count(spec.name) > 1 else spec.name): make_checker(
            spec.name, spec.params
        )
        for i, spec in enumerate(scenario.checkers)
    }
    run = _Run(scenario, sut_factory(), env)
    try:
        async with asyncio.timeout(scenario.timeout_s):
            await run.execute()
    except TimeoutError as exc:
        raise WaitTimeout(
            f"scenario {scenario.name!r} to finish (timeout_s)", scenario.timeout_s
        ) from exc
    finally:
        await run.cleanup()
    results = run_checkers(env.log.history, checkers)
    return ScenarioResult(env.log.history, results, compose(results, name=scenario.name))


class _Run:
    def __init__(self, scenario: Scenario, sut: ServiceUnderTest, env: ScenarioEnv) -> None:
        self.scenario, self.sut, self.env = scenario, sut, env
        self.history = env.log.history
        self.prefix = uuid.uuid4().hex[:8]
        self.built: Built | None = None
        self.observer: Client | None = None
        self.started = False
        self.counts: dict[str, int] = dict.fromkeys(
            ("publish", "batch_flush", "reconnect", "request"), 0
        )
        self.event_steps = [
            (s, s.trigger) for s in scenario.faults if isinstance(s.trigger, EventTrigger)
        ]
        self.tg: asyncio.TaskGroup | None = None
        self.done = asyncio.Event()
        self.pending: dict[str, OpHandle] = {}
        self.settled: dict[str, str] = {}
        self.received: set[str] = set()
        self.queued: list[str] = []
        self.early: dict[int, Fault] = {}
        self.must: set[str] | None = None
        self.all_in = asyncio.Event()

    # ------------------------------------------------------------------ phases
    async def execute(self) -> None:
        self.built = built = await asyncio.to_thread(build, self.scenario, self.env)
        await self._start_observer(built.direct_url)
        for i, step in enumerate(self.scenario.faults):
            if _timed_at(step) == 0.0:
                self.early[i] = await asyncio.to_thread(make_fault(step, built))
        sut_env = SutEnv(
            built.servers, built.member_urls, dict(self.scenario.service), self.history.at
        )
        init = await self.sut.start(sut_env, self._sink)
        self.started = True
        self.history.client_event(self.sut.name, "pool_initialized", init.detail())
        async with asyncio.TaskGroup() as tg:
            self.tg = tg
            t0 = time.monotonic()
            timed = [
                tg.create_task(self._timed(i, s, t0))
                for i, s in enumerate(self.scenario.faults)
                if not isinstance(s.trigger, EventTrigger)
            ]
            await self._workload()
            self.done.set()
            await asyncio.gather(*timed)
        errors = await asyncio.to_thread(self.env.log.heal_all)  # the final heal
        if errors:
            raise errors[0]
        if self.queued:
            await self._recover()
        await self._drain()

    async def cleanup(self) -> None:
        self.done.set()
        await asyncio.shield(asyncio.to_thread(self.env.log.heal_all))
        if self.started:
            try:
                async with asyncio.timeout(STOP_S):
                    await self.sut.stop()
            except TimeoutError:
                self.history.client_event(self.sut.name, "stop_timeout", {"timeout": STOP_S})
        if self.observer is not None:
            await self.observer.close()
        await asyncio.to_thread(self.env.links.pull_events)

    # ------------------------------------------------------------------ faults
    async def _timed(self, index: int, step: Any, t0: float) -> None:
        trigger = step.trigger
        fault = self.early.get(index)
        if fault is None:
            if await self._wait_done(t0 + trigger.at_s - time.monotonic()):
                return
            assert self.built is not None
            fault = await asyncio.to_thread(make_fault(step, self.built))
        if trigger.for_s is not None and fault.active:
            await self._wait_done(t0 + trigger.at_s + trigger.for_s - time.monotonic())
            await asyncio.to_thread(fault.heal)

    async def _wait_done(self, seconds: float) -> bool:
        """Sleep ``seconds`` unless the workload ends first; True if it ended."""
        try:
            async with asyncio.timeout(max(seconds, 0.0)):
                await self.done.wait()
        except TimeoutError:
            return False
        return True

    def _count(self, what: str) -> None:
        self.counts[what] += 1
        for step, trigger in self.event_steps:
            if (
                trigger.after == what
                and trigger.nth == self.counts[what]
                and not self.done.is_set()
            ):
                self._fire(step, trigger)

    def _fire(self, step: Any, trigger: EventTrigger) -> None:
        assert self.built is not None
        assert self.tg is not None
        fault = make_fault(step, self.built)
        if step.fault in ("kill", "stop", "pause", "lame_duck", "restart"):
            self.tg.create_task(self._apply_later(fault, trigger.for_s))
            return
        fault()  # synchronously: see the module docstring
        if trigger.for_s is not None and fault.active:
            self.tg.create_task(self._heal_after(fault, trigger.for_s))

    async def _apply_later(self, fault: Fault, for_s: float | None) -> None:
        await asyncio.to_thread(fault)
        if for_s is not None and fault.active:
            await self._heal_after(fault, for_s)

    async def _heal_after(self, fault: Fault, for_s: float) -> None:
        await self._wait_done(for_s)
        await asyncio.to_thread(fault.heal)

    def _sink(self, kind: str, detail: Mapping[str, Any]) -> None:
        self.history.client_event(self.sut.name, kind, dict(detail))
        if kind in _EVENT_KINDS and self.tg is not None:
            self._count(_EVENT_KINDS[kind])

    # ------------------------------------------------------------------ workload
    async def _workload(self) -> None:
        w = self.scenario.workload
        handles = []
        for sub in w.subscriptions:
            handles.append(await self.sut.subscribe(sub.subject, sub.queue))
        async with asyncio.TaskGroup() as tg:
            if w.publishes.count:
                tg.create_task(self._publishes())
            if w.requests.count:
                tg.create_task(self._requests())
        for handle in handles:
            op = self.history.invoke(self.sut.name, "unsubscribe", {})
            try:
                await self.sut.unsubscribe(handle)
            except Exception as exc:
                op.fail(exc)
            else:
                op.ok({"unsubscribed": True})

    async def _publishes(self) -> None:
        p = self.scenario.workload.publishes
        subjects = itertools.cycle(p.subjects)
        for i in range(p.count):
            mid = f"{self.prefix}-{i}"
            subject = next(subjects)
            data = (mid.encode() + b" ").ljust(p.payload_bytes, b".")
            op = self.history.invoke(self.sut.name, "publish", {"id": mid, "subject": subject})
            try:
                if p.batched:
                    await self.sut.publish_batched(subject, data, mid)
                else:
                    await self.sut.publish(subject, data, mid)
            except Exception as exc:
                _failed(op, exc, {"id": mid})
            else:
                if p.batched:
                    self.pending[mid] = op
                else:
                    op.ok({"id": mid})
            self._count("publish")
            await asyncio.sleep(1 / p.rate_per_s if p.rate_per_s else 0)
        if p.batched:
            await self._flush()

    async def _flush(self) -> None:
        outcome = await self.sut.flush()
        for mid in outcome.confirmed:
            if (op := self.pending.pop(mid, None)) is not None:
                op.ok({"id": mid})
        queued = [m for m in outcome.queued if m in self.pending]
        for mid in queued:
            value = {"id": mid, "queued": True}
            op = self.pending.pop(mid)
            op.info(value=value) if mid in outcome.ambiguous else op.fail(value=value)
        if outcome.queued:
            self.history.invoke(self.sut.name, "queued", {}).ok({"ids": list(outcome.queued)})
            self.queued.extend(outcome.queued)
        for mid, op in list(self.pending.items()):  # neither confirmed nor queued
            op.info(value={"id": mid, "unsettled": True})
            del self.pending[mid]

    async def _recover(self) -> None:
        """Recover the failed-batch queue; retried while a freshly healed link reconnects."""
        left = set(self.queued)
        for attempt in range(1, RECOVER_TRIES + 1):
            op = self.history.invoke(self.sut.name, "recover", {"attempt": attempt})
            try:
                ids = await self.sut.recover()
            except Exception as exc:
                op.info(exc)
            else:
                op.ok({"ids": list(ids)})
                left -= set(ids)
            if not left:
                return
            await asyncio.sleep(RECOVER_PAUSE_S)

    async def _requests(self) -> None:
        r = self.scenario.workload.requests
        for i in range(r.count):
            expect = bool(self.env.log.active())
            op = self.history.invoke(
                self.sut.name, "request", {"subject": r.subject, "n": i, "expect_error": expect}
            )
            try:
                reply = await self.sut.request(
                    r.subject, f"{self.prefix}-r{i}".encode(), r.timeout_s
                )
            except Exception as exc:
                op.info(exc)
            else:
                op.ok({"bytes": len(reply)})
            self._count("request")
            await asyncio.sleep(1 / r.rate_per_s if r.rate_per_s else 0)

    # ------------------------------------------------------------------ observer
    async def _start_observer(self, url: str) -> None:
        self.observer = obs = await nats.connect(
            url, name="harness-observer", connect_timeout=2, max_reconnect_attempts=5
        )
        w = self.scenario.workload

        async def receive(msg: Msg) -> None:
            mid = (msg.headers or {}).get("Nats-Msg-Id") or msg.data.split(b" ", 1)[0].decode()
            self.history.invoke("observer", "receive", {"subject": msg.subject}).ok({"id": mid})
            self.received.add(mid)
            if self.must is not None and self.must <= self.received:
                self.all_in.set()

        for subject in dict.fromkeys(w.publishes.subjects if w.publishes.count else ()):
            await obs.subscribe(subject, cb=receive)
        if w.requests.count and w.requests.responder:

            async def respond(msg: Msg) -> None:
                await msg.respond(b"pong:" + msg.data)

            await obs.subscribe(w.requests.subject, cb=respond)
        await obs.flush(timeout=5)

    async def _drain(self) -> None:
        """Wait until the observer saw every id that must arrive (ok or recovered)."""
        must = {
            str(op.value["id"])
            for op in self.history.ops()
            if op.f == "publish" and op.type == "ok" and isinstance(op.value, dict)
        }
        for op in self.history.ops():
            if op.f == "recover" and op.type == "ok" and isinstance(op.value, dict):
                must.update(str(i) for i in op.value.get("ids") or ())
        self.must = must
        if must <= self.received:
            self.all_in.set()
        try:
            async with asyncio.timeout(DRAIN_S):
                await self.all_in.wait()
        except TimeoutError:  # the accounting checker reports them as lost
            missing = sorted(must - self.received)
            self.history.client_event("runner", "drain_timeout", {"missing": missing})
        assert self.observer is not None
        await self.observer.flush(timeout=5)
        await asyncio.sleep(0.1)  # late duplicates


def _timed_at(step: Any) -> float | None:
    return None if isinstance(step.trigger, EventTrigger) else float(step.trigger.at_s)


def _failed(op: OpHandle, exc: Exception, value: dict[str, Any]) -> None:
    """``fail`` when the service says nothing was sent (``ambiguous is False``), else ``info``."""
    if getattr(exc, "ambiguous", None) is False:
        op.fail(exc, value)
    else:
        op.info(exc, value)
