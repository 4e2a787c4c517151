"""Lame duck: the server tells its clients to leave, evicts them, exits; the fault
restarts it on exit. nats-py reports it through ``lame_duck_mode_cb``."""

import nats
import pytest

from nats_fault_harness import wait_until_async


@pytest.mark.asyncio
async def test_client_is_told_and_comes_back(nats_server_factory, server_faults, nats_history):
    server = nats_server_factory(lame_duck_grace_period="1s")
    nc = await nats.connect(
        server.url,
        reconnect_time_wait=0.05,
        max_reconnect_attempts=-1,
        **nats_history.nats_callbacks("app"),
    )

    def seen(kind):
        return any(e.kind == kind for e in nats_history.client_events())

    async with server_faults(server).lame_duck():
        await wait_until_async(lambda: seen("lame_duck"), timeout=3, what="lame_duck_mode_cb")
        await wait_until_async(lambda: seen("disconnected"), timeout=10, what="eviction")
    await wait_until_async(lambda: seen("reconnected"), timeout=10, what="back after restart")
    await nc.close()
