"""Loop lag: stalls over the threshold are listed with their times."""

from __future__ import annotations

from chk_records import Rec

from nats_fault_harness.checkers import UNKNOWN, check_loop_lag


def test_lag_under_threshold_is_valid(rec: Rec) -> None:
    rec.event("loop_lag", t=1.0, max_ms=12.5)
    rec.event("loop_lag", t=2.0, samples=[3.0, 99.9])
    r = check_loop_lag(rec.h)
    assert r.valid is True, r.message
    assert r.details["max_ms"] == 99.9


def test_stall_over_threshold_is_invalid(rec: Rec) -> None:
    rec.event("loop_lag", t=1.0, max_ms=12.5)
    rec.event("loop_lag", t=2.0, samples=[3.0, 250.0])
    r = check_loop_lag(rec.h, threshold_ms=100)
    assert r.valid is False
    assert r.message == "1 stalls over 100 ms: 250.0 ms at t=2.000s"
    assert check_loop_lag(rec.h, threshold_ms=300).valid is True


def test_no_measurement_is_unknown(rec: Rec) -> None:
    rec.event("loop_lag", client="other", max_ms=500.0)
    assert check_loop_lag(rec.h, client="svc").valid == UNKNOWN
