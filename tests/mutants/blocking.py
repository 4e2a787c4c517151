"""Mutants of ``fix.async-helpers``: blocking calls on the event loop."""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

from nats_fault_harness.reference._health import HealthMonitor
from nats_fault_harness.reference._pool import Connection
from nats_fault_harness.scenario import ServiceUnderTest
from tests.mutants._base import HookedBatchPublisher, MutantService, sut_for

__all__ = ["blocking_health_probe", "blocking_retry_sleep"]


class _ProbingHealthMonitor(HealthMonitor):
    """Checks each server is reachable with a plain socket before the ping/pong."""

    async def _check(self, conn: Connection) -> None:
        url = urlsplit(conn.servers[0])
        try:
            # The defect: a synchronous connect + read of the server's INFO, on the loop.
            with socket.create_connection(
                (url.hostname, url.port or 4222), timeout=self._config.health_check_timeout
            ) as probe:
                probe.recv(1)
        except OSError:
            pass  # the ping below reports the failure
        await super()._check(conn)


class _HealthProbeService(MutantService):
    health_class = _ProbingHealthMonitor


def blocking_health_probe() -> ServiceUnderTest:
    """Health checks probe each server with a blocking socket connect and read."""
    return sut_for(_HealthProbeService)


class _SleepingBatchPublisher(HookedBatchPublisher):
    async def backoff(self, delay: float) -> None:
        time.sleep(delay)  # noqa: ASYNC251  (the defect: the right delay, but blocking)


class _SleepingRetryService(MutantService):
    batch_class = _SleepingBatchPublisher


def blocking_retry_sleep() -> ServiceUnderTest:
    """Batch retries wait their 100/200/400 ms with ``time.sleep``."""
    return sut_for(_SleepingRetryService)
