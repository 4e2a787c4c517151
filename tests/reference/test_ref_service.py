"""NATSService against a real server: publish, batching, subscribe, request, unsubscribe."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable

import pytest
from nats.aio.msg import Msg
from reference_support import (
    Recorder,
    assert_stats_add_up,
    make_config,
    raw_client,
    settle,
    wait_for,
)

from nats_fault_harness.reference import (
    ConnectionOptions,
    IncomingMessage,
    NATSConnectionError,
    NATSPublishError,
    NATSRequestError,
    NATSService,
    NATSUnsubscribeError,
)
from nats_fault_harness.servers import NatsServer


@pytest.mark.asyncio
async def test_publish_is_confirmed_and_received(nats_server: NatsServer) -> None:
    observer = await raw_client(nats_server.url)
    got: list[bytes] = []

    async def collect(msg: Msg) -> None:
        got.append(msg.data)

    sub = await observer.subscribe("basic.>", cb=collect)
    await settle(observer)
    async with NATSService(make_config(nats_server.url)) as service:
        for i in range(10):
            await service.publish(f"basic.{i}", str(i).encode())
        await wait_for(lambda: len(got) == 10, timeout=5, what="10 messages at the observer")
        stats = service.get_connection_stats()
        assert stats.messages_published == 10
        assert stats.messages_publish_failed == 0
    await sub.unsubscribe()
    await observer.close()


@pytest.mark.asyncio
async def test_batches_flush_by_size_and_by_interval(nats_server: NatsServer) -> None:
    observer = await raw_client(nats_server.url)
    ids: Counter[str] = Counter()

    async def count(msg: Msg) -> None:
        ids[(msg.headers or {})["Nats-Msg-Id"]] += 1

    await observer.subscribe("batch.>", cb=count)
    await settle(observer)
    config = make_config(nats_server.url, batch_size=10, flush_interval=0.2)
    async with NATSService(config) as service:
        sent = [await service.publish_batched(f"batch.{i % 3}", b"x") for i in range(10)]
        # Size trigger: the background flusher takes the batch without waiting 0.2 s.
        await wait_for(lambda: set(sent) <= set(ids), timeout=2, what="size-triggered flush")
        more = [await service.publish_batched("batch.tail", b"y") for _ in range(3)]
        assert service.get_connection_stats().current_batch_size == 3
        await wait_for(lambda: set(more) <= set(ids), timeout=2, what="interval-triggered flush")
        stats = service.get_connection_stats()
        assert stats.batches_flushed >= 2
        assert stats.total_flush_successful_messages == 13
        assert stats.total_flush_failed_messages == 0
        assert_stats_add_up(service)
    assert all(n == 1 for n in ids.values())
    await observer.close()


@pytest.mark.asyncio
async def test_flush_totals_count_each_group_as_its_event_is_emitted(
    nats_server: NatsServer,
) -> None:
    """A stats snapshot taken mid-flush agrees with the group events already emitted.

    Two subjects make two groups per flush; the observer reads the statistics the moment
    each ``group_published`` arrives, before the flush as a whole has returned.
    """
    config = make_config(nats_server.url, batch_size=1000, flush_interval=60)
    seen: list[tuple[int, int]] = []
    published = 0
    async with NATSService(config) as service:

        def read_stats(event: object) -> None:
            nonlocal published
            if getattr(event, "kind", None) == "group_published":
                published += len(getattr(event, "message_ids", ()))
                stats = service.get_connection_stats()
                seen.append((published, stats.total_flush_successful_messages))

        service.add_observer(read_stats)
        for i in range(20):
            await service.publish_batched(f"mid.{i % 2}", b"x")
        result = await service.flush()
    assert result.successful_messages == 20
    assert [total for _, total in seen] == [10, 20]
    assert all(total == emitted for emitted, total in seen)


@pytest.mark.asyncio
async def test_close_flushes_the_current_batch(nats_server: NatsServer) -> None:
    observer = await raw_client(nats_server.url)
    seen: set[str] = set()

    async def record(msg: Msg) -> None:
        seen.add((msg.headers or {})["Nats-Msg-Id"])

    await observer.subscribe("closing.>", cb=record)
    await settle(observer)
    service = NATSService(make_config(nats_server.url))
    await service.connect()
    sent = {await service.publish_batched("closing.a", b"x") for _ in range(25)}
    await service.close()
    stats = service.get_connection_stats()
    assert stats.batch_messages_published == 25
    assert stats.connected is False
    await wait_for(lambda: sent <= seen, timeout=5, what="batch flushed by close()")
    with pytest.raises(NATSPublishError) as info:
        await service.publish_batched("closing.a", b"late")
    assert info.value.ambiguous is False
    await observer.close()


@pytest.mark.asyncio
async def test_subscribe_handler_errors_are_isolated(
    nats_server: NatsServer, recorder: Recorder
) -> None:
    async with NATSService(make_config(nats_server.url)) as service:
        service.add_observer(recorder)
        got: list[IncomingMessage] = []

        async def handler(msg: IncomingMessage) -> None:
            if msg.data == b"boom":
                raise RuntimeError("handler bug")
            got.append(msg)

        info = await service.subscribe("iso.*", handler)
        for data in (b"ok1", b"boom", b"ok2"):
            await service.publish("iso.x", data)
        await wait_for(lambda: len(got) == 2, timeout=5, what="two good messages")
        assert [m.data for m in got] == [b"ok1", b"ok2"]
        stats = service.get_connection_stats()
        assert stats.messages_received == 3
        assert stats.handler_errors == 1
        assert "RuntimeError: handler bug" in (recorder.of("handler_error")[0].error or "")
        await service.unsubscribe(info)
        assert service.get_connection_stats().subscriptions == 0
        with pytest.raises(NATSUnsubscribeError) as info_err:
            await service.unsubscribe(info)
        assert info_err.value.subscription_id == info.id


@pytest.mark.asyncio
async def test_request_timeout_versus_no_responders(nats_server: NatsServer) -> None:
    async with NATSService(make_config(nats_server.url)) as service:
        with pytest.raises(NATSRequestError) as none:
            await service.request("nobody.home", b"?", timeout=2.0)
        err = none.value
        assert err.no_responders is True
        assert err.timed_out is False
        assert err.subject == "nobody.home"
        assert err.timeout == 2.0
        assert type(err.cause).__name__ == "NoRespondersError"
        assert err.__cause__ is err.cause

        async def silent(msg: IncomingMessage) -> None:
            return None

        async def echo(msg: IncomingMessage) -> None:
            await service.publish(msg.reply, msg.data.upper())

        await service.subscribe("silent.svc", silent)
        await service.subscribe("echo.svc", echo)
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(NATSRequestError) as late:
            await service.request("silent.svc", b"?", timeout=0.3)
        took = loop.time() - started
        assert late.value.timed_out is True
        assert late.value.no_responders is False
        assert late.value.timeout == 0.3
        assert 0.29 <= took < 1.0
        reply = await service.request("echo.svc", b"hi", timeout=2.0)
        assert reply.data == b"HI"


@pytest.mark.asyncio
async def test_unsubscribe_after_close_raises(nats_server: NatsServer) -> None:
    service = NATSService(make_config(nats_server.url))
    await service.connect()

    async def handler(msg: IncomingMessage) -> None:
        return None

    info = await service.subscribe("gone.*", handler)
    await service.close()
    with pytest.raises(NATSUnsubscribeError) as caught:
        await service.unsubscribe(info)
    assert type(caught.value.cause).__name__ == "ConnectionClosedError"
    assert caught.value.subject == "gone.*"
    with pytest.raises(NATSRequestError) as req:
        await service.request("gone.x")
    assert type(req.value.cause).__name__ == "ConnectionClosedError"


@pytest.mark.asyncio
async def test_unsubscribe_on_connection_closed_by_a_fault(
    nats_server_factory: Callable[..., NatsServer], recorder: Recorder
) -> None:
    server = nats_server_factory(name="dies")
    options = ConnectionOptions(connect_timeout=0.3, reconnect_time_wait=0.05,
                                max_reconnect_attempts=1)  # fmt: skip
    service = NATSService(make_config(server.url, connection=options, pool_size=0))
    service.add_observer(recorder)
    await service.connect()

    async def handler(msg: IncomingMessage) -> None:
        return None

    info = await service.subscribe("fault.*", handler)
    server.kill()
    # Reconnect attempts are exhausted quickly; nats-py then closes the connection.
    await wait_for(lambda: recorder.of("closed"), timeout=10, what="connection closed")
    with pytest.raises(NATSUnsubscribeError) as caught:
        await service.unsubscribe(info)
    assert type(caught.value.cause).__name__ == "ConnectionClosedError"
    with pytest.raises(NATSPublishError) as pub:
        await service.publish("fault.x", b"1")
    assert pub.value.ambiguous is False
    await service.close()


@pytest.mark.asyncio
async def test_methods_before_connect_raise_connection_error() -> None:
    service = NATSService(make_config("nats://127.0.0.1:1"))
    with pytest.raises(NATSConnectionError):
        await service.publish("a", b"")
    with pytest.raises(NATSConnectionError):
        await service.flush()
    assert service.get_connection_stats().connected is False


@pytest.mark.asyncio
async def test_stats_carry_the_documented_metrics(nats_server: NatsServer) -> None:
    async with NATSService(make_config(nats_server.url)) as service:

        def broken_observer(event: object) -> None:
            raise ValueError("observer bug")

        service.add_observer(broken_observer)
        for i in range(7):
            await service.publish_batched(f"metrics.{i % 2}", b"m")
        result = await service.flush()
        stats = service.get_connection_stats().as_dict()
    documented = {
        "failed_batch_queue_size",
        "current_batch_size",
        "last_flush_successful_messages",
        "last_flush_failed_messages",
        "pool_init_successes",
        "pool_init_failures",
        "retry_attempts",
        "retry_log",
    }
    assert documented <= set(stats)
    assert stats["last_flush_successful_messages"] == result.successful_messages == 7
    assert stats["pool_init_successes"] == 2
    assert stats["observer_errors"] >= 3  # flush started + 2 groups, and the service went on
    assert set(stats["members"]) == {"nats-service-main", "nats-service-pool-0",
                                     "nats-service-pool-1"}  # fmt: skip


@pytest.mark.asyncio
async def test_bad_subjects_are_refused_at_the_call(nats_server: NatsServer) -> None:
    async with NATSService(make_config(nats_server.url)) as service:
        for bad in ("", "a b", "a.*", "a..b"):
            with pytest.raises(NATSPublishError) as batched:
                await service.publish_batched(bad, b"x")
            assert batched.value.ambiguous is False
            with pytest.raises(NATSPublishError) as direct:
                await service.publish(bad, b"x")
            assert direct.value.ambiguous is False
        assert service.get_connection_stats().batch_messages_accepted == 0
