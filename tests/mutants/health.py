"""Mutants of the health claims: a reported health that does not follow the connection."""

from __future__ import annotations

from nats_fault_harness.reference._health import HealthMonitor
from nats_fault_harness.reference._pool import Connection
from nats_fault_harness.scenario import ServiceUnderTest
from tests.mutants._base import MutantService, sut_for
from tests.mutants._mutant import Mutant

__all__ = ["CATALOG", "health_basic_check", "health_sticky_unhealthy"]


class _BasicCheck(HealthMonitor):
    @property
    def healthy(self) -> bool:
        # the defect: nats-py's status flag only, as the seed's broker still did
        return self._pool.main.connected


class _BasicCheckService(MutantService):
    health_class = _BasicCheck


def health_basic_check() -> ServiceUnderTest:
    """Health is nats-py's ``is_connected``: ping/pong check failures are ignored."""
    return sut_for(_BasicCheckService)


class _StickyUnhealthy(HealthMonitor):
    async def _check(self, conn: Connection) -> None:
        was = conn.healthy
        await super()._check(conn)
        if was is False:
            conn.healthy = False  # the defect: a failed connection is never marked healthy again


class _StickyUnhealthyService(MutantService):
    health_class = _StickyUnhealthy


def health_sticky_unhealthy() -> ServiceUnderTest:
    """Once a connection failed a health check it stays unhealthy, reconnected or not."""
    return sut_for(_StickyUnhealthyService)


CATALOG = (
    Mutant(
        "health_basic_check",
        "health",
        ("health.detects-dead-connection",),
        "health is nats-py's is_connected flag; failed ping/pong checks are ignored",
        ("health-blackhole",),
    ),
    Mutant(
        "health_sticky_unhealthy",
        "health",
        ("health.recovers",),
        "a connection that failed a health check is never marked healthy again",
        ("health-blackhole", "health-server-kill"),
    ),
)
