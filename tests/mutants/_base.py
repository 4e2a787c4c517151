"""Seams for the mutants: the reference service with its parts made replaceable.

The reference builds its parts by name inside ``NATSService.connect()``, so a mutant
cannot swap one without a seam. :class:`MutantService` is that seam: ``connect()`` is the
reference's, building the parts from class attributes a mutant overrides.
:class:`HookedBatchPublisher` is the reference ``BatchPublisher`` whose retry loop and
single attempt are copied with two hooks (the retry schedule, the wait between retries)
and one seam (how a group is sent), so a batching mutant changes one line, not forty
(the copies log as the reference does: a retry at INFO through ``log_retry``).
:class:`MutantSut` is the reference adapter driving a :class:`MutantService` and a broker
of the mutant's choice; it passes whatever the service returns (``None``, ``False``)
through to the runner, as any adapter must, so the checkers see it.

``make_control`` is the control: these seams with no defect. It must pass every
scenario, or a kill could come from the plumbing instead of the defect.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from nats_fault_harness.reference import (
    NATSConfig,
    NATSConnectionError,
    NATSMessageBroker,
    NATSPublishError,
    NATSService,
    PoolInitReport,
)
from nats_fault_harness.reference._batching import BatchPublisher, _ids, _Outcome, log_retry
from nats_fault_harness.reference._delivery import OutgoingMessage, send_confirmed
from nats_fault_harness.reference._health import HealthMonitor
from nats_fault_harness.reference._pool import Connection, ConnectionPool, open_main
from nats_fault_harness.reference._results import FailedGroup, RetryRecord
from nats_fault_harness.reference._subscriptions import SubscriptionRegistry
from nats_fault_harness.reference.service import _Parts
from nats_fault_harness.scenario import EventSink, PoolInit, ServiceUnderTest, SutEnv
from nats_fault_harness.scenario._reference_sut import _config, _pool_init
from nats_fault_harness.scenario.reference_sut import ReferenceSut

__all__ = [
    "HookedBatchPublisher",
    "MutantService",
    "MutantSut",
    "make_control",
    "sut_for",
]


class HookedBatchPublisher(BatchPublisher):
    """The reference ``BatchPublisher``; ``_deliver`` and ``_attempt`` copied with hooks."""

    def retry_delays(self) -> tuple[float, ...]:
        """The nominal delay before each retry (the reference: ``base * 2**k``, k < max)."""
        return self._config.retry_delays()

    async def backoff(self, delay: float) -> None:
        """Wait before a retry (the reference: ``asyncio.sleep``)."""
        await asyncio.sleep(delay)

    async def send(self, conn: Connection, messages: Sequence[OutgoingMessage]) -> None:
        """Publish one group and return once it is confirmed (the reference: echo marker)."""
        await send_confirmed(conn.client, conn.confirmer, messages, self._config.flush_timeout)

    async def _deliver(self, key: int, pending: dict[int, FailedGroup]) -> _Outcome:
        group = pending[key]
        subject, count = group.subject, len(group.messages)
        group, failed_at = await self._attempt(group, self._pool.route(subject), 0)
        pending[key] = group
        if failed_at is None:
            del pending[key]
            return _Outcome(group, published=True)
        delays = self.retry_delays()
        for attempt, delay in enumerate(delays, start=1):
            log_retry(group, attempt, delay)
            self._bus.emit(
                "retry_scheduled",
                subject=subject,
                attempt=attempt,
                delay=delay,
                count=count,
                message_ids=_ids(group.messages),
            )
            await self.backoff(delay)
            started = time.monotonic()
            conn = self._pool.route(subject)
            self.counters.retry_attempts += 1
            group, next_failed = await self._attempt(group, conn, attempt)
            pending[key] = group
            self.counters.retry_log.append(
                RetryRecord(
                    subject,
                    attempt,
                    delay,
                    failed_at,
                    started,
                    conn.name,
                    "failed" if next_failed else "published",
                    count,
                )
            )
            if next_failed is None:
                del pending[key]
                self.counters.retry_successes += 1
                return _Outcome(group, published=True, retries=attempt)
            failed_at = next_failed
        del pending[key]
        self.counters.total_failed += count
        self._queue(group)
        return _Outcome(group, published=False, retries=len(delays))

    async def _attempt(
        self, group: FailedGroup, conn: Connection, attempt: int, *, flushing: bool = True
    ) -> tuple[FailedGroup, float | None]:
        ids = _ids(group.messages)
        try:
            await self.send(conn, group.messages)
        except NATSPublishError as exc:
            failed_at = time.monotonic()
            self._bus.emit(
                "group_failed",
                subject=group.subject,
                member=conn.name,
                message_ids=ids,
                count=len(ids),
                attempt=attempt,
                error=str(exc),
                ambiguous=exc.ambiguous,
            )
            return replace(
                group,
                failed_members=(*group.failed_members, conn.name),
                attempts=group.attempts + 1,
                last_error=str(exc),
                ambiguous=group.ambiguous or exc.ambiguous,
            ), failed_at
        self.counters.in_flight -= len(ids)
        self.counters.published += len(ids)
        if flushing:
            self.counters.total_success += len(ids)
        self._bus.emit(
            "group_published",
            subject=group.subject,
            member=conn.name,
            message_ids=ids,
            count=len(ids),
            attempt=attempt,
        )
        return replace(group, attempts=group.attempts + 1), None


class MutantService(NATSService):
    """``NATSService`` whose parts come from class attributes (``connect()`` as the reference)."""

    pool_class: type[ConnectionPool] = ConnectionPool
    batch_class: type[BatchPublisher] = HookedBatchPublisher
    subs_class: type[SubscriptionRegistry] = SubscriptionRegistry
    health_class: type[HealthMonitor] = HealthMonitor

    async def connect(self) -> PoolInitReport:
        if self._parts is not None or self._closed:
            raise NATSConnectionError("connect() may be called once per service")
        cfg = self._config
        main = await open_main(cfg, self._bus)
        pool = await self.pool_class.open(cfg, main, self._bus)
        parts = _Parts(
            pool,
            self.batch_class(cfg, pool, self._bus),
            self.subs_class(cfg, main, self._bus),
            self.health_class(cfg, pool, self._bus),
        )
        self._parts = parts
        self._background.start(parts.batches.run(), "batch-flusher")
        self._background.start(parts.health.run(), "health-monitor")
        return pool.report


class MutantSut(ReferenceSut):
    """The reference adapter over ``service_class`` and ``broker_class``."""

    service_class: type[NATSService] = MutantService
    broker_class: type[NATSMessageBroker] = NATSMessageBroker

    async def start(self, env: SutEnv, report: EventSink) -> PoolInit:
        config: NATSConfig = _config(env)
        self.name = config.name
        self._env, self._report = env, report
        service = self._service = self.service_class(config)
        self._broker = self.broker_class(service)
        service.add_observer(self._observe)
        init = _pool_init(await service.connect(), config.name)
        await self._serve(env)
        return init

    async def request(self, subject: str, data: bytes, timeout: float) -> Any:
        """The reply's payload, or whatever else the service returned instead of a reply."""
        reply: Any = await self._svc().request(subject, data, timeout=timeout)
        return reply.data if hasattr(reply, "data") else reply

    async def unsubscribe(self, handle: object) -> Any:
        """Whatever the service's ``unsubscribe()`` returned (the reference: None)."""
        return await self._svc().unsubscribe(handle)  # type: ignore[arg-type,func-returns-value]


def sut_for(
    service: type[NATSService] = MutantService,
    broker: type[NATSMessageBroker] = NATSMessageBroker,
) -> ServiceUnderTest:
    """A fresh :class:`MutantSut` over the given service and broker classes."""
    sut = MutantSut()
    sut.service_class, sut.broker_class = service, broker
    return sut


def make_control() -> ServiceUnderTest:
    """The seams with no defect: must pass every scenario the mutants are run against."""
    return sut_for()
