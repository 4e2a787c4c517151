"""Pool initialization with all, some and none of the members reachable (real servers).

"Unreachable" is a bound-but-not-listening port (connects refused at once). nats-py
retries the initial connect ``max_reconnect_attempts + 1`` times, so the tests use
``max_reconnect_attempts=1`` and a short wait, and bound each connect with a deadline.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
from reference_support import Recorder, make_config

from nats_fault_harness.reference import NATSConnectionError, NATSService
from nats_fault_harness.servers import NatsServer


@pytest.mark.asyncio
async def test_all_members_connect(nats_server: NatsServer, recorder: Recorder) -> None:
    service = NATSService(make_config(nats_server.url, pool_size=3, name="pool-all"))
    service.add_observer(recorder)
    async with asyncio.timeout(10):
        report = await service.connect()
    try:
        assert report.enabled
        assert not report.partial
        assert report.connected == ("pool-all-pool-0", "pool-all-pool-1", "pool-all-pool-2")
        assert report.failures == {}
        stats = service.get_connection_stats()
        assert (stats.pool_init_successes, stats.pool_init_failures) == (3, 0)
        assert stats.pool_active_members == 3
        names = {c["name"] for c in nats_server.connz()["connections"]}
        assert {"pool-all-main", *report.connected} <= names
    finally:
        await service.close()


@pytest.mark.asyncio
async def test_partial_pool_continues_with_members_that_connected(
    nats_server: NatsServer, refused_url: str, recorder: Recorder
) -> None:
    members = ((nats_server.url,), (refused_url,), (nats_server.url,))
    config = make_config(nats_server.url, pool_size=3, pool_member_servers=members, name="pp")
    service = NATSService(config)
    service.add_observer(recorder)
    started = time.monotonic()
    async with asyncio.timeout(10):
        report = await service.connect()
    took = time.monotonic() - started
    try:
        assert report.partial
        assert report.enabled
        assert report.connected == ("pp-pool-0", "pp-pool-2")
        assert list(report.failures) == ["pp-pool-1"]
        reason = report.failures["pp-pool-1"]
        assert "NoServersError" in reason, reason
        assert "ConnectionRefusedError" in reason, reason
        assert [e.member for e in recorder.of("pool_member_failed")] == ["pp-pool-1"]
        assert took < 3.0, f"pool init took {took:.2f}s"
        stats = service.get_connection_stats()
        assert (stats.pool_init_successes, stats.pool_init_failures) == (2, 1)
        assert stats.pool_init_errors == report.failures
        # Batches only use the members that connected.
        used = {service.member_for(f"s.{i}") for i in range(50)}
        assert used == {"pp-pool-0", "pp-pool-2"}
        for i in range(20):
            await service.publish_batched(f"s.{i}", b"x")
        result = await service.flush()
        assert result.successful_messages == 20
        assert result.failed_messages == 0
    finally:
        await service.close()


@pytest.mark.asyncio
async def test_no_member_connects_pool_disabled_falls_back_to_main(
    nats_server: NatsServer, refused_url: str, recorder: Recorder
) -> None:
    members = ((refused_url,), (refused_url,))
    config = make_config(nats_server.url, pool_size=2, pool_member_servers=members, name="np")
    service = NATSService(config)
    service.add_observer(recorder)
    async with asyncio.timeout(10):
        report = await service.connect()
    try:
        assert not report.enabled
        assert report.connected == ()
        assert set(report.failures) == {"np-pool-0", "np-pool-1"}
        assert len(recorder.of("pool_disabled")) == 1
        assert service.member_for("any.subject") == "np-main"
        stats = service.get_connection_stats()
        assert not stats.pool_enabled
        assert (stats.pool_init_successes, stats.pool_init_failures) == (0, 2)
        await service.publish_batched("fallback.x", b"1")
        result = await service.flush()
        assert result.successful_messages == 1
    finally:
        await service.close()


@pytest.mark.asyncio
async def test_main_connection_unreachable_raises(refused_url: str) -> None:
    service = NATSService(make_config(refused_url, pool_size=1))
    async with asyncio.timeout(10):
        with pytest.raises(NATSConnectionError) as info:
            await service.connect()
    assert "ConnectionRefusedError" in str(info.value)
    assert info.value.__cause__ is info.value.cause is not None
    await service.close()


@pytest.mark.asyncio
async def test_member_servers_on_different_servers(
    nats_server_factory: Callable[..., NatsServer],
) -> None:
    a, b = nats_server_factory(name="pool-a"), nats_server_factory(name="pool-b")
    config = make_config(a.url, pool_size=2, pool_member_servers=((a.url,), (b.url,)), name="ab")
    async with NATSService(config) as service:
        assert service.pool_report is not None
        assert service.pool_report.enabled
        on_a = {c["name"] for c in a.connz()["connections"]}
        on_b = {c["name"] for c in b.connz()["connections"]}
        assert {"ab-main", "ab-pool-0"} <= on_a
        assert "ab-pool-1" not in on_a
        assert on_b == {"ab-pool-1"}


@pytest.mark.asyncio
async def test_member_on_a_paused_server_times_out(
    nats_server: NatsServer, nats_server_factory: Callable[..., NatsServer]
) -> None:
    stuck = nats_server_factory(name="stuck")
    stuck.pause()  # returns once every thread is stopped
    try:
        members = ((nats_server.url,), (stuck.url,))
        config = make_config(nats_server.url, pool_member_servers=members, name="ps",
                             pool_init_timeout=0.8)  # fmt: skip
        service = NATSService(config)
        started = time.monotonic()
        report = await service.connect()
        took = time.monotonic() - started
        try:
            assert report.connected == ("ps-pool-0",)
            # The kernel accepts the TCP connection; the paused server never sends INFO.
            assert "TimeoutError" in report.failures["ps-pool-1"]
            assert took < 0.8 + 1.0, took
        finally:
            await service.close()
    finally:
        stuck.resume()
