"""Metrics: the service's stats snapshots against what the history shows."""

from __future__ import annotations

from typing import Any

import pytest
from chk_records import Rec

from nats_fault_harness.checkers import METRIC_KEYS, UNKNOWN, check_metrics

IDS = [f"m{i}" for i in range(6)]


def stats(**values: int) -> dict[str, Any]:
    base = dict.fromkeys(METRIC_KEYS, 0) | {"pool_init_successes": 2, "pool_init_failures": 1}
    return base | values


def batch_run(rec: Rec, *, after_flush_queue: int = 2, late_events: bool = False) -> None:
    """6 batched messages; a flush confirms m0-m3 and queues m4, m5; recovery sends both."""
    rec.event("pool_initialized", t=0.0, connected=["0", "1"], failed={"2": "refused"})
    handles = {}
    for i, mid in enumerate(IDS):
        rec.at(0.1 + i * 0.01)
        handles[mid] = rec.h.invoke("svc", "publish", {"id": mid, "batched": True})
    rec.event("stats", t=1.0, point="before_flush", stats=stats(current_batch_size=6))
    if not late_events:
        rec.event("group_published", t=1.1, at=1.1, message_ids=IDS[:4])
        rec.event("batch_queued_failed", t=1.2, at=1.2, message_ids=IDS[4:])
    rec.at(1.3)
    for mid in IDS[:4]:
        handles[mid].ok({"id": mid})
    for mid in IDS[4:]:
        handles[mid].fail(value={"id": mid, "queued": True})
    rec.queued(*IDS[4:])
    after_flush = stats(
        flush_successful_messages=4,
        flush_failed_messages=2,
        failed_batch_queue_size=after_flush_queue,
    )
    rec.event("stats", t=1.4, point="after_flush", stats=after_flush)
    rec.at(2.0)
    rec.recover(*IDS[4:])
    end = stats(flush_successful_messages=4, flush_failed_messages=2)
    rec.event("stats", t=2.1, point="end", stats=end)
    if late_events:  # a service reporting late: the events say when they happened
        rec.event("group_published", t=3.0, at=1.1, message_ids=IDS[:4])
        rec.event("batch_queued_failed", t=3.0, at=1.2, message_ids=IDS[4:])


def test_stats_that_follow_the_history_are_valid(rec: Rec) -> None:
    batch_run(rec)
    r = check_metrics(rec.h)
    assert r.valid is True, r.message
    assert r.message == "3 snapshots x 6 metrics agree with the history"


def test_events_written_late_count_when_they_happened(rec: Rec) -> None:
    batch_run(rec, late_events=True)
    assert check_metrics(rec.h).valid is True


def test_a_queue_size_that_forgets_is_invalid(rec: Rec) -> None:
    batch_run(rec, after_flush_queue=0)
    r = check_metrics(rec.h)
    assert r.valid is False
    assert r.details["problems"] == [
        "failed_batch_queue_size at after_flush (t=1.400s): reported 0, history shows 2"
    ]


def test_recovered_messages_are_not_flush_successes(rec: Rec) -> None:
    batch_run(rec)
    rec.event("stats", t=2.2, point="late", stats=stats(flush_successful_messages=6))
    r = check_metrics(rec.h)
    assert r.valid is False
    assert r.details["problems"] == [
        "flush_successful_messages at late (t=2.200s): reported 6, history shows 4",
        "flush_failed_messages at late (t=2.200s): reported 0, history shows 2",
    ]


def test_pool_counts_come_from_the_pool_report(rec: Rec) -> None:
    rec.event("pool_initialized", t=0.0, connected=["0"], failed={"1": "x", "2": "y"})
    rec.event("stats", t=0.1, point="started", stats=stats())
    r = check_metrics(rec.h, keys=["pool_init_successes", "pool_init_failures"])
    assert r.valid is False
    assert r.details["problems"] == [
        "pool_init_successes at started (t=0.100s): reported 2, history shows 1",
        "pool_init_failures at started (t=0.100s): reported 1, history shows 2",
    ]


def test_a_missing_statistic_is_invalid(rec: Rec) -> None:
    rec.event("stats", t=0.1, point="started", stats={"current_batch_size": 0})
    r = check_metrics(rec.h, keys=["current_batch_size", "failed_batch_queue_size"])
    assert r.valid is False
    assert r.details["problems"] == ["failed_batch_queue_size at started (t=0.100s): not reported"]


def test_no_snapshots_is_unknown_and_unknown_keys_are_refused(rec: Rec) -> None:
    rec.publish("m1")
    assert check_metrics(rec.h).valid == UNKNOWN
    with pytest.raises(ValueError, match="unknown metric keys \\['queue'\\]"):
        check_metrics(rec.h, keys=["queue"])
