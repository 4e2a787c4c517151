"""Frozen result and statistics records returned by the service.

They are plain dataclasses so a harness can store them in its history as they are, and
``ConnectionStats.as_dict()`` gives the dictionary form the remediation document shows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from nats_fault_harness.reference._delivery import OutgoingMessage

__all__ = [
    "ConnectionStats",
    "FailedGroup",
    "FlushResult",
    "PoolInitReport",
    "RecoveryResult",
    "RetryRecord",
]


@dataclass(frozen=True, slots=True)
class FailedGroup:
    """A subject group that exhausted its retries, waiting in the failed batch queue.

    Attributes:
        subject: the group's subject.
        messages: its messages, in publish order.
        failed_members: connections it failed on (recovery prefers others).
        attempts: attempts made so far (first try + retries + recoveries).
        last_error: text of the last failure.
        ambiguous: whether any attempt may have reached a server (possible duplicate).
    """

    subject: str
    messages: tuple[OutgoingMessage, ...]
    failed_members: tuple[str, ...] = ()
    attempts: int = 0
    last_error: str = ""
    ambiguous: bool = False


@dataclass(frozen=True, slots=True)
class PoolInitReport:
    """How pool initialization went.

    Attributes:
        requested: configured pool size.
        connected: names of the members that connected.
        failures: name -> ``"Error: message (last connection error: ...)"`` per failure.
        enabled: False when no member connected (or the pool size is 0); batches then
            go through the main connection.
    """

    requested: int
    connected: tuple[str, ...]
    failures: Mapping[str, str]
    enabled: bool

    @property
    def partial(self) -> bool:
        """True when some but not all members connected."""
        return bool(self.connected) and bool(self.failures)


@dataclass(frozen=True, slots=True)
class RetryRecord:
    """One retry of one subject group, with monotonic timestamps.

    Attributes:
        subject: the group's subject.
        attempt: 1-based retry number (1 = first retry).
        nominal_delay: the configured delay ``base * 2**(attempt-1)`` in seconds.
        failed_at: ``time.monotonic()`` when the previous attempt was seen to fail.
        started_at: ``time.monotonic()`` when this retry started sending.
        member: connection used for the retry.
        outcome: ``"published"`` or ``"failed"``.
        message_count: messages in the group.
    """

    subject: str
    attempt: int
    nominal_delay: float
    failed_at: float
    started_at: float
    member: str
    outcome: Literal["published", "failed"]
    message_count: int

    @property
    def measured_delay(self) -> float:
        """Seconds between the failure and the retry actually starting."""
        return self.started_at - self.failed_at


@dataclass(frozen=True, slots=True)
class FlushResult:
    """Outcome of one batch flush (first attempts plus every retry).

    Attributes:
        messages: messages in the batch.
        groups: subject groups in the batch.
        successful_messages: confirmed by the server (at any attempt).
        failed_messages: still unconfirmed after all retries; now in the failed queue.
        retried_messages: messages that needed at least one retry.
        retries: retry attempts made.
        failed_subjects: subjects of the groups that went to the failed queue.
    """

    messages: int = 0
    groups: int = 0
    successful_messages: int = 0
    failed_messages: int = 0
    retried_messages: int = 0
    retries: int = 0
    failed_subjects: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RecoveryResult:
    """Outcome of ``recover_failed_batches()``.

    Attributes:
        attempted_messages: messages taken from the failed queue.
        recovered_messages: now confirmed by the server.
        still_failed_messages: put back in the failed queue.
        recovered_ids: ids of the recovered messages.
    """

    attempted_messages: int = 0
    recovered_messages: int = 0
    still_failed_messages: int = 0
    recovered_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ConnectionStats:
    """Snapshot of the service's state and counters.

    Batched-message accounting always adds up::

        batch_messages_accepted == batch_messages_published + failed_batch_queue_size
                                   + current_batch_size + in_flight_messages

    (``batch_messages_published`` includes recovered messages.)
    """

    connected: bool
    healthy: bool
    pool_enabled: bool
    pool_size: int
    pool_active_members: int
    pool_init_successes: int
    pool_init_failures: int
    pool_init_errors: Mapping[str, str]
    messages_published: int
    messages_publish_failed: int
    batch_messages_accepted: int
    batch_messages_published: int
    current_batch_size: int
    in_flight_messages: int
    failed_batch_queue_size: int
    failed_batch_queue_groups: int
    batches_flushed: int
    last_flush_successful_messages: int
    last_flush_failed_messages: int
    total_flush_successful_messages: int
    total_flush_failed_messages: int
    retry_attempts: int
    retry_successes: int
    retry_log: tuple[RetryRecord, ...]
    recovery_runs: int
    recovered_messages: int
    subscriptions: int
    messages_received: int
    handler_errors: int
    acks: int
    ack_failures: int
    naks: int
    health_checks: int
    health_check_failures: int
    reconnects: int
    observer_errors: int
    members: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Return the stats as a plain dictionary (retry records as dictionaries)."""
        return asdict(self)
