"""Server kill: SIGKILL the server, restart it on the same port when the block ends."""

import nats
import pytest

from nats_fault_harness import wait_until_async


@pytest.mark.asyncio
async def test_kill_and_come_back(nats_server_factory, server_faults, nats_history):
    server = nats_server_factory()
    nc = await nats.connect(
        server.url,
        reconnect_time_wait=0.05,
        max_reconnect_attempts=-1,
        **nats_history.nats_callbacks("app"),
    )
    async with server_faults(server).kill():
        await wait_until_async(
            lambda: any(e.kind == "disconnected" for e in nats_history.client_events()),
            timeout=5,
            what="disconnect",
        )
    await wait_until_async(
        lambda: any(e.kind == "reconnected" for e in nats_history.client_events()),
        timeout=10,
        what="reconnect to the restarted server",
    )
    await nc.close()
