"""Mutants of the pool fixes: failures ignored, and a pool disabled by a partial failure."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from nats_fault_harness.reference import NATSConfig, NATSConnectionError, PoolInitReport
from nats_fault_harness.reference._events import EventBus
from nats_fault_harness.reference._pool import Connection, ConnectionPool, open_connection
from nats_fault_harness.scenario import ServiceUnderTest
from tests.mutants._base import MutantService, sut_for

__all__ = [
    "pool_disabled_on_partial",
    "pool_failures_without_reason",
    "pool_ignores_failed_members",
    "pool_none_reported_enabled",
    "pool_one_member_short",
]


def _names(config: NATSConfig) -> list[str]:
    return [f"{config.name}-pool-{i}" for i in range(config.pool_size)]


async def _open_members(
    config: NATSConfig, bus: EventBus, indices: range | None = None
) -> list[Connection | BaseException]:
    names = _names(config)
    return await asyncio.gather(
        *(
            open_connection(
                config, names[i], config.member_servers(i), bus, config.pool_init_timeout
            )
            for i in (indices if indices is not None else range(config.pool_size))
        ),
        return_exceptions=True,
    )


def _failures(names: list[str], outcomes: list[Connection | BaseException]) -> dict[str, str]:
    return {
        n: str(o)
        for n, o in zip(names, outcomes, strict=True)
        if isinstance(o, NATSConnectionError)
    }


class _SilentPool(ConnectionPool):
    @classmethod
    async def open(cls, config: NATSConfig, main: Connection, bus: EventBus) -> ConnectionPool:
        outcomes = await _open_members(config, bus)
        # the defect: the members that failed are skipped without a word
        members = [m for m in outcomes if isinstance(m, Connection)]
        report = PoolInitReport(
            requested=config.pool_size,
            connected=tuple(m.name for m in members),
            failures={},
            enabled=bool(members),
        )
        return cls(main, members, report)


class _SilentPoolService(MutantService):
    pool_class = _SilentPool


def pool_ignores_failed_members() -> ServiceUnderTest:
    """Pool initialization keeps the members that connected and reports no failure."""
    return sut_for(_SilentPoolService)


class _AllOrNothingPool(ConnectionPool):
    @classmethod
    async def open(cls, config: NATSConfig, main: Connection, bus: EventBus) -> ConnectionPool:
        outcomes = await _open_members(config, bus)
        members = [m for m in outcomes if isinstance(m, Connection)]
        failures = _failures(_names(config), outcomes)
        if failures:  # the defect: one failure disables the whole pool
            await asyncio.gather(*(m.close(1.0) for m in members))
            members = []
            bus.emit("pool_disabled", member=main.name, count=config.pool_size)
        report = PoolInitReport(
            requested=config.pool_size,
            connected=tuple(m.name for m in members),
            failures=failures,
            enabled=bool(members),
        )
        return cls(main, members, report)


class _AllOrNothingPoolService(MutantService):
    pool_class = _AllOrNothingPool


def pool_disabled_on_partial() -> ServiceUnderTest:
    """One member failing disables the pool; batches fall back to the main connection."""
    return sut_for(_AllOrNothingPoolService)


class _EnabledWithoutMembers(ConnectionPool):
    @classmethod
    async def open(cls, config: NATSConfig, main: Connection, bus: EventBus) -> ConnectionPool:
        outcomes = await _open_members(config, bus)
        members = [m for m in outcomes if isinstance(m, Connection)]
        report = PoolInitReport(
            requested=config.pool_size,
            connected=tuple(m.name for m in members),
            failures=_failures(_names(config), outcomes),
            enabled=config.pool_size > 0,  # the defect: "configured" taken for "up"
        )
        return cls(main, members, report)


class _EnabledWithoutMembersService(MutantService):
    pool_class = _EnabledWithoutMembers


def pool_none_reported_enabled() -> ServiceUnderTest:
    """With every member down the pool is reported enabled (no fallback reported)."""
    return sut_for(_EnabledWithoutMembersService)


class _OneShortPool(ConnectionPool):
    @classmethod
    async def open(cls, config: NATSConfig, main: Connection, bus: EventBus) -> ConnectionPool:
        # the defect: the main connection counted as member 0, so one member is never opened
        indices = range(1, config.pool_size)
        outcomes = await _open_members(config, bus, indices)
        members = [m for m in outcomes if isinstance(m, Connection)]
        names = [_names(config)[i] for i in indices]
        report = PoolInitReport(
            requested=config.pool_size,
            connected=tuple(m.name for m in members),
            failures=_failures(names, outcomes),
            enabled=bool(members),
        )
        return cls(main, members, report)


class _OneShortPoolService(MutantService):
    pool_class = _OneShortPool


def pool_one_member_short() -> ServiceUnderTest:
    """The pool opens ``pool_size - 1`` members: it is never fully initialized."""
    return sut_for(_OneShortPoolService)


class _ReasonlessPool(ConnectionPool):
    @classmethod
    async def open(cls, config: NATSConfig, main: Connection, bus: EventBus) -> ConnectionPool:
        pool = await super().open(config, main, bus)
        # the defect: the failed members are named, their errors are not kept
        report = replace(pool.report, failures=dict.fromkeys(pool.report.failures, ""))
        return cls(main, pool.members, report)


class _ReasonlessPoolService(MutantService):
    pool_class = _ReasonlessPool


def pool_failures_without_reason() -> ServiceUnderTest:
    """Pool initialization names the members that failed but not why."""
    return sut_for(_ReasonlessPoolService)
