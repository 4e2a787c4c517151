"""The billing service's own tests: the business logic, and real faults around a real
JetStream server.

``nats_server_factory(jetstream=True)`` starts a fresh nats-server with a file store for
each test; ``nats_link_factory.link(server)`` puts a proxy in front of it. The service
dials the link, so a fault on the link cuts it off while the test's own client (straight
to the server) keeps publishing orders and collecting billed events.
"""

import asyncio
import json

import nats
import pytest
from billing import BillingConfig, BillingService, invoice
from nats.js.api import AckPolicy, ConsumerConfig

from nats_fault_harness import wait_until_async


def test_invoice_prices_an_order():
    assert invoice({"id": "o1", "customer": "c1", "sku": "apple", "qty": 3}) == {
        "id": "o1",
        "customer": "c1",
        "amount": 1.35,
        "billed": True,
    }
    with pytest.raises(ValueError, match="bad qty 0"):
        invoice({"id": "o2", "sku": "pear", "qty": 0})


def order(oid):
    return json.dumps({"id": oid, "customer": "c-7", "sku": "plum", "qty": 2}).encode()


class Shop:
    """The test's side: a client straight to the server that declares stream ORDERS and
    the pull consumer BILLING (ack_wait 1 s), places orders and collects billed events."""

    def __init__(self, client):
        self.client = client
        self.js = client.jetstream()
        self.billed = []

    @classmethod
    async def open(cls, server):
        shop = cls(await nats.connect(server.url, reconnect_time_wait=0.1))
        await shop.js.add_stream(name="ORDERS", subjects=["orders.placed"])
        await shop.js.add_consumer(
            "ORDERS",
            ConsumerConfig(durable_name="BILLING", ack_policy=AckPolicy.EXPLICIT, ack_wait=1.0),
        )

        async def collect(msg):
            shop.billed.append(json.loads(msg.data)["id"])

        await shop.client.subscribe("billing.billed", cb=collect)
        await shop.client.flush()
        return shop

    async def place(self, oid):
        await self.js.publish("orders.placed", order(oid))

    async def consumer(self):
        return await self.js.consumer_info("ORDERS", "BILLING")

    async def close(self):
        await self.client.close()


async def start_service(link, history, **config):
    cfg = BillingConfig(
        servers=(link.url,),
        reconnect_time_wait=0.1,
        callbacks=history.nats_callbacks("billing"),
        **config,
    )
    service = BillingService(cfg)
    await service.start()
    return service


@pytest.mark.asyncio
async def test_an_order_redelivered_after_a_lost_ack_is_billed_once(
    nats_server_factory, nats_link_factory, nats_history
):
    server = nats_server_factory(jetstream=True)
    link = nats_link_factory.link(server)
    shop = await Shop.open(server)
    service = await start_service(link, nats_history)
    try:
        with link.frames("PUB*", subject="$JS.ACK.>", nth=1):  # the first ack is lost
            await shop.place("o-1")
            await wait_until_async(
                lambda: service.repeated == 1, timeout=10, what="the order's redelivery"
            )
        await asyncio.sleep(0.3)
        assert shop.billed == ["o-1"]
        info = await shop.consumer()
        assert (info.num_pending, info.num_ack_pending) == (0, 0)
    finally:
        await service.stop()
        await shop.close()


async def bill_through_a_cut(server, link, history, **config):
    """Place one order and take the service's link down while it is billing it (its work
    takes 0.5 s), for 1 s; return the billed events 2.5 s after the heal."""
    shop = await Shop.open(server)
    service = await start_service(link, history, work_s=0.5, **config)
    try:
        await shop.place("o-cut")
        await wait_until_async(lambda: service.received == 1, timeout=5, what="the fetch")
        await asyncio.sleep(0.1)  # the ack of the broken build is on the wire by now
        with link.down():
            await wait_until_async(lambda: service.failed == 1, timeout=5, what="a failure")
            await asyncio.sleep(1.0)
        await asyncio.sleep(2.5)  # reconnect, ack_wait 1 s, redelivery, billing
        info = await shop.consumer()
        return shop.billed, info
    finally:
        await service.stop()
        await shop.close()


@pytest.mark.asyncio
async def test_an_order_whose_billing_failed_is_billed_after_the_link_is_back(
    nats_server_factory, nats_link_factory, nats_history
):
    server = nats_server_factory(jetstream=True)
    billed, info = await bill_through_a_cut(server, nats_link_factory.link(server), nats_history)
    assert billed == ["o-cut"]
    assert (info.num_pending, info.num_ack_pending) == (0, 0)


@pytest.mark.asyncio
async def test_the_broken_build_loses_the_order_it_acked_before_billing(
    nats_server_factory, nats_link_factory, nats_history
):
    # the defect adapter:make_broken ships: every order is acked as soon as it is fetched
    server = nats_server_factory(jetstream=True)
    link = nats_link_factory.link(server)
    billed, info = await bill_through_a_cut(server, link, nats_history, ack_on_fetch=True)
    assert billed == []
    # and the server has nothing left to redeliver: the order is gone for good
    assert (info.num_pending, info.num_ack_pending) == (0, 0)


@pytest.mark.asyncio
async def test_keeps_billing_across_a_server_restart(
    nats_server_factory, nats_link_factory, nats_history
):
    server = nats_server_factory(jetstream=True)
    link = nats_link_factory.link(server)
    shop = await Shop.open(server)
    service = await start_service(link, nats_history)
    try:
        await shop.place("o-before")
        await wait_until_async(lambda: shop.billed, timeout=5, what="the first bill")
        await asyncio.to_thread(server.kill)
        await asyncio.sleep(1.0)  # fetches fail meanwhile; the loop must not die
        await asyncio.to_thread(server.start)  # same port, same file store

        async def placed():
            try:
                await shop.place("o-after")
            except nats.errors.Error:  # JetStream still recovering
                return False
            return True

        await wait_until_async(placed, timeout=10, what="the stream back")
        await wait_until_async(
            lambda: "o-after" in shop.billed, timeout=10, what="a bill after the restart"
        )
        await asyncio.sleep(1.5)  # a redelivery of o-before (its ack died) is not billed
        assert shop.billed == ["o-before", "o-after"]
    finally:
        await service.stop()
        await shop.close()
