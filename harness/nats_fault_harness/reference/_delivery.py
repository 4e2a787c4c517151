"""Confirmed publishing: a message counts as published only when the server has it.

nats-py offers no delivery receipt for core NATS, and its usual barrier is unsound here:

* ``flush()`` returns at once, with no round trip, while the client is reconnecting;
* bytes in a socket when the connection resets are lost without any error;
* ``flush()`` writes its ``PING`` straight to the transport while the PUBs published
  just before it may still sit in the client's pending buffer, so the PING can reach
  the server *ahead* of them (measured against a byte-recording server:
  ``publish(); flush()`` put ``PING\\r\\nPUB a.b 5\\r\\nhello`` on the wire). Its PONG
  therefore does not prove the server processed those PUBs.

So the barrier is an *echo marker*: every connection subscribes to a private inbox
wildcard; after a group's PUBs the service publishes one empty marker to that inbox on the
same connection. PUBs and the marker go through the same pending buffer in order, the
server processes a connection's input in order, so the marker coming back means every PUB
before it was processed. A group is confirmed only if (1) the connection was connected
before sending, (2) the marker echoed within ``flush_timeout``, and (3) the connection's
reconnect count did not change in between (a reconnect means some bytes may have died in
the old socket while later ones, including the marker, were replayed after reconnect).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from nats_fault_harness.reference._translate import Op, translate
from nats_fault_harness.reference.nats_exceptions import NATSPublishError

if TYPE_CHECKING:
    from nats.aio.client import Client
    from nats.aio.msg import Msg
    from nats.aio.subscription import Subscription

__all__ = ["Confirmer", "OutgoingMessage", "send_confirmed"]


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """A message waiting to be published.

    Attributes:
        subject: where it goes.
        data: payload bytes.
        message_id: the id used for accounting and de-duplication.
        headers: NATS headers to send, or None.
    """

    subject: str
    data: bytes
    message_id: str
    headers: Mapping[str, str] | None = None


class Confirmer:
    """Echo-marker barrier for one nats-py connection (see the module docstring)."""

    def __init__(self, client: Client) -> None:
        self._client = client
        self._prefix = ""
        self._tokens = itertools.count(1)
        self._waiting: dict[str, asyncio.Future[None]] = {}
        self._sub: Subscription | None = None

    async def start(self) -> None:
        """Subscribe to the private marker inbox (call once, after connecting).

        Raises:
            NATSConnectionError: if the subscription cannot be made.
        """
        self._prefix = f"{self._client.new_inbox()}.confirm"
        with translate(Op.CONNECT, subject=self._prefix):
            self._sub = await self._client.subscribe(f"{self._prefix}.*", cb=self._on_marker)

    async def _on_marker(self, msg: Msg) -> None:
        token = msg.subject.rsplit(".", 1)[-1]
        waiter = self._waiting.get(token)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def barrier(
        self, timeout: float, *, subject: str, message_count: int = 1, op: Op = Op.PUBLISH
    ) -> None:
        """Publish a marker and wait until the server echoes it back.

        Everything this connection sent before the marker (PUBs, SUBs) has then been
        processed by the server.

        Raises:
            NATSPublishError: (``op`` PUBLISH, marked ambiguous) or the class for ``op``:
                the marker did not come back in time.
        """
        with translate(op, subject=subject, message_count=message_count) as state:
            state.ambiguous = True
            await self._echo(timeout)

    async def ping(self, timeout: float) -> float:
        """Application-level ping/pong through the server; return the round trip in s.

        Used by the health monitor instead of ``nc.rtt()``: a timed-out ``rtt()`` or
        ``flush()`` leaves a cancelled future in nats-py's PONG queue, and the late PONG
        then raises ``InvalidStateError`` in ``_process_pong``, which ends the read loop
        (measured with nats-py 2.16: the connection still reports connected, ``flush()``
        returns at once, and nothing is received until stale detection reconnects). A
        late echo, by contrast, is simply ignored.

        Raises:
            NATSConnectionError: no echo within ``timeout`` or the publish failed.
        """
        with translate(Op.HEALTH):
            return await self._echo(timeout)

    async def _echo(self, timeout: float) -> float:
        loop = asyncio.get_running_loop()
        token = str(next(self._tokens))
        waiter: asyncio.Future[None] = loop.create_future()
        self._waiting[token] = waiter
        started = loop.time()
        try:
            await self._client.publish(f"{self._prefix}.{token}", b"")
            async with asyncio.timeout(timeout):
                await waiter
        finally:
            self._waiting.pop(token, None)
        return loop.time() - started


async def send_confirmed(
    client: Client,
    confirmer: Confirmer,
    messages: Sequence[OutgoingMessage],
    timeout: float,
) -> None:
    """Publish ``messages`` on one connection and return only once the server has them.

    Args:
        client: the nats-py connection.
        confirmer: that connection's echo barrier.
        messages: messages to send, in order (usually one subject group).
        timeout: seconds to wait for the echo.

    Raises:
        NATSPublishError: not confirmed. ``ambiguous`` is False only if nothing was
            handed to the connection (it was not connected, or the first publish
            raised), so a retry cannot duplicate anything.
    """
    subject = messages[0].subject if messages else ""
    count = len(messages)
    if not client.is_connected:
        raise NATSPublishError(
            f"publish on {subject!r} not attempted: connection is not connected "
            f"(closed={client.is_closed}, reconnecting={client.is_reconnecting})",
            subject=subject,
            message_count=count,
            ambiguous=False,
        )
    before = client.stats["reconnects"]
    with translate(Op.PUBLISH, subject=subject, message_count=count) as state:
        for message in messages:
            headers = dict(message.headers) if message.headers else None
            await client.publish(message.subject, message.data, headers=headers)
            state.ambiguous = True
    await confirmer.barrier(timeout, subject=subject, message_count=count)
    after = client.stats["reconnects"]
    if after != before or not client.is_connected:
        raise NATSPublishError(
            f"publish on {subject!r} not confirmed: the connection reconnected "
            f"({before} -> {after} reconnects) while the group was in flight",
            subject=subject,
            message_count=count,
            ambiguous=True,
        )
