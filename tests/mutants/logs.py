"""Mutants of the logging claims: failures handled correctly but never logged."""

from __future__ import annotations

import asyncio

from nats_fault_harness.reference import NATSConfig, PoolInitReport
from nats_fault_harness.reference._batching import _ids
from nats_fault_harness.reference._events import EventBus
from nats_fault_harness.reference._pool import Connection, ConnectionPool, log_init, open_connection
from nats_fault_harness.reference._results import FailedGroup
from nats_fault_harness.reference.nats_exceptions import NATSConnectionError
from nats_fault_harness.scenario import ServiceUnderTest
from tests.mutants._base import HookedBatchPublisher, MutantService, sut_for
from tests.mutants._mutant import Mutant

__all__ = ["CATALOG", "pool_member_failure_not_logged", "queued_group_not_logged"]


class _QuietPool(ConnectionPool):
    @classmethod
    async def open(cls, config: NATSConfig, main: Connection, bus: EventBus) -> ConnectionPool:
        names = [f"{config.name}-pool-{i}" for i in range(config.pool_size)]
        outcomes = await asyncio.gather(
            *(
                open_connection(
                    config, names[i], config.member_servers(i), bus, config.pool_init_timeout
                )
                for i in range(config.pool_size)
            ),
            return_exceptions=True,
        )
        members: list[Connection] = []
        failures: dict[str, str] = {}
        for name, outcome in zip(names, outcomes, strict=True):
            if isinstance(outcome, Connection):
                members.append(outcome)
            elif isinstance(outcome, NATSConnectionError):
                failures[name] = str(outcome)  # the defect: no per-member record
                bus.emit("pool_member_failed", member=name, error=str(outcome))
            else:
                raise outcome
        report = PoolInitReport(
            requested=config.pool_size,
            connected=tuple(m.name for m in members),
            failures=failures,
            enabled=bool(members),
        )
        log_init(report, main.name)  # the summary still says "initialized with warning"
        if config.pool_size and not members:
            bus.emit("pool_disabled", member=main.name, count=config.pool_size)
        return cls(main, members, report)


class _QuietPoolService(MutantService):
    pool_class = _QuietPool


def pool_member_failure_not_logged() -> ServiceUnderTest:
    """A failed pool member is reported, but only a summary without its error is logged."""
    return sut_for(_QuietPoolService)


class _QuietQueue(HookedBatchPublisher):
    def _queue(self, group: FailedGroup) -> None:
        self.counters.in_flight -= len(group.messages)
        self._failed.append(group)
        # the defect: the group is kept and reported, but nothing is logged
        self._bus.emit(
            "batch_queued_failed",
            subject=group.subject,
            count=len(group.messages),
            message_ids=_ids(group.messages),
            error=group.last_error,
            ambiguous=group.ambiguous,
        )


class _QuietQueueService(MutantService):
    batch_class = _QuietQueue


def queued_group_not_logged() -> ServiceUnderTest:
    """A group moved to the failed batch queue is kept and reported but never logged."""
    return sut_for(_QuietQueueService)


CATALOG = (
    Mutant(
        "pool_member_failure_not_logged",
        "logs",
        ("log.pool-member-failure",),
        "failed pool members are logged only in a summary, without their errors",
        ("log-pool-members-down",),
    ),
    Mutant(
        "queued_group_not_logged",
        "logs",
        ("log.batch-failure",),
        "a group moved to the failed batch queue is not logged",
        ("log-batch-queued",),
    ),
)
