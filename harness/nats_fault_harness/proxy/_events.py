"""The event feed (extension): a bounded ring of what the proxy did, readable by sequence.

Each event is a JSON object with ``seq`` (1, 2, ...), ``type``, ``t`` (``time.monotonic()``
of the proxy process), ``wall`` (``time.time()``) and type-specific fields. Types:

``proxy_created``, ``proxy_deleted``, ``proxy_enabled``, ``proxy_disabled``
    ``proxy``, ``listen``, ``upstream`` (``proxy_created`` also ``enabled``).
``connection_opened``
    ``proxy``, ``connection`` (id, per proxy, from 1), ``client`` (``ip:port``).
``connection_failed``
    ``proxy``, ``connection``, ``client``, ``upstream``, ``error``: the upstream dial failed,
    the client was accepted then closed (Toxiproxy's behaviour).
``connection_identified``
    ``proxy``, ``connection``, ``client``, ``connect_name``, ``kind``: the client's NATS
    ``CONNECT`` was seen (``kind``: ``client``, ``route`` or ``gateway``).
``connection_closed``
    ``proxy``, ``connection``, ``client``, ``reason``, ``connect_name`` and ``kind`` (``null``
    if never identified), ``bytes_up``/``bytes_down`` (received from the client / the
    server) and ``bytes_up_sent``/``bytes_down_sent`` (forwarded).
``connections_reset``
    ``proxy``, ``mode`` (``rst``/``fin``), ``connections`` (ids), ``connect_name``: the
    ``/connections/reset`` endpoint closed these.
``toxic_added``, ``toxic_updated``, ``toxic_removed``
    ``proxy``, ``toxic`` (the toxic's JSON object).
``toxic_rolled``
    ``proxy``, ``connection``, ``toxic``, ``stream``, ``toxicity``, ``active``: the
    per-connection-direction toxicity draw (at link start, when the toxic is added to a live
    connection, and when it is updated). ``active: false`` means the toxic acts as noop there.
``toxic_fired``
    ``proxy``, ``connection``, ``toxic``, ``toxic_type``, ``stream``, ``effect``
    (``reset``, ``timeout``, ``limit_reached``, ``slow_close``) and effect details. The
    ``nats`` toxic reports one event per frame acted on (effect ``drop``, ``delay``,
    ``hold``, ``duplicate`` or ``close``, with ``verb``, ``subject``, ``count``, ``action``),
    plus ``resync`` (``skipped_bytes``) and ``protocol_error`` (``error``, ``line``).

``GET /events?since=N`` returns the events after ``N`` (``{"events": [...], "next": M,
"dropped": K}``; pass ``M`` next time; ``K`` counts events that fell out of the ring).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Any

__all__ = ["EventLog"]


class EventLog:
    """A bounded, sequence-numbered ring buffer of events with async waiting.

    Args:
        capacity: how many events are kept; older ones are dropped.
    """

    def __init__(self, capacity: int = 10_000) -> None:
        self._ring: deque[dict[str, Any]] = deque(maxlen=capacity)
        self._seq = 0
        self._waiters: list[asyncio.Future[None]] = []

    @property
    def last_seq(self) -> int:
        """The sequence number of the newest event (0 if none yet)."""
        return self._seq

    def emit(self, type_: str, **fields: Any) -> dict[str, Any]:
        """Append an event and wake any waiter; returns the event."""
        self._seq += 1
        event: dict[str, Any] = {
            "seq": self._seq,
            "type": type_,
            "t": time.monotonic(),
            "wall": time.time(),
        }
        event.update(fields)
        self._ring.append(event)
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)
        return event

    def since(self, seq: int, limit: int | None = None) -> tuple[list[dict[str, Any]], int, int]:
        """Events with ``seq`` greater than ``seq``.

        Returns:
            ``(events, next, dropped)``: ``next`` is the cursor for the following call,
            ``dropped`` how many requested events had already left the ring.
        """
        oldest = self._ring[0]["seq"] if self._ring else self._seq + 1
        dropped = max(0, oldest - seq - 1) if seq < self._seq else 0
        start = max(0, seq + 1 - oldest)
        events = [self._ring[i] for i in range(start, len(self._ring))]
        if limit is not None:
            events = events[:limit]
        # A cursor beyond the newest event comes from another server instance: resync.
        nxt = events[-1]["seq"] if events else min(max(seq, 0), self._seq)
        return events, nxt, dropped

    async def wait(self, seq: int, timeout: float) -> None:
        """Return when an event newer than ``seq`` exists, or after ``timeout`` seconds."""
        if self._seq > seq or timeout <= 0:
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(timeout):
                await waiter
        except TimeoutError:
            pass
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
