"""Process faults on a real server, each observed by a real nats-py client."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from typing import Any

import nats
import pytest

from nats_fault_harness import wait_until_async as until
from nats_fault_harness.servers import NatsServer


async def connect(server: NatsServer, events: Any, **kw: object) -> nats.NATS:
    options: dict[str, object] = {
        "connect_timeout": 1,
        "reconnect_time_wait": 0.05,
        "max_reconnect_attempts": 200,
        "ping_interval": 1,
        "max_outstanding_pings": 2,
        **events.options(),
        **kw,
    }
    return await nats.connect(server.url, **options)


@pytest.mark.asyncio
async def test_kill_then_restart_on_same_port_client_reconnects(
    nats_server_factory: Callable[..., NatsServer],
    callback_log: Any,
) -> None:
    server = nats_server_factory()
    port, events = server.port, callback_log()
    nc = await connect(server, events)
    got: list[bytes] = []

    async def on_msg(msg: nats.aio.msg.Msg) -> None:
        got.append(msg.data)

    await nc.subscribe("k.>", cb=on_msg)
    await nc.flush()
    old_pid = server.pid
    server.kill()
    assert not server.is_running
    await until(
        lambda: "disconnected" in events.names(), timeout=5, what="disconnected_cb after SIGKILL"
    )
    server.restart()
    assert server.port == port
    assert server.pid != old_pid
    await until(
        lambda: "reconnected" in events.names(), timeout=10, what="reconnected_cb after restart"
    )
    await nc.publish("k.after", b"x")
    await nc.flush()
    await until(lambda: got == [b"x"], timeout=5, what="subscription replayed after reconnect")
    await nc.close()


@pytest.mark.asyncio
async def test_pause_makes_client_go_stale_and_resume_recovers(
    nats_server_factory: Callable[..., NatsServer],
    callback_log: Any,
) -> None:
    server, events = nats_server_factory(), callback_log()
    nc = await connect(server, events)
    paused_at = time.monotonic()
    server.pause()
    assert server.is_paused
    with pytest.raises(nats.errors.TimeoutError):
        await nc.flush(timeout=0.5)
    await until(lambda: "disconnected" in events.names(), timeout=8, what="stale detection")
    stale_after = events.at("disconnected") - paused_at
    # (max_outstanding_pings + 1) x ping_interval = 3 s, +- one interval.
    assert 1.8 <= stale_after <= 4.5, stale_after
    server.resume()
    assert not server.is_paused
    await until(lambda: "reconnected" in events.names(), timeout=10, what="reconnect after SIGCONT")
    await nc.flush(timeout=2)
    await nc.close()


@pytest.mark.asyncio
async def test_lame_duck_is_seen_by_the_client_callback(
    nats_server_factory: Callable[..., NatsServer],
    callback_log: Any,
) -> None:
    server, events = nats_server_factory(lame_duck_grace_period="1s"), callback_log()
    nc = await connect(server, events, max_reconnect_attempts=2)
    sent = time.monotonic()
    server.lame_duck()
    await until(lambda: "lame_duck" in events.names(), timeout=3, what="lame_duck_mode_cb")
    assert events.at("lame_duck") - sent < 1.0
    # After the grace period the server evicts its only client and exits by itself.
    await until(
        lambda: "disconnected" in events.names(), timeout=10, what="eviction after grace period"
    )
    assert events.at("disconnected") - sent >= 0.8
    assert await asyncio.to_thread(server.wait_exit, 30) == 0
    await nc.close()


@pytest.mark.asyncio
async def test_stop_is_graceful_and_kill_is_not(
    nats_server_factory: Callable[..., NatsServer],
) -> None:
    server = nats_server_factory()
    server.pause()
    started = time.monotonic()
    server.stop()  # must SIGCONT first, or SIGTERM would stay pending forever
    assert time.monotonic() - started < 2.5
    assert not server.is_running
    assert any("Server Exiting" in line for line in server.log_tail())
    server.start()
    server.kill()
    assert not any("Server Exiting" in line for line in server.log_tail(5))


def test_shared_server_is_reset_between_tests_part1(nats_server: NatsServer) -> None:
    nats_server.pause()
    os.environ["NFH_SHARED_PID"] = str(nats_server.pid)


def test_shared_server_is_reset_between_tests_part2(nats_server: NatsServer) -> None:
    assert not nats_server.is_paused
    assert nats_server.healthz()["status"] == "ok"
    nats_server.kill()


def test_shared_server_is_reset_between_tests_part3(nats_server: NatsServer) -> None:
    assert nats_server.is_running
    assert nats_server.healthz()["status"] == "ok"
