"""Assembles :class:`ConnectionStats` from the service's parts.

Kept apart from ``service.py`` so the facade stays small; it only reads counters.
"""

from __future__ import annotations

from nats_fault_harness.reference._batching import BatchPublisher
from nats_fault_harness.reference._events import EventBus
from nats_fault_harness.reference._health import HealthMonitor
from nats_fault_harness.reference._pool import ConnectionPool
from nats_fault_harness.reference._results import ConnectionStats, FlushResult
from nats_fault_harness.reference._subscriptions import SubscriptionRegistry

__all__ = ["build_stats"]


def build_stats(
    *,
    connected: bool,
    healthy: bool,
    published: int,
    publish_failures: int,
    pool: ConnectionPool | None,
    batches: BatchPublisher | None,
    subs: SubscriptionRegistry | None,
    health: HealthMonitor | None,
    bus: EventBus,
) -> ConnectionStats:
    """Return a snapshot; parts that do not exist yet (before connect) count as zero."""
    report = pool.report if pool else None
    c = batches.counters if batches else None
    last = c.last_flush if c else FlushResult()
    conns = pool.all_connections if pool else ()
    return ConnectionStats(
        connected=connected,
        healthy=healthy,
        pool_enabled=bool(report and report.enabled),
        pool_size=report.requested if report else 0,
        pool_active_members=sum(1 for m in pool.members if m.connected) if pool else 0,
        pool_init_successes=len(report.connected) if report else 0,
        pool_init_failures=len(report.failures) if report else 0,
        pool_init_errors=dict(report.failures) if report else {},
        messages_published=published,
        messages_publish_failed=publish_failures,
        batch_messages_accepted=c.accepted if c else 0,
        batch_messages_published=c.published if c else 0,
        current_batch_size=batches.batch_size if batches else 0,
        in_flight_messages=c.in_flight if c else 0,
        failed_batch_queue_size=batches.failed_size if batches else 0,
        failed_batch_queue_groups=len(batches.failed_groups) if batches else 0,
        batches_flushed=c.batches_flushed if c else 0,
        last_flush_successful_messages=last.successful_messages,
        last_flush_failed_messages=last.failed_messages,
        total_flush_successful_messages=c.total_success if c else 0,
        total_flush_failed_messages=c.total_failed if c else 0,
        retry_attempts=c.retry_attempts if c else 0,
        retry_successes=c.retry_successes if c else 0,
        retry_log=tuple(c.retry_log) if c else (),
        recovery_runs=c.recovery_runs if c else 0,
        recovered_messages=c.recovered if c else 0,
        subscriptions=len(subs) if subs else 0,
        messages_received=subs.received if subs else 0,
        handler_errors=subs.handler_errors if subs else 0,
        acks=subs.acks if subs else 0,
        ack_failures=subs.ack_failures if subs else 0,
        naks=subs.naks if subs else 0,
        health_checks=health.checks if health else 0,
        health_check_failures=health.failures if health else 0,
        reconnects=sum(conn.reconnects for conn in conns),
        observer_errors=bus.observer_errors,
        members={conn.name: conn.snapshot() for conn in conns},
    )
