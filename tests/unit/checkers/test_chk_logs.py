"""The logs checker on hand-built histories: each failure needs its own record naming it."""

from __future__ import annotations

from typing import Any

import pytest
from chk_records import Rec

from nats_fault_harness.checkers import RUN_EVENT, RUNNER, check_logs, make_checker

REFUSED = "connect failed: NoServersError: no servers (last connection error: refused)"


def _run(rec: Rec, *, capture: bool = True) -> None:
    rec.at(0.0)
    rec.event(RUN_EVENT, client=RUNNER, service="svc", links={"link": "p1"})
    if capture:
        rec.event("log_capture", loggers=["svc"])


def _log(rec: Rec, t: float, message: str, level: str = "WARNING") -> None:
    levelno = {"INFO": 20, "WARNING": 30, "ERROR": 40}[level]
    rec.event("log", t=t, logger="svc.x", level=level, levelno=levelno, message=message)


def _pool(rec: Rec, failed: dict[str, str], t: float = 0.5) -> None:
    rec.op("start", {}, t=0.1, done=t)
    rec.event("pool_initialized", t=t, size=3, connected=["1"], failed=failed)


def _queued(rec: Rec, t: float, group: str, **extra: Any) -> None:
    rec.event("batch_queued_failed", t=t, group=group, subject=group, message_ids=["a"], **extra)


def test_each_failed_member_logged_with_its_error_is_valid(rec: Rec) -> None:
    _run(rec)
    _log(rec, 0.3, f"pool member svc-pool-0 failed to connect: {REFUSED}")
    _log(rec, 0.3, f"pool member svc-pool-2 failed to connect:  {REFUSED.upper()}")
    _pool(rec, {"0": REFUSED, "2": REFUSED})
    result = check_logs(rec.h)
    assert result.valid is True, result.message
    assert len(result.details["failures"]) == 2


def test_one_record_for_two_failed_members_is_invalid(rec: Rec) -> None:
    _run(rec)
    _log(rec, 0.3, f"pool member svc-pool-0 failed to connect: {REFUSED}")
    _log(rec, 0.4, "pool initialized with warning: failed: svc-pool-0, svc-pool-2")
    _pool(rec, {"0": REFUSED, "2": REFUSED})
    result = check_logs(rec.h)
    assert result.valid is False
    assert result.details["unlogged"] == [f"pool member 2 ({REFUSED[:80]})"]


def test_a_record_below_the_level_does_not_count(rec: Rec) -> None:
    _run(rec)
    _log(rec, 0.3, f"member 0: {REFUSED}", level="INFO")
    _pool(rec, {"0": REFUSED})
    assert check_logs(rec.h).valid is False
    assert check_logs(rec.h, level="INFO").valid is True


def test_a_queued_group_needs_a_record_naming_its_subject(rec: Rec) -> None:
    _run(rec)
    _queued(rec, 1.0, "lq.a", at=0.9)
    _log(rec, 1.0, "group lq.a: 10 messages moved to the failed batch queue")
    assert check_logs(rec.h).valid is True
    other = Rec()
    _run(other)
    _queued(other, 1.0, "lq.a")
    _log(other, 1.0, "group lq.ab: 10 messages moved to the failed batch queue")  # not lq.a
    _log(other, 1.0, "group lq: something")
    assert check_logs(other.h).valid is False


def test_a_record_too_far_from_the_failure_does_not_count(rec: Rec) -> None:
    _run(rec)
    _log(rec, 0.2, "group lq.a failed")  # before the bound
    _queued(rec, 2.0, "lq.a")
    _log(rec, 3.5, "group lq.a queued")  # after the bound
    result = check_logs(rec.h)
    assert result.valid is False
    assert check_logs(rec.h, within_s=2.0).valid is True
    rec.event("loop_lag", max_ms=600.0)  # a blocked loop widens the bound
    assert check_logs(rec.h).valid is True


def test_each_queueing_of_a_group_needs_its_own_record(rec: Rec) -> None:
    _run(rec)
    _queued(rec, 1.0, "lq.a")
    _log(rec, 1.0, "group lq.a queued.")
    _queued(rec, 1.5, "lq.a")  # recovery failed again
    assert check_logs(rec.h).valid is False
    _log(rec, 1.5, "group lq.a queued again")
    assert check_logs(rec.h).valid is True


def test_no_declared_loggers_is_unknown(rec: Rec) -> None:
    _run(rec, capture=False)
    _pool(rec, {"0": REFUSED})
    result = check_logs(rec.h)
    assert result.valid == "unknown"
    assert "declares no loggers" in result.message


def test_nothing_failed_is_unknown(rec: Rec) -> None:
    _run(rec)
    _log(rec, 0.3, "pool initialized: all 3 members connected")
    _pool(rec, {})
    result = check_logs(rec.h)
    assert result.valid == "unknown"
    assert "nothing failed" in result.message


def test_a_failure_without_a_reason_is_undecided(rec: Rec) -> None:
    _run(rec)
    _log(rec, 0.3, "pool member 0 failed")
    _pool(rec, {"0": ""})
    result = check_logs(rec.h)
    assert result.valid == "unknown"
    assert "without a reason" in result.message


def test_parameters_are_checked_when_bound() -> None:
    assert make_checker("logs", {"level": "ERROR", "within_s": 0.5})
    with pytest.raises(TypeError, match="level"):
        make_checker("logs", {"level": "LOUD"})
