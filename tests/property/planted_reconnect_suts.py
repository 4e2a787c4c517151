"""Two more planted bugs, each provoked by one kind of fault: a server kill, a link down.

Both are the reference adapter with a batch flush that, after a particular kind of
reconnect, skips the last message of the next group it sends and reports it confirmed
(the server never sees it, yet the service says it was published), as a service would
that believes the server already has it:

- :class:`LosesAfterFailover` (``kill``): after reconnecting to a *different* server (a
  new ``server_id``: the one it knew was killed and a new process took its place), it
  assumes the new server took over what the old one had received.
- :class:`LosesAfterRefusedReconnect` (``down``): after reconnecting to the *same*
  server once connection attempts had been refused (nothing listened: the link or host
  was down), it assumes the server kept its state through the outage.

A reset, ``limit_data`` or ``drop`` (the connection closes and the next attempt
succeeds), latency, bandwidth, a blackhole or a pause (no reconnect within a scenario's
second) provoke neither: only a ``kill`` makes a new server (its heal starts one), and only a
``down`` (or the links a ``kill``'s heal holds down, but that one reconnects to a new
server) refuses connections. The bug bites in a flush (or its retries) that sends a
group of at least two messages after such a reconnect, once.

Replay with ``--sut tests.property.planted_reconnect_suts:make_failover_sut`` (or
``make_refused_sut``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from nats_fault_harness.scenario import EventSink, PoolInit, ServiceUnderTest, SutEnv
from nats_fault_harness.scenario.reference_sut import ReferenceSut

FAILOVER_SPEC = "tests.property.planted_reconnect_suts:make_failover_sut"
REFUSED_SPEC = "tests.property.planted_reconnect_suts:make_refused_sut"


class _SkipsAfterReconnect(ReferenceSut):
    """A flush that skips one message after a reconnect that :meth:`_arms` the bug."""

    def __init__(self) -> None:
        super().__init__()
        self._armed = False
        self._server_ids: dict[str, str | None] = {}
        self._refused: set[str] = set()
        self.lost: list[str] = []

    def _arms(self, new_server: bool, refused: bool) -> bool:
        raise NotImplementedError

    def _connections(self) -> dict[str, Any]:
        pool = self._svc()._parts.pool  # type: ignore[union-attr]
        return {c.name: c.client for c in (pool.main, *pool.members)}

    async def start(self, env: SutEnv, report: EventSink) -> PoolInit:
        def observe(kind: str, detail: Any) -> None:
            member = detail.get("member") if isinstance(detail, dict) else None
            if kind == "error" and "ConnectionRefusedError" in str(detail.get("error", "")):
                self._refused.add(str(member))
            elif kind == "reconnected" and member is not None:
                client = self._connections().get(member)
                now = _server_id(client)
                new_server = now != self._server_ids.get(member)
                if self._arms(new_server, member in self._refused):
                    self._armed = True
                self._refused.discard(member)
                self._server_ids[member] = now
            report(kind, detail)

        init = await super().start(env, observe)
        self._server_ids = {name: _server_id(c) for name, c in self._connections().items()}
        batches = self._svc()._parts.batches  # type: ignore[union-attr]
        original: Callable[..., Awaitable[Any]] = batches._attempt

        async def attempt(group: Any, conn: Any, n: int, **kwargs: Any) -> Any:
            flushing = kwargs.get("flushing", True)
            if self._armed and flushing and len(group.messages) > 1:  # the bug
                lost = group.messages[-1]
                group = replace(group, messages=group.messages[:-1])
                batches.counters.in_flight -= 1
                self._confirmed.append(lost.message_id)
                self.lost.append(lost.message_id)
                self._armed = False
            return await original(group, conn, n, **kwargs)

        batches._attempt = attempt
        return init


def _server_id(client: Any) -> str | None:
    info = getattr(client, "_server_info", None) or {}
    return info.get("server_id")


class LosesAfterFailover(_SkipsAfterReconnect):
    """Skips a message after reconnecting to a different server (``kill``)."""

    def _arms(self, new_server: bool, refused: bool) -> bool:
        return new_server


class LosesAfterRefusedReconnect(_SkipsAfterReconnect):
    """Skips a message after refused attempts end in the same server (``down``)."""

    def _arms(self, new_server: bool, refused: bool) -> bool:
        return refused and not new_server


def make_failover_sut() -> ServiceUnderTest:
    """``--sut tests.property.planted_reconnect_suts:make_failover_sut``."""
    return LosesAfterFailover()


def make_refused_sut() -> ServiceUnderTest:
    """``--sut tests.property.planted_reconnect_suts:make_refused_sut``."""
    return LosesAfterRefusedReconnect()
