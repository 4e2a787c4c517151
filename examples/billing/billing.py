"""A billing service on plain nats-py: bills every order of the ORDERS stream once.

It knows nothing about the fault harness: it is the kind of small JetStream worker a team
runs in production. It binds to the durable **pull** consumer ``BILLING`` of stream
``ORDERS`` and fetches in a loop (a batch at a time, a short timeout). For each order it
does its work (prices it, "charges" the customer) and publishes a billed event on
``billing.billed``, confirmed by a flush; only then does it acknowledge the order. An order
whose billing failed is negatively acknowledged (or simply left unacknowledged when even
that cannot be sent) and the server redelivers it. Billing is idempotent by the order's
id: a redelivered order that was already billed (its ack was lost) is acknowledged again
and not billed twice.

Run it on its own with ``python billing.py nats://127.0.0.1:4222`` (it creates the stream
and the consumer if they are missing; publish an order with
``nats pub orders.placed '{"id": "o-1", "sku": "apple", "qty": 3}'``).

Order: ``{"id": "o-1", "customer": "c-7", "sku": "apple", "qty": 3}``.
Billed event: ``{"id": "o-1", "customer": "c-7", "amount": 1.35, "billed": true}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig

log = logging.getLogger("billing")

PRICES = {"apple": 0.45, "pear": 0.60, "plum": 0.30}
DEFAULT_PRICE = 1.00


@dataclass(frozen=True)
class BillingConfig:
    """How the service connects, what it consumes and where it reports what it billed."""

    servers: Sequence[str] = ("nats://127.0.0.1:4222",)
    stream: str = "ORDERS"
    durable: str = "BILLING"  # the durable pull consumer (created by whoever owns the stream)
    orders_subject: str = "orders.placed"  # the stream's subject (for ensure_consumer)
    billed_subject: str = "billing.billed"
    name: str = "billing"
    batch: int = 10
    fetch_timeout: float = 1.0
    publish_timeout: float = 1.0  # how long the billed event's flush may take
    work_s: float = 0.05  # charging the customer (simulated)
    nak_delay_s: float = 0.5  # a failed order is redelivered after this
    pause_s: float = 0.2  # after a fetch error (server restarting, link down)
    # reconnect for ever, quickly: a billing worker that gives up stops all billing
    reconnect_time_wait: float = 0.25
    max_reconnect_attempts: int = -1
    connect_timeout: float = 2.0
    ping_interval: int = 5
    max_outstanding_pings: int = 2
    # The defect of the broken build: ack every order of a batch as soon as it is
    # fetched, "so the server does not redeliver while we work". An order whose billing
    # then fails is never redelivered: it is lost.
    ack_on_fetch: bool = False
    callbacks: dict[str, Callable[..., Awaitable[None]]] = field(default_factory=dict)
    # where the service reports what went wrong (metrics, a tracer...): (kind, detail)
    on_event: Callable[[str, dict[str, Any]], None] | None = None


def invoice(order: dict[str, Any]) -> dict[str, Any]:
    """The billed event of one order (pure: the business logic)."""
    qty = order.get("qty", 1)
    if not isinstance(qty, int) or qty < 1:
        raise ValueError(f"order {order.get('id')!r}: bad qty {qty!r}")
    amount = round(PRICES.get(str(order.get("sku", "")), DEFAULT_PRICE) * qty, 2)
    return {"id": order["id"], "customer": order.get("customer"), "amount": amount, "billed": True}


class BillingService:
    """Fetches orders from ``config.durable`` and bills each once; see the module docstring."""

    def __init__(self, config: BillingConfig) -> None:
        self.config = config
        self.nc: Client | None = None
        self.billed: set[str] = set()  # in production: the billing table, unique by order id
        self.received = 0  # deliveries fetched (redeliveries included)
        self.repeated = 0  # redeliveries of orders already billed (acked, not billed again)
        self.failed = 0  # billings that failed (left for redelivery)
        self.fetch_errors = 0
        self.rejected = 0  # orders that can never be billed (terminated)
        self._sub: Any = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def start(self) -> None:
        """Connect, bind to the pull consumer and start the fetch loop."""
        cfg = self.config
        self.nc = await nats.connect(
            list(cfg.servers),
            name=cfg.name,
            reconnect_time_wait=cfg.reconnect_time_wait,
            max_reconnect_attempts=cfg.max_reconnect_attempts,
            connect_timeout=cfg.connect_timeout,
            ping_interval=cfg.ping_interval,
            max_outstanding_pings=cfg.max_outstanding_pings,
            # No buffering while reconnecting: a billed event published into a dead
            # connection fails at once instead of leaving minutes later, after the order
            # was already given up as unbilled (and redelivered, and billed again).
            pending_size=0,
            **cfg.callbacks,
        )
        js = self.nc.jetstream()
        self._sub = await js.pull_subscribe_bind(durable=cfg.durable, stream=cfg.stream)
        self._task = asyncio.create_task(self._run(), name="billing-fetch-loop")
        log.info("billing: consuming %s/%s", cfg.stream, cfg.durable)

    async def stop(self) -> None:
        """Finish the order in hand, stop fetching, drain and close."""
        self._stopping.set()
        if self._task is not None:
            try:
                # a fetch in progress ends within fetch_timeout; the batch in hand is billed
                await asyncio.wait_for(self._task, self.config.fetch_timeout + 5.0)
            except TimeoutError:
                log.warning("billing: the fetch loop did not stop in time, cancelled")
        if self.nc is not None and not self.nc.is_closed:
            try:
                # Unsubscribe the pull subscription first: nats-py's drain waits for its
                # message queue to be marked done, which fetch() never does, so a drain
                # with a pull subscription that fetched anything hangs until
                # drain_timeout (30 s; nats-py 2.16). The drain then flushes the last acks.
                if self._sub is not None:
                    await self._sub.unsubscribe()
                await self.nc.drain()
            except Exception:  # a drain over a dead link: close is all that is left
                log.warning("billing: drain failed, closing", exc_info=True)
                await self.nc.close()

    # ------------------------------------------------------------------ the loop
    async def _run(self) -> None:
        cfg = self.config
        while not self._stopping.is_set():
            try:
                msgs = await self._sub.fetch(cfg.batch, timeout=cfg.fetch_timeout)
            except TimeoutError:  # no order in time (or the request was cut): fetch again
                continue
            except nats.errors.ConnectionClosedError:
                if self._stopping.is_set():
                    return
                log.error("billing: connection closed, fetch loop ends")
                return
            except Exception as exc:  # no responders, 503 during a restart, not connected...
                self.fetch_errors += 1
                log.warning("billing: fetch failed (%s: %s), retrying", type(exc).__name__, exc)
                self._event("fetch_error", error=f"{type(exc).__name__}: {exc}")
                await asyncio.sleep(cfg.pause_s)
                continue
            if cfg.ack_on_fetch:
                for msg in msgs:
                    await self._ack(msg)
            for msg in msgs:
                await self._handle(msg)

    async def _handle(self, msg: Msg) -> None:
        cfg = self.config
        self.received += 1
        try:
            order = json.loads(msg.data)
            oid = str(order["id"])
            event = invoice(order)
        except (ValueError, KeyError, TypeError) as exc:
            self.rejected += 1
            log.error("billing: cannot bill %r (%s), terminated", msg.data[:80], exc)
            if not cfg.ack_on_fetch:
                with contextlib.suppress(Exception):
                    await msg.term()
            return
        if oid in self.billed:  # a redelivery after a lost ack: billed already
            self.repeated += 1
            self._event("already_billed", id=oid)
            if not cfg.ack_on_fetch:
                await self._ack(msg)
            return
        try:
            await self._bill(event)
        except Exception as exc:
            self.failed += 1
            self._event("billing_failed", id=oid, error=f"{type(exc).__name__}: {exc}")
            if cfg.ack_on_fetch:
                log.error("billing: order %s failed after its ack: %s", oid, exc)
                return
            log.warning("billing: order %s failed (%s), left for redelivery", oid, exc)
            with contextlib.suppress(Exception):  # not sent: ack_wait redelivers it anyway
                await msg.nak(delay=cfg.nak_delay_s)
            return
        self.billed.add(oid)
        self._event("billed", id=oid)
        if not cfg.ack_on_fetch:
            await self._ack(msg)

    async def _bill(self, event: dict[str, Any]) -> None:
        """Charge and publish the billed event; return once the server has it."""
        assert self.nc is not None
        await asyncio.sleep(self.config.work_s)
        await self.nc.publish(self.config.billed_subject, json.dumps(event).encode())
        # Flush twice, and only a flush that returns while connected counts. nats-py 2.16
        # (1) writes flush()'s PING straight to the socket while the PUB above still
        # waits in its pending buffer for the flusher task, so on the wire the PING comes
        # first and its PONG does not prove the server got the PUB; by the first PONG the
        # flusher has written the PUB, and the second PING follows it; (2) returns from
        # flush() at once, without any PING, when its reader or flusher task is gone,
        # which is the case while it reconnects: a "successful" flush then confirms
        # nothing.
        for _ in range(2):
            await self.nc.flush(timeout=self.config.publish_timeout)  # type: ignore[arg-type]
            if not self.nc.is_connected:
                raise nats.errors.ConnectionReconnectingError

    async def _ack(self, msg: Msg) -> None:
        try:
            await msg.ack()
        except Exception as exc:  # a lost ack: the server redelivers, we ack it again then
            log.info("billing: ack failed (%s), the order will be redelivered", exc)
            self._event("ack_failed", error=f"{type(exc).__name__}: {exc}")

    def _event(self, kind: str, **detail: Any) -> None:
        if self.config.on_event is not None:
            self.config.on_event(kind, detail)


async def ensure_consumer(nc: Client, config: BillingConfig) -> None:
    """Create the stream and the durable pull consumer if they are missing (standalone
    use; in production whoever owns the stream declares both)."""
    js = nc.jetstream()
    try:
        await js.stream_info(config.stream)
    except nats.js.errors.NotFoundError:
        await js.add_stream(name=config.stream, subjects=[config.orders_subject])
    try:
        await js.consumer_info(config.stream, config.durable)
    except nats.js.errors.NotFoundError:
        await js.add_consumer(
            config.stream,
            ConsumerConfig(durable_name=config.durable, ack_policy=AckPolicy.EXPLICIT, ack_wait=30),
        )


async def main(servers: Sequence[str]) -> None:
    """Serve until interrupted."""
    config = BillingConfig(servers=tuple(servers))
    setup = await nats.connect(list(servers))
    try:
        await ensure_consumer(setup, config)
    finally:
        await setup.close()
    service = BillingService(config)
    await service.start()
    try:
        await asyncio.Event().wait()
    finally:
        await service.stop()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    asyncio.run(main(sys.argv[1:] or ["nats://127.0.0.1:4222"]))
