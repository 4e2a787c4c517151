"""The orders service's own tests: pricing, and an order held up by a real blackhole.

``nats_server`` is a real nats-server; ``nats_link`` is a proxy in front of it. The service
(a real FastStream ``NatsBroker``) dials the link; the test's client dials the server.
"""

import asyncio
import json
import time

import nats
import pytest
from orders import OrdersConfig, OrdersService, price


def test_price_totals_an_order():
    assert price({"id": "o1", "sku": "pear", "qty": 2}) == {
        "id": "o1",
        "sku": "pear",
        "qty": 2,
        "total": 1.2,
        "status": "priced",
    }


async def start_service(nats_link, **config):
    service = OrdersService(OrdersConfig(servers=(nats_link.url,), **config))
    await service.start()
    return service


def order(oid):
    return json.dumps({"id": oid, "sku": "plum", "qty": 1, "placed_at": time.time()}).encode()


async def until_live(client, priced):
    """Send probe orders until one is priced: FastStream's ``broker.start()`` can return
    before the server routes to its subscription (see the README), so a first order sent
    at once may be dropped by the server."""
    for n in range(50):
        await client.publish("orders.new", order(f"probe-{n}"))
        for _ in range(10):
            if priced:
                return
            await asyncio.sleep(0.02)
    raise AssertionError("no probe order was priced in 10 s")


async def priced_after_a_blackhole(nats_server, nats_link, service):
    """Publish one order while the service's link is a blackhole for 1 s; collect what
    comes out on orders.priced within 1 s of the heal (probes left out)."""
    client = await nats.connect(nats_server.url)
    priced = []

    async def collect(msg):
        priced.append(json.loads(msg.data)["id"])

    try:
        await client.subscribe("orders.priced", cb=collect)
        await client.flush()
        await until_live(client, priced)
        with nats_link.blackhole():
            await client.publish("orders.new", order("o-held"))
            await client.flush()
            await asyncio.sleep(1.0)
        await asyncio.sleep(1.0)  # the held bytes are released by the heal
        return [oid for oid in priced if not oid.startswith("probe-")]
    finally:
        await client.close()
        await service.stop()


@pytest.mark.asyncio
async def test_an_order_held_by_a_blackhole_is_priced_once(nats_server, nats_link):
    service = await start_service(nats_link)
    assert await priced_after_a_blackhole(nats_server, nats_link, service) == ["o-held"]


@pytest.mark.asyncio
async def test_the_broken_build_drops_the_held_order(nats_server, nats_link):
    # the defect adapter:make_broken ships: a 0.5 s "stale order" guard
    service = await start_service(nats_link, max_order_age_s=0.5)
    assert await priced_after_a_blackhole(nats_server, nats_link, service) == []
    assert service.dropped == 1
