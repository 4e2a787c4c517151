"""Health monitoring by ping/pong on every connection.

``is_connected`` from nats-py stays True for up to ``(max_outstanding_pings + 1) *
ping_interval`` after a server stops answering (a paused server, a blackholed link), so
it cannot tell a healthy connection from a dead one. A ping/pong round trip with a short
timeout can. The ping is the connection's echo marker (``Confirmer.ping``), not
``nc.rtt()``: a timed-out ``rtt()`` poisons nats-py's read loop when the PONG arrives
late (see ``_delivery``). The echo does not see the NATS keep-alive, though: with the
server's PONGs withheld, data still flows while nats-py declares the connection stale
every ``(max_outstanding_pings + 1) * ping_interval`` and reconnects without completing
(its ``reconnected_cb`` waits for a PONG). So a connection between ``disconnected_cb``
and ``reconnected_cb`` is unhealthy too. The monitor checks every connection each
``health_check_interval`` seconds (and on demand); the service is healthy when its main
connection is connected, not reconnecting, and passed its last check. A connection
failing its check is logged at WARNING, passing again at INFO (``nats_service.health``).
"""

from __future__ import annotations

import asyncio
import time

from nats_fault_harness.reference._events import EventBus
from nats_fault_harness.reference._logging import health_log
from nats_fault_harness.reference._pool import Connection, ConnectionPool
from nats_fault_harness.reference.config import NATSConfig
from nats_fault_harness.reference.nats_exceptions import NATSConnectionError

__all__ = ["HealthMonitor"]


class HealthMonitor:
    """Periodic and on-demand ping/pong checks of the pool's connections."""

    def __init__(self, config: NATSConfig, pool: ConnectionPool, bus: EventBus) -> None:
        self._config = config
        self._pool = pool
        self._bus = bus
        self.checks = 0
        self.failures = 0
        self.last_check_at: float | None = None

    @property
    def healthy(self) -> bool:
        """True if the main connection is connected, not in the middle of a reconnect
        (see ``Connection.reconnecting``) and did not fail its last check."""
        main = self._pool.main
        return main.connected and not main.reconnecting and main.healthy is not False

    async def run(self) -> None:
        """Check every ``health_check_interval`` seconds until cancelled."""
        while True:
            await asyncio.sleep(self._config.health_check_interval)
            await self.check()

    async def check(self) -> bool:
        """Check every connection now; return whether the main connection is healthy."""
        await asyncio.gather(*(self._check(c) for c in self._pool.all_connections))
        self.last_check_at = time.monotonic()
        return self.healthy

    async def _check(self, conn: Connection) -> None:
        self.checks += 1
        error: str | None = None
        if not conn.connected:
            error = "not connected"
        elif conn.reconnecting:
            error = "reconnect not complete (the server's PONG has not come back)"
        else:
            try:
                conn.last_rtt = await conn.confirmer.ping(self._config.health_check_timeout)
            except NATSConnectionError as exc:
                error = str(exc)
        was = conn.healthy
        conn.healthy = error is None
        if error is not None:
            self.failures += 1
            if was is not False:
                health_log.warning("connection %s failed its health check: %s", conn.name, error)
                self._bus.emit("health_check_failed", member=conn.name, error=error)
        elif was is False:
            health_log.info("connection %s passed its health check again", conn.name)
            self._bus.emit("health_check_ok", member=conn.name)
