"""Slicer: data arrives in small slices, which a NATS client must reassemble."""

import nats
import pytest


@pytest.mark.asyncio
async def test_messages_survive_slicing(nats_link):
    nc = await nats.connect(nats_link.url)
    sub = await nc.subscribe("sliced")
    await nc.flush()
    with nats_link.slice(7, size_variation=3, delay_us=50, stream="downstream"):
        for i in range(20):
            await nc.publish("sliced", f"message {i}".encode() * 5)
        got = [(await sub.next_msg(timeout=5)).data for _ in range(20)]
    assert got == [f"message {i}".encode() * 5 for i in range(20)]
    await nc.close()
