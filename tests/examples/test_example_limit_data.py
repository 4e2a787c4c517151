"""limit_data: the connection closes once N bytes went through in a direction."""

import nats
import pytest

from nats_fault_harness import wait_until_async


@pytest.mark.asyncio
async def test_connection_closes_after_the_byte_budget(nats_link, nats_history):
    nc = await nats.connect(
        nats_link.url,
        reconnect_time_wait=0.05,
        max_reconnect_attempts=-1,
        **nats_history.nats_callbacks("app"),
    )
    with nats_link.limit_data(2_000, stream="upstream"):
        for _ in range(40):
            await nc.publish("budget", b"y" * 100)
        await wait_until_async(
            lambda: any(e.kind == "disconnected" for e in nats_history.client_events()),
            timeout=5,
            what="close after 2,000 bytes",
        )
    await nc.close()
