import time

import nats
import pytest


def test_a_real_server_is_running(nats_server):
    assert nats_server.url.startswith("nats://127.0.0.1:")


@pytest.mark.asyncio
async def test_latency_slows_a_round_trip(nats_link, nats_history):
    nc = await nats.connect(nats_link.url, **nats_history.nats_callbacks("app"))
    async with nats_link.latency(150, stream="downstream"):
        started = time.monotonic()
        await nc.flush(timeout=5)
        assert time.monotonic() - started >= 0.14
    await nc.close()


@pytest.mark.asyncio
async def test_requests_time_out_in_a_blackhole(nats_link):
    responder = await nats.connect(nats_link.url)

    async def echo(msg):
        await msg.respond(msg.data)

    await responder.subscribe("echo", cb=echo)
    await responder.flush()
    nc = await nats.connect(nats_link.url)
    with nats_link.blackhole(), pytest.raises(nats.errors.TimeoutError):
        await nc.request("echo", b"during", timeout=0.5)
    assert (await nc.request("echo", b"after", timeout=5)).data == b"after"
    await nc.close()
    await responder.close()
