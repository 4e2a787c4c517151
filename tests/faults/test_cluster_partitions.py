"""Cluster partitions through per-node inbound route proxies (real servers, proxy, nats-py).

Timings are kept loose for a busy 2-core machine: nodes PING their routes every second,
explicit routes are redialled about every second, and every wait has a deadline.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import nats
import pytest

from nats_fault_harness import wait_until, wait_until_async
from nats_fault_harness.errors import ConfigError
from nats_fault_harness.faults import FaultLog, FaultyCluster

pytestmark = pytest.mark.proxy_extension("nats", "connect_name", "connection_reset")

MakeCluster = Callable[..., FaultyCluster]
FULL = {0: {1, 2}, 1: {0, 2}, 2: {0, 1}}


def _route_count_matches_proxied(cluster: FaultyCluster) -> bool:
    """Every route connection (seen from both ends) is one route connection of a proxy."""
    ends = sum(len(node.routez().get("routes") or []) for node in cluster.nodes)
    proxied = sum(
        1
        for proxy in cluster.proxies
        for conn in cluster.api.connections(proxy)
        if conn.get("kind") == "route"
    )
    return ends > 0 and ends == 2 * proxied


def _settled(cluster: FaultyCluster, view: dict[int, set[int]]) -> None:
    wait_until(lambda: cluster.route_view() == view, timeout=10, what=f"routes {view}")


async def _delivered(pub: nats.NATS, sub: nats.aio.subscription.Subscription, data: bytes) -> bool:
    """Publish until the subscriber gets ``data`` (interest may still be propagating)."""

    async def probe() -> bool:
        await pub.publish(sub.subject, data)
        await pub.flush(timeout=2)
        try:
            while True:
                msg = await sub.next_msg(timeout=0.2)
                if msg.data == data:
                    return True
        except nats.errors.TimeoutError:
            return False

    return await wait_until_async(probe, timeout=15, what=f"delivery of {data!r}")


async def _nothing_arrives(
    pub: nats.NATS, sub: nats.aio.subscription.Subscription, data: bytes
) -> None:
    for _ in range(5):
        await pub.publish(sub.subject, data)
    await pub.flush(timeout=2)
    with pytest.raises(nats.errors.TimeoutError):
        await sub.next_msg(timeout=1.0)


def test_every_route_passes_an_inbound_proxy(nats_faulty_cluster: MakeCluster) -> None:
    cluster = nats_faulty_cluster(3)
    assert cluster.route_view() == FULL
    assert cluster.unproxied_routes() == []
    wait_until(
        lambda: _route_count_matches_proxied(cluster),
        timeout=10,
        what="every route connection counted by a proxy",
    )
    # Dialled ends show the dialled proxy's port, never a node's real route port.
    dialled = {r["port"] for node in cluster.nodes for r in node.routez()["routes"]}
    assert dialled & set(cluster.proxy_ports)
    assert not dialled & {node.cluster_port for node in cluster.nodes}


def test_partition_drops_only_that_pair_and_heal_restores(
    nats_faulty_cluster: MakeCluster, fault_log: FaultLog
) -> None:
    cluster = nats_faulty_cluster(3)
    with cluster.partition(0, 1) as fault:
        assert fault.active
        _settled(cluster, {0: {2}, 1: {2}, 2: {0, 1}})
        assert fault_log.active() == [fault]
    assert cluster.route_view() == FULL  # heal verified the full mesh before returning
    assert cluster.unproxied_routes() == []
    (window,) = fault_log.history.faults()
    assert (window.kind, window.target) == ("partition", f"cluster:{cluster.name}")
    assert window.params == {"nodes": [0, 1]}
    assert window.end is not None


@pytest.mark.asyncio
async def test_messages_from_node0_reach_node1_before_and_after_not_during(
    nats_faulty_cluster: MakeCluster,
) -> None:
    cluster = await asyncio.to_thread(nats_faulty_cluster, 3)
    sub_nc = await nats.connect(cluster.urls[1], max_reconnect_attempts=0)
    pub_nc = await nats.connect(cluster.urls[0], max_reconnect_attempts=0)
    sub = await sub_nc.subscribe("part.x")
    await sub_nc.flush()
    assert await _delivered(pub_nc, sub, b"before")
    async with cluster.partition(0, 1):
        # Node 2 still routes to both, but a full mesh never forwards through a third node.
        await _nothing_arrives(pub_nc, sub, b"during")
    assert await _delivered(pub_nc, sub, b"after")
    await pub_nc.close()
    await sub_nc.close()


def test_isolate_leaves_the_others_meshed(nats_faulty_cluster: MakeCluster) -> None:
    cluster = nats_faulty_cluster(3)
    with cluster.isolate(2):
        _settled(cluster, {0: {1}, 1: {0}, 2: set()})
    assert cluster.route_view() == FULL


@pytest.mark.asyncio
async def test_one_way_loses_a_to_b_and_drops_the_route_by_ping_timeout(
    nats_faulty_cluster: MakeCluster, fault_log: FaultLog
) -> None:
    cluster = await asyncio.to_thread(nats_faulty_cluster, 3)
    sub_nc = await nats.connect(cluster.urls[1], max_reconnect_attempts=0)
    pub_nc = await nats.connect(cluster.urls[0], max_reconnect_attempts=0)
    sub = await sub_nc.subscribe("oneway.x")
    await sub_nc.flush()
    assert await _delivered(pub_nc, sub, b"before")
    started = time.monotonic()
    fault = cluster.partition(0, 1, one_way=True)
    await asyncio.to_thread(fault)
    took = time.monotonic() - started
    # No RST: the nodes notice only by PING timeout (ping_interval 1 s), then drop it.
    assert took >= 0.5, (
        f"one-way cut returned after {took:.2f}s: the route was reset, not timed out"
    )
    assert cluster.route_view() == {0: {2}, 1: {2}, 2: {0, 1}}
    await _nothing_arrives(pub_nc, sub, b"during")
    await fault.aheal()
    assert cluster.route_view() == FULL
    assert await _delivered(pub_nc, sub, b"after")
    (window,) = fault_log.history.faults()
    assert window.params == {"nodes": [0, 1], "one_way": True}
    await pub_nc.close()
    await sub_nc.close()


def test_faults_heal_on_exit_even_if_the_body_raises(
    nats_faulty_cluster: MakeCluster, fault_log: FaultLog
) -> None:
    cluster = nats_faulty_cluster(3)
    with pytest.raises(RuntimeError, match="boom"), cluster.isolate(0):
        raise RuntimeError("boom")
    assert cluster.route_view() == FULL
    assert cluster.active == []
    assert fault_log.active() == []
    assert all(not cluster.api.toxics(proxy) for proxy in cluster.proxies)


def test_cluster_heal_heals_every_active_fault(nats_faulty_cluster: MakeCluster) -> None:
    cluster = nats_faulty_cluster(3)
    first = cluster.partition(0, 1)()
    second = cluster.partition(1, 2)()
    _settled(cluster, {0: {2}, 1: set(), 2: {0}})
    cluster.heal()
    assert not first.active
    assert not second.active
    assert cluster.route_view() == FULL


def test_restart_node_reapplies_the_partition_for_its_new_id(
    nats_faulty_cluster: MakeCluster,
) -> None:
    cluster = nats_faulty_cluster(3)
    old_id = cluster[1].server_id
    with cluster.partition(0, 1):
        cluster.restart_node(1)
        assert cluster[1].server_id != old_id
        _settled(cluster, {0: {2}, 1: {2}, 2: {0, 1}})
    assert cluster.route_view() == FULL


def test_bad_node_indices_are_refused(nats_faulty_cluster: MakeCluster) -> None:
    cluster = nats_faulty_cluster(2)
    with pytest.raises(ConfigError):
        cluster.partition(0, 0)
    with pytest.raises(ConfigError):
        cluster.partition(0, 2)
    with pytest.raises(ConfigError):
        cluster.isolate(-1)


def test_jetstream_cluster_partition_and_heal(nats_faulty_cluster: MakeCluster) -> None:
    cluster = nats_faulty_cluster(3, jetstream=True)
    assert all(node.healthz().get("status") == "ok" for node in cluster.nodes)
    with cluster.isolate(0):
        _settled(cluster, {0: set(), 1: {2}, 2: {1}})
    assert cluster.route_view() == FULL
    # The meta group re-forms with a leader once the mesh is back.
    wait_until(
        lambda: all(node.healthz().get("status") == "ok" for node in cluster.nodes),
        timeout=20,
        what="JetStream healthy after heal",
    )
