"""Run one scenario against a service under test and decide with its checkers.

The run, Jepsen style: build the topology (proxies in front of real servers), connect the
observer straight to a server (the ground truth of what was delivered: for a cluster, the
last node, while the service dials node 0 first), apply faults timed ``at_s: 0`` (so they
are in place while the service connects), start the service through the proxies, run the
workload while timed and event-triggered faults come and go and the event loop's lag is
sampled, heal everything, let the service recover its failed-batch queue, drain the
observer, read the JetStream streams back (created before the service started; see
:mod:`~nats_fault_harness.scenario._streams`), stop the service, copy the proxy's events,
and run the checkers on the history.
A service with the optional views has its health read at a fixed cadence from its start
until it stops, and its log records captured from before its start until after it stops
(:class:`~nats_fault_harness.scenario._observer.HealthPoller`, :class:`~.LogCapture`).

The parts: :mod:`~nats_fault_harness.scenario._schedule` (faults),
:mod:`~nats_fault_harness.scenario._workload`
(what the service does), :mod:`~nats_fault_harness.scenario._observer` (ground truth),
:mod:`~nats_fault_harness.scenario._lag` (loop lag).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from nats_fault_harness.checkers import (
    RUN_EVENT,
    RUNNER,
    CheckResult,
    Validity,
    check_evidence,
    compose,
    make_checker,
    run_checkers,
)
from nats_fault_harness.errors import ConfigError, WaitTimeout
from nats_fault_harness.history import History
from nats_fault_harness.scenario._driver import Driver
from nats_fault_harness.scenario._lag import LoopLag
from nats_fault_harness.scenario._model import INPUT_CAPABILITY, Scenario
from nats_fault_harness.scenario._observer import HealthPoller, LogCapture, Observer
from nats_fault_harness.scenario._schedule import SERVICE_EVENTS, Schedule
from nats_fault_harness.scenario._streams import StreamKeeper
from nats_fault_harness.scenario._topology import ScenarioEnv, build
from nats_fault_harness.scenario._workload import Workload
from nats_fault_harness.services import CAPABILITIES, CapabilityMissing, capabilities_of
from nats_fault_harness.services._protocol import (
    HealthSut,
    LoggingSut,
    PoolInit,
    ServiceUnderTest,
    SutEnv,
    SutFactory,
)

__all__ = ["ScenarioResult", "run_scenario"]

STOP_S = 10.0
STOP_CANCEL_S = 2.0
"""How long a ``stop()`` cancelled at :data:`STOP_S` gets before it is abandoned."""


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
    scenario: Scenario,
    *,
    sut_factory: SutFactory,
    env: ScenarioEnv,
    progress: Callable[[str], None] | None = None,
) -> ScenarioResult:
    """Run ``scenario`` against a fresh service from ``sut_factory`` in ``env``.

    ``progress``, if given, is called with each phase's name as the run enters it (see
    :data:`nats_fault_harness.scenario._progress.PHASES`).

    Raises:
        ConfigError: the scenario asks for something the runner or the service rejects.
        WaitTimeout: the run exceeded ``scenario.timeout_s`` (faults are healed first).
    """
    names = [c.name for c in scenario.checkers]
    checkers = {
        (f"{spec.name}#{i}" if names.count(spec.name) > 1 else spec.name): make_checker(
            spec.name, spec.params
        )
        for i, spec in enumerate(scenario.checkers)
    }
    sut = sut_factory()
    scenario, left_out = _fit(scenario, sut)
    checkers = {k: v for k, v in checkers.items() if k.split("#")[0] not in left_out}
    run = _Run(scenario, sut, env, sut_factory)
    run.progress = progress or _silent
    try:
        async with asyncio.timeout(scenario.timeout_s):
            await run.execute()
    except TimeoutError as exc:
        raise WaitTimeout(
            f"scenario {scenario.name!r} to finish (timeout_s)", scenario.timeout_s
        ) from exc
    finally:
        await run.cleanup()
    run.progress("checkers")
    results = run_checkers(env.log.history, {"evidence": check_evidence, **checkers})
    verdict = compose(results, name=scenario.name)
    if left_out:
        note = "; ".join(
            f"{c} not checked: the service has no {CAPABILITIES[v][0]}()"
            for c, v in left_out.items()
        )
        verdict = replace(verdict, message=f"{verdict.message} ({note})")
    return ScenarioResult(env.log.history, results, verdict)


def _silent(phase: str) -> None:
    """No progress reporting."""


def _fit(scenario: Scenario, sut: object) -> tuple[Scenario, dict[str, str]]:
    """Check the service can run ``scenario``; leave out checkers it cannot feed.

    Raises:
        CapabilityMissing: the workload needs a capability the service lacks, or every
            checker reads a view the service lacks (the scenario is then skipped).
    """
    name = str(getattr(sut, "name", type(sut).__name__))
    caps = capabilities_of(sut)
    needs = scenario.needs()
    missing = sorted(set(needs) - caps)
    if missing:
        by = ", ".join(f"{needs[m]} needs {m}" for m in missing)
        raise CapabilityMissing(name, missing, by)
    views = scenario.checker_views()
    left_out = {c: cap for c, cap in views.items() if cap not in caps}
    if left_out and all(spec.name in left_out for spec in scenario.checkers):
        by = ", ".join(f"the {c} checker reads {cap}" for c, cap in left_out.items())
        raise CapabilityMissing(name, sorted(set(left_out.values())), by)
    return scenario, left_out


class _Run:
    def __init__(
        self,
        scenario: Scenario,
        sut: ServiceUnderTest,
        env: ScenarioEnv,
        factory: SutFactory | None = None,
    ) -> None:
        self.scenario, self.sut, self.env = scenario, sut, env
        self.factory = factory
        self.instances: list[tuple[str, ServiceUnderTest]] = []
        self.progress: Callable[[str], None] = _silent
        self.history = env.log.history
        self.observer = Observer(self.history)
        self.lag = LoopLag(at=self.history.at)
        self.schedule: Schedule | None = None
        self.workload: Workload | None = None
        self.driver: Driver | None = None
        self.streams = StreamKeeper(
            self.history, scenario.topology.streams, scenario.topology.consumers
        )
        self.started = False
        self.captures = contextlib.ExitStack()
        self.health_stop = asyncio.Event()
        self.health_task: asyncio.Task[None] | None = None

    async def execute(self) -> None:
        self.progress("topology")
        built = await asyncio.to_thread(build, self.scenario, self.env)
        schedule = self.schedule = Schedule(
            self.scenario.faults, built, self.env.log, self.observer, self.lag
        )
        self.history.client_event(
            RUNNER,
            RUN_EVENT,
            {
                "scenario": self.scenario.name,
                "service": self.sut.name,
                "service_type": f"{type(self.sut).__module__}.{type(self.sut).__qualname__}",
                "expect_start": self.scenario.expect.start,
                "steps": schedule.plan(),
                "links": {target: link.proxy for target, link in built.links.items()},
            },
        )
        prefix = uuid.uuid4().hex[:8]
        work = self.workload = Workload(
            self.scenario, self.sut, self.history, self.observer, schedule, prefix
        )
        r = self.scenario.workload.requests
        await self.observer.start(
            built.direct_url,
            work.observed_subjects,
            r.subject if r.count and r.responder else None,
        )
        await self.streams.start(built.direct_url)
        self.progress("faults")
        await schedule.apply_early()
        inputs = self.scenario.workload.inputs
        sut_env = SutEnv(
            built.servers,
            built.member_urls,
            dict(self.scenario.service),
            self.history.at,
            INPUT_CAPABILITY[inputs.mode] if inputs.count else None,
        )
        self._capture_logs()
        self.progress("start")
        op = self.history.invoke(self.sut.name, "start", {})
        self.started = True  # a failed start may leave connections to stop
        try:
            init = await self.sut.start(sut_env, self._sink)
        except Exception as exc:  # a verdict (the evidence checker's), not a crash
            op.fail(exc)
            await asyncio.to_thread(self.env.log.heal_all)
            return
        if not isinstance(init, PoolInit):  # outside adapters are not type-checked
            op.fail(TypeError(f"start() returned {init!r}, not a PoolInit"))  # type: ignore[unreachable]
            raise ConfigError(
                f"{type(self.sut).__name__}.start() must return a "
                "nats_fault_harness.scenario.PoolInit "
                f"(how its connections came up), got {type(init).__name__}",
                where="service.start",
            )
        op.ok({"started": True})
        self.history.client_event(self.sut.name, "pool_initialized", init.detail())
        self._poll_health()
        work.snapshot("started")
        await self._start_instances(built.servers, sut_env)
        driver = None
        if self.scenario.workload.inputs.count:
            driver = self.driver = Driver(
                self.scenario.workload.inputs, self.sut, self.history, schedule, prefix
            )
            await driver.start(built.direct_url)
            endpoint = driver.endpoint
            if endpoint is not None and endpoint.stream and endpoint.consumer:
                self.streams.watch(endpoint.stream, endpoint.consumer)
        self.progress("workload")
        sampling = asyncio.create_task(self.lag.run(schedule.done))
        try:
            async with asyncio.TaskGroup() as tg:
                timed = schedule.start(tg, asyncio.get_running_loop().time())
                await asyncio.gather(work.run(), *([driver.run()] if driver else []))
                schedule.done.set()
                await asyncio.gather(*timed)
        finally:
            schedule.done.set()
            await sampling
        detail = self.lag.detail()
        if detail["count"]:
            self.history.client_event(self.sut.name, "loop_lag", detail)
        self.progress("heal")
        errors = await asyncio.to_thread(self.env.log.heal_all)  # the final heal
        if errors:
            raise errors[0]
        self.progress("drain")
        await self.observer.ready()
        await work.settle()
        if driver is not None:
            await driver.settle()
        await self._drain()
        await self.streams.read()
        work.snapshot("end")

    async def _start_instances(self, servers: tuple[str, ...], env: SutEnv) -> None:
        """Start the scenario's further instances (a queue group spread over the nodes).

        Instance ``i`` gets the server list rotated by ``i``, so on a cluster it dials
        node ``i`` first; its events are recorded under ``<name>#<i>``. An instance that
        fails to start ends the run with its error (never a verdict on fewer consumers).
        """
        for i in range(1, self.scenario.instances):
            assert self.factory is not None
            sut = self.factory()
            name = f"{self.sut.name}#{i}"
            k = i % len(servers)
            op = self.history.invoke(name, "start", {"instance": i})
            self.instances.append((name, sut))

            def sink(kind: str, detail: Mapping[str, Any], name: str = name) -> None:
                self.history.client_event(name, kind, dict(detail))

            try:
                await sut.start(replace(env, servers=servers[k:] + servers[:k]), sink)
            except Exception as exc:
                op.fail(exc)
                raise
            op.ok({"started": True})

    async def cleanup(self) -> None:
        self.progress("stop")
        if self.schedule is not None:
            self.schedule.done.set()
        await asyncio.shield(asyncio.to_thread(self.env.log.heal_all))
        self.health_stop.set()
        if self.health_task is not None:
            await self.health_task
        if self.started:
            await self._stop_service(self.sut.name, self.sut)
        for name, sut in self.instances:
            await self._stop_service(name, sut)
        self.captures.close()
        if self.driver is not None:
            await self.driver.close()
        await self.streams.close()
        await self.observer.close()
        await asyncio.to_thread(self.env.links.pull_events)

    async def _stop_service(self, name: str, sut: ServiceUnderTest) -> None:
        """``sut.stop()``, bounded by :data:`STOP_S` even if it swallows its cancellation.

        ``asyncio.timeout`` only cancels the awaited coroutine and then waits for it: a
        ``stop()`` that catches ``CancelledError`` and carries on would hang the run. Here
        it runs as a task of its own; after the bound it is cancelled, given
        :data:`STOP_CANCEL_S` more, and then abandoned (recorded as such; the loop's end
        does not wait for it either, see :mod:`nats_fault_harness.scenario._loop`).
        """
        task = asyncio.create_task(sut.stop(), name=f"{name}-stop")
        done, _ = await asyncio.wait({task}, timeout=STOP_S)
        if done:
            task.result()  # what stop() raised is the run's error, as before
            return
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=STOP_CANCEL_S)
        detail = {"timeout": STOP_S, "abandoned": not done}
        self.history.client_event(name, "stop_timeout", detail)

    def _capture_logs(self) -> None:
        """Record what the service logs (``LoggingSut``) until it has stopped."""
        if "logs" in capabilities_of(self.sut):
            assert isinstance(self.sut, LoggingSut)
            names = list(self.sut.loggers())
            self.captures.enter_context(LogCapture(self.history, lambda: self.sut.name, names))

    def _poll_health(self) -> None:
        """Read the service's ``health()`` (``HealthSut``) until just before it stops."""
        if "health" in capabilities_of(self.sut):
            assert isinstance(self.sut, HealthSut)
            poller = HealthPoller(self.history, self.sut.name, self.sut)
            poller.announce()
            self.health_task = asyncio.create_task(poller.run(self.health_stop))

    def _sink(self, kind: str, detail: Mapping[str, Any]) -> None:
        self.history.client_event(self.sut.name, kind, dict(detail))
        if kind in SERVICE_EVENTS and self.schedule is not None:
            self.schedule.on_event(SERVICE_EVENTS[kind])

    async def _drain(self) -> None:
        """Wait until the observer saw every id that must arrive (ok or recovered)."""
        jetstream = {  # their ground truth is the stream (read next), not the observer
            str(op.value["id"])
            for op in self.history.ops()
            if op.f == "publish" and isinstance(op.value, dict) and op.value.get("jetstream")
        }
        must = {
            str(op.value["id"])
            for op in self.history.ops()
            if op.f == "publish" and op.type == "ok" and isinstance(op.value, dict)
        } - jetstream
        for op in self.history.ops():
            if op.f == "recover" and op.type == "ok" and isinstance(op.value, dict):
                must.update(str(i) for i in op.value.get("ids") or ())
        missing = await self.observer.drain(must, self.env.drain_s)
        if missing:  # the accounting checker reports them as lost
            self.history.client_event("runner", "drain_timeout", {"missing": sorted(missing)})
