"""A good scenario loads into the expected models, with defaults, and dumps back equal."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from nats_fault_harness.errors import ConfigError
from nats_fault_harness.scenario import (
    Claims,
    EventTrigger,
    Scenario,
    ScenarioError,
    TimedTrigger,
    dump_scenario,
    load_claims,
    load_scenario,
    parse_scenario,
)

SAMPLES = Path(__file__).parent / "samples"
MINIMAL = "name: minimal\nclaims: [batch.no-loss]\ncheckers: [{name: accounting}]\n"


def test_good_sample_loads_every_section() -> None:
    s = load_scenario(SAMPLES / "good.yaml")
    assert s.name == "batch-retry-under-blackhole"
    assert s.claims == ("batch.retry-backoff", "batch.no-loss")
    assert (s.topology.kind, s.topology.size, s.topology.jetstream) == ("pool", 3, True)
    assert s.topology.server.ping_interval_s == 1.0
    assert s.service == {"batch_size": 50, "flush_interval": 0.1}
    assert s.workload.publishes.count == 500
    assert s.workload.publishes.batched is True
    assert s.workload.publishes.subjects == ("orders.created",)
    assert s.workload.requests.count == 10
    assert s.workload.subscriptions[0].queue == "workers"
    latency, blackhole, broken = s.faults
    assert (latency.fault, latency.target) == ("latency", "member:1")
    assert latency.trigger == TimedTrigger(at_s=1.0, for_s=2.0)
    assert blackhole.trigger == EventTrigger(after="batch_flush", nth=2, for_s=2.5)
    assert broken.fault == "break_members"
    assert broken.is_instant()
    assert [c.name for c in s.checkers] == ["accounting", "backoff"]
    assert s.checkers[0].params == {"allow_duplicates": False}
    assert (s.timeout_s, s.markers, s.seed) == (30.0, ("slow",), 7)


def test_defaults_of_a_minimal_file() -> None:
    s = parse_scenario(MINIMAL)
    assert (s.topology.kind, s.topology.size, s.topology.jetstream) == ("server", 1, False)
    assert s.workload.publishes.count == 0
    assert s.workload.publishes.subjects == ("harness.test",)
    assert s.workload.requests.timeout_s == 1.0
    assert s.faults == ()
    assert (s.timeout_s, s.markers, s.seed, s.description) == (60.0, (), None, "")


def test_fault_defaults_follow_the_fault_api() -> None:
    s = parse_scenario(MINIMAL + "faults: [{fault: latency, ms: 5}, {fault: kill}]")
    latency, kill = s.faults
    assert latency.fault == "latency"
    assert (latency.target, latency.jitter, latency.stream) == ("link", 0, "downstream")
    assert latency.trigger == TimedTrigger(at_s=0.0, for_s=None)
    assert kill.target == "server"


def test_models_are_frozen() -> None:
    s = parse_scenario(MINIMAL)
    with pytest.raises(ValidationError, match="frozen"):
        s.name = "other"


def test_round_trip_of_the_good_sample() -> None:
    s = load_scenario(SAMPLES / "good.yaml")
    text = dump_scenario(s)
    assert parse_scenario(text) == s
    assert text.index("fault: latency") < text.index("ms: 200")  # the kind leads each step


def test_dump_leaves_defaults_out() -> None:
    text = dump_scenario(parse_scenario(MINIMAL))
    assert text == "name: minimal\nclaims:\n- batch.no-loss\ncheckers:\n- name: accounting\n"


def test_claims_catalogue_loads_in_order() -> None:
    claims = load_claims(SAMPLES / "claims.yaml")
    assert claims.ids() == ("batch.retry-backoff", "batch.no-loss", "pool.degrade")
    assert "pool.degrade" in claims
    assert "nope" not in claims
    assert claims.text("batch.no-loss").startswith("No batched message")


def test_scenario_with_known_claims_passes_the_catalogue_check() -> None:
    claims = load_claims(SAMPLES / "claims.yaml")
    assert isinstance(load_scenario(SAMPLES / "good.yaml", claims=claims), Scenario)


def test_scenario_error_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as info:
        parse_scenario("name: [", "x.yaml")
    assert isinstance(info.value, ScenarioError)
    assert info.value.where.startswith("x.yaml:")


def test_empty_catalogue_is_allowed_but_has_no_ids() -> None:
    assert Claims(claims=()).ids() == ()


def test_the_plugin_declares_a_marker_per_checker(pytestconfig: pytest.Config) -> None:
    from nats_fault_harness.scenario import CHECKERS

    declared = {line.split(":", 1)[0].strip() for line in pytestconfig.getini("markers")}
    assert set(CHECKERS) <= declared
