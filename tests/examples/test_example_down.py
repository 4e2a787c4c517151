"""Down: the proxy refuses connections and closes live ones, like a server gone away."""

import nats
import pytest

from nats_fault_harness import wait_until_async


@pytest.mark.asyncio
async def test_down_disconnects_and_heal_reconnects(nats_link, nats_history):
    nc = await nats.connect(
        nats_link.url,
        reconnect_time_wait=0.05,
        max_reconnect_attempts=-1,
        **nats_history.nats_callbacks("app"),
    )

    def seen(kind):
        return any(e.kind == kind for e in nats_history.client_events())

    with nats_link.down():
        await wait_until_async(lambda: seen("disconnected"), timeout=5, what="disconnect")
        assert not nc.is_connected
    await wait_until_async(lambda: seen("reconnected"), timeout=5, what="reconnect")
    await nc.close()
    (window,) = nats_history.faults()
    assert window.kind == "down"
    assert window.end is not None
