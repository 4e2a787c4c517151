"""Accounting in your own test: record publishes and an observer's receipts, then check."""

import nats
import pytest

from nats_fault_harness import wait_until_async
from nats_fault_harness.checkers import check_accounting, summary


async def observe(nats_server, history, subject):
    """The ground truth: a connection straight to the server, never through a proxy."""
    observer = await nats.connect(nats_server.url)

    async def receive(msg):
        history.invoke("observer", "receive").ok({"id": msg.data.decode()})

    await observer.subscribe(subject, cb=receive)
    await observer.flush()
    return observer


async def publish(nc, history, subject, mid):
    """One publish, recorded as an operation: ok once the server has it."""
    op = history.invoke("svc", "publish", {"id": mid, "subject": subject})
    try:
        await nc.publish(subject, mid.encode())
        await nc.flush(timeout=2)
    except Exception as exc:
        op.info(exc)  # it may or may not have reached the server
    else:
        op.ok()


def received(history):
    return summary(history).get("receive", {}).get("ok", 0)


@pytest.mark.asyncio
async def test_every_confirmed_publish_is_received(nats_server, nats_link, nats_history):
    observer = await observe(nats_server, nats_history, "orders.>")
    nc = await nats.connect(nats_link.url, **nats_history.nats_callbacks("svc"))
    async with nats_link.latency(50, stream="both"):
        for i in range(10):
            await publish(nc, nats_history, "orders.new", f"order-{i}")
    await wait_until_async(lambda: received(nats_history) == 10, timeout=5, what="receipts")
    await nc.close()
    await observer.close()

    result = check_accounting(nats_history)
    assert result.valid is True, result.message
    assert len(result.details["delivered"]) == 10


@pytest.mark.asyncio
@pytest.mark.proxy_extension("nats")
async def test_a_publish_dropped_on_the_wire_is_reported_lost(nats_server, nats_link, nats_history):
    observer = await observe(nats_server, nats_history, "orders.>")
    nc = await nats.connect(nats_link.url, **nats_history.nats_callbacks("svc"))
    with nats_link.frames("PUB", subject="orders.*", action="drop", nth=3):
        for i in range(5):
            await publish(nc, nats_history, "orders.new", f"order-{i}")
    await wait_until_async(lambda: received(nats_history) == 4, timeout=5, what="receipts")
    await nc.close()
    await observer.close()

    result = check_accounting(nats_history)
    assert result.valid is False
    assert result.details["lost"] == ["order-2"]  # flushed "ok", never received
