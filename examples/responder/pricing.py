"""A pricing service on plain nats-py: answers ``pricing.quote`` requests with a price.

It knows nothing about the fault harness: it is the kind of small responder a team runs
in production (its own config, reconnect settings, a queue group so several replicas
share the load). Run it on its own with ``python pricing.py nats://127.0.0.1:4222``.

Request: ``{"id": "q-1", "sku": "apple", "qty": 3}``.
Reply: ``{"id": "q-1", "sku": "apple", "qty": 3, "price": 1.35}``, or
``{"id": ..., "error": "..."}`` for a request it cannot price.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg

log = logging.getLogger("pricing")

PRICES = {"apple": 0.45, "pear": 0.60, "plum": 0.30}
DEFAULT_PRICE = 1.00


@dataclass(frozen=True)
class PricingConfig:
    """How the service connects and what it serves."""

    servers: Sequence[str] = ("nats://127.0.0.1:4222",)
    subject: str = "pricing.quote"
    queue: str = "pricing"
    name: str = "pricing"
    # reconnect for ever, quickly: a pricing replica that gives up is an outage
    reconnect_time_wait: float = 0.25
    max_reconnect_attempts: int = -1
    connect_timeout: float = 2.0
    ping_interval: int = 5
    max_outstanding_pings: int = 2
    # The defect of the broken build: re-subscribe in the reconnect callback "to be safe",
    # as one must with some clients. nats-py restores its subscriptions by itself, and this
    # one forgets the queue group, so every request after a reconnect is answered twice.
    resubscribe_on_reconnect: bool = False
    callbacks: dict[str, Callable[..., Awaitable[None]]] = field(default_factory=dict)


def quote(request: dict[str, Any]) -> dict[str, Any]:
    """The price of one request (pure: the business logic)."""
    sku = str(request.get("sku", ""))
    qty = request.get("qty", 1)
    if not isinstance(qty, int) or qty < 1:
        return {"id": request.get("id"), "error": f"bad qty {qty!r}"}
    price = round(PRICES.get(sku, DEFAULT_PRICE) * qty, 2)
    return {"id": request.get("id"), "sku": sku, "qty": qty, "price": price}


class PricingService:
    """Subscribes ``config.subject`` in ``config.queue`` and replies to every request."""

    def __init__(self, config: PricingConfig) -> None:
        self.config = config
        self.nc: Client | None = None
        self.received = 0
        self.answered = 0

    async def start(self) -> None:
        """Connect and subscribe; returns once the subscription is live at the server."""
        cfg = self.config
        user_reconnected = cfg.callbacks.get("reconnected_cb")

        async def reconnected() -> None:
            log.info("pricing: reconnected to %s", self.nc and self.nc.connected_url)
            if cfg.resubscribe_on_reconnect and self.nc is not None:
                await self.nc.subscribe(cfg.subject, cb=self._on_quote)
            if user_reconnected is not None:
                await user_reconnected()

        callbacks = {**cfg.callbacks, "reconnected_cb": reconnected}
        self.nc = await nats.connect(
            list(cfg.servers),
            name=cfg.name,
            reconnect_time_wait=cfg.reconnect_time_wait,
            max_reconnect_attempts=cfg.max_reconnect_attempts,
            connect_timeout=cfg.connect_timeout,
            ping_interval=cfg.ping_interval,
            max_outstanding_pings=cfg.max_outstanding_pings,
            **callbacks,
        )
        await self.nc.subscribe(cfg.subject, queue=cfg.queue, cb=self._on_quote)
        await self.nc.flush(timeout=5)
        log.info("pricing: serving %s in queue %s", cfg.subject, cfg.queue)

    async def _on_quote(self, msg: Msg) -> None:
        self.received += 1
        try:
            request = json.loads(msg.data)
            reply = quote(request) if isinstance(request, dict) else {"error": "not an object"}
        except ValueError as exc:
            reply = {"error": f"not JSON: {exc}"}
        if msg.reply:
            await msg.respond(json.dumps(reply).encode())
            self.answered += 1

    async def stop(self) -> None:
        """Drain (finish the requests in hand) and close."""
        if self.nc is not None and not self.nc.is_closed:
            try:
                await self.nc.drain()
            except Exception:  # a drain over a dead link: close is all that is left
                log.warning("pricing: drain failed, closing", exc_info=True)
                await self.nc.close()


async def main(servers: Sequence[str]) -> None:
    """Serve until interrupted."""
    service = PricingService(PricingConfig(servers=tuple(servers)))
    await service.start()
    try:
        await asyncio.Event().wait()
    finally:
        await service.stop()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    asyncio.run(main(sys.argv[1:] or ["nats://127.0.0.1:4222"]))
