"""Observer hook: plain callables the service calls with a :class:`ServiceEvent`.

This is how an outside harness journals what the service did (flush started, group
published or failed, retry scheduled with its delay, group queued, recovered...) without
the service importing the harness. Observers are synchronous and must be quick; one that
raises is counted in ``observer_errors`` and never disturbs the service.

Event kinds (``kind``) and the fields they fill:

* ``connected`` / ``closed`` - ``member`` = connection name.
* ``pool_member_failed`` - ``member``, ``error`` (pool initialization).
* ``pool_disabled`` - every member failed; batches use the main connection.
* ``disconnected`` / ``reconnected`` / ``connection_error`` - ``member`` (, ``error``).
* ``batch_flush_started`` - ``count`` messages, ``attempt`` = number of groups.
* ``group_published`` - ``subject``, ``member``, ``message_ids``, ``attempt`` (0 = first try).
* ``group_failed`` - same plus ``error`` and ``ambiguous`` (bytes may have reached a server).
* ``retry_scheduled`` - ``subject``, ``attempt`` (1-based retry number), ``delay`` seconds.
* ``batch_queued_failed`` - ``subject``, ``message_ids``: group moved to the failed queue.
* ``recovered`` - ``subject``, ``member``, ``message_ids``: queued group now confirmed.
* ``health_check_failed`` / ``health_check_ok`` - ``member`` (, ``error``); on change only.
* ``handler_error`` / ``incoming_invalid`` - ``subject``, ``error``.
* ``acked`` / ``naked`` / ``ack_failed`` - ``subject``, ``attempt`` = delivery count.
* ``jetstream_retry`` - ``subject``, ``message_ids`` (the message id, if any), ``attempt``
  (the attempt that failed, 1-based), ``error``, ``ambiguous``: a JetStream publish is
  sent again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from nats_fault_harness.reference._logging import observer_log

__all__ = ["EventBus", "EventKind", "Observer", "ServiceEvent"]

EventKind = Literal[
    "connected",
    "closed",
    "pool_member_failed",
    "pool_disabled",
    "disconnected",
    "reconnected",
    "connection_error",
    "batch_flush_started",
    "group_published",
    "group_failed",
    "retry_scheduled",
    "batch_queued_failed",
    "recovered",
    "health_check_failed",
    "health_check_ok",
    "handler_error",
    "incoming_invalid",
    "acked",
    "naked",
    "ack_failed",
    "jetstream_retry",
]


@dataclass(frozen=True, slots=True)
class ServiceEvent:
    """One thing the service did, stamped with ``time.monotonic()``.

    Attributes:
        kind: what happened (see the module docstring).
        at: ``time.monotonic()`` when it happened.
        subject: subject involved, if any.
        member: connection name involved (``<service>-main``, ``<service>-pool-<i>``).
        message_ids: ids of the batched messages involved.
        count: a message count, where one applies.
        attempt: attempt or retry number, or the delivery count for acks.
        delay: nominal retry delay in seconds (``retry_scheduled``).
        error: ``"Class: message"`` of the error involved.
        ambiguous: for failures, whether the server may have received the bytes.
    """

    kind: EventKind
    at: float
    subject: str | None = None
    member: str | None = None
    message_ids: tuple[str, ...] = ()
    count: int = 0
    attempt: int | None = None
    delay: float | None = None
    error: str | None = None
    ambiguous: bool | None = None


Observer = Callable[[ServiceEvent], None]


class EventBus:
    """Fan-out of events to observers, isolating the service from observer bugs."""

    def __init__(self) -> None:
        self._observers: list[Observer] = []
        self.observer_errors = 0

    def add(self, observer: Observer) -> None:
        """Register an observer (called in registration order)."""
        self._observers.append(observer)

    def remove(self, observer: Observer) -> None:
        """Unregister an observer; unknown observers are ignored."""
        if observer in self._observers:
            self._observers.remove(observer)

    def emit(self, kind: EventKind, **fields: object) -> ServiceEvent:
        """Build an event stamped now and pass it to every observer."""
        event = ServiceEvent(kind, time.monotonic(), **fields)  # type: ignore[arg-type]
        for observer in tuple(self._observers):
            try:
                observer(event)
            except Exception:
                self.observer_errors += 1
                observer_log.exception("observer %r failed on %s", observer, kind)
        return event
