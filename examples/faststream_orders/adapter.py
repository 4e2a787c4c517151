"""The FastStream orders service as the fault harness sees it.

Two endpoints: ``orders.new`` republishes each order to ``orders.priced`` (capability
``republish``, driven with ``mode: publish``), ``orders.status`` answers requests
(capability ``respond``, driven with ``mode: request``).
``nats-harness run scenarios --sut adapter:make`` runs the real FastStream service;
``adapter:make_broken`` runs it with a stale-order guard that drops delayed orders.
"""

from __future__ import annotations

import json
import time

from orders import OrdersConfig, OrdersService

from nats_fault_harness.services import Endpoint, Service


class OrdersAdapter(Service):
    """Starts and stops a real :class:`OrdersService` through the harness's links."""

    name = "orders"
    capabilities = frozenset({"respond", "republish"})

    def __init__(self, *, max_order_age_s: float | None = None) -> None:
        self.max_order_age_s = max_order_age_s
        self.service: OrdersService | None = None

    async def start(self, env, report):
        self.report = report
        config = OrdersConfig(
            servers=env.servers,  # the faulted links, never the server itself
            max_order_age_s=self.max_order_age_s,
            callbacks=self.connection_callbacks(report),
        )
        self.service = OrdersService(config)
        await self.service.start()
        return self.single_connection()

    async def stop(self):
        if self.service is not None:
            await self.service.stop()
            # what the service itself counted, for the report's timeline
            self.report("handled", {"count": self.service.received})

    def endpoints(self):
        return [
            Endpoint("orders.new", output="orders.priced", queue="orders", name="new"),
            Endpoint("orders.status", queue="orders", name="status"),
        ]

    def make_input(self, endpoint, msg_id):
        if endpoint.name == "new":
            order = {"id": msg_id, "sku": "pear", "qty": 2, "placed_at": time.time()}
            return json.dumps(order).encode()
        return json.dumps({"id": msg_id}).encode()


def make():
    """The orders service as it ships."""
    return OrdersAdapter()


def make_broken():
    """The orders service with a stale-order guard of 0.5 s: delayed orders vanish."""
    return OrdersAdapter(max_order_age_s=0.5)
