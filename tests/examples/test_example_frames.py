"""NATS-aware faults: act on whole protocol frames, never on bytes in the middle of one.

Drop the 3rd PUB to ``orders.*``: a subscriber directly on the server sees every order but
the third. (Byte-level drops would corrupt the stream; frame drops do not.)
"""

import nats
import pytest


@pytest.mark.asyncio
async def test_drop_the_third_order(nats_link, nats_server):
    watcher = await nats.connect(nats_server.url)  # not through the proxy
    sub = await watcher.subscribe("orders.*")
    await watcher.flush()
    nc = await nats.connect(nats_link.url)
    with nats_link.frames("PUB", subject="orders.*", action="drop", nth=3):
        for i in range(1, 6):
            await nc.publish(f"orders.{i}", str(i).encode())
        await nc.flush()
        got = [(await sub.next_msg(timeout=10)).data for _ in range(4)]
    assert got == [b"1", b"2", b"4", b"5"]
    await nc.close()
    await watcher.close()


@pytest.mark.asyncio
async def test_duplicate_each_chat_message(nats_link, nats_server):
    publisher = await nats.connect(nats_server.url)
    nc = await nats.connect(nats_link.url)
    sub = await nc.subscribe("chat.>")
    await nc.flush()
    with nats_link.frames("MSG", subject="chat.>", action="duplicate", stream="downstream"):
        await publisher.publish("chat.room1", b"hi")
        await publisher.flush()
        first = await sub.next_msg(timeout=10)
        second = await sub.next_msg(timeout=10)
    assert first.data == second.data == b"hi"
    await nc.close()
    await publisher.close()
