"""The outputs checker on hand-built histories: each rule, its excuses, and unknown."""

from __future__ import annotations

import pytest
from chk_records import Rec

from nats_fault_harness.checkers import RUN_EVENT, RUNNER, check_outputs
from nats_fault_harness.checkers._outputs import DRIVER


def _input(rec: Rec, mid: str, t: float, *, outcome: str = "ok", timeout: float = 0.5) -> None:
    value = {"id": mid, "mode": "request", "subject": "q", "timeout": timeout}
    rec.op("input", value, outcome, process=DRIVER, t=t, done=t + 0.01)


def _output(rec: Rec, mid: str | None, t: float, payload_id: str | None = "same") -> None:
    pid = mid if payload_id == "same" else payload_id
    rec.op("output", {"id": mid, "payload_id": pid}, process=DRIVER, t=t)


def _answered(rec: Rec, n: int, start: float = 0.0, step: float = 0.1) -> None:
    for i in range(n):
        _input(rec, f"i{i}", start + i * step)
        _output(rec, f"i{i}", start + i * step + 0.02)


def _fault(rec: Rec, kind: str, start: float, end: float) -> None:
    rec.at(start)
    fid = rec.h.fault_started(kind, "link", {})
    rec.at(end)
    rec.h.fault_ended(fid)


def test_every_input_answered_once_is_valid() -> None:
    rec = Rec()
    _answered(rec, 10)
    result = check_outputs(rec.h)
    assert result.valid is True, result.message
    assert result.details["answered"] == 10
    assert "10 of 10" in result.message


def test_no_input_is_unknown() -> None:
    assert check_outputs(Rec().h).valid == "unknown"


def test_inputs_the_driver_could_not_send_say_nothing() -> None:
    rec = Rec()
    _input(rec, "i0", 0.0, outcome="fail")
    assert check_outputs(rec.h).valid == "unknown"


def test_a_duplicate_output_is_invalid_unless_at_least_once() -> None:
    rec = Rec()
    _answered(rec, 5)
    _output(rec, "i2", 1.0)
    result = check_outputs(rec.h)
    assert result.valid is False
    assert "i2 x2" in result.message
    assert check_outputs(rec.h, at_least_once=True).valid is True


def test_a_crossed_reply_is_invalid_even_in_a_fault_window() -> None:
    rec = Rec()
    _fault(rec, "reset", 0.0, 5.0)
    _input(rec, "i0", 0.1)
    _input(rec, "i1", 0.2)
    _output(rec, "i0", 0.15)
    _output(rec, "i1", 0.25, payload_id="i0")
    result = check_outputs(rec.h)
    assert result.valid is False
    assert "the reply to i1 carries id i0" in result.message


def test_an_output_for_no_input_is_spurious() -> None:
    rec = Rec()
    _answered(rec, 3)
    _output(rec, "nobody", 1.0)
    _output(rec, None, 1.1)
    result = check_outputs(rec.h)
    assert result.valid is False
    assert "2 outputs answer no input" in result.message


def test_a_lost_input_on_a_quiet_link_is_invalid() -> None:
    rec = Rec()
    _answered(rec, 5)
    _input(rec, "lost", 2.0, outcome="info")
    result = check_outputs(rec.h)
    assert result.valid is False
    assert "lost (sent t=2.000s)" in result.message


@pytest.mark.parametrize("kind", ["down", "reset", "kill", "partition", "frames"])
def test_loss_in_a_lossy_fault_window_is_excused(kind: str) -> None:
    rec = Rec()
    _answered(rec, 5)
    _fault(rec, kind, 1.5, 2.5)
    _input(rec, "lost", 2.0, outcome="info")
    result = check_outputs(rec.h)
    assert result.valid is True, result.message
    assert "lost" in result.details["excused_lost"]


@pytest.mark.parametrize("kind", ["latency", "bandwidth", "blackhole", "slicer"])
def test_loss_under_a_fault_that_only_delays_is_invalid(kind: str) -> None:
    rec = Rec()
    _answered(rec, 5)
    _fault(rec, kind, 1.5, 2.5)
    _input(rec, "lost", 2.0, outcome="info")
    assert check_outputs(rec.h).valid is False


def test_loss_during_a_reported_outage_is_excused_even_under_latency() -> None:
    rec = Rec()
    _answered(rec, 5)
    _fault(rec, "latency", 1.5, 4.0)
    rec.event("disconnected", t=2.0)
    _input(rec, "lost", 2.1, outcome="info")
    rec.event("reconnected", t=2.5)
    assert check_outputs(rec.h).valid is True


def test_loss_while_the_proxy_saw_no_service_connection_is_excused() -> None:
    rec = Rec()
    rec.event(RUN_EVENT, client=RUNNER, t=0.0, links={"server": "p1"})
    _answered(rec, 5)
    rec.at(2.0)
    rec.h.proxy_event("connection_closed", {"proxy": "p1", "connection": 1})
    _input(rec, "lost", 2.1, outcome="info")
    rec.at(2.4)
    rec.h.proxy_event("connection_opened", {"proxy": "p1", "connection": 2})
    assert check_outputs(rec.h).valid is True
    # the same gap on a link that is not the service's excuses nothing
    other = Rec()
    other.event(RUN_EVENT, client=RUNNER, t=0.0, links={"server": "p1"})
    _answered(other, 5)
    other.at(2.0)
    other.h.proxy_event("connection_closed", {"proxy": "route", "connection": 1})
    _input(other, "lost", 2.1, outcome="info")
    assert check_outputs(other.h).valid is False


def test_the_recovery_margin_excuses_loss_just_after_a_heal_and_no_later() -> None:
    rec = Rec()
    _answered(rec, 3)
    _fault(rec, "kill", 1.0, 2.0)
    _input(rec, "soon", 3.5, outcome="info", timeout=0.1)
    assert check_outputs(rec.h, recovery_s=2.0).valid is True
    assert check_outputs(rec.h, recovery_s=1.0).valid is False


def test_a_late_output_needs_a_fault_or_outage_to_excuse_it() -> None:
    rec = Rec()
    _input(rec, "i0", 0.0)
    _output(rec, "i0", 1.6)
    result = check_outputs(rec.h, latency_budget_s=1.0)
    assert result.valid is False
    assert "i0 (1.600s)" in result.message
    _fault(rec, "latency", 0.5, 1.0)
    assert check_outputs(rec.h, latency_budget_s=1.0).valid is True
    assert check_outputs(Rec().h, latency_budget_s=1.0).valid == "unknown"


def test_nothing_answered_and_every_input_excused_is_unknown() -> None:
    rec = Rec()
    _fault(rec, "down", 0.0, 10.0)
    for i in range(3):
        _input(rec, f"i{i}", 1.0 + i, outcome="info")
    result = check_outputs(rec.h)
    assert result.valid == "unknown"
    assert "nothing shows the service consumes" in result.message
