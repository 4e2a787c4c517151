"""Drop: bytes are read and discarded, so publishes vanish while the socket stays open.

Unlike a blackhole nothing is delivered after healing: healing closes the affected
connections (their byte streams are corrupt), and the client reconnects.
"""

import nats
import pytest

from nats_fault_harness import wait_until_async


@pytest.mark.asyncio
async def test_dropped_publishes_never_arrive(nats_link, nats_server, nats_history):
    observer = await nats.connect(nats_server.url)  # bypasses the proxy: ground truth
    sub = await observer.subscribe("drop.>")
    await observer.flush()
    nc = await nats.connect(
        nats_link.url,
        reconnect_time_wait=0.05,
        max_reconnect_attempts=-1,
        **nats_history.nats_callbacks("app"),
    )
    with nats_link.drop(stream="upstream"):
        for i in range(10):
            await nc.publish(f"drop.{i}", b"lost")
        with pytest.raises(nats.errors.TimeoutError):
            await nc.flush(timeout=0.5)
    await wait_until_async(
        lambda: any(e.kind == "reconnected" for e in nats_history.client_events()),
        timeout=5,
        what="reconnect after the drop healed",
    )
    await nc.publish("drop.after", b"kept")
    await nc.flush()
    msg = await sub.next_msg(timeout=10)
    assert msg.subject == "drop.after"  # none of the ten dropped ones came first
    await nc.close()
    await observer.close()
