"""slow_close: the proxy delays closing the client side after the server went away."""

import time

import nats
import pytest

from nats_fault_harness import wait_until_async


@pytest.mark.asyncio
async def test_close_reaches_the_client_late(nats_server_factory, nats_link_factory, nats_history):
    server = nats_server_factory()
    link = nats_link_factory.link(server)
    nc = await nats.connect(
        link.url,
        reconnect_time_wait=0.05,
        max_reconnect_attempts=-1,
        **nats_history.nats_callbacks("app"),
    )
    with link.slow_close(500, stream="downstream"):
        stopped = time.monotonic()
        server.stop()
        await wait_until_async(
            lambda: any(e.kind == "disconnected" for e in nats_history.client_events()),
            timeout=5,
            what="the delayed close",
        )
        late_by = time.monotonic() - stopped
    assert late_by >= 0.45
    await nc.close()
