"""Blackhole: bytes are held, nothing is closed, so the client finds out only by PING.

nats-py declares the connection stale after about (max_outstanding_pings + 1) x
ping_interval and reconnects; healing the blackhole lets the reconnect through.
"""

import time

import nats
import pytest

from nats_fault_harness import wait_until_async


@pytest.mark.asyncio
async def test_blackhole_makes_the_client_go_stale(nats_link, nats_history):
    nc = await nats.connect(
        nats_link.url,
        ping_interval=1,
        max_outstanding_pings=2,
        reconnect_time_wait=0.1,
        max_reconnect_attempts=-1,
        connect_timeout=1,
        **nats_history.nats_callbacks("app"),
    )
    started = time.monotonic()
    with nats_link.blackhole():
        await wait_until_async(
            lambda: any(e.kind == "disconnected" for e in nats_history.client_events()),
            timeout=8,
            what="stale detection",
        )
        stale_after = time.monotonic() - started
    await wait_until_async(
        lambda: any(e.kind == "reconnected" for e in nats_history.client_events()),
        timeout=10,
        what="reconnect after heal",
    )
    await nc.close()
    assert 1.8 <= stale_after <= 4.5  # (2 + 1) x 1 s, give or take one interval
