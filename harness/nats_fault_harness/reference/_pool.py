"""Named nats-py connections and the publish connection pool.

Every connection is a separate nats-py client named ``<service>-main`` or
``<service>-pool-<i>`` (the CONNECT ``name``, visible in ``/connz`` and usable by a fault
proxy to target one member). Pool members are opened concurrently; initialization keeps
the members that connected, reports each failure with its reason, and disables the pool
only if every member failed, in which case batches fall back to the main connection.
Each failed member is logged at WARNING with its error, a partial initialization as
"initialized with warning" and a disabled pool at ERROR (logger ``nats_service.pool``);
connection errors and lost connections at WARNING (``nats_service.connection``).

Routing: a subject's groups go to the member ``crc32(subject) % n`` (so one subject keeps
one connection and its order), unless that member is known to be disconnected, in which
case the next connected member in ring order takes it. ``avoid`` lets recovery prefer a
member other than the one a group already failed on.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Iterable, Sequence

from nats.aio.client import Client

from nats_fault_harness.reference._delivery import Confirmer
from nats_fault_harness.reference._events import EventBus
from nats_fault_harness.reference._logging import connection_log, pool_log
from nats_fault_harness.reference._results import PoolInitReport
from nats_fault_harness.reference._translate import Op, describe, translate
from nats_fault_harness.reference.config import NATSConfig
from nats_fault_harness.reference.nats_exceptions import NATSConnectionError

__all__ = ["Connection", "ConnectionPool", "log_init", "open_connection", "open_main"]


class Connection:
    """One named nats-py client plus its confirmation barrier and health state.

    ``reconnecting`` is True from nats-py's ``disconnected_cb`` until its
    ``reconnected_cb``. It is not ``not client.is_connected``: nats-py reports a new
    connection as connected before the handshake's PING has its PONG, so a connection
    whose PONGs are withheld flaps (stale, reconnect, "connected", stale again) and is
    "connected" nearly all the time, while ``reconnected_cb`` waits for that PONG.
    """

    def __init__(self, name: str, servers: Sequence[str]) -> None:
        self.name = name
        self.servers = tuple(servers)
        self.client = Client()
        self.confirmer = Confirmer(self.client)
        self.healthy: bool | None = None
        self.reconnecting = False
        self.last_rtt: float | None = None
        self.last_error: str | None = None

    @property
    def connected(self) -> bool:
        """True while nats-py reports the connection as connected."""
        return bool(self.client.is_connected)

    @property
    def reconnects(self) -> int:
        """How many times nats-py has reconnected this connection."""
        return int(self.client.stats["reconnects"])

    def snapshot(self) -> dict[str, object]:
        """Return this connection's state for ``get_connection_stats()``."""
        return {
            "servers": self.servers,
            "connected": self.connected,
            "closed": bool(self.client.is_closed),
            "healthy": self.healthy,
            "last_rtt": self.last_rtt,
            "reconnects": self.reconnects,
            "last_error": self.last_error,
        }

    async def close(self, timeout: float) -> str | None:
        """Close the client; return the error text if closing failed (never raises)."""
        if self.client.is_closed:
            return None
        try:
            with translate(Op.CLOSE):
                async with asyncio.timeout(timeout):
                    await self.client.close()
        except NATSConnectionError as exc:
            self.last_error = str(exc)
            return str(exc)
        return None


async def open_connection(
    config: NATSConfig, name: str, servers: Sequence[str], bus: EventBus, timeout: float
) -> Connection:
    """Connect one named client and start its confirmation barrier.

    Raises:
        NATSConnectionError: with the nats-py error chained; ``last_error`` on the
            returned-or-discarded connection holds the last error nats-py reported.
    """
    conn = Connection(name, servers)

    async def error_cb(exc: Exception) -> None:
        conn.last_error = describe(exc)
        connection_log.warning("connection %s: error: %s", name, conn.last_error)
        bus.emit("connection_error", member=name, error=conn.last_error)

    async def disconnected_cb() -> None:
        conn.reconnecting = True
        connection_log.warning("connection %s lost its server; reconnecting", name)
        bus.emit("disconnected", member=name)

    async def reconnected_cb() -> None:
        conn.reconnecting = False
        connection_log.info("connection %s reconnected", name)
        bus.emit("reconnected", member=name)

    async def closed_cb() -> None:
        bus.emit("closed", member=name)

    try:
        with translate(Op.CONNECT):
            async with asyncio.timeout(timeout):
                await conn.client.connect(
                    servers=list(servers),
                    name=name,
                    error_cb=error_cb,
                    disconnected_cb=disconnected_cb,
                    reconnected_cb=reconnected_cb,
                    closed_cb=closed_cb,
                    **config.connection.connect_kwargs(),
                )
                await conn.confirmer.start()
    except NATSConnectionError as exc:
        reason = f"{exc} (last connection error: {conn.last_error})"
        await conn.close(timeout=1.0)
        raise NATSConnectionError(reason, cause=exc.cause) from exc.cause
    bus.emit("connected", member=name)
    return conn


