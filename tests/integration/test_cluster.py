"""NatsCluster: full mesh, JetStream health, and node restarts, with real processes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import nats
import pytest

from nats_fault_harness.servers import NatsCluster

pytestmark = pytest.mark.cluster


def test_three_nodes_form_a_full_mesh(nats_cluster_factory: Callable[..., NatsCluster]) -> None:
    cluster = nats_cluster_factory()
    ids = {n.server_id for n in cluster}
    assert len(ids) == 3
    for node in cluster:
        assert node.remote_route_ids() == ids - {node.server_id}
    assert len(set(cluster.urls)) == 3


@pytest.mark.asyncio
async def test_messages_cross_the_mesh(nats_cluster_factory: Callable[..., NatsCluster]) -> None:
    cluster = nats_cluster_factory()
    sub_nc = await nats.connect(cluster[0].url)
    pub_nc = await nats.connect(cluster[2].url)
    sub = await sub_nc.subscribe("mesh.x")
    await sub_nc.flush()
    # Interest propagates over routes asynchronously: publish until one arrives.
    received = None
    async with asyncio.timeout(5):
        while received is None:
            await pub_nc.publish("mesh.x", b"hello")
            try:
                received = await sub.next_msg(timeout=0.05)
            except nats.errors.TimeoutError:
                continue
    assert received.data == b"hello"
    await sub_nc.close()
    await pub_nc.close()


def test_restarted_node_rejoins(nats_cluster_factory: Callable[..., NatsCluster]) -> None:
    cluster = nats_cluster_factory()
    old_id, port = cluster[1].server_id, cluster[1].port
    cluster.kill_node(1)
    assert not cluster[1].is_running
    cluster.restart_node(1)
    assert cluster[1].port == port
    assert cluster[1].server_id != old_id  # a new process, a new id
    for node in cluster:
        assert len(node.remote_route_ids()) == 2


@pytest.mark.asyncio
async def test_jetstream_cluster_is_healthy_and_replicates(
    nats_cluster_factory: Callable[..., NatsCluster],
) -> None:
    cluster = nats_cluster_factory(jetstream=True)
    for node in cluster:
        assert node.healthz()["status"] == "ok"
    meta = cluster[0].jsz()["meta_cluster"]
    assert meta["cluster_size"] == 3
    nc = await nats.connect(cluster.urls)
    js = nc.jetstream()
    await js.add_stream(name="ORDERS", subjects=["orders.>"], num_replicas=3)
    ack = await js.publish("orders.1", b"one", timeout=10)
    assert ack.seq == 1
    info = await js.stream_info("ORDERS")
    assert info.cluster is not None
    assert len(info.cluster.replicas or []) == 2
    await nc.close()


def test_cluster_rejects_size_below_two() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        NatsCluster(1)
