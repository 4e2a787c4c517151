"""Fixtures for the proxy and toxics unit tests: an in-process server, a client, real upstreams.

Every async test runs twice, on the stdlib event loop and on uvloop (the stand-alone server
runs on uvloop; in-process users may run either).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping

import pytest
import pytest_asyncio
import uvloop

from nats_fault_harness.proxy import ProxyServer, ToxiproxyClient
from nats_fault_harness.proxy._testing import Upstream


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> Mapping[str, Callable[[], asyncio.AbstractEventLoop]]:
    """Run each async test on both event loops."""
    return {"asyncio": asyncio.new_event_loop, "uvloop": uvloop.new_event_loop}


@pytest_asyncio.fixture
async def server() -> AsyncIterator[ProxyServer]:
    """A proxy server on 127.0.0.1 with a random port and seed 1234.

    At teardown every proxy is stopped and no background task may be left running.
    """
    async with ProxyServer(seed=1234) as srv:
        yield srv
        await srv.collection.close_all()  # closes every connection: their toxics must end
        async with asyncio.timeout(5):
            await srv.runtime.tasks.wait_idle()
        assert srv.errors == [], srv.errors


@pytest_asyncio.fixture
async def client(server: ProxyServer) -> AsyncIterator[ToxiproxyClient]:
    """An API client for :func:`server`."""
    async with ToxiproxyClient(server.url) as api:
        yield api


@pytest_asyncio.fixture
async def upstream() -> AsyncIterator[Upstream]:
    """An echo server."""
    async with Upstream("echo") as up:
        yield up


@pytest_asyncio.fixture
async def sink() -> AsyncIterator[Upstream]:
    """A server that records and never answers."""
    async with Upstream("sink") as up:
        yield up
