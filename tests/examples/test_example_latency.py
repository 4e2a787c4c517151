"""Latency on a link: a nats-py round trip takes at least the injected delay.

Example: put 200 ms on the server-to-client direction and watch ``rtt()`` grow.
"""

import nats
import pytest


@pytest.mark.asyncio
async def test_latency_slows_round_trips(nats_link):
    nc = await nats.connect(nats_link.url)
    before = await nc.rtt()
    async with nats_link.latency(200, stream="downstream"):
        slow = await nc.rtt(timeout=2)
    after = await nc.rtt()
    await nc.close()
    assert before < 0.05
    assert 0.19 <= slow < 0.6
    assert after < 0.05  # healed on exit