async def open_main(config: NATSConfig, bus: EventBus) -> Connection:
    """Connect the main connection (``<name>-main``); a failure is logged at ERROR.

    Raises:
        NATSConnectionError: as :func:`open_connection`.
    """
    name = f"{config.name}-main"
    try:
        return await open_connection(config, name, config.servers, bus, config.pool_init_timeout)
    except NATSConnectionError as exc:
        connection_log.error("connection %s failed to connect: %s", name, exc)
        raise


def log_init(report: PoolInitReport, main: str) -> None:
    """Log how initialization went: full (INFO), partial (WARNING), none (ERROR)."""
    failed = ", ".join(report.failures)
    if not report.requested:
        return
    if not report.connected:
        pool_log.error(
            "pool disabled: all %d members failed (%s); falling back to %s",
            report.requested,
            failed,
            main,
        )
    elif report.failures:
        pool_log.warning(
            "pool initialized with warning: %d of %d members connected; failed: %s",
            len(report.connected),
            report.requested,
            failed,
        )
    else:
        pool_log.info("pool initialized: all %d members connected", report.requested)


class ConnectionPool:
    """The main connection plus the pool members batches are published through."""

    def __init__(self, main: Connection, members: Sequence[Connection], report: PoolInitReport):
        self.main = main
        self.members = tuple(members)
        self.report = report

    @classmethod
    async def open(cls, config: NATSConfig, main: Connection, bus: EventBus) -> ConnectionPool:
        """Open ``config.pool_size`` members concurrently; never raises for members."""
        names = [f"{config.name}-pool-{i}" for i in range(config.pool_size)]
        attempts = [
            open_connection(
                config, names[i], config.member_servers(i), bus, config.pool_init_timeout
            )
            for i in range(config.pool_size)
        ]
        outcomes = await asyncio.gather(*attempts, return_exceptions=True)
        members: list[Connection] = []
        failures: dict[str, str] = {}
        for name, outcome in zip(names, outcomes, strict=True):
            if isinstance(outcome, Connection):
                members.append(outcome)
            elif isinstance(outcome, NATSConnectionError):
                failures[name] = str(outcome)
                pool_log.warning("pool member %s failed to connect: %s", name, outcome)
                bus.emit("pool_member_failed", member=name, error=str(outcome))
            else:
                raise outcome  # a bug or cancellation, not a connection failure
        report = PoolInitReport(
            requested=config.pool_size,
            connected=tuple(m.name for m in members),
            failures=failures,
            enabled=bool(members),
        )
        log_init(report, main.name)
        if config.pool_size and not members:
            bus.emit("pool_disabled", member=main.name, count=config.pool_size)
        return cls(main, members, report)

    @property
    def publishers(self) -> tuple[Connection, ...]:
        """Connections batches are published through (the main one if pool disabled)."""
        return self.members or (self.main,)

    @property
    def all_connections(self) -> tuple[Connection, ...]:
        """Main connection first, then the members."""
        return (self.main, *self.members)

    def route(self, subject: str, avoid: Iterable[str] = ()) -> Connection:
        """Pick the connection for ``subject``.

        Args:
            subject: the group's subject.
            avoid: names of connections to use only if no other one is connected.
        """
        ring = self.publishers
        start = zlib.crc32(subject.encode()) % len(ring)
        ordered = ring[start:] + ring[:start]
        avoided = set(avoid)
        for candidates in (
            [c for c in ordered if c.name not in avoided],
            list(ordered),
        ):
            for conn in candidates:
                if conn.connected:
                    return conn
        return ordered[0]

    async def close(self, timeout: float) -> dict[str, str]:
        """Close every connection concurrently; return name -> error for failures."""
        conns = self.all_connections
        errors = await asyncio.gather(*(c.close(timeout) for c in conns))
        return {c.name: e for c, e in zip(conns, errors, strict=True) if e}
