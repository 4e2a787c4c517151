"""The observer: a connection straight to a server, bypassing every proxy.

It is the run's ground truth for delivery (every message it receives is recorded as an
``observer`` ``receive`` operation, by id), the responder for the workload's requests,
and the sender of the messages injected into the service's subscriptions. It reconnects
on its own after a server restart; :meth:`Observer.ready` waits until it is subscribed
again, which the schedule uses to keep the service's links closed until then.

A message's id is its ``Nats-Msg-Id`` header, else the ``message_id`` of a JSON object
payload, else the payload's first space-separated token.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg

from harness.errors import WaitTimeout
from harness.history import History
from harness.scenario._messages import message_id_of

__all__ = ["Observer"]

READY_S = 10.0


class Observer:
    """Receives, responds and injects on a direct connection; see the module docstring."""

    def __init__(self, history: History) -> None:
        self.history = history
        self.received: set[str] = set()
        self._nc: Client | None = None
        self._must: set[str] | None = None
        self._all_in = asyncio.Event()
        self._connected = asyncio.Event()

    async def start(self, url: str, subjects: Iterable[str], responder: str | None) -> None:
        """Connect to ``url``, receive on ``subjects``, answer requests on ``responder``."""
        self._nc = nc = await nats.connect(
            url,
            name="harness-observer",
            connect_timeout=2,
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.05,
            disconnected_cb=self._disconnected,
            reconnected_cb=self._reconnected,
        )
        self._connected.set()
        for subject in dict.fromkeys(subjects):
            await nc.subscribe(subject, cb=self._receive)
        if responder is not None:

            async def respond(msg: Msg) -> None:
                await msg.respond(b"pong:" + msg.data)

            await nc.subscribe(responder, cb=respond)
        await nc.flush(timeout=5)

    async def _disconnected(self) -> None:
        self._connected.clear()

    async def _reconnected(self) -> None:
        self._connected.set()

    async def _receive(self, msg: Msg) -> None:
        mid = (msg.headers or {}).get("Nats-Msg-Id") or message_id_of(msg.data)
        if mid is None:
            mid = msg.data.split(b" ", 1)[0].decode(errors="replace")
        self.history.invoke("observer", "receive", {"subject": msg.subject}).ok({"id": mid})
        self.received.add(mid)
        if self._must is not None and self._must <= self.received:
            self._all_in.set()

    async def publish(self, subject: str, data: bytes) -> None:
        """Publish ``data`` on ``subject`` and flush it to the server."""
        nc = self._client()
        await nc.publish(subject, data)
        await nc.flush(timeout=5)

    async def ready(self, timeout: float = READY_S) -> None:
        """Wait until connected and every subscription is registered with the server.

        Raises:
            WaitTimeout: not reconnected within ``timeout`` seconds.
        """
        nc = self._client()
        try:
            async with asyncio.timeout(timeout):
                await self._connected.wait()
                await nc.flush(timeout=int(timeout))
        except (TimeoutError, nats.errors.TimeoutError) as exc:
            raise WaitTimeout("the observer to reconnect to the restarted server", timeout) from exc

    async def drain(self, must: set[str], timeout: float) -> set[str]:
        """Wait up to ``timeout`` s until every id in ``must`` was received; the missing ones."""
        self._must = must
        if must <= self.received:
            self._all_in.set()
        try:
            async with asyncio.timeout(timeout):
                await self._all_in.wait()
        except TimeoutError:
            pass
        nc = self._client()
        if nc.is_connected:
            await nc.flush(timeout=5)
        await asyncio.sleep(0.1)  # late duplicates
        return must - self.received

    async def close(self) -> None:
        """Close the connection (idempotent)."""
        if self._nc is not None and not self._nc.is_closed:
            await self._nc.close()

    def _client(self) -> Client:
        if self._nc is None:
            raise RuntimeError("the observer was not started")
        return self._nc
