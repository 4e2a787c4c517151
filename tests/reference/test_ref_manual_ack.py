"""JetStream subscriptions through the broker: manual ack, nak and redelivery (real server).

With ``manual_ack`` on, a handler that raises is nak'ed and the message is redelivered at
once (well inside ``ack_wait``); a handler that returns is acked with ``ack_sync`` and the
consumer ends with nothing pending. With it off (the default), a failing message is left
unacked and comes back only after ``ack_wait``.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import pytest_asyncio
from nats.js.client import JetStreamContext
from reference_support import Recorder, make_config, raw_client, wait_for

from nats_fault_harness.reference import NATSMessageBroker
from nats_fault_harness.servers import NatsServer


def order(message_id: str) -> dict[str, Any]:
    return {
        "message_id": message_id,
        "timestamp": datetime.now(UTC).isoformat(),
        "event_type": "order_created",
        "event_data": {"id": message_id},
    }


@pytest_asyncio.fixture
async def js_server(
    nats_server_factory: Callable[..., NatsServer],
) -> AsyncIterator[tuple[NatsServer, JetStreamContext]]:
    server = nats_server_factory(name="js", jetstream=True)
    admin = await raw_client(server.url, name="js-admin")
    js = admin.jetstream()
    await js.add_stream(name="ORDERS", subjects=["orders.>"])
    yield server, js
    await admin.close()


class FlakyHandler:
    """Raises on the first delivery of ids starting with ``fail``; records every call."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.times: dict[str, list[float]] = {}

    async def __call__(self, message: dict[str, Any]) -> None:
        mid = message["message_id"]
        self.calls[mid] += 1
        self.times.setdefault(mid, []).append(time.monotonic())
        if mid.startswith("fail") and self.calls[mid] == 1:
            raise RuntimeError(f"cannot process {mid} yet")


async def _nothing_pending(js: JetStreamContext, durable: str) -> bool:
    info = await js.consumer_info("ORDERS", durable)
    return info.num_ack_pending == 0 and info.num_pending == 0


@pytest.mark.asyncio
async def test_manual_ack_naks_on_error_and_acks_on_success(
    js_server: tuple[NatsServer, JetStreamContext], recorder: Recorder
) -> None:
    server, js = js_server
    config = make_config(server.url, pool_size=0, manual_ack=True)
    broker = NATSMessageBroker.from_config(config)
    broker.service.add_observer(recorder)
    await broker.connect()
    handler = FlakyHandler()
    try:
        await broker.subscribe_jetstream(
            "orders.>", handler, stream="ORDERS", durable="manual", ack_wait=10, max_deliver=5
        )
        await broker.publish("orders.new", order("fail-1"))
        await broker.publish("orders.new", order("ok-1"))
        await wait_for(lambda: broker.service.get_connection_stats().acks == 2, timeout=5,
                       what="both messages acked")  # fmt: skip
        assert handler.calls == Counter({"fail-1": 2, "ok-1": 1})
        stats = broker.service.get_connection_stats()
        assert stats.naks == 1
        assert stats.handler_errors == 1
        assert stats.ack_failures == 0
        naked = recorder.of("naked")
        assert [(e.subject, e.attempt) for e in naked] == [("orders.new", 1)]
        assert sorted(e.attempt or 0 for e in recorder.of("acked")) == [1, 2]
        # nak -> redelivered at once, long before ack_wait (10 s) would have.
        first, second = handler.times["fail-1"]
        assert second - first < 2.0
        # Acked on the server: nothing pending or awaiting ack, so nothing comes back.
        await wait_for(lambda: _nothing_pending(js, "manual"), timeout=5,
                       what="consumer with nothing pending")  # fmt: skip
        info = await js.consumer_info("ORDERS", "manual")
        assert info.num_redelivered == 0  # the redelivery happened and was acked
        assert info.ack_floor.stream_seq == 2
    finally:
        await broker.disconnect()


@pytest.mark.asyncio
async def test_default_auto_ack_redelivers_only_after_ack_wait(
    js_server: tuple[NatsServer, JetStreamContext],
) -> None:
    server, js = js_server
    broker = NATSMessageBroker.from_config(make_config(server.url, pool_size=0))
    assert broker.service.config.manual_ack is False
    await broker.connect()
    handler = FlakyHandler()
    try:
        await broker.subscribe_jetstream(
            "orders.>", handler, stream="ORDERS", durable="auto", ack_wait=1.0, max_deliver=3
        )
        await broker.publish("orders.new", order("fail-2"))
        await wait_for(lambda: handler.calls["fail-2"] == 2, timeout=6,
                       what="redelivery after ack_wait")  # fmt: skip
        first, second = handler.times["fail-2"]
        assert second - first >= 0.9, second - first
        stats = broker.service.get_connection_stats()
        assert stats.naks == 0
        await wait_for(lambda: _nothing_pending(js, "auto"), timeout=5,
                       what="consumer with nothing pending")  # fmt: skip
    finally:
        await broker.disconnect()


@pytest.mark.asyncio
async def test_invalid_jetstream_message_is_consumed_not_redelivered(
    js_server: tuple[NatsServer, JetStreamContext],
) -> None:
    server, js = js_server
    config = make_config(server.url, pool_size=0, manual_ack=True)
    broker = NATSMessageBroker.from_config(config)
    await broker.connect()
    handler = FlakyHandler()
    try:
        await broker.subscribe_jetstream(
            "orders.>", handler, stream="ORDERS", durable="poison", ack_wait=10, max_deliver=5
        )
        await js.publish("orders.bad", b"{not json")
        await js.publish("orders.bad", json.dumps({"event_type": "x"}).encode())
        await js.publish("orders.new", json.dumps(order("ok-3")).encode())
        await wait_for(lambda: handler.calls["ok-3"] == 1, timeout=5, what="valid message")
        await wait_for(lambda: _nothing_pending(js, "poison"), timeout=5,
                       what="poison messages acked")  # fmt: skip
        assert broker.get_stats().invalid_incoming == 2
        assert set(handler.calls) == {"ok-3"}
    finally:
        await broker.disconnect()
