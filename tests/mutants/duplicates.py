"""Mutants that duplicate what was already confirmed: retries that re-send too much.

The seed's promise (``fix.partial-flush``): the groups that succeed are published, the
groups that fail are retried; a retry must not duplicate a group that already succeeded.
"""

from __future__ import annotations

import contextvars
from collections.abc import Sequence

from nats_fault_harness.reference._batching import _Outcome
from nats_fault_harness.reference._delivery import OutgoingMessage
from nats_fault_harness.reference._pool import Connection
from nats_fault_harness.reference._results import FailedGroup
from nats_fault_harness.scenario import ServiceUnderTest
from tests.mutants._base import HookedBatchPublisher, MutantService, sut_for
from tests.mutants._mutant import Mutant

__all__ = ["CATALOG", "retry_resends_whole_batch", "retry_sends_group_twice"]

#: The whole batch of the flush this task delivers a group of (set per delivery task).
_BATCH: contextvars.ContextVar[tuple[OutgoingMessage, ...]] = contextvars.ContextVar(
    "batch", default=()
)
#: Whether the attempt this task is making is a flush retry (attempt >= 1).
_RETRYING: contextvars.ContextVar[bool] = contextvars.ContextVar("retrying", default=False)


class _RetryAware(HookedBatchPublisher):
    """Knows, in ``send``, whether the attempt is a flush retry (``_RETRYING``)."""

    async def _attempt(
        self, group: FailedGroup, conn: Connection, attempt: int, *, flushing: bool = True
    ) -> tuple[FailedGroup, float | None]:
        token = _RETRYING.set(flushing and attempt >= 1)
        try:
            return await super()._attempt(group, conn, attempt, flushing=flushing)
        finally:
            _RETRYING.reset(token)


class _RetryResendsBatch(_RetryAware):
    """A failed group's retry re-flushes the whole batch, confirmed groups included.

    The events still name only the failed group's ids (the service believes it retried
    one group), so nothing in the history marks the confirmed groups as re-sent.
    """

    async def _deliver(self, key: int, pending: dict[int, FailedGroup]) -> _Outcome:
        # Every delivery task of a flush starts before any of them settles: ``pending``
        # then holds every group of the batch.
        token = _BATCH.set(tuple(m for g in pending.values() for m in g.messages))
        try:
            return await super()._deliver(key, pending)
        finally:
            _BATCH.reset(token)

    async def send(self, conn: Connection, messages: Sequence[OutgoingMessage]) -> None:
        if _RETRYING.get() and _BATCH.get():
            messages = _BATCH.get()  # the defect: the whole batch again, not the failed group
        await super().send(conn, messages)


def retry_resends_whole_batch() -> ServiceUnderTest:
    """A failed group's retry re-sends the whole batch, groups already confirmed included."""
    service = type(
        "RetryResendsBatchService", (MutantService,), {"batch_class": _RetryResendsBatch}
    )
    return sut_for(service)


class _RetryTwice(_RetryAware):
    """Each retry publishes the failed group twice (one attempt reported)."""

    async def send(self, conn: Connection, messages: Sequence[OutgoingMessage]) -> None:
        if _RETRYING.get():
            await super().send(conn, messages)  # the defect: the group goes out twice
        await super().send(conn, messages)


def retry_sends_group_twice() -> ServiceUnderTest:
    """Each retry of a failed group publishes it twice, while one attempt is reported."""
    return sut_for(type("RetryTwiceService", (MutantService,), {"batch_class": _RetryTwice}))


CATALOG = (
    Mutant(
        "retry_resends_whole_batch",
        "duplicates",
        ("fix.partial-flush",),
        "a failed group's retry re-sends the whole batch, groups already confirmed included",
        ("batch-metrics-partial-flush", "batch-limit-data", "batch-lost-pongs"),
    ),
    Mutant(
        "retry_sends_group_twice",
        "duplicates",
        ("fix.partial-flush",),
        "each retry of a failed group publishes it twice while one attempt is reported",
        ("batch-bandwidth-cap", "batch-limit-data"),
    ),
)
