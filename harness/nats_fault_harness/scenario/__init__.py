"""Scenarios as data: YAML files loaded into frozen, validated models.

A scenario names the claims it verifies, a topology, service configuration, a workload, a
timed or event-triggered fault schedule and the checkers that must hold.
:func:`run_scenario` runs one against a :class:`ServiceUnderTest` (``load_sut`` imports
one from ``"module:factory"``; the reference service's adapter is
``nats_fault_harness.scenario.reference_sut:make_reference_sut``). A file with any
problem raises one :class:`ScenarioError` naming the file, line, field and what was
expected; nothing runs from it. :func:`dump_scenario` writes a scenario back (replays).
"""

from nats_fault_harness.scenario._errors import Issue, ScenarioError
from nats_fault_harness.scenario._faults import FAULT_KINDS, FaultStep
from nats_fault_harness.scenario._load import (
    dump_scenario,
    load_claims,
    load_scenario,
    parse_claims,
    parse_scenario,
)
from nats_fault_harness.scenario._model import (
    CHECKERS,
    CheckerSpec,
    Claim,
    Claims,
    Publishes,
    Requests,
    Scenario,
    ServerOptions,
    Subscription,
    Topology,
    Workload,
)
from nats_fault_harness.scenario._runner import ScenarioResult, run_scenario
from nats_fault_harness.scenario._step import EventTrigger, TimedTrigger, Trigger
from nats_fault_harness.scenario._topology import ScenarioEnv
from nats_fault_harness.services._protocol import (
    HEALTH_TIMING_KEYS,
    EventSink,
    FlushOutcome,
    HealthSut,
    HealthTimingSut,
    LoggingSut,
    PoolInit,
    ServiceUnderTest,
    StatsSut,
    SutEnv,
    SutFactory,
    load_sut,
)

__all__ = [
    "CHECKERS",
    "FAULT_KINDS",
    "HEALTH_TIMING_KEYS",
    "CheckerSpec",
    "Claim",
    "Claims",
    "EventSink",
    "FlushOutcome",
    "HealthSut",
    "HealthTimingSut",
    "LoggingSut",
    "PoolInit",
    "ScenarioEnv",
    "ScenarioResult",
    "ServiceUnderTest",
    "StatsSut",
    "SutEnv",
    "SutFactory",
    "EventTrigger",
    "FaultStep",
    "Issue",
    "Publishes",
    "Requests",
    "Scenario",
    "ScenarioError",
    "ServerOptions",
    "Subscription",
    "TimedTrigger",
    "Topology",
    "Trigger",
    "Workload",
    "dump_scenario",
    "load_claims",
    "load_scenario",
    "load_sut",
    "parse_claims",
    "parse_scenario",
    "run_scenario",
]
