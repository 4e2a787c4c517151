"""Backoff: delays base*2**(attempt-1) within tolerance, retry cap, queued when exhausted."""

from __future__ import annotations

from chk_records import Rec

from nats_fault_harness.checkers import UNKNOWN, check_backoff


def _retry(rec: Rec, group: str, attempt: int, failed_at: float, waited: float) -> None:
    nominal = 0.1 * 2 ** (attempt - 1)
    rec.event(
        "retry_scheduled",
        t=failed_at,
        subject=group,
        attempt=attempt,
        delay=nominal,
        failed_at=failed_at,
        started_at=failed_at + waited,
    )


def _exhausted_run(
    rec: Rec, group: str = "chat.room.1", start: float = 0.0, *, queue: bool = True
) -> None:
    t = start
    for attempt, waited in ((1, 0.101), (2, 0.205), (3, 0.43)):
        _retry(rec, group, attempt, t, waited)
        t += waited + 0.01
    if queue:
        rec.event("batch_queued_failed", t=t, subject=group, message_ids=["m1"])


def test_exponential_retries_then_queued_is_valid(rec: Rec) -> None:
    _exhausted_run(rec)
    _exhausted_run(rec, start=5.0)  # a second batch on the same subject starts a new run
    r = check_backoff(rec.h)
    assert r.valid is True, r.message
    assert r.details["runs"] == 2
    assert [a["nominal"] for a in r.details["attempts"][:3]] == [0.1, 0.2, 0.4]


def test_retry_too_early_and_too_late_are_named_with_numbers(rec: Rec) -> None:
    _retry(rec, "g", 1, 0.0, 0.090)
    _retry(rec, "g", 2, 1.0, 0.300)
    rec.event("group_published", t=2.0, subject="g")
    r = check_backoff(rec.h)
    assert r.valid is False
    assert r.details["problems"] == [
        "g retry 1 at t=0.000s: waited 90.0 ms, expected 100.0 ms (-5/+80 ms)",
        "g retry 2 at t=1.000s: waited 300.0 ms, expected 200.0 ms (-5/+80 ms)",
    ]
    assert check_backoff(rec.h, lower_tolerance=0.02, upper_tolerance=0.2).valid is True


def test_more_retries_than_the_cap(rec: Rec) -> None:
    t = 0.0
    for attempt in (1, 2, 3, 4):
        _retry(rec, "g", attempt, t, 0.1 * 2 ** (attempt - 1))
        t += 1.0
    rec.event("batch_queued_failed", t=t, subject="g")
    r = check_backoff(rec.h)
    assert r.valid is False
    assert "g retry 4 at t=3.000s: attempt number outside 1..3" in r.details["problems"]
    assert "g: 4 retries from t=0.000s, cap 3" in r.details["problems"]


def test_exhausted_but_never_queued(rec: Rec) -> None:
    _exhausted_run(rec, queue=False)
    r = check_backoff(rec.h)
    assert r.valid is False
    assert r.details["problems"] == [
        "chat.room.1: retries exhausted at t=0.326s but the group was never reported "
        "published or queued (batch_queued_failed)"
    ]


def test_queued_before_the_retries_ran_out(rec: Rec) -> None:
    _retry(rec, "g", 1, 0.0, 0.1)
    rec.event("batch_queued_failed", t=0.5, subject="g")
    r = check_backoff(rec.h)
    assert r.valid is False
    assert r.details["problems"] == ["g: queued at t=0.500s after 1 retries, before the cap 3"]


def test_reported_delay_must_be_nominal(rec: Rec) -> None:
    rec.event(
        "retry_scheduled", t=0.0, subject="g", attempt=1, delay=0.5, failed_at=0.0, started_at=0.1
    )
    rec.event("group_published", t=0.2, subject="g")
    r = check_backoff(rec.h)
    assert r.valid is False
    assert r.message == "1 problems: g retry 1 at t=0.000s: reported delay 0.500s, nominal 0.100s"


def test_delay_measured_from_failed_and_started_events(rec: Rec) -> None:
    rec.event("group_failed", t=1.0, group="g7", subject="s")
    rec.event("retry_scheduled", t=1.001, group="g7", subject="s", attempt=1, delay=0.1)
    rec.event("retry_started", t=1.103, group="g7", attempt=1)
    rec.event("group_published", t=1.11, group="g7")
    r = check_backoff(rec.h)
    assert r.valid is True, r.message
    assert round(r.details["attempts"][0]["actual"], 3) == 0.103


def test_unmeasurable_or_absent_retries_are_unknown(rec: Rec) -> None:
    assert check_backoff(rec.h).valid == UNKNOWN
    rec.event("retry_scheduled", t=0.0, subject="g", attempt=1, delay=0.1)
    r = check_backoff(rec.h)
    assert r.valid == UNKNOWN
    assert r.message == "1 of 1 retries have no measurable delay"
