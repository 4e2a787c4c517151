"""Reset: every live connection gets a TCP RST now; the client reconnects at once."""

import nats
import pytest

from nats_fault_harness import wait_until_async


@pytest.mark.asyncio
async def test_reset_is_seen_as_connection_reset(nats_link, nats_history):
    nc = await nats.connect(
        nats_link.url,
        reconnect_time_wait=0.05,
        max_reconnect_attempts=-1,
        **nats_history.nats_callbacks("app"),
    )
    nats_link.reset()()
    await wait_until_async(
        lambda: any(e.kind == "reconnected" for e in nats_history.client_events()),
        timeout=5,
        what="reconnect after RST",
    )
    errors = [e.detail["error"]["type"] for e in nats_history.client_events() if e.kind == "error"]
    assert "ConnectionResetError" in errors
    await nc.close()
