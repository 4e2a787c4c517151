"""Properties of the reference service under any drawn fault schedule.

For every scenario drawn (a short workload, service overrides, up to three faults, a proxy
seed): no message is silently lost (each is confirmed and received, kept in the failed
batch queue, or reported by an exception); every failure is the promised typed exception;
the service's statistics agree with the history. A falsifying example is written to
``reports/replays/`` and the failure prints the commands that replay it.
"""

from __future__ import annotations

from hypothesis import given

from nats_fault_harness._hypothesis import property_settings
from nats_fault_harness.replay import ReusableEnv, check_scenario
from nats_fault_harness.scenario import Scenario
from nats_fault_harness.scenario._collect import DEFAULT_SUT
from nats_fault_harness.strategies import scenarios, service_configs

NODE = "tests/property/test_properties.py::test_reference_service_keeps_its_promises"


@given(scenario=scenarios(service=service_configs()))
@property_settings()
def test_reference_service_keeps_its_promises(
    reusable_env: ReusableEnv, scenario: Scenario
) -> None:
    check_scenario(reusable_env, scenario, test=NODE, sut=DEFAULT_SUT)
