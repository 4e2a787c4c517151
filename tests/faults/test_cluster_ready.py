"""Ready after a heal means what ready after a start means: with JetStream, a heal of a
partition (and a node restart) returns once every node is healthy and every stream has an
agreed leader, and the history says when the routes were back and when it was ready."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import nats
import pytest

from nats_fault_harness.faults import FaultyCluster
from nats_fault_harness.history import History

pytestmark = [pytest.mark.proxy_extension("nats"), pytest.mark.slow]


async def _publish_everywhere(cluster: FaultyCluster, n: int) -> list[int]:
    """One PubAck per node, each with a short timeout: JetStream must answer at once."""
    seqs = []
    for i, node in enumerate(cluster.nodes):
        nc = await nats.connect(node.url, connect_timeout=2, max_reconnect_attempts=0)
        try:
            ack = await nc.jetstream(timeout=2).publish("orders.x", b"%d-%d" % (n, i))
            seqs.append(ack.seq)
        finally:
            await nc.close()
    return seqs


async def _new_leader(cluster: FaultyCluster, old: int) -> int:
    """Wait (bounded) until the stream's agreed leader is another node than ``old``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    while True:
        leader = await asyncio.to_thread(cluster.stream_leader, "ORDERS")
        if leader != old:
            return leader
        assert loop.time() < deadline, f"node {old} still leads after 60 s of isolation"
        await asyncio.sleep(0.5)


def _ready_events(history: History) -> list[dict[str, object]]:
    return [e.detail for e in history.client_events() if e.kind == "cluster_ready"]


@pytest.mark.asyncio
async def test_a_heal_returns_when_jetstream_is_ready_again(
    nats_faulty_cluster: Callable[..., FaultyCluster], nats_history: History
) -> None:
    cluster = nats_faulty_cluster(3, jetstream=True)
    nc = await nats.connect(cluster.nodes[0].url)
    await nc.jetstream().add_stream(name="ORDERS", subjects=["orders.>"], num_replicas=3)
    await nc.close()
    assert cluster.ready()
    leader = cluster.stream_leader("ORDERS")
    with cluster.isolate(leader):
        # until the majority side has elected a new leader (about 6 s; longer under load)
        assert await _new_leader(cluster, leader) != leader
    # heal() returned: no grace period, every node answers JetStream now
    assert cluster.ready()
    assert all(n.healthz().get("status") == "ok" for n in cluster.nodes)
    assert len(await _publish_everywhere(cluster, 1)) == 3
    (event,) = _ready_events(nats_history)
    assert event["after"] == f"heal of isolate [{leader}]"
    assert 0 <= float(event["routes_s"]) <= float(event["ready_s"])  # type: ignore[arg-type]
    window = nats_history.faults()[-1]
    assert window.kind == "isolate"
    assert window.end is not None


@pytest.mark.asyncio
async def test_a_node_restart_returns_when_jetstream_is_ready_again(
    nats_faulty_cluster: Callable[..., FaultyCluster], nats_history: History
) -> None:
    cluster = nats_faulty_cluster(3, jetstream=True)
    nc = await nats.connect(cluster.nodes[1].url)
    await nc.jetstream().add_stream(name="ORDERS", subjects=["orders.>"], num_replicas=3)
    await nc.close()
    leader = cluster.stream_leader("ORDERS")
    cluster.restart_node(leader)
    assert cluster.ready()
    assert len(await _publish_everywhere(cluster, 2)) == 3
    assert [e["after"] for e in _ready_events(nats_history)] == [f"restart of node {leader}"]


def test_without_jetstream_ready_is_the_route_mesh_the_faults_call_for(
    nats_faulty_cluster: Callable[..., FaultyCluster], nats_history: History
) -> None:
    cluster = nats_faulty_cluster(3)
    with cluster.partition(0, 1):
        assert cluster.route_view()[0] == {2}
        assert cluster.ready()  # the routes are as the partition calls for
    assert cluster.ready()
    (event,) = _ready_events(nats_history)
    assert event["after"] == "heal of partition [0, 1]"
    assert float(event["ready_s"]) >= float(event["routes_s"])  # type: ignore[arg-type]
