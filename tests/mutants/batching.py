"""Mutants of the batch fixes: partial flush, backoff, the retry cap, the failed batch
queue and ``recover_failed_batches()``."""

from __future__ import annotations

from collections import deque
from itertools import groupby
from typing import Any

from nats_fault_harness.reference import FlushResult, NATSPublishError, RecoveryResult
from nats_fault_harness.reference._batching import _ids
from nats_fault_harness.reference._results import FailedGroup
from nats_fault_harness.scenario import ServiceUnderTest
from tests.mutants._base import HookedBatchPublisher, MutantService, sut_for

__all__ = [
    "failed_queue_forgets_quietly",
    "failed_queue_keeps_last",
    "flush_drops_whole_batch",
    "recover_drops_refailed",
    "retries_beyond_max",
    "retries_ignore_config",
    "retry_constant_delay",
    "retry_without_backoff",
]


def _service(publisher: type[HookedBatchPublisher]) -> ServiceUnderTest:
    service = type(f"{publisher.__name__}Service", (MutantService,), {"batch_class": publisher})
    return sut_for(service)


class _AllOrNothingFlush(HookedBatchPublisher):
    """The flush before the fix: groups one after the other; the first failure ends it."""

    async def flush(self) -> FlushResult:
        async with self._lock:
            self._size_reached.clear()
            batch, self._batch = self._batch, []
            if not batch:
                return FlushResult()
            groups = [
                FailedGroup(subject, tuple(msgs))
                for subject, msgs in groupby(
                    sorted(batch, key=lambda m: m.subject), key=lambda m: m.subject
                )
            ]
            self.counters.in_flight += len(batch)
            self._bus.emit("batch_flush_started", count=len(batch), attempt=len(groups))
            sent = 0
            try:
                for group in groups:
                    conn = self._pool.route(group.subject)
                    _, failed_at = await self._attempt(group, conn, 0)
                    if failed_at is not None:
                        raise NATSPublishError(f"batch flush failed on {group.subject!r}")
                    sent += len(group.messages)
            except NATSPublishError:
                pass  # the defect: logged and dropped, the rest of the batch with it
            self.counters.in_flight -= len(batch) - sent
            result = FlushResult(
                messages=len(batch),
                groups=len(groups),
                successful_messages=sent,
                failed_messages=len(batch) - sent,
            )
            self.counters.batches_flushed += 1
            self.counters.last_flush = result
            self.counters.total_failed += len(batch) - sent  # successes: counted per group
            return result


def flush_drops_whole_batch() -> ServiceUnderTest:
    """A failed group ends the flush: it and every group after it are dropped."""
    return _service(_AllOrNothingFlush)


class _NoBackoff(HookedBatchPublisher):
    async def backoff(self, delay: float) -> None:
        return None  # the defect: the retry loop never waits


def retry_without_backoff() -> ServiceUnderTest:
    """Failed groups are retried at once (the nominal delays are still reported)."""
    return _service(_NoBackoff)


class _ConstantBackoff(HookedBatchPublisher):
    def retry_delays(self) -> tuple[float, ...]:
        cfg = self._config
        return (cfg.retry_base_delay,) * cfg.max_batch_retries  # the defect: not exponential


def retry_constant_delay() -> ServiceUnderTest:
    """Retries wait the base delay every time (100, 100, 100 ms)."""
    return _service(_ConstantBackoff)


class _OffByOneRetries(HookedBatchPublisher):
    def retry_delays(self) -> tuple[float, ...]:
        cfg = self._config
        # the defect: "retries" counted as attempts, one too many
        return tuple(cfg.retry_base_delay * 2**k for k in range(cfg.max_batch_retries + 1))


def retries_beyond_max() -> ServiceUnderTest:
    """A group is retried ``max_batch_retries + 1`` times."""
    return _service(_OffByOneRetries)


class _FixedRetries(HookedBatchPublisher):
    def retry_delays(self) -> tuple[float, ...]:
        return (0.1, 0.2, 0.4)  # the defect: the documented default, hard-coded


def retries_ignore_config() -> ServiceUnderTest:
    """Always 3 retries at 100/200/400 ms, whatever ``max_batch_retries`` says."""
    return _service(_FixedRetries)


class _QueueKeepsLast(HookedBatchPublisher):
    def _queue(self, group: FailedGroup) -> None:
        super()._queue(group)
        self._failed = deque([group])  # the defect: assigned, not appended


def failed_queue_keeps_last() -> ServiceUnderTest:
    """The failed batch queue forgets: each queued group replaces the previous ones."""
    return _service(_QueueKeepsLast)


class _QueueForgetsQuietly(HookedBatchPublisher):
    """Counts failed messages for the stats itself; the queue keeps only the last group."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._failed_messages = 0

    @property
    def failed_size(self) -> int:
        return self._failed_messages

    def _queue(self, group: FailedGroup) -> None:
        super()._queue(group)
        self._failed_messages += len(group.messages)
        self._failed = deque([group])  # the defect: assigned, not appended

    async def recover(self) -> RecoveryResult:
        self._failed_messages -= sum(len(g.messages) for g in self._failed)
        return await super().recover()


def failed_queue_forgets_quietly() -> ServiceUnderTest:
    """The queue keeps only the last group, while a counter keeps the stats consistent."""
    return _service(_QueueForgetsQuietly)


class _RecoverDropsRefailed(HookedBatchPublisher):
    async def _recover_one(self, key: int, pending: dict[int, FailedGroup]) -> tuple[str, ...]:
        group = pending[key]
        conn = self._pool.route(group.subject, avoid=group.failed_members)
        _, failed_at = await self._attempt(group, conn, group.attempts, flushing=False)
        del pending[key]
        if failed_at is not None:
            self.counters.in_flight -= len(group.messages)
            return ()  # the defect: a group that fails again is not put back
        ids = _ids(group.messages)
        self._bus.emit(
            "recovered", subject=group.subject, member=conn.name, message_ids=ids, count=len(ids)
        )
        return ids


def recover_drops_refailed() -> ServiceUnderTest:
    """``recover_failed_batches()`` drops the groups that fail again."""
    return _service(_RecoverDropsRefailed)
