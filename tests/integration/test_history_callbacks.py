"""nats-py callbacks wired into a History, observed with a real server fault."""

from __future__ import annotations

from collections.abc import Callable

import nats
import pytest

from nats_fault_harness import wait_until_async
from nats_fault_harness.history import History
from nats_fault_harness.servers import NatsServer


@pytest.mark.asyncio
async def test_kill_and_restart_are_journaled_in_order(
    nats_server_factory: Callable[..., NatsServer], nats_history: History
) -> None:
    server = nats_server_factory()
    nc = await nats.connect(
        server.url,
        reconnect_time_wait=0.05,
        max_reconnect_attempts=100,
        **nats_history.nats_callbacks("client-a"),
    )
    fid = nats_history.fault_started("kill", f"server:{server.name}")
    server.kill()
    server.restart()
    nats_history.fault_ended(fid)

    def kinds() -> list[str]:
        return [e.kind for e in nats_history.client_events("client-a")]

    await wait_until_async(lambda: "reconnected" in kinds(), timeout=10, what="reconnect")
    await nc.close()
    await wait_until_async(lambda: "closed" in kinds(), timeout=5, what="closed_cb")
    seen = kinds()
    assert seen.index("disconnected") < seen.index("reconnected") < seen.index("closed")
    errors = [e for e in nats_history.client_events() if e.kind == "error"]
    assert errors, "the SIGKILL must surface as an error callback (UnexpectedEOF)"
    assert errors[0].detail["error"]["type"] == "UnexpectedEOF"
    (fault,) = nats_history.faults()
    disconnected_at = next(e.t for e in nats_history.client_events() if e.kind == "disconnected")
    assert fault.start <= disconnected_at
