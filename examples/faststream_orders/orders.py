"""An orders service on FastStream: prices new orders and answers status requests.

It knows nothing about the fault harness. Two handlers on one ``NatsBroker``:

- ``orders.new`` (queue group ``orders``): each order ``{"id", "sku", "qty"}`` is priced
  and republished to ``orders.priced`` as ``{"id", "sku", "qty", "total", "status"}``;
- ``orders.status`` (request/reply): ``{"id"}`` -> ``{"id", "status"}``, where status is
  ``priced`` for an order this replica has priced and ``unknown`` otherwise.

Run it with ``faststream run orders:app`` (``ORDERS_NATS_URL`` names the server) or
build it in code with :func:`build` (what the harness adapter does).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from faststream import FastStream
from faststream.nats import NatsBroker

log = logging.getLogger("orders")

UNIT_PRICES = {"apple": 0.45, "pear": 0.60, "plum": 0.30}


@dataclass(frozen=True)
class OrdersConfig:
    """How the service connects and what it serves."""

    servers: Sequence[str] = ("nats://127.0.0.1:4222",)
    name: str = "orders"
    new_subject: str = "orders.new"
    priced_subject: str = "orders.priced"
    status_subject: str = "orders.status"
    queue: str = "orders"
    reconnect_time_wait: float = 0.5
    max_reconnect_attempts: int = -1
    connect_timeout: int = 2
    # The defect of the broken build: a "stale order" guard that drops an order whose
    # placed_at (the sender's wall clock) is older than this many seconds. Orders held up
    # in the network arrive late and are dropped silently. None: no guard (correct).
    max_order_age_s: float | None = None
    callbacks: dict[str, Callable[..., Awaitable[None]]] = field(default_factory=dict)


def price(order: dict[str, Any]) -> dict[str, Any]:
    """The priced order (pure: the business logic)."""
    qty = int(order.get("qty", 1))
    sku = str(order.get("sku", ""))
    total = round(UNIT_PRICES.get(sku, 1.0) * qty, 2)
    return {"id": order["id"], "sku": sku, "qty": qty, "total": total, "status": "priced"}


class OrdersService:
    """The broker and its handlers; :meth:`start` and :meth:`stop` run it in a loop."""

    def __init__(self, config: OrdersConfig) -> None:
        self.config = config
        self.priced: set[str] = set()
        self.received = 0
        self.dropped = 0
        cfg = config
        self.broker = broker = NatsBroker(
            list(cfg.servers),
            name=cfg.name,
            reconnect_time_wait=cfg.reconnect_time_wait,  # type: ignore[arg-type]
            max_reconnect_attempts=cfg.max_reconnect_attempts,
            connect_timeout=cfg.connect_timeout,
            graceful_timeout=5.0,
            log_level=logging.DEBUG,
            **cfg.callbacks,
        )
        priced_out = broker.publisher(cfg.priced_subject)

        @broker.subscriber(cfg.new_subject, queue=cfg.queue)
        async def on_new_order(order: dict[str, Any]) -> None:
            self.received += 1
            if cfg.max_order_age_s is not None:
                age = time.time() - float(order.get("placed_at", time.time()))
                if age > cfg.max_order_age_s:
                    self.dropped += 1
                    log.warning("orders: dropping stale order %s (%.2fs old)", order["id"], age)
                    return
            result = price(order)
            self.priced.add(str(order["id"]))
            await priced_out.publish(result)

        @broker.subscriber(cfg.status_subject, queue=cfg.queue)
        async def on_status(request: dict[str, Any]) -> dict[str, Any]:
            self.received += 1
            oid = str(request.get("id"))
            return {"id": oid, "status": "priced" if oid in self.priced else "unknown"}

    async def start(self) -> None:
        """Connect and start both subscribers."""
        await self.broker.start()

    async def stop(self) -> None:
        """Stop the subscribers and drain the connection."""
        await self.broker.stop()


def build(config: OrdersConfig | None = None) -> OrdersService:
    """The service with ``config`` (default: ``ORDERS_NATS_URL`` or localhost)."""
    if config is None:
        url = os.environ.get("ORDERS_NATS_URL", "nats://127.0.0.1:4222")
        config = OrdersConfig(servers=(url,))
    return OrdersService(config)


def create_app() -> FastStream:
    """The FastStream application, for ``faststream run orders:create_app --factory``."""
    return FastStream(build().broker)
