"""Helpers for the reference-service tests: configs, waits, paused-server checks, observers.

Every test in ``tests/reference`` runs against real nats-server processes from the
plugin's fixtures (``nats_server``, ``nats_server_factory``); nothing is mocked.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import nats
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg

from nats_fault_harness import wait_until_async
from nats_fault_harness.errors import WaitTimeout
from nats_fault_harness.reference import ConnectionOptions, NATSConfig, NATSService, ServiceEvent

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
    try:
        return await wait_until_async(probe, timeout=timeout, what=what, interval=interval)
    except WaitTimeout as exc:
        pytest.fail(str(exc))


def assert_stats_add_up(service: NATSService) -> None:
    """Every accepted batched message is published, queued, batched or in flight."""
    s = service.get_connection_stats()
    held = (
        s.batch_messages_published
        + s.failed_batch_queue_size
        + s.current_batch_size
        + s.in_flight_messages
    )
    assert s.batch_messages_accepted == held, s


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
