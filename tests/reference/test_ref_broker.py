"""NATSMessageBroker against a real server: validation both ways, subjects, health."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from nats.aio.msg import Msg
from reference_support import Recorder, make_config, raw_client, settle, wait_for

from nats_fault_harness.reference import (
    NATSMessageBroker,
    NATSService,
    NATSSubscribeError,
    PublishError,
)
from nats_fault_harness.servers import NatsServer


def chat(message_id: str, **over: Any) -> dict[str, Any]:
    msg: dict[str, Any] = {
        "message_id": message_id,
        "timestamp": datetime.now(UTC).isoformat(),
        "channel": "say",
        "sender_id": "p1",
        "sender_name": "Ann",
        "content": f"hello {message_id}",
        "room_id": "r1",
    }
    msg.update(over)
    return msg


def event(message_id: str, **over: Any) -> dict[str, Any]:
    msg: dict[str, Any] = {
        "message_id": message_id,
        "timestamp": datetime.now(UTC).isoformat(),
        "event_type": "player_entered",
        "event_data": {"player": "p1"},
    }
    msg.update(over)
    return msg


@pytest.mark.asyncio
async def test_invalid_outgoing_raises_publish_error_and_sends_nothing(
    nats_server: NatsServer,
) -> None:
    observer = await raw_client(nats_server.url)
    received: list[dict[str, Any]] = []

    async def collect(msg: Msg) -> None:
        received.append(json.loads(msg.data))

    await observer.subscribe("chat.>", cb=collect)
    await settle(observer)
    broker = NATSMessageBroker.from_config(make_config(nats_server.url, pool_size=0))
    await broker.connect()
    try:
        with pytest.raises(PublishError) as bad:
            await broker.publish("chat.say.room.r1", chat("c1", content=""))
        assert bad.value.field == "content"
        assert "content" in str(bad.value)
        assert bad.value.errors[0][0] == "content"
        with pytest.raises(PublishError) as missing:
            await broker.publish("chat.say.room.r1", {"message_id": "c2", "content": "hi"})
        assert missing.value.field in {"timestamp", "channel", "sender_id", "sender_name"}
        with pytest.raises(PublishError) as bad_event:
            await broker.publish("events.x", event("e1", event_type="Not Valid"))
        assert bad_event.value.field == "event_type"
        with pytest.raises(PublishError) as bad_subject:
            await broker.publish("chat.say room", chat("c3"))
        assert bad_subject.value.field == "subject"
        with pytest.raises(PublishError) as bad_param:
            await broker.publish_to("chat_say_room", chat("c4"), room_id="r1.>")
        assert bad_param.value.field == "subject"

        assert await broker.publish_to("chat_say_room", chat("ok1"), room_id="r1") == "ok1"
        await wait_for(lambda: received, timeout=5, what="the valid message")
        assert [m["message_id"] for m in received] == ["ok1"]
        stats = broker.get_stats()
        assert stats.invalid_outgoing == 5
        assert stats.published == 1
    finally:
        await broker.disconnect()
        await observer.close()


@pytest.mark.asyncio
async def test_invalid_incoming_is_counted_and_not_delivered(
    nats_server: NatsServer, recorder: Recorder
) -> None:
    broker = NATSMessageBroker.from_config(make_config(nats_server.url, pool_size=0))
    broker.service.add_observer(recorder)
    await broker.connect()
    publisher = await raw_client(nats_server.url, name="raw-publisher")
    try:
        got: list[dict[str, Any]] = []

        async def handler(message: dict[str, Any]) -> None:
            got.append(message)

        await broker.subscribe("chat.say.room.*", handler)
        bad_payloads = [
            b"not json",
            b"[1, 2, 3]",
            json.dumps(chat("b1", content="")).encode(),
            json.dumps({k: v for k, v in chat("b2").items() if k != "channel"}).encode(),
            json.dumps(chat("b3", extra_field=1)).encode(),
        ]
        for payload in bad_payloads:
            await publisher.publish("chat.say.room.r1", payload)
        await publisher.publish("chat.say.room.r1", json.dumps(chat("good")).encode())
        await settle(publisher)
        await wait_for(lambda: got, timeout=5, what="the valid message")
        await wait_for(lambda: broker.get_stats().invalid_incoming == 5, timeout=5,
                       what="5 invalid messages counted")  # fmt: skip
        assert [m["message_id"] for m in got] == ["good"]
        assert broker.get_stats().delivered == 1
        invalid = recorder.of("incoming_invalid")
        assert len(invalid) == 5
        assert any("content" in (e.error or "") for e in invalid)
    finally:
        await publisher.close()
        await broker.disconnect()


@pytest.mark.asyncio
async def test_validation_can_be_disabled(nats_server: NatsServer) -> None:
    config = make_config(nats_server.url, pool_size=0, enable_message_validation=False)
    broker = NATSMessageBroker.from_config(config)
    await broker.connect()
    try:
        got: list[dict[str, Any]] = []

        async def handler(message: dict[str, Any]) -> None:
            got.append(message)

        await broker.subscribe("free.>", handler)
        await broker.publish("free.form", {"anything": "goes"})
        await wait_for(lambda: got, timeout=5, what="unvalidated message")
        assert got == [{"anything": "goes"}]
        with pytest.raises(PublishError) as info:
            await broker.publish("free.form", {"when": datetime.now(UTC)})
        assert info.value.field is None
        assert isinstance(info.value.cause, TypeError)
    finally:
        await broker.disconnect()


@pytest.mark.asyncio
async def test_batched_broker_publish_and_subject_checks(nats_server: NatsServer) -> None:
    broker = NATSMessageBroker.from_config(make_config(nats_server.url))
    await broker.connect()
    try:
        got: list[str] = []

        async def handler(message: dict[str, Any]) -> None:
            got.append(message["message_id"])

        await broker.subscribe("events.>", handler)
        with pytest.raises(NATSSubscribeError):
            await broker.subscribe("events..x", handler)
        for i in range(5):
            await broker.publish("events.player_entered.r1", event(f"e{i}"), batched=True)
        result = await broker.service.flush()
        assert result.successful_messages == 5
        await wait_for(lambda: len(got) == 5, timeout=5, what="5 batched events")
        assert sorted(got) == [f"e{i}" for i in range(5)]
    finally:
        await broker.disconnect()


@pytest.mark.asyncio
async def test_is_connected_follows_the_health_check(
    nats_server_factory: Callable[..., NatsServer], recorder: Recorder
) -> None:
    server = nats_server_factory(name="health")
    config = make_config(server.url, pool_size=0, health_check_interval=0.2,
                         health_check_timeout=0.1)  # fmt: skip
    service = NATSService(config)
    service.add_observer(recorder)
    broker = NATSMessageBroker(service)
    await broker.connect()
    try:
        await wait_for(lambda: service.get_connection_stats().health_checks > 0, timeout=5,
                       what="a periodic health check")  # fmt: skip
        assert broker.is_connected()
        server.pause()  # returns once every thread is stopped
        await wait_for(lambda: not broker.is_connected(), timeout=5, what="unhealthy broker")
        # nats-py still reports the connection as connected: only ping/pong noticed.
        assert service.is_connected()
        assert recorder.of("health_check_failed")[0].member == "nats-service-main"
        server.resume()
        await wait_for(broker.is_connected, timeout=5, what="healthy broker again")
        assert recorder.of("health_check_ok")
    finally:
        if server.is_paused:
            server.resume()
        await broker.disconnect()


@pytest.mark.asyncio
async def test_request_round_trip(nats_server: NatsServer) -> None:
    responder = await raw_client(nats_server.url, name="responder")

    async def respond(msg: Msg) -> None:
        body = json.loads(msg.data)
        await responder.publish(msg.reply, json.dumps({"echo": body["message_id"]}).encode())

    await responder.subscribe("events.rpc", cb=respond)
    await settle(responder)
    broker = NATSMessageBroker.from_config(make_config(nats_server.url, pool_size=0))
    await broker.connect()
    try:
        assert await broker.request("events.rpc", event("q1"), timeout=2) == {"echo": "q1"}
        with pytest.raises(PublishError):
            await broker.request("events.rpc", event("q2", event_type="BAD"))
    finally:
        await broker.disconnect()
        await responder.close()
