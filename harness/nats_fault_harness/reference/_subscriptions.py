"""Core and JetStream subscriptions on the main connection, with handler isolation.

Handlers receive an :class:`IncomingMessage` (no nats-py type leaks into user code). A
handler that raises is counted and reported as a ``handler_error`` event; it never kills
the subscription and never reaches nats-py's ``error_cb``.

JetStream push subscriptions are always created with nats-py's ``manual_ack=True`` so the
service, not nats-py, decides when to acknowledge:

* ``manual_ack`` on: ``ack_sync`` after the handler succeeds (the server confirms the
  ack; a failed ack is counted as ``ack_failures``), ``nak`` when it raises, which
  redelivers at once.
* ``manual_ack`` off (the default, as in the remediation document): a plain ``ack`` after
  success, nothing when the handler raises, so the message is redelivered after
  ``ack_wait`` (what nats-py's auto-ack does).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js.api import AckPolicy, ConsumerConfig

from nats_fault_harness.reference._events import EventBus
from nats_fault_harness.reference._pool import Connection
from nats_fault_harness.reference._translate import Op, describe, translate
from nats_fault_harness.reference.config import NATSConfig
from nats_fault_harness.reference.nats_exceptions import NATSSubscribeError, NATSUnsubscribeError

__all__ = ["Handler", "IncomingMessage", "SubscriptionInfo", "SubscriptionRegistry"]


@dataclass(frozen=True, slots=True)
class IncomingMessage:
    """A received message.

    Attributes:
        subject: subject it was published to.
        data: payload bytes.
        reply: reply subject, or ``""``.
        headers: NATS headers (empty if none).
        num_delivered: JetStream delivery count (1 = first delivery), else None.
        stream_sequence: JetStream stream sequence, else None.
    """

    subject: str
    data: bytes
    reply: str = ""
    headers: Mapping[str, str] | None = None
    num_delivered: int | None = None
    stream_sequence: int | None = None


Handler = Callable[[IncomingMessage], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class SubscriptionInfo:
    """Handle of a subscription; pass it (or its ``id``) to ``unsubscribe()``.

    Attributes:
        id: the service's id for it.
        subject: subject or wildcard subscribed to.
        queue: queue group, or ``""``.
        jetstream: True for a JetStream push consumer.
        stream: JetStream stream, if any.
        durable: JetStream durable consumer name, if any.
        manual_ack: whether ack-after-success / nak-on-error applies.
    """

    id: str
    subject: str
    queue: str = ""
    jetstream: bool = False
    stream: str | None = None
    durable: str | None = None
    manual_ack: bool = False


class SubscriptionRegistry:
    """Subscriptions of one connection, by id, plus receive/ack counters."""

    def __init__(self, config: NATSConfig, conn: Connection, bus: EventBus) -> None:
        self._config = config
        self._conn = conn
        self._bus = bus
        self._ids = itertools.count(1)
        self._subs: dict[str, tuple[SubscriptionInfo, Subscription]] = {}
        self.received = 0
        self.handler_errors = 0
        self.acks = 0
        self.ack_failures = 0
        self.naks = 0

    def __len__(self) -> int:
        return len(self._subs)

    async def subscribe(self, subject: str, handler: Handler, queue: str = "") -> SubscriptionInfo:
        """Subscribe with a core NATS subscription (at-most-once delivery)."""

        async def on_msg(msg: Msg) -> None:
            self.received += 1
            incoming = IncomingMessage(msg.subject, msg.data, msg.reply, msg.headers)
            await self._run_handler(handler, incoming)

        with translate(Op.SUBSCRIBE, subject=subject):
            sub = await self._conn.client.subscribe(subject, queue=queue, cb=on_msg)
        await self._confirm(subject, sub)
        return self._register(SubscriptionInfo(self._next_id(), subject, queue), sub)

    async def subscribe_jetstream(
        self,
        subject: str,
        handler: Handler,
        *,
        stream: str | None,
        durable: str | None,
        ack_wait: float | None,
        max_deliver: int | None,
    ) -> SubscriptionInfo:
        """Subscribe a JetStream push consumer; acks follow ``config.manual_ack``."""
        manual = self._config.manual_ack

        async def on_msg(msg: Msg) -> None:
            self.received += 1
            meta = msg.metadata
            incoming = IncomingMessage(
                msg.subject,
                msg.data,
                msg.reply,
                msg.headers,
                num_delivered=meta.num_delivered,
                stream_sequence=meta.sequence.stream,
            )
            ok = await self._run_handler(handler, incoming)
            await self._acknowledge(msg, incoming, ok=ok, manual=manual)

        consumer = ConsumerConfig(
            durable_name=durable,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=ack_wait,
            max_deliver=max_deliver,
        )
        with translate(Op.SUBSCRIBE, subject=subject):
            psub = await self._conn.client.jetstream().subscribe(
                subject,
                cb=on_msg,
                durable=durable,
                stream=stream,
                config=consumer,
                manual_ack=True,
            )
        await self._confirm(subject, psub)
        info = SubscriptionInfo(
            self._next_id(),
            subject,
            jetstream=True,
            stream=stream,
            durable=durable,
            manual_ack=manual,
        )
        return self._register(info, psub)

    async def unsubscribe(self, subscription: SubscriptionInfo | str) -> None:
        """Remove a subscription.

        Raises:
            NATSUnsubscribeError: unknown id, or nats-py refused (e.g. connection closed).
        """
        sub_id = subscription if isinstance(subscription, str) else subscription.id
        if sub_id not in self._subs:
            raise NATSUnsubscribeError(f"unknown subscription {sub_id!r}", subscription_id=sub_id)
        info, sub = self._subs[sub_id]
        with translate(Op.UNSUBSCRIBE, subject=info.subject, subscription_id=sub_id):
            await sub.unsubscribe()
        del self._subs[sub_id]

    async def _confirm(self, subject: str, sub: Subscription) -> None:
        """Return once the server has the interest (SUB then echo marker, in order).

        Without this, a message published right after ``subscribe()`` returns (from any
        connection) can reach the server before the SUB and be dropped.
        """
        try:
            await self._conn.confirmer.barrier(
                self._config.flush_timeout, subject=subject, op=Op.SUBSCRIBE
            )
        except NATSSubscribeError:
            with (
                contextlib.suppress(NATSUnsubscribeError),
                translate(Op.UNSUBSCRIBE, subject=subject, subscription_id=""),
            ):
                await sub.unsubscribe()
            raise

    def _next_id(self) -> str:
        return f"sub-{next(self._ids)}"

    def _register(self, info: SubscriptionInfo, sub: Subscription) -> SubscriptionInfo:
        self._subs[info.id] = (info, sub)
        return info

    async def _run_handler(self, handler: Handler, incoming: IncomingMessage) -> bool:
        try:
            await handler(incoming)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.handler_errors += 1
            self._bus.emit(
                "handler_error",
                subject=incoming.subject,
                error=describe(exc),
                attempt=incoming.num_delivered,
            )
            return False
        return True

    async def _acknowledge(
        self, msg: Msg, incoming: IncomingMessage, *, ok: bool, manual: bool
    ) -> None:
        delivered = incoming.num_delivered
        try:
            with translate(Op.ACK, subject=incoming.subject):
                if ok and manual:
                    await msg.ack_sync(timeout=self._config.ack_timeout)
                elif ok:
                    await msg.ack()
                elif manual:
                    await msg.nak()
                else:
                    return  # auto mode: left unacked, redelivered after ack_wait
        except NATSSubscribeError as exc:
            self.ack_failures += 1
            self._bus.emit(
                "ack_failed", subject=incoming.subject, attempt=delivered, error=str(exc)
            )
            return
        if ok:
            self.acks += 1
            self._bus.emit("acked", subject=incoming.subject, attempt=delivered)
        else:
            self.naks += 1
            self._bus.emit("naked", subject=incoming.subject, attempt=delivered)
