"""Batched publishing: partial flush, retries with exponential backoff, failed batch queue.

A batch is flushed when it reaches ``batch_size`` or ``flush_interval`` has passed. It is
split into groups by subject; each group goes to one pool member and is confirmed on its
own (``_delivery.send_confirmed``), so groups that succeed are published even when others
fail (partial flush). A failed group is retried after ``base * 2**k`` seconds for
``k = 0 .. max_batch_retries-1`` (100, 200, 400 ms by default) on the same member unless
that member is known to be disconnected; still failing, it goes to the failed batch queue,
from which ``recover()`` re-publishes it, preferring a member it has not failed on.

Invariant (checked by tests): every accepted message is at any moment in exactly one of
the current batch, in flight, confirmed (``published``) or the failed queue; cancellation
(``close()`` timing out) moves in-flight groups to the failed queue instead of losing them.

Logging (``nats_service.batch``): a failed attempt that will be retried is INFO (it may
still succeed); a group moved to the failed batch queue is WARNING, naming its subject,
message count, attempts and last error; a recovery run is INFO.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from itertools import groupby

from nats_fault_harness.reference._delivery import OutgoingMessage, send_confirmed
from nats_fault_harness.reference._events import EventBus
from nats_fault_harness.reference._logging import batch_log
from nats_fault_harness.reference._pool import Connection, ConnectionPool
from nats_fault_harness.reference._results import (
    FailedGroup,
    FlushResult,
    RecoveryResult,
    RetryRecord,
)
from nats_fault_harness.reference.config import NATSConfig
from nats_fault_harness.reference.nats_exceptions import NATSPublishError

__all__ = ["BatchPublisher"]


@dataclass
class _Counters:
    accepted: int = 0
    published: int = 0
    in_flight: int = 0
    batches_flushed: int = 0
    total_success: int = 0
    total_failed: int = 0
    retry_attempts: int = 0
    retry_successes: int = 0
    recovery_runs: int = 0
    recovered: int = 0
    last_flush: FlushResult = field(default_factory=FlushResult)
    retry_log: list[RetryRecord] = field(default_factory=list)


@dataclass
class _Outcome:
    group: FailedGroup
    published: bool
    retries: int = 0


class BatchPublisher:
    """Holds the current batch and the failed queue; flushes, retries and recovers."""

    def __init__(self, config: NATSConfig, pool: ConnectionPool, bus: EventBus) -> None:
        self._config = config
        self._pool = pool
        self._bus = bus
        self._batch: list[OutgoingMessage] = []
        self._failed: deque[FailedGroup] = deque()
        self._lock = asyncio.Lock()
        self._size_reached = asyncio.Event()
        self.counters = _Counters()

    @property
    def batch_size(self) -> int:
        """Messages waiting in the current batch."""
        return len(self._batch)

    @property
    def failed_groups(self) -> tuple[FailedGroup, ...]:
        """The failed batch queue, oldest first."""
        return tuple(self._failed)

    @property
    def failed_size(self) -> int:
        """Messages in the failed batch queue."""
        return sum(len(g.messages) for g in self._failed)

    def add(self, message: OutgoingMessage) -> None:
        """Append a message to the current batch.

        Raises:
            NATSPublishError: not ambiguous; ``max_buffered_messages`` would be exceeded.
        """
        held = len(self._batch) + self.counters.in_flight + self.failed_size
        if held >= self._config.max_buffered_messages:
            raise NATSPublishError(
                f"batch buffer full: {held} messages held (batch, in flight, failed queue)",
                subject=message.subject,
                ambiguous=False,
            )
        self._batch.append(message)
        self.counters.accepted += 1
        if len(self._batch) >= self._config.batch_size:
            self._size_reached.set()

    async def run(self) -> None:
        """Flush whenever the batch is full or ``flush_interval`` passed (until cancelled)."""
        while True:
            try:
                async with asyncio.timeout(self._config.flush_interval):
                    await self._size_reached.wait()
            except TimeoutError:
                pass
            if self._batch:
                await self.flush()

    async def flush(self) -> FlushResult:
        """Flush the current batch, retrying failed groups, and wait for the outcome."""
        async with self._lock:
            self._size_reached.clear()
            batch, self._batch = self._batch, []
            if not batch:
                return FlushResult()
            groups = [
                (subject, tuple(msgs))
                for subject, msgs in groupby(
                    sorted(batch, key=lambda m: m.subject), key=lambda m: m.subject
                )
            ]
            self.counters.in_flight += len(batch)
            self._bus.emit("batch_flush_started", count=len(batch), attempt=len(groups))
            pending = {i: FailedGroup(s, msgs) for i, (s, msgs) in enumerate(groups)}
            try:
                async with asyncio.TaskGroup() as tg:
                    tasks = [tg.create_task(self._deliver(i, pending)) for i in pending]
            finally:
                self.counters.total_failed += sum(len(g.messages) for g in pending.values())
                self._queue_interrupted(pending)
            outcomes = [t.result() for t in tasks]
            result = self._summarize(len(batch), outcomes)
            self.counters.batches_flushed += 1
            self.counters.last_flush = result
            return result

    def _queue_interrupted(self, pending: dict[int, FailedGroup]) -> None:
        """Queue groups whose task was cancelled (``close()`` timing out), even unstarted."""
        for group in pending.values():
            self._queue(replace(group, last_error="interrupted (service closing)", ambiguous=True))
        pending.clear()

    def _summarize(self, total: int, outcomes: Sequence[_Outcome]) -> FlushResult:
        ok = sum(len(o.group.messages) for o in outcomes if o.published)
        return FlushResult(
            messages=total,
            groups=len(outcomes),
            successful_messages=ok,
            failed_messages=total - ok,
            retried_messages=sum(len(o.group.messages) for o in outcomes if o.retries),
            retries=sum(o.retries for o in outcomes),
            failed_subjects=tuple(o.group.subject for o in outcomes if not o.published),
        )

    async def _deliver(self, key: int, pending: dict[int, FailedGroup]) -> _Outcome:
        """First attempt plus retries for ``pending[key]``; pops it when it is settled."""
        group = pending[key]
        subject, count = group.subject, len(group.messages)
        group, failed_at = await self._attempt(group, self._pool.route(subject), 0)
        pending[key] = group
        if failed_at is None:
            del pending[key]
            return _Outcome(group, published=True)
        for attempt, delay in enumerate(self._config.retry_delays(), start=1):
            log_retry(group, attempt, delay)
            self._bus.emit(
                "retry_scheduled",
                subject=subject,
                attempt=attempt,
                delay=delay,
                count=count,
                message_ids=_ids(group.messages),
            )
            await asyncio.sleep(delay)
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
        return _Outcome(group, published=False, retries=len(self._config.retry_delays()))

    async def _attempt(
        self, group: FailedGroup, conn: Connection, attempt: int, *, flushing: bool = True
    ) -> tuple[FailedGroup, float | None]:
        """Try one group once; return the updated group and the failure time (None = ok).

        Counters move before the event that reports them is emitted, so statistics read at
        any moment (an observer's callback included) agree with the events already seen.
        ``flushing=False`` for a recovery, whose successes are not flush successes.
        """
        ids = _ids(group.messages)
        try:
            await send_confirmed(
                conn.client, conn.confirmer, group.messages, self._config.flush_timeout
            )
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

    def _queue(self, group: FailedGroup) -> None:
        self.counters.in_flight -= len(group.messages)
        self._failed.append(group)
        batch_log.warning(
            "group %s: %d messages moved to the failed batch queue after %d attempts: %s",
            group.subject,
            len(group.messages),
            group.attempts,
            group.last_error,
        )
        self._bus.emit(
            "batch_queued_failed",
            subject=group.subject,
            count=len(group.messages),
            message_ids=_ids(group.messages),
            error=group.last_error,
            ambiguous=group.ambiguous,
        )

    async def recover(self) -> RecoveryResult:
        """Try every queued group once more; failures go back to the queue."""
        async with self._lock:
            pending = dict(enumerate(self._failed))
            self._failed.clear()
            total = sum(len(g.messages) for g in pending.values())
            self.counters.in_flight += total
            self.counters.recovery_runs += 1
            try:
                async with asyncio.TaskGroup() as tg:
                    tasks = [tg.create_task(self._recover_one(i, pending)) for i in pending]
            finally:
                self._queue_interrupted(pending)
            ids = tuple(i for t in tasks for i in t.result())
            self.counters.recovered += len(ids)
            if total:
                batch_log.info("recovery: %d of %d queued messages re-published", len(ids), total)
            return RecoveryResult(total, len(ids), total - len(ids), ids)

    async def _recover_one(self, key: int, pending: dict[int, FailedGroup]) -> tuple[str, ...]:
        group = pending[key]
        conn = self._pool.route(group.subject, avoid=group.failed_members)
        updated, failed_at = await self._attempt(group, conn, group.attempts, flushing=False)
        del pending[key]
        if failed_at is not None:
            self._queue(updated)
            return ()
        ids = _ids(group.messages)
        self._bus.emit(
            "recovered", subject=group.subject, member=conn.name, message_ids=ids, count=len(ids)
        )
        return ids


def log_retry(group: FailedGroup, attempt: int, delay: float) -> None:
    """INFO: ``group`` failed and retry ``attempt`` follows in ``delay`` seconds."""
    batch_log.info(
        "group %s: %d messages failed (%s); retry %d in %.3f s",
        group.subject,
        len(group.messages),
        group.last_error,
        attempt,
        delay,
    )


def _ids(messages: Sequence[OutgoingMessage]) -> tuple[str, ...]:
    return tuple(m.message_id for m in messages)
