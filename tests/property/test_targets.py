"""check_scenario steers the search: each run's stress goes to hypothesis.target() (no servers).

A fake env stands in for :class:`~nats_fault_harness.replay.ReusableEnv`: it returns a
recorded history (an outage, retries, a slow request, queued messages, event-loop lag)
with a valid verdict, so what is checked is the wiring: the labels hypothesis observed
in each example and their values.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.control import current_build_context

from nats_fault_harness.checkers import CheckResult
from nats_fault_harness.history import History
from nats_fault_harness.replay import TARGET_LABELS, check_scenario, stress
from nats_fault_harness.scenario import Scenario, ScenarioResult, parse_scenario

SCENARIO = parse_scenario(
    """
name: fake
claims: [fix.typed-errors.request]
workload: {requests: {count: 2}}
checkers: [{name: exceptions, params: {f: request, expected_types: [NATSRequestError]}}]
"""
)


def _clock(times: Iterator[float]) -> Any:
    return lambda: next(times)


def recorded(outage: float) -> History:
    """A history: one connection down ``outage`` s, 2 retries, a 0.5 s request, 3 queued."""
    ticks = itertools.count()
    h = History(clock=lambda: float(next(ticks)) / 10)
    h.client_event("sut", "disconnected", {"member": "sut-pool-0"})  # t = 0.1
    for _ in range(int(outage * 10) - 1):
        h.now()  # let the clock run
    h.client_event("sut", "reconnected", {"member": "sut-pool-0"})
    h.client_event("sut", "retry_scheduled", {"attempt": 1})
    h.client_event("sut", "retry_scheduled", {"attempt": 2})
    op = h.invoke("sut", "request", {"n": 0})
    for _ in range(4):
        h.now()
    op.info(value={"abandoned": True})
    h.invoke("sut", "publish", {"id": "a", "batched": True}).fail(value={"queued": True})
    h.invoke("sut", "queued", {}).ok({"ids": ["a", "b", "c"]})
    h.client_event("sut", "loop_lag", {"max_ms": 12.5, "count": 3})
    return h


def test_stress_reads_each_quantity_from_the_history() -> None:
    values = stress(recorded(outage=0.8))
    assert list(values) == list(TARGET_LABELS)
    assert values["nfh.recovered_outage_s"] == pytest.approx(0.8)
    assert values["nfh.retries"] == 2
    assert values["nfh.unsuccessful_ops"] == 2  # the abandoned request, the queued publish
    assert values["nfh.slowest_call_s"] == pytest.approx(0.5)
    assert values["nfh.queued"] == 3
    assert values["nfh.loop_lag_ms"] == 12.5
    assert set(stress(History()).values()) == {0.0}  # nothing to measure: all 0


def test_an_outage_that_never_ended_counts_nothing() -> None:
    """Down to the end of the run is a clean failure, not a recovery to steer toward."""
    ticks = itertools.count()
    h = History(clock=lambda: float(next(ticks)))
    h.client_event("sut", "disconnected", {"member": "a"})  # t = 0
    h.client_event("sut", "reconnected", {"member": "a"})  # t = 1: recovered after 1 s
    h.client_event("sut", "disconnected", {"member": "b"})  # t = 2, never back
    for _ in range(10):
        h.now()
    h.invoke("sut", "publish", {"id": "x"}).fail(value={"error": "gone"})  # t = 13
    assert stress(h)["nfh.recovered_outage_s"] == pytest.approx(1.0)


class FakeEnv:
    """Returns a recorded history with a valid verdict, whatever the scenario."""

    def __init__(self) -> None:
        self.searches: dict[str, Any] = {}
        self.outage = 0.3

    def run(self, scenario: Scenario, factory: Any) -> ScenarioResult:
        verdict = CheckResult("exceptions", True, message="ok")
        return ScenarioResult(recorded(self.outage), [verdict], verdict)


def test_every_example_targets_the_documented_labels() -> None:
    env = FakeEnv()
    observed: list[dict[str, float]] = []

    @given(outage=st.sampled_from([0.3, 0.5, 0.9]))
    @settings(max_examples=5, database=None, deadline=None)
    def prop(outage: float) -> None:
        env.outage = outage
        check_scenario(env, SCENARIO, test="fake")  # type: ignore[arg-type]
        observed.append(dict(current_build_context().data.target_observations))

    prop()
    assert observed
    for targets in observed:
        assert list(targets) == list(TARGET_LABELS)
    assert {round(t["nfh.recovered_outage_s"], 3) for t in observed} <= {0.3, 0.5, 0.9}


def test_outside_hypothesis_nothing_is_targeted() -> None:
    result = check_scenario(FakeEnv(), SCENARIO, test="fake")  # type: ignore[arg-type]
    assert result is not None
    assert result.valid is True
