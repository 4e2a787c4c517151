"""An unknown verdict is not a falsifying example; a service feeds only the checkers it can.

- A service without ``stats()`` runs the default property search (whose scenarios carry
  the ``metrics`` checker) on real servers without a false failure: the checker is left
  out for it, and every example decides.
- Unknown verdicts (a fake env answers them, no servers) are rejected with an event, the
  search stops running examples after ``min(max_examples, 10)`` of them when none
  decided, and the test fails saying the search could not decide, never "Falsifying
  example"; mixed with decided examples, the test passes.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from nats_fault_harness._hypothesis import property_phases
from nats_fault_harness.replay import ReusableEnv, check_scenario
from nats_fault_harness.replay._fit import fit_checkers
from nats_fault_harness.scenario import Scenario
from nats_fault_harness.scenario.reference_sut import ReferenceSut
from nats_fault_harness.strategies import scenarios, service_configs
from tests.property.nostats_sut import SPEC, make_nostats_sut

NODE = "tests/property/test_unknown_verdicts.py::test_a_service_without_stats_is_not_failed"
EXAMPLES = 10


def test_checkers_a_service_cannot_feed_are_left_out() -> None:
    from hypothesis import find

    scenario = find(scenarios(metrics=True), lambda s: True, settings=settings(database=None))
    assert "metrics" in {c.name for c in scenario.checkers}
    same, left_out = fit_checkers(scenario, ReferenceSut())
    assert same is scenario
    assert left_out == {}
    fitted, left_out = fit_checkers(scenario, make_nostats_sut())
    assert left_out == {"metrics": "stats()"}
    assert [c.name for c in fitted.checkers] == [
        c.name for c in scenario.checkers if c.name != "metrics"
    ]
    assert fitted.faults == scenario.faults
    assert fitted.workload == scenario.workload


def test_a_service_without_stats_is_not_failed(reusable_env: ReusableEnv) -> None:
    seen: list[Scenario] = []

    @given(scenario=scenarios(service=service_configs()))  # the documented default search
    @settings(max_examples=EXAMPLES, database=None, deadline=None, phases=property_phases())
    def prop(scenario: Scenario) -> None:
        assert "metrics" in {c.name for c in scenario.checkers}
        seen.append(scenario)
        check_scenario(reusable_env, scenario, test=NODE, sut=SPEC)

    prop()  # no falsifying example: a service without stats() is not failed for it
    tally = reusable_env.searches[NODE]
    assert len(seen) == tally.decided + tally.unknown
    assert tally.decided >= EXAMPLES // 2, tally
    assert tally.not_run == 0, tally
    # Examples may be unknown for the evidence rule (a drawn fault that never fired or
    # reached nothing), never because the service has no statistics.
    assert not [why for why in tally.reasons if "metrics" in why or "stats" in why], tally


FAKE_PROJECT = """
import os
import pytest
import pytest
from hypothesis import given, settings
from nats_fault_harness._hypothesis import property_phases
from nats_fault_harness.checkers import CheckResult, compose
from nats_fault_harness.history import History
from nats_fault_harness.replay import ReusableEnv, check_scenario
from nats_fault_harness.scenario import ScenarioResult
from nats_fault_harness.strategies import scenarios


class FakeEnv(ReusableEnv):
    \"\"\"Answers a verdict per run without running anything: unknown for every Nth run.\"\"\"

    def __init__(self, every):
        super().__init__()
        self.every = every
        self.calls = 0

    def run(self, scenario, factory):
        self.calls += 1
        unknown = self.calls % self.every == 0
        result = CheckResult(
            "accounting",
            "unknown" if unknown else True,
            {},
            "decided on zero relevant records" if unknown else "ok",
        )
        return ScenarioResult(History(), [result], compose([result], name=scenario.name))


@pytest.fixture(scope="session")
def env():
    fake = FakeEnv(int(os.environ["UNKNOWN_EVERY"]))
    yield fake
    with open(os.environ["CALLS_FILE"], "w") as f:
        f.write(str(fake.calls))


@given(scenario=scenarios(metrics=False))
@settings(max_examples=25, database=None, deadline=None, phases=property_phases())
def test_search(env, scenario):
    check_scenario(env, scenario, test="test_search")
"""


def _fake_search(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, every: int
) -> tuple[pytest.RunResult, int]:
    calls = pytester.path / "calls.txt"
    monkeypatch.setenv("UNKNOWN_EVERY", str(every))
    monkeypatch.setenv("CALLS_FILE", str(calls))
    pytester.makepyfile(test_fake=FAKE_PROJECT)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--hypothesis-show-statistics")
    return result, int(calls.read_text())


def test_every_example_unknown_fails_as_undecided_not_falsified(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    result, calls = _fake_search(pytester, monkeypatch, every=1)
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "property search test_search could not decide" in out
    assert "This is not a falsifying example" in out
    assert "10x accounting: decided on zero relevant records" in out
    assert "Falsifying example" not in out
    assert "PropertyFailure" not in out
    assert calls == 10  # min(max_examples=25, 10) real runs, the rest not run
    assert not (pytester.path / "reports").exists()


def test_some_unknown_examples_are_replaced_and_the_search_passes(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    result, calls = _fake_search(pytester, monkeypatch, every=3)
    result.assert_outcomes(passed=1)
    assert "verdict unknown: accounting" in result.stdout.str()  # the event, in the statistics
    # Every third run is unknown: the first 10 are replaced, the 11th counts as an example
    # (neither failing nor replaced). 35 runs: 24 decided + 11 unknown = 25 examples.
    assert calls == 35, calls
