"""JetStream under faults: lost PubAcks, lost acks, an R3 stream through a partition.

The shared ``nats_server`` (and so ``nats_link``) runs JetStream; every stream a test
creates is deleted before the next test, so each test declares the streams it needs.
"""

import asyncio

import nats
import pytest
from nats.js.api import ConsumerConfig
from nats.js.errors import APIError, NoStreamResponseError

from nats_fault_harness import wait_until_async


@pytest.mark.asyncio
@pytest.mark.proxy_extension("nats")
async def test_a_lost_puback_leaves_a_stored_message(nats_link):
    nc = await nats.connect(nats_link.url)
    js = nc.jetstream()
    await js.add_stream(name="ORDERS", subjects=["orders.>"])
    # A PubAck is a MSG on the publisher's _INBOX reply subject: drop every second one.
    with nats_link.frames("MSG*", subject="_INBOX.>", stream="downstream", every=2):
        await js.publish("orders.1", b"1", headers={"Nats-Msg-Id": "order-1"})
        with pytest.raises(nats.errors.TimeoutError):  # its PubAck was dropped
            await js.publish("orders.2", b"2", headers={"Nats-Msg-Id": "order-2"}, timeout=0.5)
    # Stored anyway: the retry with the same id is answered as a duplicate, not stored again.
    ack = await js.publish("orders.2", b"2", headers={"Nats-Msg-Id": "order-2"})
    assert ack.duplicate
    assert ack.seq == 2
    assert (await js.stream_info("ORDERS")).state.messages == 2
    await nc.close()


@pytest.mark.asyncio
@pytest.mark.proxy_extension("nats")
async def test_a_lost_ack_is_a_redelivery(nats_link):
    nc = await nats.connect(nats_link.url)
    js = nc.jetstream()
    await js.add_stream(name="TASKS", subjects=["tasks.>"])
    await js.publish("tasks.1", b"work")
    worker = await js.pull_subscribe("tasks.>", "worker", config=ConsumerConfig(ack_wait=1))
    # An ack is a PUB (or HPUB) from the client to the message's $JS.ACK.<stream>... reply.
    with nats_link.frames("PUB*", subject="$JS.ACK.>", stream="upstream"):
        (first,) = await worker.fetch(1, timeout=5)
        await first.ack()  # dropped on the way: the server never hears it
        (again,) = await worker.fetch(1, timeout=10)  # after ack_wait, delivered again
    assert again.data == b"work"
    assert again.metadata.num_delivered == 2
    await again.ack_sync()  # healed: this ack arrives (and is confirmed)
    assert (await js.consumer_info("TASKS", "worker")).num_ack_pending == 0
    await nc.close()


async def _publish_until_acked(js, subject, data, msg_id):
    async def attempt():
        try:
            return await js.publish(subject, data, headers={"Nats-Msg-Id": msg_id}, timeout=1)
        except (nats.errors.TimeoutError, NoStreamResponseError, APIError):
            return None  # no stream leader yet: retry with the same id

    return await wait_until_async(attempt, timeout=60, what=f"a PubAck for {msg_id}")


@pytest.mark.slow
@pytest.mark.asyncio
@pytest.mark.proxy_extension("nats", "connect_name", "connection_reset")
async def test_an_r3_stream_takes_writes_through_the_majority(
    nats_faulty_cluster, nats_link_factory
):
    cluster = await asyncio.to_thread(nats_faulty_cluster, 3, jetstream=True)
    nc0 = await nats.connect(cluster.urls[0])
    info = await nc0.jetstream().add_stream(name="R3", subjects=["r3.>"], num_replicas=3)
    await nc0.close()
    leader = [node.name for node in cluster].index(info.cluster.leader)
    majority = [i for i in range(3) if i != leader]
    link = nats_link_factory.link(cluster[majority[0]])  # the client's way in
    nc = await nats.connect(link.url)
    js = nc.jetstream()
    await _publish_until_acked(js, "r3.a", b"before", "m-before")

    async with cluster.isolate(leader):  # the stream leader alone; the other two meshed
        ack = await _publish_until_acked(js, "r3.a", b"during", "m-during")
        assert ack.seq == 2  # a new leader on the majority side stored it
        assert (await js.stream_info("R3")).cluster.leader != info.cluster.leader

    await _publish_until_acked(js, "r3.a", b"after", "m-after")
    reader = await js.pull_subscribe("r3.>", "reader")
    got = []
    while len(got) < 3:
        got += [msg.data for msg in await reader.fetch(3 - len(got), timeout=10)]
    assert got == [b"before", b"during", b"after"]
    await nc.close()
