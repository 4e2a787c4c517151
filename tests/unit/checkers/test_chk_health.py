"""The health checker on hand-built histories: detect, recover, quiet; and when it cannot say."""

from __future__ import annotations

from typing import Any

import pytest
from chk_records import Rec

from nats_fault_harness.checkers import RUN_EVENT, RUNNER, check_health, make_checker

TIMING = {
    "poll_s": 0.05,
    "check_interval_s": 0.5,
    "check_timeout_s": 0.25,  # check_s = R = 1.0
    "ping_interval_s": 1.0,
    "max_outstanding_pings": 2,  # ping_s = 3.0
}


def _run(rec: Rec, **timing: Any) -> None:
    rec.at(0.0)
    rec.event(RUN_EVENT, client=RUNNER, service="svc", links={"link": "p1"})
    rec.event("health_config", **(TIMING | timing))


def _reading(rec: Rec, t: float, healthy: bool, **extra: Any) -> None:
    rec.event("health", t=t, healthy=healthy, polled=True, **extra)


def _fault(
    rec: Rec, kind: str, start: float, end: float | None, links: tuple[str, ...] = ("p1",), **p: Any
) -> None:
    fid = rec.h.fault_started(kind, "link:x", p, t=start, step=0, links=links)
    if end is not None:
        rec.h.fault_ended(fid, t=end)


def _blackhole_run(rec: Rec, *, unhealthy_at: float | None, healthy_at: float | None) -> None:
    _run(rec)
    _reading(rec, 0.1, True)
    _fault(rec, "blackhole", 2.0, 6.0)
    if unhealthy_at is not None:
        _reading(rec, unhealthy_at, False)
    rec.event("disconnected", t=5.0, member="m")
    rec.event("reconnected", t=6.1, member="m")
    if healthy_at is not None:
        _reading(rec, healthy_at, True)
    _reading(rec, 10.0, healthy_at is not None or unhealthy_at is None, end=True)


def test_detected_and_recovered_within_the_bounds_is_valid(rec: Rec) -> None:
    _blackhole_run(rec, unhealthy_at=2.8, healthy_at=6.9)
    result = check_health(rec.h)
    assert result.valid is True, result.message
    assert result.details["check_s"] == 1.0
    assert result.details["ping_s"] == 3.0
    assert any("detected" in c for c in result.details["checked"])
    assert any(c.startswith("recovered") for c in result.details["checked"])


def test_healthy_throughout_a_blackhole_is_invalid(rec: Rec) -> None:
    _blackhole_run(rec, unhealthy_at=None, healthy_at=None)
    result = check_health(rec.h)
    assert result.valid is False
    assert "reported healthy until" in result.message


def test_detected_only_by_the_keep_alive_is_too_late_for_a_blackhole(rec: Rec) -> None:
    # nats-py's stale detection (3 s) is later than the service's own check (1 s)
    _blackhole_run(rec, unhealthy_at=5.0, healthy_at=6.9)
    assert check_health(rec.h).valid is False


def test_still_unhealthy_after_the_reconnect_is_invalid(rec: Rec) -> None:
    _blackhole_run(rec, unhealthy_at=2.8, healthy_at=None)
    result = check_health(rec.h)
    assert result.valid is False
    assert "still unhealthy" in result.message
    assert "no fault" in result.message  # and for long on the healthy link after it


def test_recovery_counts_from_the_reconnect_not_the_heal(rec: Rec) -> None:
    _run(rec)
    _reading(rec, 0.1, True)
    _fault(rec, "kill", 2.0, 4.0)
    _reading(rec, 2.05, False)
    rec.event("disconnected", t=2.0, member="m")
    rec.event("reconnected", t=6.0, member="m")  # the client took 2 s to come back
    _reading(rec, 6.8, True)
    _reading(rec, 9.0, True, end=True)
    assert check_health(rec.h).valid is True


def test_a_connection_that_never_comes_back_leaves_recovery_undecided(rec: Rec) -> None:
    _run(rec)
    _reading(rec, 0.1, True)
    _fault(rec, "kill", 2.0, 4.0)
    rec.event("disconnected", t=2.0, member="m")
    _reading(rec, 2.05, False)
    _reading(rec, 9.0, False, end=True)
    result = check_health(rec.h)
    assert result.valid == "unknown"
    assert "never reconnected" in result.message


