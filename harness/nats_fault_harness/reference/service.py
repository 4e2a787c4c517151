"""``NATSService``: the reference NATS service (connection pool, batching, health, pub/sub).

Composition, one concept per private module: ``_pool`` (named connections, pool init and
routing), ``_delivery`` (confirmed publishing), ``_batching`` (partial flush, retries,
failed batch queue), ``_subscriptions`` (handlers and JetStream acks), ``_health``
(ping/pong checks), ``_events`` (observer hook). nats-py errors are translated in
``_translate`` only; every public method raises the ``NATSError`` subclass named in its
docstring. All I/O is awaited on the event loop; nothing here blocks it.

Delivery guarantee (``docs/error-handling.md``): ``publish()`` returns only once the
server has the message; every message accepted by ``publish_batched()`` is in the batch,
in flight, confirmed, or in the failed batch queue - never silently gone. Failures that may
have reached a server are ``ambiguous``: recovery is at-least-once, dedupe by message id.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Self

from nats_fault_harness.reference._background import BackgroundTasks
from nats_fault_harness.reference._batching import BatchPublisher
from nats_fault_harness.reference._delivery import OutgoingMessage, send_confirmed
from nats_fault_harness.reference._events import EventBus, EventKind, Observer
from nats_fault_harness.reference._health import HealthMonitor
from nats_fault_harness.reference._jetstream import JetStreamAck, publish_with_ack
from nats_fault_harness.reference._pool import ConnectionPool, open_main
from nats_fault_harness.reference._results import (
    ConnectionStats,
    FailedGroup,
    FlushResult,
    PoolInitReport,
    RecoveryResult,
)
from nats_fault_harness.reference._stats import build_stats
from nats_fault_harness.reference._subscriptions import (
    Handler,
    IncomingMessage,
    SubscriptionInfo,
    SubscriptionRegistry,
)
from nats_fault_harness.reference._translate import Op, describe, translate
from nats_fault_harness.reference.config import NATSConfig
from nats_fault_harness.reference.nats_exceptions import (
    NATSConnectionError,
    NATSError,
    NATSPublishError,
)
from nats_fault_harness.reference.subjects import NATSSubjectManager

__all__ = ["NATSService"]

_SUBJECTS = NATSSubjectManager(patterns={})


@dataclass(frozen=True, slots=True)
class _Parts:
    """What ``connect()`` builds; None before it."""

    pool: ConnectionPool
    batches: BatchPublisher
    subs: SubscriptionRegistry
    health: HealthMonitor


class NATSService:
    """A NATS client service with a publish pool, confirmed batching and health checks.

    Use as ``async with NATSService(config) as service:`` or call :meth:`connect` and
    :meth:`close`. Register observers before connecting to see every event.

    Args:
        config: validated configuration.
    """

    def __init__(self, config: NATSConfig) -> None:
        self._config = config
        self._bus = EventBus()
        self._parts: _Parts | None = None
        self._background = BackgroundTasks(config.name)
        self._close_errors: dict[str, str] = {}
        self._closed = False
        self.published = 0
        self.publish_failures = 0

    @property
    def config(self) -> NATSConfig:
        """The configuration this service was built with."""
        return self._config

    @property
    def pool_report(self) -> PoolInitReport | None:
        """How pool initialization went (None before :meth:`connect`)."""
        return self._parts.pool.report if self._parts else None

    def add_observer(self, observer: Observer) -> None:
        """Call ``observer(event)`` for every :class:`ServiceEvent` from now on."""
        self._bus.add(observer)

    def remove_observer(self, observer: Observer) -> None:
        """Stop calling ``observer``."""
        self._bus.remove(observer)

    def report_event(self, kind: EventKind, **fields: object) -> None:
        """Add an event to the observer stream (used by layers above, e.g. the broker)."""
        self._bus.emit(kind, **fields)

    async def connect(self) -> PoolInitReport:
        """Connect the main connection, then the pool members; start background tasks.

        Returns:
            The pool initialization report (members connected, failures with reasons).

        Raises:
            NATSConnectionError: the main connection failed, or already connected/closed.
                Pool member failures never raise; they are in the report.
        """
        if self._parts is not None or self._closed:
            raise NATSConnectionError("connect() may be called once per service")
        cfg = self._config
        main = await open_main(cfg, self._bus)
        pool = await ConnectionPool.open(cfg, main, self._bus)
        parts = _Parts(
            pool,
            BatchPublisher(cfg, pool, self._bus),
            SubscriptionRegistry(cfg, main, self._bus),
            HealthMonitor(cfg, pool, self._bus),
        )
        self._parts = parts
        self._background.start(parts.batches.run(), "batch-flusher")
        self._background.start(parts.health.run(), "health-monitor")
        return pool.report

    async def close(self) -> None:
        """Flush the current batch, stop background tasks and close every connection.

        The final flush (with its retries) is bounded by ``close_timeout``; whatever is
        not confirmed by then is in the failed batch queue, still readable through
        :meth:`failed_batches` and the stats after closing.

        Raises:
            NATSError: a background task had crashed (a bug); raised after cleanup.
        """
        if self._closed:
            return
        self._closed = True
        parts = self._parts
        try:
            if parts is not None:
                async with asyncio.timeout(self._config.close_timeout):
                    await parts.batches.flush()
        except TimeoutError:
            pass  # unconfirmed groups were moved to the failed batch queue
        finally:
            await self._background.stop()
            if parts is not None:
                self._close_errors = await parts.pool.close(self._config.close_timeout)
        if self._background.errors:
            first = self._background.errors[0]
            raise NATSError(f"background task failed: {describe(first)}", cause=first) from first

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def is_connected(self) -> bool:
        """True while the main connection is connected (nats-py's view; may lag a fault)."""
        return self._parts is not None and not self._closed and self._parts.pool.main.connected

    def is_healthy(self) -> bool:
        """True if connected and the main connection passed its last ping/pong check."""
        return self.is_connected() and self._parts is not None and self._parts.health.healthy

    async def check_health(self) -> bool:
        """Run a ping/pong check of every connection now; return :meth:`is_healthy`."""
        if self._parts is None or self._closed:
            return False
        await self._parts.health.check()
        return self.is_healthy()

    async def publish(
        self, subject: str, data: bytes, *, headers: Mapping[str, str] | None = None
    ) -> None:
        """Publish one message on the main connection and wait until the server has it.

        Raises:
            NATSPublishError: invalid subject (wildcards included), or not confirmed
                within ``flush_timeout``; ``ambiguous`` says whether it may still have
                reached the server.
        """
        main = self._require().pool.main
        if not _SUBJECTS.is_valid(subject):
            raise NATSPublishError(f"invalid subject {subject!r}", subject=subject)
        msg = OutgoingMessage(subject, data, "", dict(headers) if headers else None)
        try:
            await send_confirmed(main.client, main.confirmer, [msg], self._config.flush_timeout)
        except NATSPublishError:
            self.publish_failures += 1
            raise
        self.published += 1

    async def publish_jetstream(
        self, subject: str, data: bytes, *, msg_id: str | None = None
    ) -> JetStreamAck:
        """Publish one message to a JetStream stream and return its PubAck.

        With ``msg_id`` (sent as ``Nats-Msg-Id``) the publish is exactly once within the
        stream's duplicate window: every ambiguous failure is retried with the same id
        for ``jetstream_retry_deadline`` seconds. Without it, a publish whose PubAck did
        not come is not retried (a retry could store it twice); it raises, ambiguous.
        Each retry is a ``jetstream_retry`` event. See ``_jetstream`` for the rules.

        Raises:
            NATSPublishError: invalid subject, or no PubAck; ``ambiguous`` says whether
                the stream may hold it anyway.
        """
        main = self._require().pool.main
        if not _SUBJECTS.is_valid(subject):
            raise NATSPublishError(f"invalid subject {subject!r}", subject=subject)
        cfg = self._config

        def retried(attempt: int, exc: BaseException, ambiguous: bool) -> None:
            self._bus.emit(
                "jetstream_retry",
                subject=subject,
                message_ids=(msg_id,) if msg_id else (),
                attempt=attempt,
                error=describe(exc),
                ambiguous=ambiguous,
            )

        try:
            ack = await publish_with_ack(
                main.client.jetstream(),
                subject,
                data,
                msg_id=msg_id,
                timeout=cfg.jetstream_publish_timeout,
                deadline=cfg.jetstream_retry_deadline,
                base_delay=cfg.jetstream_retry_delay,
                on_retry=retried,
            )
        except NATSPublishError:
            self.publish_failures += 1
            raise
        self.published += 1
        return ack

    async def publish_batched(
        self, subject: str, data: bytes, *, message_id: str | None = None
    ) -> str:
        """Hand a message to the current batch; it is flushed by size or interval.

        Returns:
            The message id (generated if not given), sent as ``Nats-Msg-Id``.

        Raises:
            NATSPublishError: not ambiguous; the service is closed, the subject is invalid
                or the buffer is full.
        """
        batches = self._require().batches
        if self._closed:
            raise NATSPublishError("service is closed", subject=subject, ambiguous=False)
        if not _SUBJECTS.is_valid(subject):
            # Refused now: a bad subject would fail every retry and sit in the failed queue.
            raise NATSPublishError(f"invalid subject {subject!r}", subject=subject)
        mid = message_id or uuid.uuid4().hex
        headers = {"Nats-Msg-Id": mid} if self._config.message_id_header else None
        batches.add(OutgoingMessage(subject, data, mid, headers))
        return mid

    async def flush(self) -> FlushResult:
        """Flush the current batch now and wait for it, including retries."""
        return await self._require().batches.flush()

    async def recover_failed_batches(self) -> RecoveryResult:
        """Re-publish every group in the failed batch queue once, preferring members
        other than those it failed on; groups that fail again stay queued."""
        return await self._require().batches.recover()

    def failed_batches(self) -> tuple[FailedGroup, ...]:
        """The failed batch queue, oldest group first (also readable after close)."""
        return self._parts.batches.failed_groups if self._parts else ()

    def member_for(self, subject: str) -> str:
        """Name of the connection a batch group for ``subject`` would use right now."""
        return self._require().pool.route(subject).name

    async def subscribe(
        self, subject: str, handler: Handler, *, queue: str = ""
    ) -> SubscriptionInfo:
        """Subscribe ``handler`` to ``subject`` (core NATS, at most once).

        Returns once the server has registered the interest, so a message published
        afterwards (from any connection) reaches the handler.

        Raises:
            NATSSubscribeError: nats-py refused (closed connection, bad subject...).
        """
        return await self._require().subs.subscribe(subject, handler, queue)

    async def subscribe_jetstream(
        self,
        subject: str,
        handler: Handler,
        *,
        stream: str | None = None,
        durable: str | None = None,
        ack_wait: float | None = None,
        max_deliver: int | None = None,
    ) -> SubscriptionInfo:
        """Subscribe a JetStream push consumer; acks follow ``config.manual_ack``.

        Raises:
            NATSSubscribeError: no stream for the subject, consumer bound, closed...
        """
        return await self._require().subs.subscribe_jetstream(
            subject,
            handler,
            stream=stream,
            durable=durable,
            ack_wait=ack_wait,
            max_deliver=max_deliver,
        )

    async def unsubscribe(self, subscription: SubscriptionInfo | str) -> None:
        """Remove a subscription by handle or id.

        Raises:
            NATSUnsubscribeError: unknown subscription, or the connection is closed.
        """
        await self._require().subs.unsubscribe(subscription)

    async def request(
        self,
        subject: str,
        data: bytes = b"",
        *,
        timeout: float | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> IncomingMessage:
        """Send a request and return the reply.

        Raises:
            NATSRequestError: ``timed_out`` (nobody answered in ``timeout``) or
                ``no_responders`` (nobody subscribes), with subject, timeout and cause.
        """
        main = self._require().pool.main
        wait = timeout if timeout is not None else self._config.request_timeout
        with translate(Op.REQUEST, subject=subject, timeout=wait):
            reply = await main.client.request(
                subject, data, timeout=wait, headers=dict(headers) if headers else None
            )
        return IncomingMessage(reply.subject, reply.data, reply.reply, reply.headers)

    def get_connection_stats(self) -> ConnectionStats:
        """Return a snapshot of state and counters (see :class:`ConnectionStats`)."""
        parts = self._parts
        return build_stats(
            connected=self.is_connected(),
            healthy=self.is_healthy(),
            published=self.published,
            publish_failures=self.publish_failures,
            pool=parts.pool if parts else None,
            batches=parts.batches if parts else None,
            subs=parts.subs if parts else None,
            health=parts.health if parts else None,
            bus=self._bus,
        )

    @property
    def close_errors(self) -> Mapping[str, str]:
        """Connection name -> error text for connections that failed to close cleanly."""
        return dict(self._close_errors)

    def _require(self) -> _Parts:
        if self._parts is None:
            raise NATSConnectionError("service is not connected: call connect() first")
        return self._parts
