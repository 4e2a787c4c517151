"""Pause: SIGSTOP the server. The kernel still accepts; nothing answers: a timeout, not a
refusal."""

import nats
import pytest


@pytest.mark.asyncio
async def test_paused_server_times_out_requests(nats_server_factory, server_faults):
    server = nats_server_factory()
    nc = await nats.connect(server.url)
    async with server_faults(server).pause():
        with pytest.raises(nats.errors.TimeoutError):
            await nc.flush(timeout=0.5)
    await nc.flush(timeout=2)  # resumed on exit
    await nc.close()
