"""A service whose stop() swallows its cancellation cannot hang a scenario run.

The bounds are shortened here (monkeypatched) so the test takes seconds; the mechanism is the
one that bounds every run: stop() runs as its own task, is cancelled after STOP_S, abandoned
after STOP_CANCEL_S, and the loop's end (run_bounded) does not wait for it either.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from nats_fault_harness.faults import LinkFactory
from nats_fault_harness.scenario import _runner, parse_scenario
from nats_fault_harness.scenario._loop import run_bounded
from nats_fault_harness.scenario._topology import ScenarioEnv
from nats_fault_harness.scenario.reference_sut import make_reference_sut
from nats_fault_harness.servers import NatsServer

SCENARIO = """\
name: stubborn-stop
claims: [x.y]
workload:
  publishes: {count: 5, subjects: [stubborn.a]}
checkers: [{name: accounting}]
timeout_s: 30
"""


class _StubbornStop:
    """The reference service, but stop() closes it and then will not return."""

    def __init__(self) -> None:
        self._inner = make_reference_sut()

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)

    @property
    def name(self) -> str:
        return self._inner.name

    async def start(self, env: object, report: object) -> object:
        return await self._inner.start(env, report)  # type: ignore[arg-type]

    async def stop(self) -> None:
        await self._inner.stop()
        while True:  # the defect: every cancellation is swallowed
            try:
                await asyncio.sleep(0.05)
            except asyncio.CancelledError:
                pass


def test_a_stop_that_swallows_cancellation_is_abandoned_and_recorded(
    monkeypatch: pytest.MonkeyPatch,
    nats_server: NatsServer,
    nats_link_factory: LinkFactory,
    nats_server_factory: Callable[..., NatsServer],
) -> None:
    monkeypatch.setattr(_runner, "STOP_S", 0.5)
    monkeypatch.setattr(_runner, "STOP_CANCEL_S", 0.3)
    env = ScenarioEnv(nats_link_factory, server=nats_server, make_server=nats_server_factory)
    scenario = parse_scenario(SCENARIO)
    started = time.monotonic()
    result = run_bounded(
        _runner.run_scenario(scenario, sut_factory=_StubbornStop, env=env), grace_s=0.5
    )
    assert time.monotonic() - started < 20
    [event] = [e for e in result.history.client_events() if e.kind == "stop_timeout"]
    assert event.detail == {"timeout": 0.5, "abandoned": True}
    assert result.valid is True, result.verdict.message  # the work itself was fine