def test_held_pongs_are_bounded_by_the_keep_alive_only(rec: Rec) -> None:
    _run(rec)
    _reading(rec, 0.1, True)
    _fault(rec, "frames_hold", 2.0, 6.0, verb="PONG", stream="downstream", action="hold")
    _reading(rec, 4.9, False)  # 2.9 s: later than the check bound, within the ping bound
    rec.event("disconnected", t=4.9, member="m")
    rec.event("reconnected", t=6.1, member="m")
    _reading(rec, 6.5, True)
    _reading(rec, 9.0, True, end=True)
    assert check_health(rec.h).valid is True


def test_a_fault_on_some_links_asks_for_no_detection(rec: Rec) -> None:
    _run(rec)
    rec.event(RUN_EVENT, client=RUNNER, service="svc", links={"link": "p1", "member:0": "p2"})
    _reading(rec, 0.1, True)
    _fault(rec, "blackhole", 2.0, 6.0, links=("p2",))
    rec.event("disconnected", t=4.0, member="pool-0")
    rec.event("reconnected", t=6.1, member="pool-0")
    _reading(rec, 9.0, True, end=True)
    result = check_health(rec.h)
    assert result.valid is True, result.message  # healthy on the main link: no false alarm
    assert not any("detected" in c for c in result.details["checked"])


def test_a_fault_shorter_than_the_bound_asks_for_no_detection(rec: Rec) -> None:
    _run(rec)
    _reading(rec, 0.1, True)
    _fault(rec, "blackhole", 2.0, 2.5)
    _reading(rec, 9.0, True, end=True)
    rec.event("reconnected", t=0.05, member="m")  # connection-aware, never lost
    result = check_health(rec.h)
    assert result.valid is True, result.message
    assert not any("detected" in c for c in result.details["checked"])


def test_healthy_control_is_valid_and_a_long_false_alarm_is_not(rec: Rec) -> None:
    _run(rec)
    _reading(rec, 0.1, True)
    _reading(rec, 2.0, False)  # a check timed out on a busy machine: corrected in time
    _reading(rec, 2.8, True)
    _reading(rec, 6.0, True, end=True)
    assert check_health(rec.h).valid is True
    other = Rec()
    _run(other)
    _reading(other, 0.1, True)
    _reading(other, 2.0, False)
    _reading(other, 4.0, True)
    _reading(other, 6.0, True, end=True)
    result = check_health(other.h)
    assert result.valid is False
    assert "with no fault" in result.message


def test_no_readings_is_unknown(rec: Rec) -> None:
    _run(rec)
    result = check_health(rec.h)
    assert result.valid == "unknown"
    assert "reports no health" in result.message


def test_no_settings_is_unknown_unless_the_scenario_gives_bounds(rec: Rec) -> None:
    rec.event(RUN_EVENT, client=RUNNER, service="svc", links={"link": "p1"})
    rec.event("health_config", poll_s=0.05)
    _reading(rec, 0.1, True)
    _reading(rec, 6.0, True, end=True)
    result = check_health(rec.h)
    assert result.valid == "unknown"
    assert "not derivable" in result.message
    assert check_health(rec.h, detect_s=1.0, recover_s=1.0).valid is True


def test_readings_that_stop_before_the_bound_are_unknown(rec: Rec) -> None:
    _run(rec)
    _reading(rec, 0.1, True)
    _fault(rec, "blackhole", 2.0, 6.0)
    _reading(rec, 2.5, True, end=True)
    result = check_health(rec.h)
    assert result.valid == "unknown"
    assert "do not cover" in result.message


def test_loop_lag_widens_the_tolerance(rec: Rec) -> None:
    _blackhole_run(rec, unhealthy_at=3.25, healthy_at=6.9)  # 1.25 s: past 1.0 + 0.05
    assert check_health(rec.h).valid is False
    rec.event("loop_lag", max_ms=300.0)
    assert check_health(rec.h).valid is True
    details = check_health(rec.h, slack_s=0.1).details
    assert details["recover_tau_s"] == pytest.approx(0.05 + 3 * 0.3 + 0.1)  # 3 timers


def test_pushed_readings_use_their_own_time(rec: Rec) -> None:
    _run(rec, poll_s=0.0)
    rec.event("health", t=0.1, healthy=True)
    _fault(rec, "down", 2.0, 4.0)
    rec.event("disconnected", t=2.0, member="m")
    rec.event("health", t=5.0, healthy=False, at=2.2)  # reported late, happened at 2.2
    rec.event("reconnected", t=4.1, member="m")
    rec.event("health", t=5.0, healthy=True, at=4.5)
    rec.event("stats", t=7.0)
    assert check_health(rec.h).valid is True


def test_parameters_are_checked_when_bound() -> None:
    assert make_checker("health", {"slack_s": 0.2})
    with pytest.raises(TypeError, match="slack_s"):
        make_checker("health", {"slack_s": "0.2"})
