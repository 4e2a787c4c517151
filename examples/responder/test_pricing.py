"""The pricing service's own tests: the business logic, and a reconnect through a real fault.

``nats_server`` is a real nats-server; ``nats_link`` is a proxy in front of it, so a fault
on the link cuts the service off while the test's own client (straight to the server)
keeps talking.
"""

import asyncio
import json

import nats
import pytest
from pricing import PricingConfig, PricingService, quote

from nats_fault_harness import wait_until_async


def test_quote_prices_a_request():
    assert quote({"id": "q1", "sku": "apple", "qty": 3}) == {
        "id": "q1",
        "sku": "apple",
        "qty": 3,
        "price": 1.35,
    }
    assert quote({"id": "q2", "qty": 0}) == {"id": "q2", "error": "bad qty 0"}


async def replies_to_one_request(nc, data, wait=0.5):
    """Send one request and collect every reply that comes within ``wait`` seconds."""
    inbox = nc.new_inbox()
    replies = []

    async def collect(msg):
        replies.append(json.loads(msg.data))

    sub = await nc.subscribe(inbox, cb=collect)
    await nc.publish("pricing.quote", data, reply=inbox)
    await wait_until_async(lambda: replies, timeout=5, what="a reply")
    await asyncio.sleep(wait)  # a second reply, if any, comes within this
    await sub.unsubscribe()
    return replies


async def start_service(nats_link, nats_history, **config):
    cfg = PricingConfig(
        servers=(nats_link.url,),
        reconnect_time_wait=0.05,
        callbacks=nats_history.nats_callbacks("pricing"),
        **config,
    )
    service = PricingService(cfg)
    await service.start()
    return service


async def reset_and_wait_for_reconnect(nats_link, nats_history):
    nats_link.reset()()
    await wait_until_async(
        lambda: any(e.kind == "reconnected" for e in nats_history.client_events("pricing")),
        timeout=10,
        what="the pricing service to reconnect",
    )


@pytest.mark.asyncio
async def test_answers_once_again_after_a_reset(nats_server, nats_link, nats_history):
    service = await start_service(nats_link, nats_history)
    client = await nats.connect(nats_server.url)
    try:
        request = json.dumps({"id": "before", "sku": "pear", "qty": 1}).encode()
        assert await replies_to_one_request(client, request) == [quote(json.loads(request))]
        await reset_and_wait_for_reconnect(nats_link, nats_history)
        request = json.dumps({"id": "after", "sku": "pear", "qty": 1}).encode()
        replies = await replies_to_one_request(client, request)
        assert [r["id"] for r in replies] == ["after"]
    finally:
        await client.close()
        await service.stop()


@pytest.mark.asyncio
async def test_the_broken_build_answers_twice_after_a_reset(nats_server, nats_link, nats_history):
    # the defect adapter:make_broken ships: re-subscribing in the reconnect callback
    service = await start_service(nats_link, nats_history, resubscribe_on_reconnect=True)
    client = await nats.connect(nats_server.url)
    try:
        await reset_and_wait_for_reconnect(nats_link, nats_history)
        request = json.dumps({"id": "after", "sku": "pear", "qty": 1}).encode()
        replies = await replies_to_one_request(client, request)
        assert [r["id"] for r in replies] == ["after", "after"]
    finally:
        await client.close()
        await service.stop()


@pytest.mark.asyncio
async def test_callers_get_no_responders_at_once_while_the_service_is_cut_off(
    nats_server, nats_link, nats_history
):
    # what the scenarios showed: while the service is disconnected the server has no
    # subscriber for pricing.quote and tells the caller at once, it does not time out
    service = await start_service(nats_link, nats_history)
    client = await nats.connect(nats_server.url)
    try:
        request = json.dumps({"id": "cut-off", "sku": "pear", "qty": 1}).encode()
        with nats_link.down():
            await wait_until_async(
                lambda: (
                    not any(
                        c.get("name") == "pricing"
                        for c in nats_server.connz().get("connections") or ()
                    )
                ),
                timeout=5,
                what="the server to drop the service's connection",
            )
            started = asyncio.get_running_loop().time()
            with pytest.raises(nats.errors.NoRespondersError):
                await client.request("pricing.quote", request, timeout=3)
            assert asyncio.get_running_loop().time() - started < 1.0

        async def answered():
            try:
                return await client.request("pricing.quote", request, timeout=1)
            except nats.errors.NoRespondersError:  # not re-subscribed yet
                return None

        reply = await wait_until_async(answered, timeout=10, what="an answer after the heal")
        assert json.loads(reply.data)["id"] == "cut-off"
    finally:
        await client.close()
        await service.stop()
