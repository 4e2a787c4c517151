"""Services by capability: declarations are checked, needs derived, lacks skip or leave out."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest

from nats_fault_harness.errors import ConfigError
from nats_fault_harness.scenario import load_claims, load_scenario
from nats_fault_harness.scenario._reference_sut import ReferenceSut
from nats_fault_harness.scenario._runner import _fit
from nats_fault_harness.services import (
    CAPABILITIES,
    CapabilityMissing,
    Endpoint,
    Service,
    capabilities_of,
    missing_capabilities,
)

SCENARIOS = Path(__file__).resolve().parents[3] / "scenarios"


def _scenario(name: str) -> Any:
    return load_scenario(SCENARIOS / f"{name}.yaml", load_claims(SCENARIOS / "claims.yaml"))


class Responder(Service):
    name = "responder"
    capabilities: ClassVar[frozenset[str]] = frozenset({"respond"})

    def endpoints(self) -> list[Endpoint]:
        return [Endpoint("q")]


def test_a_declared_capability_must_be_implemented() -> None:
    with pytest.raises(ConfigError, match=r"publish \(publish\) keep the base class's default"):

        class Liar(Service):
            capabilities: ClassVar[frozenset[str]] = frozenset({"publish"})


def test_an_unknown_capability_is_named() -> None:
    with pytest.raises(ConfigError, match="unknown teleport"):

        class Odd(Service):
            capabilities: ClassVar[frozenset[str]] = frozenset({"teleport"})


def test_capabilities_of_a_service_and_of_an_old_style_adapter() -> None:
    assert capabilities_of(Responder()) == {"respond"}
    assert capabilities_of(ReferenceSut()) == set(CAPABILITIES)

    class OldStyle:  # the all-methods protocol, without the attribute
        name = "old"

        async def start(self, env: Any, report: Any) -> Any: ...
        async def stop(self) -> None: ...
        async def publish(self, subject: str, data: bytes, msg_id: str) -> None: ...
        async def request(self, subject: str, data: bytes, timeout: float) -> bytes: ...

    assert capabilities_of(OldStyle()) == {"publish", "request"}
    assert missing_capabilities(OldStyle(), ["publish", "batch"]) == ("batch",)


@pytest.mark.asyncio
async def test_a_lacking_method_raises_capability_missing() -> None:
    with pytest.raises(CapabilityMissing, match="lacks publish"):
        await Responder().publish("s", b"", "id")


def test_endpoint_kind() -> None:
    assert Endpoint("a").kind == "respond"
    assert Endpoint("a", output="b").kind == "republish"
    assert Endpoint("a", output="b", consumer="C", stream="S").kind == "consume"


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"output": "b", "consumer": "C"}, "names both consumer and stream"),
        ({"output": "b", "stream": "S"}, "names both consumer and stream"),
        ({"consumer": "C", "stream": "S"}, "needs the output subject"),
    ],
)
def test_a_consume_endpoint_is_whole(fields: dict[str, str], problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        Endpoint("a", **fields)


def test_default_input_and_output_ids_round_trip() -> None:
    svc, ep = Responder(), Endpoint("q")
    assert svc.output_id(ep, svc.make_input(ep, "x-1")) == "x-1"
    assert svc.output_id(ep, b"not json") is None
    assert svc.output_id(ep, b"[1, 2]") is None


@pytest.mark.parametrize(
    ("name", "needs"),
    [
        ("respond-control", {"respond"}),
        ("republish-control", {"republish"}),
        ("publish-link-drop", {"publish"}),
        ("batch-reset-mid-batch", {"batch"}),
        ("request-during-blackhole", {"request"}),
        ("broker-validation-both-ways", {"messages"}),
        ("jetstream-consume-control", {"consume"}),
    ],
)
def test_needs_follow_the_workload(name: str, needs: set[str]) -> None:
    assert set(_scenario(name).needs()) == needs


def test_a_missing_workload_capability_raises_before_anything_runs() -> None:
    with pytest.raises(CapabilityMissing) as caught:
        _fit(_scenario("publish-link-drop"), Responder())
    assert caught.value.missing == ("publish",)
    assert "workload.publishes needs publish" in str(caught.value)


def test_a_checker_without_its_view_is_left_out_or_the_scenario_skipped() -> None:
    class Batcher(Service):
        capabilities: ClassVar[frozenset[str]] = frozenset({"batch"})

        async def publish_batched(self, subject: str, data: bytes, msg_id: str) -> None: ...
        async def flush(self) -> Any: ...
        async def recover(self) -> tuple[str, ...]:
            return ()

    # logs + accounting: the logs checker is left out, accounting still decides
    _, left_out = _fit(_scenario("log-batch-queued"), Batcher())
    assert left_out == {"logs": "logs"}
    # a scenario whose only checker reads a view the service lacks is skipped
    only_logs = _scenario("log-batch-queued")
    only_logs = only_logs.model_copy(
        update={"checkers": tuple(c for c in only_logs.checkers if c.name == "logs")}
    )
    with pytest.raises(CapabilityMissing, match="the logs checker reads logs"):
        _fit(only_logs, Batcher())


def test_several_instances_need_a_workload_of_inputs_only() -> None:
    from nats_fault_harness.scenario import ScenarioError, parse_scenario

    base = "name: x\nclaims: [consumer.respond-once]\ncheckers: [{name: outputs}]\n"
    claims = load_claims(SCENARIOS / "claims.yaml")
    ok = parse_scenario(base + "instances: 2\nworkload: {inputs: {count: 3}}\n", claims=claims)
    assert ok.instances == 2
    with pytest.raises(ScenarioError, match="instances 2 needs a workload of inputs only"):
        parse_scenario(
            base + "instances: 2\nworkload: {inputs: {count: 3}, publishes: {count: 1}}\n",
            claims=claims,
        )
