"""wait_for_interest: a test can wait until the server has a service's subscription."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import nats
import pytest

from nats_fault_harness.errors import WaitTimeout
from nats_fault_harness.faults import Link
from nats_fault_harness.servers import NatsCluster, NatsServer


@pytest.mark.asyncio
async def test_interest_through_a_slow_link_is_waited_for(
    nats_server: NatsServer, nats_link: Link
) -> None:
    subject = f"orders.{time.monotonic_ns()}"
    async with nats_link.latency(ms=300, stream="upstream"):  # the SUB crawls to the server
        client = await nats.connect(nats_link.url, connect_timeout=5)
        try:
            await client.subscribe("orders.*", queue="workers")
            # not flushed: the SUB is still on its way
            assert nats_server.interest(subject) == 0
            seen = await asyncio.to_thread(
                nats_server.wait_for_interest, subject, queue="workers", timeout=5
            )
            assert seen == 1
            assert nats_server.interest(subject, queue="others") == 0
        finally:
            await client.close()


def test_no_interest_times_out_naming_the_subject(nats_server: NatsServer) -> None:
    with pytest.raises(WaitTimeout, match=r"1 subscription\(s\) matching 'nobody.listens'"):
        nats_server.wait_for_interest("nobody.listens", timeout=0.2)


@pytest.mark.asyncio
async def test_a_cluster_waits_until_every_node_knows(
    nats_cluster_factory: Callable[..., NatsCluster],
) -> None:
    cluster = nats_cluster_factory(size=3)
    client = await nats.connect(cluster[0].url)
    try:
        await client.subscribe("replies.>")
        await client.flush()
        await asyncio.to_thread(cluster.wait_for_interest, "replies.one", timeout=5)
        assert all(node.interest("replies.one") >= 1 for node in cluster)
    finally:
        await client.close()
