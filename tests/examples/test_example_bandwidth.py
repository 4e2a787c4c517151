"""Bandwidth: cap the server-to-client direction and a large message takes its time."""

import time

import nats
import pytest


@pytest.mark.asyncio
async def test_bandwidth_cap_slows_a_large_message(nats_link, nats_server):
    direct = await nats.connect(nats_server.url)
    slow = await nats.connect(nats_link.url)
    sub = await slow.subscribe("bulk")
    await slow.flush()
    payload = b"x" * 200_000
    with nats_link.bandwidth(100, stream="downstream"):  # 100 KB/s = 100,000 bytes/s
        started = time.monotonic()
        await direct.publish("bulk", payload)
        msg = await sub.next_msg(timeout=10)
        took = time.monotonic() - started
    assert msg.data == payload
    assert 1.6 <= took <= 4.0  # 200 KB at 100 KB/s is 2 s
    await direct.close()
    await slow.close()
