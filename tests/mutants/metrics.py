"""Mutants of the metrics claims: connection stats that do not add up."""

from __future__ import annotations

from dataclasses import replace

from nats_fault_harness.reference import ConnectionStats
from nats_fault_harness.scenario import ServiceUnderTest
from tests.mutants._base import MutantService, sut_for

__all__ = [
    "metrics_batch_size_counts_failed",
    "metrics_pool_init_configured",
    "metrics_queue_counts_groups",
    "metrics_recovered_as_flush_success",
]


class _QueueGroups(MutantService):
    def get_connection_stats(self) -> ConnectionStats:
        s = super().get_connection_stats()
        return replace(s, failed_batch_queue_size=s.failed_batch_queue_groups)


def metrics_queue_counts_groups() -> ServiceUnderTest:
    """``failed_batch_queue_size`` counts the queued groups, not their messages."""
    return sut_for(_QueueGroups)


class _RecoveredAsFlushed(MutantService):
    def get_connection_stats(self) -> ConnectionStats:
        s = super().get_connection_stats()
        return replace(
            s,
            total_flush_successful_messages=s.total_flush_successful_messages
            + s.recovered_messages,
        )


def metrics_recovered_as_flush_success() -> ServiceUnderTest:
    """Messages published by a recovery are counted as flush successes too."""
    return sut_for(_RecoveredAsFlushed)


class _ConfiguredPool(MutantService):
    def get_connection_stats(self) -> ConnectionStats:
        s = super().get_connection_stats()
        return replace(s, pool_init_successes=s.pool_size)


def metrics_pool_init_configured() -> ServiceUnderTest:
    """``pool_init_successes`` reports the configured pool size, not the members up."""
    return sut_for(_ConfiguredPool)


class _BatchSizeCountsFailed(MutantService):
    def get_connection_stats(self) -> ConnectionStats:
        s = super().get_connection_stats()
        waiting = s.batch_messages_accepted - s.batch_messages_published - s.in_flight_messages
        return replace(s, current_batch_size=waiting)


def metrics_batch_size_counts_failed() -> ServiceUnderTest:
    """``current_batch_size`` is accepted minus published: failed messages stay in it."""
    return sut_for(_BatchSizeCountsFailed)
