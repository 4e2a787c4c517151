"""The scenario's streams on a real JetStream server: created, read back as ``stored``
operations, and a read that cannot complete makes the ``stream`` checker unknown."""

from __future__ import annotations

from collections.abc import Callable

import nats
import pytest

from nats_fault_harness.checkers import check_stream
from nats_fault_harness.history import History
from nats_fault_harness.scenario import _streams
from nats_fault_harness.scenario._model import Stream
from nats_fault_harness.scenario._streams import StreamKeeper
from nats_fault_harness.servers import NatsServer

STREAM = Stream(name="ORDERS", subjects=("orders.>",), duplicate_window_s=30.0)


async def _publish(url: str, ids: list[str], headers: bool = True) -> None:
    nc = await nats.connect(url, name="publisher")
    js = nc.jetstream()
    for mid in ids:
        header = {"Nats-Msg-Id": mid} if headers else None
        await js.publish("orders.a", mid.encode() + b" payload", headers=header)
    await nc.close()


def _publish_op(history: History, mid: str, seq: int) -> None:
    op = history.invoke("svc", "publish", {"id": mid, "jetstream": True, "msg_id": True})
    op.ok({"id": mid, "stream": "ORDERS", "seq": seq, "duplicate": False})


@pytest.mark.asyncio
async def test_streams_are_created_and_read_back_message_by_message(
    nats_server_factory: Callable[..., NatsServer],
) -> None:
    server = nats_server_factory(name="keeper", jetstream=True)
    history = History()
    keeper = StreamKeeper(history, [STREAM])
    await keeper.start(server.url)
    try:
        await _publish(server.url, ["a", "b"])
        await _publish(server.url, ["b"], headers=False)  # no id: the server stores it again
        for seq, mid in enumerate(["a", "b"], start=1):
            _publish_op(history, mid, seq)
        await keeper.read()
    finally:
        await keeper.close()
    stored = [op.value for op in history.ops() if op.f == "stored" and op.type == "ok"]
    assert [(v["id"], v["seq"], v["msg_id"]) for v in stored] == [
        ("a", 1, "a"),
        ("b", 2, "b"),
        ("b", 3, None),
    ]
    (read,) = [e.detail for e in history.client_events() if e.kind == "stream_read"]
    assert (read["ok"], read["messages"], read["first_seq"], read["last_seq"]) == (True, 3, 1, 3)
    assert read["duplicate_window_s"] == 30.0
    result = check_stream(history)
    assert result.valid is False
    assert result.details["flagged"] == {"b": "published without Nats-Msg-Id (1 sends)"}


@pytest.mark.asyncio
async def test_a_read_that_cannot_complete_makes_the_checker_unknown(
    nats_server_factory: Callable[..., NatsServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    server = nats_server_factory(name="gone", jetstream=True)
    history = History()
    keeper = StreamKeeper(history, [STREAM])
    await keeper.start(server.url)
    monkeypatch.setattr(_streams, "READ_S", 1.0)
    try:
        await _publish(server.url, ["a"])
        _publish_op(history, "a", 1)
        server.stop()
        await keeper.read()
    finally:
        await keeper.close()
    (read,) = [e.detail for e in history.client_events() if e.kind == "stream_read"]
    assert read["ok"] is False
    assert read["error"]
    assert not [op for op in history.ops() if op.f == "stored"]
    result = check_stream(history)
    assert result.valid == "unknown"
    assert "could not be read back" in result.message
