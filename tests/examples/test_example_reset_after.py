"""Reset after N bytes: the connection gets an RST in the middle of a stream of publishes.

Unlike ``limit_data`` (a FIN: "the server left"), the client sees ``ConnectionResetError``.
Publishes already handed to nats-py when the RST hits are lost without an error: the
silent loss a service must account for.
"""

import nats
import pytest

from nats_fault_harness import wait_until_async


@pytest.mark.asyncio
async def test_reset_in_the_middle_of_publishing(nats_link, nats_server, nats_history):
    observer = await nats.connect(nats_server.url)
    sub = await observer.subscribe("batch.>")
    await observer.flush()
    nc = await nats.connect(
        nats_link.url,
        reconnect_time_wait=0.05,
        max_reconnect_attempts=-1,
        **nats_history.nats_callbacks("app"),
    )
    with nats_link.reset(after_bytes=3_000, stream="upstream"):
        for i in range(100):
            await nc.publish(f"batch.{i}", b"z" * 64)
        await wait_until_async(
            lambda: any(e.kind == "disconnected" for e in nats_history.client_events()),
            timeout=5,
            what="the reset",
        )
    errors = [e.detail["error"]["type"] for e in nats_history.client_events() if e.kind == "error"]
    assert "ConnectionResetError" in errors
    received = 0
    while True:
        try:
            await sub.next_msg(timeout=0.5)
            received += 1
        except nats.errors.TimeoutError:
            break
    assert 0 < received < 100  # some got through before the RST, the rest were cut
    await nc.close()
    await observer.close()
