"""Helpers for the reference-service tests: configs, waits, paused-server checks, observers.

Every test in ``tests/reference`` runs against real nats-server processes from the
plugin's fixtures (``nats_server``, ``nats_server_factory``); nothing is mocked.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg

from harness.reference import ConnectionOptions, NATSConfig, ServiceEvent
from harness.servers import NatsServer

#: nats-py options that make faults visible quickly and keep connect attempts short.
FAST = ConnectionOptions(
    connect_timeout=0.5,
    reconnect_time_wait=0.05,
    max_reconnect_attempts=1,
    ping_interval=30,
    flush_timeout=1.0,
    dont_randomize=True,
)


def make_config(*servers: str, **fields: Any) -> NATSConfig:
    """A config for tests: fast connection options, long health interval, given servers."""
    base: dict[str, Any] = {
        "servers": servers,
        "connection": FAST,
        "pool_size": 2,
        "pool_init_timeout": 5.0,
        "health_check_interval": 60.0,
        "health_check_timeout": 0.5,
        "flush_timeout": 0.3,
        "flush_interval": 60.0,
        "batch_size": 1000,
        "close_timeout": 3.0,
    }
    base.update(fields)
    return NATSConfig(**base)


async def wait_for(
    probe: Callable[[], Any], *, timeout: float, what: str, interval: float = 0.005
) -> Any:
    """Poll ``probe`` (sync or async) until truthy; fail the test naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if isinstance(value, Awaitable):
            value = await value
        if value:
            return value
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(interval)


def _thread_states(pid: int) -> set[str]:
    states = set()
    for stat in Path(f"/proc/{pid}/task").glob("*/stat"):
        try:
            states.add(stat.read_text().rsplit(")", 1)[1].split()[0])
        except (OSError, IndexError):
            continue
    return states


async def pause_and_wait(server: NatsServer, timeout: float = 5.0) -> None:
    """SIGSTOP the server and wait until every thread is stopped.

    ``NatsServer.pause()`` only sends the signal; a Go process's threads stop a moment
    later, and a PONG can still be answered in between (seen while writing these tests).
    """
    server.pause()
    pid = server.pid
    assert pid is not None
    await wait_for(
        lambda: _thread_states(pid) <= {"T", "t"},
        timeout=timeout,
        what=f"{server.name} to be stopped",
    )


class Recorder:
    """Observer that keeps every :class:`ServiceEvent`."""

    def __init__(self) -> None:
        self.events: list[ServiceEvent] = []

    def __call__(self, event: ServiceEvent) -> None:
        self.events.append(event)

    def of(self, kind: str) -> list[ServiceEvent]:
        """Events of one kind, in order."""
        return [e for e in self.events if e.kind == kind]


async def raw_client(url: str, name: str = "test-observer") -> Client:
    """An independent nats-py connection (not the service's) for observing or setup."""
    return await nats.connect(
        url, name=name, connect_timeout=1, max_reconnect_attempts=1, reconnect_time_wait=0.05
    )


def subjects_for(service: Any, member: str, prefix: str, count: int) -> list[str]:
    """``count`` subjects ``<prefix>.<n>`` that the service routes to ``member``."""
    found: list[str] = []
    n = 0
    while len(found) < count:
        subject = f"{prefix}.{n}"
        if service.member_for(subject) == member:
            found.append(subject)
        n += 1
        assert n < 10_000, "routing never picked the member"
    return found


async def settle(client: Client, timeout: float = 5.0) -> None:
    """Return once the server processed everything ``client`` sent so far (SUBs included).

    ``client.flush()`` is not enough: nats-py writes its PING straight to the socket,
    ahead of SUBs and PUBs still in its pending buffer. A message to a private inbox goes
    through that buffer in order, so its echo proves the earlier commands were processed.
    """
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def echo(msg: Msg) -> None:
        if not done.done():
            done.set_result(None)

    inbox = client.new_inbox()
    sub = await client.subscribe(inbox, cb=echo)
    await client.publish(inbox, b"")
    async with asyncio.timeout(timeout):
        await done
    await sub.unsubscribe()
