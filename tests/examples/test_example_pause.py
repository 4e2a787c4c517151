"""Pause: SIGSTOP the server. The kernel still accepts; nothing answers: a timeout, not a
refusal. Healing (SIGCONT) lets everything that waited go through.

(Requests are used rather than ``flush(timeout=...)``: in nats-py 2.16 a flush that timed
out leaves a cancelled future whose late PONG stops the client's read loop.)
"""

import nats
import pytest


@pytest.mark.asyncio
async def test_paused_server_times_out_requests(nats_server_factory, server_faults):
    server = nats_server_factory()
    responder = await nats.connect(server.url)

    async def echo(msg):
        await msg.respond(msg.data)

    await responder.subscribe("echo", cb=echo)
    await responder.flush()
    nc = await nats.connect(server.url)
    assert (await nc.request("echo", b"before", timeout=2)).data == b"before"
    async with server_faults(server).pause():
        with pytest.raises(nats.errors.TimeoutError):
            await nc.request("echo", b"during", timeout=0.5)
    assert (await nc.request("echo", b"after", timeout=5)).data == b"after"
    await nc.close()
    await responder.close()
