"""``leader:<STREAM>`` targets: the node a fault hits is the one the cluster names as leader.

Real 3-node JetStream clusters behind the harness's proxy, real nats-py. No timing
assertions: every wait has a deadline, and elections take what they take.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from nats_fault_harness import wait_until
from nats_fault_harness.checkers import operations
from nats_fault_harness.errors import ClusterError
from nats_fault_harness.faults import FaultyCluster, LinkFactory
from nats_fault_harness.scenario import Scenario, parse_scenario
from nats_fault_harness.scenario._reference_sut import make_reference_sut
from nats_fault_harness.scenario._runner import run_scenario
from nats_fault_harness.scenario._streams import StreamKeeper
from nats_fault_harness.scenario._topology import (
    Built,
    ScenarioEnv,
    build,
    make_fault,
    resolve_step,
    service_links,
)
from nats_fault_harness.servers import NatsServer

pytestmark = [
    pytest.mark.proxy_extension("nats", "connect_name", "connection_reset"),
    pytest.mark.cluster,
]

BASE = """\
name: leader-target
claims: [jetstream.acked-stored]
topology:
  kind: cluster
  size: 3
  jetstream: true
  streams:
    - {name: ORDERS, subjects: [js.orders.>], replicas: 3}
"""


def _scenario(faults: str, workload: str = "") -> Scenario:
    text = BASE + workload + faults + "checkers:\n  - name: stream\ntimeout_s: 120\n"
    return parse_scenario(text, "<test>")


@pytest.fixture
def env(
    nats_link_factory: LinkFactory, nats_faulty_cluster: Callable[..., FaultyCluster]
) -> ScenarioEnv:
    return ScenarioEnv(nats_link_factory, make_cluster=nats_faulty_cluster)


def _named_by_jsz(nodes: list[NatsServer], stream: str) -> int | None:
    """The leader every running node's ``/jsz`` names, read here without the harness's
    resolver; ``None`` until they all agree and the named node says it leads."""
    named = set()
    for node in nodes:
        if not node.is_running:
            continue
        for account in node.jsz(streams=True).get("account_details") or ():
            for detail in account.get("stream_detail") or ():
                if detail.get("name") == stream:
                    named.add((detail.get("cluster") or {}).get("leader"))
    names = [n.name for n in nodes]
    if len(named) != 1 or (leader := named.pop()) not in names:
        return None
    return names.index(leader)


async def _built_with_stream(scenario: Scenario, env: ScenarioEnv) -> tuple[Built, StreamKeeper]:
    built = await asyncio.to_thread(build, scenario, env)
    keeper = StreamKeeper(env.log.history, scenario.topology.streams)
    await keeper.start(built.direct_url)
    return built, keeper


@pytest.mark.asyncio
async def test_kill_on_leader_kills_the_node_jsz_names(env: ScenarioEnv) -> None:
    scenario = _scenario("faults:\n  - {fault: kill, target: 'leader:ORDERS'}\n")
    built, keeper = await _built_with_stream(scenario, env)
    try:
        assert built.cluster is not None
        nodes = built.cluster.nodes
        named = await asyncio.to_thread(
            wait_until,
            lambda: (i,) if (i := _named_by_jsz(nodes, "ORDERS")) is not None else (),
            timeout=30,
            what="every node's /jsz naming one leader of ORDERS",
        )
        leader = named[0]
        step, chosen = resolve_step(scenario.faults[0], built)
        assert step.target == f"node:{leader}"
        assert chosen == {"leader_of": "ORDERS", "node": leader, "server": nodes[leader].name}
        fault = make_fault(step, built)
        fault.params = {**fault.params, **chosen}
        fault.links = service_links(step, built)
        await asyncio.to_thread(fault)
        assert [n.is_running for n in nodes] == [i != leader for i in range(3)]
        record = env.log.history.faults()[-1]
        assert record.kind == "kill"
        assert record.target == f"server:{nodes[leader].name}"
        assert record.params["node"] == leader
        assert record.links == (built.links[f"node:{leader}"].proxy,)
        # Resolved again, now: the survivors' new leader, not the killed node.
        again, second = await asyncio.to_thread(resolve_step, scenario.faults[0], built)
        assert again.target == f"node:{second['node']}"
        assert second["node"] != leader
        assert nodes[second["node"]].is_running
        await asyncio.to_thread(fault.heal)
    finally:
        await keeper.close()


@pytest.mark.asyncio
async def test_isolate_on_leader_cuts_it_off_and_follower_is_another_node(env: ScenarioEnv) -> None:
    scenario = _scenario("faults:\n  - {fault: isolate, target: 'leader:ORDERS'}\n")
    built, keeper = await _built_with_stream(scenario, env)
    try:
        assert built.cluster is not None
        cluster = built.cluster
        step, chosen = await asyncio.to_thread(resolve_step, scenario.faults[0], built)
        leader = chosen["node"]
        follower = scenario.faults[0].model_copy(update={"target": "follower:ORDERS"})
        _, other = await asyncio.to_thread(resolve_step, follower, built)
        assert other["follower_of"] == "ORDERS"
        assert other["node"] == min({0, 1, 2} - {leader})
        fault = make_fault(step, built)
        await asyncio.to_thread(fault)
        others = {0, 1, 2} - {leader}
        assert cluster.route_view()[leader] == set()
        assert all(cluster.route_view()[o] == others - {o} for o in others)
        assert set(service_links(step, built)) == {link.proxy for link in built.links.values()}
        await asyncio.to_thread(fault.heal)
    finally:
        await keeper.close()


def test_no_leader_names_the_stream(nats_faulty_cluster: Callable[..., FaultyCluster]) -> None:
    cluster = nats_faulty_cluster(3, jetstream=True)
    with pytest.raises(ClusterError, match=r"no leader of stream 'NOPE'.*no such stream"):
        cluster.stream_leader("NOPE", timeout=0.5)


@pytest.mark.asyncio
async def test_a_scenario_kills_the_leader_and_records_it(env: ScenarioEnv) -> None:
    scenario = _scenario(
        "faults:\n  - fault: kill\n    target: 'leader:ORDERS'\n"
        "    trigger: {at_s: 1.0, for_s: 2.0}\n",
        "service: {jetstream_publish_timeout: 1.0, connection: {max_reconnect_attempts: -1}}\n"
        "workload:\n  publishes: {count: 30, rate_per_s: 10, subjects: [js.orders.a], "
        "jetstream: true, in_flight: 4}\n",
    )
    result = await run_scenario(scenario, sut_factory=make_reference_sut, env=env)
    kills = [f for f in result.history.faults() if f.kind == "kill"]
    assert len(kills) == 1
    params: dict[str, Any] = dict(kills[0].params)
    node = params["node"]
    assert params["leader_of"] == "ORDERS"
    assert kills[0].target == f"server:{params['server']}"
    assert params["server"].endswith(f"-n{node}")
    plan = next(e.detail for e in result.history.client_events("runner") if e.kind == "run")
    assert kills[0].links == (plan["links"][f"node:{node}"],)
    assert kills[0].end is not None  # healed
    assert operations(result.history, "stored")  # the stream was read back
    assert result.valid is True, result.verdict.message
