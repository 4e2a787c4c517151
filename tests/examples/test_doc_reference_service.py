"""The reference service in your own test: configured, connected through a link, faulted."""

import nats
import pytest

from nats_fault_harness import wait_until_async
from nats_fault_harness.reference import (
    ConnectionOptions,
    NATSConfig,
    NATSPublishError,
    NATSService,
)


def make_config(url):
    return NATSConfig(
        name="orders-svc",  # connections are orders-svc-main, orders-svc-pool-<i>
        servers=(url,),
        pool_size=2,
        connection=ConnectionOptions(connect_timeout=1, reconnect_time_wait=0.05),
        flush_timeout=0.5,  # a publish not confirmed by then raises NATSPublishError
        batch_size=10,
        max_batch_retries=2,
        retry_base_delay=0.05,  # retry k waits 0.05 * 2**k seconds
        health_check_interval=1,
        health_check_timeout=0.5,  # must not exceed the interval (checked at once)
    )


@pytest.mark.asyncio
async def test_reference_service_under_a_blackhole(nats_server, nats_link, nats_history):
    events = []
    observer = await nats.connect(nats_server.url)  # straight to the server
    got = []

    async def collect(msg):
        got.append(msg.data)

    await observer.subscribe("orders.>", cb=collect)
    await observer.flush()

    service = NATSService(make_config(nats_link.url))
    # the service reports what it does to observers; journal it with the test's faults
    service.add_observer(events.append)
    service.add_observer(lambda e: nats_history.client_event("orders-svc", e.kind))
    async with service:  # connect() ... close()
        assert service.pool_report.connected == ("orders-svc-pool-0", "orders-svc-pool-1")
        await service.publish("orders.new", b"1")  # returns once the server has it

        with nats_link.blackhole():
            with pytest.raises(NATSPublishError) as info:
                await service.publish("orders.new", b"2")
            assert info.value.ambiguous  # the bytes left: the server may still get them

        for i in range(10):
            await service.publish_batched("orders.batch", str(i).encode())
        result = await service.flush()
        assert result.failed_messages == 0

    await wait_until_async(lambda: len(got) >= 12, timeout=5, what="messages at the observer")
    await observer.close()
    assert b"2" in got  # the blackhole held it; the heal delivered it
    assert "group_published" in {e.kind for e in events}
    assert [f.kind for f in nats_history.faults()] == ["blackhole"]


def test_config_is_validated_before_anything_connects():
    config = NATSConfig.model_validate({"name": "svc", "servers": ["nats://127.0.0.1:4222"]})
    assert config.pool_size == 3
    assert config.model_copy(update={"pool_size": 0}).pool_size == 0
    with pytest.raises(ValueError, match="max_reconnect_attempts"):
        ConnectionOptions(max_reconnect_attempts=0)  # nats-py reads 0 as "unlimited"
    with pytest.raises(ValueError, match="health_check_timeout must not exceed"):
        NATSConfig(health_check_interval=1)  # the timeout defaults to 2 s
