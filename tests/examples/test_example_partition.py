"""Partition a cluster: node 0's messages stop reaching node 1, then come back on heal.

``nats_faulty_cluster`` puts an inbound proxy in front of every node's route port, so every
route can be cut. ``partition(a, b)`` returns once ``/routez`` shows the a-b route gone on
both nodes; leaving the ``with`` heals it and returns once the full mesh is back. Node 2
stays connected to both, but a NATS full mesh never forwards through a third node.
"""

import asyncio

import nats
import pytest

from nats_fault_harness import wait_until_async


async def _received(pub, sub, data):
    async def probe():
        await pub.publish(sub.subject, data)
        try:
            return (await sub.next_msg(timeout=0.2)).data == data
        except nats.errors.TimeoutError:
            return False  # interest may still be propagating between the nodes

    return await wait_until_async(probe, timeout=15, what=f"{data!r} on node 1")


@pytest.mark.asyncio
@pytest.mark.proxy_extension("nats", "connect_name", "connection_reset")
async def test_partition_cuts_node0_from_node1(nats_faulty_cluster):
    cluster = await asyncio.to_thread(nats_faulty_cluster, 3)
    on_node1 = await nats.connect(cluster.urls[1])
    on_node0 = await nats.connect(cluster.urls[0])
    sub = await on_node1.subscribe("orders")
    assert await _received(on_node0, sub, b"before")

    async with cluster.partition(0, 1):
        assert cluster.route_view() == {0: {2}, 1: {2}, 2: {0, 1}}
        await on_node0.publish("orders", b"lost")
        with pytest.raises(nats.errors.TimeoutError):
            await sub.next_msg(timeout=1)

    assert await _received(on_node0, sub, b"after")
    await on_node0.close()
    await on_node1.close()
