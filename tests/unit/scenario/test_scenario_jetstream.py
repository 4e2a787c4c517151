"""JetStream in a scenario file: streams, jetstream publishes, verb families; the rules
across fields point at the field that breaks them."""

from __future__ import annotations

import pytest

from nats_fault_harness.scenario import ScenarioError, parse_scenario

HEAD = "name: x\nclaims: [a.b]\ncheckers: [{name: stream}]\n"  # 3 lines
JS = "topology:\n  jetstream: true\n  streams: [{name: S, subjects: [js.>]}]\n"  # 3 lines


def _problem(body: str) -> str:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(body, "s.yaml")
    return str(info.value)


def test_a_jetstream_scenario_loads_with_its_needs() -> None:
    scenario = parse_scenario(
        HEAD + JS + "workload:\n  publishes: {count: 3, subjects: [js.a], jetstream: true}\n",
        "s.yaml",
    )
    (stream,) = scenario.topology.streams
    assert (stream.name, stream.replicas, stream.duplicate_window_s) == ("S", 1, 120.0)
    assert scenario.workload.publishes.msg_id_header is True
    assert scenario.needs() == {"jetstream_publish": "workload.publishes"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            HEAD + "topology:\n  streams: [{name: S, subjects: [a]}]\n",
            "s.yaml:5: topology.streams[0]: a stream needs jetstream: true",
        ),
        (
            HEAD + "topology:\n  jetstream: true\n  streams: [{name: S, subjects: [a]}, "
            "{name: S, subjects: [b]}]\n",
            "s.yaml:6: topology.streams[1].name: stream S is declared twice",
        ),
        (
            HEAD + "topology:\n  jetstream: true\n  streams: [{name: S, subjects: [a], "
            "replicas: 3}]\n",
            "s.yaml:6: topology.streams[0].replicas: 3 replicas need as many servers; "
            "the topology has 1",
        ),
        (
            HEAD + JS + "workload:\n  publishes: {count: 3, subjects: [other.a], "
            "jetstream: true}\n",
            "s.yaml:8: workload.publishes.subjects[0]: no stream of topology.streams "
            "captures other.a",
        ),
        (
            HEAD + "workload:\n  publishes: {count: 3, jetstream: true}\n",
            "s.yaml:5: workload.publishes.jetstream: needs topology.jetstream: true",
        ),
        (
            HEAD + JS + "workload:\n  publishes: {count: 3, subjects: [js.a], "
            "jetstream: true, batched: true}\n",
            "s.yaml:8: workload.publishes.jetstream: jetstream publishes are confirmed one "
            "by one, not batched",
        ),
        (
            HEAD + "workload:\n  publishes: {count: 3, in_flight: 4}\n",
            "s.yaml:5: workload.publishes.in_flight: in_flight 4 needs jetstream: true (other "
            "publishes go one at a time)",
        ),
        (
            HEAD + "faults:\n - fault: frames\n   verb: SUB*\n",
            "s.yaml:6: faults[0].verb: unknown verb 'SUB*': one of INFO, CONNECT, PUB, HPUB, "
            "SUB, UNSUB, MSG, HMSG, PING, PONG, +OK, -ERR, a family (PUB*, MSG*) or '*'",
        ),
    ],
)
def test_rules_across_fields_point_at_the_field(body: str, message: str) -> None:
    assert _problem(body) == message


def test_verb_families_load() -> None:
    for verb in ("PUB*", "MSG*"):
        body = HEAD + f"faults:\n - fault: frames\n   verb: '{verb}'\n"
        assert parse_scenario(body, "s.yaml").faults[0].verb == verb  # type: ignore[union-attr]


CONSUME = "workload:\n  inputs: {count: 3, mode: jetstream}\n"  # 2 lines


def test_a_consumer_scenario_loads_with_its_needs() -> None:
    scenario = parse_scenario(
        HEAD
        + JS
        + "  consumers: [{name: C, stream: S, ack_wait_s: 1, max_deliver: 5}]\n"
        + CONSUME,
        "s.yaml",
    )
    (consumer,) = scenario.topology.consumers
    assert (consumer.kind, consumer.ack_wait_s, consumer.max_deliver) == ("push", 1.0, 5)
    assert scenario.needs() == {"consume": "workload.inputs"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            HEAD + JS + "  consumers: [{name: C, stream: T}]\n",
            "s.yaml:7: topology.consumers[0].stream: stream T is not declared in "
            "topology.streams (S)",
        ),
        (
            HEAD + JS + "  consumers: [{name: C, stream: S}, {name: C, stream: S}]\n",
            "s.yaml:7: topology.consumers[1].name: consumer C of stream S is declared twice",
        ),
        (
            HEAD + JS + "  consumers: [{name: C, stream: S, max_deliver: 0}]\n",
            "s.yaml:7: topology.consumers[0].max_deliver: max_deliver is -1 (unlimited) or "
            "at least 1, got 0",
        ),
        (
            HEAD + CONSUME,
            "s.yaml:5: workload.inputs.mode: mode jetstream needs topology.jetstream: true "
            "and a stream in topology.streams",
        ),
    ],
)
def test_consumer_rules_point_at_the_field(body: str, message: str) -> None:
    assert _problem(body) == message
