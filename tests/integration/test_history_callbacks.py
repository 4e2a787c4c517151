"""nats-py callbacks wired into a History, observed with a real server fault."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import nats
import pytest
from nats.aio.client import Client as NATS

from nats_fault_harness import wait_until_async
from nats_fault_harness.faults import Link
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


# ---------------------------------------------------------------------- the app's own callbacks
async def _down_and_back(link: Link, history: History, client: str) -> None:
    """Take ``link`` down until ``client`` was disconnected, then wait for the reconnect."""

    def kinds() -> list[str]:
        return [e.kind for e in history.client_events(client)]

    with link.down():
        await wait_until_async(lambda: "disconnected" in kinds(), timeout=10, what="disconnect")
    await wait_until_async(lambda: "reconnected" in kinds(), timeout=10, what="reconnect")


@pytest.mark.asyncio
async def test_wrapped_sync_and_async_app_callbacks_are_recorded_and_called(
    nats_link: Link, nats_history: History
) -> None:
    called: list[tuple[str, int]] = []  # (callback, client events recorded when it ran)

    def recorded() -> int:
        return len(nats_history.client_events("svc"))

    def on_disconnected() -> None:  # sync: nats-py alone would refuse it
        called.append(("disconnected", recorded()))

    async def on_reconnected() -> None:
        called.append(("reconnected", recorded()))

    async def on_closed() -> None:
        called.append(("closed", recorded()))

    nc = await nats.connect(
        nats_link.url,
        reconnect_time_wait=0.05,
        max_reconnect_attempts=-1,
        **nats_history.nats_callbacks(
            "svc",
            disconnected_cb=on_disconnected,
            reconnected_cb=on_reconnected,
            closed_cb=on_closed,
        ),
    )
    await _down_and_back(nats_link, nats_history, "svc")
    await nc.close()
    await wait_until_async(lambda: ("closed", recorded()) in called, timeout=5, what="closed")
    events = nats_history.client_events("svc")
    kinds = [e.kind for e in events]
    # every app call happened after its own event was recorded, once per event
    for name, seen in called:
        assert kinds[seen - 1] == name, (name, seen, kinds)
    assert [name for name, _ in called] == [
        k for k in kinds if k in ("disconnected", "reconnected", "closed")
    ]
    assert [name for name, _ in called][:2] == ["disconnected", "reconnected"]
    assert called[-1][0] == "closed"
    (fault,) = nats_history.faults()
    assert fault.kind == "down"
    assert fault.start <= events[kinds.index("disconnected")].t <= fault.end  # type: ignore[operator]


def _connect_without_lame_duck(
    servers: str,
    *,
    error_cb: Callable[..., Any] | None = None,
    disconnected_cb: Callable[..., Any] | None = None,
    closed_cb: Callable[..., Any] | None = None,
    discovered_server_cb: Callable[..., Any] | None = None,
    reconnected_cb: Callable[..., Any] | None = None,
    reconnect_time_wait: float = 2.0,
) -> Awaitable[NATS]:
    """A client entry point that, like FastStream's NatsBroker, has no lame_duck_mode_cb."""
    return nats.connect(
        servers,
        error_cb=error_cb,
        disconnected_cb=disconnected_cb,
        closed_cb=closed_cb,
        discovered_server_cb=discovered_server_cb,
        reconnected_cb=reconnected_cb,
        reconnect_time_wait=reconnect_time_wait,
        max_reconnect_attempts=-1,
    )


@pytest.mark.asyncio
async def test_filtered_callbacks_fit_a_client_without_lame_duck_mode_cb(
    nats_link: Link, nats_history: History
) -> None:
    disconnects: list[str] = []
    with pytest.raises(TypeError, match="lame_duck_mode_cb"):
        _connect_without_lame_duck(nats_link.url, **nats_history.nats_callbacks("unfiltered"))
    callbacks = nats_history.nats_callbacks(
        "svc",
        accepts=_connect_without_lame_duck,
        disconnected_cb=lambda: disconnects.append("down"),
    )
    assert "lame_duck_mode_cb" not in callbacks
    nc = await _connect_without_lame_duck(nats_link.url, reconnect_time_wait=0.05, **callbacks)
    await _down_and_back(nats_link, nats_history, "svc")
    await nc.close()
    assert disconnects[:1] == ["down"]
    assert "disconnected" in [e.kind for e in nats_history.client_events("svc")]


@pytest.mark.asyncio
async def test_faststream_nats_broker_takes_the_filtered_callbacks(
    nats_link: Link, nats_history: History
) -> None:
    faststream_nats = pytest.importorskip("faststream.nats")
    broker_cls = faststream_nats.NatsBroker
    with pytest.raises(TypeError, match="lame_duck_mode_cb"):
        broker_cls(nats_link.url, **nats_history.nats_callbacks("unfiltered"))
    app_errors: list[str] = []

    async def on_error(exc: Exception) -> None:
        app_errors.append(type(exc).__name__)

    broker = broker_cls(
        nats_link.url,
        reconnect_time_wait=0.05,
        max_reconnect_attempts=-1,
        **nats_history.nats_callbacks("broker", accepts=broker_cls, error_cb=on_error),
    )
    await broker.connect()
    try:
        await _down_and_back(nats_link, nats_history, "broker")
    finally:
        await broker.stop()
    kinds = [e.kind for e in nats_history.client_events("broker")]
    assert kinds.index("disconnected") < kinds.index("reconnected")
    assert app_errors == [
        e.detail["error"]["type"] for e in nats_history.client_events("broker") if e.kind == "error"
    ]
